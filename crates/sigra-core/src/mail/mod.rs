//! Outgoing mail: what a mail is, and the seam through which it leaves.
//!
//! sigra-core decides *that* a mail goes out (a confirmation, a sign-in link, a lockout
//! notice) and guarantees it is well formed; the host app owns the *wording* (its
//! templates, rendered by `cargo sigra install`). Flows never send directly: they enqueue a
//! notice in the durable outbox ([`jobs`](crate::jobs), queue
//! [`MAIL_QUEUE`](crate::jobs::MAIL_QUEUE)), and the app's job worker renders it and hands it
//! to a [`Mailer`]. The pieces here:
//!
//! - [`OutgoingMail`]: kind, recipient, subject, text body, optional HTML body, optional
//!   stable `Message-ID` ([`OutgoingMail::with_message_id`]: the worker passes the job's id,
//!   so every retry of one job carries the same `Message-ID`). Construction refuses anything
//!   that could inject a header (CR/LF in an address, a name, the subject or the message id),
//!   so no transport has to re-check. `Debug` hides subject and bodies (they carry links and
//!   codes).
//! - [`MailKind`]: the mail's purpose (`confirm`, `magic_link`, `reset_password`, …), kept
//!   with the mail so tests and the dev mailbox find mails by purpose, not by wording.
//! - [`Mailer`]: the transport trait. [`SmtpMailer`] (feature `smtp`, on by default) sends
//!   through a real SMTP server with lettre; [`AnyMailer`] is what [`mailer_from_env`]
//!   picked: SMTP, or [`AnyMailer::DevMailbox`], which sends nothing.
//!
//! # The dev mailbox
//!
//! The dev mailbox is not a store of its own: it is a view of the outbox. Every mail is a job
//! of the `mail` queue, and the host lists those jobs at `/dev/mailbox` in dev mode.
//! [`AnyMailer::DevMailbox`] is the transport that goes with it: its [`send`](Mailer::send)
//! only logs and succeeds, so the job completes and its mail stays in the outbox, readable
//! there and never sent.
//!
//! # Choosing the transport
//!
//! [`mailer_from_env`] reads `SMTP_URL`: set, mail goes over SMTP; unset, mail stays in the
//! dev mailbox, **but only when dev mode allows it** ([`MailerSettings::allow_dev_mailbox`],
//! normally `config.dev_mode()`). In production a forgotten `SMTP_URL` is a start-up error
//! ([`MailError::NoTransport`]), not reset links that quietly never leave the outbox.
//! `MAIL_FROM` (`Name <address>` or a bare address) overrides the sender. The choice is
//! logged once, without credentials.
//!
//! ```
//! use sigra_core::mail::{mailer_from_lookup, Address, AnyMailer, MailKind, Mailer, MailerSettings, OutgoingMail};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let settings = MailerSettings::new(Address::new("noreply@app.example")?).allow_dev_mailbox(true);
//! // `mailer_from_env(&settings)` reads the process environment; this reads a map.
//! let mailer = mailer_from_lookup(|_var| None, &settings)?;
//! assert!(mailer.is_dev_mailbox());
//! assert!(matches!(mailer, AnyMailer::DevMailbox));
//!
//! // What the job worker does with a mail job: render, then send with the job's id.
//! let to = Address::new("zoe@example.com")?;
//! let mail = OutgoingMail::new(MailKind::CONFIRM, to, "Confirm your account",
//!     "Open https://app.example/confirm/abc or enter 042917.")?
//!     .with_message_id("0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11")?;
//! mailer.send(&mail).await?; // the dev mailbox: logged, not sent; the job keeps the mail
//!
//! // In production, without SMTP_URL, start-up fails instead.
//! let prod = MailerSettings::new(Address::new("noreply@app.example")?);
//! assert!(mailer_from_lookup(|_var| None, &prod).is_err());
//! # Ok::<(), sigra_core::mail::MailError>(())
//! # }).unwrap();
//! ```

mod address;
mod error;
mod message;
#[cfg(feature = "smtp")]
mod smtp;

use std::future::Future;

