//! The clients of the configured providers: each built from its config section with its
//! credentials loaded, and the provider a cluster id belongs to. Above config and provider,
//! below the domain modules (restore, drill, schedule) and the commands that use it.

use crate::config::{self, Config, SecretSpec};
use crate::exit::Exit;
use crate::provider::{BadId, Client, ProviderKind};

/// Why no client for a provider was made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A section, a credential or `--provider` that the request needs is not given (exit 2).
    #[error("{0}")]
    Refused(String),
    /// A secret or the config cannot be used (exit 2).
    #[error(transparent)]
    Config(#[from] config::Error),
    /// The cluster id is not in its provider's format (exit 2).
    #[error(transparent)]
    BadId(#[from] BadId),
    /// The HTTP client cannot be built (exit 1).
    #[error(transparent)]
    Build(#[from] crate::provider::http::BuildError),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Refused(_) | Error::Config(_) | Error::BadId(_) => Exit::Usage,
            Error::Build(_) => Exit::Failure,
        }
    }
}

type Result<T, E = Error> = std::result::Result<T, E>;

/// The Crunchy Bridge client with the configured key; a missing key is a usage error.
pub fn client(cfg: &Config) -> Result<Client> {
    client_for(cfg, ProviderKind::Bridge)
}

/// The client for `provider` with its configured credentials; missing ones are a usage error.
pub fn client_for(cfg: &Config, provider: ProviderKind) -> Result<Client> {
    use crate::provider::{ionos::IonosClient, launcher::LauncherClient};
    match provider {
        ProviderKind::Bridge => {
            let (key, source) = match config::load_api_key(&cfg.api) {
                // Not a key missing from a config that is not there either.
                Err(config::Error::Secret(_))
                    if cfg.api.key_file.is_none()
                        && std::env::var_os(config::API_KEY_ENV).is_none()
                        && !cfg.path.exists() =>
                {
                    return Err(Error::Refused(format!(
                        "no API key, and no config file {} to name its api.key_file: create the config (the example: {}) or pass --config, or set ${}, or LoadCredential=api-key:... in the systemd unit",
                        cfg.path.display(),
                        config::EXAMPLE_CONFIG,
                        config::API_KEY_ENV
                    )));
                }
                r => r?,
            };
            tracing::debug!(%source, "API key loaded");
            Ok(crate::provider::bridge::BridgeClient::client(
                &cfg.api, key,
            )?)
        }
        ProviderKind::Ionos => {
            let Some(creds) = cfg.ionos.credentials() else {
                return Err(Error::Refused(format!(
                    "no IONOS credentials: add [ionos] with username (and password_file, ${} or the systemd credential ionos-password), or token_file, to {}",
                    config::IONOS_PASSWORD_ENV,
                    cfg.path.display()
                )));
            };
            let auth = creds.read(read_secret)?;
            Ok(std::sync::Arc::new(IonosClient::new(
                &cfg.api,
                cfg.ionos.url.clone(),
                auth,
            )?))
        }
        ProviderKind::Launcher => {
            let Some(l) = &cfg.launcher else {
                return Err(Error::Refused(format!(
                    "no [launcher] section in {}: add one with url = \"https://plane.lnchr.cloud/TENANT\" and key_file",
                    cfg.path.display()
                )));
            };
            let auth = l.credentials().read(read_secret)?;
            Ok(std::sync::Arc::new(LauncherClient::new(
                &cfg.api, &l.url, auth,
            )?))
        }
    }
}

/// Reads one secret where its spec says (the environment, a systemd credential, a file).
fn read_secret(spec: &SecretSpec) -> Result<secrecy::SecretString, config::Error> {
    let (secret, source) = config::load_secret(spec)?;
    tracing::debug!(%source, "{} loaded", spec.what);
    Ok(secret)
}

/// The database user of a cluster IONOS makes for `restore --into` (its create request
/// requires `credentials`): `[ionos] db_username` and the password from
/// $BRIDGEREST_IONOS_DB_PASSWORD, the credential ionos-db-password, or `db_password_file`.
pub fn ionos_db_user(cfg: &Config) -> Result<crate::provider::DbUser> {
    let Some(username) = cfg.ionos.db_username.clone() else {
        return Err(Error::Refused(format!(
            "IONOS requires a database user for the new cluster, and returns none of the source's: set [ionos] db_username (and db_password_file, $BRIDGEREST_IONOS_DB_PASSWORD or the systemd credential ionos-db-password) in {}",
            cfg.path.display()
        )));
    };
    let password = read_secret(&cfg.ionos.db_password())?;
    Ok(crate::provider::DbUser { username, password })
}

/// The provider of cluster `id`: `--provider`, else its `[[cluster]]` entry, else its id's
/// shape (an EID is Bridge's; a UUID belongs to whichever of `[ionos]`/`[launcher]` the config
/// has, if just one). Its id must be in the provider's format.
pub fn provider_for(cfg: &Config, id: &str, flag: Option<ProviderKind>) -> Result<ProviderKind> {
    let p =
        match flag.or_else(|| cfg.provider_of(id)) {
            Some(p) => p,
            None if config::is_eid(id) => ProviderKind::Bridge,
            None if crate::ids::is_uuid(id) => {
                match (cfg.ionos.section, cfg.launcher.is_some()) {
                (true, false) => ProviderKind::Ionos,
                (false, true) => ProviderKind::Launcher,
                _ => {
                    return Err(Error::Refused(format!(
                        "{id} is a UUID, which IONOS and Launcher both use, and it is not a [[cluster]] of {}: say which with --provider ionos or --provider launcher",
                        cfg.path.display()
                    )))
                }
            }
            }
            None => ProviderKind::Bridge,
        };
    p.check_id(id)?;
    Ok(p)
}

/// The providers `clusters` lists: `--provider`, else each whose section the config has, and
/// Crunchy Bridge unless the config names only other providers and no Bridge key is there.
pub fn providers_listed(cfg: &Config, flag: Option<ProviderKind>) -> Vec<ProviderKind> {
    if let Some(p) = flag {
        return vec![p];
    }
    let mut out = Vec::new();
    let others = cfg.ionos.section || cfg.launcher.is_some();
    if !others || !cfg.clusters.is_empty() || config::load_api_key(&cfg.api).is_ok() {
        out.push(ProviderKind::Bridge);
    }
    if cfg.ionos.section {
        out.push(ProviderKind::Ionos);
    }
    if cfg.launcher.is_some() {
        out.push(ProviderKind::Launcher);
    }
    out
}
