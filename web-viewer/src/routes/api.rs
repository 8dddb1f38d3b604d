//! The versioned JSON read API and event intake.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Datelike, Utc};
use geo::{BoundingRect, InteriorPoint};
use geo_core::ids::{BuildingId, GridId};
use geo_core::model::{Event, EventSource, Grade, GridRefs};
use geo_core::store::{EventFilter, Page, Scope};
use geo_core::taxonomy::EventCategory;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use crate::error::{AppError, AppResult, ErrorCode, JsonBody};
use crate::present::{
    coarse_point, coarsen, event_message_for, event_props, in_grids, scrub_event, worker_grids,
    FeaturePage, GridCodes, HouseholdProps, PersonProps, Records, SentimentProps,
};
use crate::query::{grid_id, heat_filter, parse_bbox, ListQuery};
use crate::role::Access;
use crate::service::event_loop::{broadcast, file_event, reported};
use crate::state::AppState;
use crate::view::{median, week_of, TownView};

/// The grids of an element located by `p`, as ingest assigns them
/// (人进户、户进房、房进格): the point's grid of each level in the view's index.
fn refs_at(view: &TownView, p: Option<geo_types::Point<f64>>) -> GridRefs {
    p.map(|p| view.index.grids_at(p.0)).unwrap_or_default()
}

/// True when an element passes the request's scope (a worker's own grids)
/// and its `grid=` filter; `refs` is only computed when either restricts.
fn visible(scope: &Scope, grid: Option<GridId>, refs: impl FnOnce() -> GridRefs) -> bool {
    if *scope == Scope::Town && grid.is_none() {
        return true;
    }
    let r = refs();
    scope.allows(&r) && in_grid(grid, &r)
}

/// True when `grid` is absent or one of the element's grids (any level).
fn in_grid(grid: Option<GridId>, r: &GridRefs) -> bool {
    grid.is_none_or(|g| [r.comprehensive, r.micro, r.dedicated].contains(&Some(g)))
}

fn scope_of(access: &Access, view: &TownView) -> Scope {
    access.scope(|c| {
        view.grid_by_code
            .get(c.as_str())
            .map(|&i| view.dataset.grids[i].id)
    })
}

/// `GET /healthz`.
pub async fn healthz(State(st): State<AppState>) -> AppResult<Json<Value>> {
    let v = st.with_store(|s| Ok(s.schema_version()?)).await?;
    Ok(Json(json!({"status": "ok", "store_version": v})))
}

/// `GET /api/v1/info`.
pub async fn info(State(st): State<AppState>, access: Access) -> AppResult<Json<Value>> {
    let scope = scope_of(&access, &*st.view()?);
    let year = st.now().year();
    let counts = st.with_store(move |s| Ok(s.counts(&scope, year)?)).await?;
    Ok(Json(
        serde_json::to_value(counts).map_err(|e| AppError::Internal(e.to_string()))?,
    ))
}

fn feature(geom: Value, props: Map<String, Value>) -> Value {
    json!({"type": "Feature", "geometry": geom, "properties": props})
}

fn gj<'a, G>(g: &'a G) -> Value
where
    geojson::GeometryValue: From<&'a G>,
{
    serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(g)))
        .unwrap_or(Value::Null)
}

fn in_bbox(b: &Option<[f64; 4]>, r: Option<geo_types::Rect<f64>>) -> bool {
    match (b, r) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some([w, s, e, n]), Some(r)) => {
            r.min().x <= *e && r.max().x >= *w && r.min().y <= *n && r.max().y >= *s
        }
    }
}

