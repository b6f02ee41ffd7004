//! The conformance suite against the in-memory reference store, with both kinds of keys:
//! proves the suite runs and that an implementation keeping the contracts passes it. One test
//! per case (`uuid_keys::users::round_trip`, …), as the generated apps have.
#![cfg(feature = "testing")]

use sigra_core::testing::{MemoryStore, conformance};

sigra_core::store_conformance_tests!(uuid_keys, async { MemoryStore::new() });

sigra_core::store_conformance_tests!(integer_keys, async { MemoryStore::with_integer_ids() });

/// `run_all` runs the same list of cases, for hosts that prefer one test; a factory may hand
/// back something to keep until each case ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_runs_every_case_and_keeps_the_fixture_alive() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts the fixtures dropped.
    struct Keep(Arc<AtomicUsize>);
    impl Drop for Keep {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    let made = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    conformance::run_all(|| {
        made.fetch_add(1, Ordering::SeqCst);
        let keep = Keep(Arc::clone(&dropped));
        async move { (MemoryStore::new(), keep) }
    })
    .await;
    let made = made.load(Ordering::SeqCst);
    assert!(made > 40, "one store per case, got {made}");
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        made,
        "every fixture is dropped after its case"
    );
}
