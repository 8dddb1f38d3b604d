//! Rules of the event loop (闭环): who handles an event ([`dispatch`]), how
//! long they have ([`limits`]), and which reports are the same matter
//! ([`merge`]). All rules come from one TOML file; `config/dispatch.toml` in
//! this crate is the shipped default ([`EventRules::builtin`]), and a town may
//! load its own with [`EventRules::load`].
//!
//! ```
//! use analytics::events::{dispatch::Handler, EventRules};
//! let rules = EventRules::builtin().unwrap();
//! assert_eq!(rules.fallback, Handler::Community);
//! ```

pub mod dispatch;
pub mod limits;
pub mod merge;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use geo_core::model::lifecycle::LifecycleConfig;
use geo_core::model::{Event, GridRefs};

use serde::Deserialize;
use thiserror::Error;

use dispatch::{Assignment, Handler, Rule};
use limits::Limits;
use merge::{Candidate, MergeParams};

/// What intake decided for a new event (`POST /api/v1/events`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Intake {
    /// Who handles it.
    pub assignment: Assignment,
    /// Its deadline.
    pub deadline: DateTime<Utc>,
    /// Possible duplicates among the existing events, best first, at most
    /// [`merge::MAX_PROPOSED`].
    pub candidates: Vec<Candidate>,
}

/// The text of the shipped default rules.
pub const BUILTIN_RULES: &str = include_str!("../../config/dispatch.toml");
const BUILTIN_NAME: &str = "<builtin config/dispatch.toml>";

/// A rules file that could not be used. Every variant names the file.
#[derive(Debug, Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("{path}: cannot read rules file: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or an unknown or mistyped key.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: String,
        /// Parser message (with line and column).
        message: String,
    },
    /// A `[[rule]]` entry with a bad value. `index` is 1-based, in file order.
    #[error("{path}: rule #{index} ({name}): {field} = {value:?}: {reason}")]
    Rule {
        /// File.
        path: String,
        /// 1-based position of the `[[rule]]` in the file.
        index: usize,
        /// The rule's name (or `unnamed`).
        name: String,
        /// Key.
        field: &'static str,
        /// Offending value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A top-level, `[limits]` or `[merge]` setting with a bad value.
    #[error("{path}: {field} = {value:?}: {reason}")]
    Setting {
        /// File.
        path: String,
        /// Key (dotted).
        field: String,
        /// Offending value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
}

/// All rules of the event loop of one town.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRules {
    /// Dispatch rules in order; the first match wins.
    pub rules: Vec<Rule>,
    /// Handler when no rule matches.
    pub fallback: Handler,
    /// Department of last resort for escalation.
    pub escalation_department: Handler,
    /// Time limits and the time zone.
    pub limits: Limits,
    /// Duplicate detection.
    pub merge: MergeParams,
    /// State machine settings.
    pub lifecycle: LifecycleConfig,
    /// Display names of the departments (`[departments]`), by the name
    /// after `dept:`; a department without one shows as its name.
    pub departments: BTreeMap<String, DepartmentName>,
}

/// A department's name as people read it (`[departments]` of the rules:
/// `gas_company = { zh = "燃气公司", en = "Gas company" }`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentName {
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    timezone: Option<String>,
    reopen_window_h: Option<i64>,
    fallback: Option<String>,
    escalation_department: Option<String>,
    #[serde(default)]
    rule: Vec<dispatch::RawRule>,
    limits: Option<limits::RawLimits>,
    merge: Option<merge::RawMerge>,
    #[serde(default)]
    departments: BTreeMap<String, DepartmentName>,
}

impl EventRules {
    /// The shipped default (`config/dispatch.toml`).
    pub fn builtin() -> Result<Self, RulesError> {
        Self::parse(BUILTIN_RULES, BUILTIN_NAME)
    }

