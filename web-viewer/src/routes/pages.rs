//! The viewer's pages and embedded assets.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::role::{Access, Role};
use crate::state::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Looks up an embedded file.
pub fn asset(path: &str) -> Option<&'static [u8]> {
    embedded::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| *b)
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "md" => "text/markdown; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn respond(path: &str, extra_csp: Option<String>, body: Option<Vec<u8>>) -> Response {
    let Some(bytes) = asset(path) else {
        return (StatusCode::NOT_FOUND, format!("asset {path} not found")).into_response();
    };
    let mut resp = Response::new(match body {
        Some(b) => Body::from(b),
        None => Body::from(bytes),
    });
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(path)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let csp = extra_csp.unwrap_or_else(|| "frame-ancestors 'self'".to_string());
    if let Ok(v) = HeaderValue::from_str(&format!(
        "default-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; child-src blob:; \
         style-src 'self' 'unsafe-inline'; connect-src 'self'; {csp}"
    )) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// `GET /`: the viewer, told the caller's role (`<meta name="wangge-role">`,
/// from `X-Wangge-Role`) so it offers re-gridding to leaders and planners
/// only; the API checks the role again on every call.
pub async fn index(headers: HeaderMap) -> Response {
    let role = match Access::from_headers(&headers).role {
        Role::Leader => "leader",
        Role::Planner => "planner",
        Role::Screen => "screen",
        Role::Worker => "worker",
        Role::Department => "department",
        Role::Public => "public",
    };
    let html = asset("index.html").map(|b| {
        String::from_utf8_lossy(b)
            .replace(
                "<head>",
                &format!("<head>\n<meta name=\"wangge-role\" content=\"{role}\">"),
            )
            .into_bytes()
    });
    respond("index.html", None, html)
}

/// `GET /screen`.
pub async fn screen() -> Response {
    respond("screen.html", None, None)
}

/// `GET /embed`: frameable by the configured origins, which are also handed
/// to the page for checking `postMessage` senders.
pub async fn embed(State(st): State<AppState>) -> Response {
    let origins = &st.0.config.allowed_origins;
    let list = origins.join(" ");
    let csp = format!("frame-ancestors 'self' {list}");
    let html = asset("embed.html").map(|b| {
        String::from_utf8_lossy(b)
            .replace(
                "<head>",
                &format!(
                    "<head>\n<meta name=\"wangge-allowed-origins\" content=\"{}\">",
                    list.replace('"', "")
                ),
            )
            .into_bytes()
    });
    respond("embed.html", Some(csp), html)
}

/// `GET /assets/{*path}`.
pub async fn assets(Path(path): Path<String>) -> Response {
    respond(&path, None, None)
}
