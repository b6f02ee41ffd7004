//! An in-memory store that keeps every store contract, for tests.
//!
//! Transactions are serialised (one at a time, like SQLite's `BEGIN IMMEDIATE`): `begin`
//! waits for the previous transaction to end, works on a copy of the tables, and `commit`
//! installs the copy. Dropping a transaction discards it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use time::{OffsetDateTime, UtcOffset};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::store::{
    AuditEvent, AuditStore, EmailTokenContext, EmailTokenRecord, EmailTokenStore, Id, IpHistory,
    JobFilter, JobRecord, JobStatus, JobStore, NewEmailToken, NewJob, NewPasskey, NewSession,
    NewUser, PasskeyRecord, PasskeyStore, RateLimitStore, SessionKind, SessionRecord, SessionStore,
    Store, StoreError, Transaction, UserRecord, UserStore, WebauthnChallengeRecord,
    WebauthnChallengeStore,
};
use crate::token::TokenDigest;

mod mfa;

#[derive(Clone, Default)]
struct Tables {
    users: Vec<UserRecord>,
    sessions: Vec<SessionRecord>,
    email_tokens: Vec<EmailTokenRecord>,
    audit: Vec<AuditEvent>,
    rate_limits: BTreeMap<(String, OffsetDateTime), u32>,
    jobs: Vec<JobRecord>,
    passkeys: Vec<PasskeyRecord>,
    webauthn_challenges: Vec<WebauthnChallengeRecord>,
    mfa: Vec<crate::store::MfaCredentialRecord>,
    backup_codes: Vec<mfa::BackupCodeRow>,
    next_int: i64,
}

/// An in-memory [`Store`] that keeps every contract the conformance suite checks.
///
/// Cheap to clone (clones share the data). Use [`MemoryStore::new`] for UUID v7 keys (the
/// default schema) or [`MemoryStore::with_integer_ids`] for database-assigned integer keys.
///
/// ```
/// use sigra_core::store::{NewUser, Store, Transaction, UserStore};
/// use sigra_core::testing::MemoryStore;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let mut tx = store.begin().await?;
/// let user = tx
///     .insert_user(&NewUser::new(store.new_id(), "a@example.com".into(), None, time::OffsetDateTime::now_utc()))
///     .await?;
/// tx.commit().await?;
/// let mut tx = store.begin().await?;
/// assert_eq!(tx.user_by_email("A@EXAMPLE.COM").await?.map(|u| u.id), Some(user.id));
/// # Ok::<(), sigra_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    integer_ids: bool,
}

impl MemoryStore {
    /// An empty store with UUID v7 keys chosen by sigra-core.
    ///
    /// ```
    /// use sigra_core::store::Store;
    /// assert!(sigra_core::testing::MemoryStore::new().new_id().is_some());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that assigns integer keys itself (`Store::new_id` is `None`).
    ///
    /// ```
    /// use sigra_core::store::Store;
    /// assert!(sigra_core::testing::MemoryStore::with_integer_ids().new_id().is_none());
    /// ```
    pub fn with_integer_ids() -> Self {
        Self {
            integer_ids: true,
            ..Self::default()
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("integer_ids", &self.integer_ids)
            .finish_non_exhaustive()
    }
}

impl Store for MemoryStore {
    type Tx = MemoryTx;

    async fn begin(&self) -> Result<MemoryTx, StoreError> {
        let committed = Arc::clone(&self.tables).lock_owned().await;
        let work = committed.clone();
        Ok(MemoryTx {
            committed,
            work,
            integer_ids: self.integer_ids,
        })
    }

    async fn begin_read(&self) -> Result<MemoryTx, StoreError> {
        self.begin().await
    }

    fn new_id(&self) -> Option<Id> {
        if self.integer_ids {
            None
        } else {
            Some(Id::new_v7())
        }
    }
}

/// A [`MemoryStore`] transaction: holds the store until it is committed or dropped.
pub struct MemoryTx {
    committed: OwnedMutexGuard<Tables>,
    work: Tables,
    integer_ids: bool,
}

impl fmt::Debug for MemoryTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTx").finish_non_exhaustive()
    }
}

