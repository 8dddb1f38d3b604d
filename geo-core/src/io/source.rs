//! Records of a CSV or GeoJSON file, with columns/properties resolved to our
//! field indices once (CSV) or per key (GeoJSON).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde_json::error::Category;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::geometry::GeometryError;

use crate::io::fields::FieldSpec;
use crate::io::problem::{ImportError, Location};
use crate::io::values::unescape_cell;

/// One record: a CSV row or a GeoJSON feature.
pub(crate) trait Record {
    /// The text of field `f` (index into the kind's fields), trimmed; `None`
    /// when absent, empty or null.
    fn get(&self, f: usize) -> Option<Cow<'_, str>>;
    /// The GeoJSON geometry object (the feature's, or a CSV `geometry` cell).
    fn geometry(&self) -> Result<Option<Cow<'_, Value>>, String>;
    /// Where the record is.
    fn location(&self) -> Location;
    /// The GeoJSON feature `id` member, if numeric.
    fn feature_id(&self) -> Option<u64> {
        None
    }
}

/// Maps column names to field indices, honouring the user's field map.
pub(crate) struct Resolver {
    fields: &'static [FieldSpec],
    /// Per field: the column the user mapped it to (lower-cased), if any.
    mapped: Vec<Option<String>>,
}

impl Resolver {
    pub fn new(
        fields: &'static [FieldSpec],
        map: &HashMap<String, String>,
    ) -> Result<Self, String> {
        let mut mapped = vec![None; fields.len()];
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        for ours in keys {
            let Some(i) = fields.iter().position(|f| f.name == ours.trim()) else {
                return Err(format!(
                    "--map names unknown field {ours:?}; fields are: {}",
                    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                ));
            };
            mapped[i] = Some(map[ours].trim().to_lowercase());
        }
        Ok(Self { fields, mapped })
    }

    /// The field a column feeds and its priority (lower wins).
    pub fn field_of(&self, column: &str) -> Option<(usize, usize)> {
        let col = column.trim().to_lowercase();
        if let Some(i) = self
            .mapped
            .iter()
            .position(|m| m.as_deref() == Some(col.as_str()))
        {
            return Some((i, 0));
        }
        self.fields.iter().enumerate().find_map(|(i, f)| {
            if self.mapped[i].is_some() {
                return None;
            }
            if f.name == col {
                Some((i, 1))
            } else {
                f.aliases.iter().position(|a| *a == col).map(|p| (i, 2 + p))
            }
        })
    }

    /// Mapped columns, for checking they exist: (field, column).
    pub fn mapped(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.fields
            .iter()
            .zip(&self.mapped)
            .filter_map(|(f, m)| m.as_deref().map(|m| (f.name, m)))
    }
}

fn trimmed(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

// ---------------------------------------------------------------- CSV

/// A CSV file split into records.
pub(crate) struct CsvSource<'a> {
    reader: csv::Reader<&'a [u8]>,
    delimiter: u8,
    /// Lines of the file before this source's text (a later part of it).
    line_offset: u64,
    /// Where the records start: the byte after the header, as the CSV
    /// parser read it.
    pub body: usize,
    /// Per field: its column.
    pub columns: Vec<Option<usize>>,
    /// Header names.
    pub headers: Vec<String>,
    /// Columns that feed no field.
    pub unused: Vec<String>,
    geometry_field: Option<usize>,
}

fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|&d| first.bytes().filter(|&b| b == d).count())
        .filter(|&d| first.as_bytes().contains(&d))
        .unwrap_or(b',')
}

