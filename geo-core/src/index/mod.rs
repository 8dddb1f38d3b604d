//! The in-memory spatial index: one R-tree per layer (communities, grids of
//! each kind, compounds, buildings, places, events, organisations), kept up to
//! date element by element, plus a raster [`AreaLocator`] per grid layer for
//! bulk point-in-polygon.
//!
//! ```
//! use geo_core::index::{Layer, SpatialIndex};
//! use geo_core::Dataset;
//!
//! let index = SpatialIndex::build(&Dataset::default());
//! assert_eq!(index.len(Layer::Building), 0);
//! ```

mod locator;
mod prepared;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use geo_types::{Coord, Geometry, Polygon, Rect};
use rstar::{PointDistance, RTree, RTreeObject, AABB};
use thiserror::Error;

pub use locator::{AreaLocator, LocatorStats};
pub use prepared::PreparedArea;

use crate::geometry::representative_point;
use crate::ids::{
    BuildingId, CommunityId, CompoundId, EventId, GridId, HouseholdId, OrganisationId, PlaceId,
};
use crate::model::{
    Building, Community, Compound, Event, Grid, GridKind, GridRefs, Organisation, Place,
};
use crate::Dataset;

/// Metres per degree of latitude (mean Earth radius 6 371 008.8 m).
const M_PER_DEG: f64 = 111_195.08;

/// A layer of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Community boundaries.
    Community,
    /// Comprehensive grids (综合网格).
    Comprehensive,
    /// Micro-grids (微网格).
    Micro,
    /// Dedicated grids (专属网格).
    Dedicated,
    /// Compound walls.
    Compound,
    /// Building footprints.
    Building,
    /// Places (points or areas).
    Place,
    /// Events (points).
    Event,
    /// Organisations (points or areas).
    Organisation,
}

impl Layer {
    /// Every layer.
    pub const ALL: [Layer; 9] = [
        Layer::Community,
        Layer::Comprehensive,
        Layer::Micro,
        Layer::Dedicated,
        Layer::Compound,
        Layer::Building,
        Layer::Place,
        Layer::Event,
        Layer::Organisation,
    ];

    /// The layer holding grids of `kind`.
    pub fn of_grid(kind: GridKind) -> Layer {
        match kind {
            GridKind::Comprehensive => Layer::Comprehensive,
            GridKind::Micro => Layer::Micro,
            GridKind::Dedicated => Layer::Dedicated,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// A reference to an element held by the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementRef {
    /// A community.
    Community(CommunityId),
    /// A grid of any kind.
    Grid(GridId),
    /// A compound.
    Compound(CompoundId),
    /// A building.
    Building(BuildingId),
    /// A place.
    Place(PlaceId),
    /// An event.
    Event(EventId),
    /// An organisation.
    Organisation(OrganisationId),
}

impl fmt::Display for ElementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Community(id) => write!(f, "community {id}"),
            Self::Grid(id) => write!(f, "grid {id}"),
            Self::Compound(id) => write!(f, "compound {id}"),
            Self::Building(id) => write!(f, "building {id}"),
            Self::Place(id) => write!(f, "place {id}"),
            Self::Event(id) => write!(f, "event {id}"),
            Self::Organisation(id) => write!(f, "organisation {id}"),
        }
    }
}

/// An element the index could not hold.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IndexError {
    /// Empty geometry or non-finite coordinates.
    #[error("{element} cannot be indexed: {reason}")]
    Unlocatable {
        /// The element.
        element: ElementRef,
        /// Why.
        reason: &'static str,
    },
}

#[derive(Debug, Clone)]
enum Shape {
    Point(Coord<f64>),
    Area(Arc<PreparedArea>),
}

/// One indexed element. The R-tree works in "scaled" coordinates
/// (`x · cos(reference latitude)`, `y`) so that distances are isotropic.
#[derive(Debug, Clone)]
struct Entry {
    id: ElementRef,
    env: AABB<[f64; 2]>,
    shape: Shape,
    /// For buildings: the point inside the footprint used for assignment.
    rep: Option<Coord<f64>>,
    kx: f64,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.env
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        match &self.shape {
            Shape::Point(c) => {
                let (dx, dy) = (c.x * self.kx - p[0], c.y - p[1]);
                dx * dx + dy * dy
            }
            Shape::Area(a) => a.distance_2_scaled(
                Coord {
                    x: p[0] / self.kx,
                    y: p[1],
                },
                self.kx,
            ),
        }
    }
}

