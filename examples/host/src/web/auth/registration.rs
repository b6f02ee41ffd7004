//! Registration: GET/POST /users/register.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sigra_core::password::Password;
use sigra_core::web::{ClientMeta, Flash, registration_cookie};

use super::{errors_for, min_password_chars, refused};
use crate::accounts::Accounts;
use crate::web::pages::HtmlForm;
use crate::web::templates::{Page, render};

/// The registration form.
#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// GET /users/register
pub async fn new(State(accounts): State<Accounts>, page: Page) -> Response {
    if page.user.is_some() {
        return Redirect::to("/").into_response();
    }
    render(
        "auth/register.html",
        context! { min_password_chars => min_password_chars(&accounts), ..page.context() },
    )
    .into_response()
}

/// POST /users/register
///
/// Answers the same whether or not the address already has an account: a new account is
/// mailed a confirmation link and code, an existing one's owner is told someone tried. The
/// registration cookie lets this browser keep the password when it confirms.
pub async fn create(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<RegisterForm>,
) -> Response {
    let password = Password::from(form.password);
    match accounts.register(&form.email, &password, &meta).await {
        Ok(proof) => (
            registration_cookie(&accounts, &proof),
            Flash::info(
                "Almost done: if this address can be registered, we have emailed it a link and a \
                 6-digit code. Open the link or enter the code below to confirm your account.",
            ),
            Redirect::to("/users/confirm"),
        )
            .into_response(),
        Err(err) => refused(
            &err,
            render(
                "auth/register.html",
                context! {
                    form => context! { email => form.email },
                    errors => errors_for(&err, &[]),
                    min_password_chars => min_password_chars(&accounts),
                    ..page.context(),
                },
            ),
        ),
    }
}
