//! Writing one kind of a [`Dataset`] as GeoJSON or CSV, with the field names
//! of [`crate::io::fields`], so an export imports back unchanged.
//!
//! - GeoJSON follows RFC 7946: WGS84 longitude/latitude with 7 decimals
//!   (about 1 cm), exterior rings counter-clockwise and holes clockwise, no
//!   `crs` member. Elements without geometry get `"geometry": null`. Written
//!   in another [`Crs`] (GCJ-02 for domestic base maps, `wangge export
//!   --crs`), the file says so in a `crs` member ([`Crs::urn`]), which the
//!   import reads back.
//! - CSV: points as `lon`,`lat`; other geometries as GeoJSON text in a
//!   `geometry` column; lists `;`-separated. Text cells starting with `=`,
//!   `+`, `-`, `@`, tab or CR get a leading `'` so spreadsheets do not run
//!   them as formulas (import removes it again).
//! - Personal data (person name, national ID, phone; sentiment text; an
//!   event's reporter household) is masked unless [`Masking::Reveal`].
//!
//! ```
//! use geo_core::io::{export, import, ElementKind, Masking};
//!
//! let csv = "id,name,national_id,sex,birth_year\n7,王小明,11010519491231002X,M,1949\n";
//! let b = import::read_bytes(ElementKind::Persons, csv.as_bytes(), "p.csv", &Default::default()).unwrap();
//! let mut out = Vec::new();
//! export::write_csv(ElementKind::Persons, &b.dataset, &mut out, Masking::Mask).unwrap();
//! let out = String::from_utf8(out).unwrap();
//! assert!(out.contains("王**") && out.contains("110105************"));
//! assert!(!out.contains("王小明"));
//! ```

use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use geo::orient::{Direction, Orient};
use geo_types::{Coord, Geometry, LineString, Polygon};
use serde_json::{json, Map, Number, Value};
use thiserror::Error;

use crate::crs::Crs;
use crate::geometry::polygonal;
use crate::ids::{mask_name, NationalId, Phone};
use crate::io::fields::fields;
use crate::io::import::PROGRESS_EVERY;
use crate::io::ElementKind;
use crate::model::SentimentLink;
use crate::Dataset;

/// Whether personal data is written in full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Masking {
    /// Names as `张**`, ID numbers as `411481************`, phones as
    /// `138****5678`; sentiment text reduced to its first character; reporter
    /// households left out.
    #[default]
    Mask,
    /// Everything in full. The caller must have checked the role and logged
    /// the export.
    Reveal,
}

/// Why an export failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Writing failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV writer failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The JSON writer failed.
    #[error("cannot write GeoJSON: {0}")]
    Json(#[from] serde_json::Error),
    /// DuckDB's Parquet writer failed.
    #[error("cannot write GeoParquet: {0}")]
    Parquet(String),
    /// The kind has no geometry, so no GeoParquet file.
    #[error("{kind} have no geometry: export them as csv, geojson or xlsx, not {format}")]
    NoGeometry {
        /// The kind.
        kind: &'static str,
        /// The format asked for.
        format: &'static str,
    },
}

/// One cell value of an exported row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A number in its shortest decimal form.
    Float(String),
    /// True or false.
    Bool(bool),
    /// A list: JSON array in GeoJSON, `;`-joined in CSV.
    List(Vec<Value>),
    /// Structured data: JSON in GeoJSON, JSON text in CSV.
    Json(Value),
}

