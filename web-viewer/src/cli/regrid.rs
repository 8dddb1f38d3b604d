//! `wangge regrid`: proposes new grids of `min..=max` households for a
//! community (or the whole town) with [`analytics::regrid`], writes the
//! proposal as GeoJSON, JSON report and optional xlsx, and prints how it
//! compares with today's grids. The HTTP job (`POST /api/v1/regrid`) runs
//! the same [`load_input`] and [`analytics::regrid::regrid`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use analytics::regrid as engine;
use anyhow::{Context, Result};
use clap::Args;
use geo_core::store::VersionReport;
use serde::Serialize;

use crate::service::regrid::*;

/// Arguments of `wangge regrid`.
#[derive(Args, Debug)]
pub struct RegridArgs {
    /// Level of the grids to draw: micro (inside each comprehensive grid) or
    /// comprehensive (inside each community).
    #[arg(long, default_value = "micro")]
    pub level: String,
    /// Community to re-grid: its 12-digit division code, its name or its ID
    /// (the whole town when absent).
    #[arg(long)]
    pub community: Option<String>,
    /// Fewest households per grid.
    #[arg(long, default_value_t = 30)]
    pub min: u32,
    /// Most households per grid.
    #[arg(long, default_value_t = 80)]
    pub max: u32,
    /// max (as many grids as the bounds allow), count:N, or minimal-change.
    #[arg(long, default_value = "max")]
    pub mode: String,
    /// Seed: the same data, parameters and seed give the same proposal.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Split a unit bigger than `--max` into floor ranges.
    #[arg(long)]
    pub allow_floor_split: bool,
    /// GeoJSON of the proposed grids.
    #[arg(long, default_value = "proposal.geojson")]
    pub out: PathBuf,
    /// JSON report (before/after counts, diagnostics).
    #[arg(long, default_value = "report.json")]
    pub report: PathBuf,
    /// Optional xlsx workbook for planners (grids, report, diagnostics).
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// Write the recommender's input (units, barriers, boundary; aggregates
    /// only) as JSON and stop: reproduces a run without the store.
    #[arg(long, hide = true)]
    pub dump_input: Option<PathBuf>,
    /// Adopt the proposal: it becomes a new version of the grids (today's are
    /// kept, retired) and every element is re-assigned. Refused when the
    /// grids changed while the proposal was computed.
    #[arg(long)]
    pub adopt: bool,
    /// Why the grids change, kept in the grid history (with `--adopt`).
    #[arg(long, requires = "adopt")]
    pub note: Option<String>,
    /// Print the summary as one JSON object on stdout instead of the table
    /// (the files are written all the same).
    #[arg(long)]
    pub json: bool,
}

/// What `wangge regrid --json` prints: the input's size, the files written,
/// the proposal's report (the same as the `--report` file) and, with
/// `--adopt`, the grid version made. The shape is in `docs/import.md`.
#[derive(Debug, Serialize)]
pub struct RegridSummary<'a> {
    /// Units re-gridded.
    pub units: usize,
    /// Their households.
    pub households: u64,
    /// Barriers (roads, rivers) the grids do not cross.
    pub barriers: usize,
    /// Proposed grids.
    pub grids: usize,
    /// Files written: `proposal`, `report`, `xlsx`.
    pub files: BTreeMap<&'static str, String>,
    /// The report of the proposal.
    pub report: &'a RegridReport,
    /// The grid version made by `--adopt`.
    pub adopted: Option<VersionReport>,
}
pub use crate::service::regrid::version_summary;

/// Writes the proposal's GeoJSON and JSON report (and xlsx when asked).
pub fn write_outputs(
    p: &Proposal,
    geojson: &Path,
    report: &Path,
    xlsx: Option<&Path>,
) -> Result<()> {
    let fc = engine::to_geojson(p);
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(geojson)
            .with_context(|| format!("creating {}", geojson.display()))?,
    );
    serde_json::to_writer(&mut f, &fc).with_context(|| format!("writing {}", geojson.display()))?;
    f.flush()?;
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(report).with_context(|| format!("creating {}", report.display()))?,
    );
    serde_json::to_writer_pretty(&mut f, &p.report)
        .with_context(|| format!("writing {}", report.display()))?;
    f.flush()?;
    if let Some(x) = xlsx {
        engine::write_xlsx(p, x)?;
    }
    Ok(())
}

