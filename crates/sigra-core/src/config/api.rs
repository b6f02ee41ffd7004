//! API tokens, JWT, native-app sessions and webhooks.

use super::units::{days, hours, mins, secs};
use std::time::Duration;

/// API tokens (reference: `sigra_sk_` prefix; `last_used_at` written at most every 5 min;
/// optional required expiry and maximum lifetime; optional write-implies-read).
///
/// ```
/// let a = sigra_core::config::ApiTokenConfig::default();
/// assert_eq!(a.prefix, "sigra_sk_");
/// assert_eq!(a.max_ttl, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiTokenConfig {
    /// Prefix of every raw token: lowercase ASCII letters, digits and `_`, 1 to 32
    /// characters, not starting with `eyj` (JWTs start with `eyJ`). Default `sigra_sk_`.
    pub prefix: String,
    /// `last_used_at` is written at most this often (0 = on every use). Default 5 min.
    pub last_used_write_interval: Duration,
    /// Longest lifetime a token may be created with; `None` (the default) means no cap.
    pub max_ttl: Option<Duration>,
    /// Refuse to create tokens without an expiry. Default `false`.
    pub require_expiry: bool,
    /// A `resource:write` scope also grants `resource:read`. Default `false`.
    pub write_implies_read: bool,
}

impl Default for ApiTokenConfig {
    fn default() -> Self {
        Self {
            prefix: "sigra_sk_".to_owned(),
            last_used_write_interval: mins(5),
            max_ttl: None,
            require_expiry: false,
            write_implies_read: false,
        }
    }
}

/// JWT access and refresh tokens (reference: access 15 min, refresh 30 days, rotated).
///
/// ```
/// let j = sigra_core::config::JwtConfig::default();
/// assert_eq!(j.access_ttl.as_secs(), 900);
/// assert_eq!(j.clock_skew.as_secs(), 60);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtConfig {
    /// Lifetime of an access token (`exp - iat`). Default 15 min.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token. Default 30 days.
    pub refresh_ttl: Duration,
    /// Leeway allowed on `exp`/`nbf`/`iat` for clock differences. Default 60 s.
    pub clock_skew: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            access_ttl: mins(15),
            refresh_ttl: days(30),
            clock_skew: secs(60),
        }
    }
}

/// Native-app login with PKCE (reference: signed continuation 5 min, one-time code 60 s).
///
/// ```
/// let a = sigra_core::config::AppSessionConfig::default();
/// assert_eq!((a.continuation_ttl.as_secs(), a.code_ttl.as_secs()), (300, 60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppSessionConfig {
    /// Lifetime of the signed continuation carrying the app's request through login.
    /// Default 5 min.
    pub continuation_ttl: Duration,
    /// Lifetime of the one-time code the app exchanges for tokens. Default 60 s.
    pub code_ttl: Duration,
}

impl Default for AppSessionConfig {
    fn default() -> Self {
        Self {
            continuation_ttl: mins(5),
            code_ttl: secs(60),
        }
    }
}

/// Outgoing webhooks (reference: 5 min signature tolerance; 6 attempts with backoff
/// 1 m / 5 m / 15 m / 1 h / 3 h).
///
/// ```
/// let w = sigra_core::config::WebhookConfig::default();
/// assert_eq!(w.max_attempts(), 6);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// How far a signature's timestamp may be from now. Default 5 min.
    pub tolerance: Duration,
    /// Wait before each retry; the number of attempts is one more than its length.
    /// Default 1m, 5m, 15m, 1h, 3h.
    pub retry_backoff: Vec<Duration>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            tolerance: mins(5),
            retry_backoff: vec![mins(1), mins(5), mins(15), hours(1), hours(3)],
        }
    }
}

impl WebhookConfig {
    /// Delivery attempts in total: the first plus one per backoff step.
    ///
    /// ```
    /// let mut w = sigra_core::config::WebhookConfig::default();
    /// w.retry_backoff.clear();
    /// assert_eq!(w.max_attempts(), 1);
    /// ```
    pub fn max_attempts(&self) -> usize {
        self.retry_backoff.len().saturating_add(1)
    }
}
