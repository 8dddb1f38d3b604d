//! GeoParquet 1.0 out: the rows of an export ([`super::export::Row`]) as a Parquet
//! file whose `geometry` column holds each element's geometry as WKB, with
//! the file metadata key `geo` that GeoParquet readers (GDAL, geopandas,
//! DuckDB spatial, QGIS) look for.
//!
//! - Geometries are the GeoJSON export's: longitude/latitude in OGC:CRS84
//!   (GeoParquet's default, so the column's `crs` is left out), rounded to
//!   7 decimals, exterior rings counter-clockwise; `geometry_types` lists
//!   the types present and `bbox` their extent.
//! - The other columns are the export's fields, typed from their values:
//!   integers `INT64`, numbers `DOUBLE`, true/false `BOOLEAN`, text, lists
//!   (`;`-joined) and structured data (JSON) as strings.
//! - With the `store` feature, `write_geoparquet` writes the file through
//!   DuckDB's own Parquet writer (an in-memory database: the rows are
//!   appended to a table, then `COPY … (FORMAT parquet, KV_METADATA {geo:
//!   …})`), so no second Parquet implementation is linked.
//!
//! ```
//! use geo_core::io::geoparquet::{geo_metadata, wkb};
//! use geo_types::{point, Geometry};
//! let g = Geometry::Point(point!(x: 120.123456789, y: 30.5));
//! let bytes = wkb(&g);
//! assert_eq!(bytes.len(), 21); // byte order, type, x, y
//! let meta: serde_json::Value = serde_json::from_str(&geo_metadata([&g])).unwrap();
//! assert_eq!(meta["columns"]["geometry"]["encoding"], "WKB");
//! assert_eq!(meta["columns"]["geometry"]["geometry_types"][0], "Point");
//! ```

use std::collections::BTreeSet;

use geo::orient::{Direction, Orient};
use geo::{BoundingRect, MapCoords};
use geo_types::{Geometry, GeometryCollection, LineString};
use serde_json::json;

use crate::io::export::round7;

/// The geometry as the GeoJSON export writes it: 7 decimals, polygons with
/// counter-clockwise exteriors and clockwise holes; a `Line` as a
/// `LineString`, a `Rect` or `Triangle` as a `Polygon`.
pub fn normalized(g: &Geometry<f64>) -> Geometry<f64> {
    let r = g.map_coords(|c| geo_types::Coord {
        x: round7(c.x),
        y: round7(c.y),
    });
    match r {
        Geometry::Polygon(p) => Geometry::Polygon(p.orient(Direction::Default)),
        Geometry::MultiPolygon(m) => Geometry::MultiPolygon(m.orient(Direction::Default)),
        Geometry::Rect(r) => Geometry::Polygon(r.to_polygon().orient(Direction::Default)),
        Geometry::Triangle(t) => Geometry::Polygon(t.to_polygon().orient(Direction::Default)),
        Geometry::Line(l) => Geometry::LineString(LineString::new(vec![l.start, l.end])),
        Geometry::GeometryCollection(gc) => {
            Geometry::GeometryCollection(GeometryCollection(gc.0.iter().map(normalized).collect()))
        }
        other => other,
    }
}

/// The geometry, [`normalized`], as little-endian ISO WKB (2D).
pub fn wkb(g: &Geometry<f64>) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec only fails for geometries WKB cannot hold, and
    // `normalized` leaves none of those.
    let _ = wkb::writer::write_geometry(&mut out, &normalized(g), &Default::default());
    out
}

/// The GeoParquet type name of a [`normalized`] geometry.
fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::LineString(_) | Geometry::Line(_) => "LineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

