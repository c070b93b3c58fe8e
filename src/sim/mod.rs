//! A simulator of the provider APIs, for tests, benchmarks and the quick start: Crunchy Bridge
//! at the root, IONOS DBaaS under `/ionos` ([`ionos`]), Launcher under
//! `/launcher/<tenant>/api/v1` ([`launcher`]).
//!
//! It serves the documented endpoints from a [`SimState`]: each API's auth, pagination and
//! error body, fresh credentials per Bridge backup token, server-side restores that take
//! `restore_ms` (Bridge forks, through the states of `fork_states`; IONOS, Launcher), deletions
//! that take `delete_ms` before the API answers 404, on-demand backups (Bridge's
//! `start-backup` a no-op while one runs or within `backup_cooldown_ms`), and switchable faults (401, 429 with
//! Retry-After, 5xx, slow or late answers, malformed JSON), in each API's error shape. Admin
//! endpoints under `/_sim/` (no auth) change faults at run time and report what was issued, so
//! tests can scan for leaks. With [`Sim::with_real_postgres`] every cluster it creates is a real
//! PostgreSQL on its own loopback address ([`postgres`]); without, clusters are JSON only.

pub mod account;
mod bridge;
pub mod faults;
pub mod ionos;
pub mod launcher;
mod pages;
pub mod postgres;
mod routes;
mod sample;
pub mod staged;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use account::SimTeam;
pub use faults::{Fault, FaultKind};
pub use launcher::LAUNCHER_READER_PASSWORD;
pub use postgres::{RealPostgres, Running, SimRole};
pub use sample::{
    describe_credentials, quick_start_state, sample_state, sample_state_with_teams, HIDDEN_CLUSTER,
    ORG_TEAM, QUICK_START_GCS_CLUSTER, QUICK_START_KEY,
};

/// Everything the simulator serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimState {
    /// Accepted Bearer keys.
    pub api_keys: Vec<String>,
    #[serde(default)]
    pub clusters: Vec<SimCluster>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// The teams the keys see (default: one personal team). `GET /clusters` without `team_id`
    /// lists the personal team's clusters only; a cluster of a team not listed answers 403.
    #[serde(default = "account::default_teams")]
    pub teams: Vec<SimTeam>,
    /// How long a backup started with `start-backup` runs (listed only when it has finished,
    /// as seed 004 says).
    #[serde(default = "default_backup_ms")]
    pub backup_duration_ms: u64,
    /// A `start-backup` this soon after the cluster's last accepted one is a no-op (answered
    /// 200, no backup started), as is one while a backup it started runs: seed 004 says the
    /// request "might be a no-op in case a backup is already in progress, or a backup was
    /// requested recently".
    #[serde(default = "default_backup_cooldown_ms")]
    pub backup_cooldown_ms: u64,
    /// How long a deleted cluster takes to go: Bridge `destroying`, IONOS `DESTROYING`,
    /// Launcher `deleting` meanwhile; then the API no longer knows it (404).
    #[serde(default = "default_delete_ms")]
    pub delete_ms: u64,
    /// Added to every answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// How long a server-side restore takes (a Bridge fork passes through `fork_states`, an
    /// IONOS cluster is BUSY, a Launcher database `creating`/`restoring` meanwhile).
    #[serde(default = "default_restore_ms")]
    pub restore_ms: u64,
    /// The states a Bridge fork passes through on its way to `ready`, each for its `ms`.
    /// Unset: [`DEFAULT_FORK_STATES`], each for a quarter of `restore_ms`.
    #[serde(default)]
    pub fork_states: Option<Vec<ForkStep>>,
    /// How long an accepted in-place restore (IONOS, Launcher) leaves the cluster as it was
    /// before its state first changes (the real APIs answer before the work shows).
    #[serde(default)]
    pub restore_start_ms: u64,
    /// The IONOS DBaaS API under `/ionos` (404 there if unset).
    #[serde(default)]
    pub ionos: Option<ionos::IonosSim>,
    /// The Launcher API under `/launcher/<tenant>/api/v1` (404 there if unset).
    #[serde(default)]
    pub launcher: Option<launcher::LauncherSim>,
}

fn default_restore_ms() -> u64 {
    3000
}

fn default_backup_cooldown_ms() -> u64 {
    60_000
}

fn default_delete_ms() -> u64 {
    2000
}

/// The states a Bridge fork passes through before `ready` unless `fork_states` says others:
/// made (`creating`), its base backup restored, the WAL replayed to the target, then made
/// ready. All four are states of Crunchy's own client (`cb` 3.6.4, `ClusterStatus::State`).
pub const DEFAULT_FORK_STATES: [&str; 4] = ["creating", "restoring", "replaying", "finalizing"];

