//! The database: the connection pool and the migrations under `migrations/`.

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions, SqliteRow};

/// The connection pool every handler shares.
pub type Db = SqlitePool;

/// A row as the database returns it.
pub type DbRow = SqliteRow;

/// The migrations under `migrations/`, embedded in the binary at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// The database when `DATABASE_URL` is not set: a SQLite file in the working directory,
/// created if missing.
pub const DEFAULT_URL: &str = "sqlite://sigra-example-host.sqlite3?mode=rwc";

/// `DATABASE_URL`, or [`DEFAULT_URL`] when it is not set.
pub fn url_from_env() -> Result<String, String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Ok(url),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_URL.to_owned()),
        Err(err) => Err(format!("DATABASE_URL: {err}")),
    }
}

/// Opens a connection pool on `url`.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    SqlitePoolOptions::new().connect(url).await
}