impl MemoryTx {
    fn assign_id(&mut self, chosen: Option<Id>) -> Id {
        if self.integer_ids {
            self.work.next_int += 1;
            Id::Int(self.work.next_int)
        } else {
            chosen.unwrap_or_else(Id::new_v7)
        }
    }

    fn email_taken(&self, email: &str, except: Option<&Id>) -> bool {
        self.work
            .users
            .iter()
            .any(|u| Some(&u.id) != except && u.email.eq_ignore_ascii_case(email))
    }

    fn user_mut(&mut self, id: &Id) -> Option<&mut UserRecord> {
        self.work.users.iter_mut().find(|u| &u.id == id)
    }

    fn session_mut(&mut self, id: &Id) -> Option<&mut SessionRecord> {
        self.work.sessions.iter_mut().find(|s| &s.id == id)
    }
}

fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
}

impl Transaction for MemoryTx {
    async fn commit(mut self) -> Result<(), StoreError> {
        *self.committed = std::mem::take(&mut self.work);
        Ok(())
    }
}

impl UserStore for MemoryTx {
    async fn insert_user(&mut self, user: &NewUser) -> Result<UserRecord, StoreError> {
        if self.email_taken(&user.email, None) {
            return Err(StoreError::Conflict {
                what: "users.email",
            });
        }
        let id = self.assign_id(user.id);
        let mut record = UserRecord::new(id, user.email.clone(), utc(user.created_at));
        record.hashed_password = user.hashed_password.clone();
        record.confirmed_at = user.confirmed_at.map(utc);
        self.work.users.push(record.clone());
        Ok(record)
    }

    async fn user_by_id(&mut self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.work.users.iter().find(|u| &u.id == id).cloned())
    }

    async fn user_by_email(&mut self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .work
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned())
    }

    async fn mark_confirmed(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(user) = self.user_mut(id) {
            user.confirmed_at = user.confirmed_at.or(Some(utc(at)));
        }
        Ok(())
    }

    async fn set_password_hash(
        &mut self,
        id: &Id,
        hashed_password: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        if let Some(user) = self.user_mut(id) {
            user.hashed_password = Some(hashed_password.to_owned());
            if let Some(at) = changed_at {
                user.password_changed_at = Some(utc(at));
            }
        }
        Ok(())
    }

    async fn clear_password_hash(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(user) = self.user_mut(id) {
            user.hashed_password = None;
            user.password_changed_at = Some(utc(at));
        }
        Ok(())
    }

    async fn increment_failed_logins(&mut self, id: &Id) -> Result<u32, StoreError> {
        match self.user_mut(id) {
            Some(user) => {
                user.failed_login_attempts = user.failed_login_attempts.saturating_add(1);
                Ok(user.failed_login_attempts)
            }
            None => Err(StoreError::Backend(format!("no user with id {id}"))),
        }
    }

    async fn lock_user(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(user) = self.user_mut(id) {
            user.locked_at = Some(utc(at));
        }
        Ok(())
    }

    async fn bump_token_epoch(&mut self, id: &Id) -> Result<i64, StoreError> {
        match self.user_mut(id) {
            Some(user) => {
                user.token_epoch += 1;
                Ok(user.token_epoch)
            }
            None => Err(StoreError::Backend(format!("no user with id {id}"))),
        }
    }

    async fn clear_failed_logins(&mut self, id: &Id) -> Result<(), StoreError> {
        if let Some(user) = self.user_mut(id) {
            user.failed_login_attempts = 0;
            user.locked_at = None;
        }
        Ok(())
    }

    async fn set_email(&mut self, id: &Id, email: &str) -> Result<(), StoreError> {
        if self.email_taken(email, Some(id)) {
            return Err(StoreError::Conflict {
                what: "users.email",
            });
        }
        if let Some(user) = self.user_mut(id) {
            user.email = email.to_owned();
        }
        Ok(())
    }
}

impl SessionStore for MemoryTx {
    async fn insert_session(&mut self, session: &NewSession) -> Result<SessionRecord, StoreError> {
        if self
            .work
            .sessions
            .iter()
            .any(|s| s.token_digest == session.token_digest)
        {
            return Err(StoreError::Conflict {
                what: "sessions.token_digest",
            });
        }
        let id = self.assign_id(session.id);
        let mut record = SessionRecord::new(
            id,
            session.user_id,
            session.token_digest,
            session.kind,
            utc(session.created_at),
        );
        record.ip = session.ip.clone();
        record.user_agent = session.user_agent.clone();
        record.sudo_at = session.sudo_at.map(utc);
        self.work.sessions.push(record.clone());
        Ok(record)
    }

