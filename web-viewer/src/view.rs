//! The in-memory view of the town the server answers from: the spatial
//! dataset, its index, tiles and heatmap index, plus per-grid figures. Built
//! from the store at start, updated on every write.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use geo_core::ids::{EventId, GridId, HouseholdId};
use geo_core::index::SpatialIndex;
use geo_core::model::{Event, GridRefs};
use geo_core::store::{LoadSet, Scope, Store, StoreError};
use geo_core::Dataset;
use tiles::{TileOptions, TileSet};

/// Population figures of one grid, from the store.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct GridPop {
    /// Households.
    pub households: u64,
    /// Residents.
    pub residents: u64,
    /// Residents aged 60+.
    pub aged60: u64,
    /// Elderly living alone.
    pub elderly_alone: u64,
}

/// Everything the server reads without touching the store.
pub struct TownView {
    /// Spatial elements (no people).
    pub dataset: Dataset,
    /// Spatial index.
    pub index: SpatialIndex,
    /// Vector tiles.
    pub tiles: TileSet,
    /// Grid code → position in `dataset.grids`.
    pub grid_by_code: HashMap<String, usize>,
    /// Grid ID → position in `dataset.grids`.
    pub grid_pos: HashMap<GridId, usize>,
    /// Grid figures.
    pub grid_pop: HashMap<u64, GridPop>,
    /// Grid references of each event (position aligned with `dataset.events`).
    pub event_refs: Vec<GridRefs>,
    /// Event ID → position in `dataset.events`.
    pub event_pos: HashMap<EventId, usize>,
    /// Positions in `dataset.events`, newest report first (equal times in
    /// the store's order): the order of the event list, kept as events
    /// arrive so that a page of the list never sorts the town's events.
    pub events_newest: Vec<usize>,
    /// Next free event ID.
    pub next_event_id: u64,
    /// Names of the residents of each household that reported an event, to
    /// mask them in the event's free text ([`geo_core::ids::scrub_names`]).
    /// Personal data: never served, only used to mask.
    pub reporter_names: HashMap<HouseholdId, Vec<String>>,
}

/// Per-grid figures of `year` from the store, keyed by grid ID (as
/// [`TownView::grid_pop`]).
pub fn grid_pop(store: &Store, year: i32) -> Result<HashMap<u64, GridPop>, StoreError> {
    Ok(store
        .grid_population(year)?
        .into_iter()
        .map(|p| {
            (
                p.grid,
                GridPop {
                    households: p.households,
                    residents: p.residents,
                    aged60: p.aged60,
                    elderly_alone: p.elderly_alone,
                },
            )
        })
        .collect())
}

impl TownView {
    /// Loads the view from the store; population figures of the year of `now`.
    pub fn load(store: &Store, now: chrono::DateTime<Utc>) -> Result<TownView, StoreError> {
        let dataset = store.load(&Scope::Town, LoadSet::Spatial)?;
        let grid_pop = grid_pop(store, now.year())?;
        let next_event_id = store.max_event_id()? + 1;
        let households: Vec<HouseholdId> = dataset
            .events
            .iter()
            .filter_map(|e| e.reporter_household)
            .collect();
        let reporter_names = store.resident_names(&households)?;
        let mut view = Self::from_dataset(dataset, grid_pop, next_event_id);
        view.reporter_names = reporter_names;
        Ok(view)
    }

