//! `wangge report indicators|hotspots|coverage`: arguments, printed tables
//! and file outputs. The reports themselves are [`crate::service::report`],
//! which the HTTP routes call too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use analytics::coverage::{CoverageParams, CoverageRow};
use analytics::indicators::{AreaKey, BreakdownRow, IndicatorReport, Window};
use analytics::table::{Table, Workbook};
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use geo_core::index::SpatialIndex;
use geo_core::model::{EventSource, ServiceKind};
use geo_core::store::{LoadSet, Scope, Store};
use geo_core::taxonomy::EventCategory;
use geo_core::Dataset;

use crate::service::report::*;

/// Arguments of `wangge report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Which report.
    #[command(subcommand)]
    pub what: ReportCommand,
}

/// The reports.
#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Governance indicators per community or grid for a time window.
    Indicators(IndicatorArgs),
    /// Emerging hotspots (H3 cell × category × week) of the stored events.
    Hotspots(HotspotArgs),
    /// 15-minute walking coverage of a service per grid and community.
    Coverage(CoverageArgs),
}

/// Arguments of `wangge report indicators`.
#[derive(Args, Debug)]
pub struct IndicatorArgs {
    /// Window start (YYYY-MM-DD or RFC 3339); default 30 days before `--to`.
    #[arg(long)]
    pub from: Option<String>,
    /// Window end, exclusive; default the day after the latest event.
    #[arg(long)]
    pub to: Option<String>,
    /// community, grid (= comprehensive), micro or dedicated.
    #[arg(long, default_value = "community")]
    pub level: String,
    /// Also write the rows as CSV (UTF-8 with BOM).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also write the events by category and by source as CSV.
    #[arg(long)]
    pub breakdown_csv: Option<PathBuf>,
    /// Also write the rows (sheet `indicators`) and the breakdown (sheet
    /// `breakdown`) as xlsx.
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// Print the report as one JSON object on stdout, the same as the
    /// HTTP API's JSON answer, instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `wangge report hotspots`.
#[derive(Args, Debug)]
pub struct HotspotArgs {
    /// A day of the week to test (default the latest week with events).
    #[arg(long)]
    pub week: Option<String>,
    /// Test every week with a full baseline instead of one.
    #[arg(long)]
    pub all_weeks: bool,
    /// H3 resolution (7–10).
    #[arg(long, default_value_t = 9)]
    pub res: u8,
    /// Category (NN.MM, a group NN, or a name).
    #[arg(long)]
    pub category: Option<String>,
    /// Rows printed.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Also write every flagged cell × category × week as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also write the flags (sheet `hotspots`) and the cells ranked by
    /// flagged weeks (sheet `cells`) as xlsx.
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// Print the report as one JSON object on stdout, the same as the
    /// HTTP API's JSON answer, instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `wangge report coverage`.
#[derive(Args, Debug)]
pub struct CoverageArgs {
    /// Service kind, e.g. elderly_canteen, clinic, market.
    #[arg(long, default_value = "elderly_canteen")]
    pub service: String,
    /// Walking threshold in minutes.
    #[arg(long, default_value_t = 15.0)]
    pub minutes: f64,
    /// Also write the per-grid rows as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also write the per-grid (sheet `grids`) and per-community (sheet
    /// `communities`) rows as xlsx.
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// Also write the comprehensive grids as GeoJSON polygons carrying their
    /// coverage (a map layer).
    #[arg(long)]
    pub geojson: Option<PathBuf>,
    /// Print the report as one JSON object on stdout, the same as the
    /// HTTP API's JSON answer, instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `wangge report`.
pub fn run(db: &Path, a: ReportArgs) -> Result<()> {
    let store = super::key::open_store(db)?;
    match a.what {
        ReportCommand::Indicators(a) => run_indicators(&store, a),
        ReportCommand::Hotspots(a) => run_hotspots(&store, a),
        ReportCommand::Coverage(a) => run_coverage(&store, a),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.1}"))
}

fn change(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:+.0}%", x * 100.0))
}

/// The tables `wangge report indicators` prints: one row per area, then the
/// events of each area by source and its three largest categories.
pub fn indicators_text(ds: &Dataset, rep: &IndicatorReport, window: Window) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "indicators {} – {} (previous window for the trend: {} – {})",
        window.from.date_naive(),
        window.to.date_naive(),
        window.previous().from.date_naive(),
        window.previous().to.date_naive()
    );
    let _ = writeln!(
        s,
        "{:<28} {:>8} {:>7} {:>8} {:>7} {:>8} {:>8} {:>8} {:>7} {:>8} {:>7}",
        "area",
        "hh",
        "events",
        "/1000hh",
        "in-grid",
        "med h",
        "p90 h",
        "overdue",
        "satisf",
        "reopen",
        "trend"
    );
    let name = |a: AreaKey| area_name(ds, a).chars().take(26).collect::<String>();
    for r in &rep.rows {
        let _ = writeln!(
            s,
            "{:<28} {:>8} {:>7} {:>8} {:>7} {:>8} {:>8} {:>8} {:>7} {:>8} {:>7}",
            name(r.area),
            r.households,
            r.events,
            num(r.events_per_1000_households),
            pct(r.closed_in_grid_share),
            num(r.median_handling_h),
            num(r.p90_handling_h),
            r.overdue,
            pct(r.satisfaction_share),
            pct(r.reopen_rate),
            change(r.events_change)
        );
    }
    let mut by: BTreeMap<AreaKey, Vec<&BreakdownRow>> = BTreeMap::new();
    for b in &rep.breakdown {
        by.entry(b.area).or_default().push(b);
    }
    let _ = write!(
        s,
        "\nevents by source and largest categories\n{:<28}",
        "area"
    );
    for src in EventSource::ALL {
        let _ = write!(s, " {:>9}", src.code());
    }
    let _ = writeln!(s, "  categories (count, previous window)");
    for (area, rows) in &by {
        let _ = write!(s, "{:<28}", name(*area));
        for src in EventSource::ALL {
            let n = rows
                .iter()
                .find(|b| b.dimension == "source" && b.key == src.code())
                .map_or(0, |b| b.count);
            let _ = write!(s, " {n:>9}");
        }
        let mut cats: Vec<&&BreakdownRow> =
            rows.iter().filter(|b| b.dimension == "category").collect();
        cats.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        let top: Vec<String> = cats
            .iter()
            .take(3)
            .map(|b| {
                let zh = EventCategory::parse(&b.key).map_or("", |c| c.def().name_zh);
                format!("{} {zh} {} ({})", b.key, b.count, b.prev_count)
            })
            .collect();
        let _ = writeln!(s, "  {}", top.join("; "));
    }
    s
}

