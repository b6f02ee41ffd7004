//! The plan: what an install would do to each file, computed without writing anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use toml_edit::DocumentMut;

use super::cargo_toml::{self, DepChange, DepOutcome};
use super::manifest::{self, Entry, InstallRecord, Manifest};
use super::units::{self, Unit};
use super::vars::Variables;
use super::{InstallError, rustfmt, templates};

/// What `cargo new` puts in `src/main.rs`.
const HELLO_WORLD: &str = "fn main() {\n    println!(\"Hello, world!\");\n}\n";

/// Why a file is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipReason {
    /// The app's own entry point (`src/main.rs`, `src/lib.rs`): never overwritten.
    UserFile,
    /// Written by cargo sigra, then changed.
    Edited,
    /// There before cargo sigra, and different.
    Foreign,
    /// A migration cargo sigra wrote before: never rewritten, even with `--force` (a database
    /// that applied it would refuse the changed file by its checksum).
    WrittenMigration,
}

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Missing: written.
    Create,
    /// The untouched `cargo new` hello world: replaced.
    Replace,
    /// Unchanged since cargo sigra wrote it, and the templates now say something else: updated.
    Update,
    /// Changed by the user, and `--force` was given: overwritten.
    Overwrite,
    /// Already exactly what would be written.
    Identical,
    /// Left alone.
    Skip(SkipReason),
}

impl Action {
    /// Whether the file is written.
    pub(crate) fn writes(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Replace | Self::Update | Self::Overwrite
        )
    }
}

/// Decides what to do with a file, given what is on disk, what would be written, the SHA-256
/// recorded when cargo sigra last wrote it, whether it is a user file, and `--force`.
pub(crate) fn decide(
    existing: Option<&[u8]>,
    rendered: &str,
    recorded_sha256: Option<&str>,
    user_file: bool,
    force: bool,
) -> Action {
    let Some(existing) = existing else {
        return Action::Create;
    };
    // A checkout with CRLF line endings (git's autocrlf on Windows) is the same file.
    let existing = lf_line_endings(existing);
    let existing = existing.as_slice();
    if existing == rendered.as_bytes() {
        return Action::Identical;
    }
    let ours_untouched = recorded_sha256 == Some(manifest::sha256_hex(existing).as_str());
    if ours_untouched {
        return Action::Update;
    }
    if user_file {
        let hello_world =
            std::str::from_utf8(existing).is_ok_and(|text| text.trim() == HELLO_WORLD.trim());
        if hello_world {
            return Action::Replace;
        }
        // The app's own entry point, never written by cargo sigra: not even --force touches it.
        if recorded_sha256.is_none() {
            return Action::Skip(SkipReason::UserFile);
        }
    }
    if force {
        return Action::Overwrite;
    }
    if recorded_sha256.is_some() {
        Action::Skip(SkipReason::Edited)
    } else {
        Action::Skip(SkipReason::Foreign)
    }
}

/// Migrations are written once: sqlx records each applied migration's checksum and refuses to
/// run against a file that changed since, so a migration cargo sigra wrote before (recorded in
/// the manifest) is never rewritten, whether the templates moved on, the user edited it, or
/// `--force` was given. Schema changes come as new migrations.
pub(crate) fn keep_written_migration(path: &str, recorded: Option<&str>, action: Action) -> Action {
    let rewrites = matches!(
        action,
        Action::Update | Action::Overwrite | Action::Skip(SkipReason::Edited)
    );
    if rewrites && recorded.is_some() && migration_version(path).is_some() {
        Action::Skip(SkipReason::WrittenMigration)
    } else {
        action
    }
}

