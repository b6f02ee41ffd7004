//! The names given on the command line: `<Context> <Schema> <table>`.
//!
//! They become Rust module and type names, SQL table and index names, and file paths, so they
//! are validated before anything is read or written: Context and Schema are UpperCamelCase
//! Rust type names, the table is a snake_case SQL identifier, none of them is a Rust or SQL
//! keyword or a name the generated code already uses, and all have length bounds.

use std::sync::LazyLock;

use super::templates::TEMPLATES;
use super::vocabulary::Vocabulary;

/// The names the generated code already uses, read from the embedded templates.
static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| Vocabulary::of_templates(TEMPLATES));

/// The tables the generated app has besides `<table>` (fixed names, see `templates/README.md`).
pub(crate) const FIXED_TABLES: &[&str] = &[
    "audit_events",
    "jobs",
    "rate_limits",
    "user_backup_codes",
    "user_email_tokens",
    "user_mfa_credentials",
    "user_passkeys",
    "user_sessions",
    "webauthn_challenges",
];

/// The modules of `src/<context>/store/` besides `<table>.rs` (and the `db` module it imports).
const STORE_MODULES: &[&str] = &[
    "audit",
    "db",
    "email_tokens",
    "jobs",
    "mfa",
    "mod",
    "passkeys",
    "rate_limits",
    "sessions",
];

/// The longest Context or Schema accepted.
pub(crate) const MAX_TYPE_NAME: usize = 64;

/// The longest table name accepted: Postgres cuts identifiers at 63 bytes and the generated SQL
/// derives index and constraint names from the table name (`<table>_email_index`).
pub(crate) const MAX_TABLE_NAME: usize = 48;

/// Validated names and the forms the templates use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    /// `Accounts`
    pub(crate) context: String,
    /// `accounts`
    pub(crate) context_snake: String,
    /// `User`
    pub(crate) schema: String,
    /// `user`
    pub(crate) schema_snake: String,
    /// `users`
    pub(crate) table: String,
}

impl Names {
    /// Validates all three names, returning every problem found (one message per bad name).
    pub(crate) fn parse(context: &str, schema: &str, table: &str) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if let Err(p) = check_type_name("Context", context, "Accounts")
            .and_then(|()| check_context_module(context))
            .and_then(|()| check_context_type(context))
        {
            problems.push(p);
        }
        if let Err(p) = check_type_name("Schema", schema, "User")
            .and_then(|()| check_schema_type(schema, context))
        {
            problems.push(p);
        }
        if let Err(p) = check_table(table) {
            problems.push(p);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            context: context.to_owned(),
            context_snake: to_snake_case(context),
            schema: schema.to_owned(),
            schema_snake: to_snake_case(schema),
            table: table.to_owned(),
        })
    }
}

/// Rust keywords (strict, reserved and the weak ones that matter in item position).
const RUST_KEYWORDS: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "macro_rules",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "raw",
    "ref",
    "return",
    "safe",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// SQL keywords: every SQLite keyword plus Postgres' reserved words, lowercase.
const SQL_KEYWORDS: &[&str] = &[
    "abort",
    "action",
    "add",
    "after",
    "all",
    "alter",
    "always",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "attach",
    "authorization",
    "autoincrement",
    "before",
    "begin",
    "between",
    "binary",
    "both",
    "by",
    "cascade",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "commit",
    "concurrently",
    "conflict",
    "constraint",
    "create",
    "cross",
    "current",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "default",
    "deferrable",
    "deferred",
    "delete",
    "desc",
    "detach",
    "distinct",
    "do",
    "drop",
    "each",
    "else",
    "end",
    "escape",
    "except",
    "exclude",
    "exclusive",
    "exists",
    "explain",
    "fail",
    "false",
    "fetch",
    "filter",
    "first",
    "following",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "generated",
    "glob",
    "grant",
    "group",
    "groups",
    "having",
    "if",
    "ignore",
    "ilike",
    "immediate",
    "in",
    "index",
    "indexed",
    "initially",
    "inner",
    "insert",
    "instead",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "key",
    "last",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "match",
    "materialized",
    "natural",
    "no",
    "not",
    "nothing",
    "notnull",
    "null",
    "nulls",
    "of",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "others",
    "outer",
    "over",
    "overlaps",
    "partition",
    "placing",
    "plan",
    "pragma",
    "preceding",
    "primary",
    "query",
    "raise",
    "range",
    "recursive",
    "references",
    "regexp",
    "reindex",
    "release",
    "rename",
    "replace",
    "restrict",
    "returning",
    "right",
    "rollback",
    "row",
    "rows",
    "savepoint",
    "select",
    "session_user",
    "set",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "temp",
    "temporary",
    "then",
    "ties",
    "to",
    "trailing",
    "transaction",
    "trigger",
    "true",
    "unbounded",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "vacuum",
    "values",
    "variadic",
    "verbose",
    "view",
    "virtual",
    "when",
    "where",
    "window",
    "with",
    "without",
];

