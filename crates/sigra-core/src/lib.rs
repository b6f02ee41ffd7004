//! # sigra-core
//!
//! The hardened core of [Sigra](https://github.com/sigra-rs/sigra): production authentication
//! for [Axum](https://docs.rs/axum). Every security decision lives here, so a fix reaches
//! every app with `cargo update`; the app keeps its own handlers, SQL and templates
//! (rendered by `cargo sigra install`).
//!
//! | module | owns |
//! |---|---|
//! | [`password`] | Argon2id hashing, bcrypt verify-and-upgrade, rehash policy, password policy, bounded hashing pool, breached-password check (its HTTP client with feature `breach-check`) |
//! | [`token`] | random tokens, SHA-256 digests, HMAC envelopes bound to purpose/subject/age, numeric codes |
//! | [`keys`] | the secret key base and per-purpose key derivation |
//! | [`encryption`] | AES-256-GCM encryption at rest with key ids and rotation |
//! | [`totp`] | RFC 6238 TOTP with replay defence, otpauth URIs, QR codes |
//! | [`backup_code`] | MFA backup codes |
//! | [`passkey`] | the WebAuthn relying party (webauthn-rs): sign-count policy, fake options for unknown emails |
//! | [`jwt`] | JWT signing and verification with an algorithm allow-list |
//! | [`api_token`] | `sigra_sk_…` API tokens and scopes |
//! | [`mail`] | outgoing mail: the `Mailer` trait, SMTP through lettre |
//! | [`jobs`] | the outbox and background jobs: a worker that claims, runs and retries jobs stored in the app's database |
//! | [`auth`] | the account flows: register, confirm, log in, magic links, reset, sudo, email and password changes, sessions |
//! | [`session`] | session validity (idle, absolute, remember-me, sudo) and the session cookie |
//! | [`audit`] | the audit vocabulary |
//! | [`rate_limit`] | fixed-window limits over shared database counters |
//! | [`store`] | the store contracts the app's database implements |
//! | [`config`] | [`SigraConfig`](config::SigraConfig): every default in one place |
//! | `testing` | (feature `testing`) the store conformance suite the app runs against its SQL |
//! | `web` | the Axum integration (feature `axum`, default): layers, extractors, cookies, JSON errors |
//!
//! Every fallible function returns its module's error type; all of them convert into the
//! crate-level [`Error`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api_token;
pub mod audit;
pub mod auth;
pub mod backup_code;
pub mod config;
pub mod encryption;
mod error;
pub mod jobs;
pub mod jwt;
pub mod keys;
pub mod mail;
pub mod passkey;
pub mod password;
pub mod random;
pub mod rate_limit;
pub mod session;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod totp;
#[cfg(feature = "axum")]
pub mod web;

pub use error::Error;
