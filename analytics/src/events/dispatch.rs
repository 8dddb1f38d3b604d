//! Dispatch (派单): the first rule whose conditions all match picks the lead
//! handler and the assisting ones ("网格吹哨、部门报到"); no match gives the
//! configured fallback (the community by default).
//!
//! ```
//! use analytics::events::{dispatch::Handler, EventRules};
//! use geo_core::{model::*, taxonomy::EventCategory};
//! # use geo_core::ids::EventId;
//! # use chrono::Utc;
//! let rules = EventRules::builtin().unwrap();
//! # let ev = Event { id: EventId::new(1).unwrap(), category: EventCategory::parse("04.01").unwrap(),
//! #   title: "楼道堆放杂物".into(), location: geo_types::Point::new(0.0, 0.0), reported_at: Utc::now(),
//! #   source: EventSource::Patrol, status: EventStatus::Accepted, grade: Grade::General, deadline: None,
//! #   handler: None, resolved_at: None, satisfaction: None, master: None, reporter_household: None };
//! // a fire hazard (04.01) in an ordinary grid
//! let a = rules.dispatch(&ev, &GridRefs::default());
//! assert_eq!(a.lead, Handler::Department("fire_service".into()));
//! assert!(a.assist.contains(&Handler::Department("property_security".into())));
//! ```

use geo_core::model::{Event, EventSource, Grade, GridKind, GridRefs};
use geo_core::taxonomy::{EventCategory, GROUPS};
use serde::{Deserialize, Serialize};

use super::{EventRules, RulesError};

/// Who handles an event. The code form (`grid`, `community`, `town`,
/// `dept:<name>`) is what [`Event::handler`] stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Handler {
    /// The grid worker (网格员): "small matters stay in the grid".
    GridWorker,
    /// The community (社区居委会).
    Community,
    /// The town or sub-district office (街道/镇).
    Town,
    /// A functional department (职能部门), by snake_case name.
    Department(String),
}

impl Handler {
    /// Parses `grid`, `community`, `town` or `dept:<name>`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "grid" => Ok(Self::GridWorker),
            "community" => Ok(Self::Community),
            "town" => Ok(Self::Town),
            t => match t.strip_prefix("dept:") {
                Some(name)
                    if !name.is_empty()
                        && name
                            .bytes()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_') =>
                {
                    Ok(Self::Department(name.to_string()))
                }
                Some(_) => Err("a department name is snake_case ASCII after `dept:`".into()),
                None => Err("expected grid, community, town or dept:<name>".into()),
            },
        }
    }

    /// The stored code.
    pub fn code(&self) -> String {
        match self {
            Self::GridWorker => "grid".into(),
            Self::Community => "community".into(),
            Self::Town => "town".into(),
            Self::Department(d) => format!("dept:{d}"),
        }
    }

    /// Level in the escalation chain: grid 0, community 1, town 2, department 3.
    pub fn level(&self) -> u8 {
        match self {
            Self::GridWorker => 0,
            Self::Community => 1,
            Self::Town => 2,
            Self::Department(_) => 3,
        }
    }
}

impl std::fmt::Display for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code())
    }
}

impl Serialize for Handler {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

/// A category condition: one leaf or a whole first-level group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CategoryMatch {
    /// A leaf `NN.MM`.
    Leaf(EventCategory),
    /// A group `NN`.
    Group(&'static str),
}

impl CategoryMatch {
    /// True when `c` falls under this condition.
    pub fn matches(&self, c: EventCategory) -> bool {
        match self {
            Self::Leaf(l) => *l == c,
            Self::Group(g) => c.group() == *g,
        }
    }
}

/// One validated dispatch rule. Empty condition lists match anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Name (for logs and the timeline note).
    pub name: String,
    /// Category conditions (any of).
    pub categories: Vec<CategoryMatch>,
    /// Grades (any of).
    pub grades: Vec<Grade>,
    /// Kinds of grid the event lies in (any of).
    pub places: Vec<GridKind>,
    /// Sources (any of).
    pub sources: Vec<EventSource>,
    /// Lead handler.
    pub handler: Handler,
    /// Assisting handlers.
    pub assist: Vec<Handler>,
}

impl Rule {
    /// True when the event meets every condition of the rule.
    pub fn matches(&self, event: &Event, refs: &GridRefs) -> bool {
        self.matches_category(event.category)
            && (self.grades.is_empty() || self.grades.contains(&event.grade))
            && (self.sources.is_empty() || self.sources.contains(&event.source))
            && (self.places.is_empty()
                || self.places.iter().any(|k| match k {
                    GridKind::Comprehensive => refs.comprehensive.is_some(),
                    GridKind::Micro => refs.micro.is_some(),
                    GridKind::Dedicated => refs.dedicated.is_some(),
                }))
    }

