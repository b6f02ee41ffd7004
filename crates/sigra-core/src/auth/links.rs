//! Magic-link login and password reset: both mail a single-use link to an address.

use crate::audit::{AuditAction, RequestMeta};
use crate::password::Password;
use crate::store::{
    AuditOutcome, AuditStore as _, EmailTokenContext, EmailTokenStore as _, NewEmailToken,
    SessionKind, SessionStore as _, Store, Transaction as _, UserStore as _,
};
use crate::token::{EnvelopeKey, Token};

use super::{AuthError, AuthMail, LoggedIn, Sigra, internal, normalize_email};

#[derive(Clone, Copy)]
enum LinkKind {
    Magic,
    Reset,
}

impl<S: Store> Sigra<S> {
    fn link_key(&self, kind: LinkKind) -> &EnvelopeKey {
        match kind {
            LinkKind::Magic => &self.inner.keys.magic,
            LinkKind::Reset => &self.inner.keys.reset,
        }
    }

    async fn request_link(
        &self,
        kind: LinkKind,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let (context, action) = match kind {
            LinkKind::Magic => (EmailTokenContext::MagicLink, AuditAction::MagicLinkRequest),
            LinkKind::Reset => (
                EmailTokenContext::ResetPassword,
                AuditAction::PasswordResetRequest,
            ),
        };
        let email = normalize_email(email)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let Some(user) = tx.user_by_email(&email).await? else {
            let event = self.audit(
                action,
                AuditOutcome::Failure,
                meta,
                None,
                None,
                serde_json::json!({ "reason": "unknown_email" }),
            );
            tx.insert_audit_event(&event).await?;
            tx.commit().await?;
            return Ok(());
        };
        if !self.mail_allowed(&mut tx, &user).await? {
            let event = self.audit(
                action,
                AuditOutcome::Failure,
                meta,
                None,
                Some(user.id),
                serde_json::json!({ "reason": "rate_limited" }),
            );
            tx.insert_audit_event(&event).await?;
            tx.commit().await?;
            return Ok(());
        }
        let token = Token::generate()?;
        let link = self
            .link_key(kind)
            .sign(&token, &user.id.to_string(), now)
            .map_err(internal)?;
        tx.insert_email_token(&NewEmailToken::new(
            user.id,
            token.digest(),
            context,
            user.email.clone(),
            now,
        ))
        .await?;
        let event = self.audit(
            action,
            AuditOutcome::Success,
            meta,
            None,
            Some(user.id),
            serde_json::json!({}),
        );
        tx.insert_audit_event(&event).await?;
        let notice = match kind {
            LinkKind::Magic => AuthMail::MagicLink {
                to: user.email,
                token: link,
            },
            LinkKind::Reset => AuthMail::ResetPassword {
                to: user.email,
                token: link,
            },
        };
        self.enqueue_notice(&mut tx, &notice).await?;
        tx.commit().await?;
        self.notices_committed();
        Ok(())
    }

    /// Mails a one-time login link (valid 15 minutes by default; the notice goes to the
    /// outbox). Answers the same for unknown addresses and for addresses mailed too often
    /// lately (nothing is enqueued for those).
    ///
    /// ```ignore
    /// sigra.request_magic_link(&form.email, &meta).await?;
    /// // always: "If that address has an account, a link is on its way."
    /// ```
    pub async fn request_magic_link(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        self.request_link(LinkKind::Magic, email, meta).await
    }

