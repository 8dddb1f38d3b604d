//! OpenStreetMap PBF import: buildings, roads and places of interest.
//!
//! [`read_pbf`] reads an `.osm.pbf` extract in two passes with the `osmpbf`
//! crate. The first pass finds the building multipolygon relations and the
//! ways they use; the second keeps the coordinates of every node (12 bytes a
//! node), the wanted ways and relations, then resolves geometries. An extract
//! of a town (a few million nodes) fits easily in memory; a whole province
//! should be clipped first (`osmium extract`).
//!
//! What becomes what:
//! - closed ways tagged `building=*` (not `no`) and `type=multipolygon`
//!   relations tagged `building=*` → [`Building`] with `levels`
//!   (`building:levels`), `height_m` (`height`, `"12 m"`, `"12.5"`, `"40'"`),
//!   `address` (`addr:street` + `addr:housenumber`) and a [`BuildingUse`]
//!   read from the tag (see [`building_use`]). Households are left at 0: run
//!   [`crate::estimate::estimate_all`] afterwards.
//! - ways tagged `highway=*` with a road-like value → [`Road`] (see
//!   [`road_class`]).
//! - nodes tagged `amenity`, `shop`, `leisure` or `office` → [`Place`] (see
//!   [`place_kind`]); closed ways with those tags and no `building` tag become
//!   polygon places.
//!
//! IDs come from OSM IDs so that a re-import gives the same IDs: nodes keep
//! their ID, ways are offset by [`WAY_ID_OFFSET`] and relations by
//! [`RELATION_ID_OFFSET`], which keeps the three ranges disjoint while staying
//! below 2⁵³ (exact in JSON numbers). See [`osm_element_id`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use geo::orient::{Direction, Orient};
use geo::{Area, BoundingRect, Contains, Intersects};
use geo_core::ids::{BuildingId, PlaceId, RoadId};
use geo_core::model::{Building, BuildingUse, Place, PlaceCategory, Road, RoadClass, ServiceKind};
use geo_core::Dataset;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon, Rect};
use osmpbf::{Element, ElementReader, RelMemberType};
use thiserror::Error;

/// Way IDs are mapped to `WAY_ID_OFFSET + id`.
pub const WAY_ID_OFFSET: u64 = 1 << 50;
/// Relation IDs are mapped to `RELATION_ID_OFFSET + id`.
pub const RELATION_ID_OFFSET: u64 = 2 << 50;

/// The kind of an OSM element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OsmKind {
    /// A node.
    Node,
    /// A way.
    Way,
    /// A relation.
    Relation,
}

impl OsmKind {
    fn label(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Way => "way",
            Self::Relation => "relation",
        }
    }
}

/// The Wangge ID of an OSM element: nodes keep their ID, ways and relations
/// are offset into disjoint ranges. `None` for IDs ≤ 0 (unsaved editor
/// elements) or beyond 2⁵⁰.
///
/// ```
/// use wangge_data::osm::{osm_element_id, OsmKind, WAY_ID_OFFSET};
/// assert_eq!(osm_element_id(OsmKind::Node, 42), Some(42));
/// assert_eq!(osm_element_id(OsmKind::Way, 42), Some(WAY_ID_OFFSET + 42));
/// assert_eq!(osm_element_id(OsmKind::Way, -1), None);
/// ```
pub fn osm_element_id(kind: OsmKind, id: i64) -> Option<u64> {
    let raw = u64::try_from(id)
        .ok()
        .filter(|&r| r > 0 && r < WAY_ID_OFFSET)?;
    Some(match kind {
        OsmKind::Node => raw,
        OsmKind::Way => WAY_ID_OFFSET + raw,
        OsmKind::Relation => RELATION_ID_OFFSET + raw,
    })
}

/// What to import.
#[derive(Debug, Clone, PartialEq)]
pub struct OsmOptions {
    /// Import buildings.
    pub buildings: bool,
    /// Import roads.
    pub roads: bool,
    /// Import places (amenities, shops, leisure, offices).
    pub places: bool,
    /// Keep only features whose bounding box intersects this rectangle (WGS84).
    pub bbox: Option<Rect<f64>>,
}

impl Default for OsmOptions {
    fn default() -> Self {
        Self {
            buildings: true,
            roads: true,
            places: true,
            bbox: None,
        }
    }
}

