//! JWT sign/verify per algorithm, and API-token generate/digest/parse.
//!
//! Keys are the TEST-ONLY fixtures under `tests/fixtures/jwt/`. Each id names the algorithm
//! and key size; tokens carry a typical access-token claim set (two scopes, one custom claim).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sigra_core::api_token::{self, TokenPrefix};
use sigra_core::jwt::{JwtSigner, JwtVerifier, SigningKey, TokenSpec, VerifyingKey};

const ED_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/jwt/ed25519-private.pem");
const P256_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/jwt/p256-private.pem");
const RSA_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/jwt/rsa2048-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../tests/fixtures/jwt/rsa2048-public.pem");

fn spec() -> TokenSpec {
    TokenSpec::access("user-0190f5c2-7d3e-7000-8000-000000000000", 3)
        .with_scopes(["projects:read", "projects:write"])
        .with_claim("org", "acme")
}

fn jwt(c: &mut Criterion) {
    let keys = [
        ("HS256/32B-secret", SigningKey::hs256(&[7u8; 32]).unwrap()),
        (
            "EdDSA/Ed25519",
            SigningKey::ed25519_from_pem(ED_PRIVATE).unwrap(),
        ),
        (
            "ES256/P-256",
            SigningKey::es256_from_pem(P256_PRIVATE).unwrap(),
        ),
    ];
    for (name, key) in keys {
        let signer = JwtSigner::new(key.clone(), "https://sigra.bench", "api").unwrap();
        let verifier = JwtVerifier::new("https://sigra.bench", "api", "access")
            .unwrap()
            .with_key(key.verifying_key())
            .unwrap();
        let spec = spec();
        c.bench_function(&format!("jwt/{name}/sign"), |b| {
            b.iter(|| signer.sign(black_box(&spec)).unwrap())
        });
        let token = signer.sign(&spec).unwrap().into_string();
        c.bench_function(&format!("jwt/{name}/verify"), |b| {
            b.iter(|| {
                verifier
                    .verify(black_box(&token))
                    .unwrap()
                    .check_epoch(3)
                    .unwrap()
            })
        });
    }

    // RS256 is verify-only in sigra-core; the token is made with jsonwebtoken directly.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "https://sigra.bench", "aud": "api", "sub": "user-1", "iat": now,
        "exp": now + 3600, "jti": "bench", "typ": "access", "epoch": 3
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    )
    .unwrap();
    let verifier = JwtVerifier::new("https://sigra.bench", "api", "access")
        .unwrap()
        .with_key(VerifyingKey::rs256_from_pem(RSA_PUBLIC).unwrap())
        .unwrap();
    c.bench_function("jwt/RS256/RSA-2048/verify", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&token))
                .unwrap()
                .check_epoch(3)
                .unwrap()
        })
    });
}

fn api_tokens(c: &mut Criterion) {
    let prefix = TokenPrefix::DEFAULT;
    c.bench_function("api_token/32B/generate", |b| {
        b.iter(|| api_token::generate(black_box(&prefix)).unwrap())
    });
    let raw = api_token::generate(&prefix).unwrap();
    c.bench_function("api_token/sha256/digest", |b| {
        b.iter(|| black_box(&raw).digest())
    });
    let presented = raw.expose_secret().to_string();
    c.bench_function("api_token/52-chars/parse", |b| {
        b.iter(|| api_token::parse(black_box(&presented), &prefix).unwrap())
    });
    c.bench_function("api_token/52-chars/parse+digest", |b| {
        b.iter(|| {
            api_token::parse(black_box(&presented), &prefix)
                .unwrap()
                .digest()
        })
    });
}

criterion_group!(benches, jwt, api_tokens);
criterion_main!(benches);
