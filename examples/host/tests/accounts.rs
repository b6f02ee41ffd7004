//! The users queries against the real migrations.

mod support;

use sigra_example_host::accounts;

#[tokio::test]
async fn a_created_user_is_found_by_email_in_any_case() {
    let db = support::state().await.db;
    let email = format!("ada+{}@example.com", uuid::Uuid::now_v7());

    let created = accounts::create_user(&db, &email).await.unwrap();
    assert_eq!(created.email, email);
    assert_eq!(created.confirmed_at, None);

    let found = accounts::get_user_by_email(&db, &email.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found, Some(created));
}

#[tokio::test]
async fn an_email_belongs_to_one_user_whatever_its_case() {
    let db = support::state().await.db;
    let email = format!("grace+{}@example.com", uuid::Uuid::now_v7());

    accounts::create_user(&db, &email).await.unwrap();
    let again = accounts::create_user(&db, &email.to_uppercase()).await;
    assert!(again.is_err(), "a second {email} was accepted");
}
