//! Confirming the email address: by code (GET/POST /users/confirm), by link
//! (GET/POST /users/confirm/{token}), and asking for a new link and code
//! (POST /users/confirm/resend).
//!
//! Whoever proves the mailbox wins: confirming ends every other session of the account, and
//! the password chosen at registration is kept only in the browser that registered (it holds
//! the registration cookie) or when the confirmer types it. Otherwise the account is
//! confirmed without a password and the owner is sent to set one.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sigra_core::auth::{AuthError, ConfirmEvidence, LoggedIn};
use sigra_core::password::Password;
use sigra_core::web::{
    ClientMeta, Flash, clear_registration_cookie, registration_cookie_value, session_cookie,
};

use super::{errors_for, field_error, link_token, refused};
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
    /// Asked for only in a browser without the registration cookie.
    #[serde(default)]
    password: String,
}

/// The link form: the button, and the password in a browser that did not register.
#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    password: String,
}

/// What this browser shows about the password chosen at registration.
fn evidence(accounts: &Accounts, headers: &HeaderMap, password: String) -> ConfirmEvidence {
    ConfirmEvidence::none()
        .registration(registration_cookie_value(headers, accounts))
        .password(Some(Password::from(password)))
}

/// The errors for a refused confirmation: a wrong typed password gets its own sentence.
fn confirm_errors(err: &AuthError) -> minijinja::Value {
    match err {
        AuthError::InvalidCredentials => field_error(
            "password",
            "That is not the password this account was registered with. Leave it empty to \
             choose a new one after confirming.",
        ),
        err => errors_for(err, &[]),
    }
}

/// Logged in after confirming: to the home page, or to the settings to choose a password
/// when the one set at registration was not kept.
fn confirmed(accounts: &Accounts, logged_in: &LoggedIn) -> Response {
    let (flash, to) = if logged_in.mfa_required() {
        (
            Flash::info("Your email address is confirmed. Enter your two-factor code to continue."),
            "/users/mfa",
        )
    } else if logged_in.needs_password() {
        (
            Flash::info(
                "Your email address is confirmed. Choose a password to log in with next time.",
            ),
            "/users/settings#password",
        )
    } else {
        (
            Flash::info("Your email address is confirmed. Welcome!"),
            "/",
        )
    };
    (
        clear_registration_cookie(accounts),
        session_cookie(accounts, logged_in),
        flash,
        Redirect::to(to),
    )
        .into_response()
}

/// The "send a new link and code" form.
#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    email: String,
}

/// GET /users/confirm
pub async fn new(State(accounts): State<Accounts>, headers: HeaderMap, page: Page) -> Response {
    let email = page.user.as_ref().map(|user| user.email.clone());
    let ask_password = registration_cookie_value(&headers, &accounts).is_none();
    render(
        "auth/confirm.html",
        context! {
            form => context! { email => email.clone(), resend_email => email },
            ask_password,
            ..page.context()
        },
    )
    .into_response()
}

/// POST /users/confirm
pub async fn confirm_with_code(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    page: Page,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Response {
    let ask_password = registration_cookie_value(&headers, &accounts).is_none();
    let evidence = evidence(&accounts, &headers, form.password);
    match accounts
        .confirm_with_code(&form.email, &form.code, evidence, &meta)
        .await
    {
        Ok(logged_in) => confirmed(&accounts, &logged_in),
        Err(err) => refused(
            &err,
            render(
                "auth/confirm.html",
                context! {
                    form => context! { email => form.email.clone(), code => form.code, resend_email => form.email },
                    errors => confirm_errors(&err),
                    ask_password,
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
/// Shows a button: mail scanners that open every link must not use the link up. A browser
/// without the registration cookie is also offered the password field.
pub async fn show(State(accounts): State<Accounts>, headers: HeaderMap, page: Page) -> Response {
    let ask_password = registration_cookie_value(&headers, &accounts).is_none();
    // The form posts back to this very URL, token included.
    render(
        "auth/confirm_link.html",
        context! { ask_password, ..page.context() },
    )
    .into_response()
}

/// POST /users/confirm/{token}
pub async fn confirm_with_link(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    page: Page,
    token: Result<Path<String>, PathRejection>,
    HtmlForm(form): HtmlForm<LinkForm>,
) -> Response {
    let token = link_token(token);
    let ask_password = registration_cookie_value(&headers, &accounts).is_none();
    let evidence = evidence(&accounts, &headers, form.password);
    match accounts.confirm_with_link(&token, evidence, &meta).await {
        Ok(logged_in) => confirmed(&accounts, &logged_in),
        Err(err) => refused(
            &err,
            render(
                "auth/confirm_link.html",
                context! { errors => confirm_errors(&err), ask_password, ..page.context() },
            ),
        ),
    }
}
