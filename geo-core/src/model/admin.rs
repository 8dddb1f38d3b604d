//! 格进图: the administrative hierarchy of a town and its grids.

use geo_types::{MultiPolygon, Point};
use serde::{Deserialize, Serialize};

use crate::ids::{CommunityId, DivisionCode, GridCode, GridId};
use crate::vocab;

/// A town or sub-district (街道/乡镇), the top of what the engine manages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Town {
    /// Division code (the 9-digit town code padded with `000`).
    pub code: DivisionCode,
    /// Name, e.g. `城关镇`.
    pub name: String,
    /// Representative point (map centre).
    pub centre: Point<f64>,
}

/// A community or village (社区/村).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Community {
    /// Identifier.
    pub id: CommunityId,
    /// 12-digit division code.
    pub code: DivisionCode,
    /// Name, e.g. `武汉路社区`.
    pub name: String,
    /// True for a village (村), false for an urban community (社区).
    pub is_village: bool,
    /// Boundary.
    pub boundary: MultiPolygon<f64>,
}

vocab!(
    /// The kind of a grid.
    GridKind, "grid kind" {
        /// 综合网格: 300–500 households, tiles a community.
        Comprehensive => "comprehensive" ("综合网格", "Comprehensive"),
        /// 微网格: 30–100 households, nests inside a comprehensive grid.
        Micro => "micro" ("微网格", "Micro"),
        /// 专属网格: a school, hospital, market, park…; overlays the others.
        Dedicated => "dedicated" ("专属网格", "Dedicated"),
    }
);

vocab!(
    /// The role of a person assigned to a grid.
    WorkerRole, "worker role" {
        /// 网格员.
        GridWorker => "grid_worker" ("网格员", "Grid worker"),
        /// 网格长.
        GridLeader => "grid_leader" ("网格长", "Grid leader"),
        /// 邻长 / 楼栋长.
        NeighbourhoodHead => "neighbourhood_head" ("邻长", "Neighbourhood head"),
    }
);

/// Someone assigned to a grid. Workers are public-facing staff: their name is
/// shown to roles that may see the grid; their phone is masked like any other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    /// Name.
    pub name: String,
    /// Role.
    pub role: WorkerRole,
    /// Full-time (专职) or part-time (兼职).
    pub full_time: bool,
}

/// A grid of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Identifier.
    pub id: GridId,
    /// Unified grid code.
    pub code: GridCode,
    /// Display name, e.g. `第3网格` or `实验小学专属网格`.
    pub name: String,
    /// Kind.
    pub kind: GridKind,
    /// The community it belongs to.
    pub community: Option<CommunityId>,
    /// For micro-grids: the comprehensive grid it nests in.
    pub parent: Option<GridId>,
    /// Boundary (WGS84).
    pub boundary: MultiPolygon<f64>,
    /// Assigned workers.
    pub workers: Vec<Worker>,
}
