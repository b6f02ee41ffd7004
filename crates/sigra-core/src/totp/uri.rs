//! `otpauth://totp/...` provisioning URIs (Google's "Key Uri Format").
//!
//! totp-rs writes and reads the URI text (`Totp::to_url`, `Totp::from_url_unchecked`: label
//! splitting, percent-encoding and decoding, query parameters, base32 secret). What stays here,
//! on top of it: the length bound on input, the label rules (non-empty, no colon, no control
//! character, bounded length), refusing repeated parameters, sigra-core's own secret policy
//! ([`TotpSecret`]) and parameter bounds ([`TotpParams::validate`]), errors that never echo the
//! secret, and the QR code. The rules are documented on [`OtpAuthUri`] (this module is private).

use std::fmt;

use zeroize::Zeroizing;

use super::{Algorithm, Digits, Totp, TotpError, TotpParams, TotpSecret, qr};

/// The longest `otpauth://` URI [`OtpAuthUri::parse`] reads, in bytes.
pub const MAX_URI_BYTES: usize = 4096;

/// The longest issuer, and the longest account name, in bytes (before percent-encoding).
pub const MAX_LABEL_PART_BYTES: usize = 256;

/// An `otpauth://totp/` provisioning URI: a [`Totp`] credential with the issuer and account
/// name an authenticator app shows beside its codes.
///
/// The URI contains the secret: [`to_uri`](Self::to_uri) returns a string zeroized on drop,
/// and `Debug` redacts the secret. Show it to the user once at enrolment (usually as
/// [`to_svg`](Self::to_svg)), never log it.
///
/// # Format written (by totp-rs)
///
/// `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32[&digits=8][&algorithm=SHA256]&issuer=ISSUER[&period=60]`
///
/// Issuer and account are percent-encoded (every byte except `A-Z a-z 0-9 - . _ ~`; a space is
/// `%20`); the secret is unpadded upper-case base32; `digits`, `algorithm` and `period` are
/// written only when they differ from the defaults (6, SHA1, 30), which every app assumes.
///
/// # Colons
///
/// The Key Uri Format forbids a colon in the issuer and in the account name, because the label
/// separates them with a colon (written literally or as `%3A`), and apps disagree on how to read
/// an encoded one. So [`OtpAuthUri::new`] refuses a colon in either, and the parser splits the
/// label at its first colon and refuses a second one. Control characters are refused too; each
/// part is at most [`MAX_LABEL_PART_BYTES`] bytes.
///
/// # Parsing
///
/// [`OtpAuthUri::parse`] is total: any input gives a value or a [`TotpError`], never a panic. It
/// accepts any ASCII case in the scheme and algorithm (the type is `totp`, in lower case),
/// spaces after the label's colon, `+` for a space in query values, omitted `algorithm`/`digits`/`period` (the defaults), and ignores
/// unknown parameters (such as `image`). Parameter names are lower case, as the format
/// specifies, and the secret is upper-case base32 without padding (totp-rs's decoder; use
/// [`TotpSecret::from_base32`] for secrets typed by hand); a `%` not followed by two hex digits is kept as a literal `%`. It refuses HOTP URIs, a repeated known parameter, invalid UTF-8 in the label, an
/// issuer in the label that differs from the `issuer` parameter, secrets shorter than 128 bits,
/// digits other than 6 or 8, and inputs longer than [`MAX_URI_BYTES`].
///
/// ```
/// use sigra_core::totp::{OtpAuthUri, Totp, TotpParams, TotpSecret};
/// let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890")?, TotpParams::default())?;
/// let uri = OtpAuthUri::new(totp, "Acme Co", "alice@example.com")?;
/// assert_eq!(
///     uri.to_uri().as_str(),
///     "otpauth://totp/Acme%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
///      &issuer=Acme%20Co"
/// );
/// let parsed = OtpAuthUri::parse(&uri.to_uri())?;
/// assert_eq!(parsed, uri);
/// # Ok::<(), sigra_core::totp::TotpError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OtpAuthUri {
    totp: Totp,
    issuer: Option<String>,
    account: String,
    /// The URI text, written by totp-rs once the parts are checked.
    uri: Zeroizing<String>,
}

impl OtpAuthUri {
    /// Builds the URI for `totp`, naming the `issuer` (your app or company) and the user's
    /// `account` (usually their email). Both must be non-empty, without colons or control
    /// characters, at most [`MAX_LABEL_PART_BYTES`] bytes.
    ///
    /// ```
    /// use sigra_core::totp::{OtpAuthUri, Totp, TotpError, TotpParams};
    /// let totp = Totp::generate(TotpParams::default())?;
    /// assert!(matches!(
    ///     OtpAuthUri::new(totp, "Acme: Admin", "alice"),
    ///     Err(TotpError::InvalidLabel(_))
    /// ));
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn new(totp: Totp, issuer: &str, account: &str) -> Result<Self, TotpError> {
        check_part(issuer, "the issuer is empty")?;
        check_part(account, "the account name is empty")?;
        Self::assemble(totp, Some(issuer.to_owned()), account.to_owned())
    }

