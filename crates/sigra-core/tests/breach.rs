//! The breached-password check end to end (cargo feature `breach-check`): the account flows
//! that set a password (register, reset, change) configured with `SIGRA_PASSWORD_BREACH_CHECK*`
//! and talking HTTP to `FakePwnedRange`, a loopback fake of the Pwned Passwords range endpoint
//! that serves padded answers and records every request it receives, byte for byte.
//!
//! Run: `cargo test -p sigra-core --features breach-check,testing --test breach`.
#![cfg(all(feature = "breach-check", feature = "testing", feature = "axum"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha1::{Digest as _, Sha1};
use sigra_core::auth::AuthError;
use sigra_core::config::{BreachCheckFailure, SigraConfig};
use sigra_core::password::{PasswordError, PwnedClientError, PwnedPasswordsClient};
use support::auth::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A password the fake knows from 3,861 breaches.
const BREACHED: &str = "breached passphrase 2019";
/// A password whose exact suffix the fake serves only as a padding entry (count 0).
const ONLY_PADDING: &str = "padded but never breached";

// ---------------------------------------------------------------------------------------------
// The fake range service.
// ---------------------------------------------------------------------------------------------

/// The SHA-1 of `password` in uppercase hex.
fn sha1_hex(password: &str) -> String {
    Sha1::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// How the fake answers.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// 200 with the known suffixes under the prefix, and padding.
    Normal,
    /// Accepts the connection, reads the request, answers nothing for 10 s.
    Stall,
    /// 200 with an HTML page.
    Garbage,
    /// 503 with an empty body.
    Unavailable,
}

