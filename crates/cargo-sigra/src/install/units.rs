//! Units: independent sets of files, injections, dependencies and notes.
//!
//! A unit is a directory `templates/install/<unit>/` holding a `unit.toml` and the unit's
//! templates (every other file, each ending in `.tmpl`, laid out as in the generated app).
//! `unit.toml` is itself rendered with the install variables before it is parsed, so it may
//! use `<%= database %>` or `<% if binary_id %>`. See `templates/README.md` for the format.

use minijinja::{Environment, Value};
use toml_edit::{DocumentMut, InlineTable, Item};

use super::InstallError;
use super::templates::{self, Files};
use super::vars::Database;

/// Where the units live inside the embedded templates.
pub(crate) const UNITS_DIR: &str = "install/";

/// One unit, loaded and selected.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) order: i64,
    /// Slots (injection points) this unit's templates render.
    pub(crate) slots: Vec<String>,
    /// Lines this unit injects, by slot.
    pub(crate) inject: Vec<(String, Vec<String>)>,
    /// `(table, crate name, spec)`: table is `dependencies` or `dev-dependencies`.
    pub(crate) dependencies: Vec<(&'static str, String, toml_edit::Value)>,
    pub(crate) files: Vec<UnitFile>,
    pub(crate) notes: Option<String>,
}

/// One template of a unit, selected for the chosen database.
#[derive(Debug, Clone)]
pub(crate) struct UnitFile {
    /// The embedded template's name (`install/core/src/main.rs.tmpl`).
    pub(crate) template: String,
    /// The output path before placeholders are filled (`src/main.rs`).
    pub(crate) path_pattern: String,
    /// The path belongs to the app (`src/main.rs`, `src/lib.rs`): written only when missing,
    /// when it is the untouched `cargo new` hello world, or when unchanged since generated.
    pub(crate) user_file: bool,
    /// The wiring template (what to add by hand when a user file is left alone).
    pub(crate) wiring: Option<String>,
}

const DEPENDENCY_TABLES: [&str; 2] = ["dependencies", "dev-dependencies"];
const KNOWN_KEYS: [&str; 9] = [
    "description",
    "order",
    "when",
    "slots",
    "notes",
    "inject",
    "dependencies",
    "dev-dependencies",
    "files",
];
const DEFAULT_ORDER: i64 = 100;

/// The names of every embedded unit, in path order.
pub(crate) fn unit_names(files: Files) -> Vec<String> {
    templates::embedded(files, UNITS_DIR)
        .filter_map(|(path, _)| {
            let rest = path.strip_prefix(UNITS_DIR)?;
            let (unit, file) = rest.split_once('/')?;
            (file == "unit.toml").then(|| unit.to_owned())
        })
        .collect()
}

/// Loads every unit whose `when` holds for `vars`, sorted by `(order, name)`.
pub(crate) fn select(
    env: &Environment<'_>,
    files: Files,
    vars: &Value,
    database: Database,
) -> Result<Vec<Unit>, InstallError> {
    let mut units = Vec::new();
    for name in unit_names(files) {
        if let Some(unit) = load(env, files, &name, vars, database)? {
            units.push(unit);
        }
    }
    units.sort_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
    Ok(units)
}

fn unit_error(unit: &str, message: impl Into<String>) -> InstallError {
    InstallError::Unit {
        unit: unit.to_owned(),
        message: message.into(),
    }
}

