//! The store conformance suite: runs every promise of the [store contracts](crate::store)
//! against an implementation.
//!
//! The app's generated tests expand [`store_conformance_tests!`](crate::store_conformance_tests)
//! with a *factory*: an expression giving a future of a fresh, empty, migrated store (or of a
//! pair `(store, keep)`, see [`StoreFixture`]). The macro makes one
//! `#[tokio::test(flavor = "multi_thread")]` per case, each against its own store, so cases
//! never see each other's rows, a broken promise fails its own test without hiding the others,
//! and `cargo test users::round_trip` runs one case. Expand it once per database the app
//! supports (a temporary SQLite file, not `:memory:`, so concurrency is real; a fresh
//! PostgreSQL database or schema per case).
//!
//! [`run_all`] runs the same cases one after another inside one test, for hosts that prefer
//! it; both expand one list of cases, so they always run the same suite.
//!
//! Each case is also a public function (grouped by table: [`users`], [`sessions`],
//! [`email_tokens`], [`audit`], [`rate_limits`], [`jobs`], [`mfa`], [`passkeys`],
//! [`webauthn_challenges`], [`transactions`]) so a test can run one contract on its own with
//! [`run_case`]. A broken promise panics with the contract's name, what happened and how to
//! fix the SQL, for example:
//!
//! ```text
//! store contract broken: EmailTokenStore::take_email_token is single-use under concurrency
//!   what happened: 2 of 8 concurrent transactions received the same token
//!   how to fix: take the token with one statement, DELETE FROM … WHERE context = $1 AND digest = $2 RETURNING …; never SELECT then DELETE
//! ```
//!
//! The concurrency cases spawn racing transactions with `tokio::spawn` on the caller's
//! runtime; the macro's tests use a multi-threaded runtime so they really overlap.
//!
//! # Example
//!
//! The app's `tests/conformance.rs` looks like this (here with the in-memory
//! [`MemoryStore`](crate::testing::MemoryStore) instead of the app's SQL store):
//!
//! ```
//! use sigra_core::testing::MemoryStore;
//!
//! // Makes `memory::users::round_trip`, `memory::jobs::claim_expired_lease`, … : one test per
//! // case, each on a fresh store.
//! sigra_core::store_conformance_tests!(memory, async { MemoryStore::new() });
//! # fn main() {}
//! ```
//!
//! With the generated SQLite store the factory makes a new database file per case, and hands
//! it back beside the store so the file lives until the case ends:
//!
//! ```ignore
//! mod support;
//!
//! use my_app::accounts::store::AccountsStore;
//!
//! sigra_core::store_conformance_tests!(sqlite, async {
//!     let database = support::database().await; // a temporary file, migrated
//!     (AccountsStore::new(database.db.clone()), database)
//! });
//! ```
//!
//! Or, all cases in one test:
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

// The suite's job is to stop a test with a clear message: it panics by design.
#![allow(clippy::panic)]

pub mod audit;
pub mod email_tokens;
pub mod jobs;
pub mod mfa;
pub mod passkeys;
pub mod rate_limits;
pub mod sessions;
pub mod transactions;
pub mod users;
pub mod webauthn_challenges;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::store::{NewUser, Store, StoreError, UserRecord, UserStore};
use crate::token::TokenDigest;

/// How many transactions each concurrency case races against each other.
pub const RACERS: usize = 8;

/// What a factory makes for one case: a fresh store, and whatever must outlive the case.
///
/// A factory of [`run_all`] or [`store_conformance_tests!`](crate::store_conformance_tests)
/// returns either a store, or a pair `(store, keep)` where `keep` (a temporary directory, a
/// test database handle) is dropped only after the case has finished with the store.
///
/// ```
/// use sigra_core::testing::MemoryStore;
/// use sigra_core::testing::conformance::StoreFixture;
///
/// let (_store, ()) = MemoryStore::new().into_parts();
/// let (_store, kept) = (MemoryStore::new(), "a temporary directory").into_parts();
/// assert_eq!(kept, "a temporary directory");
/// ```
pub trait StoreFixture {
    /// The store under test.
    type Store: Store<Tx: 'static>;
    /// What is kept alive until the case ends.
    type Keep;