/// A fake of `GET /range/{prefix}` on 127.0.0.1: answers from the breaches it was given, pads
/// every answer with count-0 entries (as `Add-Padding: true` asks), and records each raw
/// request head it reads.
struct FakePwnedRange {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl FakePwnedRange {
    /// Starts the fake on a free loopback port. `breaches` are `(password, count)`; each
    /// entry in `padding` is a password whose suffix is served with count 0.
    async fn start(breaches: &[(&str, u64)], padding: &[&str]) -> Self {
        let mut by_prefix: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        for (password, count) in breaches {
            let hash = sha1_hex(password);
            let (prefix, suffix) = hash.split_at(5);
            by_prefix
                .entry(prefix.to_owned())
                .or_default()
                .push((suffix.to_owned(), *count));
        }
        for password in padding {
            let hash = sha1_hex(password);
            let (prefix, suffix) = hash.split_at(5);
            by_prefix
                .entry(prefix.to_owned())
                .or_default()
                .push((suffix.to_owned(), 0));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::Normal));
        let (seen, mode) = (Arc::clone(&requests), Arc::clone(&behaviour));
        let data = Arc::new(by_prefix);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (seen, mode, data) = (Arc::clone(&seen), Arc::clone(&mode), Arc::clone(&data));
                tokio::spawn(async move {
                    let Some(head) = read_head(&mut socket).await else {
                        return;
                    };
                    seen.lock().unwrap().push(head.clone());
                    let behaviour = *mode.lock().unwrap();
                    let response = match behaviour {
                        Behaviour::Stall => {
                            tokio::time::sleep(Duration::from_secs(10)).await;
                            return;
                        }
                        Behaviour::Garbage => {
                            http(200, "<html><body>Service temporarily busy</body></html>")
                        }
                        Behaviour::Unavailable => http(503, ""),
                        Behaviour::Normal => {
                            let prefix = head
                                .lines()
                                .next()
                                .and_then(|l| l.strip_prefix("GET /range/"))
                                .and_then(|l| l.strip_suffix(" HTTP/1.1"))
                                .unwrap_or_default();
                            http(200, &padded_body(data.get(prefix)))
                        }
                    };
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self {
            url,
            requests,
            behaviour,
        }
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    /// Every request head received so far.
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The request paths received so far.
    fn paths(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|head| {
                let line = head.lines().next().unwrap_or_default();
                line.split(' ').nth(1).unwrap_or_default().to_owned()
            })
            .collect()
    }
}

/// Reads up to the end of the request head (no request of this client has a body).
async fn read_head(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 16 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).ok()
}

fn http(status: u16, body: &str) -> String {
    let reason = if status == 200 {
        "OK"
    } else {
        "Service Unavailable"
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The entries under a prefix with padding around them, CRLF-separated like the real service.
fn padded_body(entries: Option<&Vec<(String, u64)>>) -> String {
    let mut lines = vec![
        "0018A45C4D1DEF81644B54AB7F969B88D65:0".to_owned(),
        "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:12".to_owned(),
        "011053FD0102E94D6AE2F8B83D76FAF94F6:0".to_owned(),
    ];
    for (suffix, count) in entries.into_iter().flatten() {
        lines.push(format!("{suffix}:{count}"));
    }
    lines.push("FFFFE39C2A8C6AE0A0BA8C9E27B1B8AC3A1:0".to_owned());
    lines.join("\r\n")
}

// ---------------------------------------------------------------------------------------------
// Configuration, log capture.
// ---------------------------------------------------------------------------------------------

/// The check on, against `url`, with a 1 s timeout and the given failure policy, read from
/// the environment variables a host sets.
fn config(url: &str, on_failure: &str) -> SigraConfig {
    SigraConfig::from_env_with(|name| {
        match name {
            "SIGRA_PASSWORD_BREACH_CHECK" => Some("true"),
            "SIGRA_PASSWORD_BREACH_CHECK_URL" => Some(url),
            "SIGRA_PASSWORD_BREACH_CHECK_TIMEOUT" => Some("1s"),
            "SIGRA_PASSWORD_BREACH_CHECK_ON_FAILURE" => Some(on_failure),
            _ => None,
        }
        .map(str::to_owned)
    })
    .unwrap()
}

async fn fake_and_env(on_failure: &str) -> (FakePwnedRange, Env) {
    let fake = FakePwnedRange::start(&[(BREACHED, 3_861)], &[ONLY_PADDING]).await;
    let e = env_with(clock!(), config(&fake.url, on_failure));
    (fake, e)
}

/// Records the `message` and `error` fields of every event while it is the default
/// subscriber (the tests run on one thread: `#[tokio::test]` is single-threaded).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!(
            "{} {} ",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Logs {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Whether `err` is the refusal `refuse` gives: the policy error shape, a client error, and a
/// message that asks to try again.
#[track_caller]
fn assert_refused_for_failure(err: AuthError) {
    assert!(
        matches!(
            &err,
            AuthError::WeakPassword(PasswordError::BreachCheckFailed(_))
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the breached-password check could not be completed: the password-check service did not answer; try again in a moment"
    );
    assert_json_422(err);
}

/// A form error, never a 500: the JSON API answers `422 weak_password` with the message.
#[track_caller]
fn assert_json_422(err: AuthError) {
    assert!(err.is_client_error(), "a form error, not a 500");
    let message = err.to_string();
    let api = sigra_core::web::ApiError::from(err);
    assert_eq!(api.status.as_u16(), 422);
    assert_eq!(api.code, "weak_password");
    assert_eq!(api.message, message);
}

#[track_caller]
fn assert_breached(err: AuthError) {
    assert!(
        matches!(
            &err,
            AuthError::WeakPassword(PasswordError::Breached { count: 3_861 })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "password has appeared in 3861 known data breaches; choose another"
    );
    assert_json_422(err);
}

// ---------------------------------------------------------------------------------------------
// The flows.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn register_refuses_a_breached_password_before_any_transaction() {
    let (fake, e) = fake_and_env("allow").await;
    let err = e
        .sigra
        .register("ann@example.com", &pw(BREACHED), &meta())
        .await
        .unwrap_err();
    assert_breached(err);
    assert_eq!(e.begins(), 0, "refused before any transaction began");
    assert!(e.user("ann@example.com").await.is_none());
    e.assert_no_new_notices().await;
    assert_eq!(
        fake.paths(),
        [format!("/range/{}", &sha1_hex(BREACHED)[..5])]
    );
}

#[tokio::test]
async fn register_accepts_a_clean_password() {
    let (fake, e) = fake_and_env("refuse").await;
    e.register("ben@example.com").await;
    assert!(e.user("ben@example.com").await.is_some());
    assert_eq!(fake.paths(), [format!("/range/{}", &sha1_hex(PW)[..5])]);
}

#[tokio::test]
async fn a_suffix_served_only_as_padding_is_not_a_breach() {
    let (fake, e) = fake_and_env("refuse").await;
    e.sigra
        .register("cat@example.com", &pw(ONLY_PADDING), &meta())
        .await
        .unwrap();
    assert!(e.user("cat@example.com").await.is_some());
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn reset_refuses_a_breached_password_and_keeps_the_link() {
    let (_fake, e) = fake_and_env("allow").await;
    e.confirmed("dan@example.com").await;
    let reset = e.reset_link("dan@example.com").await;
    let begins = e.begins();
    let err = e
        .sigra
        .reset_password(&reset, &pw(BREACHED), &meta())
        .await
        .unwrap_err();
    assert_breached(err);
    // Only the read of the link ran; the write transaction never began.
    assert_eq!(e.begins(), begins + 1);
    e.sigra.check_reset_token(&reset).await.unwrap();
    e.assert_no_new_notices().await;
    e.login_ok("dan@example.com", PW).await;

    e.sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();
    e.login_ok("dan@example.com", PW2).await;
}

#[tokio::test]
async fn change_password_refuses_a_breached_password() {
    let (_fake, e) = fake_and_env("allow").await;
    e.confirmed("eve@example.com").await;
    let l = e.login_ok("eve@example.com", PW).await;
    let auth = e.authed(&l).await;
    assert!(e.sigra.in_sudo(&auth));
    let begins = e.begins();
    let err = e
        .sigra
        .change_password(&auth, &pw(BREACHED), &meta())
        .await
        .unwrap_err();
    assert_breached(err);
    assert_eq!(e.begins(), begins, "refused before any transaction began");
    assert!(e.auth(&l).await.is_some(), "the session is untouched");
    e.assert_no_new_notices().await;

    e.sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    e.login_ok("eve@example.com", PW2).await;
}

#[tokio::test]
async fn only_the_five_character_prefix_leaves_the_process() {
    let (fake, e) = fake_and_env("allow").await;
    for password in [BREACHED, PW, ONLY_PADDING] {
        let _ = e
            .sigra
            .register("fay@example.com", &pw(password), &meta())
            .await;
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    for (head, password) in requests.iter().zip([BREACHED, PW, ONLY_PADDING]) {
        let hash = sha1_hex(password);
        let (prefix, suffix) = hash.split_at(5);
        let lower = head.to_ascii_lowercase();
        assert!(
            head.starts_with(&format!("GET /range/{prefix} HTTP/1.1\r\n")),
            "{head}"
        );
        assert!(lower.contains("\r\nadd-padding: true\r\n"), "{head}");
        assert!(!lower.contains(&suffix.to_ascii_lowercase()), "{head}");
        assert!(!lower.contains(&hash.to_ascii_lowercase()), "{head}");
        assert!(!lower.contains(&password.to_ascii_lowercase()), "{head}");
        assert!(!lower.contains("fay@example.com"), "{head}");
    }
}

#[tokio::test]
async fn a_timeout_with_policy_allow_accepts_the_password_and_logs_a_warning() {
    let (fake, e) = fake_and_env("allow").await;
    fake.set(Behaviour::Stall);
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let started = std::time::Instant::now();
    e.sigra
        .register("gil@example.com", &pw(BREACHED), &meta())
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert!(e.user("gil@example.com").await.is_some());
    let lines = logs.lines();
    let warning = lines
        .iter()
        .find(|l| l.contains("breached-password check failed"))
        .unwrap_or_else(|| panic!("no warning in {lines:?}"));
    assert!(warning.starts_with("WARN sigra::auth "), "{warning}");
    assert!(
        warning.contains("did not answer within 1000ms"),
        "{warning}"
    );
    assert!(warning.contains("accepted"), "{warning}");
    for line in &lines {
        assert!(
            !line.contains(BREACHED),
            "the password is never logged: {line}"
        );
        assert!(!line.contains(&sha1_hex(BREACHED)[5..]), "{line}");
    }
}

#[tokio::test]
async fn a_timeout_with_policy_refuse_is_a_clear_form_error() {
    let (fake, e) = fake_and_env("refuse").await;
    fake.set(Behaviour::Stall);
    let err = e
        .sigra
        .register("hal@example.com", &pw(PW), &meta())
        .await
        .unwrap_err();
    assert_refused_for_failure(err);
    assert_eq!(e.begins(), 0);
    assert!(e.user("hal@example.com").await.is_none());
}

#[tokio::test]
async fn a_garbage_answer_applies_the_policy() {
    let (fake, e) = fake_and_env("refuse").await;
    fake.set(Behaviour::Garbage);
    let err = e
        .sigra
        .register("ida@example.com", &pw(PW), &meta())
        .await
        .unwrap_err();
    assert_refused_for_failure(err);

    let allow = env_with(clock!(), config(&fake.url, "allow"));
    allow
        .sigra
        .register("ida@example.com", &pw(BREACHED), &meta())
        .await
        .unwrap();
    assert!(allow.user("ida@example.com").await.is_some());
}

#[tokio::test]
async fn an_error_status_applies_the_policy() {
    let (fake, e) = fake_and_env("refuse").await;
    fake.set(Behaviour::Unavailable);
    let err = e
        .sigra
        .register("jon@example.com", &pw(PW), &meta())
        .await
        .unwrap_err();
    assert_refused_for_failure(err);

    let allow = env_with(clock!(), config(&fake.url, "allow"));
    allow.register("jon@example.com").await;
}

#[tokio::test]
async fn an_unreachable_service_applies_the_policy() {
    // A port nothing listens on any more.
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let refuse = env_with(clock!(), config(&url, "refuse"));
    let err = refuse
        .sigra
        .register("kim@example.com", &pw(PW), &meta())
        .await
        .unwrap_err();
    assert_refused_for_failure(err);

    let allow = env_with(clock!(), config(&url, "allow"));
    allow.register("kim@example.com").await;
}

#[tokio::test]
async fn the_check_is_off_unless_configured() {
    let fake = FakePwnedRange::start(&[(BREACHED, 3_861)], &[]).await;
    let e = env_with(
        clock!(),
        SigraConfig::builder()
            .password(|p| p.breach_check_url = fake.url.clone())
            .build()
            .unwrap(),
    );
    e.sigra
        .register("lou@example.com", &pw(BREACHED), &meta())
        .await
        .unwrap();
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The client and the configuration.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_client_drops_padding_and_checks_its_prefix() {
    let fake = FakePwnedRange::start(&[(BREACHED, 3_861)], &[ONLY_PADDING]).await;
    let client = PwnedPasswordsClient::new(&fake.url, Duration::from_secs(1)).unwrap();
    let hash = sha1_hex(BREACHED);
    let entries = client.fetch_range(&hash[..5]).await.unwrap();
    assert!(entries.iter().all(|(_, count)| *count > 0), "{entries:?}");
    assert!(entries.contains(&(hash[5..].to_owned(), 3_861)));
    assert!(entries.contains(&("00D4F6E8FA6EECAD2A3AA415EEC418D38EC".to_owned(), 12)));

    // Anything but 5 hex characters never leaves.
    for bad in [&hash[..], &hash[..6], "5BAA", "5BAAZ", "../x"] {
        assert!(
            matches!(
                client.fetch_range(bad).await,
                Err(PwnedClientError::InvalidPrefix)
            ),
            "{bad}"
        );
    }
    assert_eq!(fake.requests().len(), 1);

    // A base path is kept.
    let mirror =
        PwnedPasswordsClient::new(&format!("{}/mirror/", fake.url), Duration::from_secs(1))
            .unwrap();
    let _ = mirror.fetch_range("5BAA6").await;
    assert_eq!(fake.paths().last().unwrap(), "/mirror/range/5BAA6");
}

#[test]
fn the_breach_check_settings_are_read_from_the_environment() {
    let c = config("http://127.0.0.1:9", "refuse");
    let p = c.password();
    assert!(p.breach_check);
    assert_eq!(p.breach_check_url, "http://127.0.0.1:9");
    assert_eq!(p.breach_check_timeout, Duration::from_secs(1));
    assert_eq!(p.breach_check_on_failure, BreachCheckFailure::Refuse);
    // With the feature on, the check is accepted at start-up and a context builds.
    let e = env_with(clock!(), c);
    assert!(e.sigra.config().password().breach_check);
}
