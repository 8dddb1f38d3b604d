//! Turns records into elements, collecting every problem: field parsing,
//! geometry, duplicate IDs, references, and merging of tile-cut pieces.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use geo::orient::{Direction, Orient};
use geo::{unary_union, Area};
use geo_types::{Coord, Geometry, MultiPolygon, Point, Polygon};

use crate::geometry::Limits;
use crate::ids::{
    mask_middle, mask_name, BuildingId, CommunityId, CompoundId, DivisionCode, EventId, GridCode,
    GridId, HouseholdId, NationalId, OrganisationId, PersonId, Phone, PlaceId, RoadId, SentimentId,
    UnitId,
};
use crate::io::fields::{fields, ix, FieldSpec};
use crate::io::geom::GeomReader;
use crate::io::import::{ImportOptions, ImportStats, ReferenceLookup};
use crate::io::problem::{Location, Problem, Severity};
use crate::io::source::Record;
use crate::io::values::{self as v, Parsed};
use crate::io::ElementKind;
use crate::model::{
    Building, BuildingUse, Community, Compound, CompoundEra, Event, EventSource, EventStatus,
    Grade, Grid, Household, Organisation, Person, Place, Road, RoadClass, Sentiment, SentimentLink,
    Tenure, Unit, Worker, WorkerRole,
};
use crate::taxonomy::EventCategory;
use crate::Dataset;

/// With [`ImportOptions::negative_ids`], the ID `-n` becomes `NEGATIVE_ID_BASE + n`.
pub const NEGATIVE_ID_BASE: u64 = 1 << 60;

/// A multiply-rotate hasher (as in rustc's FxHash) for integer IDs: the
/// duplicate check runs once per record and SipHash would dominate it.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The IDs a builder has taken.
enum Seen {
    /// Each ID with its element index and first location: a repeat is
    /// reported where it occurs, and merge-by-id finds the element to merge
    /// into.
    Exact(IdMap<(usize, Location)>),
    /// The IDs alone, in the order taken until [`Seen::seal`] sorts them;
    /// repeats are looked for then. Far cheaper for a million rows than a
    /// hash map; a file that repeats an ID is read again with
    /// [`Seen::Exact`], so its problems are the same either way.
    Deferred(Vec<u64>),
}

impl Seen {
    fn new(exact: bool) -> Self {
        if exact {
            Seen::Exact(IdMap::default())
        } else {
            Seen::Deferred(Vec::new())
        }
    }

    fn empty_like(&self) -> Self {
        Seen::new(matches!(self, Seen::Exact(_)))
    }

    fn reserve(&mut self, records: usize) {
        match self {
            Seen::Exact(m) => m.reserve(records),
            Seen::Deferred(ids) => ids.reserve(records),
        }
    }

    /// The first element with this ID, when known now.
    fn first(&self, key: u64) -> Option<(usize, Location)> {
        match self {
            Seen::Exact(m) => m.get(&key).copied(),
            Seen::Deferred(_) => None,
        }
    }

    fn claim(&mut self, key: u64, index: usize, loc: Location) {
        match self {
            Seen::Exact(m) => {
                m.insert(key, (index, loc));
            }
            Seen::Deferred(ids) => ids.push(key),
        }
    }

    /// Sorts deferred IDs (quick when they came in order).
    fn seal(&mut self) {
        if let Seen::Deferred(ids) = self {
            ids.sort_unstable();
        }
    }

    /// True if a deferred set (sealed) holds an ID twice; an exact one
    /// reports repeats as problems instead.
    fn repeated(&self) -> bool {
        matches!(self, Seen::Deferred(ids) if has_repeat(ids))
    }

    /// Whether `key` was taken (a deferred set must be sealed).
    fn contains(&self, key: u64) -> bool {
        match self {
            Seen::Exact(m) => m.contains_key(&key),
            Seen::Deferred(ids) => ids.binary_search(&key).is_ok(),
        }
    }

    /// Takes in the IDs of the builder that follows (its element indices
    /// after `offset`; both sealed). `false`, with `self` unchanged, when an
    /// ID of `later` is already here or repeats within `later`.
    fn absorb(&mut self, later: Seen, offset: usize) -> bool {
        match (self, later) {
            (Seen::Exact(m), Seen::Exact(l)) => {
                if l.keys().any(|k| m.contains_key(k)) {
                    return false;
                }
                m.extend(l.into_iter().map(|(k, (i, loc))| (k, (i + offset, loc))));
                true
            }
            (Seen::Deferred(ids), Seen::Deferred(l)) => {
                if has_repeat(&l) {
                    return false;
                }
                match (ids.last(), l.first()) {
                    // Parts of a file numbered in order: no merge needed.
                    (None, _) | (_, None) => ids.extend(l),
                    (Some(a), Some(b)) if a < b => ids.extend(l),
                    _ => match merge_unique(ids, &l) {
                        Some(m) => *ids = m,
                        None => return false,
                    },
                }
                true
            }
            // One kind of set per read: builders of a file are made alike.
            _ => false,
        }
    }
}

/// An ascending list holds an ID twice.
fn has_repeat(ids: &[u64]) -> bool {
    ids.windows(2).any(|w| w[0] == w[1])
}

/// Merges two ascending ID lists; `None` if they share an ID.
fn merge_unique(a: &[u64], b: &[u64]) -> Option<Vec<u64>> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => return None,
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    Some(out)
}

/// A field failed; the problem is recorded.
pub(crate) struct Bad;

type Opt<T> = Result<Option<T>, Bad>;

struct Ref {
    loc: Location,
    field: &'static str,
    kind: ElementKind,
    id: u64,
}

/// The options a [`Builder`] reads while it adds records: owned and `Send`,
/// so chunks of one file can be built on several threads.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    merge_by_id: bool,
    negative_ids: bool,
    division_prefix: Option<String>,
    /// References to other kinds are collected for a store lookup.
    has_references: bool,
}

