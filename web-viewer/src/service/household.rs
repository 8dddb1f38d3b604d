//! 一户一档 and 民情: a household's file (members masked per caller, tags,
//! needs, visits, linked events, satisfaction), the visit schedule of the
//! care lists and its overdue visits, and the per-grid 民情 figures. No HTTP
//! here: the routes read the request, call these and answer what they build.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use geo::Contains;
use geo_core::ids::{scrub_names, scrub_text, GridId, PersonId};
use geo_core::model::{
    schedule_days, Event, GridKind, GridRefs, Household, Need, Person, PersonTag, Visit, RISK_TAGS,
    SCHEDULE,
};
use geo_core::store::CareRow;
use serde::Serialize;

use crate::present::{in_grids, worker_grids, GridCodes};
use crate::role::Access;
use crate::view::TownView;

/// Who is revealed in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// Nobody: names, ID numbers, phones masked; free text scrubbed.
    None,
    /// One member (the others stay masked, free text scrubbed).
    One(PersonId),
    /// Every member and the free text.
    All,
}

impl Reveal {
    fn shows(self, p: PersonId) -> bool {
        match self {
            Reveal::None => false,
            Reveal::One(x) => x == p,
            Reveal::All => true,
        }
    }
}

/// A member of a household as the caller may see them.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// Person ID.
    pub id: u64,
    /// Name (masked unless revealed).
    pub name: String,
    /// ID number (masked unless revealed).
    pub national_id: Option<String>,
    /// Phone (masked unless revealed).
    pub phone: Option<String>,
    /// Year of birth.
    pub birth_year: u16,
    /// Age this year.
    pub age: i32,
    /// Sex code.
    pub sex: &'static str,
    /// Tag codes.
    pub tags: Vec<&'static str>,
    /// True when this member is shown unmasked.
    pub revealed: bool,
}

/// A visit in the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct VisitView {
    /// Visit ID.
    pub id: u64,
    /// When, RFC 3339.
    pub at: String,
    /// Kind code.
    pub kind: &'static str,
    /// Notes (scrubbed unless revealed).
    pub notes: String,
    /// Who recorded it.
    pub actor: String,
    /// The needs it found.
    pub needs: Vec<u64>,
    /// Its photos, oldest first (files at `/api/v1/visits/{id}/photos/{sha256}`
    /// and `…/thumb`, scoped and audited like the file).
    pub photos: Vec<crate::present::PhotoView>,
}

/// A need.
#[derive(Debug, Clone, Serialize)]
pub struct NeedView {
    /// Need ID.
    pub id: u64,
    /// The visit that found it.
    pub visit: Option<u64>,
    /// Category code.
    pub category: &'static str,
    /// Text (scrubbed unless revealed).
    pub text: String,
    /// Found, RFC 3339.
    pub opened_at: String,
    /// Closed, RFC 3339.
    pub closed_at: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// True while open.
    pub open: bool,
}

impl NeedView {
    /// The view of a need; `scrub` masks numbers and these names in its text.
    pub fn of(n: &Need, scrub: Option<&[String]>) -> NeedView {
        NeedView {
            id: n.id.get(),
            visit: n.visit.map(|v| v.get()),
            category: n.category.code(),
            text: scrubbed(&n.text, scrub),
            opened_at: n.opened_at.to_rfc3339(),
            closed_at: n.closed_at.map(|t| t.to_rfc3339()),
            closed_by: n.closed_by.clone(),
            open: n.is_open(),
        }
    }
}

impl VisitView {
    /// The view of a visit and the IDs of the needs it found.
    pub fn of(
        v: &Visit,
        needs: &[Need],
        photos: &[geo_core::store::VisitPhotoRow],
        scrub: Option<&[String]>,
    ) -> VisitView {
        VisitView {
            photos: photos
                .iter()
                .filter(|p| p.visit == v.id)
                .map(crate::present::PhotoView::from)
                .collect(),
            id: v.id.get(),
            at: v.at.to_rfc3339(),
            kind: v.kind.code(),
            notes: scrubbed(&v.notes, scrub),
            actor: v.actor.clone(),
            needs: needs
                .iter()
                .filter(|n| n.visit == Some(v.id))
                .map(|n| n.id.get())
                .collect(),
        }
    }
}

