//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2>) without
//! HTTP: the format of an answer (`.xml` or `.json`), the configuration
//! (jurisdiction and the map of a foreign platform's service codes onto our
//! taxonomy), the service list and definitions from
//! [`geo_core::taxonomy`], the fields of a posted request and the public
//! answer about a request — built from the coarse copy of an event
//! ([`crate::present::coarsen`]), so it carries no title, handler, receipt
//! or exact place — and the XML writer (quick-xml).
//!
//! What the public sees: only events of public-facing categories
//! ([`is_public`]). Disputes (group 01: neighbours, family, tenancy,
//! labour), people services (group 05: elderly, assistance, employment)
//! and key-person follow-ups (06.03) are about identifiable households: a
//! list of them, even at a cell's centre, tells a neighbourhood who is
//! quarrelling or poor. They are filed through Open311 like any request
//! and the client that filed one learns its ID from its token, but no
//! public read (list, by ID) shows them.
//!
//! Status mapping (our event loop → Open311): `reported`, `accepted`,
//! `dispatched`, `in_progress`, `escalated`, `reopened` are `open`;
//! `resolved`, `reviewed`, `closed`, `rejected`, `merged` are `closed`
//! ([`open311_status`]); `status_notes` names our status in Chinese and
//! English.

use std::collections::BTreeMap;

use geo_core::model::EventStatus;
use geo_core::taxonomy::{EventCategory, GROUPS};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event as Xml};
use quick_xml::Writer;
use serde::Serialize;
use serde_json::{Map, Value};
use wangge_data::incidents::CategoryMap;

use crate::error::ErrorCode;

/// Where the routes are mounted.
pub const PREFIX: &str = "/open311/v2";

/// Most requests one `GET requests.{fmt}` answers (newest first).
pub const MAX_REQUESTS: usize = 1000;

/// Longest window of `start_date`..`end_date`, and the default window
/// before `end_date` (or now), as the specification suggests.
pub const WINDOW_DAYS: i64 = 90;

/// The one attribute every service takes: where exactly (building, unit,
/// floor), free text.
pub const ATTRIBUTE_LOCATION_DETAIL: &str = "location_detail";

/// Answer format, from the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.xml`, the format the specification requires.
    Xml,
    /// `.json`.
    Json,
}

impl Format {
    /// Splits `services.xml` into `("services", Xml)`; `None` when the
    /// extension is neither `xml` nor `json`.
    ///
    /// ```
    /// use web_viewer::open311::Format;
    /// assert_eq!(Format::split("requests.json"), Some(("requests", Format::Json)));
    /// assert_eq!(Format::split("01.01.xml"), Some(("01.01", Format::Xml)));
    /// assert_eq!(Format::split("services.csv"), None);
    /// ```
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (stem, ext) = file.rsplit_once('.')?;
        let f = match ext {
            "xml" => Format::Xml,
            "json" => Format::Json,
            _ => return None,
        };
        Some((stem, f))
    }

    /// The format of an answer on `path` (XML unless it ends in `.json`).
    pub fn of_path(path: &str) -> Format {
        if path.ends_with(".json") {
            Format::Json
        } else {
            Format::Xml
        }
    }

    /// `Content-Type` of an answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "application/xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// `wangge serve --open311-jurisdiction ID --open311-codes FILE`.
#[derive(Debug, Clone, Default)]
pub struct Open311Config {
    /// The jurisdiction this endpoint serves; `jurisdiction_id` of a request
    /// must equal it when sent. `None`: any `jurisdiction_id` is refused.
    pub jurisdiction_id: Option<String>,
    /// A foreign platform's service codes (a 12345 hotline's) → our
    /// categories: the TOML form of `wangge import incidents` maps
    /// (`default = "NN.MM"`, `[map] "CODE" = "NN.MM"`).
    pub codes: CategoryMap,
}

