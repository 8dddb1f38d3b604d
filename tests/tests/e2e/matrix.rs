//! The access matrix, exhaustively: every row of
//! `web_viewer::auth::matrix::ROWS` (the router's every route, a drift test
//! keeps the two equal) is called by every caller — anonymous, leader,
//! planner, worker, department, and the screen signed in by its kiosk token —
//! through a real server over a real store. A route a role may not call
//! answers 401 (anonymous; pages send to `/login`) or 403; a route it may
//! call never does; and where a route names one element (an event, a
//! building, a re-gridding job), the element outside the caller's scope is
//! absent (404, the answer an ID that does not exist gets), the one inside
//! is served. Then every list the worker and the department can reach is
//! read whole and checked to hold nothing outside their scope.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};
use web_viewer::auth::matrix::{Row, Who, ROWS};
use web_viewer::role::Role;

use crate::auth::{blocking, http, http_raw, login, server, Resp, PASSWORD};

/// Every kind `GET /api/v1/{kind}` serves.
const KINDS: &[&str] = &[
    "communities",
    "grids",
    "compounds",
    "buildings",
    "units",
    "places",
    "organisations",
    "roads",
    "events",
    "households",
    "persons",
    "sentiments",
];

/// The kinds that are personal data: leader and worker only.
const PERSONAL: &[&str] = &["households", "persons", "sentiments"];

/// One caller of the sweep.
struct Caller {
    /// Name for messages.
    name: &'static str,
    /// Role; `None` for anonymous.
    role: Option<Role>,
    /// Cookie and CSRF token of its session.
    session: Option<(String, String)>,
}

impl Caller {
    fn headers<'a>(&'a self, method: &str, out: &mut Vec<(&'a str, &'a str)>) {
        if let Some((cookie, csrf)) = &self.session {
            out.push(("Cookie", cookie));
            if method != "GET" {
                out.push(("X-CSRF-Token", csrf));
            }
        }
        if method != "GET" {
            out.push(("Content-Type", "application/json"));
        }
    }
}

/// What the sweep knows about the store: one element inside and one outside
/// each caller's scope.
struct Fixtures {
    /// Event in the worker's grid and dispatched to the fire service.
    ev_worker_in: u64,
    ev_worker_out: u64,
    ev_dept_in: u64,
    ev_dept_out: u64,
    building_in: u64,
    building_out: u64,
    /// Households (and a need of each) inside and outside the worker's grid.
    household_in: u64,
    household_out: u64,
    need_in: u64,
    need_out: u64,
    /// Visits (with the sweep's photo) of those households.
    visit_in: u64,
    visit_out: u64,
    grid: String,
    version: u64,
    receipt: String,
    job_planner: String,
    job_leader: String,
    /// A tile over the worker's grid (z/x/y).
    tile: String,
    lonlat: (f64, f64),
    /// SHA-256 of the photo every event of the sweep carries.
    photo: String,
}

/// Which element of a route's path the call is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Inside,
    Outside,
}

fn allowed(row: &Row, role: Option<Role>) -> bool {
    match row.who {
        Who::Anyone => true,
        Who::Roles(list) => role.is_some_and(|r| list.contains(&r)),
        // Only an Open311 client's api_key in a form (tests/e2e/open311.rs).
        Who::ApiKey => false,
    }
}

/// Whether a route names one element that is scoped per caller.
fn scoped(row: &Row) -> bool {
    row.path.starts_with("/api/v1/events/{id}")
        || row.path == "/api/v1/buildings/{id}"
        || row.path.starts_with("/api/v1/households/{id}")
        || row.path.starts_with("/api/v1/needs/{id}")
        || row.path.starts_with("/api/v1/visits/{id}")
        || row.path.starts_with("/api/v1/regrid/{job}")
        || row.path == "/ogc/collections/{collection}/items/{feature}"
}

