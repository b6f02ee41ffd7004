//! Outgoing mail: what a mail is, and the seam through which it leaves.
//!
//! sigra-core decides *that* a mail goes out (a confirmation, a sign-in link, a lockout
//! notice) and guarantees it is well formed; the host app owns the *wording* (its
//! templates, rendered by `cargo sigra install`) and the dev mailbox's table. The pieces:
//!
//! - [`OutgoingMail`]: kind, recipient, subject, text body, optional HTML body. Construction
//!   refuses anything that could inject a header (CR/LF in an address, a name or the
//!   subject), so no transport has to re-check. `Debug` hides subject and bodies (they carry
//!   links and codes).
//! - [`MailKind`]: the mail's purpose (`confirm`, `magic_link`, `reset_password`, …), kept
//!   with the mail so tests and the dev mailbox find mails by purpose, not by wording.
//! - [`Mailer`]: the transport trait. [`SmtpMailer`] (feature `smtp`, on by default) sends
//!   through a real SMTP server with lettre; [`MailboxMailer`] stores into the host's
//!   [`Mailbox`] (the dev mailbox, listed at `/dev/mailbox` in dev mode);
//!   [`AnyMailer`] is whichever of the two [`mailer_from_env`] picked.
//!
//! # Choosing the transport
//!
//! [`mailer_from_env`] reads `SMTP_URL`: set, mail goes over SMTP; unset, mail goes to the
//! dev mailbox, **but only when dev mode allows it** ([`MailerSettings::allow_dev_mailbox`],
//! normally `config.dev_mode()`). In production a forgotten `SMTP_URL` is a start-up error
//! ([`MailError::NoTransport`]), not reset links quietly piling up in a table. `MAIL_FROM`
//! (`Name <address>` or a bare address) overrides the sender. The choice is logged once,
//! without credentials.
//!
//! ```
//! # use std::sync::{Arc, Mutex};
//! # use sigra_core::mail::{Mailbox, StoredMail};
//! # use time::OffsetDateTime;
//! # #[derive(Clone, Default)]
//! # struct SqlMailbox(Arc<Mutex<Vec<StoredMail>>>);
//! # impl Mailbox for SqlMailbox {
//! #     type Error = std::convert::Infallible;
//! #     async fn deliver(&self, mail: &OutgoingMail, at: OffsetDateTime) -> Result<String, Self::Error> {
//! #         let mut m = self.0.lock().unwrap(); let id = m.len().to_string();
//! #         m.push(StoredMail::from_outgoing(id.clone(), mail, at)); Ok(id)
//! #     }
//! #     async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
//! #         Ok(self.0.lock().unwrap().iter().rev().take(limit as usize).cloned().collect())
//! #     }
//! #     async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
//! #         Ok(self.0.lock().unwrap().iter().find(|m| m.id == id).cloned())
//! #     }
//! # }
//! use sigra_core::mail::{mailer_from_lookup, Address, MailKind, Mailer, MailerSettings, OutgoingMail};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let settings = MailerSettings::new(Address::new("noreply@app.example")?).allow_dev_mailbox(true);
//! // `mailer_from_env(&settings, mailbox)` reads the process environment; this reads a map.
//! let mailer = mailer_from_lookup(|_var| None, &settings, SqlMailbox::default())?;
//! assert!(mailer.is_dev_mailbox());
//!
//! let to = Address::new("zoe@example.com")?;
//! let mail = OutgoingMail::new(MailKind::CONFIRM, to, "Confirm your account",
//!     "Open https://app.example/confirm/abc or enter 042917.")?;
//! mailer.send(&mail).await?;
//! # Ok::<(), sigra_core::mail::MailError>(())
//! # }).unwrap();
//! ```

mod address;
#[cfg(any(test, feature = "testing"))]
pub mod conformance;
mod error;
mod mailbox;
mod message;
#[cfg(feature = "smtp")]
mod smtp;

use std::fmt;
use std::future::Future;

pub use self::address::{Address, MAX_ADDRESS_BYTES, MAX_NAME_CHARS};
pub use self::error::MailError;
pub use self::mailbox::{Mailbox, MailboxMailer, StoredMail};
pub use self::message::{MAX_BODY_BYTES, MAX_SUBJECT_CHARS, MailKind, OutgoingMail};
#[cfg(feature = "smtp")]
pub use self::smtp::{KIND_HEADER, SmtpMailer, SmtpOptions, SmtpSecurity};

/// The variable naming the SMTP server: `smtps://user:pass@host`, `smtp://host:587?tls=required`,
/// `smtp://localhost:1025`. See [`SmtpMailer`].
pub const SMTP_URL_VAR: &str = "SMTP_URL";
/// The variable overriding the sender: `Name <noreply@example.com>` or a bare address.
pub const MAIL_FROM_VAR: &str = "MAIL_FROM";

