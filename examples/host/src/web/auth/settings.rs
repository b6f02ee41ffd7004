//! Account settings: GET /users/settings, POST /users/settings/email,
//! POST /users/settings/password, GET/POST /users/settings/confirm_email/{token}.
//!
//! Changing the email address or the password needs sudo mode (the password entered in the
//! last few minutes); the page sends people to /users/sudo first when they are not in it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::{Value, merge_maps};
use serde::Deserialize;
use sigra_core::auth::{AuthError, Authenticated};
use sigra_core::password::Password;
use sigra_core::web::{ClientMeta, Flash, RequireUser, session_cookie};

use super::{errors_for, field_error, link_token, min_password_chars, refused, unprocessable};
use crate::accounts::Accounts;
use crate::web::pages::{HtmlForm, format_time};
use crate::web::templates::{Page, render};

/// The email change form.
#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// The password change form.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

fn settings_page(
    accounts: &Accounts,
    auth: &Authenticated,
    page: &Page,
    extra: Value,
) -> axum::response::Html<String> {
    let settings = context! {
        in_sudo => accounts.in_sudo(auth),
        min_password_chars => min_password_chars(accounts),
        password_changed => auth.user.password_changed_at.map(format_time),
    };
    // Later maps win: the form's own values over the page's.
    render(
        "auth/settings.html",
        merge_maps([page.context(), settings, extra]),
    )
}

/// Sends people who are not in sudo mode (any more) to confirm their password.
fn to_sudo() -> Response {
    (
        Flash::info("Confirm your password to continue."),
        Redirect::to("/users/sudo?return_to=/users/settings"),
    )
        .into_response()
}

/// GET /users/settings
pub async fn edit(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    page: Page,
) -> Response {
    settings_page(&accounts, &auth, &page, context! {}).into_response()
}

/// POST /users/settings/email
pub async fn update_email(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<EmailForm>,
) -> Response {
    match accounts
        .request_email_change(&auth, &form.email, &meta)
        .await
    {
        Ok(()) => (
            Flash::info(format!(
                "We sent a link to {}. Your email address changes when you open it.",
                form.email.trim()
            )),
            Redirect::to("/users/settings"),
        )
            .into_response(),
        Err(AuthError::SudoRequired) => to_sudo(),
        Err(err) => refused(
            &err,
            settings_page(
                &accounts,
                &auth,
                &page,
                context! {
                    form => context! { email => form.email },
                    errors => errors_for(&err, &[("form", "email_form")]),
                },
            ),
        ),
    }
}

/// POST /users/settings/password
///
/// Logs out every other session and mails a notice.
pub async fn update_password(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<PasswordForm>,
) -> Response {
    if !accounts.in_sudo(&auth) {
        return to_sudo();
    }
    if form.password != form.password_confirmation {
        return unprocessable(settings_page(
            &accounts,
            &auth,
            &page,
            context! { errors => field_error("password_confirmation", "The two passwords do not match.") },
        ));
    }
    let password = Password::from(form.password);
    match accounts.change_password(&auth, &password, &meta).await {
        Ok(logged_in) => (
            session_cookie(&accounts, &logged_in),
            Flash::info("Your password is changed. Your other sessions were logged out."),
            Redirect::to("/users/settings"),
        )
            .into_response(),
        Err(AuthError::SudoRequired) => to_sudo(),
        Err(err) => refused(
            &err,
            settings_page(
                &accounts,
                &auth,
                &page,
                context! { errors => errors_for(&err, &[("form", "password_form")]) },
            ),
        ),
    }
}

/// GET /users/settings/confirm_email/{token}
///
/// Shows a button: mail scanners that open every link must not use the link up.
pub async fn show_confirm_email(RequireUser(_auth): RequireUser, page: Page) -> Response {
    // The form posts back to this very URL, token included.
    render("auth/confirm_email_change.html", page.context()).into_response()
}

/// POST /users/settings/confirm_email/{token}
///
/// Switches to the new address, logs out every other session and tells the old address.
pub async fn confirm_email(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let token = link_token(token);
    match accounts.confirm_email_change(&auth, &token, &meta).await {
        Ok(user) => (
            Flash::info(format!("Your email address is now {}.", user.email)),
            Redirect::to("/users/settings"),
        )
            .into_response(),
        Err(err) => refused(
            &err,
            render(
                "auth/confirm_email_change.html",
                context! { errors => errors_for(&err, &[("email", "form")]), ..page.context() },
            ),
        ),
    }
}
