//! Session events: a change made through one instance reaches another instance's session cache
//! through `SessionEvents` (what the generated PostgreSQL app's listener feeds), and while the
//! channel is down that cache is bypassed. Two `Sigra` over one store stand for two app
//! instances over one database; the test delivers the messages the database would send. The
//! harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use sigra_core::auth::{EVERYTHING, LoggedIn, Sigra};
use sigra_core::config::SigraConfig;
use support::auth::*;

/// A second instance on `e`'s store whose app feeds it session events.
fn listening_instance(e: &Env) -> Sigra<Rec> {
    Sigra::builder(e.store.clone(), secret())
        .config(SigraConfig::default())
        .password_hasher(hasher(64))
        .clock(e.clock.read)
        .with_session_events()
        .build()
        .unwrap()
}

async fn on(sigra: &Sigra<Rec>, l: &LoggedIn) -> bool {
    sigra
        .authenticate(&l.token.cookie_value())
        .await
        .unwrap()
        .is_some()
}

/// `b` reads the session, so it is cached there (each test then shows it answers from that
/// cache when no message comes).
async fn cached_on(b: &Sigra<Rec>, l: &LoggedIn) {
    assert!(on(b, l).await, "precondition: the session is valid on B");
    assert!(on(b, l).await);
}

#[tokio::test]
async fn nothing_is_cached_before_the_channel_is_up() {
    let e = env(clock!());
    let b = listening_instance(&e);
    assert!(!b.session_events().is_connected());
    let l = e.confirmed("early@example.com").await;
    assert!(on(&b, &l).await, "read from the database");
    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(
        !on(&b, &l).await,
        "not cached while nobody listens: the log out on A is seen without any message"
    );
}

#[tokio::test]
async fn a_message_from_another_instance_drops_the_cached_session() {
    let e = env(clock!());
    let b = listening_instance(&e);
    b.session_events().set_connected(true);
    let l = e.confirmed("remote@example.com").await;
    cached_on(&b, &l).await;

    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(
        on(&b, &l).await,
        "without the message B still answers from its cache (what the events fix)"
    );
    b.session_events().apply(&l.user.id.to_string()).unwrap();
    assert!(
        !on(&b, &l).await,
        "the message dropped it: B asks the database"
    );
}

#[tokio::test]
async fn a_message_about_another_user_keeps_the_entry() {
    let e = env(clock!());
    let b = listening_instance(&e);
    b.session_events().set_connected(true);
    let l = e.confirmed("kept@example.com").await;
    let other = e.confirmed("other@example.com").await;
    cached_on(&b, &l).await;
    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    b.session_events()
        .apply(&other.user.id.to_string())
        .unwrap();
    assert!(
        on(&b, &l).await,
        "still cached: the message named someone else"
    );
    b.session_events().apply(EVERYTHING).unwrap();
    assert!(!on(&b, &l).await, "`*` drops everything");
}

#[tokio::test]
async fn while_the_channel_is_down_every_request_reads_the_database() {
    let e = env(clock!());
    let b = listening_instance(&e);
    b.session_events().set_connected(true);
    let l = e.confirmed("down@example.com").await;
    let kept = e.confirmed("kept-down@example.com").await;
    cached_on(&b, &l).await;
    cached_on(&b, &kept).await;

    b.session_events().set_connected(false);
    // A revocation whose message is lost with the channel.
    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(
        !on(&b, &l).await,
        "fail closed: the revoked session is refused at once"
    );
    assert!(
        on(&b, &kept).await,
        "valid sessions still work, from the database"
    );
    // ...and are not kept: a later revocation, again without a message, is seen too.
    e.sigra
        .log_out(&kept.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(!on(&b, &kept).await);
}

#[tokio::test]
async fn a_reconnection_drops_what_was_cached_before_it() {
    let e = env(clock!());
    let b = listening_instance(&e);
    b.session_events().set_connected(true);
    let l = e.confirmed("flush@example.com").await;
    let fresh = e.confirmed("fresh@example.com").await;
    cached_on(&b, &l).await;

    // The channel drops and comes back; the revocation made in between sent its message to
    // nobody.
    b.session_events().set_connected(false);
    e.sigra
        .log_out(&l.token.cookie_value(), &meta())
        .await
        .unwrap();
    b.session_events().set_connected(true);
    assert!(!on(&b, &l).await, "the reconnection flushed the cache");

    // And caching resumes: a revocation without a message is again only seen after the TTL.
    cached_on(&b, &fresh).await;
    e.sigra
        .log_out(&fresh.token.cookie_value(), &meta())
        .await
        .unwrap();
    assert!(on(&b, &fresh).await, "cached again after the reconnection");
    e.clock.advance(10);
    assert!(!on(&b, &fresh).await, "the TTL stays the backstop");
}

#[tokio::test]
async fn a_password_change_on_another_instance_reaches_this_one() {
    let e = env(clock!());
    let b = listening_instance(&e);
    b.session_events().set_connected(true);
    e.confirmed("pw@example.com").await;
    let here = e.login_ok("pw@example.com", PW).await;
    let elsewhere = e.login_ok("pw@example.com", PW).await;
    cached_on(&b, &elsewhere).await;

    let auth = e.authed(&here).await;
    e.sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    // The database's trigger would now send the user's id.
    b.session_events().apply(&here.user.id.to_string()).unwrap();
    assert!(
        !on(&b, &elsewhere).await,
        "the other session ended everywhere"
    );
}
