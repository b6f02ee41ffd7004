//! A passkey as the second factor of a login (`start_passkey_mfa` / `finish_passkey_mfa`),
//! against webauthn-authenticator-rs's `SoftPasskey`: a password login of a TOTP-enrolled
//! user waits in `mfa_pending`, and the user's passkey finishes it exactly as a TOTP code
//! would; another user's passkey, an expired pending session, a full session's cookie and a
//! locked second factor are refused.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::{AuthError, Authenticated, LoggedIn};
use sigra_core::config::SigraConfig;
use sigra_core::passkey::{PasskeyChallenge, PasskeyError};
use sigra_core::store::{AuditOutcome, PasskeyRecord, SessionKind};
use sigra_core::totp::{Totp, TotpParams, TotpSecret};
use support::auth::*;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const ORIGIN: &str = "https://app.example.com";
const EMAIL: &str = "mfa-pk@example.com";
const OTHER: &str = "other-pk@example.com";

fn config() -> SigraConfig {
    SigraConfig::builder()
        .passkey(|p| {
            p.rp_id = "example.com".into();
            p.rp_origin = ORIGIN.into();
        })
        .build()
        .unwrap()
}

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

fn code_for(secret: &str, unix: i64) -> String {
    Totp::new(
        TotpSecret::from_base32(secret).unwrap(),
        TotpParams::default(),
    )
    .unwrap()
    .code_at(unix)
    .unwrap()
}

/// Registers a passkey for the logged-in (sudo) user with `key`.
async fn register(e: &Env, auth: &Authenticated, key: &mut SoftPasskey) -> PasskeyRecord {
    let challenge = e
        .sigra
        .start_passkey_registration(auth, &meta())
        .await
        .unwrap();
    let options: CreationChallengeResponse =
        serde_json::from_value(challenge.options.clone()).unwrap();
    let response = key.do_registration(origin(), options).unwrap();
    let response = serde_json::to_string(&response).unwrap();
    e.sigra
        .finish_passkey_registration(auth, &challenge.challenge_id, &response, "Key", &meta())
        .await
        .unwrap()
}

/// A confirmed user with a passkey (registered with the returned authenticator) and TOTP on;
/// returns the authenticator and the TOTP secret.
async fn user_with_passkey_and_totp(e: &Env, email: &str) -> (SoftPasskey, String) {
    e.confirmed(email).await;
    let login = e.login_ok(email, PW).await;
    let auth = e.authed(&login).await;
    let mut key = SoftPasskey::new(true);
    register(e, &auth, &mut key).await;
    let enrollment = e.sigra.start_totp_enrollment(&auth, &meta()).await.unwrap();
    let secret = enrollment.secret().to_owned();
    let code = code_for(&secret, e.clock.now().unix_timestamp());
    e.sigra
        .finish_totp_enrollment(&auth, &code, &meta())
        .await
        .unwrap();
    e.take_new_notices().await;
    e.clock.advance(30);
    (key, secret)
}

/// A password login that waits for the second factor; the pending cookie value.
async fn pending_login(e: &Env, email: &str) -> String {
    let login = e.login_ok(email, PW).await;
    assert!(login.mfa_required());
    assert_eq!(login.session.kind, SessionKind::MfaPending);
    login.token.cookie_value()
}

/// The browser's answer to `challenge` signed by `key` (which must know a listed credential).
fn sign(key: &mut SoftPasskey, challenge: &PasskeyChallenge) -> String {
    let options: RequestChallengeResponse =
        serde_json::from_value(challenge.options.clone()).unwrap();
    let response = key.do_authentication(origin(), options).unwrap();
    serde_json::to_string(&response).unwrap()
}

fn finish_err(result: Result<LoggedIn, AuthError>) -> AuthError {
    match result {
        Err(err) => err,
        Ok(_) => panic!("expected the passkey step to be refused"),
    }
}

