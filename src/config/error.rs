//! Why a config, or a secret it points at, cannot be used.

use std::path::PathBuf;

use super::KeySource;

/// Why a config (or a secret it points at) cannot be used. Every variant is a usage error:
/// nothing was attempted, and the message names the file or key at fault and what to do.
/// Each message is whole (the cause included, no `source()` chain), so `{e}` shows it all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read config file {}: create it (see config/bridgerest.toml) or pass --config: {err}", .path.display())]
    Read { path: PathBuf, err: std::io::Error },
    /// Not TOML, or not the model (unknown key, wrong type): `at` is `:line:col` if known.
    #[error("{}{at}: {message}", .path.display())]
    Syntax {
        path: PathBuf,
        at: String,
        message: String,
    },
    #[error("invalid config {}: {why}", .path.display())]
    Invalid { path: PathBuf, why: Invalid },
    /// A secret's file cannot be read (`from`: where it was looked for).
    #[error("cannot read {what} from {from}: create it with {get_one}, mode 0600: {err}")]
    SecretUnreadable {
        what: &'static str,
        from: KeySource,
        get_one: &'static str,
        err: std::io::Error,
    },
    /// A secret is missing, empty or not one word.
    #[error(transparent)]
    Secret(Invalid),
}

/// What is wrong with one setting: the message names the key, its value when that is no
/// secret, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);
