//! The event loop (闭环) over HTTP: reading and checking the requests of
//! moves, merges, escalation runs, event detail and receipts, and answering
//! them. The rules themselves live in [`crate::service::event_loop`].
//!
//! Writes hold the store lock from reading the event to updating the view,
//! so two moves of the same event are applied one after the other and the
//! second sees the first.

use analytics::events::dispatch::Handler;
use analytics::events::merge::merge;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use geo_core::ids::EventId;
use geo_core::model::lifecycle::LifecycleError;
use geo_core::model::{Event, EventStatus, Grade, GridRefs};
use serde::Deserialize;
use serde_json::Value;

use crate::answers::{ErrorBody, NoDetail};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::present::{
    allowed_moves, department_names, in_grids, scrub_event, to_map, worker_grids, Escalated,
    EscalationRun, EventDetail, Located, NotEscalated, NoteView, PhotoAdded, PhotoView,
    ReceiptStatus, Sla, TimelineEntry, TransitionView,
};
use crate::role::{Access, Role};
use crate::service::event_loop::{
    apply_change, broadcast, changed, commit, receipt, receipt_id, run_escalation, timeline_of,
    Applied, Change, LoopError, Stopped,
};
use crate::service::photos as photo_files;
use crate::state::AppState;

/// Longest accepted actor label.
const MAX_ACTOR: usize = 64;
/// Longest accepted note.
const MAX_NOTE: usize = 2000;

fn conflict<D: serde::Serialize>(code: ErrorCode, message: String, detail: D) -> Response {
    (
        StatusCode::CONFLICT,
        Json(ErrorBody::with(code, message, detail)),
    )
        .into_response()
}

/// What a refused transition answers besides code and message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IllegalDetail {
    /// The event.
    pub event: u64,
    /// Its status.
    pub from: &'static str,
    /// The status asked for.
    pub to: &'static str,
    /// The statuses it may move to.
    pub allowed: Vec<&'static str>,
}

/// What a refused reopening answers besides code and message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReopenDetail {
    /// The event.
    pub event: u64,
    /// When it was closed, RFC 3339.
    pub closed_at: String,
    /// The reopening window, hours.
    pub window_h: i64,
}

/// The event a refused change was about.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventOfError {
    /// The event.
    pub event: u64,
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
                    } => conflict(
                        ErrorCode::IllegalTransition,
                        message,
                        IllegalDetail {
                            event: id.get(),
                            from: from.code(),
                            to: to.code(),
                            allowed: allowed.iter().map(|s| s.code()).collect(),
                        },
                    ),
                    LifecycleError::ReopenWindowPassed {
                        id,
                        closed_at,
                        window_h,
                        ..
                    } => conflict(
                        ErrorCode::ReopenWindowPassed,
                        message,
                        ReopenDetail {
                            event: id.get(),
                            closed_at: closed_at.to_rfc3339(),
                            window_h,
                        },
                    ),
                    LifecycleError::BeforeReport { id, .. } => conflict(
                        ErrorCode::BeforeReport,
                        message,
                        EventOfError { event: id.get() },
                    ),
                }
            }
            LoopError::Merge(e) => conflict(ErrorCode::MergeRefused, e.to_string(), NoDetail {}),
            LoopError::Escalate(e) => {
                conflict(ErrorCode::EscalationRefused, e.to_string(), NoDetail {})
            }
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
    let mine = worker_grids(access, view);
    if access.may_see_event(e.handler.as_deref(), in_grids(&mine, refs)) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("event {} not found", e.id)))
    }
}

fn parse_id(s: &str) -> Result<EventId, AppError> {
    s.parse()
        .map_err(|e: geo_core::IdError| AppError::bad(ErrorCode::BadId, e.to_string()))
}

fn clean_actor(actor: &str) -> Result<String, AppError> {
    let a = actor.trim();
    if a.is_empty() || a.chars().count() > MAX_ACTOR {
        return Err(AppError::bad(
            ErrorCode::BadActor,
            format!("actor={a:?}: must be 1..={MAX_ACTOR} characters (a role or post, not a resident's name)"),
        ));
    }
    Ok(a.to_string())
}

