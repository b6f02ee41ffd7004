//! The variables every template sees.

use std::collections::BTreeMap;

use minijinja::Value;

use super::names::Names;

/// The database the generated app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Database {
    /// SQLite, bundled by sqlx: `cargo run` works with no server.
    Sqlite,
    /// PostgreSQL: the production target.
    Postgres,
}

impl Database {
    /// The name used in templates, file suffixes and the manifest.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The database named by a file suffix, if any.
    pub(crate) fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "sqlite" => Some(Self::Sqlite),
            "postgres" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// The install variables (see `templates/README.md` for the list templates may use).
#[derive(Debug, Clone)]
pub(crate) struct Variables {
    pub(crate) names: Names,
    /// The app's package name (`sigra-example-host`).
    pub(crate) app: String,
    /// The app's library crate as Rust code names it (`sigra_example_host`, or `[lib] name`).
    pub(crate) app_crate: String,
    pub(crate) database: Database,
    pub(crate) binary_id: bool,
    pub(crate) html: bool,
    /// Passkeys are generated (not `--no-passkeys`).
    pub(crate) passkeys: bool,
    /// The sigra-core dependency as a TOML value: `"0.1"` or `{ path = "../sigra-core" }`.
    pub(crate) sigra_core_dep: String,
}

impl Variables {
    /// The string variables, which paths may use as `%name%`.
    pub(crate) fn strings(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("app", self.app.clone()),
            ("app_crate", self.app_crate.clone()),
            ("context", self.names.context.clone()),
            ("context_snake", self.names.context_snake.clone()),
            ("database", self.database.tag().to_owned()),
            ("schema", self.names.schema.clone()),
            ("schema_snake", self.names.schema_snake.clone()),
            ("sigra_core_dep", self.sigra_core_dep.clone()),
            ("sigra_core_testing_dep", self.sigra_core_testing_dep()),
            ("table", self.names.table.clone()),
        ])
    }

    /// The sigra-core dependency with its `testing` feature (the conformance suites), for
    /// `[dev-dependencies]`: `{ version = "0.1", features = ["testing"] }` or
    /// `{ path = "../sigra-core", features = ["testing"] }`.
    pub(crate) fn sigra_core_testing_dep(&self) -> String {
        let mut table = match self.sigra_core_dep.parse::<toml_edit::Value>() {
            Ok(toml_edit::Value::InlineTable(table)) => table,
            Ok(version) => {
                let mut table = toml_edit::InlineTable::new();
                table.insert("version", version.decorated("", ""));
                table
            }
            Err(_) => toml_edit::InlineTable::new(),
        };
        table.insert(
            "features",
            toml_edit::Value::Array(toml_edit::Array::from_iter(["testing"])),
        );
        table.fmt();
        toml_edit::Value::InlineTable(table).to_string()
    }

    /// Every variable as a template context; `slots` is absent while unit manifests are
    /// rendered (they fill the slots) and present for the files.
    pub(crate) fn to_value(&self, slots: Option<&BTreeMap<String, Vec<String>>>) -> Value {
        let mut map: BTreeMap<&str, Value> = self
            .strings()
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        map.insert("binary_id", Value::from(self.binary_id));
        map.insert("html", Value::from(self.html));
        map.insert("passkeys", Value::from(self.passkeys));
        if let Some(slots) = slots {
            map.insert("slots", Value::from(slots.clone()));
        }
        Value::from(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_dep(dep: &str) -> Variables {
        Variables {
            names: Names::parse("Accounts", "User", "users").unwrap(),
            app: "app".into(),
            app_crate: "app".into(),
            database: Database::Sqlite,
            binary_id: true,
            html: true,
            passkeys: true,
            sigra_core_dep: dep.into(),
        }
    }

    #[test]
    fn the_testing_dependency_adds_the_feature_to_either_form() {
        assert_eq!(
            with_dep("\"0.1\"").sigra_core_testing_dep(),
            "{ version = \"0.1\", features = [\"testing\"] }"
        );
        assert_eq!(
            with_dep("{ path = \"../../crates/sigra-core\" }").sigra_core_testing_dep(),
            "{ path = \"../../crates/sigra-core\", features = [\"testing\"] }"
        );
    }
}
