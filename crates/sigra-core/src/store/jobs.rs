use std::fmt;
use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// Where a job is in its life.
///
/// ```text
///   enqueue ──► queued ──claim──► running ──complete──► done ──(kept a while)──► pruned
///                 ▲                 │  │
///                 │      fail+retry │  │ fail, permanent or out of attempts
///                 │                 ▼  ▼
///   retry_job ◄── retrying ◄──────┘   dead ──retry_job──► queued
///   (operator)      (run_at later)
/// ```
///
/// A `running` job whose lease ran out (its worker crashed or was killed) is claimable again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for its `run_at`.
    Queued,
    /// Claimed by a worker whose lease runs until `locked_until`.
    Running,
    /// Failed with a temporary error; waiting for its `run_at` to try again.
    Retrying,
    /// Finished successfully (for a mail: the server accepted it).
    Done,
    /// Failed for good: a permanent error, or every attempt used. Kept with its last error
    /// until an operator retries it or it is pruned.
    Dead,
}

impl JobStatus {
    /// Every status, in life order.
    pub const ALL: [Self; 5] = [
        Self::Queued,
        Self::Running,
        Self::Retrying,
        Self::Done,
        Self::Dead,
    ];

    /// The stable string stored in the `status` column.
    ///
    /// ```
    /// assert_eq!(sigra_core::store::JobStatus::Retrying.as_str(), "retrying");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    /// Parses the stored string.
    ///
    /// ```
    /// use sigra_core::store::JobStatus;
    /// assert_eq!(JobStatus::parse("dead"), Some(JobStatus::Dead));
    /// assert_eq!(JobStatus::parse("lost"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether the job is finished (`done` or `dead`): its `unique_key` no longer blocks a new
    /// job with the same key.
    ///
    /// ```
    /// use sigra_core::store::JobStatus;
    /// assert!(JobStatus::Dead.is_finished());
    /// assert!(!JobStatus::Retrying.is_finished());
    /// ```
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Dead)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to enqueue. Built by sigra-core (notices, periodic maintenance) or by the app.
///
/// ```
/// use sigra_core::store::NewJob;
/// let job = NewJob::new("maintenance", "prune", time::OffsetDateTime::UNIX_EPOCH)
///     .unique_key("maintenance:prune");
/// assert_eq!(job.queue, "maintenance");
/// assert!(job.payload.is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewJob {
    /// The job's id, chosen by sigra-core (UUID v7) whatever key type the app's own tables
    /// use. It is stable across every attempt: a mail's `Message-ID` is made from it, and
    /// sigra-core binds encrypted payloads to it.
    pub id: Uuid,
    /// The queue: `mail` for notices, `maintenance` for periodic clean-up, or the app's own.
    pub queue: String,
    /// What to do, within the queue (for a mail: the notice kind, e.g. `reset_password`).
    pub kind: String,
    /// For a mail, the recipient's address (shown by the dev mailbox and `outbox list`);
    /// otherwise usually `None`.
    pub recipient: Option<String>,
    /// The job's input, opaque to the store (sigra-core encrypts a notice's payload, so a
    /// reset link is not readable in the table).
    pub payload: Option<String>,
    /// At most one unfinished (`queued`, `running`, `retrying`) job per key: enqueueing a
    /// second one does nothing. Periodic jobs use it so several app instances schedule one
    /// run, not one each.
    pub unique_key: Option<String>,
    /// Not before this time.
    pub run_at: OffsetDateTime,
    /// When it was enqueued.
    pub created_at: OffsetDateTime,
}

impl NewJob {
    /// A job with a fresh UUID v7 id, no recipient, payload or unique key, to run at `now`.
    pub fn new(queue: impl Into<String>, kind: impl Into<String>, now: OffsetDateTime) -> Self {
        Self {
            id: Uuid::now_v7(),
            queue: queue.into(),
            kind: kind.into(),
            recipient: None,
            payload: None,
            unique_key: None,
            run_at: now,
            created_at: now,
        }
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: impl Into<String>) -> Self {
        self.payload = Some(payload.into());
        self
    }

