//! Pre-registration squatting: whoever proves the mailbox wins. Someone registers an address
//! they do not own and logs in while it is unconfirmed; when the owner confirms it (link or
//! code) or logs in with a magic link, every other session dies and the squatter's password
//! goes, unless the confirmer shows they chose it (the registering browser's proof, or typing
//! it). The normal path keeps working. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::{AuthError, ConfirmEvidence, LoginAttempt};
use sigra_core::store::AuditOutcome;
use support::auth::*;

const SQUATTER_PW: &str = "squatter's own password";

/// The squatter registers `email` (as `e.register` does, with the harness password) and logs
/// in with remember-me while the address is unconfirmed.
async fn squatted(e: &Env, email: &str) -> (Confirm, sigra_core::auth::LoggedIn) {
    let c = e.register(email).await;
    let squatter = e.login_ok(email, PW).await;
    assert!(e.auth(&squatter).await.is_some());
    (c, squatter)
}

fn last_metadata(e: &Env, action: &str) -> serde_json::Value {
    e.audit()
        .iter()
        .rev()
        .find(|ev| ev.action == action && ev.outcome == AuditOutcome::Success)
        .map(|ev| ev.metadata.clone())
        .unwrap_or_else(|| panic!("no successful {action} audit row"))
}

#[tokio::test]
async fn the_owner_confirming_elsewhere_revokes_the_squatter_and_removes_their_password() {
    let e = env(clock!());
    let (c, squatter) = squatted(&e, "owner@example.com").await;
    // The owner opens the link from their own mailbox, in their own browser: no proof.
    let owner = e
        .sigra
        .confirm_with_link(&c.token, ConfirmEvidence::none(), &meta())
        .await
        .unwrap();
    assert!(owner.needs_password(), "confirmed without a password");
    assert!(
        e.sigra.in_sudo(&e.authed(&owner).await),
        "so the owner can set one at once"
    );
    assert!(
        e.auth(&squatter).await.is_none(),
        "the squatter's session is dead"
    );
    assert!(
        matches!(
            e.log_in("owner@example.com", PW, false).await,
            LoginAttempt::Failed
        ),
        "and their password no longer works"
    );
    let meta_row = last_metadata(&e, "auth.confirm");
    assert_eq!(meta_row["password_cleared"], true);
    assert_eq!(meta_row["password_kept"], false);
    assert_eq!(meta_row["sessions_revoked"], 1);
    // The owner sets a password and uses it.
    let auth = e.authed(&owner).await;
    e.sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    e.login_ok("owner@example.com", PW2).await;
}

#[tokio::test]
async fn confirming_in_the_registering_browser_keeps_the_password() {
    let e = env(clock!());
    let c = e.register("normal@example.com").await;
    let earlier = e.login_ok("normal@example.com", PW).await;
    let confirmed = e
        .sigra
        .confirm_with_link(&c.token, c.evidence(), &meta())
        .await
        .unwrap();
    assert!(!confirmed.needs_password());
    assert!(!e.sigra.in_sudo(&e.authed(&confirmed).await));
    assert!(
        e.auth(&earlier).await.is_none(),
        "every other session is revoked even then: nobody else keeps a foothold"
    );
    e.login_ok("normal@example.com", PW).await;
    assert_eq!(last_metadata(&e, "auth.confirm")["password_kept"], true);
}

#[tokio::test]
async fn confirming_by_code_follows_the_same_rule() {
    let e = env(clock!());
    let kept = e.register("code-kept@example.com").await;
    let l = e
        .sigra
        .confirm_with_code(
            "code-kept@example.com",
            &kept.code,
            kept.evidence(),
            &meta(),
        )
        .await
        .unwrap();
    assert!(!l.needs_password());
    e.login_ok("code-kept@example.com", PW).await;

    let cleared = e.register("code-cleared@example.com").await;
    let l = e
        .sigra
        .confirm_with_code(
            "code-cleared@example.com",
            &cleared.code,
            ConfirmEvidence::none(),
            &meta(),
        )
        .await
        .unwrap();
    assert!(l.needs_password());
    e.login_fails_silently("code-cleared@example.com", PW).await;
}

