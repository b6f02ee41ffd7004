//! Integration tests for `SigraConfig`: the defaults are the reference behaviours, the
//! builder refuses unsafe values by name, `danger_*` relaxes exactly its rules, and loading
//! from the environment is total.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use sigra_core::config::{
    ConfigError, SameSite, SigraConfig, SigraConfigBuilder, UnconfirmedPolicy,
};
use std::collections::HashMap;
use std::time::Duration;

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
const fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}
const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}
const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

fn env(pairs: &[(&str, &str)]) -> impl FnMut(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

// ---------------------------------------------------------------- defaults (reference-behaviours.md)

#[test]
fn default_is_what_the_builder_builds_and_has_no_dangers() {
    let built = SigraConfig::builder().build().unwrap();
    assert_eq!(built, SigraConfig::default());
    assert!(built.dangers().is_empty());
    assert!(!built.dev_mode());
    assert_eq!(SigraConfig::from_env_with(|_| None).unwrap(), built);
}

#[test]
fn session_defaults() {
    let s = SigraConfig::default().session().clone();
    assert_eq!(s.idle_timeout, mins(30));
    assert_eq!(s.absolute_timeout, hours(24));
    assert_eq!(s.remember_me_absolute_timeout, days(60));
    assert_eq!(s.remember_me_idle_timeout, None);
    assert_eq!(s.last_active_write_interval, mins(5));
    assert_eq!(s.sudo_window, mins(5));
    assert_eq!(s.mfa_pending_timeout, mins(5));
    assert_eq!(s.max_per_user, 100);
}

#[test]
fn cookie_defaults() {
    let c = SigraConfig::default().cookie().clone();
    assert!(c.secure);
    assert!(c.host_prefix);
    assert_eq!(c.same_site, SameSite::Lax);
    assert_eq!(c.same_site.attribute(), "Lax");
    assert_eq!(c.name, "sigra_session");
    assert_eq!(c.effective_name(), "__Host-sigra_session");
}

#[test]
fn email_token_defaults() {
    let t = SigraConfig::default().tokens().clone();
    assert_eq!(t.confirm_ttl, hours(48));
    assert_eq!(t.reset_password_ttl, hours(1));
    assert_eq!(t.change_email_ttl, hours(24));
    assert_eq!(t.magic_link_ttl, mins(15));
    assert_eq!((t.code_attempts.max, t.code_attempts.window), (5, mins(15)));
    assert_eq!((t.resend.max, t.resend.window), (3, mins(15)));
}

#[test]
fn lockout_and_rate_limit_defaults() {
    let c = SigraConfig::default();
    assert_eq!(c.lockout().threshold, 5);
    assert_eq!(c.lockout().duration, mins(15));
    assert_eq!(c.lockout().device_cookie_ttl, days(365));
    // Browsers cap cookie lifetimes at 400 days; longer needs the danger method.
    assert!(
        b().lockout(|l| l.device_cookie_ttl = days(401))
            .build()
            .is_err()
    );
    assert!(
        b().lockout(|l| l.device_cookie_ttl = Duration::ZERO)
            .build()
            .is_err()
    );
    assert_eq!(c.rate_limit().auth.max, 10);
    assert_eq!(c.rate_limit().auth.window, mins(1));
}

#[test]
fn password_and_argon2_defaults() {
    let p = SigraConfig::default().password().clone();
    assert_eq!(p.min_chars, 8);
    assert_eq!(p.max_bytes, 1024);
    assert!(p.reject_common);
    assert!(!p.breach_check);
    assert_eq!(p.argon2.memory_kib, 19_456);
    assert_eq!(p.argon2.iterations, 2);
    assert_eq!(p.argon2.parallelism, 1);
    assert_eq!(p.argon2.max_concurrent, None);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(p.argon2.max_concurrent_hashes(), cores);
}

#[test]
fn account_and_audit_defaults() {
    let c = SigraConfig::default();
    assert_eq!(c.account().unconfirmed, UnconfirmedPolicy::Allow);
    assert_eq!(c.audit().metadata_max_bytes, 8 * 1024);
}

#[test]
fn mfa_defaults_and_rules() {
    let c = SigraConfig::default();
    assert_eq!(c.mfa().issuer, "Sigra");
    assert_eq!(c.mfa().lockout_threshold, 5);
    assert_eq!(c.mfa().lockout_duration.as_secs(), 15 * 60);
    assert_eq!(c.mfa().trust_ttl.as_secs(), 30 * 86_400);
    assert_eq!(c.mfa().backup_codes_warn_below, 3);
    for bad in ["", "a:b", &"x".repeat(65)] {
        let err = SigraConfig::builder()
            .mfa(|m| m.issuer = bad.to_owned())
            .build()
            .unwrap_err();
        assert_eq!(err.violations()[0].setting, "mfa.issuer");
    }
    assert!(
        SigraConfig::builder()
            .mfa(|m| m.lockout_threshold = 0)
            .build()
            .is_err()
    );
    assert!(
        SigraConfig::builder()
            .mfa(|m| m.backup_codes_warn_below = 9)
            .build()
            .is_err()
    );
    assert!(
        SigraConfig::builder()
            .mfa(|m| m.trust_ttl = std::time::Duration::from_secs(401 * 86_400))
            .build()
            .is_err()
    );
}

/// Settings exist only for what is built: a feature brings its group when it lands.
#[test]
fn no_settings_for_features_not_built_yet() {
    for gone in [
        "SIGRA_API_TOKEN_",
        "SIGRA_JWT_",
        "SIGRA_APP_SESSION_",
        "SIGRA_IMPERSONATION_",
        "SIGRA_ORG_",
        "SIGRA_WEBHOOK_",
        "SIGRA_ACCOUNT_DELETION_",
    ] {
        assert!(
            SigraConfig::env_var_names()
                .iter()
                .all(|n| !n.starts_with(gone)),
            "{gone}"
        );
    }
}

// ---------------------------------------------------------------- validation

/// Builds and expects a failure naming `setting` with a rule containing `rule`.
fn refused(builder: SigraConfigBuilder, setting: &str, rule: &str) -> String {
    let err = builder.build().expect_err("must be refused");
    let msg = err.to_string();
    let v = err
        .violations()
        .iter()
        .find(|v| v.setting == setting && v.rule.contains(rule))
        .unwrap_or_else(|| panic!("no violation of {setting} saying {rule:?} in: {msg}"));
    assert!(msg.contains(setting) && msg.contains(v.env_var), "{msg}");
    msg
}

fn b() -> SigraConfigBuilder {
    SigraConfig::builder()
}

#[test]
fn unsafe_values_are_refused_with_the_setting_and_the_rule() {
    refused(
        b().session(|s| s.idle_timeout = hours(25)),
        "session.idle_timeout",
        "must not exceed session.absolute_timeout (24h)",
    );
    refused(
        b().session(|s| s.idle_timeout = Duration::ZERO),
        "session.idle_timeout",
        "longer than 0",
    );
    refused(
        b().session(|s| s.sudo_window = mins(61)),
        "session.sudo_window",
        "at most 1h",
    );
    refused(
        b().session(|s| s.remember_me_idle_timeout = Some(days(61))),
        "session.remember_me_idle_timeout",
        "must not exceed session.remember_me_absolute_timeout",
    );
    refused(
        b().session(|s| s.max_per_user = 0),
        "session.max_per_user",
        "must be at least 1",
    );
    refused(
        b().session(|s| s.last_active_write_interval = mins(30)),
        "session.last_active_write_interval",
        "shorter than the shortest idle timeout",
    );
    refused(
        b().session(|s| s.remember_me_absolute_timeout = days(401)),
        "session.remember_me_absolute_timeout",
        "400 days",
    );
    refused(
        b().rate_limit(|r| r.auth.max = 0),
        "rate_limit.auth.max",
        "at least 1",
    );
    refused(
        b().rate_limit(|r| r.auth.window = Duration::ZERO),
        "rate_limit.auth.window",
        "longer than 0",
    );
    refused(
        b().lockout(|l| l.threshold = 0),
        "lockout.threshold",
        "0 would switch the protection off",
    );
    refused(
        b().tokens(|t| t.resend.max = 0),
        "tokens.resend.max",
        "at least 1",
    );
    refused(
        b().tokens(|t| t.code_attempts.max = 0),
        "tokens.code_attempts.max",
        "at least 1",
    );
    refused(
        b().tokens(|t| t.magic_link_ttl = hours(2)),
        "tokens.magic_link_ttl",
        "at most 1h",
    );
    refused(
        b().password(|p| p.argon2.memory_kib = 19_455),
        "password.argon2.memory_kib",
        "at least 19456 (OWASP",
    );
    refused(
        b().password(|p| p.argon2.iterations = 0),
        "password.argon2.iterations",
        "at least 1",
    );
    refused(
        b().password(|p| p.argon2.iterations = 1),
        "password.argon2.iterations",
        "at least 2 unless",
    );
    refused(
        b().password(|p| p.argon2.parallelism = 0),
        "password.argon2.parallelism",
        "from 1 to 64",
    );
    refused(
        b().password(|p| p.min_chars = 7),
        "password.min_chars",
        "at least 8",
    );
    refused(
        b().password(|p| p.min_chars = 65),
        "password.min_chars",
        "64-character passphrase",
    );
    refused(
        b().password(|p| p.max_bytes = 72),
        "password.max_bytes",
        "from 256",
    );
    refused(
        b().password(|p| p.reject_common = false),
        "password.reject_common",
        "danger_weak_password_policy()",
    );
    refused(
        b().cookie(|c| c.secure = false),
        "cookie.secure",
        "must be true outside dev mode",
    );
    refused(
        b().dev_mode(true).cookie(|c| {
            c.secure = false;
            c.same_site = SameSite::None;
        }),
        "cookie.same_site",
        "requires cookie.secure",
    );
    refused(
        b().cookie(|c| c.name = "__Host-sid".into()),
        "cookie.name",
        "must not carry a prefix",
    );
    refused(
        b().cookie(|c| c.name = "sid;x".into()),
        "cookie.name",
        "1 to 64 characters",
    );
    refused(
        b().tokens(|t| t.confirm_ttl = Duration::ZERO),
        "tokens.confirm_ttl",
        "longer than 0",
    );
    refused(
        b().session(|s| s.mfa_pending_timeout = mins(31)),
        "session.mfa_pending_timeout",
        "at most 30m",
    );
    refused(
        b().audit(|a| a.metadata_max_bytes = 0),
        "audit.metadata_max_bytes",
        "from 256",
    );
    refused(
        b().audit(|a| a.metadata_max_bytes = 2 * 1024 * 1024),
        "audit.metadata_max_bytes",
        "1048576",
    );
}

#[test]
fn a_message_names_setting_variable_value_rule_and_fix() {
    let msg = refused(
        b().session(|s| s.sudo_window = hours(2)),
        "session.sudo_window",
        "at most 1h",
    );
    assert_eq!(
        msg,
        "invalid Sigra configuration: session.sudo_window (SIGRA_SESSION_SUDO_WINDOW) is 2h: must be at most 1h (call danger_allow_long_lifetimes() to allow it)"
    );
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let err = b()
        .lockout(|l| l.threshold = 0)
        .rate_limit(|r| r.auth.max = 0)
        .cookie(|c| c.secure = false)
        .build()
        .unwrap_err();
    let settings: Vec<_> = err.violations().iter().map(|v| v.setting).collect();
    assert_eq!(
        settings,
        vec!["cookie.secure", "lockout.threshold", "rate_limit.auth.max"]
    );
    assert_eq!(err.to_string().matches("; ").count(), 2);
}

#[test]
fn danger_methods_relax_exactly_their_rules() {
    // Insecure cookies: dev mode or the danger switch.
    assert!(
        b().dev_mode(true)
            .cookie(|c| c.secure = false)
            .build()
            .is_ok()
    );
    let c = b()
        .danger_allow_insecure_cookies()
        .cookie(|c| c.secure = false)
        .build()
        .unwrap();
    assert_eq!(c.cookie().effective_name(), "sigra_session");
    assert_eq!(
        c.dangers(),
        [sigra_core::config::Danger::AllowInsecureCookies]
    );
    assert!(c.allows(sigra_core::config::Danger::AllowInsecureCookies));

    // Weak Argon2 for tests, but Argon2's own limits remain.
    let weak = || b().danger_weak_argon2_params();
    let c = weak()
        .password(|p| {
            p.argon2.memory_kib = 8;
            p.argon2.iterations = 1;
        })
        .build()
        .unwrap();
    assert_eq!(c.password().argon2.memory_kib, 8);
    refused(
        weak().password(|p| p.argon2.iterations = 0),
        "password.argon2.iterations",
        "at least 1",
    );
    refused(
        weak().password(|p| {
            p.argon2.memory_kib = 8;
            p.argon2.parallelism = 2;
        }),
        "password.argon2.memory_kib",
        "m >= 8p",
    );
    // ...and it relaxes nothing else.
    refused(
        weak().lockout(|l| l.threshold = 500),
        "lockout.threshold",
        "at most 100",
    );

    // Weak password policy.
    let c = b()
        .danger_weak_password_policy()
        .password(|p| {
            p.min_chars = 1;
            p.reject_common = false;
        })
        .build()
        .unwrap();
    assert_eq!(c.password().min_chars, 1);
    refused(
        b().danger_weak_password_policy()
            .password(|p| p.min_chars = 0),
        "password.min_chars",
        "at least 1",
    );

    // Long lifetimes: upper bounds go, ordering rules and browser caps stay.
    let c = b()
        .danger_allow_long_lifetimes()
        .session(|s| s.sudo_window = hours(8))
        .tokens(|t| t.magic_link_ttl = hours(2))
        .build()
        .unwrap();
    assert_eq!(c.session().sudo_window, hours(8));
    assert_eq!(c.tokens().magic_link_ttl, hours(2));
    refused(
        b().danger_allow_long_lifetimes()
            .session(|s| s.idle_timeout = hours(25)),
        "session.idle_timeout",
        "must not exceed",
    );
    refused(
        b().danger_allow_long_lifetimes()
            .session(|s| s.remember_me_absolute_timeout = days(500)),
        "session.remember_me_absolute_timeout",
        "400 days",
    );

    // Lenient attempt limits: big numbers and short locks, never zero.
    let c = b()
        .danger_lenient_attempt_limits()
        .lockout(|l| {
            l.threshold = 1000;
            l.duration = secs(10);
        })
        .tokens(|t| t.code_attempts.max = 50)
        .build()
        .unwrap();
    assert_eq!(c.lockout().threshold, 1000);
    assert_eq!(c.tokens().code_attempts.max, 50);
    refused(
        b().danger_lenient_attempt_limits()
            .rate_limit(|r| r.auth.max = 0),
        "rate_limit.auth.max",
        "at least 1",
    );

    // All at once are all listed, and survive `to_builder`.
    let all = b()
        .danger_allow_insecure_cookies()
        .danger_weak_argon2_params()
        .danger_weak_password_policy()
        .danger_allow_long_lifetimes()
        .danger_lenient_attempt_limits()
        .build()
        .unwrap();
    assert_eq!(all.dangers(), sigra_core::config::Danger::ALL);
    assert_eq!(
        all.to_builder().build().unwrap().dangers(),
        sigra_core::config::Danger::ALL
    );
}

// ---------------------------------------------------------------- environment

#[test]
fn env_values_of_every_kind_are_applied() {
    let c = SigraConfig::from_env_with(env(&[
        ("SIGRA_DEV_MODE", "1"),
        ("SIGRA_SESSION_IDLE_TIMEOUT", "90s"),
        ("SIGRA_SESSION_ABSOLUTE_TIMEOUT", "12h"),
        ("SIGRA_SESSION_REMEMBER_ME_ABSOLUTE_TIMEOUT", "90d"),
        ("SIGRA_SESSION_REMEMBER_ME_IDLE_TIMEOUT", "7d"),
        ("SIGRA_SESSION_LAST_ACTIVE_WRITE_INTERVAL", "60"),
        ("SIGRA_COOKIE_NAME", " app_sid "),
        ("SIGRA_COOKIE_SECURE", "false"),
        ("SIGRA_COOKIE_SAME_SITE", "Strict"),
        ("SIGRA_TOKEN_CODE_ATTEMPTS_MAX", "3"),
        ("SIGRA_TOKEN_MAGIC_LINK_TTL", "30m"),
        ("SIGRA_PASSWORD_BREACH_CHECK_ON_FAILURE", "Refuse"),
        ("SIGRA_ARGON2_MEMORY_KIB", "65536"),
        ("SIGRA_ARGON2_MAX_CONCURRENT", "4"),
        ("SIGRA_ACCOUNT_UNCONFIRMED", "block"),
        ("SIGRA_AUDIT_METADATA_MAX_BYTES", "4096"),
        ("SIGRA_JOBS_KEEP_DONE", "14d"),
        ("SIGRA_LOGIN_PATH", "/sign-in"),
        ("SIGRA_SESSION_MAX_PER_USER", "10000"),
    ]))
    .unwrap();
    assert_eq!(c.session().max_per_user, 10_000);
    assert!(c.dev_mode());
    assert_eq!(c.session().idle_timeout, secs(90));
    assert_eq!(c.session().absolute_timeout, hours(12));
    assert_eq!(c.session().remember_me_idle_timeout, Some(days(7)));
    assert_eq!(c.session().last_active_write_interval, secs(60));
    assert_eq!(c.cookie().name, "app_sid");
    assert!(!c.cookie().secure);
    assert_eq!(c.cookie().same_site, SameSite::Strict);
    assert_eq!(c.tokens().code_attempts.max, 3);
    assert_eq!(c.tokens().magic_link_ttl, mins(30));
    assert_eq!(
        c.password().breach_check_on_failure,
        sigra_core::config::BreachCheckFailure::Refuse
    );
    assert_eq!(c.password().argon2.memory_kib, 65_536);
    assert_eq!(c.password().argon2.max_concurrent_hashes(), 4);
    assert_eq!(c.account().unconfirmed, UnconfirmedPolicy::Block);
    assert_eq!(c.audit().metadata_max_bytes, 4096);
    assert_eq!(c.jobs().keep_done, days(14));
    assert_eq!(c.web().login_path, "/sign-in");
}

#[test]
fn unreadable_env_values_name_the_variable_and_the_value() {
    let cases = [
        (
            "SIGRA_SESSION_IDLE_TIMEOUT",
            "30 minutes",
            "a duration such as 90s, 30m, 24h, 60d",
        ),
        ("SIGRA_SESSION_IDLE_TIMEOUT", "-5m", "a duration"),
        ("SIGRA_SESSION_IDLE_TIMEOUT", "1h30m", "a duration"),
        (
            "SIGRA_SESSION_IDLE_TIMEOUT",
            "99999999999999999999",
            "fits in 64 bits",
        ),
        (
            "SIGRA_SESSION_REMEMBER_ME_IDLE_TIMEOUT",
            "never",
            "`none` or a duration",
        ),
        ("SIGRA_COOKIE_SECURE", "yes", "true, false, 1 or 0"),
        ("SIGRA_COOKIE_SAME_SITE", "lose", "strict, lax or none"),
        ("SIGRA_LOCKOUT_THRESHOLD", "five", "a whole number"),
        ("SIGRA_LOCKOUT_THRESHOLD", "-1", "a whole number"),
        ("SIGRA_ARGON2_MAX_CONCURRENT", "all", "`auto`"),
        ("SIGRA_ACCOUNT_UNCONFIRMED", "deny", "allow or block"),
        ("SIGRA_JOBS_LEASE", "1m,5m", "a duration"),
        ("SIGRA_AUDIT_METADATA_MAX_BYTES", "8 KiB", "a whole number"),
        ("SIGRA_TOKEN_MAGIC_LINK_TTL", "   ", "it is empty"),
        (
            "SIGRA_TRUST_PROXY",
            "yes",
            "true, false or a number of proxies",
        ),
    ];
    for (var, value, expected) in cases {
        let err = SigraConfig::from_env_with(env(&[(var, value)])).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, ConfigError::Env { var: v, .. } if *v == var),
            "{msg}"
        );
        assert!(msg.starts_with(&format!("{var}={value:?}")), "{msg}");
        assert!(msg.contains(expected), "{var}={value:?}: {msg}");
    }
}

