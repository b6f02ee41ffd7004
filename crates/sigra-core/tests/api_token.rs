//! Integration tests for `sigra_core::api_token`: the create → store → authenticate →
//! authorize flow of seed 003, every parse error, redaction, and scope semantics.

// Test helpers outside `#[test]` functions may unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use proptest::prelude::*;
use sigra_core::api_token::{
    self, ApiTokenDigest, ApiTokenError, BODY_LEN, DEFAULT_PREFIX, RawApiToken, Scope, ScopeSet,
    TokenPrefix,
};

/// A toy `user_api_tokens` table keyed by digest, as the host's store would be.
#[derive(Debug)]
struct Row {
    display_prefix: String,
    scopes: String,
    revoked: bool,
}

fn authenticate<'a>(
    table: &'a HashMap<ApiTokenDigest, Row>,
    header: &str,
) -> Result<&'a Row, &'static str> {
    let presented = header.strip_prefix("Bearer ").ok_or("no bearer")?;
    let raw = api_token::parse(presented, &TokenPrefix::DEFAULT).map_err(|_| "malformed")?;
    match table.get(&raw.digest()) {
        Some(row) if !row.revoked => Ok(row),
        Some(_) => Err("revoked"),
        None => Err("unknown"),
    }
}

#[test]
fn create_store_authenticate_authorize() {
    let offered = ScopeSet::parse(["projects:read", "projects:write", "billing:read"]).unwrap();
    let requested = ScopeSet::parse(["projects:read", "projects:write"]).unwrap();
    requested.ensure_within(&offered).unwrap();

    let raw = api_token::generate(&TokenPrefix::DEFAULT).unwrap();
    let mut table = HashMap::new();
    table.insert(
        raw.digest(),
        Row {
            display_prefix: raw.display_prefix(),
            scopes: requested.to_string(),
            revoked: false,
        },
    );
    let shown_once = raw.expose_secret().to_string();
    drop(raw);

    let row = authenticate(&table, &format!("Bearer {shown_once}")).unwrap();
    assert!(shown_once.starts_with(row.display_prefix.trim_end_matches('…')));
    let granted = ScopeSet::parse_space_separated(&row.scopes).unwrap();
    granted.require("projects:write").unwrap();
    assert!(matches!(
        granted.require("billing:read"),
        Err(ApiTokenError::ScopeDenied { .. })
    ));

    // Unknown, altered and revoked tokens.
    let other = api_token::generate(&TokenPrefix::DEFAULT).unwrap();
    assert_eq!(
        authenticate(&table, &format!("Bearer {}", other.expose_secret())).unwrap_err(),
        "unknown"
    );
    let mut altered = shown_once.clone().into_bytes();
    let i = altered.len() - 5;
    altered[i] = if altered[i] == b'a' { b'b' } else { b'a' };
    assert_eq!(
        authenticate(
            &table,
            &format!("Bearer {}", String::from_utf8(altered).unwrap())
        )
        .unwrap_err(),
        "unknown"
    );
    for row in table.values_mut() {
        row.revoked = true;
    }
    assert_eq!(
        authenticate(&table, &format!("Bearer {shown_once}")).unwrap_err(),
        "revoked"
    );
}

#[test]
fn custom_prefixes_round_trip_and_do_not_cross() {
    let live = TokenPrefix::new("acme_live_").unwrap();
    let test = TokenPrefix::new("acme_test_").unwrap();
    let raw = api_token::generate(&live).unwrap();
    assert_eq!(raw.expose_secret().len(), "acme_live_".len() + BODY_LEN);
    assert_eq!(raw.prefix(), "acme_live_");
    let parsed = api_token::parse(raw.expose_secret(), &live).unwrap();
    assert_eq!(parsed.digest(), raw.digest());
    assert!(matches!(
        api_token::parse(raw.expose_secret(), &test),
        Err(ApiTokenError::WrongPrefix { expected }) if expected == "acme_test_"
    ));
    // Same body, other prefix: a different digest, so a token cannot be re-prefixed.
    let body = &raw.expose_secret()["acme_live_".len()..];
    let moved = api_token::parse(&format!("acme_test_{body}"), &test).unwrap();
    assert_ne!(moved.digest(), raw.digest());
}

#[test]
fn parse_errors_name_the_problem_and_never_the_token() {
    let p = TokenPrefix::DEFAULT;
    let raw = api_token::generate(&p).unwrap();
    let token = raw.expose_secret();
    let body = &token[DEFAULT_PREFIX.len()..];
    type Case = (String, fn(&ApiTokenError) -> bool);
    let cases: Vec<Case> = vec![
        (format!("ghp_{body}"), |e| {
            matches!(e, ApiTokenError::WrongPrefix { .. })
        }),
        (format!("SIGRA_SK_{body}"), |e| {
            matches!(e, ApiTokenError::WrongPrefix { .. })
        }),
        (token[..token.len() - 3].to_string(), |e| {
            matches!(e, ApiTokenError::WrongLength { .. })
        }),
        (format!("{token}xyz"), |e| {
            matches!(e, ApiTokenError::WrongLength { .. })
        }),
        (format!("sigra_sk_{}/", &body[..42]), |e| {
            matches!(e, ApiTokenError::BadBody)
        }),
        (format!("sigra_sk_{}=", &body[..42]), |e| {
            matches!(e, ApiTokenError::BadBody)
        }),
        (format!("sigra_sk_{}é", &body[..41]), |e| {
            matches!(e, ApiTokenError::BadBody)
        }),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln".to_string(),
            |e| matches!(e, ApiTokenError::LooksLikeJwt),
        ),
        (String::new(), |e| {
            matches!(e, ApiTokenError::WrongPrefix { .. })
        }),
    ];
    for (input, expected) in cases {
        let err = api_token::parse(&input, &p).unwrap_err();
        assert!(expected(&err), "{input:?}: {err:?}");
        let message = err.to_string();
        assert!(!message.contains(&body[..10]), "{message}");
        assert!(!format!("{err:?}").contains(&body[..10]));
    }
}

