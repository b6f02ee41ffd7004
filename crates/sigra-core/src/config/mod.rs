//! [`SigraConfig`]: every default of Sigra in one place, validated.
//!
//! # Design
//!
//! - **Plain data.** Settings are small plain structs with public fields, one per concern
//!   ([`SessionConfig`], [`CookieConfig`], [`TokenConfig`], [`LockoutConfig`],
//!   [`RateLimitConfig`], [`PasswordConfig`] with [`Argon2Config`], [`AccountConfig`],
//!   [`AuditConfig`], [`JobsConfig`], [`WebConfig`], [`PasskeyConfig`]). A feature's group arrives with the
//!   feature: there are no settings for what is not built yet. Durations are
//!   [`std::time::Duration`] everywhere; Argon2id parameters are plain numbers. This module uses no other module's types, so it depends on
//!   nothing and everything may depend on it.
//! - **Valid by construction.** A [`SigraConfig`] comes only from [`SigraConfig::default`]
//!   (the reference behaviours), [`SigraConfig::builder`] → [`SigraConfigBuilder::build`], or
//!   [`SigraConfig::from_env`]; each validates. Its groups are read through accessors, so a
//!   config cannot be changed into an invalid one afterwards ([`SigraConfig::to_builder`]
//!   starts a new round).
//! - **Refuse the unsafe, name the fix.** Validation reports every broken rule at once, each
//!   naming the setting, its variable, its value and the rule. Nonsense (0 attempts, idle >
//!   absolute, `SameSite=None` without `Secure`) is always refused. Risky values are refused
//!   unless the code opts in with a `danger_*` builder method, so a reviewer sees it:
//!   - `danger_allow_insecure_cookies()`: a cookie without `Secure` outside dev mode;
//!   - `danger_weak_argon2_params()`: Argon2id below OWASP's minimum (for tests) — marked
//!     (W) in the table;
//!   - `danger_weak_password_policy()`: minimum length below 8, common-password list off;
//!   - `danger_allow_long_lifetimes()`: lifetimes above the bounds marked (L);
//!   - `danger_lenient_attempt_limits()`: attempt counts above the bounds marked (A), lock
//!     durations under a minute.
//!
//!   Dangers cannot be switched on from the environment; [`SigraConfig::dangers`] lists the
//!   ones in effect (for `cargo sigra doctor`).
//! - **No secrets.** The secret key base is [`crate::keys::SecretKeyBase`] and the encryption
//!   keys are [`crate::encryption::Keyring`]; this config holds neither, so its `Debug` output
//!   is safe to log.
//!
//! # Environment variables
//!
//! [`SigraConfig::from_env`] starts from the defaults and applies every variable below that is
//! set. Durations are `90s`, `30m`, `24h`, `60d` or a plain number of seconds; booleans are
//! `true`, `false`, `1` or `0`; names are case-insensitive. An empty or unreadable value is an
//! error naming the variable, the value and the expected form. [`SigraConfig::from_env_with`]
//! takes the lookup as a function, for tests and other sources.
//!
//! | Setting | Variable | Default | Rule |
//! |---|---|---|---|
//! | `dev_mode` | `SIGRA_DEV_MODE` | `false` | Development mode: allows `cookie.secure = false` for local HTTP. |
//! | `session.idle_timeout` | `SIGRA_SESSION_IDLE_TIMEOUT` | `30m` | > 0, ≤ `session.absolute_timeout`. |
//! | `session.absolute_timeout` | `SIGRA_SESSION_ABSOLUTE_TIMEOUT` | `24h` | > 0, ≤ 30d (L). |
//! | `session.remember_me_absolute_timeout` | `SIGRA_SESSION_REMEMBER_ME_ABSOLUTE_TIMEOUT` | `60d` | > 0, ≤ 400d (browser cookie cap). |
//! | `session.remember_me_idle_timeout` | `SIGRA_SESSION_REMEMBER_ME_IDLE_TIMEOUT` | `none` | `none` or > 0 and ≤ the remember-me absolute timeout. |
//! | `session.last_active_write_interval` | `SIGRA_SESSION_LAST_ACTIVE_WRITE_INTERVAL` | `5m` | `last_active_at` write throttle; < the shortest idle timeout. |
//! | `session.sudo_window` | `SIGRA_SESSION_SUDO_WINDOW` | `5m` | > 0, ≤ 1h (L). |
//! | `session.mfa_pending_timeout` | `SIGRA_SESSION_MFA_PENDING_TIMEOUT` | `5m` | > 0, ≤ 30m (L). |
//! | `session.cache_ttl` | `SIGRA_SESSION_CACHE_TTL` | `10s` | How long a session read is served from memory; `0s` = never; ≤ 1m (L). |
//! | `session.max_per_user` | `SIGRA_SESSION_MAX_PER_USER` | `100` | Sessions one user keeps; a login beyond it ends the least recently active ones; ≥ 1. |
//! | `cookie.name` | `SIGRA_COOKIE_NAME` | `sigra_session` | 1–64 cookie-token characters, without `__Host-`/`__Secure-`. |
//! | `cookie.secure` | `SIGRA_COOKIE_SECURE` | `true` | `false` only in dev mode or with `danger_allow_insecure_cookies()`. |
//! | `cookie.host_prefix` | `SIGRA_COOKIE_HOST_PREFIX` | `true` | Adds `__Host-` to the name when `secure`. |
//! | `cookie.same_site` | `SIGRA_COOKIE_SAME_SITE` | `lax` | `strict`, `lax`, `none` (`none` needs `secure`). |
//! | `tokens.confirm_ttl` | `SIGRA_TOKEN_CONFIRM_TTL` | `48h` | Email confirmation link and code; > 0, ≤ 30d (L). |
//! | `tokens.reset_password_ttl` | `SIGRA_TOKEN_RESET_PASSWORD_TTL` | `1h` | > 0, ≤ 24h (L). |
//! | `tokens.change_email_ttl` | `SIGRA_TOKEN_CHANGE_EMAIL_TTL` | `24h` | > 0, ≤ 7d (L). |
//! | `tokens.magic_link_ttl` | `SIGRA_TOKEN_MAGIC_LINK_TTL` | `15m` | > 0, ≤ 1h (L). |
//! | `tokens.code_attempts.max` | `SIGRA_TOKEN_CODE_ATTEMPTS_MAX` | `5` | Code entries per user per window; 1–20 (A). |
//! | `tokens.code_attempts.window` | `SIGRA_TOKEN_CODE_ATTEMPTS_WINDOW` | `15m` | > 0. |
//! | `tokens.resend.max` | `SIGRA_TOKEN_RESEND_MAX` | `3` | Confirmation resends per window; 1–100 (A). |
//! | `tokens.resend.window` | `SIGRA_TOKEN_RESEND_WINDOW` | `15m` | > 0. |
//! | `lockout.threshold` | `SIGRA_LOCKOUT_THRESHOLD` | `5` | Failed logins that lock the account; 1–100 (A). |
//! | `lockout.duration` | `SIGRA_LOCKOUT_DURATION` | `15m` | > 0, ≥ 1m (A). |
//! | `lockout.device_cookie_ttl` | `SIGRA_LOCKOUT_DEVICE_COOKIE_TTL` | `365d` | Lifetime of the device cookie a password login earns, which keeps that browser out of locks caused by other clients' failures; renewed on each password login; ≤ 400d (L). |
//! | `mfa.issuer` | `SIGRA_MFA_ISSUER` | `Sigra` | The name authenticator apps show beside the account; 1–64 characters, no `:`. |
//! | `mfa.lockout_threshold` | `SIGRA_MFA_LOCKOUT_THRESHOLD` | `5` | Wrong codes (TOTP and backup codes together) that lock MFA; 1–100 (A). |
//! | `mfa.lockout_duration` | `SIGRA_MFA_LOCKOUT_DURATION` | `15m` | > 0, ≥ 1m (A). |
//! | `mfa.trust_ttl` | `SIGRA_MFA_TRUST_TTL` | `30d` | How long "trust this browser" skips the second factor; ≤ 400d (L). |
//! | `mfa.backup_codes_warn_below` | `SIGRA_MFA_BACKUP_CODES_WARN_BELOW` | `3` | Warn when fewer unused backup codes remain; 0–8. |
//! | `rate_limit.auth.max` | `SIGRA_RATE_LIMIT_AUTH_MAX` | `10` | Auth POSTs per IP per window; 1–1000 (A). |
//! | `rate_limit.auth.window` | `SIGRA_RATE_LIMIT_AUTH_WINDOW` | `1m` | > 0. |
//! | `password.min_chars` | `SIGRA_PASSWORD_MIN_CHARS` | `8` | 1–64; below 8 needs `danger_weak_password_policy()`. |
//! | `password.max_bytes` | `SIGRA_PASSWORD_MAX_BYTES` | `1024` | Longer input is refused, never truncated; 256–65536. |
//! | `password.reject_common` | `SIGRA_PASSWORD_REJECT_COMMON` | `true` | `false` needs `danger_weak_password_policy()`. |
//! | `password.breach_check` | `SIGRA_PASSWORD_BREACH_CHECK` | `false` | Refuse passwords known from breaches (Pwned Passwords range API, k-anonymity) at registration, reset and change; `true` needs sigra-core's `breach-check` feature. |
//! | `password.breach_check_url` | `SIGRA_PASSWORD_BREACH_CHECK_URL` | `https://api.pwnedpasswords.com` | The range service; `https://` or `http://` with a host, no query. |
//! | `password.breach_check_timeout` | `SIGRA_PASSWORD_BREACH_CHECK_TIMEOUT` | `2s` | One check, connection included; 1s–30s. |
//! | `password.breach_check_on_failure` | `SIGRA_PASSWORD_BREACH_CHECK_ON_FAILURE` | `allow` | Service down or answering garbage: `allow` (log a warning) or `refuse` (form error). |
//! | `password.argon2.memory_kib` | `SIGRA_ARGON2_MEMORY_KIB` | `19456` | ≥ 19456 (W), ≥ 8 × parallelism, ≤ 4194304. |
//! | `password.argon2.iterations` | `SIGRA_ARGON2_ITERATIONS` | `2` | ≥ 1; ≥ 2 unless memory ≥ 47104 (W). |
//! | `password.argon2.parallelism` | `SIGRA_ARGON2_PARALLELISM` | `1` | 1–64. |
//! | `password.argon2.max_concurrent` | `SIGRA_ARGON2_MAX_CONCURRENT` | `auto` | Hashes at once; `auto` = CPU cores, or 1–1024. |
//! | `account.unconfirmed` | `SIGRA_ACCOUNT_UNCONFIRMED` | `allow` | `allow` (with a banner) or `block`. |
//! | `audit.metadata_max_bytes` | `SIGRA_AUDIT_METADATA_MAX_BYTES` | `8192` | 256–1048576. |
//! | `jobs.poll_interval` | `SIGRA_JOBS_POLL_INTERVAL` | `2s` | How often an idle job worker looks for due jobs; 1s–1m. |
//! | `jobs.lease` | `SIGRA_JOBS_LEASE` | `1m` | A worker's claim on a job; 10s–1h, longer than any job (the SMTP timeout). |
//! | `jobs.max_attempts` | `SIGRA_JOBS_MAX_ATTEMPTS` | `10` | Attempts before a job is dead; 1–50. |
//! | `jobs.retry_base` | `SIGRA_JOBS_RETRY_BASE` | `30s` | Delay after the first failure, doubling (with jitter); 1s ≤ base ≤ `jobs.retry_max`. |
//! | `jobs.retry_max` | `SIGRA_JOBS_RETRY_MAX` | `1h` | Longest delay between attempts; ≤ 24h. |
//! | `jobs.concurrency` | `SIGRA_JOBS_CONCURRENCY` | `4` | Jobs one worker runs at once; 1–64. |
//! | `jobs.keep_done` | `SIGRA_JOBS_KEEP_DONE` | `7d` | How long finished jobs are kept (payload scrubbed); ≤ 365d. |
//! | `jobs.keep_dead` | `SIGRA_JOBS_KEEP_DEAD` | `30d` | How long dead jobs are kept for operators; ≤ 365d. |
//! | `jobs.shutdown_grace` | `SIGRA_JOBS_SHUTDOWN_GRACE` | `10s` | On shutdown, time for running jobs before they are released; ≤ 10m. |
//! | `web.trust_proxy` | `SIGRA_TRUST_PROXY` | `0` | Reverse proxies to trust for the client address; `true` = 1, `false` = 0, or 0–10. |
//! | `web.hsts_max_age` | `SIGRA_HSTS_MAX_AGE` | `365d` | `Strict-Transport-Security` when cookies are `Secure`; `0` = no header; ≤ 730d. |
//! | `web.login_path` | `SIGRA_LOGIN_PATH` | `/users/log_in` | Where `RequireUser` sends browsers; a local path (`/…`, no `//`, `?`, `#`). |
//! | `web.sudo_path` | `SIGRA_SUDO_PATH` | `/users/sudo` | Where `RequireSudo` sends browsers; same rules. |
//! | `passkey.rp_id` | `SIGRA_PASSKEY_RP_ID` | `localhost` | The domain passkeys are bound to; a lowercase host name, the origin's host or a parent of it. |
//! | `passkey.rp_origin` | `SIGRA_PASSKEY_RP_ORIGIN` | `http://localhost:3000` | The exact origin of the app's pages: `https://host[:port]`, `http://` only for `localhost`; no path. |
//! | `passkey.rp_name` | `SIGRA_PASSKEY_RP_NAME` | `Sigra` | Shown by authenticators; 1–64 characters. |
//! | `passkey.challenge_ttl` | `SIGRA_PASSKEY_CHALLENGE_TTL` | `1m` | How long a ceremony's challenge lives in the database; 10s–10m. |
//! | `passkey.sign_count_policy` | `SIGRA_PASSKEY_SIGN_COUNT_POLICY` | `reauth` | A passkey's counter went backwards (a copied key?): `warn` (audit, allow), `reauth` (refuse this sign-in) or `revoke` (delete the passkey, refuse). |
//!
//! (L) needs `danger_allow_long_lifetimes()` to exceed; (A) needs
//! `danger_lenient_attempt_limits()`; (W) needs `danger_weak_argon2_params()`.
//!
//! Secrets live elsewhere: `SIGRA_SECRET_KEY_BASE` ([`crate::keys`]) and
//! `SIGRA_ENCRYPTION_KEYS` ([`crate::encryption`]).
//!
//! ```
//! use sigra_core::config::SigraConfig;
//!
//! let config = SigraConfig::from_env_with(|name| match name {
//!     "SIGRA_SESSION_IDLE_TIMEOUT" => Some("45m".into()),
//!     "SIGRA_ACCOUNT_UNCONFIRMED" => Some("block".into()),
//!     _ => None,
//! })?;
//! assert_eq!(config.session().idle_timeout.as_secs(), 45 * 60);
//!
//! let err = SigraConfig::from_env_with(|name| {
//!     (name == "SIGRA_SESSION_SUDO_WINDOW").then(|| "5 minutes".into())
//! })
//! .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "SIGRA_SESSION_SUDO_WINDOW=\"5 minutes\" cannot be read: expected a duration such as 90s, 30m, 24h, 60d or a plain number of seconds"
//! );
//! # Ok::<(), sigra_core::config::ConfigError>(())
//! ```

