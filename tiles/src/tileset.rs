//! [`TileSet`]: per-layer R-tree indexes of a town's features in Web
//! Mercator, and on-request MVT encoding of one layer (or the composite) for
//! one tile.

use std::borrow::Cow;
use std::collections::HashMap;

use fast_mvt::{MvtCoord, MvtExtent, MvtGeomType, MvtLayerBuilder, MvtValueRef};
use geo::{Area, InteriorPoint};
use geo_core::model::{Building, Event, Grid, GridKind, Place, PlaceCategory, RoadClass};
use geo_core::Dataset;
use geo_types::{Geometry, LineString, MultiPolygon, Polygon};
use h3o::{CellIndex, LatLng, Resolution};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::clip::{prepare_line, prepare_ring, P};
use crate::error::TileError;
use crate::heatmap::{
    protect, res_for_zoom, Compiled, EventCell, HeatFilter, HeatIndex, StatusClass, DEFAULT_K,
};
use crate::layer::Layer;
use crate::projection::{tile_world_bounds, to_world, TileRange};

/// Encoding options.
#[derive(Debug, Clone, PartialEq)]
pub struct TileOptions {
    /// Tile extent in tile units (MVT default 4096).
    pub extent: u32,
    /// Buffer around the tile in tile units (geometry is clipped there).
    pub buffer: u32,
    /// Douglas–Peucker tolerance in tile units.
    pub simplify: f64,
    /// Highest zoom served (and covered by [`Invalidation`] ranges).
    pub max_zoom: u8,
    /// Hard limit of one tile's size (uncompressed, so the gzip body is
    /// smaller still), for every layer and for the composite as a whole:
    /// features of lowest rank are dropped until the tile fits; in a
    /// composite the budget is shared fairly between the parts (a part
    /// smaller than its share keeps everything).
    pub max_tile_bytes: usize,
    /// Below this zoom events are thinned to one per `thin_px` square.
    pub thin_below_zoom: u8,
    /// Thinning cell of events, in tile units.
    pub thin_px: u32,
}

impl Default for TileOptions {
    fn default() -> Self {
        Self {
            extent: 4096,
            buffer: 64,
            simplify: 1.0,
            max_zoom: 22,
            max_tile_bytes: 500_000,
            thin_below_zoom: 15,
            thin_px: 16,
        }
    }
}

/// Per-request filter of the `events` and `heatmap` layers.
#[derive(Debug, Clone, PartialEq)]
pub struct TileFilter {
    /// Which events count.
    pub events: HeatFilter,
    /// k of k-anonymity. Use [`DEFAULT_K`] (3) for roles without
    /// personal-data access, 1 for others. Above 1, heatmap cells with fewer
    /// events are left out and the `events` layer is aggregated: one point
    /// per H3 cell centre (and overdue / not overdue) standing for at least
    /// `min_count` events, with no category, status, source or time of a
    /// single event (see `LAYERS.md`).
    pub min_count: u32,
}

impl TileFilter {
    /// All events judged at `now`, k = 3.
    pub fn at(now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            events: HeatFilter::at(now),
            min_count: DEFAULT_K,
        }
    }
}

impl TileFilter {
    /// True when the `events` layer must be aggregated (k > 1).
    pub fn k_anonymous(&self) -> bool {
        self.min_count > 1
    }
}

/// An encoded tile and how long it stays right.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedTile {
    /// Uncompressed MVT 2.1; empty when the tile has no feature.
    pub bytes: Vec<u8>,
    /// The tile depends on the time of the request (an open event in its
    /// reach turns overdue): it is the same for every `now` before this
    /// instant and must be rebuilt from then on. `None`: the tile does not
    /// change with time (only with writes, see [`Invalidation`]).
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Default for TileFilter {
    fn default() -> Self {
        Self {
            events: HeatFilter::default(),
            min_count: DEFAULT_K,
        }
    }
}

/// What a write changed: the layers and, for each zoom, the tiles to drop
/// from a cache. Tiles of [`Layer::All`] are always included.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Invalidation {
    /// Layers whose tiles changed (always with `all`).
    pub layers: Vec<Layer>,
    /// Tile ranges, one per zoom from the lowest zoom of `layers` to `max_zoom`.
    pub ranges: Vec<TileRange>,
}

