//! The HTTP API through `app()` with `oneshot`: no socket.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use web_viewer::AppState;

use crate::common::{demo_state as state, respond};

/// Sends a request; a GET without a role goes as the big screen (reads need
/// a signed-in caller), anything else as it is.
async fn call(
    st: &AppState,
    mut req: Request<Body>,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    if req.method() == axum::http::Method::GET && !req.headers().contains_key("x-wangge-role") {
        req.headers_mut()
            .insert("x-wangge-role", header::HeaderValue::from_static("screen"));
    }
    let (status, headers, body) = respond(st, req).await;
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

    // The demo's events end before today: the KPI windows end at the newest
    // event and say so, instead of answering empty handling and satisfaction.
    let (s, kpi) = get_json(&st, "/api/v1/kpi").await;
    assert_eq!(s, StatusCode::OK, "{kpi}");
    assert_eq!(kpi["window_is_now"], false, "{kpi}");
    assert!(
        kpi["median_handling_h"].as_f64().is_some_and(|h| h > 0.0),
        "{kpi}"
    );
    let sat = kpi["satisfaction_month"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&sat), "{kpi}");
    assert!(
        kpi["satisfaction_month_of"]
            .as_str()
            .is_some_and(|m| m.len() == 7),
        "{kpi}"
    );

    let (s, grids) = get_json(&st, "/api/v1/grids?kind=comprehensive&limit=5").await;
    assert_eq!(s, StatusCode::OK);
    let f = &grids["features"][0]["properties"];
    let code = f["code"].as_str().expect("code").to_string();
    let (s, detail) = get_json(&st, &format!("/api/v1/grids/{code}")).await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    assert_eq!(detail["households"], f["households"]);
    assert!(detail["households"].as_u64().unwrap_or(0) > 0);
}

/// Asserts an error answer of the stable shape: the status, a JSON body
/// `{"error": {"code", "message"}}` with this code, and a message naming the
/// problem (it contains every one of `names`).
fn assert_error(
    what: &str,
    (status, body, headers): (StatusCode, Vec<u8>, axum::http::HeaderMap),
    want: StatusCode,
    code: &str,
    names: &[&str],
) {
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, want, "{what}: {text}");
    assert!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "{what}: content type {:?}",
        headers.get(header::CONTENT_TYPE)
    );
    let v: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {text}"));
    let err = v["error"].as_object().expect("error object");
    assert_eq!(err.len(), 2, "{what}: exactly code and message: {v}");
    assert_eq!(v["error"]["code"], code, "{what}: {v}");
    let message = v["error"]["message"].as_str().expect("message");
    for n in names {
        assert!(
            message.contains(n),
            "{what}: message {message:?} lacks {n:?}"
        );
    }
}

fn post_json(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("req")
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("req")
}

