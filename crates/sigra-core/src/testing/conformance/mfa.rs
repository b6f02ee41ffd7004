//! [`MfaStore`] contracts: the TOTP credential (`user_mfa_credentials`, kind `totp`) and the
//! backup codes (`user_backup_codes`).

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::{
    Must, RACERS, at, broken, check_eq, check_opt_time, check_time, commit, committed_user,
    fresh_digest, in_zone, race,
};
use crate::store::{Id, MfaCredentialRecord, MfaStore, Store, Transaction};
use crate::token::TokenDigest;

/// How many transactions race for one TOTP step or one backup code: more than
/// [`RACERS`], since a second-factor code is the thing an attacker would replay in bulk.
pub const CODE_RACERS: usize = 20;

/// An encrypted secret as the store sees it: the text form of an encryption envelope.
const SECRET_A: &str =
    "v1.k7.nonce-AAAAAAAAAAAAAAAA.ciphertext-4Jw9eX2qT3sVb7yZ0aBcDeFgHiJkLmNoPqRsTuVwXyZ+/=";
const SECRET_B: &str =
    "v1.k7.nonce-BBBBBBBBBBBBBBBB.ciphertext-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp+/==";
const SECRET_C: &str = "v2.k8.nonce-CCCCCCCCCCCCCCCC.ciphertext-re-encrypted-under-a-new-key";

const PUT_FIX: &str = "one upsert: INSERT INTO user_mfa_credentials (user_id, kind, \
     encrypted_secret, created_at) VALUES ($1, 'totp', $2, $3) ON CONFLICT (user_id, kind) DO \
     UPDATE SET encrypted_secret = excluded.encrypted_secret, created_at = excluded.created_at, \
     … WHERE user_mfa_credentials.enabled_at IS NULL; report rows_affected() > 0";

const ENABLE_FIX: &str = "compare-and-set in one statement: UPDATE user_mfa_credentials SET \
     enabled_at = $3, last_verified_step = $2, failed_attempts = 0, locked_until = NULL WHERE \
     user_id = $1 AND kind = 'totp' AND enabled_at IS NULL; report rows_affected() > 0; never \
     SELECT then UPDATE";

const ACCEPT_FIX: &str = "one statement: UPDATE user_mfa_credentials SET last_verified_step = $2, \
     failed_attempts = 0 WHERE user_id = $1 AND kind = 'totp' AND enabled_at IS NOT NULL AND \
     (last_verified_step IS NULL OR last_verified_step < $2); report rows_affected() > 0; never \
     SELECT, compare in Rust, then UPDATE";

const INCREMENT_FIX: &str = "increment in one statement: UPDATE user_mfa_credentials SET \
     failed_attempts = failed_attempts + 1 WHERE user_id = $1 AND kind = 'totp' AND enabled_at IS \
     NOT NULL RETURNING failed_attempts; never read, add one in Rust, then write";

const EPOCH_FIX: &str = "bump in one statement: UPDATE user_mfa_credentials SET trust_epoch = \
     trust_epoch + 1 WHERE user_id = $1 AND kind = 'totp' RETURNING trust_epoch; never read, add \
     one in Rust, then write";

const USE_CODE_FIX: &str = "one statement: UPDATE user_backup_codes SET used_at = $3 WHERE \
     user_id = $1 AND code_digest = $2 AND used_at IS NULL; report rows_affected() > 0; never \
     SELECT then UPDATE";

const REPLACE_FIX: &str = "DELETE FROM user_backup_codes WHERE user_id = $1, then INSERT one row \
     per digest (code_digest as the 32 raw bytes, used_at NULL), in the caller's transaction";

const COUNT_FIX: &str =
    "SELECT COUNT(*) FROM user_backup_codes WHERE user_id = $1 AND used_at IS NULL";

fn check_credential(got: &MfaCredentialRecord, want: &MfaCredentialRecord, contract: &str) {
    check_eq(
        &got.user_id,
        &want.user_id,
        contract,
        "read user_id back unchanged",
    );
    if got.encrypted_secret != want.encrypted_secret {
        // Never print a secret, even an encrypted one: lengths say enough.
        broken(
            contract,
            format_args!(
                "encrypted_secret: stored {} bytes, read back {} bytes that differ",
                want.encrypted_secret.len(),
                got.encrypted_secret.len()
            ),
            "store encrypted_secret as TEXT exactly as given",
        );
    }
    check_eq(
        got.last_verified_step,
        want.last_verified_step,
        contract,
        "last_verified_step is a nullable BIGINT (time steps do not fit in 32 bits forever), read as Option<i64>",
    );
    check_eq(
        got.failed_attempts,
        want.failed_attempts,
        contract,
        "failed_attempts is an INTEGER NOT NULL DEFAULT 0",
    );
    check_opt_time(
        got.locked_until,
        want.locked_until,
        contract,
        "locked_until",
    );
    check_eq(
        got.trust_epoch,
        want.trust_epoch,
        contract,
        "trust_epoch is a BIGINT NOT NULL DEFAULT 0",
    );
    check_opt_time(got.enabled_at, want.enabled_at, contract, "enabled_at");
    check_time(got.created_at, want.created_at, contract, "created_at");
}