impl Open311Config {
    /// Checks a request's `jurisdiction_id` against the configuration.
    pub fn check_jurisdiction(&self, sent: Option<&str>) -> Result<(), String> {
        match (sent.map(str::trim), &self.jurisdiction_id) {
            (None, _) => Ok(()),
            (Some(s), Some(j)) if s == j => Ok(()),
            (Some(s), Some(j)) => Err(format!(
                "jurisdiction_id {s:?} is not served here (this endpoint serves {j:?})"
            )),
            (Some(s), None) => Err(format!(
                "jurisdiction_id {s:?} is not served here (this endpoint serves one jurisdiction: \
                 leave jurisdiction_id out)"
            )),
        }
    }

    /// The category of a service code: ours (`NN.MM`) or a configured
    /// foreign one (case-insensitive), then the map's default for other
    /// foreign codes.
    pub fn category(&self, code: &str) -> Result<EventCategory, String> {
        let c = code.trim();
        if c.len() == 5 && c.as_bytes()[2] == b'.' {
            if let Ok(cat) = EventCategory::parse(c) {
                return Ok(cat);
            }
        }
        self.codes
            .get(c)
            .or(self.codes.default_category())
            .ok_or_else(|| {
                format!(
                    "service_code {code:?} is not a service here (GET {PREFIX}/services.xml lists them)"
                )
            })
    }
}

/// One service of `services.{fmt}`.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// Our category code `NN.MM`, or a configured foreign code.
    pub service_code: String,
    /// Chinese name.
    pub service_name: String,
    /// English name (and, for a foreign code, the category it files under).
    pub description: String,
    /// Whether `services/{code}.{fmt}` lists attributes (always).
    pub metadata: bool,
    /// `realtime`: a request is filed at once.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Chinese and English names.
    pub keywords: String,
    /// The first-level group, Chinese / English.
    pub group: String,
}

fn group_of(cat: EventCategory) -> String {
    GROUPS
        .iter()
        .find(|(c, _, _)| *c == cat.group())
        .map(|(_, zh, en)| format!("{zh} / {en}"))
        .unwrap_or_default()
}

/// The service list: every category of the taxonomy, then every configured
/// foreign code.
pub fn services(cfg: &Open311Config) -> Vec<Service> {
    let ours = EventCategory::all().map(|cat| {
        let d = cat.def();
        Service {
            service_code: d.code.to_string(),
            service_name: d.name_zh.to_string(),
            description: d.name_en.to_string(),
            metadata: true,
            kind: "realtime",
            keywords: format!("{},{}", d.name_zh, d.name_en),
            group: group_of(cat),
        }
    });
    let foreign = cfg.codes.entries().map(|(code, cat)| {
        let d = cat.def();
        Service {
            service_code: code.to_string(),
            service_name: d.name_zh.to_string(),
            description: format!("{} (filed as {})", d.name_en, d.code),
            metadata: true,
            kind: "realtime",
            keywords: format!("{},{}", d.name_zh, d.name_en),
            group: group_of(cat),
        }
    });
    ours.chain(foreign).collect()
}

/// One attribute of a service definition.
#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    /// Asked of the reporter.
    pub variable: bool,
    /// Its code (`attribute[code]=` of a post).
    pub code: &'static str,
    /// `string`.
    pub datatype: &'static str,
    /// Whether a post must carry it.
    pub required: bool,
    /// What it holds.
    pub datatype_description: &'static str,
    /// Its place in a form.
    pub order: u32,
    /// The question, Chinese / English.
    pub description: &'static str,
}

/// `services/{code}.{fmt}`.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceDefinition {
    /// The service code asked for.
    pub service_code: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// The definition of a service code (the same attributes for all).
pub fn definition(code: &str) -> ServiceDefinition {
    ServiceDefinition {
        service_code: code.to_string(),
        attributes: vec![Attribute {
            variable: true,
            code: ATTRIBUTE_LOCATION_DETAIL,
            datatype: "string",
            required: false,
            datatype_description: "building, unit, floor (at most 200 characters)",
            order: 1,
            description: "具体位置（楼栋、单元、楼层） / Where exactly (building, unit, floor)",
        }],
    }
}

