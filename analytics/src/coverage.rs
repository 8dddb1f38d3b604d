//! The 15-minute life circle (15分钟便民生活圈): walking time from every
//! building with households to the nearest place of each [`ServiceKind`], and
//! per grid the share of households and of elderly people living alone who
//! are beyond the threshold.
//!
//! The walking network is built from [`Road`] centre lines:
//! * every vertex is a node; vertices closer than [`CoverageParams::snap_m`]
//!   (default 3 m) are merged, so lines that share or almost share a vertex
//!   are joined;
//! * a dangling line end within `snap_m` of another segment is joined to it
//!   (a T-junction without a shared vertex); lines that cross without a
//!   shared vertex stay apart (bridges, underpasses);
//! * edge length is the Haversine distance.
//!
//! A building reaches the network by a straight access leg to its nearest
//! node, a place likewise; legs longer than [`CoverageParams::max_access_m`]
//! mean "not reachable". Walking speed is 1.2 m/s by default, a common
//! planning value for elderly pedestrians (the 15-minute circle is about
//! 1 km). Distances come from one multi-source Dijkstra per service kind,
//! seeded with every place of that kind, so the cost does not grow with the
//! number of buildings.
//!
//! ```
//! use analytics::coverage::{WalkGraph, CoverageParams};
//! use geo_core::{ids::RoadId, model::{Road, RoadClass}};
//! use geo_types::line_string;
//! let road = Road { id: RoadId::new(1).unwrap(), name: None, class: RoadClass::Local,
//!     line: line_string![(x: 116.0, y: 39.0), (x: 116.01, y: 39.0)] };
//! let g = WalkGraph::build(&[road], &CoverageParams::default());
//! assert_eq!((g.node_count(), g.edge_count()), (2, 1));
//! ```

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use geo::{Centroid, Distance, Haversine};
use geo_core::ids::{BuildingId, GridId, HouseholdId};
use geo_core::model::{Building, Household, Person, PersonTag, Place, Road, ServiceKind};
use geo_types::Point;
use rstar::primitives::{GeomWithData, Line};
use rstar::RTree;
use serde::Serialize;

use crate::table::{Cell, Table};

/// Settings of the walking model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CoverageParams {
    /// Walking speed in m/s (default 1.2).
    pub walk_speed_mps: f64,
    /// Vertices closer than this are one node; dangling ends this close to a
    /// segment are joined to it (default 3 m).
    pub snap_m: f64,
    /// Threshold in minutes (default 15).
    pub threshold_min: f64,
    /// Longest access leg from a building or place to the network (default 500 m).
    pub max_access_m: f64,
}

impl Default for CoverageParams {
    fn default() -> Self {
        Self {
            walk_speed_mps: 1.2,
            snap_m: 3.0,
            threshold_min: 15.0,
            max_access_m: 500.0,
        }
    }
}

/// A building (or a single household) whose residents walk to services.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Origin {
    /// Building.
    pub building: BuildingId,
    /// Entrance or centroid (WGS84).
    pub location: Point<f64>,
    /// Comprehensive grid it lies in.
    pub grid: Option<GridId>,
    /// Households in it.
    pub households: u32,
    /// Elderly people living alone in it (独居老人).
    pub elderly_alone: u32,
    /// Households in it with at least one member of each person tag, in the
    /// order of [`PersonTag::ALL`] (every key population the store tags).
    pub tagged: [u32; TAGS],
}

/// How many person tags [`Origin::tagged`] and [`CoverageRow`] count.
pub const TAGS: usize = PersonTag::ALL.len();

