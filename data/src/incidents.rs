//! Foreign incident CSV import: police or hotline records of another system
//! turned into [`Event`]s of the taxonomy.
//!
//! [`read_events`] reads a CSV file, gzip-compressed or not (detected by its
//! magic bytes, not its name), encoded in UTF-8 or GBK (declared, or detected
//! with `chardetng`). [`IncidentOptions`] names the columns; a
//! [`CategoryMap`] loaded from TOML maps the source's categories onto
//! taxonomy codes:
//!
//! ```toml
//! # optional: where categories missing from [map] go (they are counted)
//! default = "09.01"
//! [map]
//! "LARCENY/THEFT" = "06.01"
//! "FRAUD" = "06.02"
//! ```
//!
//! Times are local times of [`IncidentOptions::time_zone`] unless they carry
//! an offset; the format is detected per value among the usual ones
//! (`2015-05-13 23:53:00`, ISO 8601 / RFC 3339, `05/13/2015 11:53:00 PM`,
//! `2015/5/13 23:53`, `2015年5月13日 23:53`…) or given explicitly.
//!
//! Nothing is dropped silently: unmapped categories are counted in the
//! report (or refused, listed with their counts, when the map has no
//! default), and a bad row either fails the import naming file, line, column
//! and value, or — with [`IncidentOptions::skip_bad_rows`] — is skipped and
//! recorded in the report (with [`IncidentOptions::keep_rejects`], with all
//! its fields, for a rejects file). Without it every row is still read, so
//! the error counts all bad rows per [`Problem`]. Rows without coordinates
//! but with an address are a problem of their own: there is no geocoder
//! here.
//!
//! The whole file is decoded in memory (about twice its uncompressed size);
//! gzip input is inflated while streaming and refused with
//! [`IncidentError::TooLarge`] once it passes a byte cap or a compression
//! ratio ([`IncidentOptions::max_inflated_bytes`], [`IncidentOptions::max_ratio`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use encoding_rs::Encoding;
use geo_core::ids::EventId;
use geo_core::model::{Event, EventSource, EventStatus};
use geo_core::taxonomy::EventCategory;
use geo_types::Point;
use serde::Deserialize;
use thiserror::Error;

/// Maps the categories of a source onto taxonomy codes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CategoryMap {
    /// Source category (normalised: trimmed, upper case) → taxonomy category.
    map: HashMap<String, EventCategory>,
    /// Where unmapped categories go, if anywhere.
    default: Option<EventCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryMapFile {
    default: Option<String>,
    #[serde(default)]
    map: BTreeMap<String, String>,
}

fn normalise(s: &str) -> String {
    s.trim().to_uppercase()
}

impl CategoryMap {
    /// Parses the TOML form; `origin` names the file in errors.
    ///
    /// ```
    /// use wangge_data::incidents::CategoryMap;
    /// let m = CategoryMap::from_toml_str("default = \"09.01\"\n[map]\n\"FRAUD\" = \"06.02\"\n", "inline").unwrap();
    /// assert_eq!(m.get("fraud").unwrap().code(), "06.02");
    /// assert_eq!(m.default_category().unwrap().code(), "09.01");
    /// ```
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, IncidentError> {
        let file: CategoryMapFile = toml::from_str(text).map_err(|e| IncidentError::MapSyntax {
            origin: origin.to_string(),
            reason: e.to_string(),
        })?;
        let parse = |key: &str, code: &str| {
            EventCategory::parse(code).map_err(|e| IncidentError::MapEntry {
                origin: origin.to_string(),
                key: key.to_string(),
                value: code.to_string(),
                reason: e.to_string(),
            })
        };
        let default = file
            .default
            .as_deref()
            .map(|d| parse("default", d))
            .transpose()?;
        let mut map = HashMap::with_capacity(file.map.len());
        for (k, v) in &file.map {
            let cat = parse(k, v)?;
            if let Some(prev) = map.insert(normalise(k), cat) {
                if prev != cat {
                    return Err(IncidentError::MapEntry {
                        origin: origin.to_string(),
                        key: k.clone(),
                        value: v.clone(),
                        reason: format!(
                            "the key differs only in case or spaces from another mapped to {prev}"
                        ),
                    });
                }
            }
        }
        Ok(Self { map, default })
    }

    /// Loads a TOML map file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, IncidentError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| IncidentError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// The map shipped for the San Francisco incident extract
    /// (`data/maps/sf-incidents.toml`, 39 SFPD categories).
    pub fn sf_incidents() -> Result<Self, IncidentError> {
        Self::from_toml_str(
            include_str!("../maps/sf-incidents.toml"),
            "data/maps/sf-incidents.toml",
        )
    }

    /// Adds or replaces one entry.
    pub fn insert(&mut self, source: &str, category: EventCategory) {
        self.map.insert(normalise(source), category);
    }

