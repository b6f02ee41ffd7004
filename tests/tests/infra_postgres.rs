//! The PostgreSQL test infrastructure works: the server `cargo xtask test` starts takes
//! connections from sqlx, each `fresh_database` is a separate, empty database (also when many
//! are made at once from parallel threads), tables and transactions behave (commit keeps,
//! rollback discards), and odd prefixes still give valid names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sigra_tests::postgres::{admin_url, fresh_database, psql};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection as _, Executor as _, PgConnection, Row as _};

async fn pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

#[tokio::test]
async fn sqlx_connects_creates_a_table_and_round_trips_rows() {
    let Some(url) = fresh_database("infra_roundtrip") else {
        return;
    };
    let pool = pool(&url).await;
    pool.execute(
        "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar("INSERT INTO users (email) VALUES ($1) RETURNING id")
        .bind("ada@example.com")
        .fetch_one(&pool)
        .await
        .unwrap();
    let row = sqlx::query("SELECT email, current_database() AS db FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("email"), "ada@example.com");
    assert_eq!(
        format!("/{}", row.get::<String, _>("db")),
        url[url.rfind('/').unwrap()..]
    );
    // Constraints are real: a duplicate is refused with the unique-violation code.
    let err = sqlx::query("INSERT INTO users (email) VALUES ($1)")
        .bind("ada@example.com")
        .execute(&pool)
        .await
        .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "23505", "{err}");
    pool.close().await;
}

#[tokio::test]
async fn transactions_commit_and_roll_back() {
    let Some(url) = fresh_database("infra_tx") else {
        return;
    };
    let mut conn = PgConnection::connect(&url).await.unwrap();
    conn.execute("CREATE TABLE t (v INT NOT NULL)")
        .await
        .unwrap();

    let mut tx = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO t VALUES (2)")
        .execute(&mut *tx)
        .await
        .unwrap();
    // Visible inside the transaction...
    let inside: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(inside, 2);
    tx.rollback().await.unwrap();

    // ...gone after the rollback; the committed row stays, also for another connection.
    let values: Vec<i32> = sqlx::query_scalar("SELECT v FROM t ORDER BY v")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(values, [1]);
    let mut other = PgConnection::connect(&url).await.unwrap();
    let values: Vec<i32> = sqlx::query_scalar("SELECT v FROM t ORDER BY v")
        .fetch_all(&mut other)
        .await
        .unwrap();
    assert_eq!(values, [1]);

    // A transaction dropped without commit rolls back too.
    {
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (3)")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn fresh_databases_are_distinct_and_isolated() {
    let (Some(a), Some(b)) = (fresh_database("infra_iso"), fresh_database("infra_iso")) else {
        return;
    };
    assert_ne!(a, b);
    let pa = pool(&a).await;
    let pb = pool(&b).await;
    let db_a: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pa)
        .await
        .unwrap();
    let db_b: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pb)
        .await
        .unwrap();
    assert_ne!(db_a, db_b);

    pa.execute("CREATE TABLE only_in_a (x INT)").await.unwrap();
    let in_b: Option<String> = sqlx::query_scalar("SELECT to_regclass('only_in_a')::text")
        .fetch_one(&pb)
        .await
        .unwrap();
    assert_eq!(
        in_b, None,
        "a table made in one fresh database shows in another"
    );
    // The same table name can exist in both with different contents.
    pb.execute("CREATE TABLE only_in_a (x INT); INSERT INTO only_in_a VALUES (7)")
        .await
        .unwrap();
    let in_a: i64 = sqlx::query_scalar("SELECT count(*) FROM only_in_a")
        .fetch_one(&pa)
        .await
        .unwrap();
    assert_eq!(in_a, 0);
}

#[test]
fn many_fresh_databases_at_once_from_parallel_threads() {
    if admin_url().is_none() {
        return;
    }
    let urls: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| s.spawn(move || fresh_database(&format!("infra_par{i}")).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = urls.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), urls.len());
    // Each exists, is empty and accepts connections.
    for url in &urls {
        let tables = psql(
            url,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        );
        assert_eq!(tables.trim(), "0", "{url}");
    }
}

#[test]
fn odd_prefixes_give_usable_databases() {
    for prefix in ["Weird Prefix/With-Symbols", "9starts_with_digit", ""] {
        let Some(url) = fresh_database(prefix) else {
            return;
        };
        assert_eq!(psql(&url, "SELECT 1 + 1").trim(), "2");
    }
}

#[test]
fn the_test_server_is_a_throwaway_loopback_cluster() {
    let Some(admin) = admin_url() else {
        return;
    };
    let answer = psql(
        &admin,
        "SELECT current_user, inet_server_addr(), current_setting('server_version_num')::int >= 130000",
    );
    let fields: Vec<&str> = answer.trim().split('|').collect();
    // Under cargo xtask the URL is our cluster's: superuser `postgres` on loopback.
    if admin.starts_with("postgres://postgres@127.0.0.1:") {
        assert_eq!(fields, ["postgres", "127.0.0.1", "t"], "{answer}");
    }
    // An error names the failing SQL (and never a password).
    let err = std::panic::catch_unwind(|| psql(&admin, "SELECT * FROM no_such_table"))
        .expect_err("bad SQL must fail");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("no_such_table"), "{msg}");
}
