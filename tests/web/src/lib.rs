//! Test harness for `sigra_core::web`: a real SQLite database with the SQL store that
//! `cargo sigra install` generates (the one in `examples/host`), a store wrapper that counts
//! (and can break) transactions, a real Axum router wired as a host app would wire it, and
//! helpers to drive it in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sigra_core::auth::{LoginAttempt, Sigra};
use sigra_core::config::SigraConfig;
use sigra_core::keys::SecretKeyBase;
use sigra_core::password::{Argon2Params, PasswordHasher};
use sigra_core::store::{Store, StoreError};
use sigra_core::web::{
    self, ApiError, ClientMeta, CsrfToken, CurrentUser, Flash, RequireSudo, RequireUser,
};
use sigra_example_host::accounts::store::{AccountsStore, AccountsTx};
use tower::ServiceExt as _;

/// Transaction counters shared by every clone of a [`CountingStore`].
#[derive(Debug, Default)]
pub struct Counts {
    /// `begin_read` calls.
    pub reads: AtomicUsize,
    /// `begin` calls.
    pub writes: AtomicUsize,
    /// When set, every `begin`/`begin_read` fails like a lost database.
    pub fail: AtomicBool,
}

impl Counts {
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
    pub fn set_failing(&self, on: bool) {
        self.fail.store(on, Ordering::SeqCst);
    }
}

/// The generated SQL store, counting the transactions sigra-core opens.
#[derive(Clone, Debug)]
pub struct CountingStore {
    pub inner: AccountsStore,
    pub counts: Arc<Counts>,
}

impl Store for CountingStore {
    type Tx = AccountsTx;

    async fn begin(&self) -> Result<AccountsTx, StoreError> {
        self.counts.writes.fetch_add(1, Ordering::SeqCst);
        if self.counts.fail.load(Ordering::SeqCst) {
            return Err(StoreError::backend("test: the database is down"));
        }
        self.inner.begin().await
    }

    async fn begin_read(&self) -> Result<AccountsTx, StoreError> {
        self.counts.reads.fetch_add(1, Ordering::SeqCst);
        if self.counts.fail.load(Ordering::SeqCst) {
            return Err(StoreError::backend("test: the database is down"));
        }
        self.inner.begin_read().await
    }
}

/// One database file shared by every app instance of a test.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        // Creates the file and applies examples/host's migrations.
        sigra_example_host::app::connect(&url)
            .await
            .unwrap()
            .close()
            .await;
        Self { dir, url }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new app instance over this database: its own pool, its own counters, the same
    /// secret key base as every other instance.
    pub async fn instance(&self) -> App {
        App::new(&self.url, SigraConfig::default()).await
    }

    /// Like [`instance`](Self::instance) with a config.
    pub async fn instance_with(&self, config: SigraConfig) -> App {
        App::new(&self.url, config).await
    }
}

/// A running app instance: its `Sigra`, counters and router.
#[derive(Clone)]
pub struct App {
    pub sigra: Sigra<CountingStore>,
    pub counts: Arc<Counts>,
    pub router: Router,
}

pub const SECRET: [u8; 64] = [7u8; 64];
pub const PASSWORD: &str = "correct horse battery staple";
pub const HOST: &str = "app.example";
pub const ORIGIN: &str = "https://app.example";

impl App {
    pub async fn new(url: &str, config: SigraConfig) -> Self {
        let inner = AccountsStore::new(sigra_example_host::db::connect(url).await.unwrap());
        let counts = Arc::new(Counts::default());
        let store = CountingStore {
            inner,
            counts: Arc::clone(&counts),
        };
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
            .build()
            .unwrap();
        let sigra = Sigra::builder(store, SecretKeyBase::new(SECRET.to_vec()).unwrap())
            .config(config)
            .clock(frozen_now)
            .password_hasher(hasher)
            .build()
            .unwrap();
        let router = router(sigra.clone());
        Self {
            sigra,
            counts,
            router,
        }
    }

    /// Sends one request through the router (in-process), from `peer` unless the request
    /// already carries a `ConnectInfo`.
    pub async fn send(&self, mut req: Request) -> Response {
        if req.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 40000))));
        }
        self.router.clone().oneshot(req).await.unwrap()
    }
}

#[derive(serde::Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    remember_me: Option<String>,
}

/// The routes a host app would have, reduced to what the web layer touches.
pub fn router(sigra: Sigra<CountingStore>) -> Router {
    router_with(sigra, |layers| layers)
}

/// [`router`] with the layers adjusted by `f`.
pub fn router_with(
    sigra: Sigra<CountingStore>,
    f: impl FnOnce(web::SigraLayers<CountingStore>) -> web::SigraLayers<CountingStore>,
) -> Router {
    let limited = Router::new()
        .route("/users/log_in", get(login_page).post(log_in))
        .route("/users/ping", post(|| async { StatusCode::NO_CONTENT }))
        .route_layer(web::rate_limit_layer(sigra.clone()));
    Router::new()
        .route("/", get(home))
        .route("/both", get(both))
        .route("/settings", get(settings))
        .route("/api/me", get(settings))
        .route("/danger", get(danger).post(danger))
        .route("/echo", post(echo).put(echo).delete(echo))
        .route("/flash", post(set_flash))
        .route("/meta", get(meta))
        .route("/users/log_out", post(log_out))
        .route("/cached", get(cached))
        .merge(limited)
        .layer(f(web::layers(sigra.clone())))
        .with_state(sigra)
}

