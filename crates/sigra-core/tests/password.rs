//! Integration tests of `sigra_core::password`: policy edges, hashing and verification,
//! rehash and upgrade, the bcrypt 72-byte refusal, the dummy verify, the semaphore bound, the
//! breached-password check, and property tests of the stored-hash parser.
// Test helpers may unwrap: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::PasswordHasher as _;
use proptest::prelude::*;
use sigra_core::password::{
    Argon2Params, BreachClientError, HashCostLimits, MAX_PASSWORD_BYTES, Password, PasswordError,
    PasswordHasher, PasswordPolicy, PwnedPasswordsRange, Verification, breach_count,
    check_not_breached, common_password_count, is_common_password,
};

/// A hasher with tiny parameters (m = 64 KiB, t = 1, p = 1) so tests stay fast.
fn tiny() -> PasswordHasher {
    hasher_with(64, 1, 1)
}

fn hasher_with(m: u32, t: u32, p: u32) -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::danger_weak(m, t, p).unwrap())
        .build()
        .unwrap()
}

fn pw(s: &str) -> Password {
    Password::from(s)
}

/// An Argon2 PHC string made directly with the argon2 crate (not through sigra).
fn raw_argon2(
    alg: argon2::Algorithm,
    version: argon2::Version,
    m: u32,
    t: u32,
    p: u32,
    password: &str,
) -> String {
    let params = argon2::Params::new(m, t, p, None).unwrap();
    argon2::Argon2::new(alg, version, params)
        .hash_password_with_salt(password.as_bytes(), b"0123456789abcdef")
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------

#[test]
fn seven_characters_refused_eight_accepted() {
    let policy = PasswordPolicy::default();
    let err = policy.check(&pw("zq7Kx3m")).unwrap_err();
    assert!(matches!(err, PasswordError::TooShort { min_chars: 8 }));
    assert_eq!(
        err.to_string(),
        "password is too short: use at least 8 characters"
    );
    policy.check(&pw("zq7Kx3mW")).unwrap();
}

#[test]
fn long_passphrases_are_accepted_and_hashed_whole() {
    let policy = PasswordPolicy::default();
    let hasher = tiny();
    let sixty_four: String = "a long passphrase made of several words, "
        .repeat(2)
        .chars()
        .take(64)
        .collect();
    assert_eq!(sixty_four.chars().count(), 64);
    policy.check(&pw(&sixty_four)).unwrap();

    let max: String = "correct horse battery staple "
        .repeat(40)
        .chars()
        .take(MAX_PASSWORD_BYTES)
        .collect();
    assert_eq!(max.len(), 1024);
    policy.check(&pw(&max)).unwrap();
    let hash = hasher.hash_blocking(&pw(&max)).unwrap();
    assert!(
        hasher
            .verify_blocking(&pw(&max), hash.as_str())
            .unwrap()
            .is_valid()
    );

    // Nothing is truncated: changing only the last byte (or dropping it) fails.
    let mut last_changed = max.clone();
    last_changed.pop();
    assert_eq!(
        hasher
            .verify_blocking(&pw(&last_changed), hash.as_str())
            .unwrap(),
        Verification::Invalid
    );
    last_changed.push('X');
    assert_eq!(
        hasher
            .verify_blocking(&pw(&last_changed), hash.as_str())
            .unwrap(),
        Verification::Invalid
    );
}

#[tokio::test]
async fn over_1024_bytes_is_refused_everywhere_with_the_limit_named() {
    let policy = PasswordPolicy::default();
    let hasher = tiny();
    let too_long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    let stored = hasher.hash(&pw("correct horse battery")).await.unwrap();

    let errors = [
        policy.check(&pw(&too_long)).unwrap_err(),
        hasher.hash(&pw(&too_long)).await.unwrap_err(),
        hasher
            .verify(&pw(&too_long), stored.as_str())
            .await
            .unwrap_err(),
        hasher.dummy_verify(&pw(&too_long)).await.unwrap_err(),
        hasher.hash_blocking(&pw(&too_long)).unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(err, PasswordError::TooLong { max_bytes: 1024 }),
            "{err:?}"
        );
        assert!(err.to_string().contains("at most 1024 bytes"), "{err}");
    }
    // 1024 bytes of multi-byte characters is 1024 bytes, fine; one more character is not.
    let four_byte = "😀".repeat(256);
    assert_eq!(four_byte.len(), 1024);
    policy.check(&pw(&four_byte)).unwrap();
    assert!(policy.check(&pw(&format!("{four_byte}a"))).is_err());
}

