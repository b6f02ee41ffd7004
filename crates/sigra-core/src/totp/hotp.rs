//! RFC 4226 HOTP: an HMAC of a counter, dynamically truncated to a few decimal digits.

use hmac::{Hmac, KeyInit, Mac};
use zeroize::Zeroize;

use super::{Algorithm, Digits, TotpError, TotpSecret};

/// Computes the RFC 4226 HOTP code for `counter`, zero-padded to `digits` digits.
///
/// TOTP is HOTP with the counter `unix_time / period`; most callers want
/// [`Totp`](super::Totp) instead. RFC 4226 Appendix D, counter 0:
///
/// ```
/// use sigra_core::totp::{hotp, Algorithm, Digits, TotpSecret};
/// let secret = TotpSecret::from_bytes(b"12345678901234567890")?;
/// assert_eq!(hotp(&secret, 0, Algorithm::Sha1, Digits::Six)?, "755224");
/// # Ok::<(), sigra_core::totp::TotpError>(())
/// ```
pub fn hotp(
    secret: &TotpSecret,
    counter: u64,
    algorithm: Algorithm,
    digits: Digits,
) -> Result<String, TotpError> {
    let value = hotp_value(secret.expose_bytes(), counter, algorithm, digits)?;
    Ok(format_code(value, digits))
}

/// Zero-pads `value` to the digit count.
pub(crate) fn format_code(value: u32, digits: Digits) -> String {
    format!("{value:0width$}", width = usize::from(digits.count()))
}

/// The HOTP value for `counter`: RFC 4226 §5.3 dynamic truncation, modulo 10^digits.
pub(crate) fn hotp_value(
    key: &[u8],
    counter: u64,
    algorithm: Algorithm,
    digits: Digits,
) -> Result<u32, TotpError> {
    let message = counter.to_be_bytes();
    let mut mac = match algorithm {
        Algorithm::Sha1 => mac::<sha1::Sha1>(key, &message)?,
        Algorithm::Sha256 => mac::<sha2::Sha256>(key, &message)?,
        Algorithm::Sha512 => mac::<sha2::Sha512>(key, &message)?,
    };
    let truncated = truncate(&mac);
    mac.zeroize();
    Ok(truncated % digits.modulus())
}

/// HMAC with hash `D`; the output is at most 64 bytes (SHA-512).
fn mac<D>(key: &[u8], message: &[u8]) -> Result<Vec<u8>, TotpError>
where
    Hmac<D>: KeyInit + Mac,
    D: hmac::EagerHash,
{
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).map_err(|_| TotpError::Hmac)?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// RFC 4226 §5.3: the low 4 bits of the last byte pick an offset; the 31 bits at that offset
/// are the value.
fn truncate(mac: &[u8]) -> u32 {
    let offset = mac.last().map_or(0, |b| usize::from(b & 0x0f));
    let window = mac
        .get(offset..offset + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .unwrap_or([0; 4]);
    u32::from_be_bytes(window) & 0x7fff_ffff
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_truncation_example() {
        // RFC 4226 §5.4: the HMAC-SHA-1 value and its truncation.
        let mac = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(truncate(&mac), 0x50ef_7f19);
        assert_eq!(truncate(&mac) % 1_000_000, 872_921);
    }

    #[test]
    fn leading_zeros_are_kept() {
        assert_eq!(format_code(42, Digits::Six), "000042");
        assert_eq!(format_code(7, Digits::Eight), "00000007");
    }
}
