//! The event loop (闭环) over HTTP: moving an event through its states,
//! merging duplicates, escalation against the time limits, the traffic-light
//! state of an event and the resident's receipt.
//!
//! Every write goes through the store first (event row and transition row in
//! one transaction), then the in-memory view, the tile cache and the event
//! stream. Writes hold the store lock from reading the event to updating the
//! view, so two moves of the same event are applied one after the other and
//! the second sees the first.

use std::time::Duration;

use analytics::events::limits::{escalate, escalate_due, EscalateError, SlaLevel};
use analytics::events::merge::{merge, MergeError};
use analytics::events::{dispatch::Handler, EventRules};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, TimeZone, Utc};
use geo_core::ids::EventId;
use geo_core::model::lifecycle::{LifecycleError, Timeline, Transition};
use geo_core::model::{Event, EventStatus, Grade, GridRefs};
use geo_core::store::{Store, StoreError, TransitionRow};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{AppError, AppResult};
use crate::role::{Access, Role};
use crate::routes::api::event_props;
use crate::state::AppState;

/// Actor recorded for escalations made by the time-limit check.
pub const SLA_ACTOR: &str = "sla";

/// Longest accepted actor label.
const MAX_ACTOR: usize = 64;
/// Longest accepted note.
const MAX_NOTE: usize = 2000;

/// A refused or failed event-loop request. State-machine and merge refusals
/// are answered 409 with the details a client needs to recover.
#[derive(Debug)]
pub enum LoopError {
    /// Any other API error.
    App(AppError),
    /// The state machine refused the move.
    Lifecycle(LifecycleError),
    /// The merge was refused.
    Merge(MergeError),
    /// The escalation was refused (no handler, top of the chain).
    Escalate(EscalateError),
}

impl From<AppError> for LoopError {
    fn from(e: AppError) -> Self {
        LoopError::App(e)
    }
}

impl From<StoreError> for LoopError {
    fn from(e: StoreError) -> Self {
        LoopError::App(e.into())
    }
}

impl From<LifecycleError> for LoopError {
    fn from(e: LifecycleError) -> Self {
        LoopError::Lifecycle(e)
    }
}

impl From<EscalateError> for LoopError {
    fn from(e: EscalateError) -> Self {
        match e {
            EscalateError::Lifecycle(l) => LoopError::Lifecycle(l),
            other => LoopError::Escalate(other),
        }
    }
}

fn conflict(code: &str, message: String, extra: Map<String, Value>) -> Response {
    let mut err = Map::new();
    err.insert("code".into(), json!(code));
    err.insert("message".into(), json!(message));
    err.extend(extra);
    (StatusCode::CONFLICT, Json(json!({ "error": err }))).into_response()
}

impl IntoResponse for LoopError {
    fn into_response(self) -> Response {
        match self {
            LoopError::App(e) => e.into_response(),
            LoopError::Lifecycle(e) => {
                let message = e.to_string();
                match e {
                    LifecycleError::Illegal {
                        id,
                        from,
                        to,
                        allowed,
                    } => {
                        let mut m = Map::new();
                        m.insert("event".into(), json!(id.get()));
                        m.insert("from".into(), json!(from.code()));
                        m.insert("to".into(), json!(to.code()));
                        m.insert(
                            "allowed".into(),
                            json!(allowed.iter().map(|s| s.code()).collect::<Vec<_>>()),
                        );
                        conflict("illegal_transition", message, m)
                    }
                    LifecycleError::ReopenWindowPassed {
                        id,
                        closed_at,
                        window_h,
                        ..
                    } => {
                        let mut m = Map::new();
                        m.insert("event".into(), json!(id.get()));
                        m.insert("closed_at".into(), json!(closed_at.to_rfc3339()));
                        m.insert("window_h".into(), json!(window_h));
                        conflict("reopen_window_passed", message, m)
                    }
                    LifecycleError::BeforeReport { id, .. } => {
                        let mut m = Map::new();
                        m.insert("event".into(), json!(id.get()));
                        conflict("before_report", message, m)
                    }
                }
            }
            LoopError::Merge(e) => conflict("merge_refused", e.to_string(), Map::new()),
            LoopError::Escalate(e) => conflict("escalation_refused", e.to_string(), Map::new()),
        }
    }
}

