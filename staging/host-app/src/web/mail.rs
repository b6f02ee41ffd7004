//! The account mails: each [`AuthMail`] a flow returns is rendered with the templates in
//! `templates/mail/` (a text and an HTML body) and sent through the configured transport:
//! SMTP when `SMTP_URL` is set, else the dev mailbox.
//!
//! Mail is sent from a spawned task ([`AuthMailer::send_later`]): the response does not wait
//! for the mail server, and its timing does not reveal whether a mail was sent at all (which
//! would tell a stranger whether an address has an account).

use std::sync::Arc;

use minijinja::context;
use minijinja::value::Value;
use sigra_core::auth::AuthMail;
use sigra_core::config::SigraConfig;
use sigra_core::mail::{Address, AnyMailer, MailError, MailKind, Mailer, OutgoingMail};

use super::dev_mailbox::SqlMailbox;
use super::templates::render_string;
use crate::APP_NAME;

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// A mail template failed to render (a bug in the template).
    #[error("mail template {template}: {source}")]
    Template {
        /// The template.
        template: String,
        /// What failed.
        #[source]
        source: minijinja::Error,
    },
    /// The transport refused the mail, or it was not well formed.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// A kind of mail this app has no template for yet.
    #[error("no template for {0} mails")]
    UnknownKind(String),
}

/// Renders and sends the account mails. Cheap to clone.
#[derive(Clone)]
pub struct AuthMailer {
    transport: AnyMailer<SqlMailbox>,
    app_url: Arc<str>,
    lockout_attempts: u32,
    lockout_minutes: u64,
}

impl std::fmt::Debug for AuthMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthMailer")
            .field("transport", &self.transport.describe())
            .field("app_url", &self.app_url)
            .finish()
    }
}

impl AuthMailer {
    /// Sends through `transport`; links in mails start with `app_url` (no trailing slash).
    pub fn new(transport: AnyMailer<SqlMailbox>, app_url: String, config: &SigraConfig) -> Self {
        Self {
            transport,
            app_url: Arc::from(app_url.trim_end_matches('/')),
            lockout_attempts: config.lockout().threshold,
            lockout_minutes: config.lockout().duration.as_secs().div_ceil(60),
        }
    }

    /// Renders and sends `mail` from a background task; failures are logged.
    pub fn send_later(&self, mail: AuthMail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            let kind = mail.kind();
            if let Err(err) = mailer.send(&mail).await {
                tracing::error!(kind, "could not send mail: {err}");
            }
        });
    }

    /// Renders and sends `mail`, waiting for the transport to accept it.
    pub async fn send(&self, mail: &AuthMail) -> Result<(), SendError> {
        let outgoing = self.render(mail)?;
        self.transport.send(&outgoing).await?;
        Ok(())
    }

    /// Renders `mail` into subject, text and HTML bodies.
    pub fn render(&self, mail: &AuthMail) -> Result<OutgoingMail, SendError> {
        let url = |path: &str| format!("{}{path}", self.app_url);
        let (subject, vars) = match mail {
            AuthMail::Confirm { token, code, .. } => (
                format!("Confirm your {APP_NAME} account"),
                context! { url => url(&format!("/users/confirm/{token}")), code },
            ),
            AuthMail::AccountExists { .. } => (
                format!("You already have a {APP_NAME} account"),
                context! { log_in_url => url("/users/log_in"), reset_url => url("/users/reset_password") },
            ),
            AuthMail::MagicLink { token, .. } => (
                format!("Your {APP_NAME} login link"),
                context! { url => url(&format!("/users/log_in/{token}")) },
            ),
            AuthMail::ResetPassword { token, .. } => (
                format!("Reset your {APP_NAME} password"),
                context! { url => url(&format!("/users/reset_password/{token}")) },
            ),
            AuthMail::ChangeEmail { token, .. } => (
                format!("Confirm your new {APP_NAME} email address"),
                context! { url => url(&format!("/users/settings/confirm_email/{token}")) },
            ),
            AuthMail::PasswordChanged { .. } => (
                format!("Your {APP_NAME} password was changed"),
                context! { reset_url => url("/users/reset_password") },
            ),
            AuthMail::LockoutNotice { .. } => (
                format!("Your {APP_NAME} account was locked"),
                context! {
                    reset_url => url("/users/reset_password"),
                    attempts => self.lockout_attempts,
                    lock_minutes => self.lockout_minutes,
                },
            ),
            other => return Err(SendError::UnknownKind(other.kind().to_owned())),
        };
        let kind = MailKind::new(mail.kind())?;
        let vars = context! { email => mail.to(), app_url => &*self.app_url, ..vars };
        let text = template(&format!("mail/{kind}.txt"), vars.clone())?;
        let html = template(&format!("mail/{kind}.html"), vars)?;
        Ok(OutgoingMail::new(kind, Address::new(mail.to())?, subject, text)?.with_html(html)?)
    }
}

fn template(name: &str, vars: Value) -> Result<String, SendError> {
    render_string(name, vars).map_err(|source| SendError::Template {
        template: name.to_owned(),
        source,
    })
}
