//! ID numbers and phones at rest: sealing a batch of people on every core,
//! sealing the rows of a store from before encryption (schema 5), checking
//! that a store is opened with its own key, and re-sealing under a new key.
//! The cipher, the look-up hash and the key file format are
//! [`crate::crypt`]'s.

use duckdb::{params, Connection};

use super::codec::opt_id;
use super::columnar::append_all;
use super::error::{Ctx, Result, StoreError};
use super::read::{collect_on, get};
use super::Store;
use crate::crypt::{seal_all, Column, Keyring, PersonSecrets};
use crate::ids::NationalId;

/// The schema version that introduced sealing.
pub(crate) const SEALED_SINCE: i64 = 5;

/// Name of the key ID in the `secrets` table.
const KEY_ID: &str = "field_key_id";

/// Seals `rows` into a temporary table `sealed_persons (id, national_id,
/// phone, national_id_hash)`, replacing what it held.
fn stage_sealed(conn: &Connection, keys: &Keyring, rows: &[PersonSecrets]) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS sealed_persons (id UBIGINT NOT NULL, national_id BLOB,
           phone BLOB, national_id_hash UBIGINT);
         DELETE FROM sealed_persons;",
    )
    .ctx("staging sealed persons")?;
    let sealed = seal_all(keys, rows, |p| *p)?;
    append_all(conn, "sealed_persons", rows, |i, p, cols| {
        let (n, ph, h) = sealed[i].columns();
        cols.push(params![p.id, n, ph, h])
    })
}