/// The user's credential, or [`broken`] when it is missing.
async fn reload<T: MfaStore>(tx: &mut T, user_id: &Id, contract: &str) -> MfaCredentialRecord {
    match tx.totp_credential(user_id).await.must("totp_credential") {
        Some(credential) => credential,
        None => broken(
            contract,
            format_args!("the TOTP credential of user {user_id} vanished"),
            "totp_credential: SELECT … FROM user_mfa_credentials WHERE user_id = $1 AND kind = 'totp'",
        ),
    }
}

/// A committed pending credential with `secret`, made at `now`.
async fn pending<S: Store>(store: &S, user_id: &Id, secret: &str, now: OffsetDateTime) {
    let mut tx = store.begin().await.must("begin");
    let put = tx
        .put_pending_totp(user_id, secret, now)
        .await
        .must("put_pending_totp");
    if !put {
        broken(
            "MfaStore::put_pending_totp stores a first secret",
            "put_pending_totp returned false for a user without any credential",
            PUT_FIX,
        );
    }
    commit(tx).await;
}

/// A committed, enabled credential: pending at `at(0, 0)`, enabled with step `step` at
/// `at(1, 0)`.
async fn enabled<S: Store>(store: &S, user_id: &Id, step: i64) {
    pending(store, user_id, SECRET_A, at(0, 0)).await;
    let mut tx = store.begin().await.must("begin");
    if !tx
        .enable_totp(user_id, step, at(1, 0))
        .await
        .must("enable_totp")
    {
        broken(
            "MfaStore::enable_totp enables a pending credential",
            "enable_totp returned false for a pending credential",
            ENABLE_FIX,
        );
    }
    commit(tx).await;
}

/// `n` committed backup codes for the user, replacing any.
async fn backup_codes<S: Store>(store: &S, user_id: &Id, n: usize) -> Vec<TokenDigest> {
    let digests: Vec<TokenDigest> = (0..n).map(|_| fresh_digest()).collect();
    let mut tx = store.begin().await.must("begin");
    tx.replace_backup_codes(user_id, &digests, at(2, 0))
        .await
        .must("replace_backup_codes");
    commit(tx).await;
    digests
}

/// A user id no row has.
fn unknown_like(id: &Id) -> Id {
    match id {
        Id::Uuid(_) => Id::new_v7(),
        Id::Int(_) => Id::Int(i64::MAX),
    }
}

/// Every column of a credential survives: a pending one as `put_pending_totp` made it, then
/// enabled, locked, failed and bumped; times to the microsecond, in UTC whatever the zone
/// given; a step beyond 32 bits. A user without a credential (or an unknown id) has none.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    const C: &str =
        "MfaStore::put_pending_totp / enable_totp / totp_credential round-trip every column";
    let user = committed_user(&store, "mfa-round-trip@example.com").await;
    let bystander = committed_user(&store, "mfa-none@example.com").await;
    let created = in_zone(at(-86_400, 1), 2);

    let mut tx = store.begin().await.must("begin");
    let put = tx
        .put_pending_totp(&user.id, SECRET_A, created)
        .await
        .must("put_pending_totp");
    check_eq(put, true, C, PUT_FIX);
    commit(tx).await;

    let mut want = MfaCredentialRecord::new(user.id, SECRET_A.to_owned(), created);
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_credential(&got, &want, C);
    for nobody in [bystander.id, unknown_like(&user.id)] {
        if tx
            .totp_credential(&nobody)
            .await
            .must("totp_credential")
            .is_some()
        {
            broken(
                C,
                format_args!("totp_credential({nobody}) found a credential for a user without one"),
                "select WHERE user_id = $1 AND kind = 'totp'; return None when no row matches",
            );
        }
    }
    drop(tx);

    // Past 2^32 seconds / 30 the step no longer fits in 32 bits: a BIGINT column.
    let step = 5_000_000_123_i64;
    let enabled_at = in_zone(at(3_600, 999_999), -7);
    let locked_until = in_zone(at(80 * 365 * 86_400, 7), 5);
    let mut tx = store.begin().await.must("begin");
    let enabled = tx
        .enable_totp(&user.id, step, enabled_at)
        .await
        .must("enable_totp");
    check_eq(enabled, true, C, ENABLE_FIX);
    tx.lock_mfa(&user.id, locked_until).await.must("lock_mfa");
    let failures = tx
        .increment_mfa_failures(&user.id)
        .await
        .must("increment_mfa_failures");
    check_eq(failures, Some(1), C, INCREMENT_FIX);
    let epoch = tx
        .bump_mfa_trust_epoch(&user.id)
        .await
        .must("bump_mfa_trust_epoch");
    check_eq(epoch, Some(1), C, EPOCH_FIX);
    commit(tx).await;

    want.last_verified_step = Some(step);
    want.enabled_at = Some(enabled_at);
    want.locked_until = Some(locked_until);
    want.failed_attempts = 1;
    want.trust_epoch = 1;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_credential(&got, &want, C);
}

