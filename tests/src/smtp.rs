//! A real SMTP server (Python aiosmtpd, `tests/py/smtp_sink.py`) on loopback, for tests that
//! send mail and read it back.
//!
//! ```no_run
//! use std::time::Duration;
//! use sigra_tests::smtp::SmtpSink;
//!
//! let Some(sink) = SmtpSink::start() else { return }; // peers not installed: skipped
//! // … send one mail to sink.url() …
//! let mails = sink.wait_for(1, Duration::from_secs(10));
//! assert_eq!(mails[0].subject.as_deref(), Some("Confirm your account"));
//! ```
//!
//! The sink decodes each message with Python's `email` package (headers, RFC 2047 words,
//! quoted-printable and base64 bodies, charsets) and writes one JSON file per message, so a
//! test compares plain strings. It listens on 127.0.0.1 only, on a free port; it can speak
//! STARTTLS or implicit TLS with a throwaway CA (see [`SmtpSink::ca_pem`]) and require
//! AUTH. It stops when the [`SmtpSink`] is dropped, and on its own if the test process dies
//! (it exits when its stdin closes).
//!
//! Skip semantics are those of [`run_peer`](crate::run_peer): without the peers' venv,
//! [`SmtpSink::start`] prints why and returns `None`; with `SIGRA_REQUIRE_PEERS=1` it panics.
// A test helper: a panic here is a failed test with a message saying why.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::fs;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::{peers_required, python, workspace_root};

/// How the sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SinkTls {
    /// Plaintext SMTP.
    #[default]
    None,
    /// Plaintext first, STARTTLS required before MAIL.
    StartTls,
    /// TLS from the first byte (like port 465).
    Implicit,
}

/// How to start a sink.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// TLS mode (certificates for `localhost` and `127.0.0.1`, signed by a fresh CA).
    pub tls: SinkTls,
    /// Require `AUTH` with this user name and password.
    pub auth: Option<(String, String)>,
    /// Listen on this port instead of a free one (to start a server an app was already
    /// pointed at: an outage that ends).
    pub port: Option<u16>,
}

/// A running SMTP server on loopback; stopped on drop.
pub struct SmtpSink {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    dir: PathBuf,
    options: SinkOptions,
    ca_pem: Option<Vec<u8>>,
}

