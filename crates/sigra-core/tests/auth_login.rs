//! Password login (`Sigra::log_in`): sessions, lockout and its notice, equal answers for
//! unknown emails, rehash on login, unconfirmed accounts, suspicious-login notices and the
//! configured password length. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use std::sync::Arc;

use sigra_core::auth::{AuthError, AuthMail, LockoutScope, LoginAttempt, Sigra};
use sigra_core::config::{SigraConfig, UnconfirmedPolicy};
use sigra_core::password::Verification;
use sigra_core::store::{AuditOutcome, SessionKind};
use support::auth::*;

#[tokio::test]
async fn log_in_success_starts_in_sudo_and_is_audited() {
    let e = env(clock!());
    let first = e.confirmed("pia@example.com").await;
    let id = first.user.id;
    e.clock.advance(MIN);
    let logged_in = e.login_ok("PIA@example.com", PW).await;
    assert_eq!(logged_in.user.id, id);
    assert_eq!(logged_in.session.kind, SessionKind::Standard);
    assert_eq!(logged_in.session.sudo_at, Some(e.clock.now()));
    assert_eq!(logged_in.session.ip.as_deref(), Some(IP));
    assert_eq!(logged_in.session.user_agent.as_deref(), Some(UA));
    let auth = e.authed(&logged_in).await;
    assert!(e.sigra.in_sudo(&auth));
    assert_eq!(
        e.audit_count("auth.login", AuditOutcome::Success, Some(&id)),
        1
    );
    assert_eq!(
        e.audit_count("session.create", AuditOutcome::Success, Some(&id)),
        2,
        "one for the confirmation, one for this login"
    );
    // Two logins, two distinct sessions.
    assert_ne!(logged_in.token, first.token);
    assert_eq!(e.sigra.list_sessions(&id).await.unwrap().len(), 2);
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn five_failures_lock_for_fifteen_minutes_with_one_notice() {
    let e = env(clock!());
    let id = e.confirmed("quin@example.com").await.user.id;

    for n in 1..=4 {
        e.login_fails_silently("quin@example.com", WRONG).await;
        assert_eq!(e.user_by_id(&id).await.failed_login_attempts, n);
    }
    // The locking failure answers like any other; the owner's notice is in the outbox.
    assert_failed(&e.log_in("quin@example.com", WRONG, false).await);
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "quin@example.com".into(),
            scope: LockoutScope::UnknownClients
        }]
    );
    let locked = e.user_by_id(&id).await;
    assert_eq!(locked.failed_login_attempts, 5);
    assert_eq!(locked.locked_at, Some(e.clock.now()));
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, Some(&id)),
        1
    );

    // While locked: wrong and right passwords fail alike, no second notice, no counting.
    for password in [WRONG, PW, WRONG] {
        e.login_fails_silently("quin@example.com", password).await;
    }
    e.clock.advance(15 * MIN - 1);
    e.login_fails_silently("quin@example.com", PW).await;
    assert_eq!(e.user_by_id(&id).await.failed_login_attempts, 5);
    assert_eq!(e.sigra.list_sessions(&id).await.unwrap().len(), 1);

    // After 15 minutes the lock is over and the count starts again.
    e.clock.advance(1);
    e.login_fails_silently("quin@example.com", WRONG).await;
    let after = e.user_by_id(&id).await;
    assert_eq!(after.failed_login_attempts, 1);
    assert_eq!(after.locked_at, None);
    e.login_ok("quin@example.com", PW).await;
    assert_eq!(e.user_by_id(&id).await.failed_login_attempts, 0);

    // A second lock sends a second notice, once.
    for _ in 0..7 {
        assert_failed(&e.log_in("quin@example.com", WRONG, false).await);
    }
    assert_eq!(kinds(&e.take_new_notices().await), ["lockout_notice"]);
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, Some(&id)),
        2
    );
}

