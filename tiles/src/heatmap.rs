//! Event heatmaps on H3 cells.
//!
//! [`HeatIndex::build`] turns events into compact columns (time, category,
//! status, source, grade, deadline) plus the H3 cell of every event at
//! resolutions 7–10, so that re-aggregating under a new [`HeatFilter`] is one
//! tight pass over the columns with no geometry work.
//!
//! ```
//! use tiles::heatmap::{HeatFilter, HeatIndex};
//! let ds = tiles::sample::dataset().unwrap();
//! let index = HeatIndex::build(&ds.events);
//! let cells = index.aggregate(&HeatFilter::at(tiles::sample::now()), 9);
//! let total: u32 = cells.iter().map(|c| c.count).sum();
//! assert_eq!(total as usize, ds.events.len());
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Utc};
use geo_core::model::{Event, EventSource, EventStatus, Grade};
use geo_core::taxonomy::EventCategory;
use h3o::{CellIndex, LatLng, Resolution};
use rstar::primitives::GeomWithData;
use rstar::{Envelope, RTree, AABB};
use serde::{Serialize, Serializer};

use crate::projection::to_world;

/// Lowest H3 resolution pre-computed.
pub const MIN_RES: u8 = 7;
/// Highest H3 resolution pre-computed.
pub const MAX_RES: u8 = 10;
/// Default k of k-anonymity: cells with fewer events are suppressed for
/// roles without personal-data access.
pub const DEFAULT_K: u32 = 3;

/// The H3 resolution used for a map zoom: 7 at z≤10, 8 at z11–12, 9 at
/// z13–14, 10 at z≥15.
///
/// ```
/// assert_eq!(tiles::heatmap::res_for_zoom(3), 7);
/// assert_eq!(tiles::heatmap::res_for_zoom(18), 10);
/// ```
pub fn res_for_zoom(z: u8) -> u8 {
    match z {
        0..=10 => 7,
        11..=12 => 8,
        13..=14 => 9,
        _ => 10,
    }
}

/// Where an event stands at the time of the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    /// Still being handled, within its deadline.
    Open,
    /// Still being handled, past its deadline.
    Overdue,
    /// Needs no more handling (resolved, reviewed, closed, rejected, merged).
    Closed,
}

impl StatusClass {
    /// Every class, in the order the pages list them.
    pub const ALL: [StatusClass; 3] = [Self::Open, Self::Overdue, Self::Closed];

    /// Parses `open`, `overdue` or `closed`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|c| c.code() == s)
    }

    /// The class's name in filters and URLs.
    pub fn code(self) -> &'static str {
        self.labelled().0
    }

    /// Display names `(中文, English)`.
    pub fn labels(self) -> (&'static str, &'static str) {
        let (_, zh, en) = self.labelled();
        (zh, en)
    }

    fn labelled(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Open => ("open", "在办", "Open"),
            Self::Overdue => ("overdue", "超期", "Overdue"),
            Self::Closed => ("closed", "已办结", "Closed"),
        }
    }
    fn bit(self) -> u8 {
        match self {
            Self::Open => 1,
            Self::Overdue => 2,
            Self::Closed => 4,
        }
    }
}

/// Which events count. Empty lists mean "all".
#[derive(Debug, Clone, PartialEq)]
pub struct HeatFilter {
    /// Reported at or after.
    pub from: Option<DateTime<Utc>>,
    /// Reported before.
    pub to: Option<DateTime<Utc>>,
    /// Categories kept.
    pub categories: Vec<EventCategory>,
    /// Status classes kept.
    pub statuses: Vec<StatusClass>,
    /// Sources kept.
    pub sources: Vec<EventSource>,
    /// The instant against which "overdue" is judged.
    pub now: DateTime<Utc>,
}

impl HeatFilter {
    /// Everything, judged overdue at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            from: None,
            to: None,
            categories: vec![],
            statuses: vec![],
            sources: vec![],
            now,
        }
    }
}

impl HeatFilter {
    /// True when the counts change as open events turn overdue: the
    /// filter keeps open or overdue events but not both.
    pub fn depends_on_time(&self) -> bool {
        let has = |c| self.statuses.contains(&c);
        !self.statuses.is_empty() && has(StatusClass::Open) != has(StatusClass::Overdue)
    }
}

