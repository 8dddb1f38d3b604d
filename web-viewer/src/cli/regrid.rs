//! `wangge regrid`: proposes new grids of `min..=max` households for a
//! community (or the whole town) with [`analytics::regrid`], writes the
//! proposal as GeoJSON, JSON report and optional xlsx, and prints how it
//! compares with today's grids. The HTTP job (`POST /api/v1/regrid`) runs
//! the same [`load_input`] and [`analytics::regrid::regrid`].

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use analytics::regrid::{self as engine, Mode};
pub use analytics::regrid::{
    regrid, Diagnostic, Parent, Proposal, RegridInput, RegridParams, RegridReport,
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use geo::BoundingRect;
use geo_core::ids::{CommunityId, UnitId};
use geo_core::model::{Community, GridKind};
use geo_core::store::{GridChange, GridState, LoadSet, NewGrid, Scope, Store, VersionReport};
use serde::Deserialize;

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
}

/// Parameters of one run, as the CLI and the HTTP body give them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegridRequest {
    /// `micro` or `comprehensive`.
    #[serde(default = "default_level")]
    pub level: String,
    /// Community (division code, name or ID); whole town when absent.
    #[serde(default)]
    pub community: Option<String>,
    /// Fewest households per grid.
    pub min: u32,
    /// Most households per grid.
    pub max: u32,
    /// `max`, `count:N` or `minimal-change`.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Split units bigger than `max` into floor ranges.
    #[serde(default)]
    pub allow_floor_split: bool,
}

fn default_level() -> String {
    "micro".into()
}
fn default_mode() -> String {
    "max".into()
}
fn default_seed() -> u64 {
    1
}

/// A request parameter that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// `level` is not micro or comprehensive.
    #[error("level={0:?}: expected micro or comprehensive")]
    Level(String),
    /// `mode` is not max, count:N or minimal-change.
    #[error("mode={0:?}: expected max, count:N (N ≥ 1) or minimal-change")]
    Mode(String),
    /// No community has this code, name or ID.
    #[error("community={0:?}: no community has this division code, name or ID")]
    Community(String),
    /// The parameters are out of their domain.
    #[error("{0}")]
    Params(#[from] analytics::regrid::RegridError),
}

impl RegridRequest {
    /// Checks the request and turns it into the recommender's parameters.
    pub fn params(&self) -> Result<RegridParams, RequestError> {
        let level = match self.level.trim().to_ascii_lowercase().as_str() {
            "micro" => GridKind::Micro,
            "comprehensive" => GridKind::Comprehensive,
            _ => return Err(RequestError::Level(self.level.clone())),
        };
        let mode = parse_mode(&self.mode).ok_or_else(|| RequestError::Mode(self.mode.clone()))?;
        let mut p = match level {
            GridKind::Micro => RegridParams::micro(self.min, self.max),
            _ => RegridParams::comprehensive(self.min, self.max),
        }
        .with_mode(mode)
        .with_seed(self.seed);
        p.allow_floor_split = self.allow_floor_split;
        p.validate()?;
        Ok(p)
    }

    /// The community asked for, looked up among `communities`.
    pub fn community_id(
        &self,
        communities: &[Community],
    ) -> Result<Option<CommunityId>, RequestError> {
        match self
            .community
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(s) => find_community(communities, s)
                .map(|c| Some(c.id))
                .ok_or_else(|| RequestError::Community(s.to_string())),
        }
    }
}

/// Parses `max`, `count:N` or `minimal-change`.
pub fn parse_mode(s: &str) -> Option<Mode> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "max" => Some(Mode::Max),
        "minimal-change" | "minimal_change" | "minimal" => Some(Mode::MinimalChange),
        _ => t
            .strip_prefix("count:")
            .and_then(|n| n.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map(Mode::Count),
    }
}

/// A community by 12-digit division code, name or numeric ID.
pub fn find_community<'a>(communities: &'a [Community], s: &str) -> Option<&'a Community> {
    communities
        .iter()
        .find(|c| c.code.as_str() == s || c.name == s || c.id.get().to_string() == s)
}

