//! Session events: how a change made on one app instance reaches the session cache of the
//! others at once, instead of when their entries expire.
//!
//! Each instance keeps the sessions it read for
//! [`session.cache_ttl`](crate::config::SessionConfig::cache_ttl) (see the cache's
//! documentation on [`Sigra::authenticate`]). A log out, revocation or password change made
//! through one instance drops that instance's entries at once; the others learn of it through
//! [`SessionEvents`], a handle the app feeds:
//!
//! - [`SessionEvents::apply`] (or [`user_changed`](SessionEvents::user_changed),
//!   [`all_changed`](SessionEvents::all_changed)) with each message another instance or the
//!   database sent: the user's cached sessions are dropped;
//! - [`SessionEvents::set_connected`] with the state of the channel: while it is down the
//!   cache is bypassed (every request reads the database: fail closed), and everything cached
//!   is dropped when it comes back, since messages sent meanwhile are lost.
//!
//! A context built with [`SigraBuilder::with_session_events`] starts with the channel down, so
//! nothing is cached before the app listens. Without it (SQLite: one process) the cache
//! behaves as before and the handle is never needed.
//!
//! # Who publishes: the database, in the writing transaction
//!
//! sigra-core does not publish anything. The generated PostgreSQL app has triggers on the
//! sessions and accounts tables (migration `…_notify_session_changes`) that run
//! `pg_notify('sigra_sessions', <user id>)` for every deleted session, every session whose
//! kind or sudo time changed and every account whose email, password, confirmation, lock,
//! token epoch or deletion changed; a statement touching more than 100 users sends `*`
//! instead. Its listener task (`src/<context>/store/session_events.rs`) `LISTEN`s on a
//! connection of its own and calls this handle.
//!
//! Why there rather than a hook in sigra-core called after each flow commits:
//!
//! - **Never before commit, never lost after it.** PostgreSQL delivers a `NOTIFY` when its
//!   transaction commits and drops it on rollback; a hook after `commit()` would be lost if
//!   the process died between the two, and one before it could announce a change that rolls
//!   back.
//! - **Every writer is covered**: sigra-core's flows, the app's own SQL, the pruning job, an
//!   operator deleting rows in `psql`. A hook would only see changes made through `Sigra`.
//! - **No new store contract**: SQLite and in-memory stores need nothing, and the store
//!   functions stay plain SQL.
//!
//! Any other channel (Redis pub/sub, a message bus) works the same way: call
//! [`SessionEvents::apply`] with what it delivers and [`SessionEvents::set_connected`] with its
//! state.
//!
//! # Message format
//!
//! A payload is a user id as [`Id`]'s `Display` writes it (`42`, or a hyphenated UUID), or
//! [`EVERYTHING`] (`*`). An unreadable payload drops everything (fail closed) and is reported.
//!
//! ```ignore
//! let sigra = Sigra::builder(store, secret).config(config).with_session_events().build()?;
//! let events = sigra.session_events();
//! // in the listener task:
//! listener.listen("sigra_sessions").await?;
//! events.set_connected(true);
//! while let Some(n) = listener.try_recv().await? {
//!     let _ = events.apply(n.payload());
//! }
//! events.set_connected(false); // connection lost: bypass the cache until it is back
//! ```

use std::fmt;
use std::sync::Arc;

use crate::store::{Id, Store};

use super::cache::SessionCache;
use super::{Sigra, SigraBuilder};

/// The payload that means "every user's sessions may have changed".
///
/// ```
/// assert_eq!(sigra_core::auth::EVERYTHING, "*");
/// ```
pub const EVERYTHING: &str = "*";

/// The longest payload quoted in an error message.
const MAX_QUOTED: usize = 64;

/// Why a session event could not be applied.
///
/// ```
/// use sigra_core::auth::SessionEventError;
///
/// let err = SessionEventError::UnreadablePayload { payload: "x".into() };
/// assert!(err.to_string().contains("dropped every cached session"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionEventError {
    /// The payload is neither a user id nor [`EVERYTHING`]; every cached session was dropped.
    #[error(
        "unreadable session event {payload:?} (expected a user id or \"*\"): dropped every cached session"
    )]
    UnreadablePayload {
        /// The payload (at most 64 characters of it).
        payload: String,
    },
}

