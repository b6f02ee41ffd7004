//! Whatever a form receives, the answer is a 4xx page with a message, never a 500 or a
//! panic, and nothing is half-written.

mod support;

use axum::http::StatusCode;
use support::browser::{Browser, PASSWORD, Resp, TestApp, encode_form};

/// Every anonymous form: its page and its fields.
const ANONYMOUS_FORMS: &[(&str, &str, &[&str])] = &[
    ("/users/register", "/users/register", &["email", "password"]),
    (
        "/users/log_in",
        "/users/log_in",
        &["email", "password", "remember_me", "return_to"],
    ),
    ("/users/log_in", "/users/log_in/magic", &["email"]),
    ("/users/confirm", "/users/confirm", &["email", "code"]),
    ("/users/confirm", "/users/confirm/resend", &["email"]),
    ("/users/reset_password", "/users/reset_password", &["email"]),
];

/// Every form of a logged-in user (who is in sudo mode).
const USER_FORMS: &[(&str, &str, &[&str])] = &[
    ("/users/sudo", "/users/sudo", &["password", "return_to"]),
    ("/users/settings", "/users/settings/email", &["email"]),
    (
        "/users/settings",
        "/users/settings/password",
        &["password", "password_confirmation"],
    ),
];

async fn app() -> TestApp {
    // Many posts from one address: lift the per-IP limit (tested on its own below).
    TestApp::with_config(|c| c.rate_limit(|r| r.auth.max = 1000)).await
}

#[track_caller]
fn assert_refused(resp: &Resp, what: &str) {
    assert!(
        resp.status.is_client_error(),
        "{what}: expected a 4xx, got {} {}",
        resp.status,
        resp.body
    );
    assert!(
        resp.body.contains("<h1>") || resp.body.contains("error"),
        "{what}: the page says what is wrong: {}",
        resp.body
    );
}

async fn logged_in_in_sudo(app: &TestApp, email: &str) -> Browser {
    let mut browser = app.confirmed_user(email).await;
    browser
        .submit(
            "/users/sudo",
            "/users/sudo",
            &[("password", PASSWORD), ("return_to", "/users/settings")],
        )
        .await
        .assert_redirect("/users/settings");
    browser
}

