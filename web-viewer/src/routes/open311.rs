//! Open311 GeoReport v2 under `/open311/v2` (see [`crate::open311`]): the
//! service list and definitions, requests filed through the event intake
//! ([`crate::service::event_loop::file_event`]: grid assignment, dispatch,
//! deadline, duplicates, then escalation like any event), the public list
//! and detail of requests (the coarse copy), and tokens. Every error answer
//! on these paths — the guard's and the framework's too — is rewritten into
//! the Open311 form by [`errors`].

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{DateTime, Duration, Utc};
use geo::Centroid;
use geo_core::ids::EventId;
use geo_core::model::Event;
use geo_core::taxonomy::EventCategory;
use serde::Serialize;
use serde_json::Value;

use crate::auth::guard::Open311Post;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::open311::{
    self, Created, Format, Open311Error, PostFields, ServiceRequest, MAX_REQUESTS, WINDOW_DAYS,
};
use crate::present::{coarsen, to_map, Located};
use crate::query::parse_time;
use crate::role::Access;
use crate::service::event_loop::{broadcast, file_event, receipt, receipt_id, reported};
use crate::state::AppState;

type Params = Vec<(String, String)>;

/// The answer of a list (`<root><item>…` in XML, a JSON array) or, with an
/// empty `item`, of one object.
fn answer<T: Serialize>(
    status: StatusCode,
    fmt: Format,
    root: &str,
    item: &str,
    v: &T,
) -> Response {
    let value = serde_json::to_value(v).unwrap_or(Value::Null);
    let body = match fmt {
        Format::Xml => open311::xml(root, item, &value),
        Format::Json => value.to_string(),
    };
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(fmt.content_type()),
        )],
        body,
    )
        .into_response()
}

/// Splits `{name}.{xml|json}`; 404 for another name, 400 for another
/// extension.
fn file_of<'a>(file: &'a str, what: &str) -> AppResult<(&'a str, Format)> {
    Format::split(file).ok_or_else(|| {
        AppError::bad(
            ErrorCode::BadFormat,
            format!("{file:?}: {what} answers in .xml or .json"),
        )
    })
}

/// The value of each allowed parameter (at most once); any other
/// parameter is refused by name (`api_key`, which some clients always
/// send, is ignored on reads).
fn params<'a, const N: usize>(
    q: &'a Params,
    allowed: [&str; N],
) -> AppResult<[Option<&'a str>; N]> {
    let mut out = [None; N];
    for (k, v) in q {
        if k == "api_key" {
            continue;
        }
        let Some(i) = allowed.iter().position(|a| *a == k.as_str()) else {
            return Err(AppError::bad(
                ErrorCode::BadQuery,
                format!(
                    "{k}: not a parameter here (these are: {})",
                    allowed.join(", ")
                ),
            ));
        };
        if out[i].replace(v.as_str()).is_some() {
            return Err(AppError::bad(
                ErrorCode::BadQuery,
                format!("{k} is repeated (give a comma-separated list)"),
            ));
        }
    }
    Ok(out)
}

fn check_jurisdiction(st: &AppState, sent: Option<&str>) -> AppResult<()> {
    st.0.config
        .open311
        .check_jurisdiction(sent)
        .map_err(|m| AppError::bad(ErrorCode::BadJurisdiction, m))
}

/// The preamble of a read of one thing (`{name}.{fmt}` whose only
/// parameter is `jurisdiction_id`): the name and the format, the
/// jurisdiction checked.
fn one<'a>(st: &AppState, file: &'a str, what: &str, q: &Params) -> AppResult<(&'a str, Format)> {
    let (name, fmt) = file_of(file, what)?;
    let [j] = params(q, ["jurisdiction_id"])?;
    check_jurisdiction(st, j)?;
    Ok((name, fmt))
}

/// An answer holding service requests (`<service_requests><request>…`).
fn requests_answer<T: Serialize>(status: StatusCode, fmt: Format, v: &T) -> Response {
    answer(status, fmt, "service_requests", "request", v)
}

/// `GET /open311/v2/services.{fmt}` and `GET /open311/v2/requests.{fmt}`.
pub async fn list(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<Params>,
) -> AppResult<Response> {
    let (name, fmt) = file_of(&file, "a list")?;
    match name {
        "services" => {
            let [j] = params(&q, ["jurisdiction_id"])?;
            check_jurisdiction(&st, j)?;
            let s = open311::services(&st.0.config.open311);
            Ok(answer(StatusCode::OK, fmt, "services", "service", &s))
        }
        "requests" => requests(&st, fmt, &q),
        _ => Err(AppError::NotFound(format!(
            "no Open311 list {file:?} (services.{{xml,json}}, requests.{{xml,json}})"
        ))),
    }
}

