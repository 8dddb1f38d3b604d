//! Read scope: which part of the town a read may see. Every read of the
//! repository takes one, so role- and grid-based access is enforced here.

use std::collections::BTreeSet;

use crate::ids::GridId;

/// What a read may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole town (leaders, planners, big screens).
    Town,
    /// Only elements assigned to one of these grids (any level), e.g. a grid
    /// worker's own grids.
    Grids(BTreeSet<GridId>),
}

impl Scope {
    /// SQL condition over the four reference columns of an element table, or
    /// `TRUE` for the whole town. Grid IDs are integers, so the text is safe.
    pub(crate) fn sql(&self) -> String {
        match self {
            Scope::Town => "TRUE".to_string(),
            Scope::Grids(ids) if ids.is_empty() => "FALSE".to_string(),
            Scope::Grids(ids) => {
                let list: Vec<String> = ids.iter().map(|g| g.get().to_string()).collect();
                let list = list.join(",");
                format!("(comprehensive IN ({list}) OR micro IN ({list}) OR dedicated IN ({list}))")
            }
        }
    }

    /// True when an element with these references is visible.
    pub fn allows(&self, refs: &crate::model::GridRefs) -> bool {
        match self {
            Scope::Town => true,
            Scope::Grids(ids) => [refs.comprehensive, refs.micro, refs.dedicated]
                .into_iter()
                .flatten()
                .any(|g| ids.contains(&g)),
        }
    }
}
