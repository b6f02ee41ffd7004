//! The dev mailbox pages, a view of the outbox ([`crate::mail::outbox`]): `GET /dev/mailbox`
//! lists every mail job, newest first, with where its delivery stands; `GET /dev/mailbox/{id}`
//! renders one mail from its job, with its HTML version in a frame fed by
//! `GET /dev/mailbox/{id}/html`. They are served only when the app has a dev mailbox (dev mode
//! without `SMTP_URL`): the mails hold working login links.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use minijinja::value::Value;
use sigra_core::auth::NoticeError;
use sigra_core::jobs::MAIL_QUEUE;
use sigra_core::mail::OutgoingMail;
use sigra_core::store::{JobFilter, JobRecord, StoreError};

use super::pages::{error_page, format_time, iso_time};
use super::templates::{Page, render};
use crate::app::AppState;
use crate::mail::{SendError, outbox};

/// How many mails the list page shows.
const LIST_LIMIT: u32 = 100;

/// The CSP of a mail's HTML version. Mails carry their styles inline, which the app's own
/// CSP forbids, so this one allows inline styles and images, and nothing else: no scripts,
/// no forms, no plugins. Only this app's pages may frame it, and it is sandboxed even when
/// opened on its own; a click on a link may still open it in the window.
const MAIL_HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
    frame-ancestors 'self'; form-action 'none'; \
    sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation";

/// The dev mailbox's routes: none unless the app has a dev mailbox.
pub fn routes(state: &AppState) -> Router<AppState> {
    if !state.dev_mailbox {
        return Router::new();
    }
    Router::new()
        .route("/dev/mailbox", get(index))
        .route("/dev/mailbox/{id}", get(show))
        .route("/dev/mailbox/{id}/html", get(show_html))
}

/// What the pages show of a job: who it is for and how its delivery went.
fn job_context(job: &JobRecord) -> Value {
    context! {
        id => job.id.to_string(),
        kind => job.kind.as_str(),
        to => job.recipient.as_deref().unwrap_or_default(),
        status => outbox::status_label(job),
        attempts => job.attempts,
        last_error => job.last_error.as_deref(),
        created_at => format_time(job.created_at),
        created_at_iso => iso_time(job.created_at),
    }
}

/// The mail job `id`, or the page to answer instead.
async fn find_job(state: &AppState, page: &Page, id: &str) -> Result<JobRecord, Response> {
    match outbox::get(&state.accounts, id).await {
        Ok(Some(job)) => Ok(job),
        Ok(None) => Err(not_found(page)),
        Err(err) => Err(database_error(page, &err)),
    }
}

/// The mail a job carries, rendered as the job worker sends it; or why it cannot be shown.
fn open_mail(state: &AppState, job: &JobRecord) -> Result<OutgoingMail, String> {
    state.mailer.open(job).map_err(|err| match err {
        SendError::Notice(NoticeError::Scrubbed) => {
            "The mail was delivered and its content deleted, so it cannot be shown.".to_owned()
        }
        SendError::Notice(NoticeError::Unreadable) => "The mail's content cannot be read: it was \
            written under another secret key base, most likely by an earlier run of the app (in \
            dev mode each start picks a random one)."
            .to_owned(),
        other => format!("The mail cannot be shown: {other}."),
    })
}

/// GET /dev/mailbox
pub async fn index(State(state): State<AppState>, page: Page) -> Response {
    let filter = JobFilter::queue(MAIL_QUEUE);
    match outbox::list(&state.accounts, &filter, LIST_LIMIT).await {
        Ok(jobs) => {
            let mails: Vec<Value> = jobs.iter().map(job_context).collect();
            render("dev/mailbox.html", context! { mails, ..page.context() }).into_response()
        }
        Err(err) => database_error(&page, &err),
    }
}

/// GET /dev/mailbox/{id}
pub async fn show(State(state): State<AppState>, page: Page, Path(id): Path<String>) -> Response {
    let job = match find_job(&state, &page, &id).await {
        Ok(job) => job,
        Err(response) => return response,
    };
    let mail = job_context(&job);
    let content = match open_mail(&state, &job) {
        Ok(rendered) => context! {
            mail,
            subject => rendered.subject(),
            text => rendered.text(),
            has_html => rendered.html().is_some(),
        },
        Err(unavailable) => context! { mail, unavailable },
    };
    render("dev/mail.html", context! { ..content, ..page.context() }).into_response()
}

/// GET /dev/mailbox/{id}/html: the mail's HTML version alone, for the frame on its page,
/// under [`MAIL_HTML_CSP`].
pub async fn show_html(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    let job = match find_job(&state, &page, &id).await {
        Ok(job) => job,
        Err(response) => return response,
    };
    match open_mail(&state, &job) {
        Ok(mail) => match mail.html() {
            Some(html) => (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, MAIL_HTML_CSP),
                    (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
                ],
                links_open_on_top(html),
            )
                .into_response(),
            None => not_found(&page),
        },
        Err(_) => not_found(&page),
    }
}

/// The mail's HTML with `<base target="_top">` at the start of its `<head>`, so its links
/// open in the window instead of inside the frame.
fn links_open_on_top(html: &str) -> String {
    const BASE: &str = r#"<base target="_top">"#;
    let head_end = html
        .to_ascii_lowercase()
        .find("<head>")
        .map(|at| at + "<head>".len());
    match head_end.and_then(|end| html.split_at_checked(end)) {
        Some((head, rest)) => format!("{head}{BASE}{rest}"),
        None => format!("{BASE}{html}"),
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

fn database_error(page: &Page, err: &StoreError) -> Response {
    tracing::error!("dev mailbox: {err}");
    error_page(
        page,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The dev mailbox could not be read.",
    )
}
