//! Mail through `SmtpMailer` to a real SMTP server (aiosmtpd on loopback), read back and
//! decoded: headers, text and HTML parts, UTF-8, pooling, TLS, AUTH, and the errors of a
//! refused recipient, a server that is down, one that never answers and a TLS mismatch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::time::Duration;

use sigra_core::mail::{
    Address, AnyMailer, MailError, MailKind, Mailer, MailerSettings, OutgoingMail, SmtpMailer,
    SmtpOptions, SmtpSecurity, mailer_from_lookup,
};
use sigra_tests::smtp::{ReceivedMail, SinkOptions, SinkTls, SmtpSink};

const WAIT: Duration = Duration::from_secs(15);

fn from() -> Address {
    Address::new("noreply@app.example")
        .unwrap()
        .with_name("Sigra Tëst")
        .unwrap()
}

fn to(email: &str) -> Address {
    Address::new(email).unwrap()
}

fn plain(kind: MailKind, to_addr: &str, subject: &str) -> OutgoingMail {
    OutgoingMail::new(kind, to(to_addr), subject, format!("Body of {subject}.")).unwrap()
}

fn lf(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn find<'a>(mails: &'a [ReceivedMail], kind: &MailKind) -> &'a ReceivedMail {
    mails
        .iter()
        .find(|m| m.kind.as_deref() == Some(kind.as_str()))
        .unwrap_or_else(|| panic!("no {kind} mail among {} received", mails.len()))
}

