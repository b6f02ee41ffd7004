//! The notice port: every mail a flow causes is a job in the outbox (`JobStore`, queue
//! `mail`), enqueued in the flow's own transaction, encrypted, and read back with
//! `Sigra::open_notice`. The harness is in `support/auth.rs`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sigra_core::auth::{AuthError, AuthMail, LockoutScope, NoticeError, Sigra};
use sigra_core::jobs::{JobError, JobOutcome, JobSettings, MAIL_QUEUE, Worker};
use sigra_core::keys::SecretKeyBase;
use sigra_core::store::{JobRecord, JobStatus, NewJob};
use support::auth::*;

/// Runs one of every flow that mails, so the outbox holds at least one notice of each kind.
async fn every_kind_of_notice(e: &Env) {
    e.register("kit@example.com").await; // confirm
    e.sigra
        .register("kit@example.com", &pw(PW), &meta())
        .await
        .unwrap(); // account_exists
    e.take_new_notices().await;
    e.confirmed("kim@example.com").await;
    e.sigra
        .log_in(
            "kim@example.com",
            &pw(PW),
            false,
            &meta_from("198.51.100.7"),
        )
        .await
        .unwrap(); // suspicious_login
    e.take_new_notices().await;
    e.magic_link("kim@example.com").await; // magic_link
    e.reset_link("kim@example.com").await; // reset_password
    e.clock.advance(15 * MIN); // a fresh mail budget
    let kim = e.login_ok("kim@example.com", PW).await; // in sudo
    let auth = e.authed(&kim).await;
    let token = e.email_change_link(&auth, "kim.new@example.com").await; // change_email
    e.sigra
        .confirm_email_change(&auth, &token, &meta())
        .await
        .unwrap(); // email_changed
    let auth = e.authed(&kim).await;
    e.sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap(); // password_changed
    e.take_new_notices().await;
    e.confirmed("kat@example.com").await;
    for _ in 0..5 {
        e.log_in("kat@example.com", WRONG, false).await; // lockout_notice
    }
}

fn t0() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(T0).unwrap()
}

#[tokio::test]
async fn every_notice_is_a_mail_job_with_its_kind_and_recipient() {
    let e = env(clock!());
    every_kind_of_notice(&e).await;
    let jobs = e.jobs().await;
    let notices = e.notices().await;
    assert_eq!(jobs.len(), notices.len(), "every job is a mail");
    let all: BTreeSet<&str> = kinds(&notices).into_iter().collect();
    assert_eq!(
        all,
        BTreeSet::from([
            "account_exists",
            "change_email",
            "confirm",
            "email_changed",
            "lockout_notice",
            "magic_link",
            "password_changed",
            "reset_password",
            "suspicious_login",
        ]),
        "one of each kind"
    );
    for (job, notice) in jobs.iter().zip(&notices) {
        assert_eq!(job.queue, MAIL_QUEUE);
        assert_eq!(job.queue, "mail");
        assert_eq!(job.kind, notice.kind());
        assert_eq!(job.recipient.as_deref(), Some(notice.to()));
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(job.attempts, 0);
        assert_eq!(job.unique_key, None, "a notice is never deduplicated");
        assert_eq!(job.run_at, job.created_at, "due at once");
        assert!(job.created_at >= t0() && job.created_at <= e.clock.now());
        assert!(job.payload.is_some());
        assert_eq!(job.id.get_version_num(), 7, "ids are UUID v7");
    }
    // The recipients are the right people.
    let to: Vec<(&str, &str)> = notices.iter().map(|n| (n.kind(), n.to())).collect();
    for expected in [
        ("confirm", "kit@example.com"),
        ("account_exists", "kit@example.com"),
        ("suspicious_login", "kim@example.com"),
        ("change_email", "kim.new@example.com"),
        ("email_changed", "kim@example.com"),
        ("password_changed", "kim.new@example.com"),
        ("lockout_notice", "kat@example.com"),
    ] {
        assert!(to.contains(&expected), "{expected:?} in {to:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// a failed flow enqueues nothing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_registration_whose_transaction_fails_enqueues_nothing() {
    let e = env(clock!());
    // The audit row fails (after the confirmation mail was enqueued in the transaction).
    e.fail_on(Some("auth.register"));
    let err = e
        .sigra
        .register("fay@example.com", &pw(PW), &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Store(_)), "{err:?}");
    assert!(e.jobs().await.is_empty());
    e.fail_on(None);
    // The commit fails after every write.
    e.fail_commit_of(Some("auth.register"));
    assert!(
        e.sigra
            .register("fay@example.com", &pw(PW), &meta())
            .await
            .is_err()
    );
    assert!(e.jobs().await.is_empty());
    assert!(e.user("fay@example.com").await.is_none());
    e.fail_commit_of(None);

    // A taken address: the owner's notice goes with the failed transaction too.
    e.register("fay@example.com").await;
    for fail in [
        (|e: &Env| e.fail_on(Some("auth.register"))) as fn(&Env),
        |e: &Env| e.fail_commit_of(Some("auth.register")),
    ] {
        fail(&e);
        assert!(
            e.sigra
                .register("fay@example.com", &pw(PW2), &meta())
                .await
                .is_err()
        );
        e.fail_on(None);
        e.fail_commit_of(None);
        e.assert_no_new_notices().await;
    }
    // Nothing was counted against the owner's mail budget either: three notices still go.
    for _ in 0..3 {
        e.sigra
            .register("fay@example.com", &pw(PW2), &meta())
            .await
            .unwrap();
        assert_eq!(kinds(&e.take_new_notices().await), ["account_exists"]);
    }
}

#[tokio::test]
async fn a_reset_request_whose_transaction_fails_enqueues_nothing() {
    let e = env(clock!());
    e.confirmed("gil@example.com").await;
    e.fail_on(Some("auth.password_reset.request"));
    let err = e
        .sigra
        .request_password_reset("gil@example.com", &meta())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Store(_)), "{err:?}");
    e.fail_on(None);
    e.assert_no_new_notices().await;
    e.fail_commit_of(Some("auth.password_reset.request"));
    assert!(
        e.sigra
            .request_password_reset("gil@example.com", &meta())
            .await
            .is_err()
    );
    e.fail_commit_of(None);
    e.assert_no_new_notices().await;
    // The failed requests used none of the mail budget.
    for _ in 0..3 {
        e.reset_link("gil@example.com").await;
    }
}