    /// Sets the category for unmapped source categories.
    pub fn set_default(&mut self, category: Option<EventCategory>) {
        self.default = category;
    }

    /// The mapped category of a source category (case-insensitive), without
    /// the default.
    pub fn get(&self, source: &str) -> Option<EventCategory> {
        self.map.get(&normalise(source)).copied()
    }

    /// The explicit entries, sorted by (normalised, upper-case) source
    /// category.
    pub fn entries(&self) -> impl Iterator<Item = (&str, EventCategory)> {
        let mut v: Vec<_> = self.map.iter().map(|(k, c)| (k.as_str(), *c)).collect();
        v.sort_unstable();
        v.into_iter()
    }

    /// The default category.
    pub fn default_category(&self) -> Option<EventCategory> {
        self.default
    }

    /// Number of explicit entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the map has no explicit entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// How the file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8 when the bytes are valid UTF-8, else what `chardetng` guesses.
    #[default]
    Auto,
    /// UTF-8 (a BOM is allowed); invalid bytes fail the import.
    Utf8,
    /// GBK (decoded as its superset GB18030).
    Gbk,
}

/// How times are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// Detected per value among the usual formats (see the module doc).
    /// Slash dates are read month first (`05/13/2015`) and day first only
    /// when month first cannot be a date.
    #[default]
    Auto,
    /// A `chrono` strftime format of a local time, e.g. `%d.%m.%Y %H:%M`.
    Custom(String),
}

/// How a resolution column tells a closed event from an open one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionRule {
    /// The column.
    pub column: String,
    /// Values (compared trimmed, case-insensitive) that mean "not resolved";
    /// any other non-empty value means closed (unless `closed_values` is set).
    pub open_values: Vec<String>,
    /// When not empty, only these values (trimmed, case-insensitive) mean
    /// closed and every other value open; `open_values` is then not used.
    pub closed_values: Vec<String>,
}

impl ResolutionRule {
    /// A rule on `column` with the usual open values (`NONE`, `OPEN`,
    /// `PENDING`, `UNRESOLVED`, `未办结`, `处理中`, `待处理`, empty).
    pub fn new(column: &str) -> Self {
        Self {
            column: column.to_string(),
            open_values: [
                "NONE",
                "OPEN",
                "PENDING",
                "UNRESOLVED",
                "未办结",
                "处理中",
                "待处理",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            closed_values: Vec::new(),
        }
    }

    /// True when the value `v` of the column means the incident is closed.
    ///
    /// ```
    /// use wangge_data::incidents::ResolutionRule;
    /// let mut r = ResolutionRule::new("status");
    /// assert!(r.is_closed("ARREST, BOOKED") && !r.is_closed(" none "));
    /// r.closed_values = vec!["办结".into(), "closed".into()];
    /// assert!(r.is_closed("CLOSED") && !r.is_closed("ARREST, BOOKED"));
    /// ```
    pub fn is_closed(&self, v: &str) -> bool {
        let v = v.trim();
        if !self.closed_values.is_empty() {
            return self
                .closed_values
                .iter()
                .any(|c| c.trim().eq_ignore_ascii_case(v));
        }
        !v.is_empty()
            && !self
                .open_values
                .iter()
                .any(|o| o.trim().eq_ignore_ascii_case(v))
    }
}

/// What to read and how.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentOptions {
    /// Column holding the report time.
    pub time_column: String,
    /// Column holding the longitude (WGS84).
    pub lon_column: String,
    /// Column holding the latitude (WGS84).
    pub lat_column: String,
    /// Column holding the source category.
    pub category_column: String,
    /// Column holding a description, used as the event title.
    pub description_column: Option<String>,
    /// Column holding a positive integer ID; without it events are numbered
    /// by row from `first_id`.
    pub id_column: Option<String>,
    /// First ID when numbering by row.
    pub first_id: u64,
    /// Resolution column: closed events get status `closed`, others `reported`.
    pub resolution: Option<ResolutionRule>,
    /// Category map.
    pub categories: CategoryMap,
    /// Time zone of local times. Default Asia/Shanghai.
    pub time_zone: Tz,
    /// Time format.
    pub time_format: TimeFormat,
    /// Encoding.
    pub encoding: TextEncoding,
    /// Field delimiter. Default `,`.
    pub delimiter: u8,
    /// Column holding a street address. Only used to tell rows without
    /// coordinates but with an address ([`Problem::AddressOnly`]) from rows
    /// with neither: this crate has no geocoder.
    pub address_column: Option<String>,
    /// Skip bad rows (recording them) instead of failing.
    pub skip_bad_rows: bool,
    /// With `skip_bad_rows`: keep every skipped row's fields in
    /// [`IncidentReport::rejects`] (for a rejects file).
    pub keep_rejects: bool,
    /// How many bad rows to keep in the report (all are counted).
    pub max_row_errors: usize,
    /// Source given to every event. Default hotline.
    pub source: EventSource,
    /// Gzip input: refuse once the inflated text passes this many bytes.
    /// Default [`DEFAULT_MAX_INFLATED_BYTES`].
    pub max_inflated_bytes: u64,
    /// Gzip input: refuse once the inflated text passes this many times the
    /// compressed size (a decompression bomb). Default [`DEFAULT_MAX_RATIO`].
    pub max_ratio: u64,
}

