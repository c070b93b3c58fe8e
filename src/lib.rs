//! bridgerest keeps pgBackRest supplied with fresh Crunchy Bridge backup credentials.
//!
//! Module map:
//! - [`backoff`]: the one backoff rule (API retries, the daemon's retries).
//! - [`cli`]: the clap definitions; doc comments are the `--help` text.
//! - [`commands`]: one thin file per subcommand.
//! - [`config`]: the TOML model, loaded and validated into a resolved [`config::Config`].
//! - [`provider`]: what providers hand out (clusters, backups, tokens), failure kinds,
//!   [`provider::Client`] (the one way to a provider), the shared HTTP transport, and the
//!   Crunchy Bridge client.
//! - [`render`]: pure: tokens → `pgbackrest.conf` text; merging with an existing file.
//! - [`refresh`]: one refresh of every configured cluster: fetch, render, lock, write.
//! - [`restore`]: the restore: target and backup choice, data directory checks, the pgbackrest
//!   children, the checks against the source and the repository, the workflow.
//! - [`recovery`]: starting the restored PostgreSQL and following its recovery.
//! - [`drill`]: restore drills: restore, recover, check, report.
//! - [`wal`]: the end of the archived WAL (the last transaction a recovery can reach).
//! - [`schedule`]: the daemon's refresh loop (cron ticks, expiry-driven refreshes, backoff).
//! - [`notify`]: systemd notifications (READY, STATUS, WATCHDOG).
//! - [`redact`]: the one redactor: secrets registered as they are read, hidden from every
//!   text from outside.
//! - [`fsutil`]: atomic writes with mode and owner, safe reads, the advisory lock.
//! - [`pgbackrest`]: finding pgBackRest, its config files, and `pgbackrest info`.
//! - [`sim`]: a simulator of the Crunchy Bridge API, for tests and the quick start (feature
//!   `sim`, on by default).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod backoff;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod config;
pub mod drill;
pub mod exit;
pub mod fsutil;
pub mod ids;
pub mod notify;
pub mod pgbackrest;
pub mod provider;
pub mod recovery;
pub mod redact;
pub mod refresh;
pub mod render;
pub mod restore;
pub mod runas;
pub mod schedule;
#[cfg(feature = "sim")]
pub mod sim;
pub mod text;
pub mod wal;
pub mod when;

/// Installs the process-wide TLS crypto provider (ring). Safe to call more than once.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
