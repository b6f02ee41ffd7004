//! The accounts context end to end on the app's SQL store, without HTTP: registering,
//! the confirmation mail, confirming by code, logging in and out.

mod support;

use sigra_core::audit::RequestMeta;
use sigra_core::auth::{AuthMail, ConfirmEvidence, LoginAttempt};
use sigra_core::password::Password;
use sigra_example_host::accounts::User;

const PASSWORD: &str = "correct horse battery staple";

fn meta() -> RequestMeta {
    RequestMeta::new(Some("127.0.0.1".parse().unwrap()), Some("tests".into()))
}

#[tokio::test]
async fn a_new_user_confirms_with_the_mailed_code_and_logs_in() {
    let (state, _database) = support::state().await;
    let accounts = &state.accounts;

    // The proof the registering browser keeps in a cookie: confirming with it keeps the password.
    let proof = accounts
        .register("ada@example.com", &Password::from(PASSWORD), &meta())
        .await
        .unwrap();
    let mail = support::last_notice_to(&state, "ada@example.com").await;
    let AuthMail::Confirm { code, .. } = &mail else {
        panic!("expected a confirmation mail, got {}", mail.kind());
    };
    let rendered = support::last_mail_to(&state, "ada@example.com").await;
    assert!(rendered.text().contains(code.as_str()));
    assert!(
        rendered
            .text()
            .contains(&format!("{}/users/confirm/", support::APP_URL))
    );

    // The address is compared without regard to case.
    let same_browser = ConfirmEvidence::none().registration(Some(proof.as_str().to_owned()));
    let logged_in = accounts
        .confirm_with_code("Ada@Example.com", code, same_browser, &meta())
        .await
        .unwrap();
    assert!(!logged_in.needs_password());
    let user = User::from(logged_in.user);
    assert_eq!(user.email, "ada@example.com");
    assert!(user.is_confirmed());
    let session = accounts
        .authenticate(&logged_in.token.cookie_value())
        .await
        .unwrap()
        .expect("the new session is valid");
    assert_eq!(session.user.id, user.id);

    let wrong = accounts
        .log_in(
            "ada@example.com",
            &Password::from("not the password"),
            false,
            &meta(),
        )
        .await
        .unwrap();
    assert!(matches!(wrong, LoginAttempt::Failed), "{wrong:?}");

    let LoginAttempt::Success(again) = accounts
        .log_in("ada@example.com", &Password::from(PASSWORD), false, &meta())
        .await
        .unwrap()
    else {
        panic!("the right password logs in");
    };
    let cookie = again.token.cookie_value();
    accounts.log_out(&cookie, &meta()).await.unwrap();
    assert!(accounts.authenticate(&cookie).await.unwrap().is_none());
}

#[tokio::test]
async fn registering_a_taken_address_mails_its_owner_instead() {
    let (state, _database) = support::state().await;
    let accounts = &state.accounts;
    let password = Password::from(PASSWORD);
    accounts
        .register("grace@example.com", &password, &meta())
        .await
        .unwrap();

    accounts
        .register("GRACE@example.com", &password, &meta())
        .await
        .unwrap();

    // The owner got the confirmation, then word that someone tried the address again; the
    // registrant learns nothing either way.
    let mails = support::notices_to(&state, "grace@example.com").await;
    let kinds: Vec<&str> = mails.iter().map(AuthMail::kind).collect();
    assert_eq!(kinds, ["confirm", "account_exists"]);
}
