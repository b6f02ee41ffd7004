//! CSRF defence: an origin check and a signed double-submit token, both enforced by
//! [`layers`](super::layers) on every state-changing request.
//!
//! # The rule
//!
//! A request whose method is not `GET`, `HEAD`, `OPTIONS` or `TRACE` is refused with 403
//! unless both hold:
//!
//! 1. **It comes from this site.** `Sec-Fetch-Site`, when the browser sends it, is
//!    `same-origin` or `none`; `Origin`, when present, names this host (the `Host` header,
//!    or `X-Forwarded-Host` behind a trusted proxy) on the same port, with `https` when the
//!    session cookie is `Secure`. `Origin: null` is refused.
//! 2. **It carries the token.** The `_csrf` form field (`application/x-www-form-urlencoded`
//!    bodies up to [`MAX_FORM_BYTES`], buffered and then passed on byte for byte) or the
//!    `x-csrf-token` header equals the token bound to the browser's `__Host-sigra_csrf`
//!    cookie. Requests with `Authorization: Bearer …` (API clients, which no browser sends
//!    cross-site without a CORS preflight) skip this second check.
//!
//! The cookie holds 32 random bytes (set by the layer whenever it is missing); the token is
//! `base64url(HMAC-SHA256(key, cookie))` with a key derived from the secret key base, so a
//! page can show it, an attacker who cannot read the page cannot compute it, and no server
//! state is needed. Tokens are compared in constant time. Multipart forms are not parsed:
//! send their token in the `x-csrf-token` header.
//!
//! Checking the origin first is cheap and stops login CSRF and cross-site form posts even
//! before a token exists; the token covers old browsers that send neither header.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri, request::Parts};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use subtle::ConstantTimeEq as _;

use super::error::{ApiError, escape_html, respond};
use super::extract::SigraRejection;
use crate::keys::DerivedKey;

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "_csrf";

/// The request header that carries the token (for `fetch` calls and multipart forms).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The largest form body the layer buffers to find the token; a bigger one gets 413.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Length of the CSRF cookie value: 32 random bytes in base64url.
const COOKIE_VALUE_LEN: usize = 43;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The CSRF token for this browser, to put in every form (and in `x-csrf-token` for
/// `fetch` calls). Extract it in the handler that renders the form.
///
/// Rejects (with a message naming the fix) only when [`layers`](super::layers) is not
/// installed. Its `Debug` is redacted.
///
/// ```ignore
/// async fn new_session(csrf: CsrfToken) -> Html<String> {
///     Html(format!("<form method=post>{}<input name=email>…</form>", csrf.hidden_input()))
/// }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token (base64url, 43 characters).
    ///
    /// ```ignore
    /// format!(r#"<input type="hidden" name="_csrf" value="{}">"#, csrf.as_str())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A ready-made `<input type="hidden" name="_csrf" value="…">`.
    ///
    /// ```ignore
    /// let field = csrf.hidden_input();
    /// ```
    pub fn hidden_input(&self) -> String {
        format!(
            r#"<input type="hidden" name="{CSRF_FIELD}" value="{}">"#,
            escape_html(&self.0)
        )
    }
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken([REDACTED])")
    }
}

impl<St: Send + Sync> FromRequestParts<St> for CsrfToken {
    type Rejection = SigraRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(SigraRejection::layer_missing)
    }
}

/// The HMAC key that binds tokens to cookie values.
#[derive(Clone)]
pub(crate) struct CsrfKey(DerivedKey);

impl CsrfKey {
    pub(crate) fn new(key: DerivedKey) -> Self {
        Self(key)
    }

    fn mac(&self, cookie_value: &str) -> Option<[u8; 32]> {
        let mut mac = HmacSha256::new_from_slice(self.0.as_bytes()).ok()?;
        mac.update(cookie_value.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// The token for a cookie value.
    pub(crate) fn token_for(&self, cookie_value: &str) -> Option<CsrfToken> {
        self.mac(cookie_value)
            .map(|mac| CsrfToken(URL_SAFE_NO_PAD.encode(mac)))
    }

    /// Whether `submitted` is the token for `cookie_value`, compared in constant time.
    pub(crate) fn verify(&self, cookie_value: &str, submitted: &str) -> bool {
        let Some(expected) = self.token_for(cookie_value) else {
            return false;
        };
        bool::from(expected.0.as_bytes().ct_eq(submitted.trim().as_bytes()))
    }
}

/// A fresh random cookie value.
pub(crate) fn mint_cookie_value() -> Result<String, crate::random::RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(crate::random::bytes::<32>()?))
}

