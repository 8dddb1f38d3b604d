//! The demo town lives in the present: `wangge demo` ends its year of events
//! at "now", so the big screen has events today, overdue ones and ones near
//! their deadline; the store records that `wangge demo` made it, and the
//! demo feed files new events (source `demo`) like any intake.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use geo_core::model::EventSource;
use serde_json::Value;
use wangge_data::demo::Scale;
use web_viewer::cli::demo::generate_into;
use web_viewer::clock::SettableClock;
use web_viewer::service::demo_feed::{demo_mark, file_demo_event};
use web_viewer::AppState;

use crate::common::{call, get, open_store, proxy_config, temp_db};

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("time string"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn the_demo_runs_up_to_now_and_the_feed_files_demo_events() {
    // 15:00 Beijing time: the demo's day is well under way.
    let now = Utc
        .with_ymd_and_hms(2031, 3, 4, 7, 0, 0)
        .single()
        .expect("time");
    let path = temp_db("demo-now");
    let mut store = open_store(&path);
    generate_into(&mut store, Scale::Community, 7, now, false).expect("demo");
    let mark = demo_mark(&store)
        .expect("meta")
        .expect("a demo store is marked");
    assert_eq!((mark.scale.as_str(), mark.seed), ("community", 7));
    assert_eq!(time(&Value::String(mark.until.clone())), now);
    let clock = Arc::new(SettableClock::new(now));
    let st = AppState::with_clock(store, proxy_config(path), clock).expect("state");

    let (s, kpi) = call(&st, get("/api/v1/kpi", "leader")).await;
    assert!(s.is_success(), "{kpi}");
    assert!(kpi["events_today"].as_u64() > Some(0), "{kpi}");
    assert!(kpi["overdue"].as_u64() > Some(0), "{kpi}");
    assert_eq!(kpi["window_is_now"], true, "{kpi}");
    {
        let view = st.view().expect("view");
        let evs = &view.dataset.events;
        assert!(
            evs.iter().all(|e| e.reported_at < now),
            "an event after now"
        );
        // Open events whose deadline is still ahead, some within the day.
        let near = evs
            .iter()
            .filter(|e| e.status.is_open())
            .filter_map(|e| e.deadline)
            .filter(|d| *d > now && *d < now + Duration::hours(24))
            .count();
        assert!(near > 0, "no open event near its deadline");
    }

    // The feed files an event like any intake, marked as demo, and streams it.
    let mut rx = st.0.events_tx.subscribe();
    let filed = file_demo_event(&st, &mark, 0)
        .await
        .expect("feed")
        .expect("a demo event");
    let e = &filed.event;
    assert_eq!((e.source, e.reported_at), (EventSource::Demo, now));
    assert!(e.id.get() > mark.last_event_id);
    assert!(e.handler.is_some() && e.deadline.is_some(), "{e:?}");
    let (s, list) = call(&st, get("/api/v1/events?source=demo&limit=10", "leader")).await;
    assert!(s.is_success(), "{list}");
    let ids: Vec<u64> = list["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["properties"]["id"].as_u64())
        .collect();
    assert_eq!(ids, [e.id.get()], "{list}");
    let msg: Value = serde_json::from_str(&rx.try_recv().expect("streamed")).expect("json");
    assert_eq!(
        (msg["id"].as_u64(), &msg["source"]),
        (Some(e.id.get()), &Value::from("demo"))
    );
    let (_, kpi2) = call(&st, get("/api/v1/kpi", "leader")).await;
    assert_eq!(
        kpi2["events_today"].as_u64(),
        kpi["events_today"].as_u64().map(|n| n + 1),
        "{kpi2}"
    );
}

#[tokio::test]
async fn a_store_not_made_by_wangge_demo_has_no_demo_mark() {
    let store = open_store(temp_db("demo-none"));
    assert_eq!(demo_mark(&store).expect("meta"), None);
}
