//! The crate-level error.

/// Any error sigra-core can return: one variant per module, each wrapping that module's own
/// error enum. Match on the variant when you need the detail; use `?` when you do not.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`crate::password::PasswordError`].
    #[error(transparent)]
    Password(#[from] crate::password::PasswordError),
    /// See [`crate::token::TokenError`].
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    /// See [`crate::keys::KeyError`].
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// See [`crate::encryption::EncryptionError`].
    #[error(transparent)]
    Encryption(#[from] crate::encryption::EncryptionError),
    /// See [`crate::totp::TotpError`].
    #[error(transparent)]
    Totp(#[from] crate::totp::TotpError),
    /// See [`crate::backup_code::BackupCodeError`].
    #[error(transparent)]
    BackupCode(#[from] crate::backup_code::BackupCodeError),
    /// See [`crate::jwt::JwtError`].
    #[error(transparent)]
    Jwt(#[from] crate::jwt::JwtError),
    /// See [`crate::api_token::ApiTokenError`].
    #[error(transparent)]
    ApiToken(#[from] crate::api_token::ApiTokenError),
    /// See [`crate::config::ConfigError`].
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// See [`crate::mail::MailError`].
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    /// See [`crate::store::StoreError`].
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// See [`crate::auth::AuthError`].
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// See [`crate::random::RandomError`].
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}
