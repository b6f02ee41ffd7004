//! What goes into a token ([`TokenSpec`]) and what a verified token says ([`Claims`]).

use std::time::Duration;

use serde_json::{Map, Value};

use super::{ACCESS_TYPE, JwtError};

/// The claims sigra-core sets or checks itself; custom claims may not use these names.
pub(crate) const REGISTERED_CLAIMS: [&str; 10] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "typ", "epoch", "scopes",
];
/// The longest `sub` accepted when signing.
const MAX_SUBJECT_LEN: usize = 512;
/// The longest `typ` accepted when signing.
const MAX_TYPE_LEN: usize = 64;
/// The most entries accepted in `aud` and `scopes`.
const MAX_LIST_LEN: usize = 256;

/// What to put in a new token: the subject, the user's token epoch, the token type, and
/// optionally scopes, `nbf`, a lifetime and custom claims. `iss`, `aud`, `iat`, `exp` and
/// `jti` come from the [`JwtSigner`](super::JwtSigner).
///
/// ```
/// use sigra_core::jwt::TokenSpec;
/// let spec = TokenSpec::access("user-42", 7)
///     .with_scopes(["projects:read", "projects:write"])
///     .with_claim("org", "acme");
/// # let _ = spec;
/// ```
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub(crate) subject: String,
    pub(crate) epoch: u64,
    pub(crate) typ: String,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) not_before: Option<u64>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) extra: Map<String, Value>,
}

impl TokenSpec {
    /// An access token (`typ: "access"`) for `subject` (a stable user id, never an email)
    /// carrying the user's current token `epoch`.
    ///
    /// ```
    /// let spec = sigra_core::jwt::TokenSpec::access("user-42", 0);
    /// # let _ = spec;
    /// ```
    pub fn access(subject: impl Into<String>, epoch: u64) -> Self {
        Self {
            subject: subject.into(),
            epoch,
            typ: ACCESS_TYPE.to_string(),
            scopes: None,
            not_before: None,
            ttl: None,
            extra: Map::new(),
        }
    }

    /// Sets the `typ` claim (1–64 bytes); a verifier accepts only the one type it expects.
    ///
    /// ```
    /// let spec = sigra_core::jwt::TokenSpec::access("svc-billing", 0).with_type("service");
    /// # let _ = spec;
    /// ```
    pub fn with_type(mut self, typ: impl Into<String>) -> Self {
        self.typ = typ.into();
        self
    }

