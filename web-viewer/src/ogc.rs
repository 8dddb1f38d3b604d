//! OGC API – Features (Parts 1, 2 and 3) without HTTP: the collections and
//! their queryable properties, the coordinate reference systems offered and
//! their conversions, the items query (`bbox`, `bbox-crs`, `crs`,
//! `datetime`, `limit`, `offset`, property filters, CQL2 `filter` of
//! [`filter`]) with a 400 naming the
//! parameter and value for every refusal, the typed answers (landing page,
//! conformance, collections, feature pages) and the OpenAPI 3.0 document that
//! lists every collection's parameters. `routes/ogc` serves them under
//! [`PREFIX`]; the features themselves come from `service::features`, the
//! same as the JSON API's, so scope and masking are never written twice.

pub mod filter;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use geo_core::crs::Crs;
use geo_types::coord;
use serde::Serialize;
use serde_json::Value;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::query::{parse_bbox, parse_time, ListQuery};

/// Where the API is mounted.
pub const PREFIX: &str = "/ogc";
/// Items per page when `limit` is absent.
pub const DEFAULT_LIMIT: u64 = 100;
/// The largest `limit` (a larger one is answered with this many: OGC API –
/// Features `/req/core/query-param-limit-response`).
pub const MAX_LIMIT: u64 = 10_000;

/// Conformance classes implemented.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
];

/// A coordinate reference system of the API's answers and bboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutCrs {
    /// WGS84 longitude, latitude: the default and the storage CRS.
    Crs84,
    /// WGS84 with the EPSG axis order latitude, longitude.
    Epsg4326,
    /// Web Mercator metres.
    Epsg3857,
    /// GCJ-02 longitude, latitude (AMap, Tencent): no EPSG code exists.
    Gcj02,
    /// BD-09 longitude, latitude (Baidu): no EPSG code exists.
    Bd09,
}

impl OutCrs {
    /// Every CRS offered, the default first.
    pub const ALL: [OutCrs; 5] = [
        OutCrs::Crs84,
        OutCrs::Epsg4326,
        OutCrs::Epsg3857,
        OutCrs::Gcj02,
        OutCrs::Bd09,
    ];

    /// The URI that names it (`crs=`, `bbox-crs=`, `Content-Crs`). GCJ-02
    /// and BD-09 have no EPSG code: they are named in Wangge's own URN
    /// namespace.
    pub fn uri(self) -> &'static str {
        match self {
            OutCrs::Crs84 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            OutCrs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            OutCrs::Epsg3857 => "http://www.opengis.net/def/crs/EPSG/0/3857",
            OutCrs::Gcj02 => Crs::Gcj02.urn(),
            OutCrs::Bd09 => Crs::Bd09.urn(),
        }
    }

    /// Parses a URI of [`OutCrs::uri`] (also `EPSG:4326`-style short forms
    /// and the `[…]` safe-CURIE); `param` names the parameter in the error.
    pub fn parse(param: &str, s: &str) -> AppResult<OutCrs> {
        let t = s.trim().trim_start_matches('[').trim_end_matches(']');
        let t = t
            .strip_prefix("https://")
            .map_or(t.to_string(), |r| format!("http://{r}"));
        let found = OutCrs::ALL
            .into_iter()
            .find(|c| c.uri() == t)
            .or(match t.as_str() {
                "EPSG:4326" | "epsg:4326" => Some(OutCrs::Epsg4326),
                "EPSG:3857" | "epsg:3857" => Some(OutCrs::Epsg3857),
                "OGC:CRS84" | "CRS84" => Some(OutCrs::Crs84),
                _ => None,
            });
        found.ok_or_else(|| {
            let offered: Vec<&str> = OutCrs::ALL.iter().map(|c| c.uri()).collect();
            AppError::bad(
                ErrorCode::BadCrs,
                format!(
                    "{param}={s:?} is not offered; one of {}",
                    offered.join(", ")
                ),
            )
        })
    }

    /// A CRS84 position in this CRS, in its axis order.
    pub fn from_crs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            OutCrs::Crs84 => (lon, lat),
            OutCrs::Epsg4326 => (lat, lon),
            OutCrs::Epsg3857 => {
                let lat = lat.clamp(-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT);
                let x = EARTH_R * lon.to_radians();
                let y = EARTH_R
                    * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
                        .tan()
                        .ln();
                (x, y)
            }
            OutCrs::Gcj02 | OutCrs::Bd09 => {
                let c = self.chinese().from_wgs84(coord! { x: lon, y: lat });
                (c.x, c.y)
            }
        }
    }

    /// A position of this CRS (in its axis order) in CRS84.
    pub fn to_crs84(self, a: f64, b: f64) -> (f64, f64) {
        match self {
            OutCrs::Crs84 => (a, b),
            OutCrs::Epsg4326 => (b, a),
            OutCrs::Epsg3857 => {
                let lon = (a / EARTH_R).to_degrees();
                let lat =
                    (2.0 * (b / EARTH_R).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
                (lon, lat)
            }
            OutCrs::Gcj02 | OutCrs::Bd09 => {
                let c = self.chinese().to_wgs84(coord! { x: a, y: b });
                (c.x, c.y)
            }
        }
    }

    fn chinese(self) -> Crs {
        if self == OutCrs::Bd09 {
            Crs::Bd09
        } else {
            Crs::Gcj02
        }
    }

    /// A bbox given in this CRS (in its axis order) as CRS84 `[w, s, e, n]`:
    /// the bounds of its four corners converted.
    pub fn bbox_to_crs84(self, b: [f64; 4]) -> [f64; 4] {
        let corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])]
            .map(|(x, y)| self.to_crs84(x, y));
        let fold = |f: fn(f64, f64) -> f64, i: usize, init: f64| {
            corners
                .iter()
                .map(|c| if i == 0 { c.0 } else { c.1 })
                .fold(init, f)
        };
        [
            fold(f64::min, 0, f64::INFINITY),
            fold(f64::min, 1, f64::INFINITY),
            fold(f64::max, 0, f64::NEG_INFINITY),
            fold(f64::max, 1, f64::NEG_INFINITY),
        ]
    }

    /// Converts every position of a GeoJSON geometry (CRS84) in place.
    pub fn convert_geometry(self, geometry: &mut Value) {
        if self == OutCrs::Crs84 {
            return;
        }
        if let Some(c) = geometry.get_mut("coordinates") {
            self.convert_positions(c);
        }
    }

    fn convert_positions(self, v: &mut Value) {
        let Value::Array(items) = v else { return };
        if let [Value::Number(x), Value::Number(y), ..] = items.as_slice() {
            if let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) {
                let (a, b) = self.from_crs84(x, y);
                items[0] = Value::from(a);
                items[1] = Value::from(b);
            }
            return;
        }
        for i in items {
            self.convert_positions(i);
        }
    }
}

