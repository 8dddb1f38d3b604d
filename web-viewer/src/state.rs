//! Shared server state: a cloneable handle of `Arc`s.

use std::sync::{Arc, Mutex, RwLock};

use analytics::events::{EventRules, RulesError};
use geo_core::store::{Store, StoreError};
use tokio::sync::broadcast;

use crate::clock::{Clock, SystemClock};
use crate::config::ServerConfig;
use crate::error::AppError;
use crate::view::TownView;

pub use crate::tile_cache::{CachedTile, TileCache};

/// What every handler shares.
pub struct Inner {
    /// The store (DuckDB connections are not `Sync`; writes are serialised).
    pub store: Mutex<Store>,
    /// Read connections on the same database ([`AppState::with_reader`]).
    pub readers: Readers,
    /// In-memory view.
    pub view: RwLock<TownView>,
    /// Event stream for `/api/v1/stream/events`.
    pub events_tx: broadcast::Sender<String>,
    /// Configuration.
    pub config: ServerConfig,
    /// Tile cache keyed on the parsed tile and filter, capped by bytes.
    pub tiles: Mutex<TileCache>,
    /// Places of the open event streams (`config.max_streams`).
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Rules of the event loop (dispatch, time limits, merging, reopen
    /// window), from `config.dispatch_rules` or the built-in defaults.
    pub rules: EventRules,
    /// Sessions, lock-outs, kiosk tokens and the receipt key.
    pub auth: AuthState,
    /// Where handlers and the escalation loop read the time.
    pub clock: Arc<dyn Clock>,
    /// Places of the writes running or waiting for the write connection
    /// (`config.max_waiting_writes` + 1): a write finding none is refused.
    pub writes: Arc<tokio::sync::Semaphore>,
    /// DuckDB's memory limit (bytes) and threads as read back from the
    /// database once `config` set them.
    pub duckdb_limits: (u64, u64),
    /// The re-gridding jobs running in this process (progress, cancel
    /// flags); the jobs themselves are in the store.
    pub regrid_jobs: crate::service::regrid_jobs::LiveJobs,
    /// Intakes waiting to be written together (group commit).
    pub intakes: crate::service::intake_queue::IntakeQueue,
    /// Calls of [`AppState::with_store`] ended so far: the store generation
    /// of [`crate::read_cache`].
    pub store_generation: std::sync::atomic::AtomicU64,
    /// The store reads of event details, kept until the next write.
    pub event_extras: crate::read_cache::ReadCache<
        geo_core::ids::EventId,
        crate::service::event_loop::EventExtras,
    >,
    /// The households of a building as a scope reads them (building
    /// details), kept until the next write.
    pub building_households: crate::read_cache::ReadCache<
        (geo_core::ids::BuildingId, geo_core::store::Scope),
        Vec<geo_core::store::Dwelling>,
    >,
}

/// Connections that only read, beside the write connection: DuckDB keeps
/// each reader on the last committed state while the writer goes on, so a
/// long read (coverage loads the whole town) never holds up an intake. At
/// most as many reads run at once as there are connections; the next one
/// waits for a connection, never for a write.
///
/// At most `max_waiting` reads wait beyond those running: one more is
/// refused at once (503 `overloaded`) rather than queued until the request
/// time-out.
pub struct Readers {
    idle: Mutex<Vec<Store>>,
    places: Arc<tokio::sync::Semaphore>,
    /// Places of the reads running or waiting.
    queue: Arc<tokio::sync::Semaphore>,
    max_waiting: usize,
}

impl Readers {
    /// `n` (at least 1) connections cloned from `store`, with at most
    /// `max_waiting` reads waiting for one.
    pub fn new(store: &Store, n: usize, max_waiting: usize) -> Result<Self, StoreError> {
        let idle = (0..n.max(1))
            .map(|_| store.try_clone())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            places: Arc::new(tokio::sync::Semaphore::new(idle.len())),
            queue: Arc::new(tokio::sync::Semaphore::new(
                idle.len().saturating_add(max_waiting),
            )),
            max_waiting,
            idle: Mutex::new(idle),
        })
    }
}

/// The 503 `overloaded` of a full queue (the answer carries `Retry-After`).
pub(crate) fn overloaded(what: &str, max_waiting: usize) -> AppError {
    AppError::Status(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        crate::error::ErrorCode::Overloaded,
        format!("too many {what} waiting for the store (at most {max_waiting}); try again shortly"),
    )
}

