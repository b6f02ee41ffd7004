//! Accounts: the app's users.
//!
//! Plain SQL next to the type it loads. The security decisions (password hashing, tokens,
//! sessions) are sigra-core's; what is stored, and how, is the app's.

use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{Db, DbRow};

/// One row of `users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The primary key (a UUID v7: unique, and sorted by creation time).
    pub id: Uuid,
    /// The email address, unique among users regardless of case.
    pub email: String,
    /// When the email address was confirmed, if it was.
    pub confirmed_at: Option<OffsetDateTime>,
    /// When the row was created.
    pub inserted_at: OffsetDateTime,
    /// When the row last changed.
    pub updated_at: OffsetDateTime,
}

impl FromRow<'_, DbRow> for User {
    fn from_row(row: &DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            confirmed_at: row.try_get("confirmed_at")?,
            inserted_at: row.try_get("inserted_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// The user with `email`, compared without regard to case.
pub async fn get_user_by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, confirmed_at, inserted_at, updated_at
         FROM users
         WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

/// Creates an unconfirmed user with `email`.
///
/// Fails with a unique-violation database error when the address is taken (in any case).
pub async fn create_user(db: &Db, email: &str) -> Result<User, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    sqlx::query_as(
        "INSERT INTO users (id, email, inserted_at, updated_at)
         VALUES ($1, $2, $3, $3)
         RETURNING id, email, confirmed_at, inserted_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(now)
    .fetch_one(db)
    .await
}
