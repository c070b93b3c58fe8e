//! One refresh of every configured cluster: fetch tokens concurrently, then, under the lock,
//! compose the new file from the fresh stanzas and the last good ones of clusters that failed,
//! and replace the file atomically. A run that refreshes nothing writes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::config::{ClusterConfig, Config, S3KeyType, StanzaFrom};
use crate::fsutil::{self, FileLock, Owner};
use crate::pgbackrest::OtherConfigs;
use crate::provider::Client;
use crate::provider::FailureKind;
use crate::render::{self, Mode, RenderError, Stanza};
use crate::when::show_time;

/// What happened to one cluster.
#[derive(Debug)]
pub struct Outcome {
    pub cluster_id: String,
    /// The section name, when known (fresh, configured, or kept from the last file).
    pub stanza: Option<String>,
    /// The store type of a fresh token.
    pub kind: Option<&'static str>,
    /// The error and its kind, if this cluster failed (the daemon's next step depends on it).
    pub error: Option<ClusterError>,
    /// Whether a failed cluster's previous stanza was kept.
    pub kept: bool,
    /// When a fresh stanza's credentials stop working, if the token said.
    pub expires_at: Option<OffsetDateTime>,
}

/// Why one cluster's refresh failed. The variant says what kind of failure it is
/// ([`ClusterError::kind`]: a refused key, a transient failure, a credential that was already
/// expired — a hostile API, or this host's clock ahead of the API's —, a problem here), and the
/// daemon's next step depends on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The API call failed (its message, already bounded and redacted by the transport).
    #[error("{message}")]
    Api { message: String, kind: FailureKind },
    /// The token's credential had expired before it arrived.
    #[error("{ALREADY_EXPIRED}: it says it expired at {}, and this host's clock says {}; check the clock (timedatectl); the last good stanza stays", show_time(*.at), show_time(*.now))]
    AlreadyExpired {
        at: OffsetDateTime,
        now: OffsetDateTime,
    },
    /// The stanza cannot be rendered or written beside what is in the file.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Another pgBackRest config file on this host sets an option the stanza renders.
    #[error("{0}; or set `stanza = \"...\"` (another name) in this cluster's [[cluster]] entry")]
    ClashElsewhere(String),
    /// A cluster that needs a token in a refresh given no API client (an internal error:
    /// callers build the client whenever the config lists such a cluster).
    #[error("internal error: no API client to fetch its backup token with")]
    NoClient,
    /// The cluster's refresh task ended without an answer (a panic).
    #[error("internal error: refresh task failed")]
    TaskFailed,
    /// No token by the attempt's deadline ([`Scope::deadline`]): retried soon.
    #[error("no backup token within {}s (the API is slow or not answering; api.timeout {}s): tried again soon, the last good stanza stays", .waited.as_secs(), .timeout.as_secs())]
    Deadline {
        waited: std::time::Duration,
        timeout: std::time::Duration,
    },
}

/// Why a refresh wrote nothing. Each message is whole (the cause included), so `{e}` shows it
/// all; the last good file stays as it was.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `pgbackrest.s3_key_type = "process"` with a pgBackRest that cannot run it (`have`: the
    /// version found, or why none was).
    #[error("pgbackrest.s3_key_type = \"process\" needs pgBackRest 2.59 or newer, but {have}: set s3_key_type = \"shared\" (or \"auto\") in {}", .config.display())]
    S3ProcessUnsupported {
        have: String,
        config: std::path::PathBuf,
    },
    #[error("finding the bridgerest executable for repo1-s3-process-cmd: {0}")]
    NoExe(std::io::Error),
    /// The pgBackRest config or its directory cannot be used (`what`: for what).
    #[error("{what}: {}", worded(.err))]
    Unusable {
        what: &'static str,
        err: fsutil::Error,
    },
    /// The existing file is not INI bridgerest can read or merge into.
    #[error("{what} {}: {err}", .path.display())]
    Existing {
        what: &'static str,
        path: std::path::PathBuf,
        err: RenderError,
    },
    /// The file's owner, its lock, or writing it (said whole: not a `source()`).
    #[error("{}", worded(.0))]
    Fs(fsutil::Error),
}