mod account;
mod builder;
mod danger;
mod env;
mod jobs;
mod mfa;
mod passkey;
mod password;
mod protection;
mod session;
mod tokens;
mod units;
mod validate;
mod web;

pub use account::{AccountConfig, AuditConfig, UnconfirmedPolicy};
pub use builder::SigraConfigBuilder;
pub use danger::Danger;
pub use jobs::JobsConfig;
pub use mfa::MfaConfig;
pub use passkey::{PasskeyConfig, SignCountPolicy};
pub use password::{Argon2Config, BreachCheckFailure, PasswordConfig};
pub use protection::{LockoutConfig, RateLimitConfig};
pub use session::{CookieConfig, SameSite, SessionConfig};
pub use tokens::{Limit, TokenConfig};
pub use web::WebConfig;

/// Errors from loading or validating the configuration. The config holds no secrets, so
/// messages may quote values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable's value could not be read.
    #[error("{var}={value:?} cannot be read: expected {expected}")]
    Env {
        /// The variable, e.g. `SIGRA_SESSION_IDLE_TIMEOUT`.
        var: &'static str,
        /// The value found (at most 64 characters of it).
        value: String,
        /// What the value should look like.
        expected: &'static str,
    },
    /// The configuration breaks one or more rules.
    #[error("invalid Sigra configuration: {}", join(violations))]
    Invalid {
        /// Every broken rule, in the order of the settings table.
        violations: Vec<Violation>,
    },
}

