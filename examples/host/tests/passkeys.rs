//! Passkeys through the pages, without a browser's authenticator: the pages and the script
//! are served, the settings page needs sudo, the options endpoints answer WebAuthn options as
//! JSON, and every malformed or unauthorised call is a 4xx with the one JSON error shape,
//! never a 500. The ceremonies themselves run in the browser test (Chromium's virtual
//! authenticator) and in sigra-core's tests (a software authenticator).

mod support;

use axum::http::StatusCode;
use support::browser::{Browser, PASSWORD, Resp, TestApp};

fn json(resp: &Resp) -> serde_json::Value {
    serde_json::from_str(&resp.body).unwrap_or_else(|_| panic!("not JSON: {}", resp.body))
}

/// A JSON refusal: a 4xx with `{"error": {"code": …, "message": …}}`.
fn assert_json_error(resp: &Resp, code: &str) {
    assert!(
        resp.status.is_client_error(),
        "{} {}",
        resp.status,
        resp.body
    );
    assert_eq!(json(resp)["error"]["code"], code, "{}", resp.body);
}

/// A browser on the login page from its own address (10.0.0.`n`).
async fn from_ip(app: &TestApp, n: usize) -> Browser {
    let mut browser = app.browser();
    browser.ip = format!("10.0.0.{}", n + 1).parse().unwrap();
    browser.get("/users/log_in").await;
    browser
}

async fn in_sudo(browser: &mut Browser) {
    browser
        .submit("/users/sudo", "/users/sudo", &[("password", PASSWORD)])
        .await;
}

#[tokio::test]
async fn the_login_page_offers_passkeys_and_autofill_with_the_script() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    let page = browser.get("/users/log_in").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"<script src="/sigra/passkeys.js" defer></script>"#)
    );
    assert!(
        page.body.contains(r#"autocomplete="username webauthn""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Log in with a passkey"));
    // Pages without passkeys do not load the script.
    let register = browser.get("/users/register").await;
    assert!(!register.body.contains("passkeys.js"));

    let script = browser.get("/sigra/passkeys.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.headers[axum::http::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.body.contains("navigator.credentials"));
}

#[tokio::test]
async fn login_options_are_webauthn_options_as_json() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    browser.get("/users/log_in").await;
    let resp = browser
        .post_json("/users/log_in/passkey/options", "{}")
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    let body = json(&resp);
    assert!(
        body["challenge_id"]
            .as_str()
            .is_some_and(|id| id.len() > 20)
    );
    assert!(body["options"]["publicKey"]["challenge"].is_string());
    assert!(
        body["options"].get("mediation").is_none(),
        "the button's options are modal"
    );
    assert_eq!(body["conditional_options"]["mediation"], "conditional");

    // Without the CSRF token: refused before any work.
    let mut stranger = app.browser();
    let resp = stranger
        .post_json("/users/log_in/passkey/options", "{}")
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{}", resp.body);
}

/// The options count in a bucket of their own, ten times the login limit: a login page
/// viewed often does not use up the login attempts, and endless requests still stop.
#[tokio::test]
async fn options_have_their_own_generous_rate_limit() {
    let app = TestApp::start().await;
    let mut browser = from_ip(&app, 0).await;
    let limit = app.state.accounts.config().rate_limit().auth.max;
    for n in 0..limit {
        let resp = browser
            .post_json("/users/log_in/passkey/options", "{}")
            .await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "options request {n}: {}",
            resp.body
        );
    }
    // The login limit is untouched: a wrong password is still a plain refusal.
    let resp = browser
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", "a@example.com"), ("password", "wrong")],
        )
        .await;
    assert_ne!(resp.status, StatusCode::TOO_MANY_REQUESTS);
    for n in limit..limit * 10 {
        let resp = browser
            .post_json("/users/log_in/passkey/options", "{}")
            .await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "options request {n}: {}",
            resp.body
        );
    }
    let resp = browser
        .post_json("/users/log_in/passkey/options", "{}")
        .await;
    assert_eq!(resp.status, StatusCode::TOO_MANY_REQUESTS, "{}", resp.body);
    assert_json_error(&resp, "rate_limited");
}