impl From<fsutil::Error> for Error {
    fn from(err: fsutil::Error) -> Error {
        Error::Fs(err)
    }
}

/// An fsutil error about the pgBackRest config, its directory, its owner or its lock, with
/// what this config says of them (the keys that choose them, how to make the directory),
/// which fsutil cannot know.
fn worded(err: &fsutil::Error) -> String {
    use fsutil::Error as E;
    match err {
        E::NoSuchOwner { kind, .. } => {
            let key = match *kind {
                "group" => "pgbackrest.group",
                _ => "pgbackrest.owner",
            };
            format!("{key}: {err}; create it or change {key}")
        }
        E::NoDir { dir, exists: false } => format!(
            "{err}: create it (install -d -m 0750 -o postgres {}) or change pgbackrest.config",
            dir.display()
        ),
        E::NoDir { exists: true, .. } => format!("{err}: change pgbackrest.config"),
        E::Untrusted { .. } => format!("{err} (the configured owner: pgbackrest.owner)"),
        E::LockTimeout { .. } => format!(
            "{err} (another writer of the pgBackRest config; pgbackrest.lock_timeout sets the wait)"
        ),
        E::Io { .. } | E::Refused(_) => err.to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl ClusterError {
    pub fn kind(&self) -> FailureKind {
        match self {
            ClusterError::Api { kind, .. } => *kind,
            ClusterError::Deadline { .. } => FailureKind::Transient,
            ClusterError::AlreadyExpired { .. } => FailureKind::Expired,
            ClusterError::Render(_)
            | ClusterError::ClashElsewhere(_)
            | ClusterError::NoClient
            | ClusterError::TaskFailed => FailureKind::Local,
        }
    }
}

/// The message of a credential that expired before it arrived (the daemon reports it once).
pub const ALREADY_EXPIRED: &str = "credential from the API is already expired (clock skew?)";

/// What a refresh did or would do. Holds credentials: Debug shows only the outcomes.
pub struct Plan {
    pub outcomes: Vec<Outcome>,
    /// The file's new text (with secrets), if anything changed for the better.
    text: Option<String>,
    /// The same, redacted, for `render`.
    pub redacted: Option<String>,
    side_files: Vec<render::SideFile>,
    existing: Option<String>,
    /// Every secret value in the new file (fresh and kept stanzas), for redaction.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("outcomes", &self.outcomes)
            .field("changes", &self.text.is_some())
            .finish_non_exhaustive()
    }
}

impl Plan {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.error.is_some()).count()
    }

    /// Every secret value the new file holds (never shown: for redacting other output).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The new text with secrets, for `render --show-secrets`.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

/// What a refresh covers, and how it renders S3 credentials.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these clusters; the others' stanzas stay exactly as they are. `None`: every cluster.
    pub only: Option<Vec<String>>,
    /// The `repo1-s3-process-cmd` argument vector for S3 stanzas; static keys when `None`.
    pub s3_process_cmd: Option<Vec<String>>,
    /// A cluster whose token has not arrived by then fails ([`ClusterError::Deadline`]) and
    /// the others are written: the daemon's bound on one attempt, so that the next comes
    /// before the credentials in the file expire. `None`: the API client's own bounds.
    pub deadline: Option<tokio::time::Instant>,
    /// The permits the API requests share (`api.concurrency` of them) across refreshes that
    /// run at the same time; `None`: this refresh's own.
    pub permits: Option<Arc<Semaphore>>,
}

impl Scope {
    /// Every configured cluster, with S3 credentials as `pgbackrest.s3_key_type` asks.
    pub fn all(cfg: &Config) -> Result<Scope> {
        Ok(Scope {
            only: None,
            s3_process_cmd: s3_process_cmd(cfg)?,
            deadline: None,
            permits: None,
        })
    }

    /// One cluster (which must be in `cfg.clusters`).
    pub fn cluster(cfg: &Config, id: &str) -> Result<Scope> {
        Ok(Scope {
            only: Some(vec![id.to_string()]),
            ..Scope::all(cfg)?
        })
    }

    fn covers(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|x| x == id))
    }
}

