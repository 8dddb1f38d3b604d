//! Nothing acknowledged is lost when the server dies (issue 17): `wangge
//! serve` runs on a real demo store while writers file events over HTTP
//! from several threads, and the server is killed with SIGKILL at random
//! moments and restarted, round after round. Afterwards every event whose
//! intake was answered 201 must be in the store with its title, the store
//! must open, and each restart's time until `/healthz` answers is measured.
//!
//! The test command runs a few rounds (`WANGGE_KILL9_ROUNDS`, default 5);
//! the long run of `docs/reliability.md` is
//! `WANGGE_KILL9_ROUNDS=200 cargo test --release -p web-viewer --test kill9 -- --nocapture`.
//! No assertion depends on the machine being idle: restart times are
//! printed, and only a server that does not come back within a minute fails.

use std::io::{BufRead, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "kill9-test-proxy-secret-0123456789";
const WRITERS: usize = 4;

fn wangge(db: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wangge"));
    c.env_remove("WANGGE_KEY_FILE").arg("--db").arg(db);
    c
}

/// Starts `wangge serve` (proxy log-in, no demo feed, no escalation loop)
/// and returns it with its address once it serves. The caller kills and
/// waits for it (clippy cannot follow the child out of this function).
#[allow(clippy::zombie_processes)]
fn start(db: &std::path::Path, secret: &std::path::Path) -> (Child, String) {
    let mut child = wangge(db)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth", "proxy"])
        .args([
            "--no-demo-feed",
            "--escalate-every-s",
            "0",
            "--proxy-secret-file",
        ])
        .arg(secret)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wangge serve");
    let mut log = std::io::BufReader::new(child.stderr.take().expect("server stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        let n = log.read_line(&mut line).unwrap_or(0);
        if n == 0 {
            let status = child.wait();
            panic!("the server stopped before serving: {status:?}");
        }
        if let Some(addr) = line
            .split("serving on http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
        {
            let addr = addr.to_string();
            // Keep reading the log so the server never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
            return (child, addr);
        }
    }
}

/// One request as the authenticating proxy speaking for a leader: status
/// and body, or `None` when the connection failed or broke (the server
/// died): such a request is not acknowledged.
fn request(addr: &str, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wangge-Role: leader\r\n\
         X-Wangge-Proxy-Secret: {SECRET}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let (_, b) = raw.split_once("\r\n\r\n")?;
    Some((status, b.to_string()))
}

/// A small deterministic generator for the kill moments.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn acknowledged_events_survive_kill_9() {
    let rounds: usize = std::env::var("WANGGE_KILL9_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("wangge-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("town.duckdb");
    let out = wangge(&db)
        .args(["demo", "--scale", "community", "--seed", "7"])
        .output()
        .expect("wangge demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = dir.join("proxy.secret");
    std::fs::write(&secret, SECRET).expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("mode");

    let (mut server, addr) = start(&db, &secret);
    let (s, info) = request(&addr, "GET", "/api/v1/info", "").expect("info");
    assert_eq!(s, 200, "{info}");
    let info: serde_json::Value = serde_json::from_str(&info).expect("info JSON");
    let e = info["extent"].as_array().expect("extent").clone();
    let centre = (
        (e[0].as_f64().unwrap_or(0.0) + e[2].as_f64().unwrap_or(0.0)) / 2.0,
        (e[1].as_f64().unwrap_or(0.0) + e[3].as_f64().unwrap_or(0.0)) / 2.0,
    );

    // Writers: file events as fast as the server takes them, remembering
    // each one answered 201 (its ID and title).
    let current = Arc::new(Mutex::new(addr));
    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    // Requests cut by a kill (no answer) and answered 5xx (not acknowledged).
    let refused = Arc::new(Mutex::new((0u64, 0u64)));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (current, acked, refused, stop) = (
                current.clone(),
                acked.clone(),
                refused.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let title = format!("kill9 writer {w} event {i}");
                    let body = serde_json::json!({
                        "category": "02.05", "title": title,
                        "lon": centre.0 + (w as f64) * 1e-4, "lat": centre.1,
                    })
                    .to_string();
                    let addr = current.lock().map(|a| a.clone()).unwrap_or_default();
                    match request(&addr, "POST", "/api/v1/events", &body) {
                        Some((201, answer)) => {
                            let v: serde_json::Value =
                                serde_json::from_str(&answer).expect("intake answer");
                            let id = v["id"].as_u64().expect("id in the 201");
                            acked.lock().expect("acked").push((id, title));
                        }
                        Some((status, answer)) if status < 500 => {
                            panic!("intake answered {status}: {answer}")
                        }
                        Some(_) => {
                            refused.lock().expect("refused").1 += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        // Killed mid-request, or not yet back: not acknowledged.
                        None => {
                            refused.lock().expect("refused").0 += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            })
        })
        .collect();

    let mut rng = Lcg(0x2545_f491_4f6c_dd1d);
    let mut restarts = Vec::new();
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        server.kill().expect("SIGKILL"); // Child::kill sends SIGKILL
        let _ = server.wait();
        let t = Instant::now();
        let (next, addr) = start(&db, &secret);
        server = next;
        let up = loop {
            if matches!(request(&addr, "GET", "/healthz", ""), Some((200, _))) {
                break t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the server did not come back within a minute"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        restarts.push(up);
        *current.lock().expect("addr") = addr;
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }

    // Every acknowledged event is stored, once, with its title.
    let addr = current.lock().expect("addr").clone();
    let acked = acked.lock().expect("acked").clone();
    assert!(!acked.is_empty(), "no intake was acknowledged");
    let mut ids: Vec<u64> = acked.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), acked.len(), "one ID acknowledged twice");
    let mut lost = Vec::new();
    for (id, title) in &acked {
        match request(&addr, "GET", &format!("/api/v1/events/{id}"), "") {
            Some((200, body)) => {
                let v: serde_json::Value = serde_json::from_str(&body).expect("detail");
                assert_eq!(v["title"].as_str(), Some(title.as_str()), "event {id}");
            }
            other => lost.push((*id, other.map(|o| o.0))),
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let slowest = restarts.iter().max().copied().unwrap_or_default();
    let mean = restarts.iter().sum::<Duration>() / restarts.len().max(1) as u32;
    println!(
        "kill -9: {rounds} kills, {} events acknowledged, {} requests cut or unanswered, {} answered 5xx, \
         {} lost; restart to /healthz: mean {:.2} s, slowest {:.2} s",
        acked.len(),
        refused.lock().map(|r| r.0).unwrap_or(0),
        refused.lock().map(|r| r.1).unwrap_or(0),
        lost.len(),
        mean.as_secs_f64(),
        slowest.as_secs_f64()
    );
    assert!(lost.is_empty(), "acknowledged events lost: {lost:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
