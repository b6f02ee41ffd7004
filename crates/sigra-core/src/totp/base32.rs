//! RFC 4648 base32 (the alphabet `A-Z2-7`), as authenticator apps use for secrets.
//!
//! Encoding writes upper case without `=` padding (what `otpauth://` URIs and apps expect).
//! Decoding is forgiving about presentation and strict about content: it ignores ASCII case,
//! whitespace and hyphens (secrets are often shown in groups), accepts optional trailing `=`
//! padding, and refuses any other character, `=` before the end, and lengths that cannot
//! encode whole bytes. Unused low bits of the last character are ignored, as most decoders do.

use zeroize::Zeroizing;

use super::TotpError;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes `bytes` as upper-case base32 without padding.
pub(crate) fn encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(5) * 8));
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(symbol(buffer << (5 - bits)));
    }
    out
}

fn symbol(value: u16) -> char {
    char::from(
        ALPHABET
            .get(usize::from(value & 0x1f))
            .copied()
            .unwrap_or(b'A'),
    )
}

fn value(c: char) -> Option<u8> {
    match c {
        'A'..='Z' => Some(c as u8 - b'A'),
        'a'..='z' => Some(c as u8 - b'a'),
        '2'..='7' => Some(c as u8 - b'2' + 26),
        _ => None,
    }
}

/// Decodes base32, forgiving case, whitespace, hyphens and optional trailing padding.
///
/// Stops with [`TotpError::SecretTooLong`] as soon as the output would exceed `max_bytes`.
pub(crate) fn decode(input: &str, max_bytes: usize) -> Result<Zeroizing<Vec<u8>>, TotpError> {
    // The most characters that decode to at most `max_bytes` bytes.
    let max_chars = max_bytes.saturating_mul(8).div_ceil(5);
    let mut out = Zeroizing::new(Vec::with_capacity(max_bytes.min(input.len())));
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    let mut chars: usize = 0;
    let mut padding = false;
    for (position, c) in input.chars().enumerate() {
        if c.is_ascii_whitespace() || c == '-' {
            continue;
        }
        if c == '=' {
            padding = true;
            continue;
        }
        let Some(v) = value(c) else {
            return Err(TotpError::InvalidBase32Character { position });
        };
        if padding {
            return Err(TotpError::MisplacedBase32Padding);
        }
        chars += 1;
        if chars > max_chars {
            return Err(TotpError::SecretTooLong { max_bytes });
        }
        buffer = (buffer << 5) | u16::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or(0));
            buffer &= (1 << bits) - 1;
        }
    }
    // 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters leaves 5 or more
    // bits unused, which no encoder produces.
    if matches!(chars % 8, 1 | 3 | 6) {
        return Err(TotpError::InvalidBase32Length { chars });
    }
    if out.len() > max_bytes {
        return Err(TotpError::SecretTooLong { max_bytes });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<Vec<u8>, TotpError> {
        decode(s, 1024).map(|v| v.to_vec())
    }

    #[test]
    fn rfc4648_vectors() {
        let vectors: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ];
        for (raw, encoded) in vectors {
            assert_eq!(encode(raw).as_str(), encoded);
            assert_eq!(dec(encoded).unwrap(), raw);
        }
        // With the RFC's padding too.
        assert_eq!(dec("MZXW6YQ=").unwrap(), b"foob");
        assert_eq!(dec("MY======").unwrap(), b"f");
    }

    #[test]
    fn forgiving_presentation() {
        assert_eq!(dec("mzxw 6ytb-oi").unwrap(), b"foobar");
        assert_eq!(dec("  MZXW6YTBOI\n").unwrap(), b"foobar");
        assert_eq!(dec("MzXw6YtBoI==").unwrap(), b"foobar");
    }

    #[test]
    fn clear_errors() {
        assert!(matches!(
            dec("MZXW1"),
            Err(TotpError::InvalidBase32Character { position: 4 })
        ));
        assert!(matches!(
            dec("MZ=XW"),
            Err(TotpError::MisplacedBase32Padding)
        ));
        assert!(matches!(
            dec("MZX"),
            Err(TotpError::InvalidBase32Length { chars: 3 })
        ));
        assert!(matches!(
            dec("é"),
            Err(TotpError::InvalidBase32Character { position: 0 })
        ));
        assert!(matches!(
            decode("MZXW6YTBOI", 5),
            Err(TotpError::SecretTooLong { max_bytes: 5 })
        ));
        assert_eq!(decode("MZXW6YTB", 5).unwrap().as_slice(), b"fooba");
    }
}