/// The first pgBackRest release with `repo1-s3-key-type=process`.
pub const S3_PROCESS_SINCE: (u32, u32) = (2, 59);

/// Whether S3 stanzas name `bridgerest credential-process` instead of holding keys.
fn s3_process_cmd(cfg: &Config) -> Result<Option<Vec<String>>> {
    let want = match cfg.pgbackrest.s3_key_type {
        S3KeyType::Shared => return Ok(None),
        S3KeyType::Process => true,
        S3KeyType::Auto => false,
    };
    let version = crate::pgbackrest::version(&cfg.pgbackrest.bin);
    let supported = match &version {
        Ok(v) => crate::pgbackrest::version_at_least(v, S3_PROCESS_SINCE),
        Err(_) => false,
    };
    if !supported {
        if want {
            let have = match version {
                Ok(v) => format!("the installed pgBackRest is {v}"),
                Err(e) => format!("{e:#}"),
            };
            return Err(Error::S3ProcessUnsupported {
                have,
                config: cfg.path.clone(),
            });
        }
        return Ok(None);
    }
    let exe = std::env::current_exe().map_err(Error::NoExe)?;
    Ok(Some(vec![
        exe.to_string_lossy().into_owned(),
        format!("--config={}", cfg.path.display()),
        "credential-process".to_string(),
    ]))
}

/// Renders the stanza of every cluster in `scope` whose stanza bridgerest writes
/// ([`Config::written`]): from its token (fetched through `client`, at most `api.concurrency`
/// at once) or from its `[cluster.options]` alone. The result is in the order of
/// [`Config::written`]; `None` for a cluster outside the scope. `client` may be `None` when no
/// cluster in scope needs a token (one that does then fails, saying so).
pub async fn fetch(cfg: &Config, client: Option<&Client>, scope: &Scope) -> Fetched {
    let sem = scope
        .permits
        .clone()
        .unwrap_or_else(|| Arc::new(Semaphore::new(cfg.api.concurrency)));
    let (deadline, timeout) = (scope.deadline, cfg.api.timeout);
    let started = tokio::time::Instant::now();
    let out_dir = cfg.pgbackrest.dir();
    let written = cfg.written();
    let mut results: Fetched = (0..written.len()).map(|_| None).collect();
    let mut set = JoinSet::new();
    for (i, (cluster, from)) in written.iter().enumerate() {
        if !scope.covers(&cluster.id) {
            continue;
        }
        let client = match (from, client) {
            (StanzaFrom::Options, _) => {
                let s = render::options_stanza(cluster);
                tracing::info!(cluster = %cluster.id, stanza = %s.name, "stanza rendered from the config's options");
                results[i] = Some(Ok(s));
                continue;
            }
            (StanzaFrom::Token, None) => {
                results[i] = Some(Err(ClusterError::NoClient));
                continue;
            }
            (StanzaFrom::Token, Some(client)) => client.clone(),
        };
        let cluster = (*cluster).clone();
        let (sem, out_dir) = (sem.clone(), out_dir.clone());
        let s3_cmd = scope.s3_process_cmd.clone().map(|mut v| {
            v.push(format!("--cluster={}", cluster.id));
            v
        });
        let span = tracing::info_span!("refresh", cluster = %cluster.id);
        set.spawn(
            async move {
                let call = async {
                    let _permit = sem.acquire_owned().await;
                    client.create_backup_token(&cluster.id).await
                };
                let answer = match deadline {
                    Some(d) => tokio::time::timeout_at(d, call).await.ok(),
                    None => Some(call.await),
                };
                let res = match answer {
                    None => Err(ClusterError::Deadline {
                        waited: started.elapsed(),
                        timeout,
                    }),
                    Some(Ok(token)) => match token.expires_at {
                        Some(at) if at <= OffsetDateTime::now_utc() => {
                            Err(ClusterError::AlreadyExpired {
                                at,
                                now: OffsetDateTime::now_utc(),
                            })
                        }
                        _ => render::stanza(&cluster, &token, &out_dir, s3_cmd.as_deref())
                            .map_err(ClusterError::Render),
                    },
                    Some(Err(e)) => Err(ClusterError::Api {
                        message: e.to_string(),
                        kind: e.kind(),
                    }),
                };
                match &res {
                    Ok(s) => tracing::info!(stanza = %s.name, "token fetched"),
                    Err(e) => tracing::info!(error = %e, "refresh failed"),
                }
                (i, res)
            }
            .instrument(span),
        );
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, res)) => results[i] = Some(res),
            Err(e) => tracing::error!(error = %e, "refresh task failed"),
        }
    }
    results
        .into_iter()
        .zip(written.iter().map(|(c, _)| c))
        .map(|(r, c)| {
            scope
                .covers(&c.id)
                .then(|| r.unwrap_or_else(|| Err(ClusterError::TaskFailed)))
        })
        .collect()
}

