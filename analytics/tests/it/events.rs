//! Event loop, indicators, hotspots and coverage, on small hand-made data
//! whose figures are worked out by hand in the comments.

// Helpers outside `#[test]` functions build fixed, valid fixtures.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use analytics::coverage::{coverage, CoverageParams, Origin, WalkGraph};
use analytics::events::dispatch::Handler;
use analytics::events::limits::{escalate, escalate_due, Calendar, EscalateError, SlaLevel};
use analytics::events::merge::{
    candidates, candidates_newest_first, merge, MergeError, MAX_COMPARED, MAX_PROPOSED,
};
use analytics::events::{EventRules, RulesError};
use analytics::hotspots::{
    detect, detect_all_weeks, score_against, HotspotInput, HotspotParams, Location, Week,
};
use analytics::indicators::{
    indicators, AreaKey, AreaLevel, AreaSize, IndicatorError, IndicatorInput, Window,
};
use analytics::table::{to_csv, to_xlsx};
use chrono::{DateTime, Duration, TimeZone, Utc};
use geo::{Distance, Haversine};
use geo_core::ids::{BuildingId, CommunityId, EventId, GridId, PlaceId, RoadId};
use geo_core::model::lifecycle::{
    allowed_targets, is_allowed, transition, LifecycleConfig, LifecycleError, Timeline,
};
use geo_core::model::{
    Event, EventSource, EventStatus, Grade, GridRefs, PersonTag, Place, PlaceCategory, Road,
    RoadClass, ServiceKind,
};
use geo_core::taxonomy::EventCategory;
use geo_types::{line_string, Geometry, Point};
use h3o::{CellIndex, LatLng, Resolution};

fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn cat(code: &str) -> EventCategory {
    EventCategory::parse(code).unwrap()
}

fn ev(id: u64, code: &str, at: DateTime<Utc>) -> Event {
    Event::reported(
        EventId::new(id).unwrap(),
        cat(code),
        "楼道堆放杂物",
        Point::new(116.4, 39.9),
        at,
        EventSource::Patrol,
    )
}

// ---------------------------------------------------------------- lifecycle

#[test]
fn every_allowed_transition_succeeds() {
    let cfg = LifecycleConfig::default();
    let t0 = t(2024, 5, 1, 8, 0);
    let mut n = 0;
    for &from in EventStatus::ALL {
        for &to in allowed_targets(from) {
            let mut e = ev(1, "02.05", t0);
            e.status = from;
            e.resolved_at = Some(t0 + Duration::hours(1));
            let at = t0 + Duration::hours(2);
            let tr = transition(&mut e, to, "tester", at, "note", &cfg)
                .unwrap_or_else(|err| panic!("{from} → {to}: {err}"));
            assert_eq!((tr.from, tr.to, tr.at), (from, to, at));
            assert_eq!(e.status, to);
            n += 1;
        }
    }
    assert_eq!(n, 23, "number of edges of the state machine");
}

#[test]
fn illegal_transitions_are_refused_with_from_to_and_targets() {
    let cfg = LifecycleConfig::default();
    let t0 = t(2024, 5, 1, 8, 0);
    let mut refused = 0;
    for &from in EventStatus::ALL {
        for &to in EventStatus::ALL {
            if is_allowed(from, to) {
                continue;
            }
            let mut e = ev(7, "02.05", t0);
            e.status = from;
            let err = transition(&mut e, to, "x", t0, "", &cfg).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("{} → {}", from.code(), to.code())),
                "{msg}"
            );
            assert!(matches!(err, LifecycleError::Illegal { .. }));
            assert_eq!(e.status, from, "state unchanged after refusal");
            refused += 1;
        }
    }
    assert_eq!(refused, 11 * 11 - 23);
    // spot checks of the message
    let mut e = ev(7, "02.05", t0);
    let msg = transition(&mut e, EventStatus::Closed, "x", t0, "", &cfg)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("allowed from reported: accepted, rejected, merged"),
        "{msg}"
    );
    e.status = EventStatus::Merged;
    let msg = transition(&mut e, EventStatus::Reopened, "x", t0, "", &cfg)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("none (final state)"), "{msg}");
}

#[test]
fn full_loop_and_reopen_window() {
    let cfg = LifecycleConfig {
        reopen_window: Duration::days(3),
    };
    let t0 = t(2024, 5, 1, 8, 0);
    let mut e = ev(3, "02.05", t0);
    let mut tl = Timeline::default();
    use EventStatus::*;
    let steps = [Accepted, Dispatched, InProgress, Resolved, Reviewed, Closed];
    for (i, s) in steps.iter().enumerate() {
        tl.apply(
            &mut e,
            *s,
            "w",
            t0 + Duration::hours(i as i64 + 1),
            "",
            &cfg,
        )
        .unwrap();
    }
    assert_eq!(e.resolved_at, Some(t0 + Duration::hours(4)));
    // closed at t0+6h: reopen at +3 days is fine, at +3 days +7 h is not
    let mut late = e.clone();
    let mut tl2 = tl.clone();
    let err = tl2
        .apply(
            &mut late,
            Reopened,
            "resident",
            t0 + Duration::hours(6 + 72 + 1),
            "",
            &cfg,
        )
        .unwrap_err();
    assert!(
        matches!(err, LifecycleError::ReopenWindowPassed { window_h: 72, .. }),
        "{err}"
    );
    tl.apply(
        &mut e,
        Reopened,
        "resident",
        t0 + Duration::hours(6 + 72),
        "still noisy",
        &cfg,
    )
    .unwrap();
    assert_eq!(e.resolved_at, None, "reopened work is owed again");
    assert_eq!(tl.reopen_count(), 1);
    // before the report time
    let mut f = ev(4, "02.05", t0);
    let err = transition(&mut f, Accepted, "x", t0 - Duration::hours(1), "", &cfg).unwrap_err();
    assert!(matches!(err, LifecycleError::BeforeReport { .. }));
}

