//! The DuckDB schema and its forward migrations. The version lives in
//! `meta.schema_version`; each migration moves it up by one inside a
//! transaction, so a store is never half-migrated.

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

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
    ]
}
