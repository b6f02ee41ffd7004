//! Benchmarks for `sigra_core::token` and `sigra_core::backup_code`.
//!
//! Run with `cargo bench -p sigra-core --bench token` (add `-- --quick` for a fast pass).
//! Each id names the parameters it was measured with.

// A bench that cannot set up has nothing to measure: failing loudly is right.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sigra_core::backup_code::BackupCodeKey;
use sigra_core::keys::SecretKeyBase;
use sigra_core::token::{CodeKey, EnvelopeKey, NumericCode, Token};
use time::{Duration, OffsetDateTime};

fn tokens(c: &mut Criterion) {
    let mut g = c.benchmark_group("token");
    g.bench_function("mint/bytes=32", |b| b.iter(|| Token::generate().unwrap()));
    let token = Token::generate().unwrap();
    g.bench_function("digest/sha256/bytes=32", |b| {
        b.iter(|| black_box(&token).digest())
    });
    let text = token.to_base64url();
    g.bench_function("parse/base64url/chars=43", |b| {
        b.iter(|| Token::parse(black_box(&text)).unwrap())
    });
    g.finish();
}

fn envelopes(c: &mut Criterion) {
    let base = SecretKeyBase::new(vec![7u8; 64]).unwrap();
    let key = EnvelopeKey::derive(&base, "reset_password").unwrap();
    let token = Token::generate().unwrap();
    let subject = "0196b4a2-6c1e-7cc3-9f1a-3b2d8f0e4a11";
    let now = OffsetDateTime::from_unix_timestamp(1_760_000_000).unwrap();
    let envelope = key.sign(&token, subject, now).unwrap();

    let mut g = c.benchmark_group("envelope");
    let id = format!(
        "v1/hmac-sha256/purpose=reset_password,subject={}B,len={}",
        subject.len(),
        envelope.len()
    );
    g.bench_function(format!("{id}/sign"), |b| {
        b.iter(|| key.sign(black_box(&token), subject, now).unwrap())
    });
    g.bench_function(format!("{id}/verify"), |b| {
        b.iter(|| {
            key.verify_for_subject(black_box(&envelope), subject, Duration::hours(1), now)
                .unwrap()
        })
    });
    g.bench_function("derive-key/hkdf-sha256", |b| {
        b.iter(|| EnvelopeKey::derive(black_box(&base), "reset_password").unwrap())
    });
    g.finish();
}

fn codes(c: &mut Criterion) {
    let base = SecretKeyBase::new(vec![7u8; 64]).unwrap();
    let mut g = c.benchmark_group("numeric_code");
    g.bench_function("generate/digits=6", |b| {
        b.iter(|| NumericCode::generate().unwrap())
    });
    g.bench_function("generate/digits=10", |b| {
        b.iter(|| NumericCode::generate_with_digits(10).unwrap())
    });
    let key = CodeKey::derive(&base, "confirm_code").unwrap();
    let code = NumericCode::generate().unwrap();
    let stored = key.digest(&code);
    let typed = format!("{} {}", &code.as_str()[..3], &code.as_str()[3..]);
    g.bench_function("keyed-verify/hmac-sha256/digits=6", |b| {
        b.iter(|| key.verify(black_box(&typed), 6, &stored).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("backup_code");
    let key = BackupCodeKey::derive(&base).unwrap();
    g.bench_function("generate-set/codes=8,bits=40", |b| {
        b.iter(|| key.generate_set().unwrap())
    });
    let set = key.generate_set().unwrap();
    let last = set.formatted().pop().unwrap();
    g.bench_function("verify/hmac-sha256/digests=8", |b| {
        b.iter(|| key.verify(black_box(&last), set.digests()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, tokens, envelopes, codes);
criterion_main!(benches);
