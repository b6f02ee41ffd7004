//! MFA backup codes: eight one-time codes like `7KQ2-M9XD`, stored as keyed digests.
//!
//! # Alphabet
//!
//! Codes use Crockford's base32 alphabet, `0123456789ABCDEFGHJKMNPQRSTVWXYZ`: 32 symbols, so
//! each character carries exactly 5 bits and a code of 8 characters carries 40 bits, drawn
//! as 5 bytes from the CSPRNG and cut into 5-bit groups (uniform, no rejection needed, no
//! bias). Letters that are easily misread are handled on input instead of being dropped:
//! the alphabet has no `I`, `L` or `O`, and input maps `O`→`0` and `I`/`L`→`1`, so in every
//! confusable group (0/O, 1/I/L) exactly one symbol is in the alphabet and every reading of
//! it is accepted. (Dropping 0, O, 1, I and L outright leaves only 31 alphanumerics, which
//! would break the 5-bits-per-character property.) `U` is not in the alphabet (Crockford's
//! choice, against accidental words) and is refused if typed.
//!
//! Input is case-insensitive; whitespace and dashes are ignored anywhere.
//!
//! # Storage
//!
//! 40 bits is plenty against online guessing (MFA lockout allows a handful of tries) but not
//! against an offline search: an unkeyed SHA-256 of every possible code is 2^40 hashes, hours
//! on one GPU. So the stored value is a keyed digest, HMAC-SHA256 under a key derived from the
//! secret key base with the label `backup-code` ([`BackupCodeKey`]): a database leak alone
//! reveals nothing. (If the secret key base leaks too, each code again costs 2^40 work: then
//! regenerate everyone's codes along with rotating the secret.)
//!
//! # Consumption
//!
//! [`BackupCodeKey::verify`] compares the input with every unused stored digest, without
//! stopping at a match, and returns the index of the one that matched. The host then marks
//! that row used with a single compare-and-set (`UPDATE … SET used_at = now WHERE id = ? AND
//! used_at IS NULL`) and treats zero rows updated as a failed attempt, so a code is consumed
//! exactly once even under concurrent requests.
//!
//! ```
//! use sigra_core::backup_code::BackupCodeKey;
//! use sigra_core::keys::SecretKeyBase;
//!
//! let key = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?;
//! let set = key.generate_set()?;
//! let shown: Vec<String> = set.formatted();      // show once to the user
//! let stored = set.digests().to_vec();           // store, one row each
//!
//! let typed = shown[3].to_lowercase().replace('-', " ");
//! assert_eq!(key.verify(&typed, &stored)?, 3);   // mark row 3 used
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use subtle::{Choice, ConditionallySelectable as _, ConstantTimeEq as _};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::{DerivedKey, SecretKeyBase};
use crate::token::TokenDigest;

/// The symbols of a backup code (Crockford base32): index = 5-bit value.
pub const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How many codes [`BackupCodeKey::generate_set`] makes: 8.
pub const CODES_PER_SET: usize = 8;

/// Symbols in one code: 8 (40 bits), shown as `XXXX-XXXX`.
pub const CODE_LEN: usize = 8;

/// The key-derivation label of [`BackupCodeKey`].
pub const KEY_LABEL: &str = "backup-code";

/// Errors from backup codes. No message contains the code typed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupCodeError {
    /// Nothing was entered (after removing spaces and dashes).
    #[error("no backup code was entered")]
    Empty,
    /// A character that cannot be part of a backup code was entered.
    #[error(
        "a backup code contains only the letters and digits shown (spaces and dashes are ignored); the character at index {position} is not one of them"
    )]
    InvalidCharacter {
        /// The 0-based index (in characters of the input) of the first bad character.
        position: usize,
    },
    /// The wrong number of symbols was entered.
    #[error("a backup code has {CODE_LEN} letters and digits; {found} were entered")]
    Length {
        /// The number of symbols entered.
        found: usize,
    },
    /// The code is well-formed but matches none of the stored (unused) codes.
    #[error("the backup code is not correct or has already been used")]
    NoMatch,
    /// Deriving the key failed.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The operating system's random number generator failed.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}

/// One backup code: 8 symbols of [`ALPHABET`]. Zeroed on drop; `Debug` is redacted.
///
/// ```
/// use sigra_core::backup_code::BackupCode;
/// let code = BackupCode::parse("7kq2 m9xd")?;
/// assert_eq!(code.formatted(), "7KQ2-M9XD");
/// assert_eq!(BackupCode::parse("oil0-0000")?.formatted(), "0110-0000");
/// assert_eq!(format!("{code:?}"), "BackupCode([REDACTED])");
/// # Ok::<(), sigra_core::backup_code::BackupCodeError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BackupCode([u8; CODE_LEN]);

