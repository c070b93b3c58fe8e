//! What the providers hand out: backup tokens (repository location and credentials), backups,
//! clusters, server-side restores, and [`Client`], the one type the rest of bridgerest talks to
//! a provider through. [`bridge`] is the Crunchy Bridge API client, [`ionos`] IONOS DBaaS
//! PostgreSQL's, [`launcher`] Launcher's; [`server`] the provider-neutral server-side restore.

pub mod bridge;
pub mod http;
pub mod ionos;
pub mod launcher;
pub mod manage;
pub mod pages;
pub mod pgbackrest;
pub mod registry;
pub mod section;
pub mod server;
pub mod spec;

pub use bridge::ApiError;
pub use manage::{BackupRequested, Presence};
pub use server::{BackupWatch, Call, DbUser, Dest, Phase, Restored, WayIn, WayInAsk, Window};
pub use spec::{BadId, Capabilities, ProviderKind, Spec};

/// One provider's API as its folder implements it (`bridge/`, `ionos/`, `launcher/`), with
/// `async fn`s. The rest of bridgerest never names this trait: every [`Api`] is a
/// [`Provider`] (a blanket impl boxes its futures), and callers hold a [`Client`].
pub trait Api: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> ProviderKind;
    /// Every cluster the credentials can see, with its team where the provider has teams.
    fn list_all_clusters(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<(Cluster, Option<Team>)>, ApiError>> + Send;
    fn get_cluster(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Cluster, ApiError>> + Send;
    /// The cluster's backups, every page (IONOS: its backup chains).
    fn list_backups(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Backup>, ApiError>> + Send;
    /// The times the provider can restore the cluster to.
    fn window(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Window, ApiError>> + Send;
    /// The cluster's state and the start of its recovery window; by default the window's
    /// start and no state.
    fn cluster_status(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<ClusterStatus, ApiError>> + Send {
        async move {
            let w = self.window(id).await?;
            Ok(ClusterStatus {
                oldest_backup_at: w.start,
                state: String::new(),
                extra: Default::default(),
            })
        }
    }
    /// Fresh credentials for the cluster's pgBackRest repository, where
    /// [`Capabilities::repo_credentials`] says the provider hands them out.
    fn create_backup_token(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<BackupToken, ApiError>> + Send {
        let kind = self.kind();
        async move {
            Err(ApiError::Malformed {
                req: format!("cluster {id}"),
                detail: format!("{} hands out no repository credentials", kind.title()),
            })
        }
    }
    /// Deletes the cluster (callers check [`Capabilities::destroy`] first); it may take a
    /// while to go ([`Api::presence`] follows it).
    fn delete_cluster(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<(), ApiError>> + Send {
        let kind = self.kind();
        async move { Err(unsupported(kind, id, "deletes no cluster")) }
    }
    /// Whether the cluster is still there, and deleting; by default as `get_cluster` answers
    /// (404: gone).
    fn presence(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Presence, ApiError>> + Send {
        async move {
            match self.get_cluster(id).await {
                Ok(c) => Ok(Presence::There {
                    state: c.state,
                    deleting: false,
                }),
                Err(ApiError::NotFound { .. }) => Ok(Presence::Gone),
                Err(e) => Err(e),
            }
        }
    }
    /// Asks for a backup of the cluster now (callers check [`Capabilities::backup_now`]
    /// first); what the provider answered.
    fn start_backup(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<BackupRequested, ApiError>> + Send {
        let kind = self.kind();
        async move { Err(unsupported(kind, id, "takes no backup on request")) }
    }
    /// The newest backup and the start of the recovery window, for the daemon.
    fn watch(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<BackupWatch, ApiError>> + Send;
    /// The request a server-side restore of `id` to `target` into `dest` sends; `None`: the
    /// provider has no such request (see [`Capabilities`]). `Stop::Latest` only where
    /// [`Capabilities::latest`] says so; elsewhere it is refused.
    fn restore_call(
        &self,
        id: &str,
        target: crate::when::Stop,
        dest: &Dest,
        window: &Window,
    ) -> impl std::future::Future<Output = Result<Option<Call>, CallError>> + Send;
    /// The request that switches `id` to the database a restore made beside it.
    fn switch_call(&self, _id: &str) -> Option<Call> {
        None
    }
    /// Sends a restore request; the new cluster's id when the answer names one.
    fn send_restore(
        &self,
        call: &Call,
    ) -> impl std::future::Future<Output = Result<Option<String>, ApiError>> + Send;
    /// How far the cluster being restored has come.
    fn phase(&self, id: &str) -> impl std::future::Future<Output = Result<Phase, ApiError>> + Send;
    /// How to connect to cluster `id`; by default its host, as the cluster's answer names it.
    fn way_in(
        &self,
        id: &str,
        _ask: WayInAsk<'_>,
    ) -> impl std::future::Future<Output = Result<WayIn, ApiError>> + Send {
        async move {
            let c = self.get_cluster(id).await?;
            Ok(WayIn {
                host: c.host,
                notes: vec!["the host is the cluster's; the provider's API hands out no role or password for it".into()],
                ..Default::default()
            })
        }
    }
}

/// What a provider without `what` answers when asked for it anyway (its callers ask its
/// [`Capabilities`] first).
fn unsupported(kind: ProviderKind, id: &str, what: &str) -> ApiError {
    ApiError::Malformed {
        req: format!("cluster {id}"),
        detail: format!("{} {what}", kind.title()),
    }
}

/// A boxed future, as a trait object's methods return them.
pub type BoxFut<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Every cluster a provider's credentials can see, each with its team where it has teams.
pub type Listed = Vec<(Cluster, Option<Team>)>;

/// The provider a cluster lives at, as a trait object: what commands, the refresh, the restores
/// and the daemon ask of any provider (the catalog, repository credentials, server-side
/// restores). They hold a [`Client`] and never name a provider's own client; a provider is
/// added by implementing [`Api`] in its folder.
pub trait Provider: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> ProviderKind;
    /// Every cluster the credentials can see, with its team where the provider has teams.
    fn list_all_clusters(&self) -> BoxFut<'_, Result<Listed, ApiError>>;
    fn get_cluster<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Cluster, ApiError>>;
    /// The cluster's state and the start of its recovery window.
    fn cluster_status<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<ClusterStatus, ApiError>>;
    /// The cluster's backups, every page (IONOS: its backup chains).
    fn list_backups<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Vec<Backup>, ApiError>>;
    /// Fresh credentials for the cluster's pgBackRest repository (callers check
    /// [`Capabilities::repo_credentials`] first).
    fn create_backup_token<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<BackupToken, ApiError>>;
    /// The times the provider can restore the cluster to.
    fn window<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Window, ApiError>>;
    /// Deletes the cluster (callers check [`Capabilities::destroy`] first).
    fn delete_cluster<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<(), ApiError>>;
    /// Whether the cluster is still there, and deleting.
    fn presence<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Presence, ApiError>>;
    /// Asks for a backup now (callers check [`Capabilities::backup_now`] first).
    fn start_backup<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<BackupRequested, ApiError>>;
    /// The newest backup and the start of the recovery window, for the daemon.
    fn backup_watch<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<BackupWatch, ApiError>>;
    /// The request a server-side restore of `id` to `target` sends (nothing is sent yet).
    /// `None`: the provider has no such request (Bridge in place).
    fn restore_call<'a>(
        &'a self,
        id: &'a str,
        target: crate::when::Stop,
        dest: &'a Dest,
        window: &'a Window,
    ) -> BoxFut<'a, Result<Option<Call>, CallError>>;
    /// The request that switches `id` to the database an in-place restore made beside it
    /// (Launcher's `switch`); `None`: the provider has none.
    fn switch_call(&self, id: &str) -> Option<Call>;
    /// Sends a restore request; the new cluster's id when the answer names one.
    fn send_restore<'a>(&'a self, call: &'a Call) -> BoxFut<'a, Result<Option<String>, ApiError>>;
    /// How far the cluster being restored has come.
    fn phase<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Phase, ApiError>>;
    /// How to connect to cluster `id` (its host, a role and its password where the provider
    /// hands them out).
    fn way_in<'a>(&'a self, id: &'a str, ask: WayInAsk<'a>) -> BoxFut<'a, Result<WayIn, ApiError>>;
}

impl<T: Api> Provider for T {
    fn kind(&self) -> ProviderKind {
        Api::kind(self)
    }
    fn list_all_clusters(&self) -> BoxFut<'_, Result<Listed, ApiError>> {
        Box::pin(Api::list_all_clusters(self))
    }
    fn get_cluster<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Cluster, ApiError>> {
        Box::pin(Api::get_cluster(self, id))
    }
    fn cluster_status<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<ClusterStatus, ApiError>> {
        Box::pin(Api::cluster_status(self, id))
    }
    fn list_backups<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Vec<Backup>, ApiError>> {
        Box::pin(Api::list_backups(self, id))
    }
    fn create_backup_token<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<BackupToken, ApiError>> {
        Box::pin(Api::create_backup_token(self, id))
    }
    fn window<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Window, ApiError>> {
        Box::pin(Api::window(self, id))
    }
    fn backup_watch<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<BackupWatch, ApiError>> {
        Box::pin(Api::watch(self, id))
    }
    fn delete_cluster<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(Api::delete_cluster(self, id))
    }
    fn presence<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Presence, ApiError>> {
        Box::pin(Api::presence(self, id))
    }
    fn start_backup<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<BackupRequested, ApiError>> {
        Box::pin(Api::start_backup(self, id))
    }
    fn restore_call<'a>(
        &'a self,
        id: &'a str,
        target: crate::when::Stop,
        dest: &'a Dest,
        window: &'a Window,
    ) -> BoxFut<'a, Result<Option<Call>, CallError>> {
        Box::pin(Api::restore_call(self, id, target, dest, window))
    }
    fn switch_call(&self, id: &str) -> Option<Call> {
        Api::switch_call(self, id)
    }
    fn send_restore<'a>(&'a self, call: &'a Call) -> BoxFut<'a, Result<Option<String>, ApiError>> {
        Box::pin(Api::send_restore(self, call))
    }
    fn phase<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Phase, ApiError>> {
        Box::pin(Api::phase(self, id))
    }
    fn way_in<'a>(&'a self, id: &'a str, ask: WayInAsk<'a>) -> BoxFut<'a, Result<WayIn, ApiError>> {
        Box::pin(Api::way_in(self, id, ask))
    }
}

