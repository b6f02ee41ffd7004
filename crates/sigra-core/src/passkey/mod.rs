//! Passkeys: the WebAuthn relying party.
//!
//! # What webauthn-rs does
//!
//! [webauthn-rs](https://docs.rs/webauthn-rs) (0.6, its safe "passkey" API) does every piece of
//! WebAuthn cryptography and parsing: it makes the 32-byte challenges and the options the
//! browser passes to `navigator.credentials.create()` / `.get()`, parses the attestation and
//! assertion (CBOR, COSE keys), and checks the origin, the relying party id hash, the
//! challenge, the signature, user verification (it requires it for passkeys: stricter than the
//! reference's "preferred") and the signature counter. Attestation is `none`. sigra-core
//! never parses CBOR or COSE itself.
//!
//! # What sigra-core adds
//!
//! - **Ceremony state in the database.** A ceremony's state (with its challenge) is stored
//!   server-side in `webauthn_challenges` ([`WebauthnChallengeStore`]) for
//!   [`PasskeyConfig::challenge_ttl`](crate::config::PasskeyConfig::challenge_ttl) (60 s), so
//!   any app instance can finish what another started. The browser holds only a random
//!   challenge id ([`PasskeyChallenge::challenge_id`]); the table holds its SHA-256. Finishing
//!   takes the row with one `DELETE … RETURNING`: a challenge works once, even under
//!   concurrent replays, and a failed attempt uses it up too.
//! - **The sign-count policy** ([`SignCountPolicy`]): webauthn-rs reports a counter that did
//!   not increase as `CredentialPossibleCompromise`, *after* the signature, challenge and
//!   origin checks passed; sigra-core then warns (audit, allow), refuses, or deletes the
//!   passkey, as configured.
//! - **No account enumeration.** Options for an email address without passkeys (unknown or
//!   not) list deterministic fake credential ids ([`RelyingParty::fake_request_options`]):
//!   HMAC-seeded with a key derived from the secret key base, shaped like real ones
//!   (webauthn-rs's own fake-credential distribution), the same every time for one address.
//! - **User handles without a schema change.** The WebAuthn user handle of a user is a UUID
//!   hashed from their id ([`RelyingParty::user_handle`]), checked against the credential's
//!   owner on discoverable logins.
//! - The flows themselves (`Sigra::start_passkey_registration` and friends, in
//!   [`crate::auth`]) with their audit rows in the same transaction as their writes.
//!
//! ```
//! use sigra_core::config::SigraConfig;
//! use sigra_core::keys::SecretKeyBase;
//! use sigra_core::passkey::RelyingParty;
//!
//! let secret = SecretKeyBase::new(vec![7u8; 64])?;
//! let rp = RelyingParty::new(SigraConfig::default().passkey(), &secret)?;
//! let options = rp.fake_request_options("nobody@example.com")?;
//! assert_eq!(options["publicKey"]["rpId"], "localhost");
//! assert_eq!(
//!     options["publicKey"]["allowCredentials"],
//!     rp.fake_request_options("NOBODY@example.com ")?["publicKey"]["allowCredentials"],
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`WebauthnChallengeStore`]: crate::store::WebauthnChallengeStore

use std::fmt;

use sha2::Digest as _;
use webauthn_rs::fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator};
use webauthn_rs::prelude::{Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError};

use crate::config::PasskeyConfig;
pub use crate::config::SignCountPolicy;
use crate::keys::SecretKeyBase;
use crate::store::Id;

/// The label of the key that seeds fake credential ids (derived from the secret key base).
const FAKE_KEY_PURPOSE: &str = "sigra/passkey-fake-credentials";

