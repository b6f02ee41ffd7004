//! Placeholder: being written.

/// Placeholder error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
