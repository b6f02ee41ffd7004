//! Validated email addresses, with an optional display name.

use std::fmt;
use std::str::FromStr;

use super::MailError;

/// The longest address accepted, in bytes (RFC 5321's path limit less the angle brackets).
pub const MAX_ADDRESS_BYTES: usize = 254;
/// The longest local part (before `@`), in bytes (RFC 5321).
const MAX_LOCAL_BYTES: usize = 64;
/// The longest domain, in bytes.
const MAX_DOMAIN_BYTES: usize = 253;
/// The longest domain label, in bytes.
const MAX_LABEL_BYTES: usize = 63;
/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// An email address (`local@domain`) that is safe to put in a header, with an optional
/// display name (`Zoë Ångström <zoe@example.com>`).
///
/// Accepted: a dot-atom local part (letters, digits, ``!#$%&'*+-/=?^_`{|}~`` and non-ASCII
/// letters, dots only between atoms) of at most 64 bytes, a host-name domain (labels of
/// letters, digits and inner hyphens, at most 63 bytes each, non-ASCII letters allowed for
/// internationalised names), at most 254 bytes in all. Refused: quoted local parts,
/// IP-literal domains, whitespace, and any line break or control character (which would let
/// the value inject headers; that gets its own error,
/// [`MailError::HeaderInjection`]). Parsing never panics, whatever the input.
///
/// The text is kept as given (no case folding): comparing addresses for account lookup is
/// the host's business.
///
/// ```
/// use sigra_core::mail::Address;
///
/// let to = Address::new("zoe@example.com")?.with_name("Zoë Ångström")?;
/// assert_eq!(to.email(), "zoe@example.com");
/// assert_eq!(to.domain(), "example.com");
/// assert_eq!(to.to_string(), "\"Zoë Ångström\" <zoe@example.com>");
///
/// // The same, parsed from the `Name <address>` form (e.g. a MAIL_FROM variable).
/// let parsed: Address = "Zoë Ångström <zoe@example.com>".parse()?;
/// assert_eq!(parsed, to);
///
/// assert!(Address::new("not an address").is_err());
/// assert!(Address::new("a@b.example\r\nBcc: x@y.example").is_err());
/// # Ok::<(), sigra_core::mail::MailError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Address {
    email: String,
    at: usize,
    name: Option<String>,
}

impl Address {
    /// Validates a bare address (`local@domain`, no display name).
    ///
    /// # Errors
    /// [`MailError::HeaderInjection`] for a line break or control character,
    /// [`MailError::InvalidAddress`] for anything else that is not an address.
    ///
    /// ```
    /// use sigra_core::mail::{Address, MailError};
    ///
    /// assert!(Address::new("alice+news@mail.example.org").is_ok());
    /// let err = Address::new("alice@").unwrap_err();
    /// assert_eq!(err.to_string(), "invalid email address: the domain (after @) is missing");
    /// ```
    pub fn new(email: &str) -> Result<Self, MailError> {
        let at = validate_email(email)?;
        Ok(Self {
            email: email.to_owned(),
            at,
            name: None,
        })
    }