impl Default for HeatFilter {
    /// Everything, judged overdue at the current time.
    fn default() -> Self {
        Self::at(Utc::now())
    }
}

/// A filter compiled to masks and integers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compiled {
    from: i64,
    to: i64,
    cats: u64,
    statuses: u8,
    sources: u8,
    now: i64,
}

impl Compiled {
    pub(crate) fn new(f: &HeatFilter) -> Self {
        let cats = if f.categories.is_empty() {
            u64::MAX
        } else {
            f.categories
                .iter()
                .fold(0, |m, c| m | 1u64 << (c.index() & 63))
        };
        let statuses = if f.statuses.is_empty() {
            7
        } else {
            f.statuses.iter().fold(0, |m, s| m | s.bit())
        };
        let sources = if f.sources.is_empty() {
            u8::MAX
        } else {
            f.sources.iter().fold(0, |m, s| m | 1 << source_index(*s))
        };
        Self {
            from: f.from.map_or(i64::MIN, |t| t.timestamp()),
            to: f.to.map_or(i64::MAX, |t| t.timestamp()),
            cats,
            statuses,
            sources,
            now: f.now.timestamp(),
        }
    }
}

fn source_index(s: EventSource) -> u8 {
    EventSource::ALL.iter().position(|x| *x == s).unwrap_or(0) as u8
}

/// One aggregated cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatCell {
    /// H3 cell.
    pub cell: CellIndex,
    /// Number of matching events.
    pub count: u32,
    /// Longitude of the events' mean position (the weighted centroid).
    pub lon: f64,
    /// Latitude of the events' mean position.
    pub lat: f64,
}

impl Serialize for HeatCell {
    /// `{cell: "8a…", count, lon, lat}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("HeatCell", 4)?;
        st.serialize_field("cell", &self.cell.to_string())?;
        st.serialize_field("count", &self.count)?;
        st.serialize_field("lon", &self.lon)?;
        st.serialize_field("lat", &self.lat)?;
        st.end()
    }
}

/// One group of the k-anonymous `events` layer: at least k events of one
/// H3 cell, all overdue or all not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EventCell {
    pub(crate) cell: CellIndex,
    pub(crate) res: u8,
    pub(crate) overdue: bool,
    pub(crate) count: u32,
    /// The most severe grade of the group.
    pub(crate) grade: Grade,
    /// The most frequent first-level category (ties: the lowest code).
    pub(crate) group: &'static str,
}

fn severity(g: Grade) -> u8 {
    match g {
        Grade::Urgent => 0,
        Grade::Major => 1,
        Grade::General => 2,
        Grade::Minor => 3,
    }
}

/// Drops cells with fewer than `k` events (k-anonymity for roles without
/// personal-data access; `k ≤ 1` keeps everything).
pub fn suppress_below(cells: Vec<HeatCell>, k: u32) -> Vec<HeatCell> {
    cells.into_iter().filter(|c| c.count >= k).collect()
}

/// Cells as roles without personal-data access see them: cells with fewer
/// than `k` events are dropped and the others are rounded down to a multiple
/// of `k` (`k ≤ 1` keeps everything as it is).
///
/// Suppression alone does not survive differencing: subtracting the cells of
/// a filtered map (one category group, a later start) from those of a wider
/// one gives the counts of the complement, small ones included, exactly.
/// With every released count a multiple of `k`, any difference of two
/// releases is a multiple of `k` too: it is never a count of 1 to `k - 1`,
/// and a difference of 0 or `k` fits several true counts. The cost is a
/// coarser map for those roles (at most `k - 1` events per cell).
///
/// ```
/// use tiles::heatmap::{protect, HeatCell};
/// let c = |count| HeatCell { cell: h3o::CellIndex::try_from(0x8928308280fffff).unwrap(), count, lon: 0.0, lat: 0.0 };
/// let out: Vec<u32> = protect(vec![c(2), c(3), c(7)], 3).iter().map(|c| c.count).collect();
/// assert_eq!(out, [3, 6]);
/// ```
pub fn protect(cells: Vec<HeatCell>, k: u32) -> Vec<HeatCell> {
    if k <= 1 {
        return cells;
    }
    cells
        .into_iter()
        .filter(|c| c.count >= k)
        .map(|mut c| {
            c.count -= c.count % k;
            c
        })
        .collect()
}

/// A fast hasher for H3 cell keys.
#[derive(Default)]
struct CellHasher(u64);

