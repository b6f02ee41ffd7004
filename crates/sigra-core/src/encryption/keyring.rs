//! The keyring: encrypt with the primary key, decrypt with the key the ciphertext names.

use super::format::{self, NONCE_LEN, OVERHEAD};
use super::{EncryptionError, EncryptionKey, Plaintext};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

/// One key of the ring, kept only as the initialised cipher (which zeroizes its key schedule
/// on drop: aes-gcm's `zeroize` feature).
#[derive(Clone)]
struct Slot {
    id: u32,
    cipher: Aes256Gcm,
}

/// A set of AES-256-GCM keys: encrypts with the primary (highest id), decrypts with any.
///
/// Cheap to clone (one initialised cipher per key); share it in the app state. `Debug` shows
/// only the key ids.
///
/// ```
/// use sigra_core::encryption::{EncryptionKey, Keyring};
/// let ring = Keyring::new([EncryptionKey::new(1, [1; 32]), EncryptionKey::new(2, [2; 32])])?;
/// assert_eq!(ring.primary_id(), 2);
/// assert_eq!(format!("{ring:?}"), "Keyring { primary: 2, key_ids: [2, 1] }");
/// # Ok::<(), sigra_core::encryption::EncryptionError>(())
/// ```
#[derive(Clone)]
pub struct Keyring {
    /// The key with the highest id: encrypts new values.
    primary: Slot,
    /// The other keys, highest id first: decrypt only.
    older: Vec<Slot>,
}

impl Keyring {
    /// Builds a keyring from explicit keys. The key with the highest id is the primary.
    ///
    /// Refuses an empty set and repeated ids.
    ///
    /// ```
    /// use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::generate(1)?])?;
    /// assert_eq!(ring.primary_id(), 1);
    /// assert!(Keyring::new(Vec::new()).is_err());
    /// assert!(Keyring::new([EncryptionKey::new(1, [0; 32]), EncryptionKey::new(1, [1; 32])]).is_err());
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn new(keys: impl IntoIterator<Item = EncryptionKey>) -> Result<Self, EncryptionError> {
        Self::from_keys(keys, "Keyring::new")
    }

    pub(crate) fn from_keys(
        keys: impl IntoIterator<Item = EncryptionKey>,
        setting: &'static str,
    ) -> Result<Self, EncryptionError> {
        let mut slots: Vec<Slot> = Vec::new();
        for key in keys {
            if slots.iter().any(|s| s.id == key.id()) {
                return Err(EncryptionError::DuplicateKeyId {
                    setting,
                    id: key.id(),
                });
            }
            slots.push(Slot {
                id: key.id(),
                cipher: Aes256Gcm::new(key.bytes().into()),
            });
        }
        slots.sort_by_key(|s| std::cmp::Reverse(s.id));
        let mut slots = slots.into_iter();
        let Some(primary) = slots.next() else {
            return Err(EncryptionError::NoKeys { setting });
        };
        Ok(Self {
            primary,
            older: slots.collect(),
        })
    }

