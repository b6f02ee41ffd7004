//! [`PasswordHasher`]: Argon2id hashing and verification on its own low-priority threads behind a
//! semaphore, with bcrypt verify-and-upgrade and a dummy verify for unknown users.
//!
//! One file per concern:
//!
//! - here: the hasher's public API, making a new Argon2id PHC string and verifying a stored
//!   hash ([`Verification`]);
//! - `builder`: [`PasswordHasherBuilder`], the settings and their checks;
//! - `threads`: the hashing threads (low priority, one per permit), the semaphore in front of
//!   them and the in-flight gauge;
//! - `memory`: the memory budget, Argon2's working memory reused per permit;
//! - `kinds`: the kinds of stored hash in use (bcrypt, older Argon2 parameters), one
//!   computation of each paid by every verify and dummy verify, so timing tells no account
//!   from an unknown email.

mod builder;
mod kinds;
mod memory;
mod threads;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::{Algorithm, Argon2, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tokio::sync::Semaphore;

use super::stored::{HashKind, StoredHash};
use super::{
    Argon2Params, HashCostLimits, MAX_PASSWORD_BYTES, Password, PasswordError, PasswordHashString,
};
pub use builder::PasswordHasherBuilder;
use kinds::KindsInUse;
pub(crate) use kinds::MAX_KINDS;
pub(crate) use memory::MemoryPool;
use threads::Job;

/// Length of the Argon2 output in new hashes, in bytes (RFC 9106 recommends 32).
pub(crate) const OUTPUT_LEN: usize = 32;
/// Length of the random salt in new hashes, in bytes (RFC 9106 recommends 16).
pub(crate) const SALT_LEN: usize = 16;

/// The outcome of [`PasswordHasher::verify`] when the stored hash could be checked.
///
/// ```
/// use sigra_core::password::Verification;
///
/// fn after_login(result: Verification) -> Option<String> {
///     match result {
///         // Store the new hash (same transaction as the login) when there is one.
///         Verification::Valid { upgraded } => upgraded.map(|h| h.into_string()),
///         Verification::Invalid => None,
///     }
/// }
/// assert_eq!(after_login(Verification::Invalid), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a verification result must be checked"]
pub enum Verification {
    /// The password is right.
    Valid {
        /// A fresh Argon2id hash with the current parameters, when the stored one is bcrypt,
        /// Argon2i/Argon2d, or Argon2id with other parameters. The host should replace the
        /// stored hash with it.
        upgraded: Option<PasswordHashString>,
    },
    /// The password is wrong (or this was a [`dummy_verify`](PasswordHasher::dummy_verify)).
    Invalid,
}

impl Verification {
    /// Whether the password was right.
    ///
    /// ```
    /// use sigra_core::password::Verification;
    /// assert!(Verification::Valid { upgraded: None }.is_valid());
    /// assert!(!Verification::Invalid.is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid { .. })
    }

    /// The replacement hash to store, if any.
    ///
    /// ```
    /// use sigra_core::password::Verification;
    /// assert!(Verification::Invalid.upgraded().is_none());
    /// ```
    pub fn upgraded(&self) -> Option<&PasswordHashString> {
        match self {
            Self::Valid { upgraded } => upgraded.as_ref(),
            Self::Invalid => None,
        }
    }
}

