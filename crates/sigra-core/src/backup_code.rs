//! Placeholder: being written.

/// Placeholder error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupCodeError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
