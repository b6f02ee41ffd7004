//! Two-factor authentication: TOTP enrolment, backup codes, the MFA step of a login, the MFA
//! lockout and trusted browsers.
//!
//! - **Enrolment** (sudo): [`Sigra::start_totp_enrollment`] stores a fresh secret, encrypted
//!   at rest with the app's [`Keyring`](crate::encryption::Keyring) (context bound to the
//!   user), as *pending*; [`Sigra::finish_totp_enrollment`] turns MFA on when the user types
//!   a code from their app, and returns 8 backup codes, shown once (only keyed digests are
//!   stored).
//! - **Login**: when MFA is on, every way in (password, magic link, confirmation link)
//!   creates an `mfa_pending` session instead ([`LoggedIn::mfa_required`]): it lasts
//!   `session.mfa_pending_timeout` (5 min), authenticates nothing, and is replaced by a fresh
//!   session (new token) by [`Sigra::verify_mfa`] with a TOTP code or a backup code (or a
//!   passkey, [`Sigra::finish_passkey_mfa`]). A browser holding a valid "trust this browser"
//!   cookie ([`MfaTrustCookie`]) skips the step.
//! - **Replay**: a TOTP time step is accepted once (a compare-and-set on the stored last
//!   step), so a code seen over a shoulder is useless once used, even by a concurrent request.
//! - **Lockout**: `mfa.lockout_threshold` wrong codes (TOTP and backup codes together) lock the
//!   second factor for `mfa.lockout_duration`; the owner is mailed.
//! - **Trusted browsers**: an HMAC envelope ([`EnvelopeKey`](crate::token::EnvelopeKey),
//!   purpose `mfa_trust`) over the user, the credential's trust epoch and enrolment time,
//!   and the issue time; [`Sigra::forget_trusted_browsers`] bumps the epoch, turning MFA off
//!   and on again changes the enrolment time: either revokes every such cookie.
//!
//! TOTP itself (codes, windows, `otpauth://` URIs) comes from [`crate::totp`] (totp-rs
//! underneath); the decisions above are this module's.

use std::fmt;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::{AuditAction, RequestMeta};
use crate::backup_code::BackupCode;
use crate::session::{Validity, check};
use crate::store::{
    AuditOutcome, AuditStore as _, MfaCredentialRecord, MfaStore, SessionKind, SessionRecord,
    SessionStore as _, Store, Transaction as _, UserRecord, UserStore as _,
};
use crate::token::Token;
use crate::totp::{OtpAuthUri, Totp, TotpError, TotpParams, TotpSecret};

use super::sessions::Authenticated;
use super::{AuthError, AuthMail, LoggedIn, Sigra, internal};

/// The most characters of a submitted code that are looked at; longer input is refused
/// without work.
const MAX_CODE_CHARS: usize = 32;

/// A TOTP secret waiting for its first code: what the enrolment page shows. Never printed.
pub struct TotpEnrollment {
    secret: Zeroizing<String>,
    uri: Zeroizing<String>,
    qr_svg: String,
}

impl TotpEnrollment {
    /// The secret in base32, for typing into an authenticator app.
    ///
    /// ```ignore
    /// context! { secret => enrollment.secret() }
    /// ```
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The `otpauth://totp/…` URI (what the QR code encodes).
    ///
    /// ```ignore
    /// let uri = enrollment.uri();
    /// ```
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The QR code of the URI as an inline SVG document (no script, no external reference).
    ///
    /// ```ignore
    /// context! { qr_svg => Value::from_safe_string(enrollment.qr_svg().to_owned()) }
    /// ```
    pub fn qr_svg(&self) -> &str {
        &self.qr_svg
    }
}

impl fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpEnrollment([REDACTED])")
    }
}

/// A fresh set of backup codes, to show once. Never printed.
pub struct BackupCodes(Vec<Zeroizing<String>>);

impl BackupCodes {
    /// The codes, formatted `XXXX-XXXX`.
    ///
    /// ```ignore
    /// for code in codes.codes() { println!("{code}") }
    /// ```
    pub fn codes(&self) -> Vec<&str> {
        self.0.iter().map(|c| c.as_str()).collect()
    }

