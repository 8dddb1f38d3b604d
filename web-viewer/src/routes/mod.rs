//! HTTP routes, one file per area.

pub mod api;
pub mod pages;
pub mod tiles;
