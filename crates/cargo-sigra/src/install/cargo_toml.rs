//! Adding the units' dependencies to the app's `Cargo.toml` with toml_edit.
//!
//! The file keeps its formatting and comments. A dependency the app lacks is appended to its
//! table. One it already has is never downgraded, renamed or re-sourced: when the versions are
//! semver-compatible only missing features are added; anything else is reported as a conflict
//! and left exactly as it was.

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, TableLike, Value};

/// What happened to one wanted dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DepOutcome {
    /// It was missing and has been added with this spec.
    Added(String),
    /// It was there with a compatible version; these features were added.
    FeaturesAdded(Vec<String>),
    /// It was there and already satisfies the install.
    Present,
    /// It was there in a form the install cannot check or must not change; left as is.
    Conflict(String),
}

/// One wanted dependency and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DepChange {
    /// `dependencies` or `dev-dependencies`.
    pub(crate) table: &'static str,
    pub(crate) name: String,
    pub(crate) outcome: DepOutcome,
}

/// The parts of a dependency spec the merge looks at.
#[derive(Debug, Default)]
struct Spec {
    version: Option<String>,
    path: Option<String>,
    git: Option<String>,
    workspace: bool,
    features: Vec<String>,
    default_features: Option<bool>,
    optional: bool,
    package: Option<String>,
}

impl Spec {
    fn from_item(item: &Item) -> Option<Self> {
        if let Some(s) = item.as_str() {
            return Some(Self {
                version: Some(s.to_owned()),
                ..Self::default()
            });
        }
        item.as_table_like().map(Self::from_table)
    }

    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Self {
                version: Some(s.value().clone()),
                ..Self::default()
            }),
            Value::InlineTable(t) => Some(Self::from_table(t)),
            _ => None,
        }
    }

    fn from_table(t: &dyn TableLike) -> Self {
        let string = |key: &str| t.get(key).and_then(Item::as_str).map(str::to_owned);
        let boolean = |key: &str| t.get(key).and_then(Item::as_bool);
        Self {
            version: string("version"),
            path: string("path"),
            git: string("git"),
            workspace: boolean("workspace").unwrap_or(false),
            features: t
                .get("features")
                .and_then(Item::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            default_features: boolean("default-features").or_else(|| boolean("default_features")),
            optional: boolean("optional").unwrap_or(false),
            package: string("package"),
        }
    }
}

/// Adds `wanted` as `name` to `[table]` of `doc`, following the rules in the module docs.
pub(crate) fn merge_dependency(
    doc: &mut DocumentMut,
    table: &'static str,
    name: &str,
    wanted: &Value,
) -> DepChange {
    let outcome = merge(doc, table, name, wanted);
    DepChange {
        table,
        name: name.to_owned(),
        outcome,
    }
}