    /// Splits the fixture into the store and what to keep.
    fn into_parts(self) -> (Self::Store, Self::Keep);
}

impl<S: Store<Tx: 'static>> StoreFixture for S {
    type Store = S;
    type Keep = ();

    fn into_parts(self) -> (S, ()) {
        (self, ())
    }
}

impl<S: Store<Tx: 'static>, K> StoreFixture for (S, K) {
    type Store = S;
    type Keep = K;

    fn into_parts(self) -> (S, K) {
        self
    }
}

/// Runs one case against the store the `fixture` future makes; what the fixture keeps is
/// dropped after the case.
///
/// [`store_conformance_tests!`](crate::store_conformance_tests) expands to one test per case
/// calling this; call it directly to run a case of your own choosing.
///
/// ```
/// # use sigra_core::testing::{conformance, MemoryStore};
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// conformance::run_case(async { MemoryStore::new() }, conformance::users::round_trip).await;
/// # });
/// ```
pub async fn run_case<Fut, Case, CaseFut>(fixture: Fut, case: Case)
where
    Fut: Future,
    Fut::Output: StoreFixture,
    Case: FnOnce(<Fut::Output as StoreFixture>::Store) -> CaseFut,
    CaseFut: Future<Output = ()>,
{
    let (store, keep) = fixture.await.into_parts();
    case(store).await;
    drop(keep);
}

/// Runs every case of the suite, each against a fresh store from `factory`.
///
/// Panics at the first broken promise, naming it and the fix. The cases run one after
/// another, in the order of the [module docs](self); progress is printed to stderr (shown by
/// the test harness when a case fails). Prefer
/// [`store_conformance_tests!`](crate::store_conformance_tests), which makes each case a test
/// of its own: every broken promise is reported, not only the first, and `cargo test
/// users::round_trip` runs one case.
///
/// The factory returns a [`StoreFixture`]: a store, or `(store, keep)`; `keep` is dropped when
/// its case ends.
///
/// ```
/// # use sigra_core::testing::{conformance, MemoryStore};
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// conformance::run_all(|| async { MemoryStore::new() }).await;
/// # });
/// ```
pub async fn run_all<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: StoreFixture,
{
    macro_rules! run_cases {
        ([] $($table:ident { $($case:ident),* $(,)? }),* $(,)?) => {
            $($(
                let name = concat!(stringify!($table), "::", stringify!($case));
                eprintln!("store conformance: {name} ...");
                let started = std::time::Instant::now();
                let (store, keep) = factory().await.into_parts();
                let made = started.elapsed();
                $table::$case(store).await;
                drop(keep);
                eprintln!(
                    "store conformance: {name} ok (store made in {made:?}, case ran in {:?})",
                    started.elapsed() - made
                );
            )*)*
        };
    }
    crate::__store_conformance_cases!([run_cases]);
    eprintln!("store conformance: all cases passed");
}

