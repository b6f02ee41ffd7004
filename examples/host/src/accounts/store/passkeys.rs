//! The `user_passkeys` table (one row per WebAuthn credential a user registered; the
//! credential itself is webauthn-rs's serialised `Passkey`, opaque text here) and the
//! `webauthn_challenges` table (the server side of a ceremony between its start and its
//! finish, keyed by the SHA-256 of the id the browser holds). Every check that must hold
//! under concurrent requests (a credential id registered once, a counter never rolled back,
//! a challenge taken once) is a single statement.

use sigra_core::store::{
    Id, NewPasskey, PasskeyRecord, PasskeyStore, StoreError, WebauthnChallengeRecord,
    WebauthnChallengeStore, WebauthnPurpose,
};
use sigra_core::token::TokenDigest;
use sqlx::Row;
use time::OffsetDateTime;

use super::{AccountsTx, Key, backend, corrupt, key, new_key};
use crate::db::{DbRow, timestamp};

/// `ON CONFLICT (credential_id) DO NOTHING`: a taken credential id (whoever owns it) inserts
/// no row and leaves the transaction usable; the missing row is reported as a conflict. The
/// id sigra-core chose comes last.
const INSERT_PASSKEY: &str = "
    INSERT INTO user_passkeys (user_id, credential_id, passkey, nickname, aaguid, transports,
                               sign_count, created_at, id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)    ON CONFLICT (credential_id) DO NOTHING
    RETURNING id, user_id, credential_id, passkey, nickname, aaguid, transports, sign_count,
              created_at, last_used_at";

/// Oldest first.
const LIST_USER_PASSKEYS: &str = "
    SELECT id, user_id, credential_id, passkey, nickname, aaguid, transports, sign_count,
           created_at, last_used_at
    FROM user_passkeys
    WHERE user_id = $1
    ORDER BY created_at, id";

const PASSKEY_BY_CREDENTIAL_ID: &str = "
    SELECT id, user_id, credential_id, passkey, nickname, aaguid, transports, sign_count,
           created_at, last_used_at
    FROM user_passkeys
    WHERE credential_id = $1";

/// A compare-and-set on the counter: one statement, so of two concurrent logins the one
/// with the lower counter updates no row, and the counter never goes back. An equal counter
/// still updates (authenticators without a counter, such as synced passkeys, always send 0).
const UPDATE_PASSKEY_AFTER_USE: &str = "
    UPDATE user_passkeys
    SET passkey = $2, sign_count = $3, last_used_at = $4
    WHERE id = $1 AND sign_count <= $3";

/// Scoped to the user: another user's passkey id renames nothing.
const RENAME_PASSKEY: &str =
    "UPDATE user_passkeys SET nickname = $3 WHERE id = $2 AND user_id = $1";

/// Scoped to the user: another user's passkey id deletes nothing.
const DELETE_PASSKEY: &str = "DELETE FROM user_passkeys WHERE id = $2 AND user_id = $1";

const COUNT_USER_PASSKEYS: &str = "SELECT COUNT(*) FROM user_passkeys WHERE user_id = $1";

