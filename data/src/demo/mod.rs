//! The demo-town generator behind `wangge demo`: a complete, linked and
//! deterministic dataset of a plausible county town of the North China plain
//! (around 禹城市, Shandong, 36.93 N 116.64 E; invented buildings and people).
//!
//! [`generate`] plans a town (communities, streets, lots, facilities, service
//! points, planted hotspots), then generates one community at a time and
//! hands each as a [`Dataset`] batch to a [`DatasetSink`], so a province-scale
//! run (≥ 10 million people) never holds more than one community in memory.
//! The returned [`Summary`] counts what was written and records what was
//! planted on purpose ([`Planted`]) so analytics can be scored against it.
//!
//! ```
//! use wangge_data::demo::{generate, Scale};
//! let mut all = geo_core::Dataset::default();
//! let summary = generate(Scale::Community, 7, &mut all, &mut |_| {}).unwrap();
//! assert_eq!(summary.persons as usize, all.persons.len());
//! assert!(summary.persons > 10_000);
//! ```

mod community;
mod events;
mod frame;
mod names;
mod people;
mod plan;
mod rng;
pub mod visits;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use geo_core::model::ServiceKind;
use geo_core::{Dataset, DatasetSink, IdError};
use geo_types::Point;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

use geo_core::ids::{CommunityId, EventId};

/// Dwellings planned per resident: 1 / (2.6 people per occupied household ×
/// 0.9 of dwellings occupied), tuned so the towns hit their head counts.
pub(crate) const DWELLINGS_PER_RESIDENT: f64 = 0.436;

/// Reference year for ages (`aged 60+` means born in 1966 or before).
pub const REFERENCE_YEAR: i32 = 2026;

/// Fifteen minutes of walking at 1.2 m/s, in metres of street distance.
pub const WALK_15MIN_M: f64 = 1080.0;

/// How big a dataset to generate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// One community of ~12,000 residents, 15 compounds, ~84 micro-grids (like Wuhan Road).
    Community,
    /// A town of ~125,000 residents (the default), 12 communities, 87 comprehensive and 76 dedicated grids.
    #[default]
    Town,
    /// A district of ~420,000 residents: 40 communities and 27 villages.
    District,
    /// ≥ 10 million people: 84 towns side by side, streamed.
    Province,
}

impl Scale {
    /// Every scale, smallest first.
    pub const ALL: [Scale; 4] = [
        Scale::Community,
        Scale::Town,
        Scale::District,
        Scale::Province,
    ];

    /// The CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Community => "community",
            Scale::Town => "town",
            Scale::District => "district",
            Scale::Province => "province",
        }
    }

    pub(crate) fn spec(self) -> ScaleSpec {
        let base = ScaleSpec {
            towns: 1,
            urban: 12,
            villages: 0,
            residents_per_town: 125_000.0,
            comprehensive: 87,
            dedicated: 76,
            community_side_m: 1000.0,
            community_aspect: 1.0,
            walkup_share: 0.0,
            hotspots_per_town: 3,
            micro_households: (48.0, 72.0),
        };
        match self {
            Scale::Community => ScaleSpec {
                urban: 1,
                residents_per_town: 12_000.0,
                comprehensive: 10,
                dedicated: 5,
                community_aspect: 0.8,
                walkup_share: 0.7,
                hotspots_per_town: 2,
                ..base
            },
            Scale::Town => base,
            Scale::District => ScaleSpec {
                urban: 40,
                villages: 27,
                residents_per_town: 420_000.0,
                comprehensive: 276,
                dedicated: 33,
                community_side_m: 900.0,
                hotspots_per_town: 5,
                // Haimen: 2,190 micro-grids of 50–100 households.
                micro_households: (70.0, 98.0),
                ..base
            },
            Scale::Province => ScaleSpec { towns: 84, ..base },
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scale name that is not one of `community`, `town`, `district`, `province`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown demo scale {value:?}; expected one of: community, town, district, province")]
pub struct ParseScaleError {
    /// The text given.
    pub value: String,
}

impl FromStr for Scale {
    type Err = ParseScaleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Scale::ALL
            .into_iter()
            .find(|sc| sc.as_str() == t)
            .ok_or_else(|| ParseScaleError {
                value: s.to_string(),
            })
    }
}

/// Sizes of one scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScaleSpec {
    pub towns: usize,
    pub urban: usize,
    pub villages: usize,
    pub residents_per_town: f64,
    pub comprehensive: u32,
    pub dedicated: u32,
    pub community_side_m: f64,
    pub community_aspect: f64,
    pub walkup_share: f64,
    pub hotspots_per_town: usize,
    /// Range of the dwellings a micro-grid is cut for (drawn per comprehensive grid).
    pub micro_households: (f64, f64),
}

