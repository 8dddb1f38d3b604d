//! Errors of the re-gridding recommender.

use geo_core::ids::UnitId;
use thiserror::Error;

/// Why a re-gridding run, or one of its exports, could not be done. Bound
/// violations that the data forces are not errors: they are reported as
/// [`Diagnostic`](super::Diagnostic)s in the proposal.
#[derive(Debug, Error)]
pub enum RegridError {
    /// A parameter is outside its domain.
    #[error("invalid parameter {field} = {value}: {reason}")]
    Param {
        /// Parameter name.
        field: &'static str,
        /// The value given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The input holds no unit to re-grid.
    #[error("nothing to re-grid: the input has no unit outside dedicated grids")]
    Empty,
    /// Two units share one ID.
    #[error("unit {unit} appears more than once in the input")]
    DuplicateUnit {
        /// The repeated ID.
        unit: UnitId,
    },
    /// A unit's point is not a finite coordinate.
    #[error("unit {unit} has a non-finite point ({x}, {y})")]
    BadPoint {
        /// The unit.
        unit: UnitId,
        /// Longitude given.
        x: f64,
        /// Latitude given.
        y: f64,
    },
    /// The Delaunay triangulation of unit points failed.
    #[error("triangulating {points} unit points failed: {reason}")]
    Triangulation {
        /// Number of distinct points.
        points: usize,
        /// Message of the triangulator.
        reason: String,
    },
    /// The run was cancelled ([`Stop`](super::Stop)) before it finished.
    #[error("the run was cancelled")]
    Cancelled,
    /// The run used up its time budget ([`Stop`](super::Stop)) and stopped.
    #[error("the run was stopped after its time budget of {budget_s} s")]
    OutOfTime {
        /// The budget, seconds.
        budget_s: f64,
    },
    /// Writing the xlsx report failed.
    #[error("writing xlsx report {path}: {source}")]
    Xlsx {
        /// Target file.
        path: String,
        /// Underlying error.
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
}
