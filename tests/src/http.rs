//! A small HTTP/1.0 client that behaves like a browser filling in forms and running the
//! pages' scripts: it keeps cookies, sends the page's CSRF token (a form field, or the
//! `x-csrf-token` header of a JSON post, as the passkey script does) and a same-origin
//! `Origin`. Enough to drive the host app's pages from a test without a browser (the browser
//! tests use real Chromium).
//!
//! ```no_run
//! use sigra_tests::http::Client;
//!
//! let mut client = Client::new("http://127.0.0.1:4000");
//! let page = client.submit("/users/reset_password", "/users/reset_password", &[("user[email]", "a@example.com")]);
//! assert!(page.status < 500);
//! ```
// A test helper: a panic here is a failed test with a message saying why.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A cookie-keeping client for one app.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    cookies: BTreeMap<String, String>,
}

impl Client {
    /// A client for the app at `base` (`http://127.0.0.1:<port>`), with no cookies.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    /// The same browser (a copy of its cookies) talking to the app at `base`: another
    /// instance of the same app, as behind a load balancer.
    pub fn with_base(&self, base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            cookies: self.cookies.clone(),
        }
    }

    /// The value of the cookie whose name ends with `suffix` (`sigra_mfa_trust` finds
    /// `__Host-sigra_mfa_trust` too), if it holds one.
    pub fn cookie(&self, suffix: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(name, _)| name.ends_with(suffix))
            .map(|(_, value)| value.as_str())
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    /// Opens `form_path`, takes its CSRF token, and posts `fields` to `action` as a form.
    pub fn submit(&mut self, form_path: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.token_from(form_path);
        let mut body = format!("_csrf={}", encode(&token));
        for (name, value) in fields {
            body.push('&');
            body.push_str(&encode(name));
            body.push('=');
            body.push_str(&encode(value));
        }
        let body = Body {
            content_type: "application/x-www-form-urlencoded",
            bytes: body,
            csrf_header: None,
        };
        self.request("POST", action, Some(body))
    }

    /// Opens `page_path`, takes its CSRF token, and posts `body` to `action` as the page's
    /// script does: JSON, with the token in `x-csrf-token`.
    pub fn post_json(
        &mut self,
        page_path: &str,
        action: &str,
        body: &serde_json::Value,
    ) -> Response {
        let token = self.token_from(page_path);
        let body = Body {
            content_type: "application/json",
            bytes: body.to_string(),
            csrf_header: Some(token),
        };
        self.request("POST", action, Some(body))
    }

    fn token_from(&mut self, page_path: &str) -> String {
        let page = self.get(page_path);
        csrf_token(&page.body).unwrap_or_else(|| {
            panic!(
                "no CSRF token on {page_path} ({} {:?}):\n{}",
                page.status,
                page.header("location"),
                page.body
            )
        })
    }

    /// One request on its own connection (HTTP/1.0: the answer ends when it closes).
    fn request(&mut self, method: &str, path: &str, body: Option<Body>) -> Response {
        let addr = self.base.trim_start_matches("http://").to_owned();
        let mut stream =
            TcpStream::connect(&addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let accept = match &body {
            Some(body) if body.content_type == "application/json" => "application/json",
            _ => "text/html",
        };
        let mut head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: sigra-tests\r\nAccept: {accept}\r\n"
        );
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
        }
        let mut payload = String::new();
        if let Some(body) = body {
            head.push_str(&format!(
                "Origin: {}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                self.base,
                body.content_type,
                body.bytes.len()
            ));
            if let Some(token) = body.csrf_header {
                head.push_str(&format!("x-csrf-token: {token}\r\n"));
            }
            payload = body.bytes;
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(payload.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("reading the answer to {method} {path}: {e}"));
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer to {method} {path}: {raw:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        for (_, cookie) in headers.iter().filter(|(n, _)| n == "set-cookie") {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = cookie.to_ascii_lowercase().contains("max-age=0");
                if expired || value.is_empty() {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        Response {
            status,
            headers,
            body: body.to_owned(),
        }
    }
}

/// A request body: its content type, its bytes, and the `x-csrf-token` header to send.
struct Body {
    content_type: &'static str,
    bytes: String,
    csrf_header: Option<String>,
}

/// The value of the first `name="_csrf"` hidden input in `html`.
pub fn csrf_token(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\"")?;
    let rest = &html[at..];
    let value = rest.split_once("value=\"")?.1;
    Some(
        value
            .split_once('"')?
            .0
            .replace("&#x2f;", "/")
            .replace("&#x3d;", "="),
    )
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The path of the first link in `text` that starts with `base` (a mail's link), e.g.
/// `/users/reset_password/<token>`.
pub fn link_path(text: &str, base: &str) -> Option<String> {
    let at = text.find(base)?;
    let rest = &text[at + base.len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// The answer's body as JSON.
///
/// # Panics
/// When it is not JSON.
pub fn json(answer: &Response) -> serde_json::Value {
    serde_json::from_str(&answer.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {}:\n{}", answer.status, answer.body))
}
