//! `.sigra/manifest.toml`: what the installer generated, so a later run can tell a file left
//! as generated (safe to update) from one the user edited (left alone without `--force`).
//!
//! ```toml
//! [install]
//! generator = "cargo-sigra 0.1.0"
//! context = "Accounts"
//! schema = "User"
//! table = "users"
//! database = "sqlite"
//! binary_id = true
//! html = true
//! passkeys = true
//! sigra_core = '{ path = "../../crates/sigra-core" }'
//! units = ["core", "html"]
//!
//! [files]
//! "src/main.rs" = { unit = "core", sha256 = "…" }
//! ```
//!
//! The text is deterministic (sorted paths, no dates, no absolute paths), so it can be
//! committed and compared byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Value};

use super::InstallError;

/// Where the manifest lives, relative to the app.
pub(crate) const PATH: &str = ".sigra/manifest.toml";

/// One generated file as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) unit: String,
    pub(crate) sha256: String,
}

/// The install options recorded in `[install]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstallRecord {
    pub(crate) context: String,
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) database: String,
    pub(crate) binary_id: bool,
    pub(crate) html: bool,
    pub(crate) passkeys: bool,
    pub(crate) sigra_core: String,
    pub(crate) units: Vec<String>,
}

/// The recorded files, by path relative to the app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// `[context, schema, table]` of the recorded install, if any.
    pub(crate) install: Option<[String; 3]>,
    pub(crate) files: BTreeMap<String, Entry>,
}

/// The lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

impl Manifest {
    /// Parses a manifest's text; only `[files]` matters for the decisions.
    pub(crate) fn parse(text: &str) -> Result<Self, InstallError> {
        let bad = |message: String| InstallError::Manifest {
            message: format!(
                "{message}; fix it, or delete it to treat every existing file as not written by cargo sigra"
            ),
        };
        let doc: DocumentMut = text
            .parse()
            .map_err(|e| bad(format!("not valid TOML ({e})")))?;
        let mut files = BTreeMap::new();
        if let Some(item) = doc.get("files") {
            let table = item
                .as_table_like()
                .ok_or_else(|| bad("`files` is not a table".to_owned()))?;
            for (path, entry) in table.iter() {
                let entry = entry
                    .as_table_like()
                    .ok_or_else(|| bad(format!("the entry for `{path}` is not a table")))?;
                let field = |key: &str| entry.get(key).and_then(Item::as_str).map(str::to_owned);
                let sha256 = field("sha256")
                    .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(|| bad(format!("the entry for `{path}` has no valid sha256")))?;
                let unit = field("unit").unwrap_or_default();
                files.insert(path.to_owned(), Entry { unit, sha256 });
            }
        }
        let install = doc.get("install").and_then(|i| {
            let field = |key: &str| i.get(key).and_then(Item::as_str).map(str::to_owned);
            Some([field("context")?, field("schema")?, field("table")?])
        });
        Ok(Self { install, files })
    }

    /// The manifest's text for `install` and the recorded files.
    pub(crate) fn render(&self, install: &InstallRecord) -> String {
        let s = |v: &str| Value::from(v).to_string();
        let mut out = String::from(
            "# Written by `cargo sigra install`: the SHA-256 of every file as it was generated, so a\n\
             # later run can tell a file you changed (left alone unless --force) from one it may\n\
             # update. Commit it with the generated files.\n\n[install]\n",
        );
        let _ = writeln!(
            out,
            "generator = {}",
            s(concat!("cargo-sigra ", env!("CARGO_PKG_VERSION")))
        );
        let _ = writeln!(out, "context = {}", s(&install.context));
        let _ = writeln!(out, "schema = {}", s(&install.schema));
        let _ = writeln!(out, "table = {}", s(&install.table));
        let _ = writeln!(out, "database = {}", s(&install.database));
        let _ = writeln!(out, "binary_id = {}", install.binary_id);
        let _ = writeln!(out, "html = {}", install.html);
        let _ = writeln!(out, "passkeys = {}", install.passkeys);
        let _ = writeln!(out, "sigra_core = {}", s(&install.sigra_core));
        let units: Vec<String> = install.units.iter().map(|u| s(u)).collect();
        let _ = writeln!(out, "units = [{}]", units.join(", "));
        out.push_str("\n[files]\n");
        for (path, entry) in &self.files {
            let _ = writeln!(
                out,
                "{} = {{ unit = {}, sha256 = {} }}",
                s(path),
                s(&entry.unit),
                s(&entry.sha256)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> InstallRecord {
        InstallRecord {
            context: "Accounts".into(),
            schema: "User".into(),
            table: "users".into(),
            database: "sqlite".into(),
            binary_id: true,
            html: true,
            passkeys: true,
            sigra_core: "{ path = \"../sigra\" }".into(),
            units: vec!["core".into(), "html".into()],
        }
    }

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn render_then_parse_round_trips() {
        let mut manifest = Manifest::default();
        manifest.files.insert(
            "src/main.rs".into(),
            Entry {
                unit: "core".into(),
                sha256: sha256_hex(b"x"),
            },
        );
        manifest.files.insert(
            "a \"quoted\" path.rs".into(),
            Entry {
                unit: "html".into(),
                sha256: sha256_hex(b"y"),
            },
        );
        let text = manifest.render(&record());
        assert!(
            text.contains("sigra_core = '{ path = \"../sigra\" }'"),
            "{text}"
        );
        let parsed = Manifest::parse(&text).unwrap();
        assert_eq!(parsed.files, manifest.files);
        assert_eq!(
            parsed.install,
            Some(["Accounts".to_owned(), "User".to_owned(), "users".to_owned()])
        );
    }

    #[test]
    fn a_broken_manifest_is_a_clear_error() {
        for text in [
            "[files",
            "files = 3",
            "[files]\n\"a\" = 1",
            "[files]\n\"a\" = { sha256 = \"zz\" }",
        ] {
            let err = Manifest::parse(text).unwrap_err().to_string();
            assert!(err.contains(".sigra/manifest.toml"), "{err}");
            assert!(err.contains("delete it"), "{err}");
        }
        assert_eq!(Manifest::parse("").unwrap(), Manifest::default());
    }
}