/// Refuses roles that do not handle events (screen, planner, public).
fn require_handler_role(access: &Access) -> Result<(), AppError> {
    match access.role {
        Role::Leader | Role::Worker | Role::Department => Ok(()),
        r => Err(AppError::Forbidden(format!(
            "role {} may not change events; department, worker or leader may",
            format!("{r:?}").to_lowercase()
        ))),
    }
}

/// A caller sees and moves only the events of its scope (a worker's grids,
/// a department's dispatched events; leaders all): anything else is
/// answered as absent, so IDs cannot be probed.
fn require_in_scope(
    access: &Access,
    view: &crate::view::TownView,
    e: &Event,
    refs: &GridRefs,
) -> Result<(), AppError> {
    let mine = crate::routes::api::worker_grids(access, view);
    if access.may_see_event(
        e.handler.as_deref(),
        crate::routes::api::in_grids(&mine, refs),
    ) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("event {} not found", e.id)))
    }
}

fn parse_id(s: &str) -> Result<EventId, AppError> {
    s.parse()
        .map_err(|e: geo_core::IdError| AppError::bad("bad_id", e.to_string()))
}

fn clean_actor(actor: &str) -> Result<String, AppError> {
    let a = actor.trim();
    if a.is_empty() || a.chars().count() > MAX_ACTOR {
        return Err(AppError::bad(
            "bad_actor",
            format!("actor={a:?}: must be 1..={MAX_ACTOR} characters (a role or post, not a resident's name)"),
        ));
    }
    Ok(a.to_string())
}

fn clean_note(note: &str) -> Result<String, AppError> {
    let n = note.trim();
    if n.chars().count() > MAX_NOTE {
        return Err(AppError::bad(
            "bad_note",
            format!(
                "note of {} characters: at most {MAX_NOTE}",
                n.chars().count()
            ),
        ));
    }
    Ok(n.to_string())
}

fn hours(d: chrono::Duration) -> f64 {
    (d.num_milliseconds() as f64 / 3600.0).round() / 1000.0
}

/// The traffic-light state of an event at `now`:
/// `{level: green|yellow|red|overdue, elapsed_h, remaining_h, deadline, used}`;
/// `null` for rejected and merged events, which no longer run against a limit.
/// The clock stops at `resolved_at`.
pub fn sla_json(rules: &EventRules, e: &Event, now: DateTime<Utc>) -> Value {
    if matches!(e.status, EventStatus::Rejected | EventStatus::Merged) {
        return Value::Null;
    }
    let s = rules.limits.sla(e, now);
    let level = match s.level {
        SlaLevel::Green => "green",
        SlaLevel::Yellow => "yellow",
        SlaLevel::Red => "red",
        SlaLevel::Overdue => "overdue",
    };
    json!({
        "level": level,
        "elapsed_h": hours(s.elapsed),
        "remaining_h": hours(s.remaining),
        "deadline": s.deadline.to_rfc3339(),
        "used": (s.used * 1000.0).round() / 1000.0,
    })
}

/// The receipt token handed to whoever reported an event
/// (`R<id>-<32 hex>`): the event ID and a 128-bit HMAC-SHA-256 of the ID and
/// report time under the server's secret key, so receipts cannot be guessed
/// or enumerated. It only opens the status and timeline of the report.
pub fn receipt(key: &[u8], e: &Event) -> String {
    let mac = crate::auth::secret::mac128(key, &format!("{}:{}", e.id, e.reported_at.timestamp()));
    format!("R{}-{mac}", e.id)
}

fn receipt_id(r: &str) -> Option<EventId> {
    let (id, _) = r.strip_prefix('R')?.split_once('-')?;
    id.parse().ok()
}

fn row(t: &Transition) -> TransitionRow {
    TransitionRow {
        from: Some(t.from.code().to_string()),
        to: t.to.code().to_string(),
        at: t.at.timestamp(),
        actor: t.actor.clone(),
        note: t.note.clone(),
    }
}

fn timeline_of(rows: &[TransitionRow]) -> Timeline {
    Timeline(
        rows.iter()
            .filter_map(|r| {
                let to = EventStatus::parse(&r.to).ok()?;
                let from = r
                    .from
                    .as_deref()
                    .and_then(|f| EventStatus::parse(f).ok())
                    .unwrap_or(to);
                Some(Transition {
                    from,
                    to,
                    at: Utc.timestamp_opt(r.at, 0).single()?,
                    actor: r.actor.clone(),
                    note: r.note.clone(),
                })
            })
            .collect(),
    )
}

