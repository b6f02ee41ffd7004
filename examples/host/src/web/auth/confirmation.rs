//! Confirming the email address: by code (GET/POST /users/confirm), by link
//! (GET/POST /users/confirm/{token}), and asking for a new link and code
//! (POST /users/confirm/resend).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sigra_core::web::{ClientMeta, Flash, session_cookie};

use super::{errors_for, link_token, refused};
use crate::accounts::Accounts;
use crate::web::pages::HtmlForm;
use crate::web::templates::{Page, render};

/// The code form.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

/// The "send a new link and code" form.
#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    email: String,
}

/// GET /users/confirm
pub async fn new(page: Page) -> Response {
    let email = page.user.as_ref().map(|user| user.email.clone());
    render(
        "auth/confirm.html",
        context! { form => context! { email => email.clone(), resend_email => email }, ..page.context() },
    )
    .into_response()
}

/// POST /users/confirm
pub async fn confirm_with_code(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Response {
    match accounts
        .confirm_with_code(&form.email, &form.code, &meta)
        .await
    {
        Ok(logged_in) => (
            session_cookie(&accounts, &logged_in),
            Flash::info("Your email address is confirmed. Welcome!"),
            Redirect::to("/"),
        )
            .into_response(),
        Err(err) => refused(
            &err,
            render(
                "auth/confirm.html",
                context! {
                    form => context! { email => form.email.clone(), code => form.code, resend_email => form.email },
                    errors => errors_for(&err, &[]),
                    ..page.context(),
                },
            ),
        ),
    }
}

/// POST /users/confirm/resend
///
/// Answers the same for unknown, confirmed and unconfirmed addresses.
pub async fn resend(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<ResendForm>,
) -> Response {
    match accounts.resend_confirmation(&form.email, &meta).await {
        Ok(()) => (
            Flash::info(
                "If that address has an account waiting for confirmation, a new link and code \
                 are on their way. The previous ones no longer work.",
            ),
            Redirect::to("/users/confirm"),
        )
            .into_response(),
        Err(err) => refused(
            &err,
            render(
                "auth/confirm.html",
                context! {
                    form => context! { resend_email => form.email },
                    errors => errors_for(&err, &[("email", "resend_email")]),
                    ..page.context(),
                },
            ),
        ),
    }
}

/// GET /users/confirm/{token}
///
/// Shows a button: mail scanners that open every link must not use the link up.
pub async fn show(page: Page) -> Response {
    // The form posts back to this very URL, token included.
    render("auth/confirm_link.html", page.context()).into_response()
}

/// POST /users/confirm/{token}
pub async fn confirm_with_link(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let token = link_token(token);
    match accounts.confirm_with_link(&token, &meta).await {
        Ok(logged_in) => (
            session_cookie(&accounts, &logged_in),
            Flash::info("Your email address is confirmed. Welcome!"),
            Redirect::to("/"),
        )
            .into_response(),
        Err(err) => refused(
            &err,
            render(
                "auth/confirm_link.html",
                context! { errors => errors_for(&err, &[]), ..page.context() },
            ),
        ),
    }
}
