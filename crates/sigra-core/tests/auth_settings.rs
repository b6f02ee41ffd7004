//! Sudo mode (`enter_sudo`) and the settings it guards: `change_password`,
//! `request_email_change` and `confirm_email_change`. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::{AuthError, AuthMail, LockoutScope, LoginAttempt};
use sigra_core::store::{AuditOutcome, SessionKind, Store as _, Transaction as _, UserStore as _};
use support::auth::*;

// ---------------------------------------------------------------------------------------------
// sudo
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sudo_lasts_five_minutes_after_a_login() {
    let e = env(clock!());
    e.confirmed("gus@example.com").await;
    let l = e.login_ok("gus@example.com", PW).await;
    assert!(e.sigra.in_sudo(&e.authed(&l).await));
    e.clock.advance(5 * MIN - 1);
    assert!(e.sigra.in_sudo(&e.authed(&l).await));
    e.clock.advance(1);
    assert!(!e.sigra.in_sudo(&e.authed(&l).await));
}

#[tokio::test]
async fn enter_sudo_with_the_password_rotates_the_session() {
    let e = env(clock!());
    e.confirmed("hal@example.com").await;
    let LoginAttempt::Success(l) = e.log_in("hal@example.com", PW, true).await else {
        panic!()
    };
    e.clock.advance(10 * MIN);
    let auth = e.authed(&l).await;
    assert!(!e.sigra.in_sudo(&auth));
    let fresh = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.unwrap();
    assert_ne!(fresh.token, l.token);
    assert!(e.auth(&l).await.is_none(), "the old cookie is dead");
    assert!(e.session_row(&digest_of(&l.token)).await.is_none());
    let new_auth = e.authed(&fresh).await;
    assert!(e.sigra.in_sudo(&new_auth));
    assert_eq!(
        new_auth.session.kind,
        SessionKind::RememberMe,
        "kind is kept"
    );
    assert_eq!(
        e.audit_count(
            "session.sudo_enter",
            AuditOutcome::Success,
            Some(&auth.user.id)
        ),
        1
    );
    assert_eq!(e.sigra.list_sessions(&auth.user.id).await.unwrap().len(), 2);
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn enter_sudo_with_a_wrong_password_is_refused_and_audited() {
    let e = env(clock!());
    let l = e.confirmed("ida@example.com").await;
    e.clock.advance(10 * MIN);
    let auth = e.authed(&l).await;
    let err = e
        .sigra
        .enter_sudo(&auth, &pw(WRONG), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    assert_eq!(
        e.audit_count(
            "session.sudo_enter",
            AuditOutcome::Failure,
            Some(&auth.user.id)
        ),
        1
    );
    let still = e.authed(&l).await;
    assert!(!e.sigra.in_sudo(&still));
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn enter_sudo_on_a_session_revoked_meanwhile_creates_no_session() {
    let e = env(clock!());
    let l = e.confirmed("jon@example.com").await;
    let auth = e.authed(&l).await;
    // Another device logs this session out between the request's authenticate and its
    // enter_sudo.
    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    let result = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await;
    assert!(
        matches!(result, Err(AuthError::SessionExpired)),
        "a revoked session must not come back: {result:?}"
    );
    assert!(
        e.sigra
            .list_sessions(&auth.user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn wrong_sudo_passwords_lock_the_account_and_end_the_session() {
    let e = env(clock!());
    e.confirmed("sudo-guess@example.com").await;
    let stolen = e.login_ok("sudo-guess@example.com", PW).await;
    let other = e.login_ok("sudo-guess@example.com", PW).await;
    let auth = e.authed(&stolen).await;
    for _ in 0..4 {
        let err = e
            .sigra
            .enter_sudo(&auth, &pw(WRONG), &meta())
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    }
    assert!(
        e.auth(&stolen).await.is_some(),
        "four misses: still logged in"
    );
    e.assert_no_new_notices().await;
    let err = e
        .sigra
        .enter_sudo(&auth, &pw(WRONG), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::LockedOut), "{err:?}");
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "sudo-guess@example.com".into(),
            scope: LockoutScope::UnknownClients
        }],
        "the owner is told once"
    );
    assert!(
        e.auth(&stolen).await.is_none(),
        "the guessing session is over"
    );
    assert!(
        e.auth(&other).await.is_some(),
        "the owner's other sessions stay"
    );
    assert_eq!(
        e.audit_count("session.sudo_enter", AuditOutcome::Failure, None),
        5
    );
    e.login_fails_silently("sudo-guess@example.com", PW).await;

    // Even the right password cannot enter sudo while the lock lasts.
    let auth = e.authed(&other).await;
    let err = e
        .sigra
        .enter_sudo(&auth, &pw(PW), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::LockedOut), "{err:?}");
    assert!(e.auth(&other).await.is_none(), "that session is over too");
    e.clock.advance(16 * MIN);
    let again = e.login_ok("sudo-guess@example.com", PW).await;
    let auth = e.authed(&again).await;
    e.clock.advance(6 * MIN); // out of the login's own sudo window
    assert!(e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.is_ok());
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn sudo_on_a_locked_account_answers_alike_for_the_right_and_a_wrong_password() {
    // A stolen session cookie, and the account locked by five anonymous failed logins: the
    // thief must not learn the password by guessing in sudo (no answer tells the right one
    // from a wrong one), and each guess ends the session it was made with.
    let e = env(clock!());
    e.confirmed("locked-sudo@example.com").await;
    let first = e.login_ok("locked-sudo@example.com", PW).await;
    let second = e.login_ok("locked-sudo@example.com", PW).await;
    for _ in 0..5 {
        e.log_in("locked-sudo@example.com", WRONG, false).await;
    }
    e.take_new_notices().await;
    let failures_before = e.audit_count("session.sudo_enter", AuditOutcome::Failure, None);
    for (session, password) in [(&first, WRONG), (&second, PW)] {
        let auth = e.authed(session).await;
        let err = e
            .sigra
            .enter_sudo(&auth, &pw(password), &meta())
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::LockedOut), "{err:?}");
        assert_eq!(err.to_string(), AuthError::LockedOut.to_string());
        assert!(e.auth(session).await.is_none(), "the session is over");
    }
    assert_eq!(
        e.audit_count("session.sudo_enter", AuditOutcome::Failure, None),
        failures_before + 2,
        "every attempt is audited"
    );
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn a_right_sudo_password_resets_the_count() {
    let e = env(clock!());
    e.confirmed("sudo-reset@example.com").await;
    let mut current = e.login_ok("sudo-reset@example.com", PW).await;
    for round in 0..3 {
        let auth = e.authed(&current).await;
        for _ in 0..4 {
            let err = e
                .sigra
                .enter_sudo(&auth, &pw(WRONG), &meta())
                .await
                .unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidCredentials),
                "round {round}: {err:?}"
            );
        }
        current = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.unwrap();
    }
    assert_eq!(
        e.user("sudo-reset@example.com")
            .await
            .unwrap()
            .failed_login_attempts,
        0
    );
    e.assert_no_new_notices().await;
}

