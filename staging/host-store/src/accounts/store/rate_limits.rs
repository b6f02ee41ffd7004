//! The `rate_limits` table: fixed-window counters shared by every app instance.

use sigra_core::store::{RateLimitStore, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

use super::{AccountsTx, DbRow, at, backend, corrupt};

/// One upsert: concurrent hits on one window are never lost.
const HIT: &str = "
    INSERT INTO rate_limits (key, window_start, count)
    VALUES ($1, $2, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
    RETURNING count";

const RATE_LIMIT_COUNT: &str = "SELECT count FROM rate_limits WHERE key = $1 AND window_start = $2";

const PRUNE_RATE_LIMITS: &str = "DELETE FROM rate_limits WHERE window_start < $1";

fn count_from_row(row: &DbRow) -> Result<u32, StoreError> {
    let count: i32 = row.try_get("count").map_err(corrupt)?;
    u32::try_from(count).map_err(|_| corrupt(format!("negative rate-limit count {count}")))
}

impl RateLimitStore for AccountsTx {
    async fn hit(&mut self, key: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        let row = sqlx::query(HIT)
            .bind(key)
            .bind(at(window_start))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend)?;
        count_from_row(&row)
    }

    async fn rate_limit_count(
        &mut self,
        key: &str,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let row = sqlx::query(RATE_LIMIT_COUNT)
            .bind(key)
            .bind(at(window_start))
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref()
            .map(count_from_row)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn prune_rate_limits(&mut self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query(PRUNE_RATE_LIMITS)
            .bind(at(before))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
