use std::fmt;
use std::future::Future;

use time::OffsetDateTime;

use super::{Id, StoreError};
use crate::token::TokenDigest;

/// What a WebAuthn ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebauthnPurpose {
    /// Registering a new passkey (the user is logged in).
    Registration,
    /// Logging in with a discoverable passkey (the button, or conditional UI autofill).
    Login,
    /// Logging in after the person typed an email address (the options list that account's
    /// passkeys, or fake ones).
    LoginForEmail,
    /// Proving possession of a passkey of a known user (a second factor, or sudo).
    Verification,
}

impl WebauthnPurpose {
    /// The stable string stored in the `purpose` column.
    ///
    /// ```
    /// use sigra_core::store::WebauthnPurpose;
    /// assert_eq!(WebauthnPurpose::LoginForEmail.as_str(), "login_for_email");
    /// assert_eq!(WebauthnPurpose::parse("login_for_email"), Some(WebauthnPurpose::LoginForEmail));
    /// assert_eq!(WebauthnPurpose::parse("nope"), None);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Login => "login",
            Self::LoginForEmail => "login_for_email",
            Self::Verification => "verification",
        }
    }

    /// Parses the stored string.
    ///
    /// ```
    /// assert!(sigra_core::store::WebauthnPurpose::parse("login").is_some());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "registration" => Some(Self::Registration),
            "login" => Some(Self::Login),
            "login_for_email" => Some(Self::LoginForEmail),
            "verification" => Some(Self::Verification),
            _ => None,
        }
    }
}

/// A row of `webauthn_challenges`: the server side of one WebAuthn ceremony, between its
/// `start_*` and its `finish_*`. Kept in the database (not in process memory) so any app
/// instance can finish a ceremony another one started.
///
/// The browser holds a random challenge id; the row is keyed by its SHA-256 `digest`.
/// `state` is webauthn-rs's serialised ceremony state (it contains the challenge): `Debug`
/// redacts it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebauthnChallengeRecord {
    /// SHA-256 of the challenge id handed to the browser (unique).
    pub digest: TokenDigest,
    /// What the ceremony is for.
    pub purpose: WebauthnPurpose,
    /// The user it is bound to, if any (none for discoverable logins).
    pub user_id: Option<Id>,
    /// The serialised webauthn-rs state (JSON text).
    pub state: String,
    /// When it stops being usable.
    pub expires_at: OffsetDateTime,
}

impl WebauthnChallengeRecord {
    /// Builds a challenge row.
    ///
    /// ```
    /// use sigra_core::store::{WebauthnChallengeRecord, WebauthnPurpose};
    /// use sigra_core::token::TokenDigest;
    /// let c = WebauthnChallengeRecord::new(TokenDigest::sha256(b"id"), WebauthnPurpose::Login, None,
    ///     "{\"challenge\":\"secret\"}".into(), time::OffsetDateTime::UNIX_EPOCH);
    /// assert!(!format!("{c:?}").contains("secret"));
    /// ```
    pub fn new(
        digest: TokenDigest,
        purpose: WebauthnPurpose,
        user_id: Option<Id>,
        state: String,
        expires_at: OffsetDateTime,
    ) -> Self {
        Self {
            digest,
            purpose,
            user_id,
            state,
            expires_at,
        }
    }
}

impl fmt::Debug for WebauthnChallengeRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebauthnChallengeRecord")
            .field("digest", &self.digest)
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("state", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Operations on the `webauthn_challenges` table.
///
/// Contract:
/// - `digest` is unique; a duplicate insert fails with
///   `Conflict { what: "webauthn_challenges.digest" }`.
/// - `take_webauthn_challenge` is **single-use**: one `DELETE … WHERE digest = $1 RETURNING …`.
///   Of concurrent callers holding the same id exactly one gets the row. The row is deleted
///   whether or not it has expired, and returned only when `expires_at > now`.
/// - `prune_webauthn_challenges` deletes the rows with `expires_at <= now` and counts them.
pub trait WebauthnChallengeStore {
    /// Inserts a challenge.
    fn insert_webauthn_challenge(
        &mut self,
        challenge: &WebauthnChallengeRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes the challenge with this digest and returns it if it had not expired at `now`.
    fn take_webauthn_challenge(
        &mut self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<WebauthnChallengeRecord>, StoreError>> + Send;

    /// Deletes every challenge that expired at or before `now`; returns how many.
    fn prune_webauthn_challenges(
        &mut self,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