#[tokio::test]
async fn a_locking_login_whose_transaction_fails_enqueues_no_lockout_notice() {
    let e = env(clock!());
    let id = e.confirmed("hal@example.com").await.user.id;
    for _ in 0..4 {
        e.login_fails_silently("hal@example.com", WRONG).await;
    }
    for fail in [
        (|e: &Env| e.fail_on(Some("security.lockout"))) as fn(&Env),
        |e: &Env| e.fail_commit_of(Some("security.lockout")),
    ] {
        fail(&e);
        assert!(
            e.sigra
                .log_in("hal@example.com", &pw(WRONG), false, &meta())
                .await
                .is_err()
        );
        e.fail_on(None);
        e.fail_commit_of(None);
        e.assert_no_new_notices().await;
        let user = e.user_by_id(&id).await;
        assert_eq!(user.failed_login_attempts, 4);
        assert!(user.locked_at.is_none());
    }
    // The next wrong password locks, with its notice.
    assert_failed(&e.log_in("hal@example.com", WRONG, false).await);
    assert_eq!(
        e.take_new_notices().await,
        [AuthMail::LockoutNotice {
            to: "hal@example.com".into(),
            scope: LockoutScope::UnknownClients
        }]
    );
}

#[tokio::test]
async fn a_password_change_whose_transaction_fails_enqueues_nothing() {
    let e = env(clock!());
    e.confirmed("ivy@example.com").await;
    let l = e.login_ok("ivy@example.com", PW).await;
    let auth = e.authed(&l).await;
    // The notice is enqueued before the rotated session's rows are written: fail the audit
    // row, the new session's row, and the commit.
    for fail in [
        (|e: &Env| e.fail_on(Some("auth.password_change"))) as fn(&Env),
        |e: &Env| e.fail_on(Some("session.create")),
        |e: &Env| e.fail_commit_of(Some("auth.password_change")),
    ] {
        fail(&e);
        let err = e
            .sigra
            .change_password(&auth, &pw(PW2), &meta())
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::Store(_)), "{err:?}");
        e.fail_on(None);
        e.fail_commit_of(None);
        e.assert_no_new_notices().await;
        assert!(e.auth(&l).await.is_some(), "the session is untouched");
    }
    e.login_ok("ivy@example.com", PW).await;
    e.sigra
        .change_password(&auth, &pw(PW2), &meta())
        .await
        .unwrap();
    assert_eq!(kinds(&e.take_new_notices().await), ["password_changed"]);
}

// ---------------------------------------------------------------------------------------------
// encrypted at rest
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn notices_are_encrypted_at_rest() {
    let e = env(clock!());
    let c = e.register("Jo.Secret@example.com").await;
    let reset = e.reset_link("jo.secret@example.com").await;
    let jobs = e.mail_jobs().await;
    assert_eq!(jobs.len(), 2);
    let mut secrets = vec![
        "jo.secret@example.com".to_owned(),
        "Jo.Secret@example.com".to_owned(),
        c.code.clone(),
    ];
    for token in [&c.token, &reset] {
        secrets.push(token.clone());
        secrets.extend(
            token
                .split('.')
                .filter(|part| part.len() >= 16)
                .map(str::to_owned),
        );
    }
    for job in &jobs {
        let payload = job.payload.as_deref().unwrap();
        for secret in &secrets {
            assert!(
                !payload.to_lowercase().contains(&secret.to_lowercase()),
                "the {} payload shows {secret:?} in clear",
                job.kind
            );
        }
        for clear in ["\"kind\"", "\"to\"", "\"token\"", &job.kind] {
            assert!(!payload.contains(clear), "{clear} in {payload}");
        }
        assert!(serde_json::from_str::<AuthMail>(payload).is_err());
    }
    // Yet they open to exactly what was mailed.
    let opened = e.notices().await;
    assert_eq!(opened[0].token(), Some(c.token.as_str()));
    assert_eq!(opened[1].token(), Some(reset.as_str()));
}

