//! Integration tests for encryption at rest: round trips, context binding, rotation,
//! tampering, total parsing and key sources.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use proptest::prelude::*;
use sigra_core::encryption::{
    DERIVED_KEY_ID, EncryptionError, EncryptionKey, HEADER_LEN, Keyring, NONCE_LEN, OVERHEAD,
    TAG_LEN, VERSION,
};
use sigra_core::keys::SecretKeyBase;
use std::collections::HashSet;

fn ring(ids: &[u32]) -> Keyring {
    Keyring::new(ids.iter().map(|&id| EncryptionKey::new(id, key_bytes(id)))).unwrap()
}

fn key_bytes(id: u32) -> [u8; 32] {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = (id as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    k
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------- format

#[test]
fn format_is_version_key_id_nonce_ciphertext_tag() {
    let r = ring(&[0x0102_0304]);
    let ct = r.encrypt(b"hello", "ctx").unwrap();
    assert_eq!(ct.len(), OVERHEAD + 5);
    assert_eq!(OVERHEAD, 1 + 4 + 12 + 16);
    assert_eq!(ct[0], VERSION);
    assert_eq!(&ct[1..HEADER_LEN], &[1, 2, 3, 4]);
}

#[test]
fn a_value_built_by_hand_from_the_documented_format_decrypts() {
    // Independent of `Keyring::encrypt`: header || nonce || AES-GCM(key, nonce, pt, AAD = header || context).
    let key = key_bytes(9);
    let nonce = [0x5au8; NONCE_LEN];
    let header = [VERSION, 0, 0, 0, 9];
    let mut aad = header.to_vec();
    aad.extend_from_slice(b"totp:user:42");
    let sealed = Aes256Gcm::new(&key.into())
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: b"JBSWY3DPEHPK3PXP",
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(sealed.len(), 16 + TAG_LEN);
    let mut ct = header.to_vec();
    ct.extend_from_slice(&nonce);
    ct.extend_from_slice(&sealed);

    let r = ring(&[9]);
    assert_eq!(
        r.decrypt(&ct, "totp:user:42").unwrap().as_bytes(),
        b"JBSWY3DPEHPK3PXP"
    );
    assert_eq!(
        r.decrypt_str(&b64(&ct), "totp:user:42").unwrap().as_str(),
        Some("JBSWY3DPEHPK3PXP")
    );
    // The context is the AAD suffix: without it, the same bytes are refused.
    assert!(matches!(
        r.decrypt(&ct, "totp:user:4"),
        Err(EncryptionError::Decrypt)
    ));
}

#[test]
fn empty_plaintext_round_trips_and_empty_context_is_refused() {
    let r = ring(&[1]);
    let ct = r.encrypt(b"", "ctx").unwrap();
    assert_eq!(ct.len(), OVERHEAD);
    assert!(r.decrypt(&ct, "ctx").unwrap().as_bytes().is_empty());
    assert!(matches!(
        r.encrypt(b"x", ""),
        Err(EncryptionError::EmptyContext)
    ));
    assert!(matches!(
        r.decrypt(&ct, ""),
        Err(EncryptionError::EmptyContext)
    ));
}

// ---------------------------------------------------------------- rotation

#[test]
fn rotation_old_key_decrypts_new_key_encrypts() {
    let old = ring(&[1]);
    let ct = old
        .encrypt(b"secret", "oauth:identity:7:access_token")
        .unwrap();
    let text = old.encrypt_to_string(b"secret", "ctx").unwrap();
    assert!(!old.needs_reencrypt(&ct).unwrap());

    // Step 1: add key 2. It becomes the primary whatever the order given.
    let rotated = Keyring::new([
        EncryptionKey::new(2, key_bytes(2)),
        EncryptionKey::new(1, key_bytes(1)),
    ])
    .unwrap();
    assert_eq!(rotated.primary_id(), 2);
    assert_eq!(
        rotated
            .decrypt(&ct, "oauth:identity:7:access_token")
            .unwrap()
            .as_bytes(),
        b"secret"
    );
    assert!(rotated.needs_reencrypt(&ct).unwrap());
    assert!(rotated.needs_reencrypt_str(&text).unwrap());

    // New values use key 2.
    let fresh = rotated.encrypt(b"new", "ctx").unwrap();
    assert_eq!(&fresh[1..5], &2u32.to_be_bytes());
    assert!(!rotated.needs_reencrypt(&fresh).unwrap());

    // Step 2: lazy re-encryption.
    let moved = rotated
        .reencrypt(&ct, "oauth:identity:7:access_token")
        .unwrap();
    assert!(!rotated.needs_reencrypt(&moved).unwrap());
    let moved_text = rotated.reencrypt_str(&text, "ctx").unwrap();
    assert!(!rotated.needs_reencrypt_str(&moved_text).unwrap());
    // Re-encryption checks the context too.
    assert!(matches!(
        rotated.reencrypt(&ct, "oauth:identity:8:access_token"),
        Err(EncryptionError::Decrypt)
    ));

    // Step 3: retire key 1. Re-encrypted values still read; stale ones name the missing key.
    let retired = ring(&[2]);
    assert_eq!(
        retired
            .decrypt(&moved, "oauth:identity:7:access_token")
            .unwrap()
            .as_bytes(),
        b"secret"
    );
    assert!(matches!(
        retired.decrypt(&ct, "oauth:identity:7:access_token"),
        Err(EncryptionError::UnknownKeyId { id: 1 })
    ));
    assert!(matches!(
        retired.needs_reencrypt(&ct),
        Err(EncryptionError::UnknownKeyId { id: 1 })
    ));
    let msg = retired.decrypt(&ct, "x").unwrap_err().to_string();
    assert!(
        msg.contains("key id 1") && msg.contains("SIGRA_ENCRYPTION_KEYS"),
        "{msg}"
    );
}

#[test]
fn same_key_id_with_other_key_material_is_an_opaque_failure() {
    let ct = ring(&[1]).encrypt(b"secret", "ctx").unwrap();
    let other = Keyring::new([EncryptionKey::new(1, [0xee; 32])]).unwrap();
    let err = other.decrypt(&ct, "ctx").unwrap_err();
    assert!(matches!(err, EncryptionError::Decrypt));
    // Wrong key and wrong context give the very same message.
    let wrong_ctx = ring(&[1]).decrypt(&ct, "other").unwrap_err();
    assert_eq!(err.to_string(), wrong_ctx.to_string());
}

#[test]
fn keyring_construction_errors() {
    assert!(matches!(
        Keyring::new(Vec::new()),
        Err(EncryptionError::NoKeys { .. })
    ));
    assert!(matches!(
        Keyring::new([
            EncryptionKey::new(4, [0; 32]),
            EncryptionKey::new(4, [1; 32])
        ]),
        Err(EncryptionError::DuplicateKeyId { id: 4, .. })
    ));
    assert_eq!(ring(&[3, 10, 7]).key_ids(), vec![10, 7, 3]);
    assert!(matches!(
        EncryptionKey::from_slice(1, &[0; 31]),
        Err(EncryptionError::BadKeyLength { len: 31, id: 1, .. })
    ));
}

// ---------------------------------------------------------------- tampering

#[test]
fn every_single_bit_flip_is_refused() {
    // Keys 1 and 3 are both present, so flipping bit 1 of the key id (1 -> 3) selects a key
    // that exists: the authenticated header still catches it.
    let r = ring(&[1, 3, 5]);
    let old = ring(&[1]);
    let ct = old.encrypt(b"a TOTP secret", "totp:user:42").unwrap();
    assert_eq!(
        r.decrypt(&ct, "totp:user:42").unwrap().as_bytes(),
        b"a TOTP secret"
    );
    for byte in 0..ct.len() {
        for bit in 0..8 {
            let mut bad = ct.clone();
            bad[byte] ^= 1 << bit;
            let err = r.decrypt(&bad, "totp:user:42").unwrap_err();
            match byte {
                0 => assert!(matches!(err, EncryptionError::UnsupportedVersion { .. })),
                1..=4 => assert!(matches!(
                    err,
                    EncryptionError::UnknownKeyId { .. } | EncryptionError::Decrypt
                )),
                _ => assert!(
                    matches!(err, EncryptionError::Decrypt),
                    "{byte}/{bit}: {err}"
                ),
            }
        }
    }
    // The id-1 -> id-3 flip reached AES-GCM and was refused there.
    let mut swapped = ct.clone();
    swapped[4] ^= 0b10;
    assert!(matches!(
        r.decrypt(&swapped, "totp:user:42"),
        Err(EncryptionError::Decrypt)
    ));
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let r = ring(&[1]);
    let ct = r.encrypt(b"provider refresh token", "ctx").unwrap();
    for len in 0..ct.len() {
        assert!(
            r.decrypt(&ct[..len], "ctx").is_err(),
            "prefix of {len} bytes"
        );
    }
    let mut longer = ct.clone();
    longer.push(0);
    assert!(matches!(
        r.decrypt(&longer, "ctx"),
        Err(EncryptionError::Decrypt)
    ));
    let short = r.decrypt(&ct[..OVERHEAD - 1], "ctx").unwrap_err();
    assert!(short.to_string().contains("malformed"), "{short}");
}

#[test]
fn text_form_errors_are_clear() {
    let r = ring(&[1]);
    let text = r.encrypt_to_string(b"x", "ctx").unwrap();
    for bad in [
        "",
        "!!!!",
        &format!("{text}="),
        &format!(" {text}"),
        &text.replace('A', "+"),
    ] {
        let err = r.decrypt_str(bad, "ctx").unwrap_err();
        assert!(
            matches!(err, EncryptionError::Malformed { .. }),
            "{bad:?}: {err}"
        );
    }
    assert!(r.needs_reencrypt_str("%%").is_err());
}

#[test]
fn unsupported_version_names_the_version() {
    let r = ring(&[1]);
    let mut ct = r.encrypt(b"x", "ctx").unwrap();
    ct[0] = 2;
    let err = r.decrypt(&ct, "ctx").unwrap_err();
    assert!(matches!(
        err,
        EncryptionError::UnsupportedVersion { version: 2 }
    ));
    assert!(err.to_string().contains("version 2"));
}

// ---------------------------------------------------------------- nonces

#[test]
fn nonces_are_unique_over_many_encryptions() {
    let r = ring(&[1]);
    let mut seen = HashSet::new();
    let mut bodies = HashSet::new();
    for _ in 0..20_000 {
        let ct = r.encrypt(b"same plaintext", "same context").unwrap();
        assert!(seen.insert(ct[HEADER_LEN..HEADER_LEN + NONCE_LEN].to_vec()));
        assert!(bodies.insert(ct[HEADER_LEN + NONCE_LEN..].to_vec()));
    }
}

// ---------------------------------------------------------------- key sources

fn entry(id: u32) -> String {
    EncryptionKey::new(id, key_bytes(id)).to_env_entry()
}

#[test]
fn env_spec_highest_id_is_primary_whatever_the_order() {
    for spec in [
        format!("{},{}", entry(2), entry(1)),
        format!("{},{}", entry(1), entry(2)),
        format!(" {} ,\n {} ,", entry(1), entry(2)),
    ] {
        let parsed = Keyring::parse(&spec).unwrap();
        assert_eq!(parsed.primary_id(), 2);
        assert_eq!(parsed.key_ids(), vec![2, 1]);
        // Same keys as the explicit ring: interoperable.
        let ct = ring(&[1]).encrypt(b"v", "ctx").unwrap();
        assert_eq!(parsed.decrypt(&ct, "ctx").unwrap().as_bytes(), b"v");
    }
    // Padding is tolerated.
    let padded = format!("{}=", entry(1));
    assert_eq!(Keyring::parse(&padded).unwrap().primary_id(), 1);
}

#[test]
fn env_spec_errors_name_the_variable_and_entry_never_the_key() {
    let good = entry(1);
    let key = good.split_once(':').unwrap().1.to_string();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "no keys given"),
        (" , ,".into(), "no keys given"),
        (key.clone(), "entry 1: expected `id:base64url-key`"),
        (
            format!("{good},x:{key}"),
            "entry 2: the key id is not a decimal number",
        ),
        (
            format!("-1:{key}"),
            "entry 1: the key id is not a decimal number",
        ),
        (
            format!("+1:{key}"),
            "entry 1: the key id is not a decimal number",
        ),
        (
            format!(":{key}"),
            "entry 1: the key id is not a decimal number",
        ),
        (format!("4294967296:{key}"), "larger than 4294967295"),
        (format!("0:{key}"), "key id 0 is reserved"),
        (format!("1:{}", key.replace('A', "*")), "is not base64url"),
        (format!("1:{}", &key[..42]), "is not base64url"),
        ("1:AAAA".into(), "key 1 is 3 bytes"),
        (format!("7:{}", b64(&[0u8; 48])), "key 7 is 48 bytes"),
        (format!("{good},{good}"), "key id 1 appears more than once"),
    ];
    for (spec, expected) in cases {
        let err = Keyring::parse(&spec).unwrap_err().to_string();
        assert!(
            err.starts_with("SIGRA_ENCRYPTION_KEYS: "),
            "{spec:?}: {err}"
        );
        assert!(err.contains(expected), "{spec:?}: {err}");
        assert!(!err.contains(&key[..20]), "key leaked: {err}");
    }
}