/// The concrete path of `row` for `caller`, about the element on `side`.
fn concrete(row: &Row, caller: &Caller, side: Side, kind: &str, f: &Fixtures) -> String {
    let event = match (caller.role, side) {
        (Some(Role::Department), Side::Inside) => f.ev_dept_in,
        (Some(Role::Department), Side::Outside) => f.ev_dept_out,
        (_, Side::Inside) => f.ev_worker_in,
        (_, Side::Outside) => f.ev_worker_out,
    };
    let building = match side {
        Side::Inside => f.building_in,
        Side::Outside => f.building_out,
    };
    // A planner's own job is inside, a leader's outside; the leader sees
    // both. Adoption is never tried on a real job (it would re-grid the
    // town under the other callers): inside means an ID that is no job.
    let job = if row.path.ends_with("/adopt") && side == Side::Inside {
        "999999".to_string()
    } else if caller.role == Some(Role::Leader) && side == Side::Inside {
        f.job_leader.clone()
    } else if side == Side::Inside || caller.role == Some(Role::Leader) {
        f.job_planner.clone()
    } else {
        f.job_leader.clone()
    };
    let (lon, lat) = f.lonlat;
    let path = row
        .path
        // Enabling an enabled account changes nothing; no token has this ID.
        .replace("/accounts/{name}/{action}", "/accounts/worker/enable")
        .replace("/tokens/{id}/", "/tokens/no-such-token/")
        .replace("{id}", &event.to_string())
        .replace("{photo}", &f.photo)
        .replace("{code}", &f.grid)
        .replace("{version}", &f.version.to_string())
        .replace("{receipt}", &f.receipt)
        .replace("{job}", &job)
        .replace("{kind}", kind)
        // OGC API – Features: the events collection, an event as the feature.
        .replace("{collection}", "events")
        .replace("{feature}", &event.to_string())
        .replace("{file}", "grids.json")
        .replace("{layer}/{z}/{x}/{y}", &format!("grids/{}.mvt", f.tile))
        .replace("{*path}", "viewer.js")
        .replace("{fontstack}/{range}", "Wangge%20Sans/0-255.pbf");
    let (household, need, visit) = match side {
        Side::Inside => (f.household_in, f.need_in, f.visit_in),
        Side::Outside => (f.household_out, f.need_out, f.visit_out),
    };
    let path = if let Some(rest) = row.path.strip_prefix("/open311/v2/") {
        // Open311: the list of requests, a service, an event, a receipt.
        let dir = rest.rsplit_once('/').map_or("", |(d, _)| d);
        let file = match dir {
            "" => "requests.json".to_string(),
            "services" => "02.05.json".to_string(),
            "requests" => format!("{event}.json"),
            _ => format!("{}.json", f.receipt),
        };
        if dir.is_empty() {
            format!("/open311/v2/{file}")
        } else {
            format!("/open311/v2/{dir}/{file}")
        }
    } else if row.path == "/api/v1/buildings/{id}" {
        format!("/api/v1/buildings/{building}")
    } else if row.path.starts_with("/api/v1/households/{id}") {
        row.path.replace("{id}", &household.to_string())
    } else if row.path.starts_with("/api/v1/needs/{id}") {
        row.path.replace("{id}", &need.to_string())
    } else if row.path.starts_with("/api/v1/visits/{id}") {
        row.path
            .replace("{id}", &visit.to_string())
            .replace("{photo}", &f.photo)
    } else {
        path
    };
    match row.path {
        "/api/v1/search" => format!("{path}?q=%E7%BD%91%E6%A0%BC"),
        "/api/v1/stream/events" => format!("{path}?since=0"),
        "/api/v1/heatmap" => format!(
            "{path}?bbox={},{},{},{}",
            lon - 0.01,
            lat - 0.01,
            lon + 0.01,
            lat + 0.01
        ),
        "/api/v1/{kind}" | "/api/v1/events" | "/ogc/collections/{collection}/items" => {
            format!("{path}?limit=3")
        }
        _ => path,
    }
}

