//! ESRI Shapefiles as town offices hand them over: `.shp` + `.dbf` with
//! `.prj`, `.cpg` (and `.shx`) beside them, or all of them in a `.zip`.
//!
//! [`read`] turns one into the GeoJSON FeatureCollection text that
//! `geo_core::io::import` reads, so a Shapefile imports exactly like a
//! GeoJSON file of the same kind (same fields, checks and problems; record
//! `n` of the Shapefile is feature `n` of the messages, counted from 0):
//!
//! - **attributes** come from the DBF (`shapefile` and `dbase` crates),
//!   decoded in the encoding the `.cpg` names (`GBK`, `936`, `UTF-8`, any
//!   label `encoding_rs` knows), else the one asked for, else detected: UTF-8
//!   when the whole DBF is valid UTF-8, otherwise GBK (ArcGIS in China writes
//!   GBK without a `.cpg` more often than not);
//! - **the CRS** comes from the `.prj` (WKT): a geographic WGS 84 or
//!   CGCS2000 and the Web Mercator projection become the GeoJSON `crs`
//!   member `EPSG:4326`, `EPSG:4490` or `EPSG:3857`, which the import honours;
//!   any other projection (Gauss–Krüger, UTM, Xian 1980…) is refused naming
//!   it. Without a `.prj` the `crs` option decides;
//! - **shapes**: points, multipoints, polylines and polygons (also with Z or
//!   M, which are dropped); a polygon's outer rings each start a part and its
//!   holes join the part before them; a null shape has no geometry.

use std::io::{Cursor, Read};
use std::path::Path;

use serde_json::{json, Map, Value};
use shapefile::dbase::{self, FieldValue};
use shapefile::{PolygonRing, Shape};

/// A Shapefile read into GeoJSON text.
#[derive(Debug, Clone)]
pub struct Converted {
    /// A GeoJSON FeatureCollection (with a `crs` member when the `.prj`
    /// named one).
    pub geojson: String,
    /// Records read.
    pub features: usize,
    /// The DBF encoding used (`GBK`, `UTF-8`, …) and where it came from.
    pub encoding: String,
    /// The CRS the `.prj` named, as an EPSG name; `None` without a `.prj`.
    pub crs: Option<&'static str>,
}

/// True for the files [`read`] takes: `.shp` or `.zip`.
pub fn is_shapefile(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("shp" | "zip")
    )
}

/// The parts of one Shapefile, read into memory.
struct Parts {
    shp: Vec<u8>,
    dbf: Vec<u8>,
    prj: Option<String>,
    cpg: Option<String>,
}

fn sibling(path: &Path, ext: &str) -> Option<Vec<u8>> {
    [ext.to_string(), ext.to_ascii_uppercase()]
        .iter()
        .find_map(|e| std::fs::read(path.with_extension(e)).ok())
}

