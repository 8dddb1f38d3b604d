//! Buildings from a tiled vector export (GeoJSON of Tilezen/Nextzen-style
//! features, as in `shanghai-lujiazui-buildings.geojson`), where one OSM
//! building is cut into several pieces at tile edges and every piece repeats
//! the building's `id` (the OSM way ID, or minus the relation ID).
//!
//! [`merge_by_id`] groups the pieces by `id`, unions their polygons with
//! `geo`'s boolean operations and returns one [`Building`] per OSM building.
//! Features of kind `building_part` (3D parts of a building whose outline is
//! already there) and point features (`address`, `entrance`, label points)
//! are counted, not imported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use geo::orient::{Direction, Orient};
use geo::unary_union;
use geo_core::ids::BuildingId;
use geo_core::model::Building;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde::Deserialize;
use thiserror::Error;

use crate::osm::{building_use, osm_element_id, OsmKind};

/// A merge failure.
#[derive(Debug, Error)]
pub enum MergeError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a GeoJSON FeatureCollection.
    #[error("{path}: not a GeoJSON FeatureCollection: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A feature has no usable `id`.
    #[error("{path}: feature {index} has no non-zero integer `id` property (found {value})")]
    Id {
        /// The file.
        path: PathBuf,
        /// 0-based index of the feature.
        index: usize,
        /// What was found.
        value: String,
    },
}

/// What [`merge_by_id`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeReport {
    /// Features read.
    pub features: u64,
    /// Polygon pieces of buildings read.
    pub pieces: u64,
    /// Distinct `id`s in the file.
    pub distinct_ids: u64,
    /// Buildings produced (one per `id` with building polygons).
    pub buildings: u64,
    /// Buildings made of more than one piece.
    pub merged: u64,
    /// Buildings whose union stayed in several parts: kept with every part.
    pub multipart: u64,
    /// `id`s with only points (addresses, entrances, labels).
    pub point_only_ids: u64,
    /// `id`s with only `building_part` pieces.
    pub part_only_ids: u64,
}

#[derive(Deserialize)]
struct Fc {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    geometry: Option<Geom>,
    #[serde(default)]
    properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Geom {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    coordinates: serde_json::Value,
}

type Rings = Vec<Vec<[f64; 2]>>;

/// The polygons of a Polygon or MultiPolygon geometry; nothing for others.
fn polygons(g: &Geom) -> Vec<Polygon<f64>> {
    match g.kind.as_str() {
        "Polygon" => serde_json::from_value::<Rings>(g.coordinates.clone())
            .ok()
            .and_then(|r| polygon(&r))
            .into_iter()
            .collect(),
        "MultiPolygon" => serde_json::from_value::<Vec<Rings>>(g.coordinates.clone())
            .map(|ps| ps.iter().filter_map(|r| polygon(r)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn polygon(rings: &[Vec<[f64; 2]>]) -> Option<Polygon<f64>> {
    let ring = |r: &Vec<[f64; 2]>| {
        LineString::new(r.iter().map(|&[x, y]| Coord { x, y }).collect::<Vec<_>>())
    };
    let (ext, holes) = rings.split_first()?;
    Some(Polygon::new(ring(ext), holes.iter().map(ring).collect()))
}

struct Group {
    pieces: Vec<Polygon<f64>>,
    props: serde_json::Map<String, serde_json::Value>,
    building: bool,
    part: bool,
}

/// Reads the file and merges building pieces by `id`; see the module doc.
pub fn merge_by_id(path: impl AsRef<Path>) -> Result<(Vec<Building>, MergeReport), MergeError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| MergeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let fc: Fc = serde_json::from_str(&text).map_err(|e| MergeError::Json {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut report = MergeReport {
        features: fc.features.len() as u64,
        ..MergeReport::default()
    };
    let mut groups: BTreeMap<i64, Group> = BTreeMap::new();
    for (index, f) in fc.features.into_iter().enumerate() {
        let id_value = f.properties.get("id");
        let Some(id) = id_value
            .and_then(serde_json::Value::as_i64)
            .filter(|&i| i != 0)
        else {
            return Err(MergeError::Id {
                path: path.to_path_buf(),
                index,
                value: id_value.map_or("nothing".into(), ToString::to_string),
            });
        };
        let kind = f
            .properties
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("");
        let (building, part) = (kind == "building", kind == "building_part");
        let g = groups.entry(id).or_insert_with(|| Group {
            pieces: Vec::new(),
            props: serde_json::Map::new(),
            building: false,
            part: false,
        });
        let polys = f.geometry.as_ref().map(polygons).unwrap_or_default();
        if building && !polys.is_empty() {
            report.pieces += polys.len() as u64;
            g.pieces.extend(polys);
            g.building = true;
            // Keep the richest property set (pieces repeat them, some trimmed).
            if f.properties.len() > g.props.len() {
                g.props = f.properties;
            }
        } else if part && !polys.is_empty() {
            g.part = true;
        }
    }
    report.distinct_ids = groups.len() as u64;
    let mut out = Vec::new();
    for (id, g) in groups {
        if !g.building {
            if g.part {
                report.part_only_ids += 1;
            } else {
                report.point_only_ids += 1;
            }
            continue;
        }
        // Tilezen writes relations as negative IDs (and some as `osm_relation`).
        let relation =
            id < 0 || g.props.get("osm_relation").and_then(|v| v.as_bool()) == Some(true);
        let kind = if relation {
            OsmKind::Relation
        } else {
            OsmKind::Way
        };
        let Some(bid) = osm_element_id(kind, id.abs()).and_then(|i| BuildingId::new(i).ok()) else {
            continue;
        };
        let footprint = if g.pieces.len() == 1 {
            MultiPolygon(g.pieces)
        } else {
            report.merged += 1;
            let union = unary_union(&g.pieces);
            if union.0.len() > 1 {
                report.multipart += 1;
            }
            union
        };
        let footprint = (!footprint.0.is_empty()).then_some(footprint);
        let Some(footprint) = footprint else {
            continue;
        };
        let s = |k: &str| g.props.get(k).and_then(|v| v.as_str());
        let detail = s("kind_detail").unwrap_or("yes");
        let usage = building_use(detail, |_| None);
        let height_m = g
            .props
            .get("height")
            .and_then(serde_json::Value::as_f64)
            .filter(|h| *h > 0.0)
            .map(|h| h as f32);
        let address = match (s("addr_street"), s("addr_housenumber")) {
            (Some(st), Some(n)) => Some(format!("{st}{n}号")),
            (Some(st), None) => Some(st.to_string()),
            _ => None,
        };
        out.push(Building {
            id: bid,
            compound: None,
            footprint: footprint.orient(Direction::Default),
            levels: None,
            height_m,
            usage,
            units: 0,
            households: 0,
            households_estimated: false,
            address,
        });
    }
    report.buildings = out.len() as u64;
    Ok((out, report))
}
