//! A simulator of the Crunchy Bridge API, for tests, benchmarks and the quick start.
//!
//! It serves the documented endpoints from a [`SimState`]: Bearer auth, cursor pagination, the
//! documented error body, fresh credentials per backup token, and switchable faults (401, 429
//! with Retry-After, 5xx, slow answers, malformed JSON). Admin endpoints under `/_sim/` (no
//! auth) change faults at run time and report what was issued, so tests can scan for leaks.

pub mod account;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use account::SimTeam;

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
    /// How long a backup started with `start-backup` runs (listed with `finished_at: null`).
    #[serde(default = "default_backup_ms")]
    pub backup_duration_ms: u64,
    /// Added to every answer.
    #[serde(default)]
    pub latency_ms: u64,
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

/// A fault injected into matching requests. In JSON (`PUT /_sim/faults`, a state file's
/// `faults`) one flat object: `kind` and its fields beside `path`, `method`, `times`, e.g.
/// `{"kind":"rate_limit","retry_after":2,"times":3,"path":"backup-tokens"}`. Unknown fields are
/// refused by name (serde cannot combine `deny_unknown_fields` with a flattened tagged enum, so
/// the flat form is its own struct).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawFault", into = "RawFault")]
pub struct Fault {
    /// Applies to requests whose path contains this (all requests if unset).
    pub path: Option<String>,
    /// Applies only to this method (all if unset).
    pub method: Option<String>,
    /// How many requests it hits before it is used up (forever if unset).
    pub times: Option<u32>,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// 401 with the documented error body.
    Unauthorized,
    /// 429 with `Retry-After: retry_after` seconds.
    RateLimit { retry_after: u64 },
    /// A 5xx answer (default 500).
    ServerError {
        #[serde(default = "default_500")]
        status: u16,
    },
    /// Answers after `delay_ms`.
    Slow { delay_ms: u64 },
    /// 200 with a body that is not JSON.
    Malformed,
    /// Hostile or broken answers the documented API never gives, for hardening tests:
    /// a redirect (`status`, default 307) to `location`.
    Redirect {
        location: String,
        #[serde(default = "default_307")]
        status: u16,
    },
    /// 200 with a body of `bytes` bytes (the start of a JSON object that never ends).
    HugeBody { bytes: usize },
    /// A list page that always says `has_more` with a cursor alternating between "A" and "B".
    CursorLoop,
}

/// The flat JSON form of a [`Fault`].
#[derive(Serialize, Deserialize)]
struct RawFault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
    /// `kind` and the fields of that kind.
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl TryFrom<RawFault> for Fault {
    type Error = String;
    fn try_from(raw: RawFault) -> Result<Self, String> {
        let kind = serde_json::from_value(Value::Object(raw.rest)).map_err(|e| e.to_string())?;
        Ok(Fault {
            path: raw.path,
            method: raw.method,
            times: raw.times,
            kind,
        })
    }
}

impl From<Fault> for RawFault {
    fn from(f: Fault) -> Self {
        let rest = match serde_json::to_value(&f.kind) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        RawFault {
            path: f.path,
            method: f.method,
            times: f.times,
            rest,
        }
    }
}

fn default_backup_ms() -> u64 {
    2000
}

fn default_307() -> u16 {
    307
}

fn default_500() -> u16 {
    500
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
    /// `Idempotency-Key` → the request it came with and the answer given (replayed for the
    /// same request, 409 for another).
    idempotency: HashMap<String, (String, StatusCode, Bytes)>,
    /// Backups started with `start-backup`: (cluster, name, when they finish).
    running: Vec<(String, String, OffsetDateTime)>,
}

/// A simulator; cheap to clone (shared state).
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<Inner>>,
    issuer: Option<Issuer>,
}

