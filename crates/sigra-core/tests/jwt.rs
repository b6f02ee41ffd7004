//! Integration tests for `sigra_core::jwt`: every algorithm, every claim check, every error,
//! the RFC vectors through the full verifier, attacks (alg none, algorithm confusion,
//! tampering), and "arbitrary input never panics".
//!
//! Keys under `tests/fixtures/jwt/` are TEST-ONLY (see the README there). Tokens the API
//! cannot produce (RS256, other algorithms, broken claims) are crafted with `jsonwebtoken`
//! directly.

// Test helpers outside `#[test]` functions may unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use serde_json::{Value, json};
use sigra_core::jwt::{
    JwtAlgorithm, JwtError, JwtSigner, JwtVerifier, SigningKey, TokenSpec, VerifyingKey,
};
use sigra_core::keys::SecretKeyBase;

const ISS: &str = "https://sigra.test";
const AUD: &str = "sigra-api";
const HS_SECRET: &[u8] = b"test-only HS256 secret, 32+ bytes long";

const ED_PRIVATE: &[u8] = include_bytes!("fixtures/jwt/ed25519-private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/ed25519-public.pem");
const ED_OTHER_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/ed25519-other-public.pem");
const ED_OTHER_PRIVATE: &[u8] = include_bytes!("fixtures/jwt/ed25519-other-private.pem");
const P256_PRIVATE: &[u8] = include_bytes!("fixtures/jwt/p256-private.pem");
const P256_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/p256-public.pem");
const P256_OTHER_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/p256-other-public.pem");
const P384_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/p384-public.pem");
const RSA_PRIVATE: &[u8] = include_bytes!("fixtures/jwt/rsa2048-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/rsa2048-public.pem");
const RSA1024_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/rsa1024-public.pem");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_keys() -> Vec<SigningKey> {
    vec![
        SigningKey::hs256(HS_SECRET).unwrap(),
        SigningKey::ed25519_from_pem(ED_PRIVATE).unwrap(),
        SigningKey::es256_from_pem(P256_PRIVATE).unwrap(),
    ]
}

fn verifier_for(key: &VerifyingKey) -> JwtVerifier {
    JwtVerifier::new(ISS, AUD, "access")
        .unwrap()
        .with_key(key.clone())
        .unwrap()
}

fn hs_verifier() -> JwtVerifier {
    verifier_for(&VerifyingKey::hs256(HS_SECRET).unwrap())
}

fn hs_signer() -> JwtSigner {
    JwtSigner::new(SigningKey::hs256(HS_SECRET).unwrap(), ISS, AUD).unwrap()
}

/// Claims of a valid access token, for crafting.
fn good_claims() -> Value {
    let now = now();
    json!({
        "iss": ISS, "aud": AUD, "sub": "user-1", "iat": now, "exp": now + 600,
        "jti": "crafted-jti", "typ": "access", "epoch": 0
    })
}

/// Signs arbitrary header and payload text with `jsonwebtoken`'s low-level signer.
fn craft(header: &str, payload: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{signature}")
}

fn craft_hs256(claims: &Value) -> String {
    craft(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims.to_string(),
        &EncodingKey::from_secret(HS_SECRET),
        Algorithm::HS256,
    )
}

fn with_claim(name: &str, value: Value) -> Value {
    let mut claims = good_claims();
    claims[name] = value;
    claims
}

fn without_claim(name: &str) -> Value {
    let mut claims = good_claims();
    claims.as_object_mut().unwrap().remove(name);
    claims
}

// ---------------------------------------------------------------- round trips

#[test]
fn every_signing_algorithm_round_trips() {
    for key in signing_keys() {
        let alg = key.algorithm();
        let signer = JwtSigner::new(key.clone(), ISS, AUD).unwrap();
        let verifier = verifier_for(&key.verifying_key());
        let spec = TokenSpec::access("user-42", 7)
            .with_scopes(["projects:read", "billing:*"])
            .with_claim("org", "acme")
            .with_claim("n", 5);
        let issued = signer.sign(&spec).unwrap();

        let verified = verifier.verify(issued.as_str()).unwrap();
        assert_eq!(verified.subject(), "user-42");
        assert_eq!(verified.token_epoch(), 7);
        assert_eq!(verified.jti(), issued.jti());
        let claims = verified.check_epoch(7).unwrap();
        assert_eq!(claims.iss, ISS, "{alg}");
        assert_eq!(claims.aud, [AUD]);
        assert_eq!(claims.typ, "access");
        assert_eq!(claims.exp, issued.expires_at());
        assert_eq!(claims.iat, issued.issued_at());
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.nbf, None);
        assert_eq!(claims.jti.len(), 22);
        assert_eq!(
            claims.scopes.as_deref(),
            Some(&["projects:read".to_string(), "billing:*".to_string()][..])
        );
        assert_eq!(claims.extra["org"], "acme");
        assert_eq!(claims.extra["n"], 5);
        assert_eq!(claims.extra.len(), 2);

        // The header says what it should.
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(issued.as_str().split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header, json!({"alg": alg.as_str(), "typ": "JWT"}));
    }
}

