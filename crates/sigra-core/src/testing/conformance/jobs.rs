//! [`JobStore`] contracts: the outbox and background jobs table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::{Must, RACERS, at, broken, check_eq, commit, in_zone, race, whole};
use crate::store::{
    JobFilter, JobRecord, JobStatus, JobStore, NewJob, Store, StoreError, Transaction,
};

const READ_FIX: &str = "read every column back unchanged: SELECT id, queue, kind, recipient, payload, \
     unique_key, status, attempts, run_at, locked_until, lease, last_error, created_at, \
     finished_at FROM jobs WHERE id = $1; status is JobStatus::as_str() read with \
     JobStatus::parse; recipient, payload, unique_key, locked_until, lease, last_error and \
     finished_at are nullable and bound as Options";
const ENQUEUE_FIX: &str = "INSERT INTO jobs (id, queue, kind, recipient, payload, unique_key, status, \
     attempts, run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8) ON \
     CONFLICT DO NOTHING, and return rows_affected() == 1";
const UNIQUE_FIX: &str = "declare a partial unique index, CREATE UNIQUE INDEX jobs_unique_key ON jobs \
     (unique_key) WHERE status IN ('queued', 'running', 'retrying'), and enqueue with INSERT … ON \
     CONFLICT DO NOTHING returning rows_affected() == 1; never let the INSERT fail (PostgreSQL \
     aborts the whole transaction on a failed statement)";
const CLAIM_FIX: &str = "claim with one statement: UPDATE jobs SET status = 'running', lease = $4, \
     locked_until = $3, attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE queue = $1 \
     AND ((status IN ('queued', 'retrying') AND run_at <= $2) OR (status = 'running' AND \
     locked_until <= $2)) ORDER BY run_at LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING … (SQLite: the \
     same without FOR UPDATE SKIP LOCKED, in the BEGIN IMMEDIATE transaction; store times in one \
     fixed UTC text format so text order is time order)";
const EXCLUSIVE_FIX: &str = "claim with one statement, never SELECT then UPDATE: on PostgreSQL \
     UPDATE jobs SET status = 'running', lease = $4, locked_until = $3, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM jobs WHERE queue = $1 AND … ORDER BY run_at LIMIT $5 FOR UPDATE \
     SKIP LOCKED) RETURNING … at READ COMMITTED; on SQLite the same UPDATE … RETURNING in a \
     transaction begun with BEGIN IMMEDIATE (and a busy_timeout so claimers queue)";
const COMPLETE_FIX: &str = "UPDATE jobs SET status = 'done', finished_at = $3, lease = NULL, \
     locked_until = NULL, last_error = NULL, payload = CASE WHEN $4 THEN NULL ELSE payload END \
     WHERE id = $1 AND status = 'running' AND lease = $2; return rows_affected() == 1";
const FAIL_FIX: &str = "with a retry time: UPDATE jobs SET status = 'retrying', run_at = $retry_at, \
     last_error = $error, lease = NULL, locked_until = NULL WHERE id = $1 AND status = 'running' \
     AND lease = $2; without: UPDATE jobs SET status = 'dead', finished_at = $now, last_error = \
     $error, lease = NULL, locked_until = NULL WHERE id = $1 AND status = 'running' AND lease = \
     $2 (the payload is kept, last_error is TEXT with no length limit); return rows_affected() == 1";
const RELEASE_FIX: &str = "UPDATE jobs SET status = CASE WHEN last_error IS NULL THEN 'queued' ELSE \
     'retrying' END, attempts = attempts - 1, run_at = $3, lease = NULL, locked_until = NULL \
     WHERE id = $1 AND status = 'running' AND lease = $2; return rows_affected() == 1";
const RETRY_FIX: &str = "UPDATE jobs SET status = 'queued', run_at = $2, attempts = 0, finished_at = \
     NULL WHERE id = $1 AND status IN ('dead', 'retrying') AND (unique_key IS NULL OR NOT EXISTS \
     (SELECT 1 FROM jobs other WHERE other.unique_key = jobs.unique_key AND other.id <> jobs.id \
     AND other.status IN ('queued', 'running', 'retrying'))) (last_error, payload and lease \
     untouched); return rows_affected() == 1";
const PRUNE_FIX: &str = "DELETE FROM jobs WHERE (status = 'done' AND finished_at < $1) OR (status = \
     'dead' AND finished_at < $2); return rows_affected(); on SQLite store times in one fixed UTC \
     text format so text order is time order";
const LIST_FIX: &str = "SELECT … FROM jobs WHERE ($1 IS NULL OR queue = $1) AND ($2 IS NULL OR \
     status = $2) ORDER BY created_at DESC, id DESC LIMIT $3; on SQLite store times in one fixed \
     UTC text format so text order is time order";
const SAME_TX_FIX: &str = "run every statement on the transaction's connection (&mut *tx), never \
     on the pool";

/// Compares every column of a job, naming the first that differs.
#[track_caller]
fn check_job(got: &JobRecord, want: &JobRecord, contract: &str, fix: &str) {
    #[track_caller]
    fn field<T: PartialEq + fmt::Debug>(name: &str, got: &T, want: &T, contract: &str, fix: &str) {
        if got != want {
            broken(
                contract,
                format_args!("job {name}: expected {want:?}, got {got:?}"),
                fix,
            );
        }
    }
    field("id", &got.id, &want.id, contract, READ_FIX);
    field("queue", &got.queue, &want.queue, contract, READ_FIX);
    field("kind", &got.kind, &want.kind, contract, READ_FIX);
    field(
        "recipient",
        &got.recipient,
        &want.recipient,
        contract,
        READ_FIX,
    );
    field(
        "unique_key",
        &got.unique_key,
        &want.unique_key,
        contract,
        READ_FIX,
    );
    field(
        "created_at",
        &got.created_at,
        &want.created_at,
        contract,
        READ_FIX,
    );
    field("status", &got.status, &want.status, contract, fix);
    field("attempts", &got.attempts, &want.attempts, contract, fix);
    field("lease", &got.lease, &want.lease, contract, fix);
    field("payload", &got.payload, &want.payload, contract, fix);
    field(
        "last_error",
        &got.last_error,
        &want.last_error,
        contract,
        fix,
    );
    check_job_time("run_at", Some(got.run_at), Some(want.run_at), contract, fix);
    check_job_time(
        "locked_until",
        got.locked_until,
        want.locked_until,
        contract,
        fix,
    );
    check_job_time(
        "finished_at",
        got.finished_at,
        want.finished_at,
        contract,
        fix,
    );
    check_job_time(
        "created_at",
        Some(got.created_at),
        Some(want.created_at),
        contract,
        READ_FIX,
    );
}

/// A time column: the same instant (a sub-second difference is a precision problem, a larger
/// one the operation's), in UTC.
#[track_caller]
fn check_job_time(
    column: &str,
    got: Option<OffsetDateTime>,
    want: Option<OffsetDateTime>,
    contract: &str,
    fix: &str,
) {
    if got != want {
        let precision =
            matches!((got, want), (Some(g), Some(w)) if (g - w).abs() < Duration::SECOND);
        broken(
            contract,
            format_args!("job {column}: expected {want:?}, got {got:?}"),
            if precision {
                "store times with at least microsecond precision (TIMESTAMPTZ on PostgreSQL; on \
                 SQLite a fixed UTC text format) and never through a lossy conversion"
            } else {
                fix
            },
        );
    }
    if let Some(got) = got
        && got.offset() != UtcOffset::UTC
    {
        broken(
            contract,
            format_args!("job {column} came back with offset {}", got.offset()),
            "store and return times in UTC: convert with .to_offset(UtcOffset::UTC) before binding \
             (SQLite keeps the offset in the text) or when reading",
        );
    }
}

