//! Re-grids the demo town (or community) in memory, without a store, at
//! both levels and prints today's and the proposal's over/under-loaded
//! grids: `cargo run --release -p analytics --example regrid_demo -- [town|community] [seed]`.

use std::time::Instant;

use analytics::regrid::{regrid, RegridInput, RegridParams};
use geo_core::assign::{assign_dataset, ElementRef};
use geo_core::index::SpatialIndex;
use geo_core::model::GridKind;
use wangge_data::demo::{self, Scale};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (scale, seed) = match args.first().map(String::as_str) {
        Some("community") => (Scale::Community, 7),
        _ => (Scale::Town, 2026),
    };
    let seed = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(seed);
    let mut ds = geo_core::Dataset::default();
    demo::generate(scale, seed, &mut ds, &mut |_| {}).expect("demo");
    let index = SpatialIndex::build(&ds);
    let refs = assign_dataset(&ds, &index);
    let as_of = ds
        .events
        .iter()
        .map(|e| e.reported_at)
        .max()
        .unwrap_or_default();
    for (level, min, max) in [
        (GridKind::Comprehensive, 300, 500),
        (GridKind::Micro, 30, 80),
    ] {
        let input = RegridInput::from_dataset(&ds, level, as_of, |u| refs.get(ElementRef::Unit(u)));
        let params = if level == GridKind::Micro {
            RegridParams::micro(min, max)
        } else {
            RegridParams::comprehensive(min, max)
        };
        let t = Instant::now();
        let p = regrid(&input, &params, &mut |_| {}).expect("regrid");
        let r = &p.report;
        println!(
            "{} {min}–{max}: {} units, {:.1} s; today {} grids {} over {} under; proposal {} grids {} over {} under, {} where feasible",
            level.code(),
            input.units.len(),
            t.elapsed().as_secs_f64(),
            r.before.grids,
            r.before.over,
            r.before.under,
            r.after.grids,
            r.after.over,
            r.after.under,
            r.violations_where_feasible
        );
        for d in &r.diagnostics {
            let v = serde_json::to_value(d).unwrap_or_default();
            if v["kind"] != "dedicated_left_alone" && v["kind"] != "crossed_barrier" {
                println!("  {}", v);
            }
        }
    }
}
