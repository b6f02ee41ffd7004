//! The harness of the account-flow tests (`auth_*.rs`): the flows of `sigra_core::auth::Sigra`
//! driven directly over the in-memory reference store with cheap Argon2 parameters and a clock
//! each test moves itself.
//!
//! The store is wrapped (`Rec`) to see what the flows do to it: every transaction begun, every
//! committed audit row (including the anonymous ones no store query returns), and, on demand,
//! a failure injected when a given audit action is written, to prove that a change, its audit
//! row and its notices commit together.
//!
//! Flows return no mails: every notice is enqueued into the outbox (the `mail` queue of the
//! `JobStore`) in the flow's own transaction, encrypted. [`Env::notices`] opens every mail job
//! with `Sigra::open_notice`; [`Env::take_new_notices`] returns only those enqueued since its
//! last call, so a test reads "do this, then exactly these notices were enqueued".

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex};

use sigra_core::audit::RequestMeta;
use sigra_core::auth::{
    AuthMail, Authenticated, ConfirmEvidence, LoggedIn, LoginAttempt, RegistrationProof,
    SessionToken, Sigra,
};
use sigra_core::config::SigraConfig;
use sigra_core::jobs::MAIL_QUEUE;
use sigra_core::keys::SecretKeyBase;
use sigra_core::password::{Argon2Params, Password, PasswordHasher};
use sigra_core::store::{
    AuditEvent, AuditOutcome, AuditStore, EmailTokenContext, EmailTokenRecord, EmailTokenStore, Id,
    IpHistory, JobFilter, JobRecord, JobStore, MfaCredentialRecord, MfaStore, NewEmailToken,
    NewJob, NewSession, NewUser, RateLimitStore, SessionKind, SessionRecord, SessionStore, Store,
    StoreError, Transaction, UserRecord, UserStore,
};
use sigra_core::testing::{MemoryStore, MemoryTx};
use sigra_core::token::{Token, TokenDigest};
use time::OffsetDateTime;
use uuid::Uuid;

pub use super::clock::{Clock, DAY, HOUR, MIN, T0};

// ---------------------------------------------------------------------------------------------
// A recording store around MemoryStore.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
pub struct Rec {
    pub inner: MemoryStore,
    /// Audit rows of committed transactions, in commit order.
    pub audit: Arc<StdMutex<Vec<AuditEvent>>>,
    /// When set, writing an audit row with this action fails.
    pub fail_action: Arc<StdMutex<Option<&'static str>>>,
    /// When set, committing a transaction that wrote an audit row with this action fails
    /// (after every write of the flow, its notices included) and rolls it back.
    pub fail_commit: Arc<StdMutex<Option<&'static str>>>,
    /// Transactions begun (both kinds).
    pub begins: Arc<AtomicUsize>,
}

pub struct RecTx {
    inner: MemoryTx,
    pending: Vec<AuditEvent>,
    sink: Arc<StdMutex<Vec<AuditEvent>>>,
    fail_action: Option<&'static str>,
    fail_commit: Option<&'static str>,
}

impl Rec {
    fn tx(&self, inner: MemoryTx) -> RecTx {
        self.begins.fetch_add(1, SeqCst);
        RecTx {
            inner,
            pending: Vec::new(),
            sink: Arc::clone(&self.audit),
            fail_action: *self.fail_action.lock().unwrap(),
            fail_commit: *self.fail_commit.lock().unwrap(),
        }
    }
}

impl Store for Rec {
    type Tx = RecTx;
    async fn begin(&self) -> Result<RecTx, StoreError> {
        let inner = self.inner.begin().await?;
        Ok(self.tx(inner))
    }
    async fn begin_read(&self) -> Result<RecTx, StoreError> {
        let inner = self.inner.begin_read().await?;
        Ok(self.tx(inner))
    }
    fn new_id(&self) -> Option<Id> {
        self.inner.new_id()
    }
}

impl Transaction for RecTx {
    async fn commit(self) -> Result<(), StoreError> {
        if let Some(action) = self.fail_commit
            && self.pending.iter().any(|e| e.action == action)
        {
            // Dropping the inner transaction rolls it back.
            return Err(StoreError::backend("injected commit failure"));
        }
        self.inner.commit().await?;
        self.sink.lock().unwrap().extend(self.pending);
        Ok(())
    }
}

