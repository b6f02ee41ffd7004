//! [`PasswordHasherBuilder`]: the hasher's settings (parameters, permits, limits, longest
//! password) and the checks that refuse an unworkable combination.

use super::{MAX_KINDS, PasswordHasher};
use crate::password::stored::StoredHash;
use crate::password::{Argon2Params, HashCostLimits, PasswordError};

/// Most permits a hasher may be given.
const MAX_PERMITS: usize = 4096;

/// Configures a [`PasswordHasher`]. Start from [`PasswordHasher::builder`].
///
/// ```
/// use sigra_core::password::{Argon2Params, HashCostLimits, PasswordHasher};
///
/// let hasher = PasswordHasher::builder()
///     .params(Argon2Params::RFC_9106_LOW_MEMORY)
///     .permits(4)
///     .limits(HashCostLimits::default())
///     .build()?;
/// assert_eq!(hasher.permits(), 4);
/// assert_eq!(hasher.peak_memory_kib(), 4 * 65536);
/// # Ok::<(), sigra_core::password::PasswordError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PasswordHasherBuilder {
    pub(super) params: Argon2Params,
    pub(super) permits: Option<usize>,
    pub(super) limits: HashCostLimits,
    pub(super) max_password_bytes: usize,
    pub(super) stored_kinds: Vec<String>,
}

impl PasswordHasherBuilder {
    /// Argon2id parameters for new hashes (default [`Argon2Params::OWASP_MINIMUM`]). Stored
    /// hashes with other parameters still verify and are upgraded on success.
    ///
    /// ```
    /// use sigra_core::password::{Argon2Params, PasswordHasher};
    /// let hasher = PasswordHasher::builder().params(Argon2Params::new(47104, 1, 1)?).build()?;
    /// assert_eq!(hasher.params().memory_kib(), 47104);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn params(mut self, params: Argon2Params) -> Self {
        self.params = params;
        self
    }

    /// How many hashes may run at once (default: `std::thread::available_parallelism`).
    /// Peak memory is `permits × memory_kib`; more permits than cores only adds latency.
    ///
    /// ```
    /// use sigra_core::password::PasswordHasher;
    /// assert_eq!(PasswordHasher::builder().permits(2).build()?.permits(), 2);
    /// assert!(PasswordHasher::builder().permits(0).build().is_err());
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn permits(mut self, permits: usize) -> Self {
        self.permits = Some(permits);
        self
    }

    /// The most a stored hash may ask for (default [`HashCostLimits::default`]). Must admit
    /// the hasher's own parameters.
    ///
    /// ```
    /// use sigra_core::password::{HashCostLimits, PasswordHasher};
    /// let limits = HashCostLimits { max_bcrypt_cost: 12, ..HashCostLimits::default() };
    /// let hasher = PasswordHasher::builder().limits(limits).build()?;
    /// assert_eq!(hasher.limits().max_bcrypt_cost, 12);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn limits(mut self, limits: HashCostLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The longest password accepted, in bytes (default
    /// [`MAX_PASSWORD_BYTES`](crate::password::MAX_PASSWORD_BYTES), 1024; between 256 and
    /// 65,536): longer ones are refused with [`PasswordError::TooLong`] before any work, never
    /// truncated.
    ///
    /// ```
    /// use sigra_core::password::{Password, PasswordError, PasswordHasher};
    /// let hasher = PasswordHasher::builder().max_password_bytes(300).build()?;
    /// let err = hasher.hash_blocking(&Password::from("x".repeat(301))).unwrap_err();
    /// assert!(matches!(err, PasswordError::TooLong { max_bytes: 300 }));
    /// # Ok::<(), PasswordError>(())
    /// ```
    pub fn max_password_bytes(mut self, max_bytes: usize) -> Self {
        self.max_password_bytes = max_bytes;
        self
    }

    /// Declares a kind of hash the users table holds besides the current Argon2id ones, by an
    /// example of it: one imported bcrypt hash (`$2b$12$…`: its cost is what counts), or an
    /// Argon2 hash made with older parameters. Every verify and dummy verify then pays one
    /// computation of that kind from the start, so a login of such an account takes as long
    /// as one for an unknown email. Kinds a verify meets are added anyway; declaring them
    /// covers the logins before the first one (see
    /// [`kinds_in_use`](PasswordHasher::kinds_in_use)). At most 3 besides the current one.
    ///
    /// ```
    /// use sigra_core::password::{Argon2Params, PasswordHasher};
    /// let hasher = PasswordHasher::builder()
    ///     .params(Argon2Params::danger_weak(64, 1, 1)?)
    ///     // Users imported from a system hashing with bcrypt, cost 4.
    ///     .stored_hash_kind("$2b$04$dH1kP3fZ09wKcXL1OYcoMOHSBX/WUlVTyncMAx9YxRCJpLuIH8uP.")
    ///     .build()?;
    /// assert_eq!(hasher.kinds_in_use(), 2);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn stored_hash_kind(mut self, example: impl Into<String>) -> Self {
        self.stored_kinds.push(example.into());
        self
    }

    /// Checks the settings and makes the hasher.
    ///
    /// ```
    /// use sigra_core::password::{Argon2Params, HashCostLimits, PasswordHasher};
    /// let tight = HashCostLimits { max_memory_kib: 1024, ..HashCostLimits::default() };
    /// let err = PasswordHasher::builder().limits(tight).build().unwrap_err();
    /// assert!(err.to_string().contains("memory_kib = 19456"));
    /// ```
    pub fn build(self) -> Result<PasswordHasher, PasswordError> {
        let permits = self.permits.unwrap_or_else(default_permits);
        if !(1..=MAX_PERMITS).contains(&permits) {
            return Err(PasswordError::InvalidConfig {
                reason: format!("permits = {permits}: must be between 1 and {MAX_PERMITS}"),
            });
        }
        self.limits.admit(self.params)?;
        crate::password::policy::check_max_bytes(self.max_password_bytes)?;
        if self.stored_kinds.len() >= MAX_KINDS {
            return Err(PasswordError::InvalidConfig {
                reason: format!(
                    "{} stored hash kinds declared: at most {} besides the current parameters",
                    self.stored_kinds.len(),
                    MAX_KINDS - 1
                ),
            });
        }
        let mut stored_kinds = Vec::with_capacity(self.stored_kinds.len());
        for example in &self.stored_kinds {
            let parsed = StoredHash::parse(example, Some(&self.limits)).map_err(|err| {
                PasswordError::InvalidConfig {
                    reason: format!("a declared stored hash kind is not a usable hash: {err}"),
                }
            })?;
            stored_kinds.push(parsed.kind());
        }
        Ok(PasswordHasher::from_parts(
            self.params,
            permits,
            self.limits,
            self.max_password_bytes,
            stored_kinds,
        ))
    }
}

/// The number of hashes a default hasher runs at once: one per core.
pub(super) fn default_permits() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}