/// `ON CONFLICT DO NOTHING`: a duplicate digest inserts nothing; reported as a conflict.
const INSERT_WEBAUTHN_CHALLENGE: &str = "
    INSERT INTO webauthn_challenges (digest, purpose, user_id, state, expires_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT DO NOTHING";

/// One statement: of concurrent takers of one challenge, exactly one gets the row. This is
/// what makes every challenge single-use. An expired row is deleted too, but `live` is false
/// and it is not returned.
const TAKE_WEBAUTHN_CHALLENGE: &str = "
    DELETE FROM webauthn_challenges
    WHERE digest = $1
    RETURNING digest, purpose, user_id, state, expires_at, expires_at > $2 AS live";

const PRUNE_WEBAUTHN_CHALLENGES: &str = "DELETE FROM webauthn_challenges WHERE expires_at <= $1";

fn passkey_from_row(row: &DbRow) -> Result<PasskeyRecord, StoreError> {
    let id: Key = row.try_get("id").map_err(corrupt)?;
    let user_id: Key = row.try_get("user_id").map_err(corrupt)?;
    let mut passkey = PasskeyRecord::new(
        Id::from(id),
        Id::from(user_id),
        row.try_get("credential_id").map_err(corrupt)?,
        row.try_get("passkey").map_err(corrupt)?,
        row.try_get("nickname").map_err(corrupt)?,
        row.try_get("created_at").map_err(corrupt)?,
    );
    passkey.aaguid = row.try_get("aaguid").map_err(corrupt)?;
    passkey.transports = row.try_get("transports").map_err(corrupt)?;
    passkey.sign_count = row.try_get("sign_count").map_err(corrupt)?;
    passkey.last_used_at = row.try_get("last_used_at").map_err(corrupt)?;
    Ok(passkey)
}

fn challenge_from_row(row: &DbRow) -> Result<WebauthnChallengeRecord, StoreError> {
    let digest: Vec<u8> = row.try_get("digest").map_err(corrupt)?;
    let purpose: String = row.try_get("purpose").map_err(corrupt)?;
    let user_id: Option<Key> = row.try_get("user_id").map_err(corrupt)?;
    Ok(WebauthnChallengeRecord::new(
        TokenDigest::from_slice(&digest).map_err(corrupt)?,
        WebauthnPurpose::parse(&purpose)
            .ok_or_else(|| corrupt(format!("unknown WebAuthn purpose {purpose:?}")))?,
        user_id.map(Id::from),
        row.try_get("state").map_err(corrupt)?,
        row.try_get("expires_at").map_err(corrupt)?,
    ))
}

impl PasskeyStore for AccountsTx {
    async fn insert_passkey(&mut self, passkey: &NewPasskey) -> Result<PasskeyRecord, StoreError> {
        let row = sqlx::query(INSERT_PASSKEY)
            .bind(key(&passkey.user_id)?)
            .bind(passkey.credential_id.as_slice())
            .bind(&passkey.passkey)
            .bind(&passkey.nickname)
            .bind(passkey.aaguid)
            .bind(&passkey.transports)
            .bind(passkey.sign_count)
            .bind(timestamp(passkey.created_at))
            .bind(new_key(passkey.id)?)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => passkey_from_row(&row),
            None => Err(StoreError::Conflict {
                what: "user_passkeys.credential_id",
            }),
        }
    }

    async fn list_user_passkeys(&mut self, user_id: &Id) -> Result<Vec<PasskeyRecord>, StoreError> {
        let rows = sqlx::query(LIST_USER_PASSKEYS)
            .bind(key(user_id)?)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        rows.iter().map(passkey_from_row).collect()
    }

    async fn passkey_by_credential_id(
        &mut self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        let row = sqlx::query(PASSKEY_BY_CREDENTIAL_ID)
            .bind(credential_id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    async fn update_passkey_after_use(
        &mut self,
        id: &Id,
        passkey: &str,
        sign_count: i64,
        used_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(UPDATE_PASSKEY_AFTER_USE)
            .bind(key(id)?)
            .bind(passkey)
            .bind(sign_count)
            .bind(timestamp(used_at))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn rename_passkey(
        &mut self,
        user_id: &Id,
        id: &Id,
        nickname: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RENAME_PASSKEY)
            .bind(key(user_id)?)
            .bind(key(id)?)
            .bind(nickname)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_passkey(&mut self, user_id: &Id, id: &Id) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE_PASSKEY)
            .bind(key(user_id)?)
            .bind(key(id)?)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_user_passkeys(&mut self, user_id: &Id) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(COUNT_USER_PASSKEYS)
            .bind(key(user_id)?)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend)?;
        u64::try_from(count).map_err(|_| corrupt(format!("passkey count {count}")))
    }
}

impl WebauthnChallengeStore for AccountsTx {
    async fn insert_webauthn_challenge(
        &mut self,
        challenge: &WebauthnChallengeRecord,
    ) -> Result<(), StoreError> {
        let user_key = challenge.user_id.as_ref().map(key).transpose()?;
        let done = sqlx::query(INSERT_WEBAUTHN_CHALLENGE)
            .bind(challenge.digest.as_bytes().as_slice())
            .bind(challenge.purpose.as_str())
            .bind(user_key)
            .bind(&challenge.state)
            .bind(timestamp(challenge.expires_at))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                what: "webauthn_challenges.digest",
            });
        }
        Ok(())
    }

    async fn take_webauthn_challenge(
        &mut self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> Result<Option<WebauthnChallengeRecord>, StoreError> {
        let row = sqlx::query(TAKE_WEBAUTHN_CHALLENGE)
            .bind(digest.as_bytes().as_slice())
            .bind(timestamp(now))
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let live: bool = row.try_get("live").map_err(corrupt)?;
        if !live {
            return Ok(None);
        }
        challenge_from_row(&row).map(Some)
    }

    async fn prune_webauthn_challenges(&mut self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query(PRUNE_WEBAUTHN_CHALLENGES)
            .bind(timestamp(now))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