impl AuditStore for RecTx {
    async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        if self.fail_action == Some(event.action.as_str()) {
            return Err(StoreError::backend("injected failure"));
        }
        self.inner.insert_audit_event(event).await?;
        self.pending.push(event.clone());
        Ok(())
    }
    async fn audit_events_for_user(
        &mut self,
        user_id: &Id,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_events_for_user(user_id, limit).await
    }
}

impl UserStore for RecTx {
    async fn insert_user(&mut self, user: &NewUser) -> Result<UserRecord, StoreError> {
        self.inner.insert_user(user).await
    }
    async fn user_by_id(&mut self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user_by_id(id).await
    }
    async fn user_by_email(&mut self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user_by_email(email).await
    }
    async fn mark_confirmed(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        self.inner.mark_confirmed(id, at).await
    }
    async fn set_password_hash(
        &mut self,
        id: &Id,
        hashed_password: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.inner
            .set_password_hash(id, hashed_password, changed_at)
            .await
    }
    async fn increment_failed_logins(&mut self, id: &Id) -> Result<u32, StoreError> {
        self.inner.increment_failed_logins(id).await
    }
    async fn lock_user(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        self.inner.lock_user(id, at).await
    }
    async fn clear_failed_logins(&mut self, id: &Id) -> Result<(), StoreError> {
        self.inner.clear_failed_logins(id).await
    }
    async fn set_email(&mut self, id: &Id, email: &str) -> Result<(), StoreError> {
        self.inner.set_email(id, email).await
    }
    async fn bump_token_epoch(&mut self, id: &Id) -> Result<i64, StoreError> {
        self.inner.bump_token_epoch(id).await
    }
    async fn clear_password_hash(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        self.inner.clear_password_hash(id, at).await
    }
}

impl SessionStore for RecTx {
    async fn insert_session(&mut self, session: &NewSession) -> Result<SessionRecord, StoreError> {
        self.inner.insert_session(session).await
    }
    async fn session_by_digest(
        &mut self,
        digest: &TokenDigest,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.session_by_digest(digest).await
    }
    async fn touch_session(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        self.inner.touch_session(id, at).await
    }
    async fn set_session_sudo(&mut self, id: &Id, at: OffsetDateTime) -> Result<(), StoreError> {
        self.inner.set_session_sudo(id, at).await
    }
    async fn list_user_sessions(&mut self, user_id: &Id) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.list_user_sessions(user_id).await
    }
    async fn delete_user_session(&mut self, user_id: &Id, id: &Id) -> Result<bool, StoreError> {
        self.inner.delete_user_session(user_id, id).await
    }
    async fn delete_session_by_digest(&mut self, digest: &TokenDigest) -> Result<bool, StoreError> {
        self.inner.delete_session_by_digest(digest).await
    }
    async fn delete_user_sessions(
        &mut self,
        user_id: &Id,
        keep: Option<&Id>,
    ) -> Result<u64, StoreError> {
        self.inner.delete_user_sessions(user_id, keep).await
    }
    async fn prune_sessions(
        &mut self,
        kind: SessionKind,
        created_before: OffsetDateTime,
        active_before: Option<OffsetDateTime>,
    ) -> Result<u64, StoreError> {
        self.inner
            .prune_sessions(kind, created_before, active_before)
            .await
    }
    async fn user_ip_history(&mut self, user_id: &Id, ip: &str) -> Result<IpHistory, StoreError> {
        self.inner.user_ip_history(user_id, ip).await
    }
    async fn evict_user_sessions_beyond(
        &mut self,
        user_id: &Id,
        keep: u32,
    ) -> Result<u64, StoreError> {
        self.inner.evict_user_sessions_beyond(user_id, keep).await
    }
}

impl EmailTokenStore for RecTx {
    async fn insert_email_token(&mut self, token: &NewEmailToken) -> Result<(), StoreError> {
        self.inner.insert_email_token(token).await
    }
    async fn take_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> Result<Option<EmailTokenRecord>, StoreError> {
        self.inner.take_email_token(context, digest).await
    }
    async fn find_email_token(
        &mut self,
        context: &EmailTokenContext,
        digest: &TokenDigest,
    ) -> Result<Option<EmailTokenRecord>, StoreError> {
        self.inner.find_email_token(context, digest).await
    }
    async fn delete_user_email_tokens(
        &mut self,
        user_id: &Id,
        contexts: &[EmailTokenContext],
    ) -> Result<u64, StoreError> {
        self.inner.delete_user_email_tokens(user_id, contexts).await
    }
    async fn email_change_pending(
        &mut self,
        email: &str,
        created_after: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.email_change_pending(email, created_after).await
    }
    async fn prune_email_tokens(
        &mut self,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.inner.prune_email_tokens(created_before).await
    }
}

