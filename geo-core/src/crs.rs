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
    }
);

impl Crs {
    /// Converts a coordinate of this CRS to WGS84.
    pub fn to_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => c,
            Crs::Gcj02 => gcj02_to_wgs84(c),
            Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(c)),
        }
    }

    /// Converts a WGS84 coordinate to this CRS.
    pub fn from_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => c,
            Crs::Gcj02 => wgs84_to_gcj02(c),
            Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(c)),
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
        let err = Crs::parse("epsg:3857").unwrap_err().to_string();
        assert!(err.contains("wgs84, cgcs2000, gcj02, bd09"), "{err}");
    }
}
