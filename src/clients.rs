//! The clients of the configured providers: each built from its config section with its
//! credentials loaded, and the provider a cluster id belongs to. Above config and provider,
//! below the domain modules (restore, drill, schedule) and the commands that use it.

use crate::config::{self, Config, SecretSpec};
use crate::exit::Exit;
use crate::provider::spec::{ConnectError, RepoSet, Repository, Settings};
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
    client_for(cfg, ProviderKind::DEFAULT)
}

/// The client for `provider` with its configured credentials; missing ones are a usage error.
/// Each provider makes its own ([`crate::provider::Spec::connect`]) from what the config
/// holds for it.
pub fn client_for(cfg: &Config, provider: ProviderKind) -> Result<Client> {
    (provider.spec().connect)(&Held(cfg)).map_err(|e| match e {
        ConnectError::Refused(m) => Error::Refused(m),
        ConnectError::Build(b) => Error::Build(b),
    })
}

/// The config, as the providers' `connect` reads it.
struct Held<'a>(&'a Config);

impl Settings for Held<'_> {
    fn api(&self) -> &crate::provider::ApiSettings {
        &self.0.api
    }
    fn section(&self, name: &str) -> Option<&dyn std::any::Any> {
        self.0.section(name)
    }
    fn secret(&self, spec: &SecretSpec) -> Result<secrecy::SecretString, ConnectError> {
        match read_secret(spec) {
            Ok(s) => Ok(s),
            // Not a secret missing from a config that is not there either.
            Err(Error::Config(config::Error::Secret(_)))
                if spec.file.is_none()
                    && std::env::var_os(spec.env).is_none()
                    && !self.0.path.exists() =>
            {
                Err(ConnectError::Refused(format!(
                    "no {}, and no config file {} to name its {}: create the config (the example: {}) or pass --config, or set ${}, or LoadCredential={}:... in the systemd unit",
                    spec.what.trim_start_matches("the "),
                    self.0.path.display(),
                    spec.file_key,
                    config::EXAMPLE_CONFIG,
                    spec.env,
                    spec.credential
                )))
            }
            Err(e) => Err(ConnectError::Refused(e.to_string())),
        }
    }
    fn path(&self) -> &std::path::Path {
        &self.0.path
    }
    fn repository(&self) -> std::sync::Arc<dyn Repository> {
        std::sync::Arc::new(Repos(self.0.clone()))
    }
}

/// The repositories of the configured clusters, read with `pgbackrest info` as the user that
/// runs pgBackRest (`pgbackrest.owner`, else postgres), with the config files bridgerest is
/// configured to give it.
struct Repos(Config);

impl Repository for Repos {
    fn clusters(&self, provider: ProviderKind) -> Vec<(String, String)> {
        self.0
            .repos
            .iter()
            .filter(|r| r.provider == provider)
            .map(|r| {
                let c = &r.cluster;
                (
                    c.id.clone(),
                    c.stanza.clone().unwrap_or_else(|| c.id.clone()),
                )
            })
            .collect()
    }