#[test]
fn jti_is_fresh_for_every_token() {
    let signer = hs_signer();
    let a = signer.sign(&TokenSpec::access("u", 0)).unwrap();
    let b = signer.sign(&TokenSpec::access("u", 0)).unwrap();
    assert_ne!(a.jti(), b.jti());
    assert_ne!(a.as_str(), b.as_str());
}

#[test]
fn kid_goes_into_the_header_and_selects_the_key() {
    let old = SigningKey::hs256(&[1u8; 32])
        .unwrap()
        .with_kid("old")
        .unwrap();
    let new = SigningKey::ed25519_from_pem(ED_PRIVATE)
        .unwrap()
        .with_kid("new")
        .unwrap();
    let verifier = JwtVerifier::new(ISS, AUD, "access")
        .unwrap()
        .with_key(old.verifying_key())
        .unwrap()
        .with_key(new.verifying_key())
        .unwrap();
    for key in [old, new] {
        let token = JwtSigner::new(key, ISS, AUD)
            .unwrap()
            .sign(&TokenSpec::access("u", 0))
            .unwrap();
        let header = token.as_str().split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert!(header["kid"].is_string());
        verifier
            .verify(token.as_str())
            .unwrap()
            .check_epoch(0)
            .unwrap();
    }
    assert_eq!(
        verifier.algorithms(),
        [JwtAlgorithm::Hs256, JwtAlgorithm::EdDsa]
    );
}

#[test]
fn keys_without_kid_are_all_tried_and_match_any_kid() {
    // Rotation without key ids: both keys are tried.
    let verifier = JwtVerifier::new(ISS, AUD, "access")
        .unwrap()
        .with_key(VerifyingKey::hs256(&[1u8; 32]).unwrap())
        .unwrap()
        .with_key(VerifyingKey::hs256(HS_SECRET).unwrap())
        .unwrap();
    verifier
        .verify(
            hs_signer()
                .sign(&TokenSpec::access("u", 0))
                .unwrap()
                .as_str(),
        )
        .unwrap()
        .check_epoch(0)
        .unwrap();
    // A token with a kid the verifier does not name falls back to kid-less keys.
    let with_kid = JwtSigner::new(
        SigningKey::hs256(HS_SECRET).unwrap().with_kid("x").unwrap(),
        ISS,
        AUD,
    )
    .unwrap()
    .sign(&TokenSpec::access("u", 0))
    .unwrap();
    verifier
        .verify(with_kid.as_str())
        .unwrap()
        .check_epoch(0)
        .unwrap();
}

#[test]
fn unknown_kid_is_refused_when_every_key_is_named() {
    let verifier = JwtVerifier::new(ISS, AUD, "access")
        .unwrap()
        .with_key(
            VerifyingKey::hs256(HS_SECRET)
                .unwrap()
                .with_kid("a")
                .unwrap(),
        )
        .unwrap();
    let token = JwtSigner::new(
        SigningKey::hs256(HS_SECRET).unwrap().with_kid("b").unwrap(),
        ISS,
        AUD,
    )
    .unwrap()
    .sign(&TokenSpec::access("u", 0))
    .unwrap();
    assert!(matches!(
        verifier.verify(token.as_str()),
        Err(JwtError::UnknownKeyId { kid }) if kid == "b"
    ));
    // A token without a kid is still tried against the named key.
    verifier
        .verify(
            hs_signer()
                .sign(&TokenSpec::access("u", 0))
                .unwrap()
                .as_str(),
        )
        .unwrap()
        .check_epoch(0)
        .unwrap();
}

#[test]
fn rs256_tokens_verify() {
    let verifier = verifier_for(&VerifyingKey::rs256_from_pem(RSA_PUBLIC).unwrap());
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &good_claims(),
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    )
    .unwrap();
    let claims = verifier.verify(&token).unwrap().check_epoch(0).unwrap();
    assert_eq!(claims.sub, "user-1");
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        verifier.verify(std::str::from_utf8(&tampered).unwrap()),
        Err(JwtError::BadSignature)
    ));
}