    /// The codes as a text file for download: a header line and one code per line.
    ///
    /// ```ignore
    /// let body = codes.as_text("Acme");
    /// ```
    pub fn as_text(&self, issuer: &str) -> String {
        let mut text =
            format!("{issuer} backup codes. Each code works once; keep them somewhere safe.\n\n");
        for code in &self.0 {
            text.push_str(code);
            text.push('\n');
        }
        text
    }

    /// [`as_text`](Self::as_text) as a `data:` URL, for a download link
    /// (`<a download="backup-codes.txt" href="…">`) that needs no script and no second request.
    ///
    /// ```ignore
    /// context! { download_href => codes.data_url("Acme") }
    /// ```
    pub fn data_url(&self, issuer: &str) -> String {
        let text = Zeroizing::new(self.as_text(issuer));
        format!(
            "data:text/plain;charset=utf-8,{}",
            percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
        )
    }
}

impl fmt::Debug for BackupCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackupCodes([{} REDACTED])", self.0.len())
    }
}

/// Where a user's two-factor authentication stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MfaStatus {
    /// When MFA was turned on; `None` when it is off.
    pub enabled_at: Option<OffsetDateTime>,
    /// An enrolment was started and waits for its first code.
    pub pending: bool,
    /// Unused backup codes.
    pub backup_codes_left: u32,
    /// Fewer unused backup codes than `mfa.backup_codes_warn_below` remain (MFA on only).
    pub backup_codes_low: bool,
}

impl MfaStatus {
    /// Whether MFA is on.
    ///
    /// ```ignore
    /// if sigra.mfa_status(&user.id).await?.enabled() { /* show "Turn off" */ }
    /// ```
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

/// The value of a "trust this browser" cookie, as a client sent it or as
/// [`Sigra::verify_mfa`] issued it. Opaque; `Debug` is redacted.
///
/// ```
/// use sigra_core::auth::MfaTrustCookie;
/// let cookie = MfaTrustCookie::new("e1.abc.def");
/// assert_eq!(cookie.as_str(), "e1.abc.def");
/// assert_eq!(format!("{cookie:?}"), "MfaTrustCookie([REDACTED])");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MfaTrustCookie(String);

impl MfaTrustCookie {
    /// Wraps a cookie value (a client's, unverified).
    ///
    /// ```
    /// let c = sigra_core::auth::MfaTrustCookie::new(String::from("v"));
    /// assert_eq!(c.as_str(), "v");
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The cookie value.
    ///
    /// ```
    /// assert_eq!(sigra_core::auth::MfaTrustCookie::new("v").as_str(), "v");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MfaTrustCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MfaTrustCookie([REDACTED])")
    }
}

/// A login waiting for its second factor (the `mfa_pending` session behind a cookie).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PendingMfa {
    /// The user.
    pub user: UserRecord,
    /// The pending session.
    pub session: SessionRecord,
}

/// A pending login read for completion by [`Sigra::open_pending_mfa`].
pub(super) struct PendingStep {
    /// The pending session's token digest.
    pub(super) digest: crate::token::TokenDigest,
    pub(super) user: UserRecord,
    /// The user's enabled TOTP credential (its lock and trust epoch).
    pub(super) credential: MfaCredentialRecord,
}

/// How the second factor was shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Method {
    Totp,
    BackupCode,
    Passkey,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::BackupCode => "backup_code",
            Self::Passkey => "passkey",
        }
    }
}

/// What a submitted code looks like.
enum Submitted {
    Totp(String),
    Backup(BackupCode),
}

/// Reads a submitted code: digits only (spaces allowed) of the TOTP length is a TOTP code,
/// anything a backup code parses from is a backup code; everything else is a wrong code.
fn classify(code: &str, digits: usize) -> Option<Submitted> {
    if code.chars().count() > MAX_CODE_CHARS {
        return None;
    }
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() == digits && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Submitted::Totp(compact));
    }
    BackupCode::parse(code).ok().map(Submitted::Backup)
}

