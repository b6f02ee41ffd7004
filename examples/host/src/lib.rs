//! sigra-example-host: an Axum app with Sigra authentication.
//!
//! - [`accounts`]: the users, their sessions and tokens, and the SQL that stores them
//! - [`app`]: the settings, the state every handler shares, and the background job worker
//! - [`cli`]: the command line (`outbox list`, `outbox retry`)
//! - [`db`]: the database pool and the migrations
//! - [`mail`]: the account mails and the outbox they leave through
//! - [`web`]: the router and the handlers

#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod cli;
pub mod db;
pub mod mail;
pub mod web;