impl Sim {
    pub fn new(state: SimState) -> Sim {
        Sim {
            inner: Arc::new(Mutex::new(Inner {
                state,
                stats: Stats::default(),
                issued: Vec::new(),
                access_tokens: Vec::new(),
                idempotency: HashMap::new(),
                running: Vec::new(),
            })),
            issuer: None,
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
        let app = axum::Router::new().fallback(handle).with_state(self);
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

async fn handle(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if let Some(admin) = path.strip_prefix("/_sim/") {
        return admin_route(&sim, &method, admin, body);
    }
    // Count, pick a fault, take the latency; then answer.
    let (latency, fault, authorized) = {
        let mut g = sim.lock();
        g.stats.requests += 1;
        *g.stats
            .by_path
            .entry(format!("{method} {}", normalize(&path)))
            .or_default() += 1;
        if let Some(k) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
            g.stats.idempotency_keys.push(k.to_string());
        }
        let fault = take_fault(&mut g.state.faults, &method, &path);
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let authorized = auth.is_some_and(|k| account::authorized(&g, k));
        (g.state.latency_ms, fault, authorized)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match fault {
        Some(FaultKind::Unauthorized) => return error(StatusCode::UNAUTHORIZED, "Unauthorized."),
        Some(FaultKind::RateLimit { retry_after }) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded. Retry later.",
            );
            if let Ok(v) = retry_after.to_string().parse() {
                r.headers_mut().insert("retry-after", v);
            }
            return r;
        }
        Some(FaultKind::ServerError { status }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(s, "Internal server error.");
        }
        Some(FaultKind::Slow { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await
        }
        Some(FaultKind::Malformed) => {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"backups\": [ {\"name\": ",
            )
                .into_response()
        }
        Some(FaultKind::Redirect { location, status }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            return (s, [("location", location)], "").into_response();
        }
        Some(FaultKind::HugeBody { bytes }) => {
            let mut body = b"{\"message\": \"".to_vec();
            body.resize(bytes.max(body.len()), b'x');
            return (StatusCode::OK, [("content-type", "application/json")], body).into_response();
        }
        Some(FaultKind::CursorLoop) => {
            let next = if uri.query().unwrap_or("").contains("cursor=A") {
                "B"
            } else {
                "A"
            };
            let field = path.rsplit('/').next().unwrap_or("clusters");
            return axum::Json(json!({ field: [], "has_more": true, "next_cursor": next }))
                .into_response();
        }
        None => {}
    }
    if method == Method::POST && path == "/access-tokens" {
        return account::create_access_token(&mut sim.lock(), &body);
    }
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized.");
    }
    // Idempotency (provider-apis.md): the same key and request → the first answer again; the
    // same key with another request → 409. Answers of 5xx are not kept (a retry may succeed).
    let idem = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|_| method != Method::GET)
        .map(str::to_string);
    let request = format!("{method} {path}\n{}", String::from_utf8_lossy(&body));
    if let Some(key) = &idem {
        if let Some((seen, status, bytes)) = sim.lock().idempotency.get(key).cloned() {
            if seen != request {
                return error(
                    StatusCode::CONFLICT,
                    "Idempotency key reused with a different request.",
                );
            }
            return (status, [("content-type", "application/json")], bytes).into_response();
        }
    }
    let resp = match (
        method.as_str(),
        path.strip_prefix("/clusters/")
            .and_then(|p| p.strip_suffix("/backup-tokens")),
    ) {
        ("POST", Some(id)) => create_token(&sim, id).await,
        _ => route(&sim, &method, &path, uri.query().unwrap_or("")),
    };
    match idem {
        Some(key) if !resp.status().is_server_error() => {
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            sim.lock()
                .idempotency
                .insert(key, (request, status, bytes.clone()));
            (status, [("content-type", "application/json")], bytes).into_response()
        }
        _ => resp,
    }
}