/// Hashes and verifies passwords off the async runtime, a bounded number at a time.
///
/// Cheap to clone (an `Arc` inside): make one at startup and share it. Each call takes a
/// permit from a [`tokio::sync::Semaphore`] (FIFO, so no caller starves) and then runs on
/// one of the hasher's own threads (one per permit, started on first use, at a lower CPU
/// priority on Linux: nice 10, so request handling goes first when both compete), so a
/// login flood queues on the semaphore instead of starving the async workers, and memory stays
/// bounded: every Argon2 call holds its whole memory cost, so peak memory is
/// [`peak_memory_kib`](Self::peak_memory_kib) = `permits × memory_kib`. A dropped request future does not free its permit early: the permit
/// travels with the job to the hashing thread and is released only when the hash is done.
///
/// - [`hash`](Self::hash) makes an Argon2id PHC string with a fresh 16-byte salt.
/// - [`verify`](Self::verify) checks Argon2id/Argon2i/Argon2d PHC strings and legacy bcrypt
///   (`$2a$`, `$2b$`, `$2y$`) hashes; when the password is right and the stored hash is not
///   Argon2id with the current parameters it returns the replacement hash to store.
/// - [`dummy_verify`](Self::dummy_verify) costs the same as a verify and always answers
///   [`Verification::Invalid`]: call it when no user has the email, so timing does not reveal
///   which emails exist. Every verify and dummy verify does one computation of each kind of
///   stored hash in use (current Argon2id, and bcrypt or older Argon2 parameters once declared
///   or met), so a legacy account is not told apart from an unknown email either.
/// - The `*_blocking` variants do the same on the calling thread (still under a permit), for
///   code already on a blocking thread. Never call them from async code.
///
/// ```
/// use sigra_core::password::{Argon2Params, Password, PasswordHasher, Verification};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sigra_core::password::PasswordError> {
/// // Real apps keep the default parameters; tiny ones keep this example fast.
/// let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
/// let stored = hasher.hash(&Password::from("correct horse battery")).await?;
///
/// let ok = hasher.verify(&Password::from("correct horse battery"), stored.as_str()).await?;
/// assert_eq!(ok, Verification::Valid { upgraded: None });
/// let wrong = hasher.verify(&Password::from("Tr0ub4dor&3"), stored.as_str()).await?;
/// assert_eq!(wrong, Verification::Invalid);
/// // Unknown email: spend the same time, answer Invalid.
/// assert_eq!(hasher.dummy_verify(&Password::from("whatever")).await?, Verification::Invalid);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    limits: HashCostLimits,
    permits: usize,
    semaphore: Arc<Semaphore>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    /// The kinds of stored hash every verify pays one computation of, the current parameters
    /// first.
    kinds: KindsInUse,
    /// Every computation done, by kind (tests check that verifies cost the same).
    #[cfg(test)]
    work: Mutex<Vec<HashKind>>,
    /// Argon2 working memory, reused: at most one buffer per permit.
    memory: MemoryPool,
    /// Longer passwords are refused before any work.
    max_password_bytes: usize,
    /// The hashing threads, started on first use.
    workers: OnceLock<Result<Mutex<mpsc::Sender<Job>>, String>>,
}

impl Default for PasswordHasher {
    /// OWASP's minimum parameters, one permit per core, default limits.
    fn default() -> Self {
        Self::from_parts(
            Argon2Params::default(),
            builder::default_permits(),
            HashCostLimits::default(),
            MAX_PASSWORD_BYTES,
            Vec::new(),
        )
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("permits", &self.inner.permits)
            .field("in_flight", &self.in_flight())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A builder with the defaults: [`Argon2Params::OWASP_MINIMUM`], one permit per core,
    /// [`HashCostLimits::default`].
    ///
    /// ```
    /// let hasher = sigra_core::password::PasswordHasher::builder().build()?;
    /// assert_eq!(hasher.params(), Default::default());
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn builder() -> PasswordHasherBuilder {
        PasswordHasherBuilder {
            params: Argon2Params::default(),
            permits: None,
            limits: HashCostLimits::default(),
            max_password_bytes: MAX_PASSWORD_BYTES,
            stored_kinds: Vec::new(),
        }
    }

    fn from_parts(
        params: Argon2Params,
        permits: usize,
        limits: HashCostLimits,
        max_password_bytes: usize,
        stored_kinds: Vec<HashKind>,
    ) -> Self {
        // The current kind first: what a hash made now costs to check.
        let current = params
            .to_argon2()
            .ok()
            .map(|params| HashKind::argon2(Algorithm::Argon2id, Version::V0x13, &params));
        Self {
            inner: Arc::new(Inner {
                params,
                limits,
                permits,
                semaphore: Arc::new(Semaphore::new(permits)),
                in_flight: AtomicUsize::new(0),
                peak_in_flight: AtomicUsize::new(0),
                kinds: KindsInUse::new(current.into_iter().chain(stored_kinds)),
                #[cfg(test)]
                work: Mutex::new(Vec::new()),
                memory: MemoryPool::new(params.to_argon2().map_or(0, |p| p.block_count())),
                max_password_bytes,
                workers: OnceLock::new(),
            }),
        }
    }

    /// The parameters of new hashes.
    ///
    /// ```
    /// let hasher = sigra_core::password::PasswordHasher::default();
    /// assert_eq!(hasher.params().to_string(), "m=19456,t=2,p=1");
    /// ```
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// The limits applied to stored hashes.
    ///
    /// ```
    /// let hasher = sigra_core::password::PasswordHasher::default();
    /// assert_eq!(hasher.limits().max_bcrypt_cost, 16);
    /// ```
    pub fn limits(&self) -> HashCostLimits {
        self.inner.limits
    }

    /// How many hashes may run at once.
    ///
    /// ```
    /// let hasher = sigra_core::password::PasswordHasher::builder().permits(3).build()?;
    /// assert_eq!(hasher.permits(), 3);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn permits(&self) -> usize {
        self.inner.permits
    }

