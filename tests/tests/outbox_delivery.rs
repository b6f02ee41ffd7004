//! The outbox, for real: the reference host as a process, a real SMTP server (aiosmtpd) that
//! comes and goes, SIGKILL at the worst moments, two instances on one PostgreSQL.
//!
//! - An SMTP outage: a reset requested while the server is down answers as usual; the server
//!   starts 30 s later and the mail arrives once, with a link that works.
//! - SIGKILL after enqueue, before delivery: delivered once after the restart.
//! - SIGKILL during delivery (the server recorded the message but had not answered): delivered
//!   again after the lease expires, with the same `Message-ID`.
//! - SIGTERM while a mail is still being sent: the app stops after its grace period and
//!   releases the job; the next start sends it (same `Message-ID`).
//! - Two instances on one PostgreSQL, 200 queued mails: each delivered exactly once.
//! - 550 is permanent (dead after one attempt, listed by `outbox list --dead`); 451 is
//!   temporary (retried with backoff, then delivered).
//!
//! The sink's recipients steer it (tests/py/smtp_sink.py): `refuse…` gets 550, `busyN…` gets
//! 451 N times, `slow…` is recorded but answered 20 s late.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use sigra_tests::host::{
    HostProcess, TEST_SECRET_KEY_BASE, free_port, host_binary, postgres_host_binary,
};
use sigra_tests::http::{Client, link_path};
use sigra_tests::smtp::{ReceivedMail, SinkOptions, SmtpSink};
use sigra_tests::{postgres, python};

const PASSWORD: &str = "correct horse battery staple";

/// Settings that make retries quick enough for a test.
fn fast_retries(smtp_port: u16) -> Vec<(String, String)> {
    vec![
        (
            "SMTP_URL".to_owned(),
            format!("smtp://127.0.0.1:{smtp_port}"),
        ),
        ("SIGRA_JOBS_POLL_INTERVAL".to_owned(), "1s".to_owned()),
        ("SIGRA_JOBS_RETRY_BASE".to_owned(), "1s".to_owned()),
        ("SIGRA_JOBS_RETRY_MAX".to_owned(), "3s".to_owned()),
        ("SIGRA_JOBS_LEASE".to_owned(), "10s".to_owned()),
        ("SIGRA_RATE_LIMIT_AUTH_MAX".to_owned(), "1000".to_owned()),
        ("SIGRA_TOKEN_RESEND_MAX".to_owned(), "100".to_owned()),
    ]
}

fn set(env: &mut [(String, String)], name: &str, value: &str) {
    for (k, v) in env.iter_mut() {
        if k == name {
            *v = value.to_owned();
        }
    }
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn sqlite_url(name: &str) -> (tempdir::Dir, String) {
    let dir = tempdir::Dir::new(name);
    let url = format!("sqlite://{}", dir.path().join("app.sqlite3").display());
    (dir, url)
}

/// Whether the Python peers are there (else the test is skipped, or fails under
/// `SIGRA_REQUIRE_PEERS=1`).
fn peers() -> bool {
    python().is_some()
}

fn register(app: &HostProcess, email: &str) {
    let mut client = Client::new(app.url());
    let answer = client.submit(
        "/users/register",
        "/users/register",
        &[("email", email), ("password", PASSWORD)],
    );
    assert!(
        answer.status < 400,
        "registering {email} answered {}:\n{}",
        answer.status,
        answer.body
    );
}

fn request_reset(app: &HostProcess, email: &str) -> u16 {
    let mut client = Client::new(app.url());
    let answer = client.submit(
        "/users/reset_password",
        "/users/reset_password",
        &[("email", email)],
    );
    assert!(
        answer.status < 400,
        "requesting a reset for {email} answered {}:\n{}",
        answer.status,
        answer.body
    );
    answer.status
}

fn to(mail: &ReceivedMail) -> String {
    mail.rcpt_tos.join(",")
}

fn mails_to(sink: &SmtpSink, address: &str) -> Vec<ReceivedMail> {
    sink.received()
        .into_iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == address))
        .collect()
}

