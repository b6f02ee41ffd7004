//! Passkey flows: register (sudo), log in (discoverable button and autofill, or after an
//! email address), verify possession (a building block for MFA), list, rename and delete
//! (sudo). See [`crate::passkey`] for what webauthn-rs does and what sigra-core adds.
//!
//! Each `start_*` stores the ceremony state in `webauthn_challenges` and returns a
//! [`PasskeyChallenge`]; each `finish_*` takes that row back with one `DELETE … RETURNING`
//! (single use, also when the attempt fails), verifies through webauthn-rs, and commits its
//! writes with their audit rows in one transaction.

use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, WebauthnError,
};

use super::sessions::Authenticated;
use super::{AuthError, LoggedIn, Sigra, normalize_email};
use crate::audit::{AuditAction, RequestMeta};
use crate::config::{SignCountPolicy, UnconfirmedPolicy};
use crate::passkey::{PasskeyChallenge, PasskeyError, RelyingParty, internal};
use crate::store::{
    AuditOutcome, AuditStore as _, Id, NewPasskey, PasskeyRecord, PasskeyStore, SessionKind, Store,
    Transaction as _, UserStore as _, WebauthnChallengeRecord, WebauthnChallengeStore as _,
    WebauthnPurpose,
};
use crate::token::Token;

/// The largest browser response read, in bytes (a real one is a few KiB).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The longest passkey nickname, in characters.
const MAX_NICKNAME_CHARS: usize = 64;

/// Why an assertion was refused, for the failure audit row.
struct Refusal {
    error: PasskeyError,
    reason: &'static str,
    user: Option<Id>,
}

impl Refusal {
    fn new(error: PasskeyError, reason: &'static str, user: Option<Id>) -> Self {
        Self {
            error,
            reason,
            user,
        }
    }
}

/// A verified assertion: the passkey used (already updated in the transaction).
struct Assertion {
    record: PasskeyRecord,
    /// The counter went backwards and the policy let it through.
    sign_count_warning: bool,
}

fn parse_response<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, PasskeyError> {
    if json.len() > MAX_RESPONSE_BYTES {
        return Err(PasskeyError::MalformedResponse);
    }
    serde_json::from_str(json).map_err(|_| PasskeyError::MalformedResponse)
}

fn parse_passkey(record: &PasskeyRecord) -> Result<Passkey, PasskeyError> {
    serde_json::from_str(&record.passkey)
        .map_err(|e| internal(format!("stored passkey {} cannot be read: {e}", record.id)))
}

fn parse_state<T: serde::de::DeserializeOwned>(
    challenge: &WebauthnChallengeRecord,
) -> Result<T, PasskeyError> {
    serde_json::from_str(&challenge.state)
        .map_err(|e| internal(format!("stored ceremony state cannot be read: {e}")))
}

/// Trims a nickname and checks it: 1 to 64 characters, no control characters.
fn check_nickname(nickname: &str) -> Result<String, PasskeyError> {
    let nickname = nickname.trim();
    let chars = nickname.chars().count();
    if chars == 0 || chars > MAX_NICKNAME_CHARS || nickname.chars().any(char::is_control) {
        return Err(PasskeyError::InvalidNickname);
    }
    Ok(nickname.to_owned())
}

/// Asks the authenticator for a discoverable credential (a resident key) where it can make
/// one. The login page finds passkeys without an email (the button and autofill send no
/// credential list), and only a discoverable credential answers such a request.
/// webauthn-rs's passkey registration asks for `residentKey: "discouraged"`, with which
/// security keys (and Chromium's virtual authenticator) make a credential the login page can
/// never use; platform passkeys are discoverable either way. `"preferred"` (not `"required"`)
/// keeps authenticators without storage usable: their credential still works as a second
/// factor and after the email (its id is in the options then), and the finish does not
/// depend on it.
fn discoverable(mut options: serde_json::Value) -> serde_json::Value {
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(serde_json::Value::as_object_mut)
    {
        selection.insert("residentKey".to_owned(), "preferred".into());
        selection.insert("requireResidentKey".to_owned(), false.into());
    }
    options
}

