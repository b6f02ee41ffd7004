//! [`UserStore`] contracts.

use std::collections::BTreeSet;

use super::{
    Must, RACERS, at, broken, check_eq, check_new_id, check_opt_time, check_time, commit,
    committed_user, in_zone, race,
};
use crate::store::{Id, NewUser, Store, StoreError, Transaction, UserRecord, UserStore};

const UNIQUE_FIX: &str = "keep a unique index on lower(email) WHERE deleted_at IS NULL, insert \
     with INSERT … ON CONFLICT DO NOTHING RETURNING …, and report a missing row as \
     StoreError::Conflict { what: \"users.email\" }";

fn check_user(got: &UserRecord, want: &UserRecord, contract: &str) {
    check_eq(
        &got.id,
        &want.id,
        contract,
        "read the id column back unchanged",
    );
    check_eq(
        &got.email,
        &want.email,
        contract,
        "store the email exactly as given (UTF-8, original case); compare with lower() only in WHERE clauses",
    );
    if got.hashed_password != want.hashed_password {
        broken(
            contract,
            format_args!(
                "hashed_password: stored {}, read back {}",
                describe(want.hashed_password.as_deref()),
                describe(got.hashed_password.as_deref())
            ),
            "store hashed_password as nullable TEXT and read it back as Option<String>",
        );
    }
    check_opt_time(
        got.confirmed_at,
        want.confirmed_at,
        contract,
        "confirmed_at",
    );
    check_eq(
        got.failed_login_attempts,
        want.failed_login_attempts,
        contract,
        "failed_login_attempts is an INTEGER NOT NULL DEFAULT 0",
    );
    check_opt_time(got.locked_at, want.locked_at, contract, "locked_at");
    check_opt_time(
        got.password_changed_at,
        want.password_changed_at,
        contract,
        "password_changed_at",
    );
    check_eq(
        got.token_epoch,
        want.token_epoch,
        contract,
        "token_epoch is a BIGINT NOT NULL DEFAULT 0",
    );
    check_time(got.created_at, want.created_at, contract, "created_at");
}

fn describe(hash: Option<&str>) -> String {
    match hash {
        Some(h) => format!("Some({} bytes)", h.len()),
        None => "None".into(),
    }
}

/// Every column of a user survives insert and both lookups: times to the microsecond
/// (before 2000 and after 2038 too), a UTF-8 address, `None` and `Some`.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::insert_user / user_by_id / user_by_email round-trip every column";
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
    let full_id = store.new_id();
    let mut full = NewUser::new(
        full_id,
        "Zoë.Ünïcode+tag@Exämple.com".into(),
        Some(hash.into()),
        in_zone(at(-86_400, 1), 2),
    );
    full.confirmed_at = Some(in_zone(at(-3_600, 999_999), -7));
    let bare_id = store.new_id();
    let bare = NewUser::new(
        bare_id,
        "bare@example.com".into(),
        None,
        at(-26 * 365 * 86_400, 0),
    );
    let late = NewUser::new(
        store.new_id(),
        "late@example.com".into(),
        None,
        at(80 * 365 * 86_400, 7),
    );

    let mut tx = store.begin().await.must("begin");
    let full_row = tx.insert_user(&full).await.must("insert_user");
    let bare_row = tx.insert_user(&bare).await.must("insert_user");
    let late_row = tx.insert_user(&late).await.must("insert_user");
    commit(tx).await;

    check_new_id(full_id, full_row.id, C);
    check_new_id(bare_id, bare_row.id, C);
    let mut want_full = UserRecord::new(full_row.id, full.email.clone(), full.created_at);
    want_full.hashed_password = full.hashed_password.clone();
    want_full.confirmed_at = full.confirmed_at;
    let want_bare = UserRecord::new(bare_row.id, bare.email.clone(), bare.created_at);
    let want_late = UserRecord::new(late_row.id, late.email.clone(), late.created_at);
    check_user(&full_row, &want_full, C);
    check_user(&bare_row, &want_bare, C);
    check_user(&late_row, &want_late, C);

    let mut tx = store.begin().await.must("begin");
    for want in [&want_full, &want_bare, &want_late] {
        match tx.user_by_id(&want.id).await.must("user_by_id") {
            Some(got) => check_user(&got, want, C),
            None => broken(
                C,
                format_args!("user_by_id({}) found nothing after commit", want.id),
                "select by the id column the insert wrote",
            ),
        }
        match tx.user_by_email(&want.email).await.must("user_by_email") {
            Some(got) => check_user(&got, want, C),
            None => broken(
                C,
                format_args!("user_by_email({:?}) found nothing after commit", want.email),
                "select WHERE lower(email) = lower($1) AND deleted_at IS NULL",
            ),
        }
    }
    let unknown = match full_row.id {
        Id::Uuid(_) => Id::new_v7(),
        Id::Int(_) => Id::Int(i64::MAX),
    };
    if tx.user_by_id(&unknown).await.must("user_by_id").is_some() {
        broken(
            C,
            "user_by_id of an unknown id returned a user",
            "return None when no row matches",
        );
    }
    if tx
        .user_by_email("nobody@example.com")
        .await
        .must("user_by_email")
        .is_some()
    {
        broken(
            C,
            "user_by_email of an unknown address returned a user",
            "return None when no row matches",
        );
    }
}

