//! Nothing acknowledged is lost and nothing is half-written when the server
//! or an import dies (issue 17). Three harnesses, each on a real demo store
//! and the real binary:
//!
//! - `acknowledged_writes_survive_kill_9`: `wangge serve` runs while
//!   clients write over HTTP from several threads — intake writers filing
//!   events, movers walking their events through the state machine as the
//!   roles that do it (a leader accepts with a grade and dispatches to a
//!   department, the department starts, writes a note and resolves, the
//!   leader reviews with a satisfaction and closes), visitors (workers of
//!   the household's grid) recording visits with their needs — and the
//!   server is killed with SIGKILL at random moments and restarted, round
//!   after round. Afterwards every acknowledged event, move, note and visit
//!   is there; every event's timeline is one unbroken chain ending at its
//!   status, at least as far as acknowledged; every visit has all the needs
//!   it was sent with.
//! - `a_grid_adoption_killed_mid_way_is_whole_or_absent`: a finished
//!   re-gridding job is adopted over HTTP and the server killed at a random
//!   moment of the adoption; after the restart the grids, the history and
//!   where every household and person is assigned are exactly those before
//!   the adoption or exactly those of a whole adoption.
//! - `a_killed_import_leaves_the_store_as_it_was_or_whole`: `wangge import
//!   persons` of 120,400 rows is killed at random moments; the store opens
//!   with the counts from before (and the same import then passes) or with
//!   the whole import.
//!
//! The test command runs a few rounds of each (`WANGGE_KILL9_ROUNDS`,
//! default 5; `WANGGE_KILL9_ADOPT_ROUNDS`, default 3;
//! `WANGGE_KILL9_IMPORT_ROUNDS`, default 4); the long runs of
//! `docs/reliability.md` set them higher, e.g.
//! `WANGGE_KILL9_ROUNDS=200 cargo test --release -p web-viewer --test kill9 -- --nocapture acknowledged`
//! (with `WANGGE_TEST_BIN` naming a copy of the binary when builds run beside it).
//! The kill moments and the clients' choices come from seeded generators.
//! No assertion depends on the machine being idle: restart times are
//! printed, and only a server that does not come back within a minute fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{copy_dir, demo_store, request, rounds, run, secret_file, Caller, Lcg, Server};

const WRITERS: usize = 3;
const MOVERS: usize = 2;
const VISITORS: usize = 2;
/// Events a mover walks at once.
const IN_HAND: usize = 3;
/// The main path of an event (`geo_core::model::lifecycle`).
const PATH: [&str; 7] = [
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "resolved",
    "reviewed",
    "closed",
];
const DEPARTMENT: &str = "property_security";
const SEED: u64 = 0x2545_f491_4f6c_dd1d;

/// A temporary folder of this test process, emptied first.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wangge-kill9-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `n` as lower-case letters: free text is scrubbed of digit runs, so the
/// clients mark their notes with letters.
fn letters(mut n: u64) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

const COUNT_WORDS: [&str; 4] = ["zero", "one", "two", "three"];

/// What the clients were told, all threads together.
#[derive(Default)]
struct Acked {
    /// Intakes answered 201: ID and title.
    events: Vec<(u64, String)>,
    /// Moves answered 200: event, target status, note.
    moves: Vec<(u64, String, String)>,
    /// Notes answered 201: event, text.
    notes: Vec<(u64, String)>,
    /// Visits answered 201: household, visit, its needs.
    visits: Vec<(u64, u64, Vec<u64>)>,
}

/// The clients' shared state: the server's current address, the stop flag,
/// what was acknowledged, and the requests not acknowledged (no answer:
/// cut by a kill or sent while the server was down; or a 5xx).
struct Clients {
    addr: Mutex<String>,
    stop: AtomicBool,
    acked: Mutex<Acked>,
    cut: AtomicU64,
    failed: AtomicU64,
}

/// An answer below 500, or none that counts (no answer, or a 5xx: not
/// acknowledged, counted and waited after, so a down server is not hammered).
enum Answer {
    Got(u16, Value),
    Unacknowledged,
}

