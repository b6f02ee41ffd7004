//! A small HTTP/1.0 client that behaves like a browser filling in forms: it keeps cookies,
//! sends the page's CSRF token and a same-origin `Origin`. Enough to drive the host app's
//! HTML forms from a test without a browser (the browser tests use real Chromium).
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

    /// The same browser (a copy of its cookies) talking to the app at `base`: another instance
    /// of the same app, as behind a load balancer.
    pub fn with_base(&self, base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            cookies: self.cookies.clone(),
        }
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    /// Opens the form page `form_path`, takes its CSRF token, and posts `fields` to
    /// `action` as a browser would.
    pub fn submit(&mut self, form_path: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let page = self.get(form_path);
        let token = csrf_token(&page.body).unwrap_or_else(|| {
            panic!(
                "no CSRF token on {form_path} ({}):\n{}",
                page.status, page.body
            )
        });
        let mut body = format!("_csrf={}", encode(&token));
        for (name, value) in fields {
            body.push('&');
            body.push_str(&encode(name));
            body.push('=');
            body.push_str(&encode(value));
        }
        self.request("POST", action, Some(body))
    }

    fn request(&mut self, method: &str, path: &str, form: Option<String>) -> Response {
        let addr = self.base.trim_start_matches("http://").to_owned();
        let mut stream =
            TcpStream::connect(&addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: sigra-tests\r\nAccept: text/html\r\n"
        );
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
        }
        let body = form.unwrap_or_default();
        if method == "POST" {
            head.push_str(&format!(
                "Origin: {}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                self.base,
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
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
