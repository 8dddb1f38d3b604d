//! Analytics over HTTP: grid versions, indicators, emerging hotspots and
//! 15-minute coverage. Every answer is an aggregate (counts, shares, grid
//! shapes), so planners may call all of them. Re-gridding jobs are in
//! `routes::regrid`.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use geo_core::model::ServiceKind;
use geo_core::store::{LoadSet, Scope};
use serde::Serialize;

use crate::answers::{GridVersions, GridsOfVersion};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::query::{format_of, CoverageQuery, Format, HotspotQuery, IndicatorQuery};
use crate::role::Access;
use crate::service::report::{
    self, AreaIndicators, AreaLevel, CoverageAnswer, HotspotRow, HotspotsAnswer, IndicatorsAnswer,
};
use crate::state::AppState;

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
