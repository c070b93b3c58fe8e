//! What a provider is before any client is made: its [`Spec`], declared once in its own folder
//! (`bridge::SPEC`, `ionos::SPEC`, ...), and [`ProviderKind`], the handle to one that configs,
//! flags, status files and maps carry. The registry (`registry.rs`) lists them. Callers ask a
//! spec (its capabilities, its id rule, its hints); no code outside a provider's folder names
//! a provider to decide what to do. This file names no provider: the folders build on it.

use serde::{Serialize, Serializer};

use super::Backup;
use crate::text::excerpt;

/// A table as commands print it: its header and its rows.
pub type Table = (&'static [&'static str], Vec<Vec<String>>);

/// One provider, as its folder declares it.
pub struct Spec {
    /// Its name in `[[cluster]] provider`, `--provider`, status files and metrics.
    pub name: &'static str,
    /// Its name in messages.
    pub title: &'static str,
    /// What `--provider NAME` says of it in `--help`.
    pub help: &'static str,
    /// Whether a text has the form of one of its cluster ids.
    pub is_id: fn(&str) -> bool,
    /// Its clusters are known only from `[[cluster]]` entries: an id's form never says that
    /// an unlisted cluster is one of its (any stanza name could be).
    pub listed_only: bool,
    /// Its clusters' roles, when its API hands out a way in per role (`restore --role`):
    /// whether a name is one, and what they are, as an error names them.
    pub roles: Option<Roles>,
    /// What its ids are, as an error names them: "a Crunchy Bridge cluster ID (26 lowercase
    /// letters and digits, like ...)".
    pub id_form: &'static str,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Its own config table (`[ionos]`), read and checked by its folder (`None`: it has none).
    pub section: Option<SectionSpec>,
    /// The config section a cluster of it cannot do without, and what that section needs
    /// (`None`: its section is optional or it has none).
    pub required_section: Option<(&'static str, &'static str)>,
    /// How a cluster comes to have backups (said when it has none yet).
    pub no_backups: &'static str,
    /// What a restore at it to `--target latest` reaches, as a plan names it ("the end of its
    /// newest backup chain"; empty where [`Capabilities::latest`] is false).
    pub latest: &'static str,
    /// Why it takes no backup when asked, and what to do instead (said by `bridgerest backup`
    /// where [`Capabilities::backup_now`] is false; empty elsewhere).
    pub no_backup_now: &'static str,
    /// `backups`' table of its backups.
    pub backups_table: fn(&[Backup]) -> Table,
    /// `clusters`' table of its clusters.
    pub clusters_table: fn(&super::Listed) -> Table,
    /// Its client, from what the config holds for it (its section, its secrets).
    pub connect: fn(&dyn Settings) -> Result<super::Client, ConnectError>,
    /// What a new cluster at it needs beyond a name (`restore --into`): a connection, a
    /// database user, from the flags and its section ([`nothing_more`]: nothing).
    pub new_cluster: fn(&dyn Settings, &NewFlags<'_>) -> Result<NewCluster, ConnectError>,
}

/// A provider's roles, as `restore --role` takes them: whether a name is one, and what they
/// are, as an error names them.
pub type Roles = (fn(&str) -> bool, &'static str);

/// A provider's own config table, which its folder reads and checks.
pub struct SectionSpec {
    /// The table's name: `[ionos]`.
    pub name: &'static str,
    /// Reads the table out of the whole config text (so that an error keeps its line and
    /// column); `Ok(None)`: the config has no such table.
    pub parse: fn(&str) -> Result<Option<Section>, SectionError>,
}

/// A provider's config table as its folder's `section.rs` made it; [`Settings::section`]
/// hands it back to the folder, which downcasts it to its own type.
pub type Section = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// Why a provider's table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SectionError {
    /// Not the table's shape (an unknown key, a wrong type): the TOML error, with its span.
    #[error(transparent)]
    Syntax(#[from] toml::de::Error),
    /// Its values do not go together or are out of range: said whole.
    #[error("{0}")]
    Invalid(String),
}

/// The flags of `restore --into` that only some providers take.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewFlags<'a> {
    pub datacenter: Option<&'a str>,
    pub lan: Option<&'a str>,
    pub cidr: Option<&'a str>,
}

/// What a new cluster needs beyond its name, as its provider's folder worked it out.
#[derive(Debug, Default)]
pub struct NewCluster {
    pub connection: Option<super::server::Connection>,
    pub db_user: Option<super::DbUser>,
}

/// [`Spec::new_cluster`] of a provider whose new clusters need nothing more.
pub fn nothing_more(_: &dyn Settings, _: &NewFlags<'_>) -> Result<NewCluster, ConnectError> {
    Ok(NewCluster::default())
}

/// What a provider's [`Spec::connect`] takes from the config, which implements it (the
/// config lies above the providers: they name none of its types).
pub trait Settings {
    /// `[api]`: how every provider's API is talked to (and Crunchy Bridge's URL and key file).
    fn api(&self) -> &super::ApiSettings;
    /// The provider's own section as the config parsed it (the folder's `section.rs` type),
    /// if the config has one.
    fn section(&self, name: &str) -> Option<&dyn std::any::Any>;
    /// Reads one secret where `spec` says (the environment, a systemd credential, a file).
    fn secret(
        &self,
        spec: &super::section::SecretSpec,
    ) -> Result<secrecy::SecretString, ConnectError>;
    /// The config file, for messages.
    fn path(&self) -> &std::path::Path;
    /// The pgBackRest repositories of the configured clusters, read as the run-as user.
    fn repository(&self) -> std::sync::Arc<dyn Repository>;
}

/// The pgBackRest repositories this host's configs name, as `pgbackrest info` shows them: the
/// config layer runs pgBackRest (as the run-as user) for a provider whose catalog is the
/// repository itself.
pub trait Repository: Send + Sync {
    /// The `[[cluster]]` entries of `provider`: each id with its stanza.
    fn clusters(&self, provider: ProviderKind) -> Vec<(String, String)>;
    /// The backup sets in `stanza`'s repository, oldest first.
    fn sets<'a>(&'a self, stanza: &'a str) -> super::BoxFut<'a, Result<Vec<RepoSet>, String>>;
}

/// One backup set as `pgbackrest info` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSet {
    /// Its label (`20261121-010000F`, `..._20261122-010000I`).
    pub label: String,
    pub start: time::OffsetDateTime,
    pub stop: time::OffsetDateTime,
    /// The database's size: what a restore writes.
    pub size: Option<u64>,
}