#[test]
fn unicode_is_counted_in_characters_not_bytes() {
    let policy = PasswordPolicy::default();
    // 7 characters, 9 bytes: too short.
    assert!(matches!(
        policy.check(&pw("pässwör")),
        Err(PasswordError::TooShort { .. })
    ));
    // 4 emoji are 16 bytes but 4 characters: too short.
    assert!(matches!(
        policy.check(&pw("😀😀😀😀")),
        Err(PasswordError::TooShort { .. })
    ));
    // 8 characters of any script: long enough.
    policy.check(&pw("😀🎉🔑🌍🚀🍕🐙🎸")).unwrap();
    policy.check(&pw("пароль12")).unwrap();
    policy.check(&pw("密码是很长的吗")).unwrap_err(); // 7 characters
    policy.check(&pw("密码是很长的吗吗")).unwrap();
}

#[test]
fn common_passwords_are_refused_case_insensitively() {
    let policy = PasswordPolicy::default();
    for candidate in [
        "password1",
        "PASSWORD1",
        "Password1",
        "iLoVeYoU",
        "qwertyuiop",
        "Baseball",
    ] {
        assert!(
            matches!(policy.check(&pw(candidate)), Err(PasswordError::TooCommon)),
            "{candidate} should be refused"
        );
        assert!(is_common_password(candidate));
    }
    // A common word inside a passphrase is fine.
    policy
        .check(&pw("password1 is what my bank thinks i use"))
        .unwrap();
    assert!(!is_common_password(
        "password1 is what my bank thinks i use"
    ));
    let msg = policy.check(&pw("Password1")).unwrap_err().to_string();
    assert!(msg.contains("too common"), "{msg}");
}

#[test]
fn common_list_has_at_least_ten_thousand_entries() {
    assert!(
        common_password_count() >= 10_000,
        "{}",
        common_password_count()
    );
}

#[test]
fn policy_refuses_the_account_s_own_details() {
    let policy = PasswordPolicy::default();
    assert!(matches!(
        policy.check_for_user(
            &pw("ADA.LOVELACE@EXAMPLE.COM"),
            &["ada.lovelace@example.com"]
        ),
        Err(PasswordError::MatchesUserInput)
    ));
    assert!(matches!(
        policy.check_for_user(
            &pw("countess_of_lovelace"),
            &["x@example.com", "Countess_of_Lovelace"]
        ),
        Err(PasswordError::MatchesUserInput)
    ));
    policy
        .check_for_user(&pw("countess of lovelace"), &["ada@example.com"])
        .unwrap();
}

#[test]
fn policy_configuration() {
    assert!(PasswordPolicy::default().with_min_chars(7).is_err());
    assert!(PasswordPolicy::default().with_min_chars(65).is_err());
    let strict = PasswordPolicy::default().with_min_chars(64).unwrap();
    assert!(strict.check(&pw(&"q".repeat(63))).is_err());
    strict.check(&pw(&"q".repeat(64))).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Hashing, verification, rehash
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hash_and_verify_round_trip_with_default_params() {
    let hasher = PasswordHasher::default();
    let hash = hasher
        .hash(&pw("correct horse battery staple"))
        .await
        .unwrap();
    assert!(
        hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash:?}"
    );
    assert_eq!(
        hasher
            .verify(&pw("correct horse battery staple"), hash.as_str())
            .await
            .unwrap(),
        Verification::Valid { upgraded: None }
    );
    assert_eq!(
        hasher
            .verify(&pw("correct horse battery stapler"), hash.as_str())
            .await
            .unwrap(),
        Verification::Invalid
    );
    assert!(!hasher.needs_rehash(hash.as_str()).unwrap());
}

#[tokio::test]
async fn salts_are_random() {
    let hasher = tiny();
    let a = hasher.hash(&pw("same password")).await.unwrap();
    let b = hasher.hash(&pw("same password")).await.unwrap();
    assert_ne!(a, b);
}

