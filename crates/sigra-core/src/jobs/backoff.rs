use std::time::Duration;

/// Exponential backoff with jitter between attempts of a failing job.
///
/// The delay before attempt `n + 1` (after `n` failed attempts) is drawn uniformly from
/// `[d/2, d]` where `d = min(base · 2^(n-1), max)` ("equal jitter"): retries spread out so
/// many mails failing together do not hit a recovering server at the same instant, and
/// never come sooner than half the nominal delay.
///
/// ```
/// use std::time::Duration;
/// use sigra_core::jobs::Backoff;
///
/// let backoff = Backoff { base: Duration::from_secs(30), max: Duration::from_secs(3600), max_attempts: 10 };
/// assert_eq!(backoff.nominal(1), Duration::from_secs(30));
/// assert_eq!(backoff.nominal(3), Duration::from_secs(120));
/// assert_eq!(backoff.nominal(20), Duration::from_secs(3600));
/// let d = backoff.delay(3);
/// assert!(d >= Duration::from_secs(60) && d <= Duration::from_secs(120));
/// assert!(backoff.exhausted(10) && !backoff.exhausted(9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Attempts in all, the first included; after the last one fails the job is dead.
    pub max_attempts: u32,
}

impl Backoff {
    /// The delay before the next attempt, without jitter, after `failed` failed attempts.
    pub fn nominal(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay before the next attempt, with jitter, after `failed` failed attempts.
    pub fn delay(&self, failed: u32) -> Duration {
        let nominal = self.nominal(failed);
        let half = nominal / 2;
        let spread = u64::try_from((nominal - half).as_millis()).unwrap_or(u64::MAX);
        let jitter = match crate::random::bytes::<8>() {
            Ok(bytes) if spread > 0 => u64::from_le_bytes(bytes) % (spread + 1),
            // Without randomness (or nothing to spread), the nominal delay.
            _ => spread,
        };
        half + Duration::from_millis(jitter)
    }

    /// Whether a job that has made `attempts` attempts has none left.
    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }
}