impl Clients {
    fn send(&self, who: &Caller, method: &str, path: &str, body: &Value) -> Answer {
        let addr = self.addr.lock().map(|a| a.clone()).unwrap_or_default();
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        match request(&addr, who, method, path, &body) {
            Some((status, b)) if status < 500 => {
                Answer::Got(status, serde_json::from_str(&b).unwrap_or(Value::Null))
            }
            other => {
                let counter = if other.is_some() {
                    &self.failed
                } else {
                    &self.cut
                };
                counter.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
                Answer::Unacknowledged
            }
        }
    }

    /// Files an event; its ID when acknowledged.
    fn intake(&self, who: &Caller, title: String, at: (f64, f64)) -> Option<u64> {
        let body = json!({"category": "02.05", "title": title, "lon": at.0, "lat": at.1});
        match self.send(who, "POST", "/api/v1/events", &body) {
            Answer::Got(201, v) => {
                let id = v["id"].as_u64().expect("id in the 201");
                self.acked.lock().expect("acked").events.push((id, title));
                Some(id)
            }
            Answer::Got(status, v) => panic!("intake answered {status}: {v}"),
            Answer::Unacknowledged => None,
        }
    }
}

/// One event a mover walks: the last step of `PATH` it knows, and whether
/// a move was sent without an answer (the stored state is then unknown).
struct InHand {
    id: u64,
    step: usize,
    unsure: bool,
}

/// The request that moves an event from step `step` to the next: who sends
/// it and its body (`note` marks it).
fn next_move(step: usize, note: &str) -> (Caller, Value) {
    let leader = Caller::leader();
    let dept = Caller::department("kill9-dept", DEPARTMENT);
    let to = PATH[step + 1];
    let mut body = json!({"to": to, "note": note});
    let who = match to {
        "accepted" => {
            body["grade"] = json!("major");
            leader
        }
        "dispatched" => {
            body["handler"] = json!(format!("dept:{DEPARTMENT}"));
            leader
        }
        "in_progress" | "resolved" => dept,
        "reviewed" => {
            body["satisfaction"] = json!(4);
            leader
        }
        _ => leader,
    };
    (who, body)
}

/// A mover: keeps `IN_HAND` events of its own and moves a random one a
/// step along the main path (a department's note on the way), filing new
/// ones as they close. After a move without an answer it reads the event
/// before moving it again.
fn mover(c: &Clients, m: usize, at: (f64, f64)) {
    let mut rng = Lcg(SEED ^ (0x100 + m as u64));
    let mut hand: Vec<InHand> = Vec::new();
    let mut n = 0u64;
    while !c.stop.load(Ordering::Relaxed) {
        n += 1;
        if hand.len() < IN_HAND {
            let title = format!("kill9 mover {m} event {n}");
            if let Some(id) = c.intake(&Caller::leader(), title, at) {
                hand.push(InHand {
                    id,
                    step: 0,
                    unsure: false,
                });
            }
            continue;
        }
        let i = rng.below(hand.len() as u64) as usize;
        let ev = &mut hand[i];
        let path = format!("/api/v1/events/{}", ev.id);
        if ev.unsure {
            match c.send(&Caller::leader(), "GET", &path, &Value::Null) {
                Answer::Got(200, v) => {
                    let status = v["status"].as_str().unwrap_or_default();
                    ev.step = PATH
                        .iter()
                        .position(|s| *s == status)
                        .unwrap_or_else(|| panic!("event {} left the main path: {v}", ev.id));
                    ev.unsure = false;
                }
                Answer::Got(status, v) => panic!("event {} answered {status}: {v}", ev.id),
                Answer::Unacknowledged => {}
            }
            continue;
        }
        if ev.step + 1 == PATH.len() {
            hand.swap_remove(i);
            continue;
        }
        if PATH[ev.step] == "in_progress" && rng.below(2) == 0 {
            let note = format!("kill nine feedback {}", letters(n));
            let dept = Caller::department("kill9-dept", DEPARTMENT);
            match c.send(
                &dept,
                "POST",
                &format!("{path}/notes"),
                &json!({"note": note}),
            ) {
                Answer::Got(201, _) => c.acked.lock().expect("acked").notes.push((ev.id, note)),
                Answer::Got(status, v) => panic!("note on {} answered {status}: {v}", ev.id),
                Answer::Unacknowledged => {}
            }
            continue;
        }
        let note = format!("kill nine move {}", letters(n));
        let (who, body) = next_move(ev.step, &note);
        match c.send(&who, "POST", &format!("{path}/transition"), &body) {
            Answer::Got(200, v) => {
                let to = PATH[ev.step + 1];
                assert_eq!(v["transition"]["to"], to, "{v}");
                c.acked
                    .lock()
                    .expect("acked")
                    .moves
                    .push((ev.id, to.to_string(), note));
                ev.step += 1;
            }
            Answer::Got(status, v) => {
                panic!("move of {} to {} answered {status}: {v}", ev.id, body["to"])
            }
            Answer::Unacknowledged => ev.unsure = true,
        }
    }
}