#[test]
fn key_base_derived_hs256_keys_interoperate() {
    let base = SecretKeyBase::new(vec![3u8; 64]).unwrap();
    let other = SecretKeyBase::new(vec![4u8; 64]).unwrap();
    let token = JwtSigner::new(SigningKey::hs256_from_key_base(&base).unwrap(), ISS, AUD)
        .unwrap()
        .sign(&TokenSpec::access("u", 0))
        .unwrap();
    verifier_for(&VerifyingKey::hs256_from_key_base(&base).unwrap())
        .verify(token.as_str())
        .unwrap()
        .check_epoch(0)
        .unwrap();
    assert!(matches!(
        verifier_for(&VerifyingKey::hs256_from_key_base(&other).unwrap()).verify(token.as_str()),
        Err(JwtError::BadSignature)
    ));
}

// ---------------------------------------------------------------- RFC vectors

/// RFC 7515 Appendix A.1. Its `exp` (1300819380) is long past, so the full verifier refuses it
/// as expired; replayed at a moment before `exp` (test-only `danger_verify_at`), the signature
/// and the time checks pass and the first sigra claim it lacks (`iat`) is reported. Either way
/// the signature verified: with another key the answer is `BadSignature`.
#[test]
fn rfc7515_a1_through_the_verifier() {
    let key = URL_SAFE_NO_PAD
        .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
        .unwrap();
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let verifier = JwtVerifier::new("joe", "any", "access")
        .unwrap()
        .with_key(VerifyingKey::hs256(&key).unwrap())
        .unwrap();
    assert!(matches!(
        verifier.verify(token),
        Err(JwtError::Expired {
            exp: 1_300_819_380,
            ..
        })
    ));
    assert!(matches!(
        verifier.danger_verify_at(token, 1_300_819_000),
        Err(JwtError::MissingClaim { claim: "iat" })
    ));
    let wrong = verifier_for(&VerifyingKey::hs256(HS_SECRET).unwrap());
    assert!(matches!(
        wrong.danger_verify_at(token, 1_300_819_000),
        Err(JwtError::BadSignature)
    ));
}

