//! Shared fixtures: a demo community in a temporary DuckDB file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use geo_core::store::Store;
use wangge_data::demo::Scale;
use web_viewer::cli::demo::generate_into;

static N: AtomicU32 = AtomicU32::new(0);

/// A fresh path for a DuckDB file under the system temp dir.
pub fn temp_db(tag: &str) -> PathBuf {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("wangge-e2e-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("test.duckdb")
}

/// A store holding the community-scale demo (seed 7).
pub fn demo_store(tag: &str) -> (Store, PathBuf) {
    let path = temp_db(tag);
    let mut store = Store::open(&path).expect("open store");
    generate_into(&mut store, Scale::Community, 7, false).expect("generate demo");
    (store, path)
}
