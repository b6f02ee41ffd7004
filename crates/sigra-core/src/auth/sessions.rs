//! Loading the session behind a cookie, listing and revoking sessions, logging out.

use std::sync::Arc;

use crate::audit::{AuditAction, RequestMeta};
use crate::session::{Validity, check};
use crate::store::{
    AuditOutcome, AuditStore as _, Id, SessionKind, SessionRecord, SessionStore as _, Store,
    Transaction as _, UserRecord, UserStore as _,
};
use crate::token::Token;

use super::{AuthError, Sigra};

/// A request's logged-in user and the session that proves it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Authenticated {
    /// The user.
    pub user: UserRecord,
    /// Their current session.
    pub session: SessionRecord,
}

impl<S: Store> Sigra<S> {
    /// Loads the session for a cookie value: `None` for a malformed, unknown, expired or
    /// MFA-pending session. An expired session is deleted; `last_active_at` is written at
    /// most every 5 minutes.
    ///
    /// What was read is kept in memory for
    /// [`session.cache_ttl`](crate::config::SessionConfig::cache_ttl) (10 s by default), so
    /// most requests touch no database at all: expiry and sudo are still decided on every
    /// call, every change made through this `Sigra` (log out, revoke, password change, ...)
    /// drops the user's cached sessions at once, and a change made by another app instance
    /// is seen when its [`SessionEvents`](super::SessionEvents) message arrives (the
    /// generated PostgreSQL app feeds them; while their channel is down nothing is cached),
    /// or without them within the TTL. Set it to zero to read the database on every call.
    ///
    /// ```ignore
    /// if let Some(auth) = sigra.authenticate(cookie_value).await? { /* logged in */ }
    /// ```
    pub async fn authenticate(
        &self,
        cookie_value: &str,
    ) -> Result<Option<Authenticated>, AuthError> {
        Ok(self
            .authenticate_shared(cookie_value)
            .await?
            .map(Arc::unwrap_or_clone))
    }

    /// [`authenticate`](Self::authenticate), sharing the cached value instead of copying it
    /// (the web layer's per-request path).
    pub(crate) async fn authenticate_shared(
        &self,
        cookie_value: &str,
    ) -> Result<Option<Arc<Authenticated>>, AuthError> {
        let Ok(token) = Token::parse(cookie_value) else {
            return Ok(None);
        };
        let digest = token.digest();
        let now = self.now();
        let cache = &self.inner.sessions;
        if let Some(cached) = cache.get(&digest, now) {
            // Decided again now, exactly as for a fresh row; anything but "valid, nothing to
            // write" goes to the database below.
            if let Validity::Valid { touch: false } =
                check(&cached.session, now, self.config().session())
            {
                return Ok(Some(cached));
            }
        }
        let started = cache.generation();
        let (session, user) = {
            let mut tx = self.store().begin_read().await?;
            let Some(session) = tx.session_by_digest(&digest).await? else {
                return Ok(None);
            };
            let user = tx.user_by_id(&session.user_id).await?;
            (session, user)
        };
        if session.kind == SessionKind::MfaPending {
            return Ok(None);
        }
        let Some(user) = user else {
            return Ok(None);
        };
        match check(&session, now, self.config().session()) {
            Validity::Valid { touch } => {
                let mut session = session;
                if touch {
                    let mut tx = self.store().begin().await?;
                    tx.touch_session(&session.id, now).await?;
                    tx.commit().await?;
                    session.last_active_at = now;
                }
                let auth = Arc::new(Authenticated { user, session });
                cache.insert(&digest, &auth, now, started);
                Ok(Some(auth))
            }
            _ => {
                let mut tx = self.store().begin().await?;
                tx.delete_session_by_digest(&digest).await?;
                tx.commit().await?;
                cache.forget_token(&digest);
                Ok(None)
            }
        }
    }

    /// Whether the session is in sudo mode (authenticated within the last 5 minutes).
    ///
    /// ```ignore
    /// if !sigra.in_sudo(&auth) { return redirect("/users/sudo") }
    /// ```
    pub fn in_sudo(&self, auth: &Authenticated) -> bool {
        crate::session::in_sudo(&auth.session, self.now(), self.config().session())
    }

    /// The user's sessions, most recently active first (MFA-pending ones hidden).
    ///
    /// ```ignore
    /// let sessions = sigra.list_sessions(&auth.user.id).await?;
    /// ```
    pub async fn list_sessions(&self, user_id: &Id) -> Result<Vec<SessionRecord>, AuthError> {
        let mut tx = self.store().begin_read().await?;
        Ok(tx.list_user_sessions(user_id).await?)
    }