impl Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // SplitMix64 finaliser: H3 cells of one area differ only in middle
        // bits, so both ends of the hash must depend on all of them.
        let mut z = (n ^ (n >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }
}

type CellMap<V> = HashMap<u64, V, BuildHasherDefault<CellHasher>>;

/// Per-event columns plus a point index, for fast filtered aggregation.
#[derive(Debug, Clone, Default)]
pub struct HeatIndex {
    pub(crate) ids: Vec<u64>,
    pub(crate) lon: Vec<f64>,
    pub(crate) lat: Vec<f64>,
    /// Web Mercator position (world units), for tiles.
    pub(crate) world: Vec<[f64; 2]>,
    pub(crate) reported: Vec<i64>,
    pub(crate) category: Vec<EventCategory>,
    pub(crate) status: Vec<EventStatus>,
    pub(crate) grade: Vec<Grade>,
    source: Vec<u8>,
    /// Open events are overdue when `now > overdue_at`.
    overdue_at: Vec<i64>,
    /// Raw H3 cells containing the event at res 7, 8, 9, 10 (computed from the
    /// point at each resolution: H3 parents do not nest geometrically).
    cells: [Vec<u64>; 4],
    live: Vec<bool>,
    by_id: HashMap<u64, usize>,
    tree: RTree<GeomWithData<[f64; 2], usize>>,
}

impl HeatIndex {
    /// Indexes `events`. Events without a valid location are kept out of
    /// aggregates and tiles.
    pub fn build(events: &[Event]) -> Self {
        let mut index = Self::default();
        let mut points = Vec::with_capacity(events.len());
        for e in events {
            if let Some(row) = index.push_row(e) {
                points.push(GeomWithData::new(index.world[row], row));
            }
        }
        index.tree = RTree::bulk_load(points);
        index
    }

