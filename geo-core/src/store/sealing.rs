//! ID numbers and phones at rest: sealing a batch of people on every core,
//! the migrations that seal a store's rows (schema 5: the plain numbers of
//! schema 4, each alone; schema 9: each person's pair together), checking
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

/// The schema version that introduced sealing (each value alone).
pub(crate) const SEALED_SINCE: i64 = 5;

/// The schema version that seals each person's pair together.
pub(crate) const SEALED_TOGETHER_SINCE: i64 = 9;

/// Name of the key ID in the `secrets` table.
const KEY_ID: &str = "field_key_id";

/// Seals `rows` into a temporary table `sealed_persons (id, secrets,
/// national_id_hash)`, replacing what it held.
fn stage_sealed(conn: &Connection, keys: &Keyring, rows: &[PersonSecrets]) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS sealed_persons (id UBIGINT NOT NULL, secrets BLOB,
           national_id_hash UBIGINT);
         DELETE FROM sealed_persons;",
    )
    .ctx("staging sealed persons")?;
    let sealed = seal_all(keys, rows, |p| *p);
    append_all(conn, "sealed_persons", rows, |i, p, cols| {
        let s = &sealed[i];
        cols.push(params![
            p.id,
            s.secrets.as_ref().map(|b| &b[..]),
            s.national_id_hash
        ])
    })
}

/// The people with an ID number or a phone: `sql` selects them with the
/// person's ID first, `secrets` reads the pair from the row.
fn stored_secrets(
    conn: &Connection,
    sql: &str,
    secrets: impl Fn(&duckdb::Row<'_>, u64) -> Result<(Option<u64>, Option<u64>)>,
) -> Result<Vec<PersonSecrets>> {
    collect_on(conn, sql, &[], |r| {
        let id: u64 = get(r, 0)?;
        let (national_id, phone) = secrets(r, id)?;
        Ok(PersonSecrets {
            id,
            national_id: opt_id(
                "persons",
                id,
                "national_id",
                national_id,
                NationalId::from_digits,
            )?,
            phone,
        })
    })
}

/// Schema 5: seals the plain ID numbers and phones of `persons` (schema 4:
/// numbers), each alone as schemas 5–8 kept them, into `persons_v5`, which
/// replaces it, and records the key ID. Runs inside the migration's
/// transaction.
pub(crate) fn seal_plain_persons(conn: &Connection, keys: &Keyring) -> Result<()> {
    let rows = stored_secrets(
        conn,
        "SELECT id, national_id, phone FROM persons
         WHERE national_id IS NOT NULL OR phone IS NOT NULL",
        |r, _| Ok((get(r, 1)?, get(r, 2)?)),
    )?;
    conn.execute_batch(
        "CREATE TEMP TABLE sealed_v5 (id UBIGINT NOT NULL, national_id BLOB, phone BLOB,
           national_id_hash UBIGINT);",
    )
    .ctx("staging sealed persons")?;
    let mut nonces = keys.nonces()?;
    let sealed: Vec<_> = rows
        .iter()
        .map(|p| {
            (
                p.national_id
                    .map(|n| keys.seal_column(Column::NationalId, p.id, n.digits(), nonces.next())),
                p.phone
                    .map(|c| keys.seal_column(Column::Phone, p.id, c, nonces.next())),
                p.national_id.map(|n| keys.lookup_hash(&n)),
            )
        })
        .collect();
    append_all(conn, "sealed_v5", &rows, |i, p, cols| {
        let (n, ph, h) = &sealed[i];
        cols.push(params![
            p.id,
            n.as_ref().map(|b| &b[..]),
            ph.as_ref().map(|b| &b[..]),
            h
        ])
    })?;
    conn.execute_batch(
        "INSERT INTO persons_v5
           SELECT p.id, p.household, p.name, s.national_id, s.phone, s.national_id_hash,
                  p.birth_year, p.sex, p.tags, p.community, p.comprehensive, p.micro, p.dedicated
           FROM persons p LEFT JOIN sealed_v5 s ON s.id = p.id ORDER BY p.rowid;
         DROP TABLE persons;
         ALTER TABLE persons_v5 RENAME TO persons;
         DROP TABLE sealed_v5;",
    )
    .ctx("sealing stored ID numbers and phones")?;
    conn.execute(
        "INSERT INTO secrets VALUES (?, ?)",
        params![KEY_ID, keys.id()],
    )
    .ctx("recording the key ID")?;
    Ok(())
}

