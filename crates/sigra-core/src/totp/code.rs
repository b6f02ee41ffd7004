//! [`Totp`]: codes for a time, and replay-safe verification of submitted codes.
//!
//! Each step's code comes from totp-rs ([`super::hotp`]); the step arithmetic, the input
//! parsing and the verification loop stay here, because totp-rs's `check` stops at the first
//! match, knows nothing of the last accepted step, and returns as soon as one step matches (the
//! loop here computes and compares every step of the window, in constant time).

use std::time::{SystemTime, UNIX_EPOCH};

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::hotp::{code as step_code, engine};
use super::{Digits, TotpError, TotpParams, TotpSecret};

/// A TOTP credential (RFC 6238): a [`TotpSecret`] and its [`TotpParams`].
///
/// Times are Unix seconds (`i64`, as [`time::OffsetDateTime::unix_timestamp`] returns); the
/// `*_now` methods read the system clock. Times before the epoch are refused with
/// [`TotpError::TimeBeforeEpoch`]; no time makes these methods panic.
///
/// ```
/// use sigra_core::totp::{Totp, TotpParams, TotpSecret};
/// // RFC 6238 Appendix B, SHA-1, T = 59 s, truncated to 6 digits.
/// let secret = TotpSecret::from_bytes(b"12345678901234567890")?;
/// let totp = Totp::new(secret, TotpParams::default())?;
/// assert_eq!(totp.code_at(59)?, "287082");
/// assert_eq!(totp.verify("287 082", 59, None)?, 1);
/// # Ok::<(), sigra_core::totp::TotpError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totp {
    secret: TotpSecret,
    params: TotpParams,
}

impl Totp {
    /// Combines a secret with parameters, after checking them ([`TotpParams::validate`]).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpError, TotpParams, TotpSecret};
    /// let secret = TotpSecret::from_bytes(&[1; 20])?;
    /// assert!(matches!(
    ///     Totp::new(secret, TotpParams::default().with_skew(100)),
    ///     Err(TotpError::SkewTooLarge { .. })
    /// ));
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn new(secret: TotpSecret, params: TotpParams) -> Result<Self, TotpError> {
        params.validate()?;
        Ok(Self { secret, params })
    }