/// Whether a cookie value has the shape the layer mints (anything else is replaced).
pub(crate) fn is_valid_cookie_value(value: &str) -> bool {
    value.len() == COOKIE_VALUE_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Methods that must not change state, so need no check.
pub(crate) fn is_safe_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CsrfFailure {
    /// `Sec-Fetch-Site` or `Origin` says another site sent it.
    CrossSite(&'static str),
    /// No token in the header or the form.
    MissingToken,
    /// A token that does not match the cookie (or no cookie).
    WrongToken,
    /// The form body is over [`MAX_FORM_BYTES`].
    TooLarge,
    /// The body could not be read.
    UnreadableBody,
}

impl CsrfFailure {
    pub(crate) fn into_response(self, api: bool) -> Response {
        match self {
            Self::CrossSite(_) => respond(
                api,
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "this request came from another site and was refused",
                ),
                "Forbidden",
            ),
            Self::MissingToken | Self::WrongToken => respond(
                api,
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "the form has expired or is not valid; reload the page and try again",
                ),
                "Forbidden",
            ),
            Self::TooLarge => respond(
                api,
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the form is larger than {} KiB", MAX_FORM_BYTES / 1024),
                ),
                "Payload Too Large",
            ),
            Self::UnreadableBody => respond(
                api,
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "the request body could not be read",
                ),
                "Bad Request",
            ),
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Self::CrossSite(why) => why,
            Self::MissingToken => "missing token",
            Self::WrongToken => "wrong token",
            Self::TooLarge => "form too large",
            Self::UnreadableBody => "unreadable body",
        }
    }
}

/// How origins are matched.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OriginPolicy {
    /// Require `https` origins (the session cookie is `Secure`).
    pub(crate) require_https: bool,
    /// Accept `X-Forwarded-Host` as this host (a proxy is trusted).
    pub(crate) trust_forwarded_host: bool,
}

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_CSRF_TOKEN: HeaderName = HeaderName::from_static(CSRF_HEADER);

/// Check (1): the request comes from this site.
pub(crate) fn check_origin(
    headers: &HeaderMap,
    uri: &Uri,
    policy: OriginPolicy,
) -> Result<(), CsrfFailure> {
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        let site = site.as_bytes();
        if !(site.eq_ignore_ascii_case(b"same-origin") || site.eq_ignore_ascii_case(b"none")) {
            return Err(CsrfFailure::CrossSite("Sec-Fetch-Site is not same-origin"));
        }
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .ok()
        .and_then(parse_origin)
        .ok_or(CsrfFailure::CrossSite(
            "Origin is null or not a valid origin",
        ))?;
    if policy.require_https && origin.scheme != "https" {
        return Err(CsrfFailure::CrossSite("Origin is not https"));
    }
    let mut hosts: Vec<Authority> = Vec::with_capacity(2);
    if let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) {
        hosts.extend(host.trim().parse::<Authority>().ok());
    } else if let Some(authority) = uri.authority() {
        hosts.push(authority.clone());
    }
    if policy.trust_forwarded_host {
        let forwarded = headers
            .get_all(X_FORWARDED_HOST)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back();
        if let Some(host) = forwarded {
            hosts.extend(host.trim().parse::<Authority>().ok());
        }
    }
    if hosts.iter().any(|host| origin.matches(host)) {
        Ok(())
    } else {
        Err(CsrfFailure::CrossSite("Origin does not match Host"))
    }
}

struct Origin {
    scheme: String,
    authority: Authority,
}

impl Origin {
    fn default_port(&self) -> Option<u16> {
        match self.scheme.as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        }
    }

    fn matches(&self, host: &Authority) -> bool {
        if !self.authority.host().eq_ignore_ascii_case(host.host()) {
            return false;
        }
        let origin_port = self.authority.port_u16().or(self.default_port());
        match host.port_u16() {
            Some(port) => origin_port == Some(port),
            None => origin_port == self.default_port(),
        }
    }
}

/// Parses `scheme://host[:port]` (a serialised origin); `None` for `null` or anything else.
fn parse_origin(value: &str) -> Option<Origin> {
    let uri: Uri = value.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?.clone();
    if authority.as_str().contains('@') || uri.query().is_some() {
        return None;
    }
    if !matches!(uri.path(), "" | "/") {
        return None;
    }
    Some(Origin { scheme, authority })
}

