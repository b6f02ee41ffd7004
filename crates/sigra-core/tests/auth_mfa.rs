//! Two-factor authentication flows: TOTP enrolment (sudo, first code, backup codes), the MFA
//! step of every way in (password, magic link), replay, backup codes, the MFA lockout,
//! trusted browsers, disabling, regenerating, key rotation of the secrets at rest, and the
//! squatting rule (MFA set up before confirmation dies with the claim). The harness is in
//! `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::{AuthError, ConfirmEvidence, LoggedIn, LoginAttempt, MfaTrustCookie};
use sigra_core::encryption::Keyring;
use sigra_core::store::{AuditOutcome, MfaStore, SessionKind, Store};
use sigra_core::totp::{Totp, TotpParams, TotpSecret};
use support::auth::*;

const EMAIL: &str = "mfa@example.com";

fn code_for(secret: &str, unix: i64) -> String {
    Totp::new(
        TotpSecret::from_base32(secret).unwrap(),
        TotpParams::default(),
    )
    .unwrap()
    .code_at(unix)
    .unwrap()
}

/// A confirmed, logged-in user with MFA on; returns the login, the base32 secret and the
/// backup codes. The clock is moved one TOTP step on afterwards, so the next code is fresh.
async fn enrolled(e: &Env) -> (LoggedIn, String, Vec<String>) {
    e.confirmed(EMAIL).await;
    let login = e.login_ok(EMAIL, PW).await;
    let auth = e.authed(&login).await;
    let enrollment = e.sigra.start_totp_enrollment(&auth, &meta()).await.unwrap();
    let secret = enrollment.secret().to_owned();
    let code = code_for(&secret, e.clock.now().unix_timestamp());
    let codes = e
        .sigra
        .finish_totp_enrollment(&auth, &code, &meta())
        .await
        .unwrap();
    let codes: Vec<String> = codes.codes().into_iter().map(String::from).collect();
    e.take_new_notices().await;
    e.clock.advance(30);
    (login, secret, codes)
}

/// Logs in with the password expecting the MFA step; returns the pending cookie value.
async fn pending_login(e: &Env) -> String {
    let login = e.login_ok(EMAIL, PW).await;
    assert!(login.mfa_required(), "MFA is due");
    assert_eq!(login.session.kind, SessionKind::MfaPending);
    assert!(
        e.auth(&login).await.is_none(),
        "a pending session authenticates nothing"
    );
    login.token.cookie_value()
}

fn now_code(e: &Env, secret: &str) -> String {
    code_for(secret, e.clock.now().unix_timestamp())
}

fn audit_count(e: &Env, action: &str, outcome: AuditOutcome) -> usize {
    e.audit()
        .iter()
        .filter(|ev| ev.action == action && ev.outcome == outcome)
        .count()
}

