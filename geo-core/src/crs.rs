//! Coordinate reference systems met in Chinese data and conversion to WGS84,
//! the only CRS the store holds.
//!
//! - **WGS84** (GPS, OSM) and **CGCS2000** (the national geodetic system; it
//!   differs from WGS84 by centimetres, far below what a grid needs) pass
//!   through unchanged.
//! - **GCJ-02** (AMap, Tencent, Apple in China): the forward transform is the
//!   well-known public approximation of the obfuscation; points outside a
//!   rough bounding box of China pass through unchanged. The inverse is
//!   computed iteratively, so WGS84 → GCJ-02 → WGS84 returns to within
//!   millimetres.
//! - **BD-09** (Baidu): a further rotation-and-shift of GCJ-02; converted via
//!   GCJ-02, inverted iteratively as well.
//!
//! ```
//! use geo_core::crs::Crs;
//! use geo_types::coord;
//!
//! let crs = Crs::parse("gcj02").unwrap();
//! let wgs = coord! { x: 114.30, y: 34.79 };
//! let back = crs.to_wgs84(crs.from_wgs84(wgs));
//! assert!((back.x - wgs.x).abs() < 1e-9 && (back.y - wgs.y).abs() < 1e-9);
//! ```

use geo::MapCoordsInPlace;
use geo_types::Coord;

crate::vocab!(
    /// A coordinate reference system of incoming data.
    Crs, "CRS" {
        /// WGS84 longitude/latitude (EPSG:4326), GPS and OSM.
        Wgs84 => "wgs84",
        /// CGCS2000 (EPSG:4490), treated as WGS84.
        Cgcs2000 => "cgcs2000",
        /// GCJ-02 ("Mars coordinates"), AMap / Tencent.
        Gcj02 => "gcj02",
        /// BD-09, Baidu.
        Bd09 => "bd09",
        /// Web Mercator (EPSG:3857) metres, as web maps and some GIS exports
        /// write them; converted to longitude/latitude on the sphere.
        WebMercator => "epsg3857",
    }
);

impl Crs {
    /// Converts a coordinate of this CRS to WGS84.
    pub fn to_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => c,
            Crs::Gcj02 => gcj02_to_wgs84(c),
            Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(c)),
            Crs::WebMercator => mercator_to_lonlat(c),
        }
    }

    /// Converts a WGS84 coordinate to this CRS.
    pub fn from_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => c,
            Crs::Gcj02 => wgs84_to_gcj02(c),
            Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(c)),
            Crs::WebMercator => lonlat_to_mercator(c),
        }
    }

    /// Converts every coordinate of a geometry of this CRS to WGS84, in place.
    pub fn geometry_to_wgs84<G: MapCoordsInPlace<f64>>(self, g: &mut G) {
        if !matches!(self, Crs::Wgs84 | Crs::Cgcs2000) {
            g.map_coords_in_place(|c| self.to_wgs84(c));
        }
    }

    /// Converts every coordinate of a WGS84 geometry to this CRS, in place.
    pub fn geometry_from_wgs84<G: MapCoordsInPlace<f64>>(self, g: &mut G) {
        if !matches!(self, Crs::Wgs84 | Crs::Cgcs2000) {
            g.map_coords_in_place(|c| self.from_wgs84(c));
        }
    }
}

impl Crs {
    /// True when coordinates of this CRS are projected metres (checked for
    /// range only after conversion to longitude/latitude).
    pub fn projected(self) -> bool {
        self == Crs::WebMercator
    }