    /// Re-checks, inside a write transaction, that the request's session still exists and
    /// belongs to its user; [`AuthError::SessionExpired`] when it does not.
    ///
    /// A request's [`Authenticated`] may come from the in-process cache, so it can be up to
    /// `session.cache_ttl` old: every state-changing flow calls this in its own transaction
    /// before it writes. The session row is written first (`last_active_at`), which on
    /// PostgreSQL takes its row lock: a concurrent revocation either committed before (the row
    /// is gone, the flow refuses) or waits for this transaction (and then revokes what it
    /// wrote). On SQLite write transactions are serialised anyway.
    pub(super) async fn recheck_session(
        &self,
        tx: &mut S::Tx,
        auth: &Authenticated,
    ) -> Result<(), AuthError> {
        tx.touch_session(&auth.session.id, self.now()).await?;
        let alive = tx
            .session_by_digest(&auth.session.token_digest)
            .await?
            .is_some_and(|s| s.id == auth.session.id && s.user_id == auth.user.id);
        if alive {
            Ok(())
        } else {
            self.forget_user(&auth.user.id);
            Err(AuthError::SessionExpired)
        }
    }

    /// Revokes one of the user's sessions; returns whether it existed. An id belonging to
    /// another user revokes nothing.
    ///
    /// ```ignore
    /// sigra.revoke_session(&auth, &session_id, &meta).await?;
    /// ```
    pub async fn revoke_session(
        &self,
        auth: &Authenticated,
        session_id: &Id,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let existed = tx.delete_user_session(&auth.user.id, session_id).await?;
        if existed {
            let event = self.audit(
                AuditAction::SessionRevoke,
                AuditOutcome::Success,
                meta,
                Some(auth.user.id),
                Some(auth.user.id),
                serde_json::json!({ "session_id": session_id.to_string() }),
            );
            tx.insert_audit_event(&event).await?;
        }
        tx.commit().await?;
        self.forget_user(&auth.user.id);
        Ok(existed)
    }

    /// Revokes every session of the user except the current one; returns how many.
    ///
    /// ```ignore
    /// let n = sigra.log_out_other_sessions(&auth, &meta).await?;
    /// ```
    pub async fn log_out_other_sessions(
        &self,
        auth: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<u64, AuthError> {
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let n = tx
            .delete_user_sessions(&auth.user.id, Some(&auth.session.id))
            .await?;
        // Stateless credentials (JWT access tokens) issued before now die with the sessions.
        tx.bump_token_epoch(&auth.user.id).await?;
        let event = self.audit(
            AuditAction::SessionRevokeAll,
            AuditOutcome::Success,
            meta,
            Some(auth.user.id),
            Some(auth.user.id),
            serde_json::json!({ "revoked": n }),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        self.forget_user(&auth.user.id);
        Ok(n)
    }

    /// Logs out: deletes the session behind this cookie value (if any).
    ///
    /// ```ignore
    /// sigra.log_out(cookie_value, &meta).await?;
    /// ```
    pub async fn log_out(&self, cookie_value: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let Ok(token) = Token::parse(cookie_value) else {
            return Ok(());
        };
        let digest = token.digest();
        let mut tx = self.store().begin().await?;
        let Some(session) = tx.session_by_digest(&digest).await? else {
            return Ok(());
        };
        tx.delete_session_by_digest(&digest).await?;
        let event = self.audit(
            AuditAction::SessionDelete,
            AuditOutcome::Success,
            meta,
            Some(session.user_id),
            Some(session.user_id),
            serde_json::json!({}),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        self.forget_user(&session.user_id);
        Ok(())
    }

    /// Counts one request against `limit` under `key` (for example `"auth:203.0.113.9"`) in
    /// the shared database counters. Fails closed: if the store fails, the answer is "not
    /// allowed".
    ///
    /// ```ignore
    /// let d = sigra.rate_limit(&format!("auth:{ip}"), &sigra.config().rate_limit().auth).await;
    /// if !d.allowed { return too_many_requests(d) }
    /// ```
    pub async fn rate_limit(
        &self,
        key: &str,
        limit: &crate::config::Limit,
    ) -> crate::rate_limit::Decision {
        let attempt = async {
            let mut tx = self.store().begin().await?;
            let decision = self.count_hit(&mut tx, key, limit).await?;
            tx.commit().await?;
            Ok::<_, AuthError>(decision)
        };
        match attempt.await {
            Ok(decision) => decision,
            Err(err) => {
                tracing::error!(target: "sigra::rate_limit", error = %err, "rate-limit store failed; refusing (fail closed)");
                crate::rate_limit::Decision::fail_closed(limit)
            }
        }
    }
}

impl From<Authenticated> for (UserRecord, SessionRecord) {
    fn from(a: Authenticated) -> Self {
        (a.user, a.session)
    }
}