/// `GET /api/v1/{kind}`: GeoJSON of one element kind.
pub async fn list(
    State(st): State<AppState>,
    Path(kind): Path<String>,
    access: Access,
    Query(q): Query<ListQuery>,
) -> AppResult<axum::response::Response> {
    let page = q.page()?;
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
        return people(st, kind, access, scope, grid_filter, page).await;
    }
    if kind == "events" && access.reveals() && access.role.sees_single_events() {
        let (actor, reason) = (
            access.actor(),
            access.reveal_reason.clone().unwrap_or_default(),
        );
        st.with_store(move |s| Ok(s.audit(&actor, "reveal", &format!("events list: {reason}"))?))
            .await?;
    }
    let view = st.view()?;
    let scope = scope_of(&access, &view);
    let grid_filter = q.grid.as_deref().map(|g| grid_id(&view, g)).transpose()?;
    let mut feats: Vec<Value> = Vec::new();
    match kind.as_str() {
        "communities" => {
            for c in &view.dataset.communities {
                if !in_bbox(&bbox, c.boundary.bounding_rect()) {
                    continue;
                }
                let mut p = Map::new();
                p.insert("id".into(), json!(c.id.get()));
                p.insert("code".into(), json!(c.code.as_str()));
                p.insert("name".into(), json!(c.name));
                p.insert("is_village".into(), json!(c.is_village));
                feats.push(feature(gj(&c.boundary), p));
            }
        }
        "grids" => {
            let want_kind = q.kind.as_deref().map(geo_core::model::GridKind::parse).transpose()
                .map_err(|e| AppError::bad(ErrorCode::BadKind, e.to_string()))?;
            for g in &view.dataset.grids {
                if want_kind.is_some_and(|k| k != g.kind) || !in_bbox(&bbox, g.boundary.bounding_rect()) {
                    continue;
                }
                if grid_filter.is_some_and(|f| f != g.id && g.parent != Some(f)) {
                    continue;
                }
                let pop = view.grid_pop.get(&g.id.get()).copied().unwrap_or_default();
                let mut p = Map::new();
                p.insert("id".into(), json!(g.id.get()));
                p.insert("code".into(), json!(g.code.as_str()));
                p.insert("name".into(), json!(g.name));
                p.insert("kind".into(), json!(g.kind.code()));
                p.insert("community".into(), json!(g.community.map(|c| c.get())));
                p.insert("parent".into(), json!(g.parent.and_then(|pid| view.grid_pos.get(&pid)).map(|&i| view.dataset.grids[i].code.as_str())));
                p.insert("households".into(), json!(pop.households));
                p.insert("residents".into(), json!(pop.residents));
                let ip = g.boundary.interior_point().map(|pt| json!([pt.x(), pt.y()]));
                p.insert("interior_point".into(), json!(ip));
                feats.push(feature(gj(&g.boundary), p));
            }
        }
        "compounds" => {
            for c in &view.dataset.compounds {
                if !in_bbox(&bbox, c.boundary.bounding_rect())
                    || !visible(&scope, grid_filter, || refs_at(&view, c.boundary.interior_point()))
                {
                    continue;
                }
                let mut p = Map::new();
                p.insert("id".into(), json!(c.id.get()));
                p.insert("name".into(), json!(c.name));
                p.insert("era".into(), json!(c.era.code()));
                p.insert("built_year".into(), json!(c.built_year));
                feats.push(feature(gj(&c.boundary), p));
            }
        }
        "buildings" => {
            for b in &view.dataset.buildings {
                if !in_bbox(&bbox, b.footprint.bounding_rect())
                    || !visible(&scope, grid_filter, || refs_at(&view, b.footprint.interior_point()))
                {
                    continue;
                }
                let mut p = Map::new();
                p.insert("id".into(), json!(b.id.get()));
                p.insert("address".into(), json!(b.address));
                p.insert("usage".into(), json!(b.usage.code()));
                p.insert("levels".into(), json!(b.levels));
                p.insert("height_m".into(), json!(b.height_m));
                p.insert("units".into(), json!(b.units));
                p.insert("households".into(), json!(b.households));
                p.insert("households_estimated".into(), json!(b.households_estimated));
                p.insert("compound".into(), json!(b.compound.map(|c| c.get())));
                feats.push(feature(gj(&b.footprint), p));
            }
        }
        "units" => {
            let building = q
                .building
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<BuildingId>())
                .transpose()
                .map_err(|e| AppError::bad(ErrorCode::BadId, format!("building: {e}")))?;
            for u in &view.dataset.units {
                if building.is_some_and(|b| b != u.building)
                    || !in_bbox(&bbox, Some(u.entrance.bounding_rect()))
                    || !visible(&scope, grid_filter, || refs_at(&view, Some(u.entrance)))
                {
                    continue;
                }
                let mut p = Map::new();
                p.insert("id".into(), json!(u.id.get()));
                p.insert("building".into(), json!(u.building.get()));
                p.insert("number".into(), json!(u.number));
                p.insert("households".into(), json!(u.households));
                feats.push(feature(gj(&u.entrance), p));
            }
        }
        "places" => {
            for pl in &view.dataset.places {
                // Places outside every community (rivers, lakes) are base
                // map: every scope sees them, as in the store's scoped reads.
                let shown = (scope == Scope::Town && grid_filter.is_none()) || {
                    let r = refs_at(&view, pl.geometry.interior_point());
                    (scope.allows(&r) || r.community.is_none()) && in_grid(grid_filter, &r)
                };
                if !shown || !in_bbox(&bbox, pl.geometry.bounding_rect()) {
                    continue;
                }
                if q.kind.as_deref().is_some_and(|k| k != pl.category.code() && Some(k) != pl.service.map(|s| s.code())) {
                    continue;
                }
                let mut p = Map::new();
                p.insert("id".into(), json!(pl.id.get()));
                p.insert("name".into(), json!(pl.name));
                p.insert("category".into(), json!(pl.category.code()));
                p.insert("service".into(), json!(pl.service.map(|s| s.code())));
                feats.push(feature(gj(&pl.geometry), p));
            }
        }
        "organisations" => {
            for o in &view.dataset.organisations {
                if !in_bbox(&bbox, o.geometry.bounding_rect())
                    || !visible(&scope, grid_filter, || refs_at(&view, o.geometry.interior_point()))
                {
                    continue;
                }
                if q.kind.as_deref().is_some_and(|k| k != o.kind.code()) {
                    continue;
                }
                let mut p = Map::new();
                p.insert("id".into(), json!(o.id.get()));
                p.insert("name".into(), json!(o.name));
                p.insert("kind".into(), json!(o.kind.code()));
                p.insert("member_count".into(), json!(o.member_count));
                feats.push(feature(gj(&o.geometry), p));
            }
        }
        "roads" => {
            for r in &view.dataset.roads {
                if !in_bbox(&bbox, r.line.bounding_rect()) {
                    continue;
                }
                let mut p = Map::new();
                p.insert("id".into(), json!(r.id.get()));
                p.insert("name".into(), json!(r.name));
                p.insert("class".into(), json!(r.class.code()));
                feats.push(feature(gj(&r.line), p));
            }
        }
        "events" => {
            let f = q.event_filter(&view)?;
            let want_open = q.status.as_deref() == Some("open");
            let want_overdue = q.status.as_deref() == Some("overdue");
            let mine = worker_grids(&access, &view);
            for (e, r) in view.dataset.events.iter().zip(&view.event_refs) {
                if !scope.allows(r) || !event_matches(&f, e, r, now) {
                    continue;
                }
                if (want_open && !e.status.is_open()) || (want_overdue && !e.is_overdue(now)) {
                    continue;
                }
                let mut props = event_props(&view, e, r, now);
                if access.role.sees_single_events() {
                    if access.may_see_event(e.handler.as_deref(), in_grids(&mine, r)) {
                        scrub_event(access.reveals(), view.names_of(e), &mut props);
                        feats.push(feature(gj(&e.location), props));
                    }
                } else {
                    let (lon, lat) = coarse_point(e.location.x(), e.location.y());
                    let p = geo_types::Point::new(lon, lat);
                    feats.push(feature(gj(&p), coarsen(props)));
                }
            }
            feats.sort_by(|a, b| b["properties"]["reported_at"].as_str().cmp(&a["properties"]["reported_at"].as_str()));
        }
        other => {
            return Err(AppError::NotFound(format!(
                "unknown element kind {other:?}; expected communities, grids, compounds, buildings, units, households, persons, places, events, sentiments, organisations or roads"
            )))
        }
    }
    let total = feats.len() as u64;
    let page_feats: Vec<Value> = feats
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    let next =
        ((page.offset + page_feats.len() as u64) < total).then_some(page.offset + page.limit);
    Ok(Json(FeaturePage {
        kind: "FeatureCollection",
        total,
        next_offset: next,
        features: page_feats,
    })
    .into_response())
}

