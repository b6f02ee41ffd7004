//! The app's SQL keeps every promise sigra-core's store contracts make (uniqueness,
//! single-use tokens, exact counters under concurrency, exclusive job claims, rollback,
//! ordering, round trips). Edit the SQL freely: these tests say at once, and by name, if an
//! edit broke one.
//!
//! One test per case (`sqlite::users::round_trip`, …): a broken promise fails its own test,
//! and `cargo test --test conformance users::round_trip` runs one case.

mod support;

use sigra_example_host::accounts::store::AccountsStore;

// A fresh database per case, kept until the case ends. Real databases, not memory: the
// concurrency cases need real connections racing on one database.
sigra_core::store_conformance_tests!(sqlite, async {
    let database = support::database().await;
    (AccountsStore::new(database.db.clone()), database)
});
