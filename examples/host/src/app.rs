//! How the app is put together: [`Settings::from_env`] reads the configuration, [`connect`]
//! opens the database and applies the migrations, [`build_state`] builds the shared
//! [`AppState`], [`crate::web::router`] serves it and [`worker`] runs its background jobs
//! (sending mail, pruning expired rows). `main.rs` only calls these; the tests drive the same
//! router and worker in-process.

use std::time::Duration;

use axum::extract::FromRef;
use sigra_core::config::{ConfigError, SigraConfig};
use sigra_core::encryption::{EncryptionError, Keyring};
use sigra_core::jobs::{JobError, JobOutcome, JobSettings, MAIL_QUEUE, MAINTENANCE_QUEUE, Worker};
use sigra_core::keys::SecretKeyBase;
use sigra_core::mail::{Address, MailError, MailerSettings};
use sigra_core::password::PasswordHasher;
use sigra_core::store::JobRecord;

use crate::accounts::Accounts;
use crate::accounts::store::AccountsStore;
use crate::db::{self, Db};
use crate::mail::AuthMailer;

/// The app's name, shown in page titles and mails.
pub const APP_NAME: &str = env!("CARGO_PKG_NAME");

/// The `maintenance` job that deletes expired sessions, email tokens, rate-limit windows and
/// finished jobs (`Sigra::prune`).
const PRUNE: &str = "prune";

/// How often [`PRUNE`] runs.
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Who mails come from, unless `MAIL_FROM` says otherwise.
const DEFAULT_MAIL_FROM: &str = "noreply@example.com";

/// Everything the app needs to start besides the database, read from the environment by
/// [`Settings::from_env`].
#[derive(Debug)]
pub struct Settings {
    /// `APP_URL`: the address people reach the app at, used to build links in mails.
    pub app_url: String,
    /// `SIGRA_SECRET_KEY_BASE`; when unset, a random one for this process (dev mode only).
    pub secret_key_base: SecretKeyBase,
    /// Sigra's settings (`SIGRA_*` variables).
    pub config: SigraConfig,
    /// A password hasher to use instead of the one built from `config` (tests pass a cheap
    /// one; the app never does).
    pub password_hasher: Option<PasswordHasher>,
}

