//! HMAC-SHA256 envelopes: a [`Token`] bound to a purpose, a subject and an issue time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::{TOKEN_BYTES, Token, TokenError, is_base64url};
use crate::keys::{DerivedKey, SecretKeyBase};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The version prefix of the envelopes this build writes and reads.
pub const ENVELOPE_VERSION: &str = "v1";

/// The longest purpose label, in bytes.
pub const MAX_PURPOSE_LEN: usize = 64;

/// The longest subject, in bytes of UTF-8.
pub const MAX_SUBJECT_LEN: usize = 255;

/// Inputs longer than this are refused as malformed before any decoding. The longest valid
/// v1 envelope (64-byte purpose, 255-byte subject) is 529 characters.
pub const MAX_ENVELOPE_LEN: usize = 1024;

/// How far in the future an issue time may lie (clock differences between app servers):
/// 60 seconds. Anything later is refused with [`TokenError::IssuedInFuture`].
pub const CLOCK_SKEW: Duration = Duration::seconds(60);

/// The text of an HMAC tag: base64url of 32 bytes.
const MAC_ENCODED_LEN: usize = 43;

/// The key-derivation label prefix; the full label is `token-envelope:<purpose>`.
const KEY_LABEL_PREFIX: &str = "token-envelope:";

/// Signs and verifies envelopes for one purpose.
///
/// # Format (v1)
///
/// ```text
/// envelope = "v1." payload "." mac
/// payload  = base64url-nopad( P || purpose || S || subject || issued_at || token )
///     P         1 byte: purpose length, 1..=64
///     purpose   P bytes of ASCII a-z 0-9 _ - . :
///     S         1 byte: subject length, 1..=255
///     subject   S bytes of UTF-8 (the user id as a string)
///     issued_at 8 bytes: signed 64-bit big-endian Unix seconds
///     token     32 bytes: the inner random token
/// mac      = base64url-nopad( HMAC-SHA256(K, ASCII bytes of "v1." payload) )
/// K        = HKDF-SHA256(ikm = secret key base, salt = "sigra-core/v1",
///                        info = "token-envelope:" purpose, length = 32)
/// ```
///
/// The MAC covers the version, and through the payload the purpose, the subject, the issue
/// time and the token; the key is also specific to the purpose. base64url is strict (no
/// padding, canonical trailing bits), so each envelope has exactly one text form.
///
/// # Verification order
///
/// Length bound and shape ([`EnvelopeMalformed`](TokenError::EnvelopeMalformed),
/// [`EnvelopeVersion`](TokenError::EnvelopeVersion),
/// [`EnvelopeTruncated`](TokenError::EnvelopeTruncated)), then the purpose label
/// ([`WrongPurpose`](TokenError::WrongPurpose): decided before the MAC, since only the key of
/// the expected purpose is at hand, so it is a refusal, not proof of who signed), then the
/// MAC in constant time ([`EnvelopeSignature`](TokenError::EnvelopeSignature)), and only then
/// the authenticated claims: subject ([`WrongSubject`](TokenError::WrongSubject)), issue time
/// ([`IssuedInFuture`](TokenError::IssuedInFuture), [`Expired`](TokenError::Expired)).
///
/// A valid envelope proves the server issued it; the host must still look up the inner
/// token's [`digest`](Token::digest) to check it was not used or revoked.
///
/// ```
/// use sigra_core::keys::SecretKeyBase;
/// use sigra_core::token::{EnvelopeKey, Token};
/// use time::{Duration, OffsetDateTime};
///
/// let base = SecretKeyBase::new(vec![42u8; 64])?;
/// let key = EnvelopeKey::derive(&base, "reset_password")?;
/// let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
///
/// let token = Token::generate()?;
/// let stored = token.digest(); // into user_tokens
/// let link = key.sign(&token, "user-123", now)?;
/// assert!(link.starts_with("v1."));
///
/// let later = now + Duration::minutes(10);
/// let verified = key.verify_for_subject(&link, "user-123", Duration::hours(1), later)?;
/// assert_eq!(verified.token.digest(), stored);
/// assert_eq!(verified.issued_at, now);
///
/// assert!(key.verify(&link, Duration::hours(1), now + Duration::hours(2)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct EnvelopeKey {
    purpose: String,
    key: DerivedKey,
}