#[tokio::test]
async fn unknown_emails_fail_like_wrong_passwords() {
    let e = env(clock!());
    e.confirmed("rosa@example.com").await;
    e.login_fails_silently("nobody@example.com", PW).await;
    e.login_fails_silently("rosa@example.com", WRONG).await;
    e.login_fails_silently("not an email", PW).await;
    let reasons: Vec<String> = e
        .audit()
        .iter()
        .filter(|a| a.action == "auth.login" && a.outcome == AuditOutcome::Failure)
        .map(|a| a.metadata["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons,
        ["unknown_email", "invalid_password", "unknown_email"]
    );
}

#[tokio::test]
async fn remember_me_gives_a_remember_me_session() {
    let e = env(clock!());
    e.confirmed("sam@example.com").await;
    let LoginAttempt::Success(l) = e.log_in("sam@example.com", PW, true).await else {
        panic!("login failed");
    };
    assert_eq!(l.session.kind, SessionKind::RememberMe);
    assert_eq!(e.authed(&l).await.session.kind, SessionKind::RememberMe);
    let audit = e.audit();
    let login = audit
        .iter()
        .rev()
        .find(|a| a.action == "auth.login")
        .unwrap();
    assert_eq!(login.metadata["remember_me"], true);
    let create = audit.last().unwrap();
    assert_eq!(create.action, "session.create");
    assert_eq!(create.metadata["kind"], "remember_me");
}

/// Runs `n` concurrent wrong-password logins for `email`; returns how many lockout notices
/// they enqueued (and checks that they enqueued nothing else).
async fn race_wrong_logins(e: &Env, email: &'static str, n: usize) -> usize {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let sigra = e.sigra.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            sigra.log_in(email, &pw(WRONG), false, &meta()).await
        }));
    }
    for t in tasks {
        assert_failed(&t.await.unwrap().unwrap());
    }
    let notices = e.take_new_notices().await;
    for notice in &notices {
        assert_eq!(
            notice,
            &AuthMail::LockoutNotice {
                to: email.to_owned(),
                scope: LockoutScope::UnknownClients
            }
        );
    }
    notices.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_are_all_counted() {
    // Threshold 10 and 10 racers: every failure must be counted and exactly one locks.
    let config = SigraConfig::builder()
        .lockout(|l| l.threshold = 10)
        .build()
        .unwrap();
    let e = env_with(clock!(), config);
    let id = e.confirmed("tess@example.com").await.user.id;
    let notices = race_wrong_logins(&e, "tess@example.com", 10).await;
    let user = e.user_by_id(&id).await;
    assert_eq!(user.failed_login_attempts, 10);
    assert_eq!(notices, 1);
    assert!(user.locked_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_lock_once_at_the_threshold() {
    let e = env(clock!());
    let id = e.confirmed("uma@example.com").await.user.id;
    let notices = race_wrong_logins(&e, "uma@example.com", 10).await;
    assert_eq!(notices, 1, "exactly one lockout notice");
    let user = e.user_by_id(&id).await;
    assert!(user.locked_at.is_some());
    // Every attempt was either counted or refused as locked, and the counted ones are
    // exactly the stored count.
    let reasons: Vec<String> = e
        .audit()
        .iter()
        .filter(|a| a.action == "auth.login" && a.outcome == AuditOutcome::Failure)
        .map(|a| a.metadata["reason"].as_str().unwrap().to_owned())
        .collect();
    let counted = reasons.iter().filter(|r| *r == "invalid_password").count();
    let refused = reasons.iter().filter(|r| *r == "locked").count();
    assert_eq!(counted + refused, 10);
    assert_eq!(
        counted,
        usize::try_from(user.failed_login_attempts).unwrap()
    );
    assert!(counted >= 5);
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, Some(&id)),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_lock_does_not_open_a_window_for_parallel_guesses() {
    // After a lock expires, a burst of concurrent wrong passwords must lock the account again
    // at the threshold, not each reset the count to 1.
    let e = env(clock!());
    let id = e.confirmed("vera@example.com").await.user.id;
    for _ in 0..5 {
        e.log_in("vera@example.com", WRONG, false).await;
    }
    assert!(e.user_by_id(&id).await.locked_at.is_some());
    assert_eq!(kinds(&e.take_new_notices().await), ["lockout_notice"]);
    e.clock.advance(15 * MIN);

    let notices = race_wrong_logins(&e, "vera@example.com", 10).await;
    let user = e.user_by_id(&id).await;
    assert!(
        user.locked_at.is_some(),
        "10 wrong passwords after the lock expired must lock again (count {})",
        user.failed_login_attempts
    );
    assert_eq!(notices, 1);
    assert_eq!(user.failed_login_attempts, 5);
}

#[tokio::test]
async fn a_count_above_a_lowered_threshold_still_locks() {
    // Seven failures under a threshold of 10; the app then lowers it to 5.
    let lenient = env_with(
        clock!(),
        SigraConfig::builder()
            .lockout(|l| l.threshold = 10)
            .build()
            .unwrap(),
    );
    let id = lenient.confirmed("wendy@example.com").await.user.id;
    for _ in 0..7 {
        lenient
            .login_fails_silently("wendy@example.com", WRONG)
            .await;
    }
    let strict = Sigra::builder(lenient.store.clone(), secret())
        .password_hasher(hasher(64))
        .clock(lenient.clock.read)
        .build()
        .unwrap();
    let attempt = strict
        .log_in("wendy@example.com", &pw(WRONG), false, &meta())
        .await
        .unwrap();
    assert_failed(&attempt);
    assert_eq!(
        lenient.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "wendy@example.com".into(),
            scope: LockoutScope::UnknownClients
        }]
    );
    assert!(lenient.user_by_id(&id).await.locked_at.is_some());
}

