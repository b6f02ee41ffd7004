//! One-shot messages across a redirect ("Account created", "Invalid link"), in a signed
//! cookie.
//!
//! A handler sets a message with [`Flash::info`] or [`Flash::error`] as a response part;
//! [`layers`](super::layers) signs it into the `__Host-sigra_flash` cookie. The next request
//! that extracts [`Flash`] reads it, and the layer deletes the cookie on that response, so
//! each message shows once. Requests that do not extract `Flash` (an image, a `fetch`)
//! leave it for the page that does.
//!
//! The cookie is `base64url(json) "." base64url(HMAC-SHA256(key, "sigra-flash.v1." json))`
//! with a key derived from the secret key base: another site, a subdomain or a user editing
//! cookies cannot put words in the app's mouth. A cookie that does not verify is ignored and
//! deleted. Messages are clamped to [`MAX_FLASH_BYTES`] each so the cookie stays well under
//! browsers' 4 KiB limit.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponseParts, ResponseParts};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq as _;

use super::extract::SigraRejection;
use crate::keys::DerivedKey;

/// The longest message kept, in bytes (longer ones are cut on a character boundary).
pub const MAX_FLASH_BYTES: usize = 1024;

/// The longest flash cookie value read; anything longer is ignored.
const MAX_COOKIE_LEN: usize = 4096;

const MAC_CONTEXT: &[u8] = b"sigra-flash.v1.";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The messages carried by a flash cookie.
///
/// ```
/// use sigra_core::web::FlashMessages;
/// let messages = FlashMessages::default();
/// assert!(messages.is_empty());
/// assert_eq!(messages.info(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlashMessages {
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    info: Option<String>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl FlashMessages {
    /// The informational message, if any.
    ///
    /// ```ignore
    /// if let Some(msg) = flash.info() { /* show a green banner */ }
    /// ```
    pub fn info(&self) -> Option<&str> {
        self.info.as_deref()
    }

    /// The error message, if any.
    ///
    /// ```ignore
    /// if let Some(msg) = flash.error() { /* show a red banner */ }
    /// ```
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether there is no message.
    ///
    /// ```
    /// assert!(sigra_core::web::FlashMessages::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.info.is_none() && self.error.is_none()
    }
}

/// The flash messages of this request, and the constructors for the next one's.
///
/// As an extractor it reads the flash cookie and has the layer delete it on this response;
/// `.info()` and `.error()` (through `Deref` to [`FlashMessages`]) give the messages. It
/// rejects (naming the fix) only when [`layers`](super::layers) is not installed.
///
/// [`Flash::info`]`(msg)` and [`Flash::error`]`(msg)` build a [`SetFlash`] response part:
///
/// ```ignore
/// async fn show(flash: Flash) -> Html<String> {
///     Html(format!("{}", flash.info().unwrap_or("")))
/// }
/// async fn create() -> impl IntoResponse {
///     (Flash::info("Account created"), Redirect::to("/"))
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flash {
    messages: FlashMessages,
}

impl Flash {
    /// An informational message for the next request (a response part).
    ///
    /// ```
    /// use axum::response::{IntoResponse, Redirect};
    /// use sigra_core::web::Flash;
    /// let response = (Flash::info("Saved"), Redirect::to("/")).into_response();
    /// assert_eq!(response.status(), 303);
    /// ```
    pub fn info(message: impl Into<String>) -> SetFlash {
        SetFlash(FlashMessages {
            info: Some(clamp(message.into())),
            error: None,
        })
    }

    /// An error message for the next request (a response part).
    ///
    /// ```
    /// use axum::response::{IntoResponse, Redirect};
    /// let response = (sigra_core::web::Flash::error("Invalid link"), Redirect::to("/")).into_response();
    /// assert_eq!(response.status(), 303);
    /// ```
    pub fn error(message: impl Into<String>) -> SetFlash {
        SetFlash(FlashMessages {
            info: None,
            error: Some(clamp(message.into())),
        })
    }

    /// The messages, owned.
    ///
    /// ```ignore
    /// let messages = flash.into_messages();
    /// ```
    pub fn into_messages(self) -> FlashMessages {
        self.messages
    }
}

impl Deref for Flash {
    type Target = FlashMessages;

    fn deref(&self) -> &FlashMessages {
        &self.messages
    }
}

/// What the layer put in the request for [`Flash`]: the verified messages and a flag the
/// extractor raises so the layer deletes the cookie.
#[derive(Clone, Debug)]
pub(crate) struct FlashSlot {
    pub(crate) messages: FlashMessages,
    pub(crate) consumed: Arc<AtomicBool>,
}

impl<St: Send + Sync> FromRequestParts<St> for Flash {
    type Rejection = SigraRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let slot = parts
            .extensions
            .get::<FlashSlot>()
            .ok_or_else(SigraRejection::layer_missing)?;
        slot.consumed.store(true, Ordering::Relaxed);
        Ok(Flash {
            messages: slot.messages.clone(),
        })
    }
}

/// A flash message to set: a response part made by [`Flash::info`] or [`Flash::error`].
/// Several in one response merge (one info and one error at most; the later wins).
///
/// ```
/// use axum::response::IntoResponse;
/// use sigra_core::web::Flash;
/// let response = (Flash::info("a"), Flash::error("b"), "body").into_response();
/// assert_eq!(response.status(), 200);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetFlash(FlashMessages);

