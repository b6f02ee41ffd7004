//! Password login with lockout, rehash-on-login and equal-cost failures.

use crate::audit::{AuditAction, RequestMeta};
use crate::config::UnconfirmedPolicy;
use crate::password::{Password, PasswordError, Verification};
use crate::store::{
    AuditOutcome, AuditStore as _, SessionKind, SessionStore as _, Store, Transaction as _,
    UserRecord, UserStore as _,
};

use super::device::{Client, scope_of};
use super::{AuthError, AuthMail, LockoutScope, LoggedIn, Sigra, normalize_email};

/// The result of a password login.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // returned once per login; boxing buys nothing
pub enum LoginAttempt {
    /// Logged in: set the session cookie from [`LoggedIn::token`].
    Success(LoggedIn),
    /// Refused. Show one message ("Invalid email or password") whatever the reason: unknown
    /// email, wrong password and locked account are indistinguishable to the caller. When
    /// this failure locked the account, the owner's lockout notice is already in the outbox.
    Failed,
}

impl<S: Store> Sigra<S> {
    /// Logs in with email and password.
    ///
    /// - Unknown emails pay a dummy verify of every kind of stored hash in use (the same work
    ///   as a real verify; see [`PasswordHasher::dummy_verify`](crate::password::PasswordHasher::dummy_verify)).
    /// - Lockout follows OWASP's device cookies: a client sending a valid device cookie for
    ///   the account (`meta.device`, read by the web layer; issued by every successful
    ///   password login as [`LoggedIn::device_cookie`]) is a **known device**, any other an
    ///   **unknown client**. 5 failures (by default) from unknown clients lock the account
    ///   for unknown clients for 15 minutes; known devices are not refused by that lock.
    ///   5 failures from one known device lock that device only (for one to two lockout
    ///   durations). While locked out, even the right password answers
    ///   [`LoginAttempt::Failed`] (after the same work), and the owner is mailed a notice
    ///   ([`LockoutScope`] says which lock) when a lock starts.
    /// - A stale Argon2id hash or a legacy bcrypt hash is upgraded in the same transaction as
    ///   the new session.
    /// - The new session starts in sudo mode.
    ///
    /// Errors: [`AuthError::Unconfirmed`] (right password, unconfirmed account, and the app
    /// blocks unconfirmed accounts), or a store failure.
    ///
    /// ```ignore
    /// match sigra.log_in(&form.email, &form.password.into(), form.remember_me, &meta).await? {
    ///     LoginAttempt::Success(logged_in) => { /* set cookie, redirect */ }
    ///     LoginAttempt::Failed => { /* "Invalid email or password" */ }
    /// }
    /// ```
    pub async fn log_in(
        &self,
        email: &str,
        password: &Password,
        remember_me: bool,
        meta: &RequestMeta,
    ) -> Result<LoginAttempt, AuthError> {
        let user = match normalize_email(email) {
            Ok(email) => {
                let mut tx = self.store().begin_read().await?;
                let user = tx.user_by_email(&email).await?;
                drop(tx);
                user
            }
            Err(_) => None,
        };
        let Some(user) = user else {
            self.dummy_verify(password).await;
            self.audit_login_failure(None, "unknown_email", meta)
                .await?;
            return Ok(LoginAttempt::Failed);
        };
        let Some(stored) = user.hashed_password.clone() else {
            self.dummy_verify(password).await;
            self.audit_login_failure(Some(&user), "no_password", meta)
                .await?;
            return Ok(LoginAttempt::Failed);
        };

        let verification = match self.inner.hasher.verify(password, &stored).await {
            Ok(v) => v,
            Err(PasswordError::TooLong { .. } | PasswordError::LegacyHashPasswordTooLong) => {
                Verification::Invalid
            }
            Err(err) => {
                tracing::error!(target: "sigra::auth", user = %user.id, error = %err, "stored password hash cannot be verified");
                Verification::Invalid
            }
        };

        // Which lock applies: a valid device cookie for this account makes the client a known
        // device, refused only by its own lock; any other client is refused by the account's
        // lock for unknown clients. Decided after the verify, so the work is the same.
        let client = self.known_device(&user, meta);
        if self.client_locked(&user, &client).await? {
            self.audit_login_locked(&user, &client, meta).await?;
            return Ok(LoginAttempt::Failed);
        }

        let upgraded = match verification {
            Verification::Valid { upgraded } => upgraded,
            _ => {
                self.record_failed_password_from(&user, &client, AuditAction::Login, None, meta)
                    .await?;
                return Ok(LoginAttempt::Failed);
            }
        };

        if user.confirmed_at.is_none()
            && self.config().account().unconfirmed == UnconfirmedPolicy::Block
        {
            self.audit_login_failure(Some(&user), "unconfirmed", meta)
                .await?;
            return Err(AuthError::Unconfirmed);
        }

        let mut tx = self.store().begin().await?;
        // Re-read under the write lock: a concurrent failure may have locked the account
        // since the password was checked.
        let Some(mut user) = tx.user_by_id(&user.id).await? else {
            return Ok(LoginAttempt::Failed);
        };
        if self.client_locked_in(&mut tx, &user, &client).await? {
            drop(tx);
            self.audit_login_locked(&user, &client, meta).await?;
            return Ok(LoginAttempt::Failed);
        }
        // An unknown client's success clears the account's count. A known device's leaves it
        // (its own count starts afresh with the new cookie's nonce): the owner logging in
        // from their device gives a guesser elsewhere no fresh set of tries.
        if client.is_none() && (user.failed_login_attempts > 0 || user.locked_at.is_some()) {
            tx.clear_failed_logins(&user.id).await?;
            user.failed_login_attempts = 0;
            user.locked_at = None;
        }
        if let Some(new_hash) = upgraded {
            tx.set_password_hash(&user.id, new_hash.as_str(), None)
                .await?;
            user.hashed_password = Some(new_hash.as_str().to_owned());
        }
        let kind = if remember_me {
            SessionKind::RememberMe
        } else {
            SessionKind::Standard
        };
        let event = self.audit(
            AuditAction::Login,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({ "remember_me": remember_me }),
        );
        tx.insert_audit_event(&event).await?;
        let (session, token) = self.open_login_session(&mut tx, &user, kind, meta).await?;
        tx.commit().await?;
        self.forget_user(&user.id);
        self.notices_committed();
        let device_cookie = self.issue_device_cookie(&user.id);
        let mut logged_in = LoggedIn::plain(user, session, token);
        logged_in.device_cookie = device_cookie;
        Ok(LoginAttempt::Success(logged_in))
    }

