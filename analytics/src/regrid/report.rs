//! The proposal: grids with their loads, shapes and shape measures, and the
//! report comparing them with today's grids.

use std::collections::HashMap;
use std::hash::Hash;

use geo_core::ids::{GridId, UnitId};
use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

use super::{BarrierKind, Parent};

/// Something the planner must know: a rule the data made impossible, a
/// barrier crossed, a unit too big. Never a silent violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Diagnostic {
    /// A unit holds more households than `max`.
    OversizedUnit {
        /// The unit.
        unit: UnitId,
        /// Its households.
        households: u32,
        /// The maximum per grid.
        max: u32,
        /// Grids made of it (1 = kept whole).
        split_into: u32,
        /// Explanation.
        message: String,
    },
    /// A part was joined with its neighbours across a barrier because the
    /// bounds could not be met inside it.
    CrossedBarrier {
        /// Barrier crossed.
        barrier: BarrierKind,
        /// Households of the part.
        households: u64,
        /// Households of the part it was joined with.
        with_households: u64,
        /// A unit of the part.
        sample_unit: UnitId,
        /// Explanation.
        message: String,
    },
    /// A part whose households cannot form grids within the bounds: the
    /// only reason (besides [`Diagnostic::OversizedUnit`]) a grid may lie
    /// outside them.
    Infeasible {
        /// Code hints of the grids made of the part.
        #[serde(default)]
        grids: Vec<String>,
        /// Units in the part.
        units: usize,
        /// Households in the part.
        households: u64,
        /// Up to ten of its units.
        sample_units: Vec<UnitId>,
        /// Minimum per grid.
        min: u32,
        /// Maximum per grid.
        max: u32,
        /// Explanation.
        message: String,
    },
    /// `Count(n)` could not be met.
    CountAdjusted {
        /// Grids asked for.
        requested: usize,
        /// Grids made.
        made: usize,
        /// Explanation.
        message: String,
    },
    /// A grid of a part the diagnostics call feasible left outside the
    /// bounds after the search: a shortcoming of the search, never expected.
    BoundsNotMet {
        /// Code hint of the grid.
        grid: String,
        /// Its households.
        households: u64,
        /// Explanation.
        message: String,
    },
    /// Units of a dedicated grid, left alone.
    DedicatedLeftAlone {
        /// The dedicated grid.
        grid: GridId,
        /// Units it holds.
        units: usize,
    },
}

/// A floor range of a unit split because it exceeds `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorPart {
    /// 1-based part.
    pub part: u32,
    /// Number of parts.
    pub parts: u32,
    /// First floor of the part (when the unit's floors are known).
    pub first_floor: Option<u16>,
    /// Last floor of the part.
    pub last_floor: Option<u16>,
}

/// One proposed grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedGrid {
    /// Suggested code suffix/name, e.g. `P1200-003` (parent, sequence).
    pub code_hint: String,
    /// The container it nests in.
    pub parent: Option<Parent>,
    /// Its units.
    pub units: Vec<UnitId>,
    /// Set when the grid is a floor range of one unit.
    pub floor_part: Option<FloorPart>,
    /// Today's grid it mostly replaces (one-to-one, by shared households).
    pub replaces: Option<GridId>,
    /// Households.
    pub households: u64,
    /// Residents.
    pub residents: u64,
    /// Residents aged 60+.
    pub elderly: u64,
    /// Key people.
    pub key_people: u64,
    /// Events of the last 12 months.
    pub events_12m: u64,
    /// Workload index.
    pub workload: f64,
    /// Area (m²).
    pub area_m2: f64,
    /// Shape: dissolved Voronoi cells of its units clipped to the boundary
    /// (WGS84); the grids of a proposal tile the area.
    pub polygon: MultiPolygon<f64>,
    /// 4πA/P², 1 for a circle.
    pub polsby_popper: f64,
    /// Area over convex-hull area, 1 for a convex shape.
    pub convex_hull_ratio: f64,
}

/// Grids over and under the bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadCounts {
    /// Grids.
    pub grids: usize,
    /// Grids with more than `max` households.
    pub over: usize,
    /// Grids with fewer than `min` households.
    pub under: usize,
}

/// How the proposal compares with the bounds and with today.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegridReport {
    /// Today's grids (units with a current grid).
    pub before: LoadCounts,
    /// The proposal.
    pub after: LoadCounts,
    /// Proposed grids outside the bounds (= `after.over + after.under`).
    pub violations: usize,
    /// Of them, grids in a part the diagnostics call feasible (neither
    /// [`Diagnostic::Infeasible`] nor [`Diagnostic::OversizedUnit`]): must
    /// be 0; each has a [`Diagnostic::BoundsNotMet`].
    #[serde(default)]
    pub violations_where_feasible: usize,
    /// Adjacency edges between different proposed grids.
    pub cut_edges: usize,
    /// Compounds whose units fall in more than one grid.
    pub compounds_split: usize,
    /// Households whose grid is not the one replacing their current grid.
    pub households_moved: u64,
    /// Adjusted Rand index of the proposal against today (units with a
    /// current grid; 1 = identical partition).
    pub adjusted_rand_index: Option<f64>,
    /// Wall time of the run (ms).
    pub runtime_ms: u64,
    /// Seed used.
    pub seed: u64,
    /// Everything the planner must know.
    pub diagnostics: Vec<Diagnostic>,
}

/// The result of [`regrid`](super::regrid).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Proposed grids.
    pub grids: Vec<ProposedGrid>,
    /// Units of dedicated grids, left alone.
    pub dedicated: Vec<(GridId, Vec<UnitId>)>,
    /// Report.
    pub report: RegridReport,
}

fn choose2(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// Adjusted Rand index of two labelings of the same items (Hubert & Arabie).
/// Returns 1 when both put all items together or apart identically.
///
/// ```
/// use analytics::regrid::adjusted_rand_index;
/// assert_eq!(adjusted_rand_index(&[1, 1, 2, 2], &[7, 7, 9, 9]), 1.0);
/// assert!(adjusted_rand_index(&[1, 1, 2, 2], &[1, 2, 1, 2]) < 0.0);
/// ```
pub fn adjusted_rand_index<A: Eq + Hash, B: Eq + Hash>(a: &[A], b: &[B]) -> f64 {
    let n = a.len().min(b.len()) as u64;
    if n < 2 {
        return 1.0;
    }
    let mut cells: HashMap<(&A, &B), u64> = HashMap::new();
    let mut ra: HashMap<&A, u64> = HashMap::new();
    let mut rb: HashMap<&B, u64> = HashMap::new();
    for (x, y) in a.iter().zip(b) {
        *cells.entry((x, y)).or_default() += 1;
        *ra.entry(x).or_default() += 1;
        *rb.entry(y).or_default() += 1;
    }
    let index: f64 = cells.values().map(|&c| choose2(c)).sum();
    let sa: f64 = ra.values().map(|&c| choose2(c)).sum();
    let sb: f64 = rb.values().map(|&c| choose2(c)).sum();
    let expected = sa * sb / choose2(n);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < 1e-12 {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_known_values() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1, 2], &[5, 5, 6, 6, 7]), 1.0);
        // sklearn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((v - 0.571_428_571_4).abs() < 1e-9, "{v}");
    }
}
