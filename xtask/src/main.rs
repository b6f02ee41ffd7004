//! `cargo xtask test`: the one command that runs Sigra's whole test suite on a fresh machine.
//!
//! It provisions what the suite needs where it can (the Python peers the cross-implementation
//! tests check sigra-core against, a PostgreSQL server, Node.js with Chromium and the npm
//! project in `tests/e2e`), then runs formatting and lint checks, builds every test, starts a
//! throwaway PostgreSQL cluster, runs every test and doctest with the peers required, and stops
//! the cluster (also when a test failed). The browser tests get the host app's binary from the
//! test build (`SIGRA_E2E_HOST_BIN`, see [`host_bin`]), so nothing is compiled twice. When it cannot install something itself it stops and
//! prints the exact command to run. Each step prints how long it took.
//!
//! ```text
//! cargo xtask test            # everything
//! cargo xtask test --quick    # skip fmt/clippy, run the tests
//! cargo xtask peers           # only provision the peers
//! eval "$(cargo xtask env)"   # provision, start a dev PostgreSQL, export the test variables
//! cargo xtask pg-stop         # stop and delete that dev PostgreSQL
//! ```

mod browser;
mod host_bin;
mod peers;
mod postgres;
mod python;
mod sys;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use peers::Peers;
use postgres::{Cluster, Server};
use sys::{Failure, Step, print_timings, shell_quote, timed};

const USAGE: &str = "\
usage: cargo xtask test [--quick]   run the whole suite (provisions the peers; --quick skips fmt and clippy)
       cargo xtask peers            only provision the test peers
       cargo xtask env              provision, start a dev PostgreSQL, print `export` lines:
                                        eval \"$(cargo xtask env)\"
       cargo xtask pg-stop          stop and delete the dev PostgreSQL";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let started = Instant::now();
    let root = root();
    let (result, show_timings) = match args.first().map(String::as_str) {
        Some("test") => (test(&root, quick), true),
        Some("peers") => (Peers::provision(&root).map(|_| ()), true),
        Some("env") => (env(&root), false),
        Some("pg-stop") => (
            Server::provision().and_then(|s| Cluster::stop_dev(&s, &root)),
            false,
        ),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if show_timings {
        print_timings(started.elapsed());
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(msg)) => {
            eprintln!("\nxtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives in `<root>/xtask`.
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn test(root: &Path, quick: bool) -> Step {
    let peers = Peers::provision(root)?;

    if !quick {
        timed("cargo fmt --check", || {
            cargo(root, &["fmt", "--all", "--", "--check"], &[])
                .map_err(|f| Failure(format!("{} (run `cargo fmt --all`)", f.0)))
        })?;
        timed("cargo clippy (warnings are errors)", || {
            cargo(
                root,
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            )
        })?;
    }

    let mut env = peers.env();
    let host_bin = timed("build every test target", || {
        let messages = cargo_messages(
            root,
            &[
                "test",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--no-run",
            ],
            &env,
        )?;
        let built = host_bin::find(&messages).ok_or_else(|| {
            Failure::new(format!(
                "the test build made no `{}` binary for the browser tests",
                host_bin::HOST_PACKAGE
            ))
        })?;
        host_bin::set_aside(&built)
    })?;
    // A binary the caller chose (another build of the host) wins.
    if std::env::var_os("SIGRA_E2E_HOST_BIN").is_none() {
        env.push((
            "SIGRA_E2E_HOST_BIN".to_owned(),
            host_bin.display().to_string(),
        ));
    }
    // The guard stops the cluster when this function returns, whatever happened.
    let cluster = timed("PostgreSQL: start a throwaway cluster", || {
        Cluster::start_throwaway(peers.postgres(), root)
    })?;
    env.extend(cluster.env());
    let tests = timed(
        "tests, benches in test mode (every target, peers required)",
        || {
            cargo(
                root,
                &["test", "--workspace", "--all-targets", "--all-features"],
                &env,
            )
        },
    )
    .and_then(|()| {
        timed("doctests", || {
            cargo(
                root,
                &["test", "--workspace", "--all-features", "--doc"],
                &env,
            )
        })
    })
    .and_then(|()| {
        // The runs above have every feature; this one has sigra-core's defaults, so the
        // refusal of settings whose feature is off (`SIGRA_PASSWORD_BREACH_CHECK` without
        // `breach-check`) is tested too. One library build and one test binary.
        timed("sigra-core config tests with default features", || {
            cargo(
                root,
                &["test", "-p", "sigra-core", "--test", "config"],
                &env,
            )
        })
    });
    let stopped = timed("PostgreSQL: stop the cluster", || cluster.stop());
    tests?;
    stopped?;
    eprintln!("\nxtask: the whole suite passed");
    Ok(())
}

/// Provisions, starts (or finds) the dev cluster, and prints `export` lines on stdout.
fn env(root: &Path) -> Step {
    let peers = Peers::provision(root)?;
    let cluster = timed("PostgreSQL: dev cluster", || {
        Cluster::start_dev(peers.postgres(), root)
    })?;
    println!("# Sigra test peers (cargo xtask env); stop PostgreSQL with `cargo xtask pg-stop`");
    for (name, value) in peers.env().into_iter().chain(cluster.env()) {
        println!("export {name}={}", shell_quote(&value));
    }
    Ok(())
}

/// Runs cargo with `--message-format=json-render-diagnostics`: diagnostics and progress on
/// stderr as usual, the JSON messages (artifacts built) returned.
fn cargo_messages(root: &Path, args: &[&str], env: &[(String, String)]) -> Step<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let shown = sys::shown(&cmd);
    let output = cmd
        .output()
        .map_err(|e| Failure(format!("could not start {shown}: {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Failure(format!("{shown} failed ({})", output.status)))
    }
}

/// Runs cargo with inherited output (the test run's own output is the point).
fn cargo(root: &Path, args: &[&str], env: &[(String, String)]) -> Step {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(args).current_dir(root).envs(env.iter().cloned());
    let shown = sys::shown(&cmd);
    let status = cmd
        .status()
        .map_err(|e| Failure(format!("could not start {shown}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!("{shown} failed ({status})")))
    }
}
