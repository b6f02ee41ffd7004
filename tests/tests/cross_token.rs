//! Cross-implementation tests for `sigra_core::token` and the backup-code digests against
//! `tests/py/token_peer.py`, an independent Python implementation written from the
//! documented formats (stdlib hmac/hashlib/base64/struct plus `cryptography`'s HKDF).
//!
//! Both directions: Python recomputes our token digests, HKDF keys and keyed code digests,
//! verifies our envelopes (and refuses tampered ones); Rust verifies Python's envelopes
//! (byte-identical to ours for the same inputs) and refuses tampered ones.

// Tests: a failed unwrap is a failed test (helpers outside #[test] fns too).
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sigra_core::backup_code::{BackupCode, BackupCodeKey};
use sigra_core::keys::SecretKeyBase;
use sigra_core::token::{CodeKey, EnvelopeKey, NumericCode, Token, TokenError};
use time::{Duration, OffsetDateTime};

const NOW: i64 = 1_760_000_000;

fn secret() -> Vec<u8> {
    (0u8..64)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

/// Flips one character in the middle of the payload to another base64url character.
fn tamper(envelope: &str) -> String {
    let mid = envelope.len() / 3;
    let mut out = envelope.to_owned();
    let replacement = if &envelope[mid..=mid] == "A" {
        "B"
    } else {
        "A"
    };
    out.replace_range(mid..=mid, replacement);
    out
}

struct Case {
    purpose: &'static str,
    subject: &'static str,
    token: Token,
    issued_at: i64,
}

fn cases() -> Vec<Case> {
    let fixed = |b: u8| Token::from_bytes([b; 32]);
    vec![
        Case {
            purpose: "confirm",
            subject: "42",
            token: fixed(0),
            issued_at: NOW - 3600,
        },
        Case {
            purpose: "reset_password",
            subject: "0196b4a2-6c1e-7cc3-9f1a-3b2d8f0e4a11",
            token: Token::generate().unwrap(),
            issued_at: NOW - 59,
        },
        Case {
            purpose: "magic_link",
            subject: "usér-ü-日本",
            token: fixed(0xff),
            issued_at: NOW,
        },
        Case {
            purpose: "change_email",
            subject: "x",
            token: Token::generate().unwrap(),
            issued_at: NOW + 30,
        },
    ]
}

#[test]
fn python_agrees_on_digests_keys_and_envelopes() {
    let secret = secret();
    let base = SecretKeyBase::new(secret.clone()).unwrap();
    let cases = cases();

    let tokens: Vec<Token> = (0..4)
        .map(|_| Token::generate().unwrap())
        .chain([Token::from_bytes([0; 32]), Token::from_bytes([0xff; 32])])
        .collect();
    let labels = [
        "token-envelope:confirm",
        "token-envelope:reset_password",
        "numeric-code:confirm_code",
        "backup-code",
        "x",
    ];
    let code_key = CodeKey::derive(&base, "confirm_code").unwrap();
    let backup_key = BackupCodeKey::derive(&base).unwrap();
    let numeric = NumericCode::parse("004217", 6).unwrap();
    let backup = BackupCode::parse("7kq2-m9xd").unwrap();

    // Our envelopes, honest and tampered, for Python to verify.
    let mut verify = Vec::new();
    let mut expect = Vec::new();
    for c in &cases {
        let key = EnvelopeKey::derive(&base, c.purpose).unwrap();
        let env = key.sign(&c.token, c.subject, at(c.issued_at)).unwrap();
        verify.push(
            json!({"purpose": c.purpose, "envelope": env, "subject": c.subject,
                           "max_age": 7200, "now": NOW}),
        );
        expect.push(
            json!({"ok": true, "token": c.token.to_base64url(), "subject": c.subject,
                           "issued_at": c.issued_at}),
        );
        verify.push(
            json!({"purpose": c.purpose, "envelope": tamper(&env), "max_age": 7200, "now": NOW}),
        );
        expect.push(Value::Null); // refused: "signature" or "malformed", checked below
        verify.push(
            json!({"purpose": "other_purpose", "envelope": env, "max_age": 7200, "now": NOW}),
        );
        expect.push(json!({"ok": false, "error": "purpose"}));
        verify.push(
            json!({"purpose": c.purpose, "envelope": env, "subject": "someone-else",
                           "max_age": 7200, "now": NOW}),
        );
        expect.push(json!({"ok": false, "error": "subject"}));
        verify.push(json!({"purpose": c.purpose, "envelope": env, "max_age": 10,
                           "now": c.issued_at + 11}));
        expect.push(json!({"ok": false, "error": "expired"}));
    }

    let input = json!({
        "secret_key_base": B64.encode(&secret),
        "digests": tokens.iter().map(Token::to_base64url).collect::<Vec<_>>(),
        "derive": labels,
        "hmac": [
            {"label": "numeric-code:confirm_code", "message": numeric.as_str()},
            {"label": "backup-code", "message": backup.canonical()},
        ],
        "sign": cases.iter().map(|c| json!({
            "purpose": c.purpose, "token": c.token.to_base64url(),
            "subject": c.subject, "issued_at": c.issued_at,
        })).collect::<Vec<_>>(),
        "verify": verify,
    });
    let Some(out) = sigra_tests::run_peer("token_peer.py", &input) else {
        return;
    };

    // SHA-256 digests of the raw token bytes.
    let digests: Vec<&str> = out["digests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(digests.len(), tokens.len());
    for (token, theirs) in tokens.iter().zip(digests) {
        assert_eq!(token.digest().to_hex(), theirs);
    }

    // HKDF-SHA256 per-purpose keys.
    let derived = out["derived"].as_array().unwrap();
    for (label, theirs) in labels.iter().zip(derived) {
        let ours = base.derive(label).unwrap();
        let ours_hex: String = ours.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ours_hex, theirs.as_str().unwrap(), "label {label}");
    }

    // Keyed digests of numeric codes and backup codes.
    let hmacs = out["hmacs"].as_array().unwrap();
    assert_eq!(
        code_key.digest(&numeric).to_hex(),
        hmacs[0].as_str().unwrap()
    );
    assert_eq!(
        backup_key.digest(&backup).to_hex(),
        hmacs[1].as_str().unwrap()
    );

    // Python verified our envelopes.
    let verified = out["verified"].as_array().unwrap();
    assert_eq!(verified.len(), expect.len());
    for (i, (theirs, expected)) in verified.iter().zip(&expect).enumerate() {
        if expected.is_null() {
            assert_eq!(
                theirs["ok"],
                json!(false),
                "case {i}: tampered envelope accepted"
            );
            let error = theirs["error"].as_str().unwrap();
            assert!(
                error == "signature" || error == "malformed",
                "case {i}: {error}"
            );
        } else {
            assert_eq!(theirs, expected, "case {i}");
        }
    }

    // Python's envelopes: identical to ours, accepted by us; tampered ones refused by us.
    let signed = out["signed"].as_array().unwrap();
    assert_eq!(signed.len(), cases.len());
    for (c, theirs) in cases.iter().zip(signed) {
        let theirs = theirs.as_str().unwrap();
        let key = EnvelopeKey::derive(&base, c.purpose).unwrap();
        assert_eq!(
            key.sign(&c.token, c.subject, at(c.issued_at)).unwrap(),
            theirs,
            "{}: Python's envelope differs from ours",
            c.purpose
        );
        let v = key
            .verify_for_subject(theirs, c.subject, Duration::hours(2), at(NOW))
            .unwrap();
        assert!(v.token == c.token);
        assert_eq!(v.subject, c.subject);
        assert_eq!(v.issued_at.unix_timestamp(), c.issued_at);
        assert!(matches!(
            key.verify(&tamper(theirs), Duration::hours(2), at(NOW)),
            Err(TokenError::EnvelopeSignature | TokenError::EnvelopeMalformed)
        ));
    }
}

#[test]
fn python_signed_envelope_with_another_secret_is_refused() {
    let mut other = secret();
    other[0] ^= 1;
    let token = Token::generate().unwrap();
    let input = json!({
        "secret_key_base": B64.encode(&other),
        "sign": [{"purpose": "confirm", "token": token.to_base64url(), "subject": "42",
                  "issued_at": NOW}],
    });
    let Some(out) = sigra_tests::run_peer("token_peer.py", &input) else {
        return;
    };
    let theirs = out["signed"][0].as_str().unwrap();
    let base = SecretKeyBase::new(secret()).unwrap();
    let key = EnvelopeKey::derive(&base, "confirm").unwrap();
    assert!(matches!(
        key.verify(theirs, Duration::hours(1), at(NOW)),
        Err(TokenError::EnvelopeSignature)
    ));
}

#[test]
fn python_and_rust_sign_identically_at_edge_times() {
    // Issue times before 1970, at 0, past 2038 and at the end of year 9999 pin the signed
    // 64-bit big-endian encoding.
    let times = [-86_400i64, -1, 0, 1 << 31, 253_402_300_799];
    let base = SecretKeyBase::new(secret()).unwrap();
    let key = EnvelopeKey::derive(&base, "confirm").unwrap();
    let token = Token::from_bytes([0x5a; 32]);
    let input = json!({
        "secret_key_base": B64.encode(secret()),
        "sign": times.iter().map(|t| json!({"purpose": "confirm", "token": token.to_base64url(),
                                             "subject": "edge", "issued_at": t}))
                     .collect::<Vec<_>>(),
    });
    let Some(out) = sigra_tests::run_peer("token_peer.py", &input) else {
        return;
    };
    for (t, theirs) in times.iter().zip(out["signed"].as_array().unwrap()) {
        let ours = key.sign(&token, "edge", at(*t)).unwrap();
        assert_eq!(ours, theirs.as_str().unwrap(), "issued_at {t}");
        let v = key.verify(&ours, Duration::seconds(1), at(*t)).unwrap();
        assert_eq!(v.issued_at.unix_timestamp(), *t);
    }
}
