//! The mail module's error type.

/// Everything that can go wrong while building or delivering a mail.
///
/// No variant ever carries an SMTP password, a mail body (which holds links and codes) or the
/// whole `SMTP_URL`: SMTP errors name the server as `host:port` only, and any text that comes
/// back from the server is scrubbed of the credentials before it lands here.
///
/// ```
/// use sigra_core::mail::{Address, MailError};
///
/// let err = Address::new("alice@example.com\r\nBcc: everyone@example.com").unwrap_err();
/// assert!(matches!(err, MailError::HeaderInjection { field: "address" }));
/// assert!(err.to_string().contains("line break"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The text is not an email address this module accepts (`local@domain`, dot-atom local
    /// part of at most 64 bytes, host-name domain, at most 254 bytes in all).
    #[error("invalid email address: {reason}")]
    InvalidAddress {
        /// What was wrong, e.g. `"the domain is missing"`.
        reason: &'static str,
    },
    /// A field that ends up in a mail header holds a line break (CR, LF, or a Unicode line
    /// separator) or another control character. Such input could add headers of its own
    /// (`Bcc:` …), so it is refused rather than cleaned.
    #[error(
        "the {field} contains a line break (CR or LF) or another control character, which could inject mail headers; remove it"
    )]
    HeaderInjection {
        /// Which field: `"address"`, `"display name"`, `"subject"`.
        field: &'static str,
    },
    /// The subject is empty or too long.
    #[error("invalid subject: {reason}")]
    InvalidSubject {
        /// What was wrong.
        reason: &'static str,
    },
    /// A body is empty (text) or larger than [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
    #[error("invalid mail body: {reason}")]
    InvalidBody {
        /// What was wrong.
        reason: &'static str,
    },
    /// A custom [`MailKind`](super::MailKind) name is not `[a-z0-9_.-]{1,64}` starting with a
    /// letter.
    #[error("invalid mail kind: {reason}")]
    InvalidKind {
        /// What was wrong.
        reason: &'static str,
    },
    /// The local part given to [`OutgoingMail::with_message_id`](super::OutgoingMail::with_message_id)
    /// is not 1–64 characters of ASCII letters, digits, `.`, `-` and `_` (dots only between
    /// other characters). The text itself is not repeated: it may hold a line break.
    #[error("invalid Message-ID local part: {reason} (a UUID, hyphenated or not, fits)")]
    InvalidMessageId {
        /// What was wrong.
        reason: &'static str,
    },
    /// `SMTP_URL` (or the URL given to [`SmtpMailer`](super::SmtpMailer)) could not be used.
    /// The reason never repeats the credentials.
    #[error("invalid SMTP_URL: {reason}")]
    InvalidSmtpUrl {
        /// What was wrong and the expected form.
        reason: String,
    },
    /// A root certificate given to the SMTP options is not usable PEM.
    #[error("invalid SMTP root certificate: {detail}")]
    InvalidCertificate {
        /// What the TLS library said.
        detail: String,
    },
    /// An environment variable read by [`mailer_from_env`](super::mailer_from_env) holds a
    /// value that failed validation.
    #[error("{var}: {error}")]
    Env {
        /// The variable, e.g. `MAIL_FROM`.
        var: &'static str,
        /// What was wrong with its value.
        error: Box<MailError>,
    },
    /// An environment variable read by [`mailer_from_env`](super::mailer_from_env) is not
    /// valid UTF-8.
    #[error("{var} is not valid UTF-8")]
    NotUnicode {
        /// The variable.
        var: &'static str,
    },
    /// `SMTP_URL` is not set and the dev mailbox is not allowed (outside dev mode). Mail for
    /// real users must not silently stay unsent in the outbox.
    #[error(
        "SMTP_URL is not set, and the dev mailbox is only for development: set SMTP_URL (e.g. smtps://user:pass@smtp.example.com) or turn on dev mode"
    )]
    NoTransport,
    /// `SMTP_URL` is set but sigra-core was built without its `smtp` feature.
    #[error(
        "SMTP_URL is set but sigra-core was built without the `smtp` feature; enable it (it is on by default) or unset SMTP_URL"
    )]
    SmtpDisabled,
    /// The SMTP mailer was built outside a Tokio runtime (its connection pool runs a task).
    #[error(
        "the SMTP mailer must be built inside a Tokio runtime (its connection pool spawns a task); build it from async code, e.g. under #[tokio::main]"
    )]
    NoRuntime,
    /// The connection to the SMTP server failed: refused, unknown host, reset, closed.
    #[error(
        "the connection to the SMTP server {server} failed: {detail}; check SMTP_URL and that the server is running"
    )]
    Connection {
        /// `host:port`.
        server: String,
        /// What failed, scrubbed of credentials.
        detail: String,
    },
    /// The TLS handshake or STARTTLS upgrade failed (untrusted certificate, wrong host name,
    /// server without STARTTLS while `tls=required`, implicit TLS on a plain port…).
    #[error(
        "TLS with the SMTP server {server} failed: {detail}; check the scheme (smtps:// vs smtp://?tls=required), the port and the server's certificate"
    )]
    Tls {
        /// `host:port`.
        server: String,
        /// What failed, scrubbed of credentials.
        detail: String,
    },
    /// The server did not answer within the configured timeout.
    #[error("the SMTP server {server} did not answer in time: {detail}")]
    Timeout {
        /// `host:port`.
        server: String,
        /// What timed out.
        detail: String,
    },
    /// The server answered with a negative reply: a refused recipient or sender, failed
    /// authentication, a full mailbox, a greylisting delay. `4xx` codes are temporary
    /// ([`is_transient`](Self::is_transient)), `5xx` permanent.
    #[error("the SMTP server {server} refused the mail with code {code}: {message}")]
    Rejected {
        /// `host:port`.
        server: String,
        /// The SMTP reply code, e.g. 550.
        code: u16,
        /// The server's reply text, scrubbed of credentials.
        message: String,
    },
    /// Another SMTP failure (an unparseable reply, no common authentication mechanism…).
    #[error("SMTP error with {server}: {detail}")]
    Smtp {
        /// `host:port`.
        server: String,
        /// What failed, scrubbed of credentials.
        detail: String,
    },
    /// The message could not be assembled (an address lettre refuses, e.g. an
    /// internationalised domain that fails IDNA conversion).
    #[error("could not build the message: {detail}")]
    Message {
        /// What the message builder said.
        detail: String,
    },
    /// The system's random source failed while making a `Message-ID`.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}

impl MailError {
    /// Whether trying again later may succeed: the server was unreachable or slow, or it
    /// answered with a temporary (`4xx`) code. A job queue retries these and gives up on the
    /// others.
    ///
    /// ```
    /// use sigra_core::mail::MailError;
    ///
    /// let later = MailError::Rejected { server: "mx:25".into(), code: 451, message: "try later".into() };
    /// let never = MailError::Rejected { server: "mx:25".into(), code: 550, message: "no such user".into() };
    /// assert!(later.is_transient());
    /// assert!(!never.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connection { .. } | Self::Timeout { .. } => true,
            Self::Rejected { code, .. } => (400..500).contains(code),
            _ => false,
        }
    }
}