/// A read connection lent to one read: back in the pool when the read ends,
/// even by a panic, and only then is its place given up.
struct Lent {
    conn: Option<Store>,
    state: AppState,
    _place: tokio::sync::OwnedSemaphorePermit,
    _queued: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.state.0.readers.idle.lock()) {
            idle.push(conn);
        }
    }
}

/// Identity state of the server.
#[derive(Debug)]
pub struct AuthState {
    /// Live log-in sessions.
    pub sessions: crate::auth::session::Sessions,
    /// Failed log-in counts.
    pub limiter: crate::auth::limiter::Limiter,
    /// Kiosk tokens.
    pub kiosk: crate::auth::guard::KioskTokens,
    /// Key of the receipt HMAC (a server secret kept in the store).
    pub receipt_key: Vec<u8>,
}

/// Why the server state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The dispatch rules file is missing or invalid (the error names it).
    #[error(transparent)]
    Rules(#[from] RulesError),
}

/// Cloneable state handle.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl AppState {
    /// Builds the state from an opened store (loads the view) and the event
    /// rules named by `config.dispatch_rules` (built-in when `None`), on the
    /// system clock.
    pub fn new(store: Store, config: ServerConfig) -> Result<AppState, StateError> {
        AppState::with_clock(store, config, Arc::new(SystemClock))
    }

    /// [`AppState::new`] on another clock (a test's [`crate::clock::SettableClock`]).
    pub fn with_clock(
        store: Store,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, StateError> {
        let rules = match &config.dispatch_rules {
            Some(path) => EventRules::load(path)?,
            None => EventRules::builtin()?,
        };
        store.set_limits(config.duckdb_memory_mib, config.duckdb_threads)?;
        let duckdb_limits = store.limits()?;
        let view = TownView::load(&store, clock.now())?;
        let (events_tx, _) = broadcast::channel(1024);
        let mut store = store;
        // No job runs before the state exists: one stored as running was
        // cut by a stop or a crash.
        let interrupted = store.fail_running_regrid_jobs(
            crate::service::regrid_jobs::INTERRUPTED,
            clock.now().timestamp(),
        )?;
        if interrupted > 0 {
            tracing::warn!(
                jobs = interrupted,
                "re-gridding jobs cut by the last stop marked failed"
            );
        }
        let receipt_key = store
            .secret_or_insert("receipt_hmac", crate::auth::secret::random_hex)?
            .into_bytes();
        let tokens = store
            .tokens()?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let a = &config.auth;
        let auth = AuthState {
            sessions: crate::auth::session::Sessions::new(a.idle, a.absolute),
            limiter: crate::auth::limiter::Limiter::new(
                a.lock_after,
                a.lock_for,
                a.address_failures,
            ),
            kiosk: crate::auth::guard::KioskTokens(RwLock::new(tokens)),
            receipt_key,
        };
        let tiles = Mutex::new(TileCache::new(config.tile_cache_bytes));
        let streams = Arc::new(tokio::sync::Semaphore::new(config.max_streams));
        let readers = Readers::new(&store, config.read_connections, config.max_waiting_reads)?;
        let writes = Arc::new(tokio::sync::Semaphore::new(
            config.max_waiting_writes.saturating_add(1),
        ));
        Ok(AppState(Arc::new(Inner {
            readers,
            store: Mutex::new(store),
            view: RwLock::new(view),
            events_tx,
            config,
            tiles,
            streams,
            rules,
            auth,
            clock,
            writes,
            duckdb_limits,
            regrid_jobs: Default::default(),
            intakes: Default::default(),
            store_generation: Default::default(),
            event_extras: crate::read_cache::ReadCache::new(4096),
            building_households: crate::read_cache::ReadCache::new(4096),
        })))
    }

    /// The current time of the state's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.clock.now()
    }

    /// Drops the cached tiles a write changed.
    pub fn invalidate_tiles(&self, inval: &tiles::Invalidation) -> Result<(), AppError> {
        let mut cache = self
            .0
            .tiles
            .lock()
            .map_err(|_| AppError::Internal("tile cache poisoned".into()))?;
        cache.retain(|key| match tiles::Layer::parse(key.layer) {
            Ok(l) => !inval.affects(l, key.z, key.x, key.y),
            Err(_) => false,
        });
        Ok(())
    }

    /// After a write that changes the town as a whole (an adopted
    /// re-gridding, an import): rebuilds the view from `store` and drops
    /// every cached tile. Call it inside [`AppState::with_store`], under the
    /// store lock, so no other write slips in between. `Err` says what could
    /// not be rebuilt (the write itself is stored).
    pub fn reload_view(&self, store: &Store) -> Result<(), String> {
        let view = TownView::load(store, self.now()).map_err(|e| e.to_string())?;
        *self
            .view_mut()
            .map_err(|_| "view lock poisoned".to_string())? = view;
        self.0
            .tiles
            .lock()
            .map_err(|_| "tile cache poisoned".to_string())?
            .clear();
        Ok(())
    }

    /// Runs `f` on the store (the write connection) on a blocking thread.
    /// When `config.max_waiting_writes` calls wait for it already, `f` is
    /// not run and the answer is 503 `overloaded` at once.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        // The place is held until `f` returns, even when the request is
        // cancelled meanwhile (the blocking task runs on).
        let place = self
            .0
            .writes
            .clone()
            .try_acquire_owned()
            .map_err(|_| overloaded("writes", self.0.config.max_waiting_writes))?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let _place = place;
            let mut guard =
                me.0.store
                    .lock()
                    .map_err(|_| AppError::Internal("store lock poisoned".into()))?;
            let out = f(&mut guard);
            // Counted before the caller answers: what was read before this
            // write is not served after it (`read_cache`).
            me.0.store_generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            out
        })
        .await
        .map_err(|e| AppError::Internal(format!("store task failed: {e}")))?
    }

    /// Runs the read `f` on a read connection on a blocking thread: it
    /// sees the last committed state and neither waits for writes nor makes
    /// them wait (see [`Readers`]).
    pub async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let readers = &self.0.readers;
        let queued = readers
            .queue
            .clone()
            .try_acquire_owned()
            .map_err(|_| overloaded("reads", readers.max_waiting))?;
        let place = readers
            .places
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("read connections closed".into()))?;
        let conn = readers
            .idle
            .lock()
            .map_err(|_| AppError::Internal("read connections poisoned".into()))?
            .pop()
            .ok_or_else(|| AppError::Internal("no read connection left".into()))?;
        let lent = Lent {
            conn: Some(conn),
            state: self.clone(),
            _place: place,
            _queued: queued,
        };
        tokio::task::spawn_blocking(move || match &lent.conn {
            Some(conn) => f(conn),
            None => Err(AppError::Internal("no read connection left".into())),
        })
        .await
        .map_err(|e| AppError::Internal(format!("read task failed: {e}")))?
    }

    /// What `read` gives on a read connection, kept in `cache` under `key`
    /// until the next write ends ([`crate::read_cache`]): the generation is
    /// taken before the read, so a write ending meanwhile makes the entry
    /// look older than it is, never newer.
    pub async fn read_cached<K, V>(
        &self,
        cache: &crate::read_cache::ReadCache<K, V>,
        key: K,
        read: impl FnOnce(&Store) -> Result<V, AppError> + Send + 'static,
    ) -> Result<Arc<V>, AppError>
    where
        K: Eq + std::hash::Hash + Send,
        V: Send + Sync + 'static,
    {
        let generation = self.store_generation();
        if let Some(v) = cache.get(&key, generation) {
            return Ok(v);
        }
        let v = Arc::new(self.with_reader(read).await?);
        cache.put(key, generation, v.clone());
        Ok(v)
    }

    /// The store generation: how many calls of [`Self::with_store`] have
    /// ended (see [`crate::read_cache`]).
    pub fn store_generation(&self) -> u64 {
        self.0
            .store_generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Reads the view.
    pub fn view(&self) -> Result<std::sync::RwLockReadGuard<'_, TownView>, AppError> {
        self.0
            .view
            .read()
            .map_err(|_| AppError::Internal("view lock poisoned".into()))
    }

    /// Writes the view.
    pub fn view_mut(&self) -> Result<std::sync::RwLockWriteGuard<'_, TownView>, AppError> {
        self.0
            .view
            .write()
            .map_err(|_| AppError::Internal("view lock poisoned".into()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A write that holds the write connection until the sender is used
    /// (or dropped); its task gives the audit line's result. Returns once
    /// the write runs (holds the connection), so a write started after it
    /// waits behind it.
    pub(crate) async fn hold_the_write_connection(
        st: &AppState,
        what: &'static str,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<(), AppError>>,
    ) {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let st = st.clone();
        let task = tokio::spawn(async move {
            st.with_store(move |s| {
                let _ = started.send(());
                let _ = wait.recv();
                Ok(s.audit("test", "queued", what)?)
            })
            .await
        });
        running.await.expect("the held write started");
        (release, task)
    }

    /// Waits until `sem` has no place left: the tasks meant to hold them
    /// have taken them. By the clock, however busy the machine (a count of
    /// yields ran out under load); the bound only turns a broken queue into
    /// a failure instead of a hang.
    pub(crate) async fn until_full(sem: &tokio::sync::Semaphore) {
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_secs(120) {
            if sem.available_permits() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!("the places were never all taken in 120 s");
    }

    fn assert_overloaded<T>(r: Result<T, AppError>, what: &str) {
        match r {
            Err(AppError::Status(s, crate::error::ErrorCode::Overloaded, m)) => {
                assert_eq!(s, axum::http::StatusCode::SERVICE_UNAVAILABLE);
                assert!(m.contains(what) && m.contains("at most 1"), "{m}");
            }
            Err(e) => panic!("expected overloaded, got {e:?}"),
            Ok(_) => panic!("expected overloaded, the call ran"),
        }
    }

    /// Past `max_waiting_writes` writes waiting for the write connection
    /// (and past `max_waiting_reads` for the read connections) the next is
    /// refused at once, without running; once the queue drains, calls run
    /// again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once_and_runs_nothing() {
        let store = Store::open_in_memory().expect("store");
        let mut config = ServerConfig::new("memory".into());
        config.max_waiting_writes = 1;
        config.max_waiting_reads = 1;
        config.read_connections = 1;
        let st = AppState::new(store, config).expect("state");
        // One write holds the connection, one waits for it.
        let (release, running) = hold_the_write_connection(&st, "first").await;
        let waiting = tokio::spawn({
            let st = st.clone();
            async move {
                st.with_store(|s| Ok(s.audit("test", "queued", "second")?))
                    .await
            }
        });
        until_full(&st.0.writes).await;
        assert_overloaded(
            st.with_store(|s| Ok(s.audit("test", "queued", "refused")?))
                .await,
            "writes",
        );
        // Reads are queued apart: one reads, one waits, the third is refused.
        // The second read is started once the first holds the connection
        // (started together, the second could take it first, run, and leave
        // the queue never full).
        let (release_read, wait_read) = std::sync::mpsc::channel::<()>();
        let (read_started, read_running) = tokio::sync::oneshot::channel::<()>();
        let reading = tokio::spawn({
            let st = st.clone();
            async move {
                st.with_reader(move |s| {
                    let _ = read_started.send(());
                    let _ = wait_read.recv();
                    Ok(s.audit_count("queued")?)
                })
                .await
            }
        });
        read_running.await.expect("the first read started");
        let read_waiting = tokio::spawn({
            let st = st.clone();
            async move { st.with_reader(|s| Ok(s.audit_count("queued")?)).await }
        });
        until_full(&st.0.readers.queue).await;
        assert_overloaded(
            st.with_reader(|s| Ok(s.audit_count("queued")?)).await,
            "reads",
        );
        release.send(()).expect("release the write");
        running.await.expect("join").expect("first write");
        waiting.await.expect("join").expect("second write");
        release_read.send(()).expect("release the read");
        reading.await.expect("join").expect("read");
        read_waiting.await.expect("join").expect("read");
        // The refused write never ran; the queue is open again.
        st.with_store(|s| Ok(s.audit("test", "queued", "after")?))
            .await
            .expect("write after the queue drained");
        let n = st
            .with_reader(|s| Ok(s.audit_count("queued")?))
            .await
            .expect("read");
        assert_eq!(
            n, 3,
            "first, second and after; the refused one is not there"
        );
    }

    /// A read that takes as long as it likes holds up no write: the write
    /// below commits while the read is still running (were writes queued
    /// behind reads, it would wait for ever and the time-out would fail it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_read_does_not_hold_up_a_write() {
        let store = Store::open_in_memory().expect("store");
        let st = AppState::new(store, ServerConfig::new("memory".into())).expect("state");
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let reader = tokio::spawn({
            let st = st.clone();
            async move {
                st.with_reader(move |s| {
                    let _ = started.send(());
                    let _ = wait.recv();
                    Ok(s.audit_count("write_during_read")?)
                })
                .await
            }
        });
        running.await.expect("the read started");
        let write = tokio::time::timeout(
            std::time::Duration::from_secs(120),
            st.with_store(|s| Ok(s.audit("test", "write_during_read", "")?)),
        )
        .await;
        assert!(matches!(write, Ok(Ok(()))), "the write waited for the read");
        assert!(!reader.is_finished(), "the read ended before the write");
        release.send(()).expect("release the read");
        let lines = reader.await.expect("join").expect("read");
        // The read's query ran once the write had committed: it sees it.
        assert_eq!(lines, 1);
        // The connection went back to the pool: the next reads get one.
        for _ in 0..3 {
            let n = st
                .with_reader(|s| Ok(s.audit_count("write_during_read")?))
                .await
                .expect("read");
            assert_eq!(n, 1);
        }
    }
}