fn clean_note(note: &str) -> Result<String, AppError> {
    let n = note.trim();
    if n.chars().count() > MAX_NOTE {
        return Err(AppError::bad(
            ErrorCode::BadNote,
            format!(
                "note of {} characters: at most {MAX_NOTE}",
                n.chars().count()
            ),
        ));
    }
    Ok(n.to_string())
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
    /// Assisting departments (`dept:<name>` or `<name>`), on `dispatched`
    /// only: replaces the ones intake's rule named (`[]` removes them).
    assisting: Option<Vec<String>>,
}

/// Most assisting departments of one event.
const MAX_ASSISTING: usize = 8;

/// The department names of an `assisting` list, checked: departments only,
/// at most [`MAX_ASSISTING`], the lead and repeats dropped.
fn assisting_names(list: &[String], lead: Option<&Handler>) -> Result<Vec<String>, AppError> {
    if list.len() > MAX_ASSISTING {
        return Err(AppError::bad(
            ErrorCode::BadHandler,
            format!(
                "{} assisting departments: at most {MAX_ASSISTING}",
                list.len()
            ),
        ));
    }
    let mut out = Vec::new();
    for raw in list {
        let code = if raw.starts_with("dept:") {
            raw.trim().to_string()
        } else {
            format!("dept:{}", raw.trim())
        };
        match Handler::parse(&code) {
            Ok(h @ Handler::Department(_)) if Some(&h) != lead => {
                if let Handler::Department(d) = h {
                    if !out.contains(&d) {
                        out.push(d);
                    }
                }
            }
            Ok(_) => {}
            Err(reason) => {
                return Err(AppError::bad(
                    ErrorCode::BadHandler,
                    format!("assisting {raw:?}: {reason}"),
                ))
            }
        }
    }
    Ok(out)
}

impl TransitionBody {
    fn validate(self, actor: String) -> Result<(Change, Option<Vec<String>>), AppError> {
        let to = EventStatus::parse(self.to.trim())
            .map_err(|e| AppError::bad(ErrorCode::BadStatus, e.to_string()))?;
        if to == EventStatus::Merged {
            return Err(AppError::bad(
                ErrorCode::UseMerge,
                "to=merged: use POST /api/v1/events/{id}/merge with {into, actor}",
            ));
        }
        let grade = self
            .grade
            .as_deref()
            .map(Grade::parse)
            .transpose()
            .map_err(|e| AppError::bad(ErrorCode::BadGrade, e.to_string()))?;
        if grade.is_some() && to != EventStatus::Accepted {
            return Err(AppError::bad(
                ErrorCode::BadGrade,
                format!("grade is set on acceptance (to=accepted), not on to={to}"),
            ));
        }
        if let Some(s) = self.satisfaction {
            if !(1..=5).contains(&s) {
                return Err(AppError::bad(
                    ErrorCode::BadSatisfaction,
                    format!("satisfaction={s}: must be 1..=5"),
                ));
            }
            if to != EventStatus::Reviewed {
                return Err(AppError::bad(
                    ErrorCode::BadSatisfaction,
                    format!("satisfaction comes from the return visit (to=reviewed), not to={to}"),
                ));
            }
        }
        let handler = self
            .handler
            .as_deref()
            .map(|h| {
                Handler::parse(h).map_err(|reason| {
                    AppError::bad(ErrorCode::BadHandler, format!("handler={h:?}: {reason}"))
                })
            })
            .transpose()?;
        if handler.is_some() && to != EventStatus::Dispatched {
            return Err(AppError::bad(
                ErrorCode::BadHandler,
                format!("handler is chosen on dispatch (to=dispatched), not on to={to}"),
            ));
        }
        let assisting = match &self.assisting {
            Some(_) if to != EventStatus::Dispatched => {
                return Err(AppError::bad(
                    ErrorCode::BadHandler,
                    format!(
                    "assisting departments are chosen on dispatch (to=dispatched), not on to={to}"
                ),
                ))
            }
            Some(list) => Some(assisting_names(list, handler.as_ref())?),
            None => None,
        };
        Ok((
            Change {
                to,
                actor: clean_actor(&actor)?,
                note: clean_note(&self.note)?,
                grade,
                satisfaction: self.satisfaction,
                handler,
            },
            assisting,
        ))
    }
}

