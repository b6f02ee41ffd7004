//! `cargo sigra`: install and maintain Sigra authentication in an Axum app.
//!
//! Cargo runs `cargo-sigra sigra <args>` for `cargo sigra <args>`; the binary also accepts
//! being run directly as `cargo-sigra <args>`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Cargo's wrapper: `cargo sigra ...` arrives as `cargo-sigra sigra ...`.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", version, styles = clap::builder::Styles::default())]
enum CargoCli {
    /// Install and maintain Sigra authentication in an Axum app.
    Sigra(SigraArgs),
}

/// Install and maintain Sigra authentication in an Axum app.
#[derive(Debug, clap::Args)]
#[command(version, about, long_about = None)]
struct SigraArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a fresh secret key base (64 random bytes, base64url) for SIGRA_SECRET_KEY_BASE.
    GenSecret,
}

fn main() -> ExitCode {
    // Accept both `cargo sigra ...` (argv[1] == "sigra") and a direct `cargo-sigra ...`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).map(|a| a != "sigra").unwrap_or(true) {
        args.insert(1, "sigra".into());
    }
    let CargoCli::Sigra(cli) = CargoCli::parse_from(args);
    match cli.command {
        Command::GenSecret => match sigra_core::keys::SecretKeyBase::generate() {
            Ok(key) => {
                println!("{}", key.to_base64url());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        },
    }
}