impl<'a> CsvSource<'a> {
    pub fn new(text: &'a str, resolver: &Resolver, file: &str) -> Result<Self, ImportError> {
        let delimiter = sniff_delimiter(text);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(text.as_bytes());
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(file, &e, 0))?
            .clone();
        let body = usize::try_from(reader.position().byte()).unwrap_or(text.len());
        let headers: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        let n = resolver.fields.len();
        let mut columns: Vec<Option<(usize, usize)>> = vec![None; n];
        let mut unused = Vec::new();
        for (c, h) in headers.iter().enumerate() {
            match resolver.field_of(h) {
                Some((f, prio)) => {
                    if columns[f].is_none_or(|(_, p)| prio < p) {
                        columns[f] = Some((c, prio));
                    }
                }
                None => unused.push(h.clone()),
            }
        }
        Ok(Self {
            reader,
            delimiter,
            line_offset: 0,
            body,
            columns: columns.into_iter().map(|c| c.map(|(c, _)| c)).collect(),
            headers,
            unused,
            geometry_field: resolver.fields.iter().position(|f| f.name == "geometry"),
        })
    }

    /// A source over `part`, a later piece of the same file that starts at a
    /// record boundary after `lines_before` lines; same columns, no header.
    pub fn part<'b>(&self, part: &'b str, lines_before: u64) -> CsvSource<'b> {
        CsvSource {
            reader: csv::ReaderBuilder::new()
                .delimiter(self.delimiter)
                .flexible(true)
                .has_headers(false)
                .from_reader(part.as_bytes()),
            delimiter: self.delimiter,
            line_offset: lines_before,
            body: 0,
            columns: self.columns.clone(),
            headers: self.headers.clone(),
            unused: self.unused.clone(),
            geometry_field: self.geometry_field,
        }
    }

    /// Calls `each` with every record, in order, and the byte offset of the
    /// record in the text (for progress).
    pub fn for_each(
        mut self,
        file: &str,
        mut each: impl FnMut(&CsvRecord<'_>, u64),
    ) -> Result<(), ImportError> {
        let mut rec = csv::ByteRecord::new();
        loop {
            match self.reader.read_byte_record(&mut rec) {
                Ok(true) => {
                    let (line, byte) = rec
                        .position()
                        .map_or((0, 0), |p| (p.line() + self.line_offset, p.byte()));
                    each(
                        &CsvRecord {
                            rec: &rec,
                            columns: &self.columns,
                            geometry_field: self.geometry_field,
                            line,
                        },
                        byte,
                    );
                }
                Ok(false) => return Ok(()),
                Err(e) => return Err(csv_error(file, &e, self.line_offset)),
            }
        }
    }
}

/// Byte offsets that cut `text[start..]` into up to `parts` pieces at record
/// boundaries: a newline outside quotes (an even number of `"` before it,
/// RFC 4180 doubling keeps the count even). Ascending, each after `start`,
/// the last is `text.len()`.
pub(crate) fn record_boundaries(text: &str, start: usize, parts: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut cuts = Vec::with_capacity(parts);
    let step = (bytes.len().saturating_sub(start) / parts.max(1)).max(1);
    let mut quotes = 0usize;
    let mut scanned = start;
    for k in 1..parts {
        let target = start + k * step;
        if target <= scanned || target >= bytes.len() {
            continue;
        }
        quotes += bytes[scanned..target]
            .iter()
            .filter(|&&b| b == b'"')
            .count();
        let mut i = target;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => quotes += 1,
                b'\n' if quotes.is_multiple_of(2) => break,
                _ => {}
            }
            i += 1;
        }
        if i + 1 >= bytes.len() {
            break;
        }
        cuts.push(i + 1);
        scanned = i + 1;
    }
    cuts.push(bytes.len());
    cuts
}

fn csv_error(file: &str, e: &csv::Error, line_offset: u64) -> ImportError {
    ImportError::Csv {
        file: file.to_string(),
        line: e.position().map_or(0, |p| p.line() + line_offset),
        reason: e.to_string(),
    }
}

/// One CSV row.
pub(crate) struct CsvRecord<'a> {
    rec: &'a csv::ByteRecord,
    columns: &'a [Option<usize>],
    geometry_field: Option<usize>,
    line: u64,
}

impl CsvRecord<'_> {
    fn cell(&self, f: usize) -> Option<&str> {
        let c = self.columns.get(f).copied().flatten()?;
        // The whole text was validated as UTF-8 and the CSV parser splits on
        // ASCII bytes, so every cell is valid UTF-8.
        let s = std::str::from_utf8(self.rec.get(c)?).ok()?;
        trimmed(s).map(unescape_cell)
    }
}

