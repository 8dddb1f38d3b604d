//! The `wangge` binary: files it creates are its owner's only, it will not
//! serve beyond loopback with nobody able to log in, and ID numbers and
//! phones reach the store file encrypted only; what it prints for scripts
//! (`info --json` keyed by name; a closed output pipe ends it quietly).

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

mod common;
use common::{until_serving, Served};

fn temp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wangge-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Runs `wangge --db DB ARGS…` and returns its output, failing on an error.
fn wangge(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .args(["--db"])
        .arg(db)
        .args(args)
        .output()
        .expect("run wangge");
    assert!(
        out.status.success(),
        "wangge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_store_is_created_owner_only() {
    let d = temp("mode");
    let db = d.join("s.duckdb");
    wangge(&db, &["key", "init"]);
    let key_mode = std::fs::metadata(d.join("s.duckdb.key"))
        .expect("key file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600, "key file created {key_mode:o}");
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["user", "add", "zhang", "--role", "leader", "--random"])
        .output()
        .expect("run wangge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("password (shown once): "), "{stdout}");
    let mode = std::fs::metadata(&db).expect("store").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "store created {mode:o}");
    let list = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["user", "list"])
        .output()
        .expect("run wangge");
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("zhang\tleader") && !text.contains("argon2"),
        "{text}"
    );
}

#[test]
fn serving_beyond_loopback_needs_an_account() {
    let d = temp("addr");
    wangge(&d.join("empty.duckdb"), &["key", "init"]);
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(d.join("empty.duckdb"))
        .args(["serve", "--no-demo", "--addr", "0.0.0.0:0"])
        .output()
        .expect("run wangge");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve") && err.contains("user add"),
        "{err}"
    );
}

#[test]
fn a_new_store_needs_a_key_and_the_key_is_never_overwritten() {
    let d = temp("nokey");
    let db = d.join("s.duckdb");
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .args(["--db"])
        .arg(&db)
        .args(["user", "list"])
        .output()
        .expect("run wangge");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key init"), "{err}");
    assert!(!db.exists(), "no store without a key");
    wangge(&db, &["key", "init"]);
    let again = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["key", "init"])
        .output()
        .expect("run wangge");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
}

/// `wangge key init`, `wangge import persons`, then: the store file and its
/// table hold no ID number or phone in the clear, exports mask as before,
/// another key is refused by name, and `wangge key rotate` re-encrypts.
#[test]
fn imported_id_numbers_and_phones_are_encrypted_in_the_file() {
    let d = temp("crypt");
    let db = d.join("town.duckdb");
    let demo = d.join("demo.duckdb");
    // A store with households: the community demo (its key created by demo).
    let out = wangge(&demo, &["demo", "--scale", "community", "--seed", "3"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("created key file"),
        "demo prints where its key is"
    );
    wangge(&db, &["key", "init"]);
    let csv = d.join("people.csv");
    std::fs::write(
        &csv,
        "id,name,national_id,phone,birth_year,sex,tags\n\
         900000001,王小明,11010519491231002X,13812345678,1949,male,\n\
         900000002,李小红,371482199003070015,05311234567,1990,female,\n",
    )
    .expect("csv");
    wangge(&db, &["import", "persons", csv.to_str().expect("utf-8")]);
    // Checkpointed by the closing process: everything is in the file.
    let bytes = std::fs::read(&db).expect("store file");
    for secret in [
        "11010519491231002X",
        "371482199003070015",
        "13812345678",
        "05311234567",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the store file"
        );
    }
    for number in [11010519491231002u64, 371482199003070015 / 10] {
        assert!(
            !bytes.windows(8).any(|w| w == number.to_le_bytes()),
            "ID digits as a number in the store file"
        );
    }
    // Through DuckDB itself: each person's pair is one 32-byte ciphertext.
    {
        let conn = duckdb::Connection::open(&db).expect("duckdb");
        let (types, lens, text): (String, String, String) = conn
            .query_row(
                "SELECT string_agg(DISTINCT typeof(secrets)),
                        string_agg(DISTINCT octet_length(secrets)::VARCHAR),
                        string_agg(secrets::VARCHAR || national_id_hash::VARCHAR)
                 FROM persons",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("query");
        assert_eq!((types.as_str(), lens.as_str()), ("BLOB", "32"));
        assert!(!text.contains("11010519491231002") && !text.contains("13812345678"));
    }
    // Exports mask as before; a reveal shows the numbers.
    let masked = wangge(&db, &["export", "persons", "--format", "csv"]);
    let masked = String::from_utf8_lossy(&masked.stdout);
    assert!(!masked.contains("11010519491231002X"), "{masked}");
    assert!(!masked.contains("13812345678"), "{masked}");
    let revealed = wangge(
        &db,
        &[
            "export",
            "persons",
            "--format",
            "csv",
            "--reveal-reason",
            "test",
        ],
    );
    let revealed = String::from_utf8_lossy(&revealed.stdout);
    assert!(
        revealed.contains("11010519491231002X") && revealed.contains("05311234567"),
        "{revealed}"
    );
    // Another key is refused by name.
    let other = d.join("other.key");
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["--key"])
        .arg(demo.with_extension("duckdb.key"))
        .args(["export", "persons"])
        .output()
        .expect("run wangge");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match store"), "{err}");
    // Rotation: the new key reads, the old one no longer does.
    let rotated = wangge(
        &db,
        &["key", "rotate", "--new-key", other.to_str().expect("utf-8")],
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("re-encrypted 2 people"));
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["export", "persons"])
        .output()
        .expect("run wangge");
    assert!(
        !out.status.success(),
        "the old key is refused after rotation"
    );
    let after = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["--key"])
        .arg(&other)
        .args([
            "export",
            "persons",
            "--format",
            "csv",
            "--reveal-reason",
            "test",
        ])
        .output()
        .expect("run wangge");
    assert!(String::from_utf8_lossy(&after.stdout).contains("11010519491231002X"));
}

