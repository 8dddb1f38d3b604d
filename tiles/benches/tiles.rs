//! Tile benchmarks (seeded inputs, prints a table):
//!
//! ```sh
//! cargo bench -p tiles --bench tiles            # full sizes
//! WANGGE_BENCH_QUICK=1 cargo bench -p tiles --bench tiles
//! ```
//!
//! - on-request `all` tile generation p50/p95 for z12–z16 over a synthetic
//!   town of 15,000 buildings and 30,000 events (one year), with k = 3
//!   (big screen: aggregated events) and k = 1 (leader: one point per event);
//! - heatmap re-aggregation for 30,000 and 1,000,000 events;
//! - full-pyramid PMTiles export z10–z17.

use std::hint::black_box;
use std::time::Instant;

use tiles::heatmap::{HeatFilter, HeatIndex, StatusClass};
use tiles::projection::{to_world, TileRange};
use tiles::sample::{self, SplitMix};
use tiles::{Layer, TileFilter, TileOptions, TileSet};

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::var_os("WANGGE_BENCH_QUICK").is_some();
    let (n_build, n_events, n_big) = if quick {
        (3_000, 30_000, 100_000)
    } else {
        (15_000, 30_000, 1_000_000)
    };
    println!(
        "tiles bench: synthetic town seed 42, {n_build} buildings, {n_events} events{}",
        if quick { " (quick)" } else { "" }
    );

    let t = Instant::now();
    let ds = sample::synthetic_town(42, n_build, n_events)?;
    let gen_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let set = TileSet::build(&ds, TileOptions::default());
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("generate {gen_s:.2} s, TileSet::build {build_ms:.0} ms\n");

    // k = 3: big screen / public (aggregated events); k = 1: leader (one point per event).
    let filter = TileFilter::at(sample::now());
    let leader = TileFilter {
        min_count: 1,
        ..filter.clone()
    };
    let bounds = set.bounds().ok_or("empty town")?;
    let nw = to_world(bounds[0], bounds[3]);
    let se = to_world(bounds[2], bounds[1]);
    let world = [nw[0], nw[1], se[0], se[1]];
    println!(
        "| zoom | k | tiles timed | p50 ms | p95 ms | max ms | max KB | mean KB | max gzip KB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (k, f) in [(3, &filter), (1, &leader)] {
        let mut rng = SplitMix::new(7);
        for z in 12..=16u8 {
            let range = TileRange::covering(z, world, 0.0);
            let mut all: Vec<(u32, u32)> = range.tiles().collect();
            // at most 300 tiles per zoom, seeded sample
            while all.len() > 300 {
                let i = rng.below(all.len() as u64) as usize;
                all.swap_remove(i);
            }
            let mut times = Vec::with_capacity(all.len());
            let (mut max_b, mut sum_b, mut max_gz) = (0usize, 0usize, 0usize);
            for (x, y) in &all {
                let t = Instant::now();
                let b = set.tile(Layer::All, z, *x, *y, f)?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                max_b = max_b.max(b.len());
                sum_b += b.len();
                max_gz = max_gz.max(tiles::gzip(&b)?.len());
                black_box(b);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "| {z} | {k} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} |",
                times.len(),
                pct(&times, 0.5),
                pct(&times, 0.95),
                times.last().copied().unwrap_or(f64::NAN),
                max_b as f64 / 1024.0,
                sum_b as f64 / 1024.0 / times.len().max(1) as f64,
                max_gz as f64 / 1024.0
            );
        }
    }

    println!("\n| heatmap | events | build ms | res | filter | aggregate ms (mean of 5) | cells |");
    println!("|---|---|---|---|---|---|---|");
    let t = Instant::now();
    let year = HeatIndex::build(&ds.events);
    let year_build = t.elapsed().as_secs_f64() * 1e3;
    let big_ds = sample::synthetic_town(43, n_build, n_big)?;
    let t = Instant::now();
    let big = HeatIndex::build(&big_ds.events);
    let big_build = t.elapsed().as_secs_f64() * 1e3;
    let now = sample::now();
    let filters = [
        ("all", HeatFilter::at(now)),
        (
            "90 days, overdue+open, 2 sources",
            HeatFilter {
                from: Some(now - chrono::Duration::days(90)),
                statuses: vec![StatusClass::Overdue, StatusClass::Open],
                sources: vec![
                    geo_core::model::EventSource::Hotline,
                    geo_core::model::EventSource::Resident,
                ],
                ..HeatFilter::at(now)
            },
        ),
    ];
    for (idx, n, build) in [(&year, n_events, year_build), (&big, n_big, big_build)] {
        for res in [7u8, 10] {
            for (name, f) in &filters {
                let mut cells = 0;
                let t = Instant::now();
                for _ in 0..5 {
                    cells = black_box(idx.aggregate(f, res)).len();
                }
                let ms = t.elapsed().as_secs_f64() * 1e3 / 5.0;
                println!("| H3 | {n} | {build:.0} | {res} | {name} | {ms:.2} | {cells} |");
            }
        }
    }

    let (zmax, label) = if quick {
        (15, "z10–z15")
    } else {
        (17, "z10–z17")
    };
    let dir = std::env::temp_dir().join(format!("wangge-tiles-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("town.pmtiles");
    let report =
        tiles::pmtiles_export::export_pmtiles(&set, &path, 10, zmax, &filter, &mut |_, _, _| {})?;
    println!("\n| export | tiles visited | tiles written | largest KB | archive MB | seconds |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| PMTiles {label} | {} | {} | {:.1} | {:.2} | {:.1} |",
        report.tiles_visited,
        report.tiles_written,
        report.largest_tile_bytes as f64 / 1024.0,
        report.archive_bytes as f64 / 1_048_576.0,
        report.seconds
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