/// Sphere radius of Web Mercator (metres).
const EARTH_R: f64 = 6_378_137.0;
/// The latitude where Web Mercator's square world ends.
const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_59;

/// The type of a queryable property (JSON Schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PropType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// True or false.
    Boolean,
    /// An RFC 3339 time (JSON Schema `string`, `format: date-time`).
    #[serde(rename = "string")]
    DateTime,
}

/// A property that `items` filters on with `name=value` (equality).
#[derive(Debug, Clone, Copy)]
pub struct Queryable {
    /// The property's name (and the query parameter's).
    pub name: &'static str,
    /// Its type.
    pub kind: PropType,
    /// What it holds.
    pub about: &'static str,
}

const fn qp(name: &'static str, kind: PropType, about: &'static str) -> Queryable {
    Queryable { name, kind, about }
}

/// One collection of the API: a kind of `service::features`.
#[derive(Debug, Clone, Copy)]
pub struct Collection {
    /// Its ID, the element kind.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// What it holds and who sees what.
    pub description: &'static str,
    /// Its filterable properties.
    pub queryables: &'static [Queryable],
    /// True when `datetime` filters it (events, by their report time).
    pub temporal: bool,
    /// True when a worker sees the features of its grids only (`grid=`
    /// filters them too).
    pub scoped: bool,
}

use PropType::{Boolean, Integer, String as Text};

/// The collections, in the order they are listed.
pub const COLLECTIONS: &[Collection] = &[
    Collection {
        id: "communities",
        title: "Communities (社区/村)",
        description: "Community and village boundaries; town-wide for every role.",
        queryables: &[
            qp("code", Text, "12-digit division code"),
            qp("name", Text, "name"),
            qp("is_village", Boolean, "a village (村) rather than an urban community"),
        ],
        temporal: false,
        scoped: false,
    },
    Collection {
        id: "grids",
        title: "Grids (网格), current version",
        description: "Comprehensive, dedicated and micro grids of the current version with households and residents; town-wide for every role.",
        queryables: &[
            qp("code", Text, "grid code"),
            qp("name", Text, "name"),
            qp("kind", Text, "comprehensive, dedicated or micro"),
            qp("community", Integer, "community ID"),
            qp("parent", Text, "code of the grid a micro grid nests in"),
        ],
        temporal: false,
        scoped: false,
    },
    Collection {
        id: "compounds",
        title: "Compounds (小区)",
        description: "Walled residential compounds; a worker sees those of its grids.",
        queryables: &[
            qp("name", Text, "name"),
            qp("era", Text, "era of construction"),
            qp("built_year", Integer, "year built"),
        ],
        temporal: false,
        scoped: true,
    },
    Collection {
        id: "buildings",
        title: "Buildings (楼栋)",
        description: "Building footprints with usage, levels and households; a worker sees those of its grids.",
        queryables: &[
            qp("usage", Text, "residential, commercial, mixed, public, industrial…"),
            qp("levels", Integer, "storeys"),
            qp("units", Integer, "entrances (单元)"),
            qp("households", Integer, "households"),
            qp("compound", Integer, "compound ID"),
            qp("address", Text, "address"),
        ],
        temporal: false,
        scoped: true,
    },
    Collection {
        id: "places",
        title: "Places (地)",
        description: "Parcels, points of interest and service facilities; a worker sees those of its grids and the base map outside every community.",
        queryables: &[
            qp("name", Text, "name"),
            qp("category", Text, "place category"),
            qp("service", Text, "service kind of a facility"),
        ],
        temporal: false,
        scoped: true,
    },
    Collection {
        id: "roads",
        title: "Roads",
        description: "Road centre lines; town-wide for every role.",
        queryables: &[qp("name", Text, "name"), qp("class", Text, "road class")],
        temporal: false,
        scoped: false,
    },
    Collection {
        id: "events",
        title: "Events (事件)",
        description: "Incidents, complaints and requests. Leaders see all, workers those of their grids, departments those dispatched to them, titles scrubbed of personal data; planners and the big screen see them without title or handler at the centre of their H3 cell (resolution 8, `coarse: true`).",
        queryables: &[
            qp("category", Text, "category NN.MM, or a group NN"),
            qp("status", Text, "status (reported, accepted, …; open, overdue)"),
            qp("source", Text, "source (resident, hotline, patrol, …)"),
            qp("grade", Text, "grade"),
            qp("reported_at", PropType::DateTime, "report time (CQL2 comparisons and T_ predicates)"),
            qp("overdue", Boolean, "past its deadline"),
            qp("satisfaction", Integer, "the reporter's rating 1–5"),
            qp("title", Text, "title as the caller's copy shows it (scrubbed; absent for planners and the screen)"),
            qp("handler", Text, "the department or worker handling it (absent for planners and the screen)"),
        ],
        temporal: true,
        scoped: true,
    },
];

