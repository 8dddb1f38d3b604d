//! H3 cells of points, for hexagon aggregation (heatmaps, hotspots).
//!
//! Town-scale work uses resolutions 7 (≈5 km²) to 11 (≈2 000 m²); others are
//! refused so a typo cannot produce billions of cells.
//!
//! ```
//! use geo_core::h3::cell_at;
//! use geo_types::coord;
//!
//! let cell = cell_at(coord! { x: 116.39, y: 39.91 }, 9).unwrap();
//! assert_eq!(u8::from(cell.resolution()), 9);
//! assert!(cell_at(coord! { x: 116.39, y: 39.91 }, 15).is_err());
//! ```

use geo_types::Coord;
use h3o::{CellIndex, LatLng, Resolution};
use thiserror::Error;

use crate::geometry::representative_point;
use crate::index::ElementRef;
use crate::Dataset;

/// Coarsest resolution accepted.
pub const MIN_RESOLUTION: u8 = 7;
/// Finest resolution accepted.
pub const MAX_RESOLUTION: u8 = 11;

/// Why no cell could be computed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum H3Error {
    /// Resolution outside [`MIN_RESOLUTION`]..=[`MAX_RESOLUTION`].
    #[error("H3 resolution {res} is not supported: expected {MIN_RESOLUTION}–{MAX_RESOLUTION}")]
    Resolution {
        /// Resolution given.
        res: u8,
    },
    /// A coordinate that is not a finite longitude/latitude.
    #[error("point ({x}, {y}) has no H3 cell: {reason}")]
    Coordinate {
        /// Longitude given.
        x: f64,
        /// Latitude given.
        y: f64,
        /// Why.
        reason: String,
    },
}

/// Checks and converts a resolution.
pub fn resolution(res: u8) -> Result<Resolution, H3Error> {
    if !(MIN_RESOLUTION..=MAX_RESOLUTION).contains(&res) {
        return Err(H3Error::Resolution { res });
    }
    Resolution::try_from(res).map_err(|_| H3Error::Resolution { res })
}

/// The H3 cell containing a WGS84 point at resolution `res` (7–11).
pub fn cell_at(c: Coord<f64>, res: u8) -> Result<CellIndex, H3Error> {
    let r = resolution(res)?;
    let ll = LatLng::new(c.y, c.x).map_err(|e| H3Error::Coordinate {
        x: c.x,
        y: c.y,
        reason: e.to_string(),
    })?;
    Ok(ll.to_cell(r))
}

/// The cell of every point element of a dataset (events, places,
/// organisations; areas by their representative point) at `res`. Elements
/// whose coordinates are invalid are left out; the resolution is checked
/// first.
pub fn dataset_cells(ds: &Dataset, res: u8) -> Result<Vec<(ElementRef, CellIndex)>, H3Error> {
    let r = resolution(res)?;
    let cell = |c: Coord<f64>| LatLng::new(c.y, c.x).ok().map(|ll| ll.to_cell(r));
    let mut out = Vec::with_capacity(ds.events.len() + ds.places.len() + ds.organisations.len());
    out.extend(
        ds.events
            .iter()
            .filter_map(|e| cell(e.location.0).map(|c| (ElementRef::Event(e.id), c))),
    );
    out.extend(ds.places.iter().filter_map(|p| {
        representative_point(&p.geometry)
            .and_then(cell)
            .map(|c| (ElementRef::Place(p.id), c))
    }));
    out.extend(ds.organisations.iter().filter_map(|o| {
        representative_point(&o.geometry)
            .and_then(cell)
            .map(|c| (ElementRef::Organisation(o.id), c))
    }));
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo_types::coord;

    #[test]
    fn resolutions_7_to_11_only() {
        let c = coord! { x: 114.3, y: 34.8 };
        for res in 7..=11 {
            assert_eq!(u8::from(cell_at(c, res).unwrap().resolution()), res);
        }
        assert_eq!(cell_at(c, 6), Err(H3Error::Resolution { res: 6 }));
        assert_eq!(cell_at(c, 12), Err(H3Error::Resolution { res: 12 }));
    }

    #[test]
    fn nan_is_refused_with_the_value() {
        let err = cell_at(coord! { x: f64::NAN, y: 34.8 }, 9).unwrap_err();
        assert!(matches!(err, H3Error::Coordinate { .. }));
        assert!(err.to_string().contains("NaN"), "{err}");
    }

    #[test]
    fn nearby_points_share_a_cell_at_res_7() {
        let a = cell_at(coord! { x: 114.30000, y: 34.80000 }, 7).unwrap();
        let b = cell_at(coord! { x: 114.30001, y: 34.80001 }, 7).unwrap();
        assert_eq!(a, b);
    }
}
