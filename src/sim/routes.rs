//! The simulator's HTTP side: auth, faults, idempotency, and the documented endpoints
//! (clusters of a team, a cluster, its status, backups, start-backup, backup tokens), plus the
//! `/_sim/` admin endpoints.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::faults::{take_fault, Fault, FaultKind};
use super::pages::{page_json, paginate};
use super::sample::random_credentials;
use super::{
    account, backup_label, error, new_eid, now_rfc3339, Inner, IssueRequest, Sim, SimCluster,
    StoreTemplate,
};

pub(super) async fn handle(
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
    let api = Api::of(&path);
    let error = |status: StatusCode, message: &str| api.error(status, message);
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
        let authorized =
            match &api {
                Api::Bridge => headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .is_some_and(|k| account::authorized(&g, k)),
                Api::Ionos(_) => g
                    .state
                    .ionos
                    .as_ref()
                    .is_some_and(|i| super::ionos::authorized(i, &headers)),
                Api::Launcher(tenant, _) => g.state.launcher.as_ref().is_some_and(|l| {
                    &l.tenant == tenant && super::launcher::authorized(l, &headers)
                }),
            };
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
        Some(FaultKind::LateAnswer { .. }) => {}
        Some(FaultKind::Error { status, message }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            return error(s, &message);
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
        Some(FaultKind::ForkEnds { .. }) => {}
        Some(FaultKind::EchoBody { status, field }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let sent = String::from_utf8_lossy(&body).into_owned();
            let (at, quoted) = match field {
                Some(f) => (
                    format!("(root){}", f.replace('/', ".")),
                    serde_json::from_str::<serde_json::Value>(&sent)
                        .ok()
                        .and_then(|v| v.pointer(&f).map(|x| x.to_string()))
                        .unwrap_or_default(),
                ),
                None => ("(root)".to_string(), sent),
            };
            return api.error(s, &format!("[{at}] is not valid: {quoted}"));
        }
        None => {}
    }
    let late = match fault {
        Some(FaultKind::LateAnswer { delay_ms }) => Duration::from_millis(delay_ms),
        _ => Duration::ZERO,
    };
    if method == Method::POST && path == "/access-tokens" {
        return account::create_access_token(&mut sim.lock(), &body);
    }
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized.");
    }
    let q = || -> BTreeMap<String, String> {
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    };
    let other = match &api {
        Api::Ionos(rest) => Some(super::ionos::route(
            &mut sim.lock(),
            method.as_str(),
            rest,
            &q(),
            &body,
        )),
        Api::Launcher(_, rest) => Some(super::launcher::route(
            &mut sim.lock(),
            method.as_str(),
            rest,
            &q(),
            &body,
        )),
        Api::Bridge => None,
    };
    if let Some(resp) = other {
        // The work is done; a late answer comes after it (the client may have given up).
        tokio::time::sleep(late).await;
        return resp;
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
        _ => {
            let ends = match &fault {
                Some(FaultKind::ForkEnds { state }) => Some(state.clone()),
                _ => None,
            };
            route(&sim, &method, &path, uri.query().unwrap_or(""), &body, ends)
        }
    };
    tokio::time::sleep(late).await;
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

/// Which API a path is for: Bridge at the root, IONOS under `/ionos`, Launcher under
/// `/launcher/<tenant>/api/v1`. The IONOS and Launcher variants hold the path below that.
enum Api {
    Bridge,
    Ionos(String),
    Launcher(String, String),
}

impl Api {
    fn of(path: &str) -> Api {
        if let Some(rest) = path.strip_prefix("/ionos") {
            return Api::Ionos(rest.to_string());
        }
        if let Some(rest) = path.strip_prefix("/launcher/") {
            let (tenant, below) = rest.split_once('/').unwrap_or((rest, ""));
            let below = format!("/{below}");
            let api_path = below.strip_prefix("/api/v1").unwrap_or("/-").to_string();
            return Api::Launcher(tenant.to_string(), api_path);
        }
        Api::Bridge
    }

    /// The API's own error body.
    fn error(&self, status: StatusCode, message: &str) -> Response {
        match self {
            Api::Bridge => error(status, message),
            Api::Ionos(_) => super::ionos::error(status, message),
            Api::Launcher(..) => super::launcher::error(status, message),
        }
    }
}

