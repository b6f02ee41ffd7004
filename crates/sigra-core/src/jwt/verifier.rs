//! Verifying tokens.

use std::time::Duration;

use super::claims::{Expected, validate};
use super::signer::check_name;
use super::{
    Claims, DEFAULT_CLOCK_SKEW, JwtAlgorithm, JwtError, MAX_CLOCK_SKEW, VerifyingKey, compact,
};

/// The most keys one verifier holds (each token is tried against at most these).
const MAX_KEYS: usize = 32;

/// Verifies tokens from one issuer, for one audience, of one type, against the keys it holds.
///
/// Key selection: a token whose `kid` matches a key is checked with that key only, and its
/// `alg` must be that key's algorithm ([`JwtError::AlgorithmMismatch`] otherwise). A token
/// with an unknown `kid`, or none, is tried against the keys without a `kid` (for an unknown
/// `kid`) or all keys (for no `kid`) whose algorithm equals its `alg`. A token whose `alg` no
/// held key uses is refused with [`JwtError::DisallowedAlgorithm`].
///
/// ```
/// use std::time::Duration;
/// use sigra_core::jwt::{JwtVerifier, VerifyingKey};
///
/// let verifier = JwtVerifier::new("https://a.example", "api", "access")?
///     .with_key(VerifyingKey::hs256(&[1u8; 32])?.with_kid("old")?)?
///     .with_key(VerifyingKey::hs256(&[2u8; 32])?.with_kid("new")?)?
///     .with_clock_skew(Duration::from_secs(10))?;
/// # Ok::<(), sigra_core::jwt::JwtError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwtVerifier {
    issuer: String,
    audience: String,
    typ: String,
    skew: Duration,
    keys: Vec<VerifyingKey>,
}

