//! Shared fixtures: a demo community in a temporary DuckDB file, and
//! requests through the real router.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use geo_core::store::Store;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wangge_data::demo::Scale;
use web_viewer::cli::demo::generate_into;
use web_viewer::cli::regrid::RegridArgs;
use web_viewer::service::regrid::RegridRequest;
use web_viewer::{app, AppState, ServerConfig};

static N: AtomicU32 = AtomicU32::new(0);

/// A fresh path for a DuckDB file under the system temp dir.
pub fn temp_db(tag: &str) -> PathBuf {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("wangge-e2e-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("test.duckdb")
}

/// The key of the store at `path`, from its key file beside it (`path.key`,
/// created on first use), where `wangge` looks for it.
pub fn store_key(path: &Path) -> geo_core::crypt::Keyring {
    let key = web_viewer::cli::key::default_key_path(path);
    if key.exists() {
        web_viewer::cli::key::load(&key).expect("key file")
    } else {
        web_viewer::cli::key::create(&key).expect("key file")
    }
}

/// Opens (creating) the store at `path` with [`store_key`].
pub fn open_store(path: impl AsRef<Path>) -> Store {
    let path = path.as_ref();
    Store::open(path, &store_key(path)).expect("open store")
}

/// Copies the store `from` and its key file to `to`.
pub fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy of the store");
    std::fs::copy(
        web_viewer::cli::key::default_key_path(from),
        web_viewer::cli::key::default_key_path(to),
    )
    .expect("copy of the key file");
}

/// A store holding the community-scale demo (seed 7).
pub fn demo_store(tag: &str) -> (Store, PathBuf) {
    let path = temp_db(tag);
    let mut store = open_store(&path);
    generate_into(
        &mut store,
        Scale::Community,
        7,
        wangge_data::demo::fixed_end(),
        false,
    )
    .expect("generate demo");
    (store, path)
}

/// `wangge regrid --community 1 --min 30 --max 80` (micro-grids, seed 1),
/// writing `proposal.geojson` and `report.json` into `dir`; no workbook, no
/// adoption.
/// The code of the store's first comprehensive grid (a worker's grid in
/// the tests that need one).
pub fn first_comprehensive_grid(store: &Store) -> String {
    store
        .grids()
        .expect("grids")
        .into_iter()
        .find(|g| g.kind == geo_core::model::GridKind::Comprehensive)
        .expect("a comprehensive grid")
        .code
        .as_str()
        .to_string()
}

pub fn micro_regrid_args(dir: &Path) -> RegridArgs {
    RegridArgs {
        json: false,
        level: "micro".into(),
        community: Some("1".into()),
        min: 30,
        max: 80,
        mode: "max".into(),
        seed: 1,
        allow_floor_split: false,
        out: dir.join("proposal.geojson"),
        report: dir.join("report.json"),
        xlsx: None,
        dump_input: None,
        adopt: false,
        note: None,
    }
}

/// A re-gridding request at `level` for the whole town: households per grid
/// in `min..=max`, seed 1, floors kept whole.
pub fn regrid_request(level: &str, min: u32, max: u32) -> RegridRequest {
    RegridRequest {
        level: level.into(),
        community: None,
        min,
        max,
        mode: "max".into(),
        seed: 1,
        allow_floor_split: false,
        moves_per_unit: None,
    }
}

/// The proxy secret of [`demo_state`]: these tests speak as the
/// authenticating proxy (`wangge serve --auth proxy`), sending
/// `X-Wangge-Role`; `auth.rs` tests log-in, sessions and the attacks.
pub const PROXY_SECRET: &str = "test-proxy-secret-0123456789";

/// A server configuration for `path` in proxy mode with [`PROXY_SECRET`].
pub fn proxy_config(path: std::path::PathBuf) -> ServerConfig {
    let mut config = ServerConfig::new(path);
    config.auth.mode = web_viewer::auth::AuthMode::Proxy {
        secret: PROXY_SECRET.into(),
    };
    config
}

/// Server state over [`demo_store`], as `wangge serve --auth proxy` builds it.
pub fn demo_state(tag: &str) -> AppState {
    let (store, path) = demo_store(tag);
    let mut config = ServerConfig::new(path);
    config.auth.mode = web_viewer::auth::AuthMode::Proxy {
        secret: PROXY_SECRET.into(),
    };
    AppState::new(store, config).expect("state")
}

/// Sends one request through the real router (`app()` with `oneshot`):
/// status, headers and body bytes.
pub async fn respond(st: &AppState, mut req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    // As the proxy: its secret goes with the role headers.
    if req.headers().contains_key("x-wangge-role")
        && !req.headers().contains_key("x-wangge-proxy-secret")
    {
        req.headers_mut().insert(
            "x-wangge-proxy-secret",
            header::HeaderValue::from_static(PROXY_SECRET),
        );
    }
    let resp = app(st.clone()).oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body.to_vec())
}

/// [`respond`] with the body read as JSON (`Null` when it is not JSON).
pub async fn call(st: &AppState, req: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = respond(st, req).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A header's value as text, if present and readable.
pub fn header_text(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `GET uri` as `role` (`X-Wangge-Role`).
pub fn get(uri: &str, role: &str) -> Request<Body> {
    Request::get(uri)
        .header("x-wangge-role", role)
        .body(Body::empty())
        .expect("request")
}

/// `POST uri` of a JSON body as `role`.
pub fn post(uri: &str, role: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header("x-wangge-role", role)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// `token` with its last character changed (to `0`, or to `1` when it
/// already ends in `0`): a forgery that differs from it whatever it ends in.
pub fn altered(token: &str) -> String {
    let (head, last) = token.split_at(token.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}
