//! The app's SQL keeps every promise sigra-core's store contracts make, and its dev mailbox
//! keeps the mailbox contract. Edit the SQL freely: these tests say at once if an edit broke
//! a security property.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use host_app::web::dev_mailbox::SqlMailbox;
use sigra_core::testing::conformance;

#[tokio::test(flavor = "multi_thread")]
async fn sql_store_keeps_every_contract() {
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_owned();
    conformance::run_all(|| {
        // A fresh database file per case (not `:memory:`: the concurrency cases need real
        // connections racing on one database).
        let path = dir_path.join(format!("{}.sqlite3", uuid::Uuid::now_v7()));
        async move {
            host_app::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap()
        }
    })
    .await;
}

#[tokio::test]
async fn dev_mailbox_keeps_its_contract() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mailbox.sqlite3").display());
    let store = host_app::connect(&url).await.unwrap();
    sigra_core::mail::conformance::check_mailbox(&SqlMailbox::new(store.pool().clone()))
        .await
        .unwrap();
}