/// Why a feature was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A building way whose first and last node differ.
    BuildingNotClosed,
    /// Fewer than 4 nodes in a ring or 2 in a road.
    TooFewNodes,
    /// Some nodes of the way are not in the extract (clipped at its edge).
    MissingNodes,
    /// A multipolygon whose member ways do not close into rings.
    UnclosedMultipolygon,
    /// A ring of zero area.
    Degenerate,
    /// ID ≤ 0 or out of range.
    BadId,
    /// Outside [`OsmOptions::bbox`].
    OutsideBbox,
    /// A `highway` value that is not a road (bus stop, street lamp, proposed…).
    NotARoad,
}

impl SkipReason {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            Self::BuildingNotClosed => "building way not closed",
            Self::TooFewNodes => "too few nodes",
            Self::MissingNodes => "nodes missing from the extract",
            Self::UnclosedMultipolygon => "multipolygon rings do not close",
            Self::Degenerate => "zero-area footprint",
            Self::BadId => "OSM ID not positive",
            Self::OutsideBbox => "outside the bounding box",
            Self::NotARoad => "highway value that is not a road",
        }
    }
}

/// Counts of what the import found; print it to judge the data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsmReport {
    /// Nodes read.
    pub nodes: u64,
    /// Ways read.
    pub ways: u64,
    /// Relations read.
    pub relations: u64,
    /// Buildings imported.
    pub buildings: u64,
    /// Buildings from multipolygon relations (included in `buildings`).
    pub buildings_from_relations: u64,
    /// Relations of several outer rings, kept as one building with every
    /// part (included in `buildings_from_relations`).
    pub buildings_multipart: u64,
    /// Buildings with a usable `building:levels`.
    pub with_levels: u64,
    /// Buildings with a usable `height` (some have both).
    pub with_height: u64,
    /// Buildings with neither levels nor height.
    pub with_neither: u64,
    /// `building:levels` or `height` values that could not be read.
    pub unparsed_values: u64,
    /// Buildings by use.
    pub by_use: BTreeMap<BuildingUse, u64>,
    /// Roads imported.
    pub roads: u64,
    /// Roads by class.
    pub by_class: BTreeMap<RoadClass, u64>,
    /// Places imported.
    pub places: u64,
    /// Places with a service kind.
    pub places_with_service: u64,
    /// Features not imported, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
}

impl OsmReport {
    fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }
    /// Total features skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

impl std::fmt::Display for OsmReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "read {} nodes, {} ways, {} relations",
            self.nodes, self.ways, self.relations
        )?;
        writeln!(
            f,
            "buildings: {} ({} from relations, {} of them in several parts); with levels {}, with height {}, with neither {}",
            self.buildings,
            self.buildings_from_relations,
            self.buildings_multipart,
            self.with_levels,
            self.with_height,
            self.with_neither
        )?;
        let uses: Vec<String> = self
            .by_use
            .iter()
            .map(|(u, n)| format!("{u} {n}"))
            .collect();
        writeln!(f, "  by use: {}", uses.join(", "))?;
        let classes: Vec<String> = self
            .by_class
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        writeln!(f, "roads: {} ({})", self.roads, classes.join(", "))?;
        writeln!(
            f,
            "places: {} ({} with a service)",
            self.places, self.places_with_service
        )?;
        for (reason, n) in &self.skipped {
            writeln!(f, "skipped {n}: {}", reason.describe())?;
        }
        Ok(())
    }
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct OsmImport {
    /// Buildings, roads and places.
    pub dataset: Dataset,
    /// What was found and skipped.
    pub report: OsmReport,
}

/// An import failure.
#[derive(Debug, Error)]
pub enum OsmError {
    /// The file could not be opened.
    #[error("cannot open OSM file {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PBF structure could not be decoded.
    #[error("cannot decode OSM PBF file {path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: osmpbf::Error,
    },
}

