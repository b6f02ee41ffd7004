//! What a mail is: its purpose, recipient, subject and bodies.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::address::breaks_header;
use super::{Address, MailError};

/// The largest text or HTML body accepted, in bytes (1 MiB). Auth mails are a few KiB; the
/// bound only caps what one call can make the transport do.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The longest subject accepted, in characters.
pub const MAX_SUBJECT_CHARS: usize = 255;
/// The longest kind name, in bytes.
const MAX_KIND_BYTES: usize = 64;
/// The longest local part of a `Message-ID` accepted by [`OutgoingMail::with_message_id`], in
/// characters (a hyphenated UUID is 36).
pub const MAX_MESSAGE_ID_CHARS: usize = 64;

/// What a mail is for: `confirm`, `magic_link`, `reset_password`… A tag that travels with the
/// mail (stored in the dev mailbox, sent as the `X-Sigra-Mail-Kind` header) so tests and the
/// dev mailbox page can find a mail by purpose without parsing its wording.
///
/// The flows sigra-core drives use the constants below; an app may add its own kinds with
/// [`MailKind::new`] (lowercase ASCII letters, digits, `_`, `.`, `-`, starting with a letter,
/// at most 64 bytes).
///
/// ```
/// use sigra_core::mail::MailKind;
///
/// assert_eq!(MailKind::MAGIC_LINK.as_str(), "magic_link");
/// let invite = MailKind::new("org.invitation")?;
/// assert_eq!(invite.to_string(), "org.invitation");
/// assert_eq!("reset_password".parse::<MailKind>()?, MailKind::RESET_PASSWORD);
/// assert!(MailKind::new("Bad Kind").is_err());
/// # Ok::<(), sigra_core::mail::MailError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailKind(Cow<'static, str>);

impl MailKind {
    /// Registration: the confirmation link and code.
    pub const CONFIRM: Self = Self(Cow::Borrowed("confirm"));
    /// A sign-in link.
    pub const MAGIC_LINK: Self = Self(Cow::Borrowed("magic_link"));
    /// A password-reset link.
    pub const RESET_PASSWORD: Self = Self(Cow::Borrowed("reset_password"));
    /// Confirmation of a new email address, sent to that address.
    pub const CHANGE_EMAIL: Self = Self(Cow::Borrowed("change_email"));
    /// Notice that the account's password was changed.
    pub const PASSWORD_CHANGED: Self = Self(Cow::Borrowed("password_changed"));
    /// Notice that the account was locked after repeated failed sign-ins.
    pub const LOCKOUT_NOTICE: Self = Self(Cow::Borrowed("lockout_notice"));
    /// Notice of a sign-in from an unfamiliar place.
    pub const SUSPICIOUS_LOGIN: Self = Self(Cow::Borrowed("suspicious_login"));
    /// Sent to the owner of an address when someone tries to register it again (the
    /// registration form itself answers generically, so it does not reveal the account).
    pub const ACCOUNT_EXISTS: Self = Self(Cow::Borrowed("account_exists"));

    /// The kinds sigra-core's own flows send.
    pub const BUILT_IN: [Self; 8] = [
        Self::CONFIRM,
        Self::MAGIC_LINK,
        Self::RESET_PASSWORD,
        Self::CHANGE_EMAIL,
        Self::PASSWORD_CHANGED,
        Self::LOCKOUT_NOTICE,
        Self::SUSPICIOUS_LOGIN,
        Self::ACCOUNT_EXISTS,
    ];

