//! Delivery to a real SMTP server through [lettre](https://docs.rs/lettre): pooled
//! connections, STARTTLS or implicit TLS (rustls with the `ring` provider, Mozilla's root
//! certificates), bounded waits.

mod scrub;
mod url;

use std::error::Error as _;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, Message, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use self::scrub::Scrubber;
pub use self::url::SmtpSecurity;
use super::{Address, MailError, Mailer, OutgoingMail};

/// The header naming the mail's [`MailKind`](super::MailKind), for tests and mail filters.
pub const KIND_HEADER: &str = "X-Sigra-Mail-Kind";

const KIND_HEADER_NAME: HeaderName = HeaderName::new_from_ascii_str(KIND_HEADER);
const CERT_PEM_LABEL: &[u8] = b"-----BEGIN CERTIFICATE-----";
const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");

/// Settings of an [`SmtpMailer`] beyond what `SMTP_URL` says.
///
/// ```
/// use std::time::Duration;
/// use sigra_core::mail::SmtpOptions;
///
/// let options = SmtpOptions::default()
///     .timeout(Duration::from_secs(5))
///     .pool_max_size(4);
/// assert_eq!(options.get_timeout(), Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
pub struct SmtpOptions {
    timeout: Duration,
    pool_max_size: u32,
    pool_idle_timeout: Duration,
    root_certificates: Vec<Vec<u8>>,
    danger_allow_plaintext_credentials: bool,
}

impl Default for SmtpOptions {
    /// 20 s per send, at most 10 pooled connections, idle ones closed after 60 s, the
    /// Mozilla root certificates, credentials only over an encrypted (or loopback) link.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
            pool_max_size: 10,
            pool_idle_timeout: Duration::from_secs(60),
            root_certificates: Vec::new(),
            danger_allow_plaintext_credentials: false,
        }
    }
}

impl SmtpOptions {
    /// The longest one [`send`](Mailer::send) may take, connecting and TLS included
    /// (default 20 s). A server that stops answering gives [`MailError::Timeout`], and the
    /// pool is replaced so the stuck connection is never reused. A zero duration is raised to
    /// one second.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_secs(1));
        self
    }

    /// The configured timeout.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// How many idle connections the pool keeps open for reuse (default 10, at least 1).
    pub fn pool_max_size(mut self, size: u32) -> Self {
        self.pool_max_size = size.max(1);
        self
    }

    /// How long an idle pooled connection stays open (default 60 s).
    pub fn pool_idle_timeout(mut self, idle: Duration) -> Self {
        self.pool_idle_timeout = idle;
        self
    }

    /// Trusts one more root certificate (PEM), e.g. a private relay's own CA, in addition to
    /// the Mozilla roots. The certificate is checked when the mailer is built.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// **Danger**: sends the `SMTP_URL` credentials even when the link to a non-loopback
    /// server is not certainly encrypted (`smtp://` without `tls=required`), where anyone on
    /// the path can read them. Only for a relay on a network you fully trust.
    pub fn danger_allow_plaintext_credentials(mut self, allow: bool) -> Self {
        self.danger_allow_plaintext_credentials = allow;
        self
    }
}

