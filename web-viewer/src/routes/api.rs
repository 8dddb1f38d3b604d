//! The versioned JSON read API and event intake.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Json;
use chrono::Datelike;
use geo::InteriorPoint;
use geo_core::ids::BuildingId;
use geo_core::io::export::Row;
use geo_core::io::{ElementKind, Masking};
use geo_core::model::{Event, EventSource, Grade, GridRefs};
use geo_core::store::{Page, Scope};
use geo_core::taxonomy::EventCategory;
use serde::Deserialize;
use serde_json::Value;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use crate::answers::{
    BuildingDetail, GridDetail, Health, Heatmap, Kpi, SearchHit, StreamHello, StreamResync,
};
use crate::error::{AppError, AppResult, ErrorCode, JsonBody};
use crate::present::{
    event_message_for, scrub_event, to_map, FeaturePage, GridCodes, HouseholdProps, Located,
    PersonProps, Records, SentimentProps,
};
use crate::query::{grid_id, heat_filter, parse_bbox, ListQuery};
use crate::role::Access;
use crate::service::event_loop::{broadcast, file_event, reported};
use crate::service::export::{audit_detail, bytes as export_bytes, check_format, ExportFormat};
use crate::service::features::{features, refs_at, scope_of};
use crate::state::AppState;

/// `GET /healthz`.
pub async fn healthz(State(st): State<AppState>) -> AppResult<Json<Health>> {
    let store_version = st.with_reader(|s| Ok(s.schema_version()?)).await?;
    Ok(Json(Health {
        status: "ok",
        store_version,
    }))
}

/// `GET /api/v1/info`.
pub async fn info(
    State(st): State<AppState>,
    access: Access,
) -> AppResult<Json<geo_core::store::Counts>> {
    let scope = scope_of(&access, &*st.view()?);
    let year = st.now().year();
    let counts = st.with_reader(move |s| Ok(s.counts(&scope, year)?)).await?;
    Ok(Json(counts))
}

/// `GET /api/v1/{kind}`: GeoJSON of one element kind.
pub async fn list(
    State(st): State<AppState>,
    Path(kind): Path<String>,
    access: Access,
    Query(q): Query<ListQuery>,
) -> AppResult<axum::response::Response> {
    let page = q.page()?;
    let download = q.download()?;
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let now = st.now();
    if matches!(kind.as_str(), "households" | "persons" | "sentiments") {
        let (scope, grid_filter) = {
            let view = st.view()?;
            (
                scope_of(&access, &view),
                q.grid.as_deref().map(|g| grid_id(&view, g)).transpose()?,
            )
        };
        if q.national_id.is_some() {
            return Err(AppError::bad(
                ErrorCode::BadNationalId,
                "an ID number never goes into a URL (access logs, browser history): \
                 POST /api/v1/persons/lookup with {\"national_id\": \"…\"}",
            ));
        }
        return people(st, kind, access, scope, grid_filter, page, download).await;
    }
    if kind == "events" && access.reveals() && access.role.sees_single_events() {
        let (actor, reason) = (
            access.actor(),
            access.reveal_reason.clone().unwrap_or_default(),
        );
        st.with_store(move |s| Ok(s.audit(&actor, "reveal", &format!("events list: {reason}"))?))
            .await?;
    }
    // A download is the whole list as the caller may see it (the filters
    // apply, the paging does not), in the same features as the JSON answer.
    let window = download
        .is_none()
        .then(|| page.offset..page.offset.saturating_add(page.limit));
    // The walk over the view's elements (tens of thousands of events on a
    // town) runs on a blocking thread, not on one of the few async workers
    // that also serve cached tiles and streams.
    let (total, page_feats) = {
        let (st, access, of) = (st.clone(), access.clone(), kind.clone());
        tokio::task::spawn_blocking(move || {
            let view = st.view()?;
            let scope = scope_of(&access, &view);
            let grid_filter = q.grid.as_deref().map(|g| grid_id(&view, g)).transpose()?;
            features(
                &view,
                &access,
                &scope,
                &of,
                &q,
                bbox,
                grid_filter,
                now,
                window,
                None,
            )
        })
        .await
        .map_err(|e| AppError::Internal(format!("list of {kind}: {e}")))??
    };
    if let Some(format) = download {
        let rows: Vec<Row> = page_feats.iter().map(Row::from_feature).collect();
        return download_answer(st, &access, &kind, format, rows).await;
    }
    Ok(Json(FeaturePage {
        kind: "FeatureCollection",
        total,
        next_offset: crate::present::next_offset(page.offset, page_feats.len(), total),
        features: page_feats,
    })
    .into_response())
}

