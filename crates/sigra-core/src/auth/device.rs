//! Device cookies: lockout that a stranger cannot turn against the owner.
//!
//! A plain per-account lockout lets anyone lock anyone out: five wrong passwords and the
//! owner waits fifteen minutes. Following OWASP's [device cookies] scheme, a browser (or an
//! API client that keeps cookies) that logged in with the right password holds a signed
//! **device cookie**: the user id, a random nonce and the time it was issued, under an
//! HMAC-SHA256 with a key derived from the secret key base (label `sigra/auth/device`).
//!
//! - Failures from clients **without** a valid device cookie for the account ("unknown
//!   clients") count on the account (`failed_login_attempts`) and lock the account **for
//!   unknown clients only** (`locked_at`).
//! - A client presenting a valid device cookie for the account is not refused by that lock.
//!   Its own failures count per device, in the shared rate-limit counters (key
//!   `lockout:device:<nonce>`, windows of `lockout.duration`), so every app instance agrees;
//!   `lockout.threshold` failures within one window lock that device until the end of the
//!   next window (at least `lockout.duration`, less than twice it). Other devices and unknown
//!   clients are not affected.
//! - A cookie that is forged, expired (`lockout.device_cookie_ttl`), malformed or issued to
//!   another account makes the client an unknown client, nothing more.
//!
//! [device cookies]: https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;

use crate::audit::{AuditAction, RequestMeta};
use crate::store::{
    AuditOutcome, AuditStore as _, Id, RateLimitStore as _, SessionStore as _, Store,
    Transaction as _, UserRecord,
};

use super::{AuthError, AuthMail, Sigra};

/// HKDF label of the device cookie key.
pub(crate) const DEVICE_KEY_PURPOSE: &str = "sigra/auth/device";

/// The version tag every device cookie starts with.
const VERSION: &str = "d1";

/// Random bytes in a device nonce.
const NONCE_BYTES: usize = 16;

/// The longest cookie value read; anything longer is not ours.
const MAX_VALUE_LEN: usize = 512;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The value of a device cookie, as a client sent it or as a password login issued it.
/// Opaque; its `Debug` is redacted (it lets its holder past a lock on the account).
///
/// The web layer reads it from the request into [`RequestMeta::device`]; a handler sets the
/// one a login issued with [`device_cookie`](crate::web::device_cookie).
///
/// ```
/// use sigra_core::auth::DeviceCookie;
/// let cookie = DeviceCookie::new("d1.abc.def");
/// assert_eq!(cookie.as_str(), "d1.abc.def");
/// assert_eq!(format!("{cookie:?}"), "DeviceCookie([REDACTED])");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCookie(String);

impl DeviceCookie {
    /// Wraps a cookie value (a client's, unverified).
    ///
    /// ```
    /// let cookie = sigra_core::auth::DeviceCookie::new(String::from("value"));
    /// assert_eq!(cookie.as_str(), "value");
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The cookie value.
    ///
    /// ```
    /// assert_eq!(sigra_core::auth::DeviceCookie::new("v").as_str(), "v");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCookie([REDACTED])")
    }
}

/// Which lock a failed password counts toward, and which lock refuses a client: audited as
/// `scope` in the metadata of `auth.login`, `session.sudo_enter` and `security.lockout` rows.
///
/// ```
/// use sigra_core::auth::LockoutScope;
/// assert_eq!(LockoutScope::UnknownClients.as_str(), "unknown_clients");
/// assert_eq!(LockoutScope::Device.as_str(), "device");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LockoutScope {
    /// Clients without a valid device cookie for the account: their failures count on the
    /// account row and lock the account for all of them. The default (a notice queued before
    /// device cookies existed meant this).
    #[default]
    UnknownClients,
    /// One device (a client holding a valid device cookie for the account): its failures
    /// lock that device only.
    Device,
}

impl LockoutScope {
    /// The stable name, as written to audit metadata.
    ///
    /// ```
    /// assert_eq!(sigra_core::auth::LockoutScope::Device.as_str(), "device");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownClients => "unknown_clients",
            Self::Device => "device",
        }
    }
}

/// A device cookie that verified for the account being logged in to.
#[derive(Clone)]
pub(super) struct KnownDevice {
    nonce: String,
}

impl KnownDevice {
    /// The rate-limit counter key of this device's failures.
    fn counter_key(&self) -> String {
        format!("lockout:device:{}", self.nonce)
    }
}

/// The client behind a password attempt: a known device of the account, or an unknown client.
pub(super) type Client = Option<KnownDevice>;

/// The scope of `client`.
pub(super) fn scope_of(client: &Client) -> LockoutScope {
    match client {
        Some(_) => LockoutScope::Device,
        None => LockoutScope::UnknownClients,
    }
}

fn mac(key: &[u8], payload: &[u8]) -> Option<[u8; 32]> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(VERSION.as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac.finalize().into_bytes().into())
}

