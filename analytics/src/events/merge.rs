//! Merging duplicate reports (同类问题合并处理). On intake, earlier events of
//! the same category within a radius and a time window, with similar text,
//! are proposed as candidates with a score; [`merge`] keeps one master event
//! and links the others to it (status `merged`, `master` set).
//!
//! Text similarity is the Jaccard index of character bigrams, which works for
//! Chinese without word segmentation (`楼道堆放杂物` vs `楼道杂物堆放`).
//!
//! ```
//! use analytics::events::merge::text_similarity;
//! assert!(text_similarity("3号楼楼道堆放杂物", "3号楼楼道杂物堆放") > 0.5);
//! assert!(text_similarity("3号楼楼道堆放杂物", "小区门口违章停车") < 0.1);
//! ```

use chrono::{DateTime, Utc};
use geo::{Distance, Haversine};
use geo_core::ids::EventId;
use geo_core::model::lifecycle::{is_allowed, transition, LifecycleConfig, Transition};
use geo_core::model::{Event, EventStatus};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::RulesError;

/// Thresholds of duplicate detection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MergeParams {
    /// Maximum distance in metres (default 100).
    pub radius_m: f64,
    /// Maximum time between the reports in hours (default 72).
    pub window_h: f64,
    /// Minimum text similarity 0–1 (default 0.2).
    pub min_text: f64,
    /// Minimum combined score 0–1 (default 0.3).
    pub min_score: f64,
}

impl Default for MergeParams {
    fn default() -> Self {
        Self {
            radius_m: 100.0,
            window_h: 72.0,
            min_text: 0.2,
            min_score: 0.3,
        }
    }
}

impl MergeParams {
    pub(crate) fn from_raw(raw: Option<&RawMerge>, path: &str) -> Result<Self, RulesError> {
        let d = Self::default();
        let Some(r) = raw else { return Ok(d) };
        let p = Self {
            radius_m: r.radius_m.unwrap_or(d.radius_m),
            window_h: r.window_h.unwrap_or(d.window_h),
            min_text: r.min_text.unwrap_or(d.min_text),
            min_score: r.min_score.unwrap_or(d.min_score),
        };
        let checks = [
            ("merge.radius_m", p.radius_m, p.radius_m > 0.0),
            ("merge.window_h", p.window_h, p.window_h > 0.0),
            (
                "merge.min_text",
                p.min_text,
                (0.0..=1.0).contains(&p.min_text),
            ),
            (
                "merge.min_score",
                p.min_score,
                (0.0..=1.0).contains(&p.min_score),
            ),
        ];
        for (field, v, ok) in checks {
            if !ok || !v.is_finite() {
                return Err(RulesError::Setting {
                    path: path.to_string(),
                    field: field.to_string(),
                    value: v.to_string(),
                    reason: "radius and window must be positive, similarities within 0–1".into(),
                });
            }
        }
        Ok(p)
    }
}

/// `[merge]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMerge {
    radius_m: Option<f64>,
    window_h: Option<f64>,
    min_text: Option<f64>,
    min_score: Option<f64>,
}

/// A proposed duplicate of a new event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Position in the slice searched.
    pub index: usize,
    /// Its ID.
    pub id: EventId,
    /// Distance in metres (Haversine).
    pub distance_m: f64,
    /// Hours between the two reports (absolute).
    pub hours_apart: f64,
    /// Character-bigram Jaccard similarity of the titles.
    pub text_similarity: f64,
    /// Combined score 0–1: 0.4 × nearness + 0.3 × recency + 0.3 × text.
    pub score: f64,
}

