//! The generated host app (`examples/host`, package `sigra-example-host`) in real headless
//! Chromium: the test builds and starts the app's own binary on a free 127.0.0.1 port with a
//! fresh SQLite database in a temporary directory (dev mode: no secret, mail in the dev
//! mailbox), then runs a spec from `tests/e2e/specs/` against it.
//!
//! - `golden_path.mjs`: register, confirm with the mailed code, log out, log in, sudo, change
//!   the password, revoke a second device's session, reset the password through the mailed
//!   link, log in with it, log in with a mailed magic link; each step checks what the page
//!   says, and the dev mailbox must list every mail as sent by the app's job worker. The
//!   server's audit log must show the same story.
//! - `forms_a11y.mjs`: every auth page (logged out, logged in, in sudo, with form errors) has
//!   `<html lang>`, a `<h1>`, a label for every field.
//! - `two_factor.mjs`: turn on two-factor authentication with a code the spec computes from
//!   the secret on the page (as an authenticator app would), then log in with the app's code,
//!   with backup codes, on a trusted browser, and again after "Forget all trusted browsers";
//!   axe-core checks the login page, the MFA page and every state of the two-factor settings
//!   (a serious or critical violation fails). The app runs with a raised rate limit
//!   (`SIGRA_RATE_LIMIT_AUTH_MAX`): the flow posts more than 10 logins and codes a minute.
//! - `passkeys.mjs`: Chromium's virtual authenticator (DevTools protocol) adds a passkey on
//!   the settings page, which is renamed; it logs in with the "Log in with a passkey" button,
//!   then through autofill on the email field (conditional mediation); with two-factor
//!   authentication on, it answers the MFA page instead of a code; deleted, the button's
//!   login is refused. axe-core checks the passkey settings (with and without a passkey), the
//!   login page and the MFA page offering a passkey. The app is served at
//!   `http://localhost:<port>` (WebAuthn needs a secure context, which `localhost` is over
//!   plain HTTP and `127.0.0.1` is not), with that origin as its relying party.
//!
//! Skips (prints `skipped: ...`) without Chromium, Node.js or `tests/e2e/node_modules`; fails
//! instead under `SIGRA_REQUIRE_PEERS=1`, as every browser test (see `sigra_tests::browser`).
//!
//! The binary: `SIGRA_E2E_HOST_BIN` when set (any build of the host app; `cargo xtask test`
//! sets it to the binary its own test build made, so nothing compiles twice), else
//! `cargo build -p sigra-example-host` with this test's profile and the executable cargo
//! reports (that build unifies features on its own, so after `cargo test --workspace` it
//! recompiles part of the tree once). The server's log goes to
//! `target/e2e-artifacts/<spec>-server.log`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sigra_tests::browser::{artifacts_dir, browser, run_spec_json};
use sigra_tests::host::{free_port, host_binary};

/// How long the app may take to answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running host app on 127.0.0.1 with its own database; killed (and its directory removed)
/// on drop, its log kept in `target/e2e-artifacts/<name>-server.log`.
struct HostApp {
    url: String,
    child: Child,
    dir: PathBuf,
    log: PathBuf,
    name: String,
}

impl HostApp {
    /// Starts the app for the spec `name` with its shipped settings.
    fn start(name: &str) -> Self {
        Self::start_with(name, &[])
    }

    /// Starts the app for the spec `name` with `settings` (`SIGRA_*` variables) on top of its
    /// shipped defaults (tries a few ports: one may be taken between picking and binding it).
    fn start_with(name: &str, settings: &[(&str, &str)]) -> Self {
        Self::start_at(name, "127.0.0.1", settings)
    }

    /// Like [`HostApp::start_with`], but the browser reaches the app at
    /// `http://localhost:<port>` (it still listens on 127.0.0.1 only): WebAuthn needs a secure
    /// context, and `localhost` is one over plain HTTP, an IP address is not. The app is told
    /// that origin as its passkey relying party (`SIGRA_PASSKEY_RP_ID=localhost`,
    /// `SIGRA_PASSKEY_RP_ORIGIN`, which must match the page's origin exactly) and as `APP_URL`.
    fn start_on_localhost(name: &str, settings: &[(&str, &str)]) -> Self {
        Self::start_at(name, "localhost", settings)
    }

