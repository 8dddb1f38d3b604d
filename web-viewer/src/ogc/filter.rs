//! CQL2 filters of OGC API – Features Part 3 (`filter`, `filter-lang`,
//! `filter-crs` on `items`): the `cql2` crate parses the text or JSON
//! encoding; this module checks every property against the collection's
//! queryables and every comparison's types, and compiles the expression into
//! a [`Filter`] that is evaluated in Rust over the features the caller may
//! see, as `service::features` built them for it.
//!
//! Why in Rust and not in the store: the features a caller sees are scoped
//! and masked copies (a planner's events carry no title or handler and sit
//! at the centre of their H3 cell), and a filter must only ever see that
//! copy, or a yes/no answer would leak what the copy hides. A property the
//! copy does not carry is NULL to the filter: `handler = 'x'` matches none
//! of a planner's events, whatever the handler is. A town's few thousand
//! features are filtered in milliseconds.
//!
//! Three-valued logic as in CQL2: a comparison with NULL is unknown, and a
//! feature is kept only when the whole filter is true. Spatial predicates
//! are evaluated with `geo` (`Intersects`, and `Relate` for the others) in
//! CRS84, the literal converted from `filter-crs` first; temporal ones on
//! instants and intervals as CQL2 defines them.
//!
//! ```
//! use web_viewer::ogc::{collection, filter::{Filter, FilterLang}, OutCrs};
//! let c = collection("buildings").unwrap();
//! let f = Filter::parse(c, "levels > 5 AND usage IN ('residential','mixed')", FilterLang::Cql2Text, OutCrs::Crs84).unwrap();
//! let tall = serde_json::json!({"type": "Feature", "geometry": null,
//!     "properties": {"levels": 6, "usage": "mixed"}});
//! assert!(f.keeps(&tall));
//! assert!(Filter::parse(c, "colour = 'red'", FilterLang::Cql2Text, OutCrs::Crs84).is_err());
//! ```

use std::cmp::Ordering;

use cql2::Expr;
use geo::{BoundingRect, CoordsIter, Intersects, MapCoords, Relate};
use geo_types::Geometry;
use serde::Deserialize;
use serde_json::Value;

use super::{Collection, OutCrs, PropType, Queryable};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::query::parse_time;

/// The encodings of `filter-lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLang {
    /// `cql2-text` (the default; `cql-text`, the draft's name GDAL sends,
    /// is read as it).
    Cql2Text,
    /// `cql2-json`.
    Cql2Json,
}

impl FilterLang {
    /// The values `filter-lang` takes, as the OpenAPI document lists them.
    pub const NAMES: [&'static str; 3] = ["cql2-text", "cql2-json", "cql-text"];

    /// Reads `filter-lang`.
    pub fn parse(s: &str) -> AppResult<FilterLang> {
        match s {
            "cql2-text" | "cql-text" => Ok(FilterLang::Cql2Text),
            "cql2-json" => Ok(FilterLang::Cql2Json),
            _ => Err(AppError::bad(
                ErrorCode::BadFilter,
                format!("filter-lang={s:?}: one of cql2-text, cql2-json"),
            )),
        }
    }
}

/// The longest filter read (bytes).
pub const MAX_FILTER_LEN: usize = 64 * 1024;
/// The deepest nesting of a filter.
const MAX_DEPTH: usize = 64;

/// The name of a feature's geometry in a filter.
pub const GEOMETRY: &str = "geometry";

/// A checked, compiled CQL2 filter of one collection.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
}

/// A time: an instant (`start == end`) or an interval, milliseconds since
/// 1970, open ends at `i64::MIN`/`i64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: i64,
    end: i64,
}

impl Span {
    fn instant(ms: i64) -> Span {
        Span { start: ms, end: ms }
    }
}

/// A value a filter compares.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    Num(f64),
    Text(String),
    Time(Span),
}

impl Scalar {
    fn cmp(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
            (Scalar::Num(a), Scalar::Num(b)) => a.partial_cmp(b),
            (Scalar::Text(a), Scalar::Text(b)) => Some(a.cmp(b)),
            (Scalar::Time(a), Scalar::Time(b)) => Some(a.start.cmp(&b.start)),
            _ => None,
        }
    }
}

/// The type of an operand, checked before any feature is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Num,
    Text,
    Time,
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Null => "NULL",
        Kind::Bool => "true or false",
        Kind::Num => "a number",
        Kind::Text => "text",
        Kind::Time => "a time",
    }
}