#[test]
fn from_env_falls_back_to_the_derived_key_and_keeps_it_for_reading() {
    let base = SecretKeyBase::new(vec![3u8; 64]).unwrap();
    let derived = Keyring::from_env_with(&base, |_| None).unwrap();
    assert_eq!(derived.key_ids(), vec![DERIVED_KEY_ID]);
    let early = derived.encrypt(b"v", "ctx").unwrap();
    // The derived key is `SecretKeyBase::derive("encryption-at-rest")`.
    let by_hand = Keyring::new([EncryptionKey::new(
        0,
        *base.derive("encryption-at-rest").unwrap().as_bytes(),
    )])
    .unwrap();
    assert_eq!(by_hand.decrypt(&early, "ctx").unwrap().as_bytes(), b"v");

    let spec = format!("{},{}", entry(1), entry(2));
    let mut asked = Vec::new();
    let configured = Keyring::from_env_with(&base, |name| {
        asked.push(name.to_string());
        Some(spec.clone())
    })
    .unwrap();
    assert_eq!(asked, vec!["SIGRA_ENCRYPTION_KEYS"]);
    assert_eq!(configured.key_ids(), vec![2, 1, 0]);
    assert_eq!(configured.decrypt(&early, "ctx").unwrap().as_bytes(), b"v");
    assert!(configured.needs_reencrypt(&early).unwrap());

    // Set but empty is a mistake, not a fallback.
    let err = Keyring::from_env_with(&base, |_| Some(String::new())).unwrap_err();
    assert!(err.to_string().contains("SIGRA_ENCRYPTION_KEYS"), "{err}");
    // Another secret key base derives another key.
    let other = SecretKeyBase::new(vec![4u8; 64]).unwrap();
    assert!(matches!(
        Keyring::derived(&other).unwrap().decrypt(&early, "ctx"),
        Err(EncryptionError::Decrypt)
    ));
}