/// Loads one unit; `None` when its `when` condition is false.
fn load(
    env: &Environment<'_>,
    files: Files,
    name: &str,
    vars: &Value,
    database: Database,
) -> Result<Option<Unit>, InstallError> {
    let manifest_name = format!("{UNITS_DIR}{name}/unit.toml");
    let text = templates::render(env, &manifest_name, vars)?;
    let doc: DocumentMut = text.parse().map_err(|e| {
        unit_error(
            name,
            format!("unit.toml (after rendering) is not valid TOML: {e}"),
        )
    })?;

    for (key, _) in doc.iter() {
        if !KNOWN_KEYS.contains(&key) {
            return Err(unit_error(
                name,
                format!(
                    "unit.toml has an unknown key `{key}` (known: {})",
                    KNOWN_KEYS.join(", ")
                ),
            ));
        }
    }

    if let Some(when) = doc.get("when") {
        let expr = when
            .as_str()
            .ok_or_else(|| unit_error(name, "`when` must be a string (a minijinja expression)"))?;
        if !templates::eval_condition(env, name, expr, vars)? {
            return Ok(None);
        }
    }

    let description = doc
        .get("description")
        .and_then(Item::as_str)
        .ok_or_else(|| unit_error(name, "unit.toml needs `description = \"...\"`"))?
        .to_owned();
    let order = match doc.get("order") {
        None => DEFAULT_ORDER,
        Some(item) => item
            .as_integer()
            .ok_or_else(|| unit_error(name, "`order` must be an integer"))?,
    };
    let slots = match doc.get("slots") {
        None => Vec::new(),
        Some(item) => string_list(item)
            .ok_or_else(|| unit_error(name, "`slots` must be an array of strings (slot names)"))?,
    };
    let notes = match doc.get("notes") {
        None => None,
        Some(item) => Some(
            item.as_str()
                .ok_or_else(|| unit_error(name, "`notes` must be a string"))?
                .to_owned(),
        ),
    };

    let mut inject = Vec::new();
    if let Some(item) = doc.get("inject") {
        let table = item
            .as_table_like()
            .ok_or_else(|| unit_error(name, "`[inject]` must be a table of slot = [lines]"))?;
        for (slot, lines) in table.iter() {
            let lines = string_list(lines).ok_or_else(|| {
                unit_error(name, format!("`inject.{slot}` must be an array of strings"))
            })?;
            inject.push((slot.to_owned(), lines));
        }
    }

    let mut dependencies = Vec::new();
    for table_name in DEPENDENCY_TABLES {
        let Some(item) = doc.get(table_name) else {
            continue;
        };
        let table = item
            .as_table_like()
            .ok_or_else(|| unit_error(name, format!("`[{table_name}]` must be a table")))?;
        for (krate, spec) in table.iter() {
            let value = dependency_value(spec).ok_or_else(|| {
                unit_error(
                    name,
                    format!(
                        "`{table_name}.{krate}` must be a version string or a table, as in Cargo.toml"
                    ),
                )
            })?;
            dependencies.push((table_name, krate.to_owned(), value));
        }
    }

    let files = unit_files(env, files, name, &doc, vars, database)?;

    Ok(Some(Unit {
        name: name.to_owned(),
        description,
        order,
        slots,
        inject,
        dependencies,
        files,
        notes,
    }))
}

/// The unit's templates for `database` whose `when` (if any) holds for `vars`, with their
/// `[files."…"]` options.
fn unit_files(
    env: &Environment<'_>,
    all: Files,
    unit: &str,
    doc: &DocumentMut,
    vars: &Value,
    database: Database,
) -> Result<Vec<UnitFile>, InstallError> {
    let prefix = format!("{UNITS_DIR}{unit}/");
    let has_source = |source: &str| {
        templates::embedded(all, &prefix).any(|(p, _)| p.strip_prefix(&prefix) == Some(source))
    };
    let mut user_files = Vec::new();
    let mut left_out = Vec::new();
    if let Some(item) = doc.get("files") {
        let table = item
            .as_table_like()
            .ok_or_else(|| unit_error(unit, "`[files]` must be a table of per-file options"))?;
        for (source, opts) in table.iter() {
            let opts = opts
                .as_table_like()
                .ok_or_else(|| unit_error(unit, format!("`files.\"{source}\"` must be a table")))?;
            for (key, value) in opts.iter() {
                let valid = match key {
                    "user_file" => value.as_bool().is_some(),
                    "when" => value.as_str().is_some(),
                    _ => {
                        return Err(unit_error(
                            unit,
                            format!(
                                "`files.\"{source}\"` has an unknown key `{key}` (known: user_file, when)"
                            ),
                        ));
                    }
                };
                if !valid {
                    return Err(unit_error(
                        unit,
                        format!(
                            "`files.\"{source}\".{key}` must be {}",
                            if key == "when" {
                                "a string (a minijinja expression)"
                            } else {
                                "true or false"
                            }
                        ),
                    ));
                }
            }
            if !has_source(source) {
                return Err(unit_error(
                    unit,
                    format!("`[files.\"{source}\"]` names a file the unit does not have"),
                ));
            }
            if let Some(when) = opts.get("when").and_then(Item::as_str)
                && !templates::eval_condition(env, unit, when, vars)?
            {
                left_out.push(source.to_owned());
            }
            if opts.get("user_file").and_then(Item::as_bool) == Some(true) {
                let wiring = wiring_source(source);
                if !has_source(&wiring) {
                    return Err(unit_error(
                        unit,
                        format!(
                            "`{source}` is a user file, so the unit needs `{wiring}` saying how to wire it in by hand"
                        ),
                    ));
                }
                user_files.push(source.to_owned());
            }
        }
    }

    let mut files = Vec::new();
    for (template, _) in templates::embedded(all, &prefix) {
        let Some(source) = template.strip_prefix(&prefix) else {
            continue;
        };
        if source == "unit.toml"
            || source.ends_with(WIRING_SUFFIX)
            || left_out.iter().any(|l| l == source)
        {
            continue;
        }
        let Some(output) = source.strip_suffix(".tmpl") else {
            return Err(unit_error(
                unit,
                format!("`{source}` does not end in `.tmpl`; every file of a unit is a template"),
            ));
        };
        let Some(output) = select_database(output, database) else {
            continue;
        };
        let user_file = user_files.iter().any(|u| u == source);
        files.push(UnitFile {
            template: template.to_owned(),
            path_pattern: output,
            user_file,
            wiring: user_file.then(|| format!("{prefix}{}", wiring_source(source))),
        });
    }
    Ok(files)
}

