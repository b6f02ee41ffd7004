use super::AuthError;

/// The longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL_LEN: usize = 254;

/// Trims an email address and checks that it looks like one: one `@`, a non-empty local part
/// of at most 64 bytes, a domain with a dot and no empty labels, no whitespace or control
/// characters, at most 254 bytes. Case is kept (the store compares case-insensitively).
///
/// ```
/// use sigra_core::auth::normalize_email;
/// assert_eq!(normalize_email("  Alice@Example.com ")?, "Alice@Example.com");
/// assert!(normalize_email("alice").is_err());
/// assert!(normalize_email("a@b").is_err());
/// assert!(normalize_email("a b@example.com").is_err());
/// # Ok::<(), sigra_core::auth::AuthError>(())
/// ```
pub fn normalize_email(input: &str) -> Result<String, AuthError> {
    let email = input.trim();
    if email.is_empty() || email.len() > MAX_EMAIL_LEN {
        return Err(AuthError::InvalidEmail);
    }
    if email
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
    {
        return Err(AuthError::InvalidEmail);
    }
    let (local, domain) = email.rsplit_once('@').ok_or(AuthError::InvalidEmail)?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err(AuthError::InvalidEmail);
    }
    if !domain.contains('.')
        || domain
            .split('.')
            .any(|label| label.is_empty() || label.len() > 63)
        || domain.starts_with('-')
    {
        return Err(AuthError::InvalidEmail);
    }
    Ok(email.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_unicode_addresses() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.co.uk",
            "josé@exämple.com",
        ] {
            assert_eq!(normalize_email(ok).unwrap(), ok);
        }
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            " ",
            "@example.com",
            "a@",
            "a@@example.com",
            "a@example",
            "a@.com",
            "a@example..com",
            "a\r\nBcc: x@y.z@example.com",
            "a@exa mple.com",
            "<a@example.com>",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(normalize_email(&format!("a@{}.com", "b".repeat(250))).is_err());
    }
}