/// Builds one kind's elements from records.
pub(crate) struct Builder {
    kind: ElementKind,
    fields: &'static [FieldSpec],
    rules: Rules,
    geom: GeomReader,
    pub problems: Vec<Problem>,
    pub dataset: Dataset,
    /// The IDs taken so far.
    seen: Seen,
    refs: Vec<Ref>,
    /// Building index → further pieces to union (merge by id).
    pieces: HashMap<usize, Vec<Polygon<f64>>>,
    pub stats: ImportStats,
    /// 1-based ordinal of the current record.
    position: usize,
    ids_from_position: bool,
    skipped_points: usize,
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

impl Builder {
    pub fn new(kind: ElementKind, opts: &ImportOptions<'_>, stats: ImportStats) -> Self {
        let rules = Rules {
            merge_by_id: opts.merge_by_id,
            negative_ids: opts.negative_ids,
            division_prefix: opts.division_prefix.clone(),
            has_references: opts.references.is_some(),
        };
        let geom = GeomReader {
            crs: opts.crs,
            repair: opts.repair,
            limits: Limits::default(),
        };
        Self::empty(kind, rules, geom, Seen::new(true), stats)
    }

    /// A builder that has read nothing yet.
    fn empty(
        kind: ElementKind,
        rules: Rules,
        geom: GeomReader,
        seen: Seen,
        stats: ImportStats,
    ) -> Self {
        Self {
            kind,
            fields: fields(kind),
            rules,
            geom,
            problems: Vec::new(),
            dataset: Dataset::default(),
            seen,
            refs: Vec::new(),
            pieces: HashMap::new(),
            stats,
            position: 0,
            ids_from_position: false,
            skipped_points: 0,
        }
    }

    /// Checks IDs for repeats once at the end ([`Builder::seal`],
    /// [`Builder::repeats_an_id`]) instead of record by record; not when
    /// tile-cut buildings are merged by ID (each piece must find its first).
    pub fn deferring_ids(mut self) -> Self {
        if !(self.rules.merge_by_id && self.kind == ElementKind::Buildings) {
            self.seen = Seen::new(false);
        }
        self
    }

    /// A builder for another part of the same file: same kind and rules,
    /// nothing built yet.
    pub fn empty_like(&self) -> Self {
        let stats = ImportStats {
            encoding: self.stats.encoding,
            format: self.stats.format,
            ..ImportStats::default()
        };
        Self::empty(
            self.kind,
            self.rules.clone(),
            self.geom.clone(),
            self.seen.empty_like(),
            stats,
        )
    }

    /// Makes room for about `records` more records of this builder's kind.
    pub fn reserve(&mut self, records: usize) {
        let d = &mut self.dataset;
        match self.kind {
            ElementKind::Persons => d.persons.reserve(records),
            ElementKind::Households => d.households.reserve(records),
            ElementKind::Buildings => d.buildings.reserve(records),
            ElementKind::Units => d.units.reserve(records),
            ElementKind::Compounds => d.compounds.reserve(records),
            ElementKind::Communities => d.communities.reserve(records),
            ElementKind::Grids => d.grids.reserve(records),
            ElementKind::Places => d.places.reserve(records),
            ElementKind::Events => d.events.reserve(records),
            ElementKind::Sentiments => d.sentiments.reserve(records),
            ElementKind::Organisations => d.organisations.reserve(records),
            ElementKind::Roads => d.roads.reserve(records),
        }
        self.seen.reserve(records);
        if self.rules.has_references {
            self.refs.reserve(records);
        }
    }

    /// Takes in the builder of the records that follow this one's (the next
    /// chunk of the same file, built on another thread). Returns `false`, and
    /// leaves `self` as it was, when an ID of `later` repeats one of these:
    /// the caller then reads the file in one piece, so the duplicate is
    /// reported exactly as in a serial read.
    pub fn absorb(&mut self, later: Builder) -> bool {
        // One kind per builder: indices are into that kind's vector.
        let offset = self.dataset.len();
        if !self.seen.absorb(later.seen, offset) {
            return false;
        }
        self.problems.extend(later.problems);
        self.refs.extend(later.refs);
        self.pieces
            .extend(later.pieces.into_iter().map(|(i, p)| (i + offset, p)));
        self.dataset.extend(later.dataset);
        self.stats.records += later.stats.records;
        self.stats.skipped += later.stats.skipped;
        self.stats.merged_pieces += later.stats.merged_pieces;
        self.stats.repaired += later.stats.repaired;
        self.position += later.position;
        self.ids_from_position |= later.ids_from_position;
        self.skipped_points += later.skipped_points;
        true
    }

    /// Records a file-level problem.
    pub fn file_problem(&mut self, field: &str, value: &str, reason: String, severity: Severity) {
        self.problems.push(Problem {
            location: Location::File,
            field: field.to_string(),
            value: value.to_string(),
            reason,
            severity,
        });
    }

    fn problem(
        &mut self,
        loc: Location,
        f: Option<usize>,
        value: &str,
        reason: String,
        sev: Severity,
    ) {
        let (field, value) = match f.map(|f| &self.fields[f]) {
            Some(spec) if spec.personal && spec.name == "name" => (spec.name, mask_name(value)),
            Some(spec) if spec.personal => (spec.name, mask_middle(value)),
            Some(spec) => (spec.name, shorten(value)),
            None => ("", shorten(value)),
        };
        self.problems.push(Problem {
            location: loc,
            field: field.to_string(),
            value,
            reason,
            severity: sev,
        });
    }

    fn error(&mut self, loc: Location, f: usize, value: &str, reason: impl Into<String>) {
        self.problem(loc, Some(f), value, reason.into(), Severity::Error);
    }

    fn warn(&mut self, loc: Location, f: usize, value: &str, reason: impl Into<String>) {
        self.problem(loc, Some(f), value, reason.into(), Severity::Warning);
    }

    /// A required field.
    fn req<T, R: Record>(
        &mut self,
        r: &R,
        f: usize,
        p: impl FnOnce(&str) -> Parsed<T>,
    ) -> Option<T> {
        match self.opt(r, f, p) {
            Ok(Some(t)) => Some(t),
            Ok(None) => {
                self.error(r.location(), f, "", "required field is missing or empty");
                None
            }
            Err(Bad) => None,
        }
    }

    /// An optional field.
    fn opt<T, R: Record>(&mut self, r: &R, f: usize, p: impl FnOnce(&str) -> Parsed<T>) -> Opt<T> {
        let Some(s) = r.get(f) else { return Ok(None) };
        match p(&s) {
            Ok(t) => Ok(Some(t)),
            Err(reason) => {
                self.error(r.location(), f, &s, reason);
                Err(Bad)
            }
        }
    }

