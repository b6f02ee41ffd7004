//! The account pages, one file per flow. Handlers are plain async functions: they call one
//! flow of [`Accounts`], then redirect or re-render the form with the reason next to
//! the field it concerns.

pub mod confirmation;
pub mod login;
pub mod magic_link;
pub mod mfa;
pub mod passkeys;
pub mod registration;
pub mod reset_password;
pub mod sessions;
pub mod settings;
pub mod sudo;
pub mod two_factor;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use minijinja::value::Value;
use sigra_core::auth::AuthError;

use super::templates::Page;
use crate::accounts::Accounts;
use crate::app::AppState;

/// Every account page. The anonymous POSTs (registering, logging in, confirming, asking for
/// links, resetting, sudo, the MFA step, finishing a passkey login) each count against the
/// per-IP limit (10 a minute by default, counters in the database so every instance shares
/// them).
/// Asking for passkey options counts in a bucket of its own, ten times as large: the login
/// page asks on every view (for autofill), which must not use up the login limit.
///
/// Every address a form posts to also answers GET (a reload after a refused form, a typed
/// or bookmarked address): `/users/log_out` with a page asking to confirm, the others with a
/// redirect to the page that has the form.
pub fn routes(state: &AppState) -> Router<AppState> {
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
        .route("/users/mfa", post(mfa::create))
        .route("/users/log_in/passkey", post(passkeys::log_in))
        .route("/users/mfa/passkey", post(passkeys::mfa))
        .route_layer(sigra_core::web::rate_limit_layer(state.accounts.clone()));
    let passkey_options = Router::new()
        .route(
            "/users/log_in/passkey/options",
            post(passkeys::login_options),
        )
        .route("/users/mfa/passkey/options", post(passkeys::mfa_options))
        .route_layer(
            sigra_core::web::rate_limit_layer(state.accounts.clone())
                .separate_bucket("passkey_options", 10),
        );

    Router::new()
        .route("/users/register", get(registration::new))
        .route("/users/log_in", get(login::new))
        .route(
            "/users/log_out",
            get(login::confirm_log_out).post(login::delete),
        )
        .route("/users/log_in/magic", to_form("/users/log_in"))
        .route("/users/confirm/resend", to_form("/users/confirm"))
        .route("/users/log_in/{token}", get(magic_link::show))
        .route("/users/confirm", get(confirmation::new))
        .route("/users/confirm/{token}", get(confirmation::show))
        .route("/users/reset_password", get(reset_password::new))
        .route("/users/reset_password/{token}", get(reset_password::edit))
        .route("/users/sudo", get(sudo::new))
        .route("/users/mfa", get(mfa::new))
        .route("/users/settings/two_factor", get(two_factor::edit))
        .route(
            "/users/settings/two_factor/enroll",
            to_form("/users/settings/two_factor").post(two_factor::enroll),
        )
        .route(
            "/users/settings/two_factor/confirm",
            to_form("/users/settings/two_factor").post(two_factor::confirm),
        )
        .route(
            "/users/settings/two_factor/backup_codes",
            to_form("/users/settings/two_factor").post(two_factor::regenerate),
        )
        .route(
            "/users/settings/two_factor/disable",
            to_form("/users/settings/two_factor").post(two_factor::disable),
        )
        .route(
            "/users/settings/two_factor/forget_browsers",
            to_form("/users/settings/two_factor").post(two_factor::forget_browsers),
        )
        .route(
            "/users/settings/passkeys",
            get(passkeys::index).post(passkeys::create),
        )
        .route(
            "/users/settings/passkeys/options",
            post(passkeys::registration_options),
        )
        .route(
            "/users/settings/passkeys/{id}/rename",
            to_form("/users/settings/passkeys").post(passkeys::rename),
        )
        .route(
            "/users/settings/passkeys/{id}/delete",
            to_form("/users/settings/passkeys").post(passkeys::delete),
        )
        .route("/users/settings", get(settings::edit))
        .route(
            "/users/settings/email",
            to_form("/users/settings").post(settings::update_email),
        )
        .route(
            "/users/settings/password",
            to_form("/users/settings").post(settings::update_password),
        )
        .route(
            "/users/settings/confirm_email/{token}",
            get(settings::show_confirm_email).post(settings::confirm_email),
        )
        .route("/users/sessions", get(sessions::index))
        .route(
            "/users/sessions/revoke_others",
            to_form("/users/sessions").post(sessions::revoke_others),
        )
        .route(
            "/users/sessions/{id}/revoke",
            to_form("/users/sessions").post(sessions::revoke),
        )
        .merge(rate_limited)
        .merge(passkey_options)
}

