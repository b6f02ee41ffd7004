//! [`PasskeyStore`] contracts.

use super::{
    Must, at, broken, check_eq, check_new_id, check_opt_time, check_time, commit, committed_user,
    in_zone,
};
use crate::store::{
    AuditEvent, AuditOutcome, AuditStore, Id, NewPasskey, PasskeyRecord, PasskeyStore, Store,
    StoreError, Transaction,
};

const PASSKEY_JSON: &str = r#"{"cred":{"cred_id":"AQID","counter":0,"note":"ünïcödé 🦀"}}"#;

/// Whether the store is [`WithoutPasskeys`](crate::store::WithoutPasskeys): the passkey and
/// challenge cases then pass without running (an app installed with `--no-passkeys` has no
/// such tables).
pub(super) fn not_installed<S: Store>() -> bool {
    let skip = !<S::Tx as PasskeyStore>::INSTALLED;
    if skip {
        eprintln!("store conformance: skipped, the app has no passkeys (WithoutPasskeys)");
    }
    skip
}

fn check_passkey(got: &PasskeyRecord, want: &PasskeyRecord, contract: &str) {
    check_eq(
        &got.id,
        &want.id,
        contract,
        "read the id column back unchanged",
    );
    check_eq(
        &got.user_id,
        &want.user_id,
        contract,
        "read user_id back unchanged",
    );
    check_eq(
        &got.credential_id,
        &want.credential_id,
        contract,
        "store credential_id as raw bytes (BLOB / BYTEA), never as text",
    );
    check_eq(
        &got.passkey,
        &want.passkey,
        contract,
        "store the serialised passkey as TEXT, unchanged",
    );
    check_eq(&got.nickname, &want.nickname, contract, "nickname is TEXT");
    check_eq(
        &got.aaguid,
        &want.aaguid,
        contract,
        "aaguid is a nullable UUID (BLOB / UUID), bound as Option<Uuid>",
    );
    check_eq(
        &got.transports,
        &want.transports,
        contract,
        "transports is nullable TEXT, bound as Option<String>",
    );
    check_eq(
        got.sign_count,
        want.sign_count,
        contract,
        "sign_count is a 64-bit integer (INTEGER / BIGINT)",
    );
    check_time(got.created_at, want.created_at, contract, "created_at");
    check_opt_time(
        got.last_used_at,
        want.last_used_at,
        contract,
        "last_used_at",
    );
}

fn new_passkey<S: Store>(store: &S, user: Id, credential_id: &[u8], seconds: i64) -> NewPasskey {
    NewPasskey::new(
        store.new_id(),
        user,
        credential_id.to_vec(),
        PASSKEY_JSON.to_owned(),
        format!("key {seconds}"),
        at(seconds, 0),
    )
}

async fn insert<S: Store>(store: &S, new: &NewPasskey) -> PasskeyRecord {
    let mut tx = store.begin().await.must("begin");
    let row = tx.insert_passkey(new).await.must("insert_passkey");
    commit(tx).await;
    row
}

async fn by_credential<S: Store>(store: &S, credential_id: &[u8]) -> Option<PasskeyRecord> {
    let mut tx = store.begin().await.must("begin");
    tx.passkey_by_credential_id(credential_id)
        .await
        .must("passkey_by_credential_id")
}

