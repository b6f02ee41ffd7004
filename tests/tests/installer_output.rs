//! The printed output of the default install is deterministic: it is compared with a golden
//! file. `SIGRA_BLESS=1 cargo test -p sigra-tests --test installer_output` rewrites the file
//! after an intended change (review its diff).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sigra_tests::installer::{self, REFERENCE_ARGS, Scratch};
use sigra_tests::workspace_root;

fn check_golden(name: &str, actual: &str) {
    let path = workspace_root()
        .join("tests/tests/installer_golden")
        .join(name);
    if std::env::var("SIGRA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with SIGRA_BLESS=1)", path.display()));
    assert!(
        expected == actual,
        "the installer's output differs from {} (SIGRA_BLESS=1 rewrites it):\n{}",
        path.display(),
        installer::unified_diff(&expected, actual, 3)
    );
}

#[test]
fn the_default_install_prints_the_golden_plan_and_next_steps() {
    let scratch = Scratch::new("golden");
    let app = installer::reference_app(scratch.path());
    let first = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    assert_eq!(first.stderr, "");
    check_golden("default_install.txt", &first.stdout);

    let second = installer::run_cargo_sigra(&app, REFERENCE_ARGS).assert_success();
    check_golden("default_install_again.txt", &second.stdout);
}

#[test]
fn the_output_is_the_same_on_every_run() {
    let scratch = Scratch::new("golden-repeat");
    let outputs: Vec<String> = ["a", "b"]
        .iter()
        .map(|dir| {
            let app = installer::reference_app(&scratch.path().join(dir));
            installer::run_cargo_sigra(&app, &[REFERENCE_ARGS, &["--dry-run"]].concat())
                .assert_success()
                .stdout
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
}