/// Default [`IncidentOptions::max_inflated_bytes`]: 1 GiB.
pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 1 << 30;
/// Default [`IncidentOptions::max_ratio`]: CSV text compresses 5–20 times;
/// 100 leaves room for repetitive columns and refuses bombs (1 MB → 1 GiB is
/// 1,000).
pub const DEFAULT_MAX_RATIO: u64 = 100;
/// The ratio cap only applies past this many inflated bytes, so a small,
/// very repetitive file is not refused.
const RATIO_FLOOR_BYTES: u64 = 16 << 20;

impl IncidentOptions {
    /// Options for a file with these time, longitude, latitude and category
    /// columns; everything else at its default.
    pub fn new(time: &str, lon: &str, lat: &str, category: &str, categories: CategoryMap) -> Self {
        Self {
            time_column: time.to_string(),
            lon_column: lon.to_string(),
            lat_column: lat.to_string(),
            category_column: category.to_string(),
            description_column: None,
            id_column: None,
            first_id: 1,
            resolution: None,
            categories,
            time_zone: chrono_tz::Asia::Shanghai,
            time_format: TimeFormat::Auto,
            encoding: TextEncoding::Auto,
            delimiter: b',',
            address_column: None,
            skip_bad_rows: false,
            keep_rejects: false,
            max_row_errors: 100,
            source: EventSource::Hotline,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
        }
    }

    /// Options for the San Francisco police incident extract (columns
    /// `datetime,category,descript,…,resolution,address,lon,lat`, Pacific
    /// time, the shipped category map, source patrol).
    pub fn sf_incidents() -> Result<Self, IncidentError> {
        let mut o = Self::new(
            "datetime",
            "lon",
            "lat",
            "category",
            CategoryMap::sf_incidents()?,
        );
        o.description_column = Some("descript".into());
        o.address_column = Some("address".into());
        o.resolution = Some(ResolutionRule::new("resolution"));
        o.time_zone = chrono_tz::America::Los_Angeles;
        o.source = EventSource::Patrol;
        Ok(o)
    }
}

/// Why a row was refused: the counts per problem are in
/// [`IncidentReport::problems`] and in the error without `skip_bad_rows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    /// The category cell is empty.
    EmptyCategory,
    /// Longitude and latitude are empty and so is the address (or there is
    /// no address column).
    NoLocation,
    /// Longitude and latitude are empty but the row has an address: it
    /// needs geocoding, which this importer does not do.
    AddressOnly,
    /// A coordinate is not a number.
    CoordinateNotANumber,
    /// A coordinate is outside ±180 / ±90.
    CoordinateOutOfRange,
    /// The time cell is not a time.
    BadTime,
    /// The ID cell is not an event ID.
    BadId,
}

impl Problem {
    /// Stable code (the rejects file's `reject_reason` column).
    pub fn code(self) -> &'static str {
        match self {
            Problem::EmptyCategory => "empty_category",
            Problem::NoLocation => "no_location",
            Problem::AddressOnly => "address_only",
            Problem::CoordinateNotANumber => "coordinate_not_a_number",
            Problem::CoordinateOutOfRange => "coordinate_out_of_range",
            Problem::BadTime => "bad_time",
            Problem::BadId => "bad_id",
        }
    }

    /// What it means, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Problem::EmptyCategory => "no category",
            Problem::NoLocation => "no coordinates and no address",
            Problem::AddressOnly => {
                "no coordinates, only an address (geocoding is out of scope: add lon/lat)"
            }
            Problem::CoordinateNotANumber => "a coordinate that is not a number",
            Problem::CoordinateOutOfRange => "a coordinate out of range",
            Problem::BadTime => "a time that does not parse",
            Problem::BadId => "an ID that is not an event ID",
        }
    }
}

/// A skipped row with every field as read (for a rejects file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub error: RowError,
    /// The row's fields, in the header's order.
    pub fields: Vec<String>,
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// What kind of problem.
    pub problem: Problem,
    /// 1-based line in the file.
    pub line: u64,
    /// Column name.
    pub column: String,
    /// The value found.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {:?}: value {:?} {}",
            self.line, self.column, self.value, self.reason
        )
    }
}

