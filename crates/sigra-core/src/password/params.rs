//! [`Argon2Params`] (the cost of new hashes) and [`HashCostLimits`] (the most a stored hash
//! may ask for).

use super::PasswordError;

/// Argon2id cost parameters for new hashes.
///
/// The default, [`Argon2Params::OWASP_MINIMUM`], is m = 19456 KiB (19 MiB), t = 2, p = 1: the
/// first configuration the [OWASP Password Storage Cheat Sheet] recommends for Argon2id. It
/// takes tens of milliseconds on a server core, which keeps a login fast while costing an
/// attacker with stolen hashes memory as well as time.
///
/// [`Argon2Params::RFC_9106_LOW_MEMORY`] is RFC 9106's second recommended option (§4: m = 64
/// MiB, t = 3, p = 4), for hosts that can afford it. Higher memory is stronger but every
/// concurrent hash holds its whole memory cost: the peak resident memory of a
/// [`PasswordHasher`](super::PasswordHasher) is `permits × memory_kib` KiB (plus the upgrade
/// hash, which reuses the same permit). With p > 1 the lanes really run in parallel on rayon's
/// pool (argon2's `parallel` feature).
///
/// [`Argon2Params::new`] refuses costs below OWASP's weakest equivalent configuration (m = 7
/// MiB with t = 5; in general `memory_kib ≥ 7168` and `memory_kib × iterations ≥ 35840`). Tests
/// and benches that need tiny parameters use [`Argon2Params::danger_weak`].
///
/// ```
/// use sigra_core::password::Argon2Params;
///
/// let params = Argon2Params::default();
/// assert_eq!((params.memory_kib(), params.iterations(), params.parallelism()), (19456, 2, 1));
/// assert_eq!(params, Argon2Params::OWASP_MINIMUM);
///
/// let strong = Argon2Params::new(65536, 3, 4)?;
/// assert_eq!(strong, Argon2Params::RFC_9106_LOW_MEMORY);
/// assert!(Argon2Params::new(4096, 1, 1).is_err());
/// # Ok::<(), sigra_core::password::PasswordError>(())
/// ```
///
/// [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawParams", into = "RawParams")]
pub struct Argon2Params {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// The serde shape of [`Argon2Params`]: deserializing goes through [`Argon2Params::new`], so a
/// config file cannot set costs below the floor.
#[derive(serde::Serialize, serde::Deserialize)]
struct RawParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl TryFrom<RawParams> for Argon2Params {
    type Error = PasswordError;
    fn try_from(raw: RawParams) -> Result<Self, PasswordError> {
        Self::new(raw.memory_kib, raw.iterations, raw.parallelism)
    }
}

impl From<Argon2Params> for RawParams {
    fn from(p: Argon2Params) -> Self {
        Self {
            memory_kib: p.memory_kib,
            iterations: p.iterations,
            parallelism: p.parallelism,
        }
    }
}

/// The weakest memory cost [`Argon2Params::new`] accepts (OWASP's m = 7 MiB row).
const FLOOR_MEMORY_KIB: u64 = 7168;
/// The least `memory_kib × iterations` [`Argon2Params::new`] accepts (OWASP's m = 7 MiB, t = 5).
const FLOOR_MEMORY_TIMES_ITERATIONS: u64 = 7168 * 5;
/// The most lanes a new hash may use. RFC 9106 allows up to 2^24 − 1; more than a few dozen
/// only adds thread overhead.
const MAX_PARALLELISM: u32 = 255;

impl Argon2Params {
    /// OWASP's minimum recommendation for Argon2id: m = 19456 KiB, t = 2, p = 1. The default.
    pub const OWASP_MINIMUM: Self = Self {
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
    };

    /// RFC 9106's second recommended option (for memory-constrained environments): m = 65536
    /// KiB (64 MiB), t = 3, p = 4. Also argon2-cffi's default.
    pub const RFC_9106_LOW_MEMORY: Self = Self {
        memory_kib: 65536,
        iterations: 3,
        parallelism: 4,
    };