    /// An optional reference to an element of `kind`, checked at the end.
    fn reference<T, R: Record>(
        &mut self,
        r: &R,
        f: usize,
        kind: ElementKind,
        p: fn(&str) -> Parsed<T>,
        raw: fn(&T) -> u64,
    ) -> Opt<T> {
        let t = self.opt(r, f, p)?;
        // Without a store lookup only references to the same kind can be checked.
        let checkable = kind == self.kind || self.rules.has_references;
        if let Some(t) = t.as_ref().filter(|_| checkable) {
            self.refs.push(Ref {
                loc: r.location(),
                field: self.fields[f].name,
                kind,
                id: raw(t),
            });
        }
        Ok(t)
    }

    /// The record's ID, checked for duplicates. `Err(Some(i))` is a
    /// duplicate of element `i` (already reported unless merging).
    fn id<T, R: Record>(
        &mut self,
        r: &R,
        raw: fn(&T) -> u64,
        p: fn(&str) -> Parsed<T>,
    ) -> Result<T, Option<usize>>
    where
        T: TryFrom<u64>,
    {
        let loc = r.location();
        let id = match r.get(ix::ID) {
            Some(s) => match p(&s) {
                Ok(id) => id,
                Err(_) if self.rules.negative_ids && s.starts_with('-') => {
                    match s[1..]
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n < NEGATIVE_ID_BASE)
                        .and_then(|n| T::try_from(NEGATIVE_ID_BASE + n).ok())
                    {
                        Some(id) => id,
                        None => {
                            self.error(loc, ix::ID, &s, "not an integer");
                            return Err(None);
                        }
                    }
                }
                Err(reason) => {
                    let reason = if s.starts_with('-') {
                        format!("{reason}; negative IDs (OSM relations in tile extracts) are accepted with negative_ids (--negative-ids)")
                    } else {
                        reason
                    };
                    self.error(loc, ix::ID, &s, reason);
                    return Err(None);
                }
            },
            None => {
                let fallback = r.feature_id().or_else(|| {
                    (self.kind == ElementKind::Communities).then_some(self.position as u64)
                });
                match fallback.and_then(|n| T::try_from(n).ok()) {
                    Some(id) => {
                        if r.feature_id().is_none() {
                            self.ids_from_position = true;
                        }
                        id
                    }
                    None => {
                        self.error(loc, ix::ID, "", "required field is missing or empty");
                        return Err(None);
                    }
                }
            }
        };
        let key = raw(&id);
        if let Some((i, first)) = self.seen.first(key) {
            if !(self.rules.merge_by_id && self.kind == ElementKind::Buildings) {
                let hint = if self.kind == ElementKind::Buildings {
                    "; tile-cut files repeat IDs: use merge_by_id (--merge-by-id)"
                } else {
                    ""
                };
                self.error(
                    loc,
                    ix::ID,
                    &key.to_string(),
                    format!("duplicate id {key} (first at {first}){hint}"),
                );
            }
            return Err(Some(i));
        }
        Ok(id)
    }

    fn claim(&mut self, key: u64, index: usize, loc: Location) {
        self.seen.claim(key, index, loc);
    }

    /// Ends the adding of records: deferred IDs are sorted.
    pub fn seal(&mut self) {
        self.seen.seal();
    }

    /// True when a deferred ID check (after [`Builder::seal`]) found an ID
    /// taken twice: the file must be read again with `exact_ids`, which
    /// reports each repeat where it occurs.
    pub fn repeats_an_id(&self) -> bool {
        self.seen.repeated()
    }

    /// The record's geometry, parsed and validated; `Ok(None)` when absent.
    fn geometry<R: Record>(&mut self, r: &R, f: usize) -> Opt<Geometry<f64>> {
        let loc = r.location();
        let g = match r.geometry() {
            Ok(Some(g)) => g,
            Ok(None) => return Ok(None),
            Err(reason) => {
                self.error(loc, f, "", reason);
                return Err(Bad);
            }
        };
        match self.geom.parse(&g) {
            Ok(parsed) => {
                if !parsed.repairs.is_empty() {
                    self.stats.repaired += 1;
                }
                for rep in parsed.repairs {
                    self.warn(loc, f, "", rep);
                }
                Ok(Some(parsed.geometry))
            }
            Err(reason) => {
                let ty = g.get("type").and_then(|t| t.as_str()).unwrap_or("");
                self.error(loc, f, ty, reason);
                Err(Bad)
            }
        }
    }

    /// A point: the geometry if given, else `lon`/`lat` cells.
    fn point<R: Record>(
        &mut self,
        r: &R,
        lon: usize,
        lat: usize,
        geom: usize,
    ) -> Option<Point<f64>> {
        match self.point_or_geometry(r, lon, lat, geom)? {
            Geometry::Point(p) => Some(p),
            _ => {
                self.error(r.location(), geom, "", "expected a Point geometry");
                None
            }
        }
    }

    fn point_or_geometry<R: Record>(
        &mut self,
        r: &R,
        lon: usize,
        lat: usize,
        geom: usize,
    ) -> Option<Geometry<f64>> {
        match self.geometry(r, geom) {
            Ok(Some(g)) => return Some(g),
            Ok(None) => {}
            Err(Bad) => return None,
        }
        let x = self.opt(r, lon, |s| v::number(s, "longitude"));
        let y = self.opt(r, lat, |s| v::number(s, "latitude"));
        match (x, y) {
            (Ok(Some(x)), Ok(Some(y))) => match self.geom.point(Coord { x, y }) {
                Ok(p) => Some(Geometry::Point(p)),
                Err(reason) => {
                    self.error(r.location(), lon, &format!("{x}, {y}"), reason);
                    None
                }
            },
            (Ok(None), _) | (_, Ok(None)) => {
                self.error(r.location(), geom, "", "no geometry and no lon/lat columns");
                None
            }
            _ => None,
        }
    }