#[derive(Debug, Default)]
struct LayerIndex {
    tree: RTree<Entry>,
    locator: OnceLock<AreaLocator>,
}

#[derive(Debug, Clone, Copy)]
struct GridInfo {
    community: Option<CommunityId>,
    parent: Option<GridId>,
}

/// The spatial index of one town. See the module documentation.
#[derive(Debug)]
pub struct SpatialIndex {
    kx: f64,
    layers: Vec<LayerIndex>,
    where_is: HashMap<ElementRef, (Layer, Entry)>,
    grids: HashMap<GridId, GridInfo>,
    skipped: Vec<IndexError>,
}

impl SpatialIndex {
    /// An empty index for data around latitude `ref_lat_deg`.
    pub fn new(ref_lat_deg: f64) -> Self {
        let kx = ref_lat_deg.to_radians().cos();
        Self {
            kx: if kx.is_finite() && kx > 0.01 { kx } else { 1.0 },
            layers: Layer::ALL.iter().map(|_| LayerIndex::default()).collect(),
            where_is: HashMap::new(),
            grids: HashMap::new(),
            skipped: Vec::new(),
        }
    }

    /// Builds the index of every located element of `ds` (R-trees are bulk
    /// loaded). Elements that cannot be indexed are listed by
    /// [`SpatialIndex::skipped`].
    pub fn build(ds: &Dataset) -> Self {
        let ref_lat = ds
            .town
            .as_ref()
            .map(|t| t.centre.y())
            .or_else(|| ds.communities.first().and_then(|c| first_y(&c.boundary.0)))
            .or_else(|| ds.grids.first().and_then(|g| first_y(&g.boundary.0)))
            .or_else(|| ds.buildings.first().and_then(|b| first_y(&b.footprint.0)))
            .unwrap_or(0.0);
        let mut index = Self::new(ref_lat);
        let mut per_layer: Vec<Vec<Entry>> = Layer::ALL.iter().map(|_| Vec::new()).collect();
        let mut add = |index: &mut Self, layer: Layer, r: Result<Entry, IndexError>| match r {
            Ok(e) => {
                index.where_is.insert(e.id, (layer, e.clone()));
                per_layer[layer.slot()].push(e);
            }
            Err(err) => index.skipped.push(err),
        };
        for c in &ds.communities {
            let e = index.area_entry(
                ElementRef::Community(c.id),
                PreparedArea::from_multi_polygon(&c.boundary),
            );
            add(&mut index, Layer::Community, e);
        }
        for g in &ds.grids {
            index.grids.insert(
                g.id,
                GridInfo {
                    community: g.community,
                    parent: g.parent,
                },
            );
            let e = index.area_entry(
                ElementRef::Grid(g.id),
                PreparedArea::from_multi_polygon(&g.boundary),
            );
            add(&mut index, Layer::of_grid(g.kind), e);
        }
        for c in &ds.compounds {
            let e = index.area_entry(
                ElementRef::Compound(c.id),
                PreparedArea::from_multi_polygon(&c.boundary),
            );
            add(&mut index, Layer::Compound, e);
        }
        for b in &ds.buildings {
            let e = index.building_entry(b);
            add(&mut index, Layer::Building, e);
        }
        for p in &ds.places {
            let e = index.geometry_entry(ElementRef::Place(p.id), &p.geometry);
            add(&mut index, Layer::Place, e);
        }
        for ev in &ds.events {
            let e = index.point_entry(ElementRef::Event(ev.id), ev.location.0);
            add(&mut index, Layer::Event, e);
        }
        for o in &ds.organisations {
            let e = index.geometry_entry(ElementRef::Organisation(o.id), &o.geometry);
            add(&mut index, Layer::Organisation, e);
        }
        for (slot, entries) in per_layer.into_iter().enumerate() {
            index.layers[slot].tree = RTree::bulk_load(entries);
        }
        index
    }