/// `d1.<base64url(issued_at ":" nonce ":" user_id)>.<base64url(hmac)>`
fn sign(key: &[u8], user: &Id, nonce: &str, issued_at: OffsetDateTime) -> Option<String> {
    let payload = format!("{}:{nonce}:{user}", issued_at.unix_timestamp());
    let encoded = URL_SAFE_NO_PAD.encode(payload.as_bytes());
    let tag = mac(key, encoded.as_bytes())?;
    Some(format!(
        "{VERSION}.{encoded}.{}",
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// The nonce of `value` when it is a genuine, unexpired device cookie for `user`.
fn verify(
    key: &[u8],
    value: &str,
    user: &Id,
    now: OffsetDateTime,
    ttl: Duration,
) -> Option<String> {
    if value.len() > MAX_VALUE_LEN {
        return None;
    }
    let mut parts = value.split('.');
    let (version, encoded, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if version != VERSION || parts.next().is_some() {
        return None;
    }
    let sent = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let expected = mac(key, encoded.as_bytes())?;
    if !bool::from(expected.as_slice().ct_eq(&sent)) {
        return None;
    }
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
    let mut fields = payload.splitn(3, ':');
    let issued_at = fields.next()?.parse::<i64>().ok()?;
    let nonce = fields.next()?;
    let owner = fields.next()?;
    if owner != user.to_string() || nonce.is_empty() {
        return None;
    }
    let age = now.unix_timestamp().checked_sub(issued_at)?;
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    (0..ttl).contains(&age).then(|| nonce.to_owned())
}

impl<S: Store> Sigra<S> {
    /// The request's device, when it sent a valid device cookie for `user`; else `None`
    /// (an unknown client).
    pub(super) fn known_device(&self, user: &UserRecord, meta: &RequestMeta) -> Client {
        let value = meta.device.as_ref()?;
        let key = self.derive_key(DEVICE_KEY_PURPOSE).ok()?;
        let nonce = verify(
            key.as_bytes(),
            value.as_str(),
            &user.id,
            self.now(),
            self.config().lockout().device_cookie_ttl,
        )?;
        Some(KnownDevice { nonce })
    }

    /// A new device cookie for `user` (a fresh nonce, issued now). `None`, logged, if the
    /// key or the random source failed: the login still succeeds, without the cookie.
    pub(super) fn issue_device_cookie(&self, user: &Id) -> Option<DeviceCookie> {
        let issued = self.derive_key(DEVICE_KEY_PURPOSE).ok().and_then(|key| {
            let nonce = URL_SAFE_NO_PAD.encode(crate::random::bytes::<NONCE_BYTES>().ok()?);
            sign(key.as_bytes(), user, &nonce, self.now())
        });
        if issued.is_none() {
            tracing::error!(target: "sigra::auth", "issuing a device cookie failed; the login goes on without one");
        }
        issued.map(DeviceCookie)
    }

    /// The two windows a device's failures are read from: the current one and the one before
    /// (so a lock reached late in a window still lasts a whole window).
    fn device_windows(&self) -> (OffsetDateTime, OffsetDateTime) {
        let window = self.config().lockout().duration;
        let current = crate::rate_limit::window_start(self.now(), window);
        let previous = current - window;
        (previous, current)
    }

    /// Whether `device` is locked: `lockout.threshold` failures in the current window or the
    /// one before, read inside `tx`.
    pub(super) async fn device_locked_in(
        &self,
        tx: &mut S::Tx,
        device: &KnownDevice,
    ) -> Result<bool, AuthError> {
        let threshold = self.config().lockout().threshold;
        let key = device.counter_key();
        let (previous, current) = self.device_windows();
        let now = tx.rate_limit_count(&key, current).await?;
        if now >= threshold {
            return Ok(true);
        }
        Ok(tx.rate_limit_count(&key, previous).await? >= threshold)
    }

    /// Whether a lock refuses `client` on `user`: the account's lock (as read in `user`) for
    /// an unknown client, the device's own for a known device.
    pub(super) async fn client_locked(
        &self,
        user: &UserRecord,
        client: &Client,
    ) -> Result<bool, AuthError> {
        match client {
            None => Ok(self.lock_active(user)),
            Some(device) => {
                let mut tx = self.store().begin_read().await?;
                self.device_locked_in(&mut tx, device).await
            }
        }
    }

    /// [`client_locked`](Self::client_locked) inside `tx` (`user` read in it).
    pub(super) async fn client_locked_in(
        &self,
        tx: &mut S::Tx,
        user: &UserRecord,
        client: &Client,
    ) -> Result<bool, AuthError> {
        match client {
            None => Ok(self.lock_active(user)),
            Some(device) => self.device_locked_in(tx, device).await,
        }
    }

    /// Counts a wrong password from a known device, audited as `action` (a login, or sudo;
    /// metadata `scope: "device"`), and locks that device when its count reaches the
    /// threshold: then it audits `security.lockout` (scope `device`), deletes the session
    /// `end_session` names, if any, and enqueues the owner's lockout notice (scope
    /// [`LockoutScope::Device`]). The account row is not touched. Returns whether the
    /// device is now locked.
    pub(super) async fn record_device_failure(
        &self,
        user: &UserRecord,
        device: &KnownDevice,
        action: AuditAction,
        end_session: Option<&crate::token::TokenDigest>,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        let threshold = self.config().lockout().threshold;
        let scope = LockoutScope::Device.as_str();
        let actor = (action != AuditAction::Login).then_some(user.id);
        let mut tx = self.store().begin().await?;
        if self.device_locked_in(&mut tx, device).await? {
            // Locked by a concurrent failure since the password was checked.
            let event = self.audit(
                action,
                AuditOutcome::Failure,
                meta,
                actor,
                Some(user.id),
                serde_json::json!({ "reason": "locked", "scope": scope }),
            );
            tx.insert_audit_event(&event).await?;
            tx.commit().await?;
            return Ok(false);
        }
        let (_, current) = self.device_windows();
        // One atomic upsert: concurrent failures get distinct counts, so exactly one of them
        // reaches the threshold and locks.
        let attempts = tx.hit(&device.counter_key(), current).await?;
        let event = self.audit(
            action,
            AuditOutcome::Failure,
            meta,
            actor,
            Some(user.id),
            serde_json::json!({ "reason": "invalid_password", "attempts": attempts, "scope": scope }),
        );
        tx.insert_audit_event(&event).await?;
        let locked = attempts >= threshold;
        if attempts == threshold {
            let event = self.audit(
                AuditAction::Lockout,
                AuditOutcome::Success,
                meta,
                None,
                Some(user.id),
                serde_json::json!({ "attempts": attempts, "scope": scope }),
            );
            tx.insert_audit_event(&event).await?;
            let notice = AuthMail::LockoutNotice {
                to: user.email.clone(),
                scope: LockoutScope::Device,
            };
            self.enqueue_notice(&mut tx, &notice).await?;
        }
        if locked && let Some(digest) = end_session {
            tx.delete_session_by_digest(digest).await?;
        }
        tx.commit().await?;
        if locked {
            self.forget_user(&user.id);
        }
        if attempts == threshold {
            self.notices_committed();
        }
        Ok(locked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[7u8; 32];
    const DAY: Duration = Duration::from_secs(86_400);

    fn at(ts: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(ts).unwrap()
    }

    #[test]
    fn a_signed_cookie_verifies_for_its_user_until_it_expires() {
        let user = Id::Int(42);
        let value = sign(KEY, &user, "n0nce", at(1_000)).unwrap();
        assert!(value.starts_with("d1."));
        assert_eq!(
            verify(KEY, &value, &user, at(1_000), DAY).as_deref(),
            Some("n0nce")
        );
        assert!(verify(KEY, &value, &user, at(1_000 + 86_399), DAY).is_some());
        // Expired, or from the future.
        assert!(verify(KEY, &value, &user, at(1_000 + 86_400), DAY).is_none());
        assert!(verify(KEY, &value, &user, at(999), DAY).is_none());
        // Another user, another key.
        assert!(verify(KEY, &value, &Id::Int(4), at(1_000), DAY).is_none());
        assert!(verify(&[8u8; 32], &value, &user, at(1_000), DAY).is_none());
    }

    #[test]
    fn lockout_notices_queued_before_scopes_existed_still_open() {
        let old = r#"{"kind":"lockout_notice","to":"a@example.com"}"#;
        let mail: super::super::AuthMail = serde_json::from_str(old).unwrap();
        assert_eq!(
            mail,
            super::super::AuthMail::LockoutNotice {
                to: "a@example.com".into(),
                scope: LockoutScope::UnknownClients,
            }
        );
        let device = super::super::AuthMail::LockoutNotice {
            to: "a@example.com".into(),
            scope: LockoutScope::Device,
        };
        let json = serde_json::to_string(&device).unwrap();
        assert!(json.contains(r#""scope":"device""#), "{json}");
    }

    #[test]
    fn tampered_or_malformed_cookies_do_not_verify() {
        let user = Id::new_v7();
        let value = sign(KEY, &user, "abc", at(5)).unwrap();
        let (head, tag) = value.rsplit_once('.').unwrap();
        // Someone else's payload under this tag.
        let other = sign(KEY, &Id::Int(1), "abc", at(5)).unwrap();
        let (other_head, _) = other.rsplit_once('.').unwrap();
        for bad in [
            format!("{other_head}.{tag}"),
            format!("{head}.{}", &tag[1..]),
            format!("{head}.{tag}.x"),
            format!("d2{}", &value[2..]),
            String::new(),
            "d1..".to_owned(),
            "d1.%%%.%%%".to_owned(),
            "x".repeat(1_000),
        ] {
            assert!(verify(KEY, &bad, &user, at(5), DAY).is_none(), "{bad}");
        }
        assert!(verify(KEY, &value, &user, at(5), DAY).is_some());
    }
}
