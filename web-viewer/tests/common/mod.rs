//! What the tests that drive a real `wangge serve` share: the binary on a
//! store, a demo store made by `wangge demo`, the proxy secret file, the
//! server started on a free port (killed with SIGKILL when dropped), one
//! HTTP request as a signed-in role behind the authenticating proxy, and a
//! small seeded random generator. Used by `kill9.rs`, `regrid_jobs.rs`,
//! `server_import.rs` and (the start-up, `until_serving`) `cli_files.rs`.
//!
//! Each test binary uses a part of it, hence `dead_code` allowed here.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A started `wangge serve`: the child, its address, the lines it logged
/// before it served, and a thread collecting the rest of its log (so the
/// server never blocks on a full pipe).
pub struct Served {
    pub child: std::process::Child,
    pub addr: String,
    pub before: Vec<String>,
    pub rest: std::thread::JoinHandle<String>,
}

/// Spawns `serve` (a `wangge … serve` command) with its log piped and waits
/// until it logs the address it serves on.
pub fn until_serving(serve: &mut Command) -> Served {
    let mut child = serve
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start wangge serve");
    let mut log = std::io::BufReader::new(child.stderr.take().expect("server stderr"));
    let (mut line, mut before) = (String::new(), Vec::new());
    let addr = loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut log, &mut line).expect("server log");
        assert!(n > 0, "the server stopped before serving: {before:?}");
        if let Some(addr) = line
            .split("serving on http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
        {
            break addr.to_string();
        }
        before.push(line.trim().to_string());
    };
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut log, &mut s);
        s
    });
    Served {
        child,
        addr,
        before,
        rest,
    }
}

/// The proxy secret of the test servers (`--proxy-secret-file`).
pub const SECRET: &str = "wangge-e2e-test-proxy-secret-0123456789";

/// `wangge --db DB` (the key file beside the store, whatever the caller's
/// environment says). The binary is cargo's, or `WANGGE_TEST_BIN` when set:
/// a long run (the kill -9 harness for 200 rounds) runs a copy, so that a
/// build beside it cannot replace the binary between two restarts.
pub fn wangge(db: &Path) -> Command {
    let bin =
        std::env::var_os("WANGGE_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_wangge").into());
    let mut c = Command::new(bin);
    c.env_remove("WANGGE_KEY_FILE").arg("--db").arg(db);
    c
}

/// Runs `wangge` with `args` on `db` and returns its stdout; panics with
/// its stderr when it fails.
pub fn run(db: &Path, args: &[&str]) -> String {
    let out = wangge(db).args(args).output().expect("run wangge");
    assert!(
        out.status.success(),
        "wangge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes the demo store of `scale` (seed 7) as `dir/town.duckdb`, with its
/// key file beside it; its path.
pub fn demo_store(dir: &Path, scale: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("temp dir");
    let db = dir.join("town.duckdb");
    run(&db, &["demo", "--scale", scale, "--seed", "7"]);
    db
}

/// Copies every file of folder `from` (a store, its key file, its WAL)
/// into `to`, made empty first.
pub fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("temp dir");
    for entry in std::fs::read_dir(from).expect("store folder") {
        let path = entry.expect("entry").path();
        if let (true, Some(file)) = (path.is_file(), path.file_name()) {
            std::fs::copy(&path, to.join(file)).expect("copy the store");
        }
    }
}

/// Writes the proxy secret into `dir` (mode 0600, as the server demands).
pub fn secret_file(dir: &Path) -> PathBuf {
    let secret = dir.join("proxy.secret");
    std::fs::write(&secret, SECRET).expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("mode");
    secret
}

/// A running `wangge serve`, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Server {
    /// Starts `wangge serve` (proxy log-in, no demo feed, no escalation
    /// loop) with `extra` arguments, once it logs its address. `Drop` kills
    /// and waits for it (clippy cannot follow the child there).
    pub fn start(db: &Path, secret: &Path, extra: &[&str]) -> Server {
        let secret = secret.to_str().expect("a UTF-8 path");
        let mut args = vec!["--auth", "proxy", "--proxy-secret-file", secret];
        args.extend(extra);
        Server::spawn(wangge(db), &args)
    }

    /// Starts `wangge serve` (no demo feed, no escalation loop) on a free
    /// loopback port from the command `wangge` (the store and environment
    /// chosen by the caller) with `extra` arguments, once it logs its
    /// address; log-in as `extra` says (the default: accounts).
    pub fn spawn(mut wangge: Command, extra: &[&str]) -> Server {
        let served = until_serving(
            wangge
                .args(["serve", "--addr", "127.0.0.1:0"])
                .args(["--no-demo-feed", "--escalate-every-s", "0"])
                .args(extra),
        );
        Server {
            child: served.child,
            addr: served.addr,
        }
    }

    /// Starts the server and waits until `/healthz` answers 200 (at most a
    /// minute: a slower start fails); the server and the time it took.
    pub fn start_healthy(db: &Path, secret: &Path, extra: &[&str]) -> (Server, Duration) {
        let t = Instant::now();
        let server = Server::start(db, secret, extra);
        loop {
            if matches!(
                request(&server.addr, &Caller::leader(), "GET", "/healthz", ""),
                Some((200, _))
            ) {
                return (server, t.elapsed());
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the server did not come back within a minute"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL (`Child::kill`), then reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// One request as `who`: status and JSON body (`Null` when the body is
    /// not JSON); panics when the connection fails or breaks.
    pub fn call(
        &self,
        who: &Caller,
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, serde_json::Value) {
        let (status, b) = request(&self.addr, who, method, path, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer"));
        (
            status,
            serde_json::from_str(&b).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// Who a request speaks for, as the proxy's headers say.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: String,
    pub user: String,
    /// `X-Wangge-Grids` (a worker's grid codes, comma-separated).
    pub grids: Option<String>,
    /// `X-Wangge-Department`.
    pub department: Option<String>,
}

impl Caller {
    pub fn new(role: &str, user: &str) -> Caller {
        Caller {
            role: role.into(),
            user: user.into(),
            grids: None,
            department: None,
        }
    }

    pub fn leader() -> Caller {
        Caller::new("leader", "lea")
    }

    pub fn worker(user: &str, grids: &str) -> Caller {
        Caller {
            grids: Some(grids.into()),
            ..Caller::new("worker", user)
        }
    }

    pub fn department(user: &str, department: &str) -> Caller {
        Caller {
            department: Some(department.into()),
            ..Caller::new("department", user)
        }
    }

    fn headers(&self) -> String {
        let mut h = format!(
            "X-Wangge-Role: {}\r\nX-Wangge-User: {}\r\nX-Wangge-Proxy-Secret: {SECRET}\r\n",
            self.role, self.user
        );
        if let Some(g) = &self.grids {
            h.push_str(&format!("X-Wangge-Grids: {g}\r\n"));
        }
        if let Some(d) = &self.department {
            h.push_str(&format!("X-Wangge-Department: {d}\r\n"));
        }
        h
    }
}

/// One request as `who` through the authenticating proxy: status and body,
/// or `None` when the connection failed or broke (the server died): such a
/// request is not acknowledged. Read time-out two minutes.
pub fn request(
    addr: &str,
    who: &Caller,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        who.headers(),
        body.len()
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let (_, b) = raw.split_once("\r\n\r\n")?;
    Some((status, b.to_string()))
}

/// A small deterministic generator (kill moments, choices of the clients).
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// The number of rounds from the environment variable `var`, else `default`.
pub fn rounds(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