fn from_folder(path: &Path, name: &str) -> Result<Parts, String> {
    let shp = std::fs::read(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let dbf = sibling(path, "dbf").ok_or_else(|| {
        format!("{name}: the attribute file {} is missing (a Shapefile is .shp + .dbf, with .prj and .cpg beside them)",
            path.with_extension("dbf").file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default())
    })?;
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    Ok(Parts {
        shp,
        dbf,
        prj: sibling(path, "prj").map(text),
        cpg: sibling(path, "cpg").map(text),
    })
}

fn from_zip(path: &Path, name: &str) -> Result<Parts, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let mut z = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| format!("{name}: not a readable zip archive: {e}"))?;
    let names: Vec<String> = z
        .file_names()
        .map(|n| n.map(|c| c.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{name}: cannot list the zip archive: {e}"))?;
    let shps: Vec<&String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".shp"))
        .collect();
    let stem = match shps.as_slice() {
        [one] => one[..one.len() - 4].to_string(),
        [] => return Err(format!("{name}: the zip archive holds no .shp file")),
        many => {
            return Err(format!(
                "{name}: the zip archive holds {} Shapefiles ({}); import one at a time",
                many.len(),
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let mut part = |ext: &str| -> Result<Option<Vec<u8>>, String> {
        let Some(n) = names.iter().find(|n| {
            n.len() == stem.len() + 4
                && n.starts_with(&stem)
                && n[stem.len()..].eq_ignore_ascii_case(ext)
        }) else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        z.by_name(n)
            .and_then(|mut f| f.read_to_end(&mut buf).map_err(Into::into))
            .map_err(|e| format!("{name}: cannot read {n} from the archive: {e}"))?;
        Ok(Some(buf))
    };
    let shp = part(".shp")?.unwrap_or_default();
    let dbf = part(".dbf")?
        .ok_or_else(|| format!("{name}: the archive has {stem}.shp but no {stem}.dbf"))?;
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    Ok(Parts {
        shp,
        dbf,
        prj: part(".prj")?.map(text),
        cpg: part(".cpg")?.map(text),
    })
}

/// The encoding a `.cpg` label names.
fn cpg_encoding(label: &str) -> Option<&'static encoding_rs::Encoding> {
    let l = label
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_uppercase();
    match l.as_str() {
        "65001" | "UTF8" | "UTF-8" => Some(encoding_rs::UTF_8),
        "936" | "CP936" | "GBK" | "GB2312" | "GB_2312-80" | "GB18030" | "54936" => {
            Some(encoding_rs::GB18030)
        }
        other => encoding_rs::Encoding::for_label(other.as_bytes()),
    }
}

/// The DBF encoding: the `.cpg`'s, else `asked` (`Some(true)` UTF-8,
/// `Some(false)` GBK), else UTF-8 when the whole DBF is valid UTF-8, else GBK.
fn dbf_encoding(
    p: &Parts,
    asked: Option<bool>,
    name: &str,
) -> Result<(&'static encoding_rs::Encoding, String), String> {
    if let Some(label) = &p.cpg {
        let enc = cpg_encoding(label).ok_or_else(|| {
            format!(
                "{name}: the .cpg names the encoding {:?}, which is not known (expected e.g. GBK or UTF-8)",
                label.trim()
            )
        })?;
        let shown = if enc == encoding_rs::GB18030 {
            "GBK".to_string()
        } else {
            enc.name().to_string()
        };
        return Ok((enc, format!("{shown} (from the .cpg)")));
    }
    match asked {
        Some(true) => Ok((encoding_rs::UTF_8, "UTF-8 (as asked)".into())),
        Some(false) => Ok((encoding_rs::GB18030, "GBK (as asked)".into())),
        None if std::str::from_utf8(&p.dbf).is_ok() => {
            Ok((encoding_rs::UTF_8, "UTF-8 (detected; no .cpg)".into()))
        }
        None => Ok((encoding_rs::GB18030, "GBK (detected; no .cpg)".into())),
    }
}

/// The quoted name after `key[` in a WKT text.
fn wkt_name<'a>(wkt: &'a str, key: &str) -> Option<&'a str> {
    let rest = &wkt[wkt.find(key)? + key.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix('[')?
        .trim_start()
        .strip_prefix('"')?;
    rest.split('"').next()
}

/// The EPSG name of the CRS a `.prj` describes, or why it is refused.
fn prj_crs(wkt: &str, name: &str) -> Result<&'static str, String> {
    let norm = |s: &str| s.to_ascii_uppercase().replace([' ', '-'], "_");
    let refuse = |what: &str| {
        format!(
            "{name}: the .prj names the CRS {what:?}; only WGS 84 (EPSG:4326), CGCS2000 \
             (EPSG:4490) and Web Mercator (EPSG:3857) are read: reproject the Shapefile to \
             EPSG:4326 first (QGIS: Export → Save Features As…, CRS EPSG:4326)"
        )
    };
    if let Some(proj) = wkt_name(wkt, "PROJCS").or_else(|| wkt_name(wkt, "PROJCRS")) {
        let p = norm(proj);
        let web = p.contains("WEB_MERCATOR")
            || p.contains("PSEUDO_MERCATOR")
            || p.contains("AUXILIARY_SPHERE")
            || p.contains("3857");
        return if web {
            Ok("EPSG:3857")
        } else {
            Err(refuse(proj))
        };
    }
    let geo = wkt_name(wkt, "GEOGCS")
        .or_else(|| wkt_name(wkt, "GEOGCRS"))
        .ok_or_else(|| {
            format!("{name}: the .prj is not a WKT coordinate system (no GEOGCS or PROJCS)")
        })?;
    let g = norm(geo);
    if g.contains("WGS_1984") || g.contains("WGS_84") || g.contains("WGS84") {
        Ok("EPSG:4326")
    } else if g.contains("CGCS2000") || g.contains("CHINA_GEODETIC_COORDINATE_SYSTEM_2000") {
        Ok("EPSG:4490")
    } else {
        Err(refuse(geo))
    }
}

