//! Real-data onboarding throughput: OSM PBF import, household estimation,
//! incident CSV import. Inputs are the fixed files of `shared/data/real`;
//! each step runs `RUNS` times and the best and median are printed.
//!
//! `cargo bench -p wangge-data --bench realdata`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use wangge_data::estimate::{estimate_all, EstimateParams};
use wangge_data::incidents::{read_events, IncidentOptions};
use wangge_data::osm::{read_pbf, OsmOptions};

const RUNS: usize = 5;

fn real(name: &str) -> PathBuf {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/real"
    ))
    .join(name);
    if !p.is_file() {
        eprintln!("real-data file missing: {}", p.display());
        std::process::exit(2);
    }
    p
}

/// Runs `f` RUNS times; returns (best, median) and the last result.
fn time<T>(mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed());
        last = Some(out);
    }
    times.sort();
    match last {
        Some(out) => (times[0], times[RUNS / 2], out),
        None => unreachable!("RUNS > 0"),
    }
}

fn row(step: &str, items: u64, unit: &str, best: Duration, median: Duration) {
    let per_s = items as f64 / best.as_secs_f64();
    println!(
        "| {step:<28} | {items:>9} {unit:<10} | {:>9.1} | {:>9.1} | {per_s:>12.0} |",
        best.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3
    );
}

fn main() {
    let pbf = real("sf-downtown.osm.pbf");
    let csv = real("sf-incidents-downtown-2003-2015.csv.gz");
    println!("| step                         | input                |  best ms  | median ms |  items / s   |");
    println!("|------------------------------|----------------------|-----------|-----------|--------------|");

    let (best, median, imp) =
        time(|| read_pbf(&pbf, &OsmOptions::default()).map_err(|e| e.to_string()));
    let imp = match imp {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let elements = imp.report.nodes + imp.report.ways + imp.report.relations;
    row(
        "OSM import (sf-downtown)",
        elements,
        "elements",
        best,
        median,
    );
    let features = imp.report.buildings + imp.report.roads + imp.report.places;
    row("  → features kept", features, "features", best, median);

    let buildings = imp.dataset.buildings;
    let params = EstimateParams::default();
    let (best, median, report) = time(|| {
        let mut b = buildings.clone();
        estimate_all(&mut b, &params)
    });
    row(
        "household estimate",
        buildings.len() as u64,
        "buildings",
        best,
        median,
    );

    let opts = match IncidentOptions::sf_incidents() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let (best, median, ev) = time(|| read_events(&csv, &opts).map_err(|e| e.to_string()));
    let rows = match ev {
        Ok(i) => i.report.rows,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    row("incident CSV.gz import (SF)", rows, "rows", best, median);
    println!();
    println!(
        "estimated {} households in {} residential buildings (estimate includes cloning the buildings)",
        report.households, report.residential
    );
}
