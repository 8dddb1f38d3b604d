//! Analytics over HTTP: re-gridding jobs, indicators, emerging hotspots and
//! 15-minute coverage. Every answer is an aggregate (counts, shares, grid
//! shapes), so planners may call all of them; re-gridding is for leaders
//! and planners.
//!
//! Re-gridding runs for seconds to minutes, so `POST /api/v1/regrid` starts
//! a background job (`spawn_blocking`) and answers its ID at once; the job
//! registry is process-wide and keeps the latest [`MAX_JOBS`] jobs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use geo_core::ids::CommunityId;
use geo_core::model::{GridKind, ServiceKind};
use geo_core::store::{GridState, LoadSet, Scope, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::answers::{GridVersions, GridsOfVersion};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::query::{format_of, CoverageQuery, Format, HotspotQuery, IndicatorQuery};
use crate::role::{Access, Role};
use crate::service::regrid::{change_from_proposal, load_input, Proposal, RegridRequest};
use crate::service::report::{
    self, AreaIndicators, AreaLevel, CoverageAnswer, HotspotRow, HotspotsAnswer, IndicatorsAnswer,
};
use crate::state::AppState;
use crate::view::TownView;

/// Jobs kept in the registry (oldest finished ones are dropped first).
pub const MAX_JOBS: usize = 64;

/// Jobs allowed to run at once (the machine has few cores).
pub const MAX_RUNNING: usize = 2;

#[derive(Debug, Clone)]
enum JobState {
    Running,
    Done(Value),
    Failed(String),
}

#[derive(Debug, Clone)]
struct Job {
    state: JobState,
    progress: f32,
    params: Value,
    /// Level re-gridded.
    level: GridKind,
    /// Community re-gridded (whole town when `None`).
    community: Option<CommunityId>,
    /// Grid state the input was read at (a later change makes it stale).
    basis: Option<GridState>,
    /// The proposal, once done (adopt applies it).
    proposal: Option<Arc<Proposal>>,
    /// Adoption: `Some(None)` while it runs, `Some(Some(v))` once adopted as
    /// grid version `v`.
    adopted: Option<Option<i64>>,
    /// Actor who started it: only they (and leaders) may read or adopt it.
    owner: String,
}

/// A job the caller may not touch is answered as absent.
fn owned(job: &Job, access: &Access, id: u64) -> AppResult<()> {
    if access.role == Role::Leader || job.owner == access.actor() {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "re-gridding job {id} not found"
        )))
    }
}

static JOBS: LazyLock<Mutex<BTreeMap<u64, Job>>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));
static NEXT_JOB: AtomicU64 = AtomicU64::new(1);

fn jobs() -> AppResult<std::sync::MutexGuard<'static, BTreeMap<u64, Job>>> {
    JOBS.lock()
        .map_err(|_| AppError::Internal("job registry lock poisoned".into()))
}

fn set_job(id: u64, f: impl FnOnce(&mut Job)) {
    if let Ok(mut j) = JOBS.lock() {
        if let Some(job) = j.get_mut(&id) {
            f(job);
        }
    }
}

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

/// `POST /api/v1/regrid`: starts a re-gridding job; answers `202 {job}`.
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
    let id = {
        let mut j = jobs()?;
        let running = j
            .values()
            .filter(|x| matches!(x.state, JobState::Running))
            .count();
        if running >= MAX_RUNNING {
            return Err(AppError::Conflict(
                ErrorCode::Busy,
                format!("{running} re-gridding jobs are running; try again when one is done"),
            ));
        }
        while j.len() >= MAX_JOBS {
            let old = j
                .iter()
                .find(|(_, x)| !matches!(x.state, JobState::Running))
                .map(|(k, _)| *k);
            match old {
                Some(k) => {
                    j.remove(&k);
                }
                None => break,
            }
        }
        let id = NEXT_JOB.fetch_add(1, Ordering::Relaxed);
        j.insert(
            id,
            Job {
                state: JobState::Running,
                progress: 0.0,
                params: serde_json::to_value(&params).unwrap_or(Value::Null),
                level: params.level,
                community: community_id,
                basis: None,
                proposal: None,
                owner: access.actor(),
                adopted: None,
            },
        );
        id
    };
    let community = req.community.clone();
    let level = params.level;
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let outcome = run_job(&st2, id, level, community.as_deref(), &params);
        set_job(id, |job| match outcome {
            Ok((v, proposal, basis)) => {
                job.progress = 1.0;
                job.state = JobState::Done(v);
                job.proposal = Some(Arc::new(proposal));
                job.basis = Some(basis);
            }
            Err(e) => {
                tracing::warn!(job = id, error = %e, "re-gridding job failed");
                job.state = JobState::Failed(e);
            }
        });
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(RegridJob {
            job: id.to_string(),
            status: "running",
            progress: None,
            params: None,
            result: None,
            error: None,
            adopted_version: None,
        }),
    ))
}

