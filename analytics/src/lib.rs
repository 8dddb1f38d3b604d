//! # analytics
//!
//! The computing side of Wangge, with no I/O beyond reading a rules file and
//! writing tables: the event-loop rules (dispatch, time limits, escalation,
//! duplicate merging), per-grid governance indicators, emerging-hotspot
//! detection (未诉先办) and the 15-minute life circle. Every function is
//! synchronous and deterministic; callers pass slices of `geo_core` model
//! types plus their grid assignments.

#![forbid(unsafe_code)]

pub mod coverage;
pub mod events;
pub mod hotspots;
pub mod indicators;
pub mod regrid;
pub mod table;
