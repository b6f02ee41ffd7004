//! Password policy and Argon2id parameters, as plain numbers (no hashing types here).

use std::time::Duration;

/// Argon2id parameters (reference and OWASP minimum: m = 19456 KiB, t = 2, p = 1) and the
/// number of hashes allowed to run at once.
///
/// ```
/// let a = sigra_core::config::Argon2Config::default();
/// assert_eq!((a.memory_kib, a.iterations, a.parallelism), (19_456, 2, 1));
/// assert!(a.max_concurrent_hashes() >= 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Argon2Config {
    /// Memory per hash in KiB (`m`). Default 19456 (19 MiB).
    pub memory_kib: u32,
    /// Passes over the memory (`t`). Default 2.
    pub iterations: u32,
    /// Lanes (`p`). Default 1.
    pub parallelism: u32,
    /// Hashes allowed to run at once; `None` (the default, `auto`) means one per CPU core.
    pub max_concurrent: Option<usize>,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: OWASP_MIN_MEMORY_KIB,
            iterations: 2,
            parallelism: 1,
            max_concurrent: None,
        }
    }
}

/// OWASP's minimum Argon2id memory (19 MiB) at `t = 2`.
pub(crate) const OWASP_MIN_MEMORY_KIB: u32 = 19_456;
/// OWASP's memory for `t = 1` (46 MiB).
pub(crate) const OWASP_T1_MEMORY_KIB: u32 = 47_104;

impl Argon2Config {
    /// The effective limit on concurrent hashes: `max_concurrent`, or the number of CPU
    /// cores (at least 1) when it is `None`.
    ///
    /// ```
    /// let mut a = sigra_core::config::Argon2Config::default();
    /// a.max_concurrent = Some(3);
    /// assert_eq!(a.max_concurrent_hashes(), 3);
    /// ```
    pub fn max_concurrent_hashes(&self) -> usize {
        self.max_concurrent.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(std::num::NonZeroUsize::get)
                .unwrap_or(1)
        })
    }
}

/// What the account flows do with a new password when the breached-password service cannot
/// be asked (unreachable, too slow, an error status, an answer that is not a range answer).
///
/// ```
/// use sigra_core::config::BreachCheckFailure;
/// assert_eq!(BreachCheckFailure::default(), BreachCheckFailure::Allow);
/// assert_eq!(BreachCheckFailure::Refuse.as_str(), "refuse");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BreachCheckFailure {
    /// Accept the password without the check and log a warning (the default: an outage of a
    /// third-party service does not block sign-ups).
    #[default]
    Allow,
    /// Refuse the password with a form error asking to try again.
    Refuse,
}

impl BreachCheckFailure {
    /// The lowercase name (`allow`, `refuse`).
    ///
    /// ```
    /// assert_eq!(sigra_core::config::BreachCheckFailure::Allow.as_str(), "allow");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Refuse => "refuse",
        }
    }
}

/// Password policy (reference: at least 8 characters, input capped at 1 KiB to bound work and
/// never truncated, common passwords refused, breach check off, no composition rules).
///
/// ```
/// let p = sigra_core::config::PasswordConfig::default();
/// assert_eq!((p.min_chars, p.max_bytes), (8, 1024));
/// assert!(p.reject_common && !p.breach_check);
/// assert_eq!(p.breach_check_url, "https://api.pwnedpasswords.com");
/// assert_eq!(p.breach_check_timeout.as_secs(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordConfig {
    /// Fewest characters (Unicode scalar values) accepted. Default 8.
    pub min_chars: u32,
    /// Longest input accepted, in bytes; longer input is refused, never truncated. Default 1024.
    pub max_bytes: u32,
    /// Refuse passwords from the embedded common-password list. Default `true`.
    pub reject_common: bool,
    /// Refuse passwords the Pwned Passwords range service knows from breaches (k-anonymity:
    /// only 5 hex characters of the SHA-1 are sent) at registration, reset and change. Needs
    /// sigra-core's `breach-check` feature. Default `false`.
    pub breach_check: bool,
    /// The range service's base URL (`/range/{prefix}` is appended). Default
    /// `https://api.pwnedpasswords.com`.
    pub breach_check_url: String,
    /// How long one check may take, connection included. Default 2 s.
    pub breach_check_timeout: Duration,
    /// What to do when the service cannot be asked. Default [`BreachCheckFailure::Allow`].
    pub breach_check_on_failure: BreachCheckFailure,
    /// Argon2id parameters.
    pub argon2: Argon2Config,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_bytes: 1024,
            reject_common: true,
            breach_check: false,
            breach_check_url: "https://api.pwnedpasswords.com".to_owned(),
            breach_check_timeout: Duration::from_secs(2),
            breach_check_on_failure: BreachCheckFailure::Allow,
            argon2: Argon2Config::default(),
        }
    }
}
