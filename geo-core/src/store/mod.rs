//! The DuckDB store: the one repository layer through which every read and
//! write reaches the database file.
//!
//! * Writes of a batch are all-or-nothing: one transaction, references checked
//!   against the batch and the store before anything is appended.
//! * Every read takes a [`Scope`], so grid- and role-based access is enforced
//!   here and nowhere else.
//! * Each element row carries its grid references (community, comprehensive,
//!   micro, dedicated): 人进户、户进房、房进格、格进图 is stored, and rewritten
//!   when grids change ([`Store::replace_grids`], [`Store::write_grids`]).
//! * Grids are versioned: a change retires the old grids (kept, readable with
//!   [`Store::grids_of_version`]) and records who, when, why and what in the
//!   history ([`Store::grid_versions`]). Plain reads see current grids only.
//! * ID numbers and phones are sealed with the store's [`Keyring`] (a key
//!   file outside the store): the file holds ciphertext and a keyed look-up
//!   hash only ([`Store::persons_by_national_id`], [`Store::rotate_key`]).

mod accounts;
mod assists;
mod audit;
mod codec;
mod columnar;
mod decode;
mod error;
mod photos;
mod read;
mod regrid_jobs;
mod schema;
mod scope;
mod sealing;
mod versions;
mod visits;
mod write;

use std::path::{Path, PathBuf};

use duckdb::Connection;

use crate::crypt::Keyring;

pub use accounts::{AccountRow, TokenRow};
pub use assists::NoteRow;
pub use audit::{AuditBreak, AuditCheck, AuditLine};
pub use error::{Result, StoreError};
pub use photos::{PhotoRow, VisitPhotoRow};
pub use read::{Counts, EventFilter, GridPopulation, LoadSet, Page, TransitionRow};
pub use regrid_jobs::{NewRegridJob, RegridJobEnd, RegridJobRow, RegridJobState};
pub use schema::SCHEMA_VERSION;
pub use scope::Scope;
pub use versions::{
    GridChange, GridImport, GridState, GridVersion, NewGrid, VersionReport, VersionedGrid,
};
pub use visits::{CareRow, Dwelling, NewNeed, NewVisit};
pub use write::{ElementRef, NewEvent, Provenance, RefSource, SealingAhead, WriteReport};

use error::Ctx;

