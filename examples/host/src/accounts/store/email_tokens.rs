//! The `user_email_tokens` table: confirmation, reset, magic-link and email-change tokens.
//! Only digests are stored; `(context, digest)` is the primary key.

use sigra_core::store::{
    EmailTokenContext, EmailTokenRecord, EmailTokenStore, Id, NewEmailToken, StoreError,
};
use sigra_core::token::TokenDigest;
use sqlx::Row;
use time::OffsetDateTime;

use super::{AccountsTx, Key, backend, corrupt, key};
use crate::db::{DbRow, timestamp};

/// `ON CONFLICT DO NOTHING`: a duplicate `(context, digest)` inserts nothing; reported as a
/// conflict.
const INSERT_EMAIL_TOKEN: &str = "
    INSERT INTO user_email_tokens (context, digest, user_id, sent_to, created_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT DO NOTHING";

/// One statement: of concurrent takers of one token, exactly one gets the row. This is what
/// makes every email token single-use.
const TAKE_EMAIL_TOKEN: &str = "
    DELETE FROM user_email_tokens
    WHERE context = $1 AND digest = $2
    RETURNING context, digest, user_id, sent_to, created_at";

const FIND_EMAIL_TOKEN: &str = "
    SELECT context, digest, user_id, sent_to, created_at
    FROM user_email_tokens
    WHERE context = $1 AND digest = $2";

const DELETE_USER_EMAIL_TOKENS_OF_CONTEXT: &str =
    "DELETE FROM user_email_tokens WHERE user_id = $1 AND context = $2";

const DELETE_USER_EMAIL_TOKENS: &str = "DELETE FROM user_email_tokens WHERE user_id = $1";

const PRUNE_EMAIL_TOKENS: &str = "DELETE FROM user_email_tokens WHERE created_at < $1";

/// Email-change contexts are `change:<old address>`; addresses compare like `users.email`.
const EMAIL_CHANGE_PENDING: &str = "
    SELECT EXISTS (
        SELECT 1 FROM user_email_tokens
        WHERE context LIKE 'change:%' AND lower(sent_to) = lower($1) AND created_at >= $2
    )";

fn token_from_row(row: &DbRow) -> Result<EmailTokenRecord, StoreError> {
    let context: String = row.try_get("context").map_err(corrupt)?;
    let digest: Vec<u8> = row.try_get("digest").map_err(corrupt)?;
    let user_id: Key = row.try_get("user_id").map_err(corrupt)?;
    Ok(EmailTokenRecord::new(
        Id::from(user_id),
        TokenDigest::from_slice(&digest).map_err(corrupt)?,
        EmailTokenContext::parse(&context)
            .ok_or_else(|| corrupt(format!("unknown email token context {context:?}")))?,
        row.try_get("sent_to").map_err(corrupt)?,
        row.try_get("created_at").map_err(corrupt)?,
    ))
}

impl EmailTokenStore for AccountsTx {
    async fn insert_email_token(&mut self, token: &NewEmailToken) -> Result<(), StoreError> {
        let done = sqlx::query(INSERT_EMAIL_TOKEN)
            .bind(token.context.as_string())
            .bind(token.digest.as_bytes().as_slice())
            .bind(key(&token.user_id)?)
            .bind(&token.sent_to)
            .bind(timestamp(token.created_at))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                what: "email_tokens.digest",
            });
        }
        Ok(())
    }

    async fn take_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> Result<Option<EmailTokenRecord>, StoreError> {
        let row = sqlx::query(TAKE_EMAIL_TOKEN)
            .bind(context.as_string())
            .bind(digest.as_bytes().as_slice())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn find_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> Result<Option<EmailTokenRecord>, StoreError> {
        let row = sqlx::query(FIND_EMAIL_TOKEN)
            .bind(context.as_string())
            .bind(digest.as_bytes().as_slice())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn delete_user_email_tokens(
        &mut self,
        user_id: &Id,
        contexts: &[EmailTokenContext],
    ) -> Result<u64, StoreError> {
        let user_key = key(user_id)?;
        if contexts.is_empty() {
            let done = sqlx::query(DELETE_USER_EMAIL_TOKENS)
                .bind(user_key)
                .execute(&mut *self.tx)
                .await
                .map_err(backend)?;
            return Ok(done.rows_affected());
        }
        let mut deleted = 0;
        for context in contexts {
            let done = sqlx::query(DELETE_USER_EMAIL_TOKENS_OF_CONTEXT)
                .bind(user_key)
                .bind(context.as_string())
                .execute(&mut *self.tx)
                .await
                .map_err(backend)?;
            deleted += done.rows_affected();
        }
        Ok(deleted)
    }

    async fn email_change_pending(
        &mut self,
        email: &str,
        created_after: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        sqlx::query_scalar(EMAIL_CHANGE_PENDING)
            .bind(email)
            .bind(timestamp(created_after))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend)
    }

    async fn prune_email_tokens(
        &mut self,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(PRUNE_EMAIL_TOKENS)
            .bind(timestamp(created_before))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