// ---------------------------------------------------------------------------------------------
// change_password
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn change_password_requires_sudo() {
    let e = env(clock!());
    let l = e.confirmed("kai@example.com").await; // confirmation sessions are not in sudo
    let auth = e.authed(&l).await;
    assert!(!e.sigra.in_sudo(&auth));
    let err = e
        .sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SudoRequired), "{err:?}");
    e.assert_no_new_notices().await;
    e.login_ok("kai@example.com", PW).await;
}

#[tokio::test]
async fn change_password_revokes_other_sessions_and_outstanding_links() {
    let e = env(clock!());
    let other = e.confirmed("lea@example.com").await;
    let l = e.login_ok("lea@example.com", PW).await;
    let reset = e.reset_link("lea@example.com").await;
    let magic = e.magic_link("lea@example.com").await;
    let auth = e.authed(&l).await;

    // A weak new password changes nothing.
    let err = e
        .sigra
        .change_password(&auth, &pw("lea@example.com"), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::WeakPassword(_)));
    assert!(e.auth(&other).await.is_some());
    e.assert_no_new_notices().await;

    let logged_in = e
        .sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::PasswordChanged {
            to: "lea@example.com".into()
        }]
    );
    assert!(e.auth(&other).await.is_none(), "other sessions are revoked");
    assert!(
        e.auth(&l).await.is_none(),
        "the current session is replaced"
    );
    let now_auth = e.authed(&logged_in).await;
    assert!(e.sigra.in_sudo(&now_auth));
    assert_eq!(e.sigra.list_sessions(&auth.user.id).await.unwrap().len(), 1);
    let stored = e.user_by_id(&auth.user.id).await;
    assert_eq!(stored.password_changed_at, Some(e.clock.now()));
    assert_eq!(logged_in.user.hashed_password, stored.hashed_password);

    e.login_fails_silently("lea@example.com", PW).await;
    e.login_ok("lea@example.com", PW2).await;
    assert!(matches!(
        e.sigra.check_reset_token(&reset).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW), &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&magic, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    let change = e
        .audit()
        .into_iter()
        .find(|a| a.action == "auth.password_change")
        .unwrap();
    assert_eq!(change.metadata["sessions_revoked"], 1);
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn change_password_on_a_session_revoked_meanwhile_changes_and_mails_nothing() {
    let e = env(clock!());
    e.confirmed("nils@example.com").await;
    let l = e.login_ok("nils@example.com", PW).await;
    let auth = e.authed(&l).await;
    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    let err = e
        .sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SessionExpired), "{err:?}");
    e.assert_no_new_notices().await;
    e.login_ok("nils@example.com", PW).await;
}

