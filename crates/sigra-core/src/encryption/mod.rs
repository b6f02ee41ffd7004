//! Encryption at rest for secrets stored in the database (TOTP secrets, OAuth provider
//! tokens), with AES-256-GCM, key ids and key rotation.
//!
//! # Design
//!
//! A [`Keyring`] holds one or more 32-byte [`EncryptionKey`]s, each named by a numeric key
//! id. It **encrypts with the primary key** (the one with the highest id) and **decrypts with
//! whichever key the ciphertext names**, so keys rotate without a migration:
//!
//! 1. add a new key with a higher id (it becomes the primary; the old key keeps decrypting);
//! 2. re-encrypt lazily: after each successful decrypt, [`Keyring::needs_reencrypt`] says
//!    whether the value was made with an older key, and [`Keyring::reencrypt`] rewrites it
//!    (or a background job walks the table);
//! 3. once no stored value names the old key, remove it from the keyring.
//!
//! Every call takes a **context**: a string naming where the value lives, for example
//! `"totp:user:42"` or `"oauth:identity:17:refresh_token"`. The context is authenticated but
//! not stored, so a ciphertext copied into another row or another column fails to decrypt
//! (an attacker with write access to the database cannot swap their TOTP secret for a
//! victim's, or move an access token between identities). An empty context is refused. Use a
//! value that is known before the row is written and never changes (the user id, not an
//! auto-increment id assigned by the insert).
//!
//! Decryption failures caused by a wrong key, a wrong context or tampering all return the
//! same opaque [`EncryptionError::Decrypt`]; structural problems (truncated input, unknown
//! version, unknown key id) have their own variants because the header is not secret.
//!
//! # Ciphertext format (version 1)
//!
//! ```text
//! offset  size  field
//! 0       1     version, always 0x01
//! 1       4     key id, unsigned 32-bit big-endian
//! 5       12    nonce, 96 random bits from the OS CSPRNG (crate::random)
//! 17      n     AES-256-GCM ciphertext (same length as the plaintext)
//! 17+n    16    AES-256-GCM tag
//! ```
//!
//! The associated data (AAD) given to AES-GCM is the 5-byte header (version and key id)
//! followed by the UTF-8 bytes of the context: `AAD = ciphertext[0..5] || context`. The
//! header is therefore authenticated too, and any flipped bit anywhere is refused. The
//! smallest valid ciphertext (empty plaintext) is [`OVERHEAD`] = 33 bytes.
//!
//! The text form for `TEXT` columns is the same bytes as base64url without padding
//! (RFC 4648 §5); decoding accepts only the canonical form.
//!
//! Random 96-bit nonces are safe for up to 2³² encryptions under one key (NIST SP 800-38D);
//! rotate long before that (secrets at rest come nowhere near it).
//!
//! # Key sources
//!
//! - explicit keys: [`EncryptionKey::new`] / [`EncryptionKey::from_slice`] and
//!   [`Keyring::new`];
//! - the environment variable [`ENV_VAR`] (`SIGRA_ENCRYPTION_KEYS`), parsed by
//!   [`Keyring::parse`]: comma-separated `id:key` entries, each key 32 bytes in base64url,
//!   ids from 1 to 4294967295, **the highest id is the primary** whatever the order, for
//!   example `SIGRA_ENCRYPTION_KEYS="2:<43 chars>,1:<43 chars>"`;
//! - zero-config default: a key derived from the secret key base with
//!   `SecretKeyBase::derive("encryption-at-rest")` under key id 0 ([`Keyring::derived`]).
//!
//! [`Keyring::from_env`] puts these together: without `SIGRA_ENCRYPTION_KEYS` it uses the
//! derived key; with it, the configured keys form the keyring **and** the derived key stays
//! in it under id 0 for decryption only (it is never primary, since configured ids are at
//! least 1), so values written under the zero-config default stay readable and are flagged
//! by [`Keyring::needs_reencrypt`]. Use [`Keyring::parse`] directly for a keyring holding
//! exactly the configured keys.
//!
//! Key material is zeroized on drop and never appears in `Debug` output, error messages or
//! logs; decrypted values come back as [`Plaintext`], which zeroizes itself and whose `Debug`
//! is redacted.
//!
//! ```
//! use sigra_core::encryption::{EncryptionKey, Keyring};
//!
//! let old = Keyring::new([EncryptionKey::new(1, [7u8; 32])])?;
//! let stored = old.encrypt_to_string(b"JBSWY3DPEHPK3PXP", "totp:user:42")?;
//!
//! // Rotation: add key 2; it becomes the primary, key 1 still decrypts.
//! let ring = Keyring::new([EncryptionKey::new(1, [7u8; 32]), EncryptionKey::new(2, [9u8; 32])])?;
//! let secret = ring.decrypt_str(&stored, "totp:user:42")?;
//! assert_eq!(secret.as_bytes(), b"JBSWY3DPEHPK3PXP");
//! assert!(ring.needs_reencrypt_str(&stored)?);
//! let fresh = ring.reencrypt_str(&stored, "totp:user:42")?;
//! assert!(!ring.needs_reencrypt_str(&fresh)?);
//!
//! // The context is bound: the same value in another row does not decrypt.
//! assert!(ring.decrypt_str(&fresh, "totp:user:43").is_err());
//! # Ok::<(), sigra_core::encryption::EncryptionError>(())
//! ```

