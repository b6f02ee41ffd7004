//! The outbox as people see it: the mail jobs of the `jobs` table, for the dev mailbox, the
//! operators' commands (`cargo run -- outbox list`, `outbox retry <ID>`, `outbox retry-dead`)
//! and the tests.

use sigra_core::jobs::MAIL_QUEUE;
use sigra_core::store::{
    JobFilter, JobRecord, JobStatus, JobStore, Store, StoreError, Transaction,
};
use uuid::Uuid;

use crate::accounts::Accounts;

/// How many dead mails [`retry_dead`] requeues per transaction.
const RETRY_BATCH: u32 = 500;

/// The jobs matching `filter`, newest first, at most `limit` of them. The dev mailbox and
/// `outbox list` pass `JobFilter::queue(MAIL_QUEUE)`.
pub async fn list(
    accounts: &Accounts,
    filter: &JobFilter,
    limit: u32,
) -> Result<Vec<JobRecord>, StoreError> {
    let mut tx = accounts.store().begin_read().await?;
    let jobs = tx.list_jobs(filter, limit).await?;
    tx.commit().await?;
    Ok(jobs)
}

/// The mail job with the id `id` (as shown, such as `0193…-…`). An id that is not a UUID, or
/// the id of a job of another queue, is `None`: ids come from URLs and command lines.
pub async fn get(accounts: &Accounts, id: &str) -> Result<Option<JobRecord>, StoreError> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    let mut tx = accounts.store().begin_read().await?;
    let job = tx.job_by_id(id).await?;
    tx.commit().await?;
    Ok(job.filter(|job| job.queue == MAIL_QUEUE))
}

/// Sends the dead or retrying mail job `id` again now, with a fresh count of attempts.
/// `false` when there is no such mail job, or it is queued, sending or sent.
pub async fn retry(accounts: &Accounts, id: Uuid) -> Result<bool, StoreError> {
    let mut tx = accounts.store().begin().await?;
    let is_mail = tx
        .job_by_id(id)
        .await?
        .is_some_and(|job| job.queue == MAIL_QUEUE);
    let retried = is_mail && tx.retry_job(id, accounts.now()).await?;
    tx.commit().await?;
    if retried {
        accounts.job_signal().notify();
    }
    Ok(retried)
}

/// Sends every dead mail again now; returns how many.
pub async fn retry_dead(accounts: &Accounts) -> Result<u64, StoreError> {
    let dead = JobFilter::queue(MAIL_QUEUE).status(JobStatus::Dead);
    let mut retried = 0;
    loop {
        let mut tx = accounts.store().begin().await?;
        let jobs = tx.list_jobs(&dead, RETRY_BATCH).await?;
        let mut batch = 0;
        for job in &jobs {
            if tx.retry_job(job.id, accounts.now()).await? {
                batch += 1;
            }
        }
        tx.commit().await?;
        retried += batch;
        // A batch that requeued nothing would come back the same: stop there.
        if jobs.len() < RETRY_BATCH as usize || batch == 0 {
            break;
        }
    }
    if retried > 0 {
        accounts.job_signal().notify();
    }
    Ok(retried)
}

/// Where a mail stands, in words for people: `queued`, `sending`, `retrying`, `sent` or
/// `dead`.
pub fn status_label(job: &JobRecord) -> &'static str {
    match job.status {
        JobStatus::Queued => "queued",
        JobStatus::Running => "sending",
        JobStatus::Retrying => "retrying",
        JobStatus::Done => "sent",
        JobStatus::Dead => "dead",
    }
}
