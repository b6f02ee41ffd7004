//! The [`Mailbox`] contract as a test suite, to run against any implementation.
//!
//! ```ignore
//! #[tokio::test]
//! async fn dev_mailbox_keeps_the_contract() {
//!     let store = SqlMailbox::new(fresh_database().await); // an empty dev_mailbox table
//!     sigra_core::mail::conformance::check_mailbox(&store).await.unwrap();
//! }
//! ```

use std::fmt;

use time::{Duration, OffsetDateTime};

use super::{Address, MailKind, Mailbox, OutgoingMail, StoredMail};

/// A broken rule of the [`Mailbox`] contract: which one, and what the store did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractViolation {
    /// The rule, as numbered in the [`mailbox`](super::Mailbox) contract.
    pub rule: &'static str,
    /// What happened instead.
    pub detail: String,
}

impl fmt::Display for ContractViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox contract, {}: {}", self.rule, self.detail)
    }
}

impl std::error::Error for ContractViolation {}

fn violation(rule: &'static str, detail: impl Into<String>) -> ContractViolation {
    ContractViolation {
        rule,
        detail: detail.into(),
    }
}

const STORE: &str = "rule 1 (store every field exactly)";
const IDS: &str = "rule 2 (new unique ids)";
const ORDER: &str = "rule 3 (newest first, at most limit)";
const LOOKUP: &str = "rule 4 (total lookup)";

