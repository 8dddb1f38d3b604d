//! `wangge tiles export`: a PMTiles v3 archive of the whole town for offline
//! big screens.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use geo_core::store::{LoadSet, Scope};
use tiles::{TileFilter, TileOptions, TileSet};

/// Arguments of `wangge tiles`.
#[derive(Args, Debug)]
pub struct TilesArgs {
    #[command(subcommand)]
    /// What to do.
    pub command: TilesCommand,
}

/// Subcommands of `wangge tiles`.
#[derive(Subcommand, Debug)]
pub enum TilesCommand {
    /// Write every layer of the town into one PMTiles archive.
    Export {
        /// Output `.pmtiles` file.
        #[arg(long)]
        out: PathBuf,
        /// Lowest zoom.
        #[arg(long, default_value_t = 10)]
        minzoom: u8,
        /// Highest zoom.
        #[arg(long, default_value_t = 17)]
        maxzoom: u8,
    },
}

/// Runs `wangge tiles`.
pub fn run(db: &Path, a: TilesArgs) -> Result<()> {
    let TilesCommand::Export {
        out,
        minzoom,
        maxzoom,
    } = a.command;
    let store = super::key::open_store(db)?;
    let data = store.load(&Scope::Town, LoadSet::Spatial)?;
    let set = TileSet::build(&data, TileOptions::default());
    let pb = super::bar(0, "tiles");
    let mut progress = |z: u8, done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
        pb.set_message(format!("z{z}"));
    };
    // Offline archives go to big screens: k-anonymous heatmap, no personal data.
    let r = tiles::pmtiles_export::export_pmtiles(
        &set,
        &out,
        minzoom,
        maxzoom,
        &TileFilter::default(),
        &mut progress,
    )
    .map_err(|e| anyhow!("{e}"))?;
    pb.finish_and_clear();
    eprintln!(
        "{}: {} tiles written of {} visited (z{minzoom}–z{maxzoom}), largest {} bytes at {:?}, archive {} bytes, {:.1} s",
        out.display(),
        r.tiles_written,
        r.tiles_visited,
        r.largest_tile_bytes,
        r.largest_tile,
        r.archive_bytes,
        r.seconds
    );
    Ok(())
}
