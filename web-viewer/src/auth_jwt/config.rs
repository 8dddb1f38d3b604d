//! [`JwtConfig`]: what a bearer token must look like and how its claims map
//! onto a Wangge identity, read from a TOML file (`docs/auth-oidc.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::JwtError;
use crate::role::Role;

/// How bearer tokens of another system are verified and mapped.
///
/// ```
/// use web_viewer::auth_jwt::JwtConfig;
///
/// let config = JwtConfig::from_toml_str(r#"
///     issuer = "https://idp.example.org/realms/town"
///     audience = "wangge"
///     jwks_url = "https://idp.example.org/realms/town/protocol/openid-connect/certs"
///
///     [claims]
///     role = "groups"
///     grid_codes = "wangge_grids"
///
///     [role_map]
///     "/town/leaders" = "leader"
///     "/town/grid-workers" = "worker"
/// "#).unwrap();
/// assert_eq!(config.leeway_seconds, 30);
/// assert_eq!(config.claims.subject, "sub");
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The one accepted `iss` value, compared exactly.
    pub issuer: String,
    /// The accepted `aud` value: a token's `aud` (a string or a list) must
    /// contain it.
    pub audience: String,
    /// A JSON Web Key Set file (`{"keys": [...]}`); exactly one of
    /// `jwks_file` and `jwks_url`.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// An `http://` or `https://` URL of the identity provider's JWKS,
    /// fetched at start-up and again when a token names an unknown `kid`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The JWKS is fetched (or the file read) again on an unknown `kid` at
    /// most once in this many seconds.
    #[serde(default = "default_refresh")]
    pub jwks_min_refresh_seconds: u64,
    /// Time-out of one JWKS download.
    #[serde(default = "default_timeout")]
    pub jwks_timeout_seconds: u64,
    /// Accepted signature algorithms (`RS256`, `RS384`, `RS512`, `PS256`,
    /// `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA`); the HMAC ones are
    /// refused, a JWKS holds public keys.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Which claims hold what.
    #[serde(default)]
    pub claims: ClaimNames,
    /// Claim value → Wangge role name. Empty: the role claim holds Wangge
    /// role names themselves. Not empty: only the values listed here count.
    #[serde(default)]
    pub role_map: BTreeMap<String, String>,
}

/// Names of the claims a Wangge identity is read from. A name is looked up
/// as a top-level claim first, then as a dotted path into nested objects
/// (`realm_access.roles`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimNames {
    /// The subject (user or system ID); required in every token.
    pub subject: String,
    /// The display name; optional in the token.
    pub display_name: String,
    /// The role: a string, or a list of strings (groups) of which exactly
    /// one role must result.
    pub role: String,
    /// The grid codes: a list of strings or one comma-separated string;
    /// required in a worker's token.
    pub grid_codes: String,
    /// The department; required in a department's token.
    pub department: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            display_name: "name".into(),
            role: "wangge_role".into(),
            grid_codes: "wangge_grids".into(),
            department: "wangge_department".into(),
        }
    }
}

fn default_refresh() -> u64 {
    60
}
fn default_timeout() -> u64 {
    5
}
fn default_leeway() -> u64 {
    30
}
fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}

/// Where the keys come from, as checked by [`JwtConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeySource {
    File(PathBuf),
    Url(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "{}", p.display()),
            KeySource::Url(u) => f.write_str(u),
        }
    }
}

/// A [`JwtConfig`] whose values have been checked.
#[derive(Debug, Clone)]
pub(super) struct Checked {
    pub source: KeySource,
    pub algorithms: Vec<Algorithm>,
    pub role_map: BTreeMap<String, Role>,
}

fn config_error(key: &str, reason: impl Into<String>) -> JwtError {
    JwtError::Config {
        key: key.to_string(),
        reason: reason.into(),
    }
}

impl JwtConfig {
    /// Reads and checks a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, JwtError> {
        let text = std::fs::read_to_string(path).map_err(|e| JwtError::ConfigRead {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            JwtError::ConfigRead { reason, .. } => JwtError::ConfigRead {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })
    }

