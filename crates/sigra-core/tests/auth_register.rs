//! Registration and email confirmation: `Sigra::register`, `resend_confirmation`,
//! `confirm_with_link` and `confirm_with_code`, and the reservation of an address another
//! account is switching to. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use std::time::Duration;

use sigra_core::auth::ConfirmEvidence;
use sigra_core::auth::{AuthError, AuthMail, Sigra};
use sigra_core::keys::SecretKeyBase;
use sigra_core::password::{PasswordError, Verification};
use sigra_core::store::{AuditOutcome, SessionKind};
use support::auth::*;

// ---------------------------------------------------------------------------------------------
// register
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn register_new_address_mails_a_link_and_a_six_digit_code() {
    let e = env(clock!());
    e.sigra
        .register("  Alice@Example.com ", &pw(PW), &meta())
        .await
        .unwrap();
    let mail = e.take_notice().await;
    assert_eq!(mail.kind(), "confirm");
    assert_eq!(mail.to(), "Alice@Example.com");
    let c = confirm_parts(mail);
    assert!(!c.token.is_empty());
    assert_eq!(c.code.len(), 6);
    assert!(c.code.bytes().all(|b| b.is_ascii_digit()), "{}", c.code);

    let user = e.user("alice@example.com").await.unwrap();
    assert_eq!(user.email, "Alice@Example.com");
    assert!(user.confirmed_at.is_none(), "registration does not confirm");
    let hash = user.hashed_password.clone().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    assert_eq!(
        e.sigra
            .password_hasher()
            .verify(&pw(PW), &hash)
            .await
            .unwrap(),
        Verification::Valid { upgraded: None }
    );
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Success, Some(&user.id)),
        1
    );
    // Registration does not log in.
    assert!(e.sigra.list_sessions(&user.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn register_taken_address_in_any_case_mails_the_owner_and_changes_nothing() {
    let e = env(clock!());
    e.register("bob@example.com").await;
    let before = e.user("bob@example.com").await.unwrap();

    for variant in ["bob@example.com", "BOB@EXAMPLE.COM", " Bob@Example.Com "] {
        // Both paths hash and answer Ok; this one mails the owner, not the registrant.
        e.sigra
            .register(variant, &pw("some other passphrase"), &meta())
            .await
            .unwrap();
        assert_eq!(
            e.take_new_notices().await,
            [AuthMail::AccountExists {
                to: "bob@example.com".into()
            }],
            "exactly one notice, to the owner's stored address"
        );
    }
    let after = e.user("bob@example.com").await.unwrap();
    assert_eq!(after, before, "the existing account is untouched");
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Failure, Some(&before.id)),
        3
    );
}

