//! Signing and verifying keys, each bound to exactly one algorithm.

use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::jwk::EllipticCurve;
use jsonwebtoken::{DecodingKey, EncodingKey};
use zeroize::Zeroizing;

use super::{HS256_KEY_PURPOSE, JwtAlgorithm, JwtError};
use crate::keys::SecretKeyBase;

/// The shortest HS256 secret accepted: 32 bytes, the size of the hash (RFC 7518 §3.2).
const MIN_HS256_SECRET_LEN: usize = 32;
/// The longest key id accepted.
const MAX_KID_LEN: usize = 128;
/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;
/// PKCS#8 v1 `PrivateKeyInfo` for Ed25519 (RFC 8410 §7), up to the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn invalid(alg: JwtAlgorithm, reason: &'static str) -> JwtError {
    JwtError::InvalidKey { alg, reason }
}

/// Refuses secrets too short for HS256 and secrets that are really public keys.
fn check_hs256_secret(secret: &[u8]) -> Result<(), JwtError> {
    if secret.len() < MIN_HS256_SECRET_LEN {
        return Err(invalid(
            JwtAlgorithm::Hs256,
            "an HS256 secret must be at least 32 random bytes (RFC 7518 §3.2)",
        ));
    }
    let trimmed = secret.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") || trimmed.starts_with(b"ssh-") {
        return Err(invalid(
            JwtAlgorithm::Hs256,
            "this looks like a PEM or SSH key; an HS256 secret must be random bytes, never a (public) key",
        ));
    }
    Ok(())
}

fn check_kid(kid: &str) -> Result<(), JwtError> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err(JwtError::InvalidSetting {
            reason: "a key id must be 1 to 128 characters long",
        });
    }
    if !kid.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(JwtError::InvalidSetting {
            reason: "a key id must be printable ASCII",
        });
    }
    Ok(())
}

fn refuses_certificate(alg: JwtAlgorithm, pem: &[u8]) -> Result<(), JwtError> {
    if pem.windows(11).any(|w| w == b"CERTIFICATE") {
        return Err(invalid(
            alg,
            "certificates are not accepted; pass the public key (-----BEGIN PUBLIC KEY-----)",
        ));
    }
    Ok(())
}

fn redacted_debug(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    alg: JwtAlgorithm,
    kid: Option<&str>,
) -> std::fmt::Result {
    f.debug_struct(name)
        .field("algorithm", &alg)
        .field("kid", &kid)
        .field("key", &"[REDACTED]")
        .finish()
}

/// A private key (or HS256 secret) bound to one signing algorithm, with an optional key id.
///
/// Key material is zeroed on drop and never printed: `Debug` shows the algorithm and `kid`.
///
/// ```
/// use sigra_core::jwt::{JwtAlgorithm, SigningKey};
/// let key = SigningKey::hs256(&[42u8; 32])?.with_kid("2025-01")?;
/// assert_eq!(key.algorithm(), JwtAlgorithm::Hs256);
/// assert!(format!("{key:?}").contains("[REDACTED]"));
/// # Ok::<(), sigra_core::jwt::JwtError>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    alg: JwtAlgorithm,
    key: EncodingKey,
    public: DecodingKey,
    kid: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        redacted_debug(f, "SigningKey", self.alg, self.kid.as_deref())
    }
}

impl SigningKey {
    /// An HS256 key from a shared secret of at least 32 bytes.
    ///
    /// Refuses shorter secrets and anything that looks like a PEM or SSH key: an HMAC secret
    /// that is really a public key is what algorithm-confusion attacks exploit.
    ///
    /// ```
    /// use sigra_core::jwt::SigningKey;
    /// assert!(SigningKey::hs256(&[1u8; 32]).is_ok());
    /// assert!(SigningKey::hs256(b"too short").is_err());
    /// assert!(SigningKey::hs256(b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE").is_err());
    /// ```
    pub fn hs256(secret: &[u8]) -> Result<Self, JwtError> {
        check_hs256_secret(secret)?;
        Ok(Self {
            alg: JwtAlgorithm::Hs256,
            key: EncodingKey::from_secret(secret),
            public: DecodingKey::from_secret(secret),
            kid: None,
        })
    }

