//! The `bridgerest` binary: parse the command line, set up logging, run the command, print
//! its error once, and exit with its code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use bridgerest::cli::{Cli, Command};
use bridgerest::exit::Exit;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == bridgerest::cli::COMPLETE_IDS)
    {
        // For a shell's completion: any problem is no ids, never a message.
        let config = match args.get(2).and_then(|a| a.to_str()) {
            Some("--config" | "-c") => args.get(3).map(std::path::PathBuf::from),
            _ => None,
        };
        for id in bridgerest::cli::complete_ids(config) {
            println!("{id}");
        }
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse_from(args);
    // A restore is long: say what it does (attempts, refreshes, progress) without -v.
    let restore = matches!(cli.command, Command::Restore(_));
    let daemon = matches!(cli.command, Command::Daemon);
    init_logging(cli.verbose.max(u8::from(restore)), daemon);
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
/// state) and no more: not a line per retry or per request retried, nor its libraries' chatter
/// (tokio-cron-scheduler's `Uninited`).
const DAEMON_LOG: &str = "warn,bridgerest::schedule=info,bridgerest::provider::http=error";

/// As `--help` says: bridgerest's own log at warn (the daemon: [`DAEMON_LOG`]), info (-v) or
/// debug (-vv), other libraries' at warn; `BRIDGEREST_LOG` instead when it is set (a bad one is
/// said, not ignored).
fn init_logging(verbose: u8, daemon: bool) {
    let default = match verbose {
        0 if daemon => DAEMON_LOG,
        0 => "warn",
        1 => "warn,bridgerest=info",
        _ => "warn,bridgerest=debug",
    };
    let filter = match std::env::var("BRIDGEREST_LOG") {
        Ok(v) if !v.trim().is_empty() => EnvFilter::try_new(&v).unwrap_or_else(|e| {
            eprintln!("warning: BRIDGEREST_LOG={v:?} is not a log filter ({e}); using {default}: e.g. BRIDGEREST_LOG=debug or bridgerest=debug");
            EnvFilter::new(default)
        }),
        _ => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