/// Enqueues `job` in its own committed transaction; returns what `enqueue_job` answered.
async fn enqueue<S: Store>(store: &S, job: &NewJob) -> bool {
    let mut tx = store.begin().await.must("begin");
    let written = tx.enqueue_job(job).await.must("enqueue_job");
    commit(tx).await;
    written
}

/// Enqueues `job` in its own committed transaction, which must write it.
async fn enqueued<S: Store>(store: &S, job: &NewJob, contract: &str) {
    if !enqueue(store, job).await {
        broken(
            contract,
            format_args!(
                "enqueue_job of a new job (unique_key {:?}) returned false",
                job.unique_key
            ),
            ENQUEUE_FIX,
        );
    }
}

/// The job as a fresh transaction reads it.
#[track_caller]
fn found(job: Option<JobRecord>, id: Uuid, contract: &str) -> JobRecord {
    match job {
        Some(job) => job,
        None => broken(
            contract,
            format_args!("job_by_id({id}) found nothing"),
            READ_FIX,
        ),
    }
}

async fn read<S: Store>(store: &S, id: Uuid, contract: &str) -> JobRecord {
    let mut tx = store.begin().await.must("begin");
    let job = tx.job_by_id(id).await.must("job_by_id");
    commit(tx).await;
    found(job, id, contract)
}

async fn exists<S: Store>(store: &S, id: Uuid) -> bool {
    let mut tx = store.begin().await.must("begin");
    let job = tx.job_by_id(id).await.must("job_by_id");
    commit(tx).await;
    job.is_some()
}

/// Claims in its own committed transaction.
async fn claim<S: Store>(
    store: &S,
    queue: &str,
    now: OffsetDateTime,
    locked_until: OffsetDateTime,
    lease: Uuid,
    limit: u32,
) -> Vec<JobRecord> {
    let mut tx = store.begin().await.must("begin");
    let jobs = tx
        .claim_jobs(queue, now, locked_until, lease, limit)
        .await
        .must("claim_jobs");
    commit(tx).await;
    jobs
}

/// Claims the only runnable job of `job.queue` at `now` (lease until a minute later).
async fn claim_only<S: Store>(
    store: &S,
    job: &NewJob,
    now: OffsetDateTime,
    lease: Uuid,
    contract: &str,
) -> JobRecord {
    let claimed = claim(store, &job.queue, now, now + Duration::MINUTE, lease, 10).await;
    match claimed.as_slice() {
        [one] if one.id == job.id => one.clone(),
        _ => broken(
            contract,
            format_args!(
                "claiming queue {:?} at {now}, where one job was runnable, returned {} jobs",
                job.queue,
                claimed.len()
            ),
            CLAIM_FIX,
        ),
    }
}

async fn complete<S: Store>(
    store: &S,
    id: Uuid,
    lease: Uuid,
    now: OffsetDateTime,
    scrub: bool,
) -> bool {
    let mut tx = store.begin().await.must("begin");
    let done = tx
        .complete_job(id, lease, now, scrub)
        .await
        .must("complete_job");
    commit(tx).await;
    done
}

async fn fail<S: Store>(
    store: &S,
    id: Uuid,
    lease: Uuid,
    error: &str,
    retry_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    let mut tx = store.begin().await.must("begin");
    let failed = tx
        .fail_job(id, lease, error, retry_at, now)
        .await
        .must("fail_job");
    commit(tx).await;
    failed
}

async fn release<S: Store>(store: &S, id: Uuid, lease: Uuid, now: OffsetDateTime) -> bool {
    let mut tx = store.begin().await.must("begin");
    let released = tx.release_job(id, lease, now).await.must("release_job");
    commit(tx).await;
    released
}

async fn list<S: Store>(store: &S, filter: &JobFilter, limit: u32) -> Vec<Uuid> {
    let mut tx = store.begin().await.must("begin");
    let jobs = tx.list_jobs(filter, limit).await.must("list_jobs");
    commit(tx).await;
    jobs.into_iter().map(|j| j.id).collect()
}

/// Checks that the jobs claimed are exactly `want` (by kind, in any order: the contract picks
/// the oldest `run_at` first but does not order the returned rows).
#[track_caller]
fn check_claimed(got: &[JobRecord], want: &[&NewJob], now: OffsetDateTime, contract: &str) {
    let got_kinds: BTreeSet<&str> = got.iter().map(|j| j.kind.as_str()).collect();
    let want_kinds: BTreeSet<&str> = want.iter().map(|j| j.kind.as_str()).collect();
    if got.len() != want.len() || got_kinds != want_kinds {
        broken(
            contract,
            format_args!(
                "claiming at {now} took {:?}, expected {want_kinds:?}",
                got.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>()
            ),
            CLAIM_FIX,
        );
    }
}

/// What a claim makes of `before`.
fn claimed_from(before: &JobRecord, lease: Uuid, locked_until: OffsetDateTime) -> JobRecord {
    let mut want = before.clone();
    want.status = JobStatus::Running;
    want.lease = Some(lease);
    want.locked_until = Some(locked_until);
    want.attempts += 1;
    want
}

/// An enqueued job survives `job_by_id` with every column exactly as given (times to the
/// microsecond, in UTC; absent recipient, payload and unique key stay `None`), `queued` with
/// no attempts, also within the enqueueing transaction; an unknown id is `None`.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::enqueue_job / job_by_id round-trip every column";
    let full = NewJob::new("mail", "reset_password", in_zone(at(0, 654_321), -3))
        .recipient("Zoë.Ünïcode+1@Exämple.com")
        .payload("v1.nonce.ciphertext {\"link\": \"https://example.com/r?t=a&b=c\"}\n'quoted' ✓")
        .unique_key("mail:reset_password:42")
        .run_at(in_zone(at(90, 123_456), 5));
    let bare = NewJob::new("maintenance", "prune", at(1, 1));
    let mut tx = store.begin().await.must("begin");
    for job in [&full, &bare] {
        if !tx.enqueue_job(job).await.must("enqueue_job") {
            broken(C, "enqueue_job of a new job returned false", ENQUEUE_FIX);
        }
        match tx.job_by_id(job.id).await.must("job_by_id") {
            Some(got) => check_job(&got, &JobRecord::from_new(job), C, ENQUEUE_FIX),
            None => broken(
                C,
                "a job enqueued in this transaction is not found by job_by_id in the same transaction",
                SAME_TX_FIX,
            ),
        }
    }
    commit(tx).await;
    for job in [&full, &bare] {
        for _ in 0..2 {
            let got = read(&store, job.id, C).await;
            check_job(&got, &JobRecord::from_new(job), C, ENQUEUE_FIX);
        }
    }
    let mut tx = store.begin().await.must("begin");
    if tx
        .job_by_id(Uuid::now_v7())
        .await
        .must("job_by_id")
        .is_some()
    {
        broken(C, "job_by_id found a job for an unknown id", READ_FIX);
    }
}

