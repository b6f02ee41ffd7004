//! The HTTP side: the router, the state every handler shares, and `/health`.

pub mod pages;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::db::Db;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
}

/// The app: every route, with its state.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(pages::routes())
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
