//! Cross-implementation tests: sigra-core's JWTs against PyJWT (+ `cryptography`).
//!
//! Both directions: tokens we sign (HS256, EdDSA, ES256) verify in PyJWT with the same
//! iss/aud/typ checks; PyJWT-signed tokens (HS256, EdDSA, ES256, RS256) verify here; and tokens
//! crafted in Python — tampered payloads and signatures, `alg: none`, HS256 keyed with a public
//! key (algorithm confusion), other algorithms, wrong claims — are refused here with the right
//! error (and the tampered ones by PyJWT too). The peer is `tests/py/jwt_peer.py`.
//!
//! Keys are fresh from Python's `cryptography` in the first test and the TEST-ONLY fixtures of
//! `crates/sigra-core/tests/fixtures/jwt/` (made by the same library) in the others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sigra_core::jwt::{
    JwtAlgorithm, JwtError, JwtSigner, JwtVerifier, SigningKey, TokenSpec, VerifyingKey,
};

const ISS: &str = "https://sigra.test";
const AUD: &str = "sigra-api";
const SECRET: &[u8] = b"cross-implementation HS256 test secret (test-only)";

const ED_PRIVATE: &str =
    include_str!("../../crates/sigra-core/tests/fixtures/jwt/ed25519-private.pem");
const ED_PUBLIC: &str =
    include_str!("../../crates/sigra-core/tests/fixtures/jwt/ed25519-public.pem");
const P256_PRIVATE: &str =
    include_str!("../../crates/sigra-core/tests/fixtures/jwt/p256-private.pem");
const P256_PUBLIC: &str =
    include_str!("../../crates/sigra-core/tests/fixtures/jwt/p256-public.pem");
const RSA_PRIVATE: &str =
    include_str!("../../crates/sigra-core/tests/fixtures/jwt/rsa2048-private.pem");
const RSA_PUBLIC: &str =
    include_str!("../../crates/sigra-core/tests/fixtures/jwt/rsa2048-public.pem");

/// How a refusal is recognised.
type Check = fn(&JwtError) -> bool;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs a batch of peer tasks; `None` when the peers are not installed.
fn peer(tasks: Vec<Value>) -> Option<Vec<Value>> {
    let out = sigra_tests::run_peer("jwt_peer.py", &json!({ "tasks": tasks }))?;
    Some(out["results"].as_array().expect("results").clone())
}

fn secret_key() -> Value {
    json!({ "secret": URL_SAFE_NO_PAD.encode(SECRET) })
}

fn pem_key(pem: &str) -> Value {
    json!({ "pem": pem })
}

fn verifier(key: VerifyingKey) -> JwtVerifier {
    JwtVerifier::new(ISS, AUD, "access")
        .unwrap()
        .with_key(key)
        .unwrap()
}

/// The verifier holding every fixture public key and the shared secret.
fn all_keys_verifier() -> JwtVerifier {
    verifier(VerifyingKey::hs256(SECRET).unwrap())
        .with_key(VerifyingKey::ed25519_from_pem(ED_PUBLIC.as_bytes()).unwrap())
        .unwrap()
        .with_key(VerifyingKey::es256_from_pem(P256_PUBLIC.as_bytes()).unwrap())
        .unwrap()
        .with_key(VerifyingKey::rs256_from_pem(RSA_PUBLIC.as_bytes()).unwrap())
        .unwrap()
}

fn pyjwt_claims(overrides: Value) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": ISS, "aud": AUD, "sub": "user-7", "iat": now, "exp": now + 300,
        "jti": "pyjwt-jti-1", "typ": "access", "epoch": 3,
        "scopes": ["projects:read", "billing:*"], "org": "acme"
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn verify_task(token: &str, alg: &str, key: Value, aud: &str, typ: &str) -> Value {
    json!({"op": "verify", "token": token, "alg": alg, "key": key, "iss": ISS, "aud": aud, "typ": typ})
}

