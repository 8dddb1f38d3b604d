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
        Patrol => "patrol" ("网格员巡查", "Patrol"),
        /// 12345 hotline.
        Hotline => "hotline" ("12345热线", "12345 hotline"),
        /// Resident report (随手拍).
        Resident => "resident" ("群众随手拍", "Resident report"),
        /// Sensor / IoT alarm.
        Sensor => "sensor" ("物联感知", "Sensor"),
        /// Filed by the demo feed of `wangge serve` on a demo store: not a
        /// real report.
        Demo => "demo" ("演示数据", "Demo"),
    }
);

vocab!(
    /// State of an event in the loop (闭环).
    EventStatus, "event status" {
        /// Reported, not yet accepted.
        Reported => "reported" ("已上报", "Reported"),
        /// Accepted and graded.
        Accepted => "accepted" ("已受理", "Accepted"),
        /// Dispatched to a handler.
        Dispatched => "dispatched" ("已派遣", "Dispatched"),
        /// Being handled.
        InProgress => "in_progress" ("处置中", "In progress"),
        /// Handler reports it resolved.
        Resolved => "resolved" ("已办结", "Resolved"),
        /// Satisfaction return visit done.
        Reviewed => "reviewed" ("已回访", "Reviewed"),
        /// Closed.
        Closed => "closed" ("已关闭", "Closed"),
        /// Rejected at intake.
        Rejected => "rejected" ("不予受理", "Rejected"),
        /// Merged into a master event.
        Merged => "merged" ("已合并", "Merged"),
        /// Escalated one level up.
        Escalated => "escalated" ("已上报上级", "Escalated"),
        /// Reopened after closing.
        Reopened => "reopened" ("已重启", "Reopened"),
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
        Urgent => "urgent" ("特急", "Urgent"),
        /// 紧急.
        Major => "major" ("紧急", "Major"),
        /// 一般.
        General => "general" ("一般", "General"),
        /// 轻微.
        Minor => "minor" ("轻微", "Minor"),
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
