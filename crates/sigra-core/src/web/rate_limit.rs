//! [`rate_limit_layer`]: the per-IP limit on authentication endpoints.
//!
//! Every state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`, …) through the layer
//! counts one hit against `auth:<ip>` in the database counters of
//! [`Sigra::rate_limit`](crate::auth::Sigra::rate_limit), with
//! [`rate_limit.auth`](crate::config::RateLimitConfig) as the limit (10 per minute by
//! default). Because the counters live in the database, every app instance behind a load
//! balancer shares them. `GET` and `HEAD` pass without counting, so showing the login form
//! never locks anyone out.
//!
//! The key is the client IP as [`ClientMeta`](super::ClientMeta) resolves it; IPv6 clients
//! are counted per /64 network. If the counter store fails the request is refused (fail
//! closed): breaking the database must not switch the limit off.
//!
//! Counted responses carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (seconds until the window resets). A refusal is `429 Too Many
//! Requests` with `Retry-After` (seconds) and an HTML "too many attempts" page or an
//! [`ApiError`] with code `rate_limited`.
//!
//! Add it with `route_layer` to the auth routes only:
//!
//! ```ignore
//! Router::new()
//!     .route("/users/log_in", get(new_session).post(create_session))
//!     .route_layer(sigra_core::web::rate_limit_layer(sigra.clone()))
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{OriginalUri, Request};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use tower::{Layer, Service};

use super::client::{self, rate_limit_ip_key};
use super::csrf::is_safe_method;
use super::error::{ApiError, respond};
use super::extract::wants_json;
use super::layer::BoxFuture;
use crate::auth::Sigra;
use crate::rate_limit::Decision;
use crate::store::Store;

/// `X-RateLimit-Limit`
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset`
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The per-IP limiter for authentication routes, counting in the app's database with
/// `config.rate_limit().auth`. See the [module docs](self).
///
/// ```ignore
/// Router::new()
///     .route("/users/log_in", post(create_session))
///     .route_layer(sigra_core::web::rate_limit_layer(sigra.clone()))
/// ```
pub fn rate_limit_layer<S: Store>(sigra: Sigra<S>) -> RateLimitLayer<S> {
    RateLimitLayer {
        shared: Arc::new(Limiter {
            hops: client::proxy_hops(sigra.config()),
            sigra,
            bucket: "auth",
            factor: 1,
        }),
    }
}

struct Limiter<S> {
    sigra: Sigra<S>,
    hops: u8,
    /// The counter's key prefix: `<bucket>:<ip>`.
    bucket: &'static str,
    /// `rate_limit.auth.max` is multiplied by this.
    factor: u32,
}

/// The layer [`rate_limit_layer`] builds.
pub struct RateLimitLayer<S> {
    shared: Arc<Limiter<S>>,
}

impl<S> Clone for RateLimitLayer<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> std::fmt::Debug for RateLimitLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("trust_proxy_hops", &self.shared.hops)
            .field("bucket", &self.shared.bucket)
            .field("factor", &self.shared.factor)
            .finish_non_exhaustive()
    }
}

impl<S: Store> RateLimitLayer<S> {
    /// How many reverse proxies to trust when the limiter runs without
    /// [`layers`](super::layers) (inside them, the client those resolved is used). Default
    /// from `SIGRA_TRUST_PROXY`, else 0.
    ///
    /// ```ignore
    /// let limiter = rate_limit_layer(sigra.clone()).trust_proxy_hops(1);
    /// ```
    pub fn trust_proxy_hops(self, hops: u8) -> Self {
        Self {
            shared: Arc::new(Limiter {
                sigra: self.shared.sigra.clone(),
                hops: hops.min(10),
                bucket: self.shared.bucket,
                factor: self.shared.factor,
            }),
        }
    }

    /// Counts in a bucket of its own, `<bucket>:<ip>`, allowing `factor` times
    /// `rate_limit.auth.max` per window (`factor` at least 1). For requests a page makes by
    /// itself that verify nothing but still write a row, such as the passkey options every
    /// login page view asks for: they must not use up the login limit, nor be unlimited.
    ///
    /// ```ignore
    /// Router::new()
    ///     .route("/users/log_in/passkey/options", post(login_options))
    ///     .route_layer(rate_limit_layer(sigra.clone()).separate_bucket("passkey_options", 10))
    /// ```
    pub fn separate_bucket(self, bucket: &'static str, factor: u32) -> Self {
        Self {
            shared: Arc::new(Limiter {
                sigra: self.shared.sigra.clone(),
                hops: self.shared.hops,
                bucket,
                factor: factor.max(1),
            }),
        }
    }
}

