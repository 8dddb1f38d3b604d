//! Re-gridding jobs through the user's path (issue 17): a real `wangge
//! serve` on a real demo store, spoken to over HTTP as planners and leaders
//! behind the authenticating proxy. A finished job is read and adopted after
//! a restart; a job cut by SIGKILL is `failed` with the reason after the
//! restart; a cancelled job ends at once and gives its thread back; a job
//! over its time budget is `failed` naming the budget.
//!
//! The long job is absurd-but-allowed: 10–20 households per micro-grid (the
//! floors of a request) over the whole demo town with the most search effort
//! a request may ask (`moves_per_unit` 10,000): minutes of annealing, so it
//! is surely still running when the test cuts it (a poll after its search
//! started). No assertion depends on the machine being idle: waits are polls
//! with limits of a minute or more.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{copy_dir, demo_store, secret_file, Caller, Server};

const LONG_JOB: &str = r#"{"level": "micro", "min": 10, "max": 20, "moves_per_unit": 10000}"#;
const SHORT_JOB: &str = r#"{"level": "micro", "min": 30, "max": 80}"#;

static DEMOS: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());

/// A folder of its own holding a copy of the demo store of `scale` (with
/// its key file) and the proxy secret file.
fn demo(name: &str, scale: &str) -> (PathBuf, PathBuf, PathBuf) {
    let source = {
        let mut made = DEMOS.lock().unwrap_or_else(|p| p.into_inner());
        match made.iter().find(|(s, _)| s == scale) {
            Some((_, dir)) => dir.clone(),
            None => {
                let dir = std::env::temp_dir()
                    .join(format!("wangge-jobs-demo-{scale}-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                demo_store(&dir, scale);
                made.push((scale.to_string(), dir.clone()));
                dir
            }
        }
    };
    let dir = std::env::temp_dir().join(format!("wangge-{name}-{}", std::process::id()));
    copy_dir(&source, &dir);
    let secret = secret_file(&dir);
    (dir.clone(), dir.join("town.duckdb"), secret)
}

/// Tests of this file not yet finished: the last one removes the demo stores.
static LEFT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(4);

/// Removes a test's folder, and the shared demo stores after the last test.
fn finish(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    if LEFT.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
        for (_, d) in DEMOS.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The calls of these tests on a [`Server`].
trait Jobs {
    fn planner(&self, method: &str, path: &str, body: &str) -> (u16, Value);
    fn start_job(&self, body: &str) -> u64;
    fn wait_end(&self, id: u64, limit: Duration) -> Value;
    fn wait_searching(&self, id: u64);
}

impl Jobs for Server {
    /// One request as planner alice.
    fn planner(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        self.call(&Caller::new("planner", "alice"), method, path, body)
    }

    /// Starts a job as planner alice; its ID.
    fn start_job(&self, body: &str) -> u64 {
        let (s, v) = self.planner("POST", "/api/v1/regrid", body);
        assert_eq!(s, 202, "{v}");
        v["job"]
            .as_str()
            .and_then(|j| j.parse().ok())
            .expect("job ID")
    }

    /// Polls job `id` until it leaves `running` (at most `limit`).
    fn wait_end(&self, id: u64, limit: Duration) -> Value {
        let t = Instant::now();
        loop {
            let (s, v) = self.planner("GET", &format!("/api/v1/regrid/{id}"), "");
            assert_eq!(s, 200, "{v}");
            if v["status"] != "running" {
                return v;
            }
            assert!(
                t.elapsed() < limit,
                "job {id} still running after {limit:?}: {v}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until job `id` runs its search (progress past reading the town).
    fn wait_searching(&self, id: u64) {
        let t = Instant::now();
        loop {
            let (_, v) = self.planner("GET", &format!("/api/v1/regrid/{id}"), "");
            assert_eq!(v["status"], "running", "{v}");
            if v["progress"].as_f64().unwrap_or(0.0) >= 0.05 {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "job {id} never started: {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn a_finished_job_is_read_and_adopted_after_a_restart() {
    let (dir, db, secret) = demo("jobs-restart", "community");
    let server = Server::start(&db, &secret, &[]);
    let id = server.start_job(SHORT_JOB);
    let before = server.wait_end(id, Duration::from_secs(300));
    assert_eq!(before["status"], "done", "{before}");
    // A second proposal read the same grids: once the first is adopted it
    // is stale, after the restart as before.
    let rival = server.start_job(r#"{"level": "micro", "min": 40, "max": 90}"#);
    let v = server.wait_end(rival, Duration::from_secs(300));
    assert_eq!(v["status"], "done", "{v}");
    drop(server); // SIGKILL: nothing but the store carries the jobs over

    let server = Server::start(&db, &secret, &[]);
    let (s, after) = server.planner("GET", &format!("/api/v1/regrid/{id}"), "");
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["status"], "done");
    assert_eq!(
        after["result"], before["result"],
        "the stored answer changed"
    );
    assert_eq!(after["params"], before["params"]);
    // Another planner's job is absent; a leader sees it.
    let (s, v) = server.call(
        &Caller::new("planner", "bob"),
        "GET",
        &format!("/api/v1/regrid/{id}"),
        "",
    );
    assert_eq!(s, 404, "{v}");
    let (s, _) = server.call(
        &Caller::new("leader", "lea"),
        "GET",
        &format!("/api/v1/regrid/{id}"),
        "",
    );
    assert_eq!(s, 200);
    let (s, v) = server.call(
        &Caller::new("planner", "bob"),
        "POST",
        &format!("/api/v1/regrid/{id}/adopt"),
        "",
    );
    assert_eq!(s, 404, "{v}");

    let (s, report) = server.planner(
        "POST",
        &format!("/api/v1/regrid/{id}/adopt"),
        r#"{"note": "adopted after a restart"}"#,
    );
    assert_eq!(s, 200, "{report}");
    let version = report["version"].as_i64().expect("version");
    assert!(!report["created"].as_array().expect("created").is_empty());
    let (_, v) = server.planner("GET", &format!("/api/v1/regrid/{id}"), "");
    assert_eq!(v["adopted_version"], version, "{v}");
    let (s, v) = server.planner("POST", &format!("/api/v1/regrid/{id}/adopt"), "");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("already_adopted"))
    );
    let (s, v) = server.planner("POST", &format!("/api/v1/regrid/{id}/cancel"), "");
    assert_eq!((s, v["error"]["code"].as_str()), (409, Some("not_running")));
    let (s, v) = server.planner("POST", &format!("/api/v1/regrid/{rival}/adopt"), "");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("stale_proposal")),
        "{v}"
    );

    // IDs go on from the stored ones, and the adoption survives a restart too.
    drop(server);
    let server = Server::start(&db, &secret, &[]);
    let (_, v) = server.planner("GET", &format!("/api/v1/regrid/{id}"), "");
    assert_eq!(v["adopted_version"], version, "{v}");
    let next = server.start_job(SHORT_JOB);
    assert_eq!(next, rival + 1, "IDs go on after a restart");
    let done = server.wait_end(next, Duration::from_secs(300));
    assert_eq!(done["status"], "done", "{done}");
    drop(server);
    finish(&dir);
}

#[test]
fn a_job_cut_by_a_kill_is_failed_with_the_reason_after_the_restart() {
    let (dir, db, secret) = demo("jobs-kill", "town");
    let server = Server::start(&db, &secret, &[]);
    let id = server.start_job(LONG_JOB);
    server.wait_searching(id);
    drop(server); // SIGKILL while the search runs

    let server = Server::start(&db, &secret, &[]);
    let (s, v) = server.planner("GET", &format!("/api/v1/regrid/{id}"), "");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "failed", "{v}");
    assert_eq!(
        v["error"], "the server stopped while it ran; start it again",
        "{v}"
    );
    assert!(v["finished_at"].as_i64().is_some(), "{v}");
    let (s, v) = server.planner("POST", &format!("/api/v1/regrid/{id}/adopt"), "");
    assert_eq!((s, v["error"]["code"].as_str()), (409, Some("not_done")));
    drop(server);
    finish(&dir);
}

#[test]
fn a_cancelled_job_ends_at_once_and_gives_its_thread_back() {
    let (dir, db, secret) = demo("jobs-cancel", "town");
    let server = Server::start(&db, &secret, &[]);
    let id = server.start_job(LONG_JOB);
    server.wait_searching(id);
    // Only the owner (or a leader) may cancel: another planner gets 404.
    let (s, _) = server.call(
        &Caller::new("planner", "bob"),
        "POST",
        &format!("/api/v1/regrid/{id}/cancel"),
        "",
    );
    assert_eq!(s, 404);
    let (s, v) = server.call(
        &Caller::new("worker", "wu"),
        "POST",
        &format!("/api/v1/regrid/{id}/cancel"),
        "",
    );
    assert_eq!(s, 403, "{v}");

    let t = Instant::now();
    let (s, v) = server.planner("POST", &format!("/api/v1/regrid/{id}/cancel"), "");
    let answered = t.elapsed();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "cancelled", "{v}");
    assert_eq!(v["error"], "cancelled by planner:alice", "{v}");
    assert!(
        answered < Duration::from_secs(30),
        "cancel answered after {answered:?}"
    );
    let (_, v) = server.planner("GET", &format!("/api/v1/regrid/{id}"), "");
    assert_eq!(v["status"], "cancelled", "{v}");

    // The job's thread has ended once two new jobs run beside each other
    // (two run at most, and a job leaves the running ones when its thread
    // returns): the first always finds a place, the second only once the
    // cancelled job's thread is gone.
    let t = Instant::now();
    let first = server.start_job(LONG_JOB);
    let second = loop {
        let (s, v) = server.planner("POST", "/api/v1/regrid", LONG_JOB);
        if s == 202 {
            break v["job"]
                .as_str()
                .and_then(|j| j.parse::<u64>().ok())
                .expect("job");
        }
        assert_eq!((s, v["error"]["code"].as_str()), (409, Some("busy")), "{v}");
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the cancelled job still holds its place after {:?}",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let released = t.elapsed();
    eprintln!("cancel answered in {answered:?}; its place was free after {released:?}");
    // A leader cancels anyone's job.
    for j in [first, second] {
        let (s, v) = server.call(
            &Caller::new("leader", "lea"),
            "POST",
            &format!("/api/v1/regrid/{j}/cancel"),
            "",
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["error"], "cancelled by leader:lea", "{v}");
    }
    drop(server);
    finish(&dir);
}

#[test]
fn a_job_over_its_time_budget_is_failed_naming_the_budget() {
    let (dir, db, secret) = demo("jobs-budget", "town");
    let server = Server::start(&db, &secret, &["--regrid-budget-s", "1"]);
    let t = Instant::now();
    let id = server.start_job(LONG_JOB);
    let v = server.wait_end(id, Duration::from_secs(120));
    assert_eq!(v["status"], "failed", "{v}");
    let error = v["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("stopped after the time budget of 1 s (wangge serve --regrid-budget-s)"),
        "{error}"
    );
    eprintln!("over-budget job failed after {:?}", t.elapsed());
    drop(server);
    finish(&dir);
}