#[test]
fn jwts_and_api_tokens_cannot_be_confused() {
    use sigra_core::jwt::{JwtError, JwtVerifier, VerifyingKey};
    let raw = api_token::generate(&TokenPrefix::DEFAULT).unwrap();
    let verifier = JwtVerifier::new("i", "a", "access")
        .unwrap()
        .with_key(VerifyingKey::hs256(&[1u8; 32]).unwrap())
        .unwrap();
    assert!(matches!(
        verifier.verify(raw.expose_secret()),
        Err(JwtError::Malformed { .. })
    ));
    // No valid prefix can start like a JWT.
    for prefix in ["eyj_", "eyJ_", "eyjhbg_"] {
        assert!(TokenPrefix::new(prefix).is_err(), "{prefix}");
    }
}

#[test]
fn raw_tokens_are_redacted() {
    let raw: RawApiToken = api_token::generate(&TokenPrefix::DEFAULT).unwrap();
    let debug = format!("{raw:?}");
    assert!(debug.contains("[REDACTED]"));
    assert!(debug.contains(&raw.display_prefix()));
    assert!(!debug.contains(&raw.expose_secret()[DEFAULT_PREFIX.len() + 4..]));
    let digest = format!("{:?}", raw.digest());
    assert!(!digest.contains(&raw.digest().to_hex()));
}

#[test]
fn digests_store_and_compare() {
    let raw = api_token::generate(&TokenPrefix::DEFAULT).unwrap();
    let d = raw.digest();
    assert_eq!(ApiTokenDigest::from_hex(&d.to_hex()).unwrap(), d);
    assert_eq!(ApiTokenDigest::from_slice(d.as_bytes()).unwrap(), d);
    assert_eq!(ApiTokenDigest::from_bytes(*d.as_bytes()), d);
    assert!(d.matches(&d));
    let other = api_token::generate(&TokenPrefix::DEFAULT).unwrap().digest();
    assert!(!d.matches(&other));
    assert!(matches!(
        ApiTokenDigest::from_slice(&[0u8; 16]),
        Err(ApiTokenError::InvalidDigest)
    ));
    use subtle::ConstantTimeEq;
    assert!(bool::from(d.ct_eq(&d)));
}

#[test]
fn seed_scope_semantics() {
    let granted = ScopeSet::parse(["projects:*", "*:read"]).unwrap();
    for (required, allowed) in [
        ("projects:read", true),
        ("projects:write", true),
        ("projects:*", true),
        ("billing:read", true),
        ("billing:write", false),
        ("*", false),
    ] {
        assert_eq!(
            granted.allows(&Scope::parse(required).unwrap()),
            allowed,
            "{required}"
        );
    }
    let admin = ScopeSet::parse(["*"]).unwrap();
    assert!(admin.allows(&Scope::parse("*").unwrap()));
    let writer = ScopeSet::parse(["projects:write"])
        .unwrap()
        .with_write_implies_read(true);
    writer.require("projects:read").unwrap();
    assert!(writer.require("projects:delete").is_err());
    // The seed's `read:projects` is valid grammar but means resource `read`, action `projects`.
    assert!(
        !ScopeSet::parse(["read:projects"])
            .unwrap()
            .allows(&Scope::parse("projects:read").unwrap())
    );
}

#[test]
fn errors_convert_into_the_crate_error() {
    let err: sigra_core::Error = ApiTokenError::BadBody.into();
    assert!(err.to_string().contains("base64url"));
}

proptest! {
    #[test]
    fn parse_never_panics_for_any_prefix(input in any::<String>(), prefix in "[a-z][a-z0-9_]{0,8}_") {
        prop_assume!(!prefix.starts_with("eyj"));
        let prefix = TokenPrefix::new(prefix).unwrap();
        if let Err(e) = api_token::parse(&input, &prefix) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn prefix_validation_never_panics(input in any::<String>()) {
        if let Ok(prefix) = TokenPrefix::new(input.clone()) {
            prop_assert!(input.ends_with('_'));
            let raw = api_token::generate(&prefix).unwrap();
            prop_assert!(api_token::parse(raw.expose_secret(), &prefix).is_ok());
        }
    }

    #[test]
    fn scope_set_parse_never_panics(inputs in proptest::collection::vec(any::<String>(), 0..5)) {
        if let Err(e) = ScopeSet::parse(&inputs) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn generated_tokens_always_parse(_ in 0..64u8) {
        let raw = api_token::generate(&TokenPrefix::DEFAULT).unwrap();
        let parsed = api_token::parse(raw.expose_secret(), &TokenPrefix::DEFAULT).unwrap();
        prop_assert_eq!(parsed.digest(), raw.digest());
    }
}
