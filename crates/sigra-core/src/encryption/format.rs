//! The versioned, self-describing ciphertext layout.

use super::EncryptionError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The format version written by this library (the first byte of every ciphertext).
pub const VERSION: u8 = 1;
/// Length of the header: the version byte and the 4-byte big-endian key id. The header is
/// the first part of the associated data.
pub const HEADER_LEN: usize = 5;
/// Length of the random nonce that follows the header (96 bits).
pub const NONCE_LEN: usize = 12;
/// Length of the AES-GCM authentication tag at the end.
pub const TAG_LEN: usize = 16;
/// Bytes a ciphertext adds to its plaintext: header, nonce and tag (33).
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

/// A ciphertext split into its parts, borrowed from the input.
pub(crate) struct Parsed<'a> {
    pub(crate) header: &'a [u8],
    pub(crate) key_id: u32,
    pub(crate) nonce: [u8; NONCE_LEN],
    /// The AES-GCM ciphertext followed by the tag.
    pub(crate) body: &'a [u8],
}

/// The header for a key id.
pub(crate) fn header(key_id: u32) -> [u8; HEADER_LEN] {
    let id = key_id.to_be_bytes();
    [VERSION, id[0], id[1], id[2], id[3]]
}

/// The associated data: header followed by the context bytes.
pub(crate) fn aad(header: &[u8], context: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + context.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(context.as_bytes());
    aad
}

/// Splits a ciphertext, checking version and length. Total: never panics.
pub(crate) fn parse(input: &[u8]) -> Result<Parsed<'_>, EncryptionError> {
    let Some((&version, _)) = input.split_first() else {
        return Err(EncryptionError::Malformed {
            reason: "the value is empty",
        });
    };
    if version != VERSION {
        return Err(EncryptionError::UnsupportedVersion { version });
    }
    if input.len() < OVERHEAD {
        return Err(EncryptionError::Malformed {
            reason: "the value is shorter than the 33 bytes of header, nonce and tag",
        });
    }
    let (header, rest) = input.split_at_checked(HEADER_LEN).ok_or(TRUNCATED)?;
    let (nonce, body) = rest.split_at_checked(NONCE_LEN).ok_or(TRUNCATED)?;
    let id: [u8; 4] = header
        .get(1..HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(TRUNCATED)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| TRUNCATED)?;
    Ok(Parsed {
        header,
        key_id: u32::from_be_bytes(id),
        nonce,
        body,
    })
}

const TRUNCATED: EncryptionError = EncryptionError::Malformed {
    reason: "the value is truncated",
};

/// Encodes the binary form as text (base64url, no padding).
pub(crate) fn to_text(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes the text form, accepting only canonical unpadded base64url.
pub(crate) fn from_text(text: &str) -> Result<Vec<u8>, EncryptionError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| EncryptionError::Malformed {
            reason: "the value is not base64url without padding",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_version_then_big_endian_id() {
        assert_eq!(header(0x0102_0304), [1, 1, 2, 3, 4]);
    }

    #[test]
    fn parse_rejects_short_and_unknown_versions() {
        assert!(matches!(parse(&[]), Err(EncryptionError::Malformed { .. })));
        assert!(matches!(
            parse(&[2; 40]),
            Err(EncryptionError::UnsupportedVersion { version: 2 })
        ));
        assert!(matches!(
            parse(&[1; 32]),
            Err(EncryptionError::Malformed { .. })
        ));
        let ok = parse(&[1; 33]).unwrap();
        assert_eq!(ok.key_id, 0x0101_0101);
        assert_eq!(ok.body.len(), TAG_LEN);
    }

    #[test]
    fn text_form_is_canonical() {
        assert_eq!(from_text(&to_text(b"abc")).unwrap(), b"abc");
        assert!(from_text("YWJj=").is_err());
        assert!(from_text("YWJk+").is_err());
        // Non-zero trailing bits are not canonical.
        assert_eq!(from_text("YWI").unwrap(), b"ab");
        assert!(from_text("YWJ").is_err());
    }
}
