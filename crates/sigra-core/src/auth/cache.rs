//! A short-lived, in-process cache of authenticated sessions.
//!
//! Loading the session of every request from the database costs more than rendering most
//! pages (on SQLite through sqlx: a transaction and two queries, about 80 µs of CPU). Sigra keeps
//! what [`Sigra::authenticate`](super::Sigra::authenticate) read for
//! [`session.cache_ttl`](crate::config::SessionConfig::cache_ttl) (default 10 s) and answers
//! from memory while the entry is fresh. What stays exact:
//!
//! - **Expiry** is decided on every request from the cached row and the current time (idle
//!   and absolute timeouts, sudo window), exactly as for a row just read.
//! - **`last_active_at`** writes are never skipped: when one is due the request goes to the
//!   database, which writes it and refreshes the entry.
//! - **Changes made through this `Sigra`** (log out, revoke, log out elsewhere, password change
//!   or reset, email change, confirmation, lock, sudo, a new login) drop the user's entries
//!   before the call returns, so this process never serves a revoked session.
//! - **Changes made by other processes**, when the app feeds
//!   [`SessionEvents`](super::SessionEvents) (the generated PostgreSQL app does: database
//!   triggers `NOTIFY` every session and account change, each instance `LISTEN`s), drop the
//!   user's entries as soon as the notification arrives, milliseconds after the commit. While
//!   that channel is down the cache is bypassed (every request reads the database), and
//!   everything is dropped when it comes back: a notification missed meanwhile cannot leave a
//!   revoked session cached.
//! - **Races**: an invalidation (local, remote, or the channel going down or up) bumps a
//!   generation counter; a database read that started before it is not cached after it, so a
//!   slow request cannot put a revoked row back.
//!
//! What is bounded by the TTL: without session events (SQLite, one process, needs none; a
//! custom app on several instances that does not feed them), a change made by *another*
//! process (a second app instance, an admin editing rows in SQL) is seen here at most
//! `cache_ttl` later; with them, only if the channel died silently, until the listener's
//! heartbeat notices. Set `SIGRA_SESSION_CACHE_TTL=0` to read the database on every request.
//! The cache holds at most [`CAPACITY`] entries (about 1 KiB each); when full, stale entries go
//! first, then all.
//!
//! Entries are keyed by the SHA-256 digest of the session token (never the token), like the
//! database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use super::Authenticated;
use crate::store::Id;
use crate::token::TokenDigest;

/// Most sessions kept at once.
pub(crate) const CAPACITY: usize = 10_000;

/// The cache; see the module documentation.
pub(crate) struct SessionCache {
    ttl: Duration,
    state: Mutex<State>,
}

struct State {
    /// Bumped by every invalidation.
    generation: u64,
    /// Whether changes made elsewhere reach this cache: always true without session events;
    /// with them, whether their channel is up. While false, nothing is served or kept.
    connected: bool,
    entries: HashMap<[u8; 32], Entry>,
}

struct Entry {
    auth: Arc<Authenticated>,
    cached_at: OffsetDateTime,
}

/// The generation a database read started at; see [`SessionCache::insert`].
#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

impl SessionCache {
    /// A cache keeping entries for `ttl` (zero: never keeps anything).
    pub(crate) fn new(ttl: Duration) -> Self {
        Self::with_connected(ttl, true)
    }

    /// A cache fed by session events: bypassed until [`set_connected`](Self::set_connected)
    /// says their channel is up.
    pub(crate) fn fed_by_events(ttl: Duration) -> Self {
        Self::with_connected(ttl, false)
    }

