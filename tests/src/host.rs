//! The reference host app (`examples/host`) as a real process: started with its own settings,
//! stopped with SIGTERM or killed with SIGKILL, restarted on the same database.
//!
//! The binary is `SIGRA_E2E_HOST_BIN` when set (`cargo xtask test` hands over the one its test
//! build made), else it is built once per test process with cargo (in release mode when the
//! tests are a release build). The browser tests and the outbox tests share it.
//!
//! ```no_run
//! use sigra_tests::host::HostProcess;
//!
//! let db = std::env::temp_dir().join("outbox.sqlite3");
//! let app = HostProcess::start("outbox", &format!("sqlite://{}", db.display()), &[("SMTP_URL", "smtp://127.0.0.1:2525")]);
//! // … drive app.url() with sigra_tests::http::Client …
//! drop(app); // killed; its log kept in target/e2e-artifacts/outbox-server.log
//! ```
// A test helper: a panic here is a failed test with a message saying why.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::workspace_root;

/// The package and binary of the reference host.
pub const HOST_PACKAGE: &str = "sigra-example-host";

/// How long the app may take to answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A secret key base for tests (64 bytes): with it, links and encrypted notices survive a
/// restart, as in production.
pub const TEST_SECRET_KEY_BASE: &str =
    "test-secret-key-base-0123456789abcdef0123456789abcdef0123456789abcdef";

/// The host app's binary: `SIGRA_E2E_HOST_BIN`, or built once per test process with cargo.
pub fn host_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("SIGRA_E2E_HOST_BIN") {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "SIGRA_E2E_HOST_BIN={} is not a file",
                path.display()
            );
            return path;
        }
        build_host_binary()
    })
}

fn build_host_binary() -> PathBuf {
    build_binary(&workspace_root(), HOST_PACKAGE, None)
}

/// Whether the running test binary is a release build (`target/release/deps/<test>`): the
/// host is then built in release mode too.
fn release_build() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let profile_dir = exe.parent()?.parent()?.to_path_buf();
            Some(profile_dir.file_name()? == "release")
        })
        .unwrap_or(false)
}

/// The package name of the PostgreSQL build of the reference host.
pub const POSTGRES_HOST_PACKAGE: &str = "sigra-example-host-pg";

/// The reference host for PostgreSQL: exactly what `cargo sigra install Accounts User users
/// --database postgres` writes into a fresh app (the reference host in `examples/host` is the
/// default, SQLite), built once per test process into the workspace's target directory, so
/// only the generated crate itself compiles. `SIGRA_E2E_PG_HOST_BIN`, when set, is used
/// instead (a build of that app made earlier).
pub fn postgres_host_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("SIGRA_E2E_PG_HOST_BIN") {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "SIGRA_E2E_PG_HOST_BIN={} is not a file",
                path.display()
            );
            return path;
        }
        let scratch = crate::installer::Scratch::new("pg-host");
        let app = crate::installer::cargo_new(scratch.path(), "app", POSTGRES_HOST_PACKAGE);
        let root = workspace_root();
        let sigra_core = root.join("crates/sigra-core");
        crate::installer::run_cargo_sigra(
            &app,
            &[
                "install",
                "Accounts",
                "User",
                "users",
                "--database",
                "postgres",
                "--yes",
                "--sigra-path",
                sigra_core.to_str().expect("a UTF-8 path"),
            ],
        )
        .assert_success();
        // The workspace's lockfile and profiles, so its artifacts are reused.
        std::fs::copy(root.join("Cargo.lock"), app.join("Cargo.lock")).expect("copying Cargo.lock");
        let workspace_toml =
            std::fs::read_to_string(root.join("Cargo.toml")).expect("reading Cargo.toml");
        let profiles = workspace_toml
            .find("\n[profile.")
            .map(|at| &workspace_toml[at..])
            .unwrap_or("");
        let mut app_toml =
            std::fs::read_to_string(app.join("Cargo.toml")).expect("reading the app's Cargo.toml");
        app_toml.push_str(profiles);
        std::fs::write(app.join("Cargo.toml"), app_toml).expect("writing the app's Cargo.toml");
        build_binary(
            &app,
            POSTGRES_HOST_PACKAGE,
            Some(&crate::installer::target_dir()),
        )
    })
}

/// `cargo build --bin <package>` in `dir`; returns the executable cargo reports.
fn build_binary(dir: &Path, package: &str, target_dir: Option<&Path>) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(dir)
        .args([
            "build",
            "--package",
            package,
            "--bin",
            package,
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(target) = target_dir {
        command
            .env("CARGO_TARGET_DIR", target)
            .env_remove("RUSTFLAGS");
    }
    if release_build() {
        command.arg("--release");
    }
    eprintln!("building {package} for the tests (cargo build --bin {package})");
    // Variables `cargo test` sets for this crate would make build scripts rerun.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_BIN_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref())
        {
            command.env_remove(key.as_ref());
        }
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        output.status.success(),
        "`cargo build --bin {package}` failed; its errors are above"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == package)
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo built no `{package}` executable:\n{stdout}"))
}

