//! The browser end-to-end peers: Node.js (18 or newer), Debian's Chromium, and the npm project
//! in `tests/e2e` (playwright-core, oidc-provider) installed with `npm ci`.
//!
//! No browser is downloaded: Playwright drives the system Chromium (`/usr/bin/chromium`, or
//! `SIGRA_CHROMIUM`), with the launch options in `tests/e2e/lib/browser.mjs`. A stamp in
//! `tests/e2e/node_modules/.sigra-stamp` (the lock file and Node's major version) skips `npm ci`
//! while nothing changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sys::{Failure, Step, apt_command, first_line, is_executable, run, say, which};

/// The oldest Node.js the e2e project supports (playwright-core 1.61 needs 18).
const MIN_NODE: u32 = 18;
/// Debian's Chromium.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Debian packages the browser peers need that are missing: (package, why).
pub(crate) fn missing_packages() -> Step<Vec<(&'static str, &'static str)>> {
    let mut missing = Vec::new();
    match which("node") {
        None => {
            missing.push(("nodejs", "Node.js runs the browser tests"));
            if which("npm").is_none() {
                missing.push(("npm", "npm installs tests/e2e"));
            }
        }
        Some(node) => {
            node_major(&node)?;
            if which("npm").is_none() {
                missing.push(("npm", "npm installs tests/e2e"));
            }
        }
    }
    if !is_executable(&chromium_path()) {
        if std::env::var_os("SIGRA_CHROMIUM").is_some() {
            return Err(Failure(format!(
                "SIGRA_CHROMIUM={} is not an executable",
                chromium_path().display()
            )));
        }
        missing.push(("chromium", "the browser tests drive Chromium"));
        missing.push(("fonts-liberation", "screenshots need a font"));
    }
    Ok(missing)
}

/// The installed browser peers.
pub(crate) struct Browser {
    node: PathBuf,
    chromium: PathBuf,
    e2e: PathBuf,
}

impl Browser {
    /// Checks Node.js and Chromium (installed by then) and runs `npm ci` in `tests/e2e` when
    /// its lock file changed.
    pub(crate) fn provision(root: &Path) -> Step<Self> {
        let node = which("node").ok_or_else(|| {
            Failure(format!(
                "Node.js is not installed; install it with\n    {}",
                apt_command(&["nodejs", "npm"])
            ))
        })?;
        let major = node_major(&node)?;
        let npm = which("npm").ok_or_else(|| {
            Failure(format!(
                "npm is not installed; install it with\n    {}",
                apt_command(&["npm"])
            ))
        })?;
        let chromium = chromium_path();
        if !is_executable(&chromium) {
            return Err(Failure(format!(
                "Chromium is not installed at {}; install it with\n    {}\n(or set SIGRA_CHROMIUM)",
                chromium.display(),
                apt_command(&["chromium", "fonts-liberation"])
            )));
        }
        say!(
            "Node.js {} at {}; {} at {}",
            first_line(&node, &["--version"]).unwrap_or_default(),
            node.display(),
            first_line(&chromium, &["--version"]).unwrap_or_else(|| "Chromium".to_owned()),
            chromium.display()
        );
        let e2e = root.join("tests/e2e");
        npm_ci(&npm, &e2e, major)?;
        Ok(Self {
            node,
            chromium,
            e2e,
        })
    }

    /// The variables the tests read.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SIGRA_E2E_DIR".to_owned(), self.e2e.display().to_string()),
            (
                "SIGRA_CHROMIUM".to_owned(),
                self.chromium.display().to_string(),
            ),
            ("SIGRA_NODE".to_owned(), self.node.display().to_string()),
        ]
    }
}

fn chromium_path() -> PathBuf {
    std::env::var_os("SIGRA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM))
}

/// Node's major version; an error when it is older than [`MIN_NODE`].
fn node_major(node: &Path) -> Step<u32> {
    let version = first_line(node, &["--version"])
        .ok_or_else(|| Failure(format!("`{} --version` failed", node.display())))?;
    let major = parse_node_major(&version)
        .ok_or_else(|| Failure(format!("cannot read Node's version from {version:?}")))?;
    if major < MIN_NODE {
        return Err(Failure(format!(
            "Node.js {version} at {} is too old: the browser tests need {MIN_NODE} or newer (Debian 12's `apt-get install nodejs` gives 18)",
            node.display()
        )));
    }
    Ok(major)
}

fn parse_node_major(version: &str) -> Option<u32> {
    version
        .trim()
        .strip_prefix('v')?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// `npm ci` in `e2e` unless the stamp says the same lock file was installed by the same Node.
fn npm_ci(npm: &Path, e2e: &Path, node_major: u32) -> Step {
    let lock_path = e2e.join("package-lock.json");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|e| Failure(format!("cannot read {}: {e}", lock_path.display())))?;
    let wanted = format!("node {node_major}\n{lock}");
    let stamp = e2e.join("node_modules/.sigra-stamp");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        say!("{} up to date", e2e.join("node_modules").display());
        return Ok(());
    }
    say!("npm ci in {}", e2e.display());
    run(Command::new(npm)
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefer-offline",
        ])
        .current_dir(e2e)
        // Nothing may download a browser: the system Chromium is used.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))
    .map_err(|f| {
        Failure(format!(
            "{} (the packages come from the npm registry; is it reachable?)",
            f.0
        ))
    })?;
    std::fs::write(&stamp, wanted)
        .map_err(|e| Failure(format!("cannot write {}: {e}", stamp.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_parse() {
        assert_eq!(parse_node_major("v20.20.2"), Some(20));
        assert_eq!(parse_node_major("v18.19.0\n"), Some(18));
        assert_eq!(parse_node_major("20.1.0"), None);
        assert_eq!(parse_node_major("vx"), None);
        assert_eq!(parse_node_major(""), None);
    }
}
