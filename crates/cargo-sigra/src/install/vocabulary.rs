//! The names the generated code already uses, read from the templates themselves, so the
//! names given on the command line never collide with them (a Context `Auth` would make the
//! handlers' `auth` binding ambiguous, a Schema `Page` would shadow the page extractor).
//!
//! A small scanner over the Rust templates: template tags, comments and literals are
//! dropped; a name built from a variable (`<%= context %>Store`) is not a fixed name. It
//! collects the UpperCamelCase names (types, traits, variants) and the snake_case names the
//! code binds or declares (`let` bindings, patterns, closure and function parameters,
//! fields, functions, modules). It is deliberately generous: a false alarm only asks for
//! another name.

use std::collections::BTreeSet;

use super::templates::Files;

/// The names the generated code uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Vocabulary {
    /// UpperCamelCase names.
    pub(crate) types: BTreeSet<String>,
    /// snake_case names.
    pub(crate) bindings: BTreeSet<String>,
}

impl Vocabulary {
    /// The names used by every Rust template (`*.rs.tmpl`) under `install/` in `files`.
    pub(crate) fn of_templates(files: Files) -> Self {
        let mut vocabulary = Self::default();
        for (path, source) in files {
            if path.starts_with("install/") && path.ends_with(".rs.tmpl") {
                let code = code_of(source);
                let idents = identifiers(&code);
                vocabulary.types.extend(type_names(&idents));
                vocabulary.bindings.extend(bound_names(&idents));
            }
        }
        vocabulary
    }
}

/// Marks where a template printed a variable.
const VARIABLE: char = '§';

/// The Rust code of a template with its template tags, comments and literals removed;
/// `<%= … %>` becomes [`VARIABLE`].
fn code_of(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        let skip = if rest.starts_with("<%") {
            if rest.starts_with("<%=") {
                out.push(VARIABLE);
            }
            rest.find("%>").map_or(rest.len(), |i| i + 2)
        } else if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("r#\"") {
            out.push_str("\"\"");
            rest.get(3..)
                .and_then(|after| after.find("\"#"))
                .map_or(rest.len(), |i| i + 5)
        } else if c == '"' {
            out.push_str("\"\"");
            string_end(rest)
        } else if c == '\'' {
            match char_literal_end(rest) {
                Some(end) => {
                    out.push_str("' '");
                    end
                }
                None => {
                    out.push(c);
                    c.len_utf8()
                }
            }
        } else {
            out.push(c);
            c.len_utf8()
        };
        rest = rest.get(skip..).unwrap_or_default();
    }
    out
}

/// The byte length of the string literal `rest` starts with (through its closing quote).
fn string_end(rest: &str) -> usize {
    let mut escaped = false;
    for (i, ch) in rest.char_indices().skip(1) {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            _ => {}
        }
    }
    rest.len()
}

/// The byte length of the char literal `rest` starts with (`'x'`, `'\n'`, `'"'`), or `None`
/// for a lifetime (`'static`).
fn char_literal_end(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        // An escape (`'\n'`, `'\''`, `'\u{e9}'`): the escaped character, then up to the
        // closing quote.
        chars.next()?;
        return chars.find(|(_, ch)| *ch == '\'').map(|(i, _)| i + 1);
    }
    match chars.next() {
        Some((i, '\'')) => Some(i + 1),
        _ => None,
    }
}

/// An identifier of the code, with the character before it and the three after it.
struct Ident {
    before: char,
    name: String,
    after: String,
}

fn identifiers(code: &str) -> Vec<Ident> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut before = ' ';
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if current.is_empty() && c.is_ascii_digit() {
                before = c;
                continue;
            }
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            let after: String = chars.iter().skip(i).take(3).collect();
            out.push(Ident {
                before,
                name: std::mem::take(&mut current),
                after,
            });
        }
        before = c;
    }
    if !current.is_empty() {
        out.push(Ident {
            before,
            name: current,
            after: String::new(),
        });
    }
    out
}

