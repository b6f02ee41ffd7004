//! Expired links are refused with a message. Lifetimes are shortened to one second and the
//! test waits them out (its own test binary, so nothing else waits).

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use support::browser::{PASSWORD, TestApp, link_in};

#[tokio::test]
async fn expired_links_are_refused() {
    let one_second = Duration::from_secs(1);
    let app = TestApp::with_config(|c| {
        c.tokens(|t| {
            t.confirm_ttl = one_second;
            t.reset_password_ttl = one_second;
            t.magic_link_ttl = one_second;
        })
    })
    .await;
    let email = "quinn@example.com";
    let mut quinn = app.browser();
    quinn
        .submit(
            "/users/register",
            "/users/register",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/users/confirm");
    let confirm = link_in(&app.mail(email, "confirm").await, "/users/confirm/");
    quinn
        .submit("/users/log_in", "/users/log_in/magic", &[("email", email)])
        .await
        .assert_redirect("/users/log_in");
    let magic = link_in(&app.mail(email, "magic_link").await, "/users/log_in/");
    quinn
        .submit(
            "/users/reset_password",
            "/users/reset_password",
            &[("email", email)],
        )
        .await
        .assert_redirect("/users/log_in");
    let reset = link_in(
        &app.mail(email, "reset_password").await,
        "/users/reset_password/",
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;

    let before = app.counts().await;
    for link in [&confirm, &magic, &reset] {
        quinn.get(link).await;
        let resp = quinn
            .post(
                link,
                &[
                    ("password", "brand new passphrase"),
                    ("password_confirmation", "brand new passphrase"),
                ],
            )
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{link}: {}",
            resp.body
        );
        assert!(resp.body.contains("invalid or it has expired"), "{link}");
    }
    assert_eq!(
        quinn.get(&reset).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(quinn.session_cookie().is_none());
    assert_eq!(app.counts().await, before);
}