/// The provider a cluster lives at: any [`Provider`], shared.
pub type Client = std::sync::Arc<dyn Provider>;

impl dyn Provider {
    /// What the provider can do.
    pub fn capabilities(&self) -> Capabilities {
        self.kind().capabilities()
    }

    /// The newest backup and the start of the recovery window, for the daemon; with `name`,
    /// the cluster's name too (a label of the metrics), where the provider answers for the
    /// cluster (the watch does not fail for want of a name).
    pub async fn watch(&self, id: &str, name: bool) -> Result<BackupWatch, ApiError> {
        if !name {
            return self.backup_watch(id).await;
        }
        let (watched, cluster) = tokio::join!(self.backup_watch(id), self.get_cluster(id));
        let mut watched = watched?;
        watched.name = cluster.ok().map(|c| c.name).filter(|n| !n.is_empty());
        Ok(watched)
    }

    /// The id of the cluster named `name`, if there is one (to find what a request that timed
    /// out may have created).
    pub async fn find_named(&self, name: &str) -> Result<Option<String>, ApiError> {
        Ok(self
            .list_all_clusters()
            .await?
            .into_iter()
            .find(|(c, _)| c.name == name)
            .map(|(c, _)| c.id))
    }

    /// The restored cluster's id, name and host.
    pub async fn restored(&self, id: &str) -> Result<Restored, ApiError> {
        let c = self.get_cluster(id).await?;
        Ok(Restored {
            id: c.id,
            name: c.name,
            host: c.host,
        })
    }
}

