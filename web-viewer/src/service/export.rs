//! Element exports in every format, for `wangge export` and the downloads of
//! `GET /api/v1/{kind}?format=`: which formats there are, the XLSX sheet of
//! an element list, GeoParquet as bytes, and writing a file so that an
//! existing one is replaced whole or not at all.
//!
//! The rows are [`geo_core::io::export::Row`]s, masked before they get here:
//! the CLI takes them from [`geo_core::io::export::rows`], the API from the
//! features each caller may see ([`crate::service::features`]), so every
//! format of one list holds the same cells.

use std::fs;
use std::path::{Path, PathBuf};

use analytics::table::{Cell as XCell, Workbook};
use geo::InteriorPoint;
use geo_core::io::export::{escape_formula, Cell, ExportError, Row};
use geo_core::io::{fields, ElementKind, Masking};
use geo_types::Geometry;

/// A format of an element export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 7946 GeoJSON.
    GeoJson,
    /// CSV, formula-escaped.
    Csv,
    /// GeoParquet 1.0 (WKB geometry).
    GeoParquet,
    /// An Excel workbook of one sheet.
    Xlsx,
}

impl ExportFormat {
    /// Every format, as named on the command line and in `format=`.
    pub const NAMES: &'static str = "geojson, csv, geoparquet or xlsx";

    /// The format named `s` (`json` is GeoJSON, `parquet` GeoParquet).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "geojson" | "json" => Ok(Self::GeoJson),
            "csv" => Ok(Self::Csv),
            "geoparquet" | "parquet" => Ok(Self::GeoParquet),
            "xlsx" => Ok(Self::Xlsx),
            other => Err(format!("{other:?}: expected {}", Self::NAMES)),
        }
    }

    /// The format's name.
    pub fn code(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::Csv => "csv",
            Self::GeoParquet => "geoparquet",
            Self::Xlsx => "xlsx",
        }
    }

    /// The media type of a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::GeoJson => "application/geo+json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::GeoParquet => "application/vnd.apache.parquet",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::Csv => "csv",
            Self::GeoParquet => "parquet",
            Self::Xlsx => "xlsx",
        }
    }

    /// True for the binary formats, which are never written to a terminal.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::GeoParquet | Self::Xlsx)
    }
}

/// The audit line's detail of an export, the one wording of the CLI's and
/// the API's: `persons as xlsx (Mask)`, with `; reason: …` when revealed.
pub fn audit_detail(
    kind: &str,
    format: ExportFormat,
    masking: Masking,
    rows: Option<usize>,
    reason: Option<&str>,
) -> String {
    format!(
        "{kind} as {} ({masking:?}){}{}",
        format.code(),
        rows.map(|n| format!(", {n} rows")).unwrap_or_default(),
        reason.map(|r| format!("; reason: {r}")).unwrap_or_default()
    )
}

/// The bytes of a download of `rows` of `kind` in `format` (GeoParquet or
/// XLSX; the text formats are written by their streaming writers).
pub fn bytes(
    kind: ElementKind,
    format: ExportFormat,
    rows: &[Row],
) -> Result<Vec<u8>, ExportError> {
    check_format(kind, format)?;
    match format {
        ExportFormat::GeoParquet => geoparquet(rows),
        ExportFormat::Xlsx => xlsx(kind, rows),
        ExportFormat::GeoJson | ExportFormat::Csv => Err(ExportError::Io(std::io::Error::other(
            format!("{} is written by its streaming writer", format.code()),
        ))),
    }
}

/// True when elements of `kind` have a geometry (so a GeoParquet file).
pub fn has_geometry(kind: ElementKind) -> bool {
    !matches!(
        kind,
        ElementKind::Persons | ElementKind::Households | ElementKind::Sentiments
    )
}

/// Refuses GeoParquet for a kind without geometry.
pub fn check_format(kind: ElementKind, format: ExportFormat) -> Result<(), ExportError> {
    if format == ExportFormat::GeoParquet && !has_geometry(kind) {
        return Err(ExportError::NoGeometry {
            kind: kind.as_str(),
            format: format.code(),
        });
    }
    Ok(())
}

/// The readable header of a field: its Chinese name from the import's
/// aliases ([`fields::fields`]) and the field code, `姓名 name`; the code
/// alone when the field has no Chinese name.
fn header(kind: ElementKind, name: &str) -> String {
    let label = fields::fields(kind)
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.aliases.iter().find(|a| !a.is_ascii()));
    match label {
        Some(l) => format!("{l} {name}"),
        None => name.to_string(),
    }
}

