//! Bearer tokens of other systems (OpenID Connect / JWT, issue 14).
//!
//! A [`JwtVerifier`] checks a token's signature against the identity
//! provider's published keys (JWKS, by `kid`), its algorithm, `exp` and
//! `nbf` (with leeway), `iss` and `aud`, then maps its claims to a
//! [`JwtIdentity`]: subject, [`Role`], grid codes, department and display
//! name, as [`JwtConfig`] says (`docs/auth-oidc.md`). Nothing falls back to a
//! default role: an unknown or ambiguous role value is an error, and public
//! tokens are refused.
//!
//! Verification is synchronous. It blocks only when a token names an unknown
//! `kid` and the key set is due for a reload (at most once per
//! `jwks_min_refresh_seconds`, bounded by `jwks_timeout_seconds`), so an
//! async caller may call it directly or on a blocking thread.

mod claims;
mod config;
mod jwks;

use std::path::PathBuf;
use std::time::Duration;

use geo_core::ids::GridCode;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

pub use config::{ClaimNames, JwtConfig};

use crate::role::Role;

/// Who a verified token says is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtIdentity {
    /// The subject claim: the user's or system's ID at the identity provider.
    pub subject: String,
    /// The Wangge role (never [`Role::Public`]).
    pub role: Role,
    /// The grids the subject works in; never empty for [`Role::Worker`].
    pub grid_codes: Vec<GridCode>,
    /// The department; always present for [`Role::Department`].
    pub department: Option<String>,
    /// The display name, when the token carries one.
    pub display_name: Option<String>,
}

/// Why a configuration could not be used or a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The configuration file cannot be read or is not valid TOML of the
    /// expected shape.
    #[error("JWT configuration {path}: {reason}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A configuration value is wrong.
    #[error("JWT configuration key {key}: {reason}")]
    Config {
        /// The key, e.g. `algorithms` or `claims.role`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key set cannot be loaded (file, download or JSON).
    #[error("JWKS from {from}: {reason}")]
    Jwks {
        /// The file or URL.
        from: String,
        /// What went wrong.
        reason: String,
    },
    /// The token is not a JWT (three base64url parts of JSON).
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The token's algorithm is not one of the configured ones.
    #[error("algorithm {alg} is not allowed (allowed: {})", allowed.join(", "))]
    AlgorithmNotAllowed {
        /// The token's `alg`.
        alg: String,
        /// The configured algorithms.
        allowed: Vec<String>,
    },
    /// The token's header names no key.
    #[error("the token header has no kid")]
    MissingKid,
    /// The key set has no key of that ID, even after a reload.
    #[error("unknown key id {kid:?}")]
    UnknownKid {
        /// The token's `kid`.
        kid: String,
    },
    /// The key named by the token is not for the token's algorithm.
    #[error("key {kid:?} ({key}) cannot check an {alg} signature")]
    KeyMismatch {
        /// The token's `kid`.
        kid: String,
        /// The token's `alg`.
        alg: String,
        /// What the key is.
        key: String,
    },
    /// The signature does not match the key.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer {found:?} (expected {expected:?})")]
    WrongIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not contain the configured audience.
    #[error("wrong audience {found:?} (expected {expected:?})")]
    WrongAudience {
        /// The configured audience.
        expected: String,
        /// The token's `aud` values.
        found: Vec<String>,
    },
    /// A required claim is absent.
    #[error("missing claim {claim:?}")]
    MissingClaim {
        /// The claim's name.
        claim: String,
    },
    /// A claim has the wrong type or an invalid value (a bad grid code).
    #[error("invalid claim {claim:?}: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: String,
        /// What is wrong.
        reason: String,
    },
    /// The role claim names no known role (a list claim: none of its
    /// values).
    #[error("unknown role {value:?} in claim {claim:?}")]
    UnknownRole {
        /// The claim's name.
        claim: String,
        /// Its value (a list's values joined by commas).
        value: String,
    },
    /// A list role claim gives more than one role.
    #[error("claim {claim:?} gives several roles: {}", roles.join(", "))]
    AmbiguousRole {
        /// The claim's name.
        claim: String,
        /// The roles it gives.
        roles: Vec<String>,
    },
    /// The token's role is `public`: tokens are for staff and systems only.
    #[error("public tokens are refused")]
    PublicRole,
}