pub use crate::ids::is_uuid;
use crate::text::excerpt;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `[api]`: where the Crunchy Bridge API is and its key, and how every provider's API is
/// talked to (timeouts, retries, concurrency, waits). The config parses it; the providers own it.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub url: reqwest::Url,
    pub key_file: Option<std::path::PathBuf>,
    /// How many clusters are talked to at once.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// Retries after the first attempt, for connect errors, timeouts, 5xx and 429.
    pub retries: u32,
    /// First backoff delay; doubles each retry, with full jitter.
    pub retry_base: std::time::Duration,
    /// How long `restore --into`/`--in-place` waits for the provider's cluster to be ready.
    pub wait_timeout: std::time::Duration,
    /// How long a backup token is assumed to stay valid (Bridge tokens state no expiry).
    pub token_lifetime: std::time::Duration,
}

/// Why no restore request was made.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request cannot be made as given (a target no backup chain covers, a connection
    /// missing, a body outside the API's limits): nothing was sent, a usage error.
    #[error("{0}")]
    Refused(String),
    /// Looking at the cluster for the request failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// What kind of failure an API call (or a refresh) ended in. The variant decides what the
/// daemon does next and how `status` and the Prometheus file show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The API key was refused (401): asking again soon will not help; fix or rotate the key
    /// (SIGHUP picks a new one up at once).
    Auth,
    /// No such cluster, or no access to it (403, 404).
    NotFound,
    /// The network or the API failed, or rate-limited us: retried with backoff.
    Transient,
    /// The API answered something unusable (a malformed body, a token without a usable store).
    Malformed,
    /// The credential had expired before it arrived (clock skew, or a broken API).
    Expired,
    /// A problem on this host: a clashing option or section, a file that cannot be written.
    Local,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Auth => "auth",
            FailureKind::NotFound => "not_found",
            FailureKind::Transient => "transient",
            FailureKind::Malformed => "malformed",
            FailureKind::Expired => "expired",
            FailureKind::Local => "local",
        }
    }
}

