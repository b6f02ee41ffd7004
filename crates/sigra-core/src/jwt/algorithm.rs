//! The algorithm allow-list.

use super::JwtError;

/// The JWS algorithms sigra-core accepts. Nothing else is ever verified.
///
/// ```
/// use sigra_core::jwt::JwtAlgorithm;
/// assert_eq!(JwtAlgorithm::EdDsa.as_str(), "EdDSA");
/// assert!(JwtAlgorithm::Es256.can_sign());
/// assert!(!JwtAlgorithm::Rs256.can_sign());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256 and a shared secret.
    Hs256,
    /// Ed25519 signatures (RFC 8037).
    EdDsa,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256; verification only.
    Rs256,
}

impl JwtAlgorithm {
    /// The algorithm's name in a JWS header (`"HS256"`, `"EdDSA"`, `"ES256"`, `"RS256"`).
    ///
    /// ```
    /// assert_eq!(sigra_core::jwt::JwtAlgorithm::Hs256.as_str(), "HS256");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// Whether sigra-core signs with this algorithm (all but RS256).
    ///
    /// ```
    /// assert!(sigra_core::jwt::JwtAlgorithm::Hs256.can_sign());
    /// ```
    pub const fn can_sign(self) -> bool {
        !matches!(self, Self::Rs256)
    }

    /// Reads the `alg` header member. `none` in any spelling is [`JwtError::AlgNone`]; any
    /// other name outside the allow-list is [`JwtError::UnsupportedAlgorithm`]. Names are
    /// case-sensitive, as RFC 7515 requires.
    pub(crate) fn from_header(alg: &str) -> Result<Self, JwtError> {
        match alg {
            "HS256" => Ok(Self::Hs256),
            "EdDSA" => Ok(Self::EdDsa),
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            other if other.eq_ignore_ascii_case("none") => Err(JwtError::AlgNone),
            other => Err(JwtError::UnsupportedAlgorithm {
                alg: super::shown(other),
            }),
        }
    }

    /// The same algorithm in `jsonwebtoken`'s terms.
    pub(crate) const fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

impl std::fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_round_trip() {
        for alg in [
            JwtAlgorithm::Hs256,
            JwtAlgorithm::EdDsa,
            JwtAlgorithm::Es256,
            JwtAlgorithm::Rs256,
        ] {
            assert_eq!(JwtAlgorithm::from_header(alg.as_str()).unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
        }
    }

    #[test]
    fn none_in_any_case_is_refused_as_none() {
        for name in ["none", "None", "NONE", "nOnE"] {
            assert!(matches!(
                JwtAlgorithm::from_header(name),
                Err(JwtError::AlgNone)
            ));
        }
    }

    #[test]
    fn everything_else_is_unsupported() {
        for name in [
            "HS384", "HS512", "PS256", "ES384", "RS512", "hs256", "", "EdDSA ",
        ] {
            let err = JwtAlgorithm::from_header(name).unwrap_err();
            assert!(
                matches!(err, JwtError::UnsupportedAlgorithm { .. }),
                "{name}"
            );
        }
    }
}
