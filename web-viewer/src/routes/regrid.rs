//! Re-gridding jobs over HTTP (leaders and planners): start, read, cancel
//! and adopt. A run takes seconds to minutes, so `POST /api/v1/regrid`
//! stores a job and runs it on a blocking thread (`service::regrid_jobs`);
//! the job is kept in the store (schema v11), so it can be read and adopted
//! after a restart. A job of another account is answered as absent (404),
//! except to leaders.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use geo_core::ids::CommunityId;
use geo_core::model::GridKind;
use geo_core::store::{NewRegridJob, RegridJobEnd, RegridJobRow, RegridJobState, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::role::{Access, Role};
use crate::service::regrid::{change_from_proposal, Proposal, RegridRequest};
use crate::service::regrid_jobs::{self, JobSpec, MAX_JOBS};
use crate::state::AppState;

fn planner_or_leader(access: &Access, what: &str) -> AppResult<()> {
    if matches!(access.role, Role::Leader | Role::Planner) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {:?} may not {what}; leaders and planners may",
            access.role
        )))
    }
}

fn not_found(id: u64) -> AppError {
    AppError::NotFound(format!("re-gridding job {id} not found"))
}

/// 409 `not_running`: job `id` ended already (`state`).
fn not_running(id: u64, state: RegridJobState) -> AppError {
    AppError::Conflict(
        ErrorCode::NotRunning,
        format!(
            "re-gridding job {id} is {} already; only a running job can be cancelled",
            state.code()
        ),
    )
}

fn job_id(s: &str) -> AppResult<u64> {
    s.parse::<u64>().map_err(|_| {
        AppError::bad(
            ErrorCode::BadJob,
            format!("job={s:?}: expected a job number"),
        )
    })
}

/// The stored job `id` if the caller may touch it (its owner, or a leader);
/// absent otherwise.
async fn owned_job(st: &AppState, access: &Access, id: u64) -> AppResult<RegridJobRow> {
    let row = st
        .with_store(move |s| Ok(s.regrid_job(id)?))
        .await?
        .ok_or_else(|| not_found(id))?;
    if access.role == Role::Leader || row.owner == access.actor() {
        Ok(row)
    } else {
        Err(not_found(id))
    }
}

/// `POST /api/v1/regrid`: stores a re-gridding job and starts it; answers
/// `202 {job, status: "running"}`.
pub async fn start_regrid(
    State(st): State<AppState>,
    access: Access,
    body: axum::body::Bytes,
) -> AppResult<impl IntoResponse> {
    planner_or_leader(&access, "re-grid")?;
    let req: RegridRequest = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad(ErrorCode::BadBody, format!("regrid body: {e}")))?;
    let params = req
        .params()
        .map_err(|e| AppError::bad(ErrorCode::BadParam, e.to_string()))?;
    let community_id = {
        let view = st.view()?;
        req.community_id(&view.dataset.communities)
            .map_err(|e| AppError::bad(ErrorCode::BadCommunity, e.to_string()))?
    };
    let live = &st.0.regrid_jobs;
    live.reserve()
        .map_err(|e| AppError::Conflict(ErrorCode::Busy, e.to_string()))?;
    let new = NewRegridJob {
        owner: access.actor(),
        level: params.level.code().to_string(),
        community: community_id.map(CommunityId::get),
        params: serde_json::to_string(&params)
            .map_err(|e| AppError::Internal(format!("encoding parameters: {e}")))?,
        created_at: st.now().timestamp(),
    };
    let stored = st
        .with_store(move |s| Ok(s.start_regrid_job(&new, MAX_JOBS)?))
        .await;
    let id = match stored {
        Ok(id) => id,
        Err(e) => {
            live.settle(None);
            return Err(e);
        }
    };
    let cancel = live.settle(Some(id));
    let spec = JobSpec {
        id,
        level: params.level,
        community: req.community.clone(),
        params,
        budget: st.0.config.regrid_budget,
        cancel,
    };
    let st2 = st.clone();
    // The budget runs from here: reading the town counts.
    let stop = analytics::regrid::Stop::new(spec.cancel.clone(), Some(spec.budget));
    tokio::spawn(async move {
        // The input is read on a read connection, never under the write
        // lock; a read refused (the readers' queue full) fails the job
        // with that reason.
        let (level, community) = (spec.level, spec.community.clone());
        let input = st2
            .with_reader(move |s| Ok(regrid_jobs::read_input(s, level, community.as_deref())))
            .await
            .unwrap_or_else(|e| Err(format!("reading the town: {}", e.message())));
        let _ = tokio::task::spawn_blocking(move || {
            regrid_jobs::run(&st2.0.store, &st2.0.regrid_jobs, &spec, stop, input, || {
                st2.now().timestamp()
            });
        })
        .await;
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(RegridJob {
            job: id.to_string(),
            status: "running",
            ..RegridJob::default()
        }),
    ))
}