fn is_bearer(headers: &HeaderMap) -> bool {
    headers.get(AUTHORIZATION).is_some_and(|v| {
        v.as_bytes()
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
    })
}

fn is_form(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| {
        let essence = v.as_bytes().split(|b| *b == b';').next().unwrap_or(b"");
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
    })
}

/// Check (2): the token in the header or the form matches the cookie (`cookie_value` is
/// `None` when the browser sent no valid CSRF cookie). Returns the request with its body
/// intact (re-assembled from the buffered bytes when the form was read).
pub(crate) async fn check_token(
    req: Request,
    key: &CsrfKey,
    cookie_value: Option<&str>,
) -> Result<Request, CsrfFailure> {
    if is_bearer(req.headers()) {
        return Ok(req);
    }
    if let Some(header) = req.headers().get(X_CSRF_TOKEN) {
        let submitted = header.to_str().map_err(|_| CsrfFailure::WrongToken)?;
        return match cookie_value {
            Some(cookie) if key.verify(cookie, submitted) => Ok(req),
            _ => Err(CsrfFailure::WrongToken),
        };
    }
    if !is_form(req.headers()) {
        return Err(CsrfFailure::MissingToken);
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES as u64) {
        return Err(CsrfFailure::TooLarge);
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_FORM_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(CsrfFailure::TooLarge);
        }
        Err(_) => return Err(CsrfFailure::UnreadableBody),
    };
    let submitted = form_field(&bytes, CSRF_FIELD).ok_or(CsrfFailure::MissingToken)?;
    match cookie_value {
        Some(cookie) if key.verify(cookie, &submitted) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(CsrfFailure::WrongToken),
    }
}

/// Runs both checks; logs refusals.
pub(crate) async fn check(
    req: Request,
    key: &CsrfKey,
    cookie_value: Option<&str>,
    policy: OriginPolicy,
) -> Result<Request, CsrfFailure> {
    let result = match check_origin(req.headers(), req.uri(), policy) {
        Ok(()) => check_token(req, key, cookie_value).await,
        Err(failure) => Err(failure),
    };
    if let Err(failure) = &result {
        tracing::info!(target: "sigra::web::csrf", reason = failure.reason(), "refused a state-changing request");
    }
    result
}

/// The first value of field `name` in an `application/x-www-form-urlencoded` body
/// (`+` is a space, `%XX` escapes decoded; a value that is not UTF-8 is no value).
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(eq) => (pair.get(..eq)?, pair.get(eq + 1..)?),
            None => (pair, &b""[..]),
        };
        (decode_form(key)? == name).then(|| decode_form(value))?
    })
}