impl serde::Serialize for Layer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Invalidation {
    /// True if tile `layer/z/x/y` must be dropped.
    pub fn affects(&self, layer: Layer, z: u8, x: u32, y: u32) -> bool {
        self.layers.contains(&layer) && self.ranges.iter().any(|r| r.contains(z, x, y))
    }
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
enum V {
    S(Box<str>),
    St(&'static str),
    U(u64),
    F(f64),
    B(bool),
}

impl V {
    fn as_ref(&self) -> MvtValueRef<'_> {
        match self {
            V::S(s) => MvtValueRef::String(s),
            V::St(s) => MvtValueRef::String(s),
            V::U(u) => MvtValueRef::UInt(*u),
            V::F(f) => MvtValueRef::Double(*f),
            V::B(b) => MvtValueRef::Bool(*b),
        }
    }
}

/// Geometry in world coordinates.
#[derive(Debug, Clone, PartialEq)]
enum WGeom {
    Point(P),
    Lines(Vec<Vec<P>>),
    /// Polygons, each a list of rings (exterior first), rings open.
    Polys(Vec<Vec<Vec<P>>>),
}

#[derive(Debug, Clone, PartialEq)]
struct Item {
    id: u64,
    geom: WGeom,
    props: Vec<(&'static str, V)>,
    min_zoom: u8,
    /// Higher first when a tile must be thinned.
    rank: f64,
}

impl Item {
    fn bbox(&self) -> [f64; 4] {
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        let mut add = |p: &P| {
            b[0] = b[0].min(p[0]);
            b[1] = b[1].min(p[1]);
            b[2] = b[2].max(p[0]);
            b[3] = b[3].max(p[1]);
        };
        match &self.geom {
            WGeom::Point(p) => add(p),
            WGeom::Lines(ls) => ls.iter().flatten().for_each(&mut add),
            WGeom::Polys(ps) => ps
                .iter()
                .flat_map(|p| p.first())
                .flatten()
                .for_each(&mut add),
        }
        b
    }
}

fn ring_world(ls: &LineString<f64>) -> Vec<P> {
    let mut r: Vec<P> = ls.0.iter().map(|c| to_world(c.x, c.y)).collect();
    if r.len() > 1 && r.first() == r.last() {
        r.pop();
    }
    r
}

fn poly_world(p: &Polygon<f64>) -> Vec<Vec<P>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(ring_world)
        .collect()
}

fn geom_world(g: &Geometry<f64>) -> Option<WGeom> {
    Some(match g {
        Geometry::Point(p) => WGeom::Point(to_world(p.x(), p.y())),
        Geometry::LineString(l) => {
            WGeom::Lines(vec![l.0.iter().map(|c| to_world(c.x, c.y)).collect()])
        }
        Geometry::MultiLineString(m) => WGeom::Lines(
            m.0.iter()
                .map(|l| l.0.iter().map(|c| to_world(c.x, c.y)).collect())
                .collect(),
        ),
        Geometry::Polygon(p) => WGeom::Polys(vec![poly_world(p)]),
        Geometry::MultiPolygon(m) => WGeom::Polys(m.0.iter().map(poly_world).collect()),
        _ => return None,
    })
}

fn s(v: &str) -> V {
    V::S(v.into())
}

/// One layer's features and their R-tree.
#[derive(Debug, Clone, Default)]
struct Store {
    items: Vec<Option<Item>>,
    by_id: HashMap<u64, usize>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl Store {
    fn build(items: Vec<Item>) -> Self {
        let entries = items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let b = it.bbox();
                GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), i)
            })
            .collect();
        let by_id = items.iter().enumerate().map(|(i, it)| (it.id, i)).collect();
        Self {
            items: items.into_iter().map(Some).collect(),
            by_id,
            tree: RTree::bulk_load(entries),
        }
    }

    /// Inserts or replaces; returns the world boxes touched.
    fn upsert(&mut self, item: Item) -> Vec<[f64; 4]> {
        let mut touched = self.remove(item.id);
        let b = item.bbox();
        touched.push(b);
        let i = self.items.len();
        self.by_id.insert(item.id, i);
        self.items.push(Some(item));
        self.tree.insert(GeomWithData::new(
            Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
            i,
        ));
        touched
    }

    fn remove(&mut self, id: u64) -> Vec<[f64; 4]> {
        let Some(i) = self.by_id.remove(&id) else {
            return vec![];
        };
        let Some(old) = self.items[i].take() else {
            return vec![];
        };
        let b = old.bbox();
        self.tree.remove(&GeomWithData::new(
            Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
            i,
        ));
        vec![b]
    }

    fn bounds(&self) -> Option<[f64; 4]> {
        let items: Vec<[f64; 4]> = self.items.iter().flatten().map(Item::bbox).collect();
        union(&items)
    }

    fn query(&self, world: [f64; 4], z: u8) -> impl Iterator<Item = &Item> {
        let env = AABB::from_corners([world[0], world[1]], [world[2], world[3]]);
        self.tree
            .locate_in_envelope_intersecting(env)
            .filter_map(|e| self.items[e.data].as_ref())
            .filter(move |it| it.min_zoom <= z)
    }
}

fn union(boxes: &[[f64; 4]]) -> Option<[f64; 4]> {
    boxes.iter().copied().reduce(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    })
}

fn grid_min_zoom(kind: GridKind) -> u8 {
    match kind {
        GridKind::Comprehensive => 11,
        GridKind::Dedicated => 12,
        GridKind::Micro => 14,
    }
}

fn road_min_zoom(class: RoadClass) -> u8 {
    match class {
        RoadClass::Arterial => 10,
        RoadClass::Local => 12,
        RoadClass::Alley => 14,
        RoadClass::Path => 15,
    }
}

fn mp_area(m: &MultiPolygon<f64>) -> f64 {
    m.unsigned_area()
}

fn label(
    id: u64,
    kind: &'static str,
    name: &str,
    at: Option<geo_types::Point<f64>>,
    min_zoom: u8,
    rank: f64,
) -> Option<Item> {
    let p = at?;
    if name.is_empty() {
        return None;
    }
    Some(Item {
        id,
        geom: WGeom::Point(to_world(p.x(), p.y())),
        props: vec![("kind", s(kind)), ("name", s(name))],
        min_zoom,
        rank,
    })
}