impl std::fmt::Debug for EnvelopeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeKey")
            .field("purpose", &self.purpose)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// What a successful [`EnvelopeKey::verify`] returns: the inner token and the authenticated
/// claims. `Debug` redacts the token.
///
/// ```
/// # use sigra_core::{keys::SecretKeyBase, token::{EnvelopeKey, Token}};
/// # use time::{Duration, OffsetDateTime};
/// # let key = EnvelopeKey::derive(&SecretKeyBase::new(vec![1u8; 64])?, "confirm")?;
/// # let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
/// let link = key.sign(&Token::generate()?, "42", now)?;
/// let verified = key.verify(&link, Duration::hours(48), now)?;
/// assert_eq!(verified.subject, "42");
/// assert!(format!("{verified:?}").contains("REDACTED"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedEnvelope {
    /// The inner random token; look up its [`digest`](Token::digest).
    pub token: Token,
    /// The subject (user id) the envelope was issued for.
    pub subject: String,
    /// When the envelope was issued (whole seconds, UTC).
    pub issued_at: OffsetDateTime,
}

impl EnvelopeKey {
    /// Derives the key for `purpose` from the secret key base (HKDF label
    /// `token-envelope:<purpose>`).
    ///
    /// A purpose is 1 to 64 characters of `a-z 0-9 _ - . :`, for example `confirm`,
    /// `reset_password`, `magic_link`, `change_email`.
    ///
    /// ```
    /// use sigra_core::{keys::SecretKeyBase, token::EnvelopeKey};
    /// let base = SecretKeyBase::new(vec![1u8; 64])?;
    /// assert_eq!(EnvelopeKey::derive(&base, "magic_link")?.purpose(), "magic_link");
    /// assert!(EnvelopeKey::derive(&base, "Magic Link").is_err());
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn derive(base: &SecretKeyBase, purpose: &str) -> Result<Self, TokenError> {
        if !is_valid_purpose(purpose) {
            return Err(TokenError::InvalidPurpose);
        }
        let key = base.derive(&format!("{KEY_LABEL_PREFIX}{purpose}"))?;
        Ok(Self {
            purpose: purpose.to_owned(),
            key,
        })
    }