fn decode_form(bytes: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = bytes
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn key() -> CsrfKey {
        let base = crate::keys::SecretKeyBase::new(vec![3u8; 64]).unwrap();
        CsrfKey::new(base.derive("sigra/web/csrf").unwrap())
    }

    const POLICY: OriginPolicy = OriginPolicy {
        require_https: true,
        trust_forwarded_host: false,
    };

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn origin_ok(pairs: &[(&str, &str)], policy: OriginPolicy) -> bool {
        check_origin(&headers(pairs), &Uri::from_static("/x"), policy).is_ok()
    }

    #[test]
    fn tokens_bind_to_the_cookie() {
        let k = key();
        let cookie = mint_cookie_value().unwrap();
        assert!(is_valid_cookie_value(&cookie));
        let token = k.token_for(&cookie).unwrap();
        assert_eq!(token.as_str().len(), 43);
        assert!(k.verify(&cookie, token.as_str()));
        let other = mint_cookie_value().unwrap();
        assert!(!k.verify(&other, token.as_str()));
        assert!(!k.verify(&cookie, ""));
        assert!(!k.verify(&cookie, &token.as_str()[..42]));
        let base = crate::keys::SecretKeyBase::new(vec![4u8; 64]).unwrap();
        let other_key = CsrfKey::new(base.derive("sigra/web/csrf").unwrap());
        assert!(!other_key.verify(&cookie, token.as_str()));
        assert_eq!(format!("{token:?}"), "CsrfToken([REDACTED])");
        assert!(token.hidden_input().contains(token.as_str()));
    }

    #[test]
    fn cookie_values_must_have_the_minted_shape() {
        assert!(!is_valid_cookie_value(""));
        assert!(!is_valid_cookie_value(&"a".repeat(42)));
        assert!(!is_valid_cookie_value(&format!("{}=", "a".repeat(42))));
        assert!(is_valid_cookie_value(
            &"a-_"
                .repeat(14)
                .chars()
                .chain("b".chars())
                .collect::<String>()
        ));
    }

    #[test]
    fn origin_rules() {
        let host = ("host", "example.com");
        assert!(origin_ok(&[host], POLICY), "no Origin, no Sec-Fetch-Site");
        assert!(origin_ok(
            &[host, ("origin", "https://example.com")],
            POLICY
        ));
        assert!(origin_ok(
            &[host, ("origin", "https://EXAMPLE.com:443")],
            POLICY
        ));
        assert!(origin_ok(
            &[
                ("host", "example.com:8443"),
                ("origin", "https://example.com:8443")
            ],
            POLICY
        ));
        assert!(!origin_ok(
            &[
                ("host", "example.com:8443"),
                ("origin", "https://example.com")
            ],
            POLICY
        ));
        assert!(!origin_ok(
            &[host, ("origin", "https://evil.example")],
            POLICY
        ));
        assert!(!origin_ok(
            &[host, ("origin", "https://example.com.evil.example")],
            POLICY
        ));
        assert!(
            !origin_ok(&[host, ("origin", "http://example.com")], POLICY),
            "https required"
        );
        assert!(!origin_ok(&[host, ("origin", "null")], POLICY));
        assert!(!origin_ok(
            &[host, ("origin", "https://example.com/path")],
            POLICY
        ));
        assert!(!origin_ok(
            &[host, ("origin", "https://u@example.com")],
            POLICY
        ));
        assert!(!origin_ok(&[host, ("origin", "garbage")], POLICY));
        assert!(
            !origin_ok(&[("origin", "https://example.com")], POLICY),
            "no host at all"
        );
        let dev = OriginPolicy {
            require_https: false,
            trust_forwarded_host: false,
        };
        assert!(origin_ok(
            &[
                ("host", "localhost:3000"),
                ("origin", "http://localhost:3000")
            ],
            dev
        ));
        assert!(!origin_ok(
            &[
                ("host", "localhost:3000"),
                ("origin", "http://localhost:4000")
            ],
            dev
        ));
        assert!(origin_ok(
            &[("host", "[::1]:3000"), ("origin", "http://[::1]:3000")],
            dev
        ));
    }

    #[test]
    fn sec_fetch_site_rules() {
        let host = ("host", "example.com");
        assert!(origin_ok(
            &[host, ("sec-fetch-site", "same-origin")],
            POLICY
        ));
        assert!(origin_ok(&[host, ("sec-fetch-site", "none")], POLICY));
        assert!(!origin_ok(&[host, ("sec-fetch-site", "same-site")], POLICY));
        assert!(!origin_ok(
            &[host, ("sec-fetch-site", "cross-site")],
            POLICY
        ));
        assert!(!origin_ok(&[host, ("sec-fetch-site", "")], POLICY));
    }

    #[test]
    fn forwarded_host_counts_only_behind_a_trusted_proxy() {
        let pairs = [
            ("host", "127.0.0.1:3000"),
            ("x-forwarded-host", "example.com"),
            ("origin", "https://example.com"),
        ];
        assert!(!origin_ok(&pairs, POLICY));
        let trusted = OriginPolicy {
            trust_forwarded_host: true,
            ..POLICY
        };
        assert!(origin_ok(&pairs, trusted));
    }

    #[test]
    fn form_fields_decode() {
        assert_eq!(
            form_field(b"a=1&_csrf=tok&b=2", "_csrf").as_deref(),
            Some("tok")
        );
        assert_eq!(
            form_field(b"%5Fcsrf=a%2Bb+c", "_csrf").as_deref(),
            Some("a+b c")
        );
        assert_eq!(
            form_field(b"_csrf=first&_csrf=second", "_csrf").as_deref(),
            Some("first")
        );
        assert_eq!(form_field(b"_csrf", "_csrf").as_deref(), Some(""));
        assert_eq!(form_field(b"_csrf=%FF", "_csrf"), None);
        assert_eq!(form_field(b"", "_csrf"), None);
    }

    #[test]
    fn method_and_content_type_detection() {
        assert!(is_safe_method(&Method::GET) && is_safe_method(&Method::HEAD));
        assert!(!is_safe_method(&Method::POST) && !is_safe_method(&Method::DELETE));
        assert!(!is_safe_method(&Method::from_bytes(b"PURGE").unwrap()));
        assert!(is_form(&headers(&[(
            "content-type",
            "Application/X-WWW-Form-Urlencoded; charset=utf-8"
        )])));
        assert!(!is_form(&headers(&[(
            "content-type",
            "multipart/form-data; boundary=x"
        )])));
        assert!(is_bearer(&headers(&[("authorization", "bearer abc")])));
        assert!(!is_bearer(&headers(&[("authorization", "Basic abc")])));
    }

    fn form_request(body: &'static [u8], extra: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/x")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in extra {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::from(body)).unwrap()
    }

    #[tokio::test]
    async fn the_form_is_buffered_and_passed_on_intact() {
        let k = key();
        let cookie = "c".repeat(43);
        let token = k.token_for(&cookie).unwrap();
        let body = format!("email=a%40b.c&_csrf={}&x=%FF", token.as_str());
        let body: &'static [u8] = Box::leak(body.into_bytes().into_boxed_slice());
        let req = check_token(form_request(body, &[]), &k, Some(&cookie))
            .await
            .unwrap();
        let passed = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&passed[..], body);

        let err = check_token(form_request(b"_csrf=nope", &[]), &k, Some(&cookie))
            .await
            .unwrap_err();
        assert_eq!(err, CsrfFailure::WrongToken);
        let err = check_token(form_request(b"a=1", &[]), &k, Some(&cookie))
            .await
            .unwrap_err();
        assert_eq!(err, CsrfFailure::MissingToken);
        let err = check_token(form_request(body, &[]), &k, None)
            .await
            .unwrap_err();
        assert_eq!(err, CsrfFailure::WrongToken, "no cookie, no valid token");
    }

    #[tokio::test]
    async fn header_tokens_and_bearer_requests() {
        let k = key();
        let cookie = "d".repeat(43);
        let token = k.token_for(&cookie).unwrap();
        let json = Request::builder()
            .method(Method::POST)
            .header(CSRF_HEADER, token.as_str())
            .body(Body::from("{}"))
            .unwrap();
        assert!(check_token(json, &k, Some(&cookie)).await.is_ok());
        let wrong = form_request(b"_csrf=irrelevant", &[(CSRF_HEADER, "wrong")]);
        assert_eq!(
            check_token(wrong, &k, Some(&cookie)).await.unwrap_err(),
            CsrfFailure::WrongToken
        );
        let bare_json = Request::builder()
            .method(Method::POST)
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(
            check_token(bare_json, &k, Some(&cookie)).await.unwrap_err(),
            CsrfFailure::MissingToken
        );
        let bearer = Request::builder()
            .method(Method::POST)
            .header(AUTHORIZATION, "Bearer sigra_sk_x")
            .body(Body::empty())
            .unwrap();
        assert!(check_token(bearer, &k, None).await.is_ok());
    }

    #[tokio::test]
    async fn oversized_forms_are_refused_declared_or_not() {
        let k = key();
        let big: &'static [u8] = Box::leak(vec![b'a'; MAX_FORM_BYTES + 1].into_boxed_slice());
        let err = check_token(form_request(big, &[]), &k, Some(&"c".repeat(43)))
            .await
            .unwrap_err();
        assert_eq!(err, CsrfFailure::TooLarge);
        // The declared length alone is enough to refuse, before reading anything.
        let declared = form_request(b"_csrf=x", &[("content-length", "1000000")]);
        assert_eq!(
            check_token(declared, &k, Some(&"c".repeat(43)))
                .await
                .unwrap_err(),
            CsrfFailure::TooLarge
        );
        assert_eq!(
            CsrfFailure::TooLarge.into_response(true).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    proptest! {
        #[test]
        fn arbitrary_form_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = form_field(&body, CSRF_FIELD);
        }

        #[test]
        fn arbitrary_origins_never_panic(origin in "\\PC{0,80}", host in "\\PC{0,40}") {
            if let (Ok(o), Ok(h)) = (HeaderValue::from_str(&origin), HeaderValue::from_str(&host)) {
                let mut headers = HeaderMap::new();
                headers.insert(ORIGIN, o);
                headers.insert(HOST, h);
                let _ = check_origin(&headers, &Uri::from_static("/"), POLICY);
            }
        }

        #[test]
        fn tokens_verify_for_any_cookie(cookie in "[A-Za-z0-9_-]{43}") {
            let k = key();
            let token = k.token_for(&cookie).unwrap();
            prop_assert!(k.verify(&cookie, token.as_str()));
        }
    }
}