fn coords<'a>(pts: impl Iterator<Item = (f64, f64)> + 'a) -> Value {
    Value::Array(pts.map(|(x, y)| json!([x, y])).collect())
}

/// Polygon rings (outer starts a part, inner joins the last part).
fn polygon<P>(rings: &[PolygonRing<P>], xy: impl Fn(&P) -> (f64, f64)) -> Value {
    let mut parts: Vec<Vec<Value>> = Vec::new();
    for r in rings {
        let (outer, pts) = match r {
            PolygonRing::Outer(p) => (true, p),
            PolygonRing::Inner(p) => (false, p),
        };
        let ring = coords(pts.iter().map(&xy));
        match parts.last_mut() {
            Some(last) if !outer => last.push(ring),
            _ => parts.push(vec![ring]),
        }
    }
    if parts.len() == 1 {
        json!({"type": "Polygon", "coordinates": parts.pop().unwrap_or_default()})
    } else {
        json!({"type": "MultiPolygon", "coordinates": parts})
    }
}

fn lines<P>(parts: &[Vec<P>], xy: impl Fn(&P) -> (f64, f64)) -> Value {
    if let [one] = parts {
        json!({"type": "LineString", "coordinates": coords(one.iter().map(&xy))})
    } else {
        let ls: Vec<Value> = parts.iter().map(|p| coords(p.iter().map(&xy))).collect();
        json!({"type": "MultiLineString", "coordinates": ls})
    }
}

fn geometry(shape: &Shape) -> Result<Value, &'static str> {
    Ok(match shape {
        Shape::NullShape => Value::Null,
        Shape::Point(p) => json!({"type": "Point", "coordinates": [p.x, p.y]}),
        Shape::PointM(p) => json!({"type": "Point", "coordinates": [p.x, p.y]}),
        Shape::PointZ(p) => json!({"type": "Point", "coordinates": [p.x, p.y]}),
        Shape::Multipoint(m) => {
            json!({"type": "MultiPoint", "coordinates": coords(m.points().iter().map(|p| (p.x, p.y)))})
        }
        Shape::MultipointM(m) => {
            json!({"type": "MultiPoint", "coordinates": coords(m.points().iter().map(|p| (p.x, p.y)))})
        }
        Shape::MultipointZ(m) => {
            json!({"type": "MultiPoint", "coordinates": coords(m.points().iter().map(|p| (p.x, p.y)))})
        }
        Shape::Polyline(l) => lines(l.parts(), |p| (p.x, p.y)),
        Shape::PolylineM(l) => lines(l.parts(), |p| (p.x, p.y)),
        Shape::PolylineZ(l) => lines(l.parts(), |p| (p.x, p.y)),
        Shape::Polygon(g) => polygon(g.rings(), |p| (p.x, p.y)),
        Shape::PolygonM(g) => polygon(g.rings(), |p| (p.x, p.y)),
        Shape::PolygonZ(g) => polygon(g.rings(), |p| (p.x, p.y)),
        Shape::Multipatch(_) => return Err("a multipatch (3-D surface) shape is not read"),
    })
}

