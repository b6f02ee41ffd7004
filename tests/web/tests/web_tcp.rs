//! The layers over a real TCP listener on 127.0.0.1:0 with a real HTTP client (hyper-util):
//! `ConnectInfo` gives the client IP, the rate limit counts it, and cookies work on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sigra_web_tests::TestDb;

#[tokio::test]
async fn client_ip_and_limits_over_a_real_socket() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let base = format!("http://{addr}");

    // The peer address reaches ClientMeta; X-Forwarded-For is not trusted by default.
    let req = Request::get(format!("{base}/meta"))
        .header(header::USER_AGENT, "web-tests/1")
        .header("x-forwarded-for", "6.6.6.6")
        .body(Full::default())
        .unwrap();
    let response = client.request(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff"
    );
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, "127.0.0.1|web-tests/1");

    // Get a CSRF cookie and token over the wire.
    let response = client
        .request(
            Request::get(format!("{base}/"))
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-sigra_csrf="));
    let page: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let token = page["csrf"].as_str().unwrap().to_owned();

    // The limiter counts 127.0.0.1: 10 allowed, then 429.
    let post = |spoof: &str| {
        Request::post(format!("{base}/users/ping"))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, format!("http://{addr}"))
            .header("x-csrf-token", &token)
            // Rotating the forwarded address must not buy more attempts.
            .header("x-forwarded-for", spoof)
            .body(Full::default())
            .unwrap()
    };
    // The session cookie is Secure by default, so origins must be https: this plain-HTTP
    // request is refused by the origin check...
    let refused = client.request(post("10.0.0.1")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // ...while one without Origin (an old browser, or a non-browser client) is judged on
    // its token.
    let post = |spoof: String| {
        Request::post(format!("{base}/users/ping"))
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &token)
            .header("x-forwarded-for", spoof)
            .body(Full::default())
            .unwrap()
    };
    for i in 0..10 {
        let response = client.request(post(format!("10.0.0.{i}"))).await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "request {i}");
    }
    let response = client.request(post("10.0.0.99".into())).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));

    server.abort();
}
