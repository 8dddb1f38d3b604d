//! HTTP routes, one file per area.

pub mod analytics;
pub mod api;
pub mod events;
pub mod households;
pub mod imports;
pub mod inbox;
pub mod ogc;
pub mod open311;
pub mod pages;
pub mod regrid;
pub mod tiles;