/// RFC 8037 Appendix A.4. Its payload is text, not claims: the verifier accepts the signature
/// and then refuses the payload; one flipped signature bit turns that into `BadSignature`.
#[test]
fn rfc8037_a4_through_the_verifier() {
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        .unwrap()
        .try_into()
        .unwrap();
    let jws = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let verifier = verifier_for(&VerifyingKey::ed25519_from_bytes(&x).unwrap());
    assert!(matches!(
        verifier.verify(jws),
        Err(JwtError::Malformed {
            reason: "the payload is not a JSON object with unique member names"
        })
    ));
    let tampered = jws.replace(".hgyY0il", ".hgyY0im");
    assert!(matches!(
        verifier.verify(&tampered),
        Err(JwtError::BadSignature)
    ));

    // The RFC key in PEM form signs the RFC payload to the RFC's exact JWS.
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        .unwrap()
        .try_into()
        .unwrap();
    let from_seed = SigningKey::ed25519_from_seed(&seed).unwrap();
    let token = JwtSigner::new(from_seed.clone(), ISS, AUD)
        .unwrap()
        .sign(&TokenSpec::access("u", 0))
        .unwrap();
    verifier
        .verify(token.as_str())
        .unwrap()
        .check_epoch(0)
        .unwrap();
    let from_pem = SigningKey::ed25519_from_pem(
        b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let token = JwtSigner::new(from_pem, ISS, AUD)
        .unwrap()
        .sign(&TokenSpec::access("u", 0))
        .unwrap();
    verifier
        .verify(token.as_str())
        .unwrap()
        .check_epoch(0)
        .unwrap();
}

// ---------------------------------------------------------------- attacks

#[test]
fn alg_none_is_refused_in_every_spelling() {
    let verifier = hs_verifier();
    let payload = b64(good_claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
        for signature in ["", "c2lnbmF0dXJl"] {
            let token = format!("{header}.{payload}.{signature}");
            assert!(
                matches!(verifier.verify(&token), Err(JwtError::AlgNone)),
                "{alg} {signature:?}"
            );
        }
    }
}

#[test]
fn algorithms_outside_the_allow_list_are_refused() {
    let verifier = hs_verifier();
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = jsonwebtoken::encode(
            &Header::new(alg),
            &good_claims(),
            &EncodingKey::from_secret(HS_SECRET),
        )
        .unwrap();
        assert!(matches!(
            verifier.verify(&token),
            Err(JwtError::UnsupportedAlgorithm { .. })
        ));
    }
    let ps256 = jsonwebtoken::encode(
        &Header::new(Algorithm::PS256),
        &good_claims(),
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    )
    .unwrap();
    let rs_verifier = verifier_for(&VerifyingKey::rs256_from_pem(RSA_PUBLIC).unwrap());
    assert!(matches!(
        rs_verifier.verify(&ps256),
        Err(JwtError::UnsupportedAlgorithm { alg }) if alg == "PS256"
    ));
    let payload = b64(good_claims().to_string().as_bytes());
    let weird = format!("{}.{payload}.AAAA", b64(br#"{"alg":"X\u0000Y"}"#));
    let err = verifier.verify(&weird).unwrap_err();
    assert!(matches!(err, JwtError::UnsupportedAlgorithm { .. }));
    assert!(!err.to_string().contains('\0'));
}

/// The classic confusion: sign HS256 with the bytes of the verifier's public key as the HMAC
/// secret. The key decides the algorithm, so no HS256 key exists to check it with.
#[test]
fn hs256_signed_with_a_public_key_is_refused() {
    for (public_pem, key) in [
        (
            RSA_PUBLIC,
            VerifyingKey::rs256_from_pem(RSA_PUBLIC).unwrap(),
        ),
        (
            P256_PUBLIC,
            VerifyingKey::es256_from_pem(P256_PUBLIC).unwrap(),
        ),
        (
            ED_PUBLIC,
            VerifyingKey::ed25519_from_pem(ED_PUBLIC).unwrap(),
        ),
    ] {
        let forged = craft(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &good_claims().to_string(),
            &EncodingKey::from_secret(public_pem),
            Algorithm::HS256,
        );
        let verifier = verifier_for(&key);
        assert!(matches!(
            verifier.verify(&forged),
            Err(JwtError::DisallowedAlgorithm {
                alg: JwtAlgorithm::Hs256
            })
        ));

        // Naming the public key's kid does not help either.
        let verifier = verifier_for(&key.clone().with_kid("pub").unwrap());
        let forged = craft(
            r#"{"alg":"HS256","typ":"JWT","kid":"pub"}"#,
            &good_claims().to_string(),
            &EncodingKey::from_secret(public_pem),
            Algorithm::HS256,
        );
        assert!(matches!(
            verifier.verify(&forged),
            Err(JwtError::AlgorithmMismatch {
                header: JwtAlgorithm::Hs256,
                ..
            })
        ));

        // And with an HS256 key present too, the forgery meets the real secret and fails.
        let verifier = verifier_for(&key)
            .with_key(VerifyingKey::hs256(HS_SECRET).unwrap())
            .unwrap();
        let forged = craft(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &good_claims().to_string(),
            &EncodingKey::from_secret(public_pem),
            Algorithm::HS256,
        );
        assert!(matches!(
            verifier.verify(&forged),
            Err(JwtError::BadSignature)
        ));
    }
    // Public keys cannot even be loaded as HS256 secrets.
    for pem in [RSA_PUBLIC, P256_PUBLIC, ED_PUBLIC] {
        assert!(matches!(
            VerifyingKey::hs256(pem),
            Err(JwtError::InvalidKey {
                alg: JwtAlgorithm::Hs256,
                ..
            })
        ));
    }
}

#[test]
fn tampered_tokens_are_refused() {
    for key in signing_keys() {
        let signer = JwtSigner::new(key.clone(), ISS, AUD).unwrap();
        let verifier = verifier_for(&key.verifying_key());
        let token = signer
            .sign(&TokenSpec::access("user-1", 0))
            .unwrap()
            .into_string();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();

        // Swap the payload for one naming another user.
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("admin");
        let forged_payload = b64(claims.to_string().as_bytes());
        let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert!(matches!(
            verifier.verify(&forged),
            Err(JwtError::BadSignature)
        ));

        // Flip a bit in the signature (keeping it canonical base64url).
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[0] ^= 0x01;
        parts[2] = b64(&sig);
        assert!(matches!(
            verifier.verify(&parts.join(".")),
            Err(JwtError::BadSignature)
        ));

        // Drop the signature.
        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        assert!(matches!(
            verifier.verify(&unsigned),
            Err(JwtError::Malformed { .. })
        ));
    }
}

#[test]
fn tokens_from_another_key_are_refused() {
    let other_ed = SigningKey::ed25519_from_pem(ED_OTHER_PRIVATE).unwrap();
    let token = JwtSigner::new(other_ed, ISS, AUD)
        .unwrap()
        .sign(&TokenSpec::access("u", 0))
        .unwrap();
    let verifier = verifier_for(&VerifyingKey::ed25519_from_pem(ED_PUBLIC).unwrap());
    assert!(matches!(
        verifier.verify(token.as_str()),
        Err(JwtError::BadSignature)
    ));
    verifier_for(&VerifyingKey::ed25519_from_pem(ED_OTHER_PUBLIC).unwrap())
        .verify(token.as_str())
        .unwrap()
        .check_epoch(0)
        .unwrap();

    let es = JwtSigner::new(SigningKey::es256_from_pem(P256_PRIVATE).unwrap(), ISS, AUD)
        .unwrap()
        .sign(&TokenSpec::access("u", 0))
        .unwrap();
    assert!(matches!(
        verifier_for(&VerifyingKey::es256_from_pem(P256_OTHER_PUBLIC).unwrap()).verify(es.as_str()),
        Err(JwtError::BadSignature)
    ));
}

#[test]
fn duplicate_claims_and_crit_headers_are_refused_even_when_signed() {
    let verifier = hs_verifier();
    let now = now();
    let duplicated = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"user-1","sub":"admin","iat":{now},"exp":{},"jti":"j","typ":"access","epoch":0}}"#,
        now + 60
    );
    let token = craft(
        r#"{"alg":"HS256"}"#,
        &duplicated,
        &EncodingKey::from_secret(HS_SECRET),
        Algorithm::HS256,
    );
    assert!(matches!(
        verifier.verify(&token),
        Err(JwtError::Malformed { .. })
    ));

    let token = craft(
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        &good_claims().to_string(),
        &EncodingKey::from_secret(HS_SECRET),
        Algorithm::HS256,
    );
    assert!(matches!(
        verifier.verify(&token),
        Err(JwtError::UnsupportedCritical)
    ));

    let token = craft(
        r#"{"alg":"HS256","alg":"none"}"#,
        &good_claims().to_string(),
        &EncodingKey::from_secret(HS_SECRET),
        Algorithm::HS256,
    );
    assert!(matches!(
        verifier.verify(&token),
        Err(JwtError::Malformed { .. })
    ));
}

