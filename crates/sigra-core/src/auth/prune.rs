//! Deleting what has expired: sessions, email tokens and rate-limit windows.

use std::time::Duration;

use super::{AuthError, Sigra};
use crate::store::{
    EmailTokenStore as _, RateLimitStore as _, SessionKind, SessionStore as _, Store,
    Transaction as _,
};

/// How many rows [`Sigra::prune`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pruned {
    /// Sessions past their idle or absolute lifetime.
    pub sessions: u64,
    /// Email tokens older than the longest token lifetime.
    pub email_tokens: u64,
    /// Rate-limit windows older than the longest window.
    pub rate_limits: u64,
}

impl<S: Store> Sigra<S> {
    /// Deletes what can never be used again: sessions past their lifetime (each kind by its
    /// own idle and absolute timeouts), email tokens older than the longest token lifetime
    /// (48 h by default; shorter-lived ones are refused on use long before), and rate-limit
    /// windows older than the longest window. One transaction; returns the counts.
    ///
    /// Nothing depends on it for correctness (every read checks expiry), but without it these
    /// tables only grow. Run it every few minutes from a background task, as the generated
    /// app does:
    ///
    /// ```ignore
    /// let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    /// loop {
    ///     every.tick().await;
    ///     match accounts.prune().await {
    ///         Ok(pruned) => tracing::debug!(?pruned, "pruned expired rows"),
    ///         Err(err) => tracing::warn!(error = %err, "pruning expired rows failed"),
    ///     }
    /// }
    /// ```
    pub async fn prune(&self) -> Result<Pruned, AuthError> {
        let now = self.now();
        let ago = |d: Duration| now.checked_sub(super::ttl(d)).unwrap_or(now);
        let s = self.config().session();
        let t = self.config().tokens();
        let longest_token = [
            t.confirm_ttl,
            t.reset_password_ttl,
            t.change_email_ttl,
            t.magic_link_ttl,
        ]
        .into_iter()
        .max()
        .unwrap_or_default();
        let longest_window = [
            self.config().rate_limit().auth.window,
            t.code_attempts.window,
            t.resend.window,
        ]
        .into_iter()
        .max()
        .unwrap_or_default();

        let mut tx = self.store().begin().await?;
        let mut sessions = tx
            .prune_sessions(
                SessionKind::Standard,
                ago(s.absolute_timeout),
                Some(ago(s.idle_timeout)),
            )
            .await?;
        sessions += tx
            .prune_sessions(
                SessionKind::RememberMe,
                ago(s.remember_me_absolute_timeout),
                s.remember_me_idle_timeout.map(ago),
            )
            .await?;
        sessions += tx
            .prune_sessions(SessionKind::MfaPending, ago(s.mfa_pending_timeout), None)
            .await?;
        let email_tokens = tx.prune_email_tokens(ago(longest_token)).await?;
        let rate_limits = tx.prune_rate_limits(ago(longest_window)).await?;
        tx.commit().await?;
        Ok(Pruned {
            sessions,
            email_tokens,
            rate_limits,
        })
    }
}