    /// Starts the app with `url` = `http://{host}:<port>`.
    fn start_at(name: &str, host: &str, settings: &[(&str, &str)]) -> Self {
        let binary = host_binary();
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("sigra-e2e-{name}-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let url = format!("http://{host}:{port}");
            let log = dir.join("server.log");
            let out = File::create(&log).unwrap();
            let mut command = Command::new(binary);
            for (key, _) in std::env::vars_os() {
                // The app reads its settings from the environment: only ours count.
                let key = key.to_string_lossy();
                if key.starts_with("SIGRA_")
                    || ["DATABASE_URL", "APP_URL", "SMTP_URL", "MAIL_FROM", "PORT"]
                        .contains(&key.as_ref())
                {
                    command.env_remove(key.as_ref());
                }
            }
            command
                .current_dir(&dir)
                .env(
                    "DATABASE_URL",
                    format!("sqlite://{}", dir.join("app.sqlite3").display()),
                )
                .env("PORT", port.to_string())
                .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
                .env("APP_URL", &url)
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1");
            if host == "localhost" {
                command
                    .env("SIGRA_PASSKEY_RP_ID", "localhost")
                    .env("SIGRA_PASSKEY_RP_ORIGIN", &url);
            }
            let mut child = command
                .envs(settings.iter().copied())
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            match wait_until_ready(&mut child, &url, &log) {
                Ok(()) => {
                    return Self {
                        url,
                        child,
                        dir,
                        log,
                        name: name.to_owned(),
                    };
                }
                Err(failure) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Only a port taken since we picked it is worth another try.
                    let port_taken = failure.contains("in use");
                    last_failure = failure;
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("the host app did not start: {last_failure}");
    }

    /// The server's log so far, without terminal colours.
    fn log_text(&self) -> String {
        read_log(&self.log)
    }

    /// Runs `spec` against this app; when it fails, the server's warnings and errors are
    /// printed first (a 429 or a 500 the spec saw has its reason there).
    fn run_spec(&self, spec: &str) -> serde_json::Value {
        let run = std::panic::catch_unwind(|| run_spec_json(spec, &[("BASE_URL", &self.url)]));
        match run {
            Ok(result) => result.unwrap_or_else(|| panic!("no browser to run {spec}")),
            Err(failure) => {
                let log = self.log_text();
                let problems: Vec<&str> = log
                    .lines()
                    .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
                    .collect();
                eprintln!(
                    "--- {spec}: the server's warnings and errors ---\n{}",
                    problems.join("\n")
                );
                std::panic::resume_unwind(failure)
            }
        }
    }

    /// The audit actions the server logged, in order (`action="auth.login"` ...).
    fn audit_actions(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|line| line.contains("sigra::audit"))
            .filter_map(|line| {
                let rest = line.split_once("action=\"")?.1;
                Some(rest.split_once('"')?.0.to_owned())
            })
            .collect()
    }

    /// The server's audit lines for `action` with `outcome` (`"success"`, `"failure"`).
    fn audit_lines(&self, action: &str, outcome: &str) -> Vec<String> {
        let marker = format!("action=\"{action}\" outcome=\"{outcome}\"");
        self.log_text()
            .lines()
            .filter(|line| line.contains("sigra::audit") && line.contains(&marker))
            .map(str::to_owned)
            .collect()
    }
}

/// The string `key` of an audit line's metadata (`metadata={"method":"totp"}`).
fn metadata_string(line: &str, key: &str) -> Option<String> {
    let metadata = line.split_once("metadata=")?.1;
    let value: serde_json::Value = serde_json::from_str(metadata.trim()).ok()?;
    Some(value.get(key)?.as_str()?.to_owned())
}

impl Drop for HostApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::create_dir_all(artifacts_dir());
        let kept = artifacts_dir().join(format!("{}-server.log", self.name));
        let _ = std::fs::write(&kept, self.log_text());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Checks that the spec's axe-core report covers every page in `expected`, and prints the
/// lesser violations it found (the spec itself fails on a serious or critical one).
fn check_axe(result: &serde_json::Value, label: &str, expected: &[&str]) {
    let pages = result["axe"]["pages"].as_array().unwrap();
    let checked: Vec<&str> = pages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for page in expected {
        assert!(
            checked.contains(page),
            "axe did not check {page}: {checked:?}"
        );
    }
    for page in pages {
        for violation in page["violations"].as_array().unwrap() {
            eprintln!(
                "e2e {label}: axe {} on {}: [{}] {} ({})",
                result["axe"]["version"].as_str().unwrap_or_default(),
                page["name"].as_str().unwrap_or_default(),
                violation["impact"].as_str().unwrap_or_default(),
                violation["id"].as_str().unwrap_or_default(),
                violation["targets"]
            );
        }
    }
}

/// Waits for `GET /` to answer 200; `Err` (with the log) if the process exits or the time
/// runs out.
fn wait_until_ready(child: &mut Child, url: &str, log: &Path) -> Result<(), String> {
    let started = Instant::now();
    let addr = url.trim_start_matches("http://");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!("it exited ({status}); its log:\n{}", read_log(log)));
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            return Err(format!(
                "no answer on {url} within {STARTUP_TIMEOUT:?}; its log:\n{}",
                read_log(log)
            ));
        }
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(stream, "GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            let mut status_line = String::new();
            let _ = BufReader::new(stream).read_line(&mut status_line);
            if status_line.starts_with("HTTP/1.1 200") || status_line.starts_with("HTTP/1.0 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server log, without terminal colours.
fn read_log(path: &Path) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.read_to_end(&mut bytes);
    }
    strip_ansi(&String::from_utf8_lossy(&bytes))
}

