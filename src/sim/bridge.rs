//! The simulator's Crunchy Bridge API (seeds 000, 001, 004): clusters and their status,
//! backups in cursor pages (`start-backup` a no-op while one runs or soon after the last),
//! deletions (`destroying`, then 404), forks that pass through `creating`, `restoring`, `replaying` and
//! `finalizing` to `ready` (`fork_states`, `restore_ms`), backup tokens whose credentials work
//! against the local object stores; roles (`GET /clusters/{id}/roles/{name}`) whose passwords a
//! fork's real PostgreSQL has, when the simulator runs them ([`super::postgres`]). `routes`
//! dispatches to it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::pages::{page_json, paginate};
use super::postgres::{self, Contents, Fleet, Repository};
use super::sample::random_credentials;
use super::staged::Staged;
use super::{
    account, backup_label, error, new_eid, Inner, IssueRequest, Sim, SimCluster, SimRole,
    StoreTemplate,
};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(super) fn route(
    sim: &Sim,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
    fork_ends: Option<String>,
    repository: Option<Repository>,
) -> Response {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let q: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut g = sim.lock();
    settle_backups(&mut g);
    settle_forks(&mut g);
    settle_deletes(&mut g);
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
                .map(|c| cluster_json(c, g.real.as_ref()))
                .collect();
            paginate(items, &q, "clusters", &["id", "name"], "name")
        }
        (m, ["clusters", id, rest @ ..]) => {
            // 403 for a cluster that does not exist as for one of another team: the API does
            // not reveal which (provider-apis.md; the official client reads it so).
            let Some(i) = find(&g, id) else {
                // A cluster deleted here is not found any more; one never seen is 403.
                if g.deleted.contains(*id) {
                    return error(StatusCode::NOT_FOUND, "Not found.");
                }
                return error(StatusCode::FORBIDDEN, "Forbidden.");
            };
            if !account::visible(&g, &g.state.clusters[i].team_id) {
                return error(StatusCode::FORBIDDEN, "Forbidden.");
            }
            match (m, rest) {
                ("GET", []) => {
                    axum::Json(cluster_json(&g.state.clusters[i], g.real.as_ref())).into_response()
                }
                ("GET", ["status"]) => {
                    let c = &g.state.clusters[i];
                    axum::Json(json!({"disk_usage": {"disk_available_mb": 94948, "disk_total_size_mb": 100213, "disk_used_mb": 133}, "oldest_backup_at": oldest_backup(c), "ongoing_upgrade": null, "state": c.state()})).into_response()
                }
                ("POST", ["forks"]) => fork(&mut g, i, body, fork_ends, repository),
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
                // Seed 004: 200 with the cluster; it is `destroying` for `delete_ms`, then 404.
                ("DELETE", []) => {
                    let id = g.state.clusters[i].id.clone();
                    let gone = OffsetDateTime::now_utc() + Duration::from_millis(g.state.delete_ms);
                    g.forks.remove(&id);
                    g.state.clusters[i].state = Some("destroying".into());
                    let out = cluster_json(&g.state.clusters[i], g.real.as_ref());
                    // Its real PostgreSQL stops meanwhile; it is gone once that is done too.
                    if let Some(real) = &g.real {
                        real.remove(&id);
                    }
                    g.deleting.entry(id).or_insert(gone);
                    axum::Json(out).into_response()
                }
                ("PUT", ["actions", "start-backup"]) => {
                    // Seed 004: "might be a no-op in case a backup is already in progress, or
                    // a backup was requested recently": 200 all the same, nothing started.
                    let id = g.state.clusters[i].id.clone();
                    let now = OffsetDateTime::now_utc();
                    if g.running.iter().any(|r| r.cluster == id) {
                        return axum::Json(json!({"message": "A backup is already in progress."}))
                            .into_response();
                    }
                    let cooldown = Duration::from_millis(g.state.backup_cooldown_ms);
                    if g.backup_requested
                        .get(&id)
                        .is_some_and(|t| now < *t + cooldown)
                    {
                        return axum::Json(json!({"message": "A backup was requested recently."}))
                            .into_response();
                    }
                    g.backup_requested.insert(id, now);
                    // Asynchronous, as on Bridge: seed 004, "Backups occur asynchronously, and
                    // will be visible from the list backups endpoint when completed". The list
                    // shows it, finished, once backup_duration_ms have passed (Crunchy's `cb`
                    // reads every listed backup with `finished_at`, `lsn_stop` and
                    // `size_bytes` present: CB::Model::Backup).
                    let done = now + Duration::from_millis(g.state.backup_duration_ms);
                    let id = g.state.clusters[i].id.clone();
                    g.running.push(super::RunningBackup {
                        cluster: id,
                        started: now,
                        done,
                    });
                    axum::Json(json!({"message": "Backup started."})).into_response()
                }
                ("GET", ["roles", name]) => role(&mut g, i, name, StatusCode::OK),
                // `cb role create` and `cb uri` (its default role `user`) ask for the caller's
                // own role with this before they read it; `cb uri` asks every time, so a role
                // that exists is answered as it is.
                ("POST", ["roles"]) => role(&mut g, i, "user", StatusCode::CREATED),
                ("GET", ["roles"]) => {
                    // `cb role list` reads `name` and `account_email` of each; the list carries
                    // no password or URI (one plausible choice: `cb`'s model has both optional).
                    let own = format!("u_{}", account::ACCOUNT_ID);
                    let roles: Vec<Value> = ["application", "postgres", own.as_str()]
                        .iter()
                        .map(|name| {
                            let user = name.starts_with("u_");
                            json!({
                                "account_id": user.then_some(account::ACCOUNT_ID),
                                "account_email": user.then_some(account::ACCOUNT_EMAIL),
                                "name": name,
                            })
                        })
                        .collect();
                    axum::Json(json!({ "roles": roles })).into_response()
                }
                _ => error(StatusCode::NOT_FOUND, "Not found."),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "Not found."),
    }
}