/// Each written cluster's stanza or error, in the order of [`Config::written`]; `None` outside
/// the scope.
pub type Fetched = Vec<Option<Result<Stanza, ClusterError>>>;

/// Fails every fetched stanza that another pgBackRest config file would clash with: the same
/// section there sets an option the stanza renders (pgBackRest's error 31, "cannot be set
/// multiple times"). Reads the main config and `include_path/*.conf`, except the file written.
pub fn refuse_clashes_elsewhere(cfg: &Config, fetched: &mut Fetched) {
    refuse_clashes(&other_configs(cfg), fetched);
}

/// The main config and `include_path/*.conf` as they are now, each read and parsed once.
fn other_configs(cfg: &Config) -> OtherConfigs {
    let p = &cfg.pgbackrest;
    OtherConfigs::read(&p.main_config, &p.include_path, &p.config)
}

/// [`refuse_clashes_elsewhere`] against files already read.
fn refuse_clashes(others: &OtherConfigs, fetched: &mut Fetched) {
    if others.is_empty() {
        return;
    }
    for res in fetched.iter_mut().flatten() {
        let Ok(stanza) = res else { continue };
        let clashes = others.clashes(std::slice::from_ref(stanza));
        if let Some(first) = clashes.into_iter().find(|c| c.stanza.is_some()) {
            *res = Err(ClusterError::ClashElsewhere(first.text));
        }
    }
}

/// Composes the new file from fresh stanzas and the existing file. Pure. A cluster outside the
/// fetch's scope (`None`) keeps its stanza as it is, without an outcome. In a file shared with
/// the user, a fresh stanza whose name is a section bridgerest did not mark as its own (or
/// marked for a cluster this config does not manage) fails that cluster: it is not taken over.
pub fn compose(cfg: &Config, fetched: Fetched, existing: Option<String>) -> Result<Plan> {
    let sections = sections_of(cfg, existing.as_deref())?;
    compose_parsed(cfg, fetched, existing, sections)
}

/// The sections of the existing file (none if there is none).
fn sections_of(cfg: &Config, existing: Option<&str>) -> Result<Vec<render::Section>> {
    match existing {
        Some(text) => render::sections(text).map_err(|err| Error::Existing {
            what: "reading the existing",
            path: cfg.pgbackrest.config.clone(),
            err,
        }),
        None => Ok(vec![]),
    }
}