/// `/clusters/abc/backups` → `/clusters/{id}/backups`, for stats.
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() == 26 && crate::config::is_eid(seg) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn take_fault(faults: &mut Vec<Fault>, method: &Method, path: &str) -> Option<FaultKind> {
    let i = faults.iter().position(|f| {
        f.path.as_deref().is_none_or(|p| path.contains(p))
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    })?;
    let kind = faults[i].kind.clone();
    if let Some(t) = &mut faults[i].times {
        *t = t.saturating_sub(1);
        if *t == 0 {
            faults.remove(i);
        }
    }
    Some(kind)
}

fn admin_route(sim: &Sim, method: &Method, path: &str, body: Bytes) -> Response {
    match (method.as_str(), path) {
        ("GET", "stats") => axum::Json(sim.stats()).into_response(),
        ("GET", "issued") => axum::Json(sim.issued_secrets()).into_response(),
        ("PUT", "faults") => match serde_json::from_slice::<Vec<Fault>>(&body) {
            Ok(f) => {
                sim.set_faults(f);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &format!("faults: {e}")),
        },
        _ => error(StatusCode::NOT_FOUND, "No such simulator endpoint."),
    }
}

fn route(sim: &Sim, method: &Method, path: &str, query: &str) -> Response {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let q: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut g = sim.lock();
    settle_backups(&mut g);
    let find = |g: &Inner, id: &str| g.state.clusters.iter().position(|c| c.id == id);
    if method == Method::GET {
        if let Some(r) = account::route(&g, &segs, &q) {
            return r;
        }
    }
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["clusters"]) => {
            let team = match account::clusters_team(&g, &q) {
                Ok(t) => t,
                Err(r) => return *r,
            };
            let items: Vec<Value> = g
                .state
                .clusters
                .iter()
                .filter(|c| c.team_id == team)
                .map(cluster_json)
                .collect();
            paginate(items, &q, "clusters", &["id", "name"], "name")
        }
        (m, ["clusters", id, rest @ ..]) => {
            let Some(i) = find(&g, id) else {
                return error(StatusCode::NOT_FOUND, "Cluster not found.");
            };
            // What the official client reads as "does not exist, or you do not have access".
            if !account::visible(&g, &g.state.clusters[i].team_id) {
                return error(StatusCode::FORBIDDEN, "Forbidden.");
            }
            match (m, rest) {
                ("GET", []) => axum::Json(cluster_json(&g.state.clusters[i])).into_response(),
                ("GET", ["status"]) => {
                    let c = &g.state.clusters[i];
                    let oldest = c
                        .backups
                        .iter()
                        .filter_map(|b| b.get("started_at").and_then(|v| v.as_str()))
                        .min();
                    axum::Json(json!({"disk_usage": {"disk_available_mb": 94948, "disk_total_size_mb": 100213, "disk_used_mb": 133}, "oldest_backup_at": oldest, "ongoing_upgrade": null, "state": "ready"})).into_response()
                }
                // The documented example of this list shows `backups` alone: no `has_more`.
                // More pages are announced by `next_cursor` only (clients must follow it).
                ("GET", ["backups"]) => match page_json(
                    g.state.clusters[i].backups.clone(),
                    &q,
                    "backups",
                    &["name"],
                    "name",
                ) {
                    Ok(mut page) => {
                        if let Some(m) = page.as_object_mut() {
                            m.remove("has_more");
                        }
                        axum::Json(page).into_response()
                    }
                    Err(r) => *r,
                },
                ("PUT", ["actions", "start-backup"]) => {
                    // Asynchronous, as on Bridge: listed as running (finished_at null) until
                    // backup_duration_ms have passed.
                    let now = OffsetDateTime::now_utc();
                    let name = backup_label(now);
                    let done = now + Duration::from_millis(g.state.backup_duration_ms);
                    g.state.clusters[i].backups.push(json!({"name": name, "started_at": now_rfc3339(), "finished_at": null, "lsn_start": "0/2000028", "lsn_stop": null, "size_bytes": null, "type": "full"}));
                    let id = g.state.clusters[i].id.clone();
                    g.running.push((id, name, done));
                    axum::Json(json!({"message": "Backup started."})).into_response()
                }
                _ => error(StatusCode::NOT_FOUND, "Not found."),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "Not found."),
    }
}

