//! `sigra_core::web::layers` and the extractors over a real SQLite database, in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::body::Body;
use axum::http::{StatusCode, header};
use sigra_core::config::SigraConfig;
use sigra_web_tests::{Browser, TestDb, body, json};

const SESSION: &str = "__Host-sigra_session";
const CSRF: &str = "__Host-sigra_csrf";
const FLASH: &str = "__Host-sigra_flash";

#[tokio::test]
async fn the_session_is_loaded_once_per_request() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    browser.log_in("once@example.com").await;
    assert!(browser.cookie(SESSION).is_some());

    // Two extractors (CurrentUser + RequireUser), one read transaction, no write.
    let (reads, writes) = (app.counts.reads(), app.counts.writes());
    let response = browser.get("/both").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "once@example.com once@example.com");
    assert_eq!(app.counts.reads() - reads, 1, "one session lookup");
    assert_eq!(app.counts.writes() - writes, 0, "no write on the hot path");

    // Anonymous requests never touch the database.
    let mut anon = Browser::new(&app);
    let (reads, writes) = (app.counts.reads(), app.counts.writes());
    anon.home().await;
    assert_eq!(
        (app.counts.reads() - reads, app.counts.writes() - writes),
        (0, 0)
    );
}

#[tokio::test]
async fn layers_installed_twice_still_load_once() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let twice = sigra_web_tests::App {
        router: app
            .router
            .clone()
            .layer(sigra_core::web::layers(app.sigra.clone())),
        ..app.clone()
    };
    let mut browser = Browser::new(&twice);
    browser.log_in("twice@example.com").await;
    let reads = app.counts.reads();
    assert_eq!(browser.get("/settings").await.status(), StatusCode::OK);
    assert_eq!(app.counts.reads() - reads, 1);
}

#[tokio::test]
async fn require_user_redirects_browsers_and_answers_api_clients_with_401() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut anon = Browser::new(&app);

    let response = anon.get("/settings?tab=email").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/users/log_in?return_to=/settings%3Ftab%3Demail"
    );

    let response = anon.get("/api/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = json(response).await;
    assert_eq!(error["error"]["code"], "unauthenticated");

    let req = anon
        .request("GET", "/settings")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let response = anon.send(req).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A forged or unknown session cookie is simply "not logged in".
    anon.set_cookie(SESSION, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(anon.get("/settings").await.status(), StatusCode::SEE_OTHER);
    anon.set_cookie(SESSION, "not even base64 \u{e9}");
    assert_eq!(anon.get("/settings").await.status(), StatusCode::SEE_OTHER);

    let mut user = Browser::new(&app);
    user.log_in("alice@example.com").await;
    let response = user.get("/settings").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "alice@example.com");
    assert_eq!(user.home().await["user"], "alice@example.com");
}

#[tokio::test]
async fn the_login_and_sudo_pages_are_configuration() {
    let db = TestDb::new().await;
    let config = SigraConfig::builder()
        .web(|w| {
            w.login_path = "/sign-in".into();
            w.sudo_path = "/account/confirm-password".into();
        })
        .session(|s| s.cache_ttl = std::time::Duration::ZERO)
        .build()
        .unwrap();
    let app = db.instance_with(config).await;
    let mut user = Browser::new(&app);
    let response = user.get("/danger").await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "/sign-in?return_to=/danger"
    );
    user.log_in("paths@example.com").await;
    sqlx::query("UPDATE user_sessions SET sudo_at = NULL")
        .execute(app.sigra.store().inner.db())
        .await
        .unwrap();
    let response = user.get("/danger").await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "/account/confirm-password?return_to=/danger"
    );
}