/// Whether events of this category appear in public Open311 reads (see the
/// module's documentation for the categories withheld and why).
pub fn is_public(c: EventCategory) -> bool {
    let code = c.code();
    !(code.starts_with("01.") || code.starts_with("05.") || code == "06.03")
}

/// Open311's `open` or `closed` of one of our statuses.
pub fn open311_status(s: EventStatus) -> &'static str {
    if s.is_open() {
        "open"
    } else {
        "closed"
    }
}

/// A service request as anyone may see it: the coarse copy of the event.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRequest {
    /// Our event ID.
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// Our status, Chinese / English (`已派遣 / Dispatched (dispatched)`).
    pub status_notes: String,
    /// Category, Chinese.
    pub service_name: String,
    /// Category `NN.MM`.
    pub service_code: String,
    /// Never answered: free text stays with the handlers.
    pub description: Option<String>,
    /// Never answered (the handler is not in the coarse copy).
    pub agency_responsible: Option<String>,
    /// The English name of the category.
    pub service_notice: Option<String>,
    /// Report time.
    pub requested_datetime: String,
    /// Latest known change: resolution, else report.
    pub updated_datetime: String,
    /// Deadline while open.
    pub expected_datetime: Option<String>,
    /// Never answered.
    pub address: Option<String>,
    /// Never answered.
    pub address_id: Option<String>,
    /// Never answered.
    pub zipcode: Option<String>,
    /// Latitude of the centre of the event's H3 cell (resolution 8).
    pub lat: f64,
    /// Longitude of that centre.
    pub long: f64,
    /// Never answered.
    pub media_url: Option<String>,
}

impl ServiceRequest {
    /// The request of a coarse event copy ([`crate::present::coarsen`]);
    /// `None` when it lacks a field every copy has.
    pub fn of_coarse(m: &Map<String, Value>) -> Option<Self> {
        let s = |k: &str| m.get(k).and_then(Value::as_str);
        let status = EventStatus::parse(s("status")?).ok()?;
        let reported = s("reported_at")?.to_string();
        Some(Self {
            service_request_id: m.get("id")?.as_u64()?.to_string(),
            status: open311_status(status),
            status_notes: match status.labels() {
                Some((zh, en)) => format!("{zh} / {en} ({})", status.code()),
                None => status.code().to_string(),
            },
            service_name: s("category_zh")?.to_string(),
            service_code: s("category")?.to_string(),
            description: None,
            agency_responsible: None,
            service_notice: s("category_en").map(str::to_string),
            updated_datetime: s("resolved_at").map_or_else(|| reported.clone(), str::to_string),
            requested_datetime: reported,
            expected_datetime: status
                .is_open()
                .then(|| s("deadline").map(str::to_string))
                .flatten(),
            address: None,
            address_id: None,
            zipcode: None,
            lat: m.get("lat")?.as_f64()?,
            long: m.get("lon")?.as_f64()?,
            media_url: None,
        })
    }
}

/// The answer of `POST requests.{fmt}` (and of `tokens/{token}.{fmt}`).
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// The event's ID.
    pub service_request_id: String,
    /// The receipt (`R<id>-<mac>`): follows the report at
    /// `/api/v1/receipts/{receipt}` and `tokens/{token}.{fmt}`.
    pub token: String,
    /// Where it went, Chinese / English.
    pub service_notice: Option<String>,
    /// Not kept (no reporter accounts).
    pub account_id: Option<String>,
}

/// One error of an error answer.
#[derive(Debug, Clone, Serialize)]
pub struct Open311Error {
    /// The HTTP status.
    pub code: u16,
    /// Our stable code and the message: `bad_service_code: …`.
    pub description: String,
}

