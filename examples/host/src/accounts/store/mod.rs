//! The accounts store: sigra-core's store contracts implemented as plain SQL for this
//! app's database.
//!
//! sigra-core decides (is this session valid, is this account locked, may this token be
//! used); this module only stores. One file per table, each with its SQL next to the code
//! that reads its rows. Edit the SQL freely: `tests/conformance.rs` runs sigra-core's
//! conformance suite against it and names any promise an edit breaks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sigra_example_host::accounts::store::AccountsStore;
//! use sigra_core::store::{Store, Transaction, UserStore};
//!
//! let db = sigra_example_host::app::connect(&sigra_example_host::db::url_from_env()?).await?;
//! let store = AccountsStore::new(db);
//! let mut tx = store.begin().await?;
//! let user = tx.user_by_email("alice@example.com").await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

mod audit;
mod email_tokens;
mod jobs;
mod mfa;
mod passkeys;
mod rate_limits;
mod sessions;
mod users;

use sigra_core::store::{Id, Store, StoreError, Transaction};

use crate::db::{self, Db, DbTransaction};

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
    matches!(err, sqlx::Error::Database(err) if err.is_unique_violation())
}

/// The app's accounts database: a connection pool.
#[derive(Clone, Debug)]
pub struct AccountsStore {
    db: Db,
}

impl AccountsStore {
    /// The store on `db`, a pool on a database with the migrations applied.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The pool, for the app's own queries.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl Store for AccountsStore {
    type Tx = AccountsTx;

    async fn begin(&self) -> Result<AccountsTx, StoreError> {
        Ok(AccountsTx {
            tx: db::begin_write(&self.db).await.map_err(backend)?,
        })
    }

    async fn begin_read(&self) -> Result<AccountsTx, StoreError> {
        // A plain (deferred) BEGIN: on SQLite readers never queue behind writers.
        Ok(AccountsTx {
            tx: self.db.begin().await.map_err(backend)?,
        })
    }
}

/// One transaction on the accounts database; dropping it without `commit` rolls back.
#[derive(Debug)]
pub struct AccountsTx {
    tx: DbTransaction,
}

impl Transaction for AccountsTx {
    async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(backend)
    }
}