/// True when `access` is a department that assists event `id` (read from
/// the store: the lead's scope is the view's).
fn assists(s: &geo_core::store::Store, access: &Access, id: EventId) -> Result<bool, AppError> {
    match (access.role, access.department()) {
        (Role::Department, Some(d)) => Ok(s.assists_of(id)?.iter().any(|x| x == d)),
        _ => Ok(false),
    }
}

/// The event for a caller who leads it or assists it (answered `true`
/// when assisting); 404 for anyone else, as [`current`].
async fn current_or_assisting(
    st: &AppState,
    access: &Access,
    id: EventId,
) -> Result<(Event, GridRefs, bool), AppError> {
    match current(st, access, id) {
        Ok((e, r)) => Ok((e, r, false)),
        Err(AppError::NotFound(m)) if access.role == Role::Department => {
            let a = access.clone();
            if st.with_reader(move |s| assists(s, &a, id)).await? {
                let view = st.view()?;
                let i = *view
                    .event_pos
                    .get(&id)
                    .ok_or_else(|| AppError::NotFound(m.clone()))?;
                Ok((view.dataset.events[i].clone(), view.event_refs[i], true))
            } else {
                Err(AppError::NotFound(m))
            }
        }
        Err(e) => Err(e),
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
    s: &mut geo_core::store::Store,
    access: &Access,
    id: EventId,
    (c, assisting): (Change, Option<Vec<String>>),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Applied, LoopError> {
    let (mut ev, _) = match current(st, access, id) {
        Err(AppError::NotFound(_)) if assists(s, access, id)? => {
            return Err(AppError::Forbidden(format!(
                "department {} assists event {id}: it adds notes (POST /api/v1/events/{id}/notes); the lead handler moves it",
                access.department().unwrap_or_default()
            ))
            .into())
        }
        r => r?,
    };
    let mut tl = timeline_of(&s.timeline(id)?);
    let t = apply_change(&mut ev, &mut tl, &c, &st.0.rules, now)?;
    let actor = c.actor.clone();
    let applied = commit(st, s, ev, t)?;
    if let Some(list) = assisting {
        s.set_assists(id, &list, &actor, now.timestamp())
            .map_err(AppError::from)?;
    }
    Ok(applied)
}

/// `POST /api/v1/events/{id}/transition`: moves an event along the loop.
/// Body `{to, actor, note?, grade?, satisfaction?, handler?, assisting?}`; an
/// assisting department is refused (403: it adds notes); 409 with
/// `{error: {code: illegal_transition, from, to, allowed}}` for a move the
/// state machine refuses; 403 for screen, planner and public roles.
pub async fn transition(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    Json(body): Json<TransitionBody>,
) -> Result<Json<crate::present::ChangedEvent>, LoopError> {
    require_handler_role(&access)?;
    let id = parse_id(&id)?;
    let change = body.validate(access.actor())?;
    let now = st.now();
    let st2 = st.clone();
    let applied = st
        .with_store(move |s| Ok(apply_transition(&st2, s, &access, id, change, now)))
        .await??;
    let v = changed(&st, &applied, now)?;
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

/// Answer of `POST /api/v1/events/{id}/merge`.
#[derive(Debug, serde::Serialize)]
pub struct MergeResult {
    /// The duplicate after the merge.
    pub merged: crate::present::ChangedEvent,
    /// The master event (unchanged).
    pub master: crate::present::EventProps,
}

/// `POST /api/v1/events/{id}/merge`: links duplicate `{id}` to the master
/// event `into` (status `merged`, `master` set); the master is unchanged.
pub async fn merge_into(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    Json(body): Json<MergeBody>,
) -> Result<Json<MergeResult>, LoopError> {
    require_handler_role(&access)?;
    let id = parse_id(&id)?;
    let master_id = EventId::new(body.into)
        .map_err(|e| AppError::bad(ErrorCode::BadId, format!("into={}: {e}", body.into)))?;
    let actor = clean_actor(&access.actor())?;
    let now = st.now();
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
    let merged = changed(&st, &applied, now)?;
    broadcast(&st, &merged);
    let master = {
        let view = st.view()?;
        crate::present::EventProps::of(&view, &master, &master_refs, now)
    };
    Ok(Json(MergeResult { merged, master }))
}

/// `POST /api/v1/escalate`: runs the time-limit check now (leader or
/// department). `wangge serve` also runs it in the background, see
/// [`crate::service::event_loop::escalation_loop`].
pub async fn escalate_now(
    State(st): State<AppState>,
    access: Access,
) -> AppResult<Json<EscalationRun>> {
    if !matches!(access.role, Role::Leader | Role::Department) {
        return Err(AppError::Forbidden(
            "only a leader or a department may run the escalation".into(),
        ));
    }
    let now = st.now();
    let run = run_escalation(&st, now).await?;
    let escalated: Vec<Escalated> = run
        .escalated
        .iter()
        .map(|(e, t)| Escalated {
            id: e.id.get(),
            handler: e.handler.clone(),
            deadline: e.deadline.map(|d| d.to_rfc3339()),
            transition: TransitionView::from(t),
        })
        .collect();
    Ok(Json(EscalationRun {
        at: now.to_rfc3339(),
        count: escalated.len(),
        escalated,
        at_top: run.at_top.iter().map(not_escalated).collect(),
        refused: run.refused.iter().map(not_escalated).collect(),
    }))
}

fn not_escalated(s: &Stopped) -> NotEscalated {
    NotEscalated {
        id: s.id.get(),
        handler: s.handler.clone(),
        reason: s.reason.clone(),
    }
}

/// `GET /api/v1/events/{id}`: the event, its timeline and its time-limit
/// state (`sla`); free text scrubbed unless the request reveals (audited).
pub async fn event_detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
) -> AppResult<Json<Value>> {
    let eid = parse_id(&id)?;
    let (_, _, you_assist) = current_or_assisting(&st, &access, eid).await?;
    let x = crate::service::event_loop::extras(&st, eid).await?;
    let (rows, photos, notes) = (&x.timeline, &x.photos, &x.notes);
    let assisting = x.assisting.clone();
    let reveal = access.reveals();
    let now = st.now();
    let detail = {
        let view = st.view()?;
        let &i = view
            .event_pos
            .get(&eid)
            .ok_or_else(|| AppError::NotFound(format!("event {eid} not found")))?;
        let e = &view.dataset.events[i];
        let handler_names =
            department_names(&st.0.rules.departments, e.handler.as_deref(), &assisting);
        (
            EventDetail {
                event: Located::of(&view, e, &view.event_refs[i], now),
                timeline: TimelineEntry::of(e, rows),
                sla: Sla::of(&st.0.rules, e, now),
                allowed: if you_assist {
                    Vec::new()
                } else {
                    allowed_moves(e.status)
                },
                photos: photos.iter().map(PhotoView::from).collect(),
                assisting,
                you_assist,
                notes: notes.iter().map(|n| NoteView::of(n, reveal)).collect(),
                handler_names,
            },
            view.names_of(e).to_vec(),
        )
    };
    let mut m = to_map(&detail.0);
    scrub_event(access.reveals(), &detail.1, &mut m);
    if access.reveals() {
        let (actor, reason) = (
            access.actor(),
            access.reveal_reason.clone().unwrap_or_default(),
        );
        st.with_store(move |s| Ok(s.audit(&actor, "reveal", &format!("event {eid}: {reason}"))?))
            .await?;
    }
    Ok(Json(Value::Object(m)))
}

/// `POST /api/v1/events/{id}/photos`: the raw JPEG or PNG body (its
/// `Content-Type`, the session's CSRF token), at most 10 MiB, for an event in
/// the caller's scope (else 404, before the body is looked at). The photo is
/// re-encoded without metadata (EXIF GPS included) with a thumbnail
/// ([`crate::service::photos`]), written to the folder beside the store and
/// linked to the event with the actor and the time. 201 (200 when the event
/// had it already); 415 `unsupported_photo` (HEIC…), 413 `photo_too_large`,
/// 400 `bad_photo`.
pub async fn add_photo(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<PhotoAdded>)> {
    require_handler_role(&access)?;
    let eid = parse_id(&id)?;
    current(&st, &access, eid)?;
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let cleaned = photo_files::store_upload(&st.0.config.db, ct, body).await?;
    let row = geo_core::store::PhotoRow {
        event: eid,
        sha256: cleaned.sha256.clone(),
        content_type: cleaned.kind.mime().to_string(),
        bytes: cleaned.image.len() as u64,
        width: cleaned.width,
        height: cleaned.height,
        actor: access.actor(),
        at_s: st.now().timestamp(),
    };
    let stored = row.clone();
    let added = st.with_store(move |s| Ok(s.add_photo(&stored)?)).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(PhotoAdded {
            event: eid.get(),
            photo: PhotoView::from(&row),
            added,
        }),
    ))
}

