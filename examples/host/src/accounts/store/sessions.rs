//! The `user_sessions` table: one row per signed-in browser or device. Only the SHA-256 of
//! the cookie token is stored.

use sigra_core::store::{
    Id, IpHistory, NewSession, SessionKind, SessionRecord, SessionStore, StoreError,
};
use sigra_core::token::TokenDigest;
use sqlx::Row;
use time::OffsetDateTime;

use super::{AccountsTx, Key, backend, corrupt, key, new_key};
use crate::db::{DbRow, timestamp};

/// `ON CONFLICT DO NOTHING`: a duplicate token digest inserts no row; reported as a conflict.
/// The id sigra-core chose comes last.
const INSERT_SESSION: &str = "
    INSERT INTO user_sessions (user_id, token_digest, kind, ip, user_agent, created_at,
                               last_active_at, sudo_at, id)
    VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)    ON CONFLICT DO NOTHING
    RETURNING id, user_id, token_digest, kind, ip, user_agent, created_at, last_active_at,
              sudo_at";

const SESSION_BY_DIGEST: &str = "
    SELECT id, user_id, token_digest, kind, ip, user_agent, created_at, last_active_at, sudo_at
    FROM user_sessions
    WHERE token_digest = $1";

const TOUCH_SESSION: &str = "UPDATE user_sessions SET last_active_at = $2 WHERE id = $1";

const SET_SESSION_SUDO: &str = "UPDATE user_sessions SET sudo_at = $2 WHERE id = $1";

/// MFA-pending sessions are not shown to the user.
const LIST_USER_SESSIONS: &str = "
    SELECT id, user_id, token_digest, kind, ip, user_agent, created_at, last_active_at, sudo_at
    FROM user_sessions
    WHERE user_id = $1 AND kind <> 'mfa_pending'
    ORDER BY last_active_at DESC, id DESC";

/// Scoped to the user: another user's session id deletes nothing.
const DELETE_USER_SESSION: &str = "DELETE FROM user_sessions WHERE id = $2 AND user_id = $1";

const DELETE_SESSION_BY_DIGEST: &str = "DELETE FROM user_sessions WHERE token_digest = $1";

const DELETE_USER_SESSIONS_EXCEPT: &str =
    "DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2";

const DELETE_USER_SESSIONS: &str = "DELETE FROM user_sessions WHERE user_id = $1";

/// Asked at every login: does the user have sessions, and one from this address? Two index
/// probes (`user_sessions_user_ip`), however many sessions the user holds.
const USER_IP_HISTORY: &str = "
    SELECT EXISTS (SELECT 1 FROM user_sessions
                   WHERE user_id = $1 AND kind <> 'mfa_pending') AS any_session,
           EXISTS (SELECT 1 FROM user_sessions
                   WHERE user_id = $1 AND kind <> 'mfa_pending' AND ip = $2) AS from_ip";

/// All but the `$2` most recently active sessions of the user, MFA-pending ones aside: walks
/// `user_sessions_user_recent` from the newest entry.
const EVICT_USER_SESSIONS_BEYOND: &str = "
    DELETE FROM user_sessions
    WHERE id IN (
        SELECT id FROM user_sessions
        WHERE user_id = $1 AND kind <> 'mfa_pending'
        ORDER BY last_active_at DESC, created_at DESC, id DESC
        LIMIT -1 OFFSET $2
    )";

/// A NULL `$3` (no idle limit for this kind) matches no row.
const PRUNE_SESSIONS: &str = "
    DELETE FROM user_sessions
    WHERE kind = $1 AND (created_at < $2 OR last_active_at < $3)";

fn session_from_row(row: &DbRow) -> Result<SessionRecord, StoreError> {
    let id: Key = row.try_get("id").map_err(corrupt)?;
    let user_id: Key = row.try_get("user_id").map_err(corrupt)?;
    let digest: Vec<u8> = row.try_get("token_digest").map_err(corrupt)?;
    let kind: String = row.try_get("kind").map_err(corrupt)?;
    let mut session = SessionRecord::new(
        Id::from(id),
        Id::from(user_id),
        TokenDigest::from_slice(&digest).map_err(corrupt)?,
        SessionKind::parse(&kind)
            .ok_or_else(|| corrupt(format!("unknown session kind {kind:?}")))?,
        row.try_get("created_at").map_err(corrupt)?,
    );
    session.ip = row.try_get("ip").map_err(corrupt)?;
    session.user_agent = row.try_get("user_agent").map_err(corrupt)?;
    session.last_active_at = row.try_get("last_active_at").map_err(corrupt)?;
    session.sudo_at = row.try_get("sudo_at").map_err(corrupt)?;
    Ok(session)
}

impl SessionStore for AccountsTx {
    async fn insert_session(&mut self, session: &NewSession) -> Result<SessionRecord, StoreError> {
        let row = sqlx::query(INSERT_SESSION)
            .bind(key(&session.user_id)?)
            .bind(session.token_digest.as_bytes().as_slice())
            .bind(session.kind.as_str())
            .bind(&session.ip)
            .bind(&session.user_agent)
            .bind(timestamp(session.created_at))
            .bind(session.sudo_at.map(timestamp))
            .bind(new_key(session.id)?)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => session_from_row(&row),
            None => Err(StoreError::Conflict {
                what: "sessions.token_digest",
            }),
        }
    }

    async fn session_by_digest(
        &mut self,
        digest: &TokenDigest,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(SESSION_BY_DIGEST)
            .bind(digest.as_bytes().as_slice())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&mut self, id: &Id, when: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(TOUCH_SESSION)
            .bind(key(id)?)
            .bind(timestamp(when))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_session_sudo(&mut self, id: &Id, when: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(SET_SESSION_SUDO)
            .bind(key(id)?)
            .bind(timestamp(when))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn list_user_sessions(&mut self, user_id: &Id) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(LIST_USER_SESSIONS)
            .bind(key(user_id)?)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn delete_user_session(&mut self, user_id: &Id, id: &Id) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE_USER_SESSION)
            .bind(key(user_id)?)
            .bind(key(id)?)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session_by_digest(&mut self, digest: &TokenDigest) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE_SESSION_BY_DIGEST)
            .bind(digest.as_bytes().as_slice())
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_sessions(
        &mut self,
        user_id: &Id,
        keep: Option<&Id>,
    ) -> Result<u64, StoreError> {
        let query = match keep {
            Some(keep) => sqlx::query(DELETE_USER_SESSIONS_EXCEPT)
                .bind(key(user_id)?)
                .bind(key(keep)?),
            None => sqlx::query(DELETE_USER_SESSIONS).bind(key(user_id)?),
        };
        let done = query.execute(&mut *self.tx).await.map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn user_ip_history(&mut self, user_id: &Id, ip: &str) -> Result<IpHistory, StoreError> {
        let row = sqlx::query(USER_IP_HISTORY)
            .bind(key(user_id)?)
            .bind(ip)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(IpHistory::from_flags(
            row.try_get("any_session").map_err(corrupt)?,
            row.try_get("from_ip").map_err(corrupt)?,
        ))
    }

    async fn evict_user_sessions_beyond(
        &mut self,
        user_id: &Id,
        keep: u32,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(EVICT_USER_SESSIONS_BEYOND)
            .bind(key(user_id)?)
            .bind(i64::from(keep))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn prune_sessions(
        &mut self,
        kind: SessionKind,
        created_before: OffsetDateTime,
        active_before: Option<OffsetDateTime>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(PRUNE_SESSIONS)
            .bind(kind.as_str())
            .bind(timestamp(created_before))
            .bind(active_before.map(timestamp))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
