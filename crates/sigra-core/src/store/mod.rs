//! Store contracts: what sigra-core needs from the app's database, and the promises each
//! implementation must keep.
//!
//! Core decides, host stores. sigra-core makes every security decision (is this session still
//! valid, is this account locked, may this token be used) and asks the app's database for
//! small, plain operations. `cargo sigra install` generates those operations as plain SQL in
//! the app (one file per table), for SQLite or PostgreSQL; the app may edit them freely, and
//! the conformance suite (feature `testing`) tells it at once if an edit broke a promise below.
//!
//! # Shape
//!
//! A [`Store`] opens a [`Transaction`]. Every flow runs its reads and writes, *and the audit
//! row that records them*, inside one transaction and commits once, so a change and its audit
//! event are durable together or not at all. Dropping a transaction without committing rolls
//! it back.
//!
//! The operations are split by table, one trait each: [`UserStore`], [`SessionStore`],
//! [`EmailTokenStore`], [`AuditStore`], [`RateLimitStore`], [`JobStore`] (the outbox and
//! background jobs), [`MfaStore`] (TOTP credentials and backup codes), [`PasskeyStore`] and
//! [`WebauthnChallengeStore`]. A transaction implements them all.
//!
//! # Promises every implementation keeps
//!
//! - **Atomic compare-and-set where it says so.** [`EmailTokenStore::take_email_token`] is a
//!   single `DELETE … RETURNING`: of two concurrent callers holding the same token, exactly
//!   one gets it; so is [`WebauthnChallengeStore::take_webauthn_challenge`].
//!   [`UserStore::increment_failed_logins`] and [`RateLimitStore::hit`] are single
//!   `UPDATE … RETURNING` / upsert statements: concurrent increments are never lost.
//! - **Uniqueness.** User emails are unique case-insensitively among users that are not
//!   deleted; session token digests are unique; `(context, digest)` of email tokens is unique.
//!   A violation is reported as [`StoreError::Conflict`], never as a generic failure, and it
//!   **leaves the transaction usable**: the flow can still write its audit event and commit.
//!   (PostgreSQL aborts a transaction on any error, so implementations use
//!   `INSERT … ON CONFLICT DO NOTHING` and report the missing row, or a savepoint.)
//! - **Isolation.** Writes in an uncommitted transaction are invisible to others and vanish
//!   on rollback. On SQLite, transactions that will write begin with `BEGIN IMMEDIATE` so two
//!   writers queue instead of failing with `SQLITE_BUSY` half-way.
//! - **Only digests.** Stores never see a raw session, email or reset token: only the
//!   [`TokenDigest`](crate::token::TokenDigest).
//! - **Times are UTC** and round-trip at least to the microsecond.
//! - **A login costs the same however many sessions the user holds.** The two session
//!   operations every login runs, [`SessionStore::user_ip_history`] and
//!   [`SessionStore::evict_user_sessions_beyond`], are single indexed statements; neither loads
//!   the user's sessions.

mod audit;
mod email_tokens;
mod id;
mod jobs;
mod mfa;
mod passkeys;
mod rate_limits;
mod sessions;
mod users;
mod webauthn_challenges;

use std::future::Future;

pub use audit::{AuditEvent, AuditOutcome, AuditStore};
pub use email_tokens::{EmailTokenContext, EmailTokenRecord, EmailTokenStore, NewEmailToken};
pub use id::{Id, IdError};
pub use jobs::{JobFilter, JobRecord, JobStatus, JobStore, NewJob};
pub use mfa::{MfaCredentialRecord, MfaStore};
pub use passkeys::{NewPasskey, PasskeyRecord, PasskeyStore, WithoutPasskeys};
pub use rate_limits::RateLimitStore;
pub use sessions::{IpHistory, NewSession, SessionKind, SessionRecord, SessionStore};
pub use users::{NewUser, UserRecord, UserStore};
pub use webauthn_challenges::{WebauthnChallengeRecord, WebauthnChallengeStore, WebauthnPurpose};

/// What a store reports when an operation fails.
///
/// Flows turn these into their own errors; a [`StoreError::Backend`] ends up as a 500-class
/// "try again" for the user and an error in the logs, never as a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was violated (for example an email already in use). `what` names the
    /// rule, e.g. `"users.email"`.
    #[error("{what} is already taken")]
    Conflict {
        /// The unique rule that was violated, e.g. `"users.email"`.
        what: &'static str,
    },
    /// A row the store read back could not be understood (for example an unknown session
    /// kind): the schema and the code disagree.
    #[error("the database returned data sigra-core cannot read: {0}")]
    Corrupt(String),
    /// The database failed (connection lost, timeout, constraint the contract does not
    /// name...). The message is for logs; it must not contain secrets.
    #[error("database error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Wraps any backend error for logging.
    ///
    /// ```
    /// use sigra_core::store::StoreError;
    /// let err = StoreError::backend("connection reset");
    /// assert_eq!(err.to_string(), "database error: connection reset");
    /// ```
    pub fn backend(err: impl std::fmt::Display) -> Self {
        Self::Backend(err.to_string())
    }
}

/// The app's database: opens transactions.
///
/// Implementations are cheap to clone (a connection pool inside).
///
/// ```ignore
/// let mut tx = store.begin().await?;
/// let user = tx.user_by_email("alice@example.com").await?;
/// tx.commit().await?;
/// ```
pub trait Store: Clone + Send + Sync + 'static {
    /// The transaction type.
    type Tx: Transaction;

    /// Begins a transaction that may write (on SQLite: `BEGIN IMMEDIATE`).
    fn begin(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// Begins a transaction for reads (on SQLite a plain deferred `BEGIN`, so readers never
    /// queue behind writers; on PostgreSQL the same as [`begin`](Store::begin)). The hot path
    /// of every authenticated request uses this. Writing through it is allowed but may fail
    /// with a busy error on SQLite; flows only read through it.
    fn begin_read(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// The id sigra-core gives a new row (`NewUser::id`, `NewSession::id`).
    ///
    /// The default, `Some(Id::new_v7())`, suits UUID keys (`--binary-id`, the default). A
    /// schema with database-assigned integer keys (`--no-binary-id`) overrides this to return
    /// `None`. The schema knows which kind it uses, so the store says it.
    ///
    /// ```ignore
    /// let new = NewUser::new(store.new_id(), email, Some(hash), now);
    /// ```
    fn new_id(&self) -> Option<Id> {
        Some(Id::new_v7())
    }
}

/// One database transaction, implementing every table's operations. Dropping it without
/// [`commit`](Transaction::commit) rolls back.
pub trait Transaction:
    UserStore
    + SessionStore
    + EmailTokenStore
    + AuditStore
    + RateLimitStore
    + JobStore
    + PasskeyStore
    + WebauthnChallengeStore
    + MfaStore
    + Send
{
    /// Commits every write made in this transaction, atomically.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
