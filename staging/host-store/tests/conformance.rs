//! sigra-core's store conformance suite against this app's SQL: every promise of the store
//! contracts (uniqueness, single-use tokens, exact counters under concurrency, rollback,
//! ordering, round trips). If an edit to `src/accounts/store/` breaks one, a case fails and
//! names the promise and the fix.
//!
//! SQLite: `cargo test` (a new database file per case, so concurrency is real).
//! PostgreSQL: `SIGRA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test
//! --no-default-features --features postgres` (an admin URL: a fresh database is created per
//! case and dropped after it). Without the variable the test is skipped, or fails when
//! `SIGRA_REQUIRE_PEERS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Instant;

use host_store::accounts::store::AccountsStore;
use sigra_core::testing::conformance;

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_keeps_every_contract() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let cases = AtomicUsize::new(0);
    let started = Instant::now();
    conformance::run_all(|| {
        let n = cases.fetch_add(1, Ordering::Relaxed);
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("case-{n}.db")).display()
        );
        async move {
            let store = AccountsStore::connect(&url).await.unwrap();
            sqlx::migrate!("migrations/sqlite")
                .run(store.pool())
                .await
                .unwrap();
            store
        }
    })
    .await;
    eprintln!(
        "sqlite: {} cases in {:?}",
        cases.load(Ordering::Relaxed),
        started.elapsed()
    );
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_keeps_every_contract() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sqlx::Connection;
    use sqlx::postgres::PgConnection;

    let Ok(admin_url) = std::env::var("SIGRA_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("SIGRA_REQUIRE_PEERS").as_deref() != Ok("1"),
            "SIGRA_REQUIRE_PEERS=1 but SIGRA_TEST_POSTGRES_URL is not set: point it at a \
             throwaway PostgreSQL cluster (admin URL)"
        );
        eprintln!(
            "skipped: set SIGRA_TEST_POSTGRES_URL to a throwaway PostgreSQL admin URL to run \
             the store conformance suite on PostgreSQL"
        );
        return;
    };
    // The database of the previous case, dropped when the next one is made.
    let previous: Mutex<Option<String>> = Mutex::new(None);
    let admin_url = admin_url.as_str();
    let previous_db = &previous;
    let cases = AtomicUsize::new(0);
    let started = Instant::now();
    conformance::run_all(|| {
        let name = format!("sigra_store_{}", uuid_simple());
        let old = previous_db.lock().unwrap().replace(name.clone());
        cases.fetch_add(1, Ordering::Relaxed);
        async move {
            let mut admin = PgConnection::connect(admin_url).await.unwrap();
            if let Some(old) = old {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
            }
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
            let store = AccountsStore::connect(&with_database(admin_url, &name))
                .await
                .unwrap();
            sqlx::migrate!("migrations/postgres")
                .run(store.pool())
                .await
                .unwrap();
            store
        }
    })
    .await;
    let last = previous.lock().unwrap().take();
    if let Some(last) = last {
        let mut admin = PgConnection::connect(admin_url).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {last} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    eprintln!(
        "postgres: {} cases in {:?}",
        cases.load(Ordering::Relaxed),
        started.elapsed()
    );
}

/// A name no other run uses (lower-case hex, valid unquoted in SQL).
#[cfg(feature = "postgres")]
fn uuid_simple() -> String {
    match sigra_core::store::Id::new_v7() {
        sigra_core::store::Id::Uuid(u) => u.simple().to_string(),
        other => other.to_string(),
    }
}

/// `url` with its database name replaced by `name`.
#[cfg(feature = "postgres")]
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority..].find('/') {
        Some(slash) => &head[..authority + slash],
        None => head,
    };
    format!("{base}/{name}{query}")
}
