//! The HTTP edge: reverse proxies to trust, and Strict-Transport-Security.

use std::time::Duration;

use super::units::days;

/// How the app meets HTTP: which reverse proxies to believe about the client, and how long
/// browsers must keep to HTTPS.
///
/// ```
/// let web = sigra_core::config::WebConfig::default();
/// assert_eq!(web.trust_proxy, 0);
/// assert_eq!(web.hsts_max_age.as_secs(), 365 * 86_400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebConfig {
    /// How many reverse proxies in front of the app to trust for the client address
    /// (`X-Forwarded-For`, counted from the right) and the host (`X-Forwarded-Host`).
    /// 0 (the default) trusts none: the TCP peer is the client. At most 10.
    pub trust_proxy: u32,
    /// `Strict-Transport-Security: max-age` sent on every response when cookies are `Secure`
    /// (production). Zero sends no header. Default 365 days.
    pub hsts_max_age: Duration,
    /// Where [`RequireUser`](crate::web::RequireUser) sends a browser that must log in (with
    /// `?return_to=`). A path on this site: starts with one `/`, no query or fragment.
    /// Default `/users/log_in`.
    pub login_path: String,
    /// Where [`RequireSudo`](crate::web::RequireSudo) sends a browser that must confirm its
    /// password. Same rules. Default `/users/sudo`.
    pub sudo_path: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            trust_proxy: 0,
            hsts_max_age: days(365),
            login_path: "/users/log_in".to_owned(),
            sudo_path: "/users/sudo".to_owned(),
        }
    }
}
