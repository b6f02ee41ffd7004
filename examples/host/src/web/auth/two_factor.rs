//! Two-factor settings: GET /users/settings/two_factor, POST /users/settings/two_factor/enroll,
//! POST /users/settings/two_factor/confirm, POST /users/settings/two_factor/backup_codes,
//! POST /users/settings/two_factor/disable, POST /users/settings/two_factor/forget_browsers.
//!
//! The page and every change on it need sudo mode (the password entered in the last few
//! minutes), except confirming an enrolment, which needs the session that started it and a
//! code from the authenticator app. Backup codes are shown once, on the page that made them.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::{Value, merge_maps};
use serde::Deserialize;
use sigra_core::auth::{AuthError, Authenticated, BackupCodes, TotpEnrollment};
use sigra_core::web::{ClientMeta, Flash, RequireUser};

use super::{errors_for, refused, server_error};
use crate::accounts::Accounts;
use crate::web::pages::{HtmlForm, format_time};
use crate::web::templates::{Page, render};

/// The page's own address, where every form here returns.
const PAGE: &str = "/users/settings/two_factor";

/// The enrolment confirmation form.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Sends people who are not in sudo mode (any more) to confirm their password first.
fn to_sudo() -> Response {
    (
        Flash::info("Confirm your password to continue."),
        Redirect::to("/users/sudo?return_to=/users/settings/two_factor"),
    )
        .into_response()
}

/// The enrolment's secret, URI and QR code for the page.
fn enrollment_context(enrollment: &TotpEnrollment) -> Value {
    context! {
        secret => enrollment.secret(),
        uri => enrollment.uri(),
        // An SVG document sigra-core drew: no script, no external reference.
        qr_svg => Value::from_safe_string(enrollment.qr_svg().to_owned()),
    }
}

/// The backup codes for the page, with the text the download link carries.
fn codes_context(accounts: &Accounts, codes: &BackupCodes) -> Value {
    context! {
        codes => codes.codes().into_iter().map(str::to_owned).collect::<Vec<_>>(),
        download_href => codes.data_url(&accounts.config().mfa().issuer),
    }
}

/// Renders the page with MFA's current status, merged with `extra`.
async fn two_factor_page(
    accounts: &Accounts,
    auth: &Authenticated,
    page: &Page,
    extra: Value,
) -> Result<axum::response::Html<String>, AuthError> {
    let status = accounts.mfa_status(&auth.user.id).await?;
    let enrollment = match status.pending {
        true => accounts
            .pending_totp_enrollment(auth)
            .await?
            .map(|e| enrollment_context(&e)),
        false => None,
    };
    let mfa = context! {
        enabled => status.enabled(),
        enabled_at => status.enabled_at.map(format_time),
        backup_codes_left => status.backup_codes_left,
        backup_codes_low => status.backup_codes_low,
        trust_days => accounts.config().mfa().trust_ttl.as_secs() / 86_400,
    };
    Ok(render(
        "auth/two_factor.html",
        merge_maps([page.context(), context! { mfa, enrollment }, extra]),
    ))
}

/// Shows the page, or the error page when the database failed.
async fn show(accounts: &Accounts, auth: &Authenticated, page: &Page, extra: Value) -> Response {
    match two_factor_page(accounts, auth, page, extra).await {
        Ok(html) => html.into_response(),
        Err(err) => server_error(page, &err),
    }
}

/// GET /users/settings/two_factor
pub async fn edit(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    page: Page,
) -> Response {
    if !accounts.in_sudo(&auth) {
        return to_sudo();
    }
    show(&accounts, &auth, &page, context! {}).await
}

/// POST /users/settings/two_factor/enroll: a fresh secret, shown as a QR code and as text.
pub async fn enroll(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
) -> Response {
    match accounts.start_totp_enrollment(&auth, &meta).await {
        // The page reads the pending enrolment back: a reload shows the same secret.
        Ok(_) => Redirect::to(PAGE).into_response(),
        Err(AuthError::SudoRequired) => to_sudo(),
        Err(AuthError::MfaAlreadyEnabled) => Redirect::to(PAGE).into_response(),
        Err(err) => server_error(&page, &err),
    }
}

/// POST /users/settings/two_factor/confirm: the first code turns MFA on; the backup codes
/// are shown once.
pub async fn confirm(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Response {
    match accounts
        .finish_totp_enrollment(&auth, &form.code, &meta)
        .await
    {
        Ok(codes) => {
            let codes = codes_context(&accounts, &codes);
            let done = context! {
                backup_codes => codes,
                flash_info => "Two-factor authentication is on.",
            };
            show(&accounts, &auth, &page, done).await
        }
        Err(AuthError::MfaNotPending) => (
            Flash::error("Start setting up two-factor authentication again."),
            Redirect::to(PAGE),
        )
            .into_response(),
        Err(err) => match two_factor_page(
            &accounts,
            &auth,
            &page,
            context! { errors => errors_for(&err, &[]) },
        )
        .await
        {
            Ok(html) => refused(&err, html),
            Err(err) => server_error(&page, &err),
        },
    }
}

/// POST /users/settings/two_factor/backup_codes: a new set; the old codes stop working.
pub async fn regenerate(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
) -> Response {
    match accounts.regenerate_backup_codes(&auth, &meta).await {
        Ok(codes) => {
            let codes = codes_context(&accounts, &codes);
            let done = context! {
                backup_codes => codes,
                flash_info => "New backup codes are ready; the old ones no longer work.",
            };
            show(&accounts, &auth, &page, done).await
        }
        Err(AuthError::SudoRequired) => to_sudo(),
        Err(AuthError::MfaNotEnabled) => Redirect::to(PAGE).into_response(),
        Err(err) => server_error(&page, &err),
    }
}

/// POST /users/settings/two_factor/disable
pub async fn disable(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
) -> Response {
    match accounts.disable_mfa(&auth, &meta).await {
        Ok(()) => (
            Flash::info("Two-factor authentication is off."),
            Redirect::to(PAGE),
        )
            .into_response(),
        Err(AuthError::SudoRequired) => to_sudo(),
        Err(AuthError::MfaNotEnabled) => Redirect::to(PAGE).into_response(),
        Err(err) => server_error(&page, &err),
    }
}

/// POST /users/settings/two_factor/forget_browsers: every browser asks for a code again.
pub async fn forget_browsers(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
) -> Response {
    match accounts.forget_trusted_browsers(&auth, &meta).await {
        Ok(()) => (
            Flash::info("Every browser will ask for a code at the next login."),
            Redirect::to(PAGE),
        )
            .into_response(),
        Err(AuthError::MfaNotEnabled) => Redirect::to(PAGE).into_response(),
        Err(err) => server_error(&page, &err),
    }
}