/// Why the app could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `SIGRA_SECRET_KEY_BASE` is too short or not valid.
    #[error(
        "SIGRA_SECRET_KEY_BASE is not usable ({0}); generate one with `cargo sigra gen-secret`"
    )]
    SecretKeyBase(#[source] sigra_core::keys::KeyError),
    /// A `SIGRA_*` setting is invalid.
    #[error("invalid Sigra setting: {0}")]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("database {url}: {source}")]
    Database {
        /// The database URL.
        url: String,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Mail delivery could not be set up (for example `SMTP_URL` is invalid).
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    /// `SIGRA_ENCRYPTION_KEYS` is invalid.
    #[error("SIGRA_ENCRYPTION_KEYS: {0}")]
    Encryption(#[from] EncryptionError),
    /// Sigra could not be built from the settings.
    #[error("accounts: {0}")]
    Auth(#[from] sigra_core::auth::AuthError),
}

impl Settings {
    /// Reads `APP_URL` (default `http://localhost:<port>`), `SIGRA_SECRET_KEY_BASE`,
    /// `SIGRA_DEV_MODE` and the other `SIGRA_*` settings.
    ///
    /// Without `SIGRA_SECRET_KEY_BASE` the app runs in dev mode with a random key base
    /// for this process (sessions and links stop working at restart) and says so loudly.
    /// Dev mode allows session cookies without `Secure`, so plain `http://localhost` works.
    pub fn from_env(port: u16) -> Result<Self, StartupError> {
        let app_url = std::env::var("APP_URL")
            .unwrap_or_else(|_| format!("http://localhost:{port}"))
            .trim_end_matches('/')
            .to_owned();

        let mut builder = SigraConfig::builder().apply_env()?;
        let secret_key_base = match std::env::var("SIGRA_SECRET_KEY_BASE") {
            Ok(secret) => {
                SecretKeyBase::new(secret.into_bytes()).map_err(StartupError::SecretKeyBase)?
            }
            Err(_) => {
                tracing::warn!(
                    "\n\n  !!! SIGRA_SECRET_KEY_BASE is not set: running in DEV MODE with a random key base.\n  \
                     !!! Sessions and emailed links stop working when the app restarts, and cookies\n  \
                     !!! are sent over plain HTTP. Never run like this in production:\n  \
                     !!! set SIGRA_SECRET_KEY_BASE (generate one with `cargo sigra gen-secret`).\n"
                );
                builder = builder.dev_mode(true);
                SecretKeyBase::generate().map_err(StartupError::SecretKeyBase)?
            }
        };
        let config = builder.build()?;
        let config = if config.dev_mode() {
            // Local development serves plain HTTP: the browser would drop a Secure cookie.
            config.to_builder().cookie(|c| c.secure = false).build()?
        } else {
            config
        };
        Ok(Self {
            app_url,
            secret_key_base,
            config,
            password_hasher: None,
        })
    }
}

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database pool, for the app's own queries.
    pub db: Db,
    /// The accounts context: every authentication flow.
    pub accounts: Accounts,
    /// Renders and sends the account mails.
    pub mailer: AuthMailer,
    /// Whether mail stays in the outbox instead of being sent (dev mode without `SMTP_URL`):
    /// `/dev/mailbox` shows it, and is served only then.
    pub dev_mailbox: bool,
}

impl FromRef<AppState> for Accounts {
    fn from_ref(state: &AppState) -> Self {
        state.accounts.clone()
    }
}

impl FromRef<AppState> for AuthMailer {
    fn from_ref(state: &AppState) -> Self {
        state.mailer.clone()
    }
}

/// Opens the database at `url` (a SQLite file is created if missing) and applies the
/// migrations.
pub async fn connect(url: &str) -> Result<Db, StartupError> {
    let database_error =
        |source: Box<dyn std::error::Error + Send + Sync>| StartupError::Database {
            url: url.to_owned(),
            source,
        };
    let db = db::connect(url)
        .await
        .map_err(|e| database_error(Box::new(e)))?;
    db::MIGRATOR
        .run(&db)
        .await
        .map_err(|e| database_error(Box::new(e)))?;
    Ok(db)
}

/// Builds the shared state on `db`, a database with the migrations applied (see [`connect`]).
pub fn build_state(db: Db, settings: Settings) -> Result<AppState, StartupError> {
    let dev_mode = settings.config.dev_mode();
    // Secrets at rest (TOTP secrets) are encrypted with SIGRA_ENCRYPTION_KEYS, or a key derived
    // from the secret key base while it is unset.
    let keyring = Keyring::from_env(&settings.secret_key_base)?;
    let mut builder = Accounts::builder(AccountsStore::new(db.clone()), settings.secret_key_base)
        .config(settings.config)
        .encryption_keyring(keyring);
    if let Some(hasher) = settings.password_hasher {
        builder = builder.password_hasher(hasher);
    }
    let accounts = builder.build()?;

    let from = Address::new(DEFAULT_MAIL_FROM)?;
    let transport =
        sigra_core::mail::mailer_from_env(&MailerSettings::new(from).allow_dev_mailbox(dev_mode))?;
    let mailer = AuthMailer::new(accounts.clone(), transport, settings.app_url);
    Ok(AppState {
        db,
        dev_mailbox: mailer.is_dev_mailbox(),
        accounts,
        mailer,
    })
}

/// The background job worker: sends the mail the flows put in the outbox (the `mail` queue)
/// and deletes expired sessions, email tokens, rate-limit windows and finished jobs every
/// [`PRUNE_EVERY`] (the `maintenance` queue). `main` runs it beside the server until shutdown.
///
/// Any number of app instances may run one on the same database: each job runs once (at
/// least once if an instance dies mid-job), and the pruning once per interval. Its settings
/// are the `SIGRA_JOBS_*` variables (see `sigra_core::config::JobsConfig`).
pub fn worker(state: &AppState) -> Worker<AccountsStore> {
    let accounts = state.accounts.clone();
    let mailer = state.mailer.clone();
    Worker::new(
        accounts.store().clone(),
        JobSettings::from_config(accounts.config()),
    )
    .wake_on(accounts.job_signal())
    .handle(MAIL_QUEUE, move |job: JobRecord| {
        let mailer = mailer.clone();
        async move { mailer.deliver(job).await }
    })
    .handle(MAINTENANCE_QUEUE, move |job: JobRecord| {
        let accounts = accounts.clone();
        async move { maintain(&accounts, &job).await }
    })
    .every(MAINTENANCE_QUEUE, PRUNE, PRUNE_EVERY)
}

/// Runs a job of the `maintenance` queue. Nothing depends on pruning for correctness (expired
/// rows are refused when read); it keeps the tables from growing. A failure is tried again.
async fn maintain(accounts: &Accounts, job: &JobRecord) -> Result<JobOutcome, JobError> {
    match job.kind.as_str() {
        PRUNE => {
            let pruned = accounts.prune().await.map_err(JobError::temporary)?;
            tracing::debug!(?pruned, "pruned expired rows");
            Ok(JobOutcome::Done)
        }
        other => Err(JobError::permanent(format!(
            "unknown maintenance job {other:?}"
        ))),
    }
}