/// Progress reported after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Towns finished or in progress (1-based town being generated).
    pub town: u32,
    /// Towns in the run.
    pub towns: u32,
    /// Communities of this town written so far.
    pub community: u32,
    /// Communities of this town.
    pub communities: u32,
    /// People written so far in the whole run.
    pub persons: u64,
}

/// Generation failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError<E> {
    /// The sink refused a batch.
    #[error("the dataset sink refused batch {batch}: {error:?}")]
    Sink {
        /// 0-based batch number.
        batch: u64,
        /// The sink's error.
        error: E,
    },
    /// A generated code or identifier was invalid (a bug in the generator).
    #[error("generated an invalid identifier: {0}")]
    Id(#[from] IdError),
}

/// Events of one calendar month (local time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthCount {
    /// `YYYY-MM`.
    pub month: String,
    /// Events reported in that month.
    pub events: u64,
}

/// A planted emerging hotspot: one category's weekly count jumps inside one
/// H3 resolution-9 cell during `week_starts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlantedHotspot {
    /// Community it lies in.
    pub community: CommunityId,
    /// H3 resolution-9 cell (as the u64 index) holding every planted event.
    pub h3_res9: u64,
    /// Cell centre (WGS84).
    pub centre: Point<f64>,
    /// Category code, e.g. `04.04`.
    pub category: String,
    /// Mondays (local) starting the weeks with the jump.
    pub week_starts: Vec<NaiveDate>,
    /// Extra events planted per week on top of the background.
    pub extra_per_week: u32,
}

/// 15-minute coverage of one service in one community, computed from the
/// generated data: a household is covered when the nearest place offering
/// the service is within [`WALK_15MIN_M`] metres of street (Manhattan)
/// distance on the town's street grid from its unit entrance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCoverage {
    /// Community.
    pub community: CommunityId,
    /// Service.
    pub service: ServiceKind,
    /// Occupied households.
    pub households: u64,
    /// Of which covered.
    pub covered: u64,
}

impl ServiceCoverage {
    /// Covered share (1 when the community has no households).
    pub fn share(&self) -> f64 {
        if self.households == 0 {
            1.0
        } else {
            self.covered as f64 / self.households as f64
        }
    }
}

/// A group of near-duplicate complaints about the same problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateGroup {
    /// The first report.
    pub master: EventId,
    /// Later reports of the same problem (same category, ≤ 40 m, ≤ 48 h).
    pub duplicates: Vec<EventId>,
}

/// What was planted on purpose, for scoring analytics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planted {
    /// Communities planted without an elderly canteen within 15 minutes.
    pub canteen_gap_communities: Vec<CommunityId>,
    /// Coverage of every service in every community (the ground truth).
    pub coverage: Vec<ServiceCoverage>,
    /// Emerging hotspots.
    pub hotspots: Vec<PlantedHotspot>,
    /// Near-duplicate complaint groups.
    pub duplicates: Vec<DuplicateGroup>,
}

