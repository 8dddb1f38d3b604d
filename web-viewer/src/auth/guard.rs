//! The middleware every request passes: host allow-list, who is asking,
//! the access matrix, CSRF and JSON bodies for changes, private caching.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use geo_core::ids::GridCode;
use geo_core::store::TokenRow;

use super::matrix::{self, Who};
use super::secret::{parse_kiosk_token, parse_open311_key, same, sha256_hex};
use super::session::session_cookie;
use super::AuthMode;
use crate::error::{AppError, ErrorCode};
use crate::role::{Access, Identity, Role, Via};
use crate::state::AppState;

/// Header of the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Header with which the proxy proves itself.
pub const PROXY_SECRET_HEADER: &str = "x-wangge-proxy-secret";
const PROXY_HEADERS: [&str; 4] = [
    "x-wangge-role",
    "x-wangge-grids",
    "x-wangge-department",
    "x-wangge-user",
];

/// Kiosk tokens by public ID (loaded from the store at start; tokens are
/// added and revoked with `wangge token`, which needs the store file).
#[derive(Debug, Default)]
pub struct KioskTokens(pub RwLock<HashMap<String, TokenRow>>);

impl KioskTokens {
    /// The identity of a kiosk token, if it is known, unrevoked and right.
    pub fn identify(&self, token: &str) -> Option<(Identity, Vec<String>)> {
        let (id, secret) = parse_kiosk_token(token)?;
        let map = self.0.read().ok()?;
        let row = map.get(id)?;
        if row.revoked_at.is_some() || !same(&sha256_hex(secret), &row.secret_sha256) {
            return None;
        }
        let role = Role::from_name(&row.role).filter(|r| *r == Role::Screen)?;
        Some((
            Identity {
                account: Some(format!("kiosk:{id}")),
                display_name: row.label.clone(),
                role,
                grid_codes: Vec::new(),
                department: None,
                via: Via::Kiosk,
            },
            row.origins.clone(),
        ))
    }
}

/// Role column of an Open311 API key's row: `open311:<event source>`.
pub const OPEN311_ROLE_PREFIX: &str = "open311:";

/// Who posted through Open311: the API key's public ID, its label and the
/// event source it files as (hotline, resident, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Client {
    /// Public ID of the key.
    pub key_id: String,
    /// What the key is for (the 12345 platform, an app).
    pub label: String,
    /// Source of the events it files.
    pub source: geo_core::model::EventSource,
}

/// A form post of an Open311 client as the guard read it: the client its
/// `api_key` names and the form's pairs (the handler reads them from here;
/// the body was consumed).
#[derive(Debug, Clone)]
pub struct Open311Post {
    /// Who posted.
    pub client: Open311Client,
    /// The form's `(name, value)` pairs, in order.
    pub fields: Vec<(String, String)>,
}

impl KioskTokens {
    /// The client of an Open311 API key, if it is known, unrevoked and right.
    pub fn identify_open311(&self, key: &str) -> Option<Open311Client> {
        let (id, secret) = parse_open311_key(key)?;
        let map = self.0.read().ok()?;
        let row = map.get(id)?;
        if row.revoked_at.is_some() || !same(&sha256_hex(secret), &row.secret_sha256) {
            return None;
        }
        let source = row.role.strip_prefix(OPEN311_ROLE_PREFIX)?;
        let source = geo_core::model::EventSource::parse(source).ok()?;
        Some(Open311Client {
            key_id: id.to_string(),
            label: row.label.clone(),
            source,
        })
    }
}

fn text<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The caller's address: the peer, or the first `X-Forwarded-For` hop when
/// the peer is a trusted proxy. Loopback when unknown (tests with no socket).
pub fn client_addr(st: &AppState, req: &Request) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if st.0.config.auth.trusted_proxies.contains(&peer) {
        if let Some(ip) = text(req.headers(), "x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer
}

fn host_allowed(st: &AppState, h: &HeaderMap) -> Result<(), AppError> {
    let Some(host) = text(h, "host") else {
        return Ok(());
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    }
    .to_ascii_lowercase();
    let cfg = &st.0.config;
    let ok = if cfg.auth.allowed_hosts.is_empty() {
        let ip = cfg.addr.ip();
        // Listening on every address: the names it is reached by are not
        // known here (use --allow-host to restrict them).
        ip.is_unspecified()
            || name == "localhost"
            || name
                .parse::<IpAddr>()
                .is_ok_and(|a| a.is_loopback() || a == ip)
    } else {
        cfg.auth
            .allowed_hosts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&name))
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::Status(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::BadHost,
            format!("host {name:?} is not served here (allow it with --allow-host)"),
        ))
    }
}

