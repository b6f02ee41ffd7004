//! Placeholder: being written.

/// Placeholder error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiTokenError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