#[tokio::test]
async fn require_sudo_needs_a_fresh_authentication() {
    let db = TestDb::new().await;
    // This test edits session rows in SQL, behind Sigra's back: without the session cache
    // (which would show such an edit only after its TTL, like one made by another instance).
    let no_cache = SigraConfig::builder()
        .session(|s| s.cache_ttl = std::time::Duration::ZERO)
        .build()
        .unwrap();
    let app = db.instance_with(no_cache).await;
    let mut user = Browser::new(&app);

    // Logged out: as RequireUser.
    let response = user.get("/danger").await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "/users/log_in?return_to=/danger"
    );

    // A fresh login starts in sudo mode.
    user.log_in("sudo@example.com").await;
    let response = user.get("/danger").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "sudo sudo@example.com");

    // Leave the sudo window (as if the login were long ago).
    sqlx::query("UPDATE user_sessions SET sudo_at = NULL")
        .execute(app.sigra.store().inner.db())
        .await
        .unwrap();
    let response = user.get("/danger").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/users/sudo?return_to=/danger"
    );

    let req = user
        .request("GET", "/danger")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let response = user.send(req).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["error"]["code"], "sudo_required");

    // Still logged in for ordinary pages.
    assert_eq!(user.get("/settings").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn csrf_refuses_missing_wrong_and_cross_site_requests() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    let token = browser.csrf().await;
    assert!(
        browser.cookie(CSRF).is_some(),
        "the layer set the CSRF cookie"
    );
    let form = |b: &Browser, body: String| {
        b.request("POST", "/echo")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };

    // No token.
    let response = browser.send(form(&browser, "a=1".into())).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Wrong token.
    let response = browser
        .send(form(
            &browser,
            "a=1&_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Another browser's token.
    let mut other = Browser::new(&app);
    let other_token = other.csrf().await;
    let response = browser
        .send(form(&browser, format!("_csrf={other_token}")))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // The right token without the cookie.
    let mut cookieless = Browser::new(&app);
    let response = cookieless
        .send(form(&cookieless, format!("_csrf={token}")))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Right token, cross-site Origin.
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/echo")
        .header(header::HOST, sigra_web_tests::HOST)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, browser.cookie_header().unwrap())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("_csrf={token}")))
        .unwrap();
    assert_eq!(browser.send(req).await.status(), StatusCode::FORBIDDEN);

    // Right token, Sec-Fetch-Site: cross-site (no Origin).
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/echo")
        .header(header::HOST, sigra_web_tests::HOST)
        .header("sec-fetch-site", "cross-site")
        .header(header::COOKIE, browser.cookie_header().unwrap())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("_csrf={token}")))
        .unwrap();
    let response = browser.send(req).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = String::from_utf8_lossy(&body(response).await).into_owned();
    assert!(page.contains("another site"), "{page}");

    // API clients get the JSON shape.
    let req = browser
        .request("POST", "/echo")
        .header(header::ACCEPT, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let response = browser.send(req).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["error"]["code"], "csrf");

    // A refused request never reached the session store.
    let mut user = Browser::new(&app);
    user.log_in("csrf@example.com").await;
    let reads = app.counts.reads();
    assert_eq!(
        user.send(form(&user, "a=1".into())).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.counts.reads(), reads);
}

