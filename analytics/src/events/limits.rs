//! Time limits (限时办结): the deadline of an event, its traffic-light state
//! against that deadline, and escalation one level up when it turns red or
//! when nobody accepts it within the acceptance limit (`[limits] accept_h`).
//!
//! Escalation climbs grid → community → town → department, one level per
//! step, each step with a fresh deadline for the new level; an escalated
//! event whose fresh deadline passes climbs again, and a department (the top of
//! the chain) stops climbing: [`escalate_due`] reports it as
//! [`EscalateError::TopLevel`] instead of moving it.
//!
//! The limit of a category and grade is the taxonomy's `limit_h` (general
//! grade) × [`Grade::limit_factor`], unless `[[limits.override]]` says
//! otherwise. Times are stored in UTC; local days and working hours are
//! computed in the configured time zone ([`Limits::tz`]), so a deadline is
//! right across midnight and across daylight-saving changes.
//!
//! ```
//! use analytics::events::{limits::SlaLevel, EventRules};
//! use chrono::{Duration, TimeZone, Utc};
//! # use geo_core::{ids::EventId, model::*, taxonomy::EventCategory};
//! let rules = EventRules::builtin().unwrap();
//! let t0 = Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap();
//! # let ev = Event { id: EventId::new(1).unwrap(), category: EventCategory::parse("02.05").unwrap(),
//! #   title: "噪声".into(), location: geo_types::Point::new(0.0, 0.0), reported_at: t0,
//! #   source: EventSource::Hotline, status: EventStatus::InProgress, grade: Grade::General, deadline: None,
//! #   handler: Some("grid".into()), resolved_at: None, satisfaction: None, master: None, reporter_household: None };
//! // noise (02.05) has 24 h; after 20 h it is yellow (≥ 80 %)
//! let s = rules.limits.sla(&ev, t0 + Duration::hours(20));
//! assert_eq!(s.level, SlaLevel::Yellow);
//! assert_eq!(s.remaining, Duration::hours(4));
//! ```

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use geo_core::model::lifecycle::{transition, LifecycleError, Transition};
use geo_core::model::{Event, EventStatus, Grade};
use geo_core::taxonomy::EventCategory;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::dispatch::Handler;
use super::{EventRules, RulesError};

/// How a limit counts time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    /// Wall-clock hours: a 72 h limit is 72 real hours.
    Elapsed,
    /// Whole days are local calendar days (same local time N days later, even
    /// across a DST change); the remaining hours are real hours.
    LocalDays,
    /// Only working hours count: `[start_h, end_h)` local time, Monday–Friday.
    Working {
        /// First working hour.
        start_h: u32,
        /// End of the working day (exclusive).
        end_h: u32,
    },
}

/// Time limits of a town.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Share of the limit from which an open event is yellow (default 0.8).
    pub yellow: f64,
    /// Share of the limit from which it is red and escalated (default 0.9).
    pub red: f64,
    /// Hours an event may stay `reported` (not accepted) before it climbs
    /// one level (default 2), counted like the limits.
    pub accept_h: f64,
    /// How time is counted.
    pub calendar: Calendar,
    /// The town's time zone.
    pub tz: Tz,
    /// `(category, Some(grade))`: exact hours; `(category, None)`: general-grade
    /// hours scaled by the grade factor.
    pub overrides: HashMap<(EventCategory, Option<Grade>), f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            yellow: 0.8,
            red: 0.9,
            accept_h: 2.0,
            calendar: Calendar::Elapsed,
            tz: chrono_tz::Asia::Shanghai,
            overrides: HashMap::new(),
        }
    }
}

/// Traffic light of an event against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaLevel {
    /// Below the yellow share.
    Green,
    /// At or above yellow.
    Yellow,
    /// At or above red: escalate.
    Red,
    /// Past the deadline.
    Overdue,
}

