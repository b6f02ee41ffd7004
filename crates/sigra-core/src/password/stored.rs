//! Stored hashes: [`PasswordHashString`] (what this module writes) and the total parser of
//! what a host may have stored (Argon2 PHC strings and legacy bcrypt hashes).

use std::fmt;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Version};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::hasher::{OUTPUT_LEN, SALT_LEN};
use super::{Argon2Params, HashCostLimits, PasswordError};

/// Longest stored hash the parser looks at. A PHC string with every optional field at its
/// maximum stays well under this; anything longer is refused before parsing.
const MAX_STORED_LEN: usize = 512;

/// bcrypt only reads this many bytes of a password.
pub(crate) const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// An Argon2id hash in PHC string format, as made by
/// [`PasswordHasher::hash`](super::PasswordHasher::hash):
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
///
/// Store [`as_str`](Self::as_str) in the user's row. `Debug` shows the algorithm and cost but
/// redacts the salt and output; there is no `Display`, so it is not logged by accident.
/// Equality compares in constant time.
///
/// ```
/// use sigra_core::password::{Argon2Params, Password, PasswordHasher};
///
/// let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
/// let hash = hasher.hash_blocking(&Password::from("correct horse battery"))?;
/// assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
/// assert_eq!(format!("{hash:?}"), "PasswordHashString(\"$argon2id$v=19$m=64,t=1,p=1$[REDACTED]\")");
/// # Ok::<(), sigra_core::password::PasswordError>(())
/// ```
#[derive(Clone)]
pub struct PasswordHashString(String);

impl PasswordHashString {
    pub(crate) fn new(s: String) -> Self {
        Self(s)
    }

    /// The PHC string, to store.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher};
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// let hash = hasher.hash_blocking(&Password::from("correct horse battery"))?;
    /// let column: &str = hash.as_str();
    /// assert_eq!(column.split('$').count(), 6);
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PHC string, owned.
    ///
    /// ```
    /// # use sigra_core::password::{Argon2Params, Password, PasswordHasher};
    /// # let hasher = PasswordHasher::builder().params(Argon2Params::danger_weak(64, 1, 1)?).build()?;
    /// let column: String = hasher.hash_blocking(&Password::from("correct horse battery"))?.into_string();
    /// assert!(column.starts_with("$argon2id$"));
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for PasswordHashString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq for PasswordHashString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for PasswordHashString {}

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHashString(\"{}\")", redact_hash(&self.0))
    }
}

/// Keeps the algorithm, version and parameters of a hash string and replaces the salt and the
/// output with `[REDACTED]`.
pub(crate) fn redact_hash(s: &str) -> String {
    if s.starts_with("$2") {
        // bcrypt: `$2b$12$` then 53 characters of salt and hash.
        let head: String = s.chars().take(7).collect();
        return format!("{head}[REDACTED]");
    }
    // PHC: keep the leading fields up to the last `name=value` field among the first four
    // (`$alg$v=19$m=..,t=..,p=..`); salts and outputs are unpadded base64 and never hold '='.
    let fields: Vec<&str> = s.split('$').collect();
    let head = fields
        .iter()
        .take(4)
        .rposition(|f| f.contains('='))
        .and_then(|i| fields.get(..=i));
    match head {
        Some(head) => format!("{}$[REDACTED]", head.join("$")),
        None => "[REDACTED]".to_owned(),
    }
}

/// A parsed stored hash, ready to verify.
pub(crate) enum StoredHash {
    Argon2(Argon2Stored),
    Bcrypt(BcryptStored),
}

pub(crate) struct Argon2Stored {
    algorithm: Algorithm,
    version: Version,
    params: argon2::Params,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

pub(crate) struct BcryptStored {
    hash: String,
    cost: u32,
}

/// What checking a stored hash costs: its algorithm and cost parameters. Checking any two
/// hashes of one kind takes the same work (salt and output lengths change it by a few BLAKE2b
/// blocks against megabytes of memory filling, so they are not part of the kind); the hasher
/// spends one computation of every kind in use on each verify (see `hasher/kinds.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HashKind {
    /// An Argon2 PHC string: `m`, `t` and `p` only (see [`HashKind::argon2`]).
    Argon2 {
        algorithm: Algorithm,
        version: Version,
        params: argon2::Params,
    },
    /// A bcrypt hash (`$2a$`, `$2b$`, `$2y$` cost the same).
    Bcrypt { cost: u32 },
}

