//! Store errors.

use thiserror::Error;

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What went wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// DuckDB refused an operation.
    #[error("store: {context}: {source}")]
    Db {
        /// What the store was doing.
        context: String,
        /// DuckDB's error.
        #[source]
        source: duckdb::Error,
    },
    /// The file was written by a newer build.
    #[error("store schema version {found} is newer than this build supports ({supported}); upgrade wangge")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Version this build writes.
        supported: i64,
    },
    /// A stored row does not decode (corruption or a bad manual edit).
    #[error("store: table {table}, id {id}: column {column}: {reason}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Row ID.
        id: u64,
        /// Column.
        column: &'static str,
        /// Why.
        reason: String,
    },
    /// An element refers to another that is neither in the batch nor stored.
    #[error("{kind} {id}: {field} {target} does not exist in the file or the store")]
    MissingReference {
        /// Kind of the referring element.
        kind: &'static str,
        /// Its ID.
        id: u64,
        /// Field.
        field: &'static str,
        /// Referenced ID.
        target: u64,
    },
    /// An ID of the batch is already stored (or repeated in the batch).
    #[error("{kind} {id} already exists in the store (IDs must be unique)")]
    Duplicate {
        /// Kind.
        kind: &'static str,
        /// ID.
        id: u64,
    },
    /// The grids changed since a change was prepared against them (a
    /// re-gridding proposal computed before another version or an import).
    #[error("the grids changed since this change was prepared (then: {expected}; now: {found}); compute it again")]
    Stale {
        /// State the change was prepared against.
        expected: String,
        /// State found in the store.
        found: String,
    },
    /// A grid change that cannot be applied as given.
    #[error("grid change refused: {reason}")]
    InvalidChange {
        /// Why.
        reason: String,
    },
    /// A value does not fit the column it is written to.
    #[error("store: writing {table}: column {column}: {reason} (nothing was stored)")]
    Column {
        /// Table.
        table: String,
        /// Column position (0-based, in the table's order).
        column: usize,
        /// Why.
        reason: String,
    },
    /// The store is sealed with another key than the one given.
    #[error("the key (key id {given}) does not match this store (sealed with key id {stored})")]
    WrongKey {
        /// Key ID recorded in the store.
        stored: String,
        /// Key ID of the key given.
        given: String,
    },
    /// A key or sealed value could not be used.
    #[error("store: {0}")]
    Crypt(#[from] crate::crypt::CryptError),
    /// Asked for something that does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// ID or code.
        id: String,
    },
}

pub(crate) trait Ctx<T> {
    fn ctx(self, context: impl Into<String>) -> Result<T>;
}

impl<T> Ctx<T> for std::result::Result<T, duckdb::Error> {
    fn ctx(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| StoreError::Db {
            context: context.into(),
            source,
        })
    }
}
