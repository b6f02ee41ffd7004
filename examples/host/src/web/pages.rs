//! The pages around the account flows: the home page, the stylesheet, the passkey script, and
//! the icon, the error pages, and what every form handler shares ([`HtmlForm`], the time
//! formats).

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use serde::de::DeserializeOwned;
use time::{OffsetDateTime, UtcOffset};

use super::templates::{Page, render};
use crate::app::AppState;

/// The stylesheet, compiled into the binary.
const SIGRA_CSS: &str = include_str!("../../static/sigra/sigra.css");

/// The passkey script (pages that offer passkeys load it), compiled into the binary.
const PASSKEYS_JS: &str = include_str!("../../static/sigra/passkeys.js");

/// The icon the layout links to, compiled into the binary.
const FAVICON_SVG: &str = include_str!("../../static/sigra/favicon.svg");

/// The home page, the stylesheet and the icon.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sigra/sigra.css", get(stylesheet))
        .route("/sigra/passkeys.js", get(passkeys_script))
        .route("/sigra/favicon.svg", get(favicon))
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

/// GET /sigra/passkeys.js
async fn passkeys_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PASSKEYS_JS,
    )
        .into_response()
}

/// GET /sigra/favicon.svg
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON_SVG,
    )
        .into_response()
}

/// Any unknown path.
pub async fn not_found(page: Page) -> Response {
    error_page(
        &page,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
    )
}

/// A method the route does not take (a `PUT` to a form's address, say): 405, with the
/// `Allow` header the router adds.
pub async fn method_not_allowed(method: Method, page: Page) -> Response {
    error_page(
        &page,
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        &format!(
            "This address does not answer {method} requests. Use the links and buttons on the pages."
        ),
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
