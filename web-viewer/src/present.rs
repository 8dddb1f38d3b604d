//! What the HTTP answers show of events: the typed response bodies of the
//! event loop (an event's properties, its detail with the timeline, a change
//! as answered and streamed, an escalation run, a resident's receipt), and
//! what each caller may see of them (a worker's grids, the coarse copy for
//! planners and the screen, free text scrubbed unless revealed). Routes and
//! the event-loop service both build their answers here.

use chrono::{DateTime, TimeZone, Utc};
use geo_core::model::lifecycle::Transition;
use geo_core::model::{Event, EventStatus, GridRefs};
use geo_core::store::TransitionRow;
use serde::Serialize;
use serde_json::{Map, Value};

use analytics::events::limits::SlaLevel;
use analytics::events::EventRules;

use crate::role::{Access, Role};
use crate::view::TownView;

/// The grids of an element as codes (the community as its ID).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridCodes {
    /// Community ID.
    pub community: Option<u64>,
    /// Comprehensive grid code.
    pub comprehensive: Option<String>,
    /// Micro grid code.
    pub micro: Option<String>,
    /// Dedicated grid code.
    pub dedicated: Option<String>,
}

impl GridCodes {
    /// The codes of `r` in the view.
    pub fn of(view: &TownView, r: &GridRefs) -> Self {
        let code = |g: Option<geo_core::ids::GridId>| {
            g.and_then(|g| view.grid_pos.get(&g))
                .map(|&i| view.dataset.grids[i].code.as_str().to_string())
        };
        Self {
            community: r.community.map(|c| c.get()),
            comprehensive: code(r.comprehensive),
            micro: code(r.micro),
            dedicated: code(r.dedicated),
        }
    }
}

/// Public properties of an event (no reporter data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventProps {
    /// Event ID.
    pub id: u64,
    /// Category code `NN.MM`.
    pub category: &'static str,
    /// Category name, Chinese.
    pub category_zh: &'static str,
    /// Category name, English.
    pub category_en: &'static str,
    /// Short description (scrubbed at the edge unless revealed).
    pub title: String,
    /// Report time, RFC 3339.
    pub reported_at: String,
    /// Source code.
    pub source: &'static str,
    /// Status code.
    pub status: &'static str,
    /// Grade code.
    pub grade: &'static str,
    /// Deadline, RFC 3339.
    pub deadline: Option<String>,
    /// Handler code.
    pub handler: Option<String>,
    /// Resolution time, RFC 3339.
    pub resolved_at: Option<String>,
    /// Handling time in hours, once resolved.
    pub handling_h: Option<f64>,
    /// Satisfaction 1–5.
    pub satisfaction: Option<u8>,
    /// Open past its deadline now.
    pub overdue: bool,
    /// Master event of a merged duplicate.
    pub master: Option<u64>,
    /// The event's grids.
    pub grids: GridCodes,
}

impl EventProps {
    /// The properties of `e` (with grids `refs`) at `now`.
    pub fn of(view: &TownView, e: &Event, refs: &GridRefs, now: DateTime<Utc>) -> Self {
        let def = e.category.def();
        Self {
            id: e.id.get(),
            category: e.category.code(),
            category_zh: def.name_zh,
            category_en: def.name_en,
            title: e.title.clone(),
            reported_at: e.reported_at.to_rfc3339(),
            source: e.source.code(),
            status: e.status.code(),
            grade: e.grade.code(),
            deadline: e.deadline.map(|d| d.to_rfc3339()),
            handler: e.handler.clone(),
            resolved_at: e.resolved_at.map(|d| d.to_rfc3339()),
            handling_h: e.handling_h(),
            satisfaction: e.satisfaction,
            overdue: e.is_overdue(now),
            master: e.master.map(|m| m.get()),
            grids: GridCodes::of(view, refs),
        }
    }
}

/// The JSON object of a response struct (empty if it is not an object), for
/// the masking below, which works on any answer that carries an event.
pub fn to_map<T: Serialize>(v: &T) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Public properties of an event as a JSON object.
pub fn event_props(
    view: &TownView,
    e: &Event,
    refs: &GridRefs,
    now: DateTime<Utc>,
) -> Map<String, Value> {
    to_map(&EventProps::of(view, e, refs, now))
}