/// `list_jobs` returns jobs newest first (`created_at` descending to the microsecond, then id
/// descending), narrowed by queue and by status, at most `limit` (none for 0).
pub async fn list_newest_first<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::list_jobs lists newest first, filtered by queue and status";
    let mut jobs = vec![
        NewJob::new("mail", "a", whole(0, 0)),
        NewJob::new("maintenance", "b", whole(0, 100_000)),
        NewJob::new("mail", "c", whole(0, 150_000)),
        NewJob::new("mail", "d", whole(-1, 999_999)),
        NewJob::new("maintenance", "e", in_zone(whole(1, 0), 6)),
        NewJob::new("mail", "f", whole(2, 0)),
        NewJob::new("mail", "g", whole(2, 0)),
        NewJob::new("mail", "h", whole(-86_400 * 365 * 30, 0)),
    ];
    // Same created_at: the id decides, and it disagrees with the order of insertion.
    let mut tied = [Uuid::now_v7(), Uuid::now_v7()];
    tied.sort();
    jobs[5].id = tied[0];
    jobs[6].id = tied[1];
    let mut tx = store.begin().await.must("begin");
    for job in &jobs {
        if !tx.enqueue_job(job).await.must("enqueue_job") {
            broken(C, "enqueue_job of a new job returned false", ENQUEUE_FIX);
        }
    }
    commit(tx).await;

    let kind_of: BTreeMap<Uuid, &str> = jobs.iter().map(|j| (j.id, j.kind.as_str())).collect();
    let kinds = |ids: &[Uuid]| -> Vec<String> {
        ids.iter()
            .map(|id| kind_of.get(id).copied().unwrap_or("(unknown)").to_owned())
            .collect()
    };
    let mut newest_first: Vec<&NewJob> = jobs.iter().collect();
    newest_first.sort_by_key(|j| std::cmp::Reverse((j.created_at, j.id)));
    let expect = |filter: &dyn Fn(&NewJob) -> bool| -> Vec<Uuid> {
        newest_first
            .iter()
            .filter(|j| filter(j))
            .map(|j| j.id)
            .collect()
    };
    let check = |got: Vec<Uuid>, want: Vec<Uuid>, what: &str| {
        if got != want {
            broken(
                C,
                format_args!(
                    "list_jobs({what}) returned {:?}, expected {:?}",
                    kinds(&got),
                    kinds(&want)
                ),
                LIST_FIX,
            );
        }
    };

    let all = expect(&|_| true);
    check(
        list(&store, &JobFilter::all(), 100).await,
        all.clone(),
        "all, 100",
    );
    check(
        list(&store, &JobFilter::all(), 3).await,
        all[..3].to_vec(),
        "all, 3",
    );
    check(
        list(&store, &JobFilter::all(), 0).await,
        Vec::new(),
        "all, 0",
    );
    let mut tx = store.begin().await.must("begin");
    let listed = tx.list_jobs(&JobFilter::all(), 100).await.must("list_jobs");
    commit(tx).await;
    for (got, want) in listed.iter().zip(&newest_first) {
        check_job(got, &JobRecord::from_new(want), C, READ_FIX);
    }
    check(
        list(&store, &JobFilter::queue("mail"), 100).await,
        expect(&|j| j.queue == "mail"),
        "queue mail",
    );
    check(
        list(&store, &JobFilter::queue("mail"), 2).await,
        expect(&|j| j.queue == "mail")[..2].to_vec(),
        "queue mail, 2",
    );
    check(
        list(&store, &JobFilter::queue("nope"), 100).await,
        Vec::new(),
        "queue nope",
    );

    // One mail job running: the status filter, alone and with the queue.
    let taken = claim(
        &store,
        "mail",
        whole(10, 0),
        whole(70, 0),
        Uuid::now_v7(),
        1,
    )
    .await;
    let Some(taken) = taken.first().map(|j| j.id) else {
        broken(C, "claim_jobs found no runnable mail job", CLAIM_FIX)
    };
    check(
        list(&store, &JobFilter::all().status(JobStatus::Running), 100).await,
        vec![taken],
        "status running",
    );
    check(
        list(
            &store,
            &JobFilter::queue("mail").status(JobStatus::Queued),
            100,
        )
        .await,
        expect(&|j| j.queue == "mail" && j.id != taken),
        "queue mail, status queued",
    );
    check(
        list(
            &store,
            &JobFilter::queue("maintenance").status(JobStatus::Running),
            100,
        )
        .await,
        Vec::new(),
        "queue maintenance, status running",
    );
    check(
        list(&store, &JobFilter::all().status(JobStatus::Dead), 100).await,
        Vec::new(),
        "status dead",
    );
}

/// A job enqueued in a transaction that is dropped without commit leaves nothing (no row, no
/// claim, its unique key free), and a worker never claims a job whose transaction has not
/// committed.
pub async fn enqueue_is_transactional<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::enqueue_job writes in the caller's transaction";
    const FIX: &str = "run the INSERT on the transaction's connection (&mut *tx), never on the pool \
         or a separate connection, so a rolled-back flow enqueues nothing";
    let job = NewJob::new("mail", "confirm", at(0, 0))
        .payload("secret")
        .unique_key("mail:confirm:7");
    let mut tx = store.begin().await.must("begin");
    if !tx.enqueue_job(&job).await.must("enqueue_job") {
        broken(C, "enqueue_job of a new job returned false", ENQUEUE_FIX);
    }
    drop(tx);
    if exists(&store, job.id).await {
        broken(C, "a job enqueued in a rolled-back transaction exists", FIX);
    }
    if !list(&store, &JobFilter::all(), 10).await.is_empty() {
        broken(
            C,
            "list_jobs shows a job enqueued in a rolled-back transaction",
            FIX,
        );
    }
    if !claim(&store, "mail", at(60, 0), at(120, 0), Uuid::now_v7(), 10)
        .await
        .is_empty()
    {
        broken(
            C,
            "a job enqueued in a rolled-back transaction was claimed",
            FIX,
        );
    }
    let again = NewJob::new("mail", "confirm", at(1, 0)).unique_key("mail:confirm:7");
    if !enqueue(&store, &again).await {
        broken(
            C,
            "the unique_key of a job enqueued in a rolled-back transaction is still taken",
            FIX,
        );
    }

    // A worker claiming while the flow's transaction is open finds nothing of it.
    let pending = NewJob::new("notices", "confirm", at(0, 0));
    let mut writer = store.begin().await.must("begin");
    if !writer.enqueue_job(&pending).await.must("enqueue_job") {
        broken(C, "enqueue_job of a new job returned false", ENQUEUE_FIX);
    }
    let claimer_store = store.clone();
    let claimer = tokio::spawn(async move {
        // On SQLite this waits for the writer (BEGIN IMMEDIATE); elsewhere it claims at once.
        let mut tx = claimer_store.begin().await?;
        let got = tx
            .claim_jobs("notices", at(60, 0), at(120, 0), Uuid::now_v7(), 10)
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(got.len())
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(writer);
    match claimer.await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => broken(
            C,
            format_args!("a worker claimed {n} job(s) whose transaction never committed"),
            FIX,
        ),
        Ok(Err(err)) => broken(
            C,
            format_args!("the claiming transaction failed: {err}"),
            "on SQLite set busy_timeout (e.g. 5 s) so a transaction waits for a writer instead of failing",
        ),
        Err(err) => panic!("the claiming task failed: {err}"),
    }
    if exists(&store, pending.id).await {
        broken(C, "a job enqueued in a rolled-back transaction exists", FIX);
    }
}

