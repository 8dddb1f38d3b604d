//! OGC API – Features under `/ogc`: the HTTP edge of `crate::ogc`. The
//! features are `service::features`' (the JSON API's), so a caller sees
//! here exactly what `GET /api/v1/{kind}` shows it.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::ogc::{
    collection, CollectionInfo, Collections, Conformance, ItemsQuery, Landing, Link, OpenApi,
    OutCrs, Queryables, COLLECTIONS, CONFORMANCE, GEOJSON, JSON, OPENAPI, PREFIX,
};
use crate::query::grid_id;
use crate::role::Access;
use crate::service::features::{features, scope_of};
use crate::state::AppState;

/// The API's root URL as the client reached it.
fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}{PREFIX}")
}

fn typed<T: Serialize>(media: &'static str, body: &T) -> Response {
    let mut r = Json(body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    r
}

/// `GET /ogc`: the landing page.
pub async fn landing(headers: HeaderMap) -> Response {
    let b = base(&headers);
    typed(
        JSON,
        &Landing {
            title: "Wangge",
            description: "The town's map elements as OGC API – Features: communities, grids, compounds, buildings, places, roads and events, as the caller may see them.",
            links: vec![
                Link::new(b.clone(), "self", JSON),
                Link::new(format!("{b}/api"), "service-desc", OPENAPI),
                Link::new(format!("{b}/conformance"), "conformance", JSON),
                Link::new(format!("{b}/collections"), "data", JSON),
            ],
        },
    )
}

/// `GET /ogc/conformance`.
pub async fn conformance() -> Response {
    typed(
        JSON,
        &Conformance {
            conforms_to: CONFORMANCE.to_vec(),
        },
    )
}

/// `GET /ogc/api`: the OpenAPI 3.0 document.
pub async fn api(headers: HeaderMap) -> Response {
    typed(OPENAPI, &OpenApi::of(&base(&headers)))
}

fn extent(st: &AppState) -> AppResult<Option<[f64; 4]>> {
    let view = st.view()?;
    let mut b: Option<[f64; 4]> = None;
    for c in &view.dataset.communities {
        if let Some(r) = geo::BoundingRect::bounding_rect(&c.boundary) {
            let x = b.get_or_insert([r.min().x, r.min().y, r.max().x, r.max().y]);
            *x = [
                x[0].min(r.min().x),
                x[1].min(r.min().y),
                x[2].max(r.max().x),
                x[3].max(r.max().y),
            ];
        }
    }
    Ok(b)
}

/// `GET /ogc/collections`.
pub async fn collections(State(st): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let b = base(&headers);
    let ext = extent(&st)?;
    Ok(typed(
        JSON,
        &Collections {
            links: vec![Link::new(format!("{b}/collections"), "self", JSON)],
            collections: COLLECTIONS
                .iter()
                .map(|c| CollectionInfo::of(c, &b, ext))
                .collect(),
            crs: OutCrs::ALL.iter().map(|c| c.uri()).collect(),
        },
    ))
}

/// `GET /ogc/collections/{collection}`.
pub async fn describe(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let c = collection(&id)?;
    Ok(typed(
        JSON,
        &CollectionInfo::of(c, &base(&headers), extent(&st)?),
    ))
}

/// `GET /ogc/collections/{collection}/queryables`.
pub async fn queryables(Path(id): Path<String>, headers: HeaderMap) -> AppResult<Response> {
    let c = collection(&id)?;
    Ok(typed(
        "application/schema+json",
        &Queryables::of(c, &base(&headers)),
    ))
}

fn pairs(raw: Option<&str>) -> AppResult<Vec<(String, String)>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .map_err(|e| AppError::bad(ErrorCode::BadQuery, format!("unreadable query string: {e}")))
}