#[tokio::test]
async fn typing_the_right_password_keeps_it_and_a_wrong_one_changes_nothing() {
    let e = env(clock!());
    let c = e.register("typed@example.com").await;
    let wrong = ConfirmEvidence::none().password(Some(pw("not the password at all")));
    assert!(matches!(
        e.sigra.confirm_with_link(&c.token, wrong, &meta()).await,
        Err(AuthError::InvalidCredentials)
    ));
    assert_eq!(
        e.audit_count("auth.confirm", AuditOutcome::Failure, None),
        1,
        "the wrong password is audited"
    );
    assert!(
        e.user("typed@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none(),
        "nothing changed"
    );
    let right = ConfirmEvidence::none().password(Some(pw(PW)));
    let l = e
        .sigra
        .confirm_with_link(&c.token, right, &meta())
        .await
        .expect("the link was not used up by the wrong try");
    assert!(!l.needs_password());
    e.login_ok("typed@example.com", PW).await;

    // By code: a wrong password leaves the code usable, the right one keeps the password.
    let c = e.register("typed-code@example.com").await;
    let wrong = ConfirmEvidence::none().password(Some(pw("not the password at all")));
    assert!(matches!(
        e.sigra
            .confirm_with_code("typed-code@example.com", &c.code, wrong, &meta())
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    let right = ConfirmEvidence::none().password(Some(pw(PW)));
    let l = e
        .sigra
        .confirm_with_code("typed-code@example.com", &c.code, right, &meta())
        .await
        .unwrap();
    assert!(!l.needs_password());
}

#[tokio::test]
async fn typed_passwords_count_against_the_code_entry_limit() {
    let e = env(clock!());
    let c = e.register("guessing@example.com").await;
    for _ in 0..5 {
        let guess = ConfirmEvidence::none().password(Some(pw("a wrong guess, again")));
        assert!(matches!(
            e.sigra.confirm_with_link(&c.token, guess, &meta()).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    let right = ConfirmEvidence::none().password(Some(pw(PW)));
    assert!(matches!(
        e.sigra.confirm_with_link(&c.token, right, &meta()).await,
        Err(AuthError::TooManyAttempts { .. })
    ));
}

#[tokio::test]
async fn a_proof_from_registering_a_taken_address_proves_nothing() {
    let e = env(clock!());
    let (c, squatter) = squatted(&e, "taken@example.com").await;
    // The owner tries to register too: the address is taken (they are told by mail), and
    // their browser gets a proof like anyone's — made for their password, not the squatter's.
    let owners_proof = e
        .sigra
        .register("taken@example.com", &pw(SQUATTER_PW), &meta())
        .await
        .unwrap();
    e.take_new_notices().await;
    let evidence = ConfirmEvidence::none().registration(Some(owners_proof.as_str().to_owned()));
    let owner = e
        .sigra
        .confirm_with_link(&c.token, evidence, &meta())
        .await
        .unwrap();
    assert!(owner.needs_password());
    assert!(e.auth(&squatter).await.is_none());
}

#[tokio::test]
async fn a_forged_or_foreign_proof_proves_nothing() {
    let e = env(clock!());
    let a = e.register("proof-a@example.com").await;
    let b = e.register("proof-b@example.com").await;
    // B's proof with A's link.
    let l = e
        .sigra
        .confirm_with_link(&a.token, b.evidence(), &meta())
        .await
        .unwrap();
    assert!(l.needs_password());
    let forged = ConfirmEvidence::none().registration(Some("v1.forged.proof".into()));
    let l = e
        .sigra
        .confirm_with_code("proof-b@example.com", &b.code, forged, &meta())
        .await
        .unwrap();
    assert!(l.needs_password());
}

#[tokio::test]
async fn a_magic_link_into_an_unconfirmed_account_claims_it() {
    let e = env(clock!());
    let (_c, squatter) = squatted(&e, "magic-owner@example.com").await;
    let token = e.magic_link("magic-owner@example.com").await;
    let owner = e
        .sigra
        .log_in_with_magic_link(&token, &meta())
        .await
        .unwrap();
    assert!(owner.user.confirmed_at.is_some());
    assert!(owner.needs_password());
    assert!(e.auth(&squatter).await.is_none());
    e.login_fails_silently("magic-owner@example.com", PW).await;
    let row = last_metadata(&e, "auth.magic_link.login");
    assert_eq!(row["password_cleared"], true);
    assert_eq!(row["sessions_revoked"], 1);
}

#[tokio::test]
async fn a_magic_link_into_a_confirmed_account_changes_nothing_else() {
    let e = env(clock!());
    let first = e.confirmed("magic-calm@example.com").await;
    let token = e.magic_link("magic-calm@example.com").await;
    let second = e
        .sigra
        .log_in_with_magic_link(&token, &meta())
        .await
        .unwrap();
    assert!(!second.needs_password());
    assert!(e.auth(&first).await.is_some(), "other sessions stay");
    e.login_ok("magic-calm@example.com", PW).await;
}
