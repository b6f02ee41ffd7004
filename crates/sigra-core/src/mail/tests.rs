//! Unit tests of the transport choice, the dev mailbox transport, message ids and redaction.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

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
fn no_smtp_url_picks_the_mailbox_only_in_dev() {
    let dev = MailerSettings::new(from()).allow_dev_mailbox(true);
    let mailer = mailer_from_lookup(env(&[]), &dev).unwrap();
    assert!(mailer.is_dev_mailbox());
    assert!(matches!(mailer, AnyMailer::DevMailbox));
    assert_eq!(mailer.describe(), "dev mailbox");
    assert_eq!(format!("{mailer:?}"), "DevMailbox");

    let prod = MailerSettings::new(from());
    let err = mailer_from_lookup(env(&[]), &prod).unwrap_err();
    assert!(matches!(err, MailError::NoTransport));
    assert!(err.to_string().contains("SMTP_URL is not set"));
}

/// The dev mailbox sends nothing and succeeds, so the job completes and the mail stays
/// listed in the outbox.
#[test]
fn the_dev_mailbox_accepts_every_mail_without_sending() {
    rt().block_on(async {
        let dev = MailerSettings::new(from()).allow_dev_mailbox(true);
        let mailer = mailer_from_lookup(env(&[]), &dev).unwrap();
        mailer.send(&mail(MailKind::LOCKOUT_NOTICE)).await.unwrap();
        let with_id = mail(MailKind::CONFIRM)
            .with_message_id("0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11")
            .unwrap();
        mailer.send(&with_id).await.unwrap();
        mailer.clone().send(&with_id).await.unwrap();
    });
}

#[test]
fn an_invalid_mail_from_is_refused() {
    let dev = MailerSettings::new(from()).allow_dev_mailbox(true);
    let err = mailer_from_lookup(env(&[("MAIL_FROM", "no at sign")]), &dev).unwrap_err();
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
                let err = mailer_from_lookup(env(&[("SMTP_URL", url)]), &settings).unwrap_err();
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
        let err = mailer_from_lookup(env(&[("SMTP_URL", "smtp://localhost:2525")]), &settings)
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

#[cfg(not(feature = "smtp"))]
#[test]
fn smtp_url_without_the_smtp_feature_is_an_error() {
    let settings = MailerSettings::new(from()).allow_dev_mailbox(true);
    let err =
        mailer_from_lookup(env(&[("SMTP_URL", "smtp://localhost:25")]), &settings).unwrap_err();
    assert!(matches!(err, MailError::SmtpDisabled));
    assert!(err.to_string().contains("`smtp` feature"));
}

#[test]
fn message_ids_accept_uuids_and_dot_atoms() {
    let uuid = "0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11";
    let simple = "0190f3a27c1e7d4b9a523c0f2b8e4d11";
    for ok in [
        uuid,
        simple,
        "A",
        "job.42_retry-ok",
        &"x".repeat(MAX_MESSAGE_ID_CHARS),
    ] {
        let m = mail(MailKind::CONFIRM).with_message_id(ok).unwrap();
        assert_eq!(m.message_id(), Some(ok));
    }
    assert_eq!(mail(MailKind::CONFIRM).message_id(), None);
    let replaced = mail(MailKind::CONFIRM)
        .with_message_id("first")
        .unwrap()
        .with_message_id("second")
        .unwrap();
    assert_eq!(replaced.message_id(), Some("second"));
    assert!(format!("{replaced:?}").contains("second"));
}

#[test]
fn message_ids_that_could_break_a_header_are_refused() {
    for (bad, why) in [
        ("", "it is empty"),
        ("abc\r\nBcc: all@example.com", "only ASCII letters"),
        ("abc\n", "only ASCII letters"),
        ("\rabc", "only ASCII letters"),
        ("a b", "only ASCII letters"),
        ("a@b", "only ASCII letters"),
        ("<abc>", "only ASCII letters"),
        ("ab\u{0}", "only ASCII letters"),
        ("ab\u{2028}", "only ASCII letters"),
        ("jöb", "only ASCII letters"),
        ("a+b", "only ASCII letters"),
        (".abc", "a dot may not"),
        ("abc.", "a dot may not"),
        ("a..b", "a dot may not"),
        (".", "a dot may not"),
    ] {
        let err = mail(MailKind::CONFIRM).with_message_id(bad).unwrap_err();
        assert!(
            matches!(err, MailError::InvalidMessageId { .. }),
            "{bad:?}: {err:?}"
        );
        let shown = err.to_string();
        assert!(shown.contains(why), "{bad:?}: {shown}");
        assert!(
            shown.starts_with("invalid Message-ID local part: "),
            "{shown}"
        );
        assert!(!shown.contains(['\r', '\n']), "{shown}");
        assert!(!err.is_transient());
    }
    let err = mail(MailKind::CONFIRM)
        .with_message_id("x".repeat(MAX_MESSAGE_ID_CHARS + 1))
        .unwrap_err();
    assert!(err.to_string().contains("longer than 64"), "{err}");
}

/// Whether `s` only holds what a Message-ID local part may hold.
fn message_id_charset(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever is accepted is 1–64 characters of the allowed set, never a CR or LF.
    #[test]
    fn accepted_message_ids_hold_only_the_allowed_characters(s in any::<String>()) {
        if let Ok(m) = mail(MailKind::CONFIRM).with_message_id(s.clone()) {
            let id = m.message_id().unwrap();
            prop_assert_eq!(id, s.as_str());
            prop_assert!(message_id_charset(id), "{:?}", id);
            prop_assert!(!id.contains(['\r', '\n']));
            prop_assert!((1..=MAX_MESSAGE_ID_CHARS).contains(&id.len()));
        } else {
            prop_assert!(
                !message_id_charset(&s)
                    || s.is_empty()
                    || s.len() > MAX_MESSAGE_ID_CHARS
                    || s.starts_with('.')
                    || s.ends_with('.')
                    || s.contains(".."),
                "{:?} was refused", s
            );
        }
    }

    /// Strings near the allowed alphabet (with line breaks and other separators mixed in):
    /// accepted exactly when they keep the rules.
    #[test]
    fn near_misses_are_sorted_correctly(s in "[a-zA-Z0-9._\\-\r\n @<>:]{0,70}") {
        let accepted = mail(MailKind::CONFIRM).with_message_id(s.clone()).is_ok();
        let valid = message_id_charset(&s)
            && (1..=MAX_MESSAGE_ID_CHARS).contains(&s.len())
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..");
        prop_assert_eq!(accepted, valid, "{:?}", s);
        if s.contains(['\r', '\n']) {
            prop_assert!(!accepted);
        }
    }
}