/// Waits until `address` received at least `n` mails of `kind`.
fn wait_for_mails(
    sink: &SmtpSink,
    address: &str,
    kind: &str,
    n: usize,
    timeout: Duration,
) -> Vec<ReceivedMail> {
    let deadline = Instant::now() + timeout;
    loop {
        let got: Vec<ReceivedMail> = mails_to(sink, address)
            .into_iter()
            .filter(|m| m.kind.as_deref() == Some(kind))
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{address} received {} {kind} mail(s) within {timeout:?}, expected {n}; the sink has: {:?}",
            got.len(),
            sink.received()
                .iter()
                .map(|m| (to(m), m.kind.clone()))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the host binary's operator command `outbox <args>` against `database_url`.
fn outbox_command(database_url: &str, args: &[&str]) -> String {
    let output = Command::new(host_binary())
        .arg("outbox")
        .args(args)
        .env_remove("SMTP_URL")
        .env("DATABASE_URL", database_url)
        .env("SIGRA_SECRET_KEY_BASE", TEST_SECRET_KEY_BASE)
        .env("SIGRA_DEV_MODE", "true")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .output()
        .expect("running the host's outbox command");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "`outbox {}` failed ({}):\n{text}",
        args.join(" "),
        output.status
    );
    text
}

#[test]
fn a_reset_requested_during_an_smtp_outage_arrives_once_when_the_server_returns() {
    if !peers() {
        return;
    }
    let smtp_port = free_port();
    let (_dir, db) = sqlite_url("outage");
    let mut env = fast_retries(smtp_port);
    // Ten attempts must outlast the 30 s outage: 1, 2, 4, 8, then every 10 s.
    set(&mut env, "SIGRA_JOBS_RETRY_MAX", "10s");
    let app = HostProcess::start("outbox-outage", &db, &env_refs(&env));
    let email = "ann.outage@example.com";
    register(&app, email);
    let status = request_reset(&app, email);
    assert!(
        status == 200 || status == 303,
        "the reset request answers as usual while SMTP is down, got {status}"
    );

    std::thread::sleep(Duration::from_secs(30));
    let sink = SmtpSink::start_with(SinkOptions {
        port: Some(smtp_port),
        ..SinkOptions::default()
    })
    .expect("the sink starts (peers are installed)");

    let resets = wait_for_mails(&sink, email, "reset_password", 1, Duration::from_secs(60));
    wait_for_mails(&sink, email, "confirm", 1, Duration::from_secs(30));
    // Give a duplicate every chance to show up.
    std::thread::sleep(Duration::from_secs(4));
    let resets_now: Vec<_> = mails_to(&sink, email)
        .into_iter()
        .filter(|m| m.kind.as_deref() == Some("reset_password"))
        .collect();
    assert_eq!(resets_now.len(), 1, "the reset mail arrives exactly once");
    assert!(
        app.log_text().contains("will retry"),
        "the failed attempts were logged:\n{}",
        app.log_text()
    );

    // The link works: it opens the form, and the new password is taken.
    let text = resets[0].text.clone().expect("a text body");
    let path = link_path(&text, app.url()).expect("a link to the app in the mail");
    let mut client = Client::new(app.url());
    let answer = client.submit(
        &path,
        &path,
        &[
            ("password", "a brand new passphrase"),
            ("password_confirmation", "a brand new passphrase"),
        ],
    );
    assert!(
        answer.status == 303 || answer.status == 302,
        "setting the new password through the mailed link answers a redirect, got {}:\n{}",
        answer.status,
        answer.body
    );
}

#[test]
fn a_mail_enqueued_before_a_sigkill_is_delivered_once_after_the_restart() {
    if !peers() {
        return;
    }
    let smtp_port = free_port();
    let (_dir, db) = sqlite_url("sigkill");
    let env = fast_retries(smtp_port);
    let mut app = HostProcess::start("outbox-sigkill", &db, &env_refs(&env));
    let email = "ben.sigkill@example.com";
    register(&app, email); // its confirmation is enqueued; the SMTP server is not there yet
    app.kill(); // SIGKILL: no shutdown, the job stays in the table
    let sink = SmtpSink::start_with(SinkOptions {
        port: Some(smtp_port),
        ..SinkOptions::default()
    })
    .expect("the sink starts (peers are installed)");
    assert!(mails_to(&sink, email).is_empty());

    app.restart();
    wait_for_mails(&sink, email, "confirm", 1, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        mails_to(&sink, email).len(),
        1,
        "delivered exactly once after the restart"
    );
}

#[test]
fn a_mail_whose_delivery_was_killed_midway_is_delivered_again_with_the_same_message_id() {
    if !peers() {
        return;
    }
    let sink = SmtpSink::start().expect("the sink starts (peers are installed)");
    let (_dir, db) = sqlite_url("midway");
    let env = fast_retries(sink.port());
    let mut app = HostProcess::start("outbox-midway", &db, &env_refs(&env));
    // The sink records mail to `slow…` at once but answers 20 s later.
    let email = "slow.cleo@example.com";
    register(&app, email);
    let first = wait_for_mails(&sink, email, "confirm", 1, Duration::from_secs(30));
    app.kill(); // while the server still owes its answer: the app never learned it was sent

    app.restart();
    // The lease (10 s) runs out, the job is claimed again and sent again.
    let all = wait_for_mails(&sink, email, "confirm", 2, Duration::from_secs(60));
    let ids: BTreeSet<_> = all.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(
        ids.len(),
        1,
        "every delivery of one job carries the same Message-ID: {ids:?}"
    );
    assert!(first[0].message_id.is_some(), "a Message-ID is set");
}

#[test]
fn sigterm_releases_a_mail_still_sending_after_the_grace_and_the_next_start_sends_it() {
    if !peers() {
        return;
    }
    let sink = SmtpSink::start().expect("the sink starts (peers are installed)");
    let (_dir, db) = sqlite_url("sigterm");
    let mut env = fast_retries(sink.port());
    // A lease far longer than the test: the next start can only get the job if the stopping
    // app released it.
    set(&mut env, "SIGRA_JOBS_LEASE", "30m");
    env.push(("SIGRA_JOBS_SHUTDOWN_GRACE".to_owned(), "2s".to_owned()));
    let mut app = HostProcess::start("outbox-sigterm", &db, &env_refs(&env));
    let email = "slow.fay@example.com";
    register(&app, email);
    // The server recorded the mail and keeps the app waiting 20 s for its answer.
    wait_for_mails(&sink, email, "confirm", 1, Duration::from_secs(30));

    let stopping = Instant::now();
    assert!(
        app.terminate(Duration::from_secs(30)),
        "SIGTERM stops the app"
    );
    let took = stopping.elapsed();
    assert!(
        took < Duration::from_secs(12),
        "it waited the 2 s grace, not the server's 20 s (took {took:?})"
    );
    let log = app.log_text();
    assert!(log.contains("job released at shutdown"), "{log}");
    assert!(log.contains("job worker stopped"), "{log}");

    app.restart();
    let all = wait_for_mails(&sink, email, "confirm", 2, Duration::from_secs(30));
    let ids: BTreeSet<_> = all.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids.len(), 1, "sent again with the same Message-ID: {ids:?}");
}