/// Verifies bearer tokens against one identity provider. Cheap to share
/// (`Send + Sync`; put it in an `Arc`).
pub struct JwtVerifier {
    config: JwtConfig,
    algorithms: Vec<Algorithm>,
    role_map: std::collections::BTreeMap<String, Role>,
    keys: jwks::KeyStore,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.config.issuer)
            .field("audience", &self.config.audience)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Checks the configuration and loads the key set (reads the file or
    /// downloads the URL); fails when it holds no usable signing key.
    pub fn new(config: JwtConfig) -> Result<Self, JwtError> {
        let checked = config.checked()?;
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            // Both or neither backend features are on: pick RustCrypto.
            let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        }
        let keys = jwks::KeyStore::load(
            checked.source,
            Duration::from_secs(config.jwks_min_refresh_seconds),
            Duration::from_secs(config.jwks_timeout_seconds.max(1)),
        )?;
        Ok(Self {
            algorithms: checked.algorithms,
            role_map: checked.role_map,
            keys,
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Verifies a token (without the `Bearer ` prefix) and maps its claims.
    pub fn verify(&self, token: &str) -> Result<JwtIdentity, JwtError> {
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token).map_err(|e| JwtError::Malformed {
            reason: e.to_string(),
        })?;
        if !self.algorithms.contains(&header.alg) {
            return Err(JwtError::AlgorithmNotAllowed {
                alg: format!("{:?}", header.alg),
                allowed: self.config.algorithms.clone(),
            });
        }
        let kid = header.kid.as_deref().ok_or(JwtError::MissingKid)?;
        let entry = self.keys.get(kid)?;
        if let Some(key) = entry.refuses(header.alg) {
            return Err(JwtError::KeyMismatch {
                kid: kid.into(),
                alg: format!("{:?}", header.alg),
                key,
            });
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // iss and aud are checked below, to report the values found; a
        // missing exp too (the library reports a malformed one as missing).
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &entry.key, &validation)
            .map_err(|e| token_error(e.into_kind(), kid, header.alg))?;
        let claims = data.claims;
        if claims.get("exp").is_none_or(Value::is_null) {
            return Err(JwtError::MissingClaim {
                claim: "exp".into(),
            });
        }
        self.check_issuer(&claims)?;
        self.check_audience(&claims)?;
        claims::identity(&claims, &self.config.claims, &self.role_map)
    }

    fn check_issuer(&self, claims: &Map<String, Value>) -> Result<(), JwtError> {
        match claims.get("iss") {
            None | Some(Value::Null) => Err(JwtError::MissingClaim {
                claim: "iss".into(),
            }),
            Some(Value::String(iss)) if *iss == self.config.issuer => Ok(()),
            Some(other) => Err(JwtError::WrongIssuer {
                expected: self.config.issuer.clone(),
                found: other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string),
            }),
        }
    }

    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), JwtError> {
        let found: Vec<String> = match claims.get("aud") {
            None | Some(Value::Null) => {
                return Err(JwtError::MissingClaim {
                    claim: "aud".into(),
                })
            }
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
            Some(other) => vec![other.to_string()],
        };
        if found.contains(&self.config.audience) {
            Ok(())
        } else {
            Err(JwtError::WrongAudience {
                expected: self.config.audience.clone(),
                found,
            })
        }
    }
}

fn token_error(kind: ErrorKind, kid: &str, alg: Algorithm) -> JwtError {
    match kind {
        ErrorKind::InvalidSignature => JwtError::BadSignature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::MissingRequiredClaim(claim) => JwtError::MissingClaim { claim },
        ErrorKind::InvalidClaimFormat(claim) => JwtError::InvalidClaim {
            claim,
            reason: "not a number of seconds".into(),
        },
        // A signature part that is not base64url cannot be the key's.
        ErrorKind::Base64(_) => JwtError::BadSignature,
        // The JWKS entry's numbers do not make a key of its type.
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEddsaKey => {
            JwtError::KeyMismatch {
                kid: kid.into(),
                alg: format!("{alg:?}"),
                key: "not a valid public key".into(),
            }
        }
        other => JwtError::Malformed {
            reason: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests;
