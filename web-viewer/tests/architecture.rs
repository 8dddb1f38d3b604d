//! ARCHITECTURE.md is the code map: every module of geo-core's and
//! web-viewer's source trees that this test walks must be named in it
//! (as `name`), so a new module cannot land without its line.

use std::path::Path;

fn modules(dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display());
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if ["lib", "main", "mod", "tests"].contains(&name.as_str()) {
            continue;
        }
        if p.is_dir() || p.extension().is_some_and(|x| x == "rs") {
            out.push(format!("{}: {name}", dir.display()));
        }
    }
}

#[test]
fn every_module_is_on_the_code_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut found = Vec::new();
    for d in [
        "geo-core/src",
        "geo-core/src/store",
        "web-viewer/src",
        "web-viewer/src/auth",
        "web-viewer/src/cli",
        "web-viewer/src/routes",
        "web-viewer/src/service",
    ] {
        modules(&root.join(d), &mut found);
    }
    assert!(found.len() > 40, "walked only {} modules", found.len());
    let missing: Vec<&String> = found
        .iter()
        .filter(|m| {
            let n = m.rsplit(": ").next().unwrap_or_default();
            !(map.contains(&format!("`{n}`"))
                || map.contains(&format!("`{n}/`"))
                || map.contains(&format!("`{n}.rs`")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "modules missing from ARCHITECTURE.md: {missing:?}"
    );
}

/// Path and text of every route file.
fn route_sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("src/routes").flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "rs") {
            let src = std::fs::read_to_string(&p).expect("route source");
            out.push((p.display().to_string(), src));
        }
    }
    assert!(out.len() >= 5, "walked only {} route files", out.len());
    out
}

/// Route files that mention any of `needles`.
fn routes_mentioning(needles: &[&str]) -> Vec<String> {
    route_sources()
        .into_iter()
        // A file's own test module (`use super::*`) is the file itself.
        .map(|(p, src)| {
            let code = src
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_string();
            (p, code)
        })
        .filter(|(_, src)| needles.iter().any(|n| src.contains(n)))
        .map(|(p, _)| p)
        .collect()
}

/// Routes call the service layer, never the CLI: logic both need lives in
/// `service/` (or `query`, `present`), so a route cannot grow a dependency on
/// a subcommand.
#[test]
fn routes_never_import_the_cli() {
    let offenders = routes_mentioning(&["crate::cli", "web_viewer::cli"]);
    assert!(
        offenders.is_empty(),
        "routes importing crate::cli: {offenders:?}"
    );
}

/// The route files form no circle: api, events and tiles share what they
/// need through lower modules (`query`, `present`, `service`, `state`), not
/// through each other.
#[test]
fn route_files_do_not_import_each_other() {
    let offenders = routes_mentioning(&["crate::routes::", "super::"]);
    assert!(
        offenders.is_empty(),
        "route files importing other routes: {offenders:?}"
    );
}
