//! The audit trail of the account flows: every action of the vocabulary is written with the
//! request's metadata and no secret, and a change commits together with its audit row and its
//! notices. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::AuthError;
use sigra_core::store::AuditOutcome;
use support::auth::*;
use time::OffsetDateTime;

/// Records a secret to look for in audit metadata: the whole string and, for an envelope,
/// each long part of it (the raw token and the MAC).
fn remember(secrets: &mut Vec<String>, s: &str) {
    secrets.push(s.to_owned());
    for part in s.split('.').filter(|p| p.len() >= 16) {
        secrets.push(part.to_owned());
    }
}

const VOCABULARY: [&str; 17] = [
    "auth.register",
    "auth.confirm",
    "auth.login",
    "auth.magic_link.request",
    "auth.magic_link.login",
    "auth.password_reset.request",
    "auth.password_reset.complete",
    "auth.email_change.request",
    "auth.email_change.complete",
    "auth.password_change",
    "security.lockout",
    "security.suspicious_login",
    "session.create",
    "session.delete",
    "session.revoke",
    "session.revoke_all",
    "session.sudo_enter",
];

#[tokio::test]
async fn every_flow_is_audited_with_request_meta_and_without_secrets() {
    let e = env(clock!());
    let mut secrets: Vec<String> = vec![PW.into(), PW2.into(), WRONG.into()];
    let pw3 = "third passphrase here";
    secrets.push(pw3.into());

    // register (new and taken), a wrong code, the right code
    let c = e.register("amy@example.com").await;
    remember(&mut secrets, &c.token);
    remember(&mut secrets, &c.code);
    e.sigra
        .register("amy@example.com", &pw(PW), &meta())
        .await
        .unwrap();
    let _ = e
        .sigra
        .confirm_with_code(
            "amy@example.com",
            other_code(&c.code),
            c.evidence(),
            &meta(),
        )
        .await;
    let first = e
        .sigra
        .confirm_with_code("amy@example.com", &c.code, c.evidence(), &meta())
        .await
        .unwrap();
    remember(&mut secrets, &first.token.cookie_value());

    // logins: unknown, wrong x5 (lockout), then after the lock a good one
    e.log_in("nobody@example.com", PW, false).await;
    for _ in 0..5 {
        e.log_in("amy@example.com", WRONG, false).await;
    }
    e.clock.advance(15 * MIN);
    let l = e.login_ok("amy@example.com", PW).await;
    remember(&mut secrets, &l.token.cookie_value());

    // sudo (wrong, right), password change
    e.clock.advance(10 * MIN);
    let auth = e.authed(&l).await;
    let _ = e.sigra.enter_sudo(&auth, &pw(WRONG), &meta()).await;
    let sudo = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.unwrap();
    remember(&mut secrets, &sudo.token.cookie_value());
    let auth = e.authed(&sudo).await;
    let changed = e
        .sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    remember(&mut secrets, &changed.token.cookie_value());
    let auth = e.authed(&changed).await;
    assert_eq!(
        kinds(&e.take_new_notices().await),
        ["account_exists", "lockout_notice", "password_changed"]
    );

    // email change
    let change = e.email_change_link(&auth, "amy.new@example.com").await;
    remember(&mut secrets, &change);
    e.sigra
        .confirm_email_change(&auth, &change, &meta())
        .await
        .unwrap();
    assert_eq!(kinds(&e.take_new_notices().await), ["email_changed"]);

    // magic link and reset (new window: the mail budget is per 15 minutes)
    e.clock.advance(15 * MIN);
    e.sigra
        .request_magic_link("nobody@example.com", &meta())
        .await
        .unwrap();
    let magic = e.magic_link("amy.new@example.com").await;
    remember(&mut secrets, &magic);
    let via_magic = e
        .sigra
        .log_in_with_magic_link(&magic, &meta())
        .await
        .unwrap();
    remember(&mut secrets, &via_magic.token.cookie_value());
    let reset = e.reset_link("amy.new@example.com").await;
    remember(&mut secrets, &reset);
    e.sigra
        .reset_password(&reset, &pw(pw3), &meta())
        .await
        .unwrap();

    // sessions: revoke one, revoke the others, log out
    let s1 = e.login_ok("amy.new@example.com", pw3).await;
    let s2 = e.login_ok("amy.new@example.com", pw3).await;
    let s3 = e.login_ok("amy.new@example.com", pw3).await;
    for s in [&s1, &s2, &s3] {
        remember(&mut secrets, &s.token.cookie_value());
    }
    let auth = e.authed(&s1).await;
    e.sigra
        .revoke_session(&auth, &s2.session.id, &meta())
        .await
        .unwrap();
    e.sigra
        .log_out_other_sessions(&auth, &meta())
        .await
        .unwrap();
    e.sigra
        .log_out(&s1.token.cookie_value(), &meta())
        .await
        .unwrap();

    // and a login from a new address, with a session of its own to compare with
    let s4 = e.login_ok("amy.new@example.com", pw3).await;
    remember(&mut secrets, &s4.token.cookie_value());
    let away = e
        .sigra
        .log_in("amy.new@example.com", &pw(pw3), false, &meta())
        .await
        .unwrap();
    assert!(matches!(away, sigra_core::auth::LoginAttempt::Success(_)));
    let roaming = e
        .sigra
        .log_in(
            "amy.new@example.com",
            &pw(pw3),
            false,
            &meta_from("198.51.100.23"),
        )
        .await
        .unwrap();
    let sigra_core::auth::LoginAttempt::Success(roaming) = roaming else {
        panic!("expected a login");
    };
    remember(&mut secrets, &roaming.token.cookie_value());
    assert_eq!(
        kinds(&e.take_new_notices().await),
        ["password_changed", "suspicious_login"]
    );

    let rows = e.audit();
    let mut seen: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    let mut expected = VOCABULARY.to_vec();
    expected.sort_unstable();
    assert_eq!(
        seen, expected,
        "every action of the vocabulary, and only those"
    );

    for row in &rows {
        let from_elsewhere = row.ip.as_deref() == Some("198.51.100.23");
        if !from_elsewhere {
            assert_eq!(row.ip.as_deref(), Some(IP), "{}", row.action);
            assert_eq!(row.user_agent.as_deref(), Some(UA), "{}", row.action);
        }
        assert!(row.metadata.is_object(), "{}", row.action);
        let json = serde_json::to_string(&row.metadata).unwrap();
        for secret in &secrets {
            assert!(
                !json.contains(secret.as_str()),
                "{} metadata carries a secret: {json}",
                row.action
            );
        }
        assert!(!json.contains("$argon2"), "{}: {json}", row.action);
        assert!(
            row.occurred_at >= OffsetDateTime::from_unix_timestamp(T0).unwrap()
                && row.occurred_at <= e.clock.now(),
            "rows are stamped with the flow's clock"
        );
    }
    // Anonymous failures name no actor.
    for row in rows.iter().filter(|r| r.outcome == AuditOutcome::Failure) {
        if row.action != "session.sudo_enter" {
            assert_eq!(row.actor_id, None, "{}", row.action);
        }
    }
}