/// What the import found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentReport {
    /// Data rows read (without the header).
    pub rows: u64,
    /// Events produced.
    pub events: u64,
    /// Encoding used (`UTF-8`, `GBK`…).
    pub encoding: String,
    /// True when the file was gzip-compressed.
    pub gzip: bool,
    /// Events per source category that was mapped explicitly.
    pub mapped: BTreeMap<String, u64>,
    /// Source categories not in the map, sent to the default, with counts.
    pub unmapped: BTreeMap<String, u64>,
    /// Events per taxonomy code.
    pub by_category: BTreeMap<String, u64>,
    /// Events with status closed.
    pub closed: u64,
    /// Local times in a daylight-saving overlap (the earlier one was taken).
    pub ambiguous_times: u64,
    /// Local times in a daylight-saving gap (shifted one hour later).
    pub nonexistent_times: u64,
    /// Bad rows skipped (only with `skip_bad_rows`).
    pub skipped_rows: u64,
    /// Bad rows per problem.
    pub problems: BTreeMap<Problem, u64>,
    /// The first `max_row_errors` bad rows.
    pub row_errors: Vec<RowError>,
    /// Every skipped row (only with `skip_bad_rows` and `keep_rejects`).
    pub rejects: Vec<Rejected>,
    /// The file's header (the rejects file's first columns).
    pub header: Vec<String>,
    /// Earliest report time.
    pub first: Option<DateTime<Utc>>,
    /// Latest report time.
    pub last: Option<DateTime<Utc>>,
}

impl fmt::Display for IncidentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} rows, {} events ({}{}), {} closed",
            self.rows,
            self.events,
            self.encoding,
            if self.gzip { ", gzip" } else { "" },
            self.closed
        )?;
        if let (Some(a), Some(b)) = (self.first, self.last) {
            writeln!(f, "from {a} to {b}")?;
        }
        writeln!(
            f,
            "{} source categories mapped, {} unmapped",
            self.mapped.len(),
            self.unmapped.len()
        )?;
        for (c, n) in &self.unmapped {
            writeln!(f, "  unmapped {c:?}: {n} events sent to the default")?;
        }
        for (c, n) in &self.by_category {
            writeln!(f, "  {c}: {n}")?;
        }
        if self.ambiguous_times + self.nonexistent_times > 0 {
            writeln!(
                f,
                "{} ambiguous and {} nonexistent local times (daylight saving)",
                self.ambiguous_times, self.nonexistent_times
            )?;
        }
        if self.skipped_rows > 0 {
            writeln!(f, "{} bad rows skipped:", self.skipped_rows)?;
            for (p, n) in &self.problems {
                writeln!(f, "  {n} with {} ({})", p.describe(), p.code())?;
            }
            writeln!(f, "first ones:")?;
            for e in &self.row_errors {
                writeln!(f, "  {e}")?;
            }
        }
        Ok(())
    }
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentImport {
    /// The events, in file order.
    pub events: Vec<Event>,
    /// What was found.
    pub report: IncidentReport,
}

/// An import failure.
#[derive(Debug, Error)]
pub enum IncidentError {
    /// The file could not be read or decompressed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A gzip file inflates past the byte or ratio cap.
    #[error("{path}: gzip data inflates past {limit} ({compressed} bytes compressed); refused as a possible decompression bomb: raise the limit or import the file uncompressed in parts")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Which cap was passed, in words.
        limit: String,
        /// Compressed size in bytes.
        compressed: u64,
    },
    /// The category map is not valid TOML of the expected shape.
    #[error("category map {origin}: {reason}")]
    MapSyntax {
        /// The map file.
        origin: String,
        /// The parser's message.
        reason: String,
    },
    /// A category map entry names no taxonomy category.
    #[error("category map {origin}: entry {key:?} = {value:?}: {reason}")]
    MapEntry {
        /// The map file.
        origin: String,
        /// The source category.
        key: String,
        /// The code given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// The bytes are not in the declared encoding.
    #[error("{path} is not valid {declared} at byte {offset} (line {line}); it looks like {detected}: declare that encoding or use auto-detection")]
    Encoding {
        /// The file.
        path: PathBuf,
        /// The declared encoding.
        declared: &'static str,
        /// Byte offset of the first invalid sequence.
        offset: usize,
        /// Its 1-based line.
        line: u64,
        /// What `chardetng` guesses.
        detected: &'static str,
    },
    /// A named column is not in the header.
    #[error("{path}: no column {column:?} in the header; columns are: {available}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The header's columns.
        available: String,
    },
    /// The CSV structure is broken.
    #[error("{path}: line {line}: malformed CSV: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The parser's message.
        reason: String,
    },
    /// Bad rows (without `skip_bad_rows`): every row was read, none is
    /// stored.
    #[error("{path}: {count} bad rows ({per}); the first: {first}. Fix them, or store the good rows with --skip-bad-rows (and --rejects FILE to keep the bad ones)", per = list_problems(problems))]
    BadRows {
        /// The file.
        path: PathBuf,
        /// How many.
        count: u64,
        /// Per problem.
        problems: BTreeMap<Problem, u64>,
        /// The first bad row.
        first: Box<RowError>,
    },
    /// Categories missing from a map without default.
    #[error("{path}: {n} source categories are not in the category map and it has no default; add them to [map] or set `default`: {list}", n = categories.len(), list = list_counts(categories))]
    UnmappedCategories {
        /// The file.
        path: PathBuf,
        /// Each unmapped category with its number of rows.
        categories: Vec<(String, u64)>,
    },
}

