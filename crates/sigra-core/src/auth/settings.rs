//! Sudo mode and the sensitive settings it guards: password and email changes.

use crate::audit::{AuditAction, RequestMeta};
use crate::password::{Password, PasswordError, Verification};
use crate::store::{
    AuditOutcome, AuditStore as _, EmailTokenContext, EmailTokenStore as _, NewEmailToken,
    SessionStore as _, Store, StoreError, Transaction as _, UserRecord, UserStore as _,
};
use crate::token::Token;

use super::device::scope_of;
use super::{
    AuthError, AuthMail, Authenticated, LockoutScope, LoggedIn, Sigra, internal, normalize_email,
};

impl<S: Store> Sigra<S> {
    /// Enters sudo mode by re-entering the password. The session is replaced (new token,
    /// same kind) with one that is in sudo mode for 5 minutes.
    ///
    /// While the client is locked out, no password is checked: every attempt, right or wrong,
    /// gets [`AuthError::LockedOut`] after the same Argon2id work and ends this session, so a
    /// stolen session cookie cannot tell the right password from a wrong one by locking the
    /// account first.
    ///
    /// Locks work as for [`log_in`](Self::log_in): a request carrying a valid device cookie
    /// for the account counts its wrong passwords on that device and is refused only by the
    /// device's lock (so strangers locking the account do not keep the owner out of sudo on
    /// their own browser); any other request counts on, and is refused by, the account's lock
    /// for unknown clients.
    ///
    /// Errors: [`AuthError::InvalidCredentials`], [`AuthError::LockedOut`] (this failure
    /// locked the account, or it was locked: the session is over), [`AuthError::SessionExpired`]
    /// (the session was revoked meanwhile).
    ///
    /// ```ignore
    /// let logged_in = sigra.enter_sudo(&auth, &form.password.into(), &meta).await?;
    /// // set the new cookie
    /// ```
    pub async fn enter_sudo(
        &self,
        auth: &Authenticated,
        password: &Password,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let current = {
            let mut tx = self.store().begin_read().await?;
            tx.user_by_id(&auth.user.id).await?
        };
        let Some(current) = current else {
            return Err(AuthError::SessionExpired);
        };
        // The same two locks as a password login: a known device (a valid device cookie
        // for this account) is refused by its own lock only, any other client by the
        // account's lock for unknown clients.
        let client = self.known_device(&current, meta);
        if self.client_locked(&current, &client).await? {
            // The same work as a verify, and no verify: the answer cannot depend on it.
            if let Err(err) = self.inner.hasher.dummy_verify(password).await {
                tracing::debug!(target: "sigra::auth", error = %err, "dummy verify refused its input");
            }
            return Err(self.end_locked_sudo(auth, scope_of(&client), meta).await?);
        }
        let valid = match &auth.user.hashed_password {
            Some(stored) => match self.inner.hasher.verify(password, stored).await {
                Ok(Verification::Valid { .. }) => true,
                Ok(_)
                | Err(PasswordError::TooLong { .. } | PasswordError::LegacyHashPasswordTooLong) => {
                    false
                }
                Err(err) => return Err(internal(err)),
            },
            None => {
                if let Err(err) = self.inner.hasher.dummy_verify(password).await {
                    tracing::debug!(target: "sigra::auth", error = %err, "dummy verify refused its input");
                }
                false
            }
        };
        if !valid {
            // Wrong passwords here count against the account's lockout like failed logins
            // (a stolen session cookie must not allow guessing at 10 tries a minute per IP);
            // the failure that locks also ends this session.
            let locked = self
                .record_failed_password_from(
                    &auth.user,
                    &client,
                    AuditAction::SudoEnter,
                    Some(&auth.session.token_digest),
                    meta,
                )
                .await?;
            self.forget_user(&auth.user.id);
            return Err(if locked {
                AuthError::LockedOut
            } else {
                AuthError::InvalidCredentials
            });
        }
        let mut tx = self.store().begin().await?;
        // Re-read under the write lock: a locked account cannot enter sudo, even with the
        // right password, until the lock expires.
        let Some(user) = tx.user_by_id(&auth.user.id).await? else {
            return Err(AuthError::SessionExpired);
        };
        if self.client_locked_in(&mut tx, &user, &client).await? {
            // Locked by a concurrent failure since the check above: the same answer.
            drop(tx);
            return Err(self.end_locked_sudo(auth, scope_of(&client), meta).await?);
        }
        // As for a login: only an unknown client's success clears the account's count.
        if client.is_none() && (user.failed_login_attempts > 0 || user.locked_at.is_some()) {
            tx.clear_failed_logins(&user.id).await?;
        }
        self.rotate_session(
            tx,
            auth,
            AuditAction::SudoEnter,
            serde_json::json!({}),
            meta,
        )
        .await
    }

