//! The sessions page: GET /users/sessions, POST /users/sessions/{id}/revoke,
//! POST /users/sessions/revoke_others.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use sigra_core::store::{Id, SessionKind};
use sigra_core::web::{ClientMeta, Flash, RequireUser};
use uuid::Uuid;

use super::server_error;
use crate::accounts::Accounts;
use crate::web::pages::{error_page, format_time, iso_time};
use crate::web::templates::{Page, render};

/// GET /users/sessions
pub async fn index(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    page: Page,
) -> Response {
    let sessions = match accounts.list_sessions(&auth.user.id).await {
        Ok(sessions) => sessions,
        Err(err) => return server_error(&page, &err),
    };
    let sessions: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            context! {
                id => session.id.to_string(),
                current => session.id == auth.session.id,
                device => describe_device(session.user_agent.as_deref()),
                ip => session.ip,
                remember_me => session.kind == SessionKind::RememberMe,
                last_active => format_time(session.last_active_at),
                last_active_iso => iso_time(session.last_active_at),
                created => format_time(session.created_at),
                created_iso => iso_time(session.created_at),
            }
        })
        .collect();
    render(
        "auth/sessions.html",
        context! { sessions, ..page.context() },
    )
    .into_response()
}

/// POST /users/sessions/{id}/revoke
pub async fn revoke(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    // This app's tables are keyed by UUID; anything else is not one of its sessions.
    let Ok(id) = id.parse::<Uuid>().map(Id::from) else {
        return error_page(
            &page,
            StatusCode::NOT_FOUND,
            "Session not found",
            "That session does not exist.",
        );
    };
    match accounts.revoke_session(&auth, &id, &meta).await {
        Ok(true) => (
            Flash::info("That session is logged out."),
            Redirect::to("/users/sessions"),
        )
            .into_response(),
        // Already gone, or not one of this user's sessions: nothing to revoke.
        Ok(false) => (
            Flash::error("That session was already logged out."),
            Redirect::to("/users/sessions"),
        )
            .into_response(),
        Err(err) => server_error(&page, &err),
    }
}

/// POST /users/sessions/revoke_others
pub async fn revoke_others(
    State(accounts): State<Accounts>,
    RequireUser(auth): RequireUser,
    ClientMeta(meta): ClientMeta,
    page: Page,
) -> Response {
    match accounts.log_out_other_sessions(&auth, &meta).await {
        Ok(count) => {
            let message = match count {
                0 => "There were no other sessions.".to_owned(),
                1 => "1 other session is logged out.".to_owned(),
                n => format!("{n} other sessions are logged out."),
            };
            (Flash::info(message), Redirect::to("/users/sessions")).into_response()
        }
        Err(err) => server_error(&page, &err),
    }
}

/// A short, human description of a user agent: "Firefox on Linux". Good enough to recognise
/// one's own devices; the full string is not shown.
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".to_owned();
    };
    // Order matters: Edge and Opera also say "Chrome"; Chrome also says "Safari".
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_device;

    #[test]
    fn devices_are_described_briefly() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(describe_device(Some(edge)), "Edge on Windows");
        assert_eq!(describe_device(None), "Unknown device");
        assert_eq!(describe_device(Some("x".repeat(100).as_str())).len(), 40);
    }
}