fn value(v: FieldValue) -> Value {
    let num = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            json!(f as i64)
        } else {
            json!(f)
        }
    };
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => {
            let t = s.trim();
            if t.is_empty() {
                Value::Null
            } else {
                Value::String(t.to_string())
            }
        }
        FieldValue::Numeric(Some(f)) | FieldValue::Double(f) | FieldValue::Currency(f) => num(f),
        FieldValue::Float(Some(f)) => num(f64::from(f)),
        FieldValue::Integer(i) => json!(i),
        FieldValue::Logical(Some(b)) => json!(b),
        FieldValue::Date(Some(d)) => {
            Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }
        _ => Value::Null,
    }
}

/// Reads the Shapefile at `path` (`.shp` with its siblings, or a `.zip`)
/// into GeoJSON text. `utf8` forces the DBF encoding when there is no
/// `.cpg` (`Some(true)` UTF-8, `Some(false)` GBK; `None` detects). Every
/// error names the file and, for a record, its number.
pub fn read(path: &Path, utf8: Option<bool>) -> Result<Converted, String> {
    let name = path.display().to_string();
    let zipped = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let parts = if zipped {
        from_zip(path, &name)?
    } else {
        from_folder(path, &name)?
    };
    let crs = parts
        .prj
        .as_deref()
        .map(|w| prj_crs(w, &name))
        .transpose()?;
    let (encoding, how) = dbf_encoding(&parts, utf8, &name)?;
    let shapes = shapefile::ShapeReader::new(Cursor::new(parts.shp))
        .map_err(|e| format!("{name}: not a readable .shp: {e}"))?;
    let dbf = dbase::Reader::new_with_encoding(
        Cursor::new(parts.dbf),
        dbase::encoding::EncodingRs::from(encoding),
    )
    .map_err(|e| format!("{name}: the .dbf is not readable ({how}): {e}"))?;
    let mut reader = shapefile::Reader::new(shapes, dbf);
    let mut features = Vec::new();
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) =
            item.map_err(|e| format!("{name}: feature {i}: cannot read the record: {e}"))?;
        let geometry = geometry(&shape).map_err(|e| format!("{name}: feature {i}: {e}"))?;
        let properties: Map<String, Value> = record
            .into_iter()
            .map(|(k, v)| (k.trim().to_string(), value(v)))
            .collect();
        features.push(json!({"type": "Feature", "properties": properties, "geometry": geometry}));
    }
    let mut doc = Map::new();
    doc.insert("type".into(), json!("FeatureCollection"));
    if let Some(c) = crs {
        doc.insert(
            "crs".into(),
            json!({"type": "name", "properties": {"name": c}}),
        );
    }
    let n = features.len();
    doc.insert("features".into(), Value::Array(features));
    Ok(Converted {
        geojson: Value::Object(doc).to_string(),
        features: n,
        encoding: how,
        crs,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prj_names() {
        let wgs = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]]"#;
        assert_eq!(prj_crs(wgs, "f").unwrap(), "EPSG:4326");
        let cgcs = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000"]]"#;
        assert_eq!(prj_crs(cgcs, "f").unwrap(), "EPSG:4490");
        let web = r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984"]]"#;
        assert_eq!(prj_crs(web, "f").unwrap(), "EPSG:3857");
        let gk = r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000"]]"#;
        let e = prj_crs(gk, "a.shp").unwrap_err();
        assert!(
            e.contains("a.shp") && e.contains("CGCS2000_3_Degree_GK_CM_120E"),
            "{e}"
        );
    }

    #[test]
    fn cpg_labels() {
        assert_eq!(cpg_encoding("GBK\n"), Some(encoding_rs::GB18030));
        assert_eq!(cpg_encoding("936"), Some(encoding_rs::GB18030));
        assert_eq!(cpg_encoding("UTF-8"), Some(encoding_rs::UTF_8));
        assert_eq!(cpg_encoding("nonsense"), None);
    }
}
