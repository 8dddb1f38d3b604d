//! Verification end to end with keys made here: RSA and P-256 key pairs,
//! a JWKS file, tokens signed by jsonwebtoken.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use p256::elliptic_curve::Generate;
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{json, Value};

use super::*;

const ISS: &str = "https://idp.test/realms/town";
const AUD: &str = "wangge";

/// A signing key with the kid and algorithm it signs under.
struct TestKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
}

impl TestKey {
    fn rsa(kid: &str) -> Self {
        let der = rsa::PrivateKey::generate().to_pkcs1_der().unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        }
    }

    fn ec(kid: &str) -> Self {
        let der = p256::SecretKey::generate().to_pkcs8_der().unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
        }
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        jwk
    }

    /// A token with these claims, headed with `kid` (this key's by default).
    fn sign_as(&self, kid: Option<&str>, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        encode(&header, claims, &self.encoding).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(Some(&self.kid), self.alg, claims)
    }
}

/// RSA key generation takes a moment: one key pair of each kind per run.
fn rsa_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::rsa("rsa-1"))
}
fn other_rsa_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::rsa("rsa-1"))
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "u-42", "iat": now(), "exp": now() + 600,
        "name": "李四", "wangge_role": "worker",
        "wangge_grids": ["110101001001001", "110101001001002001"],
        "wangge_department": "综治中心",
    })
}

fn with(mut base: Value, change: Value) -> Value {
    for (k, v) in change.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn write_jwks(path: &Path, keys: &[&TestKey]) {
    let set = JwkSet {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    };
    std::fs::write(path, serde_json::to_string(&set).unwrap()).unwrap();
}

fn temp_jwks(keys: &[&TestKey]) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!("wangge-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("jwks-{}.json", N.fetch_add(1, Ordering::Relaxed)));
    write_jwks(&path, keys);
    path
}

fn config(jwks: &Path, extra: &str) -> JwtConfig {
    JwtConfig::from_toml_str(&format!(
        "issuer = {ISS:?}\naudience = {AUD:?}\njwks_file = {:?}\n{extra}",
        jwks.display().to_string()
    ))
    .unwrap()
}

fn verifier(keys: &[&TestKey]) -> JwtVerifier {
    JwtVerifier::new(config(&temp_jwks(keys), "")).unwrap()
}

#[test]
fn verifier_is_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<JwtVerifier>();
}

#[test]
fn good_tokens_map_to_an_identity() {
    let ec = TestKey::ec("ec-1");
    let v = verifier(&[rsa_key(), &ec]);
    for key in [rsa_key(), &ec] {
        let id = v.verify(&key.sign(&claims())).unwrap();
        assert_eq!(id.subject, "u-42");
        assert_eq!(id.role, Role::Worker);
        let grids: Vec<&str> = id.grid_codes.iter().map(|g| g.as_str()).collect();
        assert_eq!(grids, ["110101001001001", "110101001001002001"]);
        assert_eq!(id.department.as_deref(), Some("综治中心"));
        assert_eq!(id.display_name.as_deref(), Some("李四"));
    }
    // `aud` may be a list; `Bearer` is the caller's to strip, spaces are not.
    let token = rsa_key().sign(&with(claims(), json!({"aud": ["other", AUD]})));
    assert!(v.verify(&format!(" {token}\n")).is_ok());
}

#[test]
fn time_claims_are_checked_with_leeway() {
    let v = verifier(&[rsa_key()]);
    let at = |change: Value| v.verify(&rsa_key().sign(&with(claims(), change)));
    assert_eq!(at(json!({"exp": now() - 3600})), Err(JwtError::Expired));
    assert!(
        at(json!({"exp": now() - 10})).is_ok(),
        "within the 30 s leeway"
    );
    assert_eq!(at(json!({"nbf": now() + 3600})), Err(JwtError::NotYetValid));
    assert!(at(json!({"nbf": now() + 10})).is_ok());
    assert_eq!(
        at(json!({"exp": null})),
        Err(JwtError::MissingClaim {
            claim: "exp".into()
        })
    );
    assert!(matches!(
        at(json!({"exp": "tomorrow"})),
        Err(JwtError::InvalidClaim { claim, .. }) if claim == "exp"
    ));
}