    /// A sudo attempt by a locked-out client: ends this session and audits the attempt
    /// (`session.sudo_enter`, failure, reason `locked`, the lock's `scope`) in one
    /// transaction; returns the answer, [`AuthError::LockedOut`].
    async fn end_locked_sudo(
        &self,
        auth: &Authenticated,
        scope: LockoutScope,
        meta: &RequestMeta,
    ) -> Result<AuthError, AuthError> {
        let mut tx = self.store().begin().await?;
        tx.delete_session_by_digest(&auth.session.token_digest)
            .await?;
        let event = self.audit(
            AuditAction::SudoEnter,
            AuditOutcome::Failure,
            meta,
            Some(auth.user.id),
            Some(auth.user.id),
            serde_json::json!({ "reason": "locked", "scope": scope.as_str() }),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        self.forget_user(&auth.user.id);
        Ok(AuthError::LockedOut)
    }

    /// Replaces the current session with a new one in sudo mode, audited as `action`, and
    /// commits `tx`. If the current session is gone (revoked or logged out since the request
    /// loaded it), nothing is committed and the answer is [`AuthError::SessionExpired`]: a
    /// revoked session never comes back as a fresh one.
    async fn rotate_session(
        &self,
        mut tx: S::Tx,
        auth: &Authenticated,
        action: AuditAction,
        metadata: serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        if !tx
            .delete_session_by_digest(&auth.session.token_digest)
            .await?
        {
            return Err(AuthError::SessionExpired);
        }
        let event = self.audit(
            action,
            AuditOutcome::Success,
            meta,
            Some(auth.user.id),
            Some(auth.user.id),
            metadata,
        );
        tx.insert_audit_event(&event).await?;
        let (session, token) = self
            .create_session(&mut tx, &auth.user, auth.session.kind, meta, true)
            .await?;
        tx.commit().await?;
        self.forget_user(&auth.user.id);
        Ok(LoggedIn::plain(auth.user.clone(), session, token))
    }

    fn require_sudo(&self, auth: &Authenticated) -> Result<(), AuthError> {
        if self.in_sudo(auth) {
            Ok(())
        } else {
            Err(AuthError::SudoRequired)
        }
    }

    /// Changes the password (sudo mode required). Every other session of the user is
    /// revoked, outstanding reset and magic links stop working, and the current session is
    /// replaced by a new one. Returns the new login; the "password changed" notice goes to
    /// the outbox in the same transaction.
    ///
    /// Errors: [`AuthError::SudoRequired`], [`AuthError::WeakPassword`],
    /// [`AuthError::SessionExpired`] (the session was revoked meanwhile; nothing changes).
    ///
    /// ```ignore
    /// let logged_in = sigra.change_password(&auth, &form.password.into(), &meta).await?;
    /// ```
    pub async fn change_password(
        &self,
        auth: &Authenticated,
        new_password: &Password,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        self.require_sudo(auth)?;
        let hash = self
            .hash_new_password(new_password, &auth.user.email)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.set_password_hash(&auth.user.id, &hash, Some(now))
            .await?;
        tx.bump_token_epoch(&auth.user.id).await?;
        tx.delete_user_email_tokens(
            &auth.user.id,
            &[
                EmailTokenContext::ResetPassword,
                EmailTokenContext::MagicLink,
            ],
        )
        .await?;
        let revoked = tx
            .delete_user_sessions(&auth.user.id, Some(&auth.session.id))
            .await?;
        let notice = AuthMail::PasswordChanged {
            to: auth.user.email.clone(),
        };
        self.enqueue_notice(&mut tx, &notice).await?;
        let mut logged_in = self
            .rotate_session(
                tx,
                auth,
                AuditAction::PasswordChange,
                serde_json::json!({ "sessions_revoked": revoked }),
                meta,
            )
            .await?;
        self.notices_committed();
        logged_in.user.hashed_password = Some(hash);
        logged_in.user.password_changed_at = Some(now);
        Ok(logged_in)
    }

    /// Starts an email change (sudo mode required): mails a confirmation link to the new
    /// address. Nothing changes until the link is used. Whether the new address is taken is
    /// not revealed here.
    ///
    /// Errors: [`AuthError::SudoRequired`], [`AuthError::InvalidEmail`],
    /// [`AuthError::SameEmail`], [`AuthError::TooManyAttempts`] (more than 3 mails in 15
    /// minutes by default).
    ///
    /// ```ignore
    /// sigra.request_email_change(&auth, &form.email, &meta).await?;
    /// ```
    pub async fn request_email_change(
        &self,
        auth: &Authenticated,
        new_email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        self.require_sudo(auth)?;
        let new_email = normalize_email(new_email)?;
        if new_email.eq_ignore_ascii_case(&auth.user.email) {
            return Err(AuthError::SameEmail);
        }
        let now = self.now();
        let context = EmailTokenContext::ChangeEmail {
            old_email: auth.user.email.clone(),
        };
        let token = Token::generate()?;
        let link = self
            .inner
            .keys
            .change_email
            .sign(&token, &auth.user.id.to_string(), now)
            .map_err(internal)?;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        if !self.mail_allowed(&mut tx, &auth.user).await? {
            tx.commit().await?;
            return Err(AuthError::TooManyAttempts {
                retry_after: self.config().tokens().resend.window,
            });
        }
        tx.delete_user_email_tokens(&auth.user.id, std::slice::from_ref(&context))
            .await?;
        tx.insert_email_token(&NewEmailToken::new(
            auth.user.id,
            token.digest(),
            context,
            new_email.clone(),
            now,
        ))
        .await?;
        let event = self.audit(
            AuditAction::EmailChangeRequest,
            AuditOutcome::Success,
            meta,
            Some(auth.user.id),
            Some(auth.user.id),
            serde_json::json!({ "new_email": new_email }),
        );
        let notice = AuthMail::ChangeEmail {
            to: new_email,
            token: link,
        };
        self.commit_with_notice(tx, &event, &notice).await
    }

    /// Completes an email change with the link mailed to the new address. The link must be
    /// used by the same logged-in user, before anything else changed the address. The new
    /// address counts as confirmed and every other session is revoked. Returns the updated
    /// user; [`AuthMail::EmailChanged`], the notice to the **old** address, goes to the
    /// outbox in the same transaction.
    ///
    /// Errors: [`AuthError::InvalidToken`], [`AuthError::EmailTaken`].
    ///
    /// ```ignore
    /// let user = sigra.confirm_email_change(&auth, &token, &meta).await?;
    /// ```
    pub async fn confirm_email_change(
        &self,
        auth: &Authenticated,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<UserRecord, AuthError> {
        let now = self.now();
        let verified = self.inner.keys.change_email.verify_for_subject(
            token,
            &auth.user.id.to_string(),
            super::ttl(self.config().tokens().change_email_ttl),
            now,
        )?;
        let context = EmailTokenContext::ChangeEmail {
            old_email: auth.user.email.clone(),
        };
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let record = tx
            .take_email_token(&context, &verified.token.digest())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if record.user_id != auth.user.id {
            return Err(AuthError::InvalidToken);
        }
        match tx.set_email(&auth.user.id, &record.sent_to).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => {
                // The link is used up (a conflict leaves the transaction usable) and the
                // refusal is recorded.
                let event = self.audit(
                    AuditAction::EmailChangeComplete,
                    AuditOutcome::Failure,
                    meta,
                    Some(auth.user.id),
                    Some(auth.user.id),
                    serde_json::json!({ "reason": "email_taken" }),
                );
                tx.insert_audit_event(&event).await?;
                tx.commit().await?;
                return Err(AuthError::EmailTaken);
            }
            Err(other) => return Err(other.into()),
        }
        tx.mark_confirmed(&auth.user.id, now).await?;
        // Every link mailed to the old address (reset, magic link, confirmation) dies here:
        // whoever still reads that mailbox must not take the account back.
        tx.delete_user_email_tokens(&auth.user.id, &[]).await?;
        let revoked = tx
            .delete_user_sessions(&auth.user.id, Some(&auth.session.id))
            .await?;
        let event = self.audit(
            AuditAction::EmailChangeComplete,
            AuditOutcome::Success,
            meta,
            Some(auth.user.id),
            Some(auth.user.id),
            serde_json::json!({ "old_email": auth.user.email, "new_email": record.sent_to, "sessions_revoked": revoked }),
        );
        tx.insert_audit_event(&event).await?;
        let user = tx
            .user_by_id(&auth.user.id)
            .await?
            .ok_or(AuthError::SessionExpired)?;
        let notice = AuthMail::EmailChanged {
            to: auth.user.email.clone(),
            new_email: user.email.clone(),
        };
        self.enqueue_notice(&mut tx, &notice).await?;
        tx.commit().await?;
        self.forget_user(&auth.user.id);
        self.notices_committed();
        Ok(user)
    }
}
