//! Field encryption of residents' ID numbers and phones, and the keyed hash
//! that finds a person by ID number without decrypting every row.
//!
//! One 32-byte secret (the *key file*, kept outside the store) gives, by
//! HKDF-Expand (one HMAC-SHA-256 block per label):
//!
//! * the AES-256-GCM-SIV key (RFC 8452) that seals a person's ID number and
//!   phone together (schema 9): the 16-byte plaintext is the ID number's 17
//!   digits and the phone code, 8 bytes each ([`ABSENT`] for a missing
//!   one); the sealed value is `ciphertext (16) ‖ tag (16)`, 32 bytes; the
//!   nonce is the person's ID and a fixed label, and the associated data the
//!   person's ID, so a ciphertext moved to another row no longer opens;
//! * the HMAC-SHA-256 key of the look-up hash of an ID number (64 bits
//!   kept: exact look-up only; a hit is confirmed by decrypting);
//! * the HMAC-SHA-256 key of the audit log's chain
//!   ([`Keyring::audit_mac`]);
//! * the key ID, a public fingerprint the store records so that opening it
//!   with another key fails instead of returning garbage.
//!
//! Why the nonce need not be random: GCM-SIV is nonce-misuse resistant. A
//! repeated nonce reveals only that the same plaintext was sealed twice
//! under it, and a nonce here repeats only for the same person: sealing a
//! person's unchanged pair again gives the same 32 bytes (which says the
//! pair did not change), a changed pair gives unrelated bytes. Nothing is
//! revealed across people. Storing no nonce saves 12 bytes a person, and
//! sealing needs no randomness, so any thread can seal any row.
//!
//! Schemas 5–8 sealed each value alone (`nonce (12) ‖ ciphertext (8) ‖ tag
//! (16)`, [`LEGACY_SEALED_LEN`] bytes, random nonces): [`Keyring::seal_column`]
//! and [`Keyring::open_column`] remain for the migrations that read and
//! write that format.
//!
//! ```
//! use geo_core::crypt::{KeySecret, Keyring, PersonSecrets};
//! use geo_core::ids::NationalId;
//! let keys = Keyring::new(&KeySecret::generate().unwrap());
//! let id = NationalId::parse("11010519491231002X").unwrap();
//! let p = PersonSecrets { id: 7, national_id: Some(id), phone: None };
//! let sealed = keys.seal(&p).unwrap();
//! assert_eq!(keys.open(7, &sealed).unwrap(), (Some(id.digits()), None));
//! assert!(keys.open(8, &sealed).is_err(), "bound to row 7");
//! ```

use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce, Tag};
use hmac::{Hmac, Mac};
use rayon::prelude::*;
use sha2::Sha256;
use thiserror::Error;

use crate::ids::NationalId;

/// Length of a person's sealed ID number and phone: the two 8-byte values
/// encrypted, then the tag.
pub const SEALED_LEN: usize = 16 + 16;

/// A person's sealed ID number and phone as stored (`persons.secrets`).
pub type Sealed = [u8; SEALED_LEN];

/// What an absent ID number or phone is sealed as (no ID number's 17 digits
/// and no phone code reach it).
pub const ABSENT: u64 = u64::MAX;

/// Associated-data label of a person's sealed pair (schemas 5–8 labelled
/// their single columns 1 and 2).
const PERSON_LABEL: u8 = 3;

/// The last 4 bytes of a person's nonce (the first 8 are the person's ID).
const NONCE_LABEL: [u8; 4] = *b"wg09";

/// Length of a value sealed alone (schemas 5–8): nonce, the 8-byte value,
/// tag.
pub const LEGACY_SEALED_LEN: usize = 12 + 8 + 16;

/// A value sealed alone (schemas 5–8).
pub type LegacySealed = [u8; LEGACY_SEALED_LEN];

/// What went wrong with a key or a sealed value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CryptError {
    /// The key file's content is not a key.
    #[error("not a key: {reason} (expected 64 hex digits, as `wangge key init` writes)")]
    BadKey {
        /// Why.
        reason: String,
    },
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {reason}")]
    Random {
        /// Why.
        reason: String,
    },
    /// A sealed value does not open with this key for this row and column.
    #[error("does not decrypt with this key (wrong key, tampered, or moved from another row)")]
    Open,
}