#[tokio::test]
async fn mails_to_one_user_are_limited_to_three_per_fifteen_minutes() {
    let e = env(clock!());
    // Taken-address registrations.
    e.register("carol@example.com").await;
    for _ in 0..3 {
        e.sigra
            .register("carol@example.com", &pw(PW), &meta())
            .await
            .unwrap();
        assert_eq!(kinds(&e.take_new_notices().await), ["account_exists"]);
    }
    e.sigra
        .register("carol@example.com", &pw(PW), &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await; // the fourth mail in the window is not sent
    let carol = e.user("carol@example.com").await.unwrap();
    let notified: Vec<bool> = e
        .audit()
        .iter()
        .filter(|a| a.action == "auth.register" && a.outcome == AuditOutcome::Failure)
        .map(|a| a.metadata["notified"].as_bool().unwrap())
        .collect();
    assert_eq!(notified, [true, true, true, false]);
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Failure, Some(&carol.id)),
        4
    );

    // Confirmation resends (another user: the budget is per user).
    let first = e.register("dave@example.com").await;
    let mut latest = first.code.clone();
    for _ in 0..3 {
        e.sigra
            .resend_confirmation("dave@example.com", &meta())
            .await
            .unwrap();
        let mail = e.take_notice().await;
        assert_eq!(mail.to(), "dave@example.com");
        latest = confirm_parts(mail).code;
    }
    // Rate-limited: answered alike, nothing enqueued.
    e.sigra
        .resend_confirmation("DAVE@example.com", &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;
    // Unknown addresses answer the same.
    e.sigra
        .resend_confirmation("nobody@example.com", &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;

    // The next window has a fresh budget.
    e.clock.advance(15 * MIN);
    e.sigra
        .register("carol@example.com", &pw(PW), &meta())
        .await
        .unwrap();
    assert_eq!(kinds(&e.take_new_notices().await), ["account_exists"]);
    e.sigra
        .resend_confirmation("dave@example.com", &meta())
        .await
        .unwrap();
    let again = confirm_parts(e.take_notice().await);

    // A resend replaces the earlier link and code.
    let stale = e
        .sigra
        .confirm_with_code(
            "dave@example.com",
            &latest,
            ConfirmEvidence::none(),
            &meta(),
        )
        .await;
    if latest != again.code {
        assert!(matches!(stale, Err(AuthError::InvalidCode)), "{stale:?}");
    }
    assert!(matches!(
        e.sigra
            .confirm_with_link(&first.token, first.evidence(), &meta())
            .await,
        Err(AuthError::InvalidToken)
    ));
    e.sigra
        .confirm_with_link(&again.token, again.evidence(), &meta())
        .await
        .unwrap();
    // A confirmed account gets no more confirmation mails.
    e.sigra
        .resend_confirmation("dave@example.com", &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn weak_passwords_are_refused_before_anything_is_written() {
    let e = env(clock!());
    let common = "password123";
    assert!(sigra_core::password::is_common_password(common));
    // Too short, too common, equal to the email (any case).
    let cases = [
        "short7!",
        common,
        "erin@example.com",
        "ERIN@EXAMPLE.COM",
        "erin.long.local@example.com",
    ];
    for password in cases {
        let email = if password.starts_with("erin.long") {
            "erin.long.local@example.com"
        } else {
            "erin@example.com"
        };
        let err = e
            .sigra
            .register(email, &pw(password), &meta())
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::WeakPassword(_)),
            "{password:?}: {err:?}"
        );
        assert!(err.is_client_error());
    }
    // The email's local part is refused too.
    let err = e
        .sigra
        .register(
            "erin.long.local@example.com",
            &pw("Erin.Long.Local"),
            &meta(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        AuthError::WeakPassword(PasswordError::MatchesUserInput)
    ));
    let err = e
        .sigra
        .register("erin@example.com", &pw(&"x".repeat(1025)), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::WeakPassword(_)), "{err:?}");

    assert_eq!(e.begins(), 0, "no transaction was even opened");
    assert!(e.user("erin@example.com").await.is_none());
    assert!(e.audit().is_empty());
    assert!(e.jobs().await.is_empty(), "nothing was enqueued");
}