/// One side of a comparison.
#[derive(Debug, Clone)]
enum Operand {
    Prop(&'static Queryable),
    Lit(Scalar),
}

impl Operand {
    fn kind(&self) -> Kind {
        match self {
            Operand::Prop(q) => match q.kind {
                PropType::String => Kind::Text,
                PropType::Integer | PropType::Number => Kind::Num,
                PropType::Boolean => Kind::Bool,
                PropType::DateTime => Kind::Time,
            },
            Operand::Lit(s) => match s {
                Scalar::Null => Kind::Null,
                Scalar::Bool(_) => Kind::Bool,
                Scalar::Num(_) => Kind::Num,
                Scalar::Text(_) => Kind::Text,
                Scalar::Time(_) => Kind::Time,
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            Operand::Prop(q) => format!("property {} ({})", q.name, super::type_name(q.kind)),
            Operand::Lit(Scalar::Text(t)) => format!("'{t}'"),
            Operand::Lit(Scalar::Num(n)) => n.to_string(),
            Operand::Lit(Scalar::Bool(b)) => b.to_string(),
            Operand::Lit(Scalar::Null) => "NULL".into(),
            Operand::Lit(Scalar::Time(_)) => "a time literal".into(),
        }
    }

    fn value(&self, f: &Value) -> Scalar {
        match self {
            Operand::Lit(s) => s.clone(),
            Operand::Prop(q) => {
                let v = f.get("properties").and_then(|p| p.get(q.name));
                match v {
                    None | Some(Value::Null) => Scalar::Null,
                    Some(Value::Bool(b)) => Scalar::Bool(*b),
                    Some(Value::Number(n)) => n.as_f64().map_or(Scalar::Null, Scalar::Num),
                    Some(Value::String(s)) if q.kind == PropType::DateTime => parse_time(q.name, s)
                        .map_or(Scalar::Null, |t| {
                            Scalar::Time(Span::instant(t.timestamp_millis()))
                        }),
                    Some(Value::String(s)) => Scalar::Text(s.clone()),
                    Some(_) => Scalar::Null,
                }
            }
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Spatial predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spatial {
    Intersects,
    Disjoint,
    Equals,
    Touches,
    Within,
    Overlaps,
    Crosses,
    Contains,
}

/// A compiled filter: `eval` answers true, false or unknown (`None`).
#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(Option<bool>),
    Compare(Cmp, Operand, Operand),
    Like(Operand, Vec<char>),
    In(Operand, Vec<Operand>),
    Between(Operand, Operand, Operand),
    IsNull(Operand),
    /// `geometry IS NULL`: the feature is served with `"geometry": null`
    /// (or none).
    GeometryIsNull,
    /// The feature's geometry against a literal (its bounds kept to skip
    /// most features cheaply).
    Spatial(Spatial, Box<Geometry<f64>>, Option<geo_types::Rect<f64>>),
    /// `op(a, b)` of two times.
    Temporal(String, Operand, Operand),
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::bad(ErrorCode::BadFilter, msg)
}

impl Filter {
    /// Parses and checks `text` for collection `c`; geometry literals are in
    /// `crs` (`filter-crs`). Every refusal is a 400 `bad_filter` naming the
    /// property, operator or value at fault.
    pub fn parse(c: &Collection, text: &str, lang: FilterLang, crs: OutCrs) -> AppResult<Filter> {
        if text.len() > MAX_FILTER_LEN {
            return Err(bad(format!(
                "filter of {} bytes; at most {MAX_FILTER_LEN}",
                text.len()
            )));
        }
        let expr = match lang {
            FilterLang::Cql2Text => cql2::parse_text(text).map_err(|e| {
                bad(format!(
                    "filter {text:?} is not CQL2 text: {}",
                    short(&e.to_string())
                ))
            })?,
            FilterLang::Cql2Json => cql2::parse_json(text)
                .map_err(|e| bad(format!("filter {text:?} is not CQL2 JSON: {e}")))?,
        };
        let root = Compiler { c, crs }.node(&expr, 0)?;
        Ok(Filter { root })
    }

    /// True when `feature` (a GeoJSON feature, geometry in CRS84) passes.
    pub fn keeps(&self, feature: &Value) -> bool {
        self.root.eval(feature) == Some(true)
    }

    /// True when the filter reads the feature's geometry (a spatial
    /// predicate or `geometry IS NULL`); else it is answered from the
    /// properties alone.
    pub fn needs_geometry(&self) -> bool {
        self.root.reads_geometry()
    }
}

impl Node {
    fn reads_geometry(&self) -> bool {
        match self {
            Node::And(kids) | Node::Or(kids) => kids.iter().any(Node::reads_geometry),
            Node::Not(kid) => kid.reads_geometry(),
            Node::GeometryIsNull | Node::Spatial(..) => true,
            _ => false,
        }
    }
}

/// The first line of a parser's message, at most 300 characters.
fn short(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    line.chars().take(300).collect()
}

struct Compiler<'a> {
    c: &'a Collection,
    crs: OutCrs,
}

impl Compiler<'_> {
    fn property(&self, name: &str) -> AppResult<&'static Queryable> {
        let q = self.c.queryables.iter().find(|q| q.name == name);
        q.ok_or_else(|| {
            let names: Vec<&str> = self.c.queryables.iter().map(|q| q.name).collect();
            bad(format!(
                "property {name:?} is not queryable in collection {}; its queryables are {}, {GEOMETRY}",
                self.c.id,
                names.join(", ")
            ))
        })
    }

