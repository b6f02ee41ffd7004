//! Placeholder: being written.

/// Placeholder error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
