//! The job worker: the outbox's retries, leases and retention.

use std::time::Duration;

use super::units::{days, hours, secs};

/// How the background job worker runs (see [`crate::jobs`]): notices and periodic clean-up.
///
/// ```
/// let jobs = sigra_core::config::JobsConfig::default();
/// assert_eq!(jobs.max_attempts, 10);
/// assert_eq!(jobs.retry_base.as_secs(), 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobsConfig {
    /// How often an idle worker looks for due jobs. Default 2s.
    pub poll_interval: Duration,
    /// How long a worker's claim on a job lasts before another worker may take it over.
    /// Longer than any one job (a mail: the SMTP timeout). Default 60s.
    pub lease: Duration,
    /// Attempts in all before a job is dead. Default 10.
    pub max_attempts: u32,
    /// Delay after the first failure; it doubles after each one (with jitter). Default 30s.
    pub retry_base: Duration,
    /// Longest delay between attempts. Default 1h.
    pub retry_max: Duration,
    /// Jobs one worker runs at once. Default 4.
    pub concurrency: u32,
    /// How long finished jobs are kept (without their payload). Default 7d.
    pub keep_done: Duration,
    /// How long dead jobs are kept. Default 30d.
    pub keep_dead: Duration,
    /// On shutdown, how long running jobs may take before they are released. Default 10s.
    pub shutdown_grace: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            poll_interval: secs(2),
            lease: secs(60),
            max_attempts: 10,
            retry_base: secs(30),
            retry_max: hours(1),
            concurrency: 4,
            keep_done: days(7),
            keep_dead: days(30),
            shutdown_grace: secs(10),
        }
    }
}
