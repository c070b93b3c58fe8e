//! The IONOS Cloud DBaaS PostgreSQL API client (seed 002, provider-apis.md): clusters, their
//! backup chains (offset/limit pages), and server-side point-in-time restores (a new cluster
//! `fromBackup`, or `POST /clusters/{id}/restore` in place), followed by `metadata.state`.
//! IONOS hands out no repository credentials: no local restore.

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::http::{decode, req, ApiError, Auth, Hints, Retry, Transport};
use super::server::{first_str, first_time, BackupWatch, Call, Dest, Phase, Window};
use super::{Backup, Chain, Cluster};
use crate::config::ApiConfig;

/// What IONOS's access errors tell the user.
pub static HINTS: Hints = Hints {
    refused: "IONOS refused the credentials",
    refused_fix: "check [ionos] username and password_file ($BRIDGEREST_IONOS_PASSWORD, or the systemd credential ionos-password), or token_file",
    no_access: "IONOS denied access to it",
    no_access_fix: "check that the user has the DBaaS privilege in the cluster's contract, and the cluster id (`bridgerest clusters --provider ionos`)",
    lookup: "check the cluster id with `bridgerest clusters --provider ionos`",
};

/// Items per page (IONOS allows up to 1000; the default is 100).
const LIMIT: usize = 100;
/// The most pages one list may take.
const MAX_PAGES: usize = 1000;
/// Cluster properties the API reports but a create request must not carry (read-only).
const READ_ONLY: &[&str] = &["dnsName"];

#[derive(Clone, Debug)]
pub struct IonosClient {
    t: Transport,
}

impl IonosClient {
    pub fn new(api: &ApiConfig, url: reqwest::Url, auth: Auth) -> anyhow::Result<Self> {
        Ok(Self {
            t: Transport::new(api, url, auth, &HINTS)?,
        })
    }

    pub fn url(&self, path: &str) -> String {
        self.t.url(path).to_string()
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        let (url, body) = self.t.send(Method::GET, path, query, Retry::Read).await?;
        decode(&Method::GET, &url, &body)
    }

