//! Web Mercator: WGS84 lon/lat to "world" coordinates in the unit square
//! (x east, y south, both 0..1), tile bounds and tile ranges.

use std::f64::consts::PI;

/// Highest latitude Web Mercator shows.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Projects lon/lat (degrees) to world coordinates in `[0, 1]²`, y down.
///
/// ```
/// let [x, y] = tiles::projection::to_world(0.0, 0.0);
/// assert!((x - 0.5).abs() < 1e-12 && (y - 0.5).abs() < 1e-12);
/// ```
pub fn to_world(lon: f64, lat: f64) -> [f64; 2] {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0;
    [x, y]
}

/// Inverse of [`to_world`]: lon/lat degrees.
pub fn to_lonlat(x: f64, y: f64) -> [f64; 2] {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    [lon, lat]
}

/// World bounds `[minx, miny, maxx, maxy]` of tile `z/x/y`, grown by
/// `buffer/extent` of a tile on each side.
pub fn tile_world_bounds(z: u8, x: u32, y: u32, buffer_frac: f64) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let (x, y) = (f64::from(x), f64::from(y));
    [
        (x - buffer_frac) / n,
        (y - buffer_frac) / n,
        (x + 1.0 + buffer_frac) / n,
        (y + 1.0 + buffer_frac) / n,
    ]
}

/// A rectangle of tiles at one zoom, inclusive on both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TileRange {
    /// Zoom.
    pub z: u8,
    /// First column.
    pub x_min: u32,
    /// Last column.
    pub x_max: u32,
    /// First row.
    pub y_min: u32,
    /// Last row.
    pub y_max: u32,
}

impl TileRange {
    /// The tiles at `z` whose buffered area meets the world box
    /// `[minx, miny, maxx, maxy]` (`buffer_frac` of a tile on each side).
    pub fn covering(z: u8, world: [f64; 4], buffer_frac: f64) -> Self {
        let n = 1u32 << z;
        let nf = f64::from(n);
        let clamp = |v: f64| -> u32 { (v.floor().max(0.0) as u32).min(n - 1) };
        Self {
            z,
            x_min: clamp(world[0] * nf - buffer_frac),
            x_max: clamp(world[2] * nf + buffer_frac),
            y_min: clamp(world[1] * nf - buffer_frac),
            y_max: clamp(world[3] * nf + buffer_frac),
        }
    }

    /// True when tile `z/x/y` is in the range.
    pub fn contains(&self, z: u8, x: u32, y: u32) -> bool {
        z == self.z
            && (self.x_min..=self.x_max).contains(&x)
            && (self.y_min..=self.y_max).contains(&y)
    }

    /// Number of tiles in the range.
    pub fn len(&self) -> u64 {
        u64::from(self.x_max - self.x_min + 1) * u64::from(self.y_max - self.y_min + 1)
    }

    /// Never true: a range holds at least one tile.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Iterates `(x, y)` row by row.
    pub fn tiles(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (self.y_min..=self.y_max).flat_map(move |y| (self.x_min..=self.x_max).map(move |x| (x, y)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let [x, y] = to_world(113.3, 34.4);
        let [lon, lat] = to_lonlat(x, y);
        assert!((lon - 113.3).abs() < 1e-9 && (lat - 34.4).abs() < 1e-9);
    }

    #[test]
    fn covering_single_tile() {
        // a point in the middle of tile 14/x/y covers exactly that tile without buffer
        let z = 14;
        let n = f64::from(1u32 << z);
        let p = [(100.5) / n, (200.5) / n];
        let r = TileRange::covering(z, [p[0], p[1], p[0], p[1]], 0.0);
        assert_eq!((r.x_min, r.x_max, r.y_min, r.y_max), (100, 100, 200, 200));
        assert!(r.contains(14, 100, 200));
        assert!(!r.contains(14, 101, 200));
        assert_eq!(r.len(), 1);
    }
}
