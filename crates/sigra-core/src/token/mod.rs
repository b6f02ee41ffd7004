//! Random tokens, their SHA-256 digests, HMAC envelopes and numeric codes.
//!
//! Every secret Sigra hands to a user (session cookie, email link, confirmation code) is made
//! here, and the database only ever holds a digest of it: a leaked table does not let anyone
//! log in.
//!
//! - [`Token`]: 32 bytes (256 bits) from the operating system's CSPRNG, shown to the user as
//!   43 characters of base64url without padding. Its `Debug` is redacted and it has no
//!   `Display`: the only way to get the secret text is the explicit
//!   [`Token::to_base64url`]. [`Token::parse`] is strict (exact length, alphabet, no padding,
//!   canonical last character) and never panics.
//! - [`TokenDigest`]: SHA-256 of the token's 32 raw bytes (not of its text), the value to
//!   store and look up. 256 bits of entropy make an unkeyed hash safe here: there is nothing
//!   to brute-force. Equality is constant-time; `Debug` and `Display` print hex.
//! - [`EnvelopeKey`]: HMAC-SHA256 envelopes that bind a token to a purpose, a subject and an
//!   issue time, for links whose age and owner must be checked before the database is
//!   touched. The wire format is documented on [`EnvelopeKey`].
//! - [`NumericCode`] and [`CodeKey`]: short numeric codes (6 digits by default, 6 to 10)
//!   drawn without modulo bias, compared in constant time, stored as a keyed digest because
//!   a million possibilities are trivial to brute-force from an unkeyed hash.
//!
//! ```
//! use sigra_core::token::{Token, TokenDigest};
//!
//! let token = Token::generate()?;            // goes to the user (cookie, link)
//! let stored: TokenDigest = token.digest();  // goes to the database
//!
//! // Later, the user presents the token:
//! let presented = Token::parse(&token.to_base64url())?;
//! assert_eq!(presented.digest(), stored);
//! # Ok::<(), sigra_core::token::TokenError>(())
//! ```

mod code;
mod envelope;

pub use code::{CodeKey, DEFAULT_CODE_DIGITS, MAX_CODE_DIGITS, MIN_CODE_DIGITS, NumericCode};
pub(crate) use code::{is_separator, keyed_digest};
pub use envelope::{
    CLOCK_SKEW, ENVELOPE_VERSION, EnvelopeKey, MAX_ENVELOPE_LEN, MAX_PURPOSE_LEN, MAX_SUBJECT_LEN,
    VerifiedEnvelope,
};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The number of random bytes in a [`Token`].
pub const TOKEN_BYTES: usize = 32;

/// The length of a [`Token`]'s text: base64url without padding of [`TOKEN_BYTES`] bytes.
pub const TOKEN_ENCODED_LEN: usize = 43;

