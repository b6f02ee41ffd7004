//! The `user_mfa_credentials` table (one TOTP credential per user, kind `totp`; its secret
//! stored encrypted) and the `user_backup_codes` table (one row per backup code, stored as a
//! keyed digest). Every check that must hold under concurrent requests (a time step or a
//! backup code accepted once, one confirmation of an enrolment, exact failure counts) is a
//! single statement.

use sigra_core::store::{Id, MfaCredentialRecord, MfaStore, StoreError};
use sigra_core::token::TokenDigest;
use sqlx::Row;
use time::OffsetDateTime;

use super::{AccountsTx, Key, backend, corrupt, key, new_key};
use crate::db::{DbRow, timestamp};

const TOTP_CREDENTIAL: &str = "
    SELECT user_id, encrypted_secret, last_verified_step, failed_attempts, locked_until,
           trust_epoch, enabled_at, created_at
    FROM user_mfa_credentials
    WHERE user_id = $1 AND kind = 'totp'";

/// One upsert: a pending secret is replaced (enrolment starts over), an enabled credential
/// never is (`WHERE … enabled_at IS NULL` updates no row, and nothing is written).
const PUT_PENDING_TOTP: &str = "
    INSERT INTO user_mfa_credentials (user_id, kind, encrypted_secret, created_at)
    VALUES ($1, 'totp', $2, $3)
    ON CONFLICT (user_id, kind) DO UPDATE
    SET encrypted_secret = excluded.encrypted_secret,
        created_at = excluded.created_at,
        last_verified_step = NULL,
        failed_attempts = 0,
        locked_until = NULL
    WHERE user_mfa_credentials.enabled_at IS NULL";

/// A compare-and-set on `enabled_at IS NULL`: of concurrent confirmations, one updates the row.
const ENABLE_TOTP: &str = "
    UPDATE user_mfa_credentials
    SET enabled_at = $3, last_verified_step = $2, failed_attempts = 0, locked_until = NULL
    WHERE user_id = $1 AND kind = 'totp' AND enabled_at IS NULL";

/// The replay defence: one statement, so of concurrent requests with the same code one
/// updates the row, and a step never goes back.
const ACCEPT_TOTP_STEP: &str = "
    UPDATE user_mfa_credentials
    SET last_verified_step = $2, failed_attempts = 0
    WHERE user_id = $1 AND kind = 'totp' AND enabled_at IS NOT NULL
      AND (last_verified_step IS NULL OR last_verified_step < $2)";

/// One statement: concurrent failures are never lost.
const INCREMENT_MFA_FAILURES: &str = "
    UPDATE user_mfa_credentials
    SET failed_attempts = failed_attempts + 1
    WHERE user_id = $1 AND kind = 'totp' AND enabled_at IS NOT NULL
    RETURNING failed_attempts";

const LOCK_MFA: &str = "
    UPDATE user_mfa_credentials
    SET locked_until = $2, failed_attempts = 0
    WHERE user_id = $1 AND kind = 'totp'";

const CLEAR_MFA_FAILURES: &str = "
    UPDATE user_mfa_credentials
    SET failed_attempts = 0, locked_until = NULL
    WHERE user_id = $1 AND kind = 'totp'";

const SET_TOTP_SECRET: &str = "
    UPDATE user_mfa_credentials
    SET encrypted_secret = $2
    WHERE user_id = $1 AND kind = 'totp'";

/// One statement: concurrent bumps are never lost.
const BUMP_MFA_TRUST_EPOCH: &str = "
    UPDATE user_mfa_credentials
    SET trust_epoch = trust_epoch + 1
    WHERE user_id = $1 AND kind = 'totp'
    RETURNING trust_epoch";

const DELETE_TOTP_CREDENTIAL: &str =
    "DELETE FROM user_mfa_credentials WHERE user_id = $1 AND kind = 'totp'";

const DELETE_BACKUP_CODES: &str = "DELETE FROM user_backup_codes WHERE user_id = $1";

/// Takes the user's credential row lock (a write that changes nothing), so two replacements
/// of the backup codes queue instead of both deleting before either inserts (PostgreSQL's
/// READ COMMITTED would then keep both new sets).
const LOCK_CREDENTIAL: &str = "
    UPDATE user_mfa_credentials SET failed_attempts = failed_attempts
    WHERE user_id = $1 AND kind = 'totp'";

/// The id (a new UUID v7) comes last.
const INSERT_BACKUP_CODE: &str = "
    INSERT INTO user_backup_codes (user_id, code_digest, created_at, id)
    VALUES ($1, $2, $3, $4)";

/// One statement: of concurrent requests with the same code, one updates the row. This is
/// what makes every backup code single-use.
const USE_BACKUP_CODE: &str = "
    UPDATE user_backup_codes
    SET used_at = $3
    WHERE user_id = $1 AND code_digest = $2 AND used_at IS NULL";

