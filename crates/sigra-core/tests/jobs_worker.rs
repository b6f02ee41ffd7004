//! The job worker (`sigra_core::jobs::Worker`) over the in-memory reference store: what it
//! records after a success, a temporary or a permanent failure, leases, periodic jobs,
//! graceful shutdown and wake-ups; and the properties of `Backoff`.
//!
//! The worker's clock (the times it writes into job rows) is a `clock!()` each test moves by
//! hand; its sleeps (poll interval, shutdown grace) run on tokio's paused test clock, which
//! jumps ahead whenever every task waits, so polls cost no real time.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use proptest::prelude::*;
use sigra_core::config::{JobsConfig, SigraConfig};
use sigra_core::jobs::{Backoff, JobError, JobOutcome, JobSettings, JobSignal, Worker};
use sigra_core::store::{JobRecord, JobStatus, JobStore, NewJob, Store, Transaction};
use sigra_core::testing::MemoryStore;
use support::clock::{HOUR, MIN, T0};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

const QUEUE: &str = "work";

/// Settings from the `jobs` configuration group, changed by `change` (so they pass the
/// configuration's validation).
fn settings(change: impl FnOnce(&mut JobsConfig)) -> JobSettings {
    JobSettings::from_config(&SigraConfig::builder().jobs(change).build().unwrap())
}

/// The instant `secs` after the Unix epoch (the test clocks start at `T0`).
fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

async fn enqueue(store: &MemoryStore, job: NewJob) -> Uuid {
    let id = job.id;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.enqueue_job(&job).await.unwrap());
    tx.commit().await.unwrap();
    id
}

async fn job(store: &MemoryStore, id: Uuid) -> JobRecord {
    let mut tx = store.begin_read().await.unwrap();
    tx.job_by_id(id).await.unwrap().expect("the job exists")
}

