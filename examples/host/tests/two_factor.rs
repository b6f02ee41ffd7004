//! Two-factor authentication through the pages: enrolling with a code computed from the
//! secret the page shows, logging in with a TOTP code and with backup codes, trusting a
//! browser, forgetting trusted browsers, the MFA lockout, and turning it off. Codes are
//! computed with sigra-core's TOTP from the secret on the page, as an authenticator app
//! would.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use sigra_core::totp::{Totp, TotpParams, TotpSecret};
use support::browser::{Browser, PASSWORD, TestApp};

/// The code an authenticator app shows `offset` seconds from now.
fn code(secret: &str, offset: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = i64::try_from(now).unwrap() + offset;
    Totp::new(
        TotpSecret::from_base32(secret).unwrap(),
        TotpParams::default(),
    )
    .unwrap()
    .code_at(at)
    .unwrap()
}

/// The text between `start` and the next `end` in `body`.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {body}"))
        + start.len();
    let len = body[from..].find(end).unwrap();
    &body[from..from + len]
}

/// Turns MFA on for the logged-in `browser`; returns the secret and the backup codes.
async fn enrol(browser: &mut Browser) -> (String, Vec<String>) {
    let page = browser.get("/users/settings/two_factor").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Two-factor authentication is off"),
        "{}",
        page.body
    );
    let resp = browser.post("/users/settings/two_factor/enroll", &[]).await;
    resp.assert_redirect("/users/settings/two_factor");
    let page = browser.follow(&resp).await;
    assert!(page.body.contains("<svg"), "the QR code is inline");
    let secret = between(&page.body, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();

    // A wrong code: the same page again with the same secret and an error.
    let wrong = if code(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let resp = browser
        .post("/users/settings/two_factor/confirm", &[("code", wrong)])
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.body
    );
    assert!(resp.body.contains(&secret));
    assert!(resp.body.contains("The code is invalid"), "{}", resp.body);

    let resp = browser
        .post(
            "/users/settings/two_factor/confirm",
            &[("code", &code(&secret, 0))],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    assert!(
        resp.body.contains("Two-factor authentication is on"),
        "{}",
        resp.body
    );
    let list = between(
        &resp.body,
        "<ul class=\"backup-codes\" id=\"backup-codes\">",
        "</ul>",
    );
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 8, "{list}");
    assert!(resp.body.contains("download=\"backup-codes.txt\""));
    (secret, codes)
}

/// Logs in with the password and expects the MFA page.
async fn log_in_to_mfa(browser: &mut Browser, email: &str) {
    let resp = browser
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/users/mfa");
    let page = browser.follow(&resp).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("authenticator app"), "{}", page.body);
    // The pending session opens nothing else.
    let home = browser.get("/").await;
    assert!(home.body.contains("You are not logged in"), "{}", home.body);
}