    /// Elements [`SpatialIndex::build`] could not index, with the reason.
    pub fn skipped(&self) -> &[IndexError] {
        &self.skipped
    }

    /// Number of elements in a layer.
    pub fn len(&self, layer: Layer) -> usize {
        self.layers[layer.slot()].tree.size()
    }

    /// True when no layer holds anything.
    pub fn is_empty(&self) -> bool {
        self.where_is.is_empty()
    }

    fn key(&self, c: Coord<f64>) -> [f64; 2] {
        [c.x * self.kx, c.y]
    }

    fn area_entry(&self, id: ElementRef, area: PreparedArea) -> Result<Entry, IndexError> {
        let r = area.bounding_rect();
        if !(r.min().x.is_finite()
            && r.min().y.is_finite()
            && r.max().x.is_finite()
            && r.max().y.is_finite())
        {
            return Err(IndexError::Unlocatable {
                element: id,
                reason: "empty geometry or non-finite coordinates",
            });
        }
        Ok(Entry {
            id,
            env: AABB::from_corners(self.key(r.min()), self.key(r.max())),
            shape: Shape::Area(Arc::new(area)),
            rep: None,
            kx: self.kx,
        })
    }

    fn building_entry(&self, b: &Building) -> Result<Entry, IndexError> {
        let id = ElementRef::Building(b.id);
        let area = PreparedArea::from_multi_polygon(&b.footprint);
        let rep = crate::assign::Located::assignment_point(b);
        let mut e = self.area_entry(id, area)?;
        match rep {
            Some(c) => e.rep = Some(c),
            None => {
                return Err(IndexError::Unlocatable {
                    element: id,
                    reason: "no point inside the footprint",
                })
            }
        }
        Ok(e)
    }

