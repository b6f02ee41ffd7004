//! Registration and email confirmation (link or 6-digit code).
//!
//! # Who proves the mailbox wins
//!
//! Anyone can register any address, log in while it is unconfirmed (allowed by default) and
//! wait. When the address's owner later confirms it (with the link or code mailed to them),
//! the squatter must lose everything: confirming **revokes every session** of the account, and
//! the password set before confirmation **survives only if the confirmer shows they chose
//! it** — by confirming in the browser that registered (it holds a short-lived signed
//! [`RegistrationProof`], bound to the address and the exact stored password hash) or by
//! typing the password on the confirmation page ([`ConfirmEvidence::password`]). Otherwise
//! the account is confirmed **without a password**; the owner is logged in (in sudo mode) and
//! sets one. The normal path — register, confirm in the same browser, log in with that
//! password — is unchanged. A magic-link login into an unconfirmed account confirms it the same
//! way and always clears the password (a link proves the mailbox, not the password).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::audit::{AuditAction, RequestMeta};
use crate::password::{Password, Verification};
use crate::rate_limit::Decision;
use crate::store::{
    AuditOutcome, AuditStore as _, EmailTokenContext, EmailTokenStore as _, NewEmailToken, NewUser,
    Store, StoreError, Transaction, UserRecord, UserStore as _,
};
use crate::token::{CodeKey, NumericCode, Token};

use super::{AuthError, AuthMail, LoggedIn, Sigra, internal, normalize_email};

/// What [`Sigra::register`] gives the registering browser: a signed proof that it chose the
/// password now stored for the address, valid as long as the confirmation link
/// (`tokens.confirm_ttl`). Keep it in a short-lived cookie
/// ([`registration_cookie`](crate::web::registration_cookie)) and pass it back through
/// [`ConfirmEvidence::registration`] when the same browser confirms: the password is kept.
///
/// Every registration gets one, whether or not the address was free (it then proves nothing),
/// so it reveals nothing about the address. `Debug` does not show it.
///
/// ```ignore
/// let proof = sigra.register(&form.email, &password, &meta).await?;
/// (registration_cookie(&sigra, &proof), Redirect::to("/users/confirm")).into_response()
/// ```
#[derive(Clone)]
pub struct RegistrationProof(String);

impl RegistrationProof {
    /// The value to store in the cookie.
    ///
    /// ```ignore
    /// let value: &str = proof.as_str();
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RegistrationProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistrationProof([REDACTED])")
    }
}

/// What the person confirming an address shows about the password set at registration; see
/// the [module docs](self). Nothing ([`ConfirmEvidence::none`]) confirms the account and
/// removes a password set before confirmation (the owner then sets one).
///
/// ```
/// use sigra_core::auth::ConfirmEvidence;
/// let evidence = ConfirmEvidence::none()
///     .registration(Some("v1.signed-proof".into()))
///     .password(Some("correct horse battery staple".into()));
/// assert!(!format!("{evidence:?}").contains("v1.signed-proof"));
/// assert!(!format!("{evidence:?}").contains("horse"));
/// ```
#[derive(Default)]
pub struct ConfirmEvidence {
    registration: Option<String>,
    password: Option<Password>,
}

impl ConfirmEvidence {
    /// No evidence: the password set before confirmation (if any) is removed.
    ///
    /// ```
    /// let _ = sigra_core::auth::ConfirmEvidence::none();
    /// ```
    pub fn none() -> Self {
        Self::default()
    }

    /// The [`RegistrationProof`] the browser kept, if any (the cookie's value).
    ///
    /// ```
    /// let _ = sigra_core::auth::ConfirmEvidence::none().registration(None);
    /// ```
    pub fn registration(mut self, value: Option<String>) -> Self {
        self.registration = value.filter(|v| !v.is_empty());
        self
    }

