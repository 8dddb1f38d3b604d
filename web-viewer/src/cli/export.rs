//! `wangge export`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use geo_core::io::{export, ElementKind, Masking};
use geo_core::store::{LoadSet, Scope};
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `wangge export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Element kind.
    pub kind: String,
    /// geojson (RFC 7946) or csv.
    #[arg(long, default_value = "geojson")]
    pub format: String,
    /// Output file (stdout when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Export personal data unmasked; the reason is written to the audit log.
    #[arg(long)]
    pub reveal_reason: Option<String>,
}

/// Runs `wangge export`.
pub fn run(db: &Path, a: ExportArgs) -> Result<()> {
    let kind = ElementKind::parse(&a.kind).map_err(|e| anyhow!("{e}"))?;
    let store = super::key::open_store(db)?;
    let personal = matches!(
        kind,
        ElementKind::Persons | ElementKind::Households | ElementKind::Sentiments
    );
    let set = if personal {
        LoadSet::All
    } else {
        LoadSet::Spatial
    };
    let loading = ProgressBar::new_spinner();
    loading.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    loading.set_message(format!("loading {} from the store", kind.as_str()));
    loading.enable_steady_tick(std::time::Duration::from_millis(120));
    let data = store.load(&Scope::Town, set);
    loading.finish_and_clear();
    let data = data?;
    let masking = match &a.reveal_reason {
        Some(r) if !r.trim().is_empty() => Masking::Reveal,
        _ => Masking::Mask,
    };
    store.audit(
        "cli",
        "export",
        &format!(
            "{} as {} ({:?}){}",
            kind.as_str(),
            a.format,
            masking,
            a.reveal_reason
                .as_deref()
                .map(|r| format!("; reason: {r}"))
                .unwrap_or_default()
        ),
    )?;
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // Rows written of rows to write.
    let pb = super::bar(0, "exporting");
    let tick = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let written = match a.format.as_str() {
        "geojson" | "json" => {
            export::write_geojson_with_progress(kind, &data, &mut out, masking, &tick)
        }
        "csv" => export::write_csv_with_progress(kind, &data, &mut out, masking, &tick),
        f => return Err(anyhow!("--format {f:?}: expected geojson or csv")),
    };
    pb.finish_and_clear();
    written?;
    out.flush()?;
    Ok(())
}