/// Loads what a run reads from the store: every unit with its stored grid
/// references (today's grid and its parent at `level`), households,
/// residents, elderly, key people, events of the 12 months before the latest
/// event, roads and compound walls. With `community`, only its units are
/// kept and the grids tile its boundary. `community` is a division code,
/// name or ID (see [`find_community`]).
pub fn load_input(store: &Store, level: GridKind, community: Option<&str>) -> Result<RegridInput> {
    let ds = store
        .load(&Scope::Town, LoadSet::All)
        .context("loading the town")?;
    let community = match community.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            find_community(&ds.communities, s)
                .map(|c| c.id)
                .ok_or_else(|| RequestError::Community(s.to_string()))?,
        ),
    };
    let ids: Vec<u64> = ds.units.iter().map(|u| u.id.get()).collect();
    let refs = store
        .refs_of(geo_core::io::ElementKind::Units, &ids)
        .context("reading unit grid references")?;
    let as_of: DateTime<Utc> = ds
        .events
        .iter()
        .map(|e| e.reported_at)
        .max()
        .unwrap_or_else(Utc::now);
    let mut input = RegridInput::from_dataset(&ds, level, as_of, |u: UnitId| {
        refs.get(&u.get()).copied().unwrap_or_default()
    });
    if let Some(c) = community {
        let comm = ds
            .communities
            .iter()
            .find(|x| x.id == c)
            .ok_or_else(|| anyhow!("community {c} is not in the store"))?;
        let keep: HashSet<u64> = refs
            .iter()
            .filter(|(_, r)| r.community == Some(c))
            .map(|(id, _)| *id)
            .collect();
        input.units.retain(|u| keep.contains(&u.id.get()));
        input.boundary = comm.boundary.clone();
        if let Some(r) = comm.boundary.bounding_rect() {
            let m = 0.002; // ≈ 200 m: barriers just outside still cut links at the edge
            let (w, s, e, n) = (r.min().x - m, r.min().y - m, r.max().x + m, r.max().y + m);
            input.barriers.retain(|b| {
                b.line.bounding_rect().is_some_and(|br| {
                    br.min().x <= e && br.max().x >= w && br.min().y <= n && br.max().y >= s
                })
            });
        }
    }
    if input.units.is_empty() {
        bail!(
            "no unit to re-grid{}",
            community
                .map(|c| format!(" in community {c}"))
                .unwrap_or_default()
        );
    }
    Ok(input)
}

/// Resolves a community given as division code, name or ID.
pub fn resolve_community(store: &Store, community: Option<&str>) -> Result<Option<CommunityId>> {
    match community.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Ok(Some(
            find_community(&store.communities()?, s)
                .map(|c| c.id)
                .ok_or_else(|| RequestError::Community(s.to_string()))?,
        )),
    }
}

/// The grid change that adopts proposal `p`, computed at `level` for
/// `community` (the whole town when `None`) against grid state `basis`.
/// Each proposed grid brings its units (their households follow them); a
/// grid that is a floor range of a unit brings the households of its floors.
pub fn change_from_proposal(
    p: &Proposal,
    level: GridKind,
    community: Option<CommunityId>,
    basis: Option<GridState>,
    actor: &str,
    note: &str,
    source: &str,
) -> GridChange {
    let grids = p
        .grids
        .iter()
        .map(|g| {
            let (parent, comm) = match g.parent {
                Some(Parent::Grid(x)) => (Some(x), None),
                Some(Parent::Community(c)) => (None, Some(c)),
                None => (None, None),
            };
            let (units, floors) = match g.floor_part {
                None => (g.units.clone(), None),
                Some(f) => match (f.first_floor, f.last_floor) {
                    (Some(lo), Some(hi)) => (
                        g.units.clone(),
                        Some((
                            i16::try_from(lo).unwrap_or(i16::MAX),
                            i16::try_from(hi).unwrap_or(i16::MAX),
                        )),
                    ),
                    // Floors unknown: the first part keeps the households.
                    _ if f.part == 1 => (g.units.clone(), Some((i16::MIN, i16::MAX))),
                    _ => (Vec::new(), None),
                },
            };
            NewGrid {
                boundary: g.polygon.clone(),
                parent,
                community: comm.or(community),
                replaces: g.replaces,
                units,
                floors,
                ..NewGrid::default()
            }
        })
        .collect();
    GridChange {
        level,
        community,
        grids,
        expected: basis,
        actor: actor.to_string(),
        note: note.to_string(),
        source: source.to_string(),
    }
}

/// One line per element table of what a grid change re-assigned.
pub fn version_summary(v: &VersionReport) -> String {
    let moved: Vec<String> = v
        .reassigned
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    format!(
        "grid version {}: {} grids retired, {} created; references changed: {}",
        v.version,
        v.retired.len(),
        v.created.len(),
        if moved.is_empty() {
            "none".to_string()
        } else {
            moved.join(", ")
        }
    )
}

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
    };
    let params = req.params()?;
    let store = Store::open(db).with_context(|| format!("opening store {}", db.display()))?;
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
    print!("{}", summary_table(&proposal, &params));
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
        let mut store =
            Store::open(db).with_context(|| format!("opening store {}", db.display()))?;
        let v = store
            .replace_grids(&change)
            .context("adopting the proposal (nothing was changed)")?;
        println!("adopted: {}", version_summary(&v));
    }
    Ok(())
}
