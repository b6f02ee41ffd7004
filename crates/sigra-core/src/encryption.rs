//! Placeholder: being written.

/// Placeholder error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
