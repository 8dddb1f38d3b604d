//! Reports over the stored town, shared by `wangge report` (`cli::report`)
//! and the HTTP routes (`/api/v1/indicators`, `/hotspots`, `/coverage`): the
//! glue that feeds stored data to the `analytics` crate. Every output is an
//! aggregate: counts and shares per area, never a person.

use std::collections::{BTreeMap, HashMap};

use analytics::coverage::{coverage, CoverageParams, CoverageReport, CoverageRow, Origin};
use analytics::hotspots::{detect, detect_all_weeks, score_against, HotspotError, HotspotInput};
use analytics::indicators::{
    indicators, AreaKey, AreaSize, IndicatorError, IndicatorInput, IndicatorReport, IndicatorRow,
    Window, WorkerGrids,
};
use analytics::table::{Cell, Table};
use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use geo_core::ids::GridId;
use geo_core::index::SpatialIndex;
use geo_core::model::{Event, EventStatus, Grid, GridKind, GridRefs, ServiceKind, WorkerRole};
use geo_core::store::{LoadSet, Scope, Store};
use geo_core::taxonomy::EventCategory;
use geo_core::Dataset;
use h3o::{CellIndex, LatLng, Resolution};
use serde::Serialize;
use wangge_data::demo::PlantedHotspot;

pub use analytics::hotspots::{Area, Hotspot, HotspotParams, Score, Week};
pub use analytics::indicators::AreaLevel;

use crate::view::{grid_pop, GridPop};

// ---------------------------------------------------------------- indicators

/// Parses a level name: community, grid/comprehensive, micro, dedicated,
/// worker, town.
pub fn parse_level(s: &str) -> Option<AreaLevel> {
    match s.trim().to_ascii_lowercase().as_str() {
        "worker" => Some(AreaLevel::Worker),
        "town" => Some(AreaLevel::Town),
        "community" => Some(AreaLevel::Community),
        "grid" | "comprehensive" => Some(AreaLevel::Comprehensive),
        "micro" => Some(AreaLevel::Micro),
        "dedicated" => Some(AreaLevel::Dedicated),
        _ => None,
    }
}

fn level_of(kind: GridKind) -> AreaLevel {
    match kind {
        GridKind::Comprehensive => AreaLevel::Comprehensive,
        GridKind::Micro => AreaLevel::Micro,
        _ => AreaLevel::Dedicated,
    }
}

/// One person assigned to a grid, as the worker-level indicators name them.
/// Workers have no stored ID: they are numbered from 1 in the order of the
/// grids and of each grid's list, so a number names the same person as long
/// as the grids do not change.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSlot {
    /// The number (`area.id` of a worker row).
    pub id: u64,
    /// The grid served.
    pub grid: GridId,
    /// Its code.
    pub grid_code: String,
    /// The worker's display name (public-facing staff; nothing else of them
    /// leaves the store).
    pub name: String,
    /// Role.
    pub role: WorkerRole,
    /// Workers of that grid, this one included.
    pub team: u32,
}

/// Every worker of `grids`, numbered (see [`WorkerSlot`]).
pub fn worker_slots(grids: &[Grid]) -> Vec<WorkerSlot> {
    let mut out = Vec::new();
    for g in grids {
        for w in &g.workers {
            out.push(WorkerSlot {
                id: out.len() as u64 + 1,
                grid: g.id,
                grid_code: g.code.as_str().to_string(),
                name: w.name.clone(),
                role: w.role,
                team: g.workers.len() as u32,
            });
        }
    }
    out
}

/// Which workers serve each grid, for [`IndicatorInput::workers`].
pub fn worker_grids(slots: &[WorkerSlot]) -> WorkerGrids {
    let mut out = WorkerGrids::new();
    for s in slots {
        out.entry(s.grid.get()).or_default().push(s.id);
    }
    out
}