/// The before/after table printed by `wangge regrid`.
pub fn summary_table(p: &Proposal, params: &RegridParams) -> String {
    let r = &p.report;
    let mut s = String::new();
    let line = |s: &mut String, k: &str, a: String, b: String| {
        s.push_str(&format!("  {k:<26} {a:>10} {b:>10}\n"))
    };
    s.push_str(&format!(
        "re-gridding at {} level, {}–{} households per grid, seed {}\n",
        params.level.code(),
        params.min,
        params.max,
        r.seed
    ));
    line(&mut s, "", "today".into(), "proposal".into());
    line(
        &mut s,
        "grids",
        r.before.grids.to_string(),
        r.after.grids.to_string(),
    );
    line(
        &mut s,
        &format!("over {} households", params.max),
        r.before.over.to_string(),
        r.after.over.to_string(),
    );
    line(
        &mut s,
        &format!("under {} households", params.min),
        r.before.under.to_string(),
        r.after.under.to_string(),
    );
    line(
        &mut s,
        "outside the bounds",
        (r.before.over + r.before.under).to_string(),
        r.violations.to_string(),
    );
    s.push_str(&format!(
        "  households moved           {:>21}\n",
        r.households_moved
    ));
    s.push_str(&format!(
        "  adjusted Rand index        {:>21}\n",
        r.adjusted_rand_index
            .map_or("-".into(), |a| format!("{a:.3}"))
    ));
    s.push_str(&format!(
        "  compounds split            {:>21}\n",
        r.compounds_split
    ));
    s.push_str(&format!(
        "  run time                   {:>18} ms\n",
        r.runtime_ms
    ));
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in &r.diagnostics {
        *kinds.entry(diagnostic_kind(d)).or_default() += 1;
    }
    if !kinds.is_empty() {
        s.push_str("diagnostics\n");
        for (k, n) in kinds {
            s.push_str(&format!("  {k:<26} {n:>10}\n"));
        }
        for d in r.diagnostics.iter().filter_map(diagnostic_message).take(8) {
            s.push_str(&format!("  - {d}\n"));
        }
    }
    s
}

/// Stable name of a diagnostic.
pub fn diagnostic_kind(d: &Diagnostic) -> &'static str {
    match d {
        Diagnostic::OversizedUnit { .. } => "oversized_unit",
        Diagnostic::CrossedBarrier { .. } => "crossed_barrier",
        Diagnostic::Infeasible { .. } => "infeasible",
        Diagnostic::CountAdjusted { .. } => "count_adjusted",
        Diagnostic::BoundsNotMet { .. } => "bounds_not_met",
        Diagnostic::DedicatedLeftAlone { .. } => "dedicated_left_alone",
    }
}

fn diagnostic_message(d: &Diagnostic) -> Option<&str> {
    match d {
        Diagnostic::OversizedUnit { message, .. }
        | Diagnostic::CrossedBarrier { message, .. }
        | Diagnostic::Infeasible { message, .. }
        | Diagnostic::CountAdjusted { message, .. }
        | Diagnostic::BoundsNotMet { message, .. } => Some(message),
        Diagnostic::DedicatedLeftAlone { .. } => None,
    }
}

/// Runs `wangge regrid`.
pub fn run(db: &Path, a: RegridArgs) -> Result<()> {
    let req = RegridRequest {
        level: a.level,
        community: a.community,
        min: a.min,
        max: a.max,
        mode: a.mode,
        seed: a.seed,
        allow_floor_split: a.allow_floor_split,
        moves_per_unit: None,
    };
    let params = req.params()?;
    let store = super::key::open_store(db)?;
    let pb = super::bar(1000, "loading");
    let basis = store.grid_state()?;
    let community = resolve_community(&store, req.community.as_deref())?;
    let input = load_input(&store, params.level, req.community.as_deref())?;
    drop(store);
    if let Some(p) = &a.dump_input {
        let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        serde_json::to_writer(std::io::BufWriter::new(f), &input)?;
        pb.finish_and_clear();
        eprintln!("wrote the input to {}", p.display());
        return Ok(());
    }
    pb.set_message("re-gridding");
    let households: u64 = input.units.iter().map(|u| u64::from(u.households)).sum();
    eprintln!(
        "{} units, {} households, {} barriers",
        input.units.len(),
        households,
        input.barriers.len()
    );
    let proposal = regrid(&input, &params, &mut |f| {
        pb.set_position((f.clamp(0.0, 1.0) * 1000.0) as u64)
    })?;
    pb.finish_and_clear();
    write_outputs(&proposal, &a.out, &a.report, a.xlsx.as_deref())?;
    if !a.json {
        print!("{}", summary_table(&proposal, &params));
    }
    eprintln!(
        "wrote {} grids to {}, report to {}{}",
        proposal.grids.len(),
        a.out.display(),
        a.report.display(),
        a.xlsx
            .as_ref()
            .map(|x| format!(", workbook to {}", x.display()))
            .unwrap_or_default()
    );
    let mut adopted = None;
    if a.adopt {
        let change = change_from_proposal(
            &proposal,
            params.level,
            community,
            Some(basis),
            "cli",
            a.note.as_deref().unwrap_or(""),
            &format!("wangge regrid (seed {})", params.seed),
        );
        let mut store = super::key::open_store(db)?;
        let v = store
            .replace_grids(&change)
            .context("adopting the proposal (nothing was changed)")?;
        if a.json {
            eprintln!("adopted: {}", version_summary(&v));
        } else {
            println!("adopted: {}", version_summary(&v));
        }
        adopted = Some(v);
    }
    if a.json {
        let mut files = BTreeMap::from([
            ("proposal", a.out.display().to_string()),
            ("report", a.report.display().to_string()),
        ]);
        if let Some(x) = &a.xlsx {
            files.insert("xlsx", x.display().to_string());
        }
        let summary = RegridSummary {
            units: input.units.len(),
            households,
            barriers: input.barriers.len(),
            grids: proposal.grids.len(),
            files,
            report: &proposal.report,
            adopted,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}
