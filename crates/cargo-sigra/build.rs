//! Embeds the installer's templates in the binary, so `cargo install cargo-sigra` needs no
//! checkout.
//!
//! The templates live in the repository's top-level `templates/` directory. A published crate
//! cannot reach outside its own directory, so publishing copies them to
//! `crates/cargo-sigra/templates/` first (see MAINTAINING.md); when that copy exists it wins.
//!
//! The output is `$OUT_DIR/templates.rs`: a sorted table of `(path, include_str!(..))` pairs,
//! paths relative to the templates directory with `/` separators. `README.md` files are
//! documentation, not templates, and are left out.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let packaged = crate_dir.join("templates");
    let root = if packaged.is_dir() {
        packaged
    } else {
        crate_dir.join("../../templates")
    };
    println!("cargo::rerun-if-changed={}", root.display());
    if !root.is_dir() {
        return Err(format!(
            "the installer templates are missing: expected a directory at {}",
            root.display()
        )
        .into());
    }
    let root = root.canonicalize()?;

    let mut files = Vec::new();
    collect(&root, &root, &mut files)?;
    files.sort();

    let mut out = String::from(
        "/// Every installer template: (path relative to `templates/`, contents), sorted by path.\n\
         pub(crate) static TEMPLATES: &[(&str, &str)] = &[\n",
    );
    for (relative, absolute) in &files {
        writeln!(out, "    ({relative:?}, include_str!({absolute:?})),")?;
    }
    out.push_str("];\n");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("templates.rs"), out)?;
    Ok(())
}

/// Collects `(relative path with '/', absolute path)` for every file under `dir`.
fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, String)>,
) -> Result<(), Box<dyn Error>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // Documentation and editor leftovers are not templates.
        if name == "README.md"
            || name.ends_with('~')
            || name.ends_with(".swp")
            || name.starts_with(".#")
            || name == ".DS_Store"
        {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let relative = path.strip_prefix(root)?;
        let parts: Vec<&str> = relative
            .components()
            .map(|c| {
                c.as_os_str()
                    .to_str()
                    .ok_or_else(|| format!("template path is not UTF-8: {}", path.display()))
            })
            .collect::<Result<_, _>>()?;
        let absolute = path
            .to_str()
            .ok_or_else(|| format!("template path is not UTF-8: {}", path.display()))?;
        files.push((parts.join("/"), absolute.to_owned()));
    }
    Ok(())
}
