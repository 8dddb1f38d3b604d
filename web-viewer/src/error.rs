//! The one error type at the HTTP edge: precise for client mistakes, opaque
//! for internal failures (logged, not shown), and [`json_errors`], the layer
//! that gives every other error answer (axum's extractor rejections, 404 of
//! unknown routes, 405, 408 time-out, 413 body too large) the same shape.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, OriginalUri, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub enum AppError {
    /// 400: the request is wrong; the message says how.
    BadRequest(String, String),
    /// 403: the role may not see this.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 409: a state conflict (illegal transition…).
    Conflict(String, String),
    /// Any other client-error status with its stable code (405, 408, 413,
    /// 415, 422…).
    Status(StatusCode, String, String),
    /// 500: logged with detail, answered without.
    Internal(String),
}

impl AppError {
    /// 400 with a stable code.
    pub fn bad(code: &str, msg: impl Into<String>) -> Self {
        AppError::BadRequest(code.to_string(), msg.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            AppError::BadRequest(c, m) => (StatusCode::BAD_REQUEST, c, m),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden".into(), m),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found".into(), m),
            AppError::Conflict(c, m) => (StatusCode::CONFLICT, c, m),
            AppError::Status(s, c, m) => (s, c, m),
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal".into(),
                    "internal error; see the server log".into(),
                )
            }
        };
        (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response()
    }
}

impl From<geo_core::store::StoreError> for AppError {
    fn from(e: geo_core::store::StoreError) -> Self {
        use geo_core::store::StoreError as S;
        match e {
            S::NotFound { .. } => AppError::NotFound(e.to_string()),
            S::Duplicate { .. } | S::MissingReference { .. } => {
                AppError::Conflict("conflict".into(), e.to_string())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Result alias of handlers.
pub type AppResult<T> = Result<T, AppError>;

/// What [`json_errors`] needs to word its messages.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// Largest request body accepted, bytes.
    pub body_limit: usize,
    /// Request time-out.
    pub timeout: Duration,
}

/// Turns the plain-text (or empty) error answers of the framework into
/// [`AppError`]'s JSON shape; JSON answers pass through untouched.
///
/// | status | code |
/// |---|---|
/// | 400 body not JSON (syntax, nesting deeper than 128) | `bad_json` |
/// | 400 query string | `bad_query` |
/// | 400 path parameter | `bad_path` |
/// | 404 | `not_found` |
/// | 405 | `method_not_allowed` |
/// | 408 | `timeout` |
/// | 413 | `body_too_large` |
/// | 415 | `unsupported_media_type` |
/// | 422 body of the wrong shape | `bad_body` |
/// | other 4xx | `bad_request` |
/// | 5xx | `internal` |
pub async fn json_errors(State(limits): State<EdgeLimits>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // Inside a nested router the URI lost its prefix; the original did not.
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map_or(req.uri(), |o| &o.0)
        .path()
        .to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, message) = classify(status, &text, &method, &path, limits);
    if status.is_server_error() {
        tracing::error!(%status, %method, %path, detail = %text, "error answer");
    }
    let body = json!({"error": {"code": code, "message": message}}).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// Stable code and message of a framework error answer.
fn classify(
    status: StatusCode,
    text: &str,
    method: &axum::http::Method,
    path: &str,
    limits: EdgeLimits,
) -> (&'static str, String) {
    // axum's rejections start with a fixed sentence, then the detail.
    let after = |prefix: &str| {
        text.strip_prefix(prefix)
            .map(|r| r.trim_start_matches([':', ' ']))
    };
    match status {
        StatusCode::BAD_REQUEST => {
            if let Some(d) = after("Failed to parse the request body as JSON") {
                ("bad_json", bad_json_message(d))
            } else if let Some(d) = after("Failed to deserialize query string") {
                ("bad_query", format!("bad query string of {path}: {d}"))
            } else if let Some(d) = after("Invalid URL") {
                ("bad_path", format!("bad path parameter in {path}: {d}"))
            } else {
                ("bad_request", or_default(text, "bad request"))
            }
        }
        StatusCode::NOT_FOUND => ("not_found", format!("no route {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!("method {method} is not allowed on {path}"),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            format!(
                "{method} {path} took longer than the request time-out of {:.1} s and was cancelled",
                limits.timeout.as_secs_f64()
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body_too_large",
            format!(
                "the request body is larger than the limit of {} bytes",
                limits.body_limit
            ),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            or_default(text, "unsupported content type"),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            let d = after("Failed to deserialize the JSON body into the target type").unwrap_or(text);
            ("bad_body", format!("the request body has the wrong shape: {d}"))
        }
        s if s.is_server_error() => ("internal", "internal error; see the server log".into()),
        _ => ("bad_request", or_default(text, "bad request")),
    }
}

/// The message of a `bad_json` answer; `detail` is serde_json's.
fn bad_json_message(detail: &str) -> String {
    let hint = if detail.contains("recursion limit") {
        " (nested deeper than 128 levels)"
    } else {
        ""
    };
    format!("the request body is not valid JSON{hint}: {detail}")
}

/// A JSON request body read into `T`. Unlike `axum::Json` the body is first
/// parsed as a whole, so nesting deeper than 128 levels is refused
/// (`bad_json`, 400) wherever it sits — also in a member `T` does not know,
/// which a typed parse would skip — and then read into `T` (`bad_body`,
/// 422, naming the field). A missing content type is `unsupported_media_type`
/// (415); a body over the limit is the framework's 413, worded by
/// [`json_errors`].
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        if !json_type {
            return Err(AppError::Status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type".into(),
                "expected a request with Content-Type: application/json".into(),
            )
            .into_response());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            AppError::bad("bad_json", bad_json_message(&e.to_string())).into_response()
        })?;
        serde_json::from_value(value).map(JsonBody).map_err(|e| {
            AppError::Status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_body".into(),
                format!("the request body has the wrong shape: {e}"),
            )
            .into_response()
        })
    }
}

fn or_default(text: &str, default: &str) -> String {
    if text.is_empty() {
        default.to_string()
    } else {
        text.chars().take(1000).collect()
    }
}
