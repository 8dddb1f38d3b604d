//! Writes: batches (all-or-nothing), single events and their transitions,
//! and re-assignment of every element when grids change.

use std::collections::HashSet;

use duckdb::params;
use rayon::prelude::*;

use super::codec::{bbox, geom_text, GeomRef};
use super::columnar::{append_all, Columns};
use super::error::{Ctx, Result, StoreError};
use super::versions::{grid_state_on, record_import, GridImport, VersionReport};
use super::{Store, TransitionRow};
pub use crate::assign::ElementRef;
use crate::assign::{keep_declared_community, Assignments, Located};
use crate::crypt::{seal_all, PersonSecrets, SealedPerson};
use crate::dataset::Dataset;
use crate::ids::{
    BuildingId, CompoundId, EventId, HouseholdId, OrganisationId, PersonId, PlaceId, SentimentId,
    UnitId,
};
use crate::io::ElementKind;
use crate::model::{Event, GridRefs, SentimentLink};
use duckdb::arrow::record_batch::RecordBatch;

/// Gives the grid references of an element (implemented by the spatial
/// assignment, [`Assignments`]; any `Fn(ElementRef) -> GridRefs` works).
pub trait RefSource: Sync {
    /// References of `e`.
    fn refs(&self, e: ElementRef) -> GridRefs;

    /// References of `e`, the `index`-th element of its kind in the batch
    /// being written: a source that keeps a kind in batch order answers
    /// without a lookup by ID.
    fn refs_at(&self, e: ElementRef, index: usize) -> GridRefs {
        let _ = index;
        self.refs(e)
    }
}

impl RefSource for Assignments {
    fn refs(&self, e: ElementRef) -> GridRefs {
        self.get(e)
    }

    fn refs_at(&self, e: ElementRef, index: usize) -> GridRefs {
        self.get_at(e, index)
    }
}

impl<F: Fn(ElementRef) -> GridRefs + Sync> RefSource for F {
    fn refs(&self, e: ElementRef) -> GridRefs {
        self(e)
    }
}

fn person_secrets(p: &crate::model::Person) -> PersonSecrets {
    PersonSecrets {
        id: p.id.get(),
        national_id: p.national_id,
        phone: p.phone.map(|n| n.code()),
    }
}

/// Persons' ID numbers and phones being sealed on other threads
/// ([`Store::seal_ahead`]); dropping it lets the sealing finish unused.
#[must_use = "pass it to Store::write_sealed"]
#[derive(Debug)]
pub struct SealingAhead {
    work: Option<std::thread::JoinHandle<(Vec<PersonSecrets>, Vec<SealedPerson>)>>,
}

impl SealingAhead {
    /// Waits for the seals; `None` when they were made for other persons
    /// than `persons`, or none were started (no persons, or no thread could
    /// be), so the caller seals.
    fn take(self, persons: &[crate::model::Person]) -> Option<Vec<SealedPerson>> {
        let (secrets, sealed) = self
            .work?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (secrets.len() == persons.len()
            && secrets
                .par_iter()
                .zip(persons)
                .all(|(s, p)| *s == person_secrets(p)))
        .then_some(sealed)
    }
}

/// Where a batch came from, kept with the data.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// Element kind.
    pub kind: String,
    /// File name or generator.
    pub source: String,
    /// Declared source CRS.
    pub crs: String,
}

/// What a write stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteReport {
    /// Rows appended, all tables together.
    pub rows: u64,
}

fn dup_check<T: Copy + Into<u64>>(kind: &'static str, ids: impl Iterator<Item = T>) -> Result<()> {
    let mut ids: Vec<u64> = ids.map(Into::into).collect();
    ids.sort_unstable();
    match ids.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(StoreError::Duplicate { kind, id: w[0] }),
        None => Ok(()),
    }
}

macro_rules! into_u64 {
    ($($t:ty),*) => {$(impl From<$t> for u64 { fn from(v: $t) -> u64 { v.get() } })*};
}
into_u64!(
    crate::ids::CommunityId,
    crate::ids::GridId,
    CompoundId,
    BuildingId,
    UnitId,
    HouseholdId,
    PersonId,
    PlaceId,
    EventId,
    SentimentId,
    OrganisationId,
    crate::ids::RoadId
);

impl Store {
    /// Stores a batch in one transaction. Either every row is stored or, on
    /// any error (duplicate ID, missing reference, constraint), none is.
    /// Grids of the batch join the current grid version (1 in a new store);
    /// [`Store::write_grids`] makes a new version and re-assigns instead.
    pub fn write(
        &mut self,
        batch: &Dataset,
        refs: &dyn RefSource,
        provenance: Option<&Provenance>,
    ) -> Result<WriteReport> {
        self.write_impl(batch, refs, provenance, None, None)
            .map(|(w, _)| w)
    }

