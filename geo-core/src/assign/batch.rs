//! The rule applied to a batch of elements: what intake and imports run
//! ([`assign_batch`], with the parents stored earlier looked up in the
//! store) and what in-memory callers run ([`assign_dataset`]).
//!
//! The share of located elements that fall outside every grid is reported:
//! a high share usually means the data came in the wrong CRS (GCJ-02 read as
//! WGS84 shifts points by hundreds of metres).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::OnceLock;

use geo_types::Coord;

use super::{
    household_parent, keep_declared_community, person_parent, refs_at, sentiment_parent,
    ElementRef, Located,
};
use crate::ids::{HouseholdId, PersonId};
use crate::index::SpatialIndex;
use crate::model::GridRefs;
use crate::Dataset;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Grid references by element (or by ID), hashed with foldhash: a batch's
/// parents are hundreds of thousands of small keys, where the standard
/// SipHash cost a tenth of an import's assignment.
pub type RefMap<K> = FastMap<K, GridRefs>;

/// Counts of elements that could not be placed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutsideCounts {
    /// Elements with a location of their own (buildings, units, places,
    /// events, organisations, compounds).
    pub located: usize,
    /// Buildings outside every grid and community.
    pub buildings: usize,
    /// Units whose entrance is outside.
    pub units: usize,
    /// Places outside.
    pub places: usize,
    /// Events outside.
    pub events: usize,
    /// Organisations outside.
    pub organisations: usize,
    /// Compounds outside.
    pub compounds: usize,
    /// Households whose building/unit is unknown.
    pub unlinked_households: usize,
    /// Persons with no household, or whose household is unknown.
    pub unlinked_persons: usize,
    /// Located elements with no usable geometry.
    pub unlocatable: usize,
}

impl OutsideCounts {
    /// Located elements outside every grid.
    pub fn total(&self) -> usize {
        self.buildings
            + self.units
            + self.places
            + self.events
            + self.organisations
            + self.compounds
    }
}

/// The grid references of every element of a batch.
#[derive(Debug, Default)]
pub struct Assignments {
    map: FastMap<ElementRef, GridRefs>,
    /// Persons (the largest kind, referred to by nothing in a batch) in
    /// batch order, so a write reads them by position.
    persons: Vec<(PersonId, GridRefs)>,
    /// Position of each person, built on the first lookup by ID.
    person_at: OnceLock<FastMap<PersonId, usize>>,
    /// What could not be placed.
    pub outside: OutsideCounts,
}

impl Assignments {
    /// The references of an element of the batch (none when unknown).
    pub fn get(&self, e: ElementRef) -> GridRefs {
        self.find(e).unwrap_or_default()
    }

    /// The references of an element, if it is in the batch.
    pub fn find(&self, e: ElementRef) -> Option<GridRefs> {
        if let ElementRef::Person(id) = e {
            let at = self.person_at.get_or_init(|| {
                self.persons
                    .iter()
                    .enumerate()
                    .map(|(i, (id, _))| (*id, i))
                    .collect()
            });
            return at.get(&id).map(|&i| self.persons[i].1);
        }
        self.map.get(&e).copied()
    }

    /// The references of `e`, the `index`-th element of its kind in the
    /// batch: persons are answered by position.
    pub fn get_at(&self, e: ElementRef, index: usize) -> GridRefs {
        match (e, self.persons.get(index)) {
            (ElementRef::Person(id), Some((at, r))) if *at == id => *r,
            _ => self.get(e),
        }
    }

    /// Share (0–1) of located elements outside every grid.
    pub fn outside_share(&self) -> f64 {
        if self.outside.located == 0 {
            0.0
        } else {
            self.outside.total() as f64 / self.outside.located as f64
        }
    }

    /// True when so many elements fall outside the grids (over half of at
    /// least 20) that the data is probably in another CRS than declared.
    pub fn suspect_wrong_crs(&self) -> bool {
        self.outside.located >= 20 && self.outside_share() > 0.5
    }
}

/// The references of elements stored before the batch, for the parents
/// (buildings, units, households, places, events) a batch refers to but
/// does not bring.
pub trait StoredRefs {
    /// Why a look-up failed.
    type Error;

    /// The references of those of `elements` (all of one kind, sorted,
    /// without repeats) that are stored; unknown ones are left out.
    fn stored_refs(&self, elements: &[ElementRef]) -> Result<RefMap<ElementRef>, Self::Error>;
}

/// No store: every parent must be in the batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl StoredRefs for NoStore {
    type Error = Infallible;

    fn stored_refs(&self, _elements: &[ElementRef]) -> Result<RefMap<ElementRef>, Infallible> {
        Ok(RefMap::default())
    }
}

