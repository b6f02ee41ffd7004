//! A test harness that drives the real router in-process, like a browser: it keeps cookies,
//! picks up the CSRF token from every page, and reads mail from the outbox (no job worker
//! runs: every mail a flow enqueued is there, rendered on demand).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use sigra_core::config::SigraConfigBuilder;
use sigra_example_host::app::AppState;
use sigra_example_host::db::Db;
use tower::ServiceExt;

use super::{APP_URL, TestDb, mails_to};

pub const PASSWORD: &str = "correct horse battery staple";

/// The app on a fresh database, in dev mode.
pub struct TestApp {
    pub router: Router,
    /// The app's state, to read the outbox.
    pub state: AppState,
    /// The app's database, to look at what the flows wrote.
    pub db: Db,
    _database: TestDb,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::with_config(|b| b).await
    }

    /// Starts the app in dev mode (plain-HTTP cookies, the dev mailbox pages) with `change`
    /// applied to the default configuration.
    pub async fn with_config(
        change: impl FnOnce(SigraConfigBuilder) -> SigraConfigBuilder,
    ) -> Self {
        let (state, database) = super::state_with(change).await;
        let db = state.db.clone();
        let router = sigra_example_host::web::router(state.clone());
        Self {
            router,
            state,
            db,
            _database: database,
        }
    }

    /// The app restarted on the same database with the default configuration. In dev mode
    /// that means a new random secret key base: what the previous run encrypted (the mail in
    /// the outbox) can no longer be read.
    pub fn restart(self) -> Self {
        let settings = super::settings(|b| b);
        let state = sigra_example_host::app::build_state(self.db.clone(), settings).unwrap();
        Self {
            router: sigra_example_host::web::router(state.clone()),
            state,
            ..self
        }
    }

    /// A new browser with its own cookies and its own IP address.
    pub fn browser(&self) -> Browser {
        static NEXT_IP: AtomicU32 = AtomicU32::new(1);
        let n = NEXT_IP.fetch_add(1, Ordering::Relaxed);
        Browser {
            router: self.router.clone(),
            jar: BTreeMap::new(),
            csrf: None,
            ip: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
                .to_owned(),
        }
    }

    /// Rows in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// Row counts of every table a form could write to.
    pub async fn counts(&self) -> Vec<(&'static str, i64)> {
        let mut counts = Vec::new();
        for table in COUNTED_TABLES {
            counts.push((*table, self.count(table).await));
        }
        counts
    }

    /// How many mails to `to` are in the outbox.
    pub async fn mail_count(&self, to: &str) -> usize {
        mails_to(&self.state, to).await.len()
    }

    /// The text of the newest mail of `kind` to `to` in the outbox.
    pub async fn mail(&self, to: &str, kind: &str) -> String {
        mails_to(&self.state, to)
            .await
            .into_iter()
            .rev()
            .find(|mail| mail.kind().as_str() == kind)
            .unwrap_or_else(|| panic!("no {kind} mail to {to} in the outbox"))
            .text()
            .to_owned()
    }

    /// Registers and confirms an account (by code), returning the logged-in browser.
    pub async fn confirmed_user(&self, email: &str) -> Browser {
        let mut browser = self.browser();
        let resp = browser
            .submit(
                "/users/register",
                "/users/register",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
        let mail = self.mail(email, "confirm").await;
        let code = code_in(&mail);
        let resp = browser
            .submit(
                "/users/confirm",
                "/users/confirm",
                &[("email", email), ("code", &code)],
            )
            .await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
        browser
    }
}

/// The tables the account flows write to.
pub const COUNTED_TABLES: &[&str] = &["users", "user_sessions", "user_email_tokens", "jobs"];

/// The first link in a mail that starts with `APP_URL` + `path_prefix`, as a path.
pub fn link_in(mail: &str, path_prefix: &str) -> String {
    let start = format!("{APP_URL}{path_prefix}");
    mail.split_whitespace()
        .find(|word| word.starts_with(&start))
        .map(|url| url[APP_URL.len()..].to_owned())
        .unwrap_or_else(|| panic!("no {start} link in mail:\n{mail}"))
}

