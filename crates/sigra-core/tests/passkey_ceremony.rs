//! Passkey ceremonies end to end against a software authenticator (webauthn-authenticator-rs's
//! `SoftPasskey`): registration, discoverable login, login after an email, verification, and
//! every way a ceremony must be refused. The harness is in `support/auth.rs`.
//!
//! `SoftPasskey` signs only for credentials listed in `allowCredentials` and sends no user
//! handle, so the discoverable login is played as a browser would: the credential the person
//! picked is listed, and the authenticator's user handle is added to the response (it is not
//! covered by the signature, exactly as in a real browser).
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sigra_core::auth::{AuthError, Authenticated};
use sigra_core::config::{SignCountPolicy, SigraConfig};
use sigra_core::passkey::{PasskeyChallenge, PasskeyError, RelyingParty};
use sigra_core::store::{AuditOutcome, Id, PasskeyRecord, PasskeyStore, Store, Transaction};
use support::auth::*;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const ORIGIN: &str = "https://app.example.com";

fn config(policy: SignCountPolicy) -> SigraConfig {
    SigraConfig::builder()
        .passkey(|p| {
            p.rp_id = "example.com".into();
            p.rp_origin = ORIGIN.into();
            p.sign_count_policy = policy;
        })
        .build()
        .unwrap()
}

fn url(origin: &str) -> Url {
    Url::parse(origin).unwrap()
}

/// A confirmed, logged-in user (in sudo) and their authenticator.
struct Setup {
    e: Env,
    auth: Authenticated,
    key: SoftPasskey,
}

async fn setup(clock: support::clock::Clock, policy: SignCountPolicy) -> Setup {
    let e = env_with(clock, config(policy));
    e.confirmed("pk@example.com").await;
    // A password login starts in sudo mode.
    let login = e.login_ok("pk@example.com", PW).await;
    let auth = e.authed(&login).await;
    Setup {
        e,
        auth,
        key: SoftPasskey::new(true),
    }
}

fn passkey_err(result: Result<impl std::fmt::Debug, AuthError>) -> PasskeyError {
    match result {
        Err(AuthError::Passkey(err)) => err,
        other => panic!("expected a passkey error, got {other:?}"),
    }
}

impl Setup {
    /// The browser's answer to registration options.
    fn create(&mut self, challenge: &PasskeyChallenge) -> String {
        let options: CreationChallengeResponse =
            serde_json::from_value(challenge.options.clone()).unwrap();
        let response = self.key.do_registration(url(ORIGIN), options).unwrap();
        serde_json::to_string(&response).unwrap()
    }

    async fn register(&mut self, nickname: &str) -> PasskeyRecord {
        let challenge = self
            .e
            .sigra
            .start_passkey_registration(&self.auth, &meta())
            .await
            .unwrap();
        let response = self.create(&challenge);
        self.e
            .sigra
            .finish_passkey_registration(
                &self.auth,
                &challenge.challenge_id,
                &response,
                nickname,
                &meta(),
            )
            .await
            .unwrap()
    }

    /// The browser's answer to request options, from `origin`, after the person picked
    /// `credential` (listed for the soft authenticator) and with the user handle a
    /// discoverable credential returns.
    fn get(
        &mut self,
        options: &serde_json::Value,
        origin: &str,
        credential: &[u8],
        user_handle: Option<&Id>,
    ) -> String {
        let mut options = options.clone();
        options.as_object_mut().unwrap().remove("mediation");
        options["publicKey"]["allowCredentials"] =
            serde_json::json!([{ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(credential) }]);
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let response = self.key.do_authentication(url(origin), options).unwrap();
        let mut response = serde_json::to_value(&response).unwrap();
        if let Some(user) = user_handle {
            response["response"]["userHandle"] = URL_SAFE_NO_PAD
                .encode(RelyingParty::user_handle(user).as_bytes())
                .into();
        }
        response.to_string()
    }

    async fn login(&mut self, credential: &[u8]) -> Result<sigra_core::auth::LoggedIn, AuthError> {
        let challenge = self.e.sigra.start_passkey_login(&meta()).await.unwrap();
        let user = self.auth.user.id;
        let response = self.get(&challenge.options, ORIGIN, credential, Some(&user));
        self.e
            .sigra
            .finish_passkey_login(&challenge.challenge_id, &response, false, &meta())
            .await
    }

