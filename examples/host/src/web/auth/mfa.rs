//! The second step of a login with two-factor authentication: GET /users/mfa, POST /users/mfa.
//!
//! A login whose account has MFA on holds an `mfa_pending` session for a few minutes: it
//! opens nothing but this page. A code from the authenticator app or a backup code replaces
//! it with a real session (a new cookie); "trust this browser" skips this step here for a
//! while.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sigra_core::auth::AuthError;
use sigra_core::web::{
    ClientMeta, Flash, clear_session_cookie, location_with, mfa_trust_cookie, safe_return_to,
    session_cookie, session_cookie_value,
};

use super::{errors_for, refused, server_error};
use crate::accounts::Accounts;
use crate::web::pages::HtmlForm;
use crate::web::templates::{Page, render};

/// What the login carried over to this step.
#[derive(Deserialize)]
pub struct MfaQuery {
    #[serde(default)]
    remember_me: String,
    #[serde(default)]
    return_to: String,
}

/// The code form.
#[derive(Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    trust_browser: String,
    #[serde(default)]
    remember_me: String,
    #[serde(default)]
    return_to: String,
}

fn checked(value: &str) -> bool {
    matches!(value, "true" | "on")
}

/// Where a login goes when MFA is due, carrying "remember me" and the page asked for.
pub fn mfa_path(remember_me: bool, return_to: &str) -> String {
    let return_to = if return_to == "/" { "" } else { return_to };
    let remember_me = if remember_me { "true" } else { "" };
    location_with(
        "/users/mfa",
        &[("remember_me", remember_me), ("return_to", return_to)],
    )
}

/// Back to the login form: the pending session expired, was used, or never existed.
fn start_again(accounts: &Accounts) -> Response {
    (
        clear_session_cookie(accounts),
        Flash::error("Your login expired; log in again."),
        Redirect::to("/users/log_in"),
    )
        .into_response()
}

fn trust_days(accounts: &Accounts) -> u64 {
    accounts.config().mfa().trust_ttl.as_secs() / 86_400
}

/// Whether to offer "Use a passkey" (a failed read just leaves it out).
async fn has_passkeys(accounts: &Accounts, user: &sigra_core::store::Id) -> bool {
    accounts
        .list_passkeys(user)
        .await
        .is_ok_and(|list| !list.is_empty())
}

/// GET /users/mfa
pub async fn new(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    page: Page,
    Query(query): Query<MfaQuery>,
) -> Response {
    let return_to = safe_return_to(&query.return_to).unwrap_or("/");
    if page.user.is_some() {
        return Redirect::to(return_to).into_response();
    }
    let Some(cookie) = session_cookie_value(&headers, &accounts) else {
        return start_again(&accounts);
    };
    match accounts.pending_mfa(&cookie).await {
        Ok(Some(pending)) => render(
            "auth/mfa.html",
            context! {
                form => context! { remember_me => checked(&query.remember_me), return_to },
                trust_days => trust_days(&accounts),
                has_passkeys => has_passkeys(&accounts, &pending.user.id).await,
                ..page.context(),
            },
        )
        .into_response(),
        Ok(None) => start_again(&accounts),
        Err(err) => server_error(&page, &err),
    }
}

/// POST /users/mfa
pub async fn create(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    page: Page,
    HtmlForm(form): HtmlForm<MfaForm>,
) -> Response {
    let return_to = safe_return_to(&form.return_to).unwrap_or("/").to_owned();
    let remember_me = checked(&form.remember_me);
    let Some(cookie) = session_cookie_value(&headers, &accounts) else {
        return start_again(&accounts);
    };
    match accounts
        .verify_mfa(
            &cookie,
            &form.code,
            remember_me,
            checked(&form.trust_browser),
            &meta,
        )
        .await
    {
        Ok(logged_in) => {
            let flash = match logged_in.backup_codes_left {
                Some(0) => Flash::error(
                    "That was your last backup code: make new ones in your two-factor settings.",
                ),
                Some(left) if left < accounts.config().mfa().backup_codes_warn_below => {
                    Flash::error(format!(
                        "Only {left} backup codes are left: make new ones in your two-factor settings."
                    ))
                }
                _ => Flash::info("You are logged in."),
            };
            (
                session_cookie(&accounts, &logged_in),
                mfa_trust_cookie(&accounts, &logged_in),
                flash,
                Redirect::to(&return_to),
            )
                .into_response()
        }
        Err(AuthError::SessionExpired) => start_again(&accounts),
        Err(err) => {
            let has_passkeys = match accounts.pending_mfa(&cookie).await {
                Ok(Some(pending)) => has_passkeys(&accounts, &pending.user.id).await,
                _ => false,
            };
            refused(
                &err,
                render(
                    "auth/mfa.html",
                    context! {
                        form => context! {
                            remember_me,
                            trust_browser => checked(&form.trust_browser),
                            return_to,
                        },
                        trust_days => trust_days(&accounts),
                        has_passkeys,
                        errors => errors_for(&err, &[]),
                        ..page.context(),
                    },
                ),
            )
        }
    }
}
