//! Process and system helpers shared by every step: running commands, timing steps, finding
//! programs, installing Debian packages.
//!
//! Everything xtask itself says goes to stderr, and so does the stdout of the provisioning
//! commands it runs (apt-get, pip, npm, initdb): `cargo xtask env` keeps stdout for the
//! `export` lines a shell evaluates.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A failed step, with what to do about it.
pub(crate) struct Failure(pub(crate) String);

impl Failure {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// The result of a step.
pub(crate) type Step<T = ()> = Result<T, Failure>;

/// Prints a line from xtask (on stderr, see the module docs).
macro_rules! say {
    ($($arg:tt)*) => { eprintln!("xtask: {}", format_args!($($arg)*)) };
}
pub(crate) use say;

/// Every timed step of this run: title, duration, whether it succeeded.
static TIMINGS: Mutex<Vec<(String, Duration, bool)>> = Mutex::new(Vec::new());

/// Runs `f` as a named step: prints its title, then how long it took.
pub(crate) fn timed<T>(title: &str, f: impl FnOnce() -> Step<T>) -> Step<T> {
    eprintln!("\n==== {title} ====");
    let started = Instant::now();
    let result = f();
    let took = started.elapsed();
    let ok = result.is_ok();
    if ok {
        say!("{title}: done in {}", seconds(took));
    } else {
        say!("{title}: FAILED after {}", seconds(took));
    }
    if let Ok(mut timings) = TIMINGS.lock() {
        timings.push((title.to_owned(), took, ok));
    }
    result
}

/// Prints how long each step of this run took.
pub(crate) fn print_timings(total: Duration) {
    let Ok(timings) = TIMINGS.lock() else { return };
    eprintln!("\n==== timings ====");
    for (title, took, ok) in timings.iter() {
        let mark = if *ok { "" } else { "  (failed)" };
        eprintln!("{:>9}  {title}{mark}", seconds(*took));
    }
    eprintln!("{:>9}  total", seconds(total));
}

pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Runs a provisioning command; its stdout goes to our stderr, stdin is closed (CI has none).
pub(crate) fn run(cmd: &mut Command) -> Step {
    let shown = shown(cmd);
    cmd.stdin(Stdio::null()).stdout(to_stderr());
    let status = cmd
        .status()
        .map_err(|e| Failure(format!("could not start {shown}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!("{shown} failed ({status})")))
    }
}

/// Runs a command and captures its output; a failure carries what it printed.
pub(crate) fn run_captured(cmd: &mut Command) -> Step<String> {
    let shown = shown(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure(format!("could not start {shown}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(Failure(format!(
            "{shown} failed ({}):\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// Whether a command runs and exits 0 (its output is discarded).
pub(crate) fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A command as a person would type it (program and arguments, no environment).
pub(crate) fn shown(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes a word for a POSIX shell when it needs it.
pub(crate) fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn to_stderr() -> Stdio {
    use std::os::fd::AsFd as _;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::inherit(), Stdio::from)
}

/// The first executable called `name` on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether this process may install Debian packages itself (root, with apt-get).
pub(crate) fn can_apt() -> bool {
    is_root() && which("apt-get").is_some()
}

/// The command a person runs to install `packages`.
pub(crate) fn apt_command(packages: &[&str]) -> String {
    format!("sudo apt-get install -y {}", packages.join(" "))
}

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

/// Installs Debian packages when we are root on a Debian-like system; otherwise says how.
pub(crate) fn apt_install(packages: &[&str], why: &str) -> Step {
    if !can_apt() {
        return Err(Failure(format!(
            "{why}: install it with\n    {}",
            apt_command(packages)
        )));
    }
    if !APT_UPDATED.swap(true, Ordering::SeqCst) {
        say!("apt-get update");
        run(apt().args(["update", "-qq"]))
            .map_err(|f| Failure(format!("{} (are Debian's package mirrors reachable?)", f.0)))?;
    }
    say!("installing {} ({why})", packages.join(" "));
    run(apt()
        .args([
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
        ])
        .args(packages))
}

fn apt() -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .env("NEEDRESTART_MODE", "a");
    cmd
}

/// The first line of a command's output, or `None` if it fails.
pub(crate) fn first_line(program: impl AsRef<OsStr>, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("/usr/bin/chromium"), "/usr/bin/chromium");
        assert_eq!(
            shell_quote("postgres://postgres@127.0.0.1:5/postgres"),
            "postgres://postgres@127.0.0.1:5/postgres"
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