    /// The most memory the hasher's Argon2 calls can hold at once, in KiB:
    /// `permits × memory_kib` (stored hashes with a larger cost, up to
    /// [`HashCostLimits::max_memory_kib`], can exceed it while they are verified).
    ///
    /// ```
    /// let hasher = sigra_core::password::PasswordHasher::builder().permits(2).build()?;
    /// assert_eq!(hasher.peak_memory_kib(), 2 * 19456);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn peak_memory_kib(&self) -> u64 {
        u64::try_from(self.inner.permits)
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(self.inner.params.memory_kib()))
    }

    /// How many hashes or verifications are computing right now (a gauge for metrics).
    /// Never more than [`permits`](Self::permits).
    ///
    /// ```
    /// assert_eq!(sigra_core::password::PasswordHasher::default().in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// The highest [`in_flight`](Self::in_flight) seen since the hasher was made.
    ///
    /// ```
    /// assert_eq!(sigra_core::password::PasswordHasher::default().peak_in_flight(), 0);
    /// ```
    pub fn peak_in_flight(&self) -> usize {
        self.inner.peak_in_flight.load(Ordering::Acquire)
    }

    /// How many kinds of stored hash every verify and dummy verify pays one computation of:
    /// 1 (the current parameters) until a bcrypt hash or an Argon2 hash with other parameters
    /// is declared ([`PasswordHasherBuilder::stored_hash_kind`]) or met by a verify, at most
    /// 4. A gauge worth exporting: above 1, logins cost more until the legacy hashes are gone
    /// and the app restarts.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher};
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// assert_eq!(hasher.kinds_in_use(), 1);
    /// // A legacy bcrypt hash (cost 4) verified once: from now on every verify and dummy verify
    /// // also pays a bcrypt computation of cost 4.
    /// let legacy = "$2b$04$dH1kP3fZ09wKcXL1OYcoMOHSBX/WUlVTyncMAx9YxRCJpLuIH8uP.";
    /// hasher.verify_blocking(&Password::from("wrong"), legacy)?;
    /// assert_eq!(hasher.kinds_in_use(), 2);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn kinds_in_use(&self) -> usize {
        self.inner.kinds.len()
    }

    /// Whether a stored hash should be replaced by one made with this hasher's parameters:
    /// true for bcrypt, for Argon2i and Argon2d, for version 0x10, and for Argon2id whose
    /// `m`, `t`, `p`, salt or output length differ from the current ones.
    /// [`verify`](Self::verify) already answers this (as `upgraded`) on a successful login;
    /// this is for reports and batch jobs.
    ///
    /// ```
    /// use sigra_core::password::PasswordHasher;
    /// let hasher = PasswordHasher::default();
    /// let cffi_default = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    /// assert!(hasher.needs_rehash(cffi_default)?);
    /// assert!(hasher.needs_rehash("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW")?);
    /// assert!(hasher.needs_rehash("not a hash").is_err());
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn needs_rehash(&self, stored: &str) -> Result<bool, PasswordError> {
        Ok(StoredHash::parse(stored, None)?.needs_rehash(self.inner.params))
    }

    /// Hashes a password with Argon2id, the current parameters and a fresh 16-byte salt, on
    /// the hashing threads under a permit. Only the length bound is checked here: run
    /// [`PasswordPolicy::check`](super::PasswordPolicy::check) first when the user is choosing
    /// the password.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sigra_core::password::PasswordError> {
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// let hash = hasher.hash(&Password::from("correct horse battery")).await?;
    /// assert!(hash.as_str().starts_with("$argon2id$v=19$"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn hash(&self, password: &Password) -> Result<PasswordHashString, PasswordError> {
        check_length(password, self.inner.max_password_bytes)?;
        let password = password.clone();
        self.run(move |inner| inner.hash_now(&password)).await
    }

    /// Checks `password` against a stored hash (Argon2 PHC string or bcrypt `$2a$`/`$2b$`/
    /// `$2y$`), on the hashing threads under a permit.
    ///
    /// On success with a stored hash that is not current (see
    /// [`needs_rehash`](Self::needs_rehash)) the result carries the new Argon2id hash to store.
    /// A password longer than 72 bytes against a bcrypt hash is refused with
    /// [`PasswordError::LegacyHashPasswordTooLong`] rather than checked on its first 72 bytes.
    /// A stored hash that does not parse, or asks for more than the
    /// [`HashCostLimits`], is an error, reported before any work is done.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher, Verification};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sigra_core::password::PasswordError> {
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// // A legacy bcrypt hash of "password" (cost 4): valid, and upgraded to Argon2id.
    /// let legacy = "$2b$04$dH1kP3fZ09wKcXL1OYcoMOHSBX/WUlVTyncMAx9YxRCJpLuIH8uP.";
    /// let result = hasher.verify(&Password::from("password"), legacy).await?;
    /// let upgraded = result.upgraded().expect("bcrypt is always upgraded");
    /// assert!(upgraded.as_str().starts_with("$argon2id$"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify(
        &self,
        password: &Password,
        stored: &str,
    ) -> Result<Verification, PasswordError> {
        check_length(password, self.inner.max_password_bytes)?;
        let parsed = StoredHash::parse(stored, Some(&self.inner.limits))?;
        let password = password.clone();
        self.run(move |inner| inner.verify_now(&password, &parsed))
            .await
    }

    /// Spends exactly what a [`verify`](Self::verify) costs (same permit, one computation of
    /// each kind of stored hash in use) and answers [`Verification::Invalid`]. Call it when no
    /// account has the email given, so a login's timing does not tell whether an email is
    /// registered.
    ///
    /// A verify does its stored hash's kind for real and a dummy of every other kind in use;
    /// this does a dummy of each. So an unknown email costs what an account with a current
    /// Argon2id hash costs, and what an account with an imported bcrypt hash costs, once that
    /// kind is in use ([`kinds_in_use`](Self::kinds_in_use);
    /// [`PasswordHasherBuilder::stored_hash_kind`] declares it from the start).
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher, Verification};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sigra_core::password::PasswordError> {
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// let result = hasher.dummy_verify(&Password::from("anything")).await?;
    /// assert_eq!(result, Verification::Invalid);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn dummy_verify(&self, password: &Password) -> Result<Verification, PasswordError> {
        check_length(password, self.inner.max_password_bytes)?;
        let password = password.clone();
        self.run(move |inner| Ok(inner.dummy_verify_now(&password)))
            .await
    }

    /// [`hash`](Self::hash) on the calling thread. It still takes a permit (waiting for one
    /// by parking the thread), so the memory bound holds. For code already on a blocking
    /// thread; calling it from async code blocks a runtime worker.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher};
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// let hash = hasher.hash_blocking(&Password::from("correct horse battery"))?;
    /// assert!(hash.as_str().starts_with("$argon2id$"));
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn hash_blocking(&self, password: &Password) -> Result<PasswordHashString, PasswordError> {
        check_length(password, self.inner.max_password_bytes)?;
        self.run_blocking(|inner| inner.hash_now(password))
    }

    /// [`verify`](Self::verify) on the calling thread, under a permit.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher};
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// let password = Password::from("correct horse battery");
    /// let hash = hasher.hash_blocking(&password)?;
    /// assert!(hasher.verify_blocking(&password, hash.as_str())?.is_valid());
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn verify_blocking(
        &self,
        password: &Password,
        stored: &str,
    ) -> Result<Verification, PasswordError> {
        check_length(password, self.inner.max_password_bytes)?;
        let parsed = StoredHash::parse(stored, Some(&self.inner.limits))?;
        self.run_blocking(|inner| inner.verify_now(password, &parsed))
    }

    /// [`dummy_verify`](Self::dummy_verify) on the calling thread, under a permit.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher, Verification};
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// let result = hasher.dummy_verify_blocking(&Password::from("anything"))?;
    /// assert_eq!(result, Verification::Invalid);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn dummy_verify_blocking(
        &self,
        password: &Password,
    ) -> Result<Verification, PasswordError> {
        check_length(password, self.inner.max_password_bytes)?;
        self.run_blocking(|inner| Ok(inner.dummy_verify_now(password)))
    }
}

