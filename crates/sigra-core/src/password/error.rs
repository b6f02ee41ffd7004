//! The password module's error type.

use crate::random::RandomError;

use super::breach::BreachClientError;

/// Everything that can go wrong while checking, hashing or verifying a password.
///
/// No variant ever carries the password, a hash's salt or its output. Policy refusals
/// ([`TooShort`](Self::TooShort), [`TooLong`](Self::TooLong), [`TooCommon`](Self::TooCommon),
/// [`MatchesUserInput`](Self::MatchesUserInput), [`Breached`](Self::Breached)) have messages
/// written to be shown to the person choosing the password.
///
/// ```
/// use sigra_core::password::{Password, PasswordError, PasswordPolicy};
///
/// let err = PasswordPolicy::default().check(&Password::from("short")).unwrap_err();
/// assert!(matches!(err, PasswordError::TooShort { min_chars: 8 }));
/// assert_eq!(err.to_string(), "password is too short: use at least 8 characters");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password has fewer characters (Unicode scalar values, not bytes) than the policy asks.
    #[error("password is too short: use at least {min_chars} characters")]
    TooShort {
        /// The policy's minimum, in characters.
        min_chars: usize,
    },
    /// The password is longer than [`MAX_PASSWORD_BYTES`](super::MAX_PASSWORD_BYTES). The bound
    /// exists only to cap the work one request can cause; it is never used to truncate.
    #[error(
        "password is too long: at most {max_bytes} bytes are accepted (a long passphrase up to that size is fine)"
    )]
    TooLong {
        /// The limit, in bytes of UTF-8.
        max_bytes: usize,
    },
    /// The password is on the embedded list of common passwords (compared case-insensitively).
    #[error(
        "password is too common: it is on a list of frequently used passwords; choose another (a few unrelated words make a good passphrase)"
    )]
    TooCommon,
    /// The password is the user's own email address, its local part or another detail the host
    /// passed to [`PasswordPolicy::check_for_user`](super::PasswordPolicy::check_for_user).
    #[error(
        "password is too close to the account's own details (such as the email address); choose another"
    )]
    MatchesUserInput,
    /// The breached-password service knows this password from a data breach.
    #[error("password has appeared in {count} known data breaches; choose another")]
    Breached {
        /// How many times the service has seen it.
        count: u64,
    },
    /// The host's breached-password client failed, or answered something that is not in the
    /// range API's shape. The host decides whether to refuse the password or go on without the
    /// check (most apps go on and log it: an outage of a third-party service should not block
    /// sign-ups).
    #[error("the breached-password check could not be completed: {0}")]
    BreachCheckFailed(#[source] BreachClientError),
    /// The stored hash is of a kind this module does not verify (not Argon2, not bcrypt
    /// `$2a$`/`$2b$`/`$2y$`).
    #[error("the stored password hash is not in a supported format: {reason}")]
    UnsupportedHash {
        /// What was found and what is supported.
        reason: &'static str,
    },
    /// The stored hash looks like a supported kind but does not parse.
    #[error("the stored password hash is malformed: {reason}")]
    MalformedHash {
        /// What is wrong with it (never the hash itself).
        reason: String,
    },
    /// The stored hash asks for more work than this hasher allows (see
    /// [`HashCostLimits`](super::HashCostLimits)); it is refused before any memory is taken.
    #[error(
        "the stored password hash asks for {what} = {value}, above this hasher's limit of {limit}; raise HashCostLimits if the hash is genuine"
    )]
    HashCostTooHigh {
        /// Which cost: `memory_kib`, `iterations`, `parallelism` or `bcrypt_cost`.
        what: &'static str,
        /// The value in the stored hash.
        value: u32,
        /// The configured limit.
        limit: u32,
    },
    /// The account still has a legacy bcrypt hash, bcrypt only ever reads the first 72 bytes
    /// of a password, and the password given is longer. It is refused instead of being checked
    /// on a truncated prefix (which would let anyone who knows the first 72 bytes in).
    ///
    /// Answer the login like a wrong password (do not reveal that the account exists) and
    /// point to password reset, which moves the account to Argon2id.
    #[error(
        "the account has a legacy bcrypt hash, which covers only the first 72 bytes of a password, and the password given is longer; it is refused rather than checked on a truncated prefix: reset the password to move the account to Argon2id"
    )]
    LegacyHashPasswordTooLong,
    /// Argon2 parameters that Argon2 itself or this module's floor refuses.
    #[error("invalid Argon2 parameters: {reason}")]
    InvalidParams {
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A [`PasswordHasher`](super::PasswordHasher) or [`PasswordPolicy`](super::PasswordPolicy)
    /// setting out of range.
    #[error("invalid password configuration: {reason}")]
    InvalidConfig {
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// The Argon2 or bcrypt computation itself failed (for example the allocator could not
    /// provide the memory cost).
    #[error("password hashing failed: {reason}")]
    Hashing {
        /// The underlying library's message.
        reason: String,
    },
    /// The hasher's threads could not run the hash: one could not be started, or one stopped
    /// before answering (the work panicked).
    #[error("the password hashing task did not complete: {reason}")]
    WorkerFailed {
        /// What went wrong.
        reason: String,
    },
    /// The operating system's random number generator failed while making a salt.
    #[error(transparent)]
    Random(#[from] RandomError),
}