    /// An HS256 key derived from the application's [`SecretKeyBase`] under the purpose
    /// [`HS256_KEY_PURPOSE`](super::HS256_KEY_PURPOSE), so no separate JWT secret needs
    /// managing. [`VerifyingKey::hs256_from_key_base`] derives the same key.
    ///
    /// ```
    /// use sigra_core::{jwt::SigningKey, keys::SecretKeyBase};
    /// let base = SecretKeyBase::generate()?;
    /// let key = SigningKey::hs256_from_key_base(&base)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hs256_from_key_base(base: &SecretKeyBase) -> Result<Self, JwtError> {
        let derived = base.derive(HS256_KEY_PURPOSE).map_err(|_| {
            invalid(
                JwtAlgorithm::Hs256,
                "deriving the HS256 key from the secret key base failed",
            )
        })?;
        Self::hs256(derived.as_bytes())
    }

    /// An EdDSA key from an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
    /// as written by `openssl genpkey -algorithm ed25519`).
    ///
    /// ```
    /// // The RFC 8037 example key: public knowledge, for illustration only.
    /// let pem = b"-----BEGIN PRIVATE KEY-----
    /// MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
    /// -----END PRIVATE KEY-----";
    /// let key = sigra_core::jwt::SigningKey::ed25519_from_pem(pem)?;
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn ed25519_from_pem(pem: &[u8]) -> Result<Self, JwtError> {
        let key = EncodingKey::from_ed_pem(pem).map_err(|_| {
            invalid(
                JwtAlgorithm::EdDsa,
                "not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
            )
        })?;
        Self::ed25519(key)
    }

    /// An EdDSA key from a raw 32-byte Ed25519 private key (the RFC 8032 seed; the `d` member
    /// of an OKP JWK).
    ///
    /// ```
    /// let key = sigra_core::jwt::SigningKey::ed25519_from_seed(&[9u8; 32])?;
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Result<Self, JwtError> {
        let mut der = Zeroizing::new(Vec::with_capacity(ED25519_PKCS8_PREFIX.len() + seed.len()));
        der.extend_from_slice(&ED25519_PKCS8_PREFIX);
        der.extend_from_slice(seed);
        Self::ed25519(EncodingKey::from_ed_der(&der))
    }

    fn ed25519(key: EncodingKey) -> Result<Self, JwtError> {
        let public = (DEFAULT_PROVIDER
            .key_utils
            .ed_pub_components_from_private_key)(
            key.as_bytes(), &EllipticCurve::Ed25519
        )
        .map_err(|_| invalid(JwtAlgorithm::EdDsa, "not a valid Ed25519 private key"))?;
        let public = VerifyingKey::ed25519_raw(&public)?;
        probe_signer(JwtAlgorithm::EdDsa, &key)?;
        Ok(Self {
            alg: JwtAlgorithm::EdDsa,
            key,
            public: public.key,
            kid: None,
        })
    }

    /// An ES256 key from a P-256 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`; convert
    /// a SEC1 `EC PRIVATE KEY` with `openssl pkcs8 -topk8 -nocrypt`).
    ///
    /// ```
    /// // A test-only key: never use it for anything real.
    /// let pem = b"-----BEGIN PRIVATE KEY-----
    /// MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7C/hC+VU8JEiF0zf
    /// YOvaTlge0kmSXkhA2nJjgQxlVaehRANCAATM99LdELRC77XBjGttHFAnh3UXg804
    /// 4CSxCV6uxu2gMxKlkrOC4rVfPad0IuHXRKCUOXROFlDCfXSHIBPE2SGI
    /// -----END PRIVATE KEY-----";
    /// let key = sigra_core::jwt::SigningKey::es256_from_pem(pem)?;
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn es256_from_pem(pem: &[u8]) -> Result<Self, JwtError> {
        let key = EncodingKey::from_ec_pem(pem).map_err(|_| {
            invalid(
                JwtAlgorithm::Es256,
                "not an EC private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
            )
        })?;
        let (curve, x, y) = (DEFAULT_PROVIDER
            .key_utils
            .ec_pub_components_from_private_key)(
            key.as_bytes(), jsonwebtoken::Algorithm::ES256
        )
        .map_err(|_| invalid(JwtAlgorithm::Es256, "not a P-256 private key"))?;
        if curve != EllipticCurve::P256 || x.len() != 32 || y.len() != 32 {
            return Err(invalid(JwtAlgorithm::Es256, "not a P-256 private key"));
        }
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let public = DecodingKey::from_ec_der(&point);
        probe_signer(JwtAlgorithm::Es256, &key)?;
        probe_verifier(JwtAlgorithm::Es256, &public)?;
        Ok(Self {
            alg: JwtAlgorithm::Es256,
            key,
            public,
            kid: None,
        })
    }

    /// Sets the key id written into each token's header (1–128 printable ASCII characters).
    ///
    /// ```
    /// let key = sigra_core::jwt::SigningKey::hs256(&[1u8; 32])?.with_kid("k-2025")?;
    /// assert_eq!(key.kid(), Some("k-2025"));
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, JwtError> {
        let kid = kid.into();
        check_kid(&kid)?;
        self.kid = Some(kid);
        Ok(self)
    }

    /// The algorithm this key signs with.
    ///
    /// ```
    /// use sigra_core::jwt::{JwtAlgorithm, SigningKey};
    /// assert_eq!(SigningKey::ed25519_from_seed(&[1u8; 32])?.algorithm(), JwtAlgorithm::EdDsa);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.alg
    }

    /// The key id, if one was set.
    ///
    /// ```
    /// assert_eq!(sigra_core::jwt::SigningKey::hs256(&[1u8; 32])?.kid(), None);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The matching verifying key, with the same algorithm and `kid` (for HS256, the same
    /// secret; otherwise the public key).
    ///
    /// ```
    /// let signing = sigra_core::jwt::SigningKey::ed25519_from_seed(&[3u8; 32])?.with_kid("a")?;
    /// assert_eq!(signing.verifying_key().kid(), Some("a"));
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            alg: self.alg,
            key: self.public.clone(),
            kid: self.kid.clone(),
        }
    }

    /// Signs `input` (the JWS signing input) and returns the raw signature.
    pub(crate) fn sign_raw(&self, input: &[u8]) -> Result<Vec<u8>, JwtError> {
        let signer = (DEFAULT_PROVIDER.signer_factory)(&self.alg.to_jsonwebtoken(), &self.key)
            .map_err(|_| JwtError::SigningFailed)?;
        signer.try_sign(input).map_err(|_| JwtError::SigningFailed)
    }
}

