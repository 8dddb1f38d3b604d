//! The router: `fn app(state) -> Router`, so tests drive it with `oneshot`
//! and no socket.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::{Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth;
use crate::error::{json_errors, AppError, EdgeLimits};
use crate::routes::{
    analytics, api, events, households, imports, inbox, ogc, open311, pages, regrid, tiles,
};
use crate::state::AppState;

/// Builds the application router. Every error answer, including the
/// framework's own (rejected JSON, query or path, 404, 405, 408, 413), has
/// the JSON shape of [`AppError`] (see [`json_errors`]).
pub fn app(state: AppState) -> Router {
    let timeout = state.0.config.request_timeout;
    let body_limit = state.0.config.body_limit;
    let json_limit = state.0.config.json_body_limit;
    let limits = EdgeLimits {
        body_limit,
        json_limit,
        timeout,
    };
    // Photos are the one large body; every other API route keeps the JSON
    // limit (intake needs a few kB).
    let big = DefaultBodyLimit::max(body_limit);
    let api = Router::new()
        .route(
            "/session",
            get(auth::routes::whoami)
                .post(auth::routes::login)
                .delete(auth::routes::logout),
        )
        .route("/session/kiosk", post(auth::routes::kiosk))
        .route("/accounts", get(auth::admin::list).post(auth::admin::add))
        .route("/accounts/{name}/{action}", post(auth::admin::change))
        .route("/tokens/{id}/revoke", post(auth::admin::revoke_token))
        .route("/info", get(api::info))
        .route("/kpi", get(api::kpi))
        .route("/search", get(api::search))
        .route("/heatmap", get(api::heatmap))
        .route("/stream/events", get(api::stream_events))
        .route("/grids/versions", get(analytics::grid_versions))
        .route("/grids/sentiment", get(households::grid_sentiment))
        .route(
            "/grids/versions/{version}",
            get(analytics::grids_of_version),
        )
        .route("/grids/{code}", get(api::grid_detail))
        .route("/buildings/{id}", get(api::building_detail))
        .route("/households/{id}/file", get(households::household_file))
        .route("/households/{id}/visits", post(households::record_visit))
        .route(
            "/visits/{id}/photos",
            post(households::add_visit_photo).layer(big),
        )
        .route("/visits/{id}/photos/{photo}", get(households::visit_photo))
        .route(
            "/visits/{id}/photos/{photo}/thumb",
            get(households::visit_photo_thumb),
        )
        .route("/needs/{id}/close", post(households::close_need))
        .route("/visits/overdue", get(households::overdue_visits))
        .route("/events/{id}", get(events::event_detail))
        .route("/events/{id}/transition", post(events::transition))
        .route("/events/{id}/notes", post(events::add_note))
        .route("/events/{id}/photos", post(events::add_photo).layer(big))
        .route("/events/{id}/photos/{photo}", get(events::photo))
        .route(
            "/events/{id}/photos/{photo}/thumb",
            get(events::photo_thumb),
        )
        .route("/events/{id}/merge", post(events::merge_into))
        .route("/escalate", post(events::escalate_now))
        .route("/inbox", get(inbox::inbox))
        .route("/alerts", get(inbox::alerts))
        .route("/receipts/{receipt}", get(events::receipt_status))
        .route("/events", get(list_events).post(api::create_event))
        .route("/regrid", post(regrid::start_regrid))
        .route("/regrid/{job}", get(regrid::regrid_status))
        .route("/regrid/{job}/cancel", post(regrid::cancel_regrid))
        .route("/regrid/{job}/adopt", post(regrid::adopt_regrid))
        .route("/indicators", get(analytics::indicators))
        .route("/hotspots", get(analytics::hotspots))
        .route("/coverage", get(analytics::coverage))
        .route("/persons/lookup", post(api::lookup_person))
        .route("/{kind}", get(api::list))
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        // Inside the compression: it reads plain-text bodies before they are gzipped.
        .layer(from_fn_with_state(limits, json_errors))
        .layer(CompressionLayer::new());
    Router::new()
        .route("/healthz", get(api::healthz))
        // Imports: outside the API's request time-out (a week's register
        // may take longer to upload and import); the body is streamed to
        // a file with its own limit (`--import-limit-mib`).
        .route("/api/v1/imports", post(imports::upload))
        .nest("/api/v1", api)
        // OGC API – Features (`crate::ogc::PREFIX`); the document, the
        // collections and the items are gzipped for clients that offer it.
        .route("/ogc", get(ogc::landing))
        // OWSLib asks for the landing page with a trailing slash.
        .route("/ogc/", get(ogc::landing))
        .route("/ogc/conformance", get(ogc::conformance))
        .route("/ogc/api", get(ogc::api).layer(CompressionLayer::new()))
        .route(
            "/ogc/collections",
            get(ogc::collections).layer(CompressionLayer::new()),
        )
        .route("/ogc/collections/{collection}", get(ogc::describe))
        .route(
            "/ogc/collections/{collection}/queryables",
            get(ogc::queryables),
        )
        .route(
            "/ogc/collections/{collection}/items",
            get(ogc::items).layer(CompressionLayer::new()),
        )
        .route(
            "/ogc/collections/{collection}/items/{feature}",
            get(ogc::item).layer(CompressionLayer::new()),
        )
        // Open311 GeoReport v2 (`crate::open311::PREFIX`): error answers in
        // the Open311 form (`open311::errors`, the outermost layer).
        .route(
            "/open311/v2/{file}",
            get(open311::list).post(open311::post_request),
        )
        .route(
            "/open311/v2/services/{file}",
            get(open311::service_definition),
        )
        .route("/open311/v2/requests/{file}", get(open311::request))
        .route("/open311/v2/tokens/{file}", get(open311::token))
        .route("/tiles/{file}", get(tiles::tilejson))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile))
        .route("/style.json", get(tiles::style))
        .route("/glyphs/{fontstack}/{range}", get(tiles::glyphs))
        .route("/", get(pages::index))
        .route("/login", get(pages::login))
        .route("/screen", get(pages::screen))
        .route("/admin", get(pages::admin))
        .route("/dashboard", get(pages::dashboard))
        .route("/inbox", get(pages::inbox))
        .route("/household", get(pages::household))
        .route("/embed", get(pages::embed))
        .route("/assets/{*path}", get(pages::assets))
        .fallback(|method: Method, OriginalUri(uri): OriginalUri| async move {
            AppError::NotFound(format!("no route {method} {}", uri.path()))
        })
        // Every request, the fallback's too, passes the guard: who is
        // asking, the access matrix, CSRF, JSON bodies, the host list.
        .layer(from_fn_with_state(state.clone(), auth::guard::guard))
        .layer(from_fn_with_state(limits, json_errors))
        .layer(axum::middleware::from_fn(open311::errors))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn list_events(
    st: axum::extract::State<AppState>,
    access: crate::role::Access,
    q: axum::extract::Query<crate::query::ListQuery>,
) -> crate::error::AppResult<axum::response::Response> {
    api::list(st, axum::extract::Path("events".to_string()), access, q).await
}

/// Default request time-out.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