    /// Starts sealing the ID numbers and phones of `persons` on other
    /// threads (every core), so that the caller's next step — an import's
    /// grid assignment, which runs on one core — runs beside it;
    /// [`Store::write_sealed`] then waits for the seals instead of sealing
    /// beside its reference checks.
    pub fn seal_ahead(&self, persons: &[crate::model::Person]) -> SealingAhead {
        let secrets: Vec<PersonSecrets> = persons.iter().map(person_secrets).collect();
        if secrets.is_empty() {
            return SealingAhead { work: None };
        }
        let keys = self.keys.clone();
        let work = std::thread::Builder::new()
            .name("sealing".into())
            .spawn(move || {
                let sealed = seal_all(&keys, &secrets, |p| *p);
                (secrets, sealed)
            })
            .ok();
        SealingAhead { work }
    }

    /// [`Store::write`] with the persons' seals started by
    /// [`Store::seal_ahead`] (`None`: sealed now, beside the reference
    /// checks, as `write` does). Seals of other persons than the batch's
    /// (the batch changed since) are not used: the batch is sealed again.
    pub fn write_sealed(
        &mut self,
        batch: &Dataset,
        refs: &dyn RefSource,
        provenance: Option<&Provenance>,
        ahead: Option<SealingAhead>,
    ) -> Result<WriteReport> {
        self.write_impl(batch, refs, provenance, None, ahead)
            .map(|(w, _)| w)
    }

    /// Stores a batch that brings grids or communities (`wangge import
    /// grids|communities`) as a new grid version, in one transaction: the
    /// rows, then every stored element re-assigned against the grids now
    /// current (人进户、户进房、房进格), the history row and the audit line.
    /// On any error nothing is stored.
    pub fn write_grids(
        &mut self,
        batch: &Dataset,
        refs: &dyn RefSource,
        provenance: Option<&Provenance>,
        import: &GridImport,
    ) -> Result<(WriteReport, VersionReport)> {
        let (w, v) = self.write_impl(batch, refs, provenance, Some(import), None)?;
        let v = v.ok_or_else(|| StoreError::InvalidChange {
            reason: "the import made no grid version".into(),
        })?;
        Ok((w, v))
    }