#[test]
fn account_commands_name_the_running_server_that_holds_the_store() {
    let d = temp("held");
    let db = d.join("s.duckdb");
    wangge(&db, &["key", "init"]);
    wangge(
        &db,
        &["user", "add", "zhang", "--role", "leader", "--random"],
    );
    // Once it says it serves, the server holds the store (whatever the
    // machine's speed): then `wangge user` must say so and point to /admin.
    let Served {
        child: mut server, ..
    } = until_serving(
        Command::new(env!("CARGO_BIN_EXE_wangge"))
            .args(["--db"])
            .arg(&db)
            .args(["serve", "--no-demo", "--addr", "127.0.0.1:0"]),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["user", "disable", "zhang"])
        .output()
        .expect("run wangge");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "wangge user changed a store a server holds"
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        err.contains("running `wangge serve`") && err.contains("/admin"),
        "{err}"
    );
}

#[test]
fn the_audit_log_exports_and_a_changed_line_is_found_by_verify() {
    let d = temp("audit");
    let db = d.join("a.duckdb");
    wangge(&db, &["key", "init"]);
    for name in ["zhang", "li", "wang"] {
        wangge(&db, &["user", "add", name, "--role", "leader", "--random"]);
    }
    let ok = wangge(&db, &["audit", "--verify"]);
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        said.contains("audit log intact: 3 lines; last line 3"),
        "{said}"
    );
    let jsonl = wangge(&db, &["audit", "--format", "jsonl"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&jsonl.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["seq"], 2);
    assert!(
        lines[1]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("li")),
        "{lines:?}"
    );
    // Someone with the store file but not the key edits a line.
    {
        let conn = duckdb::Connection::open(&db).expect("duckdb");
        conn.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2", [])
            .expect("tamper");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .arg("--db")
        .arg(&db)
        .args(["audit", "--verify"])
        .output()
        .expect("run wangge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a changed log must fail the check");
    assert!(
        err.contains("BROKEN at line 2 of 3") && err.contains("changed"),
        "{err}"
    );
}

/// `GET path` from a server at `addr` as the authenticating proxy speaking
/// for a leader: status and body.
fn proxy_get(addr: &str, path: &str, secret: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wangge-Role: leader\r\n\
         X-Wangge-Proxy-Secret: {secret}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("response");
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

/// `wangge demo` makes a town whose events run up to now, and `wangge serve`
/// on it files demo events through the day (here every second): the list
/// gains events of source `demo`, each dispatched with a deadline.
#[test]
fn serve_on_a_demo_store_files_demo_events() {
    let d = temp("feed");
    let db = d.join("s.duckdb");
    wangge(&db, &["demo", "--scale", "community", "--seed", "7"]);
    let secret = d.join("proxy.secret");
    std::fs::write(&secret, "feed-test-proxy-secret-0123").expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("mode");
    let Served {
        child: mut server,
        addr,
        before,
        ..
    } = until_serving(
        Command::new(env!("CARGO_BIN_EXE_wangge"))
            .env_remove("WANGGE_KEY_FILE")
            .args(["--db"])
            .arg(&db)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--auth",
                "proxy",
                "--escalate-every-s",
                "0",
            ])
            .args(["--demo-feed-every", "1s", "--proxy-secret-file"])
            .arg(&secret),
    );
    let feed = before
        .iter()
        .any(|l| l.contains("demo store: filing a demo event every 1 s"));
    let secret = "feed-test-proxy-secret-0123";
    let (status, kpi) = proxy_get(&addr, "/api/v1/kpi", secret);
    let kpi: serde_json::Value = serde_json::from_str(&kpi).unwrap_or_default();
    // Wait (bounded) for the feed's first events.
    let mut found = serde_json::Value::Null;
    for _ in 0..600 {
        let (s, body) = proxy_get(&addr, "/api/v1/events?source=demo&limit=10", secret);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if s == 200 && v["total"].as_u64() >= Some(2) {
            found = v;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(feed, "the server did not announce the demo feed");
    assert_eq!(status, 200, "{kpi}");
    // The demo's newest events are recent: the screen's windows end now.
    assert_eq!(kpi["window_is_now"], true, "{kpi}");
    let features = found["features"].as_array().cloned().unwrap_or_default();
    assert!(
        features.len() >= 2,
        "no demo events filed within a minute: {found}"
    );
    for f in &features {
        let p = &f["properties"];
        assert_eq!(p["source"], "demo", "{p}");
        assert!(p["handler"].is_string() && p["deadline"].is_string(), "{p}");
    }
}

/// A `wangge serve --auth proxy` on an empty store with `extra` flags: the
/// child, its address, and a thread collecting its log.
fn serve_proxy(
    tag: &str,
    extra: &[&str],
) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
    let db = temp(tag).join("s.duckdb");
    wangge(&db, &["key", "init"]);
    serve_proxy_on(&db, extra)
}

