//! Logging in with an emailed link: POST /users/log_in/magic, GET/POST /users/log_in/{token}.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sigra_core::web::{ClientMeta, Flash, session_cookie};

use super::login::log_in_durations;
use super::{errors_for, link_token, refused};
use crate::accounts::Accounts;
use crate::mail::duration_in_words;
use crate::web::pages::HtmlForm;
use crate::web::templates::{Page, render};

/// The "send me a login link" form.
#[derive(Deserialize)]
pub struct MagicLinkForm {
    #[serde(default)]
    email: String,
}

/// POST /users/log_in/magic
///
/// Answers the same whether or not the address has an account.
pub async fn create(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<MagicLinkForm>,
) -> Response {
    match accounts.request_magic_link(&form.email, &meta).await {
        Ok(()) => {
            let valid_for = duration_in_words(accounts.config().tokens().magic_link_ttl);
            (
                Flash::info(format!(
                    "If that email address has an account, a login link is on its way. \
                     It works once, within {valid_for}."
                )),
                Redirect::to("/users/log_in"),
            )
                .into_response()
        }
        Err(err) => refused(
            &err,
            render(
                "auth/log_in.html",
                context! {
                    form => context! { magic_email => form.email },
                    errors => errors_for(&err, &[("email", "magic_email"), ("form", "magic_form")]),
                    durations => log_in_durations(&accounts),
                    ..page.context(),
                },
            ),
        ),
    }
}

/// GET /users/log_in/{token}
///
/// Shows a button instead of logging in at once: mail scanners that open every link must
/// not use the link up (or log anyone in).
pub async fn show(page: Page) -> Response {
    // The form posts back to this very URL, token included.
    render("auth/magic_link.html", page.context()).into_response()
}

/// POST /users/log_in/{token}
pub async fn log_in(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let token = link_token(token);
    match accounts.log_in_with_magic_link(&token, &meta).await {
        // Into an account that was never confirmed, the link confirmed it and removed the
        // password set before (nobody showed they chose it): the owner chooses one now.
        Ok(logged_in) if logged_in.mfa_required() => (
            session_cookie(&accounts, &logged_in),
            Redirect::to("/users/mfa"),
        )
            .into_response(),
        Ok(logged_in) if logged_in.needs_password() => (
            session_cookie(&accounts, &logged_in),
            Flash::info("You are logged in. Choose a password to log in with next time."),
            Redirect::to("/users/settings#password"),
        )
            .into_response(),
        Ok(logged_in) => (
            session_cookie(&accounts, &logged_in),
            Flash::info("Welcome back! You are logged in."),
            Redirect::to("/"),
        )
            .into_response(),
        Err(err) => refused(
            &err,
            render(
                "auth/magic_link.html",
                context! { errors => errors_for(&err, &[]), ..page.context() },
            ),
        ),
    }
}
