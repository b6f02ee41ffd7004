//! Short numeric codes (email confirmation codes): unbiased, normalised, stored keyed.

use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::envelope::is_valid_purpose;
use super::{TokenDigest, TokenError};
use crate::keys::{DerivedKey, SecretKeyBase};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The digit count of [`NumericCode::generate`]: 6.
pub const DEFAULT_CODE_DIGITS: u8 = 6;

/// The fewest digits a code may have: 6 (one in a million per guess).
pub const MIN_CODE_DIGITS: u8 = 6;

/// The most digits a code may have: 10.
pub const MAX_CODE_DIGITS: u8 = 10;

/// `random::below` draws below a `u32` bound, so codes are drawn in chunks of at most 9 digits
/// (10^9 < 2^32); independent uniform chunks make a uniform code.
const CHUNK_DIGITS: u8 = 9;

/// The key-derivation label prefix; the full label is `numeric-code:<purpose>`.
const KEY_LABEL_PREFIX: &str = "numeric-code:";

/// A short numeric code, e.g. `042917`, for a user to type from an email.
///
/// Drawn with [`crate::random::below`] (rejection sampling, so no value is likelier than
/// another) and zero-padded, so `000000` is as likely as `999999`. Zeroed on drop; `Debug` is
/// redacted. Keep only its keyed digest ([`CodeKey::digest`]) in the database.
///
/// User input is normalised before comparison: whitespace (anywhere, including non-breaking
/// and zero-width spaces from copy-paste) and dashes (`-` and the Unicode dashes and minus)
/// are removed, and full-width digits `０`–`９` read as `0`–`9`. Anything else is an error.
///
/// ```
/// use sigra_core::token::NumericCode;
/// let code = NumericCode::generate()?;
/// assert_eq!(code.as_str().len(), 6);
/// assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
/// let typed = format!(" {}-{} ", &code.as_str()[..3], &code.as_str()[3..]);
/// assert!(code.verify(&typed).is_ok());
/// assert_eq!(format!("{code:?}"), "NumericCode([REDACTED; 6 digits])");
/// # Ok::<(), sigra_core::token::TokenError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct NumericCode(String);

impl NumericCode {
    /// Draws a new code of [`DEFAULT_CODE_DIGITS`] (6) digits.
    ///
    /// ```
    /// let code = sigra_core::token::NumericCode::generate()?;
    /// assert_eq!(code.digits(), 6);
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn generate() -> Result<Self, TokenError> {
        Self::generate_with_digits(DEFAULT_CODE_DIGITS)
    }

    /// Draws a new code of `digits` digits, [`MIN_CODE_DIGITS`] to [`MAX_CODE_DIGITS`].
    ///
    /// ```
    /// use sigra_core::token::{NumericCode, TokenError};
    /// assert_eq!(NumericCode::generate_with_digits(10)?.as_str().len(), 10);
    /// assert!(matches!(
    ///     NumericCode::generate_with_digits(4),
    ///     Err(TokenError::CodeDigits { digits: 4 })
    /// ));
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn generate_with_digits(digits: u8) -> Result<Self, TokenError> {
        check_digits(digits)?;
        let mut code = String::with_capacity(usize::from(MAX_CODE_DIGITS));
        let mut remaining = digits;
        while remaining > 0 {
            let chunk = remaining.min(CHUNK_DIGITS);
            let mut value = crate::random::below(10u32.pow(u32::from(chunk)))?;
            let mut chunk_text = [b'0'; CHUNK_DIGITS as usize];
            for slot in chunk_text.iter_mut().take(usize::from(chunk)).rev() {
                *slot = b'0' + u8::try_from(value % 10).unwrap_or(0);
                value /= 10;
            }
            code.extend(
                chunk_text
                    .iter()
                    .take(usize::from(chunk))
                    .map(|&b| char::from(b)),
            );
            chunk_text.zeroize();
            remaining -= chunk;
        }
        Ok(Self(code))
    }

