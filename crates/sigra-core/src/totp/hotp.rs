//! RFC 4226 HOTP codes, computed by totp-rs.
//!
//! totp-rs does the HMAC, the dynamic truncation and the zero-padding. sigra-core drives it
//! with a step duration of one second and no skew, so that totp-rs's "time" is exactly the
//! HOTP counter (the TOTP step): [`Totp`](super::Totp) computes the step itself (it refuses
//! times before the epoch instead of panicking) and runs its own replay-aware matching loop
//! over the steps of the window.

use zeroize::Zeroizing;

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
    let engine = engine(secret, algorithm, digits);
    Ok(code(&engine, counter).to_string())
}

/// A totp-rs generator whose "time" is the HOTP counter: a 1-second step and no skew.
///
/// Built with `build_noncompliant` because sigra-core has already checked everything totp-rs's
/// `build` would: the digit count is 6 or 8 ([`Digits`]), the step is non-zero, and the secret
/// length follows [`TotpSecret`]'s policy (which also admits the legacy 80-bit secrets that
/// totp-rs's 128-bit check would refuse). Its copy of the secret is zeroized on drop
/// (totp-rs's `zeroize` feature).
pub(crate) fn engine(secret: &TotpSecret, algorithm: Algorithm, digits: Digits) -> totp_rs::Totp {
    let algorithm = match algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    };
    totp_rs::Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits.count())
        .with_skew(0)
        .with_step_duration(1)
        .with_secret(totp_rs::Secret::new(
            secret.expose_bytes().to_vec().into_boxed_slice(),
        ))
        .build_noncompliant()
}

/// The zero-padded code for `counter` (zeroized on drop).
pub(crate) fn code(engine: &totp_rs::Totp, counter: u64) -> Zeroizing<String> {
    Zeroizing::new(engine.generate(counter).to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn leading_zeros_are_kept_and_counters_are_total() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        for digits in [Digits::Six, Digits::Eight] {
            let engine = engine(&secret, Algorithm::Sha1, digits);
            for counter in [0, 1, u64::MAX / 2, u64::MAX] {
                let code = code(&engine, counter);
                assert_eq!(code.len(), usize::from(digits.count()));
                assert!(code.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
