//! `wangge demo`: generate the demo town into the store.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use geo_core::index::SpatialIndex;
use geo_core::store::{Provenance, Store, StoreError};
use geo_core::{Dataset, DatasetSink};
use wangge_data::demo::{self, Scale};

use crate::ingest::{assign, IngestReport};

/// Arguments of `wangge demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// community (~12k residents), town (~125k), district (~420k) or province (10M+).
    #[arg(long, default_value = "town")]
    pub scale: String,
    /// Random seed; the same seed gives the same town.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Write even if the store already holds data (IDs must not collide).
    #[arg(long)]
    pub force: bool,
}

/// Writes each generated batch to the store, assigning elements against all
/// grids seen so far.
pub struct StoreSink<'a> {
    store: &'a mut Store,
    index: SpatialIndex,
    /// Running totals.
    pub report: IngestReport,
    scale: String,
}

impl<'a> StoreSink<'a> {
    /// A sink writing into `store`.
    pub fn new(store: &'a mut Store, scale: &str) -> Self {
        Self {
            store,
            index: SpatialIndex::build(&Dataset::default()),
            report: IngestReport::default(),
            scale: scale.to_string(),
        }
    }
}

impl DatasetSink for StoreSink<'_> {
    type Error = StoreError;
    fn accept(&mut self, batch: Dataset) -> Result<(), StoreError> {
        for c in &batch.communities {
            let _ = self.index.insert_community(c);
        }
        for g in &batch.grids {
            let _ = self.index.insert_grid(g);
        }
        let (refs, r) = assign(&batch, &self.index, Some(self.store))?;
        let prov = Provenance {
            kind: "demo".into(),
            source: format!("wangge demo --scale {}", self.scale),
            crs: "wgs84".into(),
        };
        let w = self.store.write(&batch, &refs, Some(&prov))?;
        self.report.rows += w.rows;
        self.report.located += r.located;
        self.report.outside_every_grid += r.outside_every_grid;
        Ok(())
    }
}

/// Generates the demo into an open store; returns the totals.
pub fn generate_into(
    store: &mut Store,
    scale: Scale,
    seed: u64,
    show_progress: bool,
) -> Result<IngestReport> {
    let pb = super::bar(100, "generating");
    if !show_progress {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let name = scale.as_str();
    let mut sink = StoreSink::new(store, name);
    let mut progress = |p: demo::Progress| {
        let done = f64::from(p.town.saturating_sub(1))
            + f64::from(p.community) / f64::from(p.communities.max(1));
        pb.set_position((100.0 * done / f64::from(p.towns.max(1))) as u64);
    };
    demo::generate(scale, seed, &mut sink, &mut progress).map_err(|e| anyhow::anyhow!("{e}"))?;
    pb.finish_and_clear();
    Ok(sink.report)
}

/// Runs `wangge demo`.
pub fn run(db: &Path, a: DemoArgs) -> Result<()> {
    let scale: Scale = a
        .scale
        .parse()
        .map_err(|e| anyhow::anyhow!("--scale: {e}"))?;
    let mut store = Store::open(db).with_context(|| format!("opening store {}", db.display()))?;
    if !store.is_empty()? && !a.force {
        bail!(
            "store {} already holds data; use another --db, or --force to add a second town",
            db.display()
        );
    }
    let t = Instant::now();
    let r = generate_into(&mut store, scale, a.seed, true)?;
    eprintln!(
        "demo {:?} (seed {}): {} rows in {:.1} s into {}",
        scale,
        a.seed,
        r.rows,
        t.elapsed().as_secs_f64(),
        db.display()
    );
    if r.outside_every_grid > 0 {
        eprintln!(
            "warning: {} of {} located elements fall inside no grid",
            r.outside_every_grid, r.located
        );
    }
    Ok(())
}