    /// The purpose this key signs and verifies.
    ///
    /// ```
    /// # use sigra_core::{keys::SecretKeyBase, token::EnvelopeKey};
    /// let key = EnvelopeKey::derive(&SecretKeyBase::new(vec![1u8; 64])?, "confirm")?;
    /// assert_eq!(key.purpose(), "confirm");
    /// # Ok::<(), sigra_core::token::TokenError>(())
    /// ```
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// Signs `token` for `subject` (1 to 255 bytes, e.g. the user id) at `issued_at`
    /// (truncated to whole seconds). Returns the URL-safe envelope text.
    ///
    /// ```
    /// # use sigra_core::{keys::SecretKeyBase, token::{EnvelopeKey, Token}};
    /// # use time::OffsetDateTime;
    /// # let key = EnvelopeKey::derive(&SecretKeyBase::new(vec![1u8; 64])?, "confirm")?;
    /// let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    /// let link = key.sign(&Token::generate()?, "7", now)?;
    /// assert!(link.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    /// assert!(key.sign(&Token::generate()?, "", now).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign(
        &self,
        token: &Token,
        subject: &str,
        issued_at: OffsetDateTime,
    ) -> Result<String, TokenError> {
        let subject_len = u8::try_from(subject.len())
            .ok()
            .filter(|len| *len > 0)
            .ok_or(TokenError::InvalidSubject)?;
        let purpose_len =
            u8::try_from(self.purpose.len()).map_err(|_| TokenError::InvalidPurpose)?;

        let mut payload = zeroize::Zeroizing::new(Vec::with_capacity(
            2 + self.purpose.len() + subject.len() + 8 + TOKEN_BYTES,
        ));
        payload.push(purpose_len);
        payload.extend_from_slice(self.purpose.as_bytes());
        payload.push(subject_len);
        payload.extend_from_slice(subject.as_bytes());
        payload.extend_from_slice(&issued_at.unix_timestamp().to_be_bytes());
        payload.extend_from_slice(token.as_bytes());

        let mut envelope = format!("{ENVELOPE_VERSION}.");
        URL_SAFE_NO_PAD.encode_string(payload.as_slice(), &mut envelope);
        let tag = self.mac(envelope.as_bytes())?;
        envelope.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut envelope);
        Ok(envelope)
    }

    /// Verifies an envelope of this key's purpose, issued at most `max_age` before `now`
    /// (and at most [`CLOCK_SKEW`] after it), for any subject. Returns the inner token and the
    /// claims.
    ///
    /// Total: any text returns a [`VerifiedEnvelope`] or a [`TokenError`] naming what was
    /// wrong (see the verification order on [`EnvelopeKey`]). Prefer
    /// [`verify_for_subject`](Self::verify_for_subject) when the user is already known.
    ///
    /// ```
    /// # use sigra_core::{keys::SecretKeyBase, token::{EnvelopeKey, Token, TokenError}};
    /// # use time::{Duration, OffsetDateTime};
    /// # let base = SecretKeyBase::new(vec![1u8; 64])?;
    /// let confirm = EnvelopeKey::derive(&base, "confirm")?;
    /// let reset = EnvelopeKey::derive(&base, "reset_password")?;
    /// let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    /// let link = confirm.sign(&Token::generate()?, "42", now)?;
    /// assert!(matches!(
    ///     reset.verify(&link, Duration::hours(1), now),
    ///     Err(TokenError::WrongPurpose { .. })
    /// ));
    /// assert!(matches!(
    ///     confirm.verify("not a token", Duration::hours(1), now),
    ///     Err(TokenError::EnvelopeMalformed)
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        envelope: &str,
        max_age: Duration,
        now: OffsetDateTime,
    ) -> Result<VerifiedEnvelope, TokenError> {
        self.verify_inner(envelope, None, max_age, now)
    }

    /// Like [`verify`](Self::verify), and also refuses an envelope issued for another
    /// subject with [`TokenError::WrongSubject`].
    ///
    /// ```
    /// # use sigra_core::{keys::SecretKeyBase, token::{EnvelopeKey, Token, TokenError}};
    /// # use time::{Duration, OffsetDateTime};
    /// # let key = EnvelopeKey::derive(&SecretKeyBase::new(vec![1u8; 64])?, "change_email")?;
    /// let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    /// let link = key.sign(&Token::generate()?, "alice", now)?;
    /// assert!(key.verify_for_subject(&link, "alice", Duration::days(1), now).is_ok());
    /// assert!(matches!(
    ///     key.verify_for_subject(&link, "mallory", Duration::days(1), now),
    ///     Err(TokenError::WrongSubject)
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_for_subject(
        &self,
        envelope: &str,
        subject: &str,
        max_age: Duration,
        now: OffsetDateTime,
    ) -> Result<VerifiedEnvelope, TokenError> {
        self.verify_inner(envelope, Some(subject), max_age, now)
    }

    fn verify_inner(
        &self,
        envelope: &str,
        expected_subject: Option<&str>,
        max_age: Duration,
        now: OffsetDateTime,
    ) -> Result<VerifiedEnvelope, TokenError> {
        let (signed, payload, mac_text) = split(envelope)?;
        let parsed = Payload::parse(&payload)?;
        if parsed.purpose != self.purpose.as_bytes() {
            return Err(TokenError::WrongPurpose {
                expected: self.purpose.clone(),
            });
        }

        let tag = URL_SAFE_NO_PAD
            .decode(mac_text)
            .map_err(|_| TokenError::EnvelopeMalformed)?;
        let expected_tag = self.mac(signed.as_bytes())?;
        if !bool::from(expected_tag.as_slice().ct_eq(tag.as_slice())) {
            return Err(TokenError::EnvelopeSignature);
        }

        // Authenticated from here on.
        let subject = std::str::from_utf8(parsed.subject)
            .map_err(|_| TokenError::EnvelopeMalformed)?
            .to_owned();
        if expected_subject.is_some_and(|expected| expected != subject) {
            return Err(TokenError::WrongSubject);
        }
        let issued = parsed.issued_at;
        let now_secs = now.unix_timestamp();
        let age = i128::from(now_secs) - i128::from(issued);
        if -age > i128::from(CLOCK_SKEW.whole_seconds()) {
            return Err(TokenError::IssuedInFuture);
        }
        if age > i128::from(max_age.whole_seconds()) {
            return Err(TokenError::Expired {
                age_secs: i64::try_from(age).unwrap_or(i64::MAX),
                max_age_secs: max_age.whole_seconds(),
            });
        }
        let issued_at = OffsetDateTime::from_unix_timestamp(issued)
            .map_err(|_| TokenError::EnvelopeMalformed)?;
        Ok(VerifiedEnvelope {
            token: Token::from_bytes(parsed.token),
            subject,
            issued_at,
        })
    }

    fn mac(&self, signed: &[u8]) -> Result<[u8; 32], TokenError> {
        // HMAC accepts keys of any length, so this never fails.
        let mut mac = HmacSha256::new_from_slice(self.key.as_bytes())
            .map_err(|_| TokenError::EnvelopeSignature)?;
        mac.update(signed);
        Ok(mac.finalize().into_bytes().into())
    }
}