/// [`serve_proxy`] on the store `db` (its proxy secret written beside it).
fn serve_proxy_on(
    db: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
    let secret = db.with_file_name("proxy.secret");
    std::fs::write(&secret, "hostile-test-proxy-secret-01").expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("mode");
    let served = until_serving(
        Command::new(env!("CARGO_BIN_EXE_wangge"))
            .env_remove("WANGGE_KEY_FILE")
            .env("RUST_LOG", "info")
            .args(["--db"])
            .arg(db)
            .args([
                "serve",
                "--no-demo",
                "--addr",
                "127.0.0.1:0",
                "--auth",
                "proxy",
            ])
            .args(["--escalate-every-s", "0", "--proxy-secret-file"])
            .arg(&secret)
            .args(extra),
    );
    (served.child, served.addr, served.rest)
}

/// Sends raw `request` bytes and reads the answer (until close or 5 s).
fn raw(addr: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(request).expect("request");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).to_string()
}

fn proxy_post(addr: &str, path: &str, body: &[u8]) -> String {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wangge-Role: leader\r\n\
         X-Wangge-Proxy-Secret: hostile-test-proxy-secret-01\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw(addr, &req)
}

/// Found by attacking the server: overflowing numbers in query strings are
/// 400s naming the parameter (never a 500, and no SQL in the log), and a
/// JSON body past the route's limit is a 413 naming the limit.
#[test]
fn overflowing_numbers_are_400_and_bodies_have_per_route_limits() {
    let (mut server, addr, log) = serve_proxy("hostile", &[]);
    let secret = "hostile-test-proxy-secret-01";
    for (path, code, names) in [
        (
            "/api/v1/events?offset=18446744073709551615",
            "bad_limit",
            "offset=18446744073709551615",
        ),
        ("/api/v1/persons?offset=1000000001", "bad_limit", "offset"),
        (
            "/api/v1/events?offset=18446744073709551616",
            "bad_query",
            "offset",
        ),
        (
            "/api/v1/events?limit=99999999999999999999",
            "bad_query",
            "limit",
        ),
        ("/api/v1/events?limit=0", "bad_limit", "limit"),
        (
            "/api/v1/events?from=99999999999999999999",
            "bad_time",
            "from",
        ),
        (
            "/tiles/events/999/0/0.mvt",
            "bad_path",
            "/tiles/events/999/0/0.mvt",
        ),
        ("/tiles/events/99/0/0.mvt", "bad_tile", "does not exist"),
        (
            "/tiles/events/22/4294967295/0.mvt",
            "bad_tile",
            "does not exist",
        ),
    ] {
        let (status, body) = proxy_get(&addr, path, secret);
        assert_eq!(status, 400, "{path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(v["error"]["code"], code, "{path}: {body}");
        let msg = v["error"]["message"].as_str().unwrap_or("");
        assert!(msg.contains(names), "{path}: {msg}");
    }
    let (status, body) = proxy_get(&addr, "/api/v1/events?offset=1000000000&limit=10", secret);
    assert_eq!(status, 200, "the largest offset is served: {body}");
    // Intake needs a few kB: 100 kB of title is refused before it is parsed.
    let big = format!(
        r#"{{"category":"01.01","title":"{}","lon":121.5,"lat":31.2}}"#,
        "x".repeat(100_000)
    );
    let answer = proxy_post(&addr, "/api/v1/events", big.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("body_too_large") && answer.contains("65536 bytes"),
        "{answer}"
    );
    let _ = server.kill();
    let _ = server.wait();
    let log = log.join().unwrap_or_default();
    for sql in ["SELECT", "OFFSET", "LIMIT "] {
        assert!(!log.contains(sql), "the log shows SQL ({sql}):\n{log}");
    }
}

/// Beyond its capacity the server answers 503 `overloaded` at once instead
/// of queueing: event streams past `--max-streams`, connections past
/// `--max-connections`; a half-sent request is closed after the idle
/// time-out, headers trickled a byte at a time after the header-read
/// time-out.
#[test]
fn connections_and_streams_are_capped_and_idle_connections_closed() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let (mut server, addr, _log) = serve_proxy(
        "capacity",
        &[
            "--max-connections",
            "5",
            "--max-streams",
            "2",
            "--idle-timeout-s",
            "20",
        ],
    );
    let stream_req = "GET /api/v1/stream/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\
        X-Wangge-Role: leader\r\nX-Wangge-Proxy-Secret: hostile-test-proxy-secret-01\r\n\r\n";
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(stream_req.as_bytes()).expect("request");
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).expect("stream answer");
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        streams.push(s);
    }
    let third = raw(
        &addr,
        stream_req
            .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert!(third.starts_with("HTTP/1.1 503"), "{third}");
    assert!(
        third.contains("overloaded") && third.contains("at most 2"),
        "{third}"
    );
    // 2 streams + 3 idle sockets fill the 5 places; the next is refused fast.
    // A connection the server is still closing (the refused third stream, a
    // probe) holds its place a moment longer, and an idle socket that arrives
    // meanwhile is itself refused (503, closed): such a socket is replaced, so
    // the test waits for the cap's state, never for a pause to be long enough.
    let held = |s: &std::net::TcpStream| {
        let mut b = [0u8; 64];
        s.set_nonblocking(true).expect("nonblocking");
        let r = (&*s).read(&mut b);
        s.set_nonblocking(false).expect("blocking");
        matches!(r, Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock)
    };
    let mut idle: Vec<std::net::TcpStream> = Vec::new();
    let (mut refused, mut took, mut rounds) = (String::new(), Duration::ZERO, 0);
    while rounds < 50 {
        rounds += 1;
        while idle.len() < 3 {
            idle.push(std::net::TcpStream::connect(&addr).expect("connect"));
        }
        std::thread::sleep(Duration::from_millis(200));
        idle.retain(|s| held(s));
        if idle.len() < 3 {
            continue;
        }
        let t = Instant::now();
        refused = raw(
            &addr,
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        );
        took = t.elapsed();
        if refused.starts_with("HTTP/1.1 503") {
            break;
        }
    }
    // A 200 while three idle sockets were held in every round is a cap that
    // does not hold.
    assert!(
        refused.starts_with("HTTP/1.1 503"),
        "after {rounds} rounds with 2 streams and 3 idle sockets open: {refused}"
    );
    assert!(refused.contains("\"overloaded\""), "{refused}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    drop(idle);
    drop(streams);
    let _ = server.kill();
    let _ = server.wait();

    // A request that stops half-way is closed after the idle time-out.
    let (mut server, addr, _log) = serve_proxy("idle", &["--idle-timeout-s", "1"]);
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.")
        .expect("half a request");
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "a half-sent request stayed open {:?}",
        t.elapsed()
    );
    let _ = server.kill();
    let _ = server.wait();

    // Headers trickled a byte every 200 ms never leave the connection idle,
    // so only the header-read time-out can close it: well before the 60 s
    // idle time-out, while the bytes still flow. The server still answers.
    let (mut server, addr, _log) = serve_proxy(
        "trickle",
        &["--idle-timeout-s", "60", "--header-timeout-s", "2"],
    );
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(90)))
        .expect("timeout");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("request line");
    let mut writer = s.try_clone().expect("clone");
    let t = Instant::now();
    let trickle = std::thread::spawn(move || {
        let mut sent = 0u32;
        while t.elapsed() < Duration::from_secs(55) && writer.write_all(b"a").is_ok() {
            sent += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
        sent
    });
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let closed_after = t.elapsed();
    let _ = s.shutdown(std::net::Shutdown::Both);
    let sent = trickle.join().expect("trickle");
    assert!(
        closed_after < Duration::from_secs(45),
        "headers trickled for {closed_after:?} ({sent} bytes) and the connection stayed open"
    );
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "half-sent headers were answered: {}",
        String::from_utf8_lossy(&buf)
    );
    let ok = raw(
        &addr,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let _ = server.kill();
    let _ = server.wait();
}

