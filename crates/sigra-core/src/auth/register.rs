//! Registration and email confirmation (link or 6-digit code).

use crate::audit::{AuditAction, RequestMeta};
use crate::password::Password;
use crate::rate_limit::Decision;
use crate::store::{
    AuditOutcome, AuditStore as _, EmailTokenContext, EmailTokenStore as _, NewEmailToken, NewUser,
    Store, StoreError, Transaction, UserRecord, UserStore as _,
};
use crate::token::{CodeKey, NumericCode, Token};

use super::{AuthError, AuthMail, LoggedIn, Sigra, internal, normalize_email};

impl<S: Store> Sigra<S> {
    /// Registers an account; its notice goes to the outbox in the same transaction.
    ///
    /// The answer does not depend on whether the address was free: a new account gets
    /// [`AuthMail::Confirm`] (a link and a code); a taken address gets
    /// [`AuthMail::AccountExists`] for its owner (nothing when the owner was mailed too often
    /// lately). Both paths hash the password, so they take the same time. The account is not
    /// logged in: the confirmation link or code does that.
    ///
    /// Errors: [`AuthError::InvalidEmail`], [`AuthError::WeakPassword`].
    ///
    /// ```ignore
    /// sigra.register(&form.email, &form.password.into(), &meta).await?;
    /// // always: "Check your inbox to confirm your account."
    /// ```
    pub async fn register(
        &self,
        email: &str,
        password: &Password,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let email = normalize_email(email)?;
        let hash = self.hash_new_password(password, &email).await?;
        let now = self.now();

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
    /// Errors: [`AuthError::InvalidToken`] for a forged, expired or used link.
    ///
    /// ```ignore
    /// let logged_in = sigra.confirm_with_link(&token, &meta).await?;
    /// ```
    pub async fn confirm_with_link(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let now = self.now();
        let ttl = super::ttl(self.config().tokens().confirm_ttl);
        let verified = self.inner.keys.confirm.verify(token, ttl, now)?;
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
        self.finish_confirmation(tx, user, "link", meta).await
    }

    /// Confirms the address with the 6-digit code and logs the user in.
    ///
    /// At most 5 tries per 15 minutes per address (by default); unknown addresses answer
    /// exactly like wrong codes. Errors: [`AuthError::InvalidCode`],
    /// [`AuthError::TooManyAttempts`], [`AuthError::InvalidEmail`].
    ///
    /// ```ignore
    /// let logged_in = sigra.confirm_with_code(&form.email, &form.code, &meta).await?;
    /// ```
    pub async fn confirm_with_code(
        &self,
        email: &str,
        code: &str,
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
        let (Some(user), Some(code)) = (user, code) else {
            tx.commit().await?;
            return Err(AuthError::InvalidCode);
        };
        let digest = self.code_key(&user)?.digest(&code);
        let record = tx
            .take_email_token(&EmailTokenContext::ConfirmCode, &digest)
            .await?;
        let fresh = record.as_ref().is_some_and(|r| {
            r.user_id == user.id
                && super::sent_to_current(r, &user)
                && (now - r.created_at).whole_seconds()
                    < i64::try_from(self.config().tokens().confirm_ttl.as_secs())
                        .unwrap_or(i64::MAX)
        });
        if !fresh {
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
            return Err(AuthError::InvalidCode);
        }
        self.finish_confirmation(tx, user, "code", meta).await
    }

    async fn finish_confirmation(
        &self,
        mut tx: S::Tx,
        mut user: UserRecord,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let now = self.now();
        tx.mark_confirmed(&user.id, now).await?;
        user.confirmed_at.get_or_insert(now);
        tx.delete_user_email_tokens(
            &user.id,
            &[EmailTokenContext::Confirm, EmailTokenContext::ConfirmCode],
        )
        .await?;
        let event = self.audit(
            AuditAction::Confirm,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({ "method": method }),
        );
        tx.insert_audit_event(&event).await?;
        let (session, token) = self
            .create_session(
                &mut tx,
                &user,
                crate::store::SessionKind::Standard,
                meta,
                false,
            )
            .await?;
        tx.commit().await?;
        self.forget_user(&user.id);
        Ok(LoggedIn {
            user,
            session,
            token,
        })
    }
}
