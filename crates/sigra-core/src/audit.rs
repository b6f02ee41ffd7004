//! The audit vocabulary and how events are built.
//!
//! Every flow writes its audit row in the same transaction as the change it records (see
//! [`crate::store::AuditStore`]) and emits the same event through `tracing` (target
//! `sigra::audit`), so logs and the table agree. Action names are stable API: dashboards and
//! alerts may depend on them.
//!
//! | action | when |
//! |---|---|
//! | `auth.register` | an account was created (failure: the email was taken; the owner is mailed) |
//! | `auth.confirm` | an email address was confirmed (link or code); failure: wrong code |
//! | `auth.confirm.resend` | a new confirmation mail was asked for |
//! | `auth.login` | a password login (failure: wrong password, unknown email or locked) |
//! | `auth.magic_link.request` / `auth.magic_link.login` | magic links |
//! | `auth.password_reset.request` / `auth.password_reset.complete` | password reset |
//! | `auth.email_change.request` / `auth.email_change.complete` | email change |
//! | `auth.password_change` | the user changed their password |
//! | `security.lockout` | too many failed passwords locked the account for unknown clients, or one known device (metadata `scope`: `unknown_clients` or `device`) |
//! | `session.create` / `session.delete` / `session.revoke` / `session.revoke_all` / `session.sudo_enter` | sessions |
//! | `session.evict` | a new session took the user past `session.max_per_user`: the least recently active ones ended (metadata: `count`, `max_per_user`) |
//! | `passkey.register` | a passkey was registered (failure: the ceremony did not verify, or the credential was taken) |
//! | `passkey.verify` | a passkey assertion: metadata `purpose` (`login`, `verification`); failure: it did not verify, or its counter went backwards (`reason`) |
//! | `passkey.rename` / `passkey.delete` | the user renamed or deleted a passkey; `passkey.delete` with `reason: sign_count_regression` when the revoke policy removed it |
//! | `mfa.enroll` | TOTP enrolment confirmed with a first code (MFA is on; backup codes issued) |
//! | `mfa.verify` | the second factor of a login (metadata `method`: `totp`, `backup_code` or `trusted_browser`; failure: wrong code, replayed step, or locked) |
//! | `mfa.disable` | MFA turned off (TOTP secret and backup codes deleted) |
//! | `mfa.lockout` | too many wrong codes locked MFA (metadata `attempts`) |
//! | `mfa.backup_codes.regenerate` | a new set of backup codes replaced the old one |
//! | `mfa.trust.forget` | every "trust this browser" cookie was revoked |

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::auth::DeviceCookie;
use crate::store::{AuditEvent, AuditOutcome, Id};

/// The largest serialised metadata kept, in bytes; bigger metadata is replaced by a marker.
pub const DEFAULT_METADATA_MAX_BYTES: usize = 8 * 1024;

/// An audited action. [`as_str`](AuditAction::as_str) gives the stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditAction {
    /// `auth.register`
    Register,
    /// `auth.confirm`
    Confirm,
    /// `auth.confirm.resend`
    ConfirmationResend,
    /// `auth.login`
    Login,
    /// `auth.magic_link.request`
    MagicLinkRequest,
    /// `auth.magic_link.login`
    MagicLinkLogin,
    /// `auth.password_reset.request`
    PasswordResetRequest,
    /// `auth.password_reset.complete`
    PasswordResetComplete,
    /// `auth.email_change.request`
    EmailChangeRequest,
    /// `auth.email_change.complete`
    EmailChangeComplete,
    /// `auth.password_change`
    PasswordChange,
    /// `security.lockout`
    Lockout,
    /// `security.suspicious_login` (a login from an IP none of the user's sessions has)
    SuspiciousLogin,
    /// `session.create`
    SessionCreate,
    /// `session.delete` (log out)
    SessionDelete,
    /// `session.revoke` (one session revoked from the sessions page)
    SessionRevoke,
    /// `session.revoke_all`
    SessionRevokeAll,
    /// `session.sudo_enter`
    SudoEnter,
    /// `session.evict` (a new session ended the user's least recently active ones, beyond
    /// `session.max_per_user`)
    SessionEvict,
    /// `passkey.register`
    PasskeyRegister,
    /// `passkey.verify` (a passkey login or verification)
    PasskeyVerify,
    /// `passkey.rename`
    PasskeyRename,
    /// `passkey.delete`
    PasskeyDelete,
    /// `mfa.enroll`
    MfaEnroll,
    /// `mfa.verify` (the second factor of a login)
    MfaVerify,
    /// `mfa.disable`
    MfaDisable,
    /// `mfa.lockout`
    MfaLockout,
    /// `mfa.backup_codes.regenerate`
    MfaBackupCodesRegenerate,
    /// `mfa.trust.forget` (every trusted browser forgotten)
    MfaTrustForget,
}