/// A harmless body for each write: valid where validity decides whether
/// the scope check is reached, and never one that re-grids the town.
fn body(row: &Row, caller: &Caller, f: &Fixtures) -> Option<String> {
    let (lon, lat) = f.lonlat;
    let b = match (row.method, row.path) {
        ("GET", _) | ("DELETE", _) => return None,
        ("POST", "/api/v1/session") => json!({"name": "planner", "password": PASSWORD}),
        ("POST", "/api/v1/session/kiosk") => json!({"token": "not-a-token"}),
        ("POST", "/api/v1/events/{id}/transition") => {
            json!({"to": "rejected", "note": "矩阵测试"})
        }
        // Into the caller's own event: inside, a merge into itself
        // (refused as such); outside, refused as absent before that.
        ("POST", "/api/v1/events/{id}/merge") => json!({"into": match caller.role {
            Some(Role::Department) => f.ev_dept_in,
            _ => f.ev_worker_in,
        }}),
        ("POST", "/api/v1/events") => {
            json!({"category": "02.05", "title": "矩阵测试", "lon": lon, "lat": lat})
        }
        // An ID number nobody in the demo has: found in no scope.
        ("POST", "/api/v1/persons/lookup") => json!({"national_id": "11010519491231002X"}),
        ("POST", "/api/v1/households/{id}/visits") => {
            json!({"kind": "routine", "notes": "矩阵测试"})
        }
        ("POST", "/api/v1/events/{id}/notes") => json!({"note": "矩阵测试"}),
        // Refused by its parameters (min above max) after the role check.
        ("POST", "/api/v1/regrid") => json!({"level": "micro", "min": 80, "max": 30}),
        _ => json!({}),
    };
    Some(b.to_string())
}

/// The status of a request; for the event stream, of its head only (the
/// stream stays open).
fn status(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    if !path.starts_with("/api/v1/stream/") {
        return http(addr, method, path, headers, body);
    }
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Resp {
        status,
        headers: Vec::new(),
        body: text,
    }
}

