//! A throwaway PostgreSQL cluster for the test run.
//!
//! The server binaries come from the system (Debian: `/usr/lib/postgresql/<major>/bin`, newest
//! first; elsewhere `pg_ctl` on `PATH`; `SIGRA_PG_BINDIR` overrides both). As root, xtask
//! installs Debian's `postgresql` without letting it create the system "main" cluster (which
//! would take port 5432 and start with the machine): it sets `create_main_cluster = false` in
//! `/etc/postgresql-common/createcluster.conf` for the install, then restores the setting.
//!
//! `initdb` refuses to run as root, so as root the cluster runs as the system user `sigra-pg`
//! (created if missing) through `runuser` (or `su`). The data directory is
//! `target/peers/postgres/run-<xtask pid>` (in the temp directory when `sigra-pg` cannot reach the
//! checkout), initialised with `-A trust` for loopback only, listening on 127.0.0.1 at a free
//! port with its Unix socket inside the data directory, and tuned for tests (no fsync). The
//! [`Cluster`] guard stops it and deletes the directory when dropped, also when a step failed;
//! directories left by a killed run are cleaned up by the next one.
//!
//! `cargo xtask env` starts a longer-lived "dev" cluster in `target/peers/postgres/dev` instead,
//! reused while it runs, stopped by `cargo xtask pg-stop`.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::sys::{
    Failure, Step, apt_install, first_line, is_executable, is_root, run, run_captured, say,
    shell_quote, succeeds, which,
};

/// The system user the cluster runs as when xtask runs as root.
pub(crate) const PG_USER: &str = "sigra-pg";
/// The Debian package with the server.
pub(crate) const PACKAGE: &str = "postgresql";
/// The superuser `initdb` creates; tests connect as it.
const SUPERUSER: &str = "postgres";
const CREATECLUSTER_CONF: &str = "/etc/postgresql-common/createcluster.conf";
/// `sun_path` holds 108 bytes with the final NUL.
const MAX_SOCKET_PATH: usize = 107;

/// The directory holding `initdb` and `pg_ctl`, if the server is installed.
pub(crate) fn find_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SIGRA_PG_BINDIR").map(PathBuf::from) {
        return has_server(&dir).then_some(dir);
    }
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin)| bin);
    debian.or_else(|| {
        let dir = which("pg_ctl")?.parent()?.to_path_buf();
        has_server(&dir).then_some(dir)
    })
}

fn has_server(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"))
}

/// Runs `install` (an apt-get install that includes [`PACKAGE`]) so that Debian does not create
/// and start its own "main" cluster.
pub(crate) fn without_main_cluster(install: impl FnOnce() -> Step) -> Step {
    apt_install(
        &["postgresql-common"],
        "its createcluster.conf must say not to create a system cluster",
    )?;
    let before = first_line(
        "pg_conftool",
        &[CREATECLUSTER_CONF, "show", "-bs", "create_main_cluster"],
    );
    run(Command::new("pg_conftool").args([
        CREATECLUSTER_CONF,
        "set",
        "create_main_cluster",
        "false",
    ]))?;
    let installed = install();
    let restored = match &before {
        Some(value) => succeeds(Command::new("pg_conftool").args([
            CREATECLUSTER_CONF,
            "set",
            "create_main_cluster",
            value,
        ])),
        None => succeeds(Command::new("pg_conftool").args([
            CREATECLUSTER_CONF,
            "remove",
            "create_main_cluster",
        ])),
    };
    if !restored {
        say!("note: could not restore create_main_cluster in {CREATECLUSTER_CONF}");
    }
    installed
}

/// The installed server and the user it runs as.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    bindir: PathBuf,
    /// `Some(PG_USER)` when we are root; `None` runs as ourselves.
    user: Option<String>,
}

impl Server {
    /// Finds the binaries (installed by then) and, as root, makes sure `sigra-pg` exists.
    pub(crate) fn provision() -> Step<Self> {
        let bindir = find_bindir().ok_or_else(|| {
            Failure::new(
                "the PostgreSQL server (initdb, pg_ctl) is not installed; install it with\n    sudo apt-get install -y postgresql\n(or set SIGRA_PG_BINDIR to the directory holding initdb and pg_ctl)",
            )
        })?;
        let version = first_line(bindir.join("pg_ctl"), &["--version"]).unwrap_or_default();
        say!("PostgreSQL server: {} ({version})", bindir.display());
        let user = if is_root() {
            ensure_user()?;
            Some(PG_USER.to_owned())
        } else {
            None
        };
        Ok(Self { bindir, user })
    }

