//! The `cargo sigra` binary as cargo runs it (`cargo-sigra sigra ...`) and directly.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn cargo_sigra(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-sigra"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_works_as_a_cargo_subcommand_and_directly() {
    for args in [&["sigra", "--help"][..], &["--help"][..]] {
        let out = cargo_sigra(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage: cargo sigra"), "{text}");
        assert!(text.contains("gen-secret"), "{text}");
    }
}

#[test]
fn version_names_the_crate_version() {
    let out = cargo_sigra(&["sigra", "--version"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}

#[test]
fn gen_secret_prints_a_fresh_64_byte_key() {
    let a = cargo_sigra(&["sigra", "gen-secret"]);
    let b = cargo_sigra(&["gen-secret"]);
    assert!(a.status.success() && b.status.success());
    let (a, b) = (
        String::from_utf8(a.stdout).unwrap(),
        String::from_utf8(b.stdout).unwrap(),
    );
    assert_eq!(
        a.trim().len(),
        86,
        "64 bytes in base64url without padding: {a}"
    );
    assert_ne!(a, b);
    sigra_core::keys::SecretKeyBase::new(a.trim().as_bytes().to_vec()).unwrap();
}

#[test]
fn an_unknown_subcommand_is_a_clear_usage_error() {
    let out = cargo_sigra(&["sigra", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn install_is_listed_and_documented() {
    let out = cargo_sigra(&["sigra", "--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("install"), "{text}");
    let out = cargo_sigra(&["sigra", "install", "--help"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--database",
        "--no-binary-id",
        "--no-html",
        "--dry-run",
        "--force",
        "--yes",
        "--sigra-path",
    ] {
        assert!(text.contains(flag), "{flag}: {text}");
    }
}

#[test]
fn the_last_of_a_flag_and_its_negation_wins() {
    let dir = std::env::temp_dir().join(format!("cargo-sigra-cli-flags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"flags\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    let plan = |flags: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-sigra"))
            .current_dir(&dir)
            .args(["sigra", "install", "Accounts", "User", "users", "--dry-run"])
            .args(flags)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(plan(&[]).contains("  keys        UUID v7\n  pages       HTML\n"));
    assert!(
        plan(&["--no-html", "--no-binary-id"])
            .contains("  keys        64-bit integers\n  pages       JSON only\n")
    );
    assert!(
        plan(&["--no-html", "--html", "--no-binary-id", "--binary-id"])
            .contains("  keys        UUID v7\n  pages       HTML\n")
    );
    assert!(plan(&["--database", "postgres"]).contains("  database    postgres\n"));
    assert!(!dir.join("src/lib.rs").exists(), "--dry-run wrote a file");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigra_path_takes_the_checkout_root_or_its_sigra_core() {
    let dir =
        std::env::temp_dir().join(format!("cargo-sigra-cli-sigra-path-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"paths\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    let plan = |path: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-sigra"))
            .current_dir(&dir)
            .args(["sigra", "install", "Accounts", "User", "users", "--dry-run"])
            .args(["--sigra-path", path])
            .output()
            .unwrap();
        assert!(out.status.success(), "{path}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let want = format!("  sigra-core  {{ path = \"{root}/crates/sigra-core\" }}\n");
    assert!(plan(root).contains(&want), "{}", plan(root));
    assert!(plan(&format!("{root}/crates/sigra-core")).contains(&want));
    std::fs::remove_dir_all(&dir).unwrap();
}
