use std::future::Future;

use time::OffsetDateTime;

use super::StoreError;

/// Fixed-window counters shared by every app instance (they live in the database, so a
/// limit holds across a load balancer).
///
/// Contract:
/// - `hit` is one atomic upsert (`INSERT … ON CONFLICT (key, window_start) DO UPDATE SET
///   count = count + 1 RETURNING count`): k concurrent hits on one window raise the count by
///   exactly k, and each returns a distinct count.
/// - `rate_limit_count` reads without incrementing (0 when absent).
/// - `prune_rate_limits` deletes windows that started before `before`.
pub trait RateLimitStore {
    /// Counts one hit on `key` in the window starting at `window_start`; returns the count
    /// including this hit.
    fn hit(
        &mut self,
        key: &str,
        window_start: OffsetDateTime,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// The current count of the window, without counting a hit.
    fn rate_limit_count(
        &mut self,
        key: &str,
        window_start: OffsetDateTime,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Deletes windows that started before `before`; returns how many.
    fn prune_rate_limits(
        &mut self,
        before: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