#[tokio::test]
async fn a_passkey_finishes_the_mfa_step_of_a_password_login() {
    let e = env_with(clock!(), config());
    let (mut key, _) = user_with_passkey_and_totp(&e, EMAIL).await;
    let pending = pending_login(&e, EMAIL).await;

    let challenge = e.sigra.start_passkey_mfa(&pending).await.unwrap();
    assert!(
        challenge.options["publicKey"]["allowCredentials"]
            .as_array()
            .is_some_and(|c| c.len() == 1),
        "the options list the user's passkey"
    );
    let response = sign(&mut key, &challenge);
    let logged_in = e
        .sigra
        .finish_passkey_mfa(
            &pending,
            &challenge.challenge_id,
            &response,
            true,
            true,
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(logged_in.user.email, EMAIL);
    assert_eq!(logged_in.session.kind, SessionKind::RememberMe);
    assert!(
        logged_in.session.sudo_at.is_some(),
        "a fresh login is in sudo"
    );
    assert!(logged_in.mfa_trust_cookie.is_some(), "trust was asked for");
    assert!(logged_in.backup_codes_left.is_none());
    assert!(e.auth(&logged_in).await.is_some());

    // The pending session is gone: neither step can use it again.
    assert!(e.sigra.pending_mfa(&pending).await.unwrap().is_none());
    assert!(matches!(
        e.sigra.start_passkey_mfa(&pending).await,
        Err(AuthError::SessionExpired)
    ));

    let verify = e
        .audit()
        .into_iter()
        .filter(|ev| ev.action == "mfa.verify" && ev.outcome == AuditOutcome::Success)
        .collect::<Vec<_>>();
    assert_eq!(verify.len(), 1);
    assert_eq!(verify[0].metadata["method"], "passkey");
    assert!(e.audit().iter().any(|ev| ev.action == "passkey.verify"
        && ev.outcome == AuditOutcome::Success
        && ev.metadata["purpose"] == "mfa"));

    // The trust cookie skips the step next time, as after a TOTP code.
    let cookie = logged_in.mfa_trust_cookie.clone().unwrap();
    let trusted = meta().with_mfa_trust(Some(cookie));
    let again = e
        .sigra
        .log_in(EMAIL, &pw(PW), false, &trusted)
        .await
        .unwrap();
    let again = match again {
        sigra_core::auth::LoginAttempt::Success(l) => l,
        other => panic!("expected a login, got {other:?}"),
    };
    assert!(!again.mfa_required());
}

#[tokio::test]
async fn a_passkey_of_another_user_is_refused() {
    let e = env_with(clock!(), config());
    let (_, _) = user_with_passkey_and_totp(&e, EMAIL).await;
    let (mut other_key, _) = user_with_passkey_and_totp(&e, OTHER).await;
    let pending = pending_login(&e, EMAIL).await;

    // The other user's authenticator answers the options of the user's own challenge, with
    // its own credential listed.
    let challenge = e.sigra.start_passkey_mfa(&pending).await.unwrap();
    let other_pending = pending_login(&e, OTHER).await;
    let other_challenge = e.sigra.start_passkey_mfa(&other_pending).await.unwrap();
    let mut forged = other_challenge.options.clone();
    forged["publicKey"]["challenge"] = challenge.options["publicKey"]["challenge"].clone();
    let forged = PasskeyChallenge::new(challenge.challenge_id.clone(), forged);
    let response = sign(&mut other_key, &forged);
    let err = finish_err(
        e.sigra
            .finish_passkey_mfa(
                &pending,
                &challenge.challenge_id,
                &response,
                false,
                false,
                &meta(),
            )
            .await,
    );
    assert!(
        matches!(err, AuthError::Passkey(PasskeyError::Rejected)),
        "got {err:?}"
    );
    assert!(e.audit().iter().any(|ev| ev.action == "passkey.verify"
        && ev.outcome == AuditOutcome::Failure
        && ev.metadata["reason"] == "not_owner"));

    // The other user's own challenge, answered properly, cannot finish this user's login.
    let response = sign(&mut other_key, &other_challenge);
    let err = finish_err(
        e.sigra
            .finish_passkey_mfa(
                &pending,
                &other_challenge.challenge_id,
                &response,
                false,
                false,
                &meta(),
            )
            .await,
    );
    assert!(
        matches!(err, AuthError::Passkey(PasskeyError::ChallengeInvalid)),
        "got {err:?}"
    );

    // A refusal neither ends the pending session nor counts toward the MFA lock.
    assert!(e.sigra.pending_mfa(&pending).await.unwrap().is_some());
    assert_eq!(e.audit_count("mfa.verify", AuditOutcome::Success, None), 0);
}

#[tokio::test]
async fn an_expired_or_missing_pending_session_is_refused() {
    let e = env_with(clock!(), config());
    let (mut key, _) = user_with_passkey_and_totp(&e, EMAIL).await;
    let pending = pending_login(&e, EMAIL).await;
    let challenge = e.sigra.start_passkey_mfa(&pending).await.unwrap();
    let response = sign(&mut key, &challenge);
    e.clock.advance(5 * MIN + 1);
    assert!(matches!(
        e.sigra.start_passkey_mfa(&pending).await,
        Err(AuthError::SessionExpired)
    ));
    let err = finish_err(
        e.sigra
            .finish_passkey_mfa(
                &pending,
                &challenge.challenge_id,
                &response,
                false,
                false,
                &meta(),
            )
            .await,
    );
    assert!(matches!(err, AuthError::SessionExpired), "got {err:?}");

    for junk in ["", "x", &"A".repeat(10_000)] {
        assert!(matches!(
            e.sigra.start_passkey_mfa(junk).await,
            Err(AuthError::SessionExpired)
        ));
        let err = finish_err(
            e.sigra
                .finish_passkey_mfa(
                    junk,
                    &challenge.challenge_id,
                    &response,
                    false,
                    false,
                    &meta(),
                )
                .await,
        );
        assert!(matches!(err, AuthError::SessionExpired), "got {err:?}");
    }

    // A full session's cookie is no pending one.
    let pending = pending_login(&e, EMAIL).await;
    let challenge = e.sigra.start_passkey_mfa(&pending).await.unwrap();
    let response = sign(&mut key, &challenge);
    let logged_in = e
        .sigra
        .finish_passkey_mfa(
            &pending,
            &challenge.challenge_id,
            &response,
            false,
            false,
            &meta(),
        )
        .await
        .unwrap();
    assert!(matches!(
        e.sigra
            .start_passkey_mfa(&logged_in.token.cookie_value())
            .await,
        Err(AuthError::SessionExpired)
    ));
}

#[tokio::test]
async fn a_user_without_passkeys_gets_no_options_and_a_locked_second_factor_stays_locked() {
    let e = env_with(clock!(), config());
    let (mut key, secret) = user_with_passkey_and_totp(&e, EMAIL).await;

    // Five wrong codes lock the second factor (and end that pending session).
    let pending = pending_login(&e, EMAIL).await;
    let right = code_for(&secret, e.clock.now().unix_timestamp());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut locked = false;
    for _ in 0..10 {
        match e
            .sigra
            .verify_mfa(&pending, wrong, false, false, &meta())
            .await
        {
            Err(AuthError::TooManyAttempts { .. }) => {
                locked = true;
                break;
            }
            Err(AuthError::InvalidCode) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(locked);
    let pending = pending_login(&e, EMAIL).await;
    let challenge = e.sigra.start_passkey_mfa(&pending).await.unwrap();
    let response = sign(&mut key, &challenge);
    let err = finish_err(
        e.sigra
            .finish_passkey_mfa(
                &pending,
                &challenge.challenge_id,
                &response,
                false,
                false,
                &meta(),
            )
            .await,
    );
    assert!(
        matches!(err, AuthError::TooManyAttempts { .. }),
        "got {err:?}"
    );

    // A TOTP user without passkeys gets a clear error, not options.
    let e = env_with(clock!(), config());
    e.confirmed(OTHER).await;
    let login = e.login_ok(OTHER, PW).await;
    let auth = e.authed(&login).await;
    let enrollment = e.sigra.start_totp_enrollment(&auth, &meta()).await.unwrap();
    let code = code_for(enrollment.secret(), e.clock.now().unix_timestamp());
    e.sigra
        .finish_totp_enrollment(&auth, &code, &meta())
        .await
        .unwrap();
    let pending = pending_login(&e, OTHER).await;
    assert!(matches!(
        e.sigra.start_passkey_mfa(&pending).await,
        Err(AuthError::Passkey(PasskeyError::NoPasskeys))
    ));
}