/// The traffic-light state of an event: how much of its time limit is used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sla {
    /// `green`, `yellow`, `red` or `overdue`.
    pub level: &'static str,
    /// Hours since the report (to `resolved_at` once resolved).
    pub elapsed_h: f64,
    /// Hours left to the deadline (negative when overdue).
    pub remaining_h: f64,
    /// Deadline, RFC 3339.
    pub deadline: String,
    /// When the running limit started, RFC 3339: the report, or the renewal
    /// that set the deadline (reopening, escalation step); `used` and the
    /// colour count from it.
    pub since: String,
    /// Share of the running limit used (1 = at the deadline).
    pub used: f64,
}

impl Sla {
    /// The traffic-light state of `e` at `now`; `None` for rejected and
    /// merged events, which no longer run against a limit. The clock stops
    /// at `resolved_at`.
    pub fn of(rules: &EventRules, e: &Event, now: DateTime<Utc>) -> Option<Sla> {
        if matches!(e.status, EventStatus::Rejected | EventStatus::Merged) {
            return None;
        }
        let s = rules.limits.sla(e, now);
        let level = match s.level {
            SlaLevel::Green => "green",
            SlaLevel::Yellow => "yellow",
            SlaLevel::Red => "red",
            SlaLevel::Overdue => "overdue",
        };
        Some(Sla {
            level,
            elapsed_h: hours(s.elapsed),
            remaining_h: hours(s.remaining),
            deadline: s.deadline.to_rfc3339(),
            since: s.since.to_rfc3339(),
            used: (s.used * 1000.0).round() / 1000.0,
        })
    }
}

fn hours(d: chrono::Duration) -> f64 {
    (d.num_milliseconds() as f64 / 3600.0).round() / 1000.0
}

/// One step of a transition, as answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionView {
    /// Status before.
    pub from: &'static str,
    /// Status after.
    pub to: &'static str,
    /// When, RFC 3339.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Note (scrubbed at the edge unless revealed).
    pub note: String,
}

impl From<&Transition> for TransitionView {
    fn from(t: &Transition) -> Self {
        Self {
            from: t.from.code(),
            to: t.to.code(),
            at: t.at.to_rfc3339(),
            actor: t.actor.clone(),
            note: t.note.clone(),
        }
    }
}

/// An event with its position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Located {
    /// The event's properties.
    #[serde(flatten)]
    pub props: EventProps,
    /// Longitude (WGS84).
    pub lon: f64,
    /// Latitude (WGS84).
    pub lat: f64,
}

impl Located {
    /// The properties and position of `e`.
    pub fn of(view: &TownView, e: &Event, refs: &GridRefs, now: DateTime<Utc>) -> Self {
        Self {
            props: EventProps::of(view, e, refs, now),
            lon: e.location.x(),
            lat: e.location.y(),
        }
    }
}

/// An event after a change, as answered to the mover and streamed: its
/// properties and position, time-limit state and the transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedEvent {
    /// The event.
    #[serde(flatten)]
    pub event: Located,
    /// Its time-limit state (`null` for rejected and merged events).
    pub sla: Option<Sla>,
    /// The move just made.
    pub transition: TransitionView,
}

/// One row of an event's timeline in its detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Status reached.
    pub status: String,
    /// Status left (`null` for the report and for reconstructed history).
    pub from: Option<String>,
    /// When, RFC 3339.
    pub at: Option<String>,
    /// Who.
    pub actor: Option<String>,
    /// Note (scrubbed at the edge unless revealed).
    pub note: String,
}

impl TimelineEntry {
    /// The stored rows of an event; for imported history without rows, the
    /// milestones the event itself records (report, resolution, closing).
    pub fn of(e: &Event, rows: &[TransitionRow]) -> Vec<Self> {
        let mut tl: Vec<Self> = rows
            .iter()
            .map(|t| Self {
                status: t.to.clone(),
                from: t.from.clone(),
                at: Utc.timestamp_opt(t.at, 0).single().map(|d| d.to_rfc3339()),
                actor: Some(t.actor.clone()),
                note: t.note.clone(),
            })
            .collect();
        if tl.is_empty() {
            let step = |status: &str, at: Option<DateTime<Utc>>, actor: Option<String>| Self {
                status: status.to_string(),
                from: None,
                at: at.map(|d| d.to_rfc3339()),
                actor,
                note: String::new(),
            };
            tl.push(step(
                "reported",
                Some(e.reported_at),
                Some(e.source.code().to_string()),
            ));
            if let Some(r) = e.resolved_at {
                tl.push(step("resolved", Some(r), e.handler.clone()));
            }
            if !e.status.is_open() && e.status != EventStatus::Resolved {
                tl.push(step(e.status.code(), e.resolved_at, e.handler.clone()));
            }
        }
        tl
    }
}