impl RateLimitStore for RecTx {
    async fn hit(&mut self, key: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        self.inner.hit(key, window_start).await
    }
    async fn rate_limit_count(
        &mut self,
        key: &str,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        self.inner.rate_limit_count(key, window_start).await
    }
    async fn prune_rate_limits(&mut self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.prune_rate_limits(before).await
    }
}

impl sigra_core::store::PasskeyStore for RecTx {
    async fn insert_passkey(
        &mut self,
        passkey: &sigra_core::store::NewPasskey,
    ) -> Result<sigra_core::store::PasskeyRecord, StoreError> {
        self.inner.insert_passkey(passkey).await
    }
    async fn list_user_passkeys(
        &mut self,
        user_id: &Id,
    ) -> Result<Vec<sigra_core::store::PasskeyRecord>, StoreError> {
        self.inner.list_user_passkeys(user_id).await
    }
    async fn passkey_by_credential_id(
        &mut self,
        credential_id: &[u8],
    ) -> Result<Option<sigra_core::store::PasskeyRecord>, StoreError> {
        self.inner.passkey_by_credential_id(credential_id).await
    }
    async fn update_passkey_after_use(
        &mut self,
        id: &Id,
        passkey: &str,
        sign_count: i64,
        used_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner
            .update_passkey_after_use(id, passkey, sign_count, used_at)
            .await
    }
    async fn rename_passkey(
        &mut self,
        user_id: &Id,
        id: &Id,
        nickname: &str,
    ) -> Result<bool, StoreError> {
        self.inner.rename_passkey(user_id, id, nickname).await
    }
    async fn delete_passkey(&mut self, user_id: &Id, id: &Id) -> Result<bool, StoreError> {
        self.inner.delete_passkey(user_id, id).await
    }
    async fn count_user_passkeys(&mut self, user_id: &Id) -> Result<u64, StoreError> {
        self.inner.count_user_passkeys(user_id).await
    }
}

impl sigra_core::store::WebauthnChallengeStore for RecTx {
    async fn insert_webauthn_challenge(
        &mut self,
        challenge: &sigra_core::store::WebauthnChallengeRecord,
    ) -> Result<(), StoreError> {
        self.inner.insert_webauthn_challenge(challenge).await
    }
    async fn take_webauthn_challenge(
        &mut self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> Result<Option<sigra_core::store::WebauthnChallengeRecord>, StoreError> {
        self.inner.take_webauthn_challenge(digest, now).await
    }
    async fn prune_webauthn_challenges(&mut self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.prune_webauthn_challenges(now).await
    }
}

impl MfaStore for RecTx {
    async fn totp_credential(&mut self, u: &Id) -> Result<Option<MfaCredentialRecord>, StoreError> {
        self.inner.totp_credential(u).await
    }
    async fn put_pending_totp(
        &mut self,
        u: &Id,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.put_pending_totp(u, secret, now).await
    }
    async fn enable_totp(
        &mut self,
        u: &Id,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.enable_totp(u, step, now).await
    }
    async fn accept_totp_step(&mut self, u: &Id, step: i64) -> Result<bool, StoreError> {
        self.inner.accept_totp_step(u, step).await
    }
    async fn increment_mfa_failures(&mut self, u: &Id) -> Result<Option<u32>, StoreError> {
        self.inner.increment_mfa_failures(u).await
    }
    async fn lock_mfa(&mut self, u: &Id, until: OffsetDateTime) -> Result<(), StoreError> {
        self.inner.lock_mfa(u, until).await
    }
    async fn clear_mfa_failures(&mut self, u: &Id) -> Result<(), StoreError> {
        self.inner.clear_mfa_failures(u).await
    }
    async fn set_totp_secret(&mut self, u: &Id, secret: &str) -> Result<(), StoreError> {
        self.inner.set_totp_secret(u, secret).await
    }
    async fn bump_mfa_trust_epoch(&mut self, u: &Id) -> Result<Option<i64>, StoreError> {
        self.inner.bump_mfa_trust_epoch(u).await
    }
    async fn delete_mfa(&mut self, u: &Id) -> Result<bool, StoreError> {
        self.inner.delete_mfa(u).await
    }
    async fn replace_backup_codes(
        &mut self,
        u: &Id,
        digests: &[TokenDigest],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner.replace_backup_codes(u, digests, now).await
    }
    async fn use_backup_code(
        &mut self,
        u: &Id,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.use_backup_code(u, digest, now).await
    }
    async fn count_unused_backup_codes(&mut self, u: &Id) -> Result<u32, StoreError> {
        self.inner.count_unused_backup_codes(u).await
    }
}

impl JobStore for RecTx {
    async fn enqueue_job(&mut self, job: &NewJob) -> Result<bool, StoreError> {
        self.inner.enqueue_job(job).await
    }
    async fn claim_jobs(
        &mut self,
        queue: &str,
        now: OffsetDateTime,
        locked_until: OffsetDateTime,
        lease: Uuid,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.inner
            .claim_jobs(queue, now, locked_until, lease, limit)
            .await
    }
    async fn complete_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
        scrub: bool,
    ) -> Result<bool, StoreError> {
        self.inner.complete_job(id, lease, now, scrub).await
    }
    async fn fail_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.fail_job(id, lease, error, retry_at, now).await
    }
    async fn release_job(
        &mut self,
        id: Uuid,
        lease: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.release_job(id, lease, now).await
    }
    async fn job_by_id(&mut self, id: Uuid) -> Result<Option<JobRecord>, StoreError> {
        self.inner.job_by_id(id).await
    }
    async fn list_jobs(
        &mut self,
        filter: &JobFilter,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.list_jobs(filter, limit).await
    }
    async fn retry_job(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.inner.retry_job(id, now).await
    }
    async fn prune_jobs(
        &mut self,
        done_before: OffsetDateTime,
        dead_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.inner.prune_jobs(done_before, dead_before).await
    }
}