/// At most one unfinished (`queued`, `running`, `retrying`) job per `unique_key`, whatever its
/// queue: a second enqueue returns `Ok(false)`, writes nothing and leaves the transaction
/// usable; jobs without a key never collide; once the holder is `done` or `dead` the key is
/// free again (finished jobs keep it, so the index must be partial).
pub async fn unique_key_one_unfinished<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::enqueue_job keeps one unfinished job per unique_key";
    const KEY: &str = "maintenance:prune";
    let first = NewJob::new("maintenance", "prune", at(0, 0)).unique_key(KEY);
    let same_tx = NewJob::new("maintenance", "prune", at(0, 1)).unique_key(KEY);
    let keyless = [
        NewJob::new("reports", "free", at(0, 2)),
        NewJob::new("reports", "free", at(0, 3)),
    ];
    let mut tx = store.begin().await.must("begin");
    if !tx.enqueue_job(&first).await.must("enqueue_job") {
        broken(C, "enqueue_job of a new job returned false", UNIQUE_FIX);
    }
    if tx.enqueue_job(&same_tx).await.must("enqueue_job") {
        broken(
            C,
            "a second job with the same unique_key, in the same transaction, was enqueued",
            UNIQUE_FIX,
        );
    }
    for job in &keyless {
        if !tx.enqueue_job(job).await.must("enqueue_job") {
            broken(
                C,
                "a job without unique_key was refused (NULL keys never collide)",
                UNIQUE_FIX,
            );
        }
    }
    commit(tx).await;

    // Refused in a later transaction, in any queue; the transaction goes on and commits.
    let dups = [
        NewJob::new("maintenance", "prune", at(5, 0)).unique_key(KEY),
        NewJob::new("mail", "other_queue", at(5, 0)).unique_key(KEY),
    ];
    let other_key = NewJob::new("reports", "weekly", at(5, 0)).unique_key("reports:weekly");
    let mut tx = store.begin().await.must("begin");
    for dup in &dups {
        match tx.enqueue_job(dup).await {
            Ok(false) => {}
            Ok(true) => broken(
                C,
                format_args!(
                    "a job (queue {:?}) with the unique_key of a queued job was enqueued",
                    dup.queue
                ),
                UNIQUE_FIX,
            ),
            Err(err) => broken(
                C,
                format_args!(
                    "enqueueing a job with a taken unique_key failed with {err} instead of returning Ok(false)"
                ),
                UNIQUE_FIX,
            ),
        }
    }
    match tx.enqueue_job(&other_key).await {
        Ok(true) => {}
        Ok(false) => broken(C, "a job with a free unique_key was refused", UNIQUE_FIX),
        Err(err) => broken(
            C,
            format_args!("after a refused enqueue the next statement failed: {err}"),
            UNIQUE_FIX,
        ),
    }
    if let Err(err) = tx.commit().await {
        broken(
            C,
            format_args!("after a refused enqueue the commit failed: {err}"),
            UNIQUE_FIX,
        );
    }
    for job in dups.iter().chain([&same_tx]) {
        if exists(&store, job.id).await {
            broken(
                C,
                "enqueue_job returned false, yet the refused job was written",
                UNIQUE_FIX,
            );
        }
    }
    for job in keyless.iter().chain([&other_key]) {
        if !exists(&store, job.id).await {
            broken(C, "a job enqueued after a refused one was lost", UNIQUE_FIX);
        }
    }
    check_job(
        &read(&store, first.id, C).await,
        &JobRecord::from_new(&first),
        C,
        "a refused enqueue must leave the job holding the key unchanged (ON CONFLICT DO NOTHING, not DO UPDATE)",
    );

    let refused = |status: &'static str| {
        let job = NewJob::new("maintenance", "prune", at(9, 0)).unique_key(KEY);
        let store = store.clone();
        async move {
            if enqueue(&store, &job).await {
                broken(
                    C,
                    format_args!("a job was enqueued while a {status} job held its unique_key"),
                    UNIQUE_FIX,
                );
            }
        }
    };
    // Running and retrying hold the key.
    let lease = Uuid::now_v7();
    claim_only(&store, &first, at(10, 0), lease, C).await;
    refused("running").await;
    if !fail(
        &store,
        first.id,
        lease,
        "421 busy",
        Some(at(20, 0)),
        at(11, 0),
    )
    .await
    {
        broken(C, "fail_job by the lease holder returned false", FAIL_FIX);
    }
    refused("retrying").await;
    let lease = Uuid::now_v7();
    claim_only(&store, &first, at(20, 0), lease, C).await;
    if !complete(&store, first.id, lease, at(21, 0), true).await {
        broken(
            C,
            "complete_job by the lease holder returned false",
            COMPLETE_FIX,
        );
    }

    // Done frees the key; so does dead; the finished jobs keep their key.
    let second = NewJob::new("maintenance", "prune", at(22, 0)).unique_key(KEY);
    if !enqueue(&store, &second).await {
        broken(
            C,
            "a job was refused although the job holding its unique_key is done",
            UNIQUE_FIX,
        );
    }
    let lease = Uuid::now_v7();
    claim_only(&store, &second, at(30, 0), lease, C).await;
    if !fail(&store, second.id, lease, "550 no", None, at(31, 0)).await {
        broken(C, "fail_job by the lease holder returned false", FAIL_FIX);
    }
    let third = NewJob::new("maintenance", "prune", at(32, 0)).unique_key(KEY);
    if !enqueue(&store, &third).await {
        broken(
            C,
            "a job was refused although the job holding its unique_key is dead",
            UNIQUE_FIX,
        );
    }
    refused("queued").await;
    let keyed = list(&store, &JobFilter::queue("maintenance"), 100).await;
    check_eq(
        keyed.len(),
        3,
        C,
        "keep finished jobs with their unique_key: the unique index covers unfinished jobs only",
    );
}