    /// A kind of the app's own.
    ///
    /// # Errors
    /// [`MailError::InvalidKind`] unless the name is 1–64 bytes of `[a-z0-9_.-]` starting with
    /// a letter.
    ///
    /// ```
    /// use sigra_core::mail::MailKind;
    ///
    /// assert_eq!(MailKind::new("confirm")?, MailKind::CONFIRM);
    /// assert!(MailKind::new("").is_err());
    /// assert!(MailKind::new("9lives").is_err());
    /// # Ok::<(), sigra_core::mail::MailError>(())
    /// ```
    pub fn new(name: &str) -> Result<Self, MailError> {
        let invalid = |reason| Err(MailError::InvalidKind { reason });
        if name.is_empty() {
            return invalid("it is empty");
        }
        if name.len() > MAX_KIND_BYTES {
            return invalid("it is longer than 64 bytes");
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return invalid("it must start with a lowercase letter");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
        {
            return invalid("only lowercase letters, digits, `_`, `.` and `-` are allowed");
        }
        Ok(Self::BUILT_IN
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or_else(|| Self(Cow::Owned(name.to_owned()))))
    }

    /// The name, as stored and sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailKind({})", self.0)
    }
}

impl FromStr for MailKind {
    type Err = MailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// One mail to send: its [kind](MailKind), recipient, subject, a plain-text body and an
/// optional HTML body. Built by the host's mail templates, handed to a
/// [`Mailer`](super::Mailer).
///
/// Construction validates everything that ends up in a header, so a transport never has to:
/// the recipient is an [`Address`]; the subject must be non-blank, at most
/// [`MAX_SUBJECT_CHARS`] characters, without line breaks or control characters (refused as
/// [`MailError::HeaderInjection`], never silently stripped). Bodies may hold any text (the
/// transport encodes them) up to [`MAX_BODY_BYTES`]; the text body must not be blank, since
/// every mail must be readable without HTML.
///
/// A mail may carry the local part of its `Message-ID` ([`with_message_id`](Self::with_message_id)):
/// the job worker passes the outbox job's id, so a mail sent again after a failed attempt
/// keeps its `Message-ID` and mail clients show it once. Without one, the transport makes a
/// random one per send.
///
/// Bodies carry secrets (sign-in links, codes), so `Debug` prints only their sizes, and the
/// subject's (a template may put a code there).
///
/// ```
/// use sigra_core::mail::{Address, MailKind, OutgoingMail};
///
/// let mail = OutgoingMail::new(
///     MailKind::CONFIRM,
///     Address::new("zoe@example.com")?,
///     "Confirm your account",
///     "Open https://app.example/confirm/abc or enter 042917.",
/// )?
/// .with_html("<p><a href=\"https://app.example/confirm/abc\">Confirm</a> or enter <b>042917</b>.</p>")?;
///
/// assert_eq!(mail.kind(), &MailKind::CONFIRM);
/// assert!(mail.html().is_some());
/// assert!(!format!("{mail:?}").contains("042917"));
///
/// assert!(OutgoingMail::new(MailKind::CONFIRM, Address::new("zoe@example.com")?,
///     "Hi\r\nBcc: all@example.com", "text").is_err());
/// # Ok::<(), sigra_core::mail::MailError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    kind: MailKind,
    to: Address,
    subject: String,
    text: String,
    html: Option<String>,
    message_id: Option<String>,
}

