//! Test support for apps and for sigra-core itself (feature `testing`).
//!
//! - [`conformance`]: the store conformance suite. The app runs it in its own tests against
//!   its generated SQL, on every database it supports; if an edit to that SQL breaks a
//!   promise of the [store contracts](crate::store), a test fails and names the promise and
//!   the fix.
//! - [`MemoryStore`]: an in-memory implementation of every store trait that keeps every
//!   contract, for unit tests of flows that need a store but not a database.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! sigra-core = { version = "0.1", features = ["testing"] }
//! ```
//!
//! The suite panics on a broken contract (it is meant to run inside `#[test]` functions), and
//! it spawns racing transactions with `tokio::spawn`, so it must run inside a tokio runtime;
//! use `#[tokio::test(flavor = "multi_thread")]` so the racers really run in parallel.

pub mod conformance;
mod memory;

pub use memory::{MemoryStore, MemoryTx};
