//! The HTTP API through `app()` with `oneshot`: no socket.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use web_viewer::{app, AppState, ServerConfig};

use crate::common::demo_store;

fn state(tag: &str) -> AppState {
    let (store, path) = demo_store(tag);
    AppState::new(store, ServerConfig::new(path)).expect("state")
}

async fn call(st: &AppState, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let resp = app(st.clone()).oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, body, headers)
}

async fn get_json(st: &AppState, uri: &str) -> (StatusCode, Value) {
    let (s, b, _) = call(st, Request::get(uri).body(Body::empty()).expect("req")).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test]
async fn health_info_and_grid_figures() {
    let st = state("http-info");
    let (s, v) = get_json(&st, "/healthz").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "ok");

    let (s, info) = get_json(&st, "/api/v1/info").await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert!(info["residents"].as_u64().unwrap_or(0) > 9_000, "{info}");

    let (s, grids) = get_json(&st, "/api/v1/grids?kind=comprehensive&limit=5").await;
    assert_eq!(s, StatusCode::OK);
    let f = &grids["features"][0]["properties"];
    let code = f["code"].as_str().expect("code").to_string();
    let (s, detail) = get_json(&st, &format!("/api/v1/grids/{code}")).await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    assert_eq!(detail["households"], f["households"]);
    assert!(detail["households"].as_u64().unwrap_or(0) > 0);
}

#[tokio::test]
async fn errors_have_a_stable_shape() {
    let st = state("http-errors");
    let (s, v) = get_json(&st, "/api/v1/grids/12").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "bad_grid_code");
    let (s, v) = get_json(&st, "/api/v1/nonsense").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("nonsense"));
    let (s, v) = get_json(&st, "/api/v1/events?bbox=1,2,3").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "bad_bbox");

    // Malformed JSON, deep nesting and an oversized body on intake.
    for body in ["{\"category\": ", &"[".repeat(10_000)] {
        let req = Request::post("/api/v1/events")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("req");
        let (s, _, _) = call(&st, req).await;
        assert!(s.is_client_error(), "{s}");
    }
    let big = vec![b' '; 100 * 1024 * 1024];
    let req = Request::post("/api/v1/events")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .expect("req");
    let (s, _, _) = call(&st, req).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    // NaN-like and out-of-range coordinates, unknown category.
    for bad in [
        json!({"category": "02.05", "title": "x", "lon": 200.0, "lat": 36.9}),
        json!({"category": "99.99", "title": "x", "lon": 116.6, "lat": 36.9}),
    ] {
        let req = Request::post("/api/v1/events")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bad.to_string()))
            .expect("req");
        let (s, b, _) = call(&st, req).await;
        assert_eq!(
            s,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(&b)
        );
    }
}

#[tokio::test]
async fn intake_assigns_grids_and_streams() {
    let st = state("http-intake");
    let (_, grids) = get_json(&st, "/api/v1/grids?kind=micro&limit=1").await;
    let p = &grids["features"][0]["properties"];
    let ip = p["interior_point"]
        .as_array()
        .expect("interior point")
        .clone();
    let mut rx = st.0.events_tx.subscribe();
    let body = json!({"category": "02.05", "title": "夜间施工噪音", "lon": ip[0], "lat": ip[1], "source": "resident"});
    let req = Request::post("/api/v1/events")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("req");
    let (s, b, _) = call(&st, req).await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let ev: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(ev["grids"]["micro"], p["code"]);
    assert!(ev["receipt"].as_str().is_some());
    let streamed: Value = serde_json::from_str(&rx.try_recv().expect("streamed")).expect("json");
    assert_eq!(streamed["id"], ev["id"]);
    let (s, detail) = get_json(&st, &format!("/api/v1/events/{}", ev["id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["timeline"][0]["status"], "reported");
}

#[tokio::test]
async fn personal_data_is_masked_and_scoped() {
    let st = state("http-people");
    let (s, _) = get_json(&st, "/api/v1/persons?limit=5").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the big screen sees no people");
    let req = Request::get("/api/v1/persons?limit=5")
        .header("x-wangge-role", "leader")
        .body(Body::empty())
        .expect("req");
    let (s, b, _) = call(&st, req).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_slice(&b).expect("json");
    for f in v["features"].as_array().expect("features") {
        let nid = f["properties"]["national_id"]
            .as_str()
            .unwrap_or("********");
        assert!(nid.contains("********"), "unmasked {nid}");
        let name = f["properties"]["name"].as_str().expect("name");
        assert!(name.chars().skip(1).all(|c| c == '*'), "unmasked {name}");
    }
}

#[tokio::test]
async fn tiles_are_gzipped_mvt_with_etag() {
    let st = state("http-tiles");
    let (_, info) = get_json(&st, "/api/v1/info").await;
    let ext = info["extent"].as_array().expect("extent");
    let (lon, lat) = (
        (ext[0].as_f64().unwrap_or(0.0) + ext[2].as_f64().unwrap_or(0.0)) / 2.0,
        (ext[1].as_f64().unwrap_or(0.0) + ext[3].as_f64().unwrap_or(0.0)) / 2.0,
    );
    let z = 15u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0
        - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI)
        / 2.0
        * n) as u32;
    let uri = format!("/tiles/all/{z}/{x}/{y}.mvt");
    let (s, body, h) = call(&st, Request::get(&uri).body(Body::empty()).expect("req")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert!(body.len() > 100, "tile of {} bytes", body.len());
    let etag = h[header::ETAG].to_str().expect("etag").to_string();
    let req = Request::get(&uri)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .expect("req");
    let (s, _, _) = call(&st, req).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    let (s, style) = get_json(&st, "/style.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(style["version"], 8);
}
