//! Two-factor authentication: the TOTP issuer, the MFA lockout, trusted browsers.

use super::units::{days, mins};
use std::time::Duration;

/// Two-factor authentication (TOTP, backup codes, "trust this browser").
///
/// ```
/// let m = sigra_core::config::MfaConfig::default();
/// assert_eq!((m.lockout_threshold, m.lockout_duration.as_secs()), (5, 900));
/// assert_eq!(m.trust_ttl.as_secs(), 30 * 86_400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MfaConfig {
    /// The issuer shown by authenticator apps next to the account (the `issuer` of the
    /// `otpauth://` URI). Default `Sigra`; set it to the app's name. 1–64 characters, no `:`.
    pub issuer: String,
    /// Failed codes (TOTP and backup codes together) that lock MFA. Default 5.
    pub lockout_threshold: u32,
    /// How long the MFA lock lasts. Default 15 min.
    pub lockout_duration: Duration,
    /// How long "trust this browser" skips the second factor. Default 30 days.
    pub trust_ttl: Duration,
    /// Warn the user when fewer unused backup codes than this remain. Default 3.
    pub backup_codes_warn_below: u32,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            issuer: "Sigra".to_owned(),
            lockout_threshold: 5,
            lockout_duration: mins(15),
            trust_ttl: days(30),
            backup_codes_warn_below: 3,
        }
    }
}