mod env;
mod format;
mod key;
mod keyring;
mod plaintext;

pub use env::{DERIVED_KEY_ID, DERIVED_KEY_PURPOSE, ENV_VAR};
pub use format::{HEADER_LEN, NONCE_LEN, OVERHEAD, TAG_LEN, VERSION};
pub use key::EncryptionKey;
pub use keyring::Keyring;
pub use plaintext::Plaintext;

/// Errors from encryption at rest. No message ever contains key material or plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    /// Authentication failed: the ciphertext was altered, or the key or the context is not
    /// the one it was made with. Deliberately does not say which.
    #[error("could not decrypt: the value was altered, or the key or context does not match")]
    Decrypt,
    /// The ciphertext names a key id that is not in the keyring.
    #[error(
        "the value was encrypted with key id {id}, which is not in the keyring (put that key back into {ENV_VAR} to read it)"
    )]
    UnknownKeyId {
        /// The key id read from the ciphertext header.
        id: u32,
    },
    /// The input is not a ciphertext in a format this library knows (too short, not
    /// base64url, ...).
    #[error("malformed ciphertext: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// The ciphertext's version byte is not one this library reads.
    #[error(
        "unsupported ciphertext version {version}; this version of sigra-core reads version {VERSION}"
    )]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// A key is not 32 bytes long.
    #[error(
        "{setting}: key {id} is {len} bytes; AES-256-GCM keys are exactly 32 bytes (43 base64url characters)"
    )]
    BadKeyLength {
        /// The setting or constructor the key came from, e.g. `SIGRA_ENCRYPTION_KEYS`.
        setting: &'static str,
        /// The key id.
        id: u32,
        /// The length found, in bytes.
        len: usize,
    },
    /// The keyring specification (e.g. `SIGRA_ENCRYPTION_KEYS`) could not be parsed.
    #[error("{setting}: entry {entry}: {reason}")]
    InvalidKeySpec {
        /// The setting being parsed.
        setting: &'static str,
        /// The 1-based position of the offending comma-separated entry.
        entry: usize,
        /// What was wrong (never the key itself).
        reason: &'static str,
    },
    /// Two keys share one key id.
    #[error("{setting}: key id {id} appears more than once")]
    DuplicateKeyId {
        /// The setting or constructor the keys came from.
        setting: &'static str,
        /// The repeated id.
        id: u32,
    },
    /// A keyring needs at least one key.
    #[error(
        "{setting}: no keys given; give at least one `id:base64url-key` entry (or leave {ENV_VAR} unset to use the key derived from the secret key base)"
    )]
    NoKeys {
        /// The setting or constructor the keys came from.
        setting: &'static str,
    },
    /// The context was empty: every value must be bound to where it is stored.
    #[error(
        "an encryption context is required (for example \"totp:user:42\"): it binds the value to its row and column"
    )]
    EmptyContext,
    /// The plaintext or context is longer than AES-GCM allows.
    #[error("the plaintext or context is too long for AES-256-GCM")]
    TooLong,
    /// Drawing a nonce or key from the OS failed.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
    /// Deriving the default key from the secret key base failed.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}