impl Inner {
    fn hash_now(&self, password: &Password) -> Result<PasswordHashString, PasswordError> {
        let salt: [u8; SALT_LEN] = crate::random::bytes()?;
        let params = self.params.to_argon2()?;
        let blocks = params.block_count();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = zeroize::Zeroizing::new([0u8; OUTPUT_LEN]);
        self.memory
            .with(blocks, |memory| {
                argon2.hash_password_into_with_memory(
                    password.as_bytes(),
                    &salt,
                    out.as_mut_slice(),
                    memory,
                )
            })
            .map_err(|e| PasswordError::Hashing {
                reason: e.to_string(),
            })?;
        Ok(PasswordHashString::new(format!(
            "$argon2id$v=19${}${}${}",
            self.params,
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out.as_slice()),
        )))
    }

    fn verify_now(
        &self,
        password: &Password,
        stored: &StoredHash,
    ) -> Result<Verification, PasswordError> {
        let kind = stored.kind();
        self.kinds.observe(&kind);
        let matched = match stored.matches(password.as_bytes(), &self.memory) {
            // bcrypt refuses a password over 72 bytes before any work: do the work anyway,
            // so the refusal takes as long as a wrong password (and an unknown email).
            Err(PasswordError::LegacyHashPasswordTooLong) => {
                stored.spend(password.as_bytes(), &self.memory);
                Err(PasswordError::LegacyHashPasswordTooLong)
            }
            other => other,
        };
        self.record(&kind);
        self.spend_on_kinds_in_use(password, Some(&kind));
        if !matched? {
            return Ok(Verification::Invalid);
        }
        if !stored.needs_rehash(self.params) {
            return Ok(Verification::Valid { upgraded: None });
        }
        // Same thread, same permit: the upgrade does not add to the memory bound.
        match self.hash_now(password) {
            Ok(hash) => Ok(Verification::Valid {
                upgraded: Some(hash),
            }),
            Err(error) => {
                // The password was right; failing the login because the upgrade failed would
                // lock the user out. Keep the old hash and try again next login.
                tracing::warn!(%error, "password verified but making its upgraded hash failed; keeping the stored hash");
                Ok(Verification::Valid { upgraded: None })
            }
        }
    }
}

