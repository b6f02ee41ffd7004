//! The algorithm, digit count, period and skew of a TOTP credential.

use super::TotpError;

/// The longest period [`TotpParams`] accepts, in seconds: two minutes, the most NIST SP
/// 800-63B-4 (§3.1.4.1) allows for a time-based OTP.
pub const MAX_PERIOD: u32 = 120;

/// The largest skew [`TotpParams`] accepts, in steps either side of the current one.
pub const MAX_SKEW: u8 = 10;

/// The HMAC hash function (the `algorithm` of an `otpauth://` URI).
///
/// SHA-1 is the default and the only one every authenticator app supports; HMAC-SHA-1 is not
/// affected by SHA-1's collision weakness.
///
/// ```
/// use sigra_core::totp::Algorithm;
/// assert_eq!(Algorithm::default(), Algorithm::Sha1);
/// assert_eq!(Algorithm::Sha256.as_str(), "SHA256");
/// assert_eq!(Algorithm::Sha512.secret_len(), 64);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226, the default).
    #[default]
    Sha1,
    /// HMAC-SHA-256 (RFC 6238).
    Sha256,
    /// HMAC-SHA-512 (RFC 6238).
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs: `SHA1`, `SHA256` or `SHA512`.
    ///
    /// ```
    /// assert_eq!(sigra_core::totp::Algorithm::Sha1.as_str(), "SHA1");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// The length in bytes of a secret generated for this algorithm: the hash's output size
    /// (20, 32 or 64), as RFC 6238's reference implementation uses.
    ///
    /// ```
    /// assert_eq!(sigra_core::totp::Algorithm::Sha1.secret_len(), 20);
    /// ```
    pub const fn secret_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// How many digits a code has: 6 (the default) or 8.
///
/// ```
/// use sigra_core::totp::Digits;
/// assert_eq!(Digits::default().count(), 6);
/// assert_eq!(Digits::Eight.count(), 8);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Digits {
    /// Six digits (the default; what every authenticator app shows).
    #[default]
    Six,
    /// Eight digits.
    Eight,
}

impl Digits {
    /// The number of digits.
    ///
    /// ```
    /// assert_eq!(sigra_core::totp::Digits::Six.count(), 6);
    /// ```
    pub const fn count(self) -> u8 {
        match self {
            Self::Six => 6,
            Self::Eight => 8,
        }
    }
}

/// The parameters of a TOTP credential: algorithm, digits, period and verification skew.
///
/// The default is what authenticator apps expect: SHA-1, 6 digits, 30 s, and a skew of one
/// step either side. Change a field with the `with_*` methods; [`Totp::new`](super::Totp::new)
/// checks the values.
///
/// ```
/// use sigra_core::totp::{Algorithm, Digits, TotpParams};
/// let params = TotpParams::default()
///     .with_algorithm(Algorithm::Sha256)
///     .with_digits(Digits::Eight)
///     .with_skew(2);
/// assert_eq!(params.period, 30);
/// assert_eq!(params.skew, 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TotpParams {
    /// The HMAC hash function.
    pub algorithm: Algorithm,
    /// The number of digits of a code.
    pub digits: Digits,
    /// The length of a step in seconds, 1 to [`MAX_PERIOD`] (default 30).
    pub period: u32,
    /// How many steps before and after the current one verification accepts, 0 to
    /// [`MAX_SKEW`] (default 1). Not part of the `otpauth://` URI: the verifier's choice.
    pub skew: u8,
}

impl Default for TotpParams {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: Digits::Six,
            period: 30,
            skew: 1,
        }
    }
}

impl TotpParams {
    /// Returns these parameters with another algorithm.
    ///
    /// ```
    /// use sigra_core::totp::{Algorithm, TotpParams};
    /// let p = TotpParams::default().with_algorithm(Algorithm::Sha512);
    /// assert_eq!(p.algorithm, Algorithm::Sha512);
    /// ```
    #[must_use]
    pub const fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Returns these parameters with another digit count.
    ///
    /// ```
    /// use sigra_core::totp::{Digits, TotpParams};
    /// let p = TotpParams::default().with_digits(Digits::Eight);
    /// assert_eq!(p.digits, Digits::Eight);
    /// ```
    #[must_use]
    pub const fn with_digits(mut self, digits: Digits) -> Self {
        self.digits = digits;
        self
    }

    /// Returns these parameters with another period in seconds (checked by
    /// [`validate`](Self::validate)).
    ///
    /// ```
    /// use sigra_core::totp::TotpParams;
    /// assert_eq!(TotpParams::default().with_period(60).period, 60);
    /// ```
    #[must_use]
    pub const fn with_period(mut self, period: u32) -> Self {
        self.period = period;
        self
    }

    /// Returns these parameters with another skew in steps (checked by
    /// [`validate`](Self::validate)).
    ///
    /// ```
    /// use sigra_core::totp::TotpParams;
    /// assert_eq!(TotpParams::default().with_skew(0).skew, 0);
    /// ```
    #[must_use]
    pub const fn with_skew(mut self, skew: u8) -> Self {
        self.skew = skew;
        self
    }

    /// Checks the period (1 to [`MAX_PERIOD`]) and the skew (at most [`MAX_SKEW`]).
    ///
    /// ```
    /// use sigra_core::totp::{TotpError, TotpParams};
    /// assert!(TotpParams::default().validate().is_ok());
    /// assert!(matches!(
    ///     TotpParams::default().with_period(0).validate(),
    ///     Err(TotpError::InvalidPeriod { .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<(), TotpError> {
        if self.period == 0 || self.period > MAX_PERIOD {
            return Err(TotpError::InvalidPeriod {
                period: self.period,
                max: MAX_PERIOD,
            });
        }
        if self.skew > MAX_SKEW {
            return Err(TotpError::SkewTooLarge {
                skew: self.skew,
                max: MAX_SKEW,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_bounds() {
        let p = TotpParams::default();
        assert!(p.with_period(1).validate().is_ok());
        assert!(p.with_period(MAX_PERIOD).validate().is_ok());
        assert!(p.with_period(MAX_PERIOD + 1).validate().is_err());
        assert!(p.with_skew(MAX_SKEW).validate().is_ok());
        assert!(matches!(
            p.with_skew(MAX_SKEW + 1).validate(),
            Err(TotpError::SkewTooLarge { .. })
        ));
    }
}