fn from_variable(ident: &Ident) -> bool {
    ident.before == VARIABLE || ident.after.starts_with(VARIABLE)
}

/// UpperCamelCase names not built from a variable.
fn type_names(idents: &[Ident]) -> impl Iterator<Item = String> + '_ {
    idents
        .iter()
        .filter(|ident| {
            !from_variable(ident)
                && ident.name.starts_with(|c: char| c.is_ascii_uppercase())
                && ident.name.chars().any(|c| c.is_ascii_lowercase())
        })
        .map(|ident| ident.name.clone())
}

/// snake_case names the code binds or declares.
fn bound_names(idents: &[Ident]) -> impl Iterator<Item = String> + '_ {
    let mut previous: Option<&str> = None;
    idents.iter().filter_map(move |ident| {
        let keyword_before = matches!(previous, Some("let" | "mut" | "for" | "mod" | "fn"));
        previous = Some(ident.name.as_str());
        let snake = ident.name.starts_with(|c: char| c.is_ascii_lowercase());
        let binding = keyword_before
            || (ident.after.starts_with(':') && !ident.after.starts_with("::"))
            || ident.before == '|'
            || (ident.before == '('
                && (ident.after.starts_with(')') || ident.after.starts_with(',')));
        (snake && binding && !from_variable(ident)).then(|| ident.name.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(source: &'static str) -> Vocabulary {
        let files: &'static [(&'static str, &'static str)] =
            Box::leak(Box::new([("install/x/src/a.rs.tmpl", source)]));
        Vocabulary::of_templates(files)
    }

    #[test]
    fn names_built_from_variables_comments_and_literals_are_not_collected() {
        let v = of(concat!(
            "// Comment Words\n",
            "/// Doc Words\n",
            "use crate::<%= context_snake %>::<%= context %>Store;\n",
            "fn handler(State(<%= context_snake %>): State<<%= context %>>, page: Page) {\n",
            "    let mail = \"Quoted Words {x}\";\n",
            "    let c = '\\'';\n",
            "    let r = r#\"Raw \"Words\"\"#;\n",
            "    let life: &'static str = \"\";\n",
            "    for item in list.iter().map(|entry| entry) {}\n",
            "}\n",
            "<% if binary_id %>\nstruct Keyed;\n<% endif %>\n",
        ));
        assert_eq!(
            v.types.iter().map(String::as_str).collect::<Vec<_>>(),
            ["Keyed", "Page", "State"]
        );
        assert_eq!(
            v.bindings.iter().map(String::as_str).collect::<Vec<_>>(),
            ["c", "entry", "handler", "item", "life", "mail", "page", "r"]
        );
    }

    #[test]
    fn the_embedded_templates_use_the_names_their_code_uses() {
        let v = Vocabulary::of_templates(super::super::templates::TEMPLATES);
        for name in [
            "Page",
            "AppState",
            "Router",
            "Settings",
            "AuthMailer",
            "OutboxCommand",
            "Flash",
        ] {
            assert!(v.types.contains(name), "{name}: {:?}", v.types);
        }
        for name in [
            "auth", "page", "form", "meta", "mailer", "state", "settings", "store",
        ] {
            assert!(v.bindings.contains(name), "{name}: {:?}", v.bindings);
        }
        // The names given on the command line are variables, never fixed names.
        for name in ["Accounts", "AccountsStore", "User", "UserJson"] {
            assert!(!v.types.contains(name), "{name}");
        }
        assert!(!v.bindings.contains("accounts"));
    }

    #[test]
    fn arbitrary_text_never_panics() {
        for text in [
            "'", "\"", "r#\"", "<%", "<%=", "'\\", "é'ü'", "§", "a'b", "'''",
        ] {
            let _ = code_of(text);
            let _ = identifiers(&code_of(text));
        }
    }
}