    fn write_impl(
        &mut self,
        batch: &Dataset,
        refs: &dyn RefSource,
        provenance: Option<&Provenance>,
        import: Option<&GridImport>,
        ahead: Option<SealingAhead>,
    ) -> Result<(WriteReport, Option<VersionReport>)> {
        dup_check("community", batch.communities.iter().map(|x| x.id))?;
        dup_check("grid", batch.grids.iter().map(|x| x.id))?;
        dup_check("compound", batch.compounds.iter().map(|x| x.id))?;
        dup_check("building", batch.buildings.iter().map(|x| x.id))?;
        dup_check("unit", batch.units.iter().map(|x| x.id))?;
        dup_check("household", batch.households.iter().map(|x| x.id))?;
        dup_check("person", batch.persons.iter().map(|x| x.id))?;
        dup_check("place", batch.places.iter().map(|x| x.id))?;
        dup_check("event", batch.events.iter().map(|x| x.id))?;
        dup_check("sentiment", batch.sentiments.iter().map(|x| x.id))?;
        dup_check("organisation", batch.organisations.iter().map(|x| x.id))?;
        dup_check("road", batch.roads.iter().map(|x| x.id))?;

        // ID numbers and phones are sealed on every core while DuckDB
        // checks the batch's references — or were started earlier.
        let ahead = ahead.unwrap_or_else(|| self.seal_ahead(&batch.persons));
        check_batch(self, batch)?;
        let sealed = ahead
            .take(&batch.persons)
            .unwrap_or_else(|| seal_all(&self.keys, &batch.persons, person_secrets));
        let tx = self.conn.transaction().ctx("starting import")?;
        let state = grid_state_on(&tx)?;
        let grid_version = match import {
            Some(_) => state.version + 1,
            None => state.version.max(1),
        };
        let grid_version = i32::try_from(grid_version).map_err(|_| StoreError::InvalidChange {
            reason: format!("grid version {grid_version} out of range"),
        })?;
        let mut rows = 0u64;
        if let Some(t) = &batch.town {
            tx.execute("DELETE FROM town", []).ctx("replacing town")?;
            tx.execute(
                "INSERT INTO town VALUES (?, ?, ?, ?)",
                params![t.code.as_str(), t.name, t.centre.x(), t.centre.y()],
            )
            .ctx("writing town")?;
            rows += 1;
        }
        append_all(&tx, "communities", &batch.communities, |_, c, cols| {
            let b = bbox(&c.boundary.clone().into());
            cols.push(params![
                c.id.get(),
                c.code.as_str(),
                c.name,
                c.is_village,
                geom_text(&c.boundary),
                b.map(|b| b.min().x),
                b.map(|b| b.min().y),
                b.map(|b| b.max().x),
                b.map(|b| b.max().y)
            ])
        })?;
        super::versions::append_grids(&tx, &batch.grids, grid_version)?;
        append_all(&tx, "compounds", &batch.compounds, |i, c, cols| {
            let p = c.assignment_point();
            let r =
                keep_declared_community(refs.refs_at(ElementRef::Compound(c.id), i), c.community);
            cols.push_with_refs(
                params![
                    c.id.get(),
                    c.name,
                    c.era.code(),
                    c.built_year,
                    geom_text(GeomRef::Parts(&c.boundary)),
                    p.map(|p| p.x),
                    p.map(|p| p.y)
                ],
                &r,
            )
        })?;
        append_all(&tx, "buildings", &batch.buildings, |i, b, cols| {
            let p = b.assignment_point();
            cols.push_with_refs(
                params![
                    b.id.get(),
                    b.compound.map(|i| i.get()),
                    geom_text(GeomRef::Parts(&b.footprint)),
                    b.levels,
                    b.height_m,
                    b.usage.code(),
                    b.units,
                    b.households,
                    b.households_estimated,
                    b.address,
                    p.map(|p| p.x),
                    p.map(|p| p.y)
                ],
                &refs.refs_at(ElementRef::Building(b.id), i),
            )
        })?;
        append_all(&tx, "units", &batch.units, |i, u, cols| {
            cols.push_with_refs(
                params![
                    u.id.get(),
                    u.building.get(),
                    u.number,
                    u.households,
                    u.entrance.x(),
                    u.entrance.y()
                ],
                &refs.refs_at(ElementRef::Unit(u.id), i),
            )
        })?;
        append_all(&tx, "households", &batch.households, |i, h, cols| {
            cols.push_with_refs(
                params![
                    h.id.get(),
                    h.building.get(),
                    h.unit.map(|i| i.get()),
                    h.floor,
                    h.room,
                    h.size,
                    h.tenure.code(),
                    h.group_rented,
                    h.party_member
                ],
                &refs.refs_at(ElementRef::Household(h.id), i),
            )
        })?;
        append_all(&tx, "persons", &batch.persons, |i, p, cols| {
            let mut tags = String::new();
            for (i, t) in p.tags.iter().enumerate() {
                if i > 0 {
                    tags.push(';');
                }
                tags.push_str(t.code());
            }
            let s = &sealed[i];
            cols.push_with_refs(
                params![
                    p.id.get(),
                    p.household.map(|i| i.get()),
                    p.name,
                    s.secrets.as_ref().map(|b| &b[..]),
                    s.national_id_hash,
                    p.birth_year,
                    p.sex.code(),
                    tags
                ],
                &refs.refs_at(ElementRef::Person(p.id), i),
            )
        })?;
        append_all(&tx, "places", &batch.places, |i, p, cols| {
            let pt = p.assignment_point();
            cols.push_with_refs(
                params![
                    p.id.get(),
                    p.name,
                    p.category.code(),
                    p.service.map(|s| s.code()),
                    geom_text(&p.geometry),
                    pt.map(|p| p.x),
                    pt.map(|p| p.y)
                ],
                &refs.refs_at(ElementRef::Place(p.id), i),
            )
        })?;
        append_all(&tx, "events", &batch.events, |i, e, cols| {
            event_row(cols, e, &refs.refs_at(ElementRef::Event(e.id), i))
        })?;
        append_all(&tx, "sentiments", &batch.sentiments, |i, s, cols| {
            let (lk, lid) = match s.link {
                SentimentLink::Household(h) => ("household", h.get()),
                SentimentLink::Place(p) => ("place", p.get()),
                SentimentLink::Event(e) => ("event", e.get()),
            };
            cols.push_with_refs(
                params![
                    s.id.get(),
                    s.kind.code(),
                    s.score,
                    s.text,
                    s.at.timestamp(),
                    lk,
                    lid
                ],
                &refs.refs_at(ElementRef::Sentiment(s.id), i),
            )
        })?;
        append_all(&tx, "organisations", &batch.organisations, |i, o, cols| {
            let pt = o.assignment_point();
            let members: Vec<u64> = o.members.iter().map(|m| m.get()).collect();
            cols.push_with_refs(
                params![
                    o.id.get(),
                    o.name,
                    o.kind.code(),
                    geom_text(&o.geometry),
                    o.compound.map(|i| i.get()),
                    serde_json::to_string(&members).unwrap_or_else(|_| "[]".into()),
                    o.member_count,
                    pt.map(|p| p.x),
                    pt.map(|p| p.y)
                ],
                &refs.refs_at(ElementRef::Organisation(o.id), i),
            )
        })?;
        append_all(&tx, "roads", &batch.roads, |_, r, cols| {
            cols.push(params![
                r.id.get(),
                r.name,
                r.class.code(),
                geom_text(&r.line)
            ])
        })?;
        rows += batch.len() as u64;
        if let Some(p) = provenance {
            tx.execute(
                "INSERT INTO provenance VALUES (?, ?, ?, ?, ?)",
                params![
                    p.kind,
                    p.source,
                    p.crs,
                    rows,
                    chrono::Utc::now().timestamp()
                ],
            )
            .ctx("writing provenance")?;
        }
        let version = match import {
            Some(imp) => Some(record_import(
                &tx,
                &self.keys,
                batch,
                i64::from(grid_version),
                imp,
            )?),
            None => None,
        };
        tx.commit().ctx("committing import")?;
        Ok((WriteReport { rows }, version))
    }

