//! [`SessionStore`] contracts.

use super::{
    Must, at, broken, check_eq, check_new_id, check_opt_time, check_time, commit, committed_user,
    fresh_digest, in_zone, whole,
};
use crate::store::{
    Id, IpHistory, NewSession, SessionKind, SessionRecord, SessionStore, Store, StoreError,
    UserRecord,
};
use crate::token::TokenDigest;

fn check_session(got: &SessionRecord, want: &SessionRecord, contract: &str) {
    check_eq(
        &got.id,
        &want.id,
        contract,
        "read the id column back unchanged",
    );
    check_eq(
        &got.user_id,
        &want.user_id,
        contract,
        "read user_id back unchanged",
    );
    check_eq(
        &got.token_digest,
        &want.token_digest,
        contract,
        "store token_digest as the 32 raw bytes (BLOB / BYTEA)",
    );
    check_eq(
        got.kind,
        want.kind,
        contract,
        "store kind as SessionKind::as_str() and read it with SessionKind::parse",
    );
    check_eq(
        &got.ip,
        &want.ip,
        contract,
        "ip is nullable TEXT, bound as Option<String>",
    );
    check_eq(
        &got.user_agent,
        &want.user_agent,
        contract,
        "user_agent is nullable TEXT, bound as Option<String>",
    );
    check_time(got.created_at, want.created_at, contract, "created_at");
    check_time(
        got.last_active_at,
        want.last_active_at,
        contract,
        "last_active_at",
    );
    check_opt_time(got.sudo_at, want.sudo_at, contract, "sudo_at");
}

async fn insert<S: Store>(
    store: &S,
    user: &UserRecord,
    kind: SessionKind,
    created_at: time::OffsetDateTime,
) -> SessionRecord {
    let mut tx = store.begin().await.must("begin");
    let session = tx
        .insert_session(&NewSession::new(
            store.new_id(),
            user.id,
            fresh_digest(),
            kind,
            created_at,
        ))
        .await
        .must("insert_session");
    commit(tx).await;
    session
}

async fn by_digest<S: Store>(store: &S, digest: &TokenDigest) -> Option<SessionRecord> {
    let mut tx = store.begin().await.must("begin");
    tx.session_by_digest(digest).await.must("session_by_digest")
}

/// Every column of a session survives insert and `session_by_digest`; `last_active_at`
/// starts at `created_at`.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "SessionStore::insert_session / session_by_digest round-trip every column";
    let user = committed_user(&store, "sessions@example.com").await;
    let full_id = store.new_id();
    let mut full = NewSession::new(
        full_id,
        user.id,
        fresh_digest(),
        SessionKind::RememberMe,
        in_zone(at(5, 123_456), 9),
    );
    full.ip = Some("2001:db8::1".into());
    full.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) «ünïcödé» 🦀".into());
    full.sudo_at = Some(at(5, 123_457));
    let bare_id = store.new_id();
    let bare = NewSession::new(
        bare_id,
        user.id,
        fresh_digest(),
        SessionKind::MfaPending,
        at(6, 0),
    );
    let standard = NewSession::new(
        store.new_id(),
        user.id,
        fresh_digest(),
        SessionKind::Standard,
        at(7, 1),
    );

    let mut tx = store.begin().await.must("begin");
    let mut rows = Vec::new();
    for new in [&full, &bare, &standard] {
        rows.push(tx.insert_session(new).await.must("insert_session"));
    }
    commit(tx).await;

    for (row, new) in rows.iter().zip([&full, &bare, &standard]) {
        check_new_id(new.id, row.id, C);
        let mut want = SessionRecord::new(
            row.id,
            new.user_id,
            new.token_digest,
            new.kind,
            new.created_at,
        );
        want.ip = new.ip.clone();
        want.user_agent = new.user_agent.clone();
        want.sudo_at = new.sudo_at;
        check_session(row, &want, C);
        match by_digest(&store, &new.token_digest).await {
            Some(got) => check_session(&got, &want, C),
            None => broken(
                C,
                "session_by_digest found nothing after commit",
                "select WHERE token_digest = $1, binding the 32 digest bytes",
            ),
        }
    }
    if by_digest(&store, &fresh_digest()).await.is_some() {
        broken(
            C,
            "session_by_digest of an unknown digest returned a session",
            "return None when no row matches",
        );
    }
}