/// Where an event stands against its time limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlaState {
    /// Traffic light.
    pub level: SlaLevel,
    /// Real time since the report (up to resolution if resolved).
    pub elapsed: Duration,
    /// Real time left to the deadline (negative when overdue).
    pub remaining: Duration,
    /// The deadline used.
    pub deadline: DateTime<Utc>,
    /// When the running limit started: the report, or the renewal that set
    /// the deadline (a reopening, an escalation step) — see [`Limits::sla`].
    pub since: DateTime<Utc>,
    /// Share of the running limit used, in the calendar's own measure.
    pub used: f64,
}

impl Limits {
    /// The limit in hours (of the calendar's measure) for a category and grade.
    pub fn limit_h(&self, category: EventCategory, grade: Grade) -> f64 {
        if let Some(h) = self.overrides.get(&(category, Some(grade))) {
            return *h;
        }
        let general = self
            .overrides
            .get(&(category, None))
            .copied()
            .unwrap_or(f64::from(category.def().limit_h));
        general * grade.limit_factor()
    }

    /// The deadline of an event of `category` and `grade` reported at `from`.
    pub fn deadline(
        &self,
        from: DateTime<Utc>,
        category: EventCategory,
        grade: Grade,
    ) -> DateTime<Utc> {
        self.after(from, self.limit_h(category, grade))
    }

    /// When an event reported at `from` must have been accepted
    /// ([`Limits::accept_h`] counted by the calendar).
    pub fn accept_by(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        self.after(from, self.accept_h)
    }

    /// `hours` of the calendar's measure after `from`.
    fn after(&self, from: DateTime<Utc>, hours: f64) -> DateTime<Utc> {
        let secs = (hours * 3600.0).round() as i64;
        match self.calendar {
            Calendar::Elapsed => from + Duration::seconds(secs),
            Calendar::LocalDays => {
                let days = secs / 86_400;
                let rest = secs % 86_400;
                let local = from.with_timezone(&self.tz).naive_local();
                let target = local + Duration::days(days);
                local_to_utc(self.tz, target) + Duration::seconds(rest)
            }
            Calendar::Working { start_h, end_h } => {
                add_working(self.tz, start_h, end_h, from, secs)
            }
        }
    }

    /// Seconds between `a` and `b` as the calendar counts them.
    fn counted_s(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        match self.calendar {
            Calendar::Elapsed | Calendar::LocalDays => (b - a).num_seconds(),
            Calendar::Working { start_h, end_h } => working_s(self.tz, start_h, end_h, a, b),
        }
    }

    /// The state of `event` at `now`. The clock stops at `resolved_at`. Uses the
    /// event's stored deadline if set, else computes it.
    ///
    /// The colour is measured against the limit that is running: a deadline
    /// renewed after the report (a reopening owes a fresh limit from the
    /// reopening, an escalation step a fresh one for the new level) started
    /// its clock one full limit before it, not at the report. The start is
    /// therefore the latest instant from which the event's limit (category
    /// and grade, counted by the calendar) ends at the deadline, and never
    /// before the report (a deadline shorter than the limit runs from the
    /// report).
    ///
    /// ```
    /// use analytics::events::limits::{Limits, SlaLevel};
    /// use chrono::{Duration, TimeZone, Utc};
    /// # use geo_core::{ids::EventId, model::*, taxonomy::EventCategory};
    /// let limits = Limits::default();
    /// let reported = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
    /// # let mut e = Event { id: EventId::new(1).unwrap(), category: EventCategory::parse("02.05").unwrap(),
    /// #   title: "噪声".into(), location: geo_types::Point::new(0.0, 0.0), reported_at: reported,
    /// #   source: EventSource::Patrol, status: EventStatus::Reopened, grade: Grade::General, deadline: None,
    /// #   handler: None, resolved_at: None, satisfaction: None, master: None, reporter_household: None };
    /// // Reopened ten days after the report: a fresh limit from the reopening.
    /// let reopened = reported + Duration::days(10);
    /// e.deadline = Some(limits.deadline(reopened, e.category, e.grade));
    /// let s = limits.sla(&e, reopened + Duration::hours(1));
    /// assert_eq!(s.since, reopened);
    /// assert_eq!(s.level, SlaLevel::Green);
    /// ```
    pub fn sla(&self, event: &Event, now: DateTime<Utc>) -> SlaState {
        let end = event.resolved_at.unwrap_or(now).max(event.reported_at);
        let deadline = event
            .deadline
            .unwrap_or_else(|| self.deadline(event.reported_at, event.category, event.grade));
        let since = self.limit_start(event, deadline);
        let total = self.counted_s(since, deadline).max(1) as f64;
        let used = (self.counted_s(since, end.max(since)) as f64 / total).max(0.0);
        let level = if end > deadline {
            SlaLevel::Overdue
        } else if used >= self.red {
            SlaLevel::Red
        } else if used >= self.yellow {
            SlaLevel::Yellow
        } else {
            SlaLevel::Green
        };
        SlaState {
            level,
            elapsed: end - event.reported_at,
            remaining: deadline - end,
            deadline,
            since,
            used,
        }
    }

