//! [`SigraLayers`]: the one layer every Sigra router wears.
//!
//! Per request, in this order:
//!
//! 1. resolve the client ([`ClientMeta`](super::ClientMeta): address, user agent and the
//!    device cookie, if sent), read the CSRF cookie (minting one when missing) and compute
//!    this browser's [`CsrfToken`](super::CsrfToken);
//! 2. for state-changing methods, run the [CSRF checks](super::csrf) and refuse with 403
//!    (or 413 for an oversized form) before any handler or database work;
//! 3. load the session once ([`session`](super::session)) and verify the flash cookie;
//! 4. call the router;
//! 5. on the way out: security headers ([`headers`](super::headers)), `Cache-Control:
//!    no-store` when a session was involved, the CSRF cookie when minted, the flash cookie
//!    set, kept or deleted.
//!
//! Installing it twice (an outer and a nested router) is harmless: the inner copy sees the
//! work done and passes the request straight through.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::{OriginalUri, Request};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::Response;
use tower::{Layer, Service};

use super::client::{self, ClientInfo};
use super::cookies::{CookieNames, find_cookie, response_sets_cookie};
use super::csrf::{self, CsrfKey, OriginPolicy, is_safe_method, is_valid_cookie_value};
use super::error::{ApiError, respond};
use super::extract::{AuthPaths, LoadedSession, wants_json};
use super::flash::{FlashKey, FlashMessages, FlashSlot, PendingFlash};
use super::headers::{self, DEFAULT_CSP};
use crate::auth::{DeviceCookie, MfaTrustCookie, Sigra};
use crate::store::Store;

/// HKDF label of the CSRF token key.
pub(crate) const CSRF_KEY_PURPOSE: &str = "sigra/web/csrf";
/// HKDF label of the flash cookie key.
pub(crate) const FLASH_KEY_PURPOSE: &str = "sigra/web/flash";

/// A boxed, sendable future (what the services here return).
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

#[derive(Clone)]
struct WebKeys {
    csrf: CsrfKey,
    flash: FlashKey,
}

struct Shared<S> {
    sigra: Sigra<S>,
    keys: Option<WebKeys>,
    names: CookieNames,
    hops: u8,
    csp: HeaderValue,
    hsts: Option<HeaderValue>,
    paths: AuthPaths,
    warnings: Arc<client::DeploymentWarnings>,
}

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Self {
            sigra: self.sigra.clone(),
            keys: self.keys.clone(),
            names: self.names.clone(),
            hops: self.hops,
            csp: self.csp.clone(),
            hsts: self.hsts.clone(),
            paths: self.paths.clone(),
            warnings: Arc::clone(&self.warnings),
        }
    }
}

/// Session loading, CSRF and origin checks, flash messages and security headers in one
/// [`tower::Layer`]. Build it with [`layers`](super::layers) and add it with
/// `Router::layer`.
///
/// ```ignore
/// let app = Router::new()
///     .merge(auth_routes())
///     .layer(sigra_core::web::layers(sigra.clone()).trust_proxy_hops(1))
///     .with_state(state);
/// ```
pub struct SigraLayers<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for SigraLayers<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> std::fmt::Debug for SigraLayers<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigraLayers")
            .field("cookies", &self.shared.names)
            .field("trust_proxy_hops", &self.shared.hops)
            .field("content_security_policy", &self.shared.csp)
            .finish_non_exhaustive()
    }
}

impl<S: Store> SigraLayers<S> {
    /// The layers for `sigra`, trusting as many proxies as `SIGRA_TRUST_PROXY` says (none
    /// when unset). Same as [`layers`](super::layers).
    ///
    /// ```ignore
    /// let layer = SigraLayers::new(sigra.clone());
    /// ```
    pub fn new(sigra: Sigra<S>) -> Self {
        let keys = match (
            sigra.derive_key(CSRF_KEY_PURPOSE),
            sigra.derive_key(FLASH_KEY_PURPOSE),
        ) {
            (Ok(csrf), Ok(flash)) => Some(WebKeys {
                csrf: CsrfKey::new(csrf),
                flash: FlashKey::new(flash),
            }),
            (Err(err), _) | (_, Err(err)) => {
                tracing::error!(target: "sigra::web", error = %err, "deriving the web keys failed; every request will get 500");
                None
            }
        };
        let names = CookieNames::new(sigra.config().cookie());
        let hsts = headers::hsts(names.secure, sigra.config().web().hsts_max_age);
        Self {
            shared: Arc::new(Shared {
                hops: client::proxy_hops(sigra.config()),
                paths: AuthPaths::new(sigra.config().web()),
                sigra,
                keys,
                names,
                csp: HeaderValue::from_static(DEFAULT_CSP),
                hsts,
                warnings: Arc::default(),
            }),
        }
    }