fn event_matches(f: &EventFilter, e: &Event, r: &GridRefs, _now: DateTime<Utc>) -> bool {
    if let Some([w, s, ea, n]) = f.bbox {
        let (x, y) = (e.location.x(), e.location.y());
        if x < w || x > ea || y < s || y > n {
            return false;
        }
    }
    if let Some(c) = &f.category {
        if !e.category.code().starts_with(c.as_str()) {
            return false;
        }
    }
    if f.status.as_deref().is_some_and(|s| s != e.status.code())
        || f.source.as_deref().is_some_and(|s| s != e.source.code())
    {
        return false;
    }
    if f.from.is_some_and(|t| e.reported_at < t) || f.to.is_some_and(|t| e.reported_at >= t) {
        return false;
    }
    if let Some(g) = f.grid {
        if ![r.comprehensive, r.micro, r.dedicated].contains(&Some(g)) {
            return false;
        }
    }
    true
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
) -> AppResult<axum::response::Response> {
    refuse_people(&access, &kind)?;
    let reveal = access.reveals();
    let reason = access.reveal_reason.clone().unwrap_or_default();
    let actor = access.actor();
    st.with_store(move |s| {
        Ok(match kind.as_str() {
            "households" => {
                let rows = s.households(&scope, grid, Some(page))?;
                Json(Records::of(rows.iter().map(HouseholdProps::of))).into_response()
            }
            "persons" => {
                let people = s.persons(&scope, grid, Some(page))?;
                if reveal {
                    s.audit(
                        &actor,
                        "reveal",
                        &format!("{} persons; reason: {reason}", people.len()),
                    )?;
                }
                Json(Records::of(
                    people.iter().map(|p| PersonProps::of(p, reveal)),
                ))
                .into_response()
            }
            _ => {
                let rows = s.sentiments(&scope)?;
                let rows = rows
                    .iter()
                    .skip(page.offset as usize)
                    .take(page.limit as usize)
                    .map(|x| SentimentProps::of(x, reveal));
                Json(Records::of(rows)).into_response()
            }
        })
    })
    .await
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
) -> AppResult<Json<Value>> {
    let view = st.view()?;
    let gid = grid_id(&view, &code)?;
    let g = &view.dataset.grids[view.grid_pos[&gid]];
    let pop = view.grid_pop.get(&gid.get()).copied().unwrap_or_default();
    let now = st.now();
    let mut open = 0u64;
    let mut overdue = 0u64;
    let mut handling = Vec::new();
    let mut sat = (0u64, 0u64);
    let mut weeks: std::collections::BTreeMap<String, u64> = Default::default();
    let since = now - chrono::Duration::weeks(26);
    for e in view.grid_events(gid) {
        if e.status.is_open() {
            open += 1;
        }
        if e.is_overdue(now) {
            overdue += 1;
        }
        if let Some(h) = e.handling_h() {
            handling.push(h);
        }
        if let Some(s) = e.satisfaction {
            sat.0 += 1;
            if s >= 4 {
                sat.1 += 1;
            }
        }
        if e.reported_at >= since {
            *weeks.entry(week_of(e.reported_at)).or_default() += 1;
        }
    }
    let community = g
        .community
        .and_then(|c| view.dataset.communities.iter().find(|x| x.id == c));
    let parent = g
        .parent
        .and_then(|p| view.grid_pos.get(&p))
        .map(|&i| view.dataset.grids[i].code.as_str());
    let bbox = g
        .boundary
        .bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    Ok(Json(json!({
        "code": g.code.as_str(), "name": g.name, "kind": g.kind.code(),
        "community": community.map(|c| json!({"id": c.id.get(), "name": c.name, "code": c.code.as_str()})),
        "parent": parent,
        "workers": g.workers,
        "households": pop.households, "residents": pop.residents,
        "aged60_share": if pop.residents > 0 { pop.aged60 as f64 / pop.residents as f64 } else { 0.0 },
        "elderly_alone": pop.elderly_alone,
        "open_events": open, "overdue_events": overdue,
        "median_handling_h": median(handling),
        "satisfaction": if sat.0 > 0 { Some(sat.1 as f64 / sat.0 as f64) } else { None },
        "events_per_week": weeks.into_iter().map(|(w, c)| json!({"week": w, "count": c})).collect::<Vec<_>>(),
        "bbox": bbox,
    })))
}

