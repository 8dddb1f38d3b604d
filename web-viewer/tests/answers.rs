//! Snapshots (insta, JSON) of the typed answers of the HTTP API: event
//! detail, event list page, transition result, escalation run, receipt
//! status, who-am-I, re-gridding job and hotspot report. A change to a
//! field name or shape shows up as a snapshot diff under `tests/snapshots/`
//! (review with `cargo insta review`, or re-run with `INSTA_UPDATE=always`).
//! The answers are built from fixed events at fixed times; fields that would
//! vary between runs (receipt HMACs) are redacted.

use analytics::events::limits::escalate;
use analytics::events::EventRules;
use chrono::{DateTime, Duration, TimeZone, Utc};
use geo_core::ids::EventId;
use geo_core::model::{Event, EventSource, EventStatus, GridRefs};
use geo_core::store::TransitionRow;
use geo_core::taxonomy::EventCategory;
use geo_core::Dataset;
use serde_json::{json, Value};
use web_viewer::auth::routes::Me;
use web_viewer::present::{
    scrub_event, to_map, ChangedEvent, Escalated, EscalationRun, EventDetail, FeaturePage, Located,
    NotEscalated, ReceiptStatus, Sla, TimelineEntry, TransitionView,
};
use web_viewer::routes::regrid::RegridJob;
use web_viewer::service::report::{HotspotRow, HotspotsAnswer};
use web_viewer::view::TownView;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0)
        .single()
        .expect("time")
}

fn rules() -> EventRules {
    EventRules::builtin().expect("built-in rules")
}

fn view() -> TownView {
    TownView::from_dataset(Dataset::default(), Default::default(), 1)
}

/// A resident's noise report with a phone number in its title, dispatched
/// to the grid with the built-in limit.
fn event(id: u64) -> Event {
    let mut e = Event::reported(
        EventId::new(id).expect("id"),
        EventCategory::parse("02.05").expect("category"),
        "夜间施工噪声 13812345678",
        geo_types::Point::new(116.6, 36.9),
        t0(),
        EventSource::Resident,
    );
    e.handler = Some("grid".into());
    e.deadline = Some(rules().limits.deadline(t0(), e.category, e.grade));
    e
}

fn rows() -> Vec<TransitionRow> {
    vec![
        TransitionRow {
            from: None,
            to: "reported".into(),
            at: t0().timestamp(),
            actor: "resident".into(),
            note: "intake".into(),
        },
        TransitionRow {
            from: Some("reported".into()),
            to: "accepted".into(),
            at: (t0() + Duration::hours(1)).timestamp(),
            actor: "leader:centre".into(),
            note: "call back 13812345678".into(),
        },
    ]
}

/// Replaces the value at each JSON pointer with `"[redacted]"`.
fn redact(mut v: Value, pointers: &[&str]) -> Value {
    for p in pointers {
        if let Some(x) = v.pointer_mut(p) {
            *x = json!("[redacted]");
        }
    }
    v
}

#[test]
fn event_detail() {
    let (view, e) = (view(), event(4711));
    let now = t0() + Duration::hours(2);
    let detail = EventDetail {
        event: Located::of(&view, &e, &GridRefs::default(), now),
        timeline: TimelineEntry::of(&e, &rows()),
        sla: Sla::of(&rules(), &e, now),
        allowed: web_viewer::present::allowed_moves(e.status),
        photos: Vec::new(),
        handler_names: web_viewer::present::department_names(
            &rules().departments,
            e.handler.as_deref(),
            &["police".into()],
        ),
        assisting: vec!["police".into()],
        you_assist: false,
        notes: vec![web_viewer::present::NoteView::of(
            &geo_core::store::NoteRow {
                event: e.id,
                at_s: (t0() + Duration::hours(1)).timestamp(),
                actor: "department:police".into(),
                department: Some("police".into()),
                note: "已到场，联系电话 13812345678".into(),
            },
            false,
        )],
    };
    let mut scrubbed = to_map(&detail);
    scrub_event(false, &[], &mut scrubbed);
    insta::assert_json_snapshot!("event_detail", detail);
    insta::assert_json_snapshot!("event_detail_scrubbed", scrubbed);
}

