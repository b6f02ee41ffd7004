//! JSON Web Tokens (RFC 7519) with an explicit algorithm allow-list.
//!
//! JWTs are Sigra's opt-in, stateless API credential (the default is the database-backed
//! [`api_token`](crate::api_token)). This module signs and verifies them on top of
//! [`jsonwebtoken`] 11 with its RustCrypto backend; everything a verifier decides — which key,
//! which algorithm, which claims — is decided here, before and after the signature check.
//!
//! # Algorithms
//!
//! | algorithm | sign | verify | key |
//! |---|---|---|---|
//! | HS256 | yes | yes | a shared secret of at least 32 bytes, or one derived from the [`SecretKeyBase`](crate::keys::SecretKeyBase) |
//! | EdDSA (Ed25519) | yes | yes | PKCS#8 / SPKI PEM, or the raw 32-byte seed / public key |
//! | ES256 (P-256) | yes | yes | PKCS#8 / SPKI PEM |
//! | RS256 | no | yes | SPKI or PKCS#1 public-key PEM, at least 2048 bits |
//!
//! Every other `alg` — `none` in any spelling, HS384/512, PS*, ES384, anything unknown — is
//! refused. Prefer HS256 (one service) or EdDSA (several services, public verification keys)
//! for what you sign. RS256 is accepted only so tokens from an existing RSA issuer can be
//! verified. The `rsa` crate behind it carries
//! [RUSTSEC-2023-0071](https://rustsec.org/advisories/RUSTSEC-2023-0071) (the "Marvin"
//! timing side channel); that advisory concerns operations with the RSA **private** key
//! (decryption and signing), while verification uses only the public key, which is why
//! sigra-core verifies RS256 but never signs with it.
//!
//! # The key decides the algorithm
//!
//! A [`JwtSigner`] holds one [`SigningKey`]; the key's type fixes the algorithm, and an optional
//! key id (`kid`) goes into the header. A [`JwtVerifier`] holds one or more [`VerifyingKey`]s,
//! each bound to its algorithm. The token's header only *selects* among those keys (by `kid`,
//! then by `alg`); it never turns a key into something else. So the classic *algorithm
//! confusion* — an attacker signs an HS256 token using the bytes of your RSA or EC public key
//! as the HMAC secret — finds no HS256 key and is refused with
//! [`JwtError::DisallowedAlgorithm`] (or [`JwtError::AlgorithmMismatch`] when its `kid` points
//! at the public key). Header members that ask a verifier to fetch or trust a key (`jku`, `jwk`,
//! `x5u`, `x5c`) are ignored; a `crit` member is refused, since no extension is supported.
//!
//! # Claims
//!
//! Every token carries `iss`, `aud`, `sub`, `iat`, `exp`, `jti` (22 random base64url
//! characters from [`crate::random`]), `typ` and `epoch`; `scopes` (a list of strings), `nbf`
//! and custom claims are optional. The verifier checks, in this order: the signature, then
//! `exp` (required; refused once `now >= exp + skew`), `nbf` if present, `iat` (refused when
//! more than the skew in the future), `iss`, `aud` (a string or a list containing the
//! expected audience), `typ` (so a token of another type — say a refresh- or id-shaped token —
//! is never accepted as an access token), then the presence of `sub`, `jti` and `epoch`.
//! Each failure is its own [`JwtError`] variant.
//!
//! `epoch` implements revocation without state: store a `token_epoch` counter per user, put it
//! in every token, and bump it to revoke every JWT the user holds. [`JwtVerifier::verify`]
//! therefore returns a [`VerifiedJwt`] that exposes only the subject until you call
//! [`VerifiedJwt::check_epoch`] with the user's current epoch.
//!
//! Defaults: access tokens live [`DEFAULT_ACCESS_TTL`] (15 minutes, at most [`MAX_TTL`]);
//! clocks may disagree by [`DEFAULT_CLOCK_SKEW`] (30 s, at most [`MAX_CLOCK_SKEW`]); tokens
//! longer than [`MAX_TOKEN_LEN`] bytes are refused unread.
//!
//! ES256 signatures, as everywhere, are malleable (`s` and `n - s` both verify): identify a
//! token by its `jti`, never by a digest of the token string.
//!
//! ```
//! use sigra_core::jwt::{JwtSigner, JwtVerifier, SigningKey, TokenSpec};
//!
//! let key = SigningKey::hs256(b"an HS256 secret of at least 32 bytes!!")?;
//! let signer = JwtSigner::new(key.clone(), "https://myapp.example", "myapp-api")?;
//! let verifier = JwtVerifier::new("https://myapp.example", "myapp-api", "access")?
//!     .with_key(key.verifying_key())?;
//!
//! // The user's current token epoch, as stored in `users.token_epoch`.
//! let epoch = 3;
//! let issued = signer.sign(&TokenSpec::access("user-42", epoch).with_scopes(["projects:read"]))?;
//!
//! let verified = verifier.verify(issued.as_str())?;
//! assert_eq!(verified.subject(), "user-42");
//! // ...load user-42, then:
//! let claims = verified.check_epoch(epoch)?;
//! assert_eq!(claims.scopes.as_deref(), Some(&["projects:read".to_string()][..]));
//! # Ok::<(), sigra_core::jwt::JwtError>(())
//! ```