    async fn session_by_digest(
        &mut self,
        digest: &TokenDigest,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .work
            .sessions
            .iter()
            .find(|s| &s.token_digest == digest)
            .cloned())
    }

    async fn touch_session(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(session) = self.session_mut(id) {
            session.last_active_at = utc(at);
        }
        Ok(())
    }

    async fn set_session_sudo(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(session) = self.session_mut(id) {
            session.sudo_at = Some(utc(at));
        }
        Ok(())
    }

    async fn list_user_sessions(&mut self, user_id: &Id) -> Result<Vec<SessionRecord>, StoreError> {
        let mut list: Vec<SessionRecord> = self
            .work
            .sessions
            .iter()
            .filter(|s| &s.user_id == user_id && s.kind != SessionKind::MfaPending)
            .cloned()
            .collect();
        list.sort_by_key(|s| std::cmp::Reverse(s.last_active_at));
        Ok(list)
    }

    async fn delete_user_session(&mut self, user_id: &Id, id: &Id) -> Result<bool, StoreError> {
        let before = self.work.sessions.len();
        self.work
            .sessions
            .retain(|s| !(&s.id == id && &s.user_id == user_id));
        Ok(self.work.sessions.len() < before)
    }

    async fn delete_session_by_digest(&mut self, digest: &TokenDigest) -> Result<bool, StoreError> {
        let before = self.work.sessions.len();
        self.work.sessions.retain(|s| &s.token_digest != digest);
        Ok(self.work.sessions.len() < before)
    }

    async fn delete_user_sessions(
        &mut self,
        user_id: &Id,
        keep: Option<&Id>,
    ) -> Result<u64, StoreError> {
        let before = self.work.sessions.len();
        self.work
            .sessions
            .retain(|s| &s.user_id != user_id || Some(&s.id) == keep);
        Ok((before - self.work.sessions.len()) as u64)
    }

    async fn user_ip_history(&mut self, user_id: &Id, ip: &str) -> Result<IpHistory, StoreError> {
        let mut visible = self
            .work
            .sessions
            .iter()
            .filter(|s| &s.user_id == user_id && s.kind != SessionKind::MfaPending);
        let any_session = visible.clone().next().is_some();
        let from_ip = visible.any(|s| s.ip.as_deref() == Some(ip));
        Ok(IpHistory::from_flags(any_session, from_ip))
    }

    async fn evict_user_sessions_beyond(
        &mut self,
        user_id: &Id,
        keep: u32,
    ) -> Result<u64, StoreError> {
        let mut visible: Vec<(OffsetDateTime, OffsetDateTime, Id)> = self
            .work
            .sessions
            .iter()
            .filter(|s| &s.user_id == user_id && s.kind != SessionKind::MfaPending)
            .map(|s| (s.last_active_at, s.created_at, s.id))
            .collect();
        visible.sort_by(|a, b| b.cmp(a));
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let evicted: Vec<Id> = visible.iter().skip(keep).map(|(_, _, id)| *id).collect();
        self.work.sessions.retain(|s| !evicted.contains(&s.id));
        Ok(evicted.len() as u64)
    }

    async fn prune_sessions(
        &mut self,
        kind: SessionKind,
        created_before: OffsetDateTime,
        active_before: Option<OffsetDateTime>,
    ) -> Result<u64, StoreError> {
        let before = self.work.sessions.len();
        self.work.sessions.retain(|s| {
            s.kind != kind
                || !(s.created_at < created_before
                    || active_before.is_some_and(|a| s.last_active_at < a))
        });
        Ok((before - self.work.sessions.len()) as u64)
    }
}

impl EmailTokenStore for MemoryTx {
    async fn insert_email_token(&mut self, token: &NewEmailToken) -> Result<(), StoreError> {
        if self
            .work
            .email_tokens
            .iter()
            .any(|t| t.context == token.context && t.digest == token.digest)
        {
            return Err(StoreError::Conflict {
                what: "email_tokens.digest",
            });
        }
        self.work.email_tokens.push(EmailTokenRecord::new(
            token.user_id,
            token.digest,
            token.context.clone(),
            token.sent_to.clone(),
            utc(token.created_at),
        ));
        Ok(())
    }

