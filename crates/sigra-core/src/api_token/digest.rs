//! The stored form of a token: its SHA-256 digest.

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::ApiTokenError;

/// The SHA-256 digest of a whole raw API token: the only form the host stores.
///
/// Equality (`==`, [`matches`](Self::matches), [`ConstantTimeEq`]) runs in constant time.
/// Store it as 32 bytes ([`as_bytes`](Self::as_bytes)) or 64 lowercase hex digits
/// ([`to_hex`](Self::to_hex)) in a unique column, and look tokens up by it.
///
/// ```
/// use sigra_core::api_token::{self, ApiTokenDigest};
/// let raw = api_token::generate(&Default::default())?;
/// let stored = raw.digest().to_hex();
/// assert_eq!(ApiTokenDigest::from_hex(&stored)?, raw.digest());
/// # Ok::<(), api_token::ApiTokenError>(())
/// ```
#[derive(Clone, Copy)]
pub struct ApiTokenDigest([u8; 32]);

impl ApiTokenDigest {
    pub(crate) fn of_token(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps a stored 32-byte digest.
    ///
    /// ```
    /// let digest = sigra_core::api_token::ApiTokenDigest::from_bytes([0u8; 32]);
    /// assert_eq!(digest.as_bytes(), &[0u8; 32]);
    /// ```
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps a stored digest read as a byte slice (a `BLOB`/`bytea` column), refusing any
    /// length but 32.
    ///
    /// ```
    /// use sigra_core::api_token::ApiTokenDigest;
    /// assert!(ApiTokenDigest::from_slice(&[0u8; 32]).is_ok());
    /// assert!(ApiTokenDigest::from_slice(&[0u8; 31]).is_err());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ApiTokenError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| ApiTokenError::InvalidDigest)
    }

    /// Parses 64 hex digits (either case).
    ///
    /// ```
    /// use sigra_core::api_token::ApiTokenDigest;
    /// assert!(ApiTokenDigest::from_hex(&"ab".repeat(32)).is_ok());
    /// assert!(ApiTokenDigest::from_hex("abc").is_err());
    /// ```
    pub fn from_hex(hex: &str) -> Result<Self, ApiTokenError> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(ApiTokenError::InvalidDigest);
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (
                pair.first().copied().and_then(nibble),
                pair.get(1).copied().and_then(nibble),
            ) else {
                return Err(ApiTokenError::InvalidDigest);
            };
            *byte = (hi << 4) | lo;
        }
        Ok(Self(out))
    }

    /// The 32 digest bytes.
    ///
    /// ```
    /// let raw = sigra_core::api_token::generate(&Default::default())?;
    /// assert_eq!(raw.digest().as_bytes().len(), 32);
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hex digits.
    ///
    /// ```
    /// let digest = sigra_core::api_token::ApiTokenDigest::from_bytes([0xab; 32]);
    /// assert_eq!(digest.to_hex(), "ab".repeat(32));
    /// ```
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Whether two digests are equal, compared in constant time.
    ///
    /// ```
    /// let raw = sigra_core::api_token::generate(&Default::default())?;
    /// assert!(raw.digest().matches(&raw.digest()));
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn matches(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl ConstantTimeEq for ApiTokenDigest {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for ApiTokenDigest {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}

impl Eq for ApiTokenDigest {}

impl std::hash::Hash for ApiTokenDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Consistent with the (constant-time) equality: equal digests have equal bytes.
        self.0.hash(state);
    }
}

impl std::fmt::Debug for ApiTokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = self.to_hex();
        write!(f, "ApiTokenDigest({}…)", hex.get(..12).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sha256_of_the_whole_token() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(
            ApiTokenDigest::of_token("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_parsing_is_strict() {
        assert!(ApiTokenDigest::from_hex(&"AB".repeat(32)).is_ok());
        assert!(ApiTokenDigest::from_hex(&"g0".repeat(32)).is_err());
        assert!(ApiTokenDigest::from_hex(&"0".repeat(63)).is_err());
        assert!(ApiTokenDigest::from_hex(&"é".repeat(32)).is_err());
    }

    proptest! {
        #[test]
        fn hex_round_trip(bytes in any::<[u8; 32]>()) {
            let d = ApiTokenDigest::from_bytes(bytes);
            prop_assert_eq!(ApiTokenDigest::from_hex(&d.to_hex()).unwrap(), d);
            prop_assert_eq!(ApiTokenDigest::from_slice(&bytes).unwrap(), d);
        }

        #[test]
        fn from_hex_is_total(s in any::<String>()) {
            let _ = ApiTokenDigest::from_hex(&s);
        }
    }
}