    /// Stores new events (intake), each with its first transition and its
    /// assisting departments, in one transaction: all of them or none.
    /// Intakes that arrive together are written by one call (group
    /// commit): one commit, one WAL sync, for the lot.
    pub fn insert_events(&mut self, batch: &[NewEvent<'_>]) -> Result<()> {
        let tx = self.conn.transaction().ctx("starting event intake")?;
        append_all(&tx, "events", batch, |_, n, cols| {
            event_row(cols, n.event, &n.refs)
        })?;
        append_all(&tx, "event_transitions", batch, |_, n, cols| {
            let e = n.event;
            cols.push(params![
                e.id.get(),
                0,
                None::<String>,
                e.status.code(),
                e.reported_at.timestamp(),
                n.actor,
                "intake"
            ])
        })?;
        for n in batch.iter().filter(|n| !n.assists.is_empty()) {
            let e = n.event;
            super::assists::add_assists(&tx, e.id, n.assists, n.actor, e.reported_at.timestamp())?;
        }
        tx.commit().ctx("committing events")?;
        Ok(())
    }

    /// Stores a changed event and the transition that changed it, atomically.
    pub fn update_event(&mut self, e: &Event, transition: &TransitionRow) -> Result<()> {
        let tx = self.conn.transaction().ctx("starting event update")?;
        let n = tx
            .execute(
                "UPDATE events SET status = ?, grade = ?, deadline = ?, handler = ?, resolved_at = ?,
                 satisfaction = ?, master = ? WHERE id = ?",
                params![
                    e.status.code(),
                    e.grade.code(),
                    e.deadline.map(|d| d.timestamp()),
                    e.handler,
                    e.resolved_at.map(|d| d.timestamp()),
                    e.satisfaction,
                    e.master.map(|m| m.get()),
                    e.id.get()
                ],
            )
            .ctx("updating event")?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "event",
                id: e.id.to_string(),
            });
        }
        tx.execute(
            "INSERT INTO event_transitions
             SELECT ?, coalesce(max(seq), -1) + 1, ?, ?, ?, ?, ? FROM event_transitions WHERE event = ?",
            params![
                e.id.get(),
                transition.from,
                transition.to,
                transition.at,
                transition.actor,
                transition.note,
                e.id.get()
            ],
        )
        .ctx("writing event transition")?;
        tx.commit().ctx("committing event update")?;
        Ok(())
    }
}

/// A new event to store with [`Store::insert_events`].
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// The event, in its first status.
    pub event: &'a Event,
    /// Its grids.
    pub refs: GridRefs,
    /// Who filed it (the first transition's actor).
    pub actor: &'a str,
    /// Its assisting departments (names without `dept:`), possibly none.
    pub assists: &'a [String],
}

