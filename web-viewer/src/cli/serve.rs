//! `wangge serve`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use geo_core::store::Store;

use crate::config::ServerConfig;
use crate::state::AppState;

/// Arguments of `wangge serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8080", env = "WANGGE_ADDR")]
    pub addr: SocketAddr,
    /// Do not generate the demo town when the store is empty.
    #[arg(long)]
    pub no_demo: bool,
    /// Origins allowed to embed `/embed` in an iframe (repeatable).
    #[arg(long = "allow-origin")]
    pub allow_origin: Vec<String>,
    /// Heatmap cells with fewer events are hidden from roles without personal-data access.
    #[arg(long, default_value_t = 3)]
    pub k_anonymity: u32,
    /// Request time-out in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_s: u64,
    /// Event-loop rules (TOML: dispatch, time limits, merging); the built-in
    /// `analytics/config/dispatch.toml` when absent.
    #[arg(long, value_name = "FILE", env = "WANGGE_DISPATCH_RULES")]
    pub dispatch_rules: Option<PathBuf>,
    /// Seconds between background escalations of red and overdue events
    /// (0: only on `POST /api/v1/escalate`).
    #[arg(long, default_value_t = 60)]
    pub escalate_every_s: u64,
}

/// Runs `wangge serve`.
pub fn run(db: &Path, a: ServeArgs) -> Result<()> {
    let mut store = Store::open(db).with_context(|| format!("opening store {}", db.display()))?;
    if store.is_empty()? && !a.no_demo {
        eprintln!(
            "store {} is empty: generating the town demo (wangge demo --scale town)",
            db.display()
        );
        let r = super::demo::generate_into(&mut store, wangge_data::demo::Scale::Town, 2026, true)?;
        eprintln!("demo town written: {} rows", r.rows);
    }
    let mut config = ServerConfig::new(db.to_path_buf());
    config.addr = a.addr;
    config.allowed_origins = a.allow_origin;
    config.k_anonymity = a.k_anonymity;
    config.request_timeout = Duration::from_secs(a.timeout_s);
    config.dispatch_rules = a.dispatch_rules;
    config.escalate_every =
        (a.escalate_every_s > 0).then(|| Duration::from_secs(a.escalate_every_s));
    let state = AppState::new(store, config.clone())
        .context("loading the town from the store and the event rules")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("binding {}", config.addr))?;
        eprintln!(
            "wangge serving on http://{} (viewer /, big screen /screen, embed /embed)",
            listener.local_addr()?
        );
        if let Some(every) = config.escalate_every {
            tokio::spawn(crate::routes::events::escalation_loop(state.clone(), every));
        }
        axum::serve(listener, crate::app(state))
            .with_graceful_shutdown(shutdown())
            .await
            .context("server")
    })
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("shutting down");
}
