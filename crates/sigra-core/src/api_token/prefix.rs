//! The human-readable token prefix.

use std::borrow::Cow;

use super::ApiTokenError;

/// The default prefix: `sigra_sk_`.
///
/// ```
/// assert_eq!(sigra_core::api_token::DEFAULT_PREFIX, "sigra_sk_");
/// ```
pub const DEFAULT_PREFIX: &str = "sigra_sk_";

const MIN_LEN: usize = 2;
const MAX_LEN: usize = 32;

/// A validated API-token prefix.
///
/// Rules: 2–32 characters of lowercase `[a-z0-9_]`, starting with a letter and ending with
/// `_`, and not starting with `eyj` in any case (every JWT starts with `eyJ`; the lowercase
/// rule already excludes that, the explicit check keeps it so if the rules ever relax).
///
/// ```
/// use sigra_core::api_token::TokenPrefix;
/// assert!(TokenPrefix::new("acme_live_").is_ok());
/// assert!(TokenPrefix::new("Acme_").is_err());   // uppercase
/// assert!(TokenPrefix::new("acme").is_err());    // no trailing `_`
/// assert!(TokenPrefix::new("eyj_").is_err());    // could be read as a JWT
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenPrefix(Cow<'static, str>);

impl TokenPrefix {
    /// The default prefix, [`DEFAULT_PREFIX`].
    ///
    /// ```
    /// assert_eq!(sigra_core::api_token::TokenPrefix::DEFAULT.as_str(), "sigra_sk_");
    /// ```
    pub const DEFAULT: Self = Self(Cow::Borrowed(DEFAULT_PREFIX));

    /// Validates `prefix` against the prefix rules.
    ///
    /// ```
    /// let prefix = sigra_core::api_token::TokenPrefix::new("myapp_pat_")?;
    /// assert_eq!(prefix.as_str(), "myapp_pat_");
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn new(prefix: impl Into<String>) -> Result<Self, ApiTokenError> {
        let prefix = prefix.into();
        check(&prefix)?;
        Ok(Self(Cow::Owned(prefix)))
    }

    /// The prefix text.
    ///
    /// ```
    /// assert_eq!(sigra_core::api_token::TokenPrefix::default().as_str(), "sigra_sk_");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TokenPrefix {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl std::fmt::Display for TokenPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TokenPrefix {
    type Err = ApiTokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

fn check(prefix: &str) -> Result<(), ApiTokenError> {
    let invalid = |reason| Err(ApiTokenError::InvalidPrefix { reason });
    if prefix.len() < MIN_LEN || prefix.len() > MAX_LEN {
        return invalid("it must be 2 to 32 characters long");
    }
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return invalid("it may contain only lowercase letters, digits and `_`");
    }
    if !prefix.starts_with(|c: char| c.is_ascii_lowercase()) {
        return invalid("it must start with a lowercase letter");
    }
    if !prefix.ends_with('_') {
        return invalid("it must end with `_`, so the random part stands apart");
    }
    if prefix
        .get(..3)
        .is_some_and(|start| start.eq_ignore_ascii_case("eyj"))
    {
        return invalid("it must not start with `eyJ` (in any case): that is how every JWT starts");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_passes_its_own_rules() {
        assert!(check(DEFAULT_PREFIX).is_ok());
        assert_eq!(
            TokenPrefix::default(),
            TokenPrefix::new("sigra_sk_").unwrap()
        );
    }

    #[test]
    fn rules() {
        for ok in [
            "a_",
            "sk_",
            "acme_live_",
            "x1_y2_",
            &format!("{}_", "a".repeat(31)),
        ] {
            assert!(TokenPrefix::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "_",
            "a",
            "ab",
            "Sigra_sk_",
            "sigra-sk_",
            "sigra sk_",
            "1abc_",
            "_abc_",
            "eyj_",
            "eyjx_",
            "EYJ_",
            "sigra_sk",
            "ünï_",
            &format!("{}_", "a".repeat(32)),
        ] {
            let err = TokenPrefix::new(bad).unwrap_err();
            assert!(matches!(err, ApiTokenError::InvalidPrefix { .. }), "{bad}");
        }
        assert!("abc_".parse::<TokenPrefix>().is_ok());
    }
}