    async fn passkeys(&self) -> Vec<PasskeyRecord> {
        self.e
            .sigra
            .list_passkeys(&self.auth.user.id)
            .await
            .unwrap()
    }

    /// Pretends the stored counter is far ahead (as after a cloned key signed many times).
    async fn push_stored_counter(&self, record: &PasskeyRecord, counter: u32) {
        let mut tx = self.e.store.begin().await.unwrap();
        let row = tx
            .passkey_by_credential_id(&record.credential_id)
            .await
            .unwrap()
            .unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&row.passkey).unwrap();
        json["cred"]["counter"] = counter.into();
        let updated = tx
            .update_passkey_after_use(
                &row.id,
                &json.to_string(),
                counter.into(),
                self.e.clock.now(),
            )
            .await
            .unwrap();
        assert!(updated);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn register_log_in_and_verify() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("  Laptop ").await;
    assert_eq!(record.nickname, "Laptop");
    assert_eq!(record.user_id, s.auth.user.id);
    assert!(record.last_used_at.is_none());
    assert!(!format!("{record:?}").contains(&record.passkey));

    // Registering the same authenticator again is refused by the browser: its credential is
    // excluded in the options.
    let again =
        s.e.sigra
            .start_passkey_registration(&s.auth, &meta())
            .await
            .unwrap();
    let excluded = &again.options["publicKey"]["excludeCredentials"];
    assert_eq!(
        excluded[0]["id"],
        URL_SAFE_NO_PAD.encode(&record.credential_id)
    );
    // A discoverable credential is asked for: the login button and autofill send no list.
    let selection = &again.options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "preferred");
    assert_eq!(selection["requireResidentKey"], false);

    // The button / autofill: discoverable.
    s.e.clock.advance(30);
    let logged_in = s.login(&record.credential_id).await.unwrap();
    assert_eq!(logged_in.user.id, s.auth.user.id);
    assert!(logged_in.session.sudo_at.is_some());
    assert!(s.e.auth(&logged_in).await.is_some());
    let listed = s.passkeys().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(s.e.clock.now()));
    assert_eq!(listed[0].sign_count, 1);

    // After an email address: the options list the account's passkey.
    let challenge =
        s.e.sigra
            .start_passkey_login_for_email("PK@example.com", &meta())
            .await
            .unwrap();
    let listed_ids = &challenge.options["publicKey"]["allowCredentials"];
    assert_eq!(
        listed_ids[0]["id"],
        URL_SAFE_NO_PAD.encode(&record.credential_id)
    );
    let response = s.get(&challenge.options, ORIGIN, &record.credential_id, None);
    s.e.sigra
        .finish_passkey_login(&challenge.challenge_id, &response, true, &meta())
        .await
        .unwrap();

    // As a verification (the MFA building block).
    let challenge =
        s.e.sigra
            .start_passkey_verification(&s.auth.user.id)
            .await
            .unwrap();
    let response = s.get(&challenge.options, ORIGIN, &record.credential_id, None);
    s.e.sigra
        .finish_passkey_verification(&s.auth.user.id, &challenge.challenge_id, &response, &meta())
        .await
        .unwrap();
    assert_eq!(s.passkeys().await[0].sign_count, 3);

    let user = Some(&s.auth.user.id);
    assert_eq!(
        s.e.audit_count("passkey.register", AuditOutcome::Success, user),
        1
    );
    assert_eq!(
        s.e.audit_count("passkey.verify", AuditOutcome::Success, user),
        3
    );
    assert_eq!(
        s.e.audit_count("passkey.verify", AuditOutcome::Failure, None),
        0
    );
}

#[tokio::test]
async fn verification_is_bound_to_its_user() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    let other = s.e.confirmed("other@example.com").await.user.id;
    assert!(matches!(
        passkey_err(s.e.sigra.start_passkey_verification(&other).await),
        PasskeyError::NoPasskeys
    ));
    let challenge =
        s.e.sigra
            .start_passkey_verification(&s.auth.user.id)
            .await
            .unwrap();
    let response = s.get(&challenge.options, ORIGIN, &record.credential_id, None);
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_verification(&other, &challenge.challenge_id, &response, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::ChallengeInvalid), "{err:?}");
}

