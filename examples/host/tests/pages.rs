//! The pages render from their embedded templates.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

#[tokio::test]
async fn the_home_page_renders_inside_the_layout() {
    let app = sigra_example_host::web::router(support::state().await);
    let response = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let html = String::from_utf8(body.to_vec()).unwrap();
    assert!(html.contains("<title>sigra-example-host</title>"), "{html}");
    assert!(html.contains("<h1>sigra-example-host</h1>"), "{html}");
}
