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
use web_viewer::routes::analytics::{HotspotsAnswer, RegridJob};
use web_viewer::service::report::HotspotRow;
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
        progress: None,
        params: None,
        result: None,
        error: None,
        adopted_version: None,
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
    };
    insta::assert_json_snapshot!("regrid_job_started", running);
    insta::assert_json_snapshot!("regrid_job_done", done);
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
