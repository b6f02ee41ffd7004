//! [`PasswordPolicy`]: what a new password must satisfy.

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::{MAX_PASSWORD_BYTES, Password, PasswordError, is_common_password};

/// The least minimum length a policy may have, in characters (NIST SP 800-63B's floor).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The largest minimum a policy may ask for: 64 characters must always be choosable (NIST
/// SP 800-63B asks verifiers to accept at least 64).
const MAX_MIN_CHARS: usize = 64;

/// The rules a password must satisfy when a user chooses it (sign-up, change, reset).
///
/// Following NIST SP 800-63B:
/// - at least 8 characters, counted as Unicode characters, not bytes (`"pässwörd"` is 8);
/// - long passphrases are welcome: anything up to [`MAX_PASSWORD_BYTES`] (1024 bytes, so at
///   least 256 characters of any script and 1024 of ASCII) is accepted and hashed whole, never
///   truncated; longer input is refused with an error that names the limit;
/// - no composition rules (no "one digit, one symbol"): they make passwords harder to remember,
///   not harder to guess;
/// - passwords on the embedded list of 30,000 common passwords are refused, case-insensitively.
///
/// The breached-password check ([`check_not_breached`](super::check_not_breached)) is separate
/// and off unless the host plugs in a client.
///
/// ```
/// use sigra_core::password::{Password, PasswordError, PasswordPolicy};
///
/// let policy = PasswordPolicy::default();
/// assert!(policy.check(&Password::from("correct horse battery staple")).is_ok());
/// assert!(matches!(policy.check(&Password::from("1234567")), Err(PasswordError::TooShort { .. })));
/// assert!(matches!(policy.check(&Password::from("Password1")), Err(PasswordError::TooCommon)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_bytes: usize,
    reject_common: bool,
}

impl Default for PasswordPolicy {
    /// At least 8 characters, at most 1024 bytes, common passwords refused.
    fn default() -> Self {
        Self {
            min_chars: MIN_PASSWORD_CHARS,
            max_bytes: MAX_PASSWORD_BYTES,
            reject_common: true,
        }
    }
}

impl PasswordPolicy {
    /// Asks for at least `min_chars` characters (between 8 and 64).
    ///
    /// ```
    /// use sigra_core::password::{Password, PasswordPolicy};
    /// let policy = PasswordPolicy::default().with_min_chars(12)?;
    /// assert!(policy.check(&Password::from("eleven char")).is_err());
    /// assert!(PasswordPolicy::default().with_min_chars(6).is_err());
    /// # Ok::<(), sigra_core::password::PasswordError>(())
    /// ```
    pub fn with_min_chars(mut self, min_chars: usize) -> Result<Self, PasswordError> {
        if !(MIN_PASSWORD_CHARS..=MAX_MIN_CHARS).contains(&min_chars) {
            return Err(PasswordError::InvalidConfig {
                reason: format!(
                    "min_chars = {min_chars}: must be between {MIN_PASSWORD_CHARS} and {MAX_MIN_CHARS}"
                ),
            });
        }
        self.min_chars = min_chars;
        Ok(self)
    }

    /// The most bytes a password may have (default [`MAX_PASSWORD_BYTES`], 1024; between 256
    /// and 65,536). It bounds the work one request can cause; passwords are never truncated.
    ///
    /// ```
    /// use sigra_core::password::{Password, PasswordError, PasswordPolicy};
    /// let policy = PasswordPolicy::default().with_max_bytes(300)?;
    /// let err = policy.check(&Password::from("x".repeat(301))).unwrap_err();
    /// assert!(matches!(err, PasswordError::TooLong { max_bytes: 300 }));
    /// assert!(PasswordPolicy::default().with_max_bytes(100).is_err());
    /// # Ok::<(), PasswordError>(())
    /// ```
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Result<Self, PasswordError> {
        check_max_bytes(max_bytes)?;
        self.max_bytes = max_bytes;
        Ok(self)
    }

    /// The most bytes a password may have.
    ///
    /// ```
    /// assert_eq!(sigra_core::password::PasswordPolicy::default().max_bytes(), 1024);
    /// ```
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Stops refusing passwords from the common-password list. Only for tests and for hosts
    /// that run an equivalent check of their own.
    ///
    /// ```
    /// use sigra_core::password::{Password, PasswordPolicy};
    /// let policy = PasswordPolicy::default().danger_allow_common_passwords();
    /// assert!(policy.check(&Password::from("password1")).is_ok());
    /// ```
    pub fn danger_allow_common_passwords(mut self) -> Self {
        self.reject_common = false;
        self
    }