    fn with_connected(ttl: Duration, connected: bool) -> Self {
        Self {
            ttl,
            state: Mutex::new(State {
                generation: 0,
                connected,
                entries: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing can panic while the lock is held; if something did, the map is still a
        // valid map, so carry on with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn fresh(&self, cached_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        // A clock that went backwards makes the entry stale, never fresher.
        now >= cached_at && (now - cached_at) < self.ttl
    }

    /// The cached session for `digest`, if it was read from the database less than the TTL
    /// ago.
    pub(crate) fn get(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> Option<Arc<Authenticated>> {
        if !self.enabled() {
            return None;
        }
        let mut state = self.lock();
        if !state.connected {
            return None;
        }
        if let Some(entry) = state.entries.get(digest.as_bytes()) {
            if self.fresh(entry.cached_at, now) {
                return Some(Arc::clone(&entry.auth));
            }
            state.entries.remove(digest.as_bytes());
        }
        None
    }

    /// Call before reading a session from the database; pass the result to [`insert`](Self::insert).
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    /// Caches what was read at `started` for `digest`, unless an invalidation happened since
    /// (the row might be the one it removed).
    pub(crate) fn insert(
        &self,
        digest: &TokenDigest,
        auth: &Arc<Authenticated>,
        now: OffsetDateTime,
        started: Generation,
    ) {
        if !self.enabled() {
            return;
        }
        let mut state = self.lock();
        if !state.connected || state.generation != started.0 {
            return;
        }
        if state.entries.len() >= CAPACITY {
            state.entries.retain(|_, e| self.fresh(e.cached_at, now));
            if state.entries.len() >= CAPACITY {
                state.entries.clear();
            }
        }
        state.entries.insert(
            *digest.as_bytes(),
            Entry {
                auth: Arc::clone(auth),
                cached_at: now,
            },
        );
    }

    /// Drops the entry for one token.
    pub(crate) fn forget_token(&self, digest: &TokenDigest) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.entries.remove(digest.as_bytes());
    }

    /// Drops every entry of a user.
    pub(crate) fn forget_user(&self, user_id: &Id) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.entries.retain(|_, e| e.auth.user.id != *user_id);
    }

    /// Drops every entry (a change whose users are unknown, or too many to name).
    pub(crate) fn forget_all(&self) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.entries.clear();
    }

    /// Records whether changes made elsewhere reach this cache. Either way everything cached
    /// is dropped and reads in flight are not kept: going down, nothing may be served until
    /// the channel is back; coming back, what changed while it was down is unknown.
    pub(crate) fn set_connected(&self, connected: bool) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.connected = connected;
        state.entries.clear();
    }

    /// Whether changes made elsewhere reach this cache (see [`set_connected`](Self::set_connected)).
    pub(crate) fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// How many entries are held (fresh or not).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SessionKind, SessionRecord, UserRecord};

    fn auth(user: u64, digest: TokenDigest, now: OffsetDateTime) -> Arc<Authenticated> {
        Arc::new(Authenticated {
            user: UserRecord::new(Id::Int(user as i64), format!("u{user}@example.com"), now),
            session: SessionRecord {
                id: Id::Int(user as i64 * 100),
                user_id: Id::Int(user as i64),
                token_digest: digest,
                kind: SessionKind::Standard,
                ip: None,
                user_agent: None,
                created_at: now,
                last_active_at: now,
                sudo_at: None,
            },
        })
    }

    #[test]
    fn fresh_entries_are_served_until_the_ttl() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        let d = TokenDigest::sha256(b"a");
        let g = cache.generation();
        cache.insert(&d, &auth(1, d, now), now, g);
        assert!(cache.get(&d, now + Duration::from_secs(9)).is_some());
        assert!(cache.get(&d, now + Duration::from_secs(10)).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_clock_going_back_is_a_miss() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(100);
        let d = TokenDigest::sha256(b"a");
        cache.insert(&d, &auth(1, d, now), now, cache.generation());
        assert!(cache.get(&d, now - Duration::from_secs(1)).is_none());
    }