impl AuditAction {
    /// The stable action name.
    ///
    /// ```
    /// assert_eq!(sigra_core::audit::AuditAction::Login.as_str(), "auth.login");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "auth.register",
            Self::Confirm => "auth.confirm",
            Self::ConfirmationResend => "auth.confirm.resend",
            Self::Login => "auth.login",
            Self::MagicLinkRequest => "auth.magic_link.request",
            Self::MagicLinkLogin => "auth.magic_link.login",
            Self::PasswordResetRequest => "auth.password_reset.request",
            Self::PasswordResetComplete => "auth.password_reset.complete",
            Self::EmailChangeRequest => "auth.email_change.request",
            Self::EmailChangeComplete => "auth.email_change.complete",
            Self::PasswordChange => "auth.password_change",
            Self::Lockout => "security.lockout",
            Self::SuspiciousLogin => "security.suspicious_login",
            Self::SessionCreate => "session.create",
            Self::SessionDelete => "session.delete",
            Self::SessionRevoke => "session.revoke",
            Self::SessionRevokeAll => "session.revoke_all",
            Self::SudoEnter => "session.sudo_enter",
            Self::SessionEvict => "session.evict",
            Self::PasskeyRegister => "passkey.register",
            Self::PasskeyVerify => "passkey.verify",
            Self::PasskeyRename => "passkey.rename",
            Self::PasskeyDelete => "passkey.delete",
            Self::MfaEnroll => "mfa.enroll",
            Self::MfaVerify => "mfa.verify",
            Self::MfaDisable => "mfa.disable",
            Self::MfaLockout => "mfa.lockout",
            Self::MfaBackupCodesRegenerate => "mfa.backup_codes.regenerate",
            Self::MfaTrustForget => "mfa.trust.forget",
        }
    }
}

/// Who is asking: the client's address and user agent, recorded on sessions and audit rows,
/// and the device cookie it sent, if any (never recorded; see [`crate::auth::DeviceCookie`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client IP (as the app's proxy configuration determines it).
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// The device cookie the client sent (unverified; the web layer reads it). A valid one
    /// for the account keeps a password login or sudo out of the lock that unknown clients'
    /// failures put on the account. `Debug` is redacted.
    pub device: Option<DeviceCookie>,
    /// The "trust this browser" cookie the client sent (unverified; the web layer reads it).
    /// A valid one for the account lets a login skip the second factor. `Debug` is redacted.
    pub mfa_trust: Option<crate::auth::MfaTrustCookie>,
}

impl RequestMeta {
    /// Builds request metadata.
    ///
    /// ```
    /// let meta = sigra_core::audit::RequestMeta::new(Some("127.0.0.1".parse()?), Some("curl/8".into()));
    /// assert_eq!(meta.ip_string().as_deref(), Some("127.0.0.1"));
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn new(ip: Option<IpAddr>, user_agent: Option<String>) -> Self {
        Self {
            ip,
            user_agent: user_agent.map(|ua| crate::session::clamp_user_agent(&ua)),
            device: None,
            mfa_trust: None,
        }
    }

    /// The same metadata with the device cookie the client sent.
    ///
    /// ```
    /// use sigra_core::audit::RequestMeta;
    /// use sigra_core::auth::DeviceCookie;
    /// let meta = RequestMeta::default().with_device(Some(DeviceCookie::new("d1.x.y")));
    /// assert!(meta.device.is_some());
    /// ```
    pub fn with_device(mut self, device: Option<DeviceCookie>) -> Self {
        self.device = device;
        self
    }

    /// The same metadata with the "trust this browser" cookie the client sent.
    ///
    /// ```
    /// use sigra_core::{audit::RequestMeta, auth::MfaTrustCookie};
    /// let meta = RequestMeta::default().with_mfa_trust(Some(MfaTrustCookie::new("e1.x.y")));
    /// assert!(meta.mfa_trust.is_some());
    /// ```
    pub fn with_mfa_trust(mut self, cookie: Option<crate::auth::MfaTrustCookie>) -> Self {
        self.mfa_trust = cookie;
        self
    }

    /// The IP as text, for storage.
    ///
    /// ```
    /// assert!(sigra_core::audit::RequestMeta::default().ip_string().is_none());
    /// ```
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// Builds the audit row for `action` and emits it as a `tracing` event.
///
/// `metadata` must be a JSON object without secrets; if it serialises to more than
/// `max_bytes` it is replaced by `{"truncated": true, "bytes": n}`.
///
/// ```
/// use sigra_core::audit::{event, AuditAction, RequestMeta};
/// use sigra_core::store::{AuditOutcome, Id};
/// let e = event(AuditAction::Login, AuditOutcome::Failure, &RequestMeta::default(),
///     None, Some(Id::Int(3)), serde_json::json!({"reason": "invalid_credentials"}),
///     8192, time::OffsetDateTime::UNIX_EPOCH);
/// assert_eq!(e.action, "auth.login");
/// let big = event(AuditAction::Login, AuditOutcome::Success, &RequestMeta::default(),
///     None, None, serde_json::json!({"x": "y".repeat(10_000)}), 8192, time::OffsetDateTime::UNIX_EPOCH);
/// assert_eq!(big.metadata["truncated"], true);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn event(
    action: AuditAction,
    outcome: AuditOutcome,
    meta: &RequestMeta,
    actor_id: Option<Id>,
    target_id: Option<Id>,
    metadata: serde_json::Value,
    max_bytes: usize,
    at: OffsetDateTime,
) -> AuditEvent {
    let size = serde_json::to_vec(&metadata).map(|v| v.len()).unwrap_or(0);
    let metadata = if size > max_bytes {
        serde_json::json!({ "truncated": true, "bytes": size })
    } else {
        metadata
    };
    tracing::info!(
        target: "sigra::audit",
        action = action.as_str(),
        outcome = outcome.as_str(),
        actor = actor_id.map(|id| id.to_string()),
        target_user = target_id.map(|id| id.to_string()),
        ip = meta.ip_string(),
        metadata = %metadata,
        "audit"
    );
    let mut event = AuditEvent::new(action.as_str(), outcome, at);
    event.actor_id = actor_id;
    event.target_id = target_id;
    event.ip = meta.ip_string();
    event.user_agent = meta.user_agent.clone();
    event.metadata = metadata;
    event
}
