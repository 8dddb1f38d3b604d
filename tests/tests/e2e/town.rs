//! The town-scale demo (the README's default) within the source figures.

use geo_core::store::Scope;
use wangge_data::demo::{Scale, REFERENCE_YEAR};
use web_viewer::cli::demo::generate_into;

use crate::common::temp_db;

#[test]
fn town_demo_figures_are_within_source_ranges() {
    let mut store = crate::common::open_store(temp_db("town"));
    let t = std::time::Instant::now();
    generate_into(
        &mut store,
        Scale::Town,
        2026,
        wangge_data::demo::fixed_end(),
        false,
    )
    .expect("town demo");
    println!(
        "town demo generated and stored in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Ages against the generator's reference year, not today's: the share
    // aged 60+ of a fixed demo would otherwise drift year by year.
    let c = store.counts(&Scope::Town, REFERENCE_YEAR).expect("counts");
    let get = |k: &str| {
        c.elements
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| *v)
            .unwrap_or(0)
    };
    let grids = |k: &str| {
        c.grids_by_kind
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| *v)
            .unwrap_or(0)
    };
    assert!(
        (110_000..=140_000).contains(&c.residents),
        "residents {}",
        c.residents
    );
    assert_eq!(get("communities"), 12);
    assert!(
        (80..=95).contains(&grids("comprehensive")),
        "comprehensive {}",
        grids("comprehensive")
    );
    assert!(
        (70..=85).contains(&grids("dedicated")),
        "dedicated {}",
        grids("dedicated")
    );
    assert!(
        grids("micro") > grids("comprehensive") * 5,
        "micro {}",
        grids("micro")
    );
    let hh = get("households");
    assert!((40_000..=60_000).contains(&hh), "households {hh}");
    assert!(
        (0.17..=0.23).contains(&c.aged60_share),
        "aged 60+ {}",
        c.aged60_share
    );
    let full_months: Vec<u64> = c
        .events_per_month
        .iter()
        .map(|(_, n)| *n)
        .filter(|n| *n > 100)
        .collect();
    assert!(full_months.len() >= 12, "{:?}", c.events_per_month);
    assert!(
        full_months.iter().all(|n| (1_500..=5_000).contains(n)),
        "{:?}",
        c.events_per_month
    );
}
