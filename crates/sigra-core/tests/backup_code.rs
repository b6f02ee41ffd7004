//! Integration tests for `sigra_core::backup_code`: the consumption flow, normalisation,
//! total parsers, and a statistical check that codes are uniform.

// Tests: a failed unwrap is a failed test (helpers outside #[test] fns too).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sigra_core::backup_code::{
    ALPHABET, BackupCode, BackupCodeError, BackupCodeKey, CODE_LEN, CODES_PER_SET,
};
use sigra_core::keys::SecretKeyBase;

fn key() -> BackupCodeKey {
    BackupCodeKey::derive(&SecretKeyBase::new(vec![0x42; 64]).unwrap()).unwrap()
}

#[test]
fn consume_every_code_once() {
    let key = key();
    let set = key.generate_set().unwrap();
    assert_eq!(set.codes().len(), CODES_PER_SET);
    // The host's rows: (digest, used).
    let mut rows: Vec<(sigra_core::token::TokenDigest, bool)> =
        set.digests().iter().map(|d| (*d, false)).collect();
    for shown in set.formatted().iter().rev() {
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        let unused: Vec<usize> = (0..rows.len()).filter(|&i| !rows[i].1).collect();
        let digests: Vec<_> = unused.iter().map(|&i| rows[i].0).collect();
        let typed = shown.to_lowercase();
        let hit = key.verify(&typed, &digests).unwrap();
        rows[unused[hit]].1 = true;
        // A second use of the same code fails.
        let unused: Vec<_> = rows.iter().filter(|r| !r.1).map(|r| r.0).collect();
        assert!(matches!(
            key.verify(shown, &unused),
            Err(BackupCodeError::NoMatch)
        ));
    }
    assert!(rows.iter().all(|r| r.1));
}

#[test]
fn codes_from_another_key_do_not_verify() {
    let set = key().generate_set().unwrap();
    let other = BackupCodeKey::derive(&SecretKeyBase::new(vec![0x43; 64]).unwrap()).unwrap();
    assert!(matches!(
        other.verify(&set.formatted()[0], set.digests()),
        Err(BackupCodeError::NoMatch)
    ));
}

#[test]
fn errors_and_debug_never_show_the_code() {
    let code = BackupCode::parse("7KQ2-M9XD").unwrap();
    assert_eq!(format!("{code:?}"), "BackupCode([REDACTED])");
    let set = key().generate_set().unwrap();
    let shown = format!("{set:?}");
    for c in set.formatted() {
        assert!(!shown.contains(&c));
        assert!(!shown.contains(&c.replace('-', "")));
    }
    for bad in ["7KQ2-M9X", "7KQ2-M9XD-7", "7KQ2-M9X!", "7KQ2-M9XU"] {
        let msg = BackupCode::parse(bad).unwrap_err().to_string();
        assert!(!msg.contains("7KQ2"), "{msg}");
    }
}

fn symbols() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(ALPHABET.as_bytes().to_vec()),
        CODE_LEN,
    )
    .prop_map(|v| String::from_utf8(v).unwrap())
}