fn grid_item(g: &Grid) -> Item {
    Item {
        id: g.id.get(),
        geom: WGeom::Polys(g.boundary.0.iter().map(poly_world).collect()),
        props: vec![
            ("code", s(g.code.as_str())),
            ("name", s(&g.name)),
            ("kind", s(g.kind.code())),
            ("workers", V::U(g.workers.len() as u64)),
        ],
        min_zoom: grid_min_zoom(g.kind),
        rank: mp_area(&g.boundary),
    }
}

fn grid_label(g: &Grid) -> Option<Item> {
    let z = if g.kind == GridKind::Micro { 15 } else { 13 };
    label(
        g.id.get(),
        g.kind.code(),
        &g.name,
        g.boundary.interior_point(),
        z,
        mp_area(&g.boundary),
    )
}

fn building_item(b: &Building) -> Item {
    let levels = b
        .levels
        .map(u64::from)
        .or_else(|| {
            b.height_m
                .map(|h| (f64::from(h) / 3.0).round().max(1.0) as u64)
        })
        .unwrap_or(1);
    let height = b.height_m.map_or(levels as f64 * 3.0, f64::from);
    Item {
        id: b.id.get(),
        geom: WGeom::Polys(b.footprint.0.iter().map(poly_world).collect()),
        props: vec![
            ("levels", V::U(levels)),
            ("height", V::F(height)),
            ("min_height", V::F(0.0)),
            ("households", V::U(u64::from(b.households))),
            ("usage", s(b.usage.code())),
            ("units", V::U(u64::from(b.units))),
        ],
        min_zoom: 14,
        rank: b.footprint.unsigned_area(),
    }
}

fn place_item(p: &Place, min_zoom: u8, with_category: bool) -> Option<Item> {
    let geom = geom_world(&p.geometry)?;
    let mut props = Vec::new();
    if with_category {
        props.push(("category", s(p.category.code())));
    }
    if let Some(sv) = p.service {
        props.push(("service", s(sv.code())));
    }
    if !p.name.is_empty() {
        props.push(("name", s(&p.name)));
    }
    Some(Item {
        id: p.id.get(),
        geom,
        props,
        min_zoom,
        rank: p.geometry.unsigned_area(),
    })
}

/// Whole-town roll-ups of the k-anonymous `events` layer. A roll-up only
/// depends on the filter and on which open events are overdue, so every
/// tile asking with the same filter before the next status change reuses it
/// (the export, a big screen loading a zoom level). Cleared by event writes;
/// a clone starts empty.
#[derive(Debug, Default)]
struct RollupCache(std::sync::Mutex<Vec<RollupEntry>>);

impl Clone for RollupCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

#[derive(Debug)]
struct RollupEntry {
    /// The filter with `now` zeroed.
    filter: HeatFilter,
    res: u8,
    top: u8,
    k: u32,
    /// Valid for `now` in `from..until` (no status change in between).
    from: i64,
    until: i64,
    /// Groups and their cell centres in world coordinates.
    cells: std::sync::Arc<Vec<(EventCell, P)>>,
}

/// A town's features indexed for tiling. Build once from a dataset, update
/// after writes, share read-only between request handlers.
#[derive(Debug, Clone)]
pub struct TileSet {
    opts: TileOptions,
    water: Store,
    green: Store,
    roads: Store,
    communities: Store,
    grids: Store,
    compounds: Store,
    buildings: Store,
    places: Store,
    label_communities: Store,
    label_grids: Store,
    label_compounds: Store,
    heat: HeatIndex,
    rollups: RollupCache,
}

