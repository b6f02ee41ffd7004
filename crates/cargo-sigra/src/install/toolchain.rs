//! The Rust the generated code needs: edition 2024 (let chains, `unsafe extern`, the 2024
//! prelude) and Rust 1.95. An app on an older edition is refused before anything is planned
//! or written, with the two lines to change in its `Cargo.toml`: code that fails to compile
//! after an install helps nobody.
//!
//! `edition.workspace = true` and `rust-version.workspace = true` are followed to the
//! workspace's `[workspace.package]`, the way Cargo does.

use std::path::Path;

use toml_edit::{DocumentMut, Item};

use super::InstallError;

/// The oldest Rust that builds the generated code, as `(major, minor)`.
pub(crate) const RUST_VERSION: (u64, u64) = (1, 95);

/// The app's `edition` and `rust-version` as Cargo sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Toolchain {
    /// `2015` when the package names none (Cargo's default).
    pub(crate) edition: String,
    /// Whether the package names an edition.
    pub(crate) edition_given: bool,
    /// `None` when the package names none.
    pub(crate) rust_version: Option<String>,
}

impl Toolchain {
    /// Reads them from the app's `Cargo.toml` (its text is `cargo_toml`), following
    /// `workspace = true` to the enclosing workspace's `Cargo.toml`.
    pub(crate) fn read(app_dir: &Path, cargo_toml: &str) -> Result<Self, InstallError> {
        let doc: DocumentMut = cargo_toml.parse().map_err(|e| InstallError::BadCargoToml {
            message: format!("not valid TOML: {e}"),
        })?;
        let package = doc.get("package");
        let edition = field(app_dir, package, "edition")?;
        let rust_version = field(app_dir, package, "rust-version")?;
        Ok(Self {
            edition_given: edition.is_some(),
            edition: edition.unwrap_or_else(|| "2015".to_owned()),
            rust_version,
        })
    }

    /// `Err` with what to change when the generated code would not build on this app.
    pub(crate) fn check(&self) -> Result<(), InstallError> {
        let edition_ok = self.edition.parse::<u32>().is_ok_and(|e| e >= 2024);
        let rust_version_ok = match &self.rust_version {
            None => true,
            Some(v) => parse_version(v).is_some_and(|mm| mm >= RUST_VERSION),
        };
        if edition_ok && rust_version_ok {
            return Ok(());
        }
        let mut found = Vec::new();
        if !edition_ok && self.edition_given {
            found.push(format!("edition = \"{}\"", self.edition));
        } else if !edition_ok {
            found.push("no `edition` (so Cargo uses 2015)".to_owned());
        }
        if let Some(v) = self.rust_version.as_ref().filter(|_| !rust_version_ok) {
            found.push(format!("rust-version = \"{v}\""));
        }
        Err(InstallError::OldToolchain {
            found: found.join(" and "),
        })
    }
}

/// A `[package]` field that is a string, or `{ workspace = true }` resolved through the
/// workspace root.
fn field(
    app_dir: &Path,
    package: Option<&Item>,
    key: &str,
) -> Result<Option<String>, InstallError> {
    let Some(value) = package.and_then(|p| p.get(key)) else {
        return Ok(None);
    };
    if let Some(text) = value.as_str() {
        return Ok(Some(text.to_owned()));
    }
    let inherited = value
        .get("workspace")
        .and_then(Item::as_bool)
        .unwrap_or(false);
    if !inherited {
        return Err(InstallError::BadCargoToml {
            message: format!("`package.{key}` must be a string or `{{ workspace = true }}`"),
        });
    }
    let Some(root) = workspace_root(app_dir)? else {
        return Err(InstallError::BadCargoToml {
            message: format!(
                "`package.{key}.workspace = true`, but no enclosing workspace Cargo.toml was found"
            ),
        });
    };
    Ok(root
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get(key))
        .and_then(Item::as_str)
        .map(str::to_owned))
}

/// The first `Cargo.toml` with a `[workspace]` above `app_dir`, parsed.
fn workspace_root(app_dir: &Path) -> Result<Option<DocumentMut>, InstallError> {
    for dir in app_dir.ancestors().skip(1) {
        let path = dir.join("Cargo.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(InstallError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let doc: DocumentMut = text.parse().map_err(|e| InstallError::BadCargoToml {
            message: format!("the workspace's {}: not valid TOML: {e}", path.display()),
        })?;
        if doc.get("workspace").is_some() {
            return Ok(Some(doc));
        }
    }
    Ok(None)
}

/// `1.95`, `1.95.0` → `(1, 95)`; anything else `None`.
fn parse_version(text: &str) -> Option<(u64, u64)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain(cargo_toml: &str) -> Toolchain {
        Toolchain::read(Path::new("/nonexistent/app"), cargo_toml).unwrap()
    }

    #[test]
    fn the_edition_defaults_to_2015_like_cargo() {
        let t = toolchain("[package]\nname = \"a\"\n");
        assert_eq!(t.edition, "2015");
        assert_eq!(t.rust_version, None);
        let err = t.check().unwrap_err().to_string();
        assert!(
            err.contains("has no `edition` (so Cargo uses 2015)"),
            "{err}"
        );
        assert!(err.contains("edition = \"2024\""), "{err}");
        assert!(err.contains("rust-version = \"1.95\""), "{err}");
    }

    #[test]
    fn edition_2024_passes_and_an_old_rust_version_does_not() {
        assert!(toolchain("[package]\nedition = \"2024\"\n").check().is_ok());
        assert!(
            toolchain("[package]\nedition = \"2024\"\nrust-version = \"1.95.0\"\n")
                .check()
                .is_ok()
        );
        let err = toolchain("[package]\nedition = \"2024\"\nrust-version = \"1.85\"\n")
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains("rust-version = \"1.85\""), "{err}");
        assert!(!err.contains("edition = \"2024\" and"), "{err}");
        let err = toolchain("[package]\nedition = \"2021\"\nrust-version = \"1.80\"\n")
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("edition = \"2021\" and rust-version = \"1.80\""),
            "{err}"
        );
    }

    #[test]
    fn workspace_inheritance_is_followed() {
        let dir = std::env::temp_dir().join(format!(
            "cargo-sigra-toolchain-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let app = dir.join("apps/web");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[workspace]\nmembers = [\"apps/*\"]\n[workspace.package]\nedition = \"2021\"\nrust-version = \"1.95\"\n",
        )
        .unwrap();
        let t = Toolchain::read(
            &app,
            "[package]\nname = \"web\"\nedition.workspace = true\nrust-version = { workspace = true }\n",
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(t.edition, "2021");
        assert_eq!(t.rust_version.as_deref(), Some("1.95"));
        assert!(t.check().is_err());
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("1.95"), Some((1, 95)));
        assert_eq!(parse_version("1.95.1"), Some((1, 95)));
        assert_eq!(parse_version("2"), Some((2, 0)));
        assert_eq!(parse_version("x"), None);
    }
}
