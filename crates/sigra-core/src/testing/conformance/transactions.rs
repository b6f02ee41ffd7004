//! [`Store`] / [`Transaction`](crate::store::Transaction) contracts: commit, rollback,
//! isolation, and conflicts that leave the transaction usable.

use std::time::Duration;

use super::{Must, at, broken, check_eq, commit, committed_user, fresh_digest};
use crate::store::{
    AuditEvent, AuditOutcome, AuditStore, EmailTokenContext, EmailTokenStore, Id, NewEmailToken,
    NewSession, NewUser, RateLimitStore, SessionKind, SessionStore, Store, StoreError, Transaction,
    UserStore,
};
use crate::token::TokenDigest;

struct Writes {
    email: String,
    session: TokenDigest,
    token: TokenDigest,
    audit_action: String,
    rate_key: String,
}

/// One write to every table, in `tx`; returns what to look for afterwards.
async fn write_everything<S: Store>(store: &S, tx: &mut S::Tx, tag: &str) -> (Id, Writes) {
    let writes = Writes {
        email: format!("{tag}@example.com"),
        session: fresh_digest(),
        token: fresh_digest(),
        audit_action: format!("test.{tag}"),
        rate_key: format!("test:{tag}"),
    };
    let user = tx
        .insert_user(&NewUser::new(
            store.new_id(),
            writes.email.clone(),
            None,
            at(0, 0),
        ))
        .await
        .must("insert_user");
    tx.insert_session(&NewSession::new(
        store.new_id(),
        user.id,
        writes.session,
        SessionKind::Standard,
        at(0, 0),
    ))
    .await
    .must("insert_session");
    tx.insert_email_token(&NewEmailToken::new(
        user.id,
        writes.token,
        EmailTokenContext::Confirm,
        writes.email.clone(),
        at(0, 0),
    ))
    .await
    .must("insert_email_token");
    let mut event = AuditEvent::new(writes.audit_action.clone(), AuditOutcome::Success, at(0, 0));
    event.actor_id = Some(user.id);
    tx.insert_audit_event(&event)
        .await
        .must("insert_audit_event");
    tx.hit(&writes.rate_key, at(0, 0)).await.must("hit");
    (user.id, writes)
}

/// Which of the writes a fresh transaction sees, by table.
async fn visible<S: Store>(store: &S, id: &Id, writes: &Writes) -> [(&'static str, bool); 5] {
    let mut tx = store.begin().await.must("begin");
    let user = tx
        .user_by_email(&writes.email)
        .await
        .must("user_by_email")
        .is_some();
    let session = tx
        .session_by_digest(&writes.session)
        .await
        .must("session_by_digest")
        .is_some();
    let token = tx
        .find_email_token(&EmailTokenContext::Confirm, &writes.token)
        .await
        .must("find_email_token")
        .is_some();
    let audit = tx
        .audit_events_for_user(id, 10)
        .await
        .must("audit_events_for_user")
        .iter()
        .any(|e| e.action == writes.audit_action);
    let rate = tx
        .rate_limit_count(&writes.rate_key, at(0, 0))
        .await
        .must("rate_limit_count")
        > 0;
    [
        ("users", user),
        ("sessions", session),
        ("email tokens", token),
        ("audit events", audit),
        ("rate limits", rate),
    ]
}

/// Writes to every table in one transaction are all visible to a new transaction after
/// `commit`.
pub async fn commit_makes_writes_visible<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "Transaction::commit makes every write visible";
    let mut tx = store.begin().await.must("begin");
    let (id, writes) = write_everything(&store, &mut tx, "committed").await;
    commit(tx).await;
    for (table, seen) in visible(&store, &id, &writes).await {
        if !seen {
            broken(
                C,
                format_args!("a committed write to {table} is not visible to a new transaction"),
                "run every statement on the transaction's connection (&mut *tx), not on the pool",
            );
        }
    }
}

/// Dropping a transaction without committing undoes every write in it, including updates to
/// rows that existed before.
pub async fn rollback_on_drop_leaves_nothing<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "dropping a Transaction rolls back every write";
    const FIX: &str = "run every statement on the transaction's connection (&mut *tx), never on \
         the pool, and let sqlx's Transaction roll back on drop";
    let existing = committed_user(&store, "existing@example.com").await;
    let mut tx = store.begin().await.must("begin");
    let (id, writes) = write_everything(&store, &mut tx, "dropped").await;
    tx.increment_failed_logins(&existing.id)
        .await
        .must("increment_failed_logins");
    tx.set_email(&existing.id, "changed@example.com")
        .await
        .must("set_email");
    drop(tx);
    for (table, seen) in visible(&store, &id, &writes).await {
        if seen {
            broken(
                C,
                format_args!("a write to {table} survived the rollback"),
                FIX,
            );
        }
    }
    let mut tx = store.begin().await.must("begin");
    match tx.user_by_id(&existing.id).await.must("user_by_id") {
        Some(user) => {
            check_eq(user.failed_login_attempts, 0, C, FIX);
            check_eq(user.email.as_str(), "existing@example.com", C, FIX);
        }
        None => broken(C, "an existing user vanished after a rollback", FIX),
    }
}