#[tokio::test]
async fn csrf_accepts_the_right_token_and_passes_the_body_on_intact() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    let token = browser.csrf().await;

    // Form field: the body reaches the handler byte for byte, invalid UTF-8 included.
    let mut sent = format!("email=a%40b.c&_csrf={token}&note=").into_bytes();
    sent.extend_from_slice(b"caf\xe9+%FF&x=");
    sent.extend(std::iter::repeat_n(b'y', 60 * 1024));
    let req = browser
        .request("POST", "/echo")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, sent.len())
        .body(Body::from(sent.clone()))
        .unwrap();
    let response = browser.send(req).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, sent);

    // Header token, any body, other methods.
    for method in ["POST", "PUT", "DELETE"] {
        let req = browser
            .request(method, "/echo")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", &token)
            .body(Body::from(r#"{"k":"v"}"#))
            .unwrap();
        let response = browser.send(req).await;
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        assert_eq!(body(response).await, r#"{"k":"v"}"#);
    }

    // Bearer clients skip the token (not the origin check).
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/echo")
        .header(header::HOST, sigra_web_tests::HOST)
        .header(header::AUTHORIZATION, "Bearer sigra_sk_test")
        .body(Body::from("raw"))
        .unwrap();
    assert_eq!(app.send(req).await.status(), StatusCode::OK);
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/echo")
        .header(header::HOST, sigra_web_tests::HOST)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::AUTHORIZATION, "Bearer sigra_sk_test")
        .body(Body::from("raw"))
        .unwrap();
    assert_eq!(app.send(req).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn oversized_forms_get_413() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    let token = browser.csrf().await;
    let mut big = format!("_csrf={token}&blob=").into_bytes();
    big.extend(std::iter::repeat_n(b'z', 70 * 1024));
    let req = browser
        .request("POST", "/echo")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(big.clone()))
        .unwrap();
    assert_eq!(
        browser.send(req).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let req = browser
        .request("POST", "/echo")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, big.len())
        .header(header::ACCEPT, "application/json")
        .body(Body::from(big))
        .unwrap();
    let response = browser.send(req).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(response).await["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn hsts_follows_its_setting_and_stays_off_on_plain_http() {
    let db = TestDb::new().await;
    for (config, want) in [
        (
            SigraConfig::builder()
                .web(|w| w.hsts_max_age = std::time::Duration::from_secs(600))
                .build()
                .unwrap(),
            Some("max-age=600"),
        ),
        (
            SigraConfig::builder()
                .web(|w| w.hsts_max_age = std::time::Duration::ZERO)
                .build()
                .unwrap(),
            None,
        ),
        (
            SigraConfig::builder()
                .dev_mode(true)
                .cookie(|c| c.secure = false)
                .build()
                .unwrap(),
            None,
        ),
    ] {
        let app = db.instance_with(config).await;
        let response = Browser::new(&app).get("/").await;
        assert_eq!(
            response
                .headers()
                .get(header::STRICT_TRANSPORT_SECURITY)
                .map(|v| v.to_str().unwrap()),
            want
        );
    }
}

#[tokio::test]
async fn security_headers_are_present() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    let response = browser.get("/").await;
    let h = response.headers();
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "same-origin");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert!(
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'")
    );
    assert!(
        h.get(header::CACHE_CONTROL).is_none(),
        "anonymous pages may be cached"
    );
    assert_eq!(
        h[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000",
        "production (Secure cookies): HTTPS only, for a year by default"
    );

    // Refusals carry them too.
    let response = browser.get("/settings").await;
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");

    browser.log_in("headers@example.com").await;
    let response = browser.get("/settings").await;
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    // A handler's own Cache-Control wins.
    let response = browser.get("/cached").await;
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=60"
    );
}

#[tokio::test]
async fn flash_round_trip_and_tampering() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    let response = browser.post_form("/flash", "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = browser.cookie(FLASH).expect("flash cookie set").to_owned();
    assert!(!cookie.contains("Saved"), "the message is encoded, not raw");

    // Shown once, then gone.
    let page = browser.home().await;
    assert_eq!(page["info"], "Saved <b>all</b> of it");
    assert_eq!(page["error"], "but one thing");
    assert!(browser.cookie(FLASH).is_none(), "read, so deleted");
    let page = browser.home().await;
    assert!(page["info"].is_null());

    // A request that does not read the flash leaves it in place.
    browser.set_cookie(FLASH, &cookie);
    assert_eq!(
        browser.get("/settings").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.cookie(FLASH), Some(cookie.as_str()));

    // Tampered: ignored and deleted.
    let (payload, mac) = cookie.split_once('.').unwrap();
    let mut forged = payload.to_owned();
    forged.replace_range(0..1, if payload.starts_with('e') { "f" } else { "e" });
    browser.set_cookie(FLASH, &format!("{forged}.{mac}"));
    let page = browser.home().await;
    assert!(page["info"].is_null() && page["error"].is_null());
    assert!(browser.cookie(FLASH).is_none());
    browser.set_cookie(FLASH, "garbage\u{e9}!");
    assert!(browser.home().await["info"].is_null());

    // Login sets the session cookie and a flash in one response.
    let response = browser.log_in("flash@example.com").await;
    assert!(
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap().starts_with(SESSION))
    );
    assert_eq!(browser.home().await["info"], "Welcome back");
}