/// A second session with the same token digest is refused with
/// `Conflict { what: "sessions.token_digest" }`.
pub async fn token_digest_unique<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "SessionStore::insert_session refuses a duplicate token_digest";
    let user = committed_user(&store, "dup@example.com").await;
    let first = insert(&store, &user, SessionKind::Standard, at(0, 0)).await;
    let mut tx = store.begin().await.must("begin");
    let dup = NewSession::new(
        store.new_id(),
        user.id,
        first.token_digest,
        SessionKind::Standard,
        at(1, 0),
    );
    match tx.insert_session(&dup).await {
        Err(StoreError::Conflict {
            what: "sessions.token_digest",
        }) => {}
        Ok(_) => broken(
            C,
            "a second session with the same digest was inserted",
            "declare token_digest UNIQUE",
        ),
        Err(err) => broken(
            C,
            format_args!("failed with {err}"),
            "insert with ON CONFLICT DO NOTHING RETURNING … and report a missing row as \
             StoreError::Conflict { what: \"sessions.token_digest\" }",
        ),
    }
}

/// `touch_session` sets `last_active_at`, `set_session_sudo` sets `sudo_at`, each on one
/// session only.
pub async fn touch_and_sudo<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "SessionStore::touch_session / set_session_sudo update one session";
    let user = committed_user(&store, "touch@example.com").await;
    let session = insert(&store, &user, SessionKind::Standard, at(0, 0)).await;
    let other = insert(&store, &user, SessionKind::Standard, at(0, 0)).await;
    let mut tx = store.begin().await.must("begin");
    tx.touch_session(&session.id, in_zone(at(300, 17), -3))
        .await
        .must("touch_session");
    tx.set_session_sudo(&session.id, at(301, 18))
        .await
        .must("set_session_sudo");
    commit(tx).await;
    let Some(got) = by_digest(&store, &session.token_digest).await else {
        broken(
            C,
            "the session vanished",
            "touch_session and set_session_sudo only UPDATE",
        )
    };
    check_time(got.last_active_at, at(300, 17), C, "last_active_at");
    check_opt_time(got.sudo_at, Some(at(301, 18)), C, "sudo_at");
    check_time(
        got.created_at,
        at(0, 0),
        C,
        "created_at (touch must not change it)",
    );
    let Some(untouched) = by_digest(&store, &other.token_digest).await else {
        broken(C, "a session vanished", "UPDATE only WHERE id = $1")
    };
    check_time(
        untouched.last_active_at,
        at(0, 0),
        C,
        "last_active_at of another session",
    );
    check_opt_time(untouched.sudo_at, None, C, "sudo_at of another session");
}

