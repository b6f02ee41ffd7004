//! The accounts context: users and how they sign in.
//!
//! In a generated app this module also holds the `User` type and the functions the app's
//! handlers call; `store` is the part that talks to the database.

pub mod store;
