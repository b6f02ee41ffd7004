use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::{JobError, JobOutcome, JobSettings, JobSignal};
use crate::store::{JobRecord, JobStore, NewJob, Store, StoreError, Transaction};

/// Runs the jobs of one queue. Any `Fn(JobRecord) -> impl Future<Output = Result<JobOutcome,
/// JobError>>` closure is one.
///
/// A handler may run more than once for the same job (a worker killed mid-job, a lease that
/// ran out): make it safe to repeat.
///
/// ```
/// use sigra_core::jobs::{JobError, JobHandler, JobOutcome};
/// use sigra_core::store::JobRecord;
///
/// async fn log_it(job: JobRecord) -> Result<JobOutcome, JobError> {
///     println!("running {} {}", job.queue, job.kind);
///     Ok(JobOutcome::Done)
/// }
/// fn takes(_: impl JobHandler) {}
/// takes(log_it);
/// ```
pub trait JobHandler: Send + Sync + 'static {
    /// Runs `job`.
    fn run(&self, job: JobRecord) -> impl Future<Output = Result<JobOutcome, JobError>> + Send;
}

impl<F, Fut> JobHandler for F
where
    F: Fn(JobRecord) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<JobOutcome, JobError>> + Send + 'static,
{
    fn run(&self, job: JobRecord) -> impl Future<Output = Result<JobOutcome, JobError>> + Send {
        self(job)
    }
}

type BoxedRun = Pin<Box<dyn Future<Output = Result<JobOutcome, JobError>> + Send>>;
type Erased = Arc<dyn Fn(JobRecord) -> BoxedRun + Send + Sync>;

fn erase<H: JobHandler>(handler: H) -> Erased {
    let handler = Arc::new(handler);
    Arc::new(move |job| {
        let handler = Arc::clone(&handler);
        Box::pin(async move { handler.run(job).await })
    })
}

struct Periodic {
    queue: String,
    kind: String,
    every: Duration,
}

impl Periodic {
    fn job(&self, at: OffsetDateTime, now: OffsetDateTime) -> NewJob {
        NewJob::new(&self.queue, &self.kind, now)
            .unique_key(format!("{}:{}", self.queue, self.kind))
            .run_at(at)
    }
}

/// Claims and runs jobs, one per app instance (any number of instances may share a database).
///
/// Build it with [`Worker::new`], add a [`handle`](Worker::handle) per queue and any
/// [`every`](Worker::every) schedule, then spawn [`run`](Worker::run) with a shutdown signal.
/// See the [module docs](super) for the life of a job.
///
/// ```
/// use std::time::Duration;
/// use sigra_core::jobs::{JobOutcome, JobSettings, Worker};
/// use sigra_core::testing::MemoryStore;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let worker = Worker::new(MemoryStore::new(), JobSettings::default())
///     .handle("maintenance", |_job| async { Ok(JobOutcome::Done) })
///     .every("maintenance", "prune", Duration::from_secs(600));
/// // Runs until the future passed to `run` completes, then finishes or releases its jobs.
/// worker.run(async {}).await;
/// # });
/// ```
pub struct Worker<S> {
    store: S,
    settings: JobSettings,
    signal: JobSignal,
    handlers: Vec<(String, Erased)>,
    periodic: Vec<Periodic>,
    clock: fn() -> OffsetDateTime,
}

