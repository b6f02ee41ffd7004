//! Raw tokens: generating, parsing, digesting, displaying.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{ApiTokenDigest, ApiTokenError, TokenPrefix};

/// The length of a token's body: 32 random bytes in unpadded base64url.
///
/// ```
/// assert_eq!(sigra_core::api_token::BODY_LEN, 43);
/// ```
pub const BODY_LEN: usize = 43;

/// How many body characters [`RawApiToken::display_prefix`] shows (24 of the 256 random bits).
///
/// ```
/// assert_eq!(sigra_core::api_token::DISPLAY_BODY_CHARS, 4);
/// ```
pub const DISPLAY_BODY_CHARS: usize = 4;

/// A raw API token: the secret a client presents. Zeroed on drop; never printed (`Debug` shows
/// only the display prefix); not `Clone`.
///
/// ```
/// let raw = sigra_core::api_token::generate(&Default::default())?;
/// let shown = format!("{raw:?}");
/// assert!(shown.contains("[REDACTED]"));
/// assert!(!shown.contains(raw.expose_secret()));
/// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RawApiToken {
    token: String,
    prefix_len: usize,
}

impl std::fmt::Debug for RawApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RawApiToken")
            .field(&self.display_prefix())
            .field(&"[REDACTED]")
            .finish()
    }
}

/// Generates a new token: `prefix` + base64url(32 random bytes).
///
/// ```
/// use sigra_core::api_token::{self, TokenPrefix};
/// let raw = api_token::generate(&TokenPrefix::DEFAULT)?;
/// assert!(raw.expose_secret().starts_with("sigra_sk_"));
/// assert_eq!(raw.expose_secret().len(), "sigra_sk_".len() + 43);
/// # Ok::<(), api_token::ApiTokenError>(())
/// ```
pub fn generate(prefix: &TokenPrefix) -> Result<RawApiToken, ApiTokenError> {
    let bytes = Zeroizing::new(crate::random::bytes::<32>()?);
    let mut token = String::with_capacity(prefix.as_str().len() + BODY_LEN);
    token.push_str(prefix.as_str());
    URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut token);
    Ok(RawApiToken {
        token,
        prefix_len: prefix.as_str().len(),
    })
}

/// Parses a presented token, checking it has `expected` as its prefix, the right length and
/// a canonical base64url body. Nothing of the token appears in the errors.
///
/// The check is on form only: whether the token exists, is revoked or expired is the store's
/// answer to its [digest](RawApiToken::digest).
///
/// ```
/// use sigra_core::api_token::{self, ApiTokenError, TokenPrefix};
/// let p = TokenPrefix::DEFAULT;
/// assert!(matches!(api_token::parse("sigra_sk_short", &p), Err(ApiTokenError::WrongLength { .. })));
/// assert!(matches!(api_token::parse("eyJhbGciOi...", &p), Err(ApiTokenError::LooksLikeJwt)));
/// # Ok::<(), ApiTokenError>(())
/// ```
pub fn parse(raw: &str, expected: &TokenPrefix) -> Result<RawApiToken, ApiTokenError> {
    if raw.starts_with("eyJ") {
        return Err(ApiTokenError::LooksLikeJwt);
    }
    let Some(body) = raw.strip_prefix(expected.as_str()) else {
        return Err(ApiTokenError::WrongPrefix {
            expected: expected.as_str().to_string(),
        });
    };
    if body.len() != BODY_LEN {
        return Err(ApiTokenError::WrongLength {
            expected: expected.as_str().len() + BODY_LEN,
            found: raw.chars().count(),
        });
    }
    let mut decoded = Zeroizing::new([0u8; 32]);
    match URL_SAFE_NO_PAD.decode_slice(body, decoded.as_mut_slice()) {
        Ok(32) => {}
        _ => return Err(ApiTokenError::BadBody),
    }
    Ok(RawApiToken {
        token: raw.to_string(),
        prefix_len: expected.as_str().len(),
    })
}

impl RawApiToken {
    /// The whole token, to show the user once (or to send as `Authorization: Bearer …`).
    ///
    /// ```
    /// let raw = sigra_core::api_token::generate(&Default::default())?;
    /// println!("Copy your token now: {}", raw.expose_secret());
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn expose_secret(&self) -> &str {
        &self.token
    }

    /// The SHA-256 digest of the whole token (prefix included): what the host stores.
    ///
    /// ```
    /// use sigra_core::api_token::{self, TokenPrefix};
    /// let raw = api_token::generate(&TokenPrefix::DEFAULT)?;
    /// let again = api_token::parse(raw.expose_secret(), &TokenPrefix::DEFAULT)?;
    /// assert_eq!(raw.digest(), again.digest());
    /// # Ok::<(), api_token::ApiTokenError>(())
    /// ```
    pub fn digest(&self) -> ApiTokenDigest {
        ApiTokenDigest::of_token(&self.token)
    }

    /// The prefix plus the first [`DISPLAY_BODY_CHARS`] body characters and `…`, e.g.
    /// `sigra_sk_AbCd…`: enough for a user to recognise a token in a list, too little to use.
    ///
    /// ```
    /// let raw = sigra_core::api_token::generate(&Default::default())?;
    /// let display = raw.display_prefix();
    /// assert_eq!(display.chars().count(), "sigra_sk_".len() + 4 + 1);
    /// assert!(raw.expose_secret().starts_with(display.trim_end_matches('…')));
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn display_prefix(&self) -> String {
        let end = self.prefix_len + DISPLAY_BODY_CHARS;
        let shown = self.token.get(..end).unwrap_or(self.prefix());
        format!("{shown}…")
    }