    /// Builds the view from a dataset.
    pub fn from_dataset(
        dataset: Dataset,
        grid_pop: HashMap<u64, GridPop>,
        next_event_id: u64,
    ) -> TownView {
        let index = SpatialIndex::build(&dataset);
        let tiles = TileSet::build(&dataset, TileOptions::default());
        let grid_by_code = dataset
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| (g.code.as_str().to_string(), i))
            .collect();
        let grid_pos = dataset
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id, i))
            .collect();
        let event_refs = dataset
            .events
            .iter()
            .map(|e| index.grids_at(e.location.0))
            .collect();
        let event_pos = dataset
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id, i))
            .collect();
        let mut events_newest: Vec<usize> = (0..dataset.events.len()).collect();
        events_newest.sort_by_key(|&i| std::cmp::Reverse(dataset.events[i].reported_at));
        TownView {
            dataset,
            index,
            tiles,
            grid_by_code,
            grid_pos,
            grid_pop,
            event_refs,
            event_pos,
            events_newest,
            next_event_id,
            reporter_names: HashMap::new(),
        }
    }

    /// Names to mask in the free text of `e`: the residents of the
    /// household that reported it (none for a report without one).
    pub fn names_of(&self, e: &Event) -> &[String] {
        e.reporter_household
            .and_then(|h| self.reporter_names.get(&h))
            .map_or(&[], Vec::as_slice)
    }

    /// [`Self::names_of`] the event with this ID, if the view holds it.
    pub fn names_of_id(&self, id: u64) -> &[String] {
        EventId::new(id)
            .ok()
            .and_then(|id| self.event_pos.get(&id))
            .map_or(&[], |&i| self.names_of(&self.dataset.events[i]))
    }

    /// Adds or replaces an event everywhere in the view; returns its refs
    /// and the tiles to drop from the cache.
    pub fn upsert_event(&mut self, e: Event) -> (GridRefs, tiles::Invalidation) {
        let refs = self.index.grids_at(e.location.0);
        let inval = self.tiles.upsert_event(&e);
        match self.event_pos.get(&e.id) {
            Some(&i) => {
                let moved = self.dataset.events[i].reported_at != e.reported_at;
                if moved {
                    self.events_newest.retain(|&j| j != i);
                }
                self.dataset.events[i] = e;
                self.event_refs[i] = refs;
                if moved {
                    self.place_in_order(i);
                }
            }
            None => {
                let i = self.dataset.events.len();
                self.event_pos.insert(e.id, i);
                self.next_event_id = self.next_event_id.max(e.id.get() + 1);
                self.dataset.events.push(e);
                self.event_refs.push(refs);
                self.place_in_order(i);
            }
        }
        (refs, inval)
    }

    /// Puts position `i` into [`Self::events_newest`]: after every event
    /// reported at the same time or later that the store holds before it,
    /// before the rest (the order a stable sort newest-first gives).
    fn place_in_order(&mut self, i: usize) {
        let events = &self.dataset.events;
        let t = events[i].reported_at;
        let at = self.events_newest.partition_point(|&j| {
            events[j].reported_at > t || (events[j].reported_at == t && j < i)
        });
        self.events_newest.insert(at, i);
    }

    /// Events of a grid (any level), with their positions.
    pub fn grid_events(&self, g: GridId) -> impl Iterator<Item = &Event> {
        self.dataset
            .events
            .iter()
            .zip(&self.event_refs)
            .filter(move |(_, r)| {
                r.comprehensive == Some(g) || r.micro == Some(g) || r.dedicated == Some(g)
            })
            .map(|(e, _)| e)
    }
}

/// Median of a sample (None when empty).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Monday of the ISO week of `t`, as `YYYY-MM-DD`.
pub fn week_of(t: DateTime<Utc>) -> String {
    let d = t.date_naive();
    let monday = d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
    monday.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use geo_core::model::EventSource;

    fn event(id: u64, hour: u32) -> Event {
        Event::reported(
            EventId::new(id).expect("id"),
            geo_core::taxonomy::EventCategory::parse("02.01").expect("category"),
            "t",
            geo_types::Point::new(114.0, 34.0),
            Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap(),
            EventSource::Patrol,
        )
    }

    fn newest_ids(v: &TownView) -> Vec<u64> {
        v.events_newest
            .iter()
            .map(|&i| v.dataset.events[i].id.get())
            .collect()
    }

    /// The list order the view keeps equals a stable newest-first sort,
    /// after loading and after events arrive or change their time.
    #[test]
    fn events_stay_newest_first_as_they_arrive() {
        let dataset = Dataset {
            events: vec![event(1, 8), event(2, 10), event(3, 9), event(4, 10)],
            ..Dataset::default()
        };
        let mut v = TownView::from_dataset(dataset, HashMap::new(), 5);
        assert_eq!(newest_ids(&v), [2, 4, 3, 1]);
        v.upsert_event(event(5, 9));
        v.upsert_event(event(6, 11));
        assert_eq!(newest_ids(&v), [6, 2, 4, 3, 5, 1]);
        // A transition keeps the place; a changed time moves it.
        let mut moved = event(1, 12);
        moved.title = "changed".into();
        v.upsert_event(moved);
        v.upsert_event(event(4, 10));
        assert_eq!(newest_ids(&v), [1, 6, 2, 4, 3, 5]);
        let mut sorted: Vec<usize> = (0..v.dataset.events.len()).collect();
        sorted.sort_by_key(|&i| std::cmp::Reverse(v.dataset.events[i].reported_at));
        assert_eq!(v.events_newest, sorted, "as a stable sort would give");
    }
}