    /// Normalises what a user typed into a code of `digits` digits (see the type docs).
    ///
    /// Total: returns the code or [`TokenError::CodeDigits`], [`TokenError::CodeEmpty`],
    /// [`TokenError::CodeInvalidCharacter`] or [`TokenError::CodeLength`].
    ///
    /// ```
    /// use sigra_core::token::{NumericCode, TokenError};
    /// assert_eq!(NumericCode::parse(" 123 456\n", 6)?.as_str(), "123456");
    /// assert_eq!(NumericCode::parse("123-456", 6)?.as_str(), "123456");
    /// assert!(matches!(NumericCode::parse("12345", 6), Err(TokenError::CodeLength { expected: 6, found: 5 })));
    /// assert!(matches!(NumericCode::parse("12345a", 6), Err(TokenError::CodeInvalidCharacter)));
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn parse(input: &str, digits: u8) -> Result<Self, TokenError> {
        check_digits(digits)?;
        let mut code = Zeroizing::new(String::with_capacity(usize::from(MAX_CODE_DIGITS)));
        let mut found: u8 = 0;
        for c in input.chars() {
            if is_separator(c) {
                continue;
            }
            let digit = match c {
                '0'..='9' => c,
                '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0'))
                    .ok_or(TokenError::CodeInvalidCharacter)?,
                _ => return Err(TokenError::CodeInvalidCharacter),
            };
            found = found.saturating_add(1);
            if found <= digits {
                code.push(digit);
            }
        }
        if found == 0 {
            return Err(TokenError::CodeEmpty);
        }
        if found != digits {
            return Err(TokenError::CodeLength {
                expected: digits,
                found,
            });
        }
        Ok(Self(std::mem::take(&mut *code)))
    }

    /// The code's text, to put in the email. This is the secret itself: never log it.
    ///
    /// ```
    /// # let code = sigra_core::token::NumericCode::parse("000123", 6)?;
    /// assert_eq!(code.as_str(), "000123");
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number of digits.
    ///
    /// ```
    /// # let code = sigra_core::token::NumericCode::generate_with_digits(8)?;
    /// assert_eq!(code.digits(), 8);
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn digits(&self) -> u8 {
        u8::try_from(self.0.len()).unwrap_or(u8::MAX)
    }

    /// Checks what a user typed against this code: normalised, then compared in constant
    /// time. Any error (malformed or [`TokenError::CodeMismatch`]) is a failed attempt.
    ///
    /// ```
    /// use sigra_core::token::{NumericCode, TokenError};
    /// let code = NumericCode::parse("123456", 6)?;
    /// assert!(code.verify("123 456").is_ok());
    /// assert!(matches!(code.verify("123457"), Err(TokenError::CodeMismatch)));
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn verify(&self, input: &str) -> Result<(), TokenError> {
        let typed = Self::parse(input, self.digits())?;
        if bool::from(self.0.as_bytes().ct_eq(typed.0.as_bytes())) {
            Ok(())
        } else {
            Err(TokenError::CodeMismatch)
        }
    }
}

impl std::fmt::Debug for NumericCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NumericCode([REDACTED; {} digits])", self.0.len())
    }
}

/// The key that turns numeric codes into storable digests: HMAC-SHA256 under a key derived
/// for one purpose (HKDF label `numeric-code:<purpose>`).
///
/// A 6-digit code has only a million values: an unkeyed SHA-256 of it would be reversed
/// from a database leak in milliseconds. Keyed with a secret the database does not hold,
/// the digest reveals nothing without the secret key base as well.
///
/// ```
/// use sigra_core::{keys::SecretKeyBase, token::{CodeKey, NumericCode, TokenError}};
/// let base = SecretKeyBase::new(vec![5u8; 64])?;
/// let key = CodeKey::derive(&base, "confirm_code")?;
///
/// let code = NumericCode::generate()?;        // mailed to the user
/// let stored = key.digest(&code);            // stored in user_tokens
///
/// assert!(key.verify(code.as_str(), 6, &stored).is_ok());
/// assert!(key.verify("not it", 6, &stored).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CodeKey {
    key: DerivedKey,
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey([REDACTED])")
    }
}

impl CodeKey {
    /// Derives the key for `purpose` (1 to 64 characters of `a-z 0-9 _ - . :`).
    ///
    /// ```
    /// # use sigra_core::{keys::SecretKeyBase, token::CodeKey};
    /// let base = SecretKeyBase::new(vec![5u8; 64])?;
    /// assert!(CodeKey::derive(&base, "confirm_code").is_ok());
    /// assert!(CodeKey::derive(&base, "").is_err());
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn derive(base: &SecretKeyBase, purpose: &str) -> Result<Self, TokenError> {
        if !is_valid_purpose(purpose) {
            return Err(TokenError::InvalidPurpose);
        }
        Ok(Self {
            key: base.derive(&format!("{KEY_LABEL_PREFIX}{purpose}"))?,
        })
    }