// ----------------------------------------------------------------- dispatch

fn refs(community: u64, grid: u64, dedicated: Option<u64>) -> GridRefs {
    GridRefs {
        community: Some(CommunityId::new(community).unwrap()),
        comprehensive: Some(GridId::new(grid).unwrap()),
        micro: None,
        dedicated: dedicated.map(|d| GridId::new(d).unwrap()),
    }
}

#[test]
fn dispatch_first_match_wins_and_falls_back() {
    let rules = EventRules::builtin().unwrap();
    let t0 = t(2024, 5, 1, 8, 0);
    let plain = refs(1, 1, None);
    let dept = |s: &str| Handler::Department(s.into());

    let fire = ev(1, "04.01", t0);
    let a = rules.dispatch(&fire, &plain);
    assert_eq!(a.lead, dept("fire_service"));
    assert_eq!(a.assist, vec![dept("property_security")]);
    assert_eq!(a.rule_name, "fire safety");
    // the same hazard in a dedicated grid (a school) takes the first rule
    let a = rules.dispatch(&fire, &refs(1, 1, Some(900)));
    assert_eq!((a.rule, a.lead.clone()), (Some(1), dept("fire_service")));
    assert!(a.assist.contains(&Handler::GridWorker));

    let mut dispute = ev(2, "01.01", t0);
    assert_eq!(
        rules.dispatch(&dispute, &plain).lead,
        dept("people_mediator")
    );
    dispute.grade = Grade::Urgent;
    assert_eq!(
        rules.dispatch(&dispute, &plain).lead,
        dept("judicial_mediation")
    );

    let mut parking = ev(3, "02.01", t0);
    assert_eq!(rules.dispatch(&parking, &plain).lead, Handler::GridWorker);
    parking.grade = Grade::Major;
    assert_eq!(
        rules.dispatch(&parking, &plain).lead,
        dept("urban_management")
    );

    let other = ev(4, "09.01", t0);
    let a = rules.dispatch(&other, &plain);
    assert_eq!(
        (a.lead, a.rule, a.rule_name.as_str()),
        (Handler::Community, None, "fallback")
    );
}