// ---------------------------------------------------------------------------------------------
// email change
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn email_change_requests_need_sudo_and_a_different_valid_address() {
    let e = env(clock!());
    let l = e.confirmed("max@example.com").await;
    let auth = e.authed(&l).await;
    let err = e
        .sigra
        .request_email_change(&auth, "new@example.com", &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SudoRequired), "{err:?}");

    let auth = e.authed(&e.login_ok("max@example.com", PW).await).await;
    for (new, expected) in [
        ("MAX@Example.com", "SameEmail"),
        (" max@example.com ", "SameEmail"),
        ("not-an-address", "InvalidEmail"),
    ] {
        let err = e
            .sigra
            .request_email_change(&auth, new, &meta())
            .await
            .unwrap_err();
        let ok = match expected {
            "SameEmail" => matches!(err, AuthError::SameEmail),
            _ => matches!(err, AuthError::InvalidEmail),
        };
        assert!(ok, "{new:?}: {err:?}");
    }
    e.assert_no_new_notices().await;
    e.sigra
        .request_email_change(&auth, "max.new@example.com", &meta())
        .await
        .unwrap();
    let mail = e.take_notice().await;
    assert_eq!(mail.kind(), "change_email");
    assert_eq!(mail.to(), "max.new@example.com");
    assert_eq!(
        e.user_by_id(&auth.user.id).await.email,
        "max@example.com",
        "nothing changes before the link is used"
    );
}

