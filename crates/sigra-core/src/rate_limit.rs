//! Fixed-window rate limits over the database counters of
//! [`RateLimitStore`](crate::store::RateLimitStore).
//!
//! Counters live in the database so every app instance shares them. The arithmetic is here:
//! which window a request falls in, whether it is allowed, and what to put in the
//! `X-RateLimit-*` and `Retry-After` headers. A store error is treated as "not allowed"
//! (fail closed): an attacker who can break the counter store gains nothing.

use std::time::Duration;

use time::OffsetDateTime;

use crate::config::Limit;

/// The outcome of counting one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The limit (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left in this window (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// Time until the window resets (`X-RateLimit-Reset`, and `Retry-After` when refused).
    pub reset_after: Duration,
}

impl Decision {
    /// The decision when the counter store failed: refused, retry after the window.
    ///
    /// ```
    /// use sigra_core::config::Limit;
    /// let d = sigra_core::rate_limit::Decision::fail_closed(&Limit::new(10, std::time::Duration::from_secs(60)));
    /// assert!(!d.allowed);
    /// ```
    pub fn fail_closed(limit: &Limit) -> Self {
        Self {
            allowed: false,
            limit: limit.max,
            remaining: 0,
            reset_after: limit.window,
        }
    }
}

/// The start of the window containing `now` (windows are aligned to the Unix epoch).
///
/// ```
/// use std::time::Duration;
/// let now = time::OffsetDateTime::from_unix_timestamp(125)?;
/// let start = sigra_core::rate_limit::window_start(now, Duration::from_secs(60));
/// assert_eq!(start.unix_timestamp(), 120);
/// # Ok::<(), time::error::ComponentRange>(())
/// ```
pub fn window_start(now: OffsetDateTime, window: Duration) -> OffsetDateTime {
    let secs = i64::try_from(window.as_secs()).unwrap_or(i64::MAX).max(1);
    let ts = now.unix_timestamp();
    let start = ts - ts.rem_euclid(secs);
    OffsetDateTime::from_unix_timestamp(start).unwrap_or(now)
}

/// Decides from the count after this hit.
///
/// ```
/// use std::time::Duration;
/// use sigra_core::config::Limit;
/// use sigra_core::rate_limit::decide;
/// let limit = Limit::new(10, Duration::from_secs(60));
/// let now = time::OffsetDateTime::from_unix_timestamp(125)?;
/// let d = decide(10, &limit, now);
/// assert!(d.allowed);
/// assert_eq!(d.remaining, 0);
/// assert_eq!(d.reset_after, Duration::from_secs(55));
/// assert!(!decide(11, &limit, now).allowed);
/// # Ok::<(), time::error::ComponentRange>(())
/// ```
pub fn decide(count: u32, limit: &Limit, now: OffsetDateTime) -> Decision {
    let start = window_start(now, limit.window);
    let used = u64::try_from((now - start).whole_seconds()).unwrap_or(0);
    let reset_after = Duration::from_secs(limit.window.as_secs().saturating_sub(used).max(1));
    Decision {
        allowed: count <= limit.max,
        limit: limit.max,
        remaining: limit.max.saturating_sub(count),
        reset_after,
    }
}
