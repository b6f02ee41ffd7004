//! Placeholder: being written.

/// Placeholder error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