    async fn take_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> Result<Option<EmailTokenRecord>, StoreError> {
        let position = self
            .work
            .email_tokens
            .iter()
            .position(|t| &t.context == context && &t.digest == digest);
        Ok(position.map(|i| self.work.email_tokens.swap_remove(i)))
    }

    async fn find_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> Result<Option<EmailTokenRecord>, StoreError> {
        Ok(self
            .work
            .email_tokens
            .iter()
            .find(|t| &t.context == context && &t.digest == digest)
            .cloned())
    }

    async fn delete_user_email_tokens(
        &mut self,
        user_id: &Id,
        contexts: &[EmailTokenContext],
    ) -> Result<u64, StoreError> {
        let before = self.work.email_tokens.len();
        self.work.email_tokens.retain(|t| {
            &t.user_id != user_id || !(contexts.is_empty() || contexts.contains(&t.context))
        });
        Ok((before - self.work.email_tokens.len()) as u64)
    }

    async fn email_change_pending(
        &mut self,
        email: &str,
        created_after: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self.work.email_tokens.iter().any(|t| {
            matches!(t.context, EmailTokenContext::ChangeEmail { .. })
                && t.sent_to.to_lowercase() == email.to_lowercase()
                && t.created_at >= created_after
        }))
    }

    async fn prune_email_tokens(
        &mut self,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let before = self.work.email_tokens.len();
        self.work
            .email_tokens
            .retain(|t| t.created_at >= created_before);
        Ok((before - self.work.email_tokens.len()) as u64)
    }
}

impl AuditStore for MemoryTx {
    async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut event = event.clone();
        event.occurred_at = utc(event.occurred_at);
        self.work.audit.push(event);
        Ok(())
    }

    async fn audit_events_for_user(
        &mut self,
        user_id: &Id,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut events: Vec<AuditEvent> = self
            .work
            .audit
            .iter()
            .rev()
            .filter(|e| {
                e.actor_id.as_ref() == Some(user_id) || e.target_id.as_ref() == Some(user_id)
            })
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.occurred_at));
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }
}

impl RateLimitStore for MemoryTx {
    async fn hit(&mut self, key: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        let count = self
            .work
            .rate_limits
            .entry((key.to_owned(), utc(window_start)))
            .or_insert(0);
        *count = count.saturating_add(1);
        Ok(*count)
    }

    async fn rate_limit_count(
        &mut self,
        key: &str,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        Ok(self
            .work
            .rate_limits
            .get(&(key.to_owned(), utc(window_start)))
            .copied()
            .unwrap_or(0))
    }

    async fn prune_rate_limits(&mut self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let count = self.work.rate_limits.len();
        self.work
            .rate_limits
            .retain(|(_, start), _| *start >= before);
        Ok((count - self.work.rate_limits.len()) as u64)
    }
}

impl MemoryStore {
    /// Every job in the store, oldest first (for tests that assert on what a flow enqueued).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(sigra_core::testing::MemoryStore::new().jobs().await.is_empty());
    /// # });
    /// ```
    pub async fn jobs(&self) -> Vec<JobRecord> {
        self.tables.lock().await.jobs.clone()
    }
}

impl MemoryTx {
    fn running_job(&mut self, id: Uuid, lease: Uuid) -> Option<&mut JobRecord> {
        self.work
            .jobs
            .iter_mut()
            .find(|j| j.id == id && j.status == JobStatus::Running && j.lease == Some(lease))
    }
}

impl JobStore for MemoryTx {
    async fn enqueue_job(&mut self, job: &NewJob) -> Result<bool, StoreError> {
        if self.work.jobs.iter().any(|j| j.id == job.id) {
            return Err(StoreError::Conflict { what: "jobs.id" });
        }
        if let Some(key) = &job.unique_key
            && self
                .work
                .jobs
                .iter()
                .any(|j| j.unique_key.as_ref() == Some(key) && !j.status.is_finished())
        {
            return Ok(false);
        }
        let mut record = JobRecord::from_new(job);
        record.run_at = utc(record.run_at);
        record.created_at = utc(record.created_at);
        self.work.jobs.push(record);
        Ok(true)
    }

