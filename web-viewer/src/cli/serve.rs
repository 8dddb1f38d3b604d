//! `wangge serve`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::auth::{AuthConfig, AuthMode};
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
    /// On a store `wangge demo` made: how often the demo feed files a new
    /// demo event (`30s`, `5m`, `1h`; a bare number is minutes).
    #[arg(long, default_value = "5m", value_parser = parse_every)]
    pub demo_feed_every: Duration,
    /// No demo feed, even on a demo store.
    #[arg(long)]
    pub no_demo_feed: bool,
    /// How callers sign in: `login` (accounts, sessions, kiosk tokens) or
    /// `proxy` (an authenticating proxy sets X-Wangge-Role and proves itself
    /// with the secret of --proxy-secret-file).
    #[arg(long, default_value = "login", value_parser = ["login", "proxy"], env = "WANGGE_AUTH")]
    pub auth: String,
    /// File holding the proxy's shared secret (`--auth proxy`; ≥ 16 characters).
    #[arg(long, value_name = "FILE", env = "WANGGE_PROXY_SECRET_FILE")]
    pub proxy_secret_file: Option<PathBuf>,
    /// Host names the server answers to (repeatable); default: loopback
    /// names when listening on loopback.
    #[arg(long = "allow-host")]
    pub allow_host: Vec<String>,
    /// Proxies whose X-Forwarded-For names the caller (repeatable).
    #[arg(long = "trusted-proxy")]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// Mark session cookies Secure (the site is served over HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Minutes a session may stay unused.
    #[arg(long, default_value_t = 30)]
    pub session_idle_min: u64,
    /// Hours a session lasts at most.
    #[arg(long, default_value_t = 12)]
    pub session_max_h: u64,
    /// Accept bearer JWTs of an OIDC identity provider, configured by this
    /// TOML file (issuer, audience, JWKS, claim mapping: docs/auth-oidc.md).
    #[arg(long, value_name = "FILE", env = "WANGGE_OIDC")]
    pub oidc: Option<PathBuf>,
    /// Consecutive failed log-ins that lock an account for 15 minutes.
    #[arg(long, default_value_t = 5)]
    pub lock_after: u32,
    /// Largest JSON body of the POST routes other than photo uploads, bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub json_body_limit: usize,
    /// Largest file `POST /api/v1/imports` (`wangge import --server`)
    /// accepts, MiB; a larger one is answered 413.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub import_limit_mib: u64,
    /// Most open connections; more are answered 503 at once.
    #[arg(long, default_value_t = 2048, env = "WANGGE_MAX_CONNECTIONS")]
    pub max_connections: usize,
    /// Most open event streams (`/api/v1/stream/events`); more are answered 503.
    #[arg(long, default_value_t = 1024, env = "WANGGE_MAX_STREAMS")]
    pub max_streams: usize,
    /// Read connections beside the write connection (analytics, counts and
    /// history read on them, so they never hold up a write), 1–16.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub read_connections: u16,
    /// Most writes waiting for the one write connection; one more is
    /// answered 503 `overloaded` (with Retry-After) at once instead of
    /// queueing until the request time-out.
    #[arg(long, default_value_t = 256, env = "WANGGE_MAX_WAITING_WRITES")]
    pub max_waiting_writes: usize,
    /// Most reads waiting for a read connection; one more is answered 503
    /// `overloaded` at once.
    #[arg(long, default_value_t = 256, env = "WANGGE_MAX_WAITING_READS")]
    pub max_waiting_reads: usize,
    /// DuckDB's memory limit in MiB (its buffer pool and query state, for
    /// all connections); past it DuckDB spills to a temporary file or fails
    /// the query, and the server's memory stays bounded.
    #[arg(long, default_value_t = 2048, env = "WANGGE_DUCKDB_MEMORY_MIB",
          value_parser = clap::value_parser!(u64).range(64..))]
    pub duckdb_memory_mib: u64,
    /// DuckDB's worker threads (for all connections).
    #[arg(long, default_value_t = 2, env = "WANGGE_DUCKDB_THREADS",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub duckdb_threads: u16,
    /// Seconds a connection with no request being answered may send and
    /// receive nothing (a half-sent request, an idle keep-alive) before it
    /// is closed; a slow answer (a large import) is not cut off by it.
    #[arg(long, default_value_t = 45)]
    pub idle_timeout_s: u64,
    /// Seconds a connection may wait for a request's headers: a client
    /// trickling them a byte at a time is cut off, an idle keep-alive
    /// between requests closed.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_s: u64,
    /// Seconds a re-gridding job may run; then it stops and is `failed`
    /// with a reason naming the budget.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub regrid_budget_s: u64,
    /// Most MiB of tiles the tile cache holds.
    #[arg(long, default_value_t = 128)]
    pub tile_cache_mib: usize,
    /// Open311 `jurisdiction_id` this server answers to (a request naming
    /// another is refused); without it, a request must leave it out.
    #[arg(long, value_name = "ID", env = "WANGGE_OPEN311_JURISDICTION")]
    pub open311_jurisdiction: Option<String>,
    /// Open311: a foreign platform's service codes mapped onto our
    /// categories (TOML, the form of `wangge import incidents --map`:
    /// `default = "09.01"`, `[map] "CODE" = "NN.MM"`).
    #[arg(long, value_name = "FILE", env = "WANGGE_OPEN311_CODES")]
    pub open311_codes: Option<PathBuf>,
}

