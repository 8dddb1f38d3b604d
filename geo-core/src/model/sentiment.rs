//! 情: sentiment — visit notes, feedback, satisfaction, risk ratings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{EventId, HouseholdId, PlaceId, SentimentId};
use crate::vocab;

vocab!(
    /// What a sentiment record is.
    SentimentKind, "sentiment kind" {
        /// 走访记录.
        VisitNote => "visit_note",
        /// 意见反馈.
        Feedback => "feedback",
        /// 满意度.
        Satisfaction => "satisfaction",
        /// 风险评级.
        RiskRating => "risk_rating",
    }
);

/// What a sentiment record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLink {
    /// A household.
    Household(HouseholdId),
    /// A place.
    Place(PlaceId),
    /// An event.
    Event(EventId),
}

/// A sentiment record (民情).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// Identifier.
    pub id: SentimentId,
    /// Kind.
    pub kind: SentimentKind,
    /// Score: satisfaction 1–5, risk 0–3 (none, low, medium, high).
    pub score: Option<f32>,
    /// Free text (may contain personal data: masked on export for most roles).
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What it is about.
    pub link: SentimentLink,
}
