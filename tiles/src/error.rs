//! Errors of the tiles crate. Every variant carries the offending value and
//! the reason.

use thiserror::Error;

/// Why a tile, a style, a glyph range or an export could not be produced.
#[derive(Debug, Error)]
pub enum TileError {
    /// The layer name is not one of [`crate::Layer::ALL`].
    #[error("unknown tile layer {name:?}; expected one of: {expected}")]
    UnknownLayer {
        /// The name given.
        name: String,
        /// The accepted names.
        expected: String,
    },
    /// `z` above the supported maximum.
    #[error("zoom {z} is out of range 0..={max}")]
    ZoomOutOfRange {
        /// The zoom given.
        z: u8,
        /// The highest zoom served.
        max: u8,
    },
    /// `x` or `y` outside `0..2^z`.
    #[error("tile {z}/{x}/{y} does not exist: x and y must be below 2^{z}")]
    TileOutOfRange {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
    },
    /// The MVT encoder refused a feature.
    #[error("encoding layer {layer} of tile {z}/{x}/{y} failed: {source}")]
    Encode {
        /// Layer name.
        layer: &'static str,
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
        /// The encoder's error.
        source: fast_mvt::MvtError,
    },
    /// A glyph range request that is not `N*256..N*256+255`.
    #[error("glyph range {start}-{end} is invalid: {reason}")]
    GlyphRange {
        /// First code point asked.
        start: u32,
        /// Last code point asked.
        end: u32,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A font stack we do not ship.
    #[error("font stack {fontstack:?} is not available; expected one of: {expected}")]
    UnknownFontStack {
        /// The font stack asked.
        fontstack: String,
        /// The stacks we ship.
        expected: String,
    },
    /// Writing or reading a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PMTiles writer failed.
    #[error("PMTiles export to {path} failed: {source}")]
    Pmtiles {
        /// The archive path.
        path: String,
        /// The writer's error.
        source: pmtiles::PmtError,
    },
    /// Invalid export parameters.
    #[error("export zoom range {minzoom}..={maxzoom} is invalid: {reason}")]
    ExportRange {
        /// Lowest zoom asked.
        minzoom: u8,
        /// Highest zoom asked.
        maxzoom: u8,
        /// Why it was refused.
        reason: &'static str,
    },
}

/// Result alias of this crate.
pub type Result<T, E = TileError> = std::result::Result<T, E>;