/// A decoded backup token: where the cluster's pgBackRest repository is, and how to get in.
#[derive(Debug, Clone)]
pub struct BackupToken {
    pub id: String,
    pub cluster_id: String,
    pub team_id: String,
    pub repo_path: String,
    pub stanza: String,
    pub store: Store,
    /// When the credentials stop working, where the token itself says so (an Azure SAS's `se=`);
    /// `None`: the token states no expiry (Bridge documents none; `api.token_lifetime` applies).
    pub expires_at: Option<OffsetDateTime>,
}

/// The expiry stated by an Azure SAS token (`se=`), if `key` is one.
pub fn sas_expiry(key: &str) -> Option<OffsetDateTime> {
    let se = url::form_urlencoded::parse(key.trim_start_matches('?').as_bytes())
        .find(|(k, _)| k == "se")?
        .1;
    let t = OffsetDateTime::parse(&se, &time::format_description::well_known::Rfc3339).ok()?;
    // An expiry out of range states nothing usable: `api.token_lifetime` applies.
    crate::when::in_range("se", t)
        .map_err(|e| tracing::warn!("an Azure SAS token's expiry is ignored: {e}"))
        .ok()
}

#[derive(Debug, Clone)]
pub enum Store {
    S3(S3Store),
    Azure(AzureStore),
    Gcs(GcsStore),
}

impl Store {
    /// The pgBackRest `repo1-type` value.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::S3(_) => "s3",
            Store::Azure(_) => "azure",
            Store::Gcs(_) => "gcs",
        }
    }
}