/// The 1-based line of a record from its byte offset. The csv crate's own
/// line number is one short for files with CRLF line ends (a Windows
/// export): it places a record's start on the `\n` left over from the
/// previous line's `\r\n`. Offsets only grow, so the count is incremental.
#[derive(Default)]
struct LineCounter {
    byte: usize,
    newlines: u64,
}

impl LineCounter {
    fn line_at(&mut self, text: &[u8], byte: usize) -> u64 {
        let byte = byte.min(text.len());
        if byte >= self.byte {
            self.newlines += count_newlines(&text[self.byte..byte]);
            self.byte = byte;
        }
        // Line ends before the record's first byte belong to earlier lines.
        let lead = text[byte..]
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|b| **b == b'\n')
            .count() as u64;
        1 + self.newlines + lead
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

fn list_problems(p: &BTreeMap<Problem, u64>) -> String {
    p.iter()
        .map(|(k, n)| format!("{n} with {}", k.describe()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_counts(c: &[(String, u64)]) -> String {
    c.iter()
        .map(|(k, n)| format!("{k:?} ({n} rows)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the file, gunzipping when it starts with the gzip magic bytes.
fn read_bytes(path: &Path, options: &IncidentOptions) -> Result<(Vec<u8>, bool), IncidentError> {
    let raw = std::fs::read(path).map_err(|source| IncidentError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    inflate(path, raw, options)
}

/// The text bytes of `raw`: inflated while streaming when it starts with the
/// gzip magic bytes, refused as soon as it passes
/// [`IncidentOptions::max_inflated_bytes`] or [`IncidentOptions::max_ratio`]
/// times its compressed size (memory stays bounded by the cap).
fn inflate(
    path: &Path,
    raw: Vec<u8>,
    options: &IncidentOptions,
) -> Result<(Vec<u8>, bool), IncidentError> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok((raw, false));
    }
    let compressed = raw.len() as u64;
    let by_ratio = compressed
        .saturating_mul(options.max_ratio)
        .max(RATIO_FLOOR_BYTES);
    let cap = options.max_inflated_bytes.min(by_ratio);
    let mut out = Vec::with_capacity(raw.len().saturating_mul(6).min(cap as usize));
    let mut dec = flate2::read::MultiGzDecoder::new(raw.as_slice());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = dec.read(&mut buf).map_err(|source| IncidentError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            return Ok((out, true));
        }
        if (out.len() + n) as u64 > cap {
            let limit = if cap == options.max_inflated_bytes {
                format!("the cap of {cap} bytes")
            } else {
                format!(
                    "{} times its compressed size ({cap} bytes)",
                    options.max_ratio
                )
            };
            return Err(IncidentError::TooLarge {
                path: path.to_path_buf(),
                limit,
                compressed,
            });
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn guess_encoding(bytes: &[u8]) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let sample = &bytes[..bytes.len().min(1 << 20)];
    det.feed(sample, sample.len() == bytes.len());
    det.guess(None, chardetng::Utf8Detection::Deny)
}

/// Decodes to text, returning the encoding's name.
fn decode(
    path: &Path,
    bytes: Vec<u8>,
    enc: TextEncoding,
) -> Result<(String, String), IncidentError> {
    let strip_bom = |mut s: String| {
        if s.starts_with('\u{feff}') {
            s.drain(..3);
        }
        s
    };
    let as_utf8 = |bytes: Vec<u8>| String::from_utf8(bytes).map(strip_bom);
    match enc {
        TextEncoding::Utf8 => as_utf8(bytes)
            .map(|s| (s, "UTF-8".to_string()))
            .map_err(|e| {
                let offset = e.utf8_error().valid_up_to();
                let bytes = e.as_bytes();
                let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
                IncidentError::Encoding {
                    path: path.to_path_buf(),
                    declared: "UTF-8",
                    offset,
                    line,
                    detected: guess_encoding(bytes).name(),
                }
            }),
        TextEncoding::Gbk => {
            let (text, _, _) = encoding_rs::GBK.decode(&bytes);
            Ok((strip_bom(text.into_owned()), "GBK".to_string()))
        }
        TextEncoding::Auto => match as_utf8(bytes) {
            Ok(s) => Ok((s, "UTF-8".to_string())),
            Err(e) => {
                let bytes = e.into_bytes();
                let enc = guess_encoding(&bytes);
                let (text, _, _) = enc.decode(&bytes);
                Ok((text.into_owned(), enc.name().to_string()))
            }
        },
    }
}

/// Naive formats tried by [`TimeFormat::Auto`], most common first.
const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y%m%d%H%M%S",
];
const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%Y年%m月%d日"];

/// Parses times, remembering the last format that worked.
struct TimeParser {
    tz: Tz,
    custom: Option<String>,
    last: usize,
    ambiguous: u64,
    nonexistent: u64,
}

impl TimeParser {
    fn parse(&mut self, s: &str) -> Result<DateTime<Utc>, &'static str> {
        let s = s.trim();
        if let Some(fmt) = &self.custom {
            let n = NaiveDateTime::parse_from_str(s, fmt)
                .map_err(|_| "does not match the given time format")?;
            return Ok(self.local(n));
        }
        if let Ok(n) = NaiveDateTime::parse_from_str(s, NAIVE_FORMATS[self.last]) {
            return Ok(self.local(n));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(t.with_timezone(&Utc));
        }
        if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%z") {
            return Ok(t.with_timezone(&Utc));
        }
        for (i, f) in NAIVE_FORMATS.iter().enumerate() {
            if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
                self.last = i;
                return Ok(self.local(n));
            }
        }
        for f in DATE_FORMATS {
            if let Ok(d) = NaiveDate::parse_from_str(s, f) {
                return Ok(self.local(d.and_time(chrono::NaiveTime::MIN)));
            }
        }
        Err("is not a time in a known format (e.g. 2015-05-13 23:53:00, 2015-05-13T23:53:00+08:00, 05/13/2015 11:53:00 PM)")
    }

    fn local(&mut self, n: NaiveDateTime) -> DateTime<Utc> {
        use chrono::offset::LocalResult;
        match self.tz.from_local_datetime(&n) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => {
                self.ambiguous += 1;
                a.with_timezone(&Utc)
            }
            LocalResult::None => {
                self.nonexistent += 1;
                let later = n + chrono::Duration::hours(1);
                self.tz
                    .from_local_datetime(&later)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|| Utc.from_utc_datetime(&n))
            }
        }
    }
}

/// Reads an incident CSV into events.
///
/// Fails on an unreadable file, a wrong encoding, a missing column, a bad row
/// (unless `skip_bad_rows`) or unmapped categories when the map has no
/// default (all of them listed with their counts).
pub fn read_events(
    path: impl AsRef<Path>,
    options: &IncidentOptions,
) -> Result<IncidentImport, IncidentError> {
    let path = path.as_ref();
    let (bytes, gzip) = read_bytes(path, options)?;
    events_from(path, bytes, gzip, options)
}

/// [`read_events`] of bytes already in memory (gzip or not); `name` is used
/// in messages.
pub fn read_events_bytes(
    name: &str,
    bytes: Vec<u8>,
    options: &IncidentOptions,
) -> Result<IncidentImport, IncidentError> {
    let path = Path::new(name);
    let (bytes, gzip) = inflate(path, bytes, options)?;
    events_from(path, bytes, gzip, options)
}

fn events_from(
    path: &Path,
    bytes: Vec<u8>,
    gzip: bool,
    options: &IncidentOptions,
) -> Result<IncidentImport, IncidentError> {
    let (text, encoding) = decode(path, bytes, options.encoding)?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| IncidentError::Csv {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()),
        reason: e.to_string(),
    };
    let headers = rdr.headers().map_err(csv_err)?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| IncidentError::MissingColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
                available: headers.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let c_time = col(&options.time_column)?;
    let c_lon = col(&options.lon_column)?;
    let c_lat = col(&options.lat_column)?;
    let c_cat = col(&options.category_column)?;
    let c_desc = options.description_column.as_deref().map(col).transpose()?;
    let c_id = options.id_column.as_deref().map(col).transpose()?;
    let c_addr = options.address_column.as_deref().map(col).transpose()?;
    let c_res = options
        .resolution
        .as_ref()
        .map(|r| col(&r.column))
        .transpose()?;