    /// The digest to store: HMAC-SHA256 of the code's ASCII digits.
    ///
    /// ```
    /// # use sigra_core::{keys::SecretKeyBase, token::{CodeKey, NumericCode}};
    /// # let key = CodeKey::derive(&SecretKeyBase::new(vec![5u8; 64])?, "confirm_code")?;
    /// let a = key.digest(&NumericCode::parse("123456", 6)?);
    /// let b = key.digest(&NumericCode::parse("123-456", 6)?);
    /// assert_eq!(a, b);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn digest(&self, code: &NumericCode) -> TokenDigest {
        TokenDigest::from_bytes(keyed_digest(self.key.as_bytes(), code.0.as_bytes()))
    }

    /// Checks what a user typed against a stored digest: normalised to `digits` digits, then
    /// compared in constant time. Any error is a failed attempt.
    ///
    /// ```
    /// # use sigra_core::{keys::SecretKeyBase, token::{CodeKey, NumericCode, TokenError}};
    /// # let key = CodeKey::derive(&SecretKeyBase::new(vec![5u8; 64])?, "confirm_code")?;
    /// let stored = key.digest(&NumericCode::parse("246810", 6)?);
    /// assert!(key.verify("246 810", 6, &stored).is_ok());
    /// assert!(matches!(key.verify("246811", 6, &stored), Err(TokenError::CodeMismatch)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self, input: &str, digits: u8, stored: &TokenDigest) -> Result<(), TokenError> {
        let typed = NumericCode::parse(input, digits)?;
        if bool::from(self.digest(&typed).ct_eq(stored)) {
            Ok(())
        } else {
            Err(TokenError::CodeMismatch)
        }
    }
}

fn check_digits(digits: u8) -> Result<(), TokenError> {
    if (MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&digits) {
        Ok(())
    } else {
        Err(TokenError::CodeDigits { digits })
    }
}

/// HMAC-SHA256 of `data` under a 32-byte key.
pub(crate) fn keyed_digest(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        // HMAC accepts keys of any length; unreachable, but never panic.
        Err(_) => [0u8; 32],
    }
}

/// Characters ignored in typed codes: whitespace (including non-breaking), zero-width
/// characters, and dashes (`-`, U+2010–U+2015, U+2212 minus, small and full-width hyphens).
pub(crate) fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}'
                | '\u{2212}'
                | '\u{FE58}'
                | '\u{FE63}'
                | '\u{FF0D}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'
                | '\u{FEFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_generates_digits_only() {
        for digits in MIN_CODE_DIGITS..=MAX_CODE_DIGITS {
            for _ in 0..50 {
                let code = NumericCode::generate_with_digits(digits).unwrap();
                assert_eq!(code.digits(), digits);
                assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
                assert!(code.verify(code.as_str()).is_ok());
            }
        }
        for bad in [0, 5, 11, 255] {
            assert!(matches!(
                NumericCode::generate_with_digits(bad),
                Err(TokenError::CodeDigits { .. })
            ));
        }
    }

    #[test]
    fn normalisation() {
        let ok = [
            "123456",
            " 123456 ",
            "123 456",
            "123-456",
            "1-2-3-4-5-6",
            "123\u{00A0}456",
            "123\u{2013}456",
            "\u{200B}123456",
            "１２３４５６",
            "\t123\n456\r\n",
        ];
        for input in ok {
            assert_eq!(
                NumericCode::parse(input, 6).unwrap().as_str(),
                "123456",
                "{input:?}"
            );
        }
        assert!(matches!(
            NumericCode::parse("", 6),
            Err(TokenError::CodeEmpty)
        ));
        assert!(matches!(
            NumericCode::parse(" - ", 6),
            Err(TokenError::CodeEmpty)
        ));
        assert!(matches!(
            NumericCode::parse("1234567", 6),
            Err(TokenError::CodeLength {
                expected: 6,
                found: 7
            })
        ));
        assert!(matches!(
            NumericCode::parse(&"1".repeat(1000), 6),
            Err(TokenError::CodeLength {
                expected: 6,
                found: 255
            })
        ));
        for bad in ["12345O", "+123456", "12345.6", "١٢٣٤٥٦", "12345６x"] {
            assert!(
                matches!(
                    NumericCode::parse(bad, 6),
                    Err(TokenError::CodeInvalidCharacter)
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            NumericCode::parse("123456", 5),
            Err(TokenError::CodeDigits { digits: 5 })
        ));
    }

    #[test]
    fn keyed_digest_depends_on_purpose_and_code() {
        let base = SecretKeyBase::new(vec![8u8; 64]).unwrap();
        let a = CodeKey::derive(&base, "confirm_code").unwrap();
        let b = CodeKey::derive(&base, "other").unwrap();
        let code = NumericCode::parse("000001", 6).unwrap();
        assert_ne!(a.digest(&code), b.digest(&code));
        assert_ne!(
            a.digest(&code),
            a.digest(&NumericCode::parse("000002", 6).unwrap())
        );
        assert_ne!(a.digest(&code), TokenDigest::sha256(b"000001"));
        assert!(matches!(
            b.verify("000001", 6, &a.digest(&code)),
            Err(TokenError::CodeMismatch)
        ));
        assert!(format!("{a:?}").contains("REDACTED"));
    }
}
