//! The rules a configuration must follow. Each failure names the setting, its variable, its
//! value and the rule; rules that only a deliberate choice may relax name the `danger_`
//! builder method that relaxes them.

use super::env::{find, show_duration};
use super::password::{OWASP_MIN_MEMORY_KIB, OWASP_T1_MEMORY_KIB};
use super::session::SameSite;
use super::units::{days, hours, mins, secs};
use super::{Dangers, SigraConfig, Violation};
use std::time::Duration;

const LONG: &str = "danger_allow_long_lifetimes()";
const LENIENT: &str = "danger_lenient_attempt_limits()";
const WEAK_ARGON2: &str = "danger_weak_argon2_params()";
const WEAK_PASSWORD: &str = "danger_weak_password_policy()";
const INSECURE_COOKIES: &str = "danger_allow_insecure_cookies()";

/// Every rule the configuration breaks, in table order; empty when it is valid.
pub(crate) fn validate(c: &SigraConfig) -> Vec<Violation> {
    let mut v = Checker {
        c,
        dangers: &c.dangers,
        out: Vec::new(),
    };
    sessions(&mut v, c);
    cookie(&mut v, c);
    tokens(&mut v, c);
    brute_force(&mut v, c);
    password(&mut v, c);
    lifecycle(&mut v, c);
    v.out
}

struct Checker<'a> {
    c: &'a SigraConfig,
    dangers: &'a Dangers,
    out: Vec<Violation>,
}

impl Checker<'_> {
    fn fail(&mut self, path: &'static str, rule: String) {
        let setting = find(path);
        self.out.push(Violation {
            setting: path,
            env_var: setting.map_or("", |s| s.env_var),
            value: setting.map_or_else(String::new, |s| (s.get)(self.c)),
            rule,
        });
    }

    /// `ok` or a violation of `rule`.
    fn require(&mut self, ok: bool, path: &'static str, rule: impl FnOnce() -> String) {
        if !ok {
            self.fail(path, rule());
        }
    }

    /// `ok`, or a violation unless the danger `method` was called.
    fn require_unless(
        &mut self,
        ok: bool,
        relaxed: bool,
        method: &'static str,
        path: &'static str,
        rule: impl FnOnce() -> String,
    ) {
        if !ok && !relaxed {
            let rule = rule();
            self.fail(path, format!("{rule} (call {method} to allow it)"));
        }
    }

    fn positive(&mut self, path: &'static str, d: Duration) {
        self.require(!d.is_zero(), path, || "must be longer than 0".to_owned());
    }

    /// Longer than 0 and at most `max`; exceeding `max` needs `danger_allow_long_lifetimes()`.
    fn lifetime(&mut self, path: &'static str, d: Duration, max: Duration) {
        self.positive(path, d);
        let relaxed = self.dangers.long_lifetimes;
        self.require_unless(d <= max, relaxed, LONG, path, || {
            format!("must be at most {}", show_duration(&max))
        });
    }

    /// At most `max`, whatever the danger flags.
    fn at_most(&mut self, path: &'static str, d: Duration, max: Duration, why: &str) {
        self.require(d <= max, path, || {
            format!("must be at most {} ({why})", show_duration(&max))
        });
    }

    fn not_longer_than(
        &mut self,
        path: &'static str,
        d: Duration,
        other: &'static str,
        other_d: Duration,
    ) {
        self.require(d <= other_d, path, || {
            format!("must not exceed {other} ({})", show_duration(&other_d))
        });
    }

    /// A count between 1 and `max`; exceeding `max` needs `danger_lenient_attempt_limits()`.
    fn attempts(&mut self, path: &'static str, n: u32, max: u32) {
        self.require(n >= 1, path, || {
            "must be at least 1 (0 would switch the protection off)".to_owned()
        });
        let relaxed = self.dangers.lenient_attempt_limits;
        self.require_unless(n <= max, relaxed, LENIENT, path, || {
            format!("must be at most {max}")
        });
    }

    /// A lock duration: longer than 0, and at least a minute unless relaxed.
    fn lock_duration(&mut self, path: &'static str, d: Duration) {
        self.positive(path, d);
        let relaxed = self.dangers.lenient_attempt_limits;
        self.require_unless(d >= mins(1), relaxed, LENIENT, path, || {
            "must be at least 1m".to_owned()
        });
    }
}

