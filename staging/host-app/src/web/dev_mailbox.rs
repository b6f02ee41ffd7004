//! The dev mailbox: in development without `SMTP_URL`, mail is stored in the `dev_mailbox`
//! table instead of sent, and listed at GET /dev/mailbox (one mail at /dev/mailbox/{id}).
//! The routes exist only then: the table holds working login links.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::Value;
use sigra_core::mail::{Mailbox, OutgoingMail, StoredMail};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uuid::Uuid;

use super::templates::{Page, render};
use super::{error_page, format_time, iso_time};
use crate::AppState;

/// How many mails the list page shows.
const LIST_LIMIT: u32 = 100;

/// The `dev_mailbox` table.
#[derive(Clone, Debug)]
pub struct SqlMailbox {
    pool: SqlitePool,
}

impl SqlMailbox {
    /// The mailbox in this database.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

const COLUMNS: &str = "id, kind, to_address, subject, text_body, html_body, sent_at";

/// Times are stored like every other table's: UTC text with microseconds, so text order is
/// time order.
fn stored_time(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let t = t.replace_microsecond(t.microsecond()).unwrap_or(t);
    PrimitiveDateTime::new(t.date(), t.time())
}

fn stored_mail(row: &SqliteRow) -> Result<StoredMail, sqlx::Error> {
    Ok(StoredMail {
        id: row.try_get::<Uuid, _>("id")?.to_string(),
        kind: row.try_get("kind")?,
        to: row.try_get("to_address")?,
        subject: row.try_get("subject")?,
        text: row.try_get("text_body")?,
        html: row.try_get("html_body")?,
        sent_at: row.try_get::<PrimitiveDateTime, _>("sent_at")?.assume_utc(),
    })
}

impl Mailbox for SqlMailbox {
    type Error = sqlx::Error;

    async fn deliver(
        &self,
        mail: &OutgoingMail,
        sent_at: OffsetDateTime,
    ) -> Result<String, Self::Error> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO dev_mailbox (id, kind, to_address, subject, text_body, html_body, sent_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(mail.kind().as_str())
        .bind(mail.to().to_string())
        .bind(mail.subject())
        .bind(mail.text())
        .bind(mail.html())
        .bind(stored_time(sent_at))
        .execute(&self.pool)
        .await?;
        Ok(id.to_string())
    }

    async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dev_mailbox ORDER BY sent_at DESC, id DESC LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_mail).collect()
    }

    async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
        // Ids come from URLs: anything that is not one of ours is simply not found.
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM dev_mailbox WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored_mail).transpose()
    }
}

fn mail_context(mail: StoredMail) -> Value {
    context! {
        id => mail.id,
        kind => mail.kind,
        to => mail.to,
        subject => mail.subject,
        text => mail.text,
        html => mail.html,
        sent_at => format_time(mail.sent_at),
        sent_at_iso => iso_time(mail.sent_at),
    }
}

/// GET /dev/mailbox
pub async fn index(State(state): State<AppState>, page: Page) -> Response {
    let Some(mailbox) = state.dev_mailbox else {
        return not_found(&page);
    };
    match mailbox.list(LIST_LIMIT).await {
        Ok(mails) => {
            let mails: Vec<Value> = mails.into_iter().map(mail_context).collect();
            render("dev/mailbox.html", context! { mails, ..page.context() }).into_response()
        }
        Err(err) => database_error(&page, &err),
    }
}

/// GET /dev/mailbox/{id}
pub async fn show(State(state): State<AppState>, page: Page, Path(id): Path<String>) -> Response {
    let Some(mailbox) = state.dev_mailbox else {
        return not_found(&page);
    };
    match mailbox.get(&id).await {
        Ok(Some(mail)) => render(
            "dev/mail.html",
            context! { mail => mail_context(mail), ..page.context() },
        )
        .into_response(),
        Ok(None) => not_found(&page),
        Err(err) => database_error(&page, &err),
    }
}

fn not_found(page: &Page) -> Response {
    error_page(
        page,
        StatusCode::NOT_FOUND,
        "Mail not found",
        "There is no such mail in the dev mailbox.",
    )
}

fn database_error(page: &Page, err: &sqlx::Error) -> Response {
    tracing::error!("dev mailbox: {err}");
    error_page(
        page,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The dev mailbox could not be read.",
    )
}