/// Everything that can go wrong making, parsing or checking tokens, envelopes and codes.
///
/// No message contains a secret: neither the token, nor the key, nor the code typed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token text is empty.
    #[error("the token is empty; a token is {TOKEN_ENCODED_LEN} characters of base64url")]
    Empty,
    /// The token text has the wrong length.
    #[error(
        "the token is {found} characters long; a token is exactly {TOKEN_ENCODED_LEN} characters of base64url"
    )]
    Length {
        /// The length found, in bytes of text.
        found: usize,
    },
    /// The token text contains `=` padding.
    #[error("the token contains `=` padding; tokens are base64url without padding")]
    Padding,
    /// The token text contains a character outside the base64url alphabet.
    #[error(
        "the token has a character outside the base64url alphabet (A-Z a-z 0-9 - _) at index {position}"
    )]
    InvalidCharacter {
        /// The 0-based index (in characters) of the first bad character.
        position: usize,
    },
    /// The token's last character carries non-zero unused bits: it was not produced by
    /// encoding 32 bytes, so it was altered.
    #[error("the token's last character is not a canonical base64url encoding; it was altered")]
    NonCanonical,
    /// A stored digest does not have 32 bytes (64 hex characters).
    #[error("a token digest is 32 bytes (64 hex characters); this value is not one")]
    InvalidDigest,
    /// An envelope purpose label is empty, too long or uses characters outside `a-z 0-9 _ - . :`.
    #[error(
        "an envelope purpose is 1 to {MAX_PURPOSE_LEN} characters of a-z, 0-9, `_`, `-`, `.` or `:`"
    )]
    InvalidPurpose,
    /// An envelope subject is empty or longer than [`MAX_SUBJECT_LEN`] bytes.
    #[error("an envelope subject (the user id) is 1 to {MAX_SUBJECT_LEN} bytes of UTF-8")]
    InvalidSubject,
    /// The text is not a signed token at all.
    #[error(
        "this is not a signed token (expected `v1.<payload>.<mac>` in base64url); check that the whole link was used"
    )]
    EnvelopeMalformed,
    /// The signed token has a version this build does not read.
    #[error("the signed token has an unsupported version; this build reads `{ENVELOPE_VERSION}`")]
    EnvelopeVersion,
    /// The signed token stops short: a part is missing or cut.
    #[error("the signed token is incomplete; the link was probably cut off, copy the whole link")]
    EnvelopeTruncated,
    /// The signed token's MAC does not match: it was altered, or signed with another key.
    #[error(
        "the signed token's signature does not match: it was altered or signed with another secret key"
    )]
    EnvelopeSignature,
    /// The signed token was issued for another purpose.
    #[error("the signed token was issued for another purpose (expected `{expected}`)")]
    WrongPurpose {
        /// The purpose the verifier expected.
        expected: String,
    },
    /// The signed token was issued for another subject (user).
    #[error("the signed token was issued for another account")]
    WrongSubject,
    /// The signed token is older than the allowed age.
    #[error(
        "the signed token has expired (issued {age_secs} s ago, valid for {max_age_secs} s); ask for a new one"
    )]
    Expired {
        /// Seconds since the token was issued.
        age_secs: i64,
        /// The maximum age allowed, in seconds.
        max_age_secs: i64,
    },
    /// The signed token's issue time lies further in the future than [`CLOCK_SKEW`] allows.
    #[error(
        "the signed token's issue time is in the future beyond the allowed clock skew; check the servers' clocks"
    )]
    IssuedInFuture,
    /// A numeric code length outside [`MIN_CODE_DIGITS`]`..=`[`MAX_CODE_DIGITS`] was asked for.
    #[error(
        "numeric codes have {MIN_CODE_DIGITS} to {MAX_CODE_DIGITS} digits; {digits} were asked for"
    )]
    CodeDigits {
        /// The digit count asked for.
        digits: u8,
    },
    /// The code entered is empty (after removing spaces and dashes).
    #[error("no code was entered")]
    CodeEmpty,
    /// The code entered contains something other than digits, spaces and dashes.
    #[error("a code contains only digits (spaces and dashes are ignored)")]
    CodeInvalidCharacter,
    /// The code entered has the wrong number of digits.
    #[error("the code has {expected} digits; {found} were entered")]
    CodeLength {
        /// The number of digits the code has.
        expected: u8,
        /// The number of digits entered (capped at 255).
        found: u8,
    },
    /// The code entered is well-formed but not the right one.
    #[error("the code is not correct")]
    CodeMismatch,
    /// Deriving a key failed.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The operating system's random number generator failed.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}

/// A random 32-byte secret token: what a session cookie, an email link or a device holds.
///
/// Zeroed on drop. `Debug` prints `Token([REDACTED])`; there is deliberately no `Display`.
/// Equality is constant-time.
///
/// ```
/// use sigra_core::token::Token;
/// let token = Token::generate()?;
/// let text = token.to_base64url();       // 43 characters, URL- and cookie-safe
/// assert_eq!(text.len(), 43);
/// assert_eq!(format!("{token:?}"), "Token([REDACTED])");
/// assert!(Token::parse(&text)? == token);
/// # Ok::<(), sigra_core::token::TokenError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Token([u8; TOKEN_BYTES]);

impl Token {
    /// Draws a new token from the operating system's CSPRNG.
    ///
    /// ```
    /// let a = sigra_core::token::Token::generate()?;
    /// let b = sigra_core::token::Token::generate()?;
    /// assert!(a != b);
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn generate() -> Result<Self, TokenError> {
        Ok(Self(crate::random::bytes::<TOKEN_BYTES>()?))
    }

