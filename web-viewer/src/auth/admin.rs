//! Account and kiosk-token administration while the server runs (leaders
//! only). The store is held open by `wangge serve`, so `wangge user` and
//! `wangge token` cannot change it then; these routes can, and they act at
//! once: disabling an account, resetting its password or revoking a kiosk
//! token ends every live session that came from it. New and reset passwords
//! are random, answered once, and never stored or logged in the clear.
//! Every change is written to the audit log with the leader's account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::password::{hash_password, random_password, AccountSpec};
use crate::error::{AppError, AppResult, ErrorCode, JsonBody};
use crate::role::{Access, Role};
use crate::state::AppState;

/// An account as the admin page lists it (no password hash).
#[derive(Debug, Serialize)]
pub struct AccountView {
    /// Log-in name.
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// Role name.
    pub role: String,
    /// Grid codes of a worker.
    pub grids: Vec<String>,
    /// Department of a department user.
    pub department: Option<String>,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// A kiosk token as the admin page lists it (never its secret).
#[derive(Debug, Serialize)]
pub struct TokenView {
    /// Public ID.
    pub id: String,
    /// What it is for.
    pub label: String,
    /// Origins allowed to frame `/embed`.
    pub origins: Vec<String>,
    /// Revoked (RFC 3339), if so.
    pub revoked_at: Option<String>,
}

/// `GET /api/v1/accounts`.
#[derive(Debug, Serialize)]
pub struct Accounts {
    /// Every account, by name.
    pub accounts: Vec<AccountView>,
    /// Every kiosk token.
    pub tokens: Vec<TokenView>,
}

/// The answer to a change; `password` only when one was made (shown once).
#[derive(Debug, Serialize)]
pub struct Changed {
    /// The account after the change.
    pub account: AccountView,
    /// A new random password, to hand over in person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn time(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .unwrap_or_default()
        .to_rfc3339()
}

fn view(a: geo_core::store::AccountRow) -> AccountView {
    AccountView {
        name: a.name,
        display_name: a.display_name,
        role: a.role,
        grids: a.grids,
        department: a.department,
        disabled: a.disabled,
        updated_at: time(a.updated_at),
    }
}

fn leader_only(access: &Access) -> AppResult<()> {
    if access.role == Role::Leader {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only a leader administers accounts".into(),
        ))
    }
}

/// `GET /api/v1/accounts`: accounts and kiosk tokens.
pub async fn list(State(st): State<AppState>, access: Access) -> AppResult<Json<Accounts>> {
    leader_only(&access)?;
    st.with_store(|s| {
        Ok(Json(Accounts {
            accounts: s.accounts()?.into_iter().map(view).collect(),
            tokens: s
                .tokens()?
                .into_iter()
                .map(|t| TokenView {
                    id: t.id,
                    label: t.label,
                    origins: t.origins,
                    revoked_at: t.revoked_at.map(time),
                })
                .collect(),
        }))
    })
    .await
}

/// Body of `POST /api/v1/accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Log-in name (lower-case letters, digits, `._-`).
    pub name: String,
    /// Shown name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Role name.
    pub role: String,
    /// Grid codes of a worker.
    #[serde(default)]
    pub grids: Vec<String>,
    /// Department of a department user.
    #[serde(default)]
    pub department: Option<String>,
}

