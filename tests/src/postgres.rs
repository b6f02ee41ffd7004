//! PostgreSQL for tests: one throwaway server, a fresh database per test.
//!
//! `cargo xtask test` starts a throwaway cluster (trust authentication, loopback only, no
//! durability) and exports its superuser URL as `SIGRA_TEST_POSTGRES_URL`
//! (`postgres://postgres@127.0.0.1:<port>/postgres`) and `psql`'s path as `SIGRA_PSQL`. For a
//! single test by hand, `eval "$(cargo xtask env)"` exports the same for a longer-lived dev
//! cluster (`cargo xtask pg-stop` ends it); any server you own works too.
//!
//! A test never touches the `postgres` database itself: it asks [`fresh_database`] for a new,
//! uniquely named one, so tests running in parallel (threads or test binaries) never see each
//! other's tables and need no clean-up (the cluster is thrown away after the run).
//!
//! ```no_run
//! # async fn example() {
//! let Some(url) = sigra_tests::postgres::fresh_database("sessions") else {
//!     return; // skipped: no PostgreSQL (fails instead under SIGRA_REQUIRE_PEERS=1)
//! };
//! // connect with sqlx::PgPool::connect(&url).await, run migrations, test.
//! # let _ = url;
//! # }
//! ```
//!
//! Databases are created with `psql` (`SIGRA_PSQL`, else `psql` on `PATH`) so this helper works
//! from synchronous and asynchronous tests alike and with any authentication the URL needs.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::peers_required;

/// The variable holding the superuser URL of the test server.
pub const URL_VAR: &str = "SIGRA_TEST_POSTGRES_URL";

/// PostgreSQL's limit on identifier length, in bytes.
const MAX_IDENTIFIER: usize = 63;

/// The superuser URL of the test server (`SIGRA_TEST_POSTGRES_URL`).
///
/// Returns `None` (after printing `skipped: ...`) when it is not set and peers are not
/// required.
///
/// # Panics
/// When it is not set and `SIGRA_REQUIRE_PEERS=1`.
pub fn admin_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            let msg = format!(
                "PostgreSQL not available: {URL_VAR} is not set; run `cargo xtask test`, or `eval \"$(cargo xtask env)\"` before `cargo test` (it starts a dev cluster)"
            );
            #[allow(clippy::panic)]
            if peers_required() {
                panic!("{msg}");
            }
            eprintln!("skipped: {msg}");
            None
        }
    }
}

/// Creates a new, empty database with a unique name starting with `prefix` and returns its URL
/// (the admin URL with the database replaced). `None` when PostgreSQL is not available (see
/// [`admin_url`]).
///
/// # Panics
/// When the server is set but refuses: the test has found a problem.
pub fn fresh_database(prefix: &str) -> Option<String> {
    let admin = admin_url()?;
    let name = unique_name(prefix);
    psql(&admin, &format!("CREATE DATABASE \"{name}\""));
    Some(database_url(&admin, &name))
}

/// Runs `sql` with `psql` against `url` and returns what it printed (unaligned, tuples only:
/// one row a line, columns separated by `|`).
///
/// # Panics
/// When `psql` cannot be started or the SQL fails; the message carries `psql`'s error.
#[allow(clippy::panic)]
pub fn psql(url: &str, sql: &str) -> String {
    let program = std::env::var_os("SIGRA_PSQL").unwrap_or_else(|| "psql".into());
    let out = Command::new(&program)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); install PostgreSQL's client (Debian: postgresql-client) or set SIGRA_PSQL",
                program.to_string_lossy()
            )
        });
    if !out.status.success() {
        panic!(
            "psql failed ({}) running {sql:?} on {}:\n{}",
            out.status,
            redact_password(url),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `url` with its database (the path) replaced by `database`; the query string is kept.
///
/// ```
/// use sigra_tests::postgres::database_url;
/// assert_eq!(
///     database_url("postgres://postgres@127.0.0.1:5433/postgres", "t_1"),
///     "postgres://postgres@127.0.0.1:5433/t_1"
/// );
/// assert_eq!(
///     database_url("postgres://u:p@db:5432?sslmode=disable", "t_1"),
///     "postgres://u:p@db:5432/t_1?sslmode=disable"
/// );
/// ```
pub fn database_url(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base
        .get(authority_start..)
        .and_then(|rest| rest.find('/'))
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", base.get(..authority_end).unwrap_or(base));
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A database name no other test (thread or process) uses: the prefix made safe (lowercase
/// ASCII letters, digits, `_`; at most 24 bytes), the process id, a counter and a clock reading.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    if !clean.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        clean.insert(0, 't');
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut name = format!("{clean}_{}_{n}_{nanos:x}", std::process::id());
    name.truncate(MAX_IDENTIFIER);
    name
}

/// The URL with any password replaced, for error messages.
fn redact_password(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let Some(at) = url
        .get(start..)
        .and_then(|r| r.find('@'))
        .map(|i| start + i)
    else {
        return url.to_owned();
    };
    match url
        .get(start..at)
        .and_then(|userinfo| userinfo.find(':'))
        .map(|i| start + i)
    {
        Some(colon) => format!(
            "{}:[REDACTED]{}",
            url.get(..colon).unwrap_or_default(),
            url.get(at..).unwrap_or_default()
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_path() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5/postgres", "a"),
            "postgres://postgres@127.0.0.1:5/a"
        );
        assert_eq!(
            database_url("postgresql://h/x?sslmode=require&application_name=t", "b"),
            "postgresql://h/b?sslmode=require&application_name=t"
        );
        assert_eq!(database_url("postgres://h", "c"), "postgres://h/c");
        assert_eq!(database_url("", "d"), "/d");
    }

    #[test]
    fn unique_names_are_safe_identifiers() {
        for prefix in [
            "",
            "Sessions",
            "9lives",
            "we ird/Ü-prefix",
            &"x".repeat(200),
        ] {
            let name = unique_name(prefix);
            assert!(name.len() <= MAX_IDENTIFIER, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
            assert!(name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_'));
        }
        assert_ne!(unique_name("a"), unique_name("a"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://u:secret@h/db"),
            "postgres://u:[REDACTED]@h/db"
        );
        assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_password("nonsense"), "nonsense");
    }
}
