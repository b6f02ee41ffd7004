//! The account mails. A flow never sends mail itself: it writes each notice into the outbox
//! (the `jobs` table, queue `mail`) in the same transaction as the change it reports, so the
//! mail exists exactly when the change committed. The job worker ([`crate::app::worker`])
//! then claims it and calls [`AuthMailer::deliver`]: the notice is read back, rendered with
//! the templates in `templates/mail/` (a text and an HTML body) and handed to the transport,
//! SMTP when `SMTP_URL` is set, else the dev mailbox (which keeps the mail in the outbox for
//! `/dev/mailbox` to show). No response waits for the mail server, whose delays would
//! otherwise tell a stranger whether a mail was sent, and so whether an address has an account.
//!
//! A mail the server accepted is `sent` and its content deleted (the links in it stay out of
//! the database). A temporary failure (the server unreachable, a `4xx` answer) is retried with
//! a growing delay; a permanent one (a `5xx` answer, a template that does not render) makes
//! the job `dead` at once, kept with its error until an operator retries it ([`outbox`],
//! `cargo run -- outbox`). A mail may be sent twice if the app dies at the wrong moment; it
//! keeps the same `Message-ID` (the job's id) every time, so mail clients show it once.
//!
//! Links in mails point at `APP_URL` followed by the page's path (`/users/confirm/{token}`,
//! `/users/log_in/{token}`, `/users/reset_password/{token}`,
//! `/users/settings/confirm_email/{token}`). How long a link works comes from the
//! configuration (`valid_for` in the templates), so the mail never promises more or less
//! than the server keeps.

pub mod outbox;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior, context};
use sigra_core::auth::{AuthMail, LockoutScope, NoticeError};
use sigra_core::config::TokenConfig;
use sigra_core::jobs::{JobError, JobOutcome};
use sigra_core::mail::{Address, AnyMailer, MailError, MailKind, Mailer, OutgoingMail};
use sigra_core::store::JobRecord;

use crate::accounts::Accounts;
use crate::app::APP_NAME;