    /// Sets the recipient.
    pub fn recipient(mut self, recipient: impl Into<String>) -> Self {
        self.recipient = Some(recipient.into());
        self
    }

    /// Sets the unique key.
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Runs no earlier than `at`.
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = at;
        self
    }
}

impl fmt::Debug for NewJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewJob")
            .field("id", &self.id)
            .field("queue", &self.queue)
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .field("payload", &self.payload.as_ref().map(|_| "[REDACTED]"))
            .field("unique_key", &self.unique_key)
            .field("run_at", &self.run_at)
            .finish_non_exhaustive()
    }
}

/// A job as stored.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobRecord {
    /// See [`NewJob::id`].
    pub id: Uuid,
    /// See [`NewJob::queue`].
    pub queue: String,
    /// See [`NewJob::kind`].
    pub kind: String,
    /// See [`NewJob::recipient`].
    pub recipient: Option<String>,
    /// See [`NewJob::payload`]; `None` once a finished job's payload was scrubbed.
    pub payload: Option<String>,
    /// See [`NewJob::unique_key`].
    pub unique_key: Option<String>,
    /// Where the job is.
    pub status: JobStatus,
    /// How many times a worker claimed it (the current attempt included while running).
    pub attempts: u32,
    /// Not before this time (the next try for a retrying job).
    pub run_at: OffsetDateTime,
    /// While running: when the claim expires and another worker may take the job.
    pub locked_until: Option<OffsetDateTime>,
    /// While running: the claim's id; only its holder may complete, fail or release the job.
    pub lease: Option<Uuid>,
    /// The last failure's message; cleared when the job completes.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: OffsetDateTime,
    /// When it became `done` or `dead`.
    pub finished_at: Option<OffsetDateTime>,
}

impl JobRecord {
    /// The record a store keeps for `new` right after enqueueing it (status `queued`, no
    /// attempts yet). Stores and tests use it to build records.
    ///
    /// ```
    /// use sigra_core::store::{JobRecord, JobStatus, NewJob};
    /// let job = JobRecord::from_new(&NewJob::new("mail", "confirm", time::OffsetDateTime::UNIX_EPOCH));
    /// assert_eq!(job.status, JobStatus::Queued);
    /// assert_eq!(job.attempts, 0);
    /// ```
    pub fn from_new(new: &NewJob) -> Self {
        Self {
            id: new.id,
            queue: new.queue.clone(),
            kind: new.kind.clone(),
            recipient: new.recipient.clone(),
            payload: new.payload.clone(),
            unique_key: new.unique_key.clone(),
            status: JobStatus::Queued,
            attempts: 0,
            run_at: new.run_at,
            locked_until: None,
            lease: None,
            last_error: None,
            created_at: new.created_at,
            finished_at: None,
        }
    }
}

impl fmt::Debug for JobRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobRecord")
            .field("id", &self.id)
            .field("queue", &self.queue)
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .field("payload", &self.payload.as_ref().map(|_| "[REDACTED]"))
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("run_at", &self.run_at)
            .field("locked_until", &self.locked_until)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// Which jobs [`JobStore::list_jobs`] returns.
///
/// ```
/// use sigra_core::store::{JobFilter, JobStatus};
/// let dead_mail = JobFilter::queue("mail").status(JobStatus::Dead);
/// assert_eq!(dead_mail.queue.as_deref(), Some("mail"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobFilter {
    /// Only this queue.
    pub queue: Option<String>,
    /// Only this status.
    pub status: Option<JobStatus>,
}

impl JobFilter {
    /// Every job.
    pub fn all() -> Self {
        Self::default()
    }

    /// The jobs of one queue.
    pub fn queue(queue: impl Into<String>) -> Self {
        Self {
            queue: Some(queue.into()),
            status: None,
        }
    }

    /// Narrows to one status.
    pub fn status(mut self, status: JobStatus) -> Self {
        self.status = Some(status);
        self
    }
}

