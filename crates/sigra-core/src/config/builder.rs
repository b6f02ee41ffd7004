//! The builder: change groups, opt into dangers, read the environment, validate.

use super::{
    AccountConfig, AuditConfig, ConfigError, CookieConfig, JobsConfig, LockoutConfig, MfaConfig,
    PasskeyConfig, PasswordConfig, RateLimitConfig, SessionConfig, SigraConfig, TokenConfig,
    WebConfig, env, validate,
};

/// Builds a [`SigraConfig`]: starts from the defaults, applies changes, validates in
/// [`build`](Self::build).
///
/// Each group is changed through a closure, so new fields can be added without breaking
/// callers:
///
/// ```
/// use std::time::Duration;
/// use sigra_core::config::{SameSite, SigraConfig};
///
/// let config = SigraConfig::builder()
///     .session(|s| s.idle_timeout = Duration::from_secs(20 * 60))
///     .cookie(|c| {
///         c.name = "app_session".into();
///         c.same_site = SameSite::Strict;
///     })
///     .build()?;
/// assert_eq!(config.cookie().effective_name(), "__Host-app_session");
/// # Ok::<(), sigra_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct SigraConfigBuilder {
    config: SigraConfig,
}

macro_rules! group_setter {
    ($(#[$doc:meta])* $name:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, change: impl FnOnce(&mut $ty)) -> Self {
            change(&mut self.config.$name);
            self
        }
    };
}

impl SigraConfigBuilder {
    pub(crate) fn from_config(config: SigraConfig) -> Self {
        Self { config }
    }

    /// Dev mode: allows a non-`Secure` cookie for local HTTP. Default off
    /// (`SIGRA_DEV_MODE`).
    ///
    /// ```
    /// let config = sigra_core::config::SigraConfig::builder()
    ///     .dev_mode(true)
    ///     .cookie(|c| c.secure = false)
    ///     .build()?;
    /// assert_eq!(config.cookie().effective_name(), "sigra_session");
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn dev_mode(mut self, on: bool) -> Self {
        self.config.dev_mode = on;
        self
    }

    group_setter!(
        /// Changes the session lifetimes.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder()
        ///     .session(|s| s.sudo_window = std::time::Duration::from_secs(600));
        /// assert_eq!(b.build()?.session().sudo_window.as_secs(), 600);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        session,
        SessionConfig
    );
    group_setter!(
        /// Changes the session cookie.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().cookie(|c| c.name = "sid".into());
        /// assert_eq!(b.build()?.cookie().name, "sid");
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        cookie,
        CookieConfig
    );
    group_setter!(
        /// Changes email token lifetimes and code limits.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().tokens(|t| t.resend.max = 2);
        /// assert_eq!(b.build()?.tokens().resend.max, 2);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        tokens,
        TokenConfig
    );
    group_setter!(
        /// Changes the account lockout.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().lockout(|l| l.threshold = 10);
        /// assert_eq!(b.build()?.lockout().threshold, 10);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        lockout,
        LockoutConfig
    );
    group_setter!(
        /// Changes two-factor authentication.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().mfa(|m| m.issuer = "Acme".into());
        /// assert_eq!(b.build()?.mfa().issuer, "Acme");
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        mfa,
        MfaConfig
    );
    group_setter!(
        /// Changes the per-IP rate limit.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().rate_limit(|r| r.auth.max = 20);
        /// assert_eq!(b.build()?.rate_limit().auth.max, 20);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        rate_limit,
        RateLimitConfig
    );
    group_setter!(
        /// Changes the password policy and Argon2id parameters.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().password(|p| {
        ///     p.min_chars = 12;
        ///     p.argon2.memory_kib = 65_536;
        /// });
        /// assert_eq!(b.build()?.password().argon2.memory_kib, 65_536);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        password,
        PasswordConfig
    );
    group_setter!(
        /// Changes account lifecycle settings.
        ///
        /// ```
        /// use sigra_core::config::UnconfirmedPolicy;
        /// let b = sigra_core::config::SigraConfig::builder()
        ///     .account(|a| a.unconfirmed = UnconfirmedPolicy::Block);
        /// assert_eq!(b.build()?.account().unconfirmed, UnconfirmedPolicy::Block);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        account,
        AccountConfig
    );
    group_setter!(
        /// Changes audit settings.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().audit(|a| a.metadata_max_bytes = 4096);
        /// assert_eq!(b.build()?.audit().metadata_max_bytes, 4096);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        audit,
        AuditConfig
    );
    group_setter!(
        /// Changes the job worker's settings.
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().jobs(|j| j.max_attempts = 3);
        /// assert_eq!(b.build()?.jobs().max_attempts, 3);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        jobs,
        JobsConfig
    );
    group_setter!(
        /// Changes the HTTP edge settings (trusted proxies, HSTS).
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().web(|w| w.trust_proxy = 1);
        /// assert_eq!(b.build()?.web().trust_proxy, 1);
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        web,
        WebConfig
    );
    group_setter!(
        /// Changes the passkey settings (relying party, challenge lifetime, sign-count policy).
        ///
        /// ```
        /// let b = sigra_core::config::SigraConfig::builder().passkey(|p| {
        ///     p.rp_id = "example.com".into();
        ///     p.rp_origin = "https://app.example.com".into();
        /// });
        /// assert_eq!(b.build()?.passkey().rp_id, "example.com");
        /// # Ok::<(), sigra_core::config::ConfigError>(())
        /// ```
        passkey,
        PasskeyConfig
    );

