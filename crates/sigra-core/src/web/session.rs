//! Loading the request's session, once, for every extractor.
//!
//! [`layers`](super::layers) reads the session cookie and calls
//! [`Sigra::authenticate`] exactly once per request (one indexed read; a throttled
//! `last_active_at` write), decides sudo mode at the same moment, and stores the outcome in
//! the request's extensions for [`CurrentUser`](super::CurrentUser),
//! [`RequireUser`](super::RequireUser) and [`RequireSudo`](super::RequireSudo).
//!
//! A store failure is logged and remembered as "unavailable": public pages still render
//! (the visitor reads as logged out), guarded routes answer 500 rather than sending a
//! logged-in user to the login page.

use super::extract::LoadedSession;
use crate::auth::Sigra;
use crate::store::Store;

/// Looks up the session behind `cookie_value` (when the request has one).
pub(crate) async fn load<S: Store>(sigra: &Sigra<S>, cookie_value: Option<&str>) -> LoadedSession {
    let Some(value) = cookie_value else {
        return LoadedSession::Anonymous;
    };
    match sigra.authenticate_shared(value).await {
        Ok(Some(auth)) => {
            let sudo = sigra.in_sudo(&auth);
            LoadedSession::User { auth, sudo }
        }
        Ok(None) => LoadedSession::Anonymous,
        Err(err) => {
            tracing::error!(target: "sigra::web", error = %err, detail = ?err, "loading the session failed");
            LoadedSession::Unavailable
        }
    }
}
