use std::future::Future;

use time::OffsetDateTime;

use super::{Id, StoreError};
use crate::token::TokenDigest;

/// What a session row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionKind {
    /// A normal login: idle and absolute timeouts apply.
    Standard,
    /// "Remember me": no idle timeout, a longer absolute one.
    RememberMe,
    /// Password accepted, second factor still due; short-lived and hidden from session lists.
    MfaPending,
}

impl SessionKind {
    /// The stable string stored in the `kind` column.
    ///
    /// ```
    /// use sigra_core::store::SessionKind;
    /// assert_eq!(SessionKind::RememberMe.as_str(), "remember_me");
    /// assert_eq!(SessionKind::parse("remember_me"), Some(SessionKind::RememberMe));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::RememberMe => "remember_me",
            Self::MfaPending => "mfa_pending",
        }
    }

    /// Parses the stored string.
    ///
    /// ```
    /// assert!(sigra_core::store::SessionKind::parse("root").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" => Some(Self::Standard),
            "remember_me" => Some(Self::RememberMe),
            "mfa_pending" => Some(Self::MfaPending),
            _ => None,
        }
    }
}

/// A session row. The raw token lives only in the user's cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Primary key (shown in "your sessions" lists; revealing it grants nothing).
    pub id: Id,
    /// The user this session belongs to.
    pub user_id: Id,
    /// SHA-256 of the cookie token.
    pub token_digest: TokenDigest,
    /// What kind of session this is.
    pub kind: SessionKind,
    /// Client IP at login, as text.
    pub ip: Option<String>,
    /// User agent at login (truncated to 512 bytes by sigra-core).
    pub user_agent: Option<String>,
    /// When the session was created (the absolute timeout counts from here).
    pub created_at: OffsetDateTime,
    /// Last request seen (written at most every few minutes).
    pub last_active_at: OffsetDateTime,
    /// Last fresh authentication (the sudo window counts from here).
    pub sudo_at: Option<OffsetDateTime>,
}

impl SessionRecord {
    /// Builds a record (for store implementations): `last_active_at` starts at `created_at`,
    /// the optional columns at `None`; set the public fields from the row afterwards.
    ///
    /// ```
    /// use sigra_core::store::{Id, SessionKind, SessionRecord};
    /// use sigra_core::token::TokenDigest;
    /// let at = time::OffsetDateTime::UNIX_EPOCH;
    /// let s = SessionRecord::new(Id::Int(1), Id::Int(2), TokenDigest::sha256(b"t"), SessionKind::Standard, at);
    /// assert_eq!(s.last_active_at, at);
    /// assert!(s.sudo_at.is_none());
    /// ```
    pub fn new(
        id: Id,
        user_id: Id,
        token_digest: TokenDigest,
        kind: SessionKind,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            user_id,
            token_digest,
            kind,
            ip: None,
            user_agent: None,
            created_at,
            last_active_at: created_at,
            sudo_at: None,
        }
    }
}

/// A session to insert.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewSession {
    /// Primary key chosen by sigra-core, or `None` for a database-assigned integer.
    pub id: Option<Id>,
    /// The user.
    pub user_id: Id,
    /// SHA-256 of the cookie token.
    pub token_digest: TokenDigest,
    /// Kind.
    pub kind: SessionKind,
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Creation time; also the initial `last_active_at`.
    pub created_at: OffsetDateTime,
    /// Set when the session starts with a fresh authentication (a password login).
    pub sudo_at: Option<OffsetDateTime>,
}

impl NewSession {
    /// Builds a session row.
    ///
    /// ```
    /// use sigra_core::store::{Id, NewSession, SessionKind};
    /// use sigra_core::token::TokenDigest;
    /// let s = NewSession::new(None, Id::Int(1), TokenDigest::sha256(b"t"), SessionKind::Standard,
    ///     time::OffsetDateTime::UNIX_EPOCH);
    /// assert!(s.ip.is_none());
    /// ```
    pub fn new(
        id: Option<Id>,
        user_id: Id,
        token_digest: TokenDigest,
        kind: SessionKind,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            user_id,
            token_digest,
            kind,
            ip: None,
            user_agent: None,
            created_at,
            sudo_at: None,
        }
    }
}

/// What a user's sessions say about an IP address: the answer of
/// [`SessionStore::user_ip_history`]. `MfaPending` sessions do not count.
///
/// ```
/// use sigra_core::store::IpHistory;
/// assert_eq!(IpHistory::from_flags(false, false), IpHistory::NoSessions);
/// assert_eq!(IpHistory::from_flags(true, true), IpHistory::Known);
/// assert_eq!(IpHistory::from_flags(true, false), IpHistory::New);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpHistory {
    /// The user has no session: there is nothing to compare the address with.
    NoSessions,
    /// At least one of the user's sessions was created from this address.
    Known,
    /// The user has sessions, none of them from this address.
    New,
}

