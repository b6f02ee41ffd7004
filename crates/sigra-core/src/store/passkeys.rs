use std::fmt;
use std::future::Future;

use time::OffsetDateTime;

use super::{Id, StoreError};

/// A row of `user_passkeys`: one WebAuthn credential a user registered.
///
/// `passkey` is webauthn-rs's own serialisation of its `Passkey` (public key, counter, flags):
/// sigra-core writes and reads it, the store keeps it as opaque text. `Debug` prints neither
/// it nor the credential id.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasskeyRecord {
    /// Primary key (shown in the passkey list; revealing it grants nothing).
    pub id: Id,
    /// The owner.
    pub user_id: Id,
    /// The credential id the authenticator chose (raw bytes, unique across all users).
    pub credential_id: Vec<u8>,
    /// The serialised webauthn-rs `Passkey` (JSON text).
    pub passkey: String,
    /// The name the user gave it ("Laptop", "YubiKey").
    pub nickname: String,
    /// The authenticator model's AAGUID, when known. webauthn-rs's passkey API (attestation
    /// `none`) does not report it, so sigra-core stores `None` today; the column is there for
    /// a host that fills it.
    pub aaguid: Option<uuid::Uuid>,
    /// The transports the browser reported at registration, as a JSON array
    /// (`["hybrid","internal"]`), if any.
    pub transports: Option<String>,
    /// The last signature counter seen (0 for authenticators without one, such as synced
    /// passkeys).
    pub sign_count: i64,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last verified an assertion.
    pub last_used_at: Option<OffsetDateTime>,
}

impl PasskeyRecord {
    /// Builds a record (for store implementations); set the optional fields afterwards.
    ///
    /// ```
    /// use sigra_core::store::{Id, PasskeyRecord};
    /// let at = time::OffsetDateTime::UNIX_EPOCH;
    /// let p = PasskeyRecord::new(Id::Int(1), Id::Int(2), vec![1, 2, 3], "{}".into(), "Laptop".into(), at);
    /// assert!(p.last_used_at.is_none());
    /// assert!(!format!("{p:?}").contains("{}"));
    /// ```
    pub fn new(
        id: Id,
        user_id: Id,
        credential_id: Vec<u8>,
        passkey: String,
        nickname: String,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            user_id,
            credential_id,
            passkey,
            nickname,
            aaguid: None,
            transports: None,
            sign_count: 0,
            created_at,
            last_used_at: None,
        }
    }
}

impl fmt::Debug for PasskeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyRecord")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("credential_id", &"[REDACTED]")
            .field("passkey", &"[REDACTED]")
            .field("nickname", &self.nickname)
            .field("aaguid", &self.aaguid)
            .field("transports", &self.transports)
            .field("sign_count", &self.sign_count)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish()
    }
}

/// A passkey to insert.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewPasskey {
    /// Primary key chosen by sigra-core, or `None` for a database-assigned integer.
    pub id: Option<Id>,
    /// The owner.
    pub user_id: Id,
    /// The credential id (unique).
    pub credential_id: Vec<u8>,
    /// The serialised webauthn-rs `Passkey`.
    pub passkey: String,
    /// The user's name for it.
    pub nickname: String,
    /// AAGUID, when known.
    pub aaguid: Option<uuid::Uuid>,
    /// Transports as a JSON array, if reported.
    pub transports: Option<String>,
    /// The signature counter at registration.
    pub sign_count: i64,
    /// Registration time.
    pub created_at: OffsetDateTime,
}

impl NewPasskey {
    /// Builds a passkey row; `aaguid` and `transports` start at `None`, `sign_count` at 0.
    ///
    /// ```
    /// use sigra_core::store::{Id, NewPasskey};
    /// let p = NewPasskey::new(None, Id::Int(1), vec![9; 16], "{}".into(), "Phone".into(),
    ///     time::OffsetDateTime::UNIX_EPOCH);
    /// assert_eq!(p.sign_count, 0);
    /// assert!(format!("{p:?}").contains("REDACTED"));
    /// ```
    pub fn new(
        id: Option<Id>,
        user_id: Id,
        credential_id: Vec<u8>,
        passkey: String,
        nickname: String,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            user_id,
            credential_id,
            passkey,
            nickname,
            aaguid: None,
            transports: None,
            sign_count: 0,
            created_at,
        }
    }
}

impl fmt::Debug for NewPasskey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPasskey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("credential_id", &"[REDACTED]")
            .field("passkey", &"[REDACTED]")
            .field("nickname", &self.nickname)
            .field("sign_count", &self.sign_count)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Operations on the `user_passkeys` table.
