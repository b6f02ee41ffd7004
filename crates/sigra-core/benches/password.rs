//! Password hashing costs, with the parameters in every bench id.
//!
//! `cargo bench -p sigra-core --bench password` (add `-- --quick` for a fast look).
//!
//! - `argon2id/m=19456,t=2,p=1/{hash,verify,dummy_verify}`: the default (OWASP minimum). The
//!   dummy verify should cost the same as a verify: that is what hides unknown emails.
//! - `argon2id/m=65536,t=3,p=4/verify`: RFC 9106's second option (argon2-cffi's default), four
//!   lanes in parallel.
//! - `bcrypt/cost=12/verify`: a typical legacy hash, for comparison.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sigra_core::password::{Argon2Params, Password, PasswordHasher};

fn argon2id(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    for params in [
        Argon2Params::OWASP_MINIMUM,
        Argon2Params::RFC_9106_LOW_MEMORY,
    ] {
        let hasher = PasswordHasher::builder().params(params).build().unwrap();
        let password = Password::from("correct horse battery staple");
        let stored = hasher.hash_blocking(&password).unwrap();
        if params == Argon2Params::OWASP_MINIMUM {
            group.bench_function(format!("{params}/hash"), |b| {
                b.iter(|| hasher.hash_blocking(black_box(&password)).unwrap());
            });
            group.bench_function(format!("{params}/dummy_verify"), |b| {
                b.iter(|| hasher.dummy_verify_blocking(black_box(&password)).unwrap());
            });
        }
        group.bench_function(format!("{params}/verify"), |b| {
            b.iter(|| {
                hasher
                    .verify_blocking(black_box(&password), black_box(stored.as_str()))
                    .unwrap()
            });
        });
    }
    group.finish();
}

fn bcrypt_legacy(c: &mut Criterion) {
    let mut group = c.benchmark_group("bcrypt");
    group.sample_size(10);
    let hasher = PasswordHasher::default();
    let password = Password::from("correct horse battery staple");
    let stored = bcrypt::hash("correct horse battery staple", 12).unwrap();
    // A wrong password: measures the bcrypt check alone, without the Argon2id upgrade.
    let wrong = Password::from("correct horse battery stapler");
    group.bench_function("cost=12/verify", |b| {
        b.iter(|| {
            hasher
                .verify_blocking(black_box(&wrong), black_box(&stored))
                .unwrap()
        });
    });
    // The right password: the bcrypt check plus the upgrade to Argon2id m=19456,t=2,p=1.
    group.bench_function("cost=12/verify+upgrade_to_argon2id_m=19456,t=2,p=1", |b| {
        b.iter(|| {
            hasher
                .verify_blocking(black_box(&password), black_box(&stored))
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, argon2id, bcrypt_legacy);
criterion_main!(benches);