#[tokio::test]
async fn parallel_lanes_round_trip() {
    // p = 2 runs two lanes on rayon's pool (argon2's `parallel` feature).
    let hasher = hasher_with(256, 1, 2);
    let hash = hasher.hash(&pw("two lanes")).await.unwrap();
    assert!(hash.as_str().contains("$m=256,t=1,p=2$"));
    assert!(
        hasher
            .verify(&pw("two lanes"), hash.as_str())
            .await
            .unwrap()
            .is_valid()
    );
    // The same hash computed lane by lane with the argon2 crate directly agrees.
    let parsed = argon2::PasswordHash::new(hash.as_str()).unwrap();
    let salt = parsed.salt.unwrap();
    let direct = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(256, 1, 2, Some(32)).unwrap(),
    )
    .hash_password_with_salt(b"two lanes", salt.as_ref())
    .unwrap();
    assert_eq!(direct.to_string(), hash.as_str());
}

#[test]
fn needs_rehash_cases() {
    let hasher = tiny();
    let current = raw_argon2(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        64,
        1,
        1,
        "x",
    );
    assert!(!hasher.needs_rehash(&current).unwrap());

    let stale = [
        raw_argon2(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            128,
            1,
            1,
            "x",
        ), // m
        raw_argon2(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            64,
            2,
            1,
            "x",
        ), // t
        raw_argon2(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            64,
            1,
            2,
            "x",
        ), // p
        raw_argon2(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x10,
            64,
            1,
            1,
            "x",
        ), // version
        raw_argon2(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x13,
            64,
            1,
            1,
            "x",
        ),
        raw_argon2(
            argon2::Algorithm::Argon2d,
            argon2::Version::V0x13,
            64,
            1,
            1,
            "x",
        ),
        bcrypt::hash("x", 4).unwrap(),
        bcrypt::hash("x", 4).unwrap().replacen("$2b$", "$2a$", 1),
        bcrypt::hash("x", 4).unwrap().replacen("$2b$", "$2y$", 1),
    ];
    for s in &stale {
        assert!(hasher.needs_rehash(s).unwrap(), "{s}");
    }
    // Default params: argon2-cffi's defaults (m=65536, t=3, p=4) are stale too.
    let cffi_default = raw_argon2(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        65536,
        3,
        4,
        "x",
    );
    assert!(
        PasswordHasher::default()
            .needs_rehash(&cffi_default)
            .unwrap()
    );
    for garbage in [
        "",
        "hunter2",
        "$argon2id$",
        "$2b$12$short",
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
    ] {
        assert!(hasher.needs_rehash(garbage).is_err(), "{garbage:?}");
    }
}

#[tokio::test]
async fn stale_argon2_params_are_upgraded_on_successful_login() {
    let old = hasher_with(64, 1, 1);
    let new = hasher_with(128, 2, 1);
    let stored = old.hash(&pw("correct horse battery")).await.unwrap();

    let result = new
        .verify(&pw("correct horse battery"), stored.as_str())
        .await
        .unwrap();
    let upgraded = result.upgraded().unwrap().clone();
    assert!(
        upgraded
            .as_str()
            .starts_with("$argon2id$v=19$m=128,t=2,p=1$")
    );
    assert!(!new.needs_rehash(upgraded.as_str()).unwrap());
    assert_eq!(
        new.verify(&pw("correct horse battery"), upgraded.as_str())
            .await
            .unwrap(),
        Verification::Valid { upgraded: None }
    );
    // A wrong password never produces an upgrade.
    assert_eq!(
        new.verify(&pw("wrong horse"), stored.as_str())
            .await
            .unwrap(),
        Verification::Invalid
    );
}

#[tokio::test]
async fn argon2i_and_argon2d_verify_and_upgrade_to_argon2id() {
    let hasher = tiny();
    for alg in [argon2::Algorithm::Argon2i, argon2::Algorithm::Argon2d] {
        let stored = raw_argon2(alg, argon2::Version::V0x13, 64, 1, 1, "legacy variant");
        let result = hasher.verify(&pw("legacy variant"), &stored).await.unwrap();
        assert!(
            result
                .upgraded()
                .unwrap()
                .as_str()
                .starts_with("$argon2id$v=19$m=64,t=1,p=1$")
        );
        assert_eq!(
            hasher
                .verify(&pw("legacy variantt"), &stored)
                .await
                .unwrap(),
            Verification::Invalid
        );
    }
    // Version 0x10 (no `v=` field) is verified as 0x10, as the reference implementation does.
    let v10 = raw_argon2(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x10,
        64,
        1,
        1,
        "old",
    );
    let without_v = v10.replacen("$v=16", "", 1);
    assert!(
        hasher
            .verify(&pw("old"), &without_v)
            .await
            .unwrap()
            .is_valid()
    );
}