impl OutgoingMail {
    /// A plain-text mail; add an HTML alternative with [`with_html`](Self::with_html).
    ///
    /// # Errors
    /// [`MailError::HeaderInjection`] for a line break or control character in the subject,
    /// [`MailError::InvalidSubject`] for a blank or too long subject,
    /// [`MailError::InvalidBody`] for a blank or too large text body.
    pub fn new(
        kind: MailKind,
        to: Address,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<Self, MailError> {
        let subject = subject.into();
        check_subject(&subject)?;
        let text = text.into();
        check_body(&text, &TEXT_BODY)?;
        Ok(Self {
            kind,
            to,
            subject,
            text,
            html: None,
            message_id: None,
        })
    }

    /// Adds (or replaces) the HTML alternative. Mail clients that show HTML show it; the
    /// others show the text body.
    ///
    /// # Errors
    /// [`MailError::InvalidBody`] for a blank or too large HTML body.
    pub fn with_html(mut self, html: impl Into<String>) -> Result<Self, MailError> {
        let html = html.into();
        check_body(&html, &HTML_BODY)?;
        self.html = Some(html);
        Ok(self)
    }

    /// Sets (or replaces) the local part of the mail's `Message-ID`: an SMTP transport sends
    /// `Message-ID: <{local}@{sender's domain}>`. Pass something unique per mail and stable
    /// across retries, such as the outbox job's UUID (simple or hyphenated form), so every
    /// attempt at one mail carries the same `Message-ID`.
    ///
    /// Only 1–[`MAX_MESSAGE_ID_CHARS`] characters of ASCII letters, digits, `.`, `-` and `_`
    /// are accepted, with no dot at the start or end and no two dots in a row (an RFC 5322
    /// dot-atom): nothing that could break or add a header.
    ///
    /// # Errors
    /// [`MailError::InvalidMessageId`] for anything else.
    ///
    /// ```
    /// use sigra_core::mail::{Address, MailError, MailKind, OutgoingMail};
    ///
    /// let mail = OutgoingMail::new(MailKind::CONFIRM, Address::new("zoe@example.com")?, "Hi", "text")?;
    /// assert_eq!(mail.message_id(), None);
    /// let mail = mail.with_message_id("0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11")?;
    /// assert_eq!(mail.message_id(), Some("0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11"));
    ///
    /// let err = mail.with_message_id("x\r\nBcc: all@example.com").unwrap_err();
    /// assert!(matches!(err, MailError::InvalidMessageId { .. }));
    /// # Ok::<(), MailError>(())
    /// ```
    pub fn with_message_id(mut self, local: impl Into<String>) -> Result<Self, MailError> {
        let local = local.into();
        check_message_id(&local)?;
        self.message_id = Some(local);
        Ok(self)
    }

    /// The local part of the `Message-ID` set by [`with_message_id`](Self::with_message_id),
    /// if any.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// What the mail is for.
    pub fn kind(&self) -> &MailKind {
        &self.kind
    }

    /// The recipient.
    pub fn to(&self) -> &Address {
        &self.to
    }

    /// The subject line.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain-text body.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The HTML body, if any.
    pub fn html(&self) -> Option<&str> {
        self.html.as_deref()
    }
}

impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &Redacted(self.subject.len()))
            .field("text", &Redacted(self.text.len()))
            .field("html", &self.html.as_ref().map(|h| Redacted(h.len())))
            .field("message_id", &self.message_id)
            .finish()
    }
}

/// Prints `[REDACTED n bytes]` in place of a secret-bearing text.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[REDACTED {} bytes]", self.0)
    }
}

fn check_subject(subject: &str) -> Result<(), MailError> {
    if breaks_header(subject) {
        return Err(MailError::HeaderInjection { field: "subject" });
    }
    if subject.trim().is_empty() {
        return Err(MailError::InvalidSubject {
            reason: "it is empty",
        });
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(MailError::InvalidSubject {
            reason: "it is longer than 255 characters",
        });
    }
    Ok(())
}