impl TileSet {
    /// Indexes every feature the tiles need. Persons, households, units,
    /// sentiments and organisations are never read.
    pub fn build(ds: &Dataset, opts: TileOptions) -> Self {
        let communities = ds
            .communities
            .iter()
            .map(|c| Item {
                id: c.id.get(),
                geom: WGeom::Polys(c.boundary.0.iter().map(poly_world).collect()),
                props: vec![
                    ("code", s(c.code.as_str())),
                    ("name", s(&c.name)),
                    ("is_village", V::B(c.is_village)),
                ],
                min_zoom: 9,
                rank: mp_area(&c.boundary),
            })
            .collect();
        let label_communities = ds
            .communities
            .iter()
            .filter_map(|c| {
                label(
                    c.id.get(),
                    "community",
                    &c.name,
                    c.boundary.interior_point(),
                    11,
                    mp_area(&c.boundary),
                )
            })
            .collect();
        let compounds = ds
            .compounds
            .iter()
            .map(|c| {
                let mut props = vec![("name", s(&c.name)), ("era", s(c.era.code()))];
                if let Some(y) = c.built_year {
                    props.push(("built_year", V::U(u64::from(y))));
                }
                Item {
                    id: c.id.get(),
                    geom: WGeom::Polys(c.boundary.0.iter().map(poly_world).collect()),
                    props,
                    min_zoom: 14,
                    rank: c.boundary.unsigned_area(),
                }
            })
            .collect();
        let label_compounds = ds
            .compounds
            .iter()
            .filter_map(|c| {
                label(
                    c.id.get(),
                    "compound",
                    &c.name,
                    c.boundary.interior_point(),
                    15,
                    c.boundary.unsigned_area(),
                )
            })
            .collect();
        let roads = ds
            .roads
            .iter()
            .map(|r| {
                let mut props = vec![("class", s(r.class.code()))];
                if let Some(n) = &r.name {
                    props.push(("name", s(n)));
                }
                let rank = 10.0 - f64::from(road_min_zoom(r.class));
                Item {
                    id: r.id.get(),
                    geom: WGeom::Lines(vec![r.line.0.iter().map(|c| to_world(c.x, c.y)).collect()]),
                    props,
                    min_zoom: road_min_zoom(r.class),
                    rank,
                }
            })
            .collect();
        let pick = |cat: PlaceCategory, z: u8| -> Vec<Item> {
            ds.places
                .iter()
                .filter(|p| p.category == cat)
                .filter_map(|p| place_item(p, z, false))
                .collect()
        };
        Self {
            water: Store::build(pick(PlaceCategory::Water, 8)),
            green: Store::build(pick(PlaceCategory::PublicSpace, 8)),
            roads: Store::build(roads),
            communities: Store::build(communities),
            grids: Store::build(ds.grids.iter().map(grid_item).collect()),
            compounds: Store::build(compounds),
            buildings: Store::build(ds.buildings.iter().map(building_item).collect()),
            places: Store::build(
                ds.places
                    .iter()
                    .filter(|p| p.category != PlaceCategory::Water)
                    .filter_map(|p| place_item(p, 13, true))
                    .collect(),
            ),
            label_communities: Store::build(label_communities),
            label_grids: Store::build(ds.grids.iter().filter_map(grid_label).collect()),
            label_compounds: Store::build(label_compounds),
            heat: HeatIndex::build(&ds.events),
            rollups: RollupCache::default(),
            opts,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &TileOptions {
        &self.opts
    }

    /// The event index behind the `events` and `heatmap` layers (use it for
    /// the `/api/v1/heatmap` aggregate).
    pub fn heat(&self) -> &HeatIndex {
        &self.heat
    }

    /// Bounds of all indexed features, `[west, south, east, north]` degrees.
    pub fn bounds(&self) -> Option<[f64; 4]> {
        let mut boxes: Vec<[f64; 4]> = [
            &self.water,
            &self.green,
            &self.roads,
            &self.communities,
            &self.grids,
            &self.compounds,
            &self.buildings,
            &self.places,
        ]
        .iter()
        .filter_map(|s| s.bounds())
        .collect();
        for (lon, lat) in self.heat.lon.iter().zip(&self.heat.lat) {
            let p = to_world(*lon, *lat);
            boxes.push([p[0], p[1], p[0], p[1]]);
        }
        let w = union(&boxes)?;
        let [west, north] = crate::projection::to_lonlat(w[0], w[1]);
        let [east, south] = crate::projection::to_lonlat(w[2], w[3]);
        Some([west, south, east, north])
    }

    fn invalidation(&self, layers: &[Layer], boxes: &[[f64; 4]]) -> Invalidation {
        let Some(b) = union(boxes) else {
            return Invalidation::default();
        };
        let mut layers = layers.to_vec();
        layers.push(Layer::All);
        let min_z = layers
            .iter()
            .map(|l| {
                if *l == Layer::All {
                    u8::MAX
                } else {
                    l.min_zoom()
                }
            })
            .min()
            .unwrap_or(0);
        let frac = f64::from(self.opts.buffer) / f64::from(self.opts.extent);
        let ranges = (min_z.min(self.opts.max_zoom)..=self.opts.max_zoom)
            .map(|z| TileRange::covering(z, b, frac))
            .collect();
        Invalidation { layers, ranges }
    }

    /// Inserts or replaces an event. Invalidates `events`, `heatmap` and
    /// `all` around its old and new locations (grown by the largest heatmap cell).
    pub fn upsert_event(&mut self, e: &Event) -> Invalidation {
        self.rollups = RollupCache::default();
        let touched = self.heat.upsert(e);
        self.event_invalidation(&touched)
    }

    /// Removes an event (e.g. merged away); `None` if it was not indexed.
    pub fn remove_event(&mut self, id: geo_core::ids::EventId) -> Option<Invalidation> {
        self.rollups = RollupCache::default();
        let at = self.heat.remove(id.get())?;
        Some(self.event_invalidation(&[at]))
    }

    fn event_invalidation(&self, lonlats: &[[f64; 2]]) -> Invalidation {
        let grow = heat_margin(7);
        let boxes: Vec<[f64; 4]> = lonlats
            .iter()
            .map(|p| {
                let w = to_world(p[0], p[1]);
                [w[0] - grow, w[1] - grow, w[0] + grow, w[1] + grow]
            })
            .collect();
        let mut inv = self.invalidation(&[Layer::Events, Layer::Heatmap], &boxes);
        // The heatmap starts at z0.
        inv.ranges = (0..=self.opts.max_zoom)
            .filter_map(|z| {
                union(&boxes).map(|b| {
                    TileRange::covering(
                        z,
                        b,
                        f64::from(self.opts.buffer) / f64::from(self.opts.extent),
                    )
                })
            })
            .collect();
        inv
    }

    /// Replaces every grid (after re-gridding). Invalidates `grids`, `labels`
    /// and `all` over the old and new grids' extent.
    pub fn replace_grids(&mut self, grids: &[Grid]) -> Invalidation {
        let mut boxes: Vec<[f64; 4]> = self.grids.bounds().into_iter().collect();
        self.grids = Store::build(grids.iter().map(grid_item).collect());
        self.label_grids = Store::build(grids.iter().filter_map(grid_label).collect());
        boxes.extend(self.grids.bounds());
        self.invalidation(&[Layer::Grids, Layer::Labels], &boxes)
    }

    /// Inserts or replaces one building.
    pub fn upsert_building(&mut self, b: &Building) -> Invalidation {
        let boxes = self.buildings.upsert(building_item(b));
        self.invalidation(&[Layer::Buildings], &boxes)
    }

    /// Inserts or replaces one place (in `places`, and `water`/`green` by category).
    pub fn upsert_place(&mut self, p: &Place) -> Invalidation {
        let mut boxes = self.water.remove(p.id.get());
        boxes.extend(self.green.remove(p.id.get()));
        boxes.extend(self.places.remove(p.id.get()));
        let mut layers = vec![Layer::Places, Layer::Water, Layer::Green];
        match p.category {
            PlaceCategory::Water => boxes.extend(
                place_item(p, 8, false)
                    .map(|i| self.water.upsert(i))
                    .unwrap_or_default(),
            ),
            PlaceCategory::PublicSpace => boxes.extend(
                place_item(p, 8, false)
                    .map(|i| self.green.upsert(i))
                    .unwrap_or_default(),
            ),
            _ => {}
        }
        if p.category != PlaceCategory::Water {
            boxes.extend(
                place_item(p, 13, true)
                    .map(|i| self.places.upsert(i))
                    .unwrap_or_default(),
            );
        }
        layers.sort();
        self.invalidation(&layers, &boxes)
    }

    /// Encodes one tile of `layer` (uncompressed MVT 2.1). An empty tile is
    /// an empty vector (serve it as 204 or an empty 200).
    pub fn tile(
        &self,
        layer: Layer,
        z: u8,
        x: u32,
        y: u32,
        filter: &TileFilter,
    ) -> Result<Vec<u8>, TileError> {
        Ok(self.encode_tile(layer, z, x, y, filter, false)?.bytes)
    }

    /// Like [`TileSet::tile`], with the instant at which the tile stops
    /// being right because an open event in its reach turns overdue (the
    /// `events` layer, the composite, and a heatmap filtered on open or
    /// overdue events depend on the time of the request). A cache keeps the
    /// tile until then, or until a write invalidates it.
    pub fn tile_with_expiry(
        &self,
        layer: Layer,
        z: u8,
        x: u32,
        y: u32,
        filter: &TileFilter,
    ) -> Result<EncodedTile, TileError> {
        self.encode_tile(layer, z, x, y, filter, true)
    }

    fn encode_tile(
        &self,
        layer: Layer,
        z: u8,
        x: u32,
        y: u32,
        filter: &TileFilter,
        expiry: bool,
    ) -> Result<EncodedTile, TileError> {
        if z > self.opts.max_zoom || z > 30 {
            return Err(TileError::ZoomOutOfRange {
                z,
                max: self.opts.max_zoom,
            });
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(TileError::TileOutOfRange { z, x, y });
        }
        let t = TileCtx::new(&self.opts, z, x, y);
        let parts = if layer == Layer::All {
            Layer::PARTS
        } else {
            std::slice::from_ref(&layer)
        };
        let now = filter.events.now.timestamp();
        let valid_until = parts
            .iter()
            .filter(|p| expiry && z >= p.min_zoom())
            .filter_map(|p| self.time_reach(*p, &t, filter))
            .filter_map(|b| self.heat.next_change_in(b, now))
            .min()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
        let bytes = if layer == Layer::All {
            self.composite(&t, filter)?
        } else if z < layer.min_zoom() {
            Vec::new()
        } else {
            t.fit(
                layer.name(),
                &self.feats(layer, &t, filter),
                self.opts.max_tile_bytes,
            )?
        };
        Ok(EncodedTile { bytes, valid_until })
    }

    /// The world box whose open events decide how long a tile of `layer`
    /// stays right; `None` if the layer does not depend on the time.
    fn time_reach(&self, layer: Layer, t: &TileCtx, filter: &TileFilter) -> Option<[f64; 4]> {
        let grow = |m: f64| {
            let w = t.world;
            [w[0] - m, w[1] - m, w[2] + m, w[3] + m]
        };
        match layer {
            Layer::Events if filter.k_anonymous() => Some(grow(heat_margin(coarse_top(t.z)))),
            Layer::Events => Some(t.world),
            Layer::Heatmap if filter.events.depends_on_time() => {
                Some(grow(heat_margin(res_for_zoom(t.z))))
            }
            _ => None,
        }
    }

    /// The composite: every part, sharing one budget of
    /// `max_tile_bytes`. When the parts together are too big, each gets a
    /// fair share (water-filling: parts under the share keep all their
    /// features, the others are thinned to the share).
    fn composite(&self, t: &TileCtx, filter: &TileFilter) -> Result<Vec<u8>, TileError> {
        let budget = self.opts.max_tile_bytes;
        let mut parts: Vec<(Layer, Vec<Feat<'_>>, Vec<u8>)> = Vec::new();
        for part in Layer::PARTS {
            if t.z < part.min_zoom() {
                continue;
            }
            let feats = self.feats(*part, t, filter);
            if feats.is_empty() {
                continue;
            }
            let bytes = t.fit(part.name(), &feats, budget)?;
            parts.push((*part, feats, bytes));
        }
        let sizes: Vec<usize> = parts.iter().map(|p| p.2.len()).collect();
        if sizes.iter().sum::<usize>() > budget {
            let share = fair_share(&sizes, budget);
            for (layer, feats, bytes) in &mut parts {
                if bytes.len() > share {
                    *bytes = t.fit(layer.name(), feats, share)?;
                    if bytes.len() > share {
                        // One feature alone is over the share: leave the part out.
                        bytes.clear();
                    }
                }
            }
        }
        Ok(parts.into_iter().flat_map(|p| p.2).collect())
    }

    fn stores(&self, layer: Layer) -> Vec<&Store> {
        match layer {
            Layer::Water => vec![&self.water],
            Layer::Green => vec![&self.green],
            Layer::Roads => vec![&self.roads],
            Layer::Communities => vec![&self.communities],
            Layer::Grids => vec![&self.grids],
            Layer::Compounds => vec![&self.compounds],
            Layer::Buildings => vec![&self.buildings],
            Layer::Places => vec![&self.places],
            Layer::Labels => vec![
                &self.label_communities,
                &self.label_grids,
                &self.label_compounds,
            ],
            Layer::Events | Layer::Heatmap | Layer::All => vec![],
        }
    }

    /// The features of one layer in tile space, most important first.
    fn feats(&self, layer: Layer, t: &TileCtx, filter: &TileFilter) -> Vec<Feat<'_>> {
        match layer {
            Layer::Events if filter.k_anonymous() => self.coarse_event_feats(t, filter),
            Layer::Events => self.event_feats(t, filter),
            Layer::Heatmap => self.heat_feats(t, filter),
            _ => {
                let mut items: Vec<&Item> = self
                    .stores(layer)
                    .into_iter()
                    .flat_map(|s| s.query(t.world, t.z))
                    .collect();
                items.sort_by(|a, b| {
                    a.min_zoom
                        .cmp(&b.min_zoom)
                        .then(b.rank.total_cmp(&a.rank))
                        .then(a.id.cmp(&b.id))
                });
                items.into_iter().filter_map(|it| t.prepare(it)).collect()
            }
        }
    }

    /// The k-anonymous `events` layer: events grouped by H3 cell (at the
    /// heatmap's resolution for the zoom) and overdue or not; a group of
    /// fewer than k events is merged into its cell one or two resolutions
    /// coarser, and dropped if still under k there. Each point sits at its
    /// cell's centre and stands for at least k events.
    fn coarse_event_feats(&self, t: &TileCtx, filter: &TileFilter) -> Vec<Feat<'static>> {
        let town = self.town_rollup(
            &filter.events,
            res_for_zoom(t.z),
            coarse_top(t.z),
            filter.min_count,
        );
        let mut cells: Vec<(EventCell, P)> = town
            .iter()
            .map(|(c, w)| (*c, t.to_tile(*w)))
            .filter(|(_, p)| t.inside(*p))
            .collect();
        cells.sort_by_key(|(c, _)| (!c.overdue, std::cmp::Reverse(c.count), u64::from(c.cell)));
        cells
            .into_iter()
            .map(|(c, p)| Feat {
                id: Some((u64::from(c.cell) << 1) | u64::from(c.overdue)),
                geom: FGeom::Point(t.round(p)),
                props: Cow::Owned(vec![
                    ("group", V::St(c.group)),
                    ("grade", V::St(c.grade.code())),
                    ("overdue", V::B(c.overdue)),
                    ("count", V::U(u64::from(c.count))),
                    ("res", V::U(u64::from(c.res))),
                    ("cell", s(&c.cell.to_string())),
                ]),
            })
            .collect()
    }

    /// The whole town's k-anonymous groups for a filter, from the cache when
    /// the same filter was asked for since the last status change.
    fn town_rollup(
        &self,
        filter: &HeatFilter,
        res: u8,
        top: u8,
        k: u32,
    ) -> std::sync::Arc<Vec<(EventCell, P)>> {
        let now = filter.now.timestamp();
        let key = HeatFilter {
            now: chrono::DateTime::UNIX_EPOCH,
            ..filter.clone()
        };
        let hit = |e: &RollupEntry| {
            e.res == res
                && e.top == top
                && e.k == k
                && e.from <= now
                && now < e.until
                && e.filter == key
        };
        if let Ok(cache) = self.rollups.0.lock() {
            if let Some(e) = cache.iter().find(|e| hit(e)) {
                return e.cells.clone();
            }
        }
        let everything = [-1.0, -1.0, 2.0, 2.0];
        let cells: Vec<(EventCell, P)> = self
            .heat
            .rollup_in(everything, filter, res, top, k)
            .into_iter()
            .map(|c| {
                let ll = LatLng::from(c.cell);
                (c, to_world(ll.lng(), ll.lat()))
            })
            .collect();
        let cells = std::sync::Arc::new(cells);
        let until = self
            .heat
            .next_change_in(everything, now)
            .unwrap_or(i64::MAX);
        if let Ok(mut cache) = self.rollups.0.lock() {
            cache.retain(|e| e.from <= now && now < e.until);
            if cache.len() >= 16 {
                cache.remove(0);
            }
            cache.push(RollupEntry {
                filter: key,
                res,
                top,
                k,
                from: now,
                until,
                cells: cells.clone(),
            });
        }
        cells
    }

    fn event_feats(&self, t: &TileCtx, filter: &TileFilter) -> Vec<Feat<'_>> {
        let h = &self.heat;
        let f = Compiled::new(&filter.events);
        let now = filter.events.now.timestamp();
        // Overdue first, then newest, then id: what survives thinning.
        let key = |r: usize| {
            (
                h.class(r, now) != StatusClass::Overdue,
                -h.reported[r],
                h.ids[r],
            )
        };
        let mut rows: Vec<((bool, i64, u64), usize, P)> = h
            .rows_in(t.world)
            .into_iter()
            .filter(|&r| h.matches(r, &f))
            .map(|r| (key(r), r, t.to_tile(h.world[r])))
            .collect();
        if t.z < self.opts.thin_below_zoom {
            // The best event of each thinning cell, in one pass.
            let cell = f64::from(self.opts.thin_px.max(1));
            let mut best: HashMap<(i64, i64), usize> =
                HashMap::with_capacity(rows.len().min(1 << 16));
            for (i, (k, _, p)) in rows.iter().enumerate() {
                let c = ((p[0] / cell).floor() as i64, (p[1] / cell).floor() as i64);
                best.entry(c)
                    .and_modify(|j| {
                        if *k < rows[*j].0 {
                            *j = i;
                        }
                    })
                    .or_insert(i);
            }
            let mut keep = vec![false; rows.len()];
            for i in best.into_values() {
                keep[i] = true;
            }
            let mut i = 0;
            rows.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        rows.sort_unstable_by_key(|x| x.0);
        rows.into_iter()
            .map(|(k, r, p)| {
                let cat = h.category[r];
                Feat {
                    id: Some(h.ids[r]),
                    geom: FGeom::Point(t.round(p)),
                    props: Cow::Owned(vec![
                        ("category", V::St(cat.code())),
                        ("group", V::St(cat.group())),
                        ("status", V::St(h.status[r].code())),
                        ("grade", V::St(h.grade[r].code())),
                        ("source", V::St(h.source_of(r).code())),
                        ("overdue", V::B(!k.0)),
                        ("reported_at", V::U(h.reported[r].max(0) as u64)),
                    ]),
                }
            })
            .collect()
    }

    fn heat_feats(&self, t: &TileCtx, filter: &TileFilter) -> Vec<Feat<'static>> {
        let res = res_for_zoom(t.z);
        let m = heat_margin(res);
        let w = t.world;
        let cells = self.heat.aggregate_in(
            [w[0] - m, w[1] - m, w[2] + m, w[3] + m],
            &filter.events,
            res,
        );
        let cells = protect(cells, filter.min_count);
        let mut hexes = Vec::new();
        let mut points = Vec::new();
        for c in cells {
            let props = |kind: &str| {
                vec![
                    ("kind", s(kind)),
                    ("count", V::U(u64::from(c.count))),
                    ("res", V::U(u64::from(res))),
                    ("cell", s(&c.cell.to_string())),
                ]
            };
            let ring: Vec<P> = hex_ring(c.cell).into_iter().map(|p| t.to_tile(p)).collect();
            if let Some(r) = prepare_ring(&ring, t.lo, t.hi, 0.0) {
                hexes.push(Feat {
                    id: Some(u64::from(c.cell)),
                    geom: FGeom::Polys(vec![vec![r]]),
                    props: Cow::Owned(props("hex")),
                });
            }
            let p = t.to_tile(to_world(c.lon, c.lat));
            if t.inside(p) {
                points.push(Feat {
                    id: Some(u64::from(c.cell)),
                    geom: FGeom::Point(t.round(p)),
                    props: Cow::Owned(props("point")),
                });
            }
        }
        hexes.extend(points);
        hexes
    }
}

