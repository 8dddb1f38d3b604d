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
    /// The re-gridding jobs running in this process (progress, cancel
    /// flags); the jobs themselves are in the store.
    pub regrid_jobs: crate::service::regrid_jobs::LiveJobs,
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
        Ok(AppState(Arc::new(Inner {
            store: Mutex::new(store),
            view: RwLock::new(view),
            events_tx,
            config,
            tiles,
            streams,
            rules,
            auth,
            clock,
            regrid_jobs: Default::default(),
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

    /// Runs `f` on the store on a blocking thread.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard =
                me.0.store
                    .lock()
                    .map_err(|_| AppError::Internal("store lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| AppError::Internal(format!("store task failed: {e}")))?
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
