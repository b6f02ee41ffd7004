//! `sigra_core::web::rate_limit_layer` over a real SQLite database: the default limit,
//! headers, counters shared by two app instances, failing closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use sigra_web_tests::{App, Browser, TestDb, json};

/// A same-origin POST to the limited `/users/ping` from `ip`, with a valid CSRF token.
async fn ping(browser: &mut Browser, ip: [u8; 4], accept_json: bool) -> Response {
    let token = browser.csrf().await;
    let mut req = browser
        .request("POST", "/users/ping")
        .header("x-csrf-token", token);
    if accept_json {
        req = req.header(header::ACCEPT, "application/json");
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 5555))));
    browser.send(req).await
}

fn header_u64(response: &Response, name: &str) -> u64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn ten_allowed_then_429_with_headers() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    for i in 1..=10u64 {
        let response = ping(&mut browser, [198, 51, 100, 1], false).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "request {i}");
        assert_eq!(header_u64(&response, "x-ratelimit-limit"), 10);
        assert_eq!(header_u64(&response, "x-ratelimit-remaining"), 10 - i);
        let reset = header_u64(&response, "x-ratelimit-reset");
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let response = ping(&mut browser, [198, 51, 100, 1], false).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_u64(&response, "x-ratelimit-remaining"), 0);
    let retry = header_u64(&response, "retry-after");
    assert!((1..=60).contains(&retry));
    assert_eq!(retry, header_u64(&response, "x-ratelimit-reset"));
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let response = ping(&mut browser, [198, 51, 100, 1], true).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(json(response).await["error"]["code"], "rate_limited");

    // Another IP has its own budget; GETs of the limited route are not counted.
    assert_eq!(
        ping(&mut browser, [198, 51, 100, 2], false).await.status(),
        StatusCode::NO_CONTENT
    );
    for _ in 0..15 {
        let mut req = browser
            .request("GET", "/users/log_in")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 3], 1))));
        assert_eq!(browser.send(req).await.status(), StatusCode::OK);
    }
    assert_eq!(
        ping(&mut browser, [198, 51, 100, 3], false).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn login_attempts_are_limited_per_ip() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    for _ in 0..10 {
        let response = browser
            .post_form("/users/log_in", "email=nobody%40example.com&password=wrong")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json(response).await["error"]["code"], "invalid_credentials");
    }
    let response = browser
        .post_form("/users/log_in", "email=nobody%40example.com&password=wrong")
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn two_app_instances_share_the_counters() {
    let db = TestDb::new().await;
    let a = db.instance().await;
    let b = db.instance().await;
    let mut on_a = Browser::new(&a);
    let mut on_b = Browser::new(&b);
    let ip = [203, 0, 113, 50];
    for i in 0..10 {
        let browser = if i % 2 == 0 { &mut on_a } else { &mut on_b };
        assert_eq!(
            ping(browser, ip, false).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        ping(&mut on_a, ip, false).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        ping(&mut on_b, ip, false).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Both instances really counted through their own pools.
    assert!(a.counts.writes() >= 5 && b.counts.writes() >= 5);
}

#[tokio::test]
async fn a_failing_store_fails_closed() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    let token = browser.csrf().await;
    app.counts.set_failing(true);
    let mut req = browser
        .request("POST", "/users/ping")
        .header("x-csrf-token", token)
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 9], 1))));
    let response = browser.send(req).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    app.counts.set_failing(false);
    assert_eq!(
        ping(&mut browser, [192, 0, 2, 9], false).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64() {
    let db = TestDb::new().await;
    let app: App = db.instance().await;
    let mut browser = Browser::new(&app);
    for i in 0..11u16 {
        let token = browser.csrf().await;
        let addr: std::net::Ipv6Addr = format!("2001:db8:7:7::{:x}", i + 1).parse().unwrap();
        let mut req: Request<Body> = browser
            .request("POST", "/users/ping")
            .header("x-csrf-token", token)
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((addr, 1))));
        let status = browser.send(req).await.status();
        let expected = if i < 10 {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected, "address {addr}");
    }
}