pub use self::address::{Address, MAX_ADDRESS_BYTES, MAX_NAME_CHARS};
pub use self::error::MailError;
pub use self::message::{
    MAX_BODY_BYTES, MAX_MESSAGE_ID_CHARS, MAX_SUBJECT_CHARS, MailKind, OutgoingMail,
};
#[cfg(feature = "smtp")]
pub use self::smtp::{KIND_HEADER, SmtpMailer, SmtpOptions, SmtpSecurity};

/// The variable naming the SMTP server: `smtps://user:pass@host`, `smtp://host:587?tls=required`,
/// `smtp://localhost:1025`. See [`SmtpMailer`].
pub const SMTP_URL_VAR: &str = "SMTP_URL";
/// The variable overriding the sender: `Name <noreply@example.com>` or a bare address.
pub const MAIL_FROM_VAR: &str = "MAIL_FROM";

/// Something that delivers an [`OutgoingMail`]: a real SMTP server, the dev mailbox, or a
/// host's own transport (an HTTP mail API).
///
/// Implementations are cheap to clone (share a pool or a handle) and safe to share between
/// tasks. `send` returns once the transport has accepted the mail; a refusal or an outage is
/// a [`MailError`] (see [`MailError::is_transient`] to decide on a retry), never a panic.
///
/// ```
/// use sigra_core::mail::{MailError, Mailer, OutgoingMail};
///
/// /// Drops every mail: for an app that has no mail at all.
/// #[derive(Clone)]
/// struct Nowhere;
///
/// impl Mailer for Nowhere {
///     async fn send(&self, _mail: &OutgoingMail) -> Result<(), MailError> {
///         Ok(())
///     }
/// }
/// ```
pub trait Mailer: Clone + Send + Sync + 'static {
    /// Delivers `mail`.
    fn send(&self, mail: &OutgoingMail) -> impl Future<Output = Result<(), MailError>> + Send;
}

/// The transport [`mailer_from_env`] chose: SMTP, or the dev mailbox.
///
/// ```
/// use sigra_core::mail::AnyMailer;
///
/// let dev = AnyMailer::DevMailbox;
/// assert!(dev.is_dev_mailbox());
/// assert_eq!(dev.describe(), "dev mailbox");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyMailer {
    /// A real SMTP server (`SMTP_URL` is set).
    #[cfg(feature = "smtp")]
    Smtp(SmtpMailer),
    /// The dev mailbox (`SMTP_URL` is not set, dev mode): nothing is sent. The mail job stays
    /// in the outbox, where the host lists it at `/dev/mailbox`; [`send`](Mailer::send) only
    /// logs and succeeds.
    DevMailbox,
}

impl AnyMailer {
    /// Whether mail stays in the dev mailbox: the host mounts `/dev/mailbox` only then.
    pub fn is_dev_mailbox(&self) -> bool {
        matches!(self, Self::DevMailbox)
    }

    /// A short description for logs and `doctor`: `SMTP smtp.example.com:465 (implicit TLS)`
    /// or `dev mailbox`. Never contains credentials.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "smtp")]
            Self::Smtp(smtp) => format!("SMTP {} ({})", smtp.server(), smtp.security()),
            Self::DevMailbox => "dev mailbox".to_owned(),
        }
    }
}

impl Mailer for AnyMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        match self {
            #[cfg(feature = "smtp")]
            Self::Smtp(smtp) => smtp.send(mail).await,
            Self::DevMailbox => {
                tracing::info!(
                    kind = mail.kind().as_str(),
                    "mail kept in the outbox for the dev mailbox at /dev/mailbox, not sent"
                );
                Ok(())
            }
        }
    }
}

/// What [`mailer_from_env`] needs besides the environment.
///
/// ```
/// use sigra_core::mail::{Address, MailerSettings};
///
/// let settings = MailerSettings::new(Address::new("noreply@app.example")?)
///     .allow_dev_mailbox(true); // normally config.dev_mode()
/// assert!(settings.dev_mailbox_allowed());
/// # Ok::<(), sigra_core::mail::MailError>(())
/// ```
#[derive(Clone, Debug)]
pub struct MailerSettings {
    from: Address,
    allow_dev_mailbox: bool,
    #[cfg(feature = "smtp")]
    smtp: SmtpOptions,
}

