//! The mail module through its public API: address, header and message-id validation,
//! redaction, the transport choice (SMTP or the dev mailbox, which sends nothing), and
//! proptests that arbitrary input never panics and always gets a clear answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use sigra_core::mail::{
    Address, AnyMailer, MAX_MESSAGE_ID_CHARS, MailError, MailKind, Mailer, MailerSettings,
    OutgoingMail, mailer_from_lookup,
};

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
    let with_id = mail.clone().with_message_id("job-1").unwrap();
    for debug in [format!("{mail:?}"), format!("{with_id:?}")] {
        assert!(!debug.contains("TOKEN-abcdef"), "{debug}");
        assert!(!debug.contains("918273"), "{debug}");
        assert!(debug.contains("reset_password"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }
}

#[test]
fn the_dev_mailbox_sends_nothing_and_succeeds() {
    rt().block_on(async {
        let settings = MailerSettings::new(addr("noreply@app.example")).allow_dev_mailbox(true);
        let mailer = mailer_from_lookup(|_| None, &settings).unwrap();
        assert!(matches!(mailer, AnyMailer::DevMailbox));
        let mail = OutgoingMail::new(
            MailKind::CONFIRM,
            addr("zoe@example.com").with_name("Zoë Ångström").unwrap(),
            "Bestätige dein Konto",
            "Code: 042917",
        )
        .unwrap()
        .with_html("<b>042917</b>")
        .unwrap()
        .with_message_id("0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11")
        .unwrap();
        mailer.send(&mail).await.unwrap();
        assert_eq!(
            mail.message_id(),
            Some("0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11")
        );
    });
}

#[test]
fn transport_choice_reads_the_lookup_not_the_process_environment() {
    let settings = MailerSettings::new(addr("noreply@app.example")).allow_dev_mailbox(true);
    let dev = mailer_from_lookup(|_| None, &settings).unwrap();
    assert!(dev.is_dev_mailbox());
    let prod = MailerSettings::new(addr("noreply@app.example"));
    assert!(matches!(
        mailer_from_lookup(|_| None, &prod),
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
    fn arbitrary_message_ids_never_panic_and_never_let_a_line_break_through(s in any::<String>()) {
        let mail = OutgoingMail::new(MailKind::CONFIRM, addr("a@example.com"), "Hi", "text").unwrap();
        match mail.with_message_id(s.clone()) {
            Ok(m) => {
                prop_assert_eq!(m.message_id(), Some(s.as_str()));
                prop_assert!(s.len() <= MAX_MESSAGE_ID_CHARS);
                prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b)), "{:?}", s);
            }
            Err(e) => {
                prop_assert!(matches!(e, MailError::InvalidMessageId { .. }), "{:?}", e);
                prop_assert!(!breaks_header(&e.to_string()));
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