    /// The minimum length, in characters.
    ///
    /// ```
    /// assert_eq!(sigra_core::password::PasswordPolicy::default().min_chars(), 8);
    /// ```
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Checks a new password: length in bytes (at most [`max_bytes`](Self::max_bytes)), length in
    /// characters (at least [`min_chars`](Self::min_chars)), then the common-password list.
    ///
    /// ```
    /// use sigra_core::password::{Password, PasswordError, PasswordPolicy};
    /// let err = PasswordPolicy::default().check(&Password::from("x".repeat(1025))).unwrap_err();
    /// assert!(matches!(err, PasswordError::TooLong { max_bytes: 1024 }));
    /// assert!(err.to_string().contains("1024 bytes"));
    /// ```
    pub fn check(&self, password: &Password) -> Result<(), PasswordError> {
        if password.len_bytes() > self.max_bytes {
            return Err(PasswordError::TooLong {
                max_bytes: self.max_bytes,
            });
        }
        if password.char_count() < self.min_chars {
            return Err(PasswordError::TooShort {
                min_chars: self.min_chars,
            });
        }
        if self.reject_common && is_common_password(password.expose_secret()) {
            return Err(PasswordError::TooCommon);
        }
        Ok(())
    }

    /// [`check`](Self::check), then refuses a password equal (case-insensitively) to one of the
    /// account's own details: its email address, the email's local part, a username or a
    /// display name. Empty details are ignored.
    ///
    /// ```
    /// use sigra_core::password::{Password, PasswordError, PasswordPolicy};
    /// let policy = PasswordPolicy::default();
    /// let err = policy
    ///     .check_for_user(&Password::from("Ada.Lovelace"), &["ada.lovelace@example.com"])
    ///     .unwrap_err();
    /// assert!(matches!(err, PasswordError::MatchesUserInput));
    /// assert!(policy.check_for_user(&Password::from("analytical engine"), &["ada@example.com"]).is_ok());
    /// ```
    pub fn check_for_user(
        &self,
        password: &Password,
        user_inputs: &[&str],
    ) -> Result<(), PasswordError> {
        self.check(password)?;
        let candidate = Zeroizing::new(password.expose_secret().trim().to_lowercase());
        for input in user_inputs {
            let input = input.trim().to_lowercase();
            if input.is_empty() {
                continue;
            }
            let local_part = input.split_once('@').map(|(local, _)| local);
            if *candidate == input || local_part.is_some_and(|local| *candidate == local) {
                return Err(PasswordError::MatchesUserInput);
            }
        }
        Ok(())
    }
}

/// The range a password byte limit may take (also the configuration's `password.max_bytes`
/// rule).
pub(crate) const MAX_BYTES_RANGE: std::ops::RangeInclusive<usize> = 256..=65_536;

/// Checks a password byte limit against [`MAX_BYTES_RANGE`].
pub(crate) fn check_max_bytes(max_bytes: usize) -> Result<(), PasswordError> {
    if MAX_BYTES_RANGE.contains(&max_bytes) {
        Ok(())
    } else {
        Err(PasswordError::InvalidConfig {
            reason: format!("max_bytes = {max_bytes}: must be between 256 and 65536"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_checks() {
        let policy = PasswordPolicy::default();
        // Too long wins over everything.
        let long = Password::from("a".repeat(MAX_PASSWORD_BYTES + 1));
        assert!(matches!(
            policy.check(&long),
            Err(PasswordError::TooLong { .. })
        ));
        // Too short wins over common ("123456" is common and short).
        assert!(matches!(
            policy.check(&Password::from("123456")),
            Err(PasswordError::TooShort { min_chars: 8 })
        ));
    }

    #[test]
    fn user_inputs() {
        let policy = PasswordPolicy::default();
        let p = Password::from("grace.hopper");
        assert!(
            policy
                .check_for_user(&p, &["", "Grace.Hopper@navy.mil"])
                .is_err()
        );
        assert!(policy.check_for_user(&p, &["grace"]).is_ok());
    }
}