/// The features of the collection the caller may see that pass `q`: how
/// many, and those in `window` (all without one), each with its `id`
/// member and in CRS84. Only the window's features are built whole; a
/// property or CQL2 filter runs on every candidate's properties first (and
/// its geometry only when the filter is spatial), over the caller's own
/// (scoped, masked) copies, never over the store's rows, so it cannot
/// reveal what the copy hides.
fn matching(
    st: &AppState,
    access: &Access,
    id: &str,
    q: &ItemsQuery,
    window: Option<std::ops::Range<u64>>,
) -> AppResult<(u64, Vec<Value>)> {
    let view = st.view()?;
    let scope = scope_of(access, &view);
    let grid = q
        .list
        .grid
        .as_deref()
        .map(|g| grid_id(&view, g))
        .transpose()?;
    let with_id = |mut f: Value| {
        if let Some(fid) = f.pointer("/properties/id").cloned() {
            if let Value::Object(m) = &mut f {
                m.insert("id".into(), fid);
            }
        }
        f
    };
    let (bbox, now) = (q.bbox, st.now());
    let keep = (!q.unfiltered()).then_some(q as &dyn crate::service::features::Keep);
    let (n, page) = features(
        &view, access, &scope, id, &q.list, bbox, grid, now, window, keep,
    )?;
    Ok((n, page.into_iter().map(with_id).collect()))
}

fn content_crs(r: &mut Response, crs: OutCrs) {
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        r.headers_mut().insert("content-crs", v);
    }
}

fn reproject(f: &mut Value, crs: OutCrs) {
    if let Some(g) = f.get_mut("geometry") {
        crs.convert_geometry(g);
    }
}

/// `GET /ogc/collections/{collection}/items`.
pub async fn items(
    State(st): State<AppState>,
    Path(id): Path<String>,
    access: Access,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let c = collection(&id)?;
    let params = pairs(raw.as_deref())?;
    let q = ItemsQuery::parse(c, &params)?;
    let window = q.offset..q.offset.saturating_add(q.limit);
    let (matched, mut page) = matching(&st, &access, c.id, &q, Some(window))?;
    for f in &mut page {
        reproject(f, q.crs);
    }
    let b = base(&headers);
    let me = format!("{b}/collections/{}/items", c.id);
    let with_offset = |offset: u64| {
        let mut p: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "offset")
            .cloned()
            .collect();
        p.push(("offset".into(), offset.to_string()));
        format!(
            "{me}?{}",
            serde_urlencoded::to_string(&p).unwrap_or_default()
        )
    };
    let mut links = vec![
        Link::new(
            if params.is_empty() {
                me.clone()
            } else {
                format!("{me}?{}", raw.as_deref().unwrap_or(""))
            },
            "self",
            GEOJSON,
        ),
        Link::new(format!("{b}/collections/{}", c.id), "collection", JSON),
    ];
    let returned = page.len() as u64;
    if q.offset + returned < matched {
        links.push(Link::new(with_offset(q.offset + returned), "next", GEOJSON));
    }
    if q.offset > 0 {
        links.push(Link::new(
            with_offset(q.offset.saturating_sub(q.limit)),
            "prev",
            GEOJSON,
        ));
    }
    let mut r = typed(
        GEOJSON,
        &crate::ogc::Items {
            kind: "FeatureCollection",
            number_matched: matched,
            number_returned: returned,
            time_stamp: st.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            links,
            features: page,
        },
    );
    content_crs(&mut r, q.crs);
    Ok(r)
}

/// `GET /ogc/collections/{collection}/items/{feature}`: 404 for a feature
/// the caller may not see, as for one that does not exist.
pub async fn item(
    State(st): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let c = collection(&id)?;
    let params = pairs(raw.as_deref())?;
    if let Some((k, v)) = params.iter().find(|(k, _)| k != "crs" && k != "f") {
        return Err(AppError::bad(
            ErrorCode::BadQuery,
            format!("unknown parameter {k}={v:?} for one feature; it takes crs"),
        ));
    }
    let q = ItemsQuery::parse(c, &params)?;
    let want: u64 = fid.parse().map_err(|_| {
        AppError::bad(
            ErrorCode::BadId,
            format!("feature ID {fid:?} is not a number"),
        )
    })?;
    let mut f = matching(&st, &access, c.id, &q, None)?
        .1
        .into_iter()
        .find(|f| f.get("id").and_then(Value::as_u64) == Some(want))
        .ok_or_else(|| AppError::NotFound(format!("no feature {want} in collection {}", c.id)))?;
    reproject(&mut f, q.crs);
    let mut r = typed(GEOJSON, &f);
    content_crs(&mut r, q.crs);
    Ok(r)
}
