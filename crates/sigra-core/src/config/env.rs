//! `SIGRA_*` environment variables: the table of settings, and total parsers for their values.

use super::account::UnconfirmedPolicy;
use super::passkey::SignCountPolicy;
use super::password::BreachCheckFailure;
use super::session::SameSite;
use super::{ConfigError, SigraConfig};
use std::time::Duration;

/// What a value should have looked like (the end of an [`ConfigError::Env`] message).
type Expected = &'static str;

/// One setting: where it lives, its variable, how to read and show it.
pub(crate) struct Setting {
    pub(crate) path: &'static str,
    pub(crate) env_var: &'static str,
    set: fn(&mut SigraConfig, &str) -> Result<(), Expected>,
    pub(crate) get: fn(&SigraConfig) -> String,
}

macro_rules! setting {
    ($path:literal, $env:literal, $($field:ident).+, $parse:path, $show:path) => {
        Setting {
            path: $path,
            env_var: $env,
            set: |c, v| {
                c.$($field).+ = $parse(v)?;
                Ok(())
            },
            get: |c| $show(&c.$($field).+),
        }
    };
}

/// Every setting, in the order of the documentation table.
#[rustfmt::skip]
pub(crate) static SETTINGS: &[Setting] = &[
    setting!("dev_mode", "SIGRA_DEV_MODE", dev_mode, boolean, show_bool),
    setting!("session.idle_timeout", "SIGRA_SESSION_IDLE_TIMEOUT", session.idle_timeout, duration, show_duration),
    setting!("session.absolute_timeout", "SIGRA_SESSION_ABSOLUTE_TIMEOUT", session.absolute_timeout, duration, show_duration),
    setting!("session.remember_me_absolute_timeout", "SIGRA_SESSION_REMEMBER_ME_ABSOLUTE_TIMEOUT", session.remember_me_absolute_timeout, duration, show_duration),
    setting!("session.remember_me_idle_timeout", "SIGRA_SESSION_REMEMBER_ME_IDLE_TIMEOUT", session.remember_me_idle_timeout, optional_duration, show_optional_duration),
    setting!("session.last_active_write_interval", "SIGRA_SESSION_LAST_ACTIVE_WRITE_INTERVAL", session.last_active_write_interval, duration, show_duration),
    setting!("session.sudo_window", "SIGRA_SESSION_SUDO_WINDOW", session.sudo_window, duration, show_duration),
    setting!("session.mfa_pending_timeout", "SIGRA_SESSION_MFA_PENDING_TIMEOUT", session.mfa_pending_timeout, duration, show_duration),
    setting!("session.cache_ttl", "SIGRA_SESSION_CACHE_TTL", session.cache_ttl, duration, show_duration),
    setting!("session.max_per_user", "SIGRA_SESSION_MAX_PER_USER", session.max_per_user, number, show_number),
    setting!("cookie.name", "SIGRA_COOKIE_NAME", cookie.name, string, show_string),
    setting!("cookie.secure", "SIGRA_COOKIE_SECURE", cookie.secure, boolean, show_bool),
    setting!("cookie.host_prefix", "SIGRA_COOKIE_HOST_PREFIX", cookie.host_prefix, boolean, show_bool),
    setting!("cookie.same_site", "SIGRA_COOKIE_SAME_SITE", cookie.same_site, same_site, show_same_site),
    setting!("tokens.confirm_ttl", "SIGRA_TOKEN_CONFIRM_TTL", tokens.confirm_ttl, duration, show_duration),
    setting!("tokens.reset_password_ttl", "SIGRA_TOKEN_RESET_PASSWORD_TTL", tokens.reset_password_ttl, duration, show_duration),
    setting!("tokens.change_email_ttl", "SIGRA_TOKEN_CHANGE_EMAIL_TTL", tokens.change_email_ttl, duration, show_duration),
    setting!("tokens.magic_link_ttl", "SIGRA_TOKEN_MAGIC_LINK_TTL", tokens.magic_link_ttl, duration, show_duration),
    setting!("tokens.code_attempts.max", "SIGRA_TOKEN_CODE_ATTEMPTS_MAX", tokens.code_attempts.max, number, show_number),
    setting!("tokens.code_attempts.window", "SIGRA_TOKEN_CODE_ATTEMPTS_WINDOW", tokens.code_attempts.window, duration, show_duration),
    setting!("tokens.resend.max", "SIGRA_TOKEN_RESEND_MAX", tokens.resend.max, number, show_number),
    setting!("tokens.resend.window", "SIGRA_TOKEN_RESEND_WINDOW", tokens.resend.window, duration, show_duration),
    setting!("lockout.threshold", "SIGRA_LOCKOUT_THRESHOLD", lockout.threshold, number, show_number),
    setting!("lockout.duration", "SIGRA_LOCKOUT_DURATION", lockout.duration, duration, show_duration),
    setting!("lockout.device_cookie_ttl", "SIGRA_LOCKOUT_DEVICE_COOKIE_TTL", lockout.device_cookie_ttl, duration, show_duration),
    setting!("mfa.issuer", "SIGRA_MFA_ISSUER", mfa.issuer, string, show_string),
    setting!("mfa.lockout_threshold", "SIGRA_MFA_LOCKOUT_THRESHOLD", mfa.lockout_threshold, number, show_number),
    setting!("mfa.lockout_duration", "SIGRA_MFA_LOCKOUT_DURATION", mfa.lockout_duration, duration, show_duration),
    setting!("mfa.trust_ttl", "SIGRA_MFA_TRUST_TTL", mfa.trust_ttl, duration, show_duration),
    setting!("mfa.backup_codes_warn_below", "SIGRA_MFA_BACKUP_CODES_WARN_BELOW", mfa.backup_codes_warn_below, number, show_number),
    setting!("rate_limit.auth.max", "SIGRA_RATE_LIMIT_AUTH_MAX", rate_limit.auth.max, number, show_number),
    setting!("rate_limit.auth.window", "SIGRA_RATE_LIMIT_AUTH_WINDOW", rate_limit.auth.window, duration, show_duration),
    setting!("password.min_chars", "SIGRA_PASSWORD_MIN_CHARS", password.min_chars, number, show_number),
    setting!("password.max_bytes", "SIGRA_PASSWORD_MAX_BYTES", password.max_bytes, number, show_number),
    setting!("password.reject_common", "SIGRA_PASSWORD_REJECT_COMMON", password.reject_common, boolean, show_bool),
    setting!("password.breach_check", "SIGRA_PASSWORD_BREACH_CHECK", password.breach_check, boolean, show_bool),
    setting!("password.breach_check_url", "SIGRA_PASSWORD_BREACH_CHECK_URL", password.breach_check_url, string, show_string),
    setting!("password.breach_check_timeout", "SIGRA_PASSWORD_BREACH_CHECK_TIMEOUT", password.breach_check_timeout, duration, show_duration),
    setting!("password.breach_check_on_failure", "SIGRA_PASSWORD_BREACH_CHECK_ON_FAILURE", password.breach_check_on_failure, breach_check_failure, show_breach_check_failure),
    setting!("password.argon2.memory_kib", "SIGRA_ARGON2_MEMORY_KIB", password.argon2.memory_kib, number, show_number),
    setting!("password.argon2.iterations", "SIGRA_ARGON2_ITERATIONS", password.argon2.iterations, number, show_number),
    setting!("password.argon2.parallelism", "SIGRA_ARGON2_PARALLELISM", password.argon2.parallelism, number, show_number),
    setting!("password.argon2.max_concurrent", "SIGRA_ARGON2_MAX_CONCURRENT", password.argon2.max_concurrent, count_or_auto, show_count_or_auto),
    setting!("account.unconfirmed", "SIGRA_ACCOUNT_UNCONFIRMED", account.unconfirmed, unconfirmed, show_unconfirmed),
    setting!("audit.metadata_max_bytes", "SIGRA_AUDIT_METADATA_MAX_BYTES", audit.metadata_max_bytes, number, show_number),
    setting!("jobs.poll_interval", "SIGRA_JOBS_POLL_INTERVAL", jobs.poll_interval, duration, show_duration),
    setting!("jobs.lease", "SIGRA_JOBS_LEASE", jobs.lease, duration, show_duration),
    setting!("jobs.max_attempts", "SIGRA_JOBS_MAX_ATTEMPTS", jobs.max_attempts, number, show_number),
    setting!("jobs.retry_base", "SIGRA_JOBS_RETRY_BASE", jobs.retry_base, duration, show_duration),
    setting!("jobs.retry_max", "SIGRA_JOBS_RETRY_MAX", jobs.retry_max, duration, show_duration),
    setting!("jobs.concurrency", "SIGRA_JOBS_CONCURRENCY", jobs.concurrency, number, show_number),
    setting!("jobs.keep_done", "SIGRA_JOBS_KEEP_DONE", jobs.keep_done, duration, show_duration),
    setting!("jobs.keep_dead", "SIGRA_JOBS_KEEP_DEAD", jobs.keep_dead, duration, show_duration),
    setting!("jobs.shutdown_grace", "SIGRA_JOBS_SHUTDOWN_GRACE", jobs.shutdown_grace, duration, show_duration),
    setting!("web.trust_proxy", "SIGRA_TRUST_PROXY", web.trust_proxy, proxy_hops, show_number),
    setting!("web.hsts_max_age", "SIGRA_HSTS_MAX_AGE", web.hsts_max_age, duration, show_duration),
    setting!("web.login_path", "SIGRA_LOGIN_PATH", web.login_path, string, show_string),
    setting!("web.sudo_path", "SIGRA_SUDO_PATH", web.sudo_path, string, show_string),
    setting!("passkey.rp_id", "SIGRA_PASSKEY_RP_ID", passkey.rp_id, string, show_string),
    setting!("passkey.rp_origin", "SIGRA_PASSKEY_RP_ORIGIN", passkey.rp_origin, string, show_string),
    setting!("passkey.rp_name", "SIGRA_PASSKEY_RP_NAME", passkey.rp_name, string, show_string),
    setting!("passkey.challenge_ttl", "SIGRA_PASSKEY_CHALLENGE_TTL", passkey.challenge_ttl, duration, show_duration),
    setting!("passkey.sign_count_policy", "SIGRA_PASSKEY_SIGN_COUNT_POLICY", passkey.sign_count_policy, sign_count_policy, show_sign_count_policy),
];