#[tokio::test]
async fn a_notice_written_under_another_secret_key_base_is_unreadable() {
    let e = env(clock!());
    e.register("kay@example.com").await;
    let job = e.mail_jobs().await.remove(0);
    let other = Sigra::builder(e.store.clone(), SecretKeyBase::new(vec![8u8; 64]).unwrap())
        .password_hasher(hasher(64))
        .clock(e.clock.read)
        .build()
        .unwrap();
    assert_eq!(other.open_notice(&job), Err(NoticeError::Unreadable));
    // The same secret key base in another instance reads it.
    let same = e.other_instance(sigra_core::config::SigraConfig::default());
    assert_eq!(same.open_notice(&job).unwrap().kind(), "confirm");
}

#[tokio::test]
async fn a_payload_altered_or_moved_to_another_job_is_unreadable() {
    let e = env(clock!());
    e.register("lou@example.com").await;
    e.register("lin@example.com").await;
    let jobs = e.mail_jobs().await;

    // Bound to its job: the same payload under another job's id does not open.
    let mut moved = jobs[1].clone();
    moved.payload = jobs[0].payload.clone();
    assert_eq!(e.sigra.open_notice(&moved), Err(NoticeError::Unreadable));

    // Any altered character.
    let sealed = jobs[0].payload.clone().unwrap();
    for at in [sealed.len() / 3, sealed.len() / 2] {
        let mut altered = jobs[0].clone();
        let mut bytes = sealed.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        altered.payload = Some(String::from_utf8(bytes).unwrap());
        assert_eq!(e.sigra.open_notice(&altered), Err(NoticeError::Unreadable));
    }

    // A plaintext notice someone wrote into the table is not accepted either.
    let mut forged = jobs[0].clone();
    forged.payload = Some(
        serde_json::to_string(&AuthMail::PasswordChanged {
            to: "lou@example.com".into(),
        })
        .unwrap(),
    );
    assert_eq!(e.sigra.open_notice(&forged), Err(NoticeError::Unreadable));
}

#[tokio::test]
async fn a_scrubbed_notice_and_a_job_of_another_queue_say_so() {
    let e = env(clock!());
    e.register("mae@example.com").await;
    let mut delivered = e.mail_jobs().await.remove(0);
    delivered.payload = None;
    assert_eq!(e.sigra.open_notice(&delivered), Err(NoticeError::Scrubbed));

    let prune = JobRecord::from_new(&NewJob::new("maintenance", "prune", e.clock.now()));
    assert_eq!(
        e.sigra.open_notice(&prune),
        Err(NoticeError::NotAMail {
            id: prune.id,
            queue: "maintenance".into()
        })
    );
    // Also with a payload that would open as a notice.
    let mut elsewhere = e.mail_jobs().await.remove(0);
    elsewhere.queue = "app".into();
    assert!(matches!(
        e.sigra.open_notice(&elsewhere),
        Err(NoticeError::NotAMail { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// delivery
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_committed_notice_wakes_the_worker_that_delivers_it() {
    let e = env(clock!());
    // No registration here: password hashing runs on threads of its own, and paused time
    // jumps ahead while the runtime waits for them. A reset request hashes nothing.
    e.insert_user("nia@example.com", "$argon2id$unused").await;
    let settings = JobSettings::from_config(
        &sigra_core::config::SigraConfig::builder()
            .jobs(|j| j.poll_interval = Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    let delivered: Arc<Mutex<Vec<AuthMail>>> = Arc::default();
    let worker = {
        let sigra = e.sigra.clone();
        let delivered = Arc::clone(&delivered);
        Worker::new(e.store.clone(), settings)
            .clock(e.clock.read)
            .wake_on(e.sigra.job_signal())
            .handle(MAIL_QUEUE, move |job: JobRecord| {
                let sigra = sigra.clone();
                let delivered = Arc::clone(&delivered);
                async move {
                    let notice = sigra.open_notice(&job)?;
                    delivered.lock().unwrap().push(notice);
                    Ok::<_, JobError>(JobOutcome::Done)
                }
            })
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    // Let the worker find nothing and go to sleep for its poll interval.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let asked = tokio::time::Instant::now();
    e.sigra
        .request_password_reset("nia@example.com", &meta())
        .await
        .unwrap();
    while delivered.lock().unwrap().is_empty() {
        assert!(
            asked.elapsed() < Duration::from_secs(30),
            "the flow's commit did not wake the worker"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mail = delivered.lock().unwrap()[0].clone();
    assert_eq!(mail.kind(), "reset_password");
    assert_eq!(mail.to(), "nia@example.com");
    let mut job = e.mail_jobs().await.remove(0);
    while job.status != JobStatus::Done {
        tokio::time::sleep(Duration::from_millis(10)).await;
        job = e.mail_jobs().await.remove(0);
    }
    assert_eq!(job.payload, None, "the delivered link is not kept");
    assert_eq!(e.sigra.open_notice(&job), Err(NoticeError::Scrubbed));
    stop.send(()).unwrap();
    running.await.unwrap();
}