/// Every column survives insert, `passkey_by_credential_id` and `list_user_passkeys`
/// (oldest first, only the user's), and `count_user_passkeys` counts.
pub async fn round_trip<S: Store<Tx: 'static>>(store: S) {
    if super::passkeys::not_installed::<S>() {
        return;
    }
    const C: &str = "PasskeyStore::insert_passkey / passkey_by_credential_id / list_user_passkeys round-trip every column";
    let user = committed_user(&store, "passkeys@example.com").await;
    let other = committed_user(&store, "other-passkeys@example.com").await;
    let mut full = new_passkey(&store, user.id, &[0, 1, 2, 255, 254, 0], 10);
    full.created_at = in_zone(at(10, 123_456), 5);
    full.aaguid = Some(uuid::Uuid::from_u128(
        0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
    ));
    full.transports = Some(r#"["hybrid","internal"]"#.into());
    full.sign_count = 4_294_967_295;
    full.nickname = "Laptop «ünïcödé» 🦀".into();
    let older = new_passkey(&store, user.id, &[7; 64], 5);
    let theirs = new_passkey(&store, other.id, &[8; 20], 1);

    let mut rows = Vec::new();
    for new in [&full, &older, &theirs] {
        rows.push(insert(&store, new).await);
    }
    for (row, new) in rows.iter().zip([&full, &older, &theirs]) {
        check_new_id(new.id, row.id, C);
        let mut want = PasskeyRecord::new(
            row.id,
            new.user_id,
            new.credential_id.clone(),
            new.passkey.clone(),
            new.nickname.clone(),
            new.created_at,
        );
        want.aaguid = new.aaguid;
        want.transports = new.transports.clone();
        want.sign_count = new.sign_count;
        check_passkey(row, &want, C);
        match by_credential(&store, &new.credential_id).await {
            Some(got) => check_passkey(&got, &want, C),
            None => broken(
                C,
                "passkey_by_credential_id found nothing after commit",
                "select WHERE credential_id = $1, binding the raw bytes",
            ),
        }
    }
    if by_credential(&store, &[0, 1, 2]).await.is_some() {
        broken(
            C,
            "passkey_by_credential_id matched a prefix of a credential id",
            "compare the whole credential_id, as bytes",
        );
    }
    let mut tx = store.begin().await.must("begin");
    let listed = tx
        .list_user_passkeys(&user.id)
        .await
        .must("list_user_passkeys");
    let ids: Vec<Id> = listed.iter().map(|p| p.id).collect();
    check_eq(
        ids,
        vec![rows[1].id, rows[0].id],
        C,
        "return only the user's passkeys, ORDER BY created_at, id",
    );
    check_eq(
        tx.count_user_passkeys(&user.id)
            .await
            .must("count_user_passkeys"),
        2,
        C,
        "SELECT COUNT(*) … WHERE user_id = $1",
    );
}

/// A second passkey with a taken credential id (even for another user) is refused with
/// `Conflict { what: "user_passkeys.credential_id" }`, and the transaction stays usable.
pub async fn credential_id_unique<S: Store<Tx: 'static>>(store: S) {
    if super::passkeys::not_installed::<S>() {
        return;
    }
    const C: &str = "PasskeyStore::insert_passkey refuses a taken credential_id and the transaction stays usable";
    const FIX: &str = "declare credential_id UNIQUE; INSERT … ON CONFLICT DO NOTHING RETURNING … \
         and report a missing row as StoreError::Conflict { what: \"user_passkeys.credential_id\" }";
    let alice = committed_user(&store, "alice-pk@example.com").await;
    let bob = committed_user(&store, "bob-pk@example.com").await;
    insert(&store, &new_passkey(&store, alice.id, &[42; 32], 0)).await;

    let mut tx = store.begin().await.must("begin");
    match tx
        .insert_passkey(&new_passkey(&store, bob.id, &[42; 32], 1))
        .await
    {
        Err(StoreError::Conflict {
            what: "user_passkeys.credential_id",
        }) => {}
        Ok(_) => broken(
            C,
            "a second passkey with the same credential id was inserted",
            FIX,
        ),
        Err(err) => broken(C, format_args!("failed with {err}"), FIX),
    }
    let event = AuditEvent::new("passkey.register", AuditOutcome::Failure, at(2, 0));
    let after = async {
        tx.insert_audit_event(&event).await?;
        tx.insert_passkey(&new_passkey(&store, bob.id, &[43; 32], 2))
            .await?;
        Ok::<_, StoreError>(())
    }
    .await;
    if let Err(err) = after {
        broken(
            C,
            format_args!("after a Conflict the next statement failed: {err}"),
            FIX,
        );
    }
    if let Err(err) = tx.commit().await {
        broken(
            C,
            format_args!("after a Conflict the commit failed: {err}"),
            FIX,
        );
    }
    match by_credential(&store, &[42; 32]).await {
        Some(row) => check_eq(
            row.user_id,
            alice.id,
            C,
            "a refused insert must change nothing",
        ),
        None => broken(C, "the first passkey vanished", FIX),
    }
    if by_credential(&store, &[43; 32]).await.is_none() {
        broken(C, "a passkey inserted after a Conflict was lost", FIX);
    }
}