/// A transaction running while another one has written but not committed does not see those
/// writes, and they never appear once the writer rolls back.
pub async fn uncommitted_writes_are_invisible<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "uncommitted writes are invisible to other transactions";
    let mut writer = store.begin().await.must("begin");
    writer
        .insert_user(&NewUser::new(
            store.new_id(),
            "pending@example.com".into(),
            None,
            at(0, 0),
        ))
        .await
        .must("insert_user");
    let reader_store = store.clone();
    let reader = tokio::spawn(async move {
        // On SQLite this waits for the writer (BEGIN IMMEDIATE); elsewhere it reads at once.
        let mut tx = reader_store.begin().await?;
        let seen = tx.user_by_email("pending@example.com").await?;
        tx.commit().await?;
        Ok::<_, StoreError>(seen.is_some())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(writer);
    match reader.await {
        Ok(Ok(false)) => {}
        Ok(Ok(true)) => broken(
            C,
            "another transaction saw a user that was inserted but never committed",
            "use real database transactions (sqlx Transaction) for Store::begin, never autocommit",
        ),
        Ok(Err(err)) => broken(
            C,
            format_args!("the reading transaction failed: {err}"),
            "on SQLite set busy_timeout (e.g. 5 s) so a transaction waits for a writer instead of failing",
        ),
        Err(err) => panic!("the reading task failed: {err}"),
    }
}

/// After a `Conflict` the transaction still works: the flow can write its audit event and
/// commit. (PostgreSQL aborts a transaction on any failed statement, so a store must avoid
/// the failure: `ON CONFLICT DO NOTHING`, or a savepoint.)
pub async fn conflict_leaves_transaction_usable<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "a Conflict leaves the transaction usable";
    const FIX: &str = "avoid failing the statement: INSERT … ON CONFLICT DO NOTHING RETURNING … \
         and report a missing row as Conflict; for UPDATEs run the statement in a savepoint \
         (sqlx: tx.begin()) and roll it back on a unique violation";
    let alice = committed_user(&store, "alice@example.com").await;
    let bob = committed_user(&store, "bob@example.com").await;
    let session = fresh_digest();
    let token = fresh_digest();
    let mut tx = store.begin().await.must("begin");
    tx.insert_session(&NewSession::new(
        store.new_id(),
        alice.id,
        session,
        SessionKind::Standard,
        at(0, 0),
    ))
    .await
    .must("insert_session");
    tx.insert_email_token(&NewEmailToken::new(
        alice.id,
        token,
        EmailTokenContext::MagicLink,
        "alice@example.com".into(),
        at(0, 0),
    ))
    .await
    .must("insert_email_token");
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    let mut conflicts = Vec::new();
    conflicts.push(
        tx.insert_user(&NewUser::new(
            store.new_id(),
            "ALICE@example.com".into(),
            None,
            at(1, 0),
        ))
        .await
        .err(),
    );
    conflicts.push(
        tx.insert_session(&NewSession::new(
            store.new_id(),
            bob.id,
            session,
            SessionKind::Standard,
            at(1, 0),
        ))
        .await
        .err(),
    );
    conflicts.push(
        tx.insert_email_token(&NewEmailToken::new(
            bob.id,
            token,
            EmailTokenContext::MagicLink,
            "bob@example.com".into(),
            at(1, 0),
        ))
        .await
        .err(),
    );
    conflicts.push(tx.set_email(&bob.id, "Alice@Example.com").await.err());
    for (op, err) in [
        "insert_user",
        "insert_session",
        "insert_email_token",
        "set_email",
    ]
    .iter()
    .zip(conflicts)
    {
        if !matches!(err, Some(StoreError::Conflict { .. })) {
            broken(
                C,
                format_args!("{op} with a duplicate value returned {err:?} instead of Conflict"),
                FIX,
            );
        }
    }
    let mut event = AuditEvent::new("auth.register.failure", AuditOutcome::Failure, at(2, 0));
    event.target_id = Some(alice.id);
    let after = async {
        tx.insert_audit_event(&event).await?;
        tx.mark_confirmed(&bob.id, at(2, 0)).await?;
        tx.hit("register:ip:198.51.100.1", at(0, 0)).await?;
        Ok::<_, StoreError>(())
    }
    .await;
    if let Err(err) = after {
        broken(
            C,
            format_args!("after a Conflict the next statement failed: {err}"),
            FIX,
        );
    }
    if let Err(err) = tx.commit().await {
        broken(
            C,
            format_args!("after a Conflict the commit failed: {err}"),
            FIX,
        );
    }
    let mut tx = store.begin().await.must("begin");
    let events = tx
        .audit_events_for_user(&alice.id, 10)
        .await
        .must("audit_events_for_user");
    if !events.iter().any(|e| e.action == "auth.register.failure") {
        broken(C, "the audit event written after a Conflict was lost", FIX);
    }
    match tx.user_by_id(&bob.id).await.must("user_by_id") {
        Some(user) => {
            if user.confirmed_at.is_none() {
                broken(C, "an update made after a Conflict was lost", FIX);
            }
            check_eq(
                user.email.as_str(),
                "bob@example.com",
                C,
                "a refused set_email must leave the address unchanged",
            );
        }
        None => broken(C, "bob vanished", FIX),
    }
    check_eq(
        tx.rate_limit_count("register:ip:198.51.100.1", at(0, 0))
            .await
            .must("rate_limit_count"),
        1,
        C,
        FIX,
    );
}