/// Builds one [`Origin`] per building that has households: households are
/// the records in `households` (or the building's own count when it has no
/// records), elderly living alone are the persons tagged so in them, and
/// `grid_of` gives the comprehensive grid of a building (from its `GridRefs`).
pub fn origins_from(
    buildings: &[Building],
    households: &[Household],
    persons: &[Person],
    grid_of: impl Fn(BuildingId) -> Option<GridId>,
) -> Vec<Origin> {
    let mut hh_building: HashMap<HouseholdId, BuildingId> = HashMap::new();
    let mut hh_count: HashMap<BuildingId, u32> = HashMap::new();
    for h in households {
        hh_building.insert(h.id, h.building);
        *hh_count.entry(h.building).or_default() += 1;
    }
    let mut elderly: HashMap<BuildingId, u32> = HashMap::new();
    for p in persons.iter().filter(|p| p.has(PersonTag::ElderlyAlone)) {
        if let Some(b) = p.household.and_then(|h| hh_building.get(&h)) {
            *elderly.entry(*b).or_default() += 1;
        }
    }
    // Households with a member of each tag, counted once per household.
    let mut hh_tags: HashMap<HouseholdId, [bool; TAGS]> = HashMap::new();
    for p in persons {
        let Some(h) = p.household else { continue };
        for (i, t) in PersonTag::ALL.iter().enumerate() {
            if p.has(*t) {
                hh_tags.entry(h).or_insert([false; TAGS])[i] = true;
            }
        }
    }
    let mut tagged: HashMap<BuildingId, [u32; TAGS]> = HashMap::new();
    for (h, flags) in &hh_tags {
        if let Some(b) = hh_building.get(h) {
            let row = tagged.entry(*b).or_insert([0; TAGS]);
            for (n, f) in row.iter_mut().zip(flags) {
                *n += u32::from(*f);
            }
        }
    }
    buildings
        .iter()
        .filter_map(|b| {
            let households = hh_count.get(&b.id).copied().unwrap_or(b.households);
            if households == 0 {
                return None;
            }
            Some(Origin {
                building: b.id,
                location: b.footprint.centroid()?,
                grid: grid_of(b.id),
                households,
                elderly_alone: elderly.get(&b.id).copied().unwrap_or(0),
                tagged: tagged.get(&b.id).copied().unwrap_or([0; TAGS]),
            })
        })
        .collect()
}

