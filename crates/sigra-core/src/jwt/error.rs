//! The JWT module's error.

use super::JwtAlgorithm;

/// Everything that can go wrong while configuring, signing or verifying a JWT.
///
/// Each refusal has its own variant so callers (and logs) can tell an expired token from a
/// forged one. No variant carries key material; strings taken from a token are shortened and
/// escaped before they are shown.
///
/// ```
/// use sigra_core::jwt::{JwtError, JwtVerifier, VerifyingKey};
///
/// let verifier = JwtVerifier::new("https://issuer.example", "api", "access")?
///     .with_key(VerifyingKey::hs256(&[7u8; 32])?)?;
/// let err = verifier.verify("not a jwt").unwrap_err();
/// assert!(matches!(err, JwtError::Malformed { .. }));
/// # Ok::<(), JwtError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is not three base64url segments with a JSON header and JSON claims.
    #[error("the token is not a well-formed JWT: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// The token is longer than [`MAX_TOKEN_LEN`](super::MAX_TOKEN_LEN) bytes.
    #[error("the token is {len} bytes long; tokens longer than {max} bytes are refused")]
    TooLong {
        /// The token's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The header says `alg: none`: an unsigned token.
    #[error("the token is unsigned (`alg: none`); unsigned tokens are always refused")]
    AlgNone,
    /// The header names an algorithm outside sigra's allow-list (HS256, EdDSA, ES256, RS256).
    #[error(
        "the token's algorithm `{alg}` is not supported; sigra accepts only HS256, EdDSA, ES256 and RS256"
    )]
    UnsupportedAlgorithm {
        /// The algorithm named by the token (shortened, escaped).
        alg: String,
    },
    /// The header names an allowed algorithm for which this verifier holds no key. This is
    /// also how algorithm confusion ends: an HS256 token presented to a verifier that holds
    /// only public keys.
    #[error(
        "the token is signed with {alg}, but this verifier holds no {alg} key; add one with `JwtVerifier::with_key` if the issuer really uses {alg}"
    )]
    DisallowedAlgorithm {
        /// The token's algorithm.
        alg: JwtAlgorithm,
    },
    /// The header's `kid` selects a key of another algorithm than its `alg` names. The key
    /// decides the algorithm, so the token is refused (algorithm confusion).
    #[error(
        "the token's header says {header}, but its key id selects a {key} key; the key decides the algorithm, so the token is refused"
    )]
    AlgorithmMismatch {
        /// The algorithm named by the header.
        header: JwtAlgorithm,
        /// The algorithm of the key the `kid` selects.
        key: JwtAlgorithm,
    },
    /// The header's `kid` names no key this verifier holds.
    #[error(
        "the token names key id `{kid}`, which this verifier does not hold (was the key rotated out?)"
    )]
    UnknownKeyId {
        /// The key id from the token (shortened, escaped).
        kid: String,
    },
    /// The header has a `crit` member; no JWS extension is supported.
    #[error("the token's header lists critical extensions (`crit`), which sigra does not support")]
    UnsupportedCritical,
    /// The signature does not verify with any candidate key.
    #[error("the token's signature does not verify: it was altered or signed with another key")]
    BadSignature,
    /// `exp` has passed (beyond the allowed clock skew).
    #[error("the token expired at {exp} (now {now}, clock skew allowed {skew} s); get a new one")]
    Expired {
        /// The token's `exp` (Unix seconds).
        exp: u64,
        /// The verifier's clock (Unix seconds).
        now: u64,
        /// The tolerated skew, in seconds.
        skew: u64,
    },
    /// `nbf` is still in the future (beyond the allowed clock skew).
    #[error("the token is not valid before {nbf} (now {now}, clock skew allowed {skew} s)")]
    NotYetValid {
        /// The token's `nbf` (Unix seconds).
        nbf: u64,
        /// The verifier's clock (Unix seconds).
        now: u64,
        /// The tolerated skew, in seconds.
        skew: u64,
    },
    /// `iat` is in the future (beyond the allowed clock skew).
    #[error(
        "the token claims to be issued at {iat}, in the future (now {now}, clock skew allowed {skew} s); check the issuer's clock"
    )]
    IssuedInFuture {
        /// The token's `iat` (Unix seconds).
        iat: u64,
        /// The verifier's clock (Unix seconds).
        now: u64,
        /// The tolerated skew, in seconds.
        skew: u64,
    },
    /// `iss` is not the expected issuer.
    #[error("the token was issued by `{found}`, but this verifier expects issuer `{expected}`")]
    WrongIssuer {
        /// The issuer this verifier expects.
        expected: String,
        /// The token's issuer (shortened, escaped).
        found: String,
    },
    /// `aud` does not contain the expected audience.
    #[error("the token is not meant for this audience (`{expected}` is not in its `aud`)")]
    WrongAudience {
        /// The audience this verifier expects.
        expected: String,
    },
    /// `typ` is not the type this verifier expects (for example a refresh token presented as
    /// an access token).
    #[error("the token is of type `{found}`, but a `{expected}` token is required here")]
    WrongType {
        /// The type this verifier expects.
        expected: String,
        /// The token's type (shortened, escaped).
        found: String,
    },
    /// A required claim is absent.
    #[error("the token lacks the required claim `{claim}`")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim is present but has the wrong JSON type or an impossible value.
    #[error("the token's claim `{claim}` is invalid: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// The token's `epoch` is not the user's current token epoch: the user's tokens were
    /// revoked after this one was issued.
    #[error(
        "the token was issued for token epoch {token}, but the user's token epoch is now {current}: it has been revoked; sign in again"
    )]
    EpochMismatch {
        /// The token's `epoch`.
        token: u64,
        /// The user's current token epoch.
        current: u64,
    },
    /// A key could not be loaded or is unsuitable.
    #[error("the key is not usable for {alg}: {reason}")]
    InvalidKey {
        /// The algorithm the key was loaded for.
        alg: JwtAlgorithm,
        /// What was wrong (never the key itself).
        reason: &'static str,
    },
    /// The verifier already holds a key with this `kid`.
    #[error("the verifier already holds a key with id `{kid}`; key ids must be unique")]
    DuplicateKeyId {
        /// The duplicated key id.
        kid: String,
    },
    /// A setting or a [`TokenSpec`](super::TokenSpec) value is out of range.
    #[error("invalid JWT setting: {reason}")]
    InvalidSetting {
        /// What was wrong and what is allowed.
        reason: &'static str,
    },
    /// A custom claim uses a name sigra sets itself.
    #[error(
        "`{claim}` is a registered claim that sigra sets itself; it cannot be given as a custom claim"
    )]
    ReservedClaim {
        /// The claim's name.
        claim: String,
    },
    /// The cryptographic signing operation failed.
    #[error("signing the token failed")]
    SigningFailed,
    /// The random number generator failed while minting a `jti`.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}
