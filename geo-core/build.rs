//! Links the store to DuckDB's own prebuilt shared library on Linux x86-64, so
//! a first build takes minutes instead of the 30–60 minutes that compiling
//! DuckDB's bundled C++ takes on a 2-core machine.
//!
//! With the `store` feature and without `bundled`, this script:
//! 1. fetches `libduckdb.so` from the npm registry's
//!    `@duckdb/node-bindings-linux-x64` package (DuckDB's own build; the exact
//!    version below matches the `duckdb` crate pinned in the workspace; npm
//!    checks the tarball's integrity), or takes it from the tarball named by
//!    `WANGGE_DUCKDB_TGZ` for machines with no registry;
//! 2. checks the package's version;
//! 3. puts the library in the cargo profile directory (beside `wangge`) and
//!    its `deps/` (beside test binaries), and tells the linker to look there.
//!
//! The `wangge` binary carries an `$ORIGIN` run path (web-viewer's build
//! script), so it finds the library beside itself without `LD_LIBRARY_PATH`.
//! Other platforms build with `--features geo-core/bundled`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The npm package version holding the DuckDB release the `duckdb` crate
/// `=1.10506.0` binds (DuckDB 1.5.6).
const NPM_VERSION: &str = "1.5.6-r.1";
const NPM_PACKAGE: &str = "@duckdb/node-bindings-linux-x64";
const LIB: &str = "libduckdb.so";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WANGGE_DUCKDB_TGZ");
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let store = std::env::var_os("CARGO_FEATURE_STORE").is_some();
    let bundled = std::env::var_os("CARGO_FEATURE_BUNDLED").is_some();
    if !store || bundled || std::env::var_os("DUCKDB_LIB_DIR").is_some() {
        return;
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" {
        panic!(
            "no prebuilt DuckDB for {target}: build with `--features geo-core/bundled` \
             (compiles DuckDB's C++) or set DUCKDB_LIB_DIR to a libduckdb {NPM_VERSION} folder"
        );
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR = <target>/<profile>/build/geo-core-<hash>/out
    let profile = out
        .ancestors()
        .nth(3)
        .expect("OUT_DIR lies three levels under the profile directory")
        .to_path_buf();
    let cache = profile
        .parent()
        .unwrap_or(&profile)
        .join("duckdb")
        .join(NPM_VERSION);
    let lib = cache.join(LIB);
    if !lib.exists() {
        fetch(&cache);
    }
    for dir in [profile.clone(), profile.join("deps")] {
        std::fs::create_dir_all(&dir).expect("create the profile directory");
        let dest = dir.join(LIB);
        let same = std::fs::metadata(&dest)
            .ok()
            .zip(std::fs::metadata(&lib).ok())
            .is_some_and(|(a, b)| a.len() == b.len());
        if !same {
            let tmp = dir.join(format!("{LIB}.tmp"));
            std::fs::copy(&lib, &tmp).expect("copy libduckdb.so into the profile directory");
            std::fs::rename(&tmp, &dest).expect("move libduckdb.so into place");
        }
    }
    println!("cargo:rustc-link-search=native={}", profile.display());
    println!("cargo:rustc-env=WANGGE_DUCKDB_PREBUILT={NPM_VERSION}");
}

/// Fetches and unpacks the npm package into `cache`, checking its version.
fn fetch(cache: &Path) {
    let work = cache.with_extension("partial");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("create the DuckDB download folder");
    let tgz = match std::env::var_os("WANGGE_DUCKDB_TGZ") {
        Some(p) => PathBuf::from(p),
        None => {
            let spec = format!("{NPM_PACKAGE}@{NPM_VERSION}");
            let status = Command::new("npm")
                .args(["pack", "--silent", "--pack-destination"])
                .arg(&work)
                .arg(&spec)
                .status();
            match status {
                Ok(s) if s.success() => {}
                Ok(s) => panic!(
                    "`npm pack {spec}` failed ({s}): the store links DuckDB's prebuilt library \
                     from the npm registry; without it, set WANGGE_DUCKDB_TGZ to the package's \
                     tarball or build with `--features geo-core/bundled`"
                ),
                Err(e) => panic!(
                    "cannot run `npm` ({e}): install Node.js and npm (Debian: apt-get install \
                     nodejs npm), or build with `--features geo-core/bundled`"
                ),
            }
            std::fs::read_dir(&work)
                .expect("read the download folder")
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "tgz"))
                .expect("npm pack wrote a .tgz")
        }
    };
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&work)
        .args(["package/package.json", &format!("package/{LIB}")])
        .status()
        .expect("run tar");
    assert!(status.success(), "unpacking {} failed", tgz.display());
    let manifest = std::fs::read_to_string(work.join("package/package.json"))
        .expect("the package has a package.json");
    let wanted = format!("\"version\": \"{NPM_VERSION}\"");
    assert!(
        manifest.contains(&wanted) && manifest.contains(NPM_PACKAGE),
        "{} is not {NPM_PACKAGE} {NPM_VERSION}",
        tgz.display()
    );
    let _ = std::fs::remove_dir_all(cache);
    std::fs::rename(work.join("package"), cache).expect("move the DuckDB library into place");
    let _ = std::fs::remove_dir_all(&work);
}