impl Record for CsvRecord<'_> {
    fn get(&self, f: usize) -> Option<Cow<'_, str>> {
        self.cell(f).map(Cow::Borrowed)
    }

    fn geometry(&self) -> Result<Option<Cow<'_, Value>>, String> {
        let Some(g) = self.geometry_field.and_then(|i| self.cell(i)) else {
            return Ok(None);
        };
        serde_json::from_str::<Value>(g)
            .map(|v| Some(Cow::Owned(v)))
            .map_err(|e| format!("geometry cell is not GeoJSON geometry JSON: {e}"))
    }

    fn location(&self) -> Location {
        Location::Line(self.line)
    }
}

// ---------------------------------------------------------------- GeoJSON

/// A GeoJSON file's top level, read without building its features: each
/// feature stays raw text until its turn, so reading a file takes its text
/// and one feature's tree at a time — not a tree of the whole file (a
/// JSON tree of coordinates is ten times its text and more: 4.4 GB for a
/// 290 MB ring).
#[derive(serde::Deserialize)]
struct TopLevel<'a> {
    #[serde(rename = "type")]
    kind: Option<Value>,
    #[serde(borrow)]
    features: Option<Vec<&'a RawValue>>,
    crs: Option<Value>,
}

/// The features of a GeoJSON text (raw) and its `crs` member.
pub(crate) struct RawFeatures<'a> {
    pub features: Vec<&'a str>,
    pub crs: Option<Value>,
}

/// Why a text is not a GeoJSON Feature or FeatureCollection.
pub(crate) enum NotFeatures {
    /// Not JSON (with the line and column).
    Json(serde_json::Error),
    /// JSON, but not GeoJSON.
    Shape(String),
}

/// Splits a GeoJSON text into its features, each left as raw JSON text.
pub(crate) fn raw_features(text: &str) -> Result<RawFeatures<'_>, NotFeatures> {
    let body = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let top: TopLevel<'_> = match serde_json::from_str(body) {
        Err(e) if e.classify() != Category::Data => return Err(NotFeatures::Json(e)),
        // A struct also reads from an array: once the syntax is known to be
        // good, any top level that is not an object is refused as such.
        _ if !body.starts_with('{') => {
            return Err(shape_error(
                "the top level must be a JSON object (a Feature or FeatureCollection)",
            ))
        }
        Ok(top) => top,
        Err(e) => {
            return Err(NotFeatures::Shape(format!(
                "a FeatureCollection needs a \"features\" array ({e})"
            )))
        }
    };
    let features = match top.kind.as_ref().and_then(Value::as_str) {
        Some("FeatureCollection") => top
            .features
            .ok_or_else(|| shape_error("a FeatureCollection needs a \"features\" array"))?
            .into_iter()
            .map(RawValue::get)
            .collect(),
        Some("Feature") => vec![body],
        Some(t) => {
            return Err(NotFeatures::Shape(format!(
                "type {t:?}: expected a Feature or FeatureCollection (a bare geometry has no properties)"
            )))
        }
        None => return Err(shape_error("the top-level object has no \"type\" member")),
    };
    Ok(RawFeatures {
        features,
        crs: top.crs,
    })
}

fn shape_error(reason: &str) -> NotFeatures {
    NotFeatures::Shape(reason.to_string())
}

/// One feature, `i`-th of its file, parsed from its raw text. A geometry of
/// more than `max_positions` positions is not parsed into a tree at all
/// (10 million vertices would take gigabytes): the feature is returned
/// without it, with the reason its geometry is refused.
pub(crate) fn parse_feature(
    raw: &str,
    i: usize,
    max_positions: usize,
) -> Result<(Map<String, Value>, Option<String>), String> {
    let not_feature = |e: serde_json::Error| match e.classify() {
        Category::Data => format!("features[{i}] is not a Feature object"),
        _ => format!("features[{i}]: {e}"),
    };
    // n positions take at least 6n - 1 bytes (`[0,0],` each): a feature
    // shorter than that for one past the limit is parsed at once; a longer
    // one member by member, its geometry's positions counted first.
    let shortest_past_limit = max_positions.saturating_add(1).saturating_mul(6) - 1;
    let (obj, refused): (Map<String, Value>, _) = if raw.len() < shortest_past_limit {
        (serde_json::from_str(raw).map_err(not_feature)?, None)
    } else {
        let mut members: BTreeMap<String, &RawValue> =
            serde_json::from_str(raw).map_err(not_feature)?;
        let count = members.get("geometry").map_or(0, |g| positions_in(g.get()));
        let refused = (count > max_positions).then(|| {
            members.remove("geometry");
            GeometryError::TooManyVertices {
                count,
                max: max_positions,
            }
            .to_string()
        });
        let obj = members
            .into_iter()
            .map(|(k, v)| serde_json::from_str(v.get()).map(|v| (k, v)))
            .collect::<Result<_, _>>()
            .map_err(not_feature)?;
        (obj, refused)
    };
    if obj.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(format!("features[{i}] is not a Feature object"));
    }
    Ok((obj, refused))
}