/// Why a provider's client was not made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A section or a credential the provider needs is not given, or cannot be read: a usage
    /// error, said whole.
    #[error("{0}")]
    Refused(String),
    /// The HTTP client cannot be built.
    #[error(transparent)]
    Build(#[from] super::http::BuildError),
}

/// What a provider can do, so callers ask instead of naming providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Hands out credentials for the cluster's pgBackRest repository (refreshed by the daemon
    /// and `refresh`, rendered into bridgerest's stanzas).
    pub repo_credentials: bool,
    /// Its clusters are restored here, from their pgBackRest repository (`restore` into a
    /// data directory, drills): a `[[cluster]]` has `pg1_path` and a stanza.
    pub local_restore: bool,
    /// Restores over the cluster itself (`--in-place`).
    pub in_place: bool,
    /// Restores into a new cluster (`--into`).
    pub into_new: bool,
    /// A new cluster's plan can be chosen (`--plan`).
    pub plan: bool,
    /// A new cluster's region can be chosen (`--region`).
    pub region: bool,
    /// A new cluster's storage can be chosen (`--storage`).
    pub storage: bool,
    /// A new cluster needs a network connection chosen (`--datacenter`, `--lan`, `--cidr`).
    pub connection: bool,
    /// A new cluster needs a database user given (the provider returns none of the source's).
    pub db_user: bool,
    /// An in-place restore may go into a database beside it that is then switched to.
    pub switch: bool,
    /// Restores at the provider without a time (`--target latest`): Crunchy Bridge forks at
    /// the current time (no `target_time`), IONOS applies a backup chain whole (no
    /// `recoveryTargetTime`), Launcher restores from the newest backup; [`Spec::latest`] says
    /// which in a plan.
    pub latest: bool,
    /// Deletes a cluster (`bridgerest destroy`), which then passes through a state of its own
    /// on its way out before the API no longer knows it.
    pub destroy: bool,
    /// Takes a backup when asked (`bridgerest backup`); [`Spec::no_backup_now`] says why not
    /// where it cannot.
    pub backup_now: bool,
}

