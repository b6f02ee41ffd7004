//! Passkeys: the WebAuthn relying party, challenge lifetime and sign-count policy.

use std::time::Duration;

use super::units::secs;

/// What to do when a passkey's signature counter goes backwards (or stays put while it is
/// non-zero): a sign that the credential's private key may have been copied to a second
/// authenticator. Synced passkeys report 0 and never trigger it.
///
/// ```
/// use sigra_core::config::SignCountPolicy;
/// assert_eq!(SignCountPolicy::default(), SignCountPolicy::Reauth);
/// assert_eq!(SignCountPolicy::Revoke.as_str(), "revoke");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignCountPolicy {
    /// Log a warning and an audit row, and accept the assertion (the signature is valid).
    Warn,
    /// Refuse this assertion: the person signs in another way (password, email link). The
    /// passkey stays, so a buggy authenticator does not cost its owner the credential, and
    /// a copied key does not get in. The default: it keeps a clone out without letting
    /// whoever holds the copy delete the owner's passkey by presenting it.
    #[default]
    Reauth,
    /// Delete the passkey and refuse: the owner registers a new one after signing in another
    /// way.
    Revoke,
}

impl SignCountPolicy {
    /// The lowercase name (`warn`, `reauth`, `revoke`).
    ///
    /// ```
    /// assert_eq!(sigra_core::config::SignCountPolicy::Warn.as_str(), "warn");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warn => "warn",
            Self::Reauth => "reauth",
            Self::Revoke => "revoke",
        }
    }
}

/// Passkeys (reference: 60 s challenges kept server-side, user verification, attestation
/// `none`, a configurable sign-count policy).
///
/// The relying party id is the domain passkeys are bound to (`example.com`); the origin is
/// where the pages asking for them are served (`https://app.example.com`), and its host must
/// be the id or a subdomain of it. The defaults suit local development on
/// `http://localhost:3000`; production sets both.
///
/// ```
/// let p = sigra_core::config::PasskeyConfig::default();
/// assert_eq!(p.rp_id, "localhost");
/// assert_eq!(p.challenge_ttl.as_secs(), 60);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasskeyConfig {
    /// The relying party id: a registrable domain the origin's host belongs to. Passkeys
    /// registered under one id never work under another. Default `localhost`.
    pub rp_id: String,
    /// The exact origin the browser reports (`https://app.example.com`, no path). `http://`
    /// only for `localhost`. Default `http://localhost:3000`.
    pub rp_origin: String,
    /// The name authenticators may show. Default `Sigra`.
    pub rp_name: String,
    /// How long a ceremony's challenge lives in the database (also the browser's timeout).
    /// Default 60 s.
    pub challenge_ttl: Duration,
    /// What a counter regression does. Default [`SignCountPolicy::Reauth`].
    pub sign_count_policy: SignCountPolicy,
}

impl Default for PasskeyConfig {
    fn default() -> Self {
        Self {
            rp_id: "localhost".to_owned(),
            rp_origin: "http://localhost:3000".to_owned(),
            rp_name: "Sigra".to_owned(),
            challenge_ttl: secs(60),
            sign_count_policy: SignCountPolicy::Reauth,
        }
    }
}
