//! The decisions of the account flows (`sigra_core::auth::Sigra`), driven directly over the
//! in-memory reference store with cheap Argon2 parameters and a clock each test moves itself.
//!
//! The store is wrapped (`Rec`) to see what the flows do to it: every transaction begun, every
//! committed audit row (including the anonymous ones no store query returns), and, on demand,
//! a failure injected when a given audit action is written, to prove that the change and its
//! audit row commit together.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use sigra_core::audit::RequestMeta;
use sigra_core::auth::{
    AuthError, AuthMail, Authenticated, LoggedIn, LoginAttempt, Pruned, SessionToken, Sigra,
};
use sigra_core::config::{Limit, SigraConfig, UnconfirmedPolicy};
use sigra_core::keys::SecretKeyBase;
use sigra_core::password::{Argon2Params, Password, PasswordError, PasswordHasher, Verification};
use sigra_core::store::{
    AuditEvent, AuditOutcome, AuditStore, EmailTokenContext, EmailTokenRecord, EmailTokenStore, Id,
    NewEmailToken, NewSession, NewUser, RateLimitStore, SessionKind, SessionRecord, SessionStore,
    Store, StoreError, Transaction, UserRecord, UserStore,
};
use sigra_core::testing::{MemoryStore, MemoryTx};
use sigra_core::token::{Token, TokenDigest};
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------------
// A movable clock: one static per test (the macro expands to a fresh static at each use).
// ---------------------------------------------------------------------------------------------

/// Start of every test's clock: a multiple of 15 minutes, so rate-limit windows start here.
const T0: i64 = 1_800_000_000;
const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

struct Clock {
    now: &'static AtomicI64,
    read: fn() -> OffsetDateTime,
}

impl Clock {
    fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, SeqCst);
    }
    fn set(&self, unix: i64) {
        self.now.store(unix, SeqCst);
    }
    fn now(&self) -> OffsetDateTime {
        (self.read)()
    }
}

macro_rules! clock {
    () => {{
        static NOW: AtomicI64 = AtomicI64::new(T0);
        fn read() -> OffsetDateTime {
            OffsetDateTime::from_unix_timestamp(NOW.load(SeqCst)).unwrap()
        }
        Clock { now: &NOW, read }
    }};
}

// ---------------------------------------------------------------------------------------------
// A recording store around MemoryStore.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Rec {
    inner: MemoryStore,
    /// Audit rows of committed transactions, in commit order.
    audit: Arc<StdMutex<Vec<AuditEvent>>>,
    /// When set, writing an audit row with this action fails.
    fail_action: Arc<StdMutex<Option<&'static str>>>,
    /// Transactions begun (both kinds).
    begins: Arc<AtomicUsize>,
}

struct RecTx {
    inner: MemoryTx,
    pending: Vec<AuditEvent>,
    sink: Arc<StdMutex<Vec<AuditEvent>>>,
    fail_action: Option<&'static str>,
}

impl Rec {
    fn tx(&self, inner: MemoryTx) -> RecTx {
        self.begins.fetch_add(1, SeqCst);
        RecTx {
            inner,
            pending: Vec::new(),
            sink: Arc::clone(&self.audit),
            fail_action: *self.fail_action.lock().unwrap(),
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

// ---------------------------------------------------------------------------------------------
// The test environment and helpers.
// ---------------------------------------------------------------------------------------------

const PW: &str = "correct horse battery staple";
const PW2: &str = "a brand new passphrase";
const WRONG: &str = "not the right password";
const IP: &str = "203.0.113.7";
const UA: &str = "flowtests/1.0";

struct Env {
    sigra: Sigra<Rec>,
    store: Rec,
    clock: Clock,
}

fn hasher(memory_kib: u32) -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::danger_weak(memory_kib, 1, 1).unwrap())
        .permits(4)
        .build()
        .unwrap()
}

fn env(clock: Clock) -> Env {
    env_with(clock, SigraConfig::default())
}

fn env_with(clock: Clock, config: SigraConfig) -> Env {
    let store = Rec::default();
    let sigra = Sigra::builder(store.clone(), SecretKeyBase::new(vec![7u8; 64]).unwrap())
        .config(config)
        .password_hasher(hasher(64))
        .clock(clock.read)
        .build()
        .unwrap();
    Env {
        sigra,
        store,
        clock,
    }
}

fn meta() -> RequestMeta {
    RequestMeta::new(Some(IP.parse().unwrap()), Some(UA.into()))
}

fn pw(s: &str) -> Password {
    Password::from(s)
}

struct Confirm {
    token: String,
    code: String,
}

fn confirm_parts(mail: AuthMail) -> Confirm {
    match mail {
        AuthMail::Confirm { token, code, .. } => Confirm { token, code },
        other => panic!("expected a confirmation mail, got {other:?}"),
    }
}

fn token_of(mail: &AuthMail) -> String {
    mail.token().expect("a mail with a link").to_owned()
}

fn other_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

fn digest_of(token: &SessionToken) -> TokenDigest {
    Token::parse(&token.cookie_value()).unwrap().digest()
}

impl Env {
    /// Registers `email` and returns its confirmation mail.
    async fn register(&self, email: &str) -> Confirm {
        let mail = self
            .sigra
            .register(email, &pw(PW), &meta())
            .await
            .unwrap()
            .expect("a new account is mailed");
        confirm_parts(mail)
    }

    /// Registers and confirms `email` (by code, which logs in); returns that login.
    async fn confirmed(&self, email: &str) -> LoggedIn {
        let c = self.register(email).await;
        self.sigra
            .confirm_with_code(email, &c.code, &meta())
            .await
            .unwrap()
    }

    async fn log_in(&self, email: &str, password: &str, remember: bool) -> LoginAttempt {
        self.sigra
            .log_in(email, &pw(password), remember, &meta())
            .await
            .unwrap()
    }

    async fn login_ok(&self, email: &str, password: &str) -> LoggedIn {
        match self.log_in(email, password, false).await {
            LoginAttempt::Success(l) => l,
            other => panic!("expected a successful login for {email}, got {other:?}"),
        }
    }

    async fn auth(&self, cookie: &LoggedIn) -> Option<Authenticated> {
        self.sigra
            .authenticate(&cookie.token.cookie_value())
            .await
            .unwrap()
    }

    async fn authed(&self, cookie: &LoggedIn) -> Authenticated {
        self.auth(cookie).await.expect("the session authenticates")
    }

    async fn user(&self, email: &str) -> Option<UserRecord> {
        let mut tx = self.store.inner.begin_read().await.unwrap();
        tx.user_by_email(email).await.unwrap()
    }

    async fn user_by_id(&self, id: &Id) -> UserRecord {
        let mut tx = self.store.inner.begin_read().await.unwrap();
        tx.user_by_id(id).await.unwrap().unwrap()
    }

    async fn session_row(&self, digest: &TokenDigest) -> Option<SessionRecord> {
        let mut tx = self.store.inner.begin_read().await.unwrap();
        tx.session_by_digest(digest).await.unwrap()
    }

