//! The event loop (闭环) as a state machine: which [`EventStatus`] may follow
//! which, who moved it and when.
//!
//! ```text
//! reported ─► accepted ─► dispatched ─► in_progress ─► resolved ─► reviewed ─► closed
//!  │ │  │        │  │         │  ▲           │  ▲          │           │          │
//!  │ │  │        │  └─► escalated ─┘◄─────────┘  └──────────┴───────────┘          │
//!  │ │  └─► merged ◄┘    ▲  ⟲ (climbs one level)   (back to handler)               │
//!  │ └───────────────────┘ (not accepted in time)                                  │
//!  └─► rejected                                     reopened ◄── within window ────┘
//! ```
//!
//! `escalated → escalated` is the one loop: an escalated event that nobody
//! takes up in time climbs one more level (grid → community → town →
//! department), and each climb is a line of the timeline. `reported →
//! escalated` is how an event nobody accepts within the acceptance limit
//! leaves the inbox it is stuck in.
//!
//! Every move goes through [`transition`], which refuses illegal moves with an
//! error naming the current state, the requested one and the allowed targets.
//! A closed event may be reopened only within [`LifecycleConfig::reopen_window`].
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use geo_core::model::{lifecycle::{transition, LifecycleConfig}, Event, EventStatus};
//! # use geo_core::{ids::EventId, taxonomy::EventCategory, model::{EventSource, Grade}};
//! # let mut ev = Event { id: EventId::new(1).unwrap(), category: EventCategory::parse("02.05").unwrap(),
//! #   title: "noise".into(), location: geo_types::Point::new(0.0, 0.0),
//! #   reported_at: Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap(), source: EventSource::Hotline,
//! #   status: EventStatus::Reported, grade: Grade::General, deadline: None, handler: None,
//! #   resolved_at: None, satisfaction: None, master: None, reporter_household: None };
//! let cfg = LifecycleConfig::default();
//! let at = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap();
//! let t = transition(&mut ev, EventStatus::Accepted, "intake", at, "graded general", &cfg).unwrap();
//! assert_eq!((t.from, t.to), (EventStatus::Reported, EventStatus::Accepted));
//! let err = transition(&mut ev, EventStatus::Closed, "intake", at, "", &cfg).unwrap_err();
//! assert!(err.to_string().contains("accepted → closed"));
//! ```

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::EventId;
use crate::model::{Event, EventStatus};

/// Settings of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleConfig {
    /// How long after closing a resident may still reopen an event
    /// (default 7 days).
    pub reopen_window: Duration,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            reopen_window: Duration::days(7),
        }
    }
}

/// One recorded move of an event (a line of its timeline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// State before.
    pub from: EventStatus,
    /// State after.
    pub to: EventStatus,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it (worker role or system component, never a resident's name).
    pub actor: String,
    /// Free note (reason of rejection, result of the return visit…).
    pub note: String,
}

/// A refused move.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifecycleError {
    /// The move is not an edge of the state machine.
    #[error(
        "event {id}: illegal transition {from} → {to}; allowed from {from}: {}",
        list(allowed)
    )]
    Illegal {
        /// Event.
        id: EventId,
        /// Current state.
        from: EventStatus,
        /// Requested state.
        to: EventStatus,
        /// States reachable from `from`.
        allowed: &'static [EventStatus],
    },
    /// A reopen requested after the window closed.
    #[error("event {id}: cannot reopen at {at}: closed at {closed_at}, the reopen window of {window_h} h ended")]
    ReopenWindowPassed {
        /// Event.
        id: EventId,
        /// When it was closed.
        closed_at: DateTime<Utc>,
        /// When the reopen was requested.
        at: DateTime<Utc>,
        /// The configured window in hours.
        window_h: i64,
    },
    /// A move dated before the event was reported.
    #[error("event {id}: transition to {to} at {at} is before the report time {reported_at}")]
    BeforeReport {
        /// Event.
        id: EventId,
        /// Requested state.
        to: EventStatus,
        /// Requested time.
        at: DateTime<Utc>,
        /// Report time.
        reported_at: DateTime<Utc>,
    },
}

fn list(s: &[EventStatus]) -> String {
    if s.is_empty() {
        return "none (final state)".into();
    }
    s.iter().map(|x| x.code()).collect::<Vec<_>>().join(", ")
}

