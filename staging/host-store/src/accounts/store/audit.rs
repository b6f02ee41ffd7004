//! The `audit_events` table. Events are written in the flow's transaction, so they commit or
//! roll back with the change they record.

use sigra_core::store::{AuditEvent, AuditOutcome, AuditStore, Id, StoreError};
use sqlx::Row;
use sqlx::types::Json;

use super::{AccountsTx, DbRow, Key, at, backend, corrupt, key, new_key};

/// The id (a new UUID v7) comes last.
const INSERT_AUDIT_EVENT: &str = "
    INSERT INTO audit_events (occurred_at, action, outcome, actor_id, target_id, ip, user_agent,
                              metadata, id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const AUDIT_EVENTS_FOR_USER: &str = "
    SELECT occurred_at, action, outcome, actor_id, target_id, ip, user_agent, metadata
    FROM audit_events
    WHERE actor_id = $1 OR target_id = $1
    ORDER BY occurred_at DESC, id DESC
    LIMIT $2";

fn event_from_row(row: &DbRow) -> Result<AuditEvent, StoreError> {
    let outcome: String = row.try_get("outcome").map_err(corrupt)?;
    let outcome = AuditOutcome::parse(&outcome)
        .ok_or_else(|| corrupt(format!("unknown audit outcome {outcome:?}")))?;
    let action: String = row.try_get("action").map_err(corrupt)?;
    let mut event = AuditEvent::new(
        action,
        outcome,
        row.try_get("occurred_at").map_err(corrupt)?,
    );
    let actor_id: Option<Key> = row.try_get("actor_id").map_err(corrupt)?;
    let target_id: Option<Key> = row.try_get("target_id").map_err(corrupt)?;
    event.actor_id = actor_id.map(Id::from);
    event.target_id = target_id.map(Id::from);
    event.ip = row.try_get("ip").map_err(corrupt)?;
    event.user_agent = row.try_get("user_agent").map_err(corrupt)?;
    let metadata: Json<serde_json::Value> = row.try_get("metadata").map_err(corrupt)?;
    event.metadata = metadata.0;
    Ok(event)
}

impl AuditStore for AccountsTx {
    async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        sqlx::query(INSERT_AUDIT_EVENT)
            .bind(at(event.occurred_at))
            .bind(&event.action)
            .bind(event.outcome.as_str())
            .bind(event.actor_id.as_ref().map(key).transpose()?)
            .bind(event.target_id.as_ref().map(key).transpose()?)
            .bind(&event.ip)
            .bind(&event.user_agent)
            .bind(Json(&event.metadata))
            .bind(new_key(None)?)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn audit_events_for_user(
        &mut self,
        user_id: &Id,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(AUDIT_EVENTS_FOR_USER)
            .bind(key(user_id)?)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        rows.iter().map(event_from_row).collect()
    }
}
