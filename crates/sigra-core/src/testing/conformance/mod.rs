//! The store conformance suite: runs every promise of the [store contracts](crate::store)
//! against an implementation.
//!
//! The app's generated tests call [`run_all`] with a *factory*: an async closure that returns
//! a fresh, empty, migrated store each time it is called. Every case gets its own store, so
//! cases never see each other's rows. Run it once per database the app supports (a temporary
//! SQLite file, not `:memory:`, so concurrency is real; a fresh PostgreSQL database per case).
//!
//! Each case is also a public function (grouped by table: [`users`], [`sessions`],
//! [`email_tokens`], [`audit`], [`rate_limits`], [`jobs`], [`transactions`]) so a test can run
//! one contract on its own. A broken promise panics with the contract's name, what happened and
//! how to fix the SQL, for example:
//!
//! ```text
//! store contract broken: EmailTokenStore::take_email_token is single-use under concurrency
//!   what happened: 2 of 8 concurrent transactions received the same token
//!   how to fix: take the token with one statement, DELETE FROM … WHERE context = $1 AND digest = $2 RETURNING …; never SELECT then DELETE
//! ```
//!
//! The concurrency cases spawn racing transactions with `tokio::spawn` on the caller's
//! runtime; use a multi-threaded runtime so they really overlap.
//!
//! # Example
//!
//! The app's `tests/store_conformance.rs` looks like this (here with the in-memory
//! [`MemoryStore`](crate::testing::MemoryStore) instead of the app's SQL store):
//!
//! ```
//! use sigra_core::testing::{conformance, MemoryStore};
//!
//! #[tokio::test(flavor = "multi_thread")]
//! async fn store_keeps_every_contract() {
//!     conformance::run_all(|| async { MemoryStore::new() }).await;
//! }
//! # fn main() {
//! #     tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
//! #         .block_on(conformance::run_all(|| async { MemoryStore::new() }));
//! # }
//! ```
//!
//! With the generated SQLite store the factory makes a new database file per case:
//!
//! ```ignore
//! conformance::run_all(|| async {
//!     let path = dir.path().join(format!("{}.db", uuid::Uuid::now_v7()));
//!     let store = AccountsStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
//!     sqlx::migrate!().run(store.pool()).await.unwrap();
//!     store
//! })
//! .await;
//! ```

// The suite's job is to stop a test with a clear message: it panics by design.
#![allow(clippy::panic)]

pub mod audit;
pub mod email_tokens;
pub mod jobs;
pub mod rate_limits;
pub mod sessions;
pub mod transactions;
pub mod users;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::store::{NewUser, Store, StoreError, UserRecord, UserStore};
use crate::token::TokenDigest;

/// How many transactions each concurrency case races against each other.
pub const RACERS: usize = 8;