    fn args<'e>(&self, op: &str, args: &'e [Box<Expr>], n: usize) -> AppResult<&'e [Box<Expr>]> {
        if args.len() == n {
            Ok(args)
        } else {
            Err(bad(format!("{op} takes {n} arguments, not {}", args.len())))
        }
    }

    fn node(&self, e: &Expr, depth: usize) -> AppResult<Node> {
        if depth > MAX_DEPTH {
            return Err(bad(format!("filter nested deeper than {MAX_DEPTH}")));
        }
        let d = depth + 1;
        match e {
            Expr::Bool(b) => Ok(Node::Const(Some(*b))),
            Expr::Null => Ok(Node::Const(None)),
            Expr::Operation { op, args } => {
                let op = op.as_str();
                match op.to_ascii_lowercase().as_str() {
                    "and" | "or" => {
                        let kids = args
                            .iter()
                            .map(|a| self.node(a, d))
                            .collect::<AppResult<Vec<_>>>()?;
                        Ok(if op.eq_ignore_ascii_case("and") { Node::And(kids) } else { Node::Or(kids) })
                    }
                    "not" => {
                        let a = self.args(op, args, 1)?;
                        Ok(Node::Not(Box::new(self.node(&a[0], d)?)))
                    }
                    "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                        let a = self.args(op, args, 2)?;
                        let (l, r) = (self.operand(&a[0])?, self.operand(&a[1])?);
                        let (l, r) = comparable(op, l, r)?;
                        let cmp = match op {
                            "=" => Cmp::Eq,
                            "<>" => Cmp::Ne,
                            "<" => Cmp::Lt,
                            "<=" => Cmp::Le,
                            ">" => Cmp::Gt,
                            _ => Cmp::Ge,
                        };
                        if l.kind() == Kind::Bool && !matches!(cmp, Cmp::Eq | Cmp::Ne) {
                            return Err(bad(format!("{op} does not order true and false")));
                        }
                        Ok(Node::Compare(cmp, l, r))
                    }
                    "like" => {
                        let a = self.args(op, args, 2)?;
                        let l = self.operand(&a[0])?;
                        if l.kind() != Kind::Text {
                            return Err(bad(format!("LIKE needs text on its left, not {}", l.describe())));
                        }
                        match self.operand(&a[1])? {
                            Operand::Lit(Scalar::Text(p)) => Ok(Node::Like(l, p.chars().collect())),
                            o => Err(bad(format!("LIKE takes a text pattern, not {}", o.describe()))),
                        }
                    }
                    "in" => {
                        let a = self.args(op, args, 2)?;
                        let l = self.operand(&a[0])?;
                        let Expr::Array(items) = a[1].as_ref() else {
                            return Err(bad("IN takes a list in parentheses"));
                        };
                        let mut list = Vec::with_capacity(items.len());
                        for i in items {
                            let (_, r) = comparable("IN", l.clone(), self.operand(i)?)?;
                            list.push(r);
                        }
                        Ok(Node::In(l, list))
                    }
                    "between" => {
                        let a = self.args(op, args, 3)?;
                        let v = self.operand(&a[0])?;
                        let (v, lo) = comparable("BETWEEN", v, self.operand(&a[1])?)?;
                        let (v, hi) = comparable("BETWEEN", v, self.operand(&a[2])?)?;
                        if !matches!(v.kind(), Kind::Num | Kind::Time) {
                            return Err(bad(format!("BETWEEN needs numbers or times, not {}", v.describe())));
                        }
                        Ok(Node::Between(v, lo, hi))
                    }
                    "isnull" => {
                        let a = self.args(op, args, 1)?;
                        if is_geometry_property(&a[0]) {
                            return Ok(Node::GeometryIsNull);
                        }
                        Ok(Node::IsNull(self.operand(&a[0])?))
                    }
                    s if s.starts_with("s_") => self.spatial(op, args),
                    s if s.starts_with("t_") => {
                        const T: &[&str] = &[
                            "t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals",
                            "t_finishedby", "t_finishes", "t_intersects", "t_meets", "t_metby",
                            "t_overlappedby", "t_overlaps", "t_startedby", "t_starts",
                        ];
                        if !T.contains(&s) {
                            return Err(bad(format!("temporal operator {op} is not offered; one of {}", T.join(", "))));
                        }
                        let a = self.args(op, args, 2)?;
                        let (l, r) = (self.operand(&a[0])?, self.operand(&a[1])?);
                        for o in [&l, &r] {
                            if o.kind() != Kind::Time {
                                return Err(bad(format!("{op} compares times, not {}", o.describe())));
                            }
                        }
                        Ok(Node::Temporal(s.to_string(), l, r))
                    }
                    _ => Err(bad(format!(
                        "operator {op:?} is not offered; filters take =, <>, <, <=, >, >=, AND, OR, NOT, LIKE, IN, BETWEEN, IS NULL, S_INTERSECTS and the other S_ predicates, and the T_ predicates"
                    ))),
                }
            }
            Expr::Property { property } => {
                // A boolean property alone is a predicate.
                let q = self.property(property)?;
                if q.kind != PropType::Boolean {
                    return Err(bad(format!(
                        "property {property} ({}) alone is not a condition",
                        super::type_name(q.kind)
                    )));
                }
                Ok(Node::Compare(
                    Cmp::Eq,
                    Operand::Prop(q),
                    Operand::Lit(Scalar::Bool(true)),
                ))
            }
            other => Err(bad(format!(
                "{} is a value, not a condition",
                describe_expr(other)
            ))),
        }
    }

    fn operand(&self, e: &Expr) -> AppResult<Operand> {
        Ok(match e {
            Expr::Property { property } => {
                if property == GEOMETRY {
                    return Err(bad("the geometry is only compared by the S_ predicates"));
                }
                Operand::Prop(self.property(property)?)
            }
            Expr::Float(n) => Operand::Lit(Scalar::Num(*n)),
            Expr::Literal(s) => Operand::Lit(Scalar::Text(s.clone())),
            Expr::Bool(b) => Operand::Lit(Scalar::Bool(*b)),
            Expr::Null => Operand::Lit(Scalar::Null),
            Expr::Timestamp { .. } | Expr::Date { .. } | Expr::Interval { .. } => {
                Operand::Lit(Scalar::Time(time_literal(e)?))
            }
            other => {
                return Err(bad(format!(
                    "{} is not offered as an operand; properties and literals are",
                    describe_expr(other)
                )))
            }
        })
    }

    fn spatial(&self, op: &str, args: &[Box<Expr>]) -> AppResult<Node> {
        let which = match op.to_ascii_lowercase().as_str() {
            "s_intersects" => Spatial::Intersects,
            "s_disjoint" => Spatial::Disjoint,
            "s_equals" => Spatial::Equals,
            "s_touches" => Spatial::Touches,
            "s_within" => Spatial::Within,
            "s_overlaps" => Spatial::Overlaps,
            "s_crosses" => Spatial::Crosses,
            "s_contains" => Spatial::Contains,
            _ => return Err(bad(format!("spatial operator {op} is not offered"))),
        };
        let a = self.args(op, args, 2)?;
        // The feature's geometry on one side, a literal on the other; with
        // the literal first, the asymmetric predicates turn round.
        let (lit, which) = match (is_geometry_property(&a[0]), is_geometry_property(&a[1])) {
            (true, false) => (&a[1], which),
            (false, true) => (
                &a[0],
                match which {
                    Spatial::Within => Spatial::Contains,
                    Spatial::Contains => Spatial::Within,
                    w => w,
                },
            ),
            _ => {
                return Err(bad(format!(
                    "{op} compares the property {GEOMETRY} with a geometry literal (POINT, POLYGON, BBOX…)"
                )))
            }
        };
        let g = self.geometry(lit)?;
        let rect = g.bounding_rect();
        Ok(Node::Spatial(which, Box::new(g), rect))
    }

    /// A geometry literal in CRS84.
    fn geometry(&self, e: &Expr) -> AppResult<Geometry<f64>> {
        let g: Geometry<f64> = match e {
            Expr::Geometry(g) => {
                let v =
                    serde_json::to_value(g).map_err(|e| bad(format!("geometry literal: {e}")))?;
                let gj = geojson::Geometry::deserialize(&v)
                    .map_err(|e| bad(format!("geometry literal: {e}")))?;
                Geometry::try_from(&gj.value).map_err(|e| bad(format!("geometry literal: {e}")))?
            }
            Expr::BBox { bbox } => {
                let n: Vec<f64> = bbox
                    .iter()
                    .map(|b| match b.as_ref() {
                        Expr::Float(f) => Ok(*f),
                        o => Err(bad(format!("BBOX takes numbers, not {}", describe_expr(o)))),
                    })
                    .collect::<AppResult<_>>()?;
                let [w, s, e, nn] = match n.as_slice() {
                    [w, s, e, n] => [*w, *s, *e, *n],
                    [w, s, _, e, n, _] => [*w, *s, *e, *n],
                    _ => return Err(bad(format!("BBOX takes 4 or 6 numbers, not {}", n.len()))),
                };
                if !(w <= e && s <= nn) {
                    return Err(bad(format!(
                        "BBOX({w},{s},{e},{nn}): west after east or south after north"
                    )));
                }
                geo_types::Rect::new((w, s), (e, nn)).to_polygon().into()
            }
            o => {
                return Err(bad(format!(
                    "{} is not a geometry literal (POINT, LINESTRING, POLYGON, MULTI…, BBOX)",
                    describe_expr(o)
                )))
            }
        };
        if !g.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite()) {
            return Err(bad("a geometry literal holds a number that is not finite"));
        }
        let crs = self.crs;
        Ok(g.map_coords(move |c| {
            let (x, y) = crs.to_crs84(c.x, c.y);
            geo_types::coord! { x: x, y: y }
        }))
    }
}