    /// Sets the `scopes` claim (at most 256 entries). The strings are carried as given; see
    /// [`ScopeSet`](crate::api_token::ScopeSet) for the `resource:action` grammar to check
    /// them against.
    ///
    /// ```
    /// let spec = sigra_core::jwt::TokenSpec::access("u", 0).with_scopes(["projects:read"]);
    /// # let _ = spec;
    /// ```
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `nbf`: the token is refused before this Unix time (less the verifier's skew).
    ///
    /// ```
    /// let spec = sigra_core::jwt::TokenSpec::access("u", 0).with_not_before(1_900_000_000);
    /// # let _ = spec;
    /// ```
    pub fn with_not_before(mut self, unix_seconds: u64) -> Self {
        self.not_before = Some(unix_seconds);
        self
    }

    /// Overrides the signer's lifetime for this token (1 second to
    /// [`MAX_TTL`](super::MAX_TTL), checked when signing).
    ///
    /// ```
    /// use std::time::Duration;
    /// let spec = sigra_core::jwt::TokenSpec::access("u", 0).with_ttl(Duration::from_secs(60));
    /// # let _ = spec;
    /// ```
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Adds a custom claim. Registered names (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`,
    /// `typ`, `epoch`, `scopes`) are refused with [`JwtError::ReservedClaim`] when signing.
    ///
    /// ```
    /// let spec = sigra_core::jwt::TokenSpec::access("u", 0).with_claim("org", "acme");
    /// # let _ = spec;
    /// ```
    pub fn with_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Checks the values a signer cannot fix for the caller.
    pub(crate) fn check(&self) -> Result<(), JwtError> {
        if self.subject.is_empty() || self.subject.len() > MAX_SUBJECT_LEN {
            return Err(JwtError::InvalidSetting {
                reason: "the subject (`sub`) must be 1 to 512 bytes long",
            });
        }
        if self.typ.is_empty() || self.typ.len() > MAX_TYPE_LEN {
            return Err(JwtError::InvalidSetting {
                reason: "the token type (`typ`) must be 1 to 64 bytes long",
            });
        }
        if self.scopes.as_ref().is_some_and(|s| s.len() > MAX_LIST_LEN) {
            return Err(JwtError::InvalidSetting {
                reason: "a token carries at most 256 scopes",
            });
        }
        if let Some(name) = self
            .extra
            .keys()
            .find(|name| REGISTERED_CLAIMS.contains(&name.as_str()))
        {
            return Err(JwtError::ReservedClaim {
                claim: name.clone(),
            });
        }
        Ok(())
    }
}

/// The claims of a token that passed every check, including the epoch check.
///
/// Times are Unix seconds. `aud` is always a list (a single-string `aud` becomes a list of
/// one). `extra` holds every claim sigra-core does not interpret.
///
/// ```
/// use sigra_core::jwt::{JwtSigner, JwtVerifier, SigningKey, TokenSpec};
/// let key = SigningKey::hs256(&[5u8; 32])?;
/// let signer = JwtSigner::new(key.clone(), "iss", "aud")?;
/// let verifier = JwtVerifier::new("iss", "aud", "access")?.with_key(key.verifying_key())?;
/// let token = signer.sign(&TokenSpec::access("u1", 2).with_claim("org", "acme"))?;
/// let claims = verifier.verify(token.as_str())?.check_epoch(2)?;
/// assert_eq!(claims.sub, "u1");
/// assert_eq!(claims.aud, ["aud"]);
/// assert_eq!(claims.extra["org"], "acme");
/// assert_eq!(claims.exp - claims.iat, 900);
/// # Ok::<(), sigra_core::jwt::JwtError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Claims {
    /// `iss`: who issued the token.
    pub iss: String,
    /// `sub`: whom the token is about (a stable user id).
    pub sub: String,
    /// `aud`: whom the token is for.
    pub aud: Vec<String>,
    /// `exp`: when the token expires.
    pub exp: u64,
    /// `iat`: when the token was issued.
    pub iat: u64,
    /// `nbf`: when the token becomes valid, if set.
    pub nbf: Option<u64>,
    /// `jti`: the token's unique id.
    pub jti: String,
    /// `typ`: the token's type (e.g. `"access"`).
    pub typ: String,
    /// `epoch`: the user's token epoch when the token was issued.
    pub epoch: u64,
    /// `scopes`, if the token carries them.
    pub scopes: Option<Vec<String>>,
    /// Every other claim.
    pub extra: Map<String, Value>,
}

/// What a verifier expects of a token's claims.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) typ: &'a str,
    pub(crate) skew: u64,
    pub(crate) now: u64,
}

/// Checks a signature-verified payload against `expected`, in the documented order.
pub(crate) fn validate(
    mut map: Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<Claims, JwtError> {
    let Expected {
        issuer,
        audience,
        typ: expected_typ,
        skew,
        now,
    } = *expected;

    let exp = required(take_number(&mut map, "exp")?, "exp")?;
    if now >= exp.saturating_add(skew) {
        return Err(JwtError::Expired { exp, now, skew });
    }
    let nbf = take_number(&mut map, "nbf")?;
    if let Some(nbf) = nbf
        && nbf > now.saturating_add(skew)
    {
        return Err(JwtError::NotYetValid { nbf, now, skew });
    }
    let iat = required(take_number(&mut map, "iat")?, "iat")?;
    if iat > now.saturating_add(skew) {
        return Err(JwtError::IssuedInFuture { iat, now, skew });
    }
    if exp <= iat {
        return Err(JwtError::InvalidClaim {
            claim: "exp",
            reason: "it is not later than `iat`",
        });
    }

    let iss = required(take_string(&mut map, "iss")?, "iss")?;
    if iss != issuer {
        return Err(JwtError::WrongIssuer {
            expected: issuer.to_string(),
            found: super::shown(&iss),
        });
    }
    let aud = required(take_audience(&mut map)?, "aud")?;
    if !aud.iter().any(|a| a == audience) {
        return Err(JwtError::WrongAudience {
            expected: audience.to_string(),
        });
    }
    let typ = required(take_string(&mut map, "typ")?, "typ")?;
    if typ != expected_typ {
        return Err(JwtError::WrongType {
            expected: expected_typ.to_string(),
            found: super::shown(&typ),
        });
    }

    let sub = non_empty(required(take_string(&mut map, "sub")?, "sub")?, "sub")?;
    let jti = non_empty(required(take_string(&mut map, "jti")?, "jti")?, "jti")?;
    let epoch = required(take_number(&mut map, "epoch")?, "epoch")?;
    let scopes = take_string_list(&mut map, "scopes")?;

    Ok(Claims {
        iss,
        sub,
        aud,
        exp,
        iat,
        nbf,
        jti,
        typ,
        epoch,
        scopes,
        extra: map,
    })
}

fn required<T>(value: Option<T>, claim: &'static str) -> Result<T, JwtError> {
    value.ok_or(JwtError::MissingClaim { claim })
}

fn non_empty(value: String, claim: &'static str) -> Result<String, JwtError> {
    if value.is_empty() {
        return Err(JwtError::InvalidClaim {
            claim,
            reason: "it is empty",
        });
    }
    Ok(value)
}

fn take_number(map: &mut Map<String, Value>, claim: &'static str) -> Result<Option<u64>, JwtError> {
    match map.remove(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(JwtError::InvalidClaim {
            claim,
            reason: "it must be a non-negative whole number",
        }),
        Some(_) => Err(JwtError::InvalidClaim {
            claim,
            reason: "it must be a number",
        }),
    }
}

fn take_string(
    map: &mut Map<String, Value>,
    claim: &'static str,
) -> Result<Option<String>, JwtError> {
    match map.remove(claim) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwtError::InvalidClaim {
            claim,
            reason: "it must be a string",
        }),
    }
}

