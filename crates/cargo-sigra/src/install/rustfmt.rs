//! Generated Rust goes through rustfmt, so it is formatted whatever the length of the names in
//! it (`cargo fmt --check` stays clean in the app) and honours the app's `rustfmt.toml`.
//!
//! The templates are written formatted for the usual names, so without rustfmt on the `PATH`
//! (or with `RUSTFMT` naming a missing program) the output is still tidy; it is only passed
//! through unchanged then.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Formats `source` with rustfmt for `edition`, run in `app_dir` (so the app's rustfmt
/// configuration applies). `Ok(None)` when rustfmt cannot be started; `Err` with rustfmt's
/// complaint when it rejects the code (a bug in a template).
pub(crate) fn format(
    source: &str,
    edition: &str,
    app_dir: &Path,
) -> Result<Option<String>, String> {
    let program = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let child = Command::new(program)
        .args(["--edition", edition, "--emit", "stdout", "--quiet"])
        .current_dir(app_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return Ok(None);
    };
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(source.as_bytes()),
        None => Ok(()),
    };
    let output = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt did not finish: {e}"))?;
    if let Err(e) = written {
        return Err(format!("cannot send the code to rustfmt: {e}"));
    }
    if !output.status.success() {
        return Err(format!(
            "rustfmt rejects the generated code:\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    String::from_utf8(output.stdout)
        .map(Some)
        .map_err(|_| "rustfmt printed something that is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_or_reports_invalid_code() {
        let dir = std::env::temp_dir();
        match format("fn  main( ){let x=1;}", "2024", &dir) {
            Ok(Some(out)) => assert_eq!(out, "fn main() {\n    let x = 1;\n}\n"),
            Ok(None) => eprintln!("rustfmt is not installed; skipped"),
            Err(e) => panic!("{e}"),
        }
        if let Ok(Some(_)) = format("fn main() {}", "2024", &dir) {
            let err = format("fn main( {", "2024", &dir).unwrap_err();
            assert!(err.contains("rustfmt rejects"), "{err}");
        }
    }
}