    /// The start of the limit that ends at `deadline` (see [`Limits::sla`]).
    fn limit_start(&self, event: &Event, deadline: DateTime<Utc>) -> DateTime<Utc> {
        let limit_s = (self.limit_h(event.category, event.grade) * 3600.0).round() as i64;
        if deadline <= event.reported_at || self.counted_s(event.reported_at, deadline) <= limit_s {
            return event.reported_at;
        }
        // The counted time to the deadline falls as the start moves later:
        // the latest start that still leaves a full limit, to the second.
        let at = |s: i64| event.reported_at + Duration::seconds(s);
        let (mut lo, mut hi) = (0, (deadline - event.reported_at).num_seconds());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.counted_s(at(mid), deadline) >= limit_s {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        at(lo)
    }

    pub(crate) fn from_raw(
        raw: Option<&RawLimits>,
        tz: Tz,
        path: &str,
    ) -> Result<Self, RulesError> {
        let mut out = Limits {
            tz,
            ..Limits::default()
        };
        let Some(raw) = raw else { return Ok(out) };
        let bad = |field: &str, value: String, reason: &str| RulesError::Setting {
            path: path.to_string(),
            field: format!("limits.{field}"),
            value,
            reason: reason.to_string(),
        };
        out.accept_h = raw.accept_h.unwrap_or(out.accept_h);
        if !(out.accept_h.is_finite() && out.accept_h > 0.0) {
            return Err(bad(
                "accept_h",
                out.accept_h.to_string(),
                "must be a positive number of hours",
            ));
        }
        out.yellow = raw.yellow.unwrap_or(out.yellow);
        out.red = raw.red.unwrap_or(out.red);
        if !(0.0 < out.yellow && out.yellow <= out.red && out.red <= 1.0) {
            return Err(bad(
                "yellow/red",
                format!("{}/{}", out.yellow, out.red),
                "need 0 < yellow <= red <= 1",
            ));
        }
        let [start_h, end_h] = raw.working_hours.unwrap_or([9, 18]);
        if !(start_h < end_h && end_h <= 24) {
            return Err(bad(
                "working_hours",
                format!("[{start_h}, {end_h}]"),
                "need start < end <= 24",
            ));
        }
        out.calendar = match raw.calendar.as_deref().unwrap_or("elapsed") {
            "elapsed" => Calendar::Elapsed,
            "local_days" => Calendar::LocalDays,
            "working" => Calendar::Working { start_h, end_h },
            other => {
                return Err(bad(
                    "calendar",
                    other.to_string(),
                    "expected elapsed, local_days or working",
                ))
            }
        };
        for (i, o) in raw.r#override.iter().enumerate() {
            let field = |k: &str| format!("override[{}].{k}", i + 1);
            let cat = EventCategory::parse(&o.category)
                .map_err(|e| bad(&field("category"), o.category.clone(), &e.to_string()))?;
            let grade = match &o.grade {
                Some(g) => Some(
                    Grade::parse(g).map_err(|e| bad(&field("grade"), g.clone(), &e.to_string()))?,
                ),
                None => None,
            };
            if !(o.hours.is_finite() && o.hours > 0.0) {
                return Err(bad(
                    &field("hours"),
                    o.hours.to_string(),
                    "must be a positive number of hours",
                ));
            }
            out.overrides.insert((cat, grade), o.hours);
        }
        Ok(out)
    }
}

