//! The flows that mail a single-use link to an address: magic-link login
//! (`request_magic_link`, `log_in_with_magic_link`) and password reset
//! (`request_password_reset`, `check_reset_token`, `reset_password`), and links used for
//! another purpose or forged. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use std::sync::Arc;

use sigra_core::auth::ConfirmEvidence;
use sigra_core::auth::{AuthError, AuthMail};
use sigra_core::store::AuditOutcome;
use support::auth::*;

#[tokio::test]
async fn unknown_emails_get_no_link_and_the_same_answer() {
    let e = env(clock!());
    e.confirmed("rex@example.com").await;
    e.sigra
        .request_magic_link("nobody@example.com", &meta())
        .await
        .unwrap();
    e.sigra
        .request_password_reset("nobody@example.com", &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;

    e.sigra
        .request_magic_link("REX@example.com", &meta())
        .await
        .unwrap();
    let magic = e.take_notice().await;
    assert_eq!(magic.kind(), "magic_link");
    assert_eq!(magic.to(), "rex@example.com");
    e.sigra
        .request_password_reset("rex@example.com", &meta())
        .await
        .unwrap();
    let reset = e.take_notice().await;
    assert_eq!(reset.kind(), "reset_password");
    assert_eq!(reset.to(), "rex@example.com");
    // A known address over its mail budget answers like an unknown one.
    e.magic_link("rex@example.com").await;
    e.sigra
        .request_password_reset("rex@example.com", &meta())
        .await
        .unwrap();
    e.sigra
        .request_magic_link("rex@example.com", &meta())
        .await
        .unwrap();
    e.assert_no_new_notices().await;
    let reasons: Vec<&str> = e
        .audit()
        .iter()
        .filter(|a| a.outcome == AuditOutcome::Failure)
        .map(|a| a.metadata["reason"].as_str().unwrap())
        .map(|r| {
            if r == "unknown_email" {
                "unknown"
            } else {
                "limited"
            }
        })
        .collect();
    assert_eq!(reasons, ["unknown", "unknown", "limited", "limited"]);
    assert!(matches!(
        e.sigra.request_magic_link("bad", &meta()).await,
        Err(AuthError::InvalidEmail)
    ));
}

#[tokio::test]
async fn magic_links_are_single_use_log_in_in_sudo_and_confirm() {
    let e = env(clock!());
    e.register("sue@example.com").await;
    let first = e.magic_link("sue@example.com").await;
    let second = e.magic_link("sue@example.com").await;
    e.clock.advance(MIN);
    let logged_in = e
        .sigra
        .log_in_with_magic_link(&first, &meta())
        .await
        .unwrap();
    assert_eq!(logged_in.user.email, "sue@example.com");
    assert_eq!(logged_in.user.confirmed_at, Some(e.clock.now()));
    assert_eq!(
        e.user("sue@example.com").await.unwrap().confirmed_at,
        Some(e.clock.now())
    );
    assert!(e.sigra.in_sudo(&e.authed(&logged_in).await));
    for used in [&first, &second] {
        assert!(matches!(
            e.sigra.log_in_with_magic_link(used, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    assert_eq!(
        e.audit_count(
            "auth.magic_link.login",
            AuditOutcome::Success,
            Some(&logged_in.user.id)
        ),
        1
    );
    e.assert_no_new_notices().await;
}

#[tokio::test]
async fn magic_links_expire_after_15_minutes() {
    let e = env(clock!());
    e.confirmed("tom@example.com").await;
    let a = e.magic_link("tom@example.com").await;
    let b = e.magic_link("tom@example.com").await;
    e.clock.advance(15 * MIN - 1);
    e.sigra.log_in_with_magic_link(&a, &meta()).await.unwrap();
    // `a` deleted `b` anyway; a fresh one for the expiry check.
    assert!(e.sigra.log_in_with_magic_link(&b, &meta()).await.is_err());
    let c = e.magic_link("tom@example.com").await;
    e.clock.advance(15 * MIN + 1);
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&c, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn password_reset_clears_sessions_tokens_and_lockout() {
    let e = env(clock!());
    let s1 = e.confirmed("uri@example.com").await;
    let s2 = e.login_ok("uri@example.com", PW).await;
    let id = s1.user.id;
    let reset = e.reset_link("uri@example.com").await;
    let magic = e.magic_link("uri@example.com").await;
    for _ in 0..5 {
        e.log_in("uri@example.com", WRONG, false).await;
    }
    assert!(e.user_by_id(&id).await.locked_at.is_some());
    assert_eq!(kinds(&e.take_new_notices().await), ["lockout_notice"]);
    e.sigra.check_reset_token(&reset).await.unwrap();

    // A weak password leaves the link usable.
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw("short"), &meta()).await,
        Err(AuthError::WeakPassword(_))
    ));
    e.sigra.check_reset_token(&reset).await.unwrap();
    e.assert_no_new_notices().await;

    e.sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::PasswordChanged {
            to: "uri@example.com".into()
        }]
    );
    assert!(e.auth(&s1).await.is_none());
    assert!(e.auth(&s2).await.is_none());
    assert!(e.sigra.list_sessions(&id).await.unwrap().is_empty());
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&magic, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    let user = e.user_by_id(&id).await;
    assert_eq!(user.failed_login_attempts, 0);
    assert_eq!(user.locked_at, None);
    assert_eq!(user.password_changed_at, Some(e.clock.now()));
    // The link is single use.
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW), &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.check_reset_token(&reset).await,
        Err(AuthError::InvalidToken)
    ));
    e.login_fails_silently("uri@example.com", PW).await;
    e.login_ok("uri@example.com", PW2).await;
    let complete = e
        .audit()
        .into_iter()
        .find(|a| a.action == "auth.password_reset.complete")
        .unwrap();
    assert_eq!(complete.metadata["sessions_revoked"], 2);
}