/// A visitor: records visits with one to three needs on random households
/// of `households` (ID and comprehensive grid), as a worker of that grid.
/// The notes say how many needs the visit was sent with.
fn visitor(c: &Clients, v: usize, households: &[(u64, String)]) {
    let mut rng = Lcg(SEED ^ (0x200 + v as u64));
    let mut n = 0u64;
    while !c.stop.load(Ordering::Relaxed) {
        n += 1;
        let (household, grid) = &households[rng.below(households.len() as u64) as usize];
        let count = 1 + rng.below(3) as usize;
        let mark = letters(n * 8 + v as u64);
        let needs: Vec<Value> = (0..count)
            .map(|k| {
                let category = ["care", "repair", "health"][k];
                json!({"text": format!("kill nine need {mark} {category}"), "category": category})
            })
            .collect();
        let kind = ["routine", "night", "follow_up"][rng.below(3) as usize];
        let body = json!({
            "kind": kind,
            "notes": format!("kill nine visit {mark} with {} needs", COUNT_WORDS[count]),
            "needs": needs,
        });
        let who = Caller::worker(&format!("kill9-visitor-{v}"), grid);
        let path = format!("/api/v1/households/{household}/visits");
        match c.send(&who, "POST", &path, &body) {
            Answer::Got(201, a) => {
                let id = a["visit"]["id"].as_u64().expect("visit id");
                let needs: Vec<u64> = a["needs"]
                    .as_array()
                    .expect("needs")
                    .iter()
                    .filter_map(|n| n["id"].as_u64())
                    .collect();
                assert_eq!(needs.len(), count, "{a}");
                let mut acked = c.acked.lock().expect("acked");
                acked.visits.push((*household, id, needs));
            }
            Answer::Got(status, a) => panic!("visit on {household} answered {status}: {a}"),
            Answer::Unacknowledged => {}
        }
    }
}

