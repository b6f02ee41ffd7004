//! Cross-implementation tests for encryption at rest: Python's `cryptography` (AESGCM),
//! given only the key, the documented format and the context, reads our ciphertexts and
//! writes ciphertexts we read; tampered values are refused by both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sigra_core::encryption::{EncryptionError, EncryptionKey, Keyring};

const PEER: &str = "encryption_peer.py";

fn key(id: u32) -> EncryptionKey {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(7).wrapping_add(id as u8);
    }
    EncryptionKey::new(id, bytes)
}

/// The base64url key part of the `id:key` entry.
fn key_b64(id: u32) -> String {
    key(id)
        .to_env_entry()
        .split_once(':')
        .unwrap()
        .1
        .to_string()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// Plaintexts and contexts exercised in both directions.
fn cases() -> Vec<(Vec<u8>, String)> {
    vec![
        (b"JBSWY3DPEHPK3PXP".to_vec(), "totp:user:42".into()),
        (Vec::new(), "empty:plaintext".into()),
        (
            b"ya29.a0AfH6SMBx-provider-access-token".to_vec(),
            "oauth:identity:0190c0de-7e57-7000-8000-000000000001:access_token".into(),
        ),
        (
            (0u8..=255).cycle().take(4099).collect(),
            "binary:4099".into(),
        ),
        (
            "zażółć gęślą jaźń".as_bytes().to_vec(),
            "kontekst:żółw:🔐".into(),
        ),
    ]
}

fn flip(text: &str, byte: usize) -> String {
    let mut raw = unb64(text);
    raw[byte] ^= 0x01;
    b64(&raw)
}

#[test]
fn python_decrypts_ours_and_refuses_tampered_ones() {
    let ring = Keyring::new([key(1), key(2)]).unwrap();
    let mut decrypt = Vec::new();
    let mut expect = Vec::new();
    for (plaintext, context) in cases() {
        let text = ring.encrypt_to_string(&plaintext, &context).unwrap();
        let case = |text: String, context: &str| json!({"key": key_b64(2), "key_id": 2, "context": context, "text": text});
        decrypt.push(case(text.clone(), &context));
        expect.push(Some(plaintext.clone()));
        // Tampered: a bit in the nonce, in the body/tag, and in the key id; a wrong context;
        // a truncated value.
        decrypt.push(case(flip(&text, 7), &context));
        expect.push(None);
        let last = unb64(&text).len() - 1;
        decrypt.push(case(flip(&text, last), &context));
        expect.push(None);
        decrypt.push(case(flip(&text, 4), &context));
        expect.push(None);
        decrypt.push(case(text.clone(), &format!("{context}x")));
        expect.push(None);
        let raw = unb64(&text);
        decrypt.push(case(b64(&raw[..raw.len() - 1]), &context));
        expect.push(None);
    }
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "decrypt": decrypt })) else {
        return;
    };
    let got = out["decrypted"].as_array().unwrap();
    assert_eq!(got.len(), expect.len());
    for (i, (got, want)) in got.iter().zip(&expect).enumerate() {
        match want {
            Some(plaintext) => {
                assert_eq!(got["ok"], Value::Bool(true), "case {i}: {got}");
                assert_eq!(
                    unb64(got["plaintext"].as_str().unwrap()),
                    *plaintext,
                    "case {i}"
                );
                assert_eq!(got["key_id"], json!(2));
            }
            None => assert_eq!(
                got["ok"],
                Value::Bool(false),
                "case {i} must be refused: {got}"
            ),
        }
    }
}

#[test]
fn we_decrypt_pythons_and_refuse_tampered_ones() {
    let encrypt: Vec<Value> = cases()
        .iter()
        .flat_map(|(plaintext, context)| {
            [1u32, 2].map(|id| {
                json!({"key": key_b64(id), "key_id": id, "context": context, "plaintext": b64(plaintext)})
            })
        })
        .collect();
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "encrypt": encrypt })) else {
        return;
    };
    let texts = out["encrypted"].as_array().unwrap();
    assert_eq!(texts.len(), cases().len() * 2);
    let ring = Keyring::new([key(1), key(2)]).unwrap();
    let expected = cases().into_iter().flat_map(|c| [c.clone(), c]);
    for ((plaintext, context), (i, text)) in expected.zip(texts.iter().enumerate()) {
        let text = text.as_str().unwrap();
        let id = if i % 2 == 0 { 1 } else { 2 };
        let back = ring.decrypt_str(text, &context).unwrap();
        assert_eq!(back.as_bytes(), plaintext.as_slice(), "case {i}");
        // Key 1 is no longer the primary: its values want re-encryption.
        assert_eq!(ring.needs_reencrypt_str(text).unwrap(), id == 1, "case {i}");
        let raw = unb64(text);
        assert_eq!(
            raw.len(),
            plaintext.len() + sigra_core::encryption::OVERHEAD
        );
        // Every flipped byte is refused, and a wrong context is refused.
        for byte in 0..raw.len().min(80) {
            assert!(
                ring.decrypt_str(&flip(text, byte), &context).is_err(),
                "case {i} byte {byte}"
            );
        }
        assert!(matches!(
            ring.decrypt_str(text, "totp:user:43"),
            Err(EncryptionError::Decrypt)
        ));
        assert!(ring.decrypt(&raw[..raw.len() - 1], &context).is_err());
        // A ring without that key cannot read it, and says which key is missing.
        let other = Keyring::new([key(if id == 1 { 2 } else { 1 })]).unwrap();
        assert!(matches!(
            other.decrypt_str(text, &context),
            Err(EncryptionError::UnknownKeyId { id: got }) if got == id
        ));
    }
}

#[test]
fn keys_from_the_environment_format_interoperate() {
    // The `SIGRA_ENCRYPTION_KEYS` value carries the same base64url keys Python uses.
    let spec = format!("{},{}", key(1).to_env_entry(), key(2).to_env_entry());
    let ring = Keyring::parse(&spec).unwrap();
    let text = ring
        .encrypt_to_string(b"refresh-token", "oauth:identity:9:refresh_token")
        .unwrap();
    let input = json!({"decrypt": [{"key": key_b64(2), "key_id": 2, "context": "oauth:identity:9:refresh_token", "text": text}]});
    let Some(out) = sigra_tests::run_peer(PEER, &input) else {
        return;
    };
    assert_eq!(out["decrypted"][0]["ok"], Value::Bool(true), "{out}");
    assert_eq!(
        unb64(out["decrypted"][0]["plaintext"].as_str().unwrap()),
        b"refresh-token"
    );
}