/// The suffix of wiring templates: `src/lib.rs.wiring.tmpl` says how to wire in what
/// `src/lib.rs.tmpl` would have written, when the app's own `src/lib.rs` is left alone.
const WIRING_SUFFIX: &str = ".wiring.tmpl";

/// The wiring template that goes with a user file's template.
fn wiring_source(source: &str) -> String {
    let stem = source.strip_suffix(".tmpl").unwrap_or(source);
    format!("{stem}{WIRING_SUFFIX}")
}

/// Applies the database suffix convention to an output path: `x.sqlite.sql` is kept (as
/// `x.sql`) only for SQLite, `x.postgres.sql` only for Postgres; other paths are kept as is.
pub(crate) fn select_database(path: &str, database: Database) -> Option<String> {
    let (dir, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (Some(dir), file),
        None => (None, path),
    };
    let mut parts: Vec<&str> = file.split('.').collect();
    if parts.len() >= 3 {
        let idx = parts.len() - 2;
        if let Some(db) = parts.get(idx).and_then(|tag| Database::from_tag(tag)) {
            if db != database {
                return None;
            }
            parts.remove(idx);
        }
    }
    let file = parts.join(".");
    Some(match dir {
        Some(dir) => format!("{dir}/{file}"),
        None => file,
    })
}

fn string_list(item: &Item) -> Option<Vec<String>> {
    item.as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A dependency spec as an inline value (`"0.8"` or `{ version = "0.8", features = [..] }`).
fn dependency_value(item: &Item) -> Option<toml_edit::Value> {
    let mut value = match item {
        Item::Value(v @ toml_edit::Value::String(_)) => v.clone(),
        Item::Value(toml_edit::Value::InlineTable(t)) => toml_edit::Value::InlineTable(t.clone()),
        Item::Table(t) => {
            let mut inline = InlineTable::new();
            for (k, v) in t.iter() {
                inline.insert(k, v.as_value()?.clone());
            }
            toml_edit::Value::InlineTable(inline)
        }
        _ => return None,
    };
    value.decor_mut().clear();
    if let toml_edit::Value::InlineTable(t) = &mut value {
        t.fmt();
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_suffix_selects_and_disappears() {
        let sqlite = Database::Sqlite;
        let pg = Database::Postgres;
        assert_eq!(
            select_database("migrations/1_create_users.sqlite.sql", sqlite).as_deref(),
            Some("migrations/1_create_users.sql")
        );
        assert_eq!(
            select_database("migrations/1_create_users.sqlite.sql", pg),
            None
        );
        assert_eq!(
            select_database("migrations/1_create_users.postgres.sql", pg).as_deref(),
            Some("migrations/1_create_users.sql")
        );
        assert_eq!(
            select_database("src/db.rs", pg).as_deref(),
            Some("src/db.rs")
        );
        // Only the second-to-last extension is a database tag.
        assert_eq!(
            select_database("sqlite.rs", sqlite).as_deref(),
            Some("sqlite.rs")
        );
        assert_eq!(
            select_database("a.sqlite.b.c", pg).as_deref(),
            Some("a.sqlite.b.c")
        );
    }

    #[test]
    fn every_unit_has_a_manifest() {
        let names = unit_names(templates::TEMPLATES);
        assert!(names.contains(&"core".to_owned()), "{names:?}");
        assert!(names.contains(&"html".to_owned()), "{names:?}");
        assert!(names.contains(&"json".to_owned()), "{names:?}");
    }
}