#[test]
fn fresh_python_keys_both_ways() {
    let Some(results) = peer(vec![json!({"op": "keys"})]) else {
        return;
    };
    let keys = &results[0];
    let pem = |kind: &str, half: &str| keys[kind][half].as_str().unwrap().to_string();

    // Ours, signed with the Python-made keys.
    let ours: Vec<(&str, SigningKey, Value)> = vec![
        ("HS256", SigningKey::hs256(SECRET).unwrap(), secret_key()),
        (
            "EdDSA",
            SigningKey::ed25519_from_pem(pem("ed25519", "private").as_bytes()).unwrap(),
            pem_key(&pem("ed25519", "public")),
        ),
        (
            "ES256",
            SigningKey::es256_from_pem(pem("p256", "private").as_bytes())
                .unwrap()
                .with_kid("p256-1")
                .unwrap(),
            pem_key(&pem("p256", "public")),
        ),
    ];
    let mut tasks = Vec::new();
    let mut jtis = Vec::new();
    for (alg, key, public) in &ours {
        let issued = JwtSigner::new(key.clone(), ISS, AUD)
            .unwrap()
            .sign(
                &TokenSpec::access("user-42", 9)
                    .with_scopes(["projects:read"])
                    .with_claim("org", "acme"),
            )
            .unwrap();
        jtis.push(issued.jti().to_string());
        tasks.push(verify_task(
            issued.as_str(),
            alg,
            public.clone(),
            AUD,
            "access",
        ));
        // The same token with the checks PyJWT must fail on.
        tasks.push(verify_task(
            issued.as_str(),
            alg,
            public.clone(),
            "other-api",
            "access",
        ));
        tasks.push(verify_task(
            issued.as_str(),
            alg,
            public.clone(),
            AUD,
            "refresh",
        ));
        let other_alg = if *alg == "HS256" { "EdDSA" } else { "HS256" };
        let other_key = if *alg == "HS256" {
            pem_key(&pem("ed25519", "public"))
        } else {
            secret_key()
        };
        tasks.push(verify_task(
            issued.as_str(),
            other_alg,
            other_key,
            AUD,
            "access",
        ));
    }

    // Theirs, signed by PyJWT with the same keys (and RSA), for us to verify.
    let theirs = [
        ("HS256", secret_key()),
        ("EdDSA", pem_key(&pem("ed25519", "private"))),
        ("ES256", pem_key(&pem("p256", "private"))),
        ("RS256", pem_key(&pem("rsa", "private"))),
    ];
    let first_theirs = tasks.len();
    for (alg, key) in &theirs {
        tasks
            .push(json!({"op": "sign", "alg": alg, "key": key, "claims": pyjwt_claims(json!({}))}));
    }

    let Some(results) = peer(tasks) else {
        return;
    };
    for (i, (alg, _, _)) in ours.iter().enumerate() {
        let ok = &results[i * 4];
        assert_eq!(ok["ok"], true, "PyJWT refused our {alg} token: {ok}");
        let claims = &ok["claims"];
        assert_eq!(claims["sub"], "user-42");
        assert_eq!(claims["epoch"], 9);
        assert_eq!(claims["typ"], "access");
        assert_eq!(claims["scopes"], json!(["projects:read"]));
        assert_eq!(claims["org"], "acme");
        assert_eq!(claims["jti"], jtis[i].as_str());
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            900
        );
        for (j, what) in [
            (1, "wrong audience"),
            (2, "wrong typ"),
            (3, "other algorithm"),
        ] {
            let refused = &results[i * 4 + j];
            assert_eq!(
                refused["ok"], false,
                "PyJWT accepted our {alg} token with {what}"
            );
        }
    }

    let ours_verifier = verifier(VerifyingKey::hs256(SECRET).unwrap())
        .with_key(VerifyingKey::ed25519_from_pem(pem("ed25519", "public").as_bytes()).unwrap())
        .unwrap()
        .with_key(VerifyingKey::es256_from_pem(pem("p256", "public").as_bytes()).unwrap())
        .unwrap()
        .with_key(VerifyingKey::rs256_from_pem(pem("rsa", "public").as_bytes()).unwrap())
        .unwrap();
    for (k, (alg, _)) in theirs.iter().enumerate() {
        let token = results[first_theirs + k]["token"].as_str().unwrap();
        let verified = ours_verifier
            .verify(token)
            .unwrap_or_else(|e| panic!("PyJWT's {alg} token refused: {e}"));
        assert_eq!(verified.subject(), "user-7");
        let claims = verified.check_epoch(3).unwrap();
        assert_eq!(claims.jti, "pyjwt-jti-1");
        assert_eq!(
            claims.scopes.as_deref(),
            Some(&["projects:read".to_string(), "billing:*".to_string()][..])
        );
        assert_eq!(claims.extra["org"], "acme");
    }
}