#[tokio::test]
async fn bcrypt_hashes_verify_and_upgrade_to_argon2id() {
    let hasher = tiny();
    let b = bcrypt::hash("hunter2 is my password", 4).unwrap();
    assert!(b.starts_with("$2b$04$"));
    for stored in [
        b.clone(),
        b.replacen("$2b$", "$2a$", 1),
        b.replacen("$2b$", "$2y$", 1),
    ] {
        let result = hasher
            .verify(&pw("hunter2 is my password"), &stored)
            .await
            .unwrap();
        let upgraded = result.upgraded().unwrap();
        assert!(
            upgraded
                .as_str()
                .starts_with("$argon2id$v=19$m=64,t=1,p=1$")
        );
        assert_eq!(
            hasher
                .verify(&pw("hunter2 is my password"), upgraded.as_str())
                .await
                .unwrap(),
            Verification::Valid { upgraded: None }
        );
        assert_eq!(
            hasher
                .verify(&pw("hunter3 is my password"), &stored)
                .await
                .unwrap(),
            Verification::Invalid
        );
    }
    // $2x$ (crypt_blowfish's buggy variant) is refused, not mis-verified.
    let x = b.replacen("$2b$", "$2x$", 1);
    assert!(matches!(
        hasher.verify(&pw("hunter2 is my password"), &x).await,
        Err(PasswordError::UnsupportedHash { .. })
    ));
}

#[tokio::test]
async fn bcrypt_refuses_passwords_longer_than_72_bytes_instead_of_truncating() {
    let hasher = tiny();
    let seventy_two = "a".repeat(72);
    let stored = bcrypt::hash(&seventy_two, 4).unwrap();

    // Exactly 72 bytes: fully covered by bcrypt, verifies (and upgrades).
    assert!(
        hasher
            .verify(&pw(&seventy_two), &stored)
            .await
            .unwrap()
            .is_valid()
    );

    // 73+ bytes sharing the 72-byte prefix: plain bcrypt would accept it...
    let longer = format!("{seventy_two}-and-then-something-else");
    assert!(bcrypt::verify(&longer, &stored).unwrap());
    // ...sigra refuses it clearly instead.
    let err = hasher.verify(&pw(&longer), &stored).await.unwrap_err();
    assert!(matches!(err, PasswordError::LegacyHashPasswordTooLong));
    assert!(err.to_string().contains("72 bytes"), "{err}");
    // Even a wrong long password is refused the same way (no oracle on the prefix).
    let wrong_long = "b".repeat(100);
    assert!(matches!(
        hasher.verify(&pw(&wrong_long), &stored).await,
        Err(PasswordError::LegacyHashPasswordTooLong)
    ));
    // 72 bytes of multi-byte characters count as bytes: 24 × "€" (3 bytes) = 72 bytes is fine.
    let euros = "€".repeat(24);
    let stored_euros = bcrypt::hash(&euros, 4).unwrap();
    assert!(
        hasher
            .verify(&pw(&euros), &stored_euros)
            .await
            .unwrap()
            .is_valid()
    );
    assert!(
        hasher
            .verify(&pw(&format!("{euros}€")), &stored_euros)
            .await
            .is_err()
    );

    // Argon2 has no such limit: long passwords verify after the upgrade.
    let upgraded = hasher.verify(&pw(&seventy_two), &stored).await.unwrap();
    let argon = upgraded.upgraded().unwrap().as_str().to_owned();
    assert_eq!(
        hasher.verify(&pw(&longer), &argon).await.unwrap(),
        Verification::Invalid
    );
}

#[tokio::test]
async fn dummy_verify_returns_invalid_and_refuses_what_verify_refuses() {
    let hasher = tiny();
    for candidate in ["", "a", "correct horse battery", "\u{0}\u{0}"] {
        assert_eq!(
            hasher.dummy_verify(&pw(candidate)).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            hasher.dummy_verify_blocking(&pw(candidate)).unwrap(),
            Verification::Invalid
        );
    }
    // The dummy pays for the same work: it is counted in flight like any verify.
    assert_eq!(hasher.peak_in_flight(), 1);
}

