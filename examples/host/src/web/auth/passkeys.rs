//! Passkeys: the settings page (GET /users/settings/passkeys: list, add, rename, delete; sudo
//! like two-factor settings), logging in with a passkey (the "Log in with a passkey" button
//! and autofill on the login page: POST /users/log_in/passkey/options and
//! POST /users/log_in/passkey), and a passkey as the second factor
//! (POST /users/mfa/passkey/options, POST /users/mfa/passkey).
//!
//! The ceremonies run in `static/sigra/passkeys.js` (loaded only by the pages that need it,
//! no inline script, so the strict CSP holds): it asks an `…/options` endpoint for the
//! WebAuthn options, runs `navigator.credentials.create()`/`get()`, and posts the answer to
//! the finish endpoint. Those endpoints take and answer JSON, carry the CSRF token in the
//! `x-csrf-token` header, and refuse with the one JSON error shape ([`ApiError`]). Renaming
//! and deleting are plain forms. sigra-core decides everything else: sudo, single-use
//! challenges, who owns which passkey, the counter policy.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sigra_core::auth::AuthError;
use sigra_core::passkey::PasskeyChallenge;
use sigra_core::store::Id;
use sigra_core::web::{
    ApiError, ClientMeta, Flash, RequireUser, mfa_trust_cookie, safe_return_to, session_cookie,
    session_cookie_value,
};

use super::{errors_for, server_error};
use crate::accounts::Accounts;
use crate::web::pages::{HtmlForm, format_time};
use crate::web::templates::{Page, render};

/// The settings page's own address, where its forms return.
const PAGE: &str = "/users/settings/passkeys";

/// A JSON request body; a body that is not JSON (or not this shape) is a 4xx [`ApiError`]
/// (`invalid_body`), never a 500.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(body_error(&rejection)),
        }
    }
}

fn body_error(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status();
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "send the body as JSON with Content-Type: application/json".to_owned()
        }
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "the body is too large".to_owned(),
        other => other.body_text(),
    };
    ApiError::new(status, "invalid_body", message)
}

/// The options for the browser: `{"challenge_id": …, "options": …}`.
fn options_json(challenge_id: String, options: serde_json::Value) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "challenge_id": challenge_id, "options": options }))
}

/// A finished ceremony: where the browser goes next.
fn redirect_json(to: &str) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "redirect": to }))
}

/// Adding a passkey (the JSON the script posts).
#[derive(Deserialize)]
pub struct RegisterBody {
    challenge_id: String,
    response: serde_json::Value,
    #[serde(default)]
    nickname: String,
}

/// Logging in, or the second factor, with a passkey (the JSON the script posts).
#[derive(Deserialize)]
pub struct AssertionBody {
    challenge_id: String,
    response: serde_json::Value,
    #[serde(default)]
    remember_me: bool,
    #[serde(default)]
    trust_browser: bool,
    #[serde(default)]
    return_to: String,
}

/// The rename form.
#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    nickname: String,
}

/// Sends people who are not in sudo mode (any more) to confirm their password first.
fn to_sudo() -> Response {
    (
        Flash::info("Confirm your password to continue."),
        Redirect::to("/users/sudo?return_to=/users/settings/passkeys"),
    )
        .into_response()
}

/// GET /users/settings/passkeys
pub async fn index(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    page: Page,
) -> Response {
    if !accounts.in_sudo(&auth) {
        return to_sudo();
    }
    show(&accounts, &auth.user.id, &page, context! {}, StatusCode::OK).await
}

async fn show(
    accounts: &Accounts,
    user: &Id,
    page: &Page,
    extra: minijinja::Value,
    status: StatusCode,
) -> Response {
    match accounts.list_passkeys(user).await {
        Ok(list) => {
            let passkeys: Vec<_> = list
                .iter()
                .map(|p| {
                    context! {
                        id => p.id.to_string(),
                        nickname => p.nickname.clone(),
                        created_at => format_time(p.created_at),
                        last_used_at => p.last_used_at.map(format_time),
                    }
                })
                .collect();
            let html = render(
                "auth/passkeys.html",
                minijinja::value::merge_maps([page.context(), context! { passkeys }, extra]),
            );
            (status, html).into_response()
        }
        Err(err) => server_error(page, &err),
    }
}

/// POST /users/settings/passkeys/options: registration options (sudo).
pub async fn registration_options(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
) -> Result<Json<serde_json::Value>, ApiError> {
    let challenge = accounts.start_passkey_registration(&auth, &meta).await?;
    Ok(options_json(challenge.challenge_id, challenge.options))
}

