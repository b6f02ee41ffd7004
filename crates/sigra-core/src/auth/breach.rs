//! The breached-password check of the flows that set a password (registration, reset,
//! change), as `SIGRA_PASSWORD_BREACH_CHECK*` configure it.
//!
//! It runs in `Sigra::hash_new_password`, after the policy and before the hash, so before any
//! transaction is open: the network round trip never holds a database transaction. A breached
//! password is refused with [`AuthError::WeakPassword`]`(`[`PasswordError::Breached`]`)`, the
//! error every other policy refusal uses. When the service cannot be asked, the configured
//! [`BreachCheckFailure`] decides: `allow` logs a warning and goes on, `refuse` answers
//! [`AuthError::WeakPassword`]`(`[`PasswordError::BreachCheckFailed`]`)` with a message asking to
//! try again. Neither the password nor its hash is ever logged.

#[cfg(feature = "breach-check")]
use crate::config::BreachCheckFailure;
use crate::config::PasswordConfig;
use crate::password::Password;
#[cfg(feature = "breach-check")]
use crate::password::PasswordError;

use super::AuthError;

/// The check as configured: off, or a client and what to do when it fails.
pub(super) struct BreachGuard {
    #[cfg(feature = "breach-check")]
    client: Option<crate::password::PwnedPasswordsClient>,
    #[cfg(feature = "breach-check")]
    on_failure: BreachCheckFailure,
}

impl BreachGuard {
    /// The guard for `config`. With the `breach-check` feature off, `breach_check = true`
    /// cannot get here (the configuration refuses it); it is refused again, not ignored.
    pub(super) fn new(config: &PasswordConfig) -> Result<Self, AuthError> {
        #[cfg(feature = "breach-check")]
        {
            let client = if config.breach_check {
                Some(
                    crate::password::PwnedPasswordsClient::new(
                        &config.breach_check_url,
                        config.breach_check_timeout,
                    )
                    .map_err(super::internal)?,
                )
            } else {
                None
            };
            Ok(Self {
                client,
                on_failure: config.breach_check_on_failure,
            })
        }
        #[cfg(not(feature = "breach-check"))]
        {
            if config.breach_check {
                return Err(AuthError::Internal(
                    "password.breach_check needs sigra-core's `breach-check` feature".to_owned(),
                ));
            }
            Ok(Self {})
        }
    }

    /// Refuses a password the service knows from breaches; applies the failure policy when
    /// the service cannot be asked. Nothing happens when the check is off.
    pub(super) async fn check(&self, password: &Password) -> Result<(), AuthError> {
        #[cfg(feature = "breach-check")]
        if let Some(client) = &self.client {
            let result = crate::password::check_not_breached(client, password).await;
            return self.judge(result);
        }
        let _ = password;
        Ok(())
    }

    /// The answer of the flow for the result of a check.
    #[cfg(feature = "breach-check")]
    fn judge(&self, result: Result<(), PasswordError>) -> Result<(), AuthError> {
        match result {
            Ok(()) => Ok(()),
            Err(PasswordError::BreachCheckFailed(err)) => match self.on_failure {
                BreachCheckFailure::Allow => {
                    tracing::warn!(
                        target: "sigra::auth",
                        error = %err,
                        "breached-password check failed; password accepted without it (password.breach_check_on_failure = allow)"
                    );
                    Ok(())
                }
                BreachCheckFailure::Refuse => {
                    tracing::warn!(
                        target: "sigra::auth",
                        error = %err,
                        "breached-password check failed; password refused (password.breach_check_on_failure = refuse)"
                    );
                    Err(AuthError::WeakPassword(PasswordError::BreachCheckFailed(
                        "the password-check service did not answer; try again in a moment".into(),
                    )))
                }
            },
            Err(refused) => Err(AuthError::WeakPassword(refused)),
        }
    }
}
