//! `/api/v1/session`: log in, who am I, log out; kiosk tokens to sessions.

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use geo_core::ids::GridCode;
use serde::{Deserialize, Serialize};

use super::limiter::Refusal;
use super::password::{decoy_hash, verify_password};
use super::session::{clear_cookie, session_cookie, set_cookie};
use crate::error::{AppError, AppResult, ErrorCode, JsonBody};
use crate::role::{Access, Identity, Role, Via};
use crate::state::AppState;

/// Body of `POST /api/v1/session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Log-in name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// Body of `POST /api/v1/session/kiosk`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskLogin {
    /// The kiosk token (`wgk_…`).
    pub token: String,
}

/// Who is signed in: the answer of the session routes.
#[derive(Debug, Serialize)]
pub struct Me {
    /// Log-in name (or `kiosk:<id>`).
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: &'static str,
    /// Grids of a worker.
    pub grids: Vec<String>,
    /// Department of a department user.
    pub department: Option<String>,
    /// Send as `X-CSRF-Token` with every change (session callers only).
    pub csrf: Option<String>,
}

fn me(i: &Identity, csrf: Option<String>) -> Me {
    Me {
        name: i.account.clone().unwrap_or_default(),
        display_name: i.display_name.clone(),
        role: i.role.name(),
        grids: i
            .grid_codes
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        department: i.department.clone(),
        csrf,
    }
}

fn started(st: &AppState, old: Option<&str>, identity: Identity) -> Response {
    if let Some(old) = old {
        st.0.auth.sessions.end(old);
    }
    let body = me(&identity, None);
    let (id, csrf) = st.0.auth.sessions.start(identity);
    let cookie = set_cookie(&id, st.0.config.auth.secure_cookies);
    (
        [(header::SET_COOKIE, cookie)],
        Json(Me {
            csrf: Some(csrf),
            ..body
        }),
    )
        .into_response()
}

fn old_cookie(h: &HeaderMap) -> Option<String> {
    session_cookie(h).map(str::to_string)
}

/// `POST /api/v1/session`: checks the password (Argon2id, on a blocking
/// thread), refuses locked accounts and addresses, audits the outcome and
/// starts a new session (a session ID the client brought is ended, never
/// promoted).
pub async fn login(State(st): State<AppState>, req: Request) -> Response {
    let addr = super::guard::client_addr(&st, &req);
    let old = old_cookie(req.headers());
    let body = match JsonBody::<Login>::from_request(req, &st).await {
        Ok(JsonBody(b)) => b,
        Err(r) => return r,
    };
    let name = body.name.trim().to_ascii_lowercase();
    let auth = &st.0.auth;
    if let Err(r) = auth.limiter.check(&name, addr) {
        let (why, left) = match r {
            Refusal::AccountLocked(d) => ("account", d),
            Refusal::AddressLocked(d) => ("address", d),
        };
        let detail = format!("name={name} addr={addr} locked={why}");
        let _ = st
            .with_store(move |s| Ok(s.audit("public", "login_refused", &detail)?))
            .await;
        let secs = left.as_secs().max(1);
        return (
            [(header::RETRY_AFTER, secs.to_string())],
            AppError::Status(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::Locked,
                format!("too many failed log-ins for this {why}; try again in {secs} s"),
            ),
        )
            .into_response();
    }
    let lookup = name.clone();
    let found = st
        .with_store(move |s| Ok(s.account(&lookup)?))
        .await
        .ok()
        .flatten();
    let password = body.password;
    let candidate = found.clone();
    let ok = tokio::task::spawn_blocking(move || match &candidate {
        Some(a) => verify_password(&password, &a.password_hash) && !a.disabled,
        None => {
            // Same work as for a real account: no timing oracle of names.
            let _ = verify_password(&password, decoy_hash());
            false
        }
    })
    .await
    .unwrap_or(false);
    let account = found.filter(|_| ok);
    let Some(a) = account else {
        let locked = auth.limiter.failed(&name, addr);
        let detail = format!(
            "name={name} addr={addr}{}",
            if locked { " locked" } else { "" }
        );
        let _ = st
            .with_store(move |s| Ok(s.audit("public", "login_failed", &detail)?))
            .await;
        return AppError::Status(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
            "wrong name or password, or the account is disabled".into(),
        )
        .into_response();
    };
    auth.limiter.succeeded(&name);
    let identity = Identity::account(
        &a.name,
        &a.display_name,
        Role::parse(&a.role),
        a.grids
            .iter()
            .filter_map(|g| GridCode::parse(g).ok())
            .collect(),
        a.department.clone(),
    );
    let detail = format!("addr={addr} role={}", a.role);
    let actor = identity.actor();
    let _ = st
        .with_store(move |s| Ok(s.audit(&actor, "login", &detail)?))
        .await;
    started(&st, old.as_deref(), identity)
}

/// `POST /api/v1/session/kiosk`: a read-only screen session for a kiosk
/// token (for walls that cannot send headers).
pub async fn kiosk(State(st): State<AppState>, req: Request) -> Response {
    let old = old_cookie(req.headers());
    let body = match JsonBody::<KioskLogin>::from_request(req, &st).await {
        Ok(JsonBody(b)) => b,
        Err(r) => return r,
    };
    match st.0.auth.kiosk.identify(body.token.trim()) {
        Some((identity, _)) => {
            let actor = identity.actor();
            let _ = st
                .with_store(move |s| Ok(s.audit(&actor, "login", "kiosk")?))
                .await;
            started(&st, old.as_deref(), identity)
        }
        None => AppError::Status(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
            "unknown or revoked kiosk token".into(),
        )
        .into_response(),
    }
}

/// `GET /api/v1/session`: who is signed in, with the session's CSRF token.
pub async fn whoami(
    State(st): State<AppState>,
    headers: HeaderMap,
    access: Access,
) -> AppResult<Json<Me>> {
    if access.identity.via == Via::Anonymous {
        return Err(AppError::Status(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "not signed in".into(),
        ));
    }
    let csrf = old_cookie(&headers)
        .and_then(|id| st.0.auth.sessions.get(&id))
        .map(|s| s.csrf);
    Ok(Json(me(&access.identity, csrf)))
}

/// `DELETE /api/v1/session`: ends the session and clears the cookie.
pub async fn logout(State(st): State<AppState>, headers: HeaderMap, access: Access) -> Response {
    if let Some(id) = old_cookie(&headers) {
        st.0.auth.sessions.end(&id);
    }
    if access.identity.via == Via::Session {
        let actor = access.actor();
        let _ = st
            .with_store(move |s| Ok(s.audit(&actor, "logout", "")?))
            .await;
    }
    (
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            clear_cookie(st.0.config.auth.secure_cookies),
        )],
    )
        .into_response()
}