/// Runs every case of the suite, each against a fresh store from `factory`.
///
/// Panics at the first broken promise, naming it and the fix. The cases run one after
/// another, in the order of the [module docs](self); progress is printed to stderr (shown by
/// the test harness when a case fails).
///
/// ```
/// # use sigra_core::testing::{conformance, MemoryStore};
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// conformance::run_all(|| async { MemoryStore::new() }).await;
/// # });
/// ```
pub async fn run_all<S, F, Fut>(factory: F)
where
    S: Store<Tx: 'static>,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    macro_rules! cases {
        ($($module:ident :: $case:ident),* $(,)?) => {
            $(
                let name = concat!(stringify!($module), "::", stringify!($case));
                eprintln!("store conformance: {name} ...");
                let started = std::time::Instant::now();
                let store = factory().await;
                let made = started.elapsed();
                $module::$case(store).await;
                eprintln!(
                    "store conformance: {name} ok (store made in {made:?}, case ran in {:?})",
                    started.elapsed() - made
                );
            )*
        };
    }
    cases!(
        users::round_trip,
        users::email_unique_case_insensitive,
        users::email_unique_under_concurrency,
        users::mark_confirmed_keeps_first,
        users::set_password_hash,
        users::failed_logins_and_lock,
        users::increment_failed_logins_under_concurrency,
        users::set_email,
        sessions::round_trip,
        sessions::token_digest_unique,
        sessions::touch_and_sudo,
        sessions::list_excludes_mfa_pending_newest_first,
        sessions::delete_user_session_only_own,
        sessions::delete_by_digest,
        sessions::delete_user_sessions_except_one,
        sessions::prune_by_kind_and_age,
        email_tokens::round_trip,
        email_tokens::scoped_by_context,
        email_tokens::context_and_digest_unique,
        email_tokens::take_single_use_under_concurrency,
        email_tokens::delete_user_email_tokens,
        email_tokens::prune_by_age,
        email_tokens::email_change_pending,
        audit::round_trip,
        audit::for_user_newest_first,
        rate_limits::hit_and_count,
        rate_limits::hit_under_concurrency,
        rate_limits::prune,
        jobs::round_trip,
        jobs::list_newest_first,
        jobs::enqueue_is_transactional,
        jobs::unique_key_one_unfinished,
        jobs::claim_due_only_and_in_order,
        jobs::claim_expired_lease,
        jobs::claims_are_exclusive_under_concurrency,
        jobs::complete_only_by_lease_holder,
        jobs::fail_retry_and_dead,
        jobs::release_job,
        jobs::retry_job,
        jobs::prune_jobs,
        transactions::commit_makes_writes_visible,
        transactions::rollback_on_drop_leaves_nothing,
        transactions::uncommitted_writes_are_invisible,
        transactions::conflict_leaves_transaction_usable,
    );
    eprintln!("store conformance: all cases passed");
}

/// Panics with a message naming the broken contract, what happened and the fix.
#[track_caller]
pub(crate) fn broken(contract: &str, problem: impl fmt::Display, fix: &str) -> ! {
    panic!("\nstore contract broken: {contract}\n  what happened: {problem}\n  how to fix: {fix}\n")
}

/// Checks `got == want`, else [`broken`].
#[track_caller]
pub(crate) fn check_eq<T: PartialEq + fmt::Debug>(got: T, want: T, contract: &str, fix: &str) {
    if got != want {
        broken(
            contract,
            format_args!("expected {want:?}, got {got:?}"),
            fix,
        );
    }
}

/// Unwraps the result of a store operation the case expects to succeed.
pub(crate) trait Must<T> {
    /// The value, or a panic naming the operation.
    fn must(self, op: &str) -> T;
}

impl<T> Must<T> for Result<T, StoreError> {
    #[track_caller]
    fn must(self, op: &str) -> T {
        match self {
            Ok(value) => value,
            Err(err) => panic!(
                "\nstore operation `{op}` failed: {err}\n  every operation the suite calls must \
                 succeed on a fresh, migrated database: check that the factory runs the \
                 migrations, and that the SQL of `{op}` matches the schema\n"
            ),
        }
    }
}

/// A fixed instant with microseconds: 2026-03-14 15:09:26.535897 UTC, plus `seconds` and
/// `micros`.
pub(crate) fn at(seconds: i64, micros: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
        + Duration::seconds(1_773_500_966)
        + Duration::microseconds(535_897)
        + Duration::seconds(seconds)
        + Duration::microseconds(micros)
}

/// An instant on a whole second (2026-03-14 15:09:26 UTC) plus `seconds` and `micros`: the
/// ordering cases use these, because a whole second is where text encodings of times go wrong
/// (RFC 3339 writes `…:26Z` but `…:26.5Z`, and `…:26.1Z` sorts after `…:26.15Z`).
pub(crate) fn whole(seconds: i64, micros: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
        + Duration::seconds(1_773_500_966)
        + Duration::seconds(seconds)
        + Duration::microseconds(micros)
}

/// The same instant shown in another time zone (a store must compare instants, not text).
pub(crate) fn in_zone(t: OffsetDateTime, hours: i8) -> OffsetDateTime {
    match UtcOffset::from_hms(hours, 0, 0) {
        Ok(offset) => t.to_offset(offset),
        Err(_) => t,
    }
}

