//! The Crunchy Bridge API client: one reqwest client, Bearer auth, retries with backoff and
//! jitter on connect errors, timeouts and 5xx, `Retry-After` on 429, cursor pagination.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{header, Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{
    excerpt, AzureKeyType, AzureStore, Backup, BackupToken, Cluster, ClusterStatus, FailureKind,
    GcsCredential, GcsStore, S3Store, Store, Team,
};
use crate::config::{is_stanza_name, ApiConfig};

/// Longest `Retry-After` bridgerest will honour before giving up on a 429.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The largest response body read (the API's answers are kilobytes); more is an error.
pub const MAX_BODY: usize = 4 << 20;
/// The most pages one list may take (100 items each): a loop or a flood is an error.
pub const MAX_PAGES: usize = 1000;
/// The most characters of any text from the API that an error, log line or status repeats.
pub const EXCERPT: usize = 200;

/// Why an API call failed. The variant decides what the caller does (retry, re-auth, give up).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{req}: the API key was refused ({status}: {message}{rid}): check the key (api.key_file, $BRIDGEREST_API_KEY or the systemd credential) and that it is still active in the Crunchy Bridge dashboard", rid = rid(.request_id))]
    Unauthorized {
        req: String,
        status: StatusCode,
        message: String,
        request_id: Option<String>,
    },
    #[error("{req}: no such cluster, or this API key has no access to it (403: {message}{rid}): check the cluster id with `bridgerest clusters` (it lists every team the key can see), and that the key's user is in the cluster's team", rid = rid(.request_id))]
    NoAccess {
        req: String,
        message: String,
        request_id: Option<String>,
    },
    #[error("{req}: not found (404: {message}{rid}): check the cluster id with `bridgerest clusters` (it lists every team the key can see)", rid = rid(.request_id))]
    NotFound {
        req: String,
        message: String,
        request_id: Option<String>,
    },
    #[error("{req}: the API refused the request ({status}: {message}{rid})", rid = rid(.request_id))]
    Client {
        req: String,
        status: StatusCode,
        message: String,
        request_id: Option<String>,
    },
    #[error("{req}: the API failed ({status}: {message}{rid}) {attempts} times; try again later", rid = rid(.request_id))]
    Server {
        req: String,
        status: StatusCode,
        message: String,
        request_id: Option<String>,
        attempts: u32,
    },
    #[error("{req}: still rate limited (429) after {attempts} attempts; lower api.concurrency or try again later")]
    RateLimited { req: String, attempts: u32 },
    #[error("{req}: cannot reach the API after {attempts} attempts: {detail}: check api.url and the network")]
    Transport {
        req: String,
        attempts: u32,
        detail: String,
    },
    #[error("{req}: the API answered with a body bridgerest cannot read: {detail}")]
    Malformed { req: String, detail: String },
    #[error("{req}: the API answered with a redirect ({status}) to {location}; bridgerest does not follow redirects (the API uses none, and credentials must come from api.url itself): check api.url")]
    Redirect {
        req: String,
        status: StatusCode,
        location: String,
    },
    #[error("backup token for cluster {cluster}: {source}")]
    Token { cluster: String, source: TokenError },
}

fn req(method: &Method, url: &Url) -> String {
    format!("{method} {url}")
}

fn rid(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|r| format!(", request_id {r}"))
        .unwrap_or_default()
}