/// Emails are unique ignoring ASCII case, and lookups ignore ASCII case.
pub async fn email_unique_case_insensitive<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::insert_user refuses an email that differs only in case";
    let alice = committed_user(&store, "Alice@Example.com").await;

    let mut tx = store.begin().await.must("begin");
    let dup = NewUser::new(store.new_id(), "aLICE@example.COM".into(), None, at(1, 0));
    match tx.insert_user(&dup).await {
        Err(StoreError::Conflict {
            what: "users.email",
        }) => {}
        Err(StoreError::Conflict { what }) => broken(
            C,
            format_args!("reported Conflict {{ what: {what:?} }}"),
            "name the rule \"users.email\"",
        ),
        Ok(_) => broken(
            C,
            "a second user with the same email was inserted",
            UNIQUE_FIX,
        ),
        Err(err) => broken(
            C,
            format_args!("failed with {err} instead of Conflict"),
            UNIQUE_FIX,
        ),
    }
    drop(tx);

    let mut tx = store.begin().await.must("begin");
    for probe in [
        "ALICE@EXAMPLE.COM",
        "alice@example.com",
        "Alice@Example.com",
    ] {
        match tx.user_by_email(probe).await.must("user_by_email") {
            Some(found) => {
                check_eq(
                    found.id,
                    alice.id,
                    "UserStore::user_by_email ignores ASCII case",
                    "compare lower(email) = lower($1)",
                );
                check_eq(
                    found.email.as_str(),
                    "Alice@Example.com",
                    "UserStore::user_by_email returns the address as stored",
                    "store the email as given; lower-case only in comparisons",
                );
            }
            None => broken(
                "UserStore::user_by_email ignores ASCII case",
                format_args!("{probe:?} did not find Alice@Example.com"),
                "compare lower(email) = lower($1)",
            ),
        }
    }
}

/// Of [`RACERS`] concurrent registrations of one address (in different case), exactly one
/// commits; the others get `Conflict { what: "users.email" }`.
pub async fn email_unique_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::insert_user is unique under concurrency";
    let ids: Vec<Option<Id>> = (0..RACERS).map(|_| store.new_id()).collect();
    let results = race(&store, RACERS, move |i, mut tx: S::Tx| {
        let id = ids.get(i).copied().flatten();
        async move {
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            let new = NewUser::new(id, email.into(), None, at(0, i as i64));
            let user = tx.insert_user(&new).await?;
            tx.commit().await?;
            Ok(user)
        }
    })
    .await;
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(user) => winners.push(user),
            Err(StoreError::Conflict {
                what: "users.email",
            }) => {}
            Err(err) => broken(
                C,
                format_args!("a racing insert failed with {err} instead of Conflict"),
                UNIQUE_FIX,
            ),
        }
    }
    if winners.len() != 1 {
        broken(
            C,
            format_args!(
                "{} of {RACERS} concurrent inserts of one email committed",
                winners.len()
            ),
            UNIQUE_FIX,
        );
    }
    let mut tx = store.begin().await.must("begin");
    let found = tx
        .user_by_email("race@example.com")
        .await
        .must("user_by_email");
    check_eq(
        found.map(|u| u.id),
        winners.first().map(|u| u.id),
        C,
        UNIQUE_FIX,
    );
}

/// `mark_confirmed` sets `confirmed_at` once and keeps the first time.
pub async fn mark_confirmed_keeps_first<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::mark_confirmed keeps the first confirmation time";
    let user = committed_user(&store, "confirm@example.com").await;
    let other = committed_user(&store, "other@example.com").await;
    let mut tx = store.begin().await.must("begin");
    tx.mark_confirmed(&user.id, at(10, 5))
        .await
        .must("mark_confirmed");
    tx.mark_confirmed(&user.id, at(20, 0))
        .await
        .must("mark_confirmed");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_opt_time(got.confirmed_at, Some(at(10, 5)), C, "confirmed_at");
    let got = reload(&mut tx, &other.id, C).await;
    check_opt_time(got.confirmed_at, None, C, "confirmed_at of another user");
}