/// `claim_jobs` takes only runnable jobs of its queue (`queued` or `retrying` with `run_at <=
/// now`), the oldest `run_at` first, at most `limit`; it sets `running`, the lease, the lock
/// and one more attempt, and leaves everything else as it was. `done`, `dead`, future and
/// other queues' jobs are never taken.
pub async fn claim_due_only_and_in_order<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::claim_jobs takes runnable jobs of the queue, oldest run_at first";
    // A done, a dead and a retrying job.
    let old = [
        NewJob::new("mail", "done", whole(-10, 0)).payload("p"),
        NewJob::new("mail", "dead", whole(-10, 0)).run_at(whole(-10, 1)),
        NewJob::new("mail", "r1", whole(-10, 0)).run_at(whole(-10, 2)),
    ];
    for job in &old {
        enqueued(&store, job, C).await;
    }
    let lease = Uuid::now_v7();
    let claimed = claim(&store, "mail", whole(-10, 2), whole(50, 0), lease, 10).await;
    check_claimed(&claimed, &[&old[0], &old[1], &old[2]], whole(-10, 2), C);
    let finish = [
        complete(&store, old[0].id, lease, whole(-9, 0), false).await,
        fail(&store, old[1].id, lease, "550", None, whole(-9, 0)).await,
        fail(
            &store,
            old[2].id,
            lease,
            "421",
            Some(whole(99, 500_000)),
            whole(-9, 0),
        )
        .await,
    ];
    if finish.contains(&false) {
        broken(
            C,
            "the lease holder could not complete or fail its job",
            COMPLETE_FIX,
        );
    }

    let now = whole(100, 0);
    let q1 = NewJob::new("mail", "q1", whole(0, 0)).run_at(now);
    let q2 = NewJob::new("mail", "q2", whole(0, 0)).run_at(whole(99, 999_999));
    let q3 = NewJob::new("mail", "q3", whole(0, 0)).run_at(whole(99, 100_000));
    let q4 = NewJob::new("mail", "q4", whole(0, 0)).run_at(whole(99, 150_000));
    let q5 = NewJob::new("mail", "q5", whole(0, 0)).run_at(in_zone(whole(50, 0), 9));
    let f1 = NewJob::new("mail", "f1", whole(0, 0)).run_at(whole(100, 1));
    let f2 = NewJob::new("mail", "f2", whole(0, 0)).run_at(whole(100, 500_000));
    let o1 = NewJob::new("other", "o1", whole(0, 0));
    let fresh = [&q1, &f2, &q2, &o1, &q3, &f1, &q4, &q5];
    let mut tx = store.begin().await.must("begin");
    for job in fresh {
        if !tx.enqueue_job(job).await.must("enqueue_job") {
            broken(C, "enqueue_job of a new job returned false", ENQUEUE_FIX);
        }
    }
    commit(tx).await;
    let mut before = BTreeMap::new();
    for id in old.iter().chain(fresh).map(|j| j.id) {
        before.insert(id, read(&store, id, C).await);
    }
    let r1 = &old[2];

    let none = claim(&store, "mail", now, whole(160, 0), Uuid::now_v7(), 0).await;
    check_claimed(
        &none,
        &[],
        now,
        "JobStore::claim_jobs claims at most `limit` jobs (none for 0)",
    );

    // Batches: the oldest run_at first, each job with its claim.
    let batches: [(u32, Vec<&NewJob>); 4] = [
        (2, vec![&q5, &q3]),
        (3, vec![&q4, r1, &q2]),
        (10, vec![&q1]),
        (10, vec![]),
    ];
    for (limit, want) in batches {
        let lease = Uuid::now_v7();
        let until = in_zone(whole(160, 0), 2);
        let got = claim(&store, "mail", in_zone(now, -5), until, lease, limit).await;
        check_claimed(&got, &want, now, C);
        for job in &got {
            let want = claimed_from(&before[&job.id], lease, until);
            check_job(job, &want, C, CLAIM_FIX);
            check_job(&read(&store, job.id, C).await, &want, C, CLAIM_FIX);
        }
    }

    // Nothing else moved: done, dead, not yet due, other queue.
    for job in [&old[0], &old[1], &f1, &f2, &o1] {
        check_job(
            &read(&store, job.id, C).await,
            &before[&job.id],
            C,
            "claim only queued or retrying jobs with run_at <= now, and running jobs whose lease \
             expired, of the given queue; leave every other row alone",
        );
    }
    let got = claim(
        &store,
        "mail",
        whole(100, 1),
        whole(160, 0),
        Uuid::now_v7(),
        10,
    )
    .await;
    check_claimed(&got, &[&f1], whole(100, 1), C);
    let got = claim(&store, "other", now, whole(160, 0), Uuid::now_v7(), 10).await;
    check_claimed(&got, &[&o1], now, C);
    // Every lease above runs until whole(160, 0): only the last future job is runnable.
    let got = claim(
        &store,
        "mail",
        whole(150, 0),
        whole(210, 0),
        Uuid::now_v7(),
        10,
    )
    .await;
    check_claimed(&got, &[&f2], whole(150, 0), C);
}

/// A `running` job whose lease ran out (`locked_until <= now`) is claimed again under a new
/// lease (one more attempt); one whose lease has not run out is not. The old lease holder can
/// then neither complete, fail nor release it.
pub async fn claim_expired_lease<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::claim_jobs takes over running jobs whose lease expired";
    let job = NewJob::new("mail", "confirm", at(0, 0)).payload("p");
    enqueued(&store, &job, C).await;
    let first = Uuid::now_v7();
    let claimed = claim(&store, "mail", at(0, 0), in_zone(at(60, 0), 3), first, 5).await;
    check_claimed(&claimed, &[&job], at(0, 0), C);
    let held = read(&store, job.id, C).await;
    check_job(
        &held,
        &claimed_from(&JobRecord::from_new(&job), first, at(60, 0)),
        C,
        CLAIM_FIX,
    );

    let early = claim(
        &store,
        "mail",
        at(59, 999_999),
        at(120, 0),
        Uuid::now_v7(),
        5,
    )
    .await;
    check_claimed(&early, &[], at(59, 999_999), C);
    check_job(
        &read(&store, job.id, C).await,
        &held,
        C,
        "take a running job only once its lease expired: status = 'running' AND locked_until <= now",
    );

    let second = Uuid::now_v7();
    let taken = claim(&store, "mail", at(60, 0), at(120, 0), second, 5).await;
    check_claimed(&taken, &[&job], at(60, 0), C);
    let want = claimed_from(&held, second, at(120, 0));
    if let Some(got) = taken.first() {
        check_job(got, &want, C, CLAIM_FIX);
    }

    const STALE: &str = "JobStore: a lease holder whose job was taken over cannot touch it";
    const STALE_FIX: &str = "complete, fail and release with WHERE id = $1 AND status = 'running' \
         AND lease = $2, and return rows_affected() == 1";
    let stale = [
        complete(&store, job.id, first, at(61, 0), true).await,
        fail(&store, job.id, first, "late", None, at(61, 0)).await,
        fail(&store, job.id, first, "late", Some(at(90, 0)), at(61, 0)).await,
        release(&store, job.id, first, at(61, 0)).await,
    ];
    if stale.contains(&true) {
        broken(
            STALE,
            format_args!(
                "complete / fail dead / fail retry / release with the expired lease answered {stale:?}"
            ),
            STALE_FIX,
        );
    }
    check_job(&read(&store, job.id, C).await, &want, STALE, STALE_FIX);
    if !complete(&store, job.id, second, at(62, 0), true).await {
        broken(
            STALE,
            "the new lease holder could not complete the job",
            COMPLETE_FIX,
        );
    }
}

