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
        pub fn info_message(&self) -> Option<&str> {
            self.0.as_deref()
        }
        pub fn error_message(&self) -> Option<&str> {
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

pub mod mail {
    use std::future::Future;
    use time::OffsetDateTime;

    #[derive(Debug, thiserror::Error)]
    #[error("mail error")]
    pub struct MailError;

    #[derive(Clone, Debug)]
    pub struct Address(String);
    impl Address {
        pub fn new(email: &str) -> Result<Self, MailError> {
            Ok(Self(email.to_owned()))
        }
    }
    impl std::fmt::Display for Address {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    #[derive(Clone, Debug)]
    pub struct MailKind(String);
    impl MailKind {
        pub fn new(name: &str) -> Result<Self, MailError> {
            Ok(Self(name.to_owned()))
        }
        pub fn as_str(&self) -> &str {
            &self.0
        }
    }
    impl std::fmt::Display for MailKind {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    #[derive(Clone, Debug)]
    pub struct OutgoingMail {
        kind: MailKind,
        to: Address,
        subject: String,
        text: String,
        html: Option<String>,
    }
    impl OutgoingMail {
        pub fn new(kind: MailKind, to: Address, subject: impl Into<String>, text: impl Into<String>) -> Result<Self, MailError> {
            Ok(Self { kind, to, subject: subject.into(), text: text.into(), html: None })
        }
        pub fn with_html(mut self, html: impl Into<String>) -> Result<Self, MailError> {
            self.html = Some(html.into());
            Ok(self)
        }
        pub fn kind(&self) -> &MailKind {
            &self.kind
        }
        pub fn to(&self) -> &Address {
            &self.to
        }
        pub fn subject(&self) -> &str {
            &self.subject
        }
        pub fn text(&self) -> &str {
            &self.text
        }
        pub fn html(&self) -> Option<&str> {
            self.html.as_deref()
        }
    }
    pub trait Mailer: Clone + Send + Sync + 'static {
        fn send(&self, mail: &OutgoingMail) -> impl Future<Output = Result<(), MailError>> + Send;
    }
    pub trait Mailbox: Clone + Send + Sync + 'static {
        type Error: std::error::Error + Send + Sync + 'static;
        fn deliver(&self, mail: &OutgoingMail, sent_at: OffsetDateTime) -> impl Future<Output = Result<String, Self::Error>> + Send;
        fn list(&self, limit: u32) -> impl Future<Output = Result<Vec<StoredMail>, Self::Error>> + Send;
        fn get(&self, id: &str) -> impl Future<Output = Result<Option<StoredMail>, Self::Error>> + Send;
    }
    #[derive(Clone, Debug)]
    pub struct StoredMail {
        pub id: String,
        pub kind: String,
        pub to: String,
        pub subject: String,
        pub text: String,
        pub html: Option<String>,
        pub sent_at: OffsetDateTime,
    }
    #[derive(Clone)]
    pub struct AnyMailer<M>(M);
    impl<M> AnyMailer<M> {
        pub fn is_dev_mailbox(&self) -> bool {
            true
        }
        pub fn describe(&self) -> String {
            "dev mailbox".into()
        }
    }
    impl<M: Mailbox> Mailer for AnyMailer<M> {
        async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
            self.0.deliver(mail, OffsetDateTime::now_utc()).await.map(|_| ()).map_err(|_| MailError)
        }
    }
    pub struct MailerSettings;
    impl MailerSettings {
        pub fn new(_from: Address) -> Self {
            Self
        }
        pub fn allow_dev_mailbox(self, _allow: bool) -> Self {
            self
        }
    }
    pub fn mailer_from_env<M: Mailbox>(_s: &MailerSettings, mailbox: M) -> Result<AnyMailer<M>, MailError> {
        Ok(AnyMailer(mailbox))
    }
}
