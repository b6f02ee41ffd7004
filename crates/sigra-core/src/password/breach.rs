//! The optional breached-password check, through a k-anonymity range client the host plugs in.
//!
//! The check follows the shape of the Have I Been Pwned "Pwned Passwords" range API: the core
//! computes the password's SHA-1, sends only the first 5 hex characters (the prefix) to the
//! client, receives every known suffix under that prefix with its count, and looks for the
//! remaining 35 characters itself. The service never sees the password or its full hash.
//!
//! The cargo feature `breach-check` brings `PwnedPasswordsClient`, which implements
//! [`PwnedPasswordsRange`] over HTTP (`GET https://api.pwnedpasswords.com/range/{prefix}` with
//! the `Add-Padding: true` header, parsing `SUFFIX:COUNT` lines); the account flows run the
//! check with it when `SIGRA_PASSWORD_BREACH_CHECK=true`. A host may also implement the trait
//! with a client of its own. Padding entries (count 0) are ignored.

use std::future::Future;

use secrecy::ExposeSecret;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{Password, PasswordError};

/// The error a [`PwnedPasswordsRange`] client returns: whatever its HTTP stack reports.
pub type BreachClientError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A k-anonymity range client in the shape of the Pwned Passwords range API.
///
/// `range` receives 5 uppercase hex characters (the start of the password's SHA-1) and returns
/// every `(suffix, count)` the service knows under that prefix, each suffix being the other 35
/// hex characters (either case).
///
/// ```
/// use sigra_core::password::{BreachClientError, PwnedPasswordsRange};
///
/// /// A client that knows no breaches (a real one makes an HTTP request).
/// struct NeverBreached;
///
/// impl PwnedPasswordsRange for NeverBreached {
///     async fn range(&self, _prefix: &str) -> Result<Vec<(String, u64)>, BreachClientError> {
///         Ok(Vec::new())
///     }
/// }
/// ```
pub trait PwnedPasswordsRange: Send + Sync {
    /// The suffixes and counts under `prefix`.
    fn range(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<(String, u64)>, BreachClientError>> + Send;
}

/// How many times the range service has seen `password` in breaches (0: never).
///
/// Only the first 5 hex characters of the password's SHA-1 leave the process. A suffix in the
/// answer that is not 35 hex characters is an error (the client is broken), not a silent
/// "not found".
///
/// ```
/// use sigra_core::password::{breach_count, BreachClientError, Password, PwnedPasswordsRange};
///
/// struct Fixed;
/// impl PwnedPasswordsRange for Fixed {
///     async fn range(&self, prefix: &str) -> Result<Vec<(String, u64)>, BreachClientError> {
///         // SHA-1("password") = 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8
///         assert_eq!(prefix, "5BAA6");
///         Ok(vec![("1E4C9B93F3F0682250B6CF8331B7EE68FD8".into(), 52_256_179)])
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sigra_core::password::PasswordError> {
/// assert_eq!(breach_count(&Fixed, &Password::from("password")).await?, 52_256_179);
/// # Ok(())
/// # }
/// ```
pub async fn breach_count<C>(client: &C, password: &Password) -> Result<u64, PasswordError>
where
    C: PwnedPasswordsRange + ?Sized,
{
    let (prefix, suffix) = sha1_split(password);
    let entries = client
        .range(&prefix)
        .await
        .map_err(PasswordError::BreachCheckFailed)?;
    let mut found = 0u64;
    for (candidate, count) in &entries {
        if candidate.len() != 35 || !candidate.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PasswordError::BreachCheckFailed(
                "the range client returned a suffix that is not 35 hex characters".into(),
            ));
        }
        let candidate = Zeroizing::new(candidate.to_ascii_uppercase());
        if bool::from(candidate.as_bytes().ct_eq(suffix.as_bytes())) {
            found = found.max(*count);
        }
    }
    Ok(found)
}

/// Refuses a password the range service has seen in a breach, with
/// [`PasswordError::Breached`]. Errors of the client come back as
/// [`PasswordError::BreachCheckFailed`]; the host decides whether to go on without the check.
///
/// ```
/// use sigra_core::password::{check_not_breached, BreachClientError, Password, PasswordError, PwnedPasswordsRange};
///
/// struct Down;
/// impl PwnedPasswordsRange for Down {
///     async fn range(&self, _: &str) -> Result<Vec<(String, u64)>, BreachClientError> {
///         Err("connection refused".into())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let result = check_not_breached(&Down, &Password::from("correct horse battery")).await;
/// assert!(matches!(result, Err(PasswordError::BreachCheckFailed(_))));
/// # }
/// ```
pub async fn check_not_breached<C>(client: &C, password: &Password) -> Result<(), PasswordError>
where
    C: PwnedPasswordsRange + ?Sized,
{
    match breach_count(client, password).await? {
        0 => Ok(()),
        count => Err(PasswordError::Breached { count }),
    }
}

/// The password's SHA-1 in uppercase hex, split into the 5-character prefix sent to the
/// service and the 35-character suffix kept here.
fn sha1_split(password: &Password) -> (String, Zeroizing<String>) {
    let digest = Sha1::digest(password.expose_secret().as_bytes());
    let mut hex = Zeroizing::new(String::with_capacity(40));
    for byte in digest.iter() {
        for nibble in [byte >> 4, byte & 0x0f] {
            hex.push(char::from(
                b"0123456789ABCDEF"
                    .get(usize::from(nibble))
                    .copied()
                    .unwrap_or(b'0'),
            ));
        }
    }
    let prefix = hex.get(..5).unwrap_or_default().to_owned();
    let suffix = Zeroizing::new(hex.get(5..).unwrap_or_default().to_owned());
    (prefix, suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_known_sha1() {
        // SHA-1("password") = 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8
        let (prefix, suffix) = sha1_split(&Password::from("password"));
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix.as_str(), "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
    }
}
