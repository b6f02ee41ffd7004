//! [`EmailTokenStore`] contracts.

use super::{
    Must, RACERS, at, broken, check_eq, check_time, commit, committed_user, fresh_digest, in_zone,
    race,
};
use crate::store::{
    EmailTokenContext, EmailTokenRecord, EmailTokenStore, Id, NewEmailToken, Store, StoreError,
    Transaction,
};
use crate::token::TokenDigest;

const TAKE_FIX: &str = "take the token with one statement: DELETE FROM … WHERE context = $1 AND \
     digest = $2 RETURNING …; never SELECT then DELETE";

fn check_token(got: &EmailTokenRecord, want: &NewEmailToken, contract: &str) {
    check_eq(
        &got.user_id,
        &want.user_id,
        contract,
        "read user_id back unchanged",
    );
    check_eq(
        &got.digest,
        &want.digest,
        contract,
        "store digest as the 32 raw bytes (BLOB / BYTEA)",
    );
    check_eq(
        &got.context,
        &want.context,
        contract,
        "store context as EmailTokenContext::as_string() and read it with EmailTokenContext::parse",
    );
    check_eq(
        &got.sent_to,
        &want.sent_to,
        contract,
        "store sent_to exactly as given",
    );
    check_time(got.created_at, want.created_at, contract, "created_at");
}

async fn insert<S: Store>(
    store: &S,
    user_id: Id,
    context: EmailTokenContext,
    digest: TokenDigest,
) -> NewEmailToken {
    let token = NewEmailToken::new(user_id, digest, context, "to@example.com".into(), at(0, 0));
    let mut tx = store.begin().await.must("begin");
    tx.insert_email_token(&token)
        .await
        .must("insert_email_token");
    commit(tx).await;
    token
}

fn all_contexts() -> Vec<EmailTokenContext> {
    vec![
        EmailTokenContext::Confirm,
        EmailTokenContext::ConfirmCode,
        EmailTokenContext::ResetPassword,
        EmailTokenContext::MagicLink,
        EmailTokenContext::ChangeEmail {
            old_email: "Ünïcode.Old@Exämple.com".into(),
        },
    ]
}

/// A token of every context survives insert; `find_email_token` reads it without consuming
/// it; `take_email_token` returns it once and then `None`.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "EmailTokenStore insert / find / take round-trip every column";
    let user = committed_user(&store, "tokens@example.com").await;
    let mut tokens = Vec::new();
    let mut tx = store.begin().await.must("begin");
    for (i, context) in all_contexts().into_iter().enumerate() {
        let token = NewEmailToken::new(
            user.id,
            fresh_digest(),
            context,
            format!("Ré.cipient+{i}@Exämple.com"),
            in_zone(at(i as i64, 654_321), 3),
        );
        tx.insert_email_token(&token)
            .await
            .must("insert_email_token");
        tokens.push(token);
    }
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    for token in &tokens {
        for _ in 0..2 {
            match tx
                .find_email_token(&token.context, &token.digest)
                .await
                .must("find_email_token")
            {
                Some(got) => check_token(&got, token, C),
                None => broken(
                    C,
                    format_args!("find_email_token found no {:?} token", token.context),
                    "SELECT … WHERE context = $1 AND digest = $2 (and never delete in find)",
                ),
            }
        }
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    for token in &tokens {
        match tx
            .take_email_token(&token.context, &token.digest)
            .await
            .must("take_email_token")
        {
            Some(got) => check_token(&got, token, C),
            None => broken(
                C,
                format_args!("take_email_token found no {:?} token", token.context),
                TAKE_FIX,
            ),
        }
        let again = tx
            .take_email_token(&token.context, &token.digest)
            .await
            .must("take_email_token");
        if again.is_some() {
            broken(C, "a token was taken twice in a row", TAKE_FIX);
        }
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    for token in &tokens {
        if tx
            .find_email_token(&token.context, &token.digest)
            .await
            .must("find_email_token")
            .is_some()
        {
            broken(C, "a taken token is still there after commit", TAKE_FIX);
        }
    }
}

/// The context is part of the key: one digest may exist under two contexts, and a lookup or
/// take under the wrong context finds nothing (a reset token is not a magic link).
pub async fn scoped_by_context<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "EmailTokenStore lookups are scoped by context";
    const FIX: &str = "match both columns: WHERE context = $1 AND digest = $2";
    let user = committed_user(&store, "ctx@example.com").await;
    let digest = fresh_digest();
    let reset = insert(&store, user.id, EmailTokenContext::ResetPassword, digest).await;
    let mut tx = store.begin().await.must("begin");
    for wrong in [
        EmailTokenContext::MagicLink,
        EmailTokenContext::ChangeEmail {
            old_email: "reset_password".into(),
        },
    ] {
        if tx
            .find_email_token(&wrong, &digest)
            .await
            .must("find_email_token")
            .is_some()
        {
            broken(
                C,
                format_args!("a reset_password token was found as {wrong:?}"),
                FIX,
            );
        }
        if tx
            .take_email_token(&wrong, &digest)
            .await
            .must("take_email_token")
            .is_some()
        {
            broken(
                C,
                format_args!("a reset_password token was taken as {wrong:?}"),
                FIX,
            );
        }
    }
    let magic = NewEmailToken::new(
        user.id,
        digest,
        EmailTokenContext::MagicLink,
        "to@example.com".into(),
        at(1, 0),
    );
    tx.insert_email_token(&magic)
        .await
        .must("insert_email_token (same digest, other context)");
    let taken = tx
        .take_email_token(&EmailTokenContext::MagicLink, &digest)
        .await
        .must("take_email_token");
    match taken {
        Some(got) => check_token(&got, &magic, C),
        None => broken(C, "the magic-link token was not found", FIX),
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    match tx
        .find_email_token(&EmailTokenContext::ResetPassword, &digest)
        .await
        .must("find_email_token")
    {
        Some(got) => check_token(&got, &reset, C),
        None => broken(
            C,
            "taking the magic-link token also removed the reset token with the same digest",
            FIX,
        ),
    }
}

/// A second token with the same `(context, digest)` is refused with
/// `Conflict { what: "email_tokens.digest" }`.
pub async fn context_and_digest_unique<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "EmailTokenStore::insert_email_token refuses a duplicate (context, digest)";
    let user = committed_user(&store, "unique@example.com").await;
    let other = committed_user(&store, "other@example.com").await;
    let digest = fresh_digest();
    insert(&store, user.id, EmailTokenContext::Confirm, digest).await;
    let mut tx = store.begin().await.must("begin");
    let dup = NewEmailToken::new(
        other.id,
        digest,
        EmailTokenContext::Confirm,
        "x@example.com".into(),
        at(1, 0),
    );
    match tx.insert_email_token(&dup).await {
        Err(StoreError::Conflict {
            what: "email_tokens.digest",
        }) => {}
        Ok(()) => broken(
            C,
            "a second token with the same context and digest was inserted",
            "declare UNIQUE (context, digest)",
        ),
        Err(err) => broken(
            C,
            format_args!("failed with {err}"),
            "insert with ON CONFLICT DO NOTHING and report 0 rows as StoreError::Conflict { what: \"email_tokens.digest\" }",
        ),
    }
}