impl BackupCode {
    /// Draws a new code: 40 bits from the CSPRNG, 5 bits per symbol.
    ///
    /// ```
    /// let code = sigra_core::backup_code::BackupCode::generate()?;
    /// let text = code.formatted();
    /// assert_eq!(text.len(), 9);
    /// assert_eq!(text.as_bytes()[4], b'-');
    /// # Ok::<(), sigra_core::backup_code::BackupCodeError>(())
    /// ```
    pub fn generate() -> Result<Self, BackupCodeError> {
        let mut bytes = crate::random::bytes::<5>()?;
        let mut bits = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        bytes.zeroize();
        let mut code = [0u8; CODE_LEN];
        for slot in code.iter_mut().rev() {
            *slot = symbol(bits & 0x1f);
            bits >>= 5;
        }
        Ok(Self(code))
    }

    /// Normalises what a user typed (see the module docs: case-insensitive, spaces and dashes
    /// ignored, `O`→`0`, `I`/`L`→`1`).
    ///
    /// Total: returns the code, or [`BackupCodeError::Empty`],
    /// [`BackupCodeError::InvalidCharacter`] or [`BackupCodeError::Length`].
    ///
    /// ```
    /// use sigra_core::backup_code::{BackupCode, BackupCodeError};
    /// assert!(BackupCode::parse("ABCD-EFGH").is_ok());
    /// assert!(matches!(BackupCode::parse("ABCD-EFG"), Err(BackupCodeError::Length { found: 7 })));
    /// assert!(matches!(BackupCode::parse("ABCD-EFGU"), Err(BackupCodeError::InvalidCharacter { position: 8 })));
    /// ```
    pub fn parse(input: &str) -> Result<Self, BackupCodeError> {
        let mut code = [0u8; CODE_LEN];
        let mut found = 0usize;
        for (position, c) in input.chars().enumerate() {
            if crate::token::is_separator(c) {
                continue;
            }
            let Some(sym) = canonical(c) else {
                code.zeroize();
                return Err(BackupCodeError::InvalidCharacter { position });
            };
            if let Some(slot) = code.get_mut(found) {
                *slot = sym;
            }
            found = found.saturating_add(1);
        }
        if found != CODE_LEN {
            code.zeroize();
            return Err(if found == 0 {
                BackupCodeError::Empty
            } else {
                BackupCodeError::Length { found }
            });
        }
        Ok(Self(code))
    }

    /// The code as shown to the user, `XXXX-XXXX`. This is the secret itself: never log it.
    ///
    /// ```
    /// # let code = sigra_core::backup_code::BackupCode::parse("abcdefgh")?;
    /// assert_eq!(code.formatted(), "ABCD-EFGH");
    /// # Ok::<(), sigra_core::backup_code::BackupCodeError>(())
    /// ```
    pub fn formatted(&self) -> String {
        let mut out = String::with_capacity(CODE_LEN + 1);
        for (i, &b) in self.0.iter().enumerate() {
            if i == CODE_LEN / 2 {
                out.push('-');
            }
            out.push(char::from(b));
        }
        out
    }

    /// The 8 symbols without the dash (what the digest is computed over).
    ///
    /// ```
    /// # let code = sigra_core::backup_code::BackupCode::parse("abcd-efgh")?;
    /// assert_eq!(code.canonical(), "ABCDEFGH");
    /// # Ok::<(), sigra_core::backup_code::BackupCodeError>(())
    /// ```
    pub fn canonical(&self) -> &str {
        // Only ASCII symbols of ALPHABET are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupCode([REDACTED])")
    }
}

impl PartialEq for BackupCode {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for BackupCode {}

/// A freshly generated set: [`CODES_PER_SET`] distinct codes and their digests, in the same
/// order. Show the codes once; store the digests.
///
/// ```
/// # use sigra_core::{backup_code::BackupCodeKey, keys::SecretKeyBase};
/// # let key = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?;
/// let set = key.generate_set()?;
/// assert_eq!(set.codes().len(), 8);
/// assert_eq!(set.digests().len(), 8);
/// assert_eq!(key.digest(&set.codes()[0]), set.digests()[0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct BackupCodeSet {
    codes: Vec<BackupCode>,
    digests: Vec<TokenDigest>,
}

