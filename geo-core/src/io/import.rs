//! Reading one file of one kind: [`read`], [`read_from`], [`read_bytes`].
//!
//! All or nothing: when any problem is an error the result is
//! [`ImportError::Invalid`] listing every problem; otherwise the batch holds
//! every element and the warnings.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use crate::crs::Crs;
use crate::io::build::Builder;
pub use crate::io::build::NEGATIVE_ID_BASE;
use crate::io::encoding::{decode, Encoding};
use crate::io::fields::fields;
use crate::io::problem::{ImportError, Problem, Severity};
use crate::io::source::{
    parse_feature, raw_features, record_boundaries, CsvSource, KeyCache, NotFeatures, Resolver,
};
use crate::io::ElementKind;
use crate::Dataset;

/// The format of an import file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// From the file extension (`.geojson`, `.json`, `.csv`, `.tsv`, `.txt`),
    /// else from the content (a leading `{` is GeoJSON).
    #[default]
    Auto,
    /// GeoJSON Feature or FeatureCollection (RFC 7946).
    GeoJson,
    /// CSV with a header line; `,`, tab or `;` separated.
    Csv,
}

impl Format {
    /// Parses `auto`, `geojson`/`json`, `csv`/`tsv`.
    pub fn parse(s: &str) -> Result<Self, crate::IdError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "geojson" | "json" => Ok(Self::GeoJson),
            "csv" | "tsv" => Ok(Self::Csv),
            _ => Err(crate::IdError::Unknown {
                kind: "format",
                value: s.to_string(),
                expected: "auto, geojson, csv".into(),
            }),
        }
    }
}

/// Answers whether elements exist outside the file being imported: the
/// store implements it so references (a person's household, a household's
/// building…) can be checked before anything is written.
///
/// The import asks [`ReferenceLookup::existing`] once per referenced kind
/// with every distinct ID the file refers to (not once per reference), so a
/// store answers a million-row file with one probe per kind.
pub trait ReferenceLookup {
    /// True when an element of `kind` with this ID exists.
    fn contains(&self, kind: ElementKind, id: u64) -> bool;

    /// The IDs of `ids` (distinct, sorted) that exist as elements of `kind`.
    /// `Err` says why the lookup itself failed; the import then reports a
    /// file error instead of calling every reference missing. The default
    /// asks [`ReferenceLookup::contains`] for each ID.
    fn existing(&self, kind: ElementKind, ids: &[u64]) -> Result<HashSet<u64>, String> {
        Ok(ids
            .iter()
            .copied()
            .filter(|&id| self.contains(kind, id))
            .collect())
    }
}

impl<F: Fn(ElementKind, u64) -> bool> ReferenceLookup for F {
    fn contains(&self, kind: ElementKind, id: u64) -> bool {
        self(kind, id)
    }
}

/// Options of an import.
#[derive(Clone)]
pub struct ImportOptions<'a> {
    /// File format.
    pub format: Format,
    /// Text encoding.
    pub encoding: Encoding,
    /// CRS of the coordinates in the file; converted to WGS84.
    pub crs: Crs,
    /// Our field name → the file's column (`--map name=姓名`); replaces the
    /// default names of that field.
    pub field_map: HashMap<String, String>,
    /// Repair invalid polygons (close rings, fix self-intersections) instead
    /// of refusing them; every repair is reported as a warning.
    pub repair: bool,
    /// Union the pieces of buildings that share an `id` (tile-cut inputs),
    /// keeping the tallest height and levels. Without it duplicate IDs are errors.
    pub merge_by_id: bool,
    /// Accept a negative record ID `-n` (OSM relations in tile extracts) as
    /// `2^60 + n` ([`NEGATIVE_ID_BASE`]) instead of refusing it.
    pub negative_ids: bool,
    /// Refuse files larger than this many bytes.
    pub max_bytes: u64,
    /// 9-digit town code used to number communities whose file has no
    /// division code: code = prefix + 3-digit feature position.
    pub division_prefix: Option<String>,
    /// Where references outside the file are checked (the store). `None`
    /// checks references only against the file itself.
    pub references: Option<&'a dyn ReferenceLookup>,
    /// Number the elements of a file that is not a register
    /// ([`ElementKind::accepts_auto_ids`]: buildings, compounds, places,
    /// roads, organisations) `start, start + 1, …` in file order, ignoring
    /// its `id` column (`--ids auto`): the same file gets the same IDs.
    /// `None` takes the IDs from the file. Ignored for registers.
    pub auto_ids: Option<u64>,
    /// Split a building given as a MultiPolygon into one building per part
    /// (`--explode`; needs [`ImportOptions::auto_ids`], the parts need IDs
    /// of their own). Without it such a building is an error that names
    /// the option.
    pub explode: bool,
    /// Values of a buildings file's use column and the use each means,
    /// looked up before the built-in names (`宿舍` → residential).
    pub use_values: HashMap<String, crate::model::BuildingUse>,
    /// Called now and then while records are read with `(done, total)`:
    /// bytes of the decoded text for CSV, features for GeoJSON (a progress
    /// bar; see [`PROGRESS_EVERY`]).
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