/// Schema 9: opens each person's ID number and phone, sealed alone by
/// schemas 5–8, seals the pair together into `persons_v9`, which replaces
/// `persons`. Runs inside the migration's transaction.
pub(crate) fn seal_persons_together(conn: &Connection, keys: &Keyring) -> Result<()> {
    let rows = stored_secrets(
        conn,
        "SELECT id, national_id, phone FROM persons
         WHERE national_id IS NOT NULL OR phone IS NOT NULL",
        |r, id| {
            let open = |i: usize, column: Column| -> Result<Option<u64>> {
                get::<Option<Vec<u8>>>(r, i)?
                    .map(|b| {
                        keys.open_column(column, id, &b)
                            .map_err(|e| corrupt(id, column.name(), e))
                    })
                    .transpose()
            };
            Ok((open(1, Column::NationalId)?, open(2, Column::Phone)?))
        },
    )?;
    stage_sealed(conn, keys, &rows)?;
    conn.execute_batch(
        "INSERT INTO persons_v9
           SELECT p.id, p.household, p.name, s.secrets, s.national_id_hash,
                  p.birth_year, p.sex, p.tags, p.community, p.comprehensive, p.micro, p.dedicated
           FROM persons p LEFT JOIN sealed_persons s ON s.id = p.id ORDER BY p.rowid;
         DROP TABLE persons;
         ALTER TABLE persons_v9 RENAME TO persons;
         DROP TABLE sealed_persons;",
    )
    .ctx("sealing each person's ID number and phone together")?;
    Ok(())
}

fn corrupt(id: u64, column: &'static str, e: crate::crypt::CryptError) -> StoreError {
    StoreError::Corrupt {
        table: "persons",
        id,
        column,
        reason: e.to_string(),
    }
}