fn is_geometry_property(e: &Expr) -> bool {
    matches!(e, Expr::Property { property } if property == GEOMETRY)
}

fn describe_expr(e: &Expr) -> String {
    match e.to_text() {
        Ok(t) => t.chars().take(120).collect(),
        Err(_) => format!("{e:?}").chars().take(120).collect(),
    }
}

/// A TIMESTAMP, DATE or INTERVAL literal as a span.
fn time_literal(e: &Expr) -> AppResult<Span> {
    let text = |e: &Expr| -> AppResult<String> {
        match e {
            Expr::Literal(s) => Ok(s.clone()),
            Expr::Timestamp { timestamp } => match timestamp.as_ref() {
                Expr::Literal(s) => Ok(s.clone()),
                o => Err(bad(format!("TIMESTAMP of {}", describe_expr(o)))),
            },
            Expr::Date { date } => match date.as_ref() {
                Expr::Literal(s) => Ok(s.clone()),
                o => Err(bad(format!("DATE of {}", describe_expr(o)))),
            },
            o => Err(bad(format!("{} is not a time", describe_expr(o)))),
        }
    };
    let ms = |s: &str| -> AppResult<i64> {
        parse_time("filter", s)
            .map(|t| t.timestamp_millis())
            .map_err(|_| bad(format!("'{s}' is not a time (RFC 3339 or YYYY-MM-DD)")))
    };
    const DAY_MS: i64 = 86_400_000;
    match e {
        Expr::Timestamp { .. } => Ok(Span::instant(ms(&text(e)?)?)),
        Expr::Date { .. } => {
            let s = ms(&text(e)?)?;
            Ok(Span {
                start: s,
                end: s + DAY_MS - 1,
            })
        }
        Expr::Interval { interval } => {
            let [a, b] = interval.as_slice() else {
                return Err(bad("INTERVAL takes a start and an end"));
            };
            let bound = |x: &Expr, open: i64, date_end: bool| -> AppResult<i64> {
                let t = text(x)?;
                if t == ".." {
                    return Ok(open);
                }
                let v = ms(&t)?;
                // A date as the end includes the whole day.
                Ok(
                    if date_end && (matches!(x, Expr::Date { .. }) || t.len() == 10) {
                        v + DAY_MS - 1
                    } else {
                        v
                    },
                )
            };
            let span = Span {
                start: bound(a, i64::MIN, false)?,
                end: bound(b, i64::MAX, true)?,
            };
            if span.start > span.end {
                return Err(bad("INTERVAL starts after it ends"));
            }
            Ok(span)
        }
        o => Err(bad(format!("{} is not a time", describe_expr(o)))),
    }
}