    /// Every item of an offset/limit list. Follows the `next` link (spelled `links` in the
    /// deprecated list schema the backup lists use, `_links` in newer ones) by advancing the
    /// offset; a list without links ends on a short page.
    async fn list_all(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        for page in 0..MAX_PAGES {
            let offset = page * LIMIT;
            let q = [("offset", offset.to_string()), ("limit", LIMIT.to_string())];
            let (url, body) = self.t.send(Method::GET, path, &q, Retry::Read).await?;
            let v: Value = decode(&Method::GET, &url, &body)?;
            let batch = v
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| ApiError::Malformed {
                    req: req(&Method::GET, &url),
                    detail: "missing list field `items`".into(),
                })?;
            let n = batch.len();
            items.extend(batch);
            let links = v.get("_links").or_else(|| v.get("links"));
            let more = match links {
                Some(l) => l.get("next").is_some_and(|n| !n.is_null()),
                None => n >= LIMIT,
            };
            if !more || n == 0 {
                return Ok(items);
            }
        }
        Err(ApiError::Malformed {
            req: req(&Method::GET, &self.t.url(path)),
            detail: format!("more than {MAX_PAGES} pages; bridgerest stops there"),
        })
    }

    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, ApiError> {
        self.list_all("/clusters")
            .await?
            .into_iter()
            .map(|v| to_cluster(v, &self.t.url("/clusters")))
            .collect()
    }

    async fn cluster_json(&self, id: &str) -> Result<Value, ApiError> {
        self.get(&format!("/clusters/{id}"), &[]).await
    }

    pub async fn get_cluster(&self, id: &str) -> Result<Cluster, ApiError> {
        let v = self.cluster_json(id).await?;
        to_cluster(v, &self.t.url(&format!("/clusters/{id}")))
    }

    /// The cluster's backup chains, every page, mapped to [`Backup`] with a [`Chain`].
    pub async fn list_backups(&self, id: &str) -> Result<Vec<Backup>, ApiError> {
        let path = format!("/clusters/{id}/backups");
        let url = self.t.url(&path);
        self.list_all(&path)
            .await?
            .into_iter()
            .map(|v| to_backup(v, &url))
            .collect()
    }

    /// The chain a restore of `id` is made from: the active one (the cluster still writes to
    /// it), else the newest. Its window is `earliestRecoveryTargetTime` .. now for an active
    /// chain; IONOS reports no end for an inactive one (the provider refuses a time past it).
    pub async fn window(&self, id: &str) -> Result<Window, ApiError> {
        let chains = self.list_backups(id).await?;
        let chosen = chains
            .iter()
            .filter_map(|b| b.chain.as_ref().map(|c| (b, c)))
            .filter(|(_, c)| c.state == "AVAILABLE")
            .max_by_key(|(b, c)| (c.active, b.started_at));
        Ok(match chosen {
            None => Window {
                start: None,
                end: None,
                from: format!("no AVAILABLE backup chain of cluster {id}"),
                backup_id: None,
            },
            Some((b, c)) => Window {
                start: c.earliest,
                end: None,
                from: format!(
                    "{} backup chain {} (earliestRecoveryTargetTime)",
                    if c.active { "active" } else { "inactive" },
                    super::excerpt(&b.name, 80)
                ),
                backup_id: Some(b.name.clone()),
            },
        })
    }

    pub async fn watch(&self, id: &str) -> Result<BackupWatch, ApiError> {
        let chains = self.list_backups(id).await?;
        let active = chains
            .iter()
            .filter_map(|b| b.chain.as_ref())
            .find(|c| c.active && c.state == "AVAILABLE");
        Ok(BackupWatch {
            // IONOS lists backup chains, not the base backups in them: no finish time.
            last_backup: None,
            window_start: active.and_then(|c| c.earliest),
            problem: active
                .is_none()
                .then(|| "no active AVAILABLE backup chain".to_string()),
        })
    }

    /// The restore request: a new cluster with the source's properties and `fromBackup`, or
    /// `POST /clusters/{id}/restore`. Neither carries an idempotency key (none is documented).
    pub async fn restore_call(
        &self,
        id: &str,
        target: OffsetDateTime,
        dest: &Dest,
        window: &Window,
    ) -> Result<Call, ApiError> {
        let backup_id = window.backup_id.clone().unwrap_or_default();
        let from = json!({"backupId": backup_id, "recoveryTargetTime": rfc3339(target)});
        match dest {
            Dest::InPlace => Ok(self.t.post(
                format!("/clusters/{id}/restore"),
                from,
                Retry::Once,
                Some(id.to_string()),
            )),
            Dest::New {
                name,
                region,
                storage,
                db_user,
                ..
            } => {
                let src = self.cluster_json(id).await?;
                let mut props: Map<String, Value> = src
                    .get("properties")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for k in READ_ONLY {
                    props.remove(*k);
                }
                props.insert("displayName".into(), json!(name));
                if let Some(r) = region {
                    props.insert("location".into(), json!(r));
                }
                if let Some(s) = storage {
                    // IONOS sizes storage in MB; --storage is in GB, as for Bridge.
                    props.insert("storageSize".into(), json!(u64::from(*s) * 1024));
                }
                props.insert("fromBackup".into(), from);
                // IONOS requires the new cluster's database user (`credentials`), and returns
                // none of the source's: it comes from [ionos] db_username / db_password_file.
                let Some(user) = db_user else {
                    return Err(ApiError::Malformed {
                        req: format!("POST {}", self.url("/clusters")),
                        detail: "IONOS requires credentials for a new cluster and none were given"
                            .into(),
                    });
                };
                let mut shown = props.clone();
                shown.insert(
                    "credentials".into(),
                    json!({"username": user.username, "password": "[redacted]"}),
                );
                props.insert(
                    "credentials".into(),
                    json!({"username": user.username, "password": user.password.expose_secret()}),
                );
                let mut call = self.t.post(
                    "/clusters".into(),
                    json!({"properties": props}),
                    Retry::Once,
                    None,
                );
                call.shown = json!({"properties": shown});
                Ok(call)
            }
        }
    }

    /// Sends the restore request; returns the new cluster's id when the answer names one (the
    /// in-place restore answers with an empty body).
    pub async fn send(&self, call: &Call) -> Result<Option<String>, ApiError> {
        let (_, body) = self.t.send_call(call).await?;
        Ok(serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string)))
    }

    /// `metadata.state` (the model's `State`: AVAILABLE, BUSY, DESTROYING, DEGRADED, FAILED,
    /// UNKNOWN): BUSY → working, AVAILABLE → ready, FAILED or DEGRADED → failed, DESTROYING →
    /// failed (going away); UNKNOWN, a missing state or one outside the model → unknown. The
    /// model has no message beside the state: none is shown.
    pub async fn phase(&self, id: &str) -> Result<Phase, ApiError> {
        let v = self.cluster_json(id).await?;
        let state = super::excerpt(
            v.pointer("/metadata/state")
                .and_then(Value::as_str)
                .unwrap_or("(none)"),
            40,
        );
        Ok(match state.as_str() {
            "AVAILABLE" => Phase::Ready,
            "BUSY" => Phase::Working(state),
            "FAILED" | "DEGRADED" => Phase::Failed(format!("metadata.state {state}")),
            "DESTROYING" => {
                Phase::Failed("metadata.state DESTROYING: the cluster is being deleted".into())
            }
            _ => Phase::Unknown(state),
        })
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn malformed(url: &reqwest::Url, detail: String) -> ApiError {
    ApiError::Malformed {
        req: req(&Method::GET, url),
        detail,
    }
}

/// An IONOS cluster (`id`, `metadata`, `properties.displayName`, `.location`,
/// `.postgresVersion`, `.dnsName`) in the common model; the object itself is kept for `--json`.
fn to_cluster(v: Value, url: &reqwest::Url) -> Result<Cluster, ApiError> {
    let id = first_str(&v, &["id"])
        .ok_or_else(|| malformed(url, "a cluster without `id`".into()))?
        .to_string();
    let p = v.get("properties").cloned().unwrap_or(Value::Null);
    Ok(Cluster {
        name: first_str(&p, &["displayName"])
            .unwrap_or_default()
            .to_string(),
        provider_id: Some("ionos".into()),
        region_id: first_str(&p, &["location"]).map(str::to_string),
        major_version: p.get("postgresVersion").and_then(|v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or(v.as_u64().map(|n| n as u32))
        }),
        team_id: None,
        host: first_str(&p, &["dnsName"]).map(str::to_string),
        state: v
            .pointer("/metadata/state")
            .and_then(Value::as_str)
            .map(str::to_string),
        extra: Map::new(),
        raw: Some(v),
        id,
    })
}