/// The list has the user's sessions only, without `MfaPending` ones, most recently active
/// first — including differences of one microsecond, of less than a second, and times given
/// in other zones.
pub async fn list_excludes_mfa_pending_newest_first<S: Store<Tx: 'static>>(store: S) {
    const C: &str =
        "SessionStore::list_user_sessions excludes mfa_pending and orders by last_active_at desc";
    const FIX: &str = "SELECT … WHERE user_id = $1 AND kind <> 'mfa_pending' ORDER BY \
         last_active_at DESC; on SQLite store times in one fixed UTC text format so text order \
         is time order";
    let user = committed_user(&store, "list@example.com").await;
    let stranger = committed_user(&store, "stranger@example.com").await;
    // last_active values, deliberately awkward for text ordering.
    let actives = [
        in_zone(whole(0, 0), 5),  // whole second, shown at +05:00
        whole(0, 1),              // one microsecond later
        whole(0, 100_000),        // .1
        whole(0, 150_000),        // .15 (sorts before .1 if trailing zeros are cut before a Z)
        whole(0, 500_000),        // half a second later
        in_zone(whole(1, 0), -8), // next whole second, shown at -08:00
        whole(-1, 999_999),       // just before the first
    ];
    let mut ids = Vec::new();
    for (i, active) in actives.iter().enumerate() {
        let kind = if i % 2 == 0 {
            SessionKind::Standard
        } else {
            SessionKind::RememberMe
        };
        let s = insert(&store, &user, kind, at(-10, 0)).await;
        let mut tx = store.begin().await.must("begin");
        tx.touch_session(&s.id, *active).await.must("touch_session");
        commit(tx).await;
        ids.push((s.id, *active));
    }
    let pending = insert(&store, &user, SessionKind::MfaPending, at(100, 0)).await;
    let foreign = insert(&store, &stranger, SessionKind::Standard, at(50, 0)).await;

    let mut tx = store.begin().await.must("begin");
    let list = tx
        .list_user_sessions(&user.id)
        .await
        .must("list_user_sessions");
    if list.iter().any(|s| s.id == pending.id) {
        broken(C, "an mfa_pending session was listed", FIX);
    }
    if list.iter().any(|s| s.id == foreign.id) {
        broken(C, "another user's session was listed", FIX);
    }
    ids.sort_by_key(|(_, active)| std::cmp::Reverse(*active));
    let want: Vec<Id> = ids.iter().map(|(id, _)| *id).collect();
    let got: Vec<Id> = list.iter().map(|s| s.id).collect();
    if got != want {
        let show = |times: Vec<time::OffsetDateTime>| {
            times
                .iter()
                .map(|t| t.to_offset(time::UtcOffset::UTC).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        broken(
            C,
            format_args!(
                "listed last_active_at in the order [{}], expected [{}]",
                show(list.iter().map(|s| s.last_active_at).collect()),
                show(ids.iter().map(|(_, t)| *t).collect()),
            ),
            FIX,
        );
    }
    for s in &list {
        if let Some((_, active)) = ids.iter().find(|(id, _)| *id == s.id) {
            check_time(s.last_active_at, *active, C, "last_active_at in the list");
        }
    }
}

/// `delete_user_session` deletes only a session of that user; another user's session id
/// deletes nothing; repeating it reports `false`.
pub async fn delete_user_session_only_own<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "SessionStore::delete_user_session deletes only the user's own session";
    const FIX: &str =
        "DELETE FROM … WHERE id = $2 AND user_id = $1, and report rows_affected() > 0";
    let alice = committed_user(&store, "alice@example.com").await;
    let mallory = committed_user(&store, "mallory@example.com").await;
    let alices = insert(&store, &alice, SessionKind::Standard, at(0, 0)).await;

    let mut tx = store.begin().await.must("begin");
    let deleted = tx
        .delete_user_session(&mallory.id, &alices.id)
        .await
        .must("delete_user_session");
    commit(tx).await;
    check_eq(deleted, false, C, FIX);
    if by_digest(&store, &alices.token_digest).await.is_none() {
        broken(C, "mallory deleted alice's session by its id", FIX);
    }
    let mut tx = store.begin().await.must("begin");
    let deleted = tx
        .delete_user_session(&alice.id, &alices.id)
        .await
        .must("delete_user_session");
    check_eq(deleted, true, C, FIX);
    let again = tx
        .delete_user_session(&alice.id, &alices.id)
        .await
        .must("delete_user_session");
    check_eq(
        again,
        false,
        C,
        "deleting twice is idempotent and reports false",
    );
    commit(tx).await;
    if by_digest(&store, &alices.token_digest).await.is_some() {
        broken(C, "the session survived its deletion", FIX);
    }
}

/// `delete_session_by_digest` deletes that session (true), then reports false.
pub async fn delete_by_digest<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "SessionStore::delete_session_by_digest";
    const FIX: &str = "DELETE FROM … WHERE token_digest = $1, reporting rows_affected() > 0";
    let user = committed_user(&store, "logout@example.com").await;
    let gone = insert(&store, &user, SessionKind::Standard, at(0, 0)).await;
    let kept = insert(&store, &user, SessionKind::Standard, at(0, 0)).await;
    let mut tx = store.begin().await.must("begin");
    let first = tx
        .delete_session_by_digest(&gone.token_digest)
        .await
        .must("delete_session_by_digest");
    let second = tx
        .delete_session_by_digest(&gone.token_digest)
        .await
        .must("delete_session_by_digest");
    commit(tx).await;
    check_eq(first, true, C, FIX);
    check_eq(second, false, C, FIX);
    if by_digest(&store, &gone.token_digest).await.is_some() {
        broken(C, "the session survived", FIX);
    }
    if by_digest(&store, &kept.token_digest).await.is_none() {
        broken(C, "another session was deleted too", FIX);
    }
}