impl BackupCodeSet {
    /// The codes, to show the user once.
    ///
    /// ```
    /// # use sigra_core::{backup_code::BackupCodeKey, keys::SecretKeyBase};
    /// # let set = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?.generate_set()?;
    /// assert!(set.codes().iter().all(|c| c.canonical().len() == 8));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn codes(&self) -> &[BackupCode] {
        &self.codes
    }

    /// The codes formatted `XXXX-XXXX`.
    ///
    /// ```
    /// # use sigra_core::{backup_code::BackupCodeKey, keys::SecretKeyBase};
    /// # let set = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?.generate_set()?;
    /// assert!(set.formatted().iter().all(|c| c.len() == 9));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn formatted(&self) -> Vec<String> {
        self.codes.iter().map(BackupCode::formatted).collect()
    }

    /// The keyed digests, to store (one row per code).
    ///
    /// ```
    /// # use sigra_core::{backup_code::BackupCodeKey, keys::SecretKeyBase};
    /// # let set = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?.generate_set()?;
    /// assert_eq!(set.digests().len(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn digests(&self) -> &[TokenDigest] {
        &self.digests
    }
}

/// The key that digests and verifies backup codes: HMAC-SHA256 under the key derived with
/// the label [`KEY_LABEL`] (`backup-code`). See the module docs for why it is keyed.
///
/// ```
/// use sigra_core::{backup_code::{BackupCode, BackupCodeKey}, keys::SecretKeyBase};
/// let key = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?;
/// let code = BackupCode::parse("ABCD-EFGH")?;
/// assert_eq!(key.digest(&code), key.digest(&BackupCode::parse("abcdefgh")?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BackupCodeKey {
    key: DerivedKey,
}

impl std::fmt::Debug for BackupCodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupCodeKey([REDACTED])")
    }
}

impl BackupCodeKey {
    /// Derives the key from the secret key base.
    ///
    /// ```
    /// # use sigra_core::{backup_code::BackupCodeKey, keys::SecretKeyBase};
    /// let key = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?;
    /// assert_eq!(format!("{key:?}"), "BackupCodeKey([REDACTED])");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn derive(base: &SecretKeyBase) -> Result<Self, BackupCodeError> {
        Ok(Self {
            key: base.derive(KEY_LABEL)?,
        })
    }

    /// The digest to store: HMAC-SHA256 over the 8 canonical symbols (uppercase, no dash).
    ///
    /// ```
    /// # use sigra_core::{backup_code::{BackupCode, BackupCodeKey}, keys::SecretKeyBase};
    /// # let key = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?;
    /// let d = key.digest(&BackupCode::parse("ABCD-EFGH")?);
    /// assert_eq!(d.to_hex().len(), 64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn digest(&self, code: &BackupCode) -> TokenDigest {
        TokenDigest::from_bytes(crate::token::keyed_digest(self.key.as_bytes(), &code.0))
    }

    /// Generates [`CODES_PER_SET`] distinct codes and their digests.
    ///
    /// ```
    /// # use sigra_core::{backup_code::BackupCodeKey, keys::SecretKeyBase};
    /// # let key = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?;
    /// let set = key.generate_set()?;
    /// let mut shown = set.formatted();
    /// shown.sort();
    /// shown.dedup();
    /// assert_eq!(shown.len(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generate_set(&self) -> Result<BackupCodeSet, BackupCodeError> {
        let mut codes: Vec<BackupCode> = Vec::with_capacity(CODES_PER_SET);
        while codes.len() < CODES_PER_SET {
            let code = BackupCode::generate()?;
            // A repeat has probability about 28 / 2^40; redraw rather than hand out a
            // duplicate (the host could then consume only one row for two shown codes).
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        let digests = codes.iter().map(|c| self.digest(c)).collect();
        Ok(BackupCodeSet { codes, digests })
    }

    /// Checks what a user typed against the stored digests of the user's unused codes.
    ///
    /// Normalises the input ([`BackupCode::parse`]), computes its digest, and compares it
    /// in constant time with every entry of `stored`, always scanning all of them. Returns
    /// the index in `stored` of the (first) match, for the host to mark used atomically;
    /// [`BackupCodeError::NoMatch`] if none matched. Any error is a failed attempt.
    ///
    /// ```
    /// # use sigra_core::{backup_code::{BackupCode, BackupCodeError, BackupCodeKey}, keys::SecretKeyBase};
    /// # let key = BackupCodeKey::derive(&SecretKeyBase::new(vec![7u8; 64])?)?;
    /// let set = key.generate_set()?;
    /// let typed = set.codes()[5].formatted();
    /// assert_eq!(key.verify(&typed, set.digests())?, 5);
    /// assert!(matches!(key.verify(&typed, &set.digests()[..5]), Err(BackupCodeError::NoMatch)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self, input: &str, stored: &[TokenDigest]) -> Result<usize, BackupCodeError> {
        let typed = self.digest(&BackupCode::parse(input)?);
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, digest) in stored.iter().enumerate() {
            let matches = typed.ct_eq(digest);
            let first = matches & !found;
            index.conditional_assign(&u64::try_from(i).unwrap_or(u64::MAX), first);
            found |= matches;
        }
        if bool::from(found) {
            usize::try_from(index).map_err(|_| BackupCodeError::NoMatch)
        } else {
            Err(BackupCodeError::NoMatch)
        }
    }
}