    /// Sets the display name shown by mail clients. Leading and trailing whitespace is
    /// removed; an empty name removes the display name. Any Unicode text of at most
    /// [`MAX_NAME_CHARS`] characters is accepted, except line breaks and control characters.
    ///
    /// # Errors
    /// [`MailError::HeaderInjection`] for a line break or control character,
    /// [`MailError::InvalidAddress`] for a name that is too long.
    ///
    /// ```
    /// use sigra_core::mail::Address;
    ///
    /// let from = Address::new("noreply@example.com")?.with_name("Example, Inc.")?;
    /// assert_eq!(from.name(), Some("Example, Inc."));
    /// assert!(Address::new("a@example.com")?.with_name("Eve\nBcc: x@y.example").is_err());
    /// # Ok::<(), sigra_core::mail::MailError>(())
    /// ```
    pub fn with_name(mut self, name: impl AsRef<str>) -> Result<Self, MailError> {
        let name = name.as_ref();
        if breaks_header(name) {
            return Err(MailError::HeaderInjection {
                field: "display name",
            });
        }
        let name = name.trim();
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(MailError::InvalidAddress {
                reason: "the display name is longer than 128 characters",
            });
        }
        self.name = (!name.is_empty()).then(|| name.to_owned());
        Ok(self)
    }

    /// The bare address, `local@domain`.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The part before the `@`.
    ///
    /// ```
    /// # use sigra_core::mail::Address;
    /// assert_eq!(Address::new("bob@example.com")?.local_part(), "bob");
    /// # Ok::<(), sigra_core::mail::MailError>(())
    /// ```
    pub fn local_part(&self) -> &str {
        self.email.get(..self.at).unwrap_or_default()
    }

    /// The part after the `@`.
    ///
    /// ```
    /// # use sigra_core::mail::Address;
    /// assert_eq!(Address::new("bob@example.com")?.domain(), "example.com");
    /// # Ok::<(), sigra_core::mail::MailError>(())
    /// ```
    pub fn domain(&self) -> &str {
        self.email.get(self.at + 1..).unwrap_or_default()
    }
}

/// `Name <address>` (the name quoted, with `"` and `\` escaped) or the bare address.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            None => f.write_str(&self.email),
            Some(name) => {
                f.write_str("\"")?;
                for c in name.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                write!(f, "\" <{}>", self.email)
            }
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// Parses `address`, `<address>`, `Name <address>` or `"Quoted \"Name\"" <address>`.
impl FromStr for Address {
    type Err = MailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if breaks_header(s) {
            return Err(MailError::HeaderInjection { field: "address" });
        }
        let s = s.trim();
        let Some(inner) = s.strip_suffix('>') else {
            return Self::new(s);
        };
        let Some((name, email)) = inner.rsplit_once('<') else {
            return Err(MailError::InvalidAddress {
                reason: "a `>` without a matching `<`",
            });
        };
        let name = name.trim();
        let name = match name
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
        {
            Some(quoted) => unescape(quoted)?,
            None => name.to_owned(),
        };
        Self::new(email.trim())?.with_name(name)
    }
}