/// Every mail template, embedded in the binary: `mail/<kind>.txt` and `mail/<kind>.html`
/// for each kind, and the HTML layout they share. `.html` files are HTML-escaped
/// automatically, `.txt` files are not.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "mail/_layout.html",
        include_str!("../../templates/mail/_layout.html"),
    ),
    (
        "mail/account_exists.html",
        include_str!("../../templates/mail/account_exists.html"),
    ),
    (
        "mail/account_exists.txt",
        include_str!("../../templates/mail/account_exists.txt"),
    ),
    (
        "mail/backup_codes_regenerated.html",
        include_str!("../../templates/mail/backup_codes_regenerated.html"),
    ),
    (
        "mail/backup_codes_regenerated.txt",
        include_str!("../../templates/mail/backup_codes_regenerated.txt"),
    ),
    (
        "mail/change_email.html",
        include_str!("../../templates/mail/change_email.html"),
    ),
    (
        "mail/change_email.txt",
        include_str!("../../templates/mail/change_email.txt"),
    ),
    (
        "mail/confirm.html",
        include_str!("../../templates/mail/confirm.html"),
    ),
    (
        "mail/confirm.txt",
        include_str!("../../templates/mail/confirm.txt"),
    ),
    (
        "mail/email_changed.html",
        include_str!("../../templates/mail/email_changed.html"),
    ),
    (
        "mail/email_changed.txt",
        include_str!("../../templates/mail/email_changed.txt"),
    ),
    (
        "mail/lockout_notice.html",
        include_str!("../../templates/mail/lockout_notice.html"),
    ),
    (
        "mail/lockout_notice.txt",
        include_str!("../../templates/mail/lockout_notice.txt"),
    ),
    (
        "mail/magic_link.html",
        include_str!("../../templates/mail/magic_link.html"),
    ),
    (
        "mail/magic_link.txt",
        include_str!("../../templates/mail/magic_link.txt"),
    ),
    (
        "mail/mfa_disabled.html",
        include_str!("../../templates/mail/mfa_disabled.html"),
    ),
    (
        "mail/mfa_disabled.txt",
        include_str!("../../templates/mail/mfa_disabled.txt"),
    ),
    (
        "mail/mfa_enabled.html",
        include_str!("../../templates/mail/mfa_enabled.html"),
    ),
    (
        "mail/mfa_enabled.txt",
        include_str!("../../templates/mail/mfa_enabled.txt"),
    ),
    (
        "mail/mfa_lockout.html",
        include_str!("../../templates/mail/mfa_lockout.html"),
    ),
    (
        "mail/mfa_lockout.txt",
        include_str!("../../templates/mail/mfa_lockout.txt"),
    ),
    (
        "mail/password_changed.html",
        include_str!("../../templates/mail/password_changed.html"),
    ),
    (
        "mail/password_changed.txt",
        include_str!("../../templates/mail/password_changed.txt"),
    ),
    (
        "mail/reset_password.html",
        include_str!("../../templates/mail/reset_password.html"),
    ),
    (
        "mail/reset_password.txt",
        include_str!("../../templates/mail/reset_password.txt"),
    ),
    (
        "mail/suspicious_login.html",
        include_str!("../../templates/mail/suspicious_login.html"),
    ),
    (
        "mail/suspicious_login.txt",
        include_str!("../../templates/mail/suspicious_login.txt"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.add_global("app_name", APP_NAME);
    for (name, source) in TEMPLATES {
        if let Err(err) = env.add_template(name, source) {
            // A syntax error in a template: the tests render every mail, so this only happens
            // after an edit. Sending that kind of mail then fails with the error.
            tracing::error!(template = name, "mail template does not compile: {err:#}");
        }
    }
    env
});

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The mail job cannot be read back as a notice (see [`NoticeError`]).
    #[error(transparent)]
    Notice(#[from] NoticeError),
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
    accounts: Accounts,
    transport: AnyMailer,
    app_url: Arc<str>,
    lockout_attempts: u32,
    lockout_minutes: u64,
    tokens: TokenConfig,
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
    /// Sends the notices of `accounts` through `transport`; links in mails start with
    /// `app_url` (no trailing slash).
    pub fn new(accounts: Accounts, transport: AnyMailer, app_url: String) -> Self {
        let lockout = accounts.config().lockout();
        let (lockout_attempts, lockout_minutes) =
            (lockout.threshold, lockout.duration.as_secs().div_ceil(60));
        let tokens = accounts.config().tokens().clone();
        Self {
            accounts,
            transport,
            app_url: Arc::from(app_url.trim_end_matches('/')),
            lockout_attempts,
            lockout_minutes,
            tokens,
        }
    }

    /// Whether mail stays in the outbox for the dev mailbox instead of being sent.
    pub fn is_dev_mailbox(&self) -> bool {
        self.transport.is_dev_mailbox()
    }

    /// Sends the mail job `job` (the job worker's handler for the `mail` queue).
    ///
    /// `Done` once the SMTP server accepted it (the worker deletes its content), `DoneKeepPayload`
    /// with the dev mailbox (which shows it from the outbox). A failure worth retrying (the
    /// server unreachable or busy) is [`JobError::Temporary`]; anything else (a `5xx` answer, a
    /// mail that cannot be read or rendered) is [`JobError::Permanent`].
    pub async fn deliver(&self, job: JobRecord) -> Result<JobOutcome, JobError> {
        let mail = self.open(&job).map_err(JobError::permanent)?;
        match self.transport.send(&mail).await {
            Ok(()) if self.is_dev_mailbox() => Ok(JobOutcome::DoneKeepPayload),
            Ok(()) => Ok(JobOutcome::Done),
            Err(err) if err.is_transient() => Err(JobError::temporary(err)),
            Err(err) => Err(JobError::permanent(err)),
        }
    }

    /// The mail a mail job sends: its notice, rendered, with the job's id as the `Message-ID`
    /// (the same on every attempt). The dev mailbox and the tests read mail with it.
    pub fn open(&self, job: &JobRecord) -> Result<OutgoingMail, SendError> {
        let notice = self.accounts.open_notice(job)?;
        Ok(self
            .render(&notice)?
            .with_message_id(job.id.hyphenated().to_string())?)
    }

    /// Renders `mail` into subject, text and HTML bodies.
    pub fn render(&self, mail: &AuthMail) -> Result<OutgoingMail, SendError> {
        let url = |path: &str| format!("{}{path}", self.app_url);
        let (subject, vars) = match mail {
            AuthMail::Confirm { token, code, .. } => (
                format!("Confirm your {APP_NAME} account"),
                context! {
                    url => url(&format!("/users/confirm/{token}")),
                    code,
                    valid_for => duration_in_words(self.tokens.confirm_ttl),
                },
            ),
            AuthMail::AccountExists { .. } => (
                format!("You already have a {APP_NAME} account"),
                context! { log_in_url => url("/users/log_in"), reset_url => url("/users/reset_password") },
            ),
            AuthMail::MagicLink { token, .. } => (
                format!("Your {APP_NAME} login link"),
                context! {
                    url => url(&format!("/users/log_in/{token}")),
                    valid_for => duration_in_words(self.tokens.magic_link_ttl),
                },
            ),
            AuthMail::ResetPassword { token, .. } => (
                format!("Reset your {APP_NAME} password"),
                context! {
                    url => url(&format!("/users/reset_password/{token}")),
                    valid_for => duration_in_words(self.tokens.reset_password_ttl),
                },
            ),
            AuthMail::ChangeEmail { token, .. } => (
                format!("Confirm your new {APP_NAME} email address"),
                context! {
                    url => url(&format!("/users/settings/confirm_email/{token}")),
                    valid_for => duration_in_words(self.tokens.change_email_ttl),
                },
            ),
            AuthMail::PasswordChanged { .. } => (
                format!("Your {APP_NAME} password was changed"),
                context! { reset_url => url("/users/reset_password") },
            ),
            AuthMail::LockoutNotice { scope, .. } => (
                format!("Your {APP_NAME} account was locked"),
                context! {
                    reset_url => url("/users/reset_password"),
                    attempts => self.lockout_attempts,
                    lock_minutes => self.lockout_minutes,
                    // One of the owner's own browsers locked itself; else browsers that never
                    // logged in to the account are locked out.
                    device => *scope == LockoutScope::Device,
                },
            ),
            AuthMail::EmailChanged { new_email, .. } => (
                format!("Your {APP_NAME} email address was changed"),
                context! { new_email, log_in_url => url("/users/log_in") },
            ),
            AuthMail::MfaEnabled { .. } => (
                format!("Two-factor authentication is on for your {APP_NAME} account"),
                context! { reset_url => url("/users/reset_password") },
            ),
            AuthMail::MfaDisabled { .. } => (
                format!("Two-factor authentication was turned off for your {APP_NAME} account"),
                context! { reset_url => url("/users/reset_password") },
            ),
            AuthMail::MfaLockout { .. } => {
                let mfa = self.accounts.config().mfa();
                (
                    format!("Two-factor codes locked on your {APP_NAME} account"),
                    context! {
                        reset_url => url("/users/reset_password"),
                        attempts => mfa.lockout_threshold,
                        lock_minutes => mfa.lockout_duration.as_secs().div_ceil(60),
                    },
                )
            }
            AuthMail::BackupCodesRegenerated { .. } => (
                format!("New backup codes for your {APP_NAME} account"),
                context! { reset_url => url("/users/reset_password") },
            ),
            AuthMail::SuspiciousLogin { ip, user_agent, .. } => (
                format!("New login to your {APP_NAME} account"),
                context! {
                    ip,
                    user_agent,
                    sessions_url => url("/users/sessions"),
                    reset_url => url("/users/reset_password"),
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

/// A duration for people, in the largest unit that says it exactly: `15 minutes`, `1 hour`,
/// `48 hours`, `60 days` (days from three days up; minutes rounded up).
pub fn duration_in_words(duration: Duration) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let secs = duration.as_secs();
    let (count, unit) = if secs >= 3 * DAY && secs.is_multiple_of(DAY) {
        (secs / DAY, "day")
    } else if secs >= HOUR && secs.is_multiple_of(HOUR) {
        (secs / HOUR, "hour")
    } else {
        (secs.div_ceil(MINUTE).max(1), "minute")
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

fn template(name: &str, vars: Value) -> Result<String, SendError> {
    ENV.get_template(name)
        .and_then(|template| template.render(vars))
        .map_err(|source| SendError::Template {
            template: name.to_owned(),
            source,
        })
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
    fn durations_read_in_the_largest_exact_unit() {
        let words = |secs| duration_in_words(Duration::from_secs(secs));
        assert_eq!(words(15 * 60), "15 minutes");
        assert_eq!(words(60), "1 minute");
        assert_eq!(words(1), "1 minute");
        assert_eq!(words(90 * 60), "90 minutes");
        assert_eq!(words(3600), "1 hour");
        assert_eq!(words(48 * 3600), "48 hours");
        assert_eq!(words(60 * 86400), "60 days");
    }

    #[test]
    fn html_mail_is_escaped_and_text_mail_is_not() {
        let vars = context! { email => "a&b@example.com", url => "https://x.example/?a=1&b=2" };
        let text = template("mail/magic_link.txt", vars.clone()).unwrap();
        assert!(text.contains("Hello a&b@example.com"), "{text}");
        assert!(text.contains("https://x.example/?a=1&b=2"), "{text}");
        let html = template("mail/magic_link.html", vars).unwrap();
        assert!(html.contains("Hello a&amp;b@example.com"), "{html}");
        assert!(html.contains("?a=1&amp;b=2"), "{html}");
    }
}
