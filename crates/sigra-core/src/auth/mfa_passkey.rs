//! A passkey as the second factor of a login: the `mfa_pending` session's user proves they
//! hold one of their passkeys instead of typing a TOTP or backup code.
//!
//! The assertion goes through the same checks as
//! [`Sigra::finish_passkey_verification`] (challenge single use and bound to the user,
//! origin, relying party, user verification, signature, sign-count policy), and the pending
//! session is then replaced exactly as [`Sigra::verify_mfa`] replaces it, in the same
//! transaction. What sigra-core decides here:
//!
//! - Only the pending session's own user's passkeys count: the options list them, and an
//!   assertion by any other credential is refused (`passkey.verify` failure, reason
//!   `not_owner` or `unknown_credential`).
//! - The MFA lock applies: while `mfa.lockout_threshold` wrong codes keep the second factor
//!   locked, a passkey is refused too ([`AuthError::TooManyAttempts`]). A refused passkey
//!   does not count toward the lock (nothing is guessed), and does not end the pending
//!   session: the person may try again or type a code.
//! - Success is audited `mfa.verify` with method `passkey`, next to `passkey.verify`
//!   (purpose `mfa`).

use super::{AuthError, LoggedIn, Sigra};
use crate::audit::RequestMeta;
use crate::passkey::PasskeyChallenge;
use crate::store::{Store, Transaction as _};

use super::mfa::Method;

impl<S: Store> Sigra<S> {
    /// Starts the passkey step of a login waiting for its second factor: options listing the
    /// pending session's user's passkeys, for `navigator.credentials.get()`.
    ///
    /// Errors: [`AuthError::SessionExpired`] when `pending_cookie` is no valid `mfa_pending`
    /// session (log in again); [`AuthError::Passkey`] with
    /// [`PasskeyError::NoPasskeys`](crate::passkey::PasskeyError::NoPasskeys) when the user
    /// has none.
    ///
    /// ```ignore
    /// let challenge = sigra.start_passkey_mfa(&pending_cookie).await?;
    /// Json(json!({ "challenge_id": challenge.challenge_id, "options": challenge.options }))
    /// ```
    pub async fn start_passkey_mfa(
        &self,
        pending_cookie: &str,
    ) -> Result<PasskeyChallenge, AuthError> {
        let pending = self
            .pending_mfa(pending_cookie)
            .await?
            .ok_or(AuthError::SessionExpired)?;
        self.start_passkey_verification(&pending.user.id).await
    }

    /// Finishes a login's MFA step with a passkey: `challenge_id` from
    /// [`start_passkey_mfa`](Self::start_passkey_mfa), `response_json` the browser's
    /// `PublicKeyCredential` as JSON. On success the pending session is replaced by a fresh
    /// one in sudo mode, exactly as after a TOTP code ([`Sigra::verify_mfa`]): remember-me
    /// when `remember_me`, a [`MfaTrustCookie`](super::MfaTrustCookie) when `trust_browser`.
    ///
    /// Errors: [`AuthError::SessionExpired`] (no valid pending session);
    /// [`AuthError::TooManyAttempts`] (MFA locked); [`AuthError::Passkey`] as
    /// [`finish_passkey_verification`](Self::finish_passkey_verification) (a passkey of
    /// another user is [`Rejected`](crate::passkey::PasskeyError::Rejected), a challenge of
    /// another user [`ChallengeInvalid`](crate::passkey::PasskeyError::ChallengeInvalid)).
    ///
    /// ```ignore
    /// let logged_in = sigra
    ///     .finish_passkey_mfa(&cookie, &body.challenge_id, &body.response, remember, trust, &meta)
    ///     .await?;
    /// ```
    pub async fn finish_passkey_mfa(
        &self,
        pending_cookie: &str,
        challenge_id: &str,
        response_json: &str,
        remember_me: bool,
        trust_browser: bool,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let (mut tx, pending) = self.open_pending_mfa(pending_cookie).await?;
        if let Some(retry_after) = self.mfa_lock_remaining(&pending.credential) {
            self.audit_mfa_failure(&mut tx, &pending.user, "locked", meta)
                .await?;
            tx.commit().await?;
            return Err(AuthError::TooManyAttempts { retry_after });
        }
        let user_id = pending.user.id;
        let tx = self
            .verify_passkey_in(tx, &user_id, challenge_id, response_json, "mfa", meta)
            .await?;
        self.complete_pending_mfa(
            tx,
            pending,
            Method::Passkey,
            remember_me,
            trust_browser,
            meta,
        )
        .await
    }
}