/// `[limits]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    yellow: Option<f64>,
    red: Option<f64>,
    accept_h: Option<f64>,
    calendar: Option<String>,
    working_hours: Option<[u32; 2]>,
    #[serde(default)]
    r#override: Vec<RawOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    category: String,
    grade: Option<String>,
    hours: f64,
}

/// Local wall time → UTC: an ambiguous time (DST fall-back) takes the earlier
/// instant, a skipped one (spring-forward gap) moves forward by an hour.
fn local_to_utc(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&t).earliest() {
        Some(d) => d.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(t + Duration::hours(1)))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&t)),
    }
}

/// Working interval of local `day` in UTC, or `None` on a weekend.
fn work_span(
    tz: Tz,
    start_h: u32,
    end_h: u32,
    day: NaiveDate,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        return None;
    }
    let at = |h: u32| {
        let t = day
            .and_hms_opt(0, 0, 0)
            .map(|m| m + Duration::hours(i64::from(h)));
        t.map(|t| local_to_utc(tz, t))
    };
    Some((at(start_h)?, at(end_h)?))
}

/// Longest span a working-calendar loop walks (guards odd inputs).
const MAX_DAYS: i64 = 3660;

fn add_working(
    tz: Tz,
    start_h: u32,
    end_h: u32,
    from: DateTime<Utc>,
    mut secs: i64,
) -> DateTime<Utc> {
    let mut day = from.with_timezone(&tz).date_naive();
    for _ in 0..MAX_DAYS {
        if let Some((a, b)) = work_span(tz, start_h, end_h, day) {
            let a = a.max(from);
            if b > a {
                let avail = (b - a).num_seconds();
                if secs <= avail {
                    return a + Duration::seconds(secs);
                }
                secs -= avail;
            }
        }
        day = day.succ_opt().unwrap_or(day);
    }
    from + Duration::seconds(secs)
}

fn working_s(tz: Tz, start_h: u32, end_h: u32, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    // Equal instants count nothing (they recursed without end before).
    if to == from {
        return 0;
    }
    if to < from {
        return -working_s(tz, start_h, end_h, to, from);
    }
    let mut day = from.with_timezone(&tz).date_naive();
    let last = to.with_timezone(&tz).date_naive();
    let mut total = 0;
    for _ in 0..MAX_DAYS {
        if let Some((a, b)) = work_span(tz, start_h, end_h, day) {
            let (a, b) = (a.max(from), b.min(to));
            if b > a {
                total += (b - a).num_seconds();
            }
        }
        if day >= last {
            break;
        }
        day = day.succ_opt().unwrap_or(last);
    }
    total
}

/// A refused escalation.
#[derive(Debug, Error)]
pub enum EscalateError {
    /// The event has no handler yet (dispatch it first).
    #[error("event {id}: cannot escalate an event with no handler; dispatch it first")]
    NoHandler {
        /// Event.
        id: geo_core::ids::EventId,
    },
    /// The stored handler code is not valid.
    #[error("event {id}: handler {value:?} is not valid: {reason}")]
    BadHandler {
        /// Event.
        id: geo_core::ids::EventId,
        /// Stored code.
        value: String,
        /// Why.
        reason: String,
    },
    /// A department is the top of the chain: the event stops climbing.
    #[error("event {id}: handler {handler} is a department, the top of the escalation chain")]
    TopLevel {
        /// Event.
        id: geo_core::ids::EventId,
        /// Current handler.
        handler: String,
    },
    /// The state machine refused the move to `escalated`.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
}

/// An escalation that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    /// Handler before.
    pub from: Handler,
    /// Handler after.
    pub to: Handler,
    /// The timeline record.
    pub transition: Transition,
}

/// Why the time-limit check climbs an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueReason {
    /// Still `reported` past the acceptance limit.
    Unaccepted,
    /// Red or overdue against its deadline (again, if already escalated).
    Late(SlaLevel),
}