fn bigrams(s: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let mut out: Vec<(char, char)> = if chars.len() == 1 {
        vec![(chars[0], '\0')]
    } else {
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Jaccard index of the sets of character bigrams (letters and digits only,
/// case-folded); 1.0 for two empty texts.
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (x.len() + y.len() - inter) as f64
}

/// Earlier or later events in `existing` that look like the same matter as
/// `new`: same category, within `radius_m` and `window_h`, text similarity at
/// least `min_text` and score at least `min_score`; merged and rejected
/// events and `new` itself are skipped. Best first.
pub fn candidates(new: &Event, existing: &[Event], params: &MergeParams) -> Vec<Candidate> {
    score(new, existing.iter().enumerate(), params, usize::MAX)
}

/// Most earlier reports an intake compares by text with a new one
/// ([`candidates_newest_first`]): the most recent of its category within the
/// radius and the time window. A burst of identical reports at one place
/// (thousands within the window) would otherwise make every intake compare
/// with all of them, under the view's lock.
pub const MAX_COMPARED: usize = 500;

/// Most near-duplicates an intake proposes, best first
/// ([`crate::events::EventRules::intake`]): enough to merge a burst by
/// hand, few enough that the answer stays small (after 1,400 similar
/// reports every answer once carried all of them, 82 KB).
pub const MAX_PROPOSED: usize = 10;

/// [`candidates`] among `existing` given with `newest`, the positions of
/// its events ordered by report time, newest first (as a view keeps them):
/// only the events reported within the time window of `new` are looked
/// at, found by binary search, so a town's whole history is not scanned on
/// every intake; of those, at most [`MAX_COMPARED`] — the most recent of
/// the category within the radius — are compared by text. Below that many,
/// the same answer as [`candidates`].
pub fn candidates_newest_first(
    new: &Event,
    existing: &[Event],
    newest: &[usize],
    params: &MergeParams,
) -> Vec<Candidate> {
    let window = chrono::Duration::seconds((params.window_h * 3600.0).ceil() as i64);
    let (Some(late), Some(early)) = (
        new.reported_at.checked_add_signed(window),
        new.reported_at.checked_sub_signed(window),
    ) else {
        return candidates(new, existing, params);
    };
    let at = |i: usize| existing.get(i).map(|e| e.reported_at);
    let from = newest.partition_point(|&i| at(i).is_some_and(|t| t > late));
    let to = newest.partition_point(|&i| at(i).is_some_and(|t| t >= early));
    let within = newest[from..to.max(from)]
        .iter()
        .filter_map(|&i| existing.get(i).map(|e| (i, e)));
    score(new, within, params, MAX_COMPARED)
}

/// The near-duplicates of `new` among `existing`, best first: of the events
/// of its category (not merged or rejected) within the time window and the
/// radius, the first `compare` are compared by text and scored.
fn score<'a>(
    new: &Event,
    existing: impl Iterator<Item = (usize, &'a Event)>,
    params: &MergeParams,
    compare: usize,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = existing
        .filter(|(_, e)| {
            e.id != new.id
                && e.category == new.category
                && !matches!(e.status, EventStatus::Merged | EventStatus::Rejected)
        })
        .filter_map(|(index, e)| {
            let hours_apart = (e.reported_at - new.reported_at).num_seconds().abs() as f64 / 3600.0;
            if hours_apart > params.window_h {
                return None;
            }
            let distance_m = Haversine.distance(new.location, e.location);
            (distance_m <= params.radius_m).then_some((index, e, hours_apart, distance_m))
        })
        .take(compare)
        .filter_map(|(index, e, hours_apart, distance_m)| {
            let text = text_similarity(&new.title, &e.title);
            if text < params.min_text {
                return None;
            }
            let score = 0.4 * (1.0 - distance_m / params.radius_m)
                + 0.3 * (1.0 - hours_apart / params.window_h)
                + 0.3 * text;
            (score >= params.min_score).then_some(Candidate {
                index,
                id: e.id,
                distance_m,
                hours_apart,
                text_similarity: text,
                score,
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    out
}

/// A refused merge. Nothing is changed when any event is refused.
#[derive(Debug, Error, PartialEq)]
pub enum MergeError {
    /// The master itself is merged or rejected.
    #[error("event {id} cannot be a master: its status is {status}")]
    BadMaster {
        /// Master.
        id: EventId,
        /// Its status.
        status: EventStatus,
    },
    /// An event was listed as its own duplicate.
    #[error("event {id} cannot be merged into itself")]
    SelfMerge {
        /// Event.
        id: EventId,
    },
    /// Categories differ.
    #[error("event {id} has category {category}, the master {master} has {master_category}")]
    CategoryMismatch {
        /// Event.
        id: EventId,
        /// Its category code.
        category: String,
        /// Master.
        master: EventId,
        /// Master's category code.
        master_category: String,
    },
    /// The event's state does not allow merging (it is being handled).
    #[error(
        "event {id} in status {status} cannot be merged (only reported, accepted or dispatched)"
    )]
    State {
        /// Event.
        id: EventId,
        /// Its status.
        status: EventStatus,
    },
}

/// Links every event of `others` to `master`: status `merged`, `master` set.
/// Validates all first, so either all are merged or none is.
pub fn merge<'a>(
    master: &Event,
    others: impl IntoIterator<Item = &'a mut Event>,
    actor: &str,
    at: DateTime<Utc>,
    cfg: &LifecycleConfig,
) -> Result<Vec<Transition>, MergeError> {
    if matches!(master.status, EventStatus::Merged | EventStatus::Rejected) {
        return Err(MergeError::BadMaster {
            id: master.id,
            status: master.status,
        });
    }
    let others: Vec<&mut Event> = others.into_iter().collect();
    for e in &others {
        if e.id == master.id {
            return Err(MergeError::SelfMerge { id: e.id });
        }
        if e.category != master.category {
            return Err(MergeError::CategoryMismatch {
                id: e.id,
                category: e.category.code().into(),
                master: master.id,
                master_category: master.category.code().into(),
            });
        }
        if !is_allowed(e.status, EventStatus::Merged) {
            return Err(MergeError::State {
                id: e.id,
                status: e.status,
            });
        }
    }
    let note = format!("merged into event {}", master.id);
    let mut out = Vec::with_capacity(others.len());
    for e in others {
        let at = at.max(e.reported_at);
        let t = transition(e, EventStatus::Merged, actor, at, &note, cfg).map_err(|_| {
            MergeError::State {
                id: e.id,
                status: e.status,
            }
        })?;
        e.master = Some(master.id);
        out.push(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_edges() {
        assert_eq!(text_similarity("", ""), 1.0);
        assert_eq!(text_similarity("abc", "abc"), 1.0);
        assert_eq!(text_similarity("ab", "cd"), 0.0);
        // {楼道, 道杂, 杂物} vs {楼道, 道堆, 堆物}: 1 / 5
        assert!((text_similarity("楼道杂物", "楼道堆物") - 0.2).abs() < 1e-12);
    }
}
