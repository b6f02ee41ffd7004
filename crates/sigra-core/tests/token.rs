//! Integration tests for `sigra_core::token`: round trips, total parsers, tamper detection,
//! and a statistical check that numeric codes are uniform.

// Tests: a failed unwrap is a failed test (helpers outside #[test] fns too).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sigra_core::keys::SecretKeyBase;
use sigra_core::token::{
    CodeKey, EnvelopeKey, NumericCode, TOKEN_ENCODED_LEN, Token, TokenDigest, TokenError,
};
use time::{Duration, OffsetDateTime};

fn base() -> SecretKeyBase {
    SecretKeyBase::new(
        b"integration-test secret key base, at least sixty-four bytes long!".to_vec(),
    )
    .unwrap()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tokens and digests
// ---------------------------------------------------------------------------------------------

#[test]
fn session_token_flow() {
    let token = Token::generate().unwrap();
    let stored = token.digest();
    let cookie = token.to_base64url();
    assert_eq!(cookie.len(), TOKEN_ENCODED_LEN);
    let presented: Token = cookie.parse().unwrap();
    assert_eq!(presented.digest(), stored);
    assert_ne!(Token::generate().unwrap().digest(), stored);
}

#[test]
fn errors_never_echo_the_token() {
    let token = Token::generate().unwrap();
    let text = token.to_base64url();
    for bad in [
        text[..42].to_owned(),
        format!("{text}="),
        format!("{text}A"),
        text.replacen(|_| true, "/", 1),
    ] {
        let err = Token::parse(&bad).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.is_empty());
        assert!(!msg.contains(&text[..20]), "{msg}");
    }
}