fn write_csv<R: Table>(rows: &[R], p: &Path) -> Result<()> {
    let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
    analytics::table::to_csv(rows, std::io::BufWriter::new(f))
        .with_context(|| format!("writing {}", p.display()))?;
    eprintln!("wrote {} rows to {}", rows.len(), p.display());
    Ok(())
}

fn write_xlsx(wb: Workbook, p: &Path) -> Result<()> {
    let bytes = wb.to_bytes()?;
    std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display()))?;
    eprintln!("wrote workbook {}", p.display());
    Ok(())
}

fn run_indicators(store: &Store, a: IndicatorArgs) -> Result<()> {
    let level = parse_level(&a.level).ok_or_else(|| {
        anyhow!(
            "--level {:?}: expected community, grid, micro or dedicated",
            a.level
        )
    })?;
    let (ds, rep, window) = stored_indicators(store, level, a.from.as_deref(), a.to.as_deref())?;
    if a.json {
        let slots = worker_slots(&ds.grids);
        let labels = AreaLabels::new(&ds, &slots);
        let answer = IndicatorsAnswer {
            from: window.from.to_rfc3339(),
            to: window.to.to_rfc3339(),
            level: level.code(),
            rows: rep.rows.iter().map(|r| labels.area(r)).collect(),
            breakdown: rep.breakdown.clone(),
        };
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", indicators_text(&ds, &rep, window));
    }
    if let Some(p) = &a.csv {
        write_csv(&rep.rows, p)?;
    }
    if let Some(p) = &a.breakdown_csv {
        write_csv(&rep.breakdown, p)?;
    }
    if let Some(p) = &a.xlsx {
        let mut wb = Workbook::new();
        wb.sheet(&rep.rows, "indicators")?
            .sheet(&rep.breakdown, "breakdown")?;
        write_xlsx(wb, p)?;
    }
    Ok(())
}