/// The states that may follow `from`.
pub fn allowed_targets(from: EventStatus) -> &'static [EventStatus] {
    use EventStatus::*;
    match from {
        // Not accepted within the acceptance limit: one level up.
        Reported => &[Accepted, Rejected, Merged, Escalated],
        Accepted => &[Dispatched, Escalated, Merged],
        Dispatched => &[InProgress, Escalated, Merged],
        InProgress => &[Resolved, Escalated],
        // Escalated again: the event climbs one more level.
        Escalated => &[Dispatched, InProgress, Escalated],
        // A return visit may send the work back to the handler.
        Resolved => &[Reviewed, InProgress],
        Reviewed => &[Closed, InProgress],
        Closed => &[Reopened],
        Reopened => &[Dispatched, InProgress, Escalated],
        Rejected | Merged => &[],
    }
}

/// True when `from → to` is an edge of the state machine.
pub fn is_allowed(from: EventStatus, to: EventStatus) -> bool {
    allowed_targets(from).contains(&to)
}

/// Moves `event` to `to`, updating the fields the loop owns, and returns the
/// timeline record.
///
/// Side effects: `resolved` sets `resolved_at` (if unset); `in_progress` or
/// `reopened` after resolution clear `resolved_at` and `satisfaction` (the
/// work is owed again). For `reopened` the window is measured from the
/// close time, which the event itself does not store: this function takes
/// `resolved_at` (never later than the close) as a conservative stand-in; use
/// [`Timeline::apply`] to measure from the recorded close.
pub fn transition(
    event: &mut Event,
    to: EventStatus,
    actor: &str,
    at: DateTime<Utc>,
    note: &str,
    cfg: &LifecycleConfig,
) -> Result<Transition, LifecycleError> {
    apply(event, to, actor, at, note, cfg, event.resolved_at)
}

fn apply(
    event: &mut Event,
    to: EventStatus,
    actor: &str,
    at: DateTime<Utc>,
    note: &str,
    cfg: &LifecycleConfig,
    closed_at: Option<DateTime<Utc>>,
) -> Result<Transition, LifecycleError> {
    let from = event.status;
    if !is_allowed(from, to) {
        return Err(LifecycleError::Illegal {
            id: event.id,
            from,
            to,
            allowed: allowed_targets(from),
        });
    }
    if at < event.reported_at {
        return Err(LifecycleError::BeforeReport {
            id: event.id,
            to,
            at,
            reported_at: event.reported_at,
        });
    }
    if to == EventStatus::Reopened {
        let closed_at = closed_at.unwrap_or(event.reported_at);
        if at - closed_at > cfg.reopen_window {
            return Err(LifecycleError::ReopenWindowPassed {
                id: event.id,
                closed_at,
                at,
                window_h: cfg.reopen_window.num_hours(),
            });
        }
    }
    match to {
        EventStatus::Resolved => {
            event.resolved_at.get_or_insert(at);
        }
        EventStatus::InProgress | EventStatus::Reopened => {
            event.resolved_at = None;
            event.satisfaction = None;
        }
        _ => {}
    }
    event.status = to;
    Ok(Transition {
        from,
        to,
        at,
        actor: actor.to_string(),
        note: note.to_string(),
    })
}

/// The timeline of one event: every transition in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline(pub Vec<Transition>);

impl Timeline {
    /// Like [`transition`], but measures the reopen window from the last
    /// recorded close, and appends the record on success.
    pub fn apply(
        &mut self,
        event: &mut Event,
        to: EventStatus,
        actor: &str,
        at: DateTime<Utc>,
        note: &str,
        cfg: &LifecycleConfig,
    ) -> Result<&Transition, LifecycleError> {
        let closed_at = self.last_at(EventStatus::Closed).or(event.resolved_at);
        let t = apply(event, to, actor, at, note, cfg, closed_at)?;
        self.0.push(t);
        Ok(&self.0[self.0.len() - 1])
    }

    /// When the event last entered `status`.
    pub fn last_at(&self, status: EventStatus) -> Option<DateTime<Utc>> {
        self.0.iter().rev().find(|t| t.to == status).map(|t| t.at)
    }

    /// How many times the event was reopened.
    pub fn reopen_count(&self) -> usize {
        self.0
            .iter()
            .filter(|t| t.to == EventStatus::Reopened)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_row_and_finals_have_no_exit() {
        for &s in EventStatus::ALL {
            let t = allowed_targets(s);
            assert_eq!(
                t.is_empty(),
                matches!(s, EventStatus::Rejected | EventStatus::Merged)
            );
            // The one loop is a climb: escalated again, one level up.
            assert_eq!(
                t.contains(&s),
                s == EventStatus::Escalated,
                "{s} loops to itself"
            );
        }
    }
}