/// The salt and hash of a valid bcrypt string (22 + 31 characters of bcrypt's base64): with any
/// cost in front it makes a dummy of that cost.
const BCRYPT_DUMMY_BODY: &str = "R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

impl HashKind {
    /// The kind of Argon2 hashes with these parameters: only `m`, `t` and `p` count.
    pub(crate) fn argon2(algorithm: Algorithm, version: Version, params: &argon2::Params) -> Self {
        let params = argon2::Params::new(params.m_cost(), params.t_cost(), params.p_cost(), None)
            .unwrap_or_else(|_| params.clone());
        Self::Argon2 {
            algorithm,
            version,
            params,
        }
    }

    /// A stored hash of this kind with a fixed salt and output: checking a password against it
    /// costs what checking one against a real hash of the kind costs. Its answer is
    /// meaningless and never used.
    pub(crate) fn dummy(&self) -> StoredHash {
        match self {
            Self::Argon2 {
                algorithm,
                version,
                params,
            } => StoredHash::Argon2(Argon2Stored {
                algorithm: *algorithm,
                version: *version,
                params: params.clone(),
                salt: vec![0x5a; SALT_LEN],
                expected: vec![0; OUTPUT_LEN],
            }),
            Self::Bcrypt { cost } => StoredHash::Bcrypt(BcryptStored {
                hash: format!("$2b${cost:02}${BCRYPT_DUMMY_BODY}"),
                cost: *cost,
            }),
        }
    }
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Argon2(a) => f
                .debug_struct("Argon2Stored")
                .field("algorithm", &a.algorithm)
                .field("version", &a.version)
                .field("params", &a.params)
                .field("salt", &"[REDACTED]")
                .field("expected", &"[REDACTED]")
                .finish(),
            Self::Bcrypt(b) => f
                .debug_struct("BcryptStored")
                .field("hash", &redact_hash(&b.hash))
                .finish(),
        }
    }
}

impl StoredHash {
    /// Parses any string. Never panics; every refusal names what is wrong. `limits` of `None`
    /// skip the cost limits (for [`needs_rehash`](Self::needs_rehash), which does no work).
    pub(crate) fn parse(s: &str, limits: Option<&HashCostLimits>) -> Result<Self, PasswordError> {
        if s.len() > MAX_STORED_LEN {
            return Err(PasswordError::MalformedHash {
                reason: format!(
                    "it is {} bytes long, more than any supported hash ({MAX_STORED_LEN})",
                    s.len()
                ),
            });
        }
        if s.starts_with("$argon2") {
            Argon2Stored::parse(s, limits).map(Self::Argon2)
        } else if s.starts_with("$2") {
            BcryptStored::parse(s, limits).map(Self::Bcrypt)
        } else if s.is_empty() {
            Err(PasswordError::MalformedHash {
                reason: "it is empty".into(),
            })
        } else {
            Err(PasswordError::UnsupportedHash {
                reason: "expected an Argon2 PHC string ($argon2id$...) or a bcrypt hash ($2a$, $2b$ or $2y$)",
            })
        }
    }

    /// Whether a hash that verified should be replaced by a fresh one made with `current`.
    pub(crate) fn needs_rehash(&self, current: Argon2Params) -> bool {
        match self {
            Self::Bcrypt(_) => true,
            Self::Argon2(a) => {
                a.algorithm != Algorithm::Argon2id
                    || a.version != Version::V0x13
                    || a.params.m_cost() != current.memory_kib()
                    || a.params.t_cost() != current.iterations()
                    || a.params.p_cost() != current.parallelism()
                    || a.expected.len() != OUTPUT_LEN
                    || a.salt.len() < SALT_LEN
                    || !a.params.keyid().is_empty()
                    || !a.params.data().is_empty()
            }
        }
    }

    /// Its kind: what checking it costs.
    pub(crate) fn kind(&self) -> HashKind {
        match self {
            Self::Argon2(a) => HashKind::argon2(a.algorithm, a.version, &a.params),
            Self::Bcrypt(b) => HashKind::Bcrypt { cost: b.cost },
        }
    }