/// Waits (on the paused clock) until the job satisfies `done`; fails after a simulated hour.
async fn wait_for(
    store: &MemoryStore,
    id: Uuid,
    what: &str,
    done: impl Fn(&JobRecord) -> bool,
) -> JobRecord {
    let start = tokio::time::Instant::now();
    loop {
        let record = job(store, id).await;
        if done(&record) {
            return record;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3600),
            "the job never became {what}: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A worker running on its own task until [`Running::stop`].
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

fn start(worker: Worker<MemoryStore>) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// A handler that counts its runs and answers with `answer(run number)`.
fn counting(
    runs: &Arc<AtomicU32>,
    answer: fn(u32) -> Result<JobOutcome, JobError>,
) -> impl Fn(JobRecord) -> std::future::Ready<Result<JobOutcome, JobError>> + Send + Sync + 'static
{
    let runs = Arc::clone(runs);
    move |_job| std::future::ready(answer(runs.fetch_add(1, SeqCst) + 1))
}

// ---------------------------------------------------------------------------------------------
// outcomes
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_job_runs_once_and_is_done_with_its_payload_scrubbed() {
    let clock = clock!();
    let store = MemoryStore::new();
    let scrubbed = enqueue(
        &store,
        NewJob::new(QUEUE, "send", clock.now()).payload("a live link"),
    )
    .await;
    let kept = enqueue(
        &store,
        NewJob::new("mailbox", "send", clock.now()).payload("shown in the dev mailbox"),
    )
    .await;
    let (runs, kept_runs): (Arc<AtomicU32>, _) = (Arc::default(), Arc::default());
    let seen: Arc<std::sync::Mutex<Vec<JobRecord>>> = Arc::default();
    let worker = Worker::new(store.clone(), settings(|_| {}))
        .clock(clock.read)
        .handle(QUEUE, {
            let runs = Arc::clone(&runs);
            let seen = Arc::clone(&seen);
            move |job: JobRecord| {
                runs.fetch_add(1, SeqCst);
                seen.lock().unwrap().push(job);
                async { Ok::<_, JobError>(JobOutcome::Done) }
            }
        })
        .handle(
            "mailbox",
            counting(&kept_runs, |_| Ok(JobOutcome::DoneKeepPayload)),
        );
    let running = start(worker);

    let done = wait_for(&store, scrubbed, "done", |j| j.status == JobStatus::Done).await;
    let kept_done = wait_for(&store, kept, "done", |j| j.status == JobStatus::Done).await;
    // Several more polls: nothing runs twice.
    tokio::time::sleep(Duration::from_secs(30)).await;
    running.stop().await;
    assert_eq!(runs.load(SeqCst), 1);
    assert_eq!(kept_runs.load(SeqCst), 1);

    // The handler saw the claimed job, payload and all.
    let handed = seen.lock().unwrap()[0].clone();
    assert_eq!(handed.id, scrubbed);
    assert_eq!(handed.status, JobStatus::Running);
    assert_eq!(handed.attempts, 1);
    assert_eq!(handed.payload.as_deref(), Some("a live link"));

    assert_eq!(done.payload, None, "JobOutcome::Done scrubs the payload");
    assert_eq!(done.attempts, 1);
    assert_eq!(done.finished_at, Some(clock.now()));
    assert_eq!(done.lease, None);
    assert_eq!(done.locked_until, None);
    assert_eq!(done.last_error, None);
    assert_eq!(
        kept_done.payload.as_deref(),
        Some("shown in the dev mailbox"),
        "JobOutcome::DoneKeepPayload keeps it"
    );
    assert_eq!(
        job(&store, scrubbed).await,
        done,
        "and nothing changed since"
    );
}

#[tokio::test(start_paused = true)]
async fn a_temporary_error_retries_after_a_backoff_then_succeeds() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "send", clock.now()).payload("p")).await;
    let runs = Arc::default();
    let base = Duration::from_secs(10);
    let worker = Worker::new(
        store.clone(),
        settings(|j| {
            j.retry_base = base;
            j.max_attempts = 5;
        }),
    )
    .clock(clock.read)
    .handle(
        QUEUE,
        counting(&runs, |run| match run {
            1 => Err(JobError::temporary("421 4.3.2 try again later")),
            _ => Ok(JobOutcome::Done),
        }),
    );
    let running = start(worker);

    let retrying = wait_for(&store, id, "retrying", |j| j.status == JobStatus::Retrying).await;
    let failed_at = clock.now();
    assert_eq!(retrying.attempts, 1);
    assert_eq!(
        retrying.last_error.as_deref(),
        Some("421 4.3.2 try again later")
    );
    assert_eq!(retrying.lease, None);
    assert_eq!(retrying.locked_until, None);
    assert_eq!(retrying.finished_at, None);
    assert_eq!(retrying.payload.as_deref(), Some("p"), "kept for the retry");
    let delay = retrying.run_at - failed_at;
    assert!(
        delay >= base / 2 && delay <= base,
        "the first retry comes after base/2..=base, not {delay}"
    );

    // Not before its time, however often the worker polls.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(job(&store, id).await, retrying);
    assert_eq!(runs.load(SeqCst), 1);

    clock.advance(10);
    let done = wait_for(&store, id, "done", |j| j.status == JobStatus::Done).await;
    running.stop().await;
    assert_eq!(runs.load(SeqCst), 2);
    assert_eq!(done.attempts, 2);
    assert_eq!(done.last_error, None, "a success clears the last error");
    assert_eq!(done.payload, None);
    assert_eq!(done.finished_at, Some(clock.now()));
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_makes_the_job_dead_at_once() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "send", clock.now()).payload("p")).await;
    let runs = Arc::default();
    let worker = Worker::new(store.clone(), settings(|j| j.max_attempts = 5))
        .clock(clock.read)
        .handle(
            QUEUE,
            counting(&runs, |_| {
                Err(JobError::permanent("550 5.1.1 no such user"))
            }),
        );
    let running = start(worker);
    let dead = wait_for(&store, id, "dead", |j| j.status == JobStatus::Dead).await;
    clock.advance(HOUR);
    tokio::time::sleep(Duration::from_secs(60)).await;
    running.stop().await;
    assert_eq!(runs.load(SeqCst), 1, "no retry after a permanent error");
    assert_eq!(dead.attempts, 1);
    assert_eq!(dead.last_error.as_deref(), Some("550 5.1.1 no such user"));
    assert_eq!(dead.finished_at, Some(at(T0)));
    assert_eq!(
        dead.payload.as_deref(),
        Some("p"),
        "kept so an operator can retry it"
    );
    assert_eq!(dead.lease, None);
    assert_eq!(job(&store, id).await, dead);
}