/// Marks the backups whose run is over as finished.
fn settle_backups(g: &mut Inner) {
    let now = OffsetDateTime::now_utc();
    let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut g.running)
        .into_iter()
        .partition(|(_, _, at)| *at <= now);
    g.running = running;
    for (cluster, name, at) in done {
        let Some(c) = g.state.clusters.iter_mut().find(|c| c.id == cluster) else {
            continue;
        };
        if let Some(b) = c.backups.iter_mut().find(|b| b["name"] == name.as_str()) {
            b["finished_at"] = json!(at.format(&Rfc3339).unwrap_or_default());
            b["lsn_stop"] = json!("0/2000100");
            b["size_bytes"] = json!(31_000_000);
        }
    }
}

impl SimCluster {
    /// The network every simulated cluster is on.
    pub fn network_id(&self) -> &'static str {
        "p56biajnfvgjhftvqs7lqymspe"
    }
}

fn cluster_json(c: &SimCluster) -> Value {
    json!({
        "cluster_id": null, "cpu": 2, "created_at": "2026-01-01T00:00:00Z", "disk_usage": null,
        "host": format!("p.{}.db.postgresbridge.com", c.id), "tailscale_active": false,
        "id": c.id, "is_ha": false, "is_suspended": false, "maintenance_window_start": null,
        "major_version": c.major_version, "memory": 4, "name": c.name, "network_id": c.network_id(),
        "plan_id": "standard-4", "postgres_version_id": "6ibnzig5avgutdgdzei2jwvvt4", "provider_id": c.provider_id,
        "region_id": c.region_id, "replicas": [], "storage": 100, "team_id": c.team_id, "updated_at": "2026-01-01T00:00:00Z"
    })
}

/// One page of a cursor-paginated list, as JSON (`field`, `has_more`, `next_cursor`), or the
/// 400 answer for bad query parameters.
pub(crate) fn page_json(
    mut items: Vec<Value>,
    q: &BTreeMap<String, String>,
    field: &str,
    fields: &[&str],
    default_field: &str,
) -> Result<Value, Box<Response>> {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        _ => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "limit must be an integer between 1 and 100.",
            )))
        }
    };
    let order_field = q
        .get("order_field")
        .map(String::as_str)
        .unwrap_or(default_field);
    if !fields.contains(&order_field) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            &format!("order_field must be one of: {}.", fields.join(", ")),
        )));
    }
    let key = |v: &Value| {
        v.get(order_field)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string()
    };
    items.sort_by_key(key);
    match q.get("order").map(String::as_str) {
        None | Some("asc") => {}
        Some("desc") => items.reverse(),
        Some(_) => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "order must be asc or desc.",
            )))
        }
    }
    let start = match q.get("cursor") {
        None => 0,
        Some(c) => match items.iter().position(|v| &key(v) == c) {
            Some(p) => p + 1,
            None => return Err(Box::new(error(StatusCode::BAD_REQUEST, "Invalid cursor."))),
        },
    };
    let page: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let has_more = start + page.len() < items.len();
    let next = if has_more { page.last().map(key) } else { None };
    Ok(json!({ field: page, "has_more": has_more, "next_cursor": next }))
}

pub(crate) fn paginate(
    items: Vec<Value>,
    q: &BTreeMap<String, String>,
    field: &str,
    fields: &[&str],
    default_field: &str,
) -> Response {
    match page_json(items, q, field, fields, default_field) {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => *r,
    }
}