/// A backup token that does not describe a usable repository.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("unknown store type \"{0}\" (bridgerest knows s3, azure and gcs): upgrade bridgerest")]
    UnknownType(String),
    #[error("type is {kind} but the token has no `{field}` object")]
    MissingStore {
        kind: &'static str,
        field: &'static str,
    },
    #[error("field `{field}`: {detail}")]
    Field { field: &'static str, detail: String },
    #[error("field `{0}` contains a line break or control character")]
    BadValue(&'static str),
    #[error("stanza \"{0}\" is not a valid pgBackRest stanza name: set `stanza` for this cluster in the config")]
    BadStanza(String),
    #[error("field `gcp.gcs_key` is neither a JSON object nor a string holding one")]
    BadGcsKey,
}

impl ApiError {
    /// Whether a later attempt (the next scheduled refresh) may succeed without a change here.
    pub fn is_transient(&self) -> bool {
        self.kind() == FailureKind::Transient
    }

    /// What kind of failure this is (what the daemon does next).
    pub fn kind(&self) -> FailureKind {
        match self {
            ApiError::Unauthorized { .. } => FailureKind::Auth,
            ApiError::NoAccess { .. } | ApiError::NotFound { .. } => FailureKind::NotFound,
            ApiError::Server { .. } | ApiError::RateLimited { .. } | ApiError::Transport { .. } => {
                FailureKind::Transient
            }
            ApiError::Malformed { .. } | ApiError::Redirect { .. } | ApiError::Token { .. } => {
                FailureKind::Malformed
            }
            ApiError::Client { .. } => FailureKind::Malformed,
        }
    }
}

/// The Crunchy Bridge API client. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct BridgeClient {
    http: reqwest::Client,
    base: Url,
    key: SecretString,
    retries: u32,
    retry_base: Duration,
}