/// The coarsest H3 resolution a k-anonymous `events` group is merged into
/// at zoom `z`: two steps above the zoom's resolution, at least 7.
fn coarse_top(z: u8) -> u8 {
    res_for_zoom(z)
        .saturating_sub(2)
        .max(crate::heatmap::MIN_RES)
}

/// The largest equal share of `budget` such that parts smaller than it keep
/// their size and the others get the share (sizes sum over budget).
fn fair_share(sizes: &[usize], budget: usize) -> usize {
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    let (mut left, mut n) = (budget, sorted.len());
    for v in sorted {
        if v <= left / n {
            left -= v;
            n -= 1;
        } else {
            return left / n;
        }
    }
    usize::MAX
}

/// Ring of an H3 cell in world coordinates.
fn hex_ring(cell: CellIndex) -> Vec<P> {
    cell.boundary()
        .iter()
        .map(|ll| to_world(ll.lng(), ll.lat()))
        .collect()
}

/// Twice the cell diameter at `res`, in world units (generous at 55°N).
fn heat_margin(res: u8) -> f64 {
    let edge_km = Resolution::try_from(res).map_or(1.5, |r| r.edge_length_km());
    4.0 * edge_km / (111.32 * 0.57 * 360.0)
}

/// A feature prepared in tile space (attributes borrowed from the index
/// where possible).
#[derive(Debug, Clone)]
struct Feat<'a> {
    id: Option<u64>,
    geom: FGeom,
    props: Cow<'a, [(&'static str, V)]>,
}