/// The handle through which the app tells this instance's session cache what changed on
/// other instances. Cheap to clone.
///
/// Feed it every message of the channel the app uses between instances
/// ([`apply`](Self::apply): a user id, or [`EVERYTHING`]) and the channel's state
/// ([`set_connected`](Self::set_connected)): while the channel is down the cache is bypassed
/// (every request reads the database), and when it comes back everything cached is dropped.
/// Build the context with [`SigraBuilder::with_session_events`] so the cache also waits for
/// the first `set_connected(true)`.
///
/// The generated PostgreSQL app publishes from the database itself: triggers run
/// `pg_notify('sigra_sessions', <user id>)` in every transaction that ends a session or
/// changes an account, so a message is sent exactly when the change commits (and never for
/// one that rolls back), whoever made it; its listener task feeds this handle. See the
/// sessions guide, "Several instances: session events".
///
/// ```ignore
/// let events = sigra.session_events();
/// events.set_connected(true);
/// events.apply("42")?; // user 42's sessions changed on another instance
/// ```
#[derive(Clone)]
pub struct SessionEvents {
    cache: Arc<SessionCache>,
}

impl fmt::Debug for SessionEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEvents")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl SessionEvents {
    pub(super) fn new(cache: Arc<SessionCache>) -> Self {
        Self { cache }
    }

    /// Drops the cached sessions of `user_id`, and keeps reads of them already in flight from
    /// being cached.
    ///
    /// ```ignore
    /// sigra.session_events().user_changed(&Id::Int(42));
    /// ```
    pub fn user_changed(&self, user_id: &Id) {
        self.cache.forget_user(user_id);
    }

    /// Drops every cached session (a change whose users are unknown, or too many to name).
    ///
    /// ```ignore
    /// sigra.session_events().all_changed();
    /// ```
    pub fn all_changed(&self) {
        self.cache.forget_all();
    }

    /// Applies one message: a user id drops that user's cached sessions, [`EVERYTHING`] drops
    /// all of them. Anything else drops all of them too (fail closed) and is returned as an
    /// error for the app to log.
    ///
    /// ```ignore
    /// if let Err(err) = events.apply(notification.payload()) {
    ///     tracing::warn!("{err}");
    /// }
    /// ```
    pub fn apply(&self, payload: &str) -> Result<(), SessionEventError> {
        let payload = payload.trim();
        if payload == EVERYTHING {
            self.all_changed();
            return Ok(());
        }
        match payload.parse::<Id>() {
            Ok(id) => {
                self.user_changed(&id);
                Ok(())
            }
            Err(_) => {
                self.all_changed();
                Err(SessionEventError::UnreadablePayload {
                    payload: payload.chars().take(MAX_QUOTED).collect(),
                })
            }
        }
    }

    /// Records whether the channel is up. `false`: the cache is bypassed (and emptied) until
    /// it is back. `true`, once listening again: everything cached is dropped (messages sent
    /// while nobody listened are lost), then caching resumes. Call `true` only after the
    /// subscription is in place, so no change falls between the two.
    ///
    /// ```ignore
    /// listener.listen("sigra_sessions").await?;
    /// events.set_connected(true);
    /// ```
    pub fn set_connected(&self, connected: bool) {
        self.cache.set_connected(connected);
    }

    /// Whether the channel is up, as last reported (always `true` for a context built without
    /// [`SigraBuilder::with_session_events`] until `set_connected(false)` is called).
    ///
    /// ```ignore
    /// assert!(sigra.session_events().is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.cache.is_connected()
    }
}

impl<S: Store> SigraBuilder<S> {
    /// Declares that the app feeds [`SessionEvents`] from other instances: the session cache
    /// stays bypassed until [`SessionEvents::set_connected`]`(true)`, so nothing is served
    /// from memory before the app listens. The generated PostgreSQL app sets it; an app on
    /// one process (SQLite) does not need it.
    ///
    /// ```ignore
    /// let sigra = Sigra::builder(store, secret).with_session_events().build()?;
    /// ```
    pub fn with_session_events(mut self) -> Self {
        self.session_events = true;
        self
    }
}

