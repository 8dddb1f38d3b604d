//! The identity provider's public keys by `kid`: loaded from a JWKS file or
//! URL at start-up and loaded again, at most once per refresh interval, when
//! a token names a key the set does not have (key rotation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::config::KeySource;
use super::JwtError;

/// Largest JWKS document read.
const MAX_JWKS_BYTES: u64 = 1024 * 1024;

/// One verification key of the set.
pub(super) struct KeyEntry {
    pub key: DecodingKey,
    /// The key's `alg`, when the set names one.
    pub alg: Option<KeyAlgorithm>,
    /// The curve of an EC key.
    pub curve: Option<EllipticCurve>,
}

impl KeyEntry {
    /// Why this key cannot check a token signed with `alg`, if it cannot.
    pub fn refuses(&self, alg: Algorithm) -> Option<String> {
        if self.key.family() != alg.family() {
            return Some(format!("{:?} key", self.key.family()));
        }
        if let Some(key_alg) = self.alg {
            if key_alg != KeyAlgorithm::from(alg) {
                return Some(format!("{key_alg:?}"));
            }
        }
        match (&self.curve, alg) {
            (None, _)
            | (Some(EllipticCurve::P256), Algorithm::ES256)
            | (Some(EllipticCurve::P384), Algorithm::ES384) => None,
            (Some(curve), _) => Some(format!("{curve:?} key")),
        }
    }
}

type KeyMap = HashMap<String, Arc<KeyEntry>>;

/// The key set with its source and refresh bookkeeping; shared by threads.
pub(super) struct KeyStore {
    source: KeySource,
    agent: ureq::Agent,
    min_refresh: Duration,
    keys: RwLock<KeyMap>,
    /// When the set was last (tried to be) loaded; held while loading so
    /// that concurrent unknown `kid`s cause one download.
    loaded_at: Mutex<Instant>,
}

impl KeyStore {
    /// Loads the set once; fails when it cannot be had or holds no usable
    /// signing key.
    pub fn load(
        source: KeySource,
        min_refresh: Duration,
        timeout: Duration,
    ) -> Result<Self, JwtError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .build()
            .into();
        let keys = fetch(&source, &agent)?;
        if keys.is_empty() {
            return Err(JwtError::Jwks {
                from: source.to_string(),
                reason: "no usable signing key (kid, kty RSA/EC/OKP, not use=enc)".into(),
            });
        }
        Ok(Self {
            source,
            agent,
            min_refresh,
            keys: RwLock::new(keys),
            loaded_at: Mutex::new(Instant::now()),
        })
    }

    /// The key `kid`, loading the set again when it is unknown and the last
    /// load is older than the refresh interval.
    pub fn get(&self, kid: &str) -> Result<Arc<KeyEntry>, JwtError> {
        if let Some(k) = self.cached(kid) {
            return Ok(k);
        }
        let mut loaded_at = self
            .loaded_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Another thread may have loaded the set while this one waited.
        if let Some(k) = self.cached(kid) {
            return Ok(k);
        }
        if loaded_at.elapsed() < self.min_refresh {
            return Err(JwtError::UnknownKid { kid: kid.into() });
        }
        *loaded_at = Instant::now();
        let fresh = fetch(&self.source, &self.agent)?;
        tracing::info!(source = %self.source, keys = fresh.len(), "JWKS reloaded for an unknown kid");
        let found = fresh.get(kid).cloned();
        if !fresh.is_empty() {
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        }
        found.ok_or_else(|| JwtError::UnknownKid { kid: kid.into() })
    }

    fn cached(&self, kid: &str) -> Option<Arc<KeyEntry>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }
}

fn fetch(source: &KeySource, agent: &ureq::Agent) -> Result<KeyMap, JwtError> {
    let failed = |reason: String| JwtError::Jwks {
        from: source.to_string(),
        reason,
    };
    let text = match source {
        KeySource::File(path) => {
            std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?
        }
        KeySource::Url(url) => agent
            .get(url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| failed(e.to_string()))?
            .body_mut()
            .with_config()
            .limit(MAX_JWKS_BYTES)
            .read_to_string()
            .map_err(|e| failed(e.to_string()))?,
    };
    parse_jwks(&text).map_err(failed)
}

/// The signing keys of a JWKS document by `kid`. Keys without a `kid`,
/// encryption keys (`use: enc`), symmetric keys and keys of unknown types
/// are left out (an identity provider's set often holds such keys too).
pub(super) fn parse_jwks(text: &str) -> Result<KeyMap, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let list = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("no \"keys\" array")?;
    let mut keys = KeyMap::new();
    for value in list {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value.clone()) else {
            tracing::debug!(key = %value, "JWKS key not understood; left out");
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let curve = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) | AlgorithmParameters::OctetKeyPair(_) => None,
            AlgorithmParameters::EllipticCurve(p) => Some(p.curve.clone()),
            _ => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            tracing::debug!(%kid, "JWKS key not usable; left out");
            continue;
        };
        let alg = jwk
            .common
            .key_algorithm
            .filter(|a| *a != KeyAlgorithm::UNKNOWN_ALGORITHM);
        keys.insert(kid, Arc::new(KeyEntry { key, alg, curve }));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_signing_keys_only() {
        let text = r#"{"keys": [
            {"kid": "rsa", "kty": "RSA", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kid": "enc", "kty": "RSA", "alg": "RSA-OAEP", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kid": "hmac", "kty": "oct", "k": "c2VjcmV0"},
            {"kid": "odd", "kty": "XYZ"}
        ]}"#;
        let keys = parse_jwks(text).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["rsa"]);
        let rsa = &keys["rsa"];
        assert!(rsa.refuses(Algorithm::RS256).is_none());
        assert!(rsa.refuses(Algorithm::RS384).is_some());
        assert!(rsa.refuses(Algorithm::ES256).is_some());
        assert!(parse_jwks("[]").is_err());
        assert!(parse_jwks("{").is_err());
    }
}