impl std::fmt::Debug for BridgeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl BridgeClient {
    pub fn new(api: &ApiConfig, key: SecretString) -> anyhow::Result<Self> {
        crate::init_tls();
        let http = reqwest::Client::builder()
            .user_agent(concat!("bridgerest/", env!("CARGO_PKG_VERSION")))
            .timeout(api.timeout)
            .connect_timeout(api.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(api.concurrency)
            .build()?;
        Ok(Self {
            http,
            base: api.url.clone(),
            key,
            retries: api.retries,
            retry_base: api.retry_base,
        })
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// `GET /clusters`, every page: the caller's personal team only (seed 004).
    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, ApiError> {
        self.list_all("/clusters", "clusters", &[]).await
    }

    /// `GET /teams`, every page.
    pub async fn list_teams(&self) -> Result<Vec<Team>, ApiError> {
        self.list_all("/teams", "teams", &[]).await
    }

    /// Every cluster the key can see: `GET /teams`, then `GET /clusters?team_id=` for each team
    /// (every page), each with its team. A cluster listed by two teams is shown once.
    pub async fn list_all_clusters(&self) -> Result<Vec<(Cluster, Option<Team>)>, ApiError> {
        let teams = self.list_teams().await?;
        let mut out: Vec<(Cluster, Option<Team>)> = Vec::new();
        for team in teams {
            let q = [("team_id", team.id.clone())];
            for c in self
                .list_all::<Cluster>("/clusters", "clusters", &q)
                .await?
            {
                if !out.iter().any(|(o, _)| o.id == c.id) {
                    out.push((c, Some(team.clone())));
                }
            }
        }
        Ok(out)
    }

    /// `GET /clusters/{id}`.
    pub async fn get_cluster(&self, id: &str) -> Result<Cluster, ApiError> {
        let (url, body) = self
            .send(Method::GET, &format!("/clusters/{id}"), &[], false)
            .await?;
        decode(&Method::GET, &url, &body)
    }

    /// `GET /clusters/{id}/status`.
    pub async fn cluster_status(&self, id: &str) -> Result<ClusterStatus, ApiError> {
        let (url, body) = self
            .send(Method::GET, &format!("/clusters/{id}/status"), &[], false)
            .await?;
        decode(&Method::GET, &url, &body)
    }

    /// `GET /clusters/{id}/backups`, every page.
    pub async fn list_backups(&self, id: &str) -> Result<Vec<Backup>, ApiError> {
        self.list_all(&format!("/clusters/{id}/backups"), "backups", &[])
            .await
    }

    /// `PUT /clusters/{id}/actions/start-backup`; returns the API's message.
    pub async fn start_backup(&self, id: &str) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Msg {
            #[serde(default)]
            message: String,
        }
        let path = format!("/clusters/{id}/actions/start-backup");
        let (url, body) = self.send(Method::PUT, &path, &[], true).await?;
        Ok(decode::<Msg>(&Method::PUT, &url, &body)?.message)
    }

    /// `POST /clusters/{id}/backup-tokens`, decoded and checked.
    pub async fn create_backup_token(&self, id: &str) -> Result<BackupToken, ApiError> {
        let path = format!("/clusters/{id}/backup-tokens");
        let (url, body) = self.send(Method::POST, &path, &[], true).await?;
        let raw: RawToken = decode(&Method::POST, &url, &body)?;
        raw.into_token(id).map_err(|source| ApiError::Token {
            cluster: id.to_string(),
            source,
        })
    }

    /// Every page of a list: follows `next_cursor` until `has_more` is false, or, where a list
    /// leaves `has_more` out (the backups list's documented example shows only `backups`),
    /// until there is no `next_cursor`. A cursor seen before, or more than [`MAX_PAGES`], is an
    /// error.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        field: &str,
        extra: &[(&'static str, String)],
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", "100".to_string())];
            query.extend(extra.iter().cloned());
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let (url, body) = self.send(Method::GET, path, &query, false).await?;
            let mut page: serde_json::Map<String, serde_json::Value> =
                decode(&Method::GET, &url, &body)?;
            let list = page.remove(field).ok_or_else(|| ApiError::Malformed {
                req: req(&Method::GET, &url),
                detail: format!("missing field `{field}`"),
            })?;
            let mut batch: Vec<T> =
                serde_json::from_value(list).map_err(|e| ApiError::Malformed {
                    req: req(&Method::GET, &url),
                    detail: format!("field `{field}`: {}", serde_detail(&e)),
                })?;
            items.append(&mut batch);
            let next = page
                .get("next_cursor")
                .and_then(|v| v.as_str())
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            let has_more = page
                .get("has_more")
                .and_then(|v| v.as_bool())
                .unwrap_or(next.is_some());
            match (has_more, next) {
                (true, Some(n)) if seen.insert(n.clone()) => cursor = Some(n),
                (true, _) => {
                    return Err(ApiError::Malformed {
                        req: req(&Method::GET, &url),
                        detail: "has_more is true but next_cursor is missing or one seen before (a pagination loop)".into(),
                    })
                }
                (false, _) => return Ok(items),
            }
        }
        Err(ApiError::Malformed {
            req: req(&Method::GET, &self.url(path)),
            detail: format!("more than {MAX_PAGES} pages; bridgerest stops there"),
        })
    }

    /// Sends one logical request, retrying what may succeed later. Returns the final URL and body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        idempotent_key: bool,
    ) -> Result<(Url, String), ApiError> {
        let mut url = self.url(path);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        // One key per logical request, reused on every retry, so a retried POST is not repeated.
        let idem = idempotent_key.then(|| uuid::Uuid::new_v4().to_string());
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.key.expose_secret())
                .header(header::ACCEPT, "application/json");
            if let Some(k) = &idem {
                request = request.header("Idempotency-Key", k);
            }
            let retry_left = attempt <= self.retries;
            let (status, retry_after, header_rid, location, body) = match Self::exchange(request)
                .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(too_big)) => {
                    return Err(ApiError::Malformed {
                        req: req(&method, &url),
                        detail: too_big,
                    })
                }
                Err(e)
                    if retry_left
                        && (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()) =>
                {
                    let wait = self.backoff(attempt);
                    tracing::warn!(%method, %url, attempt, wait_ms = wait.as_millis() as u64, error = %chain(&e), "request failed; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(e) => {
                    return Err(ApiError::Transport {
                        req: req(&method, &url),
                        attempts: attempt,
                        detail: chain(&e),
                    })
                }
            };
            if status.is_success() {
                return Ok((url, body));
            }
            if status.is_redirection() {
                return Err(ApiError::Redirect {
                    req: req(&method, &url),
                    status,
                    location: location.unwrap_or_else(|| "(no Location)".into()),
                });
            }
            let (message, body_rid) = error_body(&body, status);
            let request_id = body_rid.or(header_rid);
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                if !retry_left || wait > MAX_RETRY_AFTER {
                    return Err(ApiError::RateLimited {
                        req: req(&method, &url),
                        attempts: attempt,
                    });
                }
                tracing::warn!(%method, %url, attempt, wait_s = wait.as_secs_f64(), "rate limited (429); waiting as Retry-After asks");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                if retry_left {
                    let wait = self.backoff(attempt);
                    tracing::warn!(%method, %url, attempt, %status, wait_ms = wait.as_millis() as u64, "server error; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(ApiError::Server {
                    req: req(&method, &url),
                    status,
                    message,
                    request_id,
                    attempts: attempt,
                });
            }
            return Err(match status {
                // 403: the official client reads it as "does not exist, or you do not have
                // access to it"; the API does not say which. 401 is the refused key.
                StatusCode::FORBIDDEN => ApiError::NoAccess {
                    req: req(&method, &url),
                    message,
                    request_id,
                },
                StatusCode::UNAUTHORIZED => ApiError::Unauthorized {
                    req: req(&method, &url),
                    status,
                    message,
                    request_id,
                },
                StatusCode::NOT_FOUND => ApiError::NotFound {
                    req: req(&method, &url),
                    message,
                    request_id,
                },
                _ => ApiError::Client {
                    req: req(&method, &url),
                    status,
                    message,
                    request_id,
                },
            });
        }
    }

    /// One request and its whole answer: status, `Retry-After`, `X-Request-Id`, `Location`
    /// (an excerpt), body. A body over [`MAX_BODY`] is not read on: the inner error says so.
    #[allow(clippy::type_complexity)]
    async fn exchange(
        request: reqwest::RequestBuilder,
    ) -> Result<
        Result<
            (
                StatusCode,
                Option<Duration>,
                Option<String>,
                Option<String>,
                String,
            ),
            String,
        >,
        reqwest::Error,
    > {
        let mut resp = request.send().await?;
        let status = resp.status();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header(header::RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let request_id =
            header(header::HeaderName::from_static("x-request-id")).map(|r| excerpt(&r, 80));
        let location = header(header::LOCATION).map(|l| excerpt(&l, EXCERPT));
        let too_big = || {
            format!(
                "{status} with a body larger than {} MiB; bridgerest reads no further",
                MAX_BODY >> 20
            )
        };
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Ok(Err(too_big()));
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Ok(Err(too_big()));
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        Ok(Ok((status, retry_after, request_id, location, body)))
    }

    /// Exponential backoff with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped at 30 s.
    fn backoff(&self, attempt: u32) -> Duration {
        crate::backoff::delay(
            self.retry_base,
            attempt,
            Duration::from_secs(30),
            fastrand::f64(),
        )
    }
}

