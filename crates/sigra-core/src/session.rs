//! Database sessions: the validity rules and the cookie.
//!
//! A logged-in browser holds a random 32-byte token in a cookie; the database holds only its
//! SHA-256 ([`SessionRecord::token_digest`]). On every request sigra-core looks the digest up
//! and decides with [`check`]:
//!
//! | kind | idle timeout | absolute timeout |
//! |---|---|---|
//! | standard | 30 min | 24 h |
//! | remember me | none | 60 days |
//! | MFA pending | — | 5 min |
//!
//! `last_active_at` is written at most every 5 minutes ([`Validity::Valid::touch`]), so an
//! authenticated request normally costs one indexed read and no write. Sudo mode lasts 5
//! minutes after a fresh authentication ([`in_sudo`]). Defaults come from
//! [`SessionConfig`]; the app changes them through [`SigraConfig`](crate::config::SigraConfig).
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, `Secure` outside local development, and named
//! with the `__Host-` prefix when secure (so no subdomain or path can shadow it):
//! see [`SessionCookie`].

use std::time::Duration;

use time::OffsetDateTime;

use crate::config::{CookieConfig, SameSite, SessionConfig};
use crate::store::{SessionKind, SessionRecord};

/// Longest user agent stored with a session, in bytes.
pub const MAX_USER_AGENT_BYTES: usize = 512;

/// Why a session is no longer valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// No request for longer than the idle timeout.
    Idle,
    /// Older than the absolute timeout.
    Absolute,
}

/// The verdict of [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validity {
    /// The session may be used.
    Valid {
        /// Write `last_active_at = now` (the last write is older than the write interval).
        touch: bool,
    },
    /// The session must be deleted and the user logged out.
    Expired(Expiry),
}