#[test]
fn debug_never_shows_keys_or_plaintexts() {
    let key = EncryptionKey::new(1, [0x41; 32]);
    let r = Keyring::new([key.clone()]).unwrap();
    let pt = r
        .decrypt(&r.encrypt(b"TOPSECRET", "ctx").unwrap(), "ctx")
        .unwrap();
    let shown = format!("{key:?} {r:?} {pt:?} {:#?}", r);
    assert!(!shown.contains("TOPSECRET"));
    assert!(!shown.contains("65"));
    assert!(!shown.contains("QUFB")); // base64 of "AAA"
    assert!(shown.contains("REDACTED"));
    assert!(shown.contains("primary: 1"));
}

#[test]
fn errors_convert_into_the_crate_error() {
    let err: sigra_core::Error = ring(&[1]).decrypt(b"", "ctx").unwrap_err().into();
    assert!(matches!(err, sigra_core::Error::Encryption(_)));
}

// ---------------------------------------------------------------- properties

proptest! {
    #[test]
    fn round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..600), context in ".{1,80}") {
        let r = ring(&[1, 2]);
        let ct = r.encrypt(&plaintext, &context).unwrap();
        prop_assert_eq!(ct.len(), plaintext.len() + OVERHEAD);
        let back = r.decrypt(&ct, &context).unwrap();
        prop_assert_eq!(back.as_bytes(), plaintext.as_slice());
        let text = r.encrypt_to_string(&plaintext, &context).unwrap();
        let back = r.decrypt_str(&text, &context).unwrap();
        prop_assert_eq!(back.as_bytes(), plaintext.as_slice());
    }

    #[test]
    fn another_context_never_decrypts(plaintext in proptest::collection::vec(any::<u8>(), 0..64), a in ".{1,40}", b in ".{1,40}") {
        prop_assume!(a != b);
        let r = ring(&[1]);
        let ct = r.encrypt(&plaintext, &a).unwrap();
        prop_assert!(matches!(r.decrypt(&ct, &b), Err(EncryptionError::Decrypt)));
    }

    #[test]
    fn a_flipped_bit_anywhere_is_refused(plaintext in proptest::collection::vec(any::<u8>(), 0..64), pos in any::<proptest::sample::Index>(), bit in 0u8..8) {
        let r = ring(&[1]);
        let mut ct = r.encrypt(&plaintext, "ctx").unwrap();
        let i = pos.index(ct.len());
        ct[i] ^= 1 << bit;
        prop_assert!(r.decrypt(&ct, "ctx").is_err());
    }

    #[test]
    fn arbitrary_bytes_give_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), context in ".{0,20}") {
        let r = ring(&[0, 1, 16_843_009]);
        prop_assert!(r.decrypt(&bytes, &context).is_err());
        let _ = r.needs_reencrypt(&bytes);
        let _ = r.reencrypt(&bytes, &context);
        // Also with a valid header in front.
        let mut framed = vec![VERSION, 0, 0, 0, 1];
        framed.extend_from_slice(&bytes);
        prop_assert!(r.decrypt(&framed, &context).is_err());
    }

    #[test]
    fn arbitrary_text_gives_an_error_never_a_panic(text in ".{0,200}") {
        let r = ring(&[1]);
        prop_assert!(r.decrypt_str(&text, "ctx").is_err());
        let _ = r.needs_reencrypt_str(&text);
    }

    #[test]
    fn arbitrary_env_specs_never_panic(spec in "[0-9:,A-Za-z_=\\- ]{0,120}|.{0,120}") {
        let _ = Keyring::parse(&spec);
    }
}

#[test]
fn keyring_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Keyring>();
    shareable::<EncryptionKey>();
}
