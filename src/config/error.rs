//! Why a config, or a secret it points at, cannot be used.

use std::path::PathBuf;

use super::KeySource;

/// Why a config (or a secret it points at) cannot be used. Every variant is a usage error:
/// nothing was attempted, and the message names the file or key at fault and what to do.
/// Each message is whole (the cause included, no `source()` chain), so `{e}` shows it all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read config file {}: {}", .path.display(), config_unreadable(.err))]
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
    #[error("cannot read {what} from {from}: {}", secret_unreadable(get_one, .err))]
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

/// The example configuration as the Debian package installs it.
pub const EXAMPLE_CONFIG: &str = "/usr/share/doc/bridgerest/bridgerest.toml";

/// "user NAME (uid N)", the user this process runs as, for a permission problem.
pub fn this_user() -> String {
    let uid = nix::unistd::Uid::effective();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => format!("user {} (uid {uid})", u.name),
        _ => format!("uid {uid}"),
    }
}

/// Why the config file could not be read, and what to do: a missing file is not a
/// permission problem.
fn config_unreadable(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => format!(
            "there is no such file: create it (the example: {EXAMPLE_CONFIG}; man 5 bridgerest.toml) or pass --config"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "permission denied to {}: run bridgerest as a user who may read it (the package makes it root:postgres, mode 0640: as root, or `runuser -u postgres -- bridgerest ...`), or change its group or mode",
            this_user()
        ),
        _ => format!("{err}"),
    }
}

/// Why a secret's file could not be read, and what to do.
fn secret_unreadable(get_one: &str, err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            format!("there is no such file: create it with {get_one}, mode 0600")
        }
        std::io::ErrorKind::PermissionDenied => format!(
            "permission denied to {}: make it readable by the user bridgerest runs as (its owner, mode 0600)",
            this_user()
        ),
        _ => format!("{err}"),
    }
}