fn comma(v: Option<&str>) -> Vec<&str> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// The public copy of an event: the coarse copy ([`coarsen`]: no title,
/// handler, receipt or exact place) as an Open311 request; none for an
/// event of a category withheld from the public ([`open311::is_public`]),
/// which reads as absent.
fn public_request(
    view: &crate::view::TownView,
    i: usize,
    now: DateTime<Utc>,
) -> Option<ServiceRequest> {
    let e = &view.dataset.events[i];
    if !open311::is_public(e.category) {
        return None;
    }
    let refs = view.event_refs.get(i).copied().unwrap_or_default();
    let m = coarsen(to_map(&Located::of(view, e, &refs, now)));
    ServiceRequest::of_coarse(&m)
}

fn requests(st: &AppState, fmt: Format, q: &Params) -> AppResult<Response> {
    let [j, ids, codes, start, end, status] = params(
        q,
        [
            "jurisdiction_id",
            "service_request_id",
            "service_code",
            "start_date",
            "end_date",
            "status",
        ],
    )?;
    check_jurisdiction(st, j)?;
    let now = st.now();
    let view = st.view()?;
    let mut picked: Vec<usize> = Vec::new();
    let ids = comma(ids);
    if !ids.is_empty() {
        // The specification: service_request_id overrides every other filter.
        for s in ids {
            let id: EventId = s.parse().map_err(|_| {
                AppError::bad(
                    ErrorCode::BadId,
                    format!("service_request_id {s:?} is not a request ID"),
                )
            })?;
            if let Some(&i) = view.event_pos.get(&id) {
                picked.push(i);
            }
        }
    } else {
        let cfg = &st.0.config.open311;
        let cats: Vec<EventCategory> = comma(codes)
            .into_iter()
            .map(|c| {
                cfg.category(c)
                    .map_err(|m| AppError::bad(ErrorCode::BadServiceCode, m))
            })
            .collect::<AppResult<_>>()?;
        let (mut open, mut closed) = (false, false);
        for s in comma(status) {
            match s.to_ascii_lowercase().as_str() {
                "open" => open = true,
                "closed" => closed = true,
                _ => {
                    return Err(AppError::bad(
                        ErrorCode::BadStatus,
                        format!("status {s:?}: open or closed"),
                    ))
                }
            }
        }
        let want_open = match (open, closed) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        let window = Duration::days(WINDOW_DAYS);
        let start = start.map(|s| parse_time("start_date", s)).transpose()?;
        let end = end.map(|s| parse_time("end_date", s)).transpose()?;
        let (from, to) = match (start, end) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => (a, a + window),
            (None, Some(b)) => (b - window, b),
            (None, None) => (now - window, now),
        };
        if from > to || to - from > window {
            return Err(AppError::bad(
                ErrorCode::BadTime,
                format!(
                    "start_date {} to end_date {}: the window must be ordered and at most {WINDOW_DAYS} days",
                    from.to_rfc3339(),
                    to.to_rfc3339()
                ),
            ));
        }
        picked = view
            .dataset
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.reported_at >= from && e.reported_at <= to)
            .filter(|(_, e)| open311::is_public(e.category))
            .filter(|(_, e)| cats.is_empty() || cats.contains(&e.category))
            .filter(|(_, e)| want_open.is_none_or(|o| e.status.is_open() == o))
            .map(|(i, _)| i)
            .collect();
        picked.sort_by_key(|&i| std::cmp::Reverse(view.dataset.events[i].reported_at));
        picked.truncate(MAX_REQUESTS);
    }
    let out: Vec<ServiceRequest> = picked
        .into_iter()
        .filter_map(|i| public_request(&view, i, now))
        .collect();
    Ok(requests_answer(StatusCode::OK, fmt, &out))
}

/// `GET /open311/v2/services/{code}.{fmt}`: the service's attributes.
pub async fn service_definition(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<Params>,
) -> AppResult<Response> {
    let (code, fmt) = one(&st, &file, "a service definition", &q)?;
    st.0.config
        .open311
        .category(code)
        .map_err(AppError::NotFound)?;
    let d = open311::definition(code);
    Ok(answer(StatusCode::OK, fmt, "service_definition", "", &d))
}

/// `GET /open311/v2/requests/{id}.{fmt}`: one request, as in the list.
pub async fn request(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<Params>,
) -> AppResult<Response> {
    let (id, fmt) = one(&st, &file, "a request", &q)?;
    let id: EventId = id
        .parse()
        .map_err(|_| AppError::bad(ErrorCode::BadId, format!("{id:?} is not a request ID")))?;
    let now = st.now();
    let view = st.view()?;
    let r = view
        .event_pos
        .get(&id)
        .and_then(|&i| public_request(&view, i, now))
        .ok_or_else(|| AppError::NotFound(format!("request {id} not found")))?;
    Ok(requests_answer(StatusCode::OK, fmt, &[r]))
}

