//! [`MfaStore`] for the in-memory store.

use time::OffsetDateTime;

use super::{MemoryTx, utc};
use crate::store::{Id, MfaCredentialRecord, MfaStore, StoreError};
use crate::token::TokenDigest;

/// A row of `user_backup_codes`.
#[derive(Clone)]
pub(super) struct BackupCodeRow {
    user_id: Id,
    digest: TokenDigest,
    used_at: Option<OffsetDateTime>,
}

impl MemoryTx {
    fn totp_mut(&mut self, user_id: &Id) -> Option<&mut MfaCredentialRecord> {
        self.work.mfa.iter_mut().find(|c| &c.user_id == user_id)
    }

    fn enabled_totp_mut(&mut self, user_id: &Id) -> Option<&mut MfaCredentialRecord> {
        self.totp_mut(user_id).filter(|c| c.enabled_at.is_some())
    }
}

impl MfaStore for MemoryTx {
    async fn totp_credential(
        &mut self,
        user_id: &Id,
    ) -> Result<Option<MfaCredentialRecord>, StoreError> {
        Ok(self
            .work
            .mfa
            .iter()
            .find(|c| &c.user_id == user_id)
            .cloned())
    }

    async fn put_pending_totp(
        &mut self,
        user_id: &Id,
        encrypted_secret: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        match self.totp_mut(user_id) {
            Some(c) if c.enabled_at.is_some() => Ok(false),
            Some(c) => {
                c.encrypted_secret = encrypted_secret.to_owned();
                c.created_at = utc(now);
                c.last_verified_step = None;
                c.failed_attempts = 0;
                c.locked_until = None;
                Ok(true)
            }
            None => {
                let record =
                    MfaCredentialRecord::new(*user_id, encrypted_secret.to_owned(), utc(now));
                self.work.mfa.push(record);
                Ok(true)
            }
        }
    }

    async fn enable_totp(
        &mut self,
        user_id: &Id,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        match self.totp_mut(user_id) {
            Some(c) if c.enabled_at.is_none() => {
                c.enabled_at = Some(utc(now));
                c.last_verified_step = Some(step);
                c.failed_attempts = 0;
                c.locked_until = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn accept_totp_step(&mut self, user_id: &Id, step: i64) -> Result<bool, StoreError> {
        match self.enabled_totp_mut(user_id) {
            Some(c) if c.last_verified_step.is_none_or(|last| last < step) => {
                c.last_verified_step = Some(step);
                c.failed_attempts = 0;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn increment_mfa_failures(&mut self, user_id: &Id) -> Result<Option<u32>, StoreError> {
        Ok(self.enabled_totp_mut(user_id).map(|c| {
            c.failed_attempts = c.failed_attempts.saturating_add(1);
            c.failed_attempts
        }))
    }

    async fn lock_mfa(&mut self, user_id: &Id, until: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(c) = self.totp_mut(user_id) {
            c.locked_until = Some(utc(until));
            c.failed_attempts = 0;
        }
        Ok(())
    }

    async fn clear_mfa_failures(&mut self, user_id: &Id) -> Result<(), StoreError> {
        if let Some(c) = self.totp_mut(user_id) {
            c.locked_until = None;
            c.failed_attempts = 0;
        }
        Ok(())
    }

    async fn set_totp_secret(
        &mut self,
        user_id: &Id,
        encrypted_secret: &str,
    ) -> Result<(), StoreError> {
        if let Some(c) = self.totp_mut(user_id) {
            c.encrypted_secret = encrypted_secret.to_owned();
        }
        Ok(())
    }

    async fn bump_mfa_trust_epoch(&mut self, user_id: &Id) -> Result<Option<i64>, StoreError> {
        Ok(self.totp_mut(user_id).map(|c| {
            c.trust_epoch += 1;
            c.trust_epoch
        }))
    }

    async fn delete_mfa(&mut self, user_id: &Id) -> Result<bool, StoreError> {
        let before = self.work.mfa.len();
        self.work.mfa.retain(|c| &c.user_id != user_id);
        self.work.backup_codes.retain(|c| &c.user_id != user_id);
        Ok(self.work.mfa.len() != before)
    }

    async fn replace_backup_codes(
        &mut self,
        user_id: &Id,
        digests: &[TokenDigest],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.work.backup_codes.retain(|c| &c.user_id != user_id);
        self.work
            .backup_codes
            .extend(digests.iter().map(|digest| BackupCodeRow {
                user_id: *user_id,
                digest: *digest,
                used_at: None,
            }));
        Ok(())
    }

    async fn use_backup_code(
        &mut self,
        user_id: &Id,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let row = self
            .work
            .backup_codes
            .iter_mut()
            .find(|c| &c.user_id == user_id && &c.digest == digest && c.used_at.is_none());
        Ok(row.map(|c| c.used_at = Some(utc(now))).is_some())
    }

    async fn count_unused_backup_codes(&mut self, user_id: &Id) -> Result<u32, StoreError> {
        let n = self
            .work
            .backup_codes
            .iter()
            .filter(|c| &c.user_id == user_id && c.used_at.is_none())
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}
