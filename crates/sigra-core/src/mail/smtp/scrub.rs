//! Removes the SMTP credentials from any text that may reach an error or a log.
//!
//! The transport's errors are built from the server's replies and the TLS library's
//! messages; neither should contain the password, but a misbehaving server could echo an
//! `AUTH` line back. This removes the password and its base64 forms (`AUTH PLAIN`,
//! `AUTH LOGIN`) before the text goes anywhere.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

/// Secrets shorter than this are not searched for: replacing every `a` of a message would
/// destroy it and protect nothing (a 3-character password is not a secret anyway).
const MIN_SECRET_BYTES: usize = 4;

/// What to remove.
pub(crate) struct Scrubber {
    secrets: Vec<SecretString>,
}

impl Scrubber {
    /// Nothing to remove.
    pub(crate) fn none() -> Self {
        Self {
            secrets: Vec::new(),
        }
    }

    /// The password, and the base64 forms an `AUTH PLAIN` or `AUTH LOGIN` exchange puts on
    /// the wire.
    pub(crate) fn for_credentials(user: &str, password: &SecretString) -> Self {
        let password = password.expose_secret();
        let plain = format!("\0{user}\0{password}");
        let secrets = [
            password.to_owned(),
            STANDARD.encode(plain.as_bytes()),
            STANDARD.encode(password.as_bytes()),
        ]
        .into_iter()
        .filter(|s| s.len() >= MIN_SECRET_BYTES)
        .map(SecretString::from)
        .collect();
        Self { secrets }
    }

    /// `text` with every secret replaced by `[REDACTED]`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            let secret = secret.expose_secret();
            if out.contains(secret) {
                out = out.replace(secret, "[REDACTED]");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_password_and_its_auth_encodings() {
        let s = Scrubber::for_credentials("apikey", &SecretString::from("hunter22"));
        let plain = STANDARD.encode("\0apikey\0hunter22");
        let login = STANDARD.encode("hunter22");
        let text = format!("535 bad: hunter22 / {plain} / {login}");
        let out = s.scrub(&text);
        assert!(!out.contains("hunter22"));
        assert!(!out.contains(&plain));
        assert!(!out.contains(&login));
        assert_eq!(out.matches("[REDACTED]").count(), 3);
    }

    #[test]
    fn short_secrets_and_no_secrets_leave_text_alone() {
        let s = Scrubber::for_credentials("u", &SecretString::from("abc"));
        assert!(s.scrub("abc abc").contains("abc"));
        assert_eq!(Scrubber::none().scrub("text"), "text");
    }
}
