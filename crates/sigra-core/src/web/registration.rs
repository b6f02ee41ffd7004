//! The registration cookie: the registering browser's [`RegistrationProof`], so that
//! confirming in the same browser keeps the password chosen at registration.
//!
//! `HttpOnly`, `Path=/`, `SameSite=Lax`, `Secure` and `__Host-` prefixed exactly like the
//! session cookie, with `Max-Age` = `tokens.confirm_ttl` (the confirmation link's lifetime: the
//! proof is useless after it). Confirming clears it.
//!
//! [`RegistrationProof`]: crate::auth::RegistrationProof

use crate::auth::{RegistrationProof, Sigra};
use crate::config::SameSite;
use crate::session::write_set_cookie;
use crate::store::Store;

use super::cookies::{CookieNames, CookieSource, SetCookie, find_cookie};

/// The cookie's name without the `__Host-` prefix.
pub const REGISTRATION_COOKIE: &str = "sigra_registration";

/// The cookie's name (`__Host-` prefixed exactly like the session cookie) and whether it is
/// `Secure`, from the same [`CookieNames`] the layer uses.
fn name<S: Store>(sigra: &Sigra<S>) -> (String, bool) {
    let names = CookieNames::new(sigra.config().cookie());
    (names.registration, names.secure)
}

/// The `Set-Cookie` that keeps `proof` in the registering browser.
///
/// ```ignore
/// let proof = sigra.register(&form.email, &password, &meta).await?;
/// (registration_cookie(&sigra, &proof), Redirect::to("/users/confirm")).into_response()
/// ```
pub fn registration_cookie<S: Store>(sigra: &Sigra<S>, proof: &RegistrationProof) -> SetCookie {
    let (name, secure) = name(sigra);
    let max_age = sigra.config().tokens().confirm_ttl;
    SetCookie::from_string(write_set_cookie(
        &name,
        proof.as_str(),
        secure,
        SameSite::Lax,
        Some(max_age),
    ))
}

/// The `Set-Cookie` that deletes the registration cookie (after confirming).
///
/// ```ignore
/// (clear_registration_cookie(&sigra), session_cookie(&sigra, &logged_in), Redirect::to("/"))
/// ```
pub fn clear_registration_cookie<S: Store>(sigra: &Sigra<S>) -> SetCookie {
    let (name, secure) = name(sigra);
    SetCookie::from_string(write_set_cookie(
        &name,
        "",
        secure,
        SameSite::Lax,
        Some(std::time::Duration::ZERO),
    ))
}

/// The registration cookie's value in a request, if any: pass it to
/// [`ConfirmEvidence::registration`](crate::auth::ConfirmEvidence::registration).
///
/// ```ignore
/// let evidence = ConfirmEvidence::none().registration(registration_cookie_value(&headers, &sigra));
/// ```
pub fn registration_cookie_value<S: Store>(
    from: &impl CookieSource,
    sigra: &Sigra<S>,
) -> Option<String> {
    let (name, _) = name(sigra);
    find_cookie(from.cookie_headers(), &name).filter(|v| !v.is_empty())
}
