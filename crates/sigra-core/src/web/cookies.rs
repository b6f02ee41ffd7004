//! Reading request cookies and writing `Set-Cookie` headers: the session cookie helpers for
//! handlers, and the names of the layer's own CSRF and flash cookies.
//!
//! One parser and one writer, both the [`cookie`] crate's (through `crate::session`): parsing
//! is total — every `Cookie` header is read (lossily if it is not UTF-8), pairs that do not
//! parse are skipped, values that were not valid UTF-8 count as absent, and the first pair
//! with the exact name wins. With the
//! `__Host-` prefix (the default when the cookie is `Secure`) no subdomain or path can plant
//! a second cookie of the same name.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Request, request::Parts};
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};

use crate::auth::{LoggedIn, Sigra};
use crate::config::{CookieConfig, SameSite};
use crate::session::{SessionCookie, cookie_max_age, read_cookie, write_set_cookie};
use crate::store::Store;

/// Anything that carries request headers: a [`HeaderMap`], request [`Parts`] or a whole
/// [`Request`]. Lets [`session_cookie_value`] take whichever a handler has.
///
/// ```
/// use axum::http::HeaderMap;
/// use sigra_core::web::CookieSource;
/// let headers = HeaderMap::new();
/// assert!(headers.cookie_headers().is_empty());
/// ```
pub trait CookieSource {
    /// The request headers.
    fn cookie_headers(&self) -> &HeaderMap;
}

impl CookieSource for HeaderMap {
    fn cookie_headers(&self) -> &HeaderMap {
        self
    }
}

impl CookieSource for Parts {
    fn cookie_headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl<B> CookieSource for Request<B> {
    fn cookie_headers(&self) -> &HeaderMap {
        self.headers()
    }
}

impl<T: CookieSource + ?Sized> CookieSource for &T {
    fn cookie_headers(&self) -> &HeaderMap {
        (**self).cookie_headers()
    }
}

/// Finds the value of the cookie `name` in the request's `Cookie` headers (all of them:
/// HTTP/2 may split cookies over several), with sigra-core's one parser
/// ([`read_cookie`](crate::session)). A header that is not UTF-8 is read lossily, and a value
/// that was not valid UTF-8 counts as absent.
pub(crate) fn find_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().find_map(|header| {
        let text = String::from_utf8_lossy(header.as_bytes());
        read_cookie(&text, name).filter(|value| !value.contains(char::REPLACEMENT_CHARACTER))
    })
}

/// The names of the cookies the web layer reads and writes, from the session cookie's
/// configuration: `__Host-` prefixed exactly when the session cookie is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CookieNames {
    pub(crate) session: String,
    pub(crate) csrf: String,
    pub(crate) flash: String,
    pub(crate) device: String,
    pub(crate) mfa_trust: String,
    pub(crate) registration: String,
    pub(crate) secure: bool,
}

impl CookieNames {
    pub(crate) fn new(config: &CookieConfig) -> Self {
        let prefix = if config.secure && config.host_prefix {
            "__Host-"
        } else {
            ""
        };
        Self {
            session: config.effective_name(),
            csrf: format!("{prefix}sigra_csrf"),
            flash: format!("{prefix}sigra_flash"),
            device: format!("{prefix}sigra_device"),
            mfa_trust: format!("{prefix}sigra_mfa_trust"),
            registration: format!("{prefix}{}", super::REGISTRATION_COOKIE),
            secure: config.secure,
        }
    }

    /// A `Set-Cookie` value for one of the layer's own cookies (CSRF, flash): `HttpOnly`,
    /// `Path=/`, `SameSite=Lax`, `Secure` when configured; a browser-session cookie.
    pub(crate) fn set(&self, name: &str, value: &str) -> Option<HeaderValue> {
        HeaderValue::try_from(write_set_cookie(
            name,
            value,
            self.secure,
            SameSite::Lax,
            None,
        ))
        .ok()
    }

    /// A persistent `Set-Cookie` value (`Max-Age`), otherwise as [`set`](Self::set).
    pub(crate) fn set_for(&self, name: &str, value: &str, max_age: Duration) -> String {
        write_set_cookie(name, value, self.secure, SameSite::Lax, Some(max_age))
    }

    /// A `Set-Cookie` value deleting one of the layer's own cookies.
    pub(crate) fn clear(&self, name: &str) -> Option<HeaderValue> {
        HeaderValue::try_from(self.set_for(name, "", Duration::ZERO)).ok()
    }
}

/// Whether the response already sets (or deletes) the cookie `name`.
pub(crate) fn response_sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers.get_all(SET_COOKIE).iter().any(|value| {
        let bytes = value.as_bytes();
        bytes
            .iter()
            .position(|b| *b == b'=')
            .and_then(|eq| bytes.get(..eq))
            .is_some_and(|key| key.trim_ascii() == name.as_bytes())
    })
}