fn options_json(options: &impl serde::Serialize) -> Result<serde_json::Value, PasskeyError> {
    serde_json::to_value(options).map_err(internal)
}

impl<S: Store> Sigra<S> {
    /// The relying party, or [`PasskeyError::NotInstalled`] when the app's store is
    /// [`WithoutPasskeys`](crate::store::WithoutPasskeys).
    fn relying_party(&self) -> Result<&RelyingParty, PasskeyError> {
        if <S::Tx as PasskeyStore>::INSTALLED {
            Ok(&self.inner.passkeys)
        } else {
            Err(PasskeyError::NotInstalled)
        }
    }

    /// Stores a ceremony's state under a fresh random id and returns the id for the browser.
    async fn store_challenge(
        &self,
        tx: &mut S::Tx,
        purpose: WebauthnPurpose,
        user_id: Option<Id>,
        state: String,
    ) -> Result<String, AuthError> {
        let token = Token::generate()?;
        let expires_at = self.now() + super::ttl(self.config().passkey().challenge_ttl);
        let record =
            WebauthnChallengeRecord::new(token.digest(), purpose, user_id, state, expires_at);
        tx.insert_webauthn_challenge(&record).await?;
        Ok(token.to_base64url())
    }

    /// Starts a ceremony in its own transaction.
    async fn start_ceremony(
        &self,
        purpose: WebauthnPurpose,
        user_id: Option<Id>,
        state: String,
        options: serde_json::Value,
    ) -> Result<PasskeyChallenge, AuthError> {
        let mut tx = self.store().begin().await?;
        let id = self
            .store_challenge(&mut tx, purpose, user_id, state)
            .await?;
        tx.commit().await?;
        Ok(PasskeyChallenge::new(id, options))
    }

    /// Takes (deletes) the challenge behind `challenge_id`; it must be unexpired and for one
    /// of `purposes`. A challenge of another purpose is used up all the same.
    async fn take_challenge(
        &self,
        tx: &mut S::Tx,
        challenge_id: &str,
        purposes: &[WebauthnPurpose],
    ) -> Result<Option<WebauthnChallengeRecord>, AuthError> {
        self.relying_party()?;
        let Ok(token) = Token::parse(challenge_id) else {
            return Ok(None);
        };
        let now = self.now();
        Ok(tx
            .take_webauthn_challenge(&token.digest(), now)
            .await?
            .filter(|c| c.expires_at > now && purposes.contains(&c.purpose)))
    }

    /// Writes the failure audit row, commits (the challenge stays used up) and returns the
    /// error.
    async fn refuse(
        &self,
        mut tx: S::Tx,
        action: AuditAction,
        refusal: Refusal,
        metadata: serde_json::Value,
        meta: &RequestMeta,
    ) -> AuthError {
        let mut metadata = metadata;
        metadata["reason"] = serde_json::Value::from(refusal.reason);
        let event = self.audit(
            action,
            AuditOutcome::Failure,
            meta,
            refusal.user,
            refusal.user,
            metadata,
        );
        let written = async {
            tx.insert_audit_event(&event).await?;
            tx.commit().await
        }
        .await;
        match written {
            Ok(()) => refusal.error.into(),
            Err(err) => err.into(),
        }
    }