/// `put_pending_totp` replaces a pending secret (and its creation time), but never an enabled
/// credential: it then returns `false` and changes nothing. Other users' credentials are
/// left alone.
pub async fn put_pending_never_replaces_enabled<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::put_pending_totp replaces a pending secret, never an enabled one";
    let user = committed_user(&store, "mfa-enrol@example.com").await;
    let other = committed_user(&store, "mfa-other@example.com").await;
    pending(&store, &other.id, SECRET_C, at(-5, 0)).await;
    pending(&store, &user.id, SECRET_A, at(0, 0)).await;

    let mut tx = store.begin().await.must("begin");
    let put = tx
        .put_pending_totp(&user.id, SECRET_B, at(10, 10))
        .await
        .must("put_pending_totp");
    if !put {
        broken(
            C,
            "put_pending_totp returned false over a pending (not enabled) credential",
            PUT_FIX,
        );
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_credential(
        &got,
        &MfaCredentialRecord::new(user.id, SECRET_B.to_owned(), at(10, 10)),
        C,
    );
    drop(tx);

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.enable_totp(&user.id, 77, at(20, 0))
            .await
            .must("enable_totp"),
        true,
        C,
        ENABLE_FIX,
    );
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let before = reload(&mut tx, &user.id, C).await;
    let put = tx
        .put_pending_totp(&user.id, SECRET_C, at(30, 0))
        .await
        .must("put_pending_totp");
    if put {
        broken(
            C,
            "put_pending_totp returned true over an enabled credential",
            PUT_FIX,
        );
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let after = reload(&mut tx, &user.id, C).await;
    if after != before {
        broken(
            C,
            format_args!(
                "put_pending_totp over an enabled credential changed it: before {before:?}, after {after:?} (secrets redacted)"
            ),
            PUT_FIX,
        );
    }
    let theirs = reload(&mut tx, &other.id, C).await;
    check_credential(
        &theirs,
        &MfaCredentialRecord::new(other.id, SECRET_C.to_owned(), at(-5, 0)),
        C,
    );
}

/// `enable_totp` is a compare-and-set: `false` without a credential; of [`RACERS`]
/// concurrent confirmations of one pending credential exactly one returns `true` and its
/// time and step are the ones stored; the lock is cleared; a later call returns `false` and
/// changes nothing.
pub async fn enable_totp_compare_and_set_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::enable_totp enables a pending credential once under concurrency";
    let user = committed_user(&store, "mfa-confirm@example.com").await;
    let id = user.id;

    let mut tx = store.begin().await.must("begin");
    if tx.enable_totp(&id, 1, at(1, 0)).await.must("enable_totp") {
        broken(
            C,
            "enable_totp returned true for a user without any credential",
            ENABLE_FIX,
        );
    }
    if tx
        .totp_credential(&id)
        .await
        .must("totp_credential")
        .is_some()
    {
        broken(
            C,
            "enable_totp without a credential created one",
            "UPDATE, never INSERT, in enable_totp",
        );
    }
    drop(tx);

    pending(&store, &id, SECRET_A, at(0, 0)).await;
    let mut tx = store.begin().await.must("begin");
    tx.lock_mfa(&id, at(900, 0)).await.must("lock_mfa");
    commit(tx).await;

    let results = race(&store, RACERS, move |i, mut tx: S::Tx| async move {
        let step = 1_000 + i as i64;
        let done = tx.enable_totp(&id, step, at(100, i as i64)).await?;
        tx.commit().await?;
        Ok(done)
    })
    .await;
    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(true) => winners.push(i),
            Ok(false) => {}
            Err(err) => broken(
                C,
                format_args!("a racing enable_totp failed with {err} (it must return false)"),
                ENABLE_FIX,
            ),
        }
    }
    let &[winner] = winners.as_slice() else {
        broken(
            C,
            format_args!(
                "{} of {RACERS} concurrent enable_totp calls returned true",
                winners.len()
            ),
            ENABLE_FIX,
        )
    };
    let mut want = MfaCredentialRecord::new(id, SECRET_A.to_owned(), at(0, 0));
    want.enabled_at = Some(at(100, winner as i64));
    want.last_verified_step = Some(1_000 + winner as i64);
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_credential(&got, &want, C);

    if tx
        .enable_totp(&id, 5_000, at(200, 0))
        .await
        .must("enable_totp")
    {
        broken(
            C,
            "enable_totp returned true for an already enabled credential",
            ENABLE_FIX,
        );
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_credential(&got, &want, C);
}

