//! [`PasswordHasher`]: Argon2id hashing and verification on its own low-priority threads behind a
//! semaphore, with bcrypt verify-and-upgrade and a dummy verify for unknown users.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use std::task::{Context, Poll, Wake, Waker};

use argon2::{Algorithm, Argon2, Block, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tokio::sync::Semaphore;

use super::stored::StoredHash;
use super::{
    Argon2Params, HashCostLimits, MAX_PASSWORD_BYTES, Password, PasswordError, PasswordHashString,
};

/// Length of the Argon2 output in new hashes, in bytes (RFC 9106 recommends 32).
pub(crate) const OUTPUT_LEN: usize = 32;
/// Length of the random salt in new hashes, in bytes (RFC 9106 recommends 16).
pub(crate) const SALT_LEN: usize = 16;
/// Most permits a hasher may be given.
const MAX_PERMITS: usize = 4096;

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
    params: Argon2Params,
    permits: Option<usize>,
    limits: HashCostLimits,
    max_password_bytes: usize,
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

    /// The longest password accepted, in bytes (default [`MAX_PASSWORD_BYTES`], 1024; between
    /// 256 and 65,536): longer ones are refused with [`PasswordError::TooLong`] before any
    /// work, never truncated.
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
        super::policy::check_max_bytes(self.max_password_bytes)?;
        Ok(PasswordHasher::from_parts(
            self.params,
            permits,
            self.limits,
            self.max_password_bytes,
        ))
    }
}

/// The number of hashes a default hasher runs at once: one per core.
fn default_permits() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Hashes and verifies passwords off the async runtime, a bounded number at a time.
///
/// Cheap to clone (an `Arc` inside): make one at startup and share it. Each call takes a
/// permit from a [`tokio::sync::Semaphore`] (FIFO, so no caller starves) and then runs on
/// one of the hasher's own threads (one per permit, started on first use, at a lower CPU
/// priority on Linux: nice 10, so request handling goes first when both compete), so a
/// login flood queues on the semaphore instead
/// of starving the async workers, and memory stays bounded: every Argon2 call holds its whole
/// memory cost, so peak memory is [`peak_memory_kib`](Self::peak_memory_kib) =
/// `permits × memory_kib`. A dropped request future does not free its permit early: the permit
/// travels with the blocking task and is released only when the hash is done.
///
/// - [`hash`](Self::hash) makes an Argon2id PHC string with a fresh 16-byte salt.
/// - [`verify`](Self::verify) checks Argon2id/Argon2i/Argon2d PHC strings and legacy bcrypt
///   (`$2a$`, `$2b$`, `$2y$`) hashes; when the password is right and the stored hash is not
///   Argon2id with the current parameters it returns the replacement hash to store.
/// - [`dummy_verify`](Self::dummy_verify) costs the same as a verify against a current hash and
///   always answers [`Verification::Invalid`]: call it when no user has the email, so timing
///   does not reveal which emails exist.
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
    /// An Argon2id PHC string with the current parameters, for `dummy_verify`.
    dummy: String,
    /// Argon2 working memory, reused: at most one buffer per permit.
    memory: MemoryPool,
    /// Longer passwords are refused before any work.
    max_password_bytes: usize,
    /// The hashing threads, started on first use.
    workers: OnceLock<Result<Mutex<mpsc::Sender<Job>>, String>>,
}

/// One unit of hashing work.
type Job = Box<dyn FnOnce() + Send>;

/// The nice value of the hashing threads (Linux): above the request-serving threads' 0, so
/// a login flood that keeps every hashing thread busy still lets the scheduler run request
/// handling first (authenticated pages stay fast), while idle CPU still goes to hashing.
pub(crate) const HASHING_THREAD_NICE: i32 = 10;

/// Starts `count` threads taking jobs from one queue, at `HASHING_THREAD_NICE`. They stop
/// when the sender is dropped (the last clone of the hasher).
fn start_workers(count: usize) -> Result<Mutex<mpsc::Sender<Job>>, String> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for n in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("sigra-hash-{n}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = {
                        let queue = receiver.lock().unwrap_or_else(PoisonError::into_inner);
                        queue.recv()
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| format!("cannot start a password-hashing thread: {e}"))?;
    }
    Ok(Mutex::new(sender))
}