#[tokio::test]
async fn errors_have_a_stable_shape() {
    let st = state("http-errors");
    let (s, v) = get_json(&st, "/api/v1/grids/12").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "bad_grid_code");
    let r = call(&st, get("/api/v1/nonsense")).await;
    assert_error(
        "unknown kind",
        r,
        StatusCode::NOT_FOUND,
        "not_found",
        &["nonsense"],
    );
    let r = call(&st, get("/api/v1/events?bbox=1,2,3")).await;
    assert_error(
        "bad bbox",
        r,
        StatusCode::BAD_REQUEST,
        "bad_bbox",
        &["1,2,3"],
    );

    // Malformed JSON, 10,000-deep nesting, a body of the wrong shape, a body
    // without its content type, and a 100 MB body on intake.
    let r = call(&st, post_json("/api/v1/events", "{\"category\": ")).await;
    assert_error(
        "malformed JSON",
        r,
        StatusCode::BAD_REQUEST,
        "bad_json",
        &["not valid JSON", "line 1"],
    );
    // Deep nesting is refused wherever it sits, also in a member the intake
    // does not know (which a typed parse would skip).
    let deep_member = format!(
        r#"{{"category": "02.05", "title": "x", "lon": 1, "lat": 2, "extra": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    for (what, body) in [
        ("10,000-deep nesting", "[".repeat(10_000)),
        ("10,000-deep member", deep_member),
    ] {
        let r = call(&st, post_json("/api/v1/events", body)).await;
        assert_error(
            what,
            r,
            StatusCode::BAD_REQUEST,
            "bad_json",
            &["nested deeper than 128 levels", "recursion limit"],
        );
    }
    let r = call(
        &st,
        post_json("/api/v1/events", r#"{"title": "x", "lon": 1, "lat": 2}"#),
    )
    .await;
    assert_error(
        "missing field",
        r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_body",
        &["missing field `category`"],
    );
    let req = Request::post("/api/v1/events")
        .body(Body::from("{}"))
        .expect("req");
    let r = call(&st, req).await;
    assert_error(
        "no content type",
        r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        &["Content-Type: application/json"],
    );
    let big = vec![b' '; 100 * 1024 * 1024];
    let r = call(&st, post_json("/api/v1/events", big)).await;
    let limit = st.0.config.json_body_limit.to_string();
    assert_error(
        "100 MB body",
        r,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        &["larger than the limit", &limit],
    );

    // A query value of the wrong type, a path parameter of the wrong type.
    let r = call(&st, get("/api/v1/buildings?limit=lots")).await;
    assert_error(
        "bad query value",
        r,
        StatusCode::BAD_REQUEST,
        "bad_query",
        &["limit", "invalid digit"],
    );
    let r = call(&st, get("/tiles/all/zz/1/2.mvt")).await;
    assert_error(
        "bad path value",
        r,
        StatusCode::BAD_REQUEST,
        "bad_path",
        &["zz"],
    );

    // Unknown routes, inside and outside the API, and a wrong method.
    for uri in ["/no/such/route", "/api/v1/grids/x/y/z"] {
        let r = call(&st, get(uri)).await;
        assert_error(
            uri,
            r,
            StatusCode::NOT_FOUND,
            "not_found",
            &["no route GET", uri],
        );
    }
    let req = Request::delete("/api/v1/events")
        .body(Body::empty())
        .expect("req");
    let r = call(&st, req).await;
    assert_error(
        "wrong method",
        r,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &["DELETE", "/api/v1/events"],
    );

    // NaN-like and out-of-range coordinates, unknown category.
    for (bad, code) in [
        (
            json!({"category": "02.05", "title": "x", "lon": 200.0, "lat": 36.9}),
            "bad_location",
        ),
        (
            json!({"category": "99.99", "title": "x", "lon": 116.6, "lat": 36.9}),
            "bad_category",
        ),
    ] {
        let r = call(&st, post_json("/api/v1/events", bad.to_string())).await;
        assert_error(code, r, StatusCode::BAD_REQUEST, code, &[]);
    }
}

