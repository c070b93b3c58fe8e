//! bridgerest keeps pgBackRest supplied with fresh backup credentials, restores from them, and
//! proves with drills that the backups come back; for providers without credentials it
//! restores at the provider.
//!
//! The layers, from the ground up; each imports only from the layers below it (no circles):
//! 1. Ground: [`text`] (excerpts, sizes, tables), [`when`] (targets and times), [`ids`] (the
//!    names and ids accepted), [`redact`] (the one redactor), [`exit`], [`backoff`],
//!    [`notify`] (systemd), [`narrate`] (how an operation says what it does, passed in),
//!    [`shutdown`] (shutdown as a value passed in).
//! 2. [`fsutil`] (atomic writes, bounded reads, anchored directories, locks) and [`runas`]
//!    (the run-as user, children's environment, the one builder of child processes), and
//!    [`objstore`] (the buckets bridgerest itself reads and writes: drill reports).
//! 3. [`provider`]: one [`provider::Provider`] trait, [`provider::Capabilities`], a folder
//!    per provider (`bridge/`, `ionos/`, `launcher/`) with its wire format, error bodies and
//!    page rule, the shared HTTP transport and the one paginator ([`provider::pages`]); its
//!    own settings type.
//! 4. [`render`] (tokens → `pgbackrest.conf` text, secrets typed) and [`pgbackrest`] (its
//!    config files, the children that run it, `verify`).
//! 5. [`config`]: the TOML, loaded and validated (one file per section).
//! 6. [`clients`]: a provider's client from its config section.
//! 7. [`refresh`], [`wal`] (the archived WAL's end, the WAL-gap analysis), [`recovery`]
//!    (starting and following a restored PostgreSQL), [`lifecycle`] (the record of clusters
//!    bridgerest created, deleting a cluster, a backup on request).
//! 8. [`restore`] (here, or at the provider; it takes a [`restore::Request`]), then
//!    [`drill`] (restore drills), then [`schedule`] (the daemon's loop, its runtime in
//!    [`schedule::daemon`], the status file's one writer [`schedule::Writer`]).
//! 9. [`cli`] (the clap definitions; doc comments are the `--help` text), then [`commands`]
//!    (one file per subcommand: the only layer that knows the command line).
//!
//! Errors: a module's failures that decide something are a `thiserror` enum of that module
//! ([`refresh::ClusterError`]: the kind of failure; [`restore::Error`], [`clients::Error`],
//! [`config::Error`], [`provider::CallError`], [`drill::Error`], [`schedule::daemon::Error`]:
//! the exit code, read once by
//! [`commands::exit_code`]; [`fsutil::Error`], [`pgbackrest::Error`], [`wal::Error`],
//! [`recovery::Error`], [`refresh::Error`]: what went wrong, carried up as variants). Each
//! message is whole. `anyhow` is used only in [`commands`] and the `main`s.
//!
//! [`sim`] (feature `sim`, on by default: the tests, the benchmarks and the README's quick
//! start use it) simulates the providers' APIs; only the tests and `bridgerest-sim` use it.

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
pub mod lifecycle;
pub mod narrate;
pub mod notify;
pub mod objstore;
pub mod pgbackrest;
pub mod provider;
pub mod recovery;
pub mod redact;
pub mod refresh;
pub mod render;
pub mod restore;
pub mod runas;
pub mod schedule;
pub mod shutdown;
#[cfg(feature = "sim")]
pub mod sim;
pub mod text;
pub mod wal;
pub mod when;

/// Installs the process-wide TLS crypto provider (ring). Safe to call more than once.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