fn transition_json(t: &Transition) -> Value {
    json!({"from": t.from.code(), "to": t.to.code(), "at": t.at.to_rfc3339(), "actor": t.actor, "note": t.note})
}

/// A change written to the store and the view.
struct Applied {
    event: Event,
    refs: GridRefs,
    transition: Transition,
}

/// Persists `event` with its transition, then updates the view and drops the
/// tiles it touches. Called with the store lock held.
fn commit(st: &AppState, s: &mut Store, event: Event, t: Transition) -> AppResult<Applied> {
    s.update_event(&event, &row(&t))?;
    let (refs, inval) = st.view_mut()?.upsert_event(event.clone());
    crate::routes::tiles::invalidate(st, &inval)?;
    Ok(Applied {
        event,
        refs,
        transition: t,
    })
}

/// The JSON of an event after a change (as on the event stream), with its
/// time-limit state and the transition.
fn changed_json(st: &AppState, a: &Applied, now: DateTime<Utc>) -> AppResult<Value> {
    let view = st.view()?;
    let mut m = event_props(&view, &a.event, &a.refs, now);
    m.insert("lon".into(), json!(a.event.location.x()));
    m.insert("lat".into(), json!(a.event.location.y()));
    m.insert("sla".into(), sla_json(&st.0.rules, &a.event, now));
    m.insert("transition".into(), transition_json(&a.transition));
    Ok(Value::Object(m))
}

fn broadcast(st: &AppState, v: &Value) {
    // No subscriber is not an error.
    let _ = st.0.events_tx.send(v.to_string());
}

/// Body of `POST /api/v1/events/{id}/transition`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    /// Target status code.
    to: String,
    /// Ignored: the actor is the signed-in account (kept so older clients
    /// that still send it are not refused).
    #[serde(default)]
    #[allow(dead_code)]
    actor: Option<String>,
    /// Note for the timeline.
    #[serde(default)]
    note: String,
    /// Grade, on acceptance only (re-computes the deadline).
    grade: Option<String>,
    /// Satisfaction 1–5 from the return visit, on `reviewed` only.
    satisfaction: Option<u8>,
    /// Handler code (`grid`, `community`, `town`, `dept:<name>`), on
    /// `dispatched` only: overrides the rule's choice.
    handler: Option<String>,
}

/// What a transition request asks for, validated.
struct Change {
    to: EventStatus,
    actor: String,
    note: String,
    grade: Option<Grade>,
    satisfaction: Option<u8>,
    handler: Option<Handler>,
}

impl TransitionBody {
    fn validate(self, actor: String) -> Result<Change, AppError> {
        let to = EventStatus::parse(self.to.trim())
            .map_err(|e| AppError::bad("bad_status", e.to_string()))?;
        if to == EventStatus::Merged {
            return Err(AppError::bad(
                "use_merge",
                "to=merged: use POST /api/v1/events/{id}/merge with {into, actor}",
            ));
        }
        let grade = self
            .grade
            .as_deref()
            .map(Grade::parse)
            .transpose()
            .map_err(|e| AppError::bad("bad_grade", e.to_string()))?;
        if grade.is_some() && to != EventStatus::Accepted {
            return Err(AppError::bad(
                "bad_grade",
                format!("grade is set on acceptance (to=accepted), not on to={to}"),
            ));
        }
        if let Some(s) = self.satisfaction {
            if !(1..=5).contains(&s) {
                return Err(AppError::bad(
                    "bad_satisfaction",
                    format!("satisfaction={s}: must be 1..=5"),
                ));
            }
            if to != EventStatus::Reviewed {
                return Err(AppError::bad(
                    "bad_satisfaction",
                    format!("satisfaction comes from the return visit (to=reviewed), not to={to}"),
                ));
            }
        }
        let handler = self
            .handler
            .as_deref()
            .map(|h| {
                Handler::parse(h).map_err(|reason| {
                    AppError::bad("bad_handler", format!("handler={h:?}: {reason}"))
                })
            })
            .transpose()?;
        if handler.is_some() && to != EventStatus::Dispatched {
            return Err(AppError::bad(
                "bad_handler",
                format!("handler is chosen on dispatch (to=dispatched), not on to={to}"),
            ));
        }
        Ok(Change {
            to,
            actor: clean_actor(&actor)?,
            note: clean_note(&self.note)?,
            grade,
            satisfaction: self.satisfaction,
            handler,
        })
    }
}