fn strings(items: Vec<Value>, claim: &'static str) -> Result<Vec<String>, JwtError> {
    if items.len() > MAX_LIST_LEN {
        return Err(JwtError::InvalidClaim {
            claim,
            reason: "it has more than 256 entries",
        });
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            _ => Err(JwtError::InvalidClaim {
                claim,
                reason: "it must be a list of strings",
            }),
        })
        .collect()
}

fn take_audience(map: &mut Map<String, Value>) -> Result<Option<Vec<String>>, JwtError> {
    match map.remove("aud") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s])),
        Some(Value::Array(items)) => strings(items, "aud").map(Some),
        Some(_) => Err(JwtError::InvalidClaim {
            claim: "aud",
            reason: "it must be a string or a list of strings",
        }),
    }
}

fn take_string_list(
    map: &mut Map<String, Value>,
    claim: &'static str,
) -> Result<Option<Vec<String>>, JwtError> {
    match map.remove(claim) {
        None => Ok(None),
        Some(Value::Array(items)) => strings(items, claim).map(Some),
        Some(_) => Err(JwtError::InvalidClaim {
            claim,
            reason: "it must be a list of strings",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "iss",
            audience: "aud",
            typ: "access",
            skew: 30,
            now: NOW,
        }
    }

    fn good() -> Map<String, Value> {
        let Value::Object(map) = json!({
            "iss": "iss", "aud": "aud", "sub": "u", "iat": NOW - 10, "exp": NOW + 890,
            "jti": "j", "typ": "access", "epoch": 4, "custom": [1, 2]
        }) else {
            unreachable!()
        };
        map
    }

    fn with(name: &str, value: Value) -> Map<String, Value> {
        let mut map = good();
        map.insert(name.to_string(), value);
        map
    }

    fn without(name: &str) -> Map<String, Value> {
        let mut map = good();
        map.remove(name);
        map
    }

    #[test]
    fn accepts_good_claims_and_keeps_extras() {
        let claims = validate(good(), &expected()).unwrap();
        assert_eq!(claims.aud, ["aud"]);
        assert_eq!(claims.epoch, 4);
        assert_eq!(claims.scopes, None);
        assert_eq!(claims.extra.len(), 1);
        assert_eq!(claims.extra["custom"], json!([1, 2]));
    }

    #[test]
    fn every_required_claim_is_required() {
        for claim in ["exp", "iat", "iss", "aud", "typ", "sub", "jti", "epoch"] {
            match validate(without(claim), &expected()) {
                Err(JwtError::MissingClaim { claim: c }) => assert_eq!(c, claim),
                other => panic!("{claim}: {other:?}"),
            }
        }
    }

    #[test]
    fn claim_types_are_checked() {
        for (claim, value) in [
            ("exp", json!("soon")),
            ("exp", json!(-1)),
            ("exp", json!(1.5e9)),
            ("iat", json!(null)),
            ("nbf", json!(true)),
            ("iss", json!(1)),
            ("aud", json!(5)),
            ("aud", json!(["aud", 5])),
            ("typ", json!(["access"])),
            ("sub", json!("")),
            ("jti", json!("")),
            ("epoch", json!("4")),
            ("epoch", json!(-4)),
            ("scopes", json!("projects:read")),
            ("scopes", json!([1])),
        ] {
            match validate(with(claim, value.clone()), &expected()) {
                Err(JwtError::InvalidClaim { claim: c, .. }) => assert_eq!(c, claim, "{value}"),
                other => panic!("{claim}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn exp_is_checked_with_skew() {
        let at = |exp: u64| {
            let mut map = with("exp", json!(exp));
            map.insert("iat".into(), json!(exp - 100));
            validate(map, &expected())
        };
        assert!(at(NOW - 29).is_ok());
        assert!(matches!(at(NOW - 30), Err(JwtError::Expired { .. })));
        assert!(matches!(at(NOW - 31), Err(JwtError::Expired { .. })));
        let no_skew = Expected {
            skew: 0,
            ..expected()
        };
        let mut map = with("exp", json!(NOW));
        map.insert("iat".into(), json!(NOW - 100));
        assert!(matches!(
            validate(map, &no_skew),
            Err(JwtError::Expired { .. })
        ));
    }

    #[test]
    fn nbf_is_honoured_with_skew() {
        assert!(validate(with("nbf", json!(NOW + 30)), &expected()).is_ok());
        assert!(matches!(
            validate(with("nbf", json!(NOW + 31)), &expected()),
            Err(JwtError::NotYetValid { nbf, .. }) if nbf == NOW + 31
        ));
        assert_eq!(
            validate(with("nbf", json!(NOW - 5)), &expected())
                .unwrap()
                .nbf,
            Some(NOW - 5)
        );
    }

    #[test]
    fn iat_in_the_future_is_refused_beyond_skew() {
        assert!(validate(with("iat", json!(NOW + 30)), &expected()).is_ok());
        assert!(matches!(
            validate(with("iat", json!(NOW + 31)), &expected()),
            Err(JwtError::IssuedInFuture { .. })
        ));
        let mut map = with("iat", json!(NOW + 10));
        map.insert("exp".into(), json!(NOW + 10));
        assert!(matches!(
            validate(map, &expected()),
            Err(JwtError::InvalidClaim { claim: "exp", .. })
        ));
    }

    #[test]
    fn issuer_audience_and_type_must_match() {
        assert!(matches!(
            validate(with("iss", json!("other")), &expected()),
            Err(JwtError::WrongIssuer { found, .. }) if found == "other"
        ));
        assert!(matches!(
            validate(with("aud", json!("other")), &expected()),
            Err(JwtError::WrongAudience { .. })
        ));
        assert!(matches!(
            validate(with("aud", json!([])), &expected()),
            Err(JwtError::WrongAudience { .. })
        ));
        assert_eq!(
            validate(with("aud", json!(["x", "aud"])), &expected())
                .unwrap()
                .aud,
            ["x", "aud"]
        );
        assert!(matches!(
            validate(with("typ", json!("refresh")), &expected()),
            Err(JwtError::WrongType { found, .. }) if found == "refresh"
        ));
        assert!(matches!(
            validate(with("typ", json!("Access")), &expected()),
            Err(JwtError::WrongType { .. })
        ));
    }

    #[test]
    fn scopes_are_read() {
        let claims = validate(with("scopes", json!(["a:b", "c:d"])), &expected()).unwrap();
        assert_eq!(claims.scopes.unwrap(), ["a:b", "c:d"]);
    }

    #[test]
    fn spec_checks() {
        assert!(TokenSpec::access("u", 0).check().is_ok());
        assert!(TokenSpec::access("", 0).check().is_err());
        assert!(TokenSpec::access("u".repeat(513), 0).check().is_err());
        assert!(TokenSpec::access("u", 0).with_type("").check().is_err());
        assert!(
            TokenSpec::access("u", 0)
                .with_scopes(vec!["a:b"; 257])
                .check()
                .is_err()
        );
        for name in REGISTERED_CLAIMS {
            assert!(matches!(
                TokenSpec::access("u", 0).with_claim(name, 1).check(),
                Err(JwtError::ReservedClaim { .. })
            ));
        }
    }
}