impl MailerSettings {
    /// Sending as `from` (unless `MAIL_FROM` says otherwise); the dev mailbox not allowed;
    /// default SMTP options.
    pub fn new(from: Address) -> Self {
        Self {
            from,
            allow_dev_mailbox: false,
            #[cfg(feature = "smtp")]
            smtp: SmtpOptions::default(),
        }
    }

    /// Whether mail may stay in the dev mailbox (unsent) when `SMTP_URL` is unset. Pass the
    /// configuration's dev mode.
    pub fn allow_dev_mailbox(mut self, allow: bool) -> Self {
        self.allow_dev_mailbox = allow;
        self
    }

    /// Whether the dev mailbox is allowed.
    pub fn dev_mailbox_allowed(&self) -> bool {
        self.allow_dev_mailbox
    }

    /// Options for the SMTP transport.
    #[cfg(feature = "smtp")]
    pub fn smtp_options(mut self, options: SmtpOptions) -> Self {
        self.smtp = options;
        self
    }
}

/// Picks the transport from the process environment: SMTP when `SMTP_URL` is set, else the
/// dev mailbox (if `settings` allow it). See [`mailer_from_lookup`].
///
/// # Errors
/// As [`mailer_from_lookup`]; also [`MailError::NotUnicode`] when a variable is not valid
/// UTF-8.
pub fn mailer_from_env(settings: &MailerSettings) -> Result<AnyMailer, MailError> {
    for var in [SMTP_URL_VAR, MAIL_FROM_VAR] {
        if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(var) {
            return Err(MailError::NotUnicode { var });
        }
    }
    mailer_from_lookup(|var| std::env::var(var).ok(), settings)
}

/// Picks the transport, reading variables through `lookup` (a map in tests, the process
/// environment in [`mailer_from_env`]):
///
/// - `MAIL_FROM` set: it is the sender (`Name <address>` or a bare address), else
///   `settings`' sender;
/// - `SMTP_URL` set: an [`SmtpMailer`] for it (must be called inside a Tokio runtime);
/// - otherwise [`AnyMailer::DevMailbox`], if the settings allow the dev mailbox.
///
/// The choice is logged at `info` (server and security, never credentials).
///
/// # Errors
/// [`MailError::NoTransport`] when `SMTP_URL` is unset and the dev mailbox is not allowed;
/// [`MailError::InvalidSmtpUrl`], [`MailError::NoRuntime`] or
/// [`MailError::InvalidCertificate`] from [`SmtpMailer::from_url_with`];
/// [`MailError::SmtpDisabled`] when `SMTP_URL` is set without the `smtp` feature;
/// [`MailError::Env`] for an invalid `MAIL_FROM`.
pub fn mailer_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
    settings: &MailerSettings,
) -> Result<AnyMailer, MailError> {
    let from = match lookup(MAIL_FROM_VAR) {
        Some(raw) => raw.parse::<Address>().map_err(|e| MailError::Env {
            var: MAIL_FROM_VAR,
            error: Box::new(e),
        })?,
        None => settings.from.clone(),
    };
    match lookup(SMTP_URL_VAR) {
        Some(url) => smtp_mailer(&url, from, settings),
        None if settings.allow_dev_mailbox => {
            tracing::info!(
                "mail: SMTP_URL is not set; mail stays in the outbox, listed in the dev mailbox at /dev/mailbox, and is not sent"
            );
            Ok(AnyMailer::DevMailbox)
        }
        None => Err(MailError::NoTransport),
    }
}

#[cfg(feature = "smtp")]
fn smtp_mailer(
    url: &str,
    from: Address,
    settings: &MailerSettings,
) -> Result<AnyMailer, MailError> {
    let mailer = SmtpMailer::from_url_with(url, from, settings.smtp.clone())?;
    tracing::info!(
        server = %mailer.server(),
        security = %mailer.security(),
        from = %mailer.from_address().email(),
        "mail: sending through SMTP"
    );
    Ok(AnyMailer::Smtp(mailer))
}

#[cfg(not(feature = "smtp"))]
fn smtp_mailer(
    _url: &str,
    _from: Address,
    _settings: &MailerSettings,
) -> Result<AnyMailer, MailError> {
    Err(MailError::SmtpDisabled)
}

#[cfg(test)]
mod tests;
