//! Deleting what has expired: sessions, email tokens, rate-limit windows and finished jobs.

use std::time::Duration;

use super::{AuthError, Sigra};
use crate::store::{
    EmailTokenStore as _, JobStore as _, RateLimitStore as _, SessionKind, SessionStore as _,
    Store, Transaction as _, WebauthnChallengeStore as _,
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
    /// Finished jobs past their retention (`jobs.keep_done`, `jobs.keep_dead`).
    pub jobs: u64,
    /// Passkey ceremony challenges past their lifetime (never finished).
    pub webauthn_challenges: u64,
}

impl<S: Store> Sigra<S> {
    /// Deletes what can never be used again: sessions past their lifetime (each kind by its
    /// own idle and absolute timeouts), email tokens older than the longest token lifetime
    /// (48 h by default; shorter-lived ones are refused on use long before), and rate-limit
    /// windows older than the longest window, and finished jobs (delivered mails' metadata,
    /// dead jobs) older than their retention, and passkey challenges past their lifetime. One transaction; returns the counts.
    ///
    /// Nothing depends on it for correctness (every read checks expiry), but without it these
    /// tables only grow. Run it every few minutes as a periodic job, as the generated app
    /// does ([`MAINTENANCE_QUEUE`](crate::jobs::MAINTENANCE_QUEUE), kind `prune`):
    ///
    /// ```ignore
    /// let worker = Worker::new(store, settings)
    ///     .handle(MAINTENANCE_QUEUE, move |_job| {
    ///         let accounts = accounts.clone();
    ///         async move {
    ///             let pruned = accounts.prune().await.map_err(JobError::temporary)?;
    ///             tracing::debug!(?pruned, "pruned expired rows");
    ///             Ok(JobOutcome::Done)
    ///         }
    ///     })
    ///     .every(MAINTENANCE_QUEUE, "prune", Duration::from_secs(600));
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
            // Device lockout counters are read over the current window and the one before.
            self.config().lockout().duration.saturating_mul(2),
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
        let j = self.config().jobs();
        let jobs = tx.prune_jobs(ago(j.keep_done), ago(j.keep_dead)).await?;
        let webauthn_challenges = tx.prune_webauthn_challenges(now).await?;
        tx.commit().await?;
        Ok(Pruned {
            sessions,
            email_tokens,
            rate_limits,
            jobs,
            webauthn_challenges,
        })
    }
}