/// `POST /clusters/{id}/backup-tokens`: a fresh token, its credentials from the issuer.
async fn create_token(sim: &Sim, id: &str) -> Response {
    let Some(cluster) = sim
        .lock()
        .state
        .clusters
        .iter()
        .find(|c| c.id == id)
        .cloned()
    else {
        return error(StatusCode::NOT_FOUND, "Cluster not found.");
    };
    if let Some(raw) = &cluster.token_override {
        return (StatusCode::CREATED, axum::Json(raw.clone())).into_response();
    }
    let token_id = new_eid();
    let mut t = json!({
        "id": token_id, "cluster_id": cluster.id, "team_id": cluster.team_id, "repo_path": cluster.repo_path,
        "stanza": cluster.stanza.clone().unwrap_or_else(|| cluster.id.clone()),
    });
    let (kind, field) = match &cluster.store {
        StoreTemplate::S3 { .. } => ("s3", "aws"),
        StoreTemplate::Azure { .. } => ("azure", "azure"),
        StoreTemplate::Gcs { .. } => ("gcs", "gcp"),
    };
    let issued = match &sim.issuer {
        Some(issuer) => {
            let lifetime = Duration::from_secs(cluster.token_lifetime_secs);
            match issuer(IssueRequest {
                cluster: cluster.clone(),
                token_id,
                lifetime,
            })
            .await
            {
                Ok(i) => i,
                Err(e) => {
                    return error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("issuing credentials failed: {e}"),
                    )
                }
            }
        }
        None => random_credentials(&cluster),
    };
    t["type"] = json!(kind);
    t[field] = issued.store;
    sim.lock().issued.extend(issued.secrets);
    (StatusCode::CREATED, axum::Json(t)).into_response()
}

/// Random credentials of the right shape (they work nowhere).
fn random_credentials(c: &SimCluster) -> Issued {
    let mut secrets = Vec::new();
    let store = match &c.store {
        StoreTemplate::S3 {
            bucket,
            region,
            kms_key_id,
        } => {
            let key = format!("ASIA{}", rand_str(16, UPPER_DIGITS));
            let secret = rand_str(40, B64);
            let token = format!("IQoJb3JpZ2luX2VjE{}", rand_str(120, B64));
            secrets.extend([key.clone(), secret.clone(), token.clone()]);
            json!({"s3_bucket": bucket, "s3_key": key, "s3_key_secret": secret, "s3_kms_key_id": kms_key_id, "s3_region": region, "s3_token": token})
        }
        StoreTemplate::Azure {
            account,
            container,
            key_type,
            key,
        } => {
            let k = match (key, key_type.as_str()) {
                (Some(k), _) => k.clone(),
                (None, "shared") => format!("{}==", rand_str(86, B64)),
                (None, _) => {
                    let se = (OffsetDateTime::now_utc() + time::Duration::hours(4))
                        .replace_nanosecond(0)
                        .ok()
                        .and_then(|t| t.format(&Rfc3339).ok())
                        .unwrap_or_default();
                    format!(
                        "se={}&sp=rl&sv=2021-08-06&sr=c&sig={}%3D",
                        se.replace(':', "%3A"),
                        rand_str(
                            43,
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        )
                    )
                }
            };
            if let Some(sig) = k.split('&').find_map(|p| p.strip_prefix("sig=")) {
                secrets.push(sig.to_string());
            }
            secrets.push(k.clone());
            json!({"azure_account": account, "azure_container": container, "azure_key": k, "azure_key_type": key_type})
        }
        StoreTemplate::Gcs { bucket, credential } => match credential.as_str() {
            "key" => {
                let pk = rand_str(64, B64);
                secrets.push(pk.clone());
                json!({"gcs_bucket": bucket, "gcs_key": {"type": "service_account", "client_email": "restore@sim.iam.gserviceaccount.com", "private_key": format!("-----BEGIN PRIVATE KEY-----\n{pk}\n-----END PRIVATE KEY-----\n")}})
            }
            "none" => json!({"gcs_bucket": bucket}),
            _ => {
                let tok = format!("ya29.{}", rand_str(60, B64));
                secrets.push(tok.clone());
                json!({"gcs_bucket": bucket, "gcs_token": tok})
            }
        },
    };
    Issued { store, secrets }
}