    /// The CRS a GeoJSON `crs` member (or a `.prj` authority) names: an
    /// EPSG code or URN (`EPSG:4326`, `urn:ogc:def:crs:EPSG::3857`,
    /// `urn:ogc:def:crs:OGC:1.3:CRS84`); `Err` naming the CRS when it is
    /// none of EPSG:4326, CRS84, EPSG:4490, EPSG:3857 and Wangge's URNs of
    /// GCJ-02 and BD-09 ([`Crs::urn`]).
    ///
    /// ```
    /// use geo_core::crs::Crs;
    /// assert_eq!(Crs::from_name("urn:ogc:def:crs:OGC:1.3:CRS84"), Ok(Crs::Wgs84));
    /// assert_eq!(Crs::from_name("EPSG:4490"), Ok(Crs::Cgcs2000));
    /// assert_eq!(Crs::from_name("urn:ogc:def:crs:EPSG::3857"), Ok(Crs::WebMercator));
    /// assert!(Crs::from_name("EPSG:4547").unwrap_err().contains("EPSG:4547"));
    /// ```
    pub fn from_name(name: &str) -> Result<Crs, String> {
        let n = name.trim().to_ascii_uppercase();
        // GCJ-02 and BD-09 have no EPSG code: Wangge's exports and its OGC
        // API name them in its own URN namespace ([`Crs::urn`]).
        for own in [Crs::Gcj02, Crs::Bd09] {
            if n == own.urn().to_ascii_uppercase() {
                return Ok(own);
            }
        }
        if n.ends_with("CRS84") || n.ends_with("CRS:84") {
            return Ok(Crs::Wgs84);
        }
        let code = n
            .rsplit([':', '/'])
            .next()
            .and_then(|c| c.parse::<u32>().ok())
            .filter(|_| n.contains("EPSG") || n.chars().all(|c| c.is_ascii_digit()));
        match code {
            Some(4326) => Ok(Crs::Wgs84),
            Some(4490) => Ok(Crs::Cgcs2000),
            Some(3857 | 900_913 | 102_100 | 3785) => Ok(Crs::WebMercator),
            _ => Err(format!(
                "{name}: only EPSG:4326 (WGS84), CRS84, EPSG:4490 (CGCS2000), EPSG:3857 \
                 (Web Mercator) and urn:x-wangge:def:crs:gcj02|bd09 are read; reproject \
                 the file to EPSG:4326 first (e.g. ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson)"
            )),
        }
    }
}

impl Crs {
    /// The URN that names this CRS in a GeoJSON `crs` member and in the OGC
    /// API's `crs=`: the OGC/EPSG ones where a code exists, Wangge's own
    /// `urn:x-wangge:def:crs:gcj02` / `…:bd09` where none does. Each is read
    /// back by [`Crs::from_name`].
    ///
    /// ```
    /// use geo_core::crs::Crs;
    /// for c in [Crs::Wgs84, Crs::Cgcs2000, Crs::Gcj02, Crs::Bd09, Crs::WebMercator] {
    ///     assert_eq!(Crs::from_name(c.urn()), Ok(c));
    /// }
    /// ```
    pub fn urn(self) -> &'static str {
        match self {
            Crs::Wgs84 => "urn:ogc:def:crs:OGC:1.3:CRS84",
            Crs::Cgcs2000 => "urn:ogc:def:crs:EPSG::4490",
            Crs::Gcj02 => "urn:x-wangge:def:crs:gcj02",
            Crs::Bd09 => "urn:x-wangge:def:crs:bd09",
            Crs::WebMercator => "urn:ogc:def:crs:EPSG::3857",
        }
    }
}

/// Radius of the Web Mercator sphere (the WGS84 semi-major axis), m.
const MERCATOR_R: f64 = 6_378_137.0;

/// EPSG:3857 metres → longitude/latitude degrees.
pub fn mercator_to_lonlat(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: (c.x / MERCATOR_R).to_degrees(),
        y: (2.0 * (c.y / MERCATOR_R).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees(),
    }
}

/// Longitude/latitude degrees → EPSG:3857 metres.
pub fn lonlat_to_mercator(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: c.x.to_radians() * MERCATOR_R,
        y: (std::f64::consts::FRAC_PI_4 + c.y.to_radians() / 2.0)
            .tan()
            .ln()
            * MERCATOR_R,
    }
}

/// Krasovsky 1940 semi-major axis and eccentricity², as used by GCJ-02.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;
/// Iterations stop when the step is below this (degrees, ~0.1 µm).
const TOLERANCE_DEG: f64 = 1e-12;
const MAX_ITERATIONS: usize = 30;

/// True when the coordinate lies outside the rough bounding box of China in
/// which GCJ-02 is applied.
pub fn outside_china(c: Coord<f64>) -> bool {
    !(72.004..=137.8347).contains(&c.x) || !(0.8293..=55.8271).contains(&c.y)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// WGS84 → GCJ-02 (public approximation; identity outside China).
pub fn wgs84_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    use std::f64::consts::PI;
    if outside_china(c) {
        return c;
    }
    let d_lat = transform_lat(c.x - 105.0, c.y - 35.0);
    let d_lon = transform_lon(c.x - 105.0, c.y - 35.0);
    let rad_lat = c.y / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    Coord {
        x: c.x + d_lon,
        y: c.y + d_lat,
    }
}

