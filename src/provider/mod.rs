//! What the providers hand out: backup tokens (repository location and credentials), backups,
//! clusters, and [`Client`], the one type the rest of bridgerest talks to a provider through.
//! [`bridge`] is the Crunchy Bridge API client.

pub mod bridge;
pub mod http;

pub use bridge::ApiError;

/// What every provider can tell about its clusters: the catalog.
pub trait Catalog {
    /// Every cluster the credentials can see, with its team where the provider has teams.
    fn list_all_clusters(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<(Cluster, Option<Team>)>, ApiError>> + Send;
    fn get_cluster(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Cluster, ApiError>> + Send;
    /// The cluster's state and the start of its recovery window.
    fn cluster_status(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<ClusterStatus, ApiError>> + Send;
    /// The cluster's backups, every page.
    fn list_backups(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Backup>, ApiError>> + Send;
}

/// Providers that hand out credentials for a cluster's pgBackRest repository, so that a restore
/// can run here. (Providers that restore server-side only will implement a trait of their own
/// for that, and not this one.)
pub trait RepoCredentials {
    fn create_backup_token(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<BackupToken, ApiError>> + Send;
}

/// The provider a configuration's clusters live at. Commands, the refresh and the recovery ask
/// it for what they need (the catalog: clusters, backups, status; repository credentials); they
/// never name a provider's own client. Crunchy Bridge is the only provider so far: another is a
/// new variant, with its own client under `provider/`.
#[derive(Clone, Debug)]
pub enum Client {
    Bridge(bridge::BridgeClient),
}

impl Client {
    /// A Crunchy Bridge client for `api` with `key`.
    pub fn bridge(api: &crate::config::ApiConfig, key: SecretString) -> anyhow::Result<Client> {
        Ok(Client::Bridge(bridge::BridgeClient::new(api, key)?))
    }

    /// Every cluster the credentials can see, with its team where the provider has teams.
    pub async fn list_all_clusters(&self) -> Result<Vec<(Cluster, Option<Team>)>, ApiError> {
        match self {
            Client::Bridge(c) => Catalog::list_all_clusters(c).await,
        }
    }

    pub async fn get_cluster(&self, id: &str) -> Result<Cluster, ApiError> {
        match self {
            Client::Bridge(c) => Catalog::get_cluster(c, id).await,
        }
    }

    /// The cluster's state and the start of its recovery window.
    pub async fn cluster_status(&self, id: &str) -> Result<ClusterStatus, ApiError> {
        match self {
            Client::Bridge(c) => Catalog::cluster_status(c, id).await,
        }
    }

    /// The cluster's backups, every page.
    pub async fn list_backups(&self, id: &str) -> Result<Vec<Backup>, ApiError> {
        match self {
            Client::Bridge(c) => Catalog::list_backups(c, id).await,
        }
    }

    /// Fresh credentials for the cluster's pgBackRest repository.
    pub async fn create_backup_token(&self, id: &str) -> Result<BackupToken, ApiError> {
        match self {
            Client::Bridge(c) => RepoCredentials::create_backup_token(c, id).await,
        }
    }
}

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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

/// At most `max` characters of text from an API, control characters (terminal escapes, line
/// breaks) shown escaped, "…" where it was cut: how any API-supplied text is shown.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The expiry stated by an Azure SAS token (`se=`), if `key` is one.
pub fn sas_expiry(key: &str) -> Option<OffsetDateTime> {
    let se = url::form_urlencoded::parse(key.trim_start_matches('?').as_bytes())
        .find(|(k, _)| k == "se")?
        .1;
    OffsetDateTime::parse(&se, &time::format_description::well_known::Rfc3339).ok()
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

/// One backup, as the backups list reports it (the API's fields, unknown ones kept for `--json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// `null` (or absent) while the backup is still running: such a backup is listed, never chosen.
    #[serde(default, with = "time::serde::rfc3339::option")]
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
}

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
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
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
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub oldest_backup_at: Option<OffsetDateTime>,
    pub state: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