/// Maps a `building=*` value (and, for `yes`, the `building:use`, `amenity`,
/// `shop` and `office` tags) to a [`BuildingUse`].
///
/// ```
/// use geo_core::model::BuildingUse;
/// use wangge_data::osm::building_use;
/// assert_eq!(building_use("apartments", |_| None), BuildingUse::Residential);
/// assert_eq!(building_use("yes", |k| (k == "amenity").then_some("school")), BuildingUse::Education);
/// assert_eq!(building_use("yes", |_| None), BuildingUse::Other);
/// ```
pub fn building_use<'a>(building: &str, tag: impl Fn(&str) -> Option<&'a str>) -> BuildingUse {
    let from_value = |v: &str| -> Option<BuildingUse> {
        Some(match v {
            "residential" | "apartments" | "house" | "detached" | "semidetached_house"
            | "terrace" | "dormitory" | "bungalow" | "cabin" | "farm" | "houseboat"
            | "static_caravan" | "villa" => BuildingUse::Residential,
            "mixed_use" | "mixed" => BuildingUse::Mixed,
            "commercial" | "retail" | "office" | "supermarket" | "kiosk" | "hotel" | "shop"
            | "bank" | "restaurant" => BuildingUse::Commercial,
            "industrial" | "warehouse" | "factory" | "manufacture" | "storage_tank" | "hangar" => {
                BuildingUse::Industrial
            }
            "school" | "university" | "college" | "kindergarten" => BuildingUse::Education,
            "hospital" | "clinic" | "doctors" => BuildingUse::Health,
            "government" | "public" | "civic" | "townhall" | "courthouse" | "police"
            | "fire_station" => BuildingUse::Government,
            _ => return None,
        })
    };
    if let Some(u) = from_value(building) {
        // A residential building with a shop on the ground floor is mixed.
        if u == BuildingUse::Residential && tag("shop").is_some() {
            return BuildingUse::Mixed;
        }
        return u;
    }
    // `building=yes` and unknown values: look at the other tags.
    if let Some(u) = tag("building:use").and_then(from_value) {
        return u;
    }
    if let Some(u) = tag("amenity").and_then(from_value) {
        return u;
    }
    if tag("shop").is_some() || tag("office").is_some() {
        return BuildingUse::Commercial;
    }
    BuildingUse::Other
}

/// Maps a `highway=*` value to a [`RoadClass`]; `None` for values that are not
/// roads (bus stops, crossings, proposed or abandoned roads…).
///
/// ```
/// use geo_core::model::RoadClass;
/// use wangge_data::osm::road_class;
/// assert_eq!(road_class("primary_link"), Some(RoadClass::Arterial));
/// assert_eq!(road_class("steps"), Some(RoadClass::Path));
/// assert_eq!(road_class("bus_stop"), None);
/// ```
pub fn road_class(highway: &str) -> Option<RoadClass> {
    let base = highway.strip_suffix("_link").unwrap_or(highway);
    Some(match base {
        "motorway" | "trunk" | "primary" | "secondary" => RoadClass::Arterial,
        "tertiary" | "residential" | "unclassified" | "living_street" | "road" | "busway" => {
            RoadClass::Local
        }
        "service" | "alley" | "track" => RoadClass::Alley,
        "footway" | "path" | "pedestrian" | "steps" | "cycleway" | "bridleway" | "corridor" => {
            RoadClass::Path
        }
        _ => return None,
    })
}

/// Maps the tags of a point of interest to a place category and service
/// kind; `None` when the feature is not a place (no `amenity`, `shop`,
/// `leisure` or `office` tag, or a value of no interest such as a bench).
///
/// ```
/// use geo_core::model::{PlaceCategory, ServiceKind};
/// use wangge_data::osm::place_kind;
/// let tags = |k: &str| (k == "amenity").then_some("kindergarten");
/// assert_eq!(place_kind(tags), Some((PlaceCategory::Facility, Some(ServiceKind::Kindergarten))));
/// let shop = |k: &str| (k == "shop").then_some("bakery");
/// assert_eq!(place_kind(shop), Some((PlaceCategory::Poi, None)));
/// ```
pub fn place_kind<'a>(
    tag: impl Fn(&str) -> Option<&'a str>,
) -> Option<(PlaceCategory, Option<ServiceKind>)> {
    use PlaceCategory::{Facility, Poi, PublicSpace};
    if let Some(a) = tag("amenity") {
        return match a {
            "school" => Some((Facility, Some(ServiceKind::School))),
            "kindergarten" | "childcare" => Some((Facility, Some(ServiceKind::Kindergarten))),
            "clinic" | "doctors" | "dentist" => Some((Facility, Some(ServiceKind::Clinic))),
            "hospital" => Some((Facility, Some(ServiceKind::Hospital))),
            "marketplace" => Some((Facility, Some(ServiceKind::Market))),
            "social_facility" | "nursing_home" => match tag("social_facility") {
                Some("day_care") => Some((Facility, Some(ServiceKind::DayCare))),
                _ => Some((Facility, None)),
            },
            "community_centre" | "social_centre" => Some((Facility, None)),
            "townhall" | "courthouse" | "police" | "fire_station" | "post_office" => {
                Some((Facility, Some(ServiceKind::Government)))
            }
            "university" | "college" | "library" | "pharmacy" => Some((Facility, None)),
            "bench" | "waste_basket" | "bicycle_parking" | "parking_space" | "vending_machine"
            | "telephone" | "post_box" | "clock" | "waste_disposal" | "drinking_water"
            | "recycling" | "motorcycle_parking" | "parking_entrance" | "bicycle_rental"
            | "charging_station" | "atm" | "fountain" | "shelter" | "grit_bin" | "letter_box" => {
                None
            }
            _ => Some((Poi, None)),
        };
    }
    if let Some(l) = tag("leisure") {
        return match l {
            "park" | "garden" | "playground" | "pitch" | "common" | "dog_park" => {
                Some((PublicSpace, Some(ServiceKind::Park)))
            }
            "fitness_station" | "sports_centre" | "fitness_centre" => Some((Poi, None)),
            _ => None,
        };
    }
    if let Some(s) = tag("shop") {
        return match s {
            "greengrocer" | "butcher" | "seafood" => Some((Poi, Some(ServiceKind::Market))),
            "vacant" | "no" => None,
            _ => Some((Poi, None)),
        };
    }
    if let Some(o) = tag("office") {
        return match o {
            "government" => Some((Facility, Some(ServiceKind::Government))),
            _ => Some((Poi, None)),
        };
    }
    None
}