    fn point_entry(&self, id: ElementRef, c: Coord<f64>) -> Result<Entry, IndexError> {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Err(IndexError::Unlocatable {
                element: id,
                reason: "non-finite coordinates",
            });
        }
        Ok(Entry {
            id,
            env: AABB::from_point(self.key(c)),
            shape: Shape::Point(c),
            rep: Some(c),
            kx: self.kx,
        })
    }

    fn geometry_entry(&self, id: ElementRef, g: &Geometry<f64>) -> Result<Entry, IndexError> {
        match g {
            Geometry::Point(p) => self.point_entry(id, p.0),
            Geometry::Polygon(p) => self.area_entry(id, PreparedArea::from_polygon(p)),
            Geometry::MultiPolygon(mp) => self.area_entry(id, PreparedArea::from_multi_polygon(mp)),
            other => match representative_point(other) {
                Some(c) => self.point_entry(id, c),
                None => Err(IndexError::Unlocatable {
                    element: id,
                    reason: "empty geometry",
                }),
            },
        }
    }

    fn put(&mut self, layer: Layer, entry: Result<Entry, IndexError>) -> Result<(), IndexError> {
        let entry = entry?;
        self.remove(entry.id);
        let slot = &mut self.layers[layer.slot()];
        slot.tree.insert(entry.clone());
        slot.locator = OnceLock::new();
        self.where_is.insert(entry.id, (layer, entry));
        Ok(())
    }

    /// Inserts or replaces a community.
    pub fn insert_community(&mut self, c: &Community) -> Result<(), IndexError> {
        let e = self.area_entry(
            ElementRef::Community(c.id),
            PreparedArea::from_multi_polygon(&c.boundary),
        );
        self.put(Layer::Community, e)
    }

    /// Inserts or replaces a grid (its kind may change).
    pub fn insert_grid(&mut self, g: &Grid) -> Result<(), IndexError> {
        let e = self.area_entry(
            ElementRef::Grid(g.id),
            PreparedArea::from_multi_polygon(&g.boundary),
        );
        self.put(Layer::of_grid(g.kind), e)?;
        self.grids.insert(
            g.id,
            GridInfo {
                community: g.community,
                parent: g.parent,
            },
        );
        Ok(())
    }

    /// Inserts or replaces a compound.
    pub fn insert_compound(&mut self, c: &Compound) -> Result<(), IndexError> {
        let e = self.area_entry(
            ElementRef::Compound(c.id),
            PreparedArea::from_multi_polygon(&c.boundary),
        );
        self.put(Layer::Compound, e)
    }

    /// Inserts or replaces a building.
    pub fn insert_building(&mut self, b: &Building) -> Result<(), IndexError> {
        let e = self.building_entry(b);
        self.put(Layer::Building, e)
    }

    /// Inserts or replaces a place.
    pub fn insert_place(&mut self, p: &Place) -> Result<(), IndexError> {
        let e = self.geometry_entry(ElementRef::Place(p.id), &p.geometry);
        self.put(Layer::Place, e)
    }

    /// Inserts or replaces an event.
    pub fn insert_event(&mut self, ev: &Event) -> Result<(), IndexError> {
        let e = self.point_entry(ElementRef::Event(ev.id), ev.location.0);
        self.put(Layer::Event, e)
    }

    /// Inserts or replaces an organisation.
    pub fn insert_organisation(&mut self, o: &Organisation) -> Result<(), IndexError> {
        let e = self.geometry_entry(ElementRef::Organisation(o.id), &o.geometry);
        self.put(Layer::Organisation, e)
    }

    /// Removes an element; false when it was not indexed.
    pub fn remove(&mut self, id: ElementRef) -> bool {
        let Some((layer, entry)) = self.where_is.remove(&id) else {
            return false;
        };
        let slot = &mut self.layers[layer.slot()];
        slot.tree.remove(&entry);
        slot.locator = OnceLock::new();
        if let ElementRef::Grid(g) = id {
            self.grids.remove(&g);
        }
        true
    }

    /// Removes a grid; false when it was not indexed.
    pub fn remove_grid(&mut self, id: GridId) -> bool {
        self.remove(ElementRef::Grid(id))
    }

    /// Removes a community; false when it was not indexed.
    pub fn remove_community(&mut self, id: CommunityId) -> bool {
        self.remove(ElementRef::Community(id))
    }

    /// Removes a compound; false when it was not indexed.
    pub fn remove_compound(&mut self, id: CompoundId) -> bool {
        self.remove(ElementRef::Compound(id))
    }

    /// Removes an organisation; false when it was not indexed.
    pub fn remove_organisation(&mut self, id: OrganisationId) -> bool {
        self.remove(ElementRef::Organisation(id))
    }

    /// Removes a building; false when it was not indexed.
    pub fn remove_building(&mut self, id: BuildingId) -> bool {
        self.remove(ElementRef::Building(id))
    }

    /// Removes an event; false when it was not indexed.
    pub fn remove_event(&mut self, id: EventId) -> bool {
        self.remove(ElementRef::Event(id))
    }

    /// Removes a place; false when it was not indexed.
    pub fn remove_place(&mut self, id: PlaceId) -> bool {
        self.remove(ElementRef::Place(id))
    }

    /// The raster locator of an area layer, built on first use after a
    /// change (point layers give an empty locator).
    pub fn locator(&self, layer: Layer) -> &AreaLocator {
        let slot = &self.layers[layer.slot()];
        slot.locator.get_or_init(|| {
            let items = slot
                .tree
                .iter()
                .filter_map(|e| match &e.shape {
                    Shape::Area(a) => Some((e.id, Arc::clone(a))),
                    Shape::Point(_) => None,
                })
                .collect::<Vec<_>>();
            let mut items = items;
            items.sort_by_key(|(id, _)| *id);
            AreaLocator::new(items)
        })
    }

    /// Builds the locators of the community and grid layers now, so bulk
    /// lookups (and [`SpatialIndex::grids_at`]) use them.
    pub fn prepare(&self) {
        for layer in [
            Layer::Community,
            Layer::Comprehensive,
            Layer::Micro,
            Layer::Dedicated,
        ] {
            self.locator(layer);
        }
    }

    /// The area of `layer` containing `c`: where areas overlap, the smallest
    /// (by planar area, then by ID). Uses the raster locator when it has been
    /// built, the R-tree otherwise; both give the same answer.
    pub fn locate(&self, layer: Layer, c: Coord<f64>) -> Option<ElementRef> {
        let slot = &self.layers[layer.slot()];
        if let Some(loc) = slot.locator.get() {
            return loc.locate(c);
        }
        let k = self.key(c);
        if !(k[0].is_finite() && k[1].is_finite()) {
            return None;
        }
        slot.tree
            .locate_in_envelope_intersecting(AABB::from_point(k))
            .filter_map(|e| match &e.shape {
                Shape::Area(a) if a.contains(c) => Some((a.planar_area(), e.id)),
                _ => None,
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(_, id)| id)
    }

    /// The community and the grid of each level containing `c`. A micro-grid
    /// with no comprehensive grid around it lends its parent; a grid outside
    /// every community boundary lends its own community.
    pub fn grids_at(&self, c: Coord<f64>) -> GridRefs {
        let grid = |layer| match self.locate(layer, c) {
            Some(ElementRef::Grid(g)) => Some(g),
            _ => None,
        };
        let micro = grid(Layer::Micro);
        let comprehensive = grid(Layer::Comprehensive)
            .or_else(|| micro.and_then(|m| self.grids.get(&m).and_then(|i| i.parent)));
        let dedicated = grid(Layer::Dedicated);
        let community = match self.locate(Layer::Community, c) {
            Some(ElementRef::Community(id)) => Some(id),
            _ => [comprehensive, micro, dedicated]
                .into_iter()
                .flatten()
                .find_map(|g| self.grids.get(&g).and_then(|i| i.community)),
        };
        GridRefs {
            community,
            comprehensive,
            micro,
            dedicated,
        }
    }

    /// Elements of `layer` whose bounding box intersects `rect` (WGS84).
    pub fn in_bbox(&self, layer: Layer, rect: Rect<f64>) -> Vec<ElementRef> {
        let env = AABB::from_corners(self.key(rect.min()), self.key(rect.max()));
        self.layers[layer.slot()]
            .tree
            .locate_in_envelope_intersecting(env)
            .map(|e| e.id)
            .collect()
    }

    /// The `k` elements of `layer` nearest to `c`, with their distance in
    /// metres (0 inside an area; local equirectangular approximation, fine at
    /// town scale).
    pub fn nearest(&self, layer: Layer, c: Coord<f64>, k: usize) -> Vec<(ElementRef, f64)> {
        let key = self.key(c);
        if !(key[0].is_finite() && key[1].is_finite()) {
            return Vec::new();
        }
        self.layers[layer.slot()]
            .tree
            .nearest_neighbor_iter_with_distance_2(key)
            .take(k)
            .map(|(e, d2)| (e.id, d2.sqrt() * M_PER_DEG))
            .collect()
    }

    /// Buildings whose assignment point (see [`crate::assign::Located`])
    /// lies in `area`.
    pub fn buildings_in(&self, area: &Polygon<f64>) -> Vec<BuildingId> {
        let prepared = PreparedArea::from_polygon(area);
        let r = prepared.bounding_rect();
        let env = AABB::from_corners(self.key(r.min()), self.key(r.max()));
        self.layers[Layer::Building.slot()]
            .tree
            .locate_in_envelope_intersecting(env)
            .filter_map(|e| match (e.id, e.rep) {
                (ElementRef::Building(id), Some(c)) if prepared.contains(c) => Some(id),
                _ => None,
            })
            .collect()
    }

    /// The point that places a building in grids: inside its footprint (see
    /// [`crate::assign::Located`]).
    pub fn building_point(&self, id: BuildingId) -> Option<Coord<f64>> {
        self.where_is
            .get(&ElementRef::Building(id))
            .and_then(|(_, e)| e.rep)
    }

    /// Households living in the buildings of [`SpatialIndex::buildings_in`].
    pub fn households_in(&self, area: &Polygon<f64>, ds: &Dataset) -> Vec<HouseholdId> {
        let buildings: HashSet<BuildingId> = self.buildings_in(area).into_iter().collect();
        ds.households
            .iter()
            .filter(|h| buildings.contains(&h.building))
            .map(|h| h.id)
            .collect()
    }
}

fn first_y(polys: &[Polygon<f64>]) -> Option<f64> {
    polys
        .first()
        .and_then(|p| p.exterior().0.first())
        .map(|c| c.y)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