/// Why a passkey ceremony was refused. Client errors are safe to show; none reveals whether
/// an account exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// The browser's response is not the JSON of a WebAuthn credential.
    #[error("the passkey response could not be read; try again")]
    MalformedResponse,
    /// The challenge id is unknown, expired or already used.
    #[error("the passkey request expired or was already used; try again")]
    ChallengeInvalid,
    /// The assertion or attestation did not verify (wrong origin or relying party, tampered
    /// data, bad signature, no user verification, a credential this account does not own).
    #[error("the passkey could not be verified")]
    Rejected,
    /// The passkey's counter did not increase (a copied key?) and the policy is `reauth`.
    #[error(
        "this passkey reported an unexpected sign-in count, which can mean it was copied; sign in another way"
    )]
    SignCountRegression,
    /// The passkey's counter did not increase and the policy is `revoke`: it was deleted.
    #[error(
        "this passkey was removed because it may have been copied; sign in another way and register a new one"
    )]
    Revoked,
    /// The credential is already registered (to this or another account).
    #[error("this passkey is already registered")]
    AlreadyRegistered,
    /// The nickname is empty, too long or has control characters.
    #[error("name the passkey with 1 to 64 characters")]
    InvalidNickname,
    /// The user has no passkey to verify with.
    #[error("no passkey is registered for this account")]
    NoPasskeys,
    /// The app was installed without passkeys (its store is
    /// [`WithoutPasskeys`](crate::store::WithoutPasskeys)).
    #[error("passkeys are not available in this app")]
    NotInstalled,
    /// The relying-party configuration was refused by webauthn-rs.
    #[error("passkeys are misconfigured: {0}")]
    Config(String),
    /// Stored ceremony state or a stored passkey could not be read or written.
    #[error("something went wrong; try again")]
    Internal(String),
}

impl PasskeyError {
    /// Whether this is the caller's mistake (a 4xx) rather than the server's (a 5xx).
    ///
    /// ```
    /// use sigra_core::passkey::PasskeyError;
    /// assert!(PasskeyError::Rejected.is_client_error());
    /// assert!(!PasskeyError::Internal("x".into()).is_client_error());
    /// ```
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Config(_) | Self::Internal(_))
    }
}

/// A ceremony started: the options for the browser and the id to send back with its answer.
///
/// `options` is the JSON to pass (after base64url-decoding the binary fields, as the
/// generated JavaScript does) to `navigator.credentials.create()` or `.get()`.
/// `challenge_id` is a random token; only its SHA-256 is stored. `Debug` redacts it.
#[derive(Clone)]
#[non_exhaustive]
pub struct PasskeyChallenge {
    /// The id the browser sends back with its answer (43 characters of base64url).
    pub challenge_id: String,
    /// The WebAuthn options (`{"publicKey": {…}}`, and `"mediation": "conditional"` for
    /// discoverable logins).
    pub options: serde_json::Value,
}

impl PasskeyChallenge {
    /// The options as a JSON string, ready to send.
    ///
    /// ```
    /// use sigra_core::passkey::PasskeyChallenge;
    /// let c = PasskeyChallenge::new("id".into(), serde_json::json!({"publicKey": {}}));
    /// assert_eq!(c.options_json(), r#"{"publicKey":{}}"#);
    /// assert!(!format!("{c:?}").contains("\"id\""));
    /// ```
    pub fn options_json(&self) -> String {
        self.options.to_string()
    }

    /// The options for the "Sign in with a passkey" button (a modal prompt): the same, without
    /// `mediation` (conditional mediation is for autofill).
    ///
    /// ```
    /// use sigra_core::passkey::PasskeyChallenge;
    /// let c = PasskeyChallenge::new("id".into(),
    ///     serde_json::json!({"publicKey": {}, "mediation": "conditional"}));
    /// assert!(c.modal_options().get("mediation").is_none());
    /// ```
    pub fn modal_options(&self) -> serde_json::Value {
        let mut options = self.options.clone();
        if let Some(map) = options.as_object_mut() {
            map.remove("mediation");
        }
        options
    }

    /// Builds a challenge (sigra-core's flows make these).
    ///
    /// ```
    /// let c = sigra_core::passkey::PasskeyChallenge::new("id".into(), serde_json::json!({}));
    /// assert_eq!(c.challenge_id, "id");
    /// ```
    pub fn new(challenge_id: String, options: serde_json::Value) -> Self {
        Self {
            challenge_id,
            options,
        }
    }
}

impl fmt::Debug for PasskeyChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyChallenge")
            .field("challenge_id", &"[REDACTED]")
            .field("options", &self.options)
            .finish()
    }
}

/// The relying party: webauthn-rs's [`Webauthn`] built from [`PasskeyConfig`], and the keys
/// sigra-core adds on top. [`Sigra`](crate::auth::Sigra) builds one; build your own only to
/// use these pieces directly.
#[derive(Clone)]
pub struct RelyingParty {
    webauthn: Webauthn,
    fake_key: [u8; 32],
}

