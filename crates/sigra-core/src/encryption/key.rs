//! One 32-byte AES-256-GCM key and its id.

use super::EncryptionError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// One AES-256-GCM key with its key id. Zeroed on drop; `Debug` shows only the id.
///
/// ```
/// use sigra_core::encryption::EncryptionKey;
/// let key = EncryptionKey::new(3, [0x42; 32]);
/// assert_eq!(key.id(), 3);
/// assert_eq!(format!("{key:?}"), "EncryptionKey { id: 3, key: [REDACTED] }");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EncryptionKey {
    id: u32,
    bytes: [u8; 32],
}

impl EncryptionKey {
    /// Wraps 32 key bytes under `id`.
    ///
    /// ```
    /// let key = sigra_core::encryption::EncryptionKey::new(1, [7u8; 32]);
    /// assert_eq!(key.id(), 1);
    /// ```
    pub fn new(id: u32, bytes: [u8; 32]) -> Self {
        Self { id, bytes }
    }

    /// Wraps key bytes of unknown length, refusing anything but 32 bytes.
    ///
    /// ```
    /// use sigra_core::encryption::EncryptionKey;
    /// assert!(EncryptionKey::from_slice(1, &[0u8; 32]).is_ok());
    /// let err = EncryptionKey::from_slice(1, &[0u8; 16]).unwrap_err();
    /// assert!(err.to_string().contains("exactly 32 bytes"));
    /// ```
    pub fn from_slice(id: u32, bytes: &[u8]) -> Result<Self, EncryptionError> {
        Self::from_slice_for(id, bytes, "EncryptionKey::from_slice")
    }

    pub(crate) fn from_slice_for(
        id: u32,
        bytes: &[u8],
        setting: &'static str,
    ) -> Result<Self, EncryptionError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| EncryptionError::BadKeyLength {
                setting,
                id,
                len: bytes.len(),
            })?;
        Ok(Self { id, bytes })
    }

    /// Generates a new random key under `id` (from the OS CSPRNG via `crate::random`).
    ///
    /// ```
    /// let key = sigra_core::encryption::EncryptionKey::generate(2)?;
    /// assert_eq!(key.id(), 2);
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn generate(id: u32) -> Result<Self, EncryptionError> {
        Ok(Self {
            id,
            bytes: crate::random::bytes::<32>()?,
        })
    }

    /// The key id.
    ///
    /// ```
    /// assert_eq!(sigra_core::encryption::EncryptionKey::new(9, [0; 32]).id(), 9);
    /// ```
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The `id:key` entry for `SIGRA_ENCRYPTION_KEYS` (key as base64url without padding).
    ///
    /// This reveals the key: print it only to hand it to a secret store (for example from a
    /// `gen-encryption-key` command).
    ///
    /// ```
    /// let key = sigra_core::encryption::EncryptionKey::new(2, [0u8; 32]);
    /// assert_eq!(key.to_env_entry(), format!("2:{}", "A".repeat(43)));
    /// ```
    pub fn to_env_entry(&self) -> String {
        format!("{}:{}", self.id, URL_SAFE_NO_PAD.encode(self.bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey {{ id: {}, key: [REDACTED] }}", self.id)
    }
}
