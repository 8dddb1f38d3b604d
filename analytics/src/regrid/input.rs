//! What the recommender partitions: building units with their loads, the
//! barriers grids should follow, and the area the grids must tile.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use geo_core::ids::{BuildingId, CommunityId, CompoundId, GridId, HouseholdId, UnitId};
use geo_core::model::{BuildingUse, GridKind, GridRefs, PersonTag, PlaceCategory, RoadClass};
use geo_core::Dataset;
use geo_types::{Geometry, LineString, MultiPolygon, Point, Polygon};
use rstar::primitives::GeomWithData;
use rstar::RTree;
use serde::{Deserialize, Serialize};

/// The container a new grid must nest in: its community (comprehensive
/// level) or its comprehensive grid (micro level). Units with different
/// parents never share a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Parent {
    /// A community (社区/村).
    Community(CommunityId),
    /// A comprehensive grid (综合网格).
    Grid(GridId),
}

/// One unit of assignment: an entrance/stairwell (单元), or a whole small
/// building. Grids never split a unit (except by floor ranges when allowed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegridUnit {
    /// Identifier.
    pub id: UnitId,
    /// Building it belongs to.
    pub building: BuildingId,
    /// Compound (小区) it stands in, if any.
    pub compound: Option<CompoundId>,
    /// Entrance location (WGS84 lon/lat).
    pub point: Point<f64>,
    /// Households (户).
    pub households: u32,
    /// Residents.
    pub residents: u32,
    /// Residents aged 60 or more.
    pub elderly: u32,
    /// Key people (重点人员).
    pub key_people: u32,
    /// Events reported here in the last 12 months.
    pub events_12m: u32,
    /// Today's grid of the level being redrawn.
    pub current_grid: Option<GridId>,
    /// Container the new grid must nest in.
    pub parent: Option<Parent>,
    /// Dedicated grid owning this unit; such units are left alone.
    pub dedicated: Option<GridId>,
    /// Floors above ground (labels floor-range splits).
    pub floors: Option<u16>,
}

impl RegridUnit {
    /// A unit with only the fields the partition needs; loads default to zero.
    pub fn new(id: UnitId, building: BuildingId, point: Point<f64>, households: u32) -> Self {
        Self {
            id,
            building,
            compound: None,
            point,
            households,
            residents: 0,
            elderly: 0,
            key_people: 0,
            events_12m: 0,
            current_grid: None,
            parent: None,
            dedicated: None,
            floors: None,
        }
    }
}

/// What a barrier line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierKind {
    /// Compound wall (小区围墙).
    Wall,
    /// Road.
    Road,
    /// River or canal.
    River,
}

/// A line grids should not be drawn across.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Barrier {
    /// Kind.
    pub kind: BarrierKind,
    /// Line (WGS84).
    pub line: LineString<f64>,
}

/// Everything a re-gridding run reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegridInput {
    /// Units to assign.
    pub units: Vec<RegridUnit>,
    /// Roads, rivers and compound walls.
    pub barriers: Vec<Barrier>,
    /// The area the grids tile (community or town boundary, WGS84). When
    /// empty, the bounding box of the units plus a 30 m margin is used.
    pub boundary: MultiPolygon<f64>,
}

impl Default for RegridInput {
    fn default() -> Self {
        Self {
            units: Vec::new(),
            barriers: Vec::new(),
            boundary: MultiPolygon(Vec::new()),
        }
    }
}

/// Age from which a resident counts as elderly.
pub const ELDERLY_AGE: i32 = 60;

