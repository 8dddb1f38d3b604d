//! The viewer's pages and embedded assets.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::role::{Access, Via};
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

/// Escapes text for an HTML attribute.
fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A page told who is signed in (`<meta name="wangge-role">`,
/// `wangge-user`), so it offers what the role may do and shows the account;
/// the API checks the role again on every call.
fn with_identity(file: &str, access: &Access) -> Response {
    let role = access.role.name();
    let user = attr(&access.identity.display_name);
    let html = asset(file).map(|b| {
        String::from_utf8_lossy(b)
            .replace(
                "<head>",
                &format!(
                    "<head>\n<meta name=\"wangge-role\" content=\"{role}\">\n\
                     <meta name=\"wangge-user\" content=\"{user}\">"
                ),
            )
            .into_bytes()
    });
    respond(file, None, html)
}

/// `GET /`: the viewer, told who is signed in so it offers re-gridding to
/// leaders and planners only and the inbox to those who handle events.
pub async fn index(access: Access) -> Response {
    with_identity("index.html", &access)
}

/// `GET /login`: the log-in page (Chinese, English switch).
pub async fn login() -> Response {
    respond("login.html", None, None)
}

/// `GET /admin`: accounts and kiosk tokens (leaders; the guard checks).
pub async fn admin() -> Response {
    respond("admin.html", None, None)
}

/// `GET /dashboard`: indicators, choropleth and hotspots (leaders and
/// planners; the guard checks).
pub async fn dashboard() -> Response {
    respond("dashboard.html", None, None)
}

/// `GET /inbox`: "my events" (worker, department, leader).
pub async fn inbox(access: Access) -> Response {
    with_identity("inbox.html", &access)
}

/// `GET /household`: 一户一档 (`?id=`), or the worker's overdue visits
/// (leaders and workers; the guard checks).
pub async fn household() -> Response {
    respond("household.html", None, None)
}

/// `GET /screen`.
pub async fn screen() -> Response {
    respond("screen.html", None, None)
}

/// `GET /embed`: frameable by the configured origins and those of the
/// kiosk token it was opened with (`?token=`), which are also handed to the
/// page for checking `postMessage` senders; the token is handed to the page
/// so its own requests carry it (a cross-site frame gets no cookies).
pub async fn embed(State(st): State<AppState>, access: Access, req: Request) -> Response {
    let mut origins = st.0.config.allowed_origins.clone();
    let token = crate::auth::guard::query_token(&req).filter(|_| access.identity.via == Via::Kiosk);
    if let Some((_, more)) = token.as_deref().and_then(|t| st.0.auth.kiosk.identify(t)) {
        origins.extend(more);
    }
    let list = origins.join(" ");
    let csp = format!("frame-ancestors 'self' {list}");
    let html = asset("embed.html").map(|b| {
        String::from_utf8_lossy(b)
            .replace(
                "<head>",
                &format!(
                    "<head>\n<meta name=\"wangge-allowed-origins\" content=\"{}\">\n\
                     <meta name=\"wangge-token\" content=\"{}\">",
                    attr(&list),
                    attr(token.as_deref().unwrap_or(""))
                ),
            )
            .into_bytes()
    });
    let mut resp = respond("embed.html", Some(csp), html);
    resp.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// `GET /assets/{*path}`.
pub async fn assets(Path(path): Path<String>) -> Response {
    respond(&path, None, None)
}