/// The collection of an ID; 404 otherwise.
pub fn collection(id: &str) -> AppResult<&'static Collection> {
    COLLECTIONS.iter().find(|c| c.id == id).ok_or_else(|| {
        let ids: Vec<&str> = COLLECTIONS.iter().map(|c| c.id).collect();
        AppError::NotFound(format!(
            "no collection {id:?}; the collections are {}",
            ids.join(", ")
        ))
    })
}

/// Parameters every items request may carry besides the queryables.
const ITEMS_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "limit",
    "offset",
    "f",
    "filter",
    "filter-lang",
    "filter-crs",
];

/// A parsed `items` request.
#[derive(Debug)]
pub struct ItemsQuery {
    /// The list filter handed to `service::features` (bbox in CRS84, grid,
    /// and for events category, status, source, from, to).
    pub list: ListQuery,
    /// The bbox in CRS84.
    pub bbox: Option<[f64; 4]>,
    /// The CRS of the answer.
    pub crs: OutCrs,
    /// Page size.
    pub limit: u64,
    /// Features skipped.
    pub offset: u64,
    /// Equality filters on properties that `service::features` does not
    /// apply itself.
    pub equals: Vec<(&'static Queryable, String)>,
    /// The CQL2 `filter`, checked against the collection's queryables.
    pub filter: Option<filter::Filter>,
}

impl ItemsQuery {
    /// Reads the query string of `GET /collections/{c}/items`: every
    /// refusal is a 400 naming the parameter and its value.
    pub fn parse(c: &Collection, params: &[(String, String)]) -> AppResult<ItemsQuery> {
        let mut one: HashMap<&str, &str> = HashMap::new();
        for (k, v) in params {
            let known = ITEMS_PARAMS.contains(&k.as_str())
                || (c.scoped && k == "grid")
                || c.queryables.iter().any(|q| q.name == k);
            if !known {
                let mut names: Vec<&str> = ITEMS_PARAMS.to_vec();
                if c.scoped {
                    names.push("grid");
                }
                names.extend(c.queryables.iter().map(|q| q.name));
                return Err(AppError::bad(
                    ErrorCode::BadQuery,
                    format!(
                        "unknown parameter {k}={v:?} for collection {}; it takes {}",
                        c.id,
                        names.join(", ")
                    ),
                ));
            }
            if one.insert(k.as_str(), v.as_str()).is_some() {
                return Err(AppError::bad(
                    ErrorCode::BadQuery,
                    format!("parameter {k} given more than once"),
                ));
            }
        }
        if let Some(f) = one.get("f") {
            if !matches!(
                *f,
                "json" | "geojson" | "application/geo+json" | "application/json"
            ) {
                return Err(AppError::bad(
                    ErrorCode::BadFormat,
                    format!("f={f:?}: only json (GeoJSON) is offered"),
                ));
            }
        }
        let crs = one
            .get("crs")
            .map(|s| OutCrs::parse("crs", s))
            .transpose()?
            .unwrap_or(OutCrs::Crs84);
        let bbox_crs = one
            .get("bbox-crs")
            .map(|s| OutCrs::parse("bbox-crs", s))
            .transpose()?
            .unwrap_or(OutCrs::Crs84);
        let bbox = match one.get("bbox") {
            None => None,
            Some(b) => {
                let raw = parse_bbox_any(b, bbox_crs)?;
                Some(bbox_crs.bbox_to_crs84(raw))
            }
        };
        let limit = match one.get("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<u64>() {
                Ok(n) if n >= 1 => n.min(MAX_LIMIT),
                _ => {
                    return Err(AppError::bad(
                        ErrorCode::BadLimit,
                        format!("limit={l:?}: expected a whole number from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        let offset = match one.get("offset") {
            None => 0,
            Some(o) => o.parse::<u64>().map_err(|_| {
                AppError::bad(
                    ErrorCode::BadQuery,
                    format!("offset={o:?}: expected a whole number of features to skip"),
                )
            })?,
        };
        let mut list = ListQuery {
            bbox: bbox.map(|[w, s, e, n]| format!("{w},{s},{e},{n}")),
            grid: one.get("grid").map(|s| s.to_string()),
            ..ListQuery::default()
        };
        if let Some(dt) = one.get("datetime") {
            let (from, to) = parse_datetime(dt)?;
            if c.temporal {
                list.from = from.map(|t| t.to_rfc3339());
                list.to = to.map(|t| t.to_rfc3339());
            }
        }
        let lang = one
            .get("filter-lang")
            .map(|l| filter::FilterLang::parse(l))
            .transpose()?;
        let filter_crs = one
            .get("filter-crs")
            .map(|s| OutCrs::parse("filter-crs", s))
            .transpose()?
            .unwrap_or(OutCrs::Crs84);
        let filter = match one.get("filter") {
            Some(f) => Some(filter::Filter::parse(
                c,
                f,
                lang.unwrap_or(filter::FilterLang::Cql2Text),
                filter_crs,
            )?),
            None => None,
        };
        let mut equals = Vec::new();
        for q in c.queryables {
            let Some(v) = one.get(q.name) else { continue };
            check_type(q, v)?;
            match (c.id, q.name) {
                // The list's own filters: the same validation and meaning
                // (a category group, `open`, `overdue`) as the JSON API.
                ("events", "category") => list.category = Some(v.to_string()),
                ("events", "status") => list.status = Some(v.to_string()),
                ("events", "source") => list.source = Some(v.to_string()),
                ("grids", "kind") => list.kind = Some(v.to_string()),
                _ => equals.push((q, v.to_string())),
            }
        }
        Ok(ItemsQuery {
            list,
            bbox,
            crs,
            limit,
            offset,
            equals,
            filter,
        })
    }

    /// True when no filter needs every feature's properties.
    pub fn unfiltered(&self) -> bool {
        self.equals.is_empty() && self.filter.is_none()
    }

    /// True when a feature passes the equality filters and the CQL2 filter.
    pub fn keeps(&self, feature: &Value) -> bool {
        self.filter.as_ref().is_none_or(|f| f.keeps(feature)) && self.keeps_equals(feature)
    }

    /// True when the CQL2 filter reads the geometry (equalities never do).
    pub fn needs_geometry(&self) -> bool {
        self.filter
            .as_ref()
            .is_some_and(filter::Filter::needs_geometry)
    }

    fn keeps_equals(&self, feature: &Value) -> bool {
        if self.equals.is_empty() {
            return true;
        }
        self.equals.iter().all(|(q, want)| {
            match feature.get("properties").and_then(|p| p.get(q.name)) {
                Some(Value::String(s)) if q.kind == PropType::DateTime => {
                    parse_time(q.name, s).ok() == parse_time(q.name, want).ok()
                }
                Some(Value::String(s)) => s == want,
                Some(Value::Bool(b)) => b.to_string() == *want,
                Some(Value::Number(n)) => match q.kind {
                    PropType::Integer => n.as_i64().map(|n| n.to_string()) == Some(want.clone()),
                    _ => n.as_f64() == want.parse::<f64>().ok(),
                },
                _ => false,
            }
        })
    }
}

fn check_type(q: &Queryable, v: &str) -> AppResult<()> {
    let ok = match q.kind {
        PropType::Integer => v.parse::<i64>().is_ok(),
        PropType::Number => v.parse::<f64>().is_ok_and(f64::is_finite),
        PropType::Boolean => matches!(v, "true" | "false"),
        PropType::DateTime => parse_time(q.name, v).is_ok(),
        PropType::String => true,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::bad(
            ErrorCode::BadQuery,
            format!("{}={v:?}: expected {}", q.name, type_name(q.kind)),
        ))
    }
}

fn type_name(t: PropType) -> &'static str {
    match t {
        PropType::String => "text",
        PropType::Integer => "a whole number",
        PropType::Number => "a number",
        PropType::Boolean => "true or false",
        PropType::DateTime => "an RFC 3339 time",
    }
}

/// A `bbox` of four numbers in `crs`'s axis order (six, with heights, are
/// read and the heights ignored); the CRS84 rules of [`parse_bbox`] apply
/// to CRS84 and the lon/lat CRSs, EPSG:4326 is lat,lon.
fn parse_bbox_any(s: &str, crs: OutCrs) -> AppResult<[f64; 4]> {
    let n: Vec<&str> = s.split(',').collect();
    let four = if n.len() == 6 {
        format!("{},{},{},{}", n[0], n[1], n[3], n[4])
    } else {
        s.to_string()
    };
    if crs == OutCrs::Epsg4326 {
        // lat,lon order: checked as numbers, then swapped.
        let [a, b, c, d] = parse_bbox(&four)?;
        return Ok([a, b, c, d]);
    }
    parse_bbox(&four)
}

/// A half-open time range `[from, to)`; `None` is open.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Reads `datetime`: an instant, or an interval `start/end` with `..` (or
/// nothing) for an open end; both ends included. Answers the half-open
/// `[from, to)` of the event filter.
pub fn parse_datetime(s: &str) -> AppResult<TimeRange> {
    let bad = |why: &str| {
        AppError::bad(
            ErrorCode::BadTime,
            format!("datetime={s:?}: {why} (RFC 3339 time or date, or an interval start/end with .. for an open end)"),
        )
    };
    let end = |t: &str| -> AppResult<Option<DateTime<Utc>>> {
        match t {
            "" | ".." => Ok(None),
            t => parse_time("datetime", t)
                .map(Some)
                .map_err(|_| bad("not a time")),
        }
    };
    match s.split_once('/') {
        None => {
            let t = end(s)?.ok_or_else(|| bad("empty"))?;
            Ok((Some(t), Some(t + Duration::seconds(1))))
        }
        Some((a, b)) => {
            let (from, to) = (end(a)?, end(b)?);
            if let (Some(f), Some(t)) = (from, to) {
                if f > t {
                    return Err(bad("the start is after the end"));
                }
            }
            Ok((from, to.map(|t| t + Duration::seconds(1))))
        }
    }
}

/// A link of an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Its target.
    pub href: String,
    /// Its relation (`self`, `next`, `items`, `service-desc`…).
    pub rel: &'static str,
    /// The target's media type.
    #[serde(rename = "type")]
    pub media: &'static str,
    /// A title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Link {
    /// A link without a title.
    pub fn new(href: String, rel: &'static str, media: &'static str) -> Link {
        Link {
            href,
            rel,
            media,
            title: None,
        }
    }
}

/// JSON media type.
pub const JSON: &str = "application/json";
/// GeoJSON media type.
pub const GEOJSON: &str = "application/geo+json";
/// The OpenAPI document's media type.
pub const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";

/// `GET /ogc`: the landing page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Landing {
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
    /// Links to the API document, conformance and collections.
    pub links: Vec<Link>,
}

/// `GET /ogc/conformance`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conformance {
    /// The classes of [`CONFORMANCE`].
    #[serde(rename = "conformsTo")]
    pub conforms_to: Vec<&'static str>,
}

