//! The browser test infrastructure works: a spec run by `sigra_tests::browser` drives Debian's
//! Chromium against a server this test starts on 127.0.0.1 (fills a form, clicks a button that
//! changes the page, posts the form, which the server records), takes a screenshot, reaches
//! WebAuthn's virtual authenticator through CDP; a failing spec fails the Rust test with the
//! spec's error and leaves a screenshot; every spec uses the shared launch options.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sigra_tests::browser::{artifacts_dir, browser, e2e_dir, run_spec, run_spec_json};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sigra infra smoke</title>
<style>body { font-family: sans-serif; margin: 2rem; } #greeting { color: #135; }</style></head>
<body>
  <h1>Sigra infra smoke</h1>
  <form method="post" action="/submit">
    <label for="name">Name</label>
    <input id="name" name="name" autocomplete="off">
    <button type="button" id="greet">Greet</button>
    <button type="submit">Send</button>
  </form>
  <p id="greeting">Nobody greeted yet.</p>
  <script>
    document.getElementById('greet').addEventListener('click', () => {
      const name = document.getElementById('name').value;
      document.getElementById('greeting').textContent = `Hello, ${name}!`;
    });
  </script>
</body>
</html>"#;

/// One request the server saw.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    body: String,
}

/// A tiny HTTP/1.1 server on 127.0.0.1: `GET /` is the page, `POST /submit` is recorded and
/// answered with what it received; anything else is 404. One request per connection.
struct TestServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let record = Arc::clone(&record);
                std::thread::spawn(move || serve(stream, &record));
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, record: &Mutex<Vec<Seen>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return; // a speculative connection that never sent anything
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8_lossy(&body).into_owned();
    record.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        body: body.clone(),
    });
    let (status, html) = match (method.as_str(), path.as_str()) {
        ("GET", "/") => ("200 OK", PAGE.to_owned()),
        ("POST", "/submit") => (
            "200 OK",
            format!(
                "<!doctype html><title>Received</title><p id=\"received\">{}</p>",
                body.replace('&', "&amp;").replace('<', "&lt;")
            ),
        ),
        _ => (
            "404 Not Found",
            "<!doctype html><title>404</title>".to_owned(),
        ),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
}

#[test]
fn a_spec_fills_a_form_clicks_posts_and_screenshots() {
    if browser().is_none() {
        return;
    }
    let server = TestServer::start();
    let result = run_spec_json(
        "infra_smoke.mjs",
        &[("BASE_URL", &server.url), ("NAME", "Ada Lovelace")],
    )
    .unwrap();

    assert_eq!(result["title"], "Sigra infra smoke", "{result}");
    assert_eq!(result["greeting"], "Hello, Ada Lovelace!", "{result}");
    assert_eq!(result["received"], "name=Ada+Lovelace", "{result}");
    // The server got the page, then exactly one form post with the typed name.
    let seen = server.seen();
    assert!(
        seen.iter().any(|s| s.method == "GET" && s.path == "/"),
        "{seen:?}"
    );
    let posts: Vec<&Seen> = seen.iter().filter(|s| s.method == "POST").collect();
    assert_eq!(posts.len(), 1, "{seen:?}");
    assert_eq!(posts[0].path, "/submit");
    assert_eq!(posts[0].body, "name=Ada+Lovelace");

    // The screenshot is a PNG in target/e2e-artifacts.
    let shot = std::path::PathBuf::from(result["screenshot"].as_str().unwrap());
    assert!(shot.starts_with(artifacts_dir()), "{}", shot.display());
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", shot.display());
    assert!(png.len() > 1000);

    // WebAuthn's CDP domain answers: a virtual authenticator was added (no credentials yet).
    assert!(
        !result["authenticatorId"].as_str().unwrap().is_empty(),
        "{result}"
    );
    assert_eq!(result["credentials"], 0);
    // Headless Chromium, the system one.
    assert!(
        result["userAgent"]
            .as_str()
            .unwrap()
            .contains("HeadlessChrome"),
        "{result}"
    );
}

#[test]
fn a_failing_spec_fails_the_test_with_its_error_and_a_screenshot() {
    if browser().is_none() {
        return;
    }
    let server = TestServer::start();
    let failure = artifacts_dir().join("infra_fails-failure.png");
    let _ = std::fs::remove_file(&failure);
    let url = server.url.clone();
    let panic =
        std::panic::catch_unwind(move || run_spec("infra_fails.mjs", &[("BASE_URL", &url)]))
            .expect_err("a failing spec must fail the test");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("spec infra_fails.mjs failed"), "{msg}");
    assert!(
        msg.contains("No such button"),
        "the spec's error is shown: {msg}"
    );
    assert!(msg.contains("infra_fails-failure.png"), "{msg}");
    assert!(failure.is_file(), "{}", failure.display());
}

#[test]
fn a_spec_missing_its_input_says_which() {
    if browser().is_none() {
        return;
    }
    let panic = std::panic::catch_unwind(|| run_spec("infra_smoke.mjs", &[]))
        .expect_err("a spec without BASE_URL must fail");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("BASE_URL"), "{msg}");
}

/// The launch options live in one module, and every spec uses it (so no spec can forget the
/// flags that keep Chromium headless and off the network). Needs no browser.
#[test]
fn every_spec_launches_through_the_shared_module() {
    let dir = e2e_dir();
    let lib = std::fs::read_to_string(dir.join("lib/browser.mjs")).unwrap();
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ] {
        assert!(
            lib.contains(&format!("'{flag}'")),
            "lib/browser.mjs lacks {flag}"
        );
    }
    assert!(lib.contains("executablePath"));
    let mut specs = 0;
    for entry in std::fs::read_dir(dir.join("specs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "mjs") {
            specs += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains("from '../lib/browser.mjs'"),
                "{} must import ../lib/browser.mjs",
                path.display()
            );
            assert!(
                !text.contains("chromium.launch") && !text.contains("launchPersistentContext"),
                "{} launches Chromium itself; use lib/browser.mjs",
                path.display()
            );
        }
    }
    assert!(specs >= 2);
    // The lock file is committed and names no download addresses.
    let lock = std::fs::read_to_string(dir.join("package-lock.json")).unwrap();
    assert!(lock.contains("\"node_modules/playwright-core\""));
    assert!(!lock.contains("\"resolved\""));
}
