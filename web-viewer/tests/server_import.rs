//! Importing while the map runs (issue 16): `wangge import --server` and
//! `POST /api/v1/imports` against a real `wangge serve` (log-in accounts,
//! session and CSRF as the pages use them) on a real store. The rows of an
//! import show at once in the list and in a tile the server had cached; a
//! bad file and a dry run store nothing; only a leader may import (the
//! others 403, the anonymous 401), never without the CSRF token nor with a
//! form's content type; a file over `--import-limit-mib` is answered 413;
//! the audit log names the account.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

const PASSWORD: &str = "import-test-password-0123";

fn wangge(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wangge"));
    c.env_remove("WANGGE_KEY_FILE")
        .env_remove("WANGGE_SERVER")
        .env_remove("WANGGE_USER")
        .env_remove("WANGGE_PASSWORD")
        .arg("--db")
        .arg(db);
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A community-scale demo store with accounts of every role.
fn store(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("wangge-srvimport-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("town.duckdb");
    ok(
        wangge(&db)
            .args(["demo", "--scale", "community", "--seed", "7"])
            .output()
            .expect("demo"),
        "demo",
    );
    let grid = {
        let out = ok(
            wangge(&db)
                .args(["export", "grids", "--format", "geojson"])
                .output()
                .expect("export grids"),
            "export grids",
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        v["features"][0]["properties"]["code"]
            .as_str()
            .map(str::to_string)
    };
    for (name, role) in [
        ("zhang", "leader"),
        ("li", "planner"),
        ("wang", "worker"),
        ("bigscreen", "screen"),
    ] {
        let mut c = wangge(&db);
        c.args(["user", "add", name, "--role", role, "--password-stdin"]);
        if role == "worker" {
            if let Some(g) = &grid {
                c.args(["--grids", g]);
            }
        }
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("user add");
        writeln!(child.stdin.take().expect("stdin"), "{PASSWORD}").expect("password");
        ok(child.wait_with_output().expect("user add"), "user add");
    }
    (dir, db)
}

mod common;
use common::Server;

impl Server {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One request: status, headers and body.
    fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(300)))
            .expect("timeout");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("send");
        // The server may answer before reading the whole body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head and body");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|x| x.parse().ok())
            .expect("status");
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        (status, head, body)
    }

    fn json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let (s, _, b) = self.raw(method, path, headers, body);
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    /// Logs `name` in: the cookie header and the CSRF token.
    fn login(&self, name: &str) -> (String, String) {
        let body = serde_json::json!({"name": name, "password": PASSWORD}).to_string();
        let (s, head, b) = self.raw(
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(s, 200, "log-in of {name}: {}", String::from_utf8_lossy(&b));
        let cookie = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("set-cookie:")
                    .then(|| l[11..].trim().split(';').next().unwrap_or("").to_string())
            })
            .expect("session cookie");
        let v: Value = serde_json::from_slice(&b).expect("json");
        (cookie, v["csrf"].as_str().expect("csrf").to_string())
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

/// `wangge import ARGS --server URL --user NAME` with the password in the
/// environment.
fn remote(db: &Path, srv: &Server, user: &str, args: &[&str]) -> Output {
    remote_at(db, &srv.url(), user, PASSWORD, args)
}

/// [`remote`] to any `url` with any `password`.
fn remote_at(db: &Path, url: &str, user: &str, password: &str, args: &[&str]) -> Output {
    wangge(db)
        .arg("import")
        .args(args)
        .args(["--server", url, "--user", user])
        .env("WANGGE_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .expect("wangge import --server")
}

/// A point inside the demo community: the first vertex of a building.
fn somewhere(srv: &Server, leader: &(String, String)) -> (f64, f64) {
    let (s, v) = srv.json(
        "GET",
        "/api/v1/buildings?limit=1",
        &[("Cookie", &leader.0)],
        b"",
    );
    assert_eq!(s, 200, "{v}");
    let mut c = &v["features"][0]["geometry"]["coordinates"];
    while c[0].is_array() {
        c = &c[0];
    }
    (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"))
}

fn tile_of(lon: f64, lat: f64, z: u32) -> String {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0
        - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI)
        / 2.0
        * n) as u32;
    format!("{z}/{x}/{y}")
}

fn place_ids(srv: &Server, leader: &(String, String)) -> Vec<u64> {
    let (s, v) = srv.json(
        "GET",
        "/api/v1/places?limit=10000",
        &[("Cookie", &leader.0)],
        b"",
    );
    assert_eq!(s, 200, "{v}");
    v["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["properties"]["id"].as_u64())
        .collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn an_import_through_the_running_server_shows_at_once_and_a_bad_one_stores_nothing() {
    let (dir, db) = store("main");
    let srv = Server::spawn(wangge(&db), &[]);
    let leader = srv.login("zhang");
    let (lon, lat) = somewhere(&srv, &leader);
    let tile = format!("/tiles/places/{}.mvt", tile_of(lon, lat, 16));
    // The tile is served (and cached) before the import.
    let (s, _, before) = srv.raw("GET", &tile, &[("Cookie", &leader.0)], b"");
    assert_eq!(s, 200);
    assert!(!contains(&before, "周四换届新馆"));
    let ids_before = place_ids(&srv, &leader);

    let good = dir.join("新设施.csv");
    std::fs::write(
        &good,
        format!("id,name,category,lon,lat\n990001,周四换届新馆,facility,{lon},{lat}\n990002,周四便民点,poi,{},{}\n", lon + 0.0001, lat),
    )
    .expect("csv");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        format!("id,name,category,lon,lat\n990011,好的一行,facility,{lon},{lat}\n990012,坏的一行,spaceship,{lon},{lat}\n"),
    )
    .expect("csv");
    let good_s = good.to_str().expect("path");
    let bad_s = bad.to_str().expect("path");

    // A dry run: the counts, nothing stored.
    let out = remote(
        &db,
        &srv,
        "zhang",
        &["places", good_s, "--dry-run", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(v["dry_run"], true, "{v}");
    assert_eq!(v["elements"], 2, "{v}");
    assert_eq!(v["rows"], 0, "{v}");
    assert_eq!(v["file"], good_s, "{v}");
    assert_eq!(
        place_ids(&srv, &leader),
        ids_before,
        "a dry run stored places"
    );

    // A bad file: refused naming line, field and value; nothing stored.
    let out = remote(&db, &srv, "zhang", &["places", bad_s]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spaceship"), "{err}");
    assert!(err.contains("category"), "{err}");
    assert!(err.contains("line 3") || err.contains(":3"), "{err}");
    assert!(
        !err.contains(".wangge-import-"),
        "the temporary name leaked: {err}"
    );
    let ids = place_ids(&srv, &leader);
    assert!(
        !ids.contains(&990011) && !ids.contains(&990012),
        "a refused file stored rows"
    );

    // The import: the same summary shape as the local `--json`.
    let out = remote(&db, &srv, "zhang", &["places", good_s, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert!(v["rows"].as_u64().unwrap_or(0) >= 2, "{v}");
    assert_eq!(v["elements"], 2, "{v}");
    assert!(v["seconds"].as_f64().is_some(), "{v}");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "kind",
            "file",
            "dry_run",
            "elements",
            "rows",
            "located",
            "outside_every_grid",
            "numbered_ids",
            "default_units",
            "dispatched",
            "incidents",
            "grid_version",
            "seconds"
        ]
    );
    // In the list and the cached tile at once.
    let ids = place_ids(&srv, &leader);
    assert!(
        ids.contains(&990001) && ids.contains(&990002),
        "imported places not listed"
    );
    let (s, _, after) = srv.raw("GET", &tile, &[("Cookie", &leader.0)], b"");
    assert_eq!(s, 200);
    assert!(
        contains(&after, "周四换届新馆"),
        "the tile still shows the old places"
    );

    // The audit line names the account (read after the server stopped:
    // it holds the store).
    drop(srv);
    let out = ok(
        wangge(&db).args(["audit"]).output().expect("audit"),
        "audit",
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.lines().any(|l| l.contains("leader:zhang")
            && l.contains("import")
            && l.contains("新设施.csv")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("leader:zhang") && l.contains("import_refused")),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn only_a_signed_in_leader_with_its_csrf_token_and_a_file_body_may_import() {
    let (dir, db) = store("refusals");
    let srv = Server::spawn(wangge(&db), &["--import-limit-mib", "1"]);
    let leader = srv.login("zhang");
    let (lon, lat) = somewhere(&srv, &leader);
    let csv = format!("id,name,category,lon,lat\n990101,越权设施,facility,{lon},{lat}\n");
    let path = "/api/v1/imports?kind=places&filename=x.csv";
    // Roles other than leader: 403, by the CLI and by HTTP.
    let file = dir.join("x.csv");
    std::fs::write(&file, &csv).expect("csv");
    for user in ["li", "wang", "bigscreen"] {
        let out = remote(&db, &srv, user, &["places", file.to_str().expect("path")]);
        assert!(!out.status.success(), "{user} imported");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("may not import"), "{user}: {err}");
        let s = srv.login(user);
        let (st, v) = srv.json(
            "POST",
            path,
            &[
                ("Cookie", &s.0),
                ("X-CSRF-Token", &s.1),
                ("Content-Type", "application/octet-stream"),
            ],
            csv.as_bytes(),
        );
        assert_eq!(st, 403, "{user}: {v}");
    }
    // Anonymous: 401.
    let (st, v) = srv.json(
        "POST",
        path,
        &[("Content-Type", "application/octet-stream")],
        csv.as_bytes(),
    );
    assert_eq!(st, 401, "{v}");
    // A leader's cookie without the CSRF token (a page of another site): 403 csrf.
    let (st, v) = srv.json(
        "POST",
        path,
        &[
            ("Cookie", &leader.0),
            ("Content-Type", "application/octet-stream"),
        ],
        csv.as_bytes(),
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (403, Some("csrf")),
        "{v}"
    );
    // A form's content types, even with the token: 415.
    for ct in [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
    ] {
        let (st, v) = srv.json(
            "POST",
            path,
            &[
                ("Cookie", &leader.0),
                ("X-CSRF-Token", &leader.1),
                ("Content-Type", ct),
            ],
            csv.as_bytes(),
        );
        assert_eq!(st, 415, "{ct}: {v}");
    }
    // Over --import-limit-mib: 413 naming the flag, by HTTP and the CLI.
    let big = vec![b'x'; (1 << 20) + 4096];
    let (st, v) = srv.json(
        "POST",
        path,
        &[
            ("Cookie", &leader.0),
            ("X-CSRF-Token", &leader.1),
            ("Content-Type", "application/octet-stream"),
        ],
        &big,
    );
    assert_eq!(st, 413, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--import-limit-mib"),
        "{v}"
    );
    let big_file = dir.join("big.csv");
    std::fs::write(&big_file, &big).expect("big");
    let out = remote(
        &db,
        &srv,
        "zhang",
        &["places", big_file.to_str().expect("path")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--import-limit-mib"), "{err}");
    // A wrong password and an unreachable server: clear errors.
    let path = file.to_str().expect("path");
    let out = remote_at(&db, &srv.url(), "zhang", "wrong", &["places", path]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused (401)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing of all that was stored.
    assert!(!place_ids(&srv, &leader).contains(&990101));
    drop(srv);
    let out = remote_at(
        &db,
        "http://127.0.0.1:9",
        "zhang",
        PASSWORD,
        &["places", path],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unreachable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