#[derive(Debug, Clone)]
enum FGeom {
    Point(MvtCoord),
    Lines(Vec<Vec<MvtCoord>>),
    /// Polygons: exterior then holes.
    Polys(Vec<Vec<Vec<MvtCoord>>>),
}

/// The tile being built.
struct TileCtx {
    z: u8,
    x: u32,
    y: u32,
    /// World units → tile units.
    scale: f64,
    ox: f64,
    oy: f64,
    lo: f64,
    hi: f64,
    eps: f64,
    extent: u32,
    /// Buffered world bounds.
    world: [f64; 4],
}

impl TileCtx {
    fn new(o: &TileOptions, z: u8, x: u32, y: u32) -> Self {
        let e = f64::from(o.extent);
        let scale = (1u64 << z) as f64 * e;
        let buf = f64::from(o.buffer);
        Self {
            z,
            x,
            y,
            scale,
            ox: f64::from(x) * e,
            oy: f64::from(y) * e,
            lo: -buf,
            hi: e + buf,
            eps: o.simplify,
            extent: o.extent,
            world: tile_world_bounds(z, x, y, buf / e),
        }
    }

    fn to_tile(&self, p: P) -> P {
        [p[0] * self.scale - self.ox, p[1] * self.scale - self.oy]
    }

    fn round(&self, p: P) -> MvtCoord {
        MvtCoord {
            x: p[0].round() as i32,
            y: p[1].round() as i32,
        }
    }