async fn home(CurrentUser(user): CurrentUser, csrf: CsrfToken, flash: Flash) -> Response {
    axum::Json(serde_json::json!({
        "user": user.map(|a| a.user.email),
        "csrf": csrf.as_str(),
        "info": flash.info(),
        "error": flash.error(),
    }))
    .into_response()
}

async fn both(CurrentUser(current): CurrentUser, RequireUser(auth): RequireUser) -> String {
    format!(
        "{} {}",
        current.map(|a| a.user.email).unwrap_or_default(),
        auth.user.email
    )
}

async fn settings(RequireUser(auth): RequireUser) -> String {
    auth.user.email
}

async fn danger(RequireSudo(auth): RequireSudo) -> String {
    format!("sudo {}", auth.user.email)
}

async fn echo(body: Bytes) -> Bytes {
    body
}

async fn set_flash() -> impl IntoResponse {
    (
        Flash::info("Saved <b>all</b> of it"),
        Flash::error("but one thing"),
        Redirect::to("/"),
    )
}

async fn meta(ClientMeta(meta): ClientMeta) -> String {
    format!(
        "{}|{}",
        meta.ip_string().unwrap_or_default(),
        meta.user_agent.unwrap_or_default()
    )
}

async fn cached() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=60")], "static")
}

async fn login_page(csrf: CsrfToken) -> String {
    csrf.hidden_input()
}

async fn log_in(
    State(sigra): State<Sigra<CountingStore>>,
    ClientMeta(meta): ClientMeta,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let remember = form.remember_me.is_some();
    match sigra
        .log_in(&form.email, &form.password.into(), remember, &meta)
        .await
    {
        Ok(LoginAttempt::Success(logged_in)) => (
            web::session_cookie(&sigra, &logged_in),
            Flash::info("Welcome back"),
            Redirect::to("/"),
        )
            .into_response(),
        Ok(LoginAttempt::Failed) => {
            ApiError::from(sigra_core::auth::AuthError::InvalidCredentials).into_response()
        }
        Ok(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

async fn log_out(
    State(sigra): State<Sigra<CountingStore>>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
) -> Response {
    if let Some(value) = web::session_cookie_value(&headers, &sigra)
        && let Err(err) = sigra.log_out(&value, &meta).await
    {
        return ApiError::from(err).into_response();
    }
    (web::clear_session_cookie(&sigra), Redirect::to("/")).into_response()
}

/// A browser: a cookie jar over the app.
pub struct Browser {
    pub app: App,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(app: &App) -> Self {
        Self {
            app: app.clone(),
            cookies: Vec::new(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        self.cookies.push((name.to_owned(), value.to_owned()));
    }

    pub fn cookie_header(&self) -> Option<HeaderValue> {
        if self.cookies.is_empty() {
            return None;
        }
        let joined = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        Some(HeaderValue::from_str(&joined).unwrap())
    }

    /// Stores the response's cookies (a `Max-Age=0` deletes).
    pub fn absorb(&mut self, response: &Response) {
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !attrs.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// A request builder with this browser's cookies and same-origin headers.
    pub fn request(&self, method: &str, uri: &str) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, HOST);
        if method != "GET" && method != "HEAD" {
            b = b
                .header(header::ORIGIN, ORIGIN)
                .header("sec-fetch-site", "same-origin");
        }
        if let Some(cookies) = self.cookie_header() {
            b = b.header(header::COOKIE, cookies);
        }
        b
    }

    pub async fn send(&mut self, req: Request) -> Response {
        let response = self.app.send(req).await;
        self.absorb(&response);
        response
    }

    pub async fn get(&mut self, uri: &str) -> Response {
        let req = self.request("GET", uri).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// The page state of `/` (user, CSRF token, flash), as JSON.
    pub async fn home(&mut self) -> serde_json::Value {
        let response = self.get("/").await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await
    }

    /// The CSRF token for this browser (visiting `/` first if needed).
    pub async fn csrf(&mut self) -> String {
        self.home().await["csrf"].as_str().unwrap().to_owned()
    }

    /// Posts a form with the right CSRF token.
    pub async fn post_form(&mut self, uri: &str, fields: &str) -> Response {
        let token = self.csrf().await;
        let body = if fields.is_empty() {
            format!("_csrf={token}")
        } else {
            format!("{fields}&_csrf={token}")
        };
        let req = self
            .request("POST", uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Registers `email` (if new) and logs in.
    pub async fn log_in(&mut self, email: &str) -> Response {
        let meta = sigra_core::audit::RequestMeta::default();
        self.app
            .sigra
            .register(email, &PASSWORD.into(), &meta)
            .await
            .unwrap();
        let fields = format!(
            "email={}&password={}",
            email.replace('@', "%40"),
            PASSWORD.replace(' ', "+")
        );
        let response = self.post_form("/users/log_in", &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
        response
    }
}

/// The JSON body of a response.
pub async fn json(response: Response) -> serde_json::Value {
    serde_json::from_slice(&body(response).await).unwrap()
}

/// The body of a response.
pub async fn body(response: Response) -> Bytes {
    axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
}

/// The apps' clock: frozen at the first call, so a rate-limit test never straddles two
/// windows and sessions never age by accident.
pub fn frozen_now() -> time::OffsetDateTime {
    static NOW: OnceLock<time::OffsetDateTime> = OnceLock::new();
    *NOW.get_or_init(time::OffsetDateTime::now_utc)
}