/// Looks up an event in the view and checks the worker's scope.
fn current(st: &AppState, access: &Access, id: EventId) -> Result<(Event, GridRefs), AppError> {
    let view = st.view()?;
    let &i = view
        .event_pos
        .get(&id)
        .ok_or_else(|| AppError::NotFound(format!("event {id} not found")))?;
    let refs = view.event_refs[i];
    let e = &view.dataset.events[i];
    require_in_scope(access, &view, e, &refs)?;
    Ok((e.clone(), refs))
}

fn apply_transition(
    st: &AppState,
    s: &mut Store,
    access: &Access,
    id: EventId,
    c: Change,
    now: DateTime<Utc>,
) -> Result<Applied, LoopError> {
    let rules = &st.0.rules;
    let (mut ev, _) = current(st, access, id)?;
    let mut t = if c.to == EventStatus::Escalated {
        // Manual escalation moves the handler one level up like the SLA check.
        let mut t = escalate(&mut ev, rules, &c.actor, now)?.transition;
        if !c.note.is_empty() {
            t.note = format!("{}; {}", t.note, c.note);
        }
        t
    } else {
        let mut tl = timeline_of(&s.timeline(id)?);
        tl.apply(&mut ev, c.to, &c.actor, now, &c.note, &rules.lifecycle)?
            .clone()
    };
    if let Some(g) = c.grade {
        ev.grade = g;
        ev.deadline = Some(rules.limits.deadline(ev.reported_at, ev.category, g));
        if t.note.is_empty() {
            t.note = format!("graded {g}");
        }
    }
    if let Some(h) = c.handler {
        ev.handler = Some(h.code());
    }
    if c.satisfaction.is_some() {
        ev.satisfaction = c.satisfaction;
    }
    if c.to == EventStatus::Reopened {
        // The work is owed again: a fresh limit from the reopening.
        ev.deadline = Some(rules.limits.deadline(now, ev.category, ev.grade));
    }
    Ok(commit(st, s, ev, t)?)
}

/// `POST /api/v1/events/{id}/transition`: moves an event along the loop.
/// Body `{to, actor, note?, grade?, satisfaction?, handler?}`; 409 with
/// `{error: {code: illegal_transition, from, to, allowed}}` for a move the
/// state machine refuses; 403 for screen, planner and public roles.
pub async fn transition(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    Json(body): Json<TransitionBody>,
) -> Result<Json<Value>, LoopError> {
    require_handler_role(&access)?;
    let id = parse_id(&id)?;
    let change = body.validate(access.actor())?;
    let now = Utc::now();
    let st2 = st.clone();
    let applied = st
        .with_store(move |s| Ok(apply_transition(&st2, s, &access, id, change, now)))
        .await??;
    let v = changed_json(&st, &applied, now)?;
    broadcast(&st, &v);
    Ok(Json(v))
}

/// Body of `POST /api/v1/events/{id}/merge`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The master event the duplicate is linked to.
    into: u64,
    /// Ignored: the actor is the signed-in account.
    #[serde(default)]
    #[allow(dead_code)]
    actor: Option<String>,
}

/// `POST /api/v1/events/{id}/merge`: links duplicate `{id}` to the master
/// event `into` (status `merged`, `master` set); the master is unchanged.
pub async fn merge_into(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    Json(body): Json<MergeBody>,
) -> Result<Json<Value>, LoopError> {
    require_handler_role(&access)?;
    let id = parse_id(&id)?;
    let master_id = EventId::new(body.into)
        .map_err(|e| AppError::bad("bad_id", format!("into={}: {e}", body.into)))?;
    let actor = clean_actor(&access.actor())?;
    let now = Utc::now();
    let st2 = st.clone();
    let (applied, master, master_refs) = st
        .with_store(move |s| {
            Ok((|| {
                let (mut dup, _) = current(&st2, &access, id)?;
                let (master, master_refs) = current(&st2, &access, master_id)?;
                let mut ts = merge(&master, [&mut dup], &actor, now, &st2.0.rules.lifecycle)
                    .map_err(LoopError::Merge)?;
                let t = ts.pop().ok_or_else(|| {
                    AppError::Internal(format!("merging {id} into {master_id} gave no transition"))
                })?;
                Ok::<_, LoopError>((commit(&st2, s, dup, t)?, master, master_refs))
            })())
        })
        .await??;
    let v = changed_json(&st, &applied, now)?;
    broadcast(&st, &v);
    let master_props = {
        let view = st.view()?;
        Value::Object(event_props(&view, &master, &master_refs, now))
    };
    Ok(Json(json!({"merged": v, "master": master_props})))
}

