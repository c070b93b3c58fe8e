//! The simulator's IONOS DBaaS PostgreSQL API, under `/ionos` (seed 002, provider-apis.md):
//! Basic or Bearer auth, clusters and backup chains in offset/limit pages (`links`, as the
//! models of the cluster list and the backup lists spell it), the IONOS error body, and
//! point-in-time restores (a new cluster `fromBackup`, or `POST /clusters/{id}/restore` in
//! place; with a `recoveryTargetTime`, or without: the whole chain) that go BUSY → AVAILABLE
//! (or FAILED) after `restore_ms`; `DELETE /clusters/{id}` (DESTROYING for `delete_ms`, then
//! 404); no on-demand backup (the API has none). Clusters carry the model's current values (storage "SSD
//! Premium", "SSD Standard"; a `connectionPooler`).

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::postgres::{self, Contents, Fleet};
use super::{Inner, SimRole};

mod create;
use create::check_create;
pub use create::ENUMS;

/// The IONOS side of the simulator's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IonosSim {
    /// Basic auth.
    pub username: String,
    pub password: String,
    /// Accepted Bearer tokens.
    #[serde(default)]
    pub tokens: Vec<String>,
    #[serde(default)]
    pub clusters: Vec<IonosCluster>,
    /// If set, every restore ends FAILED with this message.
    #[serde(default)]
    pub fail_restores: Option<String>,
    /// Every create request accepted, verbatim (for tests: the official SDK checks them).
    #[serde(skip)]
    pub create_requests: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IonosCluster {
    pub id: String,
    pub name: String,
    /// `metadata.state`.
    #[serde(default = "available")]
    pub state: String,
    #[serde(default = "default_location")]
    pub location: String,
    #[serde(default = "default_version")]
    pub postgres_version: String,
    #[serde(default)]
    pub chains: Vec<IonosChain>,
    /// `properties.connections[0]`: `{datacenterId, lanId, cidr}`.
    #[serde(default = "default_connection")]
    pub connection: Value,
    /// `properties.storageType`: a wire value of the model's `StorageType`.
    #[serde(default = "default_storage_type")]
    pub storage_type: String,
    /// `properties.connectionPooler` (`{enabled, poolMode}`), served when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_pooler: Option<Value>,
    /// When a restore into it is over, and the state it then takes.
    #[serde(skip)]
    pending: crate::sim::staged::Staged,
    /// What it was restored from (`fromBackup` or an in-place restore), for tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<Value>,
    /// Its database users: a created cluster's is the request's `credentials` (a login role
    /// that may create databases, not a superuser); an in-place restore keeps them. Its real
    /// PostgreSQL, if any, has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<SimRole>,
}

/// A backup chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IonosChain {
    pub id: String,
    /// `metadata.createdDate` (optional in the model: absent when `None`).
    #[serde(default)]
    pub created: Option<String>,
    /// `earliestRecoveryTargetTime`.
    pub earliest: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default = "available")]
    pub state: String,
    #[serde(default)]
    pub size_mb: u64,
    /// `properties.version`: the chain's PostgreSQL major.
    #[serde(default = "default_version")]
    pub version: String,
}

fn available() -> String {
    "AVAILABLE".into()
}
fn yes() -> bool {
    true
}
fn default_location() -> String {
    "de/fra".into()
}
fn default_version() -> String {
    "15".into()
}
fn default_storage_type() -> String {
    "SSD Premium".into()
}
fn default_connection() -> Value {
    json!({"datacenterId": "b2d7f7d1-34c1-4bd6-9c36-9b1e5b0c7a11", "lanId": "2", "cidr": "192.168.1.100/24"})
}

impl IonosCluster {
    pub fn new(id: &str, name: &str, chains: Vec<IonosChain>) -> IonosCluster {
        IonosCluster {
            id: id.into(),
            name: name.into(),
            state: available(),
            location: default_location(),
            postgres_version: default_version(),
            chains,
            connection: default_connection(),
            storage_type: default_storage_type(),
            connection_pooler: None,
            pending: Default::default(),
            restored_from: None,
            users: Vec::new(),
        }
    }
}