/// The centre of the demo town's extent.
fn centre(server: &Server) -> (f64, f64) {
    let (s, info) = server.call(&Caller::leader(), "GET", "/api/v1/info", "");
    assert_eq!(s, 200, "{info}");
    let e: Vec<f64> = info["extent"]
        .as_array()
        .expect("extent")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    ((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0)
}

/// Up to eight households of the care lists with their comprehensive grid.
fn some_households(server: &Server) -> Vec<(u64, String)> {
    let (s, v) = server.call(
        &Caller::leader(),
        "GET",
        "/api/v1/visits/overdue?limit=40",
        "",
    );
    assert_eq!(s, 200, "{v}");
    let found: Vec<(u64, String)> = v["households"]
        .as_array()
        .expect("households")
        .iter()
        .filter_map(|h| Some((h["household"].as_u64()?, h["grid"].as_str()?.to_string())))
        .take(8)
        .collect();
    assert!(!found.is_empty(), "no household with a grid: {v}");
    found
}

/// What is wrong with the stored event `id` (detail `d`) against what was
/// acknowledged of it: its timeline must be one chain from `null → reported`
/// to its status, hold every acknowledged move (with its note) and note,
/// and its status be at least as far as the furthest acknowledged move.
fn event_problems(id: u64, d: &Value, acked: &Acked) -> Vec<String> {
    let mut problems = Vec::new();
    let timeline = d["timeline"].as_array().cloned().unwrap_or_default();
    let mut prev = Value::Null;
    for t in &timeline {
        if t["from"] != prev {
            problems.push(format!("event {id}: timeline breaks at {t}"));
        }
        prev = t["status"].clone();
    }
    if timeline.first().map(|t| &t["status"]) != Some(&json!("reported")) {
        problems.push(format!("event {id}: timeline does not start at reported"));
    }
    if prev != d["status"] {
        problems.push(format!(
            "event {id}: status {} but the timeline ends at {prev}",
            d["status"]
        ));
    }
    let step = |s: &str| PATH.iter().position(|p| *p == s);
    let reached = d["status"].as_str().and_then(step);
    for (_, to, note) in acked.moves.iter().filter(|m| m.0 == id) {
        if !timeline
            .iter()
            .any(|t| t["status"] == **to && t["note"] == **note)
        {
            problems.push(format!(
                "event {id}: acknowledged move to {to} ({note}) missing"
            ));
        }
        if reached < step(to) {
            problems.push(format!("event {id}: status {} behind {to}", d["status"]));
        }
    }
    let notes = d["notes"].as_array().cloned().unwrap_or_default();
    for (_, note) in acked.notes.iter().filter(|n| n.0 == id) {
        if !notes.iter().any(|n| n["note"] == **note) {
            problems.push(format!("event {id}: acknowledged note {note:?} missing"));
        }
    }
    problems
}

/// What is wrong with household `h`'s file `f`: every acknowledged visit
/// there with its needs, and every visit of the test with exactly the
/// needs its notes say it was sent with.
fn household_problems(h: u64, f: &Value, acked: &Acked) -> Vec<String> {
    let mut problems = Vec::new();
    let visits = f["visits"].as_array().cloned().unwrap_or_default();
    let needs = f["needs"].as_array().cloned().unwrap_or_default();
    for v in &visits {
        let notes = v["notes"].as_str().unwrap_or_default();
        let Some(rest) = notes.strip_prefix("kill nine visit ") else {
            continue;
        };
        let said = COUNT_WORDS
            .iter()
            .position(|w| rest.ends_with(&format!("with {w} needs")));
        let found = needs.iter().filter(|n| n["visit"] == v["id"]).count();
        let listed = v["needs"].as_array().map_or(0, Vec::len);
        if said != Some(found) || found != listed {
            problems.push(format!(
                "household {h}: visit {} has {found} needs stored ({listed} listed): {notes:?}",
                v["id"]
            ));
        }
    }
    for (_, visit, ids) in acked.visits.iter().filter(|v| v.0 == h) {
        match visits.iter().find(|v| v["id"] == *visit) {
            None => problems.push(format!("household {h}: acknowledged visit {visit} missing")),
            Some(v) => {
                let mut stored: Vec<u64> = v["needs"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                stored.sort_unstable();
                let mut want = ids.clone();
                want.sort_unstable();
                if stored != want {
                    problems.push(format!(
                        "household {h}: visit {visit} has needs {stored:?}, acknowledged {want:?}"
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let rounds = rounds("WANGGE_KILL9_ROUNDS", 5);
    let dir = temp("writes");
    let db = demo_store(&dir, "community");
    let secret = secret_file(&dir);

    let (mut server, _) = Server::start_healthy(&db, &secret, &[]);
    let centre = centre(&server);
    let households = some_households(&server);
    let clients = Arc::new(Clients {
        addr: Mutex::new(server.addr.clone()),
        stop: AtomicBool::new(false),
        acked: Mutex::default(),
        cut: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let c = clients.clone();
        threads.push(std::thread::spawn(move || {
            let at = (centre.0 + (w as f64) * 1e-4, centre.1);
            let mut i = 0u64;
            while !c.stop.load(Ordering::Relaxed) {
                i += 1;
                c.intake(&Caller::leader(), format!("kill9 writer {w} event {i}"), at);
            }
        }));
    }
    for m in 0..MOVERS {
        let c = clients.clone();
        let at = (centre.0, centre.1 + (m as f64 + 1.0) * 1e-4);
        threads.push(std::thread::spawn(move || mover(&c, m, at)));
    }
    for v in 0..VISITORS {
        let (c, h) = (clients.clone(), households.clone());
        threads.push(std::thread::spawn(move || visitor(&c, v, &h)));
    }

    let mut rng = Lcg(SEED);
    let mut restarts = Vec::new();
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        server.kill();
        let (next, up) = Server::start_healthy(&db, &secret, &[]);
        server = next;
        restarts.push(up);
        *clients.addr.lock().expect("addr") = server.addr.clone();
    }
    std::thread::sleep(Duration::from_millis(300));
    clients.stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client thread");
    }

    let acked = clients.acked.lock().expect("acked");
    assert!(!acked.events.is_empty(), "no intake was acknowledged");
    assert!(!acked.moves.is_empty(), "no move was acknowledged");
    assert!(!acked.visits.is_empty(), "no visit was acknowledged");
    let mut ids: Vec<u64> = acked.events.iter().map(|e| e.0).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), acked.events.len(), "one ID acknowledged twice");

    // Every acknowledged event is stored with its title; the movers' events
    // (the acknowledged ones) hold their moves and notes, whole.
    let leader = Caller::leader();
    let mut lost = Vec::new();
    let mut problems = Vec::new();
    for (id, title) in &acked.events {
        match server.call(&leader, "GET", &format!("/api/v1/events/{id}"), "") {
            (200, d) => {
                if d["title"] != **title {
                    problems.push(format!("event {id}: title {} for {title:?}", d["title"]));
                }
                problems.extend(event_problems(*id, &d, &acked));
            }
            (status, _) => lost.push((*id, status)),
        }
    }
    for (h, _) in &households {
        let (s, f) = server.call(&leader, "GET", &format!("/api/v1/households/{h}/file"), "");
        assert_eq!(s, 200, "{f}");
        problems.extend(household_problems(*h, &f, &acked));
    }
    drop(server);
    let slowest = restarts.iter().max().copied().unwrap_or_default();
    let mean = restarts.iter().sum::<Duration>() / restarts.len().max(1) as u32;
    let needs: usize = acked.visits.iter().map(|v| v.2.len()).sum();
    println!(
        "kill -9: {rounds} kills; acknowledged {} events, {} moves, {} notes, {} visits with {needs} needs; \
         {} requests cut or unanswered, {} answered 5xx; {} events lost, {} other problems; \
         restart to /healthz: mean {:.2} s, slowest {:.2} s",
        acked.events.len(),
        acked.moves.len(),
        acked.notes.len(),
        acked.visits.len(),
        clients.cut.load(Ordering::Relaxed),
        clients.failed.load(Ordering::Relaxed),
        lost.len(),
        problems.len(),
        mean.as_secs_f64(),
        slowest.as_secs_f64()
    );
    assert!(lost.is_empty(), "acknowledged events lost: {lost:?}");
    assert!(problems.is_empty(), "{problems:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The grids as the API answers them after a restart: the history (without
/// its times), today's micro-grids with the households and persons
/// assigned to each (as stored: a people list reads the stored grid columns), and how many grids the newest version holds. Equal
/// values are equal states of the grids and of every assignment.
fn grid_state(server: &Server) -> Value {
    let who = Caller::leader();
    let (s, mut versions) = server.call(&who, "GET", "/api/v1/grids/versions", "");
    assert_eq!(s, 200, "{versions}");
    for v in versions["versions"].as_array_mut().expect("versions") {
        if let Some(o) = v.as_object_mut() {
            o.remove("created_at");
        }
    }
    let current = versions["current"].as_i64().expect("current version");
    let (s, newest) = server.call(
        &who,
        "GET",
        &format!("/api/v1/grids/versions/{current}"),
        "",
    );
    assert_eq!(s, 200, "{newest}");
    let made_in_newest = newest["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["version"] == current)
        .count();
    let (s, grids) = server.call(&who, "GET", "/api/v1/grids?kind=micro&limit=10000", "");
    assert_eq!(s, 200, "{grids}");
    let mut assigned = BTreeMap::new();
    for g in grids["features"].as_array().expect("grids") {
        let code = g["properties"]["code"].as_str().expect("code").to_string();
        let total = |kind: &str| {
            let (s, v) = server.call(
                &who,
                "GET",
                &format!("/api/v1/{kind}?grid={code}&limit=10000"),
                "",
            );
            assert_eq!(s, 200, "{v}");
            // `total` of a people list is the page's length: count them.
            v["features"].as_array().map_or(0, Vec::len)
        };
        assigned.insert(code.clone(), json!([total("households"), total("persons")]));
    }
    json!({"versions": versions, "made_in_newest": made_in_newest, "micro": assigned})
}

#[test]
fn a_grid_adoption_killed_mid_way_is_whole_or_absent() {
    let rounds = rounds("WANGGE_KILL9_ADOPT_ROUNDS", 3);
    let dir = temp("adopt");
    let pristine = dir.join("pristine");
    let db = demo_store(&pristine, "community");
    let secret = secret_file(&dir);
    let planner = Caller::new("planner", "alice");

    // A finished job, stored: each round adopts it on a copy of this store.
    let (server, _) = Server::start_healthy(&db, &secret, &[]);
    let (s, v) = server.call(
        &planner,
        "POST",
        "/api/v1/regrid",
        r#"{"level": "micro", "min": 30, "max": 80}"#,
    );
    assert_eq!(s, 202, "{v}");
    let job = v["job"].as_str().expect("job").to_string();
    let t = Instant::now();
    let proposal = loop {
        let (s, v) = server.call(&planner, "GET", &format!("/api/v1/regrid/{job}"), "");
        assert_eq!(s, 200, "{v}");
        if v["status"] != "running" {
            assert_eq!(v["status"], "done", "{v}");
            break v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "job still running: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let before = grid_state(&server);
    drop(server);
    let adopt = format!("/api/v1/regrid/{job}/adopt");
    let note = r#"{"note": "kill nine adoption"}"#;

    // One whole adoption, timed: the state it leaves and how long it takes.
    let whole_dir = dir.join("whole");
    copy_dir(&pristine, &whole_dir);
    let (server, _) = Server::start_healthy(&whole_dir.join("town.duckdb"), &secret, &[]);
    let t = Instant::now();
    let (s, report) = server.call(&planner, "POST", &adopt, note);
    let took = t.elapsed();
    assert_eq!(s, 200, "{report}");
    let whole = grid_state(&server);
    drop(server);
    let created = report["created"].as_array().expect("created").len();
    assert_eq!(whole["made_in_newest"], created, "{whole}");
    let proposed: u64 = proposal["result"]["geojson"]["features"]
        .as_array()
        .expect("proposal")
        .iter()
        .filter_map(|f| f["properties"]["households"].as_u64())
        .sum();
    let assigned: u64 = whole["micro"]
        .as_object()
        .expect("micro")
        .values()
        .filter_map(|c| c[0].as_u64())
        .sum();
    assert_eq!(assigned, proposed, "households of the new grids");
    assert_ne!(before, whole, "the adoption changed nothing");

    let mut rng = Lcg(SEED ^ 0xad0);
    let limit = took.as_millis() as u64 * 5 / 4 + 20;
    // The kill moments (ms after the request) that left it whole or absent.
    let (mut kept, mut absent) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let round = dir.join(format!("round-{r}"));
        copy_dir(&pristine, &round);
        let db = round.join("town.duckdb");
        let (mut server, _) = Server::start_healthy(&db, &secret, &[]);
        let (addr, path, who) = (server.addr.clone(), adopt.clone(), planner.clone());
        let sent = std::thread::spawn(move || request(&addr, &who, "POST", &path, note));
        let at = rng.below(limit);
        std::thread::sleep(Duration::from_millis(at));
        server.kill();
        let answer = sent.join().expect("adoption thread");
        let (server, _) = Server::start_healthy(&db, &secret, &[]);
        let after = grid_state(&server);
        drop(server);
        if after == whole {
            kept.push(at);
        } else {
            assert_eq!(after, before, "round {r}: neither whole nor absent");
            assert!(
                !matches!(answer, Some((200, _))),
                "round {r}: the adoption was acknowledged and is absent"
            );
            absent.push(at);
        }
        let _ = std::fs::remove_dir_all(&round);
    }
    println!(
        "adoption killed: {rounds} kills within {limit} ms of the request (a whole one took {:.2} s, \
         {created} grids): {} whole (killed at {kept:?} ms), {} absent (at {absent:?} ms), 0 partial",
        took.as_secs_f64(),
        kept.len(),
        absent.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The element counts `wangge info` gives (it opens the store: a store that
/// does not open fails here).
fn counts(db: &Path) -> Value {
    let v: Value = serde_json::from_str(&run(db, &["info", "--json"])).expect("info JSON");
    v["elements"].clone()
}

#[test]
fn a_killed_import_leaves_the_store_as_it_was_or_whole() {
    const COPIES: u64 = 10;
    let rounds = rounds("WANGGE_KILL9_IMPORT_ROUNDS", 4);
    let dir = temp("import");
    let pristine = dir.join("pristine");
    let db = demo_store(&pristine, "community");

    // The demo's persons ten times over with new IDs, in their households.
    let people = run(
        &db,
        &[
            "export",
            "persons",
            "--format",
            "csv",
            "--reveal-reason",
            "kill9 test",
        ],
    );
    let mut lines = people.lines();
    let mut big = format!("{}\n", lines.next().expect("header"));
    let rows: Vec<&str> = lines.collect();
    for k in 1..=COPIES {
        for row in &rows {
            let (id, rest) = row.split_once(',').expect("id column");
            let id: u64 = id.parse().expect("numeric id");
            big.push_str(&format!("{},{rest}\n", id + k * 10_000_000));
        }
    }
    let file = dir.join("persons.csv");
    std::fs::write(&file, big).expect("write the import");
    let file = file.to_str().expect("path").to_string();
    let before = counts(&db);

    let whole_dir = dir.join("whole");
    copy_dir(&pristine, &whole_dir);
    let t = Instant::now();
    run(
        &whole_dir.join("town.duckdb"),
        &["import", "persons", &file],
    );
    let took = t.elapsed();
    let whole = counts(&whole_dir.join("town.duckdb"));
    let added = rows.len() as u64 * COPIES;
    assert_eq!(
        whole["persons"].as_u64(),
        before["persons"].as_u64().map(|p| p + added),
        "{whole}"
    );

    let mut rng = Lcg(SEED ^ 0x1a0);
    let limit = took.as_millis() as u64 + 20;
    let (mut kept, mut absent) = (0, 0);
    let round = dir.join("round");
    for r in 0..rounds {
        copy_dir(&pristine, &round);
        let db = round.join("town.duckdb");
        let mut child = common::wangge(&db)
            .args(["import", "persons", &file])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the import");
        std::thread::sleep(Duration::from_millis(rng.below(limit)));
        let _ = child.kill();
        let status = child.wait().expect("reap the import");
        let after = counts(&db);
        if after == whole {
            kept += 1;
        } else {
            assert_eq!(after, before, "round {r}: neither whole nor as it was");
            assert!(
                !status.success(),
                "round {r}: the import passed and is absent"
            );
            // Nothing of it is left to collide with: the same import passes.
            run(&db, &["import", "persons", &file]);
            assert_eq!(counts(&db), whole, "round {r}: the import again");
            absent += 1;
        }
    }
    println!(
        "import killed: {rounds} kills within {limit} ms of its start ({added} persons, a whole import \
         took {:.2} s): {kept} whole, {absent} as before, 0 partial",
        took.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