// ---------------------------------------------------------------------------------------------
// The test environment and helpers.
// ---------------------------------------------------------------------------------------------

pub const PW: &str = "correct horse battery staple";
pub const PW2: &str = "a brand new passphrase";
pub const WRONG: &str = "not the right password";
pub const IP: &str = "203.0.113.7";
pub const UA: &str = "flowtests/1.0";
/// The secret key base of every test's `Sigra`.
pub const SECRET: [u8; 64] = [7u8; 64];

pub struct Env {
    pub sigra: Sigra<Rec>,
    pub store: Rec,
    pub clock: Clock,
    /// Mail jobs already returned by `take_new_notices`.
    seen: StdMutex<HashSet<Uuid>>,
}

pub fn hasher(memory_kib: u32) -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::danger_weak(memory_kib, 1, 1).unwrap())
        .permits(4)
        .build()
        .unwrap()
}

pub fn secret() -> SecretKeyBase {
    SecretKeyBase::new(SECRET.to_vec()).unwrap()
}

pub fn env(clock: Clock) -> Env {
    env_with(clock, SigraConfig::default())
}

pub fn env_with(clock: Clock, config: SigraConfig) -> Env {
    let store = Rec::default();
    let sigra = Sigra::builder(store.clone(), secret())
        .config(config)
        .password_hasher(hasher(64))
        .clock(clock.read)
        .build()
        .unwrap();
    Env {
        sigra,
        store,
        clock,
        seen: StdMutex::default(),
    }
}

pub fn meta() -> RequestMeta {
    RequestMeta::new(Some(IP.parse().unwrap()), Some(UA.into()))
}

/// Request metadata from another address (and browser) than [`meta`].
pub fn meta_from(ip: &str) -> RequestMeta {
    RequestMeta::new(Some(ip.parse().unwrap()), Some("elsewhere/2.0".into()))
}

pub fn pw(s: &str) -> Password {
    Password::from(s)
}

pub struct Confirm {
    pub token: String,
    pub code: String,
    /// The registering browser's proof (set by [`Env::register`]).
    pub proof: Option<RegistrationProof>,
}

impl Confirm {
    /// Confirming in the browser that registered: the registration cookie goes along.
    pub fn evidence(&self) -> ConfirmEvidence {
        ConfirmEvidence::none().registration(self.proof.as_ref().map(|p| p.as_str().to_owned()))
    }
}

#[track_caller]
pub fn confirm_parts(mail: AuthMail) -> Confirm {
    match mail {
        AuthMail::Confirm { token, code, .. } => Confirm {
            token,
            code,
            proof: None,
        },
        other => panic!("expected a confirmation mail, got {other:?}"),
    }
}

#[track_caller]
pub fn token_of(mail: &AuthMail) -> String {
    mail.token().expect("a mail with a link").to_owned()
}

pub fn other_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