/// Of [`RACERS`] transactions racing to take one token, exactly one receives it.
pub async fn take_single_use_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "EmailTokenStore::take_email_token is single-use under concurrency";
    let user = committed_user(&store, "race@example.com").await;
    let digest = fresh_digest();
    insert(&store, user.id, EmailTokenContext::MagicLink, digest).await;
    let results = race(&store, RACERS, move |_, mut tx: S::Tx| async move {
        let got = tx
            .take_email_token(&EmailTokenContext::MagicLink, &digest)
            .await?;
        tx.commit().await?;
        Ok(got)
    })
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
                "take_email_token returned the token to {winners} of {RACERS} concurrent transactions"
            ),
            TAKE_FIX,
        );
    }
}

/// `delete_user_email_tokens` deletes the user's tokens of the given contexts (all of them
/// for an empty list), leaves other users' tokens alone, and counts.
pub async fn delete_user_email_tokens<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "EmailTokenStore::delete_user_email_tokens";
    const FIX: &str = "DELETE FROM … WHERE user_id = $1 AND context = $2 for each context given, or \
         WHERE user_id = $1 for an empty list; return the total rows_affected()";
    let user = committed_user(&store, "purge@example.com").await;
    let other = committed_user(&store, "keep@example.com").await;
    let mut mine = Vec::new();
    for context in all_contexts() {
        mine.push(insert(&store, user.id, context, fresh_digest()).await);
    }
    let theirs = insert(&store, other.id, EmailTokenContext::Confirm, fresh_digest()).await;

    let mut tx = store.begin().await.must("begin");
    let n = tx
        .delete_user_email_tokens(
            &user.id,
            &[
                EmailTokenContext::Confirm,
                EmailTokenContext::ConfirmCode,
                EmailTokenContext::ChangeEmail {
                    old_email: "someone.else@example.com".into(),
                },
            ],
        )
        .await
        .must("delete_user_email_tokens");
    commit(tx).await;
    check_eq(n, 2, C, FIX);
    let mut tx = store.begin().await.must("begin");
    for token in &mine {
        let present = tx
            .find_email_token(&token.context, &token.digest)
            .await
            .must("find_email_token")
            .is_some();
        let should = !matches!(
            token.context,
            EmailTokenContext::Confirm | EmailTokenContext::ConfirmCode
        );
        if present != should {
            broken(
                C,
                format_args!(
                    "after deleting confirm and confirm_code, the {:?} token is {}",
                    token.context,
                    if present { "still there" } else { "gone" }
                ),
                FIX,
            );
        }
    }
    let n = tx
        .delete_user_email_tokens(&user.id, &[])
        .await
        .must("delete_user_email_tokens");
    check_eq(n, 3, C, FIX);
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    if tx
        .find_email_token(&theirs.context, &theirs.digest)
        .await
        .must("find_email_token")
        .is_none()
    {
        broken(C, "another user's token was deleted", FIX);
    }
}