/// Lowers this thread's CPU priority (Linux: the nice value is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(None, HASHING_THREAD_NICE) {
        tracing::debug!(error = %err, "could not lower the priority of a password-hashing thread");
    }
}

/// Argon2's working memory (`memory_kib` KiB per hash), allocated once per permit and reused.
///
/// Allocating and freeing ~19 MiB per hash looks harmless but is not: glibc serves each
/// thread from its own arena and, after the first free of a block that size, stops returning
/// such blocks to the system, so every Tokio blocking thread that ever hashed keeps ~19 MiB
/// (hundreds of MiB after a login burst). With this pool the hasher's memory is exactly
/// `permits × memory_kib`, held for the life of the hasher.
pub(crate) struct MemoryPool {
    buffers: Mutex<Vec<Vec<Block>>>,
    /// Buffers larger than this (blocks) are freed after use rather than kept: a stored hash
    /// with a bigger cost than the current parameters does not grow the pool for good.
    keep_blocks: usize,
}

impl MemoryPool {
    fn new(keep_blocks: usize) -> Self {
        Self {
            buffers: Mutex::new(Vec::new()),
            keep_blocks,
        }
    }

    /// Runs `work` with at least `blocks` blocks of memory.
    pub(crate) fn with<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let taken = self
            .buffers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut buffer = taken.unwrap_or_default();
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::default());
        }
        let result = work(buffer.get_mut(..blocks).unwrap_or_default());
        if buffer.len() <= self.keep_blocks {
            self.buffers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(buffer);
        }
        result
    }
}

impl Default for PasswordHasher {
    /// OWASP's minimum parameters, one permit per core, default limits.
    fn default() -> Self {
        Self::from_parts(
            Argon2Params::default(),
            default_permits(),
            HashCostLimits::default(),
            MAX_PASSWORD_BYTES,
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

/// Counts a hash in flight for as long as it lives.
struct Busy<'a>(&'a Inner);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
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
        }
    }

    fn from_parts(
        params: Argon2Params,
        permits: usize,
        limits: HashCostLimits,
        max_password_bytes: usize,
    ) -> Self {
        // The dummy's salt and output are fixed: its cost depends only on the parameters,
        // verifying recomputes the full Argon2id with them, and `dummy_verify` answers Invalid
        // whatever the comparison says.
        let dummy = format!(
            "$argon2id$v=19${params}${}${}",
            STANDARD_NO_PAD.encode(b"sigra-dummy-salt"),
            STANDARD_NO_PAD.encode([0u8; OUTPUT_LEN]),
        );
        Self {
            inner: Arc::new(Inner {
                params,
                limits,
                permits,
                semaphore: Arc::new(Semaphore::new(permits)),
                in_flight: AtomicUsize::new(0),
                peak_in_flight: AtomicUsize::new(0),
                dummy,
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

    /// Spends exactly what a [`verify`](Self::verify) against a hash with the current
    /// parameters costs (same parsing, same Argon2id computation, same permit) and answers
    /// [`Verification::Invalid`]. Call it when no account has the email given, so a login's
    /// timing does not tell whether an email is registered.
    ///
    /// Accounts whose stored hash still has other parameters (or is bcrypt) take a different
    /// time until they are upgraded on their next login.
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
        let parsed = StoredHash::parse(&self.inner.dummy, Some(&self.inner.limits))?;
        let password = password.clone();
        self.run(move |inner| {
            inner
                .verify_now(&password, &parsed)
                .map(|_| Verification::Invalid)
        })
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
        let parsed = StoredHash::parse(&self.inner.dummy, Some(&self.inner.limits))?;
        self.run_blocking(|inner| {
            inner
                .verify_now(password, &parsed)
                .map(|_| Verification::Invalid)
        })
    }

    /// Takes a permit, then runs `work` on one of the hasher's own threads. The permit moves
    /// into the job, so it is held until the work is done even if this future is dropped; a
    /// job whose caller has gone away by the time a thread takes it is skipped.
    async fn run<T, F>(&self, work: F) -> Result<T, PasswordError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, PasswordError> + Send + 'static,
    {
        let workers = self.inner.workers()?;
        let permit = Arc::clone(&self.inner.semaphore)
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::WorkerFailed {
                reason: "the hashing semaphore was closed".into(),
            })?;
        let inner = Arc::clone(&self.inner);
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if done.is_closed() {
                return;
            }
            let result = {
                let _busy = inner.enter();
                work(&inner)
            };
            // Free the permit before answering, so the caller never sees its own work still
            // counted.
            drop(permit);
            // The caller may have gone meanwhile; then nobody wants the result.
            let _ = done.send(result);
        });
        workers.send(job).map_err(|_| PasswordError::WorkerFailed {
            reason: "the hashing threads have stopped".into(),
        })?;
        result.await.map_err(|_| PasswordError::WorkerFailed {
            reason: "a hashing thread stopped before answering".into(),
        })?
    }

    /// Takes a permit by parking this thread, then runs `work` here.
    fn run_blocking<T>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, PasswordError>,
    ) -> Result<T, PasswordError> {
        let _permit =
            block_on(self.inner.semaphore.acquire()).map_err(|_| PasswordError::WorkerFailed {
                reason: "the hashing semaphore was closed".into(),
            })?;
        let _busy = self.inner.enter();
        work(&self.inner)
    }
}

