//! `cargo sigra install <Context> <Schema> <table>`: render the units' templates into the app.
//!
//! The install is computed as a [`plan`](plan::plan) first (nothing written), printed, then
//! applied: files written, dependencies added to `Cargo.toml`, `.sigra/manifest.toml` updated
//! last. A second run finds every file identical and changes nothing; a file the user changed
//! is skipped unless `--force`; the app's own `src/main.rs`/`src/lib.rs` are never overwritten
//! (the untouched `cargo new` hello world is replaced) and the wiring to add by hand is
//! printed instead.
//!
//! Units, variables and conventions for template authors: `templates/README.md`.

mod cargo_toml;
mod manifest;
mod names;
mod plan;
mod report;
mod rustfmt;
mod templates;
mod toolchain;
mod units;
mod vars;
mod vocabulary;

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

pub(crate) use vars::Database;

/// The options of `cargo sigra install`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) context: String,
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) database: Database,
    pub(crate) binary_id: bool,
    pub(crate) html: bool,
    pub(crate) passkeys: bool,
    pub(crate) dry_run: bool,
    pub(crate) force: bool,
    /// A local Sigra checkout (its root or its `crates/sigra-core`), relative to the app (or
    /// absolute).
    pub(crate) sigra_path: Option<String>,
}

/// Why an install stopped (before writing anything, except for [`InstallError::Io`] while
/// applying).
#[derive(Debug, thiserror::Error)]
pub(crate) enum InstallError {
    /// One message per bad name.
    #[error("invalid names, nothing was written:\n  - {}", .0.join("\n  - "))]
    InvalidNames(Vec<String>),
    /// The directory is not an app.
    #[error(
        "no Cargo.toml in {dir}: run `cargo sigra install` in your app's directory (make one with `cargo new my-app`)"
    )]
    NoCargoToml { dir: String },
    /// The app's Cargo.toml cannot be used.
    #[error("Cargo.toml: {message}")]
    BadCargoToml { message: String },
    /// The app's edition or rust-version is too old for the generated code.
    #[error(
        "the generated code needs Rust edition 2024 and Rust 1.95, and Cargo.toml has {found}. Set `edition = \"2024\"` and `rust-version = \"1.95\"` (or later) under [package] (`cargo fix --edition` migrates your own code), then run cargo sigra install again; nothing was written"
    )]
    OldToolchain { found: String },
    /// `--sigra-path` does not point at sigra-core.
    #[error("--sigra-path {path}: {message}")]
    SigraPath { path: String, message: String },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A template failed to parse or render (a bug in the templates).
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    /// A unit is inconsistent (a bug in the templates).
    #[error("unit {unit}: {message}")]
    Unit { unit: String, message: String },
    /// `.sigra/manifest.toml` cannot be read.
    #[error(".sigra/manifest.toml: {message}")]
    Manifest { message: String },
    /// The app was installed with other names; a second context would rewrite shared files.
    #[error(
        "this app was installed as `{previous}` (see .sigra/manifest.toml); installing `{now}` would rewrite the shared files (src/lib.rs, src/web/mod.rs, ...). Re-run with the same names, or pass --force if you really mean it"
    )]
    NamesChanged { previous: String, now: String },
    /// The user answered no.
    #[error("cancelled: nothing was written")]
    Cancelled,
}

/// Runs an install in `app_dir`, printing to `out`. `confirm` is asked before writing (it
/// returns true when the user agrees or is not asked).
pub(crate) fn run(
    app_dir: &Path,
    options: &Options,
    out: &mut dyn Write,
    confirm: &mut dyn FnMut(&mut dyn Write) -> bool,
) -> Result<(), InstallError> {
    let names = names::Names::parse(&options.context, &options.schema, &options.table)
        .map_err(InstallError::InvalidNames)?;

    let cargo_toml_path = app_dir.join("Cargo.toml");
    let cargo_toml_text = match std::fs::read_to_string(&cargo_toml_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InstallError::NoCargoToml {
                dir: app_dir.display().to_string(),
            });
        }
        Err(source) => {
            return Err(InstallError::Io {
                path: "Cargo.toml".to_owned(),
                source,
            });
        }
    };
    let app = package_name(&cargo_toml_text)?;
    let toolchain = toolchain::Toolchain::read(app_dir, &cargo_toml_text)?;
    toolchain.check()?;
    let app_crate = lib_name(&cargo_toml_text).unwrap_or_else(|| app.replace('-', "_"));
    let sigra_core_dep = sigra_core_dep(app_dir, options.sigra_path.as_deref())?;

    let vars = vars::Variables {
        names,
        app,
        app_crate,
        database: options.database,
        binary_id: options.binary_id,
        html: options.html,
        passkeys: options.passkeys,
        sigra_core_dep,
    };
    let plan = plan::plan(
        vars,
        &plan::PlanInput {
            templates: templates::TEMPLATES,
            app_dir,
            cargo_toml_text: &cargo_toml_text,
            edition: &toolchain.edition,
            force: options.force,
        },
    )?;

    let io = |source| InstallError::Io {
        path: "(standard output)".to_owned(),
        source,
    };
    out.write_all(report::plan(&plan).as_bytes()).map_err(io)?;
    if !options.dry_run && plan.changes_anything() && !confirm(out) {
        return Err(InstallError::Cancelled);
    }
    if !options.dry_run {
        apply(app_dir, &plan)?;
    }
    out.write_all(report::summary(&plan, options.dry_run).as_bytes())
        .map_err(io)?;
    out.write_all(report::next_steps(&plan).as_bytes())
        .map_err(io)?;
    Ok(())
}