fn sessions(v: &mut Checker<'_>, c: &SigraConfig) {
    let s = &c.session;
    v.positive("session.idle_timeout", s.idle_timeout);
    v.not_longer_than(
        "session.idle_timeout",
        s.idle_timeout,
        "session.absolute_timeout",
        s.absolute_timeout,
    );
    v.lifetime("session.absolute_timeout", s.absolute_timeout, days(30));
    v.positive(
        "session.remember_me_absolute_timeout",
        s.remember_me_absolute_timeout,
    );
    v.at_most(
        "session.remember_me_absolute_timeout",
        s.remember_me_absolute_timeout,
        days(400),
        "browsers cap cookie lifetimes at 400 days",
    );
    if let Some(idle) = s.remember_me_idle_timeout {
        v.positive("session.remember_me_idle_timeout", idle);
        v.not_longer_than(
            "session.remember_me_idle_timeout",
            idle,
            "session.remember_me_absolute_timeout",
            s.remember_me_absolute_timeout,
        );
    }
    let shortest_idle = s
        .remember_me_idle_timeout
        .map_or(s.idle_timeout, |r| r.min(s.idle_timeout));
    v.require(
        s.last_active_write_interval < shortest_idle || shortest_idle.is_zero(),
        "session.last_active_write_interval",
        || {
            format!(
                "must be shorter than the shortest idle timeout ({}), or idle sessions would look active",
                show_duration(&shortest_idle)
            )
        },
    );
    v.lifetime("session.sudo_window", s.sudo_window, hours(1));
    v.lifetime(
        "session.mfa_pending_timeout",
        s.mfa_pending_timeout,
        mins(30),
    );
    v.require(s.max_per_user >= 1, "session.max_per_user", || {
        "must be at least 1 (the session a login creates)".to_owned()
    });
    // Zero turns the cache off; a long one delays revocations made by other instances.
    let relaxed = v.dangers.long_lifetimes;
    v.require_unless(
        s.cache_ttl <= mins(1),
        relaxed,
        LONG,
        "session.cache_ttl",
        || {
            format!(
                "must be at most {} (a revocation made by another app instance waits this long)",
                show_duration(&mins(1))
            )
        },
    );
}

fn cookie(v: &mut Checker<'_>, c: &SigraConfig) {
    let k = &c.cookie;
    let name_ok = !k.name.is_empty()
        && k.name.len() <= 64
        && k.name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    v.require(name_ok, "cookie.name", || {
        "must be 1 to 64 characters of ASCII letters, digits and !#$%&'*+-.^_`|~".to_owned()
    });
    let lower = k.name.to_ascii_lowercase();
    v.require(
        !lower.starts_with("__host-") && !lower.starts_with("__secure-"),
        "cookie.name",
        || "must not carry a prefix: give the bare name and set cookie.host_prefix".to_owned(),
    );
    v.require_unless(
        k.secure || c.dev_mode,
        v.dangers.insecure_cookies,
        INSECURE_COOKIES,
        "cookie.secure",
        || "must be true outside dev mode (set SIGRA_DEV_MODE=true for local HTTP)".to_owned(),
    );
    v.require(
        k.same_site != SameSite::None || k.secure,
        "cookie.same_site",
        || "none requires cookie.secure = true (browsers drop the cookie otherwise)".to_owned(),
    );
}

fn tokens(v: &mut Checker<'_>, c: &SigraConfig) {
    let t = &c.tokens;
    v.lifetime("tokens.confirm_ttl", t.confirm_ttl, days(30));
    v.lifetime("tokens.reset_password_ttl", t.reset_password_ttl, hours(24));
    v.lifetime("tokens.change_email_ttl", t.change_email_ttl, days(7));
    v.lifetime("tokens.magic_link_ttl", t.magic_link_ttl, hours(1));
    v.attempts("tokens.code_attempts.max", t.code_attempts.max, 20);
    v.positive("tokens.code_attempts.window", t.code_attempts.window);
    v.attempts("tokens.resend.max", t.resend.max, 100);
    v.positive("tokens.resend.window", t.resend.window);
}

fn brute_force(v: &mut Checker<'_>, c: &SigraConfig) {
    v.attempts("lockout.threshold", c.lockout.threshold, 100);
    v.lock_duration("lockout.duration", c.lockout.duration);
    v.lifetime(
        "lockout.device_cookie_ttl",
        c.lockout.device_cookie_ttl,
        days(400),
    );
    let m = &c.mfa;
    v.require(
        !m.issuer.trim().is_empty() && m.issuer.chars().count() <= 64 && !m.issuer.contains(':'),
        "mfa.issuer",
        || "must be 1 to 64 characters without `:` (authenticator apps split on it)".to_owned(),
    );
    v.attempts("mfa.lockout_threshold", m.lockout_threshold, 100);
    v.lock_duration("mfa.lockout_duration", m.lockout_duration);
    v.lifetime("mfa.trust_ttl", m.trust_ttl, days(400));
    v.require(
        m.backup_codes_warn_below <= 8,
        "mfa.backup_codes_warn_below",
        || "must be from 0 to 8 (a set has 8 codes)".to_owned(),
    );
    v.attempts("rate_limit.auth.max", c.rate_limit.auth.max, 1000);
    v.positive("rate_limit.auth.window", c.rate_limit.auth.window);
}