    fn polygon<R: Record>(&mut self, r: &R, f: usize) -> Option<Polygon<f64>> {
        match self.geometry(r, f) {
            Ok(Some(Geometry::Polygon(p))) => Some(p),
            Ok(Some(Geometry::MultiPolygon(mut mp))) if mp.0.len() == 1 => mp.0.pop(),
            Ok(Some(Geometry::MultiPolygon(mp))) => {
                self.error(
                    r.location(),
                    f,
                    "MultiPolygon",
                    format!("expected one polygon, got {} parts", mp.0.len()),
                );
                None
            }
            Ok(Some(g)) => {
                self.error(r.location(), f, type_name(&g), "expected a Polygon");
                None
            }
            Ok(None) => {
                self.error(r.location(), f, "", "required geometry is missing");
                None
            }
            Err(Bad) => None,
        }
    }

    fn multi_polygon<R: Record>(&mut self, r: &R, f: usize) -> Option<MultiPolygon<f64>> {
        match self.geometry(r, f) {
            Ok(Some(Geometry::Polygon(p))) => Some(MultiPolygon(vec![p])),
            Ok(Some(Geometry::MultiPolygon(mp))) => Some(mp),
            Ok(Some(g)) => {
                self.error(
                    r.location(),
                    f,
                    type_name(&g),
                    "expected a Polygon or MultiPolygon",
                );
                None
            }
            Ok(None) => {
                self.error(r.location(), f, "", "required geometry is missing");
                None
            }
            Err(Bad) => None,
        }
    }

    /// Adds one record.
    pub fn add<R: Record>(&mut self, r: &R) {
        self.position += 1;
        self.stats.records += 1;
        match self.kind {
            ElementKind::Persons => self.person(r),
            ElementKind::Households => self.household(r),
            ElementKind::Buildings => self.building(r),
            ElementKind::Units => self.unit(r),
            ElementKind::Compounds => self.compound(r),
            ElementKind::Communities => self.community(r),
            ElementKind::Grids => self.grid(r),
            ElementKind::Places => self.place(r),
            ElementKind::Events => self.event(r),
            ElementKind::Sentiments => self.sentiment(r),
            ElementKind::Organisations => self.organisation(r),
            ElementKind::Roads => self.road(r),
        }
    }

    fn person<R: Record>(&mut self, r: &R) {
        use ix::person as P;
        let loc = r.location();
        let id = self.id(r, |i: &PersonId| i.get(), v::id);
        let household = self.reference(
            r,
            P::HOUSEHOLD,
            ElementKind::Households,
            v::id,
            |i: &HouseholdId| i.get(),
        );
        let name = self.req(r, P::NAME, |s| Ok(s.to_string()));
        let national_id = self.opt(r, P::NATIONAL_ID, |s| {
            NationalId::parse(s).map_err(|e| e.to_string())
        });
        let phone = self.opt(r, P::PHONE, |s| Phone::parse(s).map_err(|e| e.to_string()));
        let birth_year = self.opt(r, P::BIRTH_YEAR, |s| {
            v::int::<u16>(s, "birth year").and_then(|y| {
                if (1880..=2100).contains(&y) {
                    Ok(y)
                } else {
                    Err("birth year must be between 1880 and 2100".into())
                }
            })
        });
        let sex = self.opt(r, P::SEX, v::sex);
        let tags = self.opt(r, P::TAGS, v::tags);
        let (
            Ok(id),
            Ok(household),
            Some(name),
            Ok(national_id),
            Ok(phone),
            Ok(birth_year),
            Ok(sex),
            Ok(tags),
        ) = (
            id,
            household,
            name,
            national_id,
            phone,
            birth_year,
            sex,
            tags,
        )
        else {
            return;
        };
        let digits = national_id.as_ref().map(|n| n.reveal().as_bytes());
        let Some(birth_year) = birth_year.or_else(|| {
            let d = digits?;
            std::str::from_utf8(&d[6..10]).ok()?.parse().ok()
        }) else {
            self.error(
                loc,
                P::BIRTH_YEAR,
                "",
                "required when there is no national_id to read it from",
            );
            return;
        };
        let Some(sex) = sex.or_else(|| {
            let d = digits?;
            Some(if (d[16] - b'0') % 2 == 1 {
                crate::model::Sex::Male
            } else {
                crate::model::Sex::Female
            })
        }) else {
            self.error(
                loc,
                P::SEX,
                "",
                "required when there is no national_id to read it from",
            );
            return;
        };
        let i = self.dataset.persons.len();
        self.claim(id.get(), i, loc);
        self.dataset.persons.push(Person {
            id,
            household,
            name,
            national_id,
            phone,
            birth_year,
            sex,
            tags: tags.unwrap_or_default(),
        });
    }

    fn household<R: Record>(&mut self, r: &R) {
        use ix::household as H;
        let loc = r.location();
        let id = self.id(r, |i: &HouseholdId| i.get(), v::id);
        let building = self.reference(
            r,
            H::BUILDING,
            ElementKind::Buildings,
            v::id,
            |i: &BuildingId| i.get(),
        );
        let unit = self.reference(r, H::UNIT, ElementKind::Units, v::id, |i: &UnitId| i.get());
        let floor = self.req(r, H::FLOOR, |s| v::int::<i16>(s, "floor"));
        let room = self.req(r, H::ROOM, |s| Ok(s.to_string()));
        let size = self.opt(r, H::SIZE, |s| v::int::<u8>(s, "size"));
        let tenure = self.opt(r, H::TENURE, v::tenure);
        let group = self.opt(r, H::GROUP_RENTED, v::boolean);
        let party = self.opt(r, H::PARTY_MEMBER, v::boolean);
        if matches!(building, Ok(None)) {
            self.error(loc, H::BUILDING, "", "required field is missing or empty");
            return;
        }
        let (
            Ok(id),
            Ok(Some(building)),
            Ok(unit),
            Some(floor),
            Some(room),
            Ok(size),
            Ok(tenure),
            Ok(group),
            Ok(party),
        ) = (id, building, unit, floor, room, size, tenure, group, party)
        else {
            return;
        };
        let i = self.dataset.households.len();
        self.claim(id.get(), i, loc);
        self.dataset.households.push(Household {
            id,
            building,
            unit,
            floor,
            room,
            size: size.unwrap_or(0),
            tenure: tenure.unwrap_or(Tenure::Owned),
            group_rented: group.unwrap_or(false),
            party_member: party.unwrap_or(false),
        });
    }