impl IpHistory {
    /// Builds the answer from two facts a store reads in one query: whether the user has any
    /// session, and whether one of them comes from the address. (`from_ip` without
    /// `any_session` is read as [`Known`](Self::Known).)
    ///
    /// ```
    /// use sigra_core::store::IpHistory;
    /// assert_eq!(IpHistory::from_flags(true, false), IpHistory::New);
    /// ```
    pub fn from_flags(any_session: bool, from_ip: bool) -> Self {
        match (any_session, from_ip) {
            (_, true) => Self::Known,
            (true, false) => Self::New,
            (false, false) => Self::NoSessions,
        }
    }
}

/// Operations on the sessions table.
///
/// Contract:
/// - `token_digest` is unique; `insert_session` with a duplicate digest fails with
///   `Conflict { what: "sessions.token_digest" }`.
/// - `delete_*` operations are idempotent and report how many rows they removed.
/// - `list_user_sessions` returns the user's sessions except `MfaPending` ones, most recently
///   active first.
/// - `prune_sessions` compares times strictly (`<`) and only deletes rows of the given kind.
/// - `user_ip_history` and `evict_user_sessions_beyond` run on every login: their cost must
///   not grow with the number of sessions the user holds (an index on `(user_id, ip)`, and
///   one on `(user_id, last_active_at, created_at, id)`, both without `mfa_pending` rows).
///   Neither counts nor touches `MfaPending` sessions.
pub trait SessionStore {
    /// Inserts a session.
    fn insert_session(
        &mut self,
        session: &NewSession,
    ) -> impl Future<Output = Result<SessionRecord, StoreError>> + Send;

    /// The session whose token has this digest.
    fn session_by_digest(
        &mut self,
        digest: &TokenDigest,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Sets `last_active_at`.
    fn touch_session(
        &mut self,
        id: &Id,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sets `sudo_at`.
    fn set_session_sudo(
        &mut self,
        id: &Id,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user's sessions (without `MfaPending` ones), most recently active first.
    fn list_user_sessions(
        &mut self,
        user_id: &Id,
    ) -> impl Future<Output = Result<Vec<SessionRecord>, StoreError>> + Send;

    /// Deletes one session of this user; returns whether it existed. A session id of another
    /// user deletes nothing.
    fn delete_user_session(
        &mut self,
        user_id: &Id,
        id: &Id,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the session with this digest; returns whether it existed.
    fn delete_session_by_digest(
        &mut self,
        digest: &TokenDigest,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes all of the user's sessions except `keep`; returns how many were deleted.
    fn delete_user_sessions(
        &mut self,
        user_id: &Id,
        keep: Option<&Id>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Whether the user has sessions and whether one of them was created from `ip` (the
    /// text of [`RequestMeta::ip_string`](crate::audit::RequestMeta::ip_string), compared
    /// exactly). `MfaPending` sessions are left out, as in
    /// [`list_user_sessions`](Self::list_user_sessions). Sigra asks it on every login, so it
    /// must be one indexed existence query, never a load of the user's sessions:
    ///
    /// ```sql
    /// SELECT EXISTS (SELECT 1 FROM user_sessions
    ///                WHERE user_id = $1 AND kind <> 'mfa_pending') AS any_session,
    ///        EXISTS (SELECT 1 FROM user_sessions
    ///                WHERE user_id = $1 AND kind <> 'mfa_pending' AND ip = $2) AS from_ip
    /// ```
    ///
    /// then [`IpHistory::from_flags`].
    fn user_ip_history(
        &mut self,
        user_id: &Id,
        ip: &str,
    ) -> impl Future<Output = Result<IpHistory, StoreError>> + Send;

    /// Deletes the user's sessions except the `keep` most recently active ones (by
    /// `last_active_at`, then `created_at`, then `id`, all newest first) and returns how many
    /// it deleted; with `keep = 0` it deletes them all. `MfaPending` sessions are neither
    /// counted nor deleted (they are short-lived and pruned on their own timeout). One
    /// statement, walking at most `keep + 1` entries of an index in that order:
    ///
    /// ```sql
    /// DELETE FROM user_sessions WHERE id IN (
    ///     SELECT id FROM user_sessions
    ///     WHERE user_id = $1 AND kind <> 'mfa_pending'
    ///     ORDER BY last_active_at DESC, created_at DESC, id DESC
    ///     LIMIT -1 OFFSET $2)          -- PostgreSQL: OFFSET $2 alone
    /// ```
    ///
    /// Sigra calls it right before inserting a session, with `keep` one less than
    /// [`SessionConfig::max_per_user`](crate::config::SessionConfig::max_per_user).
    fn evict_user_sessions_beyond(
        &mut self,
        user_id: &Id,
        keep: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes the sessions of `kind` created strictly before `created_before`, or, when
    /// `active_before` is given, last active strictly before it; returns how many. Sessions
    /// of other kinds are untouched. (Sigra calls it with each kind's lifetimes, see
    /// [`Sigra::prune`](crate::auth::Sigra::prune).)
    fn prune_sessions(
        &mut self,
        kind: SessionKind,
        created_before: OffsetDateTime,
        active_before: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