impl<S: Store, Svc> Layer<Svc> for RateLimitLayer<S> {
    type Service = RateLimitService<S, Svc>;

    fn layer(&self, inner: Svc) -> Self::Service {
        RateLimitService {
            shared: Arc::clone(&self.shared),
            inner,
        }
    }
}

/// The service [`RateLimitLayer`] wraps around routes.
pub struct RateLimitService<S, Svc> {
    shared: Arc<Limiter<S>>,
    inner: Svc,
}

impl<S, Svc: Clone> Clone for RateLimitService<S, Svc> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            inner: self.inner.clone(),
        }
    }
}

impl<S, Svc> std::fmt::Debug for RateLimitService<S, Svc> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitService").finish_non_exhaustive()
    }
}

impl<S, Svc> Service<Request> for RateLimitService<S, Svc>
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
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            if is_safe_method(req.method()) {
                return inner.call(req).await;
            }
            let ip = match req.extensions().get::<client::ClientInfo>() {
                Some(client::ClientInfo(meta)) => meta.ip,
                None => client::client_ip(req.headers(), req.extensions(), shared.hops),
            };
            let key = format!("{}:{}", shared.bucket, rate_limit_ip_key(ip));
            let auth = &shared.sigra.config().rate_limit().auth;
            let limit =
                crate::config::Limit::new(auth.max.saturating_mul(shared.factor), auth.window);
            let decision = shared.sigra.rate_limit(&key, &limit).await;
            if !decision.allowed {
                let path = req
                    .extensions()
                    .get::<OriginalUri>()
                    .map_or(req.uri(), |OriginalUri(uri): &OriginalUri| uri)
                    .path();
                let api = wants_json(req.headers(), path);
                tracing::info!(target: "sigra::rate_limit", key = %key, "rate limited");
                return Ok(too_many(api, decision));
            }
            let mut response = inner.call(req).await?;
            limit_headers(response.headers_mut(), &decision);
            Ok(response)
        })
    }
}

fn seconds(decision: &Decision) -> HeaderValue {
    HeaderValue::from(decision.reset_after.as_secs().max(1))
}

/// Writes `X-RateLimit-*` for `decision`.
pub(crate) fn limit_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(X_RATELIMIT_RESET, seconds(decision));
}

/// The 429 for a refused decision.
pub(crate) fn too_many(api: bool, decision: Decision) -> Response {
    let wait = decision.reset_after.as_secs().max(1);
    let mut response = respond(
        api,
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many attempts; try again in {wait} seconds"),
        ),
        "Too many attempts",
    );
    limit_headers(response.headers_mut(), &decision);
    response
        .headers_mut()
        .insert(RETRY_AFTER, seconds(&decision));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refusals_carry_every_header_and_the_right_body() {
        let decision = Decision {
            allowed: false,
            limit: 10,
            remaining: 0,
            reset_after: Duration::from_secs(42),
        };
        let response = too_many(true, decision);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let h = response.headers();
        assert_eq!(h[X_RATELIMIT_LIMIT], "10");
        assert_eq!(h[X_RATELIMIT_REMAINING], "0");
        assert_eq!(h[X_RATELIMIT_RESET], "42");
        assert_eq!(h[RETRY_AFTER], "42");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "rate_limited");

        let html = too_many(false, decision);
        let body = axum::body::to_bytes(html.into_body(), 4096).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("Too many attempts"));
    }

    #[test]
    fn a_zero_reset_still_says_one_second() {
        let decision = Decision {
            allowed: true,
            limit: 3,
            remaining: 2,
            reset_after: Duration::ZERO,
        };
        let mut h = HeaderMap::new();
        limit_headers(&mut h, &decision);
        assert_eq!(h[X_RATELIMIT_RESET], "1");
        assert_eq!(h[X_RATELIMIT_REMAINING], "2");
    }
}