#[tokio::test(start_paused = true)]
async fn a_job_that_keeps_failing_is_dead_after_max_attempts() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "send", clock.now())).await;
    let runs = Arc::default();
    let base = Duration::from_secs(10);
    let worker = Worker::new(
        store.clone(),
        settings(|j| {
            j.retry_base = base;
            j.max_attempts = 3;
        }),
    )
    .clock(clock.read)
    .handle(
        QUEUE,
        counting(&runs, |run| {
            Err(JobError::temporary(format!("421 busy (attempt {run})")))
        }),
    );
    let running = start(worker);

    for (attempt, nominal) in [(1, base), (2, base * 2)] {
        let retrying = wait_for(&store, id, "retrying", |j| {
            j.status == JobStatus::Retrying && j.attempts == attempt
        })
        .await;
        let delay = retrying.run_at - clock.now();
        assert!(
            delay >= nominal / 2 && delay <= nominal,
            "after attempt {attempt}: {delay} outside {:?}..={nominal:?}",
            nominal / 2
        );
        clock.advance(nominal.as_secs().try_into().unwrap());
    }
    let dead = wait_for(&store, id, "dead", |j| j.status == JobStatus::Dead).await;
    clock.advance(HOUR);
    tokio::time::sleep(Duration::from_secs(60)).await;
    running.stop().await;
    assert_eq!(runs.load(SeqCst), 3);
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_error.as_deref(), Some("421 busy (attempt 3)"));
    assert_eq!(dead.finished_at, Some(at(T0 + 30)));
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_panics_fails_the_job_instead_of_running_it_forever() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "send", clock.now()).payload("p")).await;
    let runs = Arc::default();
    let worker = Worker::new(store.clone(), settings(|j| j.max_attempts = 3))
        .clock(clock.read)
        .handle(QUEUE, counting(&runs, |_| panic!("a bug in the handler")));
    let running = start(worker);
    let dead = wait_for(&store, id, "dead", |j| j.status == JobStatus::Dead).await;
    // However long it waits, the job does not come back.
    for _ in 0..3 {
        clock.advance(HOUR);
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    running.stop().await;
    assert_eq!(runs.load(SeqCst), 1);
    assert_eq!(dead.attempts, 1);
    let error = dead.last_error.clone().unwrap();
    assert!(
        error.contains("panicked") && error.contains("a bug in the handler"),
        "{error}"
    );
    assert_eq!(dead.payload.as_deref(), Some("p"), "kept for an operator");
    assert_eq!(
        job(&store, id).await,
        dead,
        "not released at shutdown either"
    );
}

// ---------------------------------------------------------------------------------------------
// leases
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_job_whose_worker_died_is_taken_over_when_its_lease_expires() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "send", clock.now()).payload("p")).await;
    // A worker claims it with a 60 s lease, then crashes.
    let crashed = Uuid::now_v7();
    let mut tx = store.begin().await.unwrap();
    let claimed = tx
        .claim_jobs(
            QUEUE,
            clock.now(),
            clock.now() + Duration::from_secs(60),
            crashed,
            10,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);

    let runs = Arc::default();
    let worker = Worker::new(store.clone(), settings(|_| {}))
        .clock(clock.read)
        .handle(QUEUE, counting(&runs, |_| Ok(JobOutcome::Done)));
    let running = start(worker);

    // While the lease lasts, the job is left alone.
    clock.advance(59);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let held = job(&store, id).await;
    assert_eq!(held.status, JobStatus::Running);
    assert_eq!(held.lease, Some(crashed));
    assert_eq!(runs.load(SeqCst), 0);

    // Once it has run out, the live worker claims and runs it.
    clock.advance(1);
    let done = wait_for(&store, id, "done", |j| j.status == JobStatus::Done).await;
    running.stop().await;
    assert_eq!(runs.load(SeqCst), 1);
    assert_eq!(done.attempts, 2, "the crashed attempt counts");
    assert_eq!(done.finished_at, Some(at(T0 + 60)));

    // The crashed worker's lease no longer finishes anything.
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.complete_job(id, crashed, clock.now(), true)
            .await
            .unwrap()
    );
    assert!(
        !tx.fail_job(id, crashed, "late", None, clock.now())
            .await
            .unwrap()
    );
    assert!(!tx.release_job(id, crashed, clock.now()).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(job(&store, id).await, done);
}

