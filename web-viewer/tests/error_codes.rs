//! Every error code the server can answer is documented in docs/api.md: the
//! codes are the variants of `web_viewer::error::ErrorCode` (every
//! `AppError` and the event loop's 409s take one), so a new code cannot
//! ship undocumented.

use std::collections::HashSet;
use std::path::Path;

use web_viewer::error::ErrorCode;

#[test]
fn every_error_code_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../docs/api.md")).expect("docs/api.md");
    assert!(
        ErrorCode::ALL.len() > 40,
        "only {} codes",
        ErrorCode::ALL.len()
    );
    let missing: Vec<&str> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !doc.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes missing from docs/api.md: {missing:?}"
    );
}

#[test]
fn error_codes_are_distinct_snake_case() {
    let mut seen = HashSet::new();
    for c in ErrorCode::ALL {
        let s = c.as_str();
        assert!(
            !s.is_empty() && s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
            "{s:?} is not snake_case"
        );
        assert!(seen.insert(s), "{s:?} is declared twice");
        assert_eq!(c.to_string(), s);
    }
}
