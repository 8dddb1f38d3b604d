//! Embeds the viewer's front end into the `wangge` binary: our pages from
//! `assets/dist/` and MapLibre GL JS from `assets/node_modules/maplibre-gl`
//! (installed here with `npm ci` when missing), so the binary serves
//! everything itself and works on an intranet with no internet.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let assets = manifest.join("assets");
    let maplibre = assets.join("node_modules/maplibre-gl/dist");
    // The store links DuckDB's prebuilt libduckdb.so, which geo-core's build
    // script puts beside the binary: look for it there at run time.
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,$ORIGIN");
    println!("cargo:rerun-if-changed=assets/dist");
    println!("cargo:rerun-if-changed=assets/package-lock.json");
    println!("cargo:rerun-if-changed=assets/node_modules/maplibre-gl/package.json");

    if !maplibre.join("maplibre-gl.js").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&assets)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!(
                "`npm ci` in {} failed ({s}); the viewer needs maplibre-gl from the npm registry",
                assets.display()
            ),
            Err(e) => panic!(
                "cannot run `npm` ({e}): install Node.js and npm (Debian: apt-get install nodejs npm) \
                 so the build can fetch maplibre-gl for the viewer"
            ),
        }
    }

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    collect(&assets.join("dist"), &assets.join("dist"), &mut files);
    for f in ["maplibre-gl.js", "maplibre-gl.css", "maplibre-gl.js.map"] {
        let p = maplibre.join(f);
        if p.exists() {
            files.push((f.to_string(), p));
        }
    }
    files.sort();
    let mut out = String::from("/// Embedded front-end files: (path under /assets/, bytes).\npub static FILES: &[(&str, &[u8])] = &[\n");
    // Paths relative to the crate, joined to `CARGO_MANIFEST_DIR` when the
    // crate compiles: a target dir reused by a clone at another path (CI
    // caches it) then reads this clone's files, not the old clone's.
    for (name, path) in &files {
        let rel = path
            .strip_prefix(&manifest)
            .expect("assets live under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        let _ = writeln!(
            out,
            "    ({name:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{rel}\"))),"
        );
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    std::fs::write(&dest, out).expect("write assets.rs");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
        }
    }
}