    /// The password the confirmer typed, if any (an empty one counts as none). A wrong one
    /// refuses the confirmation with [`AuthError::InvalidCredentials`] and leaves the link
    /// or code usable.
    ///
    /// ```
    /// let _ = sigra_core::auth::ConfirmEvidence::none().password(Some("hunter2 hunter2".into()));
    /// ```
    pub fn password(mut self, password: Option<Password>) -> Self {
        self.password = password.filter(|p| p.len_bytes() > 0);
        self
    }
}

impl std::fmt::Debug for ConfirmEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmEvidence")
            .field(
                "registration",
                &self.registration.as_ref().map(|_| "[REDACTED]"),
            )
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

/// The subject a registration proof is signed for: a digest of the address and the exact
/// stored hash, so a proof made for another password (a second registration of a taken
/// address) or another address never matches.
fn registration_subject(email: &str, phc: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"sigra-registration\0");
    digest.update(email.to_ascii_lowercase().as_bytes());
    digest.update(b"\0");
    digest.update(phc.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.finalize())
}

impl<S: Store> Sigra<S> {
    /// Registers an account; its notice goes to the outbox in the same transaction.
    ///
    /// The answer does not depend on whether the address was free: a new account gets
    /// [`AuthMail::Confirm`] (a link and a code); a taken address gets
    /// [`AuthMail::AccountExists`] for its owner (nothing when the owner was mailed too often
    /// lately). Both paths hash the password, so they take the same time, and both return a
    /// [`RegistrationProof`] for the browser to keep (the taken path's proves nothing). The
    /// account is not logged in: the confirmation link or code does that.
    ///
    /// Errors: [`AuthError::InvalidEmail`], [`AuthError::WeakPassword`].
    ///
    /// ```ignore
    /// let proof = sigra.register(&form.email, &form.password.into(), &meta).await?;
    /// // always: "Check your inbox to confirm your account." (and keep the proof in a cookie)
    /// ```
    pub async fn register(
        &self,
        email: &str,
        password: &Password,
        meta: &RequestMeta,
    ) -> Result<RegistrationProof, AuthError> {
        let email = normalize_email(email)?;
        let hash = self.hash_new_password(password, &email).await?;
        let now = self.now();
        let proof = RegistrationProof(
            self.inner
                .keys
                .registration
                .sign(
                    &Token::generate()?,
                    &registration_subject(&email, &hash),
                    now,
                )
                .map_err(internal)?,
        );
        self.register_account(email, hash, now, meta).await?;
        Ok(proof)
    }