/// Of [`RACERS`] transactions claiming up to 5 each from 40 jobs at once (each with its own
/// lease), no job goes to two of them; and of [`RACERS`] racing for one job, exactly one gets
/// it.
pub async fn claims_are_exclusive_under_concurrency<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::claim_jobs is exclusive under concurrency";
    const JOBS: usize = 40;
    const PER: u32 = 5;
    let mut tx = store.begin().await.must("begin");
    let mut all = BTreeSet::new();
    for i in 0..JOBS {
        let job = NewJob::new("mail", format!("job{i}"), at(0, 0)).run_at(at(0, i as i64));
        if !tx.enqueue_job(&job).await.must("enqueue_job") {
            broken(C, "enqueue_job of a new job returned false", ENQUEUE_FIX);
        }
        all.insert(job.id);
    }
    commit(tx).await;

    let results = race(&store, RACERS, move |_, mut tx: S::Tx| async move {
        let lease = Uuid::now_v7();
        let jobs = tx
            .claim_jobs("mail", at(10, 0), at(70, 0), lease, PER)
            .await?;
        tx.commit().await?;
        Ok((lease, jobs.into_iter().map(|j| j.id).collect::<Vec<_>>()))
    })
    .await;
    let mut owner: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    for result in results {
        let (lease, ids) = match result {
            Ok(got) => got,
            Err(err) => broken(
                C,
                format_args!("a racing claim failed with {err} (it must take other jobs, or none)"),
                EXCLUSIVE_FIX,
            ),
        };
        if ids.len() > PER as usize {
            broken(
                C,
                format_args!("a claim with limit {PER} returned {} jobs", ids.len()),
                CLAIM_FIX,
            );
        }
        for id in ids {
            if owner.insert(id, lease).is_some() {
                broken(
                    C,
                    format_args!("one job was claimed by two of {RACERS} concurrent transactions"),
                    EXCLUSIVE_FIX,
                );
            }
        }
    }
    // Whatever the racers left (none, with 8 racers of 5) is still claimable, once.
    let lease = Uuid::now_v7();
    for job in claim(&store, "mail", at(10, 0), at(70, 0), lease, 100).await {
        if owner.insert(job.id, lease).is_some() {
            broken(
                C,
                "a job claimed by a racing transaction, with its lease still running, was claimed again",
                CLAIM_FIX,
            );
        }
    }
    let claimed: BTreeSet<Uuid> = owner.keys().copied().collect();
    if claimed != all {
        broken(
            C,
            format_args!("{} of {JOBS} jobs were claimed in total", claimed.len()),
            EXCLUSIVE_FIX,
        );
    }
    for (id, lease) in &owner {
        let job = read(&store, *id, C).await;
        if job.status != JobStatus::Running || job.lease != Some(*lease) || job.attempts != 1 {
            broken(
                C,
                format_args!(
                    "a claimed job is {} after {} attempt(s), with {}the lease of the transaction it was returned to",
                    job.status,
                    job.attempts,
                    if job.lease == Some(*lease) {
                        ""
                    } else {
                        "not "
                    }
                ),
                EXCLUSIVE_FIX,
            );
        }
    }

    // One job, every racer after it.
    let solo = NewJob::new("solo", "only", at(0, 0));
    enqueued(&store, &solo, C).await;
    let results = race(&store, RACERS, move |_, mut tx: S::Tx| async move {
        let lease = Uuid::now_v7();
        let jobs = tx
            .claim_jobs("solo", at(10, 0), at(70, 0), lease, 1)
            .await?;
        tx.commit().await?;
        Ok((lease, jobs.len()))
    })
    .await;
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok((lease, 1)) => winners.push(lease),
            Ok((_, 0)) => {}
            Ok((_, n)) => broken(
                C,
                format_args!("a claim with limit 1 returned {n} jobs"),
                CLAIM_FIX,
            ),
            Err(err) => broken(
                C,
                format_args!("a racing claim failed with {err} (it must return no job)"),
                EXCLUSIVE_FIX,
            ),
        }
    }
    match winners.as_slice() {
        [lease] => check_eq(
            read(&store, solo.id, C).await.lease,
            Some(*lease),
            C,
            EXCLUSIVE_FIX,
        ),
        _ => broken(
            C,
            format_args!(
                "{} of {RACERS} concurrent transactions claimed the one runnable job",
                winners.len()
            ),
            EXCLUSIVE_FIX,
        ),
    }
}

/// `complete_job` changes the job only while it is `running` under the given lease: a wrong
/// lease, an unknown id or a second completion answer `false` and change nothing; the holder
/// makes it `done` at `now` with lease, lock and last error cleared, and the payload cleared
/// exactly when `scrub`.
pub async fn complete_only_by_lease_holder<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::complete_job: only the lease holder completes, once";
    let scrubbed = NewJob::new("mail", "reset_password", at(0, 0))
        .recipient("to@example.com")
        .payload("link: https://example.com/reset?t=secret")
        .unique_key("mail:reset:1");
    let kept =
        NewJob::new("dev", "magic_link", at(0, 0)).payload("link: https://example.com/m?t=x");
    let queued = NewJob::new("idle", "never_claimed", at(0, 0)).payload("p");
    for job in [&scrubbed, &kept, &queued] {
        enqueued(&store, job, C).await;
    }
    // `scrubbed` failed once before: completing clears its last error.
    let lease = Uuid::now_v7();
    claim_only(&store, &scrubbed, at(0, 0), lease, C).await;
    if !fail(
        &store,
        scrubbed.id,
        lease,
        "421 busy",
        Some(at(5, 0)),
        at(1, 0),
    )
    .await
    {
        broken(C, "fail_job by the lease holder returned false", FAIL_FIX);
    }
    let lease = Uuid::now_v7();
    let running = claim_only(&store, &scrubbed, at(5, 0), lease, C).await;
    let kept_lease = Uuid::now_v7();
    let kept_running = claim_only(&store, &kept, at(5, 0), kept_lease, C).await;
    let idle = read(&store, queued.id, C).await;

    let refused = [
        complete(&store, scrubbed.id, Uuid::now_v7(), at(6, 0), true).await,
        complete(&store, scrubbed.id, kept_lease, at(6, 0), true).await,
        complete(&store, Uuid::now_v7(), lease, at(6, 0), true).await,
        complete(&store, queued.id, Uuid::now_v7(), at(6, 0), true).await,
    ];
    if refused.contains(&true) {
        broken(
            C,
            format_args!(
                "complete_job with a wrong lease / another job's lease / an unknown id / on a queued job answered {refused:?}"
            ),
            COMPLETE_FIX,
        );
    }
    check_job(
        &read(&store, scrubbed.id, C).await,
        &running,
        C,
        COMPLETE_FIX,
    );
    check_job(&read(&store, queued.id, C).await, &idle, C, COMPLETE_FIX);

    let now = in_zone(at(6, 123_456), 7);
    if !complete(&store, scrubbed.id, lease, now, true).await {
        broken(
            C,
            "complete_job by the lease holder returned false",
            COMPLETE_FIX,
        );
    }
    let mut want = running.clone();
    want.status = JobStatus::Done;
    want.finished_at = Some(now);
    want.lease = None;
    want.locked_until = None;
    want.last_error = None;
    want.payload = None;
    let done = read(&store, scrubbed.id, C).await;
    check_job(&done, &want, C, COMPLETE_FIX);

    if !complete(&store, kept.id, kept_lease, at(7, 0), false).await {
        broken(
            C,
            "complete_job by the lease holder returned false",
            COMPLETE_FIX,
        );
    }
    let mut want_kept = kept_running.clone();
    want_kept.status = JobStatus::Done;
    want_kept.finished_at = Some(at(7, 0));
    want_kept.lease = None;
    want_kept.locked_until = None;
    check_job(&read(&store, kept.id, C).await, &want_kept, C, COMPLETE_FIX);

    // A finished job stays finished.
    let again = [
        complete(&store, scrubbed.id, lease, at(8, 0), false).await,
        fail(&store, scrubbed.id, lease, "late", None, at(8, 0)).await,
        release(&store, scrubbed.id, lease, at(8, 0)).await,
    ];
    if again.contains(&true) {
        broken(
            C,
            format_args!(
                "complete / fail / release of a done job with its old lease answered {again:?}"
            ),
            COMPLETE_FIX,
        );
    }
    check_job(&read(&store, scrubbed.id, C).await, &done, C, COMPLETE_FIX);
    let got = claim(
        &store,
        "mail",
        at(1_000, 0),
        at(1_060, 0),
        Uuid::now_v7(),
        10,
    )
    .await;
    check_claimed(&got, &[], at(1_000, 0), C);
}