#[tokio::test]
async fn sudo_is_required_to_register_rename_and_delete() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Old name").await;
    assert!(
        s.e.sigra
            .rename_passkey(&s.auth, &record.id, "New name", &meta())
            .await
            .unwrap()
    );
    assert_eq!(s.passkeys().await[0].nickname, "New name");
    assert!(matches!(
        passkey_err(
            s.e.sigra
                .rename_passkey(&s.auth, &record.id, " ", &meta())
                .await
        ),
        PasskeyError::InvalidNickname
    ));

    s.e.clock.advance(6 * MIN);
    let auth = s.e.authed(&s.e.login_ok("pk@example.com", PW).await).await;
    s.e.clock.advance(6 * MIN);
    for result in [
        s.e.sigra
            .start_passkey_registration(&auth, &meta())
            .await
            .map(|_| ()),
        s.e.sigra
            .rename_passkey(&auth, &record.id, "x", &meta())
            .await
            .map(|_| ()),
        s.e.sigra
            .delete_passkey(&auth, &record.id, &meta())
            .await
            .map(|_| ()),
    ] {
        assert!(matches!(result, Err(AuthError::SudoRequired)), "{result:?}");
    }

    // Back in sudo: another user's id deletes nothing, the owner's does.
    let fresh = s.e.authed(&s.e.login_ok("pk@example.com", PW).await).await;
    s.e.confirmed("mallory@example.com").await;
    let mallory =
        s.e.authed(&s.e.login_ok("mallory@example.com", PW).await)
            .await;
    assert!(
        !s.e.sigra
            .delete_passkey(&mallory, &record.id, &meta())
            .await
            .unwrap()
    );
    assert!(
        s.e.sigra
            .delete_passkey(&fresh, &record.id, &meta())
            .await
            .unwrap()
    );
    assert!(s.passkeys().await.is_empty());
    let user = Some(&s.auth.user.id);
    assert_eq!(
        s.e.audit_count("passkey.rename", AuditOutcome::Success, user),
        1
    );
    assert_eq!(
        s.e.audit_count("passkey.delete", AuditOutcome::Success, user),
        1
    );
}

#[tokio::test]
async fn tampered_client_data_is_rejected_and_uses_the_challenge_up() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    let challenge = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    let user = s.auth.user.id;
    let genuine = s.get(
        &challenge.options,
        ORIGIN,
        &record.credential_id,
        Some(&user),
    );
    let mut tampered: serde_json::Value = serde_json::from_str(&genuine).unwrap();
    let client_data = tampered["response"]["clientDataJSON"].as_str().unwrap();
    let mut client_data: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(client_data).unwrap()).unwrap();
    client_data["crossOrigin"] = true.into();
    tampered["response"]["clientDataJSON"] = URL_SAFE_NO_PAD.encode(client_data.to_string()).into();
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(
                &challenge.challenge_id,
                &tampered.to_string(),
                false,
                &meta(),
            )
            .await,
    );
    assert!(matches!(err, PasskeyError::Rejected), "{err:?}");
    // The failed attempt used the challenge up: the genuine answer is now refused too.
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(&challenge.challenge_id, &genuine, false, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::ChallengeInvalid), "{err:?}");
    assert_eq!(
        s.e.audit_count("passkey.verify", AuditOutcome::Failure, None),
        2
    );
}

#[tokio::test]
async fn a_wrong_origin_is_rejected() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    let challenge = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    let user = s.auth.user.id;
    // A sibling page under the same registrable domain: the browser lets it ask, the relying
    // party must not accept it.
    let response = s.get(
        &challenge.options,
        "https://evil.example.com",
        &record.credential_id,
        Some(&user),
    );
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(&challenge.challenge_id, &response, false, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::Rejected), "{err:?}");
}

#[tokio::test]
async fn a_wrong_relying_party_id_is_rejected() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    let challenge = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    let user = s.auth.user.id;
    let mut options = challenge.options.clone();
    options["publicKey"]["rpId"] = "evil.test".into();
    // The soft authenticator keys credentials by id, not by relying party: it signs for the
    // other rpId, and the relying party must notice the hash.
    let response = s.get(
        &options,
        "https://evil.test",
        &record.credential_id,
        Some(&user),
    );
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(&challenge.challenge_id, &response, false, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::Rejected), "{err:?}");
}

#[tokio::test]
async fn a_replayed_answer_is_refused() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    let challenge = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    let user = s.auth.user.id;
    let response = s.get(
        &challenge.options,
        ORIGIN,
        &record.credential_id,
        Some(&user),
    );
    s.e.sigra
        .finish_passkey_login(&challenge.challenge_id, &response, false, &meta())
        .await
        .unwrap();
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(&challenge.challenge_id, &response, false, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::ChallengeInvalid), "{err:?}");
    // The same answer under a new challenge fails too: it signed the old one.
    let fresh = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(&fresh.challenge_id, &response, false, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::Rejected), "{err:?}");
}

