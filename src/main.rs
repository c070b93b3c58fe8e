//! The `bridgerest` binary: parse the command line, set up logging, run the command, print
//! its error once, and exit with its code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use bridgerest::cli::{Cli, Command};
use bridgerest::exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A restore is long: say what it does (attempts, refreshes, progress) without -v.
    let restore = matches!(cli.command, Command::Restore(_));
    let daemon = matches!(cli.command, Command::Daemon);
    init_logging(cli.verbose + u8::from(restore), daemon);
    bridgerest::init_tls();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    match rt.block_on(bridgerest::commands::run(cli)) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            bridgerest::commands::exit_code(&err).into()
        }
    }
}

/// Without -v, the daemon says what happens (start, reload, stop, each change of a cluster's
/// state) and no more: not a line per retry or per request retried, nor its libraries' chatter.
const DAEMON_LOG: &str = "warn,bridgerest::schedule=info,bridgerest::provider::http=error";

fn init_logging(verbose: u8, daemon: bool) {
    let default = match verbose {
        0 if daemon => DAEMON_LOG,
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("BRIDGEREST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