#[tokio::test]
async fn stale_argon2_and_bcrypt_hashes_are_upgraded_on_login() {
    let e = env(clock!());
    let stale_argon = hasher(128).hash(&pw(PW)).await.unwrap();
    assert!(stale_argon.as_str().contains("m=128"));
    let bcrypt_hash = bcrypt::hash(PW, 4).unwrap();
    let argon_user = e
        .insert_user("walt@example.com", stale_argon.as_str())
        .await;
    let bcrypt_user = e.insert_user("xena@example.com", &bcrypt_hash).await;

    // A wrong password upgrades nothing.
    e.login_fails_silently("xena@example.com", WRONG).await;
    assert_eq!(
        e.user_by_id(&bcrypt_user.id).await.hashed_password,
        Some(bcrypt_hash.clone())
    );

    for (user, old) in [
        (&argon_user, stale_argon.as_str().to_owned()),
        (&bcrypt_user, bcrypt_hash.clone()),
    ] {
        let logged_in = e.login_ok(&user.email, PW).await;
        let stored = e.user_by_id(&user.id).await;
        let new = stored.hashed_password.clone().unwrap();
        assert_ne!(new, old);
        assert!(new.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{new}");
        assert_eq!(
            logged_in.user.hashed_password.as_deref(),
            Some(new.as_str())
        );
        assert_eq!(
            e.sigra
                .password_hasher()
                .verify(&pw(PW), &new)
                .await
                .unwrap(),
            Verification::Valid { upgraded: None }
        );
        assert_eq!(
            stored.password_changed_at, None,
            "a rehash is not a password change"
        );
        // And the upgraded hash logs in.
        e.login_ok(&user.email, PW).await;
        assert_eq!(e.user_by_id(&user.id).await.hashed_password, Some(new));
    }
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn unconfirmed_accounts_are_blocked_only_when_configured() {
    let config = SigraConfig::builder()
        .account(|a| a.unconfirmed = UnconfirmedPolicy::Block)
        .build()
        .unwrap();
    let e = env_with(clock!(), config);
    let c = e.register("yara@example.com").await;
    let err = e
        .sigra
        .log_in("yara@example.com", &pw(PW), false, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unconfirmed), "{err:?}");
    // A wrong password still answers like any wrong password.
    e.login_fails_silently("yara@example.com", WRONG).await;
    let id = e.user("yara@example.com").await.unwrap().id;
    assert!(e.sigra.list_sessions(&id).await.unwrap().is_empty());
    e.sigra
        .confirm_with_link(&c.token, c.evidence(), &meta())
        .await
        .unwrap();
    e.login_ok("yara@example.com", PW).await;

    // The default allows them.
    let e = env(clock!());
    e.register("zoe@example.com").await;
    e.login_ok("zoe@example.com", PW).await;
}

// ---------------------------------------------------------------- suspicious logins

#[tokio::test]
async fn a_login_from_an_ip_no_session_has_is_audited_and_mailed() {
    let e = env(clock!());
    let first = e.confirmed("roam@example.com").await;
    e.assert_no_new_notices().await; // confirming: no session to compare with
    e.login_ok("roam@example.com", PW).await;
    e.assert_no_new_notices().await; // same IP as a live session

    let attempt = e
        .sigra
        .log_in(
            "roam@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.4"),
        )
        .await
        .unwrap();
    assert!(matches!(attempt, LoginAttempt::Success(_)), "{attempt:?}");
    match e.take_notice().await {
        AuthMail::SuspiciousLogin { to, ip, user_agent } => {
            assert_eq!(to, "roam@example.com");
            assert_eq!(ip.as_deref(), Some("198.51.100.4"));
            assert_eq!(user_agent.as_deref(), Some("elsewhere/2.0"));
        }
        other => panic!("expected a suspicious-login notice, got {other:?}"),
    }
    assert_eq!(
        e.audit_count(
            "security.suspicious_login",
            AuditOutcome::Success,
            Some(&first.user.id)
        ),
        1
    );
    let event = e
        .audit()
        .into_iter()
        .find(|a| a.action == "security.suspicious_login")
        .unwrap();
    assert_eq!(event.metadata, serde_json::json!({ "reason": "new_ip" }));
    assert_eq!(event.ip.as_deref(), Some("198.51.100.4"));
    // That IP now has a session: the next login from it is not suspicious.
    let back = e
        .sigra
        .log_in(
            "roam@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.4"),
        )
        .await
        .unwrap();
    assert!(matches!(back, LoginAttempt::Success(_)), "{back:?}");
    e.assert_no_new_notices().await;

    // A magic link used from yet another IP is suspicious too.
    let token = e.magic_link("roam@example.com").await;
    e.sigra
        .log_in_with_magic_link(&token, &meta_from("192.0.2.99"))
        .await
        .unwrap();
    let notice = e.take_notice().await;
    assert!(
        matches!(
            &notice,
            AuthMail::SuspiciousLogin { to, ip, .. }
                if to == "roam@example.com" && ip.as_deref() == Some("192.0.2.99")
        ),
        "{notice:?}"
    );
}