impl Cell {
    fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }
    fn opt_text(s: Option<&str>) -> Self {
        s.map_or(Self::Null, Self::text)
    }
    fn id(id: u64) -> Self {
        Self::Int(id as i64)
    }
    fn opt_id(id: Option<u64>) -> Self {
        id.map_or(Self::Null, Self::id)
    }
    fn time(t: DateTime<Utc>) -> Self {
        Self::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
    fn opt_time(t: Option<DateTime<Utc>>) -> Self {
        t.map_or(Self::Null, Self::time)
    }

    /// The cell as a GeoJSON property value.
    pub fn json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Text(s) => Value::String(s.clone()),
            Self::Int(i) => Value::from(*i),
            Self::Float(s) => Number::from_str(s).map_or(Value::Null, Value::Number),
            Self::Bool(b) => Value::Bool(*b),
            Self::List(l) => Value::Array(l.clone()),
            Self::Json(v) => v.clone(),
        }
    }

    /// The cell as CSV text: text formula-escaped ([`escape_formula`]),
    /// lists `;`-joined, structured data as JSON text.
    pub fn csv(&self) -> String {
        match self {
            Self::Null => String::new(),
            Self::Text(s) => escape_formula(s),
            Self::Int(i) => i.to_string(),
            Self::Float(s) => s.clone(),
            Self::Bool(b) => b.to_string(),
            Self::List(l) => l
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(";"),
            Self::Json(v) => v.to_string(),
        }
    }
}

/// Escapes a text cell against CSV injection: a cell a spreadsheet would
/// read as a formula (it starts with `=`, `+`, `-`, `@`, tab or CR) gets a
/// leading `'`. The one escaping of every CSV we write (element exports and
/// the analytics tables).
///
/// ```
/// use geo_core::io::export::escape_formula;
/// assert_eq!(escape_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
/// assert_eq!(escape_formula("张三"), "张三");
/// ```
pub fn escape_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One exported element: its named cells in column order and its geometry.
/// Every format (GeoJSON, CSV, GeoParquet, XLSX) writes these rows, so each
/// masks alike.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Field name and value, in column order.
    pub cells: Vec<(String, Cell)>,
    /// WGS84 longitude/latitude; `None` for kinds without geometry.
    pub geometry: Option<Geometry<f64>>,
}

