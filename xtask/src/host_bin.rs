//! The host app's binary for the browser tests, taken from the test build itself.
//!
//! `e2e_golden_path` starts `sigra-example-host`; on its own it runs a nested
//! `cargo build -p sigra-example-host`, and since that build unifies features differently from
//! `cargo test --workspace --all-features`, half the dependency tree compiles a second time.
//! The test build already makes the binary (the host's integration tests need it): xtask reads
//! its path from cargo's JSON messages, copies it aside (generated apps built by
//! `installer_app_builds` in the same target directory are named `sigra-example-host` too, and
//! would replace the uplifted file), and passes the copy as `SIGRA_E2E_HOST_BIN`.

use std::path::{Path, PathBuf};

use crate::sys::{Failure, Step};

/// The package (and binary) the browser tests start.
pub(crate) const HOST_PACKAGE: &str = "sigra-example-host";

/// The host binary cargo reported in `messages` (its `--message-format=json` output): the
/// `compiler-artifact` whose executable is named `sigra-example-host` (the binary itself, not
/// its unit-test harness `deps/sigra_example_host-<hash>`).
pub(crate) fn find(messages: &str) -> Option<PathBuf> {
    let file_name = format!("{HOST_PACKAGE}{}", std::env::consts::EXE_SUFFIX);
    messages
        .lines()
        .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
        .filter_map(|line| json_string_field(line, "executable"))
        .map(PathBuf::from)
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name == file_name.as_str())
        })
}

/// Copies the binary to `<its directory>/e2e/`, where no other build writes; returns the copy.
pub(crate) fn set_aside(binary: &Path) -> Step<PathBuf> {
    let failed = |what: &str, e: std::io::Error| {
        Failure::new(format!("cannot {what} {}: {e}", binary.display()))
    };
    let dir = binary
        .parent()
        .ok_or_else(|| Failure::new(format!("{} has no directory", binary.display())))?
        .join("e2e");
    std::fs::create_dir_all(&dir).map_err(|e| failed("make a directory beside", e))?;
    let copy = dir.join(binary.file_name().unwrap_or(HOST_PACKAGE.as_ref()));
    std::fs::copy(binary, &copy).map_err(|e| failed("copy", e))?;
    Ok(copy)
}

/// The string value of `"key":"..."` in one line of compact JSON (as cargo writes it),
/// unescaped; `None` when the key is missing or not a string.
fn json_string_field(line: &str, key: &str) -> Option<String> {
    let marker = format!("\"{key}\":\"");
    let start = line.find(&marker)? + marker.len();
    let mut value = String::new();
    let mut chars = line.get(start..)?.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other), // `\\`, `\"`, `\/`
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGES: &str = concat!(
        r#"{"reason":"compiler-artifact","package_id":"path+file:///w/examples/host#sigra-example-host@0.1.0","target":{"kind":["lib"],"name":"sigra_example_host"},"executable":null,"fresh":true}"#,
        "\n",
        r#"{"reason":"compiler-artifact","package_id":"path+file:///w/examples/host#sigra-example-host@0.1.0","target":{"kind":["bin"],"name":"sigra-example-host"},"profile":{"test":true},"executable":"/w/target/debug/deps/sigra_example_host-0123abcd","fresh":true}"#,
        "\n",
        r#"{"reason":"compiler-artifact","package_id":"path+file:///w/examples/host#sigra-example-host@0.1.0","target":{"kind":["bin"],"name":"sigra-example-host"},"profile":{"test":false},"executable":"/w/tar\"get/debug/sigra-example-host","fresh":false}"#,
        "\n",
        r#"{"reason":"build-finished","success":true}"#,
        "\n",
    );

    #[test]
    fn the_binary_is_found_and_not_its_test_harness() {
        assert_eq!(
            find(MESSAGES),
            Some(PathBuf::from("/w/tar\"get/debug/sigra-example-host"))
        );
        assert_eq!(find(r#"{"reason":"build-finished","success":true}"#), None);
    }

    #[test]
    fn json_strings_are_unescaped() {
        assert_eq!(
            json_string_field(r#"{"a":"x\\y\"z\u00e9"}"#, "a").as_deref(),
            Some("x\\y\"zé")
        );
        assert_eq!(json_string_field(r#"{"a":null}"#, "a"), None);
        assert_eq!(json_string_field(r#"{"a":"unterminated"#, "a"), None);
    }
}