/// POST /users/settings/passkeys: stores the new passkey (sudo).
pub async fn create(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<Response, ApiError> {
    let record = accounts
        .finish_passkey_registration(
            &auth,
            &body.challenge_id,
            &body.response.to_string(),
            &body.nickname,
            &meta,
        )
        .await?;
    let flash = Flash::info(format!("Passkey “{}” added.", record.nickname));
    Ok((StatusCode::CREATED, flash, redirect_json(PAGE)).into_response())
}

/// The passkey id from the path; anything else is an id of nobody's passkey.
fn passkey_id(id: &str) -> Option<Id> {
    // This app's tables are keyed by UUID; anything else is not one of its passkeys.
    id.parse::<uuid::Uuid>().ok().map(Id::from)
}

/// POST /users/settings/passkeys/{id}/rename
pub async fn rename(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<RenameForm>,
) -> Response {
    let Some(id) = passkey_id(&id) else {
        return (
            Flash::error("That passkey no longer exists."),
            Redirect::to(PAGE),
        )
            .into_response();
    };
    match accounts
        .rename_passkey(&auth, &id, &form.nickname, &meta)
        .await
    {
        Ok(true) => (Flash::info("Passkey renamed."), Redirect::to(PAGE)).into_response(),
        Ok(false) => (
            Flash::error("That passkey no longer exists."),
            Redirect::to(PAGE),
        )
            .into_response(),
        Err(AuthError::SudoRequired) => to_sudo(),
        Err(err) if err.is_client_error() => {
            let errors = errors_for(&err, &[("form", "nickname")]);
            let extra = context! { errors, rename_id => id.to_string() };
            show(
                &accounts,
                &auth.user.id,
                &page,
                extra,
                super::status_for(&err),
            )
            .await
        }
        Err(err) => server_error(&page, &err),
    }
}

/// POST /users/settings/passkeys/{id}/delete
pub async fn delete(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = passkey_id(&id) else {
        return (
            Flash::error("That passkey no longer exists."),
            Redirect::to(PAGE),
        )
            .into_response();
    };
    match accounts.delete_passkey(&auth, &id, &meta).await {
        Ok(true) => (Flash::info("Passkey deleted."), Redirect::to(PAGE)).into_response(),
        Ok(false) => (
            Flash::error("That passkey no longer exists."),
            Redirect::to(PAGE),
        )
            .into_response(),
        Err(AuthError::SudoRequired) => to_sudo(),
        Err(err) => server_error(&page, &err),
    }
}

/// POST /users/log_in/passkey/options: options for the button (`modal`) and for autofill
/// (`mediation: "conditional"`), answered together: `{challenge_id, options}`.
pub async fn login_options(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
) -> Result<Json<serde_json::Value>, ApiError> {
    let challenge: PasskeyChallenge = accounts.start_passkey_login(&meta).await?;
    let modal = challenge.modal_options();
    Ok(Json(serde_json::json!({
        "challenge_id": challenge.challenge_id,
        "options": modal,
        "conditional_options": challenge.options,
    })))
}

/// POST /users/log_in/passkey: a session for the passkey's owner.
pub async fn log_in(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<AssertionBody>,
) -> Result<Response, ApiError> {
    let logged_in = accounts
        .finish_passkey_login(
            &body.challenge_id,
            &body.response.to_string(),
            body.remember_me,
            &meta,
        )
        .await?;
    let to = safe_return_to(&body.return_to).unwrap_or("/").to_owned();
    Ok((
        session_cookie(&accounts, &logged_in),
        Flash::info("You are logged in."),
        redirect_json(&to),
    )
        .into_response())
}

/// POST /users/mfa/passkey/options: options listing the pending login's passkeys.
pub async fn mfa_options(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let cookie = session_cookie_value(&headers, &accounts).unwrap_or_default();
    let challenge = accounts.start_passkey_mfa(&cookie).await?;
    Ok(options_json(challenge.challenge_id, challenge.options))
}

/// POST /users/mfa/passkey: finishes the login's second step with a passkey.
pub async fn mfa(
    State(accounts): State<Accounts>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AssertionBody>,
) -> Result<Response, ApiError> {
    let cookie = session_cookie_value(&headers, &accounts).unwrap_or_default();
    let logged_in = accounts
        .finish_passkey_mfa(
            &cookie,
            &body.challenge_id,
            &body.response.to_string(),
            body.remember_me,
            body.trust_browser,
            &meta,
        )
        .await?;
    let to = safe_return_to(&body.return_to).unwrap_or("/").to_owned();
    Ok((
        session_cookie(&accounts, &logged_in),
        mfa_trust_cookie(&accounts, &logged_in),
        Flash::info("You are logged in."),
        redirect_json(&to),
    )
        .into_response())
}