/// A [`Mailer`] delivering through an SMTP server, configured by a URL in
/// [lettre's `from_url` form](https://docs.rs/lettre/0.11/lettre/transport/smtp/struct.AsyncSmtpTransport.html#method.from_url):
///
/// | URL | meaning |
/// |---|---|
/// | `smtps://user:pass@smtp.example.com` | implicit TLS, port 465 (recommended) |
/// | `smtp://user:pass@smtp.example.com:587?tls=required` | STARTTLS, refused if the server does not offer it |
/// | `smtp://localhost:1025` | plaintext, for a local relay or test server |
/// | `smtp://host/ehlo.example` | a path sets the EHLO name |
///
/// Stricter than lettre: unknown query parameters are refused (a typo must not mean
/// plaintext), and credentials over a link that is not surely encrypted are refused unless
/// the server is on this machine (see
/// [`SmtpOptions::danger_allow_plaintext_credentials`]). Percent-encode reserved characters
/// in the user name and password (`@` as `%40`).
///
/// Each mail gets a `Message-ID` on the sender's domain (`<{local}@{domain}>` with the local
/// part set by [`OutgoingMail::with_message_id`], else a random one per send), an
/// `Auto-Submitted: auto-generated` header (so vacation auto-replies stay quiet) and
/// [`KIND_HEADER`]; with an HTML body it is `multipart/alternative`.
///
/// The password never appears in `Debug`, in logs or in errors. Cloning is cheap and clones
/// share the connection pool.
///
/// ```no_run
/// use sigra_core::mail::{Address, MailKind, Mailer, OutgoingMail, SmtpMailer};
///
/// # async fn run() -> Result<(), sigra_core::mail::MailError> {
/// let from = Address::new("noreply@example.com")?.with_name("Example")?;
/// let mailer = SmtpMailer::from_url("smtps://apikey:secret@smtp.example.com", from)?;
/// assert!(!format!("{mailer:?}").contains("secret"));
///
/// let mail = OutgoingMail::new(MailKind::RESET_PASSWORD, Address::new("zoe@example.com")?,
///     "Reset your password", "https://app.example/reset/…")?;
/// mailer.send(&mail).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SmtpMailer {
    inner: Arc<Inner>,
}

struct Inner {
    /// Kept to rebuild the pool after a timeout.
    builder: AsyncSmtpTransportBuilder,
    /// `None` only while dropping.
    transport: RwLock<Option<AsyncSmtpTransport<Tokio1Executor>>>,
    /// The runtime the pool's tasks live on: entered when the pool is dropped.
    runtime: tokio::runtime::Handle,
    from: Address,
    from_mailbox: LettreMailbox,
    server: String,
    security: SmtpSecurity,
    authenticated: bool,
    timeout: Duration,
    scrubber: Scrubber,
}

impl SmtpMailer {
    /// A mailer for `url`, sending as `from`, with [default options](SmtpOptions::default).
    ///
    /// # Errors
    /// [`MailError::InvalidSmtpUrl`] for a URL that cannot be used (the reason never quotes
    /// the credentials), [`MailError::NoRuntime`] outside a Tokio runtime.
    pub fn from_url(url: &str, from: Address) -> Result<Self, MailError> {
        Self::from_url_with(url, from, SmtpOptions::default())
    }

