//! The dev mailbox: mail stored in the host's database instead of sent.
//!
//! # The store contract
//!
//! The host implements [`Mailbox`] over a table of its own (the installer generates it as
//! `dev_mailbox`). An implementation must:
//!
//! 1. **Store every field exactly**: [`deliver`](Mailbox::deliver) keeps the kind
//!    ([`MailKind::as_str`]), the recipient (the [`Address`](super::Address)'s `Display`
//!    form, display name included), subject, text body, HTML body (absent stays absent) and
//!    the `sent_at` it is given, byte for byte (UTF-8 included); timestamps at least to the
//!    second.
//! 2. **Return a new, unique id** from `deliver`. The id is opaque to sigra-core: a UUID, an
//!    integer, anything that round-trips through a string and fits a URL path segment.
//! 3. **List newest first**: [`list`](Mailbox::list)`(limit)` returns at most `limit` mails,
//!    ordered by `sent_at` descending (a later delivery first among equal timestamps);
//!    `list(0)` is empty.
//! 4. **Look up totally**: [`get`](Mailbox::get) returns the mail with that id, and
//!    `Ok(None)` for an unknown id *or one that is not even well formed* (it comes from a
//!    URL): never an error for a bad id.
//!
//! Errors are for the store itself failing (connection lost…). The contract suite
//! `mail::conformance::check_mailbox` (feature `testing`) checks all four rules against a
//! store; run it in the host's tests against an empty table.
//!
//! A table that fits (SQLite; use `UUID` and `TIMESTAMPTZ` on Postgres):
//!
//! ```sql
//! CREATE TABLE dev_mailbox (
//!     id         TEXT PRIMARY KEY,          -- UUID v7: sorts by creation
//!     kind       TEXT NOT NULL,
//!     to_address TEXT NOT NULL,
//!     subject    TEXT NOT NULL,
//!     text_body  TEXT NOT NULL,
//!     html_body  TEXT,
//!     sent_at    TIMESTAMP NOT NULL
//! );
//! CREATE INDEX dev_mailbox_sent_at ON dev_mailbox (sent_at DESC, id DESC);
//! ```
//!
//! The mailbox holds working sign-in links: the host lists it at `/dev/mailbox` **only in dev
//! mode**, and [`mailer_from_env`](super::mailer_from_env) only picks it when dev mode allows.

use std::fmt;
use std::future::Future;

use time::OffsetDateTime;

use super::message::Redacted;
use super::{MailError, MailKind, Mailer, OutgoingMail};

/// The host's store for the dev mailbox. See the [module docs](self) for the contract every
/// implementation must keep.
///
/// Implementations are cheap to clone (a connection pool handle).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use sigra_core::mail::{Mailbox, OutgoingMail, StoredMail};
/// use time::OffsetDateTime;
///
/// /// In memory, for illustration: a real host stores in its database.
/// #[derive(Clone, Default)]
/// struct MemoryMailbox(Arc<Mutex<Vec<StoredMail>>>);
///
/// impl Mailbox for MemoryMailbox {
///     type Error = std::convert::Infallible;
///
///     async fn deliver(&self, mail: &OutgoingMail, sent_at: OffsetDateTime) -> Result<String, Self::Error> {
///         let mut mails = self.0.lock().unwrap();
///         let id = mails.len().to_string();
///         mails.push(StoredMail::from_outgoing(id.clone(), mail, sent_at));
///         Ok(id)
///     }
///
///     async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
///         let mails = self.0.lock().unwrap();
///         let mut newest_first: Vec<StoredMail> = mails.iter().rev().cloned().collect();
///         newest_first.sort_by(|a, b| b.sent_at.cmp(&a.sent_at)); // stable: ties keep newest first
///         newest_first.truncate(limit as usize);
///         Ok(newest_first)
///     }
///
///     async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
///         Ok(self.0.lock().unwrap().iter().find(|m| m.id == id).cloned())
///     }
/// }
/// ```
pub trait Mailbox: Clone + Send + Sync + 'static {
    /// The store's own error (a database error).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores `mail`, sent at `sent_at`, and returns its new id.
    fn deliver(
        &self,
        mail: &OutgoingMail,
        sent_at: OffsetDateTime,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;

    /// At most `limit` mails, newest first.
    fn list(&self, limit: u32)
    -> impl Future<Output = Result<Vec<StoredMail>, Self::Error>> + Send;

    /// The mail with this id; `Ok(None)` when there is none or the id is malformed.
    fn get(&self, id: &str)
    -> impl Future<Output = Result<Option<StoredMail>, Self::Error>> + Send;
}