#[tokio::test]
async fn log_out_clears_the_cookie_and_the_session() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    browser.log_in("bye@example.com").await;
    let session = browser.cookie(SESSION).unwrap().to_owned();
    let response = browser.post_form("/users/log_out", "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(browser.cookie(SESSION).is_none());
    // The old cookie no longer works either.
    browser.set_cookie(SESSION, &session);
    assert_eq!(
        browser.get("/settings").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_failing_store_never_logs_anyone_in_and_never_panics() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let mut browser = Browser::new(&app);
    browser.log_in("down@example.com").await;
    app.counts.set_failing(true);
    assert!(
        browser.home().await["user"].is_null(),
        "CurrentUser reads nobody"
    );
    let response = browser.get("/settings").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let response = browser.get("/api/me").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json(response).await["error"]["code"], "internal");
    app.counts.set_failing(false);
    assert_eq!(browser.get("/settings").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn garbage_input_gets_4xx_never_500() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let garbage_cookies: [&[u8]; 4] = [
        b"\xff\xfe\xfd",
        b"__Host-sigra_session=\xff; __Host-sigra_csrf=\xc3\x28",
        b";;;===;__Host-sigra_flash==;=",
        b"__Host-sigra_session=\"unterminated",
    ];
    for cookie in garbage_cookies {
        let req = axum::http::Request::builder()
            .uri("/settings")
            .header(header::HOST, sigra_web_tests::HOST)
            .header(
                header::COOKIE,
                axum::http::HeaderValue::from_bytes(cookie).unwrap(),
            )
            .header(
                header::USER_AGENT,
                axum::http::HeaderValue::from_bytes(b"\xff\x00x")
                    .unwrap_or(axum::http::HeaderValue::from_static("x")),
            )
            .header("x-forwarded-for", "999.1.1.1, ::::, garbage")
            .body(Body::empty())
            .unwrap();
        let status = app.send(req).await.status();
        assert_eq!(status, StatusCode::SEE_OTHER, "{cookie:?}");
    }
    let bad_headers: [(&str, &[u8]); 4] = [
        ("origin", b"https://\xff\xfe"),
        ("origin", b"null"),
        ("sec-fetch-site", b"\xff"),
        ("x-csrf-token", b"\xff\xfe"),
    ];
    for (name, value) in bad_headers {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/echo")
            .header(header::HOST, sigra_web_tests::HOST)
            .header(name, axum::http::HeaderValue::from_bytes(value).unwrap())
            .body(Body::from("x"))
            .unwrap();
        let status = app.send(req).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
    }
    // Invalid UTF-8 in a form with the right token: the layer passes it on; the handler's
    // own Form extractor refuses with a 4xx.
    let mut browser = Browser::new(&app);
    let token = browser.csrf().await;
    let mut body_bytes = format!("_csrf={token}&email=").into_bytes();
    body_bytes.extend_from_slice(b"\xff\xfe&password=x");
    let req = browser
        .request("POST", "/users/log_in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body_bytes))
        .unwrap();
    let status = browser.send(req).await.status();
    assert!(
        status.is_client_error() || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
}

#[tokio::test]
async fn client_meta_uses_the_peer_and_ignores_forwarded_for_by_default() {
    let db = TestDb::new().await;
    let app = db.instance().await;
    let req = axum::http::Request::builder()
        .uri("/meta")
        .header(header::HOST, sigra_web_tests::HOST)
        .header(header::USER_AGENT, "a".repeat(3000))
        .header("x-forwarded-for", "6.6.6.6")
        .body(Body::empty())
        .unwrap();
    let text = body(app.send(req).await).await;
    let text = String::from_utf8_lossy(&text);
    let (ip, ua) = text.split_once('|').unwrap();
    assert_eq!(ip, "192.0.2.1");
    assert_eq!(ua.len(), 512);

    let trusting = sigra_web_tests::App {
        router: sigra_web_tests::router_with(app.sigra.clone(), |l| l.trust_proxy_hops(1)),
        ..app.clone()
    };
    let req = axum::http::Request::builder()
        .uri("/meta")
        .header(header::HOST, sigra_web_tests::HOST)
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .body(Body::empty())
        .unwrap();
    let text = body(trusting.send(req).await).await;
    assert!(String::from_utf8_lossy(&text).starts_with("203.0.113.7|"));
}