const COUNT_UNUSED_BACKUP_CODES: &str =
    "SELECT COUNT(*) FROM user_backup_codes WHERE user_id = $1 AND used_at IS NULL";

fn attempts(count: i32) -> Result<u32, StoreError> {
    u32::try_from(count).map_err(|_| corrupt(format!("negative MFA failure count {count}")))
}

fn totp_from_row(row: &DbRow) -> Result<MfaCredentialRecord, StoreError> {
    let user_id: Key = row.try_get("user_id").map_err(corrupt)?;
    let mut totp = MfaCredentialRecord::new(
        Id::from(user_id),
        row.try_get("encrypted_secret").map_err(corrupt)?,
        row.try_get("created_at").map_err(corrupt)?,
    );
    totp.last_verified_step = row.try_get("last_verified_step").map_err(corrupt)?;
    totp.failed_attempts = attempts(row.try_get("failed_attempts").map_err(corrupt)?)?;
    totp.locked_until = row.try_get("locked_until").map_err(corrupt)?;
    totp.trust_epoch = row.try_get("trust_epoch").map_err(corrupt)?;
    totp.enabled_at = row.try_get("enabled_at").map_err(corrupt)?;
    Ok(totp)
}

impl MfaStore for AccountsTx {
    async fn totp_credential(
        &mut self,
        user_id: &Id,
    ) -> Result<Option<MfaCredentialRecord>, StoreError> {
        let row = sqlx::query(TOTP_CREDENTIAL)
            .bind(key(user_id)?)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(totp_from_row).transpose()
    }

    async fn put_pending_totp(
        &mut self,
        user_id: &Id,
        encrypted_secret: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(PUT_PENDING_TOTP)
            .bind(key(user_id)?)
            .bind(encrypted_secret)
            .bind(timestamp(now))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn enable_totp(
        &mut self,
        user_id: &Id,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(ENABLE_TOTP)
            .bind(key(user_id)?)
            .bind(step)
            .bind(timestamp(now))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn accept_totp_step(&mut self, user_id: &Id, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(ACCEPT_TOTP_STEP)
            .bind(key(user_id)?)
            .bind(step)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn increment_mfa_failures(&mut self, user_id: &Id) -> Result<Option<u32>, StoreError> {
        let count: Option<i32> = sqlx::query_scalar(INCREMENT_MFA_FAILURES)
            .bind(key(user_id)?)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        count.map(attempts).transpose()
    }

    async fn lock_mfa(&mut self, user_id: &Id, until: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(LOCK_MFA)
            .bind(key(user_id)?)
            .bind(timestamp(until))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn clear_mfa_failures(&mut self, user_id: &Id) -> Result<(), StoreError> {
        sqlx::query(CLEAR_MFA_FAILURES)
            .bind(key(user_id)?)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_totp_secret(
        &mut self,
        user_id: &Id,
        encrypted_secret: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(SET_TOTP_SECRET)
            .bind(key(user_id)?)
            .bind(encrypted_secret)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn bump_mfa_trust_epoch(&mut self, user_id: &Id) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar(BUMP_MFA_TRUST_EPOCH)
            .bind(key(user_id)?)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)
    }

    async fn delete_mfa(&mut self, user_id: &Id) -> Result<bool, StoreError> {
        let user_key = key(user_id)?;
        sqlx::query(LOCK_CREDENTIAL)
            .bind(user_key)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        sqlx::query(DELETE_BACKUP_CODES)
            .bind(user_key)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        let done = sqlx::query(DELETE_TOTP_CREDENTIAL)
            .bind(user_key)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_backup_codes(
        &mut self,
        user_id: &Id,
        digests: &[TokenDigest],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let user_key = key(user_id)?;
        sqlx::query(DELETE_BACKUP_CODES)
            .bind(user_key)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        for digest in digests {
            sqlx::query(INSERT_BACKUP_CODE)
                .bind(user_key)
                .bind(digest.as_bytes().as_slice())
                .bind(timestamp(now))
                .bind(new_key(None)?)
                .execute(&mut *self.tx)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn use_backup_code(
        &mut self,
        user_id: &Id,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(USE_BACKUP_CODE)
            .bind(key(user_id)?)
            .bind(digest.as_bytes().as_slice())
            .bind(timestamp(now))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_unused_backup_codes(&mut self, user_id: &Id) -> Result<u32, StoreError> {
        let count: i64 = sqlx::query_scalar(COUNT_UNUSED_BACKUP_CODES)
            .bind(key(user_id)?)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend)?;
        u32::try_from(count).map_err(|_| corrupt(format!("backup code count {count}")))
    }
}