#[test]
fn the_web_group_reads_proxies_and_hsts_and_refuses_nonsense() {
    let c = SigraConfig::default();
    assert_eq!(c.web().trust_proxy, 0);
    assert_eq!(c.web().hsts_max_age, days(365));
    for (value, hops) in [("true", 1), ("FALSE", 0), ("0", 0), ("2", 2), ("10", 10)] {
        let c = SigraConfig::from_env_with(env(&[("SIGRA_TRUST_PROXY", value)])).unwrap();
        assert_eq!(c.web().trust_proxy, hops, "{value}");
    }
    let err = SigraConfig::from_env_with(env(&[("SIGRA_TRUST_PROXY", "11")])).unwrap_err();
    assert_eq!(err.violations()[0].env_var, "SIGRA_TRUST_PROXY");
    let c = SigraConfig::from_env_with(env(&[("SIGRA_HSTS_MAX_AGE", "0")])).unwrap();
    assert!(c.web().hsts_max_age.is_zero());
    let err = SigraConfig::from_env_with(env(&[("SIGRA_HSTS_MAX_AGE", "800d")])).unwrap_err();
    assert_eq!(err.violations()[0].setting, "web.hsts_max_age");
    assert_eq!(c.web().login_path, "/users/log_in");
    assert_eq!(c.web().sudo_path, "/users/sudo");
    let c = SigraConfig::from_env_with(env(&[("SIGRA_LOGIN_PATH", "/sign-in")])).unwrap();
    assert_eq!(c.web().login_path, "/sign-in");
    // Anything a browser could read as another site is an open redirect: refused.
    for bad in [
        "sign-in",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/a?b",
        "/a#b",
        "/a b",
    ] {
        let err = SigraConfig::from_env_with(env(&[("SIGRA_SUDO_PATH", bad)])).unwrap_err();
        assert_eq!(err.violations()[0].setting, "web.sudo_path", "{bad}");
    }
}