fn probe_signer(alg: JwtAlgorithm, key: &EncodingKey) -> Result<(), JwtError> {
    (DEFAULT_PROVIDER.signer_factory)(&alg.to_jsonwebtoken(), key)
        .map(|_| ())
        .map_err(|_| invalid(alg, "the backend refused the private key"))
}

fn probe_verifier(alg: JwtAlgorithm, key: &DecodingKey) -> Result<(), JwtError> {
    (DEFAULT_PROVIDER.verifier_factory)(&alg.to_jsonwebtoken(), key)
        .map(|_| ())
        .map_err(|_| invalid(alg, "the backend refused the public key"))
}

/// A public key (or HS256 secret) bound to one algorithm, with an optional key id; a
/// [`JwtVerifier`](super::JwtVerifier) holds one or more.
///
/// `Debug` never shows the key (an HS256 verifying key is the shared secret).
///
/// ```
/// use sigra_core::jwt::{JwtAlgorithm, VerifyingKey};
/// let pem = b"-----BEGIN PUBLIC KEY-----
/// MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
/// -----END PUBLIC KEY-----";
/// let key = VerifyingKey::ed25519_from_pem(pem)?.with_kid("rfc8037")?;
/// assert_eq!(key.algorithm(), JwtAlgorithm::EdDsa);
/// # Ok::<(), sigra_core::jwt::JwtError>(())
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    alg: JwtAlgorithm,
    key: DecodingKey,
    kid: Option<String>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        redacted_debug(f, "VerifyingKey", self.alg, self.kid.as_deref())
    }
}

