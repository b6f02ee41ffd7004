//! The JWS compact serialization: `base64url(header).base64url(payload).base64url(signature)`.
//!
//! Parsing is total and strict: exactly three segments, canonical unpadded base64url
//! (RFC 7515 §2), JSON objects with unique member names for the header and the payload (a
//! duplicated claim is how two parsers come to disagree about one token).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{JwtError, MAX_TOKEN_LEN};

/// A token cut into its segments; nothing decoded yet.
pub(crate) struct Segments<'a> {
    /// The base64url header.
    pub(crate) header: &'a str,
    /// The base64url payload.
    pub(crate) payload: &'a str,
    /// The base64url signature (may be empty; refused later, after `alg` is read).
    pub(crate) signature: &'a str,
    /// `header.payload`: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
}

/// Cuts `token` into its three segments.
pub(crate) fn split(token: &str) -> Result<Segments<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLong {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    if token.is_empty() {
        return Err(JwtError::Malformed {
            reason: "the token is empty",
        });
    }
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return Err(JwtError::Malformed {
            reason: "a JWT has three dot-separated segments; this one has one",
        });
    };
    let Some((header, payload)) = signing_input.split_once('.') else {
        return Err(JwtError::Malformed {
            reason: "a JWT has three dot-separated segments; this one has two",
        });
    };
    if payload.contains('.') {
        return Err(JwtError::Malformed {
            reason: "a JWT has three dot-separated segments; this one has more (JWE tokens are not supported)",
        });
    }
    if header.is_empty() || payload.is_empty() {
        return Err(JwtError::Malformed {
            reason: "the header or payload segment is empty",
        });
    }
    Ok(Segments {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// Decodes one segment of canonical, unpadded base64url.
pub(crate) fn decode_segment(segment: &str, reason: &'static str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed { reason })
}

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode_segment(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a base64url segment holding a JSON object with unique member names.
pub(crate) fn decode_object(
    segment: &str,
    not_base64: &'static str,
    not_object: &'static str,
) -> Result<Map<String, Value>, JwtError> {
    let bytes = decode_segment(segment, not_base64)?;
    serde_json::from_slice::<UniqueObject>(&bytes)
        .map(|o| o.0)
        .map_err(|_| JwtError::Malformed { reason: not_object })
}

/// The header members sigra-core acts on.
pub(crate) struct Header {
    /// `alg`, as written.
    pub(crate) alg: String,
    /// `kid`, if present.
    pub(crate) kid: Option<String>,
}

/// Decodes and reads the protected header.
pub(crate) fn parse_header(segment: &str) -> Result<Header, JwtError> {
    let mut header = decode_object(
        segment,
        "the header is not base64url (unpadded, RFC 7515)",
        "the header is not a JSON object with unique member names",
    )?;
    if header.contains_key("crit") {
        return Err(JwtError::UnsupportedCritical);
    }
    let alg = match header.remove("alg") {
        Some(Value::String(alg)) => alg,
        Some(_) => {
            return Err(JwtError::Malformed {
                reason: "the header's `alg` is not a string",
            });
        }
        None => {
            return Err(JwtError::Malformed {
                reason: "the header has no `alg`",
            });
        }
    };
    let kid = match header.remove("kid") {
        Some(Value::String(kid)) => Some(kid),
        Some(_) => {
            return Err(JwtError::Malformed {
                reason: "the header's `kid` is not a string",
            });
        }
        None => None,
    };
    Ok(Header { alg, kid })
}

/// A JSON object whose member names are unique; a duplicate is an error, not "last wins".
struct UniqueObject(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UniqueObjectVisitor)
    }
}

struct UniqueObjectVisitor;

impl<'de> Visitor<'de> for UniqueObjectVisitor {
    type Value = UniqueObject;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            if map.contains_key(&name) {
                return Err(A::Error::custom("duplicate member name"));
            }
            map.insert(name, value);
        }
        Ok(UniqueObject(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        encode_segment(s.as_bytes())
    }

    #[test]
    fn splits_three_segments() {
        let s = split("aa.bb.cc").unwrap();
        assert_eq!((s.header, s.payload, s.signature), ("aa", "bb", "cc"));
        assert_eq!(s.signing_input, "aa.bb");
        let s = split("aa.bb.").unwrap();
        assert_eq!(s.signature, "");
    }

    #[test]
    fn refuses_other_shapes() {
        for token in [
            "",
            "aa",
            "aa.bb",
            "a.b.c.d",
            "a.b.c.d.e",
            ".bb.cc",
            "aa..cc",
        ] {
            assert!(
                matches!(split(token), Err(JwtError::Malformed { .. })),
                "{token}"
            );
        }
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(split(&long), Err(JwtError::TooLong { .. })));
    }

    #[test]
    fn base64_must_be_canonical_and_unpadded() {
        assert!(decode_segment("eyJ9", "x").is_ok());
        assert!(decode_segment("eyJ9=", "x").is_err());
        assert!(decode_segment("ey+9", "x").is_err());
        // "QQ" decodes to "A"; "QR" has non-zero trailing bits and must be refused.
        assert!(decode_segment("QQ", "x").is_ok());
        assert!(decode_segment("QR", "x").is_err());
    }

    #[test]
    fn duplicate_members_are_refused() {
        let err = decode_object(&b64(r#"{"a":1,"a":2}"#), "x", "dup").unwrap_err();
        assert!(matches!(err, JwtError::Malformed { reason: "dup" }));
        assert!(decode_object(&b64(r#"{"a":1,"b":{"a":1}}"#), "x", "y").is_ok());
        assert!(decode_object(&b64("[1]"), "x", "y").is_err());
        assert!(decode_object(&b64("null"), "x", "y").is_err());
    }

    #[test]
    fn header_needs_a_string_alg_and_no_crit() {
        assert_eq!(
            parse_header(&b64(r#"{"alg":"HS256"}"#)).unwrap().alg,
            "HS256"
        );
        let h = parse_header(&b64(r#"{"alg":"EdDSA","kid":"k1","jku":"https://evil"}"#)).unwrap();
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert!(parse_header(&b64(r#"{"typ":"JWT"}"#)).is_err());
        assert!(parse_header(&b64(r#"{"alg":5}"#)).is_err());
        assert!(parse_header(&b64(r#"{"alg":"HS256","kid":5}"#)).is_err());
        assert!(matches!(
            parse_header(&b64(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#)),
            Err(JwtError::UnsupportedCritical)
        ));
    }
}
