//! The accounts store: sigra-core's store contracts implemented as plain SQL for this app's
//! database.
//!
//! sigra-core decides (is this session valid, is this account locked, may this token be
//! used); this module only stores. One file per table, each with its SQL next to the code
//! that reads its rows. Edit the SQL freely: `tests/conformance.rs` runs sigra-core's
//! conformance suite against it and names any promise an edit breaks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use host_store::accounts::store::AccountsStore;
//! use sigra_core::store::{Store, Transaction, UserStore};
//!
//! let store = AccountsStore::connect("sqlite://app.db").await?;
//! sqlx::migrate!("migrations/sqlite").run(store.pool()).await?;
//! let mut tx = store.begin().await?;
//! let user = tx.user_by_email("alice@example.com").await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

mod audit;
mod email_tokens;
mod rate_limits;
mod sessions;
mod users;

use std::time::Duration;

use sigra_core::store::{Id, Store, StoreError, Transaction};
use sqlx::Pool;
use time::OffsetDateTime;

/// The database this app uses.
#[cfg(feature = "sqlite")]
pub type Db = sqlx::Sqlite;
/// The database this app uses.
#[cfg(feature = "postgres")]
pub type Db = sqlx::Postgres;

/// A row of [`Db`].
type DbRow = <Db as sqlx::Database>::Row;

/// The primary-key type: UUID v7, chosen by sigra-core (`BLOB` on SQLite, `UUID` on
/// PostgreSQL).
type Key = sqlx::types::Uuid;

/// The key of an id, or `Corrupt` when handed an integer id this schema does not use.
fn key(id: &Id) -> Result<Key, StoreError> {
    id.as_uuid()
        .ok_or_else(|| StoreError::Corrupt(format!("expected a UUID id, got {id}")))
}

/// The key for a new row: the id sigra-core chose, or a fresh UUID v7.
fn new_key(chosen: Option<Id>) -> Result<Key, StoreError> {
    key(&chosen.unwrap_or_else(Id::new_v7))
}

/// A time as SQLite stores it: UTC text with up to six fractional digits
/// (`2026-03-14 15:09:26.535897`). One format for every row, so text order is time order
/// (`ORDER BY`, `<`) and equal instants are equal strings.
#[cfg(feature = "sqlite")]
fn at(t: OffsetDateTime) -> time::PrimitiveDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.time().microsecond();
    let t = t.replace_microsecond(micros).unwrap_or(t);
    time::PrimitiveDateTime::new(t.date(), t.time())
}

/// A time as PostgreSQL stores it: `TIMESTAMPTZ`, microseconds.
#[cfg(feature = "postgres")]
fn at(t: OffsetDateTime) -> OffsetDateTime {
    t
}

/// A failed query.
fn backend(err: sqlx::Error) -> StoreError {
    StoreError::backend(err)
}

/// A row that cannot be read back.
fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

/// Whether a statement failed on a unique index.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The app's accounts database: a connection pool.
#[derive(Clone, Debug)]
pub struct AccountsStore {
    pool: Pool<Db>,
}

impl AccountsStore {
    /// Wraps an existing pool.
    pub fn new(pool: Pool<Db>) -> Self {
        Self { pool }
    }

    /// The pool, for the app's own queries and for running migrations.
    pub fn pool(&self) -> &Pool<Db> {
        &self.pool
    }

    /// Opens the SQLite database at `url` (`sqlite://app.db`), creating the file if missing:
    /// WAL journal, foreign keys on, and a 5 s busy timeout so writers queue instead of
    /// failing.
    #[cfg(feature = "sqlite")]
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        use sqlx::sqlite::{
            SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
        };
        let options: SqliteConnectOptions = url.parse()?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self::new(pool))
    }

    /// Connects to the PostgreSQL database at `url`.
    #[cfg(feature = "postgres")]
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self::new(pool))
    }
}

impl Store for AccountsStore {
    type Tx = AccountsTx;

    async fn begin(&self) -> Result<AccountsTx, StoreError> {
        // SQLite: take the write lock up front, so two writers queue (busy_timeout) instead of
        // one failing half-way with SQLITE_BUSY. PostgreSQL: a plain `self.pool.begin()`.
        #[cfg(feature = "sqlite")]
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await;
        #[cfg(feature = "postgres")]
        let tx = self.pool.begin().await;
        Ok(AccountsTx {
            tx: tx.map_err(backend)?,
        })
    }

    async fn begin_read(&self) -> Result<AccountsTx, StoreError> {
        // A plain (deferred) BEGIN: on SQLite readers never queue behind writers.
        Ok(AccountsTx {
            tx: self.pool.begin().await.map_err(backend)?,
        })
    }
}

/// One transaction on the accounts database; dropping it without `commit` rolls back.
#[derive(Debug)]
pub struct AccountsTx {
    tx: sqlx::Transaction<'static, Db>,
}

impl Transaction for AccountsTx {
    async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(backend)
    }
}
