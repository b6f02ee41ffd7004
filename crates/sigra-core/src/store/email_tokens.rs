use std::future::Future;

use time::OffsetDateTime;

use super::{Id, StoreError};
use crate::token::TokenDigest;

/// What an email token is for. Stored as a stable string in the `context` column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailTokenContext {
    /// Confirmation link.
    Confirm,
    /// Confirmation code (6 digits; its digest is keyed per user).
    ConfirmCode,
    /// Password reset link.
    ResetPassword,
    /// Magic-link login.
    MagicLink,
    /// Email change: the token goes to the new address; the context remembers the old one so
    /// a token issued before another change is useless.
    ChangeEmail {
        /// The address the user had when the change was requested.
        old_email: String,
    },
}

impl EmailTokenContext {
    /// The stable string stored in the `context` column.
    ///
    /// ```
    /// use sigra_core::store::EmailTokenContext;
    /// assert_eq!(EmailTokenContext::ResetPassword.as_string(), "reset_password");
    /// let change = EmailTokenContext::ChangeEmail { old_email: "a@x.io".into() };
    /// assert_eq!(change.as_string(), "change:a@x.io");
    /// assert_eq!(EmailTokenContext::parse("change:a@x.io"), Some(change));
    /// ```
    pub fn as_string(&self) -> String {
        match self {
            Self::Confirm => "confirm".into(),
            Self::ConfirmCode => "confirm_code".into(),
            Self::ResetPassword => "reset_password".into(),
            Self::MagicLink => "magic_link".into(),
            Self::ChangeEmail { old_email } => format!("change:{old_email}"),
        }
    }

    /// Parses a stored context string.
    ///
    /// ```
    /// assert!(sigra_core::store::EmailTokenContext::parse("other").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confirm" => Some(Self::Confirm),
            "confirm_code" => Some(Self::ConfirmCode),
            "reset_password" => Some(Self::ResetPassword),
            "magic_link" => Some(Self::MagicLink),
            other => other.strip_prefix("change:").map(|old| Self::ChangeEmail {
                old_email: old.to_owned(),
            }),
        }
    }
}

/// An email token to insert.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewEmailToken {
    /// The user it was issued to.
    pub user_id: Id,
    /// SHA-256 (or keyed digest, for codes) of the token.
    pub digest: TokenDigest,
    /// What it is for.
    pub context: EmailTokenContext,
    /// The address it was mailed to.
    pub sent_to: String,
    /// Issue time (lifetimes count from here).
    pub created_at: OffsetDateTime,
}

impl NewEmailToken {
    /// Builds a token row.
    ///
    /// ```
    /// use sigra_core::store::{EmailTokenContext, Id, NewEmailToken};
    /// use sigra_core::token::TokenDigest;
    /// let t = NewEmailToken::new(Id::Int(1), TokenDigest::sha256(b"t"), EmailTokenContext::MagicLink,
    ///     "a@example.com".into(), time::OffsetDateTime::UNIX_EPOCH);
    /// assert_eq!(t.sent_to, "a@example.com");
    /// ```
    pub fn new(
        user_id: Id,
        digest: TokenDigest,
        context: EmailTokenContext,
        sent_to: String,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            user_id,
            digest,
            context,
            sent_to,
            created_at,
        }
    }
}

/// An email token row.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmailTokenRecord {
    /// The user it was issued to.
    pub user_id: Id,
    /// Its digest.
    pub digest: TokenDigest,
    /// What it is for.
    pub context: EmailTokenContext,
    /// The address it was mailed to.
    pub sent_to: String,
    /// Issue time.
    pub created_at: OffsetDateTime,
}

impl EmailTokenRecord {
    /// Builds a record (for store implementations).
    ///
    /// ```
    /// use sigra_core::store::{EmailTokenContext, EmailTokenRecord, Id};
    /// use sigra_core::token::TokenDigest;
    /// let t = EmailTokenRecord::new(Id::Int(1), TokenDigest::sha256(b"t"), EmailTokenContext::Confirm,
    ///     "a@example.com".into(), time::OffsetDateTime::UNIX_EPOCH);
    /// assert_eq!(t.context, EmailTokenContext::Confirm);
    /// ```
    pub fn new(
        user_id: Id,
        digest: TokenDigest,
        context: EmailTokenContext,
        sent_to: String,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            user_id,
            digest,
            context,
            sent_to,
            created_at,
        }
    }
}

/// Operations on the email tokens table.
///
/// Contract:
/// - `(context, digest)` is unique: a duplicate insert fails with
///   `Conflict { what: "email_tokens.digest" }`.
/// - `take_email_token` is one `DELETE … WHERE context = ? AND digest = ? RETURNING …`: of
///   any number of concurrent takers of one token, exactly one receives it; the rest get
///   `None`. This is what makes every email token single-use.
/// - `delete_user_email_tokens` removes the user's tokens whose context is in `contexts`, or
///   all of them when `contexts` is empty.
/// - `email_change_pending` looks only at `change:` contexts, compares addresses
///   case-insensitively and `created_at >=`.
pub trait EmailTokenStore {
    /// Inserts a token.
    fn insert_email_token(
        &mut self,
        token: &NewEmailToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically deletes and returns the token, if it exists.
    fn take_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> impl Future<Output = Result<Option<EmailTokenRecord>, StoreError>> + Send;

    /// Reads a token without consuming it (e.g. to show the reset form).
    fn find_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> impl Future<Output = Result<Option<EmailTokenRecord>, StoreError>> + Send;

    /// Deletes the user's tokens of the given contexts (all when empty); returns the count.
    fn delete_user_email_tokens(
        &mut self,
        user_id: &Id,
        contexts: &[EmailTokenContext],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Whether an email-change token (context `change:…`, any user) was sent to `email` at
    /// or after `created_after`: the address is reserved while a change to it is pending.
    /// Addresses compare case-insensitively, like `users.email` (`lower(sent_to) = lower($1)`).
    fn email_change_pending(
        &mut self,
        email: &str,
        created_after: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every token (any context, any user) created strictly before `created_before`;
    /// returns how many.
    fn prune_email_tokens(
        &mut self,
        created_before: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