/// A ready-made state: one cluster per store type with a week of daily backups, for the quick
/// start. `n_extra` adds that many more S3 clusters (benchmarks).
pub fn sample_state(api_key: &str, n_extra: usize) -> SimState {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let backups = |seed: u64| -> Vec<Value> {
        (0..7)
            .map(|d| {
                let start = now - time::Duration::days(7 - d) + time::Duration::minutes((seed % 50) as i64);
                let stop = start + time::Duration::minutes(3);
                let name = backup_label(start);
                json!({"name": name, "started_at": start.format(&Rfc3339).unwrap_or_default(), "finished_at": stop.format(&Rfc3339).unwrap_or_default(),
                       "lsn_start": format!("{d}/9E000028"), "lsn_stop": format!("{d}/A0051F10"), "size_bytes": 1_852_406_161u64 + d as u64 * 1_000_000,
                       // Documented as possibly empty: the oldest backup's is.
                       "type": if d == 0 { "" } else { "full" }})
            })
            .collect()
    };
    let mut clusters = vec![
        SimCluster {
            id: "rvf73a77ozfsvcttryebfrnlem".into(),
            name: "production".into(),
            team_id: default_team(),
            provider_id: "aws".into(),
            region_id: "us-west-1".into(),
            major_version: 15,
            stanza: Some("2qc6yv2ztfcw7a7yoripu4zlsm".into()),
            repo_path: "/pgbackrest/production".into(),
            backups: backups(1),
            store: StoreTemplate::S3 {
                bucket: "bridge-backups-usw1".into(),
                region: "us-west-1".into(),
                kms_key_id: None,
            },
            token_override: None,
            token_lifetime_secs: 3600,
        },
        SimCluster {
            id: "drsve2t4f5e5znkmef6hmchy2e".into(),
            name: "analytics".into(),
            team_id: default_team(),
            provider_id: "azure".into(),
            region_id: "eastus".into(),
            major_version: 15,
            stanza: Some("k3pdw5mhbjfdtm4lc6bnmutoai".into()),
            repo_path: "/pgbackrest/analytics".into(),
            backups: backups(2),
            store: StoreTemplate::Azure {
                account: "bridgebackups".into(),
                container: "analytics".into(),
                key_type: "sas".into(),
                key: None,
            },
            token_override: None,
            token_lifetime_secs: 3600,
        },
        SimCluster {
            id: "p56biajnfvgjhftvqs7lqymspe".into(),
            name: "staging".into(),
            team_id: default_team(),
            provider_id: "gcp".into(),
            region_id: "us-central1".into(),
            major_version: 15,
            stanza: Some("n2dwhq6ze5bxxoqyyf3bnzcbwu".into()),
            repo_path: "/pgbackrest/staging".into(),
            backups: backups(3),
            store: StoreTemplate::Gcs {
                bucket: "bridge-backups-usc1".into(),
                credential: "token".into(),
            },
            token_override: None,
            token_lifetime_secs: 3600,
        },
    ];
    for i in 0..n_extra {
        let id = format!("{:0>25}a", format!("bench{i}"));
        clusters.push(SimCluster {
            id: id.clone(),
            name: format!("bench-{i}"),
            team_id: default_team(),
            provider_id: "aws".into(),
            region_id: "us-east-1".into(),
            major_version: 15,
            stanza: None,
            repo_path: format!("/pgbackrest/bench-{i}"),
            backups: Vec::new(),
            store: StoreTemplate::S3 {
                bucket: "bench".into(),
                region: "us-east-1".into(),
                kms_key_id: None,
            },
            token_override: None,
            token_lifetime_secs: 3600,
        });
    }
    SimState {
        api_keys: vec![api_key.to_string()],
        clusters,
        faults: Vec::new(),
        teams: account::default_teams(),
        backup_duration_ms: default_backup_ms(),
        latency_ms: 0,
    }
}