/// `accept_totp_step` accepts a step once and only after every accepted one: refused without
/// a credential and while enrolment is pending, refused for the step `enable_totp` consumed
/// and every earlier one, accepted for a later one (clearing the failure count), refused the
/// second time.
pub async fn accept_totp_step_once_and_in_order<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::accept_totp_step accepts each step once, in order, when enabled";
    let user = committed_user(&store, "mfa-steps@example.com").await;
    let other = committed_user(&store, "mfa-steps-other@example.com").await;
    let id = user.id;

    let mut tx = store.begin().await.must("begin");
    if tx.accept_totp_step(&id, 10).await.must("accept_totp_step") {
        broken(
            C,
            "accept_totp_step returned true for a user without any credential",
            ACCEPT_FIX,
        );
    }
    drop(tx);
    pending(&store, &id, SECRET_A, at(0, 0)).await;
    let mut tx = store.begin().await.must("begin");
    if tx.accept_totp_step(&id, 10).await.must("accept_totp_step") {
        broken(
            C,
            "accept_totp_step returned true while enrolment is pending (enabled_at IS NULL)",
            ACCEPT_FIX,
        );
    }
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.last_verified_step, None, C, ACCEPT_FIX);
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.enable_totp(&id, 100, at(1, 0)).await.must("enable_totp"),
        true,
        C,
        ENABLE_FIX,
    );
    commit(tx).await;
    enabled(&store, &other.id, 50).await;

    // (step, accepted?, in a transaction of its own?)
    let steps = [
        (100, false, false),
        (99, false, false),
        (101, true, true),
        (101, false, false),
        (105, true, false),
        (103, false, true),
        (105, false, false),
        (106, true, true),
    ];
    let mut last = 100;
    let mut tx = store.begin().await.must("begin");
    for (step, want, own_tx) in steps {
        if want {
            // A success clears the failures counted since the last one.
            tx.increment_mfa_failures(&id)
                .await
                .must("increment_mfa_failures");
        }
        let got = tx
            .accept_totp_step(&id, step)
            .await
            .must("accept_totp_step");
        if got != want {
            broken(
                C,
                format_args!(
                    "accept_totp_step({step}) returned {got} after step {last} was accepted (a step is accepted exactly when it is later than the last one)"
                ),
                ACCEPT_FIX,
            );
        }
        if want {
            last = step;
            let cred = reload(&mut tx, &id, C).await;
            check_eq(cred.last_verified_step, Some(step), C, ACCEPT_FIX);
            check_eq(
                cred.failed_attempts,
                0,
                C,
                "accept_totp_step also sets failed_attempts = 0",
            );
        }
        if own_tx {
            commit(tx).await;
            tx = store.begin().await.must("begin");
        }
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.last_verified_step, Some(106), C, ACCEPT_FIX);
    let theirs = reload(&mut tx, &other.id, C).await;
    check_eq(
        theirs.last_verified_step,
        Some(50),
        C,
        "update only the row WHERE user_id = $1 AND kind = 'totp'",
    );
}