/// A download of `rows` of `kind` (`format=geoparquet|xlsx`), built on a
/// blocking thread, with the export's audit line (as `wangge export`
/// writes it, the caller as actor).
async fn download_answer(
    st: AppState,
    access: &Access,
    kind: &str,
    format: ExportFormat,
    rows: Vec<Row>,
) -> AppResult<axum::response::Response> {
    let ek = ElementKind::parse(kind).map_err(|e| AppError::NotFound(e.to_string()))?;
    check_format(ek, format).map_err(|e| AppError::bad(ErrorCode::BadFormat, e.to_string()))?;
    let masking = if access.reveals() {
        Masking::Reveal
    } else {
        Masking::Mask
    };
    let detail = audit_detail(
        ek.as_str(),
        format,
        masking,
        Some(rows.len()),
        access.reveal_reason.as_deref().filter(|_| access.reveals()),
    );
    let actor = access.actor();
    st.with_store(move |s| Ok(s.audit(&actor, "export", &detail)?))
        .await?;
    let bytes = tokio::task::spawn_blocking(move || export_bytes(ek, format, &rows))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}.{}\"",
                    ek.as_str(),
                    format.extension()
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn refuse_people(access: &Access, what: &str) -> AppResult<()> {
    if access.role.sees_people() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {:?} sees aggregates only; {what} are personal data",
            access.role
        )))
    }
}

async fn people(
    st: AppState,
    kind: String,
    access: Access,
    scope: Scope,
    grid: Option<geo_core::ids::GridId>,
    page: Page,
    download: Option<ExportFormat>,
) -> AppResult<axum::response::Response> {
    refuse_people(&access, &kind)?;
    let reveal = access.reveals();
    let reason = access.reveal_reason.clone().unwrap_or_default();
    let actor = access.actor();
    // Reads run on a read connection; a reveal (persons' names and ID
    // numbers, sentiments' texts) writes its audit line before the answer
    // leaves, and no answer leaves without it.
    let audited = reveal && kind != "households";
    let what = kind.clone();
    let audit = move |st: AppState, n: usize| async move {
        let detail = format!("{n} {what}; reason: {reason}");
        st.with_store(move |s| Ok(s.audit(&actor, "reveal", &detail)?))
            .await
    };
    if let Some(format) = download {
        // The whole list in the caller's scope, masked as the JSON answer
        // is (a reveal audited as there).
        let ek = ElementKind::parse(&kind).map_err(|e| AppError::NotFound(e.to_string()))?;
        check_format(ek, format).map_err(|e| AppError::bad(ErrorCode::BadFormat, e.to_string()))?;
        let k = kind.clone();
        let rows = st
            .with_reader(move |s| {
                let v = match k.as_str() {
                    "households" => {
                        let rows = s.households(&scope, grid, None)?;
                        serde_json::to_value(Records::of(rows.iter().map(HouseholdProps::of)))
                    }
                    "persons" => {
                        let people = s.persons(&scope, grid, None)?;
                        serde_json::to_value(Records::of(
                            people.iter().map(|p| PersonProps::of(p, reveal)),
                        ))
                    }
                    _ => {
                        let rows = s.sentiments(&scope)?;
                        serde_json::to_value(Records::of(
                            rows.iter().map(|x| SentimentProps::of(x, reveal)),
                        ))
                    }
                }
                .map_err(|e| AppError::Internal(e.to_string()))?;
                Ok(features_of(&v))
            })
            .await?;
        if audited {
            audit(st.clone(), rows.len()).await?;
        }
        return download_answer(st, &access, &kind, format, rows).await;
    }
    let (answer, n) = st
        .with_reader(move |s| {
            Ok(match kind.as_str() {
                "households" => {
                    let rows = s.households(&scope, grid, Some(page))?;
                    let total = s.count_households(&scope, grid)?;
                    let page =
                        Records::page(rows.iter().map(HouseholdProps::of), total, page.offset);
                    (Json(page).into_response(), rows.len())
                }
                "persons" => {
                    let people = s.persons(&scope, grid, Some(page))?;
                    let total = s.count_persons(&scope, grid)?;
                    let page = Records::page(
                        people.iter().map(|p| PersonProps::of(p, reveal)),
                        total,
                        page.offset,
                    );
                    (Json(page).into_response(), people.len())
                }
                _ => {
                    let rows = s.sentiments(&scope)?;
                    let total = rows.len() as u64;
                    let page_rows: Vec<_> = rows
                        .iter()
                        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
                        .take(usize::try_from(page.limit).unwrap_or(usize::MAX))
                        .map(|x| SentimentProps::of(x, reveal))
                        .collect();
                    let n = page_rows.len();
                    let page = Records::page(page_rows, total, page.offset);
                    (Json(page).into_response(), n)
                }
            })
        })
        .await?;
    if audited {
        audit(st, n).await?;
    }
    Ok(answer)
}