/// Sizes of every grid, community and the town from per-grid population
/// figures: a community (and the town) is the sum of its comprehensive
/// grids, which tile it; workers are those of the grid (or of the
/// community's comprehensive grids).
pub fn area_sizes(grids: &[Grid], pop: &HashMap<u64, GridPop>) -> HashMap<AreaKey, AreaSize> {
    let mut out: HashMap<AreaKey, AreaSize> = HashMap::new();
    let town = AreaKey {
        level: AreaLevel::Town,
        id: 0,
    };
    for g in grids {
        let p = pop.get(&g.id.get()).copied().unwrap_or_default();
        let size = AreaSize {
            households: u32::try_from(p.households).unwrap_or(u32::MAX),
            persons: u32::try_from(p.residents).unwrap_or(u32::MAX),
            grid_workers: g.workers.len() as u32,
        };
        out.insert(
            AreaKey {
                level: level_of(g.kind),
                id: g.id.get(),
            },
            size,
        );
        if g.kind == GridKind::Comprehensive {
            let mut keys = vec![town];
            keys.extend(g.community.map(|c| AreaKey {
                level: AreaLevel::Community,
                id: c.get(),
            }));
            for k in keys {
                let e = out.entry(k).or_default();
                e.households = e.households.saturating_add(size.households);
                e.persons = e.persons.saturating_add(size.persons);
                e.grid_workers = e.grid_workers.saturating_add(size.grid_workers);
            }
        }
    }
    let kinds: HashMap<u64, GridKind> = grids.iter().map(|g| (g.id.get(), g.kind)).collect();
    for w in worker_slots(grids) {
        let kind = kinds
            .get(&w.grid.get())
            .copied()
            .unwrap_or(GridKind::Comprehensive);
        let grid = out
            .get(&AreaKey {
                level: level_of(kind),
                id: w.grid.get(),
            })
            .copied()
            .unwrap_or_default();
        out.insert(
            AreaKey {
                level: AreaLevel::Worker,
                id: w.id,
            },
            AreaSize {
                households: grid.households,
                persons: grid.persons,
                grid_workers: w.team,
            },
        );
    }
    out
}

/// The default window: the `days` days ending at midnight (UTC) after the
/// latest event (or `now` when there is none).
pub fn default_window(events: &[Event], days: i64, now: DateTime<Utc>) -> Window {
    let last = events.iter().map(|e| e.reported_at).max().unwrap_or(now);
    let to = Utc.from_utc_datetime(
        &(last.date_naive() + Duration::days(1)).and_time(chrono::NaiveTime::MIN),
    );
    Window {
        from: to - Duration::days(days),
        to,
    }
}

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub fn parse_instant(field: &str, s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(|d| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN)))
        .map_err(|_| format!("{field}={s:?} is not a date (YYYY-MM-DD) or RFC 3339 time"))
}

/// The window from optional `from`/`to` texts (defaults: [`default_window`]).
pub fn window_from(
    events: &[Event],
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Window, String> {
    let d = default_window(events, 30, now);
    let to = to
        .filter(|s| !s.is_empty())
        .map(|s| parse_instant("to", s))
        .transpose()?
        .unwrap_or(d.to);
    let from = from
        .filter(|s| !s.is_empty())
        .map(|s| parse_instant("from", s))
        .transpose()?
        .unwrap_or(to - Duration::days(30));
    if from >= to {
        return Err(format!("from={from} is not before to={to}"));
    }
    Ok(Window { from, to })
}

/// Whether each event was ever reopened, from the stored timelines (a
/// transition to `reopened`, even if closed again since) or its current
/// status; aligned with `events`.
pub fn reopened_flags(store: &Store, events: &[Event]) -> Result<Vec<bool>> {
    let ever = store
        .events_ever(EventStatus::Reopened)
        .context("reading event timelines")?;
    Ok(reopened_from(&ever, events))
}

/// [`reopened_flags`] from the IDs of the events ever reopened.
pub fn reopened_from(ever: &std::collections::HashSet<u64>, events: &[Event]) -> Vec<bool> {
    events
        .iter()
        .map(|e| e.status == EventStatus::Reopened || ever.contains(&e.id.get()))
        .collect()
}

/// Indicator rows and the by-category/by-source breakdown of the town and of
/// every area of `level`. `reopened` (aligned with `events`, see
/// [`reopened_flags`]) makes the reopen rate count every event ever
/// reopened.
pub fn indicator_rows(
    events: &[Event],
    refs: &[GridRefs],
    sizes: &HashMap<AreaKey, AreaSize>,
    reopened: Option<&[bool]>,
    window: Window,
    level: AreaLevel,
    workers: &WorkerGrids,
) -> Result<IndicatorReport, IndicatorError> {
    let input = IndicatorInput {
        events,
        refs,
        sizes,
        reopened,
        workers: (level == AreaLevel::Worker).then_some(workers),
    };
    let mut r = indicators(&input, window)?;
    let keep = |a: AreaKey| a.level == level || a.level == AreaLevel::Town;
    r.rows.retain(|row| keep(row.area));
    r.breakdown.retain(|b| keep(b.area));
    Ok(r)
}

/// An indicator row with the area's name and grid code: the ranking table
/// of the dashboard, as downloaded (`GET /api/v1/indicators?format=xlsx`).
#[derive(Debug, Clone)]
pub struct NamedIndicator {
    /// Area name.
    pub name: String,
    /// Grid code (grid levels), empty for the town and communities.
    pub code: String,
    /// The figures.
    pub row: IndicatorRow,
}

impl Table for NamedIndicator {
    fn headers() -> Vec<&'static str> {
        let mut h = vec!["name", "code"];
        h.extend(IndicatorRow::headers());
        h
    }
    fn cells(&self) -> Vec<Cell> {
        let mut c = vec![Cell::Text(self.name.clone()), Cell::Text(self.code.clone())];
        c.extend(self.row.cells());
        c
    }
}