    fn building<R: Record>(&mut self, r: &R) {
        use ix::building as B;
        let loc = r.location();
        // Label points, entrances and addresses of OSM extracts are not buildings.
        if let Ok(Some(g)) = r.geometry() {
            if matches!(
                g.get("type").and_then(|t| t.as_str()),
                Some("Point" | "MultiPoint")
            ) {
                self.skipped_points += 1;
                self.stats.skipped += 1;
                return;
            }
        }
        let id = self.id(r, |i: &BuildingId| i.get(), v::id);
        let compound = self.reference(
            r,
            B::COMPOUND,
            ElementKind::Compounds,
            v::id,
            |i: &CompoundId| i.get(),
        );
        let levels = self.opt(r, B::LEVELS, |s| {
            v::non_negative(s, "levels").and_then(|x| {
                if x <= 300.0 {
                    Ok(x.round() as u16)
                } else {
                    Err("levels must be at most 300".into())
                }
            })
        });
        let height = self.opt(r, B::HEIGHT, |s| {
            v::non_negative(s, "height").and_then(|x| {
                if x <= 1000.0 {
                    Ok(x as f32)
                } else {
                    Err("height must be at most 1000 m".into())
                }
            })
        });
        let usage: Opt<BuildingUse> = match self.opt(r, B::USE, v::building_use) {
            Ok(u) => Ok(u),
            Err(Bad) => {
                // An unknown use is not worth refusing a building for.
                if let Some(p) = self.problems.last_mut() {
                    p.severity = Severity::Warning;
                    p.reason.push_str("; imported as other");
                }
                Ok(Some(BuildingUse::Other))
            }
        };
        let units = self.opt(r, B::UNITS, |s| v::int::<u16>(s, "units"));
        let households = self.opt(r, B::HOUSEHOLDS, |s| v::int::<u32>(s, "households"));
        let estimated = self.opt(r, B::ESTIMATED, v::boolean);
        let address = r.get(B::ADDRESS).map(|s| s.into_owned()).or_else(|| {
            let street = r.get(B::STREET);
            let number = r.get(B::HOUSENUMBER);
            match (street, number) {
                (Some(s), Some(n)) => Some(format!("{s}{n}号")),
                (Some(s), None) => Some(s.into_owned()),
                _ => None,
            }
        });
        let footprint = self.polygon(r, B::GEOMETRY);
        let (
            Ok(compound),
            Ok(levels),
            Ok(height),
            Ok(usage),
            Ok(units),
            Ok(households),
            Ok(estimated),
            Some(footprint),
        ) = (
            compound, levels, height, usage, units, households, estimated, footprint,
        )
        else {
            return;
        };
        let b = Building {
            id: match id {
                Ok(id) => id,
                Err(Some(i)) => {
                    if self.rules.merge_by_id {
                        self.merge_building(i, footprint, levels, height, address, compound);
                    }
                    return;
                }
                Err(None) => return,
            },
            compound,
            footprint,
            levels,
            height_m: height,
            usage: usage.unwrap_or(BuildingUse::Other),
            units: units.unwrap_or(1),
            households: households.unwrap_or(0),
            households_estimated: estimated.unwrap_or(false),
            address,
        };
        let i = self.dataset.buildings.len();
        self.claim(b.id.get(), i, loc);
        self.dataset.buildings.push(b);
    }

    fn merge_building(
        &mut self,
        i: usize,
        piece: Polygon<f64>,
        levels: Option<u16>,
        height: Option<f32>,
        address: Option<String>,
        compound: Option<CompoundId>,
    ) {
        self.stats.merged_pieces += 1;
        self.pieces.entry(i).or_default().push(piece);
        let b = &mut self.dataset.buildings[i];
        b.levels = b.levels.max(levels);
        b.height_m = match (b.height_m, height) {
            (Some(a), Some(h)) => Some(a.max(h)),
            (a, h) => a.or(h),
        };
        if b.address.is_none() {
            b.address = address;
        }
        if b.compound.is_none() {
            b.compound = compound;
        }
    }

    fn unit<R: Record>(&mut self, r: &R) {
        use ix::unit as U;
        let loc = r.location();
        let id = self.id(r, |i: &UnitId| i.get(), v::id);
        let building = self.reference(
            r,
            U::BUILDING,
            ElementKind::Buildings,
            v::id,
            |i: &BuildingId| i.get(),
        );
        let number = self.req(r, U::NUMBER, |s| v::int::<u16>(s, "unit number"));
        let households = self.opt(r, U::HOUSEHOLDS, |s| v::int::<u32>(s, "households"));
        let entrance = self.point(r, U::LON, U::LAT, U::GEOMETRY);
        if matches!(building, Ok(None)) {
            self.error(loc, U::BUILDING, "", "required field is missing or empty");
            return;
        }
        let (Ok(id), Ok(Some(building)), Some(number), Ok(households), Some(entrance)) =
            (id, building, number, households, entrance)
        else {
            return;
        };
        let i = self.dataset.units.len();
        self.claim(id.get(), i, loc);
        self.dataset.units.push(Unit {
            id,
            building,
            number,
            households: households.unwrap_or(0),
            entrance,
        });
    }

    fn compound<R: Record>(&mut self, r: &R) {
        use ix::compound as C;
        let loc = r.location();
        let id = self.id(r, |i: &CompoundId| i.get(), v::id);
        let name = self.req(r, C::NAME, |s| Ok(s.to_string()));
        let community = self.reference(
            r,
            C::COMMUNITY,
            ElementKind::Communities,
            v::id,
            |i: &CommunityId| i.get(),
        );
        let era = self.opt(r, C::ERA, v::era);
        let built = self.opt(r, C::BUILT_YEAR, |s| v::int::<u16>(s, "built year"));
        let boundary = self.polygon(r, C::GEOMETRY);
        let (Ok(id), Some(name), Ok(community), Ok(era), Ok(built_year), Some(boundary)) =
            (id, name, community, era, built, boundary)
        else {
            return;
        };
        let i = self.dataset.compounds.len();
        self.claim(id.get(), i, loc);
        self.dataset.compounds.push(Compound {
            id,
            name,
            community,
            era: era.unwrap_or(CompoundEra::Other),
            built_year,
            boundary,
        });
    }

