//! Revocation across app instances: two processes of the reference host's PostgreSQL build on
//! one database, whose session cache keeps entries for a whole minute. A session used on B is
//! cached there; a log out or a revocation made on A is refused by B as soon as the database's
//! notification reaches B (the triggers NOTIFY at commit, B's listener drops the cached
//! session): on the very next request when the machine is idle, within milliseconds under
//! load, and always far within the TTL (the test allows 1 s and prints what it saw), quietly
//! and while a load generator keeps both instances busy. With B's listening connection killed
//! and reconnection blocked, B bypasses its cache (a session revoked meanwhile is refused on
//! the next request, valid ones still work, nothing read meanwhile is kept), and once the
//! channel is back B flushes and caches again.
//!
//! Needs PostgreSQL (`eval "$(cargo xtask env)"`, or `cargo xtask test`); skipped without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sigra_tests::host::{HostProcess, postgres_host_binary};
use sigra_tests::http::Client;
use sigra_tests::postgres::{self, admin_url, psql};

const PASSWORD: &str = "revocation across instances 7d";

/// What the listener logs each time it (re)subscribes, and when it loses the channel.
const LISTENING: &str = "session events: listening";
const LOST: &str = "the session cache is bypassed until the channel is back";

/// Both instances' settings: auth POSTs are not rate limited away (every test request comes
/// from 127.0.0.1), and the session cache keeps entries for its longest allowed TTL, so a
/// refusal within [`DEADLINE`] can only come from the session event.
const ENV: &[(&str, &str)] = &[
    ("SIGRA_RATE_LIMIT_AUTH_MAX", "1000"),
    ("SIGRA_RATE_LIMIT_AUTH_WINDOW", "1s"),
    ("SIGRA_SESSION_CACHE_TTL", "1m"),
];

struct Cluster {
    db: String,
    a: HostProcess,
    b: HostProcess,
}

/// Two instances on a fresh database, each listening for session events.
fn cluster(name: &str) -> Option<Cluster> {
    let db = postgres::fresh_database(name)?;
    let binary = postgres_host_binary();
    let a = HostProcess::start_binary(binary, &format!("{name}-a"), &db, ENV);
    let b = HostProcess::start_binary(binary, &format!("{name}-b"), &db, ENV);
    wait_for_log(&a, LISTENING, 1);
    wait_for_log(&b, LISTENING, 1);
    Some(Cluster { db, a, b })
}