    /// Parameters for new hashes, checked against Argon2's own rules and against OWASP's floor
    /// (`memory_kib ≥ 7168`, `memory_kib × iterations ≥ 35840`, `1 ≤ parallelism ≤ 255`,
    /// `memory_kib ≥ 8 × parallelism`).
    ///
    /// ```
    /// use sigra_core::password::Argon2Params;
    /// let params = Argon2Params::new(47104, 1, 1)?; // OWASP's m = 46 MiB, t = 1 row
    /// assert_eq!(params.memory_kib(), 47104);
    /// assert!(Argon2Params::new(19456, 0, 1).is_err());
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, PasswordError> {
        let params = Self::danger_weak(memory_kib, iterations, parallelism)?;
        if u64::from(memory_kib) < FLOOR_MEMORY_KIB
            || u64::from(memory_kib) * u64::from(iterations) < FLOOR_MEMORY_TIMES_ITERATIONS
        {
            return Err(PasswordError::InvalidParams {
                reason: format!(
                    "m={memory_kib} KiB, t={iterations} is below OWASP's floor (memory_kib >= {FLOOR_MEMORY_KIB} and memory_kib * iterations >= {FLOOR_MEMORY_TIMES_ITERATIONS}); the default m=19456, t=2, p=1 is a good start"
                ),
            });
        }
        Ok(params)
    }

    /// Parameters that only have to be valid for Argon2, however weak (as low as m = 8 KiB,
    /// t = 1). For tests and benches; never for real password storage.
    ///
    /// ```
    /// use sigra_core::password::Argon2Params;
    /// let tiny = Argon2Params::danger_weak(64, 1, 1)?;
    /// assert_eq!(tiny.memory_kib(), 64);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn danger_weak(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, PasswordError> {
        if parallelism == 0 || parallelism > MAX_PARALLELISM {
            return Err(PasswordError::InvalidParams {
                reason: format!(
                    "p={parallelism}: parallelism must be between 1 and {MAX_PARALLELISM}"
                ),
            });
        }
        argon2::Params::new(memory_kib, iterations, parallelism, None).map_err(|e| {
            PasswordError::InvalidParams {
                reason: format!(
                    "m={memory_kib}, t={iterations}, p={parallelism}: {e} (Argon2 needs t >= 1 and m >= 8 * p)"
                ),
            }
        })?;
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// Memory cost in KiB (`m`). Each hash in flight holds this much memory.
    ///
    /// ```
    /// assert_eq!(sigra_core::password::Argon2Params::default().memory_kib(), 19456);
    /// ```
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes over the memory (`t`).
    ///
    /// ```
    /// assert_eq!(sigra_core::password::Argon2Params::default().iterations(), 2);
    /// ```
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Number of lanes (`p`), computed in parallel.
    ///
    /// ```
    /// assert_eq!(sigra_core::password::Argon2Params::default().parallelism(), 1);
    /// ```
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// The argon2 crate's parameters (32-byte output).
    pub(crate) fn to_argon2(self) -> Result<argon2::Params, PasswordError> {
        argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(super::hasher::OUTPUT_LEN),
        )
        .map_err(|e| PasswordError::InvalidParams {
            reason: e.to_string(),
        })
    }
}

impl Default for Argon2Params {
    /// [`Argon2Params::OWASP_MINIMUM`].
    fn default() -> Self {
        Self::OWASP_MINIMUM
    }
}

