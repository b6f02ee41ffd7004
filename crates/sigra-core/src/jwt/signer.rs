//! Minting tokens.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::compact::encode_segment;
use super::{
    DEFAULT_ACCESS_TTL, JwtAlgorithm, JwtError, MAX_TOKEN_LEN, MAX_TTL, SigningKey, TokenSpec,
};

/// The longest issuer or audience accepted.
const MAX_NAME_LEN: usize = 512;

pub(crate) fn check_name(value: &str, reason: &'static str) -> Result<(), JwtError> {
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(JwtError::InvalidSetting { reason });
    }
    Ok(())
}

fn check_ttl(ttl: Duration) -> Result<Duration, JwtError> {
    if ttl.as_secs() < 1 || ttl > MAX_TTL {
        return Err(JwtError::InvalidSetting {
            reason: "a token lifetime must be between 1 second and 24 hours",
        });
    }
    Ok(ttl)
}

/// Signs tokens with one key for one issuer and audience.
///
/// Each token gets `iss`, `aud`, `iat` (now), `exp` (now + TTL, default
/// [`DEFAULT_ACCESS_TTL`]), a fresh random `jti`, and the subject, epoch, type, scopes and
/// custom claims of its [`TokenSpec`]. The header carries `alg`, `typ: "JWT"` and the key's
/// `kid` if it has one.
///
/// ```
/// use std::time::Duration;
/// use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
///
/// let signer = JwtSigner::new(SigningKey::ed25519_from_seed(&[1u8; 32])?, "https://a.example", "api")?
///     .with_ttl(Duration::from_secs(300))?;
/// let issued = signer.sign(&TokenSpec::access("user-1", 0))?;
/// assert_eq!(issued.expires_at() - issued.issued_at(), 300);
/// assert_eq!(issued.as_str().split('.').count(), 3);
/// # Ok::<(), sigra_core::jwt::JwtError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwtSigner {
    key: SigningKey,
    issuer: String,
    audience: String,
    ttl: Duration,
}

#[derive(Serialize)]
struct WireHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct WireClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    exp: u64,
    jti: &'a str,
    typ: &'a str,
    epoch: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<&'a [String]>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl JwtSigner {
    /// A signer for tokens from `issuer` (`iss`, typically your app's URL) to `audience`
    /// (`aud`), each 1–512 bytes.
    ///
    /// ```
    /// use sigra_core::jwt::{JwtSigner, SigningKey};
    /// let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "https://a.example", "api")?;
    /// assert!(JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "", "api").is_err());
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn new(
        key: SigningKey,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, JwtError> {
        let issuer = issuer.into();
        let audience = audience.into();
        check_name(&issuer, "the issuer must be 1 to 512 bytes long")?;
        check_name(&audience, "the audience must be 1 to 512 bytes long")?;
        Ok(Self {
            key,
            issuer,
            audience,
            ttl: DEFAULT_ACCESS_TTL,
        })
    }

    /// Sets the lifetime of the tokens it signs: 1 second to [`MAX_TTL`] (24 hours); the
    /// default is [`DEFAULT_ACCESS_TTL`] (15 minutes).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigra_core::jwt::{JwtSigner, SigningKey};
    /// let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// assert!(signer.clone().with_ttl(Duration::from_secs(600)).is_ok());
    /// assert!(signer.with_ttl(Duration::from_secs(3 * 86_400)).is_err());
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Self, JwtError> {
        self.ttl = check_ttl(ttl)?;
        Ok(self)
    }

    /// The lifetime of the tokens it signs.
    ///
    /// ```
    /// use sigra_core::jwt::{JwtSigner, SigningKey, DEFAULT_ACCESS_TTL};
    /// let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// assert_eq!(signer.ttl(), DEFAULT_ACCESS_TTL);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The algorithm of its key.
    ///
    /// ```
    /// use sigra_core::jwt::{JwtAlgorithm, JwtSigner, SigningKey};
    /// let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// assert_eq!(signer.algorithm(), JwtAlgorithm::Hs256);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.key.algorithm()
    }

    /// Signs a token for `spec`, issued now.
    ///
    /// Fails with [`JwtError::InvalidSetting`] or [`JwtError::ReservedClaim`] when the spec is
    /// out of range, and when the token would exceed [`MAX_TOKEN_LEN`] (which no verifier
    /// would accept).
    ///
    /// ```
    /// use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
    /// let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// let issued = signer.sign(&TokenSpec::access("user-1", 0))?;
    /// assert_eq!(issued.jti().len(), 22);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn sign(&self, spec: &TokenSpec) -> Result<IssuedJwt, JwtError> {
        self.sign_at(spec, super::now())
    }

    /// Signs a token for `spec` as if issued at `now` (Unix seconds).
    pub(crate) fn sign_at(&self, spec: &TokenSpec, now: u64) -> Result<IssuedJwt, JwtError> {
        spec.check()?;
        let ttl = match spec.ttl {
            Some(ttl) => check_ttl(ttl)?,
            None => self.ttl,
        };
        let exp = now.saturating_add(ttl.as_secs());
        let jti = encode_segment(&crate::random::bytes::<16>()?);

        let header = WireHeader {
            alg: self.key.algorithm().as_str(),
            typ: "JWT",
            kid: self.key.kid(),
        };
        let claims = WireClaims {
            iss: &self.issuer,
            sub: &spec.subject,
            aud: &self.audience,
            iat: now,
            nbf: spec.not_before,
            exp,
            jti: &jti,
            typ: &spec.typ,
            epoch: spec.epoch,
            scopes: spec.scopes.as_deref(),
            extra: &spec.extra,
        };
        let header = serde_json::to_vec(&header).map_err(|_| JwtError::SigningFailed)?;
        let claims = serde_json::to_vec(&claims).map_err(|_| JwtError::SigningFailed)?;

        let mut token = encode_segment(&header);
        token.push('.');
        token.push_str(&encode_segment(&claims));
        let signature = self.key.sign_raw(token.as_bytes())?;
        token.push('.');
        token.push_str(&encode_segment(&signature));
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::InvalidSetting {
                reason: "the token would exceed 8 KiB; carry fewer scopes or custom claims",
            });
        }
        Ok(IssuedJwt {
            token,
            jti,
            issued_at: now,
            expires_at: exp,
        })
    }
}