    /// The issuer, if the URI names one (always, for URIs made by [`new`](Self::new)).
    ///
    /// ```
    /// use sigra_core::totp::OtpAuthUri;
    /// let uri = OtpAuthUri::parse("otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(uri.issuer(), Some("Acme"));
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The account name.
    ///
    /// ```
    /// use sigra_core::totp::OtpAuthUri;
    /// let uri = OtpAuthUri::parse("otpauth://totp/Acme:%20alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(uri.account(), "alice");
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The credential.
    ///
    /// ```
    /// use sigra_core::totp::{Algorithm, OtpAuthUri};
    /// let uri = OtpAuthUri::parse(
    ///     "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=sha256",
    /// )?;
    /// assert_eq!(uri.totp().params().algorithm, Algorithm::Sha256);
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn totp(&self) -> &Totp {
        &self.totp
    }

    /// Takes the credential out.
    ///
    /// ```
    /// use sigra_core::totp::OtpAuthUri;
    /// let uri = OtpAuthUri::parse("otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// let totp = uri.into_totp();
    /// assert_eq!(totp.code_at(59)?, "287082");
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn into_totp(self) -> Totp {
        self.totp
    }

    /// The URI text (it contains the secret; zeroized on drop). See
    /// [the format written](Self#format-written-by-totp-rs).
    ///
    /// ```
    /// use sigra_core::totp::{OtpAuthUri, Totp, TotpParams};
    /// let uri = OtpAuthUri::new(Totp::generate(TotpParams::default())?, "Acme", "alice")?;
    /// assert!(uri.to_uri().starts_with("otpauth://totp/Acme:alice?secret="));
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn to_uri(&self) -> Zeroizing<String> {
        self.uri.clone()
    }

    /// Writes the URI with totp-rs, once the label parts have been checked.
    fn assemble(totp: Totp, issuer: Option<String>, account: String) -> Result<Self, TotpError> {
        let params = totp.params();
        let algorithm = match params.algorithm {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        };
        let writer = totp_rs::Builder::new()
            .with_algorithm(algorithm)
            .with_digits(params.digits.count())
            .with_step_duration(u64::from(params.period))
            .with_secret(totp_rs::Secret::new(
                totp.secret().expose_bytes().to_vec().into_boxed_slice(),
            ))
            .with_issuer(issuer.as_deref())
            .with_account_name(account.as_str())
            .build_noncompliant();
        let uri = Zeroizing::new(
            writer
                .to_url()
                .map_err(|_| TotpError::InvalidLabel("the account name cannot go into a URI"))?,
        );
        Ok(Self {
            totp,
            issuer,
            account,
            uri,
        })
    }

    /// The URI as a QR code (error correction level M, what authenticator apps scan reliably)
    /// in an inline SVG document, safe to embed in an HTML page as is.
    ///
    /// The markup is written by sigra-core from the QR module matrix: no XML declaration, no
    /// script, no external reference, no text taken from the URI; a fixed
    /// `viewBox="0 0 N N"` in module units (the code plus a 4-module quiet zone), a default
    /// size of 4 px per module (`width`/`height`, which CSS may override), `role="img"` with
    /// an `aria-label` and a `<title>`, black on white, one `<path>` for the dark modules.
    ///
    /// The code contains the secret: serve it only on the enrolment page, with
    /// `Cache-Control: no-store`. Fails with [`TotpError::QrTooLarge`] when the URI is longer
    /// than a QR code holds (about 2300 bytes: only with very long non-ASCII names, which
    /// percent-encoding triples).
    ///
    /// ```
    /// use sigra_core::totp::{OtpAuthUri, Totp, TotpParams};
    /// let uri = OtpAuthUri::new(Totp::generate(TotpParams::default())?, "Acme", "alice")?;
    /// let svg = uri.to_svg()?;
    /// assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    /// assert!(svg.contains("<title>"));
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn to_svg(&self) -> Result<String, TotpError> {
        qr::svg(self.to_uri().as_bytes())
    }