/// Counts of what was written, and what was planted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Scale.
    pub scale: Scale,
    /// Seed.
    pub seed: u64,
    /// Batches handed to the sink.
    pub batches: u64,
    /// Towns.
    pub towns: u64,
    /// Urban communities.
    pub communities: u64,
    /// Villages.
    pub villages: u64,
    /// Comprehensive grids.
    pub comprehensive_grids: u64,
    /// Micro-grids.
    pub micro_grids: u64,
    /// Dedicated grids.
    pub dedicated_grids: u64,
    /// Compounds.
    pub compounds: u64,
    /// Buildings.
    pub buildings: u64,
    /// Units.
    pub units: u64,
    /// Households (dwellings, vacant ones included).
    pub households: u64,
    /// Occupied households.
    pub occupied_households: u64,
    /// People.
    pub persons: u64,
    /// People aged 60 or more in [`REFERENCE_YEAR`].
    pub aged_60_plus: u64,
    /// Elderly people living alone.
    pub elderly_alone: u64,
    /// Floating population.
    pub floating: u64,
    /// Party members.
    pub party_members: u64,
    /// Places.
    pub places: u64,
    /// Roads.
    pub roads: u64,
    /// Organisations.
    pub organisations: u64,
    /// Events.
    pub events: u64,
    /// Sentiment records.
    pub sentiments: u64,
    /// First instant of the event period (local midnight 364 days before
    /// the day of `period_end`; 2025-11-01 00:00 Beijing time for [`generate`]).
    pub period_start: DateTime<Utc>,
    /// End of the event period and "now" for open/overdue events
    /// (2026-11-01 00:00 Beijing time for [`generate`]).
    pub period_end: DateTime<Utc>,
    /// Events per month.
    pub events_by_month: Vec<MonthCount>,
    /// Ground truth of the planted patterns.
    pub planted: Planted,
}

impl Summary {
    /// Share of people aged 60+.
    pub fn share_aged_60_plus(&self) -> f64 {
        self.aged_60_plus as f64 / self.persons.max(1) as f64
    }
}

/// Running ID counters, shared by all batches of a run.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    pub community: u64,
    pub grid: u64,
    pub compound: u64,
    pub building: u64,
    pub unit: u64,
    pub household: u64,
    pub person: u64,
    pub place: u64,
    pub event: u64,
    pub sentiment: u64,
    pub organisation: u64,
    pub road: u64,
}

impl Ids {
    fn new() -> Self {
        Self {
            community: 0,
            grid: 0,
            compound: 0,
            building: 0,
            unit: 0,
            household: 0,
            person: 0,
            place: 0,
            event: 0,
            sentiment: 0,
            organisation: 0,
            road: 0,
        }
    }
}

/// Next value of a counter (never 0).
pub(crate) fn next(c: &mut u64) -> u64 {
    *c += 1;
    *c
}

/// Beijing time (UTC+8) to UTC.
pub(crate) fn beijing(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .unwrap_or_default()
        - chrono::Duration::hours(8)
}

/// True when `t` falls in the North China heating season (November–March,
/// Beijing time), when heating complaints (`03.03`) come in.
pub fn in_heating_season(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    let m = (t + chrono::Duration::hours(8)).month();
    m >= 11 || m <= 3
}

/// The end ("now") of the fixed event period [`generate`] uses:
/// 2026-11-01 00:00 Beijing time.
pub fn fixed_end() -> DateTime<Utc> {
    events::Period::fixed().end
}

