//! Demo generation time and peak memory per scale, printed as a table.
//!
//! `cargo bench -p wangge-data --bench demo`; add `WANGGE_BENCH_PROVINCE=1`
//! for the province scale (≥ 10 million people, several minutes). Each scale
//! streams into a sink that only counts, as `wangge demo` does when writing
//! to the store batch by batch. Peak memory is the process high-water mark
//! (VmHWM) after the scale, so each row includes the rows before it; the
//! scales run smallest first.

use std::time::Instant;

use geo_core::{Dataset, DatasetSink};
use wangge_data::demo::{generate, Scale};

/// Counts and drops batches.
#[derive(Default)]
struct Counting {
    batches: u64,
    largest: usize,
}

impl DatasetSink for Counting {
    type Error = std::convert::Infallible;
    fn accept(&mut self, batch: Dataset) -> Result<(), Self::Error> {
        self.batches += 1;
        self.largest = self.largest.max(batch.len());
        Ok(())
    }
}

fn vm_hwm_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let mut scales = vec![Scale::Community, Scale::Town, Scale::District];
    if std::env::var("WANGGE_BENCH_PROVINCE").is_ok_and(|v| v == "1") {
        scales.push(Scale::Province);
    }
    println!(
        "| scale | seed | time s | persons | households | events | sentiments | batches | largest batch | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for scale in scales {
        let seed = 1;
        let mut sink = Counting::default();
        let t = Instant::now();
        match generate(scale, seed, &mut sink, &mut |_| {}) {
            Ok(s) => {
                let secs = t.elapsed().as_secs_f64();
                let hwm = vm_hwm_mib().map_or_else(|| "n/a".to_string(), |m| format!("{m:.0}"));
                println!(
                    "| {scale} | {seed} | {secs:.2} | {} | {} | {} | {} | {} | {} | {hwm} |",
                    s.persons, s.households, s.events, s.sentiments, sink.batches, sink.largest
                );
            }
            Err(e) => println!("| {scale} | {seed} | failed: {e} |"),
        }
    }
    if std::env::var("WANGGE_BENCH_PROVINCE").is_err() {
        println!("(province skipped; set WANGGE_BENCH_PROVINCE=1)");
    }
}