/// Writes the plan: files first, then Cargo.toml, then the manifest (so an interrupted run
/// leaves the old manifest, and the next run sees the written files as identical).
fn apply(app_dir: &Path, plan: &plan::Plan) -> Result<(), InstallError> {
    let write = |relative: &str, content: &str| -> Result<(), InstallError> {
        let path = app_dir.join(relative);
        let io = |source| InstallError::Io {
            path: relative.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, content).map_err(io)
    };
    let (manifest_files, files): (Vec<_>, Vec<_>) = plan
        .files
        .iter()
        .filter(|f| f.action.writes())
        .partition(|f| f.path == manifest::PATH);
    for file in files {
        write(&file.path, &file.content)?;
    }
    if let Some(text) = &plan.cargo_toml {
        write("Cargo.toml", text)?;
    }
    for file in manifest_files {
        write(&file.path, &file.content)?;
    }
    Ok(())
}

/// The package name from the app's Cargo.toml.
fn package_name(cargo_toml: &str) -> Result<String, InstallError> {
    let doc: DocumentMut = cargo_toml.parse().map_err(|e| InstallError::BadCargoToml {
        message: format!("not valid TOML: {e}"),
    })?;
    doc.get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .ok_or_else(|| InstallError::BadCargoToml {
            message: "no `[package]` with a `name`: cargo sigra installs into an app's package, not a virtual workspace".to_owned(),
        })
}

/// The library's name when `[lib] name` sets one (tests and `main.rs` use it in paths).
fn lib_name(cargo_toml: &str) -> Option<String> {
    let doc: DocumentMut = cargo_toml.parse().ok()?;
    doc.get("lib")?.get("name")?.as_str().map(str::to_owned)
}

/// The sigra-core dependency spec: a path to a local checkout, or this version from crates.io.
///
/// The path is relative to the app (or absolute) and names either sigra-core itself
/// (`<checkout>/crates/sigra-core`) or the root of a Sigra checkout, the workspace holding
/// `crates/sigra-core`; the spec then points at `<path>/crates/sigra-core`.
fn sigra_core_dep(app_dir: &Path, sigra_path: Option<&str>) -> Result<String, InstallError> {
    let Some(path) = sigra_path else {
        let version = env!("CARGO_PKG_VERSION");
        let major_minor: Vec<&str> = version.split('.').take(2).collect();
        return Ok(toml_edit::Value::from(major_minor.join(".")).to_string());
    };
    let bad = |message: String| InstallError::SigraPath {
        path: path.to_owned(),
        message,
    };
    let resolved: PathBuf = app_dir.join(path);
    let manifest = resolved.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        bad(format!(
            "cannot read {} ({e}); give the path of a Sigra checkout or of its crates/sigra-core (the directory with sigra-core's Cargo.toml), relative to the app",
            manifest.display()
        ))
    })?;
    let name = package_name(&text).ok();
    let dep_path = if name.as_deref() == Some("sigra-core") {
        path.to_owned()
    } else if is_sigra_core(&resolved.join(WORKSPACE_MEMBER)) {
        // The checkout's root: the workspace holding crates/sigra-core.
        format!("{}/{WORKSPACE_MEMBER}", path.trim_end_matches(['/', '\\']))
    } else {
        return Err(bad(format!(
            "{} is not sigra-core's Cargo.toml (its package is {}), and {} has no {WORKSPACE_MEMBER}; give the path of a Sigra checkout or of its {WORKSPACE_MEMBER}",
            manifest.display(),
            name.map_or("missing".to_owned(), |n| format!("`{n}`")),
            resolved.display(),
        )));
    };
    let mut spec = toml_edit::InlineTable::new();
    spec.insert("path", toml_edit::Value::from(dep_path.replace('\\', "/")));
    spec.fmt();
    Ok(spec.to_string().trim().to_owned())
}

/// Where sigra-core sits in a Sigra checkout.
const WORKSPACE_MEMBER: &str = "crates/sigra-core";