fn check_message_id(local: &str) -> Result<(), MailError> {
    let invalid = |reason| Err(MailError::InvalidMessageId { reason });
    if local.is_empty() {
        return invalid("it is empty");
    }
    if !local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
    {
        return invalid(
            "only ASCII letters, digits, `.`, `-` and `_` are allowed (no spaces, line breaks or `@`)",
        );
    }
    // All ASCII from here on: bytes are characters.
    if local.len() > MAX_MESSAGE_ID_CHARS {
        return invalid("it is longer than 64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return invalid("a dot may not start or end it, nor follow another dot");
    }
    Ok(())
}

/// The refusals for one kind of body.
struct BodyRules {
    too_large: &'static str,
    empty: &'static str,
}

const TEXT_BODY: BodyRules = BodyRules {
    too_large: "the text body is larger than 1 MiB",
    empty: "the text body is empty (every mail needs a readable text part)",
};

const HTML_BODY: BodyRules = BodyRules {
    too_large: "the HTML body is larger than 1 MiB",
    empty: "the HTML body is empty",
};

fn check_body(body: &str, rules: &BodyRules) -> Result<(), MailError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(MailError::InvalidBody {
            reason: rules.too_large,
        });
    }
    if body.trim().is_empty() {
        return Err(MailError::InvalidBody {
            reason: rules.empty,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to() -> Address {
        Address::new("zoe@example.com").unwrap()
    }

    #[test]
    fn built_in_kinds_parse_to_themselves() {
        for kind in MailKind::BUILT_IN {
            assert_eq!(MailKind::new(kind.as_str()).unwrap(), kind);
            assert!(matches!(
                MailKind::new(kind.as_str()).unwrap().0,
                Cow::Borrowed(_)
            ));
        }
        let names: Vec<_> = MailKind::BUILT_IN.iter().map(MailKind::as_str).collect();
        assert_eq!(
            names[..6],
            [
                "confirm",
                "magic_link",
                "reset_password",
                "change_email",
                "password_changed",
                "lockout_notice"
            ]
        );
    }

    #[test]
    fn custom_kinds_are_validated() {
        assert!(MailKind::new("org.invitation-v2_x").is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("Confirm", "lowercase letter"),
            ("_x", "lowercase letter"),
            ("a b", "only lowercase"),
            ("a\nb", "only lowercase"),
            ("ünï", "lowercase letter"),
        ] {
            let err = MailKind::new(bad).unwrap_err();
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
        }
        assert!(MailKind::new(&"k".repeat(64)).is_ok());
        assert!(MailKind::new(&"k".repeat(65)).is_err());
    }

    #[test]
    fn subject_is_checked() {
        let mail = |s: &str| OutgoingMail::new(MailKind::CONFIRM, to(), s, "body");
        assert!(mail("Bestätige dein Konto ✔").is_ok());
        for bad in [
            "a\r\nBcc: x@y",
            "a\n",
            "\ra",
            "a\u{0}",
            "a\u{85}b",
            "a\u{2028}",
            "a\tb",
        ] {
            assert!(
                matches!(
                    mail(bad),
                    Err(MailError::HeaderInjection { field: "subject" })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(mail(""), Err(MailError::InvalidSubject { .. })));
        assert!(matches!(mail("   "), Err(MailError::InvalidSubject { .. })));
        assert!(mail(&"s".repeat(255)).is_ok());
        assert!(matches!(
            mail(&"s".repeat(256)),
            Err(MailError::InvalidSubject { .. })
        ));
    }

    #[test]
    fn bodies_are_checked() {
        let mail = |t: &str| OutgoingMail::new(MailKind::CONFIRM, to(), "Hi", t);
        assert!(mail("line one\r\nline two\n\0 any text is fine").is_ok());
        let err = mail(" \n").unwrap_err();
        assert!(err.to_string().contains("text body is empty"));
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert!(
            mail(&big)
                .unwrap_err()
                .to_string()
                .contains("larger than 1 MiB")
        );
        assert!(mail(&big[1..]).is_ok());
        let ok = mail("text").unwrap();
        assert!(
            ok.clone()
                .with_html("")
                .unwrap_err()
                .to_string()
                .contains("HTML body is empty")
        );
        assert!(
            ok.clone()
                .with_html(big)
                .unwrap_err()
                .to_string()
                .contains("HTML body is larger")
        );
        assert_eq!(ok.with_html("<p>x</p>").unwrap().html(), Some("<p>x</p>"));
    }

    #[test]
    fn debug_hides_subject_and_bodies() {
        let mail = OutgoingMail::new(
            MailKind::MAGIC_LINK,
            to(),
            "Your code 123456",
            "https://app.example/magic/SECRET-TOKEN",
        )
        .unwrap()
        .with_html("<a href=\"https://app.example/magic/SECRET-TOKEN\">go</a>")
        .unwrap();
        let debug = format!("{mail:?}");
        assert!(!debug.contains("SECRET-TOKEN"), "{debug}");
        assert!(!debug.contains("123456"), "{debug}");
        assert!(debug.contains("magic_link"), "{debug}");
        assert!(debug.contains("zoe@example.com"), "{debug}");
        assert!(debug.contains("[REDACTED 38 bytes]"), "{debug}");
    }
}