/// Module names the generated app already has at its crate root, and the crates it depends on
/// (a module of the same name would make `use <crate>::…` ambiguous).
const TAKEN_MODULES: &[&str] = &[
    "alloc",
    "app",
    "axum",
    "cli",
    "core",
    "db",
    "lib",
    "mail",
    "main",
    "minijinja",
    "serde",
    "serde_json",
    "sigra_core",
    "sqlx",
    "std",
    "tempfile",
    "tests",
    "thiserror",
    "time",
    "tokio",
    "tower",
    "tracing",
    "tracing_subscriber",
    "uuid",
    "web",
];

/// Type names the generated code uses next to the schema type (the prelude and the imports of
/// the context module); a schema of the same name would shadow them.
const TAKEN_TYPES: &[&str] = &[
    "AppState",
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Db",
    "DbRow",
    "Debug",
    "Default",
    "Drop",
    "Eq",
    "Err",
    "Error",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromRow",
    "Into",
    "IntoIterator",
    "Iterator",
    "None",
    "Ok",
    "OffsetDateTime",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Row",
    "Self",
    "Send",
    "Sized",
    "Some",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Uuid",
    "Vec",
];

fn check_type_name(role: &str, name: &str, example: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "{role} is empty: give an UpperCamelCase name such as `{example}`"
        ));
    }
    let len = name.chars().count();
    if len > MAX_TYPE_NAME {
        return Err(format!(
            "{role} is {len} characters long; at most {MAX_TYPE_NAME} are accepted"
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric());
    if !first_ok || !rest_ok {
        let hint = match suggest_camel(name) {
            Some(s) if s != name => format!(" (did you mean `{s}`?)"),
            _ => format!(" such as `{example}`"),
        };
        return Err(format!(
            "{role} `{name}` must be UpperCamelCase: ASCII letters and digits, starting with an uppercase letter{hint}"
        ));
    }
    if len > 1 && !name.chars().any(|c| c.is_ascii_lowercase()) {
        let fixed = suggest_camel(&name.to_ascii_lowercase()).unwrap_or_default();
        return Err(format!(
            "{role} `{name}` is all capitals; write acronyms as words in UpperCamelCase (`{fixed}`)"
        ));
    }
    let snake = to_snake_case(name);
    if RUST_KEYWORDS.contains(&snake.as_str()) {
        return Err(format!(
            "{role} `{name}` becomes `{snake}` in Rust code, which is a Rust keyword; choose another name"
        ));
    }
    Ok(())
}

fn check_context_module(context: &str) -> Result<(), String> {
    let snake = to_snake_case(context);
    if TAKEN_MODULES.contains(&snake.as_str()) {
        return Err(format!(
            "Context `{context}` would be the module `{snake}`, a name the generated app already uses; choose another name (such as `Accounts`)"
        ));
    }
    if VOCABULARY.bindings.contains(&snake) {
        return Err(format!(
            "Context `{context}` would be `{snake}` in the generated code (the context's module and variables), which already uses the name `{snake}`; choose another name (such as `Accounts`)"
        ));
    }
    Ok(())
}

/// Whether the generated code already uses the type name `name`.
fn type_taken(name: &str) -> bool {
    TAKEN_TYPES.contains(&name) || VOCABULARY.types.contains(name)
}

fn check_context_type(context: &str) -> Result<(), String> {
    for name in [
        context.to_owned(),
        format!("{context}Store"),
        format!("{context}Tx"),
    ] {
        if type_taken(&name) {
            return Err(format!(
                "Context `{context}` would name the type `{name}`, which the generated code already uses; choose another name (such as `Accounts`)"
            ));
        }
    }
    Ok(())
}

fn check_schema_type(schema: &str, context: &str) -> Result<(), String> {
    if type_taken(schema) {
        return Err(format!(
            "Schema `{schema}` would shadow `{schema}`, which the generated code uses; choose another name (such as `User`)"
        ));
    }
    let json = format!("{schema}Json");
    if type_taken(&json) {
        return Err(format!(
            "Schema `{schema}` would name the type `{json}`, which the generated code already uses; choose another name (such as `User`)"
        ));
    }
    let context_types = [
        context.to_owned(),
        format!("{context}Store"),
        format!("{context}Tx"),
    ];
    if context_types.contains(&schema.to_owned()) || json == context {
        return Err(format!(
            "Schema `{schema}` and Context `{context}` would name the same type; give them different names (such as `Accounts User`)"
        ));
    }
    Ok(())
}

fn check_table(table: &str) -> Result<(), String> {
    if table.is_empty() {
        return Err("table is empty: give a snake_case SQL table name such as `users`".to_owned());
    }
    let len = table.chars().count();
    if len > MAX_TABLE_NAME {
        return Err(format!(
            "table is {len} characters long; at most {MAX_TABLE_NAME} are accepted (Postgres identifiers stop at 63 bytes and index names add a suffix)"
        ));
    }
    let well_formed = table.starts_with(|c: char| c.is_ascii_lowercase())
        && table
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !table.contains("__")
        && !table.ends_with('_');
    if !well_formed {
        return Err(format!(
            "table `{table}` must be snake_case: lowercase ASCII letters, digits and single underscores, starting with a letter (such as `users`)"
        ));
    }
    if SQL_KEYWORDS.contains(&table) {
        return Err(format!(
            "table `{table}` is an SQL keyword; choose another name (such as `users`)"
        ));
    }
    if RUST_KEYWORDS.contains(&table) {
        return Err(format!(
            "table `{table}` is a Rust keyword; choose another name (such as `users`)"
        ));
    }
    if FIXED_TABLES.contains(&table) {
        return Err(format!(
            "table `{table}` is one of the other tables the app gets ({}); choose another name (such as `users`)",
            FIXED_TABLES.join(", ")
        ));
    }
    if STORE_MODULES.contains(&table) || TAKEN_MODULES.contains(&table) {
        return Err(format!(
            "table `{table}` would be the module `{table}` next to the store's other modules, a name the generated app already uses; choose another name (such as `users`)"
        ));
    }
    if table.starts_with("sqlite_") || table.starts_with("pg_") {
        return Err(format!(
            "table `{table}` uses a prefix the database reserves (`sqlite_`, `pg_`); choose another name"
        ));
    }
    Ok(())
}

/// `UserProfile` → `user_profile`, `HTTPServer` → `http_server`, `User2` → `user2`.
pub(crate) fn to_snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A plausible UpperCamelCase spelling of `name` (`accounts` → `Accounts`,
/// `user_profile` → `UserProfile`, `Us-er` → `UsEr`), if it has any ASCII letters.
fn suggest_camel(name: &str) -> Option<String> {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_uppercase()) {
        Some(out)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(context: &str, schema: &str, table: &str) -> String {
        Names::parse(context, schema, table).unwrap_err().join("\n")
    }

    #[test]
    fn the_default_names_are_accepted_with_their_snake_forms() {
        let names = Names::parse("Accounts", "User", "users").unwrap();
        assert_eq!(names.context_snake, "accounts");
        assert_eq!(names.schema_snake, "user");
        assert_eq!(names.table, "users");
        let names = Names::parse("Identity", "UserProfile", "user_profiles").unwrap();
        assert_eq!(names.schema_snake, "user_profile");
    }

    #[test]
    fn snake_case_handles_acronyms_and_digits() {
        assert_eq!(to_snake_case("HTTPServer"), "http_server");
        assert_eq!(to_snake_case("User2"), "user2");
        assert_eq!(to_snake_case("User2Fa"), "user2_fa");
        assert_eq!(to_snake_case("A"), "a");
    }

    #[test]
    fn a_lowercase_context_is_refused_with_a_suggestion() {
        let p = problems("accounts", "User", "users");
        assert!(
            p.contains("Context `accounts` must be UpperCamelCase"),
            "{p}"
        );
        assert!(p.contains("did you mean `Accounts`?"), "{p}");
    }

    #[test]
    fn punctuation_in_a_schema_is_refused() {
        let p = problems("Accounts", "Us-er", "users");
        assert!(p.contains("Schema `Us-er` must be UpperCamelCase"), "{p}");
    }

    #[test]
    fn keywords_are_refused_everywhere() {
        assert!(problems("Accounts", "User", "fn").contains("table `fn` is a Rust keyword"));
        assert!(problems("Accounts", "User", "select").contains("SQL keyword"));
        assert!(problems("Accounts", "User", "user").contains("SQL keyword"));
        assert!(problems("Type", "User", "users").contains("Rust keyword"));
        assert!(problems("Accounts", "Self", "users").contains("Rust keyword"));
    }

    #[test]
    fn sql_injection_shaped_tables_are_refused() {
        let p = problems("Accounts", "User", "users;drop");
        assert!(p.contains("table `users;drop` must be snake_case"), "{p}");
        for bad in ["Users", "users__x", "users_", "_users", "1users", "us ers"] {
            assert!(Names::parse("Accounts", "User", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_and_overlong_names_are_refused() {
        let p = problems("", "", "");
        assert!(p.contains("Context is empty"), "{p}");
        assert!(p.contains("Schema is empty"), "{p}");
        assert!(p.contains("table is empty"), "{p}");
        let long = format!("A{}", "b".repeat(199));
        assert!(problems(&long, "User", "users").contains("200 characters long; at most 64"));
        let long_table = "u".repeat(200);
        assert!(problems("Accounts", "User", &long_table).contains("at most 48"));
        let ok_table = "u".repeat(MAX_TABLE_NAME);
        assert!(Names::parse("Accounts", "User", &ok_table).is_ok());
    }

    #[test]
    fn names_the_generated_code_uses_are_refused() {
        assert!(problems("Web", "User", "users").contains("module `web`"));
        assert!(problems("Time", "User", "users").contains("module `time`"));
        assert!(problems("Mail", "User", "users").contains("module `mail`"));
        assert!(problems("Accounts", "String", "users").contains("would shadow `String`"));
        assert!(problems("Accounts", "Uuid", "users").contains("would shadow `Uuid`"));
        // Names the templates use, found in the templates themselves.
        assert!(problems("Auth", "User", "users").contains("already uses the name `auth`"));
        assert!(problems("Settings", "User", "users").contains("`settings`"));
        assert!(problems("Accounts", "Page", "users").contains("would shadow `Page`"));
        assert!(problems("Accounts", "AppState", "users").contains("would shadow `AppState`"));
        assert!(problems("Mailer", "User", "users").contains("`mailer`"));
        assert!(problems("Sessions", "User", "users").contains("`sessions`"));
        assert!(problems("Accounts", "Accounts", "users").contains("would name the same type"));
        assert!(
            problems("Accounts", "AccountsStore", "users").contains("would name the same type")
        );
        assert!(problems("Accounts", "Session", "users").contains("`SessionJson`"));
    }

    #[test]
    fn common_names_are_accepted() {
        for (context, schema, table) in [
            ("Accounts", "User", "users"),
            ("Identity", "Member", "members"),
            ("Users", "User", "users"),
            ("Membership", "Person", "people"),
            ("Customers", "Customer", "customers"),
            ("Admin", "Administrator", "administrators"),
            ("Staff", "Employee", "employees"),
        ] {
            assert!(
                Names::parse(context, schema, table).is_ok(),
                "{context} {schema} {table}: {:?}",
                Names::parse(context, schema, table)
            );
        }
    }

    #[test]
    fn the_other_tables_and_store_modules_are_refused_as_the_table() {
        for table in FIXED_TABLES
            .iter()
            .chain(STORE_MODULES)
            .filter(|t| **t != "mod")
        {
            assert!(Names::parse("Accounts", "User", table).is_err(), "{table}");
        }
        assert!(problems("Accounts", "User", "user_sessions").contains("one of the other tables"));
        assert!(problems("Accounts", "User", "sessions").contains("module `sessions`"));
    }

    #[test]
    fn all_capitals_are_refused_in_favour_of_camel_case() {
        let p = problems("API", "User", "users");
        assert!(p.contains("all capitals"), "{p}");
        assert!(p.contains("`Api`"), "{p}");
        assert!(Names::parse("Q", "U", "users").is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let p = Names::parse("accounts", "Us-er", "users;drop").unwrap_err();
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn non_ascii_is_refused_without_panicking() {
        for bad in ["Ünïcode", "Us\u{0}er", "Käse", "\u{1F600}"] {
            assert!(Names::parse(bad, "User", "users").is_err(), "{bad}");
            assert!(Names::parse("Accounts", bad, "users").is_err(), "{bad}");
            assert!(Names::parse("Accounts", "User", bad).is_err(), "{bad}");
        }
    }
}