/// The one list of the suite's cases, by table: [`run_all`] and
/// [`store_conformance_tests!`](crate::store_conformance_tests) both expand it, so a case
/// added here runs everywhere. Not public API.
///
/// `__store_conformance_cases!([callback] args…)` expands to
/// `callback! { [args…] users { round_trip, … }, sessions { … }, … }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ([$($callback:tt)+] $($args:tt)*) => {
        $($callback)+! {
            [$($args)*]
            users {
                round_trip,
                email_unique_case_insensitive,
                email_unique_under_concurrency,
                mark_confirmed_keeps_first,
                set_password_hash,
                clear_password_hash,
                failed_logins_and_lock,
                increment_failed_logins_under_concurrency,
                set_email,
                bump_token_epoch_under_concurrency,
            },
            sessions {
                round_trip,
                token_digest_unique,
                touch_and_sudo,
                list_excludes_mfa_pending_newest_first,
                delete_user_session_only_own,
                delete_by_digest,
                delete_user_sessions_except_one,
                prune_by_kind_and_age,
                ip_history_is_per_user_and_exact,
                evict_beyond_keeps_most_recently_active,
            },
            email_tokens {
                round_trip,
                scoped_by_context,
                context_and_digest_unique,
                take_single_use_under_concurrency,
                delete_user_email_tokens,
                prune_by_age,
                email_change_pending,
            },
            audit {
                round_trip,
                for_user_newest_first,
            },
            rate_limits {
                hit_and_count,
                hit_under_concurrency,
                prune,
            },
            jobs {
                round_trip,
                list_newest_first,
                enqueue_is_transactional,
                unique_key_one_unfinished,
                claim_due_only_and_in_order,
                claim_expired_lease,
                claims_are_exclusive_under_concurrency,
                complete_only_by_lease_holder,
                fail_retry_and_dead,
                release_job,
                retry_job,
                prune_jobs,
            },
            passkeys {
                round_trip,
                credential_id_unique,
                rename_and_delete_are_scoped,
                update_after_use_never_rolls_back,
            },
            webauthn_challenges {
                round_trip,
                take_single_use_under_concurrency,
                expired_not_returned_and_pruned,
            },
            mfa {
                round_trip,
                put_pending_never_replaces_enabled,
                enable_totp_compare_and_set_under_concurrency,
                accept_totp_step_once_and_in_order,
                accept_totp_step_single_use_under_concurrency,
                increment_mfa_failures_under_concurrency,
                lock_and_clear,
                set_totp_secret_changes_only_the_secret,
                bump_mfa_trust_epoch_under_concurrency,
                delete_mfa_only_that_user,
                backup_codes_replace_use_and_count,
                use_backup_code_single_use_under_concurrency,
            },
            transactions {
                commit_makes_writes_visible,
                rollback_on_drop_leaves_nothing,
                uncommitted_writes_are_invisible,
                conflict_leaves_transaction_usable,
            },
        }
    };
}

/// Expands to one `#[tokio::test(flavor = "multi_thread")]` per case of the
/// [conformance suite](crate::testing::conformance), each against a fresh store.
///
/// `store_conformance_tests!(name, factory)` makes a module `name` with one module per table
/// and one test per case in it (`name::users::round_trip`, `name::jobs::claim_expired_lease`,
/// …), so a broken promise fails its own test and `cargo test users::round_trip` runs one
/// case. `factory` is an expression evaluated once per case, giving a future of a
/// [`StoreFixture`](crate::testing::conformance::StoreFixture): a fresh, empty, migrated store,
/// or `(store, keep)` where `keep` (the temporary database) is dropped after the case.
///
/// The factory is written in the calling module: the generated modules `use super::*`, so it
/// may name the caller's imports and modules. The caller needs `tokio` (features `macros` and
/// `rt-multi-thread`) among its dev-dependencies.
///
/// ```
/// use sigra_core::testing::MemoryStore;
///
/// sigra_core::store_conformance_tests!(memory, async { MemoryStore::new() });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($name:ident, $factory:expr $(,)?) => {
        $crate::__store_conformance_cases!([$crate::__store_conformance_tests_expand] $name, $factory);
    };
}

/// The body of [`store_conformance_tests!`](crate::store_conformance_tests). Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_tests_expand {
    ([$name:ident, $factory:expr] $($table:ident { $($case:ident),* $(,)? }),* $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                mod $table {
                    #[allow(unused_imports)]
                    use super::*;
                    $(
                        #[::tokio::test(flavor = "multi_thread")]
                        async fn $case() {
                            $crate::testing::conformance::run_case(
                                $factory,
                                $crate::testing::conformance::$table::$case,
                            )
                            .await;
                        }
                    )*
                }
            )*
        }
    };
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
