//! Lockout with device cookies (OWASP "Slow Down Online Guessing Attacks with Device
//! Cookies"): strangers' failures lock the account for unknown clients only, a known
//! device's failures lock that device only, and a cookie that is forged, expired or someone
//! else's makes a client unknown. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::audit::RequestMeta;
use sigra_core::auth::{AuthError, AuthMail, DeviceCookie, LockoutScope, LoggedIn, LoginAttempt};
use sigra_core::config::SigraConfig;
use sigra_core::store::{AuditEvent, AuditOutcome, Id};
use support::auth::*;

/// Where the attacker guesses from (no device cookie).
const ATTACKER: &str = "203.0.113.66";
/// The lockout duration (default 15 minutes), in seconds.
const LOCK: i64 = 15 * MIN;

/// The owner's browser, sending `device`.
fn owner(device: &DeviceCookie) -> RequestMeta {
    meta().with_device(Some(device.clone()))
}

fn stranger() -> RequestMeta {
    meta_from(ATTACKER)
}

fn cookie_of(logged_in: &LoggedIn) -> DeviceCookie {
    logged_in
        .device_cookie
        .clone()
        .expect("a password login issues a device cookie")
}

async fn attempt(e: &Env, email: &str, password: &str, meta: &RequestMeta) -> LoginAttempt {
    e.sigra
        .log_in(email, &pw(password), false, meta)
        .await
        .unwrap()
}

#[track_caller]
fn success(attempt: LoginAttempt) -> LoggedIn {
    match attempt {
        LoginAttempt::Success(logged_in) => logged_in,
        other => panic!("expected a successful login, got {other:?}"),
    }
}

/// A confirmed account whose owner has logged in once with the password from [`meta`]:
/// returns its id and the owner's device cookie.
async fn account_with_device(e: &Env, email: &str) -> (Id, DeviceCookie) {
    let id = e.confirmed(email).await.user.id;
    let device = cookie_of(&e.login_ok(email, PW).await);
    e.take_new_notices().await;
    (id, device)
}

/// The committed `security.lockout` rows about `user`.
fn lockouts(e: &Env, user: &Id) -> Vec<AuditEvent> {
    e.audit()
        .into_iter()
        .filter(|a| a.action == "security.lockout" && a.target_id.as_ref() == Some(user))
        .collect()
}

/// The `auth.login` failures about `user`, as (reason, scope).
fn login_failures(e: &Env, user: &Id) -> Vec<(String, Option<String>)> {
    e.audit()
        .into_iter()
        .filter(|a| a.action == "auth.login" && a.outcome == AuditOutcome::Failure)
        .filter(|a| a.target_id.as_ref() == Some(user))
        .map(|a| {
            (
                a.metadata["reason"].as_str().unwrap().to_owned(),
                a.metadata["scope"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_password_login_issues_a_fresh_device_cookie_other_logins_do_not() {
    let e = env(clock!());
    let confirmed = e.confirmed("dev-issue@example.com").await;
    assert!(
        confirmed.device_cookie.is_none(),
        "a confirmation link is not a password login"
    );
    let first = cookie_of(&e.login_ok("dev-issue@example.com", PW).await);
    let again = cookie_of(&success(
        attempt(&e, "dev-issue@example.com", PW, &owner(&first)).await,
    ));
    assert_ne!(first, again, "renewed with a new nonce on every login");
    assert_eq!(format!("{first:?}"), "DeviceCookie([REDACTED])");
    let magic = e.magic_link("dev-issue@example.com").await;
    let by_link = e
        .sigra
        .log_in_with_magic_link(&magic, &meta())
        .await
        .unwrap();
    assert!(by_link.device_cookie.is_none());
}

#[tokio::test]
async fn strangers_lock_unknown_clients_out_but_not_the_owners_device() {
    let e = env(clock!());
    let (id, device) = account_with_device(&e, "dev-owner@example.com").await;

    for _ in 0..4 {
        assert_failed(&attempt(&e, "dev-owner@example.com", WRONG, &stranger()).await);
    }
    e.assert_no_new_notices().await;
    assert_failed(&attempt(&e, "dev-owner@example.com", WRONG, &stranger()).await);
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "dev-owner@example.com".into(),
            scope: LockoutScope::UnknownClients
        }]
    );
    let locks = lockouts(&e, &id);
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].metadata["scope"], "unknown_clients");
    assert_eq!(locks[0].metadata["attempts"], 5);

    // Unknown clients are refused even with the right password, the attacker's and anyone
    // else's.
    assert_failed(&attempt(&e, "dev-owner@example.com", PW, &stranger()).await);
    assert_failed(&attempt(&e, "dev-owner@example.com", PW, &meta()).await);
    // The owner's browser is not.
    e.clock.advance(MIN);
    let logged_in = success(attempt(&e, "dev-owner@example.com", PW, &owner(&device)).await);
    assert!(logged_in.device_cookie.is_some());
    // And its login does not hand the guesser a fresh set of tries.
    let user = e.user_by_id(&id).await;
    assert_eq!(user.failed_login_attempts, 5);
    assert!(user.locked_at.is_some());
    assert_failed(&attempt(&e, "dev-owner@example.com", PW, &stranger()).await);
    assert_eq!(
        login_failures(&e, &id)
            .iter()
            .filter(
                |(reason, scope)| reason == "locked" && scope.as_deref() == Some("unknown_clients")
            )
            .count(),
        3
    );
    e.assert_no_new_notices().await;

    // When the lock expires, unknown clients get in again.
    e.clock.advance(LOCK);
    success(attempt(&e, "dev-owner@example.com", PW, &meta()).await);
    assert_eq!(e.user_by_id(&id).await.failed_login_attempts, 0);
}