#[test]
fn pyjwt_tokens_with_kid_and_audience_lists_verify_here() {
    let Some(results) = peer(vec![
        json!({"op": "sign", "alg": "EdDSA", "key": pem_key(ED_PRIVATE),
               "claims": pyjwt_claims(json!({})), "headers": {"kid": "ed-1"}}),
        json!({"op": "sign", "alg": "ES256", "key": pem_key(P256_PRIVATE),
               "claims": pyjwt_claims(json!({"aud": ["other", AUD]}))}),
        json!({"op": "sign", "alg": "RS256", "key": pem_key(RSA_PRIVATE),
               "claims": pyjwt_claims(json!({"nbf": now() - 10, "scopes": null}))}),
    ]) else {
        return;
    };
    let verifier = verifier(
        VerifyingKey::ed25519_from_pem(ED_PUBLIC.as_bytes())
            .unwrap()
            .with_kid("ed-1")
            .unwrap(),
    )
    .with_key(VerifyingKey::es256_from_pem(P256_PUBLIC.as_bytes()).unwrap())
    .unwrap()
    .with_key(VerifyingKey::rs256_from_pem(RSA_PUBLIC.as_bytes()).unwrap())
    .unwrap();
    let token = |i: usize| results[i]["token"].as_str().unwrap().to_string();

    verifier.verify(&token(0)).unwrap().check_epoch(3).unwrap();
    let claims = verifier.verify(&token(1)).unwrap().check_epoch(3).unwrap();
    assert_eq!(claims.aud, ["other", AUD]);
    let claims = verifier.verify(&token(2)).unwrap().check_epoch(3).unwrap();
    assert!(claims.nbf.is_some());
    assert_eq!(claims.scopes, None);
}

