//! Every error code the server can answer is documented in docs/api.md: the
//! codes are read from the source (the string given to `AppError::bad`,
//! `AppError::Status`, `AppError::Conflict` and the event loop's `conflict`),
//! so a new code cannot ship undocumented.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The first string literal after each `marker` in `src`, when it is a code.
fn codes_after(src: &str, marker: &str, out: &mut Vec<String>) {
    for (i, _) in src.match_indices(marker) {
        let rest = &src[i + marker.len()..];
        let Some(q) = rest.find('"') else { continue };
        // Only literals in this call's first two arguments.
        if rest[..q].contains(')') || rest[..q].matches(',').count() > 1 {
            continue;
        }
        let lit = &rest[q + 1..];
        let Some(end) = lit.find('"') else { continue };
        let code = &lit[..end];
        if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            out.push(code.to_string());
        }
    }
}

#[test]
fn every_error_code_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../docs/api.md")).expect("docs/api.md");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut codes = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).expect("source");
        for m in [
            "AppError::bad(",
            "AppError::Status(",
            "AppError::Conflict(",
            " conflict(",
        ] {
            codes_after(&src, m, &mut codes);
        }
    }
    codes.sort();
    codes.dedup();
    assert!(
        codes.len() > 30,
        "found only {} codes: {codes:?}",
        codes.len()
    );
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !doc.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes missing from docs/api.md: {missing:?}"
    );
}
