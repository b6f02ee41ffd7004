//! The install flags (`--database sqlite|postgres`, `--binary-id|--no-binary-id`,
//! `--html|--no-html`, `--passkeys|--no-passkeys`) generate apps that build, are formatted,
//! lint clean (`cargo clippy --all-targets -- -D warnings`) and pass their own tests (`cargo
//! test` inside the generated app: the store and mailbox conformance suites, the flows
//! through the pages or the JSON API, health).
//!
//! Every *pair* of flag values is covered, not every combination (16 today, doubling with
//! each flag): the five default-named apps below are a covering array of strength 2 for the
//! four flags, so any two values (PostgreSQL with integer keys, JSON without passkeys, …)
//! are built and tested together at least once. Two more apps take other names (`Identity
//! Member members`, `Staff Employee employees`), so every name a template derives compiles
//! and keeps the contracts; their flags add the triples that once broke (integer keys with
//! the passkey pages) or matter most (the JSON passkey endpoints on SQLite).
//!
//! | app | database | keys | pages | passkeys |
//! |---|---|---|---|---|
//! | `sqlite_uuid_html_the_default` | SQLite | UUID | HTML | on |
//! | `sqlite_integer_json_no_passkeys` | SQLite | integer | JSON | off |
//! | `postgres_uuid_json_no_passkeys` | PostgreSQL | UUID | JSON | off |
//! | `postgres_integer_html_no_passkeys` | PostgreSQL | integer | HTML | off |
//! | `postgres_integer_json` | PostgreSQL | integer | JSON | on |
//! | `other_names_postgres_integer_html` | PostgreSQL | integer | HTML | on |
//! | `other_names_sqlite_uuid_json` | SQLite | UUID | JSON | on |
//!
//! A new flag adds a column: extend the five rows so every pair of values still appears
//! (`pairs_are_covered` checks), adding a row only when no assignment of the new column does.
//!
//! Slow: each app is a real build. It shares the workspace's target directory, lockfile and
//! profile settings, so the dependencies built for `examples/host` are reused and only the
//! generated crate itself compiles. The Postgres apps run their tests on a fresh database of
//! the cluster named by `SIGRA_TEST_POSTGRES_URL` (`cargo xtask test`, or `eval "$(cargo
//! xtask env)"`); without it they are built and linted only (and fail under
//! `SIGRA_REQUIRE_PEERS=1`). Each test prints how long its steps took.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Instant;

use sigra_tests::installer::{self, Scratch};
use sigra_tests::{postgres, workspace_root};