/// `GET /open311/v2/tokens/{token}.{fmt}`: the request a token (the
/// receipt a post answered) stands for.
pub async fn token(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<Params>,
) -> AppResult<Response> {
    let (token, fmt) = one(&st, &file, "a token", &q)?;
    let unknown = || AppError::NotFound(format!("token {token:?} not found"));
    let id = receipt_id(token).ok_or_else(unknown)?;
    let view = st.view()?;
    let e = view
        .event_pos
        .get(&id)
        .map(|&i| &view.dataset.events[i])
        .filter(|e| crate::auth::secret::same(&receipt(&st.0.auth.receipt_key, e), token))
        .ok_or_else(unknown)?;
    let out = [Created {
        service_request_id: e.id.get().to_string(),
        token: token.to_string(),
        service_notice: None,
        account_id: None,
    }];
    Ok(requests_answer(StatusCode::OK, fmt, &out))
}

/// A building of the town whose address is `a` (exactly, else the first
/// that contains it): the centre of its footprint.
fn address_point(view: &crate::view::TownView, a: &str) -> Option<geo_types::Point<f64>> {
    let bs = &view.dataset.buildings;
    let exact = bs
        .iter()
        .find(|b| b.address.as_deref().map(str::trim) == Some(a));
    exact
        .or_else(|| {
            bs.iter()
                .find(|b| b.address.as_deref().is_some_and(|x| x.contains(a)))
        })
        .and_then(|b| b.footprint.centroid())
}

/// `POST /open311/v2/requests.{fmt}`: files a request as an event of the
/// key's source through the intake; the guard checked the `api_key`
/// ([`crate::auth::guard`]).
pub async fn post_request(
    State(st): State<AppState>,
    Path(file): Path<String>,
    access: Access,
    post: Option<Extension<Open311Post>>,
) -> AppResult<Response> {
    let (name, fmt) = file_of(&file, "a post")?;
    if name != "requests" {
        return Err(AppError::NotFound(format!(
            "no Open311 list {file:?} to post to (requests.{{xml,json}})"
        )));
    }
    let Some(Extension(post)) = post else {
        return Err(AppError::Status(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "a request needs api_key".into(),
        ));
    };
    let f = PostFields::parse(&post.fields).map_err(|(c, m)| AppError::bad(c, m))?;
    check_jurisdiction(&st, f.jurisdiction_id.as_deref())?;
    let cfg = &st.0.config.open311;
    let cat = cfg
        .category(&f.service_code)
        .map_err(|m| AppError::bad(ErrorCode::BadServiceCode, m))?;
    let point = match (f.position, &f.address_string) {
        (Some((lat, lon)), _) => {
            let crs = f
                .crs
                .as_deref()
                .map(geo_core::crs::Crs::parse)
                .transpose()
                .map_err(|e| AppError::bad(ErrorCode::BadCrs, format!("crs: {e}")))?
                .unwrap_or(geo_core::crs::Crs::Wgs84);
            geo_types::Point::from(crs.to_wgs84(geo_types::Coord { x: lon, y: lat }))
        }
        (None, Some(a)) => address_point(&*st.view()?, a).ok_or_else(|| {
            AppError::bad(
                ErrorCode::BadAddress,
                format!("address_string {a:?} names no building of the town: send lat and long"),
            )
        })?,
        (None, None) => {
            return Err(AppError::bad(
                ErrorCode::BadLocation,
                "a request needs lat and long, or address_string",
            ))
        }
    };
    let title = f.title(cat);
    let source = post.client.source;
    let now = st.now();
    let filed = file_event(
        &st,
        |id| Event::reported(id, cat, title, point, now, source),
        access.actor(),
    )
    .await?;
    let body = reported(&st, &filed, now)?;
    broadcast(&st, &body);
    let d = cat.def();
    let out = [Created {
        service_request_id: filed.event.id.get().to_string(),
        token: body.receipt.clone(),
        service_notice: Some(format!(
            "{} / {}: {}",
            d.name_zh,
            d.name_en,
            filed
                .event
                .deadline
                .map(|t| format!("due {}", t.to_rfc3339()))
                .unwrap_or_else(|| "filed".into())
        )),
        account_id: None,
    }];
    Ok(requests_answer(StatusCode::CREATED, fmt, &out))
}

/// Rewrites every error answer under `/open311/` (our
/// `{"error": {code, message}}`, the guard's and the framework's included)
/// into the Open311 form: `<errors><error><code>HTTP status</code>
/// <description>our_code: message</description></error></errors>`, or the
/// JSON array `[{code, description}]` for a `.json` path.
pub async fn errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    if !path.starts_with("/open311/") || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let code = v
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("error");
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("");
    let fmt = Format::of_path(&path);
    let e = [Open311Error {
        code: status.as_u16(),
        description: format!("{code}: {message}"),
    }];
    let value = serde_json::to_value(e).unwrap_or(Value::Null);
    let text = match fmt {
        Format::Xml => open311::xml("errors", "error", &value),
        Format::Json => value.to_string(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(fmt.content_type()),
    );
    Response::from_parts(parts, Body::from(text))
}