impl Inner {
    /// The queue of the hashing threads, starting them on first use.
    fn workers(&self) -> Result<mpsc::Sender<Job>, PasswordError> {
        match self.workers.get_or_init(|| start_workers(self.permits)) {
            Ok(sender) => Ok(sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()),
            Err(reason) => Err(PasswordError::WorkerFailed {
                reason: reason.clone(),
            }),
        }
    }

    fn enter(&self) -> Busy<'_> {
        let now = self
            .in_flight
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        self.peak_in_flight.fetch_max(now, Ordering::AcqRel);
        Busy(self)
    }

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
        if !stored.matches(password.as_bytes(), &self.memory)? {
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

/// Refuses passwords over the hasher's byte limit before any work (the bound caps the work one
/// request can cause; it never truncates).
fn check_length(password: &Password, max_bytes: usize) -> Result<(), PasswordError> {
    if password.len_bytes() > max_bytes {
        return Err(PasswordError::TooLong { max_bytes });
    }
    Ok(())
}

/// Wakes a parked thread.
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives a future to completion on this thread, parking between polls. Used only to wait for
/// a semaphore permit in the `*_blocking` methods (tokio's semaphore needs no runtime).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
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
    fn async_needs_no_tokio_runtime() {
        // The work runs on the hasher's own threads: any executor can await it.
        let hasher = tiny();
        let hash = block_on(hasher.hash(&Password::from("correct horse battery"))).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn hashing_threads_run_at_a_lower_priority() {
        let hasher = tiny();
        block_on(hasher.hash(&Password::from("correct horse battery"))).unwrap();
        let nice = hasher
            .inner
            .workers()
            .map(|workers| {
                let (tx, rx) = std::sync::mpsc::channel();
                workers
                    .send(Box::new(move || {
                        let _ = tx.send(rustix::process::getpriority_process(None));
                    }))
                    .unwrap();
                rx.recv().unwrap().unwrap()
            })
            .unwrap();
        assert_eq!(nice, HASHING_THREAD_NICE);
    }

    #[test]
    fn dummy_is_a_current_argon2id_hash() {
        let hasher = tiny();
        assert!(!hasher.needs_rehash(&hasher.inner.dummy).unwrap());
        assert_eq!(
            hasher
                .dummy_verify_blocking(&Password::from("anything"))
                .unwrap(),
            Verification::Invalid
        );
    }

    #[test]
    fn blocking_waits_for_a_permit() {
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
            .permits(1)
            .build()
            .unwrap();
        let held = hasher.inner.semaphore.try_acquire().unwrap();
        let h2 = hasher.clone();
        let worker =
            std::thread::spawn(move || h2.hash_blocking(&Password::from("correct horse battery")));
        // The worker cannot have started hashing while the only permit is held here.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(hasher.peak_in_flight(), 0);
        drop(held);
        assert!(worker.join().unwrap().is_ok());
        assert_eq!(hasher.peak_in_flight(), 1);
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