    /// Does the work of checking `password` against this hash and forgets the answer: what a
    /// dummy is for. Unlike [`matches`](Self::matches) it never refuses a long password before
    /// the work: bcrypt gets the first 72 bytes, so the work is done all the same.
    pub(crate) fn spend(&self, password: &[u8], memory: &super::hasher::MemoryPool) {
        let password = match self {
            Self::Bcrypt(_) => password
                .get(..BCRYPT_MAX_PASSWORD_BYTES)
                .unwrap_or(password),
            Self::Argon2(_) => password,
        };
        // black_box: the answer is unused, the work must still happen.
        let _ = std::hint::black_box(self.matches(password, memory));
    }

    /// Checks `password` against the hash. This is the expensive part: run it on a blocking
    /// thread under a permit.
    pub(crate) fn matches(
        &self,
        password: &[u8],
        memory: &super::hasher::MemoryPool,
    ) -> Result<bool, PasswordError> {
        match self {
            Self::Argon2(a) => a.matches(password, memory),
            Self::Bcrypt(b) => b.matches(password),
        }
    }
}

impl Argon2Stored {
    fn parse(s: &str, limits: Option<&HashCostLimits>) -> Result<Self, PasswordError> {
        let malformed = |reason: String| PasswordError::MalformedHash { reason };
        let hash = PasswordHash::new(s).map_err(|e| malformed(format!("not a PHC string: {e}")))?;
        let algorithm = Algorithm::new(hash.algorithm.as_str()).map_err(|_| {
            PasswordError::UnsupportedHash {
                reason: "unknown Argon2 variant: expected argon2id, argon2i or argon2d",
            }
        })?;
        // A PHC string without `v=` is version 0x10, as in the reference implementation.
        let version = match hash.version {
            None | Some(0x10) => Version::V0x10,
            Some(0x13) => Version::V0x13,
            Some(_) => {
                return Err(PasswordError::UnsupportedHash {
                    reason: "unknown Argon2 version: expected v=19 (0x13) or v=16 (0x10)",
                });
            }
        };
        let params = argon2::Params::try_from(&hash)
            .map_err(|e| malformed(format!("bad Argon2 parameters: {e}")))?;
        let salt = hash
            .salt
            .ok_or_else(|| malformed("it has no salt".into()))?
            .as_ref()
            .to_vec();
        let expected = hash
            .hash
            .ok_or_else(|| malformed("it has no hash output".into()))?
            .as_bytes()
            .to_vec();
        if let Some(limits) = limits {
            HashCostLimits::check("memory_kib", params.m_cost(), limits.max_memory_kib)?;
            HashCostLimits::check("iterations", params.t_cost(), limits.max_iterations)?;
            HashCostLimits::check("parallelism", params.p_cost(), limits.max_parallelism)?;
        }
        Ok(Self {
            algorithm,
            version,
            params,
            salt,
            expected,
        })
    }

    fn matches(
        &self,
        password: &[u8],
        memory: &super::hasher::MemoryPool,
    ) -> Result<bool, PasswordError> {
        let mut out = Zeroizing::new(vec![0u8; self.expected.len()]);
        let argon2 = Argon2::new(self.algorithm, self.version, self.params.clone());
        memory
            .with(self.params.block_count(), |blocks| {
                argon2.hash_password_into_with_memory(password, &self.salt, &mut out, blocks)
            })
            .map_err(|e| PasswordError::Hashing {
                reason: e.to_string(),
            })?;
        Ok(out.as_slice().ct_eq(&self.expected).into())
    }
}