/// Generates a dataset at `scale` from `seed`, streaming batches to `sink`
/// (one per town with the town and its arterials, then one per community)
/// and calling `progress` after each. The same seed gives the same batches.
/// Its year of events ends at [`fixed_end`]; [`generate_until`] ends it at
/// another instant, such as now.
pub fn generate<S: DatasetSink>(
    scale: Scale,
    seed: u64,
    sink: &mut S,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, DemoError<S::Error>> {
    generate_until(scale, seed, fixed_end(), sink, progress)
}

/// [`generate`] with the year of events ending at `now`: the 365 local days
/// up to and including the day of `now`, nothing reported after it, and
/// open, overdue and resolved judged at it. The same seed gives the same
/// town (grids, buildings, people, places) whatever `now` is; the events
/// and visit notes follow the calendar (seasons, weekdays) of their dates,
/// so they differ from one day to the next.
pub fn generate_until<S: DatasetSink>(
    scale: Scale,
    seed: u64,
    now: DateTime<Utc>,
    sink: &mut S,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, DemoError<S::Error>> {
    let period = events::Period::ending(now);
    let spec = scale.spec();
    let mut ids = Ids::new();
    let mut people = people::IdRegistry::new();
    let mut summary = Summary {
        scale,
        seed,
        batches: 0,
        towns: 0,
        communities: 0,
        villages: 0,
        comprehensive_grids: 0,
        micro_grids: 0,
        dedicated_grids: 0,
        compounds: 0,
        buildings: 0,
        units: 0,
        households: 0,
        occupied_households: 0,
        persons: 0,
        aged_60_plus: 0,
        elderly_alone: 0,
        floating: 0,
        party_members: 0,
        places: 0,
        roads: 0,
        organisations: 0,
        events: 0,
        sentiments: 0,
        period_start: period.start,
        period_end: period.end,
        events_by_month: period
            .months()
            .into_iter()
            .map(|month| MonthCount { month, events: 0 })
            .collect(),
        planted: Planted {
            canteen_gap_communities: Vec::new(),
            coverage: Vec::new(),
            hotspots: Vec::new(),
            duplicates: Vec::new(),
        },
    };
    for t in 0..spec.towns {
        let plan = plan::plan_town(&spec, seed, t)?;
        // Community IDs are fixed before any batch so the town batch can name them.
        let first_community = ids.community + 1;
        ids.community += plan.communities.len() as u64;
        let town_batch = community::town_batch(&plan, &mut ids)?;
        let mut state = community::TownState::new(&plan, first_community);
        emit(sink, &mut summary, &period, town_batch)?;
        summary.towns += 1;
        for c in &plan.communities {
            let batch = community::generate_community(
                &plan,
                c,
                &period,
                &mut state,
                seed,
                &mut ids,
                &mut people,
                &mut summary,
            )?;
            emit(sink, &mut summary, &period, batch)?;
            progress(Progress {
                town: t as u32 + 1,
                towns: spec.towns as u32,
                community: c.index as u32 + 1,
                communities: plan.communities.len() as u32,
                persons: summary.persons,
            });
        }
        for g in &plan.canteen_gaps {
            summary
                .planted
                .canteen_gap_communities
                .push(CommunityId::new(first_community + *g as u64)?);
        }
    }
    Ok(summary)
}

fn emit<S: DatasetSink>(
    sink: &mut S,
    summary: &mut Summary,
    period: &events::Period,
    batch: Dataset,
) -> Result<(), DemoError<S::Error>> {
    summary.communities += batch.communities.iter().filter(|c| !c.is_village).count() as u64;
    summary.villages += batch.communities.iter().filter(|c| c.is_village).count() as u64;
    for g in &batch.grids {
        match g.kind {
            geo_core::model::GridKind::Comprehensive => summary.comprehensive_grids += 1,
            geo_core::model::GridKind::Micro => summary.micro_grids += 1,
            geo_core::model::GridKind::Dedicated => summary.dedicated_grids += 1,
        }
    }
    summary.compounds += batch.compounds.len() as u64;
    summary.buildings += batch.buildings.len() as u64;
    summary.units += batch.units.len() as u64;
    summary.households += batch.households.len() as u64;
    summary.occupied_households += batch.households.iter().filter(|h| h.size > 0).count() as u64;
    summary.persons += batch.persons.len() as u64;
    for p in &batch.persons {
        if p.age_in(REFERENCE_YEAR) >= 60 {
            summary.aged_60_plus += 1;
        }
        for t in &p.tags {
            match t {
                geo_core::model::PersonTag::ElderlyAlone => summary.elderly_alone += 1,
                geo_core::model::PersonTag::Floating => summary.floating += 1,
                geo_core::model::PersonTag::PartyMember => summary.party_members += 1,
                _ => {}
            }
        }
    }
    summary.places += batch.places.len() as u64;
    summary.roads += batch.roads.len() as u64;
    summary.organisations += batch.organisations.len() as u64;
    summary.events += batch.events.len() as u64;
    summary.sentiments += batch.sentiments.len() as u64;
    for e in &batch.events {
        if let Some(i) = period.month_index(e.reported_at) {
            if let Some(m) = summary.events_by_month.get_mut(i) {
                m.events += 1;
            }
        }
    }
    let n = summary.batches;
    summary.batches += 1;
    sink.accept(batch)
        .map_err(|error| DemoError::Sink { batch: n, error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_parses() {
        assert_eq!("Town".parse::<Scale>(), Ok(Scale::Town));
        assert_eq!(" province ".parse::<Scale>(), Ok(Scale::Province));
        let e = "city".parse::<Scale>().unwrap_err();
        assert!(e.to_string().contains("\"city\""), "{e}");
        assert_eq!(Scale::default(), Scale::Town);
    }
}
