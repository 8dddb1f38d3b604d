//! Demo generation time and peak memory per scale, printed as a table.
//!
//! `cargo bench -p wangge-data --bench demo`; add `WANGGE_BENCH_PROVINCE=1`
//! for the province scale (≥ 10 million people, several minutes), or name the
//! scales: `WANGGE_BENCH_SCALES=community,town`. Each scale runs in a child
//! process of its own (this binary re-run with `--one SCALE`), so the peak
//! memory of a row (the child's VmHWM) is that scale's alone. The generator
//! streams into a sink that only counts, as `wangge demo` streams into the
//! store batch by batch; `bench/demo/run.sh` measures `wangge demo` through
//! the real store.

use std::process::Command;
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

const SEED: u64 = 1;

/// Generates one scale in this process and prints its table row.
fn one(scale: Scale) {
    let mut sink = Counting::default();
    let t = Instant::now();
    match generate(scale, SEED, &mut sink, &mut |_| {}) {
        Ok(s) => {
            let secs = t.elapsed().as_secs_f64();
            let hwm = vm_hwm_mib().map_or_else(|| "n/a".to_string(), |m| format!("{m:.0}"));
            println!(
                "| {scale} | {SEED} | {secs:.2} | {hwm} | {} | {} | {} | {} | {} | {} |",
                s.persons, s.households, s.events, s.sentiments, sink.batches, sink.largest
            );
        }
        Err(e) => println!("| {scale} | {SEED} | failed: {e} |"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        match args.get(i + 1).map(|s| s.parse::<Scale>()) {
            Some(Ok(scale)) => one(scale),
            Some(Err(e)) => eprintln!("{e}"),
            None => eprintln!("--one needs a scale"),
        }
        return;
    }
    let scales: Vec<Scale> = match std::env::var("WANGGE_BENCH_SCALES") {
        Ok(list) => match list.split(',').map(str::parse).collect() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("WANGGE_BENCH_SCALES: {e}");
                return;
            }
        },
        Err(_) => {
            let mut s = vec![Scale::Community, Scale::Town, Scale::District];
            if std::env::var("WANGGE_BENCH_PROVINCE").is_ok_and(|v| v == "1") {
                s.push(Scale::Province);
            }
            s
        }
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot find this benchmark's executable: {e}");
            return;
        }
    };
    println!(
        "| scale | seed | time s | peak RSS MiB | persons | households | events | sentiments | batches | largest batch |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for scale in &scales {
        // One child per scale: its own peak memory, nothing left from the last.
        match Command::new(&exe).args(["--one", scale.as_str()]).status() {
            Ok(s) if s.success() => {}
            Ok(s) => println!("| {scale} | {SEED} | child failed: {s} |"),
            Err(e) => println!("| {scale} | {SEED} | cannot start child: {e} |"),
        }
    }
    if !scales.contains(&Scale::Province) {
        println!("(province skipped; set WANGGE_BENCH_PROVINCE=1)");
    }
}
