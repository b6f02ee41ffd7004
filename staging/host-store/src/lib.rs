//! The store half of a Sigra app, as `cargo sigra install Accounts User users` generates it.
#![forbid(unsafe_code)]

pub mod accounts;