/// `set_password_hash` with `Some(changed_at)` records the change; with `None` (a rehash) it
/// keeps `password_changed_at`.
pub async fn set_password_hash<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::set_password_hash sets password_changed_at only for a user change";
    let user = committed_user(&store, "pw@example.com").await;
    let mut tx = store.begin().await.must("begin");
    tx.set_password_hash(&user.id, "$argon2id$first", Some(at(30, 1)))
        .await
        .must("set_password_hash");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_eq(
        got.hashed_password.as_deref(),
        Some("$argon2id$first"),
        C,
        "UPDATE hashed_password",
    );
    check_opt_time(
        got.password_changed_at,
        Some(at(30, 1)),
        C,
        "password_changed_at",
    );
    tx.set_password_hash(&user.id, "$argon2id$rehashed", None)
        .await
        .must("set_password_hash");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_eq(
        got.hashed_password.as_deref(),
        Some("$argon2id$rehashed"),
        C,
        "UPDATE hashed_password",
    );
    check_opt_time(
        got.password_changed_at,
        Some(at(30, 1)),
        C,
        "password_changed_at after a rehash (None)",
    );
}

/// `clear_password_hash` removes the password of one user only and records when.
pub async fn clear_password_hash<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::clear_password_hash removes one user's password";
    const FIX: &str =
        "UPDATE users SET hashed_password = NULL, password_changed_at = $2 WHERE id = $1";
    let user = committed_user(&store, "squatted@example.com").await;
    let other = committed_user(&store, "neighbour@example.com").await;
    let mut tx = store.begin().await.must("begin");
    for id in [&user.id, &other.id] {
        tx.set_password_hash(id, "$argon2id$chosen", Some(at(50, 1)))
            .await
            .must("set_password_hash");
    }
    tx.clear_password_hash(&user.id, at(50, 5))
        .await
        .must("clear_password_hash");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_eq(got.hashed_password, None, C, FIX);
    check_opt_time(got.password_changed_at, Some(at(50, 5)), C, FIX);
    let bystander = reload(&mut tx, &other.id, C).await;
    check_eq(
        bystander.hashed_password.as_deref(),
        Some("$argon2id$chosen"),
        C,
        "only the row WHERE id = $1",
    );
}

/// Increment, lock and clear: counts go 1, 2, 3 for one user only; clear resets both.
pub async fn failed_logins_and_lock<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::increment_failed_logins / lock_user / clear_failed_logins";
    let user = committed_user(&store, "lock@example.com").await;
    let other = committed_user(&store, "bystander@example.com").await;
    let mut tx = store.begin().await.must("begin");
    for want in 1..=3u32 {
        let got = tx
            .increment_failed_logins(&user.id)
            .await
            .must("increment_failed_logins");
        check_eq(
            got,
            want,
            C,
            "UPDATE users SET failed_login_attempts = failed_login_attempts + 1 WHERE id = $1 RETURNING failed_login_attempts",
        );
    }
    tx.lock_user(&user.id, at(40, 40)).await.must("lock_user");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_eq(
        got.failed_login_attempts,
        3,
        C,
        "persist the incremented count",
    );
    check_opt_time(got.locked_at, Some(at(40, 40)), C, "locked_at");
    let bystander = reload(&mut tx, &other.id, C).await;
    check_eq(
        bystander.failed_login_attempts,
        0,
        C,
        "increment only the row WHERE id = $1",
    );
    check_opt_time(bystander.locked_at, None, C, "locked_at of another user");
    tx.clear_failed_logins(&user.id)
        .await
        .must("clear_failed_logins");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_eq(
        got.failed_login_attempts,
        0,
        C,
        "clear_failed_logins sets failed_login_attempts = 0",
    );
    check_opt_time(
        got.locked_at,
        None,
        C,
        "locked_at after clear_failed_logins",
    );
}

/// [`RACERS`] concurrent increments in separate transactions raise the count by exactly that
/// many, and each returns a different count.
pub async fn increment_failed_logins_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::increment_failed_logins is exact under concurrency";
    const FIX: &str = "increment in one statement: UPDATE users SET failed_login_attempts = \
         failed_login_attempts + 1 WHERE id = $1 RETURNING failed_login_attempts; never read, add \
         one in Rust, then write";
    let user = committed_user(&store, "brute@example.com").await;
    let id = user.id;
    let results = race(&store, RACERS, move |_, mut tx: S::Tx| async move {
        let n = tx.increment_failed_logins(&id).await?;
        tx.commit().await?;
        Ok(n)
    })
    .await;
    let mut seen = BTreeSet::new();
    for result in results {
        match result {
            Ok(n) => {
                if !seen.insert(n) {
                    broken(
                        C,
                        format_args!("two concurrent increments both returned {n}"),
                        FIX,
                    );
                }
            }
            Err(err) => broken(C, format_args!("a concurrent increment failed: {err}"), FIX),
        }
    }
    let want: BTreeSet<u32> = (1..=RACERS as u32).collect();
    check_eq(seen, want, C, FIX);
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.failed_login_attempts, RACERS as u32, C, FIX);
}