#[tokio::test]
async fn a_slow_request_times_out_with_a_json_error() {
    let st = state("http-timeout");
    let store = st.0.store.lock().expect("lock").try_clone().expect("clone");
    let mut config = st.0.config.clone();
    config.request_timeout = std::time::Duration::from_millis(300);
    let slow = AppState::new(store, config).expect("state");
    // Hold the store on another thread so the request waits past its time-out.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = {
        let slow = slow.clone();
        std::thread::spawn(move || {
            let _guard = slow.0.store.lock().expect("lock");
            held_tx.send(()).expect("signal");
            std::thread::sleep(std::time::Duration::from_millis(1500));
        })
    };
    held_rx.recv().expect("store held");
    // A read on the read connections does not wait for the write connection.
    let (s, info) = get_json(&slow, "/api/v1/info").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a read waited for the held store: {info}"
    );
    let r = call(&slow, get("/api/v1/grids/versions")).await;
    assert_error(
        "time-out",
        r,
        StatusCode::REQUEST_TIMEOUT,
        "timeout",
        &["/api/v1/grids/versions", "0.3 s"],
    );
    holder.join().expect("holder");
    // Once the store is free the same server answers again. On a loaded
    // machine one answer may itself take longer than the short limit, so a
    // few tries are allowed: what must not happen is a server stuck on 408.
    let mut last = StatusCode::REQUEST_TIMEOUT;
    for _ in 0..20 {
        last = get_json(&slow, "/api/v1/grids/versions").await.0;
        if last == StatusCode::OK {
            break;
        }
    }
    assert_eq!(last, StatusCode::OK, "the server answers again");
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
    let req = Request::get(format!("/api/v1/events/{}", ev["id"]))
        .header("x-wangge-role", "leader")
        .body(Body::empty())
        .expect("req");
    let (s, b, _) = call(&st, req).await;
    assert_eq!(s, StatusCode::OK);
    let detail: Value = serde_json::from_slice(&b).expect("json");
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
async fn people_lists_count_every_match_and_page_to_the_end() {
    let st = state("http-people-pages");
    let (households, persons) = {
        let store = st.0.store.lock().expect("store");
        let town = geo_core::store::Scope::Town;
        (
            store
                .households(&town, None, None)
                .expect("households")
                .len() as u64,
            store.persons(&town, None, None).expect("persons").len() as u64,
        )
    };
    let leader = |uri: String| {
        Request::get(uri)
            .header("x-wangge-role", "leader")
            .body(Body::empty())
            .expect("req")
    };
    let (mut offset, mut seen) = (0u64, 0u64);
    loop {
        let (s, b, _) = call(
            &st,
            leader(format!("/api/v1/households?limit=10000&offset={offset}")),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let v: Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(v["total"], json!(households), "every match, not the page");
        let n = v["features"].as_array().expect("features").len() as u64;
        seen += n;
        match v["next_offset"].as_u64() {
            Some(next) => {
                assert_eq!(next, offset + n);
                offset = next;
            }
            None => break,
        }
    }
    assert_eq!(seen, households, "the pages hold every household once");
    let (_, b, _) = call(&st, leader("/api/v1/persons?limit=3".into())).await;
    let v: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(
        (v["total"].clone(), v["next_offset"].clone()),
        (json!(persons), json!(3))
    );
}

#[tokio::test]
async fn a_person_is_found_by_id_number_through_the_keyed_hash() {
    let st = state("http-national-id");
    let (id, nid) = {
        let store = st.0.store.lock().expect("store");
        store
            .persons(&geo_core::store::Scope::Town, None, None)
            .expect("persons")
            .into_iter()
            .rev()
            .find_map(|p| p.national_id.map(|n| (p.id.get(), n)))
            .expect("a person with an ID number")
    };
    let lookup = |role: &str, n: &str| {
        crate::common::post("/api/v1/persons/lookup", role, json!({ "national_id": n }))
    };
    let (s, b, _) = call(&st, lookup("leader", nid.reveal())).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let v: Value = serde_json::from_slice(&b).expect("json");
    let found = v["features"].as_array().expect("features");
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(found[0]["properties"]["id"], json!(id));
    let shown = found[0]["properties"]["national_id"]
        .as_str()
        .expect("masked");
    assert!(shown != nid.reveal() && shown.contains("****"), "{shown}");
    {
        // Audited with the count, never the number.
        let store = st.0.store.lock().expect("store");
        let lines = store.audit_lines(Some("lookup")).expect("audit");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].3.starts_with("1 persons by ID number"),
            "{lines:?}"
        );
        assert!(
            !lines[0].3.contains(nid.reveal()),
            "the number in the audit log"
        );
    }
    // A worker finds the people of its own grid only: another grid's worker
    // gets an empty answer, as for a number nobody has.
    let (own, other, local) = {
        let store = st.0.store.lock().expect("store");
        let grids: Vec<_> = store
            .grids()
            .expect("grids")
            .into_iter()
            .filter(|g| g.kind == geo_core::model::GridKind::Comprehensive)
            .collect();
        let (g, n) = grids
            .iter()
            .find_map(|g| {
                store
                    .persons(&geo_core::store::Scope::Grids([g.id].into()), None, None)
                    .expect("persons")
                    .into_iter()
                    .find_map(|p| p.national_id)
                    .map(|n| (g, n))
            })
            .expect("a grid with a person with an ID number");
        let other = grids.iter().find(|o| o.id != g.id).expect("a second grid");
        (
            g.code.as_str().to_string(),
            other.code.as_str().to_string(),
            n,
        )
    };
    let as_worker = |grid: &str| {
        Request::post("/api/v1/persons/lookup")
            .header("x-wangge-role", "worker")
            .header("x-wangge-grids", grid)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({ "national_id": local.reveal() }).to_string(),
            ))
            .expect("req")
    };
    for (grid, want) in [(own.as_str(), 1), (other.as_str(), 0)] {
        let (s, b, _) = call(&st, as_worker(grid)).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        let v: Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(
            v["features"].as_array().map(Vec::len),
            Some(want),
            "worker of {grid}: {v}"
        );
    }
    let (s, _, _) = call(&st, lookup("screen", nid.reveal())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the big screen looks up nobody");
    let (s, b, _) = call(&st, lookup("leader", "110105194912310021")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&b).contains("bad_national_id"));
    // An ID number in a URL is refused, pointing at the look-up.
    let uri = format!("/api/v1/persons?national_id={}", nid.reveal());
    let (s, b, _) = call(&st, crate::common::get(&uri, "leader")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let said = String::from_utf8_lossy(&b);
    assert!(
        said.contains("bad_national_id") && said.contains("POST /api/v1/persons/lookup"),
        "{said}"
    );
}

