//! The embedded templates and the minijinja environment that renders them.
//!
//! Installer templates use `<%= expr %>`, `<% stmt %>` and `<%# comment %>` (like EEx), so the
//! `{{ }}` and `{% %}` of the HTML templates they emit pass through untouched. Blocks trim
//! their own line (`trim_blocks`, `lstrip_blocks`), a template's trailing newline is kept, and
//! an undefined variable is an error, never an empty string.
//!
//! Paths are templated with `%name%` placeholders (`src/%context_snake%/mod.rs.tmpl` →
//! `src/accounts/mod.rs`): `<` and `>` cannot appear in file names on Windows, so the EEx
//! delimiters are not used in paths.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::InstallError;

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// A set of templates: (path relative to `templates/`, contents), sorted by path.
/// [`TEMPLATES`] in the binary; synthetic sets in tests.
pub(crate) type Files = &'static [(&'static str, &'static str)];

/// Every template of `files` whose path starts with `prefix`, in path order.
pub(crate) fn embedded(
    files: Files,
    prefix: &str,
) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    files
        .iter()
        .filter(move |(path, _)| path.starts_with(prefix))
        .copied()
}

/// The installer's minijinja environment with every template of `files` loaded.
pub(crate) fn environment(files: Files) -> Result<Environment<'static>, InstallError> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .block_delimiters("<%", "%>")
        .variable_delimiters("<%=", "%>")
        .comment_delimiters("<%#", "%>")
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| template_error("(syntax configuration)", &e))?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The output is Rust, SQL, TOML and HTML templates: never HTML-escape anything.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (name, source) in files {
        env.add_template(name, source)
            .map_err(|e| template_error(name, &e))?;
    }
    Ok(env)
}

/// Renders the template `name` with `vars`.
pub(crate) fn render(
    env: &Environment<'_>,
    name: &str,
    vars: &Value,
) -> Result<String, InstallError> {
    env.get_template(name)
        .and_then(|t| t.render(vars))
        .map_err(|e| template_error(name, &e))
}

/// Evaluates a unit's `when` expression (a minijinja expression over the install variables).
pub(crate) fn eval_condition(
    env: &Environment<'_>,
    unit: &str,
    expr: &str,
    vars: &Value,
) -> Result<bool, InstallError> {
    let error = |message: String| InstallError::Unit {
        unit: unit.to_owned(),
        message: format!("`when = {expr:?}` cannot be evaluated: {message}"),
    };
    let compiled = env
        .compile_expression(expr)
        .map_err(|e| error(format!("{e:#}")))?;
    let mut unknown: Vec<String> = compiled
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| vars.get_attr(name).is_ok_and(|v| v.is_undefined()))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(error(format!("unknown variable {}", unknown.join(", "))));
    }
    compiled
        .eval(vars)
        .map(|v| v.is_true())
        .map_err(|e| error(format!("{e:#}")))
}

/// Replaces `%name%` placeholders in a template path with the string variables in `vars`.
pub(crate) fn render_path(path: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(start) = rest.find('%') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 1..).unwrap_or_default();
        let Some(end) = after.find('%') else {
            return Err(format!("unmatched `%` in the path `{path}`"));
        };
        let name = after.get(..end).unwrap_or_default();
        let Some(value) = vars.get(name) else {
            let known: Vec<&str> = vars.keys().copied().collect();
            return Err(format!(
                "unknown placeholder `%{name}%` in the path `{path}` (known: {})",
                known.join(", ")
            ));
        };
        out.push_str(value);
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

fn template_error(name: &str, err: &minijinja::Error) -> InstallError {
    InstallError::Template {
        name: name.to_owned(),
        message: format!("{err:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_str(source: &str, ctx: Value) -> String {
        let mut env = environment(TEMPLATES).unwrap();
        env.add_template_owned("test", source.to_owned()).unwrap();
        render(&env, "test", &ctx).unwrap()
    }

    #[test]
    fn eex_delimiters_render_and_jinja_passes_through() {
        let ctx = minijinja::context! { schema => "User", html => true };
        let out = render_str(
            "<%# a comment %>\n<title>{{ title }}</title>{% block x %}{% endblock %}\n<% if html %>\nstruct <%= schema %>;\n<% endif %>\n",
            ctx,
        );
        assert_eq!(
            out,
            "<title>{{ title }}</title>{% block x %}{% endblock %}\nstruct User;\n"
        );
    }

    #[test]
    fn an_undefined_variable_is_an_error_not_an_empty_string() {
        let mut env = environment(TEMPLATES).unwrap();
        env.add_template_owned("bad", "<%= shcema %>".to_owned())
            .unwrap();
        let err = render(&env, "bad", &minijinja::context! { schema => "User" }).unwrap_err();
        assert!(err.to_string().contains("template bad"), "{err}");
    }

    #[test]
    fn nothing_is_html_escaped() {
        let mut env = environment(TEMPLATES).unwrap();
        env.add_template_owned("x.html", "<%= v %>".to_owned())
            .unwrap();
        let out = render(
            &env,
            "x.html",
            &minijinja::context! { v => "<a href=\"&\">" },
        )
        .unwrap();
        assert_eq!(out, "<a href=\"&\">");
    }

    #[test]
    fn paths_take_placeholders() {
        let vars = BTreeMap::from([("context_snake", "accounts".to_owned())]);
        assert_eq!(
            render_path("src/%context_snake%/mod.rs.tmpl", &vars).unwrap(),
            "src/accounts/mod.rs.tmpl"
        );
        assert_eq!(
            render_path("plain/path.rs", &vars).unwrap(),
            "plain/path.rs"
        );
        assert!(
            render_path("src/%nope%/x", &vars)
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(
            render_path("src/%context_snake/x", &vars)
                .unwrap_err()
                .contains("unmatched")
        );
    }

    #[test]
    fn every_embedded_template_parses() {
        // `environment` adds every template and fails on the first syntax error.
        environment(TEMPLATES).unwrap();
        assert!(embedded(TEMPLATES, "install/core/").count() > 0);
    }
}