/// `GET /api/v1/buildings/{id}`.
pub async fn building_detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
) -> AppResult<Json<Value>> {
    let bid: BuildingId = id
        .parse()
        .map_err(|e: geo_core::IdError| AppError::bad(ErrorCode::BadId, e.to_string()))?;
    // Leaders and workers (in scope) get the building's households, each a
    // link to its file (一户一档); no names.
    let households = if access.role.sees_people() {
        let scope = scope_of(&access, &*st.view()?);
        st.with_store(move |s| Ok(s.households_of_building(&scope, bid)?))
            .await?
    } else {
        Vec::new()
    };
    let view = st.view()?;
    let scope = scope_of(&access, &view);
    let b = view
        .dataset
        .buildings
        .iter()
        .find(|b| b.id == bid)
        .ok_or_else(|| AppError::NotFound(format!("building {bid} not found")))?;
    let compound = b
        .compound
        .and_then(|c| view.dataset.compounds.iter().find(|x| x.id == c));
    let refs = refs_at(&view, b.footprint.interior_point());
    if !scope.allows(&refs) {
        // Outside the caller's grids a building is absent, as one that
        // does not exist (no existence oracle).
        return Err(AppError::NotFound(format!("building {bid} not found")));
    }
    let units: Vec<Value> = view
        .dataset
        .units
        .iter()
        .filter(|u| u.building == bid)
        .map(|u| json!({"id": u.id.get(), "number": u.number, "households": u.households}))
        .collect();
    Ok(Json(json!({
        "id": b.id.get(), "address": b.address, "usage": b.usage.code(), "levels": b.levels,
        "height_m": b.height_m, "units": b.units, "unit_list": units, "households": b.households,
        "households_estimated": b.households_estimated,
        "compound": compound.map(|c| json!({"id": c.id.get(), "name": c.name, "era": c.era.code()})),
        "grids": GridCodes::of(&view, &refs),
        "household_list": households.iter().map(|d| json!({
            "id": d.household.get(),
            "unit": d.unit.and_then(|u| view.dataset.units.iter().find(|x| x.id == u)).map(|u| u.number),
            "floor": d.floor, "room": d.room,
        })).collect::<Vec<_>>(),
    })))
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
                let mut m = event_props(&view, e, r, now);
                m.insert("lon".into(), json!(e.location.x()));
                m.insert("lat".into(), json!(e.location.y()));
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
        .data(json!({"last_id": start, "replayed": backlog.len()}).to_string()))];
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
                .data(json!({"missed": n}).to_string())))
        }
    }
}

