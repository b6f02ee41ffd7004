//! Time-based one-time passwords (RFC 6238 TOTP over RFC 4226 HOTP), written for replay-safe
//! verification, plus `otpauth://` provisioning URIs and their QR codes.
//!
//! # What totp-rs does, and what stays here
//!
//! [totp-rs](https://docs.rs/totp-rs) computes the codes (HMAC-SHA-1/256/512, dynamic
//! truncation, zero-padding), encodes and decodes base32 secrets, and writes and reads the
//! `otpauth://` text. sigra-core keeps, on top of it, what is a security decision rather than
//! an encoding: the replay check on the matched step (totp-rs's `check` returns the first
//! matching step and knows nothing of the last accepted one, so [`Totp::verify`] runs its own
//! constant-time loop over the window, asking totp-rs only for each step's code), the secret
//! policy ([`TotpSecret`]: length bounds, generation from the OS RNG, zeroizing, redacted
//! `Debug`, encryption at rest by the host), total handling of any clock value, the input rules
//! for codes, the label and repeated-parameter rules of [`OtpAuthUri`], error messages that
//! never echo a secret, and the QR code SVG. [`Totp`], [`TotpSecret`] and [`OtpAuthUri`] keep
//! their API; [`hotp`] is a thin wrapper over totp-rs.
//!
//! # Defaults
//!
//! Every authenticator app understands the defaults: HMAC-SHA-1, 6 digits, a 30-second step,
//! and a fresh 20-byte (160-bit, as RFC 4226 recommends) random secret. SHA-256 and SHA-512
//! (with 32- and 64-byte secrets) and 8-digit codes are supported for apps that handle them.
//! Verification accepts the codes of the current step and one step either side
//! ([`TotpParams::skew`], default 1), which covers clocks up to about 30 s apart.
//!
//! # Replay defence: the host stores the last accepted step
//!
//! A code stays valid for its whole step (and the skew window), so anyone who sees it could
//! submit it again. [`Totp::verify`] therefore takes the step last accepted for this user and
//! refuses, with the distinct [`TotpError::Replayed`], any code whose step is at or below it
//! (RFC 6238 §5.2). On success it returns the matched step, which the host must store with a
//! single atomic compare-and-set, so that two concurrent requests carrying the same code cannot
//! both succeed:
//!
//! ```sql
//! UPDATE user_totp SET last_step = $step
//!  WHERE user_id = $user AND (last_step IS NULL OR last_step < $step);
//! -- 1 row updated: the login proceeds. 0 rows: another request used this step first,
//! -- treat it exactly like TotpError::Replayed.
//! ```
//!
//! Count [`TotpError::Replayed`] as a failed attempt in the MFA lockout counter, like
//! [`TotpError::WrongCode`].
//!
//! # Timing
//!
//! Verification computes the code of every step in the window, compares each with the input in
//! constant time ([`subtle`]) and only then decides, so the time taken does not depend on
//! which step (if any) matched.
//!
//! # Secrets
//!
//! [`TotpSecret`] zeroizes its bytes on drop and prints `[REDACTED]` in `Debug`. Store it
//! encrypted at rest ([`crate::encryption`]); load it back with [`TotpSecret::from_bytes`].
//! Secrets shorter than 128 bits are refused (RFC 4226 §4 requires at least 128); the
//! `danger_from_short_*` constructors exist only to import legacy 80-bit secrets.
//!
//! # Example
//!
//! ```
//! use sigra_core::totp::{OtpAuthUri, Totp, TotpError, TotpParams};
//!
//! // Enrolment: make a secret, show the QR code, store the secret encrypted.
//! let totp = Totp::generate(TotpParams::default())?;
//! let uri = OtpAuthUri::new(totp.clone(), "Acme", "alice@example.com")?;
//! let svg = uri.to_svg()?; // embed in the enrolment page
//! assert!(svg.starts_with("<svg"));
//!
//! // Login: the user types the code their app shows.
//! let now = 1_700_000_000;
//! let code = totp.code_at(now)?;
//! let step = totp.verify(&code, now, None)?; // then store `step` with compare-and-set
//! assert!(matches!(totp.verify(&code, now, Some(step)), Err(TotpError::Replayed { .. })));
//! # Ok::<(), TotpError>(())
//! ```

mod code;
mod hotp;
mod params;
mod qr;
mod secret;
mod uri;