/// Local equirectangular projection to metres around a reference point.
#[derive(Debug, Clone, Copy)]
struct Proj {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

const EARTH_R: f64 = 6_371_008.8;

impl Proj {
    fn new(lon0: f64, lat0: f64) -> Self {
        let ky = EARTH_R * std::f64::consts::PI / 180.0;
        Self {
            lon0,
            lat0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }
    fn xy(&self, p: Point<f64>) -> [f64; 2] {
        [(p.x() - self.lon0) * self.kx, (p.y() - self.lat0) * self.ky]
    }
    fn lonlat(&self, xy: [f64; 2]) -> Point<f64> {
        Point::new(xy[0] / self.kx + self.lon0, xy[1] / self.ky + self.lat0)
    }
}

/// The walking network: nodes, undirected edges in compressed adjacency form,
/// and a spatial index of nodes.
#[derive(Debug, Clone)]
pub struct WalkGraph {
    proj: Proj,
    nodes: Vec<Point<f64>>,
    offsets: Vec<usize>,
    targets: Vec<u32>,
    lengths_m: Vec<f64>,
    index: RTree<GeomWithData<[f64; 2], u32>>,
}

type Cellkey = (i64, i64);
/// A road segment in local metres with its end nodes.
type Segment = GeomWithData<Line<[f64; 2]>, (u32, u32)>;

impl WalkGraph {
    /// Builds the network from road centre lines.
    pub fn build(roads: &[Road], params: &CoverageParams) -> Self {
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
        for r in roads {
            for c in r.line.coords() {
                sx += c.x;
                sy += c.y;
                n += 1;
            }
        }
        let proj = if n == 0 {
            Proj::new(0.0, 0.0)
        } else {
            Proj::new(sx / n as f64, sy / n as f64)
        };
        let snap = params.snap_m.max(0.01);
        let cell = |xy: [f64; 2]| -> Cellkey {
            ((xy[0] / snap).floor() as i64, (xy[1] / snap).floor() as i64)
        };
        let mut xy: Vec<[f64; 2]> = Vec::new();
        let mut nodes: Vec<Point<f64>> = Vec::new();
        let mut grid: HashMap<Cellkey, Vec<u32>> = HashMap::new();
        let mut edges: Vec<(u32, u32)> = Vec::new();
        let mut ends: Vec<u32> = Vec::new();
        for r in roads {
            let mut prev: Option<u32> = None;
            let count = r.line.0.len();
            for (i, c) in r.line.coords().enumerate() {
                let p = Point::new(c.x, c.y);
                let q = proj.xy(p);
                let (cx, cy) = cell(q);
                let mut best: Option<(f64, u32)> = None;
                for dx in -1..=1 {
                    for dy in -1..=1 {
                        for &id in grid.get(&(cx + dx, cy + dy)).into_iter().flatten() {
                            let o = xy[id as usize];
                            let d2 = (o[0] - q[0]).powi(2) + (o[1] - q[1]).powi(2);
                            if d2 <= snap * snap && best.is_none_or(|(b, _)| d2 < b) {
                                best = Some((d2, id));
                            }
                        }
                    }
                }
                let id = match best {
                    Some((_, id)) => id,
                    None => {
                        let id = xy.len() as u32;
                        xy.push(q);
                        nodes.push(p);
                        grid.entry((cx, cy)).or_default().push(id);
                        id
                    }
                };
                if let Some(a) = prev.filter(|a| *a != id) {
                    edges.push((a, id));
                }
                if i == 0 || i + 1 == count {
                    ends.push(id);
                }
                prev = Some(id);
            }
        }
        // T-junctions: join dangling ends to a nearby segment.
        let mut degree = vec![0u32; xy.len()];
        for &(a, b) in &edges {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        let segs: RTree<Segment> = RTree::bulk_load(
            edges
                .iter()
                .map(|&(a, b)| GeomWithData::new(Line::new(xy[a as usize], xy[b as usize]), (a, b)))
                .collect(),
        );
        let mut extra: Vec<(u32, u32)> = Vec::new();
        ends.sort_unstable();
        ends.dedup();
        for &e in &ends {
            if degree[e as usize] != 1 {
                continue;
            }
            let q = xy[e as usize];
            let hit = segs
                .locate_within_distance(q, snap * snap)
                .filter(|s| s.data.0 != e && s.data.1 != e)
                .map(|s| {
                    let (a, b) = (s.geom().from, s.geom().to);
                    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
                    let len2 = dx * dx + dy * dy;
                    let t = if len2 > 0.0 {
                        (((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    let p = [a[0] + t * dx, a[1] + t * dy];
                    let d2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
                    (d2, p, s.data)
                })
                .min_by(|x, y| x.0.total_cmp(&y.0));
            if let Some((_, p, (a, b))) = hit {
                let id = xy.len() as u32;
                xy.push(p);
                nodes.push(proj.lonlat(p));
                extra.extend([(a, id), (id, b), (e, id)]);
            }
        }
        edges.extend(extra);
        // Compressed adjacency, both directions.
        let mut deg = vec![0usize; xy.len() + 1];
        for &(a, b) in &edges {
            deg[a as usize + 1] += 1;
            deg[b as usize + 1] += 1;
        }
        for i in 1..deg.len() {
            deg[i] += deg[i - 1];
        }
        let offsets = deg.clone();
        let mut fill = deg;
        let mut targets = vec![0u32; edges.len() * 2];
        let mut lengths_m = vec![0f64; edges.len() * 2];
        for &(a, b) in &edges {
            let len = Haversine.distance(nodes[a as usize], nodes[b as usize]);
            for (u, v) in [(a, b), (b, a)] {
                let slot = fill[u as usize];
                targets[slot] = v;
                lengths_m[slot] = len;
                fill[u as usize] += 1;
            }
        }
        let index = RTree::bulk_load(
            xy.iter()
                .enumerate()
                .map(|(i, p)| GeomWithData::new(*p, i as u32))
                .collect(),
        );
        Self {
            proj,
            nodes,
            offsets,
            targets,
            lengths_m,
            index,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> usize {
        self.targets.len() / 2
    }

    /// The nearest node to `p` and the straight distance to it in metres.
    pub fn nearest_node(&self, p: Point<f64>) -> Option<(u32, f64)> {
        let n = self.index.nearest_neighbor(self.proj.xy(p))?;
        Some((n.data, Haversine.distance(p, self.nodes[n.data as usize])))
    }

    /// Network distance in metres from the nearest of `sources` — `(node,
    /// starting distance)` pairs — to every node (infinite when unreachable).
    pub fn distances_from(&self, sources: &[(u32, f64)]) -> Vec<f64> {
        let mut dist = vec![f64::INFINITY; self.nodes.len()];
        let mut heap = BinaryHeap::new();
        for &(n, d) in sources {
            if let Some(slot) = dist.get_mut(n as usize) {
                if d < *slot {
                    *slot = d;
                    heap.push(State(d, n));
                }
            }
        }
        while let Some(State(d, u)) = heap.pop() {
            if d > dist[u as usize] {
                continue;
            }
            let (a, b) = (self.offsets[u as usize], self.offsets[u as usize + 1]);
            for k in a..b {
                let v = self.targets[k] as usize;
                let nd = d + self.lengths_m[k];
                if nd < dist[v] {
                    dist[v] = nd;
                    heap.push(State(nd, v as u32));
                }
            }
        }
        dist
    }
}

/// Min-heap entry.
#[derive(PartialEq)]
struct State(f64, u32);
impl Eq for State {}
impl PartialOrd for State {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for State {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

/// Walking minutes from one building to the nearest place of a kind (a row
/// of the map layer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BuildingMinutes {
    /// Building.
    pub building: BuildingId,
    /// Service.
    pub service: ServiceKind,
    /// Minutes; `None` when unreachable.
    pub minutes: Option<f64>,
}

/// Coverage of one grid for one service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CoverageRow {
    /// Grid (`None`: buildings in no grid).
    pub grid: Option<GridId>,
    /// Service.
    pub service: ServiceKind,
    /// Households.
    pub households: u32,
    /// Households beyond the threshold (or unreachable).
    pub households_beyond: u32,
    /// Their share.
    pub households_beyond_share: Option<f64>,
    /// Elderly living alone.
    pub elderly_alone: u32,
    /// Elderly living alone beyond the threshold.
    pub elderly_alone_beyond: u32,
    /// Their share.
    pub elderly_alone_beyond_share: Option<f64>,
    /// Households with a member of each person tag ([`PersonTag::ALL`] order).
    pub tagged: [u32; TAGS],
    /// Of those, households beyond the threshold (or unreachable).
    pub tagged_beyond: [u32; TAGS],
    /// Household-weighted mean minutes over reachable buildings.
    pub mean_minutes: Option<f64>,
}

/// Result of [`coverage`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// Per building and service (for the map layer).
    pub minutes: Vec<BuildingMinutes>,
    /// Per grid and service, sorted by grid then service.
    pub rows: Vec<CoverageRow>,
}

/// Computes coverage for every service kind offered by at least one place.
/// A place's location is its centroid.
pub fn coverage(
    roads: &[Road],
    places: &[Place],
    origins: &[Origin],
    params: &CoverageParams,
) -> CoverageReport {
    let graph = WalkGraph::build(roads, params);
    coverage_on(&graph, places, origins, params)
}

/// [`coverage`] on a graph built beforehand (reuse it across calls).
pub fn coverage_on(
    graph: &WalkGraph,
    places: &[Place],
    origins: &[Origin],
    params: &CoverageParams,
) -> CoverageReport {
    let mut by_kind: BTreeMap<ServiceKind, Vec<(u32, f64)>> = BTreeMap::new();
    for p in places {
        let Some(kind) = p.service else { continue };
        let entry = by_kind.entry(kind).or_default();
        if let Some((n, d)) = p.geometry.centroid().and_then(|c| graph.nearest_node(c)) {
            if d <= params.max_access_m {
                entry.push((n, d));
            }
        }
    }
    let legs: Vec<Option<(u32, f64)>> = origins
        .iter()
        .map(|o| {
            graph
                .nearest_node(o.location)
                .filter(|(_, d)| *d <= params.max_access_m)
        })
        .collect();
    let speed_m_per_min = params.walk_speed_mps * 60.0;
    let mut minutes = Vec::with_capacity(origins.len() * by_kind.len());
    let mut acc: BTreeMap<(Option<GridId>, ServiceKind), (CoverageRow, f64, f64)> = BTreeMap::new();
    for (&kind, sources) in &by_kind {
        let dist = graph.distances_from(sources);
        for (o, leg) in origins.iter().zip(&legs) {
            let m = leg
                .map(|(n, d)| (dist[n as usize] + d) / speed_m_per_min)
                .filter(|m| m.is_finite());
            minutes.push(BuildingMinutes {
                building: o.building,
                service: kind,
                minutes: m,
            });
            let (row, wsum, w) = acc.entry((o.grid, kind)).or_insert((
                CoverageRow {
                    grid: o.grid,
                    service: kind,
                    households: 0,
                    households_beyond: 0,
                    households_beyond_share: None,
                    elderly_alone: 0,
                    elderly_alone_beyond: 0,
                    elderly_alone_beyond_share: None,
                    tagged: [0; TAGS],
                    tagged_beyond: [0; TAGS],
                    mean_minutes: None,
                },
                0.0,
                0.0,
            ));
            row.households += o.households;
            row.elderly_alone += o.elderly_alone;
            for (n, t) in row.tagged.iter_mut().zip(o.tagged) {
                *n += t;
            }
            match m {
                Some(m) if m <= params.threshold_min => {}
                _ => {
                    row.households_beyond += o.households;
                    row.elderly_alone_beyond += o.elderly_alone;
                    for (n, t) in row.tagged_beyond.iter_mut().zip(o.tagged) {
                        *n += t;
                    }
                }
            }
            if let Some(m) = m {
                *wsum += m * f64::from(o.households);
                *w += f64::from(o.households);
            }
        }
    }
    let share = |a: u32, b: u32| (b > 0).then(|| f64::from(a) / f64::from(b));
    let rows = acc
        .into_values()
        .map(|(mut r, wsum, w)| {
            r.households_beyond_share = share(r.households_beyond, r.households);
            r.elderly_alone_beyond_share = share(r.elderly_alone_beyond, r.elderly_alone);
            r.mean_minutes = (w > 0.0).then(|| wsum / w);
            r
        })
        .collect();
    CoverageReport { minutes, rows }
}

impl Table for CoverageRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "grid_id",
            "service",
            "households",
            "households_beyond",
            "households_beyond_share",
            "elderly_alone",
            "elderly_alone_beyond",
            "elderly_alone_beyond_share",
            "mean_minutes",
        ]
    }
    /// The fixed columns, then for every person tag ([`PersonTag::ALL`]
    /// order) `<tag>_households` and `<tag>_beyond`: the households with a
    /// member so tagged and those of them beyond the walking time.
    fn columns() -> Vec<String> {
        let mut c: Vec<String> = Self::headers().into_iter().map(String::from).collect();
        for t in PersonTag::ALL {
            c.push(format!("{}_households", t.code()));
            c.push(format!("{}_beyond", t.code()));
        }
        c
    }
    fn cells(&self) -> Vec<Cell> {
        let tags = self
            .tagged
            .iter()
            .zip(&self.tagged_beyond)
            .flat_map(|(n, beyond)| [Cell::Int(i64::from(*n)), Cell::Int(i64::from(*beyond))]);
        [
            self.grid.map_or(Cell::Empty, |g| Cell::Int(g.get() as i64)),
            Cell::Text(self.service.code().into()),
            Cell::Int(i64::from(self.households)),
            Cell::Int(i64::from(self.households_beyond)),
            self.households_beyond_share.into(),
            Cell::Int(i64::from(self.elderly_alone)),
            Cell::Int(i64::from(self.elderly_alone_beyond)),
            self.elderly_alone_beyond_share.into(),
            self.mean_minutes.into(),
        ]
        .into_iter()
        .chain(tags)
        .collect()
    }
}

impl Table for BuildingMinutes {
    fn headers() -> Vec<&'static str> {
        vec!["building_id", "service", "minutes"]
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Int(self.building.get() as i64),
            Cell::Text(self.service.code().into()),
            self.minutes.into(),
        ]
    }
}
