//! sigra-example-host: serves the app.
//!
//! | variable | default |
//! |---|---|
//! | `DATABASE_URL` | see [`db::url_from_env`] |
//! | `PORT` | `4000` |
//! | `LISTEN_ADDR` | `127.0.0.1:<PORT>` |
//! | `APP_URL` | `http://localhost:<PORT>` (links in mails) |
//! | `SIGRA_SECRET_KEY_BASE` | none: dev mode with a random key per process |
//! | `SIGRA_DEV_MODE` | `false` (`true` allows cookies over plain HTTP) |
//! | `SMTP_URL`, `MAIL_FROM` | unset: mail goes to the dev mailbox at `/dev/mailbox` (dev mode only) |
//! | `RUST_LOG` | `info` |

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use sigra_example_host::{app, db, web};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr = listen_addr()?;
    let settings = app::Settings::from_env(addr.port())?;
    let db = app::connect(&db::url_from_env()?).await?;
    let state = app::build_state(db, settings)?;
    tokio::spawn(app::prune_expired(state.accounts.clone()));

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| format!("cannot listen on {addr}: {err}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
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

/// Resolves on Ctrl-C, so requests in flight can finish.
async fn shutdown_signal() {
    match tokio::signal::ctrl_c().await {
        Ok(()) => tracing::info!("shutting down"),
        Err(err) => {
            tracing::error!("cannot listen for Ctrl-C, serving until killed: {err}");
            std::future::pending::<()>().await;
        }
    }
}