impl<S: Store> Sigra<S> {
    /// The handle that feeds changes made by other instances to this instance's session
    /// cache; see [`SessionEvents`].
    ///
    /// ```ignore
    /// let events = sigra.session_events();
    /// tokio::spawn(listen(db_url, events));
    /// ```
    pub fn session_events(&self) -> SessionEvents {
        SessionEvents::new(Arc::clone(&self.inner.sessions))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;

    use super::*;
    use crate::auth::Authenticated;
    use crate::store::{SessionKind, SessionRecord, UserRecord};
    use crate::token::TokenDigest;

    fn cached(cache: &SessionCache, user: i64, token: &[u8], now: OffsetDateTime) -> TokenDigest {
        let digest = TokenDigest::sha256(token);
        let auth = Arc::new(Authenticated {
            user: UserRecord::new(Id::Int(user), format!("u{user}@example.com"), now),
            session: SessionRecord {
                id: Id::Int(user * 100),
                user_id: Id::Int(user),
                token_digest: digest,
                kind: SessionKind::Standard,
                ip: None,
                user_agent: None,
                created_at: now,
                last_active_at: now,
                sudo_at: None,
            },
        });
        cache.insert(&digest, &auth, now, cache.generation());
        digest
    }

    fn events() -> (Arc<SessionCache>, SessionEvents) {
        let cache = Arc::new(SessionCache::new(Duration::from_secs(10)));
        let events = SessionEvents::new(Arc::clone(&cache));
        (cache, events)
    }

    #[test]
    fn a_user_id_drops_that_users_entries_only() {
        let (cache, events) = events();
        let now = OffsetDateTime::UNIX_EPOCH;
        let a = cached(&cache, 1, b"a", now);
        let b = cached(&cache, 2, b"b", now);
        events.apply("1").unwrap();
        assert!(cache.get(&a, now).is_none());
        assert!(cache.get(&b, now).is_some());
    }

    #[test]
    fn uuid_ids_are_read_as_display_writes_them() {
        let (cache, events) = events();
        let id = Id::new_v7();
        events.apply(&id.to_string()).unwrap();
        events.user_changed(&id);
        assert!(cache.is_connected());
    }

    #[test]
    fn a_read_that_started_before_a_remote_message_is_not_cached_after_it() {
        let (cache, events) = events();
        let now = OffsetDateTime::UNIX_EPOCH;
        let digest = TokenDigest::sha256(b"slow");
        let started = cache.generation();
        // Another instance revokes the session while this one is still reading its row.
        events.apply("1").unwrap();
        let auth = Arc::new(Authenticated {
            user: UserRecord::new(Id::Int(1), "u1@example.com".into(), now),
            session: SessionRecord {
                id: Id::Int(100),
                user_id: Id::Int(1),
                token_digest: digest,
                kind: SessionKind::Standard,
                ip: None,
                user_agent: None,
                created_at: now,
                last_active_at: now,
                sudo_at: None,
            },
        });
        cache.insert(&digest, &auth, now, started);
        assert!(
            cache.get(&digest, now).is_none(),
            "the row read before it is not kept"
        );
    }

    #[test]
    fn everything_drops_every_entry() {
        let (cache, events) = events();
        let now = OffsetDateTime::UNIX_EPOCH;
        cached(&cache, 1, b"a", now);
        cached(&cache, 2, b"b", now);
        events.apply(EVERYTHING).unwrap();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn an_unreadable_payload_drops_everything_and_says_so() {
        let (cache, events) = events();
        let now = OffsetDateTime::UNIX_EPOCH;
        cached(&cache, 1, b"a", now);
        let long = "x".repeat(1000);
        let err = events.apply(&long).unwrap_err();
        assert_eq!(cache.len(), 0);
        let SessionEventError::UnreadablePayload { payload } = err;
        assert_eq!(payload.len(), MAX_QUOTED);
    }

    #[test]
    fn the_connection_state_is_reported() {
        let (cache, events) = events();
        let now = OffsetDateTime::UNIX_EPOCH;
        let a = cached(&cache, 1, b"a", now);
        events.set_connected(false);
        assert!(!events.is_connected());
        assert!(cache.get(&a, now).is_none());
        events.set_connected(true);
        assert!(events.is_connected());
        assert!(format!("{events:?}").contains("connected: true"));
    }
}
