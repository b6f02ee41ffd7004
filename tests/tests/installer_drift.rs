//! `examples/host` is exactly what `cargo sigra install Accounts User users` writes into a
//! fresh `cargo new sigra-example-host` app: regenerate it in a scratch directory and compare
//! every file byte for byte (ignoring target/, Cargo.lock and the SQLite database).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sigra_tests::installer::{self, REFERENCE_ARGS, REGENERATE, Scratch};
use sigra_tests::workspace_root;

#[test]
fn examples_host_is_exactly_what_the_installer_generates() {
    let scratch = Scratch::new("drift");
    let app = installer::reference_app(scratch.path());
    installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();

    let generated = installer::tree(&app);
    let committed = installer::tree(&workspace_root().join("examples/host"));
    if let Some(difference) =
        installer::compare_trees("examples/host", &committed, "generated", &generated)
    {
        panic!(
            "examples/host has drifted from what the installer generates.\n\
             Regenerate it with `{REGENERATE}` (it runs `cargo-sigra {}` in a fresh \
             `cargo new --vcs none --name sigra-example-host` app) and review the diff.\n\n{difference}",
            REFERENCE_ARGS.join(" ")
        );
    }
}