pub fn digest_of(token: &SessionToken) -> TokenDigest {
    Token::parse(&token.cookie_value()).unwrap().digest()
}

/// The kinds of `notices`, in order.
pub fn kinds(notices: &[AuthMail]) -> Vec<&'static str> {
    notices.iter().map(AuthMail::kind).collect()
}

/// Opens every mail job of `store` with `sigra`, oldest first.
pub async fn open_all<S: Store>(sigra: &Sigra<S>, store: &MemoryStore) -> Vec<AuthMail> {
    mail_jobs(store)
        .await
        .iter()
        .map(|job| sigra.open_notice(job).unwrap())
        .collect()
}

/// The mail jobs of `store`, oldest first.
pub async fn mail_jobs(store: &MemoryStore) -> Vec<JobRecord> {
    store
        .jobs()
        .await
        .into_iter()
        .filter(|job| job.queue == MAIL_QUEUE)
        .collect()
}

#[track_caller]
pub fn assert_failed(attempt: &LoginAttempt) {
    assert!(
        matches!(attempt, LoginAttempt::Failed),
        "expected a failed login, got {attempt:?}"
    );
}

impl Env {
    /// Every job in the outbox, oldest first.
    pub async fn jobs(&self) -> Vec<JobRecord> {
        self.store.inner.jobs().await
    }

    /// The mail jobs in the outbox, oldest first.
    pub async fn mail_jobs(&self) -> Vec<JobRecord> {
        mail_jobs(&self.store.inner).await
    }

    /// Every notice enqueued so far, oldest first (each mail job opened with
    /// `Sigra::open_notice`).
    pub async fn notices(&self) -> Vec<AuthMail> {
        open_all(&self.sigra, &self.store.inner).await
    }

    /// The notices enqueued since the last call, oldest first.
    pub async fn take_new_notices(&self) -> Vec<AuthMail> {
        let jobs = self.mail_jobs().await;
        let mut seen = self.seen.lock().unwrap();
        jobs.iter()
            .filter(|job| seen.insert(job.id))
            .map(|job| self.sigra.open_notice(job).unwrap())
            .collect()
    }

    /// The one notice enqueued since the last [`take_new_notices`](Self::take_new_notices).
    pub async fn take_notice(&self) -> AuthMail {
        let mut new = self.take_new_notices().await;
        assert_eq!(new.len(), 1, "expected exactly one new notice: {new:?}");
        new.remove(0)
    }

    /// Asserts that nothing was enqueued since the last
    /// [`take_new_notices`](Self::take_new_notices).
    pub async fn assert_no_new_notices(&self) {
        let new = self.take_new_notices().await;
        assert!(new.is_empty(), "expected no new notice, got {new:?}");
    }

    /// Registers `email` and returns its confirmation mail (the one notice enqueued).
    pub async fn register(&self, email: &str) -> Confirm {
        let proof = self.sigra.register(email, &pw(PW), &meta()).await.unwrap();
        let mail = self.take_notice().await;
        assert!(
            mail.to().eq_ignore_ascii_case(email.trim()),
            "mailed to {}, registered {email}",
            mail.to()
        );
        Confirm {
            proof: Some(proof),
            ..confirm_parts(mail)
        }
    }

    /// Registers and confirms `email` (by code, which logs in); returns that login.
    pub async fn confirmed(&self, email: &str) -> LoggedIn {
        let c = self.register(email).await;
        self.sigra
            .confirm_with_code(email, &c.code, c.evidence(), &meta())
            .await
            .unwrap()
    }

    /// Requests a magic link for `email` (which must get one) and returns its token.
    pub async fn magic_link(&self, email: &str) -> String {
        self.sigra.request_magic_link(email, &meta()).await.unwrap();
        let mail = self.take_notice().await;
        assert_eq!(mail.kind(), "magic_link", "{mail:?}");
        token_of(&mail)
    }

    /// Requests a password reset for `email` (which must get one) and returns its token.
    pub async fn reset_link(&self, email: &str) -> String {
        self.sigra
            .request_password_reset(email, &meta())
            .await
            .unwrap();
        let mail = self.take_notice().await;
        assert_eq!(mail.kind(), "reset_password", "{mail:?}");
        token_of(&mail)
    }

    /// Requests an email change to `new_email` and returns the link's token (mailed to the new
    /// address).
    pub async fn email_change_link(&self, auth: &Authenticated, new_email: &str) -> String {
        self.sigra
            .request_email_change(auth, new_email, &meta())
            .await
            .unwrap();
        let mail = self.take_notice().await;
        assert_eq!(mail.kind(), "change_email", "{mail:?}");
        assert!(mail.to().eq_ignore_ascii_case(new_email.trim()), "{mail:?}");
        token_of(&mail)
    }