    /// Logs in with a magic link: single use, starts in sudo mode. Into an unconfirmed account
    /// it confirms the address, revokes every other session and removes the password set
    /// before confirmation (whoever proves the mailbox wins; see
    /// [`confirm_with_link`](Self::confirm_with_link)).
    ///
    /// ```ignore
    /// let logged_in = sigra.log_in_with_magic_link(&token, &meta).await?;
    /// ```
    pub async fn log_in_with_magic_link(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let now = self.now();
        let verified = self.inner.keys.magic.verify(
            token,
            super::ttl(self.config().tokens().magic_link_ttl),
            now,
        )?;
        let mut tx = self.store().begin().await?;
        let record = tx
            .take_email_token(&EmailTokenContext::MagicLink, &verified.token.digest())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if record.user_id.to_string() != verified.subject {
            return Err(AuthError::InvalidToken);
        }
        let mut user = tx
            .user_by_id(&record.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if !super::sent_to_current(&record, &user) {
            return Err(AuthError::InvalidToken);
        }
        // A link proves the mailbox, not the password: an unconfirmed account is taken over
        // by its owner (sessions revoked, a password set before confirmation removed).
        let claim = self.claim_unconfirmed(&mut tx, &mut user, false).await?;
        tx.delete_user_email_tokens(&user.id, &[EmailTokenContext::MagicLink])
            .await?;
        let mut metadata = serde_json::json!({});
        claim.describe(&mut metadata);
        let event = self.audit(
            AuditAction::MagicLinkLogin,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            metadata,
        );
        tx.insert_audit_event(&event).await?;
        let (session, token) = self
            .open_login_session(&mut tx, &user, SessionKind::Standard, meta)
            .await?;
        tx.commit().await?;
        self.forget_user(&user.id);
        self.notices_committed();
        Ok(LoggedIn::plain(user, session, token))
    }

    /// Mails a password-reset link (valid 1 hour by default; the notice goes to the outbox).
    /// Answers the same for unknown addresses (nothing is enqueued).
    ///
    /// ```ignore
    /// sigra.request_password_reset(&form.email, &meta).await?;
    /// ```
    pub async fn request_password_reset(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        self.request_link(LinkKind::Reset, email, meta).await
    }

    /// Checks a reset link without using it (to decide whether to show the new-password
    /// form). Errors: [`AuthError::InvalidToken`].
    ///
    /// ```ignore
    /// sigra.check_reset_token(&token).await?;
    /// ```
    pub async fn check_reset_token(&self, token: &str) -> Result<(), AuthError> {
        let verified = self.inner.keys.reset.verify(
            token,
            super::ttl(self.config().tokens().reset_password_ttl),
            self.now(),
        )?;
        let mut tx = self.store().begin_read().await?;
        let record = tx
            .find_email_token(&EmailTokenContext::ResetPassword, &verified.token.digest())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let user = tx
            .user_by_id(&record.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if !super::sent_to_current(&record, &user) {
            return Err(AuthError::InvalidToken);
        }
        Ok(())
    }

    /// Sets a new password with a reset link. In one transaction: the link is used up, every
    /// email token and every session of the user is deleted, failed-login counts and locks
    /// are cleared, and the address counts as confirmed. The user then logs in with the new
    /// password. The "your password was changed" notice goes to the outbox.
    ///
    /// Errors: [`AuthError::InvalidToken`], [`AuthError::WeakPassword`].
    ///
    /// ```ignore
    /// sigra.reset_password(&token, &form.password.into(), &meta).await?;
    /// ```
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &Password,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let verified = self.inner.keys.reset.verify(
            token,
            super::ttl(self.config().tokens().reset_password_ttl),
            now,
        )?;
        let digest = verified.token.digest();
        let user = {
            let mut tx = self.store().begin_read().await?;
            let record = tx
                .find_email_token(&EmailTokenContext::ResetPassword, &digest)
                .await?
                .ok_or(AuthError::InvalidToken)?;
            tx.user_by_id(&record.user_id)
                .await?
                .ok_or(AuthError::InvalidToken)?
        };
        let hash = self.hash_new_password(new_password, &user.email).await?;

        let mut tx = self.store().begin().await?;
        let record = tx
            .take_email_token(&EmailTokenContext::ResetPassword, &digest)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if record.user_id != user.id
            || record.user_id.to_string() != verified.subject
            || !super::sent_to_current(&record, &user)
        {
            return Err(AuthError::InvalidToken);
        }
        tx.set_password_hash(&user.id, &hash, Some(now)).await?;
        tx.bump_token_epoch(&user.id).await?;
        tx.mark_confirmed(&user.id, now).await?;
        tx.clear_failed_logins(&user.id).await?;
        tx.delete_user_email_tokens(&user.id, &[]).await?;
        let revoked = tx.delete_user_sessions(&user.id, None).await?;
        let event = self.audit(
            AuditAction::PasswordResetComplete,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({ "sessions_revoked": revoked }),
        );
        tx.insert_audit_event(&event).await?;
        self.enqueue_notice(&mut tx, &AuthMail::PasswordChanged { to: user.email })
            .await?;
        tx.commit().await?;
        self.forget_user(&user.id);
        self.notices_committed();
        Ok(())
    }
}