fn join(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConfigError {
    /// The broken rules (empty for [`ConfigError::Env`]).
    ///
    /// ```
    /// let err = sigra_core::config::SigraConfig::builder()
    ///     .lockout(|l| l.threshold = 0)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.violations()[0].setting, "lockout.threshold");
    /// ```
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Invalid { violations } => violations,
            Self::Env { .. } => &[],
        }
    }
}

/// One broken rule.
///
/// ```
/// let err = sigra_core::config::SigraConfig::builder()
///     .rate_limit(|r| r.auth.max = 0)
///     .build()
///     .unwrap_err();
/// let v = &err.violations()[0];
/// assert_eq!((v.setting, v.env_var, v.value.as_str()), ("rate_limit.auth.max", "SIGRA_RATE_LIMIT_AUTH_MAX", "0"));
/// assert!(v.rule.starts_with("must be at least 1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} ({env_var}) is {value}: {rule}")]
#[non_exhaustive]
pub struct Violation {
    /// The setting's path, e.g. `session.idle_timeout`.
    pub setting: &'static str,
    /// The setting's environment variable.
    pub env_var: &'static str,
    /// The value it has, in environment-variable syntax.
    pub value: String,
    /// The rule it breaks, and the `danger_*` method that relaxes it, if any.
    pub rule: String,
}

