//! Helpers for the workspace-level tests.
//!
//! The cross-implementation tests check sigra-core against independent implementations
//! written in Python (pyotp, PyJWT, argon2-cffi, bcrypt). Each peer is a small script under
//! `tests/py/` that reads one JSON document on stdin and writes one JSON document on stdout.
//! `cargo xtask test` installs the peers into `target/peers/venv` and sets
//! `SIGRA_REQUIRE_PEERS=1`, so a missing peer fails the run there; under a plain
//! `cargo test` a missing venv skips these tests with a message naming the fix.

pub mod browser;
pub mod host;
pub mod http;
pub mod installer;
pub mod postgres;
pub mod smtp;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of this crate's directory).
///
/// Read at run time (cargo sets `CARGO_MANIFEST_DIR` for the tests it runs), so a build shared
/// between several checkouts still finds the checkout under test.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Whether missing peers must fail the test instead of skipping it (`SIGRA_REQUIRE_PEERS=1`,
/// set by `cargo xtask test`).
pub fn peers_required() -> bool {
    std::env::var("SIGRA_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// The Python interpreter of the peers' virtual environment: `SIGRA_PYTHON` if set, else
/// `target/peers/venv/bin/python` (made by `cargo xtask test`).
///
/// Returns `None` (after printing why) when it is missing and peers are not required.
///
/// # Panics
/// When the interpreter is missing and `SIGRA_REQUIRE_PEERS=1`.
pub fn python() -> Option<PathBuf> {
    let path = std::env::var_os("SIGRA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/peers/venv/bin/python"));
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "Python peers not found at {}; run `cargo xtask test` (it creates the venv from tests/py/requirements.txt)",
        path.display()
    );
    #[allow(clippy::panic)]
    if peers_required() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    None
}

/// Runs the peer script `tests/py/<script>` with `input` as JSON on stdin and returns its
/// JSON output. Returns `None` when the peers are not installed (see [`python`]).
///
/// # Panics
/// When the script fails or prints something that is not JSON: the test has found a problem.
#[allow(clippy::panic, clippy::expect_used)]
pub fn run_peer(script: &str, input: &serde_json::Value) -> Option<serde_json::Value> {
    let python = python()?;
    let script_path = workspace_root().join("tests/py").join(script);
    let mut child = Command::new(&python)
        .arg(&script_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "starting {} {}: {e}",
                python.display(),
                script_path.display()
            )
        });
    {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(input.to_string().as_bytes())
            .expect("writing the peer's input");
    }
    let out = child.wait_with_output().expect("waiting for the peer");
    if !out.status.success() {
        panic!(
            "peer {script} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "peer {script} printed something that is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    }))
}
