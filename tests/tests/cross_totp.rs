//! sigra-core's TOTP against pyotp (an independent implementation), in both directions:
//! pyotp's codes for our secrets equal ours; pyotp's random secrets and codes verify here; our
//! codes verify in pyotp and tampered ones are refused by both; pyotp parses our `otpauth://`
//! URIs and we parse pyotp's; and the MFA enrolment flow end to end: pyotp reads the
//! `otpauth://` URI the enrolment page shows (its QR code), and its code turns MFA on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sigra_core::random;
use sigra_core::totp::{Algorithm, Digits, OtpAuthUri, Totp, TotpError, TotpParams, TotpSecret};

const PEER: &str = "totp_peer.py";
/// pyotp refuses times from the year 10000 on.
const PYOTP_TIME_LIMIT: i64 = 253_402_300_800;
const ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];
/// pyotp accepts periods up to 120 s.
const PERIODS: [u32; 4] = [30, 60, 15, 120];

fn random_below(bound: u32) -> u32 {
    random::below(bound).unwrap()
}

/// Edge times and random ones: the epoch, the RFC's, 2^31 (the 2038 boundary), a step
/// boundary, and random times up to pyotp's limit.
fn times(period: u32) -> Vec<i64> {
    let mut t = vec![
        0,
        59,
        1_111_111_109,
        i64::from(i32::MAX),
        i64::from(i32::MAX) + 1,
        i64::from(period) * 1_000_000 - 1,
        i64::from(period) * 1_000_000,
        PYOTP_TIME_LIMIT - 1,
    ];
    for _ in 0..12 {
        t.push(i64::from(random_below(u32::MAX)));
        let big = u64::from_le_bytes(random::bytes::<8>().unwrap());
        t.push(i64::try_from(big % u64::try_from(PYOTP_TIME_LIMIT).unwrap()).unwrap());
    }
    t
}

fn params(algorithm: Algorithm, digits: Digits, period: u32) -> TotpParams {
    TotpParams::default()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_period(period)
}

/// A spread of parameters: each algorithm with 6 and 8 digits and several periods.
fn param_grid() -> Vec<TotpParams> {
    let mut out = Vec::new();
    for (i, algorithm) in ALGORITHMS.into_iter().enumerate() {
        for (j, digits) in [Digits::Six, Digits::Eight].into_iter().enumerate() {
            for k in 0..2 {
                let period = PERIODS[(i + j + 2 * k) % PERIODS.len()];
                out.push(params(algorithm, digits, period));
            }
        }
    }
    out
}