    /// Loads a rules file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RulesError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: name.clone(),
            source,
        })?;
        Self::parse(&text, &name)
    }

    /// Intake of a new event lying in grids `refs`: picks the handler, sets
    /// `event.handler` and (if unset) `event.deadline`, and proposes duplicates
    /// among `existing`. The status is left to the caller's transitions.
    pub fn intake(&self, event: &mut Event, refs: &GridRefs, existing: &[Event]) -> Intake {
        self.intake_with(event, refs, |e, merge| {
            merge::candidates(e, existing, merge)
        })
    }

    /// [`Self::intake`] where `existing` comes with `newest`, its positions
    /// newest first: the near-duplicates are searched within the time
    /// window only ([`merge::candidates_newest_first`]).
    pub fn intake_newest_first(
        &self,
        event: &mut Event,
        refs: &GridRefs,
        existing: &[Event],
        newest: &[usize],
    ) -> Intake {
        self.intake_with(event, refs, |e, merge| {
            merge::candidates_newest_first(e, existing, newest, merge)
        })
    }

    fn intake_with(
        &self,
        event: &mut Event,
        refs: &GridRefs,
        candidates: impl FnOnce(&Event, &merge::MergeParams) -> Vec<merge::Candidate>,
    ) -> Intake {
        let assignment = self.dispatch(event, refs);
        event.handler = Some(assignment.lead.code());
        let deadline = *event.deadline.get_or_insert_with(|| {
            self.limits
                .deadline(event.reported_at, event.category, event.grade)
        });
        Intake {
            assignment,
            deadline,
            candidates: {
                let mut c = candidates(event, &self.merge);
                c.truncate(merge::MAX_PROPOSED);
                c
            },
        }
    }

    /// An imported event (`wangge import events`, a 12345 hotline export)
    /// enters dispatch like any intake: an open event without a handler gets
    /// the lead handler of the rules for its grids `refs`, one without a
    /// deadline the limit of its category and grade counted from its report
    /// time. What the file gives is kept; closed, rejected and merged events
    /// are history and left alone. Returns true when it set anything.
    pub fn admit(&self, event: &mut Event, refs: &GridRefs) -> bool {
        if !event.status.is_open() {
            return false;
        }
        let mut changed = false;
        if event.handler.is_none() {
            event.handler = Some(self.dispatch(event, refs).lead.code());
            changed = true;
        }
        if event.deadline.is_none() {
            event.deadline = Some(self.limits.deadline(
                event.reported_at,
                event.category,
                event.grade,
            ));
            changed = true;
        }
        changed
    }

    /// Parses rules text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, RulesError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| RulesError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let setting = |field: &str, value: String, reason: &str| RulesError::Setting {
            path: origin.to_string(),
            field: field.to_string(),
            value,
            reason: reason.to_string(),
        };
        let tz: Tz = match &raw.timezone {
            Some(t) => t.parse().map_err(|_| {
                setting(
                    "timezone",
                    t.clone(),
                    "not an IANA time zone name (e.g. Asia/Shanghai)",
                )
            })?,
            None => chrono_tz::Asia::Shanghai,
        };
        let reopen_h = raw.reopen_window_h.unwrap_or(168);
        if reopen_h < 0 {
            return Err(setting(
                "reopen_window_h",
                reopen_h.to_string(),
                "must be zero or more hours",
            ));
        }
        let handler = |field: &str, v: &Option<String>, default: Handler| match v {
            Some(s) => Handler::parse(s).map_err(|reason| setting(field, s.clone(), &reason)),
            None => Ok(default),
        };
        let fallback = handler("fallback", &raw.fallback, Handler::Community)?;
        let escalation_department = handler(
            "escalation_department",
            &raw.escalation_department,
            Handler::Department("comprehensive_enforcement".into()),
        )?;
        if !matches!(escalation_department, Handler::Department(_)) {
            return Err(setting(
                "escalation_department",
                escalation_department.code(),
                "must be a department (dept:<name>)",
            ));
        }
        let rules = raw
            .rule
            .iter()
            .enumerate()
            .map(|(i, r)| r.validate(origin, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        let limits = Limits::from_raw(raw.limits.as_ref(), tz, origin)?;
        let merge = MergeParams::from_raw(raw.merge.as_ref(), origin)?;
        for (name, shown) in &raw.departments {
            Handler::parse(&format!("dept:{name}"))
                .map_err(|reason| setting("departments", name.clone(), &reason))?;
            if shown.zh.trim().is_empty() || shown.en.trim().is_empty() {
                return Err(setting(
                    &format!("departments.{name}"),
                    format!("{shown:?}"),
                    "needs a zh and an en name",
                ));
            }
        }
        Ok(Self {
            rules,
            fallback,
            escalation_department,
            limits,
            merge,
            lifecycle: LifecycleConfig {
                reopen_window: Duration::hours(reopen_h),
            },
            departments: raw.departments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses() {
        let r = EventRules::builtin().unwrap();
        assert!(r.rules.len() > 10);
        assert_eq!(r.limits.tz, chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn every_department_of_the_builtin_rules_has_its_names() {
        let r = EventRules::builtin().unwrap();
        let named = |h: &Handler| match h {
            Handler::Department(d) => r.departments.contains_key(d),
            _ => true,
        };
        for rule in &r.rules {
            assert!(
                named(&rule.handler),
                "{:?} has no [departments] names",
                rule.handler
            );
            for a in &rule.assist {
                assert!(named(a), "{a:?} has no [departments] names");
            }
        }
        assert!(named(&r.escalation_department));
        assert_eq!(r.departments["gas_company"].zh, "燃气公司");
    }

    #[test]
    fn a_department_name_must_be_a_department_and_have_both_names() {
        let e = EventRules::parse(
            "[departments]\n\"Gas Co\" = { zh = \"燃气\", en = \"Gas\" }",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Gas Co") && e.contains("snake_case"), "{e}");
        let e = EventRules::parse("[departments]\ngas = { zh = \"\", en = \"Gas\" }", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("departments.gas"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = EventRules::parse("colour = 3", "town.toml").unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("town.toml:") && m.contains("colour"), "{m}");
    }

    #[test]
    fn an_imported_open_event_gets_a_handler_and_a_deadline() {
        use chrono::TimeZone;
        use geo_core::ids::EventId;
        use geo_core::model::{EventSource, EventStatus};
        use geo_core::taxonomy::EventCategory;
        let r = EventRules::builtin().unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let mut e = Event::reported(
            EventId::new(1).unwrap(),
            EventCategory::parse("04.01").unwrap(),
            "楼道堆放杂物",
            geo_types::Point::new(116.6, 36.9),
            t0,
            EventSource::Hotline,
        );
        assert!(r.admit(&mut e, &GridRefs::default()));
        assert_eq!(e.handler.as_deref(), Some("dept:fire_service"));
        assert_eq!(e.deadline, Some(r.limits.deadline(t0, e.category, e.grade)));
        // what the file gives is kept, and a second pass changes nothing
        assert!(!r.admit(&mut e, &GridRefs::default()));
        let mut given = e.clone();
        given.handler = Some("town".into());
        given.deadline = None;
        assert!(r.admit(&mut given, &GridRefs::default()));
        assert_eq!(given.handler.as_deref(), Some("town"));
        // history is left alone
        let mut closed = e.clone();
        closed.status = EventStatus::Closed;
        closed.handler = None;
        assert!(!r.admit(&mut closed, &GridRefs::default()));
        assert_eq!(closed.handler, None);
    }

    #[test]
    fn bad_timezone() {
        let e = EventRules::parse("timezone = \"Mars/Olympus\"", "t.toml").unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }
}
