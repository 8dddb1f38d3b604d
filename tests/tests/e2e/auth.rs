//! Attacks on identity and access, through a real HTTP server (axum on a
//! loopback socket, as `wangge serve` runs it) over a real DuckDB store in
//! log-in mode. Each block is one attack of issue 14 that must be refused.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use geo_core::store::Store;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use p256::elliptic_curve::Generate;
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};
use web_viewer::auth::password::AccountSpec;
use web_viewer::{app, AppState, ServerConfig};

use crate::common::demo_store;

/// One HTTP/1.1 exchange on a fresh connection.
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The session cookie this answer sets.
    pub(crate) fn session_cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.strip_prefix("wangge_session="))
            .map(|v| v.split(';').next().unwrap_or("").to_string())
    }
}

pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    http_raw(addr, method, path, headers, body.unwrap_or("").as_bytes())
}

/// [`http`] with a body of any bytes (a photo).
pub(crate) fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A running server in log-in mode over the demo community, with accounts.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) state: AppState,
    pub(crate) worker_grid: String,
    /// A kiosk token made before the server started (as `wangge token add`).
    pub(crate) kiosk: String,
}

pub(crate) const PASSWORD: &str = "correct horse battery staple";

fn add(store: &mut Store, name: &str, role: &str, grids: &[String], dept: Option<&str>) {
    let row = AccountSpec::new(name, None, role, grids, dept)
        .expect("spec")
        .into_row(PASSWORD, 0)
        .expect("hash");
    store.add_account(&row).expect("add account");
}

pub(crate) async fn server(tag: &str, config: impl FnOnce(&mut ServerConfig)) -> Server {
    server_after(tag, |_| {}, config).await
}

/// [`server`], with `before` run on the closed store file (a `wangge`
/// command, as a user would run it) before the server opens it.
pub(crate) async fn server_after(
    tag: &str,
    before: impl FnOnce(&std::path::Path),
    config: impl FnOnce(&mut ServerConfig),
) -> Server {
    let (mut store, path) = demo_store(tag);
    let worker_grid = crate::common::first_comprehensive_grid(&store);
    add(&mut store, "leader", "leader", &[], None);
    add(
        &mut store,
        "worker",
        "worker",
        std::slice::from_ref(&worker_grid),
        None,
    );
    add(&mut store, "fire", "department", &[], Some("fire_service"));
    add(&mut store, "planner", "planner", &[], None);
    let kiosk = web_viewer::cli::user::add_kiosk_token(
        &mut store,
        "screen",
        "wall",
        &["https://dash.example".into()],
        0,
    )
    .expect("kiosk token");
    drop(store);
    before(&path);
    let store = crate::common::open_store(&path);
    let mut cfg = ServerConfig::new(path);
    config(&mut cfg);
    let state = AppState::new(store, cfg).expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let st = state.clone();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app(st).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Server {
        addr,
        state,
        worker_grid,
        kiosk,
    }
}

/// Logs in; `(cookie header, csrf token)`.
pub(crate) fn login(addr: SocketAddr, name: &str) -> (String, String) {
    let r = http(
        addr,
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        Some(&json!({"name": name, "password": PASSWORD}).to_string()),
    );
    assert_eq!(r.status, 200, "log-in of {name}: {}", r.body);
    let cookie = r.session_cookie().expect("session cookie");
    let set = r.header("set-cookie").unwrap_or_default().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    (
        format!("wangge_session={cookie}"),
        r.json()["csrf"].as_str().expect("csrf").to_string(),
    )
}

