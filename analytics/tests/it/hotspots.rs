//! Emerging hotspots: a lasting outbreak stays flagged, and the planted
//! clusters of the demo generator are found with few false flags.

#![allow(clippy::unwrap_used)]

use analytics::hotspots::{
    detect, detect_all_weeks, score_against, Area, HotspotInput, HotspotParams, Location, Week,
};
use chrono::{Duration, NaiveTime, TimeZone, Utc};
use geo_core::model::EventStatus;
use geo_core::taxonomy::EventCategory;
use geo_types::Point;
use h3o::CellIndex;
use wangge_data::demo::{self, Scale};

/// `n` events of `cat` at `p` spread over week `w` (offset +8).
fn week_of_events(p: Point<f64>, cat: EventCategory, w: i64, n: u32) -> Vec<HotspotInput> {
    let start = Week(w).start(8);
    (0..n)
        .map(|i| HotspotInput {
            location: Location::Point(p),
            time: start + Duration::hours(1 + i64::from(i) * 160 / i64::from(n.max(1))),
            category: cat,
        })
        .collect()
}

#[test]
fn a_three_week_outbreak_does_not_hide_its_later_weeks() {
    let cat = EventCategory::all().next().unwrap();
    let here = Point::new(112.45, 34.62);
    let mut events = Vec::new();
    // A quiet background: one event every other week for 30 weeks, then
    // 12 a week for three weeks.
    for w in (3000..3030).step_by(2) {
        events.extend(week_of_events(here, cat, w, 1));
    }
    for w in 3030..3033 {
        events.extend(week_of_events(here, cat, w, 12));
    }
    let screened = HotspotParams::default();
    let plain = HotspotParams {
        outlier_p: None,
        ..screened
    };
    let q = |params: &HotspotParams, w: i64| {
        detect(&events, Week(w), params)
            .unwrap()
            .first()
            .map(|h| h.q_value)
    };
    for w in 3030..3033 {
        let (s, p) = (q(&screened, w), q(&plain, w));
        assert!(s.is_some(), "week {w} of the outbreak not flagged");
        if let (Some(s), Some(p)) = (s, p) {
            assert!(s <= p, "week {w}: screened q {s} above plain q {p}");
        }
    }
    assert!(
        q(&plain, 3032).is_none_or(|p| p > q(&screened, 3032).unwrap() * 10.0),
        "without the screen the third week is masked by the first two"
    );
    // Single-week and all-weeks detection agree on the outbreak weeks.
    let all = detect_all_weeks(&events, &screened).unwrap();
    for w in 3030..3033 {
        assert!(all.iter().any(|h| h.week == Week(w)), "week {w}");
    }
    let bad = HotspotParams {
        outlier_p: Some(1.5),
        ..screened
    };
    assert!(detect(&events, Week(3030), &bad).is_err());
}

#[test]
fn planted_demo_hotspots_are_found_with_few_false_flags() {
    for (scale, seed) in [(Scale::Community, 7), (Scale::Town, 2026)] {
        let mut ds = geo_core::Dataset::default();
        let summary = demo::generate(scale, seed, &mut ds, &mut |_| {}).unwrap();
        let mut planted = Vec::new();
        for p in &summary.planted.hotspots {
            let cell = CellIndex::try_from(p.h3_res9).unwrap();
            let cat = EventCategory::parse(&p.category).unwrap();
            for d in &p.week_starts {
                let noon = Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)) + Duration::hours(4);
                planted.push((cell, cat, Week::of(noon, 8)));
            }
        }
        let input: Vec<HotspotInput> = ds
            .events
            .iter()
            .filter(|e| e.status != EventStatus::Merged)
            .map(HotspotInput::from)
            .collect();
        let found = detect_all_weeks(&input, &HotspotParams::default()).unwrap();
        let s = score_against(&found, &planted);
        println!(
            "{scale:?} demo (seed {seed}): {} events, {} flags, {} planted cell-weeks: precision {:.2}, recall {:.2}",
            input.len(),
            found.len(),
            planted.len(),
            s.precision,
            s.recall
        );
        assert!(planted.len() >= 4);
        assert!(s.recall >= 0.8, "{scale:?}: {s:?}");
        assert!(s.precision >= 0.75, "{scale:?}: {s:?}");
        assert!(found.iter().all(|h| matches!(h.area, Area::Cell(_))));
    }
}
