//! [`WebauthnChallengeStore`] contracts.

use super::{Must, at, broken, check_eq, check_time, commit, committed_user, fresh_digest, race};
use crate::store::{
    Store, StoreError, WebauthnChallengeRecord, WebauthnChallengeStore, WebauthnPurpose,
};

/// How many transactions race for one challenge.
const CHALLENGE_RACERS: usize = 20;

const TAKE_FIX: &str = "take the challenge with one statement, DELETE FROM webauthn_challenges \
     WHERE digest = $1 RETURNING …; never SELECT then DELETE";

async fn insert<S: Store>(store: &S, challenge: &WebauthnChallengeRecord) {
    let mut tx = store.begin().await.must("begin");
    tx.insert_webauthn_challenge(challenge)
        .await
        .must("insert_webauthn_challenge");
    commit(tx).await;
}

/// Every column survives insert and take; a second take finds nothing; a duplicate digest is
/// refused with `Conflict { what: "webauthn_challenges.digest" }`.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    if super::passkeys::not_installed::<S>() {
        return;
    }
    const C: &str = "WebauthnChallengeStore::insert_webauthn_challenge / take_webauthn_challenge round-trip every column";
    let user = committed_user(&store, "challenge@example.com").await;
    let bound = WebauthnChallengeRecord::new(
        fresh_digest(),
        WebauthnPurpose::Registration,
        Some(user.id),
        r#"{"rs":{"challenge":"c2VjcmV0","note":"ünïcödé 🦀"}}"#.into(),
        at(60, 250_001),
    );
    let anonymous = WebauthnChallengeRecord::new(
        fresh_digest(),
        WebauthnPurpose::Login,
        None,
        "{}".into(),
        at(60, 0),
    );
    for challenge in [&bound, &anonymous] {
        insert(&store, challenge).await;
    }
    let mut tx = store.begin().await.must("begin");
    match tx
        .insert_webauthn_challenge(&WebauthnChallengeRecord::new(
            bound.digest,
            WebauthnPurpose::Login,
            None,
            "{}".into(),
            at(60, 0),
        ))
        .await
    {
        Err(StoreError::Conflict {
            what: "webauthn_challenges.digest",
        }) => {}
        other => broken(
            C,
            format_args!("a duplicate digest gave {other:?}"),
            "declare digest UNIQUE (or the primary key); INSERT … ON CONFLICT DO NOTHING and \
             report a missing row as Conflict { what: \"webauthn_challenges.digest\" }",
        ),
    }
    drop(tx);
    for want in [&bound, &anonymous] {
        let mut tx = store.begin().await.must("begin");
        let got = tx
            .take_webauthn_challenge(&want.digest, at(0, 0))
            .await
            .must("take_webauthn_challenge");
        let again = tx
            .take_webauthn_challenge(&want.digest, at(0, 0))
            .await
            .must("take_webauthn_challenge");
        commit(tx).await;
        match got {
            Some(got) => {
                check_eq(
                    &got.digest,
                    &want.digest,
                    C,
                    "store digest as the 32 raw bytes",
                );
                check_eq(
                    got.purpose,
                    want.purpose,
                    C,
                    "store purpose as WebauthnPurpose::as_str() and read it with WebauthnPurpose::parse",
                );
                check_eq(
                    &got.user_id,
                    &want.user_id,
                    C,
                    "user_id is nullable, bound as Option",
                );
                check_eq(&got.state, &want.state, C, "store state as TEXT, unchanged");
                check_time(got.expires_at, want.expires_at, C, "expires_at");
            }
            None => broken(
                C,
                "take_webauthn_challenge found nothing for an unexpired challenge",
                TAKE_FIX,
            ),
        }
        if again.is_some() {
            broken(C, "a challenge was returned twice", TAKE_FIX);
        }
    }
}