#[tokio::test]
async fn a_login_without_any_live_session_is_not_suspicious() {
    let e = env(clock!());
    let first = e.confirmed("fresh@example.com").await;
    e.sigra
        .log_out(&first.token.cookie_value(), &meta())
        .await
        .unwrap();
    let away = e
        .sigra
        .log_in(
            "fresh@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.9"),
        )
        .await
        .unwrap();
    assert!(matches!(away, LoginAttempt::Success(_)), "{away:?}");
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn the_new_address_check_sees_every_session_of_the_user_and_no_pending_one() {
    let e = env(clock!());
    // The oldest session comes from 192.0.2.1, then many from the usual address.
    let first = e.confirmed("many-ips@example.com").await;
    e.sigra
        .log_in(
            "many-ips@example.com",
            &pw(PW),
            false,
            &meta_from("192.0.2.1"),
        )
        .await
        .unwrap();
    e.take_new_notices().await;
    for _ in 0..50 {
        e.clock.advance(1);
        e.login_ok("many-ips@example.com", PW).await;
    }
    e.assert_no_new_notices().await;
    // The oldest session's address is still known; a prefix of it is not.
    e.sigra
        .log_in(
            "many-ips@example.com",
            &pw(PW),
            false,
            &meta_from("192.0.2.1"),
        )
        .await
        .unwrap();
    e.assert_no_new_notices().await;
    e.sigra
        .log_in(
            "many-ips@example.com",
            &pw(PW),
            false,
            &meta_from("192.0.2.10"),
        )
        .await
        .unwrap();
    assert!(matches!(
        e.take_notice().await,
        AuthMail::SuspiciousLogin { ip: Some(ip), .. } if ip == "192.0.2.10"
    ));
    assert_eq!(
        e.audit_count(
            "security.suspicious_login",
            AuditOutcome::Success,
            Some(&first.user.id)
        ),
        2,
        "the first login from 192.0.2.1 and the one from 192.0.2.10"
    );

    // A user whose only session waits for its second factor has nothing to compare with.
    let other = e.confirmed("pending-only@example.com").await;
    e.sigra
        .log_out(&other.token.cookie_value(), &meta())
        .await
        .unwrap();
    e.insert_mfa_pending(&other.user.id).await;
    e.sigra
        .log_in(
            "pending-only@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.77"),
        )
        .await
        .unwrap();
    e.assert_no_new_notices().await;
}

// ---------------------------------------------------------------- configured password limit

#[tokio::test]
async fn the_configured_password_byte_limit_is_enforced_everywhere() {
    let config = SigraConfig::builder()
        .password(|p| p.max_bytes = 300)
        .build()
        .unwrap();
    // Sigra builds its hasher from the configuration here (no test hasher).
    let store = Rec::default();
    let clock = clock!();
    let sigra = Sigra::builder(store.clone(), secret())
        .config(config)
        .clock(clock.read)
        .build()
        .unwrap();
    let too_long = "correct horse battery staple ".repeat(11); // 319 bytes
    let err = sigra
        .register("limit@example.com", &pw(&too_long), &meta())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::WeakPassword(sigra_core::password::PasswordError::TooLong {
                max_bytes: 300
            })
        ),
        "{err:?}"
    );
    // Logging in with an over-long password is refused like any wrong password, before work.
    let attempt = sigra
        .log_in("limit@example.com", &pw(&too_long), false, &meta())
        .await
        .unwrap();
    assert_failed(&attempt);
    assert!(open_all(&sigra, &store.inner).await.is_empty());
    sigra
        .register("limit@example.com", &pw(&too_long[..290]), &meta())
        .await
        .unwrap();
    assert_eq!(kinds(&open_all(&sigra, &store.inner).await), ["confirm"]);
}