impl VerifyingKey {
    /// An HS256 key from the shared secret (at least 32 bytes; PEM or SSH keys are refused).
    ///
    /// ```
    /// assert!(sigra_core::jwt::VerifyingKey::hs256(&[1u8; 32]).is_ok());
    /// ```
    pub fn hs256(secret: &[u8]) -> Result<Self, JwtError> {
        check_hs256_secret(secret)?;
        Ok(Self {
            alg: JwtAlgorithm::Hs256,
            key: DecodingKey::from_secret(secret),
            kid: None,
        })
    }

    /// The HS256 key derived from the [`SecretKeyBase`], as [`SigningKey::hs256_from_key_base`]
    /// derives it.
    ///
    /// ```
    /// use sigra_core::{jwt::VerifyingKey, keys::SecretKeyBase};
    /// let key = VerifyingKey::hs256_from_key_base(&SecretKeyBase::generate()?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hs256_from_key_base(base: &SecretKeyBase) -> Result<Self, JwtError> {
        let derived = base.derive(HS256_KEY_PURPOSE).map_err(|_| {
            invalid(
                JwtAlgorithm::Hs256,
                "deriving the HS256 key from the secret key base failed",
            )
        })?;
        Self::hs256(derived.as_bytes())
    }

    /// An EdDSA key from an Ed25519 public key in SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    ///
    /// ```
    /// let pem = b"-----BEGIN PUBLIC KEY-----
    /// MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
    /// -----END PUBLIC KEY-----";
    /// assert!(sigra_core::jwt::VerifyingKey::ed25519_from_pem(pem).is_ok());
    /// ```
    pub fn ed25519_from_pem(pem: &[u8]) -> Result<Self, JwtError> {
        refuses_certificate(JwtAlgorithm::EdDsa, pem)?;
        let key = DecodingKey::from_ed_pem(pem).map_err(|_| {
            invalid(
                JwtAlgorithm::EdDsa,
                "not an Ed25519 public key in SPKI PEM (-----BEGIN PUBLIC KEY-----)",
            )
        })?;
        let raw = key
            .try_get_as_bytes()
            .map_err(|_| invalid(JwtAlgorithm::EdDsa, "not an Ed25519 public key"))?;
        Self::ed25519_raw(raw)
    }

    /// An EdDSA key from the raw 32-byte Ed25519 public key (the `x` member of an OKP JWK).
    ///
    /// ```
    /// use base64::Engine as _;
    /// let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
    ///     .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")?;
    /// let x: [u8; 32] = x.try_into().unwrap();
    /// assert!(sigra_core::jwt::VerifyingKey::ed25519_from_bytes(&x).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ed25519_from_bytes(public: &[u8; 32]) -> Result<Self, JwtError> {
        Self::ed25519_raw(public)
    }

    fn ed25519_raw(public: &[u8]) -> Result<Self, JwtError> {
        // The backend slices the first 32 bytes: anything else must never reach it.
        if public.len() != 32 {
            return Err(invalid(
                JwtAlgorithm::EdDsa,
                "an Ed25519 public key is exactly 32 bytes",
            ));
        }
        let key = DecodingKey::from_ed_der(public);
        probe_verifier(JwtAlgorithm::EdDsa, &key)?;
        Ok(Self {
            alg: JwtAlgorithm::EdDsa,
            key,
            kid: None,
        })
    }

    /// An ES256 key from a P-256 public key in SPKI PEM (`-----BEGIN PUBLIC KEY-----`). Keys on
    /// other curves are refused.
    ///
    /// ```
    /// let pem = b"-----BEGIN PUBLIC KEY-----
    /// MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzPfS3RC0Qu+1wYxrbRxQJ4d1F4PN
    /// OOAksQlersbtoDMSpZKzguK1Xz2ndCLh10SglDl0ThZQwn10hyATxNkhiA==
    /// -----END PUBLIC KEY-----";
    /// assert!(sigra_core::jwt::VerifyingKey::es256_from_pem(pem).is_ok());
    /// ```
    pub fn es256_from_pem(pem: &[u8]) -> Result<Self, JwtError> {
        refuses_certificate(JwtAlgorithm::Es256, pem)?;
        let key = DecodingKey::from_ec_pem(pem).map_err(|_| {
            invalid(
                JwtAlgorithm::Es256,
                "not an EC public key in SPKI PEM (-----BEGIN PUBLIC KEY-----)",
            )
        })?;
        probe_verifier(JwtAlgorithm::Es256, &key)
            .map_err(|_| invalid(JwtAlgorithm::Es256, "not a P-256 public key"))?;
        Ok(Self {
            alg: JwtAlgorithm::Es256,
            key,
            kid: None,
        })
    }

    /// An RS256 key from an RSA public key in SPKI (`-----BEGIN PUBLIC KEY-----`) or PKCS#1
    /// (`-----BEGIN RSA PUBLIC KEY-----`) PEM, of at least 2048 bits.
    ///
    /// RS256 is verify-only in sigra-core. RUSTSEC-2023-0071 (timing leaks in the `rsa`
    /// crate) concerns private-key operations — decryption and signing — not verification,
    /// which is all this key does.
    ///
    /// ```
    /// // A test-only key: never use it for anything real.
    /// let pem = b"-----BEGIN PUBLIC KEY-----
    /// MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7S49BL3nsVAN4OFxJ1VU
    /// 4+jWhHA/Ry7mBgYvCFUuFOEEz0V+TrmQeTeAgcfn51k1osM4pYagkDQ/mh85ICxI
    /// jH0lNWhGil+Kyl/d0OAujF5BskcgQrv6/ry/7THKamheYR9EGwy1N3zV+zMwFB4b
    /// +ErW5sIwzBJTLSRlXQymL8viFFK+HSiP3jAnrjt7P8YBPP5TryhUz6tO8Pv14+Y0
    /// /S5U4QJ5jCITAs5vj3OuEc5wQnu4cWsxc4FpaVJzNWtVDUgxUF2dbbB1HA/qPVVt
    /// dsNJ4RQtjOZ4dWIlui+WNGlijLHbeDfXNqy6G50pt03/USCVBDDuhA6OVAHH3b9i
    /// pwIDAQAB
    /// -----END PUBLIC KEY-----";
    /// assert!(sigra_core::jwt::VerifyingKey::rs256_from_pem(pem).is_ok());
    /// ```
    pub fn rs256_from_pem(pem: &[u8]) -> Result<Self, JwtError> {
        refuses_certificate(JwtAlgorithm::Rs256, pem)?;
        let key = DecodingKey::from_rsa_pem(pem).map_err(|_| {
            invalid(
                JwtAlgorithm::Rs256,
                "not an RSA public key in PEM (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----)",
            )
        })?;
        let der = key
            .try_get_as_bytes()
            .map_err(|_| invalid(JwtAlgorithm::Rs256, "not an RSA public key"))?;
        let (n, _e) = (DEFAULT_PROVIDER
            .key_utils
            .rsa_pub_components_from_public_key)(der)
        .map_err(|_| {
            invalid(
                JwtAlgorithm::Rs256,
                "not an RSA public key (a private key or a malformed one?); pass the public key",
            )
        })?;
        if modulus_bits(&n) < MIN_RSA_BITS {
            return Err(invalid(
                JwtAlgorithm::Rs256,
                "the RSA key is shorter than 2048 bits",
            ));
        }
        probe_verifier(JwtAlgorithm::Rs256, &key)?;
        Ok(Self {
            alg: JwtAlgorithm::Rs256,
            key,
            kid: None,
        })
    }

    /// Sets the key id this key answers to (1–128 printable ASCII characters).
    ///
    /// ```
    /// let key = sigra_core::jwt::VerifyingKey::hs256(&[1u8; 32])?.with_kid("k1")?;
    /// assert_eq!(key.kid(), Some("k1"));
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, JwtError> {
        let kid = kid.into();
        check_kid(&kid)?;
        self.kid = Some(kid);
        Ok(self)
    }

    /// The algorithm this key verifies.
    ///
    /// ```
    /// use sigra_core::jwt::{JwtAlgorithm, VerifyingKey};
    /// assert_eq!(VerifyingKey::hs256(&[1u8; 32])?.algorithm(), JwtAlgorithm::Hs256);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.alg
    }

    /// The key id, if one was set.
    ///
    /// ```
    /// assert_eq!(sigra_core::jwt::VerifyingKey::hs256(&[1u8; 32])?.kid(), None);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether `signature` is this key's valid signature over `input`.
    pub(crate) fn verifies(&self, input: &[u8], signature: &Vec<u8>) -> bool {
        match (DEFAULT_PROVIDER.verifier_factory)(&self.alg.to_jsonwebtoken(), &self.key) {
            Ok(verifier) => verifier.verify(input, signature).is_ok(),
            Err(_) => false,
        }
    }
}