#[tokio::test]
async fn missing_fields_re_render_the_form_with_a_message() {
    let app = app().await;
    let mut anon = app.browser();
    let before = app.counts().await;
    for (page, action, _) in ANONYMOUS_FORMS {
        let resp = anon.submit(page, action, &[]).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{action}: {}",
            resp.body
        );
        assert!(
            resp.body.contains("field-error") || resp.body.contains("form-error"),
            "{action}: {}",
            resp.body
        );
        assert!(
            resp.body.contains("<form"),
            "{action}: the form is shown again"
        );
    }
    assert_eq!(app.counts().await, before);

    let mut user = logged_in_in_sudo(&app, "jane@example.com").await;
    let before = app.counts().await;
    for (page, action, _) in USER_FORMS {
        let resp = user.submit(page, action, &[]).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{action}: {}",
            resp.body
        );
        assert!(
            resp.body.contains("aria-invalid=\"true\"") || resp.body.contains("form-error"),
            "{action}"
        );
    }
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn errors_are_tied_to_their_fields() {
    let app = app().await;
    let mut anon = app.browser();
    let resp = anon
        .submit(
            "/users/register",
            "/users/register",
            &[("email", "not an email"), ("password", "short")],
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.body.contains(r#"aria-describedby="email-error""#),
        "{}",
        resp.body
    );
    assert!(resp.body.contains(r#"id="email-error""#));
    assert!(resp.body.contains("Enter a valid email address."));
    assert!(
        resp.body.contains(r#"value="not an email""#),
        "what was typed is kept"
    );
    assert!(
        !resp.body.contains(r#"value="short""#),
        "passwords are never echoed"
    );
}

#[tokio::test]
async fn huge_fields_are_refused() {
    let app = app().await;
    let huge = "a".repeat(100 * 1024);
    let mut anon = app.browser();
    let before = app.counts().await;
    for (page, action, fields) in ANONYMOUS_FORMS {
        let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, huge.as_str())).collect();
        let resp = anon.submit(page, action, &values).await;
        assert_refused(&resp, action);
    }
    // One huge field among normal ones, below the body limit: a clear validation message.
    let long_password = "p".repeat(30 * 1024);
    let resp = anon
        .submit(
            "/users/register",
            "/users/register",
            &[("email", "kim@example.com"), ("password", &long_password)],
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.body
    );
    assert!(resp.body.contains("field-error"));
    assert_eq!(app.counts().await, before);

    let mut user = logged_in_in_sudo(&app, "lee@example.com").await;
    let before = app.counts().await;
    for (page, action, fields) in USER_FORMS {
        let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, huge.as_str())).collect();
        let resp = user.submit(page, action, &values).await;
        assert_refused(&resp, action);
    }
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn invalid_utf8_in_a_form_body_is_refused() {
    let app = app().await;
    let mut anon = app.browser();
    let before = app.counts().await;
    for (page, action, fields) in ANONYMOUS_FORMS {
        anon.get(page).await;
        let csrf = anon.csrf().unwrap().to_owned();
        for garbage in [&b"%FF%FE%C3%28"[..], &b"\xff\xfe\xc3\x28"[..]] {
            let mut body = format!("_csrf={csrf}").into_bytes();
            for field in *fields {
                body.extend_from_slice(format!("&{field}=").as_bytes());
                body.extend_from_slice(garbage);
            }
            let resp = anon.post_raw(action, body).await;
            assert_refused(&resp, action);
        }
    }
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn a_wrong_or_missing_csrf_token_is_refused() {
    let app = app().await;
    let mut anon = app.browser();
    let before = app.counts().await;
    for (page, action, _) in ANONYMOUS_FORMS {
        anon.get(page).await;
        let fields = [("email", "mia@example.com"), ("password", PASSWORD)];
        // Wrong token.
        let mut body = vec![("_csrf", "forged-token")];
        body.extend_from_slice(&fields);
        let resp = anon.post_raw(action, encode_form(&body).into_bytes()).await;
        assert_eq!(
            resp.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            resp.body
        );
        assert!(!resp.body.is_empty());
        // No token.
        let resp = anon
            .post_raw(action, encode_form(&fields).into_bytes())
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{action}");
    }
    // Another browser's token.
    let mut other = app.browser();
    other.get("/users/register").await;
    let theirs = other.csrf().unwrap().to_owned();
    anon.set_csrf(&theirs);
    let resp = anon
        .post(
            "/users/register",
            &[("email", "mia@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(app.counts().await, before);

    // A logged-in user's forms too: a forged log-out or revoke-all does nothing.
    let mut user = app.confirmed_user("ned@example.com").await;
    user.get("/users/sessions").await;
    user.set_csrf("forged");
    for action in [
        "/users/log_out",
        "/users/sessions/revoke_others",
        "/users/settings/password",
    ] {
        let resp = user
            .post(action, &[("password", "x"), ("password_confirmation", "x")])
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{action}");
    }
    user.get("/").await;
    assert!(user.get("/").await.body.contains("You are logged in as"));
}

#[tokio::test]
async fn forged_tokens_in_urls_are_refused() {
    let app = app().await;
    let mut user = app.confirmed_user("olga@example.com").await;
    let mut anon = app.browser();
    let forged = [
        "forged".to_owned(),
        "v1.AAAA.BBBB".to_owned(),
        "v1..".to_owned(),
        "%00%FF".to_owned(),
        "%E2%80%AE%F0%9F%98%80".to_owned(),
        "'%20OR%20'1'%3D'1".to_owned(),
        "..%2F..%2Fusers%2Fsessions%2Frevoke_others".to_owned(),
        "x".repeat(8 * 1024),
    ];
    let before = app.counts().await;
    for token in &forged {
        for prefix in [
            "/users/log_in/",
            "/users/confirm/",
            "/users/reset_password/",
        ] {
            let path = format!("{prefix}{token}");
            let page = anon.get(&path).await;
            assert!(
                !page.status.is_server_error(),
                "GET {path}: {}",
                page.status
            );
            let resp = anon
                .post(
                    &path,
                    &[("password", PASSWORD), ("password_confirmation", PASSWORD)],
                )
                .await;
            assert_refused(&resp, &path);
            assert!(
                resp.body.contains("invalid or it has expired"),
                "{path}: {}",
                resp.body
            );
        }
        let path = format!("/users/settings/confirm_email/{token}");
        assert!(!user.get(&path).await.status.is_server_error());
        let resp = user.post(&path, &[]).await;
        assert_refused(&resp, &path);
    }
    for id in [
        "abc",
        "'1'",
        "-1",
        "99999999999999999999999",
        "00000000-0000-0000-0000-000000000000",
    ] {
        let resp = user
            .post(&format!("/users/sessions/{id}/revoke"), &[])
            .await;
        assert!(!resp.status.is_server_error(), "{id}: {}", resp.status);
    }
    assert_eq!(app.counts().await, before);
    assert!(anon.session_cookie().is_none());
    assert!(user.get("/").await.body.contains("You are logged in as"));
}

#[tokio::test]
async fn sql_metacharacters_are_just_characters() {
    let app = app().await;
    let mut anon = app.browser();
    let before_users = app.count("users").await;
    for email in [
        "a'; DROP TABLE users;--@example.com",
        "' OR '1'='1",
        "\" OR 1=1 --@example.com",
        "x@example.com' --",
        "%@example.com\0",
    ] {
        let resp = anon
            .submit(
                "/users/register",
                "/users/register",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email}: {}",
            resp.body
        );
        let resp = anon
            .submit(
                "/users/log_in",
                "/users/log_in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        let resp = anon
            .submit(
                "/users/reset_password",
                "/users/reset_password",
                &[("email", email)],
            )
            .await;
        assert!(
            resp.status.is_client_error() || resp.status == StatusCode::SEE_OTHER,
            "{email}"
        );
    }
    assert_eq!(app.count("users").await, before_users);

    // A quote is valid in an address, and stored as typed.
    let email = "o'brien+x%y@example.com";
    let resp = anon
        .submit(
            "/users/register",
            "/users/register",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/users/confirm");
    assert_eq!(app.count("users").await, before_users + 1);
    let stored: String = sqlx::query_scalar("SELECT email FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, email);
    app.mail(email, "confirm").await;
}

#[tokio::test]
async fn auth_posts_are_rate_limited_per_address() {
    let app = TestApp::start().await;
    let mut anon = app.browser();
    anon.get("/users/log_in").await;
    // 10 per minute: the 11th post of a window is refused. The windows are fixed, so when the
    // posts straddle a minute boundary the refusal comes later, by the 21st at the latest.
    let mut last = None;
    for _ in 0..21 {
        let resp = anon
            .post(
                "/users/log_in",
                &[
                    ("email", "pat@example.com"),
                    ("password", "guess guess guess"),
                ],
            )
            .await;
        let refused = resp.status == StatusCode::TOO_MANY_REQUESTS;
        last = Some(resp);
        if refused {
            break;
        }
    }
    let last = last.unwrap();
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.body);
    assert!(last.headers.contains_key("retry-after"));
    assert!(!last.body.is_empty());
    // Another address is not affected.
    let mut other = app.browser();
    let resp = other
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[
                ("email", "pat@example.com"),
                ("password", "guess guess guess"),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn confirmation_codes_allow_five_tries() {
    let app = app().await;
    let email = "ray@example.com";
    let mut ray = app.browser();
    ray.submit(
        "/users/register",
        "/users/register",
        &[("email", email), ("password", PASSWORD)],
    )
    .await
    .assert_redirect("/users/confirm");
    let code = support::browser::code_in(&app.mail(email, "confirm").await);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let resp = ray
            .post("/users/confirm", &[("email", email), ("code", wrong)])
            .await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.body.contains(r#"id="code-error""#), "{}", resp.body);
    }
    let resp = ray
        .post("/users/confirm", &[("email", email), ("code", &code)])
        .await;
    assert_eq!(resp.status, StatusCode::TOO_MANY_REQUESTS, "{}", resp.body);
    assert!(resp.headers.contains_key("retry-after"));
    assert!(resp.body.contains("Too many attempts"));
    assert!(ray.session_cookie().is_none());
}