/// The column a value was sealed for alone in schemas 5–8 (part of the
/// associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `persons.national_id`: [`NationalId::digits`].
    NationalId,
    /// `persons.phone`: [`crate::ids::Phone::code`].
    Phone,
}

impl Column {
    /// The column's name in schemas 5–8.
    pub fn name(self) -> &'static str {
        match self {
            Column::NationalId => "national_id",
            Column::Phone => "phone",
        }
    }

    fn label(self) -> u8 {
        match self {
            Column::NationalId => 1,
            Column::Phone => 2,
        }
    }
}

/// The 32-byte secret of a key file. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret([u8; 32]);

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySecret(..)")
    }
}

impl KeySecret {
    /// A new random secret from the operating system.
    pub fn generate() -> Result<Self, CryptError> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| CryptError::Random {
            reason: e.to_string(),
        })?;
        Ok(Self(b))
    }

    /// Reads a key file's content: 64 hex digits (surrounding white space
    /// ignored) or exactly 32 raw bytes.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, CryptError> {
        if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
            if !raw.iter().all(|b| b.is_ascii_hexdigit()) {
                return Ok(Self(raw));
            }
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| CryptError::BadKey {
                reason: format!("{} bytes, neither 32 raw bytes nor hex text", bytes.len()),
            })?
            .trim();
        if text.len() != 64 {
            return Err(CryptError::BadKey {
                reason: format!("{} characters", text.len()),
            });
        }
        let mut b = [0u8; 32];
        for (i, out) in b.iter_mut().enumerate() {
            *out = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| {
                CryptError::BadKey {
                    reason: format!("character {} is not a hex digit", 2 * i + 1),
                }
            })?;
        }
        Ok(Self(b))
    }

    /// The key file's content: 64 lower-case hex digits and a newline.
    pub fn to_file_text(&self) -> String {
        let mut s: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        s.push('\n');
        s
    }
}

/// The keys derived from one [`KeySecret`]: sealing, look-up hash, key ID.
#[derive(Clone)]
pub struct Keyring {
    cipher: Aes256GcmSiv,
    lookup: Hmac<Sha256>,
    audit: Hmac<Sha256>,
    id: String,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("id", &self.id).finish()
    }
}

/// HKDF-Expand (RFC 5869) of one block: HMAC(secret, info ‖ 0x01). The
/// secret is uniformly random, so it serves as the pseudo-random key.
fn expand(secret: &KeySecret, info: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(info);
    mac.update(&[1]);
    mac.finalize().into_bytes().into()
}

impl Keyring {
    /// Derives the keys of `secret`.
    pub fn new(secret: &KeySecret) -> Self {
        let enc = expand(secret, b"wangge v1 field encryption");
        let look = expand(secret, b"wangge v1 national id lookup");
        let id = expand(secret, b"wangge v1 key id");
        let audit = expand(secret, b"wangge v1 audit chain");
        Self {
            cipher: Aes256GcmSiv::new(&enc.into()),
            lookup: <Hmac<Sha256> as Mac>::new_from_slice(&look)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            audit: <Hmac<Sha256> as Mac>::new_from_slice(&audit)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            id: id[..8].iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// A keyring of a fresh random secret that is never written anywhere
    /// (in-memory stores).
    pub fn ephemeral() -> Result<Self, CryptError> {
        Ok(Self::new(&KeySecret::generate()?))
    }

    /// The public fingerprint of the key (16 hex digits), recorded in the
    /// store it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A nonce sequence for [`Keyring::seal_column`]: a fresh random prefix
    /// and a counter.
    pub fn nonces(&self) -> Result<Nonces, CryptError> {
        let mut prefix = [0u8; 8];
        getrandom::fill(&mut prefix).map_err(|e| CryptError::Random {
            reason: e.to_string(),
        })?;
        Ok(Nonces { prefix, next: 0 })
    }

    fn aad(label: u8, row: u64) -> [u8; 9] {
        let mut a = [0u8; 9];
        a[..8].copy_from_slice(&row.to_le_bytes());
        a[8] = label;
        a
    }

    /// Seals a person's ID number and phone together ([`Sealed`]), or
    /// `None` when the person has neither.
    pub fn seal(&self, p: &PersonSecrets) -> Option<Sealed> {
        if p.national_id.is_none() && p.phone.is_none() {
            return None;
        }
        let mut out = [0u8; SEALED_LEN];
        out[..8].copy_from_slice(&p.national_id.map_or(ABSENT, |n| n.digits()).to_le_bytes());
        out[8..16].copy_from_slice(&p.phone.unwrap_or(ABSENT).to_le_bytes());
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&Self::person_nonce(p.id)),
                &Self::aad(PERSON_LABEL, p.id),
                &mut out[..16],
            )
            .unwrap_or_else(|_| unreachable!("16 bytes are far below GCM-SIV's limit"));
        out[16..].copy_from_slice(&tag);
        Some(out)
    }