/// A freshly signed token with its `jti` and times.
///
/// The token is a bearer credential: `Debug` does not show it and it is zeroed on drop.
///
/// ```
/// use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
/// let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
/// let issued = signer.sign(&TokenSpec::access("user-1", 0))?;
/// assert!(format!("{issued:?}").contains("[REDACTED]"));
/// let header_value = format!("Bearer {}", issued.as_str());
/// # Ok::<(), sigra_core::jwt::JwtError>(())
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct IssuedJwt {
    token: String,
    jti: String,
    issued_at: u64,
    expires_at: u64,
}

impl std::fmt::Debug for IssuedJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedJwt")
            .field("token", &"[REDACTED]")
            .field("jti", &self.jti)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl IssuedJwt {
    /// The compact token, to send as `Authorization: Bearer <token>`.
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
    /// # let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// let issued = signer.sign(&TokenSpec::access("user-1", 0))?;
    /// assert!(issued.as_str().starts_with("eyJ"));
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// Takes the compact token out (the caller now owns the only copy).
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
    /// # let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// let token: String = signer.sign(&TokenSpec::access("user-1", 0))?.into_string();
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn into_string(mut self) -> String {
        std::mem::take(&mut self.token)
    }

    /// The token's `jti` (22 base64url characters, 128 random bits).
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
    /// # let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// let issued = signer.sign(&TokenSpec::access("user-1", 0))?;
    /// assert_eq!(issued.jti().len(), 22);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The token's `iat` (Unix seconds).
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
    /// # let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// let issued = signer.sign(&TokenSpec::access("user-1", 0))?;
    /// assert!(issued.issued_at() > 1_700_000_000);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// The token's `exp` (Unix seconds).
    ///
    /// ```
    /// # use sigra_core::jwt::{JwtSigner, SigningKey, TokenSpec};
    /// # let signer = JwtSigner::new(SigningKey::hs256(&[1u8; 32])?, "i", "a")?;
    /// let issued = signer.sign(&TokenSpec::access("user-1", 0))?;
    /// assert_eq!(issued.expires_at(), issued.issued_at() + 900);
    /// # Ok::<(), sigra_core::jwt::JwtError>(())
    /// ```
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}