    async fn register_account(
        &self,
        email: String,
        hash: String,
        now: time::OffsetDateTime,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let mut tx = self.store().begin().await?;
        if let Some(existing) = tx.user_by_email(&email).await? {
            return self.register_taken(tx, existing, meta).await;
        }
        // An address another account is switching to is reserved until that link expires:
        // the same answer as for any address, and no mail (there is no owner to tell yet).
        let change_ttl = super::ttl(self.config().tokens().change_email_ttl);
        let pending_since = now.checked_sub(change_ttl).unwrap_or(now);
        if tx.email_change_pending(&email, pending_since).await? {
            let event = self.audit(
                AuditAction::Register,
                AuditOutcome::Failure,
                meta,
                None,
                None,
                serde_json::json!({ "reason": "email_change_pending" }),
            );
            tx.insert_audit_event(&event).await?;
            tx.commit().await?;
            return Ok(());
        }
        let new = NewUser::new(self.store().new_id(), email.clone(), Some(hash), now);
        let user = match tx.insert_user(&new).await {
            Ok(user) => user,
            Err(StoreError::Conflict { .. }) => {
                // Lost a race with a concurrent registration of the same address.
                drop(tx);
                let mut tx = self.store().begin().await?;
                let existing = tx
                    .user_by_email(&email)
                    .await?
                    .ok_or_else(|| internal("users.email conflict but no user with that email"))?;
                return self.register_taken(tx, existing, meta).await;
            }
            Err(other) => return Err(other.into()),
        };
        self.issue_confirmation(&mut tx, &user).await?;
        let event = self.audit(
            AuditAction::Register,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({}),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        self.notices_committed();
        Ok(())
    }

    async fn register_taken(
        &self,
        mut tx: S::Tx,
        existing: UserRecord,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let allowed = self.mail_allowed(&mut tx, &existing).await?;
        let event = self.audit(
            AuditAction::Register,
            AuditOutcome::Failure,
            meta,
            None,
            Some(existing.id),
            serde_json::json!({ "reason": "email_taken", "notified": allowed }),
        );
        tx.insert_audit_event(&event).await?;
        if allowed {
            let notice = AuthMail::AccountExists { to: existing.email };
            self.enqueue_notice(&mut tx, &notice).await?;
        }
        tx.commit().await?;
        self.notices_committed();
        Ok(())
    }

    /// Counts one mail to this user against the resend limit (3 per 15 minutes by default);
    /// false when over it. Stops anyone from using the app to flood an inbox.
    pub(super) async fn mail_allowed<T: Transaction>(
        &self,
        tx: &mut T,
        user: &UserRecord,
    ) -> Result<bool, AuthError> {
        let limit = self.config().tokens().resend;
        Ok(self
            .count_hit(tx, &format!("mail:{}", user.id), &limit)
            .await?
            .allowed)
    }

    pub(super) async fn count_hit<T: Transaction>(
        &self,
        tx: &mut T,
        key: &str,
        limit: &crate::config::Limit,
    ) -> Result<Decision, AuthError> {
        let now = self.now();
        let start = crate::rate_limit::window_start(now, limit.window);
        let count = tx.hit(key, start).await?;
        Ok(crate::rate_limit::decide(count, limit, now))
    }

    fn code_key(&self, user: &UserRecord) -> Result<CodeKey, AuthError> {
        CodeKey::derive(&self.inner.keys.base, &format!("confirm_code:{}", user.id))
            .map_err(internal)
    }

    /// Replaces the user's confirmation tokens with a fresh link and code, and enqueues the
    /// mail that carries them.
    async fn issue_confirmation<T: Transaction>(
        &self,
        tx: &mut T,
        user: &UserRecord,
    ) -> Result<(), AuthError> {
        let now = self.now();
        tx.delete_user_email_tokens(
            &user.id,
            &[EmailTokenContext::Confirm, EmailTokenContext::ConfirmCode],
        )
        .await?;
        let token = Token::generate()?;
        let link = self
            .inner
            .keys
            .confirm
            .sign(&token, &user.id.to_string(), now)
            .map_err(internal)?;
        tx.insert_email_token(&NewEmailToken::new(
            user.id,
            token.digest(),
            EmailTokenContext::Confirm,
            user.email.clone(),
            now,
        ))
        .await?;
        let code = NumericCode::generate()?;
        tx.insert_email_token(&NewEmailToken::new(
            user.id,
            self.code_key(user)?.digest(&code),
            EmailTokenContext::ConfirmCode,
            user.email.clone(),
            now,
        ))
        .await?;
        let notice = AuthMail::Confirm {
            to: user.email.clone(),
            token: link,
            code: code.as_str().to_owned(),
        };
        self.enqueue_notice(tx, &notice).await
    }

    /// Sends a new confirmation link and code to an unconfirmed account (through the
    /// outbox). Answers the same (nothing enqueued) for unknown, already confirmed and
    /// too-often-mailed addresses.
    ///
    /// ```ignore
    /// sigra.resend_confirmation(&form.email, &meta).await?;
    /// ```
    pub async fn resend_confirmation(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let email = normalize_email(email)?;
        let mut tx = self.store().begin().await?;
        let Some(user) = tx.user_by_email(&email).await? else {
            return Ok(());
        };
        let reason = if user.confirmed_at.is_some() {
            Some("already_confirmed")
        } else if !self.mail_allowed(&mut tx, &user).await? {
            Some("rate_limited")
        } else {
            self.issue_confirmation(&mut tx, &user).await?;
            None
        };
        let (outcome, metadata) = match reason {
            None => (AuditOutcome::Success, serde_json::json!({ "resend": true })),
            Some(reason) => (
                AuditOutcome::Failure,
                serde_json::json!({ "resend": true, "reason": reason }),
            ),
        };
        let event = self.audit(
            AuditAction::ConfirmationResend,
            outcome,
            meta,
            None,
            Some(user.id),
            metadata,
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        self.notices_committed();
        Ok(())
    }

    /// Confirms the address with the link's token and logs the user in.
    ///
    /// Confirming an unconfirmed account revokes every other session of it, and keeps the
    /// password set at registration only when `evidence` shows the confirmer chose it (see the
    /// [module docs](self)); otherwise the password is removed,
    /// [`LoggedIn::needs_password`] is true and the new session is in sudo mode so the owner
    /// can set one. Audited (`password_kept`, `sessions_revoked`).
    ///
    /// Errors: [`AuthError::InvalidToken`] for a forged, expired or used link;
    /// [`AuthError::InvalidCredentials`] when `evidence` carries a wrong password (the link
    /// stays usable; tries count against the code-entry limit, [`AuthError::TooManyAttempts`]).
    ///
    /// ```ignore
    /// let evidence = ConfirmEvidence::none().registration(registration_cookie_value(&headers, &sigra));
    /// let logged_in = sigra.confirm_with_link(&token, evidence, &meta).await?;
    /// ```
    pub async fn confirm_with_link(
        &self,
        token: &str,
        evidence: ConfirmEvidence,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let now = self.now();
        let ttl = super::ttl(self.config().tokens().confirm_ttl);
        let verified = self.inner.keys.confirm.verify(token, ttl, now)?;
        let typed_password_ok = match &evidence.password {
            Some(password) => {
                let mut tx = self.store().begin_read().await?;
                let user = match verified.subject.parse() {
                    Ok(id) => tx.user_by_id(&id).await?,
                    Err(_) => None,
                };
                drop(tx);
                let user = user.ok_or(AuthError::InvalidToken)?;
                Some(
                    self.check_typed_password(&user, password, true, meta)
                        .await?,
                )
            }
            None => None,
        };
        let mut tx = self.store().begin().await?;
        let record = tx
            .take_email_token(&EmailTokenContext::Confirm, &verified.token.digest())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if record.user_id.to_string() != verified.subject {
            return Err(AuthError::InvalidToken);
        }
        let user = tx
            .user_by_id(&record.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if !super::sent_to_current(&record, &user) {
            return Err(AuthError::InvalidToken);
        }
        let keep = typed_password_ok.unwrap_or(false) || self.registered_here(&evidence, &user);
        self.finish_confirmation(tx, user, "link", keep, meta).await
    }

    /// Whether the confirmer's [`RegistrationProof`] was made for this address and the exact
    /// password hash stored now.
    fn registered_here(&self, evidence: &ConfirmEvidence, user: &UserRecord) -> bool {
        let (Some(proof), Some(phc)) = (&evidence.registration, &user.hashed_password) else {
            return false;
        };
        self.inner
            .keys
            .registration
            .verify_for_subject(
                proof,
                &registration_subject(&user.email, phc),
                super::ttl(self.config().tokens().confirm_ttl),
                self.now(),
            )
            .is_ok()
    }

    /// Checks a password typed on a confirmation page against the stored one, with the same
    /// limit as code entry (5 tries per 15 minutes per user by default; `count_try` is false
    /// when the caller already counted this try). `Ok(true)` when it is
    /// right; a wrong one is [`AuthError::InvalidCredentials`] (audited); an account without
    /// a password has nothing to keep (`Ok(false)`, after the same work).
    async fn check_typed_password(
        &self,
        user: &UserRecord,
        password: &Password,
        count_try: bool,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        if count_try {
            let limit = self.config().tokens().code_attempts;
            let mut tx = self.store().begin().await?;
            let decision = self
                .count_hit(&mut tx, &format!("confirm_code:{}", user.id), &limit)
                .await?;
            tx.commit().await?;
            if !decision.allowed {
                return Err(AuthError::TooManyAttempts {
                    retry_after: decision.reset_after,
                });
            }
        }
        let Some(stored) = &user.hashed_password else {
            self.dummy_verify(password).await;
            return Ok(false);
        };
        let right = matches!(
            self.inner.hasher.verify(password, stored).await,
            Ok(Verification::Valid { .. })
        );
        if right {
            return Ok(true);
        }
        let mut tx = self.store().begin().await?;
        let event = self.audit(
            AuditAction::Confirm,
            AuditOutcome::Failure,
            meta,
            None,
            Some(user.id),
            serde_json::json!({ "reason": "wrong_password" }),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        Err(AuthError::InvalidCredentials)
    }

    /// Confirms the address with the 6-digit code and logs the user in. Sessions and the
    /// password are handled as by [`confirm_with_link`](Self::confirm_with_link); a typed
    /// password is checked only once the code is right.
    ///
    /// At most 5 tries per 15 minutes per address (by default); unknown addresses answer
    /// exactly like wrong codes. Errors: [`AuthError::InvalidCode`],
    /// [`AuthError::TooManyAttempts`], [`AuthError::InvalidEmail`],
    /// [`AuthError::InvalidCredentials`] (a wrong typed password; the code stays usable).
    ///
    /// ```ignore
    /// let logged_in = sigra.confirm_with_code(&form.email, &form.code, evidence, &meta).await?;
    /// ```
    pub async fn confirm_with_code(
        &self,
        email: &str,
        code: &str,
        evidence: ConfirmEvidence,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let email = normalize_email(email)?;
        let code = NumericCode::parse(code, 6).ok();
        let now = self.now();
        let limit = self.config().tokens().code_attempts;

        let mut tx = self.store().begin().await?;
        let user = tx.user_by_email(&email).await?;
        let key = match &user {
            Some(user) => format!("confirm_code:{}", user.id),
            None => format!("confirm_code:{}", email.to_lowercase()),
        };
        let decision = self.count_hit(&mut tx, &key, &limit).await?;
        if !decision.allowed {
            tx.commit().await?;
            return Err(AuthError::TooManyAttempts {
                retry_after: decision.reset_after,
            });
        }
        let (Some(mut user), Some(code)) = (user, code) else {
            tx.commit().await?;
            return Err(AuthError::InvalidCode);
        };
        let digest = self.code_key(&user)?.digest(&code);
        let mut typed_password_ok = false;
        if let Some(password) = &evidence.password {
            // Check the code without using it, then the password outside any transaction
            // (hashing is slow): a wrong password leaves the code usable.
            let found = tx
                .find_email_token(&EmailTokenContext::ConfirmCode, &digest)
                .await?;
            if !found.is_some_and(|r| self.code_fresh(&r, &user, now)) {
                return self.refuse_code(tx, &user, meta).await;
            }
            tx.commit().await?;
            typed_password_ok = self
                .check_typed_password(&user, password, false, meta)
                .await?;
            tx = self.store().begin().await?;
            user = tx
                .user_by_id(&user.id)
                .await?
                .ok_or(AuthError::InvalidCode)?;
        }
        let record = tx
            .take_email_token(&EmailTokenContext::ConfirmCode, &digest)
            .await?;
        if !record.is_some_and(|r| self.code_fresh(&r, &user, now)) {
            return self.refuse_code(tx, &user, meta).await;
        }
        let keep = typed_password_ok || self.registered_here(&evidence, &user);
        self.finish_confirmation(tx, user, "code", keep, meta).await
    }

    /// Whether a confirmation code's row belongs to `user`, was mailed to their current
    /// address and is younger than `tokens.confirm_ttl`.
    fn code_fresh(
        &self,
        record: &crate::store::EmailTokenRecord,
        user: &UserRecord,
        now: time::OffsetDateTime,
    ) -> bool {
        record.user_id == user.id
            && super::sent_to_current(record, user)
            && (now - record.created_at).whole_seconds()
                < i64::try_from(self.config().tokens().confirm_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    /// Audits a wrong or stale code and answers [`AuthError::InvalidCode`].
    async fn refuse_code(
        &self,
        mut tx: S::Tx,
        user: &UserRecord,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let event = self.audit(
            AuditAction::Confirm,
            AuditOutcome::Failure,
            meta,
            None,
            Some(user.id),
            serde_json::json!({ "method": "code", "reason": "invalid_code" }),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        Err(AuthError::InvalidCode)
    }

    async fn finish_confirmation(
        &self,
        mut tx: S::Tx,
        mut user: UserRecord,
        method: &str,
        keep_password: bool,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let claim = self
            .claim_unconfirmed(&mut tx, &mut user, keep_password)
            .await?;
        tx.delete_user_email_tokens(
            &user.id,
            &[EmailTokenContext::Confirm, EmailTokenContext::ConfirmCode],
        )
        .await?;
        let mut metadata = serde_json::json!({ "method": method });
        claim.describe(&mut metadata);
        let event = self.audit(
            AuditAction::Confirm,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            metadata,
        );
        tx.insert_audit_event(&event).await?;
        // Without a password the owner must be able to set one at once (sudo), as after a
        // magic link; with one, confirming is not a fresh authentication.
        let sudo = user.hashed_password.is_none();
        let (kind, sudo) = if self.second_factor_due(&mut tx, &user, meta).await? {
            (crate::store::SessionKind::MfaPending, false)
        } else {
            (crate::store::SessionKind::Standard, sudo)
        };
        let (session, token) = self
            .create_session(&mut tx, &user, kind, meta, sudo)
            .await?;
        tx.commit().await?;
        self.forget_user(&user.id);
        Ok(LoggedIn::plain(user, session, token))
    }

    /// The owner of the mailbox takes an account over when it is confirmed (by link, code or
    /// magic link): if it was unconfirmed, every session is revoked and the password set
    /// before confirmation is removed unless `keep_password`. Marks the address confirmed.
    /// Updates `user` to match.
    pub(super) async fn claim_unconfirmed<T: Transaction>(
        &self,
        tx: &mut T,
        user: &mut UserRecord,
        keep_password: bool,
    ) -> Result<Claim, AuthError> {
        let now = self.now();
        if user.confirmed_at.is_some() {
            return Ok(Claim::AlreadyConfirmed);
        }
        tx.mark_confirmed(&user.id, now).await?;
        user.confirmed_at = Some(now);
        let sessions_revoked = tx.delete_user_sessions(&user.id, None).await?;
        let password_cleared = user.hashed_password.is_some() && !keep_password;
        if password_cleared {
            tx.clear_password_hash(&user.id, now).await?;
            tx.bump_token_epoch(&user.id).await?;
            user.hashed_password = None;
            user.password_changed_at = Some(now);
        }
        // Two-factor set up before confirmation belongs to whoever logged in then; unless the
        // confirmer showed they chose the password, that was not necessarily them.
        let mfa_removed = !keep_password && tx.delete_mfa(&user.id).await?;
        Ok(Claim::Claimed {
            sessions_revoked,
            password_kept: user.hashed_password.is_some(),
            password_cleared,
            mfa_removed,
        })
    }
}

/// What confirming did to an account; see [`Sigra::claim_unconfirmed`].
pub(super) enum Claim {
    /// It was confirmed already: nothing changed.
    AlreadyConfirmed,
    /// It was unconfirmed: now confirmed, its sessions revoked, its password kept or removed.
    Claimed {
        sessions_revoked: u64,
        password_kept: bool,
        password_cleared: bool,
        mfa_removed: bool,
    },
}

impl Claim {
    /// Adds what happened to an audit row's metadata.
    pub(super) fn describe(&self, metadata: &mut serde_json::Value) {
        if let (
            Self::Claimed {
                sessions_revoked,
                password_kept,
                password_cleared,
                mfa_removed,
            },
            Some(map),
        ) = (self, metadata.as_object_mut())
        {
            map.insert("sessions_revoked".into(), (*sessions_revoked).into());
            map.insert("password_kept".into(), (*password_kept).into());
            map.insert("password_cleared".into(), (*password_cleared).into());
            if *mfa_removed {
                map.insert("mfa_removed".into(), true.into());
            }
        }
    }
}