/// Splits `v1.<payload>.<mac>` into (signed part `v1.<payload>`, decoded payload, mac text).
fn split(envelope: &str) -> Result<(&str, zeroize::Zeroizing<Vec<u8>>, &str), TokenError> {
    if envelope.len() > MAX_ENVELOPE_LEN {
        return Err(TokenError::EnvelopeMalformed);
    }
    let Some((version, rest)) = envelope.split_once('.') else {
        return Err(TokenError::EnvelopeMalformed);
    };
    if version != ENVELOPE_VERSION {
        let looks_versioned = version.strip_prefix('v').is_some_and(|n| {
            !n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit())
        });
        return Err(if looks_versioned {
            TokenError::EnvelopeVersion
        } else {
            TokenError::EnvelopeMalformed
        });
    }
    if !rest.chars().all(|c| is_base64url(c) || c == '.') {
        return Err(TokenError::EnvelopeMalformed);
    }
    let Some((payload_text, mac_text)) = rest.split_once('.') else {
        // `v1.` followed by a payload with no MAC: cut off.
        return Err(TokenError::EnvelopeTruncated);
    };
    if mac_text.contains('.') || payload_text.is_empty() {
        return Err(TokenError::EnvelopeMalformed);
    }
    if mac_text.len() < MAC_ENCODED_LEN {
        return Err(TokenError::EnvelopeTruncated);
    }
    if mac_text.len() > MAC_ENCODED_LEN {
        return Err(TokenError::EnvelopeMalformed);
    }
    let payload = zeroize::Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(payload_text)
            .map_err(|_| TokenError::EnvelopeMalformed)?,
    );
    let signed_len = ENVELOPE_VERSION.len() + 1 + payload_text.len();
    let signed = envelope
        .get(..signed_len)
        .ok_or(TokenError::EnvelopeMalformed)?;
    Ok((signed, payload, mac_text))
}

/// The decoded (not yet authenticated) fields of a v1 payload.
struct Payload<'a> {
    purpose: &'a [u8],
    subject: &'a [u8],
    issued_at: i64,
    token: [u8; TOKEN_BYTES],
}

impl<'a> Payload<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, TokenError> {
        let mut reader = Reader(bytes);
        let purpose_len = reader.byte()?;
        let purpose = reader.take(usize::from(purpose_len))?;
        let subject_len = reader.byte()?;
        let subject = reader.take(usize::from(subject_len))?;
        let issued_at = i64::from_be_bytes(reader.array::<8>()?);
        let token = reader.array::<TOKEN_BYTES>()?;
        if !reader.0.is_empty() {
            return Err(TokenError::EnvelopeMalformed);
        }
        let purpose_ok = std::str::from_utf8(purpose).is_ok_and(is_valid_purpose);
        if !purpose_ok || subject.is_empty() {
            return Err(TokenError::EnvelopeMalformed);
        }
        Ok(Self {
            purpose,
            subject,
            issued_at,
            token,
        })
    }
}