/// The API's error body: `message` (always) and `request_id`.
fn error_body(body: &str, status: StatusCode) -> (String, Option<String>) {
    #[derive(Deserialize)]
    struct ErrBody {
        message: Option<String>,
        request_id: Option<String>,
    }
    match serde_json::from_str::<ErrBody>(body) {
        Ok(ErrBody {
            message: Some(m),
            request_id,
        }) => (excerpt(&m, EXCERPT), request_id.map(|r| excerpt(&r, 80))),
        Ok(ErrBody {
            message: None,
            request_id,
        }) => (
            status.canonical_reason().unwrap_or("error").to_string(),
            request_id.map(|r| excerpt(&r, 80)),
        ),
        Err(_) => {
            let text = excerpt(body, 120);
            let text = if text.trim().is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            };
            (text, None)
        }
    }
}

fn decode<T: DeserializeOwned>(method: &Method, url: &Url, body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::Malformed {
        req: req(method, url),
        detail: serde_detail(&e),
    })
}

/// serde_json's message without the value it quotes: `invalid type: string "s3cr3t", expected
/// u64` names what the value was, never the value (it may be a secret).
pub fn serde_detail(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    for lead in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(lead) {
            if let Some(cut) = rest.rfind(", expected ") {
                let what = rest[..cut].split([' ', ':']).next().unwrap_or("value");
                return format!("{lead}{what}{}", &rest[cut..]);
            }
        }
    }
    if msg.starts_with("unknown variant") {
        return format!("unknown variant at line {} column {}", e.line(), e.column());
    }
    excerpt(&msg, EXCERPT)
}

