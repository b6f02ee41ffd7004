//! Sudo mode: re-entering the password before sensitive changes. GET/POST /users/sudo.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sigra_core::auth::AuthError;
use sigra_core::password::Password;
use sigra_core::web::{
    ClientMeta, Flash, RequireUser, clear_session_cookie, safe_return_to, session_cookie,
};

use super::{errors_for, field_error, refused};
use crate::accounts::Accounts;
use crate::web::pages::HtmlForm;
use crate::web::templates::{Page, render};

/// Where to go once confirmed (`?return_to=/users/settings`).
#[derive(Deserialize)]
pub struct ReturnTo {
    #[serde(default)]
    return_to: String,
}

/// The password form.
#[derive(Deserialize)]
pub struct SudoForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: String,
}

fn sudo_minutes(accounts: &Accounts) -> u64 {
    accounts
        .config()
        .session()
        .sudo_window
        .as_secs()
        .div_ceil(60)
}

/// GET /users/sudo
pub async fn new(
    State(accounts): State<Accounts>,
    RequireUser(_auth): RequireUser,
    page: Page,
    Query(query): Query<ReturnTo>,
) -> Response {
    let return_to = safe_return_to(&query.return_to).unwrap_or("/users/settings");
    render(
        "auth/sudo.html",
        context! { form => context! { return_to }, sudo_minutes => sudo_minutes(&accounts), ..page.context() },
    )
    .into_response()
}

/// POST /users/sudo
pub async fn create(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<SudoForm>,
) -> Response {
    let return_to = safe_return_to(&form.return_to)
        .unwrap_or("/users/settings")
        .to_owned();
    let password = Password::from(form.password);
    match accounts.enter_sudo(&auth, &password, &meta).await {
        Ok(logged_in) => (
            session_cookie(&accounts, &logged_in),
            Flash::info("Password confirmed."),
            Redirect::to(&return_to),
        )
            .into_response(),
        // Too many wrong passwords: the account (for unknown browsers) or this browser is
        // locked, and this session is over.
        Err(AuthError::LockedOut) => (
            clear_session_cookie(&accounts),
            Flash::error(
                "Too many wrong passwords: you have been logged out and the account is locked for a while. We sent its owner an email.",
            ),
            Redirect::to("/users/log_in"),
        )
            .into_response(),
        Err(err) => {
            let errors = match err {
                AuthError::InvalidCredentials => {
                    field_error("password", "That password is not right.")
                }
                _ => errors_for(&err, &[]),
            };
            refused(
                &err,
                render(
                    "auth/sudo.html",
                    context! {
                        form => context! { return_to },
                        errors,
                        sudo_minutes => sudo_minutes(&accounts),
                        ..page.context(),
                    },
                ),
            )
        }
    }
}