/// Something that delivers an [`OutgoingMail`]: a real SMTP server, the dev mailbox, or a
/// host's own transport (an HTTP mail API, a job queue).
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
#[derive(Clone)]
#[non_exhaustive]
pub enum AnyMailer<M> {
    /// A real SMTP server (`SMTP_URL` is set).
    #[cfg(feature = "smtp")]
    Smtp(SmtpMailer),
    /// The host's dev mailbox (`SMTP_URL` is not set, dev mode).
    Mailbox(MailboxMailer<M>),
}

impl<M> AnyMailer<M> {
    /// Whether mail goes to the dev mailbox: the host mounts `/dev/mailbox` only then.
    pub fn is_dev_mailbox(&self) -> bool {
        matches!(self, Self::Mailbox(_))
    }

    /// A short description for logs and `doctor`: `SMTP smtp.example.com:465 (implicit TLS)`
    /// or `dev mailbox`. Never contains credentials.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "smtp")]
            Self::Smtp(smtp) => format!("SMTP {} ({})", smtp.server(), smtp.security()),
            Self::Mailbox(_) => "dev mailbox".to_owned(),
        }
    }
}

impl<M> fmt::Debug for AnyMailer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "smtp")]
            Self::Smtp(smtp) => f.debug_tuple("Smtp").field(smtp).finish(),
            Self::Mailbox(mailbox) => f.debug_tuple("Mailbox").field(mailbox).finish(),
        }
    }
}

impl<M: Mailbox> Mailer for AnyMailer<M> {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        match self {
            #[cfg(feature = "smtp")]
            Self::Smtp(smtp) => smtp.send(mail).await,
            Self::Mailbox(mailbox) => mailbox.send(mail).await,
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

    /// Whether mail may go to the dev mailbox when `SMTP_URL` is unset. Pass the
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
pub fn mailer_from_env<M: Mailbox>(
    settings: &MailerSettings,
    mailbox: M,
) -> Result<AnyMailer<M>, MailError> {
    for var in [SMTP_URL_VAR, MAIL_FROM_VAR] {
        if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(var) {
            return Err(MailError::NotUnicode { var });
        }
    }
    mailer_from_lookup(|var| std::env::var(var).ok(), settings, mailbox)
}

/// Picks the transport, reading variables through `lookup` (a map in tests, the process
/// environment in [`mailer_from_env`]):
///
/// - `MAIL_FROM` set: it is the sender (`Name <address>` or a bare address), else
///   `settings`' sender;
/// - `SMTP_URL` set: an [`SmtpMailer`] for it (must be called inside a Tokio runtime);
/// - otherwise the [`MailboxMailer`] over `mailbox`, if the settings allow the dev mailbox.
///
/// The choice is logged at `info` (server and security, never credentials).
///
/// # Errors
/// [`MailError::NoTransport`] when `SMTP_URL` is unset and the dev mailbox is not allowed;
/// [`MailError::InvalidSmtpUrl`], [`MailError::NoRuntime`] or
/// [`MailError::InvalidCertificate`] from [`SmtpMailer::from_url_with`];
/// [`MailError::SmtpDisabled`] when `SMTP_URL` is set without the `smtp` feature;
/// [`MailError::Env`] for an invalid `MAIL_FROM`.
pub fn mailer_from_lookup<M: Mailbox>(
    lookup: impl Fn(&str) -> Option<String>,
    settings: &MailerSettings,
    mailbox: M,
) -> Result<AnyMailer<M>, MailError> {
    let from = match lookup(MAIL_FROM_VAR) {
        Some(raw) => raw.parse::<Address>().map_err(|e| MailError::Env {
            var: MAIL_FROM_VAR,
            source: Box::new(e),
        })?,
        None => settings.from.clone(),
    };
    match lookup(SMTP_URL_VAR) {
        Some(url) => smtp_mailer(&url, from, settings),
        None if settings.allow_dev_mailbox => {
            tracing::info!(
                "mail: SMTP_URL is not set; mail is stored in the dev mailbox (listed at /dev/mailbox), not sent"
            );
            Ok(AnyMailer::Mailbox(MailboxMailer::new(mailbox)))
        }
        None => Err(MailError::NoTransport),
    }
}

#[cfg(feature = "smtp")]
fn smtp_mailer<M>(
    url: &str,
    from: Address,
    settings: &MailerSettings,
) -> Result<AnyMailer<M>, MailError> {
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
fn smtp_mailer<M>(
    _url: &str,
    _from: Address,
    _settings: &MailerSettings,
) -> Result<AnyMailer<M>, MailError> {
    Err(MailError::SmtpDisabled)
}

#[cfg(test)]
mod tests;