impl std::fmt::Display for Argon2Params {
    /// The PHC form, as used in bench ids and logs: `m=19456,t=2,p=1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "m={},t={},p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

/// The most work a *stored* hash may ask for before it is refused unverified.
///
/// A stored hash carries its own cost, and verifying it allocates that much memory. A corrupt
/// or planted row such as `$argon2id$v=19$m=4294967295,...` would otherwise try to take 4 TiB;
/// a bcrypt `$2b$31$` hash would run for days. Verification refuses such hashes with
/// [`PasswordError::HashCostTooHigh`] before taking a permit or any memory. The defaults are
/// generous: Argon2 up to 2 GiB (RFC 9106's first recommendation), 16 passes and 16 lanes, and
/// bcrypt up to cost 16.
///
/// ```
/// use sigra_core::password::HashCostLimits;
/// let limits = HashCostLimits { max_bcrypt_cost: 14, ..HashCostLimits::default() };
/// assert_eq!(limits.max_memory_kib, 2 * 1024 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashCostLimits {
    /// Largest Argon2 `m` (KiB) accepted in a stored hash. Default 2 GiB.
    pub max_memory_kib: u32,
    /// Largest Argon2 `t` accepted in a stored hash. Default 16.
    pub max_iterations: u32,
    /// Largest Argon2 `p` accepted in a stored hash. Default 16.
    pub max_parallelism: u32,
    /// Largest bcrypt cost accepted in a stored hash. Default 16 (each step doubles the work;
    /// cost 12 takes a few hundred milliseconds).
    pub max_bcrypt_cost: u32,
}

impl Default for HashCostLimits {
    fn default() -> Self {
        Self {
            max_memory_kib: 2 * 1024 * 1024,
            max_iterations: 16,
            max_parallelism: 16,
            max_bcrypt_cost: 16,
        }
    }
}

impl HashCostLimits {
    /// Refuses `value` above `limit`, naming the cost.
    pub(crate) fn check(what: &'static str, value: u32, limit: u32) -> Result<(), PasswordError> {
        if value > limit {
            return Err(PasswordError::HashCostTooHigh { what, value, limit });
        }
        Ok(())
    }

    /// Whether new hashes made with `params` could themselves be verified under these limits.
    pub(crate) fn admit(&self, params: Argon2Params) -> Result<(), PasswordError> {
        Self::check("memory_kib", params.memory_kib, self.max_memory_kib)?;
        Self::check("iterations", params.iterations, self.max_iterations)?;
        Self::check("parallelism", params.parallelism, self.max_parallelism)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owasp_rows_are_accepted() {
        for (m, t) in [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)] {
            assert!(Argon2Params::new(m, t, 1).is_ok(), "m={m} t={t}");
        }
        assert!(Argon2Params::new(7167, 10, 1).is_err());
        assert!(Argon2Params::new(19456, 1, 1).is_err());
    }

    #[test]
    fn structural_rules() {
        assert!(Argon2Params::danger_weak(8, 1, 1).is_ok());
        assert!(Argon2Params::danger_weak(7, 1, 1).is_err());
        assert!(Argon2Params::danger_weak(64, 0, 1).is_err());
        assert!(Argon2Params::danger_weak(64, 1, 0).is_err());
        assert!(Argon2Params::danger_weak(64, 1, 9).is_err()); // m < 8p
        assert!(Argon2Params::danger_weak(1 << 20, 1, 256).is_err());
    }

    #[test]
    fn serde_goes_through_the_floor() {
        let p: Argon2Params =
            serde_json::from_str(r#"{"memory_kib":65536,"iterations":3,"parallelism":4}"#).unwrap();
        assert_eq!(p, Argon2Params::RFC_9106_LOW_MEMORY);
        let weak = serde_json::from_str::<Argon2Params>(
            r#"{"memory_kib":64,"iterations":1,"parallelism":1}"#,
        );
        assert!(weak.is_err());
        assert_eq!(
            serde_json::to_string(&Argon2Params::default()).unwrap(),
            r#"{"memory_kib":19456,"iterations":2,"parallelism":1}"#
        );
    }

    #[test]
    fn display_is_phc_form() {
        assert_eq!(Argon2Params::default().to_string(), "m=19456,t=2,p=1");
    }
}
