//! Server configuration from the command line and environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How `wangge serve` runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// DuckDB file.
    pub db: PathBuf,
    /// Origins allowed to frame `/embed` (CSP frame-ancestors) and to post
    /// messages to it. Empty: same origin only.
    pub allowed_origins: Vec<String>,
    /// Heatmap cells with fewer events are suppressed for roles without
    /// personal-data access.
    pub k_anonymity: u32,
    /// Request time-out.
    pub request_timeout: Duration,
    /// Largest request body accepted (photo uploads).
    pub body_limit: usize,
    /// Largest JSON body of the other POST routes (intake needs a few kB).
    pub json_body_limit: usize,
    /// Largest file `POST /api/v1/imports` accepts, bytes.
    pub import_limit: usize,
    /// Most open connections; one more is answered 503 `overloaded` at
    /// once and closed.
    pub max_connections: usize,
    /// Most open event streams (`/api/v1/stream/events`); one more is
    /// answered 503 `overloaded`.
    pub max_streams: usize,
    /// Read connections: analytics, counts and history read the store on
    /// these, beside the write connection, so a long read never holds up a
    /// write; at most this many run at once, the next waits for one.
    pub read_connections: usize,
    /// Most writes waiting for the write connection (beyond the one
    /// running); one more is answered 503 `overloaded` at once.
    pub max_waiting_writes: usize,
    /// Most reads waiting for a read connection (beyond the
    /// `read_connections` running); one more is answered 503 `overloaded`.
    pub max_waiting_reads: usize,
    /// DuckDB's memory limit in MiB (`SET memory_limit`, for the whole
    /// database: every connection); `None`: DuckDB's own, 80 % of the
    /// machine's memory.
    pub duckdb_memory_mib: Option<u64>,
    /// DuckDB's worker threads (`SET threads`, for the whole database);
    /// `None`: DuckDB's own, one per core.
    pub duckdb_threads: Option<u16>,
    /// A connection that neither sends nor receives a byte for this long
    /// with no request being answered (a half-sent request, an idle
    /// keep-alive) is closed; a slow answer — an import of millions of rows
    /// — is not idle. Keep it longer than the event streams' 15 s ping.
    pub idle_timeout: Duration,
    /// A connection waiting longer than this for a request's headers is
    /// closed: a client trickling headers a byte at a time (which keeps the
    /// idle time-out from ever firing), and an idle keep-alive between
    /// requests (browsers open a new connection).
    pub header_timeout: Duration,
    /// Most bytes of gzip tiles the tile cache holds.
    pub tile_cache_bytes: usize,
    /// Dispatch rules file (TOML); the built-in defaults when absent.
    pub dispatch_rules: Option<PathBuf>,
    /// How often `wangge serve` escalates red and overdue events in the
    /// background; `None`: only on `POST /api/v1/escalate`.
    pub escalate_every: Option<Duration>,
    /// Identity: log-in or proxy, session expiry, lock-out, hosts.
    pub auth: crate::auth::AuthConfig,
    /// Time a re-gridding job may run before it is stopped and `failed`
    /// (`wangge serve --regrid-budget-s`, default 300 s).
    pub regrid_budget: Duration,
    /// Open311 GeoReport v2: jurisdiction and foreign service codes.
    pub open311: crate::open311::Open311Config,
}

impl ServerConfig {
    /// Defaults for a store file.
    pub fn new(db: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db,
            allowed_origins: Vec::new(),
            k_anonymity: 3,
            request_timeout: Duration::from_secs(30),
            body_limit: 16 * 1024 * 1024,
            json_body_limit: 64 * 1024,
            import_limit: 256 << 20,
            max_connections: 2048,
            max_streams: 1024,
            read_connections: 2,
            max_waiting_writes: 256,
            max_waiting_reads: 256,
            duckdb_memory_mib: None,
            duckdb_threads: None,
            idle_timeout: Duration::from_secs(45),
            header_timeout: Duration::from_secs(15),
            tile_cache_bytes: 128 * 1024 * 1024,
            dispatch_rules: None,
            escalate_every: None,
            auth: crate::auth::AuthConfig::default(),
            regrid_budget: Duration::from_secs(300),
            open311: crate::open311::Open311Config::default(),
        }
    }
}
