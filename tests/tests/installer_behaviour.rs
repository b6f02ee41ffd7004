//! The installer's promises, checked on real `cargo new` apps with the built binary:
//! idempotency, edited files left alone unless --force, --dry-run, name validation before any
//! write, existing apps (dependencies merged, formatting kept, wiring printed), and what
//! --database postgres, --no-html and --no-binary-id change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use sigra_tests::installer::{self, REFERENCE_ARGS, Scratch};

fn read(app: &Path, path: &str) -> String {
    std::fs::read_to_string(app.join(path)).unwrap()
}

fn installed(label: &str, extra: &[&str]) -> (Scratch, std::path::PathBuf) {
    let scratch = Scratch::new(label);
    let app = installer::reference_app(scratch.path());
    installer::run_cargo_sigra(&app, &[REFERENCE_ARGS, extra].concat()).assert_success();
    (scratch, app)
}

#[test]
fn a_second_run_changes_nothing() {
    let (_scratch, app) = installed("idempotent", &[]);
    let before = installer::tree(&app);
    let again = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    assert!(
        again
            .stdout
            .contains("\nNothing to change: the install is up to date.\n"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("  create "), "{}", again.stdout);
    assert!(!again.stdout.contains("  add "), "{}", again.stdout);
    let after = installer::tree(&app);
    assert_eq!(
        installer::compare_trees("first run", &before, "second run", &after),
        None
    );
}

#[test]
fn an_edited_file_is_skipped_unless_forced() {
    let (_scratch, app) = installed("edited", &[]);
    let generated = read(&app, "src/accounts/mod.rs");
    let edited = format!("{generated}\n// my own helper\n");
    std::fs::write(app.join("src/accounts/mod.rs"), &edited).unwrap();

    let run = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    assert!(
        run.stdout.contains(
            "  skip      src/accounts/mod.rs  (changed since cargo sigra wrote it; --force overwrites it)\n"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 file skipped"), "{}", run.stdout);
    assert_eq!(read(&app, "src/accounts/mod.rs"), edited);

    let forced =
        installer::run_cargo_sigra(&app, &[REFERENCE_ARGS, &["--force"]].concat()).assert_success();
    assert!(
        forced
            .stdout
            .contains("  overwrite src/accounts/mod.rs  (--force)\n"),
        "{}",
        forced.stdout
    );
    assert_eq!(read(&app, "src/accounts/mod.rs"), generated);

    // Back as generated, the next run has nothing to do.
    let again = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    assert!(
        again.stdout.contains("Nothing to change"),
        "{}",
        again.stdout
    );
}

#[test]
fn a_file_that_was_there_before_is_not_taken_over() {
    let scratch = Scratch::new("foreign");
    let app = installer::reference_app(scratch.path());
    std::fs::create_dir_all(app.join("src/web")).unwrap();
    std::fs::write(app.join("src/web/mod.rs"), "// mine\n").unwrap();
    let run = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    assert!(
        run.stdout.contains(
            "  skip      src/web/mod.rs  (exists and was not written by cargo sigra; --force overwrites it)\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(read(&app, "src/web/mod.rs"), "// mine\n");
    // Not recorded as generated: a later run still treats it as the user's.
    assert!(!read(&app, ".sigra/manifest.toml").contains("\"src/web/mod.rs\""));
}

#[test]
fn dry_run_writes_nothing_and_prints_the_plan() {
    let scratch = Scratch::new("dry-run");
    let app = installer::reference_app(scratch.path());
    let before = installer::tree(&app);
    let run = installer::run_cargo_sigra(&app, &[REFERENCE_ARGS, &["--dry-run"]].concat())
        .assert_success();
    assert!(
        run.stdout.contains("  create    src/accounts/mod.rs\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  add       axum = \"0.8\"\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\nDry run, nothing was written. Would do: "),
        "{}",
        run.stdout
    );
    assert_eq!(
        installer::compare_trees("before", &before, "after", &installer::tree(&app)),
        None
    );
}

#[test]
fn bad_names_are_refused_before_anything_is_written() {
    let scratch = Scratch::new("bad-names");
    let app = installer::reference_app(scratch.path());
    let before = installer::tree(&app);
    let long = "A".to_owned() + &"b".repeat(199);
    let cases: [([&str; 3], &str); 8] = [
        (
            ["accounts", "User", "users"],
            "Context `accounts` must be UpperCamelCase",
        ),
        (
            ["Accounts", "Us-er", "users"],
            "Schema `Us-er` must be UpperCamelCase",
        ),
        (["Accounts", "User", "fn"], "table `fn` is a Rust keyword"),
        (
            ["Fn", "User", "users"],
            "Context `Fn` becomes `fn` in Rust code, which is a Rust keyword",
        ),
        (
            ["Accounts", "User", "users;drop"],
            "table `users;drop` must be snake_case",
        ),
        (["", "User", "users"], "Context is empty"),
        (["Accounts", "User", ""], "table is empty"),
        (
            [long.as_str(), "User", "users"],
            "Context is 200 characters long; at most 64",
        ),
    ];
    for (names, message) in cases {
        let args = [&["install"], &names[..], &["--yes"]].concat();
        let run = installer::run_cargo_sigra(&app, &args);
        assert!(!run.success, "{names:?} was accepted");
        assert!(
            run.stderr
                .starts_with("error: invalid names, nothing was written:\n  - "),
            "{names:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(message), "{names:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{names:?}");
    }
    assert_eq!(
        installer::compare_trees("before", &before, "after", &installer::tree(&app)),
        None
    );
}

#[test]
fn outside_an_app_and_with_a_wrong_sigra_path_the_error_says_what_to_do() {
    let scratch = Scratch::new("not-an-app");
    let run = installer::run_cargo_sigra(scratch.path(), &["install", "Accounts", "User", "users"]);
    assert!(!run.success);
    assert!(run.stderr.contains("no Cargo.toml in"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("run `cargo sigra install` in your app's directory"),
        "{}",
        run.stderr
    );

    let app = installer::cargo_new(scratch.path(), "app", "app");
    let run = installer::run_cargo_sigra(
        &app,
        &[
            "install",
            "Accounts",
            "User",
            "users",
            "--sigra-path",
            "../nowhere",
        ],
    );
    assert!(!run.success);
    assert!(
        run.stderr
            .starts_with("error: --sigra-path ../nowhere: cannot read"),
        "{}",
        run.stderr
    );
    assert!(
        installer::tree(&app)
            .keys()
            .all(|k| k == "Cargo.toml" || k == "src/main.rs")
    );

    let run = installer::run_cargo_sigra(
        &app,
        &[
            "install",
            "Accounts",
            "User",
            "users",
            "--database",
            "mysql",
        ],
    );
    assert!(!run.success);
    assert!(
        run.stderr.contains("invalid value 'mysql'"),
        "{}",
        run.stderr
    );
}

const EXISTING_CARGO_TOML: &str = r#"[package]
name = "shop"
version = "0.3.0"
edition = "2024"

# The web stack
[dependencies]
axum = { version = "0.8.4", features = ["macros"] } # routing
tokio = { version = "1.40", features = ["macros", "rt-multi-thread"] }
serde = "1.0"
sqlx = { version = "0.7", features = ["sqlite"] } # not yet upgraded
anyhow = "1"
"#;

const EXISTING_MAIN: &str =
    "use shop::run;\n\n#[tokio::main]\nasync fn main() {\n    run().await;\n}\n";
const EXISTING_LIB: &str = "pub async fn run() {}\n";

#[test]
fn an_existing_app_gets_dependencies_and_wiring_steps() {
    let scratch = Scratch::new("existing");
    let app = installer::reference_app(scratch.path());
    std::fs::write(
        app.join("Cargo.toml"),
        EXISTING_CARGO_TOML.replace("name = \"shop\"", "name = \"sigra-example-host\""),
    )
    .unwrap();
    std::fs::write(app.join("src/main.rs"), EXISTING_MAIN).unwrap();
    std::fs::write(app.join("src/lib.rs"), EXISTING_LIB).unwrap();

    let run = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    let out = &run.stdout;

    // The app's own entry points are left alone, and the wiring is printed.
    assert_eq!(read(&app, "src/main.rs"), EXISTING_MAIN);
    assert_eq!(read(&app, "src/lib.rs"), EXISTING_LIB);
    assert!(out.contains("  skip      src/main.rs  (your own file, never overwritten: wire it in by hand, see below)\n"), "{out}");
    assert!(
        out.contains("  skip      src/lib.rs  (your own file"),
        "{out}"
    );
    assert!(out.contains("\nWire it into your app by hand:\n"), "{out}");
    assert!(out.contains("\n  src/lib.rs\n    Declare the generated modules in your src/lib.rs:\n\n        pub mod accounts;\n        pub mod app;\n        pub mod cli;\n        pub mod db;\n        pub mod mail;\n        pub mod web;\n"), "{out}");
    assert!(
        out.contains("    let state = sigra_example_host::app::build_state(db, settings)?;\n"),
        "{out}"
    );
    // Without the job worker no mail leaves: the wiring says so.
    assert!(
        out.contains("sigra_example_host::app::worker(&state).run(shutdown_signal())"),
        "{out}"
    );
    assert!(
        out.contains("into_make_service_with_connect_info::<std::net::SocketAddr>()"),
        "{out}"
    );
    // build.rs did not exist: a fresh file is fine.
    assert!(out.contains("  create    build.rs\n"), "{out}");

    // Dependencies: added, extended, kept, or reported; the file keeps its formatting.
    let cargo_toml = read(&app, "Cargo.toml");
    assert!(cargo_toml.starts_with("[package]\nname = \"sigra-example-host\"\nversion = \"0.3.0\"\nedition = \"2024\"\n\n# The web stack\n[dependencies]\n"), "{cargo_toml}");
    assert!(
        cargo_toml.contains("axum = { version = \"0.8.4\", features = [\"macros\"] } # routing\n"),
        "{cargo_toml}"
    );
    assert!(cargo_toml.contains("tokio = { version = \"1.40\", features = [\"macros\", \"rt-multi-thread\", \"full\"] }\n"), "{cargo_toml}");
    assert!(
        cargo_toml.contains("serde = { version = \"1.0\", features = [\"derive\"] }\n"),
        "{cargo_toml}"
    );
    assert!(
        cargo_toml
            .contains("sqlx = { version = \"0.7\", features = [\"sqlite\"] } # not yet upgraded\n"),
        "{cargo_toml}"
    );
    assert!(
        cargo_toml.contains(
            "anyhow = \"1\"\nminijinja = \"3\"\nserde_json = \"1\"\nsigra-core = { path = \"../../crates/sigra-core\" }\nthiserror = \"2\"\ntime = \"0.3\"\n"
        ),
        "not sorted before, so appended: {cargo_toml}"
    );
    assert!(
        cargo_toml.contains(
            "\n[dev-dependencies]\nsigra-core = { path = \"../../crates/sigra-core\", features = [\"testing\"] }\ntempfile = \"3\"\ntower = { version = \"0.5\", features = [\"util\"] }\n"
        ),
        "{cargo_toml}"
    );

    assert!(out.contains("  present   axum\n"), "{out}");
    assert!(out.contains("  features  tokio: features full\n"), "{out}");
    assert!(
        out.contains("  features  serde: features derive\n"),
        "{out}"
    );
    assert!(out.contains("  conflict  sqlx: Cargo.toml asks for \"0.7\" but the generated code needs \"0.8\" (a semver-incompatible upgrade); left as is: update it by hand\n"), "{out}");
    assert!(out.contains("  add       time = \"0.3\"\n"), "{out}");
    assert!(
        out.contains("(2 files skipped, 1 dependency conflict: see above)"),
        "{out}"
    );

    // Running again changes nothing more.
    let again = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    assert!(
        again.stdout.contains("Nothing to change"),
        "{}",
        again.stdout
    );
    assert_eq!(read(&app, "Cargo.toml"), cargo_toml);
}

#[test]
fn postgres_changes_only_the_database_specific_files() {
    let (_a, sqlite) = installed("sqlite", &[]);
    let (_b, postgres) = installed("postgres", &["--database", "postgres"]);
    let sqlite_tree = installer::tree(&sqlite);
    let mut postgres_tree = installer::tree(&postgres);
    // Session events (revocation across instances) exist only on PostgreSQL: its triggers
    // and the listener main starts.
    let only_postgres = [
        "migrations/20261204000100_notify_session_changes.sql",
        "src/accounts/store/session_events.rs",
    ];
    for path in only_postgres {
        assert!(postgres_tree.remove(path).is_some(), "{path} on PostgreSQL");
    }
    assert_eq!(
        sqlite_tree.keys().collect::<Vec<_>>(),
        postgres_tree.keys().collect::<Vec<_>>(),
        "the same files otherwise"
    );
    let differing: BTreeSet<&str> = sqlite_tree
        .iter()
        .filter(|(path, bytes)| postgres_tree[*path] != **bytes)
        .map(|(path, _)| path.as_str())
        .collect();
    let migrations = sqlite_tree
        .keys()
        .filter(|path| path.starts_with("migrations/"))
        .map(String::as_str);
    // And the job claim's lock: `FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's write lock
    // (`BEGIN IMMEDIATE`) otherwise.
    // And where the session-events listener is declared, built and started.
    let expected: BTreeSet<&str> = [
        ".sigra/manifest.toml",
        "Cargo.toml",
        "src/accounts/store/jobs.rs",
        "src/accounts/store/mod.rs",
        // Eviction beyond the session cap: `OFFSET $2` (SQLite needs `LIMIT -1` before it).
        "src/accounts/store/sessions.rs",
        "src/app.rs",
        "src/db.rs",
        "src/main.rs",
        // The conformance tests' module is named after the database.
        "tests/conformance.rs",
        "tests/support/mod.rs",
    ]
    .into_iter()
    .chain(migrations)
    .collect();
    assert_eq!(differing, expected);

    // In Cargo.toml, only the sqlx driver feature and SQLite's temporary test files.
    assert_eq!(
        read(&postgres, "Cargo.toml").replace("\"postgres\"", "\"sqlite\""),
        read(&sqlite, "Cargo.toml").replace("tempfile = \"3\"\n", "")
    );
    let migration = read(&postgres, "migrations/20260101000000_create_users.sql");
    assert!(migration.contains("id UUID PRIMARY KEY"), "{migration}");
    assert!(migration.contains("TIMESTAMPTZ"), "{migration}");
    let claim = "        LIMIT $5\n        FOR UPDATE SKIP LOCKED\n    )\n";
    assert!(read(&postgres, "src/accounts/store/jobs.rs").contains(claim));
    assert!(!read(&sqlite, "src/accounts/store/jobs.rs").contains("SKIP LOCKED"));
    let db = read(&postgres, "src/db.rs");
    assert!(db.contains("pub type Database = sqlx::Postgres;"), "{db}");
    assert!(db.contains("pub type Timestamp = OffsetDateTime;"), "{db}");
    assert!(!db.contains("BEGIN IMMEDIATE"), "{db}");
    // No database switch is left in the generated code, and no SQLite driver.
    for (path, bytes) in &postgres_tree {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("cfg(feature"), "{path}");
        assert!(
            !text.contains("sqlx::sqlite") && !text.contains("Sqlite"),
            "{path}"
        );
    }
    assert!(read(&postgres, ".sigra/manifest.toml").contains("database = \"postgres\"\n"));
    assert!(read(&postgres, "src/main.rs").contains("app::session_events(&state)"));
    assert!(!read(&sqlite, "src/main.rs").contains("session_events"));
    assert!(!read(&sqlite, "src/app.rs").contains("session_events"));
}

#[test]
fn no_html_swaps_the_pages_for_the_json_api() {
    let (_a, html) = installed("html", &[]);
    let (_b, json) = installed("json", &["--no-html"]);
    let html_files: BTreeSet<String> = installer::tree(&html).into_keys().collect();
    let json_files: BTreeSet<String> = installer::tree(&json).into_keys().collect();
    let only_html: Vec<&String> = html_files.difference(&json_files).collect();
    let only_json: Vec<&String> = json_files.difference(&html_files).collect();
    assert!(
        only_html
            .iter()
            .all(|path| path.starts_with("src/web/auth/")
                || path.starts_with("templates/auth/")
                || path.starts_with("templates/dev/")
                || [
                    "src/web/pages.rs",
                    "src/web/templates.rs",
                    "static/sigra/favicon.svg",
                    "static/sigra/passkeys.js",
                    "static/sigra/sigra.css",
                    "templates/error.html",
                    "templates/home.html",
                    "templates/layout.html",
                    "tests/bad_input.rs",
                    "tests/enumeration.rs",
                    "tests/expiry.rs",
                    "tests/flows.rs",
                    "tests/passkeys.rs",
                    "tests/support/browser.rs",
                    "tests/two_factor.rs",
                ]
                .contains(&path.as_str())),
        "{only_html:?}"
    );
    assert!(only_html.contains(&&"src/web/auth/login.rs".to_owned()));
    assert_eq!(
        only_json,
        [
            "src/web/api/login.rs",
            "src/web/api/mfa.rs",
            "src/web/api/mod.rs",
            "src/web/api/passkeys.rs",
            "src/web/api/registration.rs",
            "src/web/api/reset_password.rs",
            "src/web/api/sessions.rs",
            "src/web/api/settings.rs",
            "src/web/home.rs",
            "tests/api.rs",
            "tests/api_passkeys.rs",
            "tests/support/api.rs",
        ]
    );
    // Both have a dev mailbox: pages in one, JSON in the other.
    assert!(read(&html, "src/web/dev_mailbox.rs").contains("render(\"dev/mailbox.html\""));
    assert!(read(&json, "src/web/dev_mailbox.rs").contains("Json<Vec<MailJson>>"));
    let router = read(&json, "src/web/mod.rs");
    assert!(router.contains(".merge(api::routes(&state))"), "{router}");
    assert!(router.contains(".fallback(home::not_found)"), "{router}");
    // A method a route does not take: the JSON error in one, the page in the other.
    assert!(
        router.contains(".method_not_allowed_fallback(home::method_not_allowed)"),
        "{router}"
    );
    assert!(
        read(&html, "src/web/mod.rs")
            .contains(".method_not_allowed_fallback(pages::method_not_allowed)")
    );
    assert!(read(&json, "Cargo.toml").contains("features = [\"serde-well-known\"]"));
    // The mails are the same (the JSON app sends them too).
    assert!(json_files.contains("templates/mail/confirm.html"));
    // The HTML templates pass the runtime template syntax through untouched.
    assert!(read(&html, "templates/layout.html").contains("{% block content %}{% endblock %}"));
    assert!(read(&html, "templates/home.html").contains("{{ current_user.email }}"));
}

#[test]
fn no_passkeys_leaves_out_their_tables_pages_endpoints_and_script() {
    let (_a, with) = installed("passkeys", &[]);
    let (_b, without) = installed("no-passkeys", &["--no-passkeys"]);
    let with_files: BTreeSet<String> = installer::tree(&with).into_keys().collect();
    let without_files: BTreeSet<String> = installer::tree(&without).into_keys().collect();
    let left_out: Vec<&String> = with_files.difference(&without_files).collect();
    assert_eq!(
        left_out,
        [
            "migrations/20261206000000_create_passkeys.sql",
            "src/accounts/store/passkeys.rs",
            "src/web/auth/passkeys.rs",
            "static/sigra/passkeys.js",
            "templates/auth/passkeys.html",
            "tests/passkeys.rs",
        ]
    );
    assert!(without_files.is_subset(&with_files));
    // The store says it has no passkeys; nothing else mentions them.
    let store = read(&without, "src/accounts/store/mod.rs");
    assert!(
        store.contains("impl sigra_core::store::WithoutPasskeys for AccountsTx {}"),
        "{store}"
    );
    assert!(!read(&with, "src/accounts/store/mod.rs").contains("WithoutPasskeys"));
    // Nothing else mentions them: not the login page (no button, no autofill), the MFA page,
    // the settings page, the routes, the script route, the migrations.
    let allowed = [
        "src/accounts/store/mod.rs",
        "tests/flows.rs", // proves they are gone
        ".sigra/manifest.toml",
    ];
    for path in without_files
        .iter()
        .filter(|p| !allowed.contains(&p.as_str()))
    {
        let text = read(&without, path);
        assert!(
            !text.to_lowercase().contains("passkey"),
            "{path} mentions passkeys:\n{text}"
        );
    }
    assert!(read(&without, ".sigra/manifest.toml").contains("passkeys = false\n"));
    assert!(read(&with, ".sigra/manifest.toml").contains("passkeys = true\n"));
    let login = read(&without, "templates/auth/log_in.html");
    assert!(login.contains(r#"autocomplete="username""#), "{login}");

    // The JSON app leaves out its passkey endpoints and their tests the same way.
    let (_c, json) = installed("json-no-passkeys", &["--no-html", "--no-passkeys"]);
    let json_files: BTreeSet<String> = installer::tree(&json).into_keys().collect();
    assert!(!json_files.contains("src/web/api/passkeys.rs"));
    assert!(!json_files.contains("tests/api_passkeys.rs"));
    assert!(
        !read(&json, "src/web/api/mod.rs")
            .to_lowercase()
            .contains("passkey")
    );
}

#[test]
fn no_binary_id_uses_integer_keys() {
    let (_scratch, app) = installed("integer-ids", &["--no-binary-id"]);
    let store = read(&app, "src/accounts/store/mod.rs");
    assert!(store.contains("type Key = i64;"), "{store}");
    assert!(
        store.contains("fn new_id(&self) -> Option<Id> {\n        None\n    }"),
        "{store}"
    );
    assert!(!store.contains("new_key"), "{store}");
    let users = read(&app, "src/accounts/store/users.rs");
    assert!(
        users.contains("created_at, updated_at)\n    VALUES ($1, $2, $3, 0, 0, $4, $4)"),
        "{users}"
    );
    // The store's `new_id` alone decides the key kind; the app wires nothing else.
    assert!(!read(&app, "src/app.rs").contains("IdKind"));
    let migration = read(&app, "migrations/20260101000000_create_users.sql");
    assert!(
        migration.contains("id INTEGER PRIMARY KEY AUTOINCREMENT,"),
        "{migration}"
    );
    let sessions = read(&app, "migrations/20260101000001_create_user_sessions.sql");
    assert!(
        sessions.contains("user_id INTEGER NOT NULL REFERENCES users (id)"),
        "{sessions}"
    );
    // Only the jobs (the outbox) keep UUID ids, chosen by sigra-core whatever the key type.
    let jobs = [
        "Cargo.toml",
        "migrations/20261203000000_create_jobs.sql",
        "src/accounts/store/jobs.rs",
        "src/cli.rs",
        "src/mail/outbox.rs",
        "tests/flows.rs",
        "tests/outbox.rs",
    ];
    // Passkeys store an authenticator's AAGUID (a UUID, not a key), and a WebAuthn challenge
    // is keyed by its 32-byte digest: checked on their own below.
    let passkeys = [
        "migrations/20261206000000_create_passkeys.sql",
        "src/accounts/store/passkeys.rs",
    ];
    for (path, bytes) in installer::tree(&app) {
        if jobs.contains(&path.as_str()) || passkeys.contains(&path.as_str()) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("Uuid") && !text.contains("uuid"),
            "{path} mentions UUIDs"
        );
        assert!(!text.contains("BLOB PRIMARY KEY"), "{path}");
    }
    let jobs_table = read(&app, "migrations/20261203000000_create_jobs.sql");
    assert!(jobs_table.contains("id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16)"));
    let passkey_tables = read(&app, "migrations/20261206000000_create_passkeys.sql");
    for line in [
        "id INTEGER PRIMARY KEY AUTOINCREMENT,",
        "user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,",
        "user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,",
        "digest BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),",
    ] {
        assert!(passkey_tables.contains(line), "{line}\n{passkey_tables}");
    }
    assert_eq!(
        passkey_tables.matches("PRIMARY KEY").count(),
        2,
        "{passkey_tables}"
    );
    let passkey_store = read(&app, "src/accounts/store/passkeys.rs");
    assert!(!passkey_store.contains("new_key"), "{passkey_store}");
    assert!(
        passkey_store
            .contains("sign_count, created_at)\n    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "),
        "{passkey_store}"
    );
}

#[test]
fn other_names_flow_into_paths_types_and_sql() {
    let scratch = Scratch::new("names");
    let app = installer::reference_app(scratch.path());
    installer::run_cargo_sigra(
        &app,
        &[
            "install",
            "Identity",
            "Member",
            "members",
            "--sigra-path",
            "../../crates/sigra-core",
            "--yes",
        ],
    )
    .assert_success();
    let context = read(&app, "src/identity/mod.rs");
    assert!(context.contains("pub struct Member {"), "{context}");
    assert!(
        context.contains("pub type Identity = Sigra<IdentityStore>;"),
        "{context}"
    );
    let table = read(&app, "src/identity/store/members.rs");
    assert!(table.contains("INSERT INTO members ("), "{table}");
    assert!(table.contains("FROM members"), "{table}");
    assert!(
        read(&app, "migrations/20260101000000_create_members.sql")
            .contains("CREATE TABLE members (")
    );
    assert!(
        read(&app, "migrations/20260101000001_create_user_sessions.sql")
            .contains("REFERENCES members (id)")
    );
    let state = read(&app, "src/app.rs");
    assert!(state.contains("pub identity: Identity,"), "{state}");
    assert!(read(&app, "src/web/auth/login.rs").contains("State(identity): State<Identity>,"));
    assert!(read(&app, "src/web/templates.rs").contains("pub user: Option<Member>,"));
    assert!(app.join("tests/identity.rs").exists());
    assert!(read(&app, "src/lib.rs").contains("pub mod identity;"));
    // Nothing of the default names is left.
    for (path, bytes) in installer::tree(&app) {
        let text = String::from_utf8_lossy(&bytes);
        for default in [
            "Accounts",
            "accounts::",
            "(accounts)",
            "accounts.",
            "mod accounts",
        ] {
            assert!(!text.contains(default), "{path} has {default}");
        }
        assert!(
            !text.contains("FROM users") && !text.contains("INTO users"),
            "{path}"
        );
    }
}

#[test]
fn other_names_on_an_installed_app_are_refused_unless_forced() {
    let (_scratch, app) = installed("renamed", &[]);
    let before = installer::tree(&app);
    let args = [
        "install",
        "Identity",
        "Member",
        "members",
        "--sigra-path",
        "../../crates/sigra-core",
        "--yes",
    ];
    let run = installer::run_cargo_sigra(&app, &args);
    assert!(!run.success);
    assert!(
        run.stderr
            .starts_with("error: this app was installed as `Accounts User users`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        installer::compare_trees("before", &before, "after", &installer::tree(&app)),
        None
    );
}

#[test]
fn an_app_on_an_older_edition_is_refused_before_anything_is_written() {
    let scratch = Scratch::new("old-edition");
    let app = installer::reference_app(scratch.path());
    let cargo_toml = read(&app, "Cargo.toml");
    assert!(cargo_toml.contains("edition = \"2024\"\n"), "{cargo_toml}");
    for (old, found) in [
        ("edition = \"2021\"\n", "Cargo.toml has edition = \"2021\"."),
        ("", "Cargo.toml has no `edition` (so Cargo uses 2015)."),
        (
            "edition = \"2024\"\nrust-version = \"1.85\"\n",
            "Cargo.toml has rust-version = \"1.85\".",
        ),
    ] {
        std::fs::write(
            app.join("Cargo.toml"),
            cargo_toml.replace("edition = \"2024\"\n", old),
        )
        .unwrap();
        let before = installer::tree(&app);
        for extra in [&[][..], &["--dry-run"], &["--force"]] {
            let run = installer::run_cargo_sigra(&app, &[REFERENCE_ARGS, extra].concat());
            assert!(!run.success, "{old:?} {extra:?} was accepted");
            assert!(
                run.stderr.starts_with(
                    "error: the generated code needs Rust edition 2024 and Rust 1.95, and "
                ),
                "{}",
                run.stderr
            );
            assert!(run.stderr.contains(found), "{}", run.stderr);
            assert!(
                run.stderr.contains(
                    "Set `edition = \"2024\"` and `rust-version = \"1.95\"` (or later) under [package]"
                ),
                "{}",
                run.stderr
            );
            assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
            assert_eq!(run.stdout, "", "{old:?} {extra:?}");
            assert_eq!(
                installer::compare_trees("before", &before, "after", &installer::tree(&app)),
                None
            );
        }
    }
}

/// The lowercase hex SHA-256 of `bytes`, as the manifest records it.
fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn a_written_migration_is_never_rewritten_even_with_force() {
    let (_scratch, app) = installed("migrations", &[]);
    let path = "migrations/20260101000000_create_users.sql";
    let generated = read(&app, path);
    let manifest = read(&app, ".sigra/manifest.toml");
    let kept_line = format!(
        "  keep      {path}  (a written migration is never rewritten, even with --force: a database that ran it refuses a changed one; schema changes come as new migrations)\n"
    );

    // As written by an older cargo sigra whose template said something else: the manifest
    // records the older text, so the file is unchanged since written, and still kept.
    let older = generated.replace("CREATE TABLE", "-- older template\nCREATE TABLE");
    assert_ne!(older, generated);
    std::fs::write(app.join(path), &older).unwrap();
    std::fs::write(
        app.join(".sigra/manifest.toml"),
        manifest.replace(
            &sha256_hex(generated.as_bytes()),
            &sha256_hex(older.as_bytes()),
        ),
    )
    .unwrap();
    for extra in [&[][..], &["--force"]] {
        let run =
            installer::run_cargo_sigra(&app, &[REFERENCE_ARGS, extra].concat()).assert_success();
        assert!(run.stdout.contains(&kept_line), "{}", run.stdout);
        assert!(
            run.stdout.contains(
                "\nNothing to change: the install is up to date (1 changed migration kept as written: see above).\n"
            ),
            "{}",
            run.stdout
        );
        assert_eq!(read(&app, path), older);
        // The manifest still records what was written.
        assert!(read(&app, ".sigra/manifest.toml").contains(&sha256_hex(older.as_bytes())));
    }

    // Edited by hand: kept too, even with --force, while other edited files are overwritten.
    let edited = format!("{generated}-- my own index\n");
    std::fs::write(app.join(path), &edited).unwrap();
    std::fs::write(app.join(".sigra/manifest.toml"), &manifest).unwrap();
    std::fs::write(app.join("src/db.rs"), "// edited\n").unwrap();
    let run =
        installer::run_cargo_sigra(&app, &[REFERENCE_ARGS, &["--force"]].concat()).assert_success();
    assert!(run.stdout.contains(&kept_line), "{}", run.stdout);
    assert!(
        run.stdout.contains("  overwrite src/db.rs  (--force)\n"),
        "{}",
        run.stdout
    );
    assert_eq!(read(&app, path), edited);

    // Deleted: written again.
    std::fs::remove_file(app.join(path)).unwrap();
    let run = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    assert!(
        run.stdout.contains(&format!("  create    {path}\n")),
        "{}",
        run.stdout
    );
    assert_eq!(read(&app, path), generated);
}
