//! Extractors: who is logged in, whether they are in sudo mode, and who is asking.
//!
//! [`layers`](super::layers) loads the session once per request and leaves the result in
//! the request; these extractors only read it, so a handler that takes `CurrentUser` and a
//! guard that takes `RequireUser` cost one database read together, not two. They work with
//! any router state: they never need the [`Sigra`](crate::auth::Sigra) value itself.
//!
//! Refusals depend on who is asking. A browser (HTML) is redirected with `303 See Other`
//! to `/users/log_in?return_to=<path>` (or `/users/sudo?return_to=<path>`); an API client
//! (`Accept: application/json`, or a path under `/api/`) gets an [`ApiError`]: 401
//! `unauthenticated` or 403 `sudo_required`. `return_to` is only added for `GET` requests
//! (returning to a form's POST URL would fail); validate it with [`safe_return_to`] before
//! redirecting there.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::{ACCEPT, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::error::{ApiError, respond};
use crate::audit::RequestMeta;
use crate::auth::Authenticated;

/// Where browsers that must log in are sent by default
/// ([`WebConfig::login_path`](crate::config::WebConfig::login_path), `SIGRA_LOGIN_PATH`).
pub const LOG_IN_PATH: &str = "/users/log_in";

/// Where browsers that must confirm their password (sudo mode) are sent by default
/// ([`WebConfig::sudo_path`](crate::config::WebConfig::sudo_path), `SIGRA_SUDO_PATH`).
pub const SUDO_PATH: &str = "/users/sudo";

/// The configured login and sudo pages, put on each request by the layers.
#[derive(Clone, Debug)]
pub(crate) struct AuthPaths {
    login: Arc<str>,
    sudo: Arc<str>,
}

impl AuthPaths {
    pub(crate) fn new(config: &crate::config::WebConfig) -> Self {
        Self {
            login: Arc::from(config.login_path.as_str()),
            sudo: Arc::from(config.sudo_path.as_str()),
        }
    }
}

impl Default for AuthPaths {
    fn default() -> Self {
        Self {
            login: Arc::from(LOG_IN_PATH),
            sudo: Arc::from(SUDO_PATH),
        }
    }
}

fn paths(parts: &Parts) -> AuthPaths {
    parts
        .extensions
        .get::<AuthPaths>()
        .cloned()
        .unwrap_or_default()
}

/// The longest `return_to` path carried in a redirect, in bytes.
const MAX_RETURN_TO: usize = 2048;

/// What the layer found for this request's session.
#[derive(Clone, Debug)]
pub(crate) enum LoadedSession {
    /// No session cookie, or one that no longer names a valid session.
    Anonymous,
    /// A valid session; `sudo` says whether it is inside the sudo window.
    User {
        auth: Arc<Authenticated>,
        sudo: bool,
    },
    /// The store failed; the user is treated as anonymous by `CurrentUser` and guarded
    /// routes answer 500.
    Unavailable,
}

/// Why an extractor refused. Each variant answers with the right status and body for the
/// caller (a redirect for browsers, an [`ApiError`] for API clients).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SigraRejection {
    /// [`layers`](super::layers) is not installed on the router serving this handler: a
    /// wiring mistake, answered with 500 and a message naming the fix.
    LayerMissing,
    /// Nobody is logged in.
    LoginRequired {
        /// Answer with JSON rather than a redirect.
        api: bool,
        /// The login page browsers are sent to (`web.login_path`).
        to: String,
        /// The path to come back to after logging in, if any.
        return_to: Option<String>,
    },
    /// Logged in, but not within the sudo window.
    SudoRequired {
        /// Answer with JSON rather than a redirect.
        api: bool,
        /// The page browsers are sent to (`web.sudo_path`).
        to: String,
        /// The path to come back to after confirming, if any.
        return_to: Option<String>,
    },
    /// The session could not be loaded (the store failed).
    Unavailable {
        /// Answer with JSON rather than a page.
        api: bool,
    },
}

/// The message for [`SigraRejection::LayerMissing`].
pub(crate) const LAYER_MISSING: &str = "sigra_core::web::layers is not installed on this router: add `.layer(sigra_core::web::layers(sigra.clone()))` to the Router that serves this handler";