/// The rows of a GeoJSON feature collection's features.
fn features_of(v: &Value) -> Vec<Row> {
    v.get("features")
        .and_then(Value::as_array)
        .map(|fs| fs.iter().map(Row::from_feature).collect())
        .unwrap_or_default()
}

/// Body of `POST /api/v1/persons/lookup`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The 18-character ID number.
    pub national_id: String,
}

/// `POST /api/v1/persons/lookup`: the people with this ID number within the
/// caller's scope (leader: the town; worker: own grids), found through the
/// store's keyed hash (the numbers are stored encrypted; nothing else is
/// searched). A body, not a URL, so the number stays out of access logs and
/// browser history. Every look-up is audited (the count found, never the
/// number); the answer is masked unless the request reveals with a reason.
pub async fn lookup_person(
    State(st): State<AppState>,
    access: Access,
    JsonBody(b): JsonBody<Lookup>,
) -> AppResult<Json<Records<PersonProps>>> {
    refuse_people(&access, "persons")?;
    let id = geo_core::ids::NationalId::parse(b.national_id.trim())
        .map_err(|e| AppError::bad(ErrorCode::BadNationalId, e.to_string()))?;
    let scope = scope_of(&access, &*st.view()?);
    let reveal = access.reveals();
    let reason = access.reveal_reason.clone().unwrap_or_default();
    let actor = access.actor();
    st.with_store(move |s| {
        let people = s.persons_by_national_id(&scope, &id)?;
        let detail = if reveal {
            format!(
                "{} persons by ID number, revealed; reason: {reason}",
                people.len()
            )
        } else {
            format!("{} persons by ID number, masked", people.len())
        };
        s.audit(&actor, if reveal { "reveal" } else { "lookup" }, &detail)?;
        Ok(Json(Records::of(
            people.iter().map(|p| PersonProps::of(p, reveal)),
        )))
    })
    .await
}

/// `GET /api/v1/grids/{code}`: one grid with its figures.
pub async fn grid_detail(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<axum::response::Response> {
    let view = st.view()?;
    let gid = grid_id(&view, &code)?;
    let detail = GridDetail::of(&view, gid, st.now())
        .ok_or_else(|| AppError::NotFound(format!("grid {code} not found")))?;
    Ok(Json(detail).into_response())
}

/// `GET /api/v1/buildings/{id}`.
pub async fn building_detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
) -> AppResult<axum::response::Response> {
    let bid: BuildingId = id
        .parse()
        .map_err(|e: geo_core::IdError| AppError::bad(ErrorCode::BadId, e.to_string()))?;
    // Leaders and workers (in scope) get the building's households, each a
    // link to its file (一户一档); no names.
    let households = if access.role.sees_people() {
        let scope = scope_of(&access, &*st.view()?);
        // Read again only after a write (`read_cache`).
        let key = (bid, scope.clone());
        st.read_cached(&st.0.building_households, key, move |s| {
            Ok(s.households_of_building(&scope, bid)?)
        })
        .await?
    } else {
        Default::default()
    };
    let view = st.view()?;
    let scope = scope_of(&access, &view);
    let buildings = &view.dataset.buildings;
    // The view keeps buildings by ID (as read); a search that misses looks
    // at every building, so an unordered list is still answered right.
    let b = buildings
        .binary_search_by_key(&bid, |b| b.id)
        .ok()
        .map(|i| &buildings[i])
        .or_else(|| buildings.iter().find(|b| b.id == bid))
        .ok_or_else(|| AppError::NotFound(format!("building {bid} not found")))?;
    let refs = refs_at(&view, b.footprint.interior_point());
    if !scope.allows(&refs) {
        // Outside the caller's grids a building is absent, as one that
        // does not exist (no existence oracle).
        return Err(AppError::NotFound(format!("building {bid} not found")));
    }
    Ok(Json(BuildingDetail::of(
        &view,
        b,
        GridCodes::of(&view, &refs),
        &households,
    ))
    .into_response())
}

/// Body of `POST /api/v1/events`.
#[derive(Debug, Deserialize)]
pub struct Intake {
    category: String,
    title: String,
    lon: f64,
    lat: f64,
    source: Option<String>,
    grade: Option<String>,
    crs: Option<String>,
}