#[derive(Debug, Clone)]
pub struct S3Store {
    pub bucket: String,
    pub region: String,
    pub key: SecretString,
    pub key_secret: SecretString,
    pub token: SecretString,
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AzureStore {
    pub account: SecretString,
    pub container: String,
    pub key: SecretString,
    pub key_type: AzureKeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureKeyType {
    Shared,
    Sas,
}

impl AzureKeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            AzureKeyType::Shared => "shared",
            AzureKeyType::Sas => "sas",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GcsStore {
    pub bucket: String,
    /// `None`: the token carries no credential, as Bridge documents it for GCP clusters; the
    /// user's own service-account key (in `[cluster.options]`) is used.
    pub credential: Option<GcsCredential>,
}

#[derive(Debug, Clone)]
pub enum GcsCredential {
    /// An OAuth access token, sent as `Authorization: Bearer <token>`.
    Token(SecretString),
    /// A service-account key (JSON text); pgBackRest wants it in a file of its own.
    ServiceKey(SecretString),
}

#[cfg(test)]
mod tests {
    #[test]
    fn sas_expiry_is_read_from_se() {
        let e = super::sas_expiry("sv=2018-11-09&sr=c&se=2026-11-22T03%3A00%3A00Z&sp=rl&sig=abc")
            .unwrap();
        assert_eq!(e, time::macros::datetime!(2026-11-22 03:00:00 UTC));
        assert_eq!(super::sas_expiry("not a sas"), None);
    }
}

impl BackupWatch {
    /// What a provider that lists finished backups shows: the newest finish (kept as the
    /// list's pages came, never the list) and the window's start.
    pub fn newest(
        last_backup: Option<OffsetDateTime>,
        window_start: Option<OffsetDateTime>,
    ) -> BackupWatch {
        BackupWatch {
            last_backup,
            window_start,
            problem: None,
            name: None,
        }
    }
}

/// One backup, as the backups list reports it (the API's fields, unknown ones kept for `--json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    pub name: String,
    #[serde(
        deserialize_with = "api_time::started_at",
        serialize_with = "time::serde::rfc3339::serialize"
    )]
    pub started_at: OffsetDateTime,
    /// `null` (or absent) while the backup is still running: such a backup is listed, never chosen.
    #[serde(
        default,
        deserialize_with = "api_time::finished_at",
        serialize_with = "time::serde::rfc3339::option::serialize"
    )]
    pub finished_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub lsn_start: Option<String>,
    #[serde(default)]
    pub lsn_stop: Option<String>,
    #[serde(default)]
    pub size_bytes: Option<u64>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The provider's own facts about this entry, which only its folder reads and
    /// downcasts (IONOS: the backup chain it is; IONOS lists chains, not base backups).
    #[serde(skip)]
    pub own: Option<Own>,
    /// The provider's own object, where it is not Bridge's shape (what `--json` prints).
    #[serde(skip)]
    pub raw: Option<serde_json::Value>,
}

impl Backup {
    /// The provider's own object, for `--json`.
    pub fn json(&self) -> serde_json::Value {
        self.raw
            .clone()
            .unwrap_or_else(|| serde_json::to_value(self).unwrap_or_default())
    }
}

/// A provider's own facts about a backup ([`Backup::own`]).
pub type Own = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// A cluster, as the clusters list reports it. Only what bridgerest shows is typed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cluster {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub major_version: Option<u32>,
    #[serde(default)]
    pub team_id: Option<String>,
    /// Where to connect to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The provider's state for it, where the cluster object carries one (IONOS, Launcher).
    #[serde(skip)]
    pub state: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The provider's own object, where it is not Bridge's shape (what `--json` prints).
    #[serde(skip)]
    pub raw: Option<serde_json::Value>,
}

impl Cluster {
    /// The provider's own object, for `--json`.
    pub fn json(&self) -> serde_json::Value {
        self.raw
            .clone()
            .unwrap_or_else(|| serde_json::to_value(self).unwrap_or_default())
    }
}

/// A team (`GET /teams`): the API's fields, unknown ones kept for `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub is_personal: bool,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Team {
    /// How a table shows it: "personal" for the personal team, as the official client does.
    pub fn shown(&self) -> String {
        match self.is_personal {
            true => "personal".into(),
            false => excerpt(&self.name, 40),
        }
    }
}

/// `GET /clusters/{id}/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatus {
    #[serde(
        default,
        deserialize_with = "api_time::oldest_backup_at",
        serialize_with = "time::serde::rfc3339::option::serialize"
    )]
    pub oldest_backup_at: Option<OffsetDateTime>,
    pub state: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The Bridge API's times, each refused out of [`crate::when::YEARS`] naming its field.
mod api_time {
    use serde::Deserializer;
    use time::OffsetDateTime;

    pub fn started_at<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        crate::when::deserialize(d, "started_at")
    }

    pub fn finished_at<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        crate::when::deserialize_option(d, "finished_at")
    }

    pub fn oldest_backup_at<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        crate::when::deserialize_option(d, "oldest_backup_at")
    }
}