fn xcell(c: &Cell) -> XCell {
    match c {
        Cell::Null => XCell::Empty,
        Cell::Int(i) => XCell::Int(*i),
        Cell::Float(f) => f.parse().map_or(XCell::Empty, XCell::Float),
        // Text as the CSV writes it, formula-escaped.
        other => XCell::Text(match other {
            Cell::Text(s) => escape_formula(s),
            other => other.csv(),
        }),
    }
}

/// The point of a row in the sheet: a point itself, else a point inside
/// the area or on the line.
fn point_of(g: &Geometry<f64>) -> Option<geo_types::Point<f64>> {
    match g {
        Geometry::Point(p) => Some(*p),
        other => other.interior_point(),
    }
}

/// The XLSX workbook (one sheet named after the kind) of `rows`: readable
/// headers, numbers as numbers, text formula-escaped as the CSV is, and for
/// kinds with geometry `lon`/`lat` of each element's point (its point, or a
/// point inside its area or on its line: a sheet holds no shapes, the
/// GeoJSON and GeoParquet do).
pub fn xlsx(kind: ElementKind, rows: &[Row]) -> Result<Vec<u8>, ExportError> {
    let names: Vec<&str> = match rows.first() {
        Some(r) => r.cells.iter().map(|(k, _)| k.as_str()).collect(),
        None => fields::fields(kind)
            .iter()
            .map(|f| f.name)
            .filter(|n| !matches!(*n, "lon" | "lat" | "geometry" | "street" | "housenumber"))
            .collect(),
    };
    let geo = has_geometry(kind);
    let mut headers: Vec<String> = names.iter().map(|n| header(kind, n)).collect();
    if geo {
        headers.push(header(kind, "lon"));
        headers.push(header(kind, "lat"));
    }
    let cells = rows.iter().map(|r| {
        let mut out: Vec<XCell> = r.cells.iter().map(|(_, c)| xcell(c)).collect();
        if geo {
            let p = r.geometry.as_ref().and_then(point_of);
            out.push(p.map_or(XCell::Empty, |p| XCell::Float(round7(p.x()))));
            out.push(p.map_or(XCell::Empty, |p| XCell::Float(round7(p.y()))));
        }
        out
    });
    let mut wb = Workbook::new();
    wb.sheet_of(&headers, cells, kind.as_str())
        .map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))?;
    wb.to_bytes()
        .map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// A path beside `path` for writing before the rename: hidden, random.
fn temp_beside(path: &Path) -> PathBuf {
    let mut b = [0u8; 8];
    // Unpredictable is not needed, only distinct; the time and process ID
    // stand in should the OS generator fail.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b = (t ^ u64::from(std::process::id())).to_le_bytes();
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{hex}.tmp"))
}

/// Writes a file at `path` through `write` (given a temporary path beside
/// it) and renames it into place: an existing file is replaced whole or, when
/// writing fails, left as it was; the temporary file is removed on failure.
pub fn write_replacing<T>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<T, ExportError>,
) -> Result<T, ExportError> {
    let tmp = temp_beside(path);
    let done = write(&tmp).and_then(|t| {
        fs::rename(&tmp, path)?;
        Ok(t)
    });
    if done.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    done
}

/// The GeoParquet file of `rows` as bytes (written through DuckDB to a
/// temporary file, read, and removed).
pub fn geoparquet(rows: &[Row]) -> Result<Vec<u8>, ExportError> {
    let tmp = temp_beside(&std::env::temp_dir().join("wangge-export.parquet"));
    let done =
        geo_core::io::geoparquet::write_geoparquet(rows, &tmp).and_then(|_| Ok(fs::read(&tmp)?));
    let _ = fs::remove_file(&tmp);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_refuse_with_the_list() {
        assert_eq!(ExportFormat::parse("parquet"), Ok(ExportFormat::GeoParquet));
        assert_eq!(ExportFormat::parse("xlsx"), Ok(ExportFormat::Xlsx));
        assert!(ExportFormat::parse("shp")
            .unwrap_err()
            .contains("geoparquet"));
        assert!(check_format(ElementKind::Persons, ExportFormat::GeoParquet).is_err());
        assert!(check_format(ElementKind::Persons, ExportFormat::Xlsx).is_ok());
    }

    #[test]
    fn headers_carry_the_chinese_name_and_the_code() {
        assert_eq!(
            header(ElementKind::Persons, "national_id"),
            "身份证号 national_id"
        );
        assert_eq!(header(ElementKind::Buildings, "zzz"), "zzz");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = std::env::temp_dir().join(format!("wangge-replace-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.csv");
        fs::write(&p, "old").unwrap();
        let r: Result<(), _> = write_replacing(&p, |t| {
            fs::write(t, "half")?;
            Err(ExportError::Parquet("boom".into()))
        });
        assert!(r.is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        write_replacing(&p, |t| Ok(fs::write(t, "new")?)).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        fs::remove_dir_all(&dir).unwrap();
    }
}
