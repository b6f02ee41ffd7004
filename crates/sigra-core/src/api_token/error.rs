//! The API-token module's error.

/// Everything that can go wrong with API tokens, digests and scopes.
///
/// No variant carries a token or part of one.
///
/// ```
/// use sigra_core::api_token::{self, ApiTokenError, TokenPrefix};
/// let err = api_token::parse("ghp_abc", &TokenPrefix::DEFAULT).unwrap_err();
/// assert!(matches!(err, ApiTokenError::WrongPrefix { .. }));
/// assert!(err.to_string().contains("sigra_sk_"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiTokenError {
    /// A configured prefix breaks the prefix rules.
    #[error("invalid API token prefix: {reason}")]
    InvalidPrefix {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// The presented token does not start with the expected prefix.
    #[error(
        "the token does not start with `{expected}`, so it is not one of this app's API tokens"
    )]
    WrongPrefix {
        /// The expected prefix.
        expected: String,
    },
    /// The presented token starts with `eyJ`: it is a JWT, not an API token.
    #[error(
        "the token looks like a JWT (it starts with `eyJ`), not an API token; JWTs are verified with `jwt::JwtVerifier`"
    )]
    LooksLikeJwt,
    /// The presented token has the right prefix but the wrong length.
    #[error(
        "the token is {found} characters long, but this app's API tokens are exactly {expected}; was it cut off when copied?"
    )]
    WrongLength {
        /// The length of a valid token with this prefix.
        expected: usize,
        /// The presented token's length.
        found: usize,
    },
    /// The part after the prefix is not canonical unpadded base64url.
    #[error("the token's body is not base64url (A–Z, a–z, 0–9, `-`, `_`); was it altered?")]
    BadBody,
    /// A stored digest is not 32 bytes (or 64 hex digits).
    #[error("an API token digest is 32 bytes (64 hex digits); the stored value is not")]
    InvalidDigest,
    /// A scope does not follow the `resource:action` grammar.
    #[error("invalid scope `{scope}`: {reason}")]
    InvalidScope {
        /// The scope as given (shortened, escaped).
        scope: String,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// Too many scopes in one set.
    #[error("a token carries at most {max} scopes")]
    TooManyScopes {
        /// The limit.
        max: usize,
    },
    /// A requested scope is outside what the app (or the granting user) allows.
    #[error("the scope `{scope}` is not among the scopes that may be granted")]
    ScopeNotAllowed {
        /// The scope that is not allowed.
        scope: String,
    },
    /// The token's scopes do not cover the scope an operation requires.
    #[error("this operation requires the scope `{required}`, which the token was not granted")]
    ScopeDenied {
        /// The required scope.
        required: String,
    },
    /// The random number generator failed while generating a token.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}
