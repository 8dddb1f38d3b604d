//! 一户一档 and 民情 over HTTP: a household's file, recording a visit and
//! its photos, closing a need, the overdue visits and the per-grid 民情 layer. The
//! answers are built by [`crate::service::household`].
//!
//! A household outside a worker's grids is absent (404), as one that does
//! not exist; the guard refuses the roles that may not see people (the
//! matrix) before a handler runs.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use geo_core::ids::{HouseholdId, NeedId, PersonId, VisitId};
use geo_core::model::{NeedCategory, VisitKind};
use geo_core::store::{NewNeed, NewVisit, Scope, Store, VisitPhotoRow};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, ErrorCode, JsonBody};
use crate::present::PhotoView;
use crate::role::Access;
use crate::service::household::{
    file, overdue, sentiment_layer, FileParts, HouseholdFile, NeedView, OverdueList, Reveal,
    SentimentLayer, VisitView,
};
use crate::service::photos as photo_files;
use crate::state::AppState;

/// Longest visit note.
const MAX_NOTES: usize = 2000;
/// Longest need text.
const MAX_NEED: usize = 200;
/// Most needs one visit records.
const MAX_NEEDS: usize = 20;

fn scope_of(st: &AppState, access: &Access) -> AppResult<Scope> {
    let view = st.view()?;
    Ok(access.scope(|c| {
        view.grid_by_code
            .get(c.as_str())
            .map(|&i| view.dataset.grids[i].id)
    }))
}

fn people_only(access: &Access) -> AppResult<()> {
    if access.role.sees_people() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} sees aggregates only; households are personal data",
            access.role.name()
        )))
    }
}

fn household_id(s: &str) -> AppResult<HouseholdId> {
    s.parse()
        .map_err(|e: geo_core::IdError| AppError::bad(ErrorCode::BadId, format!("household: {e}")))
}

fn absent(id: impl std::fmt::Display) -> AppError {
    AppError::NotFound(format!("household {id} not found"))
}

/// Query of the file.
#[derive(Debug, Default, Deserialize)]
pub struct FileQuery {
    /// With `X-Wangge-Reveal-Reason`: reveal this member only (else all).
    person: Option<String>,
}

/// `GET /api/v1/households/{id}/file`.
pub async fn household_file(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    Query(q): Query<FileQuery>,
) -> AppResult<Json<HouseholdFile>> {
    people_only(&access)?;
    let hid = household_id(&id)?;
    let scope = scope_of(&st, &access)?;
    let person = q
        .person
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<PersonId>())
        .transpose()
        .map_err(|e| AppError::bad(ErrorCode::BadId, format!("person: {e}")))?;
    let reveal = match (access.reveals(), person) {
        (false, _) => Reveal::None,
        (true, Some(p)) => Reveal::One(p),
        (true, None) => Reveal::All,
    };
    let (actor, reason) = (
        access.actor(),
        access.reveal_reason.clone().unwrap_or_default(),
    );
    let parts = st
        .with_store(move |s| {
            let household = s.household(&scope, hid)?.ok_or_else(|| absent(hid))?;
            let members = s.members(&scope, hid)?;
            if let Reveal::One(p) = reveal {
                if !members.iter().any(|m| m.id == p) {
                    return Err(AppError::NotFound(format!(
                        "person {p} is not a member of household {hid}"
                    )));
                }
            }
            if reveal != Reveal::None {
                let who = match reveal {
                    Reveal::One(p) => format!("person {p}"),
                    _ => format!("{} persons", members.len()),
                };
                s.audit(
                    &actor,
                    "reveal",
                    &format!("household {hid} file, {who}; reason: {reason}"),
                )?;
            }
            Ok(FileParts {
                refs: s.household_refs(hid)?.unwrap_or_default(),
                visits: s.visits_of(&scope, hid)?,
                needs: s.needs_of(&scope, hid)?,
                photos: s.visit_photos(&scope, hid)?,
                household,
                members,
            })
        })
        .await?;
    let view = st.view()?;
    Ok(Json(file(&view, &access, parts, reveal, st.now())))
}

/// A need in a visit's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeedBody {
    /// Short text.
    #[serde(default)]
    text: String,
    /// Category code.
    #[serde(default)]
    category: String,
}

/// Body of `POST /api/v1/households/{id}/visits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitBody {
    /// When (RFC 3339); now when absent.
    at: Option<String>,
    /// `routine`, `night` or `follow_up`.
    kind: Option<String>,
    /// Notes.
    #[serde(default)]
    notes: String,
    /// Needs found.
    #[serde(default)]
    needs: Vec<NeedBody>,
}