/// `prune_email_tokens(created_before)` deletes exactly the tokens (every context, every
/// user) created strictly before the cut-off, and counts them.
pub async fn prune_by_age<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "EmailTokenStore::prune_email_tokens deletes tokens created before the cut-off";
    const FIX: &str = "DELETE FROM email_tokens WHERE created_at < $1; on SQLite store times in \
         one fixed UTC text format so text order is time order";
    let a = committed_user(&store, "prune-a@example.com").await;
    let b = committed_user(&store, "prune-b@example.com").await;
    let cases = [
        (a.id, EmailTokenContext::Confirm, at(-1, 999_999), false),
        (
            b.id,
            EmailTokenContext::MagicLink,
            in_zone(at(-3600, 0), 3),
            false,
        ),
        (a.id, EmailTokenContext::ResetPassword, at(0, 0), true),
        (
            b.id,
            EmailTokenContext::ConfirmCode,
            in_zone(at(0, 1), -7),
            true,
        ),
    ];
    let mut tx = store.begin().await.must("begin");
    let mut digests = Vec::new();
    for (user, context, created, _) in &cases {
        let digest = fresh_digest();
        let token = NewEmailToken::new(
            *user,
            digest,
            context.clone(),
            "to@example.com".into(),
            *created,
        );
        tx.insert_email_token(&token)
            .await
            .must("insert_email_token");
        digests.push(digest);
    }
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    let n = tx
        .prune_email_tokens(in_zone(at(0, 0), 1))
        .await
        .must("prune_email_tokens");
    commit(tx).await;
    check_eq(n, 2, C, FIX);
    let mut tx = store.begin().await.must("begin");
    for ((_, context, created, survives), digest) in cases.iter().zip(&digests) {
        let still = tx
            .find_email_token(context, digest)
            .await
            .must("find_email_token")
            .is_some();
        if still != *survives {
            broken(
                C,
                format_args!(
                    "the token created {created} is {} after the prune",
                    if still { "still there" } else { "gone" }
                ),
                FIX,
            );
        }
    }
}

/// `email_change_pending(email, created_after)` is true exactly while an email-change token
/// sent to that address was created at or after the cut-off; other contexts and other
/// addresses do not count.
pub async fn email_change_pending<S: Store<Tx: 'static>>(store: S) {
    const C: &str =
        "EmailTokenStore::email_change_pending finds email-change tokens sent to an address";
    const FIX: &str = "SELECT EXISTS (SELECT 1 FROM email_tokens WHERE context LIKE 'change:%' \
         AND lower(sent_to) = lower($1) AND created_at >= $2); on SQLite store times in one \
         fixed UTC text format so text order is time order";
    let user = committed_user(&store, "pending-owner@example.com").await;
    let mut tx = store.begin().await.must("begin");
    let change = NewEmailToken::new(
        user.id,
        fresh_digest(),
        EmailTokenContext::ChangeEmail {
            old_email: "pending-owner@example.com".into(),
        },
        "wanted@example.com".into(),
        at(100, 0),
    );
    tx.insert_email_token(&change)
        .await
        .must("insert_email_token");
    // A token of another context sent to another address must not count.
    let reset = NewEmailToken::new(
        user.id,
        fresh_digest(),
        EmailTokenContext::ResetPassword,
        "other@example.com".into(),
        at(100, 0),
    );
    tx.insert_email_token(&reset)
        .await
        .must("insert_email_token");
    commit(tx).await;
    let mut tx = store.begin().await.must("begin");
    for (email, after, want) in [
        ("wanted@example.com", at(100, 0), true),
        ("Wanted@Example.COM", at(100, 0), true),
        ("wanted@example.com", in_zone(at(99, 999_999), 4), true),
        ("wanted@example.com", at(100, 1), false),
        ("other@example.com", at(0, 0), false),
        ("pending-owner@example.com", at(0, 0), false),
    ] {
        let got = tx
            .email_change_pending(email, after)
            .await
            .must("email_change_pending");
        if got != want {
            broken(
                C,
                format_args!("email_change_pending({email}, {after}) answered {got}"),
                FIX,
            );
        }
    }
}
