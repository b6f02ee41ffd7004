use std::fmt;
use std::future::Future;

use time::OffsetDateTime;

use super::{Id, StoreError};
use crate::token::TokenDigest;

/// A user's TOTP credential (`user_mfa_credentials`, one row per user and kind; the only kind
/// today is `totp`). MFA is *enabled* for the user exactly when this row has `enabled_at`.
///
/// The shared secret is stored encrypted ([`Keyring`](crate::encryption::Keyring), context
/// bound to the user); the store only ever sees the ciphertext text.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MfaCredentialRecord {
    /// The user.
    pub user_id: Id,
    /// The encrypted TOTP secret (text form of an encryption envelope).
    pub encrypted_secret: String,
    /// The last accepted TOTP time step: a code of this step or an earlier one is refused
    /// (replay defence).
    pub last_verified_step: Option<i64>,
    /// Failed TOTP and backup-code attempts since the last success or lock (one counter).
    pub failed_attempts: u32,
    /// MFA is locked until then.
    pub locked_until: Option<OffsetDateTime>,
    /// Bumped to forget every trusted browser ("trust this browser" cookies carry it).
    pub trust_epoch: i64,
    /// When enrolment was confirmed with a first code; `None` while enrolment is pending.
    pub enabled_at: Option<OffsetDateTime>,
    /// When the secret was generated.
    pub created_at: OffsetDateTime,
}

impl MfaCredentialRecord {
    /// Builds a record (for store implementations); set the public fields from the row.
    ///
    /// ```
    /// use sigra_core::store::{Id, MfaCredentialRecord};
    /// let at = time::OffsetDateTime::UNIX_EPOCH;
    /// let rec = MfaCredentialRecord::new(Id::Int(1), "v1.ct".into(), at);
    /// assert!(rec.enabled_at.is_none());
    /// assert_eq!(rec.failed_attempts, 0);
    /// ```
    pub fn new(user_id: Id, encrypted_secret: String, created_at: OffsetDateTime) -> Self {
        Self {
            user_id,
            encrypted_secret,
            last_verified_step: None,
            failed_attempts: 0,
            locked_until: None,
            trust_epoch: 0,
            enabled_at: None,
            created_at,
        }
    }
}

impl fmt::Debug for MfaCredentialRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaCredentialRecord")
            .field("user_id", &self.user_id)
            .field("encrypted_secret", &"[REDACTED]")
            .field("last_verified_step", &self.last_verified_step)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_until", &self.locked_until)
            .field("trust_epoch", &self.trust_epoch)
            .field("enabled_at", &self.enabled_at)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Operations on `user_mfa_credentials` (kind `totp`) and `user_backup_codes`.
///
/// Contract:
/// - `put_pending_totp` never replaces an *enabled* credential: `INSERT … ON CONFLICT
///   (user_id, kind) DO UPDATE … WHERE enabled_at IS NULL`, returning whether a row was
///   written.
/// - `enable_totp` is a compare-and-set on `enabled_at IS NULL`: of two concurrent
///   confirmations exactly one returns `true`.
/// - `accept_totp_step` is one `UPDATE … WHERE enabled_at IS NOT NULL AND
///   (last_verified_step IS NULL OR last_verified_step < $step)`: one time step is accepted
///   once, however many requests race with the same code, and never after a later step.
/// - `increment_mfa_failures` is one atomic `UPDATE … SET failed_attempts = failed_attempts +
///   1 … RETURNING failed_attempts`.
/// - `use_backup_code` is one `UPDATE … SET used_at = $now WHERE user_id = $1 AND
///   code_digest = $2 AND used_at IS NULL`: a code is used once, whoever races for it.
/// - Backup codes are stored only as keyed digests ([`BackupCodeKey`](crate::backup_code::BackupCodeKey)).
pub trait MfaStore {
    /// The user's TOTP credential, enabled or pending.
    fn totp_credential(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<Option<MfaCredentialRecord>, StoreError>> + Send;

    /// Stores a pending (not yet enabled) TOTP secret for the user, replacing a pending one;
    /// does nothing and returns `false` when the user's TOTP is already enabled.
    fn put_pending_totp(
        &mut self,
        user_id: &Id,
        encrypted_secret: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Enables the pending credential: sets `enabled_at = now`, `last_verified_step = step`,
    /// clears failures and locks. `false` when there is no pending credential (already
    /// enabled, or none).
    fn enable_totp(
        &mut self,
        user_id: &Id,
        step: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Accepts TOTP time step `step` for the enabled credential if it is later than the last
    /// accepted one: sets `last_verified_step = step` and clears the failure count. `false`
    /// when the step was already used (or an earlier step than one used), or MFA is not
    /// enabled.
    fn accept_totp_step(
        &mut self,
        user_id: &Id,
        step: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Atomically adds one to `failed_attempts` of the enabled credential and returns the new
    /// count (`None` when MFA is not enabled).
    fn increment_mfa_failures(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;

    /// Locks MFA until `until` and resets `failed_attempts` to 0.
    fn lock_mfa(
        &mut self,
        user_id: &Id,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Resets `failed_attempts` to 0 and clears `locked_until`.
    fn clear_mfa_failures(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the stored (encrypted) secret, e.g. to re-encrypt it under a new key.
    fn set_totp_secret(
        &mut self,
        user_id: &Id,
        encrypted_secret: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically adds one to `trust_epoch` and returns the new value (`None` without a
    /// credential).
    fn bump_mfa_trust_epoch(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Deletes the user's TOTP credential and every backup code (disabling MFA). Returns
    /// whether a credential was deleted.
    fn delete_mfa(&mut self, user_id: &Id)
    -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the user's backup codes with these digests (the old ones stop working).
    /// Concurrent replacements must not both survive: take the credential row's lock first
    /// (a no-op `UPDATE`), then delete and insert.
    fn replace_backup_codes(
        &mut self,
        user_id: &Id,
        digests: &[TokenDigest],
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the unused backup code with this digest as used; `false` when the user has no
    /// such unused code.
    fn use_backup_code(
        &mut self,
        user_id: &Id,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many of the user's backup codes are unused.
    fn count_unused_backup_codes(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}
