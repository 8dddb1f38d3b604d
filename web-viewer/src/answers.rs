//! Typed answers of the read API that are not about one event (those are in
//! [`crate::present`]): the features of the element lists, grid and building
//! detail, the big screen's figures, search hits, heatmap cells, grid
//! versions, health, the stream's control messages and the error body. Each
//! is a `Serialize` struct, so a field's name and type are written once and
//! a change shows up in the snapshots of `tests/answers.rs`; the figures
//! they carry are computed here from the [`TownView`], not in the handlers.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use geo::{BoundingRect, InteriorPoint};
use geo_core::ids::GridId;
use geo_core::model::{
    Building, Community, Compound, Grid, Organisation, Place, Road, Unit, Worker,
};
use geo_core::store::{GridVersion, VersionedGrid};
use serde::Serialize;

use crate::error::ErrorCode;
use crate::present::GridCodes;
use crate::view::{median, week_of, TownView};

/// The GeoJSON geometry of `g`.
pub fn geometry<'g, G>(g: &'g G) -> geojson::Geometry
where
    geojson::GeometryValue: From<&'g G>,
{
    geojson::Geometry::new(geojson::GeometryValue::from(g))
}

/// A building's footprint or a compound's wall: a Polygon when it has one
/// part, else the MultiPolygon (as [`geo_core::geometry::polygonal`],
/// without copying it).
pub fn parts_geometry(mp: &geo_types::MultiPolygon<f64>) -> geojson::Geometry {
    match mp.0.as_slice() {
        [one] => geometry(one),
        _ => geometry(mp),
    }
}

/// A GeoJSON feature with typed properties.
#[derive(Debug, Clone, Serialize)]
pub struct Feature<P> {
    /// Always `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The geometry, WGS84 longitude/latitude.
    pub geometry: geojson::Geometry,
    /// The element's properties.
    pub properties: P,
}

impl<P: Serialize> Feature<P> {
    /// The feature of `geometry` with `properties`.
    pub fn new<'g, G>(geometry: &'g G, properties: P) -> Self
    where
        geojson::GeometryValue: From<&'g G>,
    {
        Self {
            kind: "Feature",
            geometry: self::geometry(geometry),
            properties,
        }
    }

    /// The feature of a building's footprint or a compound's wall
    /// ([`parts_geometry`]).
    pub fn parts(geometry: &geo_types::MultiPolygon<f64>, properties: P) -> Self {
        Self {
            kind: "Feature",
            geometry: parts_geometry(geometry),
            properties,
        }
    }

    /// As a JSON value (lists mix kinds and sort events by a property).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// `[west, south, east, north]` of a rectangle.
fn bbox_of(r: Option<geo_types::Rect<f64>>) -> Option<[f64; 4]> {
    r.map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// A community in `GET /api/v1/communities`.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityProps<'a> {
    /// Community ID.
    pub id: u64,
    /// 12-digit division code.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// A village (村) rather than a residents' community (社区).
    pub is_village: bool,
}

impl<'a> CommunityProps<'a> {
    /// The properties of `c`.
    pub fn of(c: &'a Community) -> Self {
        Self {
            id: c.id.get(),
            code: c.code.as_str(),
            name: &c.name,
            is_village: c.is_village,
        }
    }
}

/// A grid in `GET /api/v1/grids`.
#[derive(Debug, Clone, Serialize)]
pub struct GridProps<'a> {
    /// Grid ID.
    pub id: u64,
    /// Grid code.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// Kind code.
    pub kind: &'static str,
    /// Community ID.
    pub community: Option<u64>,
    /// Code of the parent grid (micro grids).
    pub parent: Option<&'a str>,
    /// Households in the grid.
    pub households: u64,
    /// Residents in the grid.
    pub residents: u64,
    /// A point inside the grid, for its label.
    pub interior_point: Option<[f64; 2]>,
}

impl<'a> GridProps<'a> {
    /// The properties of `g` in `view`.
    pub fn of(view: &'a TownView, g: &'a Grid) -> Self {
        let pop = view.grid_pop.get(&g.id.get()).copied().unwrap_or_default();
        Self {
            id: g.id.get(),
            code: g.code.as_str(),
            name: &g.name,
            kind: g.kind.code(),
            community: g.community.map(|c| c.get()),
            parent: parent_code(view, g),
            households: pop.households,
            residents: pop.residents,
            interior_point: g.boundary.interior_point().map(|p| [p.x(), p.y()]),
        }
    }
}