/// The IONOS error body: `{httpStatus, messages: [{errorCode, message}]}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let code = format!("paas-{}", status.as_u16());
    (
        status,
        axum::Json(json!({"httpStatus": status.as_u16(), "messages": [{"errorCode": code, "message": message}]})),
    )
        .into_response()
}

/// Whether the request carries the configured Basic credentials or a Bearer token.
pub(crate) fn authorized(io: &IonosSim, headers: &HeaderMap) -> bool {
    let Some(h) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if let Some(t) = h.strip_prefix("Bearer ") {
        return io.tokens.iter().any(|k| k == t);
    }
    let Some(b) = h.strip_prefix("Basic ") else {
        return false;
    };
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b)
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .is_some_and(|up| up == format!("{}:{}", io.username, io.password))
}

/// The state a deleted cluster's last stage leaves it in: no longer there.
const GONE: &str = "(gone)";

/// Ends the restores and deletions whose time is up (a deleted cluster is then unknown: 404).
fn settle(io: &mut IonosSim, real: Option<&Fleet>) {
    let now = OffsetDateTime::now_utc();
    for c in &mut io.clusters {
        // Not AVAILABLE before its real PostgreSQL is (FAILED if it did not start); not gone
        // before it has stopped.
        let held = |s: &str| postgres::holds(real, &c.id, s, "AVAILABLE", GONE);
        for state in c.pending.due_unless(now, held) {
            c.state = match state.as_str() {
                "AVAILABLE" => postgres::outcome(real, &c.id, "AVAILABLE", "FAILED").0,
                _ => state,
            };
        }
    }
    io.clusters.retain(|c| c.state != GONE);
}

fn cluster_json(c: &IonosCluster, real: Option<&Fleet>) -> Value {
    let n = c.id.split('-').next().unwrap_or("0");
    let dns = match real.and_then(|f| f.address(&c.id)) {
        Some(a) => a.to_string(),
        None => format!("pg-{n}.postgresql.de-fra.ionos.com"),
    };
    let mut v = json!({
        "type": "cluster", "id": c.id, "href": format!("/clusters/{}", c.id),
        "metadata": {"createdDate": "2026-01-01T00:00:00Z", "createdBy": "ops@example.com", "state": c.state},
        "properties": {
            "displayName": c.name, "postgresVersion": c.postgres_version, "location": c.location,
            "backupLocation": "eu-central-2", "instances": 1, "cores": 2, "ram": 4096,
            "storageSize": 20480, "storageType": c.storage_type,
            "connections": [c.connection],
            "maintenanceWindow": {"time": "16:30:59", "dayOfTheWeek": "Sunday"},
            "synchronizationMode": "ASYNCHRONOUS",
            "dnsName": dns
        }
    });
    if let Some(p) = &c.connection_pooler {
        v["properties"]["connectionPooler"] = p.clone();
    }
    v
}

fn chain_json(cluster: &str, b: &IonosChain) -> Value {
    let mut meta = json!({"state": b.state});
    if let Some(c) = &b.created {
        meta["createdDate"] = json!(c);
    }
    json!({
        "type": "backup", "id": b.id,
        "metadata": meta,
        "properties": {"clusterId": cluster, "version": b.version, "isActive": b.active,
                       "earliestRecoveryTargetTime": b.earliest, "size": b.size_mb, "location": "eu-central-2"}
    })
}