/// A digest no other call returns.
pub(crate) fn fresh_digest() -> TokenDigest {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = format!("sigra-conformance-{n}-{}", crate::store::Id::new_v7());
    TokenDigest::sha256(seed.as_bytes())
}

/// Inserts a user in its own committed transaction.
pub(crate) async fn committed_user<S: Store>(store: &S, email: &str) -> UserRecord {
    let mut tx = store.begin().await.must("begin");
    let user = tx
        .insert_user(&NewUser::new(
            store.new_id(),
            email.to_owned(),
            None,
            at(0, 0),
        ))
        .await
        .must("insert_user");
    commit(tx).await;
    user
}

/// Commits, or panics naming the operation.
pub(crate) async fn commit<T: crate::store::Transaction>(tx: T) {
    tx.commit().await.must("commit");
}

/// How long racers wait for each other once they hold their transactions.
const GATHER: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs `op` in `n` transactions at once, each in its own task: each begins its own
/// transaction, waits until all `n` hold one, then runs `op` (which commits) and reports the
/// result. A store that serialises writers (SQLite's `BEGIN IMMEDIATE`) never lets them all
/// hold one; past a short deadline each racer goes on alone, which is just as valid a test.
pub(crate) async fn race<S, T, F, Fut>(store: &S, n: usize, op: F) -> Vec<Result<T, StoreError>>
where
    S: Store<Tx: 'static>,
    T: Send + 'static,
    F: Fn(usize, S::Tx) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let deadline = tokio::time::Instant::now() + GATHER;
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let store = store.clone();
        let barrier = Arc::clone(&barrier);
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let tx = store.begin().await?;
            // Hold the transaction until every racer has one, so the operations overlap
            // (beginning lazily, e.g. while a pool opens connections, would let them run
            // one after another and hide a read-then-write bug).
            let _all_here = tokio::time::timeout_at(deadline, barrier.wait()).await;
            op(i, tx).await
        }));
    }
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        match handle.await {
            Ok(result) => results.push(result),
            Err(err) => panic!("a racing transaction's task failed: {err}"),
        }
    }
    results
}

/// Where a case's [`Store::new_id`] is checked against the returned row.
pub(crate) fn check_new_id(asked: Option<crate::store::Id>, got: crate::store::Id, contract: &str) {
    match asked {
        Some(asked) => check_eq(
            got,
            asked,
            contract,
            "store the id sigra-core chose (`NewUser::id` / `NewSession::id`) instead of making one up",
        ),
        None => {
            if got.as_int().is_none() {
                broken(
                    contract,
                    format_args!("Store::new_id() is None, yet the row came back with id {got}"),
                    "a store whose new_id() returns None must let the database assign an integer key and return it as Id::Int",
                );
            }
        }
    }
}

/// Checks a time came back as the same instant, in UTC.
#[track_caller]
pub(crate) fn check_time(got: OffsetDateTime, want: OffsetDateTime, contract: &str, column: &str) {
    if got != want {
        broken(
            contract,
            format_args!("{column}: stored {want}, read back {got}"),
            "store times with at least microsecond precision (TIMESTAMPTZ on PostgreSQL; on SQLite \
             a fixed UTC text format) and never through a lossy conversion",
        );
    }
    if got.offset() != UtcOffset::UTC {
        broken(
            contract,
            format_args!("{column} came back with offset {}", got.offset()),
            "store and return times in UTC: convert with .to_offset(UtcOffset::UTC) before binding \
             (SQLite keeps the offset in the text) or when reading",
        );
    }
}

#[track_caller]
pub(crate) fn check_opt_time(
    got: Option<OffsetDateTime>,
    want: Option<OffsetDateTime>,
    contract: &str,
    column: &str,
) {
    match (got, want) {
        (Some(got), Some(want)) => check_time(got, want, contract, column),
        (None, None) => {}
        (got, want) => broken(
            contract,
            format_args!("{column}: stored {want:?}, read back {got:?}"),
            "keep NULL as None and a value as Some: the column must be nullable and bound as an Option",
        ),
    }
}
