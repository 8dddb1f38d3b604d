//! Precision and recall of the emerging-hotspot detector against the
//! clusters the demo generator plants (no store needed):
//! `cargo run --release -p analytics --example hotspots_demo -- [community|town] [seed] [fdr] [min_count]`.

use std::collections::HashMap;
use std::time::Instant;

use analytics::hotspots::{detect_all_weeks, score_against, HotspotInput, HotspotParams, Week};
use geo_core::taxonomy::EventCategory;
use h3o::CellIndex;
use wangge_data::demo::{self, Scale};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale = match args.first().map(String::as_str) {
        Some("town") => Scale::Town,
        _ => Scale::Community,
    };
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(7);
    let mut ds = geo_core::Dataset::default();
    let t = Instant::now();
    let summary = demo::generate(scale, seed, &mut ds, &mut |_| {}).expect("demo");
    eprintln!(
        "demo {scale:?} seed {seed}: {} events in {:.1} s",
        ds.events.len(),
        t.elapsed().as_secs_f64()
    );
    let offset = 8;
    let mut planted = Vec::new();
    for p in &summary.planted.hotspots {
        let (Ok(cell), Ok(cat)) = (
            CellIndex::try_from(p.h3_res9),
            EventCategory::parse(&p.category),
        ) else {
            continue;
        };
        for d in &p.week_starts {
            planted.push((cell, cat, Week::of_date(*d, offset)));
        }
    }
    // As `wangge report hotspots` does: merged duplicates left out.
    let evs: Vec<&geo_core::model::Event> = ds
        .events
        .iter()
        .filter(|e| e.status != geo_core::model::EventStatus::Merged)
        .collect();
    let input: Vec<HotspotInput> = evs.into_iter().map(HotspotInput::from).collect();
    let mut params = HotspotParams::default();
    if let Some(f) = args.get(2).and_then(|s| s.parse().ok()) {
        params.fdr = f;
    }
    if let Some(f) = args.get(3).and_then(|s| s.parse().ok()) {
        params.min_count = f;
    }
    let t = Instant::now();
    let found = detect_all_weeks(&input, &params).expect("detect");
    let s = score_against(&found, &planted);
    println!(
        "{} flags in {:.0} ms; planted {}: precision {:.3}, recall {:.3} (tp {}, fp {}, fn {})",
        found.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        planted.len(),
        s.precision,
        s.recall,
        s.true_positives,
        s.false_positives,
        s.false_negatives
    );
    let truth: std::collections::HashSet<_> = planted.iter().copied().collect();
    for (c, k, w) in &planted {
        let n = input
            .iter()
            .filter(|e| {
                e.category == *k
                    && Week::of(e.time, offset) == *w
                    && matches!(e.location, analytics::hotspots::Location::Point(p)
                        if h3o::LatLng::new(p.y(), p.x()).map(|ll| ll.to_cell(params.resolution) == *c).unwrap_or(false))
            })
            .count();
        let hit = found.iter().find(|h| {
            h.area == analytics::hotspots::Area::Cell(*c) && h.category == *k && h.week == *w
        });
        println!(
            "  planted {c} {} week {}: {n} events, {}",
            k.code(),
            w.0,
            hit.map_or("missed".to_string(), |h| format!(
                "flagged baseline {:.2} q {:.1e}",
                h.baseline, h.q_value
            ))
        );
    }
    let mut fp_by_count: HashMap<u32, usize> = HashMap::new();
    for h in &found {
        if let analytics::hotspots::Area::Cell(c) = h.area {
            if !truth.contains(&(c, h.category, h.week)) {
                *fp_by_count.entry(h.count).or_default() += 1;
                let near = planted.iter().any(|(pc, pk, pw)| {
                    *pc == c && *pk == h.category && (pw.0 - h.week.0).abs() <= 2
                });
                println!(
                    "  fp {} {} week {} count {} baseline {:.2} q {:.2e}{}",
                    c,
                    h.category.code(),
                    h.week.0,
                    h.count,
                    h.baseline,
                    h.q_value,
                    if near {
                        " (next to a planted week)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    let mut v: Vec<_> = fp_by_count.into_iter().collect();
    v.sort_unstable();
    println!("false positives by count: {v:?}");
}