/// The spatial and temporal extent of a collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extent {
    /// `{bbox: [[w, s, e, n]], crs}`.
    pub spatial: SpatialExtent,
}

/// The spatial extent (CRS84).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpatialExtent {
    /// One bbox: the town's.
    pub bbox: Vec<[f64; 4]>,
    /// Always CRS84.
    pub crs: &'static str,
}

/// One collection's description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionInfo {
    /// ID.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
    /// Always `feature`.
    #[serde(rename = "itemType")]
    pub item_type: &'static str,
    /// The town's extent, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extent: Option<Extent>,
    /// The CRSs offered for `crs`.
    pub crs: Vec<&'static str>,
    /// The CRS the store holds.
    #[serde(rename = "storageCrs")]
    pub storage_crs: &'static str,
    /// `self` and `items`.
    pub links: Vec<Link>,
}

impl CollectionInfo {
    /// The description of `c` with links under `base` (the API's root URL).
    pub fn of(c: &Collection, base: &str, extent: Option<[f64; 4]>) -> CollectionInfo {
        let me = format!("{base}/collections/{}", c.id);
        CollectionInfo {
            id: c.id,
            title: c.title,
            description: c.description,
            item_type: "feature",
            extent: extent.map(|b| Extent {
                spatial: SpatialExtent {
                    bbox: vec![b],
                    crs: OutCrs::Crs84.uri(),
                },
            }),
            crs: OutCrs::ALL.iter().map(|c| c.uri()).collect(),
            storage_crs: OutCrs::Crs84.uri(),
            links: vec![
                Link::new(me.clone(), "self", JSON),
                Link::new(format!("{me}/items"), "items", GEOJSON),
                Link::new(
                    format!("{me}/queryables"),
                    "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "application/schema+json",
                ),
            ],
        }
    }
}

