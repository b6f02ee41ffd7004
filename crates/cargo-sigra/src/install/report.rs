//! The printed output: the plan, then what was done, the wiring and the next steps.
//!
//! Deterministic for a given app and command (no dates, no absolute paths, sorted files), so
//! it is golden-tested.

use std::fmt::Write as _;

use super::cargo_toml::DepOutcome;
use super::plan::{Action, Plan, SkipReason};

/// The header and the plan: settings, units, files and dependencies.
pub(crate) fn plan(plan: &Plan) -> String {
    let v = &plan.vars;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cargo sigra install {} {} {}",
        v.names.context, v.names.schema, v.names.table
    );
    let _ = writeln!(out, "  app         {}", v.app);
    let _ = writeln!(out, "  database    {}", v.database.tag());
    let _ = writeln!(
        out,
        "  keys        {}",
        if v.binary_id {
            "UUID v7"
        } else {
            "64-bit integers"
        }
    );
    let _ = writeln!(
        out,
        "  pages       {}",
        if v.html { "HTML" } else { "JSON only" }
    );
    let _ = writeln!(
        out,
        "  passkeys    {}",
        if v.passkeys {
            "yes"
        } else {
            "no (--no-passkeys)"
        }
    );
    let _ = writeln!(out, "  sigra-core  {}", v.sigra_core_dep);

    out.push_str("\nUnits:\n");
    let width = plan.units.iter().map(|u| u.name.len()).max().unwrap_or(0);
    for unit in &plan.units {
        let _ = writeln!(out, "  {:<width$}  {}", unit.name, unit.description);
    }

    out.push_str("\nFiles:\n");
    for file in &plan.files {
        let (verb, why) = match file.action {
            Action::Create => ("create", None),
            Action::Replace => (
                "replace",
                Some("it was the untouched `cargo new` hello world"),
            ),
            Action::Update => ("update", Some("unchanged since cargo sigra wrote it")),
            Action::Overwrite => ("overwrite", Some("--force")),
            Action::Identical => ("identical", None),
            Action::Skip(SkipReason::UserFile) => (
                "skip",
                Some("your own file, never overwritten: wire it in by hand, see below"),
            ),
            Action::Skip(SkipReason::Edited) => (
                "skip",
                Some("changed since cargo sigra wrote it; --force overwrites it"),
            ),
            Action::Skip(SkipReason::Foreign) => (
                "skip",
                Some("exists and was not written by cargo sigra; --force overwrites it"),
            ),
            Action::Skip(SkipReason::WrittenMigration) => (
                "keep",
                Some(
                    "a written migration is never rewritten, even with --force: a database that ran it refuses a changed one; schema changes come as new migrations",
                ),
            ),
        };
        match why {
            Some(why) => {
                let _ = writeln!(out, "  {verb:<10}{}  ({why})", file.path);
            }
            None => {
                let _ = writeln!(out, "  {verb:<10}{}", file.path);
            }
        }
    }

    out.push_str("\nCargo.toml:\n");
    for dep in &plan.dependencies {
        let section = if dep.table == "dependencies" {
            String::new()
        } else {
            format!("[{}] ", dep.table)
        };
        let _ = match &dep.outcome {
            DepOutcome::Added(spec) => {
                writeln!(out, "  {:<10}{section}{} = {spec}", "add", dep.name)
            }
            DepOutcome::FeaturesAdded(features) => writeln!(
                out,
                "  {:<10}{section}{}: features {}",
                "features",
                dep.name,
                features.join(", ")
            ),
            DepOutcome::Present => writeln!(out, "  {:<10}{section}{}", "present", dep.name),
            DepOutcome::Conflict(why) => {
                writeln!(out, "  {:<10}{section}{}: {why}", "conflict", dep.name)
            }
        };
    }
    out
}

/// The closing summary line.
pub(crate) fn summary(plan: &Plan, dry_run: bool) -> String {
    let count =
        |pred: &dyn Fn(Action) -> bool| plan.files.iter().filter(|f| pred(f.action)).count();
    let skipped =
        count(&|a| matches!(a, Action::Skip(reason) if reason != SkipReason::WrittenMigration));
    let kept = count(&|a| a == Action::Skip(SkipReason::WrittenMigration));
    let conflicts = plan
        .dependencies
        .iter()
        .filter(|d| matches!(d.outcome, DepOutcome::Conflict(_)))
        .count();
    let mut attention = Vec::new();
    if skipped > 0 {
        attention.push(plural(skipped, "file skipped", "files skipped"));
    }
    if kept > 0 {
        attention.push(plural(
            kept,
            "changed migration kept as written",
            "changed migrations kept as written",
        ));
    }
    if conflicts > 0 {
        attention.push(plural(
            conflicts,
            "dependency conflict",
            "dependency conflicts",
        ));
    }
    let attention = if attention.is_empty() {
        String::new()
    } else {
        format!(" ({}: see above)", attention.join(", "))
    };

    if !plan.changes_anything() {
        return format!("\nNothing to change: the install is up to date{attention}.\n");
    }
    let mut files = Vec::new();
    for (label, action) in [
        ("created", Action::Create),
        ("replaced", Action::Replace),
        ("updated", Action::Update),
        ("overwritten", Action::Overwrite),
    ] {
        let n = count(&|a| a == action);
        if n > 0 {
            files.push(format!("{n} {label}"));
        }
    }
    let mut parts = Vec::new();
    if !files.is_empty() {
        parts.push(files.join(", "));
    }
    let added = plan
        .dependencies
        .iter()
        .filter(|d| matches!(d.outcome, DepOutcome::Added(_)))
        .count();
    let extended = plan
        .dependencies
        .iter()
        .filter(|d| matches!(d.outcome, DepOutcome::FeaturesAdded(_)))
        .count();
    if plan.cargo_toml.is_some() {
        let mut deps = Vec::new();
        if added > 0 {
            deps.push(plural(added, "dependency added", "dependencies added"));
        }
        if extended > 0 {
            deps.push(plural(
                extended,
                "dependency given features",
                "dependencies given features",
            ));
        }
        parts.push(format!("Cargo.toml: {}", deps.join(", ")));
    }
    let lead = if dry_run {
        "Dry run, nothing was written. Would do"
    } else {
        "Done"
    };
    format!("\n{lead}: {}{attention}.\n", parts.join("; "))
}

/// The wiring for user files left alone, and the units' notes.
pub(crate) fn next_steps(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.wiring.is_empty() {
        out.push_str("\nWire it into your app by hand:\n");
        for (path, text) in &plan.wiring {
            let _ = writeln!(out, "\n  {path}");
            for line in text.trim_end().lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNext steps:\n");
        for (i, note) in plan.notes.iter().enumerate() {
            // A blank line between the units' notes.
            if i > 0 {
                out.push('\n');
            }
            for line in note.trim_end().lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
