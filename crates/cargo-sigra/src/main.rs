//! `cargo sigra`: install and maintain Sigra authentication in an Axum app.
//!
//! Cargo runs `cargo-sigra sigra <args>` for `cargo sigra <args>`; the binary also accepts
//! being run directly as `cargo-sigra <args>`.

mod install;

use std::io::{BufRead as _, IsTerminal as _, Write};
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
    /// Generate authentication into the app in the current directory.
    ///
    /// Writes plain Rust handlers, SQL migrations and queries, HTML templates and tests that
    /// call into sigra-core. On a fresh `cargo new` app the result runs as is; on an existing
    /// app the dependencies are added to Cargo.toml and the remaining wiring is printed.
    /// Running it again changes nothing; files you changed are left alone unless --force.
    #[command(after_help = "Example: cargo sigra install Accounts User users")]
    Install(InstallArgs),
}

#[derive(Debug, clap::Args)]
struct InstallArgs {
    /// The context module, UpperCamelCase (e.g. Accounts → src/accounts/).
    context: String,
    /// The user type, UpperCamelCase (e.g. User).
    schema: String,
    /// The users table, snake_case (e.g. users).
    table: String,
    /// The database the app uses.
    #[arg(long, value_enum, default_value = "sqlite")]
    database: install::Database,
    /// Use UUID v7 primary keys (the default).
    #[arg(long, overrides_with = "no_binary_id")]
    binary_id: bool,
    /// Use 64-bit integer primary keys instead of UUIDs.
    #[arg(long, overrides_with = "binary_id")]
    no_binary_id: bool,
    /// Generate server-rendered HTML pages (the default).
    #[arg(long, overrides_with = "no_html")]
    html: bool,
    /// Generate JSON endpoints only, no HTML pages.
    #[arg(long, overrides_with = "html")]
    no_html: bool,
    /// Generate passkeys: WebAuthn login and second factor (the default).
    #[arg(long, overrides_with = "no_passkeys")]
    passkeys: bool,
    /// Leave passkeys out: no passkey tables, pages, endpoints or script.
    #[arg(long, overrides_with = "passkeys")]
    no_passkeys: bool,
    /// Print the plan and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Overwrite files that changed since cargo sigra wrote them (never your own main.rs/lib.rs).
    #[arg(long)]
    force: bool,
    /// Do not ask before writing.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Depend on a local Sigra checkout instead of crates.io: its root or its crates/sigra-core,
    /// relative to the app or absolute.
    #[arg(long, value_name = "PATH")]
    sigra_path: Option<String>,
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
        Command::Install(args) => install_command(args),
    }
}

fn install_command(args: InstallArgs) -> ExitCode {
    let options = install::Options {
        context: args.context,
        schema: args.schema,
        table: args.table,
        database: args.database,
        binary_id: !args.no_binary_id,
        html: !args.no_html,
        passkeys: !args.no_passkeys,
        dry_run: args.dry_run,
        force: args.force,
        sigra_path: args.sigra_path,
    };
    let app_dir = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(err) => {
            eprintln!("error: cannot read the current directory: {err}");
            return ExitCode::FAILURE;
        }
    };
    let yes = args.yes;
    let mut confirm = |out: &mut dyn Write| -> bool {
        if yes || !std::io::stdin().is_terminal() {
            return true;
        }
        let _ = write!(out, "\nApply these changes? [Y/n] ");
        let _ = out.flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim(), "" | "y" | "Y" | "yes" | "Yes")
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match install::run(&app_dir, &options, &mut out, &mut confirm) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = out.flush();
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