#[test]
fn issuer_and_audience_are_checked() {
    let v = verifier(&[rsa_key()]);
    let at = |change: Value| v.verify(&rsa_key().sign(&with(claims(), change)));
    assert_eq!(
        at(json!({"iss": "https://evil.test"})),
        Err(JwtError::WrongIssuer {
            expected: ISS.into(),
            found: "https://evil.test".into()
        })
    );
    assert_eq!(
        at(json!({"iss": null})),
        Err(JwtError::MissingClaim {
            claim: "iss".into()
        })
    );
    assert_eq!(
        at(json!({"aud": ["billing", "crm"]})),
        Err(JwtError::WrongAudience {
            expected: AUD.into(),
            found: vec!["billing".into(), "crm".into()]
        })
    );
    assert_eq!(
        at(json!({"aud": null})),
        Err(JwtError::MissingClaim {
            claim: "aud".into()
        })
    );
}

#[test]
fn keys_and_algorithms_are_checked() {
    let ec = TestKey::ec("ec-1");
    let v = verifier(&[rsa_key(), &ec]);
    // Same kid, another key.
    assert_eq!(
        v.verify(&other_rsa_key().sign(&claims())),
        Err(JwtError::BadSignature)
    );
    // A tampered payload.
    let token = rsa_key().sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = rsa_key().sign(&with(claims(), json!({"wangge_role": "leader"})));
    let forged_payload = forged.split('.').nth(1).unwrap();
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(v.verify(&tampered), Err(JwtError::BadSignature));
    assert_eq!(
        v.verify(&rsa_key().sign_as(Some("nope"), Algorithm::RS256, &claims())),
        Err(JwtError::UnknownKid { kid: "nope".into() })
    );
    assert_eq!(
        v.verify(&rsa_key().sign_as(None, Algorithm::RS256, &claims())),
        Err(JwtError::MissingKid)
    );
    // An RSA signature under the EC key's kid.
    assert!(matches!(
        v.verify(&rsa_key().sign_as(Some("ec-1"), Algorithm::RS256, &claims())),
        Err(JwtError::KeyMismatch { kid, .. }) if kid == "ec-1"
    ));
    // RS384 is not configured.
    assert!(matches!(
        v.verify(&rsa_key().sign_as(Some("rsa-1"), Algorithm::RS384, &claims())),
        Err(JwtError::AlgorithmNotAllowed { alg, .. }) if alg == "RS384"
    ));
    // HMAC keyed with public knowledge (the classic key-confusion attack).
    let hmac = EncodingKey::from_secret(b"rsa-1").unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    let token = encode(&header, &claims(), &hmac).unwrap();
    assert!(matches!(
        v.verify(&token),
        Err(JwtError::AlgorithmNotAllowed { alg, .. }) if alg == "HS256"
    ));
    // `alg: none`.
    let unsigned = format!("{}.{}.", "eyJhbGciOiJub25lIiwia2lkIjoicnNhLTEifQ", parts[1]);
    assert!(matches!(
        v.verify(&unsigned),
        Err(JwtError::Malformed { .. })
    ));
    assert!(matches!(
        v.verify("not a token"),
        Err(JwtError::Malformed { .. })
    ));
    assert!(matches!(v.verify(""), Err(JwtError::Malformed { .. })));
}

#[test]
fn claims_that_do_not_map_are_refused() {
    let v = verifier(&[rsa_key()]);
    let at = |change: Value| v.verify(&rsa_key().sign(&with(claims(), change)));
    assert_eq!(
        at(json!({"wangge_role": "superuser"})),
        Err(JwtError::UnknownRole {
            claim: "wangge_role".into(),
            value: "superuser".into()
        })
    );
    assert_eq!(
        at(json!({"wangge_role": "public"})),
        Err(JwtError::PublicRole)
    );
    assert_eq!(
        at(json!({"sub": null})),
        Err(JwtError::MissingClaim {
            claim: "sub".into()
        })
    );
    let leader = at(json!({"wangge_role": "leader", "wangge_grids": null})).unwrap();
    assert_eq!((leader.role, leader.grid_codes.len()), (Role::Leader, 0));
}

