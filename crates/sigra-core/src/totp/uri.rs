//! `otpauth://totp/...` provisioning URIs (Google's "Key Uri Format"): writing and parsing.
//!
//! The rules are documented on [`OtpAuthUri`] (this module is private).

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use zeroize::Zeroizing;

use super::{Algorithm, Digits, Totp, TotpError, TotpParams, TotpSecret, qr};

/// The longest `otpauth://` URI [`OtpAuthUri::parse`] reads, in bytes.
pub const MAX_URI_BYTES: usize = 4096;

/// The longest issuer, and the longest account name, in bytes (before percent-encoding).
pub const MAX_LABEL_PART_BYTES: usize = 256;

/// Bytes percent-encoded in the label and the issuer: all but RFC 3986's unreserved ones.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An `otpauth://totp/` provisioning URI: a [`Totp`] credential with the issuer and account
/// name an authenticator app shows beside its codes.
///
/// The URI contains the secret: [`to_uri`](Self::to_uri) returns a string zeroized on drop,
/// and `Debug` redacts the secret. Show it to the user once at enrolment (usually as
/// [`to_svg`](Self::to_svg)), never log it.
///
/// # Format written
///
/// `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`
///
/// Issuer and account are percent-encoded (every byte except `A-Z a-z 0-9 - . _ ~`; a space is
/// `%20`); the secret is unpadded upper-case base32; every parameter is written, even the
/// defaults, so no app has to guess.
///
/// # Colons
///
/// The Key Uri Format forbids a colon in the issuer and in the account name, because the label
/// separates them with a colon (written literally or as `%3A`), and apps disagree on how to read
/// an encoded one. So [`OtpAuthUri::new`] refuses a colon in either, and the parser splits the
/// decoded label at its first colon and refuses a second one. Control characters are refused
/// too; each part is at most [`MAX_LABEL_PART_BYTES`] bytes.
///
/// # Parsing
///
/// [`OtpAuthUri::parse`] is total: any input gives a value or a [`TotpError`], never a panic. It
/// accepts any ASCII case in the scheme, type, parameter names and algorithm, spaces after the
/// label's colon, `+` for a space in query values, omitted `algorithm`/`digits`/`period` (the
/// defaults), and ignores unknown parameters (such as `image`). It refuses HOTP URIs, a
/// repeated known parameter, malformed `%` escapes, invalid UTF-8, an issuer in the label that
/// differs from the `issuer` parameter, and inputs longer than [`MAX_URI_BYTES`].
///
/// ```
/// use sigra_core::totp::{OtpAuthUri, Totp, TotpParams, TotpSecret};
/// let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890")?, TotpParams::default())?;
/// let uri = OtpAuthUri::new(totp, "Acme Co", "alice@example.com")?;
/// assert_eq!(
///     uri.to_uri().as_str(),
///     "otpauth://totp/Acme%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
///      &issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30"
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
        Ok(Self {
            totp,
            issuer: Some(issuer.to_owned()),
            account: account.to_owned(),
        })
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
    /// [the format written](Self#format-written).
    ///
    /// ```
    /// use sigra_core::totp::{OtpAuthUri, Totp, TotpParams};
    /// let uri = OtpAuthUri::new(Totp::generate(TotpParams::default())?, "Acme", "alice")?;
    /// assert!(uri.to_uri().starts_with("otpauth://totp/Acme:alice?secret="));
    /// # Ok::<(), sigra_core::totp::TotpError>(())
    /// ```
    pub fn to_uri(&self) -> Zeroizing<String> {
        let params = self.totp.params();
        let secret = self.totp.secret().to_base32();
        let issuer = self
            .issuer
            .as_deref()
            .map(|issuer| utf8_percent_encode(issuer, COMPONENT).to_string());
        let account = utf8_percent_encode(&self.account, COMPONENT).to_string();
        let tail = format!(
            "&algorithm={}&digits={}&period={}",
            params.algorithm.as_str(),
            params.digits.count(),
            params.period
        );
        // Built by pushing pieces into one zeroizing buffer, sized up front so it never
        // reallocates (which would leave an unzeroized copy of the secret behind).
        // "otpauth://totp/" ':' "?secret=" "&issuer=": 15 + 1 + 8 + 8 bytes.
        let capacity = 32
            + 2 * issuer.as_ref().map_or(0, String::len)
            + account.len()
            + secret.len()
            + tail.len();
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        out.push_str("otpauth://totp/");
        if let Some(issuer) = &issuer {
            out.push_str(issuer);
            out.push(':');
        }
        out.push_str(&account);
        out.push_str("?secret=");
        out.push_str(&secret);
        if let Some(issuer) = &issuer {
            out.push_str("&issuer=");
            out.push_str(issuer);
        }
        out.push_str(&tail);
        out
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
        let (scheme, rest) = input
            .split_once("://")
            .ok_or(TotpError::InvalidUri("expected otpauth://totp/..."))?;
        if !scheme.eq_ignore_ascii_case("otpauth") {
            return Err(TotpError::InvalidUri("the scheme is not otpauth"));
        }
        let (kind, rest) = rest.split_once('/').ok_or(TotpError::InvalidUri(
            "expected otpauth://totp/LABEL?secret=...",
        ))?;
        if kind.eq_ignore_ascii_case("hotp") {
            return Err(TotpError::InvalidUri(
                "counter-based (hotp) URIs are not supported; only totp",
            ));
        }
        if !kind.eq_ignore_ascii_case("totp") {
            return Err(TotpError::InvalidUri("the OTP type is not totp"));
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (raw_label, query) = rest.split_once('?').unwrap_or((rest, ""));

        let label = decode(raw_label, false)?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((issuer, account)) => (Some(issuer), account.trim_start_matches(' ')),
            None => (None, label.as_str()),
        };
        if let Some(issuer) = label_issuer {
            check_part(issuer, "the issuer before the label's ':' is empty")?;
        }
        check_part(account, "the account name is empty")?;

        let query = Query::parse(query)?;
        let secret_text = query
            .secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(TotpError::InvalidUri("the secret parameter is missing"))?;
        let secret = TotpSecret::from_base32(secret_text)?;

        let mut params = TotpParams::default();
        if let Some(name) = query.algorithm.as_deref().filter(|s| !s.is_empty()) {
            params.algorithm = Algorithm::from_name(name).ok_or(TotpError::InvalidUri(
                "unsupported algorithm: expected SHA1, SHA256 or SHA512",
            ))?;
        }
        if let Some(name) = query.digits.as_deref().filter(|s| !s.is_empty()) {
            params.digits = Digits::from_name(name)
                .ok_or(TotpError::InvalidUri("unsupported digits: expected 6 or 8"))?;
        }
        if let Some(text) = query.period.as_deref().filter(|s| !s.is_empty()) {
            if !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TotpError::InvalidUri("the period is not a whole number"));
            }
            params.period = text.parse().unwrap_or(u32::MAX);
        }

        let issuer = match (
            label_issuer,
            query.issuer.as_deref().filter(|s| !s.is_empty()),
        ) {
            (Some(from_label), Some(from_param)) if from_label != from_param => {
                return Err(TotpError::InvalidUri(
                    "the issuer in the label differs from the issuer parameter",
                ));
            }
            (_, Some(from_param)) => {
                check_part(from_param, "the issuer is empty")?;
                Some(from_param.to_owned())
            }
            (Some(from_label), None) => Some(from_label.to_owned()),
            (None, None) => None,
        };

        Ok(Self {
            totp: Totp::new(secret, params)?,
            issuer,
            account: account.to_owned(),
        })
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

