//! # tiles
//!
//! Vector tiles of a Wangge town for any MapLibre client: per-layer R-tree
//! indexes built from a [`geo_core::Dataset`] ([`TileSet`]), on-request MVT
//! 2.1 encoding with clipping, simplification and size limits, H3 event
//! heatmaps with k-anonymity ([`heatmap`]), the MapLibre style and TileJSON
//! ([`style`]), SDF glyphs for offline labels ([`glyphs`]) and PMTiles export
//! ([`pmtiles_export`]). No HTTP, no store: the server wires these in.
//!
//! Persons, households, sentiments and organisations are never read, and no
//! layer carries a person's name, ID number or phone, a grid worker's name or
//! an event's reporter or free-text title. See `LAYERS.md` for every attribute.
//!
//! ```
//! use tiles::{Layer, TileFilter, TileOptions, TileSet};
//! let ds = tiles::sample::dataset().unwrap();
//! let set = TileSet::build(&ds, TileOptions::default());
//! let (x, y) = tiles::lonlat_to_tile(113.30, 34.40, 15);
//! let mvt = set.tile(Layer::Buildings, 15, x, y, &TileFilter::at(tiles::sample::now())).unwrap();
//! assert!(!mvt.is_empty());
//! let gz = tiles::gzip(&mvt).unwrap();
//! assert_eq!(&gz[..2], &[0x1f, 0x8b]);
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod clip;
mod error;
pub mod glyphs;
pub mod heatmap;
mod layer;
pub mod pmtiles_export;
pub mod projection;
pub mod sample;
pub mod style;
mod tileset;

pub use error::{Result, TileError};
pub use heatmap::{HeatCell, HeatFilter, HeatIndex, StatusClass};
pub use layer::{layers_markdown, Field, FieldType, Layer};
pub use projection::TileRange;
pub use tileset::{EncodedTile, Invalidation, TileFilter, TileOptions, TileSet};

/// Gzip-compresses a tile (the HTTP layer sends it with
/// `Content-Encoding: gzip`).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 64),
        flate2::Compression::default(),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

/// The tile `(x, y)` containing lon/lat at zoom `z`.
pub fn lonlat_to_tile(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let [wx, wy] = projection::to_world(lon, lat);
    let n = (1u64 << z) as f64;
    let max = (1u64 << z).saturating_sub(1) as f64;
    (
        (wx * n).floor().clamp(0.0, max) as u32,
        (wy * n).floor().clamp(0.0, max) as u32,
    )
}
