//! Governance indicators per grid, per community and for the whole town, for
//! any time window, with the trend against the previous window of equal
//! length: how many events and of what kind, how many closed inside the grid
//! ("小事不出网格"), how fast (median and p90 handling time), how many overdue,
//! how satisfied residents were, how often events were reopened, and the
//! workload of each grid worker.
//!
//! Events are attributed to every area their [`GridRefs`] names (community,
//! comprehensive, micro and dedicated grid) and to the town. The cohort of a
//! window is the events *reported* in it; merged duplicates are counted apart
//! (`merged`) and left out of every other figure.
//!
//! ```
//! use analytics::indicators::percentile;
//! let mut v = vec![4.0, 1.0, 3.0, 2.0];
//! assert_eq!(percentile(&mut v, 0.5), Some(2.5));
//! ```

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use geo_core::model::{Event, EventStatus, GridRefs};
use serde::Serialize;
use thiserror::Error;

use crate::table::{Cell, Table};

/// A half-open time window `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive); overdue status is judged at this instant.
    pub to: DateTime<Utc>,
}

impl Window {
    /// The window of equal length just before this one.
    pub fn previous(&self) -> Window {
        Window {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }
    /// True when `t` falls inside.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }
}

/// The level of an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    /// The whole town (id 0).
    Town,
    /// A community.
    Community,
    /// A comprehensive grid.
    Comprehensive,
    /// A micro-grid.
    Micro,
    /// A dedicated grid.
    Dedicated,
    /// One person assigned to a grid (网格员, 网格长, 邻长): the events of the
    /// grids they serve. Workers have no stored ID; the caller numbers them
    /// and says which grids each serves ([`IndicatorInput::workers`]).
    Worker,
}

impl AreaLevel {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Town => "town",
            Self::Community => "community",
            Self::Comprehensive => "comprehensive",
            Self::Micro => "micro",
            Self::Dedicated => "dedicated",
            Self::Worker => "worker",
        }
    }
}

/// An area: level and raw ID (`CommunityId`/`GridId` value; 0 for the town).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AreaKey {
    /// Level.
    pub level: AreaLevel,
    /// Raw ID.
    pub id: u64,
}

impl AreaKey {
    /// The areas an element with `refs` belongs to, the town first.
    pub fn of(refs: &GridRefs) -> impl Iterator<Item = AreaKey> {
        let town = AreaKey {
            level: AreaLevel::Town,
            id: 0,
        };
        let c = refs.community.map(|id| AreaKey {
            level: AreaLevel::Community,
            id: id.get(),
        });
        let g = |level, id: Option<geo_core::ids::GridId>| {
            id.map(|id| AreaKey {
                level,
                id: id.get(),
            })
        };
        std::iter::once(town)
            .chain(c)
            .chain(g(AreaLevel::Comprehensive, refs.comprehensive))
            .chain(g(AreaLevel::Micro, refs.micro))
            .chain(g(AreaLevel::Dedicated, refs.dedicated))
    }
}

/// Size of an area, for rates and workload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AreaSize {
    /// Households.
    pub households: u32,
    /// Residents.
    pub persons: u32,
    /// Grid workers serving it (for a worker: the workers of the grids they
    /// serve, themselves included, so `workload_per_worker` is their share).
    pub grid_workers: u32,
}

/// The workers serving each grid: raw grid ID → the caller's worker numbers
/// (the `id` of their [`AreaLevel::Worker`] keys).
pub type WorkerGrids = HashMap<u64, Vec<u64>>;

/// What [`indicators`] reads. `refs` (and `reopened`, if given) are aligned
/// with `events`.
#[derive(Debug, Clone, Copy)]
pub struct IndicatorInput<'a> {
    /// Events.
    pub events: &'a [Event],
    /// Grids of each event.
    pub refs: &'a [GridRefs],
    /// Sizes of the areas (missing areas count as size 0).
    pub sizes: &'a HashMap<AreaKey, AreaSize>,
    /// Whether each event was ever reopened (from its timeline). Without it,
    /// only events whose current status is `reopened` count.
    pub reopened: Option<&'a [bool]>,
    /// Who serves each grid. With it, an event also counts for every worker
    /// of each grid its refs name (comprehensive, micro, dedicated).
    pub workers: Option<&'a WorkerGrids>,
}