/// Runs the whole contract against `store`, which must start empty. Stops at the first
/// broken rule.
///
/// # Errors
/// The first [`ContractViolation`], or one wrapping a store error (the store must not fail
/// on a healthy database).
pub async fn check_mailbox<M: Mailbox>(store: &M) -> Result<(), ContractViolation> {
    let failed =
        |rule: &'static str| move |e: M::Error| violation(rule, format!("the store failed: {e}"));
    let base = OffsetDateTime::from_unix_timestamp(1_767_225_600) // 2026-01-01T00:00:00Z
        .map_err(|e| violation(STORE, e.to_string()))?;
    let mails = sample_mails().map_err(|e| violation(STORE, e.to_string()))?;

    let mut ids = Vec::new();
    for (i, mail) in mails.iter().enumerate() {
        let at = base + Duration::minutes(i64::try_from(i).unwrap_or(0));
        let id = store.deliver(mail, at).await.map_err(failed(IDS))?;
        if ids.contains(&id) {
            return Err(violation(
                IDS,
                format!("deliver returned the id {id:?} twice"),
            ));
        }
        ids.push(id);
    }

    // Rule 1: every field round-trips through get.
    for (i, (mail, id)) in mails.iter().zip(&ids).enumerate() {
        let at = base + Duration::minutes(i64::try_from(i).unwrap_or(0));
        let want = StoredMail::from_outgoing(id.clone(), mail, at);
        match store.get(id).await.map_err(failed(STORE))? {
            Some(got) if got == want => {}
            Some(got) => {
                return Err(violation(STORE, differences(&want, &got)));
            }
            None => return Err(violation(STORE, format!("get({id:?}) found nothing"))),
        }
    }

    // Rule 3: newest first, limited.
    let all = store.list(100).await.map_err(failed(ORDER))?;
    let got: Vec<&str> = all.iter().map(|m| m.id.as_str()).collect();
    let want: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    if got != want {
        return Err(violation(
            ORDER,
            format!("list(100) gave ids {got:?}, expected newest first {want:?}"),
        ));
    }
    let two = store.list(2).await.map_err(failed(ORDER))?;
    let got: Vec<&str> = two.iter().map(|m| m.id.as_str()).collect();
    if got != want.get(..2).unwrap_or_default() {
        return Err(violation(
            ORDER,
            format!("list(2) gave ids {got:?}, expected {:?}", want.get(..2)),
        ));
    }
    if !store.list(0).await.map_err(failed(ORDER))?.is_empty() {
        return Err(violation(ORDER, "list(0) was not empty"));
    }
    // A later delivery with an earlier timestamp sorts by timestamp.
    let late = store
        .deliver(&mails[0], base - Duration::hours(1))
        .await
        .map_err(failed(ORDER))?;
    let all = store.list(100).await.map_err(failed(ORDER))?;
    if all.last().map(|m| m.id.as_str()) != Some(late.as_str()) {
        return Err(violation(
            ORDER,
            "a mail with the oldest sent_at was not listed last (order by sent_at, not by insertion)",
        ));
    }

    // Equal timestamps: the later delivery first.
    let newest_at = base + Duration::hours(1);
    let first = store
        .deliver(&mails[1], newest_at)
        .await
        .map_err(failed(ORDER))?;
    let second = store
        .deliver(&mails[2], newest_at)
        .await
        .map_err(failed(ORDER))?;
    let top: Vec<String> = store
        .list(2)
        .await
        .map_err(failed(ORDER))?
        .into_iter()
        .map(|m| m.id)
        .collect();
    if top != [second.clone(), first.clone()] {
        return Err(violation(
            ORDER,
            format!(
                "two mails with the same sent_at: list(2) gave {top:?}, expected the later delivery first [{second:?}, {first:?}]"
            ),
        ));
    }
    ids.extend([late, first, second]);

    // Rule 4: unknown and malformed ids are Ok(None).
    for bad in [
        "",
        "0",
        "-1",
        "00000000-0000-7000-8000-000000000000",
        "not-an-id",
        "' OR 1=1 --",
        "%00\u{0}",
        "9223372036854775808",
        "ü",
    ] {
        if ids.iter().any(|id| id == bad) {
            continue;
        }
        match store.get(bad).await {
            Ok(None) => {}
            Ok(Some(m)) => {
                return Err(violation(
                    LOOKUP,
                    format!("get({bad:?}) returned mail {:?}", m.id),
                ));
            }
            Err(e) => {
                return Err(violation(
                    LOOKUP,
                    format!(
                        "get({bad:?}) failed ({e}); an unknown or malformed id must be Ok(None)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Mails exercising every field: UTF-8, a display name, with and without HTML, long text.
fn sample_mails() -> Result<[OutgoingMail; 3], super::MailError> {
    Ok([
        OutgoingMail::new(
            MailKind::CONFIRM,
            Address::new("zoe@example.com")?.with_name("Zoë \"Z\" Ångström")?,
            "Bestätige dein Konto – 確認",
            "Öffne https://app.example/confirm/abc\r\noder gib 042917 ein.\n",
        )?
        .with_html("<p>Öffne <a href=\"https://app.example/confirm/abc\">den Link</a> 🔑</p>")?,
        OutgoingMail::new(
            MailKind::new("org.invitation")?,
            Address::new("bob@例子.example")?,
            "Plain only",
            "x".repeat(70_000),
        )?,
        OutgoingMail::new(
            MailKind::LOCKOUT_NOTICE,
            Address::new("carol@example.org")?,
            "Locked",
            "Your account is locked for 15 minutes.",
        )?,
    ])
}

fn differences(want: &StoredMail, got: &StoredMail) -> String {
    let mut diffs = Vec::new();
    if want.id != got.id {
        diffs.push(format!("id {:?} != {:?}", got.id, want.id));
    }
    if want.kind != got.kind {
        diffs.push(format!("kind {:?} != {:?}", got.kind, want.kind));
    }
    if want.to != got.to {
        diffs.push(format!("to {:?} != {:?}", got.to, want.to));
    }
    if want.subject != got.subject {
        diffs.push(format!("subject {:?} != {:?}", got.subject, want.subject));
    }
    if want.text != got.text {
        diffs.push(format!(
            "text differs ({} bytes stored, {} sent)",
            got.text.len(),
            want.text.len()
        ));
    }
    if want.html != got.html {
        diffs.push(format!(
            "html differs ({:?} bytes stored, {:?} sent)",
            got.html.as_ref().map(String::len),
            want.html.as_ref().map(String::len)
        ));
    }
    if want.sent_at != got.sent_at {
        diffs.push(format!("sent_at {} != {}", got.sent_at, want.sent_at));
    }
    format!("the stored mail differs: {}", diffs.join("; "))
}