/// The setting at `path`, if any.
pub(crate) fn find(path: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.path == path)
}

/// Applies every variable `lookup` returns a value for. Stops at the first unreadable value.
pub(crate) fn apply(
    config: &mut SigraConfig,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for setting in SETTINGS {
        let Some(raw) = lookup(setting.env_var) else {
            continue;
        };
        let value = raw.trim();
        let result = if value.is_empty() {
            Err("a value; it is empty (unset the variable to keep the default)")
        } else {
            (setting.set)(config, value)
        };
        result.map_err(|expected| ConfigError::Env {
            var: setting.env_var,
            value: shorten(&raw),
            expected,
        })?;
    }
    Ok(())
}

/// At most 64 characters of a bad value, for the error message.
fn shorten(raw: &str) -> String {
    const MAX: usize = 64;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", raw.get(..cut).unwrap_or_default()),
        None => raw.to_owned(),
    }
}

// ------------------------------------------------------------------------ parsers (total)

const DURATION: Expected = "a duration such as 90s, 30m, 24h, 60d or a plain number of seconds";

/// `90s`, `30m`, `24h`, `60d` or plain seconds (`300`).
pub(crate) fn duration(v: &str) -> Result<Duration, Expected> {
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at_checked(split).ok_or(DURATION)?;
    if digits.is_empty() {
        return Err(DURATION);
    }
    let unit_secs: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(DURATION),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_secs))
        .map(Duration::from_secs)
        .ok_or("a duration that fits in 64 bits of seconds")
}