/// Generates an app named `names` (Context, Schema, table) with `extra` install flags into
/// `scratch/app` as the package `package`, ready to build like a workspace member would be.
///
/// Each app gets a package name of its own: cargo hashes a root package's artifacts by name,
/// version and dependencies (not by its path), so two apps of one name with the same
/// dependencies, built at once in the shared target directory, would overwrite each other's
/// library while the other's doctests link against it.
fn generate(scratch: &Path, names: [&str; 3], extra: &[&str], package: &str) -> std::path::PathBuf {
    let app = installer::cargo_new(scratch, "app", package);
    let root = workspace_root();
    let sigra_core = root.join("crates/sigra-core");
    let mut args = vec![
        "install",
        names[0],
        names[1],
        names[2],
        "--yes",
        "--sigra-path",
        sigra_core.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    installer::run_cargo_sigra(&app, &args).assert_success();

    // Same dependency versions and profiles as the workspace, so its artifacts are reused.
    std::fs::copy(root.join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    let workspace_toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let profiles = workspace_toml
        .find("\n[profile.")
        .map(|at| &workspace_toml[at..])
        .unwrap_or("");
    let mut app_toml = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    app_toml.push_str(profiles);
    std::fs::write(app.join("Cargo.toml"), app_toml).unwrap();
    app
}

fn cargo_in(app: &Path, args: &[&str], env: &[(&str, &str)]) {
    let mut cmd = installer::cargo();
    cmd.current_dir(app)
        .args(args)
        .env("CARGO_TARGET_DIR", installer::target_dir())
        .env_remove("RUSTFLAGS")
        // The generated tests read mail from the dev mailbox.
        .env_remove("SMTP_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "`cargo {}` failed in the generated app {}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        app.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What to check in a generated app.
struct Check {
    label: &'static str,
    /// Context, Schema, table.
    names: [&'static str; 3],
    flags: &'static [&'static str],
    /// Lint with clippy. Off only for the default app: it is `examples/host` (the drift test
    /// says so), which the workspace's own clippy run lints.
    clippy: bool,
}

fn check(spec: &Check) {
    let started = Instant::now();
    let scratch = Scratch::new(spec.label);
    let package = format!("sigra-app-{}", spec.label.trim_start_matches("build-"));
    let app = generate(scratch.path(), spec.names, spec.flags, &package);
    let mut timings = vec![("generate", started.elapsed())];

    let step = Instant::now();
    cargo_in(&app, &["fmt", "--check"], &[]);
    timings.push(("fmt", step.elapsed()));
    if spec.clippy {
        let step = Instant::now();
        cargo_in(
            &app,
            &["clippy", "--all-targets", "--", "-D", "warnings"],
            &[],
        );
        timings.push(("clippy", step.elapsed()));
    }

    let step = Instant::now();
    if spec.flags.contains(&"postgres") {
        match postgres::fresh_database("sigra_generated_app") {
            Some(url) => {
                cargo_in(&app, &["test"], &[("DATABASE_URL", &url)]);
                timings.push(("test (PostgreSQL)", step.elapsed()));
            }
            None => {
                cargo_in(&app, &["test", "--no-run"], &[]);
                timings.push(("test --no-run (no PostgreSQL)", step.elapsed()));
            }
        }
    } else {
        cargo_in(&app, &["test"], &[]);
        timings.push(("test", step.elapsed()));
    }

    let steps: Vec<String> = timings
        .iter()
        .map(|(name, took)| format!("{name} {:.1}s", took.as_secs_f64()))
        .collect();
    eprintln!(
        "{} [{} {}]: {} (total {:.1}s)",
        spec.label,
        spec.names.join(" "),
        spec.flags.join(" "),
        steps.join(", "),
        started.elapsed().as_secs_f64()
    );
}

const DEFAULT_NAMES: [&str; 3] = ["Accounts", "User", "users"];

/// The five default-named apps' flags: a covering array of strength 2 (see the module docs).
const DEFAULT_FLAGS: &[&str] = &[];
const SQLITE_INTEGER_JSON_NO_PASSKEYS: &[&str] = &["--no-binary-id", "--no-html", "--no-passkeys"];
const POSTGRES_UUID_JSON_NO_PASSKEYS: &[&str] =
    &["--database", "postgres", "--no-html", "--no-passkeys"];
const POSTGRES_INTEGER_HTML_NO_PASSKEYS: &[&str] =
    &["--database", "postgres", "--no-binary-id", "--no-passkeys"];
const POSTGRES_INTEGER_JSON: &[&str] = &["--database", "postgres", "--no-binary-id", "--no-html"];

#[test]
fn sqlite_uuid_html_the_default() {
    check(&Check {
        names: DEFAULT_NAMES,
        label: "build-sqlite-uuid-html",
        flags: DEFAULT_FLAGS,
        clippy: false,
    });
}

#[test]
fn sqlite_integer_json_no_passkeys() {
    check(&Check {
        names: DEFAULT_NAMES,
        label: "build-sqlite-int-json-nopk",
        flags: SQLITE_INTEGER_JSON_NO_PASSKEYS,
        clippy: true,
    });
}

#[test]
fn postgres_uuid_json_no_passkeys() {
    check(&Check {
        names: DEFAULT_NAMES,
        label: "build-postgres-uuid-json-nopk",
        flags: POSTGRES_UUID_JSON_NO_PASSKEYS,
        clippy: true,
    });
}

#[test]
fn postgres_integer_html_no_passkeys() {
    check(&Check {
        names: DEFAULT_NAMES,
        label: "build-postgres-int-html-nopk",
        flags: POSTGRES_INTEGER_HTML_NO_PASSKEYS,
        clippy: true,
    });
}

#[test]
fn postgres_integer_json() {
    check(&Check {
        names: DEFAULT_NAMES,
        label: "build-postgres-int-json",
        flags: POSTGRES_INTEGER_JSON,
        clippy: true,
    });
}

#[test]
fn other_names_postgres_integer_html() {
    check(&Check {
        names: ["Identity", "Member", "members"],
        label: "build-names-postgres-int-html",
        flags: &["--database", "postgres", "--no-binary-id"],
        clippy: true,
    });
}

#[test]
fn other_names_sqlite_uuid_json() {
    check(&Check {
        names: ["Staff", "Employee", "employees"],
        label: "build-names-sqlite-uuid-json",
        flags: &["--no-html"],
        clippy: true,
    });
}

/// The five default-named apps cover every pair: for any two flags, each of the four
/// combinations of their values is some app's.
#[test]
fn pairs_are_covered() {
    const OFF: [&str; 4] = ["postgres", "--no-binary-id", "--no-html", "--no-passkeys"];
    let rows = [
        DEFAULT_FLAGS,
        SQLITE_INTEGER_JSON_NO_PASSKEYS,
        POSTGRES_UUID_JSON_NO_PASSKEYS,
        POSTGRES_INTEGER_HTML_NO_PASSKEYS,
        POSTGRES_INTEGER_JSON,
    ];
    let values: Vec<[bool; 4]> = rows
        .iter()
        .map(|flags| OFF.map(|flag| flags.contains(&flag)))
        .collect();
    for a in 0..OFF.len() {
        for b in a + 1..OFF.len() {
            for want in [(false, false), (false, true), (true, false), (true, true)] {
                assert!(
                    values.iter().any(|v| (v[a], v[b]) == want),
                    "no app has {} = {} with {} = {}",
                    OFF[a],
                    want.0,
                    OFF[b],
                    want.1
                );
            }
        }
    }
}
