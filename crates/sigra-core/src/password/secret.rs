//! [`Password`]: a plaintext password that zeroizes itself and never prints.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A plaintext password as the user typed it.
///
/// The bytes live in a [`SecretString`]: they are wiped when the value is dropped, `Debug`
/// prints `Password([REDACTED])`, and there is no `Display` or `Serialize`, so a password
/// cannot end up in a log line or a JSON response by accident. Read it only through
/// [`ExposeSecret::expose_secret`], which makes every use visible in review.
///
/// It deserializes from a plain string, so a host's form type can hold it directly:
///
/// ```
/// use sigra_core::password::Password;
///
/// #[derive(serde::Deserialize)]
/// struct LoginForm {
///     email: String,
///     password: Password,
/// }
///
/// let form: LoginForm =
///     serde_json::from_str(r#"{"email":"a@example.com","password":"correct horse"}"#)?;
/// assert_eq!(format!("{:?}", form.password), "Password([REDACTED])");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password. The `String` is moved in, so no unwiped copy is left behind.
    ///
    /// ```
    /// use secrecy::ExposeSecret;
    /// let password = sigra_core::password::Password::new(String::from("correct horse"));
    /// assert_eq!(password.expose_secret(), "correct horse");
    /// ```
    pub fn new(password: String) -> Self {
        Self(SecretString::from(password))
    }

    /// The length in bytes of UTF-8 (what the [`MAX_PASSWORD_BYTES`](super::MAX_PASSWORD_BYTES)
    /// bound counts).
    ///
    /// ```
    /// let password = sigra_core::password::Password::from("pässwörd");
    /// assert_eq!(password.len_bytes(), 10);
    /// ```
    pub fn len_bytes(&self) -> usize {
        self.0.expose_secret().len()
    }

    /// The length in characters (Unicode scalar values; what the policy's minimum counts).
    ///
    /// ```
    /// let password = sigra_core::password::Password::from("pässwörd");
    /// assert_eq!(password.char_count(), 8);
    /// ```
    pub fn char_count(&self) -> usize {
        self.0.expose_secret().chars().count()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl ExposeSecret<str> for Password {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

impl From<&str> for Password {
    fn from(password: &str) -> Self {
        Self(SecretString::from(password))
    }
}

impl From<SecretString> for Password {
    fn from(password: SecretString) -> Self {
        Self(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl<'de> serde::Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let p = Password::from("hunter2hunter2");
        let shown = format!("{p:?} {:?}", vec![p.clone()]);
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("[REDACTED]"));
    }

    #[test]
    fn counts_chars_and_bytes() {
        let p = Password::from("ü😀a");
        assert_eq!(p.char_count(), 3);
        assert_eq!(p.len_bytes(), 2 + 4 + 1);
    }
}