    fn community<R: Record>(&mut self, r: &R) {
        use ix::community as C;
        let loc = r.location();
        let id = self.id(r, |i: &CommunityId| i.get(), v::id);
        let code = match self.opt(r, C::CODE, |s| {
            DivisionCode::parse(s).map_err(|e| e.to_string())
        }) {
            Ok(Some(c)) => Some(c),
            Ok(None) => match &self.rules.division_prefix {
                Some(prefix) => {
                    let code = format!("{prefix}{:03}", self.position);
                    match DivisionCode::parse(&code) {
                        Ok(c) if self.position <= 999 => Some(c),
                        _ => {
                            self.error(loc, C::CODE, &code, "cannot build a division code from division_prefix (9 digits) and the position (1–999)");
                            None
                        }
                    }
                }
                None => {
                    self.error(loc, C::CODE, "", "no division code: map a column with --map code=COLUMN or give a 9-digit division prefix");
                    None
                }
            },
            Err(Bad) => None,
        };
        let name = self.req(r, C::NAME, |s| Ok(s.to_string()));
        let village = self.opt(r, C::IS_VILLAGE, |s| match s {
            "村" => Ok(true),
            "社区" => Ok(false),
            _ => v::boolean(s),
        });
        let boundary = self.multi_polygon(r, C::GEOMETRY);
        let (Ok(id), Some(code), Some(name), Ok(village), Some(boundary)) =
            (id, code, name, village, boundary)
        else {
            return;
        };
        let i = self.dataset.communities.len();
        self.claim(id.get(), i, loc);
        self.dataset.communities.push(Community {
            id,
            code,
            name,
            is_village: village.unwrap_or(false),
            boundary,
        });
    }

    fn grid<R: Record>(&mut self, r: &R) {
        use ix::grid as G;
        let loc = r.location();
        let id = self.id(r, |i: &GridId| i.get(), v::id);
        let code = self.req(r, G::CODE, |s| {
            GridCode::parse(s).map_err(|e| e.to_string())
        });
        let name = self.req(r, G::NAME, |s| Ok(s.to_string()));
        let kind = self.req(r, G::KIND, v::grid_kind);
        let community = self.reference(
            r,
            G::COMMUNITY,
            ElementKind::Communities,
            v::id,
            |i: &CommunityId| i.get(),
        );
        let parent = self.reference(r, G::PARENT, ElementKind::Grids, v::id, |i: &GridId| {
            i.get()
        });
        let workers = self.opt(r, G::WORKERS, workers);
        let boundary = self.multi_polygon(r, G::GEOMETRY);
        let (
            Ok(id),
            Some(code),
            Some(name),
            Some(kind),
            Ok(community),
            Ok(parent),
            Ok(workers),
            Some(boundary),
        ) = (id, code, name, kind, community, parent, workers, boundary)
        else {
            return;
        };
        let i = self.dataset.grids.len();
        self.claim(id.get(), i, loc);
        self.dataset.grids.push(Grid {
            id,
            code,
            name,
            kind,
            community,
            parent,
            boundary,
            workers: workers.unwrap_or_default(),
        });
    }

    fn place<R: Record>(&mut self, r: &R) {
        use ix::place as P;
        let loc = r.location();
        let id = self.id(r, |i: &PlaceId| i.get(), v::id);
        let name = self.req(r, P::NAME, |s| Ok(s.to_string()));
        let category = self.req(r, P::CATEGORY, v::place_category);
        let service = self.opt(r, P::SERVICE, v::service);
        let geometry = self.point_or_geometry(r, P::LON, P::LAT, P::GEOMETRY);
        let (Ok(id), Some(name), Some(category), Ok(service), Some(geometry)) =
            (id, name, category, service, geometry)
        else {
            return;
        };
        let i = self.dataset.places.len();
        self.claim(id.get(), i, loc);
        self.dataset.places.push(Place {
            id,
            name,
            category,
            service,
            geometry,
        });
    }

    fn event<R: Record>(&mut self, r: &R) {
        use ix::event as E;
        let loc = r.location();
        let id = self.id(r, |i: &EventId| i.get(), v::id);
        let category = self.req(r, E::CATEGORY, |s| {
            EventCategory::parse(s).map_err(|e| e.to_string())
        });
        let title = r.get(E::TITLE).map(|s| s.into_owned()).unwrap_or_default();
        let reported_at = self.req(r, E::REPORTED_AT, v::datetime);
        let source = self.opt(r, E::SOURCE, v::event_source);
        let status = self.opt(r, E::STATUS, v::event_status);
        let grade = self.opt(r, E::GRADE, v::grade);
        let deadline = self.opt(r, E::DEADLINE, v::datetime);
        let handler = r.get(E::HANDLER).map(|s| s.into_owned());
        let resolved_at = self.opt(r, E::RESOLVED_AT, v::datetime);
        let satisfaction = self.opt(r, E::SATISFACTION, |s| {
            v::int::<u8>(s, "satisfaction").and_then(|x| {
                if (1..=5).contains(&x) {
                    Ok(x)
                } else {
                    Err("satisfaction must be 1–5".into())
                }
            })
        });
        let master = self.reference(r, E::MASTER, ElementKind::Events, v::id, |i: &EventId| {
            i.get()
        });
        let reporter = self.reference(
            r,
            E::REPORTER_HOUSEHOLD,
            ElementKind::Households,
            v::id,
            |i: &HouseholdId| i.get(),
        );
        let location = self.point(r, E::LON, E::LAT, E::GEOMETRY);
        let (
            Ok(id),
            Some(category),
            Some(reported_at),
            Ok(source),
            Ok(status),
            Ok(grade),
            Ok(deadline),
            Ok(resolved_at),
            Ok(satisfaction),
            Ok(master),
            Ok(reporter_household),
            Some(location),
        ) = (
            id,
            category,
            reported_at,
            source,
            status,
            grade,
            deadline,
            resolved_at,
            satisfaction,
            master,
            reporter,
            location,
        )
        else {
            return;
        };
        let i = self.dataset.events.len();
        self.claim(id.get(), i, loc);
        self.dataset.events.push(Event {
            id,
            category,
            title,
            location,
            reported_at,
            source: source.unwrap_or(EventSource::Hotline),
            status: status.unwrap_or(EventStatus::Reported),
            grade: grade.unwrap_or(Grade::General),
            deadline,
            handler,
            resolved_at,
            satisfaction,
            master,
            reporter_household,
        });
    }