/// Reads `building:levels` (`"6"`, `"5.5"`, `"3;4"`): the first number,
/// rounded, if it is 1–250.
pub fn parse_levels(v: &str) -> Option<u16> {
    let first = v.split([';', ',', '-']).next()?.trim();
    let x: f64 = first.parse().ok()?;
    let r = x.round();
    (1.0..=250.0).contains(&r).then_some(r as u16)
}

/// Reads a `height` in metres: `"12"`, `"12.5 m"`, `"12m"`, `"40'"`,
/// `"40 ft"`, `"12,5"`. `None` unless it is in (0, 1000] m.
///
/// ```
/// use wangge_data::osm::parse_height_m;
/// assert_eq!(parse_height_m("12 m"), Some(12.0));
/// assert_eq!(parse_height_m("12.5"), Some(12.5));
/// assert_eq!(parse_height_m("100'"), Some(30.48));
/// assert_eq!(parse_height_m("tall"), None);
/// ```
pub fn parse_height_m(v: &str) -> Option<f64> {
    let t = v.trim().replace(',', ".");
    let (num, factor) = if let Some(n) = t.strip_suffix("ft").or_else(|| t.strip_suffix('\'')) {
        (n, 0.3048)
    } else if let Some(n) = t.strip_suffix("m") {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    let x: f64 = num.trim().parse().ok()?;
    let m = ((x * factor) * 100.0).round() / 100.0;
    (m > 0.0 && m <= 1000.0).then_some(m)
}

/// A tagged node kept for the second phase: ID, position, tags.
type PoiNode = (i64, Coord<f64>, Vec<(String, String)>);

/// A way kept for the second phase.
struct WayRec {
    id: i64,
    refs: Vec<i64>,
    tags: Vec<(String, String)>,
}

/// A building multipolygon relation kept for the second phase.
struct RelRec {
    id: i64,
    outer: Vec<i64>,
    inner: Vec<i64>,
    tags: Vec<(String, String)>,
}

fn get<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Tags we keep; everything else is dropped while reading.
fn wanted_tag(k: &str) -> bool {
    matches!(
        k,
        "building"
            | "building:levels"
            | "building:use"
            | "height"
            | "addr:street"
            | "addr:housenumber"
            | "highway"
            | "name"
            | "name:zh"
            | "amenity"
            | "shop"
            | "leisure"
            | "office"
            | "social_facility"
            | "type"
            | "area"
    )
}

fn keep_tags<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    it.filter(|(k, _)| wanted_tag(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn is_building(tags: &[(String, String)]) -> bool {
    get(tags, "building").is_some_and(|v| v != "no")
}

/// Node coordinates, sorted by ID for binary search (12 bytes a node).
struct NodeStore {
    ids: Vec<i64>,
    coords: Vec<(i32, i32)>,
}

impl NodeStore {
    fn finish(&mut self) {
        if !self.ids.windows(2).all(|w| w[0] < w[1]) {
            let mut pairs: Vec<(i64, (i32, i32))> = self
                .ids
                .iter()
                .copied()
                .zip(self.coords.iter().copied())
                .collect();
            pairs.sort_unstable_by_key(|p| p.0);
            pairs.dedup_by_key(|p| p.0);
            self.ids = pairs.iter().map(|p| p.0).collect();
            self.coords = pairs.iter().map(|p| p.1).collect();
        }
    }
    fn get(&self, id: i64) -> Option<Coord<f64>> {
        let i = self.ids.binary_search(&id).ok()?;
        let (lat, lon) = self.coords[i];
        Some(Coord {
            x: f64::from(lon) * 1e-7,
            y: f64::from(lat) * 1e-7,
        })
    }
    fn line(&self, refs: &[i64]) -> Option<Vec<Coord<f64>>> {
        refs.iter().map(|&r| self.get(r)).collect()
    }
}

/// Reads an OSM PBF extract into buildings, roads and places.
///
/// Never fails on a bad feature: features that cannot be built are counted in
/// [`OsmReport::skipped`] with the reason. Fails only when the file cannot be
/// read or decoded.
pub fn read_pbf(path: impl AsRef<Path>, options: &OsmOptions) -> Result<OsmImport, OsmError> {
    let path = path.as_ref();
    let open = || -> Result<ElementReader<BufReader<File>>, OsmError> {
        let f = File::open(path).map_err(|source| OsmError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ElementReader::new(BufReader::with_capacity(1 << 16, f)))
    };
    read_pbf_with(path, open, options)
}

/// [`read_pbf`] of bytes already in memory; `name` is used in messages.
pub fn read_pbf_bytes(
    name: &str,
    bytes: &[u8],
    options: &OsmOptions,
) -> Result<OsmImport, OsmError> {
    read_pbf_with(Path::new(name), || Ok(ElementReader::new(bytes)), options)
}

/// The passes of [`read_pbf`] over a source `open` opens anew for each pass.
fn read_pbf_with<R: std::io::Read + Send>(
    path: &Path,
    open: impl Fn() -> Result<ElementReader<R>, OsmError>,
    options: &OsmOptions,
) -> Result<OsmImport, OsmError> {
    let decode = |source| OsmError::Decode {
        path: path.to_path_buf(),
        source,
    };

    // Pass 1: building multipolygons and the ways they use.
    let mut member_ways: HashSet<i64> = HashSet::new();
    if options.buildings {
        open()?
            .for_each(|el| {
                if let Element::Relation(r) = el {
                    let mut mp = false;
                    let mut building = false;
                    for (k, v) in r.tags() {
                        mp |= k == "type" && v == "multipolygon";
                        building |= k == "building" && v != "no";
                    }
                    if mp && building {
                        member_ways.extend(
                            r.members()
                                .filter(|m| m.member_type == RelMemberType::Way)
                                .map(|m| m.member_id),
                        );
                    }
                }
            })
            .map_err(decode)?;
    }

    // Pass 2: nodes, wanted ways and relations.
    let mut report = OsmReport::default();
    let mut nodes = NodeStore {
        ids: Vec::new(),
        coords: Vec::new(),
    };
    let mut poi_nodes: Vec<PoiNode> = Vec::new();
    let mut ways: Vec<WayRec> = Vec::new();
    let mut member_geoms: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut rels: Vec<RelRec> = Vec::new();
    let want_poi_tags = |k: &str| matches!(k, "amenity" | "shop" | "leisure" | "office");
    open()?
        .for_each(|el| match el {
            Element::DenseNode(n) => {
                report.nodes += 1;
                nodes.ids.push(n.id());
                nodes.coords.push((n.decimicro_lat(), n.decimicro_lon()));
                if options.places && n.tags().any(|(k, _)| want_poi_tags(k)) {
                    let c = Coord {
                        x: n.lon(),
                        y: n.lat(),
                    };
                    poi_nodes.push((n.id(), c, keep_tags(n.tags())));
                }
            }
            Element::Node(n) => {
                report.nodes += 1;
                nodes.ids.push(n.id());
                nodes.coords.push((n.decimicro_lat(), n.decimicro_lon()));
                if options.places && n.tags().any(|(k, _)| want_poi_tags(k)) {
                    let c = Coord {
                        x: n.lon(),
                        y: n.lat(),
                    };
                    poi_nodes.push((n.id(), c, keep_tags(n.tags())));
                }
            }
            Element::Way(w) => {
                report.ways += 1;
                if member_ways.contains(&w.id()) {
                    member_geoms.insert(w.id(), w.refs().collect());
                }
                let interesting = w.tags().any(|(k, v)| {
                    (options.buildings && k == "building" && v != "no")
                        || (options.roads && k == "highway")
                        || (options.places && want_poi_tags(k))
                });
                if interesting {
                    ways.push(WayRec {
                        id: w.id(),
                        refs: w.refs().collect(),
                        tags: keep_tags(w.tags()),
                    });
                }
            }
            Element::Relation(r) => {
                report.relations += 1;
                if !options.buildings {
                    return;
                }
                let tags = keep_tags(r.tags());
                if get(&tags, "type") == Some("multipolygon") && is_building(&tags) {
                    let mut outer = Vec::new();
                    let mut inner = Vec::new();
                    for m in r.members() {
                        if m.member_type != RelMemberType::Way {
                            continue;
                        }
                        match m.role() {
                            Ok("inner") => inner.push(m.member_id),
                            _ => outer.push(m.member_id),
                        }
                    }
                    rels.push(RelRec {
                        id: r.id(),
                        outer,
                        inner,
                        tags,
                    });
                }
            }
        })
        .map_err(decode)?;
    nodes.finish();

    let mut ds = Dataset::default();
    let in_bbox = |g: &Geometry<f64>| match (options.bbox, g.bounding_rect()) {
        (Some(b), Some(r)) => b.intersects(&r),
        _ => true,
    };

    for w in &ways {
        let tags = &w.tags;
        if options.buildings && is_building(tags) {
            let Some(id) = osm_element_id(OsmKind::Way, w.id).and_then(|r| BuildingId::new(r).ok())
            else {
                report.skip(SkipReason::BadId);
                continue;
            };
            if w.refs.len() < 4 {
                report.skip(SkipReason::TooFewNodes);
                continue;
            }
            if w.refs.first() != w.refs.last() {
                report.skip(SkipReason::BuildingNotClosed);
                continue;
            }
            let Some(ring) = nodes.line(&w.refs) else {
                report.skip(SkipReason::MissingNodes);
                continue;
            };
            let poly = Polygon::new(LineString::new(ring), vec![]);
            if poly.unsigned_area() == 0.0 {
                report.skip(SkipReason::Degenerate);
                continue;
            }
            if !in_bbox(&Geometry::Polygon(poly.clone())) {
                report.skip(SkipReason::OutsideBbox);
                continue;
            }
            push_building(&mut ds, &mut report, id, poly.into(), tags);
            continue;
        }
        if options.roads {
            if let Some(hw) = get(tags, "highway") {
                let Some(class) = road_class(hw) else {
                    report.skip(SkipReason::NotARoad);
                    continue;
                };
                // Pedestrian squares drawn as areas are not centre lines.
                if get(tags, "area") == Some("yes") {
                    report.skip(SkipReason::NotARoad);
                    continue;
                }
                let Some(id) = osm_element_id(OsmKind::Way, w.id).and_then(|r| RoadId::new(r).ok())
                else {
                    report.skip(SkipReason::BadId);
                    continue;
                };
                if w.refs.len() < 2 {
                    report.skip(SkipReason::TooFewNodes);
                    continue;
                }
                let Some(line) = nodes.line(&w.refs) else {
                    report.skip(SkipReason::MissingNodes);
                    continue;
                };
                let line = LineString::new(line);
                if !in_bbox(&Geometry::LineString(line.clone())) {
                    report.skip(SkipReason::OutsideBbox);
                    continue;
                }
                report.roads += 1;
                *report.by_class.entry(class).or_default() += 1;
                ds.roads.push(Road {
                    id,
                    name: name_of(tags),
                    class,
                    line,
                });
                continue;
            }
        }
        if options.places && w.refs.len() >= 4 && w.refs.first() == w.refs.last() {
            let Some((category, service)) = place_kind(|k| get(tags, k)) else {
                continue;
            };
            let Some(id) = osm_element_id(OsmKind::Way, w.id).and_then(|r| PlaceId::new(r).ok())
            else {
                report.skip(SkipReason::BadId);
                continue;
            };
            let Some(ring) = nodes.line(&w.refs) else {
                report.skip(SkipReason::MissingNodes);
                continue;
            };
            let geometry = Geometry::Polygon(
                Polygon::new(LineString::new(ring), vec![]).orient(Direction::Default),
            );
            if !in_bbox(&geometry) {
                report.skip(SkipReason::OutsideBbox);
                continue;
            }
            push_place(&mut ds, &mut report, id, category, service, geometry, tags);
        }
    }

    for r in &rels {
        let Some(id) =
            osm_element_id(OsmKind::Relation, r.id).and_then(|x| BuildingId::new(x).ok())
        else {
            report.skip(SkipReason::BadId);
            continue;
        };
        let ways_of = |ids: &[i64]| -> Option<Vec<Vec<Coord<f64>>>> {
            ids.iter()
                .map(|w| member_geoms.get(w).and_then(|refs| nodes.line(refs)))
                .collect()
        };
        let (Some(outer), Some(inner)) = (ways_of(&r.outer), ways_of(&r.inner)) else {
            report.skip(SkipReason::MissingNodes);
            continue;
        };
        let (Some(outers), Some(inners)) = (assemble_rings(outer), assemble_rings(inner)) else {
            report.skip(SkipReason::UnclosedMultipolygon);
            continue;
        };
        let mut outers: Vec<LineString<f64>> = outers.into_iter().map(LineString::new).collect();
        outers.sort_by(|a, b| {
            let area = |l: &LineString<f64>| Polygon::new(l.clone(), vec![]).unsigned_area();
            area(b).total_cmp(&area(a))
        });
        if outers.is_empty() {
            report.skip(SkipReason::UnclosedMultipolygon);
            continue;
        }
        // Every outer ring is a part, with the inner rings that lie in it.
        let mut inners: Vec<Option<LineString<f64>>> = inners
            .into_iter()
            .map(|r| Some(LineString::new(r)))
            .collect();
        let parts: Vec<Polygon<f64>> = outers
            .into_iter()
            .map(|outer| {
                let shell = Polygon::new(outer.clone(), vec![]);
                let holes = inners
                    .iter_mut()
                    .filter(|h| {
                        h.as_ref()
                            .is_some_and(|h| shell.contains(&Polygon::new(h.clone(), vec![])))
                    })
                    .filter_map(Option::take)
                    .collect();
                Polygon::new(outer, holes)
            })
            .filter(|p| p.unsigned_area() > 0.0)
            .collect();
        if parts.is_empty() {
            report.skip(SkipReason::Degenerate);
            continue;
        }
        let footprint = MultiPolygon(parts);
        if !in_bbox(&Geometry::MultiPolygon(footprint.clone())) {
            report.skip(SkipReason::OutsideBbox);
            continue;
        }
        report.buildings_multipart += u64::from(footprint.0.len() > 1);
        report.buildings_from_relations += 1;
        push_building(&mut ds, &mut report, id, footprint, &r.tags);
    }

    for (nid, c, tags) in &poi_nodes {
        let Some((category, service)) = place_kind(|k| get(tags, k)) else {
            continue;
        };
        let Some(id) = osm_element_id(OsmKind::Node, *nid).and_then(|r| PlaceId::new(r).ok())
        else {
            report.skip(SkipReason::BadId);
            continue;
        };
        let geometry = Geometry::Point(Point(*c));
        if !in_bbox(&geometry) {
            report.skip(SkipReason::OutsideBbox);
            continue;
        }
        push_place(&mut ds, &mut report, id, category, service, geometry, tags);
    }

    Ok(OsmImport {
        dataset: ds,
        report,
    })
}

fn name_of(tags: &[(String, String)]) -> Option<String> {
    get(tags, "name:zh")
        .or_else(|| get(tags, "name"))
        .map(str::to_string)
}

fn push_place(
    ds: &mut Dataset,
    report: &mut OsmReport,
    id: PlaceId,
    category: PlaceCategory,
    service: Option<ServiceKind>,
    geometry: Geometry<f64>,
    tags: &[(String, String)],
) {
    report.places += 1;
    if service.is_some() {
        report.places_with_service += 1;
    }
    let name = name_of(tags).unwrap_or_else(|| {
        ["amenity", "shop", "leisure", "office"]
            .iter()
            .find_map(|k| get(tags, k))
            .unwrap_or("place")
            .replace('_', " ")
    });
    ds.places.push(Place {
        id,
        name,
        category,
        service,
        geometry,
    });
}

fn push_building(
    ds: &mut Dataset,
    report: &mut OsmReport,
    id: BuildingId,
    footprint: MultiPolygon<f64>,
    tags: &[(String, String)],
) {
    let levels_raw = get(tags, "building:levels");
    let height_raw = get(tags, "height");
    let levels = levels_raw.and_then(parse_levels);
    let height = height_raw.and_then(parse_height_m);
    report.unparsed_values += u64::from(levels_raw.is_some() && levels.is_none())
        + u64::from(height_raw.is_some() && height.is_none());
    report.with_levels += u64::from(levels.is_some());
    report.with_height += u64::from(height.is_some());
    report.with_neither += u64::from(levels.is_none() && height.is_none());
    let usage = building_use(get(tags, "building").unwrap_or("yes"), |k| get(tags, k));
    *report.by_use.entry(usage).or_default() += 1;
    report.buildings += 1;
    let address = match (get(tags, "addr:street"), get(tags, "addr:housenumber")) {
        (Some(s), Some(n)) => Some(format!("{n} {s}")),
        (Some(s), None) => Some(s.to_string()),
        (None, Some(n)) => Some(n.to_string()),
        (None, None) => None,
    };
    ds.buildings.push(Building {
        id,
        compound: None,
        // Exterior counter-clockwise, holes clockwise (RFC 7946, and what
        // geodesic areas expect).
        footprint: footprint.orient(Direction::Default),
        levels,
        height_m: height.map(|h| h as f32),
        usage,
        units: 0,
        households: 0,
        households_estimated: false,
        address,
    });
}

/// Joins way pieces into closed rings by matching end points (reversing
/// pieces as needed). `None` when some piece cannot be closed.
fn assemble_rings(mut pieces: Vec<Vec<Coord<f64>>>) -> Option<Vec<Vec<Coord<f64>>>> {
    let mut rings = Vec::new();
    pieces.retain(|p| !p.is_empty());
    while let Some(mut cur) = pieces.pop() {
        loop {
            let (first, last) = (*cur.first()?, *cur.last()?);
            if cur.len() >= 4 && first == last {
                rings.push(cur);
                break;
            }
            let pos = pieces
                .iter()
                .position(|p| p.first() == Some(&last) || p.last() == Some(&last))?;
            let mut next = pieces.swap_remove(pos);
            if next.first() != Some(&last) {
                next.reverse();
            }
            cur.extend(next.into_iter().skip(1));
        }
    }
    Some(rings)
}

/// The label of an element kind, for messages.
impl std::fmt::Display for OsmKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn heights_and_levels() {
        assert_eq!(parse_height_m("12m"), Some(12.0));
        assert_eq!(parse_height_m("12,5 m"), Some(12.5));
        assert_eq!(parse_height_m("40 ft"), Some(12.19));
        assert_eq!(parse_height_m("-3"), None);
        assert_eq!(parse_levels("6"), Some(6));
        assert_eq!(parse_levels("3;4"), Some(3));
        assert_eq!(parse_levels("2.5"), Some(3));
        assert_eq!(parse_levels("0"), None);
        assert_eq!(parse_levels("many"), None);
    }

    #[test]
    fn uses() {
        let none = |_: &str| None;
        assert_eq!(building_use("house", none), BuildingUse::Residential);
        assert_eq!(building_use("retail", none), BuildingUse::Commercial);
        assert_eq!(building_use("warehouse", none), BuildingUse::Industrial);
        assert_eq!(building_use("university", none), BuildingUse::Education);
        assert_eq!(building_use("hospital", none), BuildingUse::Health);
        let shop = |k: &str| (k == "shop").then_some("bakery");
        assert_eq!(building_use("apartments", shop), BuildingUse::Mixed);
        assert_eq!(building_use("yes", shop), BuildingUse::Commercial);
    }

    #[test]
    fn ids_are_disjoint() {
        let n = osm_element_id(OsmKind::Node, 7).unwrap();
        let w = osm_element_id(OsmKind::Way, 7).unwrap();
        let r = osm_element_id(OsmKind::Relation, 7).unwrap();
        assert!(n != w && w != r && n != r);
        assert!(r < 1 << 53);
        assert_eq!(osm_element_id(OsmKind::Relation, 0), None);
    }

    #[test]
    fn rings_assemble_from_pieces() {
        let c = |x: f64, y: f64| Coord { x, y };
        let a = vec![c(0.0, 0.0), c(1.0, 0.0), c(1.0, 1.0)];
        let b = vec![c(0.0, 0.0), c(0.0, 1.0), c(1.0, 1.0)]; // reversed direction
        let rings = assemble_rings(vec![a, b]).unwrap();
        assert_eq!(rings.len(), 1);
        assert_eq!(rings[0].len(), 5);
        assert_eq!(rings[0].first(), rings[0].last());
        let open = vec![c(0.0, 0.0), c(1.0, 0.0), c(2.0, 2.0)];
        assert!(assemble_rings(vec![open]).is_none());
    }
}