#[test]
fn header_key_hints_are_ignored() {
    // A header pointing at an attacker's key (jku/jwk) changes nothing: only held keys count.
    let token = craft(
        r#"{"alg":"HS256","jku":"https://evil.example/jwks","jwk":{"kty":"oct","k":"AAAA"}}"#,
        &good_claims().to_string(),
        &EncodingKey::from_secret(b"the attacker's own secret, 32 bytes+"),
        Algorithm::HS256,
    );
    assert!(matches!(
        hs_verifier().verify(&token),
        Err(JwtError::BadSignature)
    ));
}

// ---------------------------------------------------------------- claim checks

#[test]
fn expired_tokens_are_refused_with_skew() {
    let signer = hs_signer();
    let verifier = hs_verifier();
    let issued = signer.sign(&TokenSpec::access("u", 0)).unwrap();
    let exp = issued.expires_at();
    verifier
        .danger_verify_at(issued.as_str(), exp + 29)
        .unwrap()
        .check_epoch(0)
        .unwrap();
    assert!(matches!(
        verifier.danger_verify_at(issued.as_str(), exp + 30),
        Err(JwtError::Expired { skew: 30, .. })
    ));
    let strict = hs_verifier().with_clock_skew(Duration::ZERO).unwrap();
    assert!(matches!(
        strict.danger_verify_at(issued.as_str(), exp),
        Err(JwtError::Expired { .. })
    ));
    strict
        .danger_verify_at(issued.as_str(), exp - 1)
        .unwrap()
        .check_epoch(0)
        .unwrap();
}

#[test]
fn iat_in_the_future_is_refused() {
    let issued = hs_signer().sign(&TokenSpec::access("u", 0)).unwrap();
    let iat = issued.issued_at();
    hs_verifier()
        .danger_verify_at(issued.as_str(), iat - 30)
        .unwrap()
        .check_epoch(0)
        .unwrap();
    assert!(matches!(
        hs_verifier().danger_verify_at(issued.as_str(), iat - 31),
        Err(JwtError::IssuedInFuture { .. })
    ));
}

#[test]
fn nbf_is_honoured() {
    let nbf = now() + 300;
    let issued = hs_signer()
        .sign(&TokenSpec::access("u", 0).with_not_before(nbf))
        .unwrap();
    assert!(matches!(
        hs_verifier().verify(issued.as_str()),
        Err(JwtError::NotYetValid { nbf: n, .. }) if n == nbf
    ));
    let claims = hs_verifier()
        .danger_verify_at(issued.as_str(), nbf)
        .unwrap()
        .check_epoch(0)
        .unwrap();
    assert_eq!(claims.nbf, Some(nbf));
}