/// One offset/limit page: `items`, `offset`, `limit`, and `links` (`prev`, `self`, `next`;
/// `next` only when more remain). The models of the cluster list (`ClusterList`) and the
/// backup lists (`ClusterBackupList`) spell it `links`; only `Pagination` (the database and
/// user lists, not simulated) spells it `_links`.
fn page(kind: &str, path: &str, items: Vec<Value>, q: &BTreeMap<String, String>) -> Response {
    let num = |k: &str, d: usize| q.get(k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(d);
    let (offset, limit) = (num("offset", 0), num("limit", 100));
    if !(1..=1000).contains(&limit) {
        return error(StatusCode::BAD_REQUEST, "limit must be between 1 and 1000");
    }
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut links = json!({"self": format!("{path}?offset={offset}&limit={limit}")});
    if offset > 0 {
        links["prev"] = json!(format!(
            "{path}?offset={}&limit={limit}",
            offset.saturating_sub(limit)
        ));
    }
    if offset + limit < total {
        links["next"] = json!(format!("{path}?offset={}&limit={limit}", offset + limit));
    }
    axum::Json(json!({"type": "collection", "id": kind, "items": slice, "offset": offset, "limit": limit, "links": links})).into_response()
}

/// Answers one IONOS request (`path` without the `/ionos` prefix), already authorized.
pub(crate) fn route(
    g: &mut Inner,
    method: &str,
    path: &str,
    q: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    let restore_ms = g.state.restore_ms;
    let start_ms = g.state.restore_start_ms;
    let delete_ms = g.state.delete_ms;
    let real = g.real.as_ref();
    let Some(io) = g.state.ionos.as_mut() else {
        return error(
            StatusCode::NOT_FOUND,
            "IONOS is not simulated in this state.",
        );
    };
    settle(io, real);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let find = |io: &IonosSim, id: &str| io.clusters.iter().position(|c| c.id == id);
    match (method, segs.as_slice()) {
        ("GET", ["clusters"]) => {
            let items = io.clusters.iter().map(|c| cluster_json(c, real)).collect();
            page("clusters", "/clusters", items, q)
        }
        ("GET", ["clusters", "backups"]) => {
            let items = io
                .clusters
                .iter()
                .flat_map(|c| c.chains.iter().map(|b| chain_json(&c.id, b)))
                .collect();
            page("backups", "/clusters/backups", items, q)
        }
        ("GET", ["clusters", "backups", id]) => {
            match io.clusters.iter().find_map(|c| {
                c.chains
                    .iter()
                    .find(|b| b.id == *id)
                    .map(|b| chain_json(&c.id, b))
            }) {
                Some(b) => axum::Json(b).into_response(),
                None => error(StatusCode::NOT_FOUND, "The requested backup was not found."),
            }
        }
        ("GET", ["clusters", id]) => match find(io, id) {
            Some(i) => axum::Json(cluster_json(&io.clusters[i], real)).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "The requested cluster was not found.",
            ),
        },
        ("GET", ["clusters", id, "backups"]) => match find(io, id) {
            Some(i) => {
                let c = &io.clusters[i];
                let items = c.chains.iter().map(|b| chain_json(&c.id, b)).collect();
                page("backups", &format!("/clusters/{id}/backups"), items, q)
            }
            None => error(
                StatusCode::NOT_FOUND,
                "The requested cluster was not found.",
            ),
        },
        ("POST", ["clusters"]) => create(io, body, restore_ms, real),
        // The SDK's `ClustersDelete`: 200 with the cluster, DESTROYING for `delete_ms`, then
        // 404.
        ("DELETE", ["clusters", id]) => {
            let Some(i) = find(io, id) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "The requested cluster was not found.",
                );
            };
            let c = &mut io.clusters[i];
            c.state = "DESTROYING".into();
            c.pending = crate::sim::staged::Staged::new([(done_at(delete_ms), GONE.into())]);
            if let Some(real) = real {
                real.remove(&c.id);
            }
            axum::Json(cluster_json(c, real)).into_response()
        }
        ("POST", ["clusters", id, "restore"]) => {
            let Some(i) = find(io, id) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "The requested cluster was not found.",
                );
            };
            let req: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
            };
            match check_from(io, &req) {
                Err(r) => return *r,
                Ok(v) if v != io.clusters[i].postgres_version => {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "The backup's PostgreSQL version differs from the cluster's.",
                    )
                }
                Ok(_) => {}
            }
            if io.clusters[i].state != "AVAILABLE" || !io.clusters[i].pending.is_empty() {
                return error(
                    StatusCode::CONFLICT,
                    "The cluster is not AVAILABLE; a restore is already running.",
                );
            }
            let end = io.fail_restores.is_some();
            if let Some(real) = real.filter(|_| !end) {
                let c = &io.clusters[i];
                let contents = restored(io, &req, c.users.clone());
                if let Err(e) = real.replace(&c.id, contents) {
                    return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
                }
            }
            let c = &mut io.clusters[i];
            // AVAILABLE for `restore_start_ms`, BUSY for `restore_ms`, then the end.
            c.pending = crate::sim::staged::Staged::new([
                (done_at(start_ms), "BUSY".into()),
                (
                    done_at(start_ms + restore_ms),
                    if end { "FAILED".into() } else { available() },
                ),
            ]);
            if start_ms == 0 {
                c.state = "BUSY".into();
            }
            c.restored_from = Some(req);
            // IONOS answers the restore with an empty body and no operation id.
            StatusCode::ACCEPTED.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "Not found."),
    }
}