fn run_job(
    st: &AppState,
    id: u64,
    level: GridKind,
    community: Option<&str>,
    params: &analytics::regrid::RegridParams,
) -> Result<(Value, Proposal, GridState), String> {
    let (input, basis) = {
        let store =
            st.0.store
                .lock()
                .map_err(|_| "store lock poisoned".to_string())?;
        let basis = store.grid_state().map_err(|e| e.to_string())?;
        (
            load_input(&store, level, community).map_err(|e| format!("{e:#}"))?,
            basis,
        )
    };
    set_job(id, |j| j.progress = 0.05);
    let mut last = 0.0f32;
    let proposal = analytics::regrid::regrid(&input, params, &mut |f| {
        if f - last >= 0.01 || f >= 1.0 {
            last = f;
            set_job(id, |j| j.progress = 0.05 + 0.95 * f.clamp(0.0, 1.0));
        }
    })
    .map_err(|e| e.to_string())?;
    let geojson = serde_json::to_value(analytics::regrid::to_geojson(&proposal))
        .map_err(|e| e.to_string())?;
    let report = serde_json::to_value(&proposal.report).map_err(|e| e.to_string())?;
    Ok((
        json!({"geojson": geojson, "report": report}),
        proposal,
        basis,
    ))
}

fn job_id(s: &str) -> AppResult<u64> {
    s.parse::<u64>().map_err(|_| {
        AppError::bad(
            ErrorCode::BadJob,
            format!("job={s:?}: expected a job number"),
        )
    })
}

/// `GET /api/v1/regrid/{job}`: `{job, status, progress, params, result?, error?}`.
pub async fn regrid_status(Path(job): Path<String>, access: Access) -> AppResult<Json<RegridJob>> {
    planner_or_leader(&access, "read re-gridding jobs")?;
    let id = job_id(&job)?;
    let j = jobs()?
        .get(&id)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("re-gridding job {id} not found")))?;
    owned(&j, &access, id)?;
    let mut v = RegridJob {
        job: id.to_string(),
        status: "running",
        progress: Some(j.progress),
        params: Some(j.params),
        result: None,
        error: None,
        adopted_version: None,
    };
    match j.state {
        JobState::Running => {}
        JobState::Done(r) => {
            v.status = "done";
            v.result = Some(r);
            if let Some(Some(version)) = j.adopted {
                v.adopted_version = Some(version);
            }
        }
        JobState::Failed(e) => {
            v.status = "failed";
            v.error = Some(e);
        }
    }
    Ok(Json(v))
}

/// A re-gridding job as `POST /api/v1/regrid` (`{job, status}`) and
/// `GET /api/v1/regrid/{job}` answer it.
#[derive(Debug, Clone, Serialize)]
pub struct RegridJob {
    /// Job ID.
    pub job: String,
    /// `running`, `done` or `failed`.
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
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Grid version it was adopted as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted_version: Option<i64>,
}

/// A table as a CSV download (UTF-8 with BOM, as `wangge report … --csv`).
fn csv_response<R: analytics::table::Table>(rows: &[R], name: &str) -> AppResult<Response> {
    let mut buf = Vec::new();
    analytics::table::to_csv(rows, &mut buf).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        buf,
    )
        .into_response())
}