#[tokio::test]
async fn enrolment_needs_sudo_and_a_right_first_code() {
    let e = env(clock!());
    let login = e.confirmed(EMAIL).await;
    e.take_new_notices().await;
    e.clock.advance(10 * MIN);
    let stale = e.authed(&login).await;
    assert!(matches!(
        e.sigra.start_totp_enrollment(&stale, &meta()).await,
        Err(AuthError::SudoRequired)
    ));
    let login = e.sigra.enter_sudo(&stale, &pw(PW), &meta()).await.unwrap();
    let auth = e.authed(&login).await;
    let enrollment = e.sigra.start_totp_enrollment(&auth, &meta()).await.unwrap();
    assert!(enrollment.uri().starts_with("otpauth://totp/"));
    assert!(enrollment.qr_svg().starts_with("<?xml") || enrollment.qr_svg().contains("<svg"));
    assert_eq!(format!("{enrollment:?}"), "TotpEnrollment([REDACTED])");
    let status = e.sigra.mfa_status(&auth.user.id).await.unwrap();
    assert!(status.pending && !status.enabled());

    // Wrong, malformed and huge codes: refused, nothing changes.
    for bad in ["000000", "12345", "abcdef", "", &"9".repeat(5000)] {
        let wrong = if bad == "000000" && now_code(&e, enrollment.secret()) == "000000" {
            "111111"
        } else {
            bad
        };
        assert!(matches!(
            e.sigra.finish_totp_enrollment(&auth, wrong, &meta()).await,
            Err(AuthError::InvalidCode)
        ));
    }
    assert!(!e.sigra.mfa_status(&auth.user.id).await.unwrap().enabled());

    // The page shown again after a wrong code has the same secret.
    let again = e
        .sigra
        .pending_totp_enrollment(&auth)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.secret(), enrollment.secret());

    let codes = e
        .sigra
        .finish_totp_enrollment(&auth, &now_code(&e, enrollment.secret()), &meta())
        .await
        .unwrap();
    assert_eq!(codes.codes().len(), 8);
    assert!(
        codes
            .codes()
            .iter()
            .all(|c| c.len() == 9 && c.as_bytes()[4] == b'-')
    );
    assert!(codes.as_text("Acme").lines().count() >= 10);
    assert!(!format!("{codes:?}").contains(codes.codes()[0]));
    let status = e.sigra.mfa_status(&auth.user.id).await.unwrap();
    assert!(status.enabled() && !status.pending);
    assert_eq!(status.backup_codes_left, 8);
    assert_eq!(kinds(&e.take_new_notices().await), ["mfa_enabled"]);
    assert_eq!(audit_count(&e, "mfa.enroll", AuditOutcome::Success), 1);

    // Enrolling again while on is refused; finishing without a pending enrolment too.
    assert!(matches!(
        e.sigra.start_totp_enrollment(&auth, &meta()).await,
        Err(AuthError::MfaAlreadyEnabled)
    ));
    assert!(matches!(
        e.sigra
            .finish_totp_enrollment(&auth, "123456", &meta())
            .await,
        Err(AuthError::MfaNotPending)
    ));
}

#[tokio::test]
async fn the_secret_is_stored_encrypted_never_in_clear() {
    let e = env(clock!());
    let (login, secret, _) = enrolled(&e).await;
    let mut tx = e.store.inner.begin_read().await.unwrap();
    let row = tx.totp_credential(&login.user.id).await.unwrap().unwrap();
    assert!(!row.encrypted_secret.contains(&secret));
    assert!(!format!("{row:?}").contains(&row.encrypted_secret));
}

#[tokio::test]
async fn a_password_login_with_mfa_waits_for_a_totp_code() {
    let e = env(clock!());
    let (_, secret, _) = enrolled(&e).await;
    let pending = pending_login(&e).await;
    let waiting = e.sigra.pending_mfa(&pending).await.unwrap().unwrap();
    assert_eq!(waiting.user.email, EMAIL);

    let logged_in = e
        .sigra
        .verify_mfa(&pending, &now_code(&e, &secret), false, false, &meta())
        .await
        .unwrap();
    assert!(!logged_in.mfa_required());
    assert_ne!(logged_in.token.cookie_value(), pending, "a new token");
    let auth = e.authed(&logged_in).await;
    assert!(e.sigra.in_sudo(&auth));
    assert!(
        e.sigra.pending_mfa(&pending).await.unwrap().is_none(),
        "the pending session is gone"
    );
    assert!(logged_in.mfa_trust_cookie.is_none());
    assert_eq!(audit_count(&e, "mfa.verify", AuditOutcome::Success), 1);

    // Remember me carries through the MFA step.
    e.clock.advance(30);
    let pending = pending_login(&e).await;
    let remembered = e
        .sigra
        .verify_mfa(&pending, &now_code(&e, &secret), true, false, &meta())
        .await
        .unwrap();
    assert_eq!(remembered.session.kind, SessionKind::RememberMe);
}

