//! A decrypted value that zeroizes itself and never prints.

use zeroize::Zeroizing;

/// A decrypted secret. Its buffer is zeroed on drop and its `Debug` is redacted.
///
/// ```
/// use sigra_core::encryption::{EncryptionKey, Keyring};
/// let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
/// let ct = ring.encrypt(b"hunter2", "oauth:identity:7:access_token")?;
/// let pt = ring.decrypt(&ct, "oauth:identity:7:access_token")?;
/// assert_eq!(pt.as_bytes(), b"hunter2");
/// assert_eq!(pt.as_str(), Some("hunter2"));
/// assert_eq!(format!("{pt:?}"), "Plaintext([REDACTED; 7 bytes])");
/// # Ok::<(), sigra_core::encryption::EncryptionError>(())
/// ```
#[derive(Clone)]
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The decrypted bytes.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// # let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let pt = ring.decrypt(&ring.encrypt(&[0, 1, 2], "ctx")?, "ctx")?;
    /// assert_eq!(pt.as_bytes(), &[0, 1, 2]);
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The decrypted bytes as UTF-8 text, or `None` when they are not valid UTF-8.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// # let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let pt = ring.decrypt(&ring.encrypt("zażółć".as_bytes(), "ctx")?, "ctx")?;
    /// assert_eq!(pt.as_str(), Some("zażółć"));
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Takes the bytes out, still wrapped so they are zeroed when dropped.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// # let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let bytes = ring.decrypt(&ring.encrypt(b"x", "ctx")?, "ctx")?.into_bytes();
    /// assert_eq!(bytes.as_slice(), b"x");
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        self.0
    }
}

impl AsRef<[u8]> for Plaintext {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext([REDACTED; {} bytes])", self.0.len())
    }
}