/// `GET /api/v1/events/{id}/photos/{photo}`: one photo of an event in the
/// caller's scope (else 404, as for a photo the event does not have);
/// audited like every reveal of personal data.
pub async fn photo(
    State(st): State<AppState>,
    Path((id, sha)): Path<(String, String)>,
    access: Access,
) -> AppResult<Response> {
    serve_photo(st, id, sha, access, false).await
}

/// `GET /api/v1/events/{id}/photos/{photo}/thumb`: its thumbnail, scoped
/// and audited the same way.
pub async fn photo_thumb(
    State(st): State<AppState>,
    Path((id, sha)): Path<(String, String)>,
    access: Access,
) -> AppResult<Response> {
    serve_photo(st, id, sha, access, true).await
}

async fn serve_photo(
    st: AppState,
    id: String,
    sha: String,
    access: Access,
    thumb: bool,
) -> AppResult<Response> {
    require_handler_role(&access)?;
    let eid = parse_id(&id)?;
    current(&st, &access, eid)?;
    let absent = || AppError::NotFound(format!("event {eid} has no photo {sha:?}"));
    if !photo_files::is_sha256(&sha) {
        return Err(absent());
    }
    let (actor, want) = (access.actor(), sha.clone());
    let what = if thumb { "photo_thumb" } else { "photo" };
    let row = st
        .with_store(move |s| {
            let row = s.photos_of(eid)?.into_iter().find(|p| p.sha256 == want);
            if row.is_some() {
                s.audit(&actor, what, &format!("event {eid}: {want}"))?;
            }
            Ok(row)
        })
        .await?
        .ok_or_else(absent)?;
    Ok(
        photo_files::read_stored(&st.0.config.db, &row.content_type, &sha, thumb)
            .await?
            .into_response(),
    )
}