#[test]
fn two_instances_on_one_postgres_deliver_200_queued_mails_exactly_once() {
    if !peers() {
        return;
    }
    let Some(db) = postgres::fresh_database("outbox_two") else {
        return;
    };
    let smtp_port = free_port();
    let env = fast_retries(smtp_port);
    // The reference host's PostgreSQL build (`--database postgres`), twice.
    let binary = postgres_host_binary();
    let a = HostProcess::start_binary(binary, "outbox-pg-a", &db, &env_refs(&env));
    let b = HostProcess::start_binary(binary, "outbox-pg-b", &db, &env_refs(&env));

    // 4 accounts (4 confirmation mails) and 49 reset requests each: 200 mails, queued while
    // the SMTP server is away, through both instances.
    let users: Vec<String> = (0..4).map(|i| format!("user{i}.two@example.com")).collect();
    for (i, user) in users.iter().enumerate() {
        register(if i % 2 == 0 { &a } else { &b }, user);
    }
    for round in 0..49 {
        for (i, user) in users.iter().enumerate() {
            request_reset(if (round + i) % 2 == 0 { &a } else { &b }, user);
        }
    }

    let sink = SmtpSink::start_with(SinkOptions {
        port: Some(smtp_port),
        ..SinkOptions::default()
    })
    .expect("the sink starts (peers are installed)");
    let mails = sink.wait_for(200, Duration::from_secs(180));
    std::thread::sleep(Duration::from_secs(5));
    let mails = if mails.len() == 200 {
        sink.received()
    } else {
        mails
    };
    assert_eq!(mails.len(), 200, "200 mails, none twice");
    let ids: BTreeSet<_> = mails.iter().filter_map(|m| m.message_id.clone()).collect();
    assert_eq!(
        ids.len(),
        200,
        "200 distinct Message-IDs: no job delivered twice"
    );
    let mut per_user: BTreeMap<String, usize> = BTreeMap::new();
    for mail in &mails {
        *per_user.entry(to(mail)).or_default() += 1;
    }
    assert!(
        per_user.values().all(|&n| n == 50),
        "each user got a confirmation and 49 reset mails: {per_user:?}"
    );
    let delivered_by = |app: &HostProcess| app.log_text().matches("job done").count();
    assert!(
        delivered_by(&a) > 0 && delivered_by(&b) > 0,
        "both instances delivered (A: {}, B: {})",
        delivered_by(&a),
        delivered_by(&b)
    );
}