fn case_json(p: &TotpParams) -> Value {
    json!({
        "algorithm": p.algorithm.as_str(),
        "digits": p.digits.count(),
        "period": p.period,
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// A random secret: the generated size for the algorithm, or a random size from 16 to 80
/// bytes (so every base32 tail length occurs).
fn random_secret(algorithm: Algorithm, generated: bool) -> TotpSecret {
    if generated {
        TotpSecret::generate(algorithm).unwrap()
    } else {
        let len = 16 + usize::try_from(random_below(65)).unwrap();
        let mut bytes = vec![0u8; len];
        random::fill(&mut bytes).unwrap();
        TotpSecret::from_bytes(&bytes).unwrap()
    }
}

/// A code that differs from `code` in one digit.
fn tamper(code: &str) -> String {
    let position = usize::try_from(random_below(u32::try_from(code.len()).unwrap())).unwrap();
    code.char_indices()
        .map(|(i, c)| {
            if i == position {
                char::from(b'0' + u8::try_from((c.to_digit(10).unwrap() + 1) % 10).unwrap())
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn pyotp_computes_the_same_codes_for_our_secrets() {
    let mut totps = Vec::new();
    let mut cases = Vec::new();
    for p in param_grid() {
        for generated in [true, false] {
            let totp = Totp::new(random_secret(p.algorithm, generated), p).unwrap();
            let t = times(p.period);
            cases.push(with(
                case_json(&p),
                json!({ "secret": totp.secret().to_base32().as_str(), "times": t }),
            ));
            totps.push((totp, t));
        }
    }
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "op": "codes", "cases": cases })) else {
        return;
    };
    let theirs = out["codes"].as_array().unwrap();
    assert_eq!(theirs.len(), totps.len());
    let mut compared = 0;
    for ((totp, t), codes) in totps.iter().zip(theirs) {
        for (time, code) in t.iter().zip(strings(codes)) {
            assert_eq!(
                totp.code_at(*time).unwrap(),
                code,
                "{:?} at {time}",
                totp.params()
            );
            compared += 1;
        }
    }
    assert!(compared > 500);
}

#[test]
fn pyotp_random_secrets_and_codes_verify_here() {
    let grid = param_grid();
    let cases: Vec<Value> = grid
        .iter()
        .map(|p| {
            // pyotp's default length (32 characters, 160 bits), or the length for the hash.
            let length = match p.algorithm {
                Algorithm::Sha1 => 32,
                Algorithm::Sha256 => 52,
                _ => 103,
            };
            with(
                case_json(p),
                json!({ "length": length, "times": times(p.period) }),
            )
        })
        .collect();
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "op": "random", "cases": cases })) else {
        return;
    };
    for ((p, case), theirs) in grid
        .iter()
        .zip(&cases)
        .zip(out["cases"].as_array().unwrap())
    {
        let secret = TotpSecret::from_base32(theirs["secret"].as_str().unwrap()).unwrap();
        let totp = Totp::new(secret, *p).unwrap();
        let t: Vec<i64> = serde_json::from_value(case["times"].clone()).unwrap();
        for (time, code) in t.iter().zip(strings(&theirs["codes"])) {
            let step = totp.step_at(*time).unwrap();
            assert_eq!(
                totp.verify(&code, *time, None).unwrap(),
                step,
                "{p:?} at {time}"
            );
            assert!(matches!(
                totp.verify(&code, *time, Some(step)),
                Err(TotpError::Replayed { .. })
            ));
            let bad = tamper(&code);
            let window: Vec<String> = (step.saturating_sub(1)..=step + 1)
                .map(|s| totp.code_at_step(s).unwrap())
                .collect();
            if !window.contains(&bad) {
                assert!(matches!(
                    totp.verify(&bad, *time, None),
                    Err(TotpError::WrongCode)
                ));
            }
        }
    }
}

#[test]
fn pyotp_verifies_our_codes_and_refuses_tampered_ones() {
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for p in param_grid() {
        let totp = Totp::new(random_secret(p.algorithm, true), p).unwrap();
        let secret = totp.secret().to_base32();
        for time in times(p.period) {
            let code = totp.code_at(time).unwrap();
            let bad = tamper(&code);
            let base = with(
                case_json(&p),
                json!({ "secret": secret.as_str(), "time": time }),
            );
            cases.push(with(base.clone(), json!({ "code": code })));
            expected.push(true);
            cases.push(with(base, json!({ "code": bad })));
            expected.push(false);
            // Refused here too (unless it happens to be a neighbouring step's code).
            let step = totp.step_at(time).unwrap();
            let neighbours: Vec<String> = (step.saturating_sub(1)..=step + 1)
                .map(|s| totp.code_at_step(s).unwrap())
                .collect();
            if !neighbours.contains(&bad) {
                assert!(totp.verify(&bad, time, None).is_err());
            }
        }
    }
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "op": "verify", "cases": cases })) else {
        return;
    };
    let valid: Vec<bool> = serde_json::from_value(out["valid"].clone()).unwrap();
    assert_eq!(valid, expected);
}

/// Issuers and accounts with characters that need percent-encoding (no colons: refused).
const NAMES: [(&str, &str); 6] = [
    ("Acme", "alice@example.com"),
    ("Acme Co", "bob smith"),
    ("Ünïcødé 日本", "карл@пример.рф"),
    ("A&B=C?D#E", "x/y+z%20"),
    ("Plus+Sign", "tab-free~name_here."),
    ("100% Secure", "o'neil \"quoted\" <tag>"),
];

#[test]
fn pyotp_parses_our_otpauth_uris() {
    let mut ours = Vec::new();
    let mut cases = Vec::new();
    for (i, p) in param_grid().into_iter().enumerate() {
        let (issuer, account) = NAMES[i % NAMES.len()];
        let totp = Totp::new(random_secret(p.algorithm, i % 2 == 0), p).unwrap();
        let uri = OtpAuthUri::new(totp, issuer, account).unwrap();
        let t = times(p.period);
        cases.push(json!({ "uri": uri.to_uri().as_str(), "times": t }));
        ours.push((uri, t));
    }
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "op": "parse", "cases": cases })) else {
        return;
    };
    for ((uri, t), theirs) in ours.iter().zip(out["parsed"].as_array().unwrap()) {
        let p = uri.totp().params();
        assert_eq!(theirs["issuer"].as_str(), uri.issuer());
        assert_eq!(theirs["name"].as_str().unwrap(), uri.account());
        assert_eq!(
            theirs["secret"].as_str().unwrap(),
            uri.totp().secret().to_base32().as_str()
        );
        assert_eq!(theirs["algorithm"].as_str().unwrap(), p.algorithm.as_str());
        assert_eq!(
            theirs["digits"].as_u64().unwrap(),
            u64::from(p.digits.count())
        );
        assert_eq!(theirs["period"].as_u64().unwrap(), u64::from(p.period));
        for (time, code) in t.iter().zip(strings(&theirs["codes"])) {
            assert_eq!(uri.totp().code_at(*time).unwrap(), code);
        }
    }
}

