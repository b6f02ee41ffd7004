//! sigra-example-host: an Axum app with Sigra authentication.
//!
//! - [`accounts`]: the users, their sessions and tokens, and the SQL that stores them
//! - [`app`]: the settings and the state every handler shares
//! - [`db`]: the database pool and the migrations
//! - [`mail`]: the account mails and the dev mailbox
//! - [`web`]: the router and the handlers

#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod db;
pub mod mail;
pub mod web;