fn run_hotspots(store: &Store, a: HotspotArgs) -> Result<()> {
    let offset = 8;
    let params = hotspot_params(a.res, offset).map_err(|e| anyhow!("--{e}"))?;
    let cats = category_filter(a.category.as_deref()).map_err(|e| anyhow!("--{e}"))?;
    let ds = store.load(&Scope::Town, LoadSet::Spatial)?;
    let week = if a.all_weeks {
        None
    } else {
        Some(match &a.week {
            Some(w) => week_of_date(w, offset).map_err(|e| anyhow!("--{e}"))?,
            None => latest_week(&ds.events, offset)
                .ok_or_else(|| anyhow!("the store holds no event"))?,
        })
    };
    let t = std::time::Instant::now();
    let hs = hotspots_of(&ds.events, cats.as_deref(), week, &params)?;
    let what = week.map_or("every week".to_string(), |w| {
        format!("week of {}", week_start_date(w, offset))
    });
    if a.json {
        let answer = HotspotsAnswer {
            week_start: week.map(|w| week_start_date(w, offset).to_string()),
            res: a.res,
            hotspots: hotspot_rows(&hs, offset),
        };
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print_hotspots(&a, &hs, &what, ds.events.len(), t.elapsed());
    }
    if a.csv.is_some() || a.xlsx.is_some() {
        let rows = hotspot_rows(&hs, offset);
        if let Some(p) = &a.csv {
            write_csv(&rows, p)?;
        }
        if let Some(p) = &a.xlsx {
            let mut wb = Workbook::new();
            wb.sheet(&rows, "hotspots")?
                .sheet(&top_cells(&hs, usize::MAX), "cells")?;
            write_xlsx(wb, p)?;
        }
    }
    Ok(())
}

/// The tables `wangge report hotspots` prints.
fn print_hotspots(
    a: &HotspotArgs,
    hs: &[Hotspot],
    what: &str,
    events: usize,
    took: std::time::Duration,
) {
    let offset = 8;
    println!(
        "{} hotspots in {what} over {} events at H3 res {} ({:.0} ms)",
        hs.len(),
        events,
        a.res,
        took.as_secs_f64() * 1000.0
    );
    if a.all_weeks {
        println!(
            "{:<17} {:>10} {:>10} {:>6} {:>7} {:>7}  category",
            "cell", "lon", "lat", "weeks", "events", "max z"
        );
        for c in top_cells(hs, a.top) {
            println!(
                "{:<17} {:>10.5} {:>10.5} {:>6} {:>7} {:>7.1}  {}",
                c.area,
                c.lon.unwrap_or(f64::NAN),
                c.lat.unwrap_or(f64::NAN),
                c.flags,
                c.events,
                c.max_z,
                c.top_category
            );
        }
    } else {
        let rows = hotspot_rows(hs, offset);
        println!(
            "{:<17} {:>10} {:>10}  {:<6} {:>5} {:>8} {:>6} {:>9}",
            "cell", "lon", "lat", "cat", "count", "baseline", "z", "q"
        );
        for r in rows.iter().take(a.top) {
            println!(
                "{:<17} {:>10.5} {:>10.5}  {:<6} {:>5} {:>8.2} {:>6.1} {:>9.2e}  {}",
                r.area,
                r.lon.unwrap_or(f64::NAN),
                r.lat.unwrap_or(f64::NAN),
                r.category,
                r.count,
                r.baseline,
                r.z,
                r.q_value,
                r.category_zh
            );
        }
    }
}