#[test]
fn smtp_550_is_dead_after_one_attempt_and_451_is_retried_then_delivered() {
    if !peers() {
        return;
    }
    let sink = SmtpSink::start().expect("the sink starts (peers are installed)");
    let (_dir, db) = sqlite_url("codes");
    let env = fast_retries(sink.port());
    let app = HostProcess::start("outbox-codes", &db, &env_refs(&env));

    let refused = "refuse.dan@example.com";
    let busy = "busy2.eve@example.com";
    register(&app, refused);
    register(&app, busy);

    // 451 twice, then accepted: delivered on the third attempt.
    wait_for_mails(&sink, busy, "confirm", 1, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(mails_to(&sink, busy).len(), 1, "delivered once");
    assert!(mails_to(&sink, refused).is_empty(), "550: never delivered");

    // 550: dead after one attempt, with the server's answer kept.
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let dead = outbox_command(&db, &["list", "--dead"]);
        if dead.contains(refused) || Instant::now() > deadline {
            break dead;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        dead.contains(refused),
        "`outbox list --dead` lists it:\n{dead}"
    );
    assert!(dead.contains("550"), "with the server's answer:\n{dead}");
    assert!(!dead.contains(busy), "the 451 mail is not dead:\n{dead}");
    let all = outbox_command(&db, &["list"]);
    let busy_line = all
        .lines()
        .find(|l| l.contains(busy))
        .unwrap_or_else(|| panic!("`outbox list` lists {busy}:\n{all}"));
    assert!(busy_line.contains("sent"), "{busy_line}");
    let refused_line = all.lines().find(|l| l.contains(refused)).unwrap();
    assert!(refused_line.contains("dead"), "{refused_line}");

    let log = app.log_text();
    assert!(
        log.matches("will retry").count() >= 2,
        "two temporary failures logged:\n{log}"
    );
    assert!(log.contains("dead"), "the permanent failure logged:\n{log}");

    // An operator requeues the dead mail: it is tried again (and refused again).
    let retried = outbox_command(&db, &["retry-dead"]);
    assert!(retried.contains('1'), "one dead mail requeued:\n{retried}");
}

/// A temporary directory removed on drop (no extra dependency).
mod tempdir {
    use std::path::{Path, PathBuf};
    use std::time::{SystemTime, UNIX_EPOCH};

    pub(crate) struct Dir(PathBuf);

    impl Dir {
        pub(crate) fn new(name: &str) -> Self {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let path = std::env::temp_dir().join(format!(
                "sigra-outbox-{name}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