    /// Opens what [`Keyring::seal`] sealed for the person `row`: the ID
    /// number's digits and the phone code, each if present.
    pub fn open(&self, row: u64, sealed: &[u8]) -> Result<(Option<u64>, Option<u64>), CryptError> {
        if sealed.len() != SEALED_LEN {
            return Err(CryptError::Open);
        }
        let mut value = [0u8; 16];
        value.copy_from_slice(&sealed[..16]);
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&Self::person_nonce(row)),
                &Self::aad(PERSON_LABEL, row),
                &mut value,
                Tag::from_slice(&sealed[16..]),
            )
            .map_err(|_| CryptError::Open)?;
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&value[i..i + 8]);
            Some(u64::from_le_bytes(b)).filter(|v| *v != ABSENT)
        };
        Ok((word(0), word(8)))
    }

    fn person_nonce(row: u64) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&row.to_le_bytes());
        n[8..].copy_from_slice(&NONCE_LABEL);
        n
    }

    /// Seals `value` of `column` alone for the person `row` (the format of
    /// schemas 5–8, for the migrations).
    pub fn seal_column(
        &self,
        column: Column,
        row: u64,
        value: u64,
        nonce: [u8; 12],
    ) -> LegacySealed {
        let mut out = [0u8; LEGACY_SEALED_LEN];
        out[..12].copy_from_slice(&nonce);
        out[12..20].copy_from_slice(&value.to_le_bytes());
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &Self::aad(column.label(), row),
                &mut out[12..20],
            )
            .unwrap_or_else(|_| unreachable!("8 bytes are far below GCM-SIV's limit"));
        out[20..].copy_from_slice(&tag);
        out
    }

    /// Opens a value sealed by [`Keyring::seal_column`] for the same row and
    /// column (schemas 5–8).
    pub fn open_column(&self, column: Column, row: u64, sealed: &[u8]) -> Result<u64, CryptError> {
        if sealed.len() != LEGACY_SEALED_LEN {
            return Err(CryptError::Open);
        }
        let mut value = [0u8; 8];
        value.copy_from_slice(&sealed[12..20]);
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&sealed[..12]),
                &Self::aad(column.label(), row),
                &mut value,
                Tag::from_slice(&sealed[20..]),
            )
            .map_err(|_| CryptError::Open)?;
        Ok(u64::from_le_bytes(value))
    }

    /// The keyed look-up hash of an ID number (first 64 bits of
    /// HMAC-SHA-256): equal numbers hash equal, and without the key the hash
    /// says nothing about the number (unlike a plain hash of the ~10¹⁰
    /// plausible numbers, which anyone could tabulate).
    pub fn lookup_hash(&self, id: &NationalId) -> u64 {
        let mut mac = self.lookup.clone();
        mac.update(id.reveal().as_bytes());
        let h = mac.finalize().into_bytes();
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[..8]);
        // UBIGINT column: any 64 bits.
        u64::from_le_bytes(b)
    }
}