#[test]
fn we_parse_pyotp_provisioning_uris() {
    let mut ours = Vec::new();
    let mut cases = Vec::new();
    for (i, p) in param_grid().into_iter().enumerate() {
        let (issuer, account) = NAMES[i % NAMES.len()];
        let totp = Totp::new(random_secret(p.algorithm, i % 2 == 1), p).unwrap();
        let t = times(p.period);
        cases.push(with(
            case_json(&p),
            json!({
                "secret": totp.secret().to_base32().as_str(),
                "name": account,
                "issuer": issuer,
                "times": t,
            }),
        ));
        ours.push((totp, issuer, account, t));
    }
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "op": "provision", "cases": cases }))
    else {
        return;
    };
    for ((totp, issuer, account, t), theirs) in ours.iter().zip(out["uris"].as_array().unwrap()) {
        let text = theirs["uri"].as_str().unwrap();
        let parsed = OtpAuthUri::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(parsed.issuer(), Some(*issuer));
        assert_eq!(parsed.account(), *account);
        assert_eq!(parsed.totp(), totp, "{text}");
        for (time, code) in t.iter().zip(strings(&theirs["codes"])) {
            assert_eq!(parsed.totp().code_at(*time).unwrap(), code);
        }
    }
}

/// What an authenticator app does with the enrolment page: pyotp parses the page's
/// `otpauth://` URI (what its QR code encodes), checks it holds the secret the page shows as
/// text, and its code for now finishes the enrolment; a later login accepts pyotp's code for
/// the next step.
#[tokio::test]
async fn pyotp_enrols_from_the_enrolment_page_and_its_codes_log_in() {
    use sigra_core::audit::RequestMeta;
    use sigra_core::auth::{LoginAttempt, Sigra};
    use sigra_core::keys::SecretKeyBase;
    use sigra_core::password::{Argon2Params, PasswordHasher};
    use sigra_core::testing::MemoryStore;

    let hasher = PasswordHasher::builder()
        .params(Argon2Params::danger_weak(64, 1, 1).unwrap())
        .build()
        .unwrap();
    let sigra = Sigra::builder(
        MemoryStore::new(),
        SecretKeyBase::new(vec![9u8; 64]).unwrap(),
    )
    .password_hasher(hasher)
    .build()
    .unwrap();
    let meta = RequestMeta::default();
    let email = "pyotp@example.com";
    let password = sigra_core::password::Password::from("correct horse battery staple".to_owned());
    sigra.register(email, &password, &meta).await.unwrap();
    let log_in = || async {
        match sigra.log_in(email, &password, false, &meta).await.unwrap() {
            LoginAttempt::Success(l) => l,
            other => panic!("{other:?}"),
        }
    };
    let auth = sigra
        .authenticate(&log_in().await.token.cookie_value())
        .await
        .unwrap()
        .unwrap();
    let enrollment = sigra.start_totp_enrollment(&auth, &meta).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let cases = [json!({ "uri": enrollment.uri(), "times": [now, now + 30] })];
    let Some(out) = sigra_tests::run_peer(PEER, &json!({ "op": "parse", "cases": cases })) else {
        return;
    };
    let parsed = &out["parsed"][0];
    assert_eq!(parsed["secret"].as_str().unwrap(), enrollment.secret());
    assert_eq!(parsed["issuer"].as_str().unwrap(), "Sigra");
    assert_eq!(parsed["name"].as_str().unwrap(), email);
    let codes = strings(&parsed["codes"]);
    sigra
        .finish_totp_enrollment(&auth, &codes[0], &meta)
        .await
        .unwrap();
    let pending = log_in().await;
    assert!(pending.mfa_required());
    let logged_in = sigra
        .verify_mfa(
            &pending.token.cookie_value(),
            &codes[1],
            false,
            false,
            &meta,
        )
        .await
        .unwrap();
    assert!(!logged_in.mfa_required());
}