impl fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelyingParty")
            .field("origins", &self.webauthn.get_allowed_origins())
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// Builds the relying party. The browser's timeout is the challenge lifetime, so a prompt
    /// never outlives the challenge it answers.
    ///
    /// Errors: [`PasskeyError::Config`] when webauthn-rs refuses the id/origin pair (the
    /// configuration's validation refuses it first).
    ///
    /// ```
    /// use sigra_core::config::SigraConfig;
    /// use sigra_core::keys::SecretKeyBase;
    /// let config = SigraConfig::builder()
    ///     .passkey(|p| {
    ///         p.rp_id = "example.com".into();
    ///         p.rp_origin = "https://app.example.com".into();
    ///     })
    ///     .build()?;
    /// let secret = SecretKeyBase::new(vec![1u8; 64])?;
    /// let rp = sigra_core::passkey::RelyingParty::new(config.passkey(), &secret)?;
    /// assert_eq!(rp.webauthn().get_allowed_origins()[0].as_str(), "https://app.example.com/");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: &PasskeyConfig, secret: &SecretKeyBase) -> Result<Self, PasskeyError> {
        let origin = Url::parse(&config.rp_origin)
            .map_err(|e| PasskeyError::Config(format!("rp_origin: {e}")))?;
        let webauthn = WebauthnBuilder::new(&config.rp_id, &origin)
            .map_err(config_error)?
            .rp_name(&config.rp_name)
            .timeout(config.challenge_ttl)
            .build()
            .map_err(config_error)?;
        let fake_key = *secret
            .derive(FAKE_KEY_PURPOSE)
            .map_err(|e| PasskeyError::Internal(e.to_string()))?
            .as_bytes();
        Ok(Self { webauthn, fake_key })
    }

    /// webauthn-rs's relying party.
    ///
    /// ```ignore
    /// let origins = rp.webauthn().get_allowed_origins();
    /// ```
    pub fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }

    /// The WebAuthn user handle of a user: a UUID made from SHA-256 of the user id. Stable
    /// (it does not depend on any secret, so rotating the secret key base keeps passkeys
    /// working) and free of personal data.
    ///
    /// ```
    /// use sigra_core::passkey::RelyingParty;
    /// use sigra_core::store::Id;
    /// assert_eq!(RelyingParty::user_handle(&Id::Int(1)), RelyingParty::user_handle(&Id::Int(1)));
    /// assert_ne!(RelyingParty::user_handle(&Id::Int(1)), RelyingParty::user_handle(&Id::Int(2)));
    /// ```
    pub fn user_handle(user_id: &Id) -> Uuid {
        let digest = sha2::Sha256::digest(format!("sigra/passkey-user-handle/v1:{user_id}"));
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    }

    /// Request options for an email address that has no passkey to offer (unknown, or an
    /// account without passkeys): shaped like the options of an account with passkeys, with
    /// credential ids derived from the normalised address by an HMAC keyed from the secret
    /// key base. The same address always gets the same ids (and transports); only the
    /// challenge is new each time, as in real options.
    ///
    /// ```
    /// # use sigra_core::{config::SigraConfig, keys::SecretKeyBase, passkey::RelyingParty};
    /// # let rp = RelyingParty::new(SigraConfig::default().passkey(), &SecretKeyBase::new(vec![7u8; 64])?)?;
    /// let a = rp.fake_request_options("ghost@example.com")?;
    /// let b = rp.fake_request_options("ghost@example.com")?;
    /// assert_eq!(a["publicKey"]["allowCredentials"], b["publicKey"]["allowCredentials"]);
    /// assert_ne!(a["publicKey"]["challenge"], b["publicKey"]["challenge"]);
    /// assert!(a.get("mediation").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fake_request_options(&self, email: &str) -> Result<serde_json::Value, PasskeyError> {
        // A real challenge and the real shape; only the credential list is made up.
        let (options, _state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(internal)?;
        let mut options = serde_json::to_value(options).map_err(internal)?;
        let key = normalise_for_fake(email);
        let credentials: Vec<serde_json::Value> = self
            .fake_credential_ids(&key)?
            .iter()
            .map(|id| {
                let mut credential = serde_json::json!({
                    "type": "public-key",
                    "id": base64url(id),
                });
                if let Some(transports) = fake_transports(id.len()) {
                    credential["transports"] = serde_json::json!(transports);
                }
                credential
            })
            .collect();
        // Targeted options (`start_passkey_authentication`) carry no mediation and no
        // extensions: make these look the same.
        if let Some(map) = options.as_object_mut() {
            map.remove("mediation");
        }
        if let Some(public_key) = options
            .get_mut("publicKey")
            .and_then(serde_json::Value::as_object_mut)
        {
            public_key.remove("extensions");
            public_key.insert(
                "allowCredentials".to_owned(),
                serde_json::Value::Array(credentials),
            );
        }
        Ok(options)
    }

    /// At least one fake id: an account offering options always has a passkey, so an empty
    /// list would give the fake away. The generator may draw none for an input; then the next
    /// deterministic input is tried.
    fn fake_credential_ids(&self, key: &str) -> Result<Vec<Vec<u8>>, PasskeyError> {
        let generator =
            WebauthnFakeCredentialGenerator::<FakePasskeyDistribution>::new(&self.fake_key)
                .map_err(internal)?;
        for round in 0u8..16 {
            let input = format!("{round}:{key}");
            let ids = generator.generate(input.as_bytes()).map_err(internal)?;
            if !ids.is_empty() {
                return Ok(ids.into_iter().map(|id| id.to_vec()).collect());
            }
        }
        Err(PasskeyError::Internal(
            "the fake credential generator drew no credential 16 times".to_owned(),
        ))
    }
}