/// The bit length of a big-endian unsigned integer.
fn modulus_bits(n: &[u8]) -> usize {
    let Some(pos) = n.iter().position(|&b| b != 0) else {
        return 0;
    };
    let significant = n.len() - pos;
    let top = n.get(pos).copied().unwrap_or(0);
    (significant - 1) * 8 + (8 - top.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_counts_significant_bits() {
        assert_eq!(modulus_bits(&[]), 0);
        assert_eq!(modulus_bits(&[0, 0]), 0);
        assert_eq!(modulus_bits(&[1]), 1);
        assert_eq!(modulus_bits(&[0, 0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
    }

    #[test]
    fn hs256_secret_rules() {
        assert!(SigningKey::hs256(&[0u8; 31]).is_err());
        assert!(SigningKey::hs256(&[0u8; 32]).is_ok());
        let pem = b"  -----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(SigningKey::hs256(pem).is_err());
        assert!(VerifyingKey::hs256(pem).is_err());
        assert!(VerifyingKey::hs256(b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA").is_err());
    }

    #[test]
    fn kid_rules() {
        let key = SigningKey::hs256(&[0u8; 32]).unwrap();
        assert!(key.clone().with_kid("").is_err());
        assert!(key.clone().with_kid("a".repeat(129)).is_err());
        assert!(key.clone().with_kid("tab\there").is_err());
        assert!(key.clone().with_kid("é").is_err());
        assert!(key.with_kid("a".repeat(128)).is_ok());
    }

    #[test]
    fn ed25519_raw_keys_must_be_32_bytes() {
        assert!(VerifyingKey::ed25519_raw(&[]).is_err());
        assert!(VerifyingKey::ed25519_raw(&[1u8; 31]).is_err());
        assert!(VerifyingKey::ed25519_raw(&[1u8; 33]).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let secret = [0x41u8; 32];
        let signing = SigningKey::hs256(&secret).unwrap();
        let shown = format!("{signing:?} {:?}", signing.verifying_key());
        assert!(shown.contains("[REDACTED]"));
        assert!(!shown.contains("65"));
        assert!(!shown.contains("AAAA"));
        assert!(!shown.contains("content"));
    }
}
