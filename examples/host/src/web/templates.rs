//! The page templates: one minijinja environment with every page embedded in the binary.
//!
//! Templates live in `templates/` and are compiled in with `include_str!`, so the binary
//! needs no files at run time. They are HTML-escaped automatically. Undefined values are
//! "chainable": `errors.email` is simply empty when a page has no errors, so templates need
//! no guards. (The mails have their own environment, in [`crate::mail`].)

use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Html;
use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior, context};
use sigra_core::web::{CsrfToken, CurrentUser, Flash};

use crate::accounts::User;
use crate::app::APP_NAME;

/// Every page template, by the name pages render it with, embedded at build time.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "auth/_fields.html",
        include_str!("../../templates/auth/_fields.html"),
    ),
    (
        "auth/confirm.html",
        include_str!("../../templates/auth/confirm.html"),
    ),
    (
        "auth/confirm_email_change.html",
        include_str!("../../templates/auth/confirm_email_change.html"),
    ),
    (
        "auth/confirm_link.html",
        include_str!("../../templates/auth/confirm_link.html"),
    ),
    (
        "auth/log_in.html",
        include_str!("../../templates/auth/log_in.html"),
    ),
    (
        "auth/log_out.html",
        include_str!("../../templates/auth/log_out.html"),
    ),
    (
        "auth/magic_link.html",
        include_str!("../../templates/auth/magic_link.html"),
    ),
    (
        "auth/mfa.html",
        include_str!("../../templates/auth/mfa.html"),
    ),
    (
        "auth/passkeys.html",
        include_str!("../../templates/auth/passkeys.html"),
    ),
    (
        "auth/register.html",
        include_str!("../../templates/auth/register.html"),
    ),
    (
        "auth/reset_password.html",
        include_str!("../../templates/auth/reset_password.html"),
    ),
    (
        "auth/reset_password_request.html",
        include_str!("../../templates/auth/reset_password_request.html"),
    ),
    (
        "auth/sessions.html",
        include_str!("../../templates/auth/sessions.html"),
    ),
    (
        "auth/settings.html",
        include_str!("../../templates/auth/settings.html"),
    ),
    (
        "auth/sudo.html",
        include_str!("../../templates/auth/sudo.html"),
    ),
    (
        "auth/two_factor.html",
        include_str!("../../templates/auth/two_factor.html"),
    ),
    (
        "dev/mail.html",
        include_str!("../../templates/dev/mail.html"),
    ),
    (
        "dev/mailbox.html",
        include_str!("../../templates/dev/mailbox.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("layout.html", include_str!("../../templates/layout.html")),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.add_global("app_name", APP_NAME);
    for (name, source) in TEMPLATES {
        if let Err(err) = env.add_template(name, source) {
            // A syntax error in a template: the test suite renders every page, so this only
            // happens after an edit. The page that uses it will show the error page.
            tracing::error!(template = name, "template does not compile: {err:#}");
        }
    }
    env
});

/// Renders a template to a string.
pub fn render_string(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    ENV.get_template(name)?.render(ctx)
}

/// Renders a page. A template error is a bug: it is logged and a short apology is shown
/// instead of a half-rendered page.
pub fn render(name: &str, ctx: Value) -> Html<String> {
    match render_string(name, ctx) {
        Ok(html) => Html(html),
        Err(err) => {
            tracing::error!(template = name, "template failed to render: {err:#}");
            Html(
                "<!doctype html><title>Error</title><p>Something went wrong showing this page. \
                 Please try again.</p>"
                    .to_owned(),
            )
        }
    }
}

/// What the layout needs on every page: the logged-in user, the CSRF token for forms, and
/// the flash message left by the previous request.
pub struct Page {
    /// The logged-in user, if any.
    pub user: Option<User>,
    /// The value for every form's hidden `_csrf` field.
    pub csrf_token: String,
    /// The flash message (info), if any.
    pub flash_info: Option<String>,
    /// The flash message (error), if any.
    pub flash_error: Option<String>,
}

impl Page {
    /// The layout's variables, to merge into a page's own: `context! { ..., ..page.context() }`.
    pub fn context(&self) -> Value {
        let current_user = self.user.as_ref().map(|user| {
            context! {
                email => user.email.clone(),
                confirmed => user.is_confirmed(),
            }
        });
        context! {
            current_user,
            csrf_token => self.csrf_token.clone(),
            flash_info => self.flash_info.clone(),
            flash_error => self.flash_error.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = CurrentUser::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|CurrentUser(auth)| auth);
        let csrf_token = match CsrfToken::from_request_parts(parts, state).await {
            Ok(token) => token.as_str().to_owned(),
            Err(_) => String::new(),
        };
        let (flash_info, flash_error) = match Flash::from_request_parts(parts, state).await {
            Ok(flash) => {
                let messages = flash.into_messages();
                (
                    messages.info().map(str::to_owned),
                    messages.error().map(str::to_owned),
                )
            }
            Err(_) => (None, None),
        };
        Ok(Self {
            user: auth.map(|auth| User::from(auth.user)),
            csrf_token,
            flash_info,
            flash_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            assert!(ENV.get_template(name).is_ok(), "{name} does not compile");
        }
    }

    #[test]
    fn html_is_escaped() {
        let page = render_string(
            "error.html",
            context! { heading => "<b>", message => "a & b" },
        )
        .unwrap();
        assert!(page.contains("&lt;b&gt;"));
        assert!(page.contains("a &amp; b"));
    }
}