/// A handle on one DuckDB file.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    keys: Keyring,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("key_id", &self.keys.id())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) a store file sealed with `keys`, and
    /// migrates it forward (a store from before encryption is sealed with
    /// `keys` then). A store sealed with another key is refused
    /// ([`StoreError::WrongKey`]) before anything is read.
    pub fn open(path: impl AsRef<Path>, keys: &Keyring) -> Result<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path).ctx(format!("opening {}", path.display()))?;
        let mut store = Self {
            conn,
            path: Some(path.to_path_buf()),
            keys: keys.clone(),
        };
        store.migrate()?;
        sealing::check_key(&store.conn, &store.keys)?;
        Ok(store)
    }

    /// Opens a throw-away in-memory store (tests, dry runs), sealed with a
    /// key that is never written anywhere.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().ctx("opening in-memory store")?;
        let mut store = Self {
            conn,
            path: None,
            keys: Keyring::ephemeral()?,
        };
        store.migrate()?;
        Ok(store)
    }

    /// A second connection on the same database (for another thread).
    pub fn try_clone(&self) -> Result<Self> {
        Ok(Self {
            conn: self.conn.try_clone().ctx("cloning connection")?,
            path: self.path.clone(),
            keys: self.keys.clone(),
        })
    }

    /// Bounds DuckDB's memory (its buffer pool and query state, MiB) and
    /// its worker threads. Both are settings of the database, not of this
    /// connection: every connection cloned from this store ([`Store::try_clone`],
    /// before or after) works under them. `None` keeps DuckDB's own (80 %
    /// of the machine's memory; one thread per core).
    pub fn set_limits(&self, memory_mib: Option<u64>, threads: Option<u16>) -> Result<()> {
        if let Some(mib) = memory_mib {
            self.conn
                .execute_batch(&format!("SET memory_limit = '{}MiB'", mib.max(1)))
                .ctx(format!("setting DuckDB memory_limit to {mib} MiB"))?;
        }
        if let Some(n) = threads {
            self.conn
                .execute_batch(&format!("SET threads = {}", n.max(1)))
                .ctx(format!("setting DuckDB threads to {n}"))?;
        }
        Ok(())
    }

    /// DuckDB's memory limit (bytes) and worker threads as the database
    /// reports them (`current_setting`), read on this connection.
    pub fn limits(&self) -> Result<(u64, u64)> {
        // `memory_limit` reads back as text rounded for display ("1.9 GiB").
        let memory: i64 = self
            .conn
            .query_row("SELECT current_setting('memory_limit')", [], |r| {
                r.get::<_, String>(0)
            })
            .ctx("reading DuckDB memory_limit")
            .and_then(|t| {
                parse_size(&t).ok_or_else(|| StoreError::Corrupt {
                    table: "duckdb_settings",
                    id: 0,
                    column: "memory_limit",
                    reason: format!("not a size: {t:?}"),
                })
            })?;
        let threads: i64 = self
            .conn
            .query_row("SELECT current_setting('threads')::BIGINT", [], |r| {
                r.get(0)
            })
            .ctx("reading DuckDB threads")?;
        Ok((memory.max(0) as u64, threads.max(0) as u64))
    }

    /// The ID of the key the store is sealed with.
    pub fn key_id(&self) -> &str {
        self.keys.id()
    }

    /// The file path, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<i64> {
        let has_meta: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'",
                [],
                |r| r.get(0),
            )
            .ctx("reading schema version")?;
        if has_meta == 0 {
            return Ok(0);
        }
        let v: String = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .ctx("reading schema version")?;
        v.parse().map_err(|_| StoreError::Corrupt {
            table: "meta",
            id: 0,
            column: "schema_version",
            reason: format!("not an integer: {v:?}"),
        })
    }

    /// A setting of the file kept in its `meta` table (`schema_version`,
    /// `demo` on a store `wangge demo` made), if set.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT value FROM meta WHERE key = ?")
            .ctx("reading meta")?;
        let mut rows = stmt.query([key]).ctx("reading meta")?;
        match rows.next().ctx("reading meta")? {
            Some(r) => Ok(Some(r.get::<_, String>(0).ctx("reading meta")?)),
            None => Ok(None),
        }
    }

    /// Sets a `meta` setting (not `schema_version`, which migrations own).
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        if key == "schema_version" {
            return Err(StoreError::Corrupt {
                table: "meta",
                id: 0,
                column: "schema_version",
                reason: "only migrations set the schema version".into(),
            });
        }
        self.conn
            .execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .ctx("writing meta")?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in schema::migrations().iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction().ctx("starting migration")?;
            tx.execute_batch(sql)
                .ctx(format!("migrating schema {i} -> {}", i + 1))?;
            if i + 1 == sealing::SEALED_SINCE as usize {
                sealing::seal_plain_persons(&tx, &self.keys)?;
            }
            if i + 1 == sealing::SEALED_TOGETHER_SINCE as usize {
                sealing::seal_persons_together(&tx, &self.keys)?;
            }
            if i + 1 == audit::CHAINED_SINCE as usize {
                audit::chain_all(&tx, &self.keys)?;
            }
            tx.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                [(i + 1).to_string()],
            )
            .ctx("recording schema version")?;
            tx.commit().ctx("committing migration")?;
        }
        Ok(())
    }
}

/// Bytes of a size as DuckDB prints it (`1.9 GiB`, `512.0 MiB`, `100 KiB`,
/// `3.2 GB`).
fn parse_size(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = (t[..split].trim(), t[split..].trim());
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "bytes" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return None,
    };
    Some((n * mult).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limits reach DuckDB and hold on every connection of the store,
    /// cloned before and after they were set (the server's readers are
    /// cloned from the write connection).
    #[test]
    fn limits_reach_duckdb_on_every_connection() {
        let store = Store::open_in_memory().expect("store");
        let before = store.try_clone().expect("clone");
        store.set_limits(Some(300), Some(1)).expect("set");
        let after = store.try_clone().expect("clone");
        for s in [&store, &before, &after] {
            let (memory, threads) = s.limits().expect("limits");
            assert_eq!(threads, 1);
            // DuckDB prints the limit rounded to a tenth of a unit.
            let want = 300 << 20;
            assert!(memory.abs_diff(want) < want / 100, "{memory} bytes");
        }
        store.set_limits(Some(2048), Some(2)).expect("set");
        let (memory, threads) = before.limits().expect("limits");
        assert_eq!(threads, 2);
        assert!(memory.abs_diff(2048 << 20) < (2048 << 20) / 100, "{memory}");
    }

    #[test]
    fn sizes_parse_as_duckdb_prints_them() {
        assert_eq!(parse_size("1.9 GiB"), Some(2_040_109_466));
        assert_eq!(parse_size("512.0 MiB"), Some(512 << 20));
        assert_eq!(parse_size("0 bytes"), Some(0));
        assert_eq!(parse_size("3.2 GB"), Some(3_200_000_000));
        assert_eq!(parse_size("lots"), None);
    }
}