/// `GET /clusters/{id}/roles/{name}` (no seed page describes roles: the endpoints are those
/// `cb`'s client calls, the fields its `CB::Model::Role`: `account_id`, `account_email`, `name`,
/// `password`, `uri`), and `POST /clusters/{id}/roles` (answered 201 with the role): the roles
/// every cluster has (`application`, `postgres`) and the key's own user role `u_<account id>`;
/// any other name is 404; `user` names the key's own role (`cb uri`'s default reads it so).
/// The password is made on the first read and stays (it is a secret the leak scans look for).
fn role(g: &mut Inner, i: usize, name: &str, status: StatusCode) -> Response {
    let own = format!("u_{}", account::ACCOUNT_ID);
    let name = match name {
        "user" => own.as_str(),
        n => n,
    };
    if !matches!(name, "application" | "postgres") && name != own {
        return error(StatusCode::NOT_FOUND, "Not found.");
    }
    let id = g.state.clusters[i].id.clone();
    let password = role_password(g, &id, name);
    let user = name == own;
    let host = host(&id, g.real.as_ref());
    let uri = format!("postgres://{name}:{password}@{host}:5432/postgres");
    let body = axum::Json(json!({
        "account_id": if user { Some(account::ACCOUNT_ID) } else { None },
        "account_email": if user { Some(account::ACCOUNT_EMAIL) } else { None },
        "name": name,
        "password": password,
        "uri": uri,
    }));
    (status, body).into_response()
}

/// The password of role `name` of cluster `id`: made on first use (a fork's real PostgreSQL
/// is made with it), the same on every read after.
fn role_password(g: &mut Inner, id: &str, name: &str) -> String {
    let key = (id.to_string(), name.to_string());
    if let Some(p) = g.roles.get(&key) {
        return p.clone();
    }
    let p = super::rand_str(32, super::ALNUM);
    g.roles.insert(key, p.clone());
    g.issued.push(p.clone());
    p
}