/// `delete_user_sessions` removes every session of the user (MFA-pending ones too) except
/// `keep`, leaves other users alone, and counts what it removed.
pub async fn delete_user_sessions_except_one<S: Store<Tx: 'static>>(store: S) {
    const C: &str = "SessionStore::delete_user_sessions deletes the user's other sessions";
    const FIX: &str = "DELETE FROM … WHERE user_id = $1 AND id <> $2 (all of them when keep is \
         None), returning rows_affected()";
    let user = committed_user(&store, "revoke@example.com").await;
    let other = committed_user(&store, "other@example.com").await;
    let keep = insert(&store, &user, SessionKind::Standard, at(0, 0)).await;
    let a = insert(&store, &user, SessionKind::RememberMe, at(0, 0)).await;
    let b = insert(&store, &user, SessionKind::MfaPending, at(0, 0)).await;
    let foreign = insert(&store, &other, SessionKind::Standard, at(0, 0)).await;

    let mut tx = store.begin().await.must("begin");
    let n = tx
        .delete_user_sessions(&user.id, Some(&keep.id))
        .await
        .must("delete_user_sessions");
    commit(tx).await;
    check_eq(n, 2, C, FIX);
    for gone in [&a, &b] {
        if by_digest(&store, &gone.token_digest).await.is_some() {
            broken(C, format_args!("a {:?} session survived", gone.kind), FIX);
        }
    }
    if by_digest(&store, &keep.token_digest).await.is_none() {
        broken(C, "the session to keep was deleted", FIX);
    }
    if by_digest(&store, &foreign.token_digest).await.is_none() {
        broken(C, "another user's session was deleted", FIX);
    }
    let mut tx = store.begin().await.must("begin");
    let n = tx
        .delete_user_sessions(&user.id, None)
        .await
        .must("delete_user_sessions");
    check_eq(n, 1, C, FIX);
    let n = tx
        .delete_user_sessions(&user.id, None)
        .await
        .must("delete_user_sessions");
    check_eq(n, 0, C, FIX);
    commit(tx).await;
    if by_digest(&store, &foreign.token_digest).await.is_none() {
        broken(C, "another user's session was deleted", FIX);
    }
}

/// `prune_sessions(kind, created_before, active_before)` deletes exactly the sessions of that
/// kind created strictly before `created_before` or, when given, last active strictly before
/// `active_before` — sub-second and time-zone differences included — and counts them.
pub async fn prune_by_kind_and_age<S: Store<Tx: 'static>>(store: S) {
    const C: &str =
        "SessionStore::prune_sessions deletes the sessions of one kind past either cut-off";
    const FIX: &str = "DELETE FROM user_sessions WHERE kind = $1 AND (created_at < $2 OR \
         last_active_at < $3); a NULL $3 matches nothing; on SQLite store times in one fixed \
         UTC text format so text order is time order";
    let user = committed_user(&store, "prune@example.com").await;
    // (kind, created_at, last_active_at, survives a prune of Standard sessions created
    // before at(1000, 0) or active before at(2000, 0))
    let cases = [
        (SessionKind::Standard, at(999, 999_999), at(5000, 0), false),
        (SessionKind::Standard, at(1000, 0), at(1999, 999_999), false),
        (
            SessionKind::Standard,
            in_zone(at(1000, 0), 5),
            at(2000, 0),
            true,
        ),
        (
            SessionKind::Standard,
            at(1000, 1),
            in_zone(at(2000, 0), -4),
            true,
        ),
        (SessionKind::RememberMe, at(0, 0), at(0, 0), true),
        (SessionKind::MfaPending, at(0, 0), at(0, 0), true),
    ];
    let mut sessions = Vec::new();
    for (kind, created, active, _) in cases {
        let session = insert(&store, &user, kind, created).await;
        let mut tx = store.begin().await.must("begin");
        tx.touch_session(&session.id, active)
            .await
            .must("touch_session");
        commit(tx).await;
        sessions.push(session);
    }
    let mut tx = store.begin().await.must("begin");
    let n = tx
        .prune_sessions(
            SessionKind::Standard,
            in_zone(at(1000, 0), 2),
            Some(at(2000, 0)),
        )
        .await
        .must("prune_sessions");
    commit(tx).await;
    check_eq(n, 2, C, FIX);
    for (session, (kind, created, _, survives)) in sessions.iter().zip(cases) {
        let still = by_digest(&store, &session.token_digest).await.is_some();
        if still != survives {
            broken(
                C,
                format_args!(
                    "the {} session created {created} is {} after the prune",
                    kind.as_str(),
                    if still { "still there" } else { "gone" }
                ),
                FIX,
            );
        }
    }
    // Without `active_before` only the creation time counts.
    let mut tx = store.begin().await.must("begin");
    let n = tx
        .prune_sessions(SessionKind::RememberMe, at(0, 0), None)
        .await
        .must("prune_sessions");
    check_eq(n, 0, C, FIX);
    let n = tx
        .prune_sessions(SessionKind::RememberMe, at(0, 1), None)
        .await
        .must("prune_sessions");
    check_eq(n, 1, C, FIX);
    commit(tx).await;
}