fn scrubbed(text: &str, names: Option<&[String]>) -> String {
    match names {
        None => text.to_string(),
        Some(names) => scrub_names(&scrub_text(text), names),
    }
}

/// An event linked to a household.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedEvent {
    /// Event ID.
    pub id: u64,
    /// Category code.
    pub category: &'static str,
    /// Title (scrubbed unless revealed).
    pub title: String,
    /// Status code.
    pub status: &'static str,
    /// Reported, RFC 3339.
    pub reported_at: String,
    /// `reported` (the household reported it) or `building` (at its building).
    pub link: &'static str,
    /// Satisfaction 1–5 of the return visit.
    pub satisfaction: Option<u8>,
}

/// One satisfaction rating of a linked event.
#[derive(Debug, Clone, Serialize)]
pub struct Rating {
    /// Event ID.
    pub event: u64,
    /// When the event was resolved (or reported), RFC 3339.
    pub at: String,
    /// 1–5.
    pub score: u8,
}

/// Where a household stands on its visit schedule.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    /// Interval in days its tags need ([`SCHEDULE`]).
    pub interval_days: u32,
    /// Last visit, RFC 3339.
    pub last_visit: Option<String>,
    /// Next visit due, RFC 3339 (now when never visited).
    pub due_at: String,
    /// True when the due time has passed.
    pub overdue: bool,
    /// Whole days past due (0 when not overdue).
    pub days_overdue: i64,
}

impl Schedule {
    /// The schedule of a household with these tags and last visit at `now`.
    pub fn of(tags: &[PersonTag], last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Self> {
        let days = schedule_days(tags)?;
        let due = last.map_or(now, |l| l + Duration::days(i64::from(days)));
        let overdue = last.is_none() || due < now;
        Some(Schedule {
            interval_days: days,
            last_visit: last.map(|l| l.to_rfc3339()),
            due_at: due.to_rfc3339(),
            overdue,
            days_overdue: if overdue { (now - due).num_days() } else { 0 },
        })
    }
}

/// A household's file (一户一档), as `GET /api/v1/households/{id}/file` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct HouseholdFile {
    /// Household ID.
    pub id: u64,
    /// Address: building address, unit and room.
    pub address: String,
    /// Building ID.
    pub building: u64,
    /// Unit number in the building.
    pub unit: Option<u16>,
    /// Floor.
    pub floor: i16,
    /// Room.
    pub room: String,
    /// Residents.
    pub size: u8,
    /// Tenure code.
    pub tenure: &'static str,
    /// Group rental.
    pub group_rented: bool,
    /// Party-member household.
    pub party_member: bool,
    /// Its grids.
    pub grids: GridCodes,
    /// Members, masked per caller.
    pub members: Vec<Member>,
    /// Tags of the household: its members' tags, distinct.
    pub tags: Vec<&'static str>,
    /// Its visit schedule, when a tag needs one.
    pub schedule: Option<Schedule>,
    /// Needs, open first.
    pub needs: Vec<NeedView>,
    /// Visits, newest first.
    pub visits: Vec<VisitView>,
    /// Events it reported or at its building, newest first.
    pub events: Vec<LinkedEvent>,
    /// Satisfaction ratings of those events, oldest first.
    pub satisfaction: Vec<Rating>,
    /// What was revealed: `none`, `one` or `all`.
    pub revealed: &'static str,
}

/// What the store gave for one household's file.
pub struct FileParts {
    /// The household.
    pub household: Household,
    /// Its grids.
    pub refs: GridRefs,
    /// Members.
    pub members: Vec<Person>,
    /// Visits, newest first.
    pub visits: Vec<Visit>,
    /// Needs, open first.
    pub needs: Vec<Need>,
    /// Photos of its visits.
    pub photos: Vec<geo_core::store::VisitPhotoRow>,
}