#[test]
fn group_claims_map_through_the_role_map() {
    let jwks = temp_jwks(&[rsa_key()]);
    let v = JwtVerifier::new(config(
        &jwks,
        "[claims]\nrole = \"groups\"\ngrid_codes = \"grids\"\ndepartment = \"dept\"\n\
         [role_map]\n\"/town/leaders\" = \"leader\"\n\"/town/water\" = \"department\"\n",
    ))
    .unwrap();
    let token = rsa_key().sign(&json!({
        "iss": ISS, "aud": AUD, "sub": "w1", "exp": now() + 60,
        "groups": ["default-roles", "/town/water"], "dept": "水务",
    }));
    let id = v.verify(&token).unwrap();
    assert_eq!(id.role, Role::Department);
    assert_eq!(id.department.as_deref(), Some("水务"));
}

#[test]
fn an_unknown_kid_reloads_the_set_at_most_once_per_interval() {
    let ec = TestKey::ec("ec-new");
    let jwks = temp_jwks(&[rsa_key()]);
    let eager = JwtVerifier::new(config(&jwks, "jwks_min_refresh_seconds = 0")).unwrap();
    let lazy = JwtVerifier::new(config(&jwks, "jwks_min_refresh_seconds = 3600")).unwrap();
    let token = ec.sign(&claims());
    assert_eq!(
        eager.verify(&token),
        Err(JwtError::UnknownKid {
            kid: "ec-new".into()
        })
    );
    // The provider rotates in a new key.
    write_jwks(&jwks, &[rsa_key(), &ec]);
    assert!(eager.verify(&token).is_ok());
    assert_eq!(
        lazy.verify(&token),
        Err(JwtError::UnknownKid {
            kid: "ec-new".into()
        })
    );
    // A set that cannot be reloaded is reported, the old keys kept.
    std::fs::write(&jwks, "{").unwrap();
    let stray = ec.sign_as(Some("stray"), Algorithm::ES256, &claims());
    assert!(matches!(eager.verify(&stray), Err(JwtError::Jwks { .. })));
    assert!(eager.verify(&token).is_ok());
}

#[test]
fn a_key_set_must_be_usable_at_start() {
    let missing = std::env::temp_dir().join("wangge-jwt-no-such-file.json");
    assert!(matches!(
        JwtVerifier::new(config(&missing, "")),
        Err(JwtError::Jwks { .. })
    ));
    let empty = temp_jwks(&[]);
    assert!(matches!(
        JwtVerifier::new(config(&empty, "")),
        Err(JwtError::Jwks { reason, .. }) if reason.contains("no usable")
    ));
    // A JWKS URL that answers nothing.
    let toml = format!(
        "issuer = {ISS:?}\naudience = {AUD:?}\njwks_url = \"http://127.0.0.1:9/jwks\"\njwks_timeout_seconds = 2\n"
    );
    assert!(matches!(
        JwtVerifier::new(JwtConfig::from_toml_str(&toml).unwrap()),
        Err(JwtError::Jwks { from, .. }) if from.ends_with("/jwks")
    ));
}

#[test]
fn role_names_are_strict() {
    assert_eq!(Role::from_name(" Grid_Worker "), Some(Role::Worker));
    assert_eq!(Role::from_name("screen"), Some(Role::Screen));
    assert_eq!(Role::from_name("admin"), None);
    assert_eq!(Role::from_name(""), None);
}

#[test]
fn the_documented_configuration_is_the_real_one() {
    let doc = include_str!("../../../docs/auth-oidc.md");
    let examples: Vec<&str> = doc
        .split("```toml")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(examples.len(), 2);
    for example in examples {
        JwtConfig::from_toml_str(example).unwrap();
    }
    for key in [
        "issuer",
        "audience",
        "jwks_file",
        "jwks_url",
        "jwks_min_refresh_seconds",
        "jwks_timeout_seconds",
        "algorithms",
        "leeway_seconds",
        "[claims]",
        "claims.subject",
        "claims.display_name",
        "claims.role",
        "claims.grid_codes",
        "claims.department",
        "[role_map]",
    ] {
        assert!(doc.contains(&format!("| `{key}` |")), "{key} undocumented");
    }
}
