//! The outbox: the job worker sends what the flows enqueue, a mail that failed for good is
//! listed with its error and can be sent again, and the `outbox` commands refuse what they do
//! not know.

mod support;

use std::time::Duration;

use sigra_core::audit::RequestMeta;
use sigra_core::jobs::{JobError, MAIL_QUEUE, MAINTENANCE_QUEUE};
use sigra_core::password::Password;
use sigra_core::store::{JobFilter, JobRecord, JobStatus, JobStore, Store, Transaction};
use sigra_example_host::app::{self, AppState};
use sigra_example_host::cli::{Command, CommandError, OutboxCommand};
use sigra_example_host::mail::outbox;
use time::OffsetDateTime;
use uuid::Uuid;

async fn register(state: &AppState, email: &str) {
    state
        .accounts
        .register(
            email,
            &Password::from("correct horse battery staple"),
            &RequestMeta::default(),
        )
        .await
        .unwrap();
}

/// The jobs of `queue`, newest first.
async fn jobs(state: &AppState, queue: &str) -> Vec<JobRecord> {
    outbox::list(&state.accounts, &JobFilter::queue(queue), 100)
        .await
        .unwrap()
}

/// Claims every due mail and fails it for good with `error`, as the worker does after an
/// SMTP `5xx`.
async fn kill_due_mail(state: &AppState, error: &str) -> Vec<Uuid> {
    let lease = Uuid::from_u128(0x5150);
    let now = OffsetDateTime::now_utc();
    let mut tx = state.accounts.store().begin().await.unwrap();
    let claimed = tx
        .claim_jobs(MAIL_QUEUE, now, now + Duration::from_secs(60), lease, 100)
        .await
        .unwrap();
    for job in &claimed {
        assert!(tx.fail_job(job.id, lease, error, None, now).await.unwrap());
    }
    tx.commit().await.unwrap();
    claimed.iter().map(|job| job.id).collect()
}