/// Of [`CODE_RACERS`] transactions presenting the same TOTP step at once, exactly one is
/// accepted. And of [`CODE_RACERS`] presenting different steps at once, the latest step is
/// the one stored: an earlier step never overwrites a later one.
pub async fn accept_totp_step_single_use_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::accept_totp_step accepts one time step once under concurrency";
    let user = committed_user(&store, "mfa-replay@example.com").await;
    let id = user.id;
    enabled(&store, &id, 100).await;

    let results = race(&store, CODE_RACERS, move |_, mut tx: S::Tx| async move {
        let accepted = tx.accept_totp_step(&id, 200).await?;
        tx.commit().await?;
        Ok(accepted)
    })
    .await;
    let mut winners = 0;
    for result in results {
        match result {
            Ok(true) => winners += 1,
            Ok(false) => {}
            Err(err) => broken(
                C,
                format_args!("a racing accept_totp_step failed with {err} (it must return false)"),
                ACCEPT_FIX,
            ),
        }
    }
    if winners != 1 {
        broken(
            C,
            format_args!(
                "{winners} of {CODE_RACERS} concurrent accept_totp_step calls with the same step returned true: one TOTP code was accepted {winners} times"
            ),
            ACCEPT_FIX,
        );
    }
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.last_verified_step, Some(200), C, ACCEPT_FIX);
    drop(tx);

    let results = race(&store, CODE_RACERS, move |i, mut tx: S::Tx| async move {
        let accepted = tx.accept_totp_step(&id, 300 + i as i64).await?;
        tx.commit().await?;
        Ok(accepted)
    })
    .await;
    let latest = 300 + CODE_RACERS as i64 - 1;
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(accepted) => {
                if 300 + i as i64 == latest && !accepted {
                    broken(
                        C,
                        format_args!(
                            "accept_totp_step({latest}), the latest of {CODE_RACERS} concurrent steps, was refused"
                        ),
                        ACCEPT_FIX,
                    );
                }
            }
            Err(err) => broken(
                C,
                format_args!("a racing accept_totp_step failed with {err} (it must return false)"),
                ACCEPT_FIX,
            ),
        }
    }
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.last_verified_step, Some(latest), C, ACCEPT_FIX);
}

/// `increment_mfa_failures` returns `None` without an enabled credential (changing
/// nothing); [`RACERS`] concurrent increments raise the count by exactly that many, each
/// returning a different count, for that user only.
pub async fn increment_mfa_failures_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::increment_mfa_failures is exact under concurrency";
    let user = committed_user(&store, "mfa-brute@example.com").await;
    let other = committed_user(&store, "mfa-brute-other@example.com").await;
    let id = user.id;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.increment_mfa_failures(&id)
            .await
            .must("increment_mfa_failures"),
        None,
        C,
        "return None when the user has no credential (fetch_optional of the UPDATE … RETURNING)",
    );
    drop(tx);
    pending(&store, &id, SECRET_A, at(0, 0)).await;
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.increment_mfa_failures(&id)
            .await
            .must("increment_mfa_failures"),
        None,
        C,
        "count only on an enabled credential: … AND enabled_at IS NOT NULL",
    );
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.failed_attempts, 0, C, INCREMENT_FIX);
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.enable_totp(&id, 100, at(1, 0)).await.must("enable_totp"),
        true,
        C,
        ENABLE_FIX,
    );
    commit(tx).await;
    enabled(&store, &other.id, 100).await;

    let results = race(&store, RACERS, move |_, mut tx: S::Tx| async move {
        let n = tx.increment_mfa_failures(&id).await?;
        tx.commit().await?;
        Ok(n)
    })
    .await;
    let mut seen = BTreeSet::new();
    for result in results {
        match result {
            Ok(Some(n)) => {
                if !seen.insert(n) {
                    broken(
                        C,
                        format_args!("two concurrent increments both returned {n}"),
                        INCREMENT_FIX,
                    );
                }
            }
            Ok(None) => broken(
                C,
                "a concurrent increment on an enabled credential returned None",
                INCREMENT_FIX,
            ),
            Err(err) => broken(
                C,
                format_args!("a concurrent increment failed: {err}"),
                INCREMENT_FIX,
            ),
        }
    }
    let want: BTreeSet<u32> = (1..=RACERS as u32).collect();
    check_eq(seen, want, C, INCREMENT_FIX);
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.failed_attempts, RACERS as u32, C, INCREMENT_FIX);
    let theirs = reload(&mut tx, &other.id, C).await;
    check_eq(
        theirs.failed_attempts,
        0,
        C,
        "increment only the row WHERE user_id = $1 AND kind = 'totp'",
    );
}