    fn map(self, f: impl FnOnce(&mut Shared<S>)) -> Self {
        let mut shared = Arc::unwrap_or_clone(self.shared);
        f(&mut shared);
        Self {
            shared: Arc::new(shared),
        }
    }

    /// How many reverse proxies in front of the app to trust for the client IP (read from
    /// `X-Forwarded-For`, counted from the right) and the host (`X-Forwarded-Host`).
    /// 0 (the default unless `SIGRA_TRUST_PROXY` says otherwise) trusts none: the TCP peer
    /// is the client. At most 10.
    ///
    /// ```ignore
    /// let layer = sigra_core::web::layers(sigra.clone()).trust_proxy_hops(1);
    /// ```
    pub fn trust_proxy_hops(self, hops: u8) -> Self {
        self.map(|s| s.hops = hops.min(10))
    }

    /// Replaces the default `Content-Security-Policy` ([`DEFAULT_CSP`]) for every response
    /// that does not set its own.
    ///
    /// ```ignore
    /// use axum::http::HeaderValue;
    /// let layer = sigra_core::web::layers(sigra.clone())
    ///     .content_security_policy(HeaderValue::from_static("default-src 'self'; img-src *"));
    /// ```
    pub fn content_security_policy(self, value: HeaderValue) -> Self {
        self.map(|s| s.csp = value)
    }
}

impl<S: Store, Svc> Layer<Svc> for SigraLayers<S> {
    type Service = SigraService<S, Svc>;

    fn layer(&self, inner: Svc) -> Self::Service {
        SigraService {
            shared: Arc::clone(&self.shared),
            inner,
        }
    }
}

/// The service [`SigraLayers`] wraps around a router.
pub struct SigraService<S, Svc> {
    shared: Arc<Shared<S>>,
    inner: Svc,
}

impl<S, Svc: Clone> Clone for SigraService<S, Svc> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            inner: self.inner.clone(),
        }
    }
}

impl<S, Svc> std::fmt::Debug for SigraService<S, Svc> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigraService").finish_non_exhaustive()
    }
}

impl<S, Svc> Service<Request> for SigraService<S, Svc>
where
    S: Store,
    Svc: Service<Request, Response = Response> + Clone + Send + 'static,
    Svc::Future: Send + 'static,
    Svc::Error: Send + 'static,
{
    type Response = Response;
    type Error = Svc::Error;
    type Future = BoxFuture<Result<Response, Svc::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone takes the place of the service that was driven to readiness.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(handle(shared, inner, req))
    }
}

/// What to add to the response on the way out.
struct Outgoing {
    /// A freshly minted CSRF cookie value to set.
    csrf_cookie: Option<String>,
    /// The request carried a session (so the response is private).
    authenticated: bool,
    /// The request carried a flash cookie.
    had_flash: bool,
    /// The flash cookie failed verification (delete it).
    bad_flash: bool,
    /// The handler read the flash (delete it unless a new one is set).
    flash_consumed: Option<Arc<AtomicBool>>,
}

fn original_path(req: &Request) -> &str {
    req.extensions()
        .get::<OriginalUri>()
        .map_or(req.uri(), |OriginalUri(uri): &OriginalUri| uri)
        .path()
}

fn internal(api: bool) -> Response {
    respond(api, ApiError::internal(), "Error")
}

