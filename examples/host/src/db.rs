//! The database: the connection pool, the migrations under `migrations/`, and the few things
//! that differ between databases (how to connect, how a write transaction begins, how a time
//! is stored). Everything else, the SQL included, is written once for any database.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The database this app uses.
pub type Database = sqlx::Sqlite;

/// The connection pool every handler shares.
pub type Db = sqlx::Pool<Database>;

/// A row as the database returns it.
pub type DbRow = <Database as sqlx::Database>::Row;

/// A transaction on [`Db`].
pub type DbTransaction = sqlx::Transaction<'static, Database>;

/// The migrations under `migrations/`, embedded in the binary at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// `DATABASE_URL`; when it is not set, the SQLite file `sigra-example-host.sqlite3` beside the app's
/// `Cargo.toml`, created if missing (for development: set `DATABASE_URL` in production).
pub fn url_from_env() -> Result<String, String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Ok(url),
        Err(std::env::VarError::NotPresent) => {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/",
                env!("CARGO_PKG_NAME"),
                ".sqlite3"
            );
            // The URL's path is percent-decoded: escape what would be read as something else.
            let path = path
                .replace('%', "%25")
                .replace('?', "%3F")
                .replace('#', "%23");
            Ok(format!("sqlite://{path}"))
        }
        Err(err) => Err(format!("DATABASE_URL: {err}")),
    }
}

/// Opens the SQLite database at `url` (`sqlite://app.sqlite3`), creating the file if
/// missing: WAL journal, foreign keys on, and a 5 s busy timeout so writers queue instead of
/// failing.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    let options: SqliteConnectOptions = url.parse()?;
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// Begins a transaction that writes. It takes SQLite's write lock up front
/// (`BEGIN IMMEDIATE`), so two writers queue (busy timeout) instead of one failing half-way.
pub async fn begin_write(db: &Db) -> Result<DbTransaction, sqlx::Error> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// How a time is stored: UTC text with up to six fractional digits
/// (`2026-03-14 15:09:26.535897`). One format for every row, so text order is time order
/// (`ORDER BY`, `<`) and equal instants are equal strings.
pub type Timestamp = PrimitiveDateTime;

/// `t` as it is stored (see [`Timestamp`]).
pub fn timestamp(t: OffsetDateTime) -> Timestamp {
    let t = t.to_offset(UtcOffset::UTC);
    let t = t.replace_microsecond(t.microsecond()).unwrap_or(t);
    PrimitiveDateTime::new(t.date(), t.time())
}