#[test]
fn event_detail_of_imported_history() {
    let (view, mut e) = (view(), event(12));
    e.status = EventStatus::Closed;
    e.resolved_at = Some(t0() + Duration::hours(20));
    e.satisfaction = Some(5);
    let now = t0() + Duration::days(3);
    let detail = EventDetail {
        event: Located::of(&view, &e, &GridRefs::default(), now),
        timeline: TimelineEntry::of(&e, &[]),
        sla: Sla::of(&rules(), &e, now),
        allowed: web_viewer::present::allowed_moves(e.status),
        photos: Vec::new(),
        assisting: Vec::new(),
        you_assist: false,
        notes: Vec::new(),
        handler_names: Default::default(),
    };
    insta::assert_json_snapshot!("event_detail_imported", detail);
}

#[test]
fn event_list_page() {
    let (view, e) = (view(), event(4711));
    let mut props = web_viewer::present::event_props(&view, &e, &GridRefs::default(), t0());
    scrub_event(false, &[], &mut props);
    let page = FeaturePage {
        kind: "FeatureCollection",
        total: 3,
        next_offset: Some(1),
        features: vec![json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [e.location.x(), e.location.y()]},
            "properties": props,
        })],
    };
    insta::assert_json_snapshot!("event_list_page", page);
}

#[test]
fn transition_result_and_escalation_run() {
    let (view, mut e) = (view(), event(4711));
    e.status = EventStatus::Accepted;
    let now = t0() + Duration::hours(30);
    let esc = escalate(&mut e, &rules(), "sla", now).expect("escalation");
    let changed = ChangedEvent {
        event: Located::of(&view, &e, &GridRefs::default(), now),
        sla: Sla::of(&rules(), &e, now),
        transition: TransitionView::from(&esc.transition),
    };
    insta::assert_json_snapshot!("transition_result", changed);
    let run = EscalationRun {
        at: now.to_rfc3339(),
        count: 1,
        escalated: vec![Escalated {
            id: e.id.get(),
            handler: e.handler.clone(),
            deadline: e.deadline.map(|d| d.to_rfc3339()),
            transition: TransitionView::from(&esc.transition),
        }],
        at_top: vec![NotEscalated {
            id: 4712,
            handler: Some("dept:fire_service".into()),
            reason: "event 4712: handler dept:fire_service is a department, the top of the escalation chain".into(),
        }],
        refused: vec![],
    };
    insta::assert_json_snapshot!("escalation_run", run);
}

#[test]
fn receipt_status_of_a_merged_report() {
    let mut dup = event(4712);
    dup.status = EventStatus::Merged;
    dup.master = Some(EventId::new(4711).expect("id"));
    let mut master = event(4711);
    master.status = EventStatus::Resolved;
    master.resolved_at = Some(t0() + Duration::hours(5));
    let receipt = web_viewer::service::event_loop::receipt(b"a test key", &dup);
    let status = ReceiptStatus::of(
        &rules(),
        receipt,
        &dup,
        Some(&master),
        &rows(),
        t0() + Duration::hours(6),
    );
    let v = serde_json::to_value(&status).expect("json");
    insta::assert_json_snapshot!("receipt_status", redact(v, &["/receipt"]));
}

#[test]
fn session_me() {
    let me = Me {
        name: "w1".into(),
        display_name: "网格员一".into(),
        role: "worker",
        grids: vec!["371402001001".into()],
        department: None,
        csrf: Some("0123456789abcdef".into()),
    };
    insta::assert_json_snapshot!("session_me", redact(json!(me), &["/csrf"]));
}

#[test]
fn regrid_job() {
    let running = RegridJob {
        job: "7".into(),
        status: "running",
        ..RegridJob::default()
    };
    let done = RegridJob {
        job: "7".into(),
        status: "done",
        progress: Some(1.0),
        params: Some(json!({"level": "micro", "min": 100, "max": 300})),
        result: Some(
            json!({"geojson": {"type": "FeatureCollection", "features": []}, "report": {}}),
        ),
        error: None,
        adopted_version: Some(3),
        created_at: Some(1_796_600_000),
        finished_at: Some(1_796_600_042),
    };
    let cancelled = RegridJob {
        job: "8".into(),
        status: "cancelled",
        progress: Some(0.4),
        params: Some(json!({"level": "micro", "min": 10, "max": 20})),
        error: Some("cancelled by planner:p".into()),
        created_at: Some(1_796_600_000),
        finished_at: Some(1_796_600_009),
        ..RegridJob::default()
    };
    insta::assert_json_snapshot!("regrid_job_started", running);
    insta::assert_json_snapshot!("regrid_job_done", done);
    insta::assert_json_snapshot!("regrid_job_cancelled", cancelled);
}

