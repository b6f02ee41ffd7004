//! The Python virtual environment holding the independent implementations (pyotp, PyJWT,
//! argon2-cffi, bcrypt, cryptography, aiosmtpd) the cross-implementation tests compare against.
//!
//! Lives in `target/peers/venv`; a copy of `tests/py/requirements.txt` inside it is the stamp:
//! while it matches, nothing is reinstalled.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sys::{Failure, Step, apt_install, run, say, succeeds};

/// Makes sure the venv exists and matches the requirements; returns its interpreter.
pub(crate) fn provision(root: &Path) -> Step<PathBuf> {
    let venv = root.join("target/peers/venv");
    let python = venv.join("bin/python");
    let requirements = root.join("tests/py/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| Failure(format!("cannot read {}: {e}", requirements.display())))?;
    let stamp = venv.join("sigra-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        say!("Python peers up to date in {}", venv.display());
        return Ok(python);
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
    say!("Python peers installed in {}", venv.display());
    Ok(python)
}
