//! The `users` table: one row per account.

use sigra_core::store::{Id, NewUser, StoreError, UserRecord, UserStore};
use sqlx::{Connection, Row};
use time::OffsetDateTime;

use super::{AccountsTx, Key, backend, corrupt, is_unique_violation, key, new_key};
use crate::db::{DbRow, timestamp};

/// `ON CONFLICT DO NOTHING`: a taken email (the unique index on `lower(email)`) inserts no row
/// and leaves the transaction usable; the missing row is reported as a conflict. The id
/// sigra-core chose comes last.
const INSERT_USER: &str = "
    INSERT INTO users (email, hashed_password, confirmed_at, failed_login_attempts, token_epoch,
                       created_at, updated_at, id)
    VALUES ($1, $2, $3, 0, 0, $4, $4, $5)    ON CONFLICT DO NOTHING
    RETURNING id, email, hashed_password, confirmed_at, failed_login_attempts, locked_at,
              password_changed_at, token_epoch, created_at";

const USER_BY_ID: &str = "
    SELECT id, email, hashed_password, confirmed_at, failed_login_attempts, locked_at,
           password_changed_at, token_epoch, created_at
    FROM users
    WHERE id = $1";

const USER_BY_EMAIL: &str = "
    SELECT id, email, hashed_password, confirmed_at, failed_login_attempts, locked_at,
           password_changed_at, token_epoch, created_at
    FROM users
    WHERE lower(email) = lower($1) AND deleted_at IS NULL";

const MARK_CONFIRMED: &str = "
    UPDATE users SET confirmed_at = COALESCE(confirmed_at, $2), updated_at = $3
    WHERE id = $1";

const SET_PASSWORD_HASH: &str = "
    UPDATE users
    SET hashed_password = $2, password_changed_at = COALESCE($3, password_changed_at),
        updated_at = $4
    WHERE id = $1";

const CLEAR_PASSWORD_HASH: &str = "
    UPDATE users
    SET hashed_password = NULL, password_changed_at = $2, updated_at = $3
    WHERE id = $1";

/// One statement, so concurrent failures are never lost.
const INCREMENT_FAILED_LOGINS: &str = "
    UPDATE users SET failed_login_attempts = failed_login_attempts + 1, updated_at = $2
    WHERE id = $1
    RETURNING failed_login_attempts";

const LOCK_USER: &str = "
    UPDATE users SET locked_at = $2, updated_at = $3
    WHERE id = $1";

const BUMP_TOKEN_EPOCH: &str = "
    UPDATE users SET token_epoch = token_epoch + 1, updated_at = $2
    WHERE id = $1
    RETURNING token_epoch";

const CLEAR_FAILED_LOGINS: &str = "
    UPDATE users SET failed_login_attempts = 0, locked_at = NULL, updated_at = $2
    WHERE id = $1";

const SET_EMAIL: &str = "
    UPDATE users SET email = $2, updated_at = $3
    WHERE id = $1";

fn user_from_row(row: &DbRow) -> Result<UserRecord, StoreError> {
    let id: Key = row.try_get("id").map_err(corrupt)?;
    let mut user = UserRecord::new(
        Id::from(id),
        row.try_get("email").map_err(corrupt)?,
        row.try_get("created_at").map_err(corrupt)?,
    );
    user.hashed_password = row.try_get("hashed_password").map_err(corrupt)?;
    user.confirmed_at = row.try_get("confirmed_at").map_err(corrupt)?;
    user.failed_login_attempts = failed_logins(row)?;
    user.locked_at = row.try_get("locked_at").map_err(corrupt)?;
    user.password_changed_at = row.try_get("password_changed_at").map_err(corrupt)?;
    user.token_epoch = row.try_get("token_epoch").map_err(corrupt)?;
    Ok(user)
}

fn failed_logins(row: &DbRow) -> Result<u32, StoreError> {
    let n: i32 = row.try_get("failed_login_attempts").map_err(corrupt)?;
    u32::try_from(n).map_err(|_| corrupt(format!("negative failed_login_attempts: {n}")))
}

impl UserStore for AccountsTx {
    async fn insert_user(&mut self, user: &NewUser) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(INSERT_USER)
            .bind(&user.email)
            .bind(&user.hashed_password)
            .bind(user.confirmed_at.map(timestamp))
            .bind(timestamp(user.created_at))
            .bind(new_key(user.id)?)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => user_from_row(&row),
            // The contract's name for the rule, whatever the table is called.
            None => Err(StoreError::Conflict {
                what: "users.email",
            }),
        }
    }

    async fn user_by_id(&mut self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(USER_BY_ID)
            .bind(key(id)?)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&mut self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(USER_BY_EMAIL)
            .bind(email)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn mark_confirmed(&mut self, id: &Id, when: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(MARK_CONFIRMED)
            .bind(key(id)?)
            .bind(timestamp(when))
            .bind(timestamp(OffsetDateTime::now_utc()))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_password_hash(
        &mut self,
        id: &Id,
        hashed_password: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        sqlx::query(SET_PASSWORD_HASH)
            .bind(key(id)?)
            .bind(hashed_password)
            .bind(changed_at.map(timestamp))
            .bind(timestamp(OffsetDateTime::now_utc()))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn clear_password_hash(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(CLEAR_PASSWORD_HASH)
            .bind(key(id)?)
            .bind(timestamp(at))
            .bind(timestamp(OffsetDateTime::now_utc()))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn increment_failed_logins(&mut self, id: &Id) -> Result<u32, StoreError> {
        let row = sqlx::query(INCREMENT_FAILED_LOGINS)
            .bind(key(id)?)
            .bind(timestamp(OffsetDateTime::now_utc()))
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => failed_logins(&row),
            None => Err(StoreError::Backend(format!("no user with id {id}"))),
        }
    }

    async fn lock_user(&mut self, id: &Id, when: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(LOCK_USER)
            .bind(key(id)?)
            .bind(timestamp(when))
            .bind(timestamp(OffsetDateTime::now_utc()))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn bump_token_epoch(&mut self, id: &Id) -> Result<i64, StoreError> {
        let row = sqlx::query(BUMP_TOKEN_EPOCH)
            .bind(key(id)?)
            .bind(timestamp(OffsetDateTime::now_utc()))
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => row.try_get("token_epoch").map_err(corrupt),
            None => Err(StoreError::Backend(format!("no user with id {id}"))),
        }
    }

    async fn clear_failed_logins(&mut self, id: &Id) -> Result<(), StoreError> {
        sqlx::query(CLEAR_FAILED_LOGINS)
            .bind(key(id)?)
            .bind(timestamp(OffsetDateTime::now_utc()))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_email(&mut self, id: &Id, email: &str) -> Result<(), StoreError> {
        // In a savepoint: on PostgreSQL a failed statement would abort the whole transaction,
        // and the flow must still be able to record the refusal and commit.
        let mut savepoint = self.tx.begin().await.map_err(backend)?;
        let updated = sqlx::query(SET_EMAIL)
            .bind(key(id)?)
            .bind(email)
            .bind(timestamp(OffsetDateTime::now_utc()))
            .execute(&mut *savepoint)
            .await;
        match updated {
            Ok(_) => savepoint.commit().await.map_err(backend),
            Err(err) if is_unique_violation(&err) => {
                savepoint.rollback().await.map_err(backend)?;
                Err(StoreError::Conflict {
                    what: "users.email",
                })
            }
            Err(err) => Err(backend(err)),
        }
    }
}