    /// Starts registering a passkey for the logged-in user: requires sudo
    /// ([`AuthError::SudoRequired`]), and excludes the user's existing passkeys so an
    /// authenticator is not registered twice. Send [`PasskeyChallenge::options`] to the
    /// browser for `navigator.credentials.create()`.
    ///
    /// ```ignore
    /// let challenge = sigra.start_passkey_registration(&auth, &meta).await?;
    /// Json(json!({ "challenge_id": challenge.challenge_id, "options": challenge.options }))
    /// ```
    pub async fn start_passkey_registration(
        &self,
        auth: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<PasskeyChallenge, AuthError> {
        if !self.in_sudo(auth) {
            return Err(AuthError::SudoRequired);
        }
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let mut exclude = Vec::new();
        for record in tx.list_user_passkeys(&auth.user.id).await? {
            exclude.push(parse_passkey(&record)?.cred_id().clone());
        }
        let (options, state) = self
            .relying_party()?
            .webauthn()
            .start_passkey_registration(
                RelyingParty::user_handle(&auth.user.id),
                &auth.user.email,
                &auth.user.email,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(internal)?;
        let state = serde_json::to_string(&state).map_err(internal)?;
        let id = self
            .store_challenge(
                &mut tx,
                WebauthnPurpose::Registration,
                Some(auth.user.id),
                state,
            )
            .await?;
        tx.commit().await?;
        tracing::debug!(target: "sigra::passkey", user = %auth.user.id, ip = meta.ip_string(), "passkey registration started");
        Ok(PasskeyChallenge::new(
            id,
            discoverable(options_json(&options)?),
        ))
    }

    /// Finishes a registration: `response_json` is the browser's `PublicKeyCredential` as
    /// JSON, `nickname` the name the user gives the passkey (1–64 characters). Requires sudo.
    /// Writes the passkey and `passkey.register` in one transaction.
    ///
    /// Errors: [`AuthError::SudoRequired`]; [`AuthError::Passkey`] with
    /// [`PasskeyError::InvalidNickname`], [`MalformedResponse`](PasskeyError::MalformedResponse),
    /// [`ChallengeInvalid`](PasskeyError::ChallengeInvalid) (unknown, expired or used),
    /// [`Rejected`](PasskeyError::Rejected) (did not verify) or
    /// [`AlreadyRegistered`](PasskeyError::AlreadyRegistered).
    ///
    /// ```ignore
    /// let passkey = sigra
    ///     .finish_passkey_registration(&auth, &form.challenge_id, &form.response, &form.nickname, &meta)
    ///     .await?;
    /// ```
    pub async fn finish_passkey_registration(
        &self,
        auth: &Authenticated,
        challenge_id: &str,
        response_json: &str,
        nickname: &str,
        meta: &RequestMeta,
    ) -> Result<PasskeyRecord, AuthError> {
        if !self.in_sudo(auth) {
            return Err(AuthError::SudoRequired);
        }
        let nickname = check_nickname(nickname)?;
        let response: RegisterPublicKeyCredential = parse_response(response_json)?;
        let user = auth.user.id;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let challenge = self
            .take_challenge(&mut tx, challenge_id, &[WebauthnPurpose::Registration])
            .await?;
        let challenge = match challenge {
            Some(c) if c.user_id == Some(user) => c,
            _ => {
                let refusal = Refusal::new(
                    PasskeyError::ChallengeInvalid,
                    "challenge_invalid",
                    Some(user),
                );
                return Err(self
                    .refuse(
                        tx,
                        AuditAction::PasskeyRegister,
                        refusal,
                        serde_json::json!({}),
                        meta,
                    )
                    .await);
            }
        };
        let state: PasskeyRegistration = parse_state(&challenge)?;
        let passkey = match self
            .relying_party()?
            .webauthn()
            .finish_passkey_registration(&response, &state)
        {
            Ok(passkey) => passkey,
            Err(err) => {
                tracing::info!(target: "sigra::passkey", user = %user, error = %err, "passkey registration did not verify");
                let refusal =
                    Refusal::new(PasskeyError::Rejected, "verification_failed", Some(user));
                return Err(self
                    .refuse(
                        tx,
                        AuditAction::PasskeyRegister,
                        refusal,
                        serde_json::json!({}),
                        meta,
                    )
                    .await);
            }
        };
        let mut new = NewPasskey::new(
            self.store().new_id(),
            user,
            passkey.cred_id().to_vec(),
            serde_json::to_string(&passkey).map_err(internal)?,
            nickname,
            self.now(),
        );
        new.transports = match &response.response.transports {
            Some(transports) => Some(serde_json::to_string(transports).map_err(internal)?),
            None => None,
        };
        let record = match tx.insert_passkey(&new).await {
            Ok(record) => record,
            Err(crate::store::StoreError::Conflict { .. }) => {
                let refusal = Refusal::new(
                    PasskeyError::AlreadyRegistered,
                    "already_registered",
                    Some(user),
                );
                return Err(self
                    .refuse(
                        tx,
                        AuditAction::PasskeyRegister,
                        refusal,
                        serde_json::json!({}),
                        meta,
                    )
                    .await);
            }
            Err(err) => return Err(err.into()),
        };
        let event = self.audit(
            AuditAction::PasskeyRegister,
            AuditOutcome::Success,
            meta,
            Some(user),
            Some(user),
            serde_json::json!({ "passkey_id": record.id.to_string(), "nickname": record.nickname }),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        self.forget_user(&user);
        Ok(record)
    }

    /// Starts a passkey login without a username: for the "Sign in with a passkey" button
    /// and for conditional UI (autofill on the email field). The options ask for
    /// `mediation: "conditional"`; the button uses [`PasskeyChallenge::modal_options`].
    ///
    /// ```ignore
    /// let challenge = sigra.start_passkey_login(&meta).await?;
    /// ```
    pub async fn start_passkey_login(
        &self,
        meta: &RequestMeta,
    ) -> Result<PasskeyChallenge, AuthError> {
        let (options, state) = self
            .relying_party()?
            .webauthn()
            .start_discoverable_authentication()
            .map_err(internal)?;
        let state =
            serde_json::to_string::<DiscoverableAuthentication>(&state).map_err(internal)?;
        tracing::debug!(target: "sigra::passkey", ip = meta.ip_string(), "passkey login started");
        self.start_ceremony(WebauthnPurpose::Login, None, state, options_json(&options)?)
            .await
    }

    /// Starts a passkey login after the person typed an email address: the options list the
    /// account's passkeys. An address without passkeys (unknown, or an account that has none)
    /// gets fake options of the same shape, the same every time
    /// ([`RelyingParty::fake_request_options`]): the answer never tells whether an account
    /// exists. Finish with [`finish_passkey_login`](Self::finish_passkey_login).
    ///
    /// ```ignore
    /// let challenge = sigra.start_passkey_login_for_email(&form.email, &meta).await?;
    /// ```
    pub async fn start_passkey_login_for_email(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<PasskeyChallenge, AuthError> {
        let mut passkeys = Vec::new();
        let mut user_id = None;
        if let Ok(email) = normalize_email(email) {
            let mut tx = self.store().begin_read().await?;
            if let Some(user) = tx.user_by_email(&email).await? {
                for record in tx.list_user_passkeys(&user.id).await? {
                    passkeys.push(parse_passkey(&record)?);
                }
                user_id = Some(user.id);
            }
        }
        tracing::debug!(target: "sigra::passkey", ip = meta.ip_string(), "passkey login for an email started");
        if passkeys.is_empty() {
            let options = self.relying_party()?.fake_request_options(email)?;
            // A row like a real one, bound to no user: finishing it is always refused.
            return self
                .start_ceremony(
                    WebauthnPurpose::LoginForEmail,
                    None,
                    "null".to_owned(),
                    options,
                )
                .await;
        }
        let (options, state) = self
            .relying_party()?
            .webauthn()
            .start_passkey_authentication(&passkeys)
            .map_err(internal)?;
        let state = serde_json::to_string::<PasskeyAuthentication>(&state).map_err(internal)?;
        self.start_ceremony(
            WebauthnPurpose::LoginForEmail,
            user_id,
            state,
            options_json(&options)?,
        )
        .await
    }

    /// Finishes a passkey login (either start): verifies the assertion, applies the
    /// sign-count policy, and creates a session through the same path as every login (new
    /// token, suspicious-IP check, session cap, `session.create`), in sudo mode: a passkey
    /// with user verification is a fresh, multi-factor authentication. Audits
    /// `passkey.verify` (purpose `login`).
    ///
    /// Errors: [`AuthError::Passkey`] ([`MalformedResponse`](PasskeyError::MalformedResponse),
    /// [`ChallengeInvalid`](PasskeyError::ChallengeInvalid), [`Rejected`](PasskeyError::Rejected),
    /// [`SignCountRegression`](PasskeyError::SignCountRegression),
    /// [`Revoked`](PasskeyError::Revoked)); [`AuthError::Unconfirmed`] when the app blocks
    /// unconfirmed accounts.
    ///
    /// ```ignore
    /// let logged_in = sigra
    ///     .finish_passkey_login(&form.challenge_id, &form.response, form.remember_me, &meta)
    ///     .await?;
    /// set_cookie(logged_in.token.cookie_value());
    /// ```
    pub async fn finish_passkey_login(
        &self,
        challenge_id: &str,
        response_json: &str,
        remember_me: bool,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let response: PublicKeyCredential = parse_response(response_json)?;
        let purpose = serde_json::json!({ "purpose": "login" });
        let mut tx = self.store().begin().await?;
        let challenge = self
            .take_challenge(
                &mut tx,
                challenge_id,
                &[WebauthnPurpose::Login, WebauthnPurpose::LoginForEmail],
            )
            .await?;
        let Some(challenge) = challenge else {
            let refusal = Refusal::new(PasskeyError::ChallengeInvalid, "challenge_invalid", None);
            return Err(self
                .refuse(tx, AuditAction::PasskeyVerify, refusal, purpose, meta)
                .await);
        };
        let assertion = match self
            .check_assertion(&mut tx, &challenge, &response, meta)
            .await
        {
            Ok(assertion) => assertion,
            Err(Ok(refusal)) => {
                return Err(self
                    .refuse(tx, AuditAction::PasskeyVerify, refusal, purpose, meta)
                    .await);
            }
            Err(Err(err)) => return Err(err),
        };
        let user_id = assertion.record.user_id;
        let Some(user) = tx.user_by_id(&user_id).await? else {
            let refusal = Refusal::new(PasskeyError::Rejected, "no_user", None);
            return Err(self
                .refuse(tx, AuditAction::PasskeyVerify, refusal, purpose, meta)
                .await);
        };
        if user.confirmed_at.is_none()
            && self.config().account().unconfirmed == UnconfirmedPolicy::Block
        {
            drop(tx);
            return Err(AuthError::Unconfirmed);
        }
        let kind = if remember_me {
            SessionKind::RememberMe
        } else {
            SessionKind::Standard
        };
        let event = self.audit(
            AuditAction::PasskeyVerify,
            AuditOutcome::Success,
            meta,
            Some(user_id),
            Some(user_id),
            serde_json::json!({
                "purpose": "login",
                "passkey_id": assertion.record.id.to_string(),
                "remember_me": remember_me,
                "sign_count_regression": assertion.sign_count_warning,
            }),
        );
        tx.insert_audit_event(&event).await?;
        // A passkey with user verification is already two factors (the device and its PIN or
        // biometric): no TOTP step after it, as with GitHub's and Google's passkeys.
        self.check_new_ip(&mut tx, &user, meta).await?;
        let (session, token) = self
            .create_session(&mut tx, &user, kind, meta, true)
            .await?;
        tx.commit().await?;
        self.forget_user(&user_id);
        self.notices_committed();
        Ok(LoggedIn::plain(user, session, token))
    }

    /// Starts a proof that `user_id` holds one of their passkeys: the building block for a
    /// passkey as second factor (the MFA flow calls it for the `mfa_pending` session's user).
    ///
    /// Errors: [`PasskeyError::NoPasskeys`] when the user has none.
    ///
    /// ```ignore
    /// let challenge = sigra.start_passkey_verification(&pending.user.id).await?;
    /// ```
    pub async fn start_passkey_verification(
        &self,
        user_id: &Id,
    ) -> Result<PasskeyChallenge, AuthError> {
        let mut passkeys = Vec::new();
        {
            let mut tx = self.store().begin_read().await?;
            for record in tx.list_user_passkeys(user_id).await? {
                passkeys.push(parse_passkey(&record)?);
            }
        }
        if passkeys.is_empty() {
            return Err(PasskeyError::NoPasskeys.into());
        }
        let (options, state) = self
            .relying_party()?
            .webauthn()
            .start_passkey_authentication(&passkeys)
            .map_err(internal)?;
        let state = serde_json::to_string::<PasskeyAuthentication>(&state).map_err(internal)?;
        self.start_ceremony(
            WebauthnPurpose::Verification,
            Some(*user_id),
            state,
            options_json(&options)?,
        )
        .await
    }

    /// Finishes a verification started by
    /// [`start_passkey_verification`](Self::start_passkey_verification) for the same user:
    /// `Ok(())` when the assertion verified (the passkey's counter and last use are updated
    /// and `passkey.verify`, purpose `verification`, is written in one transaction).
    ///
    /// Errors: as [`finish_passkey_login`](Self::finish_passkey_login); a challenge started
    /// for another user is [`PasskeyError::ChallengeInvalid`].
    ///
    /// ```ignore
    /// sigra.finish_passkey_verification(&user_id, &form.challenge_id, &form.response, &meta).await?;
    /// ```
    pub async fn finish_passkey_verification(
        &self,
        user_id: &Id,
        challenge_id: &str,
        response_json: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let tx = self.store().begin().await?;
        let tx = self
            .verify_passkey_in(
                tx,
                user_id,
                challenge_id,
                response_json,
                "verification",
                meta,
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The checks of [`finish_passkey_verification`](Self::finish_passkey_verification) in
    /// `tx`, which the caller commits with its own writes: takes the challenge (purpose
    /// verification, started for `user_id`), verifies the assertion, updates the passkey and
    /// writes `passkey.verify` with `purpose`. A refused assertion is audited and committed
    /// (the challenge stays used up) and returned as the error.
    pub(super) async fn verify_passkey_in(
        &self,
        mut tx: S::Tx,
        user_id: &Id,
        challenge_id: &str,
        response_json: &str,
        purpose: &'static str,
        meta: &RequestMeta,
    ) -> Result<S::Tx, AuthError> {
        let response: PublicKeyCredential = parse_response(response_json)?;
        let metadata = serde_json::json!({ "purpose": purpose });
        let challenge = self
            .take_challenge(&mut tx, challenge_id, &[WebauthnPurpose::Verification])
            .await?;
        let challenge = match challenge {
            Some(c) if c.user_id.as_ref() == Some(user_id) => c,
            _ => {
                let refusal = Refusal::new(
                    PasskeyError::ChallengeInvalid,
                    "challenge_invalid",
                    Some(*user_id),
                );
                return Err(self
                    .refuse(tx, AuditAction::PasskeyVerify, refusal, metadata, meta)
                    .await);
            }
        };
        let assertion = match self
            .check_assertion(&mut tx, &challenge, &response, meta)
            .await
        {
            Ok(assertion) => assertion,
            Err(Ok(refusal)) => {
                return Err(self
                    .refuse(tx, AuditAction::PasskeyVerify, refusal, metadata, meta)
                    .await);
            }
            Err(Err(err)) => return Err(err),
        };
        let event = self.audit(
            AuditAction::PasskeyVerify,
            AuditOutcome::Success,
            meta,
            Some(*user_id),
            Some(*user_id),
            serde_json::json!({
                "purpose": purpose,
                "passkey_id": assertion.record.id.to_string(),
                "sign_count_regression": assertion.sign_count_warning,
            }),
        );
        tx.insert_audit_event(&event).await?;
        Ok(tx)
    }

    /// Verifies an assertion against the challenge's state and the stored passkey, applies
    /// the sign-count policy and updates the passkey in `tx`. `Err(Ok(refusal))` is a refused
    /// assertion (the caller audits and commits), `Err(Err(_))` a failure.
    async fn check_assertion(
        &self,
        tx: &mut S::Tx,
        challenge: &WebauthnChallengeRecord,
        response: &PublicKeyCredential,
        meta: &RequestMeta,
    ) -> Result<Assertion, Result<Refusal, AuthError>> {
        let refused = |error, reason, user| Err(Ok(Refusal::new(error, reason, user)));
        let failed = |err: PasskeyError| Err(Err(AuthError::from(err)));
        let Some(record) = tx
            .passkey_by_credential_id(response.get_credential_id())
            .await
            .map_err(|e| Err(e.into()))?
        else {
            return refused(
                PasskeyError::Rejected,
                "unknown_credential",
                challenge.user_id,
            );
        };
        let owner = record.user_id;
        let passkey = match parse_passkey(&record) {
            Ok(passkey) => passkey,
            Err(err) => return failed(err),
        };
        let webauthn = self.relying_party().map_err(|e| Err(e.into()))?.webauthn();
        let result = match challenge.purpose {
            WebauthnPurpose::Login => {
                // The authenticator names the account (user handle); it must be the owner of
                // the credential it used.
                let handle = RelyingParty::user_handle(&owner);
                if response.get_user_unique_id() != Some(handle.as_bytes().as_slice()) {
                    return refused(PasskeyError::Rejected, "user_handle_mismatch", Some(owner));
                }
                let state: DiscoverableAuthentication = match parse_state(challenge) {
                    Ok(state) => state,
                    Err(err) => return failed(err),
                };
                webauthn.finish_discoverable_authentication_v2(response, state, &passkey)
            }
            WebauthnPurpose::LoginForEmail | WebauthnPurpose::Verification => {
                if challenge.user_id != Some(owner) {
                    return refused(PasskeyError::Rejected, "not_owner", challenge.user_id);
                }
                let state: PasskeyAuthentication = match parse_state(challenge) {
                    Ok(state) => state,
                    Err(err) => return failed(err),
                };
                webauthn.finish_passkey_authentication(response, &state)
            }
            WebauthnPurpose::Registration => {
                return refused(
                    PasskeyError::ChallengeInvalid,
                    "challenge_invalid",
                    Some(owner),
                );
            }
        };
        let now = self.now();
        match result {
            Ok(result) => {
                let mut passkey = passkey;
                passkey.update_credential(&result);
                let json = serde_json::to_string(&passkey).map_err(|e| Err(internal(e).into()))?;
                let count = i64::from(result.counter()).max(record.sign_count);
                tx.update_passkey_after_use(&record.id, &json, count, now)
                    .await
                    .map_err(|e| Err(e.into()))?;
                Ok(Assertion {
                    record,
                    sign_count_warning: false,
                })
            }
            // webauthn-rs returns this only after the origin, relying party, challenge, user
            // verification and signature all checked out: the assertion is genuine, but the
            // counter did not increase.
            Err(WebauthnError::CredentialPossibleCompromise) => {
                self.sign_count_regressed(tx, record, meta, now).await
            }
            Err(err) => {
                tracing::info!(target: "sigra::passkey", user = %owner, error = %err, "passkey assertion did not verify");
                refused(PasskeyError::Rejected, "verification_failed", Some(owner))
            }
        }
    }

    /// Applies [`SignCountPolicy`] to a genuine assertion whose counter did not increase.
    async fn sign_count_regressed(
        &self,
        tx: &mut S::Tx,
        record: PasskeyRecord,
        meta: &RequestMeta,
        now: time::OffsetDateTime,
    ) -> Result<Assertion, Result<Refusal, AuthError>> {
        let owner = record.user_id;
        let policy = self.config().passkey().sign_count_policy;
        tracing::warn!(target: "sigra::passkey", user = %owner, passkey = %record.id, policy = policy.as_str(), "passkey signature counter did not increase: the credential may have been copied");
        match policy {
            SignCountPolicy::Warn => {
                tx.update_passkey_after_use(&record.id, &record.passkey, record.sign_count, now)
                    .await
                    .map_err(|e| Err(e.into()))?;
                Ok(Assertion {
                    record,
                    sign_count_warning: true,
                })
            }
            SignCountPolicy::Reauth => Err(Ok(Refusal::new(
                PasskeyError::SignCountRegression,
                "sign_count_regression",
                Some(owner),
            ))),
            SignCountPolicy::Revoke => {
                tx.delete_passkey(&owner, &record.id)
                    .await
                    .map_err(|e| Err(e.into()))?;
                let event = self.audit(
                    AuditAction::PasskeyDelete,
                    AuditOutcome::Success,
                    meta,
                    None,
                    Some(owner),
                    serde_json::json!({
                        "passkey_id": record.id.to_string(),
                        "reason": "sign_count_regression",
                    }),
                );
                tx.insert_audit_event(&event)
                    .await
                    .map_err(|e| Err(e.into()))?;
                Err(Ok(Refusal::new(
                    PasskeyError::Revoked,
                    "sign_count_regression",
                    Some(owner),
                )))
            }
        }
    }

    /// The user's passkeys, oldest first, with their names, creation and last-use times.
    ///
    /// ```ignore
    /// for passkey in sigra.list_passkeys(&auth.user.id).await? { /* nickname, last_used_at */ }
    /// ```
    pub async fn list_passkeys(&self, user_id: &Id) -> Result<Vec<PasskeyRecord>, AuthError> {
        let mut tx = self.store().begin_read().await?;
        Ok(tx.list_user_passkeys(user_id).await?)
    }

    /// Renames one of the user's passkeys (sudo required); returns whether it existed. An id
    /// of another user's passkey renames nothing.
    ///
    /// ```ignore
    /// sigra.rename_passkey(&auth, &passkey_id, "Work laptop", &meta).await?;
    /// ```
    pub async fn rename_passkey(
        &self,
        auth: &Authenticated,
        passkey_id: &Id,
        nickname: &str,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        if !self.in_sudo(auth) {
            return Err(AuthError::SudoRequired);
        }
        let nickname = check_nickname(nickname)?;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let renamed = tx
            .rename_passkey(&auth.user.id, passkey_id, &nickname)
            .await?;
        if renamed {
            let event = self.audit(
                AuditAction::PasskeyRename,
                AuditOutcome::Success,
                meta,
                Some(auth.user.id),
                Some(auth.user.id),
                serde_json::json!({ "passkey_id": passkey_id.to_string(), "nickname": nickname }),
            );
            tx.insert_audit_event(&event).await?;
        }
        tx.commit().await?;
        Ok(renamed)
    }

    /// Deletes one of the user's passkeys (sudo required); returns whether it existed. An id
    /// of another user's passkey deletes nothing.
    ///
    /// ```ignore
    /// sigra.delete_passkey(&auth, &passkey_id, &meta).await?;
    /// ```
    pub async fn delete_passkey(
        &self,
        auth: &Authenticated,
        passkey_id: &Id,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        if !self.in_sudo(auth) {
            return Err(AuthError::SudoRequired);
        }
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let deleted = tx.delete_passkey(&auth.user.id, passkey_id).await?;
        if deleted {
            let event = self.audit(
                AuditAction::PasskeyDelete,
                AuditOutcome::Success,
                meta,
                Some(auth.user.id),
                Some(auth.user.id),
                serde_json::json!({ "passkey_id": passkey_id.to_string() }),
            );
            tx.insert_audit_event(&event).await?;
        }
        tx.commit().await?;
        self.forget_user(&auth.user.id);
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_trimmed_and_bounded() {
        assert_eq!(check_nickname("  Laptop ").unwrap(), "Laptop");
        assert!(check_nickname("   ").is_err());
        assert!(check_nickname(&"x".repeat(65)).is_err());
        assert!(check_nickname(&"ż".repeat(64)).is_ok());
        assert!(check_nickname("a\u{0}b").is_err());
    }

    #[test]
    fn malformed_responses_are_client_errors() {
        for bad in [
            "",
            "{",
            "null",
            "{\"id\": 1}",
            &"x".repeat(MAX_RESPONSE_BYTES + 1),
        ] {
            let err = parse_response::<PublicKeyCredential>(bad).unwrap_err();
            assert!(matches!(err, PasskeyError::MalformedResponse));
            assert!(err.is_client_error());
        }
    }
}