    /// Allows a session cookie without `Secure` outside dev mode. Only for setups where TLS
    /// ends in front of the app *and* the browser still talks plain HTTP, which is never
    /// right in production.
    ///
    /// ```
    /// use sigra_core::config::{Danger, SigraConfig};
    /// assert!(SigraConfig::builder().cookie(|c| c.secure = false).build().is_err());
    /// let config = SigraConfig::builder()
    ///     .danger_allow_insecure_cookies()
    ///     .cookie(|c| c.secure = false)
    ///     .build()?;
    /// assert_eq!(config.dangers(), [Danger::AllowInsecureCookies]);
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn danger_allow_insecure_cookies(mut self) -> Self {
        self.config.dangers.insecure_cookies = true;
        self
    }

    /// Allows Argon2id parameters below OWASP's minimum (m = 19456 KiB with t = 2, or
    /// m = 47104 KiB with t = 1). For tests, where hashing must be fast. Argon2's own limits
    /// (t ≥ 1, p ≥ 1, m ≥ 8p) still apply.
    ///
    /// ```
    /// use sigra_core::config::SigraConfig;
    /// let config = SigraConfig::builder()
    ///     .danger_weak_argon2_params()
    ///     .password(|p| {
    ///         p.argon2.memory_kib = 64;
    ///         p.argon2.iterations = 1;
    ///     })
    ///     .build()?;
    /// assert_eq!(config.password().argon2.memory_kib, 64);
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn danger_weak_argon2_params(mut self) -> Self {
        self.config.dangers.weak_argon2_params = true;
        self
    }

    /// Allows passwords shorter than 8 characters and switching off the common-password list.
    ///
    /// ```
    /// use sigra_core::config::SigraConfig;
    /// let config = SigraConfig::builder()
    ///     .danger_weak_password_policy()
    ///     .password(|p| p.min_chars = 4)
    ///     .build()?;
    /// assert_eq!(config.password().min_chars, 4);
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn danger_weak_password_policy(mut self) -> Self {
        self.config.dangers.weak_password_policy = true;
        self
    }

    /// Lifts the upper bounds on lifetimes: sudo window (1h), sessions (30d), the session
    /// cache, the MFA-pending step, email tokens and the lockout device cookie. Ordering rules
    /// (idle ≤ absolute) and browser limits still apply.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigra_core::config::SigraConfig;
    /// let long = |s: &mut sigra_core::config::SessionConfig| s.sudo_window = Duration::from_secs(7200);
    /// assert!(SigraConfig::builder().session(long).build().is_err());
    /// assert!(SigraConfig::builder().danger_allow_long_lifetimes().session(long).build().is_ok());
    /// ```
    pub fn danger_allow_long_lifetimes(mut self) -> Self {
        self.config.dangers.long_lifetimes = true;
        self
    }

    /// Lifts the upper bounds on attempt counts (lockout, code entry, resend, rate limit) and
    /// the 1-minute floor on lock durations. Zero is still refused.
    ///
    /// ```
    /// use sigra_core::config::SigraConfig;
    /// assert!(SigraConfig::builder().lockout(|l| l.threshold = 500).build().is_err());
    /// assert!(SigraConfig::builder().danger_lenient_attempt_limits().lockout(|l| l.threshold = 500).build().is_ok());
    /// assert!(SigraConfig::builder().danger_lenient_attempt_limits().lockout(|l| l.threshold = 0).build().is_err());
    /// ```
    pub fn danger_lenient_attempt_limits(mut self) -> Self {
        self.config.dangers.lenient_attempt_limits = true;
        self
    }

    /// Applies the `SIGRA_*` variables of the process environment; see
    /// [`apply_env_with`](Self::apply_env_with).
    ///
    /// ```
    /// let config = sigra_core::config::SigraConfig::builder().apply_env()?.build()?;
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn apply_env(self) -> Result<Self, ConfigError> {
        self.apply_env_with(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Applies every `SIGRA_*` variable that `lookup` returns a value for (see the table in
    /// the [module docs](super)). Surrounding whitespace is ignored; an empty value, or one
    /// that cannot be read, is an [`ConfigError::Env`] naming the variable, the value and
    /// the expected form. Danger switches cannot be set from the environment.
    ///
    /// ```
    /// use sigra_core::config::SigraConfig;
    /// let env = |name: &str| match name {
    ///     "SIGRA_SESSION_IDLE_TIMEOUT" => Some("20m".to_owned()),
    ///     "SIGRA_LOCKOUT_THRESHOLD" => Some("8".to_owned()),
    ///     _ => None,
    /// };
    /// let config = SigraConfig::builder().apply_env_with(env)?.build()?;
    /// assert_eq!(config.session().idle_timeout.as_secs(), 1200);
    /// assert_eq!(config.lockout().threshold, 8);
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn apply_env_with(
        mut self,
        lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        env::apply(&mut self.config, lookup)?;
        Ok(self)
    }

    /// Validates and returns the configuration, or every rule it breaks.
    ///
    /// ```
    /// use std::time::Duration;
    /// let err = sigra_core::config::SigraConfig::builder()
    ///     .session(|s| s.idle_timeout = Duration::from_secs(25 * 3600))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid Sigra configuration: session.idle_timeout (SIGRA_SESSION_IDLE_TIMEOUT) is 25h: must not exceed session.absolute_timeout (24h)"
    /// );
    /// ```
    pub fn build(self) -> Result<SigraConfig, ConfigError> {
        let violations = validate::validate(&self.config);
        if violations.is_empty() {
            Ok(self.config)
        } else {
            Err(ConfigError::Invalid { violations })
        }
    }
}