impl SigraRejection {
    pub(crate) fn layer_missing() -> Self {
        tracing::error!(target: "sigra::web", "{LAYER_MISSING}");
        Self::LayerMissing
    }

    /// The status this rejection answers with.
    ///
    /// ```
    /// use sigra_core::web::SigraRejection;
    /// let r = SigraRejection::LoginRequired { api: true, to: "/users/log_in".into(), return_to: None };
    /// assert_eq!(r.status().as_u16(), 401);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::LayerMissing | Self::Unavailable { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::LoginRequired { api: true, .. } => StatusCode::UNAUTHORIZED,
            Self::SudoRequired { api: true, .. } => StatusCode::FORBIDDEN,
            Self::LoginRequired { .. } | Self::SudoRequired { .. } => StatusCode::SEE_OTHER,
        }
    }
}

impl std::fmt::Display for SigraRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LayerMissing => f.write_str(LAYER_MISSING),
            Self::LoginRequired { .. } => f.write_str("log in to continue"),
            Self::SudoRequired { .. } => f.write_str("confirm your password to continue"),
            Self::Unavailable { .. } => f.write_str("something went wrong; try again"),
        }
    }
}

impl std::error::Error for SigraRejection {}

fn redirect(base: &str, return_to: Option<&str>) -> Response {
    let location = match return_to {
        Some(path) => format!(
            "{base}?return_to={}",
            utf8_percent_encode(path, RETURN_TO_SET)
        ),
        None => base.to_owned(),
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::try_from(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// A local address with a query string: `base?name=value&…`, each value percent-encoded
/// (everything but unreserved characters and `/`); pairs with an empty value are left out.
/// For redirects that carry state to the next page, such as the MFA step's `return_to`.
///
/// ```
/// use sigra_core::web::location_with;
/// assert_eq!(
///     location_with("/users/mfa", &[("remember_me", "true"), ("return_to", "/a?b=c&d")]),
///     "/users/mfa?remember_me=true&return_to=/a%3Fb%3Dc%26d"
/// );
/// assert_eq!(location_with("/users/mfa", &[("remember_me", "")]), "/users/mfa");
/// ```
pub fn location_with(base: &str, params: &[(&str, &str)]) -> String {
    let mut location = base.to_owned();
    for (name, value) in params.iter().filter(|(_, value)| !value.is_empty()) {
        location.push(if location.contains('?') { '&' } else { '?' });
        location.push_str(name);
        location.push('=');
        location.extend(utf8_percent_encode(value, RETURN_TO_SET));
    }
    location
}

/// Everything but unreserved characters and `/` is escaped in `return_to`.
const RETURN_TO_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl IntoResponse for SigraRejection {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            Self::LayerMissing => (StatusCode::INTERNAL_SERVER_ERROR, message).into_response(),
            Self::Unavailable { api } => respond(api, ApiError::internal(), "Error"),
            Self::LoginRequired { api: true, .. } => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message).into_response()
            }
            Self::SudoRequired { api: true, .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "sudo_required", message).into_response()
            }
            Self::LoginRequired { to, return_to, .. }
            | Self::SudoRequired { to, return_to, .. } => redirect(&to, return_to.as_deref()),
        }
    }
}

/// Whether the caller wants JSON: `Accept` names `application/json`, or the path is under
/// `/api/`.
pub(crate) fn wants_json(parts_headers: &axum::http::HeaderMap, path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || parts_headers.get_all(ACCEPT).iter().any(|v| {
            v.as_bytes()
                .windows(b"application/json".len())
                .any(|w| w.eq_ignore_ascii_case(b"application/json"))
        })
}

/// The request path as the client sent it (before any `nest`).
fn original_uri(parts: &Parts) -> &axum::http::Uri {
    parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |OriginalUri(uri)| uri)
}

fn is_api(parts: &Parts) -> bool {
    wants_json(&parts.headers, original_uri(parts).path())
}

/// The path and query to come back to: only for GET, only when short and safe.
fn return_to(parts: &Parts) -> Option<String> {
    if parts.method != Method::GET {
        return None;
    }
    let uri = original_uri(parts);
    let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    safe_return_to(path).map(str::to_owned)
}