async fn handle<S, Svc>(
    shared: Arc<Shared<S>>,
    mut inner: Svc,
    mut req: Request,
) -> Result<Response, Svc::Error>
where
    S: Store,
    Svc: Service<Request, Response = Response>,
{
    if req.extensions().get::<LoadedSession>().is_some() {
        return inner.call(req).await;
    }
    let api = wants_json(req.headers(), original_path(&req));
    let Some(keys) = &shared.keys else {
        return Ok(internal(api));
    };
    let names = &shared.names;

    let sent_csrf = find_cookie(req.headers(), &names.csrf).filter(|v| is_valid_cookie_value(v));
    let session_value = find_cookie(req.headers(), &names.session);
    let flash_value = find_cookie(req.headers(), &names.flash);

    let (csrf_value, minted) = match &sent_csrf {
        Some(value) => (value.clone(), false),
        None => match csrf::mint_cookie_value() {
            Ok(value) => (value, true),
            Err(err) => {
                tracing::error!(target: "sigra::web", error = %err, "minting a CSRF cookie failed");
                return Ok(internal(api));
            }
        },
    };
    let Some(token) = keys.csrf.token_for(&csrf_value) else {
        return Ok(internal(api));
    };
    let mut out = Outgoing {
        csrf_cookie: minted.then_some(csrf_value),
        authenticated: false,
        had_flash: flash_value.is_some(),
        bad_flash: false,
        flash_consumed: None,
    };

    shared
        .warnings
        .observe(req.headers(), req.extensions(), shared.hops);
    let device = find_cookie(req.headers(), &names.device).map(DeviceCookie::new);
    let mfa_trust = find_cookie(req.headers(), &names.mfa_trust).map(MfaTrustCookie::new);
    let meta = client::request_meta(req.headers(), req.extensions(), shared.hops)
        .with_device(device)
        .with_mfa_trust(mfa_trust);

    if !is_safe_method(req.method()) {
        let policy = OriginPolicy {
            require_https: names.secure,
            trust_forwarded_host: shared.hops > 0,
        };
        req = match csrf::check(req, &keys.csrf, sent_csrf.as_deref(), policy).await {
            Ok(req) => req,
            Err(failure) => {
                let mut response = failure.into_response(api);
                finish(&shared, keys, &mut response, out);
                return Ok(response);
            }
        };
    }

    let loaded = super::session::load(&shared.sigra, session_value.as_deref()).await;
    out.authenticated = session_value.is_some();

    let messages = match flash_value.as_deref().map(|v| keys.flash.verify(v)) {
        Some(Some(messages)) => messages,
        Some(None) => {
            out.bad_flash = true;
            FlashMessages::default()
        }
        None => FlashMessages::default(),
    };
    let consumed = Arc::new(AtomicBool::new(false));
    out.flash_consumed = Some(Arc::clone(&consumed));

    let extensions = req.extensions_mut();
    extensions.insert(loaded);
    extensions.insert(shared.paths.clone());
    extensions.insert(token);
    extensions.insert(ClientInfo(meta));
    extensions.insert(FlashSlot { messages, consumed });

    let mut response = inner.call(req).await?;
    finish(&shared, keys, &mut response, out);
    Ok(response)
}

fn append_cookie(response: &mut Response, value: Option<HeaderValue>) {
    if let Some(value) = value {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

fn finish<S>(shared: &Shared<S>, keys: &WebKeys, response: &mut Response, out: Outgoing) {
    let names = &shared.names;
    if let Some(value) = out.csrf_cookie
        && !response_sets_cookie(response.headers(), &names.csrf)
    {
        append_cookie(response, names.set(&names.csrf, &value));
    }

    let pending = response.extensions_mut().remove::<PendingFlash>();
    let consumed = out
        .flash_consumed
        .is_some_and(|flag| flag.load(Ordering::Relaxed));
    match pending {
        Some(PendingFlash(messages)) if !messages.is_empty() => match keys.flash.sign(&messages) {
            Some(value) => append_cookie(response, names.set(&names.flash, &value)),
            None => {
                tracing::error!(target: "sigra::web", "signing a flash message failed; not sent");
            }
        },
        _ => {
            if out.had_flash && (consumed || out.bad_flash) {
                append_cookie(response, names.clear(&names.flash));
            }
        }
    }

    let private = out.authenticated || response_sets_cookie(response.headers(), &names.session);
    headers::apply(
        response.headers_mut(),
        &shared.csp,
        shared.hsts.as_ref(),
        private,
    );
}
