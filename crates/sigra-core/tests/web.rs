//! `sigra_core::web` end to end over the in-memory reference store: a real Axum router driven
//! in-process. (The same behaviours against SQLite, two app instances and a real TCP socket
//! live in `tests/web`.)
#![cfg(all(feature = "axum", feature = "testing"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sigra_core::audit::RequestMeta;
use sigra_core::auth::{LoginAttempt, Sigra};
use sigra_core::keys::SecretKeyBase;
use sigra_core::password::{Argon2Params, PasswordHasher};
use sigra_core::store::{Store, StoreError};
use sigra_core::testing::{MemoryStore, MemoryTx};
use sigra_core::web::{self, CsrfToken, CurrentUser, Flash, RequireSudo, RequireUser};
use tower::ServiceExt as _;

#[derive(Clone, Default)]
struct Counting {
    inner: MemoryStore,
    reads: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

impl Store for Counting {
    type Tx = MemoryTx;
    async fn begin(&self) -> Result<MemoryTx, StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::backend("down"));
        }
        self.inner.begin().await
    }
    async fn begin_read(&self) -> Result<MemoryTx, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::backend("down"));
        }
        self.inner.begin_read().await
    }
}

fn sigra(store: Counting) -> Sigra<Counting> {
    let hasher = PasswordHasher::builder()
        .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
        .build()
        .unwrap();
    // No session cache: these tests count the store reads each request makes.
    let config = sigra_core::config::SigraConfig::builder()
        .session(|s| s.cache_ttl = std::time::Duration::ZERO)
        .build()
        .unwrap();
    Sigra::builder(store, SecretKeyBase::new(vec![5u8; 64]).unwrap())
        .config(config)
        .password_hasher(hasher)
        // A fixed clock: the rate-limit window never rolls over mid-test.
        .clock(|| time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap())
        .build()
        .unwrap()
}

fn app(sigra: Sigra<Counting>) -> Router {
    let log_in = |axum::extract::State(sigra): axum::extract::State<Sigra<Counting>>| async move {
        let meta = RequestMeta::default();
        match sigra
            .log_in(
                "a@example.com",
                &"correct horse battery".into(),
                false,
                &meta,
            )
            .await
            .unwrap()
        {
            LoginAttempt::Success(logged_in) => (
                web::session_cookie(&sigra, &logged_in),
                Flash::info("Welcome"),
                Redirect::to("/"),
            )
                .into_response(),
            _ => StatusCode::UNAUTHORIZED.into_response(),
        }
    };
    Router::new()
        .route(
            "/",
            get(|CurrentUser(u): CurrentUser, csrf: CsrfToken, flash: Flash| async move {
                axum::Json(serde_json::json!({
                    "user": u.map(|a| a.user.email),
                    "csrf": csrf.as_str(),
                    "info": flash.info(),
                }))
            }),
        )
        .route(
            "/me",
            get(|CurrentUser(_): CurrentUser, RequireUser(a): RequireUser| async move { a.user.email }),
        )
        .route("/sudo", get(|RequireSudo(a): RequireSudo| async move { a.user.email }))
        .route("/echo", post(|b: Bytes| async move { b }))
        .merge(
            Router::new()
                .route("/users/log_in", post(log_in))
                .route_layer(web::rate_limit_layer(sigra.clone())),
        )
        .merge(
            Router::new()
                .route("/options", post(|| async { "options" }))
                .route_layer(web::rate_limit_layer(sigra.clone()).separate_bucket("options", 3)),
        )
        .layer(web::layers(sigra.clone()))
        .with_state(sigra)
}

struct Client {
    router: Router,
    cookies: Vec<String>,
}

impl Client {
    async fn send(&mut self, mut req: Request) -> Response {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 1))));
        if !self.cookies.is_empty() {
            req.headers_mut()
                .insert(header::COOKIE, self.cookies.join("; ").parse().unwrap());
        }
        req.headers_mut()
            .insert(header::HOST, "app.example".parse().unwrap());
        let response = self.router.clone().oneshot(req).await.unwrap();
        absorb(&mut self.cookies, response.headers());
        response
    }

    async fn home(&mut self) -> serde_json::Value {
        let response = self
            .send(Request::get("/").body(Body::empty()).unwrap())
            .await;
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn post(&mut self, uri: &str, body: String, token: Option<&str>) -> Response {
        let mut req = Request::post(uri)
            .header(header::ORIGIN, "https://app.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }
}

fn absorb(jar: &mut Vec<String>, headers: &HeaderMap) {
    for v in headers.get_all(header::SET_COOKIE) {
        let v = v.to_str().unwrap();
        let pair = v.split(';').next().unwrap().to_owned();
        let name = pair.split('=').next().unwrap().to_owned();
        jar.retain(|c| !c.starts_with(&format!("{name}=")));
        if !v.contains("Max-Age=0") {
            jar.push(pair);
        }
    }
}

#[tokio::test]
async fn a_browser_session_through_the_layers() {
    let store = Counting::default();
    let sigra = sigra(store.clone());
    sigra
        .register(
            "a@example.com",
            &"correct horse battery".into(),
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    let mut client = Client {
        router: app(sigra),
        cookies: Vec::new(),
    };

    // Anonymous: redirected; the CSRF cookie and token arrive with the first page.
    let response = client
        .send(Request::get("/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/users/log_in?return_to=/me"
    );
    let token = client.home().await["csrf"].as_str().unwrap().to_owned();

    // CSRF: refused without the token, accepted with it, body intact.
    assert_eq!(
        client.post("/echo", "x=1".into(), None).await.status(),
        StatusCode::FORBIDDEN
    );
    let sent = format!("x=1&_csrf={token}&y=%FF");
    let response = client.post("/echo", sent.clone(), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let echoed = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    assert_eq!(echoed, sent);

    // Log in: session cookie and flash in one response; the flash shows once.
    let response = client
        .post("/users/log_in", String::new(), Some(&token))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "9");
    let page = client.home().await;
    assert_eq!(
        (page["user"].as_str(), page["info"].as_str()),
        (Some("a@example.com"), Some("Welcome"))
    );
    assert!(client.home().await["info"].is_null());

    // One session lookup for two extractors.
    let reads = store.reads.load(Ordering::SeqCst);
    let response = client
        .send(Request::get("/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(store.reads.load(Ordering::SeqCst) - reads, 1);
    let response = client
        .send(Request::get("/sudo").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a fresh login is in sudo mode"
    );

    // Rate limit: 10 per IP, then 429; a failing store fails closed.
    for _ in 0..9 {
        client
            .post("/users/log_in", String::new(), Some(&token))
            .await;
    }
    let response = client
        .post("/users/log_in", String::new(), Some(&token))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    // A separate bucket counts on its own (the login limit is used up): 3 × 10 per window.
    for n in 0..30 {
        let response = client.post("/options", String::new(), Some(&token)).await;
        assert_eq!(response.status(), StatusCode::OK, "options request {n}");
        assert_eq!(response.headers()["x-ratelimit-limit"], "30");
    }
    let response = client.post("/options", String::new(), Some(&token)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    store.fail.store(true, Ordering::SeqCst);
    let response = client
        .send(
            Request::get("/me")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn extractors_without_the_layer_name_the_fix() {
    let router: Router = Router::new().route("/", get(|CurrentUser(_): CurrentUser| async { "x" }));
    let response = router
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&body)
            .contains("sigra_core::web::layers is not installed on this router")
    );
}
