//! sigra-example-host: an Axum app with Sigra authentication.
//!
//! - [`accounts`]: the users and what the app does with them
//! - [`db`]: the database pool and the migrations
//! - [`web`]: the router and the handlers

pub mod accounts;
pub mod db;
pub mod web;
