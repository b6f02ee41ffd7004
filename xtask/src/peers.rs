//! Everything the suite talks to besides sigra-core: the Python peers, a PostgreSQL server, and
//! the browser (Node.js, Chromium, the npm project in `tests/e2e`).
//!
//! Missing Debian packages are installed in one `apt-get install` when xtask runs as root;
//! otherwise it stops with the exact command. Every part keeps a stamp, so a second run only
//! checks (well under a second).

use std::path::{Path, PathBuf};

use crate::browser::{self, Browser};
use crate::postgres::{self, Server};
use crate::python;
use crate::sys::{Failure, Step, apt_command, apt_install, can_apt, say, timed};

/// The provisioned peers.
pub(crate) struct Peers {
    python: PathBuf,
    postgres: Server,
    browser: Browser,
}

impl Peers {
    /// Installs what is missing and checks the rest; each part is a timed step.
    pub(crate) fn provision(root: &Path) -> Step<Self> {
        timed(
            "peers: system packages (PostgreSQL, Node.js, npm, Chromium)",
            system_packages,
        )?;
        let python = timed("peers: Python venv (tests/py/requirements.txt)", || {
            python::provision(root)
        })?;
        let postgres = timed("peers: PostgreSQL server", Server::provision)?;
        let browser = timed(
            "peers: browser (Node.js, Chromium, npm ci in tests/e2e)",
            || Browser::provision(root),
        )?;
        Ok(Self {
            python,
            postgres,
            browser,
        })
    }

    /// The PostgreSQL server, to start clusters with.
    pub(crate) fn postgres(&self) -> &Server {
        &self.postgres
    }

    /// Environment for the test run: where the peers are, and that they are required.
    /// (The cluster's URL comes from [`postgres::Cluster::env`].)
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("SIGRA_PYTHON".to_owned(), self.python.display().to_string()),
            ("SIGRA_REQUIRE_PEERS".to_owned(), "1".to_owned()),
        ];
        env.extend(self.browser.env());
        env
    }
}

/// Installs the missing Debian packages in one go (as root), or says which command does.
fn system_packages() -> Step {
    let postgres_missing = postgres::find_bindir().is_none();
    let mut missing: Vec<(&str, &str)> = Vec::new();
    if postgres_missing {
        missing.push((postgres::PACKAGE, "the tests run a throwaway PostgreSQL"));
    }
    missing.extend(browser::missing_packages()?);
    if missing.is_empty() {
        say!("PostgreSQL server, Node.js, npm and Chromium are installed");
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
    let why = missing
        .iter()
        .map(|(p, why)| format!("{p}: {why}"))
        .collect::<Vec<_>>()
        .join("; ");
    if !can_apt() {
        return Err(Failure(format!(
            "missing test peers ({why}); install them with\n    {}",
            apt_command(&packages)
        )));
    }
    let install = || apt_install(&packages, &why);
    if postgres_missing {
        postgres::without_main_cluster(install)
    } else {
        install()
    }
}