#[tokio::test]
async fn malformed_stored_hashes_give_clear_errors() {
    let hasher = tiny();
    let cases = [
        ("", "empty"),
        ("plaintext-password", "not in a supported format"),
        ("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "malformed"), // salt too short
        ("$argon2id$v=19$m=64,t=1,p=1", "malformed"),
        (
            "$argon2id$v=99$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "version",
        ),
        (
            "$argon2xx$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "Argon2 variant",
        ),
        (
            "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "memory_kib = 4294967295",
        ),
        (
            "$2b$99$abcdefghijklmnopqrstuvabcdefghijklmnopqrstuvwxyz01234",
            "between 04 and 31",
        ),
        (
            "$2b$31$abcdefghijklmnopqrstuvabcdefghijklmnopqrstuvwxyz01234",
            "bcrypt_cost = 31",
        ),
    ];
    for (stored, expected) in cases {
        let err = hasher.verify(&pw("password"), stored).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{stored:?}: {err}");
        // Nothing secret leaks into the message: no salt or output base64 from the input.
        assert!(!err.to_string().contains("c29tZXNhbHRzb21lc2FsdA"));
    }
    assert_eq!(hasher.peak_in_flight(), 0, "refused before taking a permit");
}

#[test]
fn hash_cost_limits_are_configurable() {
    let hasher = PasswordHasher::builder()
        .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
        .limits(HashCostLimits {
            max_bcrypt_cost: 4,
            ..HashCostLimits::default()
        })
        .build()
        .unwrap();
    let cost5 = bcrypt::hash("x", 5).unwrap();
    assert!(matches!(
        hasher.verify_blocking(&pw("x"), &cost5),
        Err(PasswordError::HashCostTooHigh {
            what: "bcrypt_cost",
            value: 5,
            limit: 4
        })
    ));
}

#[tokio::test]
async fn debug_output_never_shows_passwords_or_salts() {
    let hasher = tiny();
    let hash = hasher.hash(&pw("correct horse battery")).await.unwrap();
    let salt = hash.as_str().split('$').nth(4).unwrap().to_owned();
    let bcrypt_hash = bcrypt::hash("correct horse battery", 4).unwrap();
    let result = hasher
        .verify(&pw("correct horse battery"), &bcrypt_hash)
        .await
        .unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?}",
        pw("correct horse battery"),
        hash,
        result,
        hasher
    );
    assert!(!shown.contains("correct horse"), "{shown}");
    assert!(!shown.contains(&salt), "{shown}");
    let upgraded_salt = result
        .upgraded()
        .unwrap()
        .as_str()
        .split('$')
        .nth(4)
        .unwrap()
        .to_owned();
    assert!(!shown.contains(&upgraded_salt), "{shown}");
    assert!(shown.contains("[REDACTED]"));
}