impl Row {
    /// The row of a GeoJSON feature (`properties` and `geometry`) as an
    /// answer of the API shows it: numbers stay numbers, arrays are lists,
    /// objects structured data. A feature that is not an object, or a
    /// geometry GeoJSON cannot read, gives a row without geometry.
    ///
    /// ```
    /// use geo_core::io::export::{Cell, Row};
    /// let f = serde_json::json!({"type": "Feature",
    ///     "geometry": {"type": "Point", "coordinates": [120.1, 30.2]},
    ///     "properties": {"id": 7, "name": "=x", "height": 2.5}});
    /// let r = Row::from_feature(&f);
    /// assert_eq!(r.cells[0], ("id".to_string(), Cell::Int(7)));
    /// let height = r.cells.iter().find(|(k, _)| k == "height");
    /// assert_eq!(height, Some(&("height".to_string(), Cell::Float("2.5".into()))));
    /// assert!(r.geometry.is_some());
    /// ```
    pub fn from_feature(feature: &Value) -> Self {
        let mut cells: Vec<(String, Cell)> = feature
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(k, v)| {
                        let cell = match v {
                            Value::Null => Cell::Null,
                            Value::Bool(b) => Cell::Bool(*b),
                            Value::Number(n) => n
                                .as_i64()
                                .map_or_else(|| Cell::Float(n.to_string()), Cell::Int),
                            Value::String(s) => Cell::Text(s.clone()),
                            Value::Array(a) => Cell::List(a.clone()),
                            Value::Object(_) => Cell::Json(v.clone()),
                        };
                        (k.clone(), cell)
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The identifier first, the others in the properties' order.
        cells.sort_by_key(|(k, _)| k != "id");
        let geometry = feature
            .get("geometry")
            .filter(|g| !g.is_null())
            .and_then(|g| serde_json::from_value::<geojson::Geometry>(g.clone()).ok())
            .and_then(|g| Geometry::<f64>::try_from(g).ok());
        Self { cells, geometry }
    }
}

fn float(x: f32) -> Cell {
    Cell::Float(x.to_string())
}

/// The rows of `kind` in `d` as every export writes them, masked unless
/// [`Masking::Reveal`].
pub fn rows(kind: ElementKind, d: &Dataset, masking: Masking) -> Vec<Row> {
    raw_rows(kind, d, masking)
        .into_iter()
        .map(|r| Row {
            cells: r
                .cells
                .into_iter()
                .map(|(k, c)| (k.to_string(), c))
                .collect(),
            geometry: r.geometry,
        })
        .collect()
}

/// `rows` with their geometry converted from WGS84 to `crs`.
fn in_crs(mut rows: Vec<Raw>, crs: Crs) -> Vec<Raw> {
    for g in rows.iter_mut().filter_map(|r| r.geometry.as_mut()) {
        crs.geometry_from_wgs84(g);
    }
    rows
}

/// `rows` (from [`rows`]) with their geometry converted from WGS84 to `crs`,
/// for the formats that take rows (XLSX).
pub fn rows_in(mut rows: Vec<Row>, crs: Crs) -> Vec<Row> {
    for g in rows.iter_mut().filter_map(|r| r.geometry.as_mut()) {
        crs.geometry_from_wgs84(g);
    }
    rows
}

/// A row with the static field names of [`fields`].
struct Raw {
    cells: Vec<(&'static str, Cell)>,
    geometry: Option<Geometry<f64>>,
}

fn raw_rows(kind: ElementKind, d: &Dataset, masking: Masking) -> Vec<Raw> {
    let reveal = masking == Masking::Reveal;
    match kind {
        ElementKind::Persons => d
            .persons
            .iter()
            .map(|p| Raw {
                cells: vec![
                    ("id", Cell::id(p.id.get())),
                    ("household_id", Cell::opt_id(p.household.map(|h| h.get()))),
                    ("name", Cell::text(if reveal { p.name.clone() } else { mask_name(&p.name) })),
                    (
                        "national_id",
                        Cell::opt_text(
                            p.national_id
                                .as_ref()
                                .map(|n| if reveal { n.reveal().to_string() } else { NationalId::masked(n) })
                                .as_deref(),
                        ),
                    ),
                    (
                        "phone",
                        Cell::opt_text(
                            p.phone
                                .as_ref()
                                .map(|n| if reveal { n.reveal().to_string() } else { Phone::masked(n) })
                                .as_deref(),
                        ),
                    ),
                    ("birth_year", Cell::Int(i64::from(p.birth_year))),
                    ("sex", Cell::text(p.sex.code())),
                    ("tags", Cell::List(p.tags.iter().map(|t| Value::from(t.code())).collect())),
                ],
                geometry: None,
            })
            .collect(),
        ElementKind::Households => d
            .households
            .iter()
            .map(|h| Raw {
                cells: vec![
                    ("id", Cell::id(h.id.get())),
                    ("building_id", Cell::id(h.building.get())),
                    ("unit_id", Cell::opt_id(h.unit.map(|u| u.get()))),
                    ("floor", Cell::Int(i64::from(h.floor))),
                    ("room", Cell::text(h.room.clone())),
                    ("size", Cell::Int(i64::from(h.size))),
                    ("tenure", Cell::text(h.tenure.code())),
                    ("group_rented", Cell::Bool(h.group_rented)),
                    ("party_member", Cell::Bool(h.party_member)),
                ],
                geometry: None,
            })
            .collect(),
        ElementKind::Buildings => d
            .buildings
            .iter()
            .map(|b| Raw {
                cells: vec![
                    ("id", Cell::id(b.id.get())),
                    ("compound_id", Cell::opt_id(b.compound.map(|c| c.get()))),
                    ("levels", b.levels.map_or(Cell::Null, |l| Cell::Int(i64::from(l)))),
                    ("height", b.height_m.map_or(Cell::Null, float)),
                    ("use", Cell::text(b.usage.code())),
                    ("units", Cell::Int(i64::from(b.units))),
                    ("households", Cell::Int(i64::from(b.households))),
                    ("households_estimated", Cell::Bool(b.households_estimated)),
                    ("address", Cell::opt_text(b.address.as_deref())),
                ],
                geometry: Some(polygonal(&b.footprint)),
            })
            .collect(),
        ElementKind::Units => d
            .units
            .iter()
            .map(|u| Raw {
                cells: vec![
                    ("id", Cell::id(u.id.get())),
                    ("building_id", Cell::id(u.building.get())),
                    ("number", Cell::Int(i64::from(u.number))),
                    ("households", Cell::Int(i64::from(u.households))),
                ],
                geometry: Some(Geometry::Point(u.entrance)),
            })
            .collect(),
        ElementKind::Compounds => d
            .compounds
            .iter()
            .map(|c| Raw {
                cells: vec![
                    ("id", Cell::id(c.id.get())),
                    ("name", Cell::text(c.name.clone())),
                    ("community_id", Cell::opt_id(c.community.map(|x| x.get()))),
                    ("era", Cell::text(c.era.code())),
                    ("built_year", c.built_year.map_or(Cell::Null, |y| Cell::Int(i64::from(y)))),
                ],
                geometry: Some(polygonal(&c.boundary)),
            })
            .collect(),
        ElementKind::Communities => d
            .communities
            .iter()
            .map(|c| Raw {
                cells: vec![
                    ("id", Cell::id(c.id.get())),
                    ("code", Cell::text(c.code.as_str())),
                    ("name", Cell::text(c.name.clone())),
                    ("is_village", Cell::Bool(c.is_village)),
                ],
                geometry: Some(Geometry::MultiPolygon(c.boundary.clone())),
            })
            .collect(),
        ElementKind::Grids => d
            .grids
            .iter()
            .map(|g| Raw {
                cells: vec![
                    ("id", Cell::id(g.id.get())),
                    ("code", Cell::text(g.code.as_str())),
                    ("name", Cell::text(g.name.clone())),
                    ("kind", Cell::text(g.kind.code())),
                    ("community_id", Cell::opt_id(g.community.map(|x| x.get()))),
                    ("parent_id", Cell::opt_id(g.parent.map(|x| x.get()))),
                    (
                        "workers",
                        if g.workers.is_empty() {
                            Cell::Null
                        } else {
                            Cell::Json(Value::Array(
                                g.workers
                                    .iter()
                                    .map(|w| json!({"name": w.name, "role": w.role.code(), "full_time": w.full_time}))
                                    .collect(),
                            ))
                        },
                    ),
                ],
                geometry: Some(Geometry::MultiPolygon(g.boundary.clone())),
            })
            .collect(),
        ElementKind::Places => d
            .places
            .iter()
            .map(|p| Raw {
                cells: vec![
                    ("id", Cell::id(p.id.get())),
                    ("name", Cell::text(p.name.clone())),
                    ("category", Cell::text(p.category.code())),
                    ("service", Cell::opt_text(p.service.map(|s| s.code()))),
                ],
                geometry: Some(p.geometry.clone()),
            })
            .collect(),
        ElementKind::Events => d
            .events
            .iter()
            .map(|e| Raw {
                cells: vec![
                    ("id", Cell::id(e.id.get())),
                    ("category", Cell::text(e.category.code())),
                    ("title", Cell::text(e.title.clone())),
                    ("reported_at", Cell::time(e.reported_at)),
                    ("source", Cell::text(e.source.code())),
                    ("status", Cell::text(e.status.code())),
                    ("grade", Cell::text(e.grade.code())),
                    ("deadline", Cell::opt_time(e.deadline)),
                    ("handler", Cell::opt_text(e.handler.as_deref())),
                    ("resolved_at", Cell::opt_time(e.resolved_at)),
                    ("satisfaction", e.satisfaction.map_or(Cell::Null, |s| Cell::Int(i64::from(s)))),
                    ("master_id", Cell::opt_id(e.master.map(|m| m.get()))),
                    (
                        "reporter_household_id",
                        Cell::opt_id(e.reporter_household.filter(|_| reveal).map(|h| h.get())),
                    ),
                ],
                geometry: Some(Geometry::Point(e.location)),
            })
            .collect(),
        ElementKind::Sentiments => d
            .sentiments
            .iter()
            .map(|s| {
                let (h, p, e) = match s.link {
                    SentimentLink::Household(h) => (Some(h.get()), None, None),
                    SentimentLink::Place(p) => (None, Some(p.get()), None),
                    SentimentLink::Event(e) => (None, None, Some(e.get())),
                };
                Raw {
                    cells: vec![
                        ("id", Cell::id(s.id.get())),
                        ("kind", Cell::text(s.kind.code())),
                        ("score", s.score.map_or(Cell::Null, float)),
                        ("text", Cell::text(if reveal { s.text.clone() } else { mask_name(&s.text) })),
                        ("at", Cell::time(s.at)),
                        ("household_id", Cell::opt_id(h)),
                        ("place_id", Cell::opt_id(p)),
                        ("event_id", Cell::opt_id(e)),
                    ],
                    geometry: None,
                }
            })
            .collect(),
        ElementKind::Organisations => d
            .organisations
            .iter()
            .map(|o| Raw {
                cells: vec![
                    ("id", Cell::id(o.id.get())),
                    ("name", Cell::text(o.name.clone())),
                    ("kind", Cell::text(o.kind.code())),
                    ("compound_id", Cell::opt_id(o.compound.map(|c| c.get()))),
                    ("members", Cell::List(o.members.iter().map(|m| Value::from(m.get())).collect())),
                    ("member_count", Cell::Int(i64::from(o.member_count))),
                ],
                geometry: Some(o.geometry.clone()),
            })
            .collect(),
        ElementKind::Roads => d
            .roads
            .iter()
            .map(|r| Raw {
                cells: vec![
                    ("id", Cell::id(r.id.get())),
                    ("name", Cell::opt_text(r.name.as_deref())),
                    ("class", Cell::text(r.class.code())),
                ],
                geometry: Some(Geometry::LineString(r.line.clone())),
            })
            .collect(),
    }
}

/// Rounds to 7 decimals (≈ 1 cm), enough for any survey.
pub(crate) fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

fn coord(c: &Coord<f64>) -> Value {
    json!([round7(c.x), round7(c.y)])
}

fn line(l: &LineString<f64>) -> Value {
    Value::Array(l.0.iter().map(coord).collect())
}

fn polygon(p: &Polygon<f64>) -> Value {
    let p = p.orient(Direction::Default);
    Value::Array(
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(line)
            .collect(),
    )
}

/// A geometry as an RFC 7946 GeoJSON geometry object.
fn geometry_json(g: &Geometry<f64>) -> Value {
    let (ty, coords) = match g {
        Geometry::Point(p) => ("Point", coord(&p.0)),
        Geometry::MultiPoint(mp) => (
            "MultiPoint",
            Value::Array(mp.0.iter().map(|p| coord(&p.0)).collect()),
        ),
        Geometry::LineString(l) => ("LineString", line(l)),
        Geometry::Line(l) => (
            "LineString",
            Value::Array(vec![coord(&l.start), coord(&l.end)]),
        ),
        Geometry::MultiLineString(m) => (
            "MultiLineString",
            Value::Array(m.0.iter().map(line).collect()),
        ),
        Geometry::Polygon(p) => ("Polygon", polygon(p)),
        Geometry::MultiPolygon(m) => (
            "MultiPolygon",
            Value::Array(m.0.iter().map(polygon).collect()),
        ),
        Geometry::Rect(r) => ("Polygon", polygon(&r.to_polygon())),
        Geometry::Triangle(t) => ("Polygon", polygon(&t.to_polygon())),
        Geometry::GeometryCollection(gc) => {
            return json!({"type": "GeometryCollection", "geometries": gc.0.iter().map(geometry_json).collect::<Vec<_>>()})
        }
    };
    json!({"type": ty, "coordinates": coords})
}

/// Writes `kind` of `dataset` as a GeoJSON FeatureCollection.
pub fn write_geojson<W: Write>(
    kind: ElementKind,
    dataset: &Dataset,
    writer: W,
    masking: Masking,
) -> Result<(), ExportError> {
    write_geojson_with_progress(kind, dataset, writer, masking, Crs::Wgs84, &|_, _| {})
}

/// [`write_geojson`] in `crs` (a `crs` member names any but WGS84), calling
/// `progress(rows written, rows)` every
/// [`crate::io::import::PROGRESS_EVERY`] rows and at the end.
pub fn write_geojson_with_progress<W: Write>(
    kind: ElementKind,
    dataset: &Dataset,
    mut writer: W,
    masking: Masking,
    crs: Crs,
    progress: &dyn Fn(u64, u64),
) -> Result<(), ExportError> {
    writer.write_all(b"{\"type\":\"FeatureCollection\",")?;
    if crs != Crs::Wgs84 {
        let member = json!({"type": "name", "properties": {"name": crs.urn()}});
        write!(writer, "\"crs\":{member},")?;
    }
    writer.write_all(b"\"features\":[")?;
    let rows = in_crs(raw_rows(kind, dataset, masking), crs);
    let total = rows.len() as u64;
    for (i, row) in rows.into_iter().enumerate() {
        if i.is_multiple_of(PROGRESS_EVERY) {
            progress(i as u64, total);
        }
        if i > 0 {
            writer.write_all(b",")?;
        }
        writer.write_all(b"\n")?;
        let props: Map<String, Value> = row
            .cells
            .iter()
            .map(|(k, c)| ((*k).to_string(), c.json()))
            .collect();
        let feature = json!({
            "type": "Feature",
            "properties": props,
            "geometry": row.geometry.as_ref().map_or(Value::Null, geometry_json),
        });
        serde_json::to_writer(&mut writer, &feature)?;
    }
    writer.write_all(b"\n]}\n")?;
    writer.flush()?;
    progress(total, total);
    Ok(())
}

/// Writes `kind` of `dataset` as CSV with a header line.
pub fn write_csv<W: Write>(
    kind: ElementKind,
    dataset: &Dataset,
    writer: W,
    masking: Masking,
) -> Result<(), ExportError> {
    write_csv_with_progress(kind, dataset, writer, masking, Crs::Wgs84, &|_, _| {})
}

/// [`write_csv`] with coordinates in `crs` (the `lon`/`lat` cells and the
/// geometry column alike; a CSV has no place to name it: the caller says so),
/// calling `progress(rows written, rows)` every
/// [`crate::io::import::PROGRESS_EVERY`] rows and at the end.
pub fn write_csv_with_progress<W: Write>(
    kind: ElementKind,
    dataset: &Dataset,
    writer: W,
    masking: Masking,
    crs: Crs,
    progress: &dyn Fn(u64, u64),
) -> Result<(), ExportError> {
    let specs = fields(kind);
    let has = |n: &str| specs.iter().any(|f| f.name == n);
    let rows = in_crs(raw_rows(kind, dataset, masking), crs);
    let mut header: Vec<&str> = rows
        .first()
        .map(|r| r.cells.iter().map(|(k, _)| *k).collect())
        .unwrap_or_else(|| {
            specs
                .iter()
                .map(|f| f.name)
                .filter(|n| !matches!(*n, "lon" | "lat" | "geometry" | "street" | "housenumber"))
                .collect()
        });
    let points = has("lon");
    if points {
        header.extend(["lon", "lat"]);
    }
    if has("geometry") {
        header.push("geometry");
    }
    let mut w = csv::Writer::from_writer(writer);
    w.write_record(&header)?;
    let total = rows.len() as u64;
    for (i, row) in rows.into_iter().enumerate() {
        if i.is_multiple_of(PROGRESS_EVERY) {
            progress(i as u64, total);
        }
        let mut rec: Vec<String> = row.cells.iter().map(|(_, c)| c.csv()).collect();
        match &row.geometry {
            Some(Geometry::Point(p)) if points => {
                rec.push(round7(p.x()).to_string());
                rec.push(round7(p.y()).to_string());
                rec.push(String::new());
            }
            Some(g) => {
                if points {
                    rec.extend([String::new(), String::new()]);
                }
                rec.push(geometry_json(g).to_string());
            }
            None => {}
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    progress(total, total);
    Ok(())
}

/// CSV cells that [`write_csv`] escapes start with one of these.
pub const CSV_INJECTION_PREFIXES: &[char] = &['=', '+', '-', '@', '\t', '\r'];
