//! Export of the composite layer to a PMTiles v3 archive (gzip-compressed
//! MVT, empty tiles skipped, identical tiles stored once).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use pmtiles::{PmTilesStreamWriter, PmTilesWriter, TileCoord, TileType};

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
/// Tiles are built on every available core ([`export_pmtiles_with`]).
pub fn export_pmtiles(
    set: &TileSet,
    path: &Path,
    minzoom: u8,
    maxzoom: u8,
    filter: &TileFilter,
    progress: Progress<'_>,
) -> Result<ExportReport, TileError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    export_pmtiles_with(set, path, minzoom, maxzoom, filter, threads, progress)
}

/// Tiles handed from a builder thread to the writer: (index in the
/// Hilbert-ordered list, result).
type Built = (usize, Result<Vec<u8>, TileError>);

/// [`export_pmtiles`] with `threads` tile builders (at least 1). Builders
/// take tiles in Hilbert order from a shared counter; the calling thread is
/// the only writer and adds them in that order, so the archive is the same
/// byte for byte whatever the number of threads.
pub fn export_pmtiles_with(
    set: &TileSet,
    path: &Path,
    minzoom: u8,
    maxzoom: u8,
    filter: &TileFilter,
    threads: usize,
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
    let pm = |source| TileError::Pmtiles {
        path: p.clone(),
        source,
    };
    // Every tile of the pyramid, sorted by tile ID: zoom by zoom, each
    // along the Hilbert curve, so the directory is clustered.
    let frac = f64::from(set.options().buffer) / f64::from(set.options().extent);
    let mut coords: Vec<(u64, u8, u32, u32)> = Vec::new();
    let mut per_zoom_total = Vec::new();
    for z in minzoom..=maxzoom {
        let range = TileRange::covering(z, world, frac);
        per_zoom_total.push((z, range.len()));
        for (x, y) in range.tiles() {
            let id = pmtiles::TileId::from(TileCoord::new(z, x, y).map_err(pm)?);
            coords.push((id.value(), z, x, y));
        }
    }
    coords.sort_unstable();
    let file = File::create(path).map_err(|source| TileError::Io {
        action: "creating",
        path: p.clone(),
        source,
    })?;
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
    let mut report = ExportReport {
        per_zoom: per_zoom_total.iter().map(|(z, _)| (*z, 0)).collect(),
        ..ExportReport::default()
    };
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let threads = threads.max(1);
    let coords = &coords;
    let outcome = std::thread::scope(|scope| -> Result<usize, TileError> {
        // Bounded: builders cannot run far ahead of the writer.
        let (tx, rx) = mpsc::sync_channel::<Built>(threads * 16);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= coords.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                let (_, z, x, y) = coords[i];
                if tx.send((i, set.tile(Layer::All, z, x, y, filter))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let result = write_in_order(
            rx,
            coords,
            &per_zoom_total,
            &mut writer,
            &mut report,
            progress,
            &pm,
        );
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        result
    });
    let handled = outcome?;
    if handled < coords.len() {
        return Err(TileError::Io {
            action: "building the tiles of",
            path: p.clone(),
            source: std::io::Error::other(format!(
                "{} of {} tiles were not built (a builder thread stopped)",
                coords.len() - handled,
                coords.len()
            )),
        });
    }
    writer.finalize().map_err(pm)?;
    report.archive_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The writer's side of [`export_pmtiles_with`]: receives built tiles in
/// any order and adds them to the archive in list order; returns how many
/// tiles of the list it handled.
fn write_in_order<W: std::io::Write + std::io::Seek>(
    rx: mpsc::Receiver<Built>,
    coords: &[(u64, u8, u32, u32)],
    per_zoom_total: &[(u8, u64)],
    writer: &mut PmTilesStreamWriter<W>,
    report: &mut ExportReport,
    progress: Progress<'_>,
    pm: &dyn Fn(pmtiles::PmtError) -> TileError,
) -> Result<usize, TileError> {
    let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut want = 0;
    let mut done_in_zoom = 0u64;
    let total_of = |z: u8| {
        per_zoom_total
            .iter()
            .find(|(zz, _)| *zz == z)
            .map_or(0, |(_, n)| *n)
    };
    for (i, built) in rx {
        pending.insert(i, built?);
        while let Some(bytes) = pending.remove(&want) {
            let (_, z, x, y) = coords[want];
            report.tiles_visited += 1;
            if !bytes.is_empty() {
                writer
                    .add_tile(TileCoord::new(z, x, y).map_err(pm)?, &bytes)
                    .map_err(pm)?;
                report.tiles_written += 1;
                if let Some(pz) = report.per_zoom.iter_mut().find(|(zz, _)| *zz == z) {
                    pz.1 += 1;
                }
                report.total_bytes += bytes.len() as u64;
                if bytes.len() > report.largest_tile_bytes {
                    report.largest_tile_bytes = bytes.len();
                    report.largest_tile = (z, x, y);
                }
            }
            done_in_zoom += 1;
            let total = total_of(z);
            if done_in_zoom.is_multiple_of(1024) || done_in_zoom == total {
                progress(z, done_in_zoom, total);
            }
            if done_in_zoom == total {
                done_in_zoom = 0;
            }
            want += 1;
        }
    }
    Ok(want)
}
