//! 走访 / 夜访: visits to households by grid workers, the needs (诉求) a visit
//! finds, and the visit schedule of the care lists (台账).
//!
//! A household is on a care list when one of its members carries a tag of
//! [`SCHEDULE`]; the shortest interval of its members' tags is the one it
//! needs ([`schedule_days`]). A visit is overdue when the last one (of any
//! kind) is older than that interval, or when there has been none.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::PersonTag;
use crate::ids::{HouseholdId, NeedId, VisitId};
use crate::vocab;

vocab!(
    /// What kind of visit.
    VisitKind, "visit kind" {
        /// 日常走访.
        Routine => "routine" ("日常走访", "Routine visit"),
        /// 夜访 (evening visit, when working residents are home).
        Night => "night" ("夜访", "Night visit"),
        /// 回访跟进: following up an earlier need or event.
        FollowUp => "follow_up" ("跟进回访", "Follow-up"),
    }
);

vocab!(
    /// What a need found on a visit is about.
    NeedCategory, "need category" {
        /// 生活照料 (meals, cleaning, company).
        Care => "care" ("生活照料", "Daily care"),
        /// 医疗健康.
        Health => "health" ("医疗健康", "Health"),
        /// 救助帮扶 (allowances, 低保 applications).
        Assistance => "assistance" ("救助帮扶", "Assistance"),
        /// 房屋设施维修.
        Repair => "repair" ("房屋维修", "Repairs"),
        /// 安全隐患.
        Safety => "safety" ("安全隐患", "Safety"),
        /// 就业.
        Employment => "employment" ("就业", "Employment"),
        /// 教育 / 看护 (children).
        Education => "education" ("教育看护", "Education and childcare"),
        /// 矛盾调解.
        Dispute => "dispute" ("矛盾调解", "Dispute"),
        /// Anything else.
        Other => "other" ("其他", "Other"),
    }
);

/// Visit intervals of the care lists, in days, by person tag: the
/// documented rule (`docs/api.md`, "Visit schedule"). A household's interval
/// is the shortest of its members' tags; tags not listed need no schedule.
pub const SCHEDULE: &[(PersonTag, u32)] = &[
    (PersonTag::ElderlyAlone, 7),
    (PersonTag::LeftBehindChild, 14),
    (PersonTag::Disabled, 30),
    (PersonTag::LowIncome, 30),
    (PersonTag::KeyPerson, 30),
];

/// Tags that mark a household as a risk on the 民情 map (key persons).
pub const RISK_TAGS: &[PersonTag] = &[PersonTag::KeyPerson];

/// The visit interval in days a household with these member tags needs, if
/// any.
///
/// ```
/// use geo_core::model::{schedule_days, PersonTag};
/// assert_eq!(schedule_days(&[PersonTag::PartyMember]), None);
/// assert_eq!(schedule_days(&[PersonTag::KeyPerson, PersonTag::ElderlyAlone]), Some(7));
/// ```
pub fn schedule_days(tags: &[PersonTag]) -> Option<u32> {
    SCHEDULE
        .iter()
        .filter(|(t, _)| tags.contains(t))
        .map(|(_, d)| *d)
        .min()
}

/// A recorded visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    /// Identifier.
    pub id: VisitId,
    /// The household visited.
    pub household: HouseholdId,
    /// When the visit took place.
    pub at: DateTime<Utc>,
    /// Kind.
    pub kind: VisitKind,
    /// Notes (free text: may name residents; masked at the edge unless revealed).
    pub notes: String,
    /// Who recorded it (the signed-in account, `role:name`).
    pub actor: String,
}

/// A need (诉求) of a household, found on a visit; open until closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Need {
    /// Identifier.
    pub id: NeedId,
    /// The household.
    pub household: HouseholdId,
    /// The visit that found it.
    pub visit: Option<VisitId>,
    /// Category.
    pub category: NeedCategory,
    /// Short description (free text, masked as visit notes are).
    pub text: String,
    /// When it was found.
    pub opened_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it.
    pub closed_by: Option<String>,
}

impl Need {
    /// True while nobody has closed it.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}