/// `POST /api/v1/events`: intake of a new event.
pub async fn create_event(
    State(st): State<AppState>,
    access: Access,
    JsonBody(body): JsonBody<Intake>,
) -> AppResult<impl IntoResponse> {
    // Source and grade are the server's call for the public and read-only
    // roles: a resident's report is a resident report of general grade
    // until a handler grades it.
    let trusted = access.role.sees_single_events();
    let (body_source, body_grade) = if trusted {
        (body.source.clone(), body.grade.clone())
    } else {
        (None, None)
    };
    let category = EventCategory::parse(&body.category)
        .map_err(|e| AppError::bad(ErrorCode::BadCategory, e.to_string()))?;
    let source = body_source
        .as_deref()
        .map(EventSource::parse)
        .transpose()
        .map_err(|e| AppError::bad(ErrorCode::BadSource, e.to_string()))?
        .unwrap_or(EventSource::Resident);
    let grade = body_grade
        .as_deref()
        .map(Grade::parse)
        .transpose()
        .map_err(|e| AppError::bad(ErrorCode::BadGrade, e.to_string()))?
        .unwrap_or(Grade::General);
    if !(body.lon.is_finite()
        && body.lat.is_finite()
        && (-180.0..=180.0).contains(&body.lon)
        && (-90.0..=90.0).contains(&body.lat))
    {
        return Err(AppError::bad(
            ErrorCode::BadLocation,
            format!(
                "lon={}, lat={} is not a valid WGS84 position",
                body.lon, body.lat
            ),
        ));
    }
    let crs = body
        .crs
        .as_deref()
        .map(geo_core::crs::Crs::parse)
        .transpose()
        .map_err(|e| AppError::bad(ErrorCode::BadCrs, e.to_string()))?
        .unwrap_or(geo_core::crs::Crs::Wgs84);
    let c = crs.to_wgs84(geo_types::Coord {
        x: body.lon,
        y: body.lat,
    });
    let title = body.title.trim().chars().take(500).collect::<String>();
    if title.is_empty() {
        return Err(AppError::bad(
            ErrorCode::BadTitle,
            "title must not be empty",
        ));
    }
    let now = st.now();
    let filed = file_event(
        &st,
        |id| {
            let mut e =
                Event::reported(id, category, title, geo_types::Point::from(c), now, source);
            e.grade = grade;
            e
        },
        access.actor(),
    )
    .await?;
    let body = reported(&st, &filed, now)?;
    // The stream strips the receipt (`event_message_for`).
    broadcast(&st, &body);
    Ok((StatusCode::CREATED, Json(body)))
}

/// Query of `GET /api/v1/stream/events`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    /// Resume after this stream ID: what `Last-Event-ID` says for the
    /// browser's own retries, for a client that opens a new connection.
    since: Option<u64>,
}

/// Most events replayed to a client that resumes (older ones it must reload).
pub const STREAM_BACKLOG: usize = 200;

