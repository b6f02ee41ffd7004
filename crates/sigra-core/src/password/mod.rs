//! Password hashing, verification, upgrade and policy.
//!
//! # Design
//!
//! - **Argon2id** (RFC 9106) for every new hash, stored as a PHC string
//!   (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a 16-byte random salt and a 32-byte
//!   output. The default cost, [`Argon2Params::OWASP_MINIMUM`] (m = 19 MiB, t = 2, p = 1), is
//!   the OWASP Password Storage Cheat Sheet's minimum; [`Argon2Params::RFC_9106_LOW_MEMORY`]
//!   (64 MiB, t = 3, p = 4) is stronger and costs more memory per concurrent login.
//! - **Verify and upgrade**: [`PasswordHasher::verify`] accepts Argon2id/Argon2i/Argon2d PHC
//!   strings and legacy bcrypt hashes (`$2a$`, `$2b$`, `$2y$`). When the password is right and
//!   the stored hash is not Argon2id with the current parameters, the result carries a new
//!   hash for the host to store ([`Verification::Valid`]'s `upgraded`), so old hashes
//!   disappear one login at a time.
//! - **bcrypt's 72-byte limit**: bcrypt reads only the first 72 bytes of a password. A longer
//!   password checked against a bcrypt hash is refused
//!   ([`PasswordError::LegacyHashPasswordTooLong`]) instead of passing on its prefix; the user
//!   resets the password, which moves the account to Argon2id. Argon2 has no such limit.
//! - **No user enumeration by timing**: [`PasswordHasher::dummy_verify`] does the work of a
//!   verify and answers [`Verification::Invalid`]; call it when no account has the email
//!   given. Every verify and dummy verify does one computation of each kind of stored hash in
//!   use (the current Argon2id parameters, plus bcrypt or older Argon2 parameters once declared
//!   with [`PasswordHasherBuilder::stored_hash_kind`] or met), so an account with an imported
//!   bcrypt hash is not told apart from an unknown email either.
//! - **Bounded work**: hashes run on the hasher's own threads (one per permit, at a lower CPU
//!   priority on Linux) behind a FIFO semaphore with one permit per core by default, so a
//!   login flood queues instead of starving the async runtime, and peak memory is
//!   `permits × memory_kib` ([`PasswordHasher::peak_memory_kib`]).
//!   [`PasswordHasher::in_flight`] is the gauge to export. Stored hashes asking for more than
//!   [`HashCostLimits`] are refused before any memory is taken.
//! - **Policy** ([`PasswordPolicy`], NIST SP 800-63B): at least 8 characters (counted as
//!   characters), anything up to [`MAX_PASSWORD_BYTES`] accepted and never truncated, no
//!   composition rules, 30,000 common passwords refused case-insensitively
//!   ([`is_common_password`]). An optional breached-password check
//!   ([`check_not_breached`]) asks a k-anonymity range client ([`PwnedPasswordsRange`]) and
//!   sends it only 5 hex characters of the password's SHA-1. The cargo feature `breach-check`
//!   brings `PwnedPasswordsClient`, an HTTP client of the Pwned Passwords range API, which the
//!   account flows use when `SIGRA_PASSWORD_BREACH_CHECK=true`.
//! - **Secrets stay secret**: passwords travel as [`Password`] (zeroized on drop, `Debug`
//!   redacted, no `Display`); [`PasswordHashString`]'s `Debug` hides salt and output.
//!
//! # Example: register and log in
//!
//! ```
//! use sigra_core::password::{Argon2Params, Password, PasswordHasher, PasswordPolicy, Verification};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), sigra_core::password::PasswordError> {
//! // One hasher for the whole app (the default parameters in production).
//! # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
//! # /*
//! let hasher = PasswordHasher::default();
//! # */
//!
//! // Registration: policy first, then hash.
//! let chosen = Password::from("correct horse battery staple");
//! PasswordPolicy::default().check_for_user(&chosen, &["ada@example.com"])?;
//! let stored = hasher.hash(&chosen).await?.into_string();
//!
//! // Login: verify against the stored hash, or a dummy verify when the email is unknown.
//! let attempt = Password::from("correct horse battery staple");
//! let user_hash: Option<&str> = Some(&stored);
//! let result = match user_hash {
//!     Some(hash) => hasher.verify(&attempt, hash).await?,
//!     None => hasher.dummy_verify(&attempt).await?,
//! };
//! match result {
//!     Verification::Valid { upgraded } => {
//!         if let Some(new_hash) = upgraded {
//!             // UPDATE users SET hashed_password = $1 ... (same transaction as the login)
//!             let _ = new_hash.into_string();
//!         }
//!     }
//!     Verification::Invalid => { /* "invalid email or password" */ }
//! }
//! # Ok(())
//! # }
//! ```

mod breach;
mod common;
mod error;
mod hasher;
mod params;
pub(crate) mod policy;
#[cfg(feature = "breach-check")]
mod pwned;
mod secret;
mod stored;

pub use breach::{BreachClientError, PwnedPasswordsRange, breach_count, check_not_breached};
pub use common::{common_password_count, is_common_password};
pub use error::PasswordError;
pub use hasher::{PasswordHasher, PasswordHasherBuilder, Verification};
pub use params::{Argon2Params, HashCostLimits};
pub use policy::{MIN_PASSWORD_CHARS, PasswordPolicy};
#[cfg(feature = "breach-check")]
pub use pwned::{PWNED_PASSWORDS_URL, PwnedClientError, PwnedPasswordsClient, parse_range};
pub use secret::Password;
pub use stored::PasswordHashString;

/// The longest password accepted anywhere in this module, in bytes of UTF-8: 1024.
///
/// The bound only caps the work one request can cause (hashing cost barely depends on length,
/// but every layer that copies or compares the input does); it is far above any passphrase a
/// person types, and nothing is ever truncated to fit it. Longer input is refused with
/// [`PasswordError::TooLong`], which names the limit.
///
/// ```
/// assert_eq!(sigra_core::password::MAX_PASSWORD_BYTES, 1024);
/// ```
pub const MAX_PASSWORD_BYTES: usize = 1024;