/// The durable job queue (the outbox): notices and background work, in the same database as
/// everything else, so a job commits with the change that causes it.
///
/// Contract:
/// - **Transactional enqueue.** [`enqueue_job`](Self::enqueue_job) writes in the caller's
///   transaction: a rolled-back flow enqueues nothing. With a `unique_key` that an unfinished
///   job already holds it writes nothing and returns `false` (`INSERT … ON CONFLICT DO
///   NOTHING` over a partial unique index on `unique_key` where the status is `queued`,
///   `running` or `retrying`), leaving the transaction usable.
/// - **Exclusive claims.** [`claim_jobs`](Self::claim_jobs) is one statement that moves at
///   most `limit` runnable jobs of a queue to `running` and returns them: `queued` or
///   `retrying` jobs whose `run_at <= now`, and `running` jobs whose lease expired
///   (`locked_until <= now`), oldest `run_at` first. Two workers claiming at once never get
///   the same job (PostgreSQL: `FOR UPDATE SKIP LOCKED` in the sub-select; SQLite: the
///   `BEGIN IMMEDIATE` write lock). A claim sets `locked_until`, `lease` and adds one to
///   `attempts`.
/// - **Only the lease holder finishes.** [`complete_job`](Self::complete_job),
///   [`fail_job`](Self::fail_job) and [`release_job`](Self::release_job) change the row only
///   while it is `running` under the given lease, and return whether they did: a worker whose
///   lease expired and was taken over cannot overwrite the new attempt.
/// - **Scrub.** `complete_job(…, scrub = true)` sets the payload to `NULL` (a mail's link is
///   not kept after delivery); `fail_job` into `dead` keeps it so an operator can retry.
/// - **Times are UTC**, at least to the microsecond, like every table.
pub trait JobStore {
    /// Enqueues `job` in this transaction. `Ok(false)` when its `unique_key` is held by an
    /// unfinished job (nothing written).
    fn enqueue_job(
        &mut self,
        job: &NewJob,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Claims up to `limit` runnable jobs of `queue` for the lease `lease`, running until
    /// `locked_until`. See the contract above.
    fn claim_jobs(
        &mut self,
        queue: &str,
        now: OffsetDateTime,
        locked_until: OffsetDateTime,
        lease: Uuid,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<JobRecord>, StoreError>> + Send;

    /// Marks the job `done` at `now` (clearing lease, lock and last error; the payload too when
    /// `scrub`). `false` when the job is not running under `lease`.
    fn complete_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
        scrub: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a failed attempt with `error`: `retry_at = Some(t)` makes it `retrying` with
    /// `run_at = t`; `None` makes it `dead` (finished at `now`). Clears lease and lock.
    /// `false` when the job is not running under `lease`.
    fn fail_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a claimed job back without counting the attempt (a worker shutting down before it
    /// started the job): status `queued` if it never failed before, else `retrying`, runnable
    /// at once; `attempts` one lower. `false` when the job is not running under `lease`.
    fn release_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The job with this id, if any.
    fn job_by_id(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<JobRecord>, StoreError>> + Send;

    /// At most `limit` jobs matching `filter`, newest first (`created_at` descending, then id
    /// descending).
    fn list_jobs(
        &mut self,
        filter: &JobFilter,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<JobRecord>, StoreError>> + Send;

    /// An operator's retry: a `dead` or `retrying` job becomes `queued` with `run_at = now`,
    /// `attempts = 0`, `finished_at` cleared (the last error is kept until the job completes).
    /// `false` for an unknown job, one in another status, or one whose `unique_key` another
    /// unfinished job holds (a dead periodic job whose next run is already scheduled).
    fn retry_job(
        &mut self,
        id: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes `done` jobs finished before `done_before` and `dead` jobs finished before
    /// `dead_before`; returns how many.
    fn prune_jobs(
        &mut self,
        done_before: OffsetDateTime,
        dead_before: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
