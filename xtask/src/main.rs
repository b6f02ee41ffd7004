//! `cargo xtask test`: the one command that runs Sigra's whole test suite on a fresh machine.
//!
//! It provisions what the suite needs where it can (today: the Python peers the
//! cross-implementation tests check sigra-core against), then runs formatting and lint checks,
//! every test and doctest, and compiles the benches. When it cannot install something itself
//! it stops and prints the exact command to run.
//!
//! ```text
//! cargo xtask test            # everything
//! cargo xtask test --quick    # skip fmt/clippy, run the tests
//! cargo xtask peers           # only provision the peers
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// A failed step, with what to do about it.
struct Failure(String);

type Step = Result<(), Failure>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let result = match args.first().map(String::as_str) {
        Some("test") => test(quick),
        Some("peers") => Peers::provision(&root()).map(|_| ()),
        _ => {
            eprintln!(
                "usage: cargo xtask test [--quick]   run the whole suite (provisions peers)\n       cargo xtask peers          only provision the test peers"
            );
            return ExitCode::from(2);
        }
    };
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

fn test(quick: bool) -> Step {
    let started = Instant::now();
    let root = root();
    let peers = Peers::provision(&root)?;

    if !quick {
        section("cargo fmt --check");
        cargo(&root, &["fmt", "--all", "--", "--check"], &[])
            .map_err(|f| Failure(format!("{} (run `cargo fmt --all`)", f.0)))?;
        section("cargo clippy (warnings are errors)");
        cargo(
            &root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )?;
    }

    let env = peers.env();
    section("tests, benches in test mode (every target, peers required)");
    cargo(&root, &["test", "--workspace", "--all-targets"], &env)?;
    section("doctests");
    cargo(&root, &["test", "--workspace", "--doc"], &env)?;

    println!(
        "\nxtask: the whole suite passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

fn section(title: &str) {
    println!("\n==== {title} ====");
}

fn cargo(root: &Path, args: &[&str], env: &[(String, String)]) -> Step {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(cargo)
        .args(args)
        .current_dir(root)
        .envs(env.iter().cloned()))
}

fn run(cmd: &mut Command) -> Step {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| Failure(format!("could not start {shown}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!("{shown} failed ({status})")))
    }
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages when we are root on a Debian-like system; otherwise says how.
fn apt_install(packages: &[&str], why: &str) -> Step {
    let command = format!("sudo apt-get install -y {}", packages.join(" "));
    if !is_root() || !succeeds(Command::new("apt-get").arg("--version")) {
        return Err(Failure(format!("{why}: install it with\n    {command}")));
    }
    println!("xtask: installing {} ({why})", packages.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The Python virtual environment holding the independent implementations (pyotp, PyJWT,
/// argon2-cffi, bcrypt, cryptography) the cross-implementation tests compare against.
struct Peers {
    python: PathBuf,
}

impl Peers {
    fn provision(root: &Path) -> Result<Self, Failure> {
        section("peers: Python venv (tests/py/requirements.txt)");
        let venv = root.join("target/peers/venv");
        let python = venv.join("bin/python");
        let requirements = root.join("tests/py/requirements.txt");
        let wanted = std::fs::read_to_string(&requirements)
            .map_err(|e| Failure(format!("cannot read {}: {e}", requirements.display())))?;
        let stamp = venv.join("sigra-requirements.txt");
        if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
            println!("xtask: peers up to date in {}", venv.display());
            return Ok(Self { python });
        }

        let host_python = ["python3", "python"]
            .into_iter()
            .find(|p| succeeds(Command::new(p).arg("--version")));
        let host_python = match host_python {
            Some(p) => p,
            None => {
                apt_install(
                    &["python3", "python3-venv"],
                    "Python 3 is needed for the peers",
                )?;
                "python3"
            }
        };
        // Debian splits venv/ensurepip into python3-venv.
        let _ = std::fs::remove_dir_all(&venv);
        if !succeeds(Command::new(host_python).args(["-m", "venv"]).arg(&venv)) {
            let _ = std::fs::remove_dir_all(&venv);
            apt_install(&["python3-venv"], "`python3 -m venv` does not work")?;
            run(Command::new(host_python).args(["-m", "venv"]).arg(&venv))?;
        }
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements))
        .map_err(|f| {
            Failure(format!(
                "{} (the peers come from PyPI; is it reachable?)",
                f.0
            ))
        })?;
        std::fs::write(&stamp, wanted)
            .map_err(|e| Failure(format!("cannot write {}: {e}", stamp.display())))?;
        println!("xtask: peers installed in {}", venv.display());
        Ok(Self { python })
    }

    /// Environment for the test run: where the peers are, and that they are required.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SIGRA_PYTHON".to_owned(), self.python.display().to_string()),
            ("SIGRA_REQUIRE_PEERS".to_owned(), "1".to_owned()),
        ]
    }
}