#[test]
fn issuer_audience_and_type_are_checked() {
    let token = hs_signer().sign(&TokenSpec::access("u", 0)).unwrap();
    let key = VerifyingKey::hs256(HS_SECRET).unwrap();
    let check = |iss: &str, aud: &str, typ: &str| {
        JwtVerifier::new(iss, aud, typ)
            .unwrap()
            .with_key(key.clone())
            .unwrap()
            .verify(token.as_str())
    };
    assert!(matches!(
        check("https://other.test", AUD, "access"),
        Err(JwtError::WrongIssuer { found, .. }) if found == ISS
    ));
    assert!(matches!(
        check(ISS, "other-api", "access"),
        Err(JwtError::WrongAudience { .. })
    ));
    assert!(matches!(
        check(ISS, AUD, "refresh"),
        Err(JwtError::WrongType { found, expected }) if found == "access" && expected == "refresh"
    ));

    // A refresh-shaped token is not an access token.
    let refresh = hs_signer()
        .sign(&TokenSpec::access("u", 0).with_type("refresh"))
        .unwrap();
    assert!(matches!(
        hs_verifier().verify(refresh.as_str()),
        Err(JwtError::WrongType { .. })
    ));

    // `aud` may be a list containing the audience.
    let listed = craft_hs256(&with_claim("aud", json!(["other", AUD])));
    let claims = hs_verifier()
        .verify(&listed)
        .unwrap()
        .check_epoch(0)
        .unwrap();
    assert_eq!(claims.aud, ["other", AUD]);
    let not_listed = craft_hs256(&with_claim("aud", json!(["other"])));
    assert!(matches!(
        hs_verifier().verify(&not_listed),
        Err(JwtError::WrongAudience { .. })
    ));
}

#[test]
fn every_required_claim_is_required() {
    for claim in ["exp", "iat", "iss", "aud", "typ", "sub", "jti", "epoch"] {
        let token = craft_hs256(&without_claim(claim));
        match hs_verifier().verify(&token) {
            Err(JwtError::MissingClaim { claim: c }) => assert_eq!(c, claim),
            other => panic!("{claim}: {other:?}"),
        }
    }
}

#[test]
fn claim_types_are_checked() {
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("exp", json!(1.9e9)),
        ("iat", json!(-5)),
        ("nbf", json!("now")),
        ("iss", json!(null)),
        ("aud", json!({"a": 1})),
        ("sub", json!(42)),
        ("sub", json!("")),
        ("jti", json!([])),
        ("typ", json!(1)),
        ("epoch", json!(1.5)),
        ("scopes", json!({"projects": "read"})),
    ] {
        let token = craft_hs256(&with_claim(claim, value.clone()));
        match hs_verifier().verify(&token) {
            Err(JwtError::InvalidClaim { claim: c, .. }) => assert_eq!(c, claim, "{value}"),
            other => panic!("{claim}={value}: {other:?}"),
        }
    }
}

#[test]
fn epoch_bump_revokes() {
    let token = hs_signer().sign(&TokenSpec::access("u", 3)).unwrap();
    let err = hs_verifier()
        .verify(token.as_str())
        .unwrap()
        .check_epoch(4)
        .unwrap_err();
    assert!(matches!(
        err,
        JwtError::EpochMismatch {
            token: 3,
            current: 4
        }
    ));
    assert!(err.to_string().contains("revoked"));
    hs_verifier()
        .verify(token.as_str())
        .unwrap()
        .check_epoch(3)
        .unwrap();
}

#[test]
fn malformed_tokens_get_clear_errors() {
    let verifier = hs_verifier();
    let good = hs_signer()
        .sign(&TokenSpec::access("u", 0))
        .unwrap()
        .into_string();
    let parts: Vec<&str> = good.split('.').collect();
    for (token, what) in [
        (String::new(), "empty"),
        ("abc".to_string(), "one segment"),
        (format!("{}.{}", parts[0], parts[1]), "two segments"),
        (format!("{good}.extra"), "four segments"),
        (
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            "padded header",
        ),
        (
            format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
            "padded signature",
        ),
        (
            format!("{}+.{}.{}", parts[0], parts[1], parts[2]),
            "non-url base64",
        ),
        (
            format!("{}.{}.{}", b64(b"[]"), parts[1], parts[2]),
            "header not object",
        ),
        (
            format!("{}.{}.{}", b64(b"{}"), parts[1], parts[2]),
            "no alg",
        ),
        (format!("Bearer {good}"), "with scheme"),
    ] {
        let err = verifier.verify(&token).unwrap_err();
        assert!(
            matches!(
                err,
                JwtError::Malformed { .. } | JwtError::UnsupportedAlgorithm { .. }
            ),
            "{what}: {err:?}"
        );
    }
    let huge = format!("{}.{}.{}", parts[0], "A".repeat(9000), parts[2]);
    assert!(matches!(
        verifier.verify(&huge),
        Err(JwtError::TooLong { .. })
    ));
}

// ---------------------------------------------------------------- keys and settings