fn password(v: &mut Checker<'_>, c: &SigraConfig) {
    let p = &c.password;
    let weak = v.dangers.weak_password_policy;
    v.require(p.min_chars >= 1, "password.min_chars", || {
        "must be at least 1".to_owned()
    });
    v.require_unless(
        p.min_chars >= 8,
        weak,
        WEAK_PASSWORD,
        "password.min_chars",
        || "must be at least 8 (NIST SP 800-63B)".to_owned(),
    );
    v.require(p.min_chars <= 64, "password.min_chars", || {
        "must be at most 64, so that any 64-character passphrase is accepted".to_owned()
    });
    v.require(
        usize::try_from(p.max_bytes)
            .is_ok_and(|n| crate::password::policy::MAX_BYTES_RANGE.contains(&n)),
        "password.max_bytes",
        || {
            "must be from 256 (64 characters in any script) to 65536 (it only bounds work)"
                .to_owned()
        },
    );
    v.require_unless(
        p.reject_common,
        weak,
        WEAK_PASSWORD,
        "password.reject_common",
        || "must be true".to_owned(),
    );
    breach_check(v, p);

    let a = &p.argon2;
    let weak = v.dangers.weak_argon2_params;
    v.require(
        (1..=64).contains(&a.parallelism),
        "password.argon2.parallelism",
        || "must be from 1 to 64".to_owned(),
    );
    v.require(a.iterations >= 1, "password.argon2.iterations", || {
        "must be at least 1".to_owned()
    });
    v.require(
        u64::from(a.memory_kib) >= 8 * u64::from(a.parallelism.max(1)),
        "password.argon2.memory_kib",
        || "must be at least 8 KiB per lane (Argon2 requires m >= 8p)".to_owned(),
    );
    v.require(
        a.memory_kib <= 4 * 1024 * 1024,
        "password.argon2.memory_kib",
        || "must be at most 4194304 (4 GiB)".to_owned(),
    );
    v.require_unless(
        a.memory_kib >= OWASP_MIN_MEMORY_KIB,
        weak,
        WEAK_ARGON2,
        "password.argon2.memory_kib",
        || format!("must be at least {OWASP_MIN_MEMORY_KIB} (OWASP's minimum for Argon2id)"),
    );
    v.require_unless(
        a.iterations >= 2 || a.memory_kib >= OWASP_T1_MEMORY_KIB,
        weak,
        WEAK_ARGON2,
        "password.argon2.iterations",
        || {
            format!(
                "must be at least 2 unless password.argon2.memory_kib is at least {OWASP_T1_MEMORY_KIB} (OWASP)"
            )
        },
    );
    if let Some(n) = a.max_concurrent {
        v.require(
            (1..=1024).contains(&n),
            "password.argon2.max_concurrent",
            || "must be from 1 to 1024, or auto".to_owned(),
        );
    }
}

fn breach_check(v: &mut Checker<'_>, p: &super::PasswordConfig) {
    v.require(
        !p.breach_check || cfg!(feature = "breach-check"),
        "password.breach_check",
        || {
            "needs sigra-core's `breach-check` feature: add `features = [\"breach-check\"]` to \
             the sigra-core dependency in Cargo.toml"
                .to_owned()
        },
    );
    v.require(
        breach_url_ok(&p.breach_check_url),
        "password.breach_check_url",
        || "must be an https:// or http:// URL with a host and no query or fragment".to_owned(),
    );
    v.require(
        (secs(1)..=secs(30)).contains(&p.breach_check_timeout),
        "password.breach_check_timeout",
        || "must be from 1s to 30s (every registration, reset and change waits for it)".to_owned(),
    );
}

/// `https://host[:port][/path]` or the same with `http://`: no credentials, query, fragment
/// or whitespace. The client parses it again when it is built.
fn breach_url_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    !host.is_empty()
        && !host.starts_with(':')
        && !rest.contains(['@', '?', '#'])
        && !rest.chars().any(char::is_whitespace)
}

fn lifecycle(v: &mut Checker<'_>, c: &SigraConfig) {
    v.require(
        (256..=1024 * 1024).contains(&c.audit.metadata_max_bytes),
        "audit.metadata_max_bytes",
        || "must be from 256 to 1048576 (1 MiB)".to_owned(),
    );
    jobs(v, c);
    web(v, c);
    passkey(v, c);
}