/// `user_ip_history` tells whether the user has sessions and whether one comes from the
/// address: exact text matches only, `MfaPending` sessions and other users' sessions left
/// out, the transaction's own uncommitted sessions included.
pub async fn ip_history_is_per_user_and_exact<S: Store<Tx: 'static>>(store: S) {
    const C: &str =
        "SessionStore::user_ip_history answers from the user's sessions, MFA-pending ones aside";
    const FIX: &str = "SELECT EXISTS (SELECT 1 FROM user_sessions WHERE user_id = $1 AND kind <> \
         'mfa_pending'), EXISTS (SELECT 1 FROM user_sessions WHERE user_id = $1 AND kind <> \
         'mfa_pending' AND ip = $2), then IpHistory::from_flags";
    let user = committed_user(&store, "ips@example.com").await;
    let other = committed_user(&store, "other-ips@example.com").await;
    let history = |ip: &'static str| {
        let store = store.clone();
        let user_id = user.id;
        async move {
            let mut tx = store.begin().await.must("begin");
            tx.user_ip_history(&user_id, ip)
                .await
                .must("user_ip_history")
        }
    };
    let with_ip = |user: &UserRecord, kind: SessionKind, ip: Option<&str>, t: i64| {
        let mut new = NewSession::new(store.new_id(), user.id, fresh_digest(), kind, at(t, 0));
        new.ip = ip.map(str::to_owned);
        new
    };
    let insert_all = |news: Vec<NewSession>| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.must("begin");
            for new in &news {
                tx.insert_session(new).await.must("insert_session");
            }
            commit(tx).await;
        }
    };

    check_eq(history("192.0.2.1").await, IpHistory::NoSessions, C, FIX);
    // Only an MFA-pending session of the user, and another user's session, from the address.
    insert_all(vec![
        with_ip(&user, SessionKind::MfaPending, Some("192.0.2.1"), 0),
        with_ip(&other, SessionKind::Standard, Some("192.0.2.1"), 0),
    ])
    .await;
    check_eq(
        history("192.0.2.1").await,
        IpHistory::NoSessions,
        C,
        "leave out mfa_pending sessions and other users' sessions (WHERE user_id = $1 AND kind <> 'mfa_pending')",
    );
    insert_all(vec![
        with_ip(&user, SessionKind::Standard, Some("192.0.2.10"), 1),
        with_ip(&user, SessionKind::RememberMe, Some("2001:db8::1"), 2),
        with_ip(&user, SessionKind::Standard, None, 3),
    ])
    .await;
    for (ip, want) in [
        ("192.0.2.10", IpHistory::Known),
        ("2001:db8::1", IpHistory::Known),
        // Only the MFA-pending session and the other user's come from here.
        ("192.0.2.1", IpHistory::New),
        ("192.0.2.100", IpHistory::New),
        ("2001:db8::", IpHistory::New),
        ("198.51.100.7", IpHistory::New),
    ] {
        let got = history(ip).await;
        if got != want {
            broken(
                C,
                format_args!("for {ip:?}: expected {want:?}, got {got:?}"),
                FIX,
            );
        }
    }

    // The transaction sees its own session.
    let mut tx = store.begin().await.must("begin");
    tx.insert_session(&with_ip(
        &user,
        SessionKind::Standard,
        Some("203.0.113.5"),
        4,
    ))
    .await
    .must("insert_session");
    let got = tx
        .user_ip_history(&user.id, "203.0.113.5")
        .await
        .must("user_ip_history");
    check_eq(
        got,
        IpHistory::Known,
        C,
        "read through the transaction (&mut *self.tx), not through the pool",
    );
}