/// Checks that `l` and `r` can be compared by `op`: the same kind, or NULL
/// on one side; a text literal against a time property is read as a time
/// (GDAL sends `reported_at >= '2026-10-01'`).
fn comparable(op: &str, l: Operand, r: Operand) -> AppResult<(Operand, Operand)> {
    let to_time = |o: Operand| -> AppResult<Operand> {
        match o {
            Operand::Lit(Scalar::Text(t)) => parse_time("filter", &t)
                .map(|t| Operand::Lit(Scalar::Time(Span::instant(t.timestamp_millis()))))
                .map_err(|_| {
                    bad(format!(
                        "'{t}' is not a time (RFC 3339 or YYYY-MM-DD) to compare by {op}"
                    ))
                }),
            o => Ok(o),
        }
    };
    let (l, r) = match (l.kind(), r.kind()) {
        (Kind::Time, Kind::Text) => (l, to_time(r)?),
        (Kind::Text, Kind::Time) => (to_time(l)?, r),
        _ => (l, r),
    };
    let (a, b) = (l.kind(), r.kind());
    if a == b || a == Kind::Null || b == Kind::Null {
        Ok((l, r))
    } else {
        Err(bad(format!(
            "{op} compares {} with {} ({} against {})",
            l.describe(),
            r.describe(),
            kind_name(a),
            kind_name(b)
        )))
    }
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

impl Node {
    fn eval(&self, f: &Value) -> Option<bool> {
        match self {
            Node::And(k) => k
                .iter()
                .try_fold(Some(true), |acc, n| {
                    let r = and3(acc, n.eval(f));
                    if r == Some(false) {
                        Err(())
                    } else {
                        Ok(r)
                    }
                })
                .unwrap_or(Some(false)),
            Node::Or(k) => k
                .iter()
                .try_fold(Some(false), |acc, n| {
                    let r = or3(acc, n.eval(f));
                    if r == Some(true) {
                        Err(())
                    } else {
                        Ok(r)
                    }
                })
                .unwrap_or(Some(true)),
            Node::Not(n) => n.eval(f).map(|b| !b),
            Node::Const(b) => *b,
            Node::Compare(op, l, r) => {
                let (a, b) = (l.value(f), r.value(f));
                if a == Scalar::Null || b == Scalar::Null {
                    return None;
                }
                let o = a.cmp(&b)?;
                Some(match op {
                    Cmp::Eq => o == Ordering::Equal,
                    Cmp::Ne => o != Ordering::Equal,
                    Cmp::Lt => o == Ordering::Less,
                    Cmp::Le => o != Ordering::Greater,
                    Cmp::Gt => o == Ordering::Greater,
                    Cmp::Ge => o != Ordering::Less,
                })
            }
            Node::Like(l, pattern) => match l.value(f) {
                Scalar::Text(t) => Some(like(&t.chars().collect::<Vec<_>>(), pattern)),
                _ => None,
            },
            Node::In(l, list) => {
                let a = l.value(f);
                if a == Scalar::Null {
                    return None;
                }
                let mut unknown = false;
                for o in list {
                    let b = o.value(f);
                    if b == Scalar::Null {
                        unknown = true;
                    } else if a.cmp(&b) == Some(Ordering::Equal) {
                        return Some(true);
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            Node::Between(v, lo, hi) => {
                let (v, lo, hi) = (v.value(f), lo.value(f), hi.value(f));
                Some(v.cmp(&lo)? != Ordering::Less && v.cmp(&hi)? != Ordering::Greater)
            }
            Node::IsNull(o) => Some(o.value(f) == Scalar::Null),
            Node::GeometryIsNull => Some(f.get("geometry").is_none_or(Value::is_null)),
            Node::Spatial(which, lit, rect) => {
                let g = feature_geometry(f)?;
                if matches!(which, Spatial::Intersects | Spatial::Disjoint) {
                    let meets = match (rect, g.bounding_rect()) {
                        (Some(a), Some(b)) => a.intersects(&b) && g.intersects(lit.as_ref()),
                        _ => false,
                    };
                    return Some(meets == (*which == Spatial::Intersects));
                }
                let m = g.relate(lit.as_ref());
                Some(match which {
                    Spatial::Equals => m.is_equal_topo(),
                    Spatial::Touches => m.is_touches(),
                    Spatial::Within => m.is_within(),
                    Spatial::Overlaps => m.is_overlaps(),
                    Spatial::Crosses => m.is_crosses(),
                    Spatial::Contains => m.is_contains(),
                    Spatial::Intersects => m.is_intersects(),
                    Spatial::Disjoint => m.is_disjoint(),
                })
            }
            Node::Temporal(op, l, r) => {
                let (Scalar::Time(a), Scalar::Time(b)) = (l.value(f), r.value(f)) else {
                    return None;
                };
                Some(temporal(op, a, b))
            }
        }
    }
}

/// The feature's geometry (CRS84), `None` without one.
fn feature_geometry(f: &Value) -> Option<Geometry<f64>> {
    let v = f.get("geometry").filter(|g| !g.is_null())?;
    let gj = geojson::Geometry::deserialize(v).ok()?;
    Geometry::try_from(&gj.value).ok()
}

/// The CQL2 temporal relations of `a` to `b` (OGC 21-065r2, table 4).
fn temporal(op: &str, a: Span, b: Span) -> bool {
    match op {
        "t_after" => a.start > b.end,
        "t_before" => a.end < b.start,
        "t_contains" => a.start < b.start && a.end > b.end,
        "t_disjoint" => !(a.start <= b.end && a.end >= b.start),
        "t_during" => a.start > b.start && a.end < b.end,
        "t_equals" => a.start == b.start && a.end == b.end,
        "t_finishedby" => a.start < b.start && a.end == b.end,
        "t_finishes" => a.start > b.start && a.end == b.end,
        "t_intersects" => a.start <= b.end && a.end >= b.start,
        "t_meets" => a.end == b.start,
        "t_metby" => a.start == b.end,
        "t_overlappedby" => a.start > b.start && a.start < b.end && a.end > b.end,
        "t_overlaps" => a.start < b.start && a.end > b.start && a.end < b.end,
        "t_startedby" => a.start == b.start && a.end > b.end,
        "t_starts" => a.start == b.start && a.end < b.end,
        _ => false,
    }
}

/// SQL LIKE: `%` any run, `_` one character, `\` escapes the next.
fn like(t: &[char], p: &[char]) -> bool {
    // Iterative matcher with one backtrack point per `%` (linear-ish).
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '%' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '_' => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == t[ti] => {
                    ti += 1;
                    pi += 2;
                    continue;
                }
                // An escaped character that does not match.
                '\\' if pi + 1 < p.len() => {}
                c if c == t[ti] => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ogc::collection;
    use serde_json::json;

    fn f(c: &str, text: &str) -> AppResult<Filter> {
        Filter::parse(
            collection(c).expect("collection"),
            text,
            FilterLang::Cql2Text,
            OutCrs::Crs84,
        )
    }

    fn err(c: &str, text: &str) -> String {
        match f(c, text) {
            Err(AppError::BadRequest(ErrorCode::BadFilter, m)) => m,
            Err(e) => panic!("not a bad_filter 400: {e:?}"),
            Ok(x) => panic!("accepted {text}: {x:?}"),
        }
    }

    fn building(levels: i64, usage: &str, address: Option<&str>) -> Value {
        json!({"type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[114.0, 34.0], [114.001, 34.0], [114.001, 34.001], [114.0, 34.0]]]},
            "properties": {"levels": levels, "usage": usage, "address": address}})
    }

    #[test]
    fn comparisons_logic_like_in_between_null() {
        let b = building(6, "residential", Some("东街 12号"));
        let yes = [
            "levels = 6",
            "levels >= 6 AND levels < 7",
            "levels <> 5 OR usage = 'x'",
            "NOT (levels > 6)",
            "usage LIKE 'resid%'",
            "usage LIKE '_esidential'",
            "address LIKE '%街%'",
            "usage IN ('mixed', 'residential')",
            "levels BETWEEN 5 AND 6",
            "levels NOT BETWEEN 7 AND 9",
            "compound IS NULL",
            "address IS NOT NULL",
            "geometry IS NOT NULL",
            "S_INTERSECTS(geometry, BBOX(113.9, 33.9, 114.0005, 34.0005))",
            "S_INTERSECTS(geometry, POINT(114.0008 34.0001))",
            "S_WITHIN(geometry, POLYGON((113 33, 115 33, 115 35, 113 35, 113 33)))",
            "S_DISJOINT(geometry, POINT(120 30))",
        ];
        for t in yes {
            assert!(f("buildings", t).expect(t).keeps(&b), "{t}");
        }
        let no = [
            "levels = 5",
            "usage NOT IN ('mixed', 'residential')",
            "usage LIKE 'mixed%'",
            // Unknown (NULL) is not true, nor is its negation.
            "compound = 3",
            "NOT (compound = 3)",
            "S_INTERSECTS(geometry, BBOX(120, 30, 121, 31))",
            "geometry IS NULL",
        ];
        for t in no {
            assert!(!f("buildings", t).expect(t).keeps(&b), "{t}");
        }
        // A feature served without a place.
        let mut nowhere = b.clone();
        nowhere["geometry"] = Value::Null;
        for t in ["geometry IS NULL", "NOT (geometry IS NOT NULL)"] {
            assert!(f("buildings", t).expect(t).keeps(&nowhere), "{t}");
        }
        assert!(!f("buildings", "geometry IS NOT NULL")
            .expect("parses")
            .keeps(&nowhere));
    }

    #[test]
    fn cql2_json_and_filter_crs() {
        let c = collection("buildings").expect("buildings");
        let j = r#"{"op":"and","args":[{"op":">","args":[{"property":"levels"},5]},{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[34.0,113.9,34.0005,114.0005]}]}]}"#;
        // The bbox is lat,lon: EPSG:4326 axis order.
        let fl = Filter::parse(c, j, FilterLang::Cql2Json, OutCrs::Epsg4326).expect("json");
        assert!(fl.keeps(&building(6, "x", None)));
        let fl = Filter::parse(c, j, FilterLang::Cql2Json, OutCrs::Crs84).expect("json");
        assert!(!fl.keeps(&building(6, "x", None)));
    }

    #[test]
    fn temporal_predicates_on_event_time() {
        let e = json!({"type": "Feature", "geometry": null,
            "properties": {"reported_at": "2026-10-05T08:00:00+00:00", "status": "closed"}});
        for t in [
            "T_INTERSECTS(reported_at, INTERVAL('2026-10-01', '2026-10-31'))",
            "T_DURING(reported_at, INTERVAL('2026-10-01T00:00:00Z', '..'))",
            "T_AFTER(reported_at, DATE('2026-10-04'))",
            "T_BEFORE(reported_at, TIMESTAMP('2026-10-05T09:00:00Z'))",
            "reported_at >= TIMESTAMP('2026-10-05T08:00:00Z')",
            "reported_at >= '2026-10-01'",
            "reported_at BETWEEN TIMESTAMP('2026-10-01T00:00:00Z') AND TIMESTAMP('2026-10-06T00:00:00Z')",
        ] {
            assert!(f("events", t).expect(t).keeps(&e), "{t}");
        }
        for t in [
            "T_INTERSECTS(reported_at, INTERVAL('2026-10-06', '..'))",
            "T_AFTER(reported_at, DATE('2026-10-05'))",
        ] {
            assert!(!f("events", t).expect(t).keeps(&e), "{t}");
        }
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(err("buildings", "colour = 'red'").contains("\"colour\" is not queryable"));
        assert!(err("buildings", "levels = 'six'").contains("levels"));
        assert!(err("buildings", "levels >").contains("not CQL2 text"));
        assert!(err("buildings", "levels LIKE '6%'").contains("LIKE"));
        assert!(err("buildings", "CASEI(usage) = 'x'").contains("casei"));
        assert!(err("buildings", "T_AFTER(levels, DATE('2026-01-01'))").contains("times"));
        assert!(err("buildings", "S_INTERSECTS(geometry, levels)").contains("geometry literal"));
        assert!(err("buildings", "S_INTERSECTS(geometry, BBOX(3, 2, 1, 4))").contains("BBOX"));
        assert!(err("events", "T_AFTER(reported_at, DATE('soon'))").contains("soon"));
        assert!(err("buildings", "levels + 1 = 7").contains("+"));
        assert!(FilterLang::parse("ecql").is_err());
        let deep = format!("{}levels = 1{}", "(".repeat(200), ")".repeat(200));
        let _ = f("buildings", &deep); // an answer, not a crash
    }

    #[test]
    fn like_patterns() {
        let m = |t: &str, p: &str| {
            like(
                &t.chars().collect::<Vec<_>>(),
                &p.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("abc", "a%c") && m("abc", "%") && m("", "%") && m("a%c", "a\\%c"));
        assert!(!m("abc", "a\\%c") && !m("abc", "ab") && !m("abc", "a_"));
        assert!(m("aXbXc", "%X%X%") && m("住宅楼", "住%"));
    }
}