/// Checks a `return_to` value before redirecting to it: a local absolute path (`/…`),
/// never `//host` or `/\host` (which browsers treat as another site), no control
/// characters or backslashes, at most 2 KiB. Returns it when safe.
///
/// ```
/// use sigra_core::web::safe_return_to;
/// assert_eq!(safe_return_to("/users/settings?tab=email"), Some("/users/settings?tab=email"));
/// assert_eq!(safe_return_to("//evil.example"), None);
/// assert_eq!(safe_return_to("/\\evil.example"), None);
/// assert_eq!(safe_return_to("https://evil.example"), None);
/// assert_eq!(safe_return_to("/ok\r\nSet-Cookie: x"), None);
/// ```
pub fn safe_return_to(path: &str) -> Option<&str> {
    let ok = path.len() <= MAX_RETURN_TO
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    ok.then_some(path)
}

fn loaded(parts: &Parts) -> Result<&LoadedSession, SigraRejection> {
    parts
        .extensions
        .get::<LoadedSession>()
        .ok_or_else(SigraRejection::layer_missing)
}

/// The logged-in user, if any. Never refuses a request (only a missing
/// [`layers`](super::layers) is reported); a store failure reads as "nobody".
///
/// ```ignore
/// async fn home(CurrentUser(user): CurrentUser) -> String {
///     match user {
///         Some(auth) => format!("Hello {}", auth.user.email),
///         None => "Hello stranger".into(),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Option<Authenticated>);

impl<St: Send + Sync> FromRequestParts<St> for CurrentUser {
    type Rejection = SigraRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        Ok(match loaded(parts)? {
            LoadedSession::User { auth, .. } => CurrentUser(Some(Authenticated::clone(auth))),
            LoadedSession::Anonymous | LoadedSession::Unavailable => CurrentUser(None),
        })
    }
}

/// A logged-in user, or the request is refused: browsers are redirected to log in, API
/// clients get 401 `unauthenticated`.
///
/// ```ignore
/// async fn settings(RequireUser(auth): RequireUser) -> String {
///     format!("Settings for {}", auth.user.email)
/// }
/// ```
#[derive(Clone, Debug)]
pub struct RequireUser(pub Authenticated);

fn require(parts: &Parts) -> Result<(&Arc<Authenticated>, bool), SigraRejection> {
    match loaded(parts)? {
        LoadedSession::User { auth, sudo } => Ok((auth, *sudo)),
        LoadedSession::Anonymous => Err(SigraRejection::LoginRequired {
            api: is_api(parts),
            to: paths(parts).login.to_string(),
            return_to: return_to(parts),
        }),
        LoadedSession::Unavailable => Err(SigraRejection::Unavailable { api: is_api(parts) }),
    }
}

impl<St: Send + Sync> FromRequestParts<St> for RequireUser {
    type Rejection = SigraRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let (auth, _) = require(parts)?;
        Ok(RequireUser(Authenticated::clone(auth)))
    }
}

/// A logged-in user in sudo mode (a fresh authentication within the sudo window), for
/// sensitive settings. Not logged in: as [`RequireUser`]. Logged in but not in sudo:
/// browsers go to `/users/sudo?return_to=<path>`, API clients get 403 `sudo_required`.
///
/// ```ignore
/// async fn delete_account(RequireSudo(auth): RequireSudo) -> Response { /* … */ }
/// ```
#[derive(Clone, Debug)]
pub struct RequireSudo(pub Authenticated);

impl<St: Send + Sync> FromRequestParts<St> for RequireSudo {
    type Rejection = SigraRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let (auth, sudo) = require(parts)?;
        if !sudo {
            return Err(SigraRejection::SudoRequired {
                api: is_api(parts),
                to: paths(parts).sudo.to_string(),
                return_to: return_to(parts),
            });
        }
        Ok(RequireSudo(Authenticated::clone(auth)))
    }
}

