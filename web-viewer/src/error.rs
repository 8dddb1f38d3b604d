//! The one error type at the HTTP edge: precise for client mistakes, opaque
//! for internal failures (logged, not shown).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
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