/// `bytes` with every CRLF turned into LF.
fn lf_line_endings(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter().peekable();
    while let Some(&b) = iter.next() {
        if b == b'\r' && iter.peek() == Some(&&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

/// One file of the plan.
#[derive(Debug, Clone)]
pub(crate) struct FilePlan {
    /// Relative to the app, with `/`.
    pub(crate) path: String,
    pub(crate) unit: String,
    pub(crate) action: Action,
    pub(crate) content: String,
}

/// Everything an install would do.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) vars: Variables,
    pub(crate) units: Vec<Unit>,
    /// Every file, the manifest included, sorted by path.
    pub(crate) files: Vec<FilePlan>,
    pub(crate) dependencies: Vec<DepChange>,
    /// The new `Cargo.toml`, when it changes.
    pub(crate) cargo_toml: Option<String>,
    /// `(path, text)` for each user file left alone.
    pub(crate) wiring: Vec<(String, String)>,
    /// Post-install notes, by unit, in unit order.
    pub(crate) notes: Vec<String>,
}

impl Plan {
    /// Whether applying the plan changes anything on disk.
    pub(crate) fn changes_anything(&self) -> bool {
        self.cargo_toml.is_some() || self.files.iter().any(|f| f.action.writes())
    }
}

/// The inputs the plan needs besides the variables.
pub(crate) struct PlanInput<'a> {
    /// The templates to install from ([`templates::TEMPLATES`] outside tests).
    pub(crate) templates: templates::Files,
    pub(crate) app_dir: &'a Path,
    pub(crate) cargo_toml_text: &'a str,
    /// The app's edition, for rustfmt.
    pub(crate) edition: &'a str,
    pub(crate) force: bool,
}

/// Computes the plan: renders every selected unit, compares with the disk, merges
/// dependencies into a copy of `Cargo.toml`. Writes nothing.
pub(crate) fn plan(vars: Variables, input: &PlanInput<'_>) -> Result<Plan, InstallError> {
    let env = templates::environment(input.templates)?;
    let units = units::select(&env, input.templates, &vars.to_value(None), vars.database)?;
    let slots = fill_slots(&units)?;
    let file_vars = vars.to_value(Some(&slots));
    let path_vars = vars.strings();

    let manifest_path = input.app_dir.join(manifest::PATH);
    let old_manifest_text = read_optional(&manifest_path)?;
    let old_manifest = match &old_manifest_text {
        Some(bytes) => Manifest::parse(&String::from_utf8_lossy(bytes))?,
        None => Manifest::default(),
    };

    if let Some(previous) = &old_manifest.install {
        let now = [&vars.names.context, &vars.names.schema, &vars.names.table];
        if previous.iter().zip(now).any(|(a, b)| a != b) && !input.force {
            return Err(InstallError::NamesChanged {
                previous: previous.join(" "),
                now: now.map(String::as_str).join(" "),
            });
        }
    }

    let mut files: Vec<FilePlan> = Vec::new();
    let mut wiring = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut migration_versions: BTreeMap<String, String> = BTreeMap::new();
    for unit in &units {
        for file in &unit.files {
            let path =
                templates::render_path(&file.path_pattern, &path_vars).map_err(|message| {
                    InstallError::Unit {
                        unit: unit.name.clone(),
                        message,
                    }
                })?;
            check_output_path(&unit.name, &path)?;
            if let Some(other) = seen.insert(path.clone(), unit.name.clone()) {
                return Err(InstallError::Unit {
                    unit: unit.name.clone(),
                    message: format!("writes `{path}`, which unit `{other}` writes too"),
                });
            }
            if let Some(version) = migration_version(&path)
                && let Some(other) = migration_versions.insert(version.to_owned(), path.clone())
            {
                return Err(InstallError::Unit {
                    unit: unit.name.clone(),
                    message: format!(
                        "the migrations `{other}` and `{path}` share the version {version}; sqlx needs each version once"
                    ),
                });
            }
            let mut content = templates::render(&env, &file.template, &file_vars)?;
            if path.ends_with(".rs") {
                let formatted =
                    rustfmt::format(&content, input.edition, input.app_dir).map_err(|message| {
                        InstallError::Template {
                            name: file.template.clone(),
                            message,
                        }
                    })?;
                if let Some(formatted) = formatted {
                    content = formatted;
                }
            }
            let existing = read_optional(&input.app_dir.join(&path))?;
            let recorded = old_manifest.files.get(&path).map(|e| e.sha256.as_str());
            let action = keep_written_migration(
                &path,
                recorded,
                decide(
                    existing.as_deref(),
                    &content,
                    recorded,
                    file.user_file,
                    input.force,
                ),
            );
            if action == Action::Skip(SkipReason::UserFile)
                && let Some(template) = &file.wiring
            {
                wiring.push((path.clone(), templates::render(&env, template, &file_vars)?));
            }
            files.push(FilePlan {
                path,
                unit: unit.name.clone(),
                action,
                content,
            });
        }
    }

    // Cargo.toml: every unit's dependencies, in unit order.
    let mut doc: DocumentMut =
        input
            .cargo_toml_text
            .parse()
            .map_err(|e| InstallError::BadCargoToml {
                message: format!("not valid TOML: {e}"),
            })?;
    let mut dependencies = Vec::new();
    let mut reported = BTreeSet::new();
    for unit in &units {
        for (table, name, spec) in &unit.dependencies {
            let change = cargo_toml::merge_dependency(&mut doc, table, name, spec);
            let first = reported.insert((*table, name.clone()));
            if first || change.outcome != DepOutcome::Present {
                dependencies.push(change);
            }
        }
    }
    dependencies.sort_by(|a, b| (a.table, &a.name).cmp(&(b.table, &b.name)));
    let new_cargo_toml = doc.to_string();
    let cargo_toml = (new_cargo_toml != input.cargo_toml_text).then_some(new_cargo_toml);

    // The manifest: previous entries, updated for every file now as generated.
    let mut new_manifest = old_manifest.clone();
    for file in &files {
        if !matches!(file.action, Action::Skip(_)) {
            new_manifest.files.insert(
                file.path.clone(),
                Entry {
                    unit: file.unit.clone(),
                    sha256: manifest::sha256_hex(file.content.as_bytes()),
                },
            );
        }
    }
    let record = InstallRecord {
        context: vars.names.context.clone(),
        schema: vars.names.schema.clone(),
        table: vars.names.table.clone(),
        database: vars.database.tag().to_owned(),
        binary_id: vars.binary_id,
        html: vars.html,
        passkeys: vars.passkeys,
        sigra_core: vars.sigra_core_dep.clone(),
        units: units.iter().map(|u| u.name.clone()).collect(),
    };
    let manifest_text = new_manifest.render(&record);
    let manifest_action = match &old_manifest_text {
        None => Action::Create,
        Some(old) if old == manifest_text.as_bytes() => Action::Identical,
        Some(_) => Action::Update,
    };
    files.push(FilePlan {
        path: manifest::PATH.to_owned(),
        unit: String::new(),
        action: manifest_action,
        content: manifest_text,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let notes = units.iter().filter_map(|u| u.notes.clone()).collect();
    Ok(Plan {
        vars,
        units,
        files,
        dependencies,
        cargo_toml,
        wiring,
        notes,
    })
}

/// Every declared slot with the lines injected into it, in unit order.
fn fill_slots(units: &[Unit]) -> Result<BTreeMap<String, Vec<String>>, InstallError> {
    let mut slots: BTreeMap<String, Vec<String>> = units
        .iter()
        .flat_map(|u| u.slots.iter().map(|s| (s.clone(), Vec::new())))
        .collect();
    for unit in units {
        for (slot, lines) in &unit.inject {
            let Some(target) = slots.get_mut(slot) else {
                let declared: Vec<&str> = slots.keys().map(String::as_str).collect();
                return Err(InstallError::Unit {
                    unit: unit.name.clone(),
                    message: format!(
                        "injects into the slot `{slot}`, which no selected unit declares (declared: {})",
                        declared.join(", ")
                    ),
                });
            };
            target.extend(lines.iter().cloned());
        }
    }
    Ok(slots)
}

/// The numeric version of a sqlx migration (`migrations/<digits>_<name>.sql`).
fn migration_version(path: &str) -> Option<&str> {
    let file = path.strip_prefix("migrations/")?;
    let (version, _) = file.split_once('_')?;
    version
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then_some(version)
}

/// Output paths stay inside the app and never touch what the installer manages itself.
fn check_output_path(unit: &str, path: &str) -> Result<(), InstallError> {
    let bad_segment = path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.contains(['\\', ':']));
    let reserved = path == "Cargo.toml" || path == "Cargo.lock" || path.starts_with(".sigra/");
    if bad_segment || reserved || path.starts_with('/') {
        return Err(InstallError::Unit {
            unit: unit.to_owned(),
            message: format!(
                "the output path `{path}` is not allowed (it must be a plain relative path, and not Cargo.toml, Cargo.lock or .sigra/)"
            ),
        });
    }
    Ok(())
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, InstallError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InstallError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::names::Names;
    use crate::install::vars::Database;

    const NEW: &str = "new content\n";

    /// Plans an install of the synthetic template set `files` into an empty app.
    fn plan_with(files: &[(&str, &str)]) -> Result<Plan, InstallError> {
        let leaked: Vec<(&'static str, &'static str)> = files
            .iter()
            .map(|(p, c)| -> (&'static str, &'static str) {
                (String::from(*p).leak(), String::from(*c).leak())
            })
            .collect();
        let dir = std::env::temp_dir().join(format!(
            "cargo-sigra-plan-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let vars = Variables {
            names: Names::parse("Accounts", "User", "users").unwrap(),
            app: "my-app".into(),
            app_crate: "my_app".into(),
            database: Database::Sqlite,
            binary_id: true,
            html: true,
            passkeys: true,
            sigra_core_dep: "\"0.1\"".into(),
        };
        let result = plan(
            vars,
            &PlanInput {
                templates: leaked.leak(),
                app_dir: &dir,
                cargo_toml_text: "[package]\nname = \"my-app\"\n",
                edition: "2024",
                force: false,
            },
        );
        std::fs::remove_dir_all(&dir).unwrap();
        result
    }

    fn error_of(files: &[(&str, &str)]) -> String {
        plan_with(files).unwrap_err().to_string()
    }

    const CORE: (&str, &str) = (
        "install/core/unit.toml",
        "description = \"core\"\norder = 0\nslots = [\"routes\"]\n",
    );

    #[test]
    fn slots_collect_injections_in_unit_order() {
        let plan = plan_with(&[
            CORE,
            (
                "install/core/routes.txt.tmpl",
                "<% for r in slots.routes %><%= r %>\n<% endfor %>",
            ),
            (
                "install/b/unit.toml",
                "description = \"b\"\n[inject]\nroutes = [\"b1\", \"b2\"]\n",
            ),
            (
                "install/a/unit.toml",
                "description = \"a\"\norder = 50\n[inject]\nroutes = [\"a\"]\n",
            ),
            (
                "install/off/unit.toml",
                "description = \"off\"\nwhen = \"not html\"\n[inject]\nroutes = [\"off\"]\n",
            ),
        ])
        .unwrap();
        let names: Vec<&str> = plan.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["core", "a", "b"]);
        let routes = plan.files.iter().find(|f| f.path == "routes.txt").unwrap();
        assert_eq!(routes.content, "a\nb1\nb2\n");
    }

    #[test]
    fn paths_take_placeholders_and_database_suffixes() {
        let plan = plan_with(&[
            CORE,
            (
                "install/core/src/%context_snake%/%schema_snake%.rs.tmpl",
                "pub struct <%= schema %>;\n",
            ),
            (
                "install/core/migrations/1_create_%table%.sqlite.sql.tmpl",
                "-- sqlite\n",
            ),
            (
                "install/core/migrations/1_create_%table%.postgres.sql.tmpl",
                "-- postgres\n",
            ),
        ])
        .unwrap();
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".sigra/manifest.toml",
                "migrations/1_create_users.sql",
                "src/accounts/user.rs"
            ]
        );
        assert_eq!(plan.files[1].content, "-- sqlite\n");
    }

    #[test]
    fn unit_mistakes_are_clear_errors() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("install/core/unit.toml", "description = \"x\"\nslot = []\n")],
                "unknown key `slot`",
            ),
            (
                &[("install/core/unit.toml", "order = 1\n")],
                "needs `description",
            ),
            (
                &[(
                    "install/core/unit.toml",
                    "description = \"x\"\nwhen = \"htm\"\n",
                )],
                "`when = \"htm\"` cannot be evaluated",
            ),
            (
                &[("install/core/unit.toml", "description = [\n")],
                "not valid TOML",
            ),
            (
                &[
                    CORE,
                    (
                        "install/x/unit.toml",
                        "description = \"x\"\n[inject]\nroute = [\"a\"]\n",
                    ),
                ],
                "injects into the slot `route`, which no selected unit declares (declared: routes)",
            ),
            (
                &[CORE, ("install/core/notes.txt", "x")],
                "`notes.txt` does not end in `.tmpl`",
            ),
            (
                &[
                    (
                        "install/core/unit.toml",
                        "description = \"x\"\n[files.\"src/main.rs.tmpl\"]\nuser_file = true\n",
                    ),
                    ("install/core/src/main.rs.tmpl", "fn main() {}\n"),
                ],
                "the unit needs `src/main.rs.wiring.tmpl`",
            ),
            (
                &[(
                    "install/core/unit.toml",
                    "description = \"x\"\n[files.\"nope.tmpl\"]\nuser_file = true\n",
                )],
                "names a file the unit does not have",
            ),
            (
                &[
                    CORE,
                    ("install/core/a.txt.tmpl", ""),
                    ("install/other/unit.toml", "description = \"o\"\n"),
                    ("install/other/a.txt.tmpl", ""),
                ],
                "writes `a.txt`, which unit `core` writes too",
            ),
            (
                &[
                    CORE,
                    ("install/core/migrations/1_a.sql.tmpl", ""),
                    ("install/core/migrations/1_b.sql.tmpl", ""),
                ],
                "share the version 1",
            ),
            (
                &[CORE, ("install/core/%nope%.txt.tmpl", "")],
                "unknown placeholder `%nope%`",
            ),
            (
                &[CORE, ("install/core/Cargo.toml.tmpl", "")],
                "the output path `Cargo.toml` is not allowed",
            ),
            (
                &[CORE, ("install/core/x.txt.tmpl", "<%= shcema %>")],
                "template install/core/x.txt.tmpl",
            ),
            (
                &[CORE, ("install/core/x.rs.tmpl", "fn main( {")],
                "rustfmt rejects the generated code",
            ),
        ];
        for (files, expected) in cases {
            let err = error_of(files);
            if expected.contains("rustfmt") && !err.contains("rustfmt") {
                continue; // rustfmt is not installed here
            }
            assert!(err.contains(expected), "expected {expected:?} in: {err}");
        }
    }

    #[test]
    fn crlf_line_endings_do_not_make_a_file_edited() {
        let crlf = NEW.replace('\n', "\r\n");
        assert_eq!(
            decide(Some(crlf.as_bytes()), NEW, None, false, false),
            Action::Identical
        );
        let old_crlf = b"old\r\ncontent\r\n";
        let recorded = manifest::sha256_hex(b"old\ncontent\n");
        assert_eq!(
            decide(Some(old_crlf), NEW, Some(&recorded), false, false),
            Action::Update
        );
        assert_eq!(lf_line_endings(b"a\rb\r\n\r"), b"a\rb\n\r");
    }

    #[test]
    fn a_missing_file_is_created() {
        assert_eq!(decide(None, NEW, None, false, false), Action::Create);
        assert_eq!(decide(None, NEW, None, true, false), Action::Create);
    }

    #[test]
    fn an_identical_file_is_left_as_is() {
        assert_eq!(
            decide(Some(NEW.as_bytes()), NEW, None, false, false),
            Action::Identical
        );
    }

    #[test]
    fn a_file_unchanged_since_generated_is_updated() {
        let old = b"old content\n";
        let sha = manifest::sha256_hex(old);
        assert_eq!(
            decide(Some(old), NEW, Some(&sha), false, false),
            Action::Update
        );
        assert_eq!(
            decide(Some(old), NEW, Some(&sha), true, false),
            Action::Update
        );
    }

    #[test]
    fn an_edited_file_is_skipped_unless_forced() {
        let generated = manifest::sha256_hex(b"old content\n");
        let edited = b"old content, edited\n";
        assert_eq!(
            decide(Some(edited), NEW, Some(&generated), false, false),
            Action::Skip(SkipReason::Edited)
        );
        assert_eq!(
            decide(Some(edited), NEW, Some(&generated), false, true),
            Action::Overwrite
        );
        assert_eq!(
            decide(Some(edited), NEW, None, false, false),
            Action::Skip(SkipReason::Foreign)
        );
        assert_eq!(
            decide(Some(edited), NEW, None, false, true),
            Action::Overwrite
        );
    }

    #[test]
    fn a_user_file_is_replaced_only_when_it_is_the_hello_world() {
        assert_eq!(
            decide(Some(HELLO_WORLD.as_bytes()), NEW, None, true, false),
            Action::Replace
        );
        let own = b"fn main() { my_app::run() }\n";
        assert_eq!(
            decide(Some(own), NEW, None, true, false),
            Action::Skip(SkipReason::UserFile)
        );
        assert_eq!(
            decide(Some(own), NEW, None, true, true),
            Action::Skip(SkipReason::UserFile)
        );
        // One cargo sigra wrote and the user then edited is an edited file like any other.
        let generated = manifest::sha256_hex(b"generated\n");
        assert_eq!(
            decide(Some(own), NEW, Some(&generated), true, false),
            Action::Skip(SkipReason::Edited)
        );
        assert_eq!(
            decide(Some(own), NEW, Some(&generated), true, true),
            Action::Overwrite
        );
        // A hello world that is not a user file is someone's file like any other.
        assert_eq!(
            decide(Some(HELLO_WORLD.as_bytes()), NEW, None, false, false),
            Action::Skip(SkipReason::Foreign)
        );
    }

    #[test]
    fn a_written_migration_is_never_rewritten() {
        let path = "migrations/20260101000000_create_users.sql";
        let old = b"CREATE TABLE users (id INTEGER);\n";
        let sha = manifest::sha256_hex(old);
        for force in [false, true] {
            // Unchanged since written, or edited: kept either way.
            for existing in [&old[..], b"-- edited\n"] {
                let action = decide(Some(existing), NEW, Some(&sha), false, force);
                assert_eq!(
                    keep_written_migration(path, Some(&sha), action),
                    Action::Skip(SkipReason::WrittenMigration),
                    "{force} {existing:?}"
                );
            }
        }
        // Missing, identical, or not written by cargo sigra: the usual rules.
        for action in [Action::Create, Action::Identical] {
            assert_eq!(keep_written_migration(path, Some(&sha), action), action);
        }
        assert_eq!(
            keep_written_migration(path, None, Action::Overwrite),
            Action::Overwrite
        );
        // Other files are updated as usual.
        assert_eq!(
            keep_written_migration("src/db.rs", Some(&sha), Action::Update),
            Action::Update
        );
    }

    #[test]
    fn migration_versions_are_found() {
        assert_eq!(
            migration_version("migrations/20260101000000_create_users.sql"),
            Some("20260101000000")
        );
        assert_eq!(migration_version("src/main.rs"), None);
        assert_eq!(migration_version("migrations/create_users.sql"), None);
    }

    #[test]
    fn output_paths_stay_inside_the_app() {
        for bad in [
            "../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "Cargo.toml",
            ".sigra/manifest.toml",
            "a\\b",
            "C:x",
        ] {
            assert!(check_output_path("u", bad).is_err(), "{bad}");
        }
        assert!(check_output_path("u", "src/accounts/mod.rs").is_ok());
    }
}