/// The fields of `POST requests.{fmt}` (form-encoded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostFields {
    /// `jurisdiction_id`.
    pub jurisdiction_id: Option<String>,
    /// `service_code` (required).
    pub service_code: String,
    /// `lat` and `long` (WGS84, or `crs`).
    pub position: Option<(f64, f64)>,
    /// `address_string`: a building address of the town.
    pub address_string: Option<String>,
    /// `description`.
    pub description: String,
    /// `media_url` (http or https).
    pub media_url: Option<String>,
    /// `attribute[code]=value`.
    pub attributes: BTreeMap<String, String>,
    /// `crs` (a Wangge extension: wgs84 by default, gcj02, bd09, cgcs2000).
    pub crs: Option<String>,
}

/// Fields of the specification taken and dropped: the reporter's contact
/// data is not kept (personal data is minimised; follow a report with its
/// token).
const DROPPED: &[&str] = &[
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "address_id",
    "api_key",
];

impl PostFields {
    /// Reads the form's pairs; every error names the field and its value.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, (ErrorCode, String)> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        let mut out = PostFields::default();
        for (k, v) in pairs {
            if let Some(code) = k
                .strip_prefix("attribute[")
                .and_then(|r| r.strip_suffix(']'))
            {
                if code != ATTRIBUTE_LOCATION_DETAIL {
                    return Err((
                        ErrorCode::BadAttribute,
                        format!(
                            "attribute[{code}]: not an attribute of this service (the one attribute is \
                             {ATTRIBUTE_LOCATION_DETAIL})"
                        ),
                    ));
                }
                if v.chars().count() > 200 {
                    return Err((
                        ErrorCode::BadAttribute,
                        format!("attribute[{code}]: longer than 200 characters"),
                    ));
                }
                if out
                    .attributes
                    .insert(code.to_string(), v.trim().to_string())
                    .is_some()
                {
                    return Err((
                        ErrorCode::BadAttribute,
                        format!("attribute[{code}] is repeated"),
                    ));
                }
                continue;
            }
            const KNOWN: &[&str] = &[
                "jurisdiction_id",
                "service_code",
                "lat",
                "long",
                "address_string",
                "description",
                "media_url",
                "crs",
            ];
            if !KNOWN.contains(&k.as_str()) && !DROPPED.contains(&k.as_str()) {
                return Err((
                    ErrorCode::BadField,
                    format!("{k}: not a field of a service request"),
                ));
            }
            if seen.insert(k.as_str(), v.as_str()).is_some() {
                return Err((ErrorCode::BadField, format!("{k} is repeated")));
            }
        }
        let get = |k: &str| seen.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        out.jurisdiction_id = get("jurisdiction_id").map(str::to_string);
        out.service_code = get("service_code")
            .ok_or((
                ErrorCode::BadServiceCode,
                "service_code is missing".to_string(),
            ))?
            .to_string();
        let num = |k: &'static str| -> Result<Option<f64>, (ErrorCode, String)> {
            get(k)
                .map(|v| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or((ErrorCode::BadLocation, format!("{k}={v:?} is not a number")))
                })
                .transpose()
        };
        out.position = match (num("lat")?, num("long")?) {
            (Some(lat), Some(lon)) => {
                if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
                    return Err((
                        ErrorCode::BadLocation,
                        format!("lat={lat}, long={lon} is not a position"),
                    ));
                }
                Some((lat, lon))
            }
            (None, None) => None,
            (Some(_), None) => return Err((ErrorCode::BadLocation, "lat without long".into())),
            (None, Some(_)) => return Err((ErrorCode::BadLocation, "long without lat".into())),
        };
        out.address_string = get("address_string").map(str::to_string);
        if out.position.is_none() && out.address_string.is_none() {
            return Err((
                ErrorCode::BadLocation,
                "a request needs lat and long, or address_string".into(),
            ));
        }
        out.description = get("description").unwrap_or("").to_string();
        if out.description.chars().count() > 4000 {
            return Err((
                ErrorCode::BadField,
                "description: longer than 4000 characters".into(),
            ));
        }
        if let Some(u) = get("media_url") {
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 1000
                && !u.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err((
                    ErrorCode::BadMediaUrl,
                    format!("media_url {u:?}: an http(s) URL of at most 1000 characters"),
                ));
            }
            out.media_url = Some(u.to_string());
        }
        out.crs = get("crs").map(str::to_string);
        Ok(out)
    }

    /// The event's title: the description (or the service's name), where
    /// exactly, and the media URL, in at most 500 characters.
    pub fn title(&self, cat: EventCategory) -> String {
        let mut t: String = if self.description.is_empty() {
            cat.def().name_zh.to_string()
        } else {
            self.description.chars().take(300).collect()
        };
        if let Some(d) = self.attributes.get(ATTRIBUTE_LOCATION_DETAIL) {
            if !d.is_empty() {
                t.push_str(&format!(" 【位置 {d}】"));
            }
        }
        if let Some(u) = &self.media_url {
            t.push_str(&format!(" 【media_url {u}】"));
        }
        t.chars().take(500).collect()
    }
}