fn elapsed(from: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let secs = (now - from).whole_seconds();
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Decides whether `session` is still valid at `now`.
///
/// ```
/// use sigra_core::config::SessionConfig;
/// use sigra_core::session::{check, Expiry, Validity};
/// use sigra_core::store::{Id, SessionKind, SessionRecord};
/// # use sigra_core::token::TokenDigest;
/// # fn record(kind: SessionKind, created: i64, active: i64) -> SessionRecord {
/// #     let mut r = sigra_core::session::test_record(kind);
/// #     r.created_at = time::OffsetDateTime::from_unix_timestamp(created).unwrap();
/// #     r.last_active_at = time::OffsetDateTime::from_unix_timestamp(active).unwrap();
/// #     r
/// # }
/// let config = SessionConfig::default();
/// let now = time::OffsetDateTime::from_unix_timestamp(100_000)?;
/// let fresh = record(SessionKind::Standard, 99_000, 99_990);
/// assert_eq!(check(&fresh, now, &config), Validity::Valid { touch: false }); // active 10 s ago
/// let idle = record(SessionKind::Standard, 90_000, 90_000);
/// assert_eq!(check(&idle, now, &config), Validity::Expired(Expiry::Idle));
/// # Ok::<(), time::error::ComponentRange>(())
/// ```
pub fn check(session: &SessionRecord, now: OffsetDateTime, config: &SessionConfig) -> Validity {
    let (idle, absolute) = match session.kind {
        SessionKind::Standard => (Some(config.idle_timeout), config.absolute_timeout),
        SessionKind::RememberMe => (
            config.remember_me_idle_timeout,
            config.remember_me_absolute_timeout,
        ),
        SessionKind::MfaPending => (None, config.mfa_pending_timeout),
    };
    if elapsed(session.created_at, now) >= absolute {
        return Validity::Expired(Expiry::Absolute);
    }
    let since_active = elapsed(session.last_active_at, now);
    if idle.is_some_and(|idle| since_active >= idle) {
        return Validity::Expired(Expiry::Idle);
    }
    // A clock that went backwards never triggers a write storm: `elapsed` is 0 then.
    let touch = since_active >= config.last_active_write_interval;
    Validity::Valid { touch }
}

/// Whether the session is in sudo mode: a fresh authentication less than the sudo window ago.
///
/// ```
/// use sigra_core::config::SessionConfig;
/// let mut s = sigra_core::session::test_record(sigra_core::store::SessionKind::Standard);
/// let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(10);
/// s.sudo_at = Some(now - time::Duration::minutes(4));
/// assert!(sigra_core::session::in_sudo(&s, now, &SessionConfig::default()));
/// s.sudo_at = Some(now - time::Duration::minutes(6));
/// assert!(!sigra_core::session::in_sudo(&s, now, &SessionConfig::default()));
/// ```
pub fn in_sudo(session: &SessionRecord, now: OffsetDateTime, config: &SessionConfig) -> bool {
    session.kind != SessionKind::MfaPending
        && session
            .sudo_at
            .is_some_and(|at| at <= now && elapsed(at, now) < config.sudo_window)
}

/// When the session's cookie should expire in the browser (`Max-Age`), or `None` for a
/// browser-session cookie (standard sessions end with the browser as well as on the server).
///
/// ```
/// use sigra_core::config::SessionConfig;
/// use sigra_core::store::SessionKind;
/// let c = SessionConfig::default();
/// assert_eq!(sigra_core::session::cookie_max_age(SessionKind::Standard, &c), None);
/// assert_eq!(sigra_core::session::cookie_max_age(SessionKind::RememberMe, &c).map(|d| d.as_secs()), Some(60 * 86_400));
/// ```
pub fn cookie_max_age(kind: SessionKind, config: &SessionConfig) -> Option<Duration> {
    match kind {
        SessionKind::RememberMe => Some(config.remember_me_absolute_timeout),
        SessionKind::Standard | SessionKind::MfaPending => None,
    }
}

/// Truncates a user agent to [`MAX_USER_AGENT_BYTES`] on a character boundary.
///
/// ```
/// let long = "x".repeat(2000);
/// assert_eq!(sigra_core::session::clamp_user_agent(&long).len(), 512);
/// ```
pub fn clamp_user_agent(user_agent: &str) -> String {
    let mut end = user_agent.len().min(MAX_USER_AGENT_BYTES);
    while !user_agent.is_char_boundary(end) {
        end -= 1;
    }
    user_agent[..end].to_owned()
}

/// Builds `Set-Cookie` header values for the session cookie.
///
/// ```
/// use sigra_core::config::CookieConfig;
/// use sigra_core::session::SessionCookie;
/// let cookie = SessionCookie::new(&CookieConfig::default());
/// assert_eq!(cookie.name(), "__Host-sigra_session");
/// let set = cookie.set("TOKEN", None);
/// assert_eq!(set, "__Host-sigra_session=TOKEN; HttpOnly; SameSite=Lax; Secure; Path=/");
/// assert!(cookie.clear().contains("Max-Age=0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCookie {
    name: String,
    secure: bool,
    same_site: SameSite,
}

impl SessionCookie {
    /// The cookie as configured.
    ///
    /// ```
    /// let mut config = sigra_core::config::CookieConfig::default();
    /// config.secure = false;
    /// assert_eq!(sigra_core::session::SessionCookie::new(&config).name(), "sigra_session");
    /// ```
    pub fn new(config: &CookieConfig) -> Self {
        Self {
            name: config.effective_name(),
            secure: config.secure,
            same_site: config.same_site,
        }
    }

    /// The cookie's name (with `__Host-` when secure and the prefix is on).
    ///
    /// ```
    /// # let c = sigra_core::session::SessionCookie::new(&Default::default());
    /// assert!(c.name().ends_with("sigra_session"));
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `Set-Cookie` value storing `token`, persistent for `max_age` when given.
    ///
    /// ```
    /// # let c = sigra_core::session::SessionCookie::new(&Default::default());
    /// let v = c.set("T", Some(std::time::Duration::from_secs(60)));
    /// assert!(v.contains("Max-Age=60"));
    /// ```
    pub fn set(&self, token: &str, max_age: Option<Duration>) -> String {
        write_set_cookie(&self.name, token, self.secure, self.same_site, max_age)
    }

