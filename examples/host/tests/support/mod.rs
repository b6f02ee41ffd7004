//! What the tests share: a fresh, migrated database for each test, the app's state on it in
//! dev mode (mail stays in the outbox, as for the dev mailbox) with a cheap password hasher,
//! and the mail the flows put in the outbox.
#![allow(dead_code)]

pub mod browser;

use sigra_core::auth::AuthMail;
use sigra_core::config::{SigraConfig, SigraConfigBuilder};
use sigra_core::jobs::MAIL_QUEUE;
use sigra_core::keys::SecretKeyBase;
use sigra_core::mail::OutgoingMail;
use sigra_core::password::{Argon2Params, PasswordHasher};
use sigra_core::store::{JobFilter, JobRecord};
use sigra_example_host::app::{self, AppState, Settings};
use sigra_example_host::db::Db;
use sigra_example_host::mail::outbox;

/// Where the app is served in tests: links in mails start with it.
pub const APP_URL: &str = "http://localhost:4000";

/// One test's database, migrated. Keep it until the test ends.
pub struct TestDb {
    /// A pool on it.
    pub db: Db,
    /// Its URL, to open it again.
    pub url: String,
    /// The temporary directory holding the file, removed when the test ends.
    _dir: tempfile::TempDir,
}

/// A fresh SQLite database in a temporary directory, migrated. A file rather than
/// `sqlite::memory:`, so several connections share it as they do in the app.
pub async fn database() -> TestDb {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
    let db = app::connect(&url).await.expect("the migrations apply");
    TestDb { db, url, _dir: dir }
}

/// Cheap Argon2 for tests only; the app itself never uses this.
pub fn weak_hasher() -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::danger_weak(64, 1, 1).expect("weak test parameters"))
        .build()
        .expect("a test password hasher")
}

/// The app's settings in dev mode (plain-HTTP cookies, the dev mailbox), with `change`
/// applied to the default configuration.
pub fn settings(change: impl FnOnce(SigraConfigBuilder) -> SigraConfigBuilder) -> Settings {
    let config = change(
        SigraConfig::builder()
            .dev_mode(true)
            .cookie(|c| c.secure = false),
    )
    .build()
    .expect("a valid test configuration");
    Settings {
        app_url: APP_URL.to_owned(),
        secret_key_base: SecretKeyBase::generate().expect("a random key base"),
        config,
        password_hasher: Some(weak_hasher()),
    }
}

/// The app's state on a fresh database, and the database (keep it until the test ends).
pub async fn state() -> (AppState, TestDb) {
    state_with(|config| config).await
}

/// [`state`] with `change` applied to the default configuration.
pub async fn state_with(
    change: impl FnOnce(SigraConfigBuilder) -> SigraConfigBuilder,
) -> (AppState, TestDb) {
    let database = database().await;
    let state = app::build_state(database.db.clone(), settings(change)).expect("the app starts");
    assert!(
        state.dev_mailbox,
        "the tests read mail from the outbox, as the dev mailbox does: unset SMTP_URL"
    );
    (state, database)
}

/// Every mail job in the outbox, oldest first (sent or not).
pub async fn outbox(state: &AppState) -> Vec<JobRecord> {
    let mut jobs = outbox::list(&state.accounts, &JobFilter::queue(MAIL_QUEUE), 10_000)
        .await
        .expect("the outbox can be read");
    jobs.reverse();
    jobs
}

/// Whether `job` is a mail to `to` (whatever the case).
fn is_to(job: &JobRecord, to: &str) -> bool {
    job.recipient
        .as_deref()
        .is_some_and(|recipient| recipient.eq_ignore_ascii_case(to))
}

/// The notices put in the outbox for `to`, oldest first.
pub async fn notices_to(state: &AppState, to: &str) -> Vec<AuthMail> {
    outbox(state)
        .await
        .iter()
        .filter(|job| is_to(job, to))
        .map(|job| {
            state
                .accounts
                .open_notice(job)
                .unwrap_or_else(|err| panic!("the mail job {} cannot be read: {err}", job.id))
        })
        .collect()
}

/// The last notice put in the outbox for `to`; panics if there is none.
pub async fn last_notice_to(state: &AppState, to: &str) -> AuthMail {
    notices_to(state, to)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no mail to {to} in the outbox"))
}

/// The mails put in the outbox for `to`, rendered as they are sent, oldest first.
pub async fn mails_to(state: &AppState, to: &str) -> Vec<OutgoingMail> {
    outbox(state)
        .await
        .iter()
        .filter(|job| is_to(job, to))
        .map(|job| {
            state
                .mailer
                .open(job)
                .unwrap_or_else(|err| panic!("the mail job {} cannot be rendered: {err}", job.id))
        })
        .collect()
}

/// The last mail put in the outbox for `to`, rendered; panics if there is none.
pub async fn last_mail_to(state: &AppState, to: &str) -> OutgoingMail {
    mails_to(state, to)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no mail to {to} in the outbox"))
}