/// `/clusters/abc/backups` → `/clusters/{id}/backups`, for stats (EIDs and UUIDs).
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if (seg.len() == 26 && crate::ids::is_eid(seg)) || crate::ids::is_uuid(seg) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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

fn route(
    sim: &Sim,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
    fork_ends: Option<String>,
) -> Response {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let q: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut g = sim.lock();
    settle_backups(&mut g);
    let now = OffsetDateTime::now_utc();
    g.creating.retain(|_, at| *at > now);
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
            // 403 for a cluster that does not exist as for one of another team: the API does
            // not reveal which (provider-apis.md; the official client reads it so).
            let Some(i) = find(&g, id) else {
                return error(StatusCode::FORBIDDEN, "Forbidden.");
            };
            if !account::visible(&g, &g.state.clusters[i].team_id) {
                return error(StatusCode::FORBIDDEN, "Forbidden.");
            }
            match (m, rest) {
                ("GET", []) => axum::Json(cluster_json(&g.state.clusters[i])).into_response(),
                ("GET", ["status"]) => {
                    let c = &g.state.clusters[i];
                    let state = match (g.creating.contains_key(&c.id), g.ending.get(&c.id)) {
                        (true, _) => "creating",
                        (false, Some(s)) => s.as_str(),
                        (false, None) => "ready",
                    };
                    axum::Json(json!({"disk_usage": {"disk_available_mb": 94948, "disk_total_size_mb": 100213, "disk_used_mb": 133}, "oldest_backup_at": oldest_backup(c), "ongoing_upgrade": null, "state": state})).into_response()
                }
                ("POST", ["forks"]) => fork(&mut g, i, body, fork_ends),
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

/// The start of a cluster's window: its oldest backup's start.
fn oldest_backup(c: &SimCluster) -> Option<String> {
    c.backups
        .iter()
        .filter_map(|b| b.get("started_at").and_then(|v| v.as_str()))
        .min()
        .map(str::to_string)
}

/// `POST /clusters/{id}/forks` (seed 004): `name` and, if given, `target_time` between the
/// oldest backup and now; the fork is `creating` for `restore_ms`, then `ready`.
fn fork(g: &mut Inner, i: usize, body: &[u8], ends: Option<String>) -> Response {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return error(StatusCode::BAD_REQUEST, "Request body must be JSON."),
    };
    let src = g.state.clusters[i].clone();
    if let Some(t) = req
        .get("target_time")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        let t = OffsetDateTime::parse(t, &Rfc3339).ok();
        let oldest = oldest_backup(&src).and_then(|o| OffsetDateTime::parse(&o, &Rfc3339).ok());
        match (t, oldest) {
            (Some(t), Some(o)) if t >= o && t <= OffsetDateTime::now_utc() => {}
            (None, _) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "target_time must be an RFC 3339 time.",
                )
            }
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "target_time must be between the cluster's oldest backup and the current time.",
                )
            }
        }
    }
    let Some(name) = req
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return error(StatusCode::BAD_REQUEST, "name is required.");
    };
    let mut c = src.clone();
    c.id = new_eid();
    c.name = name.to_string();
    c.backups = Vec::new();
    if let Some(r) = req.get("region_id").and_then(Value::as_str) {
        c.region_id = r.to_string();
    }
    let ready = OffsetDateTime::now_utc() + Duration::from_millis(g.state.restore_ms);
    g.creating.insert(c.id.clone(), ready);
    if let Some(s) = ends {
        g.ending.insert(c.id.clone(), s);
    }
    let out = cluster_json(&c);
    g.state.clusters.push(c);
    (StatusCode::CREATED, axum::Json(out)).into_response()
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

/// `POST /clusters/{id}/backup-tokens`: a fresh token, its credentials from the issuer.
async fn create_token(sim: &Sim, id: &str) -> Response {
    let cluster = {
        let g = sim.lock();
        g.state
            .clusters
            .iter()
            .find(|c| c.id == id)
            .filter(|c| account::visible(&g, &c.team_id))
            .cloned()
    };
    // Unknown, or another team's: 403 either way, as for every cluster route.
    let Some(cluster) = cluster else {
        return error(StatusCode::FORBIDDEN, "Forbidden.");
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