/// What a cluster restored from `from` (`{backupId, recoveryTargetTime}`, already checked)
/// holds: its `users`, the first of them owning the sample data, up to the target (without
/// one: now, the whole chain).
fn restored(io: &IonosSim, from: &Value, users: Vec<SimRole>) -> Contents {
    let id = from.get("backupId").and_then(Value::as_str).unwrap_or("");
    let target = from
        .get("recoveryTargetTime")
        .and_then(Value::as_str)
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    let earliest = io
        .clusters
        .iter()
        .find_map(|c| c.chains.iter().find(|b| b.id == id))
        .map(|b| b.earliest.as_str());
    Contents {
        source: format!("IONOS backup {id}"),
        from: Contents::from_of(earliest, target),
        target,
        superuser_password: None,
        owner: users.first().map(|u| u.name.clone()),
        roles: users,
        createdb: true,
        repository: None,
    }
}

fn done_at(ms: u64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + std::time::Duration::from_millis(ms)
}

/// A `{backupId, recoveryTargetTime}` that names an AVAILABLE chain and, if it names a time,
/// one inside the chain's window (an inactive chain's ends where the cluster's next chain
/// begins); the chain's version. `recoveryTargetTime` is optional in the model ("if empty, the
/// backup will be applied completely"): absent (or null), the whole chain is applied.
fn check_from(io: &IonosSim, from: &Value) -> Result<String, Box<Response>> {
    let bad = |m: &str| Box::new(error(StatusCode::UNPROCESSABLE_ENTITY, m));
    if let Some(k) = from.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["backupId", "recoveryTargetTime"].contains(&k.as_str()))
    }) {
        return Err(bad(&format!("{k} is not a field of CreateRestoreRequest")));
    }
    let id = from
        .get("backupId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("backupId is required"))?;
    let (cluster, chain) = io
        .clusters
        .iter()
        .find_map(|c| c.chains.iter().find(|b| b.id == id).map(|b| (c, b)))
        .ok_or_else(|| bad("The backup was not found."))?;
    if chain.state != "AVAILABLE" {
        return Err(bad("The backup is not AVAILABLE."));
    }
    let t = match from.get("recoveryTargetTime") {
        None | Some(Value::Null) => return Ok(chain.version.clone()),
        Some(t) => t
            .as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .ok_or_else(|| bad("recoveryTargetTime must be an RFC 3339 time"))?,
    };
    let earliest =
        OffsetDateTime::parse(&chain.earliest, &Rfc3339).map_err(|_| bad("bad chain"))?;
    let next = cluster
        .chains
        .iter()
        .filter_map(|b| OffsetDateTime::parse(&b.earliest, &Rfc3339).ok())
        .filter(|e| *e > earliest)
        .min();
    let end = match (chain.active, next) {
        (false, Some(n)) => n,
        _ => OffsetDateTime::now_utc(),
    };
    if t < earliest || t > end {
        return Err(bad(
            "recoveryTargetTime is outside the backup's recovery window.",
        ));
    }
    Ok(chain.version.clone())
}