/// [`ImportOptions::progress`] is called once every this many records (and
/// once at the end).
pub const PROGRESS_EVERY: usize = 4096;

/// Default [`ImportOptions::max_bytes`]: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

impl Default for ImportOptions<'_> {
    fn default() -> Self {
        Self {
            format: Format::Auto,
            encoding: Encoding::Auto,
            crs: Crs::Wgs84,
            field_map: HashMap::new(),
            repair: false,
            merge_by_id: false,
            negative_ids: false,
            max_bytes: DEFAULT_MAX_BYTES,
            division_prefix: None,
            references: None,
            auto_ids: None,
            explode: false,
            use_values: HashMap::new(),
            progress: None,
        }
    }
}

impl std::fmt::Debug for ImportOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("format", &self.format)
            .field("encoding", &self.encoding)
            .field("crs", &self.crs)
            .field("field_map", &self.field_map)
            .field("repair", &self.repair)
            .field("merge_by_id", &self.merge_by_id)
            .field("negative_ids", &self.negative_ids)
            .field("max_bytes", &self.max_bytes)
            .field("division_prefix", &self.division_prefix)
            .field("references", &self.references.is_some())
            .field("auto_ids", &self.auto_ids)
            .field("explode", &self.explode)
            .field("use_values", &self.use_values)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Counts of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Records read (CSV rows or GeoJSON features).
    pub records: usize,
    /// Elements produced.
    pub imported: usize,
    /// Records skipped (point features in a buildings file).
    pub skipped: usize,
    /// Pieces merged into an earlier piece with the same ID.
    pub merged_pieces: usize,
    /// Geometries repaired.
    pub repaired: usize,
    /// Extra buildings made by splitting MultiPolygons (`explode`).
    pub exploded: usize,
    /// Buildings kept with several parts (a MultiPolygon without `explode`).
    pub multipart: usize,
    /// `UTF-8` or `GBK`.
    pub encoding: &'static str,
    /// The format read (never `Auto`).
    pub format: Format,
    /// Columns or property keys that feed no field.
    pub unused_columns: Vec<String>,
}

/// A successful import: the elements (only the imported kind is filled) and
/// the warnings.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    /// The kind imported.
    pub kind: ElementKind,
    /// The elements.
    pub dataset: Dataset,
    /// Warnings (never errors).
    pub problems: Vec<Problem>,
    /// Counts.
    pub stats: ImportStats,
}

/// Reads the file at `path`.
pub fn read(
    kind: ElementKind,
    path: &Path,
    opts: &ImportOptions<'_>,
) -> Result<ImportBatch, ImportError> {
    let name = path.display().to_string();
    let bytes = read_file_bytes(path, &name, opts)?;
    let opts = ImportOptions {
        format: resolve_format(path, opts.format),
        ..opts.clone()
    };
    read_bytes(kind, &bytes, &name, &opts)
}

/// The format `format` names, or with [`Format::Auto`] the one the file's
/// extension names (still `Auto` for other extensions: the text decides).
fn resolve_format(path: &Path, format: Format) -> Format {
    if format != Format::Auto {
        return format;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("geojson" | "json") => Format::GeoJson,
        Some("csv" | "tsv" | "txt") => Format::Csv,
        _ => Format::Auto,
    }
}

/// The bytes of the file at `path` (at most `opts.max_bytes` and one more,
/// so that [`read_bytes`] can refuse a file that is too large).
fn read_file_bytes(
    path: &Path,
    name: &str,
    opts: &ImportOptions<'_>,
) -> Result<Vec<u8>, ImportError> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Io {
        file: name.to_string(),
        source,
    })?;
    read_all(file, name, opts)
}

fn read_all<R: Read>(
    reader: R,
    name: &str,
    opts: &ImportOptions<'_>,
) -> Result<Vec<u8>, ImportError> {
    let mut bytes = Vec::new();
    reader
        .take(opts.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ImportError::Io {
            file: name.to_string(),
            source,
        })?;
    Ok(bytes)
}