fn optional_duration(v: &str) -> Result<Option<Duration>, Expected> {
    if v.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    duration(v)
        .map(Some)
        .map_err(|_| "`none` or a duration such as 90s, 30m, 24h, 60d or plain seconds")
}

fn boolean(v: &str) -> Result<bool, Expected> {
    match v {
        "1" => Ok(true),
        "0" => Ok(false),
        _ if v.eq_ignore_ascii_case("true") => Ok(true),
        _ if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err("true, false, 1 or 0"),
    }
}

fn number(v: &str) -> Result<u32, Expected> {
    const NUMBER: Expected = "a whole number from 0 to 4294967295";
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NUMBER);
    }
    v.parse().map_err(|_| NUMBER)
}

/// `true` (one proxy), `false` (none) or a number of hops.
fn proxy_hops(v: &str) -> Result<u32, Expected> {
    const HOPS: Expected = "true, false or a number of proxies from 0 to 10";
    if v.eq_ignore_ascii_case("true") {
        return Ok(1);
    }
    if v.eq_ignore_ascii_case("false") {
        return Ok(0);
    }
    number(v).map_err(|_| HOPS)
}

fn count_or_auto(v: &str) -> Result<Option<usize>, Expected> {
    if v.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    number(v)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .map(Some)
        .ok_or("`auto` (one per CPU core) or a whole number")
}

fn string(v: &str) -> Result<String, Expected> {
    Ok(v.to_owned())
}

fn choice<T: Copy>(v: &str, options: &[(&str, T)], expected: Expected) -> Result<T, Expected> {
    options
        .iter()
        .find(|(name, _)| v.eq_ignore_ascii_case(name))
        .map(|&(_, value)| value)
        .ok_or(expected)
}

fn same_site(v: &str) -> Result<SameSite, Expected> {
    choice(
        v,
        &[
            ("strict", SameSite::Strict),
            ("lax", SameSite::Lax),
            ("none", SameSite::None),
        ],
        "strict, lax or none",
    )
}