fn xlsx_response<R: analytics::table::Table>(
    rows: &[R],
    sheet: &str,
    name: &str,
) -> AppResult<Response> {
    let bytes =
        analytics::table::to_xlsx(rows, sheet).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
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
/// grids changed since it started.
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
    let (proposal, basis, community, level) = {
        let mut j = jobs()?;
        let job = j
            .get_mut(&id)
            .ok_or_else(|| AppError::NotFound(format!("re-gridding job {id} not found")))?;
        owned(job, &access, id)?;
        match &job.state {
            JobState::Running => {
                return Err(AppError::Conflict(
                    ErrorCode::NotDone,
                    format!("re-gridding job {id} is still running"),
                ))
            }
            JobState::Failed(e) => {
                return Err(AppError::Conflict(
                    ErrorCode::NotDone,
                    format!("re-gridding job {id} failed ({e}); there is nothing to adopt"),
                ))
            }
            JobState::Done(_) => {}
        }
        match job.adopted {
            Some(Some(v)) => {
                return Err(AppError::Conflict(
                    ErrorCode::AlreadyAdopted,
                    format!("re-gridding job {id} was adopted already as grid version {v}"),
                ))
            }
            Some(None) => {
                return Err(AppError::Conflict(
                    ErrorCode::AlreadyAdopted,
                    format!("re-gridding job {id} is being adopted"),
                ))
            }
            None => {}
        }
        let proposal = job
            .proposal
            .clone()
            .ok_or_else(|| AppError::Internal(format!("job {id} is done without a proposal")))?;
        job.adopted = Some(None);
        (proposal, job.basis, job.community, job.level)
    };
    let actor = access.actor();
    let change = change_from_proposal(
        &proposal,
        level,
        community,
        basis,
        &actor,
        &note,
        &format!("regrid job {id}"),
    );
    let st2 = st.clone();
    let outcome = st
        .with_store(move |s| {
            let report = s.replace_grids(&change).map_err(|e| match e {
                StoreError::Stale { .. } => {
                    AppError::Conflict(ErrorCode::StaleProposal, e.to_string())
                }
                StoreError::InvalidChange { .. } => {
                    AppError::Conflict(ErrorCode::InvalidProposal, e.to_string())
                }
                other => AppError::from(other),
            })?;
            // The store changed: rebuild the view and drop every cached tile
            // now, under the store lock, so no write slips in between.
            let rebuilt = TownView::load(s, st2.now())
                .map_err(|e| e.to_string())
                .and_then(|view| {
                    *st2.view_mut()
                        .map_err(|_| "view lock poisoned".to_string())? = view;
                    st2.0
                        .tiles
                        .lock()
                        .map_err(|_| "tile cache poisoned".to_string())?
                        .clear();
                    Ok(())
                });
            Ok((report, rebuilt))
        })
        .await;
    match outcome {
        Err(e) => {
            set_job(id, |j| j.adopted = None);
            Err(e)
        }
        Ok((report, rebuilt)) => {
            set_job(id, |j| j.adopted = Some(Some(report.version)));
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
    }
}

/// `GET /api/v1/grids/versions`: the grid history, oldest first.
pub async fn grid_versions(State(st): State<AppState>) -> AppResult<Json<GridVersions>> {
    let (versions, state) = st
        .with_store(|s| Ok((s.grid_versions()?, s.grid_state()?)))
        .await?;
    Ok(Json(GridVersions {
        current: state.version,
        versions,
    }))
}

/// `GET /api/v1/grids/versions/{version}`: the grids current in that
/// version (retired since or not), as GeoJSON.
pub async fn grids_of_version(
    State(st): State<AppState>,
    Path(version): Path<String>,
) -> AppResult<Response> {
    let v: i64 = version.parse().map_err(|_| {
        AppError::bad(
            ErrorCode::BadVersion,
            format!("version={version:?}: expected a grid version number"),
        )
    })?;
    let grids = st.with_reader(move |s| Ok(s.grids_of_version(v)?)).await?;
    Ok(Json(GridsOfVersion::of(v, &grids)).into_response())
}

/// `GET /api/v1/indicators?from=&to=&level=community|grid|micro|dedicated|worker&format=json|csv|xlsx&rank=`:
/// one row per area and the events by category and source (`breakdown`).
/// Worker rows name a person (display name, role, grid): leaders only.
pub async fn indicators(
    State(st): State<AppState>,
    access: Access,
    Query(q): Query<IndicatorQuery>,
) -> AppResult<Response> {
    let format = format_of(q.format.as_deref(), Some(Format::Xlsx))?;
    let level_s = q.level.as_deref().unwrap_or("community");
    let level = report::parse_level(level_s).ok_or_else(|| {
        AppError::bad(
            ErrorCode::BadLevel,
            format!("level={level_s:?}: expected community, grid, micro, dedicated or worker"),
        )
    })?;
    if level == AreaLevel::Worker && !access.role.sees_people() {
        return Err(AppError::Forbidden(format!(
            "level=worker names grid workers; role {} sees aggregates per area only",
            access.role.name()
        )));
    }
    let rank = q
        .rank
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            report::RankBy::parse(s).ok_or_else(|| {
                AppError::bad(
                    ErrorCode::BadRank,
                    format!(
                        "rank={s:?}: expected one of {}",
                        report::RankBy::NAMES.join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    // Reopen rate from the stored timelines (events reopened and closed again count).
    let ever = st
        .with_reader(|s| Ok(s.events_ever(geo_core::model::EventStatus::Reopened)?))
        .await?;
    let view = st.view()?;
    let scope = access.scope(|c| {
        view.grid_by_code
            .get(c.as_str())
            .map(|&i| view.dataset.grids[i].id)
    });
    let window = report::window_from(
        &view.dataset.events,
        q.from.as_deref(),
        q.to.as_deref(),
        st.now(),
    )
    .map_err(|e| AppError::bad(ErrorCode::BadTime, e))?;
    let sizes = report::area_sizes(&view.dataset.grids, &view.grid_pop);
    let reopened = report::reopened_from(&ever, &view.dataset.events);
    let slots = report::worker_slots(&view.dataset.grids);
    let labels = report::AreaLabels::new(&view.dataset, &slots);
    let rep = report::indicator_rows(
        &view.dataset.events,
        &view.event_refs,
        &sizes,
        Some(&reopened),
        window,
        level,
        &report::worker_grids(&slots),
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let visible = |level: AreaLevel, id: u64| match &scope {
        Scope::Town => true,
        Scope::Grids(g) => match level {
            AreaLevel::Town | AreaLevel::Community => false,
            AreaLevel::Worker => labels
                .worker(id)
                .is_some_and(|w| g.iter().any(|x| *x == w.grid)),
            _ => g.iter().any(|x| x.get() == id),
        },
    };
    let mut rows: Vec<_> = rep
        .rows
        .iter()
        .filter(|r| visible(r.area.level, r.area.id))
        .collect();
    if let Some(by) = rank {
        rows.retain(|r| r.area.level == level);
        by.sort(&mut rows);
    }
    let breakdown: Vec<_> = rep
        .breakdown
        .iter()
        .filter(|b| visible(b.area.level, b.area.id))
        .cloned()
        .collect();
    match format {
        Format::Csv => {
            let rows: Vec<_> = rows.into_iter().cloned().collect();
            return csv_response(&rows, "indicators");
        }
        Format::Xlsx => {
            let name = format!("indicators-{}", level.code());
            if let Some(by) = rank {
                let ranked: Vec<report::RankedIndicator> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| report::RankedIndicator {
                        rank: i as u32 + 1,
                        name: labels.name(r),
                        code: labels.code(r).unwrap_or_default(),
                        by,
                        row: (*r).clone(),
                    })
                    .collect();
                return xlsx_response(&ranked, "indicators", &name);
            }
            let named: Vec<report::NamedIndicator> = rows
                .iter()
                .map(|r| report::NamedIndicator {
                    name: labels.name(r),
                    code: labels.code(r).unwrap_or_default(),
                    row: (*r).clone(),
                })
                .collect();
            return xlsx_response(&named, "indicators", &name);
        }
        _ => {}
    }
    let out: Vec<AreaIndicators<'_>> = rows.iter().map(|r| labels.area(r)).collect();
    Ok(Json(IndicatorsAnswer {
        from: window.from.to_rfc3339(),
        to: window.to.to_rfc3339(),
        level: level.code(),
        rows: out,
        breakdown,
    })
    .into_response())
}

/// `GET /api/v1/hotspots?week=YYYY-MM-DD&res=9&category=`: flagged H3 cells
/// of one week (default the latest week with events); `format=csv` for a
/// download of the same rows.
pub async fn hotspots(
    State(st): State<AppState>,
    Query(q): Query<HotspotQuery>,
) -> AppResult<Response> {
    let format = format_of(q.format.as_deref(), None)?;
    let offset = 8;
    let res = q.res.unwrap_or(9);
    let params =
        report::hotspot_params(res, offset).map_err(|e| AppError::bad(ErrorCode::BadRes, e))?;
    let cats = report::category_filter(q.category.as_deref())
        .map_err(|e| AppError::bad(ErrorCode::BadCategory, e))?;
    let events = st.view()?.dataset.events.clone();
    let week = match q.week.as_deref().filter(|w| !w.is_empty()) {
        Some(w) => {
            report::week_of_date(w, offset).map_err(|e| AppError::bad(ErrorCode::BadWeek, e))?
        }
        None => match report::latest_week(&events, offset) {
            Some(w) => w,
            None if format == Format::Csv => return csv_response::<HotspotRow>(&[], "hotspots"),
            None => {
                return Ok(Json(HotspotsAnswer {
                    week_start: None,
                    res,
                    hotspots: Vec::new(),
                })
                .into_response())
            }
        },
    };
    let hs = tokio::task::spawn_blocking(move || {
        report::hotspots_of(&events, cats.as_deref(), Some(week), &params)
    })
    .await
    .map_err(|e| AppError::Internal(format!("hotspot task failed: {e}")))?
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let rows: Vec<HotspotRow> = report::hotspot_rows(&hs, offset);
    if format == Format::Csv {
        return csv_response(&rows, "hotspots");
    }
    Ok(Json(HotspotsAnswer {
        week_start: Some(report::week_start_date(week, offset).to_string()),
        res,
        hotspots: rows,
    })
    .into_response())
}

/// `GET /api/v1/coverage?service=elderly_canteen&minutes=15`: share of
/// households (and of elderly living alone) within walking minutes of the
/// service, per comprehensive grid and per community. `format=csv` gives
/// the per-grid rows as a download, `format=geojson` the comprehensive grids
/// as polygons carrying their shares (a map layer).
pub async fn coverage(
    State(st): State<AppState>,
    Query(q): Query<CoverageQuery>,
) -> AppResult<Response> {
    let format = format_of(q.format.as_deref(), Some(Format::GeoJson))?;
    let service_s = q.service.unwrap_or_else(|| "elderly_canteen".into());
    let service = ServiceKind::parse(&service_s)
        .map_err(|e| AppError::bad(ErrorCode::BadService, e.to_string()))?;
    let minutes = q.minutes.unwrap_or(15.0);
    if !(minutes.is_finite() && minutes > 0.0 && minutes <= 120.0) {
        return Err(AppError::bad(
            ErrorCode::BadMinutes,
            format!("minutes={minutes}: must be in (0, 120]"),
        ));
    }
    let params = analytics::coverage::CoverageParams {
        threshold_min: minutes,
        ..Default::default()
    };
    let what_if = q
        .add
        .as_deref()
        .map(crate::query::parse_what_if)
        .transpose()?
        .unwrap_or_default();
    // On a read connection: loading the whole town takes seconds on a big
    // store and must not hold up intake (issue 17).
    let (v, rows) = st
        .with_reader(move |s| {
            let mut ds = s.load(&Scope::Town, LoadSet::All)?;
            // A what-if: the planned facilities count as places of the
            // service (never stored; IDs from the top of the range).
            for (i, [lon, lat]) in what_if.iter().enumerate() {
                ds.places.push(geo_core::model::Place {
                    id: geo_core::ids::PlaceId::new(u64::MAX - i as u64)
                        .map_err(|e| AppError::Internal(e.to_string()))?,
                    name: format!("planned {}", i + 1),
                    category: geo_core::model::PlaceCategory::Facility,
                    service: Some(service),
                    geometry: geo_types::Point::new(*lon, *lat).into(),
                });
            }
            let index = geo_core::index::SpatialIndex::build(&ds);
            let rep = report::coverage_of(&ds, &index, Some(service), &params);
            let rows: Vec<_> = rep
                .rows
                .iter()
                .filter(|r| r.service == service)
                .copied()
                .collect();
            if format == Format::GeoJson {
                let mut map = report::coverage_geojson(&ds, &rows, minutes);
                map.what_if = what_if;
                return Ok((CoverageOut::Map(map), rows));
            }
            let answer = report::coverage_answer(&ds, &rows, service, minutes, what_if);
            Ok((CoverageOut::Table(answer), rows))
        })
        .await?;
    match format {
        Format::Csv => csv_response(&rows, "coverage"),
        Format::GeoJson => {
            Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(v)).into_response())
        }
        Format::Json | Format::Xlsx => Ok(Json(v).into_response()),
    }
}

/// What `GET /api/v1/coverage` answers: the table or the map layer.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CoverageOut {
    /// `format=json`.
    Table(CoverageAnswer),
    /// `format=geojson`.
    Map(report::CoverageMap),
}