/// `lock_mfa` sets `locked_until` and resets the failures; `clear_mfa_failures` resets both;
/// neither touches another user.
pub async fn lock_and_clear<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::lock_mfa / clear_mfa_failures";
    const LOCK_FIX: &str = "UPDATE user_mfa_credentials SET locked_until = $2, failed_attempts = 0 \
         WHERE user_id = $1 AND kind = 'totp'";
    const CLEAR_FIX: &str = "UPDATE user_mfa_credentials SET failed_attempts = 0, locked_until = \
         NULL WHERE user_id = $1 AND kind = 'totp'";
    let user = committed_user(&store, "mfa-lock@example.com").await;
    let other = committed_user(&store, "mfa-lock-other@example.com").await;
    enabled(&store, &user.id, 100).await;
    enabled(&store, &other.id, 100).await;

    let mut tx = store.begin().await.must("begin");
    for id in [&user.id, &other.id] {
        for _ in 0..3 {
            tx.increment_mfa_failures(id)
                .await
                .must("increment_mfa_failures");
        }
    }
    tx.lock_mfa(&user.id, in_zone(at(900, 123_456), 9))
        .await
        .must("lock_mfa");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_eq(got.failed_attempts, 0, C, LOCK_FIX);
    check_opt_time(got.locked_until, Some(at(900, 123_456)), C, "locked_until");
    let theirs = reload(&mut tx, &other.id, C).await;
    check_eq(theirs.failed_attempts, 3, C, "lock only WHERE user_id = $1");
    check_opt_time(theirs.locked_until, None, C, "locked_until of another user");

    tx.increment_mfa_failures(&user.id)
        .await
        .must("increment_mfa_failures");
    tx.clear_mfa_failures(&user.id)
        .await
        .must("clear_mfa_failures");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_eq(got.failed_attempts, 0, C, CLEAR_FIX);
    check_opt_time(
        got.locked_until,
        None,
        C,
        "locked_until after clear_mfa_failures",
    );
    let theirs = reload(&mut tx, &other.id, C).await;
    check_eq(
        theirs.failed_attempts,
        3,
        C,
        "clear only WHERE user_id = $1",
    );
}

/// `set_totp_secret` replaces the secret of one user and nothing else of the credential.
pub async fn set_totp_secret_changes_only_the_secret<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::set_totp_secret replaces only the secret";
    const FIX: &str = "UPDATE user_mfa_credentials SET encrypted_secret = $2 WHERE user_id = $1 \
         AND kind = 'totp'";
    let user = committed_user(&store, "mfa-rotate@example.com").await;
    let other = committed_user(&store, "mfa-rotate-other@example.com").await;
    enabled(&store, &user.id, 4_242).await;
    pending(&store, &other.id, SECRET_B, at(3, 0)).await;

    let mut tx = store.begin().await.must("begin");
    let mut want = reload(&mut tx, &user.id, C).await;
    tx.set_totp_secret(&user.id, SECRET_C)
        .await
        .must("set_totp_secret");
    commit(tx).await;
    want.encrypted_secret = SECRET_C.to_owned();
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &user.id, C).await;
    check_credential(&got, &want, C);
    let theirs = reload(&mut tx, &other.id, C).await;
    check_credential(
        &theirs,
        &MfaCredentialRecord::new(other.id, SECRET_B.to_owned(), at(3, 0)),
        &format!("{C} (of the user WHERE user_id = $1 only; {FIX})"),
    );
}

/// `bump_mfa_trust_epoch` returns `None` without a credential; a rolled-back bump leaves the
/// epoch as it was; [`RACERS`] concurrent bumps raise it by exactly that many, each returning
/// a different value.
pub async fn bump_mfa_trust_epoch_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::bump_mfa_trust_epoch is exact under concurrency";
    let user = committed_user(&store, "mfa-epoch@example.com").await;
    let id = user.id;
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.bump_mfa_trust_epoch(&id)
            .await
            .must("bump_mfa_trust_epoch"),
        None,
        C,
        "return None when the user has no credential (fetch_optional of the UPDATE … RETURNING)",
    );
    drop(tx);
    enabled(&store, &id, 100).await;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.bump_mfa_trust_epoch(&id)
            .await
            .must("bump_mfa_trust_epoch"),
        Some(1),
        C,
        EPOCH_FIX,
    );
    drop(tx); // rolled back
    let results = race(&store, RACERS, move |_, mut tx: S::Tx| async move {
        let n = tx.bump_mfa_trust_epoch(&id).await?;
        tx.commit().await?;
        Ok(n)
    })
    .await;
    let mut seen = BTreeSet::new();
    for result in results {
        match result {
            Ok(Some(n)) => {
                if !seen.insert(n) {
                    broken(
                        C,
                        format_args!("two concurrent bumps both returned {n}"),
                        EPOCH_FIX,
                    );
                }
            }
            Ok(None) => broken(
                C,
                "a concurrent bump of an existing credential returned None",
                EPOCH_FIX,
            ),
            Err(err) => broken(
                C,
                format_args!("a concurrent bump failed: {err}"),
                EPOCH_FIX,
            ),
        }
    }
    let want: BTreeSet<i64> = (1..=RACERS as i64).collect();
    check_eq(seen, want, C, EPOCH_FIX);
    let mut tx = store.begin().await.must("begin");
    let got = reload(&mut tx, &id, C).await;
    check_eq(got.trust_epoch, RACERS as i64, C, EPOCH_FIX);
}

