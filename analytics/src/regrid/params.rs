//! Parameters of a re-gridding run.

use geo_core::model::GridKind;
use serde::{Deserialize, Serialize};

use super::RegridError;

/// How many grids to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "n")]
pub enum Mode {
    /// As many grids as the household bounds allow.
    Max,
    /// Exactly this many grids in total (adjusted, with a diagnostic, when
    /// the bounds make it impossible).
    Count(usize),
    /// Keep today's grids where they meet the bounds; move as few households
    /// as possible to repair the others.
    MinimalChange,
}

/// Weights of the soft objectives. All are relative; zero switches one off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Compactness and following walls/roads: cost per cut adjacency edge
    /// (an edge whose two units land in different grids). Edges along a
    /// barrier cost `barrier_cut_factor` of it, edges inside one compound
    /// `compound_cut_factor` of it.
    pub compactness: f64,
    /// Multiplier of a cut edge that runs across a road, river or wall.
    pub barrier_cut_factor: f64,
    /// Multiplier of a cut edge between two units of the same compound.
    pub compound_cut_factor: f64,
    /// Workload balance: cost of the squared relative deviation of a grid's
    /// workload from the mean, per grid.
    pub balance: f64,
    /// Minimal-change mode: cost per household moved away from its grid.
    pub moved_household: f64,
    /// Workload index: weight of one household.
    pub workload_household: f64,
    /// Workload index: weight of one elderly resident (60+).
    pub workload_elderly: f64,
    /// Workload index: weight of one key person.
    pub workload_key_person: f64,
    /// Workload index: weight of one event of the last 12 months.
    pub workload_event: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            compactness: 1.0,
            barrier_cut_factor: 0.2,
            compound_cut_factor: 3.0,
            balance: 20.0,
            moved_household: 0.5,
            workload_household: 1.0,
            workload_elderly: 0.5,
            workload_key_person: 3.0,
            workload_event: 0.2,
        }
    }
}

/// Parameters of [`regrid`](super::regrid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegridParams {
    /// Level of the grids made: [`GridKind::Micro`] (partitioned inside each
    /// comprehensive parent) or [`GridKind::Comprehensive`] (inside each
    /// community).
    pub level: GridKind,
    /// Fewest households per grid.
    pub min: u32,
    /// Most households per grid.
    pub max: u32,
    /// How many grids.
    pub mode: Mode,
    /// Seed: the same input, parameters and seed give the same proposal.
    pub seed: u64,
    /// Split a unit bigger than `max` into floor ranges instead of keeping it
    /// whole as one over-loaded grid.
    pub allow_floor_split: bool,
    /// Soft objective weights.
    pub weights: Weights,
    /// Units farther apart than this are not neighbours (metres).
    pub max_link_m: f64,
    /// Local-search moves tried per unit (speed/quality trade-off).
    pub moves_per_unit: u32,
}

impl RegridParams {
    /// Micro-grids of `min..=max` households (e.g. 30–80), `Max` mode.
    pub fn micro(min: u32, max: u32) -> Self {
        Self::new(GridKind::Micro, min, max)
    }

    /// Comprehensive grids of `min..=max` households (e.g. 300–500), `Max` mode.
    pub fn comprehensive(min: u32, max: u32) -> Self {
        Self::new(GridKind::Comprehensive, min, max)
    }

    fn new(level: GridKind, min: u32, max: u32) -> Self {
        Self {
            level,
            min,
            max,
            mode: Mode::Max,
            seed: 1,
            allow_floor_split: false,
            weights: Weights::default(),
            max_link_m: 300.0,
            moves_per_unit: 30,
        }
    }

    /// Sets the mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), RegridError> {
        let bad = |field, value: String, reason| {
            Err(RegridError::Param {
                field,
                value,
                reason,
            })
        };
        if self.level == GridKind::Dedicated {
            return bad(
                "level",
                "dedicated".into(),
                "dedicated grids are drawn by hand and never re-gridded",
            );
        }
        if self.min == 0 {
            return bad("min", "0".into(), "a grid needs at least one household");
        }
        if self.max < self.min {
            return bad("max", self.max.to_string(), "must be at least min");
        }
        if self.mode == Mode::Count(0) {
            return bad("mode", "count(0)".into(), "at least one grid is needed");
        }
        if !(self.max_link_m.is_finite() && self.max_link_m > 0.0) {
            return bad(
                "max_link_m",
                self.max_link_m.to_string(),
                "must be a positive distance in metres",
            );
        }
        let w = &self.weights;
        for (field, v) in [
            ("weights.compactness", w.compactness),
            ("weights.barrier_cut_factor", w.barrier_cut_factor),
            ("weights.compound_cut_factor", w.compound_cut_factor),
            ("weights.balance", w.balance),
            ("weights.moved_household", w.moved_household),
            ("weights.workload_household", w.workload_household),
            ("weights.workload_elderly", w.workload_elderly),
            ("weights.workload_key_person", w.workload_key_person),
            ("weights.workload_event", w.workload_event),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(field, v.to_string(), "weights are finite and not negative");
            }
        }
        Ok(())
    }
}