/// The 6-digit code in a mail.
pub fn code_in(mail: &str) -> String {
    mail.split_whitespace()
        .find(|word| word.len() == 6 && word.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in mail:\n{mail}"))
        .to_owned()
}

/// One response, body read.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "body: {}", self.body);
        assert_eq!(self.location(), Some(to));
    }
}

/// A browser: a cookie jar, the latest CSRF token, an IP address.
pub struct Browser {
    router: Router,
    pub jar: BTreeMap<String, String>,
    csrf: Option<String>,
    pub ip: IpAddr,
    pub user_agent: String,
}

impl Browser {
    pub async fn get(&mut self, path: &str) -> Resp {
        let req = self.request(Method::GET, path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Follows a redirect response with a GET.
    pub async fn follow(&mut self, resp: &Resp) -> Resp {
        let to = resp.location().expect("a redirect").to_owned();
        self.get(&to).await
    }

    /// Posts a form with the current CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        if self.csrf.is_none() {
            self.get("/").await;
        }
        let token = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, encode_form(&all).into_bytes()).await
    }

    /// Opens `page`, then submits a form to `action` with the page's CSRF token.
    pub async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Resp {
        let resp = self.get(page).await;
        assert!(
            resp.status.is_success(),
            "GET {page}: {} {}",
            resp.status,
            resp.body
        );
        self.post(action, fields).await
    }

    /// Posts a raw form body (which may be anything).
    pub async fn post_raw(&mut self, path: &str, body: Vec<u8>) -> Resp {
        let req = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, APP_URL)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Sends `method` to `path` with no body, with the origin and the CSRF token (in the
    /// `x-csrf-token` header) a page's script would send.
    pub async fn send_method(&mut self, method: Method, path: &str) -> Resp {
        let mut req = self.request(method, path).header(header::ORIGIN, APP_URL);
        if let Some(token) = &self.csrf {
            req = req.header("x-csrf-token", token);
        }
        let req = req.body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Posts a JSON body as a page's script does: `Accept` and `Content-Type` JSON, the
    /// origin and the CSRF token in the `x-csrf-token` header.
    pub async fn post_json(&mut self, path: &str, body: &str) -> Resp {
        if self.csrf.is_none() {
            self.get("/").await;
        }
        let mut req = self
            .request(Method::POST, path)
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, APP_URL);
        if let Some(token) = &self.csrf {
            req = req.header("x-csrf-token", token);
        }
        let req = req.body(Body::from(body.to_owned())).unwrap();
        self.send(req).await
    }

    /// The CSRF token of the latest page.
    pub fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }

    /// Replaces the CSRF token sent with the next posts.
    pub fn set_csrf(&mut self, token: &str) {
        self.csrf = Some(token.to_owned());
    }

    /// The device cookie's value, if a password login set one (it outlives logout).
    pub fn device_cookie(&self) -> Option<&str> {
        self.jar
            .iter()
            .find(|(name, _)| name.ends_with("sigra_device"))
            .map(|(_, value)| value.as_str())
    }

    /// Drops the device cookie, as a client that never logged in here (or a thief who took
    /// only the session cookie) would not have it.
    pub fn forget_device(&mut self) {
        self.jar.retain(|name, _| !name.ends_with("sigra_device"));
    }

    /// The session cookie's value, if logged in.
    pub fn session_cookie(&self) -> Option<&str> {
        self.jar
            .iter()
            .find(|(name, _)| name.ends_with("sigra_session"))
            .map(|(_, value)| value.as_str())
    }

    fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost:4000")
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::ACCEPT, "text/html");
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            builder = builder.header(header::COOKIE, cookies.join("; "));
        }
        builder
    }

    async fn send(&mut self, mut req: Request<Body>) -> Resp {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(self.ip, 40_000)));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(token) = csrf_in(&body) {
            self.csrf = Some(token);
        }
        Resp {
            status,
            headers,
            body,
        }
    }
}

fn csrf_in(body: &str) -> Option<String> {
    let marker = r#"name="_csrf" value=""#;
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

/// `application/x-www-form-urlencoded`.
pub fn encode_form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