fn run_coverage(store: &Store, a: CoverageArgs) -> Result<()> {
    let service = ServiceKind::parse(&a.service).map_err(|e| anyhow!("--service: {e}"))?;
    if !(a.minutes.is_finite() && a.minutes > 0.0) {
        return Err(anyhow!(
            "--minutes {}: must be a positive number",
            a.minutes
        ));
    }
    let ds = store.load(&Scope::Town, LoadSet::All)?;
    let index = SpatialIndex::build(&ds);
    let params = CoverageParams {
        threshold_min: a.minutes,
        ..CoverageParams::default()
    };
    let t = std::time::Instant::now();
    let rep = coverage_of(&ds, &index, Some(service), &params);
    let rows: Vec<CoverageRow> = rep
        .rows
        .iter()
        .filter(|r| r.service == service)
        .copied()
        .collect();
    let communities = coverage_by_community(&ds, &rows, service);
    if a.json {
        let answer = coverage_answer(&ds, &rows, service, a.minutes, Vec::new());
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        let took = t.elapsed();
        print_coverage(
            &a,
            service,
            &ds,
            &rows,
            &communities,
            rep.minutes.len(),
            took,
        );
    }
    if let Some(p) = &a.csv {
        write_csv(&rows, p)?;
    }
    if let Some(p) = &a.xlsx {
        let mut wb = Workbook::new();
        wb.sheet(&rows, "grids")?
            .sheet(&communities, "communities")?;
        write_xlsx(wb, p)?;
    }
    if let Some(p) = &a.geojson {
        let fc = coverage_geojson(&ds, &rows, a.minutes);
        let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        let mut w = std::io::BufWriter::new(f);
        serde_json::to_writer(&mut w, &fc).with_context(|| format!("writing {}", p.display()))?;
        w.flush()?;
        eprintln!(
            "wrote {} grid polygons to {}",
            fc.features.len(),
            p.display()
        );
    }
    Ok(())
}

/// The tables `wangge report coverage` prints.
fn print_coverage(
    a: &CoverageArgs,
    service: ServiceKind,
    ds: &Dataset,
    rows: &[CoverageRow],
    communities: &[CommunityCoverage],
    buildings: usize,
    took: std::time::Duration,
) {
    println!(
        "{}-minute walking coverage of {} ({} places, {} buildings, {:.0} ms)",
        a.minutes,
        service.code(),
        ds.places
            .iter()
            .filter(|p| p.service == Some(service))
            .count(),
        buildings,
        took.as_secs_f64() * 1000.0
    );
    println!("\nby community");
    println!(
        "{:<24} {:>9} {:>9} {:>8} {:>13}",
        "community", "hh", "covered", "share", "alone beyond"
    );
    for c in communities {
        println!(
            "{:<24} {:>9} {:>9} {:>8} {:>8}/{:<5}",
            c.name.chars().take(22).collect::<String>(),
            c.households,
            c.covered,
            pct(c.covered_share),
            c.elderly_alone_beyond,
            c.elderly_alone
        );
    }
    println!("\nby comprehensive grid");
    println!(
        "{:<26} {:>7} {:>9} {:>9} {:>13}",
        "grid", "hh", "beyond", "mean min", "alone beyond"
    );
    for r in rows {
        let name = r.grid.map_or("(in no grid)".to_string(), |g| {
            area_name(
                ds,
                AreaKey {
                    level: AreaLevel::Comprehensive,
                    id: g.get(),
                },
            )
        });
        println!(
            "{:<26} {:>7} {:>9} {:>9} {:>8}/{:<5}",
            name.chars().take(24).collect::<String>(),
            r.households,
            pct(r.households_beyond_share),
            num(r.mean_minutes),
            r.elderly_alone_beyond,
            r.elderly_alone
        );
    }
}
