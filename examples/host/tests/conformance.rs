//! The app's SQL keeps every promise sigra-core's store contracts make (uniqueness,
//! single-use tokens, exact counters under concurrency, exclusive job claims, rollback,
//! ordering, round trips). Edit the SQL freely: these tests say at once, and by name, if an
//! edit broke one.

mod support;

use std::sync::Mutex;

use sigra_core::testing::conformance;
use sigra_example_host::accounts::store::AccountsStore;

#[tokio::test(flavor = "multi_thread")]
async fn the_sql_store_keeps_every_contract() {
    // A fresh database per case, kept until the suite ends. Real databases, not memory: the
    // concurrency cases need real connections racing on one database.
    let databases = Mutex::new(Vec::new());
    conformance::run_all(|| async {
        let database = support::database().await;
        let store = AccountsStore::new(database.db.clone());
        databases.lock().unwrap().push(database);
        store
    })
    .await;
}