/// Who is asking: the client IP (see [`client`](super#client-ip)) and the clamped
/// `User-Agent`, ready for the flows' `meta` argument. Never refuses; without
/// [`layers`](super::layers) it uses the TCP peer and trusts no proxy.
///
/// ```ignore
/// async fn create_session(State(sigra): State<Sigra<Db>>, ClientMeta(meta): ClientMeta, Form(f): Form<Login>) {
///     sigra.log_in(&f.email, &f.password.into(), f.remember_me, &meta).await;
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientMeta(pub RequestMeta);

impl<St: Send + Sync> FromRequestParts<St> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        Ok(ClientMeta(super::client::resolved_meta(
            &parts.headers,
            &parts.extensions,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(method: Method, uri: &str, accept: Option<&str>) -> Parts {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(a) = accept {
            b = b.header(ACCEPT, a);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[tokio::test]
    async fn missing_layer_names_the_fix() {
        let mut p = parts(Method::GET, "/", None);
        let err = CurrentUser::from_request_parts(&mut p, &())
            .await
            .unwrap_err();
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&body)
                .contains("sigra_core::web::layers is not installed on this router")
        );
        for result in [
            RequireUser::from_request_parts(&mut p, &())
                .await
                .map(|_| ()),
            RequireSudo::from_request_parts(&mut p, &())
                .await
                .map(|_| ()),
        ] {
            assert!(matches!(result, Err(SigraRejection::LayerMissing)));
        }
    }

    #[tokio::test]
    async fn anonymous_browsers_are_redirected_and_api_clients_get_401() {
        let mut p = parts(Method::GET, "/users/settings?tab=a%20b", None);
        p.extensions.insert(LoadedSession::Anonymous);
        let response = RequireUser::from_request_parts(&mut p, &())
            .await
            .unwrap_err()
            .into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[LOCATION],
            "/users/log_in?return_to=/users/settings%3Ftab%3Da%2520b"
        );

        let mut p = parts(Method::POST, "/users/settings", None);
        p.extensions.insert(LoadedSession::Anonymous);
        let response = RequireUser::from_request_parts(&mut p, &())
            .await
            .unwrap_err()
            .into_response();
        assert_eq!(response.headers()[LOCATION], "/users/log_in");

        for (uri, accept) in [
            ("/x", Some("application/json")),
            ("/api/me", None),
            ("/x", Some("text/html, Application/JSON;q=0.9")),
        ] {
            let mut p = parts(Method::GET, uri, accept);
            p.extensions.insert(LoadedSession::Anonymous);
            let response = RequireSudo::from_request_parts(&mut p, &())
                .await
                .unwrap_err()
                .into_response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri}");
        }

        let mut p = parts(Method::GET, "/x", None);
        p.extensions.insert(LoadedSession::Anonymous);
        assert!(
            CurrentUser::from_request_parts(&mut p, &())
                .await
                .unwrap()
                .0
                .is_none()
        );
    }

    #[tokio::test]
    async fn unavailable_sessions_fail_closed_for_guards() {
        let mut p = parts(Method::GET, "/x", Some("application/json"));
        p.extensions.insert(LoadedSession::Unavailable);
        let err = RequireUser::from_request_parts(&mut p, &())
            .await
            .unwrap_err();
        assert_eq!(
            err.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert!(
            CurrentUser::from_request_parts(&mut p, &())
                .await
                .unwrap()
                .0
                .is_none()
        );
    }

    #[test]
    fn return_to_is_dropped_when_unsafe_or_long() {
        let p = parts(Method::GET, "//evil.example/x", None);
        assert_eq!(return_to(&p), None);
        let long = format!("/{}", "a".repeat(3000));
        assert_eq!(return_to(&parts(Method::GET, &long, None)), None);
        assert_eq!(
            return_to(&parts(Method::GET, "/a?b=c", None)).as_deref(),
            Some("/a?b=c")
        );
    }

    #[tokio::test]
    async fn client_meta_without_layers_uses_the_peer() {
        let mut p = parts(Method::GET, "/", None);
        p.headers
            .insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        p.extensions.insert(axum::extract::ConnectInfo(
            "192.0.2.5:4000".parse::<std::net::SocketAddr>().unwrap(),
        ));
        let ClientMeta(meta) = ClientMeta::from_request_parts(&mut p, &()).await.unwrap();
        assert_eq!(meta.ip, Some("192.0.2.5".parse().unwrap()));
    }
}