    /// Parses an `otpauth://totp/` URI (from another system, or [`to_uri`](Self::to_uri)).
    /// Total: see [parsing](Self#parsing) for what is accepted and refused. The skew is the
    /// default (it is not part of the URI).
    ///
    /// ```
    /// use sigra_core::totp::{Digits, OtpAuthUri, TotpError};
    /// let uri = OtpAuthUri::parse(
    ///     "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\
    ///      &issuer=Example&digits=8&image=https://example.com/logo.png",
    /// )?;
    /// assert_eq!((uri.issuer(), uri.account()), (Some("Example"), "alice@google.com"));
    /// assert_eq!(uri.totp().params().digits, Digits::Eight);
    /// assert!(matches!(OtpAuthUri::parse("https://example.com"), Err(TotpError::InvalidUri(_))));
    /// # Ok::<(), TotpError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, TotpError> {
        if input.len() > MAX_URI_BYTES {
            return Err(TotpError::InvalidUri("longer than 4096 bytes"));
        }
        let input = input.trim();
        refuse_repeated_parameters(input)?;
        let parsed = totp_rs::Totp::from_url_unchecked(input).map_err(uri_error)?;

        let account = parsed.account_name().trim_start_matches(' ');
        let label_issuer = parsed.issuer();
        if let Some(issuer) = label_issuer {
            check_part(issuer, "the issuer is empty")?;
        }
        check_part(account, "the account name is empty")?;

        let secret = TotpSecret::from_bytes(parsed.secret().as_bytes())?;
        let algorithm = match parsed.algorithm() {
            totp_rs::Algorithm::SHA1 => Algorithm::Sha1,
            totp_rs::Algorithm::SHA256 => Algorithm::Sha256,
            totp_rs::Algorithm::SHA512 => Algorithm::Sha512,
            _ => {
                return Err(TotpError::InvalidUri(
                    "unsupported algorithm: expected SHA1, SHA256 or SHA512",
                ));
            }
        };
        let digits = match parsed.digits() {
            6 => Digits::Six,
            8 => Digits::Eight,
            _ => return Err(TotpError::InvalidUri("unsupported digits: expected 6 or 8")),
        };
        let period = u32::try_from(parsed.step()).unwrap_or(u32::MAX);
        let params = TotpParams::default()
            .with_algorithm(algorithm)
            .with_digits(digits)
            .with_period(period);
        let issuer = label_issuer.map(str::to_owned);
        let account = account.to_owned();
        Self::assemble(Totp::new(secret, params)?, issuer, account)
    }
}

impl fmt::Debug for OtpAuthUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpAuthUri")
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("totp", &self.totp)
            .finish()
    }
}

/// Refuses a URI that repeats a known parameter: totp-rs keeps the last value, other readers
/// the first, so a repeated `secret` or `issuer` could mean different credentials to different
/// apps. Only the raw names are looked at (the values are decoded by totp-rs).
fn refuse_repeated_parameters(input: &str) -> Result<(), TotpError> {
    let before_fragment = input.split_once('#').map_or(input, |(before, _)| before);
    let Some((_, query)) = before_fragment.split_once('?') else {
        return Ok(());
    };
    for name in ["secret", "issuer", "algorithm", "digits", "period"] {
        let count = query
            .split('&')
            .filter(|pair| pair.split_once('=').map_or(*pair, |(key, _)| key) == name)
            .count();
        if count > 1 {
            return Err(TotpError::InvalidUri(match name {
                "secret" => "the secret parameter is repeated",
                "issuer" => "the issuer parameter is repeated",
                "algorithm" => "the algorithm parameter is repeated",
                "digits" => "the digits parameter is repeated",
                _ => "the period parameter is repeated",
            }));
        }
    }
    Ok(())
}

/// Turns totp-rs's parse errors into [`TotpError::InvalidUri`] with a fixed message (totp-rs's
/// own errors may quote the input, which contains the secret).
fn uri_error(error: totp_rs::TotpError) -> TotpError {
    use totp_rs::TotpError as E;
    TotpError::InvalidUri(match error {
        E::InvalidHost { host } if host.eq_ignore_ascii_case("hotp") => {
            "counter-based (hotp) URIs are not supported; only totp"
        }
        E::InvalidHost { .. } | E::UrlParse(_) => "expected otpauth://totp/LABEL?secret=...",
        E::InvalidScheme { .. } => "the scheme is not otpauth",
        E::SecretNotSet => "the secret parameter is missing",
        E::InvalidSecret => "the secret is not valid unpadded base32",
        E::InvalidAlgorithm { .. } => "unsupported algorithm: expected SHA1, SHA256 or SHA512",
        E::DigitsParse { .. } => "unsupported digits: expected 6 or 8",
        E::StepParse { .. } => "the period is not a whole number",
        E::AccountNameDecode { .. } | E::IssuerDecode { .. } => {
            "a percent-encoded part of the label is not valid UTF-8"
        }
        E::IssuerMismatch { .. } => "the issuer in the label differs from the issuer parameter",
        E::InvalidIssuer { .. } | E::InvalidAccountName { .. } => {
            "the issuer and the account name may not contain ':' (it separates them)"
        }
        _ => "malformed otpauth URI",
    })
}