#[test]
fn env_values_are_validated_like_builder_values() {
    let err = SigraConfig::from_env_with(env(&[("SIGRA_COOKIE_SECURE", "false")])).unwrap_err();
    assert_eq!(err.violations()[0].setting, "cookie.secure");
    assert!(err.to_string().contains("SIGRA_DEV_MODE=true"), "{err}");
    let err = SigraConfig::from_env_with(env(&[("SIGRA_ARGON2_MEMORY_KIB", "1024")])).unwrap_err();
    assert_eq!(err.violations()[0].env_var, "SIGRA_ARGON2_MEMORY_KIB");
    assert_eq!(err.violations()[0].value, "1024");
    // The builder's dangers still apply to values read from the environment.
    let c = b()
        .danger_weak_argon2_params()
        .apply_env_with(env(&[("SIGRA_ARGON2_MEMORY_KIB", "1024")]))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(c.password().argon2.memory_kib, 1024);
}

#[test]
fn only_the_documented_variables_are_read_and_no_danger_comes_from_the_environment() {
    let mut asked = Vec::new();
    let c = SigraConfig::from_env_with(|name| {
        asked.push(name.to_owned());
        Some("true".to_owned()).filter(|_| name.starts_with("SIGRA_DANGER"))
    })
    .unwrap();
    assert_eq!(asked, SigraConfig::env_var_names());
    assert!(asked.iter().all(|n| !n.contains("DANGER")));
    assert!(c.dangers().is_empty());
    assert_eq!(asked.len(), 63);
}