/// `set_email` changes the address, refuses another user's (in any ASCII case) with
/// `Conflict`, and allows a change of case of one's own.
pub async fn set_email<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::set_email keeps emails unique";
    let user = committed_user(&store, "old@example.com").await;
    let other = committed_user(&store, "taken@example.com").await;
    let mut tx = store.begin().await.must("begin");
    match tx.set_email(&user.id, "TAKEN@example.com").await {
        Err(StoreError::Conflict {
            what: "users.email",
        }) => {}
        Ok(()) => broken(
            C,
            "set_email took another user's address",
            "keep the unique index on lower(email) WHERE deleted_at IS NULL",
        ),
        Err(err) => broken(
            C,
            format_args!("failed with {err} instead of Conflict {{ what: \"users.email\" }}"),
            "map a unique violation of the UPDATE to StoreError::Conflict { what: \"users.email\" } \
             (inside a savepoint, so the transaction stays usable)",
        ),
    }
    tx.set_email(&user.id, "new@example.com")
        .await
        .must("set_email");
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    let found = tx
        .user_by_email("NEW@example.com")
        .await
        .must("user_by_email");
    check_eq(
        found.map(|u| u.id),
        Some(user.id),
        C,
        "UPDATE users SET email = $2 WHERE id = $1",
    );
    let old = tx
        .user_by_email("old@example.com")
        .await
        .must("user_by_email");
    check_eq(
        old.map(|u| u.id),
        None,
        C,
        "UPDATE the row, do not insert a new one",
    );
    let untouched = reload(&mut tx, &other.id, C).await;
    check_eq(
        untouched.email.as_str(),
        "taken@example.com",
        C,
        "UPDATE only WHERE id = $1",
    );
    tx.set_email(&other.id, "Taken@Example.com")
        .await
        .must("set_email (same address, new case)");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &other.id, C).await;
    check_eq(
        got.email.as_str(),
        "Taken@Example.com",
        C,
        "a user may change the case of their own address",
    );
}

pub(crate) async fn reload<T: UserStore>(tx: &mut T, id: &Id, contract: &str) -> UserRecord {
    match tx.user_by_id(id).await.must("user_by_id") {
        Some(user) => user,
        None => broken(
            contract,
            format_args!("user {id} vanished"),
            "user_by_id must find every user inserted, deleted or not",
        ),
    }
}

/// `bump_token_epoch` adds one and returns the new epoch; [`RACERS`] concurrent bumps in
/// separate transactions raise it by exactly that many, each returning a different value; a
/// rolled-back bump leaves it as it was.
pub async fn bump_token_epoch_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "UserStore::bump_token_epoch is exact under concurrency";
    const FIX: &str = "bump in one statement: UPDATE users SET token_epoch = token_epoch + 1 \
         WHERE id = $1 RETURNING token_epoch; never read, add one in Rust, then write";
    let user = committed_user(&store, "epoch@example.com").await;
    let id = user.id;
    let mut tx = store.begin().await.must("begin");
    let first = tx.bump_token_epoch(&id).await.must("bump_token_epoch");
    check_eq(first, user.token_epoch + 1, C, FIX);
    drop(tx); // rolled back
    let results = race(&store, RACERS, move |_, mut tx: S::Tx| async move {
        let n = tx.bump_token_epoch(&id).await?;
        tx.commit().await?;
        Ok(n)
    })
    .await;
    let mut seen = BTreeSet::new();
    for result in results {
        match result {
            Ok(n) => {
                if !seen.insert(n) {
                    broken(
                        C,
                        format_args!("two concurrent bumps both returned {n}"),
                        FIX,
                    );
                }
            }
            Err(err) => broken(C, format_args!("a concurrent bump failed: {err}"), FIX),
        }
    }
    let want: BTreeSet<i64> = (1..=RACERS as i64).map(|n| user.token_epoch + n).collect();
    check_eq(seen, want, C, FIX);
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.token_epoch, user.token_epoch + RACERS as i64, C, FIX);
}