proptest! {
    #[test]
    fn formatted_codes_round_trip(code in symbols()) {
        let parsed = BackupCode::parse(&code).unwrap();
        prop_assert_eq!(parsed.canonical(), code.as_str());
        let again = BackupCode::parse(&parsed.formatted()).unwrap();
        prop_assert!(again == parsed);
    }

    #[test]
    fn case_separators_and_confusables_are_normalised(
        code in symbols(),
        lower in any::<[bool; CODE_LEN]>(),
        confusable in any::<[prop::sample::Index; CODE_LEN]>(),
        seps in proptest::collection::vec("[ \\-\u{a0}\u{2010}]{0,2}", CODE_LEN + 1),
    ) {
        let mut typed = String::new();
        for (i, c) in code.chars().enumerate() {
            typed.push_str(&seps[i]);
            let c = match c {
                '0' => *confusable[i].get(&['0', 'O', 'o']),
                '1' => *confusable[i].get(&['1', 'I', 'i', 'L', 'l']),
                c if lower[i] => c.to_ascii_lowercase(),
                c => c,
            };
            typed.push(c);
        }
        typed.push_str(&seps[CODE_LEN]);
        let key = key();
        let stored = [key.digest(&BackupCode::parse(&code).unwrap())];
        prop_assert_eq!(key.verify(&typed, &stored).unwrap(), 0);
    }

    #[test]
    fn parse_and_verify_are_total(input in any::<String>()) {
        match BackupCode::parse(&input) {
            Ok(code) => prop_assert_eq!(code.canonical().len(), CODE_LEN),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
        let key = key();
        let stored = [key.digest(&BackupCode::parse("ABCD-EFGH").unwrap())];
        match key.verify(&input, &stored) {
            Ok(i) => prop_assert_eq!(i, 0),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn parse_is_total_on_lookalikes(input in "[0-9A-Za-z \\-]{0,12}") {
        match BackupCode::parse(&input) {
            Ok(code) => prop_assert_eq!(code.canonical().len(), CODE_LEN),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn parse_is_total_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let input = String::from_utf8_lossy(&bytes);
        let _ = BackupCode::parse(&input);
        let _ = key().verify(&input, &[]);
    }
}

// ---------------------------------------------------------------------------------------------
// Uniformity (chi-square goodness of fit)
// ---------------------------------------------------------------------------------------------
//
// Critical values of the chi-square distribution for an upper-tail probability of 1e-7,
// computed with mpmath (bisection on the regularised upper incomplete gamma function
// Q(df/2, x/2) = 1e-7):
//   df = 31   (32 symbols)                 -> 90.4433
//   df = 1023 (32 x 32 pairs of positions) -> 1275.7804
// This file runs 10 such tests (8 positions, 1 pair across the dash, 1 pooled), so a correct
// generator fails a run with probability below 1e-6. With 100 000 codes (3 125 expected per
// symbol and position) one symbol off by about 14% at one position is flagged half of the
// time; the pooled test (800 000 symbols) flags about 5%.

const DRAWS: usize = 100_000;
const CRIT_DF31: f64 = 90.4433;
const CRIT_DF1023: f64 = 1275.7804;

fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| {
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

#[test]
fn backup_codes_are_uniform() {
    let index = |b: u8| ALPHABET.bytes().position(|a| a == b).unwrap();
    let mut per_position = [[0u64; 32]; CODE_LEN];
    let mut across_dash = vec![0u64; 32 * 32];
    let mut pooled = [0u64; 32];
    for _ in 0..DRAWS {
        let code = BackupCode::generate().unwrap();
        let symbols: Vec<usize> = code.canonical().bytes().map(index).collect();
        assert_eq!(symbols.len(), CODE_LEN);
        for (pos, &s) in symbols.iter().enumerate() {
            per_position[pos][s] += 1;
            pooled[s] += 1;
        }
        across_dash[symbols[3] * 32 + symbols[4]] += 1;
    }
    for (pos, counts) in per_position.iter().enumerate() {
        let x2 = chi_square(counts);
        eprintln!("position {pos}: chi2 = {x2:.2} (df 31)");
        assert!(
            x2 < CRIT_DF31,
            "position {pos}: chi2 = {x2:.2} (counts {counts:?})"
        );
    }
    let x2 = chi_square(&across_dash);
    eprintln!("positions 3,4: chi2 = {x2:.2} (df 1023)");
    assert!(x2 < CRIT_DF1023, "positions 3 and 4: chi2 = {x2:.2}");
    let x2 = chi_square(&pooled);
    eprintln!("pooled: chi2 = {x2:.2} (df 31)");
    assert!(x2 < CRIT_DF31, "pooled: chi2 = {x2:.2} (counts {pooled:?})");
}

#[test]
fn chi_square_catches_a_missing_symbol() {
    // A generator that can never produce one symbol (e.g. `byte % 31` into 32 slots).
    let mut pooled = [0u64; 32];
    let mut buf = [0u8; 1000];
    for _ in 0..100 {
        sigra_core::random::fill(&mut buf).unwrap();
        for &b in &buf {
            pooled[usize::from(b % 31)] += 1;
        }
    }
    assert!(chi_square(&pooled) > CRIT_DF31);
}