/// Misaligned input.
#[derive(Debug, Error, PartialEq)]
pub enum IndicatorError {
    /// A side slice does not have one entry per event.
    #[error("{what} has {got} entries but there are {events} events; they must be aligned")]
    Misaligned {
        /// Which slice.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Number of events.
        events: usize,
    },
}

/// Indicators of one area for one window (one table row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorRow {
    /// Area.
    pub area: AreaKey,
    /// Window.
    pub window: Window,
    /// Households of the area.
    pub households: u32,
    /// Events reported in the window (merged duplicates excluded).
    pub events: u32,
    /// Duplicates merged into another event.
    pub merged: u32,
    /// Events per 1,000 households.
    pub events_per_1000_households: Option<f64>,
    /// Events with a resolution time.
    pub resolved: u32,
    /// Share of resolved events whose handler was the grid worker.
    pub closed_in_grid_share: Option<f64>,
    /// Median handling time, hours (report → resolution).
    pub median_handling_h: Option<f64>,
    /// 90th percentile handling time, hours.
    pub p90_handling_h: Option<f64>,
    /// Events past their deadline at the window's end (open, or resolved late).
    pub overdue: u32,
    /// Events rated at the return visit.
    pub rated: u32,
    /// Mean rating 1–5.
    pub satisfaction_mean: Option<f64>,
    /// Share of ratings 4 or 5 (the published "satisfaction %").
    pub satisfaction_share: Option<f64>,
    /// Reopened events / events closed at least once.
    pub reopen_rate: Option<f64>,
    /// Grid workers of the area.
    pub grid_workers: u32,
    /// Events handled by the grid per grid worker.
    pub workload_per_worker: Option<f64>,
    /// Events in the previous window.
    pub prev_events: u32,
    /// Relative change of `events` (0.25 = +25 %).
    pub events_change: Option<f64>,
    /// Median handling time of the previous window.
    pub prev_median_handling_h: Option<f64>,
    /// Closed-in-grid share of the previous window.
    pub prev_closed_in_grid_share: Option<f64>,
    /// Satisfaction share of the previous window.
    pub prev_satisfaction_share: Option<f64>,
}

/// Events of one area by category or source (long form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakdownRow {
    /// Area.
    pub area: AreaKey,
    /// `category` or `source`.
    pub dimension: &'static str,
    /// Category code or source code.
    pub key: String,
    /// Count in the window.
    pub count: u32,
    /// Count in the previous window.
    pub prev_count: u32,
}

/// The result of [`indicators`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorReport {
    /// One row per area, sorted by level then ID.
    pub rows: Vec<IndicatorRow>,
    /// Counts by category and source.
    pub breakdown: Vec<BreakdownRow>,
}