#[tokio::test]
async fn a_change_and_its_audit_row_commit_together() {
    let e = env(clock!());

    // Registration: no user without its row (and no mail).
    e.fail_on(Some("auth.register"));
    assert!(matches!(
        e.sigra.register("bo@example.com", &pw(PW), &meta()).await,
        Err(AuthError::Store(_))
    ));
    assert!(e.user("bo@example.com").await.is_none());
    e.assert_no_new_notices().await;
    e.fail_on(None);
    let c = e.register("bo@example.com").await;

    // Confirmation: the session row failing rolls back the confirmation and keeps the tokens.
    e.fail_on(Some("session.create"));
    assert!(matches!(
        e.sigra
            .confirm_with_link(&c.token, c.evidence(), &meta())
            .await,
        Err(AuthError::Store(_))
    ));
    assert!(
        e.user("bo@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );
    e.fail_on(None);
    let l = e
        .sigra
        .confirm_with_link(&c.token, c.evidence(), &meta())
        .await
        .unwrap();
    let id = l.user.id;

    // Lockout: the fifth failure's row failing leaves the count at four, unlocked, and no
    // notice.
    for _ in 0..4 {
        e.log_in("bo@example.com", WRONG, false).await;
    }
    e.fail_on(Some("security.lockout"));
    assert!(
        e.sigra
            .log_in("bo@example.com", &pw(WRONG), false, &meta())
            .await
            .is_err()
    );
    let user = e.user_by_id(&id).await;
    assert_eq!(user.failed_login_attempts, 4);
    assert!(user.locked_at.is_none());
    e.assert_no_new_notices().await;
    e.fail_on(None);

    // Password change: old password and other sessions survive a failed audit write.
    let s = e.login_ok("bo@example.com", PW).await;
    let auth = e.authed(&s).await;
    e.fail_on(Some("auth.password_change"));
    assert!(matches!(
        e.sigra.change_password(&auth, &pw(PW2), &meta()).await,
        Err(AuthError::Store(_))
    ));
    e.fail_on(None);
    e.assert_no_new_notices().await;
    assert!(e.auth(&l).await.is_some());
    assert!(e.auth(&s).await.is_some());
    e.login_ok("bo@example.com", PW).await;

    // Reset: the link survives a failed completion.
    let reset = e.reset_link("bo@example.com").await;
    e.fail_on(Some("auth.password_reset.complete"));
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW2), &meta()).await,
        Err(AuthError::Store(_))
    ));
    e.fail_on(None);
    e.assert_no_new_notices().await;
    assert!(e.auth(&s).await.is_some());
    e.sigra.check_reset_token(&reset).await.unwrap();
    e.sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(kinds(&e.take_new_notices().await), ["password_changed"]);

    // Nothing failed got a row.
    assert_eq!(
        e.audit_count("auth.password_change", AuditOutcome::Success, None),
        0
    );
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, None),
        0
    );
    assert_eq!(
        e.audit_count("auth.password_reset.complete", AuditOutcome::Success, None),
        1
    );
}

/// The harness itself: each test's `clock!()` is its own.
#[tokio::test]
async fn clocks_of_different_tests_are_independent() {
    let a = clock!();
    let b = clock!();
    a.advance(100);
    assert_eq!(b.now().unix_timestamp(), T0);
    b.set(T0 + 5);
    assert_eq!(a.now().unix_timestamp(), T0 + 100);
}