    fn inside(&self, p: P) -> bool {
        p[0] >= self.lo && p[0] <= self.hi && p[1] >= self.lo && p[1] <= self.hi
    }

    fn prepare<'a>(&self, it: &'a Item) -> Option<Feat<'a>> {
        let geom = match &it.geom {
            WGeom::Point(p) => {
                let p = self.to_tile(*p);
                if !self.inside(p) {
                    return None;
                }
                FGeom::Point(self.round(p))
            }
            WGeom::Lines(ls) => {
                let pieces: Vec<Vec<MvtCoord>> = ls
                    .iter()
                    .flat_map(|l| {
                        let t: Vec<P> = l.iter().map(|p| self.to_tile(*p)).collect();
                        prepare_line(&t, self.lo, self.hi, self.eps)
                    })
                    .collect();
                if pieces.is_empty() {
                    return None;
                }
                FGeom::Lines(pieces)
            }
            WGeom::Polys(ps) => {
                let polys: Vec<Vec<Vec<MvtCoord>>> = ps
                    .iter()
                    .filter_map(|rings| {
                        let mut it = rings.iter().map(|r| {
                            let t: Vec<P> = r.iter().map(|p| self.to_tile(*p)).collect();
                            prepare_ring(&t, self.lo, self.hi, self.eps)
                        });
                        let ext = it.next()??;
                        let mut out = vec![ext];
                        out.extend(it.flatten());
                        Some(out)
                    })
                    .collect();
                if polys.is_empty() {
                    return None;
                }
                FGeom::Polys(polys)
            }
        };
        Some(Feat {
            id: Some(it.id),
            geom,
            props: Cow::Borrowed(&it.props),
        })
    }

    /// Encodes the longest prefix of `feats` that fits in `budget` bytes
    /// (at least one feature).
    fn fit(
        &self,
        name: &'static str,
        feats: &[Feat<'_>],
        budget: usize,
    ) -> Result<Vec<u8>, TileError> {
        if feats.is_empty() {
            return Ok(Vec::new());
        }
        let mut keep = feats.len();
        loop {
            let bytes = self.encode(name, &feats[..keep])?;
            if bytes.len() <= budget || keep <= 1 {
                return Ok(bytes);
            }
            let shrink = (keep as f64 * budget as f64 / bytes.len() as f64 * 0.9) as usize;
            keep = shrink.clamp(1, keep - 1);
        }
    }

    fn encode(&self, name: &'static str, feats: &[Feat<'_>]) -> Result<Vec<u8>, TileError> {
        let err = |source| TileError::Encode {
            layer: name,
            z: self.z,
            x: self.x,
            y: self.y,
            source,
        };
        let mut layer = MvtLayerBuilder::new(name).map_err(err)?;
        if let Some(e) = MvtExtent::new(self.extent) {
            layer.extent(e);
        }
        for f in feats {
            let kind = match f.geom {
                FGeom::Point(_) => MvtGeomType::Point,
                FGeom::Lines(_) => MvtGeomType::LineString,
                FGeom::Polys(_) => MvtGeomType::Polygon,
            };
            let mut fb = layer.feature_of(kind);
            fb.id(f.id);
            match &f.geom {
                FGeom::Point(p) => {
                    fb.points([*p]).map_err(err)?;
                }
                FGeom::Lines(ls) => {
                    for l in ls {
                        fb.line(l.iter().copied()).map_err(err)?;
                    }
                }
                FGeom::Polys(ps) => {
                    for rings in ps {
                        for (i, r) in rings.iter().enumerate() {
                            fb.ring(r.iter().copied(), i == 0).map_err(err)?;
                        }
                    }
                }
            }
            for (k, v) in f.props.iter() {
                fb.tag_ref(k, v.as_ref()).map_err(err)?;
            }
            layer = fb.end();
        }
        Ok(layer.encode())
    }
}
