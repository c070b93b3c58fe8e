//! The command line. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keeps pgBackRest supplied with fresh Crunchy Bridge backup credentials.
///
/// bridgerest asks the Crunchy Bridge API for short-lived backup tokens and writes them as
/// pgBackRest stanzas (s3, azure, gcs), atomically, so every pgbackrest run on this host finds
/// valid credentials.
#[derive(Debug, Parser)]
#[command(
    name = "bridgerest",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Configuration file [default: /etc/bridgerest/bridgerest.toml].
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "BRIDGEREST_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug); BRIDGEREST_LOG=<filter> overrides.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Refresh every configured cluster's credentials once, then exit.
    ///
    /// Prints one line per cluster (stanza, store type, ok or the error). Clusters that fail
    /// keep their previous stanza. Exit code 0 only if every cluster was refreshed; 3 if some
    /// were and others failed.
    Refresh,
    /// Print what `refresh` would write, without writing it.
    Render(RenderArgs),
    /// List the clusters the API key can see.
    Clusters(ListArgs),
    /// List a cluster's backups (every page).
    Backups(BackupsArgs),
    /// Check the configuration, the API key, the output directory and pgBackRest.
    ///
    /// Each problem is printed on its own line with what to do. Exit code 0 only if all pass.
    Check,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Print the credentials instead of [redacted].
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the API's JSON objects (every page) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupsArgs {
    /// The cluster's ID (see `bridgerest clusters`).
    pub cluster: String,
    /// Print the API's JSON objects (every page) instead of a table.
    #[arg(long)]
    pub json: bool,
}
