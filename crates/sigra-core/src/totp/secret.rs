//! The shared secret of a TOTP credential.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{Algorithm, TotpError};

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
        let bytes = decode_base32(encoded)?;
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
        let bytes = decode_base32(encoded)?;
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
        let secret = totp_rs::Secret::new(self.bytes.clone().into_boxed_slice());
        Zeroizing::new(secret.to_base32())
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

/// Decodes a base32 secret with totp-rs (RFC 4648 alphabet, no padding).
///
/// totp-rs's decoder takes canonical text only, so the presentation forgiveness is done here
/// first: ASCII case, whitespace and hyphens (secrets are often shown in groups) and optional
/// trailing `=` padding are accepted; any other character, `=` before the end and lengths that
/// cannot encode whole bytes are refused with an error that names the problem (never the
/// secret). Input decoding to more than [`MAX_SECRET_BYTES`] is refused before decoding.
fn decode_base32(input: &str) -> Result<Zeroizing<Vec<u8>>, TotpError> {
    // The most characters that decode to at most MAX_SECRET_BYTES bytes.
    let max_chars = MAX_SECRET_BYTES.saturating_mul(8).div_ceil(5);
    let mut canonical = Zeroizing::new(String::with_capacity(max_chars.min(input.len())));
    let mut padding = false;
    for (position, c) in input.chars().enumerate() {
        if c.is_ascii_whitespace() || c == '-' {
            continue;
        }
        if c == '=' {
            padding = true;
            continue;
        }
        if !(c.is_ascii_alphabetic() || ('2'..='7').contains(&c)) {
            return Err(TotpError::InvalidBase32Character { position });
        }
        if padding {
            return Err(TotpError::MisplacedBase32Padding);
        }
        if canonical.len() >= max_chars {
            return Err(TotpError::SecretTooLong {
                max_bytes: MAX_SECRET_BYTES,
            });
        }
        canonical.push(c.to_ascii_uppercase());
    }
    let chars = canonical.len();
    // 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters leaves 5 or more bits
    // unused, which no encoder produces.
    if matches!(chars % 8, 1 | 3 | 6) {
        return Err(TotpError::InvalidBase32Length { chars });
    }
    let secret = totp_rs::Secret::try_from_base32(canonical.as_str())
        .map_err(|_| TotpError::InvalidBase32Length { chars })?;
    Ok(Zeroizing::new(secret.as_bytes().to_vec()))
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

    fn dec(s: &str) -> Result<Vec<u8>, TotpError> {
        decode_base32(s).map(|v| v.to_vec())
    }

    #[test]
    fn base32_rfc4648_vectors_through_totp_rs() {
        let vectors: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ];
        for (raw, encoded) in vectors {
            assert_eq!(dec(encoded).unwrap(), raw);
        }
        assert_eq!(dec("MZXW6YQ=").unwrap(), b"foob");
        assert_eq!(dec("MY======").unwrap(), b"f");
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        assert_eq!(
            secret.to_base32().as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn base32_forgiving_presentation_and_clear_errors() {
        assert_eq!(dec("mzxw 6ytb-oi").unwrap(), b"foobar");
        assert_eq!(dec("  MZXW6YTBOI\n").unwrap(), b"foobar");
        assert_eq!(dec("MzXw6YtBoI==").unwrap(), b"foobar");
        assert!(matches!(
            dec("MZXW1"),
            Err(TotpError::InvalidBase32Character { position: 4 })
        ));
        assert!(matches!(
            dec("MZ=XW"),
            Err(TotpError::MisplacedBase32Padding)
        ));
        assert!(matches!(
            dec("MZX"),
            Err(TotpError::InvalidBase32Length { chars: 3 })
        ));
        assert!(matches!(
            dec("é"),
            Err(TotpError::InvalidBase32Character { position: 0 })
        ));
    }

    #[test]
    fn errors_do_not_echo_the_secret() {
        let err = TotpSecret::from_base32("SECRETSECRETSECRET1").unwrap_err();
        assert!(!err.to_string().contains("SECRET"));
    }
}
