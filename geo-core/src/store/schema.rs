//! The DuckDB schema and its forward migrations. The version lives in
//! `meta.schema_version`; each migration moves it up by one inside a
//! transaction, so a store is never half-migrated.

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 11;

/// Reference columns carried by every element assigned to grids (格进图).
pub(crate) const REFS: &str =
    "community UBIGINT, comprehensive UBIGINT, micro UBIGINT, dedicated UBIGINT";

/// Migrations in order; index `i` moves the schema from version `i` to `i + 1`.
pub(crate) fn migrations() -> Vec<String> {
    let r = REFS;
    vec![
        format!(
            "
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE town (code VARCHAR NOT NULL, name VARCHAR NOT NULL, lon DOUBLE NOT NULL, lat DOUBLE NOT NULL);
CREATE TABLE communities (id UBIGINT PRIMARY KEY, code VARCHAR NOT NULL, name VARCHAR NOT NULL,
  is_village BOOLEAN NOT NULL, geom VARCHAR NOT NULL,
  minx DOUBLE, miny DOUBLE, maxx DOUBLE, maxy DOUBLE);
CREATE TABLE grids (id UBIGINT PRIMARY KEY, code VARCHAR NOT NULL, name VARCHAR NOT NULL,
  kind VARCHAR NOT NULL, community UBIGINT, parent UBIGINT, geom VARCHAR NOT NULL,
  workers VARCHAR NOT NULL, version INTEGER NOT NULL DEFAULT 1, retired BOOLEAN NOT NULL DEFAULT FALSE,
  minx DOUBLE, miny DOUBLE, maxx DOUBLE, maxy DOUBLE);
CREATE TABLE compounds (id UBIGINT PRIMARY KEY, name VARCHAR NOT NULL, era VARCHAR NOT NULL,
  built_year USMALLINT, geom VARCHAR NOT NULL, lon DOUBLE, lat DOUBLE, {r});
CREATE TABLE buildings (id UBIGINT PRIMARY KEY, compound UBIGINT, geom VARCHAR NOT NULL,
  levels USMALLINT, height_m FLOAT, usage VARCHAR NOT NULL, units USMALLINT NOT NULL,
  households UINTEGER NOT NULL, households_estimated BOOLEAN NOT NULL, address VARCHAR,
  lon DOUBLE, lat DOUBLE, {r});
CREATE TABLE units (id UBIGINT PRIMARY KEY, building UBIGINT NOT NULL, number USMALLINT NOT NULL,
  households UINTEGER NOT NULL, lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, {r});
CREATE TABLE households (id UBIGINT NOT NULL, building UBIGINT NOT NULL, unit UBIGINT,
  floor SMALLINT NOT NULL, room VARCHAR NOT NULL, size UTINYINT NOT NULL, tenure VARCHAR NOT NULL,
  group_rented BOOLEAN NOT NULL, party_member BOOLEAN NOT NULL, {r});
CREATE TABLE persons (id UBIGINT NOT NULL, household UBIGINT, name VARCHAR NOT NULL,
  national_id VARCHAR, phone VARCHAR, birth_year USMALLINT NOT NULL, sex VARCHAR NOT NULL,
  tags VARCHAR NOT NULL, {r});
CREATE TABLE places (id UBIGINT PRIMARY KEY, name VARCHAR NOT NULL, category VARCHAR NOT NULL,
  service VARCHAR, geom VARCHAR NOT NULL, lon DOUBLE, lat DOUBLE, {r});
CREATE TABLE events (id UBIGINT PRIMARY KEY, category VARCHAR NOT NULL, title VARCHAR NOT NULL,
  lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, reported_at BIGINT NOT NULL, source VARCHAR NOT NULL,
  status VARCHAR NOT NULL, grade VARCHAR NOT NULL, deadline BIGINT, handler VARCHAR,
  resolved_at BIGINT, satisfaction UTINYINT, master UBIGINT, reporter_household UBIGINT, {r});
CREATE TABLE event_transitions (event UBIGINT NOT NULL, seq INTEGER NOT NULL, from_status VARCHAR,
  to_status VARCHAR NOT NULL, at_s BIGINT NOT NULL, actor VARCHAR NOT NULL, note VARCHAR NOT NULL);
CREATE TABLE sentiments (id UBIGINT NOT NULL, kind VARCHAR NOT NULL, score FLOAT,
  text VARCHAR NOT NULL, at_s BIGINT NOT NULL, link_kind VARCHAR NOT NULL, link_id UBIGINT NOT NULL, {r});
CREATE TABLE organisations (id UBIGINT PRIMARY KEY, name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
  geom VARCHAR NOT NULL, compound UBIGINT, members VARCHAR NOT NULL, member_count UINTEGER NOT NULL,
  lon DOUBLE, lat DOUBLE, {r});
CREATE TABLE roads (id UBIGINT PRIMARY KEY, name VARCHAR, class VARCHAR NOT NULL, geom VARCHAR NOT NULL);
CREATE TABLE provenance (kind VARCHAR NOT NULL, source VARCHAR NOT NULL, crs VARCHAR NOT NULL,
  rows UBIGINT NOT NULL, at_s BIGINT NOT NULL);
CREATE TABLE audit_log (at_s BIGINT NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
  detail VARCHAR NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
"
        ),
        // 2: grid versions. `grids.version` is the version that created a
        // grid, `grids.retired_in` the one that retired it; `grid_versions`
        // is the history (codes as JSON arrays).
        "
ALTER TABLE grids ADD COLUMN retired_in INTEGER;
CREATE TABLE grid_versions (version INTEGER PRIMARY KEY, level VARCHAR, community UBIGINT,
  created_at BIGINT NOT NULL, actor VARCHAR NOT NULL, note VARCHAR NOT NULL, source VARCHAR NOT NULL,
  retired VARCHAR NOT NULL, created VARCHAR NOT NULL, reassigned VARCHAR NOT NULL);
"
        .to_string(),
        // 3: ID numbers and phones as numbers. DuckDB spent most of a large
        // people import compressing them as text (0.6 s of 1.25 s per
        // million rows), and they took more room: `national_id` is its 17
        // digits (the check character follows from them), `phone` is its
        // number of digits × 10¹³ plus its digits (leading zeros kept); see
        // `NationalId::digits` and `Phone::code`.
        "
ALTER TABLE persons ALTER national_id TYPE UBIGINT USING CAST(substr(national_id, 1, 17) AS UBIGINT);
ALTER TABLE persons ALTER phone TYPE UBIGINT USING length(phone) * 10000000000000 + CAST(phone AS UBIGINT);
"
        .to_string(),
        // 4: identity. Accounts (password as an Argon2id PHC string, never
        // the password), revocable kiosk tokens (only a SHA-256 of the
        // secret part is kept) and server secrets (receipt HMAC key).
        // Role, grids and department are checked by the edge that reads them.
        "
CREATE TABLE accounts (name VARCHAR PRIMARY KEY, display_name VARCHAR NOT NULL, role VARCHAR NOT NULL,
  grids VARCHAR NOT NULL, department VARCHAR, password_hash VARCHAR NOT NULL,
  disabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE kiosk_tokens (id VARCHAR PRIMARY KEY, secret_sha256 VARCHAR NOT NULL, role VARCHAR NOT NULL,
  label VARCHAR NOT NULL, origins VARCHAR NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE TABLE secrets (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
"
        .to_string(),
        // 5: ID numbers and phones encrypted at rest. `national_id` and
        // `phone` hold AES-256-GCM-SIV ciphertext bound to the row
        // (`crate::crypt`), `national_id_hash` the keyed look-up hash. The
        // table is rebuilt (the reference columns stay last, where the
        // writer puts them); `sealing::seal_plain_persons` fills it from the
        // old one in the same transaction and records the key ID.
        format!(
            "
CREATE TABLE persons_v5 (id UBIGINT NOT NULL, household UBIGINT, name VARCHAR NOT NULL,
  national_id BLOB, phone BLOB, national_id_hash UBIGINT, birth_year USMALLINT NOT NULL,
  sex VARCHAR NOT NULL, tags VARCHAR NOT NULL, {r});
"
        ),
        // 6: a tamper-evident audit log. Each line gets its place in the
        // chain (`seq`, from 1, unique) and `mac`, the keyed HMAC of the
        // previous line's `mac` and its own fields (`store::audit`); the
        // lines already there are chained by `audit::chain_all` in the same
        // transaction, oldest first.
        "
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN mac BLOB;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
"
        .to_string(),
        v7_event_photos(),
        v8_visits(),
        v9_persons_sealed_together(r),
        v10_assists_notes_visit_photos(),
        v11_regrid_jobs(),
    ]
}

/// 9: each person's ID number and phone sealed together in one 32-byte
/// `secrets` value (`crate::crypt`), in place of two 36-byte values sealed
/// alone: half the encryption work and 40 bytes less per person, stored
/// uncompressed (ciphertext does not compress, and DuckDB's analysis of it
/// cost more than the bytes). The table is rebuilt, reference columns last;
/// `sealing::seal_persons_together` fills it in the same transaction.
fn v9_persons_sealed_together(r: &str) -> String {
    format!(
        "
CREATE TABLE persons_v9 (id UBIGINT NOT NULL, household UBIGINT, name VARCHAR NOT NULL,
  secrets BLOB USING COMPRESSION uncompressed, national_id_hash UBIGINT,
  birth_year USMALLINT NOT NULL, sex VARCHAR NOT NULL, tags VARCHAR NOT NULL, {r});
"
    )
}

/// 7: event photos. One row links a photo (its SHA-256; the file lives in
/// the content-addressed folder beside the store, `<store>.photos/`) to an
/// event, with who added it and when; see `super::photos`.
fn v7_event_photos() -> String {
    "
CREATE TABLE event_photos (event UBIGINT NOT NULL, sha256 VARCHAR NOT NULL, content_type VARCHAR NOT NULL,
  bytes UBIGINT NOT NULL, width UINTEGER NOT NULL, height UINTEGER NOT NULL, actor VARCHAR NOT NULL,
  at_s BIGINT NOT NULL, PRIMARY KEY (event, sha256));
"
    .to_string()
}

/// 8: visits (走访/夜访) and the needs they find (一户一档). Both are about a
/// household and take its grids: a scoped read joins `households`, so a
/// re-gridding moves them with it. Needs stay open until `closed_at`.
fn v8_visits() -> String {
    "
CREATE TABLE visits (id UBIGINT PRIMARY KEY, household UBIGINT NOT NULL, at_s BIGINT NOT NULL,
  kind VARCHAR NOT NULL, notes VARCHAR NOT NULL, actor VARCHAR NOT NULL, recorded_at BIGINT NOT NULL);
CREATE INDEX visits_household ON visits (household);
CREATE TABLE needs (id UBIGINT PRIMARY KEY, household UBIGINT NOT NULL, visit UBIGINT,
  category VARCHAR NOT NULL, text VARCHAR NOT NULL, opened_at BIGINT NOT NULL,
  closed_at BIGINT, closed_by VARCHAR);
CREATE INDEX needs_household ON needs (household);
"
    .to_string()
}

/// 10: assisting departments of an event (网格吹哨、部门报到: one lead, any
/// number of assisting departments, who see the event and add notes but do
/// not move it), notes on an event outside its transitions, and photos of
/// visits (the same content-addressed files as event photos); see
/// `super::assists` and `super::visits`.
fn v10_assists_notes_visit_photos() -> String {
    "
CREATE TABLE event_assists (event UBIGINT NOT NULL, department VARCHAR NOT NULL, actor VARCHAR NOT NULL,
  at_s BIGINT NOT NULL, PRIMARY KEY (event, department));
CREATE TABLE event_notes (event UBIGINT NOT NULL, at_s BIGINT NOT NULL, actor VARCHAR NOT NULL,
  department VARCHAR, note VARCHAR NOT NULL);
CREATE INDEX event_notes_event ON event_notes (event);
CREATE TABLE visit_photos (visit UBIGINT NOT NULL, sha256 VARCHAR NOT NULL, content_type VARCHAR NOT NULL,
  bytes UBIGINT NOT NULL, width UINTEGER NOT NULL, height UINTEGER NOT NULL, actor VARCHAR NOT NULL,
  at_s BIGINT NOT NULL, PRIMARY KEY (visit, sha256));
"
    .to_string()
}

/// 11: re-gridding jobs, so a restart loses none (`super::regrid_jobs`):
/// who started one, its parameters, how it ended (`running`, `done`,
/// `failed`, `cancelled`, with the reason), the grid state it read (the
/// stale-proposal check of an adoption), its answer and proposal (JSON), and
/// the grid version it was adopted as.
fn v11_regrid_jobs() -> String {
    "
CREATE TABLE regrid_jobs (id UBIGINT PRIMARY KEY, owner VARCHAR NOT NULL, level VARCHAR NOT NULL,
  community UBIGINT, params VARCHAR NOT NULL, state VARCHAR NOT NULL, progress FLOAT NOT NULL,
  error VARCHAR, created_at BIGINT NOT NULL, finished_at BIGINT,
  basis_version BIGINT, basis_grids UBIGINT, basis_retired UBIGINT, basis_communities UBIGINT,
  result VARCHAR, proposal VARCHAR, adopted_version BIGINT);
"
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::Keyring;
    use crate::ids::{NationalId, PersonId, Phone};
    use crate::store::{Scope, Store};

    #[test]
    fn version_4_adds_the_identity_tables_and_keeps_the_rest() {
        let dir = std::env::temp_dir().join(format!("wangge-v4-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("v3.duckdb");
        {
            let conn = duckdb::Connection::open(&path).expect("open");
            for sql in migrations().iter().take(3) {
                conn.execute_batch(sql).expect("v1..v3");
            }
            conn.execute_batch("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
                .expect("v3");
        }
        let mut store = Store::open(&path, &Keyring::ephemeral().expect("key")).expect("migrated");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        assert_eq!(store.active_account_count().expect("accounts"), 0);
        assert!(store.tokens().expect("tokens").is_empty());
        let k = store.secret_or_insert("k", || "v".into()).expect("secret");
        assert_eq!(k, "v");
    }

    #[test]
    fn version_11_adds_the_regrid_jobs_table_to_a_version_10_store() {
        let dir = std::env::temp_dir().join(format!("wangge-v11-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("v10.duckdb");
        let keys = Keyring::ephemeral().expect("key");
        {
            // A store as version 10 left it: no jobs table.
            let store = Store::open(&path, &keys).expect("v11");
            store
                .conn
                .execute_batch(
                    "DROP TABLE regrid_jobs;
                     UPDATE meta SET value = '10' WHERE key = 'schema_version';",
                )
                .expect("back to v10");
            assert_eq!(store.schema_version().expect("version"), 10);
        }
        let mut store = Store::open(&path, &keys).expect("migrated");
        assert_eq!(store.schema_version().expect("version"), 11);
        assert!(store.regrid_job_ids().expect("jobs").is_empty());
        let job = crate::store::NewRegridJob {
            owner: "planner:p".into(),
            level: "micro".into(),
            community: None,
            params: "{}".into(),
            created_at: 1,
        };
        assert_eq!(store.start_regrid_job(&job, 64).expect("job"), 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn version_3_turns_stored_id_numbers_and_phones_into_numbers() {
        let dir = std::env::temp_dir().join(format!("wangge-schema3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("v2.duckdb");
        let _ = std::fs::remove_file(&path);
        {
            // A store as version 2 left it, with people stored as text.
            let c = duckdb::Connection::open(&path).expect("duckdb");
            for sql in &migrations()[..2] {
                c.execute_batch(sql).expect("migration");
            }
            c.execute_batch(
                "UPDATE meta SET value = '2' WHERE key = 'schema_version';
                 INSERT INTO persons (id, name, national_id, phone, birth_year, sex, tags) VALUES
                   (1, '甲', '11010519491231002X', '05311234567', 1949, 'male', ''),
                   (2, '乙', NULL, '13812345678', 1980, 'female', ''),
                   (3, '丙', '371482199003070019', NULL, 1990, 'male', '');",
            )
            .expect("v2 rows");
        }
        let store = Store::open(&path, &Keyring::ephemeral().expect("key")).expect("migrated");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let people = store.persons(&Scope::Town, None, None).expect("persons");
        let by_id = |i: u64| {
            people
                .iter()
                .find(|p| p.id == PersonId::new(i).expect("id"))
                .expect("person")
        };
        assert_eq!(
            by_id(1).national_id,
            Some(NationalId::parse("11010519491231002X").expect("id"))
        );
        assert_eq!(
            by_id(1).phone,
            Some(Phone::parse("05311234567").expect("phone"))
        );
        assert_eq!(by_id(2).national_id, None);
        assert_eq!(
            by_id(2).phone.map(|p| p.reveal().to_string()).as_deref(),
            Some("13812345678")
        );
        assert_eq!(by_id(3).phone, None);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