// ---------------------------------------------------------------------------------------------
// The semaphore bound
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifies_never_exceed_the_permits() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let hasher = PasswordHasher::builder()
        .params(Argon2Params::danger_weak(2048, 1, 1).unwrap())
        .permits(2)
        .build()
        .unwrap();
    let stored = hasher.hash(&pw("correct horse battery")).await.unwrap();

    // Sample the gauge from another task for as long as the flood runs.
    let done = Arc::new(AtomicBool::new(false));
    let observed_max = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (hasher, done, observed_max) = (hasher.clone(), done.clone(), observed_max.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Acquire) {
                observed_max.fetch_max(hasher.in_flight(), Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let (hasher, stored) = (hasher.clone(), stored.clone());
        tasks.spawn(async move {
            let candidate = pw(if i % 2 == 0 {
                "correct horse battery"
            } else {
                "wrong"
            });
            // Mix in dummy verifies: they share the same permits.
            let result = if i % 3 == 0 {
                hasher.dummy_verify(&candidate).await
            } else {
                hasher.verify(&candidate, stored.as_str()).await
            };
            (i, result.unwrap().is_valid())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (i, valid) = joined.unwrap();
        assert_eq!(valid, i % 2 == 0 && i % 3 != 0, "task {i}");
    }
    done.store(true, Ordering::Release);
    sampler.await.unwrap();

    assert!(
        hasher.peak_in_flight() <= 2,
        "peak {}",
        hasher.peak_in_flight()
    );
    assert!(hasher.peak_in_flight() >= 1);
    assert!(observed_max.load(Ordering::Relaxed) <= 2);
    assert_eq!(hasher.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_and_async_callers_share_the_bound() {
    let hasher = PasswordHasher::builder()
        .params(Argon2Params::danger_weak(1024, 1, 1).unwrap())
        .permits(1)
        .build()
        .unwrap();
    let mut handles = Vec::new();
    for _ in 0..4 {
        let h = hasher.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            h.hash_blocking(&pw("from a blocking thread"))
        }));
    }
    let mut asyncs = Vec::new();
    for _ in 0..4 {
        let h = hasher.clone();
        asyncs.push(tokio::spawn(async move { h.hash(&pw("from async")).await }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    for a in asyncs {
        a.await.unwrap().unwrap();
    }
    assert_eq!(hasher.peak_in_flight(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let hasher = tiny();
    let hash = hasher.hash(&pw("single threaded")).await.unwrap();
    assert!(
        hasher
            .verify(&pw("single threaded"), hash.as_str())
            .await
            .unwrap()
            .is_valid()
    );
}

// ---------------------------------------------------------------------------------------------
// Breached-password check
// ---------------------------------------------------------------------------------------------

/// An in-process range service fed real SHA-1 data (computed independently with Python's
/// hashlib), which records every prefix it is asked for.
struct FakeRange {
    data: HashMap<&'static str, Vec<(String, u64)>>,
    asked: Mutex<Vec<String>>,
}

impl FakeRange {
    fn new() -> Self {
        let mut data = HashMap::new();
        // SHA-1("P@ssw0rd") = 21BD1 2DC183F740EE76F27B78EB39C8AD972A757; lowercase here on purpose.
        data.insert(
            "21BD1",
            vec![
                ("0018A45C4D1DEF81644B54AB7F969B88D65".to_owned(), 1),
                ("2dc183f740ee76f27b78eb39c8ad972a757".to_owned(), 83_223),
                ("FFFF0E1F2A36F7A4B3BB94D0C43D5CE5D1D".to_owned(), 0), // padding
            ],
        );
        // SHA-1("password") = 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8.
        data.insert(
            "5BAA6",
            vec![("1E4C9B93F3F0682250B6CF8331B7EE68FD8".to_owned(), 52_256_179)],
        );
        // SHA-1("correct horse battery staple") = ABF7A AD6438836DBE526AA231ABDE2D0EEF74D42,
        // present only as a padding entry (count 0).
        data.insert(
            "ABF7A",
            vec![
                ("AD6438836DBE526AA231ABDE2D0EEF74D42".to_owned(), 0),
                ("AD6438836DBE526AA231ABDE2D0EEF74D43".to_owned(), 7),
            ],
        );
        // SHA-1("Tr0ub4dor&3") = 87457 …: a broken service answers garbage.
        data.insert("87457", vec![("not-a-suffix".to_owned(), 3)]);
        Self {
            data,
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl PwnedPasswordsRange for FakeRange {
    async fn range(&self, prefix: &str) -> Result<Vec<(String, u64)>, BreachClientError> {
        self.asked.lock().unwrap().push(prefix.to_owned());
        Ok(self.data.get(prefix).cloned().unwrap_or_default())
    }
}

#[tokio::test]
async fn breach_check_matches_suffixes_and_sends_only_the_prefix() {
    let service = FakeRange::new();
    assert_eq!(
        breach_count(&service, &pw("P@ssw0rd")).await.unwrap(),
        83_223
    );
    assert_eq!(
        breach_count(&service, &pw("password")).await.unwrap(),
        52_256_179
    );
    // Only a padding entry matches: not breached.
    assert_eq!(
        breach_count(&service, &pw("correct horse battery staple"))
            .await
            .unwrap(),
        0
    );
    // Unknown prefix: not breached.
    assert_eq!(
        breach_count(&service, &pw("an unusual passphrase"))
            .await
            .unwrap(),
        0
    );

    let err = check_not_breached(&service, &pw("P@ssw0rd"))
        .await
        .unwrap_err();
    assert!(matches!(err, PasswordError::Breached { count: 83_223 }));
    assert_eq!(
        err.to_string(),
        "password has appeared in 83223 known data breaches; choose another"
    );
    check_not_breached(&service, &pw("correct horse battery staple"))
        .await
        .unwrap();

    // A broken answer is an error, not a silent pass.
    assert!(matches!(
        breach_count(&service, &pw("Tr0ub4dor&3")).await,
        Err(PasswordError::BreachCheckFailed(_))
    ));

    let asked = service.asked.lock().unwrap().clone();
    assert_eq!(asked[..3], ["21BD1", "5BAA6", "ABF7A"]);
    for prefix in &asked {
        assert_eq!(prefix.len(), 5);
        assert!(
            prefix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
    }
}

#[tokio::test]
async fn breach_client_failures_are_reported() {
    struct Down;
    impl PwnedPasswordsRange for Down {
        async fn range(&self, _: &str) -> Result<Vec<(String, u64)>, BreachClientError> {
            Err("connection refused".into())
        }
    }
    let err = check_not_breached(&Down, &pw("correct horse battery"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("connection refused"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// A hasher whose limits keep any parsed hash cheap, so arbitrary inputs cannot make the
/// property tests slow.
fn fuzz_hasher() -> PasswordHasher {
    PasswordHasher::builder()
        .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
        .limits(HashCostLimits {
            max_memory_kib: 256,
            max_iterations: 2,
            max_parallelism: 2,
            max_bcrypt_cost: 4,
        })
        .build()
        .unwrap()
}

fn assert_clear(result: Result<Verification, PasswordError>) {
    if let Err(err) = result {
        let msg = err.to_string();
        assert!(msg.len() > 20, "unclear message: {msg:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_stored_strings_never_panic(stored in any::<String>()) {
        let hasher = fuzz_hasher();
        assert_clear(hasher.verify_blocking(&pw("password"), &stored));
        let _ = hasher.needs_rehash(&stored);
    }

    #[test]
    fn arbitrary_bytes_as_stored_hash_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let stored = String::from_utf8_lossy(&bytes);
        assert_clear(fuzz_hasher().verify_blocking(&pw("password"), &stored));
    }

    #[test]
    fn phc_like_strings_never_panic(
        stored in r"\$argon2(id|i|d|x)?\$(v=[0-9]{1,3}\$)?(m=[0-9]{1,4},t=[0-9],p=[0-9]|[a-z]=[0-9a-z]{0,3}(,[a-z]{1,5}=[0-9A-Za-z+/]{0,8}){0,3})\$[A-Za-z0-9+/]{0,30}(\$[A-Za-z0-9+/=]{0,70})?(\$.{0,3})?"
    ) {
        assert_clear(fuzz_hasher().verify_blocking(&pw("password"), &stored));
        let _ = fuzz_hasher().needs_rehash(&stored);
    }

    #[test]
    fn bcrypt_like_strings_never_panic(stored in r"\$2[abxyz]?\$[0-9]{1,3}\$[./A-Za-z0-9€]{50,56}") {
        assert_clear(fuzz_hasher().verify_blocking(&pw("password"), &stored));
    }

    #[test]
    fn policy_never_panics(candidate in any::<String>()) {
        let _ = PasswordPolicy::default().check(&pw(&candidate));
        let _ = PasswordPolicy::default().check_for_user(&pw(&candidate), &[&candidate]);
        let _ = is_common_password(&candidate);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn hash_verify_round_trip(password in any::<String>(), other in any::<String>()) {
        prop_assume!(password.len() <= MAX_PASSWORD_BYTES);
        let hasher = tiny();
        let hash = hasher.hash_blocking(&pw(&password)).unwrap();
        prop_assert_eq!(
            hasher.verify_blocking(&pw(&password), hash.as_str()).unwrap(),
            Verification::Valid { upgraded: None }
        );
        if other != password && other.len() <= MAX_PASSWORD_BYTES {
            prop_assert_eq!(hasher.verify_blocking(&pw(&other), hash.as_str()).unwrap(), Verification::Invalid);
        }
    }
}

#[test]
fn types_and_futures_can_cross_threads() {
    // Axum handlers need Send futures; errors travel across tasks.
    fn send<T: Send>(_: &T) {}
    fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<PasswordHasher>();
    send_sync_static::<PasswordError>();
    send_sync_static::<Password>();
    send_sync_static::<Verification>();
    let hasher = tiny();
    let password = pw("correct horse battery");
    send(&hasher.hash(&password));
    send(&hasher.verify(&password, "$2b$04$x"));
    send(&hasher.dummy_verify(&password));
    send(&check_not_breached(&FakeRange::new(), &password));
}