/// One state of a fork's way to `ready`, and how long it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkStep {
    pub state: String,
    pub ms: u64,
}

impl SimState {
    /// The states a new fork passes through, with their durations.
    pub fn fork_steps(&self) -> Vec<ForkStep> {
        self.fork_states.clone().unwrap_or_else(|| {
            DEFAULT_FORK_STATES
                .iter()
                .map(|s| ForkStep {
                    state: s.to_string(),
                    ms: self.restore_ms / DEFAULT_FORK_STATES.len() as u64,
                })
                .collect()
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimCluster {
    pub id: String,
    pub name: String,
    #[serde(default = "default_team")]
    pub team_id: String,
    #[serde(default = "default_provider")]
    pub provider_id: String,
    #[serde(default = "default_region")]
    pub region_id: String,
    #[serde(default = "default_major")]
    pub major_version: u32,
    /// The pgBackRest stanza the tokens name (default: the cluster id).
    #[serde(default)]
    pub stanza: Option<String>,
    #[serde(default = "default_repo_path")]
    pub repo_path: String,
    /// The backups list, verbatim objects (name, started_at, finished_at, ...).
    #[serde(default)]
    pub backups: Vec<Value>,
    pub store: StoreTemplate,
    /// If set, `POST backup-tokens` answers exactly this JSON (to test odd tokens).
    #[serde(default)]
    pub token_override: Option<Value>,
    /// How long the credentials of each token work (seconds).
    #[serde(default = "default_lifetime")]
    pub token_lifetime_secs: u64,
    /// The `state` `GET /clusters/{id}/status` answers (unset: `ready`), e.g. `suspended`; a
    /// fork's states replace it as they come.
    #[serde(default)]
    pub state: Option<String>,
}

fn default_lifetime() -> u64 {
    3600
}

fn default_team() -> String {
    "eaevtjiudzeq7bsqbbpiscund4".into()
}
fn default_provider() -> String {
    "aws".into()
}
fn default_region() -> String {
    "us-east-1".into()
}
fn default_major() -> u32 {
    15
}
fn default_repo_path() -> String {
    "/pgbackrest/repo".into()
}

/// Where a cluster's repository is; the credentials are made fresh for each token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreTemplate {
    S3 {
        bucket: String,
        region: String,
        #[serde(default)]
        kms_key_id: Option<String>,
    },
    Azure {
        account: String,
        container: String,
        /// "sas" (default) or "shared".
        #[serde(default = "default_key_type")]
        key_type: String,
        /// A fixed key to hand out (e.g. Azurite's shared key); random if unset.
        #[serde(default)]
        key: Option<String>,
    },
    Gcs {
        bucket: String,
        /// "token" (default), "key" (service-account JSON) or "none".
        #[serde(default = "default_gcs_credential")]
        credential: String,
    },
}

fn default_key_type() -> String {
    "sas".into()
}
fn default_gcs_credential() -> String {
    "token".into()
}

fn default_backup_ms() -> u64 {
    2000
}

/// What an [`Issuer`] is asked for: credentials for one token of `cluster`.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub cluster: SimCluster,
    pub token_id: String,
    pub lifetime: Duration,
}

/// Credentials made by an [`Issuer`]: the store object of the token (`aws`, `azure` or `gcp`
/// contents) and the secrets in it (for leak scans).
#[derive(Debug, Clone)]
pub struct Issued {
    pub store: Value,
    pub secrets: Vec<String>,
}

/// Makes the credentials a token carries. Without one the simulator makes random strings; the
/// end-to-end tests plug in one that makes credentials a local object store really accepts,
/// and revokes them when their lifetime ends.
pub type Issuer = Arc<
    dyn Fn(IssueRequest) -> Pin<Box<dyn Future<Output = Result<Issued, String>> + Send>>
        + Send
        + Sync,
>;

#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub by_path: BTreeMap<String, u64>,
    pub idempotency_keys: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) state: SimState,
    stats: Stats,
    /// Every secret handed out, for leak scans.
    issued: Vec<String>,
    /// Access tokens from `POST /access-tokens`, with their expiry.
    access_tokens: Vec<(String, OffsetDateTime)>,
    /// Each API key's id (an access token's `api_key_id`), made on the key's first exchange.
    api_key_ids: HashMap<String, String>,
    /// `Idempotency-Key` → the request it came with and the answer given (replayed for the
    /// same request, 409 for another).
    idempotency: HashMap<String, (String, StatusCode, Bytes)>,
    /// Backups started with `start-backup`, listed once they finish.
    running: Vec<RunningBackup>,
    /// Forks on their way to `ready` (or to a `fork_ends` fault's state): cluster id → the
    /// states still to come.
    forks: HashMap<String, staged::Staged>,
    /// Role passwords given out by `GET /clusters/{id}/roles/{name}`: (cluster, role) → the
    /// password, the same on every read (as a role's is until it is rotated).
    roles: HashMap<(String, String), String>,
    /// When each cluster's last `start-backup` that started one was accepted.
    backup_requested: HashMap<String, OffsetDateTime>,
    /// Clusters being deleted (`destroying`): id → when they are gone.
    deleting: HashMap<String, OffsetDateTime>,
    /// Clusters deleted: their endpoints answer 404 (an id never seen answers 403).
    deleted: std::collections::HashSet<String>,
    /// The real PostgreSQL behind created clusters, if asked for ([`Sim::with_real_postgres`]).
    real: Option<postgres::Fleet>,
}