fn merge(doc: &mut DocumentMut, table: &str, name: &str, wanted: &Value) -> DepOutcome {
    let Some(want) = Spec::from_value(wanted) else {
        return DepOutcome::Conflict("the unit's spec is not a string or a table".to_owned());
    };
    if doc.get(table).is_none() {
        let mut new_table = Table::new();
        new_table.decor_mut().set_prefix("\n");
        doc.insert(table, Item::Table(new_table));
    }
    let Some(deps) = doc.get_mut(table).and_then(Item::as_table_like_mut) else {
        return DepOutcome::Conflict(format!("`{table}` in Cargo.toml is not a table"));
    };
    let Some(existing_item) = deps.get_mut(name) else {
        let mut value = wanted.clone();
        value.decor_mut().clear();
        let shown = value.to_string().trim().to_owned();
        // Like `cargo add`: a table kept in order stays in order.
        let keys: Vec<String> = deps.iter().map(|(k, _)| k.to_owned()).collect();
        let sorted = keys.windows(2).all(|w| w.first() <= w.get(1));
        deps.insert(name, Item::Value(value));
        if sorted {
            deps.sort_values();
        }
        return DepOutcome::Added(shown);
    };
    let Some(have) = Spec::from_item(existing_item) else {
        return DepOutcome::Conflict("its spec is neither a version string nor a table".to_owned());
    };

    if let Some(package) = &have.package {
        return DepOutcome::Conflict(format!(
            "it is a renamed dependency (`package = \"{package}\"`); left as is"
        ));
    }
    if have.workspace {
        return DepOutcome::Conflict(format!(
            "it is inherited from the workspace; check that the workspace gives it {}",
            describe(&want)
        ));
    }
    if let Some(want_path) = &want.path {
        if have.path.as_deref() != Some(want_path.as_str()) {
            return DepOutcome::Conflict(format!(
                "the install asked for `path = \"{want_path}\"` but Cargo.toml already has {}; left as is",
                describe(&have)
            ));
        }
    } else if let (Some(want_v), Some(have_v)) = (&want.version, &have.version) {
        match (compat_bucket(want_v), compat_bucket(have_v)) {
            (Some(w), Some(h)) if compatible(w, h) => {}
            (Some(w), Some(h)) if h < w => {
                return DepOutcome::Conflict(format!(
                    "Cargo.toml asks for \"{have_v}\" but the generated code needs \"{want_v}\" (a semver-incompatible upgrade); left as is: update it by hand"
                ));
            }
            (Some(_), Some(_)) => {
                return DepOutcome::Conflict(format!(
                    "Cargo.toml asks for \"{have_v}\", newer than the \"{want_v}\" the generated code was written for; left as is: the generated code may need changes"
                ));
            }
            _ => {
                return DepOutcome::Conflict(format!(
                    "cannot compare Cargo.toml's \"{have_v}\" with the wanted \"{want_v}\"; left as is: check they are compatible"
                ));
            }
        }
    }
    if have.default_features == Some(false) && want.default_features != Some(false) {
        return DepOutcome::Conflict(format!(
            "it has `default-features = false` but the generated code needs the default features; left as is: enable them by hand ({})",
            describe(&want)
        ));
    }
    if have.optional {
        return DepOutcome::Conflict(
            "it is `optional = true`, but the generated code always needs it; left as is"
                .to_owned(),
        );
    }

    let missing: Vec<String> = want
        .features
        .iter()
        .filter(|f| !have.features.contains(f))
        .cloned()
        .collect();
    if missing.is_empty() {
        return DepOutcome::Present;
    }
    add_features(existing_item, &missing);
    DepOutcome::FeaturesAdded(missing)
}

/// Appends `features` to the spec in `item`, turning `name = "1"` into an inline table.
fn add_features(item: &mut Item, features: &[String]) {
    if let Some(version) = item.as_str().map(str::to_owned) {
        let mut table = InlineTable::new();
        table.insert("version", Value::from(version));
        table.insert("features", Value::Array(Array::new()));
        table.fmt();
        let decor = item.as_value().map(|v| v.decor().clone());
        let mut value = Value::InlineTable(table);
        if let Some(decor) = decor {
            *value.decor_mut() = decor;
        }
        *item = Item::Value(value);
    }
    let Some(spec) = item.as_table_like_mut() else {
        return;
    };
    if spec.get("features").is_none() {
        spec.insert("features", Item::Value(Value::Array(Array::new())));
    }
    if let Some(array) = spec.get_mut("features").and_then(Item::as_array_mut) {
        for feature in features {
            array.push(feature.as_str());
        }
        array.fmt();
    }
}