#[tokio::test]
async fn the_worker_sends_a_queued_mail_once_and_the_dev_mailbox_keeps_it() {
    let (state, _database) = support::state().await;
    register(&state, "ada@example.com").await;
    let queued = support::outbox(&state).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(outbox::status_label(&queued[0]), "queued");

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(app::worker(&state).run(async {
        let _ = stopped.await;
    }));
    // The mail, and the first pruning (scheduled when the worker starts).
    let mut waited = Duration::ZERO;
    loop {
        let mail_sent = jobs(&state, MAIL_QUEUE).await[0].status == JobStatus::Done;
        let pruned = jobs(&state, MAINTENANCE_QUEUE)
            .await
            .iter()
            .any(|job| job.status == JobStatus::Done);
        if mail_sent && pruned {
            break;
        }
        assert!(
            waited < Duration::from_secs(10),
            "the worker did not run the jobs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    stop.send(()).unwrap();
    worker.await.unwrap();

    let sent = outbox::get(&state.accounts, &queued[0].id.to_string())
        .await
        .unwrap()
        .expect("the mail job is kept");
    assert_eq!(outbox::status_label(&sent), "sent");
    assert_eq!(sent.attempts, 1, "sent once");
    assert_eq!(sent.last_error, None);
    // The dev mailbox transport keeps the content, for /dev/mailbox to show.
    assert!(sent.payload.is_some());
    let mail = support::last_mail_to(&state, "ada@example.com").await;
    assert!(mail.text().contains("/users/confirm/"), "{}", mail.text());
    // Its Message-ID is the job's: the same on every attempt.
    let message_id = sent.id.hyphenated().to_string();
    assert_eq!(mail.message_id(), Some(message_id.as_str()));

    // The next pruning is scheduled, once.
    let maintenance = jobs(&state, MAINTENANCE_QUEUE).await;
    let next: Vec<&JobRecord> = maintenance
        .iter()
        .filter(|job| job.status == JobStatus::Queued)
        .collect();
    assert_eq!(next.len(), 1, "{maintenance:?}");
    assert_eq!(next[0].kind, "prune");
    assert!(next[0].run_at > OffsetDateTime::now_utc());
}

#[tokio::test]
async fn a_mail_that_cannot_be_read_fails_for_good() {
    let (state, _database) = support::state().await;
    register(&state, "ada@example.com").await;
    let mut job = support::outbox(&state).await.remove(0);
    job.payload = None;
    let err = state.mailer.deliver(job).await.unwrap_err();
    assert!(matches!(err, JobError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn a_dead_mail_is_listed_with_its_error_and_can_be_sent_again() {
    let (state, _database) = support::state().await;
    let accounts = &state.accounts;
    register(&state, "ada@example.com").await;
    register(&state, "grace@example.com").await;
    let dead = kill_due_mail(&state, "550 5.1.1 no such user").await;
    assert_eq!(dead.len(), 2);

    let listed = outbox::list(
        accounts,
        &JobFilter::queue(MAIL_QUEUE).status(JobStatus::Dead),
        10,
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 2);
    for job in &listed {
        assert_eq!(outbox::status_label(job), "dead");
        assert_eq!(job.last_error.as_deref(), Some("550 5.1.1 no such user"));
    }
    let table = OutboxCommand::List { dead: true }
        .run(&state)
        .await
        .unwrap();
    assert!(table.contains(&dead[0].to_string()), "{table}");
    assert!(table.contains("grace@example.com"), "{table}");
    assert!(table.contains("550 5.1.1 no such user"), "{table}");

    // One by id: queued again with a fresh count of attempts, its last error kept until the
    // next attempt.
    assert!(outbox::retry(accounts, dead[0]).await.unwrap());
    let again = outbox::get(accounts, &dead[0].to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outbox::status_label(&again), "queued");
    assert_eq!(again.attempts, 0);
    assert!(again.last_error.is_some());
    assert!(
        !outbox::retry(accounts, dead[0]).await.unwrap(),
        "queued already"
    );
    assert!(!outbox::retry(accounts, Uuid::from_u128(7)).await.unwrap());

    // The command says why it cannot.
    let err = OutboxCommand::Retry(dead[0]).run(&state).await.unwrap_err();
    assert!(
        matches!(
            err,
            CommandError::NotRetryable {
                status: "queued",
                ..
            }
        ),
        "{err}"
    );
    let err = OutboxCommand::Retry(Uuid::from_u128(7))
        .run(&state)
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::UnknownMail(_)), "{err}");

    // Every dead one at once.
    assert_eq!(outbox::retry_dead(accounts).await.unwrap(), 1);
    let statuses: Vec<&str> = jobs(&state, MAIL_QUEUE)
        .await
        .iter()
        .map(outbox::status_label)
        .collect();
    assert_eq!(statuses, ["queued", "queued"]);
    assert_eq!(outbox::retry_dead(accounts).await.unwrap(), 0);

    // Ids come from URLs and command lines.
    assert!(outbox::get(accounts, "not-an-id").await.unwrap().is_none());
    assert!(
        outbox::get(accounts, &Uuid::from_u128(7).to_string())
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_command_line_refuses_what_it_does_not_know() {
    let parse = |args: &[&str]| Command::parse(args.iter().copied());
    assert_eq!(parse(&[]).unwrap(), Command::Serve);
    assert_eq!(
        parse(&["outbox", "list"]).unwrap(),
        Command::Outbox(OutboxCommand::List { dead: false })
    );
    assert_eq!(
        parse(&["outbox", "list", "--dead"]).unwrap(),
        Command::Outbox(OutboxCommand::List { dead: true })
    );
    let id = Uuid::from_u128(7);
    assert_eq!(
        parse(&["outbox", "retry", &id.to_string()]).unwrap(),
        Command::Outbox(OutboxCommand::Retry(id))
    );
    assert_eq!(
        parse(&["outbox", "retry-dead"]).unwrap(),
        Command::Outbox(OutboxCommand::RetryDead)
    );
    for bad in [
        &["serve"][..],
        &["outbox"],
        &["outbox", "lsit"],
        &["outbox", "list", "--all"],
        &["outbox", "retry"],
        &["outbox", "retry", "42"],
        &["outbox", "retry", "not-an-id"],
        &["outbox", "retry-dead", "now"],
    ] {
        let err = parse(bad).unwrap_err().to_string();
        assert!(err.contains("usage:"), "{bad:?}: {err}");
    }
}
