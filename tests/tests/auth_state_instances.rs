//! Two-factor and passkey state across app instances: two processes of the reference host's
//! PostgreSQL build on one database, as behind a load balancer that sends each request
//! wherever it likes. Every piece of that state lives in the database, so whichever instance
//! a request lands on sees what the other did:
//!
//! - a login whose password was checked on B finishes its TOTP step on A (the `mfa_pending`
//!   session is a row), and the session it gets works on both; the code's time step is spent
//!   for both (a replay is refused by either, from a fresh login);
//! - wrong codes typed on A and on B add up to one MFA lock, which both enforce, with one
//!   `mfa.lockout` audit row and one notice;
//! - a backup code used on A is spent on B (and of two racing uses, one on each, one wins);
//! - a "trust this browser" cookie issued by A lets B skip the step, and "forget all trusted
//!   browsers" done on B makes A ask again;
//! - a passkey ceremony started on one instance is finished on the other (the challenge is a
//!   row): registration, login, and the second step of a password login; an assertion once
//!   used is refused by both.
//!
//! Codes are computed from the secret the enrolment page shows, as an authenticator app
//! would; passkeys are played by webauthn-authenticator-rs's software authenticator. Both
//! instances are told the same public origin (`http://localhost:4000`: WebAuthn binds a
//! passkey to a domain, and the instances' own `127.0.0.1` addresses have none), which is the
//! origin the authenticator reports.
//!
//! Needs PostgreSQL (`eval "$(cargo xtask env)"`, or `cargo xtask test`); skipped without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sigra_core::totp::{Totp, TotpParams, TotpSecret};
use sigra_tests::host::{HostProcess, postgres_host_binary};
use sigra_tests::http::{Client, Response, json};
use sigra_tests::postgres::{self, psql};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const PASSWORD: &str = "auth state across instances 4f";

/// The public origin both instances serve (the load balancer's), and its relying party id.
const ORIGIN: &str = "http://localhost:4000";
const RP_ID: &str = "localhost";

/// What the session listener logs once it is subscribed.
const LISTENING: &str = "session events: listening";

/// Both instances' settings: auth POSTs are not rate limited away (every test request comes
/// from 127.0.0.1), passkeys belong to the shared origin, and the fifth wrong code locks the
/// second factor (the default, spelled out for the lockout test).
const ENV: &[(&str, &str)] = &[
    ("SIGRA_RATE_LIMIT_AUTH_MAX", "1000"),
    ("SIGRA_RATE_LIMIT_AUTH_WINDOW", "1s"),
    ("SIGRA_PASSKEY_RP_ID", RP_ID),
    ("SIGRA_PASSKEY_RP_ORIGIN", ORIGIN),
    ("SIGRA_MFA_LOCKOUT_THRESHOLD", "5"),
];

struct Cluster {
    db: String,
    a: HostProcess,
    b: HostProcess,
}

/// Two instances on a fresh database.
fn cluster(name: &str) -> Option<Cluster> {
    let db = postgres::fresh_database(name)?;
    let binary = postgres_host_binary();
    let a = HostProcess::start_binary(binary, &format!("{name}-a"), &db, ENV);
    let b = HostProcess::start_binary(binary, &format!("{name}-b"), &db, ENV);
    for app in [&a, &b] {
        wait_for_log(app, LISTENING);
    }
    Some(Cluster { db, a, b })
}

impl Cluster {
    /// One number from the shared database.
    fn count(&self, sql: &str) -> i64 {
        let out = psql(&self.db, sql);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{sql} printed {out:?}"))
    }

    /// How many logins wait for their second step (`mfa_pending` sessions).
    fn pending_logins(&self) -> i64 {
        self.count("SELECT count(*) FROM user_sessions WHERE kind = 'mfa_pending'")
    }

    /// How many audit rows `action` has, with `filter` (SQL on `outcome`, `metadata`…).
    fn audited(&self, action: &str, filter: &str) -> i64 {
        self.count(&format!(
            "SELECT count(*) FROM audit_events WHERE action = '{action}' AND {filter}"
        ))
    }
}