/// Why `event` is due to climb one level at `now`, if it is: it is open and
/// either still `reported` past [`Limits::accept_by`] or red or overdue
/// against its deadline. An escalated event has a fresh deadline from its
/// last climb (its colour counts from the climb, see [`Limits::sla`]); each
/// level gets its whole limit, so it is due again only when that fresh
/// deadline has passed (overdue).
pub fn due(event: &Event, limits: &Limits, now: DateTime<Utc>) -> Option<DueReason> {
    if !event.status.is_open() {
        return None;
    }
    let level = limits.sla(event, now).level;
    let late = if event.status == EventStatus::Escalated {
        SlaLevel::Overdue
    } else {
        SlaLevel::Red
    };
    if level >= late {
        Some(DueReason::Late(level))
    } else if event.status == EventStatus::Reported && now >= limits.accept_by(event.reported_at) {
        Some(DueReason::Unaccepted)
    } else {
        None
    }
}

/// Moves `event` one level up the chain grid → community → town → department
/// (the department of its category, see [`EventRules::department_for`]),
/// sets status `escalated` and gives the new handler a fresh deadline counted
/// from `at`. An event already escalated climbs again (`escalated →
/// escalated`); a department is the top and is refused with
/// [`EscalateError::TopLevel`].
pub fn escalate(
    event: &mut Event,
    rules: &EventRules,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Escalation, EscalateError> {
    escalate_noted(event, rules, actor, at, "")
}

fn escalate_noted(
    event: &mut Event,
    rules: &EventRules,
    actor: &str,
    at: DateTime<Utc>,
    why: &str,
) -> Result<Escalation, EscalateError> {
    let code = event
        .handler
        .clone()
        .ok_or(EscalateError::NoHandler { id: event.id })?;
    let from = Handler::parse(&code).map_err(|reason| EscalateError::BadHandler {
        id: event.id,
        value: code.clone(),
        reason,
    })?;
    let to = match from {
        Handler::GridWorker => Handler::Community,
        Handler::Community => Handler::Town,
        Handler::Town => rules.department_for(event.category),
        Handler::Department(_) => {
            return Err(EscalateError::TopLevel {
                id: event.id,
                handler: code,
            })
        }
    };
    let note = format!("{why}escalated {from} → {to}");
    let t = transition(
        event,
        EventStatus::Escalated,
        actor,
        at,
        &note,
        &rules.lifecycle,
    )?;
    event.handler = Some(to.code());
    event.deadline = Some(rules.limits.deadline(at, event.category, event.grade));
    Ok(Escalation {
        from,
        to,
        transition: t,
    })
}

/// One event the time-limit check found due, and what became of it.
#[derive(Debug)]
pub struct DueOutcome {
    /// Index into the events given.
    pub index: usize,
    /// Why it was due.
    pub reason: DueReason,
    /// The climb, or why it did not climb ([`EscalateError::TopLevel`] at a
    /// department, [`EscalateError::NoHandler`] when nobody was ever
    /// assigned).
    pub result: Result<Escalation, EscalateError>,
}

/// Climbs every event that is [`due`] at `now` one level and returns an
/// outcome for each due event, moved or not (nothing is dropped silently).
/// An unaccepted event's note says so (`not accepted within 2 h; escalated
/// grid → community`).
pub fn escalate_due(
    events: &mut [Event],
    rules: &EventRules,
    actor: &str,
    now: DateTime<Utc>,
) -> Vec<DueOutcome> {
    let mut out = Vec::new();
    for (index, ev) in events.iter_mut().enumerate() {
        let Some(reason) = due(ev, &rules.limits, now) else {
            continue;
        };
        let why = match reason {
            DueReason::Unaccepted => format!("not accepted within {} h; ", rules.limits.accept_h),
            DueReason::Late(_) => String::new(),
        };
        out.push(DueOutcome {
            index,
            reason,
            result: escalate_noted(ev, rules, actor, now, &why),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grade_factor_and_override() {
        let r = EventRules::builtin().unwrap();
        let gas = EventCategory::parse("04.03").unwrap();
        assert_eq!(r.limits.limit_h(gas, Grade::General), 12.0);
        assert_eq!(r.limits.limit_h(gas, Grade::Major), 6.0);
        assert_eq!(r.limits.limit_h(gas, Grade::Urgent), 2.0); // override
    }

    fn reported(h_ago: i64, now: DateTime<Utc>) -> Event {
        let mut e = Event::reported(
            geo_core::ids::EventId::new(9).unwrap(),
            EventCategory::parse("02.05").unwrap(),
            "噪声",
            geo_types::Point::new(116.6, 36.9),
            now - Duration::hours(h_ago),
            geo_core::model::EventSource::Hotline,
        );
        e.handler = Some("grid".into());
        e.deadline = Some(e.reported_at + Duration::hours(24));
        e
    }

    #[test]
    fn a_renewed_deadline_is_measured_from_its_renewal_not_from_the_report() {
        let r = EventRules::builtin().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 12, 8, 0, 0).unwrap();
        // Reported ten days ago (24 h limit), closed, reopened an hour ago:
        // the reopening owes a fresh limit from then.
        let mut e = reported(240, now);
        let limit = r.limits.limit_h(e.category, e.grade);
        assert_eq!(limit, 24.0);
        e.status = EventStatus::Reopened;
        let reopened = now - Duration::hours(1);
        e.deadline = Some(r.limits.deadline(reopened, e.category, e.grade));
        let s = r.limits.sla(&e, now);
        assert_eq!(s.since, reopened);
        assert_eq!(s.level, SlaLevel::Green, "1 h of a fresh 24 h limit");
        assert!((s.used - 1.0 / 24.0).abs() < 1e-9, "used {}", s.used);
        assert_eq!(
            s.elapsed,
            Duration::hours(240),
            "elapsed still counts from the report"
        );
        // 22 h after the reopening: 23/24 used, red; past the deadline: overdue.
        assert_eq!(
            r.limits.sla(&e, reopened + Duration::hours(20)).level,
            SlaLevel::Yellow
        );
        assert_eq!(
            r.limits.sla(&e, reopened + Duration::hours(23)).level,
            SlaLevel::Red
        );
        assert_eq!(
            r.limits.sla(&e, reopened + Duration::hours(25)).level,
            SlaLevel::Overdue
        );
        // A deadline from the report (a new grade on acceptance) runs from the report.
        let mut g = reported(10, now);
        g.grade = Grade::Major;
        g.deadline = Some(r.limits.deadline(g.reported_at, g.category, g.grade));
        let s = r.limits.sla(&g, now);
        assert_eq!(s.since, g.reported_at);
        assert!((s.used - 10.0 / r.limits.limit_h(g.category, g.grade)).abs() < 1e-9);
        // A deadline shorter than the limit (set by an import) runs from the report too.
        let short = reported(10, now);
        assert_eq!(r.limits.sla(&short, now).since, short.reported_at);
    }

    #[test]
    fn a_renewed_deadline_on_a_working_calendar_starts_at_the_renewal() {
        let mut limits = EventRules::builtin().unwrap().limits;
        limits.calendar = Calendar::Working {
            start_h: 9,
            end_h: 17,
        };
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 2, 0, 0).unwrap(); // Tue 10:00 in Shanghai
        let mut e = reported(24 * 8, now);
        e.status = EventStatus::Reopened;
        e.deadline = Some(limits.deadline(now, e.category, e.grade));
        let s = limits.sla(&e, now);
        assert_eq!(s.since, now);
        assert_eq!(s.level, SlaLevel::Green);
        assert!(s.used.abs() < 1e-9);
    }

    #[test]
    fn an_unaccepted_event_climbs_after_the_acceptance_limit() {
        let r = EventRules::builtin().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        // 1 h in `reported`: within the 2 h limit, green: not due.
        let mut evs = vec![reported(1, now), reported(3, now)];
        assert_eq!(due(&evs[0], &r.limits, now), None);
        assert_eq!(due(&evs[1], &r.limits, now), Some(DueReason::Unaccepted));
        let out = escalate_due(&mut evs, &r, "sla", now);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].index, 1);
        let esc = out[0].result.as_ref().unwrap();
        assert_eq!(esc.transition.from, EventStatus::Reported);
        assert_eq!(esc.transition.to, EventStatus::Escalated);
        assert_eq!(
            esc.transition.note,
            "not accepted within 2 h; escalated grid → community"
        );
        // a fresh deadline for the community, counted from the climb
        assert_eq!(evs[1].deadline, Some(now + Duration::hours(24)));
        assert_eq!(evs[1].handler.as_deref(), Some("community"));
        // accepted events are not measured against the acceptance limit
        let mut a = reported(3, now);
        a.status = EventStatus::Accepted;
        assert_eq!(due(&a, &r.limits, now), None);
    }

    #[test]
    fn an_escalated_event_climbs_again_when_overdue_and_stops_at_a_department() {
        let r = EventRules::builtin().unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let mut evs = vec![reported(0, t0)];
        evs[0].category = EventCategory::parse("04.01").unwrap(); // fire: dept:fire_service
        let mut at = t0 + Duration::hours(3);
        let mut chain = Vec::new();
        for _ in 0..3 {
            let out = escalate_due(&mut evs, &r, "sla", at);
            assert_eq!(out.len(), 1, "due at {at}");
            let esc = out[0].result.as_ref().unwrap();
            chain.push((esc.transition.from, esc.to.code()));
            assert_eq!(
                evs[0].deadline,
                Some(r.limits.deadline(at, evs[0].category, evs[0].grade))
            );
            // right after the climb the new level has its whole limit, and
            // red by the share of the time since the report is not enough
            assert!(escalate_due(&mut evs, &r, "sla", at).is_empty());
            let dl = evs[0].deadline.unwrap();
            assert!(escalate_due(&mut evs, &r, "sla", dl).is_empty());
            at = dl + Duration::minutes(1);
        }
        assert_eq!(
            chain,
            [
                (EventStatus::Reported, "community".to_string()),
                (EventStatus::Escalated, "town".to_string()),
                (EventStatus::Escalated, "dept:fire_service".to_string()),
            ]
        );
        // at the department: due, but it stops climbing and says so
        let out = escalate_due(&mut evs, &r, "sla", at);
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0].result, Err(EscalateError::TopLevel { .. })));
        assert_eq!(out[0].reason, DueReason::Late(SlaLevel::Overdue));
        assert_eq!(evs[0].handler.as_deref(), Some("dept:fire_service"));
        assert_eq!(evs[0].status, EventStatus::Escalated);
    }

    #[test]
    fn a_due_event_without_a_handler_is_reported_not_dropped() {
        let r = EventRules::builtin().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let mut evs = vec![reported(5, now)];
        evs[0].handler = None;
        let out = escalate_due(&mut evs, &r, "sla", now);
        assert!(matches!(
            out[0].result,
            Err(EscalateError::NoHandler { .. })
        ));
    }

    #[test]
    fn the_acceptance_limit_is_a_setting() {
        let r = EventRules::parse("[limits]\naccept_h = 0.5", "t.toml").unwrap();
        assert_eq!(r.limits.accept_h, 0.5);
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        assert_eq!(r.limits.accept_by(t0), t0 + Duration::minutes(30));
        let e = EventRules::parse("[limits]\naccept_h = 0", "t.toml").unwrap_err();
        assert!(e.to_string().contains("limits.accept_h"), "{e}");
    }

    #[test]
    fn working_hours_skip_night_and_weekend() {
        let tz = chrono_tz::Asia::Shanghai;
        // Friday 17:00 local = 09:00 UTC; 2 working hours → Monday 10:00 local.
        let from = Utc.with_ymd_and_hms(2024, 5, 3, 9, 0, 0).unwrap();
        let d = add_working(tz, 9, 18, from, 7200);
        assert_eq!(d, Utc.with_ymd_and_hms(2024, 5, 6, 2, 0, 0).unwrap());
        assert_eq!(working_s(tz, 9, 18, from, d), 7200);
    }
}