    /// Number of indexed (live) events.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no event is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    fn push_row(&mut self, e: &Event) -> Option<usize> {
        let (lon, lat) = (e.location.x(), e.location.y());
        let ll = LatLng::new(lat, lon).ok()?;
        let row = self.ids.len();
        self.ids.push(e.id.get());
        self.lon.push(lon);
        self.lat.push(lat);
        self.world.push(to_world(lon, lat));
        self.reported.push(e.reported_at.timestamp());
        self.category.push(e.category);
        self.status.push(e.status);
        self.grade.push(e.grade);
        self.source.push(source_index(e.source));
        let overdue_at = match (e.deadline, e.resolved_at) {
            (Some(d), Some(r)) if r > d => i64::MIN,
            (Some(_), Some(_)) | (None, _) => i64::MAX,
            (Some(d), None) => d.timestamp(),
        };
        self.overdue_at.push(overdue_at);
        for (i, res) in [
            Resolution::Seven,
            Resolution::Eight,
            Resolution::Nine,
            Resolution::Ten,
        ]
        .into_iter()
        .enumerate()
        {
            self.cells[i].push(u64::from(ll.to_cell(res)));
        }
        self.live.push(true);
        if let Some(old) = self.by_id.insert(e.id.get(), row) {
            self.kill(old);
        }
        Some(row)
    }

    fn kill(&mut self, row: usize) {
        self.live[row] = false;
        self.tree.remove(&GeomWithData::new(self.world[row], row));
    }

    /// Inserts or replaces one event; returns the old and new locations
    /// (lon/lat) for cache invalidation.
    pub fn upsert(&mut self, e: &Event) -> Vec<[f64; 2]> {
        let mut touched = Vec::new();
        if let Some(&old) = self.by_id.get(&e.id.get()) {
            touched.push([self.lon[old], self.lat[old]]);
        }
        match self.push_row(e) {
            Some(row) => {
                self.tree.insert(GeomWithData::new(self.world[row], row));
                touched.push([self.lon[row], self.lat[row]]);
            }
            None => {
                // The new version has no valid location: drop the old one.
                if let Some(old) = self.by_id.remove(&e.id.get()) {
                    self.kill(old);
                }
            }
        }
        touched
    }

    /// Removes an event; returns its location if it was indexed.
    pub fn remove(&mut self, id: u64) -> Option<[f64; 2]> {
        let row = self.by_id.remove(&id)?;
        self.kill(row);
        Some([self.lon[row], self.lat[row]])
    }

    /// The source of row `row`.
    pub(crate) fn source_of(&self, row: usize) -> EventSource {
        EventSource::ALL
            .get(usize::from(self.source[row]))
            .copied()
            .unwrap_or(EventSource::Patrol)
    }

    /// The status class of row `row` at `now` (unix seconds).
    pub(crate) fn class(&self, row: usize, now: i64) -> StatusClass {
        if !self.status[row].is_open() {
            StatusClass::Closed
        } else if now > self.overdue_at[row] {
            StatusClass::Overdue
        } else {
            StatusClass::Open
        }
    }

    #[inline]
    pub(crate) fn matches(&self, row: usize, f: &Compiled) -> bool {
        let t = self.reported[row];
        self.live[row]
            && t >= f.from
            && t < f.to
            && f.cats & (1u64 << (self.category[row].index() & 63)) != 0
            && f.sources & (1 << self.source[row]) != 0
            && (f.statuses == 7 || f.statuses & self.class(row, f.now).bit() != 0)
    }

    /// Rows of live events inside a world-coordinate box, in no particular
    /// order. A box over a quarter or more of the events' extent (low zooms,
    /// heatmap margins) is a linear scan of the position column, much
    /// faster there than walking most of the R-tree.
    pub(crate) fn rows_in(&self, world: [f64; 4]) -> Vec<usize> {
        if self.tree.size() == 0 {
            return Vec::new();
        }
        let env = AABB::from_corners([world[0], world[1]], [world[2], world[3]]);
        let all = self.tree.root().envelope();
        if env.intersection_area(&all) >= 0.25 * all.area() {
            (0..self.live.len())
                .filter(|&r| self.live[r] && env.contains_point(&self.world[r]))
                .collect()
        } else {
            self.tree.locate_in_envelope(env).map(|p| p.data).collect()
        }
    }

    /// The first instant (unix seconds) after `now` at which a live open
    /// event inside the world box turns overdue; `None` if none will.
    pub(crate) fn next_change_in(&self, world: [f64; 4], now: i64) -> Option<i64> {
        self.rows_in(world)
            .into_iter()
            .filter(|&r| self.status[r].is_open())
            .filter(|&r| self.overdue_at[r] >= now && self.overdue_at[r] < i64::MAX)
            .map(|r| self.overdue_at[r].saturating_add(1))
            .min()
    }

    /// Groups the matching events inside a world box by (H3 cell at `res`,
    /// overdue): groups of at least `k` are kept, the rest are regrouped one
    /// resolution coarser, down to `top`; what is still under `k` there is
    /// dropped. The groups are disjoint. Every event of a kept cell must lie
    /// inside the box (the caller grows it by the cell size at `top`).
    pub(crate) fn rollup_in(
        &self,
        world: [f64; 4],
        filter: &HeatFilter,
        res: u8,
        top: u8,
        k: u32,
    ) -> Vec<EventCell> {
        let f = Compiled::new(filter);
        let res = res.clamp(MIN_RES, MAX_RES);
        let top = top.clamp(MIN_RES, res);
        let mut rows = self.rows_in(world);
        rows.retain(|&r| self.matches(r, &f));
        let mut out = Vec::new();
        // Per group: count, most severe grade, events per first-level group.
        use geo_core::taxonomy::{CATEGORIES, GROUPS};
        const NG: usize = 16;
        let group_of: Vec<usize> = CATEGORIES
            .iter()
            .map(|d| {
                GROUPS
                    .iter()
                    .position(|g| d.code.starts_with(g.0))
                    .map_or(NG - 1, |i| i.min(NG - 1))
            })
            .collect();
        struct Acc {
            key: u64,
            count: u32,
            grade: Grade,
            groups: [u32; NG],
        }
        for lvl in (top..=res).rev() {
            if rows.is_empty() {
                break;
            }
            let col = &self.cells[usize::from(lvl - MIN_RES)];
            let mut slot_of: CellMap<u32> = CellMap::default();
            let mut accs: Vec<Acc> = Vec::new();
            let mut slots: Vec<u32> = Vec::with_capacity(rows.len());
            rows.retain(|&r| col[r] != 0);
            for &r in &rows {
                let overdue = self.class(r, f.now) == StatusClass::Overdue;
                let key = (col[r] << 1) | u64::from(overdue);
                let slot = *slot_of.entry(key).or_insert_with(|| {
                    accs.push(Acc {
                        key,
                        count: 0,
                        grade: Grade::Minor,
                        groups: [0; NG],
                    });
                    (accs.len() - 1) as u32
                });
                slots.push(slot);
                let a = &mut accs[slot as usize];
                a.count += 1;
                if severity(self.grade[r]) < severity(a.grade) {
                    a.grade = self.grade[r];
                }
                a.groups[group_of
                    .get(self.category[r].index())
                    .copied()
                    .unwrap_or(NG - 1)] += 1;
            }
            let rest: Vec<usize> = rows
                .iter()
                .zip(&slots)
                .filter(|(_, s)| accs[**s as usize].count < k)
                .map(|(r, _)| *r)
                .collect();
            for a in accs.into_iter().filter(|a| a.count >= k) {
                let Ok(cell) = CellIndex::try_from(a.key >> 1) else {
                    continue;
                };
                // The most frequent group; ties go to the lowest code.
                let mut best = 0;
                for (i, n) in a.groups.iter().enumerate() {
                    if *n > a.groups[best] {
                        best = i;
                    }
                }
                out.push(EventCell {
                    cell,
                    res: lvl,
                    overdue: a.key & 1 == 1,
                    count: a.count,
                    grade: a.grade,
                    group: GROUPS.get(best).map_or("", |g| g.0),
                });
            }
            rows = rest;
        }
        out
    }

    /// Counts matching events per H3 cell at `res` (clamped to 7–10), sorted
    /// by cell. Not suppressed: apply [`suppress_below`] for roles without
    /// personal-data access.
    pub fn aggregate(&self, filter: &HeatFilter, res: u8) -> Vec<HeatCell> {
        self.aggregate_rows(0..self.ids.len(), filter, res)
    }

    /// Like [`HeatIndex::aggregate`], over the events inside a world box only.
    pub(crate) fn aggregate_in(
        &self,
        world: [f64; 4],
        filter: &HeatFilter,
        res: u8,
    ) -> Vec<HeatCell> {
        let mut rows = self.rows_in(world);
        if !rows.is_sorted() {
            // Same summation order for a cell whatever tile asks.
            rows.sort_unstable();
        }
        self.aggregate_rows(rows.into_iter(), filter, res)
    }

    fn aggregate_rows(
        &self,
        rows: impl Iterator<Item = usize>,
        filter: &HeatFilter,
        res: u8,
    ) -> Vec<HeatCell> {
        let f = Compiled::new(filter);
        let col = &self.cells[usize::from(res.clamp(MIN_RES, MAX_RES) - MIN_RES)];
        let mut acc: CellMap<(u32, f64, f64)> = CellMap::default();
        for row in rows {
            let cell = col[row];
            if cell == 0 || !self.matches(row, &f) {
                continue;
            }
            let a = acc.entry(cell).or_insert((0, 0.0, 0.0));
            a.0 += 1;
            a.1 += self.lon[row];
            a.2 += self.lat[row];
        }
        let mut out: Vec<HeatCell> = acc
            .into_iter()
            .filter_map(|(cell, (n, sx, sy))| {
                let cell = CellIndex::try_from(cell).ok()?;
                Some(HeatCell {
                    cell,
                    count: n,
                    lon: sx / f64::from(n),
                    lat: sy / f64::from(n),
                })
            })
            .collect();
        out.sort_unstable_by_key(|c| u64::from(c.cell));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_to_res_is_monotone() {
        let r: Vec<u8> = (0..=22).map(res_for_zoom).collect();
        assert!(r.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(r[10], 7);
        assert_eq!(r[15], 10);
    }

    #[test]
    fn suppression_drops_small_cells() {
        let cell = CellIndex::try_from(0x8a1fb46622dffff).unwrap();
        let cells = vec![
            HeatCell {
                cell,
                count: 2,
                lon: 0.0,
                lat: 0.0,
            },
            HeatCell {
                cell,
                count: 3,
                lon: 0.0,
                lat: 0.0,
            },
        ];
        let kept = suppress_below(cells, DEFAULT_K);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].count, 3);
    }

    #[test]
    fn status_class_parse() {
        assert_eq!(StatusClass::parse("Overdue"), Some(StatusClass::Overdue));
        assert_eq!(StatusClass::parse("pending"), None);
    }
}
