//! sigra-example-host: serves the app, and runs its background jobs (sending mail, pruning) beside it.
//!
//! | variable | default |
//! |---|---|
//! | `DATABASE_URL` | see [`db::url_from_env`] |
//! | `PORT` | `4000` |
//! | `LISTEN_ADDR` | `127.0.0.1:<PORT>` |
//! | `APP_URL` | `http://localhost:<PORT>` (links in mails) |
//! | `SIGRA_SECRET_KEY_BASE` | none: dev mode with a random key per process |
//! | `SIGRA_DEV_MODE` | `false` (`true` allows cookies over plain HTTP) |
//! | `SMTP_URL`, `MAIL_FROM` | unset: mail stays in the outbox, shown at `/dev/mailbox` (dev mode only) |
//! | `SIGRA_JOBS_MAX_ATTEMPTS` | `10` tries before a mail is dead |
//! | `SIGRA_JOBS_RETRY_BASE`, `SIGRA_JOBS_RETRY_MAX` | `30s`, `1h`: the delay after a failure, doubling up to the maximum |
//! | `SIGRA_JOBS_CONCURRENCY` | `4` jobs at once per app instance |
//! | `SIGRA_JOBS_KEEP_DONE`, `SIGRA_JOBS_KEEP_DEAD` | `7d`, `30d`: how long sent and dead mails are listed |
//! | `SIGRA_JOBS_SHUTDOWN_GRACE` | `10s` for jobs to finish at shutdown (then they are released to run again) |
//! | `SIGRA_JOBS_POLL_INTERVAL`, `SIGRA_JOBS_LEASE` | `2s`, `60s` |
//! | `RUST_LOG` | `info` (`warn` for the `outbox` commands) |
//!
//! | command | |
//! |---|---|
//! | `cargo run` | serves the app until SIGTERM or Ctrl-C |
//! | `cargo run -- outbox list [--dead]` | the latest mails and where each stands (only the dead ones) |
//! | `cargo run -- outbox retry <ID>` | sends a dead or retrying mail again now |
//! | `cargo run -- outbox retry-dead` | sends every dead mail again now |

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use sigra_example_host::cli::{Command, OutboxCommand, USAGE};
use sigra_example_host::{app, db, web};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let command = match Command::from_env() {
        Ok(command) => command,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Serve => {
            tracing_subscriber::fmt()
                .with_env_filter(log_filter("info"))
                .init();
            match serve().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!("{err}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Outbox(command) => {
            // The output is the table: logs go to stderr.
            tracing_subscriber::fmt()
                .with_env_filter(log_filter("warn"))
                .with_writer(std::io::stderr)
                .init();
            match outbox(command).await {
                Ok(output) => {
                    println!("{output}");
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `RUST_LOG`, else `default`.
fn log_filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// The app's state, from the environment, on its migrated database.
async fn state() -> Result<app::AppState, Box<dyn std::error::Error>> {
    let settings = app::Settings::from_env(listen_addr()?.port())?;
    let db = app::connect(&db::url_from_env()?).await?;
    Ok(app::build_state(db, settings)?)
}

/// Serves the app, with the job worker beside it, until SIGTERM or Ctrl-C; then lets the
/// requests in flight finish, and the jobs running within `SIGRA_JOBS_SHUTDOWN_GRACE` (the
/// rest are released, to run again at the next start or on another instance).
async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let addr = listen_addr()?;
    let state = state().await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| format!("cannot listen on {addr}: {err}"))?;

    // Each waits for the signal on its own: a signal reaches every listener.
    let worker = tokio::spawn(app::worker(&state).run(shutdown_signal()));
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing the requests and jobs in flight");
    })
    .await?;
    worker.await?;
    Ok(())
}

/// Runs an `outbox` command; returns what to print.
async fn outbox(command: OutboxCommand) -> Result<String, Box<dyn std::error::Error>> {
    let state = state().await?;
    Ok(command.run(&state).await?)
}

/// `LISTEN_ADDR` if set, else `127.0.0.1:$PORT` (port 4000 when `PORT` is not set).
fn listen_addr() -> Result<SocketAddr, String> {
    if let Ok(addr) = std::env::var("LISTEN_ADDR") {
        return addr.parse().map_err(|err| {
            format!("LISTEN_ADDR={addr:?} is not an address such as 127.0.0.1:4000: {err}")
        });
    }
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|err| format!("PORT={port:?} is not a port number: {err}"))?,
        Err(_) => 4000,
    };
    Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// Resolves on SIGTERM (how a container or a service manager stops the app) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
