//! Visits and needs of the demo town's care-list households (一户一档), so
//! the household file, the overdue list and the 民情 layer are not empty.
//!
//! Deterministic: which household gets which visit, kind, note and need
//! follows from its ID and the seed; the times are counted back from `now`
//! (the moment `wangge demo` runs), so the schedule is always partly met and
//! partly overdue, whatever the day.

use chrono::{DateTime, Duration, Utc};
use geo_core::ids::{HouseholdId, NeedId, VisitId};
use geo_core::model::{schedule_days, Need, NeedCategory, PersonTag, Visit, VisitKind};

use super::rng::{stream, ui};

/// Who recorded the demo's visits.
pub const DEMO_ACTOR: &str = "worker:demo";

const NOTES: [&str; 5] = [
    "入户走访，老人身体状况良好，家中水电燃气正常。",
    "夜访，家中有人，了解近期生活情况，无异常。",
    "回访上次反映的问题，已基本解决，住户表示满意。",
    "入户走访，提醒注意用电安全，检查了烟感。",
    "电话预约后上门，了解就医和出行需求。",
];

const NEEDS: [(NeedCategory, &str); 6] = [
    (NeedCategory::Care, "希望安排助餐送餐服务"),
    (NeedCategory::Health, "需要家庭医生上门随访"),
    (NeedCategory::Repair, "楼道扶手松动，需要维修"),
    (NeedCategory::Assistance, "咨询低保复核材料"),
    (NeedCategory::Safety, "家中燃气软管老化"),
    (NeedCategory::Education, "孩子放学后无人看护"),
];

/// Visits and needs for the households with scheduled tags among
/// `households` (`(household, its members' tags)`), IDs from 1.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use geo_core::ids::HouseholdId;
/// use geo_core::model::PersonTag;
/// let h = |i| HouseholdId::new(i).unwrap();
/// let rows: Vec<_> = (1..=40).map(|i| (h(i), vec![PersonTag::ElderlyAlone])).collect();
/// let now = Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap();
/// let (visits, needs) = wangge_data::demo::visits::plan(&rows, 7, now);
/// assert!(visits.len() >= 40 && !needs.is_empty());
/// assert_eq!(wangge_data::demo::visits::plan(&rows, 7, now).0, visits);
/// ```
pub fn plan(
    households: &[(HouseholdId, Vec<PersonTag>)],
    seed: u64,
    now: DateTime<Utc>,
) -> (Vec<Visit>, Vec<Need>) {
    let mut visits = Vec::new();
    let mut needs = Vec::new();
    for (h, tags) in households {
        let Some(days) = schedule_days(tags) else {
            continue;
        };
        let mut rng = stream(seed, &[0x0056_4953_4954, h.get()]);
        // One in eight was never visited (overdue at once); the others were
        // last visited between a day and one and a half intervals ago.
        if ui(&mut rng, 0, 7) == 0 {
            continue;
        }
        let span = i64::from(days) * 3 / 2;
        let last = now - Duration::hours(ui(&mut rng, 24, span * 24));
        let earlier = last - Duration::days(i64::from(days)) - Duration::hours(ui(&mut rng, 0, 48));
        for (k, at) in [(1, earlier), (0, last)] {
            let i = ui(&mut rng, 0, NOTES.len() as i64 - 1) as usize;
            let kind = match (k, i) {
                (_, 1) => VisitKind::Night,
                (_, 2) => VisitKind::FollowUp,
                _ => VisitKind::Routine,
            };
            let Ok(id) = VisitId::new(visits.len() as u64 + 1) else {
                continue;
            };
            visits.push(Visit {
                id,
                household: *h,
                at,
                kind,
                notes: NOTES[i].to_string(),
                actor: DEMO_ACTOR.to_string(),
            });
            // One visit in five finds a need; older ones are mostly closed.
            if ui(&mut rng, 0, 4) == 0 {
                let (category, text) = NEEDS[ui(&mut rng, 0, NEEDS.len() as i64 - 1) as usize];
                let closed = k == 1 && ui(&mut rng, 0, 3) > 0;
                let Ok(nid) = NeedId::new(needs.len() as u64 + 1) else {
                    continue;
                };
                needs.push(Need {
                    id: nid,
                    household: *h,
                    visit: Some(id),
                    category,
                    text: text.to_string(),
                    opened_at: at,
                    closed_at: closed.then(|| at + Duration::days(3)),
                    closed_by: closed.then(|| DEMO_ACTOR.to_string()),
                });
            }
        }
    }
    (visits, needs)
}
