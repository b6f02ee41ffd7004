//! Brute-force protection: account lockout and the IP rate limit.

use super::tokens::Limit;
use super::units::{days, mins};
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
    /// How long a device cookie lasts: the signed cookie a browser earns by logging in with
    /// the password, which keeps it out of a lock that strangers' failures put on the account
    /// (OWASP's device cookies). Renewed on every password login. Default 365 days; at most
    /// 400 (browsers cap cookie lifetimes there) unless `danger_allow_long_lifetimes()`.
    pub device_cookie_ttl: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            duration: mins(15),
            device_cookie_ttl: days(365),
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
