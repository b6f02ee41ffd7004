//! A stranger cannot tell from the answers whether an email address has an account.

mod support;

use axum::http::StatusCode;
use support::browser::{Browser, PASSWORD, Resp, TestApp};

const TAKEN: &str = "taken@example.com";
const UNKNOWN: &str = "nobody@example.com";

#[track_caller]
fn assert_same(a: &Resp, b: &Resp) {
    assert_eq!(a.status, b.status);
    assert_eq!(a.location(), b.location());
    assert_eq!(a.body, b.body);
}

async fn both(
    browser: &mut Browser,
    page: &str,
    action: &str,
    fields: impl Fn(&str) -> Vec<(&'static str, String)>,
) -> (Resp, Resp) {
    browser.get(page).await;
    let mut answers = Vec::new();
    for email in [TAKEN, UNKNOWN] {
        let owned = fields(email);
        let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        answers.push(browser.post(action, &borrowed).await);
    }
    let second = answers.pop().unwrap();
    let first = answers.pop().unwrap();
    (first, second)
}

#[tokio::test]
async fn registration_answers_alike_and_mails_the_owner_instead() {
    let app = TestApp::start().await;
    app.confirmed_user(TAKEN).await;
    let mut stranger = app.browser();
    let (taken, unknown) = both(
        &mut stranger,
        "/users/register",
        "/users/register",
        |email| {
            vec![
                ("email", email.to_owned()),
                ("password", "another fine passphrase".to_owned()),
            ]
        },
    )
    .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER);
    assert_same(&taken, &unknown);
    app.mail(TAKEN, "account_exists").await;
    app.mail(UNKNOWN, "confirm").await;

    // Even a weak password is refused the same way for both.
    let (taken, unknown) = both(
        &mut stranger,
        "/users/register",
        "/users/register",
        |email| {
            vec![
                ("email", email.to_owned()),
                ("password", "short".to_owned()),
            ]
        },
    )
    .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        taken.body.replace(TAKEN, "EMAIL"),
        unknown.body.replace(UNKNOWN, "EMAIL")
    );
}

#[tokio::test]
async fn password_reset_magic_link_and_resend_answer_alike() {
    let app = TestApp::start().await;
    app.confirmed_user(TAKEN).await;
    let mut stranger = app.browser();

    let (taken, unknown) = both(
        &mut stranger,
        "/users/reset_password",
        "/users/reset_password",
        |email| vec![("email", email.to_owned())],
    )
    .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER);
    assert_same(&taken, &unknown);
    app.mail(TAKEN, "reset_password").await;

    let (taken, unknown) = both(
        &mut stranger,
        "/users/log_in",
        "/users/log_in/magic",
        |email| vec![("email", email.to_owned())],
    )
    .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER);
    assert_same(&taken, &unknown);
    app.mail(TAKEN, "magic_link").await;

    let (taken, unknown) = both(
        &mut stranger,
        "/users/confirm",
        "/users/confirm/resend",
        |email| vec![("email", email.to_owned())],
    )
    .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER);
    assert_same(&taken, &unknown);

    // A wrong confirmation code answers the same for an unknown address.
    let (taken, unknown) = both(&mut stranger, "/users/confirm", "/users/confirm", |email| {
        vec![("email", email.to_owned()), ("code", "000000".to_owned())]
    })
    .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        taken.body.replace(TAKEN, "EMAIL"),
        unknown.body.replace(UNKNOWN, "EMAIL")
    );

    // Nothing was mailed to the unknown address.
    assert_eq!(app.mail_count(UNKNOWN).await, 0);
}

#[tokio::test]
async fn a_locked_account_answers_like_a_wrong_password() {
    let app = TestApp::start().await;
    app.confirmed_user(TAKEN).await;

    let mut attacker = app.browser();
    attacker.get("/users/log_in").await;
    for _ in 0..5 {
        let resp = attacker
            .post(
                "/users/log_in",
                &[("email", TAKEN), ("password", "wrong password guess")],
            )
            .await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let notice = app.mail(TAKEN, "lockout_notice").await;
    assert!(notice.contains("locked"), "{notice}");

    let mut probe = app.browser();
    probe.get("/users/log_in").await;
    let right = probe
        .post("/users/log_in", &[("email", TAKEN), ("password", PASSWORD)])
        .await;
    let wrong = probe
        .post(
            "/users/log_in",
            &[("email", TAKEN), ("password", "wrong password guess")],
        )
        .await;
    let unknown = probe
        .post(
            "/users/log_in",
            &[("email", UNKNOWN), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(right.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_same(&right, &wrong);
    assert_eq!(right.status, unknown.status);
    assert_eq!(
        right.body.replace(TAKEN, "EMAIL"),
        unknown.body.replace(UNKNOWN, "EMAIL")
    );
    assert!(right.body.contains("Invalid email or password"));
    assert!(probe.session_cookie().is_none());
}
