//! The secret key base and the per-purpose keys derived from it.
//!
//! An app configures one secret (`SIGRA_SECRET_KEY_BASE`, at least 64 bytes). Every keyed
//! primitive gets its own key derived from it with HKDF-SHA256 and a purpose label, so a key
//! used to sign email links can never verify a trust-this-browser cookie.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The shortest secret key base accepted, in bytes.
pub const MIN_SECRET_KEY_BASE_LEN: usize = 64;

/// Errors from [`SecretKeyBase`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret key base is shorter than [`MIN_SECRET_KEY_BASE_LEN`] bytes.
    #[error(
        "the secret key base is {len} bytes; at least {MIN_SECRET_KEY_BASE_LEN} are required (generate one with `cargo sigra gen-secret`)"
    )]
    TooShort {
        /// The length given.
        len: usize,
    },
    /// The purpose label is empty.
    #[error("a derived key needs a non-empty purpose label")]
    EmptyPurpose,
    /// Generating a key failed.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}

/// The application's root secret. Never printed: its `Debug` shows only its length.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKeyBase(Vec<u8>);

impl std::fmt::Debug for SecretKeyBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKeyBase([REDACTED; {} bytes])", self.0.len())
    }
}

impl SecretKeyBase {
    /// Wraps existing secret bytes, refusing fewer than [`MIN_SECRET_KEY_BASE_LEN`].
    ///
    /// The bytes are used as given (for example the UTF-8 bytes of an environment variable).
    ///
    /// ```
    /// use sigra_core::keys::SecretKeyBase;
    /// assert!(SecretKeyBase::new(vec![7u8; 64]).is_ok());
    /// assert!(SecretKeyBase::new(vec![7u8; 32]).is_err());
    /// ```
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_KEY_BASE_LEN {
            let len = bytes.len();
            let mut bytes = bytes;
            bytes.zeroize();
            return Err(KeyError::TooShort { len });
        }
        Ok(Self(bytes))
    }

    /// Generates a new random 64-byte key base.
    ///
    /// ```
    /// let key = sigra_core::keys::SecretKeyBase::generate()?;
    /// assert_eq!(key.to_base64url().len(), 86);
    /// # Ok::<(), sigra_core::keys::KeyError>(())
    /// ```
    pub fn generate() -> Result<Self, KeyError> {
        let bytes = crate::random::bytes::<MIN_SECRET_KEY_BASE_LEN>()?;
        Ok(Self(bytes.to_vec()))
    }

    /// The key base as base64url without padding (what `cargo sigra gen-secret` prints).
    ///
    /// ```
    /// let key = sigra_core::keys::SecretKeyBase::new(vec![0u8; 64])?;
    /// assert!(key.to_base64url().starts_with("AAAA"));
    /// # Ok::<(), sigra_core::keys::KeyError>(())
    /// ```
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// Derives the 32-byte key for `purpose` with HKDF-SHA256 (RFC 5869): salt
    /// `"sigra-core/v1"`, info = the purpose label. Distinct labels give independent keys.
    ///
    /// ```
    /// let base = sigra_core::keys::SecretKeyBase::new(vec![1u8; 64])?;
    /// let a = base.derive("email-token")?;
    /// let b = base.derive("trust-cookie")?;
    /// assert_ne!(a.as_bytes(), b.as_bytes());
    /// # Ok::<(), sigra_core::keys::KeyError>(())
    /// ```
    pub fn derive(&self, purpose: &str) -> Result<DerivedKey, KeyError> {
        if purpose.is_empty() {
            return Err(KeyError::EmptyPurpose);
        }
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"sigra-core/v1"), &self.0);
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        if hk.expand(purpose.as_bytes(), &mut okm).is_err() {
            return Err(KeyError::EmptyPurpose);
        }
        Ok(DerivedKey(okm))
    }
}

/// A 32-byte key derived for one purpose. Zeroed on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    /// The raw key bytes, for handing to a MAC or cipher.
    ///
    /// ```
    /// let base = sigra_core::keys::SecretKeyBase::new(vec![1u8; 64])?;
    /// assert_eq!(base.derive("x")?.as_bytes().len(), 32);
    /// # Ok::<(), sigra_core::keys::KeyError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_short_keys_and_names_the_fix() {
        let err = SecretKeyBase::new(vec![0u8; 63]).unwrap_err();
        assert!(err.to_string().contains("at least 64"));
        assert!(err.to_string().contains("gen-secret"));
    }

    #[test]
    fn derivation_is_deterministic_and_separated() {
        let base = SecretKeyBase::new(vec![9u8; 64]).unwrap();
        assert_eq!(
            base.derive("a").unwrap().as_bytes(),
            base.derive("a").unwrap().as_bytes()
        );
        assert_ne!(
            base.derive("a").unwrap().as_bytes(),
            base.derive("b").unwrap().as_bytes()
        );
        assert!(base.derive("").is_err());
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let base = SecretKeyBase::new(vec![0x41u8; 64]).unwrap();
        let shown = format!("{base:?} {:?}", base.derive("p").unwrap());
        assert!(!shown.contains("65"));
        assert!(!shown.contains("AAAA"));
        assert!(shown.contains("REDACTED"));
    }
}