    fn sentiment<R: Record>(&mut self, r: &R) {
        use ix::sentiment as S;
        let loc = r.location();
        let id = self.id(r, |i: &SentimentId| i.get(), v::id);
        let kind = self.req(r, S::KIND, v::sentiment_kind);
        let score = self.opt(r, S::SCORE, |s| v::number(s, "score").map(|x| x as f32));
        let text = r.get(S::TEXT).map(|s| s.into_owned()).unwrap_or_default();
        let at = self.req(r, S::AT, v::datetime);
        let h = self.reference(
            r,
            S::HOUSEHOLD,
            ElementKind::Households,
            v::id,
            |i: &HouseholdId| i.get(),
        );
        let p = self.reference(r, S::PLACE, ElementKind::Places, v::id, |i: &PlaceId| {
            i.get()
        });
        let e = self.reference(r, S::EVENT, ElementKind::Events, v::id, |i: &EventId| {
            i.get()
        });
        let (Ok(id), Some(kind), Ok(score), Some(at), Ok(h), Ok(p), Ok(e)) =
            (id, kind, score, at, h, p, e)
        else {
            return;
        };
        let link = match (h, p, e) {
            (Some(h), None, None) => SentimentLink::Household(h),
            (None, Some(p), None) => SentimentLink::Place(p),
            (None, None, Some(e)) => SentimentLink::Event(e),
            _ => {
                self.error(
                    loc,
                    S::HOUSEHOLD,
                    "",
                    "give exactly one of household_id, place_id, event_id",
                );
                return;
            }
        };
        let i = self.dataset.sentiments.len();
        self.claim(id.get(), i, loc);
        self.dataset.sentiments.push(Sentiment {
            id,
            kind,
            score,
            text,
            at,
            link,
        });
    }

    fn organisation<R: Record>(&mut self, r: &R) {
        use ix::organisation as O;
        let loc = r.location();
        let id = self.id(r, |i: &OrganisationId| i.get(), v::id);
        let name = self.req(r, O::NAME, |s| Ok(s.to_string()));
        let kind = self.req(r, O::KIND, v::organisation_kind);
        let compound = self.reference(
            r,
            O::COMPOUND,
            ElementKind::Compounds,
            v::id,
            |i: &CompoundId| i.get(),
        );
        let members = self.opt(r, O::MEMBERS, |s| {
            v::list(s)
                .map(v::id::<PersonId>)
                .collect::<Parsed<Vec<_>>>()
        });
        let count = self.opt(r, O::MEMBER_COUNT, |s| v::int::<u32>(s, "member count"));
        let geometry = self.point_or_geometry(r, O::LON, O::LAT, O::GEOMETRY);
        let (Ok(id), Some(name), Some(kind), Ok(compound), Ok(members), Ok(count), Some(geometry)) =
            (id, name, kind, compound, members, count, geometry)
        else {
            return;
        };
        let members = members.unwrap_or_default();
        for m in &members {
            self.refs.push(Ref {
                loc,
                field: "members",
                kind: ElementKind::Persons,
                id: m.get(),
            });
        }
        let listed = members.len() as u32;
        let member_count = count.unwrap_or(listed);
        if member_count < listed {
            self.error(
                loc,
                O::MEMBER_COUNT,
                &member_count.to_string(),
                format!("smaller than the {listed} members listed"),
            );
            return;
        }
        let i = self.dataset.organisations.len();
        self.claim(id.get(), i, loc);
        self.dataset.organisations.push(Organisation {
            id,
            name,
            kind,
            geometry,
            compound,
            members,
            member_count,
        });
    }

    fn road<R: Record>(&mut self, r: &R) {
        use ix::road as Ro;
        let loc = r.location();
        let id = self.id(r, |i: &RoadId| i.get(), v::id);
        let name = r.get(Ro::NAME).map(|s| s.into_owned());
        let class = self.opt(r, Ro::CLASS, v::road_class);
        let line = match self.geometry(r, Ro::GEOMETRY) {
            Ok(Some(Geometry::LineString(l))) => Some(l),
            Ok(Some(Geometry::MultiLineString(mut m))) if m.0.len() == 1 => m.0.pop(),
            Ok(Some(g)) => {
                self.error(
                    loc,
                    Ro::GEOMETRY,
                    type_name(&g),
                    "expected a LineString (split multi-part lines into several roads)",
                );
                None
            }
            Ok(None) => {
                self.error(loc, Ro::GEOMETRY, "", "required geometry is missing");
                None
            }
            Err(Bad) => None,
        };
        let (Ok(id), Ok(class), Some(line)) = (id, class, line) else {
            return;
        };
        let i = self.dataset.roads.len();
        self.claim(id.get(), i, loc);
        self.dataset.roads.push(Road {
            id,
            name,
            class: class.unwrap_or(RoadClass::Local),
            line,
        });
    }

    /// Unions merged pieces, checks references and returns the result.
    pub fn finish(
        mut self,
        references: Option<&dyn ReferenceLookup>,
    ) -> (Dataset, Vec<Problem>, ImportStats) {
        self.seen.seal();
        self.union_pieces();
        self.check_references(references);
        if self.skipped_points > 0 {
            let n = self.skipped_points;
            self.file_problem(
                "geometry",
                "Point",
                format!("{n} point feature(s) skipped: a building needs a polygon footprint (labels, entrances and addresses of OSM extracts are points)"),
                Severity::Warning,
            );
        }
        if self.ids_from_position {
            self.file_problem(
                "id",
                "",
                format!(
                    "no id property: {} numbered by feature position (1, 2, …)",
                    self.kind
                ),
                Severity::Warning,
            );
        }
        self.stats.imported = self.dataset.len();
        (self.dataset, self.problems, self.stats)
    }

