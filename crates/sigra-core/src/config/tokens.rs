//! Email token lifetimes and attempt limits.

use super::units::{hours, mins};
use std::time::Duration;

/// At most `max` events per `window` (a fixed or sliding window; the store decides).
///
/// ```
/// use std::time::Duration;
/// let l = sigra_core::config::Limit::new(5, Duration::from_secs(900));
/// assert_eq!((l.max, l.window.as_secs()), (5, 900));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The number of events allowed per window. Never 0.
    pub max: u32,
    /// The window length.
    pub window: Duration,
}

impl Limit {
    /// `max` events per `window`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let l = sigra_core::config::Limit::new(10, Duration::from_secs(60));
    /// assert_eq!(l.max, 10);
    /// ```
    pub const fn new(max: u32, window: Duration) -> Self {
        Self { max, window }
    }
}

/// Email tokens and codes (reference: confirm 48 h, reset 1 h, email change 24 h, magic link
/// 15 min; code entry 5 tries per 15 min; resend 3 per 15 min).
///
/// ```
/// let t = sigra_core::config::TokenConfig::default();
/// assert_eq!(t.confirm_ttl.as_secs(), 48 * 3600);
/// assert_eq!(t.code_attempts.max, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenConfig {
    /// Lifetime of an email-confirmation link and code. Default 48 h.
    pub confirm_ttl: Duration,
    /// Lifetime of a password-reset link. Default 1 h.
    pub reset_password_ttl: Duration,
    /// Lifetime of an email-change confirmation link. Default 24 h.
    pub change_email_ttl: Duration,
    /// Lifetime of a magic sign-in link. Default 15 min.
    pub magic_link_ttl: Duration,
    /// Wrong confirmation-code entries allowed per user. Default 5 per 15 min.
    pub code_attempts: Limit,
    /// Confirmation emails a user may request again. Default 3 per 15 min.
    pub resend: Limit,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            confirm_ttl: hours(48),
            reset_password_ttl: hours(1),
            change_email_ttl: hours(24),
            magic_link_ttl: mins(15),
            code_attempts: Limit::new(5, mins(15)),
            resend: Limit::new(3, mins(15)),
        }
    }
}
