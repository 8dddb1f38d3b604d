//! The event loop through the HTTP API: intake by the dispatch rules, every
//! move of the main path persisted in order, refusals that change nothing,
//! reopening, duplicates and merging, escalation, receipts and roles.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use geo_core::ids::EventId;
use geo_core::store::{Scope, TransitionRow};
use serde_json::{json, Value};
use web_viewer::clock::SettableClock;
use web_viewer::AppState;

use crate::common::{demo_state as state, demo_store, proxy_config, respond};

/// A state whose event rules are `rules` (TOML) instead of the built-in ones.
fn state_with_rules(tag: &str, rules: &str) -> AppState {
    let (store, path) = demo_store(tag);
    let file = path.with_file_name("rules.toml");
    std::fs::write(&file, rules).expect("write rules");
    let mut cfg = proxy_config(path);
    cfg.dispatch_rules = Some(file);
    AppState::new(store, cfg).expect("state")
}

async fn send(
    st: &AppState,
    method: &str,
    uri: &str,
    role: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    // No role: a public caller may report, but reads need a signed-in role.
    let role = role.or((method == "GET").then_some("screen"));
    if let Some(r) = role {
        // `department:NAME` speaks as that department.
        match r.split_once(':') {
            Some((r, dept)) => {
                req = req
                    .header("x-wangge-role", r)
                    .header("x-wangge-department", dept)
            }
            None => req = req.header("x-wangge-role", r),
        }
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None if method == "POST" => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::empty()),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let (status, _, bytes) = respond(st, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Interior point and code of the first micro grid.
async fn micro_grid(st: &AppState) -> (f64, f64, String) {
    let (_, grids) = send(st, "GET", "/api/v1/grids?kind=micro&limit=1", None, None).await;
    let p = &grids["features"][0]["properties"];
    let ip = p["interior_point"].as_array().expect("interior point");
    (
        ip[0].as_f64().expect("lon"),
        ip[1].as_f64().expect("lat"),
        p["code"].as_str().expect("code").to_string(),
    )
}

/// Intake by staff (a leader's hotline desk): grade and source are theirs to set.
async fn intake(st: &AppState, body: Value) -> Value {
    let (s, ev) = send(st, "POST", "/api/v1/events", Some("leader"), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{ev}");
    ev
}

async fn move_to(st: &AppState, id: u64, role: &str, body: Value) -> (StatusCode, Value) {
    send(
        st,
        "POST",
        &format!("/api/v1/events/{id}/transition"),
        Some(role),
        Some(body),
    )
    .await
}

fn id_of(ev: &Value) -> u64 {
    ev["id"].as_u64().expect("event id")
}

fn stored_timeline(st: &AppState, id: u64) -> Vec<TransitionRow> {
    let eid = EventId::new(id).expect("id");
    st.0.store
        .lock()
        .expect("store lock")
        .timeline(eid)
        .expect("timeline")
}

fn stored_event(st: &AppState, id: u64) -> geo_core::model::Event {
    let eid = EventId::new(id).expect("id");
    st.0.store
        .lock()
        .expect("store lock")
        .event(&Scope::Town, eid)
        .expect("event")
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("time string"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

fn hours_between(a: &Value, b: &Value) -> f64 {
    (time(b) - time(a)).num_seconds() as f64 / 3600.0
}

#[tokio::test]
async fn intake_dispatches_and_sets_the_deadline_by_the_rules() {
    let st = state("ev-intake");
    let (lon, lat, _) = micro_grid(&st).await;

    // Noise, general grade: "small urban matters stay in the grid", 24 h.
    let ev = intake(
        &st,
        json!({"category": "02.05", "title": "夜间施工噪音", "lon": lon, "lat": lat}),
    )
    .await;
    assert_eq!(ev["handler"], "grid", "{ev}");
    assert_eq!(
        ev["dispatch"]["rule_name"], "small urban matters stay in the grid",
        "{ev}"
    );
    assert!((hours_between(&ev["reported_at"], &ev["deadline"]) - 24.0).abs() < 0.01);
    assert_eq!(ev["sla"]["level"], "green", "{ev}");
    assert!(ev["duplicates"].is_array(), "{ev}");
    assert!(ev["receipt"].as_str().is_some_and(|r| r.starts_with('R')));

    // The same matter graded urgent goes to the department, in a quarter of the time.
    let urgent = intake(
        &st,
        json!({"category": "02.05", "title": "工地噪音彻夜", "lon": lon, "lat": lat, "grade": "urgent"}),
    )
    .await;
    assert_eq!(urgent["handler"], "dept:urban_management", "{urgent}");
    assert!((hours_between(&urgent["reported_at"], &urgent["deadline"]) - 6.0).abs() < 0.01);

    // Gas, urgent: the [[limits.override]] of 2 h, not 12 h × 0.25.
    let gas = intake(
        &st,
        json!({"category": "04.03", "title": "燃气泄漏气味", "lon": lon, "lat": lat, "grade": "urgent"}),
    )
    .await;
    assert!(
        gas["handler"]
            .as_str()
            .is_some_and(|h| h.starts_with("dept:")),
        "{gas}"
    );
    assert!((hours_between(&gas["reported_at"], &gas["deadline"]) - 2.0).abs() < 0.01);

    // Stored as answered, with the intake transition.
    let stored = stored_event(&st, id_of(&ev));
    assert_eq!(stored.handler.as_deref(), Some("grid"));
    assert_eq!(
        stored.deadline.map(|d| d.timestamp()),
        Some(time(&ev["deadline"]).timestamp())
    );
    let tl = stored_timeline(&st, id_of(&ev));
    assert_eq!(tl.len(), 1);
    assert_eq!(
        (tl[0].from.as_deref(), tl[0].to.as_str()),
        (None, "reported")
    );
}

#[tokio::test]
async fn the_main_path_is_persisted_in_order_and_streamed() {
    let st = state("ev-path");
    let (lon, lat, _) = micro_grid(&st).await;
    let ev = intake(
        &st,
        json!({"category": "03.01", "title": "电梯长期故障", "lon": lon, "lat": lat}),
    )
    .await;
    let id = id_of(&ev);
    let mut rx = st.0.events_tx.subscribe();

    let steps = [
        (
            "accepted",
            "leader",
            json!({"to": "accepted", "actor": "command_centre", "note": "受理", "grade": "major"}),
        ),
        (
            "dispatched",
            "leader",
            json!({"to": "dispatched", "actor": "command_centre", "note": "派物业", "handler": "dept:property_security"}),
        ),
        (
            "in_progress",
            "department:property_security",
            json!({"to": "in_progress", "actor": "property_company", "note": "已到场"}),
        ),
        (
            "resolved",
            "department:property_security",
            json!({"to": "resolved", "actor": "property_company", "note": "已修复"}),
        ),
        (
            "reviewed",
            "leader",
            json!({"to": "reviewed", "actor": "return_visit", "note": "回访满意", "satisfaction": 5}),
        ),
        (
            "closed",
            "leader",
            json!({"to": "closed", "actor": "command_centre", "note": "结案"}),
        ),
    ];
    for (to, role, body) in &steps {
        let (s, v) = move_to(&st, id, role, body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{to}: {v}");
        assert_eq!(v["status"], *to, "{v}");
        assert_eq!(v["transition"]["to"], *to);
    }

    // The store has every move in order, with actor and note.
    let tl = stored_timeline(&st, id);
    let got: Vec<&str> = tl.iter().map(|t| t.to.as_str()).collect();
    assert_eq!(
        got,
        [
            "reported",
            "accepted",
            "dispatched",
            "in_progress",
            "resolved",
            "reviewed",
            "closed"
        ]
    );
    for (row, prev) in tl.iter().skip(1).zip(&tl) {
        assert_eq!(row.from.as_deref(), Some(prev.to.as_str()));
        assert!(row.at >= prev.at);
    }
    for (row, (_, role, body)) in tl.iter().skip(1).zip(&steps) {
        // The actor is who is signed in (here the proxy's user, defaulting
        // to the role's name), never the `actor` the client typed.
        let base = role.split(':').next().unwrap_or_default();
        assert_eq!(row.actor, format!("{base}:{base}"));
        assert_ne!(row.actor, body["actor"].as_str().unwrap_or_default());
        assert_eq!(row.note, body["note"].as_str().unwrap_or_default());
    }
    let stored = stored_event(&st, id);
    assert_eq!(stored.status.code(), "closed");
    assert_eq!(stored.grade.code(), "major");
    assert_eq!(stored.satisfaction, Some(5));
    assert!(stored.resolved_at.is_some());

    // Every move went out on the event stream.
    let mut streamed = Vec::new();
    while let Ok(m) = rx.try_recv() {
        let v: Value = serde_json::from_str(&m).expect("json");
        if v["id"] == id {
            streamed.push(v["transition"]["to"].as_str().unwrap_or("").to_string());
        }
    }
    assert_eq!(
        streamed,
        [
            "accepted",
            "dispatched",
            "in_progress",
            "resolved",
            "reviewed",
            "closed"
        ]
    );

    // The detail answers the timeline and the stopped clock.
    let (s, d) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("leader"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["timeline"].as_array().map(Vec::len), Some(7), "{d}");
    assert_eq!(d["sla"]["level"], "green", "{d}");

    // Reopened within the window: the work is owed again.
    let (s, v) = move_to(&st, id, "planner", json!({"to": "reopened", "actor": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "reopened", "actor": "hotline", "note": "居民反映未修好"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let stored = stored_event(&st, id);
    assert_eq!(stored.status.code(), "reopened");
    assert_eq!((stored.resolved_at, stored.satisfaction), (None, None));
    let (s, _) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "dispatched", "actor": "command_centre"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(stored_timeline(&st, id).len(), 9);
}

#[tokio::test]
async fn refused_transitions_answer_409_and_change_nothing() {
    let st = state("ev-refused");
    let (lon, lat, _) = micro_grid(&st).await;
    let ev = intake(
        &st,
        json!({"category": "02.05", "title": "广场舞噪音", "lon": lon, "lat": lat}),
    )
    .await;
    let id = id_of(&ev);
    let before = stored_event(&st, id);

    let (s, v) = move_to(&st, id, "leader", json!({"to": "closed", "actor": "a"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "illegal_transition");
    assert_eq!(v["error"]["from"], "reported");
    assert_eq!(v["error"]["to"], "closed");
    assert_eq!(
        v["error"]["allowed"],
        json!(["accepted", "rejected", "merged", "escalated"])
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("reported → closed"));

    // Bad requests: unknown status, merged by transition, misplaced fields,
    // empty actor, unknown event.
    for (body, code) in [
        (json!({"to": "done", "actor": "a"}), "bad_status"),
        (json!({"to": "merged", "actor": "a"}), "use_merge"),
        (
            json!({"to": "accepted", "actor": "a", "satisfaction": 5}),
            "bad_satisfaction",
        ),
        (
            json!({"to": "rejected", "actor": "a", "grade": "urgent"}),
            "bad_grade",
        ),
    ] {
        let (s, v) = move_to(&st, id, "leader", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
    }
    let (s, _) = move_to(
        &st,
        999_999_999,
        "leader",
        json!({"to": "accepted", "actor": "a"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Nothing changed: the event row, its single transition, the view.
    assert_eq!(stored_event(&st, id), before);
    assert_eq!(stored_timeline(&st, id).len(), 1);
    let (_, d) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("leader"),
        None,
    )
    .await;
    assert_eq!(d["status"], "reported");

    // A final state has no way out.
    let (s, _) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "rejected", "actor": "a", "note": "非本辖区"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = move_to(&st, id, "leader", json!({"to": "accepted", "actor": "a"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["allowed"], json!([]));
    assert_eq!(stored_timeline(&st, id).len(), 2);
}

#[tokio::test]
async fn reopening_after_the_window_is_refused() {
    let st = state_with_rules("ev-window", "reopen_window_h = 0\n");
    let (lon, lat, _) = micro_grid(&st).await;
    let id = id_of(
        &intake(
            &st,
            json!({"category": "02.05", "title": "噪音", "lon": lon, "lat": lat}),
        )
        .await,
    );
    for to in [
        "accepted",
        "dispatched",
        "in_progress",
        "resolved",
        "reviewed",
        "closed",
    ] {
        let (s, v) = move_to(&st, id, "leader", json!({"to": to, "actor": "a"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, v) = move_to(&st, id, "leader", json!({"to": "reopened", "actor": "a"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "reopen_window_passed");
    assert_eq!(stored_event(&st, id).status.code(), "closed");
    assert_eq!(stored_timeline(&st, id).len(), 7);
}

#[tokio::test]
async fn a_near_duplicate_is_proposed_and_merged() {
    let st = state("ev-merge");
    let (lon, lat, _) = micro_grid(&st).await;
    let first = intake(
        &st,
        json!({"category": "03.01", "title": "5号楼楼道堆放杂物", "lon": lon, "lat": lat}),
    )
    .await;
    let a = id_of(&first);
    // ~11 m north, the same matter in other words.
    let second = intake(
        &st,
        json!({"category": "03.01", "title": "5号楼楼道杂物堆放", "lon": lon, "lat": lat + 0.0001}),
    )
    .await;
    let b = id_of(&second);
    let dups = second["duplicates"].as_array().expect("duplicates");
    let hit = dups
        .iter()
        .find(|d| d["id"] == a)
        .unwrap_or_else(|| panic!("event {a} not proposed: {second}"));
    let dist = hit["distance_m"].as_f64().expect("distance");
    assert!((5.0..20.0).contains(&dist), "{hit}");
    assert!(hit["score"].as_f64().unwrap_or(0.0) >= 0.3, "{hit}");
    // Another category at the same spot is not a duplicate.
    let other = intake(
        &st,
        json!({"category": "02.05", "title": "5号楼楼道堆放杂物", "lon": lon, "lat": lat}),
    )
    .await;
    assert!(other["duplicates"]
        .as_array()
        .is_some_and(|d| d.iter().all(|x| x["id"] != a)));

    let (s, v) = send(
        &st,
        "POST",
        &format!("/api/v1/events/{b}/merge"),
        Some("leader"),
        Some(json!({"into": a, "actor": "command_centre"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["merged"]["status"], "merged");
    assert_eq!(v["merged"]["master"], a);
    assert_eq!(v["master"]["id"], a);
    assert_eq!(v["master"]["status"], "reported");

    let stored = stored_event(&st, b);
    assert_eq!(stored.status.code(), "merged");
    assert_eq!(stored.master.map(|m| m.get()), Some(a));
    let tl = stored_timeline(&st, b);
    assert_eq!(tl.last().map(|t| t.to.as_str()), Some("merged"));
    assert_eq!(
        tl.last().map(|t| t.note.clone()),
        Some(format!("merged into event {a}"))
    );
    assert_eq!(stored_event(&st, a).status.code(), "reported");

    // Merging again, into itself, or into a merged event is refused.
    for (dup, into) in [(b, a), (a, a), (a, b)] {
        let (s, v) = send(
            &st,
            "POST",
            &format!("/api/v1/events/{dup}/merge"),
            Some("leader"),
            Some(json!({"into": into, "actor": "c"})),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{dup}→{into}: {v}");
        assert_eq!(v["error"]["code"], "merge_refused");
    }
    assert_eq!(stored_timeline(&st, a).len(), 1);

    // The duplicate's reporter follows the master through the receipt.
    let r = second["receipt"].as_str().expect("receipt");
    let (s, rv) = send(&st, "GET", &format!("/api/v1/receipts/{r}"), None, None).await;
    assert_eq!(s, StatusCode::OK, "{rv}");
    assert_eq!(rv["status"], "merged");
    assert_eq!(rv["merged_into"]["status"], "reported");
}

#[tokio::test]
async fn red_events_are_escalated_and_stored() {
    // Noise has a limit of 4 seconds here, so it turns red at once.
    let rules = format!(
        "{}\n",
        r#"[[limits.override]]
category = "02.05"
hours = 0.0011

[[rule]]
name = "noise to the grid"
category = ["02.05"]
handler = "grid""#
    );
    let st = state_with_rules("ev-escalate", &rules);
    let (lon, lat, _) = micro_grid(&st).await;
    let ev = intake(
        &st,
        json!({"category": "02.05", "title": "噪音", "lon": lon, "lat": lat}),
    )
    .await;
    let id = id_of(&ev);
    assert_eq!(ev["handler"], "grid");
    for to in ["accepted", "dispatched"] {
        let (s, v) = move_to(&st, id, "leader", json!({"to": to, "actor": "a"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, _) = send(&st, "POST", "/api/v1/escalate", Some("screen"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    let (_, d) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("leader"),
        None,
    )
    .await;
    assert_eq!(d["sla"]["level"], "overdue", "{d}");
    assert!(
        d["sla"]["remaining_h"].as_f64().unwrap_or(1.0) <= 0.0,
        "{d}"
    );

    let mut rx = st.0.events_tx.subscribe();
    let (s, v) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mine = v["escalated"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == id).cloned())
        .unwrap_or_else(|| panic!("event {id} not escalated: {v}"));
    assert_eq!(mine["handler"], "community");
    let stored = stored_event(&st, id);
    assert_eq!(stored.status.code(), "escalated");
    assert_eq!(stored.handler.as_deref(), Some("community"));
    let last = stored_timeline(&st, id).pop().expect("row");
    assert_eq!(
        (last.to.as_str(), last.actor.as_str()),
        ("escalated", "sla")
    );
    assert!(last.note.contains("grid → community"), "{}", last.note);
    let mut seen = false;
    while let Ok(m) = rx.try_recv() {
        let v: Value = serde_json::from_str(&m).expect("json");
        seen |= v["id"] == id && v["transition"]["to"] == "escalated";
    }
    assert!(seen, "escalation not streamed");
    // From escalated the handler takes it up again (a leader: the community
    // level has no department account to act for it).
    let (s, v) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "in_progress", "actor": "b"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// The state's clock drives an event past its deadline without waiting:
/// with a [`SettableClock`] set an hour past the deadline, the API shows the
/// event overdue (detail, list, time-limit state) and the escalation run at
/// the clock's time moves it up and records that time.
#[tokio::test]
async fn a_set_clock_runs_an_event_past_its_deadline() {
    let (store, path) = demo_store("ev-clock");
    let t0 = Utc
        .with_ymd_and_hms(2031, 3, 3, 9, 0, 0)
        .single()
        .expect("time");
    let clock = Arc::new(SettableClock::new(t0));
    let st = AppState::with_clock(store, proxy_config(path), clock.clone()).expect("state");
    let (lon, lat, _) = micro_grid(&st).await;
    let ev = intake(
        &st,
        json!({"category": "02.05", "title": "夜间施工噪声", "lon": lon, "lat": lat}),
    )
    .await;
    let id = id_of(&ev);
    assert_eq!(time(&ev["reported_at"]), t0, "{ev}");
    assert_eq!(
        (&ev["overdue"], &ev["sla"]["level"]),
        (&json!(false), &json!("green"))
    );
    let deadline = time(&ev["deadline"]);
    assert!(deadline > t0, "{ev}");
    let handler = ev["handler"].as_str().expect("dispatched").to_string();
    for to in ["accepted", "dispatched"] {
        let (s, v) = move_to(&st, id, "leader", json!({"to": to})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(time(&v["transition"]["at"]), t0, "{v}");
    }

    clock.set(deadline + Duration::hours(1));
    let detail = format!("/api/v1/events/{id}");
    let (_, d) = send(&st, "GET", &detail, Some("leader"), None).await;
    assert_eq!(d["overdue"], true, "{d}");
    assert_eq!(d["sla"]["level"], "overdue", "{d}");
    assert_eq!(d["sla"]["remaining_h"].as_f64(), Some(-1.0), "{d}");
    let (_, list) = send(
        &st,
        "GET",
        "/api/v1/events?status=overdue&limit=10000",
        Some("leader"),
        None,
    )
    .await;
    let listed = list["features"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x["properties"]["id"] == id));
    assert!(listed, "event {id} not listed as overdue");

    let (s, run) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    assert_eq!(s, StatusCode::OK, "{run}");
    assert_eq!(time(&run["at"]), deadline + Duration::hours(1));
    let mine = run["escalated"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == id).cloned())
        .unwrap_or_else(|| panic!("event {id} not escalated: {run}"));
    assert_ne!(mine["handler"], json!(handler), "{mine}");
    assert_eq!(
        time(&mine["transition"]["at"]),
        deadline + Duration::hours(1)
    );

    let (_, d) = send(&st, "GET", &detail, Some("leader"), None).await;
    assert_eq!(d["status"], "escalated", "{d}");
    // The answer's shape, with what the demo town decides (ID, grids, the
    // handler chain) redacted.
    let mut shot = d.clone();
    for p in ["/id", "/grids", "/lon", "/lat"] {
        if let Some(x) = shot.pointer_mut(p) {
            *x = json!("[redacted]");
        }
    }
    insta::assert_json_snapshot!("escalated_event_detail", shot);
}

/// An event nobody accepts climbs: past the acceptance limit (`accept_h`,
/// 2 h by default) the run moves it grid → community, and when the
/// community's fresh deadline runs out it climbs again to the town, then to
/// the department, where it stops and the run says so. Every step is a row
/// of the timeline with actor `sla` and a fresh deadline.
#[tokio::test]
async fn an_unaccepted_event_climbs_one_level_per_step_and_stops_at_the_top() {
    let (store, path) = demo_store("ev-climb");
    let file = path.with_file_name("rules.toml");
    std::fs::write(
        &file,
        "[[rule]]\nname = \"noise to the grid\"\ncategory = [\"02.05\"]\nhandler = \"grid\"\n",
    )
    .expect("write rules");
    let mut cfg = proxy_config(path);
    cfg.dispatch_rules = Some(file);
    let t0 = Utc
        .with_ymd_and_hms(2031, 3, 3, 9, 0, 0)
        .single()
        .expect("time");
    let clock = Arc::new(SettableClock::new(t0));
    let st = AppState::with_clock(store, cfg, clock.clone()).expect("state");
    let (lon, lat, _) = micro_grid(&st).await;
    let ev = intake(
        &st,
        json!({"category": "02.05", "title": "楼下夜市噪声", "lon": lon, "lat": lat}),
    )
    .await;
    let id = id_of(&ev);
    assert_eq!(ev["handler"], "grid", "{ev}");
    let limit = time(&ev["deadline"]) - t0;
    let detail = format!("/api/v1/events/{id}");

    // Within the acceptance limit nothing moves.
    clock.set(t0 + Duration::minutes(90));
    let (s, run) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    assert_eq!(s, StatusCode::OK, "{run}");
    let mine = |run: &Value, list: &str| {
        run[list]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["id"] == id).cloned())
    };
    assert!(mine(&run, "escalated").is_none(), "{run}");

    // Past it: one level up, with a fresh deadline from the climb.
    let step1 = t0 + Duration::hours(3);
    clock.set(step1);
    let (_, run) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    let e1 = mine(&run, "escalated").unwrap_or_else(|| panic!("not escalated: {run}"));
    assert_eq!(e1["handler"], "community", "{e1}");
    assert_eq!(e1["transition"]["from"], "reported", "{e1}");
    assert_eq!(time(&e1["deadline"]), step1 + limit, "{e1}");
    // Run again at once: the community has its whole limit, nothing moves.
    let (_, run) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    assert!(mine(&run, "escalated").is_none(), "{run}");

    // The community's deadline runs out: it climbs again.
    let step2 = step1 + limit + Duration::minutes(1);
    clock.set(step2);
    let (_, run) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    let e2 = mine(&run, "escalated").unwrap_or_else(|| panic!("not escalated: {run}"));
    assert_eq!(e2["handler"], "town", "{e2}");
    assert_eq!(e2["transition"]["from"], "escalated", "{e2}");
    assert_eq!(time(&e2["deadline"]), step2 + limit, "{e2}");

    let (s, d) = send(&st, "GET", &detail, Some("leader"), None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        (&d["status"], &d["handler"]),
        (&json!("escalated"), &json!("town"))
    );
    let steps: Vec<&Value> = d["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|t| t["status"] == "escalated")
        .collect();
    assert_eq!(steps.len(), 2, "{d}");
    assert_eq!(
        (&steps[0]["from"], &steps[0]["actor"], time(&steps[0]["at"])),
        (&json!("reported"), &json!("sla"), step1)
    );
    let note = steps[0]["note"].as_str().expect("note");
    assert!(
        note.contains("not accepted within 2 h") && note.contains("grid → community"),
        "{note}"
    );
    assert_eq!(
        (&steps[1]["from"], &steps[1]["actor"], time(&steps[1]["at"])),
        (&json!("escalated"), &json!("sla"), step2)
    );
    let note = steps[1]["note"].as_str().expect("note");
    assert!(note.contains("community → town"), "{note}");

    // Town → the department; from there it stops climbing and the run says so.
    let step3 = step2 + limit + Duration::minutes(1);
    clock.set(step3);
    let (_, run) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    let e3 = mine(&run, "escalated").unwrap_or_else(|| panic!("not escalated: {run}"));
    let dept = e3["handler"].as_str().expect("handler").to_string();
    assert!(dept.starts_with("dept:"), "{e3}");
    clock.set(step3 + limit + Duration::minutes(1));
    let (_, run) = send(&st, "POST", "/api/v1/escalate", Some("leader"), None).await;
    assert!(mine(&run, "escalated").is_none(), "{run}");
    let top = mine(&run, "at_top").unwrap_or_else(|| panic!("not reported at the top: {run}"));
    assert_eq!(top["handler"], json!(dept), "{top}");
    assert!(
        top["reason"]
            .as_str()
            .is_some_and(|r| r.contains("top of the escalation chain")),
        "{top}"
    );
    let rows = stored_timeline(&st, id);
    assert_eq!(rows.iter().filter(|r| r.to == "escalated").count(), 3);
    assert_eq!(
        stored_event(&st, id).handler.as_deref(),
        Some(dept.as_str())
    );
}

/// Runs `wangge import events FILE ARGS…` on the store file at `path`.
fn import_events(path: &std::path::Path, file: &std::path::Path, args: &[&str]) -> String {
    let mut argv = vec!["import", "events", file.to_str().expect("utf-8 path")];
    argv.extend_from_slice(args);
    let args = web_viewer::cli::import::ImportArgs::from_argv(argv).expect("import args");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    web_viewer::cli::import::run_with(path, args, &mut out, &mut err)
        .unwrap_or_else(|e| panic!("import: {e:#} {}", String::from_utf8_lossy(&err)));
    String::from_utf8_lossy(&err).into_owned()
}

/// 12345 hotline events imported with `wangge import events` (an element
/// file, and a foreign hotline export with a category map) enter dispatch
/// like any intake: the open ones get the rules' handler and a deadline from
/// their report time; given handlers and closed history are kept as they are.
#[tokio::test]
async fn imported_hotline_events_enter_dispatch_with_a_handler_and_a_deadline() {
    let (store, path) = demo_store("ev-import");
    let at = {
        let ds = store
            .load(&Scope::Town, geo_core::store::LoadSet::Spatial)
            .expect("load");
        ds.events[0].location
    };
    drop(store);
    let (lon, lat) = (at.x(), at.y());
    let csv = path.with_file_name("hotline.csv");
    std::fs::write(
        &csv,
        format!(
            "id,category,title,reported_at,source,status,handler,lon,lat\n\
             9100001,04.01,楼道堆放杂物堵塞消防通道,2026-11-30T08:00:00Z,12345,,,{lon},{lat}\n\
             9100002,02.05,夜间施工噪声,2026-11-30T09:00:00Z,12345,,town,{lon},{lat}\n\
             9100003,02.05,广场舞噪声,2026-10-01T09:00:00Z,12345,closed,,{lon},{lat}\n"
        ),
    )
    .expect("csv");
    let msg = import_events(&path, &csv, &[]);
    assert!(
        msg.contains("2 open events without a handler or deadline entered dispatch"),
        "{msg}"
    );
    // A foreign hotline export: its own columns and categories.
    let foreign = path.with_file_name("12345.csv");
    std::fs::write(
        &foreign,
        format!("工单时间,经度,纬度,诉求类型,诉求内容\n2026-11-30 10:00,{lon},{lat},消防隐患,电动车楼道充电\n"),
    )
    .expect("csv");
    let map = path.with_file_name("map.toml");
    std::fs::write(&map, "[map]\n\"消防隐患\" = \"04.01\"\n").expect("map");
    let msg = import_events(
        &path,
        &foreign,
        &[
            "--time-col",
            "工单时间",
            "--lon-col",
            "经度",
            "--lat-col",
            "纬度",
            "--category-col",
            "诉求类型",
            "--description-col",
            "诉求内容",
            "--category-map",
            map.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        msg.contains("1 open events without a handler or deadline entered dispatch"),
        "{msg}"
    );

    let st =
        AppState::new(crate::common::open_store(&path), proxy_config(path.clone())).expect("state");
    let detail = |id: u64| {
        let st = st.clone();
        async move {
            let (s, d) = send(
                &st,
                "GET",
                &format!("/api/v1/events/{id}"),
                Some("leader"),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{d}");
            d
        }
    };
    let fire = detail(9100001).await;
    assert_eq!(fire["source"], "hotline", "{fire}");
    assert_eq!(fire["status"], "reported", "{fire}");
    // the built-in rules send fire safety to the fire service
    assert_eq!(fire["handler"], "dept:fire_service", "{fire}");
    let reported = time(&fire["reported_at"]);
    assert_eq!(
        time(&fire["deadline"]),
        reported + Duration::hours(24),
        "{fire}"
    );
    assert!(fire["sla"]["level"].is_string(), "{fire}");
    // a handler the file gives is kept, the deadline still comes from the limit
    let noise = detail(9100002).await;
    assert_eq!(noise["handler"], "town", "{noise}");
    assert!(noise["deadline"].is_string(), "{noise}");
    // history stays history
    let closed = stored_event(&st, 9100003);
    assert_eq!((closed.handler, closed.deadline), (None, None));
    // the foreign export's event, numbered after the stored ones
    let max = st
        .view()
        .expect("view")
        .dataset
        .events
        .iter()
        .map(|e| e.id.get())
        .max();
    let foreign = detail(max.expect("events")).await;
    assert_eq!(foreign["source"], "hotline", "{foreign}");
    assert_eq!(foreign["handler"], "dept:fire_service", "{foreign}");
    assert!(foreign["deadline"].is_string(), "{foreign}");
}

#[tokio::test]
async fn receipts_show_status_and_timeline_without_personal_data() {
    let st = state("ev-receipt");
    let (lon, lat, _) = micro_grid(&st).await;
    let ev = intake(
        &st,
        json!({"category": "02.05", "title": "张三 13800138000 反映楼下噪音", "lon": lon, "lat": lat}),
    )
    .await;
    let id = id_of(&ev);
    let (s, _) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "accepted", "actor": "李四", "note": "联系人张三"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = ev["receipt"].as_str().expect("receipt");
    let (s, v) = send(&st, "GET", &format!("/api/v1/receipts/{r}"), None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["handler"], "grid");
    let statuses: Vec<&str> = v["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|t| t["status"].as_str())
        .collect();
    assert_eq!(statuses, ["reported", "accepted"]);
    let text = v.to_string();
    for secret in [
        "张三",
        "13800138000",
        "李四",
        "\"title\"",
        "\"lon\"",
        "\"actor\"",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // A forged or unknown receipt is not found (and says nothing).
    let forged = format!("{}0", r);
    for bad in [forged.as_str(), "R1-0", "nonsense"] {
        let (s, v) = send(&st, "GET", &format!("/api/v1/receipts/{bad}"), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}: {v}");
    }
}

#[tokio::test]
async fn roles_without_handling_rights_get_403() {
    let st = state("ev-roles");
    let (lon, lat, code) = micro_grid(&st).await;
    let a = id_of(
        &intake(
            &st,
            json!({"category": "03.01", "title": "漏水", "lon": lon, "lat": lat}),
        )
        .await,
    );
    let b = id_of(
        &intake(
            &st,
            json!({"category": "03.01", "title": "漏水严重", "lon": lon, "lat": lat}),
        )
        .await,
    );
    for role in [Some("screen"), Some("planner"), Some("public"), None] {
        let (s, v) = send(
            &st,
            "POST",
            &format!("/api/v1/events/{a}/transition"),
            role,
            Some(json!({"to": "accepted", "actor": "x"})),
        )
        .await;
        // The public without credentials is asked to sign in; signed-in
        // roles without handling rights are refused.
        let refused = if role.is_none() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(s, refused, "{role:?}: {v}");
        let (s, _) = send(
            &st,
            "POST",
            &format!("/api/v1/events/{b}/merge"),
            role,
            Some(json!({"into": a, "actor": "x"})),
        )
        .await;
        assert_eq!(s, refused, "{role:?}");
        let (s, _) = send(&st, "POST", "/api/v1/escalate", role, None).await;
        assert!(
            s == refused || s == StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{role:?}: {s}"
        );
    }
    assert_eq!(stored_timeline(&st, a).len(), 1);
    assert_eq!(stored_event(&st, b).status.code(), "reported");

    // A worker moves events of their own grids only.
    let req = |grids: &str| {
        Request::post(format!("/api/v1/events/{a}/transition"))
            .header("x-wangge-role", "worker")
            .header("x-wangge-grids", grids.to_string())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"to": "accepted", "actor": "grid_worker"}).to_string(),
            ))
            .expect("request")
    };
    // Outside the worker's grids the event is answered as absent.
    let (status, _, _) = respond(&st, req("000000000000000000")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = respond(&st, req(&code)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored_event(&st, a).status.code(), "accepted");
}

/// 网格吹哨、部门报到: an event dispatched to a lead department with an
/// assisting one. The assisting department sees it (detail and inbox,
/// marked, without moves), adds a note and is refused a move; a department
/// neither lead nor assisting is answered 404; intake stores the rule's
/// assisting departments.
#[tokio::test]
async fn assisting_departments_see_and_note_but_do_not_move() {
    let st = state("ev-assist");
    let (lon, lat, _) = micro_grid(&st).await;
    let ev = intake(
        &st,
        json!({"category": "04.03", "title": "燃气异味", "lon": lon, "lat": lat}),
    )
    .await;
    let id = id_of(&ev);
    // Intake's rule (gas safety) names emergency_management as assisting.
    let (s, d) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("department:emergency_management"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["you_assist"], json!(true));
    let (s, _) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "accepted", "grade": "major"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // On dispatch the leader names the lead and replaces the assisting ones.
    let (s, body) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "dispatched", "handler": "dept:gas_company", "assisting": ["police", "dept:gas_company"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, d) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("department:police"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        d["assisting"],
        json!(["police"]),
        "the lead is not also assisting"
    );
    assert_eq!(
        (d["you_assist"].clone(), d["allowed"].clone()),
        (json!(true), json!([]))
    );
    let (s, _) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("department:emergency_management"),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "replaced on dispatch: no longer assisting"
    );
    let (s, _) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("department:fire_service"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = send(
        &st,
        "POST",
        &format!("/api/v1/events/{id}/notes"),
        Some("department:fire_service"),
        Some(json!({"note": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The assisting department notes; it may not move the event.
    let (s, n) = send(
        &st,
        "POST",
        &format!("/api/v1/events/{id}/notes"),
        Some("department:police"),
        Some(json!({"note": "已派民警到场，电话 13812345678"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    assert_eq!(n["department"], json!("police"));
    let (s, r) = move_to(&st, id, "department:police", json!({"to": "in_progress"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{r}");
    let (s, _) = move_to(
        &st,
        id,
        "department:gas_company",
        json!({"to": "in_progress"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "the lead moves it");
    // Notes are kept, scrubbed for readers.
    let (_, d) = send(
        &st,
        "GET",
        &format!("/api/v1/events/{id}"),
        Some("leader"),
        None,
    )
    .await;
    let note = d["notes"][0]["note"].as_str().expect("note");
    assert!(
        note.starts_with("已派民警到场") && !note.contains("13812345678"),
        "{note}"
    );
    // The inbox of the assisting department lists it, marked, without moves.
    let (_, inbox) = send(
        &st,
        "GET",
        "/api/v1/inbox?status=all&limit=1000",
        Some("department:police"),
        None,
    )
    .await;
    let item = inbox["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["id"] == json!(id))
        .expect("in the inbox")
        .clone();
    assert_eq!(
        (item["assisting"].clone(), item["allowed"].clone()),
        (json!(true), json!([]))
    );
    let (_, other) = send(
        &st,
        "GET",
        "/api/v1/inbox?status=all&limit=1000",
        Some("department:fire_service"),
        None,
    )
    .await;
    assert!(other["events"]
        .as_array()
        .expect("events")
        .iter()
        .all(|e| e["id"] != json!(id)));
    // `assisting` belongs to dispatch.
    let (s, _) = move_to(
        &st,
        id,
        "leader",
        json!({"to": "resolved", "assisting": ["police"]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