    /// Inserts a user directly (confirmed), for tests that need a particular stored hash.
    async fn insert_user(&self, email: &str, hash: &str) -> UserRecord {
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
    async fn insert_mfa_pending(&self, user: &Id) -> String {
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

    fn audit(&self) -> Vec<AuditEvent> {
        self.store.audit.lock().unwrap().clone()
    }

    /// Committed audit rows with this action and outcome about (target or actor) `user`.
    fn audit_count(&self, action: &str, outcome: AuditOutcome, user: Option<&Id>) -> usize {
        self.audit()
            .iter()
            .filter(|e| e.action == action && e.outcome == outcome)
            .filter(|e| match user {
                Some(id) => e.target_id.as_ref() == Some(id) || e.actor_id.as_ref() == Some(id),
                None => true,
            })
            .count()
    }

    fn fail_on(&self, action: Option<&'static str>) {
        *self.store.fail_action.lock().unwrap() = action;
    }

    fn begins(&self) -> usize {
        self.store.begins.load(SeqCst)
    }
}

fn failed(attempt: &LoginAttempt) -> Option<Option<&AuthMail>> {
    match attempt {
        LoginAttempt::Failed { notice } => Some(notice.as_ref()),
        _ => None,
    }
}

#[track_caller]
fn assert_failed_silently(attempt: &LoginAttempt) {
    assert!(
        matches!(attempt, LoginAttempt::Failed { notice: None }),
        "expected a plain failure, got {attempt:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// register
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn register_new_address_mails_a_link_and_a_six_digit_code() {
    let e = env(clock!());
    let mail = e
        .sigra
        .register("  Alice@Example.com ", &pw(PW), &meta())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail.kind(), "confirm");
    assert_eq!(mail.to(), "Alice@Example.com");
    let c = confirm_parts(mail);
    assert!(!c.token.is_empty());
    assert_eq!(c.code.len(), 6);
    assert!(c.code.bytes().all(|b| b.is_ascii_digit()), "{}", c.code);

    let user = e.user("alice@example.com").await.unwrap();
    assert_eq!(user.email, "Alice@Example.com");
    assert!(user.confirmed_at.is_none(), "registration does not confirm");
    let hash = user.hashed_password.clone().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    assert_eq!(
        e.sigra
            .password_hasher()
            .verify(&pw(PW), &hash)
            .await
            .unwrap(),
        Verification::Valid { upgraded: None }
    );
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Success, Some(&user.id)),
        1
    );
    // Registration does not log in.
    assert!(e.sigra.list_sessions(&user.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn register_taken_address_in_any_case_mails_the_owner_and_changes_nothing() {
    let e = env(clock!());
    e.register("bob@example.com").await;
    let before = e.user("bob@example.com").await.unwrap();

    for variant in ["bob@example.com", "BOB@EXAMPLE.COM", " Bob@Example.Com "] {
        // Both paths hash and return Ok; this one mails the owner, not the registrant.
        let mail = e
            .sigra
            .register(variant, &pw("some other passphrase"), &meta())
            .await
            .unwrap();
        assert_eq!(
            mail,
            Some(AuthMail::AccountExists {
                to: "bob@example.com".into()
            })
        );
    }
    let after = e.user("bob@example.com").await.unwrap();
    assert_eq!(after, before, "the existing account is untouched");
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Failure, Some(&before.id)),
        3
    );
}

#[tokio::test]
async fn mails_to_one_user_are_limited_to_three_per_fifteen_minutes() {
    let e = env(clock!());
    // Taken-address registrations.
    e.register("carol@example.com").await;
    for _ in 0..3 {
        let mail = e
            .sigra
            .register("carol@example.com", &pw(PW), &meta())
            .await
            .unwrap();
        assert!(matches!(mail, Some(AuthMail::AccountExists { .. })));
    }
    let fourth = e
        .sigra
        .register("carol@example.com", &pw(PW), &meta())
        .await
        .unwrap();
    assert_eq!(fourth, None, "the fourth mail in the window is not sent");

    // Confirmation resends (another user: the budget is per user).
    let first = e.register("dave@example.com").await;
    let mut latest = first.code.clone();
    for _ in 0..3 {
        let mail = e
            .sigra
            .resend_confirmation("dave@example.com", &meta())
            .await
            .unwrap()
            .expect("resend within the budget");
        latest = confirm_parts(mail).code;
    }
    assert_eq!(
        e.sigra
            .resend_confirmation("DAVE@example.com", &meta())
            .await
            .unwrap(),
        None
    );
    // Unknown addresses answer the same.
    assert_eq!(
        e.sigra
            .resend_confirmation("nobody@example.com", &meta())
            .await
            .unwrap(),
        None
    );

    // The next window has a fresh budget.
    e.clock.advance(15 * MIN);
    assert!(matches!(
        e.sigra
            .register("carol@example.com", &pw(PW), &meta())
            .await
            .unwrap(),
        Some(AuthMail::AccountExists { .. })
    ));
    let again = e
        .sigra
        .resend_confirmation("dave@example.com", &meta())
        .await
        .unwrap()
        .unwrap();
    let again = confirm_parts(again);

    // A resend replaces the earlier link and code.
    let stale = e
        .sigra
        .confirm_with_code("dave@example.com", &latest, &meta())
        .await;
    if latest != again.code {
        assert!(matches!(stale, Err(AuthError::InvalidCode)), "{stale:?}");
    }
    assert!(matches!(
        e.sigra.confirm_with_link(&first.token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    e.sigra
        .confirm_with_link(&again.token, &meta())
        .await
        .unwrap();
    // A confirmed account gets no more confirmation mails.
    assert_eq!(
        e.sigra
            .resend_confirmation("dave@example.com", &meta())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn weak_passwords_are_refused_before_anything_is_written() {
    let e = env(clock!());
    let common = "password123";
    assert!(sigra_core::password::is_common_password(common));
    // Too short, too common, equal to the email (any case).
    let cases = [
        "short7!",
        common,
        "erin@example.com",
        "ERIN@EXAMPLE.COM",
        "erin.long.local@example.com",
    ];
    for password in cases {
        let email = if password.starts_with("erin.long") {
            "erin.long.local@example.com"
        } else {
            "erin@example.com"
        };
        let err = e
            .sigra
            .register(email, &pw(password), &meta())
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::WeakPassword(_)),
            "{password:?}: {err:?}"
        );
        assert!(err.is_client_error());
    }
    // The email's local part is refused too.
    let err = e
        .sigra
        .register(
            "erin.long.local@example.com",
            &pw("Erin.Long.Local"),
            &meta(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        AuthError::WeakPassword(PasswordError::MatchesUserInput)
    ));
    let err = e
        .sigra
        .register("erin@example.com", &pw(&"x".repeat(1025)), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::WeakPassword(_)), "{err:?}");

    assert_eq!(e.begins(), 0, "no transaction was even opened");
    assert!(e.user("erin@example.com").await.is_none());
    assert!(e.audit().is_empty());
}

#[tokio::test]
async fn invalid_emails_are_refused() {
    let e = env(clock!());
    for bad in [
        "",
        "frank",
        "frank@",
        "@example.com",
        "frank@localhost",
        "fr ank@example.com",
        "frank@example..com",
        "a\r\nBcc: x@example.com",
        "<frank@example.com>",
    ] {
        let err = e.sigra.register(bad, &pw(PW), &meta()).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidEmail), "{bad:?}: {err:?}");
    }
    assert_eq!(e.begins(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_address_create_one_account() {
    let e = env(clock!());
    let mut tasks = Vec::new();
    for i in 0..5 {
        let sigra = e.sigra.clone();
        tasks.push(tokio::spawn(async move {
            sigra
                .register(
                    if i % 2 == 0 {
                        "gina@example.com"
                    } else {
                        "GINA@example.com"
                    },
                    &pw(PW),
                    &meta(),
                )
                .await
        }));
    }
    let mut confirms = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Some(AuthMail::Confirm { .. }) => confirms += 1,
            Some(AuthMail::AccountExists { .. }) | None => {}
            Some(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(confirms, 1);
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Success, None),
        1
    );
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Failure, None),
        4
    );
}

// ---------------------------------------------------------------------------------------------
// confirm
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn confirm_with_code_logs_in_and_uses_up_link_and_code() {
    let e = env(clock!());
    let c = e.register("hana@example.com").await;
    e.clock.advance(MIN);
    let logged_in = e
        .sigra
        .confirm_with_code("HANA@example.com", &c.code, &meta())
        .await
        .unwrap();
    assert_eq!(logged_in.user.email, "hana@example.com");
    assert_eq!(logged_in.user.confirmed_at, Some(e.clock.now()));
    assert_eq!(
        e.user("hana@example.com").await.unwrap().confirmed_at,
        Some(e.clock.now())
    );
    assert_eq!(logged_in.session.kind, SessionKind::Standard);
    let auth = e.authed(&logged_in).await;
    assert_eq!(auth.user.id, logged_in.user.id);

    // Both tokens are gone.
    assert!(matches!(
        e.sigra
            .confirm_with_code("hana@example.com", &c.code, &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    assert!(matches!(
        e.sigra.confirm_with_link(&c.token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    let id = logged_in.user.id;
    assert_eq!(
        e.audit_count("auth.confirm", AuditOutcome::Success, Some(&id)),
        1
    );
    assert_eq!(
        e.audit_count("session.create", AuditOutcome::Success, Some(&id)),
        1
    );
}

#[tokio::test]
async fn confirmation_codes_allow_five_tries_per_window_for_known_and_unknown_emails() {
    let e = env(clock!());
    let c = e.register("ivan@example.com").await;
    let user = e.user("ivan@example.com").await.unwrap();
    let wrong = other_code(&c.code);

    for _ in 0..5 {
        let known = e
            .sigra
            .confirm_with_code("ivan@example.com", wrong, &meta())
            .await
            .unwrap_err();
        let unknown = e
            .sigra
            .confirm_with_code("nobody@example.com", wrong, &meta())
            .await
            .unwrap_err();
        assert!(matches!(known, AuthError::InvalidCode), "{known:?}");
        assert!(matches!(unknown, AuthError::InvalidCode), "{unknown:?}");
        assert_eq!(known.to_string(), unknown.to_string());
    }
    assert_eq!(
        e.audit_count("auth.confirm", AuditOutcome::Failure, Some(&user.id)),
        5,
        "every wrong code leaves a failure row"
    );
    // A malformed code counts as a try too (and answers the same).
    e.clock.advance(MIN);
    let known = e
        .sigra
        .confirm_with_code("ivan@example.com", &c.code, &meta())
        .await
        .unwrap_err();
    let unknown = e
        .sigra
        .confirm_with_code("nobody@example.com", "12ab", &meta())
        .await
        .unwrap_err();
    let (
        AuthError::TooManyAttempts { retry_after: a },
        AuthError::TooManyAttempts { retry_after: b },
    ) = (&known, &unknown)
    else {
        panic!("expected TooManyAttempts for both: {known:?} / {unknown:?}");
    };
    assert_eq!(a, b, "known and unknown emails are counted alike");
    assert_eq!(*a, Duration::from_secs(14 * 60));
    assert_eq!(known.to_string(), unknown.to_string());
    assert!(
        e.user("ivan@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );

    // The next window allows the right code.
    e.clock.advance(14 * MIN);
    e.sigra
        .confirm_with_code("ivan@example.com", &c.code, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn confirmation_links_are_single_use_and_log_in() {
    let e = env(clock!());
    let c = e.register("jane@example.com").await;
    let logged_in = e.sigra.confirm_with_link(&c.token, &meta()).await.unwrap();
    assert!(logged_in.user.confirmed_at.is_some());
    assert!(e.auth(&logged_in).await.is_some());
    assert!(matches!(
        e.sigra.confirm_with_link(&c.token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    // The code went with it.
    assert!(matches!(
        e.sigra
            .confirm_with_code("jane@example.com", &c.code, &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    assert_eq!(
        e.audit_count(
            "auth.confirm",
            AuditOutcome::Success,
            Some(&logged_in.user.id)
        ),
        1
    );
}

#[tokio::test]
async fn confirmation_links_and_codes_expire_after_48_hours() {
    let e = env(clock!());
    let early = e.register("kim@example.com").await;
    let late = e.register("lee@example.com").await;
    let code_user = e.register("mia@example.com").await;

    e.clock.advance(47 * HOUR);
    e.sigra
        .confirm_with_link(&early.token, &meta())
        .await
        .unwrap();

    e.clock.advance(HOUR + 1);
    assert!(matches!(
        e.sigra.confirm_with_link(&late.token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra
            .confirm_with_code("mia@example.com", &code_user.code, &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
    assert!(
        e.user("lee@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );
    assert!(
        e.user("mia@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );
}

#[tokio::test]
async fn links_signed_for_another_purpose_or_forged_are_refused() {
    let e = env(clock!());
    let c = e.register("nora@example.com").await;
    let omar = e.confirmed("omar@example.com").await;
    let reset = token_of(
        &e.sigra
            .request_password_reset("nora@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let magic = token_of(
        &e.sigra
            .request_magic_link("nora@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let auth = e.authed(&omar).await;

    // A reset token used as a confirmation, magic or email-change token, and so on.
    for token in [&reset, &magic] {
        assert!(matches!(
            e.sigra.confirm_with_link(token, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            e.sigra.confirm_email_change(&auth, token, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    for token in [&reset, &c.token] {
        assert!(matches!(
            e.sigra.log_in_with_magic_link(token, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    for token in [&magic, &c.token] {
        assert!(matches!(
            e.sigra.reset_password(token, &pw(PW2), &meta()).await,
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            e.sigra.check_reset_token(token).await,
            Err(AuthError::InvalidToken)
        ));
    }
    // Garbage and tampered tokens.
    // Flip the first character of the MAC (all six of its bits count).
    let mac_at = c.token.rfind('.').unwrap() + 1;
    let mut tampered = c.token.clone();
    let flipped = if tampered[mac_at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(mac_at..=mac_at, flipped);
    for bad in ["", "garbage", "v1.x.y", tampered.as_str()] {
        assert!(matches!(
            e.sigra.confirm_with_link(bad, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    // None of that used anything up.
    e.sigra.check_reset_token(&reset).await.unwrap();
    e.sigra.confirm_with_link(&c.token, &meta()).await.unwrap();
    e.sigra
        .log_in_with_magic_link(&magic, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_token_from_another_secret_key_base_is_refused() {
    let e = env(clock!());
    let c = e.register("otto@example.com").await;
    let other = Sigra::builder(e.store.clone(), SecretKeyBase::new(vec![8u8; 64]).unwrap())
        .password_hasher(hasher(64))
        .clock(e.clock.read)
        .build()
        .unwrap();
    assert!(matches!(
        other.confirm_with_link(&c.token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    // The code is keyed by the secret too.
    assert!(matches!(
        other
            .confirm_with_code("otto@example.com", &c.code, &meta())
            .await,
        Err(AuthError::InvalidCode)
    ));
}

// ---------------------------------------------------------------------------------------------
// log_in
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn log_in_success_starts_in_sudo_and_is_audited() {
    let e = env(clock!());
    let first = e.confirmed("pia@example.com").await;
    let id = first.user.id;
    e.clock.advance(MIN);
    let logged_in = e.login_ok("PIA@example.com", PW).await;
    assert_eq!(logged_in.user.id, id);
    assert_eq!(logged_in.session.kind, SessionKind::Standard);
    assert_eq!(logged_in.session.sudo_at, Some(e.clock.now()));
    assert_eq!(logged_in.session.ip.as_deref(), Some(IP));
    assert_eq!(logged_in.session.user_agent.as_deref(), Some(UA));
    let auth = e.authed(&logged_in).await;
    assert!(e.sigra.in_sudo(&auth));
    assert_eq!(
        e.audit_count("auth.login", AuditOutcome::Success, Some(&id)),
        1
    );
    assert_eq!(
        e.audit_count("session.create", AuditOutcome::Success, Some(&id)),
        2,
        "one for the confirmation, one for this login"
    );
    // Two logins, two distinct sessions.
    assert_ne!(logged_in.token, first.token);
    assert_eq!(e.sigra.list_sessions(&id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn five_failures_lock_for_fifteen_minutes_with_one_notice() {
    let e = env(clock!());
    let id = e.confirmed("quin@example.com").await.user.id;

    for n in 1..=4 {
        let attempt = e.log_in("quin@example.com", WRONG, false).await;
        assert_failed_silently(&attempt);
        assert_eq!(e.user_by_id(&id).await.failed_login_attempts, n);
    }
    let fifth = e.log_in("quin@example.com", WRONG, false).await;
    assert_eq!(
        failed(&fifth),
        Some(Some(&AuthMail::LockoutNotice {
            to: "quin@example.com".into()
        }))
    );
    let locked = e.user_by_id(&id).await;
    assert_eq!(locked.failed_login_attempts, 5);
    assert_eq!(locked.locked_at, Some(e.clock.now()));
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, Some(&id)),
        1
    );

    // While locked: wrong and right passwords fail alike, no second notice, no counting.
    for password in [WRONG, PW, WRONG] {
        let attempt = e.log_in("quin@example.com", password, false).await;
        assert_failed_silently(&attempt);
    }
    e.clock.advance(15 * MIN - 1);
    assert_failed_silently(&e.log_in("quin@example.com", PW, false).await);
    assert_eq!(e.user_by_id(&id).await.failed_login_attempts, 5);
    assert_eq!(e.sigra.list_sessions(&id).await.unwrap().len(), 1);

    // After 15 minutes the lock is over and the count starts again.
    e.clock.advance(1);
    assert_failed_silently(&e.log_in("quin@example.com", WRONG, false).await);
    let after = e.user_by_id(&id).await;
    assert_eq!(after.failed_login_attempts, 1);
    assert_eq!(after.locked_at, None);
    e.login_ok("quin@example.com", PW).await;
    assert_eq!(e.user_by_id(&id).await.failed_login_attempts, 0);

    // A second lock sends a second notice, once.
    let mut notices = 0;
    for _ in 0..7 {
        if let Some(Some(_)) = failed(&e.log_in("quin@example.com", WRONG, false).await) {
            notices += 1;
        }
    }
    assert_eq!(notices, 1);
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, Some(&id)),
        2
    );
}

#[tokio::test]
async fn unknown_emails_fail_like_wrong_passwords() {
    let e = env(clock!());
    e.confirmed("rosa@example.com").await;
    let unknown = e.log_in("nobody@example.com", PW, false).await;
    let wrong = e.log_in("rosa@example.com", WRONG, false).await;
    let malformed = e.log_in("not an email", PW, false).await;
    for attempt in [&unknown, &wrong, &malformed] {
        assert_failed_silently(attempt);
    }
    let reasons: Vec<String> = e
        .audit()
        .iter()
        .filter(|a| a.action == "auth.login" && a.outcome == AuditOutcome::Failure)
        .map(|a| a.metadata["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons,
        ["unknown_email", "invalid_password", "unknown_email"]
    );
}

#[tokio::test]
async fn remember_me_gives_a_remember_me_session() {
    let e = env(clock!());
    e.confirmed("sam@example.com").await;
    let LoginAttempt::Success(l) = e.log_in("sam@example.com", PW, true).await else {
        panic!("login failed");
    };
    assert_eq!(l.session.kind, SessionKind::RememberMe);
    assert_eq!(e.authed(&l).await.session.kind, SessionKind::RememberMe);
    let audit = e.audit();
    let login = audit
        .iter()
        .rev()
        .find(|a| a.action == "auth.login")
        .unwrap();
    assert_eq!(login.metadata["remember_me"], true);
    let create = audit.last().unwrap();
    assert_eq!(create.action, "session.create");
    assert_eq!(create.metadata["kind"], "remember_me");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_are_all_counted() {
    // Threshold 10 and 10 racers: every failure must be counted and exactly one locks.
    let config = SigraConfig::builder()
        .lockout(|l| l.threshold = 10)
        .build()
        .unwrap();
    let e = env_with(clock!(), config);
    let id = e.confirmed("tess@example.com").await.user.id;
    let notices = race_wrong_logins(&e, "tess@example.com", 10).await;
    let user = e.user_by_id(&id).await;
    assert_eq!(user.failed_login_attempts, 10);
    assert_eq!(notices, 1);
    assert!(user.locked_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_lock_once_at_the_threshold() {
    let e = env(clock!());
    let id = e.confirmed("uma@example.com").await.user.id;
    let notices = race_wrong_logins(&e, "uma@example.com", 10).await;
    assert_eq!(notices, 1, "exactly one lockout notice");
    let user = e.user_by_id(&id).await;
    assert!(user.locked_at.is_some());
    // Every attempt was either counted or refused as locked, and the counted ones are
    // exactly the stored count.
    let reasons: Vec<String> = e
        .audit()
        .iter()
        .filter(|a| a.action == "auth.login" && a.outcome == AuditOutcome::Failure)
        .map(|a| a.metadata["reason"].as_str().unwrap().to_owned())
        .collect();
    let counted = reasons.iter().filter(|r| *r == "invalid_password").count();
    let refused = reasons.iter().filter(|r| *r == "locked").count();
    assert_eq!(counted + refused, 10);
    assert_eq!(
        counted,
        usize::try_from(user.failed_login_attempts).unwrap()
    );
    assert!(counted >= 5);
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, Some(&id)),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_lock_does_not_open_a_window_for_parallel_guesses() {
    // After a lock expires, a burst of concurrent wrong passwords must lock the account again
    // at the threshold, not each reset the count to 1.
    let e = env(clock!());
    let id = e.confirmed("vera@example.com").await.user.id;
    for _ in 0..5 {
        e.log_in("vera@example.com", WRONG, false).await;
    }
    assert!(e.user_by_id(&id).await.locked_at.is_some());
    e.clock.advance(15 * MIN);

    let notices = race_wrong_logins(&e, "vera@example.com", 10).await;
    let user = e.user_by_id(&id).await;
    assert!(
        user.locked_at.is_some(),
        "10 wrong passwords after the lock expired must lock again (count {})",
        user.failed_login_attempts
    );
    assert_eq!(notices, 1);
    assert_eq!(user.failed_login_attempts, 5);
}

#[tokio::test]
async fn a_count_above_a_lowered_threshold_still_locks() {
    // Seven failures under a threshold of 10; the app then lowers it to 5.
    let lenient = env_with(
        clock!(),
        SigraConfig::builder()
            .lockout(|l| l.threshold = 10)
            .build()
            .unwrap(),
    );
    let id = lenient.confirmed("wendy@example.com").await.user.id;
    for _ in 0..7 {
        assert_failed_silently(&lenient.log_in("wendy@example.com", WRONG, false).await);
    }
    let strict = Sigra::builder(
        lenient.store.clone(),
        SecretKeyBase::new(vec![7u8; 64]).unwrap(),
    )
    .password_hasher(hasher(64))
    .clock(lenient.clock.read)
    .build()
    .unwrap();
    let attempt = strict
        .log_in("wendy@example.com", &pw(WRONG), false, &meta())
        .await
        .unwrap();
    assert!(matches!(
        attempt,
        LoginAttempt::Failed {
            notice: Some(AuthMail::LockoutNotice { .. })
        }
    ));
    assert!(lenient.user_by_id(&id).await.locked_at.is_some());
}

async fn race_wrong_logins(e: &Env, email: &'static str, n: usize) -> usize {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let sigra = e.sigra.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            sigra.log_in(email, &pw(WRONG), false, &meta()).await
        }));
    }
    let mut notices = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            LoginAttempt::Failed { notice: Some(n) } => {
                assert_eq!(n.kind(), "lockout_notice");
                notices += 1;
            }
            LoginAttempt::Failed { notice: None } => {}
            other => panic!("{other:?}"),
        }
    }
    notices
}

#[tokio::test]
async fn stale_argon2_and_bcrypt_hashes_are_upgraded_on_login() {
    let e = env(clock!());
    let stale_argon = hasher(128).hash(&pw(PW)).await.unwrap();
    assert!(stale_argon.as_str().contains("m=128"));
    let bcrypt_hash = bcrypt::hash(PW, 4).unwrap();
    let argon_user = e
        .insert_user("walt@example.com", stale_argon.as_str())
        .await;
    let bcrypt_user = e.insert_user("xena@example.com", &bcrypt_hash).await;

    // A wrong password upgrades nothing.
    assert_failed_silently(&e.log_in("xena@example.com", WRONG, false).await);
    assert_eq!(
        e.user_by_id(&bcrypt_user.id).await.hashed_password,
        Some(bcrypt_hash.clone())
    );

    for (user, old) in [
        (&argon_user, stale_argon.as_str().to_owned()),
        (&bcrypt_user, bcrypt_hash.clone()),
    ] {
        let logged_in = e.login_ok(&user.email, PW).await;
        let stored = e.user_by_id(&user.id).await;
        let new = stored.hashed_password.clone().unwrap();
        assert_ne!(new, old);
        assert!(new.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{new}");
        assert_eq!(
            logged_in.user.hashed_password.as_deref(),
            Some(new.as_str())
        );
        assert_eq!(
            e.sigra
                .password_hasher()
                .verify(&pw(PW), &new)
                .await
                .unwrap(),
            Verification::Valid { upgraded: None }
        );
        assert_eq!(
            stored.password_changed_at, None,
            "a rehash is not a password change"
        );
        // And the upgraded hash logs in.
        e.login_ok(&user.email, PW).await;
        assert_eq!(e.user_by_id(&user.id).await.hashed_password, Some(new));
    }
}

#[tokio::test]
async fn unconfirmed_accounts_are_blocked_only_when_configured() {
    let config = SigraConfig::builder()
        .account(|a| a.unconfirmed = UnconfirmedPolicy::Block)
        .build()
        .unwrap();
    let e = env_with(clock!(), config);
    let c = e.register("yara@example.com").await;
    let err = e
        .sigra
        .log_in("yara@example.com", &pw(PW), false, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unconfirmed), "{err:?}");
    // A wrong password still answers like any wrong password.
    assert_failed_silently(&e.log_in("yara@example.com", WRONG, false).await);
    let id = e.user("yara@example.com").await.unwrap().id;
    assert!(e.sigra.list_sessions(&id).await.unwrap().is_empty());
    e.sigra.confirm_with_link(&c.token, &meta()).await.unwrap();
    e.login_ok("yara@example.com", PW).await;

    // The default allows them.
    let e = env(clock!());
    e.register("zoe@example.com").await;
    e.login_ok("zoe@example.com", PW).await;
}

// ---------------------------------------------------------------------------------------------
// authenticate
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authenticate_accepts_the_cookie_and_nothing_else() {
    let e = env(clock!());
    let l = e.confirmed("abe@example.com").await;
    let auth = e.authed(&l).await;
    assert_eq!(auth.user.id, l.user.id);
    assert_eq!(auth.session.id, l.session.id);
    let cookie = l.token.cookie_value();
    let bad = [
        String::new(),
        "garbage".into(),
        SessionToken::generate().unwrap().cookie_value(),
        cookie[..42].into(),
        format!("{cookie}A"),
        cookie.to_uppercase(),
    ];
    for bad in &bad {
        assert!(
            e.sigra.authenticate(bad).await.unwrap().is_none(),
            "{bad:?}"
        );
    }
    assert!(e.auth(&l).await.is_some(), "still valid");
}

#[tokio::test]
async fn idle_standard_sessions_expire_after_30_minutes_and_are_deleted() {
    let e = env(clock!());
    let l = e.confirmed("bea@example.com").await;
    let digest = digest_of(&l.token);
    // Activity keeps it alive past 30 minutes from creation.
    e.clock.advance(20 * MIN);
    assert!(e.auth(&l).await.is_some());
    e.clock.advance(20 * MIN);
    assert!(e.auth(&l).await.is_some());
    // 30 idle minutes end it.
    e.clock.advance(30 * MIN);
    assert!(e.auth(&l).await.is_none());
    assert!(e.session_row(&digest).await.is_none(), "the row is deleted");
    assert!(e.sigra.list_sessions(&l.user.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn standard_sessions_end_after_24_hours_whatever_the_activity() {
    let e = env(clock!());
    let l = e.confirmed("cal@example.com").await;
    for _ in 0..71 {
        e.clock.advance(20 * MIN);
        assert!(e.auth(&l).await.is_some());
    }
    e.clock.advance(20 * MIN); // 24 h after creation
    assert!(e.auth(&l).await.is_none());
    assert!(e.session_row(&digest_of(&l.token)).await.is_none());
}

#[tokio::test]
async fn last_active_is_written_only_after_five_minutes() {
    let e = env(clock!());
    let l = e.confirmed("dee@example.com").await;
    let digest = digest_of(&l.token);
    let created = e.clock.now();

    e.clock.advance(5 * MIN - 1);
    let auth = e.authed(&l).await;
    assert_eq!(auth.session.last_active_at, created);
    assert_eq!(
        e.session_row(&digest).await.unwrap().last_active_at,
        created
    );

    let writes_before = e.begins();
    e.clock.advance(1);
    let auth = e.authed(&l).await;
    assert_eq!(auth.session.last_active_at, e.clock.now());
    assert_eq!(
        e.session_row(&digest).await.unwrap().last_active_at,
        e.clock.now()
    );
    assert_eq!(e.begins() - writes_before, 2, "one read, one touch");

    // Right after the touch: a read only.
    let before = e.begins();
    e.clock.advance(MIN);
    e.authed(&l).await;
    assert_eq!(e.begins() - before, 1);
}

#[tokio::test]
async fn mfa_pending_sessions_never_authenticate() {
    let e = env(clock!());
    let l = e.confirmed("eli@example.com").await;
    let cookie = e.insert_mfa_pending(&l.user.id).await;
    assert!(e.sigra.authenticate(&cookie).await.unwrap().is_none());
    e.clock.advance(MIN);
    assert!(e.sigra.authenticate(&cookie).await.unwrap().is_none());
    let listed = e.sigra.list_sessions(&l.user.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, l.session.id);
}

#[tokio::test]
async fn remember_me_sessions_survive_idleness_until_60_days() {
    let e = env(clock!());
    e.confirmed("fay@example.com").await;
    let LoginAttempt::Success(l) = e.log_in("fay@example.com", PW, true).await else {
        panic!()
    };
    let standard = e.login_ok("fay@example.com", PW).await;
    e.clock.advance(31 * MIN);
    assert!(e.auth(&standard).await.is_none());
    assert!(e.auth(&l).await.is_some());
    e.clock.advance(59 * DAY - 31 * MIN);
    assert!(e.auth(&l).await.is_some());
    e.clock.advance(DAY);
    assert!(e.auth(&l).await.is_none());
    assert!(e.session_row(&digest_of(&l.token)).await.is_none());
}

// ---------------------------------------------------------------------------------------------
// sudo
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sudo_lasts_five_minutes_after_a_login() {
    let e = env(clock!());
    e.confirmed("gus@example.com").await;
    let l = e.login_ok("gus@example.com", PW).await;
    assert!(e.sigra.in_sudo(&e.authed(&l).await));
    e.clock.advance(5 * MIN - 1);
    assert!(e.sigra.in_sudo(&e.authed(&l).await));
    e.clock.advance(1);
    assert!(!e.sigra.in_sudo(&e.authed(&l).await));
}

#[tokio::test]
async fn enter_sudo_with_the_password_rotates_the_session() {
    let e = env(clock!());
    e.confirmed("hal@example.com").await;
    let LoginAttempt::Success(l) = e.log_in("hal@example.com", PW, true).await else {
        panic!()
    };
    e.clock.advance(10 * MIN);
    let auth = e.authed(&l).await;
    assert!(!e.sigra.in_sudo(&auth));
    let fresh = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.unwrap();
    assert_ne!(fresh.token, l.token);
    assert!(e.auth(&l).await.is_none(), "the old cookie is dead");
    assert!(e.session_row(&digest_of(&l.token)).await.is_none());
    let new_auth = e.authed(&fresh).await;
    assert!(e.sigra.in_sudo(&new_auth));
    assert_eq!(
        new_auth.session.kind,
        SessionKind::RememberMe,
        "kind is kept"
    );
    assert_eq!(
        e.audit_count(
            "session.sudo_enter",
            AuditOutcome::Success,
            Some(&auth.user.id)
        ),
        1
    );
    assert_eq!(e.sigra.list_sessions(&auth.user.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn enter_sudo_with_a_wrong_password_is_refused_and_audited() {
    let e = env(clock!());
    let l = e.confirmed("ida@example.com").await;
    e.clock.advance(10 * MIN);
    let auth = e.authed(&l).await;
    let err = e
        .sigra
        .enter_sudo(&auth, &pw(WRONG), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    assert_eq!(
        e.audit_count(
            "session.sudo_enter",
            AuditOutcome::Failure,
            Some(&auth.user.id)
        ),
        1
    );
    let still = e.authed(&l).await;
    assert!(!e.sigra.in_sudo(&still));
}

#[tokio::test]
async fn enter_sudo_on_a_session_revoked_meanwhile_creates_no_session() {
    let e = env(clock!());
    let l = e.confirmed("jon@example.com").await;
    let auth = e.authed(&l).await;
    // Another device logs this session out between the request's authenticate and its
    // enter_sudo.
    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    let result = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await;
    assert!(
        matches!(result, Err(AuthError::SessionExpired)),
        "a revoked session must not come back: {result:?}"
    );
    assert!(
        e.sigra
            .list_sessions(&auth.user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// change_password
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn change_password_requires_sudo() {
    let e = env(clock!());
    let l = e.confirmed("kai@example.com").await; // confirmation sessions are not in sudo
    let auth = e.authed(&l).await;
    assert!(!e.sigra.in_sudo(&auth));
    let err = e
        .sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SudoRequired), "{err:?}");
    e.login_ok("kai@example.com", PW).await;
}

#[tokio::test]
async fn change_password_revokes_other_sessions_and_outstanding_links() {
    let e = env(clock!());
    let other = e.confirmed("lea@example.com").await;
    let l = e.login_ok("lea@example.com", PW).await;
    let reset = token_of(
        &e.sigra
            .request_password_reset("lea@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let magic = token_of(
        &e.sigra
            .request_magic_link("lea@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let auth = e.authed(&l).await;

    // A weak new password changes nothing.
    let err = e
        .sigra
        .change_password(&auth, &pw("lea@example.com"), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::WeakPassword(_)));
    assert!(e.auth(&other).await.is_some());

    let (logged_in, notice) = e
        .sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(
        notice,
        AuthMail::PasswordChanged {
            to: "lea@example.com".into()
        }
    );
    assert!(e.auth(&other).await.is_none(), "other sessions are revoked");
    assert!(
        e.auth(&l).await.is_none(),
        "the current session is replaced"
    );
    let now_auth = e.authed(&logged_in).await;
    assert!(e.sigra.in_sudo(&now_auth));
    assert_eq!(e.sigra.list_sessions(&auth.user.id).await.unwrap().len(), 1);
    let stored = e.user_by_id(&auth.user.id).await;
    assert_eq!(stored.password_changed_at, Some(e.clock.now()));
    assert_eq!(logged_in.user.hashed_password, stored.hashed_password);

    assert_failed_silently(&e.log_in("lea@example.com", PW, false).await);
    e.login_ok("lea@example.com", PW2).await;
    assert!(matches!(
        e.sigra.check_reset_token(&reset).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW), &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&magic, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    let change = e
        .audit()
        .into_iter()
        .find(|a| a.action == "auth.password_change")
        .unwrap();
    assert_eq!(change.metadata["sessions_revoked"], 1);
}

// ---------------------------------------------------------------------------------------------
// email change
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn email_change_requests_need_sudo_and_a_different_valid_address() {
    let e = env(clock!());
    let l = e.confirmed("max@example.com").await;
    let auth = e.authed(&l).await;
    let err = e
        .sigra
        .request_email_change(&auth, "new@example.com", &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SudoRequired), "{err:?}");

    let auth = e.authed(&e.login_ok("max@example.com", PW).await).await;
    for (new, expected) in [
        ("MAX@Example.com", "SameEmail"),
        (" max@example.com ", "SameEmail"),
        ("not-an-address", "InvalidEmail"),
    ] {
        let err = e
            .sigra
            .request_email_change(&auth, new, &meta())
            .await
            .unwrap_err();
        let ok = match expected {
            "SameEmail" => matches!(err, AuthError::SameEmail),
            _ => matches!(err, AuthError::InvalidEmail),
        };
        assert!(ok, "{new:?}: {err:?}");
    }
    let mail = e
        .sigra
        .request_email_change(&auth, "max.new@example.com", &meta())
        .await
        .unwrap();
    assert_eq!(mail.kind(), "change_email");
    assert_eq!(mail.to(), "max.new@example.com");
    assert_eq!(
        e.user_by_id(&auth.user.id).await.email,
        "max@example.com",
        "nothing changes before the link is used"
    );
}

#[tokio::test]
async fn email_change_link_switches_the_address_and_revokes_other_sessions() {
    let e = env(clock!());
    let other = e.confirmed("ned@example.com").await;
    let l = e.login_ok("ned@example.com", PW).await;
    let auth = e.authed(&l).await;
    let mail = e
        .sigra
        .request_email_change(&auth, "ned.new@example.com", &meta())
        .await
        .unwrap();
    let token = token_of(&mail);
    e.clock.advance(10 * MIN); // out of sudo: confirming does not need it
    let auth = e.authed(&l).await;
    let (user, notice) = e
        .sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap();
    assert_eq!(user.email, "ned.new@example.com");
    assert_eq!(
        notice,
        AuthMail::EmailChanged {
            to: "ned@example.com".into(),
            new_email: "ned.new@example.com".into()
        },
        "the old address hears of the change"
    );
    assert!(e.user("ned@example.com").await.is_none());
    assert_eq!(
        e.user("ned.new@example.com").await.unwrap().id,
        auth.user.id
    );
    assert!(e.auth(&other).await.is_none(), "other sessions are revoked");
    assert!(e.auth(&l).await.is_some(), "the current one stays");
    assert!(matches!(
        e.sigra.confirm_email_change(&auth, &token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    e.login_ok("ned.new@example.com", PW).await;
    assert_failed_silently(&e.log_in("ned@example.com", PW, false).await);
    let complete = e
        .audit()
        .into_iter()
        .find(|a| a.action == "auth.email_change.complete")
        .unwrap();
    assert_eq!(complete.metadata["old_email"], "ned@example.com");
    assert_eq!(complete.metadata["new_email"], "ned.new@example.com");
}

#[tokio::test]
async fn email_change_link_of_another_user_is_refused() {
    let e = env(clock!());
    e.confirmed("oli@example.com").await;
    e.confirmed("pam@example.com").await;
    let oli = e.authed(&e.login_ok("oli@example.com", PW).await).await;
    let pam = e.authed(&e.login_ok("pam@example.com", PW).await).await;
    let token = token_of(
        &e.sigra
            .request_email_change(&oli, "oli.new@example.com", &meta())
            .await
            .unwrap(),
    );
    assert!(matches!(
        e.sigra.confirm_email_change(&pam, &token, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert_eq!(e.user_by_id(&pam.user.id).await.email, "pam@example.com");
    // Still usable by its owner.
    let (user, _) = e
        .sigra
        .confirm_email_change(&oli, &token, &meta())
        .await
        .unwrap();
    assert_eq!(user.email, "oli.new@example.com");
}

#[tokio::test]
async fn email_change_to_an_address_taken_meanwhile_changes_nothing() {
    let e = env(clock!());
    let other = e.confirmed("quentin@example.com").await;
    let l = e.login_ok("quentin@example.com", PW).await;
    let auth = e.authed(&l).await;
    let token = token_of(
        &e.sigra
            .request_email_change(&auth, "wanted@example.com", &meta())
            .await
            .unwrap(),
    );
    // Registration of a pending address is refused, but another account can still switch
    // to it first (both changes pending, the other confirmed first).
    e.confirmed("vera@example.com").await;
    let v = e.login_ok("vera@example.com", PW).await;
    let vera = e.authed(&v).await;
    let vera_token = token_of(
        &e.sigra
            .request_email_change(&vera, "WANTED@example.com", &meta())
            .await
            .unwrap(),
    );
    e.sigra
        .confirm_email_change(&vera, &vera_token, &meta())
        .await
        .unwrap();
    let err = e
        .sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::EmailTaken), "{err:?}");
    assert_eq!(
        e.user_by_id(&auth.user.id).await.email,
        "quentin@example.com"
    );
    assert_eq!(
        e.user("wanted@example.com").await.unwrap().email,
        "WANTED@example.com"
    );
    assert!(e.auth(&other).await.is_some(), "no session was revoked");
    assert_eq!(
        e.audit_count(
            "auth.email_change.complete",
            AuditOutcome::Success,
            Some(&auth.user.id)
        ),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// magic links and password reset
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_emails_get_no_link_and_the_same_answer() {
    let e = env(clock!());
    e.confirmed("rex@example.com").await;
    assert_eq!(
        e.sigra
            .request_magic_link("nobody@example.com", &meta())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        e.sigra
            .request_password_reset("nobody@example.com", &meta())
            .await
            .unwrap(),
        None
    );
    let magic = e
        .sigra
        .request_magic_link("REX@example.com", &meta())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(magic.kind(), "magic_link");
    assert_eq!(magic.to(), "rex@example.com");
    let reset = e
        .sigra
        .request_password_reset("rex@example.com", &meta())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reset.kind(), "reset_password");
    // A known address over its mail budget answers like an unknown one.
    e.sigra
        .request_magic_link("rex@example.com", &meta())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        e.sigra
            .request_password_reset("rex@example.com", &meta())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        e.sigra
            .request_magic_link("rex@example.com", &meta())
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        e.sigra.request_magic_link("bad", &meta()).await,
        Err(AuthError::InvalidEmail)
    ));
}

#[tokio::test]
async fn magic_links_are_single_use_log_in_in_sudo_and_confirm() {
    let e = env(clock!());
    e.register("sue@example.com").await;
    let first = token_of(
        &e.sigra
            .request_magic_link("sue@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let second = token_of(
        &e.sigra
            .request_magic_link("sue@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    e.clock.advance(MIN);
    let logged_in = e
        .sigra
        .log_in_with_magic_link(&first, &meta())
        .await
        .unwrap();
    assert_eq!(logged_in.user.email, "sue@example.com");
    assert_eq!(logged_in.user.confirmed_at, Some(e.clock.now()));
    assert_eq!(
        e.user("sue@example.com").await.unwrap().confirmed_at,
        Some(e.clock.now())
    );
    assert!(e.sigra.in_sudo(&e.authed(&logged_in).await));
    for used in [&first, &second] {
        assert!(matches!(
            e.sigra.log_in_with_magic_link(used, &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
    assert_eq!(
        e.audit_count(
            "auth.magic_link.login",
            AuditOutcome::Success,
            Some(&logged_in.user.id)
        ),
        1
    );
}

#[tokio::test]
async fn magic_links_expire_after_15_minutes() {
    let e = env(clock!());
    e.confirmed("tom@example.com").await;
    let a = token_of(
        &e.sigra
            .request_magic_link("tom@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let b = token_of(
        &e.sigra
            .request_magic_link("tom@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    e.clock.advance(15 * MIN - 1);
    e.sigra.log_in_with_magic_link(&a, &meta()).await.unwrap();
    // `a` deleted `b` anyway; a fresh one for the expiry check.
    assert!(e.sigra.log_in_with_magic_link(&b, &meta()).await.is_err());
    let c = token_of(
        &e.sigra
            .request_magic_link("tom@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    e.clock.advance(15 * MIN + 1);
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&c, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn password_reset_clears_sessions_tokens_and_lockout() {
    let e = env(clock!());
    let s1 = e.confirmed("uri@example.com").await;
    let s2 = e.login_ok("uri@example.com", PW).await;
    let id = s1.user.id;
    let reset = token_of(
        &e.sigra
            .request_password_reset("uri@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let magic = token_of(
        &e.sigra
            .request_magic_link("uri@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    for _ in 0..5 {
        e.log_in("uri@example.com", WRONG, false).await;
    }
    assert!(e.user_by_id(&id).await.locked_at.is_some());
    e.sigra.check_reset_token(&reset).await.unwrap();

    // A weak password leaves the link usable.
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw("short"), &meta()).await,
        Err(AuthError::WeakPassword(_))
    ));
    e.sigra.check_reset_token(&reset).await.unwrap();

    let notice = e
        .sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(
        notice,
        AuthMail::PasswordChanged {
            to: "uri@example.com".into()
        }
    );
    assert!(e.auth(&s1).await.is_none());
    assert!(e.auth(&s2).await.is_none());
    assert!(e.sigra.list_sessions(&id).await.unwrap().is_empty());
    assert!(matches!(
        e.sigra.log_in_with_magic_link(&magic, &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    let user = e.user_by_id(&id).await;
    assert_eq!(user.failed_login_attempts, 0);
    assert_eq!(user.locked_at, None);
    assert_eq!(user.password_changed_at, Some(e.clock.now()));
    // The link is single use.
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW), &meta()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        e.sigra.check_reset_token(&reset).await,
        Err(AuthError::InvalidToken)
    ));
    assert_failed_silently(&e.log_in("uri@example.com", PW, false).await);
    e.login_ok("uri@example.com", PW2).await;
    let complete = e
        .audit()
        .into_iter()
        .find(|a| a.action == "auth.password_reset.complete")
        .unwrap();
    assert_eq!(complete.metadata["sessions_revoked"], 2);
}

#[tokio::test]
async fn password_reset_confirms_and_expires_after_an_hour() {
    let e = env(clock!());
    e.register("val@example.com").await;
    let reset = token_of(
        &e.sigra
            .request_password_reset("val@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let late = token_of(
        &e.sigra
            .request_password_reset("val@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    e.clock.advance(HOUR - 1);
    e.sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();
    assert!(
        e.user("val@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_some()
    );
    let late2 = token_of(
        &e.sigra
            .request_password_reset("val@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    e.clock.advance(HOUR + 1);
    for t in [&late, &late2] {
        assert!(matches!(
            e.sigra.reset_password(t, &pw(PW), &meta()).await,
            Err(AuthError::InvalidToken)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_with_one_link_exactly_one_succeeds() {
    let e = env(clock!());
    e.confirmed("wes@example.com").await;
    let reset = token_of(
        &e.sigra
            .request_password_reset("wes@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    let candidates = ["first new passphrase", "second new passphrase"];
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for candidate in candidates {
        let sigra = e.sigra.clone();
        let reset = reset.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            sigra.reset_password(&reset, &pw(candidate), &meta()).await
        }));
    }
    let mut winners = Vec::new();
    for (candidate, t) in candidates.into_iter().zip(tasks) {
        match t.await.unwrap() {
            Ok(_) => winners.push(candidate),
            Err(AuthError::InvalidToken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one reset wins");
    e.login_ok("wes@example.com", winners[0]).await;
    assert_eq!(
        e.audit_count("auth.password_reset.complete", AuditOutcome::Success, None),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// sessions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sessions_can_be_listed_revoked_and_logged_out() {
    let e = env(clock!());
    let a1 = e.confirmed("xia@example.com").await;
    e.clock.advance(MIN);
    let a2 = e.login_ok("xia@example.com", PW).await;
    e.clock.advance(MIN);
    let a3 = e.login_ok("xia@example.com", PW).await;
    let b = e.confirmed("yan@example.com").await;
    let id = a1.user.id;
    e.insert_mfa_pending(&id).await;

    let listed = e.sigra.list_sessions(&id).await.unwrap();
    let ids: Vec<Id> = listed.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [a3.session.id, a2.session.id, a1.session.id],
        "most recent first, MFA-pending hidden"
    );

    let auth1 = e.authed(&a1).await;
    assert!(
        !e.sigra
            .revoke_session(&auth1, &b.session.id, &meta())
            .await
            .unwrap(),
        "another user's session is not ours to revoke"
    );
    assert!(e.auth(&b).await.is_some());
    assert!(
        e.sigra
            .revoke_session(&auth1, &a2.session.id, &meta())
            .await
            .unwrap()
    );
    assert!(e.auth(&a2).await.is_none());
    assert!(
        !e.sigra
            .revoke_session(&auth1, &a2.session.id, &meta())
            .await
            .unwrap()
    );
    assert_eq!(
        e.audit_count("session.revoke", AuditOutcome::Success, Some(&id)),
        1
    );

    let revoked = e
        .sigra
        .log_out_other_sessions(&auth1, &meta())
        .await
        .unwrap();
    assert_eq!(revoked, 2, "a3 and the MFA-pending one");
    assert!(e.auth(&a3).await.is_none());
    assert!(e.auth(&a1).await.is_some());
    assert!(e.auth(&b).await.is_some());
    assert_eq!(
        e.audit_count("session.revoke_all", AuditOutcome::Success, Some(&id)),
        1
    );

    e.sigra
        .log_out(&a1.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(e.auth(&a1).await.is_none());
    assert!(e.sigra.list_sessions(&id).await.unwrap().is_empty());
    assert_eq!(
        e.audit_count("session.delete", AuditOutcome::Success, Some(&id)),
        1
    );
    // Logging out twice, or with garbage, is harmless and unaudited.
    e.sigra
        .log_out(&a1.token.cookie_value(), &meta())
        .await
        .unwrap();
    e.sigra.log_out("garbage", &meta()).await.unwrap();
    assert_eq!(
        e.audit_count("session.delete", AuditOutcome::Success, None),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// rate limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rate_limit_allows_ten_per_window_per_key() {
    let e = env(clock!());
    e.clock.advance(15);
    let limit = Limit::new(10, Duration::from_secs(60));
    for n in 1..=10u32 {
        let d = e.sigra.rate_limit("auth:203.0.113.7", &limit).await;
        assert!(d.allowed, "hit {n}");
        assert_eq!(d.limit, 10);
        assert_eq!(d.remaining, 10 - n);
        assert_eq!(d.reset_after, Duration::from_secs(45));
    }
    let refused = e.sigra.rate_limit("auth:203.0.113.7", &limit).await;
    assert!(!refused.allowed);
    assert_eq!(refused.remaining, 0);
    assert!(refused.reset_after <= limit.window && refused.reset_after > Duration::ZERO);

    let other = e.sigra.rate_limit("auth:198.51.100.1", &limit).await;
    assert!(other.allowed, "keys are independent");
    assert_eq!(other.remaining, 9);

    e.clock.advance(45);
    assert!(e.sigra.rate_limit("auth:203.0.113.7", &limit).await.allowed);
}

#[tokio::test]
async fn rate_limit_fails_closed_when_the_store_fails() {
    // A store that cannot begin a transaction.
    #[derive(Clone)]
    struct Down;
    impl Store for Down {
        type Tx = MemoryTx;
        async fn begin(&self) -> Result<MemoryTx, StoreError> {
            Err(StoreError::backend("down"))
        }
        async fn begin_read(&self) -> Result<MemoryTx, StoreError> {
            Err(StoreError::backend("down"))
        }
    }
    let sigra = Sigra::builder(Down, SecretKeyBase::new(vec![7u8; 64]).unwrap())
        .password_hasher(hasher(64))
        .build()
        .unwrap();
    let limit = Limit::new(10, Duration::from_secs(60));
    let d = sigra.rate_limit("auth:x", &limit).await;
    assert!(!d.allowed);
    assert_eq!(d.reset_after, limit.window);
}

// ---------------------------------------------------------------------------------------------
// audit
// ---------------------------------------------------------------------------------------------

/// Records a secret to look for in audit metadata: the whole string and, for an envelope,
/// each long part of it (the raw token and the MAC).
fn remember(secrets: &mut Vec<String>, s: &str) {
    secrets.push(s.to_owned());
    for part in s.split('.').filter(|p| p.len() >= 16) {
        secrets.push(part.to_owned());
    }
}

const VOCABULARY: [&str; 16] = [
    "auth.register",
    "auth.confirm",
    "auth.login",
    "auth.magic_link.request",
    "auth.magic_link.login",
    "auth.password_reset.request",
    "auth.password_reset.complete",
    "auth.email_change.request",
    "auth.email_change.complete",
    "auth.password_change",
    "security.lockout",
    "session.create",
    "session.delete",
    "session.revoke",
    "session.revoke_all",
    "session.sudo_enter",
];

#[tokio::test]
async fn every_flow_is_audited_with_request_meta_and_without_secrets() {
    let e = env(clock!());
    let mut secrets: Vec<String> = vec![PW.into(), PW2.into(), WRONG.into()];
    let pw3 = "third passphrase here";
    secrets.push(pw3.into());

    // register (new and taken), a wrong code, the right code
    let c = e.register("amy@example.com").await;
    remember(&mut secrets, &c.token);
    remember(&mut secrets, &c.code);
    e.sigra
        .register("amy@example.com", &pw(PW), &meta())
        .await
        .unwrap();
    let _ = e
        .sigra
        .confirm_with_code("amy@example.com", other_code(&c.code), &meta())
        .await;
    let first = e
        .sigra
        .confirm_with_code("amy@example.com", &c.code, &meta())
        .await
        .unwrap();
    remember(&mut secrets, &first.token.cookie_value());

    // logins: unknown, wrong x5 (lockout), then after the lock a good one
    e.log_in("nobody@example.com", PW, false).await;
    for _ in 0..5 {
        e.log_in("amy@example.com", WRONG, false).await;
    }
    e.clock.advance(15 * MIN);
    let l = e.login_ok("amy@example.com", PW).await;
    remember(&mut secrets, &l.token.cookie_value());

    // sudo (wrong, right), password change
    e.clock.advance(10 * MIN);
    let auth = e.authed(&l).await;
    let _ = e.sigra.enter_sudo(&auth, &pw(WRONG), &meta()).await;
    let sudo = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.unwrap();
    remember(&mut secrets, &sudo.token.cookie_value());
    let auth = e.authed(&sudo).await;
    let (changed, _) = e
        .sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    remember(&mut secrets, &changed.token.cookie_value());
    let auth = e.authed(&changed).await;

    // email change
    let change = token_of(
        &e.sigra
            .request_email_change(&auth, "amy.new@example.com", &meta())
            .await
            .unwrap(),
    );
    remember(&mut secrets, &change);
    e.sigra
        .confirm_email_change(&auth, &change, &meta())
        .await
        .unwrap();

    // magic link and reset (new window: the mail budget is per 15 minutes)
    e.clock.advance(15 * MIN);
    e.sigra
        .request_magic_link("nobody@example.com", &meta())
        .await
        .unwrap();
    let magic = token_of(
        &e.sigra
            .request_magic_link("amy.new@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    remember(&mut secrets, &magic);
    let via_magic = e
        .sigra
        .log_in_with_magic_link(&magic, &meta())
        .await
        .unwrap();
    remember(&mut secrets, &via_magic.token.cookie_value());
    let reset = token_of(
        &e.sigra
            .request_password_reset("amy.new@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    remember(&mut secrets, &reset);
    e.sigra
        .reset_password(&reset, &pw(pw3), &meta())
        .await
        .unwrap();

    // sessions: revoke one, revoke the others, log out
    let s1 = e.login_ok("amy.new@example.com", pw3).await;
    let s2 = e.login_ok("amy.new@example.com", pw3).await;
    let s3 = e.login_ok("amy.new@example.com", pw3).await;
    for s in [&s1, &s2, &s3] {
        remember(&mut secrets, &s.token.cookie_value());
    }
    let auth = e.authed(&s1).await;
    e.sigra
        .revoke_session(&auth, &s2.session.id, &meta())
        .await
        .unwrap();
    e.sigra
        .log_out_other_sessions(&auth, &meta())
        .await
        .unwrap();
    e.sigra
        .log_out(&s1.token.cookie_value(), &meta())
        .await
        .unwrap();

    let rows = e.audit();
    let mut seen: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    let mut expected = VOCABULARY.to_vec();
    expected.sort_unstable();
    assert_eq!(
        seen, expected,
        "every action of the vocabulary, and only those"
    );

    for row in &rows {
        assert_eq!(row.ip.as_deref(), Some(IP), "{}", row.action);
        assert_eq!(row.user_agent.as_deref(), Some(UA), "{}", row.action);
        assert!(row.metadata.is_object(), "{}", row.action);
        let json = serde_json::to_string(&row.metadata).unwrap();
        for secret in &secrets {
            assert!(
                !json.contains(secret.as_str()),
                "{} metadata carries a secret: {json}",
                row.action
            );
        }
        assert!(!json.contains("$argon2"), "{}: {json}", row.action);
        assert!(
            row.occurred_at >= OffsetDateTime::from_unix_timestamp(T0).unwrap()
                && row.occurred_at <= e.clock.now(),
            "rows are stamped with the flow's clock"
        );
    }
    // Anonymous failures name no actor.
    for row in rows.iter().filter(|r| r.outcome == AuditOutcome::Failure) {
        if row.action != "session.sudo_enter" {
            assert_eq!(row.actor_id, None, "{}", row.action);
        }
    }
}

#[tokio::test]
async fn a_change_and_its_audit_row_commit_together() {
    let e = env(clock!());

    // Registration: no user without its row.
    e.fail_on(Some("auth.register"));
    assert!(matches!(
        e.sigra.register("bo@example.com", &pw(PW), &meta()).await,
        Err(AuthError::Store(_))
    ));
    assert!(e.user("bo@example.com").await.is_none());
    e.fail_on(None);
    let c = e.register("bo@example.com").await;

    // Confirmation: the session row failing rolls back the confirmation and keeps the tokens.
    e.fail_on(Some("session.create"));
    assert!(matches!(
        e.sigra.confirm_with_link(&c.token, &meta()).await,
        Err(AuthError::Store(_))
    ));
    assert!(
        e.user("bo@example.com")
            .await
            .unwrap()
            .confirmed_at
            .is_none()
    );
    e.fail_on(None);
    let l = e.sigra.confirm_with_link(&c.token, &meta()).await.unwrap();
    let id = l.user.id;

    // Lockout: the fifth failure's row failing leaves the count at four, unlocked.
    for _ in 0..4 {
        e.log_in("bo@example.com", WRONG, false).await;
    }
    e.fail_on(Some("security.lockout"));
    assert!(
        e.sigra
            .log_in("bo@example.com", &pw(WRONG), false, &meta())
            .await
            .is_err()
    );
    let user = e.user_by_id(&id).await;
    assert_eq!(user.failed_login_attempts, 4);
    assert!(user.locked_at.is_none());
    e.fail_on(None);

    // Password change: old password and other sessions survive a failed audit write.
    let s = e.login_ok("bo@example.com", PW).await;
    let auth = e.authed(&s).await;
    e.fail_on(Some("auth.password_change"));
    assert!(matches!(
        e.sigra.change_password(&auth, &pw(PW2), &meta()).await,
        Err(AuthError::Store(_))
    ));
    e.fail_on(None);
    assert!(e.auth(&l).await.is_some());
    assert!(e.auth(&s).await.is_some());
    e.login_ok("bo@example.com", PW).await;

    // Reset: the link survives a failed completion.
    let reset = token_of(
        &e.sigra
            .request_password_reset("bo@example.com", &meta())
            .await
            .unwrap()
            .unwrap(),
    );
    e.fail_on(Some("auth.password_reset.complete"));
    assert!(matches!(
        e.sigra.reset_password(&reset, &pw(PW2), &meta()).await,
        Err(AuthError::Store(_))
    ));
    e.fail_on(None);
    assert!(e.auth(&s).await.is_some());
    e.sigra.check_reset_token(&reset).await.unwrap();
    e.sigra
        .reset_password(&reset, &pw(PW2), &meta())
        .await
        .unwrap();

    // Nothing failed got a row.
    assert_eq!(
        e.audit_count("auth.password_change", AuditOutcome::Success, None),
        0
    );
    assert_eq!(
        e.audit_count("security.lockout", AuditOutcome::Success, None),
        0
    );
    assert_eq!(
        e.audit_count("auth.password_reset.complete", AuditOutcome::Success, None),
        1
    );
}

#[tokio::test]
async fn clocks_of_different_tests_are_independent() {
    let a = clock!();
    let b = clock!();
    a.advance(100);
    assert_eq!(b.now().unix_timestamp(), T0);
    b.set(T0 + 5);
    assert_eq!(a.now().unix_timestamp(), T0 + 100);
}

// ---------------------------------------------------------------- the session cache

impl Env {
    /// A second app instance on the same store and clock (its own session cache).
    fn other_instance(&self, config: SigraConfig) -> Sigra<Rec> {
        Sigra::builder(
            self.store.clone(),
            SecretKeyBase::new(vec![7u8; 64]).unwrap(),
        )
        .config(config)
        .password_hasher(hasher(64))
        .clock(self.clock.read)
        .build()
        .unwrap()
    }
}

#[tokio::test]
async fn a_revocation_by_another_instance_is_seen_within_the_cache_ttl() {
    let e = env(clock!());
    let a = e.confirmed("cache@example.com").await;
    let other = e.other_instance(SigraConfig::default());
    assert!(e.auth(&a).await.is_some(), "read once: now cached here");

    other
        .log_out(&a.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(
        other
            .authenticate(&a.token.cookie_value())
            .await
            .unwrap()
            .is_none(),
        "the instance that logged out sees it at once"
    );
    e.clock.advance(9);
    assert!(
        e.auth(&a).await.is_some(),
        "this instance still answers from its cache inside the TTL (10 s by default)"
    );
    e.clock.advance(1);
    assert!(
        e.auth(&a).await.is_none(),
        "and reads the database after it"
    );
}

#[tokio::test]
async fn a_zero_cache_ttl_reads_the_database_on_every_request() {
    let config = SigraConfig::builder()
        .session(|s| s.cache_ttl = std::time::Duration::ZERO)
        .build()
        .unwrap();
    let e = env_with(clock!(), config.clone());
    let a = e.confirmed("nocache@example.com").await;
    let other = e.other_instance(config);
    assert!(e.auth(&a).await.is_some());
    other
        .log_out(&a.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(e.auth(&a).await.is_none());
}

#[tokio::test]
async fn changes_through_this_instance_apply_to_cached_sessions_at_once() {
    let e = env(clock!());
    let a1 = e.confirmed("warm@example.com").await;
    let a2 = e.login_ok("warm@example.com", PW).await;
    let a3 = e.login_ok("warm@example.com", PW).await;
    for a in [&a1, &a2, &a3] {
        assert!(e.auth(a).await.is_some());
    }
    let auth1 = e.authed(&a1).await;
    // Revoking one session, then all the others, then logging out: each is seen at once
    // although every session was cached.
    e.sigra
        .revoke_session(&auth1, &a2.session.id, &meta())
        .await
        .unwrap();
    assert!(e.auth(&a2).await.is_none());
    assert!(e.auth(&a3).await.is_some());
    e.sigra
        .log_out_other_sessions(&auth1, &meta())
        .await
        .unwrap();
    assert!(e.auth(&a3).await.is_none());
    assert!(e.auth(&a1).await.is_some());
    // Sudo and idle expiry are decided on every request from the cached row.
    e.clock.advance(6 * MIN);
    assert!(!e.sigra.in_sudo(&e.authed(&a1).await));
    e.clock.advance(31 * MIN);
    assert!(
        e.auth(&a1).await.is_none(),
        "idle for 31 minutes: expired even though it was cached"
    );
}

#[tokio::test]
async fn a_password_change_ends_cached_sessions_at_once() {
    let e = env(clock!());
    e.confirmed("reset-cache@example.com").await;
    let a = e.login_ok("reset-cache@example.com", PW).await;
    assert!(e.auth(&a).await.is_some());
    let changed = {
        let auth = e.authed(&a).await;
        e.sigra.change_password(&auth, &PW2.into(), &meta()).await
    };
    let (new_login, _) = changed.unwrap();
    assert!(
        e.auth(&a).await.is_none(),
        "the rotated-out cookie is dead at once"
    );
    assert!(e.auth(&new_login).await.is_some());
}

// ---------------------------------------------------------------- pruning

#[tokio::test]
async fn prune_deletes_only_what_can_never_be_used_again() {
    let e = env(clock!());
    let old = e.confirmed("old@example.com").await;
    let _ = e
        .sigra
        .request_magic_link("old@example.com", &meta())
        .await
        .unwrap();
    e.clock.advance(20 * MIN);
    let idle = e.login_ok("old@example.com", PW).await;
    e.clock.advance(25 * MIN);
    let fresh = e.login_ok("old@example.com", PW).await;
    // old: idle 45 min; idle: idle 25 min; fresh: just made.
    let pruned = e.sigra.prune().await.unwrap();
    assert_eq!(
        pruned.sessions, 1,
        "only the session idle for more than 30 minutes"
    );
    assert!(e.auth(&old).await.is_none());
    assert!(e.auth(&idle).await.is_some());
    assert!(e.auth(&fresh).await.is_some());
    // Tokens live until the longest token lifetime (48 h) has passed.
    assert_eq!(pruned.email_tokens, 0);
    assert!(
        pruned.rate_limits >= 1,
        "the 15-minute mail windows that started 45 minutes ago are over"
    );
    e.clock.advance(49 * HOUR);
    let pruned = e.sigra.prune().await.unwrap();
    assert_eq!(pruned.sessions, 2);
    assert_eq!(pruned.email_tokens, 1, "the unused magic link");
    assert_eq!(
        e.sigra.prune().await.unwrap(),
        Pruned::default(),
        "nothing left to do"
    );
}

// ---------------------------------------------------------------- suspicious logins

fn meta_from(ip: &str) -> RequestMeta {
    RequestMeta::new(Some(ip.parse().unwrap()), Some("elsewhere/2.0".into()))
}

#[tokio::test]
async fn a_login_from_an_ip_no_session_has_is_audited_and_mailed() {
    let e = env(clock!());
    let first = e.confirmed("roam@example.com").await;
    assert!(
        first.notice.is_none(),
        "confirming: no session to compare with"
    );
    let again = e.login_ok("roam@example.com", PW).await;
    assert!(again.notice.is_none(), "same IP as a live session");

    let away = match e
        .sigra
        .log_in(
            "roam@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.4"),
        )
        .await
        .unwrap()
    {
        LoginAttempt::Success(l) => l,
        other => panic!("expected a login, got {other:?}"),
    };
    match &away.notice {
        Some(AuthMail::SuspiciousLogin { to, ip, user_agent }) => {
            assert_eq!(to, "roam@example.com");
            assert_eq!(ip.as_deref(), Some("198.51.100.4"));
            assert_eq!(user_agent.as_deref(), Some("elsewhere/2.0"));
        }
        other => panic!("expected a suspicious-login notice, got {other:?}"),
    }
    assert_eq!(
        e.audit_count(
            "security.suspicious_login",
            AuditOutcome::Success,
            Some(&first.user.id)
        ),
        1
    );
    // That IP now has a session: the next login from it is not suspicious; nor is a magic
    // link used from it.
    let back = e
        .sigra
        .log_in(
            "roam@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.4"),
        )
        .await
        .unwrap();
    assert!(matches!(
        back,
        LoginAttempt::Success(LoggedIn { notice: None, .. })
    ));

    // A magic link used from yet another IP is suspicious too.
    let mail = e
        .sigra
        .request_magic_link("roam@example.com", &meta())
        .await
        .unwrap()
        .expect("a magic link mail");
    let token = mail.token().unwrap().to_owned();
    let linked = e
        .sigra
        .log_in_with_magic_link(&token, &meta_from("192.0.2.99"))
        .await
        .unwrap();
    assert!(matches!(
        linked.notice,
        Some(AuthMail::SuspiciousLogin { .. })
    ));
}

#[tokio::test]
async fn a_login_without_any_live_session_is_not_suspicious() {
    let e = env(clock!());
    let first = e.confirmed("fresh@example.com").await;
    e.sigra
        .log_out(&first.token.cookie_value(), &meta())
        .await
        .unwrap();
    let away = e
        .sigra
        .log_in(
            "fresh@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.9"),
        )
        .await
        .unwrap();
    assert!(matches!(
        away,
        LoginAttempt::Success(LoggedIn { notice: None, .. })
    ));
}

// ---------------------------------------------------------------- sudo attempts

#[tokio::test]
async fn wrong_sudo_passwords_lock_the_account_and_end_the_session() {
    let e = env(clock!());
    e.confirmed("sudo-guess@example.com").await;
    let stolen = e.login_ok("sudo-guess@example.com", PW).await;
    let other = e.login_ok("sudo-guess@example.com", PW).await;
    let auth = e.authed(&stolen).await;
    for _ in 0..4 {
        let err = e
            .sigra
            .enter_sudo(&auth, &pw(WRONG), &meta())
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    }
    assert!(
        e.auth(&stolen).await.is_some(),
        "four misses: still logged in"
    );
    let err = e
        .sigra
        .enter_sudo(&auth, &pw(WRONG), &meta())
        .await
        .unwrap_err();
    match err {
        AuthError::LockedOut { notice } => {
            assert_eq!(notice.kind(), "lockout_notice");
            assert_eq!(notice.to(), "sudo-guess@example.com");
        }
        other => panic!("expected LockedOut, got {other:?}"),
    }
    assert!(
        e.auth(&stolen).await.is_none(),
        "the guessing session is over"
    );
    assert!(
        e.auth(&other).await.is_some(),
        "the owner's other sessions stay"
    );
    assert_eq!(
        e.audit_count("session.sudo_enter", AuditOutcome::Failure, None),
        5
    );
    assert!(matches!(
        e.log_in("sudo-guess@example.com", PW, false).await,
        LoginAttempt::Failed { notice: None }
    ));

    // Even the right password cannot enter sudo while the lock lasts.
    let auth = e.authed(&other).await;
    let err = e
        .sigra
        .enter_sudo(&auth, &pw(PW), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::TooManyAttempts { .. }), "{err:?}");
    e.clock.advance(16 * MIN);
    let auth = e.authed(&other).await;
    assert!(e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.is_ok());
}

#[tokio::test]
async fn a_right_sudo_password_resets_the_count() {
    let e = env(clock!());
    e.confirmed("sudo-reset@example.com").await;
    let mut current = e.login_ok("sudo-reset@example.com", PW).await;
    for round in 0..3 {
        let auth = e.authed(&current).await;
        for _ in 0..4 {
            let err = e
                .sigra
                .enter_sudo(&auth, &pw(WRONG), &meta())
                .await
                .unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidCredentials),
                "round {round}: {err:?}"
            );
        }
        current = e.sigra.enter_sudo(&auth, &pw(PW), &meta()).await.unwrap();
    }
    assert_eq!(
        e.user("sudo-reset@example.com")
            .await
            .unwrap()
            .failed_login_attempts,
        0
    );
}

// ---------------------------------------------------------------- configured password limit

#[tokio::test]
async fn the_configured_password_byte_limit_is_enforced_everywhere() {
    let config = SigraConfig::builder()
        .password(|p| p.max_bytes = 300)
        .build()
        .unwrap();
    // Sigra builds its hasher from the configuration here (no test hasher).
    let store = Rec::default();
    let clock = clock!();
    let sigra = Sigra::builder(store, SecretKeyBase::new(vec![7u8; 64]).unwrap())
        .config(config)
        .clock(clock.read)
        .build()
        .unwrap();
    let too_long = "correct horse battery staple ".repeat(11); // 319 bytes
    let err = sigra
        .register("limit@example.com", &pw(&too_long), &meta())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::WeakPassword(sigra_core::password::PasswordError::TooLong {
                max_bytes: 300
            })
        ),
        "{err:?}"
    );
    // Logging in with an over-long password is refused like any wrong password, before work.
    let attempt = sigra
        .log_in("limit@example.com", &pw(&too_long), false, &meta())
        .await
        .unwrap();
    assert!(matches!(attempt, LoginAttempt::Failed { .. }));
    assert!(
        sigra
            .register("limit@example.com", &pw(&too_long[..290]), &meta())
            .await
            .unwrap()
            .is_some()
    );
}

// ---------------------------------------------------------------- pending email change

#[tokio::test]
async fn an_address_with_a_pending_change_cannot_be_registered_until_the_link_expires() {
    let e = env(clock!());
    e.confirmed("rita@example.com").await;
    let l = e.login_ok("rita@example.com", PW).await;
    let auth = e.authed(&l).await;
    let mail = e
        .sigra
        .request_email_change(&auth, "Rita.New@example.com", &meta())
        .await
        .unwrap();
    let token = token_of(&mail);

    // Someone else tries to take the address meanwhile: the usual answer, no mail, no user.
    let answer = e
        .sigra
        .register("rita.new@example.com", &pw(PW2), &meta())
        .await
        .unwrap();
    assert!(answer.is_none());
    assert!(e.user("rita.new@example.com").await.is_none());
    assert_eq!(
        e.audit_count("auth.register", AuditOutcome::Failure, None),
        1
    );

    // The owner's change goes through.
    let (user, _) = e
        .sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap();
    assert_eq!(user.email, "Rita.New@example.com");

    // A change that was never confirmed reserves the address only until its link expires.
    let l = e.login_ok("rita.new@example.com", PW).await;
    let auth = e.authed(&l).await;
    e.sigra
        .request_email_change(&auth, "unused@example.com", &meta())
        .await
        .unwrap();
    assert!(
        e.sigra
            .register("unused@example.com", &pw(PW2), &meta())
            .await
            .unwrap()
            .is_none()
    );
    e.clock.advance(24 * HOUR + 1);
    assert!(
        e.sigra
            .register("unused@example.com", &pw(PW2), &meta())
            .await
            .unwrap()
            .is_some()
    );
}