    /// True when the category condition alone matches.
    pub fn matches_category(&self, c: EventCategory) -> bool {
        self.categories.is_empty() || self.categories.iter().any(|m| m.matches(c))
    }
}

/// The outcome of dispatch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Lead handler.
    pub lead: Handler,
    /// Assisting handlers.
    pub assist: Vec<Handler>,
    /// 1-based index of the rule that matched; `None` for the fallback.
    pub rule: Option<usize>,
    /// Name of the rule, or `fallback`.
    pub rule_name: String,
}

impl EventRules {
    /// Picks the handler of `event` lying in grids `refs`.
    pub fn dispatch(&self, event: &Event, refs: &GridRefs) -> Assignment {
        match self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(event, refs))
        {
            Some((i, r)) => Assignment {
                lead: r.handler.clone(),
                assist: r.assist.clone(),
                rule: Some(i + 1),
                rule_name: r.name.clone(),
            },
            None => Assignment {
                lead: self.fallback.clone(),
                assist: Vec::new(),
                rule: None,
                rule_name: "fallback".into(),
            },
        }
    }

    /// The department an event of category `c` escalates to: the lead of the
    /// first department rule for the category, else `escalation_department`.
    pub fn department_for(&self, c: EventCategory) -> Handler {
        self.rules
            .iter()
            .filter(|r| !r.categories.is_empty() && r.matches_category(c))
            .find_map(|r| match &r.handler {
                h @ Handler::Department(_) => Some(h.clone()),
                _ => None,
            })
            .unwrap_or_else(|| self.escalation_department.clone())
    }
}

/// A `[[rule]]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    name: Option<String>,
    #[serde(default)]
    category: Vec<String>,
    #[serde(default)]
    grade: Vec<String>,
    #[serde(default)]
    place: Vec<String>,
    #[serde(default)]
    source: Vec<String>,
    handler: String,
    #[serde(default)]
    assist: Vec<String>,
}

impl RawRule {
    pub(crate) fn validate(&self, path: &str, index: usize) -> Result<Rule, RulesError> {
        let name = self.name.clone().unwrap_or_else(|| "unnamed".into());
        let err = |field: &'static str, value: &str, reason: String| RulesError::Rule {
            path: path.to_string(),
            index,
            name: name.clone(),
            field,
            value: value.to_string(),
            reason,
        };
        let categories = self
            .category
            .iter()
            .map(|c| {
                let t = c.trim();
                if t.len() == 2 {
                    GROUPS
                        .iter()
                        .find(|g| g.0 == t)
                        .map(|g| CategoryMatch::Group(g.0))
                        .ok_or_else(|| err("category", c, "not a first-level group 01–09".into()))
                } else {
                    EventCategory::parse(t)
                        .map(CategoryMatch::Leaf)
                        .map_err(|e| err("category", c, e.to_string()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let grades = self
            .grade
            .iter()
            .map(|g| Grade::parse(g).map_err(|e| err("grade", g, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let places = self
            .place
            .iter()
            .map(|g| GridKind::parse(g).map_err(|e| err("place", g, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let sources = self
            .source
            .iter()
            .map(|g| EventSource::parse(g).map_err(|e| err("source", g, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let handler =
            Handler::parse(&self.handler).map_err(|r| err("handler", &self.handler, r))?;
        let assist = self
            .assist
            .iter()
            .map(|h| Handler::parse(h).map_err(|r| err("assist", h, r)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rule {
            name,
            categories,
            grades,
            places,
            sources,
            handler,
            assist,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_codes_round_trip() {
        for s in ["grid", "community", "town", "dept:fire_service"] {
            assert_eq!(Handler::parse(s).unwrap().code(), s);
        }
        assert!(Handler::parse("dept:Fire Service").is_err());
        assert!(Handler::parse("mayor").is_err());
    }

    #[test]
    fn bad_rule_value_names_file_index_and_value() {
        let text = "[[rule]]\nname = \"a\"\nhandler = \"grid\"\n[[rule]]\nname = \"b\"\ncategory = [\"04.99\"]\nhandler = \"grid\"\n";
        let e = EventRules::parse(text, "town.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("town.toml") && e.contains("rule #2") && e.contains("04.99"),
            "{e}"
        );
        let text = "[[rule]]\nhandler = \"mayor\"\n";
        let e = EventRules::parse(text, "t.toml").unwrap_err().to_string();
        assert!(e.contains("rule #1") && e.contains("mayor"), "{e}");
    }
}