impl Keyring {
    /// The chain MAC of an audit line: HMAC-SHA-256 (its own derived key)
    /// of the previous line's MAC, the line's place in the chain, its time
    /// and its fields, each field length-prefixed so that no two different
    /// lines encode alike. Without the key nobody can forge a line or
    /// re-chain an edited log.
    pub fn audit_mac(
        &self,
        previous: &[u8; 32],
        seq: i64,
        at_s: i64,
        fields: [&str; 3],
    ) -> [u8; 32] {
        let mut mac = self.audit.clone();
        mac.update(previous);
        mac.update(&seq.to_le_bytes());
        mac.update(&at_s.to_le_bytes());
        for f in fields {
            mac.update(&(f.len() as u64).to_le_bytes());
            mac.update(f.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }
}

/// Nonces of one batch: a random 64-bit prefix and a 32-bit counter.
#[derive(Debug)]
pub struct Nonces {
    prefix: [u8; 8],
    next: u32,
}

impl Nonces {
    /// The next nonce (the counter wraps after 2³² values; GCM-SIV stays
    /// safe then, and batches are far smaller).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&self.prefix);
        n[8..].copy_from_slice(&self.next.to_le_bytes());
        self.next = self.next.wrapping_add(1);
        n
    }
}

/// A person's sealed columns in the clear: ID number and phone code
/// ([`crate::ids::Phone::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonSecrets {
    /// The person's ID (associated data).
    pub id: u64,
    /// ID number.
    pub national_id: Option<NationalId>,
    /// Phone code.
    pub phone: Option<u64>,
}

/// A person's sealed columns as stored.
#[derive(Debug, Clone, Copy)]
pub struct SealedPerson {
    /// [`Keyring::seal`] of the ID number and phone (`persons.secrets`).
    pub secrets: Option<Sealed>,
    /// [`Keyring::lookup_hash`] of the ID number.
    pub national_id_hash: Option<u64>,
}

/// People sealed by one task.
const CHUNK: usize = 16_384;

