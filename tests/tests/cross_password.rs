//! Cross-implementation tests of `sigra_core::password` against argon2-cffi and Python's bcrypt
//! (`tests/py/password_peer.py`), in both directions: hashes we make verify there, hashes they
//! make verify here (and upgrade to Argon2id), and wrong or tampered input fails on both sides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sigra_core::password::{Argon2Params, Password, PasswordError, PasswordHasher, Verification};

const PASSWORDS: [&str; 3] = [
    "correct horse battery staple",
    "pässwörd 😀 密码 with spaces",
    "a",
];

fn peer(op: &str, cases: Value) -> Option<Value> {
    sigra_tests::run_peer("password_peer.py", &json!({ "op": op, "cases": cases }))
}

fn pw(s: &str) -> Password {
    Password::from(s)
}

/// A 1024-byte passphrase: the longest input sigra accepts.
fn longest() -> String {
    "correct horse battery staple "
        .repeat(40)
        .chars()
        .take(1024)
        .collect()
}

/// A wrong password of the same length in bytes as `password` (its last character changed).
fn wrong(password: &str) -> String {
    let mut w = password.to_owned();
    let last = w.pop().unwrap();
    w.push(if last == 'Z' { 'Y' } else { 'Z' });
    w.extend(std::iter::repeat_n('Z', last.len_utf8() - 1));
    w
}

