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

/// Declares [`ErrorCode`] with its wire names and the list of all codes.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $v:ident => $s:literal,)*) => {
        /// The stable code of every error answer (`{"error": {"code", ..}}`).
        /// `docs/api.md` lists each one; `tests/error_codes.rs` checks it
        /// against [`ErrorCode::ALL`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $v,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$v,)*];

            /// The code as answered.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$v => $s,)*
                }
            }
        }
    };
}

error_codes! {
        /// 400: a request the server cannot read (no more precise code)
        BadRequest => "bad_request",
        /// An account with a bad name, role, grid or department.
        BadAccount => "bad_account",
        /// 400: `national_id=` is not a valid ID number, or not on persons.
        BadNationalId => "bad_national_id",
        /// A new account's name is taken.
        AccountExists => "account_exists",
        /// Disabling the last enabled leader.
        LastLeader => "last_leader",
        /// 400: the body is not JSON (syntax, nesting deeper than 128)
        BadJson => "bad_json",
        /// 400: the query string (or `q=` of search) cannot be read
        BadQuery => "bad_query",
        /// 400: a path parameter cannot be read
        BadPath => "bad_path",
        /// 422 (or 400): the body has the wrong shape
        BadBody => "bad_body",
        /// 400: actor label empty or too long
        BadActor => "bad_actor",
        /// 400: `bbox=` is not w,s,e,n
        BadBbox => "bad_bbox",
        /// 400: unknown category
        BadCategory => "bad_category",
        /// 400: unknown community
        BadCommunity => "bad_community",
        /// 400: unknown coordinate system
        BadCrs => "bad_crs",
        /// 400: unknown `format=`
        BadFormat => "bad_format",
        /// 400: a CQL2 `filter` (or `filter-lang`) of `/ogc` items that
        /// cannot be read, names a property that is not queryable, compares
        /// values of different types or uses an operator not offered
        BadFilter => "bad_filter",
        /// 400: unknown grade, or a grade outside acceptance
        BadGrade => "bad_grade",
        /// 400: not a grid code
        BadGridCode => "bad_grid_code",
        /// 400: unknown handler, or a handler outside dispatch
        BadHandler => "bad_handler",
        /// 400: not an ID
        BadId => "bad_id",
        /// 400: not a job number
        BadJob => "bad_job",
        /// 400: unknown `kind=`
        BadKind => "bad_kind",
        /// 400: unknown `level=`
        BadLevel => "bad_level",
        /// 400: `limit=` out of range
        BadLimit => "bad_limit",
        /// 400: not a WGS84 position
        BadLocation => "bad_location",
        /// 400: `minutes=` out of range
        BadMinutes => "bad_minutes",
        /// 400: note too long
        BadNote => "bad_note",
        /// 400: re-gridding parameters out of their domain
        BadParam => "bad_param",
        /// 400: not a glyph range
        BadRange => "bad_range",
        /// 400: unknown indicator to rank by
        BadRank => "bad_rank",
        /// 400: H3 resolution out of range
        BadRes => "bad_res",
        /// 400: satisfaction out of 1..=5 or outside the return visit
        BadSatisfaction => "bad_satisfaction",
        /// 400: unknown service kind
        BadService => "bad_service",
        /// 400: unknown event source
        BadSource => "bad_source",
        /// 400: unknown event status
        BadStatus => "bad_status",
        /// 400: no such tile
        BadTile => "bad_tile",
        /// 400: not a date or time (or an empty window)
        BadTime => "bad_time",
        /// 400: empty title
        BadTitle => "bad_title",
        /// 400: not a grid version
        BadVersion => "bad_version",
        /// 400: not a week date
        BadWeek => "bad_week",
        /// 400: `to=merged` on the transition route
        UseMerge => "use_merge",
        /// 400: a visit's `kind` that is not routine, night or follow_up
        BadVisitKind => "bad_visit_kind",
        /// 400: a need of a visit without text or with an unknown category
        BadNeed => "bad_need",
        /// 400: an Open311 `service_code` that is neither ours nor configured
        BadServiceCode => "bad_service_code",
        /// 400: an Open311 `jurisdiction_id` this endpoint does not serve
        BadJurisdiction => "bad_jurisdiction",
        /// 400: an Open311 form field that is unknown, repeated or too long
        BadField => "bad_field",
        /// 400: an Open311 `attribute[...]` the service does not have
        BadAttribute => "bad_attribute",
        /// 400: an Open311 `media_url` that is not an http(s) URL
        BadMediaUrl => "bad_media_url",
        /// 400: an Open311 `address_string` that names no building of the town
        BadAddress => "bad_address",
        /// 401: wrong account or password
        BadCredentials => "bad_credentials",
        /// 401: not signed in
        Unauthenticated => "unauthenticated",
        /// 403: the role may not do this
        Forbidden => "forbidden",
        /// 403: missing or wrong CSRF token
        Csrf => "csrf",
        /// 404: no such thing (or not in the caller's scope)
        NotFound => "not_found",
        /// 405
        MethodNotAllowed => "method_not_allowed",
        /// 408: the request took longer than the time-out
        Timeout => "timeout",
        /// 409: a duplicate or a missing reference in the store
        Conflict => "conflict",
        /// 409: the state machine refused the move
        IllegalTransition => "illegal_transition",
        /// 409: too late to reopen
        ReopenWindowPassed => "reopen_window_passed",
        /// 409: a move dated before the report
        BeforeReport => "before_report",
        /// 409: closing a need that is closed
        NeedClosed => "need_closed",
        /// 409: the merge was refused
        MergeRefused => "merge_refused",
        /// 409: no level above the handler
        EscalationRefused => "escalation_refused",
        /// 409: too many re-gridding jobs running
        Busy => "busy",
        /// 503: the server is at a capacity limit (connections, event
        /// streams, writes or reads waiting for the store); try again after
        /// `Retry-After`
        Overloaded => "overloaded",
        /// 409: the re-gridding job is not done
        NotDone => "not_done",
        /// 409: the re-gridding job ended already (cancel)
        NotRunning => "not_running",
        /// 409: the proposal was adopted already
        AlreadyAdopted => "already_adopted",
        /// 409: the grids changed since the job started
        StaleProposal => "stale_proposal",
        /// 409: the proposal cannot be applied
        InvalidProposal => "invalid_proposal",
        /// 421: the host is not on the allow-list
        BadHost => "bad_host",
        /// 413: the body is over the limit
        BodyTooLarge => "body_too_large",
        /// 415: not a JSON request
        UnsupportedMediaType => "unsupported_media_type",
        /// 415: a photo that is not JPEG or PNG (HEIC included)
        UnsupportedPhoto => "unsupported_photo",
        /// 413: a photo over the photo size cap
        PhotoTooLarge => "photo_too_large",
        /// 400: a JPEG or PNG that cannot be decoded, or too many pixels
        BadPhoto => "bad_photo",
        /// 429: log-in locked after failures
        Locked => "locked",
        /// 422: an uploaded file was refused (problems listed); nothing stored
        ImportRefused => "import_refused",
        /// 500: logged with detail, answered without
        Internal => "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug, Clone)]
pub enum AppError {
    /// 400: the request is wrong; the message says how.
    BadRequest(ErrorCode, String),
    /// 403: the role may not see this.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 409: a state conflict (illegal transition…).
    Conflict(ErrorCode, String),
    /// Any other client-error status with its stable code (405, 408, 413,
    /// 415, 422…).
    Status(StatusCode, ErrorCode, String),
    /// 500: logged with detail, answered without.
    Internal(String),
}

impl AppError {
    /// 400 with a stable code.
    pub fn bad(code: ErrorCode, msg: impl Into<String>) -> Self {
        AppError::BadRequest(code, msg.into())
    }

    /// The message (as logged; a 500's is never answered).
    pub fn message(&self) -> &str {
        match self {
            AppError::BadRequest(_, m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::Conflict(_, m)
            | AppError::Status(_, _, m)
            | AppError::Internal(m) => m,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            AppError::BadRequest(c, m) => (StatusCode::BAD_REQUEST, c, m),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden, m),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, ErrorCode::NotFound, m),
            AppError::Conflict(c, m) => (StatusCode::CONFLICT, c, m),
            AppError::Status(s, c, m) => (s, c, m),
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "internal error; see the server log".into(),
                )
            }
        };
        let mut resp =
            (status, Json(crate::answers::ErrorBody::new(code, message))).into_response();
        if code == ErrorCode::Overloaded {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<geo_core::store::StoreError> for AppError {
    fn from(e: geo_core::store::StoreError) -> Self {
        use geo_core::store::StoreError as S;
        match e {
            S::NotFound { .. } => AppError::NotFound(e.to_string()),
            S::Duplicate { .. } | S::MissingReference { .. } => {
                AppError::Conflict(ErrorCode::Conflict, e.to_string())
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
    /// Largest request body accepted (photo uploads), bytes.
    pub body_limit: usize,
    /// Largest JSON body of the other routes, bytes.
    pub json_limit: usize,
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
    let body = serde_json::to_string(&crate::answers::ErrorBody::new(code, message))
        .unwrap_or_else(|_| unreachable!("a code and a string serialise"));
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
) -> (ErrorCode, String) {
    // axum's rejections start with a fixed sentence, then the detail.
    let after = |prefix: &str| {
        text.strip_prefix(prefix)
            .map(|r| r.trim_start_matches([':', ' ']))
    };
    match status {
        StatusCode::BAD_REQUEST => {
            if let Some(d) = after("Failed to parse the request body as JSON") {
                (ErrorCode::BadJson, bad_json_message(d))
            } else if let Some(d) = after("Failed to deserialize query string") {
                (ErrorCode::BadQuery, format!("bad query string of {path}: {d}"))
            } else if let Some(d) = after("Invalid URL") {
                (ErrorCode::BadPath, format!("bad path parameter in {path}: {d}"))
            } else {
                (ErrorCode::BadRequest, or_default(text, "bad request"))
            }
        }
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, format!("no route {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            format!("method {method} is not allowed on {path}"),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::Timeout,
            format!(
                "{method} {path} took longer than the request time-out of {:.1} s and was cancelled",
                limits.timeout.as_secs_f64()
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::BodyTooLarge,
            format!(
                "the request body is larger than the limit of {} bytes of {method} {path}",
                if path.ends_with("/photos") {
                    limits.body_limit
                } else {
                    limits.json_limit
                }
            ),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            or_default(text, "unsupported content type"),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            let d = after("Failed to deserialize the JSON body into the target type").unwrap_or(text);
            (ErrorCode::BadBody, format!("the request body has the wrong shape: {d}"))
        }
        s if s.is_server_error() => (ErrorCode::Internal, "internal error; see the server log".into()),
        _ => (ErrorCode::BadRequest, or_default(text, "bad request")),
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
                ErrorCode::UnsupportedMediaType,
                "expected a request with Content-Type: application/json".into(),
            )
            .into_response());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            AppError::bad(ErrorCode::BadJson, bad_json_message(&e.to_string())).into_response()
        })?;
        serde_json::from_value(value).map(JsonBody).map_err(|e| {
            AppError::Status(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::BadBody,
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