/// A period of `--demo-feed-every`: `30s`, `5m`, `1h`, or minutes.
fn parse_every(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "m"),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a period such as 30s, 5m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{s:?}: unit must be s, m or h")),
    };
    if secs == 0 {
        return Err(
            "the period must be longer than zero (use --no-demo-feed to turn it off)".into(),
        );
    }
    Ok(Duration::from_secs(secs))
}

/// Runs `wangge serve`.
pub fn run(db: &Path, a: ServeArgs) -> Result<()> {
    let mut store = if a.no_demo {
        super::key::open_store(db)?
    } else {
        super::key::open_or_create_store(db)?
    };
    if store.is_empty()? && !a.no_demo {
        eprintln!(
            "store {} is empty: generating the town demo (wangge demo --scale town)",
            db.display()
        );
        let r = super::demo::generate_into(
            &mut store,
            wangge_data::demo::Scale::Town,
            2026,
            chrono::Utc::now(),
            true,
        )?;
        eprintln!("demo town written: {} rows", r.rows);
        super::demo::print_demo_accounts(&super::demo::demo_accounts(&mut store)?);
    }
    let mode = match a.auth.as_str() {
        "proxy" => {
            let file = a.proxy_secret_file.as_ref().context(
                "--auth proxy needs --proxy-secret-file FILE (the proxy's shared secret)",
            )?;
            let secret = std::fs::read_to_string(file)
                .with_context(|| format!("reading the proxy secret {}", file.display()))?
                .trim()
                .to_string();
            if secret.chars().count() < 16 {
                bail!(
                    "the proxy secret in {} is shorter than 16 characters",
                    file.display()
                );
            }
            AuthMode::Proxy { secret }
        }
        _ => AuthMode::Login,
    };
    let accounts = store.active_account_count()?;
    if mode == AuthMode::Login && accounts == 0 {
        if !a.addr.ip().is_loopback() {
            bail!(
                "refusing to serve on {} with no account to log in with: create one first \
                 (wangge --db {} user add NAME --role leader --password-stdin), or use --auth proxy",
                a.addr,
                db.display()
            );
        }
        eprintln!(
            "no accounts yet: create the first with\n  wangge --db {} user add NAME --role leader --password-stdin",
            db.display()
        );
    }
    let mut config = ServerConfig::new(db.to_path_buf());
    config.addr = a.addr;
    config.allowed_origins = a.allow_origin;
    config.k_anonymity = a.k_anonymity;
    config.request_timeout = Duration::from_secs(a.timeout_s);
    config.json_body_limit = a.json_body_limit.max(1024);
    config.import_limit = usize::try_from(a.import_limit_mib << 20).unwrap_or(usize::MAX);
    config.max_connections = a.max_connections.max(1);
    config.max_streams = a.max_streams;
    config.read_connections = usize::from(a.read_connections);
    config.idle_timeout = Duration::from_secs(a.idle_timeout_s.max(1));
    config.header_timeout = Duration::from_secs(a.header_timeout_s);
    config.max_waiting_writes = a.max_waiting_writes;
    config.max_waiting_reads = a.max_waiting_reads;
    config.duckdb_memory_mib = Some(a.duckdb_memory_mib);
    config.duckdb_threads = Some(a.duckdb_threads);
    config.tile_cache_bytes = a.tile_cache_mib.saturating_mul(1 << 20);
    config.regrid_budget = Duration::from_secs(a.regrid_budget_s);
    config.dispatch_rules = a.dispatch_rules;
    config.escalate_every =
        (a.escalate_every_s > 0).then(|| Duration::from_secs(a.escalate_every_s));
    config.open311 = crate::open311::Open311Config {
        jurisdiction_id: a.open311_jurisdiction.map(|j| j.trim().to_string()),
        codes: match &a.open311_codes {
            Some(f) => wangge_data::incidents::CategoryMap::load(f)
                .with_context(|| format!("--open311-codes {}", f.display()))?,
            None => wangge_data::incidents::CategoryMap::default(),
        },
    };
    config.auth = AuthConfig {
        mode,
        idle: Duration::from_secs(a.session_idle_min.max(1) * 60),
        absolute: Duration::from_secs(a.session_max_h.max(1) * 3600),
        secure_cookies: a.secure_cookies,
        lock_after: a.lock_after,
        allowed_hosts: a.allow_host,
        trusted_proxies: a.trusted_proxy,
        jwt: match &a.oidc {
            Some(f) => Some(std::sync::Arc::new(
                crate::auth_jwt::JwtVerifier::new(crate::auth_jwt::JwtConfig::from_file(f)?)
                    .with_context(|| format!("OIDC configuration {}", f.display()))?,
            )),
            None => None,
        },
        ..AuthConfig::default()
    };
    let demo = crate::service::demo_feed::demo_mark(&store)?;
    let feed = demo
        .filter(|_| !a.no_demo_feed)
        .map(|m| (m, a.demo_feed_every));
    let state = AppState::new(store, config.clone())
        .context("loading the town from the store and the event rules")?;
    let (memory, threads) = state.0.duckdb_limits;
    eprintln!(
        "duckdb: memory_limit {} MiB, threads {threads}",
        memory.div_ceil(1 << 20)
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("binding {}", config.addr))?;
        let listener = crate::listener::CappedListener::new(
            listener,
            config.max_connections,
            config.idle_timeout,
        );
        if let Some((mark, every)) = feed {
            eprintln!(
                "demo store: filing a demo event every {} s (--no-demo-feed to stop)",
                every.as_secs()
            );
            tokio::spawn(crate::service::demo_feed::demo_feed_loop(
                state.clone(),
                mark,
                every,
            ));
        }
        eprintln!(
            "wangge serving on http://{} (viewer /, big screen /screen, embed /embed)",
            axum::serve::Listener::local_addr(&listener)?
        );
        if let Some(every) = config.escalate_every {
            tokio::spawn(crate::service::event_loop::escalation_loop(
                state.clone(),
                every,
            ));
        }
        let header_timeout = config.header_timeout;
        crate::listener::serve(listener, crate::app(state), header_timeout, shutdown()).await;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_periods_parse_with_units() {
        assert_eq!(parse_every("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_every("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_every("5"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_every("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_every("0s").is_err());
        assert!(parse_every("5d").unwrap_err().contains("unit"));
        assert!(parse_every("soon").is_err());
    }
}