/// Opens the sealed pair in column `i` of a `persons` row (person `id`):
/// the ID number's digits and the phone code.
pub(crate) fn open_secrets(
    keys: &Keyring,
    r: &duckdb::Row<'_>,
    id: u64,
    i: usize,
) -> Result<(Option<u64>, Option<u64>)> {
    Ok(get::<Option<Vec<u8>>>(r, i)?
        .map(|b| keys.open(id, &b).map_err(|e| corrupt(id, "secrets", e)))
        .transpose()?
        .unwrap_or((None, None)))
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
            "SELECT id, secrets FROM persons WHERE secrets IS NOT NULL",
            |r, id| open_secrets(old, r, id, 1),
        )?;
        stage_sealed(&tx, new, &rows)?;
        tx.execute_batch(
            "UPDATE persons SET secrets = s.secrets, national_id_hash = s.national_id_hash
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
        // Stored as one 32-byte ciphertext per person; swapping two rows'
        // ciphertexts is detected, not read as the other person's number.
        let (len, hashes): (u64, u64) = s
            .conn
            .query_row(
                "SELECT max(octet_length(secrets)), count(DISTINCT national_id_hash) FROM persons",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("query");
        assert_eq!((len, hashes), (32, 2));
        s.conn
            .execute_batch(
                "UPDATE persons SET secrets = (SELECT secrets FROM persons WHERE id = 2) WHERE id = 1",
            )
            .expect("swap");
        let e = s
            .persons(&Scope::Town, None, None)
            .expect_err("moved ciphertext");
        assert!(e.to_string().contains("does not decrypt"), "{e}");
    }

    #[test]
    fn seals_made_ahead_are_stored_and_a_batch_changed_since_is_sealed_again() {
        let mut s = Store::open_in_memory().expect("store");
        let mut batch = Dataset {
            persons: vec![person(1, A, "13812345678"), person(2, B, "05311234567")],
            ..Dataset::default()
        };
        let ahead = s.seal_ahead(&batch.persons);
        s.write_sealed(&batch, &|_| Default::default(), None, Some(ahead))
            .expect("write");
        let stored = s.persons(&Scope::Town, None, None).expect("read");
        let numbers: Vec<_> = stored
            .iter()
            .map(|p| (p.id.get(), p.national_id, p.phone))
            .collect();
        let want: Vec<_> = batch
            .persons
            .iter()
            .map(|p| (p.id.get(), p.national_id, p.phone))
            .collect();
        assert_eq!(numbers, want);

        // Sealed ahead, then the batch changed (another person's number,
        // another ID): the seals made ahead are not used.
        let mut changed = person(3, A, "13812345678");
        let ahead = s.seal_ahead(std::slice::from_ref(&changed));
        changed.national_id = Some(NationalId::parse(B).expect("id"));
        batch.persons = vec![changed.clone()];
        s.write_sealed(&batch, &|_| Default::default(), None, Some(ahead))
            .expect("write");
        let found = s
            .persons_by_national_id(&Scope::Town, &NationalId::parse(B).expect("id"))
            .expect("lookup");
        assert_eq!(
            found.iter().map(|p| p.id.get()).collect::<Vec<_>>(),
            [2, 3],
            "person 3 found by the number it was written with"
        );
        let three = found.iter().find(|p| p.id.get() == 3).expect("person 3");
        assert_eq!(three.national_id, changed.national_id);
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

    /// Three people as a schema-4 store kept them (plain numbers): one with
    /// both an ID number and a phone, one with a phone only, one with
    /// neither.
    const V4_PEOPLE: &str =
        "INSERT INTO persons (id, household, name, national_id, phone, birth_year, sex, tags, micro)
         VALUES (1, NULL, '甲', 11010519491231002, 110005311234567, 1949, 'male', '', 7),
                (2, NULL, '乙', NULL, 100001381234567, 1980, 'female', '', NULL),
                (3, NULL, '丙', NULL, NULL, 1990, 'male', '', 9);";

    /// [`V4_PEOPLE`] read back from a migrated store, numbers opened.
    fn assert_v4_people_read_back(s: &Store) {
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
        assert_eq!(p[1].national_id, None);
        assert_eq!(
            p[1].phone.map(|n| n.reveal().to_string()).as_deref(),
            Some("1381234567")
        );
        assert_eq!((p[2].national_id, p[2].phone), (None, None));
    }

    #[test]
    fn a_version_4_store_is_sealed_in_place_by_the_migration() {
        let path = temp("v4");
        {
            let c = Connection::open(&path).expect("duckdb");
            for sql in &super::super::schema::migrations()[..4] {
                c.execute_batch(sql).expect("v1..v4");
            }
            c.execute_batch("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
                .expect("version");
            c.execute_batch(V4_PEOPLE).expect("v4 rows");
        }
        let keys = Keyring::new(&KeySecret::generate().expect("key"));
        let s = Store::open(&path, &keys).expect("migrated");
        assert_eq!(
            s.schema_version().expect("version"),
            super::super::SCHEMA_VERSION
        );
        assert_v4_people_read_back(&s);
        let (types, micro): (String, Option<u64>) = s
            .conn
            .query_row(
                "SELECT typeof(secrets) || ' ' || typeof(national_id_hash), micro
                 FROM persons WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("query");
        assert_eq!((types.as_str(), micro), ("BLOB UBIGINT", Some(7)));
        drop(s);
        assert!(matches!(
            Store::open(&path, &Keyring::new(&KeySecret::generate().expect("key"))),
            Err(StoreError::WrongKey { .. })
        ));
    }

    #[test]
    fn a_version_8_store_has_each_persons_pair_sealed_together_by_the_migration() {
        let path = temp("v8");
        let keys = Keyring::new(&KeySecret::generate().expect("key"));
        {
            // A store as schema 8 left it: v4 rows sealed alone by the v5
            // step, then the SQL of 6..8.
            let mut c = Connection::open(&path).expect("duckdb");
            let m = super::super::schema::migrations();
            for sql in &m[..4] {
                c.execute_batch(sql).expect("v1..v4");
            }
            c.execute_batch(V4_PEOPLE).expect("v4 rows");
            let tx = c.transaction().expect("tx");
            tx.execute_batch(&m[4]).expect("v5 sql");
            seal_plain_persons(&tx, &keys).expect("v5 sealing");
            for sql in &m[5..8] {
                tx.execute_batch(sql).expect("v6..v8");
            }
            tx.execute_batch("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
                .expect("version");
            tx.commit().expect("commit");
            let len: u64 = c
                .query_row(
                    "SELECT octet_length(national_id) FROM persons WHERE id = 1",
                    [],
                    |r| r.get(0),
                )
                .expect("v8 layout");
            assert_eq!(len, 36, "sealed alone, as schemas 5–8 did");
        }
        let s = Store::open(&path, &keys).expect("migrated");
        assert_eq!(
            s.schema_version().expect("version"),
            super::super::SCHEMA_VERSION
        );
        assert_v4_people_read_back(&s);
        assert_eq!(
            s.persons_by_national_id(&Scope::Town, &NationalId::parse(A).expect("id"))
                .expect("lookup")
                .len(),
            1,
            "the look-up hash survives the migration"
        );
        let rows: Vec<(u64, Option<u64>, Option<u64>)> = {
            let mut st = s
                .conn
                .prepare("SELECT id, octet_length(secrets), micro FROM persons ORDER BY id")
                .expect("query");
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("query")
                .collect::<std::result::Result<_, _>>()
                .expect("rows")
        };
        assert_eq!(
            rows,
            vec![
                (1, Some(32), Some(7)),
                (2, Some(32), None),
                (3, None, Some(9))
            ],
            "one 32-byte value per person with either, none without; grids kept"
        );
    }
}
