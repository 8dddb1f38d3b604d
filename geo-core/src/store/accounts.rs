//! Accounts, kiosk tokens and server secrets (schema v4).
//!
//! The store keeps what the edge decided: a role name, grid codes and a
//! department as text, a password as an Argon2id PHC string, a token as the
//! SHA-256 of its secret part. Hashing, role parsing and checks live in the
//! `web-viewer` crate, which is the only one that knows about log-in.

use duckdb::{params, OptionalExt};

use super::error::{Ctx, Result, StoreError};
use super::Store;

/// One stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Log-in name (unique).
    pub name: String,
    /// Name shown in the pages and the audit log.
    pub display_name: String,
    /// Role name (`leader`, `planner`, `screen`, `worker`, `department`).
    pub role: String,
    /// Grid codes of a worker (empty for other roles).
    pub grids: Vec<String>,
    /// Department of a department user.
    pub department: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Unix seconds of creation.
    pub created_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// One stored kiosk token (big screens and embeds; read-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Public part of the token (shown in lists and the audit log).
    pub id: String,
    /// Hex SHA-256 of the secret part.
    pub secret_sha256: String,
    /// Role name (`screen`).
    pub role: String,
    /// What the token is for (a wall, a dashboard).
    pub label: String,
    /// Origins allowed to frame `/embed` with it (empty: the server's list).
    pub origins: Vec<String>,
    /// Unix seconds of creation.
    pub created_at: i64,
    /// Unix seconds of revocation, if revoked.
    pub revoked_at: Option<i64>,
}

fn split_list(s: String) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

const ACCOUNT_COLS: &str =
    "name, display_name, role, grids, department, password_hash, disabled, created_at, updated_at";

fn account_of(r: &duckdb::Row<'_>) -> duckdb::Result<AccountRow> {
    Ok(AccountRow {
        name: r.get(0)?,
        display_name: r.get(1)?,
        role: r.get(2)?,
        grids: split_list(r.get(3)?),
        department: r.get(4)?,
        password_hash: r.get(5)?,
        disabled: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

fn token_of(r: &duckdb::Row<'_>) -> duckdb::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        secret_sha256: r.get(1)?,
        role: r.get(2)?,
        label: r.get(3)?,
        origins: split_list(r.get(4)?),
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

impl Store {
    /// Adds an account; refuses a name that exists.
    pub fn add_account(&mut self, a: &AccountRow) -> Result<()> {
        if self.account(&a.name)?.is_some() {
            return Err(StoreError::InvalidChange {
                reason: format!("account {:?} already exists", a.name),
            });
        }
        self.conn
            .execute(
                &format!(
                    "INSERT INTO accounts ({ACCOUNT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                params![
                    a.name,
                    a.display_name,
                    a.role,
                    a.grids.join(","),
                    a.department,
                    a.password_hash,
                    a.disabled,
                    a.created_at,
                    a.updated_at
                ],
            )
            .ctx(format!("adding account {:?}", a.name))?;
        Ok(())
    }

    /// The account of this log-in name.
    pub fn account(&self, name: &str) -> Result<Option<AccountRow>> {
        self.conn
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE name = ?"),
                [name],
                account_of,
            )
            .optional()
            .ctx(format!("reading account {name:?}"))
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<AccountRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ACCOUNT_COLS} FROM accounts ORDER BY name"
            ))
            .ctx("listing accounts")?;
        let rows = stmt.query_map([], account_of).ctx("listing accounts")?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .ctx("listing accounts")
    }

    /// Number of accounts that can log in.
    pub fn active_account_count(&self) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM accounts WHERE NOT disabled",
                [],
                |r| r.get(0),
            )
            .ctx("counting accounts")
    }

    /// Replaces an account's password hash.
    pub fn set_password_hash(&mut self, name: &str, hash: &str, at_s: i64) -> Result<()> {
        let n = self
            .conn
            .execute(
                "UPDATE accounts SET password_hash = ?, updated_at = ? WHERE name = ?",
                params![hash, at_s, name],
            )
            .ctx(format!("changing the password of {name:?}"))?;
        found(n, "account", name)
    }

    /// Disables (or enables again) an account.
    pub fn set_account_disabled(&mut self, name: &str, disabled: bool, at_s: i64) -> Result<()> {
        let n = self
            .conn
            .execute(
                "UPDATE accounts SET disabled = ?, updated_at = ? WHERE name = ?",
                params![disabled, at_s, name],
            )
            .ctx(format!("disabling {name:?}"))?;
        found(n, "account", name)
    }

    /// Adds a kiosk token.
    pub fn add_token(&mut self, t: &TokenRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO kiosk_tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![
                    t.id,
                    t.secret_sha256,
                    t.role,
                    t.label,
                    t.origins.join(","),
                    t.created_at,
                    t.revoked_at
                ],
            )
            .ctx(format!("adding token {}", t.id))?;
        Ok(())
    }

    /// Every kiosk token, revoked ones included, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT * FROM kiosk_tokens ORDER BY created_at, id")
            .ctx("listing tokens")?;
        let rows = stmt.query_map([], token_of).ctx("listing tokens")?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .ctx("listing tokens")
    }

    /// The token with this public ID.
    pub fn token(&self, id: &str) -> Result<Option<TokenRow>> {
        self.conn
            .query_row("SELECT * FROM kiosk_tokens WHERE id = ?", [id], token_of)
            .optional()
            .ctx(format!("reading token {id}"))
    }

    /// Revokes a token (kept, marked revoked).
    pub fn revoke_token(&mut self, id: &str, at_s: i64) -> Result<()> {
        let n = self
            .conn
            .execute(
                "UPDATE kiosk_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                params![at_s, id],
            )
            .ctx(format!("revoking token {id}"))?;
        found(n, "unrevoked token", id)
    }

    /// The server secret of this name, created from `make` the first time.
    pub fn secret_or_insert(
        &mut self,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String> {
        let have: Option<String> = self
            .conn
            .query_row("SELECT value FROM secrets WHERE name = ?", [name], |r| {
                r.get(0)
            })
            .optional()
            .ctx(format!("reading secret {name}"))?;
        if let Some(v) = have {
            return Ok(v);
        }
        let v = make();
        self.conn
            .execute("INSERT INTO secrets VALUES (?, ?)", params![name, v])
            .ctx(format!("writing secret {name}"))?;
        Ok(v)
    }
}