/// The indicators the dashboard ranks by, each with its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    /// Events per 1,000 households (lower is better).
    EventsPer1000,
    /// 小事不出网格 share (higher is better).
    ClosedInGrid,
    /// Median handling time (lower is better).
    MedianHandling,
    /// Overdue events (lower is better).
    Overdue,
    /// Satisfaction share (higher is better).
    Satisfaction,
    /// Events (lower is better).
    Events,
}

impl RankBy {
    /// The accepted `rank=` values, the row fields of the same names.
    pub const NAMES: [&'static str; 6] = [
        "events_per_1000_households",
        "closed_in_grid_share",
        "median_handling_h",
        "overdue",
        "satisfaction_share",
        "events",
    ];

    /// Parses a field name of [`Self::NAMES`].
    pub fn parse(s: &str) -> Option<RankBy> {
        Some(match s {
            "events_per_1000_households" => Self::EventsPer1000,
            "closed_in_grid_share" => Self::ClosedInGrid,
            "median_handling_h" => Self::MedianHandling,
            "overdue" => Self::Overdue,
            "satisfaction_share" => Self::Satisfaction,
            "events" => Self::Events,
            _ => return None,
        })
    }

    /// The field name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EventsPer1000 => Self::NAMES[0],
            Self::ClosedInGrid => Self::NAMES[1],
            Self::MedianHandling => Self::NAMES[2],
            Self::Overdue => Self::NAMES[3],
            Self::Satisfaction => Self::NAMES[4],
            Self::Events => Self::NAMES[5],
        }
    }

    /// The row's value of this indicator.
    pub fn value(self, r: &IndicatorRow) -> Option<f64> {
        match self {
            Self::EventsPer1000 => r.events_per_1000_households,
            Self::ClosedInGrid => r.closed_in_grid_share,
            Self::MedianHandling => r.median_handling_h,
            Self::Overdue => Some(f64::from(r.overdue)),
            Self::Satisfaction => r.satisfaction_share,
            Self::Events => Some(f64::from(r.events)),
        }
        .filter(|v| v.is_finite())
    }

    /// Best first (higher first for shares of good outcomes, lower first
    /// otherwise), rows without a value last; ties keep their order, as the
    /// dashboard's table sorts them.
    pub fn sort(self, rows: &mut [&IndicatorRow]) {
        let up = matches!(self, Self::ClosedInGrid | Self::Satisfaction);
        rows.sort_by(|a, b| match (self.value(a), self.value(b)) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if up => y.total_cmp(&x),
            (Some(x), Some(y)) => x.total_cmp(&y),
        });
    }
}

/// One line of the dashboard's ranking table as downloaded
/// (`GET /api/v1/indicators?format=xlsx&rank=`): its rank, the area (or
/// worker) and grid code, and the columns the table shows.
#[derive(Debug, Clone)]
pub struct RankedIndicator {
    /// 1 = best.
    pub rank: u32,
    /// Area or worker name.
    pub name: String,
    /// Grid code (grid levels; a worker's grid), empty otherwise.
    pub code: String,
    /// What the rows are ranked by.
    pub by: RankBy,
    /// The figures.
    pub row: IndicatorRow,
}

impl Table for RankedIndicator {
    fn headers() -> Vec<&'static str> {
        vec![
            "rank",
            "name",
            "code",
            "events",
            "events_per_1000_households",
            "closed_in_grid_share",
            "median_handling_h",
            "overdue",
            "satisfaction_share",
            "ranked_by",
            "from",
            "to",
        ]
    }
    fn cells(&self) -> Vec<Cell> {
        let r = &self.row;
        vec![
            Cell::Int(i64::from(self.rank)),
            Cell::Text(self.name.clone()),
            Cell::Text(self.code.clone()),
            Cell::Int(i64::from(r.events)),
            r.events_per_1000_households.into(),
            r.closed_in_grid_share.into(),
            r.median_handling_h.into(),
            Cell::Int(i64::from(r.overdue)),
            r.satisfaction_share.into(),
            Cell::Text(self.by.name().into()),
            Cell::Text(r.window.from.to_rfc3339()),
            Cell::Text(r.window.to.to_rfc3339()),
        ]
    }
}

/// Display name of an area: community name, `grid name (code)`, the
/// worker's name, or `town`.
pub fn area_name(ds: &Dataset, key: AreaKey) -> String {
    match key.level {
        AreaLevel::Worker => worker_slots(&ds.grids)
            .into_iter()
            .find(|w| w.id == key.id)
            .map_or_else(|| format!("worker {}", key.id), |w| w.name),
        AreaLevel::Town => ds.town.as_ref().map_or("town".into(), |t| t.name.clone()),
        AreaLevel::Community => ds
            .communities
            .iter()
            .find(|c| c.id.get() == key.id)
            .map_or_else(|| format!("community {}", key.id), |c| c.name.clone()),
        _ => ds.grids.iter().find(|g| g.id.get() == key.id).map_or_else(
            || format!("grid {}", key.id),
            |g| format!("{} {}", g.code.as_str(), g.name),
        ),
    }
}