/// `GET /api/v1/kpi`: the big screen's figures.
pub async fn kpi(State(st): State<AppState>) -> AppResult<Json<Value>> {
    let view = st.view()?;
    let now = st.now();
    let local = chrono::FixedOffset::east_opt(8 * 3600).map(|o| now.with_timezone(&o));
    let today = local.map(|l| l.date_naive());
    // A store whose newest event is older than the 30-day window (a demo
    // town, an archive) would show empty handling and satisfaction tiles: the
    // windows then end at the newest event instead, and the answer says so.
    let latest = view.dataset.events.iter().map(|e| e.reported_at).max();
    let window_end = match latest {
        Some(l) if l < now - chrono::Duration::days(30) => l,
        _ => now,
    };
    let window_local =
        chrono::FixedOffset::east_opt(8 * 3600).map(|o| window_end.with_timezone(&o));
    let month = window_local.map(|l| (l.year(), l.month()));
    let (mut today_n, mut open, mut overdue, mut sat_n, mut sat_ok) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut handling = Vec::new();
    let since = window_end - chrono::Duration::days(30);
    for e in &view.dataset.events {
        let l = e.reported_at.with_timezone(
            &chrono::FixedOffset::east_opt(8 * 3600)
                .unwrap_or(chrono::FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!())),
        );
        if Some(l.date_naive()) == today {
            today_n += 1;
        }
        if e.status.is_open() {
            open += 1;
        }
        if e.is_overdue(now) {
            overdue += 1;
        }
        if e.reported_at >= since && e.reported_at <= window_end {
            if let Some(h) = e.handling_h() {
                handling.push(h);
            }
        }
        if Some((l.year(), l.month())) == month {
            if let Some(s) = e.satisfaction {
                sat_n += 1;
                sat_ok += u64::from(s >= 4);
            }
        }
    }
    Ok(Json(json!({
        "events_today": today_n, "open": open, "overdue": overdue,
        "median_handling_h": median(handling),
        "satisfaction_month": if sat_n > 0 { Some(sat_ok as f64 / sat_n as f64) } else { None },
        "total_events": view.dataset.events.len(),
        "window_end": window_end.to_rfc3339(),
        "window_is_now": window_end == now,
        "satisfaction_month_of": month.map(|(y, m)| format!("{y:04}-{m:02}")),
    })))
}

