//! The mail module through its public API: address and header validation, redaction, the dev
//! mailbox mailer over an in-process `Mailbox`, the transport choice, and proptests that
//! arbitrary input never panics and always gets a clear answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use sigra_core::mail::{
    Address, MailError, MailKind, Mailbox, MailboxMailer, Mailer, MailerSettings, OutgoingMail,
    StoredMail, mailer_from_lookup,
};
use time::OffsetDateTime;

/// The `Mailbox` contract over a Vec behind a mutex: the trait's contract made concrete.
#[derive(Clone, Default)]
struct VecMailbox(Arc<Mutex<Vec<StoredMail>>>);

impl Mailbox for VecMailbox {
    type Error = std::convert::Infallible;

    async fn deliver(
        &self,
        mail: &OutgoingMail,
        sent_at: OffsetDateTime,
    ) -> Result<String, Self::Error> {
        let mut mails = self.0.lock().unwrap();
        let id = format!("{:08}", mails.len() + 1);
        mails.push(StoredMail::from_outgoing(id.clone(), mail, sent_at));
        Ok(id)
    }

    async fn list(&self, limit: u32) -> Result<Vec<StoredMail>, Self::Error> {
        let mut newest: Vec<StoredMail> = self.0.lock().unwrap().iter().rev().cloned().collect();
        newest.sort_by_key(|m| std::cmp::Reverse(m.sent_at));
        newest.truncate(limit as usize);
        Ok(newest)
    }

