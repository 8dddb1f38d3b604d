//! The chain 人进户、户进房、房进格、格进图: the grids of each level that
//! contain an element, stored with it and recomputed when grids change.

use serde::{Deserialize, Serialize};

use crate::ids::{CommunityId, GridId};

/// The grids containing one element, one per level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GridRefs {
    /// Community.
    pub community: Option<CommunityId>,
    /// Comprehensive grid.
    pub comprehensive: Option<GridId>,
    /// Micro-grid.
    pub micro: Option<GridId>,
    /// Dedicated grid (overlay), if any.
    pub dedicated: Option<GridId>,
}

impl GridRefs {
    /// True when the element lies in no grid of any level.
    pub fn is_unassigned(&self) -> bool {
        self.community.is_none() && self.comprehensive.is_none() && self.micro.is_none()
    }
}
