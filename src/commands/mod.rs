//! One thin file per subcommand. Each returns the exit code; errors go up to `main`, which
//! prints them once.

pub mod backup;
pub mod backups;
pub mod check;
pub mod clusters;
pub mod credential;
pub mod daemon;
pub mod destroy;
pub mod drill;
pub mod drills;
pub mod refresh;
pub mod render;
pub mod restore;
pub mod status;

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::{self, Config};
use crate::exit::Exit;

pub async fn run(cli: Cli) -> Result<Exit> {
    let explicit = cli.config.is_some();
    let path = cli
        .config
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG_PATH));
    match cli.command {
        Command::Refresh(a) => refresh::run(&load_with_written_clusters(&path)?, a.json).await,
        Command::Render(a) => render::run(&load_with_written_clusters(&path)?, a).await,
        Command::Clusters(a) => clusters::run(&load_or_default(&path, explicit)?, a).await,
        Command::Backups(a) => backups::run(&load_or_default(&path, explicit)?, a).await,
        Command::Restore(a) => restore::run(&load(&path)?, a).await,
        Command::Backup(a) => backup::run(&load_or_default(&path, explicit)?, a).await,
        Command::Destroy(a) => destroy::run(&load_or_default(&path, explicit)?, a).await,
        Command::Drill(a) => drill::run(&load(&path)?, a).await,
        Command::Drills(a) => drills::run(&load(&path)?, a).await,
        Command::CredentialProcess(a) => credential::run(&load(&path)?, a).await,
        Command::Daemon => daemon::run(&path).await,
        Command::Status(a) => status::run(&load(&path)?, a),
        Command::Check(args) => check::run(&path, !args.no_repository, args.json).await,
        Command::Version => {
            println!("bridgerest {}", env!("BRIDGEREST_VERSION"));
            Ok(Exit::Success)
        }

        Command::Completions(a) => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&crate::cli::completions(a.shell))
                .map_err(anyhow::Error::from)?;
            Ok(Exit::Success)
        }
    }
}

/// The exit code an error chain asks for: that of the first error in it that knows one (a
/// domain module's error: its variant decides; a tagged [`ExitError`]); 1 when
/// none does. A domain error's `exit` answers for what it wraps (a drill refused as a restore).
pub fn exit_code(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| {
            if let Some(e) = e.downcast_ref::<crate::drill::Error>() {
                return Some(e.exit());
            }
            if let Some(e) = e.downcast_ref::<crate::schedule::daemon::Error>() {
                return Some(e.exit());
            }
            if let Some(e) = e.downcast_ref::<crate::restore::Error>() {
                return Some(e.exit());
            }
            if let Some(e) = e.downcast_ref::<crate::lifecycle::Error>() {
                return Some(e.exit());
            }
            if let Some(e) = e.downcast_ref::<crate::clients::Error>() {
                return Some(e.exit());
            }
            if e.is::<crate::config::Error>() || e.is::<crate::provider::BadId>() {
                return Some(Exit::Usage);
            }
            e.downcast_ref::<ExitError>().map(|t| t.code)
        })
        .unwrap_or(Exit::Failure)
}

/// Loads and validates the config; any problem is a usage error (exit 2).
pub fn load(path: &std::path::Path) -> Result<Config> {
    Ok(config::load(path)?)
}

/// Like [`load`], for commands that act on the configured clusters: none is a usage error.
pub fn load_with_clusters(path: &std::path::Path) -> Result<Config> {
    let cfg = load(path)?;
    if cfg.all_clusters().is_empty() {
        return Err(usage(anyhow::anyhow!(
            "{} lists no [[cluster]]: add one per cluster (see {}; `bridgerest clusters` lists their ids)",
            path.display(),
            config::EXAMPLE_CONFIG
        )));
    }
    Ok(cfg)
}

/// Like [`load_with_clusters`], for commands that write stanzas: a cluster whose provider hands
/// out repository credentials, or a repository configured in `[cluster.options]`.
pub fn load_with_written_clusters(path: &std::path::Path) -> Result<Config> {
    let cfg = load_with_clusters(path)?;
    if cfg.written().is_empty() {
        return Err(usage(anyhow::anyhow!(
            "{} lists no Crunchy Bridge [[cluster]]: only Bridge hands out repository credentials to write (its IONOS and Launcher clusters restore at the provider: `bridgerest restore --into`), and no provider = \"pgbackrest\" cluster has [cluster.options] for bridgerest to write its stanza from",
            path.display()
        )));
    }
    Ok(cfg)
}

/// The Crunchy Bridge client, when the config lists a cluster whose token it fetches.
pub fn token_client(cfg: &Config) -> Result<Option<crate::provider::Client>> {
    match cfg.clusters.is_empty() {
        true => Ok(None),
        false => Ok(Some(client(cfg)?)),
    }
}

/// Like [`load`], but commands that need no cluster list work without a config file when
/// none was asked for (the API key then comes from the environment or a systemd credential).
fn load_or_default(path: &std::path::Path, explicit: bool) -> Result<Config> {
    if !explicit && !path.exists() {
        return config::parse("", path).map_err(usage);
    }
    load(path)
}

pub use crate::clients::{client, client_for, provider_for, providers_listed};

/// The terminal, as the one place below `main` that writes to it: an operation's account on
/// stdout (unless `stdout` is off: the command prints JSON there), notes and status lines on
/// stderr, a status line redrawn in place when stderr is a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    pub stdout: bool,
}

impl Terminal {
    pub fn narrate(stdout: bool) -> crate::narrate::Narrate {
        std::sync::Arc::new(Terminal { stdout })
    }
}

impl crate::narrate::Narrator for Terminal {
    fn say(&self, line: &str) {
        if self.stdout {
            println!("{line}");
        }
    }
    fn note(&self, line: &str) {
        eprintln!("{line}");
    }
    fn live(&self) -> bool {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    }
    fn status(&self, line: &str) {
        use std::io::Write;
        eprint!("\r{line} \x1b[K");
        let _ = std::io::stderr().flush();
    }
    fn end_status(&self) {
        if self.live() {
            eprintln!();
        }
    }
}

/// An error that carries the exit code it should end the process with.
#[derive(Debug, thiserror::Error)]
#[error("{inner:#}")]
pub struct ExitError {
    pub code: Exit,
    pub inner: anyhow::Error,
}

/// Marks an error as a usage/configuration error (exit code 2).
pub fn usage(source: impl Into<anyhow::Error>) -> anyhow::Error {
    ExitError {
        code: Exit::Usage,
        inner: source.into(),
    }
    .into()
}