/// `POST /api/v1/accounts`: adds an account with a random password,
/// answered once (201).
pub async fn add(
    State(st): State<AppState>,
    access: Access,
    JsonBody(b): JsonBody<NewAccount>,
) -> AppResult<(StatusCode, Json<Changed>)> {
    leader_only(&access)?;
    let spec = AccountSpec::new(
        &b.name,
        b.display_name.as_deref(),
        &b.role,
        &b.grids,
        b.department.as_deref(),
    )
    .map_err(|e| AppError::bad(ErrorCode::BadAccount, e.to_string()))?;
    {
        let view = st.view()?;
        if let Some(g) = spec
            .grids
            .iter()
            .find(|g| !view.grid_by_code.contains_key(g.as_str()))
        {
            return Err(AppError::bad(
                ErrorCode::BadAccount,
                format!("grid {}: no such grid in this town", g.as_str()),
            ));
        }
    }
    let actor = access.actor();
    let now = st.now().timestamp();
    let changed = st
        .with_store(move |s| {
            if s.account(&spec.name)?.is_some() {
                return Err(AppError::Conflict(
                    ErrorCode::AccountExists,
                    format!("account {} exists already", spec.name),
                ));
            }
            let password = random_password();
            let row = spec
                .into_row(&password, now)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            s.add_account(&row)?;
            s.audit(
                &actor,
                "account_add",
                &format!("{} role={}", row.name, row.role),
            )?;
            Ok(Changed {
                account: view(row),
                password: Some(password),
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(changed)))
}

/// What `POST /api/v1/accounts/{name}/{action}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Disable,
    Enable,
    Password,
}

/// `POST /api/v1/accounts/{name}/{action}` with `action` one of `disable`,
/// `enable`, `password` (a new random password, answered once). Disabling
/// and resetting end the account's live sessions at once. The last enabled
/// leader cannot be disabled (nobody could administer the town).
pub async fn change(
    State(st): State<AppState>,
    access: Access,
    Path((name, action)): Path<(String, String)>,
    JsonBody(_): JsonBody<Value>,
) -> AppResult<Json<Changed>> {
    leader_only(&access)?;
    let act = match action.as_str() {
        "disable" => Action::Disable,
        "enable" => Action::Enable,
        "password" => Action::Password,
        other => {
            return Err(AppError::NotFound(format!(
                "{other}: expected disable, enable or password"
            )))
        }
    };
    let actor = access.actor();
    let now = st.now().timestamp();
    let who = name.clone();
    let changed = st
        .with_store(move |s| {
            let acc = s
                .account(&name)?
                .ok_or_else(|| AppError::NotFound(format!("account {name} not found")))?;
            let mut password = None;
            match act {
                Action::Disable => {
                    let leaders = s
                        .accounts()?
                        .into_iter()
                        .filter(|a| a.role == "leader" && !a.disabled)
                        .count();
                    if acc.role == "leader" && !acc.disabled && leaders <= 1 {
                        return Err(AppError::Conflict(
                            ErrorCode::LastLeader,
                            format!("{name} is the last enabled leader; enable another first"),
                        ));
                    }
                    s.set_account_disabled(&name, true, now)?;
                }
                Action::Enable => s.set_account_disabled(&name, false, now)?,
                Action::Password => {
                    let p = random_password();
                    let hash = hash_password(&p).map_err(|e| AppError::Internal(e.to_string()))?;
                    s.set_password_hash(&name, &hash, now)?;
                    password = Some(p);
                }
            }
            let what = match act {
                Action::Disable => "account_disable",
                Action::Enable => "account_enable",
                Action::Password => "account_passwd",
            };
            s.audit(&actor, what, &name)?;
            let account = s
                .account(&name)?
                .ok_or_else(|| AppError::NotFound(format!("account {name} not found")))?;
            Ok(Changed {
                account: view(account),
                password,
            })
        })
        .await?;
    if act != Action::Enable {
        st.0.auth.sessions.end_all_of(&who);
    }
    Ok(Json(changed))
}

/// `POST /api/v1/tokens/{id}/revoke`: revokes a kiosk token at once; the
/// screens signed in with it are signed out.
pub async fn revoke_token(
    State(st): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    JsonBody(_): JsonBody<Value>,
) -> AppResult<Json<TokenView>> {
    leader_only(&access)?;
    let actor = access.actor();
    let now = st.now().timestamp();
    let tid = id.clone();
    let row = st
        .with_store(move |s| {
            // Unknown and already revoked tokens are both "not found".
            s.revoke_token(&tid, now)?;
            s.audit(&actor, "token_revoke", &tid)?;
            s.token(&tid)?
                .ok_or_else(|| AppError::NotFound(format!("token {tid} not found")))
        })
        .await?;
    if let Ok(mut m) = st.0.auth.kiosk.0.write() {
        m.insert(row.id.clone(), row.clone());
    }
    st.0.auth.sessions.end_all_of(&format!("kiosk:{id}"));
    Ok(Json(TokenView {
        id: row.id,
        label: row.label,
        origins: row.origins,
        revoked_at: row.revoked_at.map(time),
    }))
}
