//! The shared secret of a TOTP credential.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{Algorithm, TotpError, base32};

/// The fewest bytes a secret may have: 16 (128 bits, the minimum of RFC 4226 §4).
pub const MIN_SECRET_BYTES: usize = 16;

/// The fewest bytes the `danger_from_short_*` constructors accept: 10 (80 bits, the size of
/// legacy 16-character secrets).
pub const LEGACY_MIN_SECRET_BYTES: usize = 10;

/// The most bytes a secret may have: 128 (HMAC hashes longer keys down anyway; SHA-512 uses 64).
pub const MAX_SECRET_BYTES: usize = 128;

/// A TOTP shared secret: random bytes known to the server and the user's authenticator app.
///
/// The bytes are zeroized when the value is dropped, `Debug` prints `[REDACTED]`, and
/// equality is checked in constant time. Get the bytes to encrypt at rest with
/// [`expose_bytes`](Self::expose_bytes), and the base32 text an app accepts with
/// [`to_base32`](Self::to_base32).
///
/// ```
/// use sigra_core::totp::{Algorithm, TotpSecret};
/// let secret = TotpSecret::generate(Algorithm::Sha1)?;
/// assert_eq!(secret.expose_bytes().len(), 20);
/// assert_eq!(format!("{secret:?}"), "TotpSecret([REDACTED])");
/// let again = TotpSecret::from_base32(&secret.to_base32())?;
/// assert_eq!(again, secret);
/// # Ok::<(), sigra_core::totp::TotpError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret {
    bytes: Vec<u8>,
}

impl TotpSecret {
    /// Generates a random secret as long as `algorithm`'s output: 20 bytes for SHA-1, 32 for
    /// SHA-256, 64 for SHA-512 (RFC 4226 recommends at least 160 bits).
    ///
    /// ```
    /// use sigra_core::totp::{Algorithm, TotpSecret};
    /// let secret = TotpSecret::generate(Algorithm::Sha512)?;
    /// assert_eq!(secret.expose_bytes().len(), 64);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn generate(algorithm: Algorithm) -> Result<Self, TotpError> {
        let mut bytes = vec![0u8; algorithm.secret_len()];
        if let Err(e) = crate::random::fill(&mut bytes) {
            bytes.zeroize();
            return Err(e.into());
        }
        Ok(Self { bytes })
    }

    /// Wraps raw secret bytes (for example, decrypted from storage): 16 to
    /// [`MAX_SECRET_BYTES`] bytes.
    ///
    /// ```
    /// use sigra_core::totp::{TotpError, TotpSecret};
    /// let secret = TotpSecret::from_bytes(b"12345678901234567890")?;
    /// assert_eq!(secret.expose_bytes(), b"12345678901234567890");
    /// assert!(matches!(
    ///     TotpSecret::from_bytes(b"too short"),
    ///     Err(TotpError::SecretTooShort { .. })
    /// ));
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TotpError> {
        Self::checked(bytes, MIN_SECRET_BYTES)
    }

    /// Like [`from_bytes`](Self::from_bytes) but accepts secrets down to 80 bits
    /// ([`LEGACY_MIN_SECRET_BYTES`]), for importing credentials made by older systems.
    /// Prefer re-enrolling such users with a generated secret.
    ///
    /// ```
    /// use sigra_core::totp::TotpSecret;
    /// let secret = TotpSecret::danger_from_short_bytes(b"0123456789")?;
    /// assert_eq!(secret.expose_bytes().len(), 10);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn danger_from_short_bytes(bytes: &[u8]) -> Result<Self, TotpError> {
        Self::checked(bytes, LEGACY_MIN_SECRET_BYTES)
    }

    /// Decodes a base32 secret (RFC 4648), forgiving case, spaces, hyphens and optional `=`
    /// padding: at least 16 decoded bytes.
    ///
    /// ```
    /// use sigra_core::totp::{TotpError, TotpSecret};
    /// let secret = TotpSecret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq")?;
    /// assert_eq!(secret.expose_bytes(), b"12345678901234567890");
    /// assert!(matches!(
    ///     TotpSecret::from_base32("GEZDGNBV!"),
    ///     Err(TotpError::InvalidBase32Character { position: 8 })
    /// ));
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn from_base32(encoded: &str) -> Result<Self, TotpError> {
        let bytes = base32::decode(encoded, MAX_SECRET_BYTES)?;
        Self::checked(&bytes, MIN_SECRET_BYTES)
    }

    /// Like [`from_base32`](Self::from_base32) but accepts secrets down to 80 bits
    /// ([`LEGACY_MIN_SECRET_BYTES`], 16 base32 characters), for importing legacy credentials.
    ///
    /// ```
    /// use sigra_core::totp::TotpSecret;
    /// let secret = TotpSecret::danger_from_short_base32("JBSWY3DPEHPK3PXP")?;
    /// assert_eq!(secret.expose_bytes().len(), 10);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn danger_from_short_base32(encoded: &str) -> Result<Self, TotpError> {
        let bytes = base32::decode(encoded, MAX_SECRET_BYTES)?;
        Self::checked(&bytes, LEGACY_MIN_SECRET_BYTES)
    }

    fn checked(bytes: &[u8], min: usize) -> Result<Self, TotpError> {
        if bytes.is_empty() {
            return Err(TotpError::EmptySecret);
        }
        if bytes.len() < min {
            return Err(TotpError::SecretTooShort {
                bits: bytes.len().saturating_mul(8),
                min_bits: min.saturating_mul(8),
            });
        }
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(TotpError::SecretTooLong {
                max_bytes: MAX_SECRET_BYTES,
            });
        }
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// The secret as upper-case base32 without padding, as authenticator apps expect. The
    /// returned string is zeroized when dropped.
    ///
    /// ```
    /// use sigra_core::totp::TotpSecret;
    /// let secret = TotpSecret::from_bytes(b"12345678901234567890")?;
    /// assert_eq!(secret.to_base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn to_base32(&self) -> Zeroizing<String> {
        base32::encode(&self.bytes)
    }

    /// The raw secret bytes, for encrypting at rest. Do not log them.
    ///
    /// ```
    /// use sigra_core::totp::{Algorithm, TotpSecret};
    /// let secret = TotpSecret::generate(Algorithm::Sha256)?;
    /// assert_eq!(secret.expose_bytes().len(), 32);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