/// The indicator report of the stored town for `level` and a window given as
/// texts (defaults: [`window_from`]), exactly as `wangge report indicators`
/// computes it.
pub fn stored_indicators(
    store: &Store,
    level: AreaLevel,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Dataset, IndicatorReport, Window)> {
    let ds = store.load(&Scope::Town, LoadSet::Spatial)?;
    let index = SpatialIndex::build(&ds);
    let refs: Vec<GridRefs> = ds
        .events
        .iter()
        .map(|e| index.grids_at(e.location.0))
        .collect();
    let window = window_from(&ds.events, from, to, Utc::now()).map_err(|e| anyhow!("{e}"))?;
    let pop = grid_pop(store, window.to.year())?;
    let sizes = area_sizes(&ds.grids, &pop);
    let reopened = reopened_flags(store, &ds.events)?;
    let workers = worker_grids(&worker_slots(&ds.grids));
    let rep = indicator_rows(
        &ds.events,
        &refs,
        &sizes,
        Some(&reopened),
        window,
        level,
        &workers,
    )?;
    Ok((ds, rep, window))
}

/// Names, grid codes and worker roles of indicator rows, looked up once
/// per answer (`GET /api/v1/indicators` and `wangge report indicators`).
pub struct AreaLabels<'a> {
    ds: &'a Dataset,
    slot_of: HashMap<u64, &'a WorkerSlot>,
    grid_code: HashMap<u64, &'a str>,
}

impl<'a> AreaLabels<'a> {
    /// Labels over `ds` and its numbered workers.
    pub fn new(ds: &'a Dataset, slots: &'a [WorkerSlot]) -> Self {
        Self {
            ds,
            slot_of: slots.iter().map(|w| (w.id, w)).collect(),
            grid_code: ds
                .grids
                .iter()
                .map(|g| (g.id.get(), g.code.as_str()))
                .collect(),
        }
    }

    /// The worker numbered `id`.
    pub fn worker(&self, id: u64) -> Option<&'a WorkerSlot> {
        self.slot_of.get(&id).copied()
    }

    /// Area name (a worker's display name for worker rows).
    pub fn name(&self, r: &IndicatorRow) -> String {
        match r.area.level {
            AreaLevel::Worker => self
                .worker(r.area.id)
                .map_or_else(|| format!("worker {}", r.area.id), |w| w.name.clone()),
            _ => area_name(self.ds, r.area),
        }
    }

    /// Grid code of a grid row, or of the grid a worker serves.
    pub fn code(&self, r: &IndicatorRow) -> Option<String> {
        match r.area.level {
            AreaLevel::Town | AreaLevel::Community => None,
            AreaLevel::Worker => self.worker(r.area.id).map(|w| w.grid_code.clone()),
            _ => self.grid_code.get(&r.area.id).map(|c| c.to_string()),
        }
    }

    /// A worker row's role code.
    pub fn worker_role(&self, r: &IndicatorRow) -> Option<&'static str> {
        (r.area.level == AreaLevel::Worker)
            .then(|| self.worker(r.area.id).map(|w| w.role.code()))
            .flatten()
    }

    /// The row as answered.
    pub fn area<'r>(&self, r: &'r IndicatorRow) -> AreaIndicators<'r> {
        AreaIndicators {
            name: self.name(r),
            code: self.code(r),
            worker_role: self.worker_role(r),
            row: r,
        }
    }
}

/// One area's indicators as answered: its figures, name and grid code.
#[derive(Debug, Clone, Serialize)]
pub struct AreaIndicators<'a> {
    /// Area name.
    pub name: String,
    /// Grid code (grid levels; for a worker, the grid served).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A worker's role code (`grid_worker`, `grid_leader`,
    /// `neighbourhood_head`); worker rows only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_role: Option<&'static str>,
    /// The figures.
    #[serde(flatten)]
    pub row: &'a IndicatorRow,
}

/// The indicators of `GET /api/v1/indicators` (JSON) and of
/// `wangge report indicators --json`: rows per area and the breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorsAnswer<'a> {
    /// Window start, RFC 3339.
    pub from: String,
    /// Window end (exclusive), RFC 3339.
    pub to: String,
    /// Level of the rows.
    pub level: &'static str,
    /// One row per area (with `name`, and `code` for grids).
    pub rows: Vec<AreaIndicators<'a>>,
    /// Events by category and by source per area.
    pub breakdown: Vec<analytics::indicators::BreakdownRow>,
}

// ------------------------------------------------------------------ hotspots