/// The `danger_*` switches in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Dangers {
    insecure_cookies: bool,
    weak_argon2_params: bool,
    weak_password_policy: bool,
    long_lifetimes: bool,
    lenient_attempt_limits: bool,
}

/// The whole configuration: every default of Sigra, validated. See the [module docs](self)
/// for the settings table.
///
/// `Debug` is safe to log: the config holds no secrets.
///
/// ```
/// use sigra_core::config::SigraConfig;
/// let config = SigraConfig::default();
/// assert_eq!(config.session().idle_timeout.as_secs(), 30 * 60);
/// assert_eq!(config.lockout().threshold, 5);
/// assert!(config.dangers().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SigraConfig {
    dev_mode: bool,
    session: SessionConfig,
    cookie: CookieConfig,
    tokens: TokenConfig,
    lockout: LockoutConfig,
    mfa: MfaConfig,
    rate_limit: RateLimitConfig,
    password: PasswordConfig,
    account: AccountConfig,
    audit: AuditConfig,
    jobs: JobsConfig,
    web: WebConfig,
    passkey: PasskeyConfig,
    dangers: Dangers,
}

macro_rules! group_getter {
    ($(#[$doc:meta])* $name:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $name(&self) -> &$ty {
            &self.$name
        }
    };
}

impl SigraConfig {
    /// A builder starting from the defaults.
    ///
    /// ```
    /// let config = sigra_core::config::SigraConfig::builder().build()?;
    /// assert_eq!(config, sigra_core::config::SigraConfig::default());
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn builder() -> SigraConfigBuilder {
        SigraConfigBuilder::default()
    }

