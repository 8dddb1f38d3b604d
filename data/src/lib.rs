//! # wangge-data
//!
//! Data for Wangge that does not come from the store: the demo-town
//! generator and the onboarding of real data.
//!
//! [`demo`] generates a complete, linked demo town (or community, district,
//! province) deterministically from a seed, streaming it batch by batch.
//!
//! Real-data onboarding:
//! - [`osm`] reads an OpenStreetMap PBF extract into buildings, roads and
//!   places of a [`geo_core::Dataset`];
//! - [`estimate`] estimates households and units of buildings from their
//!   footprint, levels or height, for data that has no household register,
//!   and makes the default units of buildings with households but no units
//!   ([`estimate::default_units`]);
//! - [`shp`] reads an ESRI Shapefile (`.shp` + `.dbf` + `.prj` + `.cpg`, or
//!   a `.zip` of them; DBF in GBK or UTF-8) into the GeoJSON the element
//!   import reads;
//! - [`excel`] reads one sheet of an Excel register (`.xlsx`/`.xls`: merged
//!   cells, header row detection, dates) into the CSV the element import reads;
//! - [`incidents`] imports a foreign incident CSV (gzip or not, UTF-8 or GBK)
//!   into events, mapping its categories onto the taxonomy with a TOML map.

#![forbid(unsafe_code)]

pub mod demo;
pub mod estimate;
pub mod excel;
pub mod incidents;
pub mod lujiazui;
pub mod osm;
pub mod shp;
