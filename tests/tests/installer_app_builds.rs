//! Generated apps build, lint clean and pass their own tests (`cargo fmt --check`,
//! `cargo clippy --all-targets -- -D warnings`, `cargo test` inside the generated app).
//!
//! Slow: each app is a real build. It shares the workspace's target directory, lockfile and
//! profile settings, so the dependencies built for `examples/host` are reused and only the
//! generated crate itself compiles. The Postgres variant runs its tests only when
//! `SIGRA_TEST_POSTGRES_URL` names a scratch database; otherwise it is built and linted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use sigra_tests::installer::{self, Scratch};
use sigra_tests::workspace_root;

/// Generates an app with `extra` install flags into `scratch/app`, ready to build like a
/// workspace member would be.
fn generate(scratch: &Path, extra: &[&str]) -> std::path::PathBuf {
    let app = installer::cargo_new(scratch, "app", "sigra-generated-app");
    let root = workspace_root();
    let sigra_core = root.join("crates/sigra-core");
    let mut args = vec![
        "install",
        "Accounts",
        "User",
        "users",
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
        .env_remove("RUSTFLAGS");
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

fn check(app: &Path) {
    cargo_in(app, &["fmt", "--check"], &[]);
    cargo_in(
        app,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
        &[],
    );
}

#[test]
fn the_default_sqlite_app_builds_and_passes_its_tests() {
    let scratch = Scratch::new("build-default");
    let app = generate(scratch.path(), &[]);
    // Clippy for this combination runs on examples/host, a workspace member with the same code.
    cargo_in(&app, &["fmt", "--check"], &[]);
    cargo_in(&app, &["test"], &[]);
}

#[test]
fn the_json_only_integer_key_app_builds_lints_clean_and_passes_its_tests() {
    let scratch = Scratch::new("build-json");
    let app = generate(scratch.path(), &["--no-html", "--no-binary-id"]);
    check(&app);
    cargo_in(&app, &["test"], &[]);
}

#[test]
fn the_postgres_app_builds_and_lints_clean() {
    for (label, extra) in [
        ("build-postgres", &["--database", "postgres"][..]),
        (
            "build-postgres-int",
            &["--database", "postgres", "--no-binary-id", "--no-html"][..],
        ),
    ] {
        let scratch = Scratch::new(label);
        let app = generate(scratch.path(), extra);
        check(&app);
        match std::env::var("SIGRA_TEST_POSTGRES_URL") {
            Ok(url) => cargo_in(&app, &["test"], &[("DATABASE_URL", &url)]),
            Err(_) => {
                eprintln!(
                    "{label}: SIGRA_TEST_POSTGRES_URL not set; built the tests without running them"
                );
                cargo_in(&app, &["test", "--no-run"], &[]);
            }
        }
    }
}