/// Waits until `needle` appears `count` times in `app`'s log.
fn wait_for_log(app: &HostProcess, needle: &str, count: usize) {
    let started = Instant::now();
    while app.log_text().matches(needle).count() < count {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{needle:?} did not appear {count} time(s) in the log:\n{}",
            app.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Registers `email` on `app` (its first POST also gives the client a CSRF cookie).
fn register(app: &HostProcess, email: &str) {
    let mut client = Client::new(app.url());
    let answer = client.submit(
        "/users/register",
        "/users/register",
        &[("email", email), ("password", PASSWORD)],
    );
    assert!(
        answer.status < 400,
        "registering {email}: {}",
        answer.status
    );
}

/// A browser logged in as `email` on `app`.
fn log_in(app: &HostProcess, email: &str) -> Client {
    let mut client = Client::new(app.url());
    let answer = client.submit(
        "/users/log_in",
        "/users/log_in",
        &[("email", email), ("password", PASSWORD)],
    );
    assert_eq!(
        answer.status, 303,
        "logging in {email}: {}\n{}",
        answer.status, answer.body
    );
    assert_eq!(client.get("/users/settings").status, 200, "logged in");
    client
}

/// Whether the settings page answers (200) rather than sending to the login page.
fn signed_in(client: &mut Client) -> bool {
    let answer = client.get("/users/settings");
    match answer.status {
        200 => true,
        303 => {
            assert!(
                answer
                    .header("location")
                    .is_some_and(|l| l.starts_with("/users/log_in")),
                "a redirect to the login page: {:?}",
                answer.headers
            );
            false
        }
        other => panic!("GET /users/settings answered {other}:\n{}", answer.body),
    }
}

/// Logs `client`'s session out (on the instance it talks to).
fn log_out(client: &mut Client) {
    let answer = client.submit("/users/settings", "/users/log_out", &[]);
    assert!(
        answer.status == 303 || answer.status == 200,
        "log out: {}",
        answer.status
    );
}

/// How long B may take to refuse a session ended on A: far below the cache TTL the
/// instances run with ([`ENV`]: 1 minute), so only the session event can explain it.
const DEADLINE: Duration = Duration::from_secs(1);

/// What B did after the change on A returned: how many requests it still served from its
/// cache, and how long until it refused.
#[derive(Debug, Clone, Copy)]
struct Seen {
    stale: u32,
    after: Duration,
}

/// One round: a session made on A and cached on B, ended on A by `end`, is refused by B as
/// soon as the database's notification has reached B (well within [`DEADLINE`]).
fn round(c: &Cluster, email: &str, end: impl FnOnce(&mut Client)) -> Seen {
    let mut on_a = log_in(&c.a, email);
    let mut on_b = on_a.with_base(c.b.url());
    assert!(signed_in(&mut on_b), "{email}: the session works on B");
    assert!(signed_in(&mut on_b), "{email}: and again (from B's cache)");
    end(&mut on_a);
    assert!(!signed_in(&mut on_a), "{email}: A refuses it");
    let ended = Instant::now();
    let mut stale = 0;
    while signed_in(&mut on_b) {
        stale += 1;
        assert!(
            ended.elapsed() < DEADLINE,
            "{email}: B still serves the session {DEADLINE:?} after it ended on A ({stale} requests)"
        );
    }
    Seen {
        stale,
        after: ended.elapsed(),
    }
}

/// Ends a session from another session of the same user on A ("log out other sessions").
fn revoke_from_another_session(c: &Cluster, email: &str) -> impl FnOnce(&mut Client) {
    let mut other = log_in(&c.a, email);
    move |_| {
        let answer = other.submit("/users/sessions", "/users/sessions/revoke_others", &[]);
        assert!(answer.status < 400, "revoke others: {}", answer.status);
    }
}

#[test]
fn a_log_out_or_a_revocation_on_a_is_refused_by_b_at_once() {
    let Some(c) = cluster("revoke_two") else {
        return;
    };
    register(&c.a, "quiet@example.com");
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(round(&c, "quiet@example.com", log_out));
        let revoke = revoke_from_another_session(&c, "quiet@example.com");
        seen.push(round(&c, "quiet@example.com", revoke));
    }
    report("quiet", &seen);
}

/// Prints how fast B saw the changes (the test's own record of the delivery delay).
fn report(what: &str, seen: &[Seen]) {
    let immediate = seen.iter().filter(|s| s.stale == 0).count();
    let slowest = seen.iter().map(|s| s.after).max().unwrap_or_default();
    let stale: u32 = seen.iter().map(|s| s.stale).sum();
    eprintln!(
        "{what}: {} sessions ended on A; B refused the very next request for {immediate} of them; \
         {stale} stale answers in all; slowest refusal {slowest:?} after A answered (cache TTL 1 min)",
        seen.len()
    );
}

#[test]
fn revocations_reach_the_other_instance_under_load() {
    let Some(c) = cluster("revoke_load") else {
        return;
    };
    // The load: 4 threads, each with a session of its own, requesting the settings page of
    // both instances in turn as fast as they answer.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for i in 0..4 {
        let email = format!("load{i}@example.com");
        register(if i % 2 == 0 { &c.a } else { &c.b }, &email);
        let on_a = log_in(&c.a, &email);
        let on_b = on_a.with_base(c.b.url());
        let (stop, served) = (Arc::clone(&stop), Arc::clone(&served));
        load.push(std::thread::spawn(move || {
            let mut clients = [on_a, on_b];
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let client = &mut clients[n % 2];
                assert_eq!(client.get("/users/settings").status, 200, "load request");
                served.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        }));
    }
    let started = Instant::now();
    register(&c.b, "busy@example.com");
    let mut seen = Vec::new();
    for i in 0..20 {
        if i % 2 == 0 {
            seen.push(round(&c, "busy@example.com", log_out));
        } else {
            let revoke = revoke_from_another_session(&c, "busy@example.com");
            seen.push(round(&c, "busy@example.com", revoke));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().expect("a load thread failed");
    }
    let served = served.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    report("under load", &seen);
    eprintln!(
        "meanwhile the load generator was served {served} requests ({:.0}/s)",
        served as f64 / secs
    );
    assert!(served > 200, "the load ran meanwhile ({served} requests)");
}

#[test]
fn with_the_channel_down_b_fails_closed_and_recovers_when_it_is_back() {
    let Some(c) = cluster("revoke_down") else {
        return;
    };
    let admin = admin_url().expect("PostgreSQL is set");
    let name = c.db.rsplit('/').next().unwrap().split('?').next().unwrap();
    let email = "down@example.com";
    register(&c.a, email);
    let mut revoked_a = log_in(&c.a, email);
    let mut revoked_b = revoked_a.with_base(c.b.url());
    let mut valid_b = log_in(&c.a, email).with_base(c.b.url());
    let mut uncached_a = log_in(&c.a, email);
    let mut uncached_b = uncached_a.with_base(c.b.url());
    for client in [&mut revoked_b, &mut valid_b] {
        assert!(signed_in(client), "cached on B");
        assert!(signed_in(client));
    }

    // Kill every listening connection, and keep new connections out until we say so: the
    // instances keep serving from the connections their pools already hold.
    psql(
        &admin,
        &format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"),
    );
    let killed = psql(
        &admin,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'sigra-session-events' AND datname = '{name}'"
        ),
    );
    assert_eq!(killed.trim(), "2", "both listeners were killed");
    wait_for_log(&c.b, LOST, 1);

    // Changes made now notify nobody. B reads the database for every request instead.
    log_out(&mut revoked_a);
    assert!(
        !signed_in(&mut revoked_b),
        "fail closed: B refuses the revoked session it had cached"
    );
    assert!(signed_in(&mut valid_b), "valid sessions still work on B");
    assert!(
        signed_in(&mut uncached_b),
        "read on B while the channel is down"
    );
    assert!(signed_in(&mut uncached_b), "and again: not cached");
    log_out(&mut uncached_a);
    assert!(
        !signed_in(&mut uncached_b),
        "a session read while the channel was down was not cached"
    );
    assert!(
        c.b.log_text().matches(LISTENING).count() == 1,
        "B has not reconnected yet (its reconnections fail)"
    );

    // The channel comes back: B listens again and caches again.
    psql(
        &admin,
        &format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true"),
    );
    wait_for_log(&c.a, LISTENING, 2);
    wait_for_log(&c.b, LISTENING, 2);
    let seen = round(&c, email, log_out);
    report("after the reconnection", &[seen]);

    // Caching really resumed: a change that notifies nobody (the trigger switched off, the row
    // deleted by hand) is not seen by B until its cache entry expires.
    let quiet_a = log_in(&c.a, email);
    let mut quiet_b = quiet_a.with_base(c.b.url());
    assert!(signed_in(&mut quiet_b));
    psql(
        &c.db,
        "ALTER TABLE user_sessions DISABLE TRIGGER user_sessions_notify_delete; \
         DELETE FROM user_sessions; \
         ALTER TABLE user_sessions ENABLE TRIGGER user_sessions_notify_delete",
    );
    assert!(
        signed_in(&mut quiet_b),
        "B answers from its cache again (nothing told it of this deletion)"
    );
}
