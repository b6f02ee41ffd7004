//! Account lifecycle and audit.

/// What unconfirmed users may do.
///
/// ```
/// assert_eq!(sigra_core::config::UnconfirmedPolicy::default().as_str(), "allow");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnconfirmedPolicy {
    /// Log in and use the app, with a banner asking to confirm (the default).
    #[default]
    Allow,
    /// Refused until the email is confirmed.
    Block,
}

impl UnconfirmedPolicy {
    /// The lowercase name (`allow`, `block`).
    ///
    /// ```
    /// assert_eq!(sigra_core::config::UnconfirmedPolicy::Block.as_str(), "block");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Block => "block",
        }
    }
}

/// Account lifecycle (reference: unconfirmed users allowed with a banner).
///
/// ```
/// use sigra_core::config::{AccountConfig, UnconfirmedPolicy};
/// assert_eq!(AccountConfig::default().unconfirmed, UnconfirmedPolicy::Allow);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountConfig {
    /// What unconfirmed users may do. Default `Allow` (with a banner).
    pub unconfirmed: UnconfirmedPolicy,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            unconfirmed: UnconfirmedPolicy::Allow,
        }
    }
}

/// The audit log (reference: metadata capped at 8 KiB).
///
/// ```
/// assert_eq!(sigra_core::config::AuditConfig::default().metadata_max_bytes, 8192);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditConfig {
    /// Largest serialized metadata stored with one event, in bytes. Default 8192.
    pub metadata_max_bytes: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            metadata_max_bytes: 8 * 1024,
        }
    }
}