/// Detector settings for an H3 resolution (7–10) and week offset.
pub fn hotspot_params(res: u8, utc_offset_h: i32) -> Result<HotspotParams, String> {
    if !(7..=10).contains(&res) {
        return Err(format!("res={res}: must be 7..=10"));
    }
    let resolution = Resolution::try_from(res).map_err(|e| format!("res={res}: {e}"))?;
    Ok(HotspotParams {
        resolution,
        utc_offset_h,
        ..HotspotParams::default()
    })
}

/// Parses a category filter: `NN.MM`, a group `NN`, or a name; `None` for all.
pub fn category_filter(s: Option<&str>) -> Result<Option<Vec<EventCategory>>, String> {
    let Some(c) = s.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for part in c.split(',') {
        if part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()) {
            out.extend(EventCategory::all().filter(|x| x.group() == part));
        } else {
            out.push(EventCategory::parse(part).map_err(|e| format!("category={part:?}: {e}"))?);
        }
    }
    if out.is_empty() {
        return Err(format!("category={c:?} matches no category"));
    }
    Ok(Some(out))
}

/// Hotspots of `events` (optionally one category set): of one `week`, or of
/// every week with a full baseline when `week` is `None`. Duplicates merged
/// into a master event are left out: one problem reported four times is one
/// problem.
pub fn hotspots_of(
    events: &[Event],
    categories: Option<&[EventCategory]>,
    week: Option<Week>,
    params: &HotspotParams,
) -> Result<Vec<Hotspot>, HotspotError> {
    let input: Vec<HotspotInput> = events
        .iter()
        .filter(|e| e.status != EventStatus::Merged)
        .filter(|e| categories.is_none_or(|c| c.contains(&e.category)))
        .map(HotspotInput::from)
        .collect();
    match week {
        Some(w) => detect(&input, w, params),
        None => detect_all_weeks(&input, params),
    }
}

/// The latest week holding an event.
pub fn latest_week(events: &[Event], utc_offset_h: i32) -> Option<Week> {
    events
        .iter()
        .map(|e| e.reported_at)
        .max()
        .map(|t| Week::of(t, utc_offset_h))
}

/// The week containing a date (`YYYY-MM-DD`, local noon).
pub fn week_of_date(s: &str, utc_offset_h: i32) -> Result<Week, String> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("week={s:?}: expected YYYY-MM-DD"))?;
    Ok(Week::of_date(d, utc_offset_h))
}

/// Planted hotspots of the demo as (cell, category, week) triples.
pub fn planted_triples(
    planted: &[PlantedHotspot],
    utc_offset_h: i32,
) -> Vec<(CellIndex, EventCategory, Week)> {
    let mut out = Vec::new();
    for p in planted {
        let (Ok(cell), Ok(cat)) = (
            CellIndex::try_from(p.h3_res9),
            EventCategory::parse(&p.category),
        ) else {
            continue;
        };
        for d in &p.week_starts {
            out.push((cell, cat, Week::of_date(*d, utc_offset_h)));
        }
    }
    out
}

/// Precision and recall of `detected` against the demo's planted hotspots.
pub fn score_planted(detected: &[Hotspot], planted: &[PlantedHotspot], utc_offset_h: i32) -> Score {
    score_against(detected, &planted_triples(planted, utc_offset_h))
}

/// One hotspot as JSON-ready aggregates (cell centre included).
#[derive(Debug, Clone, Serialize)]
pub struct HotspotRow {
    /// H3 cell (hex) or `grid:ID`.
    pub area: String,
    /// Cell centre longitude.
    pub lon: Option<f64>,
    /// Cell centre latitude.
    pub lat: Option<f64>,
    /// Category code.
    pub category: String,
    /// Category name (Chinese).
    pub category_zh: String,
    /// Monday starting the week (local).
    pub week_start: String,
    /// Events that week.
    pub count: u32,
    /// Baseline events per week.
    pub baseline: f64,
    /// z statistic.
    pub z: f64,
    /// p-value.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value.
    pub q_value: f64,
}

/// The hotspots of `GET /api/v1/hotspots` (JSON) and of `wangge report
/// hotspots --json`.
#[derive(Debug, Clone, Serialize)]
pub struct HotspotsAnswer {
    /// Monday of the week tested (local); `null` when there is no event, or
    /// when every week was tested (`wangge report hotspots --all-weeks`:
    /// each row carries its week).
    pub week_start: Option<String>,
    /// H3 resolution.
    pub res: u8,
    /// Flagged cells, most significant first.
    pub hotspots: Vec<HotspotRow>,
}

/// Local date of a week's Monday.
pub fn week_start_date(w: Week, utc_offset_h: i32) -> NaiveDate {
    (w.start(utc_offset_h) + Duration::hours(i64::from(utc_offset_h))).date_naive()
}