    /// A new credential with a random secret sized for `params.algorithm`
    /// ([`TotpSecret::generate`]).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// assert_eq!(totp.secret().expose_bytes().len(), 20);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn generate(params: TotpParams) -> Result<Self, TotpError> {
        params.validate()?;
        let secret = TotpSecret::generate(params.algorithm)?;
        Ok(Self { secret, params })
    }

    /// The secret (to encrypt and store at enrolment).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// let to_store: &[u8] = totp.secret().expose_bytes();
    /// # assert_eq!(to_store.len(), 20);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn secret(&self) -> &TotpSecret {
        &self.secret
    }

    /// The parameters.
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// assert_eq!(totp.params().period, 30);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// The time step containing `unix_time`: `unix_time / period` (RFC 6238 with `T0 = 0`).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpError, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// assert_eq!(totp.step_at(59)?, 1);
    /// assert_eq!(totp.step_at(60)?, 2);
    /// assert!(matches!(totp.step_at(-1), Err(TotpError::TimeBeforeEpoch)));
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn step_at(&self, unix_time: i64) -> Result<u64, TotpError> {
        let seconds = u64::try_from(unix_time).map_err(|_| TotpError::TimeBeforeEpoch)?;
        // `validate` guarantees a non-zero period; `checked_div` keeps this total anyway.
        seconds
            .checked_div(u64::from(self.params.period))
            .ok_or(TotpError::TimeOutOfRange)
    }

    /// The code for the step containing `unix_time`.
    ///
    /// ```
    /// use sigra_core::totp::{Algorithm, Digits, Totp, TotpParams, TotpSecret};
    /// // RFC 6238 Appendix B, SHA-256, T = 1111111109 s.
    /// let secret = TotpSecret::from_bytes(b"12345678901234567890123456789012")?;
    /// let params = TotpParams::default()
    ///     .with_algorithm(Algorithm::Sha256)
    ///     .with_digits(Digits::Eight);
    /// assert_eq!(Totp::new(secret, params)?.code_at(1_111_111_109)?, "68084774");
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn code_at(&self, unix_time: i64) -> Result<String, TotpError> {
        self.code_at_step(self.step_at(unix_time)?)
    }

    /// The code for time step `step` (the HOTP code with counter `step`).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpParams, TotpSecret};
    /// let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890")?, TotpParams::default())?;
    /// assert_eq!(totp.code_at_step(1)?, totp.code_at(59)?);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn code_at_step(&self, step: u64) -> Result<String, TotpError> {
        let engine = engine(&self.secret, self.params.algorithm, self.params.digits);
        Ok(step_code(&engine, step).to_string())
    }

    /// The code for the current time (system clock).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// assert_eq!(totp.code_now()?.len(), 6);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn code_now(&self) -> Result<String, TotpError> {
        self.code_at(unix_now()?)
    }

    /// Verifies a submitted `code` at `unix_time` and returns the step it matched.
    ///
    /// `code` may have surrounding and inner whitespace (`"123 456"`); anything else that is not
    /// a digit gives [`TotpError::CodeNotNumeric`], a wrong count [`TotpError::CodeLength`].
    /// Every step from `skew` before to `skew` after the current one is computed and compared
    /// in constant time. `last_step` is the step last accepted for this user (`None` if never):
    /// a code matching only steps at or below it gives [`TotpError::Replayed`]; no match gives
    /// [`TotpError::WrongCode`].
    ///
    /// On success, store the returned step as the user's new `last_step` with a single
    /// compare-and-set (`... SET last_step = $step WHERE last_step IS NULL OR last_step <
    /// $step`) and treat "no row updated" as a replay: see the [module docs](super).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpError, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// let now = 1_700_000_000;
    /// let step = totp.verify(&totp.code_at(now)?, now, None)?;
    /// assert_eq!(step, totp.step_at(now)?);
    /// // The same code again: refused.
    /// assert!(matches!(
    ///     totp.verify(&totp.code_at(now)?, now, Some(step)),
    ///     Err(TotpError::Replayed { .. })
    /// ));
    /// // The next step's code: accepted (within the skew).
    /// assert_eq!(totp.verify(&totp.code_at_step(step + 1)?, now, Some(step))?, step + 1);
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn verify(
        &self,
        code: &str,
        unix_time: i64,
        last_step: Option<u64>,
    ) -> Result<u64, TotpError> {
        let submitted = parse_code(code, self.params.digits)?;
        let current = self.step_at(unix_time)?;
        let skew = u64::from(self.params.skew);
        let first = current.saturating_sub(skew);
        let last = current.saturating_add(skew);

        let engine = engine(&self.secret, self.params.algorithm, self.params.digits);

        let mut fresh_found = Choice::from(0);
        let mut fresh_step = 0u64;
        let mut stale_found = Choice::from(0);
        let mut stale_step = 0u64;
        // Every candidate is computed and compared; the loop never exits early.
        for candidate in first..=last {
            let expected = code_value(&step_code(&engine, candidate));
            let matches = expected.ct_eq(&submitted);
            // Step numbers and `last_step` are not secret; only the match is.
            let is_fresh = Choice::from(u8::from(last_step.is_none_or(|used| candidate > used)));
            let fresh_match = matches & is_fresh;
            let stale_match = matches & !is_fresh;
            // Ascending order: the highest matching step wins.
            fresh_step.conditional_assign(&candidate, fresh_match);
            stale_step.conditional_assign(&candidate, stale_match);
            fresh_found |= fresh_match;
            stale_found |= stale_match;
        }
        if bool::from(fresh_found) {
            Ok(fresh_step)
        } else if bool::from(stale_found) {
            Err(TotpError::Replayed { step: stale_step })
        } else {
            Err(TotpError::WrongCode)
        }
    }

    /// [`verify`](Self::verify) at the current time (system clock).
    ///
    /// ```
    /// use sigra_core::totp::{Totp, TotpError, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// let step = totp.verify_now(&totp.code_now()?, None)?;
    /// assert!(step > 0);
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn verify_now(&self, code: &str, last_step: Option<u64>) -> Result<u64, TotpError> {
        self.verify(code, unix_now()?, last_step)
    }
}