impl BcryptStored {
    fn parse(s: &str, limits: Option<&HashCostLimits>) -> Result<Self, PasswordError> {
        let malformed = |reason: &str| PasswordError::MalformedHash {
            reason: format!("not a bcrypt hash: {reason}"),
        };
        let prefix = s.get(..4).ok_or_else(|| malformed("too short"))?;
        match prefix {
            "$2a$" | "$2b$" | "$2y$" => {}
            "$2x$" => {
                return Err(PasswordError::UnsupportedHash {
                    reason: "$2x$ hashes come from crypt_blowfish's sign-extension bug and cannot be checked correctly; reset the password",
                });
            }
            _ => {
                return Err(PasswordError::UnsupportedHash {
                    reason: "unknown bcrypt variant: expected $2a$, $2b$ or $2y$",
                });
            }
        }
        if s.len() != 60 {
            return Err(malformed("a bcrypt hash is exactly 60 characters"));
        }
        let cost_digits = s.get(4..6).ok_or_else(|| malformed("no cost"))?;
        if s.get(6..7) != Some("$") || !cost_digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("the cost is not two digits followed by '$'"));
        }
        let cost: u32 = cost_digits.parse().map_err(|_| malformed("bad cost"))?;
        if !(4..=31).contains(&cost) {
            return Err(malformed("the cost must be between 04 and 31"));
        }
        let body = s.get(7..).ok_or_else(|| malformed("no salt"))?;
        if !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
        {
            return Err(malformed(
                "the salt and hash use characters outside bcrypt's base64",
            ));
        }
        if let Some(limits) = limits {
            HashCostLimits::check("bcrypt_cost", cost, limits.max_bcrypt_cost)?;
        }
        Ok(Self {
            hash: s.to_owned(),
            cost,
        })
    }

    fn matches(&self, password: &[u8]) -> Result<bool, PasswordError> {
        // bcrypt reads at most 72 bytes (a 72-byte password loses only the terminating NUL,
        // exactly as in OpenBSD's and Python's bcrypt). Longer input would be checked on a
        // truncated prefix: refuse it instead.
        if password.len() > BCRYPT_MAX_PASSWORD_BYTES {
            return Err(PasswordError::LegacyHashPasswordTooLong);
        }
        bcrypt::verify(password, &self.hash).map_err(|e| PasswordError::MalformedHash {
            reason: format!("bcrypt refused it: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_params_only() {
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert_eq!(
            redact_hash(phc),
            "$argon2id$v=19$m=19456,t=2,p=1$[REDACTED]"
        );
        let no_version = "$argon2i$m=4096,t=3,p=1$c29tZXNhbHQ$aGFzaA";
        assert_eq!(
            redact_hash(no_version),
            "$argon2i$m=4096,t=3,p=1$[REDACTED]"
        );
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert_eq!(redact_hash(bcrypt), "$2b$12$[REDACTED]");
        assert_eq!(redact_hash("garbage"), "[REDACTED]");
    }

    #[test]
    fn rejects_what_it_cannot_verify() {
        for s in [
            "",
            "plaintext",
            "$pbkdf2-sha256$i=1000$abc$def",
            "$1$abc$def",
        ] {
            assert!(StoredHash::parse(s, None).is_err(), "{s:?}");
        }
        let x = "$2x$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert!(matches!(
            StoredHash::parse(x, None),
            Err(PasswordError::UnsupportedHash { .. })
        ));
        let long = "x".repeat(MAX_STORED_LEN + 1);
        assert!(matches!(
            StoredHash::parse(&long, None),
            Err(PasswordError::MalformedHash { .. })
        ));
    }

    #[test]
    fn dummies_have_the_kind_they_stand_for() {
        for s in [
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2i$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$2a$04$dH1kP3fZ09wKcXL1OYcoMOHSBX/WUlVTyncMAx9YxRCJpLuIH8uP.",
        ] {
            let kind = StoredHash::parse(s, None).unwrap().kind();
            assert_eq!(kind.dummy().kind(), kind, "{s}");
        }
        let bcrypt = StoredHash::parse(
            "$2y$05$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            None,
        )
        .unwrap();
        assert_eq!(bcrypt.kind(), HashKind::Bcrypt { cost: 5 });
        // Salt and output lengths are not part of the kind.
        let long_salt = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdHNvbWVzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo";
        let usual = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert_eq!(
            StoredHash::parse(long_salt, None).unwrap().kind(),
            StoredHash::parse(usual, None).unwrap().kind()
        );
        // The dummy is a real bcrypt hash: bcrypt does the whole work and answers no.
        let memory = crate::password::hasher::MemoryPool::new(0);
        assert!(!bcrypt.kind().dummy().matches(b"password", &memory).unwrap());
    }

    #[test]
    fn limits_are_applied_before_any_work() {
        let huge = "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        let err = StoredHash::parse(huge, Some(&HashCostLimits::default())).unwrap_err();
        assert!(matches!(
            err,
            PasswordError::HashCostTooHigh {
                what: "memory_kib",
                ..
            }
        ));
        let slow = "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        let err = StoredHash::parse(slow, Some(&HashCostLimits::default())).unwrap_err();
        assert!(err.to_string().contains("bcrypt_cost = 31"), "{err}");
    }
}
