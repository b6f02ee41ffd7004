//! What the tests share: the app's state on a fresh, migrated database.

use sigra_example_host::db;
use sigra_example_host::web::AppState;

/// The app's state on a fresh in-memory SQLite database, migrated.
pub async fn state() -> AppState {
    let db = db::connect("sqlite::memory:")
        .await
        .expect("an in-memory SQLite database opens");
    db::MIGRATOR.run(&db).await.expect("the migrations apply");
    AppState { db }
}