#[test]
fn tokens_crafted_in_python_are_refused_here() {
    let valid = pyjwt_claims(json!({}));
    let signers = [
        ("HS256", secret_key(), secret_key()),
        ("EdDSA", pem_key(ED_PRIVATE), pem_key(ED_PUBLIC)),
        ("ES256", pem_key(P256_PRIVATE), pem_key(P256_PUBLIC)),
        ("RS256", pem_key(RSA_PRIVATE), pem_key(RSA_PUBLIC)),
    ];

    // Round 1: valid tokens per algorithm, plus every crafted token that needs no valid one.
    let mut tasks = Vec::new();
    for (alg, private, _) in &signers {
        tasks.push(json!({"op": "sign", "alg": alg, "key": private, "claims": valid}));
    }
    let mut expected: Vec<(&str, Check)> = Vec::new();
    let mut push = |task: Value, what: &'static str, check: Check| {
        tasks.push(task);
        expected.push((what, check));
    };
    for spelling in ["none", "None", "NONE"] {
        for signature in ["", "c2lnbmF0dXJl"] {
            push(
                json!({"op": "none", "claims": valid, "spelling": spelling, "signature": signature}),
                "alg none",
                |e| matches!(e, JwtError::AlgNone),
            );
        }
    }
    for public in [RSA_PUBLIC, P256_PUBLIC, ED_PUBLIC] {
        push(
            json!({"op": "confusion", "claims": valid, "public_pem": public}),
            "HS256 keyed with a public key",
            // The all-keys verifier holds a real HS256 secret, so the forgery meets it and fails.
            |e| matches!(e, JwtError::BadSignature),
        );
    }
    let claim_cases: [(Value, &str, Check); 7] = [
        (json!({"typ": "refresh"}), "refresh typ", |e| {
            matches!(e, JwtError::WrongType { .. })
        }),
        (
            json!({"iat": now() - 1000, "exp": now() - 100}),
            "expired",
            |e| matches!(e, JwtError::Expired { .. }),
        ),
        (json!({"aud": "other-api"}), "wrong audience", |e| {
            matches!(e, JwtError::WrongAudience { .. })
        }),
        (json!({"iss": "https://evil.test"}), "wrong issuer", |e| {
            matches!(e, JwtError::WrongIssuer { .. })
        }),
        (json!({"epoch": null}), "no epoch", |e| {
            matches!(e, JwtError::MissingClaim { claim: "epoch" })
        }),
        (
            json!({"iat": now() + 3600, "exp": now() + 7200}),
            "iat in the future",
            |e| matches!(e, JwtError::IssuedInFuture { .. }),
        ),
        (json!({"nbf": now() + 3600}), "not yet valid", |e| {
            matches!(e, JwtError::NotYetValid { .. })
        }),
    ];
    for (overrides, what, check) in claim_cases {
        push(
            json!({"op": "sign", "alg": "ES256", "key": pem_key(P256_PRIVATE), "claims": pyjwt_claims(overrides)}),
            what,
            check,
        );
    }
    for alg in ["HS384", "HS512"] {
        push(
            json!({"op": "sign", "alg": alg, "key": secret_key(), "claims": valid}),
            "HMAC outside the allow-list",
            |e| matches!(e, JwtError::UnsupportedAlgorithm { .. }),
        );
    }
    for alg in ["PS256", "RS512"] {
        push(
            json!({"op": "sign", "alg": alg, "key": pem_key(RSA_PRIVATE), "claims": valid}),
            "RSA outside the allow-list",
            |e| matches!(e, JwtError::UnsupportedAlgorithm { .. }),
        );
    }
    let Some(results) = peer(tasks) else {
        return;
    };

    let all = all_keys_verifier();
    for (i, (alg, _, _)) in signers.iter().enumerate() {
        let token = results[i]["token"].as_str().unwrap();
        all.verify(token)
            .unwrap_or_else(|e| panic!("valid PyJWT {alg} token refused: {e}"))
            .check_epoch(3)
            .unwrap();
    }
    for (k, (what, check)) in expected.iter().enumerate() {
        let token = results[signers.len() + k]["token"].as_str().unwrap();
        let err = all.verify(token).map(|_| ()).unwrap_err();
        assert!(check(&err), "{what}: got {err:?}");
    }

    // Confusion against verifiers that hold only the public key: no HS256 key at all, or the
    // kid pointing at the public key.
    let mut tasks = Vec::new();
    let public_only = [
        (
            RSA_PUBLIC,
            VerifyingKey::rs256_from_pem(RSA_PUBLIC.as_bytes()).unwrap(),
        ),
        (
            P256_PUBLIC,
            VerifyingKey::es256_from_pem(P256_PUBLIC.as_bytes()).unwrap(),
        ),
        (
            ED_PUBLIC,
            VerifyingKey::ed25519_from_pem(ED_PUBLIC.as_bytes()).unwrap(),
        ),
    ];
    for (pem, _) in &public_only {
        tasks.push(json!({"op": "confusion", "claims": valid, "public_pem": pem}));
        tasks.push(json!({"op": "confusion", "claims": valid, "public_pem": pem, "kid": "pub"}));
    }
    // Round 2 also tampers the valid tokens of round 1, and asks PyJWT to judge them too.
    for (i, (alg, _, public)) in signers.iter().enumerate() {
        let token = results[i]["token"].as_str().unwrap();
        tasks.push(json!({"op": "tamper_payload", "token": token, "set": {"sub": "admin"}}));
        tasks.push(json!({"op": "tamper_signature", "token": token}));
        tasks.push(verify_task(token, alg, public.clone(), AUD, "access"));
    }
    let Some(round2) = peer(tasks) else {
        return;
    };
    for (j, (_, key)) in public_only.iter().enumerate() {
        let plain = round2[2 * j]["token"].as_str().unwrap();
        assert!(matches!(
            verifier(key.clone()).verify(plain),
            Err(JwtError::DisallowedAlgorithm {
                alg: JwtAlgorithm::Hs256
            })
        ));
        let with_kid = round2[2 * j + 1]["token"].as_str().unwrap();
        assert!(matches!(
            verifier(key.clone().with_kid("pub").unwrap()).verify(with_kid),
            Err(JwtError::AlgorithmMismatch {
                header: JwtAlgorithm::Hs256,
                ..
            })
        ));
    }
    let base = 2 * public_only.len();
    let mut judge = Vec::new();
    for (i, (alg, _, public)) in signers.iter().enumerate() {
        assert_eq!(
            round2[base + 3 * i + 2]["ok"],
            true,
            "PyJWT refused its own {alg} token"
        );
        for t in 0..2 {
            let tampered = round2[base + 3 * i + t]["token"].as_str().unwrap();
            assert!(
                matches!(all.verify(tampered), Err(JwtError::BadSignature)),
                "tampered {alg} token ({t}) not refused as BadSignature"
            );
            judge.push(verify_task(tampered, alg, public.clone(), AUD, "access"));
        }
    }
    // Tampered tokens are refused by both implementations.
    let Some(verdicts) = peer(judge) else {
        return;
    };
    for verdict in verdicts {
        assert_eq!(
            verdict["ok"], false,
            "PyJWT accepted a tampered token: {verdict}"
        );
    }
}