#[test]
fn hotspot_report() {
    let answer = HotspotsAnswer {
        week_start: Some("2026-03-02".into()),
        res: 9,
        hotspots: vec![HotspotRow {
            area: "89283082837ffff".into(),
            lon: Some(116.6),
            lat: Some(36.9),
            category: "02.05".into(),
            category_zh: "噪声扰民".into(),
            week_start: "2026-03-02".into(),
            count: 9,
            baseline: 1.5,
            z: 4.2,
            p_value: 1.3e-5,
            q_value: 2.1e-4,
        }],
    };
    insta::assert_json_snapshot!("hotspot_report", answer);
}

/// A town of one community with one grid, one compound, one building with
/// one unit, and two events in the grid (one closed and rated, one open).
fn small_view() -> TownView {
    use geo_core::ids::{
        BuildingId, CommunityId, CompoundId, DivisionCode, GridCode, GridId, UnitId,
    };
    use geo_core::model::{
        Building, BuildingUse, Community, Compound, CompoundEra, Grid, GridKind, Unit, Worker,
        WorkerRole,
    };
    use geo_types::{polygon, MultiPolygon, Point};
    let square = polygon![
        (x: 116.60, y: 36.90), (x: 116.61, y: 36.90), (x: 116.61, y: 36.91),
        (x: 116.60, y: 36.91), (x: 116.60, y: 36.90)
    ];
    let house = polygon![
        (x: 116.603, y: 36.903), (x: 116.604, y: 36.903), (x: 116.604, y: 36.904),
        (x: 116.603, y: 36.904), (x: 116.603, y: 36.903)
    ];
    let division = DivisionCode::parse("371482100001").expect("division");
    let mut ds = Dataset::default();
    ds.communities.push(Community {
        id: CommunityId::new(1).expect("id"),
        code: division,
        name: "武汉路社区".into(),
        is_village: false,
        boundary: MultiPolygon(vec![square.clone()]),
    });
    ds.grids.push(Grid {
        id: GridId::new(10).expect("id"),
        code: GridCode::new(division, 1).expect("code"),
        name: "第一网格".into(),
        kind: GridKind::Comprehensive,
        community: CommunityId::new(1).ok(),
        parent: None,
        boundary: MultiPolygon(vec![square]),
        workers: vec![Worker {
            name: "王网格".into(),
            role: WorkerRole::GridWorker,
            full_time: true,
        }],
    });
    ds.compounds.push(Compound {
        id: CompoundId::new(20).expect("id"),
        name: "幸福小区".into(),
        community: CommunityId::new(1).ok(),
        era: CompoundEra::Midrise2000s,
        built_year: Some(2004),
        boundary: house.clone().into(),
    });
    ds.buildings.push(Building {
        id: BuildingId::new(30).expect("id"),
        compound: CompoundId::new(20).ok(),
        footprint: house.into(),
        levels: Some(6),
        height_m: Some(18.0),
        usage: BuildingUse::Residential,
        units: 1,
        households: 12,
        households_estimated: false,
        address: Some("幸福路1号".into()),
    });
    ds.units.push(Unit {
        id: UnitId::new(40).expect("id"),
        building: BuildingId::new(30).expect("id"),
        number: 1,
        households: 12,
        entrance: Point::new(116.6035, 36.903),
    });
    let mut closed = event(1);
    closed.location = Point::new(116.605, 36.905);
    closed.status = EventStatus::Closed;
    closed.resolved_at = Some(t0() + Duration::hours(20));
    closed.satisfaction = Some(5);
    let mut open = event(2);
    open.location = Point::new(116.606, 36.906);
    ds.events = vec![closed, open];
    let pop = web_viewer::view::GridPop {
        households: 12,
        residents: 30,
        aged60: 9,
        elderly_alone: 2,
    };
    TownView::from_dataset(ds, [(10, pop)].into_iter().collect(), 3)
}