/// `GET /api/v1/events/{id}`: an event, its timeline and time-limit state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventDetail {
    /// The event.
    #[serde(flatten)]
    pub event: Located,
    /// Its timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Its time-limit state.
    pub sla: Option<Sla>,
    /// The moves the state machine allows from its status
    /// (`geo_core::model::lifecycle::allowed_targets`), for the pages' buttons.
    pub allowed: Vec<&'static str>,
    /// Its photos, oldest first (files at `/api/v1/events/{id}/photos/{sha256}`
    /// and `…/thumb`).
    pub photos: Vec<PhotoView>,
    /// The assisting departments (names; the lead is `handler`).
    pub assisting: Vec<String>,
    /// True when the caller's department assists it: it may add notes,
    /// `allowed` is empty (only the lead moves it).
    pub you_assist: bool,
    /// Notes and feedback beside the transitions, oldest first.
    pub notes: Vec<NoteView>,
    /// The names (zh, en) of the departments among `handler` and
    /// `assisting`, by `dept:code`, from the event rules' `[departments]`.
    pub handler_names: std::collections::BTreeMap<String, analytics::events::DepartmentName>,
}

/// The names of the departments among an event's `handler` and
/// `assisting` (`dept:code` → zh/en), from the event rules' `[departments]`;
/// a department the rules do not name is left out (the pages show its code).
pub fn department_names(
    departments: &std::collections::BTreeMap<String, analytics::events::DepartmentName>,
    handler: Option<&str>,
    assisting: &[String],
) -> std::collections::BTreeMap<String, analytics::events::DepartmentName> {
    handler
        .and_then(|h| h.strip_prefix("dept:"))
        .into_iter()
        .chain(assisting.iter().map(String::as_str))
        .filter_map(|d| Some((format!("dept:{d}"), departments.get(d)?.clone())))
        .collect()
}

/// One note on an event, as answered (scrubbed like every free text).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteView {
    /// When, RFC 3339.
    pub at: String,
    /// Who (`role:account`).
    pub actor: String,
    /// The department it was written for, when a department wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The text.
    pub note: String,
}

impl NoteView {
    /// The answer of a stored note; its text scrubbed of ID numbers and
    /// phones unless `reveal`.
    pub fn of(n: &geo_core::store::NoteRow, reveal: bool) -> NoteView {
        NoteView {
            at: chrono::DateTime::from_timestamp(n.at_s, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            actor: n.actor.clone(),
            department: n.department.clone(),
            note: if reveal {
                n.note.clone()
            } else {
                geo_core::ids::scrub_text(&n.note)
            },
        }
    }
}

/// One photo of an event, as answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoView {
    /// Hex SHA-256 of the stored image: its name.
    pub sha256: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Who added it.
    pub actor: String,
    /// When, RFC 3339.
    pub at: String,
}

impl From<&geo_core::store::VisitPhotoRow> for PhotoView {
    fn from(p: &geo_core::store::VisitPhotoRow) -> Self {
        Self {
            sha256: p.sha256.clone(),
            content_type: p.content_type.clone(),
            bytes: p.bytes,
            width: p.width,
            height: p.height,
            actor: p.actor.clone(),
            at: Utc
                .timestamp_opt(p.at_s, 0)
                .single()
                .map(|d| d.to_rfc3339())
                .unwrap_or_default(),
        }
    }
}

impl From<&geo_core::store::PhotoRow> for PhotoView {
    fn from(p: &geo_core::store::PhotoRow) -> Self {
        Self {
            sha256: p.sha256.clone(),
            content_type: p.content_type.clone(),
            bytes: p.bytes,
            width: p.width,
            height: p.height,
            actor: p.actor.clone(),
            at: Utc
                .timestamp_opt(p.at_s, 0)
                .single()
                .map(|d| d.to_rfc3339())
                .unwrap_or_default(),
        }
    }
}

/// Answer of `POST /api/v1/events/{id}/photos`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoAdded {
    /// The event.
    pub event: u64,
    /// The stored photo.
    pub photo: PhotoView,
    /// False when the event had this photo already.
    pub added: bool,
}