fn unauthenticated(msg: impl Into<String>) -> AppError {
    AppError::Status(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
        msg.into(),
    )
}

/// Who is asking, from the request's credentials, with the CSRF token of
/// the session when a session cookie vouched.
fn identify(st: &AppState, req: &Request) -> Result<(Identity, Option<String>), AppError> {
    let h = req.headers();
    let auth = &st.0.auth;
    let kiosk = |t: &str| {
        auth.kiosk
            .identify(t)
            .map(|(i, _)| (i, None))
            .ok_or_else(|| unauthenticated("unknown or revoked kiosk token"))
    };
    if PROXY_HEADERS.iter().any(|n| h.contains_key(*n)) {
        let AuthMode::Proxy { secret } = &st.0.config.auth.mode else {
            return Err(unauthenticated(
                "X-Wangge-Role and its companions are honoured only from the authenticating \
                 proxy (wangge serve --auth proxy); log in instead",
            ));
        };
        if !text(h, PROXY_SECRET_HEADER).is_some_and(|s| same(s, secret)) {
            return Err(unauthenticated(
                "the proxy's headers came without the proxy's shared secret",
            ));
        }
        let role = text(h, "x-wangge-role").unwrap_or("");
        let role = Role::from_name(role)
            .ok_or_else(|| unauthenticated(format!("proxy role {role:?} is not a role")))?;
        let grid_codes = text(h, "x-wangge-grids")
            .map(|s| {
                s.split(',')
                    .filter_map(|c| GridCode::parse(c).ok())
                    .collect()
            })
            .unwrap_or_default();
        let user = text(h, "x-wangge-user").unwrap_or(role.name()).to_string();
        let identity = Identity {
            display_name: user.clone(),
            account: (role != Role::Public).then_some(user),
            role,
            grid_codes,
            department: text(h, "x-wangge-department").map(str::to_string),
            via: Via::Proxy,
        };
        return Ok((identity, None));
    }
    if let Some(bearer) = text(h, "authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        let bearer = bearer.trim();
        if bearer.starts_with(super::secret::KIOSK_PREFIX) {
            return kiosk(bearer);
        }
        let Some(v) = &st.0.config.auth.jwt else {
            return Err(unauthenticated(
                "bearer token not accepted: no OIDC issuer is configured (wangge serve --oidc FILE)",
            ));
        };
        let j = v
            .verify(bearer)
            .map_err(|e| unauthenticated(format!("bearer token refused: {e}")))?;
        let identity = Identity {
            display_name: j.display_name.unwrap_or_else(|| j.subject.clone()),
            account: Some(format!("oidc:{}", j.subject)),
            role: j.role,
            grid_codes: j.grid_codes,
            department: j.department,
            via: Via::Jwt,
        };
        return Ok((identity, None));
    }
    if req.method() == Method::GET && matches!(req.uri().path(), "/embed" | "/screen") {
        if let Some(t) = query_token(req) {
            return kiosk(&t);
        }
    }
    match session_cookie(h).and_then(|id| auth.sessions.get(id)) {
        Some(s) => Ok((s.identity, Some(s.csrf))),
        None => Ok((Identity::anonymous(), None)),
    }
}

/// The `token` query parameter of a page request.
pub fn query_token(req: &Request) -> Option<String> {
    req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v.to_string())
    })
}