/// Distinct tags of a household's members, in vocabulary order.
pub fn household_tags(members: &[Person]) -> Vec<PersonTag> {
    let mut t: Vec<PersonTag> = members
        .iter()
        .flat_map(|p| p.tags.iter().copied())
        .collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// Builds the file from the store's parts and the view's events.
pub fn file(
    view: &TownView,
    access: &Access,
    parts: FileParts,
    reveal: Reveal,
    now: DateTime<Utc>,
) -> HouseholdFile {
    let FileParts {
        household: h,
        refs,
        members,
        visits,
        needs,
        photos,
    } = parts;
    let names: Vec<String> = members.iter().map(|p| p.name.clone()).collect();
    let scrub = (reveal != Reveal::All).then_some(names.as_slice());
    let building = view.dataset.buildings.iter().find(|b| b.id == h.building);
    let unit = h
        .unit
        .and_then(|u| view.dataset.units.iter().find(|x| x.id == u))
        .map(|u| u.number);
    let mut address = building
        .and_then(|b| b.address.clone())
        .unwrap_or_else(|| format!("楼栋 {}", h.building));
    if let Some(u) = unit {
        address.push_str(&format!(" {u}单元"));
    }
    address.push_str(&format!(" {}", h.room));
    let tags = household_tags(&members);
    let year = now.format("%Y").to_string().parse().unwrap_or(2026);
    let members = members
        .iter()
        .map(|p| {
            let shown = reveal.shows(p.id);
            Member {
                id: p.id.get(),
                name: if shown {
                    p.name.clone()
                } else {
                    geo_core::ids::mask_name(&p.name)
                },
                national_id: p.national_id.as_ref().map(|n| {
                    if shown {
                        n.reveal().to_string()
                    } else {
                        n.masked()
                    }
                }),
                phone: p.phone.as_ref().map(|n| {
                    if shown {
                        n.reveal().to_string()
                    } else {
                        n.masked()
                    }
                }),
                birth_year: p.birth_year,
                age: p.age_in(year),
                sex: p.sex.code(),
                tags: p.tags.iter().map(|t| t.code()).collect(),
                revealed: shown,
            }
        })
        .collect();
    // Events the household reported, and events at its building, that
    // this caller may see.
    let mine = worker_grids(access, view);
    let mut events: Vec<(&Event, &'static str)> = view
        .dataset
        .events
        .iter()
        .zip(&view.event_refs)
        .filter(|(e, r)| access.may_see_event(e.handler.as_deref(), in_grids(&mine, r)))
        .filter_map(|(e, _)| {
            if e.reporter_household == Some(h.id) {
                Some((e, "reported"))
            } else if building.is_some_and(|b| b.footprint.contains(&e.location)) {
                Some((e, "building"))
            } else {
                None
            }
        })
        .collect();
    events.sort_by_key(|(e, _)| std::cmp::Reverse(e.reported_at));
    let mut satisfaction: Vec<Rating> = events
        .iter()
        .filter_map(|(e, _)| {
            e.satisfaction.map(|s| Rating {
                event: e.id.get(),
                at: e.resolved_at.unwrap_or(e.reported_at).to_rfc3339(),
                score: s,
            })
        })
        .collect();
    satisfaction.sort_by(|a, b| a.at.cmp(&b.at));
    let events = events
        .into_iter()
        .map(|(e, link)| {
            let mut names = names.clone();
            names.extend(view.names_of(e).iter().cloned());
            LinkedEvent {
                id: e.id.get(),
                category: e.category.code(),
                title: scrubbed(&e.title, scrub.map(|_| names.as_slice())),
                status: e.status.code(),
                reported_at: e.reported_at.to_rfc3339(),
                link,
                satisfaction: e.satisfaction,
            }
        })
        .collect();
    let last = visits.iter().map(|v| v.at).max();
    HouseholdFile {
        id: h.id.get(),
        address,
        building: h.building.get(),
        unit,
        floor: h.floor,
        room: h.room.clone(),
        size: h.size,
        tenure: h.tenure.code(),
        group_rented: h.group_rented,
        party_member: h.party_member,
        grids: GridCodes::of(view, &refs),
        members,
        tags: tags.iter().map(|t| t.code()).collect(),
        schedule: Schedule::of(&tags, last, now),
        needs: needs.iter().map(|n| NeedView::of(n, scrub)).collect(),
        visits: visits
            .iter()
            .map(|v| VisitView::of(v, &needs, &photos, scrub))
            .collect(),
        events,
        satisfaction,
        revealed: match reveal {
            Reveal::None => "none",
            Reveal::One(_) => "one",
            Reveal::All => "all",
        },
    }
}

/// A rule of the visit schedule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Person tag code.
    pub tag: &'static str,
    /// Interval in days.
    pub interval_days: u32,
}

/// The schedule's rules ([`SCHEDULE`]).
pub fn rules() -> Vec<Rule> {
    SCHEDULE
        .iter()
        .map(|(t, d)| Rule {
            tag: t.code(),
            interval_days: *d,
        })
        .collect()
}

/// A household whose visit is overdue.
#[derive(Debug, Clone, Serialize)]
pub struct OverdueVisit {
    /// Household ID.
    pub household: u64,
    /// Building address and room (no names).
    pub address: String,
    /// Comprehensive grid code.
    pub grid: Option<String>,
    /// Tags of its members.
    pub tags: Vec<&'static str>,
    /// Where it stands.
    #[serde(flatten)]
    pub schedule: Schedule,
}

/// Overdue and scheduled households of one grid.
#[derive(Debug, Clone, Serialize)]
pub struct GridOverdue {
    /// Grid code (`null`: households in no comprehensive grid).
    pub grid: Option<String>,
    /// Grid name.
    pub name: Option<String>,
    /// Households on the schedule.
    pub scheduled: u64,
    /// Of them, overdue.
    pub overdue: u64,
}

/// `GET /api/v1/visits/overdue`.
#[derive(Debug, Clone, Serialize)]
pub struct OverdueList {
    /// The time it was computed at, RFC 3339.
    pub as_of: String,
    /// The schedule's rules.
    pub rules: Vec<Rule>,
    /// Overdue households in scope.
    pub total: u64,
    /// Counts per comprehensive grid.
    pub grids: Vec<GridOverdue>,
    /// Overdue households, most overdue first (at most `limit`).
    pub households: Vec<OverdueVisit>,
}

fn grid_of(view: &TownView, g: Option<GridId>) -> Option<&geo_core::model::Grid> {
    g.and_then(|g| view.grid_pos.get(&g))
        .map(|&i| &view.dataset.grids[i])
}

/// The overdue visits among `rows` at `now`, counted per grid.
pub fn overdue(view: &TownView, rows: &[CareRow], now: DateTime<Utc>, limit: usize) -> OverdueList {
    let mut grids: BTreeMap<Option<GridId>, (u64, u64)> = BTreeMap::new();
    let mut list = Vec::new();
    for r in rows {
        let Some(s) = Schedule::of(&r.tags, r.last_visit, now) else {
            continue;
        };
        let e = grids.entry(r.refs.comprehensive).or_default();
        e.0 += 1;
        if !s.overdue {
            continue;
        }
        e.1 += 1;
        let address = view
            .dataset
            .buildings
            .iter()
            .find(|b| b.id == r.building)
            .and_then(|b| b.address.clone())
            .unwrap_or_else(|| format!("楼栋 {}", r.building));
        list.push(OverdueVisit {
            household: r.household.get(),
            address: format!("{address} {}", r.room),
            grid: grid_of(view, r.refs.comprehensive).map(|g| g.code.as_str().to_string()),
            tags: r.tags.iter().map(|t| t.code()).collect(),
            schedule: s,
        });
    }
    list.sort_by(|a, b| {
        b.schedule
            .days_overdue
            .cmp(&a.schedule.days_overdue)
            .then(a.household.cmp(&b.household))
    });
    let total = list.len() as u64;
    list.truncate(limit);
    OverdueList {
        as_of: now.to_rfc3339(),
        rules: rules(),
        total,
        grids: grids
            .into_iter()
            .map(|(g, (scheduled, overdue))| {
                let grid = grid_of(view, g);
                GridOverdue {
                    grid: grid.map(|g| g.code.as_str().to_string()),
                    name: grid.map(|g| g.name.clone()),
                    scheduled,
                    overdue,
                }
            })
            .collect(),
        households: list,
    }
}

/// 民情 figures of one comprehensive grid: households, never one of them.
#[derive(Debug, Clone, Serialize)]
pub struct GridSentiment {
    /// Grid code.
    pub code: String,
    /// Grid name.
    pub name: String,
    /// Households in the grid.
    pub households: u64,
    /// Households with open needs (`null`: fewer than k, suppressed).
    pub open_needs: Option<u64>,
    /// Households whose visit is overdue.
    pub overdue_visits: Option<u64>,
    /// Households with a risk tag (key persons).
    pub risk: Option<u64>,
    /// Households with any of the three, per 100 households: the map's
    /// colour (0 when that count is suppressed).
    pub attention_per_100: f64,
}

/// One grid of the 民情 layer (GeoJSON feature).
#[derive(Debug, Clone, Serialize)]
pub struct SentimentFeature {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The grid's boundary.
    pub geometry: geojson::Geometry,
    /// Its figures.
    pub properties: GridSentiment,
}

/// `GET /api/v1/grids/sentiment`: a GeoJSON FeatureCollection.
#[derive(Debug, Clone, Serialize)]
pub struct SentimentLayer {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The time it was computed at, RFC 3339.
    pub as_of: String,
    /// Counts below this are suppressed for roles without personal data (0: none).
    pub k: u32,
    /// One feature per comprehensive grid.
    pub features: Vec<SentimentFeature>,
}

/// The 民情 layer: per comprehensive grid, households with open needs,
/// overdue visits or a risk tag. With `k > 0`, counts from 1 to k − 1 are
/// suppressed (`null`), so a small count cannot point at one household.
pub fn sentiment_layer(
    view: &TownView,
    rows: &[CareRow],
    now: DateTime<Utc>,
    k: u32,
) -> SentimentLayer {
    #[derive(Default)]
    struct Acc {
        households: u64,
        needs: u64,
        overdue: u64,
        risk: u64,
        any: u64,
    }
    let mut acc: BTreeMap<GridId, Acc> = BTreeMap::new();
    for r in rows {
        let Some(g) = r.refs.comprehensive else {
            continue;
        };
        let a = acc.entry(g).or_default();
        a.households += 1;
        let need = r.open_needs > 0;
        let late = Schedule::of(&r.tags, r.last_visit, now).is_some_and(|s| s.overdue);
        let risk = r.tags.iter().any(|t| RISK_TAGS.contains(t));
        a.needs += u64::from(need);
        a.overdue += u64::from(late);
        a.risk += u64::from(risk);
        a.any += u64::from(need || late || risk);
    }
    let hide = |n: u64| (k == 0 || n == 0 || n >= u64::from(k)).then_some(n);
    let features = view
        .dataset
        .grids
        .iter()
        .filter(|g| g.kind == GridKind::Comprehensive)
        .map(|g| {
            let a = acc.remove(&g.id).unwrap_or_default();
            SentimentFeature {
                kind: "Feature",
                geometry: geojson::Geometry::new(geojson::GeometryValue::from(&g.boundary)),
                properties: GridSentiment {
                    code: g.code.as_str().to_string(),
                    name: g.name.clone(),
                    households: a.households,
                    open_needs: hide(a.needs),
                    overdue_visits: hide(a.overdue),
                    risk: hide(a.risk),
                    attention_per_100: if a.households > 0 && hide(a.any).is_some() {
                        (a.any as f64 * 1000.0 / a.households as f64).round() / 10.0
                    } else {
                        0.0
                    },
                },
            }
        })
        .collect();
    SentimentLayer {
        kind: "FeatureCollection",
        as_of: now.to_rfc3339(),
        k,
        features,
    }
}