/// Reads from any reader; `name` is used in messages.
pub fn read_from<R: Read>(
    kind: ElementKind,
    reader: R,
    name: &str,
    opts: &ImportOptions<'_>,
) -> Result<ImportBatch, ImportError> {
    let bytes = read_all(reader, name, opts)?;
    read_bytes(kind, &bytes, name, opts)
}

/// Reads from bytes already in memory; `name` is used in messages.
pub fn read_bytes(
    kind: ElementKind,
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions<'_>,
) -> Result<ImportBatch, ImportError> {
    read_bytes_in(kind, bytes, name, opts, None)
}

/// [`read_bytes`] with the number of CSV parts read in parallel fixed
/// (`None`: one per core for files of [`PARALLEL_CSV_BYTES`] and more).
pub(crate) fn read_bytes_in(
    kind: ElementKind,
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions<'_>,
    parts: Option<usize>,
) -> Result<ImportBatch, ImportError> {
    if bytes.len() as u64 > opts.max_bytes {
        return Err(ImportError::TooLarge {
            file: name.to_string(),
            max_bytes: opts.max_bytes,
        });
    }
    let (text, encoding) = decode(bytes, opts.encoding, name)?;
    let format = match opts.format {
        Format::Auto => sniff(&text, name)?,
        f => f,
    };
    let stats = ImportStats {
        encoding,
        format,
        ..ImportStats::default()
    };
    let resolver = Resolver::new(fields(kind), &opts.field_map)
        .map_err(|reason| invalid_option(name, reason))?;
    let parts = match parts {
        Some(n) => n.clamp(1, MAX_PARTS),
        None if parallel_csv(kind, opts, text.len()) => {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_PARTS))
        }
        None => 1,
    };
    let read = |b: &mut Builder, parts: usize| match format {
        Format::Csv => read_csv(b, &text, &resolver, kind, name, opts.progress, parts),
        _ => read_geojson(b, &text, &resolver, name, opts.progress).map(|()| true),
    };
    // IDs are checked for repeats once, at the end. A file that repeats one
    // is read again in one piece with each ID checked as it comes, so every
    // repeat is reported where it occurs, exactly as a serial read does.
    let mut b = Builder::new(kind, opts, stats.clone()).deferring_ids();
    if !read(&mut b, parts)? || b.repeats_an_id() {
        b = Builder::new(kind, opts, stats);
        read(&mut b, 1)?;
    }
    let (dataset, problems, stats) = b.finish(opts.references);
    if problems.iter().any(Problem::is_error) {
        return Err(ImportError::Invalid {
            file: name.to_string(),
            problems,
        });
    }
    Ok(ImportBatch {
        kind,
        dataset,
        problems,
        stats,
    })
}

fn invalid_option(name: &str, reason: String) -> ImportError {
    ImportError::Invalid {
        file: name.to_string(),
        problems: vec![Problem {
            location: crate::io::Location::File,
            field: String::new(),
            value: String::new(),
            reason,
            severity: Severity::Error,
        }],
    }
}

fn sniff(text: &str, name: &str) -> Result<Format, ImportError> {
    match text.trim_start().chars().next() {
        Some('{') => Ok(Format::GeoJson),
        Some('[') => Err(ImportError::UnknownFormat {
            file: name.to_string(),
            reason: "starts with '[': a JSON array is neither GeoJSON nor CSV".into(),
        }),
        Some(_) => Ok(Format::Csv),
        None => Err(ImportError::UnknownFormat {
            file: name.to_string(),
            reason: "the file is empty".into(),
        }),
    }
}

/// CSV text at least this long is read in parts on several threads.
pub const PARALLEL_CSV_BYTES: usize = 1 << 20;

/// At most this many parts (threads) per CSV file.
const MAX_PARTS: usize = 8;

/// Parts of a file can be built apart and joined when no record depends on
/// an earlier one: not when tile-cut buildings are merged by ID, and not for
/// communities (numbered by position when the file has no ID).
fn parallel_csv(kind: ElementKind, opts: &ImportOptions<'_>, len: usize) -> bool {
    len >= PARALLEL_CSV_BYTES && !opts.merge_by_id && kind != ElementKind::Communities
}