/// Positions (innermost arrays) in a geometry's JSON text; strings skipped.
pub(crate) fn positions_in(json: &str) -> usize {
    let b = json.as_bytes();
    let (mut count, mut in_string, mut i) = (0, false, 0);
    while i < b.len() {
        match (in_string, b[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') => in_string = false,
            (false, b'"') => in_string = true,
            (false, b'[') => {
                let next = b[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                if next.is_some_and(|&c| c != b'[' && c != b']') {
                    count += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    count
}

/// Caches which field each property key feeds.
pub(crate) struct KeyCache<'r> {
    resolver: &'r Resolver,
    cache: HashMap<String, Option<(usize, usize)>>,
}

impl<'r> KeyCache<'r> {
    pub fn new(resolver: &'r Resolver) -> Self {
        Self {
            resolver,
            cache: HashMap::new(),
        }
    }

    fn field_of(&mut self, key: &str) -> Option<(usize, usize)> {
        if let Some(v) = self.cache.get(key) {
            return *v;
        }
        let v = self.resolver.field_of(key);
        self.cache.insert(key.to_string(), v);
        v
    }

    /// Resolves one feature's properties.
    pub fn record<'f>(
        &mut self,
        index: usize,
        feature: &'f Map<String, Value>,
    ) -> FeatureRecord<'f> {
        let n = self.resolver.fields.len();
        let mut slots: Vec<Option<(&'f Value, usize)>> = vec![None; n];
        let mut keys_seen = Vec::new();
        if let Some(props) = feature.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                match self.field_of(k) {
                    Some((f, prio)) => {
                        if slots[f].is_none_or(|(_, p)| prio < p) {
                            slots[f] = Some((v, prio));
                        }
                    }
                    None => keys_seen.push(k.as_str()),
                }
            }
        }
        FeatureRecord {
            index,
            slots: slots.into_iter().map(|s| s.map(|(v, _)| v)).collect(),
            geometry: feature.get("geometry").filter(|g| !g.is_null()),
            id: feature.get("id").and_then(Value::as_u64),
            unused: keys_seen,
            geometry_error: None,
        }
    }
}

/// One GeoJSON feature.
pub(crate) struct FeatureRecord<'f> {
    index: usize,
    slots: Vec<Option<&'f Value>>,
    geometry: Option<&'f Value>,
    id: Option<u64>,
    /// Property keys that feed no field.
    pub unused: Vec<&'f str>,
    /// Why the geometry was refused before it was parsed ([`parse_feature`]).
    geometry_error: Option<String>,
}

impl FeatureRecord<'_> {
    /// The record with its geometry refused for `reason`.
    pub fn refusing_geometry(mut self, reason: Option<String>) -> Self {
        self.geometry_error = reason;
        self
    }
}

fn value_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => trimmed(s).map(Cow::Borrowed),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let parts: Vec<Cow<'_, str>> = items.iter().filter_map(value_text).collect();
            (!parts.is_empty()).then(|| Cow::Owned(parts.join(";")))
        }
        other => Some(Cow::Owned(other.to_string())),
    }
}

impl Record for FeatureRecord<'_> {
    fn get(&self, f: usize) -> Option<Cow<'_, str>> {
        self.slots.get(f).copied().flatten().and_then(value_text)
    }

    fn geometry(&self) -> Result<Option<Cow<'_, Value>>, String> {
        match &self.geometry_error {
            Some(reason) => Err(reason.clone()),
            None => Ok(self.geometry.map(Cow::Borrowed)),
        }
    }

    fn location(&self) -> Location {
        Location::Feature(self.index)
    }

    fn feature_id(&self) -> Option<u64> {
        self.id
    }
}
