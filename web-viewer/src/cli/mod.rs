//! Subcommands of `wangge`. Each returns `anyhow::Result` (the application
//! edge); libraries below return typed errors.

pub mod demo;
pub mod export;
pub mod import;
pub mod info;
pub mod key;
pub mod regrid;
pub mod report;
pub mod serve;
pub mod tiles;
pub mod user;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg:<12} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
