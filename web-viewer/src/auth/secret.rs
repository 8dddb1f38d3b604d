//! Random secrets and digests: session IDs, CSRF tokens, kiosk tokens,
//! receipt HMACs. Randomness comes from the operating system.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator failing is not something a server can carry on from.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system's random generator failed");
    b
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits as hex (session IDs, CSRF tokens, secrets).
pub fn random_hex() -> String {
    hex(&random_bytes::<32>())
}

/// Hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// Constant-time equality of two strings.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA-256 of `msg` under `key`, the first 128 bits as hex.
pub fn mac128(key: &[u8], msg: &str) -> String {
    #[allow(clippy::expect_used)]
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(msg.as_bytes());
    hex(&m.finalize().into_bytes()[..16])
}

/// Prefix of kiosk tokens.
pub const KIOSK_PREFIX: &str = "wgk_";

/// A new kiosk token: `(public id, full token, SHA-256 of the secret part)`.
/// The token is `wgk_<id>_<secret>`; only the digest is stored.
pub fn new_kiosk_token() -> (String, String, String) {
    let id = hex(&random_bytes::<6>());
    let secret = random_hex();
    let token = format!("{KIOSK_PREFIX}{id}_{secret}");
    (id, token, sha256_hex(&secret))
}

/// Splits a kiosk token into `(id, secret)`.
pub fn parse_kiosk_token(t: &str) -> Option<(&str, &str)> {
    parse_token(KIOSK_PREFIX, t)
}

/// Prefix of Open311 API keys (`api_key` of `POST /open311/v2/requests.{fmt}`).
pub const OPEN311_PREFIX: &str = "wgo_";

/// A new Open311 API key: `(public id, full key, SHA-256 of the secret
/// part)`. The key is `wgo_<id>_<secret>`; only the digest is stored, in
/// the kiosk-token table with the role `open311:<source>`.
pub fn new_open311_key() -> (String, String, String) {
    let id = hex(&random_bytes::<6>());
    let secret = random_hex();
    let key = format!("{OPEN311_PREFIX}{id}_{secret}");
    (id, key, sha256_hex(&secret))
}

/// Splits an Open311 API key into `(id, secret)`.
pub fn parse_open311_key(t: &str) -> Option<(&str, &str)> {
    parse_token(OPEN311_PREFIX, t)
}

fn parse_token<'a>(prefix: &str, t: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = t.strip_prefix(prefix)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && secret.len() == 64).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_tokens_parse_and_differ() {
        let (id, t, digest) = new_kiosk_token();
        let (pid, secret) = parse_kiosk_token(&t).expect("parses");
        assert_eq!(pid, id);
        assert_eq!(sha256_hex(secret), digest);
        assert_ne!(new_kiosk_token().1, t);
        assert!(parse_kiosk_token("wgk_short_x").is_none());
        let (id, key, _) = new_open311_key();
        assert_eq!(parse_open311_key(&key).map(|p| p.0), Some(id.as_str()));
        assert!(
            parse_kiosk_token(&key).is_none(),
            "an API key is no kiosk token"
        );
        assert!(
            parse_open311_key(&t).is_none(),
            "a kiosk token is no API key"
        );
    }

    #[test]
    fn mac_depends_on_key_and_message() {
        let a = mac128(b"k1", "R1");
        assert_eq!(a.len(), 32);
        assert_ne!(a, mac128(b"k2", "R1"));
        assert_ne!(a, mac128(b"k1", "R2"));
        assert!(same(&a, &a.clone()) && !same(&a, "x"));
    }
}
