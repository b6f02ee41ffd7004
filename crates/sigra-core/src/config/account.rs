//! Account lifecycle, impersonation, organizations and audit.

use super::units::{days, mins};
use std::time::Duration;

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

/// How a deleted account is removed once its grace period ends.
///
/// ```
/// assert_eq!(sigra_core::config::DeletionMode::default().as_str(), "soft");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeletionMode {
    /// Mark the row deleted (`deleted_at`) and keep it (the default).
    #[default]
    Soft,
    /// Delete the row and what hangs off it.
    Hard,
    /// Keep the row but replace personal data.
    Anonymize,
}

impl DeletionMode {
    /// The lowercase name (`soft`, `hard`, `anonymize`).
    ///
    /// ```
    /// assert_eq!(sigra_core::config::DeletionMode::Anonymize.as_str(), "anonymize");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Soft => "soft",
            Self::Hard => "hard",
            Self::Anonymize => "anonymize",
        }
    }
}

/// Account lifecycle (reference: unconfirmed users allowed with a banner; soft deletion after
/// a 14-day grace period that the user can cancel).
///
/// ```
/// let a = sigra_core::config::AccountConfig::default();
/// assert_eq!(a.deletion_grace.as_secs(), 14 * 86_400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountConfig {
    /// What unconfirmed users may do. Default `Allow` (with a banner).
    pub unconfirmed: UnconfirmedPolicy,
    /// How accounts are deleted. Default `Soft`.
    pub deletion_mode: DeletionMode,
    /// Time between a deletion request and the deletion, during which it can be cancelled
    /// (0 = at once). Default 14 days.
    pub deletion_grace: Duration,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            unconfirmed: UnconfirmedPolicy::Allow,
            deletion_mode: DeletionMode::Soft,
            deletion_grace: days(14),
        }
    }
}

/// Admin impersonation (reference: 15 min idle, 30 min absolute).
///
/// ```
/// let i = sigra_core::config::ImpersonationConfig::default();
/// assert_eq!((i.idle_timeout.as_secs(), i.absolute_timeout.as_secs()), (900, 1800));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImpersonationConfig {
    /// An impersonation ends after this long without a request. Default 15 min.
    pub idle_timeout: Duration,
    /// An impersonation ends this long after it started. Default 30 min.
    pub absolute_timeout: Duration,
}

impl Default for ImpersonationConfig {
    fn default() -> Self {
        Self {
            idle_timeout: mins(15),
            absolute_timeout: mins(30),
        }
    }
}

/// Organizations (reference: an old slug redirects for 7 days).
///
/// ```
/// let o = sigra_core::config::OrganizationConfig::default();
/// assert_eq!(o.slug_alias_ttl.as_secs(), 7 * 86_400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrganizationConfig {
    /// How long a renamed organization's old slug keeps redirecting (0 = not at all).
    /// Default 7 days.
    pub slug_alias_ttl: Duration,
}

impl Default for OrganizationConfig {
    fn default() -> Self {
        Self {
            slug_alias_ttl: days(7),
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