/// Waits until `needle` appears in `app`'s log.
fn wait_for_log(app: &HostProcess, needle: &str) {
    let started = Instant::now();
    while !app.log_text().contains(needle) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{needle:?} did not appear in the log:\n{}",
            app.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// --- Accounts and logins -------------------------------------------------------------------

/// Registers `email` on `app`.
fn register(app: &HostProcess, email: &str) {
    let answer = Client::new(app.url()).submit(
        "/users/register",
        "/users/register",
        &[("email", email), ("password", PASSWORD)],
    );
    assert!(
        answer.status < 400,
        "registering {email}: {}",
        answer.status
    );
}

/// Posts the password of `email` to `app` from `browser`.
fn post_password(browser: &mut Client, email: &str) -> Response {
    browser.submit(
        "/users/log_in",
        "/users/log_in",
        &[("email", email), ("password", PASSWORD)],
    )
}

/// A browser logged in as `email` on `app` with the password alone (no second step due):
/// a fresh login, so in sudo mode.
fn log_in(app: &HostProcess, email: &str) -> Client {
    let mut browser = Client::new(app.url());
    let answer = post_password(&mut browser, email);
    assert_redirect(&answer, "/", "a login without a second step");
    assert!(signed_in(&mut browser));
    browser
}

/// A browser whose password login on `app` waits for its second step (`mfa_pending`).
fn start_login(app: &HostProcess, email: &str) -> Client {
    let mut browser = Client::new(app.url());
    assert_at_second_step(&mut browser, email);
    browser
}

/// Logs `browser` in as `email` (on the instance it talks to) and checks that the second
/// step is asked: the MFA page, and nothing else open yet.
fn assert_at_second_step(browser: &mut Client, email: &str) {
    let answer = post_password(browser, email);
    assert_redirect(
        &answer,
        "/users/mfa",
        "the password was right; a code is due",
    );
    let page = browser.get("/users/mfa");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("authenticator app"), "{}", page.body);
    assert!(!signed_in(browser), "the pending login opens nothing else");
}

/// Whether the settings page answers (200) rather than sending to the login page.
fn signed_in(browser: &mut Client) -> bool {
    let answer = browser.get("/users/settings");
    match answer.status {
        200 => true,
        303 => {
            assert!(
                answer
                    .header("location")
                    .is_some_and(|l| l.starts_with("/users/log_in")),
                "a redirect to the login page: {:?}",
                answer.headers
            );
            false
        }
        other => panic!("GET /users/settings answered {other}:\n{}", answer.body),
    }
}

fn log_out(browser: &mut Client) {
    let answer = browser.submit("/users/settings", "/users/log_out", &[]);
    assert_redirect(&answer, "/", "log out");
}

/// A 303 whose `Location` starts with `to`.
fn assert_redirect(answer: &Response, to: &str, what: &str) {
    let location = answer.header("location").unwrap_or_default();
    assert!(
        answer.status == 303 && location.starts_with(to),
        "{what}: expected a redirect to {to}, got {} {location:?}\n{}",
        answer.status,
        answer.body
    );
}

// --- Two-factor ----------------------------------------------------------------------------

/// A user's second factor: the TOTP secret and the backup codes shown once.
struct SecondFactor {
    secret: String,
    backup_codes: Vec<String>,
}

/// The code an authenticator app shows for `secret`, `offset` seconds from now.
fn code_for(secret: &str, offset: i64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let at = i64::try_from(now.as_secs()).unwrap() + offset;
    Totp::new(
        TotpSecret::from_base32(secret).unwrap(),
        TotpParams::default(),
    )
    .unwrap()
    .code_at(at)
    .unwrap()
}

/// A well-formed code that no step near now accepts.
fn wrong_code(secret: &str) -> String {
    let near: Vec<String> = (-2..=2).map(|step| code_for(secret, step * 30)).collect();
    (0..)
        .map(|n| format!("{:06}", n * 111_111 % 1_000_000))
        .find(|code| !near.contains(code))
        .unwrap()
}

/// The text between `start` and the next `end` in `body`.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {body}"))
        + start.len();
    let len = body[from..].find(end).unwrap();
    &body[from..from + len]
}

