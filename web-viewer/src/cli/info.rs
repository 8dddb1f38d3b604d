//! `wangge info`.

use std::path::Path;

use anyhow::Result;
use chrono::Datelike;
use clap::Args;
use geo_core::store::Scope;

/// Arguments of `wangge info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `wangge info`.
pub fn run(db: &Path, a: InfoArgs) -> Result<()> {
    let store = super::key::open_store(db)?;
    let c = store.counts(&Scope::Town, chrono::Utc::now().year())?;
    let versions = store.grid_versions()?;
    if a.json {
        let mut v = serde_json::to_value(&c)?;
        v["grid_versions"] = serde_json::to_value(&versions)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
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
    if !versions.is_empty() {
        println!(
            "\ngrid versions (current {}, {} retired grids kept)",
            c.grid_version, c.retired_grids
        );
        for v in &versions {
            let at = v
                .created_at
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "-".into());
            println!(
                "  v{:<4} {at:<20} {:<14} {:<8} -{} +{}  {}{}",
                v.version,
                v.level.as_deref().unwrap_or("-"),
                if v.actor.is_empty() { "-" } else { &v.actor },
                v.retired.len(),
                v.created.len(),
                v.source,
                if v.note.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", v.note)
                }
            );
        }
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