/// A GET of an address that only takes a form's POST: a redirect to the page with the form.
fn to_form(page: &'static str) -> MethodRouter<AppState> {
    get(move || async move { Redirect::to(page) })
}

/// The status a refused flow answers with: 429 for too many attempts, 422 for anything the
/// person can fix, 500 when the server failed.
pub fn status_for(err: &AuthError) -> StatusCode {
    match err {
        AuthError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        err if err.is_client_error() => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The form field an error belongs next to (`"form"` for the form as a whole).
pub fn field_for(err: &AuthError) -> &'static str {
    match err {
        AuthError::InvalidEmail | AuthError::SameEmail | AuthError::EmailTaken => "email",
        AuthError::WeakPassword(_) | AuthError::InvalidCredentials => "password",
        AuthError::InvalidCode => "code",
        _ => "form",
    }
}

/// The error as a sentence for the page: capitalised, ending with a full stop.
pub fn sentence(err: &AuthError) -> String {
    if !err.is_client_error() {
        tracing::error!("account flow failed: {err}");
    }
    let text = err.to_string();
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The `errors` map for a template: one message for one field.
pub fn field_error(field: &str, message: impl Into<String>) -> Value {
    Value::from(BTreeMap::from([(field.to_owned(), message.into())]))
}

/// The `errors` map for a flow's refusal, under the field it belongs to; `rename` maps a
/// field to the name this form uses (a page with two email fields, say).
pub fn errors_for(err: &AuthError, rename: &[(&str, &str)]) -> Value {
    let field = field_for(err);
    let field = rename
        .iter()
        .find(|(from, _)| *from == field)
        .map_or(field, |(_, to)| to);
    field_error(field, sentence(err))
}

/// Re-renders a page with the status for `err`, adding `Retry-After` to a 429.
pub fn refused(err: &AuthError, page: axum::response::Html<String>) -> Response {
    let mut response = (status_for(err), page).into_response();
    if let AuthError::TooManyAttempts { retry_after } = err
        && let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Re-renders a form the person must correct (422).
pub fn unprocessable(page: axum::response::Html<String>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// The page for a failure that no form can fix (the database is down...).
pub fn server_error(page: &Page, err: &AuthError) -> Response {
    tracing::error!("account flow failed: {err}");
    crate::web::pages::error_page(
        page,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "We could not complete that. Please try again in a moment.",
    )
}

/// The token from a link's path. A path that is not even valid UTF-8 after decoding is
/// treated like any other invalid link (an empty token fails verification).
pub fn link_token(token: Result<Path<String>, PathRejection>) -> String {
    token.map(|Path(token)| token).unwrap_or_default()
}

/// The minimum password length, for the hint under password fields.
pub fn min_password_chars(accounts: &Accounts) -> u32 {
    accounts.config().password().min_chars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            sentence(&AuthError::InvalidEmail),
            "Enter a valid email address."
        );
        assert_eq!(
            status_for(&AuthError::TooManyAttempts {
                retry_after: std::time::Duration::from_secs(60)
            }),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            status_for(&AuthError::InvalidCode),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_for(&AuthError::Internal("x".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