/// `fail_job` with a retry time makes the job `retrying` at that time (claimable again only
/// then, the error kept, the lease cleared); without one it makes it `dead`, finished at
/// `now`, payload and error kept. A wrong lease changes nothing.
pub async fn fail_retry_and_dead<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::fail_job retries or buries the job";
    let job = NewJob::new("mail", "confirm", at(0, 0))
        .payload("the payload")
        .recipient("to@example.com");
    enqueued(&store, &job, C).await;
    let lease = Uuid::now_v7();
    let running = claim_only(&store, &job, at(0, 0), lease, C).await;

    // An error as long as the worker writes (2000 bytes and an ellipsis), with non-ASCII.
    let long_error = format!("421 4.7.0 zoë {}…", "x".repeat(1_990));
    if fail(
        &store,
        job.id,
        Uuid::now_v7(),
        "wrong",
        Some(at(9, 0)),
        at(1, 0),
    )
    .await
        || fail(&store, job.id, Uuid::now_v7(), "wrong", None, at(1, 0)).await
    {
        broken(C, "fail_job with a wrong lease answered true", FAIL_FIX);
    }
    check_job(&read(&store, job.id, C).await, &running, C, FAIL_FIX);

    let retry_at = in_zone(at(300, 250_000), 2);
    if !fail(&store, job.id, lease, &long_error, Some(retry_at), at(1, 0)).await {
        broken(C, "fail_job by the lease holder returned false", FAIL_FIX);
    }
    let mut want = running.clone();
    want.status = JobStatus::Retrying;
    want.run_at = retry_at;
    want.last_error = Some(long_error.clone());
    want.lease = None;
    want.locked_until = None;
    let retrying = read(&store, job.id, C).await;
    check_job(&retrying, &want, C, FAIL_FIX);
    if fail(&store, job.id, lease, "again", None, at(2, 0)).await {
        broken(
            C,
            "fail_job on a job no longer running answered true",
            FAIL_FIX,
        );
    }
    check_job(&read(&store, job.id, C).await, &retrying, C, FAIL_FIX);

    let early = claim(
        &store,
        "mail",
        at(300, 249_999),
        at(400, 0),
        Uuid::now_v7(),
        10,
    )
    .await;
    check_claimed(&early, &[], at(300, 249_999), C);
    let lease = Uuid::now_v7();
    let again = claim(&store, "mail", at(300, 250_000), at(400, 0), lease, 10).await;
    check_claimed(&again, &[&job], at(300, 250_000), C);
    let want = claimed_from(&retrying, lease, at(400, 0));
    check_job(
        &read(&store, job.id, C).await,
        &want,
        C,
        "a claim keeps last_error (release_job and operators need it): SET only status, lease, \
         locked_until and attempts",
    );

    let error = "550 5.1.1 <zoë@exämple.com>: Recipient address rejected\nsecond line";
    let now = in_zone(at(301, 1), -4);
    if !fail(&store, job.id, lease, error, None, now).await {
        broken(C, "fail_job by the lease holder returned false", FAIL_FIX);
    }
    let dead = read(&store, job.id, C).await;
    let mut want = want;
    want.status = JobStatus::Dead;
    want.finished_at = Some(now);
    want.last_error = Some(error.to_owned());
    want.lease = None;
    want.locked_until = None;
    // Where run_at goes for a dead job is the store's business.
    want.run_at = dead.run_at;
    check_job(&dead, &want, C, FAIL_FIX);
    let never = claim(
        &store,
        "mail",
        at(100_000, 0),
        at(100_060, 0),
        Uuid::now_v7(),
        10,
    )
    .await;
    check_claimed(&never, &[], at(100_000, 0), C);
}

/// `release_job` gives a claim back without counting it: `queued` if the job never failed,
/// else `retrying`, `attempts` one lower, runnable at `now`, lease and lock cleared. A wrong
/// lease changes nothing.
pub async fn release_job<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::release_job gives a claim back";
    let fresh = NewJob::new("mail", "confirm", at(0, 0)).payload("p");
    let failed = NewJob::new("retry", "reset_password", at(0, 0)).payload("p");
    for job in [&fresh, &failed] {
        enqueued(&store, job, C).await;
    }
    let lease = Uuid::now_v7();
    let running = claim_only(&store, &fresh, at(0, 0), lease, C).await;
    if release(&store, fresh.id, Uuid::now_v7(), at(10, 500)).await {
        broken(
            C,
            "release_job with a wrong lease answered true",
            RELEASE_FIX,
        );
    }
    check_job(&read(&store, fresh.id, C).await, &running, C, RELEASE_FIX);
    let now = in_zone(at(10, 500), -2);
    if !release(&store, fresh.id, lease, now).await {
        broken(
            C,
            "release_job by the lease holder returned false",
            RELEASE_FIX,
        );
    }
    let mut want = running.clone();
    want.status = JobStatus::Queued;
    want.attempts = 0;
    want.run_at = now;
    want.lease = None;
    want.locked_until = None;
    check_job(&read(&store, fresh.id, C).await, &want, C, RELEASE_FIX);
    if release(&store, fresh.id, lease, now).await {
        broken(C, "releasing a released job answered true", RELEASE_FIX);
    }
    let early = claim(&store, "mail", at(10, 499), at(70, 0), Uuid::now_v7(), 10).await;
    check_claimed(&early, &[], at(10, 499), C);
    let again = claim(&store, "mail", at(10, 500), at(70, 0), Uuid::now_v7(), 10).await;
    check_claimed(&again, &[&fresh], at(10, 500), C);
    if let Some(job) = again.first() {
        check_eq(job.attempts, 1, C, RELEASE_FIX);
    }

    // A job that failed before goes back to retrying, its error kept.
    let lease = Uuid::now_v7();
    claim_only(&store, &failed, at(0, 0), lease, C).await;
    if !fail(
        &store,
        failed.id,
        lease,
        "421 busy",
        Some(at(20, 0)),
        at(1, 0),
    )
    .await
    {
        broken(C, "fail_job by the lease holder returned false", FAIL_FIX);
    }
    let lease = Uuid::now_v7();
    let running = claim_only(&store, &failed, at(20, 0), lease, C).await;
    check_eq(running.attempts, 2, C, CLAIM_FIX);
    if !release(&store, failed.id, lease, at(21, 0)).await {
        broken(
            C,
            "release_job by the lease holder returned false",
            RELEASE_FIX,
        );
    }
    let mut want = running;
    want.status = JobStatus::Retrying;
    want.attempts = 1;
    want.run_at = at(21, 0);
    want.lease = None;
    want.locked_until = None;
    check_job(&read(&store, failed.id, C).await, &want, C, RELEASE_FIX);
}