/// Reads the header of a CSV `text` and records its file-level problems
/// (a `--map` column that is not there, a required column missing) in `b`;
/// `None` when one of them is an error.
fn csv_header<'t>(
    b: &mut Builder,
    text: &'t str,
    resolver: &Resolver,
    kind: ElementKind,
    name: &str,
) -> Result<Option<CsvSource<'t>>, ImportError> {
    let src = CsvSource::new(text, resolver, name)?;
    let specs = fields(kind);
    for (field, column) in resolver.mapped() {
        if !src.headers.iter().any(|h| h.to_lowercase() == column) {
            b.file_problem(
                field,
                column,
                format!(
                    "--map {field}={column}: no such column; columns are: {}",
                    src.headers.join(", ")
                ),
                Severity::Error,
            );
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        if spec.required && src.columns[i].is_none() {
            let names: Vec<&str> = std::iter::once(spec.name)
                .chain(spec.aliases.iter().copied())
                .collect();
            b.file_problem(
                spec.name,
                "",
                format!(
                    "required column missing (accepted names: {}; or --map {}=COLUMN); columns are: {}",
                    names.join(", "),
                    spec.name,
                    src.headers.join(", ")
                ),
                Severity::Error,
            );
        }
    }
    if b.problems.iter().any(Problem::is_error) {
        return Ok(None);
    }
    b.stats.unused_columns = src.unused.clone();
    Ok(Some(src))
}

/// The body of a CSV `text` (after its header, at byte `body`) cut into up
/// to `parts` pieces at record boundaries: each piece with the number of
/// lines before it and about its number of records (its newlines; room is
/// reserved for them, so the vectors never grow by copying).
fn csv_pieces(text: &str, body: usize, parts: usize) -> Vec<(&str, u64, usize)> {
    let body = body.min(text.len());
    let cuts = record_boundaries(text, body, parts);
    let newlines = |part: &str| part.bytes().filter(|&c| c == b'\n').count();
    // Part k spans starts[k]..cuts[k]: its first line follows the newlines
    // before it.
    let starts = std::iter::once(body).chain(cuts.iter().copied());
    let mut lines_before = newlines(&text[..body]) as u64;
    let mut pieces: Vec<(&str, u64, usize)> = Vec::with_capacity(cuts.len());
    for (start, &end) in starts.zip(&cuts) {
        let piece = &text[start..end];
        let n = newlines(piece);
        pieces.push((piece, lines_before, n + 1));
        lines_before += n as u64;
    }
    pieces
}

/// Reads the records of a CSV file into `b`, in `parts` pieces built on as
/// many threads and joined in file order. `Ok(false)` when the pieces
/// cannot be joined (an ID repeated across them): `b` must then be read
/// again in one part.
#[allow(clippy::too_many_arguments)]
fn read_csv(
    b: &mut Builder,
    text: &str,
    resolver: &Resolver,
    kind: ElementKind,
    name: &str,
    progress: Option<&dyn Fn(u64, u64)>,
    parts: usize,
) -> Result<bool, ImportError> {
    let Some(src) = csv_header(b, text, resolver, kind, name)? else {
        return Ok(true);
    };
    let total = text.len() as u64;
    let pieces = csv_pieces(text, src.body, parts);
    b.reserve(pieces[0].2);
    let first = src.part(pieces[0].0, pieces[0].1);
    let later: Vec<(CsvSource<'_>, Builder)> = pieces[1..]
        .iter()
        .map(|&(piece, before, records)| {
            let mut pb = b.empty_like();
            pb.reserve(records);
            (src.part(piece, before), pb)
        })
        .collect();
    // Part 0 is read on this thread, with the progress bar (scaled: the
    // parts advance together); the others on their own threads.
    let first_len = pieces[0].0.len().max(1) as u64;
    let (read_first, later) = std::thread::scope(|s| {
        let handles: Vec<_> = later
            .into_iter()
            .map(|(part, mut pb)| {
                s.spawn(move || {
                    part.for_each(name, |rec, _| pb.add(rec))?;
                    pb.seal();
                    Ok(pb)
                })
            })
            .collect();
        let mut n = 0usize;
        let read_first = first.for_each(name, |rec, byte| {
            b.add(rec);
            n += 1;
            if n.is_multiple_of(PROGRESS_EVERY) {
                if let Some(p) = progress {
                    p(byte * total / first_len, total);
                }
            }
        });
        let later: Vec<Result<Builder, ImportError>> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ImportError::Csv {
                        file: name.to_string(),
                        line: 0,
                        reason: "a reading thread failed".into(),
                    })
                })
            })
            .collect();
        (read_first, later)
    });
    read_first?;
    b.seal();
    for part in later {
        if !b.absorb(part?) {
            return Ok(false);
        }
    }
    if let Some(p) = progress {
        p(total, total);
    }
    Ok(true)
}