fn passkey(v: &mut Checker<'_>, c: &SigraConfig) {
    let p = &c.passkey;
    v.require(rp_id_ok(&p.rp_id), "passkey.rp_id", || {
        "must be a lowercase host name such as example.com (letters, digits, `-` and `.`; no \
         scheme, port or path)"
            .to_owned()
    });
    match origin_host(&p.rp_origin) {
        None => v.fail(
            "passkey.rp_origin",
            "must be an origin: https://host[:port] (http:// only for localhost), no path, query \
             or fragment"
                .to_owned(),
        ),
        Some(host) => v.require(
            host == p.rp_id || host.ends_with(&format!(".{}", p.rp_id)),
            "passkey.rp_origin",
            || {
                format!(
                    "its host must be passkey.rp_id ({}) or a subdomain of it: browsers refuse \
                     any other pairing",
                    p.rp_id
                )
            },
        ),
    }
    let name_chars = p.rp_name.chars().count();
    v.require(
        (1..=64).contains(&name_chars) && !p.rp_name.chars().any(char::is_control),
        "passkey.rp_name",
        || "must be 1 to 64 characters without control characters".to_owned(),
    );
    v.require(
        (secs(10)..=mins(10)).contains(&p.challenge_ttl),
        "passkey.challenge_ttl",
        || "must be from 10s to 10m (a person needs time to touch the key; an unused challenge should die soon)".to_owned(),
    );
}

/// A lowercase DNS name: labels of letters, digits and `-`, not starting or ending with `-`.
fn rp_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 253
        && id.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The host of an origin `https://host[:port]` (or `http://localhost[:port]`); `None` for
/// anything else. A trailing `/` is tolerated, a path is not.
fn origin_host(origin: &str) -> Option<&str> {
    let (secure, rest) = match origin.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, origin.strip_prefix("http://")?),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@'])
        || rest.chars().any(char::is_whitespace)
    {
        return None;
    }
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if !rp_id_ok(host) || (!secure && host != "localhost") {
        return None;
    }
    Some(host)
}

fn web(v: &mut Checker<'_>, c: &SigraConfig) {
    v.require(c.web.trust_proxy <= 10, "web.trust_proxy", || {
        "must be from 0 to 10 proxies".to_owned()
    });
    v.at_most(
        "web.hsts_max_age",
        c.web.hsts_max_age,
        days(730),
        "browsers cap it anyway; two years is the preload list's recommendation",
    );
    for (setting, path) in [
        ("web.login_path", &c.web.login_path),
        ("web.sudo_path", &c.web.sudo_path),
    ] {
        v.require(is_local_path(path), setting, || {
            "must be a path on this site: one leading `/`, at most 256 visible ASCII characters, \
             no `?`, `#` or `\\` (an open redirect otherwise)"
                .to_owned()
        });
    }
}

/// A path on this site a redirect may point at: `/…`, not `//host` (protocol-relative) or
/// `/\host` (which browsers read as `//host`), no query or fragment (Sigra adds
/// `?return_to=`).
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 256
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'\\'))
}

fn jobs(v: &mut Checker<'_>, c: &SigraConfig) {
    let j = &c.jobs;
    v.require(
        (secs(1)..=secs(60)).contains(&j.poll_interval),
        "jobs.poll_interval",
        || "must be from 1s to 1m".to_owned(),
    );
    v.require(
        (secs(10)..=hours(1)).contains(&j.lease),
        "jobs.lease",
        || "must be from 10s to 1h (longer than any one job)".to_owned(),
    );
    v.require(
        (1..=50).contains(&j.max_attempts),
        "jobs.max_attempts",
        || "must be from 1 to 50".to_owned(),
    );
    v.require(j.retry_base >= secs(1), "jobs.retry_base", || {
        "must be at least 1s".to_owned()
    });
    v.not_longer_than(
        "jobs.retry_base",
        j.retry_base,
        "jobs.retry_max",
        j.retry_max,
    );
    v.at_most(
        "jobs.retry_max",
        j.retry_max,
        hours(24),
        "a failing job must be retried",
    );
    v.require(
        (1..=64).contains(&j.concurrency),
        "jobs.concurrency",
        || "must be from 1 to 64".to_owned(),
    );
    v.at_most(
        "jobs.keep_done",
        j.keep_done,
        days(365),
        "finished jobs must be pruned",
    );
    v.at_most(
        "jobs.keep_dead",
        j.keep_dead,
        days(365),
        "dead jobs must be pruned",
    );
    v.at_most(
        "jobs.shutdown_grace",
        j.shutdown_grace,
        secs(600),
        "a shutdown must end",
    );
}