/// Escalates every open event that is red or overdue at `now` and still has
/// a level above it; each escalation is stored (event and transition row),
/// applied to the view and streamed. Returns the escalated events with their
/// transitions.
///
/// The due events are picked from the view first; each is then re-checked
/// and escalated under the store lock on its own, so a long run (the first
/// one after start-up may move thousands) does not hold up other requests and
/// never overwrites a move made meanwhile.
pub async fn run_escalation(
    st: &AppState,
    now: DateTime<Utc>,
) -> AppResult<Vec<(Event, Transition)>> {
    let rules = &st.0.rules;
    let due: Vec<EventId> = st
        .view()?
        .dataset
        .events
        .iter()
        .filter(|e| {
            e.status.is_open()
                && e.handler.is_some()
                && rules.limits.sla(e, now).level >= SlaLevel::Red
        })
        .map(|e| e.id)
        .collect();
    let mut out = Vec::with_capacity(due.len());
    for id in due {
        let st2 = st.clone();
        let applied = st
            .with_store(move |s| {
                let Some(&i) = st2.view()?.event_pos.get(&id) else {
                    return Ok(None);
                };
                let mut ev = [st2.view()?.dataset.events[i].clone()];
                match escalate_due(&mut ev, &st2.0.rules, SLA_ACTOR, now).pop() {
                    Some((_, esc)) => {
                        let [ev] = ev;
                        Ok(Some(commit(&st2, s, ev, esc.transition)?))
                    }
                    None => Ok(None),
                }
            })
            .await?;
        if let Some(a) = applied {
            broadcast(st, &changed_json(st, &a, now)?);
            out.push((a.event, a.transition));
        }
    }
    Ok(out)
}

/// `POST /api/v1/escalate`: runs the time-limit check now (leader or
/// department). `wangge serve` also runs it in the background, see
/// [`escalation_loop`].
pub async fn escalate_now(State(st): State<AppState>, access: Access) -> AppResult<Json<Value>> {
    if !matches!(access.role, Role::Leader | Role::Department) {
        return Err(AppError::Forbidden(
            "only a leader or a department may run the escalation".into(),
        ));
    }
    let now = Utc::now();
    let done = run_escalation(&st, now).await?;
    let list: Vec<Value> = done
        .iter()
        .map(|(e, t)| {
            json!({"id": e.id.get(), "handler": e.handler, "deadline": e.deadline.map(|d| d.to_rfc3339()), "transition": transition_json(t)})
        })
        .collect();
    Ok(Json(
        json!({"at": now.to_rfc3339(), "count": list.len(), "escalated": list}),
    ))
}

/// Runs [`run_escalation`] every `every` until the runtime stops; failures
/// are logged and retried at the next tick.
pub async fn escalation_loop(st: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run_escalation(&st, Utc::now()).await {
            Ok(done) if !done.is_empty() => {
                tracing::info!(count = done.len(), "escalated red and overdue events");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "escalation run failed"),
        }
    }
}

/// `GET /api/v1/events/{id}`: the event, its timeline and its time-limit
/// state (`sla`).
pub async fn event_detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
) -> AppResult<Json<Value>> {
    let eid = parse_id(&id)?;
    current(&st, &access, eid)?;
    let Json(mut v) = crate::routes::api::event_detail(State(st.clone()), Path(id)).await?;
    let sla = {
        let view = st.view()?;
        view.event_pos
            .get(&eid)
            .map(|&i| sla_json(&st.0.rules, &view.dataset.events[i], Utc::now()))
            .unwrap_or(Value::Null)
    };
    if let Some(m) = v.as_object_mut() {
        m.insert("sla".into(), sla);
        crate::routes::api::scrub_event(access.reveals(), m);
    }
    if access.reveals() {
        let (actor, reason) = (
            access.actor(),
            access.reveal_reason.clone().unwrap_or_default(),
        );
        st.with_store(move |s| Ok(s.audit(&actor, "reveal", &format!("event {eid}: {reason}"))?))
            .await?;
    }
    Ok(Json(v))
}