fn centre(a: Area) -> (Option<f64>, Option<f64>) {
    match a {
        Area::Cell(c) => {
            let ll = LatLng::from(c);
            (Some(ll.lng()), Some(ll.lat()))
        }
        Area::Grid(_) => (None, None),
    }
}

impl HotspotRow {
    /// The row of a hotspot.
    pub fn of(h: &Hotspot, utc_offset_h: i32) -> Self {
        let (lon, lat) = centre(h.area);
        Self {
            area: h.area.to_string(),
            lon,
            lat,
            category: h.category.code().to_string(),
            category_zh: h.category.def().name_zh.to_string(),
            week_start: week_start_date(h.week, utc_offset_h).to_string(),
            count: h.count,
            baseline: h.baseline,
            z: h.z,
            p_value: h.p_value,
            q_value: h.q_value,
        }
    }
}

impl Table for HotspotRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "area",
            "lon",
            "lat",
            "category",
            "category_zh",
            "week_start",
            "count",
            "baseline",
            "z",
            "p_value",
            "q_value",
        ]
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.area.clone()),
            self.lon.into(),
            self.lat.into(),
            Cell::Text(self.category.clone()),
            Cell::Text(self.category_zh.clone()),
            Cell::Text(self.week_start.clone()),
            Cell::Int(i64::from(self.count)),
            Cell::Float(self.baseline),
            Cell::Float(self.z),
            Cell::Float(self.p_value),
            Cell::Float(self.q_value),
        ]
    }
}

/// A cell's flagged weeks summed up.
#[derive(Debug, Clone, Serialize)]
pub struct CellSummary {
    /// H3 cell (hex).
    pub area: String,
    /// Centre longitude.
    pub lon: Option<f64>,
    /// Centre latitude.
    pub lat: Option<f64>,
    /// Flagged (category, week) pairs.
    pub flags: u32,
    /// Events in the flagged weeks.
    pub events: u32,
    /// Largest z.
    pub max_z: f64,
    /// Category flagged most often.
    pub top_category: String,
}

impl Table for CellSummary {
    fn headers() -> Vec<&'static str> {
        vec![
            "area",
            "lon",
            "lat",
            "flags",
            "events",
            "max_z",
            "top_category",
        ]
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.area.clone()),
            self.lon.into(),
            self.lat.into(),
            Cell::Int(i64::from(self.flags)),
            Cell::Int(i64::from(self.events)),
            Cell::Float(self.max_z),
            Cell::Text(self.top_category.clone()),
        ]
    }
}

/// Hotspots as rows, most significant first (q, then z).
pub fn hotspot_rows(hs: &[Hotspot], utc_offset_h: i32) -> Vec<HotspotRow> {
    let mut rows: Vec<HotspotRow> = hs.iter().map(|h| HotspotRow::of(h, utc_offset_h)).collect();
    rows.sort_by(|a, b| {
        a.q_value
            .total_cmp(&b.q_value)
            .then(b.z.total_cmp(&a.z))
            .then(a.week_start.cmp(&b.week_start))
            .then(a.area.cmp(&b.area))
            .then(a.category.cmp(&b.category))
    });
    rows
}