#[tokio::test]
async fn enrol_then_log_in_with_a_code_a_backup_code_and_a_trusted_browser() {
    let app = TestApp::start().await;
    let email = "two@example.com";
    let mut browser = app.confirmed_user(email).await;
    browser
        .submit("/users/sudo", "/users/sudo", &[("password", PASSWORD)])
        .await;
    let (secret, codes) = enrol(&mut browser).await;
    assert!(
        app.mail(email, "mfa_enabled")
            .await
            .contains("Two-factor authentication is now on")
    );
    browser
        .post("/users/log_out", &[])
        .await
        .assert_redirect("/");

    // The enrolment used this time step's code: the next step's is fresh (±1 step window).
    log_in_to_mfa(&mut browser, email).await;
    let resp = browser
        .post("/users/mfa", &[("code", &code(&secret, 30))])
        .await;
    resp.assert_redirect("/");
    let home = browser.follow(&resp).await;
    assert!(home.body.contains("You are logged in as"), "{}", home.body);
    browser
        .post("/users/log_out", &[])
        .await
        .assert_redirect("/");

    // A backup code, typed loosely, and it works once; "trust this browser".
    log_in_to_mfa(&mut browser, email).await;
    let loose = codes[0].to_lowercase().replace('-', " ");
    let resp = browser
        .post("/users/mfa", &[("code", &loose), ("trust_browser", "true")])
        .await;
    resp.assert_redirect("/");
    assert!(
        browser.jar.keys().any(|k| k.ends_with("sigra_mfa_trust")),
        "trust cookie set"
    );
    browser
        .post("/users/log_out", &[])
        .await
        .assert_redirect("/");

    // The trusted browser logs in with the password alone.
    let resp = browser
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/");

    // Another browser still gets the step, and the used backup code is refused there.
    let mut other = app.browser();
    log_in_to_mfa(&mut other, email).await;
    let resp = other.post("/users/mfa", &[("code", &codes[0])]).await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.body
    );
    assert!(resp.body.contains("The code is invalid"), "{}", resp.body);
    other
        .post("/users/mfa", &[("code", &codes[1])])
        .await
        .assert_redirect("/");

    // Forget trusted browsers (from the other browser): the first one is asked again.
    other
        .submit("/users/sudo", "/users/sudo", &[("password", PASSWORD)])
        .await;
    other
        .post("/users/settings/two_factor/forget_browsers", &[])
        .await
        .assert_redirect("/users/settings/two_factor");
    browser
        .post("/users/log_out", &[])
        .await
        .assert_redirect("/");
    log_in_to_mfa(&mut browser, email).await;
    browser
        .post("/users/mfa", &[("code", &codes[2])])
        .await
        .assert_redirect("/");

    // New backup codes: the old ones die; then MFA off.
    let resp = other
        .post("/users/settings/two_factor/backup_codes", &[])
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    assert!(
        resp.body.contains("New backup codes are ready"),
        "{}",
        resp.body
    );
    assert!(!resp.body.contains(&codes[3]));
    app.mail(email, "backup_codes_regenerated").await;
    other
        .post("/users/settings/two_factor/disable", &[])
        .await
        .assert_redirect("/users/settings/two_factor");
    app.mail(email, "mfa_disabled").await;
    other.post("/users/log_out", &[]).await.assert_redirect("/");
    other
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/");
}

#[tokio::test]
async fn the_mfa_page_refuses_bad_codes_clearly_and_locks_after_five() {
    let app = TestApp::start().await;
    let email = "lock@example.com";
    let mut browser = app.confirmed_user(email).await;
    browser
        .submit("/users/sudo", "/users/sudo", &[("password", PASSWORD)])
        .await;
    let (secret, _) = enrol(&mut browser).await;
    browser
        .post("/users/log_out", &[])
        .await
        .assert_redirect("/");

    // Without a pending login the page sends to the login form.
    let mut stranger = app.browser();
    stranger
        .get("/users/mfa")
        .await
        .assert_redirect("/users/log_in");
    stranger.get("/users/log_in").await;
    stranger
        .post("/users/mfa", &[("code", "123456")])
        .await
        .assert_redirect("/users/log_in");

    log_in_to_mfa(&mut browser, email).await;
    // A form too large to read is refused before any code is looked at.
    let huge = "9".repeat(100_000);
    let resp = browser.post("/users/mfa", &[("code", &huge)]).await;
    assert!(
        resp.status.is_client_error(),
        "{} {}",
        resp.status,
        resp.body
    );
    let right = code(&secret, 30);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for bad in ["12345", "abcdef", "", "1234567"] {
        let resp = browser.post("/users/mfa", &[("code", bad)]).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            resp.body
        );
        assert!(resp.body.contains("The code is invalid"), "{}", resp.body);
    }
    // The fifth wrong code locks the second factor and ends the pending login.
    let resp = browser.post("/users/mfa", &[("code", wrong)]).await;
    assert_eq!(resp.status, StatusCode::TOO_MANY_REQUESTS, "{}", resp.body);
    assert!(resp.headers.contains_key("retry-after"));
    app.mail(email, "mfa_lockout").await;
    let page = browser.get("/users/mfa").await;
    page.assert_redirect("/users/log_in");
    // Even the right code waits for the lock to end.
    log_in_to_mfa(&mut browser, email).await;
    let resp = browser.post("/users/mfa", &[("code", &right)]).await;
    assert_eq!(resp.status, StatusCode::TOO_MANY_REQUESTS, "{}", resp.body);
}