#[test]
fn to_env_round_trips() {
    let custom = b()
        .dev_mode(true)
        .session(|s| {
            s.idle_timeout = secs(1234);
            s.remember_me_idle_timeout = Some(days(3));
        })
        .cookie(|c| c.secure = false)
        .password(|p| p.argon2.max_concurrent = Some(3))
        .tokens(|t| t.magic_link_ttl = secs(90))
        .account(|a| a.unconfirmed = UnconfirmedPolicy::Block)
        .jobs(|j| j.keep_done = Duration::ZERO)
        .passkey(|p| {
            p.rp_id = "example.com".into();
            p.rp_origin = "https://app.example.com:8443".into();
            p.sign_count_policy = sigra_core::config::SignCountPolicy::Revoke;
        })
        .build()
        .unwrap();
    for config in [SigraConfig::default(), custom] {
        let vars: HashMap<&str, String> = config.to_env().into_iter().collect();
        let again = SigraConfig::from_env_with(|name| vars.get(name).cloned()).unwrap();
        assert_eq!(again, config);
    }
}

/// guides/configuration.md lists every variable with its real default, in table order.
#[test]
fn the_configuration_guide_matches_the_code() {
    let guide =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guides/configuration.md");
    let Ok(text) = std::fs::read_to_string(&guide) else {
        eprintln!(
            "skipped: {} not found (crate built outside the workspace)",
            guide.display()
        );
        return;
    };
    let rows: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let var = cells.get(1)?.trim_matches('`');
            let default = cells.get(2)?.trim_matches('`');
            let is_config = var.starts_with("SIGRA_")
                && var != "SIGRA_SECRET_KEY_BASE"
                && var != "SIGRA_ENCRYPTION_KEYS";
            is_config.then(|| (var.to_owned(), default.to_owned()))
        })
        .collect();
    let expected: Vec<(String, String)> = SigraConfig::default()
        .to_env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn debug_is_safe_and_useful() {
    let shown = format!("{:?}", SigraConfig::default());
    assert!(shown.contains("idle_timeout: 1800s"), "{shown}");
    assert!(shown.contains("sigra_session"));
    // The config holds no secret: the key base and encryption keys live elsewhere.
    let lower = shown.to_lowercase();
    assert!(
        !lower.contains("secret") && !lower.contains("key_base"),
        "{shown}"
    );
}