#[tokio::test]
async fn a_known_devices_failures_lock_that_device_only() {
    let e = env(clock!());
    let (id, laptop) = account_with_device(&e, "dev-two@example.com").await;
    let phone = cookie_of(&e.login_ok("dev-two@example.com", PW).await);
    e.take_new_notices().await;

    for _ in 0..4 {
        assert_failed(&attempt(&e, "dev-two@example.com", WRONG, &owner(&laptop)).await);
    }
    e.assert_no_new_notices().await;
    assert_failed(&attempt(&e, "dev-two@example.com", WRONG, &owner(&laptop)).await);
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "dev-two@example.com".into(),
            scope: LockoutScope::Device
        }]
    );
    let locks = lockouts(&e, &id);
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].metadata["scope"], "device");
    let user = e.user_by_id(&id).await;
    assert_eq!(
        user.failed_login_attempts, 0,
        "the account's count is untouched"
    );
    assert!(user.locked_at.is_none());

    // The laptop is refused, even with the right password, for the lockout duration.
    assert_failed(&attempt(&e, "dev-two@example.com", PW, &owner(&laptop)).await);
    e.clock.advance(LOCK - 1);
    assert_failed(&attempt(&e, "dev-two@example.com", PW, &owner(&laptop)).await);
    // The phone and unknown clients are not.
    success(attempt(&e, "dev-two@example.com", PW, &owner(&phone)).await);
    success(attempt(&e, "dev-two@example.com", PW, &stranger()).await);
    // Another app instance on the same database agrees (the count lives in the store).
    let other = e.other_instance(SigraConfig::default());
    assert_failed(
        &other
            .log_in("dev-two@example.com", &pw(PW), false, &owner(&laptop))
            .await
            .unwrap(),
    );
    assert_eq!(
        login_failures(&e, &id)
            .iter()
            .filter(|(reason, scope)| reason == "locked" && scope.as_deref() == Some("device"))
            .count(),
        3
    );

    // Two lockout durations after the lock, the laptop gets in again.
    e.clock.advance(LOCK + 1);
    success(attempt(&e, "dev-two@example.com", PW, &owner(&laptop)).await);
    e.take_new_notices().await;
}

