//! Export of the composite layer to a PMTiles v3 archive (gzip-compressed
//! MVT, empty tiles skipped, identical tiles stored once).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use pmtiles::{PmTilesWriter, TileCoord, TileType};

use crate::error::TileError;
use crate::layer::Layer;
use crate::projection::{to_world, TileRange};
use crate::tileset::{TileFilter, TileSet};

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ExportReport {
    /// Tiles examined (every tile of the data's bounds at each zoom).
    pub tiles_visited: u64,
    /// Non-empty tiles written.
    pub tiles_written: u64,
    /// Non-empty tiles per zoom, `(z, count)`.
    pub per_zoom: Vec<(u8, u64)>,
    /// Largest tile before compression, in bytes, and its `z/x/y`.
    pub largest_tile_bytes: usize,
    /// Where the largest tile is.
    pub largest_tile: (u8, u32, u32),
    /// Sum of uncompressed tile sizes.
    pub total_bytes: u64,
    /// Archive size on disk.
    pub archive_bytes: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Progress callback: `(zoom, tiles done at this zoom, tiles at this zoom)`.
pub type Progress<'a> = &'a mut dyn FnMut(u8, u64, u64);

/// Writes the composite layer (`all`) for `minzoom..=maxzoom` over the
/// data's bounds to a PMTiles v3 archive at `path`, with `filter` applied
/// to the events and heatmap layers (use k = 3 for a public archive).
pub fn export_pmtiles(
    set: &TileSet,
    path: &Path,
    minzoom: u8,
    maxzoom: u8,
    filter: &TileFilter,
    progress: Progress<'_>,
) -> Result<ExportReport, TileError> {
    let p = path.display().to_string();
    if minzoom > maxzoom || maxzoom > set.options().max_zoom {
        return Err(TileError::ExportRange {
            minzoom,
            maxzoom,
            reason: "minzoom must not exceed maxzoom, and maxzoom must not exceed the tile set's max_zoom",
        });
    }
    let started = Instant::now();
    let bounds = set.bounds().unwrap_or([0.0, 0.0, 0.0, 0.0]);
    let nw = to_world(bounds[0], bounds[3]);
    let se = to_world(bounds[2], bounds[1]);
    let world = [nw[0], nw[1], se[0], se[1]];
    let file = File::create(path).map_err(|source| TileError::Io {
        action: "creating",
        path: p.clone(),
        source,
    })?;
    let pm = |source| TileError::Pmtiles {
        path: p.clone(),
        source,
    };
    let metadata = serde_json::json!({
        "name": "wangge",
        "format": "pbf",
        "vector_layers": crate::style::tilejson(Layer::All, "", minzoom, maxzoom, bounds)["vector_layers"],
    });
    let centre = [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0];
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .min_zoom(minzoom)
        .max_zoom(maxzoom)
        .bounds(bounds[0], bounds[1], bounds[2], bounds[3])
        .center(centre[0], centre[1])
        .center_zoom(maxzoom.min(14).max(minzoom))
        .metadata(metadata.to_string())
        .create(BufWriter::new(file))
        .map_err(pm)?;
    let frac = f64::from(set.options().buffer) / f64::from(set.options().extent);
    let mut report = ExportReport::default();
    for z in minzoom..=maxzoom {
        let range = TileRange::covering(z, world, frac);
        let total = range.len();
        let mut written = 0;
        // Tile IDs grow along the Hilbert curve; sort so the directory is clustered.
        let mut coords: Vec<(u64, u32, u32)> = Vec::with_capacity(total as usize);
        for (x, y) in range.tiles() {
            let id = pmtiles::TileId::from(TileCoord::new(z, x, y).map_err(pm)?);
            coords.push((id.value(), x, y));
        }
        coords.sort_unstable();
        for (done, (_, x, y)) in coords.into_iter().enumerate() {
            report.tiles_visited += 1;
            let bytes = set.tile(Layer::All, z, x, y, filter)?;
            if !bytes.is_empty() {
                let coord = TileCoord::new(z, x, y).map_err(pm)?;
                writer.add_tile(coord, &bytes).map_err(pm)?;
                written += 1;
                report.total_bytes += bytes.len() as u64;
                if bytes.len() > report.largest_tile_bytes {
                    report.largest_tile_bytes = bytes.len();
                    report.largest_tile = (z, x, y);
                }
            }
            if done % 1024 == 0 {
                progress(z, done as u64, total);
            }
        }
        progress(z, total, total);
        report.tiles_written += written;
        report.per_zoom.push((z, written));
    }
    writer.finalize().map_err(pm)?;
    report.archive_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