fn describe(spec: &Spec) -> String {
    let mut parts = Vec::new();
    if let Some(v) = &spec.version {
        parts.push(format!("version \"{v}\""));
    }
    if let Some(p) = &spec.path {
        parts.push(format!("path \"{p}\""));
    }
    if let Some(g) = &spec.git {
        parts.push(format!("git \"{g}\""));
    }
    if !spec.features.is_empty() {
        parts.push(format!("features {}", spec.features.join(", ")));
    }
    if parts.is_empty() {
        "its defaults".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The semver-compatibility bucket of a simple requirement (`1.2` → (1, None),
/// `0.8.3` → (0, Some(8))); `None` for requirements with several comparators or wildcards.
fn compat_bucket(req: &str) -> Option<(u64, Option<u64>)> {
    let req = req.trim();
    let req = req
        .strip_prefix('^')
        .or_else(|| req.strip_prefix('~'))
        .or_else(|| req.strip_prefix('='))
        .unwrap_or(req)
        .trim();
    if req.is_empty() || req.contains([',', '*', '<', '>', ' ']) {
        return None;
    }
    let core = req.split(['-', '+']).next().unwrap_or(req);
    let mut parts = core.split('.');
    let major: u64 = parts.next()?.parse().ok()?;
    let minor: Option<u64> = match parts.next() {
        Some(m) => Some(m.parse().ok()?),
        None => None,
    };
    if let Some(patch) = parts.next() {
        patch.parse::<u64>().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(if major > 0 { (major, None) } else { (0, minor) })
}

fn compatible(a: (u64, Option<u64>), b: (u64, Option<u64>)) -> bool {
    match (a, b) {
        ((0, Some(x)), (0, Some(y))) => x == y,
        ((ma, _), (mb, _)) => ma == mb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge_into(
        cargo_toml: &str,
        table: &'static str,
        name: &str,
        spec: &str,
    ) -> (String, DepOutcome) {
        let mut doc: DocumentMut = cargo_toml.parse().unwrap();
        let wanted: Value = spec.parse().unwrap();
        let change = merge_dependency(&mut doc, table, name, &wanted);
        (doc.to_string(), change.outcome)
    }

    const APP: &str = "[package]\nname = \"app\" # my app\nversion = \"0.1.0\"\n\n[dependencies]\n# web\naxum = \"0.8.1\"   # pinned by hand\ntokio = { version = \"1\", features = [\"macros\"] }\nold = \"0.7\"\n\n[dependencies.sqlx]\nversion = \"0.8\"\nfeatures = [\"postgres\"]\n";

    #[test]
    fn a_missing_dependency_is_appended_and_the_rest_untouched() {
        let (text, outcome) = merge_into(
            APP,
            "dependencies",
            "serde",
            "{ version = \"1\", features = [\"derive\"] }",
        );
        assert_eq!(
            outcome,
            DepOutcome::Added("{ version = \"1\", features = [\"derive\"] }".to_owned())
        );
        assert!(
            text.starts_with("[package]\nname = \"app\" # my app\n"),
            "{text}"
        );
        assert!(
            text.contains("# web\naxum = \"0.8.1\"   # pinned by hand\n"),
            "{text}"
        );
        assert!(
            text.contains("old = \"0.7\"\nserde = { version = \"1\", features = [\"derive\"] }\n"),
            "{text}"
        );
    }

    #[test]
    fn a_compatible_dependency_is_kept() {
        let (text, outcome) = merge_into(APP, "dependencies", "axum", "\"0.8\"");
        assert_eq!(outcome, DepOutcome::Present);
        assert_eq!(text, APP);
    }

    #[test]
    fn missing_features_are_added_in_place() {
        let (text, outcome) = merge_into(
            APP,
            "dependencies",
            "tokio",
            "{ version = \"1\", features = [\"full\"] }",
        );
        assert_eq!(outcome, DepOutcome::FeaturesAdded(vec!["full".to_owned()]));
        assert!(
            text.contains("tokio = { version = \"1\", features = [\"macros\", \"full\"] }\n"),
            "{text}"
        );
        let (text, outcome) = merge_into(
            APP,
            "dependencies",
            "sqlx",
            "{ version = \"0.8\", features = [\"postgres\", \"migrate\"] }",
        );
        assert_eq!(
            outcome,
            DepOutcome::FeaturesAdded(vec!["migrate".to_owned()])
        );
        assert!(
            text.contains(
                "[dependencies.sqlx]\nversion = \"0.8\"\nfeatures = [\"postgres\", \"migrate\"]\n"
            ),
            "{text}"
        );
        let (text, _) = merge_into(
            APP,
            "dependencies",
            "axum",
            "{ version = \"0.8\", features = [\"macros\"] }",
        );
        assert!(
            text.contains(
                "axum = { version = \"0.8.1\", features = [\"macros\"] }   # pinned by hand\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_older_or_newer_major_is_a_conflict_and_left_alone() {
        let (text, outcome) = merge_into(APP, "dependencies", "old", "\"0.8\"");
        assert!(
            matches!(&outcome, DepOutcome::Conflict(m) if m.contains("semver-incompatible upgrade")),
            "{outcome:?}"
        );
        assert_eq!(text, APP);
        let (text, outcome) = merge_into(APP, "dependencies", "old", "\"0.6\"");
        assert!(
            matches!(&outcome, DepOutcome::Conflict(m) if m.contains("newer than")),
            "{outcome:?}"
        );
        assert_eq!(text, APP);
    }

    #[test]
    fn odd_specs_are_conflicts() {
        let app = "[dependencies]\na = { workspace = true }\nb = { version = \"1\", package = \"c\" }\nd = { version = \"1\", default-features = false }\ne = \">=1, <3\"\nf = { version = \"1\", optional = true }\ng = { path = \"../g\" }\n";
        for name in ["a", "b", "d", "e", "f"] {
            let (text, outcome) = merge_into(app, "dependencies", name, "\"1\"");
            assert!(
                matches!(outcome, DepOutcome::Conflict(_)),
                "{name}: {outcome:?}"
            );
            assert_eq!(text, app);
        }
        let (_, outcome) = merge_into(app, "dependencies", "g", "{ path = \"../other\" }");
        assert!(matches!(outcome, DepOutcome::Conflict(_)), "{outcome:?}");
        let (_, outcome) = merge_into(app, "dependencies", "g", "{ path = \"../g\" }");
        assert_eq!(outcome, DepOutcome::Present);
        // A path dependency without a version satisfies a version requirement.
        let (_, outcome) = merge_into(app, "dependencies", "g", "\"1\"");
        assert_eq!(outcome, DepOutcome::Present);
    }

    #[test]
    fn a_missing_table_is_created_after_a_blank_line() {
        let (text, outcome) = merge_into(
            "[package]\nname = \"x\"\n\n[dependencies]\n",
            "dev-dependencies",
            "tower",
            "{ version = \"0.5\", features = [\"util\"] }",
        );
        assert!(matches!(outcome, DepOutcome::Added(_)));
        assert_eq!(
            text,
            "[package]\nname = \"x\"\n\n[dependencies]\n\n[dev-dependencies]\ntower = { version = \"0.5\", features = [\"util\"] }\n"
        );
    }

    #[test]
    fn version_buckets_follow_cargo_semver() {
        assert_eq!(compat_bucket("0.8"), Some((0, Some(8))));
        assert_eq!(compat_bucket("^0.8.3"), Some((0, Some(8))));
        assert_eq!(compat_bucket("1"), Some((1, None)));
        assert_eq!(compat_bucket("=1.2.3-beta.1"), Some((1, None)));
        assert_eq!(compat_bucket(">=1, <2"), None);
        assert_eq!(compat_bucket("*"), None);
        assert_eq!(compat_bucket("x.y"), None);
        assert_eq!(compat_bucket(""), None);
        assert!(compatible((0, Some(8)), (0, Some(8))));
        assert!(!compatible((0, Some(7)), (0, Some(8))));
        assert!(compatible((0, None), (0, Some(8))));
        assert!(!compatible((1, None), (2, None)));
    }
}