/// Removes terminal colour codes (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `needles` occur in `haystack` in this order (other items may come between).
fn in_order(haystack: &[String], needles: &[&str]) -> bool {
    let mut rest = haystack.iter();
    needles
        .iter()
        .all(|needle| rest.by_ref().any(|item| item == needle))
}

#[test]
fn golden_path_in_a_real_browser() {
    if browser().is_none() {
        return;
    }
    let app = HostApp::start("golden_path");
    let started = Instant::now();
    let result = app.run_spec("golden_path.mjs");
    let elapsed = started.elapsed();

    let steps: Vec<&str> = result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for step in result["steps"].as_array().unwrap() {
        eprintln!(
            "e2e golden path: {:>6} ms  {}",
            step["ms"].as_u64().unwrap_or_default(),
            step["name"].as_str().unwrap_or_default()
        );
    }
    eprintln!("e2e golden path: spec ran {elapsed:.1?} in all");
    assert_eq!(
        steps,
        [
            "register",
            "read the confirmation code from the dev mailbox",
            "confirm with the code",
            "settings ask for the password first (no sudo after a code confirmation)",
            "log out",
            "log in with the password",
            "settings -> sudo: confirm the password",
            "change the password",
            "a second device logs in with the changed password",
            "the first device sees the second on /users/sessions and logs it out",
            "the second device's next page load is logged out",
            "log out",
            "Back after logging out shows no account page",
            "request a password reset",
            "follow the mailed link and set a new password",
            "log in with the new password",
            "log out",
            "request a magic link",
            "the job worker sent every mail",
            "follow the magic link and press the button",
        ],
        "{result}"
    );
    let kinds: Vec<&str> = result["mails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["confirm", "reset_password", "magic_link"]);

    // The final screenshot is a PNG in target/e2e-artifacts.
    let shot = PathBuf::from(result["screenshot"].as_str().unwrap());
    assert!(shot.starts_with(artifacts_dir()), "{}", shot.display());
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", shot.display());

    // The server recorded what the browser did, in this order.
    let actions = app.audit_actions();
    let story = [
        "auth.register",
        "auth.confirm",
        "session.delete", // log out
        "auth.login",
        "session.sudo_enter",
        "auth.password_change",
        "auth.login", // the second device
        "session.revoke",
        "session.delete", // log out
        "auth.password_reset.request",
        "auth.password_reset.complete",
        "auth.login",
        "session.delete", // log out
        "auth.magic_link.request",
        "auth.magic_link.login",
    ];
    assert!(
        in_order(&actions, &story),
        "the audit log does not tell the story {story:?}:\n{actions:?}"
    );
    // Nothing went wrong on the server's side.
    let log = app.log_text();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "the server logged errors:\n{}",
        errors.join("\n")
    );
}