#[tokio::test(start_paused = true)]
async fn a_job_every_worker_died_on_is_dead_without_running_again() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "send", clock.now()).payload("p")).await;
    // Three workers in turn claimed it and died mid-job (max_attempts 3): no outcome recorded.
    for _ in 0..3 {
        let mut tx = store.begin().await.unwrap();
        let claimed = tx
            .claim_jobs(
                QUEUE,
                clock.now(),
                clock.now() + Duration::from_secs(60),
                Uuid::now_v7(),
                10,
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(claimed.len(), 1);
        clock.advance(60);
    }

    let runs = Arc::default();
    let worker = Worker::new(store.clone(), settings(|j| j.max_attempts = 3))
        .clock(clock.read)
        .handle(QUEUE, counting(&runs, |_| Ok(JobOutcome::Done)));
    let running = start(worker);
    let dead = wait_for(&store, id, "dead", |j| j.status == JobStatus::Dead).await;
    running.stop().await;
    assert_eq!(
        runs.load(SeqCst),
        0,
        "a job that took its workers down is not run a 4th time"
    );
    assert_eq!(dead.payload.as_deref(), Some("p"), "kept for an operator");
    let error = dead.last_error.unwrap_or_default();
    assert!(error.contains("abandoned"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// periodic jobs
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn two_workers_with_one_schedule_run_it_once_per_interval() {
    let clock = clock!();
    let store = MemoryStore::new();
    let interval = Duration::from_secs(10 * 60);
    let runs = Arc::default();
    let worker = |store: &MemoryStore| {
        Worker::new(store.clone(), settings(|_| {}))
            .clock(clock.read)
            .handle("maintenance", counting(&runs, |_| Ok(JobOutcome::Done)))
            .every("maintenance", "prune", interval)
    };

    // Both instances schedule at start; without a handler they only schedule.
    let planners = [
        Worker::new(store.clone(), settings(|_| {}))
            .clock(clock.read)
            .every("maintenance", "prune", interval),
        Worker::new(store.clone(), settings(|_| {}))
            .clock(clock.read)
            .every("maintenance", "prune", interval),
    ]
    .map(start);
    tokio::time::sleep(Duration::from_secs(5)).await;
    for planner in planners {
        planner.stop().await;
    }
    let jobs = store.jobs().await;
    assert_eq!(
        jobs.len(),
        1,
        "one pending run, not one per instance: {jobs:?}"
    );
    let first = &jobs[0];
    assert_eq!(first.status, JobStatus::Queued);
    assert_eq!(first.unique_key.as_deref(), Some("maintenance:prune"));
    assert_eq!(first.run_at, clock.now(), "the first run is due at start");

    // Two working instances: the first run once, the next one scheduled an interval later.
    let (a, b) = (start(worker(&store)), start(worker(&store)));
    wait_for(&store, first.id, "done", |j| j.status == JobStatus::Done).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(runs.load(SeqCst), 1);
    let jobs = store.jobs().await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let next = &jobs[1];
    assert_eq!(next.status, JobStatus::Queued);
    assert_eq!(next.unique_key.as_deref(), Some("maintenance:prune"));
    assert_eq!(next.run_at, clock.now() + interval);

    // An interval later: one more run, and the one after is scheduled.
    clock.advance(10 * MIN);
    wait_for(&store, next.id, "done", |j| j.status == JobStatus::Done).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    a.stop().await;
    b.stop().await;
    assert_eq!(runs.load(SeqCst), 2);
    let jobs = store.jobs().await;
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    assert_eq!(jobs[2].status, JobStatus::Queued);
    assert_eq!(jobs[2].run_at, at(T0 + 20 * MIN));
}

// ---------------------------------------------------------------------------------------------
// shutdown and wake-ups
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn shutdown_stops_a_job_that_outlasts_the_grace_and_releases_it() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "slow", clock.now())).await;
    let (started, finished) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let worker = Worker::new(
        store.clone(),
        settings(|j| j.shutdown_grace = Duration::from_secs(2)),
    )
    .clock(clock.read)
    .handle(QUEUE, {
        let (started, finished) = (Arc::clone(&started), Arc::clone(&finished));
        move |_job: JobRecord| {
            let (started, finished) = (Arc::clone(&started), Arc::clone(&finished));
            async move {
                started.store(true, SeqCst);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                finished.store(true, SeqCst);
                Ok::<_, JobError>(JobOutcome::Done)
            }
        }
    });
    let running = start(worker);
    wait_for(&store, id, "running", |j| j.status == JobStatus::Running).await;
    while !started.load(SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    clock.advance(5);
    let asked = tokio::time::Instant::now();
    running.stop().await;
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "the worker waited the grace, then stopped the job: {took:?}"
    );
    assert!(!finished.load(SeqCst), "the handler was stopped");

    let released = job(&store, id).await;
    assert_eq!(released.status, JobStatus::Queued);
    assert_eq!(released.attempts, 0, "a stopped attempt does not count");
    assert_eq!(released.lease, None);
    assert_eq!(released.locked_until, None);
    assert_eq!(released.run_at, clock.now(), "runnable at once");

    // Another worker takes it right away (not after the lease).
    let runs = Arc::default();
    let other = start(
        Worker::new(store.clone(), settings(|_| {}))
            .clock(clock.read)
            .handle(QUEUE, counting(&runs, |_| Ok(JobOutcome::Done))),
    );
    let done = wait_for(&store, id, "done", |j| j.status == JobStatus::Done).await;
    other.stop().await;
    assert_eq!(done.attempts, 1);
    assert_eq!(runs.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_a_job_finish_within_the_grace() {
    let clock = clock!();
    let store = MemoryStore::new();
    let id = enqueue(&store, NewJob::new(QUEUE, "quick", clock.now())).await;
    let started = Arc::new(AtomicBool::new(false));
    let worker = Worker::new(
        store.clone(),
        settings(|j| j.shutdown_grace = Duration::from_secs(10)),
    )
    .clock(clock.read)
    .handle(QUEUE, {
        let started = Arc::clone(&started);
        move |_job: JobRecord| {
            let started = Arc::clone(&started);
            async move {
                started.store(true, SeqCst);
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok::<_, JobError>(JobOutcome::Done)
            }
        }
    });
    let running = start(worker);
    while !started.load(SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop().await;
    let done = job(&store, id).await;
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_signal_wakes_an_idle_worker_before_its_poll_interval() {
    let clock = clock!();
    let store = MemoryStore::new();
    let poll = Duration::from_secs(60);
    let signal = JobSignal::default();
    let runs = Arc::default();
    let worker = Worker::new(store.clone(), settings(|j| j.poll_interval = poll))
        .clock(clock.read)
        .wake_on(signal.clone())
        .handle(QUEUE, counting(&runs, |_| Ok(JobOutcome::Done)));
    let running = start(worker);
    // The worker finds nothing and sleeps for its poll interval.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let woken = enqueue(&store, NewJob::new(QUEUE, "send", clock.now())).await;
    let asked = tokio::time::Instant::now();
    signal.notify();
    wait_for(&store, woken, "done", |j| j.status == JobStatus::Done).await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "woken at once, not at the next poll: {:?}",
        asked.elapsed()
    );

    // Without the signal the next job waits for the poll.
    let polled = enqueue(&store, NewJob::new(QUEUE, "send", clock.now())).await;
    let asked = tokio::time::Instant::now();
    wait_for(&store, polled, "done", |j| j.status == JobStatus::Done).await;
    assert!(
        asked.elapsed() > poll / 2,
        "picked up by a poll: {:?}",
        asked.elapsed()
    );
    running.stop().await;
    assert_eq!(runs.load(SeqCst), 2);
}

// ---------------------------------------------------------------------------------------------
// backoff
// ---------------------------------------------------------------------------------------------

#[test]
fn backoff_doubles_from_base_up_to_max() {
    let backoff = Backoff {
        base: Duration::from_secs(30),
        max: Duration::from_secs(300),
        max_attempts: 10,
    };
    let nominal: Vec<u64> = (0..=7).map(|n| backoff.nominal(n).as_secs()).collect();
    assert_eq!(nominal, [30, 30, 60, 120, 240, 300, 300, 300]);
    assert_eq!(backoff.nominal(u32::MAX), backoff.max);
    assert!(!backoff.exhausted(9));
    assert!(backoff.exhausted(10));
    assert!(backoff.exhausted(11));
}

#[test]
fn the_default_settings_match_the_configuration() {
    let s = JobSettings::default();
    assert_eq!(s.backoff.base, Duration::from_secs(30));
    assert_eq!(s.backoff.max, Duration::from_secs(3600));
    assert_eq!(s.backoff.max_attempts, 10);
    assert_eq!(s, settings(|_| {}));
    // And the configuration's own floors hold: no sub-second retries or polls.
    assert!(
        SigraConfig::builder()
            .jobs(|j| j.retry_base = Duration::from_millis(500))
            .build()
            .is_err()
    );
    assert!(
        SigraConfig::builder()
            .jobs(|j| j.poll_interval = Duration::from_millis(500))
            .build()
            .is_err()
    );
}

proptest! {
    #[test]
    fn backoff_nominal_is_base_doubled_per_failure_capped_at_max(
        base_ms in 1u64..=3_600_000,
        extra_ms in 0u64..=86_400_000,
        failed in 0u32..=60,
    ) {
        let base = Duration::from_millis(base_ms);
        let max = Duration::from_millis(base_ms + extra_ms).min(Duration::from_secs(86_400));
        prop_assume!(base <= max);
        let backoff = Backoff { base, max, max_attempts: 50 };
        // base · 2^(failed-1) in exact arithmetic (base < 2^22 ms, so no overflow), then capped.
        let exact = u128::from(base_ms) << failed.saturating_sub(1);
        let expected = if exact >= max.as_millis() {
            max
        } else {
            Duration::from_millis(u64::try_from(exact).unwrap())
        };
        prop_assert_eq!(backoff.nominal(failed), expected);
        // Never shrinking from one failure to the next.
        prop_assert!(backoff.nominal(failed + 1) >= backoff.nominal(failed));
    }

    #[test]
    fn backoff_delay_is_between_half_the_nominal_and_the_nominal(
        base_ms in 1u64..=3_600_000,
        extra_ms in 0u64..=86_400_000,
        failed in 0u32..=60,
    ) {
        let base = Duration::from_millis(base_ms);
        let max = Duration::from_millis(base_ms + extra_ms).min(Duration::from_secs(86_400));
        prop_assume!(base <= max);
        let backoff = Backoff { base, max, max_attempts: 50 };
        let nominal = backoff.nominal(failed);
        for _ in 0..8 {
            let delay = backoff.delay(failed);
            prop_assert!(delay >= nominal / 2, "{:?} < {:?} / 2", delay, nominal);
            prop_assert!(delay <= nominal, "{:?} > {:?}", delay, nominal);
        }
    }
}

#[test]
fn backoff_delays_are_spread_out() {
    // Equal jitter: many failures at once do not all retry at the same instant.
    let backoff = Backoff {
        base: Duration::from_secs(60),
        max: Duration::from_secs(3600),
        max_attempts: 10,
    };
    let delays: std::collections::BTreeSet<Duration> = (0..64).map(|_| backoff.delay(3)).collect();
    assert!(delays.len() > 32, "{} distinct delays of 64", delays.len());
}