/// The moves the state machine allows from `status`, as codes.
pub fn allowed_moves(status: EventStatus) -> Vec<&'static str> {
    geo_core::model::lifecycle::allowed_targets(status)
        .iter()
        .map(|s| s.code())
        .collect()
}

/// Rank of a traffic-light level in the inbox: overdue first, then red,
/// yellow, green, and events without a limit last.
pub fn sla_rank(sla: Option<&Sla>) -> u8 {
    match sla.map(|s| s.level) {
        Some("overdue") => 0,
        Some("red") => 1,
        Some("yellow") => 2,
        Some("green") => 3,
        _ => 4,
    }
}

/// One event of `GET /api/v1/inbox`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxItem {
    /// The event (title scrubbed of personal data).
    #[serde(flatten)]
    pub event: Located,
    /// Its time-limit state.
    pub sla: Option<Sla>,
    /// The moves allowed from its status (none for an assisting department).
    pub allowed: Vec<&'static str>,
    /// True when the caller's department assists it rather than leads it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub assisting: bool,
}

/// `GET /api/v1/inbox`: the caller's events, most urgent first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inbox {
    /// Who the inbox is of: `grids` (a worker's), `department`, or `town`.
    pub scope: &'static str,
    /// The worker's grid codes or the department's name.
    pub of: Vec<String>,
    /// Events in scope per status (every status, before the filter).
    pub counts: std::collections::BTreeMap<&'static str, u64>,
    /// Events in scope (every status).
    pub total: u64,
    /// Events that pass the filter (before the limit).
    pub matched: u64,
    /// The events, sorted by traffic light (overdue, red, yellow, green) and deadline.
    pub events: Vec<InboxItem>,
    /// Handlers an event may be dispatched to (`grid`, `community`, `town`
    /// and the departments of the dispatch rules).
    pub handlers: Vec<String>,
    /// Names of the departments among `handlers` and the events' handlers
    /// (`dept:gas_company` → `{zh, en}`), from the rules' `[departments]`.
    pub handler_names: std::collections::BTreeMap<String, analytics::events::DepartmentName>,
}

/// The offset of the page after one of `returned` items read from
/// `offset`, when more of the `total` remain (every list's `next_offset`).
pub fn next_offset(offset: u64, returned: usize, total: u64) -> Option<u64> {
    let end = offset.saturating_add(returned as u64);
    (returned > 0 && end < total).then_some(end)
}

/// A GeoJSON feature collection of one page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeaturePage {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Features matching, all pages.
    pub total: u64,
    /// Offset of the next page, if any.
    pub next_offset: Option<u64>,
    /// This page's features.
    pub features: Vec<Value>,
}

/// A GeoJSON feature without a geometry (people, households, sentiments:
/// placed only through their household and building).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record<P> {
    /// Always `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Always `null`.
    pub geometry: Option<()>,
    /// The record.
    pub properties: P,
}

impl<P> Record<P> {
    /// Wraps `properties`.
    pub fn of(properties: P) -> Self {
        Self {
            kind: "Feature",
            geometry: None,
            properties,
        }
    }
}

/// A collection of [`Record`]s.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Records<P> {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Records matching, all pages.
    pub total: u64,
    /// Offset of the next page, if any.
    pub next_offset: Option<u64>,
    /// The records.
    pub features: Vec<Record<P>>,
}

impl<P> Records<P> {
    /// Wraps `props`: every record matching, in one answer.
    pub fn of(props: impl IntoIterator<Item = P>) -> Self {
        let features: Vec<Record<P>> = props.into_iter().map(Record::of).collect();
        Self {
            kind: "FeatureCollection",
            total: features.len() as u64,
            next_offset: None,
            features,
        }
    }

    /// Wraps one page of `total` records matching, read from `offset`.
    pub fn page(props: impl IntoIterator<Item = P>, total: u64, offset: u64) -> Self {
        let features: Vec<Record<P>> = props.into_iter().map(Record::of).collect();
        Self {
            kind: "FeatureCollection",
            total,
            next_offset: next_offset(offset, features.len(), total),
            features,
        }
    }
}

/// A household as served to a role that sees people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdProps {
    /// ID.
    pub id: u64,
    /// Building.
    pub building: u64,
    /// Unit (entrance), if known.
    pub unit: Option<u64>,
    /// Floor.
    pub floor: i16,
    /// Room.
    pub room: String,
    /// Members.
    pub size: u8,
    /// Tenure code.
    pub tenure: &'static str,
    /// Rented to a group (群租).
    pub group_rented: bool,
    /// Has a party member.
    pub party_member: bool,
}

