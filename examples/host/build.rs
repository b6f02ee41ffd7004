//! Rebuilds the app when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations in the binary at build time.

fn main() {
    println!("cargo::rerun-if-changed=migrations");
}
