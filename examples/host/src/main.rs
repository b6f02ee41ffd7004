//! sigra-example-host: the entry point.
//!
//! Configuration comes from the environment:
//!
//! - `DATABASE_URL`: the database (see [`db::url_from_env`])
//! - `LISTEN_ADDR`: the address to serve on, such as `0.0.0.0:8080` (default: `127.0.0.1:$PORT`)
//! - `PORT`: the port when `LISTEN_ADDR` is not set (default: 4000)
//! - `RUST_LOG`: what to log (default: `info`)

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use sigra_example_host::{db, web};
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
    let database_url = db::url_from_env()?;
    let db = db::connect(&database_url).await?;
    db::MIGRATOR.run(&db).await?;

    let listener = tokio::net::TcpListener::bind(listen_addr()?).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, web::router(web::AppState { db }))
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