/// [`compose`] with the existing file's `sections` already parsed.
fn compose_parsed(
    cfg: &Config,
    fetched: Fetched,
    existing: Option<String>,
    sections: Vec<render::Section>,
) -> Result<Plan> {
    let path = &cfg.pgbackrest.config;
    let mode = render::mode_for(path, existing.as_deref());
    let previous: HashMap<String, Stanza> = render::marked_stanzas(&sections);
    let mut outcomes = Vec::new();
    let mut fresh: Vec<Stanza> = Vec::new();
    let mut kept: Vec<Stanza> = Vec::new();
    let mut by_name: HashMap<String, String> = HashMap::new(); // stanza name -> cluster id
    let written: Vec<&ClusterConfig> = cfg.written().into_iter().map(|(c, _)| c).collect();
    for (cluster, res) in written.iter().zip(fetched) {
        let Some(res) = res else {
            if let Some(p) = previous
                .get(&cluster.id)
                .filter(|p| !by_name.contains_key(&p.name))
            {
                by_name.insert(p.name.clone(), cluster.id.clone());
                kept.push(p.clone());
            }
            continue;
        };
        let res = res.and_then(|s| match by_name.get(&s.name) {
            Some(other) => Err(ClusterError::Render(RenderError::StanzaClash {
                stanza: s.name.clone(),
                other: other.clone(),
            })),
            None => Ok(s),
        });
        let res = res.and_then(|s| {
            let clash = (mode == Mode::Merged)
                .then(|| render::section_clash(&sections, &s.name, &cluster.id, path))
                .flatten();
            match clash {
                Some(e) => Err(ClusterError::Render(e)),
                None => Ok(s),
            }
        });
        match res {
            Ok(s) => {
                by_name.insert(s.name.clone(), cluster.id.clone());
                outcomes.push(Outcome {
                    cluster_id: cluster.id.clone(),
                    stanza: Some(s.name.clone()),
                    kind: s.kind,
                    error: None,
                    kept: false,
                    expires_at: s.expires_at,
                });
                fresh.push(s);
            }
            Err(error) => {
                let prev = previous
                    .get(&cluster.id)
                    .filter(|p| !by_name.contains_key(&p.name));
                if let Some(p) = prev {
                    by_name.insert(p.name.clone(), cluster.id.clone());
                    kept.push(p.clone());
                }
                outcomes.push(Outcome {
                    cluster_id: cluster.id.clone(),
                    stanza: prev
                        .map(|p| p.name.clone())
                        .or_else(|| cluster.stanza.clone()),
                    kind: None,
                    error: Some(error),
                    kept: prev.is_some(),
                    expires_at: None,
                });
            }
        }
    }
    for (id, p) in &previous {
        if !written.iter().any(|c| &c.id == id) && mode == Mode::Owned {
            tracing::info!(cluster = %id, stanza = %p.name, "cluster no longer configured; its stanza is removed");
        }
    }
    let (text, redacted) = if fresh.is_empty() {
        (None, None) // nothing new: leave the file exactly as it is
    } else {
        match mode {
            Mode::Owned => {
                let order: Vec<Stanza> = written
                    .iter()
                    .filter_map(|c| {
                        fresh
                            .iter()
                            .chain(kept.iter())
                            .find(|s| s.cluster_id == c.id)
                            .cloned()
                    })
                    .collect();
                (
                    Some(render::owned_file(&order, &cfg.path, false)),
                    Some(render::owned_file(&order, &cfg.path, true)),
                )
            }
            Mode::Merged => {
                let base = existing.as_deref().unwrap_or("");
                let kept_names: Vec<(String, String)> = kept
                    .iter()
                    .map(|s| (s.cluster_id.clone(), s.name.clone()))
                    .collect();
                let merged = |redact| {
                    render::merged_file(base, &fresh, &kept_names, redact).map_err(|err| {
                        Error::Existing {
                            what: "merging into",
                            path: path.clone(),
                            err,
                        }
                    })
                };
                let (text, red) = (merged(false)?, merged(true)?);
                (Some(text), Some(red))
            }
        }
    };
    let side_files = fresh.iter().flat_map(|s| s.files.iter().cloned()).collect();
    let secrets = fresh
        .iter()
        .chain(kept.iter())
        .flat_map(Stanza::secret_values)
        .collect();
    Ok(Plan {
        outcomes,
        text,
        redacted,
        side_files,
        existing,
        secrets,
    })
}

/// The owner the config asks for the written files.
pub fn owner(cfg: &Config) -> Result<Owner> {
    Ok(Owner::resolve(
        cfg.pgbackrest.owner.as_deref(),
        cfg.pgbackrest.group.as_deref(),
    )?)
}

/// Reads the current file; `None` if it does not exist. A symlink, FIFO, device or a file owned
/// by anyone but root, this user or `pgbackrest.owner` is refused (never followed or trusted).
pub fn read_existing(cfg: &Config) -> Result<Option<String>> {
    read_existing_as(cfg, owner(cfg)?)
}

/// [`read_existing`] with the owner already resolved.
fn read_existing_as(cfg: &Config, owner: Owner) -> Result<Option<String>> {
    fsutil::read_trusted(&cfg.pgbackrest.config, owner).map_err(|err| Error::Unusable {
        what: "cannot use the existing pgBackRest config",
        err,
    })
}

