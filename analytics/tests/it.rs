//! Integration tests of the analytics crate: one binary, one module per area.

#[path = "it/events.rs"]
mod events;
#[path = "it/hotspots.rs"]
mod hotspots;
#[path = "it/regrid.rs"]
mod regrid;