    pub(super) fn lock_active(&self, user: &UserRecord) -> bool {
        !self.lock_remaining(user).is_zero()
    }

    /// How long the lock on `user` still lasts (zero when none).
    pub(super) fn lock_remaining(&self, user: &UserRecord) -> std::time::Duration {
        // Whole seconds, as the lock is stored and configured.
        let duration = std::time::Duration::from_secs(self.config().lockout().duration.as_secs());
        user.locked_at.map_or(std::time::Duration::ZERO, |at| {
            let elapsed = u64::try_from((self.now() - at).whole_seconds()).unwrap_or(0);
            duration.saturating_sub(std::time::Duration::from_secs(elapsed))
        })
    }

    pub(super) async fn dummy_verify(&self, password: &Password) {
        if let Err(err) = self.inner.hasher.dummy_verify(password).await {
            tracing::debug!(target: "sigra::auth", error = %err, "dummy verify refused its input");
        }
    }

    /// Audits a login refused by a lock (`auth.login`, failure, reason `locked`, and the
    /// `scope` of the lock).
    async fn audit_login_locked(
        &self,
        user: &UserRecord,
        client: &Client,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let mut tx = self.store().begin().await?;
        let event = self.audit(
            AuditAction::Login,
            AuditOutcome::Failure,
            meta,
            None,
            Some(user.id),
            serde_json::json!({ "reason": "locked", "scope": scope_of(client).as_str() }),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_login_failure(
        &self,
        user: Option<&UserRecord>,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let mut tx = self.store().begin().await?;
        let event = self.audit(
            AuditAction::Login,
            AuditOutcome::Failure,
            meta,
            None,
            user.map(|u| u.id),
            serde_json::json!({ "reason": reason }),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a wrong password from `client`, audited as `action` (a login, or sudo): on the
    /// device's own counter for a known device, on the account's for an unknown client.
    /// Returns whether this failure locked the client out.
    pub(super) async fn record_failed_password_from(
        &self,
        user: &UserRecord,
        client: &Client,
        action: AuditAction,
        end_session: Option<&crate::token::TokenDigest>,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        match client {
            Some(device) => {
                self.record_device_failure(user, device, action, end_session, meta)
                    .await
            }
            None => {
                self.record_failed_password(user, action, end_session, meta)
                    .await
            }
        }
    }

    /// Counts a wrong password from an unknown client against the account's lockout
    /// counter, audited as `action` (a login, or sudo), and locks the account for unknown
    /// clients when the count reaches the threshold; then it also deletes the session
    /// `end_session` names, if any, and enqueues the owner's lockout notice. Returns whether
    /// this failure locked the account.
    ///
    /// Decides on the row as it is now, read inside the write transaction, not on the copy
    /// read before the password check: concurrent failures must see each other. (On a stale
    /// copy, every request of a burst that started while an expired lock was still on the
    /// row would reset the count to 1, so the burst would never lock the account again.)
    async fn record_failed_password(
        &self,
        user: &UserRecord,
        action: AuditAction,
        end_session: Option<&crate::token::TokenDigest>,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        let now = self.now();
        let threshold = self.config().lockout().threshold;
        let mut tx = self.store().begin().await?;
        let Some(user) = tx.user_by_id(&user.id).await? else {
            return Ok(false);
        };
        if self.lock_active(&user) {
            // Locked by a concurrent failure since the password was checked.
            drop(tx);
            self.audit_login_locked(&user, &None, meta).await?;
            return Ok(false);
        }
        if user.locked_at.is_some() {
            // An expired lock: the count starts again.
            tx.clear_failed_logins(&user.id).await?;
        }
        let attempts = tx.increment_failed_logins(&user.id).await?;
        let actor = (action != AuditAction::Login).then_some(user.id);
        let event = self.audit(
            action,
            AuditOutcome::Failure,
            meta,
            actor,
            Some(user.id),
            serde_json::json!({
                "reason": "invalid_password",
                "attempts": attempts,
                "scope": LockoutScope::UnknownClients.as_str(),
            }),
        );
        tx.insert_audit_event(&event).await?;
        // `>=`: a count left above a since-lowered threshold still locks.
        let locked = attempts >= threshold;
        if locked {
            tx.lock_user(&user.id, now).await?;
            tx.bump_token_epoch(&user.id).await?;
            let event = self.audit(
                AuditAction::Lockout,
                AuditOutcome::Success,
                meta,
                None,
                Some(user.id),
                serde_json::json!({
                    "attempts": attempts,
                    "scope": LockoutScope::UnknownClients.as_str(),
                }),
            );
            tx.insert_audit_event(&event).await?;
            if let Some(digest) = end_session {
                tx.delete_session_by_digest(digest).await?;
            }
            let notice = AuthMail::LockoutNotice {
                to: user.email.clone(),
                scope: LockoutScope::UnknownClients,
            };
            self.enqueue_notice(&mut tx, &notice).await?;
        }
        tx.commit().await?;
        self.forget_user(&user.id);
        if locked {
            self.notices_committed();
        }
        Ok(locked)
    }
}