/// The name a GeoJSON 2008 `crs` member gives: `{"type": "name",
/// "properties": {"name": "EPSG:3857"}}` or `{"type": "EPSG", "properties":
/// {"code": 3857}}`.
fn crs_member_name(member: &serde_json::Value) -> Option<String> {
    let props = member.get("properties")?;
    if let Some(n) = props.get("name").and_then(|n| n.as_str()) {
        return Some(n.to_string());
    }
    props.get("code").map(|c| match c.as_str() {
        Some(s) => format!("EPSG:{s}"),
        None => format!("EPSG:{c}"),
    })
}

/// Reads the file's `crs` member: EPSG:4326, CRS84 and EPSG:4490 are
/// longitude/latitude (the `crs` option still says whether they are GCJ-02 or
/// BD-09, which files label 4326 too); EPSG:3857 is converted from Web
/// Mercator. Any other CRS, or a `crs` option that contradicts the member,
/// is refused with a reason naming both.
fn honour_crs_member(b: &mut Builder, member: &serde_json::Value) -> Result<(), String> {
    let name = crs_member_name(member).ok_or_else(|| {
        "the crs member names no CRS (expected {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:4326\"}})".to_string()
    })?;
    let named = Crs::from_name(&name)?;
    let option = b.crs();
    match (named, option) {
        (Crs::WebMercator, Crs::Wgs84 | Crs::Cgcs2000 | Crs::WebMercator) => {
            b.set_crs(Crs::WebMercator);
            b.file_problem(
                "crs",
                &name,
                "Web Mercator (EPSG:3857) metres converted to WGS84 longitude/latitude".into(),
                Severity::Warning,
            );
            Ok(())
        }
        (Crs::WebMercator, o) => Err(format!(
            "the file says {name} (Web Mercator) but the crs option says {o}"
        )),
        // Wangge's own exports name GCJ-02 and BD-09 (`wangge export --crs`).
        (shifted @ (Crs::Gcj02 | Crs::Bd09), o)
            if o == shifted || matches!(o, Crs::Wgs84 | Crs::Cgcs2000) =>
        {
            b.set_crs(shifted);
            b.file_problem(
                "crs",
                &name,
                format!("{shifted} longitude/latitude converted to WGS84"),
                Severity::Warning,
            );
            Ok(())
        }
        (shifted @ (Crs::Gcj02 | Crs::Bd09), o) => Err(format!(
            "the file says {name} ({shifted}) but the crs option says {o}"
        )),
        (_, Crs::WebMercator) => Err(format!(
            "the file says {name} (longitude/latitude) but the crs option says epsg3857"
        )),
        _ => Ok(()),
    }
}

fn read_geojson(
    b: &mut Builder,
    text: &str,
    resolver: &Resolver,
    name: &str,
    progress: Option<&dyn Fn(u64, u64)>,
) -> Result<(), ImportError> {
    let doc = raw_features(text).map_err(|e| match e {
        NotFeatures::Json(e) => ImportError::Json {
            file: name.to_string(),
            line: e.line(),
            column: e.column(),
            reason: e.to_string(),
        },
        NotFeatures::Shape(reason) => ImportError::NotGeoJson {
            file: name.to_string(),
            reason,
        },
    })?;
    if let Some(member) = &doc.crs {
        if let Err(reason) = honour_crs_member(b, member) {
            // Every coordinate would be read wrongly: one clear problem.
            let value = crs_member_name(member).unwrap_or_else(|| member.to_string());
            b.file_problem("crs", &value, reason, Severity::Error);
            return Ok(());
        }
    }
    let mut cache = KeyCache::new(resolver);
    let mut unused: Vec<String> = Vec::new();
    let total = doc.features.len() as u64;
    let max_positions = b.max_vertices();
    for (i, raw) in doc.features.into_iter().enumerate() {
        if let Some(p) = progress.filter(|_| i.is_multiple_of(PROGRESS_EVERY)) {
            p(i as u64, total);
        }
        let (feature, refused) =
            parse_feature(raw, i, max_positions).map_err(|reason| ImportError::NotGeoJson {
                file: name.to_string(),
                reason,
            })?;
        let rec = cache.record(i, &feature).refusing_geometry(refused);
        for k in &rec.unused {
            if !unused.iter().any(|u| u == k) {
                unused.push((*k).to_string());
            }
        }
        b.add(&rec);
    }
    b.seal();
    b.stats.unused_columns = unused;
    if let Some(p) = progress {
        p(total, total);
    }
    Ok(())
}