/// A `Set-Cookie` header as a response part: use it in a handler's response tuple, e.g.
/// `(session_cookie(&sigra, &logged_in), Redirect::to("/"))`.
///
/// ```
/// use axum::response::IntoResponse;
/// use sigra_core::web::SetCookie;
/// let part = SetCookie::new("theme=dark; Path=/").unwrap();
/// let response = (part, "ok").into_response();
/// assert_eq!(response.headers()["set-cookie"], "theme=dark; Path=/");
/// ```
#[derive(Clone)]
pub struct SetCookie(Option<HeaderValue>);

impl SetCookie {
    /// Wraps a complete `Set-Cookie` header value; `None` if it is not a valid header value.
    ///
    /// ```
    /// assert!(sigra_core::web::SetCookie::new("a=b\n").is_none());
    /// ```
    pub fn new(value: &str) -> Option<Self> {
        HeaderValue::try_from(value).ok().map(|v| Self(Some(v)))
    }

    pub(crate) fn from_string(value: String) -> Self {
        match HeaderValue::try_from(value) {
            Ok(v) => Self(Some(v)),
            Err(_) => {
                tracing::error!(target: "sigra::web", "a Set-Cookie value was not a valid header; cookie not sent");
                Self(None)
            }
        }
    }
}

impl std::fmt::Debug for SetCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value may carry a session token.
        f.write_str("SetCookie([REDACTED])")
    }
}

impl IntoResponseParts for SetCookie {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Infallible> {
        if let Some(value) = self.0 {
            res.headers_mut().append(SET_COOKIE, value);
        }
        Ok(res)
    }
}

impl IntoResponse for SetCookie {
    fn into_response(self) -> Response {
        (self, ()).into_response()
    }
}

/// The `Set-Cookie` for a fresh login: the session cookie as configured (`__Host-` name,
/// `HttpOnly`, `SameSite`, `Secure`), with `Max-Age` for a remember-me session and none
/// (a browser-session cookie) otherwise.
///
/// ```ignore
/// LoginAttempt::Success(logged_in) => {
///     (session_cookie(&sigra, &logged_in), Redirect::to("/")).into_response()
/// }
/// ```
pub fn session_cookie<S: Store>(sigra: &Sigra<S>, logged_in: &LoggedIn) -> SetCookie {
    let cookie = SessionCookie::new(sigra.config().cookie());
    let max_age: Option<Duration> =
        cookie_max_age(logged_in.session.kind, sigra.config().session());
    SetCookie::from_string(cookie.set(&logged_in.token.cookie_value(), max_age))
}

/// The `Set-Cookie` for the device cookie a password login issued
/// ([`LoggedIn::device_cookie`]): `__Host-sigra_device` (no prefix when the session cookie
/// is insecure), `HttpOnly`, `SameSite=Lax`, `Secure` as configured, `Max-Age` of
/// `lockout.device_cookie_ttl`. Nothing when the login issued none (a magic link, sudo, a
/// confirmation link), so it can sit beside [`session_cookie`] in every login response.
///
/// The browser sends it back on its next login; the web layer puts it in
/// [`RequestMeta::device`](crate::audit::RequestMeta::device), and the account's lock for
/// unknown clients then does not refuse it (see [`Sigra::log_in`]). Keep it out of logout:
/// it is not a session, and the browser should stay a known device.
///
/// ```ignore
/// LoginAttempt::Success(logged_in) => (
///     session_cookie(&sigra, &logged_in),
///     device_cookie(&sigra, &logged_in),
///     Redirect::to("/"),
/// )
///     .into_response(),
/// ```
pub fn device_cookie<S: Store>(sigra: &Sigra<S>, logged_in: &LoggedIn) -> SetCookie {
    let Some(device) = &logged_in.device_cookie else {
        return SetCookie(None);
    };
    let names = CookieNames::new(sigra.config().cookie());
    let max_age = sigra.config().lockout().device_cookie_ttl;
    SetCookie::from_string(names.set_for(&names.device, device.as_str(), max_age))
}

/// The `Set-Cookie` for the "trust this browser" cookie the MFA step issued
/// ([`LoggedIn::mfa_trust_cookie`]): `__Host-sigra_mfa_trust` (no prefix when the session
/// cookie is insecure), `HttpOnly`, `SameSite=Lax`, `Secure` as configured, `Max-Age` of
/// `mfa.trust_ttl`. Nothing when none was issued, so it can sit beside [`session_cookie`]
/// in every MFA response. The web layer reads it back into
/// [`RequestMeta::mfa_trust`](crate::audit::RequestMeta::mfa_trust); keep it out of logout.
///
/// ```ignore
/// let logged_in = sigra.verify_mfa(&cookie, &code, false, true, &meta).await?;
/// (session_cookie(&sigra, &logged_in), mfa_trust_cookie(&sigra, &logged_in), Redirect::to("/"))
/// ```
pub fn mfa_trust_cookie<S: Store>(sigra: &Sigra<S>, logged_in: &LoggedIn) -> SetCookie {
    let Some(trust) = &logged_in.mfa_trust_cookie else {
        return SetCookie(None);
    };
    let names = CookieNames::new(sigra.config().cookie());
    let max_age = sigra.config().mfa().trust_ttl;
    SetCookie::from_string(names.set_for(&names.mfa_trust, trust.as_str(), max_age))
}