pub(crate) fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    tokio::task::spawn_blocking(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofing_fixation_csrf_and_brute_force_are_refused() {
    let srv = server("auth-login", |_| {}).await;
    let addr = srv.addr;
    blocking(move || {
        // Header spoofing: without the proxy mode and its secret, claiming
        // to be a leader is refused outright.
        let r = http(
            addr,
            "GET",
            "/api/v1/persons?limit=5",
            &[("X-Wangge-Role", "leader")],
            None,
        );
        assert_eq!(r.status, 401, "{}", r.body);
        // Anonymous: no data, and the pages send to the log-in page.
        assert_eq!(http(addr, "GET", "/api/v1/events", &[], None).status, 401);
        let r = http(addr, "GET", "/", &[], None);
        assert_eq!(r.status, 303);
        assert!(r
            .header("location")
            .is_some_and(|l| l.starts_with("/login?next=")));
        assert_eq!(http(addr, "GET", "/login", &[], None).status, 200);

        // Session fixation: a session ID the attacker planted is never
        // promoted; log-in issues a new one and the planted one is nothing.
        let planted =
            "wangge_session=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let r = http(
            addr,
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json"), ("Cookie", planted)],
            Some(&json!({"name": "leader", "password": PASSWORD}).to_string()),
        );
        assert_eq!(r.status, 200);
        let fresh = r.session_cookie().expect("a new session");
        assert_ne!(format!("wangge_session={fresh}"), planted);
        assert_eq!(
            http(addr, "GET", "/api/v1/session", &[("Cookie", planted)], None).status,
            401
        );

        // CSRF: a write with the cookie but without the token, or as a
        // form, is refused and changes nothing.
        let (cookie, csrf) = login(addr, "leader");
        let ev = http(
            addr,
            "GET",
            "/api/v1/events?limit=1",
            &[("Cookie", &cookie)],
            None,
        )
        .json();
        let id = ev["features"][0]["properties"]["id"]
            .as_u64()
            .expect("an event");
        let status = ev["features"][0]["properties"]["status"].clone();
        let path = format!("/api/v1/events/{id}/transition");
        let body = json!({"to": "rejected", "note": "csrf"}).to_string();
        let r = http(
            addr,
            "POST",
            &path,
            &[("Cookie", &cookie), ("Content-Type", "application/json")],
            Some(&body),
        );
        assert_eq!(
            (r.status, r.json()["error"]["code"].clone()),
            (403, json!("csrf")),
            "{}",
            r.body
        );
        let r = http(
            addr,
            "POST",
            &path,
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-CSRF-Token", &csrf),
            ],
            Some("to=rejected"),
        );
        assert_eq!(r.status, 415, "{}", r.body);
        let r = http(
            addr,
            "POST",
            "/api/v1/regrid/1/adopt",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(""),
        );
        assert_eq!(
            r.status, 415,
            "a form post cannot adopt a re-grid: {}",
            r.body
        );
        let after = http(
            addr,
            "GET",
            &format!("/api/v1/events/{id}"),
            &[("Cookie", &cookie)],
            None,
        )
        .json();
        assert_eq!(after["status"], status, "nothing changed");

        // Log-out ends the session.
        let r = http(
            addr,
            "DELETE",
            "/api/v1/session",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/json"),
                ("X-CSRF-Token", &csrf),
            ],
            None,
        );
        assert_eq!(r.status, 204);
        assert_eq!(
            http(addr, "GET", "/api/v1/session", &[("Cookie", &cookie)], None).status,
            401
        );

        // Brute force: after 5 failures the account is locked, even for the
        // right password, and every failure is in the audit log.
        for _ in 0..5 {
            let r = http(
                addr,
                "POST",
                "/api/v1/session",
                &[("Content-Type", "application/json")],
                Some(&json!({"name": "planner", "password": "wrong password!"}).to_string()),
            );
            assert_eq!(r.status, 401);
        }
        let r = http(
            addr,
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            Some(&json!({"name": "planner", "password": PASSWORD}).to_string()),
        );
        assert_eq!(r.status, 429, "{}", r.body);
        assert!(r.header("retry-after").is_some());

        // DNS rebinding: a foreign Host is refused.
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read");
        assert_eq!(parse(&raw).status, 421);
    })
    .await
    .expect("attacks");
    let store = srv.state.0.store.lock().expect("store");
    assert_eq!(store.audit_count("login_failed").expect("audit"), 5);
    assert!(store.audit_count("login").expect("audit") >= 2);
    assert_eq!(store.audit_count("login_refused").expect("audit"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_departments_and_the_public_see_only_their_own() {
    let srv = server("auth-scope", |_| {}).await;
    let (addr, grid) = (srv.addr, srv.worker_grid.clone());
    blocking(move || {
        let (leader, leader_csrf) = login(addr, "leader");
        let (worker, _) = login(addr, "worker");
        let (fire, fire_csrf) = login(addr, "fire");
        let all = http(addr, "GET", "/api/v1/events?limit=10000", &[("Cookie", &leader)], None).json();
        let feats = all["features"].as_array().expect("events").clone();
        let in_grid = |f: &Value| {
            ["comprehensive", "micro", "dedicated"]
                .iter()
                .any(|k| f["properties"]["grids"][k].as_str().is_some_and(|c| c.starts_with(&grid)))
        };
        let outside = feats.iter().find(|f| !in_grid(f)).expect("an event outside the worker's grid");
        let inside = feats.iter().find(|f| in_grid(f)).expect("an event inside the worker's grid");
        let out_id = outside["properties"]["id"].as_u64().expect("id");
        let in_id = inside["properties"]["id"].as_u64().expect("id");

        // By ID: outside is absent (404, as for an ID that does not exist).
        let r = http(addr, "GET", &format!("/api/v1/events/{out_id}"), &[("Cookie", &worker)], None);
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(http(addr, "GET", &format!("/api/v1/events/{in_id}"), &[("Cookie", &worker)], None).status, 200);
        // By list and bbox: nothing outside.
        let c = outside["geometry"]["coordinates"].clone();
        let (x, y) = (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"));
        let bbox = format!("{},{},{},{}", x - 0.001, y - 0.001, x + 0.001, y + 0.001);
        for q in ["/api/v1/events?limit=10000".to_string(), format!("/api/v1/events?bbox={bbox}&limit=10000")] {
            let mine = http(addr, "GET", &q, &[("Cookie", &worker)], None).json();
            let mine = mine["features"].as_array().expect("list");
            assert!(mine.iter().all(in_grid), "{q}: the worker's list holds events of other grids");
        }
        // People: only of the worker's grids.
        let p = http(addr, "GET", "/api/v1/persons?limit=10000", &[("Cookie", &worker)], None).json();
        let p = p["features"].as_array().expect("persons");
        assert!(!p.is_empty());
        // The list's total counts the worker's people, not the town's: no
        // count of what it may not see.
        let total = |cookie: &str| {
            http(addr, "GET", "/api/v1/persons?limit=1", &[("Cookie", cookie)], None).json()["total"]
                .as_u64()
                .expect("total")
        };
        let (mine, town) = (total(&worker), total(&leader));
        assert_eq!(mine, p.len() as u64, "the worker's total is not its own people");
        assert!(mine < town, "the worker's total {mine} is the town's {town}");
        // By tile: a worker gets the same k-anonymous events tile as the screen.
        // By tile: over an event outside the grid, the worker gets the
        // k-anonymous tile the screen gets, not the leader's exact one.
        let z = 16u32;
        let n = f64::from(1u32 << z);
        let tx = ((x + 180.0) / 360.0 * n) as u32;
        let ty = ((1.0 - (y.to_radians().tan() + 1.0 / y.to_radians().cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
        let tile = format!("/tiles/events/{z}/{tx}/{ty}.mvt");
        let (planner, _) = login(addr, "planner");
        let wt = http(addr, "GET", &tile, &[("Cookie", &worker)], None);
        let pt = http(addr, "GET", &tile, &[("Cookie", &planner)], None);
        let lt = http(addr, "GET", &tile, &[("Cookie", &leader)], None);
        assert_eq!(wt.header("cache-control").map(|c| c.contains("private")), Some(true), "{:?}", wt.headers);
        assert_eq!(lt.status, 200, "the leader's tile over event {out_id} is empty");
        assert_eq!((wt.status, &wt.body), (pt.status, &pt.body), "the worker's tile differs from the k-anonymous one");
        assert_ne!(wt.body, lt.body, "the worker got the leader's exact tile");
        // By stream: the backlog holds only the worker's events.
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        write!(s, "GET /api/v1/stream/events?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {worker}\r\n\r\n").expect("write");
        let mut got = String::new();
        let mut buf = [0u8; 65536];
        let want = loop {
            let n = s.read(&mut buf).expect("read stream");
            assert!(n > 0, "stream closed");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
            let replayed = got
                .lines()
                .find_map(|l| l.strip_prefix("data: ").filter(|d| d.contains("replayed")))
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .and_then(|v| v["replayed"].as_u64());
            if let Some(r) = replayed {
                if got.matches("event: event").count() as u64 >= r {
                    break r;
                }
            }
        };
        assert!(want > 0, "the worker's backlog is empty");
        for l in got.lines().filter_map(|l| l.strip_prefix("data: ")) {
            let v: Value = serde_json::from_str(l).unwrap_or(Value::Null);
            if v.get("category").is_some() {
                assert!(in_grid(&json!({"properties": v})), "streamed event outside the grid: {l}");
                assert!(v.get("receipt").is_none());
            }
        }

        // A department moves only what is dispatched to it.
        let r = http(addr, "POST", &format!("/api/v1/events/{out_id}/transition"), &[("Cookie", &fire), ("Content-Type", "application/json"), ("X-CSRF-Token", &fire_csrf)], Some(r#"{"to":"rejected","note":"x"}"#));
        assert_eq!(r.status, 404, "a department moved an event not its own: {}", r.body);
        let fires = http(addr, "GET", "/api/v1/events?limit=10000", &[("Cookie", &fire)], None).json();
        assert!(fires["features"].as_array().expect("list").iter().all(|f| f["properties"]["handler"] == "dept:fire_service"));

        // The planner gets no single event: no title, a coarse place.
        let pl = http(addr, "GET", "/api/v1/events?limit=5", &[("Cookie", &planner)], None).json();
        for f in pl["features"].as_array().expect("list") {
            assert!(f["properties"].get("title").is_none(), "{f}");
            assert_eq!(f["properties"]["coarse"], true);
        }
        assert_eq!(http(addr, "GET", &format!("/api/v1/events/{in_id}"), &[("Cookie", &planner)], None).status, 403);
        // Its alerts (overdue and red events, open escalations) are coarse
        // copies too; the alerts are the command centre's, not a worker's.
        let al = http(addr, "GET", "/api/v1/alerts", &[("Cookie", &planner)], None);
        assert_eq!(al.status, 200, "{}", al.body);
        let al = al.json();
        assert!(!al["red"].as_array().expect("red").is_empty(), "no overdue or red event to check: {al}");
        for a in al["red"].as_array().expect("red").iter().chain(al["escalated"].as_array().expect("escalated")) {
            for hidden in ["title", "handler", "receipt", "transition"] {
                assert!(a.get(hidden).is_none(), "alert carries {hidden}: {a}");
            }
            assert_eq!(a["coarse"], true, "{a}");
        }
        assert_eq!(http(addr, "GET", "/api/v1/alerts", &[("Cookie", &worker)], None).status, 403);

        // The public: its report is graded and sourced by the server, its
        // receipt cannot be guessed.
        let body = json!({"category": "02.05", "title": "噪音", "lon": x, "lat": y, "grade": "urgent", "source": "sensor"}).to_string();
        let r = http(addr, "POST", "/api/v1/events", &[("Content-Type", "application/json")], Some(&body));
        assert_eq!(r.status, 201, "{}", r.body);
        let ev = r.json();
        assert_eq!((ev["grade"].clone(), ev["source"].clone()), (json!("general"), json!("resident")));
        let receipt = ev["receipt"].as_str().expect("receipt").to_string();
        let (rid, mac) = receipt.split_once('-').expect("R<id>-<mac>");
        assert_eq!(mac.len(), 32, "128-bit receipt MAC");
        assert_eq!(http(addr, "GET", &format!("/api/v1/receipts/{receipt}"), &[], None).status, 200);
        for guess in [format!("{rid}-0"), format!("{rid}-{}", "0".repeat(32)), format!("R{}-{mac}", out_id)] {
            assert_eq!(http(addr, "GET", &format!("/api/v1/receipts/{guess}"), &[], None).status, 404, "{guess}");
        }
        // Free text: numbers that identify people are masked unless a
        // leader reveals them with a reason (audited).
        let body = json!({"category": "02.05", "title": "王某 11010519491231002X 电话13812345678 投诉", "lon": x, "lat": y}).to_string();
        let r = http(addr, "POST", "/api/v1/events", &[("Cookie", &leader), ("Content-Type", "application/json"), ("X-CSRF-Token", &leader_csrf)], Some(&body));
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.json()["id"].as_u64().expect("id");
        let plain = http(addr, "GET", &format!("/api/v1/events/{id}"), &[("Cookie", &leader)], None).json();
        let title = plain["title"].as_str().expect("title").to_string();
        assert!(!title.contains("11010519491231002X") && !title.contains("13812345678"), "{title}");
        assert!(title.contains("110105************") && title.contains("138****5678"), "{title}");
        let shown = http(addr, "GET", &format!("/api/v1/events/{id}"), &[("Cookie", &leader), ("X-Wangge-Reveal-Reason", "%E5%9B%9E%E8%AE%BF%E6%A0%B8%E5%AE%9E")], None).json();
        assert!(shown["title"].as_str().is_some_and(|t| t.contains("13812345678")), "{shown}");
        // The public reads nothing else.
        for p in ["/api/v1/events", "/api/v1/heatmap", "/api/v1/persons", "/api/v1/info", "/tiles/events/14/13455/6268.mvt", "/api/v1/stream/events"] {
            assert_eq!(http(addr, "GET", p, &[], None).status, 401, "{p}");
        }
    })
    .await
    .expect("scope");
    let store = srv.state.0.store.lock().expect("store");
    let reveals = store.audit_lines(Some("reveal")).expect("audit");
    assert!(
        reveals
            .iter()
            .any(|(_, actor, _, detail)| actor == "leader:leader" && detail.contains("回访核实")),
        "the reveal was not audited with its account and reason: {reveals:?}"
    );
}

const ISS: &str = "https://idp.example";
const AUD: &str = "wangge";

fn ec_key(kid: &str) -> (EncodingKey, Jwk) {
    let der = p256::SecretKey::generate().to_pkcs8_der().expect("der");
    let key = EncodingKey::from_ec_der(der.as_bytes());
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("jwk");
    jwk.common.key_id = Some(kid.into());
    (key, jwk)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_wrongly_signed_jwts_are_refused() {
    let (key, jwk) = ec_key("k1");
    let (other, _) = ec_key("k1");
    let dir = crate::common::temp_db("auth-jwt");
    let jwks = dir.with_file_name("jwks.json");
    std::fs::write(
        &jwks,
        serde_json::to_string(&JwkSet { keys: vec![jwk] }).expect("json"),
    )
    .expect("write");
    let conf = format!(
        "issuer = {ISS:?}\naudience = {AUD:?}\njwks_file = {:?}\n",
        jwks.display().to_string()
    );
    let verifier = web_viewer::auth_jwt::JwtVerifier::new(
        web_viewer::auth_jwt::JwtConfig::from_toml_str(&conf).expect("config"),
    )
    .expect("verifier");
    let srv = server("auth-jwt-srv", move |c| {
        c.auth.jwt = Some(std::sync::Arc::new(verifier))
    })
    .await;
    let addr = srv.addr;
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = |exp: i64| json!({"iss": ISS, "aud": AUD, "sub": "ops-1", "exp": exp, "wangge_role": "leader"});
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("k1".into());
    let good = encode(&h, &claims(now + 600), &key).expect("sign");
    let expired = encode(&h, &claims(now - 3600), &key).expect("sign");
    let forged = encode(&h, &claims(now + 600), &other).expect("sign");
    blocking(move || {
        let bearer = |t: &str| format!("Bearer {t}");
        assert_eq!(
            http(
                addr,
                "GET",
                "/api/v1/info",
                &[("Authorization", &bearer(&good))],
                None
            )
            .status,
            200
        );
        for (what, t) in [
            ("expired", expired),
            ("wrongly signed", forged),
            ("garbage", "x.y.z".into()),
        ] {
            let r = http(
                addr,
                "GET",
                "/api/v1/info",
                &[("Authorization", &bearer(&t))],
                None,
            );
            assert_eq!(r.status, 401, "{what}: {}", r.body);
        }
    })
    .await
    .expect("jwt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_tokens_are_read_only_and_revocable() {
    let srv = server("auth-kiosk", |_| {}).await;
    let token = srv.kiosk.clone();
    let addr = srv.addr;
    blocking(move || {
        let b = format!("Bearer {token}");
        assert_eq!(
            http(addr, "GET", "/api/v1/kpi", &[("Authorization", &b)], None).status,
            200
        );
        assert_eq!(
            http(
                addr,
                "GET",
                "/api/v1/persons",
                &[("Authorization", &b)],
                None
            )
            .status,
            403
        );
        let r = http(
            addr,
            "POST",
            "/api/v1/escalate",
            &[("Authorization", &b), ("Content-Type", "application/json")],
            Some("{}"),
        );
        assert_eq!(r.status, 403, "{}", r.body);
        let r = http(addr, "GET", &format!("/embed?token={token}"), &[], None);
        assert_eq!(r.status, 200);
        assert!(r
            .header("content-security-policy")
            .is_some_and(|c| c.contains("https://dash.example")));
        // The wall's page opens with its token (its script then trades the
        // token for a read-only session); without it, to the log-in page.
        assert_eq!(
            http(addr, "GET", &format!("/screen?token={token}"), &[], None).status,
            200
        );
        assert_eq!(http(addr, "GET", "/screen", &[], None).status, 303);
        let r = http(
            addr,
            "POST",
            "/api/v1/session/kiosk",
            &[("Content-Type", "application/json")],
            Some(&json!({"token": token}).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["role"], "screen");
        let forged = crate::common::altered(&token);
        assert_eq!(
            http(
                addr,
                "GET",
                "/api/v1/kpi",
                &[("Authorization", &format!("Bearer {forged}"))],
                None
            )
            .status,
            401
        );
    })
    .await
    .expect("kiosk");
}

/// Account administration while the server runs: only a leader may, and a
/// disabled account, a new password or a revoked kiosk token takes effect
/// at once — the live sessions end — and every change is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaders_disable_reset_and_revoke_at_once() {
    let srv = server("auth-admin", |_| {}).await;
    let (addr, kiosk) = (srv.addr, srv.kiosk.clone());
    blocking(move || {
        let (leader, lcsrf) = login(addr, "leader");
        let (worker, wcsrf) = login(addr, "worker");
        let as_ = |who: (&str, &str), path: &str, body: Value| {
            http(
                addr,
                "POST",
                path,
                &[
                    ("Cookie", who.0),
                    ("X-CSRF-Token", who.1),
                    ("Content-Type", "application/json"),
                ],
                Some(&body.to_string()),
            )
        };
        let lead = (leader.as_str(), lcsrf.as_str());
        // A worker may not administer, not even itself.
        let r = as_(
            (&worker, &wcsrf),
            "/api/v1/accounts/worker/password",
            json!({}),
        );
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(
            http(
                addr,
                "GET",
                "/api/v1/accounts",
                &[("Cookie", &worker)],
                None
            )
            .status,
            403
        );
        assert_eq!(
            http(addr, "GET", "/admin", &[("Cookie", &worker)], None).status,
            403
        );
        assert_eq!(
            http(addr, "GET", "/admin", &[("Cookie", &leader)], None).status,
            200
        );
        // The list carries no hash and no secret.
        let l = http(
            addr,
            "GET",
            "/api/v1/accounts",
            &[("Cookie", &leader)],
            None,
        );
        assert_eq!(l.status, 200);
        assert!(
            !l.body.contains("argon2") && !l.body.contains(&kiosk),
            "{}",
            l.body
        );
        assert!(l.json()["accounts"]
            .as_array()
            .is_some_and(|a| a.len() == 4));

        // Disable: the worker's live session ends now, and it cannot log in.
        let r = as_(lead, "/api/v1/accounts/worker/disable", json!({}));
        assert_eq!(
            (r.status, r.json()["account"]["disabled"].clone()),
            (200, json!(true)),
            "{}",
            r.body
        );
        assert_eq!(
            http(addr, "GET", "/api/v1/events", &[("Cookie", &worker)], None).status,
            401
        );
        let r = http(
            addr,
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            Some(&json!({"name": "worker", "password": PASSWORD}).to_string()),
        );
        assert_eq!(r.status, 401, "a disabled account logged in");
        let r = as_(lead, "/api/v1/accounts/worker/enable", json!({}));
        assert_eq!(r.status, 200);
        let (worker, _) = login(addr, "worker");

        // A new password: shown once, the old one and the old session gone.
        let r = as_(lead, "/api/v1/accounts/worker/password", json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        let fresh = r.json()["password"]
            .as_str()
            .expect("new password")
            .to_string();
        assert!(fresh.len() >= 20);
        assert_eq!(
            http(addr, "GET", "/api/v1/events", &[("Cookie", &worker)], None).status,
            401
        );
        let try_login = |pw: &str| {
            http(
                addr,
                "POST",
                "/api/v1/session",
                &[("Content-Type", "application/json")],
                Some(&json!({"name": "worker", "password": pw}).to_string()),
            )
            .status
        };
        assert_eq!(try_login(PASSWORD), 401);
        assert_eq!(try_login(&fresh), 200);

        // A new account: a grid of this town only, name unique, password once.
        let r = as_(
            lead,
            "/api/v1/accounts",
            json!({"name": "w2", "role": "worker", "grids": ["999999999999-999"]}),
        );
        assert_eq!(
            (r.status, r.json()["error"]["code"].clone()),
            (400, json!("bad_account")),
            "{}",
            r.body
        );
        let r = as_(
            lead,
            "/api/v1/accounts",
            json!({"name": "worker", "role": "planner"}),
        );
        assert_eq!(
            (r.status, r.json()["error"]["code"].clone()),
            (409, json!("account_exists")),
            "{}",
            r.body
        );
        let r = as_(
            lead,
            "/api/v1/accounts",
            json!({"name": "analyst", "display_name": "分析员", "role": "planner"}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let pw = r.json()["password"].as_str().expect("password").to_string();
        let r = http(
            addr,
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            Some(&json!({"name": "analyst", "password": pw}).to_string()),
        );
        assert_eq!(
            (r.status, r.json()["role"].clone()),
            (200, json!("planner"))
        );

        // The last enabled leader stays.
        let r = as_(lead, "/api/v1/accounts/leader/disable", json!({}));
        assert_eq!(
            (r.status, r.json()["error"]["code"].clone()),
            (409, json!("last_leader")),
            "{}",
            r.body
        );

        // Revoking a kiosk token signs its wall out and refuses the token.
        let k = http(
            addr,
            "POST",
            "/api/v1/session/kiosk",
            &[("Content-Type", "application/json")],
            Some(&json!({"token": kiosk}).to_string()),
        );
        let wall = format!(
            "wangge_session={}",
            k.session_cookie().expect("wall session")
        );
        assert_eq!(
            http(addr, "GET", "/api/v1/kpi", &[("Cookie", &wall)], None).status,
            200
        );
        let list = http(
            addr,
            "GET",
            "/api/v1/accounts",
            &[("Cookie", &leader)],
            None,
        )
        .json();
        let id = list["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_string())
            .find(|t| kiosk.contains(t.as_str()))
            .expect("the wall's token in the list");
        let r = as_(lead, &format!("/api/v1/tokens/{id}/revoke"), json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            http(addr, "GET", "/api/v1/kpi", &[("Cookie", &wall)], None).status,
            401
        );
        let b = format!("Bearer {kiosk}");
        assert_eq!(
            http(addr, "GET", "/api/v1/kpi", &[("Authorization", &b)], None).status,
            401
        );
    })
    .await
    .expect("admin");
    let store = srv.state.0.store.lock().expect("store");
    let lines = store.audit_lines(None).expect("audit");
    for action in [
        "account_disable",
        "account_enable",
        "account_passwd",
        "account_add",
        "token_revoke",
    ] {
        assert!(
            lines
                .iter()
                .any(|(_, actor, a, _)| a == action && actor == "leader:leader"),
            "no {action} line by leader:leader: {lines:?}"
        );
    }
}

/// The names of the residents of the household that reported an event are
/// masked in its text for every reader that does not reveal (list, detail,
/// stream), and shown to a leader who reveals with a reason. The event
/// comes in as a user's import (`wangge import events` with a
/// `reporter_household_id` column).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_names_in_event_text_are_masked_unless_revealed() {
    use geo_core::store::{LoadSet, Page, Scope};
    let (person, household, (lon, lat)) = {
        let (store, _) = demo_store("names-probe");
        let p = store
            .persons(
                &Scope::Town,
                None,
                Some(Page {
                    offset: 0,
                    limit: 200,
                }),
            )
            .expect("persons")
            .into_iter()
            .find(|p| p.household.is_some() && p.name.chars().count() == 3)
            .expect("a person of three characters with a household");
        let ds = store.load(&Scope::Town, LoadSet::Spatial).expect("load");
        let at = ds.events[0].location;
        (
            p.name.clone(),
            p.household.expect("household").get(),
            (at.x(), at.y()),
        )
    };
    let given: String = person.chars().skip(1).collect();
    let title = format!("{person}家楼道堆物，{given}多次投诉");
    let srv = server_after(
        "auth-names",
        |path| {
            let csv = path.with_file_name("reports.csv");
            std::fs::write(
                &csv,
                format!(
                    "id,category,title,reported_at,lon,lat,reporter_household_id\n\
                     9000001,02.05,{title},2026-11-30T08:00:00Z,{lon},{lat},{household}\n"
                ),
            )
            .expect("csv");
            let args = web_viewer::cli::import::ImportArgs::from_argv([
                "import",
                "events",
                csv.to_str().expect("utf-8 path"),
            ])
            .expect("import args");
            let (mut out, mut err) = (Vec::new(), Vec::new());
            web_viewer::cli::import::run_with(path, args, &mut out, &mut err)
                .unwrap_or_else(|e| panic!("import: {e:#} {}", String::from_utf8_lossy(&err)));
        },
        |_| {},
    )
    .await;
    let addr = srv.addr;
    let (person2, given2, title2) = (person.clone(), given.clone(), title.clone());
    blocking(move || {
        let (leader, _) = login(addr, "leader");
        let masked = |t: &str| !t.contains(&person2) && !t.contains(&given2) && t.contains("投诉");
        let d = http(addr, "GET", "/api/v1/events/9000001", &[("Cookie", &leader)], None).json();
        let t = d["title"].as_str().expect("title").to_string();
        assert!(masked(&t), "detail: {t}");
        let l = http(addr, "GET", "/api/v1/events?limit=10000", &[("Cookie", &leader)], None).json();
        let f = l["features"]
            .as_array()
            .expect("list")
            .iter()
            .find(|f| f["properties"]["id"] == 9000001)
            .expect("the imported event in the list")
            .clone();
        let t = f["properties"]["title"].as_str().expect("title").to_string();
        assert!(masked(&t), "list: {t}");
        // Revealed with a reason: the title as reported.
        let r = http(
            addr,
            "GET",
            "/api/v1/events/9000001",
            &[("Cookie", &leader), ("X-Wangge-Reveal-Reason", "%E6%A0%B8%E5%AE%9E")],
            None,
        )
        .json();
        assert_eq!(r["title"], title2.as_str());
        // The stream's backlog masks it too.
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        write!(
            s,
            "GET /api/v1/stream/events?since=9000000 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {leader}\r\n\r\n"
        )
        .expect("write");
        let mut got = String::new();
        let mut buf = [0u8; 65536];
        while !got.contains("9000001") || !got.contains("投诉") {
            let n = s.read(&mut buf).expect("read stream");
            assert!(n > 0, "stream closed: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(masked(&got), "stream: {got}");
    })
    .await
    .expect("names");
}

/// `POST /api/v1/imports` (issue 16) attacked: every role but the leader
/// refused (403; anonymous 401; a kiosk screen 403), a leader's cookie
/// without the CSRF token (a page of another site) refused, a form's content
/// types refused even with the token (an HTML form cannot start an import),
/// options naming files of the server (`rejects`, `dispatch_rules`) or
/// unknown ones refused before anything is read, a file name with a path
/// cannot place the upload elsewhere, and no temporary file is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_refuse_other_roles_forms_missing_csrf_and_server_paths() {
    let srv = server("auth-imports", |c| c.import_limit = 64 * 1024).await;
    let addr = srv.addr;
    let kiosk = srv.kiosk.clone();
    let dir = srv
        .state
        .0
        .config
        .db
        .parent()
        .expect("store folder")
        .to_path_buf();
    blocking(move || {
        let csv = "id,name,category,lon,lat\n990201,攻击测试,facility,121.5,31.2\n";
        let path = "/api/v1/imports?kind=places&filename=x.csv&dry_run=1";
        let octet = ("Content-Type", "application/octet-stream");
        let r = http(addr, "POST", path, &[octet], Some(csv));
        assert_eq!(r.status, 401, "anonymous: {}", r.body);
        for name in ["worker", "fire", "planner"] {
            let (cookie, csrf) = login(addr, name);
            let r = http(
                addr,
                "POST",
                path,
                &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), octet],
                Some(csv),
            );
            assert_eq!(r.status, 403, "{name}: {}", r.body);
        }
        let r = http(
            addr,
            "POST",
            "/api/v1/session/kiosk",
            &[("Content-Type", "application/json")],
            Some(&json!({"token": kiosk}).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let screen = format!("wangge_session={}", r.session_cookie().expect("cookie"));
        let csrf = r.json()["csrf"].as_str().unwrap_or_default().to_string();
        let r = http(
            addr,
            "POST",
            path,
            &[("Cookie", &screen), ("X-CSRF-Token", &csrf), octet],
            Some(csv),
        );
        assert_eq!(r.status, 403, "kiosk screen: {}", r.body);
        // Claiming the leader's role by header without the proxy: 401.
        let r = http(addr, "POST", path, &[("X-Wangge-Role", "leader"), octet], Some(csv));
        assert_eq!(r.status, 401, "{}", r.body);

        let (cookie, csrf) = login(addr, "leader");
        // Another site's form: the cookie comes, the CSRF token cannot.
        for ct in ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "text/plain"] {
            let r = http(addr, "POST", path, &[("Cookie", &cookie), ("Content-Type", ct)], Some(csv));
            assert_eq!(r.status, 403, "{ct} without CSRF: {}", r.body);
            assert_eq!(r.json()["error"]["code"], "csrf", "{}", r.body);
            let r = http(
                addr,
                "POST",
                path,
                &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Content-Type", ct)],
                Some(csv),
            );
            assert_eq!(r.status, 415, "{ct} with CSRF: {}", r.body);
        }
        let leader = |p: &str, body: &str| {
            http(
                addr,
                "POST",
                p,
                &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), octet],
                Some(body),
            )
        };
        // Options that would name files of the server, or are no options.
        for q in [
            "rejects=%2Ftmp%2Fstolen.csv&skip_bad_rows=1",
            "dispatch_rules=%2Fetc%2Fpasswd",
            "db=%2Ftmp%2Fother.duckdb",
            "json=1",
            "dry_run=maybe",
        ] {
            let r = leader(&format!("{path}&{q}"), csv);
            assert_eq!(r.status, 400, "{q}: {}", r.body);
        }
        // A value is one value: it cannot smuggle in another option.
        let r = leader(&format!("{path}&crs=wgs84%20--repair"), csv);
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.json()["error"]["message"].as_str().unwrap_or("").contains("--crs"), "{}", r.body);
        // A category map is the map's text, never a path the server reads.
        let r = leader(
            "/api/v1/imports?kind=events&filename=x.csv&dry_run=1&time_col=t&lon_col=x&lat_col=y&category_col=c&category_map=%2Fetc%2Fpasswd",
            "t,x,y,c\n2026-01-01 08:00,121.5,31.2,路灯\n",
        );
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(!r.body.contains("root:"), "{}", r.body);
        // A file name with a path: the upload still lands beside the store.
        let r = leader(
            "/api/v1/imports?kind=places&filename=..%2F..%2F..%2Ftmp%2Fevil.csv&dry_run=1",
            csv,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["file"], "../../../tmp/evil.csv", "{}", r.body);
        let r = leader("/api/v1/imports?kind=places&filename=x.shp", csv);
        assert_eq!(r.status, 400, "{}", r.body);
        // Over the limit: 413 naming the flag.
        let big = "x".repeat(70 * 1024);
        let r = leader(path, &big);
        assert_eq!(r.status, 413, "{}", r.body);
        assert!(r.body.contains("--import-limit-mib"), "{}", r.body);
        // Nothing stored, nothing left beside the store.
        let r = http(addr, "GET", "/api/v1/places?limit=10000", &[("Cookie", &cookie)], None);
        assert!(!r.body.contains("990201"), "an import was stored");
        let left: Vec<String> = std::fs::read_dir(&dir)
            .expect("store folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".wangge-import-"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    })
    .await
    .expect("imports attacked");
}

/// Every reveal of the people lists writes its audit line — persons' names
/// and ID numbers and sentiments' texts, as a page and as a download — with
/// the account, the count served and the reason; a masked read writes none.
/// (The lists read on a read connection; the line is written on the write
/// connection before the answer leaves.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reveal_of_the_people_lists_writes_its_audit_line() {
    let srv = server("auth-reveal-lines", |_| {}).await;
    let addr = srv.addr;
    let st = srv.state.clone();
    let reveals = move || {
        st.0.store
            .lock()
            .expect("store")
            .audit_lines(Some("reveal"))
            .expect("audit")
    };
    let before = reveals().len();
    let reveals2 = reveals.clone();
    blocking(move || {
        let (leader, _) = login(addr, "leader");
        // 核实 (percent-encoded, as the pages send it)
        let why = ("X-Wangge-Reveal-Reason", "%E6%A0%B8%E5%AE%9E");
        for path in [
            "/api/v1/persons?limit=3",
            "/api/v1/households?limit=3",
            "/api/v1/sentiments?limit=3",
        ] {
            let r = http(addr, "GET", path, &[("Cookie", &leader)], None);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
        }
        assert_eq!(
            reveals2().len(),
            before,
            "masked reads write no reveal line"
        );
        let mut want = before;
        for (path, what) in [
            ("/api/v1/persons?limit=3", "3 persons"),
            ("/api/v1/sentiments?limit=3", "3 sentiments"),
            ("/api/v1/persons?format=xlsx", "persons"),
            ("/api/v1/sentiments?format=xlsx", "sentiments"),
        ] {
            let r = http(addr, "GET", path, &[("Cookie", &leader), why], None);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            want += 1;
            let lines = reveals2();
            assert_eq!(lines.len(), want, "{path} wrote no reveal line");
            let (_, actor, _, detail) = lines.last().expect("line").clone();
            assert_eq!(actor, "leader:leader", "{path}");
            assert!(
                detail.contains(what) && detail.contains("核实"),
                "{path}: {detail}"
            );
        }
        // Households carry no name or ID number: nothing to reveal.
        let r = http(
            addr,
            "GET",
            "/api/v1/households?limit=3",
            &[("Cookie", &leader), why],
            None,
        );
        assert_eq!(r.status, 200);
        assert_eq!(reveals2().len(), want);
    })
    .await
    .expect("reveal lines");
}
