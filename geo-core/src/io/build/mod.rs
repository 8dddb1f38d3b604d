//! Turns records into elements, collecting every problem: field parsing,
//! geometry, duplicate IDs, references, and merging of tile-cut pieces.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::{unary_union, Area};
use geo_types::{Coord, Geometry, MultiPolygon, Point, Polygon};

use crate::geometry::{type_name, Limits};
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

mod fields_of;
mod kinds;
mod seen;

use seen::Seen;

/// With [`ImportOptions::negative_ids`], the ID `-n` becomes `NEGATIVE_ID_BASE + n`.
pub const NEGATIVE_ID_BASE: u64 = 1 << 60;

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
    /// Number elements from this ID in file order (`--ids auto`).
    auto_ids: Option<u64>,
    /// One building per part of a MultiPolygon (`--explode`).
    explode: bool,
    /// The file's building use values → use.
    use_values: std::sync::Arc<HashMap<String, BuildingUse>>,
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
            auto_ids: opts.auto_ids.filter(|_| kind.accepts_auto_ids()),
            explode: opts.explode,
            use_values: std::sync::Arc::new(opts.use_values.clone()),
        };
        let geom = GeomReader {
            crs: opts.crs,
            repair: opts.repair,
            limits: Limits::default(),
        };
        Self::empty(kind, rules, geom, Seen::new(true), stats)
    }

    /// The CRS coordinates are read in.
    pub fn crs(&self) -> crate::crs::Crs {
        self.geom.crs
    }

    /// Reads coordinates in `crs` from now on (a GeoJSON `crs` member).
    pub fn set_crs(&mut self, crs: crate::crs::Crs) {
        self.geom.crs = crs;
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
        self.stats.exploded += later.stats.exploded;
        self.stats.multipart += later.stats.multipart;
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

    fn claim(&mut self, key: u64, index: usize, loc: Location) {
        if self.rules.auto_ids.is_some() {
            return; // placeholders, numbered by `finish`
        }
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

    /// The most positions one geometry may have.
    pub fn max_vertices(&self) -> usize {
        self.geom.limits.max_vertices
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

    /// Unions merged pieces, checks references and returns the result.
    pub fn finish(
        mut self,
        references: Option<&dyn ReferenceLookup>,
    ) -> (Dataset, Vec<Problem>, ImportStats) {
        self.seen.seal();
        if let Some(start) = self.rules.auto_ids {
            self.number_from(start);
        }
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
        if self.stats.multipart > 0 {
            let n = self.stats.multipart;
            self.file_problem(
                "geometry",
                "MultiPolygon",
                format!("{n} building(s) given as a MultiPolygon kept as one building with its parts; explode (--explode, with --ids auto) makes one building of each part"),
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

    /// Numbers this kind's elements `start, start + 1, …` in file order
    /// (chunks of a file are joined in order before this runs).
    fn number_from(&mut self, start: u64) {
        let d = &mut self.dataset;
        let n = d.len() as u64;
        if n == 0 {
            return;
        }
        let Some(last) = start.checked_add(n - 1).filter(|_| start > 0) else {
            self.file_problem(
                "id",
                &start.to_string(),
                format!("ids auto: {n} IDs from {start} do not fit"),
                Severity::Error,
            );
            return;
        };
        macro_rules! number {
            ($v:expr, $t:ty) => {
                // `start > 0`, so every ID is a valid (non-zero) one.
                for (e, id) in $v.iter_mut().zip(start..) {
                    if let Ok(id) = <$t>::new(id) {
                        e.id = id;
                    }
                }
            };
        }
        match self.kind {
            ElementKind::Buildings => number!(d.buildings, BuildingId),
            ElementKind::Compounds => number!(d.compounds, CompoundId),
            ElementKind::Places => number!(d.places, PlaceId),
            ElementKind::Roads => number!(d.roads, RoadId),
            ElementKind::Organisations => number!(d.organisations, OrganisationId),
            _ => return,
        }
        self.file_problem(
            "id",
            "",
            format!(
                "{} numbered {start}–{last} in file order (ids auto); the file's id column is not used, and the same file gives the same IDs",
                self.kind
            ),
            Severity::Warning,
        );
    }

    /// The pieces of a building given in several records with one ID (OSM
    /// multipolygon members, a vendor's split wings) become one footprint:
    /// their union, with every part kept when they do not touch.
    fn union_pieces(&mut self) {
        let mut pieces: Vec<(usize, Vec<Polygon<f64>>)> =
            std::mem::take(&mut self.pieces).into_iter().collect();
        pieces.sort_by_key(|(i, _)| *i);
        for (i, mut extra) in pieces {
            let b = &mut self.dataset.buildings[i];
            extra.extend(b.footprint.0.iter().cloned());
            let mut parts = unary_union(&extra).0;
            if parts.is_empty() {
                continue;
            }
            parts.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
            b.footprint = MultiPolygon(parts).orient(Direction::Default);
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
