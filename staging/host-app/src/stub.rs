//! TEMPORARY: type-level stand-ins for `sigra_core::web` and `sigra_core::mail` until the
//! branches providing them land. Delete this file then.
#![allow(missing_docs, dead_code, clippy::unused_async)]

pub mod web {
    use axum::extract::FromRequestParts;
    use axum::http::HeaderMap;
    use axum::http::request::Parts;
    use axum::response::{IntoResponseParts, ResponseParts};
    use sigra_core::audit::RequestMeta;
    use sigra_core::auth::{Authenticated, LoggedIn, Sigra};

    pub fn layers<S>(_sigra: Sigra<S>) -> tower::layer::util::Identity {
        tower::layer::util::Identity::new()
    }
    pub fn rate_limit_layer<S>(_sigra: Sigra<S>) -> tower::layer::util::Identity {
        tower::layer::util::Identity::new()
    }

    pub struct CurrentUser(pub Option<Authenticated>);
    pub struct RequireUser(pub Authenticated);
    pub struct ClientMeta(pub RequestMeta);
    pub struct CsrfToken(String);
    impl CsrfToken {
        pub fn as_str(&self) -> &str {
            &self.0
        }
    }
    pub struct Flash(Option<String>, Option<String>);
    impl Flash {
        pub fn info(msg: impl Into<String>) -> FlashPart {
            FlashPart(msg.into())
        }
        pub fn error(msg: impl Into<String>) -> FlashPart {
            FlashPart(msg.into())
        }
    }
    impl Flash {
        pub fn into_messages(self) -> FlashMessages {
            FlashMessages(self.0, self.1)
        }
    }
    pub struct FlashMessages(Option<String>, Option<String>);
    impl FlashMessages {
        pub fn info(&self) -> Option<&str> {
            self.0.as_deref()
        }
        pub fn error(&self) -> Option<&str> {
            self.1.as_deref()
        }
    }
    pub struct FlashPart(String);
    impl IntoResponseParts for FlashPart {
        type Error = std::convert::Infallible;
        fn into_response_parts(self, res: ResponseParts) -> Result<ResponseParts, Self::Error> {
            Ok(res)
        }
    }

    macro_rules! extractor {
        ($t:ty, $e:expr) => {
            impl<S: Send + Sync> FromRequestParts<S> for $t {
                type Rejection = axum::http::StatusCode;
                async fn from_request_parts(_p: &mut Parts, _s: &S) -> Result<Self, Self::Rejection> {
                    $e
                }
            }
        };
    }
    extractor!(CurrentUser, Ok(CurrentUser(None)));
    extractor!(RequireUser, Err(axum::http::StatusCode::UNAUTHORIZED));
    extractor!(ClientMeta, Ok(ClientMeta(RequestMeta::default())));
    extractor!(CsrfToken, Ok(CsrfToken(String::new())));
    extractor!(Flash, Ok(Flash(None, None)));

    pub struct CookiePart;
    impl IntoResponseParts for CookiePart {
        type Error = std::convert::Infallible;
        fn into_response_parts(self, res: ResponseParts) -> Result<ResponseParts, Self::Error> {
            Ok(res)
        }
    }
    pub fn session_cookie<S>(_sigra: &Sigra<S>, _l: &LoggedIn) -> CookiePart {
        CookiePart
    }
    pub fn clear_session_cookie<S>(_sigra: &Sigra<S>) -> CookiePart {
        CookiePart
    }
    pub fn session_cookie_value<S>(_h: &HeaderMap, _sigra: &Sigra<S>) -> Option<String> {
        None
    }
}