proptest! {
    #[test]
    fn token_round_trips(bytes in any::<[u8; 32]>()) {
        let token = Token::from_bytes(bytes);
        let text = token.to_base64url();
        prop_assert_eq!(text.len(), TOKEN_ENCODED_LEN);
        let back = Token::parse(&text).unwrap();
        prop_assert_eq!(back.as_bytes(), &bytes);
        prop_assert_eq!(back.digest(), TokenDigest::sha256(&bytes));
        prop_assert_eq!(TokenDigest::from_hex(&back.digest().to_hex()).unwrap(), back.digest());
    }

    #[test]
    fn token_parse_is_total(input in any::<String>()) {
        match Token::parse(&input) {
            // Whatever parses must re-encode to exactly the input (canonical form).
            Ok(token) => prop_assert_eq!(token.to_base64url(), input),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn token_parse_is_total_on_near_misses(input in "[A-Za-z0-9_=+/ -]{40,46}") {
        match Token::parse(&input) {
            Ok(token) => prop_assert_eq!(token.to_base64url(), input),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn digest_parsers_are_total(input in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = TokenDigest::from_hex(&input);
        prop_assert_eq!(TokenDigest::from_slice(&bytes).is_ok(), bytes.len() == 32);
    }
}

// ---------------------------------------------------------------------------------------------
// Envelopes
// ---------------------------------------------------------------------------------------------

#[test]
fn envelope_error_variants_are_distinct() {
    let base = base();
    let confirm = EnvelopeKey::derive(&base, "confirm").unwrap();
    let reset = EnvelopeKey::derive(&base, "reset_password").unwrap();
    let other_base = SecretKeyBase::new(vec![0x55; 64]).unwrap();
    let foreign = EnvelopeKey::derive(&other_base, "confirm").unwrap();
    let token = Token::generate().unwrap();
    let t0 = at(1_700_000_000);
    let env = confirm.sign(&token, "user-1", t0).unwrap();
    let day = Duration::days(2);

    let ok = confirm.verify_for_subject(&env, "user-1", day, t0).unwrap();
    assert!(ok.token == token);
    assert_eq!(ok.subject, "user-1");
    assert_eq!(ok.issued_at, t0);

    let err = |r: Result<_, TokenError>| r.unwrap_err();
    assert!(matches!(
        err(reset.verify(&env, day, t0)),
        TokenError::WrongPurpose { ref expected } if expected == "reset_password"
    ));
    assert!(matches!(
        err(confirm.verify_for_subject(&env, "user-2", day, t0)),
        TokenError::WrongSubject
    ));
    assert!(matches!(
        err(confirm.verify(&env, day, t0 + Duration::days(3))),
        TokenError::Expired { .. }
    ));
    assert!(matches!(
        err(confirm.verify(&env, day, t0 - Duration::minutes(5))),
        TokenError::IssuedInFuture
    ));
    assert!(matches!(
        err(foreign.verify(&env, day, t0)),
        TokenError::EnvelopeSignature
    ));
    assert!(matches!(
        err(confirm.verify(&env[..env.len() - 10], day, t0)),
        TokenError::EnvelopeTruncated
    ));
    assert!(matches!(
        err(confirm.verify("<script>alert(1)</script>", day, t0)),
        TokenError::EnvelopeMalformed
    ));

    // Every message is safe to show: no key, no token, no subject.
    let msgs = [
        err(reset.verify(&env, day, t0)).to_string(),
        err(confirm.verify_for_subject(&env, "user-2", day, t0)).to_string(),
        err(foreign.verify(&env, day, t0)).to_string(),
    ];
    for msg in msgs {
        assert!(!msg.contains(&token.to_base64url()));
        assert!(!msg.contains("user-"));
    }
}

#[test]
fn tampering_with_any_claim_breaks_the_mac() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    let key = EnvelopeKey::derive(&base(), "magic_link").unwrap();
    let t0 = at(1_700_000_000);
    let env = key.sign(&Token::generate().unwrap(), "alice", t0).unwrap();
    let mut parts = env.split('.');
    let (_, payload, mac) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let payload = B64.decode(payload).unwrap();
    // Layout: 1 + "magic_link"(10) + 1 + "alice"(5) + 8 + 32.
    assert_eq!(payload.len(), 1 + 10 + 1 + 5 + 8 + 32);
    // Flip a bit of the subject ("alice" -> "alicd"), then one of the issue time.
    for index in [16usize, 1 + 10 + 1 + 5 + 5] {
        let mut forged = payload.clone();
        forged[index] ^= 1;
        let text = format!("v1.{}.{mac}", B64.encode(&forged));
        assert!(matches!(
            key.verify(&text, Duration::days(1), t0),
            Err(TokenError::EnvelopeSignature)
        ));
    }
}

fn purposes() -> impl Strategy<Value = String> {
    "[a-z0-9_.:-]{1,64}"
}

fn subjects() -> impl Strategy<Value = String> {
    "\\PC{1,80}".prop_filter("at most 255 bytes", |s| s.len() <= 255)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn envelope_round_trips(
        purpose in purposes(),
        subject in subjects(),
        bytes in any::<[u8; 32]>(),
        issued in -2_000_000_000i64..4_000_000_000,
        age in 0i64..100_000,
        slack in 0i64..100_000,
    ) {
        let key = EnvelopeKey::derive(&base(), &purpose).unwrap();
        let token = Token::from_bytes(bytes);
        let env = key.sign(&token, &subject, at(issued)).unwrap();
        prop_assert!(env.starts_with("v1."));
        prop_assert!(env.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        let now = at(issued + age);
        let v = key.verify_for_subject(&env, &subject, Duration::seconds(age + slack), now).unwrap();
        prop_assert!(v.token == token);
        prop_assert_eq!(&v.subject, &subject);
        prop_assert_eq!(v.issued_at, at(issued));
        if age > 0 {
            let expired = key.verify(&env, Duration::seconds(age - 1), now);
            let is_expired = matches!(expired, Err(TokenError::Expired { .. }));
            prop_assert!(is_expired);
        }
    }

    #[test]
    fn any_single_character_change_is_refused(
        bytes in any::<[u8; 32]>(),
        position in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.=-]",
    ) {
        let key = EnvelopeKey::derive(&base(), "confirm").unwrap();
        let t0 = at(1_700_000_000);
        let env = key.sign(&Token::from_bytes(bytes), "42", t0).unwrap();
        let i = position.index(env.len());
        let mut changed = env.clone();
        changed.replace_range(i..=i, &replacement);
        prop_assume!(changed != env);
        prop_assert!(key.verify(&changed, Duration::hours(1), t0).is_err());
    }

    #[test]
    fn envelope_verify_is_total(input in any::<String>()) {
        let key = EnvelopeKey::derive(&base(), "confirm").unwrap();
        let err = key.verify(&input, Duration::hours(1), at(0)).unwrap_err();
        prop_assert!(!err.to_string().is_empty());
    }

    #[test]
    fn envelope_verify_is_total_on_lookalikes(input in "v[0-9]?\\.[A-Za-z0-9_-]{0,200}\\.?[A-Za-z0-9_.-]{0,60}") {
        let key = EnvelopeKey::derive(&base(), "confirm").unwrap();
        let err = key.verify(&input, Duration::hours(1), at(0)).unwrap_err();
        prop_assert!(!err.to_string().is_empty());
    }

    #[test]
    fn envelope_verify_is_total_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        use base64::Engine as _;
        let key = EnvelopeKey::derive(&base(), "confirm").unwrap();
        // Random bytes as a payload with a random MAC: well-shaped, never valid.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let shaped = format!("v1.{}.{}", b64.encode(&bytes), b64.encode([7u8; 32]));
        prop_assert!(key.verify(&shaped, Duration::hours(1), at(0)).is_err());
        let lossy = String::from_utf8_lossy(&bytes);
        prop_assert!(key.verify(&lossy, Duration::hours(1), at(0)).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Numeric codes
// ---------------------------------------------------------------------------------------------

#[test]
fn confirmation_code_flow() {
    let key = CodeKey::derive(&base(), "confirm_code").unwrap();
    let code = NumericCode::generate().unwrap();
    let stored = key.digest(&code);
    let typed = format!("{} {}", &code.as_str()[..3], &code.as_str()[3..]);
    key.verify(&typed, 6, &stored).unwrap();
    let wrong = if code.as_str() == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert!(matches!(
        key.verify(wrong, 6, &stored),
        Err(TokenError::CodeMismatch)
    ));
    assert!(matches!(
        key.verify("12345", 6, &stored),
        Err(TokenError::CodeLength {
            expected: 6,
            found: 5
        })
    ));
}

proptest! {
    #[test]
    fn code_parse_is_total(input in any::<String>(), digits in 0u8..=12) {
        match NumericCode::parse(&input, digits) {
            Ok(code) => {
                prop_assert_eq!(code.digits(), digits);
                prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
            }
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn code_normalisation_ignores_separators(digits in "[0-9]{6}", seps in proptest::collection::vec("[ \\-\t\u{a0}\u{2013}]{0,2}", 7)) {
        let mut typed = String::new();
        for (i, d) in digits.chars().enumerate() {
            typed.push_str(&seps[i]);
            typed.push(d);
        }
        typed.push_str(&seps[6]);
        let code = NumericCode::parse(&typed, 6).unwrap();
        prop_assert_eq!(code.as_str(), digits.as_str());
        let key = CodeKey::derive(&base(), "confirm_code").unwrap();
        prop_assert!(key.verify(&typed, 6, &key.digest(&code)).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// Uniformity of numeric codes (chi-square goodness of fit)
// ---------------------------------------------------------------------------------------------
//
// Critical values of the chi-square distribution for an upper-tail probability of 1e-7,
// computed with mpmath (bisection on the regularised upper incomplete gamma function
// Q(df/2, x/2) = 1e-7):
//   df = 9  (10 digits)        -> 50.1718
//   df = 99 (100 digit pairs)  -> 190.2310
// This file runs 8 such tests (6 positions, 1 pair, 1 pooled), so a correct generator fails
// a run with probability below 8e-7: the test does not flake. With 100 000 codes (10 000
// expected per digit and position) a digit over- or under-drawn by about 6% at one position
// is flagged half of the time; the pooled test (600 000 digits) flags about 2.6%, enough to
// catch the classic `random_byte % 10` bias (see `chi_square_catches_byte_modulo_bias`).

const DRAWS: usize = 100_000;
const CRIT_DF9: f64 = 50.1718;
const CRIT_DF99: f64 = 190.2310;

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
fn six_digit_codes_are_uniform() {
    let mut per_position = [[0u64; 10]; 6];
    let mut first_pair = [0u64; 100];
    let mut pooled = [0u64; 10];
    for _ in 0..DRAWS {
        let code = NumericCode::generate().unwrap();
        let digits: Vec<usize> = code
            .as_str()
            .bytes()
            .map(|b| usize::from(b - b'0'))
            .collect();
        assert_eq!(digits.len(), 6);
        for (pos, &d) in digits.iter().enumerate() {
            per_position[pos][d] += 1;
            pooled[d] += 1;
        }
        first_pair[digits[0] * 10 + digits[1]] += 1;
    }
    for (pos, counts) in per_position.iter().enumerate() {
        let x2 = chi_square(counts);
        eprintln!("position {pos}: chi2 = {x2:.2} (df 9)");
        assert!(
            x2 < CRIT_DF9,
            "position {pos}: chi2 = {x2:.2} (counts {counts:?})"
        );
    }
    let x2 = chi_square(&first_pair);
    eprintln!("first two digits: chi2 = {x2:.2} (df 99)");
    assert!(x2 < CRIT_DF99, "first two digits: chi2 = {x2:.2}");
    let x2 = chi_square(&pooled);
    eprintln!("pooled: chi2 = {x2:.2} (df 9)");
    assert!(x2 < CRIT_DF9, "pooled: chi2 = {x2:.2} (counts {pooled:?})");
}

#[test]
fn ten_digit_codes_are_uniform_per_position() {
    // 10-digit codes are drawn as a 9-digit chunk and a 1-digit chunk: check every position.
    let mut per_position = [[0u64; 10]; 10];
    for _ in 0..DRAWS / 2 {
        let code = NumericCode::generate_with_digits(10).unwrap();
        for (pos, b) in code.as_str().bytes().enumerate() {
            per_position[pos][usize::from(b - b'0')] += 1;
        }
    }
    for (pos, counts) in per_position.iter().enumerate() {
        let x2 = chi_square(counts);
        assert!(x2 < CRIT_DF9, "position {pos}: chi2 = {x2:.2}");
    }
}

#[test]
fn chi_square_catches_byte_modulo_bias() {
    // The test must have teeth: digits taken as `random_byte % 10` (0-5 have probability
    // 26/256, 6-9 have 25.6/256 less) over 600 000 draws give chi2 around 230.
    let mut pooled = [0u64; 10];
    let mut buf = [0u8; 1000];
    for _ in 0..600 {
        sigra_core::random::fill(&mut buf).unwrap();
        for &b in &buf {
            pooled[usize::from(b % 10)] += 1;
        }
    }
    let x2 = chi_square(&pooled);
    eprintln!("byte % 10: chi2 = {x2:.2} (df 9)");
    assert!(x2 > CRIT_DF9, "biased digits not caught: chi2 = {x2:.2}");
    assert!(chi_square(&[1000; 10]) < 1e-9);
}