impl<S> fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("settings", &self.settings)
            .field(
                "queues",
                &self.handlers.iter().map(|(q, _)| q).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The claims a worker holds, so a shutdown can release the ones whose job it stopped.
type InFlight = Arc<Mutex<HashMap<Uuid, Uuid>>>;

impl<S: Store> Worker<S> {
    /// A worker over `store` with no queues yet.
    pub fn new(store: S, settings: JobSettings) -> Self {
        Self {
            store,
            settings,
            signal: JobSignal::default(),
            handlers: Vec::new(),
            periodic: Vec::new(),
            clock: OffsetDateTime::now_utc,
        }
    }

    /// Wakes up when `signal` is notified (pass [`Sigra::job_signal`](crate::auth::Sigra::job_signal)),
    /// besides polling every [`JobSettings::poll_interval`].
    pub fn wake_on(mut self, signal: JobSignal) -> Self {
        self.signal = signal;
        self
    }

    /// Runs the jobs of `queue` with `handler` (a later call for the same queue replaces it).
    pub fn handle(mut self, queue: impl Into<String>, handler: impl JobHandler) -> Self {
        let queue = queue.into();
        self.handlers.retain(|(q, _)| *q != queue);
        self.handlers.push((queue, erase(handler)));
        self
    }

    /// Runs a `kind` job on `queue` every `interval`: one run per interval across all
    /// instances (the job has the unique key `queue:kind`). The first run is due at start.
    pub fn every(
        mut self,
        queue: impl Into<String>,
        kind: impl Into<String>,
        interval: Duration,
    ) -> Self {
        self.periodic.push(Periodic {
            queue: queue.into(),
            kind: kind.into(),
            every: interval,
        });
        self
    }

    /// Replaces the clock (tests).
    pub fn clock(mut self, clock: fn() -> OffsetDateTime) -> Self {
        self.clock = clock;
        self
    }

    /// Runs until `shutdown` completes; then stops claiming, gives running jobs
    /// [`JobSettings::shutdown_grace`] to finish, and stops and releases the rest for another
    /// worker. Store failures are logged and retried at the next poll; this never returns an
    /// error.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let worker = Arc::new(self);
        let in_flight: InFlight = Arc::default();
        let mut running: JoinSet<()> = JoinSet::new();
        let mut scheduled = worker.periodic.is_empty();
        let mut shutdown = std::pin::pin!(shutdown);
        let concurrency = usize::try_from(worker.settings.concurrency.max(1)).unwrap_or(1);
        tracing::info!(
            target: "sigra::jobs",
            queues = ?worker.handlers.iter().map(|(q, _)| q.as_str()).collect::<Vec<_>>(),
            "job worker started"
        );
        loop {
            if !scheduled {
                scheduled = worker.schedule_periodic().await;
            }
            let mut store_failed = false;
            for (queue, handler) in &worker.handlers {
                let free = concurrency.saturating_sub(running.len());
                if free == 0 {
                    break;
                }
                match worker.claim(queue, free).await {
                    Ok(jobs) => {
                        for (job, lease) in jobs {
                            lock(&in_flight).insert(job.id, lease);
                            let worker = Arc::clone(&worker);
                            let handler = Arc::clone(handler);
                            let in_flight = Arc::clone(&in_flight);
                            running.spawn(async move {
                                let id = job.id;
                                worker.execute(job, lease, handler).await;
                                lock(&in_flight).remove(&id);
                            });
                        }
                    }
                    Err(err) => {
                        store_failed = true;
                        tracing::warn!(target: "sigra::jobs", queue = %queue, "claiming jobs failed (will retry): {err}");
                    }
                }
            }
            let full = running.len() >= concurrency;
            let pause = if store_failed {
                worker
                    .settings
                    .poll_interval
                    .max(Duration::from_millis(500))
            } else {
                worker.settings.poll_interval
            };
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = worker.signal.notified(), if !full => {}
                () = tokio::time::sleep(pause), if !full => {}
            }
        }
        worker.drain(running, in_flight).await;
    }

    /// Enqueues the first run of each periodic job (a no-op where one is already pending).
    async fn schedule_periodic(&self) -> bool {
        let now = (self.clock)();
        let result: Result<(), StoreError> = async {
            let mut tx = self.store.begin().await?;
            for periodic in &self.periodic {
                tx.enqueue_job(&periodic.job(now, now)).await?;
            }
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(target: "sigra::jobs", "scheduling periodic jobs failed (will retry): {err}");
                false
            }
        }
    }

    async fn claim(&self, queue: &str, limit: usize) -> Result<Vec<(JobRecord, Uuid)>, StoreError> {
        let now = (self.clock)();
        let lease = Uuid::now_v7();
        let until = now + self.settings.lease;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let mut tx = self.store.begin().await?;
        let jobs = tx.claim_jobs(queue, now, until, lease, limit).await?;
        tx.commit().await?;
        Ok(jobs.into_iter().map(|job| (job, lease)).collect())
    }

    /// Runs one claimed job and records what happened.
    async fn execute(&self, job: JobRecord, lease: Uuid, handler: Erased) {
        let span = tracing::info_span!(
            target: "sigra::jobs",
            "job",
            id = %job.id,
            queue = %job.queue,
            kind = %job.kind,
            attempt = job.attempts
        );
        let (id, attempts) = (job.id, job.attempts);
        let periodic = self
            .periodic
            .iter()
            .find(|p| p.queue == job.queue && p.kind == job.kind);
        let started = std::time::Instant::now();
        let result = if attempts > self.settings.backoff.max_attempts {
            // Claimed again after its lease ran out more often than it may run: every earlier
            // worker died in the middle of it (a handler that takes the process down, an OOM
            // kill). Running it again would do the same; it is dead, kept for an operator.
            Err(JobError::permanent(format!(
                "abandoned: {} attempts ended without an outcome (the worker died mid-job)",
                attempts - 1
            )))
        } else {
            CatchPanic(handler(job.clone())).await
        };
        let now = (self.clock)();
        let retry_at = match &result {
            Err(err) if err.is_temporary() && !self.settings.backoff.exhausted(attempts) => {
                Some(now + self.settings.backoff.delay(attempts))
            }
            _ => None,
        };
        let recorded: Result<bool, StoreError> = async {
            let mut tx = self.store.begin().await?;
            let changed = match &result {
                Ok(outcome) => {
                    tx.complete_job(id, lease, now, *outcome == JobOutcome::Done)
                        .await?
                }
                Err(err) => {
                    tx.fail_job(id, lease, &truncate(&err.to_string()), retry_at, now)
                        .await?
                }
            };
            if changed
                && retry_at.is_none()
                && let Some(periodic) = periodic
            {
                tx.enqueue_job(&periodic.job(now + periodic.every, now))
                    .await?;
            }
            tx.commit().await?;
            Ok(changed)
        }
        .await;
        let took_ms = started.elapsed().as_millis();
        match (&result, recorded) {
            (_, Err(err)) => tracing::error!(
                target: "sigra::jobs", parent: &span,
                "could not record the job's outcome (it runs again when its lease expires): {err}"
            ),
            (_, Ok(false)) => tracing::warn!(
                target: "sigra::jobs", parent: &span,
                "the job's lease expired before it finished; another worker owns it now"
            ),
            (Ok(_), Ok(true)) => {
                tracing::info!(target: "sigra::jobs", parent: &span, took_ms, "job done");
            }
            (Err(err), Ok(true)) if retry_at.is_some() => {
                tracing::warn!(target: "sigra::jobs", parent: &span, took_ms, error = %err, retry_at = ?retry_at, "job failed; will retry");
            }
            (Err(err), Ok(true)) => {
                tracing::error!(target: "sigra::jobs", parent: &span, took_ms, error = %err, "job failed for good: dead");
            }
        }
    }

    /// Gives running jobs the grace period, then stops the rest and releases their claims.
    async fn drain(&self, mut running: JoinSet<()>, in_flight: InFlight) {
        let grace = self.settings.shutdown_grace;
        let finished = tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            running.abort_all();
            while running.join_next().await.is_some() {}
        }
        let left: Vec<(Uuid, Uuid)> = lock(&in_flight).drain().collect();
        for (id, lease) in &left {
            let now = (self.clock)();
            let released: Result<bool, StoreError> = async {
                let mut tx = self.store.begin().await?;
                let released = tx.release_job(*id, *lease, now).await?;
                tx.commit().await?;
                Ok(released)
            }
            .await;
            match released {
                Ok(_) => {
                    tracing::info!(target: "sigra::jobs", id = %id, "job released at shutdown")
                }
                Err(err) => {
                    tracing::warn!(target: "sigra::jobs", id = %id, "could not release the job at shutdown (it runs again when its lease expires): {err}")
                }
            }
        }
        tracing::info!(target: "sigra::jobs", released = left.len(), "job worker stopped");
    }
}

/// Runs a handler's future, turning a panic into a permanent failure: a panicking handler is a
/// bug that running the same job again will not fix. Without this the panic would end the
/// job's task before the outcome is recorded, so the job would stay `running` and be run again
/// at every lease expiry, forever (its attempts counted past `max_attempts`, no error kept).
struct CatchPanic(BoxedRun);

impl Future for CatchPanic {
    type Output = Result<JobOutcome, JobError>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let run = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(no message)");
                std::task::Poll::Ready(Err(JobError::permanent(format!(
                    "the job's handler panicked: {msg}"
                ))))
            }
        }
    }
}

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashMap<Uuid, Uuid>> {
    in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Error messages are kept to 2000 characters.
fn truncate(msg: &str) -> String {
    const MAX: usize = 2000;
    if msg.len() <= MAX {
        return msg.to_owned();
    }
    let mut end = MAX;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &msg[..end])
}
