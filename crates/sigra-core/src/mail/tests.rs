//! Unit tests of the transport choice, the mailbox mailer and redaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::*;

/// The dev mailbox contract over a Vec: the reference implementation the conformance suite
/// is checked against (not a mock: it is the trait's contract made concrete).
#[derive(Clone, Default)]
pub(super) struct VecMailbox {
    mails: Arc<Mutex<Vec<StoredMail>>>,
}

impl Mailbox for VecMailbox {
    type Error = std::convert::Infallible;

    async fn deliver(
        &self,
        mail: &OutgoingMail,
        sent_at: OffsetDateTime,
    ) -> Result<String, Self::Error> {
        let mut mails = self.mails.lock().unwrap();
        let id = format!("m{}", mails.len() + 1);
        mails.push(StoredMail::from_outgoing(id.clone(), mail, sent_at));
        Ok(id)
    }

    async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
        let mails = self.mails.lock().unwrap();
        let mut newest: Vec<StoredMail> = mails.iter().rev().cloned().collect();
        newest.sort_by_key(|m| std::cmp::Reverse(m.sent_at));
        newest.truncate(limit as usize);
        Ok(newest)
    }

    async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
        Ok(self
            .mails
            .lock()
            .unwrap()
            .iter()
            .find(|m| m.id == id)
            .cloned())
    }
}

/// A store that is down.
#[derive(Clone)]
struct BrokenMailbox;

#[derive(Debug, thiserror::Error)]
#[error("database is unavailable")]
struct Unavailable;

impl Mailbox for BrokenMailbox {
    type Error = Unavailable;
    async fn deliver(&self, _: &OutgoingMail, _: OffsetDateTime) -> Result<String, Unavailable> {
        Err(Unavailable)
    }
    async fn list(&self, _: u32) -> Result<Vec<StoredMail>, Unavailable> {
        Err(Unavailable)
    }
    async fn get(&self, _: &str) -> Result<Option<StoredMail>, Unavailable> {
        Err(Unavailable)
    }
}

fn from() -> Address {
    Address::new("noreply@app.example").unwrap()
}

fn mail(kind: MailKind) -> OutgoingMail {
    OutgoingMail::new(
        kind,
        Address::new("zoe@example.com").unwrap(),
        "Subject",
        "Body with https://app.example/t/SECRET",
    )
    .unwrap()
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn vec_mailbox_keeps_the_contract() {
    rt().block_on(async {
        conformance::check_mailbox(&VecMailbox::default())
            .await
            .unwrap();
    });
}

/// The suite catches a store that lists oldest first, loses HTML, or errors on bad ids.
#[test]
fn conformance_suite_catches_broken_stores() {
    #[derive(Clone, Default)]
    struct OldestFirst(VecMailbox);
    impl Mailbox for OldestFirst {
        type Error = std::convert::Infallible;
        async fn deliver(
            &self,
            m: &OutgoingMail,
            at: OffsetDateTime,
        ) -> Result<String, Self::Error> {
            self.0.deliver(m, at).await
        }
        async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
            let mut all = self.0.list(u32::MAX).await?;
            all.reverse();
            all.truncate(limit as usize);
            Ok(all)
        }
        async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
            self.0.get(id).await
        }
    }

    #[derive(Clone, Default)]
    struct DropsHtml(VecMailbox);
    impl Mailbox for DropsHtml {
        type Error = std::convert::Infallible;
        async fn deliver(
            &self,
            m: &OutgoingMail,
            at: OffsetDateTime,
        ) -> Result<String, Self::Error> {
            let plain =
                OutgoingMail::new(m.kind().clone(), m.to().clone(), m.subject(), m.text()).unwrap();
            self.0.deliver(&plain, at).await
        }
        async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
            self.0.list(limit).await
        }
        async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
            self.0.get(id).await
        }
    }

    #[derive(Clone, Default)]
    struct StrictIds(VecMailbox);
    impl Mailbox for StrictIds {
        type Error = Unavailable;
        async fn deliver(
            &self,
            m: &OutgoingMail,
            at: OffsetDateTime,
        ) -> Result<String, Unavailable> {
            Ok(self.0.deliver(m, at).await.unwrap())
        }
        async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Unavailable> {
            Ok(self.0.list(limit).await.unwrap())
        }
        async fn get(&self, id: &str) -> Result<Option<StoredMail>, Unavailable> {
            if !id.starts_with('m') {
                return Err(Unavailable);
            }
            Ok(self.0.get(id).await.unwrap())
        }
    }

    rt().block_on(async {
        let e = conformance::check_mailbox(&OldestFirst::default())
            .await
            .unwrap_err();
        assert!(e.rule.starts_with("rule 3"), "{e}");
        let e = conformance::check_mailbox(&DropsHtml::default())
            .await
            .unwrap_err();
        assert!(
            e.rule.starts_with("rule 1") && e.detail.contains("html"),
            "{e}"
        );
        let e = conformance::check_mailbox(&StrictIds::default())
            .await
            .unwrap_err();
        assert!(e.rule.starts_with("rule 4"), "{e}");
        let e = conformance::check_mailbox(&BrokenMailbox)
            .await
            .unwrap_err();
        assert!(e.detail.contains("database is unavailable"), "{e}");
    });
}