/// A re-gridding job as `POST /api/v1/regrid` (`{job, status}`),
/// `GET /api/v1/regrid/{job}` and `POST /api/v1/regrid/{job}/cancel`
/// answer it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegridJob {
    /// Job ID.
    pub job: String,
    /// `running`, `done`, `failed` or `cancelled`.
    pub status: &'static str,
    /// Progress 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<f32>,
    /// The parameters of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// `{geojson, report}` once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Why it failed or was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Grid version it was adopted as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted_version: Option<i64>,
    /// When it started, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// When it ended, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
}

impl RegridJob {
    /// The answer for a stored job; `live` is the progress of a job running
    /// in this process.
    fn of(row: RegridJobRow, live: Option<f32>) -> AppResult<Self> {
        let json = |s: &str, what: &str| {
            serde_json::from_str::<Value>(s).map_err(|e| {
                AppError::Internal(format!("re-gridding job {}: stored {what}: {e}", row.id))
            })
        };
        let params = Some(json(&row.params, "parameters")?);
        let result = match (&row.state, &row.result) {
            (RegridJobState::Done, Some(r)) => Some(json(r, "result")?),
            _ => None,
        };
        Ok(Self {
            job: row.id.to_string(),
            status: row.state.code(),
            progress: Some(match row.state {
                RegridJobState::Running => live.unwrap_or(0.0),
                _ => row.progress,
            }),
            params,
            result,
            error: row.error,
            adopted_version: row.adopted_version,
            created_at: Some(row.created_at),
            finished_at: row.finished_at,
        })
    }
}

/// `GET /api/v1/regrid/{job}`: `{job, status, progress, params, result?,
/// error?, adopted_version?, created_at, finished_at?}`.
pub async fn regrid_status(
    State(st): State<AppState>,
    Path(job): Path<String>,
    access: Access,
) -> AppResult<Json<RegridJob>> {
    planner_or_leader(&access, "read re-gridding jobs")?;
    let id = job_id(&job)?;
    let row = owned_job(&st, &access, id).await?;
    let live = st.0.regrid_jobs.progress(id);
    Ok(Json(RegridJob::of(row, live)?))
}

/// `POST /api/v1/regrid/{job}/cancel` (its owner or a leader): stops a
/// running job. Its thread sees the flag within a second and gives its core
/// back; the job is stored `cancelled` (error `cancelled by role:account`)
/// before the answer, the job as `GET` answers it. 409 `not_running` when it
/// ended already.
pub async fn cancel_regrid(
    State(st): State<AppState>,
    Path(job): Path<String>,
    access: Access,
) -> AppResult<Json<RegridJob>> {
    planner_or_leader(&access, "cancel re-gridding jobs")?;
    let id = job_id(&job)?;
    let row = owned_job(&st, &access, id).await?;
    if row.state != RegridJobState::Running {
        return Err(not_running(id, row.state));
    }
    let reason = format!("cancelled by {}", access.actor());
    st.0.regrid_jobs.cancel(id, &reason);
    let (at_s, progress) = (
        st.now().timestamp(),
        st.0.regrid_jobs.progress(id).unwrap_or(0.0),
    );
    let end = RegridJobEnd::Cancelled(reason);
    let (ended, row) = st
        .with_store(move |s| {
            let ended = s.end_regrid_job(id, &end, progress, at_s)?;
            Ok((ended, s.regrid_job(id)?))
        })
        .await?;
    let row = row.ok_or_else(|| not_found(id))?;
    // The job's thread may have seen the flag and stored its end (cancelled,
    // with this reason) first; a job that finished or failed on its own
    // between the check and the cancel is not cancelled.
    if !ended && row.state != RegridJobState::Cancelled {
        return Err(not_running(id, row.state));
    }
    tracing::info!(job = id, actor = %access.actor(), state = row.state.code(), "re-gridding job cancelled");
    Ok(Json(RegridJob::of(row, None)?))
}