/// The ASCII symbol for a 5-bit value.
fn symbol(value: u64) -> u8 {
    usize::try_from(value)
        .ok()
        .and_then(|i| ALPHABET.as_bytes().get(i))
        .copied()
        .unwrap_or(b'0')
}

/// The canonical symbol for a typed character: uppercase, `O`→`0`, `I`/`L`→`1`; `None` if it
/// is not part of the alphabet.
fn canonical(c: char) -> Option<u8> {
    let upper = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    let byte = u8::try_from(upper).ok()?;
    ALPHABET.as_bytes().contains(&byte).then_some(byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BackupCodeKey {
        BackupCodeKey::derive(&SecretKeyBase::new(vec![2u8; 64]).unwrap()).unwrap()
    }

    #[test]
    fn alphabet_is_32_unambiguous_symbols() {
        assert_eq!(ALPHABET.len(), 32);
        let mut sorted: Vec<u8> = ALPHABET.bytes().collect();
        sorted.dedup();
        assert_eq!(sorted.len(), 32);
        for c in ['I', 'L', 'O', 'U'] {
            assert!(!ALPHABET.contains(c));
        }
    }

    #[test]
    fn every_symbol_round_trips_and_confusables_map() {
        for c in ALPHABET.chars() {
            assert_eq!(canonical(c), u8::try_from(c).ok());
            assert_eq!(canonical(c.to_ascii_lowercase()), u8::try_from(c).ok());
        }
        assert_eq!(canonical('o'), Some(b'0'));
        assert_eq!(canonical('O'), Some(b'0'));
        assert_eq!(canonical('i'), Some(b'1'));
        assert_eq!(canonical('l'), Some(b'1'));
        assert_eq!(canonical('u'), None);
        assert_eq!(canonical('é'), None);
        assert_eq!(canonical('\u{0130}'), None); // dotted capital I
    }

    #[test]
    fn parse_errors() {
        assert!(matches!(BackupCode::parse(""), Err(BackupCodeError::Empty)));
        assert!(matches!(
            BackupCode::parse(" - "),
            Err(BackupCodeError::Empty)
        ));
        assert!(matches!(
            BackupCode::parse("ABCD-EFGHJ"),
            Err(BackupCodeError::Length { found: 9 })
        ));
        assert!(matches!(
            BackupCode::parse("AB!D-EFGH"),
            Err(BackupCodeError::InvalidCharacter { position: 2 })
        ));
        assert_eq!(
            BackupCode::parse(" ab cd\u{2013}ef gh\n")
                .unwrap()
                .formatted(),
            "ABCD-EFGH"
        );
    }

    #[test]
    fn verify_finds_the_index_and_handles_duplicates() {
        let k = key();
        let a = BackupCode::parse("AAAA-AAAA").unwrap();
        let b = BackupCode::parse("BBBB-BBBB").unwrap();
        let stored = [k.digest(&b), k.digest(&a), k.digest(&a)];
        assert_eq!(k.verify("aaaaaaaa", &stored).unwrap(), 1);
        assert_eq!(k.verify("bbbb bbbb", &stored).unwrap(), 0);
        assert!(matches!(
            k.verify("CCCC-CCCC", &stored),
            Err(BackupCodeError::NoMatch)
        ));
        assert!(matches!(
            k.verify("AAAA-AAAA", &[]),
            Err(BackupCodeError::NoMatch)
        ));
    }

    #[test]
    fn digest_is_keyed() {
        let code = BackupCode::parse("ABCD-EFGH").unwrap();
        let other = BackupCodeKey::derive(&SecretKeyBase::new(vec![3u8; 64]).unwrap()).unwrap();
        assert_ne!(key().digest(&code), other.digest(&code));
        assert_ne!(key().digest(&code), TokenDigest::sha256(b"ABCDEFGH"));
    }
}