/// `GET /ogc/collections`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collections {
    /// `self`.
    pub links: Vec<Link>,
    /// Every collection.
    pub collections: Vec<CollectionInfo>,
    /// The CRSs offered by every collection (Part 2).
    pub crs: Vec<&'static str>,
}

/// `GET /ogc/collections/{c}/items`: one page of features.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Items {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Features matching, all pages.
    #[serde(rename = "numberMatched")]
    pub number_matched: u64,
    /// Features of this page.
    #[serde(rename = "numberReturned")]
    pub number_returned: u64,
    /// When the answer was made.
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    /// `self`, `collection`, and `next` while more remain.
    pub links: Vec<Link>,
    /// The features, each with its `id`.
    pub features: Vec<Value>,
}

/// `GET /ogc/collections/{c}/queryables`: a JSON Schema of the properties
/// that filter the items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queryables {
    /// JSON Schema version.
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    /// The document's URL.
    #[serde(rename = "$id")]
    pub id: String,
    /// Always `object`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Title.
    pub title: &'static str,
    /// Name → type and description.
    pub properties: BTreeMap<&'static str, PropSchema>,
}

/// One queryable's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropSchema {
    /// JSON type (`format: geometry-any` for the geometry).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<PropType>,
    /// Geometry marker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    /// Description.
    pub description: &'static str,
}

