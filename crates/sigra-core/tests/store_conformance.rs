//! The conformance suite against the in-memory reference store, with both kinds of keys:
//! proves the suite runs and that an implementation keeping the contracts passes it.
#![cfg(feature = "testing")]

use sigra_core::testing::{MemoryStore, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_with_uuid_keys_keeps_every_contract() {
    conformance::run_all(|| async { MemoryStore::new() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_with_integer_keys_keeps_every_contract() {
    conformance::run_all(|| async { MemoryStore::with_integer_ids() }).await;
}
