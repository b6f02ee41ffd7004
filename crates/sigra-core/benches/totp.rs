//! TOTP speed: code generation and verification (SHA-1, 6 digits, 30 s, skew 1 = 3 HMACs).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sigra_core::totp::{Algorithm, Digits, OtpAuthUri, Totp, TotpParams};

const NOW: i64 = 1_700_000_000;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("totp");
    for (algorithm, digits) in [
        (Algorithm::Sha1, Digits::Six),
        (Algorithm::Sha256, Digits::Six),
        (Algorithm::Sha512, Digits::Eight),
    ] {
        let params = TotpParams::default()
            .with_algorithm(algorithm)
            .with_digits(digits);
        let totp = Totp::generate(params).unwrap();
        let code = totp.code_at(NOW).unwrap();
        let id = format!(
            "{}/digits={},period={},skew={}",
            algorithm.as_str(),
            digits.count(),
            params.period,
            params.skew
        );
        group.bench_function(format!("{id}/code"), |b| {
            b.iter(|| totp.code_at(black_box(NOW)).unwrap());
        });
        group.bench_function(format!("{id}/verify"), |b| {
            b.iter(|| totp.verify(black_box(&code), black_box(NOW), None).unwrap());
        });
    }
    let uri = OtpAuthUri::new(
        Totp::generate(TotpParams::default()).unwrap(),
        "Acme",
        "alice@example.com",
    )
    .unwrap();
    group.bench_function("SHA1/digits=6,period=30/qr_svg", |b| {
        b.iter(|| uri.to_svg().unwrap());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