#[test]
fn every_auth_page_labels_its_fields_and_has_a_heading_and_language() {
    if browser().is_none() {
        return;
    }
    // The spec posts forms with errors one after another: no rate limit in the way.
    let app = HostApp::start_with("forms_a11y", &[("SIGRA_RATE_LIMIT_AUTH_MAX", "60")]);
    let result = app.run_spec("forms_a11y.mjs");
    let pages = result["pages"].as_array().unwrap();
    for page in pages {
        eprintln!(
            "e2e forms a11y: {} ({} fields)",
            page["name"].as_str().unwrap(),
            page["fields"]
        );
    }
    let names: Vec<&str> = pages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in [
        "/users/register",
        "/users/log_in",
        "/users/confirm",
        "/users/reset_password",
        "/users/settings (in sudo)",
        "/users/sudo",
        "/users/sessions",
        "/users/reset_password/{token}",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not checked: {names:?}"
        );
    }
    assert_eq!(result["problems"], serde_json::json!([]), "{result}");
}

#[test]
fn two_factor_authentication_in_a_real_browser() {
    if browser().is_none() {
        return;
    }
    // The flow makes 14 anonymous auth POSTs in well under a minute (5 password logins, 6
    // codes on the MFA page, sudo...); the shipped limit is 10 a minute per IP.
    let app = HostApp::start_with("two_factor", &[("SIGRA_RATE_LIMIT_AUTH_MAX", "60")]);
    let started = Instant::now();
    let result = app.run_spec("two_factor.mjs");
    let elapsed = started.elapsed();

    for step in result["steps"].as_array().unwrap() {
        eprintln!(
            "e2e two-factor: {:>6} ms  {}",
            step["ms"].as_u64().unwrap_or_default(),
            step["name"].as_str().unwrap_or_default()
        );
    }
    eprintln!("e2e two-factor: spec ran {elapsed:.1?} in all");
    let steps: Vec<&str> = result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "register",
            "confirm with the mailed code",
            "settings -> two-factor settings ask for the password first",
            "set up: the page shows a QR code and the secret",
            "a wrong code is refused and the page keeps the secret",
            "turn it on with the app's code: 8 backup codes",
            "the dev mailbox has the \"two-factor authentication is on\" mail",
            "log out",
            "log in with the password: the MFA page",
            "a wrong code is refused on the MFA page",
            "the app's code for the next time step logs in",
            "log out",
            "log in with a backup code",
            "log out",
            "log in with another backup code and \"Trust this browser\"",
            "log out",
            "log in again: straight in, no MFA page",
            "two-factor settings: \"Forget all trusted browsers\"",
            "log out",
            "log in: the MFA page again",
            "a used backup code is refused; an unused one logs in",
        ],
        "{result}"
    );
    let kinds: Vec<&str> = result["mails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["confirm", "mfa_enabled"]);

    // axe-core checked every page the brief names (the spec fails on a serious or critical
    // violation; lesser ones are listed).
    check_axe(
        &result,
        "two-factor",
        &[
            "login page",
            "MFA page",
            "MFA page (wrong code)",
            "two-factor settings (off)",
            "two-factor settings (enrolling, QR code)",
            "two-factor settings (enrolling, wrong code)",
            "two-factor settings (on, backup codes shown)",
            "two-factor settings (on)",
        ],
    );

    // The server recorded what the browser did, in this order.
    let actions = app.audit_actions();
    let story = [
        "auth.register",
        "auth.confirm",
        "session.sudo_enter",
        "mfa.enroll",
        "session.delete", // log out
        "auth.login",
        "mfa.verify", // the wrong code
        "mfa.verify", // the app's code
        "session.delete",
        "auth.login",
        "mfa.verify", // a backup code
        "session.delete",
        "auth.login",
        "mfa.verify", // another backup code, trusting the browser
        "session.delete",
        "auth.login",
        "mfa.verify", // the trusted browser
        "mfa.trust.forget",
        "session.delete",
        "auth.login",
        "mfa.verify", // the used backup code
        "mfa.verify", // an unused one
    ];
    assert!(
        in_order(&actions, &story),
        "the audit log does not tell the story {story:?}:\n{actions:?}"
    );
    let methods: Vec<String> = app
        .audit_lines("mfa.verify", "success")
        .iter()
        .map(|line| metadata_string(line, "method").unwrap_or_else(|| line.clone()))
        .collect();
    assert_eq!(
        methods,
        [
            "totp",
            "backup_code",
            "backup_code",
            "trusted_browser",
            "backup_code"
        ],
        "how each login's second factor was met"
    );
    let refusals: Vec<String> = app
        .audit_lines("mfa.verify", "failure")
        .iter()
        .map(|line| metadata_string(line, "reason").unwrap_or_else(|| line.clone()))
        .collect();
    assert_eq!(refusals, ["invalid_code", "invalid_code"]);
    assert_eq!(app.audit_lines("mfa.enroll", "success").len(), 1);
    assert_eq!(app.audit_lines("mfa.trust.forget", "success").len(), 1);
    // Nothing went wrong on the server's side.
    let log = app.log_text();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "the server logged errors:\n{}",
        errors.join("\n")
    );
}

