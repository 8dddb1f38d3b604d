//! Shared server state: a cloneable handle of `Arc`s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use analytics::events::{EventRules, RulesError};
use bytes::Bytes;
use geo_core::store::{Store, StoreError};
use tokio::sync::broadcast;

use crate::clock::{Clock, SystemClock};
use crate::config::ServerConfig;
use crate::error::AppError;
use crate::view::TownView;

/// A cached, gzip-compressed tile with its ETag.
#[derive(Clone)]
pub struct CachedTile {
    /// Gzip bytes, for clients that offer gzip.
    pub gz: Bytes,
    /// The same tile decoded, for clients that do not: kept beside the gzip
    /// copy so neither answer costs a (de)compression.
    pub raw: Bytes,
    /// Strong ETag of the gzip copy; the identity copy's is
    /// [`CachedTile::etag_identity`].
    pub etag: String,
    /// The tile depends on the time and is stale from this instant
    /// (`tiles::EncodedTile::valid_until`).
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl CachedTile {
    /// Strong ETag of the identity copy: another representation, so another
    /// tag (RFC 9110 §8.8.3).
    pub fn etag_identity(&self) -> String {
        format!("{}-id\"", self.etag.trim_end_matches('"'))
    }
}

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
    /// Tile cache keyed by `layer/z/x/y?filters`.
    pub tiles: Mutex<HashMap<String, CachedTile>>,
    /// Rules of the event loop (dispatch, time limits, merging, reopen
    /// window), from `config.dispatch_rules` or the built-in defaults.
    pub rules: EventRules,
    /// Sessions, lock-outs, kiosk tokens and the receipt key.
    pub auth: AuthState,
    /// Where handlers and the escalation loop read the time.
    pub clock: Arc<dyn Clock>,
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
        Ok(AppState(Arc::new(Inner {
            store: Mutex::new(store),
            view: RwLock::new(view),
            events_tx,
            config,
            tiles: Mutex::new(HashMap::new()),
            rules,
            auth,
            clock,
        })))
    }

    /// The current time of the state's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.clock.now()
    }

    /// Drops the cached tiles a write changed. Keys are `layer/z/x/y?filters`.
    pub fn invalidate_tiles(&self, inval: &tiles::Invalidation) -> Result<(), AppError> {
        let mut cache = self
            .0
            .tiles
            .lock()
            .map_err(|_| AppError::Internal("tile cache poisoned".into()))?;
        cache.retain(|key, _| {
            let path = key.split('?').next().unwrap_or("");
            let mut it = path.split('/');
            let (Some(l), Some(z), Some(x), Some(y)) = (it.next(), it.next(), it.next(), it.next())
            else {
                return false;
            };
            match (
                tiles::Layer::parse(l),
                z.parse::<u8>(),
                x.parse::<u32>(),
                y.parse::<u32>(),
            ) {
                (Ok(l), Ok(z), Ok(x), Ok(y)) => !inval.affects(l, z, x, y),
                _ => false,
            }
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
