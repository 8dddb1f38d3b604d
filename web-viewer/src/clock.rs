//! The server's clock. Every handler and the escalation loop read the time
//! through the [`Clock`] in the state, never `Utc::now()` directly, so a test
//! can set the time ([`SettableClock`]) and watch an event run past its
//! deadline through the HTTP API.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Where the server reads the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock (what `wangge serve` runs on).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced (tests).
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use web_viewer::clock::{Clock, SettableClock};
///
/// let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
/// let clock = SettableClock::new(t0);
/// clock.advance(Duration::hours(2));
/// assert_eq!(clock.now(), t0 + Duration::hours(2));
/// ```
#[derive(Debug)]
pub struct SettableClock(Mutex<DateTime<Utc>>);

impl SettableClock {
    /// A clock showing `t`.
    pub fn new(t: DateTime<Utc>) -> Self {
        Self(Mutex::new(t))
    }

    /// Sets the time to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Moves the time on by `d`.
    pub fn advance(&self, d: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += d;
    }
}

impl Clock for SettableClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