    /// Wraps 32 bytes you already have (for tests and for tokens decoded elsewhere).
    ///
    /// ```
    /// let token = sigra_core::token::Token::from_bytes([0u8; 32]);
    /// assert_eq!(token.to_base64url(), "A".repeat(43));
    /// ```
    pub fn from_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(bytes)
    }

    /// Parses the text form (43 characters of base64url, no padding).
    ///
    /// Total: any input returns a token or a [`TokenError`] saying what was wrong
    /// ([`Empty`](TokenError::Empty), [`Padding`](TokenError::Padding),
    /// [`InvalidCharacter`](TokenError::InvalidCharacter), [`Length`](TokenError::Length),
    /// [`NonCanonical`](TokenError::NonCanonical)), checked in that order.
    ///
    /// ```
    /// use sigra_core::token::{Token, TokenError};
    /// assert!(Token::parse(&"A".repeat(43)).is_ok());
    /// assert!(matches!(Token::parse("abc"), Err(TokenError::Length { found: 3 })));
    /// assert!(matches!(Token::parse(&format!("{}=", "A".repeat(43))), Err(TokenError::Padding)));
    /// assert!(matches!(Token::parse(&"+".repeat(43)), Err(TokenError::InvalidCharacter { position: 0 })));
    /// ```
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        if text.is_empty() {
            return Err(TokenError::Empty);
        }
        if text.contains('=') {
            return Err(TokenError::Padding);
        }
        if let Some(position) = text.chars().position(|c| !is_base64url(c)) {
            return Err(TokenError::InvalidCharacter { position });
        }
        if text.len() != TOKEN_ENCODED_LEN {
            return Err(TokenError::Length { found: text.len() });
        }
        let decoded = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| TokenError::NonCanonical)?,
        );
        let bytes: [u8; TOKEN_BYTES] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| TokenError::NonCanonical)?;
        Ok(Self(bytes))
    }

    /// The secret text to hand to the user: base64url without padding, 43 characters.
    ///
    /// This is the secret itself: put it in the cookie or the link, never in a log.
    ///
    /// ```
    /// let token = sigra_core::token::Token::from_bytes([0xff; 32]);
    /// assert_eq!(token.to_base64url(), format!("{}8", "_".repeat(42)));
    /// ```
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The raw 32 bytes.
    ///
    /// ```
    /// let token = sigra_core::token::Token::from_bytes([7u8; 32]);
    /// assert_eq!(token.as_bytes(), &[7u8; 32]);
    /// ```
    pub fn as_bytes(&self) -> &[u8; TOKEN_BYTES] {
        &self.0
    }

    /// The digest to store: SHA-256 of the 32 raw bytes.
    ///
    /// ```
    /// let token = sigra_core::token::Token::from_bytes([0u8; 32]);
    /// assert_eq!(
    ///     token.digest().to_hex(),
    ///     "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
    /// );
    /// ```
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::sha256(&self.0)
    }
}

impl std::str::FromStr for Token {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

impl ConstantTimeEq for Token {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl Eq for Token {}

/// A 32-byte digest stored in place of a secret: SHA-256 of a [`Token`], or the keyed
/// digest of a short code ([`CodeKey`], [`crate::backup_code`]).
///
/// Not secret by itself, so `Debug` and `Display` print lowercase hex. Equality is
/// constant-time all the same (digests are compared against values derived from user input).
///
/// ```
/// use sigra_core::token::TokenDigest;
/// let d = TokenDigest::sha256(b"abc");
/// let hex = d.to_hex();
/// assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// assert_eq!(TokenDigest::from_hex(&hex)?, d);
/// # Ok::<(), sigra_core::token::TokenError>(())
/// ```
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// SHA-256 of arbitrary bytes.
    ///
    /// ```
    /// let d = sigra_core::token::TokenDigest::sha256(b"");
    /// assert!(d.to_hex().starts_with("e3b0c442"));
    /// ```
    pub fn sha256(data: &[u8]) -> Self {
        Self(sha2::Sha256::digest(data).into())
    }

    /// Wraps 32 digest bytes (for example a `BLOB`/`bytea` column).
    ///
    /// ```
    /// let d = sigra_core::token::TokenDigest::from_bytes([0u8; 32]);
    /// assert_eq!(d.as_bytes(), &[0u8; 32]);
    /// ```
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps a slice that must be exactly 32 bytes long.
    ///
    /// ```
    /// use sigra_core::token::TokenDigest;
    /// assert!(TokenDigest::from_slice(&[1u8; 32]).is_ok());
    /// assert!(TokenDigest::from_slice(&[1u8; 31]).is_err());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<Self, TokenError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| TokenError::InvalidDigest)
    }