fn trusting(sink: &SmtpSink) -> SmtpOptions {
    SmtpOptions::default().add_root_certificate_pem(sink.ca_pem().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_text_and_html_with_utf8_headers_and_bodies() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), from()).unwrap();
    assert_eq!(mailer.security(), SmtpSecurity::Plain);

    let recipient = to("zoe@example.com").with_name("Zoë Ångström").unwrap();
    let subject = "Bestätige dein Konto – 確認してください ✔";
    let text = format!(
        "Hallo Zoë,\n\nöffne https://app.example/users/confirm/SFMyNTY.g2gDbQ oder gib 042917 ein.\n\n{}\n— Ihr Team 🚀\n",
        "Eine sehr lange Zeile, die über die 78 Zeichen einer Mailzeile hinausgeht und umbrochen werden muss. ".repeat(3)
    );
    let html = "<p>Hallo Zoë,</p><p><a href=\"https://app.example/users/confirm/SFMyNTY.g2gDbQ\">Bestätigen</a> oder <b>042917</b> = ok?</p>";
    let mail = OutgoingMail::new(MailKind::CONFIRM, recipient, subject, text.clone())
        .unwrap()
        .with_html(html)
        .unwrap();
    mailer.send(&mail).await.unwrap();

    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.mail_from, "noreply@app.example");
    assert_eq!(m.rcpt_tos, ["zoe@example.com"]);
    assert_eq!(m.subject.as_deref(), Some(subject));
    assert_eq!(m.from.as_deref(), Some("Sigra Tëst <noreply@app.example>"));
    assert_eq!(m.to.as_deref(), Some("Zoë Ångström <zoe@example.com>"));
    assert_eq!(m.kind.as_deref(), Some("confirm"));
    assert_eq!(m.content_type, "multipart/alternative");
    assert_eq!(lf(m.text.as_deref().unwrap()), text);
    assert_eq!(lf(m.html.as_deref().unwrap()), html);
    assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"));
    let id = m.message_id.as_deref().unwrap();
    assert!(id.starts_with('<') && id.ends_with("@app.example>"), "{id}");
    assert!(m.header("Date").is_some());
    assert!(!m.tls);
    // The header section went out as 7-bit ASCII (RFC 2047 words), readable by any server.
    let head = m.raw.split("\r\n\r\n").next().unwrap();
    assert!(head.is_ascii(), "non-ASCII header bytes:\n{head}");
    assert!(!m.smtputf8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_only_mail_is_a_single_text_part() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), from()).unwrap();
    let mail = plain(
        MailKind::PASSWORD_CHANGED,
        "bob@example.com",
        "Your password was changed",
    );
    mailer.send(&mail).await.unwrap();
    let m = &sink.wait_for(1, WAIT)[0];
    assert_eq!(m.content_type, "text/plain");
    // lettre ends a single-part body with a blank line; nothing else changes.
    assert_eq!(
        lf(m.text.as_deref().unwrap()).trim_end(),
        "Body of Your password was changed."
    );
    assert_eq!(m.html, None);
    assert_eq!(m.kind.as_deref(), Some("password_changed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_mails_share_one_pooled_connection() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), from()).unwrap();
    let kinds = [
        MailKind::CONFIRM,
        MailKind::MAGIC_LINK,
        MailKind::RESET_PASSWORD,
        MailKind::CHANGE_EMAIL,
        MailKind::LOCKOUT_NOTICE,
    ];
    for kind in &kinds {
        let mail = plain(kind.clone(), "carol@example.com", &format!("Mail {kind}"));
        mailer.clone().send(&mail).await.unwrap();
        // lettre parks a used connection from a spawned task: let it run before the next send.
        tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(100)))
            .await
            .unwrap();
    }
    let got = sink.wait_for(kinds.len(), WAIT);
    assert_eq!(got.len(), kinds.len());
    for kind in &kinds {
        let m = find(&got, kind);
        assert_eq!(m.subject.as_deref(), Some(format!("Mail {kind}").as_str()));
    }
    let ports: Vec<_> = got.iter().map(|m| m.peer_port).collect();
    assert!(ports[0].is_some());
    assert!(
        ports.iter().all(|p| *p == ports[0]),
        "sequential sends should reuse one connection, source ports were {ports:?}"
    );

    // Concurrent sends through clones all arrive.
    let sends = (0..4).map(|i| {
        let mailer = mailer.clone();
        tokio::spawn(async move {
            let mail = plain(
                MailKind::MAGIC_LINK,
                "dave@example.com",
                &format!("Concurrent {i}"),
            );
            mailer.send(&mail).await
        })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await.unwrap().unwrap();
    }
    let got = sink.wait_for(kinds.len() + 4, WAIT);
    for i in 0..4 {
        let subject = format!("Concurrent {i}");
        assert!(
            got.iter()
                .any(|m| m.subject.as_deref() == Some(subject.as_str()))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_is_a_clear_permanent_rejection() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), from()).unwrap();
    let err = mailer
        .send(&plain(
            MailKind::RESET_PASSWORD,
            "refused@example.com",
            "Reset",
        ))
        .await
        .unwrap_err();
    match &err {
        MailError::Rejected {
            code,
            message,
            server,
        } => {
            assert_eq!(*code, 550);
            assert!(message.contains("Recipient address rejected"), "{message}");
            assert_eq!(server, &format!("127.0.0.1:{}", sink.port()));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(
        err.to_string().contains("refused the mail with code 550"),
        "{err}"
    );

    // The mailer is still usable afterwards.
    mailer
        .send(&plain(
            MailKind::RESET_PASSWORD,
            "erin@example.com",
            "Reset",
        ))
        .await
        .unwrap();
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_tos, ["erin@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_a_connection_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let url = format!("smtp://sigra:hunter22-secret@127.0.0.1:{port}");
    let mailer = SmtpMailer::from_url(&url, from()).unwrap();
    let err = mailer
        .send(&plain(MailKind::CONFIRM, "zoe@example.com", "Hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Connection { .. }), "{err:?}");
    assert!(err.is_transient());
    let shown = format!("{err} / {err:?}");
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    assert!(shown.contains("check SMTP_URL"), "{shown}");
    assert!(!shown.contains("hunter22"), "{shown}");
    assert!(!shown.contains("sigra:"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_and_the_pool_recovers() {
    // Accepts connections and says nothing: no banner, ever (until the test is done).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done, wait_done) = std::sync::mpsc::channel::<()>();
    let held = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(2).collect();
        let _ = wait_done.recv();
        drop(conns);
    });
    let mailer = SmtpMailer::from_url_with(
        &format!("smtp://127.0.0.1:{port}"),
        from(),
        SmtpOptions::default().timeout(Duration::from_secs(1)),
    )
    .unwrap();
    for _ in 0..2 {
        let err = mailer
            .send(&plain(MailKind::CONFIRM, "zoe@example.com", "Hi"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Timeout { .. }), "{err:?}");
        assert!(err.is_transient());
        assert!(err.to_string().contains("did not answer in time"), "{err}");
    }
    drop(mailer);
    done.send(()).unwrap();
    held.join().unwrap();
}

/// A scripted SMTP server for one connection: answers everything with 250 (354 for DATA);
/// after the message's final `.` it answers 250, or says nothing when `stall` is set.
fn scripted_smtp(
    stream: std::net::TcpStream,
    stall: bool,
    stalled: &std::sync::mpsc::Receiver<()>,
) {
    use std::io::{BufRead, BufReader, Write};
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream).lines();
    writeln!(out, "220 scripted\r").unwrap();
    while let Some(Ok(line)) = lines.next() {
        let verb = line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "DATA" => {
                writeln!(out, "354 go ahead\r").unwrap();
                for body in lines.by_ref() {
                    if body.unwrap() == "." {
                        break;
                    }
                }
                if stall {
                    let _ = stalled.recv(); // hold the connection, answer nothing
                    return;
                }
                writeln!(out, "250 queued\r").unwrap();
            }
            "QUIT" => {
                writeln!(out, "221 bye\r").unwrap();
                return;
            }
            _ => writeln!(out, "250 ok\r").unwrap(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_mid_message_times_out_and_the_stuck_connection_is_never_reused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (release, stalled) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let mut conns = listener.incoming();
        // First connection: the message is sent, then the server goes silent.
        let first = conns.next().unwrap().unwrap();
        let (_, never) = std::sync::mpsc::channel::<()>();
        let stuck = std::thread::spawn(move || scripted_smtp(first, true, &stalled));
        // Second connection: a healthy server.
        let second = conns.next().unwrap().unwrap();
        scripted_smtp(second, false, &never);
        stuck.join().unwrap();
    });

    let mailer = SmtpMailer::from_url_with(
        &format!("smtp://127.0.0.1:{port}"),
        from(),
        SmtpOptions::default().timeout(Duration::from_secs(1)),
    )
    .unwrap();
    let mail = plain(MailKind::CONFIRM, "zoe@example.com", "Hi");
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(matches!(err, MailError::Timeout { .. }), "{err:?}");
    // Had the stuck connection gone back to the pool, this would wait on it and time out too.
    mailer.send(&mail).await.unwrap();
    drop(mailer);
    release.send(()).unwrap();
    server.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_succeeds_and_a_wrong_password_is_rejected_without_leaking_it() {
    let Some(sink) = SmtpSink::start_with(SinkOptions {
        auth: Some(("sigra@app.example".into(), "s3cret pässword/@:".into())),
        ..SinkOptions::default()
    }) else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), from()).unwrap();
    let debug = format!("{mailer:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    mailer
        .send(&plain(MailKind::MAGIC_LINK, "zoe@example.com", "Sign in"))
        .await
        .unwrap();
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got[0].auth_user.as_deref(), Some("sigra@app.example"));

    let wrong = "hunter2-wrong-password";
    let mailer = SmtpMailer::from_url(
        &sink.url_with_credentials("sigra@app.example", wrong),
        from(),
    )
    .unwrap();
    let err = mailer
        .send(&plain(MailKind::MAGIC_LINK, "zoe@example.com", "Sign in"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MailError::Rejected { code: 535, .. }),
        "{err:?}"
    );
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains(wrong), "{shown}");
    assert!(!shown.contains("aHVudGVyMi13cm9uZy1wYXNzd29yZA"), "{shown}"); // base64 of it
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_credentials_to_a_trusted_server() {
    let Some(sink) = SmtpSink::start_with(SinkOptions {
        tls: SinkTls::StartTls,
        auth: Some(("apikey".into(), "tls-only-secret".into())),
        ..SinkOptions::default()
    }) else {
        return;
    };
    let url = sink.url();
    assert!(url.ends_with("?tls=required"), "{url}");
    let mailer = SmtpMailer::from_url_with(&url, from(), trusting(&sink)).unwrap();
    assert_eq!(mailer.security(), SmtpSecurity::StartTlsRequired);
    mailer.check_connection().await.unwrap();
    mailer
        .send(&plain(
            MailKind::CHANGE_EMAIL,
            "new@example.com",
            "Confirm your new address",
        ))
        .await
        .unwrap();
    let m = &sink.wait_for(1, WAIT)[0];
    assert!(m.tls, "the mail should have arrived over STARTTLS");
    assert_eq!(m.auth_user.as_deref(), Some("apikey"));
    assert_eq!(m.kind.as_deref(), Some("change_email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_by_host_name() {
    let Some(sink) = SmtpSink::start_with(SinkOptions {
        tls: SinkTls::Implicit,
        ..SinkOptions::default()
    }) else {
        return;
    };
    let url = sink.url_with_host("localhost");
    assert!(url.starts_with("smtps://localhost:"), "{url}");
    let mailer = SmtpMailer::from_url_with(&url, from(), trusting(&sink)).unwrap();
    assert_eq!(mailer.security(), SmtpSecurity::ImplicitTls);
    mailer
        .send(&plain(
            MailKind::LOCKOUT_NOTICE,
            "zoe@example.com",
            "Account locked",
        ))
        .await
        .unwrap();
    let m = &sink.wait_for(1, WAIT)[0];
    assert!(m.tls);
    assert_eq!(m.subject.as_deref(), Some("Account locked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_failures_are_tls_errors() {
    let mail = plain(MailKind::CONFIRM, "zoe@example.com", "Hi");

    // An untrusted certificate (the sink's CA is not added).
    if let Some(sink) = SmtpSink::start_with(SinkOptions {
        tls: SinkTls::StartTls,
        ..SinkOptions::default()
    }) {
        let err = SmtpMailer::from_url(&sink.url(), from())
            .unwrap()
            .send(&mail)
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Tls { .. }), "{err:?}");
        assert!(
            err.to_string().to_lowercase().contains("certificate"),
            "{err}"
        );
        assert!(!err.is_transient());
        assert!(sink.received().is_empty());
    }

    let Some(plain_sink) = SmtpSink::start() else {
        return;
    };
    // tls=required, but the server offers no STARTTLS.
    let url = format!("smtp://127.0.0.1:{}?tls=required", plain_sink.port());
    let err = SmtpMailer::from_url(&url, from())
        .unwrap()
        .send(&mail)
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    // smtps:// to a plaintext server.
    let url = format!("smtps://127.0.0.1:{}", plain_sink.port());
    let err = SmtpMailer::from_url_with(
        &url,
        from(),
        SmtpOptions::default().timeout(Duration::from_secs(3)),
    )
    .unwrap()
    .send(&mail)
    .await
    .unwrap_err();
    assert!(matches!(err, MailError::Tls { .. }), "{err:?}");
    assert!(plain_sink.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailer_from_lookup_sends_through_the_smtp_url() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let url = sink.url();
    let settings = MailerSettings::new(from()).allow_dev_mailbox(true);
    let mailer = mailer_from_lookup(
        |var| match var {
            "SMTP_URL" => Some(url.clone()),
            "MAIL_FROM" => Some("Accounts <accounts@app.example>".to_owned()),
            _ => None,
        },
        &settings,
    )
    .unwrap();
    assert!(matches!(mailer, AnyMailer::Smtp(_)));
    assert!(!mailer.is_dev_mailbox());
    mailer
        .send(&plain(
            MailKind::SUSPICIOUS_LOGIN,
            "zoe@example.com",
            "New sign-in",
        ))
        .await
        .unwrap();
    let m = &sink.wait_for(1, WAIT)[0];
    assert_eq!(m.mail_from, "accounts@app.example");
    assert_eq!(m.from.as_deref(), Some("Accounts <accounts@app.example>"));
    assert_eq!(m.kind.as_deref(), Some("suspicious_login"));
}

/// A job retried after a failed attempt sends its mail again with the same `Message-ID`, so a
/// mail client shows one mail; a mail without a set id gets a fresh random one each send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_message_id_is_identical_on_every_send_and_otherwise_random() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), from()).unwrap();
    let job_id = "0190f3a2-7c1e-7d4b-9a52-3c0f2b8e4d11";
    let retried = plain(MailKind::RESET_PASSWORD, "zoe@example.com", "Reset")
        .with_message_id(job_id)
        .unwrap();
    mailer.send(&retried).await.unwrap();
    mailer.send(&retried).await.unwrap();
    let fresh = plain(MailKind::MAGIC_LINK, "zoe@example.com", "Sign in");
    mailer.send(&fresh).await.unwrap();
    mailer.send(&fresh).await.unwrap();

    let got = sink.wait_for(4, WAIT);
    assert_eq!(got.len(), 4);
    let ids = |kind: &MailKind| -> Vec<String> {
        got.iter()
            .filter(|m| m.kind.as_deref() == Some(kind.as_str()))
            .map(|m| m.header("Message-ID").unwrap().to_owned())
            .collect()
    };
    let expected = format!("<{job_id}@app.example>");
    assert_eq!(
        ids(&MailKind::RESET_PASSWORD),
        [expected.clone(), expected.clone()]
    );
    let raw = &find(&got, &MailKind::RESET_PASSWORD).raw;
    assert!(
        raw.contains(&format!("\r\nMessage-ID: {expected}\r\n")),
        "{raw}"
    );

    let random = ids(&MailKind::MAGIC_LINK);
    assert_eq!(random.len(), 2);
    for id in &random {
        let local = id
            .strip_prefix('<')
            .and_then(|id| id.strip_suffix("@app.example>"))
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(local.len(), 32, "{id}");
        assert!(local.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_ne!(id, &expected);
    }
    assert_ne!(random[0], random[1], "each send without an id gets its own");
}

#[test]
fn the_sink_stops_when_dropped() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let port = sink.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(sink);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