/// The middleware. See the module doc.
pub async fn guard(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Err(e) = host_allowed(&st, req.headers()) {
        return e.into_response();
    }
    let (identity, csrf) = match identify(&st, &req) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let row = matrix::lookup(method.as_str(), &path);
    if row.is_some_and(|r| r.who == Who::ApiKey) {
        return match api_key_post(&st, identity, req).await {
            Ok(req) => next.run(req).await,
            Err(e) => e.into_response(),
        };
    }
    if let Some(row) = row {
        if let Who::Roles(roles) = row.who {
            if identity.via == Via::Anonymous {
                if row.page {
                    let next_q = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default();
                    let loc = format!("/login?next={}", encode(&next_q));
                    return (StatusCode::SEE_OTHER, [(header::LOCATION, loc)]).into_response();
                }
                return unauthenticated("log in first (POST /api/v1/session) or send a token")
                    .into_response();
            }
            if !roles.contains(&identity.role) {
                return AppError::Forbidden(format!(
                    "role {} may not {} {}",
                    identity.role.name(),
                    method,
                    row.path
                ))
                .into_response();
            }
        }
    }
    if row.is_some() && !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let json = text(req.headers(), "content-type")
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"));
        // A file upload (a photo) carries its own type, checked by its handler.
        let raw = row.is_some_and(|r| r.raw_body);
        if !json && !raw {
            return AppError::Status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                format!("{method} {path} takes a JSON body (Content-Type: application/json)"),
            )
            .into_response();
        }
        match identity.via {
            Via::Session => {
                let sent = text(req.headers(), CSRF_HEADER).unwrap_or("");
                let ok = csrf.as_deref().is_some_and(|c| same(c, sent));
                if !ok {
                    return AppError::Status(
                        StatusCode::FORBIDDEN,
                        ErrorCode::Csrf,
                        format!("{method} {path} needs the session's X-CSRF-Token (GET /api/v1/session)"),
                    )
                    .into_response();
                }
            }
            Via::Kiosk => {
                return AppError::Forbidden("kiosk tokens are read-only".into()).into_response()
            }
            _ => {}
        }
    }
    let signed_in = identity.via != Via::Anonymous;
    // Header values are ASCII: a reason in Chinese comes percent-encoded.
    let reveal = text(req.headers(), "x-wangge-reveal-reason").map(percent_decode);
    req.extensions_mut().insert(Access::of(identity, reveal));
    let mut resp = next.run(req).await;
    if signed_in {
        let h = resp.headers_mut();
        let public = h
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.replace("public", "private"));
        match public {
            Some(v) => {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(header::CACHE_CONTROL, v);
                }
            }
            None => {
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                );
            }
        }
        h.append(
            header::VARY,
            HeaderValue::from_static("Cookie, Authorization"),
        );
    }
    resp
}

/// A write of an Open311 client (a row of [`Who::ApiKey`]): a form
/// (`application/x-www-form-urlencoded`) carrying the client's `api_key`,
/// and no other credential — a session cookie, a bearer token or proxy
/// headers are refused, so a browser's cookie never authorises such a post
/// (no CSRF through it) and nothing weaker than the key does. The form is
/// read here (up to the JSON body limit) and handed on as [`Open311Post`].
async fn api_key_post(
    st: &AppState,
    identity: Identity,
    req: Request,
) -> Result<Request, AppError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if identity.via != Via::Anonymous || session_cookie(req.headers()).is_some() {
        return Err(AppError::Forbidden(format!(
            "{method} {path} is authorised by an Open311 api_key in the form only, never by a              session cookie or a token"
        )));
    }
    let form = text(req.headers(), "content-type").is_some_and(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !form {
        return Err(AppError::Status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!(
                "{method} {path} takes a form (Content-Type: application/x-www-form-urlencoded)"
            ),
        ));
    }
    let (mut parts, body) = req.into_parts();
    let limit = st.0.config.json_body_limit;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        AppError::Status(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("{method} {path}: the form is larger than {limit} bytes"),
        )
    })?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
        AppError::bad(
            ErrorCode::BadRequest,
            format!("the form cannot be read: {e}"),
        )
    })?;
    let keys: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "api_key")
        .map(|(_, v)| v.as_str())
        .collect();
    let key = match keys.as_slice() {
        [] => {
            return Err(unauthenticated(format!(
                "{method} {path} needs api_key (wangge token add --role open311 --source hotline)"
            )))
        }
        [k] => k.trim(),
        _ => return Err(unauthenticated("api_key is repeated")),
    };
    let client =
        st.0.auth
            .kiosk
            .identify_open311(key)
            .ok_or_else(|| unauthenticated("unknown or revoked api_key"))?;
    let identity = Identity {
        account: Some(format!("open311:{}", client.key_id)),
        display_name: client.label.clone(),
        role: Role::Public,
        grid_codes: Vec::new(),
        department: None,
        via: Via::ApiKey,
    };
    parts.extensions.insert(Access::of(identity, None));
    parts.extensions.insert(Open311Post { client, fields });
    Ok(Request::from_parts(parts, axum::body::Body::empty()))
}

/// Decodes `%XX` escapes (UTF-8); anything malformed is kept as it is.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