fn in_grid(props: &Value, grid: &str) -> bool {
    let g = if props.get("grids").is_some() {
        &props["grids"]
    } else {
        props
    };
    ["comprehensive", "micro", "dedicated"]
        .iter()
        .any(|k| g[k].as_str().is_some_and(|c| c.starts_with(grid)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_and_scope_as_the_matrix_says() {
    let srv = server("matrix", |_| {}).await;
    let (addr, grid, kiosk) = (srv.addr, srv.worker_grid.clone(), srv.kiosk.clone());
    blocking(move || {
        let mut callers = vec![Caller {
            name: "anonymous",
            role: None,
            session: None,
        }];
        for (name, role) in [
            ("leader", Role::Leader),
            ("planner", Role::Planner),
            ("worker", Role::Worker),
            ("fire", Role::Department),
        ] {
            callers.push(Caller {
                name,
                role: Some(role),
                session: Some(login(addr, name)),
            });
        }
        let r = http(
            addr,
            "POST",
            "/api/v1/session/kiosk",
            &[("Content-Type", "application/json")],
            Some(&json!({"token": kiosk}).to_string()),
        );
        assert_eq!(r.status, 200, "kiosk sign-in: {}", r.body);
        callers.push(Caller {
            name: "screen (kiosk)",
            role: Some(Role::Screen),
            session: Some((
                format!("wangge_session={}", r.session_cookie().expect("cookie")),
                r.json()["csrf"].as_str().expect("csrf").to_string(),
            )),
        });
        let leader = callers[1].session.clone().expect("leader");
        let planner = callers[2].session.clone().expect("planner");
        let get = |path: &str, s: &(String, String)| {
            let r = http(addr, "GET", path, &[("Cookie", &s.0)], None);
            assert_eq!(r.status, 200, "GET {path}: {}", r.body);
            r.json()
        };
        let post = |path: &str, s: &(String, String), b: Value| {
            http(
                addr,
                "POST",
                path,
                &[
                    ("Cookie", &s.0),
                    ("X-CSRF-Token", &s.1),
                    ("Content-Type", "application/json"),
                ],
                Some(&b.to_string()),
            )
        };

        // Fixtures, read as the leader (who sees everything).
        let events = get("/api/v1/events?limit=10000", &leader);
        let events = events["features"].as_array().expect("events").clone();
        let id_of = |f: &Value| f["properties"]["id"].as_u64().expect("id");
        let find = |what: &str, p: &dyn Fn(&Value) -> bool| {
            events
                .iter()
                .find(|f| p(&f["properties"]))
                .map(id_of)
                .unwrap_or_else(|| panic!("the demo has no event {what}"))
        };
        let ev_worker_in = find("in the worker's grid", &|p| in_grid(p, &grid));
        let ev_worker_out = find("outside the worker's grid", &|p| !in_grid(p, &grid));
        let ev_dept_in = find("of the fire service", &|p| p["handler"] == "dept:fire_service");
        let ev_dept_out = find("of another handler", &|p| p["handler"] != "dept:fire_service");
        let inside = events
            .iter()
            .find(|f| id_of(f) == ev_worker_in)
            .expect("event");
        let c = &inside["geometry"]["coordinates"];
        let lonlat = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
        let buildings = get("/api/v1/buildings?limit=10000", &leader);
        let buildings = buildings["features"].as_array().expect("buildings").clone();
        let building = |want: bool| {
            buildings
                .iter()
                .map(|f| f["properties"]["id"].as_u64().expect("building id"))
                .find(|id| {
                    let d = get(&format!("/api/v1/buildings/{id}"), &leader);
                    in_grid(&d, &grid) == want
                })
                .expect("a building inside and one outside the worker's grid")
        };
        let (building_in, building_out) = (building(true), building(false));
        // Care-list households from the overdue lists, and a need of each
        // (recorded by the leader).
        let worker = callers[3].session.clone().expect("worker");
        let first = |v: &Value, p: &dyn Fn(&Value) -> bool| {
            v["households"]
                .as_array()
                .expect("overdue households")
                .iter()
                .find(|h| p(h))
                .and_then(|h| h["household"].as_u64())
                .expect("an overdue household")
        };
        let household_in = first(&get("/api/v1/visits/overdue?limit=5000", &worker), &|_| true);
        let household_out = first(&get("/api/v1/visits/overdue?limit=5000", &leader), &|h| {
            h["grid"].as_str() != Some(grid.as_str())
        });
        let need = |h: u64| {
            let r = post(
                &format!("/api/v1/households/{h}/visits"),
                &leader,
                json!({"kind": "follow_up", "needs": [{"text": "矩阵测试", "category": "other"}]}),
            );
            assert_eq!(r.status, 201, "visit of household {h}: {}", r.body);
            let v = r.json();
            (
                v["needs"][0]["id"].as_u64().expect("need id"),
                v["visit"]["id"].as_u64().expect("visit id"),
            )
        };
        let ((need_in, visit_in), (need_out, visit_out)) = (need(household_in), need(household_out));
        let versions = get("/api/v1/grids/versions", &leader);
        let version = versions["current"]
            .as_u64()
            .unwrap_or_else(|| panic!("no current grid version: {versions}"));
        let r = http(
            addr,
            "POST",
            "/api/v1/events",
            &[("Content-Type", "application/json")],
            Some(&json!({"category": "02.05", "title": "路灯不亮", "lon": lonlat.0, "lat": lonlat.1}).to_string()),
        );
        assert_eq!(r.status, 201, "public report: {}", r.body);
        let receipt = r.json()["receipt"].as_str().expect("receipt").to_string();
        let job = |s: &(String, String)| {
            let b = json!({"level": "micro", "community": "1", "min": 30, "max": 80});
            for _ in 0..600 {
                let r = post("/api/v1/regrid", s, b.clone());
                match r.status {
                    202 => return r.json()["job"].as_str().expect("job id").to_string(),
                    409 => std::thread::sleep(Duration::from_millis(100)),
                    s => panic!("regrid job: {s} {}", r.body),
                }
            }
            panic!("no regrid job slot in 60 s");
        };
        let (job_planner, job_leader) = (job(&planner), job(&leader));
        // One photo on each event the sweep reads inside someone's scope
        // (the leader's outside is the worker's outside).
        let png = {
            let mut out = Vec::new();
            image::DynamicImage::new_rgb8(8, 6)
                .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                .expect("png");
            out
        };
        let mut photo = String::new();
        for ev in [ev_worker_in, ev_worker_out, ev_dept_in] {
            let r = http_raw(
                addr,
                "POST",
                &format!("/api/v1/events/{ev}/photos"),
                &[("Cookie", &leader.0), ("X-CSRF-Token", &leader.1), ("Content-Type", "image/png")],
                &png,
            );
            assert!(matches!(r.status, 200 | 201), "photo on event {ev}: {} {}", r.status, r.body);
            photo = r.json()["photo"]["sha256"].as_str().expect("sha256").to_string();
        }
        // The same photo on both visits.
        for v in [visit_in, visit_out] {
            let r = http_raw(
                addr,
                "POST",
                &format!("/api/v1/visits/{v}/photos"),
                &[("Cookie", &leader.0), ("X-CSRF-Token", &leader.1), ("Content-Type", "image/png")],
                &png,
            );
            assert!(matches!(r.status, 200 | 201), "photo on visit {v}: {} {}", r.status, r.body);
        }
        let z = 14u32;
        let n = f64::from(1u32 << z);
        let (x, y) = lonlat;
        let tx = ((x + 180.0) / 360.0 * n) as u32;
        let ty = ((1.0 - (y.to_radians().tan() + 1.0 / y.to_radians().cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
        let f = Fixtures {
            ev_worker_in,
            ev_worker_out,
            ev_dept_in,
            ev_dept_out,
            building_in,
            building_out,
            household_in,
            household_out,
            need_in,
            need_out,
            visit_in,
            visit_out,
            grid: grid.clone(),
            version,
            receipt,
            job_planner,
            job_leader,
            tile: format!("{z}/{tx}/{ty}"),
            lonlat,
            photo,
        };

        // The sweep. The session rows run last: a log-in replaces the
        // caller's session, a log-out ends it.
        let mut rows: Vec<&Row> = ROWS.iter().collect();
        rows.sort_by_key(|r| (r.path.starts_with("/api/v1/session") && r.method != "GET", r.method == "DELETE"));
        let mut calls = 0;
        let mut failures = Vec::new();
        for row in rows {
            for caller in &callers {
                let sides: &[Side] = if scoped(row) { &[Side::Inside, Side::Outside] } else { &[Side::Inside] };
                let kinds: &[&str] = if row.path == "/api/v1/{kind}" { KINDS } else { &[""] };
                for (&side, &kind) in sides.iter().flat_map(|s| kinds.iter().map(move |k| (s, k))) {
                    let path = concrete(row, caller, side, kind, &f);
                    let mut headers = Vec::new();
                    caller.headers(row.method, &mut headers);
                    let b = body(row, caller, &f);
                    let r = status(addr, row.method, &path, &headers, b.as_deref());
                    calls += 1;
                    let may = allowed(row, caller.role);
                    // What the matrix and the scope rules say.
                    let ok = match (may, caller.role, side) {
                        // An Open311 post without its form and key: refused
                        // as unauthenticated or as no form (JSON); with a
                        // session cookie, forbidden.
                        (false, None, _) if row.who == Who::ApiKey => matches!(r.status, 401 | 415),
                        (false, None, _) => r.status == if row.page { 303 } else { 401 },
                        (false, Some(_), _) => r.status == 403,
                        (true, Some(role), _) if PERSONAL.contains(&kind) && !role.sees_people() => r.status == 403,
                        // A kiosk session is read-only: even the routes
                        // open to anyone refuse its writes.
                        (true, Some(Role::Screen), _) if row.method != "GET" => r.status == 403,
                        (true, _, _) if row.path == "/api/v1/session" && row.method == "GET" => {
                            r.status == if caller.role.is_none() { 401 } else { 200 }
                        }
                        (true, _, _) if row.path == "/api/v1/session/kiosk" => r.status == 401,
                        (true, Some(role), Side::Outside) => {
                            let out_of_scope = match (role, row.path) {
                                (Role::Leader, _) => false,
                                (Role::Worker | Role::Department, p) if p.starts_with("/api/v1/events/") => true,
                                (Role::Worker | Role::Department, "/ogc/collections/{collection}/items/{feature}") => true,
                                (Role::Worker, "/api/v1/buildings/{id}") => true,
                                (Role::Worker, p) if p.starts_with("/api/v1/households/") || p.starts_with("/api/v1/needs/") || p.starts_with("/api/v1/visits/{id}") => true,
                                (Role::Planner, p) if p.starts_with("/api/v1/regrid/") => true,
                                _ => false,
                            };
                            if out_of_scope {
                                r.status == 404
                            } else {
                                !matches!(r.status, 401 | 403 | 404 | 500..=599)
                            }
                        }
                        (true, _, _) if row.path.ends_with("/adopt") || row.path.starts_with("/api/v1/tokens/") => r.status == 404,
                        (true, _, _) if row.method == "GET" => (200..300).contains(&r.status),
                        (true, _, _) => !matches!(r.status, 401 | 403 | 404 | 500..=599),
                    };
                    if !ok {
                        failures.push(format!(
                            "{} {path} as {} ({side:?}): {} {}",
                            row.method,
                            caller.name,
                            r.status,
                            r.body.chars().take(160).collect::<String>()
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{} of {calls} calls broke the matrix:\n{}", failures.len(), failures.join("\n"));
        assert!(calls >= ROWS.len() * 6, "{calls} calls");
    })
    .await
    .expect("matrix sweep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_hold_nothing_outside_the_callers_scope() {
    let srv = server("matrix-lists", |_| {}).await;
    let (addr, grid) = (srv.addr, srv.worker_grid.clone());
    blocking(move || {
        let (worker, _) = login(addr, "worker");
        let (fire, _) = login(addr, "fire");
        let (leader, _) = login(addr, "leader");
        let list = |path: &str, cookie: &str| {
            let r = http(addr, "GET", path, &[("Cookie", cookie)], None);
            (r.status, r.json())
        };
        // Every kind the list route serves, whole, as the worker: exactly
        // what the leader gets when asking for the worker's grid, and less
        // than the leader's whole town (so the scope did something).
        let ids = |v: &Value| {
            let mut ids: Vec<u64> = v["features"]
                .as_array()
                .expect("features")
                .iter()
                .map(|f| f["properties"]["id"].as_u64().expect("id"))
                .collect();
            ids.sort_unstable();
            ids
        };
        let mut checked = Vec::new();
        for kind in [
            "persons",
            "households",
            "buildings",
            "units",
            "compounds",
            "events",
        ] {
            let path = format!("/api/v1/{kind}?limit=10000");
            let (s, mine) = list(&path, &worker);
            let (ls, all) = list(&path, &leader);
            let (gs, theirs) = list(&format!("{path}&grid={grid}"), &leader);
            assert_eq!(
                (s, ls, gs),
                (200, 200, 200),
                "{path}: worker {s}, leader {ls}, leader with grid {gs}"
            );
            let (mine, all, theirs) = (ids(&mine), ids(&all), ids(&theirs));
            assert!(!mine.is_empty(), "{kind}: the worker's own grid holds none");
            assert_eq!(
                mine, theirs,
                "{kind}: the worker's list is not the leader's list of grid {grid}"
            );
            assert!(
                mine.len() < all.len(),
                "{kind}: the worker sees as many as the leader"
            );
            checked.push(kind);
        }
        assert_eq!(checked.len(), 6);
        // The department: only events dispatched to it, in the list and the
        // kinds of personal data refused outright.
        let (_, fires) = list("/api/v1/events?limit=10000", &fire);
        let fires = fires["features"].as_array().expect("features").clone();
        assert!(!fires.is_empty());
        assert!(fires
            .iter()
            .all(|f| f["properties"]["handler"] == "dept:fire_service"));
        for kind in ["persons", "households", "sentiments"] {
            let (s, _) = list(&format!("/api/v1/{kind}"), &fire);
            assert_eq!(s, 403, "a department read {kind}");
        }
        // Search names places, never people.
        let (s, hits) = list("/api/v1/search?q=%E7%8E%8B", &worker);
        assert_eq!(s, 200);
        let hits = hits.as_array().expect("search results").clone();
        assert!(
            hits.iter()
                .all(|h| ["grid", "community", "compound", "building"]
                    .contains(&h["type"].as_str().unwrap_or(""))),
            "{hits:?}"
        );
    })
    .await
    .expect("lists");
}