/// An error's causes on one line.
/// reqwest's own message only repeats the URL, so its causes are used when there are any.
fn chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut src = e.source();
    while let Some(c) = src {
        parts.push(c.to_string());
        src = c.source();
    }
    if parts.is_empty() {
        if e.is_timeout() {
            return "timed out (api.timeout)".into();
        }
        return e.to_string();
    }
    parts.join(": ")
}

// --- backup token decoding -------------------------------------------------------------------

#[derive(Deserialize)]
struct RawToken {
    id: String,
    #[serde(default)]
    cluster_id: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    repo_path: String,
    stanza: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    aws: Option<serde_json::Value>,
    #[serde(default)]
    azure: Option<serde_json::Value>,
    #[serde(default)]
    gcp: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawAws {
    s3_bucket: String,
    s3_key: String,
    s3_key_secret: String,
    #[serde(default)]
    s3_kms_key_id: Option<String>,
    s3_region: String,
    s3_token: String,
}

#[derive(Deserialize)]
struct RawAzure {
    azure_account: String,
    azure_container: String,
    azure_key: String,
    #[serde(default)]
    azure_key_type: Option<String>,
}

#[derive(Deserialize)]
struct RawGcp {
    gcs_bucket: String,
    #[serde(default)]
    gcs_token: Option<String>,
    #[serde(default)]
    gcs_key: Option<serde_json::Value>,
}

fn field<T: DeserializeOwned>(
    name: &'static str,
    v: Option<serde_json::Value>,
    kind: &'static str,
) -> Result<T, TokenError> {
    let v = v
        .filter(|v| !v.is_null())
        .ok_or(TokenError::MissingStore { kind, field: name })?;
    serde_json::from_value(v).map_err(|e| TokenError::Field {
        field: name,
        detail: serde_detail(&e),
    })
}

fn clean(name: &'static str, s: String) -> Result<String, TokenError> {
    if s.chars().any(char::is_control) {
        return Err(TokenError::BadValue(name));
    }
    Ok(s)
}

fn nonempty(name: &'static str, s: String) -> Result<String, TokenError> {
    let s = clean(name, s)?;
    if s.trim().is_empty() {
        return Err(TokenError::Field {
            field: name,
            detail: "is empty".into(),
        });
    }
    Ok(s)
}

fn secret(name: &'static str, s: String) -> Result<SecretString, TokenError> {
    nonempty(name, s).map(SecretString::from)
}

impl RawToken {
    fn into_token(self, requested: &str) -> Result<BackupToken, TokenError> {
        if !is_stanza_name(&self.stanza) {
            return Err(TokenError::BadStanza(excerpt(&self.stanza, 80)));
        }
        let store = match self.kind.as_str() {
            "s3" => {
                let a: RawAws = field("aws", self.aws, "s3")?;
                Store::S3(S3Store {
                    bucket: nonempty("aws.s3_bucket", a.s3_bucket)?,
                    region: nonempty("aws.s3_region", a.s3_region)?,
                    key: secret("aws.s3_key", a.s3_key)?,
                    key_secret: secret("aws.s3_key_secret", a.s3_key_secret)?,
                    token: secret("aws.s3_token", a.s3_token)?,
                    kms_key_id: a
                        .s3_kms_key_id
                        .map(|k| clean("aws.s3_kms_key_id", k))
                        .transpose()?
                        .filter(|k| !k.is_empty()),
                })
            }
            "azure" => {
                let a: RawAzure = field("azure", self.azure, "azure")?;
                let key_type = match a.azure_key_type.as_deref().unwrap_or("shared") {
                    "shared" => AzureKeyType::Shared,
                    "sas" => AzureKeyType::Sas,
                    other => {
                        return Err(TokenError::Field {
                            field: "azure.azure_key_type",
                            detail: format!(
                                "unknown key type \"{}\" (expected shared or sas)",
                                excerpt(other, 40)
                            ),
                        })
                    }
                };
                let key = nonempty("azure.azure_key", a.azure_key)?;
                // pgBackRest wants the SAS without its leading '?'.
                let key = match key_type {
                    AzureKeyType::Sas => key.trim_start_matches('?').to_string(),
                    AzureKeyType::Shared => key,
                };
                Store::Azure(AzureStore {
                    account: secret("azure.azure_account", a.azure_account)?,
                    container: nonempty("azure.azure_container", a.azure_container)?,
                    key: SecretString::from(key),
                    key_type,
                })
            }
            // Bridge documents only `s3` and `azure`: a GCP cluster's type string is unknown
            // (`gcs` or `gcp`), so a `gcp` object decides, whatever the type says.
            kind if kind == "gcs"
                || kind == "gcp"
                || self.gcp.as_ref().is_some_and(|v| v.is_object()) =>
            {
                let g: RawGcp = field("gcp", self.gcp, "gcs")?;
                // Documented: `gcs_bucket` alone. Two undocumented credential forms are
                // accepted should a token carry one; without one, the user's key is used.
                let credential = match (g.gcs_token, g.gcs_key) {
                    (Some(t), _) if !t.trim().is_empty() => {
                        Some(GcsCredential::Token(secret("gcp.gcs_token", t)?))
                    }
                    (_, Some(serde_json::Value::String(s))) if !s.trim().is_empty() => {
                        Some(GcsCredential::ServiceKey(SecretString::from(s)))
                    }
                    (_, Some(v @ serde_json::Value::Object(_))) => {
                        Some(GcsCredential::ServiceKey(SecretString::from(v.to_string())))
                    }
                    (_, None | Some(serde_json::Value::Null)) => None,
                    (_, Some(serde_json::Value::String(_))) => None,
                    (_, Some(_)) => return Err(TokenError::BadGcsKey),
                };
                Store::Gcs(GcsStore {
                    bucket: nonempty("gcp.gcs_bucket", g.gcs_bucket)?,
                    credential,
                })
            }
            other => return Err(TokenError::UnknownType(excerpt(other, 40))),
        };
        let expires_at = match &store {
            Store::Azure(a) if a.key_type == AzureKeyType::Sas => {
                super::sas_expiry(a.key.expose_secret())
            }
            _ => None,
        };
        Ok(BackupToken {
            expires_at,
            id: clean("id", self.id)?,
            cluster_id: clean(
                "cluster_id",
                self.cluster_id.unwrap_or_else(|| requested.to_string()),
            )?,
            team_id: clean("team_id", self.team_id.unwrap_or_default())?,
            repo_path: nonempty("repo_path", self.repo_path)?,
            stanza: self.stanza,
            store,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_token(json: &str) -> Result<BackupToken, TokenError> {
        let raw: RawToken = serde_json::from_str(json).map_err(|e| TokenError::Field {
            field: "(body)",
            detail: e.to_string(),
        })?;
        raw.into_token("rvf73a77ozfsvcttryebfrnlem")
    }

    const S3: &str = r#"{"aws":{"s3_bucket":"the-bucket","s3_key":"key","s3_key_secret":"secret","s3_kms_key_id":null,"s3_region":"us-west-1","s3_token":"token"},"cluster_id":"rvf73a77ozfsvcttryebfrnlem","id":"agaqf6fanse45vspjcctakuyky","repo_path":"/the-path","stanza":"2qc6yv2ztfcw7a7yoripu4zlsm","team_id":"eaevtjiudzeq7bsqbbpiscund4","type":"s3","new_field":{"x":1}}"#;

    #[test]
    fn documented_s3_example_decodes_and_ignores_unknown_fields() {
        let t = decode_token(S3).unwrap();
        assert_eq!(t.stanza, "2qc6yv2ztfcw7a7yoripu4zlsm");
        let Store::S3(s) = t.store else {
            panic!("not s3")
        };
        assert_eq!(s.bucket, "the-bucket");
        assert_eq!(s.key_secret.expose_secret(), "secret");
        assert!(s.kms_key_id.is_none());
    }

    #[test]
    fn missing_field_is_named() {
        let json = S3.replace(r#""s3_key":"key","#, "");
        let err = decode_token(&json).unwrap_err().to_string();
        assert!(err.contains("aws") && err.contains("s3_key"), "{err}");
    }

    #[test]
    fn line_breaks_in_values_are_refused() {
        let json = S3.replace("the-bucket", "b\\nrepo1-type=posix");
        assert!(matches!(
            decode_token(&json),
            Err(TokenError::BadValue("aws.s3_bucket"))
        ));
    }

    #[test]
    fn gcs_forms() {
        let base = r#"{"id":"x","repo_path":"/p","stanza":"s","type":"gcs","gcp":GCP}"#;
        let tok = decode_token(&base.replace("GCP", r#"{"gcs_bucket":"b","gcs_token":"ya29.t"}"#))
            .unwrap();
        assert!(matches!(
            tok.store,
            Store::Gcs(GcsStore {
                credential: Some(GcsCredential::Token(_)),
                ..
            })
        ));
        let key = decode_token(&base.replace(
            "GCP",
            r#"{"gcs_bucket":"b","gcs_key":{"type":"service_account"}}"#,
        ))
        .unwrap();
        let Store::Gcs(GcsStore {
            credential: Some(GcsCredential::ServiceKey(k)),
            ..
        }) = key.store
        else {
            panic!("not a key")
        };
        assert_eq!(k.expose_secret(), r#"{"type":"service_account"}"#);
        // As documented: a bucket and no credential, under either type string.
        for ty in ["gcs", "gcp", "google"] {
            let json = base
                .replace("GCP", r#"{"gcs_bucket":"b"}"#)
                .replace(r#""type":"gcs""#, &format!(r#""type":"{ty}""#));
            let none = decode_token(&json).unwrap();
            assert!(
                matches!(&none.store, Store::Gcs(GcsStore { credential: None, bucket }) if bucket == "b"),
                "{ty}"
            );
        }
    }

    #[test]
    fn api_text_in_errors_is_short_and_escaped() {
        let long = "x".repeat(100_000);
        let json = S3.replace(r#""type":"s3""#, &format!(r#""type":"\u001b[2J{long}""#));
        let err = decode_token(&json).unwrap_err().to_string();
        assert!(
            err.len() < 300 && !err.contains('\u{1b}'),
            "{}",
            &err[..300.min(err.len())]
        );
        let json = S3.replace("2qc6yv2ztfcw7a7yoripu4zlsm", &long);
        assert!(decode_token(&json).unwrap_err().to_string().len() < 300);
    }

    #[test]
    fn sas_loses_leading_question_mark() {
        let json = r#"{"id":"x","repo_path":"/p","stanza":"s","type":"azure","azure":{"azure_account":"acct","azure_container":"c","azure_key":"?se=2026&sig=abc","azure_key_type":"sas"}}"#;
        let Store::Azure(a) = decode_token(json).unwrap().store else {
            panic!("not azure")
        };
        assert_eq!(a.key.expose_secret(), "se=2026&sig=abc");
        assert_eq!(a.key_type, AzureKeyType::Sas);
    }
}
