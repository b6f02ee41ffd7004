//! API tokens (`sigra_sk_…`) and the scopes they carry.
//!
//! API tokens are Sigra's default API credential: database-backed, revocable one by one, and
//! easy to spot when they leak. A token is a human-readable [`TokenPrefix`] (default
//! [`DEFAULT_PREFIX`], `sigra_sk_`) followed by 32 random bytes from [`crate::random`] in
//! unpadded base64url (43 characters):
//!
//! ```text
//! sigra_sk_Qm9vdHN0cmFwcGVkIGJ5IGEgcmFuZG9tIGdlbmVyYXR
//! ```
//!
//! The host stores only the SHA-256 [`ApiTokenDigest`] of the **whole** token (prefix
//! included, so a token is bound to its prefix), plus a short [display
//! prefix](RawApiToken::display_prefix) such as `sigra_sk_Qm9v…` that lets users tell their
//! tokens apart. The raw token is shown once; [`RawApiToken`] zeroes it on drop and never
//! prints it. Presented tokens are [`parse`]d (wrong prefix, wrong length and bad characters
//! are distinct errors), digested, and looked up by digest; [`ApiTokenDigest`] compares in
//! constant time.
//!
//! Prefixes are lowercase `[a-z0-9_]`, start with a letter, end with `_`, are 2–32 characters
//! long, and never start with `eyj` in any case: a JWT always starts with `eyJ`, so an API
//! token can never be mistaken for one (and [`parse`] says so when it is handed a JWT).
//!
//! [`Scope`]s follow the grammar `resource:action` (see the [`scope` docs](Scope)), with `*`
//! wildcards, and a [`ScopeSet`] answers `granted.allows(&required)`.
//!
//! ```
//! use sigra_core::api_token::{self, ScopeSet, TokenPrefix};
//!
//! // Creating a token: show `raw` once, store `digest` and `display`.
//! let raw = api_token::generate(&TokenPrefix::DEFAULT)?;
//! let digest = raw.digest();
//! let display = raw.display_prefix();
//! assert!(display.starts_with("sigra_sk_") && display.ends_with('…'));
//!
//! // Authenticating a request: parse what came after `Bearer `, look up by digest.
//! let presented = api_token::parse(raw.expose_secret(), &TokenPrefix::DEFAULT)?;
//! assert!(presented.digest().matches(&digest));
//!
//! // Authorizing it.
//! let granted = ScopeSet::parse(["projects:*", "billing:read"])?;
//! granted.require("projects:write")?;
//! assert!(granted.require("billing:write").is_err());
//! # Ok::<(), sigra_core::api_token::ApiTokenError>(())
//! ```

mod digest;
mod error;
mod prefix;
mod raw;
mod scope;

pub use digest::ApiTokenDigest;
pub use error::ApiTokenError;
pub use prefix::{DEFAULT_PREFIX, TokenPrefix};
pub use raw::{BODY_LEN, DISPLAY_BODY_CHARS, RawApiToken, generate, parse};
pub use scope::{MAX_SCOPES, Scope, ScopeSet};

/// A short, printable rendering of an untrusted string for an error message.
fn shown(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out: String = s
        .chars()
        .take(MAX_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if s.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}
