//! The command line: with no arguments the app serves; `outbox` looks after the mail it
//! sends, on the database and with the settings the server uses.
//!
//! ```text
//! cargo run -- outbox list [--dead]   the latest mails, newest first (only the dead ones)
//! cargo run -- outbox retry <ID>      send a dead or retrying mail again now
//! cargo run -- outbox retry-dead      send every dead mail again now
//! ```

use std::ffi::OsString;
use std::fmt::Write as _;

use sigra_core::jobs::MAIL_QUEUE;
use sigra_core::store::{JobFilter, JobRecord, JobStatus, StoreError};
use time::UtcOffset;
use uuid::Uuid;

use crate::app::AppState;
use crate::mail::outbox;

/// How many mails `outbox list` shows.
const LIST_LIMIT: u32 = 50;

/// The longest error message `outbox list` shows (it is cut with `…`). The last column, so a
/// long one does not push the others apart.
const ERROR_CHARS: usize = 200;

/// What `--help` prints.
pub const USAGE: &str = "\
usage: cargo run                            serve the app
       cargo run -- outbox list [--dead]    list the latest mails, newest first (--dead: only the dead ones)
       cargo run -- outbox retry <ID>       send a dead or retrying mail again now
       cargo run -- outbox retry-dead       send every dead mail again now";

/// What the app was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Serve the app (no arguments).
    Serve,
    /// Print [`USAGE`].
    Help,
    /// An `outbox` command.
    Outbox(OutboxCommand),
}

/// The operators' commands on the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxCommand {
    /// `outbox list [--dead]`
    List {
        /// Only the dead mails.
        dead: bool,
    },
    /// `outbox retry <ID>`
    Retry(Uuid),
    /// `outbox retry-dead`
    RetryDead,
}

/// A command line that is not one of [`USAGE`]'s.
#[derive(Debug, thiserror::Error)]
#[error("{0}\n\n{USAGE}")]
pub struct UsageError(String);

/// Why an `outbox` command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The database failed.
    #[error("the outbox cannot be read: {0}")]
    Store(#[from] StoreError),
    /// No mail has this id.
    #[error("no mail in the outbox has the id {0}")]
    UnknownMail(Uuid),
    /// The mail is not dead or retrying.
    #[error("the mail {id} is {status}: only a dead or retrying mail can be retried")]
    NotRetryable {
        /// The mail.
        id: Uuid,
        /// Where it stands.
        status: &'static str,
    },
}

impl Command {
    /// Reads the process's arguments.
    pub fn from_env() -> Result<Self, UsageError> {
        let args = std::env::args_os()
            .skip(1)
            .map(OsString::into_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|arg| UsageError(format!("{arg:?} is not UTF-8")))?;
        Self::parse(args)
    }

    /// Reads the arguments after the program's name.
    pub fn parse<I>(args: I) -> Result<Self, UsageError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let args: Vec<I::Item> = args.into_iter().collect();
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        match args.as_slice() {
            [] => Ok(Self::Serve),
            ["help" | "--help" | "-h", ..] => Ok(Self::Help),
            ["outbox", "list"] => Ok(Self::Outbox(OutboxCommand::List { dead: false })),
            ["outbox", "list", "--dead"] => Ok(Self::Outbox(OutboxCommand::List { dead: true })),
            ["outbox", "retry", id] => match Uuid::parse_str(id) {
                Ok(id) => Ok(Self::Outbox(OutboxCommand::Retry(id))),
                Err(_) => Err(UsageError(format!(
                    "{id:?} is not a mail id (a UUID, as `outbox list` shows)"
                ))),
            },
            ["outbox", "retry-dead"] => Ok(Self::Outbox(OutboxCommand::RetryDead)),
            ["outbox"] => Err(UsageError(
                "outbox needs a command: list, retry <ID> or retry-dead".to_owned(),
            )),
            ["outbox", "retry"] => Err(UsageError(
                "outbox retry needs the mail's id (as `outbox list` shows)".to_owned(),
            )),
            ["outbox", ..] => Err(UsageError(format!(
                "unknown outbox command: {}",
                args[1..].join(" ")
            ))),
            _ => Err(UsageError(format!("unknown command: {}", args.join(" ")))),
        }
    }
}

impl OutboxCommand {
    /// Runs the command on the app's database; returns what to print.
    pub async fn run(&self, state: &AppState) -> Result<String, CommandError> {
        let accounts = &state.accounts;
        match self {
            Self::List { dead } => {
                let mut filter = JobFilter::queue(MAIL_QUEUE);
                if *dead {
                    filter = filter.status(JobStatus::Dead);
                }
                let jobs = outbox::list(accounts, &filter, LIST_LIMIT).await?;
                Ok(table(&jobs))
            }
            Self::Retry(id) => {
                let job = outbox::get(accounts, &id.to_string())
                    .await?
                    .ok_or(CommandError::UnknownMail(*id))?;
                if !outbox::retry(accounts, *id).await? {
                    return Err(CommandError::NotRetryable {
                        id: *id,
                        status: outbox::status_label(&job),
                    });
                }
                Ok(format!(
                    "mail {id} queued: the app sends it at its next poll"
                ))
            }
            Self::RetryDead => {
                let count = outbox::retry_dead(accounts).await?;
                Ok(format!(
                    "{count} dead mail(s) queued: the app sends them at its next poll"
                ))
            }
        }
    }
}

/// The jobs as a table: id, kind, recipient, status, attempts, created, last error.
pub fn table(jobs: &[JobRecord]) -> String {
    if jobs.is_empty() {
        return "no mail".to_owned();
    }
    let header = [
        "ID",
        "KIND",
        "TO",
        "STATUS",
        "ATTEMPTS",
        "CREATED",
        "LAST ERROR",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = jobs
        .iter()
        .map(|job| {
            [
                job.id.to_string(),
                job.kind.clone(),
                job.recipient.clone().unwrap_or_default(),
                outbox::status_label(job).to_owned(),
                job.attempts.to_string(),
                utc_time(job.created_at),
                job.last_error.as_deref().map(shorten).unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `2026-03-14 15:09:26 UTC`
fn utc_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        t.date(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An error message on one line, cut to [`ERROR_CHARS`].
fn shorten(error: &str) -> String {
    let line = error.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= ERROR_CHARS {
        return line;
    }
    let cut: String = line.chars().take(ERROR_CHARS - 1).collect();
    format!("{cut}…")
}