#[test]
fn errors_convert_into_the_crate_error() {
    let err: sigra_core::Error = b().lockout(|l| l.threshold = 0).build().unwrap_err().into();
    assert!(matches!(err, sigra_core::Error::Config(_)));
}

// ---------------------------------------------------------------- properties

fn any_var() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(SigraConfig::env_var_names())
}

proptest! {
    #[test]
    fn arbitrary_env_values_never_panic(
        pairs in proptest::collection::vec((any_var(), prop_oneof![
            ".{0,40}",
            "[0-9]{0,25}[smhd]?",
            "(true|false|none|auto|1|0|lax|strict|block|refuse)",
            "[0-9smhd, ]{0,30}",
        ]), 0..12)
    ) {
        let map: HashMap<&str, String> = pairs.into_iter().collect();
        match SigraConfig::from_env_with(|name| map.get(name).cloned()) {
            Ok(config) => {
                // Whatever was accepted is valid and renders back to itself.
                let vars: HashMap<&str, String> = config.to_env().into_iter().collect();
                prop_assert_eq!(SigraConfig::from_env_with(|n| vars.get(n).cloned()).unwrap(), config);
            }
            Err(err) => {
                let msg = err.to_string();
                prop_assert!(msg.contains("SIGRA_"), "{}", msg);
            }
        }
    }

    #[test]
    fn durations_parse_in_every_unit(n in 1u64..10_000_000, unit in 0usize..5) {
        // A window with no upper bound, so every parsed value is also a valid one.
        let (suffix, factor) = [("", 1), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)][unit];
        let value = format!("{n}{suffix}");
        let c = SigraConfig::from_env_with(|name| {
            (name == "SIGRA_TOKEN_CODE_ATTEMPTS_WINDOW").then(|| value.clone())
        }).unwrap();
        prop_assert_eq!(c.tokens().code_attempts.window, secs(n * factor));
    }

    #[test]
    fn arbitrary_builder_values_never_panic(
        d in proptest::collection::vec(0u64..100_000_000, 8),
        n in proptest::collection::vec(any::<u32>(), 8),
        flags in proptest::collection::vec(any::<bool>(), 6),
        name in ".{0,80}",
    ) {
        let mut builder = b()
            .dev_mode(flags[0])
            .session(|s| {
                s.idle_timeout = secs(d[0]);
                s.absolute_timeout = secs(d[1]);
                s.remember_me_idle_timeout = flags[1].then_some(secs(d[2]));
                s.sudo_window = secs(d[3]);
            })
            .cookie(|c| {
                c.name = name.clone();
                c.secure = flags[2];
            })
            .lockout(|l| {
                l.threshold = n[0];
                l.duration = secs(d[4]);
            })
            .password(|p| {
                p.min_chars = n[1];
                p.max_bytes = n[2];
                p.argon2.memory_kib = n[3];
                p.argon2.iterations = n[4] % 8;
                p.argon2.parallelism = n[5] % 80;
                p.argon2.max_concurrent = flags[3].then_some(n[6] as usize);
            })
            .tokens(|t| {
                t.magic_link_ttl = secs(d[5]);
                t.code_attempts.window = secs(d[6]);
            })
            .jobs(|j| j.retry_base = secs(d[7]))
            .web(|w| w.login_path = name.clone());
        if flags[4] {
            builder = builder.danger_weak_argon2_params().danger_allow_long_lifetimes();
        }
        if flags[5] {
            builder = builder.danger_lenient_attempt_limits().danger_allow_insecure_cookies();
        }
        match builder.build() {
            Ok(config) => prop_assert!(config.session().idle_timeout <= config.session().absolute_timeout),
            Err(err) => {
                prop_assert!(!err.violations().is_empty());
                for v in err.violations() {
                    prop_assert!(v.env_var.starts_with("SIGRA_"));
                }
            }
        }
    }
}