fn parent_code<'a>(view: &'a TownView, g: &Grid) -> Option<&'a str> {
    g.parent
        .and_then(|p| view.grid_pos.get(&p))
        .map(|&i| view.dataset.grids[i].code.as_str())
}

/// A compound (小区) in `GET /api/v1/compounds`.
#[derive(Debug, Clone, Serialize)]
pub struct CompoundProps<'a> {
    /// Compound ID.
    pub id: u64,
    /// Name.
    pub name: &'a str,
    /// Era code (old compound, commercial, …).
    pub era: &'static str,
    /// Year built.
    pub built_year: Option<u16>,
}

impl<'a> CompoundProps<'a> {
    /// The properties of `c`.
    pub fn of(c: &'a Compound) -> Self {
        Self {
            id: c.id.get(),
            name: &c.name,
            era: c.era.code(),
            built_year: c.built_year,
        }
    }
}

/// A building in `GET /api/v1/buildings` (its compound `C` as an ID) and
/// in its detail (the compound as an object).
#[derive(Debug, Clone, Serialize)]
pub struct BuildingProps<'a, C = Option<u64>> {
    /// Building ID.
    pub id: u64,
    /// Address.
    pub address: Option<&'a str>,
    /// Use code.
    pub usage: &'static str,
    /// Floors above ground.
    pub levels: Option<u16>,
    /// Height in metres.
    pub height_m: Option<f32>,
    /// Units (单元).
    pub units: u16,
    /// Households.
    pub households: u32,
    /// The household count is an estimate (from floors and footprint).
    pub households_estimated: bool,
    /// Compound.
    pub compound: C,
}

impl<'a> BuildingProps<'a> {
    /// The properties of `b`.
    pub fn of(b: &'a Building) -> Self {
        Self {
            id: b.id.get(),
            address: b.address.as_deref(),
            usage: b.usage.code(),
            levels: b.levels,
            height_m: b.height_m,
            units: b.units,
            households: b.households,
            households_estimated: b.households_estimated,
            compound: b.compound.map(|c| c.get()),
        }
    }

    /// The same properties with the compound given as `compound`.
    pub fn with_compound<C>(self, compound: C) -> BuildingProps<'a, C> {
        BuildingProps {
            id: self.id,
            address: self.address,
            usage: self.usage,
            levels: self.levels,
            height_m: self.height_m,
            units: self.units,
            households: self.households,
            households_estimated: self.households_estimated,
            compound,
        }
    }
}

/// A unit (单元) in `GET /api/v1/units` and in a building's detail.
#[derive(Debug, Clone, Serialize)]
pub struct UnitProps {
    /// Unit ID.
    pub id: u64,
    /// Building ID.
    pub building: u64,
    /// Number within the building.
    pub number: u16,
    /// Households.
    pub households: u32,
}

impl UnitProps {
    /// The properties of `u`.
    pub fn of(u: &Unit) -> Self {
        Self {
            id: u.id.get(),
            building: u.building.get(),
            number: u.number,
            households: u.households,
        }
    }
}

/// A place in `GET /api/v1/places`.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceProps<'a> {
    /// Place ID.
    pub id: u64,
    /// Name.
    pub name: &'a str,
    /// Category code.
    pub category: &'static str,
    /// Public service code, for service places.
    pub service: Option<&'static str>,
}

impl<'a> PlaceProps<'a> {
    /// The properties of `p`.
    pub fn of(p: &'a Place) -> Self {
        Self {
            id: p.id.get(),
            name: &p.name,
            category: p.category.code(),
            service: p.service.map(|s| s.code()),
        }
    }
}

/// An organisation in `GET /api/v1/organisations` (no member list).
#[derive(Debug, Clone, Serialize)]
pub struct OrganisationProps<'a> {
    /// Organisation ID.
    pub id: u64,
    /// Name.
    pub name: &'a str,
    /// Kind code.
    pub kind: &'static str,
    /// Members.
    pub member_count: u32,
}

