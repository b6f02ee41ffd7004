use std::fmt;
use std::future::Future;

use time::OffsetDateTime;

use super::{Id, StoreError};

/// The authentication columns of a user row. The app's own user type may carry more; its
/// store fills this from the same row.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserRecord {
    /// Primary key.
    pub id: Id,
    /// The email address as the user typed it (trimmed). Unique case-insensitively.
    pub email: String,
    /// PHC string (Argon2id) or legacy bcrypt hash; `None` for users who only log in by magic
    /// link or (later) OAuth.
    pub hashed_password: Option<String>,
    /// When the email address was confirmed.
    pub confirmed_at: Option<OffsetDateTime>,
    /// Consecutive failed password logins since the last success or reset.
    pub failed_login_attempts: u32,
    /// When the account was locked by the lockout rule; the lock lasts
    /// [`LockoutConfig::duration`](crate::config::LockoutConfig) from then.
    pub locked_at: Option<OffsetDateTime>,
    /// When the password was last set by the user (not by a rehash).
    pub password_changed_at: Option<OffsetDateTime>,
    /// Bumped to revoke every JWT issued to this user at once.
    pub token_epoch: i64,
    /// When the row was created.
    pub created_at: OffsetDateTime,
}

impl UserRecord {
    /// Builds a record (for store implementations).
    ///
    /// ```
    /// use sigra_core::store::{Id, UserRecord};
    /// let user = UserRecord::new(Id::Int(1), "a@example.com".into(), time::OffsetDateTime::UNIX_EPOCH);
    /// assert_eq!(user.failed_login_attempts, 0);
    /// ```
    pub fn new(id: Id, email: String, created_at: OffsetDateTime) -> Self {
        Self {
            id,
            email,
            hashed_password: None,
            confirmed_at: None,
            failed_login_attempts: 0,
            locked_at: None,
            password_changed_at: None,
            token_epoch: 0,
            created_at,
        }
    }
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field(
                "hashed_password",
                &self.hashed_password.as_ref().map(|_| "[REDACTED]"),
            )
            .field("confirmed_at", &self.confirmed_at)
            .field("failed_login_attempts", &self.failed_login_attempts)
            .field("locked_at", &self.locked_at)
            .field("password_changed_at", &self.password_changed_at)
            .field("token_epoch", &self.token_epoch)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A user to insert.
#[derive(Clone)]
#[non_exhaustive]
pub struct NewUser {
    /// Primary key chosen by sigra-core (UUID v7), or `None` to let the database assign an
    /// integer key.
    pub id: Option<Id>,
    /// The email address (trimmed).
    pub email: String,
    /// The PHC string to store.
    pub hashed_password: Option<String>,
    /// Set when the address is already known to be confirmed.
    pub confirmed_at: Option<OffsetDateTime>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

impl NewUser {
    /// Builds a new-user row.
    ///
    /// ```
    /// use sigra_core::store::NewUser;
    /// let new = NewUser::new(None, "a@example.com".into(), None, time::OffsetDateTime::UNIX_EPOCH);
    /// assert!(new.confirmed_at.is_none());
    /// ```
    pub fn new(
        id: Option<super::Id>,
        email: String,
        hashed_password: Option<String>,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            email,
            hashed_password,
            confirmed_at: None,
            created_at,
        }
    }
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("hashed_password", &"[REDACTED]")
            .field("confirmed_at", &self.confirmed_at)
            .finish()
    }
}

/// Operations on the users table.
///
/// Contract:
/// - `insert_user` fails with [`StoreError::Conflict`] `{ what: "users.email" }` when another
///   non-deleted user has the same email compared case-insensitively (ASCII lower-casing is
///   enough: `lower(email)` in SQL); it never inserts a duplicate, even under concurrency.
/// - `user_by_email` matches case-insensitively and ignores deleted users.
/// - `increment_failed_logins` is one atomic `UPDATE … SET n = n + 1 … RETURNING n`: with k
///   concurrent calls the final count has grown by exactly k, and each call returns a
///   distinct value.
/// - `set_email` fails with `Conflict { what: "users.email" }` like `insert_user`.
/// - `bump_token_epoch` is one atomic `UPDATE … SET token_epoch = token_epoch + 1 … RETURNING
///   token_epoch`: with k concurrent calls the epoch has grown by exactly k.
pub trait UserStore {
    /// Inserts a user and returns the stored row.
    fn insert_user(
        &mut self,
        user: &NewUser,
    ) -> impl Future<Output = Result<UserRecord, StoreError>> + Send;

    /// The user with this id, if any (deleted users included: sessions may still point at them
    /// until revoked).
    fn user_by_id(
        &mut self,
        id: &Id,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    /// The non-deleted user with this email, compared case-insensitively.
    fn user_by_email(
        &mut self,
        email: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    /// Sets `confirmed_at` to `at` if it is not set yet (keeps the first confirmation time).
    fn mark_confirmed(
        &mut self,
        id: &Id,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a new password hash. `changed_at` is `Some` when the user set the password
    /// (change or reset), `None` for a silent rehash, which must leave `password_changed_at`
    /// as it was.
    fn set_password_hash(
        &mut self,
        id: &Id,
        hashed_password: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the password (`hashed_password = NULL`) and sets `password_changed_at` to
    /// `at`: the account then logs in only by email (magic link, reset) until its owner sets
    /// one. Used when an unconfirmed account's password cannot be trusted: whoever proved
    /// the mailbox did not prove they chose it.
    fn clear_password_hash(
        &mut self,
        id: &Id,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically adds one to `failed_login_attempts` and returns the new count.
    fn increment_failed_logins(
        &mut self,
        id: &Id,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Sets `locked_at`.
    fn lock_user(
        &mut self,
        id: &Id,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Resets `failed_login_attempts` to 0 and clears `locked_at`.
    fn clear_failed_logins(
        &mut self,
        id: &Id,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes the email address (uniqueness as for `insert_user`).
    fn set_email(
        &mut self,
        id: &Id,
        email: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically adds one to `token_epoch` and returns the new value.
    ///
    /// Every stateless credential that carries the epoch it was issued under (a JWT access
    /// token) stops verifying once the stored epoch has moved past it. Sigra bumps it on a
    /// password change or reset, when the account locks, and on "log out everywhere".
    fn bump_token_epoch(&mut self, id: &Id)
    -> impl Future<Output = Result<i64, StoreError>> + Send;
}