/// The known query parameters, each at most once (decoded).
#[derive(Default)]
struct Query {
    secret: Option<Zeroizing<String>>,
    issuer: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
}

impl Query {
    fn parse(query: &str) -> Result<Self, TotpError> {
        let mut out = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = key.to_ascii_lowercase();
            let slot = match key.as_str() {
                "secret" => {
                    if out.secret.is_some() {
                        return Err(TotpError::InvalidUri("the secret parameter is repeated"));
                    }
                    out.secret = Some(Zeroizing::new(decode(value, true)?));
                    continue;
                }
                "issuer" => &mut out.issuer,
                "algorithm" => &mut out.algorithm,
                "digits" => &mut out.digits,
                "period" => &mut out.period,
                _ => continue,
            };
            if slot.is_some() {
                return Err(TotpError::InvalidUri(match key.as_str() {
                    "issuer" => "the issuer parameter is repeated",
                    "algorithm" => "the algorithm parameter is repeated",
                    "digits" => "the digits parameter is repeated",
                    _ => "the period parameter is repeated",
                }));
            }
            *slot = Some(decode(value, true)?);
        }
        Ok(out)
    }
}

/// Percent-decodes `raw` to UTF-8, refusing malformed escapes; in query values (`plus_is_space`)
/// `+` means a space, as in HTML forms.
fn decode(raw: &str, plus_is_space: bool) -> Result<String, TotpError> {
    let bytes = raw.as_bytes();
    for (i, _) in raw.match_indices('%') {
        let well_formed = bytes
            .get(i + 1..i + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        if !well_formed {
            return Err(TotpError::InvalidUri(
                "a '%' is not followed by two hexadecimal digits",
            ));
        }
    }
    let spaced;
    let raw = if plus_is_space && raw.contains('+') {
        spaced = raw.replace('+', " ");
        spaced.as_str()
    } else {
        raw
    };
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| TotpError::InvalidUri("a percent-encoded part is not valid UTF-8"))
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
            "OTPAUTH://TOTP/Acme%3A%20alice?SECRET={}&Algorithm=sha512&period=60&foo=bar#x",
            SECRET.to_lowercase()
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
            (
                format!("otpauth://totp/a%zz?secret={SECRET}"),
                "hexadecimal",
            ),
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