    /// A mailer for `url`, sending as `from`, with `options`. Must be called inside a Tokio
    /// runtime (the pool runs a cleanup task). Nothing is sent and no connection is opened
    /// until the first mail; [`check_connection`](Self::check_connection) tries one.
    ///
    /// # Errors
    /// [`MailError::InvalidSmtpUrl`], [`MailError::InvalidCertificate`],
    /// [`MailError::NoRuntime`], or [`MailError::Message`] for a sender address the mail
    /// library refuses.
    pub fn from_url_with(
        url: &str,
        from: Address,
        options: SmtpOptions,
    ) -> Result<Self, MailError> {
        let parsed = url::parse(url)?;
        let server = parsed.server();
        if parsed.credentials.is_some()
            && !parsed.security.is_encrypted()
            && !parsed.is_loopback()
            && !options.danger_allow_plaintext_credentials
        {
            return Err(MailError::InvalidSmtpUrl {
                reason: format!(
                    "the credentials would cross the network to {server} without certain encryption ({}); use smtps:// or smtp://…?tls=required",
                    parsed.security
                ),
            });
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| MailError::NoRuntime)?;

        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(parsed.host.clone())
                .port(parsed.port)
                .timeout(Some(options.timeout))
                .pool_config(
                    PoolConfig::new()
                        .max_size(options.pool_max_size)
                        .idle_timeout(options.pool_idle_timeout),
                );
        if parsed.security != SmtpSecurity::Plain {
            let mut tls = TlsParameters::builder(parsed.host.clone());
            for pem in &options.root_certificates {
                if !pem
                    .windows(CERT_PEM_LABEL.len())
                    .any(|w| w == CERT_PEM_LABEL)
                {
                    return Err(MailError::InvalidCertificate {
                        detail: "no `-----BEGIN CERTIFICATE-----` block found".to_owned(),
                    });
                }
                let cert =
                    Certificate::from_pem(pem).map_err(|e| MailError::InvalidCertificate {
                        detail: e.to_string(),
                    })?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls
                .build_rustls()
                .map_err(|e| MailError::InvalidCertificate {
                    detail: e.to_string(),
                })?;
            builder = builder.tls(match parsed.security {
                SmtpSecurity::ImplicitTls => Tls::Wrapper(tls),
                SmtpSecurity::StartTlsRequired => Tls::Required(tls),
                _ => Tls::Opportunistic(tls),
            });
        }
        if let Some(name) = &parsed.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        let scrubber = match &parsed.credentials {
            Some((user, password)) => {
                builder = builder.credentials(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_owned(),
                ));
                Scrubber::for_credentials(user, password)
            }
            None => Scrubber::none(),
        };
        if !parsed.security.is_encrypted() && !parsed.is_loopback() {
            tracing::warn!(
                server = %server,
                security = %parsed.security,
                "mail to this SMTP server is not certainly encrypted; use smtps:// or ?tls=required outside a trusted network"
            );
        }

        let from_mailbox = to_lettre(&from)?;
        let transport = {
            let _entered = runtime.enter();
            builder.clone().build()
        };
        Ok(Self {
            inner: Arc::new(Inner {
                builder,
                transport: RwLock::new(Some(transport)),
                runtime,
                from,
                from_mailbox,
                server,
                security: parsed.security,
                authenticated: parsed.credentials.is_some(),
                timeout: options.timeout,
                scrubber,
            }),
        })
    }

    /// The server, as `host:port`.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// How the connection is protected.
    pub fn security(&self) -> SmtpSecurity {
        self.inner.security
    }

    /// The sender address.
    pub fn from_address(&self) -> &Address {
        &self.inner.from
    }

