//! The accounts context: who the users are and every flow that changes them.
//!
//! Security decisions (hashing, tokens, lockout, session validity) are made by
//! [`sigra_core::auth::Sigra`]; this module names it for the app and keeps the SQL that
//! stores its data in [`store`]. Add your own account functions here.

pub mod store;

use sigra_core::auth::Sigra;
use sigra_core::store::{Id, UserRecord};
use time::OffsetDateTime;

use self::store::AccountsStore;

/// The app's authentication context over its SQL store. Cheap to clone.
pub type Accounts = Sigra<AccountsStore>;

/// A user as the app shows it. Add the columns your app adds to `users`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: Id,
    /// Email address, as the user typed it.
    pub email: String,
    /// When the email address was confirmed (`None`: not yet).
    pub confirmed_at: Option<OffsetDateTime>,
    /// When the password was last changed by the user.
    pub password_changed_at: Option<OffsetDateTime>,
    /// When the account was created.
    pub created_at: OffsetDateTime,
}

impl User {
    /// Whether the email address is confirmed.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

impl From<UserRecord> for User {
    fn from(record: UserRecord) -> Self {
        Self {
            id: record.id,
            email: record.email,
            confirmed_at: record.confirmed_at,
            password_changed_at: record.password_changed_at,
            created_at: record.created_at,
        }
    }
}