#[test]
fn tokens_tampered_here_are_refused_by_pyjwt() {
    let signers = [
        ("HS256", SigningKey::hs256(SECRET).unwrap(), secret_key()),
        (
            "EdDSA",
            SigningKey::ed25519_from_pem(ED_PRIVATE.as_bytes()).unwrap(),
            pem_key(ED_PUBLIC),
        ),
        (
            "ES256",
            SigningKey::es256_from_pem(P256_PRIVATE.as_bytes()).unwrap(),
            pem_key(P256_PUBLIC),
        ),
    ];
    let mut tasks = Vec::new();
    for (alg, key, public) in &signers {
        let token = JwtSigner::new(key.clone(), ISS, AUD)
            .unwrap()
            .sign(&TokenSpec::access("user-1", 0))
            .unwrap()
            .into_string();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("admin");
        let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[3] ^= 0x80;
        let bad_sig = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
        tasks.push(verify_task(&token, alg, public.clone(), AUD, "access"));
        tasks.push(verify_task(&forged, alg, public.clone(), AUD, "access"));
        tasks.push(verify_task(&bad_sig, alg, public.clone(), AUD, "access"));
    }
    let Some(results) = peer(tasks) else {
        return;
    };
    for (i, (alg, _, _)) in signers.iter().enumerate() {
        assert_eq!(results[3 * i]["ok"], true, "{alg}: {}", results[3 * i]);
        assert_eq!(
            results[3 * i + 1]["ok"],
            false,
            "{alg} forged payload accepted"
        );
        assert_eq!(
            results[3 * i + 2]["ok"],
            false,
            "{alg} flipped signature accepted"
        );
    }
}