#[tokio::test]
async fn a_registration_answer_is_single_use() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let challenge =
        s.e.sigra
            .start_passkey_registration(&s.auth, &meta())
            .await
            .unwrap();
    let response = s.create(&challenge);
    s.e.sigra
        .finish_passkey_registration(&s.auth, &challenge.challenge_id, &response, "A", &meta())
        .await
        .unwrap();
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_registration(&s.auth, &challenge.challenge_id, &response, "B", &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::ChallengeInvalid), "{err:?}");
    assert_eq!(s.passkeys().await.len(), 1);
}

#[tokio::test]
async fn counter_regression_warn_lets_in_and_audits() {
    let mut s = setup(clock!(), SignCountPolicy::Warn).await;
    let record = s.register("Key").await;
    s.push_stored_counter(&record, 1000).await;
    let logged_in = s.login(&record.credential_id).await.unwrap();
    assert_eq!(logged_in.user.id, s.auth.user.id);
    let event =
        s.e.audit()
            .into_iter()
            .rfind(|e| e.action == "passkey.verify")
            .unwrap();
    assert_eq!(event.outcome, AuditOutcome::Success);
    assert_eq!(event.metadata["sign_count_regression"], true);
    assert_eq!(
        s.passkeys().await[0].sign_count,
        1000,
        "never moved backwards"
    );
}

#[tokio::test]
async fn counter_regression_reauth_refuses_and_keeps_the_passkey() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    s.push_stored_counter(&record, 1000).await;
    let err = passkey_err(s.login(&record.credential_id).await);
    assert!(matches!(err, PasskeyError::SignCountRegression), "{err:?}");
    assert!(err.is_client_error());
    assert_eq!(s.passkeys().await.len(), 1);
    let user = Some(&s.auth.user.id);
    assert_eq!(
        s.e.audit_count("passkey.verify", AuditOutcome::Failure, user),
        1
    );
}

#[tokio::test]
async fn counter_regression_revoke_deletes_the_passkey() {
    let mut s = setup(clock!(), SignCountPolicy::Revoke).await;
    let record = s.register("Key").await;
    s.push_stored_counter(&record, 1000).await;
    let err = passkey_err(s.login(&record.credential_id).await);
    assert!(matches!(err, PasskeyError::Revoked), "{err:?}");
    assert!(s.passkeys().await.is_empty());
    let user = Some(&s.auth.user.id);
    assert_eq!(
        s.e.audit_count("passkey.delete", AuditOutcome::Success, user),
        1
    );
    assert_eq!(
        s.e.audit_count("passkey.verify", AuditOutcome::Failure, user),
        1
    );
}

#[tokio::test]
async fn a_tampered_assertion_with_a_regressed_counter_is_still_rejected() {
    // The warn policy lets a counter regression through only for a genuine signature.
    let mut s = setup(clock!(), SignCountPolicy::Warn).await;
    let record = s.register("Key").await;
    s.push_stored_counter(&record, 1000).await;
    let challenge = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    let user = s.auth.user.id;
    let response = s.get(
        &challenge.options,
        ORIGIN,
        &record.credential_id,
        Some(&user),
    );
    let mut response: serde_json::Value = serde_json::from_str(&response).unwrap();
    let mut signature = URL_SAFE_NO_PAD
        .decode(response["response"]["signature"].as_str().unwrap())
        .unwrap();
    let last = signature.len() - 1;
    signature[last] ^= 1;
    response["response"]["signature"] = URL_SAFE_NO_PAD.encode(&signature).into();
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(
                &challenge.challenge_id,
                &response.to_string(),
                false,
                &meta(),
            )
            .await,
    );
    assert!(matches!(err, PasskeyError::Rejected), "{err:?}");
}