impl<'a> OrganisationProps<'a> {
    /// The properties of `o`.
    pub fn of(o: &'a Organisation) -> Self {
        Self {
            id: o.id.get(),
            name: &o.name,
            kind: o.kind.code(),
            member_count: o.member_count,
        }
    }
}

/// A road in `GET /api/v1/roads`.
#[derive(Debug, Clone, Serialize)]
pub struct RoadProps<'a> {
    /// Road ID.
    pub id: u64,
    /// Name.
    pub name: Option<&'a str>,
    /// Class code.
    pub class: &'static str,
}

impl<'a> RoadProps<'a> {
    /// The properties of `r`.
    pub fn of(r: &'a Road) -> Self {
        Self {
            id: r.id.get(),
            name: r.name.as_deref(),
            class: r.class.code(),
        }
    }
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Always `ok` (a failing store answers an error instead).
    pub status: &'static str,
    /// The store's schema version.
    pub store_version: i64,
}

/// A community as named in a grid's detail.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityRef<'a> {
    /// Community ID.
    pub id: u64,
    /// Name.
    pub name: &'a str,
    /// Division code.
    pub code: &'a str,
}

/// Events reported in one week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekCount {
    /// ISO week, `YYYY-Www`.
    pub week: String,
    /// Events reported.
    pub count: u64,
}

/// `GET /api/v1/grids/{code}`: one grid with its figures (aggregates only).
#[derive(Debug, Clone, Serialize)]
pub struct GridDetail<'a> {
    /// Grid code.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// Kind code.
    pub kind: &'static str,
    /// The grid's community.
    pub community: Option<CommunityRef<'a>>,
    /// Code of the parent grid.
    pub parent: Option<&'a str>,
    /// The grid's workers (public-facing staff: names and roles).
    pub workers: &'a [Worker],
    /// Households.
    pub households: u64,
    /// Residents.
    pub residents: u64,
    /// Share of residents aged 60 or more (0 when there is nobody).
    pub aged60_share: f64,
    /// Elderly people living alone.
    pub elderly_alone: u64,
    /// Events open now.
    pub open_events: u64,
    /// Events past their deadline now.
    pub overdue_events: u64,
    /// Median handling time, hours, of the resolved events.
    pub median_handling_h: Option<f64>,
    /// Share of rated events rated 4 or 5.
    pub satisfaction: Option<f64>,
    /// Events per ISO week over the last 26 weeks (weeks with events).
    pub events_per_week: Vec<WeekCount>,
    /// The grid's extent.
    pub bbox: Option<[f64; 4]>,
}

impl<'a> GridDetail<'a> {
    /// The detail of grid `gid` of `view` at `now` (`None` if it is not a
    /// current grid).
    pub fn of(view: &'a TownView, gid: GridId, now: DateTime<Utc>) -> Option<Self> {
        let g = &view.dataset.grids[*view.grid_pos.get(&gid)?];
        let pop = view.grid_pop.get(&gid.get()).copied().unwrap_or_default();
        let (mut open, mut overdue) = (0u64, 0u64);
        let mut handling = Vec::new();
        let (mut rated, mut satisfied) = (0u64, 0u64);
        let mut weeks: BTreeMap<String, u64> = BTreeMap::new();
        let since = now - chrono::Duration::weeks(26);
        for e in view.grid_events(gid) {
            open += u64::from(e.status.is_open());
            overdue += u64::from(e.is_overdue(now));
            handling.extend(e.handling_h());
            if let Some(s) = e.satisfaction {
                rated += 1;
                satisfied += u64::from(s >= 4);
            }
            if e.reported_at >= since {
                *weeks.entry(week_of(e.reported_at)).or_default() += 1;
            }
        }
        let community = g
            .community
            .and_then(|c| view.dataset.communities.iter().find(|x| x.id == c))
            .map(|c| CommunityRef {
                id: c.id.get(),
                name: &c.name,
                code: c.code.as_str(),
            });
        Some(Self {
            code: g.code.as_str(),
            name: &g.name,
            kind: g.kind.code(),
            community,
            parent: parent_code(view, g),
            workers: &g.workers,
            households: pop.households,
            residents: pop.residents,
            aged60_share: share(pop.aged60, pop.residents).unwrap_or(0.0),
            elderly_alone: pop.elderly_alone,
            open_events: open,
            overdue_events: overdue,
            median_handling_h: median(handling),
            satisfaction: share(satisfied, rated),
            events_per_week: weeks
                .into_iter()
                .map(|(week, count)| WeekCount { week, count })
                .collect(),
            bbox: bbox_of(g.boundary.bounding_rect()),
        })
    }
}

