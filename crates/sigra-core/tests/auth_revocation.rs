//! Revocation that must not trust what a request already holds: `users.token_epoch` moves with
//! every event that ends all of a user's credentials (password change or reset, lock, "log out
//! everywhere"), and every state-changing flow re-reads its session inside its own
//! transaction, so a session cached by this instance but revoked by another cannot write.
//! The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::AuthError;
use sigra_core::config::SigraConfig;
use support::auth::*;

// ---------------------------------------------------------------------------------------------
// token_epoch
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_password_change_bumps_the_token_epoch() {
    let e = env(clock!());
    e.confirmed("epoch-change@example.com").await;
    let l = e.login_ok("epoch-change@example.com", PW).await; // in sudo
    let before = e.user_by_id(&l.user.id).await.token_epoch;
    let auth = e.authed(&l).await;
    e.sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(e.user_by_id(&l.user.id).await.token_epoch, before + 1);
}

#[tokio::test]
async fn a_password_reset_bumps_the_token_epoch() {
    let e = env(clock!());
    let l = e.confirmed("epoch-reset@example.com").await;
    let before = e.user_by_id(&l.user.id).await.token_epoch;
    let reset = e.reset_link("epoch-reset@example.com").await;
    e.sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(e.user_by_id(&l.user.id).await.token_epoch, before + 1);
}

#[tokio::test]
async fn locking_the_account_bumps_the_token_epoch_once() {
    let e = env(clock!());
    let l = e.confirmed("epoch-lock@example.com").await;
    let before = e.user_by_id(&l.user.id).await.token_epoch;
    for _ in 0..4 {
        e.login_fails_silently("epoch-lock@example.com", "wrong password!")
            .await;
    }
    assert_eq!(
        e.user_by_id(&l.user.id).await.token_epoch,
        before,
        "failures below the threshold revoke nothing"
    );
    e.log_in("epoch-lock@example.com", "wrong password!", false)
        .await;
    let locked = e.user_by_id(&l.user.id).await;
    assert!(locked.locked_at.is_some());
    assert_eq!(locked.token_epoch, before + 1);
}

#[tokio::test]
async fn logging_out_everywhere_bumps_the_token_epoch() {
    let e = env(clock!());
    let l = e.confirmed("epoch-everywhere@example.com").await;
    e.login_ok("epoch-everywhere@example.com", PW).await;
    let before = e.user_by_id(&l.user.id).await.token_epoch;
    let auth = e.authed(&l).await;
    assert_eq!(
        e.sigra
            .log_out_other_sessions(&auth, &meta())
            .await
            .unwrap(),
        1
    );
    assert_eq!(e.user_by_id(&l.user.id).await.token_epoch, before + 1);
}

#[tokio::test]
async fn ordinary_logins_and_logouts_leave_the_token_epoch_alone() {
    let e = env(clock!());
    let l = e.confirmed("epoch-calm@example.com").await;
    let before = e.user_by_id(&l.user.id).await.token_epoch;
    let second = e.login_ok("epoch-calm@example.com", PW).await;
    e.sigra
        .log_out(&second.token.cookie_value(), &meta())
        .await
        .unwrap();
    let auth = e.authed(&l).await;
    e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.unwrap();
    assert_eq!(e.user_by_id(&l.user.id).await.token_epoch, before);
}

// ---------------------------------------------------------------------------------------------
// writes re-check their session
// ---------------------------------------------------------------------------------------------

/// Logs in on this instance (so the session is cached here), then logs it out through a second
/// instance on the same store: this instance's cache still vouches for it for up to 10 s.
async fn revoked_elsewhere(e: &Env, email: &str) -> sigra_core::auth::Authenticated {
    e.confirmed(email).await;
    let l = e.login_ok(email, PW).await; // in sudo
    let auth = e.authed(&l).await;
    let other = e.other_instance(SigraConfig::default());
    other
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(
        e.auth(&l).await.is_some(),
        "precondition: this instance still answers from its cache"
    );
    auth
}

#[tokio::test]
async fn an_email_change_request_from_a_session_revoked_elsewhere_is_refused() {
    let e = env(clock!());
    let auth = revoked_elsewhere(&e, "stale-request@example.com").await;
    e.take_new_notices().await;
    let err = e
        .sigra
        .request_email_change(&auth, "stale.new@example.com", &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SessionExpired), "{err:?}");
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn an_email_change_confirmation_from_a_session_revoked_elsewhere_is_refused() {
    let e = env(clock!());
    e.confirmed("stale-confirm@example.com").await;
    let l = e.login_ok("stale-confirm@example.com", PW).await;
    let auth = e.authed(&l).await;
    let token = e
        .email_change_link(&auth, "stale.confirm@example.com")
        .await;
    e.other_instance(SigraConfig::default())
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    let err = e
        .sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SessionExpired), "{err:?}");
    assert_eq!(
        e.user_by_id(&l.user.id).await.email,
        "stale-confirm@example.com",
        "the address did not change"
    );
    assert!(
        e.auth(&l).await.is_none(),
        "and the cached session is dropped"
    );
}

#[tokio::test]
async fn revoking_sessions_from_a_session_revoked_elsewhere_is_refused() {
    let e = env(clock!());
    let auth = revoked_elsewhere(&e, "stale-revoke@example.com").await;
    let victim = e.login_ok("stale-revoke@example.com", PW).await;
    let err = e
        .sigra
        .revoke_session(&auth, &victim.session.id, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SessionExpired), "{err:?}");
    let err = e
        .sigra
        .log_out_other_sessions(&auth, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SessionExpired), "{err:?}");
    assert!(e.auth(&victim).await.is_some(), "nothing was revoked");
}