#[tokio::test]
async fn a_totp_code_works_once() {
    let e = env(clock!());
    let (_, secret, _) = enrolled(&e).await;
    let code = now_code(&e, &secret);
    let first = pending_login(&e).await;
    e.sigra
        .verify_mfa(&first, &code, false, false, &meta())
        .await
        .unwrap();
    let second = pending_login(&e).await;
    assert!(matches!(
        e.sigra
            .verify_mfa(&second, &code, false, false, &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    // The enrolment's own code was used up too: the code of its step is refused.
    let earlier = code_for(&secret, e.clock.now().unix_timestamp() - 30);
    assert!(matches!(
        e.sigra
            .verify_mfa(&second, &earlier, false, false, &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    // The next step's code works.
    e.clock.advance(30);
    e.sigra
        .verify_mfa(&second, &now_code(&e, &secret), false, false, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_requests_with_one_code_let_exactly_one_in() {
    let e = env(clock!());
    let (_, secret, _) = enrolled(&e).await;
    let code = now_code(&e, &secret);
    let mut pendings = Vec::new();
    for _ in 0..20 {
        pendings.push(pending_login(&e).await);
    }
    let mut tasks = Vec::new();
    for pending in pendings {
        let sigra = e.sigra.clone();
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            sigra
                .verify_mfa(&pending, &code, false, false, &meta())
                .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(AuthError::InvalidCode | AuthError::TooManyAttempts { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn a_backup_code_works_once_and_says_how_many_are_left() {
    let e = env(clock!());
    let (_, _, codes) = enrolled(&e).await;
    let pending = pending_login(&e).await;
    // Lower case and without the hyphen is the same code.
    let typed = codes[3].to_lowercase().replace('-', "");
    let logged_in = e
        .sigra
        .verify_mfa(&pending, &typed, false, false, &meta())
        .await
        .unwrap();
    assert_eq!(logged_in.backup_codes_left, Some(7));
    let pending = pending_login(&e).await;
    assert!(matches!(
        e.sigra
            .verify_mfa(&pending, &codes[3], false, false, &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    let status = e.sigra.mfa_status(&logged_in.user.id).await.unwrap();
    assert_eq!(status.backup_codes_left, 7);
    assert!(!status.backup_codes_low);
    for code in &codes[4..] {
        let pending = pending_login(&e).await;
        e.sigra
            .verify_mfa(&pending, code, false, false, &meta())
            .await
            .unwrap();
    }
    let status = e.sigra.mfa_status(&logged_in.user.id).await.unwrap();
    assert_eq!(status.backup_codes_left, 3);
    let pending = pending_login(&e).await;
    e.sigra
        .verify_mfa(&pending, &codes[0], false, false, &meta())
        .await
        .unwrap();
    assert!(
        e.sigra
            .mfa_status(&logged_in.user.id)
            .await
            .unwrap()
            .backup_codes_low
    );
}

#[tokio::test]
async fn five_wrong_codes_lock_mfa_for_fifteen_minutes() {
    let e = env(clock!());
    let (_, secret, codes) = enrolled(&e).await;
    let right = now_code(&e, &secret);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let pending = pending_login(&e).await;
    for _ in 0..4 {
        assert!(matches!(
            e.sigra
                .verify_mfa(&pending, wrong, false, false, &meta())
                .await,
            Err(AuthError::InvalidCode)
        ));
    }
    // Backup codes count on the same counter: a wrong one is the fifth failure.
    assert!(matches!(
        e.sigra
            .verify_mfa(&pending, "ZZZZ-ZZZZ", false, false, &meta())
            .await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert_eq!(kinds(&e.take_new_notices().await), ["mfa_lockout"]);
    assert_eq!(audit_count(&e, "mfa.lockout", AuditOutcome::Success), 1);
    assert!(
        e.sigra.pending_mfa(&pending).await.unwrap().is_none(),
        "the pending session ended"
    );
    // While locked, even the right code and a right backup code are refused.
    let pending = pending_login(&e).await;
    assert!(matches!(
        e.sigra
            .verify_mfa(&pending, &right, false, false, &meta())
            .await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert!(matches!(
        e.sigra
            .verify_mfa(&pending, &codes[0], false, false, &meta())
            .await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    e.clock.advance(15 * MIN);
    let pending = pending_login(&e).await;
    e.sigra
        .verify_mfa(&pending, &codes[0], false, false, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_pending_session_lasts_five_minutes() {
    let e = env(clock!());
    let (_, secret, _) = enrolled(&e).await;
    let pending = pending_login(&e).await;
    e.clock.advance(5 * MIN + 1);
    assert!(e.sigra.pending_mfa(&pending).await.unwrap().is_none());
    assert!(matches!(
        e.sigra
            .verify_mfa(&pending, &now_code(&e, &secret), false, false, &meta())
            .await,
        Err(AuthError::SessionExpired)
    ));
    // Garbage cookies are a clear "log in again".
    for junk in ["", "x", &"A".repeat(10_000)] {
        assert!(matches!(
            e.sigra
                .verify_mfa(junk, "123456", false, false, &meta())
                .await,
            Err(AuthError::SessionExpired)
        ));
    }
}

#[tokio::test]
async fn a_full_session_cookie_cannot_be_used_as_a_pending_one() {
    let e = env(clock!());
    let (login, secret, _) = enrolled(&e).await;
    assert!(matches!(
        e.sigra
            .verify_mfa(
                &login.token.cookie_value(),
                &now_code(&e, &secret),
                false,
                false,
                &meta()
            )
            .await,
        Err(AuthError::SessionExpired)
    ));
}

#[tokio::test]
async fn a_magic_link_login_also_needs_the_second_factor() {
    let e = env(clock!());
    let (_, secret, _) = enrolled(&e).await;
    let token = e.magic_link(EMAIL).await;
    let login = e
        .sigra
        .log_in_with_magic_link(&token, &meta())
        .await
        .unwrap();
    assert!(login.mfa_required());
    assert!(e.auth(&login).await.is_none());
    e.sigra
        .verify_mfa(
            &login.token.cookie_value(),
            &now_code(&e, &secret),
            false,
            false,
            &meta(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_trusted_browser_skips_the_step_until_trust_is_forgotten() {
    let e = env(clock!());
    let (_, secret, _) = enrolled(&e).await;
    let pending = pending_login(&e).await;
    let logged_in = e
        .sigra
        .verify_mfa(&pending, &now_code(&e, &secret), false, true, &meta())
        .await
        .unwrap();
    let trust = logged_in.mfa_trust_cookie.clone().expect("a trust cookie");
    assert_eq!(format!("{trust:?}"), "MfaTrustCookie([REDACTED])");
    let trusted = || meta().with_mfa_trust(Some(trust.clone()));

    let again = match e
        .sigra
        .log_in(EMAIL, &pw(PW), false, &trusted())
        .await
        .unwrap()
    {
        LoginAttempt::Success(l) => l,
        other => panic!("{other:?}"),
    };
    assert!(!again.mfa_required(), "the trusted browser skips the step");
    assert!(e.auth(&again).await.is_some());
    assert!(
        e.audit()
            .iter()
            .any(|ev| ev.action == "mfa.verify" && ev.metadata["method"] == "trusted_browser")
    );
    // A forged or foreign cookie is no trust.
    let forged = meta().with_mfa_trust(Some(MfaTrustCookie::new("e1.forged.cookie")));
    match e
        .sigra
        .log_in(EMAIL, &pw(PW), false, &forged)
        .await
        .unwrap()
    {
        LoginAttempt::Success(l) => assert!(l.mfa_required()),
        other => panic!("{other:?}"),
    }
    // 30 days later the cookie has expired.
    e.clock.advance(30 * DAY + 1);
    match e
        .sigra
        .log_in(EMAIL, &pw(PW), false, &trusted())
        .await
        .unwrap()
    {
        LoginAttempt::Success(l) => assert!(l.mfa_required()),
        other => panic!("{other:?}"),
    }
    // A fresh one, then "forget all trusted browsers".
    let pending = pending_login(&e).await;
    let logged_in = e
        .sigra
        .verify_mfa(&pending, &now_code(&e, &secret), false, true, &meta())
        .await
        .unwrap();
    let trust = logged_in.mfa_trust_cookie.clone().unwrap();
    let trusted = meta().with_mfa_trust(Some(trust));
    let auth = e.authed(&logged_in).await;
    e.sigra
        .forget_trusted_browsers(&auth, &meta())
        .await
        .unwrap();
    match e
        .sigra
        .log_in(EMAIL, &pw(PW), false, &trusted)
        .await
        .unwrap()
    {
        LoginAttempt::Success(l) => assert!(l.mfa_required()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        audit_count(&e, "mfa.trust.forget", AuditOutcome::Success),
        1
    );
}

#[tokio::test]
async fn turning_mfa_off_and_on_again_revokes_trusted_browsers() {
    let e = env(clock!());
    let (_, secret, _) = enrolled(&e).await;
    let pending = pending_login(&e).await;
    let logged_in = e
        .sigra
        .verify_mfa(&pending, &now_code(&e, &secret), false, true, &meta())
        .await
        .unwrap();
    let trusted = meta().with_mfa_trust(logged_in.mfa_trust_cookie.clone());
    let auth = e.authed(&logged_in).await;
    e.sigra.disable_mfa(&auth, &meta()).await.unwrap();
    assert_eq!(kinds(&e.take_new_notices().await), ["mfa_disabled"]);
    assert_eq!(audit_count(&e, "mfa.disable", AuditOutcome::Success), 1);
    assert!(!e.login_ok(EMAIL, PW).await.mfa_required(), "MFA is off");

    e.clock.advance(MIN);
    let auth = e.authed(&e.login_ok(EMAIL, PW).await).await;
    let enrollment = e.sigra.start_totp_enrollment(&auth, &meta()).await.unwrap();
    e.sigra
        .finish_totp_enrollment(&auth, &now_code(&e, enrollment.secret()), &meta())
        .await
        .unwrap();
    match e
        .sigra
        .log_in(EMAIL, &pw(PW), false, &trusted)
        .await
        .unwrap()
    {
        LoginAttempt::Success(l) => assert!(l.mfa_required(), "the old trust is gone"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn disabling_and_regenerating_need_sudo() {
    let e = env(clock!());
    let (login, secret, codes) = enrolled(&e).await;
    e.clock.advance(10 * MIN);
    let stale = e.authed(&login).await;
    assert!(matches!(
        e.sigra.disable_mfa(&stale, &meta()).await,
        Err(AuthError::SudoRequired)
    ));
    assert!(matches!(
        e.sigra.regenerate_backup_codes(&stale, &meta()).await,
        Err(AuthError::SudoRequired)
    ));
    let login = e.sigra.enter_sudo(&stale, &pw(PW), &meta()).await.unwrap();
    let auth = e.authed(&login).await;
    let fresh = e
        .sigra
        .regenerate_backup_codes(&auth, &meta())
        .await
        .unwrap();
    assert_eq!(
        kinds(&e.take_new_notices().await),
        ["backup_codes_regenerated"]
    );
    let pending = pending_login(&e).await;
    assert!(
        matches!(
            e.sigra
                .verify_mfa(&pending, &codes[0], false, false, &meta())
                .await,
            Err(AuthError::InvalidCode)
        ),
        "the old codes died"
    );
    e.sigra
        .verify_mfa(&pending, fresh.codes()[0], false, false, &meta())
        .await
        .unwrap();
    let _ = secret;
    e.sigra.disable_mfa(&auth, &meta()).await.unwrap();
    assert!(matches!(
        e.sigra.disable_mfa(&auth, &meta()).await,
        Err(AuthError::MfaNotEnabled)
    ));
    assert!(matches!(
        e.sigra.regenerate_backup_codes(&auth, &meta()).await,
        Err(AuthError::MfaNotEnabled)
    ));
}

#[tokio::test]
async fn a_rotated_encryption_key_still_reads_old_secrets_and_rewrites_them() {
    let e = env(clock!());
    let (login, secret, _) = enrolled(&e).await;
    let before = {
        let mut tx = e.store.inner.begin_read().await.unwrap();
        tx.totp_credential(&login.user.id)
            .await
            .unwrap()
            .unwrap()
            .encrypted_secret
    };
    // The app now configures SIGRA_ENCRYPTION_KEYS: a new primary key, the derived one kept
    // for decryption.
    let new_key = format!("1:{}", "B".repeat(42) + "A");
    let ring = Keyring::from_env_with(&secret_base(), |_| Some(new_key.clone())).unwrap();
    assert!(ring.needs_reencrypt_str(&before).unwrap());
    let rotated = sigra_core::auth::Sigra::builder(e.store.clone(), secret_base())
        .password_hasher(hasher(64))
        .clock(e.clock.read)
        .encryption_keyring(ring.clone())
        .build()
        .unwrap();
    let pending = match rotated
        .log_in(EMAIL, &pw(PW), false, &meta())
        .await
        .unwrap()
    {
        LoginAttempt::Success(l) => l.token.cookie_value(),
        other => panic!("{other:?}"),
    };
    rotated
        .verify_mfa(&pending, &now_code(&e, &secret), false, false, &meta())
        .await
        .unwrap();
    let after = {
        let mut tx = e.store.inner.begin_read().await.unwrap();
        tx.totp_credential(&login.user.id)
            .await
            .unwrap()
            .unwrap()
            .encrypted_secret
    };
    assert_ne!(before, after);
    assert!(
        !ring.needs_reencrypt_str(&after).unwrap(),
        "now under the new key"
    );
}

fn secret_base() -> sigra_core::keys::SecretKeyBase {
    secret()
}

#[tokio::test]
async fn mfa_set_up_before_confirmation_dies_when_the_owner_claims_the_account() {
    let e = env(clock!());
    let c = e.register(EMAIL).await;
    // The squatter logs in while the address is unconfirmed and turns MFA on.
    let squatter = e.login_ok(EMAIL, PW).await;
    let auth = e.authed(&squatter).await;
    let enrollment = e.sigra.start_totp_enrollment(&auth, &meta()).await.unwrap();
    e.sigra
        .finish_totp_enrollment(&auth, &now_code(&e, enrollment.secret()), &meta())
        .await
        .unwrap();
    // The owner confirms from their mailbox, without the squatter's proof.
    let owner = e
        .sigra
        .confirm_with_link(&c.token, ConfirmEvidence::none(), &meta())
        .await
        .unwrap();
    assert!(
        !owner.mfa_required(),
        "the squatter's second factor is gone"
    );
    assert!(!e.sigra.mfa_status(&owner.user.id).await.unwrap().enabled());
    let confirm = e
        .audit()
        .into_iter()
        .rev()
        .find(|ev| ev.action == "auth.confirm" && ev.outcome == AuditOutcome::Success)
        .unwrap();
    assert_eq!(confirm.metadata["mfa_removed"], true);
}

#[tokio::test]
async fn every_mfa_write_commits_with_its_audit_row_or_not_at_all() {
    let e = env(clock!());
    e.confirmed(EMAIL).await;
    let login = e.login_ok(EMAIL, PW).await;
    e.take_new_notices().await;
    let auth = e.authed(&login).await;
    let enrollment = e.sigra.start_totp_enrollment(&auth, &meta()).await.unwrap();
    e.fail_commit_of(Some("mfa.enroll"));
    assert!(
        e.sigra
            .finish_totp_enrollment(&auth, &now_code(&e, enrollment.secret()), &meta())
            .await
            .is_err()
    );
    assert!(!e.sigra.mfa_status(&auth.user.id).await.unwrap().enabled());
    e.assert_no_new_notices().await;
}
