//! Helpers for the installer tests (`tests/tests/installer_*.rs`): the built `cargo-sigra`
//! binary, scratch apps made with `cargo new`, file trees and readable diffs.
//!
//! The reference layout mirrors the repository, so the default install's
//! `--sigra-path ../../crates/sigra-core` resolves the same way it does for `examples/host`:
//!
//! ```text
//! <scratch>/crates/sigra-core   -> a symlink to this checkout's crates/sigra-core
//! <scratch>/examples/host       -> `cargo new --vcs none --name sigra-example-host`
//! ```
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::workspace_root;

/// The arguments of the reference install (what `examples/host` is), run inside the app.
pub const REFERENCE_ARGS: &[&str] = &[
    "install",
    "Accounts",
    "User",
    "users",
    "--sigra-path",
    "../../crates/sigra-core",
    "--yes",
];

/// The command that regenerates `examples/host`, for failure messages.
pub const REGENERATE: &str = "scripts/regen-host.sh";

/// A scratch directory under the system temp dir, removed on drop (kept when
/// `SIGRA_KEEP_SCRATCH=1`, for looking at a failure).
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new empty scratch directory; `label` appears in its name.
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("sigra-{label}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("creating a scratch directory");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var("SIGRA_KEEP_SCRATCH").is_ok_and(|v| v == "1") {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `cargo` running the tests (`CARGO`), or the one on the `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The target directory and profile directory of the running test binary
/// (`<target>/<profile>/deps/<test>`).
fn target_and_profile() -> (PathBuf, String) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned();
    let target = profile_dir
        .parent()
        .expect("the profile directory has a parent")
        .to_path_buf();
    (target, profile)
}

/// The target directory the workspace builds into (shared with generated apps' builds).
pub fn target_dir() -> PathBuf {
    target_and_profile().0
}

/// The `cargo-sigra` binary, built once per test process (into the same target directory as
/// the tests, so it is usually up to date already).
pub fn cargo_sigra() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let (target, profile) = target_and_profile();
        let mut build = cargo();
        build
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", "cargo-sigra"])
            .env("CARGO_TARGET_DIR", &target);
        if profile == "release" {
            build.arg("--release");
        }
        let out = build.output().expect("running cargo build -p cargo-sigra");
        assert!(
            out.status.success(),
            "cargo build -p cargo-sigra failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = target
            .join(&profile)
            .join(format!("cargo-sigra{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "no binary at {}", bin.display());
        bin
    })
}

/// `cargo new --vcs none --name <package> <parent>/<dir>`; returns the app's directory.
pub fn cargo_new(parent: &Path, dir: &str, package: &str) -> PathBuf {
    std::fs::create_dir_all(parent).unwrap();
    let app = parent.join(dir);
    let out = cargo()
        .current_dir(parent)
        .args(["new", "--quiet", "--vcs", "none", "--name", package])
        .arg(&app)
        .output()
        .expect("running cargo new");
    assert!(
        out.status.success(),
        "cargo new failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app
}

/// The reference layout (see the module docs) in `scratch`; returns the fresh app's directory.
pub fn reference_app(scratch: &Path) -> PathBuf {
    let crates = scratch.join("crates");
    std::fs::create_dir_all(&crates).unwrap();
    let target = workspace_root().join("crates/sigra-core");
    let link = crates.join("sigra-core");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, &link).unwrap();
    #[cfg(windows)]
    std::os::windows::fs::symlink_dir(&target, &link).unwrap();
    cargo_new(&scratch.join("examples"), "host", "sigra-example-host")
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Self {
        Self {
            success: out.status.success(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Panics with both streams unless the run succeeded.
    pub fn assert_success(self) -> Self {
        assert!(
            self.success,
            "cargo-sigra failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `cargo-sigra <args>` in `app` with no input.
pub fn run_cargo_sigra(app: &Path, args: &[&str]) -> Run {
    let out = Command::new(cargo_sigra())
        .current_dir(app)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running cargo-sigra");
    Run::from_output(out)
}

/// Whether a path (relative, `/`-separated) is build or run output rather than source.
fn ignored(relative: &str) -> bool {
    relative == "target"
        || relative.starts_with("target/")
        || relative == "Cargo.lock"
        || relative.contains(".sqlite3")
}

/// Every file under `dir` (relative path with `/` → contents), minus `target/`,
/// `Cargo.lock` and SQLite database files.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if ignored(&relative) {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `None` when both trees hold the same files with the same bytes; otherwise a message
/// naming the missing and extra files and showing a diff of the first file that differs.
pub fn compare_trees(
    expected_name: &str,
    expected: &BTreeMap<String, Vec<u8>>,
    actual_name: &str,
    actual: &BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    let differing: Vec<&String> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k).is_some_and(|a| a != *v))
        .map(|(k, _)| k)
        .collect();
    if missing.is_empty() && extra.is_empty() && differing.is_empty() {
        return None;
    }
    let mut msg = String::new();
    if !missing.is_empty() {
        msg.push_str(&format!("in {expected_name} only: {missing:?}\n"));
    }
    if !extra.is_empty() {
        msg.push_str(&format!("in {actual_name} only: {extra:?}\n"));
    }
    if !differing.is_empty() {
        msg.push_str(&format!("differing: {differing:?}\n"));
        if let Some(first) = differing.first() {
            let a = String::from_utf8_lossy(&expected[*first]);
            let b = String::from_utf8_lossy(&actual[*first]);
            msg.push_str(&format!(
                "\n--- {expected_name}/{first}\n+++ {actual_name}/{first}\n{}",
                unified_diff(&a, &b, 3)
            ));
        }
    }
    Some(msg)
}

/// A unified-style line diff of `a` → `b` with `context` lines around each change.
pub fn unified_diff(a: &str, b: &str, context: usize) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', line).
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Deletions before insertions, as `diff -u` prints them.
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    // Keep the changed lines and their context.
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    if changed.is_empty() {
        return String::new();
    }
    let keep = |k: usize| {
        changed
            .iter()
            .any(|&c| k + context >= c && k <= c + context)
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line)) in ops.iter().enumerate() {
        if keep(k) {
            if skipped {
                out.push_str("@@ ... @@\n");
                skipped = false;
            }
            out.push(*tag);
            out.push_str(line);
            out.push('\n');
        } else {
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_shows_changes_with_context() {
        let a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(unified_diff(a, b, 1), "@@ ... @@\n 4\n-5\n+five\n 6\n");
        assert_eq!(unified_diff("x\n", "x\n", 3), "");
        assert_eq!(unified_diff("", "a\n", 3), "+a\n");
    }

    #[test]
    fn build_output_is_ignored() {
        assert!(ignored("target"));
        assert!(ignored("target/debug/x"));
        assert!(ignored("Cargo.lock"));
        assert!(ignored("sigra-example-host.sqlite3-wal"));
        assert!(!ignored("src/target.rs"));
    }
}