/// Of 20 transactions taking the same challenge at once, exactly one gets it.
pub async fn take_single_use_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    if super::passkeys::not_installed::<S>() {
        return;
    }
    const C: &str =
        "WebauthnChallengeStore::take_webauthn_challenge is single-use under concurrency";
    let digest = fresh_digest();
    insert(
        &store,
        &WebauthnChallengeRecord::new(digest, WebauthnPurpose::Login, None, "{}".into(), at(60, 0)),
    )
    .await;
    let results = race(
        &store,
        CHALLENGE_RACERS,
        move |_, mut tx: S::Tx| async move {
            let got = tx.take_webauthn_challenge(&digest, at(0, 0)).await?;
            crate::store::Transaction::commit(tx).await?;
            Ok(got)
        },
    )
    .await;
    let mut winners = 0;
    for result in results {
        match result {
            Ok(Some(_)) => winners += 1,
            Ok(None) => {}
            Err(err) => broken(
                C,
                format_args!("a racing take failed with {err} (it must return None)"),
                TAKE_FIX,
            ),
        }
    }
    if winners != 1 {
        broken(
            C,
            format_args!(
                "take_webauthn_challenge returned the challenge to {winners} of {CHALLENGE_RACERS} concurrent transactions"
            ),
            TAKE_FIX,
        );
    }
}

/// An expired challenge is never returned (and is gone after the attempt);
/// `prune_webauthn_challenges` deletes exactly the expired ones (`expires_at <= now`).
pub async fn expired_not_returned_and_pruned<S: Store<Tx: 'static>>(store: S) {
    if super::passkeys::not_installed::<S>() {
        return;
    }
    const C: &str = "WebauthnChallengeStore: an expired challenge is not returned, and prune deletes expired ones";
    let expired = WebauthnChallengeRecord::new(
        fresh_digest(),
        WebauthnPurpose::Login,
        None,
        "{}".into(),
        at(60, 0),
    );
    insert(&store, &expired).await;
    let mut tx = store.begin().await.must("begin");
    let got = tx
        .take_webauthn_challenge(&expired.digest, at(60, 0))
        .await
        .must("take_webauthn_challenge");
    commit(tx).await;
    if got.is_some() {
        broken(
            C,
            "a challenge was returned at its expiry time",
            "return the row only when expires_at > now (compare instants, not text)",
        );
    }

    let stale = WebauthnChallengeRecord::new(
        fresh_digest(),
        WebauthnPurpose::Login,
        None,
        "{}".into(),
        at(10, 0),
    );
    let edge = WebauthnChallengeRecord::new(
        fresh_digest(),
        WebauthnPurpose::Verification,
        None,
        "{}".into(),
        at(20, 0),
    );
    let live = WebauthnChallengeRecord::new(
        fresh_digest(),
        WebauthnPurpose::Login,
        None,
        "{}".into(),
        at(20, 1),
    );
    for c in [&stale, &edge, &live] {
        insert(&store, c).await;
    }
    let mut tx = store.begin().await.must("begin");
    let pruned = tx
        .prune_webauthn_challenges(at(20, 0))
        .await
        .must("prune_webauthn_challenges");
    commit(tx).await;
    check_eq(
        pruned,
        2,
        C,
        "DELETE FROM webauthn_challenges WHERE expires_at <= $1; return rows_affected()",
    );
    let mut tx = store.begin().await.must("begin");
    let kept = tx
        .take_webauthn_challenge(&live.digest, at(0, 0))
        .await
        .must("take_webauthn_challenge");
    let gone = tx
        .take_webauthn_challenge(&stale.digest, at(0, 0))
        .await
        .must("take_webauthn_challenge");
    commit(tx).await;
    if kept.is_none() {
        broken(
            C,
            "prune deleted a challenge that had not expired",
            "compare with <= $1 only",
        );
    }
    if gone.is_some() {
        broken(
            C,
            "prune left an expired challenge",
            "DELETE … WHERE expires_at <= $1",
        );
    }
}
