//! Helpers shared by the integration tests. A test file that needs them declares
//! `#[macro_use] mod support;` (every test file is its own crate: each compiles its own copy
//! and uses part of it, hence the `allow`s).
//!
//! - `clock`: `clock!()`, a movable clock with a static of its own per use.
//! - `auth`: the harness of the account-flow tests (`auth_*.rs`).
#![allow(dead_code, unreachable_pub, unused_imports, unused_macros)]

#[macro_use]
pub mod clock;
pub mod auth;