/// The singular of a list's element name (`services` → `service`,
/// `attributes` → `attribute`, `values` → `value`).
fn singular(name: &str) -> &str {
    name.strip_suffix('s').unwrap_or(name)
}

fn write_value(w: &mut Writer<Vec<u8>>, name: &str, v: &Value) -> std::io::Result<()> {
    match v {
        Value::Null => w.write_event(Xml::Empty(BytesStart::new(name))),
        Value::Object(m) => {
            w.write_event(Xml::Start(BytesStart::new(name)))?;
            for (k, x) in m {
                write_value(w, k, x)?;
            }
            w.write_event(Xml::End(BytesEnd::new(name)))
        }
        Value::Array(a) => {
            w.write_event(Xml::Start(BytesStart::new(name)))?;
            for x in a {
                write_value(w, singular(name), x)?;
            }
            w.write_event(Xml::End(BytesEnd::new(name)))
        }
        Value::String(s) => write_text(w, name, s),
        Value::Bool(b) => write_text(w, name, if *b { "true" } else { "false" }),
        Value::Number(n) => write_text(w, name, &n.to_string()),
    }
}

fn write_text(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    w.write_event(Xml::Start(BytesStart::new(name)))?;
    w.write_event(Xml::Text(BytesText::new(text)))?;
    w.write_event(Xml::End(BytesEnd::new(name)))
}

