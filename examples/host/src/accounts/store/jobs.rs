//! The `jobs` table: the outbox. A flow writes its notices here in its own transaction, and
//! the job worker ([`crate::app::worker`]) claims, runs and records them. Ids are UUID v7
//! chosen by sigra-core, whatever key type the other tables use.

use sigra_core::store::{JobFilter, JobRecord, JobStatus, JobStore, NewJob, StoreError};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AccountsTx, backend, corrupt, is_unique_violation};
use crate::db::{DbRow, timestamp};

/// A job whose `unique_key` an unfinished job holds is not inserted (the conflict target is
/// the partial unique index `jobs_unique_key`); nothing fails, so the transaction goes on.
const ENQUEUE_JOB: &str = "
    INSERT INTO jobs (id, queue, kind, recipient, payload, unique_key, status, attempts, run_at,
                      created_at)
    VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8)
    ON CONFLICT (unique_key) WHERE status IN ('queued', 'running', 'retrying') DO NOTHING";

/// One statement: due jobs (and running ones whose lease ran out) become this lease's.
/// Two workers never claim the same job: a write transaction holds SQLite's write lock from
/// its `BEGIN IMMEDIATE`.
const CLAIM_JOBS: &str = "
    UPDATE jobs
    SET status = 'running', locked_until = $3, lease = $4, attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM jobs
        WHERE queue = $1
          AND ((status IN ('queued', 'retrying') AND run_at <= $2)
               OR (status = 'running' AND locked_until <= $2))
        ORDER BY run_at, id
        LIMIT $5
    )
    RETURNING id, queue, kind, recipient, payload, unique_key, status, attempts, run_at,
              locked_until, lease, last_error, created_at, finished_at";

/// Only the lease holder finishes a job. `$4` scrubs the payload.
const COMPLETE_JOB: &str = "
    UPDATE jobs
    SET status = 'done', finished_at = $3, locked_until = NULL, lease = NULL, last_error = NULL,
        payload = CASE WHEN $4 THEN NULL ELSE payload END
    WHERE id = $1 AND status = 'running' AND lease = $2";

/// A failed attempt with a next try at `$4`.
const MARK_JOB_RETRYING: &str = "
    UPDATE jobs
    SET status = 'retrying', run_at = $4, last_error = $3, locked_until = NULL, lease = NULL
    WHERE id = $1 AND status = 'running' AND lease = $2";

/// A failed attempt that is the last one: the payload stays, for an operator's retry.
const MARK_JOB_DEAD: &str = "
    UPDATE jobs
    SET status = 'dead', finished_at = $4, last_error = $3, locked_until = NULL, lease = NULL
    WHERE id = $1 AND status = 'running' AND lease = $2";

/// A claim given back unused: the attempt does not count.
const RELEASE_JOB: &str = "
    UPDATE jobs
    SET status = CASE WHEN last_error IS NULL THEN 'queued' ELSE 'retrying' END,
        run_at = $3, attempts = attempts - 1, locked_until = NULL, lease = NULL
    WHERE id = $1 AND status = 'running' AND lease = $2";

const JOB_BY_ID: &str = "
    SELECT id, queue, kind, recipient, payload, unique_key, status, attempts, run_at,
           locked_until, lease, last_error, created_at, finished_at
    FROM jobs
    WHERE id = $1";

/// A NULL `$1` or `$2` does not filter.
const LIST_JOBS: &str = "
    SELECT id, queue, kind, recipient, payload, unique_key, status, attempts, run_at,
           locked_until, lease, last_error, created_at, finished_at
    FROM jobs
    WHERE ($1 IS NULL OR queue = $1) AND ($2 IS NULL OR status = $2)
    ORDER BY created_at DESC, id DESC
    LIMIT $3";

/// An operator's retry. A job whose `unique_key` another unfinished job holds now (a periodic
/// job that died and was scheduled again) is left dead: the other one runs instead.
const RETRY_JOB: &str = "
    UPDATE jobs
    SET status = 'queued', run_at = $2, attempts = 0, finished_at = NULL
    WHERE id = $1
      AND status IN ('dead', 'retrying')
      AND NOT EXISTS (
          SELECT 1 FROM jobs AS other
          WHERE other.unique_key = jobs.unique_key
            AND other.id <> jobs.id
            AND other.status IN ('queued', 'running', 'retrying'))";