/// A cursor over the payload; running out of bytes means the envelope was cut short.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::EnvelopeTruncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, TokenError> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        self.take(N)?
            .try_into()
            .map_err(|_| TokenError::EnvelopeTruncated)
    }
}

/// 1 to 64 characters of `a-z 0-9 _ - . :`.
pub(super) fn is_valid_purpose(purpose: &str) -> bool {
    (1..=MAX_PURPOSE_LEN).contains(&purpose.len())
        && purpose
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(purpose: &str) -> EnvelopeKey {
        EnvelopeKey::derive(&SecretKeyBase::new(vec![3u8; 64]).unwrap(), purpose).unwrap()
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn longest_valid_envelope_fits_the_bound() {
        let k = key(&"p".repeat(MAX_PURPOSE_LEN));
        let token = Token::from_bytes([9; 32]);
        let env = k.sign(&token, &"s".repeat(MAX_SUBJECT_LEN), at(0)).unwrap();
        assert_eq!(env.len(), 529);
        assert!(env.len() <= MAX_ENVELOPE_LEN);
        assert!(k.verify(&env, Duration::seconds(1), at(0)).is_ok());
        assert!(matches!(
            k.sign(&token, &"s".repeat(MAX_SUBJECT_LEN + 1), at(0)),
            Err(TokenError::InvalidSubject)
        ));
    }

    #[test]
    fn age_boundaries() {
        let k = key("confirm");
        let env = k.sign(&Token::from_bytes([1; 32]), "u", at(1000)).unwrap();
        let hour = Duration::hours(1);
        assert!(k.verify(&env, hour, at(1000 + 3600)).is_ok());
        assert!(matches!(
            k.verify(&env, hour, at(1000 + 3601)),
            Err(TokenError::Expired {
                age_secs: 3601,
                max_age_secs: 3600
            })
        ));
        assert!(k.verify(&env, hour, at(1000 - 60)).is_ok());
        assert!(matches!(
            k.verify(&env, hour, at(1000 - 61)),
            Err(TokenError::IssuedInFuture)
        ));
    }

    #[test]
    fn shape_errors() {
        let k = key("confirm");
        let env = k.sign(&Token::from_bytes([1; 32]), "u", at(5)).unwrap();
        let (head, mac) = env.rsplit_once('.').unwrap();
        type Check = fn(&TokenError) -> bool;
        let cases: Vec<(String, Check)> = vec![
            (String::new(), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
            ("garbage".into(), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
            (env.replacen("v1.", "v2.", 1), |e| {
                matches!(e, TokenError::EnvelopeVersion)
            }),
            (env.replacen("v1.", "x1.", 1), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
            (head.to_owned(), |e| {
                matches!(e, TokenError::EnvelopeTruncated)
            }),
            (format!("{head}."), |e| {
                matches!(e, TokenError::EnvelopeTruncated)
            }),
            (format!("{head}.{}", &mac[..20]), |e| {
                matches!(e, TokenError::EnvelopeTruncated)
            }),
            (format!("{env}A"), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
            (format!("{env}.x"), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
            (format!("{env} "), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
            ("v1.".into(), |e| matches!(e, TokenError::EnvelopeTruncated)),
            (format!("v1..{mac}"), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
            ("a".repeat(MAX_ENVELOPE_LEN + 1), |e| {
                matches!(e, TokenError::EnvelopeMalformed)
            }),
        ];
        for (input, check) in cases {
            let err = k.verify(&input, Duration::hours(1), at(5)).unwrap_err();
            assert!(check(&err), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn payload_cut_short_is_truncated() {
        let k = key("confirm");
        let env = k.sign(&Token::from_bytes([1; 32]), "u", at(5)).unwrap();
        let (_, rest) = env.split_once('.').unwrap();
        let (payload, mac) = rest.split_once('.').unwrap();
        // Drop the last 4 characters (3 bytes) of the payload: it decodes, but is too short.
        let cut = &payload[..payload.len() - 4];
        let err = k
            .verify(&format!("v1.{cut}.{mac}"), Duration::hours(1), at(5))
            .unwrap_err();
        assert!(matches!(err, TokenError::EnvelopeTruncated), "{err:?}");
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", key("confirm"));
        assert!(shown.contains("confirm") && shown.contains("REDACTED"));
    }
}