    async fn claim_jobs(
        &mut self,
        queue: &str,
        now: OffsetDateTime,
        locked_until: OffsetDateTime,
        lease: Uuid,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let mut due: Vec<usize> = self
            .work
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| {
                j.queue == queue
                    && match j.status {
                        JobStatus::Queued | JobStatus::Retrying => j.run_at <= now,
                        JobStatus::Running => j.locked_until.is_some_and(|t| t <= now),
                        JobStatus::Done | JobStatus::Dead => false,
                    }
            })
            .map(|(i, _)| i)
            .collect();
        due.sort_by_key(|&i| (self.work.jobs[i].run_at, self.work.jobs[i].id));
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut claimed = Vec::with_capacity(due.len());
        for i in due {
            let job = &mut self.work.jobs[i];
            job.status = JobStatus::Running;
            job.locked_until = Some(utc(locked_until));
            job.lease = Some(lease);
            job.attempts = job.attempts.saturating_add(1);
            claimed.push(job.clone());
        }
        Ok(claimed)
    }

    async fn complete_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
        scrub: bool,
    ) -> Result<bool, StoreError> {
        let Some(job) = self.running_job(id, lease) else {
            return Ok(false);
        };
        job.status = JobStatus::Done;
        job.finished_at = Some(utc(now));
        job.locked_until = None;
        job.lease = None;
        job.last_error = None;
        if scrub {
            job.payload = None;
        }
        Ok(true)
    }

    async fn fail_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let Some(job) = self.running_job(id, lease) else {
            return Ok(false);
        };
        job.locked_until = None;
        job.lease = None;
        job.last_error = Some(error.to_owned());
        match retry_at {
            Some(at) => {
                job.status = JobStatus::Retrying;
                job.run_at = utc(at);
            }
            None => {
                job.status = JobStatus::Dead;
                job.finished_at = Some(utc(now));
            }
        }
        Ok(true)
    }

    async fn release_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let Some(job) = self.running_job(id, lease) else {
            return Ok(false);
        };
        job.status = if job.last_error.is_some() {
            JobStatus::Retrying
        } else {
            JobStatus::Queued
        };
        job.attempts = job.attempts.saturating_sub(1);
        job.locked_until = None;
        job.lease = None;
        job.run_at = utc(now);
        Ok(true)
    }

    async fn job_by_id(&mut self, id: Uuid) -> Result<Option<JobRecord>, StoreError> {
        Ok(self.work.jobs.iter().find(|j| j.id == id).cloned())
    }

    async fn list_jobs(
        &mut self,
        filter: &JobFilter,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs: Vec<JobRecord> = self
            .work
            .jobs
            .iter()
            .filter(|j| filter.queue.as_ref().is_none_or(|q| *q == j.queue))
            .filter(|j| filter.status.is_none_or(|s| s == j.status))
            .cloned()
            .collect();
        jobs.sort_by_key(|j| std::cmp::Reverse((j.created_at, j.id)));
        jobs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(jobs)
    }

    async fn retry_job(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool, StoreError> {
        let key_taken = |jobs: &[JobRecord], key: &Option<String>| {
            key.is_some()
                && jobs
                    .iter()
                    .any(|o| o.id != id && o.unique_key == *key && !o.status.is_finished())
        };
        let Some(key) = self
            .work
            .jobs
            .iter()
            .find(|j| j.id == id && matches!(j.status, JobStatus::Dead | JobStatus::Retrying))
            .map(|j| j.unique_key.clone())
        else {
            return Ok(false);
        };
        if key_taken(&self.work.jobs, &key) {
            return Ok(false);
        }
        let Some(job) = self.work.jobs.iter_mut().find(|j| j.id == id) else {
            return Ok(false);
        };
        job.status = JobStatus::Queued;
        job.run_at = utc(now);
        job.attempts = 0;
        job.finished_at = None;
        Ok(true)
    }

    async fn prune_jobs(
        &mut self,
        done_before: OffsetDateTime,
        dead_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let count = self.work.jobs.len();
        self.work.jobs.retain(|j| match (j.status, j.finished_at) {
            (JobStatus::Done, Some(at)) => at >= done_before,
            (JobStatus::Dead, Some(at)) => at >= dead_before,
            _ => true,
        });
        Ok((count - self.work.jobs.len()) as u64)
    }
}