/// The providers bridgerest speaks to, as `[[cluster]] provider` and `--provider` name them:
/// a handle to one provider's [`Spec`], compared, ordered and written by its name.
#[derive(Clone, Copy)]
pub struct ProviderKind(pub &'static Spec);

impl ProviderKind {
    pub fn spec(self) -> &'static Spec {
        self.0
    }

    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    /// The provider's name in messages.
    pub fn title(self) -> &'static str {
        self.0.title
    }

    /// Why `id` is not one of this provider's cluster ids, if it is not.
    pub fn check_id(self, id: &str) -> Result<(), BadId> {
        match (self.0.is_id)(id) {
            true => Ok(()),
            false => Err(BadId {
                provider: self,
                shown: excerpt(id, 80),
            }),
        }
    }

    /// Whether the provider hands out pgBackRest repository credentials (a local restore).
    pub fn has_repo_credentials(self) -> bool {
        self.capabilities().repo_credentials
    }

    /// What this provider can do.
    pub fn capabilities(self) -> Capabilities {
        self.0.capabilities
    }
}

impl PartialEq for ProviderKind {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}
impl Eq for ProviderKind {}
impl PartialOrd for ProviderKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ProviderKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.name.cmp(other.0.name)
    }
}
impl std::hash::Hash for ProviderKind {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.name.hash(h)
    }
}
/// As the enum it once was printed: `Bridge`, `Ionos` (snapshots and logs keep their form).
impl std::fmt::Debug for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut c = self.0.name.chars();
        if let Some(first) = c.next() {
            write!(f, "{}{}", first.to_ascii_uppercase(), c.as_str())?;
        }
        Ok(())
    }
}
impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Serialize for ProviderKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name)
    }
}

/// An id that is not in its provider's format (shown bounded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct BadId {
    pub provider: ProviderKind,
    pub shown: String,
}

/// `backups`' table for a provider that lists base backups: name, type, times, size.
pub fn backups_table(backups: &[Backup]) -> Table {
    let fmt = crate::when::show_time;
    let rows = backups
        .iter()
        .map(|b| {
            vec![
                excerpt(&b.name, 80),
                b.kind
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .map_or_else(|| "-".into(), |k| excerpt(k, 20)),
                fmt(b.started_at),
                b.finished_at.map_or_else(|| "(running)".to_string(), fmt),
                b.size_bytes
                    .map(crate::text::human_size)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    (&["NAME", "TYPE", "STARTED", "FINISHED", "SIZE"], rows)
}

/// `clusters`' table for a provider without teams: id, name, state, location, version.
pub fn clusters_table(clusters: &super::Listed) -> Table {
    let rows = clusters
        .iter()
        .map(|(c, _)| {
            vec![
                excerpt(&c.id, 40),
                excerpt(&c.name, 80),
                excerpt(c.state.as_deref().unwrap_or("-"), 20),
                excerpt(c.region_id.as_deref().unwrap_or_default(), 40),
                c.major_version.map(|v| v.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    (&["ID", "NAME", "STATE", "LOCATION", "POSTGRES"], rows)
}