/// `evict_user_sessions_beyond(user, keep)` deletes all but the user's `keep` most recently
/// active sessions (ties on `last_active_at` go to the later created), counts them, and
/// leaves `MfaPending` sessions and other users' sessions alone; `keep = 0` deletes every
/// session of the user but the MFA-pending ones.
pub async fn evict_beyond_keeps_most_recently_active<S: Store<Tx: 'static>>(store: S) {
    const C: &str =
        "SessionStore::evict_user_sessions_beyond keeps the most recently active sessions";
    const FIX: &str = "DELETE FROM user_sessions WHERE id IN (SELECT id FROM user_sessions WHERE \
         user_id = $1 AND kind <> 'mfa_pending' ORDER BY last_active_at DESC, created_at DESC, id \
         DESC LIMIT -1 OFFSET $2) (PostgreSQL: OFFSET $2 without LIMIT), returning \
         rows_affected(); on SQLite store times in one fixed UTC text format so text order is \
         time order";
    let user = committed_user(&store, "evict@example.com").await;
    let other = committed_user(&store, "other-evict@example.com").await;
    // (name, kind, created_at, last_active_at); newest first by activity: s5, s4, s2, s1, s3.
    let plan = [
        ("s1", SessionKind::Standard, at(0, 0), whole(10, 0)),
        // Same last_active_at as s1, created later: the more recent of the two.
        (
            "s2",
            SessionKind::RememberMe,
            at(1, 0),
            in_zone(whole(10, 0), 3),
        ),
        ("s3", SessionKind::Standard, at(2, 0), whole(9, 999_999)),
        ("s4", SessionKind::Standard, at(3, 0), whole(10, 100_000)),
        (
            "s5",
            SessionKind::RememberMe,
            at(4, 0),
            in_zone(whole(11, 0), -5),
        ),
        // The oldest of all, but MFA-pending: never counted, never evicted.
        ("pending", SessionKind::MfaPending, at(-100, 0), at(-100, 0)),
    ];
    let mut sessions = Vec::new();
    for (name, kind, created, active) in plan {
        let session = insert(&store, &user, kind, created).await;
        let mut tx = store.begin().await.must("begin");
        tx.touch_session(&session.id, active)
            .await
            .must("touch_session");
        commit(tx).await;
        sessions.push((name, session));
    }
    let foreign = insert(&store, &other, SessionKind::Standard, at(-200, 0)).await;

    let survivors = |sessions: &[(&'static str, SessionRecord)]| {
        let store = store.clone();
        let sessions = sessions.to_vec();
        async move {
            let mut left = Vec::new();
            for (name, session) in &sessions {
                if by_digest(&store, &session.token_digest).await.is_some() {
                    left.push(*name);
                }
            }
            left
        }
    };
    let evict = |keep: u32| {
        let store = store.clone();
        let user_id = user.id;
        async move {
            let mut tx = store.begin().await.must("begin");
            let n = tx
                .evict_user_sessions_beyond(&user_id, keep)
                .await
                .must("evict_user_sessions_beyond");
            commit(tx).await;
            n
        }
    };

    for (keep, evicted, left) in [
        (10, 0, vec!["s1", "s2", "s3", "s4", "s5", "pending"]),
        (5, 0, vec!["s1", "s2", "s3", "s4", "s5", "pending"]),
        (3, 2, vec!["s2", "s4", "s5", "pending"]),
        (3, 0, vec!["s2", "s4", "s5", "pending"]),
        (1, 2, vec!["s5", "pending"]),
        (0, 1, vec!["pending"]),
        (0, 0, vec!["pending"]),
    ] {
        let n = evict(keep).await;
        let got = survivors(&sessions).await;
        if n != evicted || got != left {
            broken(
                C,
                format_args!(
                    "keeping {keep}: deleted {n} (expected {evicted}), left {got:?} (expected {left:?})"
                ),
                FIX,
            );
        }
    }
    if by_digest(&store, &foreign.token_digest).await.is_none() {
        broken(C, "another user's session was deleted", FIX);
    }
}