/// Flags, events, largest z and flags per category of one cell.
type CellAcc = (u32, u32, f64, BTreeMap<&'static str, u32>);

/// Cells ranked by flagged weeks, then events; the first `n`.
pub fn top_cells(hs: &[Hotspot], n: usize) -> Vec<CellSummary> {
    let mut by: HashMap<Area, CellAcc> = HashMap::new();
    for h in hs {
        let e = by
            .entry(h.area)
            .or_insert((0, 0, f64::MIN, BTreeMap::new()));
        e.0 += 1;
        e.1 += h.count;
        e.2 = e.2.max(h.z);
        *e.3.entry(h.category.code()).or_default() += 1;
    }
    let mut v: Vec<CellSummary> = by
        .into_iter()
        .map(|(a, (flags, events, max_z, cats))| {
            let (lon, lat) = centre(a);
            let top_category = cats
                .iter()
                .max_by_key(|(k, c)| (**c, std::cmp::Reverse(**k)))
                .map(|(k, _)| (*k).to_string())
                .unwrap_or_default();
            CellSummary {
                area: a.to_string(),
                lon,
                lat,
                flags,
                events,
                max_z,
                top_category,
            }
        })
        .collect();
    v.sort_by(|a, b| {
        b.flags
            .cmp(&a.flags)
            .then(b.events.cmp(&a.events))
            .then(a.area.cmp(&b.area))
    });
    v.truncate(n);
    v
}

// ------------------------------------------------------------------ coverage

/// Walking coverage of `service` (every service when `None`) from every
/// building with households; buildings are placed in the comprehensive grid
/// holding their centroid. `ds` must hold households and persons
/// ([`LoadSet::All`]).
pub fn coverage_of(
    ds: &Dataset,
    index: &SpatialIndex,
    service: Option<ServiceKind>,
    params: &CoverageParams,
) -> CoverageReport {
    let origins: Vec<Origin> =
        analytics::coverage::origins_from(&ds.buildings, &ds.households, &ds.persons, |_| None)
            .into_iter()
            .map(|mut o| {
                o.grid = index.grids_at(o.location.0).comprehensive;
                o
            })
            .collect();
    let places: Vec<_> = ds
        .places
        .iter()
        .filter(|p| p.service.is_some() && (service.is_none() || p.service == service))
        .cloned()
        .collect();
    coverage(&ds.roads, &places, &origins, params)
}

/// Coverage of one service in one community (sum of its comprehensive grids).
#[derive(Debug, Clone, Serialize)]
pub struct CommunityCoverage {
    /// Community ID.
    pub community: u64,
    /// Name.
    pub name: String,
    /// Households.
    pub households: u32,
    /// Households within the threshold.
    pub covered: u32,
    /// Their share.
    pub covered_share: Option<f64>,
    /// Elderly living alone.
    pub elderly_alone: u32,
    /// Elderly living alone beyond the threshold.
    pub elderly_alone_beyond: u32,
}

impl Table for CommunityCoverage {
    fn headers() -> Vec<&'static str> {
        vec![
            "community_id",
            "name",
            "households",
            "covered",
            "covered_share",
            "elderly_alone",
            "elderly_alone_beyond",
        ]
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Int(self.community as i64),
            Cell::Text(self.name.clone()),
            Cell::Int(i64::from(self.households)),
            Cell::Int(i64::from(self.covered)),
            self.covered_share.into(),
            Cell::Int(i64::from(self.elderly_alone)),
            Cell::Int(i64::from(self.elderly_alone_beyond)),
        ]
    }
}

/// One comprehensive grid's coverage on the map (`coverage_geojson`).
#[derive(Debug, Clone, Serialize)]
pub struct CoverageProps {
    /// Grid ID.
    pub grid_id: u64,
    /// Grid code.
    pub code: String,
    /// Grid name.
    pub name: String,
    /// Service code.
    pub service: &'static str,
    /// Households in the grid.
    pub households: u32,
    /// Households beyond the walking time.
    pub households_beyond: u32,
    /// Share of households within it.
    pub covered_share: Option<f64>,
    /// Elderly people living alone.
    pub elderly_alone: u32,
    /// Of whom beyond the walking time.
    pub elderly_alone_beyond: u32,
    /// Their share.
    pub elderly_alone_beyond_share: Option<f64>,
    /// Mean walking minutes to the nearest service.
    pub mean_minutes: Option<f64>,
    /// Households of every key population the store tags, and those beyond.
    pub key_populations: Vec<KeyPopulation>,
}

/// The households of one key population (a person tag: a household counts
/// once when any member carries it) and how many live beyond the walking
/// time of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyPopulation {
    /// Person tag code (`elderly_alone`, `disabled`, `low_income`, …).
    pub tag: &'static str,
    /// Households with a member so tagged.
    pub households: u32,
    /// Of them, beyond the walking time (or unreachable).
    pub households_beyond: u32,
}

/// One [`KeyPopulation`] per person tag, in vocabulary order, summed over
/// `rows`.
pub fn key_populations<'a>(rows: impl IntoIterator<Item = &'a CoverageRow>) -> Vec<KeyPopulation> {
    let mut tagged = [0u32; analytics::coverage::TAGS];
    let mut beyond = [0u32; analytics::coverage::TAGS];
    for r in rows {
        for i in 0..analytics::coverage::TAGS {
            tagged[i] += r.tagged[i];
            beyond[i] += r.tagged_beyond[i];
        }
    }
    geo_core::model::PersonTag::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| KeyPopulation {
            tag: t.code(),
            households: tagged[i],
            households_beyond: beyond[i],
        })
        .collect()
}

/// The per-grid coverage as a GeoJSON map layer.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageMap {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The walking time of the analysis, minutes.
    pub minutes: f64,
    /// Planned facilities counted as places of the service (`add=`).
    pub what_if: Vec<[f64; 2]>,
    /// One feature per comprehensive grid with a row (rows of buildings in
    /// no grid have no shape and are left out).
    pub features: Vec<crate::answers::Feature<CoverageProps>>,
}

