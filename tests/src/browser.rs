//! Browser end-to-end tests: a Rust test starts what it tests (a server on 127.0.0.1), then runs
//! a spec from `tests/e2e/specs/` under Node.js; the spec drives Debian's Chromium through
//! playwright-core and prints its result as JSON on its last stdout line.
//!
//! `cargo xtask test` installs Node.js, Chromium and `tests/e2e/node_modules` and exports
//! `SIGRA_E2E_DIR`, `SIGRA_CHROMIUM` and `SIGRA_NODE`; without them the defaults are
//! `tests/e2e`, `/usr/bin/chromium` and `node` on `PATH`. Every spec launches Chromium through
//! `tests/e2e/lib/browser.mjs` (the shared flags, a fresh profile, screenshots, the CDP session
//! for WebAuthn's virtual authenticator).
//!
//! ```no_run
//! let base_url = "http://127.0.0.1:8080/"; // a server the test started
//! let Some(result) = sigra_tests::browser::run_spec_json("infra_smoke.mjs", &[("BASE_URL", base_url)])
//! else {
//!     return; // skipped: no browser (fails instead under SIGRA_REQUIRE_PEERS=1)
//! };
//! assert_eq!(result["title"], "Sigra infra smoke");
//! ```
//!
//! Screenshots go to `target/e2e-artifacts/` (a failing spec leaves `<spec>-failure.png`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{peers_required, workspace_root};

/// How long a spec may run before it is killed and the test fails (override with
/// `SIGRA_E2E_TIMEOUT_SECS`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The installed browser peers: Node.js, Chromium and the e2e project.
#[derive(Clone, Debug)]
pub struct Browser {
    node: PathBuf,
    chromium: PathBuf,
    dir: PathBuf,
}

impl Browser {
    /// The Node.js binary that runs the specs.
    pub fn node(&self) -> &Path {
        &self.node
    }

    /// The Chromium binary the specs drive.
    pub fn chromium(&self) -> &Path {
        &self.chromium
    }

    /// The e2e project (`tests/e2e`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The e2e project: `SIGRA_E2E_DIR`, else `tests/e2e` in the workspace.
pub fn e2e_dir() -> PathBuf {
    std::env::var_os("SIGRA_E2E_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tests/e2e"))
}

/// Where specs put screenshots: `target/e2e-artifacts` in the workspace.
pub fn artifacts_dir() -> PathBuf {
    workspace_root().join("target/e2e-artifacts")
}

/// The browser peers, if installed.
///
/// Returns `None` (after printing `skipped: ...`) when something is missing and peers are not
/// required.
///
/// # Panics
/// When something is missing and `SIGRA_REQUIRE_PEERS=1`.
pub fn browser() -> Option<Browser> {
    let node = std::env::var_os("SIGRA_NODE")
        .map(PathBuf::from)
        .or_else(|| find_on_path("node"));
    let chromium = std::env::var_os("SIGRA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let dir = e2e_dir();
    let problem = match &node {
        None => Some("Node.js (`node`) is not on PATH".to_owned()),
        Some(_) if !chromium.is_file() => Some(format!("{} is missing", chromium.display())),
        Some(_)
            if !dir
                .join("node_modules/playwright-core/package.json")
                .is_file() =>
        {
            Some(format!("{} has no node_modules (npm ci)", dir.display()))
        }
        Some(_) => None,
    };
    match (problem, node) {
        (None, Some(node)) => Some(Browser {
            node,
            chromium,
            dir,
        }),
        (problem, _) => {
            let msg = format!(
                "browser peers not available: {}; run `cargo xtask peers` (installs Chromium, Node.js and tests/e2e/node_modules)",
                problem.unwrap_or_default()
            );
            #[allow(clippy::panic)]
            if peers_required() {
                panic!("{msg}");
            }
            eprintln!("skipped: {msg}");
            None
        }
    }
}

/// Runs the spec `tests/e2e/specs/<spec>` with `env` added to its environment (and
/// `SIGRA_CHROMIUM`, `SIGRA_E2E_ARTIFACTS`) and returns its stdout. `None` when the browser
/// peers are missing (see [`browser`]).
///
/// # Panics
/// When the spec fails or runs longer than `SIGRA_E2E_TIMEOUT_SECS` (120 s): the message
/// carries its stderr (the error, where a screenshot went) and stdout.
pub fn run_spec(spec: &str, env: &[(&str, &str)]) -> Option<String> {
    let browser = browser()?;
    Some(run_with(&browser, spec, env))
}

/// Like [`run_spec`], and parses the spec's last stdout line as JSON (its result).
///
/// # Panics
/// As [`run_spec`], and when the last line is not JSON.
#[allow(clippy::panic)]
pub fn run_spec_json(spec: &str, env: &[(&str, &str)]) -> Option<serde_json::Value> {
    let stdout = run_spec(spec, env)?;
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    Some(
        serde_json::from_str(last.unwrap_or_default()).unwrap_or_else(|e| {
            panic!("spec {spec}: its last line is not JSON ({e}); it printed:\n{stdout}")
        }),
    )
}

#[allow(clippy::panic)]
fn run_with(browser: &Browser, spec: &str, env: &[(&str, &str)]) -> String {
    let script = browser.dir.join("specs").join(spec);
    if !script.is_file() {
        panic!("no spec {}", script.display());
    }
    let timeout = std::env::var("SIGRA_E2E_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let mut child = Command::new(&browser.node)
        .arg(&script)
        .current_dir(&browser.dir)
        .env("SIGRA_CHROMIUM", &browser.chromium)
        .env("SIGRA_E2E_ARTIFACTS", artifacts_dir())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.node.display()));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "spec {spec} ran longer than {timeout:?} and was killed (SIGRA_E2E_TIMEOUT_SECS raises the limit); screenshots in {}",
                    artifacts_dir().display()
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for spec {spec}: {e}"),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        panic!(
            "spec {spec} failed ({status}); artifacts in {}\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
            artifacts_dir().display()
        );
    }
    if !stderr.trim().is_empty() {
        eprintln!("spec {spec} stderr:\n{stderr}");
    }
    stdout
}

/// Reads a pipe to the end on its own thread (so neither pipe can fill up and block the spec).
fn drain<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