/// Checks an issuer or account name: non-empty, bounded, no colon, no control character.
/// `if_empty` is the message for an empty part.
fn check_part(part: &str, if_empty: &'static str) -> Result<(), TotpError> {
    let problem = if part.is_empty() {
        Some(if_empty)
    } else if part.len() > MAX_LABEL_PART_BYTES {
        Some("the issuer and the account name must each be at most 256 bytes")
    } else if part.contains(':') {
        Some("the issuer and the account name may not contain ':' (it separates them)")
    } else if part.chars().any(char::is_control) {
        Some("the issuer and the account name may not contain control characters")
    } else {
        None
    };
    match problem {
        Some(message) => Err(TotpError::InvalidLabel(message)),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn parse(s: &str) -> Result<OtpAuthUri, TotpError> {
        OtpAuthUri::parse(s)
    }

    #[test]
    fn round_trip_with_awkward_names() {
        let totp = Totp::generate(TotpParams::default().with_digits(Digits::Eight)).unwrap();
        for (issuer, account) in [
            ("Acme & Sons", "a+b@example.com"),
            ("Ünïcødé 日本", "user/with?query#frag"),
            ("100%", "spaces  inside"),
        ] {
            let uri = OtpAuthUri::new(totp.clone(), issuer, account).unwrap();
            let back = parse(&uri.to_uri()).unwrap();
            assert_eq!(back.issuer(), Some(issuer));
            assert_eq!(back.account(), account);
            assert_eq!(back.totp(), &totp);
        }
    }

    #[test]
    fn accepts_variants() {
        let uri = parse(&format!(
            "OTPAUTH://totp/Acme%3A%20alice?secret={}&algorithm=sha512&period=60&foo=bar#x",
            SECRET
        ))
        .unwrap();
        assert_eq!(uri.issuer(), Some("Acme"));
        assert_eq!(uri.account(), "alice");
        assert_eq!(uri.totp().params().algorithm, Algorithm::Sha512);
        assert_eq!(uri.totp().params().period, 60);
        let uri = parse(&format!(
            "otpauth://totp/alice?secret={SECRET}&issuer=Acme+Co"
        ))
        .unwrap();
        assert_eq!(uri.issuer(), Some("Acme Co"));
        assert_eq!(uri.account(), "alice");
        let uri = parse(&format!("otpauth://totp/alice?secret={SECRET}")).unwrap();
        assert_eq!(uri.issuer(), None);
        assert_eq!(uri.totp().params(), &TotpParams::default());
        let written = uri.to_uri();
        assert!(written.starts_with("otpauth://totp/alice?secret="));
        assert_eq!(parse(&written).unwrap(), uri);
    }

    #[test]
    fn refuses_with_clear_errors() {
        let cases: Vec<(String, &str)> = vec![
            ("otpauth://hotp/a?secret=X&counter=1".into(), "hotp"),
            ("otpauth://totp/a".into(), "secret parameter is missing"),
            (
                format!("otpauth://totp/a?secret={SECRET}&secret={SECRET}"),
                "repeated",
            ),
            (
                format!("otpauth://totp/a?secret={SECRET}&digits=7"),
                "digits",
            ),
            (
                format!("otpauth://totp/a?secret={SECRET}&algorithm=MD5"),
                "algorithm",
            ),
            (
                format!("otpauth://totp/a?secret={SECRET}&period=0"),
                "period",
            ),
            (
                format!("otpauth://totp/a?secret={SECRET}&period=-5"),
                "period",
            ),
            (
                format!("otpauth://totp/a?secret={SECRET}&period=99999999999"),
                "period",
            ),
            (
                format!("otpauth://totp/A:a?secret={SECRET}&issuer=B"),
                "differs",
            ),
            (format!("otpauth://totp/A:a:b?secret={SECRET}"), "':'"),
            (format!("otpauth://totp/?secret={SECRET}"), "empty"),
            (format!("otpauth://totp/:a?secret={SECRET}"), "empty"),
            (format!("otpauth://totp/a%ff?secret={SECRET}"), "UTF-8"),
            (format!("otpauth://totp/a%0A?secret={SECRET}"), "control"),
            ("otpauth://totp/a?secret=GEZDGNBV".into(), "bits"),
            ("otpauth://totp/a?secret=GEZ!".into(), "base32"),
            ("mailto://totp/a".into(), "scheme"),
            ("otpauth:totp".into(), "expected"),
            ("x".repeat(5000), "4096"),
        ];
        for (input, needle) in cases {
            let err = parse(&input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?} gave {err:?}");
            assert!(!err.contains(SECRET));
        }
    }

    #[test]
    fn debug_redacts_the_secret() {
        let uri = parse(&format!("otpauth://totp/Acme:alice?secret={SECRET}")).unwrap();
        let debug = format!("{uri:?}");
        assert!(debug.contains("alice") && debug.contains("REDACTED"));
        assert!(!debug.contains(SECRET) && !debug.contains("1234"));
    }
}