#[tokio::test]
async fn tiles_are_gzipped_only_for_clients_that_offer_gzip() {
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
    let with = |ae: Option<&str>, etag: Option<&str>| {
        let mut r = Request::get(&uri);
        if let Some(ae) = ae {
            r = r.header(header::ACCEPT_ENCODING, ae);
        }
        if let Some(e) = etag {
            r = r.header(header::IF_NONE_MATCH, e);
        }
        r.body(Body::empty()).expect("req")
    };
    // A browser offers gzip: gzip, and caches are told the answer varies.
    let (s, gz, h) = call(&st, with(Some("gzip, deflate, br"), None)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert_eq!(h[header::VARY], "accept-encoding");
    assert!(gz.len() > 100, "tile of {} bytes", gz.len());
    let mut raw_of_gz = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw_of_gz)
        .expect("a gzip body");
    let etag_gz = h[header::ETAG].to_str().expect("etag").to_string();
    // No Accept-Encoding, identity only, or gzip refused: the decoded copy.
    for ae in [
        None,
        Some("identity"),
        Some("gzip;q=0, identity"),
        Some("br"),
    ] {
        let (s, raw, h) = call(&st, with(ae, None)).await;
        assert_eq!(s, StatusCode::OK, "{ae:?}");
        assert!(!h.contains_key(header::CONTENT_ENCODING), "{ae:?}: {h:?}");
        assert_eq!(h[header::VARY], "accept-encoding", "{ae:?}");
        assert_eq!(raw, raw_of_gz, "{ae:?}: the same tile, not encoded");
        fast_mvt::MvtReaderRef::new(&raw).expect("a plain MVT");
        assert_ne!(
            h[header::ETAG].to_str().expect("etag"),
            etag_gz,
            "one tag per representation"
        );
    }
    // Validators per representation: each copy's own tag revalidates it.
    let (s, _, h) = call(&st, with(Some("gzip"), Some(&etag_gz))).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    assert_eq!(h[header::VARY], "accept-encoding");
    let (s, _, _) = call(&st, with(None, Some(&etag_gz))).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the gzip copy's tag does not match the identity copy"
    );
    let (s, style) = get_json(&st, "/style.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(style["version"], 8);
}

