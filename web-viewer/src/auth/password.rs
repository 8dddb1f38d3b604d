//! Accounts: Argon2id password hashes and the rules an account must meet.
//!
//! Hashes are Argon2id (RFC 9106) with the `argon2` crate's defaults, which
//! are OWASP's recommendation: 19 MiB of memory, 2 passes, 1 lane, a 128-bit
//! random salt, stored as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`),
//! so stronger parameters can be adopted later without breaking old hashes.
//! One hash takes ~20–40 ms on one core: log-ins run on a blocking thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use geo_core::ids::GridCode;
use geo_core::store::AccountRow;

use crate::role::Role;

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// Why an account or password was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    /// Log-in names are 1–64 of `a-z 0-9 . _ -`.
    #[error("account name {0:?}: use 1-64 characters of a-z, 0-9, '.', '_' or '-'")]
    BadName(String),
    /// Unknown role.
    #[error("role {0:?}: one of leader, planner, screen, worker, department")]
    BadRole(String),
    /// A worker needs grids; other roles must not have any.
    #[error("role {role}: {reason}")]
    Scope {
        /// Role.
        role: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Grid code that does not parse.
    #[error("grid code {0:?} is not a valid grid code")]
    BadGrid(String),
    /// Too short.
    #[error("password of {0} characters: at least {MIN_PASSWORD}")]
    ShortPassword(usize),
    /// The hasher failed (should not happen).
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Hashes a password with Argon2id and a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(AccountError::ShortPassword(n));
    }
    let salt = SaltString::encode_b64(&super::secret::random_bytes::<16>())
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// True when `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password: what a log-in with an unknown name is
/// checked against, so it takes as long as one with a known name.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&super::secret::random_hex()).unwrap_or_else(|_| String::from("$decoy"))
    })
}

/// What an account is allowed to be: name, role and scope checked.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    /// Log-in name.
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Grids of a worker.
    pub grids: Vec<GridCode>,
    /// Department of a department user.
    pub department: Option<String>,
}

impl AccountSpec {
    /// Checks the fields together (a worker has grids, a department user a
    /// department, nobody else either).
    pub fn new(
        name: &str,
        display_name: Option<&str>,
        role: &str,
        grids: &[String],
        department: Option<&str>,
    ) -> Result<Self, AccountError> {
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !ok_name {
            return Err(AccountError::BadName(name.to_string()));
        }
        let role = Role::from_name(role).ok_or_else(|| AccountError::BadRole(role.to_string()))?;
        if role == Role::Public {
            return Err(AccountError::BadRole("public".into()));
        }
        let grids = grids
            .iter()
            .flat_map(|g| g.split(','))
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(|g| GridCode::parse(g).map_err(|_| AccountError::BadGrid(g.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let department = department
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let scope = |reason: &str| AccountError::Scope {
            role: role.name(),
            reason: reason.to_string(),
        };
        match role {
            Role::Worker if grids.is_empty() => return Err(scope("a worker needs --grids")),
            Role::Department if department.is_none() => {
                return Err(scope("a department user needs --department"))
            }
            Role::Worker | Role::Department => {}
            _ if !grids.is_empty() => return Err(scope("only workers have grids")),
            _ => {}
        }
        if role != Role::Department && department.is_some() {
            return Err(scope("only department users have a department"));
        }
        Ok(Self {
            name: name.to_string(),
            display_name: display_name.unwrap_or(name).trim().to_string(),
            role,
            grids,
            department,
        })
    }

    /// The row to store, with the password hashed.
    pub fn into_row(self, password: &str, now_s: i64) -> Result<AccountRow, AccountError> {
        Ok(AccountRow {
            password_hash: hash_password(password)?,
            name: self.name,
            display_name: self.display_name,
            role: self.role.name().to_string(),
            grids: self.grids.iter().map(|g| g.as_str().to_string()).collect(),
            department: self.department,
            disabled: false,
            created_at: now_s,
            updated_at: now_s,
        })
    }
}

/// A random password a person can type (20 characters of an alphabet
/// without look-alikes: ~110 bits).
pub fn random_password() -> String {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    super::secret::random_bytes::<20>()
        .iter()
        .map(|b| A[*b as usize % A.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert_ne!(h, hash_password("correct horse battery").expect("hash"));
        assert!(!verify_password("x", "not a phc string"));
        assert_eq!(hash_password("short"), Err(AccountError::ShortPassword(5)));
    }

    #[test]
    fn accounts_need_the_scope_of_their_role() {
        assert!(AccountSpec::new("w1", None, "worker", &[], None).is_err());
        assert!(AccountSpec::new("d1", None, "department", &[], None).is_err());
        assert!(AccountSpec::new("l1", None, "leader", &["G1".into()], None).is_err());
        assert!(AccountSpec::new("Bad Name", None, "leader", &[], None).is_err());
        assert!(AccountSpec::new("p", None, "public", &[], None).is_err());
        assert!(AccountSpec::new("x", None, "admin", &[], None).is_err());
        let d = AccountSpec::new("d1", Some("城管"), "department", &[], Some("城管")).expect("ok");
        assert_eq!(d.department.as_deref(), Some("城管"));
        assert_eq!(random_password().len(), 20);
    }
}