#[tokio::test]
async fn a_successful_login_starts_the_devices_count_afresh() {
    let e = env(clock!());
    let (_, device) = account_with_device(&e, "dev-fresh@example.com").await;
    for _ in 0..4 {
        assert_failed(&attempt(&e, "dev-fresh@example.com", WRONG, &owner(&device)).await);
    }
    let renewed = cookie_of(&success(
        attempt(&e, "dev-fresh@example.com", PW, &owner(&device)).await,
    ));
    for _ in 0..4 {
        assert_failed(&attempt(&e, "dev-fresh@example.com", WRONG, &owner(&renewed)).await);
    }
    success(attempt(&e, "dev-fresh@example.com", PW, &owner(&renewed)).await);
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn forged_expired_and_other_accounts_device_cookies_count_as_unknown() {
    let e = env_with(
        clock!(),
        SigraConfig::builder()
            .lockout(|l| l.device_cookie_ttl = std::time::Duration::from_secs(DAY as u64))
            .build()
            .unwrap(),
    );
    let (id, device) = account_with_device(&e, "dev-forged@example.com").await;
    let (_, someone_elses) = account_with_device(&e, "dev-else@example.com").await;
    let tampered = {
        // Another tag: flip the tag's first character.
        let (head, tag) = device.as_str().rsplit_once('.').unwrap();
        let first = if tag.starts_with('A') { 'B' } else { 'A' };
        DeviceCookie::new(format!("{head}.{first}{}", &tag[1..]))
    };
    let bad = [
        DeviceCookie::new("d1.Zm9v.YmFy"),
        DeviceCookie::new("not a device cookie"),
        tampered,
        someone_elses,
    ];
    // Their failures count on the account, like any unknown client's…
    for (n, cookie) in bad.iter().enumerate() {
        assert_failed(&attempt(&e, "dev-forged@example.com", WRONG, &owner(cookie)).await);
        assert_eq!(
            e.user_by_id(&id).await.failed_login_attempts,
            u32::try_from(n + 1).unwrap()
        );
    }
    assert_failed(&attempt(&e, "dev-forged@example.com", WRONG, &stranger()).await);
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "dev-forged@example.com".into(),
            scope: LockoutScope::UnknownClients
        }]
    );
    // …and the account's lock refuses them, while the genuine cookie gets in.
    for cookie in &bad {
        assert_failed(&attempt(&e, "dev-forged@example.com", PW, &owner(cookie)).await);
    }
    success(attempt(&e, "dev-forged@example.com", PW, &owner(&device)).await);

    // An expired cookie is an unknown client's: a day later (the configured lifetime), a
    // fresh lock refuses it.
    e.clock.advance(DAY);
    for _ in 0..5 {
        assert_failed(&attempt(&e, "dev-forged@example.com", WRONG, &stranger()).await);
    }
    assert_failed(&attempt(&e, "dev-forged@example.com", PW, &owner(&device)).await);
}

#[tokio::test]
async fn every_refusal_is_the_same_answer() {
    let e = env(clock!());
    let (_, device) = account_with_device(&e, "dev-equal@example.com").await;
    // Lock unknown clients out, and the device too.
    for _ in 0..5 {
        assert_failed(&attempt(&e, "dev-equal@example.com", WRONG, &stranger()).await);
        assert_failed(&attempt(&e, "dev-equal@example.com", WRONG, &owner(&device)).await);
    }
    e.take_new_notices().await;
    let cases = [
        ("nobody@example.com", PW, meta()),
        ("dev-equal@example.com", WRONG, stranger()),
        ("dev-equal@example.com", PW, stranger()),
        ("dev-equal@example.com", PW, owner(&device)),
        ("dev-equal@example.com", WRONG, owner(&device)),
    ];
    for (email, password, meta) in &cases {
        let answer = attempt(&e, email, password, meta).await;
        assert!(
            matches!(answer, LoginAttempt::Failed),
            "{email}: {answer:?}"
        );
    }
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn sudo_follows_the_same_two_locks() {
    let e = env(clock!());
    let (id, device) = account_with_device(&e, "dev-sudo@example.com").await;
    let on_device = e.login_ok("dev-sudo@example.com", PW).await;
    let elsewhere = e.login_ok("dev-sudo@example.com", PW).await;
    e.take_new_notices().await;
    // Strangers lock the account for unknown clients.
    for _ in 0..5 {
        assert_failed(&attempt(&e, "dev-sudo@example.com", WRONG, &stranger()).await);
    }
    e.take_new_notices().await;

    // A session without the device cookie is refused, and ended, as before.
    let err = e
        .sigra
        .enter_sudo(&e.authed(&elsewhere).await, &pw(PW), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::LockedOut), "{err:?}");
    assert!(e.auth(&elsewhere).await.is_none());

    // The owner's browser (its device cookie sent) still enters sudo.
    let sudo = e
        .sigra
        .enter_sudo(&e.authed(&on_device).await, &pw(PW), &owner(&device))
        .await
        .unwrap();

    // Its own wrong passwords lock that device: the fifth ends the session, mails the
    // owner, and leaves the account's count alone.
    let auth = e.authed(&sudo).await;
    for _ in 0..4 {
        let err = e
            .sigra
            .enter_sudo(&auth, &pw(WRONG), &owner(&device))
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    }
    let err = e
        .sigra
        .enter_sudo(&auth, &pw(WRONG), &owner(&device))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::LockedOut), "{err:?}");
    assert!(
        e.auth(&sudo).await.is_none(),
        "the guessing session is over"
    );
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "dev-sudo@example.com".into(),
            scope: LockoutScope::Device
        }]
    );
    assert_eq!(e.user_by_id(&id).await.failed_login_attempts, 5);
    let scopes: Vec<String> = e
        .audit()
        .iter()
        .filter(|a| a.action == "security.lockout")
        .map(|a| a.metadata["scope"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(scopes, ["unknown_clients", "device"]);
    // Now the device's login is refused too.
    assert_failed(&attempt(&e, "dev-sudo@example.com", PW, &owner(&device)).await);
}