/// The people with an ID number or a phone, read by `national_id` and
/// `phone` (columns 1 and 2 of the row, given the person's ID).
fn stored_secrets(
    conn: &Connection,
    national_id: impl Fn(&duckdb::Row<'_>, u64) -> Result<Option<u64>>,
    phone: impl Fn(&duckdb::Row<'_>, u64) -> Result<Option<u64>>,
) -> Result<Vec<PersonSecrets>> {
    collect_on(
        conn,
        "SELECT id, national_id, phone FROM persons
         WHERE national_id IS NOT NULL OR phone IS NOT NULL",
        &[],
        |r| {
            let id: u64 = get(r, 0)?;
            Ok(PersonSecrets {
                id,
                national_id: opt_id(
                    "persons",
                    id,
                    "national_id",
                    national_id(r, id)?,
                    NationalId::from_digits,
                )?,
                phone: phone(r, id)?,
            })
        },
    )
}

/// Schema 5: seals the plain ID numbers and phones of `persons` (schema 4:
/// numbers) into `persons_v5`, which replaces it, and records the key ID.
/// Runs inside the migration's transaction.
pub(crate) fn seal_plain_persons(conn: &Connection, keys: &Keyring) -> Result<()> {
    let rows = stored_secrets(conn, |r, _| get(r, 1), |r, _| get(r, 2))?;
    stage_sealed(conn, keys, &rows)?;
    conn.execute_batch(
        "INSERT INTO persons_v5
           SELECT p.id, p.household, p.name, s.national_id, s.phone, s.national_id_hash,
                  p.birth_year, p.sex, p.tags, p.community, p.comprehensive, p.micro, p.dedicated
           FROM persons p LEFT JOIN sealed_persons s ON s.id = p.id ORDER BY p.rowid;
         DROP TABLE persons;
         ALTER TABLE persons_v5 RENAME TO persons;
         DROP TABLE sealed_persons;",
    )
    .ctx("sealing stored ID numbers and phones")?;
    conn.execute(
        "INSERT INTO secrets VALUES (?, ?)",
        params![KEY_ID, keys.id()],
    )
    .ctx("recording the key ID")?;
    Ok(())
}

/// Opens the sealed value in column `i` of a `persons` row (person `id`).
pub(crate) fn open_column(
    keys: &Keyring,
    r: &duckdb::Row<'_>,
    id: u64,
    i: usize,
    column: Column,
) -> Result<Option<u64>> {
    get::<Option<Vec<u8>>>(r, i)?
        .map(|b| {
            keys.open(column, id, &b).map_err(|e| StoreError::Corrupt {
                table: "persons",
                id,
                column: match column {
                    Column::NationalId => "national_id",
                    Column::Phone => "phone",
                },
                reason: e.to_string(),
            })
        })
        .transpose()
}

/// Refuses a store sealed with another key.
pub(crate) fn check_key(conn: &Connection, keys: &Keyring) -> Result<()> {
    let stored = collect_on(
        conn,
        "SELECT value FROM secrets WHERE name = ?",
        &[duckdb::types::Value::Text(KEY_ID.to_string())],
        |r| get::<String>(r, 0),
    )?;
    match stored.first() {
        Some(s) if s == keys.id() => Ok(()),
        Some(s) => Err(StoreError::WrongKey {
            stored: s.clone(),
            given: keys.id().to_string(),
        }),
        None => Err(StoreError::Corrupt {
            table: "secrets",
            id: 0,
            column: "value",
            reason: format!("no {KEY_ID}: the store records no key"),
        }),
    }
}

impl Store {
    /// The keyring the store is sealed with.
    pub(crate) fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// Re-seals every ID number and phone under `new` and records its key
    /// ID, in one transaction: on any error the store stays sealed with the
    /// old key. Returns the number of people re-sealed. From then on the
    /// store opens with `new` only.
    pub fn rotate_key(&mut self, new: &Keyring) -> Result<u64> {
        let tx = self.conn.transaction().ctx("starting key rotation")?;
        let old = &self.keys;
        let rows = stored_secrets(
            &tx,
            |r, id| open_column(old, r, id, 1, Column::NationalId),
            |r, id| open_column(old, r, id, 2, Column::Phone),
        )?;
        stage_sealed(&tx, new, &rows)?;
        tx.execute_batch(
            "UPDATE persons SET national_id = s.national_id, phone = s.phone,
               national_id_hash = s.national_id_hash
             FROM sealed_persons s WHERE persons.id = s.id;
             DROP TABLE sealed_persons;",
        )
        .ctx("re-sealing persons")?;
        tx.execute(
            "UPDATE secrets SET value = ? WHERE name = ?",
            params![new.id(), KEY_ID],
        )
        .ctx("recording the key ID")?;
        super::audit::rekey(&tx, old, new, chrono::Utc::now().timestamp())?;
        tx.commit().ctx("committing key rotation")?;
        self.keys = new.clone();
        Ok(rows.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::KeySecret;
    use crate::ids::{PersonId, Phone};
    use crate::model::{Person, Sex};
    use crate::store::Scope;
    use crate::Dataset;

    fn person(id: u64, national_id: &str, phone: &str) -> Person {
        Person {
            id: PersonId::new(id).expect("id"),
            household: None,
            name: format!("居民{id}"),
            national_id: Some(NationalId::parse(national_id).expect("national id")),
            phone: Some(Phone::parse(phone).expect("phone")),
            birth_year: 1980,
            sex: Sex::Female,
            tags: Vec::new(),
        }
    }

    fn temp(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("wangge-seal-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir.join("s.duckdb")
    }

    const A: &str = "11010519491231002X";
    const B: &str = "371482199003070015";

    #[test]
    fn people_are_sealed_looked_up_by_hash_and_bound_to_their_row() {
        let mut s = Store::open_in_memory().expect("store");
        let batch = Dataset {
            persons: vec![person(1, A, "13812345678"), person(2, B, "05311234567")],
            ..Dataset::default()
        };
        s.write(&batch, &|_| Default::default(), None)
            .expect("write");
        let found = s
            .persons_by_national_id(&Scope::Town, &NationalId::parse(B).expect("id"))
            .expect("lookup");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id.get(), 2);
        assert_eq!(
            found[0].phone.map(|p| p.reveal().to_string()).as_deref(),
            Some("05311234567")
        );
        let none = s
            .persons_by_national_id(
                &Scope::Town,
                &NationalId::from_digits(11010519491231003).expect("id"),
            )
            .expect("lookup");
        assert!(none.is_empty());
        // Stored as 36-byte ciphertext; swapping two rows' ciphertexts is
        // detected, not read as the other person's number.
        let (len, hashes): (u64, u64) = s
            .conn
            .query_row(
                "SELECT max(octet_length(national_id)), count(DISTINCT national_id_hash) FROM persons",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("query");
        assert_eq!((len, hashes), (36, 2));
        s.conn
            .execute_batch(
                "UPDATE persons SET national_id = (SELECT national_id FROM persons WHERE id = 2) WHERE id = 1",
            )
            .expect("swap");
        let e = s
            .persons(&Scope::Town, None, None)
            .expect_err("moved ciphertext");
        assert!(e.to_string().contains("does not decrypt"), "{e}");
    }

    #[test]
    fn a_store_opens_with_its_own_key_only_and_rotation_moves_it() {
        let path = temp("rotate");
        let old = Keyring::new(&KeySecret::generate().expect("key"));
        let new = Keyring::new(&KeySecret::generate().expect("key"));
        {
            let mut s = Store::open(&path, &old).expect("store");
            let batch = Dataset {
                persons: vec![person(1, A, "13812345678")],
                ..Dataset::default()
            };
            s.write(&batch, &|_| Default::default(), None)
                .expect("write");
        }
        let e = Store::open(&path, &new).expect_err("another key");
        assert!(
            matches!(&e, StoreError::WrongKey { stored, given } if stored == old.id() && given == new.id()),
            "{e}"
        );
        {
            let mut s = Store::open(&path, &old).expect("store");
            assert_eq!(s.rotate_key(&new).expect("rotate"), 1);
            assert_eq!(s.key_id(), new.id());
            let p = s
                .persons(&Scope::Town, None, None)
                .expect("read after rotation");
            assert_eq!(
                p[0].national_id.map(|n| n.reveal().to_string()).as_deref(),
                Some(A)
            );
        }
        assert!(matches!(
            Store::open(&path, &old),
            Err(StoreError::WrongKey { .. })
        ));
        let s = Store::open(&path, &new).expect("new key");
        assert_eq!(
            s.persons_by_national_id(&Scope::Town, &NationalId::parse(A).expect("id"))
                .expect("lookup")
                .len(),
            1,
            "the look-up hash follows the new key"
        );
    }

    #[test]
    fn a_version_4_store_is_sealed_in_place_by_the_migration() {
        let path = temp("v4");
        {
            let c = Connection::open(&path).expect("duckdb");
            for sql in &super::super::schema::migrations()[..4] {
                c.execute_batch(sql).expect("v1..v4");
            }
            c.execute_batch(
                "UPDATE meta SET value = '4' WHERE key = 'schema_version';
                 INSERT INTO persons (id, household, name, national_id, phone, birth_year, sex, tags, micro)
                 VALUES (1, NULL, '甲', 11010519491231002, 110005311234567, 1949, 'male', '', 7),
                        (2, NULL, '乙', NULL, 100001381234567, 1980, 'female', '', NULL),
                        (3, NULL, '丙', NULL, NULL, 1990, 'male', '', NULL);",
            )
            .expect("v4 rows");
        }
        let keys = Keyring::new(&KeySecret::generate().expect("key"));
        let s = Store::open(&path, &keys).expect("migrated");
        assert_eq!(
            s.schema_version().expect("version"),
            super::super::SCHEMA_VERSION
        );
        let p = s.persons(&Scope::Town, None, None).expect("persons");
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[0].national_id.map(|n| n.reveal().to_string()).as_deref(),
            Some(A)
        );
        assert_eq!(
            p[0].phone.map(|n| n.reveal().to_string()).as_deref(),
            Some("05311234567")
        );
        assert_eq!(
            p[1].phone.map(|n| n.reveal().to_string()).as_deref(),
            Some("1381234567")
        );
        assert_eq!((p[2].national_id, p[2].phone), (None, None));
        let (types, micro): (String, Option<u64>) = s
            .conn
            .query_row(
                "SELECT typeof(national_id) || ' ' || typeof(phone) || ' ' || typeof(national_id_hash), micro
                 FROM persons WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("query");
        assert_eq!((types.as_str(), micro), ("BLOB BLOB UBIGINT", Some(7)));
        drop(s);
        assert!(matches!(
            Store::open(&path, &Keyring::new(&KeySecret::generate().expect("key"))),
            Err(StoreError::WrongKey { .. })
        ));
    }
}