fn as_role(uri: &str, role: &str, grids: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri).header("x-wangge-role", role);
    if let Some(g) = grids {
        r = r.header("x-wangge-grids", g);
    }
    r.body(Body::empty()).expect("req")
}

async fn list_ids(st: &AppState, req: Request<Body>) -> std::collections::BTreeSet<u64> {
    let what = req.uri().to_string();
    let (s, b, _) = call(st, req).await;
    assert_eq!(s, StatusCode::OK, "{what}: {}", String::from_utf8_lossy(&b));
    let v: Value = serde_json::from_slice(&b).expect("json");
    let feats = v["features"].as_array().expect("features");
    assert_eq!(
        v["total"].as_u64(),
        Some(feats.len() as u64),
        "{what}: one page"
    );
    feats
        .iter()
        .map(|f| f["properties"]["id"].as_u64().expect("id"))
        .collect()
}

#[tokio::test]
async fn lists_are_scoped_to_a_workers_grids() {
    use geo_core::store::{LoadSet, Scope};
    let st = state("http-scope");
    let grids = st.0.store.lock().expect("lock").grids().expect("grids");
    // What the store's scoped read of one grid holds.
    let grid_view = |id: geo_core::ids::GridId| {
        st.0.store
            .lock()
            .expect("lock")
            .load(&Scope::Grids([id].into_iter().collect()), LoadSet::Spatial)
            .expect("load")
    };
    // The comprehensive grid with the most buildings: the worker's own grid.
    let view_ids = |ds: &geo_core::Dataset| -> [std::collections::BTreeSet<u64>; 5] {
        [
            ds.buildings.iter().map(|b| b.id.get()).collect(),
            ds.compounds.iter().map(|c| c.id.get()).collect(),
            ds.units.iter().map(|u| u.id.get()).collect(),
            ds.organisations.iter().map(|o| o.id.get()).collect(),
            ds.events.iter().map(|e| e.id.get()).collect(),
        ]
    };
    let town = view_ids(
        &st.0
            .store
            .lock()
            .expect("lock")
            .load(&Scope::Town, LoadSet::Spatial)
            .expect("load"),
    );
    let (g, mine) = grids
        .iter()
        .filter(|g| g.kind == geo_core::model::GridKind::Comprehensive)
        .map(|g| (g, view_ids(&grid_view(g.id))))
        .max_by_key(|(_, m)| m[0].len())
        .expect("a comprehensive grid");
    let code = g.code.as_str();
    assert!(
        !mine[0].is_empty() && mine[0].len() < town[0].len(),
        "grid {code}: {} of {} buildings",
        mine[0].len(),
        town[0].len()
    );
    let kinds = ["buildings", "compounds", "units", "organisations", "events"];
    for (i, kind) in kinds.iter().enumerate() {
        let uri = format!("/api/v1/{kind}?limit=10000");
        // A worker sees exactly what the store's scoped read of its grid holds…
        let worker = list_ids(&st, as_role(&uri, "worker", Some(code))).await;
        assert_eq!(
            worker, mine[i],
            "{kind}: worker of {code} vs the store's scope"
        );
        // …which is the leader's `grid=` filter of that grid…
        let filtered = list_ids(&st, as_role(&format!("{uri}&grid={code}"), "leader", None)).await;
        assert_eq!(
            filtered, mine[i],
            "{kind}: grid={code} vs the store's scope"
        );
        // …of the whole town the leader sees; a worker without grids sees nothing.
        let all = list_ids(&st, as_role(&uri, "leader", None)).await;
        assert_eq!(all, town[i], "{kind}: leader sees the town");
        let none = list_ids(&st, as_role(&uri, "worker", None)).await;
        assert!(
            none.is_empty(),
            "{kind}: a worker without grids sees {none:?}"
        );
    }
    // Places: the worker sees its grid's places plus the base map (places
    // outside every community), like the store's scoped read.
    let stored_places: std::collections::BTreeSet<u64> =
        grid_view(g.id).places.iter().map(|p| p.id.get()).collect();
    let worker = list_ids(
        &st,
        as_role("/api/v1/places?limit=10000", "worker", Some(code)),
    )
    .await;
    assert_eq!(worker, stored_places, "places: worker vs the store's scope");
    let all = list_ids(&st, as_role("/api/v1/places?limit=10000", "leader", None)).await;
    assert!(
        worker.len() < all.len(),
        "{} of {} places",
        worker.len(),
        all.len()
    );

    // The detail of a building outside the worker's grid is refused.
    let outside = town[0]
        .difference(&mine[0])
        .next()
        .expect("a building elsewhere");
    let inside = mine[0].iter().next().expect("a building of the grid");
    let r = call(
        &st,
        as_role(&format!("/api/v1/buildings/{inside}"), "worker", Some(code)),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", String::from_utf8_lossy(&r.1));
    let d: Value = serde_json::from_slice(&r.1).expect("json");
    assert_eq!(d["grids"]["comprehensive"], code);
    let r = call(
        &st,
        as_role(
            &format!("/api/v1/buildings/{outside}"),
            "worker",
            Some(code),
        ),
    )
    .await;
    // Absent for the worker, as an ID that does not exist (no existence
    // oracle).
    assert_error(
        "building elsewhere",
        r,
        StatusCode::NOT_FOUND,
        "not_found",
        &[&outside.to_string()],
    );

    // Units of one building.
    let (s, detail) = get_json(&st, &format!("/api/v1/buildings/{inside}")).await;
    assert_eq!(s, StatusCode::OK);
    let units = list_ids(
        &st,
        get(&format!("/api/v1/units?building={inside}&limit=10000")),
    )
    .await;
    let listed: std::collections::BTreeSet<u64> = detail["unit_list"]
        .as_array()
        .expect("unit list")
        .iter()
        .map(|u| u["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(units, listed);
    let r = call(&st, get("/api/v1/units?building=abc")).await;
    assert_error(
        "bad building",
        r,
        StatusCode::BAD_REQUEST,
        "bad_id",
        &["building"],
    );
}

/// A page of the event list is the slice of the whole list at its offset,
/// with the count of the whole list — for the leader's unfiltered list
/// (served as a slice of the view's order, without a walk), the planner's
/// coarse copies, a worker's own grids and a filtered list (walked), and
/// past the end.
#[tokio::test]
async fn event_pages_are_slices_of_the_whole_list() {
    let st = state("http-event-pages");
    let grid = crate::common::first_comprehensive_grid(&st.0.store.lock().expect("store"));
    let get = |role: &'static str, uri: String| {
        let mut r = Request::get(uri).header("x-wangge-role", role);
        if role == "worker" {
            r = r.header("x-wangge-grids", grid.clone());
        }
        r.body(Body::empty()).expect("req")
    };
    let ids = |page: &Value| -> Vec<Value> {
        page["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["properties"]["id"].clone())
            .collect()
    };
    for (role, filter) in [
        ("leader", ""),
        ("planner", ""),
        ("worker", ""),
        ("leader", "&status=closed"),
    ] {
        let uri = format!("/api/v1/events?limit=10000{filter}");
        let (s, all) = crate::common::call(&st, get(role, uri)).await;
        assert_eq!(s, StatusCode::OK);
        let total = all["total"].as_u64().expect("total");
        let every = ids(&all);
        assert_eq!(
            every.len() as u64,
            total,
            "{role}{filter}: one page holds all"
        );
        assert!(
            total > 10,
            "{role}{filter}: too few events to page ({total})"
        );
        for offset in [0, 7, total - 3, total + 5] {
            let uri = format!("/api/v1/events?limit=5&offset={offset}{filter}");
            let (s, page) = crate::common::call(&st, get(role, uri)).await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(page["total"], json!(total), "{role}{filter} at {offset}");
            let from = (offset as usize).min(every.len());
            let want = &every[from..(from + 5).min(every.len())];
            assert_eq!(ids(&page), want, "{role}{filter} at {offset}");
        }
    }
}
