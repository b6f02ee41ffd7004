//! The accounts context end to end on the app's SQL store, without HTTP: registering,
//! the confirmation mail, confirming by code, logging in and out.

mod support;

use sigra_core::audit::RequestMeta;
use sigra_core::auth::{AuthMail, LoginAttempt};
use sigra_core::mail::Mailbox;
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

    let mail = accounts
        .register("ada@example.com", &Password::from(PASSWORD), &meta())
        .await
        .unwrap()
        .expect("a confirmation mail");
    let AuthMail::Confirm { code, .. } = &mail else {
        panic!("expected a confirmation mail, got {}", mail.kind());
    };
    let rendered = state.mailer.render(&mail).unwrap();
    assert!(rendered.text().contains(code.as_str()));
    assert!(
        rendered
            .text()
            .contains(&format!("{}/users/confirm/", support::APP_URL))
    );

    // The address is compared without regard to case.
    let logged_in = accounts
        .confirm_with_code("Ada@Example.com", code, &meta())
        .await
        .unwrap();
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
    assert!(matches!(wrong, LoginAttempt::Failed { .. }), "{wrong:?}");

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

    let again = accounts
        .register("GRACE@example.com", &password, &meta())
        .await
        .unwrap()
        .expect("a mail to the owner");
    assert!(
        matches!(again, AuthMail::AccountExists { .. }),
        "{}",
        again.kind()
    );

    // Sent to the dev mailbox, where it can be read.
    state.mailer.send(&again).await.unwrap();
    let mailbox = state
        .dev_mailbox
        .as_ref()
        .expect("dev mode has a dev mailbox");
    let mails = mailbox.list(10).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "grace@example.com");
    assert_eq!(mails[0].kind, "account_exists");
}