    /// Parses and checks TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, JwtError> {
        let config: JwtConfig = toml::from_str(text).map_err(|e| JwtError::ConfigRead {
            path: PathBuf::from("<text>"),
            reason: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values: one key source, a known URL scheme, asymmetric
    /// algorithms only, role names that exist (and are not `public`), no
    /// empty claim name.
    pub fn validate(&self) -> Result<(), JwtError> {
        self.checked().map(|_| ())
    }

    pub(super) fn checked(&self) -> Result<Checked, JwtError> {
        if self.issuer.trim().is_empty() {
            return Err(config_error("issuer", "must not be empty"));
        }
        if self.audience.trim().is_empty() {
            return Err(config_error("audience", "must not be empty"));
        }
        let source = match (&self.jwks_file, &self.jwks_url) {
            (Some(p), None) => KeySource::File(p.clone()),
            (None, Some(u)) => {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(config_error(
                        "jwks_url",
                        format!("{u:?} is not an http:// or https:// URL"),
                    ));
                }
                KeySource::Url(u.clone())
            }
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "jwks_file",
                    "give jwks_file or jwks_url, not both",
                ))
            }
            (None, None) => {
                return Err(config_error(
                    "jwks_url",
                    "one of jwks_file and jwks_url is required",
                ))
            }
        };
        if self.algorithms.is_empty() {
            return Err(config_error("algorithms", "must name at least one"));
        }
        let mut algorithms = Vec::new();
        for name in &self.algorithms {
            let alg = Algorithm::from_str(name)
                .map_err(|_| config_error("algorithms", format!("unknown algorithm {name:?}")))?;
            if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return Err(config_error(
                    "algorithms",
                    format!("{name} is symmetric; a JWKS holds public keys"),
                ));
            }
            algorithms.push(alg);
        }
        let claims = &self.claims;
        for (key, name) in [
            ("claims.subject", &claims.subject),
            ("claims.display_name", &claims.display_name),
            ("claims.role", &claims.role),
            ("claims.grid_codes", &claims.grid_codes),
            ("claims.department", &claims.department),
        ] {
            if name.trim().is_empty() {
                return Err(config_error(key, "must not be empty"));
            }
        }
        let mut role_map = BTreeMap::new();
        for (value, name) in &self.role_map {
            let role = Role::from_name(name).ok_or_else(|| {
                config_error(
                    "role_map",
                    format!("{value:?} maps to {name:?}, which is not a Wangge role"),
                )
            })?;
            if role == Role::Public {
                return Err(config_error(
                    "role_map",
                    format!("{value:?} maps to public; public tokens are always refused"),
                ));
            }
            role_map.insert(value.clone(), role);
        }
        Ok(Checked {
            source,
            algorithms,
            role_map,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "issuer = \"https://idp\"\naudience = \"wangge\"\n";

    fn parse(extra: &str) -> Result<JwtConfig, JwtError> {
        JwtConfig::from_toml_str(&format!("{BASE}{extra}"))
    }

    #[test]
    fn defaults() {
        let c = parse("jwks_file = \"keys.json\"").unwrap();
        assert_eq!(c.algorithms, ["RS256", "ES256"]);
        assert_eq!(c.jwks_min_refresh_seconds, 60);
        assert_eq!(c.claims.role, "wangge_role");
        assert_eq!(
            c.checked().unwrap().source,
            KeySource::File("keys.json".into())
        );
    }

    #[test]
    fn refuses_bad_values() {
        let key = |extra: &str| match parse(extra) {
            Err(JwtError::Config { key, .. }) => key,
            other => panic!("{extra}: {other:?}"),
        };
        assert_eq!(key(""), "jwks_url");
        assert_eq!(
            key("jwks_file = \"a\"\njwks_url = \"http://b\""),
            "jwks_file"
        );
        assert_eq!(key("jwks_url = \"ftp://b\""), "jwks_url");
        assert_eq!(
            key("jwks_file = \"a\"\nalgorithms = [\"HS256\"]"),
            "algorithms"
        );
        assert_eq!(
            key("jwks_file = \"a\"\nalgorithms = [\"XX1\"]"),
            "algorithms"
        );
        assert_eq!(key("jwks_file = \"a\"\nalgorithms = []"), "algorithms");
        assert_eq!(
            key("jwks_file = \"a\"\n[role_map]\ng = \"boss\""),
            "role_map"
        );
        assert_eq!(
            key("jwks_file = \"a\"\n[role_map]\ng = \"public\""),
            "role_map"
        );
        assert_eq!(
            key("jwks_file = \"a\"\n[claims]\nrole = \"\""),
            "claims.role"
        );
        assert!(matches!(
            parse("jwks_file = \"a\"\nissuers = \"typo\""),
            Err(JwtError::ConfigRead { .. })
        ));
    }
}