/// A port nobody listens on right now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a free port")
}

/// The host app running as a child process. Killed on drop; its log is kept in
/// `target/e2e-artifacts/<name>-server.log`.
pub struct HostProcess {
    binary: &'static Path,
    name: String,
    url: String,
    database_url: String,
    env: Vec<(String, String)>,
    child: Option<Child>,
    log: PathBuf,
    /// Every log of this app so far (one per start), so a restart keeps the earlier lines.
    earlier_logs: String,
}

impl HostProcess {
    /// Starts the app on a free port with `DATABASE_URL=database_url`, a fixed
    /// [`TEST_SECRET_KEY_BASE`], dev mode (plain-HTTP cookies) and `env` on top; waits until it
    /// answers. Only these variables reach it (none of the caller's `SIGRA_*`, `SMTP_URL`…).
    pub fn start(name: &str, database_url: &str, env: &[(&str, &str)]) -> Self {
        Self::start_binary(host_binary(), name, database_url, env)
    }

    /// [`start`](Self::start) with another build of the host, such as
    /// [`postgres_host_binary`].
    pub fn start_binary(
        binary: &'static Path,
        name: &str,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let dir = workspace_root().join("target/e2e-artifacts");
        std::fs::create_dir_all(&dir).expect("creating target/e2e-artifacts");
        let mut app = Self {
            binary,
            name: name.to_owned(),
            url: String::new(),
            database_url: database_url.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            child: None,
            log: dir.join(format!("{name}-server.log")),
            earlier_logs: String::new(),
        };
        app.spawn();
        app
    }

    fn spawn(&mut self) {
        let binary = self.binary;
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let url = format!("http://127.0.0.1:{port}");
            let out = File::create(&self.log).expect("creating the server log");
            let mut command = Command::new(binary);
            for (key, _) in std::env::vars_os() {
                let key = key.to_string_lossy();
                if key.starts_with("SIGRA_")
                    || ["DATABASE_URL", "APP_URL", "SMTP_URL", "MAIL_FROM", "PORT"]
                        .contains(&key.as_ref())
                {
                    command.env_remove(key.as_ref());
                }
            }
            command
                .current_dir(workspace_root().join("target"))
                .env("DATABASE_URL", &self.database_url)
                .env("SIGRA_SECRET_KEY_BASE", TEST_SECRET_KEY_BASE)
                .env("SIGRA_DEV_MODE", "true")
                .env("PORT", port.to_string())
                .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
                .env("APP_URL", &url)
                .env("RUST_LOG", "info,sigra::jobs=debug")
                .env("NO_COLOR", "1")
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("cloning the log handle"))
                .stderr(out);
            let mut child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            match wait_until_ready(&mut child, &url) {
                Ok(()) => {
                    self.url = url;
                    self.child = Some(child);
                    return;
                }
                Err(failure) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_failure = format!("{failure}; its log:\n{}", read(&self.log));
                    if !last_failure.contains("in use") {
                        break;
                    }
                }
            }
        }
        panic!("the host app `{}` did not start: {last_failure}", self.name);
    }

    /// Where it is served: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills it with SIGKILL (no shutdown at all) and waits for it to die.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.keep_log();
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for it to exit; returns whether it did.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let started = Instant::now();
        let exited = loop {
            if let Ok(Some(_)) = child.try_wait() {
                break true;
            }
            if started.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.keep_log();
        exited
    }

    /// Starts it again on the same database and settings (after [`kill`](Self::kill) or
    /// [`terminate`](Self::terminate)), on a new port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Everything it logged, across restarts.
    pub fn log_text(&self) -> String {
        let current = if self.child.is_some() {
            read(&self.log)
        } else {
            String::new()
        };
        format!("{}{current}", self.earlier_logs)
    }

    fn keep_log(&mut self) {
        let text = read(&self.log);
        self.earlier_logs.push_str(&text);
        let _ = std::fs::write(&self.log, &self.earlier_logs);
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

/// Waits for `GET /health` to answer; `Err` if the process exits or the time runs out.
fn wait_until_ready(child: &mut Child, url: &str) -> Result<(), String> {
    let started = Instant::now();
    let addr = url.trim_start_matches("http://");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!("it exited ({status})"));
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            return Err(format!("no answer on {url} within {STARTUP_TIMEOUT:?}"));
        }
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(stream, "GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