#[test]
fn config_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<SigraConfig>();
}

// ---------------------------------------------------------------- the breached-password check

#[test]
fn breach_check_defaults_and_rules() {
    let p = SigraConfig::default().password().clone();
    assert!(!p.breach_check);
    assert_eq!(p.breach_check_url, "https://api.pwnedpasswords.com");
    assert_eq!(p.breach_check_timeout, secs(2));
    assert_eq!(
        p.breach_check_on_failure,
        sigra_core::config::BreachCheckFailure::Allow
    );
    let c = SigraConfig::from_env_with(env(&[
        (
            "SIGRA_PASSWORD_BREACH_CHECK_URL",
            "http://127.0.0.1:8080/hibp",
        ),
        ("SIGRA_PASSWORD_BREACH_CHECK_TIMEOUT", "5s"),
        ("SIGRA_PASSWORD_BREACH_CHECK_ON_FAILURE", "REFUSE"),
    ]))
    .unwrap();
    assert_eq!(c.password().breach_check_url, "http://127.0.0.1:8080/hibp");
    assert_eq!(c.password().breach_check_timeout, secs(5));
    assert_eq!(
        c.password().breach_check_on_failure,
        sigra_core::config::BreachCheckFailure::Refuse
    );
    let err =
        SigraConfig::from_env_with(env(&[("SIGRA_PASSWORD_BREACH_CHECK_ON_FAILURE", "maybe")]))
            .unwrap_err();
    assert!(err.to_string().contains("allow or refuse"), "{err}");
    for url in [
        "api.pwnedpasswords.com",
        "ftp://api.pwnedpasswords.com",
        "https://",
        "https://:443",
        "https://user:pw@api.pwnedpasswords.com",
        "https://api.pwnedpasswords.com/?x=1",
        "https://api.pwnedpasswords.com/#x",
        "https://api.pwned passwords.com",
    ] {
        refused(
            b().password(|p| p.breach_check_url = url.to_owned()),
            "password.breach_check_url",
            "must be an https:// or http:// URL",
        );
    }
    for timeout in [Duration::ZERO, Duration::from_millis(500), secs(31)] {
        refused(
            b().password(|p| p.breach_check_timeout = timeout),
            "password.breach_check_timeout",
            "must be from 1s to 30s",
        );
    }
}