impl HouseholdProps {
    /// The answer for `h`.
    pub fn of(h: &geo_core::model::Household) -> Self {
        Self {
            id: h.id.get(),
            building: h.building.get(),
            unit: h.unit.map(|u| u.get()),
            floor: h.floor,
            room: h.room.clone(),
            size: h.size,
            tenure: h.tenure.code(),
            group_rented: h.group_rented,
            party_member: h.party_member,
        }
    }
}

/// A person as served to a role that sees people: name, ID number and
/// phone masked unless the request reveals (with a reason, audited).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonProps {
    /// ID.
    pub id: u64,
    /// Household.
    pub household: Option<u64>,
    /// Name, masked unless revealed.
    pub name: String,
    /// ID number, masked unless revealed.
    pub national_id: Option<String>,
    /// Phone, masked unless revealed.
    pub phone: Option<String>,
    /// Year of birth.
    pub birth_year: u16,
    /// Sex code.
    pub sex: &'static str,
    /// Tag codes.
    pub tags: Vec<&'static str>,
}

impl PersonProps {
    /// The answer for `p`, revealed or masked.
    pub fn of(p: &geo_core::model::Person, reveal: bool) -> Self {
        let (name, national_id, phone) = if reveal {
            (
                p.name.clone(),
                p.national_id.as_ref().map(|n| n.reveal().to_string()),
                p.phone.as_ref().map(|n| n.reveal().to_string()),
            )
        } else {
            (
                geo_core::ids::mask_name(&p.name),
                p.national_id.as_ref().map(|n| n.masked()),
                p.phone.as_ref().map(|n| n.masked()),
            )
        };
        Self {
            id: p.id.get(),
            household: p.household.map(|h| h.get()),
            name,
            national_id,
            phone,
            birth_year: p.birth_year,
            sex: p.sex.code(),
            tags: p.tags.iter().map(|t| t.code()).collect(),
        }
    }
}

/// A sentiment (民情) record: its text only when revealed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentimentProps {
    /// ID.
    pub id: u64,
    /// Kind code.
    pub kind: &'static str,
    /// Score.
    pub score: Option<f32>,
    /// Text, `(masked)` unless revealed.
    pub text: String,
    /// When.
    pub at: String,
    /// What it is about.
    pub link: geo_core::model::SentimentLink,
}

impl SentimentProps {
    /// The answer for `x`.
    pub fn of(x: &geo_core::model::Sentiment, reveal: bool) -> Self {
        Self {
            id: x.id.get(),
            kind: x.kind.code(),
            score: x.score,
            text: if reveal {
                x.text.clone()
            } else {
                "(masked)".to_string()
            },
            at: x.at.to_rfc3339(),
            link: x.link,
        }
    }
}

/// A possible duplicate of a new report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Duplicate {
    /// Its event ID.
    pub id: u64,
    /// Combined score 0–1.
    pub score: f64,
    /// Distance in metres.
    pub distance_m: f64,
    /// Hours between the reports.
    pub hours_apart: f64,
    /// Title similarity 0–1.
    pub text_similarity: f64,
}

/// Answer of `POST /api/v1/events` (201): the new event, the reporter's
/// receipt, the dispatch decision, its time-limit state and near-duplicates.
#[derive(Debug, serde::Serialize)]
pub struct Reported {
    /// The event.
    #[serde(flatten)]
    pub event: Located,
    /// The reporter's receipt token.
    pub receipt: String,
    /// Who handles it and why.
    pub dispatch: analytics::events::dispatch::Assignment,
    /// Its time-limit state.
    pub sla: Option<Sla>,
    /// Possible duplicates, best first.
    pub duplicates: Vec<Duplicate>,
}

/// One event moved by an escalation run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalated {
    /// Event ID.
    pub id: u64,
    /// Its new handler.
    pub handler: Option<String>,
    /// Its deadline, RFC 3339.
    pub deadline: Option<String>,
    /// The escalation.
    pub transition: TransitionView,
}

/// A due event the time-limit check did not move.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotEscalated {
    /// Event ID.
    pub id: u64,
    /// Its handler.
    pub handler: Option<String>,
    /// Why it did not climb.
    pub reason: String,
}