/// The file metadata `geo` (GeoParquet 1.0.0) of a `geometry` column holding
/// `geoms`, as JSON text: encoding WKB, the geometry types present (sorted),
/// and the bounding box `[xmin, ymin, xmax, ymax]` (left out when there is no
/// geometry). The CRS is the default, OGC:CRS84, so `crs` is left out.
pub fn geo_metadata<'g>(geoms: impl IntoIterator<Item = &'g Geometry<f64>>) -> String {
    let mut types = BTreeSet::new();
    let mut bbox: Option<[f64; 4]> = None;
    for g in geoms {
        let g = normalized(g);
        types.insert(type_name(&g));
        if let Some(r) = g.bounding_rect() {
            let b = bbox.get_or_insert([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
            b[0] = b[0].min(r.min().x);
            b[1] = b[1].min(r.min().y);
            b[2] = b[2].max(r.max().x);
            b[3] = b[3].max(r.max().y);
        }
    }
    let mut column = json!({
        "encoding": "WKB",
        "geometry_types": types.into_iter().collect::<Vec<_>>(),
    });
    if let Some(b) = bbox {
        column["bbox"] = json!(b);
    }
    json!({
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {"geometry": column},
    })
    .to_string()
}

#[cfg(feature = "store")]
pub use writer::write_geoparquet;

#[cfg(feature = "store")]
mod writer {
    use std::path::Path;

    use duckdb::types::Value as Db;
    use duckdb::{appender_params_from_iter, Connection};

    use super::{geo_metadata, wkb};
    use crate::io::export::{Cell, ExportError, Row};

    /// The DuckDB type of a column: the widest of its values' types.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Ty {
        None,
        Bool,
        Int,
        Double,
        Text,
    }

    impl Ty {
        fn of(c: &Cell) -> Self {
            match c {
                Cell::Null => Self::None,
                Cell::Bool(_) => Self::Bool,
                Cell::Int(_) => Self::Int,
                Cell::Float(_) => Self::Double,
                Cell::Text(_) | Cell::List(_) | Cell::Json(_) => Self::Text,
            }
        }

        /// The wider of two: integers widen to numbers, anything mixed to text.
        fn join(self, o: Self) -> Self {
            match (self, o) {
                (a, b) if a == b => a,
                (Self::None, b) => b,
                (a, Self::None) => a,
                (Self::Int, Self::Double) | (Self::Double, Self::Int) => Self::Double,
                _ => Self::Text,
            }
        }

        fn sql(self) -> &'static str {
            match self {
                Self::Bool => "BOOLEAN",
                Self::Int => "BIGINT",
                Self::Double => "DOUBLE",
                Self::None | Self::Text => "VARCHAR",
            }
        }

        fn value(self, c: &Cell) -> Db {
            match (self, c) {
                (_, Cell::Null) => Db::Null,
                (Self::Bool, Cell::Bool(b)) => Db::Boolean(*b),
                (Self::Int, Cell::Int(i)) => Db::BigInt(*i),
                (Self::Double, Cell::Int(i)) => Db::Double(*i as f64),
                (Self::Double, Cell::Float(f)) => f.parse().map_or(Db::Null, Db::Double),
                // Text, lists and JSON as the CSV writes them, unescaped:
                // Parquet is no spreadsheet.
                (_, Cell::Text(s)) => Db::Text(s.clone()),
                (_, c) => Db::Text(match c {
                    Cell::Json(v) => v.to_string(),
                    other => other.csv(),
                }),
            }
        }
    }

    fn quote_ident(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    fn quote_literal(s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    fn db(e: duckdb::Error) -> ExportError {
        ExportError::Parquet(e.to_string())
    }

    /// Writes `rows` to a new GeoParquet 1.0 file at `path` (replacing a file
    /// there) through DuckDB's Parquet writer and answers how many rows it
    /// holds. The columns are those of the first row (an empty export has
    /// only `geometry`), then `geometry`. Callers that must not leave a
    /// half-written file write to a temporary path and rename it.
    pub fn write_geoparquet(rows: &[Row], path: &Path) -> Result<u64, ExportError> {
        let names: Vec<&str> = rows
            .first()
            .map(|r| r.cells.iter().map(|(k, _)| k.as_str()).collect())
            .unwrap_or_default();
        let mut types = vec![Ty::None; names.len()];
        for r in rows {
            for (t, (_, c)) in types.iter_mut().zip(&r.cells) {
                *t = t.join(Ty::of(c));
            }
        }
        let conn = Connection::open_in_memory().map_err(db)?;
        let mut cols: Vec<String> = names
            .iter()
            .zip(&types)
            .map(|(n, t)| format!("{} {}", quote_ident(n), t.sql()))
            .collect();
        cols.push("geometry BLOB".to_string());
        conn.execute_batch(&format!("CREATE TABLE export ({})", cols.join(", ")))
            .map_err(db)?;
        {
            let mut app = conn.appender("export").map_err(db)?;
            for r in rows {
                let mut vals: Vec<Db> = types
                    .iter()
                    .zip(&r.cells)
                    .map(|(t, (_, c))| t.value(c))
                    .collect();
                vals.resize(types.len(), Db::Null);
                vals.push(r.geometry.as_ref().map_or(Db::Null, |g| Db::Blob(wkb(g))));
                app.append_row(appender_params_from_iter(vals))
                    .map_err(db)?;
            }
            app.flush().map_err(db)?;
        }
        let meta = geo_metadata(rows.iter().filter_map(|r| r.geometry.as_ref()));
        let target = path.to_str().ok_or_else(|| {
            ExportError::Parquet(format!("{}: the path is not UTF-8", path.display()))
        })?;
        conn.execute_batch(&format!(
            "COPY export TO {} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {{geo: {}}})",
            quote_literal(target),
            quote_literal(&meta)
        ))
        .map_err(db)?;
        Ok(rows.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use geo_types::{line_string, polygon, Geometry};

    use super::*;

    #[test]
    fn wkb_holds_the_geojson_exports_coordinates() {
        // Clockwise exterior, 9 decimals: written counter-clockwise, 7 decimals.
        let p = Geometry::Polygon(polygon![
            (x: 120.0, y: 30.0), (x: 120.0, y: 30.123456789), (x: 120.1, y: 30.0), (x: 120.0, y: 30.0)
        ]);
        let bytes = wkb(&p);
        assert_eq!(&bytes[..5], &[1, 3, 0, 0, 0], "little-endian Polygon");
        let read = wkb::reader::read_wkb(&bytes).expect("WKB");
        let mut back: Geometry<f64> = geo_traits::to_geo::ToGeoGeometry::to_geometry(&read);
        assert_eq!(back, normalized(&p));
        if let Geometry::Polygon(q) = &mut back {
            assert!(q.exterior().0.iter().any(|c| c.y == 30.1234568));
            assert!(geo::Winding::is_ccw(q.exterior()));
        }
    }

    #[test]
    fn metadata_lists_types_and_bbox() {
        let a = Geometry::LineString(line_string![(x: 1.0, y: 2.0), (x: 3.0, y: 4.0)]);
        let b = Geometry::Point(geo_types::point!(x: -1.0, y: 5.0));
        let m: serde_json::Value = serde_json::from_str(&geo_metadata([&a, &b])).expect("JSON");
        let col = &m["columns"]["geometry"];
        assert_eq!(m["version"], "1.0.0");
        assert_eq!(
            col["geometry_types"],
            serde_json::json!(["LineString", "Point"])
        );
        assert_eq!(col["bbox"], serde_json::json!([-1.0, 2.0, 3.0, 5.0]));
        assert!(col.get("crs").is_none());
        let empty: serde_json::Value = serde_json::from_str(&geo_metadata([])).expect("JSON");
        assert!(empty["columns"]["geometry"].get("bbox").is_none());
    }
}