/// The per-grid coverage of `rows` as a [`CoverageMap`].
pub fn coverage_geojson(ds: &Dataset, rows: &[CoverageRow], minutes: f64) -> CoverageMap {
    let by_id: HashMap<u64, &Grid> = ds.grids.iter().map(|g| (g.id.get(), g)).collect();
    let features = rows
        .iter()
        .filter_map(|r| {
            let g = by_id.get(&r.grid?.get())?;
            Some(crate::answers::Feature::new(
                &g.boundary,
                CoverageProps {
                    grid_id: g.id.get(),
                    code: g.code.as_str().to_string(),
                    name: g.name.clone(),
                    service: r.service.code(),
                    households: r.households,
                    households_beyond: r.households_beyond,
                    covered_share: r.households_beyond_share.map(|b| 1.0 - b),
                    elderly_alone: r.elderly_alone,
                    elderly_alone_beyond: r.elderly_alone_beyond,
                    elderly_alone_beyond_share: r.elderly_alone_beyond_share,
                    mean_minutes: r.mean_minutes,
                    key_populations: key_populations([r]),
                },
            ))
        })
        .collect();
    CoverageMap {
        kind: "FeatureCollection",
        minutes,
        what_if: Vec::new(),
        features,
    }
}

/// Sums per-grid coverage rows of one service by community.
pub fn coverage_by_community(
    ds: &Dataset,
    rows: &[CoverageRow],
    service: ServiceKind,
) -> Vec<CommunityCoverage> {
    let grid_comm: HashMap<u64, u64> = ds
        .grids
        .iter()
        .filter_map(|g| g.community.map(|c| (g.id.get(), c.get())))
        .collect();
    let mut acc: BTreeMap<u64, (u32, u32, u32, u32)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.service == service) {
        let Some(c) = r.grid.and_then(|g| grid_comm.get(&g.get())) else {
            continue;
        };
        let e = acc.entry(*c).or_default();
        e.0 += r.households;
        e.1 += r.households - r.households_beyond.min(r.households);
        e.2 += r.elderly_alone;
        e.3 += r.elderly_alone_beyond;
    }
    acc.into_iter()
        .map(|(c, (h, cov, ea, eab))| CommunityCoverage {
            community: c,
            name: ds
                .communities
                .iter()
                .find(|x| x.id.get() == c)
                .map_or_else(String::new, |x| x.name.clone()),
            households: h,
            covered: cov,
            covered_share: (h > 0).then(|| f64::from(cov) / f64::from(h)),
            elderly_alone: ea,
            elderly_alone_beyond: eab,
        })
        .collect()
}

/// The coverage of `GET /api/v1/coverage` (JSON) and of `wangge report
/// coverage --json`: walking coverage of one service.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageAnswer {
    /// Service kind.
    pub service: &'static str,
    /// Walking threshold, minutes.
    pub minutes: f64,
    /// Planned facilities counted as places of the service (`add=`).
    pub what_if: Vec<[f64; 2]>,
    /// Places offering the service (the planned ones included).
    pub places: usize,
    /// Per community.
    pub communities: Vec<CommunityCoverage>,
    /// The town's households of every key population the store tags, and
    /// those beyond the walking time.
    pub key_populations: Vec<KeyPopulation>,
    /// Per comprehensive grid.
    pub grids: Vec<GridCoverage>,
}

/// Coverage of one comprehensive grid.
#[derive(Debug, Clone, Serialize)]
pub struct GridCoverage {
    /// Grid code (`null` for buildings in no grid).
    pub grid: Option<String>,
    /// Households.
    pub households: u32,
    /// Households beyond the threshold.
    pub households_beyond: u32,
    /// Share of households within it.
    pub covered_share: Option<f64>,
    /// Elderly living alone.
    pub elderly_alone: u32,
    /// Of them beyond the threshold.
    pub elderly_alone_beyond: u32,
    /// Mean walking minutes.
    pub mean_minutes: Option<f64>,
    /// Households of every key population the store tags, and those beyond.
    pub key_populations: Vec<KeyPopulation>,
}

/// The coverage answer for `rows` (one service's rows of [`coverage_of`]
/// over `ds`, the planned places of `what_if` already among its places).
pub fn coverage_answer(
    ds: &Dataset,
    rows: &[CoverageRow],
    service: ServiceKind,
    minutes: f64,
    what_if: Vec<[f64; 2]>,
) -> CoverageAnswer {
    let codes: HashMap<GridId, &str> = ds.grids.iter().map(|g| (g.id, g.code.as_str())).collect();
    let grids = rows
        .iter()
        .map(|r| GridCoverage {
            grid: r.grid.and_then(|g| codes.get(&g)).map(|c| c.to_string()),
            households: r.households,
            households_beyond: r.households_beyond,
            covered_share: r.households_beyond_share.map(|b| 1.0 - b),
            elderly_alone: r.elderly_alone,
            elderly_alone_beyond: r.elderly_alone_beyond,
            mean_minutes: r.mean_minutes,
            key_populations: key_populations([r]),
        })
        .collect();
    CoverageAnswer {
        service: service.code(),
        minutes,
        what_if,
        places: ds
            .places
            .iter()
            .filter(|p| p.service == Some(service))
            .count(),
        communities: coverage_by_community(ds, rows, service),
        key_populations: key_populations(rows),
        grids,
    }
}