fn secret_context(user: &crate::store::Id) -> String {
    format!("sigra/mfa/totp:{user}")
}

fn unix(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

fn totp_error(err: TotpError) -> AuthError {
    match err {
        TotpError::WrongCode
        | TotpError::Replayed { .. }
        | TotpError::CodeLength { .. }
        | TotpError::CodeNotNumeric => AuthError::InvalidCode,
        other => internal(other),
    }
}

impl<S: Store> Sigra<S> {
    /// Where the user's MFA stands (for the settings page).
    ///
    /// ```ignore
    /// let status = sigra.mfa_status(&auth.user.id).await?;
    /// ```
    pub async fn mfa_status(&self, user_id: &crate::store::Id) -> Result<MfaStatus, AuthError> {
        let mut tx = self.store().begin_read().await?;
        let credential = tx.totp_credential(user_id).await?;
        let backup_codes_left = tx.count_unused_backup_codes(user_id).await?;
        drop(tx);
        let enabled_at = credential.as_ref().and_then(|c| c.enabled_at);
        Ok(MfaStatus {
            enabled_at,
            pending: credential.is_some() && enabled_at.is_none(),
            backup_codes_left,
            backup_codes_low: enabled_at.is_some()
                && backup_codes_left < self.config().mfa().backup_codes_warn_below,
        })
    }

    /// Starts TOTP enrolment: a fresh secret, stored encrypted as pending (replacing an
    /// earlier pending one), returned with its `otpauth://` URI and QR code. Needs sudo.
    ///
    /// Errors: [`AuthError::SudoRequired`], [`AuthError::MfaAlreadyEnabled`],
    /// [`AuthError::SessionExpired`].
    ///
    /// ```ignore
    /// let enrollment = sigra.start_totp_enrollment(&auth, &meta).await?;
    /// render("two_factor.html", context! { secret => enrollment.secret(), qr => enrollment.qr_svg() })
    /// ```
    pub async fn start_totp_enrollment(
        &self,
        auth: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<TotpEnrollment, AuthError> {
        let _ = meta;
        if !self.in_sudo(auth) {
            return Err(AuthError::SudoRequired);
        }
        let totp = Totp::generate(TotpParams::default()).map_err(internal)?;
        let encrypted = self.encrypt_secret(&auth.user.id, totp.secret())?;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        if !tx
            .put_pending_totp(&auth.user.id, &encrypted, self.now())
            .await?
        {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        tx.commit().await?;
        self.enrollment_for(&auth.user, totp)
    }

    /// The pending enrolment started by [`start_totp_enrollment`](Self::start_totp_enrollment),
    /// to show it again (after a wrong code); `None` when there is none.
    ///
    /// ```ignore
    /// if let Some(enrollment) = sigra.pending_totp_enrollment(&auth).await? { /* show it */ }
    /// ```
    pub async fn pending_totp_enrollment(
        &self,
        auth: &Authenticated,
    ) -> Result<Option<TotpEnrollment>, AuthError> {
        let mut tx = self.store().begin_read().await?;
        let credential = tx.totp_credential(&auth.user.id).await?;
        drop(tx);
        match credential {
            Some(c) if c.enabled_at.is_none() => {
                let totp = self.decrypt_totp(&c)?;
                self.enrollment_for(&auth.user, totp).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Finishes TOTP enrolment with the first code from the user's app: MFA is on, the
    /// code's step is used up, and 8 backup codes are issued (returned once; only digests
    /// are stored). Audited `mfa.enroll`; the owner is mailed. Does not need sudo (the start
    /// did), only the session that started it.
    ///
    /// Errors: [`AuthError::InvalidCode`] (wrong, malformed or expired code; nothing
    /// changes), [`AuthError::MfaNotPending`] (no enrolment started, or MFA already on),
    /// [`AuthError::SessionExpired`].
    ///
    /// ```ignore
    /// let codes = sigra.finish_totp_enrollment(&auth, &form.code, &meta).await?;
    /// ```
    pub async fn finish_totp_enrollment(
        &self,
        auth: &Authenticated,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<BackupCodes, AuthError> {
        let user = &auth.user;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let credential = match tx.totp_credential(&user.id).await? {
            Some(c) if c.enabled_at.is_none() => c,
            _ => return Err(AuthError::MfaNotPending),
        };
        if code.chars().count() > MAX_CODE_CHARS {
            return Err(AuthError::InvalidCode);
        }
        let totp = self.decrypt_totp(&credential)?;
        let step = totp
            .verify(code, unix(self.now()), None)
            .map_err(totp_error)?;
        if !tx.enable_totp(&user.id, step_i64(step), self.now()).await? {
            return Err(AuthError::MfaNotPending);
        }
        // The row is locked now. Another tab may have replaced the pending secret between the
        // read and the update: then the code was checked against a secret that is no longer
        // the one enabled, and nothing is (dropping `tx` rolls back).
        let enabled = tx.totp_credential(&user.id).await?;
        if enabled.is_none_or(|c| c.encrypted_secret != credential.encrypted_secret) {
            return Err(AuthError::MfaNotPending);
        }
        let codes = self.replace_backup_codes(&mut tx, user).await?;
        let event = self.audit(
            AuditAction::MfaEnroll,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({ "method": "totp" }),
        );
        let notice = AuthMail::MfaEnabled {
            to: user.email.clone(),
        };
        self.commit_with_notice(tx, &event, &notice).await?;
        Ok(codes)
    }

    /// Replaces the user's backup codes with a fresh set (the old ones stop working). Needs
    /// sudo and MFA on. Audited `mfa.backup_codes.regenerate`; the owner is mailed.
    ///
    /// ```ignore
    /// let codes = sigra.regenerate_backup_codes(&auth, &meta).await?;
    /// ```
    pub async fn regenerate_backup_codes(
        &self,
        auth: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<BackupCodes, AuthError> {
        if !self.in_sudo(auth) {
            return Err(AuthError::SudoRequired);
        }
        let user = &auth.user;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        self.enabled_credential(&mut tx, user).await?;
        let codes = self.replace_backup_codes(&mut tx, user).await?;
        let event = self.audit(
            AuditAction::MfaBackupCodesRegenerate,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({}),
        );
        let notice = AuthMail::BackupCodesRegenerated {
            to: user.email.clone(),
        };
        self.commit_with_notice(tx, &event, &notice).await?;
        Ok(codes)
    }

    /// Turns MFA off: deletes the TOTP secret and every backup code (which also revokes every
    /// trusted browser). Needs sudo. Audited `mfa.disable`; the owner is mailed.
    ///
    /// ```ignore
    /// sigra.disable_mfa(&auth, &meta).await?;
    /// ```
    pub async fn disable_mfa(
        &self,
        auth: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        if !self.in_sudo(auth) {
            return Err(AuthError::SudoRequired);
        }
        let user = &auth.user;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        let was_enabled = tx
            .totp_credential(&user.id)
            .await?
            .is_some_and(|c| c.enabled_at.is_some());
        tx.delete_mfa(&user.id).await?;
        if !was_enabled {
            // A pending enrolment is simply dropped.
            tx.commit().await?;
            return Err(AuthError::MfaNotEnabled);
        }
        let event = self.audit(
            AuditAction::MfaDisable,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({}),
        );
        let notice = AuthMail::MfaDisabled {
            to: user.email.clone(),
        };
        self.commit_with_notice(tx, &event, &notice).await?;
        Ok(())
    }

    /// Revokes every "trust this browser" cookie of the user (bumps the trust epoch): every
    /// browser asks for the second factor again. Audited `mfa.trust.forget`.
    ///
    /// ```ignore
    /// sigra.forget_trusted_browsers(&auth, &meta).await?;
    /// ```
    pub async fn forget_trusted_browsers(
        &self,
        auth: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let user = &auth.user;
        let mut tx = self.store().begin().await?;
        self.recheck_session(&mut tx, auth).await?;
        self.enabled_credential(&mut tx, user).await?;
        tx.bump_mfa_trust_epoch(&user.id).await?;
        let event = self.audit(
            AuditAction::MfaTrustForget,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({}),
        );
        tx.insert_audit_event(&event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The login waiting for its second factor behind this cookie value: `None` for a
    /// malformed, unknown, expired or fully logged-in session.
    ///
    /// ```ignore
    /// let Some(pending) = sigra.pending_mfa(&cookie).await? else { return redirect("/users/log_in") };
    /// ```
    pub async fn pending_mfa(&self, cookie_value: &str) -> Result<Option<PendingMfa>, AuthError> {
        let Ok(token) = Token::parse(cookie_value) else {
            return Ok(None);
        };
        let mut tx = self.store().begin_read().await?;
        let Some(session) = tx.session_by_digest(&token.digest()).await? else {
            return Ok(None);
        };
        if session.kind != SessionKind::MfaPending
            || !matches!(
                check(&session, self.now(), self.config().session()),
                Validity::Valid { .. }
            )
        {
            return Ok(None);
        }
        let user = tx.user_by_id(&session.user_id).await?;
        Ok(user.map(|user| PendingMfa { user, session }))
    }

    /// Finishes a login's MFA step with a TOTP code or a backup code (either accepted in the
    /// one field). On success the pending session is replaced by a fresh one (new token; a
    /// remember-me session when `remember_me`), in sudo mode; with `trust_browser` a
    /// [`MfaTrustCookie`] is issued ([`LoggedIn::mfa_trust_cookie`]); after a backup code,
    /// [`LoggedIn::backup_codes_left`] says how many remain.
    ///
    /// A TOTP step is accepted once; a wrong, replayed or malformed code counts toward the MFA
    /// lock (the owner is mailed when it locks, and the pending session ends).
    ///
    /// Errors: [`AuthError::InvalidCode`], [`AuthError::TooManyAttempts`] (MFA locked),
    /// [`AuthError::SessionExpired`] (no valid pending session: log in again).
    ///
    /// ```ignore
    /// let logged_in = sigra.verify_mfa(&cookie, &form.code, remember_me, trust, &meta).await?;
    /// ```
    pub async fn verify_mfa(
        &self,
        cookie_value: &str,
        code: &str,
        remember_me: bool,
        trust_browser: bool,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let (mut tx, pending) = self.open_pending_mfa(cookie_value).await?;
        let user = &pending.user;
        if let Some(retry_after) = self.mfa_lock_remaining(&pending.credential) {
            self.audit_mfa_failure(&mut tx, user, "locked", meta)
                .await?;
            tx.commit().await?;
            return Err(AuthError::TooManyAttempts { retry_after });
        }

        let accepted = self
            .check_second_factor(&mut tx, user, &pending.credential, code)
            .await?;
        let Some(method) = accepted else {
            return self.refuse_mfa_code(tx, user, &pending.digest, meta).await;
        };
        self.complete_pending_mfa(tx, pending, method, remember_me, trust_browser, meta)
            .await
    }

    /// Opens the transaction that completes a login's MFA step and reads the pending login
    /// behind `cookie_value` in it. An expired pending session, or one whose user turned MFA
    /// off meanwhile, is deleted (committed) and answered with [`AuthError::SessionExpired`],
    /// as is a malformed, unknown or fully logged-in one.
    pub(super) async fn open_pending_mfa(
        &self,
        cookie_value: &str,
    ) -> Result<(S::Tx, PendingStep), AuthError> {
        let token = Token::parse(cookie_value).map_err(|_| AuthError::SessionExpired)?;
        let digest = token.digest();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let session = tx
            .session_by_digest(&digest)
            .await?
            .filter(|s| s.kind == SessionKind::MfaPending)
            .ok_or(AuthError::SessionExpired)?;
        if !matches!(
            check(&session, now, self.config().session()),
            Validity::Valid { .. }
        ) {
            tx.delete_session_by_digest(&digest).await?;
            tx.commit().await?;
            return Err(AuthError::SessionExpired);
        }
        let user = tx
            .user_by_id(&session.user_id)
            .await?
            .ok_or(AuthError::SessionExpired)?;
        let credential = match tx.totp_credential(&user.id).await? {
            Some(c) if c.enabled_at.is_some() => c,
            // MFA was turned off meanwhile: start the login again.
            _ => {
                tx.delete_session_by_digest(&digest).await?;
                tx.commit().await?;
                return Err(AuthError::SessionExpired);
            }
        };
        Ok((
            tx,
            PendingStep {
                digest,
                user,
                credential,
            },
        ))
    }

    /// Completes a login's MFA step once `method` proved the second factor, in the
    /// transaction [`open_pending_mfa`](Self::open_pending_mfa) opened: deletes the pending
    /// session, audits `mfa.verify` with the method, runs the new-IP check, creates a fresh
    /// session (new token, remember-me when asked) in sudo mode, commits, and issues a "trust
    /// this browser" cookie when asked.
    pub(super) async fn complete_pending_mfa(
        &self,
        mut tx: S::Tx,
        pending: PendingStep,
        method: Method,
        remember_me: bool,
        trust_browser: bool,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let PendingStep {
            digest,
            user,
            credential,
        } = pending;
        if let Some(reencrypted) = self.reencrypted_secret(&credential)? {
            tx.set_totp_secret(&user.id, &reencrypted).await?;
        }
        tx.delete_session_by_digest(&digest).await?;
        let event = self.audit(
            AuditAction::MfaVerify,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({ "method": method.as_str() }),
        );
        tx.insert_audit_event(&event).await?;
        self.check_new_ip(&mut tx, &user, meta).await?;
        let kind = if remember_me {
            SessionKind::RememberMe
        } else {
            SessionKind::Standard
        };
        let (session, token) = self
            .create_session(&mut tx, &user, kind, meta, true)
            .await?;
        let backup_codes_left = match method {
            Method::BackupCode => Some(tx.count_unused_backup_codes(&user.id).await?),
            Method::Totp | Method::Passkey => None,
        };
        tx.commit().await?;
        self.forget_user(&user.id);
        self.notices_committed();
        let mfa_trust_cookie = if trust_browser {
            self.issue_trust_cookie(&credential)
        } else {
            None
        };
        Ok(LoggedIn {
            user,
            session,
            token,
            device_cookie: None,
            mfa_trust_cookie,
            backup_codes_left,
        })
    }

    /// Whether a login of `user` must pass the second factor: MFA is on and the request's
    /// "trust this browser" cookie (if any) is not valid for it. A trusted browser's skip is
    /// audited (`mfa.verify`, method `trusted_browser`) in `tx`.
    pub(super) async fn second_factor_due<T: crate::store::Transaction>(
        &self,
        tx: &mut T,
        user: &UserRecord,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        let Some(credential) = tx
            .totp_credential(&user.id)
            .await?
            .filter(|c| c.enabled_at.is_some())
        else {
            return Ok(false);
        };
        let trusted = meta
            .mfa_trust
            .as_ref()
            .is_some_and(|cookie| self.trust_cookie_valid(&credential, cookie));
        if !trusted {
            return Ok(true);
        }
        let event = self.audit(
            AuditAction::MfaVerify,
            AuditOutcome::Success,
            meta,
            Some(user.id),
            Some(user.id),
            serde_json::json!({ "method": "trusted_browser" }),
        );
        tx.insert_audit_event(&event).await?;
        Ok(false)
    }

    /// Checks `code` against the TOTP secret or the unused backup codes and uses it up;
    /// `None` when it is wrong, replayed or malformed.
    async fn check_second_factor(
        &self,
        tx: &mut S::Tx,
        user: &UserRecord,
        credential: &MfaCredentialRecord,
        code: &str,
    ) -> Result<Option<Method>, AuthError> {
        let totp = self.decrypt_totp(credential)?;
        let digits = usize::from(totp.params().digits.count());
        match classify(code, digits) {
            Some(Submitted::Totp(code)) => {
                let last = credential
                    .last_verified_step
                    .and_then(|s| u64::try_from(s).ok());
                match totp.verify(&code, unix(self.now()), last) {
                    // The compare-and-set decides between concurrent requests with one code.
                    Ok(step) => Ok(tx
                        .accept_totp_step(&user.id, step_i64(step))
                        .await?
                        .then_some(Method::Totp)),
                    Err(err) => match totp_error(err) {
                        AuthError::InvalidCode => Ok(None),
                        other => Err(other),
                    },
                }
            }
            Some(Submitted::Backup(code)) => {
                let digest = self.inner.keys.backup_codes.digest(&code);
                let used = tx.use_backup_code(&user.id, &digest, self.now()).await?;
                if used {
                    tx.clear_mfa_failures(&user.id).await?;
                }
                Ok(used.then_some(Method::BackupCode))
            }
            None => Ok(None),
        }
    }

    /// Counts a wrong code, locks MFA at the threshold (audit, notice, pending session ended),
    /// commits, and answers the error.
    async fn refuse_mfa_code(
        &self,
        mut tx: S::Tx,
        user: &UserRecord,
        pending: &crate::token::TokenDigest,
        meta: &RequestMeta,
    ) -> Result<LoggedIn, AuthError> {
        let mfa = self.config().mfa();
        let attempts = tx.increment_mfa_failures(&user.id).await?.unwrap_or(0);
        self.audit_mfa_failure(&mut tx, user, "invalid_code", meta)
            .await?;
        let locked = attempts >= mfa.lockout_threshold;
        if locked {
            let until = self.now() + super::ttl(mfa.lockout_duration);
            tx.lock_mfa(&user.id, until).await?;
            tx.delete_session_by_digest(pending).await?;
            let event = self.audit(
                AuditAction::MfaLockout,
                AuditOutcome::Success,
                meta,
                None,
                Some(user.id),
                serde_json::json!({ "attempts": attempts }),
            );
            tx.insert_audit_event(&event).await?;
            self.enqueue_notice(
                &mut tx,
                &AuthMail::MfaLockout {
                    to: user.email.clone(),
                },
            )
            .await?;
        }
        tx.commit().await?;
        if locked {
            self.notices_committed();
            return Err(AuthError::TooManyAttempts {
                retry_after: mfa.lockout_duration,
            });
        }
        Err(AuthError::InvalidCode)
    }

    pub(super) async fn audit_mfa_failure(
        &self,
        tx: &mut S::Tx,
        user: &UserRecord,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let event = self.audit(
            AuditAction::MfaVerify,
            AuditOutcome::Failure,
            meta,
            None,
            Some(user.id),
            serde_json::json!({ "reason": reason }),
        );
        tx.insert_audit_event(&event).await?;
        Ok(())
    }

    /// How long the MFA lock still lasts, if it is on.
    pub(super) fn mfa_lock_remaining(
        &self,
        credential: &MfaCredentialRecord,
    ) -> Option<std::time::Duration> {
        let until = credential.locked_until?;
        let left = until - self.now();
        (left.is_positive()).then(|| {
            let secs = u64::try_from(left.whole_seconds()).unwrap_or(0).max(1);
            std::time::Duration::from_secs(secs)
        })
    }

    async fn enabled_credential(
        &self,
        tx: &mut S::Tx,
        user: &UserRecord,
    ) -> Result<MfaCredentialRecord, AuthError> {
        tx.totp_credential(&user.id)
            .await?
            .filter(|c| c.enabled_at.is_some())
            .ok_or(AuthError::MfaNotEnabled)
    }

    async fn replace_backup_codes(
        &self,
        tx: &mut S::Tx,
        user: &UserRecord,
    ) -> Result<BackupCodes, AuthError> {
        let set = self
            .inner
            .keys
            .backup_codes
            .generate_set()
            .map_err(internal)?;
        tx.replace_backup_codes(&user.id, set.digests(), self.now())
            .await?;
        Ok(BackupCodes(
            set.formatted().into_iter().map(Zeroizing::new).collect(),
        ))
    }

    fn enrollment_for(&self, user: &UserRecord, totp: Totp) -> Result<TotpEnrollment, AuthError> {
        let secret = totp.secret().to_base32();
        let uri =
            OtpAuthUri::new(totp, &self.config().mfa().issuer, &user.email).map_err(internal)?;
        Ok(TotpEnrollment {
            secret,
            uri: uri.to_uri(),
            qr_svg: uri.to_svg().map_err(internal)?,
        })
    }

    fn encrypt_secret(
        &self,
        user: &crate::store::Id,
        secret: &TotpSecret,
    ) -> Result<String, AuthError> {
        self.inner
            .keys
            .at_rest
            .encrypt_to_string(secret.expose_bytes(), &secret_context(user))
            .map_err(internal)
    }

    fn decrypt_totp(&self, credential: &MfaCredentialRecord) -> Result<Totp, AuthError> {
        let plain = self
            .inner
            .keys
            .at_rest
            .decrypt_str(
                &credential.encrypted_secret,
                &secret_context(&credential.user_id),
            )
            .map_err(|err| {
                tracing::error!(target: "sigra::auth", user = %credential.user_id, error = %err, "the stored TOTP secret cannot be decrypted (SIGRA_ENCRYPTION_KEYS changed?)");
                internal(err)
            })?;
        let secret = TotpSecret::danger_from_short_bytes(plain.as_bytes()).map_err(internal)?;
        Totp::new(secret, TotpParams::default()).map_err(internal)
    }

    /// The secret encrypted under the primary key, when it is stored under an older one.
    fn reencrypted_secret(
        &self,
        credential: &MfaCredentialRecord,
    ) -> Result<Option<String>, AuthError> {
        let ring = &self.inner.keys.at_rest;
        if !ring
            .needs_reencrypt_str(&credential.encrypted_secret)
            .map_err(internal)?
        {
            return Ok(None);
        }
        ring.reencrypt_str(
            &credential.encrypted_secret,
            &secret_context(&credential.user_id),
        )
        .map(Some)
        .map_err(internal)
    }

    /// The trust cookie's subject: the user, the credential's trust epoch and enrolment time.
    fn trust_subject(credential: &MfaCredentialRecord) -> Option<String> {
        let enabled = credential.enabled_at?.unix_timestamp();
        Some(format!(
            "{}:{}:{enabled}",
            credential.user_id, credential.trust_epoch
        ))
    }

    fn issue_trust_cookie(&self, credential: &MfaCredentialRecord) -> Option<MfaTrustCookie> {
        let subject = Self::trust_subject(credential)?;
        let nonce = Token::generate().ok()?;
        self.inner
            .keys
            .mfa_trust
            .sign(&nonce, &subject, self.now())
            .ok()
            .map(MfaTrustCookie)
    }

    fn trust_cookie_valid(
        &self,
        credential: &MfaCredentialRecord,
        cookie: &MfaTrustCookie,
    ) -> bool {
        let Some(subject) = Self::trust_subject(credential) else {
            return false;
        };
        self.inner
            .keys
            .mfa_trust
            .verify_for_subject(
                cookie.as_str(),
                &subject,
                super::ttl(self.config().mfa().trust_ttl),
                self.now(),
            )
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_tells_totp_from_backup_codes() {
        assert!(matches!(classify("123456", 6), Some(Submitted::Totp(_))));
        assert!(matches!(classify(" 123 456 ", 6), Some(Submitted::Totp(_))));
        assert!(matches!(
            classify("ABCD-EFGH", 6),
            Some(Submitted::Backup(_))
        ));
        assert!(classify("12345", 6).is_none());
        assert!(classify("", 6).is_none());
        assert!(classify(&"1".repeat(10_000), 6).is_none());
        assert!(classify("12345x", 6).is_none());
    }
}