/// `part / whole`, none of nothing.
fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A compound as named in a building's detail.
#[derive(Debug, Clone, Serialize)]
pub struct CompoundRef<'a> {
    /// Compound ID.
    pub id: u64,
    /// Name.
    pub name: &'a str,
    /// Era code.
    pub era: &'static str,
}

/// A household of a building, as a link to its file (一户一档): no names.
#[derive(Debug, Clone, Serialize)]
pub struct HouseholdLink<'a> {
    /// Household ID.
    pub id: u64,
    /// Unit number.
    pub unit: Option<u16>,
    /// Floor.
    pub floor: i16,
    /// Room.
    pub room: &'a str,
}

/// `GET /api/v1/buildings/{id}`: the building's properties (its compound
/// as an object rather than an ID), units, grids and households.
#[derive(Debug, Clone, Serialize)]
pub struct BuildingDetail<'a> {
    /// The building, its compound named.
    #[serde(flatten)]
    pub building: BuildingProps<'a, Option<CompoundRef<'a>>>,
    /// Its units.
    pub unit_list: Vec<UnitProps>,
    /// Its grids.
    pub grids: GridCodes,
    /// Its households, for leaders and workers in scope (empty otherwise).
    pub household_list: Vec<HouseholdLink<'a>>,
}

impl<'a> BuildingDetail<'a> {
    /// The detail of `b` in `view`, with its grids `grids` and the stored
    /// households the caller may see.
    pub fn of(
        view: &'a TownView,
        b: &'a Building,
        grids: GridCodes,
        households: &'a [geo_core::store::Dwelling],
    ) -> Self {
        let units: Vec<&Unit> = view
            .dataset
            .units
            .iter()
            .filter(|u| u.building == b.id)
            .collect();
        let compound = b
            .compound
            .and_then(|c| view.dataset.compounds.iter().find(|x| x.id == c))
            .map(|c| CompoundRef {
                id: c.id.get(),
                name: &c.name,
                era: c.era.code(),
            });
        Self {
            building: BuildingProps::of(b).with_compound(compound),
            unit_list: units.iter().map(|u| UnitProps::of(u)).collect(),
            grids,
            household_list: households
                .iter()
                .map(|d| HouseholdLink {
                    id: d.household.get(),
                    unit: d
                        .unit
                        .and_then(|u| units.iter().find(|x| x.id == u))
                        .map(|u| u.number),
                    floor: d.floor,
                    room: &d.room,
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/kpi`: the big screen's figures (aggregates only).
#[derive(Debug, Clone, Serialize)]
pub struct Kpi {
    /// Events reported today (China time).
    pub events_today: u64,
    /// Events open now.
    pub open: u64,
    /// Events past their deadline now.
    pub overdue: u64,
    /// Median handling time, hours, of the events of the 30-day window.
    pub median_handling_h: Option<f64>,
    /// Share of rated events rated 4 or 5 in the window's month.
    pub satisfaction_month: Option<f64>,
    /// All events in the store.
    pub total_events: usize,
    /// End of the window, RFC 3339.
    pub window_end: String,
    /// The window ends now (false: at the newest event, an archive or a
    /// demo town whose events are older than 30 days).
    pub window_is_now: bool,
    /// The month of `satisfaction_month`, `YYYY-MM`.
    pub satisfaction_month_of: String,
}

/// China Standard Time, the local time of every figure by day or month.
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is a valid offset"))
}

impl Kpi {
    /// The figures of `view` at `now`. A store whose newest event is older
    /// than the 30-day window would show empty handling and satisfaction
    /// tiles: the window then ends at the newest event, and the answer says so.
    pub fn of(view: &TownView, now: DateTime<Utc>) -> Self {
        let today = now.with_timezone(&china()).date_naive();
        let latest = view.dataset.events.iter().map(|e| e.reported_at).max();
        let window_end = match latest {
            Some(l) if l < now - chrono::Duration::days(30) => l,
            _ => now,
        };
        let end_local = window_end.with_timezone(&china());
        let month = (end_local.year(), end_local.month());
        let since = window_end - chrono::Duration::days(30);
        let (mut today_n, mut open, mut overdue) = (0u64, 0u64, 0u64);
        let (mut rated, mut satisfied) = (0u64, 0u64);
        let mut handling = Vec::new();
        for e in &view.dataset.events {
            let local = e.reported_at.with_timezone(&china());
            today_n += u64::from(local.date_naive() == today);
            open += u64::from(e.status.is_open());
            overdue += u64::from(e.is_overdue(now));
            if e.reported_at >= since && e.reported_at <= window_end {
                handling.extend(e.handling_h());
            }
            if (local.year(), local.month()) == month {
                if let Some(s) = e.satisfaction {
                    rated += 1;
                    satisfied += u64::from(s >= 4);
                }
            }
        }
        Self {
            events_today: today_n,
            open,
            overdue,
            median_handling_h: median(handling),
            satisfaction_month: share(satisfied, rated),
            total_events: view.dataset.events.len(),
            window_end: window_end.to_rfc3339(),
            window_is_now: window_end == now,
            satisfaction_month_of: format!("{:04}-{:02}", month.0, month.1),
        }
    }
}

/// What a search hit is.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SearchTarget<'a> {
    /// A grid, by code.
    Grid {
        /// Grid code.
        code: &'a str,
    },
    /// A community, by ID.
    Community {
        /// Community ID.
        id: u64,
    },
    /// A compound, by ID.
    Compound {
        /// Compound ID.
        id: u64,
    },
    /// A building, by ID.
    Building {
        /// Building ID.
        id: u64,
    },
}

/// One hit of `GET /api/v1/search?q=` (never a person).
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit<'a> {
    /// What was found.
    #[serde(flatten)]
    pub target: SearchTarget<'a>,
    /// What the search box shows.
    pub label: Option<String>,
    /// Centre of its extent, to fly to.
    pub center: Option<[f64; 2]>,
    /// Its extent.
    pub bbox: Option<[f64; 4]>,
}

/// Most hits a search answers.
pub const SEARCH_HITS: usize = 50;

impl<'a> SearchHit<'a> {
    fn new(
        target: SearchTarget<'a>,
        label: Option<String>,
        r: Option<geo_types::Rect<f64>>,
    ) -> Self {
        Self {
            target,
            label,
            center: r.map(|r| [r.center().x, r.center().y]),
            bbox: bbox_of(r),
        }
    }

    /// Grids (code or name), communities (name or code), compounds (name)
    /// and buildings (address) of `view` matching `needle` (lower case),
    /// at most [`SEARCH_HITS`].
    pub fn find(view: &'a TownView, needle: &str) -> Vec<Self> {
        let has = |s: &str| s.to_lowercase().contains(needle);
        let grids = view
            .dataset
            .grids
            .iter()
            .filter(|g| g.code.as_str().contains(needle) || has(&g.name))
            .map(|g| {
                Self::new(
                    SearchTarget::Grid {
                        code: g.code.as_str(),
                    },
                    Some(format!("{} {}", g.name, g.code)),
                    g.boundary.bounding_rect(),
                )
            });
        let communities = view
            .dataset
            .communities
            .iter()
            .filter(|c| has(&c.name) || c.code.as_str().contains(needle))
            .map(|c| {
                Self::new(
                    SearchTarget::Community { id: c.id.get() },
                    Some(c.name.clone()),
                    c.boundary.bounding_rect(),
                )
            });
        let compounds = view
            .dataset
            .compounds
            .iter()
            .filter(|c| has(&c.name))
            .map(|c| {
                Self::new(
                    SearchTarget::Compound { id: c.id.get() },
                    Some(c.name.clone()),
                    c.boundary.bounding_rect(),
                )
            });
        let buildings = view
            .dataset
            .buildings
            .iter()
            .filter(|b| b.address.as_deref().is_some_and(has))
            .map(|b| {
                Self::new(
                    SearchTarget::Building { id: b.id.get() },
                    b.address.clone(),
                    b.footprint.bounding_rect(),
                )
            });
        grids
            .chain(communities)
            .chain(compounds)
            .chain(buildings)
            .take(SEARCH_HITS)
            .collect()
    }
}

/// `GET /api/v1/heatmap`.
#[derive(Debug, Clone, Serialize)]
pub struct Heatmap {
    /// H3 resolution.
    pub res: u8,
    /// Cells with events (`{cell, count, lon, lat}`, the position being
    /// the events' mean; k-anonymous for roles without reveal).
    pub cells: Vec<tiles::heatmap::HeatCell>,
}

/// `GET /api/v1/grids/versions`.
#[derive(Debug, Clone, Serialize)]
pub struct GridVersions {
    /// The current grid version.
    pub current: i64,
    /// Every version, oldest first.
    pub versions: Vec<GridVersion>,
}

/// A grid of one version in `GET /api/v1/grids/versions/{version}`.
#[derive(Debug, Clone, Serialize)]
pub struct VersionedGridProps<'a> {
    /// Grid ID.
    pub id: u64,
    /// Grid code.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// Kind code.
    pub kind: &'static str,
    /// Community ID.
    pub community: Option<u64>,
    /// Code of the parent grid in the same version.
    pub parent: Option<&'a str>,
    /// The version the grid was created in.
    pub version: i64,
    /// The version that retired it, if any.
    pub retired_in: Option<i64>,
}

/// `GET /api/v1/grids/versions/{version}`: the grids current in a version.
#[derive(Debug, Clone, Serialize)]
pub struct GridsOfVersion<'a> {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The version asked for.
    pub version: i64,
    /// Its grids.
    pub features: Vec<Feature<VersionedGridProps<'a>>>,
}

impl<'a> GridsOfVersion<'a> {
    /// The collection of `grids`, current in `version`.
    pub fn of(version: i64, grids: &'a [VersionedGrid]) -> Self {
        let code_of: std::collections::HashMap<u64, &str> = grids
            .iter()
            .map(|g| (g.grid.id.get(), g.grid.code.as_str()))
            .collect();
        Self {
            kind: "FeatureCollection",
            version,
            features: grids
                .iter()
                .map(|vg| {
                    let g = &vg.grid;
                    Feature::new(
                        &g.boundary,
                        VersionedGridProps {
                            id: g.id.get(),
                            code: g.code.as_str(),
                            name: &g.name,
                            kind: g.kind.code(),
                            community: g.community.map(|c| c.get()),
                            parent: g.parent.and_then(|p| code_of.get(&p.get()).copied()),
                            version: vg.version,
                            retired_in: vg.retired_in,
                        },
                    )
                })
                .collect(),
        }
    }
}

/// The first message of the event stream (`event: hello`).
#[derive(Debug, Clone, Serialize)]
pub struct StreamHello {
    /// The resume point: the newest event ID before the replay.
    pub last_id: u64,
    /// Events replayed after this message.
    pub replayed: usize,
}

/// `event: resync`: the client fell behind and should resume with `?since=`.
#[derive(Debug, Clone, Serialize)]
pub struct StreamResync {
    /// Messages it missed.
    pub missed: u64,
}

/// The body of every error answer: `{"error": {"code", "message", …}}`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody<D: Serialize = NoDetail> {
    /// The error.
    pub error: ErrorDetail<D>,
}

/// Code, message and what a caller can act on (a refused transition's
/// allowed moves, say).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorDetail<D: Serialize = NoDetail> {
    /// Stable code, documented in `docs/api.md`.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// Fields of this kind of error.
    #[serde(flatten)]
    pub detail: D,
}

/// No fields beyond code and message.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NoDetail {}

impl ErrorBody {
    /// A body of `code` and `message` only.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with(code, message, NoDetail {})
    }
}

impl<D: Serialize> ErrorBody<D> {
    /// A body of `code`, `message` and `detail`.
    pub fn with(code: ErrorCode, message: impl Into<String>, detail: D) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
                detail,
            },
        }
    }
}