    /// `psql` beside the server, if there.
    pub(crate) fn psql(&self) -> Option<PathBuf> {
        let psql = self.bindir.join("psql");
        is_executable(&psql).then_some(psql)
    }

    /// A server program run as the cluster's user, from `/` (the user may not reach our cwd).
    fn command(&self, program: &str, args: &[OsString]) -> Command {
        self.as_user(self.bindir.join(program).into_os_string(), args)
    }

    /// Any program run as the cluster's user: through `runuser`, else `su`, when we are root.
    fn as_user(&self, program: OsString, args: &[OsString]) -> Command {
        let mut cmd = match &self.user {
            None => {
                let mut cmd = Command::new(program);
                cmd.args(args);
                cmd
            }
            Some(user) if which("runuser").is_some() => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program).args(args);
                cmd
            }
            Some(user) => {
                let line = std::iter::once(&program)
                    .chain(args)
                    .map(|a| shell_quote(&a.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut cmd = Command::new("su");
                cmd.args(["-s", "/bin/sh", user, "-c", &line]);
                cmd
            }
        };
        cmd.current_dir("/").env("LC_ALL", "C");
        cmd
    }

    /// Where the clusters' directories go: `target/peers/postgres`, or a directory in the temp
    /// directory when the cluster's user cannot reach the checkout (a home directory with mode
    /// 700, say).
    fn clusters_dir(&self, root: &Path) -> Step<PathBuf> {
        let preferred = root.join("target/peers/postgres");
        if self.prepare_dir(&preferred)? {
            return Ok(preferred);
        }
        let fallback = std::env::temp_dir().join(format!("sigra-pg-{:016x}", fnv1a(root)));
        say!(
            "{PG_USER} cannot reach {}; the cluster goes to {}",
            preferred.display(),
            fallback.display()
        );
        if self.prepare_dir(&fallback)? {
            Ok(fallback)
        } else {
            Err(Failure(format!(
                "{PG_USER} can write neither {} nor {}",
                preferred.display(),
                fallback.display()
            )))
        }
    }

    /// Creates `dir`, gives it to the cluster's user; whether that user can write it.
    fn prepare_dir(&self, dir: &Path) -> Step<bool> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
        let Some(user) = &self.user else {
            return Ok(true);
        };
        run(Command::new("chown").arg(format!("{user}:")).arg(dir))?;
        // `test -w` fails as well when a parent directory is not searchable for the user.
        Ok(succeeds(
            &mut self.as_user("test".into(), &["-w".into(), dir.into()]),
        ))
    }

    /// Runs `initdb` into a new, empty `data` owned by the cluster's user, then writes the
    /// test configuration.
    fn initdb(&self, data: &Path) -> Step {
        if data.exists() {
            std::fs::remove_dir_all(data)
                .map_err(|e| Failure(format!("cannot remove {}: {e}", data.display())))?;
        }
        std::fs::create_dir(data)
            .map_err(|e| Failure(format!("cannot create {}: {e}", data.display())))?;
        if let Some(user) = &self.user {
            run(Command::new("chown").arg(format!("{user}:")).arg(data))?;
        }
        run_captured(&mut self.command(
            "initdb",
            &[
                "-D".into(),
                data.into(),
                "-U".into(),
                SUPERUSER.into(),
                "-A".into(),
                "trust".into(),
                "-E".into(),
                "UTF8".into(),
                "--locale=C".into(),
                "--no-sync".into(),
            ],
        ))?;
        configure(data)
    }

    /// Starts the cluster in `data` on a free loopback port; returns the port.
    fn start(&self, data: &Path) -> Step<u16> {
        let log = data.join("server.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let started = run_captured(&mut self.command(
                "pg_ctl",
                &[
                    "start".into(),
                    "-D".into(),
                    data.into(),
                    "-l".into(),
                    log.clone().into(),
                    "-w".into(),
                    "-t".into(),
                    "60".into(),
                    "-s".into(),
                    "-o".into(),
                    format!("-p {port}").into(),
                ],
            ));
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            match started {
                Ok(_) if accepts(port) => return Ok(port),
                Ok(_) => {
                    return Err(Failure(format!(
                        "PostgreSQL started but does not accept connections on 127.0.0.1:{port}; its log:\n{}",
                        tail(&log_text)
                    )));
                }
                Err(_) if attempt < 3 && log_text.contains("could not bind") => {
                    say!("port {port} was taken meanwhile; trying another");
                }
                Err(f) => {
                    return Err(Failure(format!(
                        "{}\nPostgreSQL's log ({}):\n{}",
                        f.0,
                        log.display(),
                        tail(&log_text)
                    )));
                }
            }
        }
    }

    /// Stops the cluster in `data`: a fast shutdown (a clean checkpoint, for a cluster that is
    /// kept), immediate if that fails or when `throwaway` (nothing to keep, so no checkpoint).
    fn stop(&self, data: &Path, throwaway: bool) -> Step {
        let stop = |mode: &str| {
            run_captured(&mut self.command(
                "pg_ctl",
                &[
                    "stop".into(),
                    "-D".into(),
                    data.into(),
                    "-m".into(),
                    mode.into(),
                    "-w".into(),
                    "-t".into(),
                    "30".into(),
                    "-s".into(),
                ],
            ))
        };
        if throwaway {
            return stop("immediate").map(|_| ());
        }
        stop("fast").or_else(|_| stop("immediate")).map(|_| ())
    }

    /// Whether a cluster runs in `data`.
    fn is_running(&self, data: &Path) -> bool {
        data.join("postmaster.pid").exists()
            && succeeds(&mut self.command("pg_ctl", &["status".into(), "-D".into(), data.into()]))
    }

    /// Stops and deletes clusters of earlier runs whose xtask process is gone.
    fn clean_stale(&self, clusters: &Path) {
        let Ok(entries) = std::fs::read_dir(clusters) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("run-")) else {
                continue;
            };
            if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
                continue;
            }
            let data = entry.path();
            say!("removing the cluster of an earlier run: {}", data.display());
            if self.is_running(&data) {
                let _ = self.stop(&data, true);
            }
            let _ = std::fs::remove_dir_all(&data);
        }
    }
}