/// Solves `forward(w) = target` by fixed-point iteration
/// `w ← w − (forward(w) − target)`; the offsets vary slowly (their Jacobian
/// is close to zero), so each step gains several digits.
fn invert(target: Coord<f64>, forward: impl Fn(Coord<f64>) -> Coord<f64>) -> Coord<f64> {
    let mut w = target;
    for _ in 0..MAX_ITERATIONS {
        let f = forward(w);
        let (dx, dy) = (f.x - target.x, f.y - target.y);
        w = Coord {
            x: w.x - dx,
            y: w.y - dy,
        };
        if dx.abs() < TOLERANCE_DEG && dy.abs() < TOLERANCE_DEG {
            break;
        }
    }
    w
}

/// GCJ-02 → WGS84, iterative inverse of [`wgs84_to_gcj02`].
pub fn gcj02_to_wgs84(c: Coord<f64>) -> Coord<f64> {
    if outside_china(c) {
        return c;
    }
    invert(c, wgs84_to_gcj02)
}

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(c: Coord<f64>) -> Coord<f64> {
    let (x, y) = (c.x, c.y);
    let z = (x * x + y * y).sqrt() + 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * X_PI).cos();
    Coord {
        x: z * theta.cos() + 0.0065,
        y: z * theta.sin() + 0.006,
    }
}

/// BD-09 → GCJ-02, iterative inverse of [`gcj02_to_bd09`] (seeded with the
/// usual closed-form approximation).
pub fn bd09_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    let (x, y) = (c.x - 0.0065, c.y - 0.006);
    let z = (x * x + y * y).sqrt() - 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * X_PI).cos();
    let seed = Coord {
        x: z * theta.cos(),
        y: z * theta.sin(),
    };
    let mut w = seed;
    for _ in 0..MAX_ITERATIONS {
        let f = gcj02_to_bd09(w);
        let (dx, dy) = (f.x - c.x, f.y - c.y);
        w = Coord {
            x: w.x - dx,
            y: w.y - dy,
        };
        if dx.abs() < TOLERANCE_DEG && dy.abs() < TOLERANCE_DEG {
            break;
        }
    }
    w
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo_types::coord;

    #[test]
    fn known_offset_in_zhengzhou_is_a_few_hundred_metres() {
        // GCJ-02 shifts points in central China by roughly 100–700 m.
        let w = coord! { x: 113.6654, y: 34.7579 };
        let g = wgs84_to_gcj02(w);
        let dx_m = (g.x - w.x) * 111_320.0 * w.y.to_radians().cos();
        let dy_m = (g.y - w.y) * 110_574.0;
        let d = (dx_m * dx_m + dy_m * dy_m).sqrt();
        assert!((100.0..1000.0).contains(&d), "offset {d} m");
    }

    #[test]
    fn outside_china_passes_through() {
        let paris = coord! { x: 2.35, y: 48.85 };
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(Crs::Gcj02.to_wgs84(paris), paris);
    }

    #[test]
    fn bd09_round_trip() {
        let w = coord! { x: 116.404, y: 39.915 };
        let b = Crs::Bd09.from_wgs84(w);
        assert!((b.x - w.x).abs() > 1e-3, "BD-09 must move the point");
        let back = Crs::Bd09.to_wgs84(b);
        assert!((back.x - w.x).abs() < 1e-10 && (back.y - w.y).abs() < 1e-10);
    }

    #[test]
    fn parse_is_vocab_style() {
        assert_eq!(Crs::parse(" GCJ02 ").unwrap(), Crs::Gcj02);
        let err = Crs::parse("epsg:2385").unwrap_err().to_string();
        assert!(
            err.contains("wgs84, cgcs2000, gcj02, bd09, epsg3857"),
            "{err}"
        );
    }

    #[test]
    fn web_mercator_round_trip() {
        // The Oriental Pearl Tower: 121.4997° E, 31.2397° N.
        let m = Coord {
            x: 13_525_209.0,
            y: 3_664_044.0,
        };
        let w = Crs::WebMercator.to_wgs84(m);
        assert!(
            (w.x - 121.4997).abs() < 1e-3 && (w.y - 31.2397).abs() < 1e-3,
            "{w:?}"
        );
        let back = Crs::WebMercator.from_wgs84(w);
        assert!((back.x - m.x).abs() < 1e-6 && (back.y - m.y).abs() < 1e-6);
        assert_eq!(Crs::from_name("EPSG:3857"), Ok(Crs::WebMercator));
        assert_eq!(Crs::from_name("4326"), Ok(Crs::Wgs84));
        assert!(Crs::from_name("urn:ogc:def:crs:EPSG::4547").is_err());
    }
}
