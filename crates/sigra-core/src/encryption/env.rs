//! Key sources: `SIGRA_ENCRYPTION_KEYS` and the key derived from the secret key base.

use super::{EncryptionError, EncryptionKey, Keyring};
use crate::keys::SecretKeyBase;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// The environment variable holding the keyring: comma-separated `id:base64url-key` entries,
/// the highest id being the primary, e.g. `SIGRA_ENCRYPTION_KEYS="2:<43 chars>,1:<43 chars>"`.
pub const ENV_VAR: &str = "SIGRA_ENCRYPTION_KEYS";

/// The purpose label of the zero-config key: `SecretKeyBase::derive("encryption-at-rest")`.
pub const DERIVED_KEY_PURPOSE: &str = "encryption-at-rest";

/// The key id of the key derived from the secret key base. Reserved: configured keys use ids
/// from 1, so the derived key is never primary once keys are configured.
pub const DERIVED_KEY_ID: u32 = 0;

impl Keyring {
    /// Parses the `SIGRA_ENCRYPTION_KEYS` format: comma-separated `id:key` entries, where `id`
    /// is a decimal number from 1 to 4294967295 and `key` is 32 bytes in base64url (43
    /// characters; trailing `=` padding is tolerated). Whitespace around entries and empty
    /// entries are ignored. The **highest id is the primary**, whatever the order.
    ///
    /// Errors name the variable and the entry, never the key.
    ///
    /// ```
    /// use sigra_core::encryption::Keyring;
    /// let a = "A".repeat(43);
    /// let b = "B".repeat(42) + "A";
    /// let ring = Keyring::parse(&format!("1:{a}, 2:{b}"))?;
    /// assert_eq!(ring.primary_id(), 2);
    ///
    /// let err = Keyring::parse("1:AAAA").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "SIGRA_ENCRYPTION_KEYS: key 1 is 3 bytes; AES-256-GCM keys are exactly 32 bytes (43 base64url characters)"
    /// );
    /// # Ok::<(), sigra_core::encryption::EncryptionError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self, EncryptionError> {
        let mut keys = Vec::new();
        for (index, raw) in spec.split(',').enumerate() {
            let entry = index + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let bad = |reason| EncryptionError::InvalidKeySpec {
                setting: ENV_VAR,
                entry,
                reason,
            };
            let (id, key) = raw
                .split_once(':')
                .ok_or_else(|| bad("expected `id:base64url-key` (no `:` found)"))?;
            let id = id.trim();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the key id is not a decimal number"));
            }
            let id: u32 = id
                .parse()
                .map_err(|_| bad("the key id is larger than 4294967295"))?;
            if id == DERIVED_KEY_ID {
                return Err(bad(
                    "key id 0 is reserved for the key derived from the secret key base; use ids from 1",
                ));
            }
            let bytes = Zeroizing::new(
                URL_SAFE_NO_PAD
                    .decode(key.trim().trim_end_matches('='))
                    .map_err(|_| {
                        bad("the key is not base64url (43 characters of A-Z a-z 0-9 - _)")
                    })?,
            );
            keys.push(EncryptionKey::from_slice_for(id, &bytes, ENV_VAR)?);
        }
        Self::from_keys(keys, ENV_VAR)
    }

    /// The zero-config keyring: one key derived from the secret key base with
    /// `derive("encryption-at-rest")`, under key id 0.
    ///
    /// ```
    /// use sigra_core::{encryption::Keyring, keys::SecretKeyBase};
    /// let base = SecretKeyBase::new(vec![1u8; 64])?;
    /// let ring = Keyring::derived(&base)?;
    /// assert_eq!(ring.primary_id(), 0);
    /// let ct = ring.encrypt(b"s", "ctx")?;
    /// assert_eq!(Keyring::derived(&base)?.decrypt(&ct, "ctx")?.as_bytes(), b"s");
    /// # Ok::<(), sigra_core::Error>(())
    /// ```
    pub fn derived(secret: &SecretKeyBase) -> Result<Self, EncryptionError> {
        Self::from_keys([derived_key(secret)?], "the secret key base")
    }

    /// Reads the keyring from the process environment; see
    /// [`from_env_with`](Self::from_env_with).
    ///
    /// ```
    /// use sigra_core::{encryption::Keyring, keys::SecretKeyBase};
    /// let base = SecretKeyBase::new(vec![1u8; 64])?;
    /// let ring = Keyring::from_env(&base)?;
    /// # Ok::<(), sigra_core::Error>(())
    /// ```
    pub fn from_env(secret: &SecretKeyBase) -> Result<Self, EncryptionError> {
        let value = match std::env::var(ENV_VAR) {
            Ok(value) => Some(value),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(EncryptionError::InvalidKeySpec {
                    setting: ENV_VAR,
                    entry: 1,
                    reason: "the value is not valid UTF-8",
                });
            }
        };
        Self::from_env_with(secret, |_| value)
    }

    /// Builds the keyring from `SIGRA_ENCRYPTION_KEYS` as returned by `lookup`, falling back to
    /// the secret key base:
    ///
    /// - unset: [`derived`](Self::derived) (key id 0);
    /// - set: the configured keys ([`parse`](Self::parse); an empty value is an error, not a
    ///   fallback), plus the derived key under id 0 for decryption only, so values written
    ///   before keys were configured stay readable and report
    ///   [`needs_reencrypt`](Self::needs_reencrypt).
    ///
    /// ```
    /// use sigra_core::{encryption::Keyring, keys::SecretKeyBase};
    /// let base = SecretKeyBase::new(vec![1u8; 64])?;
    /// let before = Keyring::from_env_with(&base, |_| None)?;
    /// let ct = before.encrypt(b"s", "ctx")?;
    ///
    /// let key = format!("1:{}", "A".repeat(43));
    /// let after = Keyring::from_env_with(&base, |name| {
    ///     (name == "SIGRA_ENCRYPTION_KEYS").then(|| key.clone())
    /// })?;
    /// assert_eq!(after.key_ids(), vec![1, 0]);
    /// assert!(after.needs_reencrypt(&ct)?);
    /// assert_eq!(after.decrypt(&ct, "ctx")?.as_bytes(), b"s");
    /// # Ok::<(), sigra_core::Error>(())
    /// ```
    pub fn from_env_with(
        secret: &SecretKeyBase,
        lookup: impl FnOnce(&str) -> Option<String>,
    ) -> Result<Self, EncryptionError> {
        let Some(spec) = lookup(ENV_VAR).map(Zeroizing::new) else {
            return Self::derived(secret);
        };
        Self::parse(&spec)?.with_decrypt_only(Self::derived(secret)?, ENV_VAR)
    }
}

fn derived_key(secret: &SecretKeyBase) -> Result<EncryptionKey, EncryptionError> {
    let derived = secret.derive(DERIVED_KEY_PURPOSE)?;
    Ok(EncryptionKey::new(DERIVED_KEY_ID, *derived.as_bytes()))
}