    /// A builder starting from this configuration (dangers included).
    ///
    /// ```
    /// use sigra_core::config::SigraConfig;
    /// let base = SigraConfig::default();
    /// let strict = base.to_builder().lockout(|l| l.threshold = 3).build()?;
    /// assert_eq!(strict.lockout().threshold, 3);
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn to_builder(&self) -> SigraConfigBuilder {
        SigraConfigBuilder::from_config(self.clone())
    }

    /// The defaults with the process environment's `SIGRA_*` variables applied, validated.
    ///
    /// ```
    /// let config = sigra_core::config::SigraConfig::from_env()?;
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().apply_env()?.build()
    }

    /// The defaults with the `SIGRA_*` variables that `lookup` returns applied, validated.
    ///
    /// ```
    /// let config = sigra_core::config::SigraConfig::from_env_with(|name| {
    ///     (name == "SIGRA_TOKEN_MAGIC_LINK_TTL").then(|| "300".into())
    /// })?;
    /// assert_eq!(config.tokens().magic_link_ttl.as_secs(), 300);
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn from_env_with(lookup: impl FnMut(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::builder().apply_env_with(lookup)?.build()
    }

    /// Every setting as `(variable, value)` in environment-variable syntax, in table order.
    /// Feeding these back through [`from_env_with`](Self::from_env_with) gives the same
    /// settings (dangers are not variables).
    ///
    /// ```
    /// let env = sigra_core::config::SigraConfig::default().to_env();
    /// assert!(env.contains(&("SIGRA_SESSION_ABSOLUTE_TIMEOUT", "24h".to_owned())));
    /// ```
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        env::SETTINGS
            .iter()
            .map(|s| (s.env_var, (s.get)(self)))
            .collect()
    }

    /// The names of every environment variable this module reads, in table order.
    ///
    /// ```
    /// let names = sigra_core::config::SigraConfig::env_var_names();
    /// assert_eq!(names[0], "SIGRA_DEV_MODE");
    /// ```
    pub fn env_var_names() -> Vec<&'static str> {
        env::SETTINGS.iter().map(|s| s.env_var).collect()
    }

    /// The `danger_*` builder methods in effect, in [`Danger::ALL`] order, for a doctor or a
    /// startup warning (each displays as its method's name).
    ///
    /// ```
    /// use sigra_core::config::{Danger, SigraConfig};
    /// let config = SigraConfig::builder().danger_weak_argon2_params().build()?;
    /// assert_eq!(config.dangers(), [Danger::WeakArgon2Params]);
    /// for danger in config.dangers() {
    ///     eprintln!("warning: {danger} is on"); // "danger_weak_argon2_params is on"
    /// }
    /// # Ok::<(), sigra_core::config::ConfigError>(())
    /// ```
    pub fn dangers(&self) -> Vec<Danger> {
        Danger::ALL
            .into_iter()
            .filter(|&danger| self.allows(danger))
            .collect()
    }

    /// Whether `danger`'s builder method was called.
    ///
    /// ```
    /// use sigra_core::config::{Danger, SigraConfig};
    /// assert!(!SigraConfig::default().allows(Danger::AllowInsecureCookies));
    /// ```
    pub fn allows(&self, danger: Danger) -> bool {
        let d = &self.dangers;
        match danger {
            Danger::AllowInsecureCookies => d.insecure_cookies,
            Danger::WeakArgon2Params => d.weak_argon2_params,
            Danger::WeakPasswordPolicy => d.weak_password_policy,
            Danger::AllowLongLifetimes => d.long_lifetimes,
            Danger::LenientAttemptLimits => d.lenient_attempt_limits,
        }
    }

    /// Whether dev mode is on (`SIGRA_DEV_MODE`).
    ///
    /// ```
    /// assert!(!sigra_core::config::SigraConfig::default().dev_mode());
    /// ```
    pub fn dev_mode(&self) -> bool {
        self.dev_mode
    }

    group_getter!(
        /// Session lifetimes.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().session().sudo_window.as_secs(), 300);
        /// ```
        session,
        SessionConfig
    );
    group_getter!(
        /// The session cookie.
        ///
        /// ```
        /// assert!(sigra_core::config::SigraConfig::default().cookie().secure);
        /// ```
        cookie,
        CookieConfig
    );
    group_getter!(
        /// Email token lifetimes and code limits.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().tokens().magic_link_ttl.as_secs(), 900);
        /// ```
        tokens,
        TokenConfig
    );
    group_getter!(
        /// Account lockout.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().lockout().threshold, 5);
        /// ```
        lockout,
        LockoutConfig
    );
    group_getter!(
        /// Two-factor authentication.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().mfa().lockout_threshold, 5);
        /// ```
        mfa,
        MfaConfig
    );
    group_getter!(
        /// The per-IP rate limit.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().rate_limit().auth.max, 10);
        /// ```
        rate_limit,
        RateLimitConfig
    );
    group_getter!(
        /// Password policy and Argon2id parameters.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().password().argon2.memory_kib, 19_456);
        /// ```
        password,
        PasswordConfig
    );
    group_getter!(
        /// Account lifecycle settings.
        ///
        /// ```
        /// use sigra_core::config::{SigraConfig, UnconfirmedPolicy};
        /// assert_eq!(SigraConfig::default().account().unconfirmed, UnconfirmedPolicy::Allow);
        /// ```
        account,
        AccountConfig
    );
    group_getter!(
        /// Audit settings.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().audit().metadata_max_bytes, 8192);
        /// ```
        audit,
        AuditConfig
    );
    group_getter!(
        /// Job worker settings (the outbox).
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().jobs().max_attempts, 10);
        /// ```
        jobs,
        JobsConfig
    );
    group_getter!(
        /// The HTTP edge: trusted proxies and Strict-Transport-Security.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().web().trust_proxy, 0);
        /// ```
        web,
        WebConfig
    );
    group_getter!(
        /// Passkeys: the relying party, challenge lifetime and sign-count policy.
        ///
        /// ```
        /// assert_eq!(sigra_core::config::SigraConfig::default().passkey().challenge_ttl.as_secs(), 60);
        /// ```
        passkey,
        PasskeyConfig
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings table in these module docs matches the code: same variables, same order,
    /// and each default column is what `SigraConfig::default()` renders.
    #[test]
    fn docs_table_matches_the_settings() {
        let docs = include_str!("mod.rs");
        let rows: Vec<(String, String, String)> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("//! | `"))
            .map(|l| {
                let cells: Vec<&str> = l.split(" | ").collect();
                let strip = |s: &str| s.trim_matches('`').to_owned();
                (strip(cells[0]), strip(cells[1]), strip(cells[2]))
            })
            .collect();
        let defaults = SigraConfig::default();
        let expected: Vec<(String, String, String)> = env::SETTINGS
            .iter()
            .map(|s| (s.path.to_owned(), s.env_var.to_owned(), (s.get)(&defaults)))
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn every_rule_names_a_known_setting() {
        // Break everything at once; each violation must resolve to a setting and variable.
        let mut c = SigraConfig::default();
        c.session.idle_timeout = std::time::Duration::ZERO;
        c.cookie.name = String::new();
        c.cookie.secure = false;
        c.lockout.threshold = 0;
        c.password.argon2.parallelism = 0;
        c.tokens.resend.max = 0;
        c.jobs.concurrency = 0;
        c.audit.metadata_max_bytes = 0;
        let violations = validate::validate(&c);
        assert!(violations.len() >= 8, "{violations:?}");
        for v in violations {
            assert!(v.env_var.starts_with("SIGRA_"), "{v}");
            assert!(env::find(v.setting).is_some(), "{v}");
        }
    }
}