#[test]
fn passkeys_in_a_real_browser() {
    if browser().is_none() {
        return;
    }
    // Five password entries and four passkey logins in well under a minute, as in the
    // two-factor test.
    let app = HostApp::start_on_localhost("passkeys", &[("SIGRA_RATE_LIMIT_AUTH_MAX", "60")]);
    assert!(app.url.starts_with("http://localhost:"), "{}", app.url);
    let started = Instant::now();
    let result = app.run_spec("passkeys.mjs");
    let elapsed = started.elapsed();

    for step in result["steps"].as_array().unwrap() {
        eprintln!(
            "e2e passkeys: {:>6} ms  {}",
            step["ms"].as_u64().unwrap_or_default(),
            step["name"].as_str().unwrap_or_default()
        );
    }
    eprintln!("e2e passkeys: spec ran {elapsed:.1?} in all");
    let steps: Vec<&str> = result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "register",
            "confirm with the mailed code",
            "settings -> passkeys ask for the password first; no passkeys yet",
            "add a passkey named \"Work laptop\"",
            "rename it \"Phone\"",
            "log out",
            "log in with the \"Log in with a passkey\" button",
            "log out",
            "log in through autofill on the email field (conditional mediation)",
            "turn on two-factor authentication with the app's code",
            "log out",
            "log in with the password: the MFA page offers \"Use a passkey\"",
            "\"Use a passkey\" logs in without a code",
            "passkey settings: it was used; delete it: the list is empty",
            "log out",
            "the passkey button now fails: the server does not know the passkey",
        ],
        "{result}"
    );
    // The authenticator made one discoverable credential for the account, on localhost.
    let credentials = result["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 1, "{result}");
    assert_eq!(credentials[0]["isResidentCredential"], true, "{result}");
    assert_eq!(credentials[0]["rpId"], "localhost", "{result}");
    assert_eq!(credentials[0]["userName"], result["email"], "{result}");
    // What the pages asked navigator.credentials, in order: the settings page created the
    // passkey; the login page's autofill request waited until the button cancelled it; the
    // next visit's autofill logged in by itself; the MFA page asked for the account's passkey;
    // after the delete, the button's assertion reached the server (which refused it).
    let calls: Vec<String> = result["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["path"].as_str().unwrap(),
                c["method"].as_str().unwrap(),
                c["mediation"].as_str().unwrap_or("modal"),
                c["outcome"].as_str().unwrap()
            )
        })
        .collect();
    // The password login leaves its page while autofill waits: the request never settles
    // (or fails as the page goes), it never logs in.
    let left = calls.get(4).cloned().unwrap_or_default();
    assert!(
        left.starts_with("/users/log_in get conditional ") && !left.ends_with(" resolved"),
        "{calls:?}"
    );
    assert_eq!(
        [&calls[..4], &calls[5..]].concat(),
        [
            "/users/settings/passkeys create modal resolved",
            "/users/log_in get conditional AbortError",
            "/users/log_in get modal resolved",
            "/users/log_in get conditional resolved",
            "/users/mfa get modal resolved",
            "/users/log_in get conditional AbortError",
            "/users/log_in get modal resolved",
        ],
        "{result}"
    );
    assert_eq!(result["mails"][0]["kind"], "confirm", "{result}");

    // axe-core checked every page the brief names (the spec fails on a serious or critical
    // violation; lesser ones are listed).
    check_axe(
        &result,
        "passkeys",
        &[
            "passkey settings (none)",
            "passkey settings (one passkey)",
            "login page (passkey button)",
            "MFA page (with a passkey)",
            "passkey settings (none, after deleting)",
            "login page (passkey refused)",
        ],
    );

    // The server recorded what the browser did, in this order.
    let actions = app.audit_actions();
    let story = [
        "auth.register",
        "auth.confirm",
        "session.sudo_enter",
        "passkey.register",
        "passkey.rename",
        "session.delete", // log out
        "passkey.verify", // the button
        "session.delete",
        "passkey.verify", // autofill
        "mfa.enroll",
        "session.delete",
        "auth.login",     // the password, then the MFA page
        "passkey.verify", // "Use a passkey"
        "mfa.verify",
        "passkey.delete",
        "session.delete",
        "passkey.verify", // the deleted passkey, refused
    ];
    assert!(
        in_order(&actions, &story),
        "the audit log does not tell the story {story:?}:\n{actions:?}"
    );
    let verified: Vec<String> = app
        .audit_lines("passkey.verify", "success")
        .iter()
        .map(|line| metadata_string(line, "purpose").unwrap_or_else(|| line.clone()))
        .collect();
    assert_eq!(verified, ["login", "login", "mfa"], "what each passkey did");
    let refusals: Vec<String> = app
        .audit_lines("passkey.verify", "failure")
        .iter()
        .map(|line| metadata_string(line, "reason").unwrap_or_else(|| line.clone()))
        .collect();
    assert_eq!(refusals, ["unknown_credential"]);
    let methods: Vec<String> = app
        .audit_lines("mfa.verify", "success")
        .iter()
        .map(|line| metadata_string(line, "method").unwrap_or_else(|| line.clone()))
        .collect();
    assert_eq!(methods, ["passkey"], "how the second factor was met");
    for action in ["passkey.register", "passkey.rename", "passkey.delete"] {
        assert_eq!(app.audit_lines(action, "success").len(), 1, "{action}");
    }
    assert_eq!(
        app.audit_lines("passkey.rename", "success")
            .iter()
            .map(|line| metadata_string(line, "nickname").unwrap_or_default())
            .collect::<Vec<_>>(),
        ["Phone"]
    );
    // Nothing went wrong on the server's side.
    let log = app.log_text();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "the server logged errors:\n{}",
        errors.join("\n")
    );
}

#[test]
fn audit_metadata_is_read_from_a_log_line() {
    let line = r#"2026-12-03T16:29:40Z  INFO sigra::audit: audit action="mfa.verify" outcome="success" ip="127.0.0.1" metadata={"method":"totp"}"#;
    assert_eq!(metadata_string(line, "method").as_deref(), Some("totp"));
    assert_eq!(metadata_string(line, "reason"), None);
    assert_eq!(metadata_string("no metadata here", "method"), None);
}

#[test]
fn ansi_codes_are_stripped_and_order_is_checked() {
    assert_eq!(
        strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"),
        "2026  INFO x"
    );
    let items: Vec<String> = ["a", "b", "c", "b"].map(String::from).to_vec();
    assert!(in_order(&items, &["a", "c", "b"]));
    assert!(!in_order(&items, &["c", "a"]));
}