/// A cluster's `host`: its real PostgreSQL's address, or the provider's form of name.
fn host(id: &str, real: Option<&Fleet>) -> String {
    match real.and_then(|f| f.address(id)) {
        Some(a) => a.to_string(),
        None => format!("p.{id}.db.postgresbridge.com"),
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
/// oldest backup and now; the fork passes through the states of [`super::SimState::fork_steps`]
/// (`creating` first), then is `ready`, or in `ends` (a `fork_ends` fault). With real
/// PostgreSQL, its PostgreSQL is restored from `repository` (the source's, see
/// [`fork_repository`]) if given, else made with sample data.
fn fork(
    g: &mut Inner,
    i: usize,
    body: &[u8],
    ends: Option<String>,
    repository: Option<Repository>,
) -> Response {
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
    // Each state from the end of the one before; the first at once.
    let mut at = OffsetDateTime::now_utc();
    let mut steps = Vec::new();
    for step in g.state.fork_steps() {
        steps.push((at, step.state));
        at += Duration::from_millis(step.ms);
    }
    steps.push((at, ends.unwrap_or_else(|| "ready".into())));
    if g.real.is_some() {
        // The roles `GET /clusters/{id}/roles/{name}` hands out, with the passwords it will.
        let asked = req
            .get("target_time")
            .and_then(Value::as_str)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        let target = asked.unwrap_or_else(OffsetDateTime::now_utc);
        let own = format!("u_{}", account::ACCOUNT_ID);
        let superuser_password = Some(role_password(g, &c.id, "postgres"));
        let roles = ["application", own.as_str()]
            .map(|name| SimRole {
                name: name.to_string(),
                password: role_password(g, &c.id, name),
            })
            .to_vec();
        let contents = Contents {
            source: format!("Crunchy Bridge cluster {}", src.id),
            from: Contents::from_of(oldest_backup(&src).as_deref(), target),
            target,
            superuser_password,
            roles,
            createdb: false,
            owner: Some("application".into()),
            repository: repository.map(|r| Box::new(Repository { target: asked, ..r })),
        };
        if let Some(Err(e)) = g.real.as_ref().map(|f| f.create(&c.id, contents)) {
            return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
        }
    }
    let mut staged = Staged::new(steps);
    c.state = staged.due(OffsetDateTime::now_utc()).pop();
    g.forks.insert(c.id.clone(), staged);
    let out = cluster_json(&c, g.real.as_ref());
    g.state.clusters.push(c);
    (StatusCode::CREATED, axum::Json(out)).into_response()
}

/// Moves each fork on to the state its time has come for.
fn settle_forks(g: &mut Inner) {
    let now = OffsetDateTime::now_utc();
    let Inner {
        forks, state, real, ..
    } = g;
    let real = real.as_ref();
    forks.retain(|id, staged| {
        // Not `ready` before its real PostgreSQL is (`unknown` if that did not start).
        let held = |s: &str| postgres::holds(real, id, s, "ready", "");
        if let Some(mut s) = staged.due_unless(now, held).pop() {
            if s == "ready" {
                s = postgres::outcome(real, id, "ready", "unknown").0;
            }
            if let Some(c) = state.clusters.iter_mut().find(|c| &c.id == id) {
                c.state = Some(s);
            }
        }
        !staged.is_empty()
    });
}

/// Forgets the clusters whose deletion is over: from then on they answer 404.
fn settle_deletes(g: &mut Inner) {
    let now = OffsetDateTime::now_utc();
    let done: Vec<String> = g
        .deleting
        .iter()
        .filter(|(id, at)| **at <= now && g.real.as_ref().is_none_or(|f| f.address(id).is_none()))
        .map(|(id, _)| id.clone())
        .collect();
    for id in done {
        g.deleting.remove(&id);
        g.state.clusters.retain(|c| c.id != id);
        g.deleted.insert(id);
    }
}

/// Lists the backups whose run is over, finished (a running one is not listed: seed 004).
fn settle_backups(g: &mut Inner) {
    let now = OffsetDateTime::now_utc();
    let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut g.running)
        .into_iter()
        .partition(|r| r.done <= now);
    g.running = running;
    for r in done {
        let Some(c) = g.state.clusters.iter_mut().find(|c| c.id == r.cluster) else {
            continue;
        };
        // Whole seconds, as the API's times are (seed 004's examples).
        let time = |t: OffsetDateTime| {
            let t = t.replace_nanosecond(0).unwrap_or(t);
            json!(t.format(&Rfc3339).unwrap_or_default())
        };
        c.backups.push(json!({
            "name": backup_label(r.started), "started_at": time(r.started),
            "finished_at": time(r.done), "lsn_start": "0/2000028", "lsn_stop": "0/2000100",
            "size_bytes": 31_000_000, "type": "full"
        }));
    }
}

impl SimCluster {
    /// The network every simulated cluster is on.
    pub fn network_id(&self) -> &'static str {
        "p56biajnfvgjhftvqs7lqymspe"
    }

    /// The state `GET /clusters/{id}/status` answers.
    pub fn state(&self) -> &str {
        self.state.as_deref().unwrap_or("ready")
    }
}

fn cluster_json(c: &SimCluster, real: Option<&Fleet>) -> Value {
    json!({
        "cluster_id": null, "cpu": 2, "created_at": "2026-01-01T00:00:00Z", "disk_usage": null,
        "host": host(&c.id, real), "tailscale_active": false,
        "id": c.id, "is_ha": false, "is_suspended": c.state() == "suspended", "maintenance_window_start": null,
        "major_version": c.major_version, "memory": 4, "name": c.name, "network_id": c.network_id(),
        "plan_id": "standard-4", "postgres_version_id": "6ibnzig5avgutdgdzei2jwvvt4", "provider_id": c.provider_id,
        "region_id": c.region_id, "replicas": [], "storage": 100, "team_id": c.team_id, "updated_at": "2026-01-01T00:00:00Z"
    })
}

/// Cluster `id` if the key's teams may see it.
fn visible_cluster(sim: &Sim, id: &str) -> Option<SimCluster> {
    let g = sim.lock();
    g.state
        .clusters
        .iter()
        .find(|c| c.id == id)
        .filter(|c| account::visible(&g, &c.team_id))
        .cloned()
}