    /// Parses 64 hex characters (either case).
    ///
    /// ```
    /// use sigra_core::token::TokenDigest;
    /// assert!(TokenDigest::from_hex(&"aB".repeat(32)).is_ok());
    /// assert!(TokenDigest::from_hex("xyz").is_err());
    /// ```
    pub fn from_hex(hex: &str) -> Result<Self, TokenError> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return Err(TokenError::InvalidDigest);
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let (hi, lo) = match pair {
                [hi, lo] => (hex_value(*hi), hex_value(*lo)),
                _ => (None, None),
            };
            match (hi, lo) {
                (Some(hi), Some(lo)) => *byte = (hi << 4) | lo,
                _ => return Err(TokenError::InvalidDigest),
            }
        }
        Ok(Self(out))
    }

    /// The 32 digest bytes.
    ///
    /// ```
    /// let d = sigra_core::token::TokenDigest::sha256(b"x");
    /// assert_eq!(d.as_bytes().len(), 32);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    ///
    /// ```
    /// let d = sigra_core::token::TokenDigest::from_bytes([0xab; 32]);
    /// assert_eq!(d.to_hex(), "ab".repeat(32));
    /// ```
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            for nibble in [byte >> 4, byte & 0x0f] {
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        }
        out
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl ConstantTimeEq for TokenDigest {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for TokenDigest {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl Eq for TokenDigest {}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenDigest({})", self.to_hex())
    }
}

impl std::fmt::Display for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; 32]> for TokenDigest {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for TokenDigest {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Whether `c` is in the base64url alphabet (`A-Z a-z 0-9 - _`).
pub(crate) fn is_base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_round_trip_and_differ() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert!(a != b);
        let text = a.to_base64url();
        assert_eq!(text.len(), TOKEN_ENCODED_LEN);
        assert!(text.chars().all(is_base64url));
        assert!(Token::parse(&text).unwrap() == a);
        assert!(text.parse::<Token>().unwrap() == a);
    }

    #[test]
    fn parse_errors_are_specific() {
        assert!(matches!(Token::parse(""), Err(TokenError::Empty)));
        assert!(matches!(
            Token::parse(&"A".repeat(42)),
            Err(TokenError::Length { found: 42 })
        ));
        assert!(matches!(
            Token::parse(&"A".repeat(44)),
            Err(TokenError::Length { found: 44 })
        ));
        assert!(matches!(
            Token::parse(&format!("{}=", "A".repeat(43))),
            Err(TokenError::Padding)
        ));
        let mut standard = "A".repeat(43);
        standard.replace_range(5..6, "/");
        assert!(matches!(
            Token::parse(&standard),
            Err(TokenError::InvalidCharacter { position: 5 })
        ));
        assert!(matches!(
            Token::parse(&format!("é{}", "A".repeat(42))),
            Err(TokenError::InvalidCharacter { position: 0 })
        ));
        // 43 chars encode 258 bits: the last character's low 2 bits must be zero.
        assert!(matches!(
            Token::parse(&format!("{}B", "A".repeat(42))),
            Err(TokenError::NonCanonical)
        ));
    }

    #[test]
    fn debug_is_redacted_and_digest_prints_hex() {
        let token = Token::from_bytes([0x41; 32]);
        let shown = format!("{token:?}");
        assert_eq!(shown, "Token([REDACTED])");
        assert!(!shown.contains(&token.to_base64url()));
        let digest = token.digest();
        assert_eq!(format!("{digest:?}"), format!("TokenDigest({digest})"));
        assert_eq!(digest.to_string().len(), 64);
    }

    #[test]
    fn digest_is_sha256_of_the_raw_bytes() {
        let token = Token::from_bytes([0u8; 32]);
        assert_eq!(token.digest(), TokenDigest::sha256(&[0u8; 32]));
        assert_ne!(
            token.digest(),
            TokenDigest::sha256(token.to_base64url().as_bytes())
        );
    }

    #[test]
    fn digest_hex_and_slices() {
        let d = TokenDigest::sha256(b"sigra");
        assert_eq!(TokenDigest::from_hex(&d.to_hex()).unwrap(), d);
        assert_eq!(
            TokenDigest::from_hex(&d.to_hex().to_uppercase()).unwrap(),
            d
        );
        assert_eq!(TokenDigest::from_slice(d.as_ref()).unwrap(), d);
        assert!(TokenDigest::from_hex(&"g".repeat(64)).is_err());
        assert!(TokenDigest::from_hex(&"é".repeat(32)).is_err());
        assert!(TokenDigest::from_slice(&[]).is_err());
    }
}
