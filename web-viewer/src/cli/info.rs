//! `wangge info`.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Datelike;
use clap::Args;
use geo_core::store::{Scope, Store};

/// Arguments of `wangge info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `wangge info`.
pub fn run(db: &Path, a: InfoArgs) -> Result<()> {
    let store = Store::open(db).with_context(|| format!("opening store {}", db.display()))?;
    let c = store.counts(&Scope::Town, chrono::Utc::now().year())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    println!(
        "store      {} (schema version {})",
        db.display(),
        c.store_version
    );
    if let Some(t) = &c.town {
        println!("town       {t}");
    }
    if let Some([w, s, e, n]) = c.extent {
        println!("extent     {w:.5},{s:.5} – {e:.5},{n:.5}");
    }
    println!("\nelements");
    for (k, n) in &c.elements {
        println!("  {k:<14} {n:>10}");
    }
    println!("\ngrids by kind");
    for (k, n) in &c.grids_by_kind {
        println!("  {k:<14} {n:>10}");
    }
    println!(
        "\nresidents  {}   aged 60+ {:.1} %",
        c.residents,
        c.aged60_share * 100.0
    );
    let outside: Vec<_> = c.unassigned.iter().filter(|(_, n)| *n > 0).collect();
    if !outside.is_empty() {
        println!("\noutside every grid");
        for (k, n) in outside {
            println!("  {k:<14} {n:>10}");
        }
    }
    if !c.events_per_month.is_empty() {
        println!("\nevents per month");
        for (m, n) in &c.events_per_month {
            println!("  {m}  {n:>7}");
        }
    }
    Ok(())
}