/// `delete_mfa` deletes the user's credential and every backup code of that user (returning
/// whether a credential was deleted), and nothing of another user's.
pub async fn delete_mfa_only_that_user<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::delete_mfa deletes one user's credential and backup codes";
    const FIX: &str = "DELETE FROM user_backup_codes WHERE user_id = $1, and DELETE FROM \
         user_mfa_credentials WHERE user_id = $1 AND kind = 'totp' (report its rows_affected() > 0)";
    let user = committed_user(&store, "mfa-disable@example.com").await;
    let other = committed_user(&store, "mfa-keep@example.com").await;
    let codes_only = committed_user(&store, "mfa-codes-only@example.com").await;
    enabled(&store, &user.id, 100).await;
    enabled(&store, &other.id, 100).await;
    let mine = backup_codes(&store, &user.id, 8).await;
    let theirs = backup_codes(&store, &other.id, 8).await;
    backup_codes(&store, &codes_only.id, 3).await;
    // The same code for two users is two rows: deleting one user's keeps the other's.
    let mut tx = store.begin().await.must("begin");
    let shared = mine.first().copied().unwrap_or_else(fresh_digest);
    let mut theirs_with_shared = theirs.clone();
    theirs_with_shared.push(shared);
    tx.replace_backup_codes(&other.id, &theirs_with_shared, at(3, 0))
        .await
        .must("replace_backup_codes");
    let want_before = reload(&mut tx, &other.id, C).await;
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.delete_mfa(&user.id).await.must("delete_mfa"),
        true,
        C,
        FIX,
    );
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    if tx
        .totp_credential(&user.id)
        .await
        .must("totp_credential")
        .is_some()
    {
        broken(C, "the credential is still there after delete_mfa", FIX);
    }
    check_eq(
        tx.count_unused_backup_codes(&user.id)
            .await
            .must("count_unused_backup_codes"),
        0,
        C,
        FIX,
    );
    for digest in &mine {
        if tx
            .use_backup_code(&user.id, digest, at(10, 0))
            .await
            .must("use_backup_code")
        {
            broken(C, "a backup code still worked after delete_mfa", FIX);
        }
    }
    check_eq(
        tx.delete_mfa(&user.id).await.must("delete_mfa"),
        false,
        C,
        "return whether a credential row was deleted: false the second time",
    );
    let got = reload(&mut tx, &other.id, C).await;
    check_credential(&got, &want_before, C);
    check_eq(
        tx.count_unused_backup_codes(&other.id)
            .await
            .must("count_unused_backup_codes"),
        theirs_with_shared.len() as u32,
        C,
        "delete only the backup codes WHERE user_id = $1",
    );
    check_eq(
        tx.use_backup_code(&other.id, &shared, at(10, 0))
            .await
            .must("use_backup_code"),
        true,
        C,
        "delete only the backup codes WHERE user_id = $1, whatever their digest",
    );

    // No credential, but backup codes: they go, and there was no credential to delete.
    check_eq(
        tx.delete_mfa(&codes_only.id).await.must("delete_mfa"),
        false,
        C,
        "return whether a credential row was deleted, not whether backup codes were",
    );
    check_eq(
        tx.count_unused_backup_codes(&codes_only.id)
            .await
            .must("count_unused_backup_codes"),
        0,
        C,
        FIX,
    );
}