/// `POST /clusters/{id}/backup-tokens`: a fresh token, its credentials from the issuer.
pub(super) async fn create_token(sim: &Sim, id: &str) -> Response {
    // Unknown, or another team's: 403 either way, as for every cluster route.
    let Some(cluster) = visible_cluster(sim, id) else {
        return error(StatusCode::FORBIDDEN, "Forbidden.");
    };
    if let Some(raw) = &cluster.token_override {
        return (StatusCode::CREATED, axum::Json(raw.clone())).into_response();
    }
    match issue_token(sim, &cluster).await {
        Ok(t) => (StatusCode::CREATED, axum::Json(t)).into_response(),
        Err(r) => *r,
    }
}

/// The repository a fork of cluster `id` is restored from: with real PostgreSQL and an issuer
/// (the source's backups are in a real repository), a token with fresh credentials, as
/// `POST backup-tokens` hands out, and the options that reach the store; `None` otherwise (the
/// fork holds sample data), or for a cluster the route answers 403 for.
pub(super) async fn fork_repository(sim: &Sim, id: &str) -> Result<Option<Repository>, Response> {
    if sim.issuer.is_none() || sim.lock().real.is_none() {
        return Ok(None);
    }
    let Some(cluster) = visible_cluster(sim, id) else {
        return Ok(None);
    };
    let token = issue_token(sim, &cluster).await.map_err(|r| *r)?;
    let token = crate::provider::bridge::decode_token(&token, &cluster.id).map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the fork's backup token is unusable: {e}"),
        )
    })?;
    Ok(Some(Repository {
        token,
        options: sim.store_options.clone(),
        target: None,
    }))
}

/// A fresh token of `cluster`, its credentials from the issuer (random without one).
async fn issue_token(sim: &Sim, cluster: &SimCluster) -> Result<Value, Box<Response>> {
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
                    return Err(Box::new(error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("issuing credentials failed: {e}"),
                    )))
                }
            }
        }
        None => random_credentials(cluster),
    };
    t["type"] = json!(kind);
    t[field] = issued.store;
    sim.lock().issued.extend(issued.secrets);
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{sample_state, ForkStep};

    async fn get(sim: &Sim, path: &str) -> Value {
        let r = route(sim, &Method::GET, path, "", b"", None, None);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn fork(sim: &Sim, name: &str, ends: Option<&str>) -> String {
        let body = json!({ "name": name }).to_string();
        let r = route(
            sim,
            &Method::POST,
            "/clusters/rvf73a77ozfsvcttryebfrnlem/forks",
            "",
            body.as_bytes(),
            ends.map(str::to_string),
            None,
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        sim.clusters().last().unwrap().id.clone()
    }

    async fn state(sim: &Sim, id: &str) -> String {
        get(sim, &format!("/clusters/{id}/status")).await["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn a_fork_walks_through_its_states_to_ready_or_to_the_faults_state() {
        let mut st = sample_state("k", 0);
        st.fork_states = Some(
            ["creating", "restoring", "replaying", "finalizing"]
                .map(|s| ForkStep {
                    state: s.into(),
                    ms: 150,
                })
                .to_vec(),
        );
        let sim = Sim::new(st);
        let id = fork(&sim, "copy", None);
        let mut seen = vec![state(&sim, &id).await];
        let t0 = std::time::Instant::now();
        while seen.last().unwrap() != "ready" && t0.elapsed().as_secs() < 5 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let s = state(&sim, &id).await;
            if seen.last() != Some(&s) {
                seen.push(s);
            }
        }
        assert_eq!(
            seen,
            ["creating", "restoring", "replaying", "finalizing", "ready"]
        );
        // A fault's end state instead of ready; a state set from outside stops the walk.
        let ends = fork(&sim, "gone", Some("suspended"));
        let stopped = fork(&sim, "stopped", None);
        sim.set_cluster_state(&stopped, Some("destroying"));
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        assert_eq!(state(&sim, &ends).await, "suspended");
        assert_eq!(state(&sim, &stopped).await, "destroying");
        let listed = get(&sim, &format!("/clusters/{ends}")).await;
        assert_eq!(listed["is_suspended"], true, "{listed}");
    }

    #[tokio::test]
    async fn the_sample_serves_clusters_in_several_states_and_forks_start_creating() {
        let sim = Sim::new(sample_state("k", 0));
        let mut states = Vec::new();
        for c in sim.clusters() {
            states.push(state(&sim, &c.id).await);
        }
        assert_eq!(states, ["ready", "restarting", "suspended"]);
        // A fork of the suspended cluster is a cluster of its own: creating, not suspended.
        let body = json!({"name": "from-staging"}).to_string();
        let r = route(
            &sim,
            &Method::POST,
            "/clusters/p56biajnfvgjhftvqs7lqymspe/forks",
            "",
            body.as_bytes(),
            None,
            None,
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = sim.clusters().last().unwrap().id.clone();
        assert_eq!(state(&sim, &id).await, "creating");
    }
}