const PRUNE_JOBS: &str = "
    DELETE FROM jobs
    WHERE (status = 'done' AND finished_at < $1) OR (status = 'dead' AND finished_at < $2)";

fn job_from_row(row: &DbRow) -> Result<JobRecord, StoreError> {
    let status: String = row.try_get("status").map_err(corrupt)?;
    let attempts: i32 = row.try_get("attempts").map_err(corrupt)?;
    let queue: String = row.try_get("queue").map_err(corrupt)?;
    let kind: String = row.try_get("kind").map_err(corrupt)?;
    let created_at: OffsetDateTime = row.try_get("created_at").map_err(corrupt)?;
    // A record starts as the one for a new job; the row fills in the rest.
    let mut job = JobRecord::from_new(&NewJob::new(queue, kind, created_at));
    job.id = row.try_get("id").map_err(corrupt)?;
    job.recipient = row.try_get("recipient").map_err(corrupt)?;
    job.payload = row.try_get("payload").map_err(corrupt)?;
    job.unique_key = row.try_get("unique_key").map_err(corrupt)?;
    job.status = JobStatus::parse(&status)
        .ok_or_else(|| corrupt(format!("unknown job status {status:?}")))?;
    job.attempts = u32::try_from(attempts)
        .map_err(|_| corrupt(format!("negative job attempts {attempts}")))?;
    job.run_at = row.try_get("run_at").map_err(corrupt)?;
    job.locked_until = row.try_get("locked_until").map_err(corrupt)?;
    job.lease = row.try_get("lease").map_err(corrupt)?;
    job.last_error = row.try_get("last_error").map_err(corrupt)?;
    job.finished_at = row.try_get("finished_at").map_err(corrupt)?;
    Ok(job)
}

impl JobStore for AccountsTx {
    async fn enqueue_job(&mut self, job: &NewJob) -> Result<bool, StoreError> {
        let done = sqlx::query(ENQUEUE_JOB)
            .bind(job.id)
            .bind(&job.queue)
            .bind(&job.kind)
            .bind(&job.recipient)
            .bind(&job.payload)
            .bind(&job.unique_key)
            .bind(timestamp(job.run_at))
            .bind(timestamp(job.created_at))
            .execute(&mut *self.tx)
            .await
            .map_err(|err| {
                if is_unique_violation(&err) {
                    StoreError::Conflict { what: "jobs.id" }
                } else {
                    backend(err)
                }
            })?;
        Ok(done.rows_affected() > 0)
    }

    async fn claim_jobs(
        &mut self,
        queue: &str,
        now: OffsetDateTime,
        locked_until: OffsetDateTime,
        lease: Uuid,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(CLAIM_JOBS)
            .bind(queue)
            .bind(timestamp(now))
            .bind(timestamp(locked_until))
            .bind(lease)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives rows in no particular order.
        jobs.sort_by_key(|job| (job.run_at, job.id));
        Ok(jobs)
    }

    async fn complete_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
        scrub: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(COMPLETE_JOB)
            .bind(id)
            .bind(lease)
            .bind(timestamp(now))
            .bind(scrub)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn fail_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (statement, at) = match retry_at {
            Some(retry_at) => (MARK_JOB_RETRYING, retry_at),
            None => (MARK_JOB_DEAD, now),
        };
        let done = sqlx::query(statement)
            .bind(id)
            .bind(lease)
            .bind(error)
            .bind(timestamp(at))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn release_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RELEASE_JOB)
            .bind(id)
            .bind(lease)
            .bind(timestamp(now))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn job_by_id(&mut self, id: Uuid) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(JOB_BY_ID)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn list_jobs(
        &mut self,
        filter: &JobFilter,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(LIST_JOBS)
            .bind(&filter.queue)
            .bind(filter.status.map(JobStatus::as_str))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn retry_job(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query(RETRY_JOB)
            .bind(id)
            .bind(timestamp(now))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn prune_jobs(
        &mut self,
        done_before: OffsetDateTime,
        dead_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(PRUNE_JOBS)
            .bind(timestamp(done_before))
            .bind(timestamp(dead_before))
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
