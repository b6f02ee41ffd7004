//! Sessions: `authenticate` and the session lifetimes, listing, revoking and logging out, the
//! per-instance session cache, and `prune`. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::{LoginAttempt, Pruned, SessionToken};
use sigra_core::config::SigraConfig;
use sigra_core::jobs::MAIL_QUEUE;
use sigra_core::store::{AuditOutcome, Id, JobStatus, JobStore, Store, Transaction};
use support::auth::*;

// ---------------------------------------------------------------------------------------------
// authenticate
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authenticate_accepts_the_cookie_and_nothing_else() {
    let e = env(clock!());
    let l = e.confirmed("abe@example.com").await;
    let auth = e.authed(&l).await;
    assert_eq!(auth.user.id, l.user.id);
    assert_eq!(auth.session.id, l.session.id);
    let cookie = l.token.cookie_value();
    let bad = [
        String::new(),
        "garbage".into(),
        SessionToken::generate().unwrap().cookie_value(),
        cookie[..42].into(),
        format!("{cookie}A"),
        cookie.to_uppercase(),
    ];
    for bad in &bad {
        assert!(
            e.sigra.authenticate(bad).await.unwrap().is_none(),
            "{bad:?}"
        );
    }
    assert!(e.auth(&l).await.is_some(), "still valid");
}

