//! The HTTP side: the router with Sigra's layers, and `/health`.

pub mod auth;
pub mod dev_mailbox;
pub mod pages;
pub mod templates;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;

use crate::app::AppState;

/// The largest request body accepted (forms are small; this bounds what a request can cost).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The app: every route, with its state.
///
/// A route asked with a method it does not take answers 405 with an `Allow` header naming
/// the ones it does, and a body saying so.
///
/// `sigra_core::web::layers` loads the session once per request, checks CSRF and the origin
/// on every state-changing request, keeps the flash messages and adds the security headers.
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()`: the rate limits and
/// the audit trail need the client's address.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(auth::routes(&state))
        .merge(dev_mailbox::routes(&state))
        .merge(pages::routes())
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(sigra_core::web::layers(state.accounts.clone()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// `GET /health`: 200 `ok` when the app reaches its database, 503 when it does not.
async fn health(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match sqlx::query("SELECT 1").execute(&state.db).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::warn!("health check: the database does not answer: {err}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer",
            )
        }
    }
}
