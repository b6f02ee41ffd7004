//! `GET /health` answers 200 while the database answers, 503 when it does not.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

#[tokio::test]
async fn health_is_ok_when_the_database_answers() {
    let (state, _database) = support::state().await;
    let app = sigra_example_host::web::router(state);
    let response = app
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&body[..], b"ok");
}

#[tokio::test]
async fn health_is_unavailable_when_the_database_is_closed() {
    let (state, _database) = support::state().await;
    state.db.close().await;
    let app = sigra_example_host::web::router(state);
    let response = app
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