/// An operator's `retry_job`: a `dead` or `retrying` job becomes `queued` at `now` with no
/// attempts and no `finished_at` (last error and payload kept); any other status, or an
/// unknown id, answers `false` and changes nothing.
pub async fn retry_job<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::retry_job requeues dead and retrying jobs only";
    let dead = NewJob::new("r-dead", "confirm", at(0, 0)).payload("p");
    let retrying = NewJob::new("r-retrying", "confirm", at(0, 0)).payload("p");
    let done = NewJob::new("r-done", "confirm", at(0, 0)).payload("p");
    let queued = NewJob::new("r-queued", "confirm", at(0, 0)).run_at(at(7_200, 0));
    let running = NewJob::new("r-running", "confirm", at(0, 0));
    for job in [&dead, &retrying, &done, &queued, &running] {
        enqueued(&store, job, C).await;
    }
    let lease = Uuid::now_v7();
    for job in [&dead, &retrying, &done, &running] {
        claim_only(&store, job, at(0, 0), lease, C).await;
    }
    let recorded = [
        fail(&store, dead.id, lease, "550 no such user", None, at(1, 0)).await,
        fail(
            &store,
            retrying.id,
            lease,
            "421 busy",
            Some(at(3_600, 0)),
            at(1, 0),
        )
        .await,
        complete(&store, done.id, lease, at(1, 0), false).await,
    ];
    if recorded.contains(&false) {
        broken(
            C,
            "the lease holder could not complete or fail its job",
            FAIL_FIX,
        );
    }
    let mut before = BTreeMap::new();
    for job in [&dead, &retrying, &done, &queued, &running] {
        before.insert(job.id, read(&store, job.id, C).await);
    }

    let now = in_zone(at(500, 7), 1);
    let mut tx = store.begin().await.must("begin");
    let mut answers = Vec::new();
    for id in [
        dead.id,
        retrying.id,
        done.id,
        queued.id,
        running.id,
        Uuid::now_v7(),
    ] {
        answers.push(tx.retry_job(id, now).await.must("retry_job"));
    }
    commit(tx).await;
    check_eq(
        answers,
        vec![true, true, false, false, false, false],
        "JobStore::retry_job answers for dead, retrying, done, queued, running, unknown",
        RETRY_FIX,
    );
    for job in [&dead, &retrying] {
        let mut want = before[&job.id].clone();
        want.status = JobStatus::Queued;
        want.attempts = 0;
        want.run_at = now;
        want.finished_at = None;
        check_job(&read(&store, job.id, C).await, &want, C, RETRY_FIX);
    }
    for job in [&done, &queued, &running] {
        check_job(
            &read(&store, job.id, C).await,
            &before[&job.id],
            C,
            RETRY_FIX,
        );
    }
    let early = claim(&store, "r-dead", at(500, 6), at(560, 0), Uuid::now_v7(), 10).await;
    check_claimed(&early, &[], at(500, 6), C);
    let lease = Uuid::now_v7();
    let got = claim(&store, "r-dead", at(500, 7), at(560, 0), lease, 10).await;
    check_claimed(&got, &[&dead], at(500, 7), C);
    if let Some(job) = got.first() {
        check_eq(job.attempts, 1, C, RETRY_FIX);
    }

    // A dead periodic job whose unique key a newer unfinished job holds stays dead: requeueing
    // it would make two unfinished jobs with one key (on PostgreSQL the partial unique index
    // would abort the transaction).
    const K: &str = "JobStore::retry_job leaves a dead job dead while its unique key is taken";
    let old = NewJob::new("r-key", "prune", at(0, 0)).unique_key("r-key:prune");
    enqueued(&store, &old, K).await;
    let lease = Uuid::now_v7();
    claim_only(&store, &old, at(0, 0), lease, K).await;
    if !fail(&store, old.id, lease, "boom", None, at(1, 0)).await {
        broken(K, "the lease holder could not fail its job", FAIL_FIX);
    }
    let newer = NewJob::new("r-key", "prune", at(2, 0)).unique_key("r-key:prune");
    enqueued(&store, &newer, K).await;
    let mut tx = store.begin().await.must("begin");
    let answer = tx.retry_job(old.id, at(3, 0)).await.must("retry_job");
    commit(tx).await;
    check_eq(answer, false, K, RETRY_FIX);
    check_eq(
        read(&store, old.id, K).await.status,
        JobStatus::Dead,
        K,
        RETRY_FIX,
    );
}

/// `prune_jobs(done_before, dead_before)` deletes `done` jobs finished strictly before
/// `done_before` and `dead` jobs finished strictly before `dead_before` (each status its own
/// cut-off, sub-second and time-zone differences included), keeps every unfinished job however
/// old, and counts what it deleted.
pub async fn prune_jobs<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "JobStore::prune_jobs deletes finished jobs past their retention";
    let done_before = whole(1_000, 0);
    let dead_before = whole(0, 0);
    let long_ago = whole(-20_000, 0);
    // (finished as done?, finished at, pruned?)
    let finished = [
        (true, whole(999, 999_999), true),
        (true, whole(1_000, 0), false),
        (true, whole(-5, 0), true),
        (true, in_zone(whole(1_000, 1), 3), false),
        (true, whole(999, 150_000), true),
        (true, whole(500, 0), true),
        (false, whole(-1, 999_999), true),
        (false, whole(0, 0), false),
        (false, whole(500, 0), false),
        (false, in_zone(whole(-100, 100_000), -8), true),
        (false, whole(0, 100_000), false),
    ];
    let mut jobs = Vec::new();
    for (i, (is_done, when, pruned)) in finished.iter().enumerate() {
        let job = NewJob::new(format!("p{i}"), "k", long_ago).payload("p");
        enqueued(&store, &job, C).await;
        let lease = Uuid::now_v7();
        claim_only(&store, &job, long_ago, lease, C).await;
        let ok = if *is_done {
            complete(&store, job.id, lease, *when, false).await
        } else {
            fail(&store, job.id, lease, "550", None, *when).await
        };
        if !ok {
            broken(
                C,
                "the lease holder could not complete or fail its job",
                FAIL_FIX,
            );
        }
        let status = if *is_done { "done" } else { "dead" };
        jobs.push((job.id, format!("the {status} job finished {when}"), *pruned));
    }
    // Unfinished jobs, however old, stay.
    let queued = NewJob::new("u-queued", "k", long_ago);
    let retrying = NewJob::new("u-retrying", "k", long_ago);
    let running = NewJob::new("u-running", "k", long_ago);
    for job in [&queued, &retrying, &running] {
        enqueued(&store, job, C).await;
    }
    let lease = Uuid::now_v7();
    claim_only(&store, &retrying, long_ago, lease, C).await;
    if !fail(
        &store,
        retrying.id,
        lease,
        "421",
        Some(whole(-19_000, 0)),
        long_ago,
    )
    .await
    {
        broken(C, "fail_job by the lease holder returned false", FAIL_FIX);
    }
    claim_only(&store, &running, long_ago, Uuid::now_v7(), C).await;
    for (job, status) in [
        (&queued, "queued"),
        (&retrying, "retrying"),
        (&running, "running"),
    ] {
        jobs.push((job.id, format!("the old {status} job"), false));
    }

    let mut tx = store.begin().await.must("begin");
    let n = tx
        .prune_jobs(in_zone(done_before, -2), dead_before)
        .await
        .must("prune_jobs");
    commit(tx).await;
    check_eq(
        n,
        finished.iter().filter(|(_, _, pruned)| *pruned).count() as u64,
        C,
        PRUNE_FIX,
    );
    for (id, what, pruned) in &jobs {
        let still = exists(&store, *id).await;
        if still == *pruned {
            broken(
                C,
                format_args!(
                    "{what} is {} after pruning done jobs before {done_before} and dead jobs before {dead_before}",
                    if still { "still there" } else { "gone" }
                ),
                PRUNE_FIX,
            );
        }
    }
    let mut tx = store.begin().await.must("begin");
    let again = tx
        .prune_jobs(done_before, dead_before)
        .await
        .must("prune_jobs");
    check_eq(again, 0, C, PRUNE_FIX);
}