impl RegridInput {
    /// Builds the input from a dataset.
    ///
    /// `refs` gives today's grids of each unit (e.g. from the store's
    /// assignment table, or a `HashMap` lookup); the `level` decides which of
    /// them is the current grid (micro or comprehensive) and which is the
    /// parent (the comprehensive grid, or the community). Events of the 12
    /// months before `as_of` are counted at the nearest unit. Roads of class
    /// arterial and local, compound walls, and water places (rivers and
    /// canals drawn as lines, the shores of lakes and ponds drawn as
    /// polygons) become barriers. Units of a
    /// non-residential building lying in a dedicated grid are left alone.
    pub fn from_dataset(
        ds: &Dataset,
        level: GridKind,
        as_of: DateTime<Utc>,
        refs: impl Fn(UnitId) -> GridRefs,
    ) -> Self {
        let buildings: HashMap<BuildingId, &geo_core::model::Building> =
            ds.buildings.iter().map(|b| (b.id, b)).collect();
        let year = as_of.year();
        let mut residents: HashMap<UnitId, u32> = HashMap::new();
        let mut unit_of: HashMap<HouseholdId, UnitId> = HashMap::new();
        for h in &ds.households {
            if let Some(u) = h.unit {
                *residents.entry(u).or_default() += u32::from(h.size);
                unit_of.insert(h.id, u);
            }
        }
        let mut elderly: HashMap<UnitId, u32> = HashMap::new();
        let mut key: HashMap<UnitId, u32> = HashMap::new();
        for p in &ds.persons {
            let Some(u) = p.household.and_then(|h| unit_of.get(&h)) else {
                continue;
            };
            if p.age_in(year) >= ELDERLY_AGE || p.has(PersonTag::ElderlyAlone) {
                *elderly.entry(*u).or_default() += 1;
            }
            if p.has(PersonTag::KeyPerson) {
                *key.entry(*u).or_default() += 1;
            }
        }

        let mut units: Vec<RegridUnit> = ds
            .units
            .iter()
            .map(|u| {
                let b = buildings.get(&u.building);
                let r = refs(u.id);
                let (current_grid, parent) = match level {
                    GridKind::Micro => (
                        r.micro,
                        r.comprehensive
                            .map(Parent::Grid)
                            .or(r.community.map(Parent::Community)),
                    ),
                    _ => (r.comprehensive, r.community.map(Parent::Community)),
                };
                let residential = b.is_none_or(|b| {
                    matches!(b.usage, BuildingUse::Residential | BuildingUse::Mixed)
                });
                RegridUnit {
                    id: u.id,
                    building: u.building,
                    compound: b.and_then(|b| b.compound),
                    point: u.entrance,
                    households: u.households,
                    residents: residents.get(&u.id).copied().unwrap_or(0),
                    elderly: elderly.get(&u.id).copied().unwrap_or(0),
                    key_people: key.get(&u.id).copied().unwrap_or(0),
                    events_12m: 0,
                    current_grid,
                    parent,
                    dedicated: if residential { None } else { r.dedicated },
                    floors: b.and_then(|b| b.levels),
                }
            })
            .collect();

        let tree: RTree<GeomWithData<[f64; 2], usize>> = RTree::bulk_load(
            units
                .iter()
                .enumerate()
                .map(|(i, u)| GeomWithData::new([u.point.x(), u.point.y()], i))
                .collect(),
        );
        let since = as_of - Duration::days(365);
        for e in &ds.events {
            if e.reported_at <= since || e.reported_at > as_of {
                continue;
            }
            if let Some(n) = tree.nearest_neighbor([e.location.x(), e.location.y()]) {
                units[n.data].events_12m += 1;
            }
        }

        let mut barriers: Vec<Barrier> = ds
            .roads
            .iter()
            .filter(|r| matches!(r.class, RoadClass::Arterial | RoadClass::Local))
            .map(|r| Barrier {
                kind: BarrierKind::Road,
                line: r.line.clone(),
            })
            .collect();
        // Each part of a compound's wall is a wall.
        barriers.extend(ds.compounds.iter().flat_map(|c| {
            c.boundary.0.iter().map(|part| Barrier {
                kind: BarrierKind::Wall,
                line: part.exterior().clone(),
            })
        }));
        for p in ds
            .places
            .iter()
            .filter(|p| p.category == PlaceCategory::Water)
        {
            barriers.extend(water_lines(&p.geometry).into_iter().map(|line| Barrier {
                kind: BarrierKind::River,
                line,
            }));
        }

        let boundary = MultiPolygon(
            ds.communities
                .iter()
                .flat_map(|c| c.boundary.0.iter().cloned())
                .collect(),
        );
        Self {
            units,
            barriers,
            boundary,
        }
    }
}

/// The lines a water place bars: a river or canal drawn as a line, the
/// shore (outer and inner rings) of a lake or pond drawn as a polygon.
/// Points and empty lines bar nothing.
fn water_lines(g: &Geometry<f64>) -> Vec<LineString<f64>> {
    let rings = |p: &Polygon<f64>| {
        std::iter::once(p.exterior().clone())
            .chain(p.interiors().iter().cloned())
            .collect::<Vec<_>>()
    };
    let mut out = match g {
        Geometry::LineString(l) => vec![l.clone()],
        Geometry::MultiLineString(m) => m.0.clone(),
        Geometry::Polygon(p) => rings(p),
        Geometry::MultiPolygon(m) => m.0.iter().flat_map(rings).collect(),
        Geometry::Rect(r) => rings(&r.to_polygon()),
        Geometry::Triangle(t) => rings(&t.to_polygon()),
        Geometry::GeometryCollection(c) => c.0.iter().flat_map(water_lines).collect(),
        Geometry::Line(l) => vec![LineString::from(vec![l.start, l.end])],
        Geometry::Point(_) | Geometry::MultiPoint(_) => Vec::new(),
    };
    out.retain(|l| l.0.len() >= 2);
    out
}