/// Whether `dir` holds sigra-core's Cargo.toml.
fn is_sigra_core(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| package_name(&text).ok())
        .is_some_and(|name| name == "sigra-core")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch app: `Cargo.toml` and the `cargo new` hello world; removed on drop.
    struct App(PathBuf);

    impl App {
        fn new(label: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let dir = std::env::temp_dir().join(format!(
                "cargo-sigra-unit-{label}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(dir.join("src")).unwrap();
            std::fs::write(
                dir.join("Cargo.toml"),
                "[package]\nname = \"my-app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n",
            )
            .unwrap();
            std::fs::write(
                dir.join("src/main.rs"),
                "fn main() {\n    println!(\"Hello, world!\");\n}\n",
            )
            .unwrap();
            Self(dir)
        }
    }

    impl Drop for App {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn options(database: Database, binary_id: bool, html: bool) -> Options {
        Options {
            context: "Accounts".into(),
            schema: "User".into(),
            table: "users".into(),
            database,
            binary_id,
            html,
            passkeys: true,
            dry_run: false,
            force: false,
            sigra_path: None,
        }
    }

    fn install(app: &App, options: &Options) -> String {
        let mut out = Vec::new();
        run(&app.0, options, &mut out, &mut |_| true).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_flag_combination_installs_and_is_idempotent() {
        for database in [Database::Sqlite, Database::Postgres] {
            for binary_id in [true, false] {
                for html in [true, false] {
                    let app = App::new("combo");
                    let opts = options(database, binary_id, html);
                    let first = install(&app, &opts);
                    assert!(first.contains("\nDone: "), "{first}");
                    let manifest = std::fs::read_to_string(app.0.join(manifest::PATH)).unwrap();
                    assert!(manifest.contains(&format!("database = \"{}\"", database.tag())));
                    let second = install(&app, &opts);
                    assert!(
                        second.contains("Nothing to change"),
                        "{database:?} {binary_id} {html}: {second}"
                    );
                    let main = std::fs::read_to_string(app.0.join("src/main.rs")).unwrap();
                    assert!(main.contains("use my_app::{app, db, web};"), "{main}");
                }
            }
        }
    }

    #[test]
    fn dry_run_writes_nothing() {
        let app = App::new("dry");
        let mut opts = options(Database::Sqlite, true, true);
        opts.dry_run = true;
        let out = install(&app, &opts);
        assert!(out.contains("Dry run, nothing was written."), "{out}");
        assert!(!app.0.join(manifest::PATH).exists());
        assert!(!app.0.join("src/lib.rs").exists());
    }

    #[test]
    fn a_declined_confirmation_writes_nothing() {
        let app = App::new("declined");
        let mut out = Vec::new();
        let err = run(
            &app.0,
            &options(Database::Sqlite, true, true),
            &mut out,
            &mut |_| false,
        )
        .unwrap_err();
        assert!(matches!(err, InstallError::Cancelled));
        assert!(!app.0.join("src/lib.rs").exists());
    }

    #[test]
    fn the_sigra_core_dependency_comes_from_crates_io_or_a_checked_path() {
        let app = App::new("sigra-path");
        let version = sigra_core_dep(&app.0, None).unwrap();
        assert!(
            version.starts_with('"') && version.matches('.').count() == 1,
            "{version}"
        );

        let checkout = concat!(env!("CARGO_MANIFEST_DIR"), "/../sigra-core");
        assert_eq!(
            sigra_core_dep(&app.0, Some(checkout)).unwrap(),
            format!("{{ path = \"{checkout}\" }}")
        );
        // The checkout's root works as well: the spec names its crates/sigra-core.
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        assert_eq!(
            sigra_core_dep(&app.0, Some(root)).unwrap(),
            format!("{{ path = \"{root}/crates/sigra-core\" }}")
        );
        assert_eq!(
            sigra_core_dep(&app.0, Some(&format!("{root}/"))).unwrap(),
            format!("{{ path = \"{root}/crates/sigra-core\" }}")
        );
        let err = sigra_core_dep(&app.0, Some(env!("CARGO_MANIFEST_DIR"))).unwrap_err();
        assert!(
            err.to_string()
                .contains("is not sigra-core's Cargo.toml (its package is `cargo-sigra`), and"),
            "{err}"
        );
        assert!(
            err.to_string().contains("has no crates/sigra-core"),
            "{err}"
        );
        let err = sigra_core_dep(&app.0, Some("no/such/dir")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--sigra-path no/such/dir: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn a_workspace_manifest_is_not_an_app() {
        let err = package_name("[workspace]\nmembers = []\n").unwrap_err();
        assert!(err.to_string().contains("not a virtual workspace"), "{err}");
        assert!(package_name("[package\n").is_err());
        assert_eq!(lib_name("[package]\nname = \"a-b\"\n"), None);
        assert_eq!(
            lib_name("[lib]\nname = \"core_lib\"\n").as_deref(),
            Some("core_lib")
        );
    }
}
