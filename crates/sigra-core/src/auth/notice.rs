//! The notice port: every mail a flow causes is enqueued in the flow's own transaction.
//!
//! A flow never hands a mail back to the app. When a change needs its owner told (a
//! confirmation link, a lockout, a login from a new address), the flow writes an
//! [`AuthMail`] into the outbox (the [`JobStore`], queue [`MAIL_QUEUE`]) inside the same
//! transaction as the change and its audit row: the three commit together or not at all, and
//! a handler cannot forget to send it. The app's job worker delivers it later (rendering the
//! app's own templates then), retrying while the mail server is away.
//!
//! The payload holds live link tokens, so it is stored encrypted (AES-256-GCM under a key
//! derived from the secret key base, bound to the job's id): a copy of the `jobs` table does
//! not reveal working reset links, and the worker scrubs the payload once the mail is sent.

use uuid::Uuid;

use super::{AuthError, AuthMail, Sigra, internal};
use crate::encryption::{EncryptionKey, Keyring};
use crate::jobs::{JobError, JobSignal, MAIL_QUEUE};
use crate::keys::SecretKeyBase;
use crate::store::{
    AuditEvent, AuditStore as _, JobRecord, JobStore, NewJob, Store, Transaction as _,
};

/// Why [`Sigra::open_notice`] could not read a job as a notice.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeError {
    /// The job is not in the mail queue.
    #[error("job {id} is not a mail (queue {queue})")]
    NotAMail {
        /// The job.
        id: Uuid,
        /// Its queue.
        queue: String,
    },
    /// The payload was scrubbed after delivery.
    #[error("the mail was delivered and its content deleted")]
    Scrubbed,
    /// The payload cannot be decrypted or read: it was written under another secret key base
    /// (a dev-mode restart, a rotated key base) or altered.
    #[error("the mail's content cannot be read (written under another secret key base?)")]
    Unreadable,
}

impl From<NoticeError> for JobError {
    fn from(err: NoticeError) -> Self {
        JobError::permanent(err)
    }
}

pub(super) fn notice_keyring(secret: &SecretKeyBase) -> Result<Keyring, AuthError> {
    let key = secret.derive("sigra/notice-payload").map_err(internal)?;
    Keyring::new([EncryptionKey::new(0, *key.as_bytes())]).map_err(internal)
}

fn context(id: Uuid) -> String {
    format!("sigra/job:{id}")
}

impl<S: Store> Sigra<S> {
    /// Ends a flow that changed the user's security: its audit row and its notice commit with
    /// the change (or none of them does), then the worker is woken to send the notice.
    pub(super) async fn commit_with_notice(
        &self,
        mut tx: S::Tx,
        event: &AuditEvent,
        notice: &AuthMail,
    ) -> Result<(), AuthError> {
        tx.insert_audit_event(event).await?;
        self.enqueue_notice(&mut tx, notice).await?;
        tx.commit().await?;
        self.notices_committed();
        Ok(())
    }

    /// Enqueues `notice` in `tx`: it is delivered only if `tx` commits. Call
    /// [`notices_committed`](Self::notices_committed) after the commit.
    pub(super) async fn enqueue_notice<T: JobStore + Send>(
        &self,
        tx: &mut T,
        notice: &AuthMail,
    ) -> Result<(), AuthError> {
        let mut job = NewJob::new(MAIL_QUEUE, notice.kind(), self.now()).recipient(notice.to());
        let json = serde_json::to_vec(notice).map_err(internal)?;
        let sealed = self
            .inner
            .keys
            .notices
            .encrypt_to_string(&json, &context(job.id))
            .map_err(internal)?;
        job.payload = Some(sealed);
        tx.enqueue_job(&job).await?;
        Ok(())
    }

    /// Wakes this process's job worker after a transaction that enqueued notices committed.
    pub(super) fn notices_committed(&self) {
        self.inner.job_signal.notify();
    }

    /// The signal every flow notifies after committing a notice: give it to the app's
    /// [`Worker`](crate::jobs::Worker) so mail leaves at once rather than at the next poll.
    ///
    /// ```ignore
    /// let worker = Worker::new(store, settings).wake_on(sigra.job_signal());
    /// ```
    pub fn job_signal(&self) -> JobSignal {
        self.inner.job_signal.clone()
    }

    /// Reads the notice a mail job carries (for the worker that delivers it, the dev mailbox
    /// and the operators' commands).
    ///
    /// Errors: [`NoticeError::NotAMail`], [`NoticeError::Scrubbed`] (delivered),
    /// [`NoticeError::Unreadable`].
    ///
    /// ```ignore
    /// let notice = sigra.open_notice(&job)?;
    /// let mail = render(&notice)?;
    /// ```
    pub fn open_notice(&self, job: &JobRecord) -> Result<AuthMail, NoticeError> {
        if job.queue != MAIL_QUEUE {
            return Err(NoticeError::NotAMail {
                id: job.id,
                queue: job.queue.clone(),
            });
        }
        let sealed = job.payload.as_deref().ok_or(NoticeError::Scrubbed)?;
        let plain = self
            .inner
            .keys
            .notices
            .decrypt_str(sealed, &context(job.id))
            .map_err(|_| NoticeError::Unreadable)?;
        serde_json::from_slice(plain.as_bytes()).map_err(|_| NoticeError::Unreadable)
    }
}
