//! Brute-force protection: account lockout, IP rate limit, MFA, passkeys.

use super::tokens::Limit;
use super::units::{days, mins, secs};
use std::time::Duration;

/// Account lockout after repeated wrong passwords (reference: 5 failures lock for 15 min).
///
/// ```
/// let l = sigra_core::config::LockoutConfig::default();
/// assert_eq!((l.threshold, l.duration.as_secs()), (5, 900));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockoutConfig {
    /// Consecutive failures that lock the account. Default 5; never 0.
    pub threshold: u32,
    /// How long the lock lasts. Default 15 min.
    pub duration: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            duration: mins(15),
        }
    }
}

/// The per-IP rate limit on authentication POSTs (reference: 10 per minute). The limiter
/// fails closed and is shared by all app instances; neither is a setting.
///
/// ```
/// let r = sigra_core::config::RateLimitConfig::default();
/// assert_eq!((r.auth.max, r.auth.window.as_secs()), (10, 60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Authentication POSTs allowed per client IP. Default 10 per 1 min.
    pub auth: Limit,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            auth: Limit::new(10, mins(1)),
        }
    }
}

/// Second factors (reference: lockout after 5 failures for 15 min, one counter for TOTP
/// and backup codes; TOTP ±1 step; 8 backup codes; trust-this-browser 30 days).
///
/// ```
/// let m = sigra_core::config::MfaConfig::default();
/// assert_eq!(m.backup_code_count, 8);
/// assert_eq!(m.trust_browser_ttl.as_secs(), 30 * 86_400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MfaConfig {
    /// Wrong TOTP or backup codes that lock the second factor. Default 5; never 0.
    pub lockout_threshold: u32,
    /// How long the MFA lock lasts. Default 15 min.
    pub lockout_duration: Duration,
    /// TOTP steps accepted either side of the current one. Default 1 (±30 s).
    pub totp_skew_steps: u32,
    /// Backup codes generated per user. Default 8.
    pub backup_code_count: u32,
    /// Lifetime of a "trust this browser" cookie. Default 30 days.
    pub trust_browser_ttl: Duration,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_duration: mins(15),
            totp_skew_steps: 1,
            backup_code_count: 8,
            trust_browser_ttl: days(30),
        }
    }
}

/// WebAuthn `userVerification` requested in passkey ceremonies.
///
/// ```
/// assert_eq!(sigra_core::config::UserVerification::default().as_str(), "preferred");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserVerification {
    /// The authenticator must verify the user (PIN, biometrics).
    Required,
    /// Verify the user when the authenticator can (the default).
    #[default]
    Preferred,
    /// Do not ask for user verification.
    Discouraged,
}

impl UserVerification {
    /// The lowercase name, as in WebAuthn and the environment variable.
    ///
    /// ```
    /// assert_eq!(sigra_core::config::UserVerification::Required.as_str(), "required");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Discouraged => "discouraged",
        }
    }
}

/// What to do when a passkey's signature counter goes backwards (a possible clone).
///
/// ```
/// assert_eq!(sigra_core::config::SignCountPolicy::default().as_str(), "warn");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignCountPolicy {
    /// Accept the login, write an audit event and notify the user (the default: some
    /// authenticators have counter bugs, and synced passkeys report 0).
    #[default]
    Warn,
    /// Refuse this login and ask for another method.
    RequireReauth,
    /// Refuse the login and revoke the passkey.
    Revoke,
}

impl SignCountPolicy {
    /// The name used in the environment variable (`warn`, `require_reauth`, `revoke`).
    ///
    /// ```
    /// assert_eq!(sigra_core::config::SignCountPolicy::Revoke.as_str(), "revoke");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warn => "warn",
            Self::RequireReauth => "require_reauth",
            Self::Revoke => "revoke",
        }
    }
}

/// Passkeys (reference: 60 s challenge, user verification preferred, attestation none).
///
/// ```
/// let p = sigra_core::config::PasskeyConfig::default();
/// assert_eq!(p.challenge_ttl.as_secs(), 60);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasskeyConfig {
    /// Lifetime of a registration or login challenge. Default 60 s.
    pub challenge_ttl: Duration,
    /// User verification requested. Default `Preferred`.
    pub user_verification: UserVerification,
    /// Reaction to a signature-counter regression. Default `Warn`.
    pub sign_count_policy: SignCountPolicy,
}

impl Default for PasskeyConfig {
    fn default() -> Self {
        Self {
            challenge_ttl: secs(60),
            user_verification: UserVerification::Preferred,
            sign_count_policy: SignCountPolicy::Warn,
        }
    }
}