impl VisitBody {
    fn check(self, household: HouseholdId, actor: &str, now: DateTime<Utc>) -> AppResult<NewVisit> {
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(AppError::bad(
                    ErrorCode::BadVisitKind,
                    "kind is required: routine, night or follow_up",
                ))
            }
            Some(k) => VisitKind::parse(k)
                .map_err(|e| AppError::bad(ErrorCode::BadVisitKind, format!("kind: {e}")))?,
        };
        let at = match self.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => now,
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    AppError::bad(
                        ErrorCode::BadTime,
                        format!("at={t:?}: not an RFC 3339 time ({e})"),
                    )
                })?,
        };
        if at > now + chrono::Duration::minutes(5) {
            return Err(AppError::bad(
                ErrorCode::BadTime,
                format!(
                    "at={}: a visit cannot be recorded in the future",
                    at.to_rfc3339()
                ),
            ));
        }
        let notes = self.notes.trim().to_string();
        if notes.chars().count() > MAX_NOTES {
            return Err(AppError::bad(
                ErrorCode::BadNote,
                format!(
                    "notes of {} characters: at most {MAX_NOTES}",
                    notes.chars().count()
                ),
            ));
        }
        if self.needs.len() > MAX_NEEDS {
            return Err(AppError::bad(
                ErrorCode::BadNeed,
                format!(
                    "needs: {} given, at most {MAX_NEEDS} per visit",
                    self.needs.len()
                ),
            ));
        }
        let needs = self
            .needs
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let text = n.text.trim().to_string();
                let len = text.chars().count();
                if len == 0 || len > MAX_NEED {
                    return Err(AppError::bad(
                        ErrorCode::BadNeed,
                        format!("needs[{i}].text: must be 1..={MAX_NEED} characters"),
                    ));
                }
                let category = NeedCategory::parse(&n.category).map_err(|e| {
                    AppError::bad(ErrorCode::BadNeed, format!("needs[{i}].category: {e}"))
                })?;
                Ok(NewNeed { category, text })
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(NewVisit {
            household,
            at,
            kind,
            notes,
            actor: actor.to_string(),
            needs,
        })
    }
}

/// Answer of `POST /api/v1/households/{id}/visits` (201).
#[derive(Debug, Serialize)]
pub struct Recorded {
    /// The visit (notes as written: the writer may read them).
    pub visit: VisitView,
    /// The needs it opened.
    pub needs: Vec<NeedView>,
}

/// `POST /api/v1/households/{id}/visits`: records a visit by the signed-in
/// worker or leader, with the needs it found.
pub async fn record_visit(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    JsonBody(body): JsonBody<VisitBody>,
) -> AppResult<impl IntoResponse> {
    people_only(&access)?;
    let hid = household_id(&id)?;
    let scope = scope_of(&st, &access)?;
    let now = st.now();
    let actor = access.actor();
    let (visit, needs) = st
        .with_store(move |s: &mut Store| {
            // Scope first: outside the caller's grids the household is
            // absent, whatever the body says.
            s.household(&scope, hid)?.ok_or_else(|| absent(hid))?;
            let v = body.check(hid, &actor, now)?;
            let (visit, needs) = s.record_visit(&v, now)?;
            s.audit(
                &actor,
                "visit",
                &format!(
                    "household {hid} visit {} ({}), {} needs",
                    visit.id,
                    visit.kind,
                    needs.len()
                ),
            )?;
            Ok((visit, needs))
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Recorded {
            visit: VisitView::of(&visit, &needs, &[], None),
            needs: needs.iter().map(|n| NeedView::of(n, None)).collect(),
        }),
    ))
}

fn visit_id(s: &str) -> AppResult<VisitId> {
    s.parse()
        .map_err(|e: geo_core::IdError| AppError::bad(ErrorCode::BadId, format!("visit: {e}")))
}

/// Answer of `POST /api/v1/visits/{id}/photos`.
#[derive(Debug, Serialize)]
pub struct VisitPhotoAdded {
    /// The visit.
    pub visit: u64,
    /// The photo as stored.
    pub photo: PhotoView,
    /// False when the visit had it already.
    pub added: bool,
}

/// `POST /api/v1/visits/{id}/photos`: the raw JPEG or PNG body of a photo
/// taken on a visit, with the same rules as event photos
/// ([`crate::service::photos`]: size and pixel caps, re-encoded without
/// EXIF/GPS, thumbnail, the content-addressed folder beside the store), for
/// a visit of a household in the caller's scope (else 404, before the body
/// is looked at); audited. 201 (200 when the visit had it already).
pub async fn add_visit_photo(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<VisitPhotoAdded>)> {
    people_only(&access)?;
    let vid = visit_id(&id)?;
    let scope = scope_of(&st, &access)?;
    let hid = st
        .with_store(move |s| Ok(s.visit_household(&scope, vid)?))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("visit {vid} not found")))?;
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let cleaned = photo_files::store_upload(&st.0.config.db, ct, body).await?;
    let row = VisitPhotoRow {
        visit: vid,
        sha256: cleaned.sha256.clone(),
        content_type: cleaned.kind.mime().to_string(),
        bytes: cleaned.image.len() as u64,
        width: cleaned.width,
        height: cleaned.height,
        actor: access.actor(),
        at_s: st.now().timestamp(),
    };
    let stored = row.clone();
    let added = st
        .with_store(move |s| {
            let added = s.add_visit_photo(&stored)?;
            s.audit(
                &stored.actor,
                "visit_photo_add",
                &format!("household {hid} visit {vid}: {}", stored.sha256),
            )?;
            Ok(added)
        })
        .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(VisitPhotoAdded {
            visit: vid.get(),
            photo: PhotoView::from(&row),
            added,
        }),
    ))
}