/// Creates the system user `sigra-pg` if missing.
fn ensure_user() -> Step {
    if succeeds(Command::new("id").args(["-u", PG_USER])) {
        return Ok(());
    }
    say!("creating the system user {PG_USER} (initdb refuses to run as root)");
    run(Command::new("useradd").args([
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        PG_USER,
    ]))
    .map_err(|f| {
        Failure(format!(
            "{} (create it with `useradd --system --user-group {PG_USER}`, or run xtask as a non-root user)",
            f.0
        ))
    })
}

/// Appends the test settings to `postgresql.conf` and allows only loopback in `pg_hba.conf`.
fn configure(data: &Path) -> Step {
    // The socket file is `<dir>/.s.PGSQL.<port>`; a longer path disables the socket (tests
    // connect over TCP anyway).
    let socket_dir = data.to_string_lossy();
    let socket_dir = if socket_dir.len() + "/.s.PGSQL.65535".len() <= MAX_SOCKET_PATH {
        socket_dir.replace('\'', "''")
    } else {
        String::new()
    };
    let settings = format!(
        "\n# Sigra test cluster (cargo xtask): loopback only, no durability, quick to throw away.\n\
         listen_addresses = '127.0.0.1'\n\
         unix_socket_directories = '{socket_dir}'\n\
         max_connections = 200\n\
         shared_buffers = 32MB\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n\
         log_min_messages = warning\n\
         log_min_error_statement = panic\n"
    );
    append(&data.join("postgresql.conf"), &settings)?;
    let hba = "# Sigra test cluster: trust, loopback only.\n\
               local all all trust\n\
               host all all 127.0.0.1/32 trust\n";
    std::fs::write(data.join("pg_hba.conf"), hba).map_err(|e| {
        Failure(format!(
            "cannot write pg_hba.conf in {}: {e}",
            data.display()
        ))
    })
}

fn append(path: &Path, text: &str) -> Step {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
}

/// A loopback port nobody listens on right now.
fn free_port() -> Step<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Failure(format!("cannot bind a loopback port: {e}")))
}

fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// FNV-1a of a path: a stable name for the fallback directory of one checkout.
fn fnv1a(path: &Path) -> u64 {
    path.as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// A running cluster. A throwaway one is stopped and deleted when the guard is dropped.
#[derive(Debug)]
pub(crate) struct Cluster {
    server: Server,
    data: PathBuf,
    port: u16,
    throwaway: bool,
    stopped: bool,
}

impl Cluster {
    /// Starts a fresh cluster for one test run.
    pub(crate) fn start_throwaway(server: &Server, root: &Path) -> Step<Self> {
        let clusters = server.clusters_dir(root)?;
        server.clean_stale(&clusters);
        let data = clusters.join(format!("run-{}", std::process::id()));
        server.initdb(&data)?;
        let mut cluster = Self {
            server: server.clone(),
            data,
            port: 0,
            throwaway: true,
            stopped: true,
        };
        // From here on the guard deletes the directory, also if the start fails.
        cluster.port = server.start(&cluster.data)?;
        cluster.stopped = false;
        say!(
            "PostgreSQL listens on 127.0.0.1:{} (data in {})",
            cluster.port,
            cluster.data.display()
        );
        Ok(cluster)
    }

    /// Starts, or finds running, the developer's cluster that `cargo xtask env` points at.
    pub(crate) fn start_dev(server: &Server, root: &Path) -> Step<Self> {
        let data = server.clusters_dir(root)?.join("dev");
        let port = if server.is_running(&data) {
            let port = running_port(&data).ok_or_else(|| {
                Failure(format!(
                    "a cluster runs in {} but its port is unknown; stop it with `cargo xtask pg-stop`",
                    data.display()
                ))
            })?;
            say!("PostgreSQL dev cluster already runs on 127.0.0.1:{port}");
            port
        } else {
            let reused = data.join("PG_VERSION").exists();
            let port = match reused.then(|| server.start(&data)) {
                Some(Ok(port)) => port,
                _ => {
                    server.initdb(&data)?;
                    server.start(&data)?
                }
            };
            say!(
                "PostgreSQL dev cluster started on 127.0.0.1:{port} (data in {}); stop it with `cargo xtask pg-stop`",
                data.display()
            );
            port
        };
        Ok(Self {
            server: server.clone(),
            data,
            port,
            throwaway: false,
            stopped: false,
        })
    }

    /// Stops the developer's cluster and deletes it.
    pub(crate) fn stop_dev(server: &Server, root: &Path) -> Step {
        let data = server.clusters_dir(root)?.join("dev");
        if server.is_running(&data) {
            server.stop(&data, false)?;
            say!("PostgreSQL dev cluster stopped");
        } else {
            say!("no PostgreSQL dev cluster runs");
        }
        if data.exists() {
            std::fs::remove_dir_all(&data)
                .map_err(|e| Failure(format!("cannot remove {}: {e}", data.display())))?;
        }
        Ok(())
    }

    /// The superuser's URL for the `postgres` database.
    pub(crate) fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The variables the tests read.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("SIGRA_TEST_POSTGRES_URL".to_owned(), self.url())];
        if let Some(psql) = self.server.psql() {
            env.push(("SIGRA_PSQL".to_owned(), psql.display().to_string()));
        }
        env
    }

    /// Stops a throwaway cluster and deletes its directory (what dropping the guard does).
    pub(crate) fn stop(mut self) -> Step {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Step {
        if !self.throwaway {
            return Ok(());
        }
        let stopped = if self.stopped {
            Ok(())
        } else {
            say!("stopping PostgreSQL on 127.0.0.1:{}", self.port);
            self.stopped = true;
            self.server.stop(&self.data, true)
        };
        self.throwaway = false;
        let removed = std::fs::remove_dir_all(&self.data)
            .map_err(|e| Failure(format!("cannot remove {}: {e}", self.data.display())));
        stopped.and(removed)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(Failure(msg)) = self.shut_down() {
            say!("{msg}");
        }
    }
}

/// The port in `postmaster.pid` (its fourth line).
fn running_port(data: &Path) -> Option<u16> {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()?
        .lines()
        .nth(3)?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().ok().unwrap_or(0);
        assert_ne!(port, 0);
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
    }

    #[test]
    fn fallback_name_is_stable_per_checkout() {
        assert_eq!(fnv1a(Path::new("/a/b")), fnv1a(Path::new("/a/b")));
        assert_ne!(fnv1a(Path::new("/a/b")), fnv1a(Path::new("/a/c")));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let text: String = (0..100).map(|i| format!("{i}\n")).collect();
        let t = tail(&text);
        assert!(t.starts_with("70\n"));
        assert!(t.ends_with("99"));
        assert_eq!(tail(""), "");
    }
}