/// Body of `POST /api/v1/events/{id}/notes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// The note or feedback (1..=2000 characters).
    note: String,
}

/// `POST /api/v1/events/{id}/notes`: a note or feedback on an event from a
/// caller who leads it, assists it (a department named on dispatch) or
/// holds its grid (a worker), or a leader; the status does not change. 201
/// with the note as stored; 404 outside the caller's events.
pub async fn add_note(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    Json(body): Json<NoteBody>,
) -> AppResult<(StatusCode, Json<NoteView>)> {
    require_handler_role(&access)?;
    let eid = parse_id(&id)?;
    current_or_assisting(&st, &access, eid).await?;
    let note = clean_note(&body.note)?;
    if note.is_empty() {
        return Err(AppError::bad(ErrorCode::BadNote, "note is empty"));
    }
    let row = geo_core::store::NoteRow {
        event: eid,
        at_s: st.now().timestamp(),
        actor: clean_actor(&access.actor())?,
        department: (access.role == Role::Department)
            .then(|| access.department().map(String::from))
            .flatten(),
        note,
    };
    let stored = row.clone();
    st.with_store(move |s| Ok(s.add_event_note(&stored)?))
        .await?;
    Ok((StatusCode::CREATED, Json(NoteView::of(&row, true))))
}

/// `GET /api/v1/receipts/{receipt}`: what a resident may follow of their
/// report: category, status, handler, deadline, time-limit state and the
/// timeline as statuses and times, without title, place, actors or notes.
/// A merged report also shows the status of the event it was merged into.
pub async fn receipt_status(
    State(st): State<AppState>,
    Path(r): Path<String>,
) -> AppResult<Json<ReceiptStatus>> {
    let unknown = || AppError::NotFound(format!("receipt {r:?} not found"));
    let id = receipt_id(&r).ok_or_else(unknown)?;
    let now = st.now();
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
    let rows = st.with_reader(move |s| Ok(s.timeline(id)?)).await?;
    Ok(Json(ReceiptStatus::of(
        &st.0.rules,
        r,
        &e,
        master.as_ref(),
        &rows,
        now,
    )))
}