/// `rename_passkey` and `delete_passkey` act only on the user's own passkey: another user's id
/// changes nothing and returns `false`.
pub async fn rename_and_delete_are_scoped<S: Store<Tx: 'static>>(store: S) {
    if super::passkeys::not_installed::<S>() {
        return;
    }
    const C: &str = "PasskeyStore::rename_passkey / delete_passkey are scoped to the user";
    const FIX: &str =
        "UPDATE / DELETE … WHERE id = $1 AND user_id = $2; return rows_affected() > 0";
    let alice = committed_user(&store, "alice-scope@example.com").await;
    let mallory = committed_user(&store, "mallory-scope@example.com").await;
    let key = insert(&store, &new_passkey(&store, alice.id, &[1; 16], 0)).await;

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.rename_passkey(&mallory.id, &key.id, "mine now")
            .await
            .must("rename_passkey"),
        false,
        C,
        FIX,
    );
    check_eq(
        tx.delete_passkey(&mallory.id, &key.id)
            .await
            .must("delete_passkey"),
        false,
        C,
        FIX,
    );
    commit(tx).await;
    match by_credential(&store, &[1; 16]).await {
        Some(row) => check_eq(row.nickname.as_str(), "key 0", C, FIX),
        None => broken(C, "another user's delete removed the passkey", FIX),
    }

    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.rename_passkey(&alice.id, &key.id, "Work laptop")
            .await
            .must("rename_passkey"),
        true,
        C,
        FIX,
    );
    commit(tx).await;
    match by_credential(&store, &[1; 16]).await {
        Some(row) => check_eq(row.nickname.as_str(), "Work laptop", C, FIX),
        None => broken(C, "rename removed the passkey", FIX),
    }
    let mut tx = store.begin().await.must("begin");
    check_eq(
        tx.delete_passkey(&alice.id, &key.id)
            .await
            .must("delete_passkey"),
        true,
        C,
        FIX,
    );
    check_eq(
        tx.delete_passkey(&alice.id, &key.id)
            .await
            .must("delete_passkey"),
        false,
        C,
        "a second delete of the same passkey reports false",
    );
    commit(tx).await;
    if by_credential(&store, &[1; 16]).await.is_some() {
        broken(
            C,
            "delete_passkey returned true but the row is still there",
            FIX,
        );
    }
}

/// `update_passkey_after_use` writes the passkey, counter and `last_used_at`, and never moves
/// the counter backwards (an equal counter still updates: synced passkeys always report 0).
pub async fn update_after_use_never_rolls_back<S: Store<Tx: 'static>>(store: S) {
    if super::passkeys::not_installed::<S>() {
        return;
    }
    const C: &str = "PasskeyStore::update_passkey_after_use never lowers sign_count";
    const FIX: &str = "UPDATE user_passkeys SET passkey = $2, sign_count = $3, last_used_at = $4 \
         WHERE id = $1 AND sign_count <= $3; return rows_affected() > 0";
    let user = committed_user(&store, "counter@example.com").await;
    let key = insert(&store, &new_passkey(&store, user.id, &[5; 16], 0)).await;

    let mut tx = store.begin().await.must("begin");
    let moved = tx
        .update_passkey_after_use(&key.id, "{\"v\":2}", 7, in_zone(at(60, 1), -7))
        .await
        .must("update_passkey_after_use");
    commit(tx).await;
    check_eq(moved, true, C, FIX);
    let mut tx = store.begin().await.must("begin");
    let back = tx
        .update_passkey_after_use(&key.id, "{\"v\":3}", 6, at(120, 0))
        .await
        .must("update_passkey_after_use");
    let same = tx
        .update_passkey_after_use(&key.id, "{\"v\":4}", 7, at(180, 0))
        .await
        .must("update_passkey_after_use");
    commit(tx).await;
    check_eq(back, false, C, FIX);
    check_eq(same, true, C, FIX);
    match by_credential(&store, &[5; 16]).await {
        Some(row) => {
            check_eq(row.passkey.as_str(), "{\"v\":4}", C, FIX);
            check_eq(row.sign_count, 7, C, FIX);
            check_opt_time(row.last_used_at, Some(at(180, 0)), C, "last_used_at");
        }
        None => broken(C, "the passkey vanished", FIX),
    }
}