#[tokio::test]
async fn invalid_emails_are_refused() {
    let e = env(clock!());
    for bad in [
        "",
        "frank",
        "frank@",
        "@example.com",
        "frank@localhost",
        "fr ank@example.com",
        "frank@example..com",
        "a\r\nBcc: x@example.com",
        "<frank@example.com>",
    ] {
        let err = e.sigra.register(bad, &pw(PW), &meta()).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidEmail), "{bad:?}: {err:?}");
    }
    assert_eq!(e.begins(), 0);
    assert!(e.jobs().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_address_create_one_account() {
    let e = env(clock!());
    let mut tasks = Vec::new();
    for i in 0..5 {
        let sigra = e.sigra.clone();
        tasks.push(tokio::spawn(async move {
            sigra
                .register(
                    if i % 2 == 0 {
                        "gina@example.com"
                    } else {
                        "GINA@example.com"
                    },
                    &pw(PW),
                    &meta(),
                )
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let notices = e.take_new_notices().await;
    let confirms = notices.iter().filter(|n| n.kind() == "confirm").count();
    let exists = notices
        .iter()
        .filter(|n| n.kind() == "account_exists")
        .count();
    assert_eq!(confirms, 1, "{notices:?}");
    // Four registrations found the address taken; the owner's mail budget allows three.
    assert_eq!(exists, 3, "{notices:?}");
    assert_eq!(notices.len(), 4);
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Success, None),
        1
    );
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Failure, None),
        4
    );
}

// ---------------------------------------------------------------------------------------------
// confirm
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn confirm_with_code_logs_in_and_uses_up_link_and_code() {
    let e = env(clock!());
    let c = e.register("hana@example.com").await;
    e.clock.advance(MIN);
    let logged_in = e
        .sigra
        .confirm_with_code("HANA@example.com", &c.code, c.evidence(), &meta())
        .await
        .unwrap();
    assert_eq!(logged_in.user.email, "hana@example.com");
    assert_eq!(logged_in.user.confirmed_at, Some(e.clock.now()));
    assert_eq!(
        e.user("hana@example.com").await.unwrap().confirmed_at,
        Some(e.clock.now())
    );
    assert_eq!(logged_in.session.kind, SessionKind::Standard);
    let auth = e.authed(&logged_in).await;
    assert_eq!(auth.user.id, logged_in.user.id);
    e.assert_no_new_notices().await; // the first session: nothing to compare with

    // Both tokens are gone.
    assert!(matches!(
        e.sigra
            .confirm_with_code("hana@example.com", &c.code, c.evidence(), &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    assert!(matches!(
        e.sigra
            .confirm_with_link(&c.token, c.evidence(), &meta())
            .await,
        Err(AuthError::InvalidToken)
    ));
    let id = logged_in.user.id;
    assert_eq!(
        e.audit_count("auth.confirm", AuditOutcome::Success, Some(&id)),
        1
    );
    assert_eq!(
        e.audit_count("session.create", AuditOutcome::Success, Some(&id)),
        1
    );
}

#[tokio::test]
async fn confirmation_codes_allow_five_tries_per_window_for_known_and_unknown_emails() {
    let e = env(clock!());
    let c = e.register("ivan@example.com").await;
    let user = e.user("ivan@example.com").await.unwrap();
    let wrong = other_code(&c.code);

    for _ in 0..5 {
        let known = e
            .sigra
            .confirm_with_code("ivan@example.com", wrong, ConfirmEvidence::none(), &meta())
            .await
            .unwrap_err();
        let unknown = e
            .sigra
            .confirm_with_code(
                "nobody@example.com",
                wrong,
                ConfirmEvidence::none(),
                &meta(),
            )
            .await
            .unwrap_err();
        assert!(matches!(known, AuthError::InvalidCode), "{known:?}");
        assert!(matches!(unknown, AuthError::InvalidCode), "{unknown:?}");
        assert_eq!(known.to_string(), unknown.to_string());
    }
    assert_eq!(
        e.audit_count("auth.confirm", AuditOutcome::Failure, Some(&user.id)),
        5,
        "every wrong code leaves a failure row"
    );
    // A malformed code counts as a try too (and answers the same).
    e.clock.advance(MIN);
    let known = e
        .sigra
        .confirm_with_code("ivan@example.com", &c.code, c.evidence(), &meta())
        .await
        .unwrap_err();
    let unknown = e
        .sigra
        .confirm_with_code(
            "nobody@example.com",
            "12ab",
            ConfirmEvidence::none(),
            &meta(),
        )
        .await
        .unwrap_err();
    let (
        AuthError::TooManyAttempts { retry_after: a },
        AuthError::TooManyAttempts { retry_after: b },
    ) = (&known, &unknown)
    else {
        panic!("expected TooManyAttempts for both: {known:?} / {unknown:?}");
    };
    assert_eq!(a, b, "known and unknown emails are counted alike");
    assert_eq!(*a, Duration::from_secs(14 * 60));
    assert_eq!(known.to_string(), unknown.to_string());
    assert!(
        e.user("ivan@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );

    // The next window allows the right code.
    e.clock.advance(14 * MIN);
    e.sigra
        .confirm_with_code("ivan@example.com", &c.code, c.evidence(), &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn confirmation_links_are_single_use_and_log_in() {
    let e = env(clock!());
    let c = e.register("jane@example.com").await;
    let logged_in = e
        .sigra
        .confirm_with_link(&c.token, c.evidence(), &meta())
        .await
        .unwrap();
    assert!(logged_in.user.confirmed_at.is_some());
    assert!(e.auth(&logged_in).await.is_some());
    assert!(matches!(
        e.sigra
            .confirm_with_link(&c.token, c.evidence(), &meta())
            .await,
        Err(AuthError::InvalidToken)
    ));
    // The code went with it.
    assert!(matches!(
        e.sigra
            .confirm_with_code("jane@example.com", &c.code, c.evidence(), &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    assert_eq!(
        e.audit_count(
            "auth.confirm",
            AuditOutcome::Success,
            Some(&logged_in.user.id)
        ),
        1
    );
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn confirmation_links_and_codes_expire_after_48_hours() {
    let e = env(clock!());
    let early = e.register("kim@example.com").await;
    let late = e.register("lee@example.com").await;
    let code_user = e.register("mia@example.com").await;

    e.clock.advance(47 * HOUR);
    e.sigra
        .confirm_with_link(&early.token, early.evidence(), &meta())
        .await
        .unwrap();

    e.clock.advance(HOUR + 1);
    assert!(matches!(
        e.sigra
            .confirm_with_link(&late.token, late.evidence(), &meta())
            .await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra
            .confirm_with_code(
                "mia@example.com",
                &code_user.code,
                code_user.evidence(),
                &meta()
            )
            .await,
        Err(AuthError::InvalidCode)
    ));
    assert!(
        e.user("lee@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );
    assert!(
        e.user("mia@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );
}

#[tokio::test]
async fn a_token_from_another_secret_key_base_is_refused() {
    let e = env(clock!());
    let c = e.register("otto@example.com").await;
    let other = Sigra::builder(e.store.clone(), SecretKeyBase::new(vec![8u8; 64]).unwrap())
        .password_hasher(hasher(64))
        .clock(e.clock.read)
        .build()
        .unwrap();
    assert!(matches!(
        other
            .confirm_with_link(&c.token, c.evidence(), &meta())
            .await,
        Err(AuthError::InvalidToken)
    ));
    // The code is keyed by the secret too.
    assert!(matches!(
        other
            .confirm_with_code("otto@example.com", &c.code, c.evidence(), &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
}

// ---------------------------------------------------------------------------------------------
// an address another account is switching to
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_address_with_a_pending_change_cannot_be_registered_until_the_link_expires() {
    let e = env(clock!());
    e.confirmed("rita@example.com").await;
    let l = e.login_ok("rita@example.com", PW).await;
    let auth = e.authed(&l).await;
    let token = e.email_change_link(&auth, "Rita.New@example.com").await;

    // Someone else tries to take the address meanwhile: the usual answer, no mail, no user.
    e.sigra
        .register("rita.new@example.com", &pw(PW2), &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;
    assert!(e.user("rita.new@example.com").await.is_none());
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Failure, None),
        1
    );

    // The owner's change goes through.
    let user = e
        .sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap();
    assert_eq!(user.email, "Rita.New@example.com");
    assert_eq!(kinds(&e.take_new_notices().await), ["email_changed"]);

    // A change that was never confirmed reserves the address only until its link expires.
    let l = e.login_ok("rita.new@example.com", PW).await;
    let auth = e.authed(&l).await;
    e.email_change_link(&auth, "unused@example.com").await;
    e.sigra
        .register("unused@example.com", &pw(PW2), &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;
    assert!(e.user("unused@example.com").await.is_none());
    e.clock.advance(24 * HOUR + 1);
    e.register("unused@example.com").await;
    assert!(e.user("unused@example.com").await.is_some());
}