/// `GET /api/v1/search?q=`.
pub async fn search(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Value>> {
    let needle = q.q.unwrap_or_default().trim().to_lowercase();
    if needle.is_empty() {
        return Err(AppError::bad(ErrorCode::BadQuery, "q must not be empty"));
    }
    let view = st.view()?;
    let mut out = Vec::new();
    let rect =
        |r: Option<geo_types::Rect<f64>>| r.map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    let centre = |r: Option<geo_types::Rect<f64>>| r.map(|r| [r.center().x, r.center().y]);
    for g in &view.dataset.grids {
        if g.code.as_str().contains(&needle) || g.name.to_lowercase().contains(&needle) {
            let r = g.boundary.bounding_rect();
            out.push(json!({"type": "grid", "label": format!("{} {}", g.name, g.code), "code": g.code.as_str(), "center": centre(r), "bbox": rect(r)}));
        }
    }
    for c in &view.dataset.communities {
        if c.name.to_lowercase().contains(&needle) || c.code.as_str().contains(&needle) {
            let r = c.boundary.bounding_rect();
            out.push(json!({"type": "community", "label": c.name, "id": c.id.get(), "center": centre(r), "bbox": rect(r)}));
        }
    }
    for c in &view.dataset.compounds {
        if c.name.to_lowercase().contains(&needle) {
            let r = c.boundary.bounding_rect();
            out.push(json!({"type": "compound", "label": c.name, "id": c.id.get(), "center": centre(r), "bbox": rect(r)}));
        }
    }
    for b in &view.dataset.buildings {
        if b.address
            .as_deref()
            .is_some_and(|a| a.to_lowercase().contains(&needle))
        {
            let r = b.footprint.bounding_rect();
            out.push(json!({"type": "building", "label": b.address, "id": b.id.get(), "center": centre(r), "bbox": rect(r)}));
        }
        if out.len() >= 50 {
            break;
        }
    }
    out.truncate(50);
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/heatmap`: H3 aggregation for dashboards.
pub async fn heatmap(
    State(st): State<AppState>,
    access: Access,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Value>> {
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
    let cells: Vec<Value> = cells
        .iter()
        .map(|c| json!({"cell": c.cell.to_string(), "count": c.count, "lon": c.lon, "lat": c.lat}))
        .collect();
    Ok(Json(json!({"res": res, "cells": cells})))
}
