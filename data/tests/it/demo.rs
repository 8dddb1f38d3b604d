//! Demo generator: determinism, town and community figures, referential integrity.

use std::collections::HashSet;

use geo_core::model::{GridKind, PersonTag};
use geo_core::Dataset;
use wangge_data::demo::{generate, Scale, Summary};

fn run(scale: Scale, seed: u64) -> (Summary, Dataset) {
    let mut all = Dataset::default();
    let summary = generate(scale, seed, &mut all, &mut |_| {}).expect("generation failed");
    (summary, all)
}

#[test]
#[ignore]
fn print_summary() {
    let scale: Scale = std::env::var("SCALE")
        .unwrap_or("town".into())
        .parse()
        .unwrap();
    let t = std::time::Instant::now();
    let (s, d) = run(scale, 1);
    eprintln!("{:?}", t.elapsed());
    let mut s2 = s.clone();
    s2.planted.duplicates.clear();
    s2.planted.coverage.retain(|c| c.share() < 0.5);
    eprintln!("{s2:#?}");
    let mut hh_by_grid = std::collections::HashMap::<u64, u32>::new();
    let _ = (&d, &mut hh_by_grid);
}