fn event_row(cols: &mut Columns, e: &Event, refs: &GridRefs) -> Result<Option<RecordBatch>> {
    cols.push_with_refs(
        params![
            e.id.get(),
            e.category.code(),
            e.title,
            e.location.x(),
            e.location.y(),
            e.reported_at.timestamp(),
            e.source.code(),
            e.status.code(),
            e.grade.code(),
            e.deadline.map(|d| d.timestamp()),
            e.handler,
            e.resolved_at.map(|d| d.timestamp()),
            e.satisfaction,
            e.master.map(|m| m.get()),
            e.reporter_household.map(|h| h.get())
        ],
        refs,
    )
}

/// Checks a batch before anything is written: every reference resolves to
/// an element of the batch or of the store, and no ID of the large tables
/// (which carry no primary-key index, for load speed) is stored already.
/// Only the batch's own IDs are looked up, so the cost does not grow with the
/// store (streamed province-scale demos write a thousand batches).
fn check_batch(store: &Store, batch: &Dataset) -> Result<()> {
    fn missing<'a>(
        store: &Store,
        kind: &'static str,
        field: &'static str,
        target: ElementKind,
        in_batch: &HashSet<u64>,
        refs: impl Iterator<Item = (u64, Option<u64>)> + Clone + 'a,
    ) -> Result<()> {
        let outside = |r: &u64| in_batch.is_empty() || !in_batch.contains(r);
        // The distinct targets (a run of rows with the same one, such as
        // the people of a household, adds it once before the sort).
        let mut ids: Vec<u64> = Vec::new();
        for r in refs.clone().filter_map(|(_, r)| r).filter(outside) {
            if ids.last() != Some(&r) {
                ids.push(r);
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        ids.sort_unstable();
        ids.dedup();
        let found = store.existing_ids(target, &ids)?;
        if found.len() == ids.len() {
            return Ok(());
        }
        let first = refs
            .filter_map(|(id, r)| r.map(|r| (id, r)))
            .find(|(_, r)| outside(r) && !found.contains(r));
        match first {
            Some((id, r)) => Err(StoreError::MissingReference {
                kind,
                id,
                field,
                target: r,
            }),
            None => Ok(()),
        }
    }
    let set = |v: Vec<u64>| v.into_iter().collect::<HashSet<u64>>();
    let households = set(batch.households.iter().map(|h| h.id.get()).collect());
    let buildings = set(batch.buildings.iter().map(|b| b.id.get()).collect());
    let units = set(batch.units.iter().map(|u| u.id.get()).collect());
    let compounds = set(batch.compounds.iter().map(|c| c.id.get()).collect());
    let grids = set(batch.grids.iter().map(|g| g.id.get()).collect());
    missing(
        store,
        "person",
        "household",
        ElementKind::Households,
        &households,
        batch
            .persons
            .iter()
            .map(|p| (p.id.get(), p.household.map(|h| h.get()))),
    )?;
    missing(
        store,
        "household",
        "building",
        ElementKind::Buildings,
        &buildings,
        batch
            .households
            .iter()
            .map(|h| (h.id.get(), Some(h.building.get()))),
    )?;
    missing(
        store,
        "household",
        "unit",
        ElementKind::Units,
        &units,
        batch
            .households
            .iter()
            .map(|h| (h.id.get(), h.unit.map(|u| u.get()))),
    )?;
    missing(
        store,
        "unit",
        "building",
        ElementKind::Buildings,
        &buildings,
        batch
            .units
            .iter()
            .map(|u| (u.id.get(), Some(u.building.get()))),
    )?;
    missing(
        store,
        "building",
        "compound",
        ElementKind::Compounds,
        &compounds,
        batch
            .buildings
            .iter()
            .map(|b| (b.id.get(), b.compound.map(|c| c.get()))),
    )?;
    missing(
        store,
        "grid",
        "parent",
        ElementKind::Grids,
        &grids,
        batch
            .grids
            .iter()
            .map(|g| (g.id.get(), g.parent.map(|p| p.get()))),
    )?;
    missing(
        store,
        "organisation",
        "compound",
        ElementKind::Compounds,
        &compounds,
        batch
            .organisations
            .iter()
            .map(|o| (o.id.get(), o.compound.map(|c| c.get()))),
    )?;
    for (table, ids) in [
        (
            ElementKind::Persons,
            batch.persons.iter().map(|p| p.id.get()).collect::<Vec<_>>(),
        ),
        (
            ElementKind::Households,
            batch.households.iter().map(|h| h.id.get()).collect(),
        ),
        (
            ElementKind::Sentiments,
            batch.sentiments.iter().map(|s| s.id.get()).collect(),
        ),
    ] {
        if let Some(id) = store.existing_ids(table, &ids)?.into_iter().min() {
            return Err(StoreError::Duplicate {
                kind: table.singular(),
                id,
            });
        }
    }
    Ok(())
}