/// `POST /clusters`: only a cluster made `fromBackup` is simulated. It is BUSY for
/// `restore_ms`, then AVAILABLE (FAILED with `fail_restores`).
fn create(io: &mut IonosSim, body: &[u8], restore_ms: u64, real: Option<&Fleet>) -> Response {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    if let Some(k) = req
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "properties"))
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("[(root).{k}] is not a field of CreateClusterRequest"),
        );
    }
    let p = req.get("properties").cloned().unwrap_or(Value::Null);
    if let Err(m) = check_create(io, &p) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &m);
    }
    let Some(from) = p.get("fromBackup") else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the simulator creates clusters from a backup only (properties.fromBackup)",
        );
    };
    let version = match check_from(io, from) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if p.get("postgresVersion").and_then(Value::as_str) != Some(version.as_str()) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("[(root).properties.postgresVersion] must be {version}, the backup's version"),
        );
    }
    let name = p.get("displayName").and_then(Value::as_str).unwrap_or("");
    let mut c = IonosCluster::new(&uuid::Uuid::new_v4().to_string(), name, vec![]);
    c.state = "BUSY".into();
    c.postgres_version = version;
    c.connection = p.pointer("/connections/0").cloned().unwrap_or(Value::Null);
    c.storage_type = p
        .get("storageType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .into();
    c.connection_pooler = p.get("connectionPooler").cloned();
    c.location = p
        .get("location")
        .and_then(Value::as_str)
        .unwrap_or("de/fra")
        .into();
    let end = if io.fail_restores.is_some() {
        "FAILED"
    } else {
        "AVAILABLE"
    };
    c.users = vec![SimRole {
        name: p
            .pointer("/credentials/username")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into(),
        password: p
            .pointer("/credentials/password")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into(),
    }];
    if let Some(real) = real.filter(|_| io.fail_restores.is_none()) {
        if let Err(e) = real.create(&c.id, restored(io, from, c.users.clone())) {
            return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
        }
    }
    c.pending = crate::sim::staged::Staged::new([(done_at(restore_ms), end.into())]);
    c.restored_from = Some(from.clone());
    io.create_requests.push(req.clone());
    let out = cluster_json(&c, real);
    io.clusters.push(c);
    (StatusCode::CREATED, axum::Json(out)).into_response()
}

/// The sample IONOS clusters: "shop-production" on "SSD Premium" storage with a connection
/// pooler, an active chain from a week ago and an older inactive one; "shop-staging" on "SSD
/// Standard" without a pooler, one active chain from three days ago.
pub fn sample() -> IonosSim {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let t = |days: i64| {
        (now - time::Duration::days(days))
            .format(&Rfc3339)
            .unwrap_or_default()
    };
    let id = "498ae72f-411f-11eb-9d07-046c59cc737e";
    let mut production = IonosCluster::new(
        id,
        "shop-production",
        vec![
            IonosChain {
                id: format!("{id}-4oymiqu-11"),
                created: Some(t(40)),
                earliest: t(40),
                active: false,
                state: available(),
                size_mb: 1830,
                // Chains are per PostgreSQL version: a major upgrade a week ago began the
                // active one.
                version: "14".into(),
            },
            IonosChain {
                id: format!("{id}-4oymiqu-12"),
                created: Some(t(7)),
                earliest: t(7),
                active: true,
                state: available(),
                size_mb: 2104,
                version: default_version(),
            },
        ],
    );
    production.connection_pooler = Some(json!({"enabled": true, "poolMode": "transaction"}));
    let staging_id = "7c0e5a43-9f2d-4b8e-a1c6-3d5f7e9b2c40";
    let mut staging = IonosCluster::new(
        staging_id,
        "shop-staging",
        vec![IonosChain {
            id: format!("{staging_id}-9kq2v7c-1"),
            created: Some(t(3)),
            earliest: t(3),
            active: true,
            state: available(),
            size_mb: 412,
            version: default_version(),
        }],
    );
    staging.storage_type = "SSD Standard".into();
    staging.connection = json!({"datacenterId": "b2d7f7d1-34c1-4bd6-9c36-9b1e5b0c7a11", "lanId": "2", "cidr": "192.168.1.101/24"});
    IonosSim {
        username: "ops@example.com".into(),
        password: "ionos-simulator-password".into(),
        tokens: vec!["ionos-simulator-token".into()],
        clusters: vec![production, staging],
        fail_restores: None,
        create_requests: Vec::new(),
    }
}