    fn union_pieces(&mut self) {
        let mut pieces: Vec<(usize, Vec<Polygon<f64>>)> =
            std::mem::take(&mut self.pieces).into_iter().collect();
        pieces.sort_by_key(|(i, _)| *i);
        for (i, mut extra) in pieces {
            let b = &mut self.dataset.buildings[i];
            extra.push(b.footprint.clone());
            let union = unary_union(&extra);
            let mut parts = union.0;
            parts.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
            let n = parts.len();
            let Some(largest) = parts.into_iter().next() else {
                continue;
            };
            b.footprint = largest.orient(Direction::Default);
            if n > 1 {
                let id = b.id;
                let loc = self.seen.first(id.get()).map_or(Location::File, |s| s.1);
                self.warn(
                    loc,
                    ix::building::GEOMETRY,
                    &id.to_string(),
                    format!(
                        "the pieces of building {id} do not touch: kept the largest of {n} parts"
                    ),
                );
            }
        }
    }

    fn check_references(&mut self, references: Option<&dyn ReferenceLookup>) {
        let refs = std::mem::take(&mut self.refs);
        let Some(lookup) = references else {
            // Without the store a reference outside the file may still be
            // stored: nothing to decide here (the store's write checks again).
            return;
        };
        // Every distinct (kind, id) outside the file, asked of the store in
        // one call per kind.
        let mut wanted: HashMap<ElementKind, Vec<u64>> = HashMap::new();
        let mut last: Option<(ElementKind, u64)> = None;
        for r in &refs {
            // A run of records with the same reference (the people of a
            // household) adds it once.
            if last == Some((r.kind, r.id)) {
                continue;
            }
            last = Some((r.kind, r.id));
            if !(r.kind == self.kind && self.seen.contains(r.id)) {
                wanted.entry(r.kind).or_default().push(r.id);
            }
        }
        let mut found: HashMap<ElementKind, std::collections::HashSet<u64>> = HashMap::new();
        let mut all_found = true;
        for (kind, mut ids) in wanted {
            ids.sort_unstable();
            ids.dedup();
            match lookup.existing(kind, &ids) {
                Ok(set) => {
                    all_found &= ids.iter().all(|i| set.contains(i));
                    found.insert(kind, set);
                }
                Err(reason) => {
                    self.file_problem(
                        "references",
                        kind.as_str(),
                        format!("could not check references to {kind} against the store: {reason}"),
                        Severity::Error,
                    );
                    return;
                }
            }
        }
        if all_found {
            // Each distinct ID was found: no record needs looking at again.
            return;
        }
        for r in refs {
            let in_batch = r.kind == self.kind && self.seen.contains(r.id);
            if in_batch || found.get(&r.kind).is_some_and(|s| s.contains(&r.id)) {
                continue;
            }
            self.missing_reference(&r);
        }
    }

    fn missing_reference(&mut self, r: &Ref) {
        let f = self
            .fields
            .iter()
            .position(|f| f.name == r.field)
            .unwrap_or(ix::ID);
        let place = if r.kind == self.kind {
            "this file nor in the store"
        } else {
            "the store"
        };
        self.error(
            r.loc,
            f,
            &r.id.to_string(),
            format!("{} {} is not in {place}", r.kind.singular(), r.id),
        );
    }
}

fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

/// Grid workers: a JSON array of `{name, role, full_time}` or
/// `name[:role[:full|part]]` items separated by `;`.
fn workers(s: &str) -> Parsed<Vec<Worker>> {
    if s.starts_with('[') {
        #[derive(serde::Deserialize)]
        struct W {
            name: String,
            #[serde(default)]
            role: Option<String>,
            #[serde(default)]
            full_time: Option<bool>,
        }
        let ws: Vec<W> = serde_json::from_str(s).map_err(|e| format!("workers JSON: {e}"))?;
        return ws
            .into_iter()
            .map(|w| {
                Ok(Worker {
                    name: w.name,
                    role: w
                        .role
                        .as_deref()
                        .map_or(Ok(WorkerRole::GridWorker), v::worker_role)?,
                    full_time: w.full_time.unwrap_or(true),
                })
            })
            .collect();
    }
    s.split([';', '；'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|item| {
            let mut it = item.splitn(3, [':', '：']).map(str::trim);
            let name = it.next().unwrap_or_default().to_string();
            let role = it
                .next()
                .map_or(Ok(WorkerRole::GridWorker), v::worker_role)?;
            let full_time = match it.next() {
                None | Some("full" | "专职" | "true") => true,
                Some("part" | "兼职" | "false") => false,
                Some(x) => return Err(format!("worker {name:?}: {x:?} is not full or part")),
            };
            Ok(Worker {
                name,
                role,
                full_time,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn worker_lists() {
        let w = workers("张三:网格长:full; 李四:grid_worker:part;王五").unwrap();
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].role, WorkerRole::GridLeader);
        assert!(!w[1].full_time);
        assert_eq!(w[2].role, WorkerRole::GridWorker);
        let j =
            workers(r#"[{"name":"赵六","role":"neighbourhood_head","full_time":false}]"#).unwrap();
        assert_eq!(j[0].role, WorkerRole::NeighbourhoodHead);
        assert!(workers("x:boss").is_err());
    }
}

#[cfg(test)]
mod seen_tests {
    use super::*;

    fn deferred(ids: &[u64]) -> Seen {
        let mut s = Seen::new(false);
        for (i, &id) in ids.iter().enumerate() {
            s.claim(id, i, Location::Line(i as u64 + 2));
        }
        s.seal();
        s
    }

    #[test]
    fn deferred_ids_find_repeats_within_and_across_parts() {
        assert!(!deferred(&[5, 1, 9]).repeated());
        assert!(deferred(&[5, 1, 5]).repeated());
        let mut a = deferred(&[1, 4, 8]);
        assert!(a.absorb(deferred(&[2, 3, 20]), 3));
        assert!(a.contains(3) && a.contains(20) && !a.contains(5));
        assert!(!a.absorb(deferred(&[30, 8]), 6), "8 is taken");
        assert!(!a.contains(30), "unchanged after a refused absorb");
        assert!(
            !a.absorb(deferred(&[40, 40]), 6),
            "a part that repeats an ID"
        );
    }

    #[test]
    fn merging_sorted_ids() {
        assert_eq!(merge_unique(&[1, 5], &[2, 9]), Some(vec![1, 2, 5, 9]));
        assert_eq!(merge_unique(&[1, 5], &[6, 7]), Some(vec![1, 5, 6, 7]));
        assert_eq!(merge_unique(&[], &[3]), Some(vec![3]));
        assert_eq!(merge_unique(&[1, 5], &[5]), None);
    }
}