/// Changes one character in the middle of the last `$`-field (the hash output), keeping the
/// string well-formed. (The last base64 character may carry unused bits, so it is not touched.)
fn tamper(hash: &str) -> String {
    let cut = hash.rfind('$').unwrap() + 6;
    let mut bytes = hash.as_bytes().to_vec();
    bytes[cut] = if bytes[cut] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn results(out: &Value) -> &Vec<Value> {
    out["results"].as_array().unwrap()
}

#[tokio::test]
async fn argon2_cffi_verifies_our_hashes() {
    let default = PasswordHasher::default();
    let two_lanes = PasswordHasher::builder()
        .params(Argon2Params::new(19456, 2, 2).unwrap())
        .build()
        .unwrap();
    let long = longest();
    let passwords: Vec<&str> = PASSWORDS.iter().copied().chain([long.as_str()]).collect();

    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (hasher, p) in [(&default, 1), (&two_lanes, 2)] {
        for password in &passwords {
            let hash = hasher.hash(&pw(password)).await.unwrap().into_string();
            cases.push(json!({ "hash": hash, "password": password }));
            expected.push((true, p));
            cases.push(json!({ "hash": hash, "password": wrong(password) }));
            expected.push((false, p));
            cases.push(json!({ "hash": tamper(&hash), "password": password }));
            expected.push((false, p));
        }
    }
    let Some(out) = peer("argon2_verify", json!(cases)) else {
        return;
    };
    for ((result, (valid, p)), case) in results(&out).iter().zip(&expected).zip(&cases) {
        assert_eq!(result["valid"], json!(valid), "{case} -> {result}");
        let params = &result["params"];
        assert_eq!(params["type"], "ID", "{result}");
        assert_eq!(params["version"], 19);
        assert_eq!(params["memory_cost"], 19456);
        assert_eq!(params["time_cost"], 2);
        assert_eq!(params["parallelism"], json!(p));
        assert_eq!(params["salt_len"], 16);
        assert_eq!(params["hash_len"], 32);
    }
    assert_eq!(results(&out).len(), expected.len());
}

#[tokio::test]
async fn we_verify_argon2_cffi_hashes_and_upgrade_them() {
    let hasher = PasswordHasher::default();
    let long = longest();
    let mut cases = Vec::new();
    for password in PASSWORDS.iter().copied().chain([long.as_str()]) {
        // argon2-cffi's defaults: m=65536, t=3, p=4.
        cases.push(json!({ "password": password, "params": null }));
    }
    let ours = json!({ "memory_cost": 19456, "time_cost": 2, "parallelism": 1, "type": "id" });
    cases.push(json!({ "password": PASSWORDS[0], "params": ours }));
    for variant in ["i", "d"] {
        let params =
            json!({ "memory_cost": 8192, "time_cost": 2, "parallelism": 2, "type": variant });
        cases.push(json!({ "password": PASSWORDS[0], "params": params }));
    }
    let Some(out) = peer("argon2_hash", json!(cases)) else {
        return;
    };
    let hashes: Vec<String> = serde_json::from_value(out["hashes"].clone()).unwrap();
    assert_eq!(hashes.len(), cases.len());

    let mut upgraded = Vec::new();
    for (hash, case) in hashes.iter().zip(&cases) {
        let password = case["password"].as_str().unwrap();
        let result = hasher.verify(&pw(password), hash).await.unwrap();
        let same_params = case["params"] == ours;
        assert_eq!(hasher.needs_rehash(hash).unwrap(), !same_params, "{hash}");
        if same_params {
            assert_eq!(result, Verification::Valid { upgraded: None }, "{hash}");
        } else {
            let new = result.upgraded().unwrap().as_str().to_owned();
            assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
            upgraded.push(json!({ "hash": new, "password": password }));
        }
        if hash.starts_with("$argon2id$v=19$m=65536,t=3,p=4$") {
            assert!(case["params"].is_null());
        }
        assert_eq!(
            hasher.verify(&pw(&wrong(password)), hash).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            hasher.verify(&pw(password), &tamper(hash)).await.unwrap(),
            Verification::Invalid,
            "tampered {hash}"
        );
    }

    // The upgraded hashes verify in argon2-cffi too.
    let out = peer("argon2_verify", json!(upgraded)).unwrap();
    for result in results(&out) {
        assert_eq!(result["valid"], true, "{result}");
    }
}

#[tokio::test]
async fn python_bcrypt_hashes_verify_here_and_upgrade_to_argon2id() {
    let hasher = PasswordHasher::default();
    let seventy_two = "x".repeat(72);
    let mut cases = Vec::new();
    for (prefix, cost) in [("2b", 4), ("2a", 5), ("2y", 4)] {
        for password in PASSWORDS.iter().copied().chain([seventy_two.as_str()]) {
            cases.push(json!({ "password": password, "cost": cost, "prefix": prefix }));
        }
    }
    let Some(out) = peer("bcrypt_hash", json!(cases)) else {
        return;
    };
    let hashes: Vec<String> = serde_json::from_value(out["hashes"].clone()).unwrap();
    assert_eq!(hashes.len(), cases.len());

    let mut upgraded = Vec::new();
    let mut refused_here = Vec::new();
    for (hash, case) in hashes.iter().zip(&cases) {
        let prefix = case["prefix"].as_str().unwrap();
        assert!(hash.starts_with(&format!("${prefix}$")), "{hash}");
        let password = case["password"].as_str().unwrap();
        assert!(hasher.needs_rehash(hash).unwrap());

        let result = hasher.verify(&pw(password), hash).await.unwrap();
        let new = result.upgraded().unwrap().as_str().to_owned();
        assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
        upgraded.push(json!({ "hash": new, "password": password }));

        assert_eq!(
            hasher.verify(&pw(&wrong(password)), hash).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            hasher.verify(&pw(password), &tamper(hash)).await.unwrap(),
            Verification::Invalid,
            "tampered {hash}"
        );
        if password.len() == 72 {
            // One byte more: Python's bcrypt raises, we refuse; neither checks a prefix.
            let longer = format!("{password}y");
            assert!(matches!(
                hasher.verify(&pw(&longer), hash).await,
                Err(PasswordError::LegacyHashPasswordTooLong)
            ));
            refused_here.push(json!({ "hash": hash, "password": longer }));
        }
    }

    // Upgraded hashes verify in argon2-cffi.
    let out = peer("argon2_verify", json!(upgraded)).unwrap();
    assert_eq!(results(&out).len(), upgraded.len());
    for result in results(&out) {
        assert_eq!(result["valid"], true, "{result}");
    }

    // Python's bcrypt agrees on wrong, tampered and too-long passwords.
    let mut checks = Vec::new();
    for (hash, case) in hashes.iter().zip(&cases) {
        let password = case["password"].as_str().unwrap();
        checks.push((json!({ "hash": hash, "password": password }), true));
        checks.push((json!({ "hash": hash, "password": wrong(password) }), false));
        checks.push((json!({ "hash": tamper(hash), "password": password }), false));
    }
    let inputs: Vec<Value> = checks.iter().map(|(c, _)| c.clone()).collect();
    let out = peer("bcrypt_verify", json!(inputs)).unwrap();
    for (result, (case, valid)) in results(&out).iter().zip(&checks) {
        let too_long = case["password"].as_str().unwrap().len() > 72;
        assert_eq!(
            result["valid"],
            json!(*valid && !too_long),
            "{case} -> {result}"
        );
    }
    let out = peer("bcrypt_verify", json!(refused_here)).unwrap();
    for result in results(&out) {
        assert_eq!(result["valid"], false);
        assert!(
            result["error"].as_str().unwrap().contains("72 bytes"),
            "{result}"
        );
    }
}
