//! What the tests share: a fresh, migrated database for each test, and the app's state on it
//! in dev mode (mail goes to the dev mailbox) with a cheap password hasher.
#![allow(dead_code)]

pub mod browser;

use sigra_core::config::{SigraConfig, SigraConfigBuilder};
use sigra_core::keys::SecretKeyBase;
use sigra_core::password::{Argon2Params, PasswordHasher};
use sigra_example_host::app::{self, AppState, Settings};
use sigra_example_host::db::Db;

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
        state.dev_mailbox.is_some(),
        "the tests read mail from the dev mailbox: unset SMTP_URL"
    );
    (state, database)
}