    /// A `Set-Cookie` value that deletes the cookie.
    ///
    /// ```
    /// # let c = sigra_core::session::SessionCookie::new(&Default::default());
    /// assert!(c.clear().starts_with("__Host-sigra_session=;"));
    /// assert!(c.clear().contains("Max-Age=0"));
    /// ```
    pub fn clear(&self) -> String {
        write_set_cookie(
            &self.name,
            "",
            self.secure,
            self.same_site,
            Some(Duration::ZERO),
        )
    }

    /// Finds this cookie's value in a `Cookie` request header.
    ///
    /// ```
    /// # let c = sigra_core::session::SessionCookie::new(&Default::default());
    /// assert_eq!(c.find("a=1; __Host-sigra_session=abc; b=2").as_deref(), Some("abc"));
    /// assert_eq!(c.find("sigra_session=abc"), None);
    /// ```
    pub fn find(&self, cookie_header: &str) -> Option<String> {
        read_cookie(cookie_header, &self.name)
    }
}

/// A session record for examples and tests: created and active at the Unix epoch.
///
/// ```
/// let r = sigra_core::session::test_record(sigra_core::store::SessionKind::Standard);
/// assert!(r.sudo_at.is_none());
/// ```
#[doc(hidden)]
pub fn test_record(kind: SessionKind) -> SessionRecord {
    SessionRecord {
        id: crate::store::Id::Int(1),
        user_id: crate::store::Id::Int(1),
        token_digest: crate::token::TokenDigest::sha256(b"example"),
        kind,
        ip: None,
        user_agent: None,
        created_at: OffsetDateTime::UNIX_EPOCH,
        last_active_at: OffsetDateTime::UNIX_EPOCH,
        sudo_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration as TD;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + TD::seconds(secs)
    }

    fn rec(kind: SessionKind, created: i64, active: i64) -> SessionRecord {
        let mut r = test_record(kind);
        r.created_at = at(created);
        r.last_active_at = at(active);
        r
    }

    #[test]
    fn standard_sessions_expire_idle_and_absolute() {
        let c = SessionConfig::default();
        assert_eq!(
            check(&rec(SessionKind::Standard, 0, 0), at(30 * 60 - 1), &c),
            Validity::Valid { touch: true }
        );
        assert_eq!(
            check(&rec(SessionKind::Standard, 0, 0), at(30 * 60), &c),
            Validity::Expired(Expiry::Idle)
        );
        assert_eq!(
            check(&rec(SessionKind::Standard, 0, 86_000), at(86_400), &c),
            Validity::Expired(Expiry::Absolute)
        );
    }

    #[test]
    fn touch_is_throttled() {
        let c = SessionConfig::default();
        assert_eq!(
            check(&rec(SessionKind::Standard, 0, 100), at(100 + 299), &c),
            Validity::Valid { touch: false }
        );
        assert_eq!(
            check(&rec(SessionKind::Standard, 0, 100), at(100 + 300), &c),
            Validity::Valid { touch: true }
        );
    }

    #[test]
    fn remember_me_has_no_idle_limit_but_60_days_absolute() {
        let c = SessionConfig::default();
        let day = 86_400;
        assert!(matches!(
            check(&rec(SessionKind::RememberMe, 0, 0), at(59 * day), &c),
            Validity::Valid { .. }
        ));
        assert_eq!(
            check(&rec(SessionKind::RememberMe, 0, 0), at(60 * day), &c),
            Validity::Expired(Expiry::Absolute)
        );
    }

    #[test]
    fn mfa_pending_lasts_five_minutes_and_never_has_sudo() {
        let c = SessionConfig::default();
        assert_eq!(
            check(&rec(SessionKind::MfaPending, 0, 0), at(300), &c),
            Validity::Expired(Expiry::Absolute)
        );
        let mut r = rec(SessionKind::MfaPending, 0, 0);
        r.sudo_at = Some(at(0));
        assert!(!in_sudo(&r, at(10), &c));
    }

    #[test]
    fn a_clock_running_backwards_neither_expires_nor_touches() {
        let c = SessionConfig::default();
        assert_eq!(
            check(&rec(SessionKind::Standard, 1000, 1000), at(0), &c),
            Validity::Valid { touch: false }
        );
        let mut r = rec(SessionKind::Standard, 0, 0);
        r.sudo_at = Some(at(1000));
        assert!(!in_sudo(&r, at(0), &c), "sudo from the future is refused");
    }

    #[test]
    fn user_agents_are_clamped_on_char_boundaries() {
        let ua = "é".repeat(400);
        let clamped = clamp_user_agent(&ua);
        assert!(clamped.len() <= MAX_USER_AGENT_BYTES);
        assert!(clamped.chars().all(|c| c == 'é'));
    }

    #[test]
    fn cookie_lookup_is_exact() {
        let cfg = CookieConfig {
            secure: false,
            ..CookieConfig::default()
        };
        let c = SessionCookie::new(&cfg);
        assert_eq!(
            c.find("xsigra_session=1; sigra_session=2").as_deref(),
            Some("2")
        );
        assert_eq!(c.find(""), None);
        assert!(!c.set("t", None).contains("Secure"));
    }
}