impl Queryables {
    /// The queryables of `c`.
    pub fn of(c: &Collection, base: &str) -> Queryables {
        let mut properties: BTreeMap<&'static str, PropSchema> = c
            .queryables
            .iter()
            .map(|q| {
                (
                    q.name,
                    PropSchema {
                        kind: Some(q.kind),
                        format: (q.kind == PropType::DateTime).then_some("date-time"),
                        description: q.about,
                    },
                )
            })
            .collect();
        properties.insert(
            "geometry",
            PropSchema {
                kind: None,
                format: Some("geometry-any"),
                description: "the feature's geometry (bbox filters it)",
            },
        );
        Queryables {
            schema: "https://json-schema.org/draft/2019-09/schema",
            id: format!("{base}/collections/{}/queryables", c.id),
            kind: "object",
            title: c.title,
            properties,
        }
    }
}

/// The OpenAPI 3.0 document (`service-desc`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenApi {
    /// `3.0.3`.
    pub openapi: &'static str,
    /// Title and version.
    pub info: ApiInfo,
    /// The API's root URL.
    pub servers: Vec<Server>,
    /// Path → its GET.
    pub paths: BTreeMap<String, PathItem>,
}

/// OpenAPI `info`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiInfo {
    /// Title.
    pub title: &'static str,
    /// The crate's version.
    pub version: &'static str,
    /// Description.
    pub description: &'static str,
}

/// OpenAPI `server`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    /// URL.
    pub url: String,
}

/// OpenAPI path item: only GET.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathItem {
    /// The GET operation.
    pub get: Operation,
}

/// OpenAPI operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// Summary.
    pub summary: String,
    /// Unique ID.
    #[serde(rename = "operationId")]
    pub operation_id: String,
    /// Its parameters.
    pub parameters: Vec<Parameter>,
    /// Status → answer.
    pub responses: BTreeMap<&'static str, ApiResponse>,
}

/// OpenAPI parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// Name.
    pub name: String,
    /// `query` or `path`.
    #[serde(rename = "in")]
    pub location: &'static str,
    /// Required (path parameters).
    pub required: bool,
    /// Description.
    pub description: String,
    /// `form` for query parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<&'static str>,
    /// `false` for a comma list (bbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explode: Option<bool>,
    /// Its schema.
    pub schema: ParamSchema,
}

/// OpenAPI schema of a parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamSchema {
    /// JSON type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// For arrays: the items' type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<ParamSchema>>,
    /// Smallest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<u64>,
    /// Largest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<u64>,
    /// Default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The allowed values.
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<&'static str>>,
}

impl ParamSchema {
    fn of(kind: &'static str) -> ParamSchema {
        ParamSchema {
            kind,
            items: None,
            minimum: None,
            maximum: None,
            default: None,
            allowed: None,
        }
    }
}

/// OpenAPI response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiResponse {
    /// Description.
    pub description: &'static str,
}

fn query_param(name: &str, description: String, schema: ParamSchema) -> Parameter {
    Parameter {
        name: name.to_string(),
        location: "query",
        required: false,
        description,
        style: Some("form"),
        explode: Some(false),
        schema,
    }
}

fn path_param(name: &str, description: &str) -> Parameter {
    Parameter {
        name: name.to_string(),
        location: "path",
        required: true,
        description: description.to_string(),
        style: None,
        explode: None,
        schema: ParamSchema::of("string"),
    }
}

fn op(summary: String, id: String, parameters: Vec<Parameter>) -> PathItem {
    let mut responses = BTreeMap::new();
    responses.insert(
        "200",
        ApiResponse {
            description: "the answer",
        },
    );
    responses.insert(
        "400",
        ApiResponse {
            description: "a bad parameter; the message names it",
        },
    );
    responses.insert(
        "401",
        ApiResponse {
            description: "not signed in",
        },
    );
    responses.insert(
        "404",
        ApiResponse {
            description: "no such collection or feature (or not in the caller's scope)",
        },
    );
    PathItem {
        get: Operation {
            summary,
            operation_id: id,
            parameters,
            responses,
        },
    }
}