mod algorithm;
mod claims;
mod compact;
mod error;
mod key;
mod signer;
mod verifier;

use std::time::Duration;

pub use algorithm::JwtAlgorithm;
pub use claims::{Claims, TokenSpec};
pub use error::JwtError;
pub use key::{SigningKey, VerifyingKey};
pub use signer::{IssuedJwt, JwtSigner};
pub use verifier::{JwtVerifier, VerifiedJwt};

/// How long an access token lives unless configured otherwise: 15 minutes.
///
/// ```
/// assert_eq!(sigra_core::jwt::DEFAULT_ACCESS_TTL.as_secs(), 900);
/// ```
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

/// The longest lifetime a [`JwtSigner`] accepts: 24 hours. Long-lived access belongs in
/// refresh tokens or API tokens, which can be revoked one by one.
///
/// ```
/// assert_eq!(sigra_core::jwt::MAX_TTL.as_secs(), 86_400);
/// ```
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The clock skew a [`JwtVerifier`] tolerates unless configured otherwise: 30 seconds.
///
/// ```
/// assert_eq!(sigra_core::jwt::DEFAULT_CLOCK_SKEW.as_secs(), 30);
/// ```
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(30);

/// The largest clock skew a [`JwtVerifier`] accepts: 5 minutes.
///
/// ```
/// assert_eq!(sigra_core::jwt::MAX_CLOCK_SKEW.as_secs(), 300);
/// ```
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The longest token accepted (and produced), in bytes: 8 KiB.
///
/// ```
/// assert_eq!(sigra_core::jwt::MAX_TOKEN_LEN, 8192);
/// ```
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The `typ` claim of access tokens (the default of [`TokenSpec::access`]).
///
/// ```
/// assert_eq!(sigra_core::jwt::ACCESS_TYPE, "access");
/// ```
pub const ACCESS_TYPE: &str = "access";

/// The HKDF purpose label under which [`SigningKey::hs256_from_key_base`] and
/// [`VerifyingKey::hs256_from_key_base`] derive the HS256 secret.
///
/// ```
/// assert_eq!(sigra_core::jwt::HS256_KEY_PURPOSE, "sigra/jwt/hs256");
/// ```
pub const HS256_KEY_PURPOSE: &str = "sigra/jwt/hs256";

/// The current Unix time in seconds (0 if the system clock is before 1970).
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A short, printable rendering of an attacker-influenced string for an error message.
fn shown(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out: String = s
        .chars()
        .take(MAX_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if s.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod rfc_tests {
    //! Published test vectors, checked at the signature level (the claims of these examples
    //! are not sigra tokens; `tests/jwt.rs` runs them through the full verifier too).
    use super::compact::{decode_segment, encode_segment};
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        decode_segment(s, "test vector").unwrap()
    }

    /// RFC 7515 Appendix A.1: HS256.
    #[test]
    fn rfc7515_a1_hs256() {
        let key = b64(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
        );
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let signing = SigningKey::hs256(&key).unwrap();
        assert_eq!(
            encode_segment(&signing.sign_raw(input.as_bytes()).unwrap()),
            signature
        );
        let verifying = VerifyingKey::hs256(&key).unwrap();
        assert!(verifying.verifies(input.as_bytes(), &b64(signature)));
        let mut tampered = input.as_bytes().to_vec();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(!verifying.verifies(&tampered, &b64(signature)));
    }

    /// RFC 8037 Appendix A.4: Ed25519 signing is deterministic, so signing the RFC's payload
    /// with the RFC's key must give the RFC's JWS exactly.
    #[test]
    fn rfc8037_a4_ed25519() {
        let d: [u8; 32] = b64("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .try_into()
            .unwrap();
        let x: [u8; 32] = b64("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .try_into()
            .unwrap();
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let jws = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

        let signing = SigningKey::ed25519_from_seed(&d).unwrap();
        let signature = signing.sign_raw(input.as_bytes()).unwrap();
        assert_eq!(format!("{input}.{}", encode_segment(&signature)), jws);

        // The public key derived from the seed is the RFC's `x`.
        let from_x = VerifyingKey::ed25519_from_bytes(&x).unwrap();
        assert!(from_x.verifies(input.as_bytes(), &signature));
        assert!(
            signing
                .verifying_key()
                .verifies(input.as_bytes(), &signature)
        );
        assert!(!from_x.verifies(
            b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmd",
            &signature
        ));
    }
}