pub use code::Totp;
pub use hotp::hotp;
pub use params::{Algorithm, Digits, MAX_PERIOD, MAX_SKEW, TotpParams};
pub use secret::{LEGACY_MIN_SECRET_BYTES, MAX_SECRET_BYTES, MIN_SECRET_BYTES, TotpSecret};
pub use uri::{MAX_LABEL_PART_BYTES, MAX_URI_BYTES, OtpAuthUri};

/// What went wrong with a TOTP secret, code, parameter or `otpauth://` URI.
///
/// No message contains secret material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The secret has no bytes.
    #[error("the TOTP secret is empty")]
    EmptySecret,
    /// The secret is shorter than allowed.
    #[error(
        "the TOTP secret has {bits} bits; at least {min_bits} are required (RFC 4226 §4): \
         generate a new one with TotpSecret::generate"
    )]
    SecretTooShort {
        /// The secret's length in bits.
        bits: usize,
        /// The minimum length in bits.
        min_bits: usize,
    },
    /// The secret is longer than [`MAX_SECRET_BYTES`].
    #[error("the TOTP secret is longer than {max_bytes} bytes")]
    SecretTooLong {
        /// The maximum length in bytes.
        max_bytes: usize,
    },
    /// A character of a base32 secret is outside the RFC 4648 alphabet.
    #[error(
        "the TOTP secret is not valid base32: character {position} is not a letter A-Z or a \
         digit 2-7 (spaces, hyphens and trailing '=' are allowed)"
    )]
    InvalidBase32Character {
        /// The character's position in the input, counting from 0.
        position: usize,
    },
    /// A base32 secret has `=` padding before its end.
    #[error("the TOTP secret is not valid base32: '=' padding may only appear at the end")]
    MisplacedBase32Padding,
    /// A base32 secret has a number of characters that cannot encode whole bytes.
    #[error(
        "the TOTP secret is not valid base32: {chars} characters cannot encode whole bytes \
         (a character is missing or extra)"
    )]
    InvalidBase32Length {
        /// The number of base32 characters (without spaces and padding).
        chars: usize,
    },
    /// The period is zero or longer than [`MAX_PERIOD`] seconds.
    #[error("the TOTP period must be between 1 and {max} seconds, got {period}")]
    InvalidPeriod {
        /// The refused period.
        period: u32,
        /// The longest period allowed.
        max: u32,
    },
    /// The skew is larger than [`MAX_SKEW`] steps.
    #[error("the TOTP skew must be at most {max} steps, got {skew}")]
    SkewTooLarge {
        /// The refused skew.
        skew: u8,
        /// The largest skew allowed.
        max: u8,
    },
    /// The time is before 1970-01-01 00:00:00 UTC.
    #[error("the time is before the Unix epoch (1970-01-01); check the system clock")]
    TimeBeforeEpoch,
    /// The time does not fit the arithmetic (only for absurd clocks).
    #[error("the time is too far in the future to compute a TOTP step; check the system clock")]
    TimeOutOfRange,
    /// The submitted code contains something other than digits and spaces.
    #[error("the code must contain only the digits 0-9")]
    CodeNotNumeric,
    /// The submitted code has the wrong number of digits.
    #[error("the code must have {expected} digits, got {found}")]
    CodeLength {
        /// The number of digits expected.
        expected: u8,
        /// The number of digits submitted.
        found: usize,
    },
    /// The code matches no step in the window: wrong, expired, or the clocks are too far apart.
    #[error("the code is wrong or has expired")]
    WrongCode,
    /// The code is right but its step was already used (at or below the last accepted step).
    #[error("this code was already used: wait for the next code from the authenticator app")]
    Replayed {
        /// The step the code belongs to.
        step: u64,
    },
    /// The `otpauth://` URI is malformed or unsupported.
    #[error("invalid otpauth URI: {0}")]
    InvalidUri(&'static str),
    /// The issuer or account name cannot go into an `otpauth://` label.
    #[error("invalid issuer or account name: {0}")]
    InvalidLabel(&'static str),
    /// The URI does not fit in a QR code.
    #[error("the otpauth URI is too long to fit in a QR code; shorten the issuer or account name")]
    QrTooLarge,
    /// HMAC refused the key. No longer produced (totp-rs computes the codes); kept so that
    /// matches on this non-exhaustive enum keep compiling.
    #[error("HMAC refused the TOTP secret")]
    Hmac,
    /// The operating system's random number generator failed.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}
