//! [`AuditStore`] contracts.

use super::{Must, at, broken, check_eq, check_time, commit, committed_user, in_zone, whole};
use crate::store::{AuditEvent, AuditOutcome, AuditStore, Store};

fn check_event(got: &AuditEvent, want: &AuditEvent, contract: &str) {
    check_time(got.occurred_at, want.occurred_at, contract, "occurred_at");
    check_eq(&got.action, &want.action, contract, "store action as TEXT");
    check_eq(
        got.outcome,
        want.outcome,
        contract,
        "store outcome as AuditOutcome::as_str() and read it with AuditOutcome::parse",
    );
    check_eq(
        &got.actor_id,
        &want.actor_id,
        contract,
        "actor_id is a nullable id column",
    );
    check_eq(
        &got.target_id,
        &want.target_id,
        contract,
        "target_id is a nullable id column",
    );
    check_eq(&got.ip, &want.ip, contract, "ip is nullable TEXT");
    check_eq(
        &got.user_agent,
        &want.user_agent,
        contract,
        "user_agent is nullable TEXT",
    );
    check_eq(
        &got.metadata,
        &want.metadata,
        contract,
        "store metadata as JSON (jsonb on PostgreSQL, TEXT on SQLite) and parse it back",
    );
}

/// Every column survives, including nested JSON metadata with UTF-8, numbers, arrays and
/// nulls; an event with every optional column empty inserts too.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "AuditStore::insert_audit_event round-trips every column";
    let user = committed_user(&store, "audit@example.com").await;
    let admin = committed_user(&store, "admin@example.com").await;
    let mut full = AuditEvent::new(
        "auth.login.failure",
        AuditOutcome::Failure,
        in_zone(at(3, 141_592), 1),
    );
    full.actor_id = Some(admin.id);
    full.target_id = Some(user.id);
    full.ip = Some("203.0.113.7".into());
    full.user_agent = Some("curl/8.5 «ü» 🦀".into());
    full.metadata = serde_json::json!({
        "reason": "bad_password",
        "attempt": 3,
        "ratio": 0.5,
        "big": 9_007_199_254_740_993_i64,
        "nested": { "list": [1, "two", null, true, { "k": [] }] },
        "unicode": "Zoë 🦀 \"quoted\" \\ back",
        "empty": {},
    });
    let mut anon = AuditEvent::new("auth.register.success", AuditOutcome::Success, at(4, 0));
    anon.target_id = Some(user.id);
    let nobody = AuditEvent::new("security.suspicious_login", AuditOutcome::Failure, at(5, 0));

    let mut tx = store.begin().await.must("begin");
    for event in [&full, &anon, &nobody] {
        tx.insert_audit_event(event)
            .await
            .must("insert_audit_event");
    }
    commit(tx).await;

    let mut tx = store.begin().await.must("begin");
    let listed = tx
        .audit_events_for_user(&user.id, 10)
        .await
        .must("audit_events_for_user");
    check_eq(
        listed.len(),
        2,
        C,
        "list the events whose actor_id or target_id is the user",
    );
    if let [newest, oldest] = listed.as_slice() {
        check_event(newest, &anon, C);
        check_event(oldest, &full, C);
    }
    let by_admin = tx
        .audit_events_for_user(&admin.id, 10)
        .await
        .must("audit_events_for_user");
    match by_admin.as_slice() {
        [only] => check_event(only, &full, C),
        other => broken(
            C,
            format_args!("the actor's list has {} events, expected 1", other.len()),
            "list the events whose actor_id or target_id is the user",
        ),
    }
}

/// The per-user list has events where the user is actor or target, newest first (sub-second
/// and zone differences included), at most `limit`, and never another user's events.
pub async fn for_user_newest_first<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "AuditStore::audit_events_for_user lists the user's events newest first";
    const FIX: &str = "SELECT … WHERE actor_id = $1 OR target_id = $1 ORDER BY occurred_at DESC \
         LIMIT $2; on SQLite store times in one fixed UTC text format so text order is time order";
    let user = committed_user(&store, "me@example.com").await;
    let other = committed_user(&store, "you@example.com").await;
    let times = [
        in_zone(whole(0, 0), 11),
        whole(0, 1),
        whole(0, 100_000),
        whole(0, 150_000),
        whole(0, 900_000),
        in_zone(whole(1, 0), -11),
        whole(-1, 999_999),
    ];
    let mut mine = Vec::new();
    let mut tx = store.begin().await.must("begin");
    for (i, t) in times.iter().enumerate() {
        let mut event = AuditEvent::new(format!("test.event.{i}"), AuditOutcome::Success, *t);
        if i % 2 == 0 {
            event.actor_id = Some(user.id);
        } else {
            event.actor_id = Some(other.id);
            event.target_id = Some(user.id);
        }
        tx.insert_audit_event(&event)
            .await
            .must("insert_audit_event");
        mine.push(event);
    }
    let mut theirs = AuditEvent::new("test.theirs", AuditOutcome::Success, at(100, 0));
    theirs.actor_id = Some(other.id);
    tx.insert_audit_event(&theirs)
        .await
        .must("insert_audit_event");
    commit(tx).await;

    mine.sort_by_key(|e| std::cmp::Reverse(e.occurred_at));
    let want: Vec<&str> = mine.iter().map(|e| e.action.as_str()).collect();
    let mut tx = store.begin().await.must("begin");
    let listed = tx
        .audit_events_for_user(&user.id, 100)
        .await
        .must("audit_events_for_user");
    let got: Vec<&str> = listed.iter().map(|e| e.action.as_str()).collect();
    check_eq(got, want.clone(), C, FIX);
    let limited = tx
        .audit_events_for_user(&user.id, 2)
        .await
        .must("audit_events_for_user");
    let got: Vec<&str> = limited.iter().map(|e| e.action.as_str()).collect();
    check_eq(got, want.iter().take(2).copied().collect(), C, FIX);
    let none = tx
        .audit_events_for_user(&user.id, 0)
        .await
        .must("audit_events_for_user");
    check_eq(none.len(), 0, C, FIX);
}
