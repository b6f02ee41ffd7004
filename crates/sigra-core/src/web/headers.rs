//! Security headers added by [`layers`](super::layers) to every response.
//!
//! | header | value | why |
//! |---|---|---|
//! | `X-Content-Type-Options` | `nosniff` | no MIME sniffing of uploads into scripts |
//! | `Referrer-Policy` | `same-origin` | tokens in URLs (reset, magic links) never leak to other sites |
//! | `X-Frame-Options` | `DENY` | no clickjacking (with `frame-ancestors 'none'` in the CSP) |
//! | `Content-Security-Policy` | [`DEFAULT_CSP`] | scripts, styles and forms' resources from this origin only |
//! | `Cache-Control` | `no-store` | on responses to authenticated requests only: private pages never land in shared or back/forward caches |
//! | `Strict-Transport-Security` | `max-age=31536000` | when cookies are `Secure` (production): the browser never tries plain HTTP again, so no downgrade can strip the session cookie; [`SIGRA_HSTS_MAX_AGE`](crate::config::WebConfig::hsts_max_age), `0` for none |
//!
//! A header the handler set itself is left alone, so a route can relax the CSP or allow
//! caching; [`SigraLayers::content_security_policy`](super::SigraLayers::content_security_policy)
//! changes the default for the whole router.

use std::time::Duration;

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The default `Content-Security-Policy`.
pub const DEFAULT_CSP: &str =
    "default-src 'self'; base-uri 'self'; frame-ancestors 'none'; object-src 'none'";

fn insert_if_absent(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) {
    headers.entry(name).or_insert(value);
}

/// The `Strict-Transport-Security` value: only when cookies are `Secure` (a dev server on
/// plain HTTP must not pin `localhost` to HTTPS) and the max-age is not zero.
pub(crate) fn hsts(secure_cookies: bool, max_age: Duration) -> Option<HeaderValue> {
    if !secure_cookies || max_age.is_zero() {
        return None;
    }
    HeaderValue::from_str(&format!("max-age={}", max_age.as_secs())).ok()
}

/// Adds the security headers the response does not set already.
pub(crate) fn apply(
    headers: &mut HeaderMap,
    csp: &HeaderValue,
    hsts: Option<&HeaderValue>,
    authenticated: bool,
) {
    insert_if_absent(
        headers,
        X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    insert_if_absent(
        headers,
        REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    insert_if_absent(headers, X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    insert_if_absent(headers, CONTENT_SECURITY_POLICY, csp.clone());
    if let Some(hsts) = hsts {
        insert_if_absent(headers, STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    if authenticated {
        insert_if_absent(headers, CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_missing_headers_and_keeps_the_handlers() {
        let csp = HeaderValue::from_static(DEFAULT_CSP);
        let mut h = HeaderMap::new();
        apply(&mut h, &csp, None, false);
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[REFERRER_POLICY], "same-origin");
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[CONTENT_SECURITY_POLICY], DEFAULT_CSP);
        assert!(h.get(CACHE_CONTROL).is_none());

        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src *"),
        );
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        );
        apply(&mut h, &csp, None, true);
        assert_eq!(h[CONTENT_SECURITY_POLICY], "default-src *");
        assert_eq!(h[CACHE_CONTROL], "public, max-age=60");

        let mut h = HeaderMap::new();
        apply(&mut h, &csp, None, true);
        assert_eq!(h[CACHE_CONTROL], "no-store");
        assert!(h.get(STRICT_TRANSPORT_SECURITY).is_none());
    }

    #[test]
    fn hsts_only_with_secure_cookies_and_a_max_age() {
        let year = Duration::from_secs(365 * 86_400);
        assert_eq!(hsts(true, year).unwrap(), "max-age=31536000");
        assert!(hsts(false, year).is_none(), "dev mode on plain HTTP");
        assert!(hsts(true, Duration::ZERO).is_none(), "switched off");
        let csp = HeaderValue::from_static(DEFAULT_CSP);
        let value = hsts(true, year);
        let mut h = HeaderMap::new();
        apply(&mut h, &csp, value.as_ref(), false);
        assert_eq!(h[STRICT_TRANSPORT_SECURITY], "max-age=31536000");
        let mut h = HeaderMap::new();
        h.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=60"),
        );
        apply(&mut h, &csp, value.as_ref(), false);
        assert_eq!(
            h[STRICT_TRANSPORT_SECURITY], "max-age=60",
            "the handler's own wins"
        );
    }
}