impl TryFrom<&str> for Address {
    type Error = MailError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Undoes `\x` escapes in a quoted display name.
fn unescape(quoted: &str) -> Result<String, MailError> {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => out.push(next),
                None => {
                    return Err(MailError::InvalidAddress {
                        reason: "the quoted display name ends with a lone backslash",
                    });
                }
            },
            '"' => {
                return Err(MailError::InvalidAddress {
                    reason: "the quoted display name holds an unescaped quote",
                });
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Whether `s` holds a character that could end a header line or otherwise corrupt one:
/// any control character (C0, DEL, C1 including NEL) and the Unicode line and paragraph
/// separators.
pub(crate) fn breaks_header(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

/// Checks an addr-spec and returns the byte index of its `@`.
fn validate_email(email: &str) -> Result<usize, MailError> {
    let invalid = |reason| Err(MailError::InvalidAddress { reason });
    if breaks_header(email) {
        return Err(MailError::HeaderInjection { field: "address" });
    }
    if email.is_empty() {
        return invalid("it is empty");
    }
    if email.chars().any(char::is_whitespace) {
        return invalid("it holds whitespace");
    }
    if email.len() > MAX_ADDRESS_BYTES {
        return invalid("it is longer than 254 bytes");
    }
    let Some(at) = email.find('@') else {
        return invalid("the @ is missing");
    };
    let (local, domain) = (
        email.get(..at).unwrap_or_default(),
        email.get(at + 1..).unwrap_or_default(),
    );
    if domain.contains('@') {
        return invalid("it holds more than one @ (quoted local parts are not supported)");
    }
    validate_local(local)?;
    validate_domain(domain)?;
    Ok(at)
}

fn validate_local(local: &str) -> Result<(), MailError> {
    let invalid = |reason| Err(MailError::InvalidAddress { reason });
    if local.is_empty() {
        return invalid("the part before @ is empty");
    }
    if local.len() > MAX_LOCAL_BYTES {
        return invalid("the part before @ is longer than 64 bytes");
    }
    if local.split('.').any(str::is_empty) {
        return invalid("the part before @ starts or ends with a dot, or has two dots in a row");
    }
    if !local.chars().all(|c| c == '.' || is_atext(c)) {
        return invalid(
            "the part before @ holds a character that is not allowed (letters, digits and !#$%&'*+-/=?^_`{|}~ are, with dots between them)",
        );
    }
    Ok(())
}

fn validate_domain(domain: &str) -> Result<(), MailError> {
    let invalid = |reason| Err(MailError::InvalidAddress { reason });
    if domain.is_empty() {
        return invalid("the domain (after @) is missing");
    }
    if domain.starts_with('[') {
        return invalid("IP-literal domains ([…]) are not supported");
    }
    if domain.len() > MAX_DOMAIN_BYTES {
        return invalid("the domain is longer than 253 bytes");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return invalid("the domain starts or ends with a dot, or has two dots in a row");
        }
        if label.len() > MAX_LABEL_BYTES {
            return invalid("a domain label is longer than 63 bytes");
        }
        if !label.chars().all(|c| c == '-' || is_domain_char(c)) {
            return invalid(
                "the domain holds a character that is not allowed (letters, digits, hyphens and dots are)",
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return invalid("a domain label starts or ends with a hyphen");
        }
    }
    Ok(())
}

/// RFC 5322 `atext`, extended by RFC 6532 to non-ASCII letters and digits.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || is_unicode_alnum(c)
}

/// A letter or digit of a domain label (ASCII, or non-ASCII for an internationalised name).
fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_unicode_alnum(c)
}

fn is_unicode_alnum(c: char) -> bool {
    !c.is_ascii() && c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> &'static str {
        match Address::new(s) {
            Err(MailError::InvalidAddress { reason }) => reason,
            other => panic!("{s:?}: expected InvalidAddress, got {other:?}"),
        }
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b",
            "alice@example.com",
            "alice.smith+tag@mail.example.co.uk",
            "o'brien@example.ie",
            "x!#$%&'*+-/=?^_`{|}~@example.com",
            "user@localhost",
            "jörg@bücher.example",
            "用户@例子.广告",
            "user@xn--bcher-kva.example",
            "a@1.2.3.4",
        ] {
            let a = Address::new(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(a.email(), ok);
            assert_eq!(format!("{}@{}", a.local_part(), a.domain()), ok);
        }
    }

    #[test]
    fn refuses_with_a_reason() {
        assert_eq!(reason(""), "it is empty");
        assert_eq!(reason("alice"), "the @ is missing");
        assert_eq!(reason("@example.com"), "the part before @ is empty");
        assert_eq!(reason("alice@"), "the domain (after @) is missing");
        assert!(reason("a@b@c").contains("more than one @"));
        assert!(reason("\"a b\"@c").contains("whitespace"));
        assert!(reason("\"ab\"@c").contains("not allowed"));
        assert!(reason(".a@b").contains("dot"));
        assert!(reason("a.@b").contains("dot"));
        assert!(reason("a..b@c").contains("dot"));
        assert!(reason("a@b..c").contains("dot"));
        assert!(reason("a@b.").contains("dot"));
        assert!(reason("a@-b.c").contains("hyphen"));
        assert!(reason("a@b-.c").contains("hyphen"));
        assert!(reason("a@b_c.d").contains("not allowed"));
        assert!(reason("a@[127.0.0.1]").contains("IP-literal"));
        assert!(reason("a(comment)@b").contains("not allowed"));
        assert!(reason("a<b@c").contains("not allowed"));
        assert!(reason("😀@example.com").contains("not allowed"));
        assert!(reason("alice @example.com").contains("whitespace"));
        assert!(reason("alice@exa mple.com").contains("whitespace"));
    }