impl JwtVerifier {
    /// A verifier (holding no key yet) for tokens whose `iss` is `issuer`, whose `aud` is or
    /// contains `audience`, and whose `typ` claim is exactly `expected_type` (for example
    /// [`ACCESS_TYPE`](super::ACCESS_TYPE)). Each must be 1–512 bytes.
    ///
    /// ```
    /// use sigra_core::jwt::{JwtVerifier, ACCESS_TYPE};
    /// let verifier = JwtVerifier::new("https://a.example", "api", ACCESS_TYPE)?;
    /// assert!(JwtVerifier::new("https://a.example", "api", "").is_err());
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        expected_type: impl Into<String>,
    ) -> Result<Self, JwtError> {
        let issuer = issuer.into();
        let audience = audience.into();
        let typ = expected_type.into();
        check_name(&issuer, "the issuer must be 1 to 512 bytes long")?;
        check_name(&audience, "the audience must be 1 to 512 bytes long")?;
        check_name(&typ, "the expected token type must be 1 to 512 bytes long")?;
        Ok(Self {
            issuer,
            audience,
            typ,
            skew: DEFAULT_CLOCK_SKEW,
            keys: Vec::new(),
        })
    }

    /// Adds a key (at most 32). Key ids must be unique within a verifier.
    ///
    /// ```
    /// use sigra_core::jwt::{JwtVerifier, VerifyingKey};
    /// let key = VerifyingKey::hs256(&[1u8; 32])?.with_kid("k")?;
    /// let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.clone())?;
    /// assert!(verifier.with_key(key).is_err()); // duplicate kid
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn with_key(mut self, key: VerifyingKey) -> Result<Self, JwtError> {
        if self.keys.len() >= MAX_KEYS {
            return Err(JwtError::InvalidSetting {
                reason: "a verifier holds at most 32 keys",
            });
        }
        if let Some(kid) = key.kid()
            && self.keys.iter().any(|k| k.kid() == Some(kid))
        {
            return Err(JwtError::DuplicateKeyId {
                kid: kid.to_string(),
            });
        }
        self.keys.push(key);
        Ok(self)
    }

    /// Sets the clock skew tolerated on `exp`, `nbf` and `iat`: at most [`MAX_CLOCK_SKEW`]
    /// (5 minutes); the default is [`DEFAULT_CLOCK_SKEW`] (30 seconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigra_core::jwt::JwtVerifier;
    /// let verifier = JwtVerifier::new("i", "a", "access")?;
    /// assert!(verifier.clone().with_clock_skew(Duration::ZERO).is_ok());
    /// assert!(verifier.with_clock_skew(Duration::from_secs(600)).is_err());
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn with_clock_skew(mut self, skew: Duration) -> Result<Self, JwtError> {
        if skew > MAX_CLOCK_SKEW {
            return Err(JwtError::InvalidSetting {
                reason: "the clock skew must be at most 5 minutes",
            });
        }
        self.skew = skew;
        Ok(self)
    }

    /// The algorithms of the keys it holds (each once, in the order first added).
    ///
    /// ```
    /// use sigra_core::jwt::{JwtAlgorithm, JwtVerifier, VerifyingKey};
    /// let verifier = JwtVerifier::new("i", "a", "access")?.with_key(VerifyingKey::hs256(&[1u8; 32])?)?;
    /// assert_eq!(verifier.algorithms(), [JwtAlgorithm::Hs256]);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn algorithms(&self) -> Vec<JwtAlgorithm> {
        let mut algs = Vec::new();
        for key in &self.keys {
            if !algs.contains(&key.algorithm()) {
                algs.push(key.algorithm());
            }
        }
        algs
    }

    /// Verifies `token` now: its shape, algorithm, key, signature, then its claims (see the
    /// [module docs](super) for the order). The result still needs
    /// [`VerifiedJwt::check_epoch`].
    ///
    /// ```
    /// use sigra_core::jwt::{JwtError, JwtSigner, JwtVerifier, SigningKey, TokenSpec};
    /// let key = SigningKey::hs256(&[1u8; 32])?;
    /// let signer = JwtSigner::new(key.clone(), "i", "a")?;
    /// let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.verifying_key())?;
    ///
    /// let refresh = signer.sign(&TokenSpec::access("u", 0).with_type("refresh"))?;
    /// assert!(matches!(verifier.verify(refresh.as_str()), Err(JwtError::WrongType { .. })));
    /// # Ok::<(), JwtError>(())
    /// ```
    pub fn verify(&self, token: &str) -> Result<VerifiedJwt, JwtError> {
        self.verify_at(token, super::now())
    }

    /// Verifies `token` as if the clock read `now_unix` (seconds).
    ///
    /// **Danger**: with a clock of your choosing, expired tokens verify. This exists for tests
    /// that replay recorded tokens (such as RFC examples) and for nothing else; production
    /// code calls [`verify`](Self::verify).
    ///
    /// ```
    /// use sigra_core::jwt::{JwtError, JwtSigner, JwtVerifier, SigningKey, TokenSpec};
    /// let key = SigningKey::hs256(&[1u8; 32])?;
    /// let signer = JwtSigner::new(key.clone(), "i", "a")?;
    /// let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.verifying_key())?;
    /// let issued = signer.sign(&TokenSpec::access("u", 0))?;
    /// let an_hour_later = issued.issued_at() + 3600;
    /// assert!(matches!(
    ///     verifier.danger_verify_at(issued.as_str(), an_hour_later),
    ///     Err(JwtError::Expired { .. })
    /// ));
    /// # Ok::<(), JwtError>(())
    /// ```
    pub fn danger_verify_at(&self, token: &str, now_unix: u64) -> Result<VerifiedJwt, JwtError> {
        self.verify_at(token, now_unix)
    }

    fn verify_at(&self, token: &str, now: u64) -> Result<VerifiedJwt, JwtError> {
        if self.keys.is_empty() {
            return Err(JwtError::InvalidSetting {
                reason: "the verifier holds no key; add one with `JwtVerifier::with_key`",
            });
        }
        let segments = compact::split(token)?;
        let header = compact::parse_header(segments.header)?;
        let alg = JwtAlgorithm::from_header(&header.alg)?;
        if segments.signature.is_empty() {
            return Err(JwtError::Malformed {
                reason: "the signature segment is empty",
            });
        }
        let signature = compact::decode_segment(
            segments.signature,
            "the signature is not base64url (unpadded, RFC 7515)",
        )?;
        self.check_signature(
            alg,
            header.kid.as_deref(),
            segments.signing_input.as_bytes(),
            &signature,
        )?;
        let payload = compact::decode_object(
            segments.payload,
            "the payload is not base64url (unpadded, RFC 7515)",
            "the payload is not a JSON object with unique member names",
        )?;
        let claims = validate(
            payload,
            &Expected {
                issuer: &self.issuer,
                audience: &self.audience,
                typ: &self.typ,
                skew: self.skew.as_secs(),
                now,
            },
        )?;
        Ok(VerifiedJwt { claims })
    }

    /// Finds the candidate keys for (`alg`, `kid`) and checks the signature with them.
    pub(crate) fn check_signature(
        &self,
        alg: JwtAlgorithm,
        kid: Option<&str>,
        input: &[u8],
        signature: &Vec<u8>,
    ) -> Result<(), JwtError> {
        let by_kid = kid.and_then(|kid| self.keys.iter().find(|k| k.kid() == Some(kid)));
        let candidates: Vec<&VerifyingKey> = match (kid, by_kid) {
            (_, Some(key)) => {
                if key.algorithm() != alg {
                    return Err(JwtError::AlgorithmMismatch {
                        header: alg,
                        key: key.algorithm(),
                    });
                }
                vec![key]
            }
            (Some(kid), None) => {
                if !self.keys.iter().any(|k| k.algorithm() == alg) {
                    return Err(JwtError::DisallowedAlgorithm { alg });
                }
                let unnamed: Vec<&VerifyingKey> = self
                    .keys
                    .iter()
                    .filter(|k| k.kid().is_none() && k.algorithm() == alg)
                    .collect();
                if unnamed.is_empty() {
                    return Err(JwtError::UnknownKeyId {
                        kid: super::shown(kid),
                    });
                }
                unnamed
            }
            (None, None) => {
                let same_alg: Vec<&VerifyingKey> =
                    self.keys.iter().filter(|k| k.algorithm() == alg).collect();
                if same_alg.is_empty() {
                    return Err(JwtError::DisallowedAlgorithm { alg });
                }
                same_alg
            }
        };
        if candidates
            .into_iter()
            .any(|key| key.verifies(input, signature))
        {
            Ok(())
        } else {
            Err(JwtError::BadSignature)
        }
    }
}

