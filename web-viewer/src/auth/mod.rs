//! Identity and access at the HTTP edge.
//!
//! * [`password`]: Argon2id hashing of account passwords, account rules
//!   (names, roles, grids, departments) shared by `wangge user` and
//!   `wangge demo`.
//! * [`secret`]: random tokens, kiosk tokens, receipt HMACs.
//! * [`session`]: cookie sessions (idle and absolute expiry, CSRF token).
//! * [`limiter`]: failed log-ins locked out per account and per address.
//! * [`matrix`]: the role × route access matrix (rendered into
//!   `docs/api.md`, checked by tests).
//! * [`guard`]: the middleware that resolves who is asking (session cookie,
//!   kiosk token, or the proxy's headers with its shared secret), enforces the
//!   matrix, CSRF, JSON bodies and the host allow-list, and hands the
//!   handlers an [`Access`](crate::role::Access).
//! * [`routes`]: `POST/GET/DELETE /api/v1/session`, `POST /api/v1/session/kiosk`.

pub mod admin;
pub mod guard;
pub mod limiter;
pub mod matrix;
pub mod password;
pub mod routes;
pub mod secret;
pub mod session;

use std::net::IpAddr;
use std::time::Duration;

/// How callers prove who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Accounts in the store: log-in page and cookie sessions, kiosk tokens
    /// for screens and embeds (the default).
    Login,
    /// An authenticating proxy in front sets `X-Wangge-Role`,
    /// `X-Wangge-Grids`, `X-Wangge-Department` and `X-Wangge-User`, and proves
    /// itself with `X-Wangge-Proxy-Secret`; requests without the secret are
    /// refused. Accounts and kiosk tokens work as in `Login`.
    Proxy {
        /// The shared secret (at least 16 characters).
        secret: String,
    },
}

/// Identity settings of `wangge serve`.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Log-in (default) or proxy.
    pub mode: AuthMode,
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after log-in, used or not.
    pub absolute: Duration,
    /// Mark cookies `Secure` (served over TLS, directly or by the proxy).
    pub secure_cookies: bool,
    /// Consecutive failed log-ins that lock an account.
    pub lock_after: u32,
    /// How long a locked account stays locked.
    pub lock_for: Duration,
    /// Failed log-ins from one address within `lock_for` before the address
    /// is refused.
    pub address_failures: u32,
    /// Host names (`Host` header, without port) the server answers to;
    /// empty: any loopback name plus the listen address.
    pub allowed_hosts: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is trusted for the caller's address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Bearer JWTs of other systems (OIDC), checked by this verifier
    /// (`wangge serve --oidc FILE`, see `docs/auth-oidc.md`).
    pub jwt: Option<std::sync::Arc<crate::auth_jwt::JwtVerifier>>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Login,
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            lock_after: 5,
            lock_for: Duration::from_secs(15 * 60),
            address_failures: 20,
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            jwt: None,
        }
    }
}