/// The items parameters of `c`: the standard ones and its queryables.
pub fn items_parameters(c: &Collection) -> Vec<Parameter> {
    let crs_enum: Vec<&'static str> = OutCrs::ALL.iter().map(|c| c.uri()).collect();
    let mut number_array = ParamSchema::of("array");
    number_array.items = Some(Box::new(ParamSchema::of("number")));
    let mut limit = ParamSchema::of("integer");
    limit.minimum = Some(1);
    limit.maximum = Some(MAX_LIMIT);
    limit.default = Some(Value::from(DEFAULT_LIMIT));
    let mut offset = ParamSchema::of("integer");
    offset.minimum = Some(0);
    offset.default = Some(Value::from(0));
    let mut crs = ParamSchema::of("string");
    crs.allowed = Some(crs_enum.clone());
    let mut out = vec![
        query_param(
            "bbox",
            "only features whose bounds meet w,s,e,n (in bbox-crs; CRS84 by default)".into(),
            number_array,
        ),
        query_param("bbox-crs", "the CRS of bbox".into(), crs.clone()),
        query_param(
            "crs",
            "the CRS of the answer's geometries (Content-Crs says it)".into(),
            crs,
        ),
        query_param(
            "datetime",
            if c.temporal {
                "the report time: an instant or an interval start/end (.. for open)".into()
            } else {
                "accepted and checked; the collection has no time, so it keeps every feature".into()
            },
            ParamSchema::of("string"),
        ),
        query_param(
            "limit",
            format!("features per page (at most {MAX_LIMIT})"),
            limit,
        ),
        query_param(
            "offset",
            "features skipped (the next link carries it)".into(),
            offset,
        ),
    ];
    let mut lang = ParamSchema::of("string");
    lang.allowed = Some(filter::FilterLang::NAMES.to_vec());
    lang.default = Some(Value::from("cql2-text"));
    let mut filter_crs = ParamSchema::of("string");
    filter_crs.allowed = Some(crs_enum.clone());
    out.push(query_param(
        "filter",
        format!(
            "a CQL2 filter over the queryables ({}) and geometry, as the caller's copy of each feature carries them",
            c.queryables.iter().map(|q| q.name).collect::<Vec<_>>().join(", ")
        ),
        ParamSchema::of("string"),
    ));
    out.push(query_param(
        "filter-lang",
        "cql2-text (default) or cql2-json; cql-text (the draft's name) is read as cql2-text".into(),
        lang,
    ));
    out.push(query_param(
        "filter-crs",
        "the CRS of the filter's geometry literals (CRS84 by default)".into(),
        filter_crs,
    ));
    if c.scoped {
        out.push(query_param(
            "grid",
            "only features assigned to this grid code (any level)".into(),
            ParamSchema::of("string"),
        ));
    }
    for q in c.queryables {
        let kind = match q.kind {
            PropType::String => "string",
            PropType::Integer => "integer",
            PropType::Number => "number",
            PropType::Boolean => "boolean",
            PropType::DateTime => "string",
        };
        out.push(query_param(
            q.name,
            format!("equals: {}", q.about),
            ParamSchema::of(kind),
        ));
    }
    out
}

impl OpenApi {
    /// The document for the API at `base`.
    pub fn of(base: &str) -> OpenApi {
        let mut paths = BTreeMap::new();
        paths.insert(
            "/".to_string(),
            op("landing page".into(), "getLandingPage".into(), vec![]),
        );
        paths.insert(
            "/conformance".to_string(),
            op(
                "conformance classes".into(),
                "getConformance".into(),
                vec![],
            ),
        );
        paths.insert(
            "/api".to_string(),
            op("this document".into(), "getApi".into(), vec![]),
        );
        paths.insert(
            "/collections".to_string(),
            op("the collections".into(), "getCollections".into(), vec![]),
        );
        for c in COLLECTIONS {
            let p = format!("/collections/{}", c.id);
            paths.insert(
                p.clone(),
                op(
                    format!("the {} collection", c.id),
                    format!("describe_{}", c.id),
                    vec![],
                ),
            );
            paths.insert(
                format!("{p}/queryables"),
                op(
                    format!("queryables of {}", c.id),
                    format!("queryables_{}", c.id),
                    vec![],
                ),
            );
            paths.insert(
                format!("{p}/items"),
                op(
                    format!("features of {}", c.id),
                    format!("items_{}", c.id),
                    items_parameters(c),
                ),
            );
            let crs = items_parameters(c)
                .into_iter()
                .filter(|p| p.name == "crs")
                .collect();
            let mut params: Vec<Parameter> = vec![path_param("featureId", "the feature's ID")];
            params.extend::<Vec<Parameter>>(crs);
            paths.insert(
                format!("{p}/items/{{featureId}}"),
                op(
                    format!("one feature of {}", c.id),
                    format!("item_{}", c.id),
                    params,
                ),
            );
        }
        OpenApi {
            openapi: "3.0.3",
            info: ApiInfo {
                title: "Wangge OGC API – Features",
                version: env!("CARGO_PKG_VERSION"),
                description: "The town's map elements as OGC API – Features (Part 1 Core, GeoJSON, Part 2 CRS, Part 3 queryables and CQL2 filters), scoped and masked as the JSON API is; a filter sees only what the caller's copy of a feature carries.",
            },
            servers: vec![Server { url: base.to_string() }],
            paths,
        }
    }
}