/// A `.csv.gz` that inflates ~1000 times (68 MB from ~70 kB) is refused by
/// `wangge import events` while it streams, naming the file and the cap, and
/// the store is unchanged.
#[test]
fn a_gzip_bomb_is_refused_while_streaming_and_nothing_is_stored() {
    use std::io::Write;
    let d = temp("gzbomb");
    let db = d.join("s.duckdb");
    wangge(&db, &["key", "init"]);
    let bomb = d.join("bomb.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(b"datetime,category,descript,dayofweek,pddistrict,resolution,address,lon,lat\n")
        .expect("gzip");
    for _ in 0..1_000_000 {
        enc.write_all(b"2003-01-12 23:50:00,FRAUD,X,Sunday,SOUTHERN,NONE,A ST,-122.4,37.78\n")
            .expect("gzip");
    }
    std::fs::write(&bomb, enc.finish().expect("gzip")).expect("write bomb");
    let map = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/maps/sf-incidents.toml"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .args(["--db"])
        .arg(&db)
        .args(["import", "events"])
        .arg(&bomb)
        .args([
            "--category-map",
            map,
            "--time-col",
            "datetime",
            "--lon-col",
            "lon",
        ])
        .args(["--lat-col", "lat", "--category-col", "category"])
        .output()
        .expect("run wangge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the bomb was imported: {err}");
    assert!(
        err.contains("bomb.csv.gz")
            && err.contains("decompression bomb")
            && err.contains("100 times"),
        "{err}"
    );
    let info = wangge(&db, &["info"]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(!text.contains("1000000"), "{text}");
}

/// `wangge info --json` gives counts as objects keyed by name.
#[test]
fn info_json_gives_counts_keyed_by_name() {
    let db = temp("json").join("s.duckdb");
    wangge(&db, &["key", "init"]);
    let out = wangge(&db, &["info", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in [
        "elements",
        "grids_by_kind",
        "unassigned",
        "events_per_month",
    ] {
        assert!(v[key].is_object(), "{key} is {}", v[key]);
    }
    assert_eq!(v["elements"]["persons"], 0, "{}", v["elements"]);
    assert_eq!(v["elements"]["buildings"], 0, "{}", v["elements"]);
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let db = temp("pipe").join("s.duckdb");
    wangge(&db, &["key", "init"]);
    for args in [&["info"][..], &["taxonomy"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wangge"))
            .env_remove("WANGGE_KEY_FILE")
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run wangge");
        // The reader goes away before the command writes anything.
        drop(child.stdout.take());
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("read stderr");
        let status = child.wait().expect("wait");
        assert!(!err.contains("panicked"), "wangge {args:?} panicked: {err}");
        assert!(
            !err.contains("Broken pipe"),
            "wangge {args:?} printed: {err}"
        );
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.success() || status.code() == Some(141) || status.signal() == Some(13),
            "wangge {args:?} ended with {status}"
        );
    }
}

#[test]
fn a_dry_run_prints_every_problem_and_the_error_the_first_twenty() {
    let d = temp("dry");
    let db = d.join("s.duckdb");
    wangge(&db, &["key", "init"]);
    // 30 households whose building does not exist, and one with a floor
    // that is not a number: 31 problems.
    let csv = d.join("households.csv");
    let mut text = String::from("id,building_id,floor,room\n");
    for i in 1..=30 {
        text.push_str(&format!("{i},{},3,30{i}\n", 900_000 + i));
    }
    text.push_str("31,900031,三楼,301\n");
    std::fs::write(&csv, text).expect("csv");
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .arg("--db")
        .arg(&db)
        .args(["import", "households"])
        .arg(&csv)
        .arg("--dry-run")
        .output()
        .expect("run wangge");
    assert!(
        !out.status.success(),
        "an invalid file fails, dry run or not"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 31, "every problem on stdout: {stdout}");
    for i in 1..=30 {
        assert!(
            stdout.contains(&format!("\"{}\"", 900_000 + i)),
            "building {} missing from: {stdout}",
            900_000 + i
        );
    }
    assert!(stdout.contains("三楼"), "{stdout}");
    assert!(
        stderr.contains("… and "),
        "the error itself is cut: {stderr}"
    );
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    assert_eq!(
        stderr.matches("nothing imported").count(),
        1,
        "the error is printed once: {stderr}"
    );
}

/// stdout of `wangge --db DB ARGS…` as the one JSON object it must hold.
fn json_of(db: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = wangge(db, args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "wangge {args:?} --json printed more than one JSON object ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn test_data(name: &str) -> String {
    format!("{}/../tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `import`, `regrid` and `report` with `--json` print one JSON object on
/// stdout (docs/import.md "Summaries as JSON"): the import's figures, the
/// re-gridding report equal to the file it wrote, and each report equal to
/// the HTTP API's answer over the same store.
#[test]
fn json_summaries_of_import_regrid_and_report() {
    let d = temp("summaries");
    let db = d.join("s.duckdb");
    wangge(&db, &["demo", "--scale", "community", "--seed", "3"]);

    // A foreign incident export with bad rows.
    let (file, map) = (
        test_data("hotline-export-gbk.csv"),
        test_data("hotline-categories.toml"),
    );
    let rejects = d.join("rejects.csv");
    let rejects_s = rejects.display().to_string();
    let imp = json_of(
        &db,
        &[
            "import",
            "events",
            &file,
            "--time-col",
            "受理时间",
            "--lon-col",
            "经度",
            "--lat-col",
            "纬度",
            "--category-col",
            "诉求类别",
            "--address-col",
            "事发地址",
            "--category-map",
            &map,
            "--skip-bad-rows",
            "--rejects",
            &rejects_s,
            "--json",
        ],
    );
    assert_eq!(imp["kind"], "events", "{imp}");
    assert_eq!(imp["dry_run"], false, "{imp}");
    assert_eq!(imp["elements"], 14, "{imp}");
    assert_eq!(imp["rows"].as_u64().map(|n| n >= 14), Some(true), "{imp}");
    let inc = &imp["incidents"];
    assert_eq!(inc["rows"], 20, "{imp}");
    assert_eq!(inc["events"], 14, "{imp}");
    assert_eq!(inc["skipped_rows"], 6, "{imp}");
    assert_eq!(inc["encoding"], "GBK", "{imp}");
    assert_eq!(inc["problems"]["address_only"], 3, "{imp}");
    assert_eq!(inc["problems"]["no_location"], 1, "{imp}");
    assert_eq!(inc["rejects_file"], rejects_s.as_str(), "{imp}");
    for key in ["numbered_ids", "default_units", "grid_version"] {
        assert!(imp[key].is_null(), "{key}: {imp}");
    }
    assert!(imp["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{imp}");
    // The shape, with what differs between runs set aside.
    let mut shape = imp.clone();
    shape["seconds"] = 0.into();
    shape["file"] = "hotline-export-gbk.csv".into();
    shape["incidents"]["rejects_file"] = "rejects.csv".into();
    insta::assert_json_snapshot!("import_events_json_summary", shape);

    // A dry run of vendor buildings numbered and estimated: nothing stored.
    let before = json_of(&db, &["info", "--json"]);
    let dry = json_of(
        &db,
        &[
            "import",
            "buildings",
            &test_data("vendor-buildings.geojson"),
            "--ids",
            "auto:900000",
            "--estimate-households",
            "--map",
            "use=用途",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(dry["rows"], 0, "{dry}");
    let n = dry["elements"].as_u64().unwrap_or(0);
    let ids = &dry["numbered_ids"];
    assert_eq!(ids[0], 900000, "{dry}");
    assert!(n > 0, "{dry}");
    assert!(dry["default_units"]["units"].as_u64() > Some(0), "{dry}");
    let after = json_of(&db, &["info", "--json"]);
    assert_eq!(
        before["elements"], after["elements"],
        "a dry run stored something"
    );

    // Re-gridding: the summary's report is the report file.
    let (prop, rep) = (d.join("proposal.geojson"), d.join("report.json"));
    let rg = json_of(
        &db,
        &[
            "regrid",
            "--level",
            "micro",
            "--min",
            "30",
            "--max",
            "80",
            "--out",
            &prop.display().to_string(),
            "--report",
            &rep.display().to_string(),
            "--json",
        ],
    );
    let file_report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&rep).expect("report file")).expect("report JSON");
    assert_eq!(rg["report"], file_report);
    let fc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&prop).expect("proposal")).expect("GeoJSON");
    assert_eq!(
        rg["grids"].as_u64(),
        fc["features"].as_array().map(|f| f.len() as u64),
        "{rg}"
    );
    assert!(
        rg["units"].as_u64() > Some(0) && rg["adopted"].is_null(),
        "{rg}"
    );

    // Each report is the API's answer over the same store.
    let window = ["--from", "2020-01-01", "--to", "2030-01-01"];
    let cli = [
        (
            json_of(
                &db,
                &[&["report", "indicators", "--json"][..], &window[..]].concat(),
            ),
            "/api/v1/indicators?from=2020-01-01&to=2030-01-01",
        ),
        (
            json_of(&db, &["report", "hotspots", "--json"]),
            "/api/v1/hotspots",
        ),
        (
            json_of(
                &db,
                &["report", "coverage", "--service", "clinic", "--json"],
            ),
            "/api/v1/coverage?service=clinic",
        ),
    ];
    let (mut server, addr, _log) = serve_proxy_on(&db, &[]);
    let api: Vec<(u16, String)> = cli
        .iter()
        .map(|(_, path)| proxy_get(&addr, path, "hostile-test-proxy-secret-01"))
        .collect();
    let _ = server.kill();
    let _ = server.wait();
    for ((cli, path), (status, body)) in cli.iter().zip(api) {
        assert_eq!(status, 200, "{path}: {body}");
        let api: serde_json::Value = serde_json::from_str(&body).expect("API JSON");
        assert_eq!(cli, &api, "wangge report --json differs from GET {path}");
    }
    assert!(cli[0].0["rows"].as_array().is_some_and(|r| !r.is_empty()));
}

/// Runs `wangge --db DB ARGS…` expecting it to fail; answers its stderr.
fn wangge_fails(db: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .args(["--db"])
        .arg(db)
        .args(args)
        .output()
        .expect("run wangge");
    assert!(!out.status.success(), "wangge {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn geoparquet_export_carries_geo_metadata_and_every_row() {
    let d = temp("geoparquet");
    let db = d.join("demo.duckdb");
    wangge(&db, &["demo", "--scale", "community", "--seed", "3"]);
    let json = wangge(&db, &["export", "buildings"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("GeoJSON");
    let features = json["features"].as_array().expect("features");
    assert!(!features.is_empty());
    let out = d.join("buildings.parquet");
    let out_s = out.to_str().expect("utf-8");
    wangge(
        &db,
        &[
            "export",
            "buildings",
            "--format",
            "geoparquet",
            "--out",
            out_s,
        ],
    );
    // DuckDB reads it back: rows, the `geo` key, WKB polygons.
    // Read into tables of a scratch database (DuckDB 1.5.6 answered an
    // internal "without active transaction" error to `min()` over the
    // geometry read straight from the file).
    let conn = duckdb::Connection::open(d.join("check.duckdb")).expect("duckdb");
    let load = |sql: String| conn.execute_batch(&sql).expect("read the file");
    load(format!(
        "CREATE OR REPLACE TABLE b AS SELECT * FROM read_parquet('{out_s}')"
    ));
    load(format!(
        "CREATE OR REPLACE TABLE kv AS SELECT decode(key) AS k, decode(value) AS v \
         FROM parquet_kv_metadata('{out_s}')"
    ));
    let (rows, ids, ty): (i64, i64, String) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT id), any_value(typeof(geometry)) FROM b",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("read_parquet");
    assert_eq!(rows as usize, features.len());
    assert_eq!(ids, rows);
    // DuckDB's reader itself takes the file for GeoParquet: it reads the
    // WKB column as its GEOMETRY type in the CRS of the metadata.
    assert_eq!(ty, "GEOMETRY('OGC:CRS84')");
    let geo: String = conn
        .query_row("SELECT v FROM kv WHERE k = 'geo'", [], |r| r.get(0))
        .expect("geo metadata");
    let geo: serde_json::Value = serde_json::from_str(&geo).expect("geo is JSON");
    assert_eq!(geo["version"], "1.0.0");
    assert_eq!(geo["primary_column"], "geometry");
    let col = &geo["columns"]["geometry"];
    assert_eq!(col["encoding"], "WKB");
    assert_eq!(col["geometry_types"], serde_json::json!(["Polygon"]));
    assert!(col.get("crs").is_none(), "CRS84 is the default: {col}");
    let bbox: Vec<f64> = serde_json::from_value(col["bbox"].clone()).expect("bbox");
    let xs = features
        .iter()
        .flat_map(|f| {
            f["geometry"]["coordinates"][0]
                .as_array()
                .expect("ring")
                .clone()
        })
        .map(|c| c[0].as_f64().expect("x"));
    let min_x = xs.fold(f64::MAX, f64::min);
    assert!((bbox[0] - min_x).abs() < 1e-9, "{bbox:?} vs {min_x}");
    // Numbers are typed columns.
    let height_type: String = conn
        .query_row("SELECT any_value(typeof(levels)) FROM b", [], |r| r.get(0))
        .expect("levels");
    assert_eq!(height_type, "BIGINT");

    // Refusals leave an existing file whole: no geometry, unknown format,
    // a folder that does not exist; nothing half-written beside it.
    let before = std::fs::read(&out).expect("parquet");
    let e = wangge_fails(
        &db,
        &[
            "export",
            "persons",
            "--format",
            "geoparquet",
            "--out",
            out_s,
        ],
    );
    assert!(e.contains("no geometry"), "{e}");
    let e = wangge_fails(
        &db,
        &["export", "buildings", "--format", "shp", "--out", out_s],
    );
    assert!(e.contains("geoparquet or xlsx"), "{e}");
    let e = wangge_fails(
        &db,
        &["export", "cats", "--format", "geoparquet", "--out", out_s],
    );
    assert!(e.contains("cats"), "{e}");
    let e = wangge_fails(
        &db,
        &[
            "export",
            "buildings",
            "--format",
            "geoparquet",
            "--out",
            "/nonexistent-dir/b.parquet",
        ],
    );
    assert!(e.contains("nonexistent-dir"), "{e}");
    let e = wangge_fails(&db, &["export", "buildings", "--format", "xlsx"]);
    assert!(e.contains("--out"), "{e}");
    assert_eq!(std::fs::read(&out).expect("parquet"), before);
    // Replaced whole by a new export.
    wangge(
        &db,
        &["export", "roads", "--format", "geoparquet", "--out", out_s],
    );
    load(format!(
        "CREATE OR REPLACE TABLE r AS SELECT * FROM read_parquet('{out_s}')"
    ));
    let n: i64 = conn
        .query_row("SELECT count(*) FROM r WHERE id > 0", [], |r| r.get(0))
        .expect("roads");
    assert!(n > 0);
    let names: Vec<String> = std::fs::read_dir(&d)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");

    // XLSX of people: a workbook, masked, audited.
    let x = d.join("persons.xlsx");
    wangge(
        &db,
        &[
            "export",
            "persons",
            "--format",
            "xlsx",
            "--out",
            x.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(&std::fs::read(&x).expect("xlsx")[..2], b"PK");
    let audit = wangge(&db, &["audit", "--action", "export"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("buildings as geoparquet (Mask)"), "{audit}");
    assert!(audit.contains("persons as xlsx (Mask)"), "{audit}");
    let _ = std::fs::remove_dir_all(&d);
}

/// The ID and a point of each place of a CSV export: its `lon`, `lat`, or
/// for an area the first vertex of its `geometry` column.
fn place_points(csv: &[u8]) -> Vec<(u64, f64, f64)> {
    let mut r = csv::Reader::from_reader(csv);
    let header = r.headers().expect("header").clone();
    let col = |n: &str| header.iter().position(|h| h == n).expect(n);
    let (id, lon, lat, geometry) = (col("id"), col("lon"), col("lat"), col("geometry"));
    r.records()
        .map(|rec| rec.expect("CSV record"))
        .map(|rec| {
            let (x, y) = if rec[lon].is_empty() {
                let g: serde_json::Value = serde_json::from_str(&rec[geometry]).expect("geometry");
                let c = &g["coordinates"][0][0];
                (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"))
            } else {
                (
                    rec[lon].parse().expect("lon"),
                    rec[lat].parse().expect("lat"),
                )
            };
            (rec[id].parse().expect("id"), x, y)
        })
        .collect()
}

#[test]
fn exports_in_gcj02_and_bd09_shift_coordinates_and_import_back() {
    use geo_core::crs::Crs;
    let d = temp("export-crs");
    let db = d.join("demo.duckdb");
    wangge(&db, &["demo", "--scale", "community", "--seed", "3"]);
    let wgs = place_points(&wangge(&db, &["export", "places", "--format", "csv"]).stdout);
    assert!(wgs.len() > 5);
    // CSV and XLSX cells, and GeoJSON coordinates, are converted; the
    // published forward transforms are the reference.
    for crs in [Crs::Gcj02, Crs::Bd09] {
        let out = wangge(
            &db,
            &["export", "places", "--format", "csv", "--crs", crs.code()],
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(crs.urn()),
            "the CLI says which CRS it wrote"
        );
        let shifted = place_points(&out.stdout);
        assert_eq!(shifted.len(), wgs.len());
        for ((id, lon, lat), (sid, slon, slat)) in wgs.iter().zip(&shifted) {
            assert_eq!(id, sid);
            let want = crs.from_wgs84(geo_types::coord! { x: *lon, y: *lat });
            assert!(
                (want.x - slon).abs() < 2e-7 && (want.y - slat).abs() < 2e-7,
                "{crs} of place {id}: {slon},{slat} ≠ {want:?}"
            );
            // Shifted by hundreds of metres in China, not rounding.
            assert!(
                (lon - slon).abs() + (lat - slat).abs() > 1e-3,
                "{crs} moved place {id}"
            );
        }
    }
    // A GeoJSON file names its CRS, and `wangge import` reads it back into
    // WGS84 (within centimetres: 7 decimals and an iterative inverse).
    let gj = d.join("places-gcj02.geojson");
    let gj_s = gj.to_str().expect("utf-8");
    wangge(&db, &["export", "places", "--crs", "gcj02", "--out", gj_s]);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&gj).expect("file")).expect("GeoJSON");
    assert_eq!(
        doc["crs"]["properties"]["name"],
        "urn:x-wangge:def:crs:gcj02"
    );
    let fresh = d.join("fresh.duckdb");
    wangge(&fresh, &["key", "init"]);
    let imported = wangge(&fresh, &["import", "places", gj_s]);
    assert!(
        String::from_utf8_lossy(&imported.stderr).contains("gcj02 longitude/latitude converted"),
        "the import says it converted"
    );
    let back = place_points(&wangge(&fresh, &["export", "places", "--format", "csv"]).stdout);
    assert_eq!(back.len(), wgs.len());
    for ((id, lon, lat), (bid, blon, blat)) in wgs.iter().zip(&back) {
        assert_eq!(id, bid);
        assert!(
            (lon - blon).abs() < 3e-7 && (lat - blat).abs() < 3e-7,
            "place {id} came back at {blon},{blat}, not {lon},{lat}"
        );
    }
    // A CRS option contradicting the file's member is refused, naming both.
    let e = wangge_fails(
        &fresh,
        &["import", "places", gj_s, "--crs", "bd09", "--dry-run"],
    );
    assert!(e.contains("gcj02") && e.contains("bd09"), "{e}");
    // GeoParquet stays CRS84; an unknown CRS names the choices.
    let pq = d.join("p.parquet");
    let e = wangge_fails(
        &db,
        &[
            "export",
            "places",
            "--format",
            "geoparquet",
            "--crs",
            "gcj02",
            "--out",
            pq.to_str().expect("utf-8"),
        ],
    );
    assert!(e.contains("GeoParquet is written in WGS84"), "{e}");
    assert!(!pq.exists());
    let e = wangge_fails(&db, &["export", "places", "--crs", "mars"]);
    assert!(e.contains("mars") && e.contains("gcj02"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

/// Past `--max-waiting-writes` the server refuses a write at once (503
/// `overloaded`, `Retry-After`) instead of queueing it until the request
/// time-out, and a refused write is never stored while an accepted one
/// always is. Bursts of intakes arrive together (each connection sends all
/// but the last byte, then all send it at once) on a server that lets one
/// write wait; a burst is repeated until one is refused, so the test waits
/// for the state, never for a pause to be long enough.
#[test]
fn writes_past_the_waiting_limit_are_refused_at_once_and_never_stored() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Barrier};
    let d = temp("waiting");
    let db = d.join("s.duckdb");
    wangge(&db, &["demo", "--scale", "community", "--seed", "7"]);
    let (mut server, addr, _log) =
        serve_proxy_on(&db, &["--no-demo-feed", "--max-waiting-writes", "1"]);
    // A place in the town: the middle of its tiles' bounds.
    let (status, tj) = proxy_get(&addr, "/tiles/all.json", "hostile-test-proxy-secret-01");
    assert_eq!(status, 200, "{tj}");
    let tj: serde_json::Value = serde_json::from_str(&tj).expect("tilejson");
    let b: Vec<f64> = (0..4).filter_map(|i| tj["bounds"][i].as_f64()).collect();
    assert_eq!(b.len(), 4, "{tj}");
    let (lon, lat) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    let mut rounds = 0;
    while refused.is_empty() && rounds < 30 {
        rounds += 1;
        let n = 40;
        let barrier = Arc::new(Barrier::new(n));
        let burst: Vec<_> = (0..n)
            .map(|k| {
                let (addr, barrier) = (addr.clone(), barrier.clone());
                let title = format!("burst {rounds}-{k}");
                std::thread::spawn(move || {
                    let body = format!(
                        r#"{{"category":"09.01","title":"{title}","lon":{lon},"lat":{lat}}}"#
                    );
                    let mut req = format!(
                        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wangge-Role: leader\r\n\
                         X-Wangge-Proxy-Secret: hostile-test-proxy-secret-01\r\nConnection: close\r\n\
                         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes();
                    let last = req.pop().expect("a request");
                    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
                    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))
                        .expect("timeout");
                    s.write_all(&req).expect("request");
                    barrier.wait();
                    s.write_all(&[last]).expect("last byte");
                    let mut answer = String::new();
                    let _ = s.read_to_string(&mut answer);
                    (title, answer)
                })
            })
            .collect();
        for t in burst {
            let (title, answer) = t.join().expect("client");
            if answer.starts_with("HTTP/1.1 201") {
                accepted.push(title);
            } else {
                assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
                let head = answer.to_ascii_lowercase();
                assert!(head.contains("\r\nretry-after: 1\r\n"), "{answer}");
                assert!(
                    answer.contains("\"overloaded\"") && answer.contains("writes waiting"),
                    "{answer}"
                );
                refused.push(title);
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "{rounds} bursts of 40 intakes with one write allowed to wait: none refused"
    );
    // Every accepted intake is stored, no refused one is.
    let mut stored = std::collections::HashSet::new();
    let mut offset = 0;
    loop {
        let (status, body) = proxy_get(
            &addr,
            &format!("/api/v1/events?limit=10000&offset={offset}"),
            "hostile-test-proxy-secret-01",
        );
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let page = v["features"].as_array().cloned().unwrap_or_default();
        for f in &page {
            if let Some(t) = f["properties"]["title"].as_str() {
                stored.insert(t.to_string());
            }
        }
        offset += page.len();
        if page.is_empty() || offset as u64 >= v["total"].as_u64().unwrap_or(0) {
            break;
        }
    }
    for t in &accepted {
        assert!(stored.contains(t), "accepted intake {t:?} is not stored");
    }
    for t in &refused {
        assert!(!stored.contains(t), "refused intake {t:?} was stored");
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// DuckDB's memory limit and threads from the configuration reach DuckDB
/// (`WANGGE_DUCKDB_MEMORY_MIB`, `--duckdb-threads`): the server reads the
/// settings back from the database and prints them.
#[test]
fn duckdb_memory_and_threads_come_from_the_command_line() {
    let d = temp("duckdb-env");
    let db = d.join("s.duckdb");
    wangge(&db, &["key", "init"]);
    let Served {
        child: mut server,
        before: seen,
        ..
    } = until_serving(
        Command::new(env!("CARGO_BIN_EXE_wangge"))
            .env_remove("WANGGE_KEY_FILE")
            .env("WANGGE_DUCKDB_MEMORY_MIB", "300")
            .args(["--db"])
            .arg(&db)
            .args(["serve", "--no-demo", "--addr", "127.0.0.1:0"])
            .args(["--duckdb-threads", "1"]),
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        seen.iter()
            .any(|l| l == "duckdb: memory_limit 300 MiB, threads 1"),
        "{seen:?}"
    );
}