///
/// Contract:
/// - `credential_id` is unique across all users; `insert_passkey` with a taken one fails with
///   `Conflict { what: "user_passkeys.credential_id" }` and leaves the transaction usable
///   (`INSERT … ON CONFLICT (credential_id) DO NOTHING RETURNING …`: name the column, so a
///   conflict on another unique index is still an error rather than a silent no-op).
/// - `list_user_passkeys` returns the user's passkeys oldest first (`created_at`, then `id`).
/// - `rename_passkey` and `delete_passkey` are scoped to the user: another user's passkey id
///   changes nothing and returns `false`.
/// - `update_passkey_after_use` never moves the counter backwards: it updates only when the
///   stored `sign_count` is at most the new one (`… WHERE id = $1 AND sign_count <= $3`), so
///   two concurrent logins cannot roll it back. Its `false` (a concurrent login stored a
///   higher counter first) is not an error: sigra-core goes on, the newer row stands.
pub trait PasskeyStore {
    /// Whether the app has passkeys. `false` only through [`WithoutPasskeys`]: the passkey
    /// ceremonies then refuse with [`PasskeyError::NotInstalled`](crate::passkey::PasskeyError::NotInstalled)
    /// and the conformance suite skips the passkey cases.
    const INSTALLED: bool = true;

    /// Inserts a passkey.
    fn insert_passkey(
        &mut self,
        passkey: &NewPasskey,
    ) -> impl Future<Output = Result<PasskeyRecord, StoreError>> + Send;

    /// The user's passkeys, oldest first.
    fn list_user_passkeys(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<Vec<PasskeyRecord>, StoreError>> + Send;

    /// The passkey with this credential id, whoever owns it.
    fn passkey_by_credential_id(
        &mut self,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<Option<PasskeyRecord>, StoreError>> + Send;

    /// After a verified assertion: stores the updated serialised passkey, its counter and
    /// `last_used_at`, unless the stored counter is already higher. Returns whether a row was
    /// updated.
    fn update_passkey_after_use(
        &mut self,
        id: &Id,
        passkey: &str,
        sign_count: i64,
        used_at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Renames one of the user's passkeys; returns whether it existed.
    fn rename_passkey(
        &mut self,
        user_id: &Id,
        id: &Id,
        nickname: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes one of the user's passkeys; returns whether it existed.
    fn delete_passkey(
        &mut self,
        user_id: &Id,
        id: &Id,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many passkeys the user has.
    fn count_user_passkeys(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Marks the transaction of an app installed without passkeys (`cargo sigra install …
/// --no-passkeys`): it then implements [`PasskeyStore`] and
/// [`WebauthnChallengeStore`](super::WebauthnChallengeStore) with no tables behind them.
///
/// Reads find nothing (no passkeys, no challenges), pruning deletes nothing, and writes fail
/// with [`StoreError::Backend`]; sigra-core never reaches them because every passkey ceremony
/// first refuses with [`PasskeyError::NotInstalled`](crate::passkey::PasskeyError::NotInstalled)
/// (404 `passkeys_not_installed`). Passkeys cannot be the second factor either: the MFA page
/// only offers TOTP and backup codes. To add passkeys later, remove the marker, add the
/// `user_passkeys` and `webauthn_challenges` tables and implement both traits (re-running the
/// installer without `--no-passkeys` does all three).
///
/// ```
/// use sigra_core::store::{PasskeyStore, WithoutPasskeys};
///
/// struct MyTx; // the app's transaction type
/// impl WithoutPasskeys for MyTx {}
///
/// assert!(!<MyTx as PasskeyStore>::INSTALLED);
/// ```
pub trait WithoutPasskeys {}

/// The error of a write to a store without passkeys (never reached through sigra-core).
fn not_installed() -> StoreError {
    StoreError::Backend(
        "passkeys are not installed in this app (the store is WithoutPasskeys)".to_owned(),
    )
}

impl<T: WithoutPasskeys + Send> PasskeyStore for T {
    const INSTALLED: bool = false;

    async fn insert_passkey(&mut self, _passkey: &NewPasskey) -> Result<PasskeyRecord, StoreError> {
        Err(not_installed())
    }

    async fn list_user_passkeys(
        &mut self,
        _user_id: &Id,
    ) -> Result<Vec<PasskeyRecord>, StoreError> {
        Ok(Vec::new())
    }

    async fn passkey_by_credential_id(
        &mut self,
        _credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        Ok(None)
    }

    async fn update_passkey_after_use(
        &mut self,
        _id: &Id,
        _passkey: &str,
        _sign_count: i64,
        _used_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn rename_passkey(
        &mut self,
        _user_id: &Id,
        _id: &Id,
        _nickname: &str,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn delete_passkey(&mut self, _user_id: &Id, _id: &Id) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn count_user_passkeys(&mut self, _user_id: &Id) -> Result<u64, StoreError> {
        Ok(0)
    }
}

impl<T: WithoutPasskeys + Send> super::WebauthnChallengeStore for T {
    async fn insert_webauthn_challenge(
        &mut self,
        _challenge: &super::WebauthnChallengeRecord,
    ) -> Result<(), StoreError> {
        Err(not_installed())
    }

    async fn take_webauthn_challenge(
        &mut self,
        _digest: &crate::token::TokenDigest,
        _now: OffsetDateTime,
    ) -> Result<Option<super::WebauthnChallengeRecord>, StoreError> {
        Ok(None)
    }

    async fn prune_webauthn_challenges(&mut self, _now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(0)
    }
}