/// `GET /api/v1/receipts/{receipt}`: what a resident may follow of their
/// report: category, status, handler, deadline, time-limit state and the
/// timeline as statuses and times, without title, place, actors or notes.
/// A merged report also shows the status of the event it was merged into.
pub async fn receipt_status(
    State(st): State<AppState>,
    Path(r): Path<String>,
) -> AppResult<Json<Value>> {
    let unknown = || AppError::NotFound(format!("receipt {r:?} not found"));
    let id = receipt_id(&r).ok_or_else(unknown)?;
    let now = Utc::now();
    let (e, master) = {
        let view = st.view()?;
        let e = view
            .event_pos
            .get(&id)
            .map(|&i| view.dataset.events[i].clone())
            .filter(|e| crate::auth::secret::same(&receipt(&st.0.auth.receipt_key, e), &r))
            .ok_or_else(unknown)?;
        let master = e
            .master
            .and_then(|m| view.event_pos.get(&m))
            .map(|&i| view.dataset.events[i].clone());
        (e, master)
    };
    let rows = st.with_store(move |s| Ok(s.timeline(id)?)).await?;
    let mut timeline: Vec<Value> = rows
        .iter()
        .map(|t| json!({"status": t.to, "at": Utc.timestamp_opt(t.at, 0).single().map(|d| d.to_rfc3339())}))
        .collect();
    if timeline.is_empty() {
        timeline.push(json!({"status": "reported", "at": e.reported_at.to_rfc3339()}));
        if e.status != EventStatus::Reported {
            timeline.push(
                json!({"status": e.status.code(), "at": e.resolved_at.map(|d| d.to_rfc3339())}),
            );
        }
    }
    let def = e.category.def();
    Ok(Json(json!({
        "receipt": r,
        "category": e.category.code(),
        "category_zh": def.name_zh,
        "category_en": def.name_en,
        "status": e.status.code(),
        "reported_at": e.reported_at.to_rfc3339(),
        "handler": e.handler,
        "deadline": e.deadline.map(|d| d.to_rfc3339()),
        "resolved_at": e.resolved_at.map(|d| d.to_rfc3339()),
        "satisfaction": e.satisfaction,
        "sla": sla_json(&st.0.rules, &e, now),
        "merged_into": master.map(|m| json!({
            "status": m.status.code(),
            "resolved_at": m.resolved_at.map(|d| d.to_rfc3339()),
            "sla": sla_json(&st.0.rules, &m, now),
        })),
        "timeline": timeline,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_round_trips_its_id() {
        let e = Event {
            id: EventId::new(4711).unwrap(),
            category: geo_core::taxonomy::EventCategory::parse("02.05").unwrap(),
            title: "噪声".into(),
            location: geo_types::Point::new(116.6, 36.9),
            reported_at: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
            source: geo_core::model::EventSource::Resident,
            status: EventStatus::Reported,
            grade: Grade::General,
            deadline: None,
            handler: None,
            resolved_at: None,
            satisfaction: None,
            master: None,
            reporter_household: None,
        };
        let r = receipt(b"test key", &e);
        assert!(r.starts_with("R4711-"), "{r}");
        assert_eq!(receipt_id(&r), Some(e.id));
        assert_eq!(receipt_id("4711-abc"), None);
        assert_eq!(receipt_id("Rx-1"), None);
    }

    #[test]
    fn stored_rows_rebuild_the_timeline() {
        let rows = vec![
            TransitionRow {
                from: None,
                to: "reported".into(),
                at: 100,
                actor: "intake".into(),
                note: "intake".into(),
            },
            TransitionRow {
                from: Some("reported".into()),
                to: "accepted".into(),
                at: 200,
                actor: "centre".into(),
                note: String::new(),
            },
        ];
        let tl = timeline_of(&rows);
        assert_eq!(tl.0.len(), 2);
        assert_eq!(tl.0[0].from, EventStatus::Reported);
        assert_eq!(
            tl.last_at(EventStatus::Accepted),
            Utc.timestamp_opt(200, 0).single()
        );
    }
}
