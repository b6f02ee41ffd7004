//! Session lifetimes and the session cookie.

use super::units::{days, hours, mins};
use std::time::Duration;

/// Session lifetimes (reference: idle 30 min, absolute 24 h; remember-me 60 days absolute with
/// no idle limit; `last_active_at` written at most every 5 min; sudo 5 min; MFA-pending 5 min),
/// and how many sessions one user keeps.
///
/// ```
/// use std::time::Duration;
/// let s = sigra_core::config::SessionConfig::default();
/// assert_eq!(s.idle_timeout, Duration::from_secs(30 * 60));
/// assert_eq!(s.remember_me_idle_timeout, None);
/// assert_eq!(s.max_per_user, 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// A standard session ends after this long without a request. Default 30 min.
    pub idle_timeout: Duration,
    /// A standard session ends this long after login, however active. Default 24 h.
    pub absolute_timeout: Duration,
    /// A remember-me session ends this long after login. Default 60 days.
    pub remember_me_absolute_timeout: Duration,
    /// Idle limit of a remember-me session; `None` (the default) means none.
    pub remember_me_idle_timeout: Option<Duration>,
    /// `last_active_at` is written at most this often (0 = on every request). Default 5 min.
    pub last_active_write_interval: Duration,
    /// Sensitive settings are allowed for this long after a fresh authentication. Default 5 min.
    pub sudo_window: Duration,
    /// A session waiting for its second factor expires after this long. Default 5 min.
    pub mfa_pending_timeout: Duration,
    /// How long a session read from the database is answered from memory (0 = never).
    /// Default 10 s. Expiry, sudo and `last_active_at` stay exact; changes made through this
    /// process apply at once; a change made by another app instance is seen here at most this
    /// much later. See [`Sigra::authenticate`](crate::auth::Sigra::authenticate).
    pub cache_ttl: Duration,
    /// The most sessions one user keeps (`MfaPending` ones aside). A login beyond it ends the
    /// user's least recently active sessions, in the same transaction, and audits
    /// `session.evict`. Default 100; at least 1.
    pub max_per_user: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: mins(30),
            absolute_timeout: hours(24),
            remember_me_absolute_timeout: days(60),
            remember_me_idle_timeout: None,
            last_active_write_interval: mins(5),
            sudo_window: mins(5),
            mfa_pending_timeout: mins(5),
            cache_ttl: Duration::from_secs(10),
            max_per_user: 100,
        }
    }
}

/// The cookie's `SameSite` attribute.
///
/// ```
/// assert_eq!(sigra_core::config::SameSite::default().as_str(), "lax");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Never sent on cross-site requests: a link from another site arrives logged out.
    Strict,
    /// Sent on same-site requests and top-level GET navigations (the default).
    #[default]
    Lax,
    /// Sent on every request; browsers require `Secure` with it.
    None,
}

impl SameSite {
    /// The lowercase name used in environment variables (`strict`, `lax`, `none`).
    ///
    /// ```
    /// assert_eq!(sigra_core::config::SameSite::Strict.as_str(), "strict");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Lax => "lax",
            Self::None => "none",
        }
    }

    /// The attribute value as written in a `Set-Cookie` header (`Strict`, `Lax`, `None`).
    ///
    /// ```
    /// assert_eq!(sigra_core::config::SameSite::Lax.attribute(), "Lax");
    /// ```
    pub fn attribute(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// The session cookie. It is always `HttpOnly` and `Path=/`; those are not settings.
///
/// ```
/// let c = sigra_core::config::CookieConfig::default();
/// assert_eq!(c.effective_name(), "__Host-sigra_session");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieConfig {
    /// The cookie name, without prefix. Default `sigra_session`.
    pub name: String,
    /// Send the cookie only over HTTPS. Default `true`; `false` needs dev mode or
    /// `danger_allow_insecure_cookies()`.
    pub secure: bool,
    /// Prefix the name with `__Host-` when `secure` is on (the browser then refuses the
    /// cookie unless it is `Secure`, `Path=/` and has no `Domain`). Default `true`.
    pub host_prefix: bool,
    /// The `SameSite` attribute. Default `Lax`.
    pub same_site: SameSite,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            name: "sigra_session".to_owned(),
            secure: true,
            host_prefix: true,
            same_site: SameSite::Lax,
        }
    }
}

impl CookieConfig {
    /// The name to put in `Set-Cookie`: `__Host-<name>` when both `secure` and `host_prefix`
    /// are on, else `<name>`.
    ///
    /// ```
    /// let mut c = sigra_core::config::CookieConfig::default();
    /// c.secure = false;
    /// assert_eq!(c.effective_name(), "sigra_session");
    /// ```
    pub fn effective_name(&self) -> String {
        if self.secure && self.host_prefix {
            format!("__Host-{}", self.name)
        } else {
            self.name.clone()
        }
    }
}