/// Looks up, in one call per kind, the parents of `wanted` that the batch
/// does not hold.
fn stored_parents<S: StoredRefs>(
    store: &S,
    batch: &Assignments,
    wanted: impl Iterator<Item = ElementRef>,
) -> Result<RefMap<ElementRef>, S::Error> {
    let mut missing: Vec<ElementRef> = Vec::new();
    for e in wanted {
        // A run of the same parent (the people of a household) adds it once.
        if missing.last() != Some(&e) && !batch.map.contains_key(&e) {
            missing.push(e);
        }
    }
    if missing.is_empty() {
        return Ok(RefMap::default());
    }
    missing.sort_unstable();
    missing.dedup();
    let mut out = RefMap::default();
    let mut rest = missing.as_slice();
    while let Some(first) = rest.first() {
        let kind = std::mem::discriminant(first);
        let n = rest
            .iter()
            .position(|e| std::mem::discriminant(e) != kind)
            .unwrap_or(rest.len());
        let found = store.stored_refs(&rest[..n])?;
        if out.is_empty() {
            out = found;
        } else {
            out.extend(found);
        }
        rest = &rest[n..];
    }
    Ok(out)
}

/// Assigns every element of `batch` to the grids of `index` (whose
/// locators are built first; see [`SpatialIndex::prepare`]) by the rule of
/// [`crate::assign`]. Parents the batch refers to but does not bring are
/// looked up in `store`.
pub fn assign_batch<S: StoredRefs>(
    batch: &Dataset,
    index: &SpatialIndex,
    store: &S,
) -> Result<Assignments, S::Error> {
    index.prepare();
    let mut out = Assignments::default();
    let mut counts = OutsideCounts::default();
    let mut place = |e: ElementRef, c: Option<Coord<f64>>, outside: &mut usize| {
        counts.located += 1;
        if c.is_none() {
            counts.unlocatable += 1;
        }
        let refs = refs_at(index, c);
        if refs.is_unassigned() {
            *outside += 1;
        }
        (e, refs)
    };
    let mut outside = OutsideCounts::default();
    let mut located: Vec<(ElementRef, GridRefs)> = Vec::new();
    for c in &batch.compounds {
        let (e, r) = place(
            ElementRef::Compound(c.id),
            c.assignment_point(),
            &mut outside.compounds,
        );
        located.push((e, keep_declared_community(r, c.community)));
    }
    for b in &batch.buildings {
        located.push(place(
            ElementRef::Building(b.id),
            b.assignment_point(),
            &mut outside.buildings,
        ));
    }
    for u in &batch.units {
        located.push(place(
            ElementRef::Unit(u.id),
            u.assignment_point(),
            &mut outside.units,
        ));
    }
    for p in &batch.places {
        located.push(place(
            ElementRef::Place(p.id),
            p.assignment_point(),
            &mut outside.places,
        ));
    }
    for e in &batch.events {
        located.push(place(
            ElementRef::Event(e.id),
            e.assignment_point(),
            &mut outside.events,
        ));
    }
    for o in &batch.organisations {
        located.push(place(
            ElementRef::Organisation(o.id),
            o.assignment_point(),
            &mut outside.organisations,
        ));
    }
    counts = OutsideCounts {
        located: counts.located,
        unlocatable: counts.unlocatable,
        ..outside
    };
    out.map.reserve(located.len() + batch.households.len());
    out.map.extend(located);

    // 户进房.
    let parent = |h: &crate::model::Household| household_parent(h.unit, h.building);
    let stored = stored_parents(store, &out, batch.households.iter().map(parent))?;
    for h in &batch.households {
        let p = parent(h);
        let r = match out.map.get(&p).or_else(|| stored.get(&p)) {
            Some(r) => *r,
            None => {
                counts.unlinked_households += 1;
                GridRefs::default()
            }
        };
        out.map.insert(ElementRef::Household(h.id), r);
    }

    // 人进户. The people of a household usually follow one another in a
    // file: each run of them is looked up once.
    let stored = stored_parents(
        store,
        &out,
        batch
            .persons
            .iter()
            .filter_map(|p| person_parent(p.household)),
    )?;
    out.persons.reserve(batch.persons.len());
    let mut last: Option<(HouseholdId, GridRefs)> = None;
    for p in &batch.persons {
        let r = match (p.household, last) {
            (Some(h), Some((l, r))) if h == l => Some(r),
            _ => person_parent(p.household).and_then(|e| {
                let r = out.map.get(&e).or_else(|| stored.get(&e)).copied();
                if let (Some(h), Some(r)) = (p.household, r) {
                    last = Some((h, r));
                }
                r
            }),
        };
        if r.is_none() {
            counts.unlinked_persons += 1;
        }
        out.persons.push((p.id, r.unwrap_or_default()));
    }

    let stored = stored_parents(
        store,
        &out,
        batch.sentiments.iter().map(|s| sentiment_parent(s.link)),
    )?;
    for s in &batch.sentiments {
        let p = sentiment_parent(s.link);
        let r = out.map.get(&p).or_else(|| stored.get(&p)).copied();
        out.map
            .insert(ElementRef::Sentiment(s.id), r.unwrap_or_default());
    }
    out.outside = counts;
    Ok(out)
}

/// Assigns every element of `ds` (which holds every parent) to the grids of
/// `index`: [`assign_batch`] without a store.
pub fn assign_dataset(ds: &Dataset, index: &SpatialIndex) -> Assignments {
    match assign_batch(ds, index, &NoStore) {
        Ok(a) => a,
        Err(never) => match never {},
    }
}