/// Body of `POST /api/v1/regrid/{job}/adopt`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdoptBody {
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/v1/regrid/{job}/adopt` (leaders and planners): applies a
/// finished job's proposal as a new grid version (today's grids retired and
/// kept, every element re-assigned), then rebuilds the in-memory view and
/// drops every cached tile. Answers `{version, retired, created,
/// reassigned}`; 409 when the job is not done, was adopted already, or the
/// grids changed since it started. Works on a job finished before a
/// restart: the proposal and the grid state it read are stored.
pub async fn adopt_regrid(
    State(st): State<AppState>,
    Path(job): Path<String>,
    access: Access,
    body: axum::body::Bytes,
) -> AppResult<Json<geo_core::store::VersionReport>> {
    planner_or_leader(&access, "adopt re-gridding proposals")?;
    let id = job_id(&job)?;
    let body: AdoptBody = if body.iter().all(u8::is_ascii_whitespace) {
        AdoptBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad(ErrorCode::BadBody, format!("adopt body: {e}")))?
    };
    let note = body.note.unwrap_or_default();
    if note.chars().count() > 2000 {
        return Err(AppError::bad(
            ErrorCode::BadNote,
            "note: at most 2000 characters",
        ));
    }
    let row = owned_job(&st, &access, id).await?;
    match row.state {
        RegridJobState::Running => {
            return Err(AppError::Conflict(
                ErrorCode::NotDone,
                format!("re-gridding job {id} is still running"),
            ))
        }
        RegridJobState::Failed | RegridJobState::Cancelled => {
            return Err(AppError::Conflict(
                ErrorCode::NotDone,
                format!(
                    "re-gridding job {id} {} ({}); there is nothing to adopt",
                    if row.state == RegridJobState::Failed {
                        "failed"
                    } else {
                        "was cancelled"
                    },
                    row.error.as_deref().unwrap_or("no reason given")
                ),
            ))
        }
        RegridJobState::Done => {}
    }
    if let Some(v) = row.adopted_version {
        return Err(AppError::Conflict(
            ErrorCode::AlreadyAdopted,
            format!("re-gridding job {id} was adopted already as grid version {v}"),
        ));
    }
    let proposal: Arc<Proposal> = Arc::new(
        row.proposal
            .as_deref()
            .ok_or_else(|| AppError::Internal(format!("job {id} is done without a proposal")))
            .and_then(|p| {
                serde_json::from_str(p).map_err(|e| {
                    AppError::Internal(format!("job {id}: stored proposal unreadable: {e}"))
                })
            })?,
    );
    let level = GridKind::parse(&row.level)
        .map_err(|e| AppError::Internal(format!("job {id}: stored level: {e}")))?;
    let community = row
        .community
        .map(CommunityId::new)
        .transpose()
        .map_err(|e| AppError::Internal(format!("job {id}: stored community: {e}")))?;
    if !st.0.regrid_jobs.begin_adoption(id) {
        return Err(AppError::Conflict(
            ErrorCode::AlreadyAdopted,
            format!("re-gridding job {id} is being adopted"),
        ));
    }
    let actor = access.actor();
    let change = change_from_proposal(
        &proposal,
        level,
        community,
        row.basis,
        &actor,
        &note,
        &format!("regrid job {id}"),
    );
    let st2 = st.clone();
    let outcome = st
        .with_store(move |s| {
            // Adopted already (a second server process, or a request that
            // raced this one before `begin_adoption`): refuse.
            if let Some(v) = s.regrid_job(id)?.and_then(|r| r.adopted_version) {
                return Err(AppError::Conflict(
                    ErrorCode::AlreadyAdopted,
                    format!("re-gridding job {id} was adopted already as grid version {v}"),
                ));
            }
            let report = s.replace_grids(&change).map_err(|e| match e {
                StoreError::Stale { .. } => {
                    AppError::Conflict(ErrorCode::StaleProposal, e.to_string())
                }
                StoreError::InvalidChange { .. } => {
                    AppError::Conflict(ErrorCode::InvalidProposal, e.to_string())
                }
                other => AppError::from(other),
            })?;
            s.set_regrid_job_adopted(id, report.version)?;
            Ok((report, st2.reload_view(s)))
        })
        .await;
    st.0.regrid_jobs.end_adoption(id);
    let (report, rebuilt) = outcome?;
    rebuilt.map_err(|e| {
        AppError::Internal(format!(
            "grid version {} stored, but the view could not be rebuilt: {e}",
            report.version
        ))
    })?;
    tracing::info!(
        job = id,
        version = report.version,
        "re-gridding proposal adopted"
    );
    Ok(Json(report))
}