#[test]
fn element_features_grid_and_building_detail() {
    use web_viewer::answers::{
        BuildingDetail, BuildingProps, Feature, GridDetail, GridProps, SearchHit,
    };
    use web_viewer::present::GridCodes;
    let view = small_view();
    let g = &view.dataset.grids[0];
    let b = &view.dataset.buildings[0];
    insta::assert_json_snapshot!(
        "grid_and_building_features",
        [
            Feature::new(&g.boundary, GridProps::of(&view, g)).to_value(),
            Feature::parts(&b.footprint, BuildingProps::of(b)).to_value(),
        ]
    );
    let now = t0() + Duration::days(2);
    insta::assert_json_snapshot!("grid_detail", GridDetail::of(&view, g.id, now));
    let refs = view.index.grids_at(geo_types::Coord {
        x: 116.6035,
        y: 36.9035,
    });
    let dwellings = vec![geo_core::store::Dwelling {
        household: geo_core::ids::HouseholdId::new(50).expect("id"),
        unit: geo_core::ids::UnitId::new(40).ok(),
        floor: 3,
        room: "301".into(),
    }];
    let detail = BuildingDetail::of(&view, b, GridCodes::of(&view, &refs), &dwellings);
    insta::assert_json_snapshot!("building_detail", detail);
    insta::assert_json_snapshot!("search_hits", SearchHit::find(&view, "幸福"));
}

#[test]
fn kpi_of_a_town_whose_events_are_old_ends_its_window_at_the_newest() {
    let view = small_view();
    let fresh = web_viewer::answers::Kpi::of(&view, t0() + Duration::days(2));
    assert!(fresh.window_is_now);
    assert_eq!((fresh.open, fresh.total_events), (1, 2));
    let old = web_viewer::answers::Kpi::of(&view, t0() + Duration::days(90));
    assert!(!old.window_is_now, "events 90 days old end the window");
    assert_eq!(old.median_handling_h, Some(20.0));
    insta::assert_json_snapshot!("kpi", old);
}

#[test]
fn coarse_copy_keeps_only_the_allowed_fields() {
    let view = view();
    let e = event(77);
    let mut m = to_map(&ChangedEvent {
        event: Located::of(&view, &e, &GridRefs::default(), t0()),
        sla: Sla::of(&rules(), &e, t0()),
        transition: TransitionView {
            from: "reported",
            to: "accepted",
            at: t0().to_rfc3339(),
            actor: "worker:wang".into(),
            note: "楼上 13812345678".into(),
        },
    });
    m.insert("new_private_field".into(), json!("secret"));
    let coarse = web_viewer::present::coarsen(m);
    for gone in ["title", "handler", "new_private_field", "receipt"] {
        assert!(
            !coarse.contains_key(gone),
            "{gone} must not reach the coarse copy"
        );
    }
    assert_eq!(
        coarse["transition"],
        json!({"from": "reported", "to": "accepted", "at": t0().to_rfc3339()})
    );
    assert_eq!(coarse["coarse"], json!(true));
    assert_ne!(
        coarse["lon"],
        json!(116.6),
        "the place is moved to its cell's centre"
    );
    assert_eq!(coarse["status"], json!("reported"));
}

#[test]
fn error_bodies() {
    use web_viewer::answers::ErrorBody;
    use web_viewer::error::ErrorCode;
    use web_viewer::routes::events::IllegalDetail;
    insta::assert_json_snapshot!(
        "error_illegal_transition",
        ErrorBody::with(
            ErrorCode::IllegalTransition,
            "event 7: closed → handling is not a move of the event loop",
            IllegalDetail {
                event: 7,
                from: "closed",
                to: "handling",
                allowed: vec!["reopened"],
            },
        )
    );
    let plain = serde_json::to_value(ErrorBody::new(ErrorCode::BadQuery, "q must not be empty"))
        .expect("json");
    assert_eq!(
        plain,
        json!({"error": {"code": "bad_query", "message": "q must not be empty"}})
    );
}
