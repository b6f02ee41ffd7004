//! Password login and logout: GET/POST /users/log_in, GET/POST /users/log_out.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Value;
use serde::Deserialize;
use sigra_core::auth::LoginAttempt;
use sigra_core::password::Password;
use sigra_core::web::{
    ClientMeta, Flash, clear_session_cookie, device_cookie, safe_return_to, session_cookie,
    session_cookie_value,
};

use super::{errors_for, field_error, refused, unprocessable};
use crate::accounts::Accounts;
use crate::mail::duration_in_words;
use crate::web::pages::HtmlForm;
use crate::web::templates::{Page, render};

/// Where to go after logging in (`?return_to=/path`, set by pages that need a login).
#[derive(Deserialize)]
pub struct ReturnTo {
    #[serde(default)]
    return_to: String,
}

/// The login form.
#[derive(Deserialize)]
pub struct LogInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    remember_me: String,
    #[serde(default)]
    return_to: String,
}

/// The login page's `durations`, from the configuration: how long "remember me" keeps a
/// device logged in, and how long a login link works.
pub fn log_in_durations(accounts: &Accounts) -> Value {
    let config = accounts.config();
    context! {
        remember_me_for => duration_in_words(config.session().remember_me_absolute_timeout),
        magic_link_valid_for => duration_in_words(config.tokens().magic_link_ttl),
    }
}

/// GET /users/log_in
pub async fn new(
    State(accounts): State<Accounts>,
    page: Page,
    Query(query): Query<ReturnTo>,
) -> Response {
    let return_to = safe_return_to(&query.return_to).unwrap_or("/");
    if page.user.is_some() {
        return Redirect::to(return_to).into_response();
    }
    render(
        "auth/log_in.html",
        context! {
            form => context! { return_to },
            durations => log_in_durations(&accounts),
            ..page.context(),
        },
    )
    .into_response()
}

/// POST /users/log_in
///
/// An unknown email, a wrong password and a locked account all get the same answer after
/// the same amount of work. A successful login also sets the device cookie: this browser
/// then stays out of a lock that other browsers' failures put on the account.
pub async fn create(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<LogInForm>,
) -> Response {
    let password = Password::from(form.password);
    let remember_me = matches!(form.remember_me.as_str(), "true" | "on");
    let return_to = safe_return_to(&form.return_to).unwrap_or("/").to_owned();
    let rerender = |errors| {
        render(
            "auth/log_in.html",
            context! {
                form => context! { email => form.email.clone(), remember_me, return_to => return_to.clone() },
                errors,
                durations => log_in_durations(&accounts),
                ..page.context(),
            },
        )
    };
    match accounts
        .log_in(&form.email, &password, remember_me, &meta)
        .await
    {
        // The password was right; the second factor is still due.
        Ok(LoginAttempt::Success(logged_in)) if logged_in.mfa_required() => (
            session_cookie(&accounts, &logged_in),
            device_cookie(&accounts, &logged_in),
            Redirect::to(&super::mfa::mfa_path(remember_me, &return_to)),
        )
            .into_response(),
        Ok(LoginAttempt::Success(logged_in)) => (
            session_cookie(&accounts, &logged_in),
            device_cookie(&accounts, &logged_in),
            Redirect::to(&return_to),
        )
            .into_response(),
        // `Failed`: an unknown email, a wrong password, a locked account get one answer.
        Ok(_) => unprocessable(rerender(field_error("form", "Invalid email or password."))),
        Err(err) => refused(
            &err,
            rerender(errors_for(&err, &[("email", "form"), ("password", "form")])),
        ),
    }
}

/// GET /users/log_out: a page with a "Log out" button, for a typed or followed link. Logging
/// out changes state, so it is a POST with the CSRF token, never a GET.
pub async fn confirm_log_out(page: Page) -> Response {
    render("auth/log_out.html", page.context()).into_response()
}

/// POST /users/log_out
pub async fn delete(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = session_cookie_value(&headers, &accounts)
        && let Err(err) = accounts.log_out(&token, &meta).await
    {
        tracing::error!("log out failed: {err}");
    }
    (
        clear_session_cookie(&accounts),
        Flash::info("You are logged out."),
        Redirect::to("/"),
    )
        .into_response()
}
