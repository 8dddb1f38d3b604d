//! `JwtVerifier` against a real, standalone identity provider:
//! oauth2-mock-server (npm, `tests/oidc/`) started by this test on a free
//! loopback port. Tokens come from its token endpoint (client credentials,
//! custom claims through its `beforeTokenSigning` hook, see `idp.mjs`); the
//! verifier downloads its JWKS.
//!
//! Needs node and npm: without them this test fails, it does not skip. It
//! runs `npm ci` in `tests/oidc/` when `node_modules` is absent.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use web_viewer::auth_jwt::{JwtConfig, JwtError, JwtVerifier};
use web_viewer::role::Role;

fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc")
}

/// The identity provider process; killed when dropped.
struct Idp {
    child: Child,
    issuer: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool(name: &str) {
    let found = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is required by the OIDC test (Debian: apt-get install nodejs npm)"
    );
}

fn start_idp() -> Idp {
    tool("node");
    tool("npm");
    let dir = idp_dir();
    if !dir.join("node_modules/oauth2-mock-server").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("run npm ci");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    let mut child = Command::new("node")
        .args(["idp.mjs", "--port", "0"])
        .current_dir(&dir)
        // The launcher stops when its standard input closes: if this test
        // dies without dropping `Idp`, the provider goes with it.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start node idp.mjs");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the issuer line");
    let issuer = line
        .trim()
        .strip_prefix("issuer ")
        .unwrap_or_else(|| panic!("idp.mjs printed {line:?}, not `issuer <url>`"))
        .to_string();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    Idp { child, issuer }
}

impl Idp {
    /// A token from the provider's token endpoint.
    fn token(&self, aud: &str, claims: &Value, signer: Option<&str>) -> String {
        let claims = claims.to_string();
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("scope", "wangge"),
            ("aud", aud),
            ("claims", claims.as_str()),
        ];
        if let Some(s) = signer {
            form.push(("signer", s));
        }
        let text = ureq::post(format!("{}/token", self.issuer))
            .send_form(form)
            .expect("token request")
            .body_mut()
            .read_to_string()
            .expect("token response");
        let body: Value = serde_json::from_str(&text).expect("token response JSON");
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {body}"))
            .to_string()
    }

    fn config(&self, extra: &str) -> JwtConfig {
        JwtConfig::from_toml_str(&format!(
            "issuer = {:?}\naudience = \"wangge\"\njwks_url = \"{}/jwks\"\n{extra}",
            self.issuer, self.issuer
        ))
        .expect("config")
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn worker_claims() -> Value {
    json!({
        "sub": "zhang.san", "name": "张三", "wangge_role": "worker",
        "wangge_grids": "110101001001001,110101001001002",
        "wangge_department": "东华门街道综治中心",
    })
}

#[test]
fn tokens_of_a_real_identity_provider() {
    let idp = start_idp();
    let verifier = JwtVerifier::new(idp.config("jwks_min_refresh_seconds = 0"))
        .expect("verifier with the provider's JWKS");

    // A good token maps to role, grids and department.
    let id = verifier
        .verify(&idp.token("wangge", &worker_claims(), None))
        .expect("good token");
    assert_eq!(id.subject, "zhang.san");
    assert_eq!(id.role, Role::Worker);
    let grids: Vec<&str> = id.grid_codes.iter().map(|g| g.as_str()).collect();
    assert_eq!(grids, ["110101001001001", "110101001001002"]);
    assert_eq!(id.department.as_deref(), Some("东华门街道综治中心"));
    assert_eq!(id.display_name.as_deref(), Some("张三"));

    // Expired (well beyond the leeway).
    let mut expired = worker_claims();
    expired["iat"] = json!(now() - 7200);
    expired["nbf"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    assert_eq!(
        verifier.verify(&idp.token("wangge", &expired, None)),
        Err(JwtError::Expired)
    );

    // Issued for another system.
    assert_eq!(
        verifier.verify(&idp.token("billing", &worker_claims(), None)),
        Err(JwtError::WrongAudience {
            expected: "wangge".into(),
            found: vec!["billing".into()],
        })
    );

    // Signed by a key the provider does not publish, under its key's kid.
    assert_eq!(
        verifier.verify(&idp.token("wangge", &worker_claims(), Some("stranger"))),
        Err(JwtError::BadSignature)
    );

    // Another issuer's claim, signed by the right key.
    let mut foreign = worker_claims();
    foreign["iss"] = json!("http://127.0.0.1:1");
    assert_eq!(
        verifier.verify(&idp.token("wangge", &foreign, None)),
        Err(JwtError::WrongIssuer {
            expected: idp.issuer.clone(),
            found: "http://127.0.0.1:1".into(),
        })
    );

    // A role the mapping does not know.
    let mut admin = worker_claims();
    admin["wangge_role"] = json!("admin");
    assert!(matches!(
        verifier.verify(&idp.token("wangge", &admin, None)),
        Err(JwtError::UnknownRole { value, .. }) if value == "admin"
    ));

    // Key rotation: a new key signs; the verifier downloads the JWKS again.
    let rotated = idp.token("wangge", &worker_claims(), Some("rotated"));
    let rate_limited =
        JwtVerifier::new(idp.config("jwks_min_refresh_seconds = 3600")).expect("second verifier");
    let rotated2 = idp.token("wangge", &worker_claims(), Some("rotated"));
    assert_eq!(
        verifier.verify(&rotated).map(|i| i.role),
        Ok(Role::Worker),
        "unknown kid reloads the JWKS"
    );
    assert!(
        matches!(
            rate_limited.verify(&rotated2),
            Err(JwtError::UnknownKid { .. })
        ),
        "no reload within jwks_min_refresh_seconds"
    );

    // Groups mapped to roles, read from the provider's tokens too.
    let groups =
        JwtVerifier::new(idp.config(
            "[claims]\nrole = \"groups\"\n[role_map]\n\"cn=leaders,ou=town\" = \"leader\"\n",
        ))
        .expect("verifier with a role map");
    let id = groups
        .verify(&idp.token(
            "wangge",
            &json!({"sub": "li.si", "groups": ["cn=staff,ou=town", "cn=leaders,ou=town"]}),
            None,
        ))
        .expect("leader by group");
    assert_eq!((id.role, id.grid_codes.len()), (Role::Leader, 0));
}
