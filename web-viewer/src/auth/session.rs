//! Cookie sessions: a random 256-bit ID in an `HttpOnly; SameSite=Strict`
//! cookie, kept in memory with an idle and an absolute expiry and its own
//! CSRF token. A log-in always makes a new ID (no fixation: an ID the
//! client brings is never promoted). Sessions end with the process: after a
//! restart everyone logs in again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::secret::{random_hex, sha256_hex};
use crate::role::Identity;

/// Cookie name.
pub const COOKIE: &str = "wangge_session";

/// One logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub identity: Identity,
    /// Token the pages send as `X-CSRF-Token` on every change.
    pub csrf: String,
    /// Log-in time.
    pub created: Instant,
    /// Last use.
    pub last_seen: Instant,
}

/// The live sessions, keyed by the SHA-256 of their ID (an ID read from
/// memory cannot be replayed).
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle: Duration,
    absolute: Duration,
}

impl Sessions {
    /// An empty set with these expiries.
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            idle,
            absolute,
        }
    }

    /// Starts a session: `(cookie value, csrf token)`.
    pub fn start(&self, identity: Identity) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let now = Instant::now();
        let s = Session {
            identity,
            csrf: csrf.clone(),
            created: now,
            last_seen: now,
        };
        if let Ok(mut m) = self.map.lock() {
            // Drop expired sessions now and then, so the map stays small.
            if m.len() % 64 == 63 {
                let (idle, abs) = (self.idle, self.absolute);
                m.retain(|_, s| now - s.last_seen < idle && now - s.created < abs);
            }
            m.insert(sha256_hex(&id), s);
        }
        (id, csrf)
    }

    /// The live session of a cookie value, touched; `None` when unknown or
    /// expired (and then forgotten).
    pub fn get(&self, id: &str) -> Option<Session> {
        let key = sha256_hex(id);
        let mut m = self.map.lock().ok()?;
        let now = Instant::now();
        let live = m
            .get(&key)
            .is_some_and(|s| now - s.last_seen < self.idle && now - s.created < self.absolute);
        if !live {
            m.remove(&key);
            return None;
        }
        let s = m.get_mut(&key)?;
        s.last_seen = now;
        Some(s.clone())
    }

    /// Ends a session.
    pub fn end(&self, id: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(&sha256_hex(id));
        }
    }

    /// Ends every session of an account (password change, disable).
    pub fn end_all_of(&self, account: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.retain(|_, s| s.identity.account.as_deref() != Some(account));
        }
    }

    /// Makes every session this much older (tests of expiry).
    pub fn age_all(&self, by: Duration) {
        if let Ok(mut m) = self.map.lock() {
            for s in m.values_mut() {
                s.created = s.created.checked_sub(by).unwrap_or(s.created);
                s.last_seen = s.last_seen.checked_sub(by).unwrap_or(s.last_seen);
            }
        }
    }
}

/// The `Set-Cookie` value of a new session.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie a request carries, if any (every `Cookie` header).
pub fn session_cookie(h: &axum::http::HeaderMap) -> Option<&str> {
    h.get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(cookie_value)
}

/// The session cookie's value in a `Cookie` header.
pub fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::Role;

    fn who() -> Identity {
        Identity::account("l1", "领导", Role::Leader, vec![], None)
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let s = Sessions::new(Duration::from_secs(60), Duration::from_secs(600));
        let (id, csrf) = s.start(who());
        assert_eq!(s.get(&id).expect("live").csrf, csrf);
        assert!(s.get("forged").is_none());
        s.age_all(Duration::from_secs(61));
        assert!(s.get(&id).is_none(), "idle session still live");
        let (id2, _) = s.start(who());
        s.end(&id2);
        assert!(s.get(&id2).is_none());
        let (id3, _) = s.start(who());
        s.end_all_of("l1");
        assert!(s.get(&id3).is_none());
    }

    #[test]
    fn cookies_are_strict_and_http_only() {
        let c = set_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert_eq!(cookie_value("a=1; wangge_session=xyz; b=2"), Some("xyz"));
        assert_eq!(cookie_value("wangge_session="), None);
    }
}