#[test]
fn mailbox_mailer_stores_and_reports_store_errors() {
    rt().block_on(async {
        let mailer = MailboxMailer::new(VecMailbox::default());
        mailer.send(&mail(MailKind::CONFIRM)).await.unwrap();
        mailer.send(&mail(MailKind::RESET_PASSWORD)).await.unwrap();
        let listed = mailer.mailbox().list(10).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].has_kind(&MailKind::RESET_PASSWORD));
        assert!(listed[1].has_kind(&MailKind::CONFIRM));
        assert_eq!(listed[0].to, "zoe@example.com");
        let age = OffsetDateTime::now_utc() - listed[0].sent_at;
        assert!(age >= time::Duration::ZERO && age < time::Duration::minutes(1));

        let err = MailboxMailer::new(BrokenMailbox)
            .send(&mail(MailKind::CONFIRM))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Mailbox(_)));
        assert_eq!(
            err.to_string(),
            "the dev mailbox store failed: database is unavailable"
        );
        assert!(!err.is_transient());
    });
}

#[test]
fn no_smtp_url_picks_the_mailbox_only_in_dev() {
    let dev = MailerSettings::new(from()).allow_dev_mailbox(true);
    let mailer = mailer_from_lookup(env(&[]), &dev, VecMailbox::default()).unwrap();
    assert!(mailer.is_dev_mailbox());
    assert_eq!(mailer.describe(), "dev mailbox");

    let prod = MailerSettings::new(from());
    let err = mailer_from_lookup(env(&[]), &prod, VecMailbox::default()).unwrap_err();
    assert!(matches!(err, MailError::NoTransport));
    assert!(err.to_string().contains("SMTP_URL is not set"));
}

#[test]
fn the_any_mailer_delivers_through_the_chosen_transport() {
    rt().block_on(async {
        let store = VecMailbox::default();
        let dev = MailerSettings::new(from()).allow_dev_mailbox(true);
        let mailer = mailer_from_lookup(env(&[]), &dev, store.clone()).unwrap();
        mailer.send(&mail(MailKind::LOCKOUT_NOTICE)).await.unwrap();
        assert!(store.list(1).await.unwrap()[0].has_kind(&MailKind::LOCKOUT_NOTICE));
    });
}

#[test]
fn an_invalid_mail_from_is_refused() {
    let dev = MailerSettings::new(from()).allow_dev_mailbox(true);
    let err = mailer_from_lookup(
        env(&[("MAIL_FROM", "no at sign")]),
        &dev,
        VecMailbox::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        MailError::Env {
            var: "MAIL_FROM",
            ..
        }
    ));
    assert!(
        err.to_string()
            .starts_with("MAIL_FROM: invalid email address"),
        "{err}"
    );
    let err = mailer_from_lookup(
        env(&[("MAIL_FROM", "x@example.com\r\nBcc: y@example.com")]),
        &dev,
        VecMailbox::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("line break"), "{err}");
}

#[cfg(feature = "smtp")]
mod smtp {
    use super::*;