impl PasskeyStore for MemoryTx {
    async fn insert_passkey(&mut self, passkey: &NewPasskey) -> Result<PasskeyRecord, StoreError> {
        if self
            .work
            .passkeys
            .iter()
            .any(|p| p.credential_id == passkey.credential_id)
        {
            return Err(StoreError::Conflict {
                what: "user_passkeys.credential_id",
            });
        }
        let id = self.assign_id(passkey.id);
        let mut record = PasskeyRecord::new(
            id,
            passkey.user_id,
            passkey.credential_id.clone(),
            passkey.passkey.clone(),
            passkey.nickname.clone(),
            utc(passkey.created_at),
        );
        record.aaguid = passkey.aaguid;
        record.transports = passkey.transports.clone();
        record.sign_count = passkey.sign_count;
        self.work.passkeys.push(record.clone());
        Ok(record)
    }

    async fn list_user_passkeys(&mut self, user_id: &Id) -> Result<Vec<PasskeyRecord>, StoreError> {
        let mut list: Vec<PasskeyRecord> = self
            .work
            .passkeys
            .iter()
            .filter(|p| &p.user_id == user_id)
            .cloned()
            .collect();
        list.sort_by_key(|p| (p.created_at, p.id));
        Ok(list)
    }

    async fn passkey_by_credential_id(
        &mut self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        Ok(self
            .work
            .passkeys
            .iter()
            .find(|p| p.credential_id == credential_id)
            .cloned())
    }

    async fn update_passkey_after_use(
        &mut self,
        id: &Id,
        passkey: &str,
        sign_count: i64,
        used_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        match self
            .work
            .passkeys
            .iter_mut()
            .find(|p| &p.id == id && p.sign_count <= sign_count)
        {
            Some(row) => {
                row.passkey = passkey.to_owned();
                row.sign_count = sign_count;
                row.last_used_at = Some(utc(used_at));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn rename_passkey(
        &mut self,
        user_id: &Id,
        id: &Id,
        nickname: &str,
    ) -> Result<bool, StoreError> {
        match self
            .work
            .passkeys
            .iter_mut()
            .find(|p| &p.id == id && &p.user_id == user_id)
        {
            Some(row) => {
                row.nickname = nickname.to_owned();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete_passkey(&mut self, user_id: &Id, id: &Id) -> Result<bool, StoreError> {
        let before = self.work.passkeys.len();
        self.work
            .passkeys
            .retain(|p| !(&p.id == id && &p.user_id == user_id));
        Ok(self.work.passkeys.len() < before)
    }

    async fn count_user_passkeys(&mut self, user_id: &Id) -> Result<u64, StoreError> {
        Ok(self
            .work
            .passkeys
            .iter()
            .filter(|p| &p.user_id == user_id)
            .count() as u64)
    }
}

impl WebauthnChallengeStore for MemoryTx {
    async fn insert_webauthn_challenge(
        &mut self,
        challenge: &WebauthnChallengeRecord,
    ) -> Result<(), StoreError> {
        if self
            .work
            .webauthn_challenges
            .iter()
            .any(|c| c.digest == challenge.digest)
        {
            return Err(StoreError::Conflict {
                what: "webauthn_challenges.digest",
            });
        }
        let mut row = challenge.clone();
        row.expires_at = utc(row.expires_at);
        self.work.webauthn_challenges.push(row);
        Ok(())
    }

    async fn take_webauthn_challenge(
        &mut self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> Result<Option<WebauthnChallengeRecord>, StoreError> {
        let position = self
            .work
            .webauthn_challenges
            .iter()
            .position(|c| &c.digest == digest);
        Ok(position
            .map(|i| self.work.webauthn_challenges.swap_remove(i))
            .filter(|c| c.expires_at > now))
    }

    async fn prune_webauthn_challenges(&mut self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let before = self.work.webauthn_challenges.len();
        self.work.webauthn_challenges.retain(|c| c.expires_at > now);
        Ok((before - self.work.webauthn_challenges.len()) as u64)
    }
}
