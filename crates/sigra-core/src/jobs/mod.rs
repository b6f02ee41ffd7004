//! Background work on the database: the outbox that delivers notices, periodic maintenance,
//! and whatever deferred work the app adds.
//!
//! Every job is a row of the app's `jobs` table, written through the [`JobStore`] contract,
//! so a job commits with the change that causes it (a rolled-back flow enqueues nothing) and
//! survives restarts, redeploys and a mail server that is down for an hour. A [`Worker`] in
//! each app instance claims runnable jobs with a lease, runs them through the app's
//! [`JobHandler`]s, and records the outcome:
//!
//! - **done**: the handler succeeded ([`JobOutcome::Done`]: the payload is scrubbed;
//!   [`JobOutcome::DoneKeepPayload`]: it is kept, for the dev mailbox);
//! - **retrying**: a [`JobError::Temporary`] (an SMTP `4xx`, a refused connection) with
//!   attempts left: it runs again after an exponential backoff with jitter ([`Backoff`]);
//! - **dead**: a [`JobError::Permanent`] (an SMTP `5xx`), or the last attempt failed. The
//!   row keeps its last error; an operator lists and retries dead jobs.
//!
//! A worker that crashes or is killed mid-job holds its claim only until the lease expires;
//! then another worker (or the same app after a restart) claims the job again. Delivery is
//! therefore **at least once**: a handler must tolerate running twice (a mail keeps the same
//! `Message-ID` on every attempt, made from the job's id, so a mail client shows a
//! duplicate once).
//!
//! Periodic work ([`Worker::every`]) is a job with a unique key: each instance enqueues it at
//! start, the database keeps one, and whoever runs it enqueues the next run in the same
//! transaction as its completion. So two instances prune once per interval, not twice.
//!
//! # Why not apalis
//!
//! We evaluated apalis (1.0, with `apalis-sqlite` and `apalis-postgres`): its storages take
//! their own pool and schema, so a job cannot be enqueued inside the flow's transaction (the
//! point of an outbox); its 1.0 backends build on sqlx 0.9 while the stack is on sqlx 0.8
//! (two `libsqlite3-sys` cannot link into one binary); and its tables are not the app's plain
//! SQL, so the conformance suite could not check them. The worker here is small (claim, run,
//! record) over a store contract with conformance cases, like every other table.
//!
//! ```ignore
//! let worker = Worker::new(store.clone(), JobSettings::from_config(sigra.config()))
//!     .wake_on(sigra.job_signal())
//!     .handle(MAIL_QUEUE, mail_handler)
//!     .every("maintenance", "prune", Duration::from_secs(600), prune_handler);
//! tokio::spawn(worker.run(shutdown_signal()));
//! ```

mod backoff;
mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use backoff::Backoff;
pub use worker::{JobHandler, Worker};

use crate::config::SigraConfig;
#[allow(unused_imports)] // linked from the docs
use crate::store::JobStore;

/// The queue sigra-core's notices go to.
pub const MAIL_QUEUE: &str = "mail";
/// The queue of periodic clean-up (expired sessions, tokens, finished jobs).
pub const MAINTENANCE_QUEUE: &str = "maintenance";

/// Why a job failed; decides between a retry and giving up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a server down or busy, an SMTP `4xx`).
    #[error("{0}")]
    Temporary(String),
    /// Trying again cannot help (an SMTP `5xx`, an unreadable payload): the job is dead at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// A temporary failure.
    ///
    /// ```
    /// let err = sigra_core::jobs::JobError::temporary("connection refused");
    /// assert!(err.is_temporary());
    /// ```
    pub fn temporary(msg: impl std::fmt::Display) -> Self {
        Self::Temporary(msg.to_string())
    }

    /// A permanent failure.
    ///
    /// ```
    /// let err = sigra_core::jobs::JobError::permanent("550 no such user");
    /// assert!(!err.is_temporary());
    /// ```
    pub fn permanent(msg: impl std::fmt::Display) -> Self {
        Self::Permanent(msg.to_string())
    }

    /// Whether a retry may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Temporary(_))
    }
}

/// What a successful handler asks the worker to do with the job's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done; delete the payload (a delivered mail's link is not kept readable).
    Done,
    /// Done; keep the payload (the dev mailbox shows the mail from it).
    DoneKeepPayload,
}

/// How the worker runs: polling, leases, retries, retention, shutdown.
///
/// [`JobSettings::from_config`] reads the `jobs` group of [`SigraConfig`]
/// (`SIGRA_JOBS_*` variables).
///
/// ```
/// let settings = sigra_core::jobs::JobSettings::default();
/// assert_eq!(settings.backoff.max_attempts, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobSettings {
    /// How often an idle worker looks for jobs (other instances' jobs, retries coming due).
    /// A flow that enqueues wakes its own instance's worker at once.
    pub poll_interval: Duration,
    /// How long a claim lasts; longer than any one job may take (a mail: the SMTP timeout).
    pub lease: Duration,
    /// Retries: how many attempts, how long between them.
    pub backoff: Backoff,
    /// How many jobs one worker runs at once.
    pub concurrency: u32,
    /// How long finished (`done`) jobs are kept, without their payload, for operators.
    pub keep_done: Duration,
    /// How long `dead` jobs are kept.
    pub keep_dead: Duration,
    /// On shutdown, how long running jobs may take to finish before they are stopped and
    /// released for another worker.
    pub shutdown_grace: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self::from_config(&SigraConfig::default())
    }
}

impl JobSettings {
    /// The settings of `config`'s `jobs` group.
    ///
    /// ```
    /// use sigra_core::{config::SigraConfig, jobs::JobSettings};
    /// let settings = JobSettings::from_config(&SigraConfig::default());
    /// assert_eq!(settings.lease, std::time::Duration::from_secs(60));
    /// ```
    pub fn from_config(config: &SigraConfig) -> Self {
        let jobs = config.jobs();
        Self {
            poll_interval: jobs.poll_interval,
            lease: jobs.lease,
            backoff: Backoff {
                base: jobs.retry_base,
                max: jobs.retry_max,
                max_attempts: jobs.max_attempts,
            },
            concurrency: jobs.concurrency,
            keep_done: jobs.keep_done,
            keep_dead: jobs.keep_dead,
            shutdown_grace: jobs.shutdown_grace,
        }
    }
}

/// Wakes the workers of this process when a flow has committed a job, so a mail leaves at
/// once instead of at the next poll. [`Sigra::job_signal`](crate::auth::Sigra::job_signal)
/// hands out the one every flow notifies; pass it to [`Worker::wake_on`]. Cheap to clone.
///
/// ```
/// let signal = sigra_core::jobs::JobSignal::default();
/// signal.notify(); // a worker waiting on a clone of it wakes up
/// ```
#[derive(Clone, Debug, Default)]
pub struct JobSignal(Arc<tokio::sync::Notify>);

impl JobSignal {
    /// Wakes every worker waiting on this signal (or the next one to wait).
    pub fn notify(&self) {
        self.0.notify_waiters();
        self.0.notify_one();
    }

    pub(crate) async fn notified(&self) {
        self.0.notified().await;
    }
}
