//! Password reset: GET/POST /users/reset_password (ask for a link),
//! GET/POST /users/reset_password/{token} (choose a new password).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sigra_core::auth::AuthError;
use sigra_core::password::Password;
use sigra_core::web::{ClientMeta, Flash, clear_session_cookie};

use super::{errors_for, field_error, link_token, min_password_chars, refused, unprocessable};
use crate::accounts::Accounts;
use crate::mail::duration_in_words;
use crate::web::pages::HtmlForm;
use crate::web::templates::{Page, render};

/// The "send me a reset link" form.
#[derive(Deserialize)]
pub struct ResetRequestForm {
    #[serde(default)]
    email: String,
}

/// The new-password form.
#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// GET /users/reset_password
pub async fn new(page: Page) -> Response {
    render("auth/reset_password_request.html", page.context()).into_response()
}

/// POST /users/reset_password
///
/// Answers the same whether or not the address has an account.
pub async fn create(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<ResetRequestForm>,
) -> Response {
    match accounts.request_password_reset(&form.email, &meta).await {
        Ok(()) => {
            let valid_for = duration_in_words(accounts.config().tokens().reset_password_ttl);
            (
                Flash::info(format!(
                    "If that email address has an account, a link to reset its password is on its \
                     way. It works once, within {valid_for}."
                )),
                Redirect::to("/users/log_in"),
            )
                .into_response()
        }
        Err(err) => refused(
            &err,
            render(
                "auth/reset_password_request.html",
                context! {
                    form => context! { email => form.email },
                    errors => errors_for(&err, &[]),
                    ..page.context(),
                },
            ),
        ),
    }
}

/// GET /users/reset_password/{token}
///
/// Checks the link without using it up, then shows the new-password form.
pub async fn edit(
    State(accounts): State<Accounts>,
    page: Page,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let token = link_token(token);
    let min_password_chars = min_password_chars(&accounts);
    match accounts.check_reset_token(&token).await {
        Ok(()) => render(
            "auth/reset_password.html",
            context! { min_password_chars, ..page.context() },
        )
        .into_response(),
        Err(err) => refused(
            &err,
            render(
                "auth/reset_password.html",
                context! { invalid_link => true, errors => errors_for(&err, &[]), ..page.context() },
            ),
        ),
    }
}

/// POST /users/reset_password/{token}
///
/// Sets the new password, logs out every session of the account, and mails a notice.
pub async fn update(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    token: Result<Path<String>, PathRejection>,
    HtmlForm(form): HtmlForm<NewPasswordForm>,
) -> Response {
    let token = link_token(token);
    let min_password_chars = min_password_chars(&accounts);
    if form.password != form.password_confirmation {
        return unprocessable(render(
            "auth/reset_password.html",
            context! {
                min_password_chars,
                errors => field_error("password_confirmation", "The two passwords do not match."),
                ..page.context(),
            },
        ));
    }
    let password = Password::from(form.password);
    match accounts.reset_password(&token, &password, &meta).await {
        Ok(()) => (
            // Every session of the account is gone, this browser's included.
            clear_session_cookie(&accounts),
            Flash::info("Your password is reset. Log in with the new one."),
            Redirect::to("/users/log_in"),
        )
            .into_response(),
        Err(err) => {
            let invalid_link = matches!(err, AuthError::InvalidToken);
            refused(
                &err,
                render(
                    "auth/reset_password.html",
                    context! {
                        min_password_chars,
                        invalid_link,
                        errors => errors_for(&err, &[]),
                        ..page.context(),
                    },
                ),
            )
        }
    }
}