#[tokio::test]
async fn malformed_passkey_calls_are_client_errors() {
    let app = TestApp::start().await;
    // The finish endpoints share the per-IP limit of anonymous posts: one address per batch.
    for (n, path) in ["/users/log_in/passkey", "/users/mfa/passkey"]
        .into_iter()
        .enumerate()
    {
        let mut browser = from_ip(&app, n).await;
        for body in ["", "{not json", "[]", r#"{"challenge_id": 5}"#] {
            let resp = browser.post_json(path, body).await;
            assert_json_error(&resp, "invalid_body");
        }
        let garbage = r#"{"challenge_id": "nope", "response": {"id": "x"}}"#;
        let resp = browser.post_json(path, garbage).await;
        assert!(
            resp.status.is_client_error(),
            "{path}: {} {}",
            resp.status,
            resp.body
        );
        assert!(json(&resp)["error"]["code"].is_string(), "{}", resp.body);
        let huge = format!(
            r#"{{"challenge_id": "nope", "response": {{"id": "{}"}}}}"#,
            "A".repeat(100_000)
        );
        let resp = browser.post_json(path, &huge).await;
        assert!(
            resp.status.is_client_error(),
            "{path}: {} {}",
            resp.status,
            resp.body
        );
    }
    // A well-formed answer to a challenge that does not exist.
    let mut browser = from_ip(&app, 9).await;
    let answer = r#"{"challenge_id": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "response": {"id": "AA", "rawId": "AA", "type": "public-key", "response": {"authenticatorData": "AA", "clientDataJSON": "AA", "signature": "AA"}}}"#;
    let resp = browser.post_json("/users/log_in/passkey", answer).await;
    assert_json_error(&resp, "passkey_challenge_invalid");

    // The MFA step without a pending login: "log in again".
    let resp = browser.post_json("/users/mfa/passkey/options", "{}").await;
    assert_json_error(&resp, "session_expired");
    let resp = browser.post_json("/users/mfa/passkey", answer).await;
    assert_json_error(&resp, "session_expired");
}

#[tokio::test]
async fn the_settings_page_needs_sudo_and_lists_no_passkeys_at_first() {
    let app = TestApp::start().await;
    let mut anonymous = app.browser();
    anonymous.get("/users/log_in").await;
    let resp = anonymous.get("/users/settings/passkeys").await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    assert!(resp.location().unwrap().starts_with("/users/log_in"));
    let resp = anonymous
        .post_json("/users/settings/passkeys/options", "{}")
        .await;
    assert_json_error(&resp, "unauthenticated");

    let mut browser = app.confirmed_user("keys@example.com").await;
    let settings = browser.get("/users/settings").await;
    assert!(settings.body.contains(r#"href="/users/settings/passkeys""#));

    let page = browser.get("/users/settings/passkeys").await;
    if page.status == StatusCode::SEE_OTHER {
        // Out of sudo: confirm the password first, and come back.
        assert!(
            page.location().unwrap().starts_with("/users/sudo"),
            "{:?}",
            page.location()
        );
        let resp = browser
            .post_json("/users/settings/passkeys/options", "{}")
            .await;
        assert_json_error(&resp, "sudo_required");
        in_sudo(&mut browser).await;
    }
    let page = browser.get("/users/settings/passkeys").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>Passkeys</h1>"));
    assert!(page.body.contains("You have no passkeys yet."));
    assert!(
        page.body
            .contains(r#"<label for="new-nickname">Name</label>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<script src="/sigra/passkeys.js" defer></script>"#)
    );

    // Registration options: the user, and the ceremony id to finish with.
    let resp = browser
        .post_json("/users/settings/passkeys/options", "{}")
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    let body = json(&resp);
    assert_eq!(
        body["options"]["publicKey"]["user"]["name"],
        "keys@example.com"
    );
    assert!(body["challenge_id"].is_string());

    // A garbage answer is refused and nothing is stored.
    let resp = browser
        .post_json(
            "/users/settings/passkeys",
            r#"{"challenge_id": "x", "response": {}, "nickname": "Laptop"}"#,
        )
        .await;
    assert!(
        resp.status.is_client_error(),
        "{} {}",
        resp.status,
        resp.body
    );
    let resp = browser
        .post_json("/users/settings/passkeys", r#"{"nickname": "Laptop"}"#)
        .await;
    assert_json_error(&resp, "invalid_body");
    assert_eq!(app.count("user_passkeys").await, 0);

    // Renaming or deleting a passkey that is not there changes nothing.
    for action in ["rename", "delete"] {
        let path = format!(
            "/users/settings/passkeys/{}/{action}",
            "00000000-0000-0000-0000-000000000000"
        );
        let resp = browser.post(&path, &[("nickname", "New")]).await;
        resp.assert_redirect("/users/settings/passkeys");
        let resp = browser
            .post(
                &format!("/users/settings/passkeys/junk/{action}"),
                &[("nickname", "New")],
            )
            .await;
        resp.assert_redirect("/users/settings/passkeys");
        let page = browser.get(&path).await;
        page.assert_redirect("/users/settings/passkeys");
    }
}