#[tokio::test]
async fn idle_standard_sessions_expire_after_30_minutes_and_are_deleted() {
    let e = env(clock!());
    let l = e.confirmed("bea@example.com").await;
    let digest = digest_of(&l.token);
    // Activity keeps it alive past 30 minutes from creation.
    e.clock.advance(20 * MIN);
    assert!(e.auth(&l).await.is_some());
    e.clock.advance(20 * MIN);
    assert!(e.auth(&l).await.is_some());
    // 30 idle minutes end it.
    e.clock.advance(30 * MIN);
    assert!(e.auth(&l).await.is_none());
    assert!(e.session_row(&digest).await.is_none(), "the row is deleted");
    assert!(e.sigra.list_sessions(&l.user.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn standard_sessions_end_after_24_hours_whatever_the_activity() {
    let e = env(clock!());
    let l = e.confirmed("cal@example.com").await;
    for _ in 0..71 {
        e.clock.advance(20 * MIN);
        assert!(e.auth(&l).await.is_some());
    }
    e.clock.advance(20 * MIN); // 24 h after creation
    assert!(e.auth(&l).await.is_none());
    assert!(e.session_row(&digest_of(&l.token)).await.is_none());
}

#[tokio::test]
async fn last_active_is_written_only_after_five_minutes() {
    let e = env(clock!());
    let l = e.confirmed("dee@example.com").await;
    let digest = digest_of(&l.token);
    let created = e.clock.now();

    e.clock.advance(5 * MIN - 1);
    let auth = e.authed(&l).await;
    assert_eq!(auth.session.last_active_at, created);
    assert_eq!(
        e.session_row(&digest).await.unwrap().last_active_at,
        created
    );

    let writes_before = e.begins();
    e.clock.advance(1);
    let auth = e.authed(&l).await;
    assert_eq!(auth.session.last_active_at, e.clock.now());
    assert_eq!(
        e.session_row(&digest).await.unwrap().last_active_at,
        e.clock.now()
    );
    assert_eq!(e.begins() - writes_before, 2, "one read, one touch");

    // Right after the touch: a read only.
    let before = e.begins();
    e.clock.advance(MIN);
    e.authed(&l).await;
    assert_eq!(e.begins() - before, 1);
}

#[tokio::test]
async fn mfa_pending_sessions_never_authenticate() {
    let e = env(clock!());
    let l = e.confirmed("eli@example.com").await;
    let cookie = e.insert_mfa_pending(&l.user.id).await;
    assert!(e.sigra.authenticate(&cookie).await.unwrap().is_none());
    e.clock.advance(MIN);
    assert!(e.sigra.authenticate(&cookie).await.unwrap().is_none());
    let listed = e.sigra.list_sessions(&l.user.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, l.session.id);
}

#[tokio::test]
async fn remember_me_sessions_survive_idleness_until_60_days() {
    let e = env(clock!());
    e.confirmed("fay@example.com").await;
    let LoginAttempt::Success(l) = e.log_in("fay@example.com", PW, true).await else {
        panic!()
    };
    let standard = e.login_ok("fay@example.com", PW).await;
    e.clock.advance(31 * MIN);
    assert!(e.auth(&standard).await.is_none());
    assert!(e.auth(&l).await.is_some());
    e.clock.advance(59 * DAY - 31 * MIN);
    assert!(e.auth(&l).await.is_some());
    e.clock.advance(DAY);
    assert!(e.auth(&l).await.is_none());
    assert!(e.session_row(&digest_of(&l.token)).await.is_none());
}

// ---------------------------------------------------------------------------------------------
// listing, revoking, logging out
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sessions_can_be_listed_revoked_and_logged_out() {
    let e = env(clock!());
    let a1 = e.confirmed("xia@example.com").await;
    e.clock.advance(MIN);
    let a2 = e.login_ok("xia@example.com", PW).await;
    e.clock.advance(MIN);
    let a3 = e.login_ok("xia@example.com", PW).await;
    let b = e.confirmed("yan@example.com").await;
    let id = a1.user.id;
    e.insert_mfa_pending(&id).await;

    let listed = e.sigra.list_sessions(&id).await.unwrap();
    let ids: Vec<Id> = listed.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [a3.session.id, a2.session.id, a1.session.id],
        "most recent first, MFA-pending hidden"
    );

    let auth1 = e.authed(&a1).await;
    assert!(
        !e.sigra
            .revoke_session(&auth1, &b.session.id, &meta())
            .await
            .unwrap(),
        "another user's session is not ours to revoke"
    );
    assert!(e.auth(&b).await.is_some());
    assert!(
        e.sigra
            .revoke_session(&auth1, &a2.session.id, &meta())
            .await
            .unwrap()
    );
    assert!(e.auth(&a2).await.is_none());
    assert!(
        !e.sigra
            .revoke_session(&auth1, &a2.session.id, &meta())
            .await
            .unwrap()
    );
    assert_eq!(
        e.audit_count("session.revoke", AuditOutcome::Success, Some(&id)),
        1
    );

    let revoked = e
        .sigra
        .log_out_other_sessions(&auth1, &meta())
        .await
        .unwrap();
    assert_eq!(revoked, 2, "a3 and the MFA-pending one");
    assert!(e.auth(&a3).await.is_none());
    assert!(e.auth(&a1).await.is_some());
    assert!(e.auth(&b).await.is_some());
    assert_eq!(
        e.audit_count("session.revoke_all", AuditOutcome::Success, Some(&id)),
        1
    );

    e.sigra
        .log_out(&a1.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(e.auth(&a1).await.is_none());
    assert!(e.sigra.list_sessions(&id).await.unwrap().is_empty());
    assert_eq!(
        e.audit_count("session.delete", AuditOutcome::Success, Some(&id)),
        1
    );
    // Logging out twice, or with garbage, is harmless and unaudited.
    e.sigra
        .log_out(&a1.token.cookie_value(), &meta())
        .await
        .unwrap();
    e.sigra.log_out("garbage", &meta()).await.unwrap();
    assert_eq!(
        e.audit_count("session.delete", AuditOutcome::Success, None),
        1
    );
    e.assert_no_new_notices().await;
}

// ---------------------------------------------------------------------------------------------
// the session cache
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_revocation_by_another_instance_is_seen_within_the_cache_ttl() {
    let e = env(clock!());
    let a = e.confirmed("cache@example.com").await;
    let other = e.other_instance(SigraConfig::default());
    assert!(e.auth(&a).await.is_some(), "read once: now cached here");

    other
        .log_out(&a.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(
        other
            .authenticate(&a.token.cookie_value())
            .await
            .unwrap()
            .is_none(),
        "the instance that logged out sees it at once"
    );
    e.clock.advance(9);
    assert!(
        e.auth(&a).await.is_some(),
        "this instance still answers from its cache inside the TTL (10 s by default)"
    );
    e.clock.advance(1);
    assert!(
        e.auth(&a).await.is_none(),
        "and reads the database after it"
    );
}

#[tokio::test]
async fn a_zero_cache_ttl_reads_the_database_on_every_request() {
    let config = SigraConfig::builder()
        .session(|s| s.cache_ttl = std::time::Duration::ZERO)
        .build()
        .unwrap();
    let e = env_with(clock!(), config.clone());
    let a = e.confirmed("nocache@example.com").await;
    let other = e.other_instance(config);
    assert!(e.auth(&a).await.is_some());
    other
        .log_out(&a.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(e.auth(&a).await.is_none());
}

#[tokio::test]
async fn changes_through_this_instance_apply_to_cached_sessions_at_once() {
    let e = env(clock!());
    let a1 = e.confirmed("warm@example.com").await;
    let a2 = e.login_ok("warm@example.com", PW).await;
    let a3 = e.login_ok("warm@example.com", PW).await;
    for a in [&a1, &a2, &a3] {
        assert!(e.auth(a).await.is_some());
    }
    let auth1 = e.authed(&a1).await;
    // Revoking one session, then all the others, then logging out: each is seen at once
    // although every session was cached.
    e.sigra
        .revoke_session(&auth1, &a2.session.id, &meta())
        .await
        .unwrap();
    assert!(e.auth(&a2).await.is_none());
    assert!(e.auth(&a3).await.is_some());
    e.sigra
        .log_out_other_sessions(&auth1, &meta())
        .await
        .unwrap();
    assert!(e.auth(&a3).await.is_none());
    assert!(e.auth(&a1).await.is_some());
    // Sudo and idle expiry are decided on every request from the cached row.
    e.clock.advance(6 * MIN);
    assert!(!e.sigra.in_sudo(&e.authed(&a1).await));
    e.clock.advance(31 * MIN);
    assert!(
        e.auth(&a1).await.is_none(),
        "idle for 31 minutes: expired even though it was cached"
    );
}

#[tokio::test]
async fn a_password_change_ends_cached_sessions_at_once() {
    let e = env(clock!());
    e.confirmed("reset-cache@example.com").await;
    let a = e.login_ok("reset-cache@example.com", PW).await;
    assert!(e.auth(&a).await.is_some());
    let changed = {
        let auth = e.authed(&a).await;
        e.sigra.change_password(&auth, &PW2.into(), &meta()).await
    };
    let new_login = changed.unwrap();
    assert!(
        e.auth(&a).await.is_none(),
        "the rotated-out cookie is dead at once"
    );
    assert!(e.auth(&new_login).await.is_some());
}

// ---------------------------------------------------------------------------------------------
// the per-user cap (session.max_per_user)
// ---------------------------------------------------------------------------------------------

fn evictions(e: &Env, user: &Id) -> Vec<serde_json::Value> {
    e.audit()
        .into_iter()
        .filter(|a| a.action == "session.evict" && a.target_id.as_ref() == Some(user))
        .map(|a| {
            assert_eq!(a.outcome, AuditOutcome::Success);
            assert_eq!(a.actor_id.as_ref(), Some(user));
            a.metadata
        })
        .collect()
}

#[tokio::test]
async fn the_101st_session_ends_the_least_recently_active_one_and_is_audited() {
    let e = env(clock!());
    let first = e.confirmed("hundred@example.com").await;
    let id = first.user.id;
    let mut logins = vec![first];
    for _ in 1..100 {
        e.clock.advance(1);
        logins.push(e.login_ok("hundred@example.com", PW).await);
    }
    assert_eq!(e.sigra.list_sessions(&id).await.unwrap().len(), 100);
    assert!(evictions(&e, &id).is_empty(), "100 sessions are allowed");
    // The oldest session is used again: the least recently active is now the second one.
    e.clock.advance(6 * MIN);
    assert!(e.auth(&logins[0]).await.is_some());

    e.clock.advance(1);
    let newest = e.login_ok("hundred@example.com", PW).await;
    assert_eq!(
        evictions(&e, &id),
        [serde_json::json!({ "count": 1, "max_per_user": 100 })]
    );
    assert!(e.session_row(&digest_of(&logins[1].token)).await.is_none());
    assert!(e.auth(&logins[1]).await.is_none());
    for kept in [&logins[0], &logins[2], &logins[99], &newest] {
        assert!(e.session_row(&digest_of(&kept.token)).await.is_some());
    }
    let listed = e.sigra.list_sessions(&id).await.unwrap();
    assert_eq!(listed.len(), 100);
    assert_eq!(listed[0].id, newest.session.id);
    // The eviction is written in the login's transaction, right before its session.create.
    let actions: Vec<String> = e
        .audit()
        .iter()
        .rev()
        .take(2)
        .map(|a| a.action.clone())
        .collect();
    assert_eq!(actions, ["session.create", "session.evict"]);

    // The next one ends the next least recently active.
    e.clock.advance(1);
    e.login_ok("hundred@example.com", PW).await;
    assert_eq!(evictions(&e, &id).len(), 2);
    assert!(e.session_row(&digest_of(&logins[2].token)).await.is_none());
    assert!(e.session_row(&digest_of(&logins[0].token)).await.is_some());
    assert_eq!(e.sigra.list_sessions(&id).await.unwrap().len(), 100);
}

#[tokio::test]
async fn an_evicted_session_leaves_the_session_cache_at_once() {
    let config = SigraConfig::builder()
        .session(|s| s.max_per_user = 2)
        .build()
        .unwrap();
    let e = env_with(clock!(), config);
    let a = e.confirmed("cap@example.com").await;
    e.clock.advance(1);
    let b = e.login_ok("cap@example.com", PW).await;
    // Both are read once, so both are cached (for 10 s by default).
    assert!(e.auth(&a).await.is_some());
    assert!(e.auth(&b).await.is_some());
    e.clock.advance(1);
    let c = e.login_ok("cap@example.com", PW).await;
    assert!(
        e.auth(&a).await.is_none(),
        "evicted: refused at once although it was cached"
    );
    assert!(e.auth(&b).await.is_some());
    assert!(e.auth(&c).await.is_some());
    assert_eq!(
        evictions(&e, &a.user.id),
        [serde_json::json!({ "count": 1, "max_per_user": 2 })]
    );
}

#[tokio::test]
async fn the_cap_neither_counts_nor_ends_mfa_pending_sessions() {
    let config = SigraConfig::builder()
        .session(|s| s.max_per_user = 2)
        .build()
        .unwrap();
    let e = env_with(clock!(), config);
    let a = e.confirmed("pending-cap@example.com").await;
    let pending = e.insert_mfa_pending(&a.user.id).await;
    let pending = sigra_core::token::Token::parse(&pending).unwrap().digest();
    e.clock.advance(1);
    let b = e.login_ok("pending-cap@example.com", PW).await;
    assert!(
        evictions(&e, &a.user.id).is_empty(),
        "two sessions and a pending one"
    );
    e.clock.advance(1);
    let c = e.login_ok("pending-cap@example.com", PW).await;
    assert_eq!(evictions(&e, &a.user.id).len(), 1);
    assert!(e.auth(&a).await.is_none());
    assert!(e.auth(&b).await.is_some() && e.auth(&c).await.is_some());
    assert!(
        e.session_row(&pending).await.is_some(),
        "the pending session is older but not counted, and ends on its own timeout"
    );
}

#[tokio::test]
async fn a_cap_of_one_keeps_only_the_new_session_and_rotation_evicts_nothing() {
    let config = SigraConfig::builder()
        .session(|s| s.max_per_user = 1)
        .build()
        .unwrap();
    let e = env_with(clock!(), config);
    let a = e.confirmed("solo@example.com").await;
    e.clock.advance(1);
    let b = e.login_ok("solo@example.com", PW).await;
    assert!(e.auth(&a).await.is_none());
    assert_eq!(
        evictions(&e, &a.user.id),
        [serde_json::json!({ "count": 1, "max_per_user": 1 })]
    );
    // Changing the password replaces the current session: nothing beyond the cap.
    let auth = e.authed(&b).await;
    let rotated = e
        .sigra
        .change_password(&auth, &PW2.into(), &meta())
        .await
        .unwrap();
    assert!(e.auth(&rotated).await.is_some());
    assert_eq!(evictions(&e, &a.user.id).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// pruning
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn prune_deletes_only_what_can_never_be_used_again() {
    let e = env(clock!());
    let old = e.confirmed("old@example.com").await;
    e.magic_link("old@example.com").await;
    e.clock.advance(20 * MIN);
    let idle = e.login_ok("old@example.com", PW).await;
    e.clock.advance(25 * MIN);
    let fresh = e.login_ok("old@example.com", PW).await;
    // old: idle 45 min; idle: idle 25 min; fresh: just made.
    let pruned = e.sigra.prune().await.unwrap();
    assert_eq!(
        pruned.sessions, 1,
        "only the session idle for more than 30 minutes"
    );
    assert!(e.auth(&old).await.is_none());
    assert!(e.auth(&idle).await.is_some());
    assert!(e.auth(&fresh).await.is_some());
    // Tokens live until the longest token lifetime (48 h) has passed.
    assert_eq!(pruned.email_tokens, 0);
    assert!(
        pruned.rate_limits >= 1,
        "the 15-minute mail windows that started 45 minutes ago are over"
    );
    assert_eq!(pruned.jobs, 0, "the magic link's mail is not delivered yet");
    e.clock.advance(49 * HOUR);
    let pruned = e.sigra.prune().await.unwrap();
    assert_eq!(pruned.sessions, 2);
    assert_eq!(pruned.email_tokens, 1, "the unused magic link");
    assert_eq!(
        e.sigra.prune().await.unwrap(),
        Pruned::default(),
        "nothing left to do"
    );
    assert_eq!(e.mail_jobs().await.len(), 2, "undelivered mails are kept");
}

#[tokio::test]
async fn prune_deletes_finished_jobs_after_their_retention() {
    let e = env(clock!());
    e.register("kept@example.com").await;
    e.register("sent@example.com").await;
    e.register("dead@example.com").await;
    let jobs = e.mail_jobs().await;
    let (sent, dead) = (jobs[1].id, jobs[2].id);
    // A worker delivered one mail and gave up on another.
    let now = e.clock.now();
    let lease = uuid::Uuid::now_v7();
    let mut tx = e.store.inner.begin().await.unwrap();
    let claimed = tx
        .claim_jobs(MAIL_QUEUE, now, now + time::Duration::minutes(1), lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(tx.complete_job(sent, lease, now, true).await.unwrap());
    assert!(
        tx.fail_job(dead, lease, "550 no such user", None, now)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    // Done jobs are kept 7 days, dead ones 30 days (the defaults); running ones always.
    e.clock.advance(7 * DAY);
    assert_eq!(e.sigra.prune().await.unwrap().jobs, 0);
    e.clock.advance(1);
    assert_eq!(e.sigra.prune().await.unwrap().jobs, 1);
    let left: Vec<JobStatus> = e.mail_jobs().await.iter().map(|j| j.status).collect();
    assert_eq!(left, [JobStatus::Running, JobStatus::Dead]);
    e.clock.advance(23 * DAY);
    assert_eq!(e.sigra.prune().await.unwrap().jobs, 1);
    let left: Vec<_> = e.mail_jobs().await.iter().map(|j| j.status).collect();
    assert_eq!(left, [JobStatus::Running]);
}