/// `GET /api/v1/stream/events`: server-sent events of new and changed events.
///
/// The stream opens with `event: hello` (`retry: 2000`, data
/// `{last_id, replayed}`). Every `event: event` message carries `id:` = the
/// highest event ID the stream has reached, so a client resuming with
/// `Last-Event-ID` (the browser's retry) or `?since=` (a new connection)
/// first gets the events reported after that ID, oldest first (at most
/// [`STREAM_BACKLOG`]), then the live ones. Event IDs are stored, so this
/// also bridges a server restart (changes of older events are not
/// replayed). When the client falls behind the channel it gets
/// `event: resync` (data `{missed}`) and should resume with `?since=`.
/// When idle, `event: ping` every 15 s lets a client notice a dead
/// connection. The stream is public: receipt tokens are stripped.
pub async fn stream_events(
    State(st): State<AppState>,
    headers: HeaderMap,
    access: Access,
    Query(q): Query<StreamQuery>,
) -> AppResult<Sse<impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>>>> {
    // A place among the open streams, held while the stream lives.
    let place = st.0.streams.clone().try_acquire_owned().map_err(|_| {
        AppError::Status(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Overloaded,
            format!(
                "too many open event streams (at most {}); try again shortly",
                st.0.config.max_streams
            ),
        )
    })?;
    // Subscribe before reading the backlog: an event arriving in between is
    // sent twice (clients de-duplicate by event ID) rather than lost.
    let rx = st.0.events_tx.subscribe();
    let since = q.since.or_else(|| {
        headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
    });
    let now = st.now();
    let (top, backlog) = {
        let view = st.view()?;
        let top = view.next_event_id.saturating_sub(1);
        let mut newer: Vec<(&Event, &GridRefs)> = match since {
            Some(s) => view
                .dataset
                .events
                .iter()
                .zip(&view.event_refs)
                .filter(|(e, _)| e.id.get() > s)
                .collect(),
            None => Vec::new(),
        };
        newer.sort_by_key(|(e, _)| e.id.get());
        let skip = newer.len().saturating_sub(STREAM_BACKLOG);
        let backlog: Vec<(u64, String)> = newer[skip..]
            .iter()
            .filter_map(|(e, r)| {
                let m = to_map(&Located::of(&view, e, r, now));
                let mut m = event_message_for(&access, m)?;
                scrub_event(false, view.names_of(e), &mut m);
                Some((e.id.get(), Value::Object(m).to_string()))
            })
            .collect();
        (top, backlog)
    };
    // Resume point before the replay, so a drop during it loses nothing.
    let start = since.map_or(top, |s| s.min(top));
    let mut first: Vec<Result<SseEvent, Infallible>> = vec![Ok(SseEvent::default()
        .event("hello")
        .id(start.to_string())
        .retry(Duration::from_millis(2000))
        .json_data(StreamHello {
            last_id: start,
            replayed: backlog.len(),
        })
        .unwrap_or_else(|_| unreachable!("a struct of numbers serialises")))];
    first.extend(backlog.into_iter().map(|(id, data)| {
        Ok(SseEvent::default()
            .event("event")
            .id(id.to_string())
            .data(data))
    }));
    let mut hwm = top;
    let live = BroadcastStream::new(rx).filter_map(move |m| {
        // The place is released when the stream (this closure) is dropped.
        let _held = &place;
        live_message(m, &access, &mut hwm)
    });
    Ok(Sse::new(tokio_stream::iter(first).chain(live)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .event(SseEvent::default().event("ping").data("{}")),
    ))
}

/// The SSE message of one broadcast, as `access` may see it; `hwm` is the
/// stream's resume point.
fn live_message(
    m: Result<String, tokio_stream::wrappers::errors::BroadcastStreamRecvError>,
    access: &Access,
    hwm: &mut u64,
) -> Option<Result<SseEvent, Infallible>> {
    match m {
        Ok(data) => {
            let data = match serde_json::from_str::<Value>(&data) {
                Ok(Value::Object(o)) => {
                    if let Some(id) = o.get("id").and_then(Value::as_u64) {
                        *hwm = (*hwm).max(id);
                    }
                    // What this caller may not see is dropped; the ID still
                    // moves the resume point on.
                    Value::Object(event_message_for(access, o)?).to_string()
                }
                _ => return None,
            };
            Some(Ok::<_, Infallible>(
                SseEvent::default()
                    .event("event")
                    .id(hwm.to_string())
                    .data(data),
            ))
        }
        Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
            Some(Ok(SseEvent::default()
                .event("resync")
                .json_data(StreamResync { missed: n })
                .unwrap_or_else(|_| {
                    unreachable!("a struct of numbers serialises")
                })))
        }
    }
}

/// `GET /api/v1/kpi`: the big screen's figures.
pub async fn kpi(State(st): State<AppState>) -> AppResult<Json<Kpi>> {
    Ok(Json(Kpi::of(&*st.view()?, st.now())))
}

/// `GET /api/v1/search?q=`.
pub async fn search(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> AppResult<axum::response::Response> {
    let needle = q.q.unwrap_or_default().trim().to_lowercase();
    if needle.is_empty() {
        return Err(AppError::bad(ErrorCode::BadQuery, "q must not be empty"));
    }
    let view = st.view()?;
    Ok(Json(SearchHit::find(&view, &needle)).into_response())
}

/// `GET /api/v1/heatmap`: H3 aggregation for dashboards.
pub async fn heatmap(
    State(st): State<AppState>,
    access: Access,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Heatmap>> {
    let res = q.res.unwrap_or(9);
    if !(7..=10).contains(&res) {
        return Err(AppError::bad(
            ErrorCode::BadRes,
            format!("res={res}: must be 7..=10"),
        ));
    }
    let filter = heat_filter(&q, st.now())?;
    let view = st.view()?;
    let mut cells = view.tiles.heat().aggregate(&filter, res);
    if access.role.needs_k_anonymity() {
        cells = tiles::heatmap::protect(cells, st.0.config.k_anonymity);
    }
    Ok(Json(Heatmap { res, cells }))
}