    pub async fn log_in(&self, email: &str, password: &str, remember: bool) -> LoginAttempt {
        self.sigra
            .log_in(email, &pw(password), remember, &meta())
            .await
            .unwrap()
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> LoggedIn {
        match self.log_in(email, password, false).await {
            LoginAttempt::Success(l) => l,
            other => panic!("expected a successful login for {email}, got {other:?}"),
        }
    }

    /// Logs in with `password` expecting a failure that enqueues nothing.
    pub async fn login_fails_silently(&self, email: &str, password: &str) {
        assert_failed(&self.log_in(email, password, false).await);
        self.assert_no_new_notices().await;
    }

    pub async fn auth(&self, cookie: &LoggedIn) -> Option<Authenticated> {
        self.sigra
            .authenticate(&cookie.token.cookie_value())
            .await
            .unwrap()
    }

    pub async fn authed(&self, cookie: &LoggedIn) -> Authenticated {
        self.auth(cookie).await.expect("the session authenticates")
    }

    pub async fn user(&self, email: &str) -> Option<UserRecord> {
        let mut tx = self.store.inner.begin_read().await.unwrap();
        tx.user_by_email(email).await.unwrap()
    }

    pub async fn user_by_id(&self, id: &Id) -> UserRecord {
        let mut tx = self.store.inner.begin_read().await.unwrap();
        tx.user_by_id(id).await.unwrap().unwrap()
    }

    pub async fn session_row(&self, digest: &TokenDigest) -> Option<SessionRecord> {
        let mut tx = self.store.inner.begin_read().await.unwrap();
        tx.session_by_digest(digest).await.unwrap()
    }

    /// Inserts a user directly (confirmed), for tests that need a particular stored hash.
    pub async fn insert_user(&self, email: &str, hash: &str) -> UserRecord {
        let mut tx = self.store.inner.begin().await.unwrap();
        let mut new = NewUser::new(
            self.store.inner.new_id(),
            email.into(),
            Some(hash.into()),
            self.clock.now(),
        );
        new.confirmed_at = Some(self.clock.now());
        let user = tx.insert_user(&new).await.unwrap();
        tx.commit().await.unwrap();
        user
    }

    /// Inserts an MFA-pending session for `user` and returns its cookie value.
    pub async fn insert_mfa_pending(&self, user: &Id) -> String {
        let token = Token::generate().unwrap();
        let mut tx = self.store.inner.begin().await.unwrap();
        let mut new = NewSession::new(
            self.store.inner.new_id(),
            *user,
            token.digest(),
            SessionKind::MfaPending,
            self.clock.now(),
        );
        new.sudo_at = Some(self.clock.now());
        tx.insert_session(&new).await.unwrap();
        tx.commit().await.unwrap();
        token.to_base64url()
    }

    pub fn audit(&self) -> Vec<AuditEvent> {
        self.store.audit.lock().unwrap().clone()
    }

    /// Committed audit rows with this action and outcome about (target or actor) `user`.
    pub fn audit_count(&self, action: &str, outcome: AuditOutcome, user: Option<&Id>) -> usize {
        self.audit()
            .iter()
            .filter(|e| e.action == action && e.outcome == outcome)
            .filter(|e| match user {
                Some(id) => e.target_id.as_ref() == Some(id) || e.actor_id.as_ref() == Some(id),
                None => true,
            })
            .count()
    }

    /// From now on, writing an audit row with `action` fails (the flow's transaction with it).
    pub fn fail_on(&self, action: Option<&'static str>) {
        *self.store.fail_action.lock().unwrap() = action;
    }

    /// From now on, committing a transaction that wrote an audit row with `action` fails: the
    /// flow makes every write (its notices included), then its commit fails.
    pub fn fail_commit_of(&self, action: Option<&'static str>) {
        *self.store.fail_commit.lock().unwrap() = action;
    }

    pub fn begins(&self) -> usize {
        self.store.begins.load(SeqCst)
    }

    /// A second app instance on the same store, secret and clock (its own session cache).
    pub fn other_instance(&self, config: SigraConfig) -> Sigra<Rec> {
        Sigra::builder(self.store.clone(), secret())
            .config(config)
            .password_hasher(hasher(64))
            .clock(self.clock.read)
            .build()
            .unwrap()
    }
}