    /// The id of the key new values are encrypted with (the highest id in the ring).
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::new(5, [0; 32]), EncryptionKey::new(7, [0; 32])])?;
    /// assert_eq!(ring.primary_id(), 7);
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn primary_id(&self) -> u32 {
        self.primary.id
    }

    /// Every key id in the ring, highest (the primary) first.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::new(1, [0; 32]), EncryptionKey::new(3, [0; 32])])?;
    /// assert_eq!(ring.key_ids(), vec![3, 1]);
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn key_ids(&self) -> Vec<u32> {
        std::iter::once(&self.primary)
            .chain(&self.older)
            .map(|s| s.id)
            .collect()
    }

    /// Encrypts `plaintext` with the primary key, bound to `context` (see the module docs
    /// for the format). Every call draws a fresh random nonce.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let ct = ring.encrypt(b"secret", "totp:user:42")?;
    /// assert_eq!(ct.len(), 6 + sigra_core::encryption::OVERHEAD);
    /// assert_eq!(ct[0], 1); // version
    /// assert_eq!(&ct[1..5], &1u32.to_be_bytes()); // key id
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, EncryptionError> {
        if context.is_empty() {
            return Err(EncryptionError::EmptyContext);
        }
        let slot = &self.primary;
        let header = format::header(slot.id);
        let nonce = crate::random::bytes::<NONCE_LEN>()?;
        let aad = format::aad(&header, context);
        let sealed = slot
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| EncryptionError::TooLong)?;
        let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a value made by [`encrypt`](Self::encrypt) with any key in the ring, checking
    /// that it was bound to the same `context`.
    ///
    /// A wrong context, a wrong key or any altered byte gives [`EncryptionError::Decrypt`].
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring, EncryptionError};
    /// let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let ct = ring.encrypt(b"secret", "totp:user:42")?;
    /// assert_eq!(ring.decrypt(&ct, "totp:user:42")?.as_bytes(), b"secret");
    /// assert!(matches!(ring.decrypt(&ct, "totp:user:43"), Err(EncryptionError::Decrypt)));
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn decrypt(&self, ciphertext: &[u8], context: &str) -> Result<Plaintext, EncryptionError> {
        if context.is_empty() {
            return Err(EncryptionError::EmptyContext);
        }
        let parsed = format::parse(ciphertext)?;
        let slot = self.slot(parsed.key_id)?;
        let aad = format::aad(parsed.header, context);
        slot.cipher
            .decrypt(
                &Nonce::from(parsed.nonce),
                Payload {
                    msg: parsed.body,
                    aad: &aad,
                },
            )
            .map(Plaintext::new)
            .map_err(|_| EncryptionError::Decrypt)
    }

    /// [`encrypt`](Self::encrypt), returning the text form (base64url, no padding) for a
    /// `TEXT` column.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let text = ring.encrypt_to_string(b"secret", "totp:user:42")?;
    /// assert!(text.starts_with("AQAAAA")); // version 1, key id 1 (then the nonce)
    /// assert_eq!(ring.decrypt_str(&text, "totp:user:42")?.as_bytes(), b"secret");
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn encrypt_to_string(
        &self,
        plaintext: &[u8],
        context: &str,
    ) -> Result<String, EncryptionError> {
        self.encrypt(plaintext, context)
            .map(|bytes| format::to_text(&bytes))
    }

    /// [`decrypt`](Self::decrypt) for the text form.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// assert!(ring.decrypt_str("not base64!", "ctx").is_err());
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn decrypt_str(&self, text: &str, context: &str) -> Result<Plaintext, EncryptionError> {
        self.decrypt(&format::from_text(text)?, context)
    }

    /// Whether `ciphertext` was made with a key other than the primary, so it should be
    /// re-encrypted (lazily, after the next successful decrypt, or by a background job).
    ///
    /// Reads only the header: it does not authenticate the value. Errors when the value is
    /// malformed or names a key id that is not in the ring.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let old = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let ct = old.encrypt(b"secret", "ctx")?;
    /// assert!(!old.needs_reencrypt(&ct)?);
    /// let new = Keyring::new([EncryptionKey::new(1, [1; 32]), EncryptionKey::new(2, [2; 32])])?;
    /// assert!(new.needs_reencrypt(&ct)?);
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn needs_reencrypt(&self, ciphertext: &[u8]) -> Result<bool, EncryptionError> {
        let parsed = format::parse(ciphertext)?;
        let slot = self.slot(parsed.key_id)?;
        Ok(slot.id != self.primary.id)
    }

    /// [`needs_reencrypt`](Self::needs_reencrypt) for the text form.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let text = ring.encrypt_to_string(b"secret", "ctx")?;
    /// assert!(!ring.needs_reencrypt_str(&text)?);
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn needs_reencrypt_str(&self, text: &str) -> Result<bool, EncryptionError> {
        self.needs_reencrypt(&format::from_text(text)?)
    }

    /// Decrypts `ciphertext` (checking `context`) and encrypts it again with the primary key.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let old = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let ct = old.encrypt(b"secret", "ctx")?;
    /// let ring = Keyring::new([EncryptionKey::new(1, [1; 32]), EncryptionKey::new(2, [2; 32])])?;
    /// let fresh = ring.reencrypt(&ct, "ctx")?;
    /// assert!(!ring.needs_reencrypt(&fresh)?);
    /// assert_eq!(ring.decrypt(&fresh, "ctx")?.as_bytes(), b"secret");
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn reencrypt(&self, ciphertext: &[u8], context: &str) -> Result<Vec<u8>, EncryptionError> {
        let plaintext = self.decrypt(ciphertext, context)?;
        self.encrypt(plaintext.as_bytes(), context)
    }

    /// [`reencrypt`](Self::reencrypt) for the text form.
    ///
    /// ```
    /// # use sigra_core::encryption::{EncryptionKey, Keyring};
    /// let ring = Keyring::new([EncryptionKey::new(1, [1; 32])])?;
    /// let text = ring.encrypt_to_string(b"secret", "ctx")?;
    /// let again = ring.reencrypt_str(&text, "ctx")?;
    /// assert_ne!(text, again); // a fresh nonce every time
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn reencrypt_str(&self, text: &str, context: &str) -> Result<String, EncryptionError> {
        self.reencrypt(&format::from_text(text)?, context)
            .map(|bytes| format::to_text(&bytes))
    }

    /// Adds `extra`'s keys for decryption only: the primary stays the primary.
    pub(super) fn with_decrypt_only(
        mut self,
        extra: Keyring,
        setting: &'static str,
    ) -> Result<Self, EncryptionError> {
        for slot in std::iter::once(extra.primary).chain(extra.older) {
            if self.slot(slot.id).is_ok() {
                return Err(EncryptionError::DuplicateKeyId {
                    setting,
                    id: slot.id,
                });
            }
            self.older.push(slot);
        }
        self.older.sort_by_key(|s| std::cmp::Reverse(s.id));
        Ok(self)
    }

    fn slot(&self, id: u32) -> Result<&Slot, EncryptionError> {
        std::iter::once(&self.primary)
            .chain(&self.older)
            .find(|s| s.id == id)
            .ok_or(EncryptionError::UnknownKeyId { id })
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary_id())
            .field("key_ids", &self.key_ids())
            .finish()
    }
}
