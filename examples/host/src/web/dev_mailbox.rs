//! The dev mailbox pages: `GET /dev/mailbox` lists the mail stored instead of sent
//! ([`crate::mail::dev_mailbox`]), `GET /dev/mailbox/{id}` shows one, with its HTML version
//! in a frame fed by `GET /dev/mailbox/{id}/html`. They are served only when the app has a
//! dev mailbox (dev mode without `SMTP_URL`): the mails hold working login links.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use minijinja::value::Value;
use sigra_core::mail::{Mailbox, StoredMail};

use super::pages::{error_page, format_time, iso_time};
use super::templates::{Page, render};
use crate::app::AppState;

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
    if state.dev_mailbox.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/dev/mailbox", get(index))
        .route("/dev/mailbox/{id}", get(show))
        .route("/dev/mailbox/{id}/html", get(show_html))
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

/// GET /dev/mailbox/{id}/html: the mail's HTML version alone, for the frame on its page,
/// under [`MAIL_HTML_CSP`].
pub async fn show_html(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    let Some(mailbox) = state.dev_mailbox else {
        return not_found(&page);
    };
    match mailbox.get(&id).await {
        Ok(Some(StoredMail {
            html: Some(html), ..
        })) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, MAIL_HTML_CSP),
                (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            ],
            links_open_on_top(&html),
        )
            .into_response(),
        Ok(_) => not_found(&page),
        Err(err) => database_error(&page, &err),
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

fn database_error(page: &Page, err: &sqlx::Error) -> Response {
    tracing::error!("dev mailbox: {err}");
    error_page(
        page,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The dev mailbox could not be read.",
    )
}
