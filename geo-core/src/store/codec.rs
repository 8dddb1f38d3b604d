//! Geometry and vocabulary codecs between model types and store columns.
//! Geometries are stored as RFC 7946 GeoJSON text so the file stays readable
//! from DuckDB's own tools (`ST_GeomFromGeoJSON` in the spatial extension).

use geo::BoundingRect;
use geo_types::{Geometry, LineString, MultiPolygon, Polygon, Rect};

use super::error::{Result, StoreError};
use crate::model::GridRefs;

/// The four grid reference columns of an element's row (community,
/// comprehensive, micro, dedicated).
pub(crate) fn refs_params(r: &GridRefs) -> [Option<u64>; 4] {
    [
        r.community.map(|i| i.get()),
        r.comprehensive.map(|i| i.get()),
        r.micro.map(|i| i.get()),
        r.dedicated.map(|i| i.get()),
    ]
}

/// Serialises any geometry to GeoJSON text.
pub(crate) fn geom_text<'a>(g: impl Into<GeomRef<'a>>) -> String {
    let value = match g.into() {
        GeomRef::Polygon(p) => geojson::GeometryValue::from(p),
        GeomRef::Multi(p) => geojson::GeometryValue::from(p),
        GeomRef::Parts(p) => match p.0.as_slice() {
            [one] => geojson::GeometryValue::from(one),
            _ => geojson::GeometryValue::from(p),
        },
        GeomRef::Line(l) => geojson::GeometryValue::from(l),
        GeomRef::Any(g) => geojson::GeometryValue::from(g),
    };
    geojson::Geometry::new(value).to_string()
}

/// Borrowed geometry accepted by [`geom_text`].
pub(crate) enum GeomRef<'a> {
    Polygon(&'a Polygon<f64>),
    Multi(&'a MultiPolygon<f64>),
    /// A building's footprint or a compound's wall: stored as a Polygon
    /// when it has one part (as every store before multi-part buildings
    /// holds them), else as a MultiPolygon.
    Parts(&'a MultiPolygon<f64>),
    Line(&'a LineString<f64>),
    Any(&'a Geometry<f64>),
}
impl<'a> From<&'a Polygon<f64>> for GeomRef<'a> {
    fn from(p: &'a Polygon<f64>) -> Self {
        GeomRef::Polygon(p)
    }
}
impl<'a> From<&'a MultiPolygon<f64>> for GeomRef<'a> {
    fn from(p: &'a MultiPolygon<f64>) -> Self {
        GeomRef::Multi(p)
    }
}
impl<'a> From<&'a LineString<f64>> for GeomRef<'a> {
    fn from(p: &'a LineString<f64>) -> Self {
        GeomRef::Line(p)
    }
}
impl<'a> From<&'a Geometry<f64>> for GeomRef<'a> {
    fn from(p: &'a Geometry<f64>) -> Self {
        GeomRef::Any(p)
    }
}

/// Parses stored GeoJSON text into a geometry.
pub(crate) fn parse_geom(table: &'static str, id: u64, text: &str) -> Result<Geometry<f64>> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table,
        id,
        column: "geom",
        reason,
    };
    let g: geojson::Geometry = text.parse().map_err(|e| corrupt(format!("{e}")))?;
    Geometry::<f64>::try_from(&g.value).map_err(|e| corrupt(format!("{e}")))
}

pub(crate) fn parse_multi(table: &'static str, id: u64, text: &str) -> Result<MultiPolygon<f64>> {
    match parse_geom(table, id, text)? {
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(m) => Ok(m),
        other => Err(StoreError::Corrupt {
            table,
            id,
            column: "geom",
            reason: format!(
                "expected a (Multi)Polygon, found {}",
                crate::geometry::type_name(&other)
            ),
        }),
    }
}

pub(crate) fn parse_line(table: &'static str, id: u64, text: &str) -> Result<LineString<f64>> {
    match parse_geom(table, id, text)? {
        Geometry::LineString(l) => Ok(l),
        other => Err(StoreError::Corrupt {
            table,
            id,
            column: "geom",
            reason: format!(
                "expected a LineString, found {}",
                crate::geometry::type_name(&other)
            ),
        }),
    }
}

/// Bounding box, if any.
pub(crate) fn bbox(g: &Geometry<f64>) -> Option<Rect<f64>> {
    g.bounding_rect()
}

/// Parses a vocabulary column.
pub(crate) fn vocab<T>(
    table: &'static str,
    id: u64,
    column: &'static str,
    text: &str,
    parse: impl Fn(&str) -> std::result::Result<T, crate::error::IdError>,
) -> Result<T> {
    parse(text).map_err(|e| StoreError::Corrupt {
        table,
        id,
        column,
        reason: e.to_string(),
    })
}

/// Parses an ID column.
pub(crate) fn id<T>(
    table: &'static str,
    row: u64,
    column: &'static str,
    raw: u64,
    make: impl Fn(u64) -> std::result::Result<T, crate::error::IdError>,
) -> Result<T> {
    make(raw).map_err(|e| StoreError::Corrupt {
        table,
        id: row,
        column,
        reason: e.to_string(),
    })
}

/// Optional ID column.
pub(crate) fn opt_id<T>(
    table: &'static str,
    row: u64,
    column: &'static str,
    raw: Option<u64>,
    make: impl Fn(u64) -> std::result::Result<T, crate::error::IdError>,
) -> Result<Option<T>> {
    raw.map(|r| id(table, row, column, r, make)).transpose()
}