/// The system clock in Unix seconds.
fn unix_now() -> Result<i64, TotpError> {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| TotpError::TimeBeforeEpoch)?;
    i64::try_from(elapsed.as_secs()).map_err(|_| TotpError::TimeOutOfRange)
}

/// The numeric value of a code totp-rs wrote (zero-padded ASCII digits only).
fn code_value(code: &str) -> u32 {
    code.bytes().fold(0u32, |value, b| {
        value
            .wrapping_mul(10)
            .wrapping_add(u32::from(b.wrapping_sub(b'0')))
    })
}

/// Reads a submitted code: whitespace anywhere is ignored, anything else must be an ASCII
/// digit, and there must be exactly `digits` of them.
fn parse_code(code: &str, digits: Digits) -> Result<u32, TotpError> {
    let expected = usize::from(digits.count());
    let mut value: u32 = 0;
    let mut found: usize = 0;
    for c in code.chars() {
        if c.is_whitespace() {
            continue;
        }
        let Some(digit) = c.to_digit(10) else {
            return Err(TotpError::CodeNotNumeric);
        };
        found = found.saturating_add(1);
        if found <= expected {
            // At most 8 digits: below 10^8, far from u32::MAX.
            value = value.saturating_mul(10).saturating_add(digit);
        }
    }
    if found != expected {
        return Err(TotpError::CodeLength {
            expected: digits.count(),
            found,
        });
    }
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn code_parsing() {
        assert_eq!(parse_code("012345", Digits::Six).unwrap(), 12_345);
        assert_eq!(parse_code(" 012 345\t", Digits::Six).unwrap(), 12_345);
        assert_eq!(parse_code("1234 5678", Digits::Eight).unwrap(), 12_345_678);
        assert!(matches!(
            parse_code("12a456", Digits::Six),
            Err(TotpError::CodeNotNumeric)
        ));
        assert!(matches!(
            parse_code("123-456", Digits::Six),
            Err(TotpError::CodeNotNumeric)
        ));
        // Non-ASCII digits are not digits here.
        assert!(matches!(
            parse_code("١٢٣٤٥٦", Digits::Six),
            Err(TotpError::CodeNotNumeric)
        ));
        assert!(matches!(
            parse_code("12345", Digits::Six),
            Err(TotpError::CodeLength {
                expected: 6,
                found: 5
            })
        ));
        assert!(matches!(
            parse_code("", Digits::Six),
            Err(TotpError::CodeLength { found: 0, .. })
        ));
        assert!(matches!(
            parse_code(&"9".repeat(100), Digits::Eight),
            Err(TotpError::CodeLength { found: 100, .. })
        ));
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let totp = Totp::new(
            TotpSecret::from_bytes(&[3; 20]).unwrap(),
            TotpParams::default().with_skew(super::super::MAX_SKEW),
        )
        .unwrap();
        assert!(matches!(
            totp.code_at(i64::MIN),
            Err(TotpError::TimeBeforeEpoch)
        ));
        assert!(totp.code_at(i64::MAX).is_ok());
        assert!(matches!(
            totp.verify("000000", i64::MIN, None),
            Err(TotpError::TimeBeforeEpoch)
        ));
        let code = totp.code_at(i64::MAX).unwrap();
        assert!(totp.verify(&code, i64::MAX, Some(u64::MAX)).is_err());
        assert!(totp.verify(&code, i64::MAX, None).is_ok());
        let code = totp.code_at(0).unwrap();
        assert_eq!(totp.verify(&code, 0, None).unwrap(), 0);
        let p1 = Totp::new(
            TotpSecret::from_bytes(&[3; 20]).unwrap(),
            TotpParams::default().with_period(1),
        )
        .unwrap();
        assert_eq!(p1.step_at(i64::MAX).unwrap(), i64::MAX as u64);
        assert!(p1.code_at(i64::MAX).is_ok());
    }
}