#[tokio::test]
async fn malformed_json_is_a_client_error() {
    let s = setup(clock!(), SignCountPolicy::Reauth).await;
    let challenge = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    for bad in ["", "not json", "{}", "[1,2]", r#"{"id":"x","rawId":"!!!"}"#] {
        let result =
            s.e.sigra
                .finish_passkey_login(&challenge.challenge_id, bad, false, &meta())
                .await;
        let Err(err) = result else {
            panic!("{bad:?} was accepted")
        };
        assert!(err.is_client_error(), "{err:?}");
        assert!(
            matches!(err, AuthError::Passkey(PasskeyError::MalformedResponse)),
            "{err:?}"
        );
    }
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_registration(&s.auth, "whatever", "{\"nope\":1}", "Key", &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::MalformedResponse), "{err:?}");
    // A malformed challenge id is just an unknown one.
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_verification(
                &s.auth.user.id,
                "%%%",
                &valid_looking_assertion(),
                &meta(),
            )
            .await,
    );
    assert!(matches!(err, PasskeyError::ChallengeInvalid), "{err:?}");
}

/// Well-formed JSON of an assertion (it verifies nothing).
fn valid_looking_assertion() -> String {
    serde_json::json!({
        "id": "AQID",
        "rawId": "AQID",
        "type": "public-key",
        "response": {
            "authenticatorData": "AQID",
            "clientDataJSON": "AQID",
            "signature": "AQID",
        },
        "extensions": {},
    })
    .to_string()
}

#[tokio::test]
async fn an_expired_challenge_is_refused() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    let challenge = s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    let user = s.auth.user.id;
    let response = s.get(
        &challenge.options,
        ORIGIN,
        &record.credential_id,
        Some(&user),
    );
    s.e.clock.advance(61);
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(&challenge.challenge_id, &response, false, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::ChallengeInvalid), "{err:?}");
    // Started now, it works; prune removes ceremonies nobody finished.
    s.e.sigra.start_passkey_login(&meta()).await.unwrap();
    s.e.clock.advance(61);
    assert_eq!(s.e.sigra.prune().await.unwrap().webauthn_challenges, 1);
}

#[tokio::test]
async fn unknown_emails_get_deterministic_options_that_look_real() {
    let mut s = setup(clock!(), SignCountPolicy::Reauth).await;
    let record = s.register("Key").await;
    let real =
        s.e.sigra
            .start_passkey_login_for_email("pk@example.com", &meta())
            .await
            .unwrap();
    let ghost = |email: &'static str| {
        let sigra = s.e.sigra.clone();
        async move {
            sigra
                .start_passkey_login_for_email(email, &meta())
                .await
                .unwrap()
        }
    };
    let a = ghost("ghost@example.com").await;
    let b = ghost(" Ghost@Example.com").await;
    let c = ghost("another.ghost@example.com").await;
    let list = |c: &PasskeyChallenge| c.options["publicKey"]["allowCredentials"].clone();
    assert_eq!(list(&a), list(&b), "the same answer every time");
    assert_ne!(list(&a), list(&c));
    assert_ne!(
        a.options["publicKey"]["challenge"],
        b.options["publicKey"]["challenge"]
    );
    assert_ne!(a.challenge_id, b.challenge_id);

    // Same shape as a real answer: the same keys, the same settings, a non-empty list of
    // base64url ids.
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&a.options), keys(&real.options));
    assert_eq!(
        keys(&a.options["publicKey"]),
        keys(&real.options["publicKey"])
    );
    for field in ["rpId", "timeout", "userVerification"] {
        assert_eq!(
            a.options["publicKey"][field],
            real.options["publicKey"][field]
        );
    }
    assert_eq!(
        a.options["publicKey"]["challenge"].as_str().unwrap().len(),
        real.options["publicKey"]["challenge"]
            .as_str()
            .unwrap()
            .len()
    );
    for credential in list(&a).as_array().unwrap() {
        assert_eq!(credential["type"], "public-key");
        let id = URL_SAFE_NO_PAD
            .decode(credential["id"].as_str().unwrap())
            .unwrap();
        assert!(id.len() >= 16);
    }

    // A known account without passkeys answers the same way as an unknown address.
    s.e.confirmed("nokeys@example.com").await;
    let none = ghost("nokeys@example.com").await;
    assert!(!list(&none).as_array().unwrap().is_empty());
    assert_eq!(list(&none), list(&ghost("nokeys@example.com").await));

    // Finishing a fake ceremony never logs anyone in, even with a genuine passkey.
    let user = s.auth.user.id;
    let response = s.get(&a.options, ORIGIN, &record.credential_id, Some(&user));
    let err = passkey_err(
        s.e.sigra
            .finish_passkey_login(&a.challenge_id, &response, false, &meta())
            .await,
    );
    assert!(matches!(err, PasskeyError::Rejected), "{err:?}");
}