/// Without sigra-core's `breach-check` feature, `SIGRA_PASSWORD_BREACH_CHECK=true` is refused
/// at start-up instead of being ignored. (`cargo xtask test` runs this file once without the
/// feature for this test.)
#[cfg(not(feature = "breach-check"))]
#[test]
fn breach_check_without_the_feature_is_refused_at_start_up() {
    let err =
        SigraConfig::from_env_with(env(&[("SIGRA_PASSWORD_BREACH_CHECK", "true")])).unwrap_err();
    let v = &err.violations()[0];
    assert_eq!(v.setting, "password.breach_check");
    assert_eq!(v.env_var, "SIGRA_PASSWORD_BREACH_CHECK");
    assert_eq!(v.value, "true");
    assert!(
        err.to_string().contains("features = [\"breach-check\"]"),
        "{err}"
    );
    refused(
        b().password(|p| p.breach_check = true),
        "password.breach_check",
        "needs sigra-core's `breach-check` feature",
    );
}

#[cfg(feature = "breach-check")]
#[test]
fn breach_check_with_the_feature_is_accepted() {
    let c = SigraConfig::from_env_with(env(&[("SIGRA_PASSWORD_BREACH_CHECK", "true")])).unwrap();
    assert!(c.password().breach_check);
}

#[test]
fn passkey_settings_are_validated() {
    use sigra_core::config::SignCountPolicy;
    let c = SigraConfig::from_env_with(env(&[
        ("SIGRA_PASSKEY_RP_ID", "example.com"),
        ("SIGRA_PASSKEY_RP_ORIGIN", "https://login.example.com"),
        ("SIGRA_PASSKEY_RP_NAME", "Example"),
        ("SIGRA_PASSKEY_CHALLENGE_TTL", "2m"),
        ("SIGRA_PASSKEY_SIGN_COUNT_POLICY", "warn"),
    ]))
    .unwrap();
    assert_eq!(c.passkey().rp_origin, "https://login.example.com");
    assert_eq!(c.passkey().challenge_ttl, secs(120));
    assert_eq!(c.passkey().sign_count_policy, SignCountPolicy::Warn);

    let refused = |vars: &[(&str, &str)], setting: &str| {
        let err = SigraConfig::from_env_with(env(vars)).unwrap_err();
        assert!(
            err.violations().iter().any(|v| v.setting == setting),
            "{vars:?}: {err}"
        );
    };
    // The origin's host must be the id or below it; http only on localhost; no paths.
    refused(
        &[("SIGRA_PASSKEY_RP_ORIGIN", "https://example.com")],
        "passkey.rp_origin",
    );
    refused(
        &[
            ("SIGRA_PASSKEY_RP_ID", "example.com"),
            ("SIGRA_PASSKEY_RP_ORIGIN", "https://evilexample.com"),
        ],
        "passkey.rp_origin",
    );
    refused(
        &[
            ("SIGRA_PASSKEY_RP_ID", "example.com"),
            ("SIGRA_PASSKEY_RP_ORIGIN", "http://app.example.com"),
        ],
        "passkey.rp_origin",
    );
    refused(
        &[
            ("SIGRA_PASSKEY_RP_ID", "example.com"),
            ("SIGRA_PASSKEY_RP_ORIGIN", "https://example.com/login"),
        ],
        "passkey.rp_origin",
    );
    refused(&[("SIGRA_PASSKEY_RP_ID", "Example.COM")], "passkey.rp_id");
    refused(
        &[("SIGRA_PASSKEY_RP_ID", "https://example.com")],
        "passkey.rp_id",
    );
    refused(
        &[("SIGRA_PASSKEY_CHALLENGE_TTL", "5s")],
        "passkey.challenge_ttl",
    );
    refused(
        &[("SIGRA_PASSKEY_CHALLENGE_TTL", "1h")],
        "passkey.challenge_ttl",
    );
    refused(
        &[("SIGRA_PASSKEY_RP_NAME", &"n".repeat(65))],
        "passkey.rp_name",
    );
    let err = SigraConfig::from_env_with(env(&[("SIGRA_PASSKEY_SIGN_COUNT_POLICY", "ignore")]))
        .unwrap_err();
    assert!(err.to_string().contains("warn, reauth or revoke"), "{err}");
}