impl PartialEq for TotpSecret {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for TotpSecret {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn generated_lengths_and_distinct() {
        for a in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            let s1 = TotpSecret::generate(a).unwrap();
            let s2 = TotpSecret::generate(a).unwrap();
            assert_eq!(s1.expose_bytes().len(), a.secret_len());
            assert_ne!(s1, s2);
        }
    }

    #[test]
    fn length_limits() {
        assert!(matches!(
            TotpSecret::from_bytes(&[]),
            Err(TotpError::EmptySecret)
        ));
        assert!(matches!(
            TotpSecret::from_bytes(&[7; 15]),
            Err(TotpError::SecretTooShort {
                bits: 120,
                min_bits: 128
            })
        ));
        assert!(TotpSecret::from_bytes(&[7; 16]).is_ok());
        assert!(TotpSecret::from_bytes(&[7; MAX_SECRET_BYTES]).is_ok());
        assert!(matches!(
            TotpSecret::from_bytes(&[7; MAX_SECRET_BYTES + 1]),
            Err(TotpError::SecretTooLong { .. })
        ));
        assert!(TotpSecret::danger_from_short_bytes(&[7; 10]).is_ok());
        assert!(TotpSecret::danger_from_short_bytes(&[7; 9]).is_err());
        assert!(matches!(
            TotpSecret::from_base32(""),
            Err(TotpError::EmptySecret)
        ));
        let long = "A".repeat(10_000);
        assert!(matches!(
            TotpSecret::from_base32(&long),
            Err(TotpError::SecretTooLong { .. })
        ));
    }

    #[test]
    fn errors_do_not_echo_the_secret() {
        let err = TotpSecret::from_base32("SECRETSECRETSECRET1").unwrap_err();
        assert!(!err.to_string().contains("SECRET"));
    }
}