/// Checks the pgBackRest config's directory: it exists, this process may create files in it,
/// and only root or `owner` can swap them.
pub fn check_dir(cfg: &Config, owner: Owner) -> Result<()> {
    fsutil::check_dir_safe(&cfg.pgbackrest.dir(), owner).map_err(|err| Error::Unusable {
        what: "cannot write the pgBackRest config",
        err,
    })
}

/// A refresh of the clusters in `scope`: fetch, lock, compose against the file as it is now,
/// write if changed.
pub async fn run(cfg: &Config, client: Option<&Client>, scope: &Scope) -> Result<Plan> {
    let path = &cfg.pgbackrest.config;
    let owner = owner(cfg)?;
    check_dir(cfg, owner)?;
    // While the tokens come: the other config files, and the file as it is now, read and
    // parsed (at fleet size, milliseconds that would otherwise follow the last token).
    let early = {
        let p = &cfg.pgbackrest;
        let (main, include, file) = (
            p.main_config.clone(),
            p.include_path.clone(),
            p.config.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let existing = fsutil::read_trusted(&file, owner)
                .ok()
                .flatten()
                .and_then(|text| Some((render::sections(&text).ok()?, text)));
            (OtherConfigs::read(&main, &include, &file), existing)
        })
    };
    let mut fetched = fetch(cfg, client, scope).await;
    let (others, early_existing) = match early.await {
        Ok(read) => read,
        Err(_) => (other_configs(cfg), None),
    };
    refuse_clashes(&others, &mut fetched);
    let _lock = FileLock::acquire(
        path,
        owner,
        cfg.pgbackrest.mode,
        cfg.pgbackrest.lock_timeout,
    )
    .await?;
    let existing = read_existing_as(cfg, owner)?;
    // The early parse stands only for the very text read under the lock.
    let sections = match early_existing {
        Some((sections, text)) if existing.as_ref() == Some(&text) => sections,
        _ => sections_of(cfg, existing.as_deref())?,
    };
    let plan = compose_parsed(cfg, fetched, existing, sections)?;
    // What a writer killed mid-write left behind (it may hold secrets): gone, under the lock.
    let stale: usize = std::iter::once(path.as_path())
        .chain(plan.side_files.iter().map(|f| f.path.as_path()))
        .map(fsutil::remove_stale_temps)
        .sum();
    if stale > 0 {
        tracing::info!(
            files = stale,
            "removed temporary files left by an interrupted write"
        );
    }
    if let Some(text) = &plan.text {
        if plan.existing.as_deref() != Some(text.as_str()) {
            for f in &plan.side_files {
                use secrecy::ExposeSecret;
                fsutil::write_atomic(
                    &f.path,
                    f.contents.expose_secret().as_bytes(),
                    cfg.pgbackrest.mode,
                    owner,
                )?;
            }
            fsutil::write_atomic(path, text.as_bytes(), cfg.pgbackrest.mode, owner)?;
            tracing::info!(path = %path.display(), "pgBackRest config written");
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsutil_errors_are_worded_with_the_pgbackrest_keys_here_only() {
        let owner = fsutil::Error::NoSuchOwner {
            kind: "group",
            name: "pgbr".into(),
        };
        assert_eq!(owner.to_string(), "no group named \"pgbr\" on this host");
        assert_eq!(
            Error::from(owner).to_string(),
            "pgbackrest.group: no group named \"pgbr\" on this host; create it or change pgbackrest.group"
        );
        let dir = fsutil::Error::NoDir {
            dir: "/etc/pgbackrest/conf.d".into(),
            exists: false,
        };
        assert_eq!(
            dir.to_string(),
            "directory /etc/pgbackrest/conf.d does not exist"
        );
        assert_eq!(
            Error::Unusable {
                what: "cannot write the pgBackRest config",
                err: dir
            }
            .to_string(),
            "cannot write the pgBackRest config: directory /etc/pgbackrest/conf.d does not exist: create it (install -d -m 0750 -o postgres /etc/pgbackrest/conf.d) or change pgbackrest.config"
        );
    }
}