/// The one `Cookie` request-header parser of sigra-core (the [`cookie`] crate's): the value of
/// the first cookie named exactly `name` in one header, surrounding quotes removed. Pairs that
/// do not parse are skipped; `None` when absent.
pub(crate) fn read_cookie(header: &str, name: &str) -> Option<String> {
    cookie::Cookie::split_parse(header)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value_trimmed().to_owned())
}

/// The one `Set-Cookie` writer of sigra-core (the [`cookie`] crate's): `Path=/`, `HttpOnly`,
/// the given `SameSite`, `Secure` when `secure`, and `Max-Age` when given (zero deletes).
pub(crate) fn write_set_cookie(
    name: &str,
    value: &str,
    secure: bool,
    same_site: SameSite,
    max_age: Option<Duration>,
) -> String {
    let same_site = match same_site {
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::None => cookie::SameSite::None,
    };
    let mut builder = cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .secure(secure);
    if let Some(age) = max_age {
        let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        builder = builder.max_age(cookie::time::Duration::seconds(secs));
    }
    builder.build().to_string()
}

#[cfg(test)]
mod cookie_tests {
    use super::*;

    #[test]
    fn writes_every_attribute_and_reads_back() {
        let set = write_set_cookie(
            "__Host-s",
            "v1",
            true,
            SameSite::Lax,
            Some(Duration::from_secs(60)),
        );
        for attr in [
            "__Host-s=v1",
            "; HttpOnly",
            "; SameSite=Lax",
            "; Secure",
            "; Path=/",
            "; Max-Age=60",
        ] {
            assert!(set.contains(attr), "{set} lacks {attr}");
        }
        let dev = write_set_cookie("s", "", false, SameSite::Strict, Some(Duration::ZERO));
        assert!(
            dev.starts_with("s=;") && dev.contains("; Max-Age=0") && !dev.contains("Secure"),
            "{dev}"
        );
        assert_eq!(
            read_cookie("a=1; s=\"quoted\"; s=2", "s").as_deref(),
            Some("quoted")
        );
        assert_eq!(
            read_cookie("a=1;;  b = 2 ; junk", "b").as_deref(),
            Some("2")
        );
        assert_eq!(read_cookie("xs=1", "s"), None);
    }
}