impl crate::service::features::Keep for ItemsQuery {
    fn keeps(&self, feature: &Value) -> bool {
        ItemsQuery::keeps(self, feature)
    }
    fn needs_geometry(&self) -> bool {
        ItemsQuery::needs_geometry(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(c: &str, q: &[(&str, &str)]) -> String {
        match ItemsQuery::parse(collection(c).expect("collection"), &params(q)) {
            Err(AppError::BadRequest(_, m)) => m,
            Err(e) => panic!("not a 400: {e:?}"),
            Ok(q) => panic!("accepted {q:?}"),
        }
    }

    #[test]
    fn bad_parameters_are_named_with_their_values() {
        assert!(err("buildings", &[("limit", "lots")]).contains("limit=\"lots\""));
        assert!(err("buildings", &[("limit", "0")]).contains("limit"));
        assert!(err("buildings", &[("bbox", "1,2,3")]).contains("bbox=\"1,2,3\""));
        assert!(err("buildings", &[("bbox", "3,2,1,4")]).contains("bbox"));
        assert!(err("buildings", &[("crs", "EPSG:27700")]).contains("crs=\"EPSG:27700\""));
        assert!(err("buildings", &[("bbox-crs", "x")]).contains("bbox-crs=\"x\""));
        assert!(err("events", &[("datetime", "yesterday")]).contains("datetime=\"yesterday\""));
        assert!(err("events", &[("datetime", "2026-10-02/2026-10-01")]).contains("after the end"));
        assert!(err("buildings", &[("colour", "red")]).contains("colour=\"red\""));
        assert!(err("buildings", &[("levels", "six")]).contains("levels=\"six\""));
        assert!(err("roads", &[("grid", "x")]).contains("unknown parameter grid"));
        assert!(err("buildings", &[("offset", "-1")]).contains("offset=\"-1\""));
        assert!(err("buildings", &[("f", "html")]).contains("f=\"html\""));
        assert!(err("buildings", &[("limit", "5"), ("limit", "6")]).contains("more than once"));
    }

    #[test]
    fn limit_is_capped_and_defaulted() {
        let c = collection("buildings").expect("buildings");
        let q = ItemsQuery::parse(c, &params(&[("limit", "999999")])).expect("parsed");
        assert_eq!(q.limit, MAX_LIMIT);
        let q = ItemsQuery::parse(c, &[]).expect("parsed");
        assert_eq!(
            (q.limit, q.offset, q.crs),
            (DEFAULT_LIMIT, 0, OutCrs::Crs84)
        );
    }

    #[test]
    fn datetime_instants_and_open_intervals() {
        let (f, t) = parse_datetime("2026-10-01T00:00:00Z").expect("instant");
        assert_eq!((t.unwrap() - f.unwrap()).num_seconds(), 1);
        let (f, t) = parse_datetime("../2026-10-01T00:00:00Z").expect("open start");
        assert!(f.is_none() && t.is_some());
        let (f, t) = parse_datetime("2026-10-01/..").expect("open end");
        assert!(f.is_some() && t.is_none());
    }

    #[test]
    fn crs_round_trips_and_axis_order() {
        let (lon, lat) = (114.3, 34.79);
        assert_eq!(OutCrs::Epsg4326.from_crs84(lon, lat), (lat, lon));
        let (x, y) = OutCrs::Epsg3857.from_crs84(lon, lat);
        assert!((x - 12_723_817.8).abs() < 1.0, "x {x}");
        assert!(y > 4.0e6 && y < 4.2e6, "y {y}");
        for c in OutCrs::ALL {
            let (a, b) = c.from_crs84(lon, lat);
            let (lon2, lat2) = c.to_crs84(a, b);
            assert!(
                (lon2 - lon).abs() < 1e-7 && (lat2 - lat).abs() < 1e-7,
                "{c:?}"
            );
            assert_eq!(OutCrs::parse("crs", c.uri()).expect("its own URI"), c);
        }
        // GCJ-02 moves a point in China by hundreds of metres.
        let (g, _) = OutCrs::Gcj02.from_crs84(lon, lat);
        assert!((g - lon).abs() > 1e-3);
        // A bbox in EPSG:4326 is lat,lon.
        let b = OutCrs::Epsg4326.bbox_to_crs84([34.0, 114.0, 35.0, 115.0]);
        assert_eq!(b, [114.0, 34.0, 115.0, 35.0]);
    }

    #[test]
    fn geometries_convert_at_every_depth() {
        let mut g = serde_json::json!({"type": "Polygon", "coordinates": [[[114.3, 34.79], [114.31, 34.79], [114.3, 34.8], [114.3, 34.79]]]});
        OutCrs::Epsg4326.convert_geometry(&mut g);
        assert_eq!(g["coordinates"][0][1], serde_json::json!([34.79, 114.31]));
    }

    #[test]
    fn the_openapi_document_lists_every_collections_parameters() {
        let doc = OpenApi::of("http://127.0.0.1:1/ogc");
        for c in COLLECTIONS {
            let item = &doc.paths[&format!("/collections/{}/items", c.id)];
            let names: Vec<&str> = item
                .get
                .parameters
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            for n in ["bbox", "datetime", "limit", "crs", "bbox-crs"] {
                assert!(names.contains(&n), "{}: {n}", c.id);
            }
            for q in c.queryables {
                assert!(names.contains(&q.name), "{}: {}", c.id, q.name);
            }
        }
    }
}