    #[test]
    fn smtp_url_picks_smtp_and_mail_from_overrides_the_sender() {
        rt().block_on(async {
            let settings = MailerSettings::new(from()).allow_dev_mailbox(true);
            let mailer = mailer_from_lookup(
                env(&[
                    (
                        "SMTP_URL",
                        "smtp://apikey:hunter22@smtp.example.com:2587?tls=required",
                    ),
                    ("MAIL_FROM", "\"Example App\" <hello@app.example>"),
                ]),
                &settings,
                VecMailbox::default(),
            )
            .unwrap();
            assert!(!mailer.is_dev_mailbox());
            assert_eq!(
                mailer.describe(),
                "SMTP smtp.example.com:2587 (STARTTLS (required))"
            );
            let AnyMailer::Smtp(smtp) = &mailer else {
                panic!("expected SMTP, got {mailer:?}")
            };
            assert_eq!(smtp.from_address().email(), "hello@app.example");
            assert_eq!(smtp.from_address().name(), Some("Example App"));
            assert_eq!(smtp.security(), SmtpSecurity::StartTlsRequired);
            let debug = format!("{mailer:?}");
            assert!(!debug.contains("hunter22"), "{debug}");
            assert!(!debug.contains("apikey"), "{debug}");
            assert!(debug.contains("[REDACTED]"), "{debug}");
            assert!(debug.contains("smtp.example.com:2587"), "{debug}");
        });
    }

    #[test]
    fn smtp_url_errors_never_show_the_password() {
        rt().block_on(async {
            let settings = MailerSettings::new(from()).allow_dev_mailbox(true);
            for url in [
                "smtp://apikey:hunter22@smtp.example.com?tls=requird",
                "smtp://apikey:hunter22@smtp.example.com",
                "smtp://apikey:hunter22@smtp.example.com?tls=opportunistic",
                "smtps://apikey:hunter22/x@smtp.example.com",
                "ftp://apikey:hunter22@smtp.example.com",
                "",
            ] {
                let err =
                    mailer_from_lookup(env(&[("SMTP_URL", url)]), &settings, VecMailbox::default())
                        .unwrap_err();
                assert!(
                    matches!(err, MailError::InvalidSmtpUrl { .. }),
                    "{url}: {err:?}"
                );
                let shown = format!("{err} {err:?}");
                assert!(!shown.contains("hunter22"), "{url}: {shown}");
            }
        });
    }

    #[test]
    fn plaintext_credentials_only_to_loopback_or_with_the_danger_switch() {
        rt().block_on(async {
            let url = "smtp://u:hunter22@relay.internal:25";
            let err = SmtpMailer::from_url(url, from()).unwrap_err();
            assert!(
                err.to_string().contains("without certain encryption"),
                "{err}"
            );
            let ok = SmtpMailer::from_url_with(
                url,
                from(),
                SmtpOptions::default().danger_allow_plaintext_credentials(true),
            );
            assert!(ok.is_ok());
            assert!(SmtpMailer::from_url("smtp://u:hunter22@127.0.0.1:2525", from()).is_ok());
            assert!(SmtpMailer::from_url("smtp://relay.internal:25", from()).is_ok());
        });
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        let err = SmtpMailer::from_url("smtp://localhost:2525", from()).unwrap_err();
        assert!(matches!(err, MailError::NoRuntime));
        let settings = MailerSettings::new(from());
        let err = mailer_from_lookup(
            env(&[("SMTP_URL", "smtp://localhost:2525")]),
            &settings,
            VecMailbox::default(),
        )
        .unwrap_err();
        assert!(matches!(err, MailError::NoRuntime), "{err:?}");
    }

    #[test]
    fn dropping_the_last_clone_outside_the_runtime_does_not_panic() {
        let runtime = rt();
        let mailer = runtime
            .block_on(async { SmtpMailer::from_url("smtp://localhost:2525", from()).unwrap() });
        let clone = mailer.clone();
        drop(mailer);
        drop(runtime);
        drop(clone);
    }

    #[test]
    fn a_bad_root_certificate_is_refused() {
        rt().block_on(async {
            for pem in [
                &b"not a certificate"[..],
                b"-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n",
                b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
            ] {
                let err = SmtpMailer::from_url_with(
                    "smtps://smtp.example.com",
                    from(),
                    SmtpOptions::default().add_root_certificate_pem(pem),
                )
                .unwrap_err();
                assert!(
                    matches!(err, MailError::InvalidCertificate { .. }),
                    "{err:?}"
                );
            }
        });
    }
}

#[test]
fn transient_errors() {
    let server = || "h:25".to_owned();
    assert!(
        MailError::Connection {
            server: server(),
            detail: String::new()
        }
        .is_transient()
    );
    assert!(
        MailError::Timeout {
            server: server(),
            detail: String::new()
        }
        .is_transient()
    );
    assert!(
        !MailError::Tls {
            server: server(),
            detail: String::new()
        }
        .is_transient()
    );
    assert!(!MailError::NoTransport.is_transient());
}
