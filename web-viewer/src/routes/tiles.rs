//! Vector tiles, TileJSON, the MapLibre style and glyphs.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::Value;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::query::{accepts_gzip, heat_filter_from};
use crate::role::Access;
use crate::state::AppState;
use crate::tile_cache::{CachedTile, TileKey};

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`.
pub async fn tile(
    State(st): State<AppState>,
    Path((layer, z, x, y)): Path<(String, u8, u32, String)>,
    headers: HeaderMap,
    access: Access,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let (z, x, y) = crate::query::tile_address(z, x, &y)?;
    let layer_v = tiles::Layer::parse(&layer).map_err(|e| AppError::NotFound(e.to_string()))?;
    // Exact events in tiles for leaders only: a tile is not cut to a
    // worker's grids or a department's events, so they get the k-anonymous
    // layer like everyone else (their own events come from the API).
    let k = if access.role != crate::role::Role::Leader {
        st.0.config.k_anonymity
    } else {
        0
    };
    let filter = heat_filter_from(&params, st.now())?;
    let key = TileKey::new(layer_v, (z, x, y), &filter, k);
    let now = filter.now;
    // A tile that depends on the time (an open event in its reach turns
    // overdue) is only reused until that instant.
    let cached =
        st.0.tiles
            .lock()
            .map_err(|_| AppError::Internal("tile cache poisoned".into()))?
            .get(&key)
            .filter(|t| t.valid_until.is_none_or(|u| u > now))
            .cloned();
    let t = match cached {
        Some(t) => t,
        None => {
            let st2 = st.clone();
            let built = tokio::task::spawn_blocking(move || -> AppResult<tiles::EncodedTile> {
                let view = st2.view()?;
                let tf = tiles::TileFilter {
                    events: filter,
                    min_count: k.max(1),
                };
                view.tiles
                    .tile_with_expiry(layer_v, z, x, y, &tf)
                    .map_err(|e| AppError::bad(ErrorCode::BadTile, e.to_string()))
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
            let gz = if built.bytes.is_empty() {
                Vec::new()
            } else {
                tiles::gzip(&built.bytes).map_err(|e| AppError::Internal(e.to_string()))?
            };
            let etag = format!("\"{:016x}\"", fxhash(&gz));
            let t = CachedTile {
                gz: Bytes::from(gz),
                raw: Bytes::from(built.bytes),
                etag,
                valid_until: built.valid_until,
            };
            let mut cache =
                st.0.tiles
                    .lock()
                    .map_err(|_| AppError::Internal("tile cache poisoned".into()))?;
            cache.insert(key, t.clone());
            t
        }
    };
    // Clients may reuse a tile for a minute, or until it turns stale by time.
    let max_age = t
        .valid_until
        .map_or(MAX_AGE_S, |u| (u - now).num_seconds().clamp(0, MAX_AGE_S));
    let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if t.gz.is_empty() {
        return Ok((
            StatusCode::NO_CONTENT,
            [(header::CACHE_CONTROL, cache_control)],
        )
            .into_response());
    }
    // Gzip only to a client that offers it; the others get the decoded copy.
    let gzip = accepts_gzip(&headers);
    let tag = if gzip {
        t.etag.clone()
    } else {
        t.etag_identity()
    };
    let etag = HeaderValue::from_str(&tag).map_err(|e| AppError::Internal(e.to_string()))?;
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(tag.as_str())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache_control),
                vary,
            ],
        )
            .into_response());
    }
    let mut resp = Response::new(Body::from(if gzip { t.gz } else { t.raw }));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
    );
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(vary.0, vary.1);
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::ETAG, etag);
    Ok(resp)
}

/// Longest `Cache-Control: max-age` of a tile, in seconds: writes
/// invalidate the server's cache at once, clients catch up within this.
const MAX_AGE_S: i64 = 60;

fn fxhash(b: &[u8]) -> u64 {
    // FNV-1a: stable across runs, good enough for an ETag.
    b.iter().fold(0xcbf29ce484222325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100000001b3)
    })
}

/// `GET /tiles/{layer}.json`: TileJSON 3.0.
pub async fn tilejson(
    State(st): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<Value>> {
    let name = file
        .strip_suffix(".json")
        .ok_or_else(|| AppError::NotFound(format!("{file}: expected <layer>.json")))?;
    let layer = tiles::Layer::parse(name).map_err(|e| AppError::NotFound(e.to_string()))?;
    let view = st.view()?;
    let bounds = view.tiles.bounds().unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    Ok(Json(tiles::style::tilejson(
        layer,
        &base_url(&headers),
        0,
        view.tiles.options().max_zoom,
        bounds,
    )))
}

/// `GET /style.json`.
pub async fn style(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let opts = tiles::style::StyleOptions {
        lang: tiles::style::Lang::parse(p.get("lang").map(String::as_str).unwrap_or("zh")),
        theme: tiles::style::Theme::parse(p.get("theme").map(String::as_str).unwrap_or("light")),
        max_zoom: st.view()?.tiles.options().max_zoom,
    };
    Ok(Json(tiles::style::style_json(&base_url(&headers), opts)))
}

/// `GET /glyphs/{fontstack}/{range}.pbf`.
pub async fn glyphs(Path((fontstack, range)): Path<(String, String)>) -> AppResult<Response> {
    let r = range.strip_suffix(".pbf").unwrap_or(&range);
    let (a, b) = r
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .ok_or_else(|| {
            AppError::bad(
                ErrorCode::BadRange,
                format!("{range}: expected START-END.pbf"),
            )
        })?;
    let bytes =
        tiles::glyphs::range(&fontstack, a, b).map_err(|e| AppError::NotFound(e.to_string()))?;
    let mut resp = Response::new(Body::from(bytes));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(resp)
}