    fn sets<'a>(
        &'a self,
        stanza: &'a str,
    ) -> crate::provider::BoxFut<'a, std::result::Result<Vec<RepoSet>, String>> {
        Box::pin(async move {
            let pg = &self.0.pgbackrest;
            let user = crate::runas::RunAs::default_for(pg.owner.as_deref())
                .map_err(|e| format!("{e:#}"))?;
            // A stanza bridgerest writes from [cluster.options] is read as it would be written
            // (a refresh may not have run yet): the probe's own files, nothing written here.
            let own = self
                .0
                .repos
                .iter()
                .find(|r| r.writes_stanza() && r.cluster.stanza.as_deref() == Some(stanza));
            let info = match own {
                Some(r) => {
                    use crate::pgbackrest::probe::{repository, Files};
                    let s = crate::render::options_stanza(&r.cluster);
                    let text =
                        crate::render::owned_file(std::slice::from_ref(&s), &pg.config, false);
                    let files = match pg.config == pg.main_config {
                        true => Files::Main,
                        false => Files::Include {
                            main: pg.main_config.exists().then_some(pg.main_config.as_path()),
                        },
                    };
                    repository(&pg.bin, files, &s, &text, &user).await
                }
                None => {
                    let inv = crate::pgbackrest::child::Invocation {
                        bin: pg.bin.clone(),
                        main_config: pg.main_config_set.then(|| pg.main_config.clone()),
                        include_path: pg.include_path_set.then(|| pg.include_path.clone()),
                        stanza: stanza.to_string(),
                        pg1_path: Default::default(),
                        set: None,
                        target: crate::when::Stop::Latest,
                        action: crate::when::TargetAction::Promote,
                        process_max: 1,
                        delta: false,
                        force: false,
                        prefetch: None,
                        tablespace_map_all: None,
                    };
                    crate::pgbackrest::child::repo_info(&inv, &user, false).await
                }
            }
            .map_err(|e| format!("{e:#}"))?;
            let at = |secs: i64| {
                time::OffsetDateTime::from_unix_timestamp(secs)
                    .map_err(|_| format!("pgbackrest info: a time out of range ({secs})"))
            };
            info.backups
                .iter()
                .map(|b| {
                    Ok(RepoSet {
                        label: b.label.clone(),
                        start: at(b.start)?,
                        stop: at(b.stop)?,
                        size: b.size,
                    })
                })
                .collect()
        })
    }
}

/// Reads one secret where its spec says (the environment, a systemd credential, a file).
fn read_secret(spec: &SecretSpec) -> Result<secrecy::SecretString> {
    let (secret, source) = config::load_secret(spec)?;
    tracing::debug!(%source, "{} loaded", spec.what);
    Ok(secret)
}

/// What a new cluster at `provider` needs beyond its name (`restore --into`), as its folder
/// works it out from the flags and its section ([`crate::provider::spec::Spec::new_cluster`]).
pub fn new_cluster(
    cfg: &Config,
    provider: ProviderKind,
    flags: &crate::provider::spec::NewFlags<'_>,
) -> Result<crate::provider::spec::NewCluster> {
    (provider.spec().new_cluster)(&Held(cfg), flags).map_err(|e| match e {
        ConnectError::Refused(why) => Error::Refused(why),
        ConnectError::Build(b) => Error::Build(b),
    })
}

/// The provider of cluster `id`: `--provider`, else its `[[cluster]]` entry, else its id's
/// shape (an EID is Bridge's; a UUID belongs to whichever of `[ionos]`/`[launcher]` the config
/// has, if just one). Its id must be in the provider's format.
pub fn provider_for(cfg: &Config, id: &str, flag: Option<ProviderKind>) -> Result<ProviderKind> {
    let p = match flag.or_else(|| cfg.provider_of(id)) {
        Some(p) => p,
        None => {
            // The providers whose ids look like this one, and of those the ones this config
            // speaks to (the default always; the others through their sections).
            let fits: Vec<ProviderKind> = ProviderKind::ALL
                .iter()
                .copied()
                .filter(|p| !p.spec().listed_only && (p.spec().is_id)(id))
                .collect();
            let configured: Vec<ProviderKind> = fits
                .iter()
                .copied()
                .filter(|p| *p == ProviderKind::DEFAULT || cfg.has_section(*p))
                .collect();
            match (configured.as_slice(), fits.as_slice()) {
                ([one], _) => *one,
                (_, []) => ProviderKind::DEFAULT,
                _ => {
                    let titles: Vec<&str> = fits.iter().map(|p| p.title()).collect();
                    let flags: Vec<String> =
                        fits.iter().map(|p| format!("--provider {p}")).collect();
                    return Err(Error::Refused(format!(
                        "{id} is an id as {} all use, and it is not a [[cluster]] of {}: say which with {}",
                        titles.join(" and "),
                        cfg.path.display(),
                        flags.join(" or ")
                    )));
                }
            }
        }
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
    let others: Vec<ProviderKind> = ProviderKind::ALL
        .iter()
        .copied()
        .filter(|p| *p != ProviderKind::DEFAULT && cfg.has_section(*p))
        .collect();
    let mut out = Vec::new();
    if others.is_empty() || !cfg.clusters.is_empty() || config::load_api_key(&cfg.api).is_ok() {
        out.push(ProviderKind::DEFAULT);
    }
    out.extend(others);
    out
}