/// A backup `start-backup` started on a Bridge cluster: not listed until `done`.
#[derive(Debug)]
struct RunningBackup {
    cluster: String,
    started: OffsetDateTime,
    done: OffsetDateTime,
}

/// A simulator; cheap to clone (shared state).
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<Inner>>,
    issuer: Option<Issuer>,
    /// The pgBackRest options that reach the issuer's store from this host (endpoint, port,
    /// CA file), as a provider's own hosts know them.
    store_options: Vec<(String, String)>,
}

impl Sim {
    pub fn new(state: SimState) -> Sim {
        Sim {
            inner: Arc::new(Mutex::new(Inner {
                state,
                stats: Stats::default(),
                issued: Vec::new(),
                access_tokens: Vec::new(),
                api_key_ids: HashMap::new(),
                idempotency: HashMap::new(),
                running: Vec::new(),
                forks: HashMap::new(),
                roles: HashMap::new(),
                backup_requested: HashMap::new(),
                deleting: HashMap::new(),
                deleted: Default::default(),
                real: None,
            })),
            issuer: None,
            store_options: Vec::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Uses `issuer` to make every token's credentials.
    pub fn with_issuer(mut self, issuer: Issuer) -> Sim {
        self.issuer = Some(issuer);
        self
    }

    /// The pgBackRest options besides a token's that reach the issuer's store from this host
    /// (`repo1-s3-endpoint`, `repo1-storage-port`, `repo1-storage-ca-file`, ...). With an
    /// issuer and [`Sim::with_real_postgres`], a Bridge fork is restored from its source's
    /// repository with them and fresh credentials ([`postgres`]).
    pub fn with_store_options(mut self, options: Vec<(String, String)>) -> Sim {
        self.store_options = options;
        self
    }

    /// Makes every cluster the simulator creates (a Bridge fork, an IONOS cluster `fromBackup`
    /// or restored in place, a Launcher `pitr-clone`, `pitr` or restore) a real PostgreSQL 15
    /// on its own loopback address, port 5432, with TLS and the roles the provider hands
    /// out ([`postgres`]); the providers' answers then name that address. Fails if PostgreSQL
    /// 15, the OS user or `cfg.root` cannot be used.
    pub fn with_real_postgres(self, cfg: RealPostgres) -> Result<Sim, postgres::Error> {
        let fleet = postgres::Fleet::new(cfg)?;
        self.lock().real = Some(fleet);
        Ok(self)
    }

    /// Where cluster `id`'s real PostgreSQL is, if it has one (with
    /// [`Sim::with_real_postgres`]; until it is deleted).
    pub fn real_postgres(&self, id: &str) -> Option<Running> {
        self.lock().real.as_ref()?.running(id)
    }

    /// Changes one cluster of the state (no-op for an unknown id).
    fn update_cluster(&self, cluster: &str, f: impl FnOnce(&mut SimCluster)) {
        if let Some(c) = self
            .lock()
            .state
            .clusters
            .iter_mut()
            .find(|c| c.id == cluster)
        {
            f(c);
        }
    }

    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.lock().state.faults = faults;
    }

    /// Replaces a cluster's token answer with raw JSON (or back to normal with `None`).
    pub fn set_token_override(&self, cluster: &str, raw: Option<Value>) {
        self.update_cluster(cluster, |c| c.token_override = raw);
    }

    /// Puts a Bridge cluster into `state` now (`None`: `ready`), e.g. a fork into `suspended`
    /// part way; the fork's states still to come are dropped.
    pub fn set_cluster_state(&self, cluster: &str, state: Option<&str>) {
        self.lock().forks.remove(cluster);
        self.update_cluster(cluster, |c| c.state = state.map(str::to_string));
    }

    /// Forgets a cluster (its endpoints then answer 404).
    pub fn remove_cluster(&self, cluster: &str) {
        self.lock().state.clusters.retain(|c| c.id != cluster);
    }

    /// Changes a cluster's store (e.g. to hand out GCS service keys instead of tokens).
    /// Replaces a cluster's backup list (the API's objects, oldest first), e.g. with the
    /// backups a real pgBackRest repository holds.
    pub fn set_backups(&self, cluster: &str, backups: Vec<Value>) {
        self.update_cluster(cluster, |c| c.backups = backups);
    }

    /// A cluster's backup list as served (empty for an unknown id).
    pub fn backups(&self, cluster: &str) -> Vec<Value> {
        self.lock()
            .state
            .clusters
            .iter()
            .find(|c| c.id == cluster)
            .map(|c| c.backups.clone())
            .unwrap_or_default()
    }

    pub fn set_store(&self, cluster: &str, store: StoreTemplate) {
        self.update_cluster(cluster, |c| c.store = store);
    }

    /// The simulated IONOS clusters as they are now (restores included).
    /// The IONOS create requests the simulator accepted, in order.
    pub fn ionos_create_requests(&self) -> Vec<Value> {
        self.lock()
            .state
            .ionos
            .as_ref()
            .map(|i| i.create_requests.clone())
            .unwrap_or_default()
    }

    pub fn ionos_clusters(&self) -> Vec<ionos::IonosCluster> {
        self.lock()
            .state
            .ionos
            .as_ref()
            .map(|i| i.clusters.clone())
            .unwrap_or_default()
    }

    /// The simulated Launcher databases as they are now.
    pub fn launcher_databases(&self) -> Vec<launcher::LauncherDb> {
        self.lock()
            .state
            .launcher
            .as_ref()
            .map(|l| l.databases.clone())
            .unwrap_or_default()
    }

    /// The Bridge clusters as they are now (forks included).
    pub fn clusters(&self) -> Vec<SimCluster> {
        self.lock().state.clusters.clone()
    }

    /// Lets every IONOS and Launcher restore end failed with `message` (or succeed: `None`).
    pub fn fail_restores(&self, message: Option<&str>) {
        let mut g = self.lock();
        if let Some(i) = g.state.ionos.as_mut() {
            i.fail_restores = message.map(str::to_string);
        }
        if let Some(l) = g.state.launcher.as_mut() {
            l.fail_restores = message.map(str::to_string);
        }
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Every secret the simulator has handed out so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = axum::Router::new()
            .fallback(routes::handle)
            .with_state(self);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// A simulator running on its own thread, stopped when dropped. For tests and tools.
pub struct SimHandle {
    pub sim: Sim,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimHandle {
    pub fn start(state: SimState) -> std::io::Result<SimHandle> {
        SimHandle::start_sim(Sim::new(state))
    }

    pub fn start_sim(sim: Sim) -> std::io::Result<SimHandle> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = sim.clone();
        let thread = std::thread::Builder::new()
            .name("bridge-sim".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) {
                        let _ = s
                            .serve(listener, async move {
                                let _ = rx.await;
                            })
                            .await;
                    }
                });
            })?;
        Ok(SimHandle {
            sim,
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn rand_str(n: usize, alphabet: &[u8]) -> String {
    (0..n)
        .map(|_| alphabet[fastrand::usize(..alphabet.len())] as char)
        .collect()
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const EID: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A fresh EID (26 chars of lowercase base32, last one of the allowed final set).
pub fn new_eid() -> String {
    let mut s = rand_str(25, EID);
    s.push(b"4aeimquy"[fastrand::usize(..8)] as char);
    s
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let rid = new_eid();
    let body = json!({"code": status.canonical_reason().unwrap_or("error").to_lowercase().replace(' ', "_"), "is_transient": status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS, "message": message, "request_id": rid});
    (status, [("x-request-id", rid)], axum::Json(body)).into_response()
}

/// A pgBackRest full-backup label for a start time, like `20261121-003313F`.
/// A backup's name as Bridge documents it: `YYYY/<pgBackRest label>` (e.g. `2020/20200913-195337F`).
fn backup_label(t: OffsetDateTime) -> String {
    format!(
        "{:04}/{:04}{:02}{:02}-{:02}{:02}{:02}F",
        t.year(),
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