/// `POST /api/v1/escalate`: what the time-limit check moved, and the due
/// events it did not move.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationRun {
    /// When it ran, RFC 3339.
    pub at: String,
    /// Events escalated.
    pub count: usize,
    /// The events escalated.
    pub escalated: Vec<Escalated>,
    /// Due events at a department, the top of the chain: they stop climbing.
    pub at_top: Vec<NotEscalated>,
    /// Due events that could not climb (no handler, a bad stored handler).
    pub refused: Vec<NotEscalated>,
}

/// One step of a receipt's timeline: status and time only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiptStep {
    /// Status reached.
    pub status: String,
    /// When, RFC 3339.
    pub at: Option<String>,
}

/// The event a reported duplicate was merged into, as its receipt shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergedInto {
    /// Status of the master event.
    pub status: &'static str,
    /// Its resolution time.
    pub resolved_at: Option<String>,
    /// Its time-limit state.
    pub sla: Option<Sla>,
}

/// `GET /api/v1/receipts/{receipt}`: what a resident may follow of a report
/// (no title, place, actors or notes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiptStatus {
    /// The receipt asked for.
    pub receipt: String,
    /// Category code.
    pub category: &'static str,
    /// Category name, Chinese.
    pub category_zh: &'static str,
    /// Category name, English.
    pub category_en: &'static str,
    /// Status code.
    pub status: &'static str,
    /// Report time.
    pub reported_at: String,
    /// Handler code.
    pub handler: Option<String>,
    /// Deadline.
    pub deadline: Option<String>,
    /// Resolution time.
    pub resolved_at: Option<String>,
    /// Satisfaction 1–5.
    pub satisfaction: Option<u8>,
    /// Time-limit state.
    pub sla: Option<Sla>,
    /// The master event of a merged report.
    pub merged_into: Option<MergedInto>,
    /// Statuses and times.
    pub timeline: Vec<ReceiptStep>,
}

impl ReceiptStatus {
    /// The receipt answer of `e` (and the event it was merged into) from its
    /// stored timeline rows; imported history without rows shows the report and
    /// the current status.
    pub fn of(
        rules: &EventRules,
        receipt: String,
        e: &Event,
        master: Option<&Event>,
        rows: &[TransitionRow],
        now: DateTime<Utc>,
    ) -> ReceiptStatus {
        let mut timeline: Vec<ReceiptStep> = rows
            .iter()
            .map(|t| ReceiptStep {
                status: t.to.clone(),
                at: Utc.timestamp_opt(t.at, 0).single().map(|d| d.to_rfc3339()),
            })
            .collect();
        if timeline.is_empty() {
            timeline.push(ReceiptStep {
                status: "reported".into(),
                at: Some(e.reported_at.to_rfc3339()),
            });
            if e.status != EventStatus::Reported {
                timeline.push(ReceiptStep {
                    status: e.status.code().into(),
                    at: e.resolved_at.map(|d| d.to_rfc3339()),
                });
            }
        }
        let def = e.category.def();
        ReceiptStatus {
            receipt,
            category: e.category.code(),
            category_zh: def.name_zh,
            category_en: def.name_en,
            status: e.status.code(),
            reported_at: e.reported_at.to_rfc3339(),
            handler: e.handler.clone(),
            deadline: e.deadline.map(|d| d.to_rfc3339()),
            resolved_at: e.resolved_at.map(|d| d.to_rfc3339()),
            satisfaction: e.satisfaction,
            sla: Sla::of(rules, e, now),
            merged_into: master.map(|m| MergedInto {
                status: m.status.code(),
                resolved_at: m.resolved_at.map(|d| d.to_rfc3339()),
                sla: Sla::of(rules, m, now),
            }),
            timeline,
        }
    }
}

/// Grid IDs of a worker's grids (empty for other roles).
pub(crate) fn worker_grids(access: &Access, view: &TownView) -> Vec<geo_core::ids::GridId> {
    access
        .grid_codes
        .iter()
        .filter_map(|c| view.grid_by_code.get(c.as_str()))
        .map(|&i| view.dataset.grids[i].id)
        .collect()
}

/// True when any grid of `r` is one of `mine`.
pub(crate) fn in_grids(mine: &[geo_core::ids::GridId], r: &GridRefs) -> bool {
    [r.comprehensive, r.micro, r.dedicated]
        .iter()
        .flatten()
        .any(|g| mine.contains(g))
}