/// One message the sink received, decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// 1 for the first message the sink received, then 2…
    pub seq: u64,
    /// The client's source port: equal for messages sent over one (pooled) connection.
    pub peer_port: Option<u16>,
    /// Whether the connection was encrypted.
    pub tls: bool,
    /// The user the client authenticated as, if it did.
    pub auth_user: Option<String>,
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`) the sink accepted.
    pub rcpt_tos: Vec<String>,
    /// Whether the client asked for SMTPUTF8.
    pub smtputf8: bool,
    /// Every header, in order, with its value decoded (RFC 2047 words become text).
    pub headers: Vec<(String, String)>,
    /// The decoded `Subject`.
    pub subject: Option<String>,
    /// The decoded `From`.
    pub from: Option<String>,
    /// The decoded `To`.
    pub to: Option<String>,
    /// The `Message-ID`.
    pub message_id: Option<String>,
    /// The `X-Sigra-Mail-Kind` header.
    pub kind: Option<String>,
    /// The top-level content type, e.g. `multipart/alternative`.
    pub content_type: String,
    /// The `text/plain` body, decoded (transfer encoding and charset).
    pub text: Option<String>,
    /// The `text/html` body, decoded.
    pub html: Option<String>,
    /// The message as received (RFC 5322, still encoded).
    pub raw: String,
}

impl ReceivedMail {
    /// The first header called `name` (case-insensitive), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn from_json(v: &Value) -> Self {
        let s = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        if let Some(err) = s("decode_error") {
            panic!(
                "the sink could not decode a message ({err}):\n{}",
                s("raw").unwrap_or_default()
            );
        }
        Self {
            seq: v.get("seq").and_then(Value::as_u64).unwrap_or(0),
            peer_port: v
                .get("peer")
                .and_then(|p| p.get(1))
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok()),
            tls: v.get("tls").and_then(Value::as_bool).unwrap_or(false),
            auth_user: s("auth_user"),
            mail_from: s("mail_from").unwrap_or_default(),
            rcpt_tos: v
                .get("rcpt_tos")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            smtputf8: v.get("smtputf8").and_then(Value::as_bool).unwrap_or(false),
            headers: v
                .get("headers")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|h| {
                            Some((
                                h.get(0)?.as_str()?.to_owned(),
                                h.get(1)?.as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            subject: s("subject"),
            from: s("from"),
            to: s("to"),
            message_id: s("message_id"),
            kind: s("kind"),
            content_type: s("content_type").unwrap_or_default(),
            text: s("text"),
            html: s("html"),
            raw: s("raw").unwrap_or_default(),
        }
    }
}

/// Exit code of the sink when aiosmtpd (or cryptography) is missing.
const PEER_MISSING: i32 = 3;

impl SmtpSink {
    /// A plaintext sink without AUTH. `None` when the peers are not installed.
    pub fn start() -> Option<Self> {
        Self::start_with(SinkOptions::default())
    }

    /// A sink with `options`. `None` when the peers are not installed.
    ///
    /// # Panics
    /// When the sink fails to start (or, with `SIGRA_REQUIRE_PEERS=1`, is missing).
    pub fn start_with(options: SinkOptions) -> Option<Self> {
        let python = python()?;
        let dir = fresh_dir();
        fs::create_dir_all(&dir).expect("creating the sink's directory");
        let ca_path = dir.join("ca.pem");
        let mut cmd = Command::new(&python);
        cmd.arg(workspace_root().join("tests/py/smtp_sink.py"))
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match options.tls {
            SinkTls::None => {}
            SinkTls::StartTls => {
                cmd.args(["--tls", "starttls", "--ca-out"]).arg(&ca_path);
            }
            SinkTls::Implicit => {
                cmd.args(["--tls", "implicit", "--ca-out"]).arg(&ca_path);
            }
        }
        if let Some((user, pass)) = &options.auth {
            cmd.arg("--auth").arg(format!("{user}:{pass}"));
        }
        if let Some(port) = options.port {
            cmd.arg("--port").arg(port.to_string());
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} smtp_sink.py: {e}", python.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        // Drain stderr all along, so a chatty sink never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_reader = {
            let stderr = Arc::clone(&stderr);
            let mut pipe = child.stderr.take().expect("stderr is piped");
            std::thread::spawn(move || {
                let mut buf = String::new();
                let _ = pipe.read_to_string(&mut buf);
                stderr.lock().unwrap().push_str(&buf);
            })
        };

        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let port = serde_json::from_str::<Value>(line.trim())
            .ok()
            .and_then(|v| v.get("port").and_then(Value::as_u64))
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else {
            let _ = child.kill();
            let status = child.wait().expect("waiting for the sink");
            let _ = stderr_reader.join();
            let stderr = stderr.lock().unwrap().clone();
            let _ = fs::remove_dir_all(&dir);
            if status.code() == Some(PEER_MISSING) {
                let msg = format!(
                    "SMTP sink peer not installed ({}); run `cargo xtask test` or `{} -m pip install aiosmtpd==1.4.6`",
                    stderr.trim(),
                    python.display()
                );
                if peers_required() {
                    panic!("{msg}");
                }
                eprintln!("skipped: {msg}");
                return None;
            }
            panic!(
                "the SMTP sink did not report its port ({status}; first line {line:?}):\n{stderr}"
            );
        };
        let ca_pem = match options.tls {
            SinkTls::None => None,
            _ => Some(fs::read(&ca_path).expect("reading the sink's CA certificate")),
        };
        Some(Self {
            child,
            stdin,
            port,
            dir,
            options,
            ca_pem,
        })
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `SMTP_URL` reaching it with its TLS mode, with the AUTH credentials if it requires
    /// them: `smtp://127.0.0.1:P`, `smtp://127.0.0.1:P?tls=required`, `smtps://127.0.0.1:P`.
    pub fn url(&self) -> String {
        self.url_with_host("127.0.0.1")
    }

    /// [`url`](Self::url) naming the server `host` instead, e.g. `localhost` (the certificate
    /// is valid for `localhost` and `127.0.0.1`).
    pub fn url_with_host(&self, host: &str) -> String {
        let userinfo = self
            .options
            .auth
            .as_ref()
            .map(|(user, pass)| format!("{}:{}@", percent_encode(user), percent_encode(pass)));
        self.url_for(host, userinfo)
    }

    /// [`url`](Self::url) with these credentials instead (e.g. a wrong password).
    pub fn url_with_credentials(&self, user: &str, pass: &str) -> String {
        self.url_for(
            "127.0.0.1",
            Some(format!(
                "{}:{}@",
                percent_encode(user),
                percent_encode(pass)
            )),
        )
    }

    fn url_for(&self, host: &str, userinfo: Option<String>) -> String {
        let userinfo = userinfo.unwrap_or_default();
        match self.options.tls {
            SinkTls::None => format!("smtp://{userinfo}{host}:{}", self.port),
            SinkTls::StartTls => format!("smtp://{userinfo}{host}:{}?tls=required", self.port),
            SinkTls::Implicit => format!("smtps://{userinfo}{host}:{}", self.port),
        }
    }

    /// The PEM of the CA that signed the sink's certificate (TLS modes only): add it to the
    /// client's trusted roots.
    pub fn ca_pem(&self) -> Option<&[u8]> {
        self.ca_pem.as_deref()
    }

    /// Every message received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.dir)
            .expect("reading the sink's directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && p.file_name()
                        .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = fs::read_to_string(path).expect("reading a received message");
                let value: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: not JSON ({e})", path.display()));
                ReceivedMail::from_json(&value)
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived and returns them all.
    ///
    /// # Panics
    /// After `timeout`, saying how many arrived.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the SMTP sink received {} message(s) within {timeout:?}, expected {n}",
                    got.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.stdin.take()); // EOF: the sink shuts down by itself…
        let _ = self.child.kill(); // …and this makes sure of it.
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A new directory name under the system temp dir.
fn fresh_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "sigra-smtp-sink-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
