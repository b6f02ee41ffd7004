//! One JSON error shape for every API error, and the small HTML pages the layers answer
//! with.

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;

/// An API error: a status, a stable machine-readable `code` and a message safe to show.
///
/// It answers `{"error":{"code":"…","message":"…"}}` with `Content-Type: application/json`.
/// Every [`AuthError`] converts into one (see the table on [`From<AuthError>`](#impl-From%3CAuthError%3E-for-ApiError));
/// the layers and extractors of this module answer API requests with the same shape
/// (`unauthenticated`, `sudo_required`, `csrf`, `rate_limited`, `body_too_large`, …).
///
/// ```
/// use axum::http::StatusCode;
/// use axum::response::IntoResponse;
/// use sigra_core::auth::AuthError;
/// use sigra_core::web::ApiError;
///
/// let err = ApiError::from(AuthError::InvalidCredentials);
/// assert_eq!((err.status, err.code), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
/// assert_eq!(
///     err.to_json().to_string(),
///     r#"{"error":{"code":"invalid_credentials","message":"invalid email or password"}}"#
/// );
/// let custom = ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such thing");
/// assert_eq!(custom.into_response().status(), StatusCode::NOT_FOUND);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable snake_case code clients may match on.
    pub code: &'static str,
    /// A human-readable message, safe to show (never a secret or an internal detail).
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// let e = sigra_core::web::ApiError::new(StatusCode::CONFLICT, "taken", "that name is taken");
    /// assert_eq!(e.code, "taken");
    /// ```
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The body as a JSON value: `{"error":{"code":…,"message":…}}`.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// let e = sigra_core::web::ApiError::new(StatusCode::FORBIDDEN, "csrf", "refused");
    /// assert_eq!(e.to_json()["error"]["code"], "csrf");
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } })
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong; try again",
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_else(|_| {
            br#"{"error":{"code":"internal","message":"something went wrong; try again"}}"#.to_vec()
        });
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Maps every flow error to a status and a code:
///
/// | variant | status | code |
/// |---|---|---|
/// | `InvalidEmail` | 422 | `invalid_email` |
/// | `WeakPassword` | 422 | `weak_password` |
/// | `InvalidCredentials` | 401 | `invalid_credentials` |
/// | `InvalidToken` | 400 | `invalid_token` |
/// | `InvalidCode` | 422 | `invalid_code` |
/// | `TooManyAttempts` | 429 | `too_many_attempts` |
/// | `SudoRequired` | 403 | `sudo_required` |
/// | `Unconfirmed` | 403 | `unconfirmed` |
/// | `SameEmail` | 422 | `same_email` |
/// | `EmailTaken` | 409 | `email_taken` |
/// | `SessionExpired` | 401 | `session_expired` |
/// | `LockedOut` | 401 | `locked_out` (clear the cookie first; the notice is in the outbox) |
/// | `Store`, `Internal` | 500 | `internal` (details logged, never sent) |
/// | `Passkey(MalformedResponse)` | 400 | `passkey_malformed` |
/// | `Passkey(ChallengeInvalid)` | 400 | `passkey_challenge_invalid` |
/// | `Passkey(Rejected)` | 401 | `passkey_rejected` |
/// | `Passkey(SignCountRegression)` | 401 | `passkey_sign_count_regression` |
/// | `Passkey(Revoked)` | 401 | `passkey_revoked` |
/// | `Passkey(AlreadyRegistered)` | 409 | `passkey_already_registered` |
/// | `Passkey(InvalidNickname)` | 422 | `invalid_nickname` |
/// | `Passkey(NoPasskeys)` | 422 | `no_passkeys` |
/// | `Passkey(NotInstalled)` | 404 | `passkeys_not_installed` |
/// | `Passkey(Config)`, `Passkey(Internal)` | 500 | `internal` |
///
/// The message is the error's `Display`, which every variant words to be safe to show.
impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let (status, code) = match &err {
            AuthError::InvalidEmail => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email"),
            AuthError::WeakPassword(_) => (StatusCode::UNPROCESSABLE_ENTITY, "weak_password"),
            AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            AuthError::InvalidToken => (StatusCode::BAD_REQUEST, "invalid_token"),
            AuthError::InvalidCode => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_code"),
            AuthError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
            AuthError::SudoRequired => (StatusCode::FORBIDDEN, "sudo_required"),
            AuthError::Unconfirmed => (StatusCode::FORBIDDEN, "unconfirmed"),
            AuthError::SameEmail => (StatusCode::UNPROCESSABLE_ENTITY, "same_email"),
            AuthError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            AuthError::SessionExpired => (StatusCode::UNAUTHORIZED, "session_expired"),
            AuthError::LockedOut => (StatusCode::UNAUTHORIZED, "locked_out"),
            AuthError::Passkey(passkey) => match passkey_status(passkey) {
                Some(status_code) => status_code,
                None => {
                    tracing::error!(target: "sigra::web", error = %err, detail = ?err, "request failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal")
                }
            },
            AuthError::MfaAlreadyEnabled => (StatusCode::CONFLICT, "mfa_already_enabled"),
            AuthError::MfaNotEnabled => (StatusCode::CONFLICT, "mfa_not_enabled"),
            AuthError::MfaNotPending => (StatusCode::CONFLICT, "mfa_not_pending"),
            AuthError::Store(_) | AuthError::Internal(_) => {
                tracing::error!(target: "sigra::web", error = %err, detail = ?err, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        Self::new(status, code, err.to_string())
    }
}

/// The status and code of a refused passkey ceremony; `None` for server failures.
fn passkey_status(err: &crate::passkey::PasskeyError) -> Option<(StatusCode, &'static str)> {
    use crate::passkey::PasskeyError as E;
    Some(match err {
        E::MalformedResponse => (StatusCode::BAD_REQUEST, "passkey_malformed"),
        E::ChallengeInvalid => (StatusCode::BAD_REQUEST, "passkey_challenge_invalid"),
        E::Rejected => (StatusCode::UNAUTHORIZED, "passkey_rejected"),
        E::SignCountRegression => (StatusCode::UNAUTHORIZED, "passkey_sign_count_regression"),
        E::Revoked => (StatusCode::UNAUTHORIZED, "passkey_revoked"),
        E::AlreadyRegistered => (StatusCode::CONFLICT, "passkey_already_registered"),
        E::InvalidNickname => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_nickname"),
        E::NoPasskeys => (StatusCode::UNPROCESSABLE_ENTITY, "no_passkeys"),
        E::NotInstalled => (StatusCode::NOT_FOUND, "passkeys_not_installed"),
        E::Config(_) | E::Internal(_) => return None,
    })
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A minimal HTML page for the layers' own refusals (CSRF, rate limit, oversized body).
pub(crate) fn html_error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{message}</p></body></html>\n",
        title = escape_html(title),
        message = escape_html(message),
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Answers with `api` as JSON or as an HTML page.
pub(crate) fn respond(api: bool, error: ApiError, title: &str) -> Response {
    if api {
        error.into_response()
    } else {
        html_error(error.status, title, &error.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordError;
    use crate::store::StoreError;

    fn every_variant() -> Vec<AuthError> {
        vec![
            AuthError::InvalidEmail,
            AuthError::WeakPassword(PasswordError::TooLong { max_bytes: 1024 }),
            AuthError::InvalidCredentials,
            AuthError::InvalidToken,
            AuthError::InvalidCode,
            AuthError::TooManyAttempts {
                retry_after: std::time::Duration::from_secs(120),
            },
            AuthError::SudoRequired,
            AuthError::Unconfirmed,
            AuthError::SameEmail,
            AuthError::EmailTaken,
            AuthError::SessionExpired,
            AuthError::MfaAlreadyEnabled,
            AuthError::MfaNotEnabled,
            AuthError::MfaNotPending,
            AuthError::Store(StoreError::backend("connection reset by 10.0.0.5")),
            AuthError::Internal("argon2 exploded".into()),
        ]
    }

    #[tokio::test]
    async fn every_auth_error_has_a_status_code_and_safe_json() {
        let expected = [
            (422, "invalid_email"),
            (422, "weak_password"),
            (401, "invalid_credentials"),
            (400, "invalid_token"),
            (422, "invalid_code"),
            (429, "too_many_attempts"),
            (403, "sudo_required"),
            (403, "unconfirmed"),
            (422, "same_email"),
            (409, "email_taken"),
            (401, "session_expired"),
            (409, "mfa_already_enabled"),
            (409, "mfa_not_enabled"),
            (409, "mfa_not_pending"),
            (500, "internal"),
            (500, "internal"),
        ];
        for (err, (status, code)) in every_variant().into_iter().zip(expected) {
            let shown = err.to_string();
            let api = ApiError::from(err);
            assert_eq!(api.status.as_u16(), status, "{code}");
            assert_eq!(api.code, code);
            assert_eq!(api.message, shown);
            let response = api.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["error"]["code"], code);
            assert_eq!(json["error"]["message"], shown.as_str());
            assert_eq!(json.as_object().unwrap().len(), 1);
            assert_eq!(json["error"].as_object().unwrap().len(), 2);
            let text = String::from_utf8_lossy(&body);
            assert!(!text.contains("10.0.0.5") && !text.contains("argon2"));
        }
    }

    #[test]
    fn html_pages_escape_their_text() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let page = html_error(StatusCode::FORBIDDEN, "T<", "m>");
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        assert!(
            page.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}