/// `GET /api/v1/visits/{id}/photos/{photo}`: one photo of a visit in the
/// caller's scope (else 404, as for a photo the visit does not have); audited.
pub async fn visit_photo(
    State(st): State<AppState>,
    Path((id, sha)): Path<(String, String)>,
    access: Access,
) -> AppResult<Response> {
    serve_visit_photo(st, id, sha, access, false).await
}

/// `GET /api/v1/visits/{id}/photos/{photo}/thumb`: its thumbnail, scoped and
/// audited the same way.
pub async fn visit_photo_thumb(
    State(st): State<AppState>,
    Path((id, sha)): Path<(String, String)>,
    access: Access,
) -> AppResult<Response> {
    serve_visit_photo(st, id, sha, access, true).await
}

async fn serve_visit_photo(
    st: AppState,
    id: String,
    sha: String,
    access: Access,
    thumb: bool,
) -> AppResult<Response> {
    people_only(&access)?;
    let vid = visit_id(&id)?;
    let absent = || AppError::NotFound(format!("visit {vid} has no photo {sha:?}"));
    if !photo_files::is_sha256(&sha) {
        return Err(absent());
    }
    let scope = scope_of(&st, &access)?;
    let (actor, want) = (access.actor(), sha.clone());
    let what = if thumb {
        "visit_photo_thumb"
    } else {
        "visit_photo"
    };
    let row = st
        .with_store(move |s| {
            let Some(hid) = s.visit_household(&scope, vid)? else {
                return Ok(None);
            };
            let row = s
                .visit_photos(&scope, hid)?
                .into_iter()
                .find(|p| p.visit == vid && p.sha256 == want);
            if row.is_some() {
                s.audit(
                    &actor,
                    what,
                    &format!("household {hid} visit {vid}: {want}"),
                )?;
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

/// Body of `POST /api/v1/needs/{id}/close` (`{}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {}

/// `POST /api/v1/needs/{id}/close`.
pub async fn close_need(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    JsonBody(_): JsonBody<CloseBody>,
) -> AppResult<Json<NeedView>> {
    people_only(&access)?;
    let nid: NeedId = id
        .parse()
        .map_err(|e: geo_core::IdError| AppError::bad(ErrorCode::BadId, format!("need: {e}")))?;
    let scope = scope_of(&st, &access)?;
    let now = st.now();
    let actor = access.actor();
    let need = st
        .with_store(move |s: &mut Store| {
            let n = s
                .need(&scope, nid)?
                .ok_or_else(|| AppError::NotFound(format!("need {nid} not found")))?;
            if let Some(at) = n.closed_at {
                return Err(AppError::Conflict(
                    ErrorCode::NeedClosed,
                    format!("need {nid} was closed at {}", at.to_rfc3339()),
                ));
            }
            let closed = s.close_need(&n, now, &actor)?;
            s.audit(
                &actor,
                "need_close",
                &format!("need {nid} of household {}", n.household),
            )?;
            Ok(closed)
        })
        .await?;
    Ok(Json(NeedView::of(&need, None)))
}

/// Query of the overdue list.
#[derive(Debug, Default, Deserialize)]
pub struct OverdueQuery {
    /// Most households listed (default 200, at most 5000).
    limit: Option<String>,
}

/// `GET /api/v1/visits/overdue`: overdue visits of the caller's scope
/// (a worker's grids; a leader's town), counted per grid.
pub async fn overdue_visits(
    State(st): State<AppState>,
    access: Access,
    Query(q): Query<OverdueQuery>,
) -> AppResult<Json<OverdueList>> {
    people_only(&access)?;
    let limit = match q.limit.as_deref() {
        None | Some("") => 200,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=5000).contains(n))
            .ok_or_else(|| {
                AppError::bad(ErrorCode::BadLimit, format!("limit={l}: must be 1..=5000"))
            })?,
    };
    let scope = scope_of(&st, &access)?;
    let rows = st.with_reader(move |s| Ok(s.care_rows(&scope)?)).await?;
    let view = st.view()?;
    Ok(Json(overdue(&view, &rows, st.now(), limit)))
}

/// `GET /api/v1/grids/sentiment`: the 民情 layer, per comprehensive grid,
/// for every signed-in role; small counts suppressed for roles that may not
/// see people.
pub async fn grid_sentiment(
    State(st): State<AppState>,
    access: Access,
) -> AppResult<Json<SentimentLayer>> {
    let rows = st
        .with_reader(move |s| Ok(s.care_rows(&Scope::Town)?))
        .await?;
    let k = if access.role.sees_people() {
        0
    } else {
        st.0.config.k_anonymity
    };
    let view = st.view()?;
    Ok(Json(sentiment_layer(&view, &rows, st.now(), k)))
}