/// Turns two-factor on from the settings page of `browser`'s (fresh, so sudo) session: start,
/// read the secret, confirm with this time step's code. The step is then spent: the next
/// accepted code is [`next_code`]'s.
fn enrol_totp(browser: &mut Client) -> SecondFactor {
    const PAGE: &str = "/users/settings/two_factor";
    let page = browser.get(PAGE);
    assert_eq!(page.status, 200, "the page is open in sudo mode: {page:?}");
    let answer = browser.submit(PAGE, "/users/settings/two_factor/enroll", &[]);
    assert_redirect(&answer, PAGE, "enrolment started");
    let page = browser.get(PAGE);
    let secret = between(&page.body, r#"id="totp-secret" class="secret">"#, "<").to_owned();
    let code = code_for(&secret, 0);
    let answer = browser.submit(
        PAGE,
        "/users/settings/two_factor/confirm",
        &[("code", &code)],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("Two-factor authentication is on"));
    let list = between(
        &answer.body,
        r#"<ul class="backup-codes" id="backup-codes">"#,
        "</ul>",
    );
    let backup_codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(backup_codes.len(), 8, "{list}");
    SecondFactor {
        secret,
        backup_codes,
    }
}

/// A code of the step after the enrolment's (the window accepts one step ahead): accepted
/// once, by whichever instance sees it first.
fn next_code(factor: &SecondFactor) -> String {
    code_for(&factor.secret, 30)
}

/// Posts `code` to the second step from `browser`.
fn submit_code(browser: &mut Client, code: &str) -> Response {
    browser.submit("/users/mfa", "/users/mfa", &[("code", code)])
}

/// Posts `code` to the second step from `browser`, asking to trust it.
fn submit_code_trusting(browser: &mut Client, code: &str) -> Response {
    let fields = [("code", code), ("trust_browser", "true")];
    browser.submit("/users/mfa", "/users/mfa", &fields)
}

/// The second step accepted: to the page asked for, with a full session.
fn assert_step_passed(answer: &Response, what: &str) {
    assert_redirect(answer, "/", what);
}

/// The second step refused the code (422, "invalid or expired").
fn assert_code_refused(answer: &Response, what: &str) {
    assert_eq!(answer.status, 422, "{what}: {}", answer.body);
    assert!(
        answer.body.contains("The code is invalid"),
        "{what}: {}",
        answer.body
    );
}

/// The second step is locked (429 with `Retry-After`, "Too many attempts").
fn assert_locked(answer: &Response, what: &str) {
    assert_eq!(answer.status, 429, "{what}: {}", answer.body);
    assert!(
        answer.header("retry-after").is_some(),
        "{what}: Retry-After"
    );
    assert!(
        answer.body.contains("Too many attempts"),
        "{what}: {}",
        answer.body
    );
}

#[test]
fn a_totp_step_started_on_one_instance_finishes_on_the_other_and_is_spent_on_both() {
    let Some(c) = cluster("mfa_totp") else {
        return;
    };
    let email = "totp@example.com";
    register(&c.a, email);
    let factor = enrol_totp(&mut log_in(&c.a, email));

    // The password on B, the code on A.
    let mut pending_on_b = start_login(&c.b, email);
    assert_eq!(c.pending_logins(), 1, "B's answer: an mfa_pending session");
    let code = next_code(&factor);
    let mut on_a = pending_on_b.with_base(c.a.url());
    assert_step_passed(
        &submit_code(&mut on_a, &code),
        "the step B started, finished on A",
    );
    let mut on_b = on_a.with_base(c.b.url());
    assert!(
        signed_in(&mut on_a) && signed_in(&mut on_b),
        "the fresh session works on both"
    );
    assert_ne!(
        on_a.cookie("sigra_session"),
        pending_on_b.cookie("sigra_session"),
        "a new session, not the pending one"
    );
    // The pending session is gone, for B too.
    assert_eq!(c.pending_logins(), 0);
    let answer = pending_on_b.get("/users/mfa");
    assert_redirect(&answer, "/users/log_in", "the pending login ended");

    // The same code (the same step) from fresh logins: refused on B, and on A.
    let mut again = start_login(&c.a, email).with_base(c.b.url());
    assert_code_refused(
        &submit_code(&mut again, &code),
        "the step A accepted, replayed on B",
    );
    let mut again = start_login(&c.b, email).with_base(c.a.url());
    assert_code_refused(&submit_code(&mut again, &code), "and replayed on A");
    assert_eq!(
        c.audited(
            "mfa.verify",
            "outcome = 'success' AND metadata->>'method' = 'totp'"
        ),
        1
    );
}

#[test]
fn wrong_codes_on_both_instances_add_up_to_one_lock_that_both_enforce() {
    let Some(c) = cluster("mfa_lockout") else {
        return;
    };
    let email = "guessed@example.com";
    register(&c.b, email);
    let factor = enrol_totp(&mut log_in(&c.b, email));
    let wrong = wrong_code(&factor.secret);

    // The default threshold is 5: 3 wrong codes on A, then 2 on B, in one pending login.
    let mut on_a = start_login(&c.a, email);
    for n in 1..=3 {
        assert_code_refused(
            &submit_code(&mut on_a, &wrong),
            &format!("wrong code {n} on A"),
        );
    }
    let mut on_b = on_a.with_base(c.b.url());
    assert_code_refused(&submit_code(&mut on_b, &wrong), "wrong code 4, on B");
    assert_locked(
        &submit_code(&mut on_b, &wrong),
        "wrong code 5, on B: locked",
    );
    let answer = on_a.get("/users/mfa");
    assert_redirect(
        &answer,
        "/users/log_in",
        "the lock ended the pending login, for A too",
    );

    // A right code (of a step never used) is refused on either instance, from fresh logins.
    let code = next_code(&factor);
    for app in [&c.a, &c.b] {
        let mut browser = start_login(app, email);
        assert_locked(
            &submit_code(&mut browser, &code),
            "a right code while locked",
        );
    }

    assert_eq!(
        c.audited("mfa.lockout", "outcome = 'success'"),
        1,
        "locked once"
    );
    assert_eq!(
        c.count("SELECT count(*) FROM jobs WHERE kind = 'mfa_lockout'"),
        1,
        "one notice"
    );
    assert_eq!(
        c.audited(
            "mfa.verify",
            "outcome = 'failure' AND metadata->>'reason' = 'invalid_code'"
        ),
        5
    );
    assert_eq!(
        c.audited(
            "mfa.verify",
            "outcome = 'failure' AND metadata->>'reason' = 'locked'"
        ),
        2
    );
    assert_eq!(c.audited("mfa.verify", "outcome = 'success'"), 0);
}

#[test]
fn a_backup_code_used_on_one_instance_is_spent_on_the_other() {
    let Some(c) = cluster("mfa_backup") else {
        return;
    };
    let email = "backup@example.com";
    register(&c.a, email);
    let SecondFactor { backup_codes, .. } = enrol_totp(&mut log_in(&c.a, email));

    let mut on_a = start_login(&c.a, email);
    assert_step_passed(
        &submit_code(&mut on_a, &backup_codes[0]),
        "a backup code on A",
    );
    let mut on_b = start_login(&c.b, email);
    assert_code_refused(
        &submit_code(&mut on_b, &backup_codes[0]),
        "the same code on B",
    );
    assert_step_passed(
        &submit_code(&mut on_b, &backup_codes[1]),
        "another one on B",
    );

    // One code, posted at the same moment to A and to B from two pending logins: one wins.
    let racers = [start_login(&c.a, email), start_login(&c.b, email)];
    let code = backup_codes[2].clone();
    let answers: Vec<Response> = std::thread::scope(|scope| {
        let threads: Vec<_> = racers
            .into_iter()
            .map(|mut browser| {
                let code = &code;
                scope.spawn(move || submit_code(&mut browser, code))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let won = answers.iter().filter(|a| a.status == 303).count();
    assert_eq!(
        won,
        1,
        "one winner: {:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for answer in answers.iter().filter(|a| a.status != 303) {
        assert_code_refused(answer, "the race's loser");
    }
    assert_eq!(
        c.count("SELECT count(*) FROM user_backup_codes WHERE used_at IS NOT NULL"),
        3
    );
    assert_eq!(
        c.audited(
            "mfa.verify",
            "outcome = 'success' AND metadata->>'method' = 'backup_code'"
        ),
        3
    );
}

#[test]
fn a_browser_trusted_on_one_instance_is_trusted_and_forgotten_on_both() {
    let Some(c) = cluster("mfa_trust") else {
        return;
    };
    let email = "trust@example.com";
    register(&c.a, email);
    let factor = enrol_totp(&mut log_in(&c.a, email));

    let mut on_a = start_login(&c.a, email);
    let answer = submit_code_trusting(&mut on_a, &next_code(&factor));
    assert_step_passed(&answer, "a code on A, trusting this browser");
    assert!(
        on_a.cookie("sigra_mfa_trust").is_some(),
        "A set the trust cookie"
    );
    log_out(&mut on_a);

    // B honours A's cookie: the password alone logs in.
    let mut on_b = on_a.with_base(c.b.url());
    assert_redirect(&post_password(&mut on_b, email), "/", "B skips the step");
    assert!(signed_in(&mut on_b));
    assert_eq!(
        c.audited("mfa.verify", "metadata->>'method' = 'trusted_browser'"),
        1
    );

    // "Forget all trusted browsers" on B; A asks for the code again.
    let answer = on_b.submit(
        "/users/settings",
        "/users/settings/two_factor/forget_browsers",
        &[],
    );
    assert_redirect(
        &answer,
        "/users/settings/two_factor",
        "forget trusted browsers",
    );
    log_out(&mut on_b);
    let mut on_a = on_b.with_base(c.a.url());
    assert!(
        on_a.cookie("sigra_mfa_trust").is_some(),
        "the browser still holds its cookie"
    );
    assert_at_second_step(&mut on_a, email);
    assert_eq!(c.audited("mfa.trust.forget", "outcome = 'success'"), 1);
}

// --- Passkeys ------------------------------------------------------------------------------

/// A software authenticator holding one passkey, as a person's device would.
struct Device {
    key: SoftPasskey,
    /// The credential id (base64url), as the browser reports it.
    credential_id: String,
    /// The user handle the relying party gave (base64url): a discoverable credential returns
    /// it with each assertion.
    user_handle: String,
}

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

impl Device {
    /// Creates a passkey for the registration `options` (the `options` of the endpoint's
    /// answer); returns the device and the answer the browser posts.
    fn create(options: &Value) -> (Self, Value) {
        let user_handle = options["publicKey"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let shown = options.to_string();
        // The options prefer a discoverable credential (`residentKey: "preferred"`); the
        // software authenticator makes a plain one, used as a discoverable one all the same
        // (see `sign`).
        let options: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        // `true`: it reports user verification (the screen lock), which the server requires.
        let mut key = SoftPasskey::new(true);
        let credential = key
            .do_registration(origin(), options)
            .unwrap_or_else(|e| panic!("the authenticator refused {shown}: {e:?}"));
        let credential = serde_json::to_value(&credential).unwrap();
        let credential_id = credential["id"].as_str().unwrap().to_owned();
        let device = Self {
            key,
            credential_id,
            user_handle,
        };
        (device, credential)
    }

    /// Signs the request `options` with the passkey, as the browser does after the person
    /// picked it: listed for the authenticator (which signs only for listed credentials),
    /// and answered with the user handle.
    fn sign(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        options.as_object_mut().unwrap().remove("mediation");
        options["publicKey"]["allowCredentials"] =
            json!([{ "type": "public-key", "id": self.credential_id }]);
        let shown = options.to_string();
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let assertion = self
            .key
            .do_authentication(origin(), options)
            .unwrap_or_else(|e| panic!("the authenticator refused {shown}: {e:?}"));
        let mut assertion = serde_json::to_value(&assertion).unwrap();
        assertion["response"]["userHandle"] = self.user_handle.clone().into();
        assertion
    }
}

/// Posts `body` to a passkey endpoint as the page at `page` would, expecting 200 or 201.
fn call(browser: &mut Client, page: &str, action: &str, body: &Value) -> Value {
    let answer = browser.post_json(page, action, body);
    assert!(
        answer.status == 200 || answer.status == 201,
        "{action}: {} {}",
        answer.status,
        answer.body
    );
    json(&answer)
}

/// The finish call `body`, already used, is refused when `browser` (a fresh one, at a page
/// that offers the ceremony) posts it again: its challenge was taken.
fn assert_challenge_spent(mut browser: Client, page: &str, action: &str, body: &Value) {
    let answer = browser.post_json(page, action, body);
    assert_eq!(answer.status, 400, "{action} replayed: {}", answer.body);
    assert_eq!(
        json(&answer)["error"]["code"],
        "passkey_challenge_invalid",
        "{}",
        answer.body
    );
    assert!(!signed_in(&mut browser), "{action} replayed: no session");
}

#[test]
fn passkey_ceremonies_started_on_one_instance_finish_on_the_other_once() {
    let Some(c) = cluster("passkeys") else {
        return;
    };
    const PAGE: &str = "/users/settings/passkeys";
    let challenges = "SELECT count(*) FROM webauthn_challenges";
    let email = "keys@example.com";
    register(&c.a, email);
    let mut settings_a = log_in(&c.a, email);
    let mut settings_b = settings_a.with_base(c.b.url());

    // Registration: options from A (the challenge is a row), the new credential posted to B.
    let options = call(
        &mut settings_a,
        PAGE,
        "/users/settings/passkeys/options",
        &json!({}),
    );
    assert_eq!(c.count(challenges), 1);
    let (mut device, credential) = Device::create(&options["options"]);
    let body = json!({
        "challenge_id": options["challenge_id"],
        "response": credential,
        "nickname": "Laptop",
    });
    let added = call(&mut settings_b, PAGE, PAGE, &body);
    assert_eq!(added["redirect"], PAGE);
    assert!(settings_a.get(PAGE).body.contains("Laptop"), "A lists it");
    assert_eq!(c.count("SELECT count(*) FROM user_passkeys"), 1);
    assert_eq!(c.count(challenges), 0, "taken by B");

    // Logging in: options from B, the assertion posted to A; the session works on both.
    let mut anonymous_b = Client::new(c.b.url());
    let options = call(
        &mut anonymous_b,
        "/users/log_in",
        "/users/log_in/passkey/options",
        &json!({}),
    );
    let login = json!({
        "challenge_id": options["challenge_id"],
        "response": device.sign(&options["options"]),
    });
    let mut on_a = anonymous_b.with_base(c.a.url());
    let done = call(&mut on_a, "/users/log_in", "/users/log_in/passkey", &login);
    assert_eq!(done["redirect"], "/");
    let mut on_b = on_a.with_base(c.b.url());
    assert!(
        signed_in(&mut on_a) && signed_in(&mut on_b),
        "the passkey's session works on both"
    );

    // The same assertion again, to either instance: its challenge was taken.
    for app in [&c.a, &c.b] {
        let fresh = Client::new(app.url());
        assert_challenge_spent(fresh, "/users/log_in", "/users/log_in/passkey", &login);
    }

    // The passkey as the second step of a password login: options from A, answer to B.
    enrol_totp(&mut settings_a);
    let mut pending_a = start_login(&c.a, email);
    let options = call(
        &mut pending_a,
        "/users/mfa",
        "/users/mfa/passkey/options",
        &json!({}),
    );
    let second_step = json!({
        "challenge_id": options["challenge_id"],
        "response": device.sign(&options["options"]),
    });
    let mut pending_b = pending_a.with_base(c.b.url());
    let done = call(
        &mut pending_b,
        "/users/mfa",
        "/users/mfa/passkey",
        &second_step,
    );
    assert_eq!(done["redirect"], "/");
    let mut on_a = pending_b.with_base(c.a.url());
    assert!(
        signed_in(&mut pending_b) && signed_in(&mut on_a),
        "the step's session works on both"
    );
    for app in [&c.a, &c.b] {
        // A pending login of its own, so only the challenge can be wrong.
        let pending = start_login(app, email);
        assert_challenge_spent(pending, "/users/mfa", "/users/mfa/passkey", &second_step);
    }

    assert_eq!(
        c.audited(
            "passkey.verify",
            "outcome = 'success' AND metadata->>'purpose' = 'login'"
        ),
        1
    );
    assert_eq!(
        c.audited(
            "mfa.verify",
            "outcome = 'success' AND metadata->>'method' = 'passkey'"
        ),
        1
    );
}