impl Inner {
    /// One dummy computation of each kind in use: what a verify costs, with no answer.
    fn dummy_verify_now(&self, password: &Password) -> Verification {
        self.spend_on_kinds_in_use(password, None);
        Verification::Invalid
    }

    /// One dummy computation of each kind in use but `done` (the kind a verify has just
    /// checked for real).
    fn spend_on_kinds_in_use(&self, password: &Password, done: Option<&HashKind>) {
        for in_use in self.kinds.snapshot() {
            if Some(&in_use.kind) != done {
                in_use.dummy.spend(password.as_bytes(), &self.memory);
                self.record(&in_use.kind);
            }
        }
    }

    /// Notes a computation of `kind`, for the tests.
    #[cfg(test)]
    fn record(&self, kind: &HashKind) {
        self.work
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(kind.clone());
    }

    /// Notes nothing outside tests.
    #[cfg(not(test))]
    fn record(&self, _kind: &HashKind) {}
}

/// Refuses passwords over the hasher's byte limit before any work (the bound caps the work one
/// request can cause; it never truncates).
fn check_length(password: &Password, max_bytes: usize) -> Result<(), PasswordError> {
    if password.len_bytes() > max_bytes {
        return Err(PasswordError::TooLong { max_bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> PasswordHasher {
        PasswordHasher::builder()
            .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
            .permits(2)
            .build()
            .unwrap()
    }

    #[test]
    fn blocking_round_trip_without_runtime() {
        let hasher = tiny();
        let password = Password::from("correct horse battery");
        let hash = hasher.hash_blocking(&password).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(
            hasher
                .verify_blocking(&password, hash.as_str())
                .unwrap()
                .is_valid()
        );
        assert_eq!(
            hasher
                .verify_blocking(&Password::from("wrong"), hash.as_str())
                .unwrap(),
            Verification::Invalid
        );
        assert_eq!(hasher.in_flight(), 0);
        assert_eq!(hasher.peak_in_flight(), 1);
    }

    #[test]
    fn dummy_is_a_current_argon2id_hash() {
        let hasher = tiny();
        let current = hasher.hash_blocking(&Password::from("x")).unwrap();
        let kinds = hasher.inner.kinds.snapshot();
        assert_eq!(kinds.len(), 1);
        let current = StoredHash::parse(current.as_str(), None).unwrap().kind();
        assert_eq!(kinds[0].kind, current);
        assert!(!kinds[0].dummy.needs_rehash(hasher.params()));
        assert_eq!(
            hasher
                .dummy_verify_blocking(&Password::from("anything"))
                .unwrap(),
            Verification::Invalid
        );
        assert_eq!(*hasher.inner.work.lock().unwrap(), [current]);
    }

    /// A bcrypt hash of "password", cost 4.
    const BCRYPT_4: &str = "$2b$04$dH1kP3fZ09wKcXL1OYcoMOHSBX/WUlVTyncMAx9YxRCJpLuIH8uP.";

    /// The computations `f` made, sorted (their order does not change their cost).
    fn work_of(hasher: &PasswordHasher, f: impl FnOnce(&PasswordHasher)) -> Vec<String> {
        hasher.inner.work.lock().unwrap().clear();
        f(hasher);
        let mut work: Vec<String> = hasher
            .inner
            .work
            .lock()
            .unwrap()
            .iter()
            .map(|kind| format!("{kind:?}"))
            .collect();
        work.sort();
        work
    }

    #[test]
    fn unknown_email_costs_what_a_bcrypt_account_costs() {
        let hasher = tiny();
        let argon2 = hasher.hash_blocking(&Password::from("right")).unwrap();
        let wrong = Password::from("wrong password");
        let verify_bcrypt = |h: &PasswordHasher| {
            let _ = h.verify_blocking(&wrong, BCRYPT_4).unwrap();
        };
        let verify_argon2 = |h: &PasswordHasher| {
            let _ = h.verify_blocking(&wrong, argon2.as_str()).unwrap();
        };
        let unknown = |h: &PasswordHasher| {
            let _ = h.dummy_verify_blocking(&wrong).unwrap();
        };

        // Only current hashes met so far: one Argon2id computation each.
        assert_eq!(work_of(&hasher, unknown), work_of(&hasher, verify_argon2));
        assert_eq!(work_of(&hasher, unknown).len(), 1);

        // Once a bcrypt account has logged in, every verify pays bcrypt and Argon2id.
        let first = work_of(&hasher, verify_bcrypt);
        assert_eq!(first.len(), 2);
        assert_eq!(hasher.kinds_in_use(), 2);
        assert_eq!(work_of(&hasher, unknown), first);
        assert_eq!(work_of(&hasher, verify_argon2), first);
        assert_eq!(work_of(&hasher, verify_bcrypt), first);
        // The right password costs the same plus the upgrade (only its owner can see that).
        let right = work_of(&hasher, |h| {
            assert!(
                h.verify_blocking(&Password::from("password"), BCRYPT_4)
                    .unwrap()
                    .upgraded()
                    .is_some()
            );
        });
        assert_eq!(right, first);
    }

    #[test]
    fn declared_kinds_are_paid_from_the_start() {
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
            .stored_hash_kind(BCRYPT_4)
            .build()
            .unwrap();
        assert_eq!(hasher.kinds_in_use(), 2);
        let unknown = work_of(&hasher, |h| {
            let _ = h.dummy_verify_blocking(&Password::from("x")).unwrap();
        });
        let bcrypt = work_of(&hasher, |h| {
            let _ = h.verify_blocking(&Password::from("x"), BCRYPT_4).unwrap();
        });
        assert_eq!(unknown, bcrypt);
        assert!(unknown.iter().any(|kind| kind.contains("Bcrypt")));

        let bad = PasswordHasher::builder()
            .stored_hash_kind("plaintext")
            .build();
        assert!(matches!(bad, Err(PasswordError::InvalidConfig { .. })));
    }

    #[test]
    fn a_password_too_long_for_bcrypt_costs_a_bcrypt_computation() {
        let hasher = tiny();
        let long = Password::from("x".repeat(100));
        let _ = hasher.dummy_verify_blocking(&Password::from("x"));
        let refused = work_of(&hasher, |h| {
            assert!(matches!(
                h.verify_blocking(&long, BCRYPT_4),
                Err(PasswordError::LegacyHashPasswordTooLong)
            ));
        });
        let unknown = work_of(&hasher, |h| {
            let _ = h.dummy_verify_blocking(&long).unwrap();
        });
        assert_eq!(refused, unknown);
        assert_eq!(refused.len(), 2);
    }

    #[test]
    fn timing_of_unknown_email_follows_the_bcrypt_accounts() {
        // Wall-clock check of what the work log shows: bcrypt cost 8 dwarfs the tiny
        // Argon2id, so before any bcrypt account an unknown email is fast, after it slow. The
        // minimum of a few runs keeps other load on the machine out of the comparison.
        let hasher = tiny();
        let bcrypt_8 = "$2b$08$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        let fastest = |f: &dyn Fn()| {
            (0..3)
                .map(|_| {
                    let started = std::time::Instant::now();
                    f();
                    started.elapsed()
                })
                .min()
                .unwrap()
        };
        let wrong = Password::from("wrong");
        let unknown = || {
            let _ = hasher.dummy_verify_blocking(&wrong).unwrap();
        };
        let before = fastest(&unknown);
        let bcrypt = fastest(&|| {
            let _ = hasher.verify_blocking(&wrong, bcrypt_8).unwrap();
        });
        let after = fastest(&unknown);
        assert!(before * 4 < bcrypt, "before {before:?}, bcrypt {bcrypt:?}");
        assert!(after * 2 > bcrypt, "after {after:?}, bcrypt {bcrypt:?}");
    }

    #[test]
    fn builder_refuses_limits_below_params() {
        let limits = HashCostLimits {
            max_parallelism: 1,
            ..HashCostLimits::default()
        };
        let err = PasswordHasher::builder()
            .params(Argon2Params::RFC_9106_LOW_MEMORY)
            .limits(limits)
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            PasswordError::HashCostTooHigh {
                what: "memory_kib" | "parallelism",
                ..
            }
        ));
    }

    #[test]
    fn debug_shows_no_secrets() {
        let shown = format!("{:?}", tiny());
        assert!(shown.contains("permits: 2"));
        assert!(!shown.contains("dummy"));
    }
}
