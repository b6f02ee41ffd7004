//! The dev mailbox: in development without `SMTP_URL`, mail is stored in the `dev_mailbox`
//! table instead of sent, and shown at `/dev/mailbox`. The app serves that page only then:
//! the table holds working login links.

use sigra_core::mail::{Mailbox, OutgoingMail, StoredMail};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{Db, DbRow, timestamp};

/// The `dev_mailbox` table.
#[derive(Clone, Debug)]
pub struct SqlMailbox {
    db: Db,
}

impl SqlMailbox {
    /// The mailbox in this database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const COLUMNS: &str = "id, kind, to_address, subject, text_body, html_body, sent_at";

fn stored_mail(row: &DbRow) -> Result<StoredMail, sqlx::Error> {
    Ok(StoredMail {
        id: row.try_get::<Uuid, _>("id")?.to_string(),
        kind: row.try_get("kind")?,
        to: row.try_get("to_address")?,
        subject: row.try_get("subject")?,
        text: row.try_get("text_body")?,
        html: row.try_get("html_body")?,
        sent_at: row.try_get("sent_at")?,
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
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(mail.kind().as_str())
        .bind(mail.to().to_string())
        .bind(mail.subject())
        .bind(mail.text())
        .bind(mail.html())
        .bind(timestamp(sent_at))
        .execute(&self.db)
        .await?;
        Ok(id.to_string())
    }

    async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dev_mailbox ORDER BY sent_at DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(stored_mail).collect()
    }

    async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
        // Ids come from URLs: anything that is not one of ours is simply not found.
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM dev_mailbox WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(stored_mail).transpose()
    }
}