    async fn get(&self, id: &str) -> Result<Option<StoredMail>, Self::Error> {
        Ok(self.0.lock().unwrap().iter().find(|m| m.id == id).cloned())
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn addr(s: &str) -> Address {
    Address::new(s).unwrap()
}

#[test]
fn header_injection_is_refused_everywhere_with_a_clear_error() {
    let injected = "x@example.com\r\nBcc: everyone@example.com";
    let err = Address::new(injected).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the address contains a line break (CR or LF) or another control character, which could inject mail headers; remove it"
    );
    assert!(matches!(
        injected.parse::<Address>(),
        Err(MailError::HeaderInjection { field: "address" })
    ));
    assert!(matches!(
        addr("a@example.com").with_name("Mallory\nBcc: x@example.com"),
        Err(MailError::HeaderInjection {
            field: "display name"
        })
    ));
    for subject in ["Hi\r\nBcc: x@example.com", "Hi\n", "Hi\rthere"] {
        let err = OutgoingMail::new(MailKind::CONFIRM, addr("a@example.com"), subject, "body")
            .unwrap_err();
        assert!(matches!(
            err,
            MailError::HeaderInjection { field: "subject" }
        ));
        assert!(
            err.to_string()
                .starts_with("the subject contains a line break")
        );
    }
}

#[test]
fn debug_output_hides_links_and_codes() {
    let mail = OutgoingMail::new(
        MailKind::RESET_PASSWORD,
        addr("zoe@example.com"),
        "Code 918273",
        "Reset: https://app.example/reset/TOKEN-abcdef",
    )
    .unwrap()
    .with_html("<a href=\"https://app.example/reset/TOKEN-abcdef\">Reset</a>")
    .unwrap();
    let stored = StoredMail::from_outgoing("1".into(), &mail, OffsetDateTime::UNIX_EPOCH);
    for debug in [format!("{mail:?}"), format!("{stored:?}")] {
        assert!(!debug.contains("TOKEN-abcdef"), "{debug}");
        assert!(!debug.contains("918273"), "{debug}");
        assert!(debug.contains("reset_password"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }
}

#[test]
fn mailbox_mailer_stores_every_field_and_lists_newest_first() {
    rt().block_on(async {
        let store = VecMailbox::default();
        let mailer = MailboxMailer::new(store.clone());
        let confirm = OutgoingMail::new(
            MailKind::CONFIRM,
            addr("zoe@example.com").with_name("Zoë Ångström").unwrap(),
            "Bestätige dein Konto",
            "Code: 042917",
        )
        .unwrap()
        .with_html("<b>042917</b>")
        .unwrap();
        let notice = OutgoingMail::new(
            MailKind::LOCKOUT_NOTICE,
            addr("zoe@example.com"),
            "Locked",
            "Locked for 15 minutes.",
        )
        .unwrap();
        mailer.send(&confirm).await.unwrap();
        mailer.send(&notice).await.unwrap();

        let listed = store.list(10).await.unwrap();
        assert_eq!(listed.len(), 2);
        let newest = &listed[0];
        assert!(newest.has_kind(&MailKind::LOCKOUT_NOTICE));
        assert_eq!(newest.html, None);
        let first = store.get(&listed[1].id).await.unwrap().unwrap();
        assert_eq!(first.kind, "confirm");
        assert_eq!(first.to, "\"Zoë Ångström\" <zoe@example.com>");
        assert_eq!(first.to.parse::<Address>().unwrap(), *confirm.to());
        assert_eq!(first.subject, "Bestätige dein Konto");
        assert_eq!(first.text, "Code: 042917");
        assert_eq!(first.html.as_deref(), Some("<b>042917</b>"));
        assert!(store.get("nope").await.unwrap().is_none());
        assert_eq!(store.list(1).await.unwrap().len(), 1);
    });
}

#[cfg(feature = "testing")]
#[test]
fn vec_mailbox_passes_the_conformance_suite() {
    rt().block_on(async {
        sigra_core::mail::conformance::check_mailbox(&VecMailbox::default())
            .await
            .unwrap();
    });
}

#[test]
fn transport_choice_reads_the_lookup_not_the_process_environment() {
    let settings = MailerSettings::new(addr("noreply@app.example")).allow_dev_mailbox(true);
    let dev = mailer_from_lookup(|_| None, &settings, VecMailbox::default()).unwrap();
    assert!(dev.is_dev_mailbox());
    let prod = MailerSettings::new(addr("noreply@app.example"));
    assert!(matches!(
        mailer_from_lookup(|_| None, &prod, VecMailbox::default()),
        Err(MailError::NoTransport)
    ));
}

#[cfg(feature = "smtp")]
#[test]
fn smtp_url_selects_smtp_inside_a_runtime() {
    rt().block_on(async {
        let settings = MailerSettings::new(addr("noreply@app.example"));
        let mailer = mailer_from_lookup(
            |var| {
                (var == "SMTP_URL").then(|| "smtps://user:Zq-secret-9@smtp.example.com".to_owned())
            },
            &settings,
            VecMailbox::default(),
        )
        .unwrap();
        assert!(!mailer.is_dev_mailbox());
        assert_eq!(
            mailer.describe(),
            "SMTP smtp.example.com:465 (implicit TLS)"
        );
        assert!(!format!("{mailer:?}").contains("Zq-secret-9"));
    });
}

/// Characters that end or corrupt a header line.
fn breaks_header(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

/// Addresses built from the accepted alphabet (ASCII and a few non-ASCII letters).
fn valid_address() -> impl Strategy<Value = String> {
    let atom = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}|[äöüßéñ]{1,4}";
    let label = "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?|[äöüé]{1,5}";
    (
        prop::collection::vec(atom, 1..4),
        prop::collection::vec(label, 1..4),
    )
        .prop_map(|(atoms, labels)| format!("{}@{}", atoms.join("."), labels.join(".")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_addresses_never_panic_and_errors_are_clear(s in any::<String>()) {
        match Address::new(&s) {
            Ok(a) => {
                prop_assert_eq!(a.email(), s.as_str());
                prop_assert!(!breaks_header(&s));
                prop_assert_eq!(format!("{}@{}", a.local_part(), a.domain()), s.clone());
                prop_assert_eq!(a.to_string().parse::<Address>().unwrap(), a);
            }
            Err(e) => {
                prop_assert!(
                    matches!(e, MailError::InvalidAddress { .. } | MailError::HeaderInjection { .. }),
                    "{:?}",
                    e
                );
                let injection = matches!(e, MailError::HeaderInjection { .. });
                prop_assert_eq!(injection, breaks_header(&s));
                prop_assert!(!e.to_string().is_empty());
            }
        }
        let _ = s.parse::<Address>();
    }

    #[test]
    fn arbitrary_name_and_address_forms_never_panic(name in any::<String>(), email in valid_address()) {
        let form = format!("{name} <{email}>");
        let _ = form.parse::<Address>();
        let quoted = format!("\"{name}\" <{email}>");
        let _ = quoted.parse::<Address>();
        match Address::new(&email).unwrap().with_name(&name) {
            Ok(a) => prop_assert_eq!(a.to_string().parse::<Address>().unwrap(), a),
            Err(e) => prop_assert!(breaks_header(&name) || name.trim().chars().count() > 128, "{}", e),
        }
    }

    #[test]
    fn generated_addresses_are_accepted(email in valid_address()) {
        prop_assume!(email.len() <= 254);
        prop_assert!(Address::new(&email).is_ok(), "{}", email);
    }

    #[test]
    fn arbitrary_subjects_and_bodies_never_panic(subject in any::<String>(), text in any::<String>(), html in any::<String>()) {
        match OutgoingMail::new(MailKind::MAGIC_LINK, addr("a@example.com"), subject.clone(), text.clone()) {
            Ok(mail) => {
                prop_assert!(!breaks_header(&subject));
                prop_assert_eq!(mail.subject(), subject.as_str());
                prop_assert_eq!(mail.text(), text.as_str());
                let _ = mail.with_html(html);
            }
            Err(e) => {
                if breaks_header(&subject) {
                    prop_assert!(matches!(e, MailError::HeaderInjection { field: "subject" }), "{:?}", e);
                } else {
                    prop_assert!(matches!(e, MailError::InvalidSubject { .. } | MailError::InvalidBody { .. }), "{:?}", e);
                }
            }
        }
    }

    #[test]
    fn arbitrary_kinds_never_panic(s in any::<String>()) {
        if let Ok(kind) = MailKind::new(&s) {
            prop_assert_eq!(kind.as_str(), s.as_str());
            prop_assert!(!breaks_header(&s) && !s.contains(' '));
        }
    }
}

#[cfg(feature = "smtp")]
mod smtp_urls {
    use super::*;
    use sigra_core::mail::{SmtpMailer, SmtpOptions};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_urls_never_panic(url in any::<String>()) {
            // Outside a runtime: a URL that parses ends at NoRuntime, others at their error.
            let _ = SmtpMailer::from_url(&url, addr("a@example.com"));
        }

        #[test]
        fn url_errors_never_contain_the_password(
            pass in "Zq[A-Za-z0-9]{6,12}",
            before in "[a-z:/?#@%.]{0,6}",
            after in "[a-z0-9:/?#@%&=.\\[\\]]{0,12}",
            scheme in prop::sample::select(vec!["smtp", "smtps", "smtq", ""]),
        ) {
            let url = format!("{scheme}://user{before}:{pass}{after}@host.example:25?tls=required");
            let rt = rt();
            let result = rt.block_on(async {
                SmtpMailer::from_url_with(&url, addr("a@example.com"), SmtpOptions::default())
                    .map(|m| format!("{m:?}"))
            });
            let shown = match result {
                Ok(debug) => debug,
                Err(e) => format!("{e} {e:?}"),
            };
            prop_assert!(!shown.contains(&pass), "{} -> {}", url, shown);
        }
    }
}
