//! 事: events — incidents, complaints, requests, hazards.

use chrono::{DateTime, Utc};
use geo_types::Point;
use serde::{Deserialize, Serialize};

use crate::ids::{EventId, HouseholdId};
use crate::taxonomy::EventCategory;
use crate::vocab;

vocab!(
    /// Where an event came from.
    EventSource, "event source" {
        /// Grid worker patrol (网格员巡查).
        Patrol => "patrol",
        /// 12345 hotline.
        Hotline => "hotline",
        /// Resident report (随手拍).
        Resident => "resident",
        /// Sensor / IoT alarm.
        Sensor => "sensor",
    }
);

vocab!(
    /// State of an event in the loop (闭环).
    EventStatus, "event status" {
        /// Reported, not yet accepted.
        Reported => "reported",
        /// Accepted and graded.
        Accepted => "accepted",
        /// Dispatched to a handler.
        Dispatched => "dispatched",
        /// Being handled.
        InProgress => "in_progress",
        /// Handler reports it resolved.
        Resolved => "resolved",
        /// Satisfaction return visit done.
        Reviewed => "reviewed",
        /// Closed.
        Closed => "closed",
        /// Rejected at intake.
        Rejected => "rejected",
        /// Merged into a master event.
        Merged => "merged",
        /// Escalated one level up.
        Escalated => "escalated",
        /// Reopened after closing.
        Reopened => "reopened",
    }
);

impl EventStatus {
    /// True once the event needs no more handling.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Rejected | Self::Merged)
    }
    /// True while a handler still owes work (the deadline runs).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Self::Resolved | Self::Reviewed | Self::Closed | Self::Rejected | Self::Merged
        )
    }
}

vocab!(
    /// Urgency grade assigned at acceptance.
    Grade, "event grade" {
        /// 特急.
        Urgent => "urgent",
        /// 紧急.
        Major => "major",
        /// 一般.
        General => "general",
        /// 轻微.
        Minor => "minor",
    }
);

impl Grade {
    /// Factor applied to a category's general time limit.
    pub fn limit_factor(self) -> f64 {
        match self {
            Self::Urgent => 0.25,
            Self::Major => 0.5,
            Self::General => 1.0,
            Self::Minor => 1.5,
        }
    }
}

/// An event (事件).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Identifier.
    pub id: EventId,
    /// Category of the taxonomy.
    pub category: EventCategory,
    /// Short description.
    pub title: String,
    /// Location (WGS84).
    pub location: Point<f64>,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
    /// Where it came from.
    pub source: EventSource,
    /// Current state.
    pub status: EventStatus,
    /// Grade.
    pub grade: Grade,
    /// Time limit to resolve.
    pub deadline: Option<DateTime<Utc>>,
    /// Who handles it: `grid`, `community`, `town` or `dept:<name>`.
    pub handler: Option<String>,
    /// When it was resolved (handling time ends here).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Satisfaction rating 1–5 from the return visit.
    pub satisfaction: Option<u8>,
    /// For merged events: the master event.
    pub master: Option<EventId>,
    /// Household of the reporter (personal data, never in tiles).
    pub reporter_household: Option<HouseholdId>,
}

impl Event {
    /// A new report as intake and imports create it: status `reported`,
    /// grade `general`, and no deadline, handler, resolution, rating, master
    /// or reporter yet (the dispatch rules and the handlers set those).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use geo_core::ids::EventId;
    /// use geo_core::model::{Event, EventSource, EventStatus, Grade};
    /// use geo_core::taxonomy::EventCategory;
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
    /// let e = Event::reported(
    ///     EventId::new(7).unwrap(),
    ///     EventCategory::parse("02.05").unwrap(),
    ///     "噪声",
    ///     geo_types::Point::new(116.6, 36.9),
    ///     at,
    ///     EventSource::Resident,
    /// );
    /// assert_eq!((e.status, e.grade, e.deadline), (EventStatus::Reported, Grade::General, None));
    /// ```
    pub fn reported(
        id: EventId,
        category: EventCategory,
        title: impl Into<String>,
        location: Point<f64>,
        reported_at: DateTime<Utc>,
        source: EventSource,
    ) -> Event {
        Event {
            id,
            category,
            title: title.into(),
            location,
            reported_at,
            source,
            status: EventStatus::Reported,
            grade: Grade::General,
            deadline: None,
            handler: None,
            resolved_at: None,
            satisfaction: None,
            master: None,
            reporter_household: None,
        }
    }

    /// Handling time in hours, if resolved.
    pub fn handling_h(&self) -> Option<f64> {
        self.resolved_at
            .map(|r| (r - self.reported_at).num_seconds() as f64 / 3600.0)
    }
    /// True when still open (not yet resolved) past its deadline at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        match self.deadline {
            Some(d) => self.status.is_open() && now > d,
            None => false,
        }
    }
}