/// The `Set-Cookie` that deletes the session cookie (after logging out).
///
/// ```ignore
/// (clear_session_cookie(&sigra), Redirect::to("/")).into_response()
/// ```
pub fn clear_session_cookie<S: Store>(sigra: &Sigra<S>) -> SetCookie {
    SetCookie::from_string(SessionCookie::new(sigra.config().cookie()).clear())
}

/// The raw session cookie value of a request (for [`Sigra::log_out`]), or `None`.
///
/// ```ignore
/// async fn log_out(State(sigra): State<Sigra<Db>>, ClientMeta(meta): ClientMeta, headers: HeaderMap) -> Response {
///     if let Some(value) = session_cookie_value(&headers, &sigra) {
///         sigra.log_out(&value, &meta).await?;
///     }
///     (clear_session_cookie(&sigra), Redirect::to("/")).into_response()
/// }
/// ```
pub fn session_cookie_value<S: Store>(
    from: &impl CookieSource,
    sigra: &Sigra<S>,
) -> Option<String> {
    let name = sigra.config().cookie().effective_name();
    find_cookie(from.cookie_headers(), &name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_exact_names_across_headers() {
        let h = headers(&[b"a=1; xsid=2", b"sid=3; sid=4"]);
        assert_eq!(find_cookie(&h, "sid").as_deref(), Some("3"));
        assert_eq!(find_cookie(&h, "a").as_deref(), Some("1"));
        assert_eq!(find_cookie(&h, "b"), None);
        let h = headers(&[b"sid=\"quoted\"", b"empty="]);
        assert_eq!(find_cookie(&h, "sid").as_deref(), Some("quoted"));
        assert_eq!(find_cookie(&h, "empty").as_deref(), Some(""));
    }

    #[test]
    fn invalid_utf8_and_garbage_are_skipped() {
        let h = headers(&[b"sid=\xff\xfe; ok=1", b";;;==;=x; sid"]);
        assert_eq!(find_cookie(&h, "sid"), None);
        assert_eq!(find_cookie(&h, "ok").as_deref(), Some("1"));
    }

    #[test]
    fn names_follow_the_session_cookie() {
        let names = CookieNames::new(&CookieConfig::default());
        assert_eq!(names.session, "__Host-sigra_session");
        assert_eq!(names.csrf, "__Host-sigra_csrf");
        assert_eq!(names.flash, "__Host-sigra_flash");
        assert_eq!(names.device, "__Host-sigra_device");
        assert_eq!(
            names.set_for(&names.device, "v", Duration::from_secs(60)),
            "__Host-sigra_device=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60"
        );
        let set = names.set(&names.csrf, "v").unwrap();
        assert_eq!(
            set,
            "__Host-sigra_csrf=v; HttpOnly; SameSite=Lax; Secure; Path=/"
        );
        assert!(names.set("x", "bad\nvalue").is_none());
        let plain = CookieNames::new(&CookieConfig {
            secure: false,
            ..CookieConfig::default()
        });
        assert_eq!(plain.csrf, "sigra_csrf");
        assert_eq!(
            plain.clear(&plain.flash).unwrap(),
            "sigra_flash=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn detects_cookies_a_response_sets() {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        h.append(SET_COOKIE, HeaderValue::from_static("__Host-s=; Max-Age=0"));
        assert!(response_sets_cookie(&h, "a"));
        assert!(response_sets_cookie(&h, "__Host-s"));
        assert!(!response_sets_cookie(&h, "s"));
    }

    #[test]
    fn set_cookie_debug_is_redacted() {
        let part = SetCookie::new("s=secret").unwrap();
        assert_eq!(format!("{part:?}"), "SetCookie([REDACTED])");
    }

    proptest! {
        #[test]
        fn arbitrary_cookie_headers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), name in "[a-z_]{0,8}") {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let mut h = HeaderMap::new();
                h.append(COOKIE, value);
                let _ = find_cookie(&h, &name);
            }
        }

        #[test]
        fn written_values_are_found(value in "[A-Za-z0-9_-]{0,64}") {
            let h = headers(&[format!("other=1; sid={value}; z=2").as_bytes()]);
            let found = find_cookie(&h, "sid");
            prop_assert_eq!(found.as_deref(), Some(value.as_str()));
        }
    }
}
