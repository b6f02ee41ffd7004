//! Serves the app.
//!
//! | variable | default |
//! |---|---|
//! | `DATABASE_URL` | `sqlite://<crate name>.sqlite3` (created if missing) |
//! | `PORT` | `4000` |
//! | `LISTEN_ADDR` | `127.0.0.1:<PORT>` |
//! | `APP_URL` | `http://localhost:<PORT>` (links in mails) |
//! | `SIGRA_SECRET_KEY_BASE` | none: dev mode with a random key per process |
//! | `SIGRA_DEV_MODE` | `false` (`true` allows cookies over plain HTTP) |
//! | `SMTP_URL`, `MAIL_FROM` | unset: mail goes to the dev mailbox at `/dev/mailbox` (dev mode only) |
//! | `RUST_LOG` | `info` |

use std::net::SocketAddr;
use std::process::ExitCode;

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
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number, not {port:?}"))?,
        Err(_) => 4000,
    };
    let addr: SocketAddr = match std::env::var("LISTEN_ADDR") {
        Ok(addr) => addr
            .parse()
            .map_err(|_| format!("LISTEN_ADDR must look like 127.0.0.1:4000, not {addr:?}"))?,
        Err(_) => SocketAddr::from(([127, 0, 0, 1], port)),
    };

    let settings = host_app::Settings::from_env(port)?;
    let state = host_app::build_state(settings).await?;
    let app = host_app::app(state);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    if let Err(err) = tokio::signal::ctrl_c().await {
        tracing::error!("cannot listen for Ctrl-C: {err}");
        std::future::pending::<()>().await;
    }
    tracing::info!("shutting down");
}