    #[test]
    fn enforces_lengths() {
        let local64 = "l".repeat(64);
        assert!(Address::new(&format!("{local64}@example.com")).is_ok());
        assert!(reason(&format!("{local64}l@example.com")).contains("64 bytes"));
        let label63 = "d".repeat(63);
        assert!(Address::new(&format!("a@{label63}.com")).is_ok());
        assert!(reason(&format!("a@{label63}d.com")).contains("63 bytes"));
        // 254 bytes in all is the limit.
        let domain = [&label63[..], &label63[..], &label63[..], &"e".repeat(59)].join(".");
        let at_limit = format!("ab@{domain}");
        assert_eq!(at_limit.len(), 254);
        assert!(Address::new(&at_limit).is_ok());
        assert!(reason(&format!("abc@{domain}")).contains("254 bytes"));
    }

    #[test]
    fn line_breaks_are_header_injection() {
        for bad in [
            "alice@example.com\r\nBcc: all@example.com",
            "alice@example.com\n",
            "alice@example.com\r",
            "ali\u{0}ce@example.com",
            "alice@example.com\u{85}",
            "alice@example.com\u{2028}",
            "alice@exa\tmple.com",
        ] {
            assert!(
                matches!(
                    Address::new(bad),
                    Err(MailError::HeaderInjection { field: "address" })
                ),
                "{bad:?}"
            );
            assert!(matches!(
                bad.parse::<Address>(),
                Err(MailError::HeaderInjection { field: "address" })
            ));
        }
        let a = Address::new("a@example.com").unwrap();
        for bad in ["Eve\r\nBcc: x@y", "Eve\n", "E\u{7f}ve", "Eve\u{2029}"] {
            assert!(matches!(
                a.clone().with_name(bad),
                Err(MailError::HeaderInjection {
                    field: "display name"
                })
            ));
        }
    }

    #[test]
    fn names_round_trip_through_display_and_parse() {
        for name in [
            "Zoë Ångström",
            "Example, Inc.",
            "Dwayne \"The Rock\" Johnson",
            "back\\slash",
            "<angle> brackets",
            "@ sign",
            "\"",
        ] {
            let a = Address::new("x@example.com")
                .unwrap()
                .with_name(name)
                .unwrap();
            let back: Address = a.to_string().parse().unwrap();
            assert_eq!(back, a, "{name:?} via {a}");
        }
    }

    #[test]
    fn parses_the_common_forms() {
        let bare: Address = " alice@example.com ".parse().unwrap();
        assert_eq!(bare.email(), "alice@example.com");
        assert_eq!(bare.name(), None);
        let angle: Address = "<alice@example.com>".parse().unwrap();
        assert_eq!(angle, bare);
        let named: Address = "Alice Liddell <alice@example.com>".parse().unwrap();
        assert_eq!(named.name(), Some("Alice Liddell"));
        let quoted: Address = "\"Liddell, Alice\" <alice@example.com>".parse().unwrap();
        assert_eq!(quoted.name(), Some("Liddell, Alice"));
        assert!("Alice alice@example.com>".parse::<Address>().is_err());
        assert!("\"A\\\" <a@example.com>".parse::<Address>().is_err());
        assert!("\"A\"B\" <a@example.com>".parse::<Address>().is_err());
        let empty_name: Address = "\"\" <a@example.com>".parse().unwrap();
        assert_eq!(empty_name.name(), None);
        assert_eq!(
            Address::try_from("a@example.com").unwrap().email(),
            "a@example.com"
        );
    }

    #[test]
    fn long_names_are_refused() {
        let a = Address::new("a@example.com").unwrap();
        assert!(a.clone().with_name("n".repeat(128)).is_ok());
        assert!(matches!(
            a.with_name("n".repeat(129)),
            Err(MailError::InvalidAddress { .. })
        ));
    }
}