/// The address as accounts compare it (trimmed, case-insensitive); anything that is not an
/// address is still folded the same way, so it also gets stable answers.
fn normalise_for_fake(email: &str) -> String {
    crate::auth::normalize_email(email)
        .unwrap_or_else(|_| email.trim().to_owned())
        .to_lowercase()
}

/// The transports browsers report for the kind of authenticator a fake id's length mimics
/// (see webauthn-rs's `fake` module): platform and phone passkeys, TPMs, security keys, and
/// password managers (which report none).
fn fake_transports(id_len: usize) -> Option<&'static [&'static str]> {
    use webauthn_rs::fake::{
        APPLE_CRED_LEN, G_PIXEL_CRED_LEN, TPM_CRED_LEN, YUBIKEY_CRED_LEN, YUBIKEY_EDDSA_CRED_LEN,
    };
    match id_len {
        APPLE_CRED_LEN | G_PIXEL_CRED_LEN => Some(&["hybrid", "internal"]),
        TPM_CRED_LEN => Some(&["internal"]),
        YUBIKEY_CRED_LEN | YUBIKEY_EDDSA_CRED_LEN => Some(&["nfc", "usb"]),
        _ => None,
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn config_error(err: WebauthnError) -> PasskeyError {
    PasskeyError::Config(err.to_string())
}

pub(crate) fn internal(err: impl fmt::Display) -> PasskeyError {
    PasskeyError::Internal(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigraConfig;

    fn rp() -> RelyingParty {
        let secret = SecretKeyBase::new(vec![3u8; 64]).unwrap();
        RelyingParty::new(SigraConfig::default().passkey(), &secret).unwrap()
    }

    #[test]
    fn fake_options_are_deterministic_per_address_and_never_empty() {
        let rp = rp();
        let mut lists = std::collections::HashSet::new();
        for n in 0..200 {
            let email = format!("user{n}@example.com");
            let a = rp.fake_request_options(&email).unwrap();
            let b = rp.fake_request_options(&email.to_uppercase()).unwrap();
            let list = &a["publicKey"]["allowCredentials"];
            assert_eq!(list, &b["publicKey"]["allowCredentials"]);
            assert!(!list.as_array().unwrap().is_empty());
            assert_eq!(a["publicKey"]["userVerification"], "required");
            lists.insert(list.to_string());
        }
        assert_eq!(lists.len(), 200, "different addresses get different ids");
    }

    #[test]
    fn fake_ids_depend_on_the_secret() {
        let other = RelyingParty::new(
            SigraConfig::default().passkey(),
            &SecretKeyBase::new(vec![4u8; 64]).unwrap(),
        )
        .unwrap();
        let email = "someone@example.com";
        assert_ne!(
            rp().fake_request_options(email).unwrap()["publicKey"]["allowCredentials"],
            other.fake_request_options(email).unwrap()["publicKey"]["allowCredentials"]
        );
    }

    #[test]
    fn debug_hides_the_challenge_id() {
        let c = PasskeyChallenge::new("s3cr3t-id".into(), serde_json::json!({}));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
