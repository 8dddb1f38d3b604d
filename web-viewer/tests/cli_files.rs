//! The `wangge` binary: files it creates are its owner's only, and it will
//! not serve beyond loopback with nobody able to log in.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn temp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wangge-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn the_store_is_created_owner_only() {
    let d = temp("mode");
    let db = d.join("s.duckdb");
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
fn account_commands_name_the_running_server_that_holds_the_store() {
    let d = temp("held");
    let db = d.join("s.duckdb");
    let add = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["user", "add", "zhang", "--role", "leader", "--random"])
        .output()
        .expect("run wangge");
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let mut server = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["--db"])
        .arg(&db)
        .args(["serve", "--no-demo", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start wangge serve");
    // Wait (without a deadline on the machine's speed) until the server
    // holds the store: then `wangge user` must say so and point to /admin.
    let mut err = String::new();
    for _ in 0..600 {
        let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
            .args(["--db"])
            .arg(&db)
            .args(["user", "disable", "zhang"])
            .output()
            .expect("run wangge");
        err = String::from_utf8_lossy(&out.stderr).to_string();
        if !out.status.success() && err.contains("running `wangge serve`") {
            break;
        }
        assert!(
            !out.status.success() || server.try_wait().ok().flatten().is_none(),
            "the server stopped"
        );
        if out.status.success() {
            // Ran before the server opened the store: undo and retry.
            let _ = Command::new(env!("CARGO_BIN_EXE_wangge"))
                .args(["--db"])
                .arg(&db)
                .args(["user", "enable", "zhang"])
                .output();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        err.contains("running `wangge serve`") && err.contains("/admin"),
        "{err}"
    );
}
