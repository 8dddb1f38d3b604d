//! Ingest: assigns every element of a batch to the grids that contain it
//! (人进户、户进房、房进格、格进图) and writes the batch to the store in one
//! transaction.

use std::collections::HashMap;
use std::sync::OnceLock;

use geo::InteriorPoint;
use geo_core::ids::{HouseholdId, PersonId};
use geo_core::index::SpatialIndex;
use geo_core::model::{GridRefs, SentimentLink};
use geo_core::store::{ElementRef, Provenance, RefSource, Store, StoreError, WriteReport};
use geo_core::Dataset;

/// What an ingest did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestReport {
    /// Rows written.
    pub rows: u64,
    /// Point-located elements (buildings, units, places, events,
    /// organisations, compounds) that fell inside no grid and no community:
    /// usually a wrong `--crs`.
    pub outside_every_grid: u64,
    /// Point-located elements in the batch.
    pub located: u64,
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Grid references computed for one batch.
#[derive(Default)]
pub struct BatchRefs {
    map: FastMap<ElementRef, GridRefs>,
    /// Persons (the largest kind, referred to by nothing in a batch) in
    /// batch order, so the write reads them by position.
    persons: Vec<(PersonId, GridRefs)>,
    /// Position of each person, built on the first lookup by ID.
    person_at: OnceLock<FastMap<PersonId, usize>>,
}

impl BatchRefs {
    /// Looks up the refs of an element (empty when unknown).
    pub fn get(&self, e: ElementRef) -> GridRefs {
        if let ElementRef::Person(id) = e {
            let at = self.person_at.get_or_init(|| {
                self.persons
                    .iter()
                    .enumerate()
                    .map(|(i, (id, _))| (*id, i))
                    .collect()
            });
            return at.get(&id).map(|&i| self.persons[i].1).unwrap_or_default();
        }
        self.map.get(&e).copied().unwrap_or_default()
    }
}

impl RefSource for BatchRefs {
    fn refs(&self, e: ElementRef) -> GridRefs {
        self.get(e)
    }

    fn refs_at(&self, e: ElementRef, index: usize) -> GridRefs {
        match (e, self.persons.get(index)) {
            (ElementRef::Person(id), Some((at, r))) if *at == id => *r,
            _ => self.get(e),
        }
    }
}

/// Computes the grid references of every element of `batch`. `index` holds
/// the grids (and communities) to assign against; parents imported earlier
/// are looked up in `store`.
pub fn assign(
    batch: &Dataset,
    index: &SpatialIndex,
    store: Option<&Store>,
) -> Result<(BatchRefs, IngestReport), StoreError> {
    let mut refs = BatchRefs::default();
    let mut report = IngestReport::default();
    let mut locate =
        |e: ElementRef, p: Option<geo_types::Point<f64>>, report: &mut IngestReport| {
            let r = p.map(|p| index.grids_at(p.0)).unwrap_or_default();
            report.located += 1;
            if r.is_unassigned() {
                report.outside_every_grid += 1;
            }
            refs.map.insert(e, r);
        };
    for c in &batch.compounds {
        locate(
            ElementRef::Compound(c.id),
            c.boundary.interior_point(),
            &mut report,
        );
    }
    for b in &batch.buildings {
        locate(
            ElementRef::Building(b.id),
            b.footprint.interior_point(),
            &mut report,
        );
    }
    for u in &batch.units {
        locate(ElementRef::Unit(u.id), Some(u.entrance), &mut report);
    }
    for p in &batch.places {
        locate(
            ElementRef::Place(p.id),
            p.geometry.interior_point(),
            &mut report,
        );
    }
    for e in &batch.events {
        locate(ElementRef::Event(e.id), Some(e.location), &mut report);
    }
    for o in &batch.organisations {
        locate(
            ElementRef::Organisation(o.id),
            o.geometry.interior_point(),
            &mut report,
        );
    }
    // 户进房: a household takes its unit's grids (a micro-grid may split a
    // building), else its building's.
    let missing_b: Vec<u64> = batch
        .households
        .iter()
        .filter(|h| !refs.map.contains_key(&ElementRef::Building(h.building)))
        .map(|h| h.building.get())
        .collect();
    let stored_b = match (store, missing_b.is_empty()) {
        (Some(s), false) => s.refs_of("buildings", &missing_b)?,
        _ => HashMap::new(),
    };
    for h in &batch.households {
        let r = h
            .unit
            .and_then(|u| refs.map.get(&ElementRef::Unit(u)).copied())
            .or_else(|| refs.map.get(&ElementRef::Building(h.building)).copied())
            .or_else(|| stored_b.get(&h.building.get()).copied())
            .unwrap_or_default();
        refs.map.insert(ElementRef::Household(h.id), r);
    }
    // 人进户. The people of a household usually follow one another in a
    // file: each run of them is looked up once.
    let mut missing_h: Vec<u64> = Vec::new();
    for h in batch.persons.iter().filter_map(|p| p.household) {
        if missing_h.last() != Some(&h.get()) && !refs.map.contains_key(&ElementRef::Household(h)) {
            missing_h.push(h.get());
        }
    }
    let stored_h = match (store, missing_h.is_empty()) {
        (Some(s), false) => s.refs_of("households", &missing_h)?,
        _ => HashMap::new(),
    };
    refs.persons.reserve(batch.persons.len());
    let mut last: Option<(HouseholdId, GridRefs)> = None;
    for p in &batch.persons {
        let r = match (p.household, last) {
            (Some(h), Some((l, r))) if h == l => r,
            (Some(h), _) => {
                let r = refs
                    .map
                    .get(&ElementRef::Household(h))
                    .copied()
                    .or_else(|| stored_h.get(&h.get()).copied())
                    .unwrap_or_default();
                last = Some((h, r));
                r
            }
            (None, _) => GridRefs::default(),
        };
        refs.persons.push((p.id, r));
    }
    for s in &batch.sentiments {
        let r = match s.link {
            SentimentLink::Household(h) => refs.map.get(&ElementRef::Household(h)).copied(),
            SentimentLink::Place(p) => refs.map.get(&ElementRef::Place(p)).copied(),
            SentimentLink::Event(e) => refs.map.get(&ElementRef::Event(e)).copied(),
        }
        .unwrap_or_default();
        refs.map.insert(ElementRef::Sentiment(s.id), r);
    }
    Ok((refs, report))
}

/// Builds the index of the grids to assign a batch against: the batch's own
/// grids and communities when it brings them (demo, grid imports), plus the
/// stored ones unless `batch_only`.
pub fn grid_index(
    batch: &Dataset,
    store: &Store,
    batch_only: bool,
) -> Result<SpatialIndex, StoreError> {
    let mut grids = Dataset {
        communities: batch.communities.clone(),
        grids: batch.grids.clone(),
        ..Dataset::default()
    };
    if !batch_only {
        grids.communities.extend(store.communities()?);
        grids.grids.extend(store.grids()?);
    }
    Ok(SpatialIndex::build(&grids))
}

/// Assigns and writes a batch (all-or-nothing).
pub fn ingest(
    store: &mut Store,
    batch: &Dataset,
    batch_only: bool,
    provenance: Option<&Provenance>,
) -> Result<IngestReport, StoreError> {
    let index = grid_index(batch, store, batch_only)?;
    let (refs, mut report) = assign(batch, &index, Some(store))?;
    let WriteReport { rows } = store.write(batch, &refs, provenance)?;
    report.rows = rows;
    Ok(report)
}
