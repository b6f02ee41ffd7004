//! The Axum integration (feature `axum`, on by default): one layer, one limiter, a few
//! extractors, the cookie helpers and one JSON error shape.
//!
//! ```ignore
//! use sigra_core::web::{self, ApiError, ClientMeta, CsrfToken, CurrentUser, Flash, RequireSudo, RequireUser};
//!
//! let app = Router::new()
//!     .merge(
//!         Router::new()
//!             .route("/users/log_in", get(new_session).post(create_session))
//!             .route_layer(web::rate_limit_layer(sigra.clone())), // per-IP, DB counters, fails closed
//!     )
//!     .route("/users/settings", get(settings))
//!     .layer(web::layers(sigra.clone())) // session loading, CSRF/origin check, flash, security headers
//!     .with_state(state); // any state: the extractors need no `FromRef`
//!
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! ```
//!
//! # What is where
//!
//! | item | does |
//! |---|---|
//! | [`layers`] → [`SigraLayers`] | per request: loads the session once, checks CSRF and origin on state-changing methods, reads and writes the flash cookie, adds security headers |
//! | [`rate_limit_layer`] → [`RateLimitLayer`] | per-IP limit on auth endpoints (`auth:<ip>`, `rate_limit.auth`), `X-RateLimit-*` headers, 429 with `Retry-After` |
//! | [`CurrentUser`] | `Option<Authenticated>`; never refuses |
//! | [`RequireUser`] | browsers → 303 to `/users/log_in?return_to=…`; API → 401 `unauthenticated` |
//! | [`RequireSudo`] | as `RequireUser`, then browsers → 303 to `/users/sudo?return_to=…`; API → 403 `sudo_required` |
//! | [`ClientMeta`] | the [`RequestMeta`](crate::audit::RequestMeta) (IP, user agent) the flows record |
//! | [`CsrfToken`] | the token for forms (`_csrf`) and `fetch` (`x-csrf-token`) |
//! | [`Flash`] | one-shot messages in a signed cookie: read with `.info()`/`.error()`, set with `Flash::info(msg)`/`Flash::error(msg)` |
//! | [`session_cookie`], [`clear_session_cookie`], [`session_cookie_value`] | the session cookie around login and logout |
//! | [`device_cookie`] | the device cookie a password login issued (lockout that strangers cannot turn against the owner) |
//! | [`mfa_trust_cookie`] | the "trust this browser" cookie the MFA step issued when asked to |
//! | [`ApiError`] | `{"error":{"code","message"}}`; `From<AuthError>` |
//!
//! # Design
//!
//! - **Load once, read many.** The layer authenticates the session cookie once and leaves
//!   the result in the request's extensions; extractors only read it, so they work with any
//!   router state and never touch the database themselves.
//! - **Fail closed, answer well.** A store failure never logs anyone in and never switches
//!   the rate limit off; guarded routes answer 500 rather than a misleading login redirect.
//!   Browsers get redirects and small HTML pages; API clients (`Accept: application/json`
//!   or a path under `/api/`) get [`ApiError`] JSON.
//! - **Wiring mistakes say how to fix them.** An extractor used on a router without
//!   [`layers`] answers 500 with "sigra_core::web::layers is not installed on this router"
//!   and the line to add.
//! - **Total on bad input.** Cookie, header, form and origin parsers accept arbitrary bytes;
//!   invalid UTF-8 or garbage is "absent", an oversized form is 413, nothing panics.
//!
//! # Client IP
//!
//! The IP is the TCP peer (`ConnectInfo<SocketAddr>`: serve with
//! `into_make_service_with_connect_info::<SocketAddr>()`). Behind reverse proxies, set
//! `SIGRA_TRUST_PROXY` to the number of proxies (`true` = 1) or call
//! [`SigraLayers::trust_proxy_hops`]; the IP is then the entry that many hops from the
//! right of `X-Forwarded-For` (the one the nearest trusted proxy appended; entries to its
//! left are client-controlled and ignored).
//!
//! # Cookies
//!
//! | cookie | holds | set by |
//! |---|---|---|
//! | `__Host-sigra_session` | the session token | [`session_cookie`] after a login |
//! | `__Host-sigra_csrf` | 32 random bytes the CSRF token is bound to | the layer, when missing |
//! | `__Host-sigra_flash` | signed flash messages | the layer, from [`Flash::info`]/[`Flash::error`] |
//! | `__Host-sigra_device` | a signed device cookie (user id, nonce, issue time; `lockout.device_cookie_ttl`) | [`device_cookie`] after a password login; the layer reads it into [`RequestMeta::device`](crate::audit::RequestMeta::device) |
//! | `__Host-sigra_mfa_trust` | a signed "trust this browser" cookie (user, trust epoch, enrolment time, issue time; `mfa.trust_ttl`) | [`mfa_trust_cookie`] after the MFA step; the layer reads it into [`RequestMeta::mfa_trust`](crate::audit::RequestMeta::mfa_trust) |
//!
//! All are `HttpOnly`, `Path=/`, `SameSite=Lax`, `Secure` and `__Host-`-prefixed unless the
//! session cookie is configured insecure (plain-HTTP local development), when the prefix is
//! dropped. Signing keys are derived from the secret key base with
//! [`Sigra::derive_key`](crate::auth::Sigra::derive_key) (labels `sigra/web/csrf`,
//! `sigra/web/flash` and `sigra/auth/device`).

mod client;
mod cookies;
pub mod csrf;
mod error;
mod extract;
mod flash;
pub mod headers;
mod layer;
pub mod rate_limit;
mod registration;
mod session;

pub use client::TRUST_PROXY_ENV;
pub use cookies::{
    CookieSource, SetCookie, clear_session_cookie, device_cookie, mfa_trust_cookie, session_cookie,
    session_cookie_value,
};
pub use csrf::{CSRF_FIELD, CSRF_HEADER, CsrfToken, MAX_FORM_BYTES};
pub use error::ApiError;
pub use extract::{
    ClientMeta, CurrentUser, LOG_IN_PATH, RequireSudo, RequireUser, SUDO_PATH, SigraRejection,
    location_with, safe_return_to,
};
pub use flash::{Flash, FlashMessages, MAX_FLASH_BYTES, SetFlash};
pub use layer::{SigraLayers, SigraService};
pub use rate_limit::{RateLimitLayer, RateLimitService, rate_limit_layer};
pub use registration::{
    REGISTRATION_COOKIE, clear_registration_cookie, registration_cookie, registration_cookie_value,
};

use crate::auth::Sigra;
use crate::store::Store;

/// The layer every Sigra router wears: session loading (once per request), CSRF and
/// origin checks, flash messages and security headers, in the right order. Add it with
/// `Router::layer` after the routes it should cover.
///
/// Trusts as many reverse proxies as `SIGRA_TRUST_PROXY` says (none when unset); see
/// [`SigraLayers`] for the other settings.
///
/// ```ignore
/// let app = Router::new()
///     .merge(auth_routes())
///     .layer(sigra_core::web::layers(sigra.clone()))
///     .with_state(state);
/// ```
pub fn layers<S: Store>(sigra: Sigra<S>) -> SigraLayers<S> {
    SigraLayers::new(sigra)
}