/// H3 resolution to which planners and the screen see events (cells of
/// ~0.74 km²): a place, not a door.
pub const COARSE_RES: h3o::Resolution = h3o::Resolution::Eight;

/// The centre of the H3 cell of a position.
pub fn coarse_point(lon: f64, lat: f64) -> (f64, f64) {
    match h3o::LatLng::new(lat, lon) {
        Ok(ll) => {
            let c = h3o::LatLng::from(ll.to_cell(COARSE_RES));
            ((c.lng() * 1e6).round() / 1e6, (c.lat() * 1e6).round() / 1e6)
        }
        Err(_) => (0.0, 0.0),
    }
}

/// The fields of an event that planners and the screen see: an allow-list,
/// so that a field added to an event's answer stays out of the coarse copy
/// until it is added here.
const COARSE_FIELDS: [&str; 15] = [
    "id",
    "category",
    "category_zh",
    "category_en",
    "reported_at",
    "source",
    "status",
    "grade",
    "deadline",
    "resolved_at",
    "handling_h",
    "satisfaction",
    "overdue",
    "grids",
    "sla",
];

/// An event as planners and the screen see it: category, status, grade,
/// times, grids and the time-limit state; its position moved to the centre
/// of its H3 cell (resolution 8); of a change only `from`, `to` and `at`.
/// No title, handler, receipt, dispatch, duplicates, notes, actors or exact
/// place.
pub fn coarsen(m: Map<String, Value>) -> Map<String, Value> {
    let place = (
        m.get("lon").and_then(Value::as_f64),
        m.get("lat").and_then(Value::as_f64),
    );
    let mut out = Map::new();
    for (k, v) in m {
        if k == "transition" {
            let mut t = Map::new();
            for f in ["from", "to", "at"] {
                if let Some(x) = v.get(f) {
                    t.insert(f.into(), x.clone());
                }
            }
            out.insert(k, Value::Object(t));
        } else if COARSE_FIELDS.contains(&k.as_str()) {
            out.insert(k, v);
        }
    }
    if let (Some(lon), Some(lat)) = place {
        let (lon, lat) = coarse_point(lon, lat);
        out.insert("lon".into(), Value::from(lon));
        out.insert("lat".into(), Value::from(lat));
    }
    out.insert("coarse".into(), Value::Bool(true));
    out
}

/// Masks ID numbers, phone numbers and the `names` of the residents of the
/// reporting household ([`TownView::names_of`]) in an event's free text
/// (title, notes of its transition and timeline) unless the request
/// `reveals` personal data (a leader or worker with a reason, audited by the
/// caller).
pub fn scrub_event(reveals: bool, names: &[String], m: &mut Map<String, Value>) {
    if reveals {
        return;
    }
    let scrub = |v: &mut Value| {
        if let Some(t) = v.as_str() {
            let t = geo_core::ids::scrub_text(t);
            *v = Value::String(geo_core::ids::scrub_names(&t, names));
        }
    };
    if let Some(v) = m.get_mut("title") {
        scrub(v);
    }
    if let Some(v) = m.get_mut("transition").and_then(|t| t.get_mut("note")) {
        scrub(v);
    }
    if let Some(tl) = m.get_mut("timeline").and_then(Value::as_array_mut) {
        for row in tl {
            if let Some(v) = row.get_mut("note") {
                scrub(v);
            }
        }
    }
}

/// What of a streamed event message (its properties with `lon`/`lat`) this
/// caller may see: all of it (leader; worker in own grids; department
/// dispatched to it), the coarse copy (planner, screen), or nothing.
pub fn event_message_for(access: &Access, mut m: Map<String, Value>) -> Option<Map<String, Value>> {
    m.remove("receipt");
    match access.role {
        Role::Public => None,
        r if r.sees_single_events() => {
            let handler = m.get("handler").and_then(Value::as_str);
            let in_mine = ["comprehensive", "micro", "dedicated"].iter().any(|k| {
                m.get("grids")
                    .and_then(|g| g.get(*k))
                    .and_then(Value::as_str)
                    .is_some_and(|c| access.grid_codes.iter().any(|g| g.as_str() == c))
            });
            if !access.may_see_event(handler, in_mine) {
                return None;
            }
            // The stream never reveals: free text is scrubbed for everyone
            // (residents' names already at the broadcast, which knows them).
            let mut m = m;
            scrub_event(false, &[], &mut m);
            Some(m)
        }
        _ => Some(coarsen(m)),
    }
}