    let mut report = IncidentReport {
        encoding,
        gzip,
        header: headers.iter().map(str::to_string).collect(),
        ..IncidentReport::default()
    };
    let mut first_bad: Option<RowError> = None;
    let mut times = TimeParser {
        tz: options.time_zone,
        custom: match &options.time_format {
            TimeFormat::Auto => None,
            TimeFormat::Custom(f) => Some(f.clone()),
        },
        last: 0,
        ambiguous: 0,
        nonexistent: 0,
    };
    let mut events = Vec::new();
    // Unmapped categories: counts, and when there is no default, refuse at the end.
    let mut unmapped: BTreeMap<String, u64> = BTreeMap::new();
    let mut record = csv::StringRecord::new();
    let mut row_no: u64 = 0;
    let mut lines = LineCounter::default();
    while rdr.read_record(&mut record).map_err(csv_err)? {
        row_no += 1;
        report.rows += 1;
        let line = record
            .position()
            .map_or(0, |p| lines.line_at(text.as_bytes(), p.byte() as usize));
        let field = |i: usize| record.get(i).unwrap_or("");
        let bad = |problem: Problem, i: usize, reason: String| RowError {
            problem,
            line,
            column: headers.get(i).unwrap_or("?").to_string(),
            value: field(i).to_string(),
            reason,
        };
        let result = (|| -> Result<Option<Event>, RowError> {
            let raw_cat = field(c_cat).trim();
            if raw_cat.is_empty() {
                return Err(bad(Problem::EmptyCategory, c_cat, "is empty".into()));
            }
            let category = match options.categories.get(raw_cat) {
                Some(c) => {
                    *report.mapped.entry(raw_cat.to_string()).or_default() += 1;
                    c
                }
                None => {
                    *unmapped.entry(raw_cat.to_string()).or_default() += 1;
                    match options.categories.default_category() {
                        Some(d) => d,
                        None => return Ok(None),
                    }
                }
            };
            if field(c_lon).trim().is_empty() && field(c_lat).trim().is_empty() {
                return Err(match c_addr.filter(|&i| !field(i).trim().is_empty()) {
                    Some(i) => bad(
                        Problem::AddressOnly,
                        i,
                        "is an address without coordinates (geocoding is out of scope)".into(),
                    ),
                    None => bad(
                        Problem::NoLocation,
                        c_lon,
                        "is empty, and so is the latitude".into(),
                    ),
                });
            }
            let coord = |i: usize, range: f64| -> Result<f64, RowError> {
                let v: f64 = field(i)
                    .trim()
                    .parse()
                    .map_err(|_| bad(Problem::CoordinateNotANumber, i, "is not a number".into()))?;
                if v.is_finite() && v.abs() <= range {
                    Ok(v)
                } else {
                    Err(bad(
                        Problem::CoordinateOutOfRange,
                        i,
                        format!("is outside ±{range}"),
                    ))
                }
            };
            let lon = coord(c_lon, 180.0)?;
            let lat = coord(c_lat, 90.0)?;
            let reported_at = times
                .parse(field(c_time))
                .map_err(|r| bad(Problem::BadTime, c_time, r.to_string()))?;
            let id = match c_id {
                Some(i) => field(i)
                    .parse::<EventId>()
                    .map_err(|e| bad(Problem::BadId, i, format!("is not an event ID: {e}")))?,
                None => EventId::new(options.first_id.saturating_add(row_no - 1))
                    .map_err(|e| bad(Problem::BadId, c_cat, e.to_string()))?,
            };
            let closed = match (c_res, &options.resolution) {
                (Some(i), Some(rule)) => rule.is_closed(field(i)),
                _ => false,
            };
            let title = match c_desc.map(field).map(str::trim).filter(|d| !d.is_empty()) {
                Some(d) => format!("{d} ({raw_cat})"),
                None => raw_cat.to_string(),
            };
            let mut ev = Event::reported(
                id,
                category,
                title,
                Point::new(lon, lat),
                reported_at,
                options.source,
            );
            if closed {
                ev.status = EventStatus::Closed;
            }
            Ok(Some(ev))
        })();
        match result {
            Ok(Some(ev)) => {
                report.events += 1;
                report.closed += u64::from(ev.status == EventStatus::Closed);
                *report
                    .by_category
                    .entry(ev.category.code().to_string())
                    .or_default() += 1;
                report.first = Some(
                    report
                        .first
                        .map_or(ev.reported_at, |f| f.min(ev.reported_at)),
                );
                report.last = Some(
                    report
                        .last
                        .map_or(ev.reported_at, |l| l.max(ev.reported_at)),
                );
                events.push(ev);
            }
            Ok(None) => {}
            Err(error) => {
                // Every row is read either way, so the error counts them all.
                *report.problems.entry(error.problem).or_default() += 1;
                report.skipped_rows += 1;
                if first_bad.is_none() {
                    first_bad = Some(error.clone());
                }
                if options.skip_bad_rows && options.keep_rejects {
                    report.rejects.push(Rejected {
                        error: error.clone(),
                        fields: record.iter().map(str::to_string).collect(),
                    });
                }
                if report.row_errors.len() < options.max_row_errors {
                    report.row_errors.push(error);
                }
            }
        }
    }
    if let (false, Some(first)) = (options.skip_bad_rows, first_bad) {
        return Err(IncidentError::BadRows {
            path: path.to_path_buf(),
            count: report.skipped_rows,
            problems: report.problems,
            first: Box::new(first),
        });
    }
    if options.categories.default_category().is_none() && !unmapped.is_empty() {
        let mut categories: Vec<(String, u64)> = unmapped.into_iter().collect();
        categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        return Err(IncidentError::UnmappedCategories {
            path: path.to_path_buf(),
            categories,
        });
    }
    report.unmapped = unmapped;
    report.ambiguous_times = times.ambiguous;
    report.nonexistent_times = times.nonexistent;
    Ok(IncidentImport { events, report })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gzip_of(lines: usize) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(
            b"datetime,category,descript,dayofweek,pddistrict,resolution,address,lon,lat\n",
        )
        .unwrap();
        let row = b"2003-01-12 23:50:00,FRAUD,X,Sunday,SOUTHERN,NONE,A ST,-122.4,37.78\n";
        for _ in 0..lines {
            enc.write_all(row).unwrap();
        }
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_bomb_is_refused_by_ratio_while_streaming() {
        // ~68 MiB of one repeated row compresses ~1000 times.
        let gz = gzip_of(1_000_000);
        assert!(gz.len() < 1 << 20, "{}", gz.len());
        let opts = IncidentOptions::sf_incidents().unwrap();
        let e = read_events_bytes("bomb.csv.gz", gz, &opts).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, IncidentError::TooLarge { .. }), "{msg}");
        assert!(
            msg.contains("bomb.csv.gz") && msg.contains("100 times"),
            "{msg}"
        );
    }

    #[test]
    fn gzip_past_the_byte_cap_is_refused_and_under_it_read() {
        let gz = gzip_of(2_000);
        let mut opts = IncidentOptions::sf_incidents().unwrap();
        opts.max_inflated_bytes = 10_000;
        let e = read_events_bytes("big.csv.gz", gz.clone(), &opts).unwrap_err();
        assert!(e.to_string().contains("the cap of 10000 bytes"), "{e}");
        opts.max_inflated_bytes = DEFAULT_MAX_INFLATED_BYTES;
        let imp = read_events_bytes("big.csv.gz", gz, &opts).unwrap();
        assert_eq!(imp.events.len(), 2_000);
        assert!(imp.report.gzip);
    }

    fn parser(tz: Tz) -> TimeParser {
        TimeParser {
            tz,
            custom: None,
            last: 0,
            ambiguous: 0,
            nonexistent: 0,
        }
    }

    #[test]
    fn time_formats() {
        let mut p = parser(chrono_tz::America::Los_Angeles);
        let want = "2015-05-14T06:53:00Z";
        for s in [
            "2015-05-13 23:53:00",
            "2015-05-13T23:53:00",
            "05/13/2015 11:53:00 PM",
            "5/13/2015 23:53",
            "2015/05/13 23:53",
            "2015-05-14T06:53:00Z",
            "2015-05-14T14:53:00+08:00",
        ] {
            assert_eq!(
                p.parse(s)
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                want,
                "{s}"
            );
        }
        let mut sh = parser(chrono_tz::Asia::Shanghai);
        assert_eq!(
            sh.parse("2015年5月13日 23:53").unwrap().to_rfc3339(),
            "2015-05-13T15:53:00+00:00"
        );
        assert!(sh.parse("yesterday").is_err());
    }

    #[test]
    fn daylight_saving_edges_counted() {
        let mut p = parser(chrono_tz::America::Los_Angeles);
        p.parse("2015-11-01 01:30:00").unwrap();
        p.parse("2015-03-08 02:30:00").unwrap();
        assert_eq!((p.ambiguous, p.nonexistent), (1, 1));
    }

    #[test]
    fn map_rejects_unknown_codes() {
        let e = CategoryMap::from_toml_str("[map]\n\"X\" = \"99.99\"\n", "m.toml").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("m.toml") && msg.contains("99.99") && msg.contains("\"X\""),
            "{msg}"
        );
        assert!(CategoryMap::from_toml_str("[map\n", "m.toml").is_err());
    }

    #[test]
    fn shipped_sf_map_is_valid() {
        let m = CategoryMap::sf_incidents().unwrap();
        assert_eq!(m.len(), 39);
        assert_eq!(m.get("LARCENY/THEFT").unwrap().code(), "06.01");
    }

    #[test]
    fn resolution_rule() {
        let r = ResolutionRule::new("resolution");
        assert!(!r.is_closed("NONE"));
        assert!(!r.is_closed(" "));
        assert!(r.is_closed("ARREST, BOOKED"));
        let only = ResolutionRule {
            closed_values: vec!["Closed".into(), " 已办结 ".into()],
            ..r.clone()
        };
        assert!(only.is_closed("closed") && only.is_closed("已办结"));
        assert!(!only.is_closed("ARREST, BOOKED") && !only.is_closed(""));
        let open = ResolutionRule {
            open_values: vec!["in progress".into()],
            ..r
        };
        assert!(open.is_closed("NONE") && !open.is_closed("In Progress"));
    }
}