/// A mail as the dev mailbox keeps it: what [`Mailbox::list`] and [`Mailbox::get`] return.
///
/// Plain fields, so a host builds it straight from a row. `Debug` hides the subject and
/// bodies (they hold working links and codes).
///
/// ```
/// use sigra_core::mail::{Address, MailKind, OutgoingMail, StoredMail};
/// use time::OffsetDateTime;
///
/// let mail = OutgoingMail::new(MailKind::RESET_PASSWORD, Address::new("a@example.com")?, "Reset", "link")?;
/// let stored = StoredMail::from_outgoing("42".into(), &mail, OffsetDateTime::UNIX_EPOCH);
/// assert!(stored.has_kind(&MailKind::RESET_PASSWORD));
/// assert_eq!(stored.to, "a@example.com");
/// # Ok::<(), sigra_core::mail::MailError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct StoredMail {
    /// The store's id for the mail (opaque).
    pub id: String,
    /// The [`MailKind`] name.
    pub kind: String,
    /// The recipient, in the [`Address`](super::Address)'s `Display` form.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, if the mail had one.
    pub html: Option<String>,
    /// When it was delivered to the mailbox.
    pub sent_at: OffsetDateTime,
}

impl StoredMail {
    /// The stored form of `mail`.
    pub fn from_outgoing(id: String, mail: &OutgoingMail, sent_at: OffsetDateTime) -> Self {
        Self {
            id,
            kind: mail.kind().as_str().to_owned(),
            to: mail.to().to_string(),
            subject: mail.subject().to_owned(),
            text: mail.text().to_owned(),
            html: mail.html().map(str::to_owned),
            sent_at,
        }
    }

    /// Whether the mail is of this kind.
    pub fn has_kind(&self, kind: &MailKind) -> bool {
        self.kind == kind.as_str()
    }
}

impl fmt::Debug for StoredMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &Redacted(self.subject.len()))
            .field("text", &Redacted(self.text.len()))
            .field("html", &self.html.as_ref().map(|h| Redacted(h.len())))
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

/// A [`Mailer`] that stores every mail in a [`Mailbox`] instead of sending it: the transport
/// in development, when `SMTP_URL` is not set.
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use sigra_core::mail::{Mailbox, OutgoingMail, StoredMail};
/// # use time::OffsetDateTime;
/// # #[derive(Clone, Default)]
/// # struct MemoryMailbox(Arc<Mutex<Vec<StoredMail>>>);
/// # impl Mailbox for MemoryMailbox {
/// #     type Error = std::convert::Infallible;
/// #     async fn deliver(&self, mail: &OutgoingMail, at: OffsetDateTime) -> Result<String, Self::Error> {
/// #         let mut m = self.0.lock().unwrap(); let id = m.len().to_string();
/// #         m.push(StoredMail::from_outgoing(id.clone(), mail, at)); Ok(id)
/// #     }
/// #     async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
/// #         Ok(self.0.lock().unwrap().iter().rev().take(limit as usize).cloned().collect())
/// #     }
/// #     async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
/// #         Ok(self.0.lock().unwrap().iter().find(|m| m.id == id).cloned())
/// #     }
/// # }
/// use sigra_core::mail::{Address, MailKind, Mailer, MailboxMailer};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mailer = MailboxMailer::new(MemoryMailbox::default());
/// let mail = OutgoingMail::new(MailKind::MAGIC_LINK, Address::new("a@example.com")?, "Sign in", "https://app.example/m/t")?;
/// mailer.send(&mail).await?;
///
/// let newest = &mailer.mailbox().list(1).await.unwrap()[0];
/// assert!(newest.has_kind(&MailKind::MAGIC_LINK));
/// assert_eq!(newest.text, "https://app.example/m/t");
/// # Ok::<(), sigra_core::mail::MailError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MailboxMailer<M> {
    mailbox: M,
}

impl<M: Mailbox> MailboxMailer<M> {
    /// A mailer storing into `mailbox`.
    pub fn new(mailbox: M) -> Self {
        Self { mailbox }
    }

    /// The store, to list or read what was sent.
    pub fn mailbox(&self) -> &M {
        &self.mailbox
    }
}

impl<M> fmt::Debug for MailboxMailer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxMailer").finish_non_exhaustive()
    }
}

impl<M: Mailbox> Mailer for MailboxMailer<M> {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let id = self
            .mailbox
            .deliver(mail, OffsetDateTime::now_utc())
            .await
            .map_err(|e| MailError::Mailbox(Box::new(e)))?;
        tracing::info!(
            kind = mail.kind().as_str(),
            id = %id,
            "mail stored in the dev mailbox, not sent (read it at /dev/mailbox)"
        );
        Ok(())
    }
}