#[tokio::test]
async fn email_change_requests_over_the_mail_budget_are_refused_and_mail_nothing() {
    let e = env(clock!());
    e.confirmed("mo@example.com").await;
    let auth = e.authed(&e.login_ok("mo@example.com", PW).await).await;
    for n in 0..3 {
        e.email_change_link(&auth, &format!("mo.{n}@example.com"))
            .await;
    }
    let err = e
        .sigra
        .request_email_change(&auth, "mo.3@example.com", &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::TooManyAttempts { .. }), "{err:?}");
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn email_change_link_switches_the_address_and_revokes_other_sessions() {
    let e = env(clock!());
    let other = e.confirmed("ned@example.com").await;
    let l = e.login_ok("ned@example.com", PW).await;
    let auth = e.authed(&l).await;
    let token = e.email_change_link(&auth, "ned.new@example.com").await;
    e.clock.advance(10 * MIN); // out of sudo: confirming does not need it
    let auth = e.authed(&l).await;
    let user = e
        .sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap();
    assert_eq!(user.email, "ned.new@example.com");
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::EmailChanged {
            to: "ned@example.com".into(),
            new_email: "ned.new@example.com".into()
        }],
        "the old address hears of the change"
    );
    assert!(e.user("ned@example.com").await.is_none());
    assert_eq!(
        e.user("ned.new@example.com").await.unwrap().id,
        auth.user.id
    );
    assert!(e.auth(&other).await.is_none(), "other sessions are revoked");
    assert!(e.auth(&l).await.is_some(), "the current one stays");
    assert!(matches!(
        e.sigra.confirm_email_change(&auth, &token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    e.login_ok("ned.new@example.com", PW).await;
    e.login_fails_silently("ned@example.com", PW).await;
    let complete = e
        .audit()
        .into_iter()
        .find(|a| a.action == "auth.email_change.complete")
        .unwrap();
    assert_eq!(complete.metadata["old_email"], "ned@example.com");
    assert_eq!(complete.metadata["new_email"], "ned.new@example.com");
}

#[tokio::test]
async fn email_change_link_of_another_user_is_refused() {
    let e = env(clock!());
    e.confirmed("oli@example.com").await;
    e.confirmed("pam@example.com").await;
    let oli = e.authed(&e.login_ok("oli@example.com", PW).await).await;
    let pam = e.authed(&e.login_ok("pam@example.com", PW).await).await;
    let token = e.email_change_link(&oli, "oli.new@example.com").await;
    assert!(matches!(
        e.sigra.confirm_email_change(&pam, &token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert_eq!(e.user_by_id(&pam.user.id).await.email, "pam@example.com");
    e.assert_no_new_notices().await;
    // Still usable by its owner.
    let user = e
        .sigra
        .confirm_email_change(&oli, &token, &meta())
        .await
        .unwrap();
    assert_eq!(user.email, "oli.new@example.com");
    assert_eq!(kinds(&e.take_new_notices().await), ["email_changed"]);
}

#[tokio::test]
async fn email_change_to_an_address_taken_meanwhile_changes_nothing() {
    let e = env(clock!());
    let other = e.confirmed("quentin@example.com").await;
    let l = e.login_ok("quentin@example.com", PW).await;
    let auth = e.authed(&l).await;
    let token = e.email_change_link(&auth, "wanted@example.com").await;
    // Registration of a pending address is refused, but another account can still switch
    // to it first (both changes pending, the other confirmed first).
    e.confirmed("vera@example.com").await;
    let v = e.login_ok("vera@example.com", PW).await;
    let vera = e.authed(&v).await;
    let vera_token = e.email_change_link(&vera, "WANTED@example.com").await;
    e.sigra
        .confirm_email_change(&vera, &vera_token, &meta())
        .await
        .unwrap();
    assert_eq!(kinds(&e.take_new_notices().await), ["email_changed"]);
    let err = e
        .sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::EmailTaken), "{err:?}");
    e.assert_no_new_notices().await;
    assert_eq!(
        e.user_by_id(&auth.user.id).await.email,
        "quentin@example.com"
    );
    assert_eq!(
        e.user("wanted@example.com").await.unwrap().email,
        "WANTED@example.com"
    );
    assert!(e.auth(&other).await.is_some(), "no session was revoked");
    assert_eq!(
        e.audit_count(
            "auth.email_change.complete",
            AuditOutcome::Success,
            Some(&auth.user.id)
        ),
        0
    );
}

#[tokio::test]
async fn links_mailed_to_the_old_address_die_with_an_email_change() {
    // Whoever still reads the old mailbox must not take the account back with a reset or
    // magic link mailed there before the change.
    let e = env(clock!());
    e.confirmed("old.box@example.com").await;
    let reset = e.reset_link("old.box@example.com").await;
    let magic = e.magic_link("old.box@example.com").await;
    let owner = e.login_ok("old.box@example.com", PW).await;
    let auth = e.authed(&owner).await;
    let change = e.email_change_link(&auth, "new.box@example.com").await;
    e.sigra
        .confirm_email_change(&auth, &change, &meta())
        .await
        .unwrap();
    e.take_new_notices().await;

    assert!(matches!(
        e.sigra.check_reset_token(&reset).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW2), &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&magic, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    e.login_ok("new.box@example.com", PW).await;
}

#[tokio::test]
async fn a_link_whose_recipient_is_not_the_current_address_is_refused() {
    // Even if a token of the old address survived (a store that failed to delete it), it is
    // refused: the token records where it was mailed.
    let e = env(clock!());
    let user = e.confirmed("moved@example.com").await.user;
    let reset = e.reset_link("moved@example.com").await;
    let magic = e.magic_link("moved@example.com").await;
    let mut tx = e.sigra.store().begin().await.unwrap();
    tx.set_email(&user.id, "moved.elsewhere@example.com")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(
        e.sigra.check_reset_token(&reset).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW2), &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&magic, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
}
