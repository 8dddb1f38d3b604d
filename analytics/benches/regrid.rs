//! Re-gridding benchmark: seeded synthetic towns of 500 to 50,000 units,
//! micro-grids of 30–80 households, `Max` mode. Prints run time, grids,
//! violations and the process's peak resident memory (VmHWM, monotonic:
//! sizes run in ascending order so each row's peak is its own or smaller).
//!
//! `cargo bench -p analytics --bench regrid` (optionally with sizes as
//! arguments: `-- 500 2000`).

use std::time::Instant;

use analytics::regrid::{regrid, synthetic_town, RegridParams};

fn vm_hwm_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![500, 2_000, 5_000, 10_000, 50_000];
    }
    println!(
        "{:>7} {:>10} {:>9} {:>6} {:>10} {:>9} {:>8} {:>9} {:>10}",
        "units",
        "households",
        "time_ms",
        "grids",
        "violations",
        "cut_edges",
        "cmp_split",
        "diagnost",
        "VmHWM_MiB"
    );
    for n in sizes {
        let input = synthetic_town(n, 42);
        let hh: u64 = input.units.iter().map(|u| u64::from(u.households)).sum();
        let params = RegridParams::micro(30, 80).with_seed(42);
        let t = Instant::now();
        let p = match regrid(&input, &params, &mut |_| {}) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{n} units: {e}");
                continue;
            }
        };
        let ms = t.elapsed().as_millis();
        println!(
            "{:>7} {:>10} {:>9} {:>6} {:>10} {:>9} {:>8} {:>9} {:>10.0}",
            n,
            hh,
            ms,
            p.grids.len(),
            p.report.violations,
            p.report.cut_edges,
            p.report.compounds_split,
            p.report.diagnostics.len(),
            vm_hwm_mib().unwrap_or(f64::NAN)
        );
    }
}
