use std::fmt;
use std::str::FromStr;

/// A row id as the app's schema defines it: UUID v7 (the default, `--binary-id`) or a 64-bit
/// integer (`--no-binary-id`).
///
/// One app uses one kind throughout; its generated store binds the variant it uses and
/// reports [`StoreError::Corrupt`](super::StoreError::Corrupt) if handed the other.
///
/// ```
/// use sigra_core::store::Id;
/// let id: Id = "42".parse()?;
/// assert_eq!(id, Id::Int(42));
/// let id: Id = "0190f0e4-7f3c-7cc2-9a4e-1c2d3e4f5a6b".parse()?;
/// assert!(matches!(id, Id::Uuid(_)));
/// assert_eq!(id.to_string(), "0190f0e4-7f3c-7cc2-9a4e-1c2d3e4f5a6b");
/// # Ok::<(), sigra_core::store::IdError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// A UUID (v7 when sigra-core makes it).
    Uuid(uuid::Uuid),
    /// A 64-bit integer key.
    Int(i64),
}

/// A string that is neither a UUID nor a 64-bit integer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid id: expected a UUID or an integer")]
pub struct IdError;

impl Id {
    /// A new time-ordered UUID v7 id.
    ///
    /// ```
    /// let a = sigra_core::store::Id::new_v7();
    /// let b = sigra_core::store::Id::new_v7();
    /// assert_ne!(a, b);
    /// ```
    pub fn new_v7() -> Self {
        Self::Uuid(uuid::Uuid::now_v7())
    }

    /// The UUID, if this is one.
    ///
    /// ```
    /// assert!(sigra_core::store::Id::Int(1).as_uuid().is_none());
    /// ```
    pub fn as_uuid(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Uuid(u) => Some(*u),
            Self::Int(_) => None,
        }
    }

    /// The integer, if this is one.
    ///
    /// ```
    /// assert_eq!(sigra_core::store::Id::Int(7).as_int(), Some(7));
    /// ```
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Uuid(_) => None,
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uuid(u) => write!(f, "{}", u.hyphenated()),
            Self::Int(i) => write!(f, "{i}"),
        }
    }
}

impl FromStr for Id {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 64 {
            return Err(IdError);
        }
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Self::Int(i));
        }
        uuid::Uuid::parse_str(s)
            .map(Self::Uuid)
            .map_err(|_| IdError)
    }
}

impl From<uuid::Uuid> for Id {
    fn from(u: uuid::Uuid) -> Self {
        Self::Uuid(u)
    }
}

impl From<i64> for Id {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}