/// The messages a response asked for, left in its extensions for the layer to sign.
#[derive(Clone, Debug)]
pub(crate) struct PendingFlash(pub(crate) FlashMessages);

impl IntoResponseParts for SetFlash {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        let mut pending = res
            .extensions_mut()
            .remove::<PendingFlash>()
            .map(|p| p.0)
            .unwrap_or_default();
        if self.0.info.is_some() {
            pending.info = self.0.info;
        }
        if self.0.error.is_some() {
            pending.error = self.0.error;
        }
        res.extensions_mut().insert(PendingFlash(pending));
        Ok(res)
    }
}

fn clamp(mut message: String) -> String {
    if message.len() > MAX_FLASH_BYTES {
        let mut end = MAX_FLASH_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

/// Signs and verifies flash cookies.
#[derive(Clone)]
pub(crate) struct FlashKey(DerivedKey);

impl FlashKey {
    pub(crate) fn new(key: DerivedKey) -> Self {
        Self(key)
    }

    fn mac(&self, payload: &str) -> Option<[u8; 32]> {
        let mut mac = HmacSha256::new_from_slice(self.0.as_bytes()).ok()?;
        mac.update(MAC_CONTEXT);
        mac.update(payload.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// The cookie value for `messages`.
    pub(crate) fn sign(&self, messages: &FlashMessages) -> Option<String> {
        let json = serde_json::to_vec(messages).ok()?;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mac = self.mac(&payload)?;
        Some(format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac)))
    }

    /// The messages in a cookie value, or `None` if it is malformed or its MAC is wrong.
    pub(crate) fn verify(&self, value: &str) -> Option<FlashMessages> {
        if value.len() > MAX_COOKIE_LEN {
            return None;
        }
        let (payload, mac) = value.split_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let expected = self.mac(payload)?;
        if !bool::from(expected.as_slice().ct_eq(mac.as_slice())) {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let messages: FlashMessages = serde_json::from_slice(&json).ok()?;
        Some(FlashMessages {
            info: messages.info.map(clamp),
            error: messages.error.map(clamp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use proptest::prelude::*;

    fn key(byte: u8) -> FlashKey {
        let base = crate::keys::SecretKeyBase::new(vec![byte; 64]).unwrap();
        FlashKey::new(base.derive("sigra/web/flash").unwrap())
    }

    #[test]
    fn round_trip() {
        let k = key(1);
        let messages = FlashMessages {
            info: Some("Welcome back, <b>Zoë</b>".into()),
            error: Some("x".into()),
        };
        let value = k.sign(&messages).unwrap();
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert_eq!(k.verify(&value), Some(messages));
        assert_eq!(
            k.verify(&k.sign(&FlashMessages::default()).unwrap()),
            Some(FlashMessages::default())
        );
    }

    #[test]
    fn tampering_and_other_keys_are_refused() {
        let k = key(1);
        let value = k
            .sign(&FlashMessages {
                info: Some("Saved".into()),
                error: None,
            })
            .unwrap();
        let (payload, mac) = value.split_once('.').unwrap();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(br#"{"i":"Your account is suspended: call 555"}"#);
        assert_eq!(k.verify(&format!("{forged_payload}.{mac}")), None);
        let mut bad_mac = mac.to_owned().into_bytes();
        bad_mac[0] = if bad_mac[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            k.verify(&format!(
                "{payload}.{}",
                String::from_utf8(bad_mac).unwrap()
            )),
            None
        );
        assert_eq!(key(2).verify(&value), None);
        assert_eq!(k.verify(payload), None);
        assert_eq!(k.verify(""), None);
        assert_eq!(k.verify(&"a".repeat(5000)), None);
    }

    #[test]
    fn messages_are_clamped() {
        let long = "é".repeat(MAX_FLASH_BYTES);
        let SetFlash(m) = Flash::info(long);
        let info = m.info().unwrap();
        assert!(info.len() <= MAX_FLASH_BYTES);
        assert!(info.chars().all(|c| c == 'é'));
        assert!(key(1).sign(&m).unwrap().len() < 4000);
    }

    #[test]
    fn set_flash_parts_merge() {
        let response = (Flash::info("a"), Flash::error("b"), Flash::info("c"), "x").into_response();
        let PendingFlash(m) = response.extensions().get::<PendingFlash>().unwrap().clone();
        assert_eq!((m.info(), m.error()), (Some("c"), Some("b")));
    }

    #[test]
    fn the_extractor_derefs_to_the_messages() {
        let flash = Flash {
            messages: FlashMessages {
                info: Some("hi".into()),
                error: None,
            },
        };
        assert_eq!(flash.info(), Some("hi"));
        assert_eq!(flash.error(), None);
        assert!(!flash.is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_cookies_never_panic(value in "\\PC{0,200}") {
            let _ = key(1).verify(&value);
        }

        #[test]
        fn any_messages_round_trip(info in proptest::option::of("\\PC{0,100}"), error in proptest::option::of("\\PC{0,100}")) {
            let k = key(3);
            let m = FlashMessages { info, error };
            prop_assert_eq!(k.verify(&k.sign(&m).unwrap()), Some(m));
        }
    }
}