/// Seals the ID number and phone of every item, in order, on every core
/// (rayon: a chunk of people per task).
pub fn seal_all<T: Sync>(
    keys: &Keyring,
    items: &[T],
    secrets: impl Fn(&T) -> PersonSecrets + Sync,
) -> Vec<SealedPerson> {
    items
        .par_iter()
        .with_min_len(CHUNK)
        .map(|item| {
            let p = secrets(item);
            SealedPerson {
                secrets: keys.seal(&p),
                national_id_hash: p.national_id.map(|n| keys.lookup_hash(&n)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keyring {
        Keyring::new(&KeySecret::generate().expect("random"))
    }

    #[test]
    fn a_sealed_pair_opens_only_with_its_key_and_row() {
        let k = keys();
        let id = NationalId::parse("11010519491231002X").expect("id");
        let p = PersonSecrets {
            id: 42,
            national_id: Some(id),
            phone: Some(110_013_812_345_678),
        };
        let s = k.seal(&p).expect("sealed");
        assert_eq!(k.open(42, &s), Ok((Some(id.digits()), p.phone)));
        assert_eq!(k.open(43, &s), Err(CryptError::Open));
        assert_eq!(keys().open(42, &s), Err(CryptError::Open));
        for i in 0..SEALED_LEN {
            let mut t = s;
            t[i] ^= 1;
            assert_eq!(k.open(42, &t), Err(CryptError::Open), "byte {i}");
        }
        assert_eq!(k.open(42, &s[..31]), Err(CryptError::Open));
        for v in [id.digits(), p.phone.expect("phone")] {
            assert!(!s.windows(8).any(|w| w == v.to_le_bytes()), "no plaintext");
        }
        // Either value may be absent; a person with neither seals nothing.
        let phone_only = PersonSecrets {
            national_id: None,
            ..p
        };
        let s2 = k.seal(&phone_only).expect("sealed");
        assert_eq!(k.open(42, &s2), Ok((None, p.phone)));
        assert_ne!(s, s2, "a changed pair seals to other bytes");
        assert_eq!(k.seal(&p), Some(s), "an unchanged pair seals alike");
        let none = PersonSecrets {
            id: 42,
            national_id: None,
            phone: None,
        };
        assert_eq!(k.seal(&none), None);
        // Another person with the same values: unrelated bytes.
        let twin = k.seal(&PersonSecrets { id: 43, ..p }).expect("sealed");
        assert_ne!(s, twin);
        assert_ne!(s[..16], twin[..16]);
    }

    #[test]
    fn seal_all_keeps_the_order_and_hashes_the_id_numbers() {
        let k = keys();
        let people: Vec<PersonSecrets> = (1..=40_000u64)
            .map(|i| PersonSecrets {
                id: i,
                national_id: (i % 3 != 0)
                    .then(|| NationalId::from_digits(11010519491231000 + i % 7).expect("id")),
                phone: (i % 5 != 0).then_some(110_013_800_000_000 + i),
            })
            .collect();
        let sealed = seal_all(&k, &people, |p| *p);
        assert_eq!(sealed.len(), people.len());
        for (p, s) in people.iter().zip(&sealed) {
            let opened = s.secrets.map(|b| k.open(p.id, &b).expect("opens"));
            let want = (p.national_id.is_some() || p.phone.is_some())
                .then(|| (p.national_id.map(|n| n.digits()), p.phone));
            assert_eq!(opened, want, "person {}", p.id);
            assert_eq!(s.national_id_hash, p.national_id.map(|n| k.lookup_hash(&n)));
        }
    }

    #[test]
    fn a_value_sealed_alone_opens_only_with_its_key_row_and_column() {
        let k = keys();
        let mut n = k.nonces().expect("nonces");
        let v = 11010519491231002u64;
        let s = k.seal_column(Column::NationalId, 42, v, n.next());
        assert_eq!(k.open_column(Column::NationalId, 42, &s), Ok(v));
        assert_eq!(
            k.open_column(Column::NationalId, 43, &s),
            Err(CryptError::Open)
        );
        assert_eq!(k.open_column(Column::Phone, 42, &s), Err(CryptError::Open));
        assert_eq!(
            keys().open_column(Column::NationalId, 42, &s),
            Err(CryptError::Open)
        );
        for i in 0..LEGACY_SEALED_LEN {
            let mut t = s;
            t[i] ^= 1;
            assert_eq!(
                k.open_column(Column::NationalId, 42, &t),
                Err(CryptError::Open),
                "byte {i}"
            );
        }
        assert_eq!(
            k.open_column(Column::NationalId, 42, &s[..35]),
            Err(CryptError::Open)
        );
        let (x, y) = (n.next(), n.next());
        assert_ne!(x, y);
        assert_ne!(
            k.seal_column(Column::Phone, 1, 5, x),
            k.seal_column(Column::Phone, 1, 5, y)
        );
    }

    #[test]
    fn the_key_file_text_round_trips_and_bad_files_are_refused() {
        let s = KeySecret::generate().expect("random");
        let text = s.to_file_text();
        assert_eq!(text.len(), 65);
        assert_eq!(KeySecret::from_file_bytes(text.as_bytes()), Ok(s.clone()));
        assert_eq!(Keyring::new(&s).id(), Keyring::new(&s).id());
        assert_ne!(Keyring::new(&s).id(), keys().id());
        assert!(!format!("{s:?}").contains(&text[..8]));
        let raw = [7u8; 32];
        assert!(KeySecret::from_file_bytes(&raw).is_ok());
        for bad in [&b""[..], b"abc", &[b'g'; 64]] {
            assert!(matches!(
                KeySecret::from_file_bytes(bad),
                Err(CryptError::BadKey { .. })
            ));
        }
    }

    #[test]
    fn the_lookup_hash_is_keyed_and_exact() {
        let (k, other) = (keys(), keys());
        let a = NationalId::parse("11010519491231002X").expect("id");
        let b = NationalId::parse("371482199003070015").expect("id");
        assert_eq!(k.lookup_hash(&a), k.lookup_hash(&a));
        assert_ne!(k.lookup_hash(&a), k.lookup_hash(&b));
        assert_ne!(k.lookup_hash(&a), other.lookup_hash(&a));
    }
}