    /// Opens (or reuses) a connection, authenticating if the URL has credentials, and checks
    /// the server answers: for a start-up or `cargo sigra doctor` check.
    ///
    /// # Errors
    /// The same as [`send`](Mailer::send) when the server cannot be reached, refuses the
    /// credentials or the TLS setup fails.
    pub async fn check_connection(&self) -> Result<(), MailError> {
        let transport = self.transport()?;
        match tokio::time::timeout(self.inner.timeout, transport.test_connection()).await {
            Err(_) => Err(self.timed_out()),
            Ok(Err(e)) => Err(self.classify(&e)),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::Smtp {
                server: self.inner.server.clone(),
                detail: "the server did not answer NOOP".to_owned(),
            }),
        }
    }

    /// The message lettre sends for `mail`.
    fn message(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        let builder = Message::builder()
            .from(self.inner.from_mailbox.clone())
            .to(to_lettre(mail.to())?)
            .subject(mail.subject())
            .message_id(Some(message_id(&self.inner.from, mail.message_id())?))
            .raw_header(HeaderValue::new(
                KIND_HEADER_NAME,
                mail.kind().as_str().to_owned(),
            ))
            .raw_header(HeaderValue::new(
                AUTO_SUBMITTED,
                "auto-generated".to_owned(),
            ));
        let built = match mail.html() {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text().to_owned(),
                html.to_owned(),
            )),
            None => builder.singlepart(SinglePart::plain(mail.text().to_owned())),
        };
        built.map_err(|e| MailError::Message {
            detail: e.to_string(),
        })
    }

    /// A handle on the current pool.
    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
        let guard = match self.inner.transport.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.clone().ok_or_else(|| MailError::Smtp {
            server: self.inner.server.clone(),
            detail: "the mailer is shutting down".to_owned(),
        })
    }

    /// Replaces the pool, so a connection stuck mid-command is never handed out again.
    fn replace_pool(&self) {
        let fresh = self.inner.builder.clone().build();
        let old = {
            let mut guard = match self.inner.transport.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            guard.replace(fresh)
        };
        drop(old);
    }

    fn timed_out(&self) -> MailError {
        self.replace_pool();
        MailError::Timeout {
            server: self.inner.server.clone(),
            detail: format!(
                "no complete answer within {} s",
                self.inner.timeout.as_secs_f32()
            ),
        }
    }

    /// Sorts a lettre error into a [`MailError`], scrubbed of the credentials.
    fn classify(&self, err: &lettre::transport::smtp::Error) -> MailError {
        let server = self.inner.server.clone();
        if let Some(code) = err.status() {
            let message = err
                .source()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "(no reply text)".to_owned());
            return MailError::Rejected {
                server,
                code: code.to_string().parse().unwrap_or(0),
                message: self.inner.scrubber.scrub(&message),
            };
        }
        let detail = self.inner.scrubber.scrub(&chain(err));
        let lower = detail.to_ascii_lowercase();
        let io_kind = io_error_kind(err);
        if err.is_timeout() || lower.contains("timed out") {
            MailError::Timeout { server, detail }
        } else if err.is_tls()
            || io_kind == Some(std::io::ErrorKind::InvalidData)
            || lower.contains("tls")
            || lower.contains("certificate")
            || lower.contains("handshake")
        {
            MailError::Tls { server, detail }
        } else if io_kind.is_some() || lower.starts_with("connection error") {
            MailError::Connection { server, detail }
        } else {
            MailError::Smtp { server, detail }
        }
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = self.message(mail)?;
        let transport = self.transport()?;
        let result = tokio::time::timeout(self.inner.timeout, transport.send(message)).await;
        drop(transport);
        match result {
            Ok(Ok(_)) => {
                tracing::debug!(
                    kind = mail.kind().as_str(),
                    server = %self.inner.server,
                    "mail sent"
                );
                Ok(())
            }
            Ok(Err(e)) => Err(self.classify(&e)),
            Err(_) => Err(self.timed_out()),
        }
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.inner.server)
            .field("security", &self.inner.security)
            .field(
                "credentials",
                &if self.inner.authenticated {
                    "[REDACTED]"
                } else {
                    "none"
                },
            )
            .field("from", &self.inner.from)
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