/// XML of a list answer: `<root><item>…</item>…</root>` (of an object:
/// `<root>` holding its fields), each item's fields as child elements, a list field `xs` as `<xs><x>…</x></xs>`,
/// `null` as an empty element.
///
/// ```
/// let v = serde_json::json!([{"code": 400, "description": "a <b>"}]);
/// let x = web_viewer::open311::xml("errors", "error", &v);
/// assert!(x.ends_with("<errors><error><code>400</code><description>a &lt;b&gt;</description></error></errors>"));
/// ```
pub fn xml(root: &str, item: &str, items: &Value) -> String {
    let mut w = Writer::new(Vec::new());
    let r = (|| -> std::io::Result<()> {
        w.write_event(Xml::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        w.write_event(Xml::Start(BytesStart::new(root)))?;
        match items {
            Value::Array(a) => {
                for x in a {
                    write_value(&mut w, item, x)?;
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    write_value(&mut w, k, x)?;
                }
            }
            other => write_value(&mut w, item, other)?,
        }
        w.write_event(Xml::End(BytesEnd::new(root)))
    })();
    match r {
        // Writing into a Vec cannot fail; the bytes are UTF-8 from strings.
        Ok(()) => String::from_utf8_lossy(&w.into_inner()).into_owned(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_post_is_read_and_every_bad_field_named() {
        let p = PostFields::parse(&pairs(&[
            ("api_key", "k"),
            ("service_code", "02.01"),
            ("lat", "34.1"),
            ("long", "113.2"),
            ("description", "路灯坏了"),
            ("attribute[location_detail]", "3号楼"),
            ("phone", "13800000000"),
        ]))
        .expect("parses");
        assert_eq!(p.position, Some((34.1, 113.2)));
        assert_eq!(p.attributes["location_detail"], "3号楼");
        let cat = EventCategory::parse("02.01").expect("category");
        assert!(p.title(cat).starts_with("路灯坏了 【位置 3号楼】"));
        assert!(
            !p.title(cat).contains("13800000000"),
            "the phone is dropped"
        );
        for (bad, code, names) in [
            (
                vec![("lat", "1"), ("long", "2")],
                ErrorCode::BadServiceCode,
                "service_code",
            ),
            (
                vec![("service_code", "x")],
                ErrorCode::BadLocation,
                "lat and long",
            ),
            (
                vec![("service_code", "x"), ("lat", "north"), ("long", "1")],
                ErrorCode::BadLocation,
                "north",
            ),
            (
                vec![("service_code", "x"), ("lat", "1")],
                ErrorCode::BadLocation,
                "lat without long",
            ),
            (
                vec![("service_code", "x"), ("lat", "91"), ("long", "1")],
                ErrorCode::BadLocation,
                "lat=91",
            ),
            (
                vec![
                    ("service_code", "x"),
                    ("address_string", "a"),
                    ("colour", "red"),
                ],
                ErrorCode::BadField,
                "colour",
            ),
            (
                vec![("service_code", "x"), ("service_code", "y")],
                ErrorCode::BadField,
                "service_code is repeated",
            ),
            (
                vec![
                    ("service_code", "x"),
                    ("address_string", "a"),
                    ("attribute[size]", "3"),
                ],
                ErrorCode::BadAttribute,
                "attribute[size]",
            ),
            (
                vec![
                    ("service_code", "x"),
                    ("address_string", "a"),
                    ("media_url", "javascript:x"),
                ],
                ErrorCode::BadMediaUrl,
                "javascript:x",
            ),
        ] {
            let (c, m) = PostFields::parse(&pairs(&bad)).expect_err("refused");
            assert_eq!(c, code, "{bad:?}: {m}");
            assert!(m.contains(names), "{bad:?}: {m}");
        }
    }

    #[test]
    fn service_codes_are_ours_or_configured() {
        let mut cfg = Open311Config::default();
        assert_eq!(cfg.category("04.01").expect("ours").code(), "04.01");
        assert!(cfg.category("POTHOLE").is_err());
        cfg.codes
            .insert("pothole", EventCategory::parse("02.01").expect("category"));
        assert_eq!(cfg.category("POTHOLE").expect("mapped").code(), "02.01");
        assert!(services(&cfg).iter().any(|s| s.service_code == "POTHOLE"));
        assert_eq!(
            services(&cfg).len(),
            geo_core::taxonomy::CATEGORIES.len() + 1
        );
    }

    #[test]
    fn jurisdiction_is_checked() {
        let mut cfg = Open311Config::default();
        assert!(cfg.check_jurisdiction(None).is_ok());
        assert!(cfg.check_jurisdiction(Some("x")).is_err());
        cfg.jurisdiction_id = Some("town.example".into());
        assert!(cfg.check_jurisdiction(Some("town.example")).is_ok());
        assert!(cfg
            .check_jurisdiction(Some("other"))
            .expect_err("refused")
            .contains("\"other\""));
    }

    #[test]
    fn statuses_map_to_open_and_closed() {
        use EventStatus::*;
        for s in [
            Reported, Accepted, Dispatched, InProgress, Escalated, Reopened,
        ] {
            assert_eq!(open311_status(s), "open", "{s:?}");
        }
        for s in [Resolved, Reviewed, Closed, Rejected, Merged] {
            assert_eq!(open311_status(s), "closed", "{s:?}");
        }
    }

    #[test]
    fn xml_nests_lists_by_their_singular() {
        let d = serde_json::to_value(definition("01.01")).expect("json");
        let x = xml("service_definition", "", &d);
        // The specification's order: service_code, then attributes (struct
        // field order, now that JSON objects keep insertion order).
        assert!(
            x.contains(
                "<service_definition><service_code>01.01</service_code><attributes><attribute>"
            ),
            "{x}"
        );
        assert!(x.contains("<attributes><attribute>"), "{x}");
        assert!(x.contains("<code>location_detail</code>"), "{x}");
    }
}
