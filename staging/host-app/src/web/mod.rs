//! The web layer: routes, the pages around the account flows, and the static stylesheet.

pub mod auth;
pub mod dev_mailbox;
pub mod mail;
pub mod templates;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::de::DeserializeOwned;
use time::{OffsetDateTime, UtcOffset};

use self::auth::{
    confirmation, login, magic_link, registration, reset_password, sessions, settings, sudo,
};
use self::templates::{Page, render};
use crate::AppState;

/// The largest request body accepted (forms are small; this bounds what a request can cost).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The stylesheet, compiled into the binary.
const SIGRA_CSS: &str = include_str!("../../static/sigra/sigra.css");

/// Every route of the app.
pub fn router(state: AppState) -> Router {
    let accounts = state.accounts.clone();

    // Anonymous auth POSTs: each counts against the per-IP limit (10 a minute by default,
    // counters in the database so every instance shares them).
    let rate_limited = Router::new()
        .route("/users/register", post(registration::create))
        .route("/users/log_in", post(login::create))
        .route("/users/log_in/magic", post(magic_link::create))
        .route("/users/log_in/{token}", post(magic_link::log_in))
        .route("/users/confirm", post(confirmation::confirm_with_code))
        .route("/users/confirm/resend", post(confirmation::resend))
        .route(
            "/users/confirm/{token}",
            post(confirmation::confirm_with_link),
        )
        .route("/users/reset_password", post(reset_password::create))
        .route(
            "/users/reset_password/{token}",
            post(reset_password::update),
        )
        .route("/users/sudo", post(sudo::create))
        .route_layer(sigra_core::web::rate_limit_layer(accounts.clone()));

    let mut app = Router::new()
        .route("/", get(home))
        .route("/sigra/sigra.css", get(stylesheet))
        .route("/users/register", get(registration::new))
        .route("/users/log_in", get(login::new))
        .route("/users/log_out", post(login::delete))
        .route("/users/log_in/{token}", get(magic_link::show))
        .route("/users/confirm", get(confirmation::new))
        .route("/users/confirm/{token}", get(confirmation::show))
        .route("/users/reset_password", get(reset_password::new))
        .route("/users/reset_password/{token}", get(reset_password::edit))
        .route("/users/sudo", get(sudo::new))
        .route("/users/settings", get(settings::edit))
        .route("/users/settings/email", post(settings::update_email))
        .route("/users/settings/password", post(settings::update_password))
        .route(
            "/users/settings/confirm_email/{token}",
            get(settings::show_confirm_email).post(settings::confirm_email),
        )
        .route("/users/sessions", get(sessions::index))
        .route(
            "/users/sessions/revoke_others",
            post(sessions::revoke_others),
        )
        .route("/users/sessions/{id}/revoke", post(sessions::revoke))
        .merge(rate_limited);

    if state.dev_mailbox.is_some() {
        app = app
            .route("/dev/mailbox", get(dev_mailbox::index))
            .route("/dev/mailbox/{id}", get(dev_mailbox::show));
    }

    app.fallback(not_found)
        .layer(sigra_core::web::layers(accounts))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// GET / — the home page.
async fn home(page: Page) -> Response {
    render("home.html", page.context()).into_response()
}

/// GET /sigra/sigra.css
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SIGRA_CSS,
    )
        .into_response()
}

/// Any unknown path.
async fn not_found(page: Page) -> Response {
    error_page(
        &page,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
    )
}

/// A full error page with a heading and a sentence.
pub fn error_page(page: &Page, status: StatusCode, heading: &str, message: &str) -> Response {
    (
        status,
        render(
            "error.html",
            context! { heading, message, ..page.context() },
        ),
    )
        .into_response()
}

/// `axum::Form`, but a body that cannot be read (too large, wrong content type) answers
/// with an HTML page saying so instead of a plain-text error.
///
/// Form structs give every field `#[serde(default)]`, so a missing field arrives empty and
/// the handler re-renders the form with a message next to it.
pub struct HtmlForm<T>(pub T);

impl<T, S> FromRequest<S> for HtmlForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(rejection) => Err(form_rejection_page(&rejection)),
        }
    }
}

fn form_rejection_page(rejection: &FormRejection) -> Response {
    let status = rejection.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "The form was too large. Shorten what you typed and try again."
    } else {
        "The form could not be read. Go back, reload the page and try again."
    };
    tracing::debug!(%status, "form rejected: {rejection}");
    (
        status,
        render(
            "error.html",
            context! { heading => "Something is wrong with that form", message },
        ),
    )
        .into_response()
}

/// A time for people: `2026-05-01 14:03 UTC`.
pub fn format_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A time for machines (`<time datetime>`): `2026-05-01T14:03:09Z`.
pub fn iso_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::{format_time, iso_time};

    #[test]
    fn times_are_shown_in_utc() {
        let at = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(format_time(at), "2023-11-14 22:13 UTC");
        assert_eq!(iso_time(at), "2023-11-14T22:13:20Z");
    }
}