#[tokio::test]
async fn password_reset_confirms_and_expires_after_an_hour() {
    let e = env(clock!());
    e.register("val@example.com").await;
    let reset = e.reset_link("val@example.com").await;
    let late = e.reset_link("val@example.com").await;
    e.clock.advance(HOUR - 1);
    e.sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(kinds(&e.take_new_notices().await), ["password_changed"]);
    assert!(
        e.user("val@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_some()
    );
    let late2 = e.reset_link("val@example.com").await;
    e.clock.advance(HOUR + 1);
    for t in [&late, &late2] {
        assert!(matches!(
            e.sigra.reset_password(t, &pw(PW), &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    e.assert_no_new_notices().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_with_one_link_exactly_one_succeeds() {
    let e = env(clock!());
    e.confirmed("wes@example.com").await;
    let reset = e.reset_link("wes@example.com").await;
    let candidates = ["first new passphrase", "second new passphrase"];
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for candidate in candidates {
        let sigra = e.sigra.clone();
        let reset = reset.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            sigra.reset_password(&reset, &pw(candidate), &meta()).await
        }));
    }
    let mut winners = Vec::new();
    for (candidate, t) in candidates.into_iter().zip(tasks) {
        match t.await.unwrap() {
            Ok(()) => winners.push(candidate),
            Err(AuthError::InvalidToken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one reset wins");
    e.login_ok("wes@example.com", winners[0]).await;
    assert_eq!(
        e.audit_count("auth.password_reset.complete", AuditOutcome::Success, None),
        1
    );
    assert_eq!(
        kinds(&e.take_new_notices().await),
        ["password_changed"],
        "one notice, from the winner"
    );
}

#[tokio::test]
async fn links_signed_for_another_purpose_or_forged_are_refused() {
    let e = env(clock!());
    let c = e.register("nora@example.com").await;
    let omar = e.confirmed("omar@example.com").await;
    let reset = e.reset_link("nora@example.com").await;
    let magic = e.magic_link("nora@example.com").await;
    let auth = e.authed(&omar).await;

    // A reset token used as a confirmation, magic or email-change token, and so on.
    for token in [&reset, &magic] {
        assert!(matches!(
            e.sigra
                .confirm_with_link(token, ConfirmEvidence::none(), &meta())
                .await,
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            e.sigra.confirm_email_change(&auth, token, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    for token in [&reset, &c.token] {
        assert!(matches!(
            e.sigra.log_in_with_magic_link(token, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    for token in [&magic, &c.token] {
        assert!(matches!(
            e.sigra.reset_password(token, &pw(PW2), &meta()).await,
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            e.sigra.check_reset_token(token).await,
            Err(AuthError::InvalidToken)
        ));
    }
    // Garbage and tampered tokens.
    // Flip the first character of the MAC (all six of its bits count).
    let mac_at = c.token.rfind('.').unwrap() + 1;
    let mut tampered = c.token.clone();
    let flipped = if tampered[mac_at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(mac_at..=mac_at, flipped);
    for bad in ["", "garbage", "v1.x.y", tampered.as_str()] {
        assert!(matches!(
            e.sigra
                .confirm_with_link(bad, ConfirmEvidence::none(), &meta())
                .await,
            Err(AuthError::InvalidToken)
        ));
    }
    // None of that used anything up, or mailed anyone.
    e.assert_no_new_notices().await;
    e.sigra.check_reset_token(&reset).await.unwrap();
    e.sigra
        .confirm_with_link(&c.token, c.evidence(), &meta())
        .await
        .unwrap();
    e.sigra
        .log_in_with_magic_link(&magic, &meta())
        .await
        .unwrap();
}