#[derive(Default)]
struct Acc {
    events: u32,
    merged: u32,
    resolved: u32,
    in_grid: u32,
    handling: Vec<f64>,
    overdue: u32,
    ratings: Vec<u8>,
    closed_once: u32,
    reopened: u32,
    by_grid: u32,
    breakdown: BTreeMap<(&'static str, String), u32>,
}

struct Stats {
    closed_in_grid_share: Option<f64>,
    median_handling_h: Option<f64>,
    p90_handling_h: Option<f64>,
    satisfaction_mean: Option<f64>,
    satisfaction_share: Option<f64>,
    reopen_rate: Option<f64>,
}

fn ratio(a: u32, b: u32) -> Option<f64> {
    (b > 0).then(|| f64::from(a) / f64::from(b))
}

impl Acc {
    fn stats(&mut self) -> Stats {
        let n = self.ratings.len() as u32;
        let high = self.ratings.iter().filter(|r| **r >= 4).count() as u32;
        Stats {
            closed_in_grid_share: ratio(self.in_grid, self.resolved),
            median_handling_h: percentile(&mut self.handling, 0.5),
            p90_handling_h: percentile(&mut self.handling, 0.9),
            satisfaction_mean: (n > 0)
                .then(|| self.ratings.iter().map(|r| f64::from(*r)).sum::<f64>() / f64::from(n)),
            satisfaction_share: ratio(high, n),
            reopen_rate: ratio(self.reopened, self.closed_once),
        }
    }
}

/// Percentile `p` (0–1) by linear interpolation between closest ranks
/// (Hyndman–Fan type 7, as spreadsheets compute it); sorts `v`. `None` when
/// empty.
pub fn percentile(v: &mut [f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

fn add(acc: &mut Acc, e: &Event, reopened: bool, end: DateTime<Utc>) {
    if e.status == EventStatus::Merged {
        acc.merged += 1;
        return;
    }
    acc.events += 1;
    *acc.breakdown
        .entry(("category", e.category.code().to_string()))
        .or_default() += 1;
    *acc.breakdown
        .entry(("source", e.source.code().to_string()))
        .or_default() += 1;
    let by_grid = e.handler.as_deref() == Some("grid");
    if by_grid {
        acc.by_grid += 1;
    }
    if let Some(h) = e.handling_h() {
        acc.resolved += 1;
        acc.handling.push(h);
        if by_grid {
            acc.in_grid += 1;
        }
    }
    if let Some(d) = e.deadline {
        let stop = e.resolved_at.unwrap_or(end).min(end.max(d));
        let open_late = e.resolved_at.is_none() && e.status.is_open() && end > d;
        if open_late || (e.resolved_at.is_some() && stop > d) {
            acc.overdue += 1;
        }
    }
    if let Some(s) = e.satisfaction.filter(|s| (1..=5).contains(s)) {
        acc.ratings.push(s);
    }
    let reopened = reopened || e.status == EventStatus::Reopened;
    if reopened || e.status == EventStatus::Closed {
        acc.closed_once += 1;
    }
    if reopened {
        acc.reopened += 1;
    }
}

/// The worker keys of an element with `refs`: the workers of each grid it
/// lies in, each once.
fn worker_keys(w: &WorkerGrids, refs: &GridRefs) -> Vec<AreaKey> {
    let mut ids: Vec<u64> = [refs.comprehensive, refs.micro, refs.dedicated]
        .into_iter()
        .flatten()
        .filter_map(|g| w.get(&g.get()))
        .flatten()
        .copied()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| AreaKey {
            level: AreaLevel::Worker,
            id,
        })
        .collect()
}

/// Computes the indicators of every area for `window` and the trend against
/// [`Window::previous`].
pub fn indicators(
    input: &IndicatorInput<'_>,
    window: Window,
) -> Result<IndicatorReport, IndicatorError> {
    let n = input.events.len();
    if input.refs.len() != n {
        return Err(IndicatorError::Misaligned {
            what: "refs",
            got: input.refs.len(),
            events: n,
        });
    }
    if let Some(r) = input.reopened.filter(|r| r.len() != n) {
        return Err(IndicatorError::Misaligned {
            what: "reopened",
            got: r.len(),
            events: n,
        });
    }
    let prev = window.previous();
    let mut cur: HashMap<AreaKey, Acc> = HashMap::new();
    let mut old: HashMap<AreaKey, Acc> = HashMap::new();
    for (i, (e, refs)) in input.events.iter().zip(input.refs).enumerate() {
        let (map, end) = if window.contains(e.reported_at) {
            (&mut cur, window.to)
        } else if prev.contains(e.reported_at) {
            (&mut old, prev.to)
        } else {
            continue;
        };
        let reopened = input.reopened.is_some_and(|r| r[i]);
        for key in AreaKey::of(refs) {
            add(map.entry(key).or_default(), e, reopened, end);
        }
        if let Some(w) = input.workers {
            for key in worker_keys(w, refs) {
                add(map.entry(key).or_default(), e, reopened, end);
            }
        }
    }
    let mut keys: Vec<AreaKey> = cur.keys().chain(old.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut rows = Vec::with_capacity(keys.len());
    let mut breakdown = Vec::new();
    for key in keys {
        let mut a = cur.remove(&key).unwrap_or_default();
        let mut b = old.remove(&key).unwrap_or_default();
        let (sa, sb) = (a.stats(), b.stats());
        let size = input.sizes.get(&key).copied().unwrap_or_default();
        rows.push(IndicatorRow {
            area: key,
            window,
            households: size.households,
            events: a.events,
            merged: a.merged,
            events_per_1000_households: (size.households > 0)
                .then(|| f64::from(a.events) * 1000.0 / f64::from(size.households)),
            resolved: a.resolved,
            closed_in_grid_share: sa.closed_in_grid_share,
            median_handling_h: sa.median_handling_h,
            p90_handling_h: sa.p90_handling_h,
            overdue: a.overdue,
            rated: a.ratings.len() as u32,
            satisfaction_mean: sa.satisfaction_mean,
            satisfaction_share: sa.satisfaction_share,
            reopen_rate: sa.reopen_rate,
            grid_workers: size.grid_workers,
            workload_per_worker: ratio(a.by_grid, size.grid_workers),
            prev_events: b.events,
            events_change: (b.events > 0).then(|| f64::from(a.events) / f64::from(b.events) - 1.0),
            prev_median_handling_h: sb.median_handling_h,
            prev_closed_in_grid_share: sb.closed_in_grid_share,
            prev_satisfaction_share: sb.satisfaction_share,
        });
        let mut dims: BTreeMap<(&'static str, String), (u32, u32)> = BTreeMap::new();
        for (k, v) in a.breakdown {
            dims.entry(k).or_default().0 = v;
        }
        for (k, v) in b.breakdown {
            dims.entry(k).or_default().1 = v;
        }
        breakdown.extend(
            dims.into_iter()
                .map(|((dimension, k), (c, p))| BreakdownRow {
                    area: key,
                    dimension,
                    key: k,
                    count: c,
                    prev_count: p,
                }),
        );
    }
    Ok(IndicatorReport { rows, breakdown })
}

impl Table for IndicatorRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "level",
            "area_id",
            "from",
            "to",
            "households",
            "events",
            "merged",
            "events_per_1000_households",
            "resolved",
            "closed_in_grid_share",
            "median_handling_h",
            "p90_handling_h",
            "overdue",
            "rated",
            "satisfaction_mean",
            "satisfaction_share",
            "reopen_rate",
            "grid_workers",
            "workload_per_worker",
            "prev_events",
            "events_change",
            "prev_median_handling_h",
            "prev_closed_in_grid_share",
            "prev_satisfaction_share",
        ]
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.area.level.code().into()),
            Cell::Int(self.area.id as i64),
            Cell::Text(self.window.from.to_rfc3339()),
            Cell::Text(self.window.to.to_rfc3339()),
            Cell::Int(i64::from(self.households)),
            Cell::Int(i64::from(self.events)),
            Cell::Int(i64::from(self.merged)),
            self.events_per_1000_households.into(),
            Cell::Int(i64::from(self.resolved)),
            self.closed_in_grid_share.into(),
            self.median_handling_h.into(),
            self.p90_handling_h.into(),
            Cell::Int(i64::from(self.overdue)),
            Cell::Int(i64::from(self.rated)),
            self.satisfaction_mean.into(),
            self.satisfaction_share.into(),
            self.reopen_rate.into(),
            Cell::Int(i64::from(self.grid_workers)),
            self.workload_per_worker.into(),
            Cell::Int(i64::from(self.prev_events)),
            self.events_change.into(),
            self.prev_median_handling_h.into(),
            self.prev_closed_in_grid_share.into(),
            self.prev_satisfaction_share.into(),
        ]
    }
}

impl Table for BreakdownRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "level",
            "area_id",
            "dimension",
            "key",
            "count",
            "prev_count",
        ]
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.area.level.code().into()),
            Cell::Int(self.area.id as i64),
            Cell::Text(self.dimension.into()),
            Cell::Text(self.key.clone()),
            Cell::Int(i64::from(self.count)),
            Cell::Int(i64::from(self.prev_count)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&mut v, 0.9).unwrap() - 9.1).abs() < 1e-12);
        assert_eq!(percentile(&mut [], 0.5), None);
        assert_eq!(percentile(&mut [3.0], 0.9), Some(3.0));
    }
}