impl Drop for Inner {
    /// The pool spawns its shutdown on the runtime: make sure there is one, even when the
    /// last clone is dropped outside it.
    fn drop(&mut self) {
        let transport = match self.transport.get_mut() {
            Ok(t) => t.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(transport) = transport {
            let _entered = self.runtime.enter();
            drop(transport);
        }
    }
}

/// The lettre form of an address.
fn to_lettre(address: &Address) -> Result<LettreMailbox, MailError> {
    let email = lettre::Address::new(address.local_part(), address.domain()).map_err(|e| {
        MailError::Message {
            detail: format!("the mail library refused the address: {e}"),
        }
    })?;
    Ok(LettreMailbox::new(address.name().map(str::to_owned), email))
}

/// `<local@sender's domain>`, with the mail's own local part
/// ([`OutgoingMail::with_message_id`], already validated) or else 32 random hex digits. The
/// domain is ASCII only: an internationalised sender domain falls back to `mail.invalid`.
fn message_id(from: &Address, local: Option<&str>) -> Result<String, MailError> {
    let local = match local {
        Some(local) => local.to_owned(),
        None => {
            let random = crate::random::bytes::<16>()?;
            random.iter().map(|b| format!("{b:02x}")).collect()
        }
    };
    let domain = if from.domain().is_ascii() {
        from.domain()
    } else {
        "mail.invalid"
    };
    Ok(format!("<{local}@{domain}>"))
}

/// The error and all its sources, joined with `: ` (each only once).
fn chain(err: &lettre::transport::smtp::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source().and_then(|s| s.source());
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The kind of the first I/O error among the sources, if any.
fn io_error_kind(err: &lettre::transport::smtp::Error) -> Option<std::io::ErrorKind> {
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::MailKind;
    use proptest::prelude::*;

    fn mailer() -> (tokio::runtime::Runtime, SmtpMailer) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let from = Address::new("noreply@bücher.example")
            .unwrap()
            .with_name("Bücher \"Shop\"")
            .unwrap();
        let mailer = rt
            .block_on(async { SmtpMailer::from_url("smtp://127.0.0.1:2525", from) })
            .unwrap();
        (rt, mailer)
    }

    #[test]
    fn message_has_the_promised_headers() {
        let (_rt, mailer) = mailer();
        let mail = OutgoingMail::new(
            MailKind::CONFIRM,
            Address::new("zoe@example.com").unwrap(),
            "Hi",
            "text",
        )
        .unwrap()
        .with_html("<p>html</p>")
        .unwrap();
        let raw = String::from_utf8(mailer.message(&mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("X-Sigra-Mail-Kind: confirm\r\n"), "{raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated\r\n"), "{raw}");
        assert!(
            raw.contains("@mail.invalid>\r\n"),
            "non-ASCII sender domain: {raw}"
        );
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let a = mailer.message(&mail).unwrap().formatted();
        let b = mailer.message(&mail).unwrap().formatted();
        assert_ne!(a, b, "each message gets its own Message-ID");
    }

    #[test]
    fn a_set_message_id_is_used_on_every_send() {
        let (_rt, mailer) = mailer();
        let mail = OutgoingMail::new(
            MailKind::MAGIC_LINK,
            Address::new("zoe@example.com").unwrap(),
            "Hi",
            "text",
        )
        .unwrap()
        .with_message_id("0190f3a27c1e7d4b9a523c0f2b8e4d11")
        .unwrap();
        let id = |m: &Message| {
            let raw = String::from_utf8(m.formatted()).unwrap();
            raw.lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_owned))
                .unwrap()
        };
        let first = id(&mailer.message(&mail).unwrap());
        assert_eq!(first, "<0190f3a27c1e7d4b9a523c0f2b8e4d11@mail.invalid>");
        assert_eq!(id(&mailer.message(&mail).unwrap()), first);

        let from = Address::new("noreply@app.example").unwrap();
        assert_eq!(
            message_id(&from, Some("a.b-c_d")).unwrap(),
            "<a.b-c_d@app.example>"
        );
        let random = message_id(&from, None).unwrap();
        assert!(random.ends_with("@app.example>"), "{random}");
        assert_eq!(random.len(), "<@app.example>".len() + 32, "{random}");
        assert_ne!(random, message_id(&from, None).unwrap());
    }

    fn address() -> impl Strategy<Value = String> {
        let atom = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}|[äöüßéñ]{1,4}";
        let label = "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?|[äöüé]{1,5}";
        (
            prop::collection::vec(atom, 1..4),
            prop::collection::vec(label, 1..4),
        )
            .prop_map(|(atoms, labels)| format!("{}@{}", atoms.join("."), labels.join(".")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever `Address` accepts, lettre accepts too and the message builds: validation
        /// happens once, at construction, never as a surprise at send time.
        #[test]
        fn every_accepted_address_builds_a_message(email in address(), name in "\\PC{0,20}") {
            let (_rt, mailer) = mailer();
            if let Ok(to) = Address::new(&email).and_then(|a| a.with_name(&name)) {
                let mail = OutgoingMail::new(MailKind::CONFIRM, to, "Hi", "text").unwrap();
                prop_assert!(mailer.message(&mail).is_ok(), "{}", email);
            }
        }
    }
}