/// A token whose signature and claims checked out, still waiting for the epoch check.
///
/// Only the subject, `jti` and epoch are readable before [`check_epoch`](Self::check_epoch):
/// enough to load the user and their current token epoch.
///
/// ```
/// use sigra_core::jwt::{JwtError, JwtSigner, JwtVerifier, SigningKey, TokenSpec};
/// let key = SigningKey::hs256(&[1u8; 32])?;
/// let signer = JwtSigner::new(key.clone(), "i", "a")?;
/// let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.verifying_key())?;
/// let token = signer.sign(&TokenSpec::access("user-9", 1))?;
///
/// // The user bumped their epoch ("sign out everywhere") after this token was issued:
/// let verified = verifier.verify(token.as_str())?;
/// assert!(matches!(verified.check_epoch(2), Err(JwtError::EpochMismatch { token: 1, current: 2 })));
/// # Ok::<(), JwtError>(())
/// ```
#[derive(Debug)]
#[must_use = "a verified JWT must still pass `check_epoch` before its claims are trusted"]
pub struct VerifiedJwt {
    claims: Claims,
}

impl VerifiedJwt {
    /// The token's `sub`: the user to load.
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, JwtVerifier, SigningKey, TokenSpec};
    /// # let key = SigningKey::hs256(&[1u8; 32])?;
    /// # let signer = JwtSigner::new(key.clone(), "i", "a")?;
    /// # let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.verifying_key())?;
    /// let token = signer.sign(&TokenSpec::access("user-9", 1))?;
    /// assert_eq!(verifier.verify(token.as_str())?.subject(), "user-9");
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    /// The token's `jti`, for a deny-list lookup if you keep one.
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, JwtVerifier, SigningKey, TokenSpec};
    /// # let key = SigningKey::hs256(&[1u8; 32])?;
    /// # let signer = JwtSigner::new(key.clone(), "i", "a")?;
    /// # let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.verifying_key())?;
    /// let token = signer.sign(&TokenSpec::access("user-9", 1))?;
    /// assert_eq!(verifier.verify(token.as_str())?.jti(), token.jti());
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn jti(&self) -> &str {
        &self.claims.jti
    }

    /// The token's `epoch`.
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, JwtVerifier, SigningKey, TokenSpec};
    /// # let key = SigningKey::hs256(&[1u8; 32])?;
    /// # let signer = JwtSigner::new(key.clone(), "i", "a")?;
    /// # let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.verifying_key())?;
    /// let token = signer.sign(&TokenSpec::access("user-9", 5))?;
    /// assert_eq!(verifier.verify(token.as_str())?.token_epoch(), 5);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn token_epoch(&self) -> u64 {
        self.claims.epoch
    }

    /// Compares the token's `epoch` with the user's current token epoch and hands out the
    /// claims only if they are equal. Bumping the user's epoch therefore revokes every JWT
    /// issued before, with [`JwtError::EpochMismatch`].
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, JwtVerifier, SigningKey, TokenSpec};
    /// # let key = SigningKey::hs256(&[1u8; 32])?;
    /// # let signer = JwtSigner::new(key.clone(), "i", "a")?;
    /// # let verifier = JwtVerifier::new("i", "a", "access")?.with_key(key.verifying_key())?;
    /// let token = signer.sign(&TokenSpec::access("user-9", 5))?;
    /// let claims = verifier.verify(token.as_str())?.check_epoch(5)?;
    /// assert_eq!(claims.sub, "user-9");
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn check_epoch(self, current_epoch: u64) -> Result<Claims, JwtError> {
        if self.claims.epoch != current_epoch {
            return Err(JwtError::EpochMismatch {
                token: self.claims.epoch,
                current: current_epoch,
            });
        }
        Ok(self.claims)
    }
}