#[test]
fn keys_of_the_wrong_kind_are_refused() {
    let refused = [
        VerifyingKey::ed25519_from_pem(ED_PRIVATE).err(),
        VerifyingKey::ed25519_from_pem(P256_PUBLIC).err(),
        VerifyingKey::es256_from_pem(P384_PUBLIC).err(),
        VerifyingKey::es256_from_pem(ED_PUBLIC).err(),
        VerifyingKey::es256_from_pem(P256_PRIVATE).err(),
        VerifyingKey::rs256_from_pem(RSA1024_PUBLIC).err(),
        VerifyingKey::rs256_from_pem(RSA_PRIVATE).err(),
        VerifyingKey::rs256_from_pem(P256_PUBLIC).err(),
        VerifyingKey::rs256_from_pem(
            b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .err(),
        VerifyingKey::rs256_from_pem(b"garbage").err(),
        SigningKey::ed25519_from_pem(P256_PRIVATE).err(),
        SigningKey::ed25519_from_pem(ED_PUBLIC).err(),
        SigningKey::es256_from_pem(ED_PRIVATE).err(),
        SigningKey::es256_from_pem(P256_PUBLIC).err(),
        SigningKey::es256_from_pem(RSA_PRIVATE).err(),
        SigningKey::hs256(b"short").err(),
    ];
    for (i, err) in refused.into_iter().enumerate() {
        let err = err.unwrap_or_else(|| panic!("case {i} was accepted"));
        assert!(
            matches!(err, JwtError::InvalidKey { .. }),
            "case {i}: {err:?}"
        );
    }
    let err = VerifyingKey::rs256_from_pem(RSA1024_PUBLIC).unwrap_err();
    assert!(err.to_string().contains("2048"));
}

#[test]
fn key_material_never_shows_in_debug() {
    let pem_body = std::str::from_utf8(ED_PRIVATE)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap();
    let key = SigningKey::ed25519_from_pem(ED_PRIVATE).unwrap();
    let signer = JwtSigner::new(key.clone(), ISS, AUD).unwrap();
    let verifier = hs_verifier();
    let shown = format!("{key:?} {signer:?} {verifier:?} {:?}", key.verifying_key());
    assert!(!shown.contains(&pem_body[..16]));
    assert!(!shown.contains("test-only HS256"));
    assert!(shown.contains("[REDACTED]"));
    let issued = hs_signer().sign(&TokenSpec::access("u", 0)).unwrap();
    assert!(!format!("{issued:?}").contains(issued.as_str()));
}

#[test]
fn settings_are_bounded() {
    assert!(JwtSigner::new(SigningKey::hs256(HS_SECRET).unwrap(), "", AUD).is_err());
    assert!(JwtSigner::new(SigningKey::hs256(HS_SECRET).unwrap(), ISS, "x".repeat(513)).is_err());
    assert!(hs_signer().with_ttl(Duration::ZERO).is_err());
    assert!(hs_signer().with_ttl(Duration::from_millis(500)).is_err());
    assert!(hs_signer().with_ttl(Duration::from_secs(86_401)).is_err());
    assert!(hs_signer().with_ttl(Duration::from_secs(86_400)).is_ok());
    assert!(
        hs_verifier()
            .with_clock_skew(Duration::from_secs(301))
            .is_err()
    );
    assert!(
        hs_verifier()
            .with_clock_skew(Duration::from_secs(300))
            .is_ok()
    );
    assert!(JwtVerifier::new(ISS, "", "access").is_err());

    let empty = JwtVerifier::new(ISS, AUD, "access").unwrap();
    let token = hs_signer().sign(&TokenSpec::access("u", 0)).unwrap();
    assert!(matches!(
        empty.verify(token.as_str()),
        Err(JwtError::InvalidSetting { .. })
    ));

    let mut many = JwtVerifier::new(ISS, AUD, "access").unwrap();
    for i in 0..32 {
        many = many
            .with_key(
                VerifyingKey::hs256(HS_SECRET)
                    .unwrap()
                    .with_kid(format!("k{i}"))
                    .unwrap(),
            )
            .unwrap();
    }
    assert!(
        many.with_key(VerifyingKey::hs256(HS_SECRET).unwrap())
            .is_err()
    );

    let dup = VerifyingKey::hs256(HS_SECRET)
        .unwrap()
        .with_kid("same")
        .unwrap();
    assert!(matches!(
        hs_verifier().with_key(dup.clone()).unwrap().with_key(dup),
        Err(JwtError::DuplicateKeyId { .. })
    ));
}

#[test]
fn specs_are_checked_when_signing() {
    let signer = hs_signer();
    assert!(matches!(
        signer.sign(&TokenSpec::access("u", 0).with_claim("exp", 1)),
        Err(JwtError::ReservedClaim { claim }) if claim == "exp"
    ));
    assert!(signer.sign(&TokenSpec::access("", 0)).is_err());
    assert!(
        signer
            .sign(&TokenSpec::access("u", 0).with_ttl(Duration::from_secs(100_000)))
            .is_err()
    );
    let short = signer
        .sign(&TokenSpec::access("u", 0).with_ttl(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(short.expires_at() - short.issued_at(), 60);
    assert!(matches!(
        signer.sign(&TokenSpec::access("u", 0).with_claim("blob", "x".repeat(8000))),
        Err(JwtError::InvalidSetting { .. })
    ));
}

#[test]
fn errors_convert_into_the_crate_error() {
    let err: sigra_core::Error = JwtError::BadSignature.into();
    assert!(err.to_string().contains("signature"));
}

// ---------------------------------------------------------------- never panics

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_strings_never_panic(token in any::<String>()) {
        let err = hs_verifier().verify(&token).unwrap_err();
        prop_assert!(!err.to_string().is_empty());
    }

    #[test]
    fn arbitrary_segments_never_panic(
        header in proptest::collection::vec(any::<u8>(), 0..64),
        payload in proptest::collection::vec(any::<u8>(), 0..128),
        signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        for verifier in [
            hs_verifier(),
            verifier_for(&VerifyingKey::ed25519_from_pem(ED_PUBLIC).unwrap()),
            verifier_for(&VerifyingKey::es256_from_pem(P256_PUBLIC).unwrap()),
            verifier_for(&VerifyingKey::rs256_from_pem(RSA_PUBLIC).unwrap()),
        ] {
            prop_assert!(verifier.verify(&token).is_err());
        }
    }

    #[test]
    fn arbitrary_signatures_with_valid_headers_never_panic(
        alg in prop_oneof![Just("HS256"), Just("EdDSA"), Just("ES256"), Just("RS256")],
        signature in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let header = b64(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
        let payload = b64(good_claims().to_string().as_bytes());
        let token = format!("{header}.{payload}.{}", b64(&signature));
        let verifier = hs_verifier()
            .with_key(VerifyingKey::ed25519_from_pem(ED_PUBLIC).unwrap()).unwrap()
            .with_key(VerifyingKey::es256_from_pem(P256_PUBLIC).unwrap()).unwrap()
            .with_key(VerifyingKey::rs256_from_pem(RSA_PUBLIC).unwrap()).unwrap();
        let err = verifier.verify(&token).unwrap_err();
        prop_assert!(matches!(err, JwtError::BadSignature | JwtError::Malformed { .. }), "{}", err);
    }

    #[test]
    fn arbitrary_signed_payloads_never_panic(payload in any::<String>()) {
        let token = craft(r#"{"alg":"HS256"}"#, &payload, &EncodingKey::from_secret(HS_SECRET), Algorithm::HS256);
        let err = hs_verifier().verify(&token).unwrap_err();
        prop_assert!(!err.to_string().is_empty());
    }

    #[test]
    fn arbitrary_key_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = VerifyingKey::ed25519_from_pem(&bytes);
        let _ = VerifyingKey::es256_from_pem(&bytes);
        let _ = VerifyingKey::rs256_from_pem(&bytes);
        let _ = SigningKey::ed25519_from_pem(&bytes);
        let _ = SigningKey::es256_from_pem(&bytes);
        let _ = SigningKey::hs256(&bytes);
        let mut pem = b"-----BEGIN PUBLIC KEY-----\n".to_vec();
        pem.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(&bytes).as_bytes());
        pem.extend_from_slice(b"\n-----END PUBLIC KEY-----\n");
        let _ = VerifyingKey::ed25519_from_pem(&pem);
        let _ = VerifyingKey::es256_from_pem(&pem);
        let _ = VerifyingKey::rs256_from_pem(&pem);
    }

    #[test]
    fn arbitrary_ed25519_public_keys_never_panic(bytes in any::<[u8; 32]>()) {
        let _ = VerifyingKey::ed25519_from_bytes(&bytes);
        let _ = SigningKey::ed25519_from_seed(&bytes);
    }

    #[test]
    fn sign_verify_round_trip(subject in "[a-zA-Z0-9_@.-]{1,40}", epoch in any::<u64>(),
                              scopes in proptest::collection::vec("[a-z]{1,8}:[a-z]{1,8}", 0..4)) {
        let token = hs_signer()
            .sign(&TokenSpec::access(subject.clone(), epoch).with_scopes(scopes.clone()))
            .unwrap();
        let claims = hs_verifier().verify(token.as_str()).unwrap().check_epoch(epoch).unwrap();
        prop_assert_eq!(claims.sub, subject);
        prop_assert_eq!(claims.scopes, Some(scopes));
    }
}