/// An IONOS backup chain in the common model: its id as the name, `metadata.createdDate` as
/// the start; no finish time and no size in bytes (IONOS reports MB); the rest in [`Chain`].
fn to_backup(v: Value, url: &reqwest::Url) -> Result<Backup, ApiError> {
    let bad = |d: String| malformed(url, d);
    let id = first_str(&v, &["id"])
        .ok_or_else(|| bad("a backup without `id`".into()))?
        .to_string();
    let meta = v.get("metadata").cloned().unwrap_or(Value::Null);
    let p = v.get("properties").cloned().unwrap_or(Value::Null);
    let created = first_time(&meta, &["createdDate"])
        .map_err(|e| {
            bad(format!(
                "backup {id}: metadata.{}",
                e.trim_start_matches("field ")
            ))
        })?
        .ok_or_else(|| bad(format!("backup {id}: missing metadata.createdDate")))?;
    let earliest = first_time(&p, &["earliestRecoveryTargetTime"]).map_err(|e| {
        bad(format!(
            "backup {id}: properties.{}",
            e.trim_start_matches("field ")
        ))
    })?;
    Ok(Backup {
        name: id,
        started_at: created,
        finished_at: None,
        lsn_start: None,
        lsn_stop: None,
        size_bytes: None,
        kind: None,
        extra: Map::new(),
        chain: Some(Chain {
            active: p.get("isActive").and_then(Value::as_bool).unwrap_or(false),
            earliest,
            state: first_str(&meta, &["state"])
                .unwrap_or("UNKNOWN")
                .to_string(),
            size_mb: p.get("size").and_then(Value::as_u64),
            version: p
                .get("version")
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)),
            location: first_str(&p, &["location"]).map(str::to_string),
        }),
        raw: Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_chain_maps_to_the_common_model() {
        let url =
            reqwest::Url::parse("https://api.ionos.com/databases/postgresql/clusters/backups")
                .unwrap();
        let b = to_backup(
            json!({"id": "c-1", "metadata": {"createdDate": "2026-11-16T00:00:00Z", "state": "AVAILABLE"},
                   "properties": {"isActive": true, "earliestRecoveryTargetTime": "2026-11-16T00:05:00Z", "size": 2048, "version": 15}}),
            &url,
        )
        .unwrap();
        let c = b.chain.unwrap();
        assert!(c.active);
        assert_eq!(c.size_mb, Some(2048));
        assert_eq!(c.version.as_deref(), Some("15"));
        assert_eq!(b.finished_at, None);
        let e = to_backup(json!({"id": "c-2", "metadata": {}}), &url)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("backup c-2: missing metadata.createdDate"),
            "{e}"
        );
        let e = to_backup(json!({"id": "c-3", "metadata": {"createdDate": 5}}), &url)
            .unwrap_err()
            .to_string();
        assert!(e.contains("metadata.`createdDate` is not a string"), "{e}");
    }
}