fn unconfirmed(v: &str) -> Result<UnconfirmedPolicy, Expected> {
    choice(
        v,
        &[
            ("allow", UnconfirmedPolicy::Allow),
            ("block", UnconfirmedPolicy::Block),
        ],
        "allow or block",
    )
}

fn breach_check_failure(v: &str) -> Result<BreachCheckFailure, Expected> {
    choice(
        v,
        &[
            ("allow", BreachCheckFailure::Allow),
            ("refuse", BreachCheckFailure::Refuse),
        ],
        "allow or refuse",
    )
}

fn sign_count_policy(v: &str) -> Result<SignCountPolicy, Expected> {
    choice(
        v,
        &[
            ("warn", SignCountPolicy::Warn),
            ("reauth", SignCountPolicy::Reauth),
            ("revoke", SignCountPolicy::Revoke),
        ],
        "warn, reauth or revoke",
    )
}

// ------------------------------------------------------------------------ display

/// A duration in the largest unit that divides it exactly (days only from 7 days on, so
/// 48 hours stays `48h`); values that are not whole seconds are rounded down.
pub(crate) fn show_duration(d: &Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        "0s".to_owned()
    } else if s.is_multiple_of(86_400) && s >= 7 * 86_400 {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3_600) {
        format!("{}h", s / 3_600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn show_optional_duration(d: &Option<Duration>) -> String {
    d.as_ref().map_or_else(|| "none".to_owned(), show_duration)
}

fn show_bool(b: &bool) -> String {
    b.to_string()
}

fn show_number(n: &u32) -> String {
    n.to_string()
}

fn show_count_or_auto(n: &Option<usize>) -> String {
    n.map_or_else(|| "auto".to_owned(), |n| n.to_string())
}

fn show_string(s: &str) -> String {
    s.to_owned()
}

fn show_same_site(v: &SameSite) -> String {
    v.as_str().to_owned()
}

fn show_unconfirmed(v: &UnconfirmedPolicy) -> String {
    v.as_str().to_owned()
}

fn show_breach_check_failure(v: &BreachCheckFailure) -> String {
    v.as_str().to_owned()
}

fn show_sign_count_policy(v: &SignCountPolicy) -> String {
    v.as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(duration("60d"), Ok(Duration::from_secs(60 * 86_400)));
        assert_eq!(duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        for bad in [
            "",
            "m",
            "-5m",
            "+5m",
            "5 m",
            "5M",
            "1h30m",
            "1.5h",
            "5w",
            "٣m",
            "99999999999999999999d",
        ] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_show_in_the_largest_exact_unit() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (90, "90s"),
            (3600, "1h"),
            (48 * 3600, "48h"),
            (7 * 86_400, "7d"),
            (60 * 86_400, "60d"),
        ];
        for (secs, text) in cases {
            assert_eq!(show_duration(&Duration::from_secs(secs)), text);
            assert_eq!(duration(text), Ok(Duration::from_secs(secs)));
        }
    }

    #[test]
    fn scalars_parse() {
        assert_eq!(boolean("TRUE"), Ok(true));
        assert_eq!(boolean("0"), Ok(false));
        assert!(boolean("yes").is_err());
        assert_eq!(number("42"), Ok(42));
        assert!(number("+42").is_err());
        assert!(number("4294967296").is_err());
        assert_eq!(count_or_auto("auto"), Ok(None));
        assert_eq!(count_or_auto("4"), Ok(Some(4)));
        assert_eq!(same_site("Strict"), Ok(SameSite::Strict));
        assert!(same_site("lux").is_err());
        assert_eq!(unconfirmed("BLOCK"), Ok(UnconfirmedPolicy::Block));
        assert!(unconfirmed("deny").is_err());
        assert_eq!(sign_count_policy("Revoke"), Ok(SignCountPolicy::Revoke));
        assert!(sign_count_policy("ignore").is_err());
    }

    #[test]
    fn shorten_cuts_on_character_boundaries() {
        let long = "ż".repeat(100);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 65);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("abc"), "abc");
    }

    #[test]
    fn every_setting_is_named_once() {
        let mut paths: Vec<_> = SETTINGS.iter().map(|s| s.path).collect();
        let mut vars: Vec<_> = SETTINGS.iter().map(|s| s.env_var).collect();
        paths.sort_unstable();
        vars.sort_unstable();
        let n = SETTINGS.len();
        paths.dedup();
        vars.dedup();
        assert_eq!((paths.len(), vars.len()), (n, n));
        assert!(vars.iter().all(|v| v.starts_with("SIGRA_")));
    }
}
