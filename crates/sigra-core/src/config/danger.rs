//! [`Danger`]: the `danger_*` switches of the builder, as values.

use std::fmt;

/// A risky setting allowed on purpose by a `danger_*` method of the
/// [builder](super::SigraConfigBuilder). [`SigraConfig::dangers`](super::SigraConfig::dangers)
/// lists those in effect, for a startup warning or a doctor check;
/// [`SigraConfig::allows`](super::SigraConfig::allows) asks about one. None can be switched on
/// from the environment.
///
/// `Display` shows the builder method, so a warning names what to look for in the code.
///
/// ```
/// use sigra_core::config::{Danger, SigraConfig};
///
/// let config = SigraConfig::builder().danger_weak_argon2_params().build()?;
/// assert_eq!(config.dangers(), [Danger::WeakArgon2Params]);
/// assert!(config.allows(Danger::WeakArgon2Params));
/// assert_eq!(Danger::WeakArgon2Params.to_string(), "danger_weak_argon2_params");
/// # Ok::<(), sigra_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Danger {
    /// `danger_allow_insecure_cookies`: `cookie.secure = false` outside dev mode.
    AllowInsecureCookies,
    /// `danger_weak_argon2_params`: Argon2id below OWASP's minimum (tests only).
    WeakArgon2Params,
    /// `danger_weak_password_policy`: minimum length below 8, common-password list off.
    WeakPasswordPolicy,
    /// `danger_allow_long_lifetimes`: lifetimes above their bounds.
    AllowLongLifetimes,
    /// `danger_lenient_attempt_limits`: attempt counts above their bounds, short locks.
    LenientAttemptLimits,
}

impl Danger {
    /// Every danger, in the order [`SigraConfig::dangers`](super::SigraConfig::dangers) lists
    /// them.
    ///
    /// ```
    /// use sigra_core::config::Danger;
    /// assert_eq!(Danger::ALL.len(), 5);
    /// assert!(Danger::ALL.iter().all(|d| d.method().starts_with("danger_")));
    /// ```
    pub const ALL: [Self; 5] = [
        Self::AllowInsecureCookies,
        Self::WeakArgon2Params,
        Self::WeakPasswordPolicy,
        Self::AllowLongLifetimes,
        Self::LenientAttemptLimits,
    ];

    /// The builder method that switches it on.
    ///
    /// ```
    /// use sigra_core::config::Danger;
    /// assert_eq!(Danger::AllowInsecureCookies.method(), "danger_allow_insecure_cookies");
    /// ```
    pub fn method(self) -> &'static str {
        match self {
            Self::AllowInsecureCookies => "danger_allow_insecure_cookies",
            Self::WeakArgon2Params => "danger_weak_argon2_params",
            Self::WeakPasswordPolicy => "danger_weak_password_policy",
            Self::AllowLongLifetimes => "danger_allow_long_lifetimes",
            Self::LenientAttemptLimits => "danger_lenient_attempt_limits",
        }
    }
}

impl fmt::Display for Danger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.method())
    }
}