    #[test]
    fn zero_ttl_keeps_nothing() {
        let cache = SessionCache::new(Duration::ZERO);
        let now = OffsetDateTime::UNIX_EPOCH;
        let d = TokenDigest::sha256(b"a");
        cache.insert(&d, &auth(1, d, now), now, cache.generation());
        assert!(cache.get(&d, now).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn forgetting_a_user_drops_all_their_entries_only() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        let (a, b, c) = (
            TokenDigest::sha256(b"a"),
            TokenDigest::sha256(b"b"),
            TokenDigest::sha256(b"c"),
        );
        cache.insert(&a, &auth(1, a, now), now, cache.generation());
        cache.insert(&b, &auth(1, b, now), now, cache.generation());
        cache.insert(&c, &auth(2, c, now), now, cache.generation());
        cache.forget_user(&Id::Int(1));
        assert!(cache.get(&a, now).is_none());
        assert!(cache.get(&b, now).is_none());
        assert!(cache.get(&c, now).is_some());
        cache.forget_token(&c);
        assert!(cache.get(&c, now).is_none());
    }

    #[test]
    fn a_read_that_started_before_an_invalidation_is_not_cached() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        let d = TokenDigest::sha256(b"a");
        let started = cache.generation();
        // Meanwhile the session is revoked...
        cache.forget_user(&Id::Int(1));
        // ...so the row read before it must not come back.
        cache.insert(&d, &auth(1, d, now), now, started);
        assert!(cache.get(&d, now).is_none());
    }

    #[test]
    fn a_cache_fed_by_events_is_bypassed_until_connected() {
        let cache = SessionCache::fed_by_events(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        let d = TokenDigest::sha256(b"a");
        assert!(!cache.is_connected());
        cache.insert(&d, &auth(1, d, now), now, cache.generation());
        assert!(
            cache.get(&d, now).is_none(),
            "nothing is kept before the channel is up"
        );
        assert_eq!(cache.len(), 0);
        cache.set_connected(true);
        cache.insert(&d, &auth(1, d, now), now, cache.generation());
        assert!(cache.get(&d, now).is_some());
    }

    #[test]
    fn disconnected_bypasses_and_reconnected_flushes() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        let (a, b) = (TokenDigest::sha256(b"a"), TokenDigest::sha256(b"b"));
        cache.insert(&a, &auth(1, a, now), now, cache.generation());
        cache.set_connected(false);
        assert!(cache.get(&a, now).is_none(), "down: the database decides");
        cache.insert(&b, &auth(2, b, now), now, cache.generation());
        assert!(cache.get(&b, now).is_none(), "down: nothing new is kept");
        assert_eq!(cache.len(), 0);
        cache.set_connected(true);
        assert!(
            cache.get(&a, now).is_none(),
            "back: what was cached before is gone"
        );
        cache.insert(&b, &auth(2, b, now), now, cache.generation());
        assert!(cache.get(&b, now).is_some(), "back: caching again");
    }

    #[test]
    fn a_read_that_started_before_the_channel_went_down_and_up_is_not_cached() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        let d = TokenDigest::sha256(b"a");
        let started = cache.generation();
        // A revocation whose notification was lost while the channel was down...
        cache.set_connected(false);
        cache.set_connected(true);
        // ...so a row read before it must not be kept.
        cache.insert(&d, &auth(1, d, now), now, started);
        assert!(cache.get(&d, now).is_none());
    }

    #[test]
    fn forgetting_everything_drops_every_entry_and_reads_in_flight() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        let (a, b) = (TokenDigest::sha256(b"a"), TokenDigest::sha256(b"b"));
        cache.insert(&a, &auth(1, a, now), now, cache.generation());
        let started = cache.generation();
        cache.forget_all();
        assert_eq!(cache.len(), 0);
        cache.insert(&b, &auth(2, b, now), now, started);
        assert!(cache.get(&b, now).is_none());
    }

    #[test]
    fn a_full_cache_drops_stale_entries_first_then_everything() {
        let cache = SessionCache::new(Duration::from_secs(10));
        let now = OffsetDateTime::UNIX_EPOCH;
        for i in 0..CAPACITY {
            let d = TokenDigest::sha256(&i.to_le_bytes());
            cache.insert(&d, &auth(1, d, now), now, cache.generation());
        }
        assert_eq!(cache.len(), CAPACITY);
        let later = now + Duration::from_secs(11);
        let d = TokenDigest::sha256(b"new");
        cache.insert(&d, &auth(2, d, later), later, cache.generation());
        assert_eq!(cache.len(), 1);
        // All fresh: the map is cleared rather than grown.
        for i in 0..CAPACITY {
            let d = TokenDigest::sha256(&(i + CAPACITY).to_le_bytes());
            cache.insert(&d, &auth(1, d, later), later, cache.generation());
        }
        assert!(cache.len() <= CAPACITY);
    }
}