    /// The token's prefix (e.g. `sigra_sk_`).
    ///
    /// ```
    /// let raw = sigra_core::api_token::generate(&Default::default())?;
    /// assert_eq!(raw.prefix(), "sigra_sk_");
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn prefix(&self) -> &str {
        self.token.get(..self.prefix_len).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let p = TokenPrefix::new("acme_").unwrap();
        let raw = generate(&p).unwrap();
        let s = raw.expose_secret();
        assert_eq!(s.len(), 5 + BODY_LEN);
        assert!(s.starts_with("acme_"));
        assert!(
            s[5..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(s, generate(&p).unwrap().expose_secret());
    }

    #[test]
    fn parse_errors_are_distinct() {
        let p = TokenPrefix::DEFAULT;
        let good = generate(&p).unwrap();
        let good = good.expose_secret();
        assert!(parse(good, &p).is_ok());
        assert!(matches!(
            parse(good, &TokenPrefix::new("other_").unwrap()),
            Err(ApiTokenError::WrongPrefix { .. })
        ));
        assert!(matches!(
            parse(&good[..good.len() - 1], &p),
            Err(ApiTokenError::WrongLength {
                expected: 52,
                found: 51
            })
        ));
        assert!(matches!(
            parse(&format!("{good}A"), &p),
            Err(ApiTokenError::WrongLength { .. })
        ));
        let with_plus = format!("sigra_sk_{}+", &good[9..51]);
        assert!(matches!(parse(&with_plus, &p), Err(ApiTokenError::BadBody)));
        // The last of 43 characters carries 4 bits; non-zero trailing bits are not canonical.
        let non_canonical = format!("sigra_sk_{}B", "A".repeat(42));
        assert!(matches!(
            parse(&non_canonical, &p),
            Err(ApiTokenError::BadBody)
        ));
        let canonical = format!("sigra_sk_{}E", "A".repeat(42));
        assert!(parse(&canonical, &p).is_ok());
        assert!(matches!(
            parse(" sigra_sk_x", &p),
            Err(ApiTokenError::WrongPrefix { .. })
        ));
        assert!(matches!(
            parse("eyJhbGci", &p),
            Err(ApiTokenError::LooksLikeJwt)
        ));
    }

    #[test]
    fn errors_never_contain_the_token() {
        let p = TokenPrefix::DEFAULT;
        let good = generate(&p).unwrap();
        let body = &good.expose_secret()[9..];
        for attempt in [
            format!("sigra_sk_{body}x"),
            format!("other_{body}"),
            format!("sigra_sk_{}!", &body[..42]),
        ] {
            let err = parse(&attempt, &p).unwrap_err().to_string();
            assert!(!err.contains(&body[..8]), "{err}");
        }
    }

    #[test]
    fn digest_covers_the_whole_token() {
        let a = parse(
            &format!("a_{}", "A".repeat(43)),
            &TokenPrefix::new("a_").unwrap(),
        )
        .unwrap();
        let b = parse(
            &format!("b_{}", "A".repeat(43)),
            &TokenPrefix::new("b_").unwrap(),
        )
        .unwrap();
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn display_prefix_shape() {
        let raw = parse(
            &format!("sigra_sk_AbCd{}", "A".repeat(39)),
            &TokenPrefix::DEFAULT,
        )
        .unwrap();
        assert_eq!(raw.display_prefix(), "sigra_sk_AbCd…");
        assert_eq!(raw.prefix(), "sigra_sk_");
        assert_eq!(
            format!("{raw:?}"),
            r#"RawApiToken("sigra_sk_AbCd…", "[REDACTED]")"#
        );
    }

    proptest! {
        #[test]
        fn parse_is_total(s in any::<String>()) {
            match parse(&s, &TokenPrefix::DEFAULT) {
                Ok(raw) => prop_assert_eq!(raw.expose_secret(), s.as_str()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn parse_is_total_near_valid_tokens(body in "[A-Za-z0-9_+/=.-]{40,46}") {
            let s = format!("sigra_sk_{body}");
            if let Err(e) = parse(&s, &TokenPrefix::DEFAULT) {
                let expected = matches!(e, ApiTokenError::WrongLength { .. } | ApiTokenError::BadBody);
                prop_assert!(expected, "{}", e);
            }
        }

        #[test]
        fn generate_parse_round_trip(prefix in "[a-z][a-z0-9_]{0,30}_") {
            prop_assume!(!prefix.starts_with("eyj"));
            let prefix = TokenPrefix::new(prefix).unwrap();
            let raw = generate(&prefix).unwrap();
            let parsed = parse(raw.expose_secret(), &prefix).unwrap();
            prop_assert_eq!(parsed.expose_secret(), raw.expose_secret());
            prop_assert_eq!(parsed.digest(), raw.digest());
            prop_assert_eq!(parsed.display_prefix(), raw.display_prefix());
            prop_assert_eq!(parsed.prefix(), prefix.as_str());
        }
    }
}
