//! What the `wangge` command prints for scripts: `info --json` gives
//! objects keyed by name, and a command whose output pipe closes ends
//! quietly (no panic message), as `wangge info | head` expects.

use std::io::Read;
use std::process::{Command, Stdio};

fn store(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wangge-out-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    let db = d.join("s.duckdb");
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .arg("--db")
        .arg(&db)
        .args(["key", "init"])
        .output()
        .expect("run wangge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

#[test]
fn info_json_gives_counts_keyed_by_name() {
    let db = store("json");
    let out = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .env_remove("WANGGE_KEY_FILE")
        .arg("--db")
        .arg(&db)
        .args(["info", "--json"])
        .output()
        .expect("run wangge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let db = store("pipe");
    for args in [&["info"][..], &["taxonomy"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wangge"))
            .env_remove("WANGGE_KEY_FILE")
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run wangge");
        // The reader goes away before the command writes anything.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
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