#[test]
fn rules_load_from_path_and_errors_name_file_rule_and_value() {
    let dir = std::env::temp_dir().join(format!("wangge-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("town.toml");
    std::fs::write(
        &good,
        "fallback = \"town\"\n[[rule]]\nname = \"all noise to grid\"\ncategory = [\"02.05\"]\nhandler = \"grid\"\n",
    )
    .unwrap();
    let r = EventRules::load(&good).unwrap();
    assert_eq!(r.fallback, Handler::Town);
    assert_eq!(r.rules.len(), 1);

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nhandler = \"grid\"\n[[rule]]\nname = \"x\"\ngrade = [\"very urgent\"]\nhandler = \"grid\"\n",
    )
    .unwrap();
    let e = EventRules::load(&bad).unwrap_err();
    assert!(
        matches!(
            e,
            RulesError::Rule {
                index: 2,
                field: "grade",
                ..
            }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("bad.toml") && msg.contains("very urgent"),
        "{msg}"
    );

    let missing = dir.join("nope.toml");
    let msg = EventRules::load(&missing).unwrap_err().to_string();
    assert!(msg.contains("nope.toml"), "{msg}");

    let msg = EventRules::parse("[limits]\nyellow = 0.95\nred = 0.5\n", "l.toml")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("limits.yellow/red") && msg.contains("0.95"),
        "{msg}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

// ------------------------------------------------------------------- limits

#[test]
fn deadline_across_midnight_in_shanghai() {
    let rules = EventRules::builtin().unwrap();
    // Noise (24 h, general) reported 22:30 Beijing time on 31 Dec = 14:30 UTC.
    let at = t(2024, 12, 31, 14, 30);
    let d = rules.limits.deadline(at, cat("02.05"), Grade::General);
    assert_eq!(d, t(2025, 1, 1, 14, 30));
    // Urgent gas leak: 2 h override, across local midnight 23:30 → 01:30.
    let at = t(2024, 12, 31, 15, 30);
    assert_eq!(
        rules.limits.deadline(at, cat("04.03"), Grade::Urgent),
        t(2024, 12, 31, 17, 30)
    );
    // Minor noise: 24 × 1.5 = 36 h.
    assert_eq!(
        rules.limits.deadline(at, cat("02.05"), Grade::Minor),
        at + Duration::hours(36)
    );
}

#[test]
fn local_days_keep_wall_clock_across_dst() {
    let mut rules = EventRules::builtin().unwrap();
    rules.limits.tz = chrono_tz::America::New_York;
    // Neighbour dispute: 72 h. Reported Sat 9 Mar 2024 12:00 EST (17:00 UTC);
    // DST starts Sun 10 Mar.
    let at = t(2024, 3, 9, 17, 0);
    rules.limits.calendar = Calendar::Elapsed;
    assert_eq!(
        rules.limits.deadline(at, cat("01.01"), Grade::General),
        t(2024, 3, 12, 17, 0)
    );
    rules.limits.calendar = Calendar::LocalDays;
    // Tue 12 Mar 12:00 EDT = 16:00 UTC: 71 real hours.
    let d = rules.limits.deadline(at, cat("01.01"), Grade::General);
    assert_eq!(d, t(2024, 3, 12, 16, 0));
    // and back in November: 73 real hours
    let at = t(2024, 11, 2, 16, 0); // Sat 12:00 EDT
    assert_eq!(
        rules.limits.deadline(at, cat("01.01"), Grade::General),
        t(2024, 11, 5, 17, 0)
    );
    // a 36 h limit (minor noise) = 1 local day + 12 h
    let at = t(2024, 3, 9, 17, 0);
    assert_eq!(
        rules.limits.deadline(at, cat("02.05"), Grade::Minor),
        t(2024, 3, 10, 16, 0) + Duration::hours(12)
    );
}

#[test]
fn working_calendar_counts_only_office_hours() {
    let mut rules = EventRules::builtin().unwrap();
    rules.limits.calendar = Calendar::Working {
        start_h: 9,
        end_h: 18,
    };
    // Noise 24 working hours from Thu 2 May 2024 17:00 Beijing (09:00 UTC):
    // Thu 1 h, Fri 9 h, Mon 9 h, Tue 5 h → Tue 7 May 14:00 Beijing = 06:00 UTC.
    let at = t(2024, 5, 2, 9, 0);
    let d = rules.limits.deadline(at, cat("02.05"), Grade::General);
    assert_eq!(d, t(2024, 5, 7, 6, 0));
    let mut e = ev(1, "02.05", at);
    e.status = EventStatus::InProgress;
    // Saturday: 10 of 24 working hours used → green
    let s = rules.limits.sla(&e, t(2024, 5, 4, 4, 0));
    assert_eq!(s.level, SlaLevel::Green);
    assert!((s.used - 10.0 / 24.0).abs() < 1e-9, "{}", s.used);
}

#[test]
fn sla_levels_and_resolution_stops_the_clock() {
    let rules = EventRules::builtin().unwrap();
    let t0 = t(2024, 5, 1, 0, 0);
    let mut e = ev(1, "02.05", t0); // 24 h
    e.status = EventStatus::InProgress;
    let at = |h: i64| t0 + Duration::hours(h);
    assert_eq!(rules.limits.sla(&e, at(10)).level, SlaLevel::Green);
    assert_eq!(rules.limits.sla(&e, at(20)).level, SlaLevel::Yellow);
    assert_eq!(rules.limits.sla(&e, at(22)).level, SlaLevel::Red);
    let s = rules.limits.sla(&e, at(30));
    assert_eq!(s.level, SlaLevel::Overdue);
    assert_eq!(s.remaining, Duration::hours(-6));
    assert_eq!(s.elapsed, Duration::hours(30));
    e.resolved_at = Some(at(12));
    e.status = EventStatus::Resolved;
    let s = rules.limits.sla(&e, at(100));
    assert_eq!((s.level, s.elapsed), (SlaLevel::Green, Duration::hours(12)));
    // a stored deadline wins over the computed one
    e.resolved_at = None;
    e.deadline = Some(at(10));
    assert_eq!(rules.limits.sla(&e, at(11)).level, SlaLevel::Overdue);
}

#[test]
fn escalation_climbs_grid_community_town_department() {
    let rules = EventRules::builtin().unwrap();
    let cfg = rules.lifecycle;
    let t0 = t(2024, 5, 1, 0, 0);
    let mut e = ev(1, "04.01", t0);
    e.handler = Some("grid".into());
    e.status = EventStatus::InProgress;
    let mut chain = vec![];
    for k in 0..3 {
        let at = t0 + Duration::hours(k + 1);
        let x = escalate(&mut e, &rules, "system", at).unwrap();
        assert_eq!(e.status, EventStatus::Escalated);
        assert_eq!(
            e.deadline,
            Some(rules.limits.deadline(at, e.category, e.grade))
        );
        chain.push(x.to.code());
        transition(&mut e, EventStatus::Dispatched, "system", at, "", &cfg).unwrap();
    }
    assert_eq!(chain, ["community", "town", "dept:fire_service"]);
    let err = escalate(&mut e, &rules, "system", t0 + Duration::hours(5)).unwrap_err();
    assert!(matches!(err, EscalateError::TopLevel { .. }), "{err}");
    // no department rule for "other" → the configured department
    let mut o = ev(2, "09.01", t0);
    o.handler = Some("town".into());
    o.status = EventStatus::Dispatched;
    let x = escalate(&mut o, &rules, "system", t0).unwrap();
    assert_eq!(x.to.code(), "dept:comprehensive_enforcement");
    // escalating again without re-dispatch climbs one more level
    let mut g = ev(3, "02.05", t0);
    g.handler = Some("grid".into());
    g.status = EventStatus::InProgress;
    escalate(&mut g, &rules, "system", t0).unwrap();
    let x = escalate(&mut g, &rules, "system", t0).unwrap();
    assert_eq!(
        (x.transition.from, x.transition.to, x.to.code()),
        (
            EventStatus::Escalated,
            EventStatus::Escalated,
            "town".into()
        )
    );
    assert!(x.transition.note.contains("community → town"), "{:?}", x);
}

#[test]
fn escalate_due_moves_only_red_open_events() {
    let rules = EventRules::builtin().unwrap();
    let t0 = t(2024, 5, 1, 0, 0);
    let mk = |id, h: i64, status| {
        let mut e = ev(id, "02.05", t0 - Duration::hours(h));
        e.handler = Some("grid".into());
        e.status = status;
        e
    };
    let mut evs = vec![
        mk(1, 5, EventStatus::InProgress),  // green
        mk(2, 23, EventStatus::InProgress), // red (96 %)
        mk(3, 30, EventStatus::Dispatched), // overdue
        mk(4, 30, EventStatus::Reviewed),   // not open
    ];
    let moved = escalate_due(&mut evs, &rules, "sla-watch", t0);
    assert!(moved.iter().all(|o| o.result.is_ok()), "{moved:?}");
    let idx: Vec<usize> = moved.iter().map(|o| o.index).collect();
    assert_eq!(idx, [1, 2]);
    assert_eq!(evs[1].handler.as_deref(), Some("community"));
    assert_eq!(evs[0].handler.as_deref(), Some("grid"));
}

#[test]
fn intake_sets_handler_deadline_and_proposes_duplicates() {
    let rules = EventRules::builtin().unwrap();
    let t0 = t(2024, 5, 1, 8, 0);
    let earlier = ev(1, "04.01", t0 - Duration::hours(3));
    let mut new = ev(2, "04.01", t0);
    let got = rules.intake(&mut new, &refs(1, 1, None), std::slice::from_ref(&earlier));
    assert_eq!(new.handler.as_deref(), Some("dept:fire_service"));
    assert_eq!(new.deadline, Some(t0 + Duration::hours(24)));
    assert_eq!(got.deadline, t0 + Duration::hours(24));
    assert_eq!(got.candidates.len(), 1);
    assert_eq!(got.candidates[0].id, earlier.id);
}

// -------------------------------------------------------------------- merge

/// A burst of identical reports at one place: an intake compares the
/// most recent MAX_COMPARED by text (not all of them) and proposes the best
/// MAX_PROPOSED, the most recent first.
#[test]
fn a_burst_of_identical_reports_is_compared_and_proposed_within_caps() {
    let rules = EventRules::builtin().unwrap();
    let t0 = t(2024, 5, 1, 8, 0);
    let n = MAX_COMPARED + 300;
    let existing: Vec<Event> = (0..n)
        .map(|i| {
            let mut e = ev(i as u64 + 1, "04.01", t0 - Duration::seconds(60 * i as i64));
            e.title = "3号楼楼道堆放杂物".into();
            e
        })
        .collect();
    let newest: Vec<usize> = (0..n).collect(); // already newest first
    let mut new = ev(100_000, "04.01", t0 + Duration::seconds(30));
    new.title = "3号楼楼道堆放杂物".into();
    let all = candidates(&new, &existing, &rules.merge);
    assert_eq!(all.len(), n, "the full scan finds every one");
    let compared = candidates_newest_first(&new, &existing, &newest, &rules.merge);
    assert_eq!(compared.len(), MAX_COMPARED);
    assert!(
        compared.iter().all(|c| c.index < MAX_COMPARED),
        "only the most recent are compared"
    );
    let got = rules.intake_newest_first(&mut new, &refs(1, 1, None), &existing, &newest);
    let ids: Vec<u64> = got.candidates.iter().map(|c| c.id.get()).collect();
    assert_eq!(ids, (1..=MAX_PROPOSED as u64).collect::<Vec<_>>());
}

proptest::proptest! {
    /// The windowed search of a view (positions newest first, binary search
    /// on the time window) finds exactly what the full scan finds, for
    /// events spread over days and ties in report time.
    #[test]
    fn windowed_candidates_equal_the_full_scan(
        spec in proptest::collection::vec((0i64..240, 0u8..3, 0u8..4, 0u8..3), 0..120),
        at_h in 0i64..240,
    ) {
        let rules = EventRules::builtin().unwrap();
        let t0 = t(2024, 5, 1, 0, 0);
        let codes = ["04.01", "02.05", "09.01"];
        let titles = ["3号楼楼道堆放杂物", "3号楼楼道杂物堆放", "电动车充电", "路灯不亮"];
        let existing: Vec<Event> = spec
            .iter()
            .enumerate()
            .map(|(i, &(h, code, title, dx))| {
                let mut e = ev(i as u64 + 1, codes[code as usize], t0 + Duration::hours(h));
                e.location = Point::new(116.4 + f64::from(dx) * 30.0 / 85_000.0, 39.9);
                e.title = titles[title as usize].into();
                e
            })
            .collect();
        let mut newest: Vec<usize> = (0..existing.len()).collect();
        newest.sort_by_key(|&i| std::cmp::Reverse(existing[i].reported_at));
        let mut new = ev(10_000, "04.01", t0 + Duration::hours(at_h));
        new.title = titles[0].into();
        let all = candidates(&new, &existing, &rules.merge);
        let windowed = candidates_newest_first(&new, &existing, &newest, &rules.merge);
        let key = |c: &Vec<analytics::events::merge::Candidate>| {
            c.iter().map(|c| (c.id, c.index)).collect::<Vec<_>>()
        };
        proptest::prop_assert_eq!(key(&all), key(&windowed));
    }
}

#[test]
fn duplicates_are_proposed_and_merged() {
    let rules = EventRules::builtin().unwrap();
    let t0 = t(2024, 5, 1, 8, 0);
    let mut new = ev(10, "04.01", t0);
    new.title = "3号楼楼道堆放杂物".into();
    let near = |id, dx_m: f64, h: i64, code: &str, title: &str| {
        let mut e = ev(id, code, t0 - Duration::hours(h));
        e.location = Point::new(116.4 + dx_m / 85_000.0, 39.9);
        e.title = title.into();
        e
    };
    let existing = vec![
        near(1, 20.0, 5, "04.01", "3号楼楼道杂物堆放"), // yes
        near(2, 60.0, 48, "04.01", "三号楼楼道堆放杂物"), // yes, weaker
        near(3, 250.0, 5, "04.01", "3号楼楼道堆放杂物"), // too far
        near(4, 20.0, 100, "04.01", "3号楼楼道堆放杂物"), // too old
        near(5, 20.0, 5, "02.05", "3号楼楼道堆放杂物"), // other category
        near(6, 20.0, 5, "04.01", "电动车充电"),        // other matter
    ];
    let c = candidates(&new, &existing, &rules.merge);
    let ids: Vec<u64> = c.iter().map(|c| c.id.get()).collect();
    assert_eq!(ids, [1, 2]);
    assert!(c[0].score > c[1].score);
    assert!((c[0].distance_m - 20.0).abs() < 1.0, "{}", c[0].distance_m);

    let master = existing[0].clone();
    let mut dup = new.clone();
    let mut dup2 = existing[1].clone();
    dup2.status = EventStatus::Accepted;
    let ts = merge(
        &master,
        [&mut dup, &mut dup2],
        "intake",
        t0,
        &rules.lifecycle,
    )
    .unwrap();
    assert_eq!(ts.len(), 2);
    for d in [&dup, &dup2] {
        assert_eq!(d.status, EventStatus::Merged);
        assert_eq!(d.master, Some(master.id));
    }
    // being handled → refused, and nothing changes
    let mut a = new.clone();
    let mut b = existing[1].clone();
    b.status = EventStatus::InProgress;
    let err = merge(&master, [&mut a, &mut b], "intake", t0, &rules.lifecycle).unwrap_err();
    assert!(matches!(err, MergeError::State { .. }), "{err}");
    assert_eq!(a.status, EventStatus::Reported);
    let mut s = master.clone();
    assert_eq!(
        merge(&master, [&mut s], "x", t0, &rules.lifecycle).unwrap_err(),
        MergeError::SelfMerge { id: master.id }
    );
}

// --------------------------------------------------------------- indicators

#[test]
fn indicators_on_a_hand_made_week() {
    let w = Window {
        from: t(2024, 5, 6, 0, 0),
        to: t(2024, 5, 13, 0, 0),
    };
    let base = w.from + Duration::hours(1);
    let mut events = Vec::new();
    let mut grid_refs = Vec::new();
    let mut reopened = Vec::new();
    // Grid 1 (community 10): five resolved events, 2/4/6/8/10 h;
    // handled by grid, grid, grid, dept, dept; ratings 5,4,3,5,– .
    let handlers = ["grid", "grid", "grid", "dept:police", "dept:police"];
    let ratings = [Some(5), Some(4), Some(3), Some(5), None];
    for i in 0..5 {
        let mut e = ev(i + 1, if i < 3 { "02.05" } else { "06.01" }, base);
        e.handler = Some(handlers[i as usize].into());
        e.resolved_at = Some(base + Duration::hours(2 * (i as i64 + 1)));
        e.satisfaction = ratings[i as usize];
        e.status = EventStatus::Closed;
        e.deadline = Some(base + Duration::hours(7)); // the 8 h and 10 h ones are late
        events.push(e);
        grid_refs.push(refs(10, 1, None));
        reopened.push(i == 0);
    }
    // Grid 1: one open, overdue at the window end; one merged duplicate.
    let mut open = ev(6, "02.05", base);
    open.status = EventStatus::InProgress;
    open.handler = Some("grid".into());
    open.source = EventSource::Hotline;
    open.deadline = Some(base + Duration::hours(24));
    events.push(open);
    let mut dup = ev(7, "02.05", base);
    dup.status = EventStatus::Merged;
    events.push(dup);
    grid_refs.extend([refs(10, 1, None), refs(10, 1, None)]);
    reopened.extend([false, false]);
    // Grid 2 (community 10): one event; previous week two events in grid 1.
    events.push(ev(8, "03.02", base));
    grid_refs.push(refs(10, 2, None));
    reopened.push(false);
    for id in [9, 10] {
        let mut e = ev(id, "02.05", base - Duration::days(7));
        e.handler = Some("grid".into());
        e.resolved_at = Some(e.reported_at + Duration::hours(1));
        events.push(e);
        grid_refs.push(refs(10, 1, None));
        reopened.push(false);
    }
    // and one outside both windows
    events.push(ev(11, "02.05", base - Duration::days(30)));
    grid_refs.push(refs(10, 1, None));
    reopened.push(false);

    let g1 = AreaKey {
        level: AreaLevel::Comprehensive,
        id: 1,
    };
    let c10 = AreaKey {
        level: AreaLevel::Community,
        id: 10,
    };
    let sizes = HashMap::from([
        (
            g1,
            AreaSize {
                households: 400,
                persons: 1100,
                grid_workers: 2,
            },
        ),
        (
            c10,
            AreaSize {
                households: 800,
                persons: 2200,
                grid_workers: 4,
            },
        ),
    ]);
    let input = IndicatorInput {
        events: &events,
        refs: &grid_refs,
        sizes: &sizes,
        reopened: Some(&reopened),
        workers: None,
    };
    let rep = indicators(&input, w).unwrap();
    let row = |k: AreaKey| rep.rows.iter().find(|r| r.area == k).unwrap();
    let r = row(g1);
    assert_eq!((r.events, r.merged, r.resolved), (6, 1, 5));
    assert_eq!(r.median_handling_h, Some(6.0));
    // p90 of 2,4,6,8,10 (type 7): rank 0.9 × 4 = 3.6 → 8 + 0.6 × 2 = 9.2
    assert!((r.p90_handling_h.unwrap() - 9.2).abs() < 1e-9);
    assert_eq!(r.closed_in_grid_share, Some(0.6));
    assert_eq!(r.overdue, 3, "8 h, 10 h resolved late and the open one");
    assert_eq!(r.rated, 4);
    assert_eq!(r.satisfaction_mean, Some(4.25));
    assert_eq!(r.satisfaction_share, Some(0.75));
    assert_eq!(r.reopen_rate, Some(0.2), "1 of 5 closed events reopened");
    assert_eq!(
        r.workload_per_worker,
        Some(2.0),
        "4 grid-handled / 2 workers"
    );
    assert_eq!(r.events_per_1000_households, Some(15.0));
    assert_eq!((r.prev_events, r.events_change), (2, Some(2.0)));
    assert_eq!(r.prev_median_handling_h, Some(1.0));
    let c = row(c10);
    assert_eq!(c.events, 7);
    let town = row(AreaKey {
        level: AreaLevel::Town,
        id: 0,
    });
    assert_eq!(town.events, 7);
    let hotline = rep
        .breakdown
        .iter()
        .find(|b| b.area == g1 && b.dimension == "source" && b.key == "hotline")
        .unwrap();
    assert_eq!((hotline.count, hotline.prev_count), (1, 0));
    let noise = rep
        .breakdown
        .iter()
        .find(|b| b.area == g1 && b.key == "02.05")
        .unwrap();
    assert_eq!((noise.count, noise.prev_count), (4, 2));

    let mut csv = Vec::new();
    to_csv(&rep.rows, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("\u{feff}level,area_id,from,to,households,events"));
    assert_eq!(csv.lines().count(), rep.rows.len() + 1);
    assert_eq!(&to_xlsx(&rep.breakdown, "breakdown").unwrap()[..2], b"PK");

    let bad = IndicatorInput {
        refs: &grid_refs[..3],
        ..input
    };
    assert_eq!(
        indicators(&bad, w).unwrap_err(),
        IndicatorError::Misaligned {
            what: "refs",
            got: 3,
            events: events.len()
        }
    );
}

#[test]
fn indicators_per_worker_count_the_events_of_the_grids_they_serve() {
    let w = Window {
        from: t(2024, 6, 1, 0, 0),
        to: t(2024, 6, 8, 0, 0),
    };
    // Grid 1 has workers 1 and 2; grid 2 has worker 3; worker 4 serves the
    // dedicated grid 9, which overlays grid 1.
    let workers = HashMap::from([(1, vec![1, 2]), (2, vec![3]), (9, vec![4])]);
    let mut events = Vec::new();
    let mut grid_refs = Vec::new();
    for (id, grid, dedicated) in [(1, 1, None), (2, 1, Some(9)), (3, 2, None)] {
        let mut e = ev(id, "02.05", t(2024, 6, 2, 8, 0));
        e.handler = Some("grid".into());
        e.resolved_at = Some(e.reported_at + Duration::hours(4));
        events.push(e);
        grid_refs.push(refs(10, grid, dedicated));
    }
    let key = |id| AreaKey {
        level: AreaLevel::Worker,
        id,
    };
    let sizes = HashMap::from([(
        key(1),
        AreaSize {
            households: 400,
            persons: 1000,
            grid_workers: 2,
        },
    )]);
    let input = IndicatorInput {
        events: &events,
        refs: &grid_refs,
        sizes: &sizes,
        reopened: None,
        workers: Some(&workers),
    };
    let rep = indicators(&input, w).unwrap();
    let row = |id| rep.rows.iter().find(|r| r.area == key(id)).unwrap();
    assert_eq!(row(1).events, 2);
    assert_eq!(row(2).events, 2);
    assert_eq!(row(3).events, 1);
    assert_eq!(row(4).events, 1, "the dedicated grid's event only");
    assert_eq!(
        row(1).workload_per_worker,
        Some(1.0),
        "2 events / 2 workers"
    );
    assert_eq!(row(1).events_per_1000_households, Some(5.0));
    assert_eq!(AreaLevel::Worker.code(), "worker");
    // Without the map no worker row exists, and the other rows do not change.
    let plain = indicators(
        &IndicatorInput {
            workers: None,
            ..input
        },
        w,
    )
    .unwrap();
    assert!(plain.rows.iter().all(|r| r.area.level != AreaLevel::Worker));
    let areas = |r: &analytics::indicators::IndicatorReport| {
        r.rows
            .iter()
            .filter(|x| x.area.level != AreaLevel::Worker)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(areas(&plain), areas(&rep));
}

// ----------------------------------------------------------------- hotspots

/// SplitMix64: a small seeded generator, enough for synthetic counts.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn poisson(&mut self, lambda: f64) -> u32 {
        let l = (-lambda).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.unit();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

fn cells(n: usize) -> Vec<CellIndex> {
    let c = LatLng::new(31.2304, 121.4737)
        .unwrap()
        .to_cell(Resolution::Nine);
    c.grid_disk::<Vec<_>>(10).into_iter().take(n).collect()
}

fn synthetic(
    rng: &mut Rng,
    cells: &[CellIndex],
    weeks: i64,
    lambda: f64,
    planted: &[(CellIndex, EventCategory, Week)],
) -> Vec<HotspotInput> {
    let cats = [cat("02.05"), cat("04.04"), cat("06.01")];
    let w0 = Week::of(t(2024, 1, 8, 0, 0), 8);
    let mut out = Vec::new();
    for w in 0..weeks {
        let week = Week(w0.0 + w);
        let start = week.start(8);
        for &cell in cells {
            for &c in &cats {
                let l = if planted.contains(&(cell, c, week)) {
                    lambda * 10.0 + 5.0
                } else {
                    lambda
                };
                for _ in 0..rng.poisson(l) {
                    let off = (rng.unit() * 7.0 * 86_400.0) as i64;
                    out.push(HotspotInput {
                        location: Location::Cell(cell),
                        time: start + Duration::seconds(off),
                        category: c,
                    });
                }
            }
        }
    }
    out
}

#[test]
fn hotspot_found_in_spiked_data_and_rare_in_flat_data() {
    let mut rng = Rng(42);
    let cs = cells(150);
    let w0 = Week::of(t(2024, 1, 8, 0, 0), 8);
    let planted = vec![
        (cs[3], cat("04.04"), Week(w0.0 + 20)),
        (cs[77], cat("02.05"), Week(w0.0 + 24)),
        (cs[120], cat("06.01"), Week(w0.0 + 24)),
    ];
    let params = HotspotParams::default();
    let spiked = synthetic(&mut rng, &cs, 26, 1.5, &planted);
    let week20 = detect(&spiked, Week(w0.0 + 20), &params).unwrap();
    assert!(
        week20.iter().any(|h| (h.area, h.category) == (analytics::hotspots::Area::Cell(cs[3]), cat("04.04"))),
        "{week20:?}"
    );
    let all = detect_all_weeks(&spiked, &params).unwrap();
    let score = score_against(&all, &planted);
    eprintln!("planted spikes: {score:?}");
    assert_eq!(score.recall, 1.0, "{score:?}");
    assert!(score.precision >= 0.5, "{score:?}");
    let h = all.iter().find(|h| h.week == Week(w0.0 + 20)).unwrap();
    assert!(h.p_value < 1e-4 && h.z > 3.0 && h.q_value <= 0.05, "{h:?}");

    // Flat data: 150 cells × 3 categories × 14 tested weeks = 6,300 tests.
    let flat = synthetic(&mut Rng(7), &cs, 26, 1.5, &[]);
    let fp = detect_all_weeks(&flat, &params).unwrap();
    eprintln!("false positives in flat data: {} of 6300 tests", fp.len());
    assert!(fp.len() <= 3, "{fp:?}");
}

// ----------------------------------------------------------------- coverage

fn road(id: u64, pts: &[(f64, f64)]) -> Road {
    Road {
        id: RoadId::new(id).unwrap(),
        name: None,
        class: RoadClass::Local,
        line: pts.iter().map(|&(x, y)| (x, y)).collect::<Vec<_>>().into(),
    }
}

#[test]
fn coverage_on_a_hand_made_network() {
    let p = |x, y| Point::new(x, y);
    // Road 1 along the equator 0 → 0.009° (≈ 1000.8 m), no vertex at 0.0045;
    // road 2 goes north from 2 m above its middle (a T-junction to snap);
    // road 3 continues road 1 from 1.5 m past its end (vertex snap).
    let roads = vec![
        road(1, &[(0.0, 0.0), (0.009, 0.0)]),
        road(2, &[(0.0045, 0.000018), (0.0045, 0.009)]),
        road(3, &[(0.0090135, 0.0), (0.012, 0.0)]),
        road(9, &[(0.05, 0.05), (0.051, 0.05)]), // isolated
    ];
    let params = CoverageParams::default();
    let g = WalkGraph::build(&roads, &params);
    // nodes: 0,0 | 0.009 (+road 3 start) | road 2 ×2 | 0.012 | junction | isolated ×2
    assert_eq!(g.node_count(), 8);
    let clinic = Place {
        id: PlaceId::new(1).unwrap(),
        name: "卫生服务站".into(),
        category: PlaceCategory::Facility,
        service: Some(ServiceKind::Clinic),
        geometry: Geometry::Point(p(0.0, 0.0)),
    };
    // The disabled (PersonTag::ALL[1]) live in one household of each building.
    let disabled = PersonTag::ALL
        .iter()
        .position(|t| *t == PersonTag::Disabled)
        .unwrap();
    let o = |id, x, y, grid, hh, old| {
        let mut tagged = [0; analytics::coverage::TAGS];
        tagged[0] = old;
        tagged[disabled] = 1;
        Origin {
            building: BuildingId::new(id).unwrap(),
            location: p(x, y),
            grid: Some(GridId::new(grid).unwrap()),
            households: hh,
            elderly_alone: old,
            tagged,
        }
    };
    let origins = vec![
        o(1, 0.009, 0.0, 1, 10, 1),    // 1000.8 m → 13.9 min
        o(2, 0.0045, 0.009, 2, 20, 2), // 500.4 + 2 + 999 → 20.9 min
        o(3, 0.012, 0.0, 1, 30, 0),    // 1334.4 m → 18.5 min
        o(4, 0.0505, 0.05, 2, 5, 1),   // isolated network: unreachable
        o(5, 0.2, 0.2, 2, 5, 0),       // 20 km from any road: unreachable
    ];
    let rep = coverage(&roads, &[clinic], &origins, &params);
    let m = |b: u64| {
        rep.minutes
            .iter()
            .find(|x| x.building.get() == b)
            .and_then(|x| x.minutes)
    };
    let hv = |a: Point<f64>, b: Point<f64>| Haversine.distance(a, b);
    let exp1 = hv(p(0.0, 0.0), p(0.009, 0.0)) / 72.0;
    assert!((m(1).unwrap() - exp1).abs() < 1e-6, "{:?} vs {exp1}", m(1));
    let exp2 = (hv(p(0.0, 0.0), p(0.0045, 0.0))
        + hv(p(0.0045, 0.0), p(0.0045, 0.000018))
        + hv(p(0.0045, 0.000018), p(0.0045, 0.009)))
        / 72.0;
    assert!((m(2).unwrap() - exp2).abs() < 1e-6, "{:?} vs {exp2}", m(2));
    // road 3 starts at the snapped node (0.009, 0)
    let exp3 = (hv(p(0.0, 0.0), p(0.009, 0.0)) + hv(p(0.009, 0.0), p(0.012, 0.0))) / 72.0;
    assert!((m(3).unwrap() - exp3).abs() < 1e-6, "{:?} vs {exp3}", m(3));
    assert_eq!((m(4), m(5)), (None, None));

    let row = |grid: u64| {
        rep.rows
            .iter()
            .find(|r| r.grid == Some(GridId::new(grid).unwrap()))
            .unwrap()
    };
    let r1 = row(1);
    assert_eq!((r1.households, r1.households_beyond), (40, 30));
    assert_eq!(r1.households_beyond_share, Some(0.75));
    assert_eq!((r1.elderly_alone, r1.elderly_alone_beyond), (1, 0));
    // every key population is counted: households with a disabled member,
    // 2 in grid 1 (buildings 1 and 3), of which 1 beyond (building 3)
    assert_eq!((r1.tagged[disabled], r1.tagged_beyond[disabled]), (2, 1));
    assert_eq!((r1.tagged[0], r1.tagged_beyond[0]), (1, 0));
    let r2 = row(2);
    assert_eq!((r2.tagged[disabled], r2.tagged_beyond[disabled]), (3, 3));
    assert_eq!((r2.households, r2.households_beyond), (30, 30));
    assert_eq!(r2.elderly_alone_beyond_share, Some(1.0));
    assert!((r2.mean_minutes.unwrap() - exp2).abs() < 1e-6);
    // origins from the model: 2 household records, one elderly person alone
    let fp = geo_types::Polygon::new(
        geo_types::LineString::from(vec![
            (0.0, 0.0),
            (0.0002, 0.0),
            (0.0002, 0.0002),
            (0.0, 0.0002),
            (0.0, 0.0),
        ]),
        vec![],
    );
    let b = geo_core::model::Building {
        id: BuildingId::new(9).unwrap(),
        compound: None,
        footprint: fp.into(),
        levels: Some(6),
        height_m: None,
        usage: geo_core::model::BuildingUse::Residential,
        units: 1,
        households: 24,
        households_estimated: true,
        address: None,
    };
    let hh = |id| geo_core::model::Household {
        id: geo_core::ids::HouseholdId::new(id).unwrap(),
        building: b.id,
        unit: None,
        floor: 1,
        room: "101".into(),
        size: 1,
        tenure: geo_core::model::Tenure::Owned,
        group_rented: false,
        party_member: false,
    };
    let old = geo_core::model::Person {
        id: geo_core::ids::PersonId::new(1).unwrap(),
        household: Some(geo_core::ids::HouseholdId::new(1).unwrap()),
        name: "王**".into(),
        national_id: None,
        phone: None,
        birth_year: 1940,
        sex: geo_core::model::Sex::Female,
        tags: vec![
            geo_core::model::PersonTag::ElderlyAlone,
            geo_core::model::PersonTag::Disabled,
        ],
    };
    // two disabled members of household 2 count it once
    let pair = |id| geo_core::model::Person {
        id: geo_core::ids::PersonId::new(id).unwrap(),
        household: Some(geo_core::ids::HouseholdId::new(2).unwrap()),
        tags: vec![geo_core::model::PersonTag::Disabled],
        ..old.clone()
    };
    let os = analytics::coverage::origins_from(
        std::slice::from_ref(&b),
        &[hh(1), hh(2)],
        &[old.clone(), pair(2), pair(3)],
        |_| None,
    );
    assert_eq!((os.len(), os[0].households, os[0].elderly_alone), (1, 2, 1));
    assert_eq!(os[0].tagged[disabled], 2, "households, not persons");
    assert_eq!(os[0].tagged[0], 1);
    let os = analytics::coverage::origins_from(&[b], &[], &[], |_| None);
    assert_eq!(os[0].households, 24, "no records: the building's own count");

    // no place of a kind: no rows for it
    assert!(rep.rows.iter().all(|r| r.service == ServiceKind::Clinic));
    let _ = line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0)];
}