fn found(n: usize, kind: &'static str, id: &str) -> Result<()> {
    if n == 0 {
        Err(StoreError::NotFound {
            kind,
            id: id.to_string(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(name: &str) -> AccountRow {
        AccountRow {
            name: name.into(),
            display_name: "张三".into(),
            role: "worker".into(),
            grids: vec!["G01".into(), "G02".into()],
            department: None,
            password_hash: "$argon2id$v=19$x".into(),
            disabled: false,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn accounts_round_trip_and_names_are_unique() {
        let mut s = Store::open_in_memory().expect("store");
        s.add_account(&acc("w1")).expect("add");
        assert!(s.add_account(&acc("w1")).is_err());
        assert_eq!(s.account("w1").expect("read"), Some(acc("w1")));
        assert_eq!(s.active_account_count().expect("count"), 1);
        s.set_account_disabled("w1", true, 2).expect("disable");
        assert_eq!(s.active_account_count().expect("count"), 0);
        s.set_password_hash("w1", "h2", 3).expect("passwd");
        let a = s.account("w1").expect("read").expect("there");
        assert_eq!((a.password_hash.as_str(), a.updated_at), ("h2", 3));
        assert!(matches!(
            s.set_password_hash("nobody", "h", 3),
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(s.accounts().expect("list").len(), 1);
    }

    #[test]
    fn tokens_revoke_once_and_secrets_are_created_once() {
        let mut s = Store::open_in_memory().expect("store");
        let t = TokenRow {
            id: "k1".into(),
            secret_sha256: "ab".into(),
            role: "screen".into(),
            label: "wall".into(),
            origins: vec!["https://a.example".into()],
            created_at: 5,
            revoked_at: None,
        };
        s.add_token(&t).expect("add");
        assert_eq!(s.token("k1").expect("read"), Some(t));
        s.revoke_token("k1", 9).expect("revoke");
        assert!(s.revoke_token("k1", 10).is_err(), "revoked twice");
        assert_eq!(s.tokens().expect("list")[0].revoked_at, Some(9));
        let a = s
            .secret_or_insert("receipt", || "one".into())
            .expect("secret");
        let b = s
            .secret_or_insert("receipt", || "two".into())
            .expect("secret");
        assert_eq!((a.as_str(), b.as_str()), ("one", "one"));
    }
}
