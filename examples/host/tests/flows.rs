//! The account flows end to end through the real router and database; mail is read from the
//! outbox.

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use sigra_core::jobs::MAIL_QUEUE;
use sigra_core::store::{JobStore as _, Store as _, Transaction as _};
use support::browser::{PASSWORD, TestApp, code_in, link_in};

const NEW_PASSWORD: &str = "a different long passphrase";

#[tokio::test]
async fn register_confirm_log_in_sudo_change_password_reset_and_magic_link() {
    let app = TestApp::start().await;
    let email = "alice@example.com";
    let mut alice = app.browser();

    // Register: redirected to the code page; a link and a code arrive.
    let resp = alice
        .submit(
            "/users/register",
            "/users/register",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/users/confirm");
    let page = alice.follow(&resp).await;
    assert!(page.body.contains("6-digit code"), "{}", page.body);
    assert!(
        alice.session_cookie().is_none(),
        "registering does not log in"
    );

    // Confirm by code: logged in, no banner.
    let mail = app.mail(email, "confirm").await;
    let code = code_in(&mail);
    let resp = alice
        .submit(
            "/users/confirm",
            "/users/confirm",
            &[("email", email), ("code", &code)],
        )
        .await;
    resp.assert_redirect("/");
    let home = alice.follow(&resp).await;
    assert!(home.body.contains("You are logged in as"), "{}", home.body);
    assert!(home.body.contains(email));
    assert!(!home.body.contains("not confirmed"));
    assert!(
        home.body.contains("Your email address is confirmed"),
        "flash shown"
    );

    // Log out, then back in with the password.
    let resp = alice.post("/users/log_out", &[]).await;
    resp.assert_redirect("/");
    assert!(alice.session_cookie().is_none());
    let home = alice.get("/").await;
    assert!(home.body.contains("You are not logged in"));

    let resp = alice
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/");
    assert!(alice.session_cookie().is_some());

    // A second device logs in too.
    let mut phone = app.browser();
    phone.user_agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1".into();
    let resp = phone
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/");
    let sessions = alice.get("/users/sessions").await;
    assert_eq!(sessions.status, StatusCode::OK);
    assert!(sessions.body.contains("this session"));
    assert!(sessions.body.contains("Firefox on Linux"));
    assert!(sessions.body.contains("Safari on iPhone"));

    // Logging in starts sudo mode, so the settings forms show at once. Enter sudo again
    // explicitly anyway, as after the window has passed.
    let resp = alice
        .submit(
            "/users/sudo?return_to=/users/settings",
            "/users/sudo",
            &[("password", PASSWORD), ("return_to", "/users/settings")],
        )
        .await;
    resp.assert_redirect("/users/settings");
    let settings = alice.follow(&resp).await;
    assert!(
        settings.body.contains("Change password"),
        "{}",
        settings.body
    );

    // Change the password: the phone is logged out, this browser stays logged in.
    let resp = alice
        .post(
            "/users/settings/password",
            &[
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    resp.assert_redirect("/users/settings");
    assert!(alice.get("/").await.body.contains("You are logged in as"));
    assert!(phone.get("/").await.body.contains("You are not logged in"));
    app.mail(email, "password_changed").await;

    // The old password no longer works; the new one does.
    let mut laptop = app.browser();
    let resp = laptop
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.body.contains("Invalid email or password"));

    // Reset the password through the mailed link: every session ends.
    let mut stranger_device = app.browser();
    let resp = stranger_device
        .submit(
            "/users/reset_password",
            "/users/reset_password",
            &[("email", email)],
        )
        .await;
    resp.assert_redirect("/users/log_in");
    let mail = app.mail(email, "reset_password").await;
    let link = link_in(&mail, "/users/reset_password/");
    let form = stranger_device.get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Choose a new password"));
    let resp = stranger_device
        .post(
            &link,
            &[("password", PASSWORD), ("password_confirmation", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/users/log_in");
    assert!(
        alice.get("/").await.body.contains("You are not logged in"),
        "reset logs out everywhere"
    );
    // The link is used up.
    let again = stranger_device.get(&link).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("invalid or it has expired"));

    // Magic link: the GET shows a button (mail scanners do not log in); the POST logs in.
    let mut tablet = app.browser();
    let resp = tablet
        .submit("/users/log_in", "/users/log_in/magic", &[("email", email)])
        .await;
    resp.assert_redirect("/users/log_in");
    let mail = app.mail(email, "magic_link").await;
    let link = link_in(&mail, "/users/log_in/");
    let page = tablet.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        tablet.session_cookie().is_none(),
        "opening the link alone does not log in"
    );
    let resp = tablet.post(&link, &[]).await;
    resp.assert_redirect("/");
    assert!(tablet.get("/").await.body.contains("You are logged in as"));
    // Single use.
    let mut other = app.browser();
    other.get(&link).await;
    let resp = other.post(&link, &[]).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn confirm_by_link_logs_in() {
    let app = TestApp::start().await;
    let email = "bob@example.com";
    let mut bob = app.browser();
    bob.submit(
        "/users/register",
        "/users/register",
        &[("email", email), ("password", PASSWORD)],
    )
    .await
    .assert_redirect("/users/confirm");
    let mail = app.mail(email, "confirm").await;
    let link = link_in(&mail, "/users/confirm/");

    let mut scanner = app.browser();
    assert_eq!(scanner.get(&link).await.status, StatusCode::OK);

    let page = bob.get(&link).await;
    assert!(page.body.contains("Confirm my account"));
    bob.post(&link, &[]).await.assert_redirect("/");
    let home = bob.get("/").await;
    assert!(home.body.contains("You are logged in as"));
    assert!(!home.body.contains("not confirmed"));
}

/// Registers `email` with `PASSWORD` in `browser` and logs in while it is unconfirmed (allowed
/// by default): what someone squatting an address they do not own can do.
async fn squat(app: &TestApp, email: &str) -> support::browser::Browser {
    let mut squatter = app.browser();
    squatter
        .submit(
            "/users/register",
            "/users/register",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/users/confirm");
    squatter
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("remember_me", "true"),
            ],
        )
        .await
        .assert_redirect("/");
    assert!(
        squatter
            .get("/")
            .await
            .body
            .contains("You are logged in as")
    );
    squatter
}

#[tokio::test]
async fn the_owner_confirming_in_another_browser_ends_a_squatters_hold() {
    let app = TestApp::start().await;
    let email = "squatted@example.com";
    let mut squatter = squat(&app, email).await;

    // The owner opens the mailed link in their own browser: no registration cookie, so the
    // page offers the password field; they leave it empty.
    let link = link_in(&app.mail(email, "confirm").await, "/users/confirm/");
    let mut owner = app.browser();
    let page = owner.get(&link).await;
    assert!(page.body.contains("Password (optional)"), "{}", page.body);
    owner
        .post(&link, &[])
        .await
        .assert_redirect("/users/settings#password");

    // The squatter is logged out and their password is gone.
    assert!(
        squatter
            .get("/")
            .await
            .body
            .contains("You are not logged in")
    );
    let mut stranger = app.browser();
    assert!(!try_log_in(&mut stranger, email, PASSWORD).await);

    // The owner is in sudo mode and chooses a password.
    owner
        .post(
            "/users/settings/password",
            &[
                ("password", "the owner's own passphrase"),
                ("password_confirmation", "the owner's own passphrase"),
            ],
        )
        .await
        .assert_redirect("/users/settings");
    let mut laptop = app.browser();
    assert!(try_log_in(&mut laptop, email, "the owner's own passphrase").await);
}

#[tokio::test]
async fn confirming_in_another_browser_keeps_the_password_when_it_is_typed() {
    let app = TestApp::start().await;
    let email = "typed@example.com";
    let mut first = app.browser();
    first
        .submit(
            "/users/register",
            "/users/register",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/users/confirm");
    let link = link_in(&app.mail(email, "confirm").await, "/users/confirm/");

    let mut phone = app.browser();
    phone.get(&link).await;
    let resp = phone
        .post(&link, &[("password", "not what was chosen")])
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.body
            .contains("not the password this account was registered with"),
        "{}",
        resp.body
    );
    phone
        .post(&link, &[("password", PASSWORD)])
        .await
        .assert_redirect("/");
    let mut laptop = app.browser();
    assert!(try_log_in(&mut laptop, email, PASSWORD).await);

    // In the registering browser the form does not ask: the registration cookie is proof.
    let page = first.get("/users/confirm").await;
    assert!(!page.body.contains("Password (optional)"), "{}", page.body);
}

#[tokio::test]
async fn a_magic_link_into_an_unconfirmed_account_claims_it_for_the_mailbox_owner() {
    let app = TestApp::start().await;
    let email = "magic-squat@example.com";
    let mut squatter = squat(&app, email).await;

    let mut owner = app.browser();
    owner
        .submit("/users/log_in", "/users/log_in/magic", &[("email", email)])
        .await;
    let link = link_in(&app.mail(email, "magic_link").await, "/users/log_in/");
    owner.get(&link).await;
    owner
        .post(&link, &[])
        .await
        .assert_redirect("/users/settings#password");
    assert!(
        squatter
            .get("/")
            .await
            .body
            .contains("You are not logged in")
    );
    let mut stranger = app.browser();
    assert!(!try_log_in(&mut stranger, email, PASSWORD).await);
}

#[tokio::test]
async fn unconfirmed_users_see_a_banner_and_can_get_a_new_code() {
    let app = TestApp::start().await;
    let email = "carol@example.com";
    let mut carol = app.browser();
    carol
        .submit(
            "/users/register",
            "/users/register",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    let first = code_in(&app.mail(email, "confirm").await);

    // Unconfirmed accounts may log in (the default policy) and see a banner.
    carol
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/");
    let home = carol.get("/").await;
    assert!(home.body.contains("not confirmed"), "{}", home.body);

    // A new code replaces the old one.
    carol
        .submit(
            "/users/confirm",
            "/users/confirm/resend",
            &[("email", email)],
        )
        .await
        .assert_redirect("/users/confirm");
    assert_eq!(app.mail_count(email).await, 2);
    let second = code_in(&app.mail(email, "confirm").await);
    if first != second {
        let resp = carol
            .post("/users/confirm", &[("email", email), ("code", &first)])
            .await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    carol
        .post("/users/confirm", &[("email", email), ("code", &second)])
        .await
        .assert_redirect("/");
    assert!(!carol.get("/").await.body.contains("not confirmed"));
}

#[tokio::test]
async fn a_reset_link_mailed_to_the_old_address_dies_with_an_email_change() {
    let app = TestApp::start().await;
    let old = "erin@example.com";
    let mut erin = app.confirmed_user(old).await;
    // Someone who reads the old mailbox asks for a reset link there.
    let mut old_mailbox_reader = app.browser();
    old_mailbox_reader
        .submit(
            "/users/reset_password",
            "/users/reset_password",
            &[("email", old)],
        )
        .await
        .assert_redirect("/users/log_in");
    let reset = link_in(
        &app.mail(old, "reset_password").await,
        "/users/reset_password/",
    );

    // The owner moves the account to a new address.
    erin.submit(
        "/users/sudo",
        "/users/sudo",
        &[("password", PASSWORD), ("return_to", "/users/settings")],
    )
    .await
    .assert_redirect("/users/settings");
    erin.post(
        "/users/settings/email",
        &[("email", "erin@new.example.com")],
    )
    .await
    .assert_redirect("/users/settings");
    let change = link_in(
        &app.mail("erin@new.example.com", "change_email").await,
        "/users/settings/confirm_email/",
    );
    erin.post(&change, &[])
        .await
        .assert_redirect("/users/settings");

    // The old link no longer opens the form, nor sets a password.
    let form = old_mailbox_reader.get(&reset).await;
    assert_eq!(
        form.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        form.body
    );
    assert!(
        form.body.contains("invalid or it has expired"),
        "{}",
        form.body
    );
    let resp = old_mailbox_reader
        .post(
            &reset,
            &[
                ("password", "taken over at last"),
                ("password_confirmation", "taken over at last"),
            ],
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.body
    );
    assert!(
        erin.get("/users/settings")
            .await
            .body
            .contains("erin@new.example.com")
    );
}

#[tokio::test]
async fn email_change_needs_sudo_and_the_link_from_the_new_address() {
    let app = TestApp::start().await;
    let mut dave = app.confirmed_user("dave@example.com").await;
    let mut other_device = app.browser();
    other_device
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", "dave@example.com"), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/");

    let settings = dave.get("/users/settings").await;
    assert_eq!(settings.status, StatusCode::OK);
    // Confirming by code starts no sudo window: the page links to /users/sudo.
    assert!(
        settings
            .body
            .contains("/users/sudo?return_to=/users/settings"),
        "{}",
        settings.body
    );
    let resp = dave
        .post(
            "/users/settings/email",
            &[("email", "dave@new.example.com")],
        )
        .await;
    resp.assert_redirect("/users/sudo?return_to=/users/settings");

    dave.submit(
        "/users/sudo",
        "/users/sudo",
        &[("password", PASSWORD), ("return_to", "/users/settings")],
    )
    .await
    .assert_redirect("/users/settings");
    let resp = dave
        .post(
            "/users/settings/email",
            &[("email", "dave@new.example.com")],
        )
        .await;
    resp.assert_redirect("/users/settings");
    let mail = app.mail("dave@new.example.com", "change_email").await;
    let link = link_in(&mail, "/users/settings/confirm_email/");
    let page = dave.get(&link).await;
    assert!(
        page.body.contains("Change my email address"),
        "{}",
        page.body
    );
    dave.post(&link, &[])
        .await
        .assert_redirect("/users/settings");
    let settings = dave.get("/users/settings").await;
    assert!(settings.body.contains("dave@new.example.com"));
    // The old address is told, with the new one.
    let notice = app.mail("dave@example.com", "email_changed").await;
    assert!(notice.contains("dave@new.example.com"), "{notice}");
    assert!(
        other_device
            .get("/")
            .await
            .body
            .contains("You are not logged in")
    );

    // The old address no longer logs in; the new one does.
    let mut fresh = app.browser();
    let resp = fresh
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", "dave@new.example.com"), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/");
}

#[tokio::test]
async fn sessions_can_be_revoked_one_by_one_or_all_others() {
    let app = TestApp::start().await;
    let email = "erin@example.com";
    let mut erin = app.confirmed_user(email).await;
    let mut devices = Vec::new();
    for _ in 0..3 {
        let mut device = app.browser();
        device
            .submit(
                "/users/log_in",
                "/users/log_in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await
            .assert_redirect("/");
        devices.push(device);
    }
    let page = erin.get("/users/sessions").await;
    let revoke_paths: Vec<String> = page
        .body
        .match_indices("action=\"/users/sessions/")
        .map(|(i, _)| {
            let rest = &page.body[i + "action=\"".len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .filter(|path| path.ends_with("/revoke"))
        .collect();
    assert_eq!(
        revoke_paths.len(),
        3,
        "one button per other session: {}",
        page.body
    );

    erin.post(&revoke_paths[0], &[])
        .await
        .assert_redirect("/users/sessions");
    let logged_out = {
        let mut n = 0;
        for device in &mut devices {
            if device.get("/").await.body.contains("You are not logged in") {
                n += 1;
            }
        }
        n
    };
    assert_eq!(logged_out, 1);

    let resp = erin.post("/users/sessions/revoke_others", &[]).await;
    resp.assert_redirect("/users/sessions");
    assert!(
        erin.follow(&resp)
            .await
            .body
            .contains("2 other sessions are logged out")
    );
    for device in &mut devices {
        assert!(device.get("/").await.body.contains("You are not logged in"));
    }
    assert!(erin.get("/").await.body.contains("You are logged in as"));

    // Someone else's session id revokes nothing.
    let mut frank = app.confirmed_user("frank@example.com").await;
    let own = erin.get("/users/sessions").await;
    assert!(own.body.contains("this session"));
    let resp = frank.post(&revoke_paths[1], &[]).await;
    resp.assert_redirect("/users/sessions");
}

#[tokio::test]
async fn pages_that_need_a_login_send_to_it_and_come_back() {
    let app = TestApp::start().await;
    let mut anon = app.browser();
    for path in ["/users/settings", "/users/sessions", "/users/sudo"] {
        let resp = anon.get(path).await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            resp.location()
                .unwrap()
                .starts_with("/users/log_in?return_to="),
            "{path}"
        );
    }

    app.confirmed_user("gina@example.com").await;
    let page = anon.get("/users/log_in?return_to=/users/sessions").await;
    // (minijinja escapes `/` in attribute values as `&#x2f;`.)
    assert!(
        page.body
            .contains(r#"name="return_to" value="&#x2f;users&#x2f;sessions""#),
        "{}",
        page.body
    );
    let resp = anon
        .post(
            "/users/log_in",
            &[
                ("email", "gina@example.com"),
                ("password", PASSWORD),
                ("return_to", "/users/sessions"),
            ],
        )
        .await;
    resp.assert_redirect("/users/sessions");

    // Only local paths are honoured.
    let mut other = app.browser();
    let resp = other
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[
                ("email", "gina@example.com"),
                ("password", PASSWORD),
                ("return_to", "//evil.example/phish"),
            ],
        )
        .await;
    resp.assert_redirect("/");
    let resp = other
        .submit(
            "/users/sudo",
            "/users/sudo",
            &[
                ("password", PASSWORD),
                ("return_to", "https://evil.example"),
            ],
        )
        .await;
    resp.assert_redirect("/users/settings");
}

#[tokio::test]
async fn remember_me_sets_a_persistent_cookie() {
    let app = TestApp::start().await;
    app.confirmed_user("hal@example.com").await;
    let mut browser = app.browser();
    browser.get("/users/log_in").await;
    let resp = browser
        .post(
            "/users/log_in",
            &[
                ("email", "hal@example.com"),
                ("password", PASSWORD),
                ("remember_me", "true"),
            ],
        )
        .await;
    resp.assert_redirect("/");
    let cookie = resp
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.contains("sigra_session="))
        .unwrap();
    assert!(cookie.contains("Max-Age="), "{cookie}");
    assert!(cookie.contains("HttpOnly"));
}

#[tokio::test]
async fn home_css_404_and_dev_mailbox() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let css = browser.get("/sigra/sigra.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        home.body
            .contains(r#"<link rel="icon" href="/sigra/favicon.svg" type="image/svg+xml">"#),
        "{}",
        home.body
    );
    let icon = browser.get("/sigra/favicon.svg").await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.headers["content-type"], "image/svg+xml");
    assert!(icon.body.starts_with("<svg "), "{}", icon.body);
    let missing = browser.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"));

    app.confirmed_user("ivy@example.com").await;
    let list = browser.get("/dev/mailbox").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("ivy@example.com"));
    assert!(list.body.contains("<td>queued</td>"), "{}", list.body);
    let id_start = list.body.find("/dev/mailbox/").unwrap() + "/dev/mailbox/".len();
    let id_end = id_start + list.body[id_start..].find('"').unwrap();
    let id = &list.body[id_start..id_end];
    let mail = browser.get(&format!("/dev/mailbox/{id}")).await;
    assert_eq!(mail.status, StatusCode::OK);
    assert!(mail.body.contains("Confirm your"));
    // The page keeps the app's strict CSP; the HTML version comes in a frame with its own.
    let csp = |resp: &support::browser::Resp| {
        resp.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        csp(&mail).contains("frame-ancestors 'none'"),
        "{}",
        csp(&mail)
    );
    assert!(!csp(&mail).contains("unsafe-inline"), "{}", csp(&mail));
    let frame_src = format!(r#"src="/dev/mailbox/{id}/html""#);
    assert!(mail.body.contains(&frame_src), "{}", mail.body);
    assert!(
        mail.body
            .contains(r#"sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation""#),
        "{}",
        mail.body
    );
    let html = browser.get(&format!("/dev/mailbox/{id}/html")).await;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(html.headers["content-type"], "text/html; charset=utf-8");
    let frame_csp = csp(&html);
    for directive in [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "frame-ancestors 'self'",
        "sandbox allow-popups",
    ] {
        assert!(frame_csp.contains(directive), "{directive}: {frame_csp}");
    }
    assert!(!frame_csp.contains("script-src"), "{frame_csp}");
    assert_eq!(html.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    assert!(
        html.body.contains(r#"<head><base target="_top">"#),
        "{}",
        html.body
    );
    assert!(html.body.contains("confirm&#x2f;"), "{}", html.body);
    assert_eq!(
        browser.get("/dev/mailbox/not-an-id/html").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        browser.get("/dev/mailbox/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_form_carries_the_csrf_token() {
    let app = TestApp::start().await;
    let mut anon = app.browser();
    let mut pages = vec![
        "/".to_owned(),
        "/users/register".to_owned(),
        "/users/log_in".to_owned(),
        "/users/confirm".to_owned(),
        "/users/reset_password".to_owned(),
        "/users/log_in/some-token".to_owned(),
        "/users/confirm/some-token".to_owned(),
    ];
    for path in &pages {
        let page = anon.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(
            page.body.matches("<form").count(),
            page.body.matches(r#"name="_csrf""#).count(),
            "{path}"
        );
        assert_eq!(
            page.body.matches("<label").count(),
            page.body.matches("<input id=").count(),
            "{path}: every field has a label"
        );
    }
    let mut user = app.confirmed_user("uma@example.com").await;
    user.submit(
        "/users/sudo",
        "/users/sudo",
        &[("password", PASSWORD), ("return_to", "/users/settings")],
    )
    .await
    .assert_redirect("/users/settings");
    pages = vec![
        "/".to_owned(),
        "/users/log_out".to_owned(),
        "/users/settings".to_owned(),
        "/users/sessions".to_owned(),
        "/users/sudo".to_owned(),
        "/users/settings/confirm_email/some-token".to_owned(),
    ];
    for path in &pages {
        let page = user.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let forms = page.body.matches("<form").count();
        assert!(forms >= 1, "{path}");
        assert_eq!(
            forms,
            page.body.matches(r#"name="_csrf""#).count(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn mails_have_a_text_and_an_html_body_with_the_same_link() {
    let app = TestApp::start().await;
    let email = "vic@example.com";
    let mut vic = app.browser();
    vic.submit(
        "/users/register",
        "/users/register",
        &[("email", email), ("password", PASSWORD)],
    )
    .await;
    let mail = support::last_mail_to(&app.state, email).await;
    assert_eq!(mail.kind().as_str(), "confirm");
    assert_eq!(mail.subject(), "Confirm your sigra-example-host account");
    let text = mail.text();
    let html = mail.html().unwrap();
    let link = link_in(text, "/users/confirm/");
    let token = link.rsplit('/').next().unwrap();
    assert!(html.contains(&format!("confirm&#x2f;{token}\"")), "{html}");
    assert!(html.contains(&code_in(text)));
    assert!(html.contains("Hello vic@example.com"));
}

#[tokio::test]
async fn a_login_from_a_new_address_mails_the_owner_once() {
    let app = TestApp::start().await;
    let email = "frank@example.com";
    let mut frank = app.confirmed_user(email).await;
    // The same browser (same address as the confirmed session): nothing to report.
    frank.post("/users/log_out", &[]).await.assert_redirect("/");
    frank
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/");
    assert_eq!(app.mail_count(email).await, 1, "only the confirmation mail");

    // Another device, another address: the owner hears about it.
    let mut away = app.browser();
    away.submit(
        "/users/log_in",
        "/users/log_in",
        &[("email", email), ("password", PASSWORD)],
    )
    .await
    .assert_redirect("/");
    let notice = app.mail(email, "suspicious_login").await;
    assert!(notice.contains(&away.ip.to_string()), "{notice}");
    assert!(notice.contains("/users/reset_password"), "{notice}");

    // That address now has a session: logging in from it again says nothing new.
    let mut again = app.browser();
    again.ip = away.ip;
    again
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/");
    assert_eq!(app.mail_count(email).await, 2);
}

#[tokio::test]
async fn guessing_the_password_in_sudo_locks_the_account_and_logs_out() {
    let app = TestApp::start().await;
    let email = "gina@example.com";
    let mut gina = app.confirmed_user(email).await;
    for _ in 0..4 {
        let resp = gina
            .submit(
                "/users/sudo",
                "/users/sudo",
                &[("password", "not my password")],
            )
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            resp.body
        );
        assert!(
            resp.body.contains("That password is not right."),
            "{}",
            resp.body
        );
    }
    gina.submit(
        "/users/sudo",
        "/users/sudo",
        &[("password", "not my password")],
    )
    .await
    .assert_redirect("/users/log_in");
    let notice = app.mail(email, "lockout_notice").await;
    assert!(notice.contains("locked"), "{notice}");
    // The session is over: the settings page asks to log in.
    let resp = gina.get("/users/settings").await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sudo_on_a_locked_account_answers_alike_for_the_right_and_a_wrong_password() {
    let app = TestApp::start().await;
    let email = "ivy@example.com";
    // Two sessions of the owner's, neither with a device cookie: one from the confirmation
    // (no password login), one whose session cookie was stolen without its device cookie.
    // The account is then locked (for unknown browsers) by anonymous failed logins.
    let mut first = app.confirmed_user(email).await;
    let mut second = app.browser();
    second
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    second.forget_device();
    // The owner's own browser, which logged in with the password and keeps its device cookie.
    let mut own = app.browser();
    own.submit(
        "/users/log_in",
        "/users/log_in",
        &[("email", email), ("password", PASSWORD)],
    )
    .await
    .assert_redirect("/");
    let mut attacker = app.browser();
    attacker.get("/users/log_in").await;
    for _ in 0..5 {
        attacker
            .post(
                "/users/log_in",
                &[("email", email), ("password", "wrong password guess")],
            )
            .await;
    }
    // While it is locked, sudo checks no password: a wrong one and the right one get the same
    // answer, and each ends the session it was tried with.
    for (browser, password) in [(&mut first, "not my password"), (&mut second, PASSWORD)] {
        browser
            .submit("/users/sudo", "/users/sudo", &[("password", password)])
            .await
            .assert_redirect("/users/log_in");
        let resp = browser.get("/users/settings").await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "the session is over");
    }
    // The owner's browser is a known device: the strangers' lock does not stop its sudo.
    own.submit("/users/sudo", "/users/sudo", &[("password", PASSWORD)])
        .await
        .assert_redirect("/users/settings");
    let resp = own.get("/users/settings").await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
}

/// Logs `browser` in with the password (setting its device cookie), then out again.
async fn log_in_and_out(browser: &mut support::browser::Browser, email: &str) {
    browser
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/");
    browser
        .post("/users/log_out", &[])
        .await
        .assert_redirect("/");
    assert!(browser.session_cookie().is_none());
    assert!(
        browser.device_cookie().is_some(),
        "the device cookie outlives logout"
    );
}

/// Posts the login form with `password`; returns whether it logged in.
async fn try_log_in(browser: &mut support::browser::Browser, email: &str, password: &str) -> bool {
    let resp = browser
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", password)],
        )
        .await;
    if resp.status == StatusCode::SEE_OTHER {
        browser
            .post("/users/log_out", &[])
            .await
            .assert_redirect("/");
        return true;
    }
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        resp.body
    );
    assert!(
        resp.body.contains("Invalid email or password."),
        "{}",
        resp.body
    );
    false
}

#[tokio::test]
async fn a_password_login_sets_a_long_lived_device_cookie() {
    let app = TestApp::start().await;
    let email = "dina@example.com";
    app.confirmed_user(email).await;
    let mut browser = app.browser();
    let resp = browser
        .submit(
            "/users/log_in",
            "/users/log_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    resp.assert_redirect("/");
    let set = resp
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("sigra_device="))
        .expect("a device cookie");
    // Dev mode: plain HTTP, so neither `Secure` nor the `__Host-` prefix.
    assert!(set.contains("; HttpOnly"), "{set}");
    assert!(set.contains("; SameSite=Lax"), "{set}");
    assert!(set.contains("; Path=/"), "{set}");
    assert!(set.contains("; Max-Age=31536000"), "{set}");
    // Each password login renews it.
    let first = browser.device_cookie().unwrap().to_owned();
    browser.post("/users/log_out", &[]).await;
    assert!(try_log_in(&mut browser, email, PASSWORD).await);
    assert_ne!(browser.device_cookie(), Some(first.as_str()));
}

#[tokio::test]
async fn strangers_cannot_lock_the_owner_out_of_a_browser_that_logged_in_before() {
    let app = TestApp::start().await;
    let email = "olga@example.com";
    app.confirmed_user(email).await;
    let mut own = app.browser();
    log_in_and_out(&mut own, email).await;

    // Five anonymous failures lock the account for browsers without a device cookie.
    let mut attacker = app.browser();
    for _ in 0..5 {
        assert!(!try_log_in(&mut attacker, email, "wrong password guess").await);
    }
    let notice = app.mail(email, "lockout_notice").await;
    assert!(
        notice.contains("browsers that have never logged in"),
        "{notice}"
    );
    assert!(
        !try_log_in(&mut attacker, email, PASSWORD).await,
        "the attacker stays out"
    );
    let mut fresh = app.browser();
    assert!(
        !try_log_in(&mut fresh, email, PASSWORD).await,
        "so does any new browser"
    );
    // A forged device cookie is no better than none.
    let mut forger = app.browser();
    forger
        .jar
        .insert("sigra_device".to_owned(), "d1.Zm9v.YmFy".to_owned());
    assert!(!try_log_in(&mut forger, email, PASSWORD).await);

    // The owner's browser logs in, as often as it likes.
    assert!(try_log_in(&mut own, email, PASSWORD).await);
    assert!(try_log_in(&mut own, email, PASSWORD).await);
    // Its logins give the attacker no fresh tries.
    assert!(!try_log_in(&mut attacker, email, PASSWORD).await);
}

#[tokio::test]
async fn a_browser_that_keeps_guessing_locks_only_itself() {
    let app = TestApp::start().await;
    let email = "pavel@example.com";
    app.confirmed_user(email).await;
    let mut laptop = app.browser();
    log_in_and_out(&mut laptop, email).await;
    let mut phone = app.browser();
    log_in_and_out(&mut phone, email).await;

    for _ in 0..5 {
        assert!(!try_log_in(&mut laptop, email, "wrong password guess").await);
    }
    let notice = app.mail(email, "lockout_notice").await;
    assert!(notice.contains("from that browser"), "{notice}");
    // The laptop is refused even with the right password, with the same answer.
    assert!(!try_log_in(&mut laptop, email, PASSWORD).await);
    // The phone and a browser that never logged in are not locked.
    assert!(try_log_in(&mut phone, email, PASSWORD).await);
    let mut fresh = app.browser();
    assert!(try_log_in(&mut fresh, email, PASSWORD).await);
}

#[tokio::test]
async fn the_failed_login_that_locks_the_account_queues_one_lockout_notice() {
    let app = TestApp::start().await;
    let email = "hank@example.com";
    app.confirmed_user(email).await;
    let mut attacker = app.browser();
    attacker.get("/users/log_in").await;
    // The default lockout: the fifth failure locks the account. Its handler answers like any
    // failure, yet the owner's notice is in the outbox, committed with the lock; failures
    // while locked queue no more.
    for (attempt, notices) in [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1), (6, 1)] {
        let resp = attacker
            .post(
                "/users/log_in",
                &[("email", email), ("password", "wrong password guess")],
            )
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            resp.body
        );
        let queued = support::outbox(&app.state)
            .await
            .into_iter()
            .filter(|job| job.kind == "lockout_notice" && job.recipient.as_deref() == Some(email))
            .count();
        assert_eq!(queued, notices, "lockout notices after failure {attempt}");
    }
    let notice = app.mail(email, "lockout_notice").await;
    assert!(notice.contains("locked"), "{notice}");
}

#[tokio::test]
async fn the_dev_mailbox_says_when_a_mail_cannot_be_shown() {
    let app = TestApp::start().await;
    let register = async |app: &TestApp, email: &str| {
        app.browser()
            .submit(
                "/users/register",
                "/users/register",
                &[("email", email), ("password", PASSWORD)],
            )
            .await
            .assert_redirect("/users/confirm");
        support::outbox(&app.state).await.pop().unwrap().id
    };

    // Delivered over SMTP: the job is done and its content deleted.
    let sent = register(&app, "jane@example.com").await;
    let now = app.state.accounts.now();
    let mut tx = app.state.accounts.store().begin().await.unwrap();
    let lease = uuid::Uuid::now_v7();
    let claimed = tx
        .claim_jobs(MAIL_QUEUE, now, now + time::Duration::minutes(1), lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(tx.complete_job(sent, lease, now, true).await.unwrap());
    tx.commit().await.unwrap();
    let mut browser = app.browser();
    assert!(
        browser
            .get("/dev/mailbox")
            .await
            .body
            .contains("<td>sent</td>")
    );
    let page = browser.get(&format!("/dev/mailbox/{sent}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("its content deleted"), "{}", page.body);
    assert!(!page.body.contains("mail-text"), "{}", page.body);
    let html = browser.get(&format!("/dev/mailbox/{sent}/html")).await;
    assert_eq!(html.status, StatusCode::NOT_FOUND);

    // Queued before a restart: dev mode's new random key base cannot read it.
    let queued = register(&app, "kurt@example.com").await;
    let app = app.restart();
    let mut browser = app.browser();
    let page = browser.get(&format!("/dev/mailbox/{queued}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("another secret key base"),
        "{}",
        page.body
    );
    let html = browser.get(&format!("/dev/mailbox/{queued}/html")).await;
    assert_eq!(html.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dev_mailbox_shows_a_dead_mail_and_its_last_error() {
    let app = TestApp::start().await;
    let email = "iris@example.com";
    app.browser()
        .submit(
            "/users/register",
            "/users/register",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/users/confirm");

    // A job worker claims the confirmation mail and the mail server refuses it for good.
    let error = "550 5.1.1 <iris@example.com>: mailbox unavailable";
    let now = app.state.accounts.now();
    let mut tx = app.state.accounts.store().begin().await.unwrap();
    let lease = uuid::Uuid::now_v7();
    let claimed = tx
        .claim_jobs(MAIL_QUEUE, now, now + time::Duration::minutes(1), lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].id;
    assert!(tx.fail_job(id, lease, error, None, now).await.unwrap());
    tx.commit().await.unwrap();

    let mut browser = app.browser();
    let list = browser.get("/dev/mailbox").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains(&format!(r#"href="/dev/mailbox/{id}""#)),
        "{}",
        list.body
    );
    assert!(list.body.contains("<td>dead</td>"), "{}", list.body);
    assert!(list.body.contains("<td>1</td>"), "{}", list.body);
    assert!(
        list.body
            .contains("550 5.1.1 &lt;iris@example.com&gt;: mailbox unavailable"),
        "{}",
        list.body
    );
    // The mail itself is still there to read (a dead job keeps its content).
    let page = browser.get(&format!("/dev/mailbox/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("dead (1 attempt)"), "{}", page.body);
    assert!(page.body.contains("mailbox unavailable"), "{}", page.body);
    assert!(page.body.contains("Confirm your"), "{}", page.body);
}

#[tokio::test]
async fn get_log_out_asks_first_and_logs_out_only_on_post() {
    let app = TestApp::start().await;
    let mut anon = app.browser();
    let page = anon.get("/users/log_out").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("You are not logged in."),
        "{}",
        page.body
    );

    let mut user = app.confirmed_user("lou@example.com").await;
    let page = user.get("/users/log_out").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Do you want to log out"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<form method="post" action="/users/log_out" class="card">"#),
        "{}",
        page.body
    );
    // Opening the page logs nobody out.
    assert_eq!(user.get("/users/settings").await.status, StatusCode::OK);
    user.post("/users/log_out", &[]).await.assert_redirect("/");
    assert_eq!(user.session_cookie(), None);
    let resp = user.get("/users/settings").await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    assert!(
        resp.location()
            .unwrap()
            .starts_with("/users/log_in?return_to="),
        "{:?}",
        resp.location()
    );
}

#[tokio::test]
async fn a_get_of_a_form_address_goes_to_the_form_and_other_methods_get_a_405_page() {
    let app = TestApp::start().await;
    let mut user = app.confirmed_user("gus@example.com").await;
    for (address, form) in [
        ("/users/log_in/magic", "/users/log_in"),
        ("/users/confirm/resend", "/users/confirm"),
        ("/users/settings/email", "/users/settings"),
        ("/users/settings/password", "/users/settings"),
        ("/users/sessions/revoke_others", "/users/sessions"),
        ("/users/sessions/123/revoke", "/users/sessions"),
    ] {
        user.get(address).await.assert_redirect(form);
    }

    for method in [Method::OPTIONS, Method::PUT, Method::DELETE] {
        let resp = user.send_method(method.clone(), "/users/log_in").await;
        assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let allow = resp.headers[header::ALLOW].to_str().unwrap();
        assert!(
            allow.contains("GET") && allow.contains("POST"),
            "{method}: {allow}"
        );
        assert!(
            resp.body.contains("<h1>Method not allowed</h1>"),
            "{}",
            resp.body
        );
        assert!(
            resp.body
                .contains(&format!("does not answer {method} requests")),
            "{}",
            resp.body
        );
    }
    let resp = user.send_method(Method::PUT, "/health").await;
    assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(resp.body.contains("Method not allowed"), "{}", resp.body);
}

#[tokio::test]
async fn the_durations_pages_and_mails_promise_follow_the_configuration() {
    let app = TestApp::with_config(|c| {
        c.tokens(|t| {
            t.magic_link_ttl = Duration::from_secs(10 * 60);
            t.confirm_ttl = Duration::from_secs(6 * 3600);
        })
        .session(|s| s.remember_me_absolute_timeout = Duration::from_secs(14 * 86_400))
    })
    .await;
    let mut anon = app.browser();
    let page = anon.get("/users/log_in").await;
    assert!(
        page.body
            .contains("Keep me logged in on this device for 14 days"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("It works once, within 10 minutes."),
        "{}",
        page.body
    );

    app.confirmed_user("ned@example.com").await;
    let confirm = app.mail("ned@example.com", "confirm").await;
    assert!(
        confirm.contains("The link and the code work for 6 hours."),
        "{confirm}"
    );

    let resp = anon
        .post("/users/log_in/magic", &[("email", "ned@example.com")])
        .await;
    resp.assert_redirect("/users/log_in");
    let page = anon.follow(&resp).await;
    assert!(
        page.body
            .contains("a login link is on its way. It works once, within 10 minutes."),
        "{}",
        page.body
    );
    let magic = app.mail("ned@example.com", "magic_link").await;
    assert!(
        magic.contains("It works once, within 10 minutes."),
        "{magic}"
    );
}