/// Backup codes: `replace_backup_codes` stores a set (the old set, used or not, stops
/// working); `use_backup_code` uses an unused code of that user once; the count is of unused
/// codes; another user's codes, even with the same digest, are never used or replaced.
pub async fn backup_codes_replace_use_and_count<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore backup codes: replace, use once, count unused, per user";
    let user = committed_user(&store, "mfa-codes@example.com").await;
    let other = committed_user(&store, "mfa-codes-other@example.com").await;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.count_unused_backup_codes(&user.id)
            .await
            .must("count_unused_backup_codes"),
        0,
        C,
        COUNT_FIX,
    );
    drop(tx);
    let first = backup_codes(&store, &user.id, 8).await;
    // The other user holds one of the same digests (codes are not secret from each other's
    // point of view: the same code may come up for two users).
    let shared = first.first().copied().unwrap_or_else(fresh_digest);
    let mut theirs = vec![shared];
    theirs.extend((0..4).map(|_| fresh_digest()));
    let mut tx = store.begin().await.must("begin");
    tx.replace_backup_codes(&other.id, &theirs, at(2, 0))
        .await
        .must("replace_backup_codes (a digest another user also has)");
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.count_unused_backup_codes(&user.id)
            .await
            .must("count_unused_backup_codes"),
        8,
        C,
        COUNT_FIX,
    );
    let stranger = fresh_digest();
    if tx
        .use_backup_code(&user.id, &stranger, at(5, 0))
        .await
        .must("use_backup_code")
    {
        broken(
            C,
            "use_backup_code accepted a digest never stored",
            USE_CODE_FIX,
        );
    }
    if tx
        .use_backup_code(&user.id, &theirs[1], at(5, 0))
        .await
        .must("use_backup_code")
    {
        broken(
            C,
            "use_backup_code accepted another user's code",
            "match both columns: WHERE user_id = $1 AND code_digest = $2 AND used_at IS NULL",
        );
    }
    check_eq(
        tx.use_backup_code(&user.id, &shared, at(5, 0))
            .await
            .must("use_backup_code"),
        true,
        C,
        USE_CODE_FIX,
    );
    if tx
        .use_backup_code(&user.id, &shared, at(6, 0))
        .await
        .must("use_backup_code")
    {
        broken(C, "one backup code was used twice in a row", USE_CODE_FIX);
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    if tx
        .use_backup_code(&user.id, &shared, at(7, 0))
        .await
        .must("use_backup_code")
    {
        broken(
            C,
            "a backup code used in a committed transaction was used again",
            "persist used_at, and use only WHERE … AND used_at IS NULL",
        );
    }
    check_eq(
        tx.count_unused_backup_codes(&user.id)
            .await
            .must("count_unused_backup_codes"),
        7,
        C,
        COUNT_FIX,
    );
    check_eq(
        tx.count_unused_backup_codes(&other.id)
            .await
            .must("count_unused_backup_codes"),
        5,
        C,
        "use only the code WHERE user_id = $1: another user's row with the same digest stays unused",
    );
    drop(tx);

    let second = backup_codes(&store, &user.id, 8).await;
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.count_unused_backup_codes(&user.id)
            .await
            .must("count_unused_backup_codes"),
        8,
        C,
        REPLACE_FIX,
    );
    for digest in first.iter().skip(1) {
        if tx
            .use_backup_code(&user.id, digest, at(8, 0))
            .await
            .must("use_backup_code")
        {
            broken(
                C,
                "an unused code of the replaced set still worked",
                REPLACE_FIX,
            );
        }
    }
    for digest in &second {
        check_eq(
            tx.use_backup_code(&user.id, digest, at(8, 0))
                .await
                .must("use_backup_code"),
            true,
            C,
            REPLACE_FIX,
        );
    }
    check_eq(
        tx.count_unused_backup_codes(&user.id)
            .await
            .must("count_unused_backup_codes"),
        0,
        C,
        COUNT_FIX,
    );
    check_eq(
        tx.use_backup_code(&other.id, &shared, at(8, 0))
            .await
            .must("use_backup_code"),
        true,
        C,
        "replace only the codes WHERE user_id = $1",
    );
    tx.replace_backup_codes(&user.id, &[], at(9, 0))
        .await
        .must("replace_backup_codes (no codes)");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.count_unused_backup_codes(&user.id)
            .await
            .must("count_unused_backup_codes"),
        0,
        C,
        REPLACE_FIX,
    );
    check_eq(
        tx.count_unused_backup_codes(&other.id)
            .await
            .must("count_unused_backup_codes"),
        4,
        C,
        "replace only the codes WHERE user_id = $1",
    );
}

/// Of [`CODE_RACERS`] transactions using one backup code at once, exactly one succeeds, and
/// exactly one code is spent.
pub async fn use_backup_code_single_use_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "MfaStore::use_backup_code is single-use under concurrency";
    let user = committed_user(&store, "mfa-code-race@example.com").await;
    let id = user.id;
    enabled(&store, &id, 100).await;
    let codes = backup_codes(&store, &id, 8).await;
    let Some(&code) = codes.get(3) else {
        broken(C, "no backup code was made", REPLACE_FIX)
    };
    let results = race(&store, CODE_RACERS, move |i, mut tx: S::Tx| async move {
        let used = tx.use_backup_code(&id, &code, at(50, i as i64)).await?;
        tx.commit().await?;
        Ok(used)
    })
    .await;
    let mut winners = 0;
    for result in results {
        match result {
            Ok(true) => winners += 1,
            Ok(false) => {}
            Err(err) => broken(
                C,
                format_args!("a racing use_backup_code failed with {err} (it must return false)"),
                USE_CODE_FIX,
            ),
        }
    }
    if winners != 1 {
        broken(
            C,
            format_args!(
                "{winners} of {CODE_RACERS} concurrent use_backup_code calls with one code returned true: one backup code let {winners} sign-ins through"
            ),
            USE_CODE_FIX,
        );
    }
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.count_unused_backup_codes(&id)
            .await
            .must("count_unused_backup_codes"),
        7,
        C,
        USE_CODE_FIX,
    );
}
