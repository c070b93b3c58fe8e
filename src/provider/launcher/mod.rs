//! The Launcher platform API client (seed 003, provider-apis.md): databases, their backups,
//! the recovery window, and server-side point-in-time restores (`pitr-clone` into a new
//! database, `pitr` in place), followed by re-reading the database.
//!
//! Much of this API is undocumented (provider-apis.md lists what): the database list
//! (`GET /databases`, the REST convention beside the documented `/databases/:id/...`), list
//! pagination (`page`/`limit`, a `pagination` object), the fields of a database and a backup,
//! the recovery window's shape, and what `pitr`/`pitr-clone` answer. Decoding accepts every
//! plausible spelling and names the fields it looked for when none is there.

pub mod section;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::http::{decode, req, ApiError, Auth, BuildError, Hints, Retry, Transport};
use super::pages::{self, Page};
use super::server::{first_str, first_time, BackupWatch, Call, Dest, Phase, Window};
use super::ApiSettings;
use super::{Backup, BackupRequested, CallError, Cluster, Presence};

/// What Launcher's access errors tell the user.
pub static HINTS: Hints = Hints {
    refused: "Launcher refused the service key",
    refused_fix: "check [launcher] key_file ($BRIDGEREST_LAUNCHER_KEY, or the systemd credential launcher-key) and the tenant in [launcher] url",
    no_access: "Launcher denied access to it",
    no_access_fix: "check that the service key may see this database's project",
    lookup: "check the database id with `bridgerest clusters --provider launcher`",
    url_key: "launcher.url",
};

const LIMIT: usize = 100;

/// Field names tried, in order, where Launcher documents none.
const START: &[&str] = &[
    "earliest",
    "earliest_time",
    "earliest_recovery_time",
    "start",
    "from",
    "oldest",
];
const END: &[&str] = &[
    "latest",
    "latest_time",
    "latest_recovery_time",
    "end",
    "to",
    "newest",
];
const STATE: &[&str] = &["status", "state"];
const FINISHED: &[&str] = &["completed_at", "finished_at", "ended_at"];
const CREATED: &[&str] = &["started_at", "created_at", "createdAt"];

/// Launcher, as the registry lists it.
pub static SPEC: super::Spec = super::Spec {
    name: "launcher",
    title: "Launcher",
    help: "Launcher: server-side restores only",
    is_id: crate::ids::is_uuid,
    listed_only: false,
    roles: None,
    id_form: "a Launcher database ID (a UUID, like 498ae72f-411f-11eb-9d07-046c59cc737e)",
    capabilities: super::Capabilities {
        local_restore: false,
        repo_credentials: false,
        in_place: true,
        into_new: true,
        plan: false,
        region: false,
        storage: false,
        db_user: false,
        connection: false,
        switch: true,
        latest: true,
        destroy: true,
        backup_now: true,
    },
    section: Some(section::SECTION),
    required_section: Some((
        "launcher",
        "url = \"https://plane.lnchr.cloud/TENANT\" and key_file",
    )),
    no_backups: "a backup schedule or a manual backup (`bridgerest backup`) makes them",
    latest: "the end of its newest backup (latest)",
    no_backup_now: "",
    backups_table: super::spec::backups_table,
    clusters_table: super::spec::clusters_table,
    connect,
    new_cluster,
};
pub const KIND: super::ProviderKind = super::ProviderKind(&SPEC);

/// The client, with `[launcher]`'s URL and service key.
/// What a new Launcher database needs beyond a name: nothing is sent; `[launcher]
/// db_username` (with its password), when set, is the role its way in names (a clone keeps
/// its source's roles; Launcher hands out none).
fn new_cluster(
    s: &dyn super::spec::Settings,
    _flags: &super::spec::NewFlags<'_>,
) -> Result<super::spec::NewCluster, super::spec::ConnectError> {
    let cfg = s
        .section("launcher")
        .and_then(|a| a.downcast_ref::<section::LauncherConfig>());
    let db_user = match cfg.and_then(|c| Some((c.db_username.clone()?, c.db_password()))) {
        Some((username, spec)) => Some(super::DbUser {
            username,
            password: s.secret(&spec)?,
        }),
        None => None,
    };
    Ok(super::spec::NewCluster {
        connection: None,
        db_user,
    })
}

fn connect(s: &dyn super::spec::Settings) -> Result<super::Client, super::spec::ConnectError> {
    let Some(cfg) = s
        .section("launcher")
        .and_then(|a| a.downcast_ref::<section::LauncherConfig>())
    else {
        return Err(super::spec::ConnectError::Refused(format!(
            "no [launcher] section in {}: add one with url = \"https://plane.lnchr.cloud/TENANT\" and key_file",
            s.path().display()
        )));
    };
    let auth = cfg.credentials().read(|spec| s.secret(spec))?;
    Ok(std::sync::Arc::new(LauncherClient::new(
        s.api(),
        &cfg.url,
        auth,
    )?))
}

#[derive(Clone, Debug)]
pub struct LauncherClient {
    t: Transport,
}

impl LauncherClient {
    /// `url` is the tenant's base (`https://plane.lnchr.cloud/<tenant>`); the API is under
    /// `/api/v1`.
    pub fn new(api: &ApiSettings, url: &reqwest::Url, auth: Auth) -> Result<Self, BuildError> {
        let mut base = url.clone();
        base.set_path(&format!("{}/api/v1", url.path().trim_end_matches('/')));
        Ok(Self {
            t: Transport::new(api, base, auth, &HINTS)?,
        })
    }

    pub fn url(&self, path: &str) -> String {
        self.t.url(path).to_string()
    }

    /// `data` of the envelope `{success, data}`; `success: false` is an error with its message.
    fn data(method: &Method, url: &reqwest::Url, body: &str) -> Result<Value, ApiError> {
        let mut v: Value = decode(method, url, body)?;
        Self::data_of(method, url, &mut v)
    }

    /// [`Self::data`] of an answer already decoded (taken out of it).
    fn data_of(method: &Method, url: &reqwest::Url, v: &mut Value) -> Result<Value, ApiError> {
        if v.get("success").and_then(Value::as_bool) == Some(false) {
            let e = v.get("error").cloned().unwrap_or(Value::Null);
            return Err(ApiError::Malformed {
                req: req(method, url),
                detail: format!(
                    "the answer says success: false ({}: {})",
                    first_str(&e, &["code"]).unwrap_or("no code"),
                    crate::text::excerpt(first_str(&e, &["message"]).unwrap_or("no message"), 200)
                ),
            });
        }
        match v.get_mut("data") {
            Some(d) => Ok(d.take()),
            None => Err(ApiError::Malformed {
                req: req(method, url),
                detail:
                    "missing field `data` (Launcher answers {\"success\": true, \"data\": ...})"
                        .into(),
            }),
        }
    }

    async fn get(&self, path: &str) -> Result<Value, ApiError> {
        let (url, body) = self.t.send(Method::GET, path, &[], Retry::Read).await?;
        Self::data(&Method::GET, &url, &body)
    }

    /// Every item of a list: `data` is the array (or holds it under `items`); further pages
    /// (`page`, `limit`) while a `pagination`/`meta` object says there are more, or, without
    /// one, while pages are full.
    async fn list_all(&self, path: &str, field: &str) -> Result<Vec<Value>, ApiError> {
        self.fold_all(path, field, Vec::new(), |mut v, item| {
            v.push(item);
            Ok(v)
        })
        .await
    }

    /// [`Self::list_all`] folded into `acc` item by item ([`pages::fold`]).
    async fn fold_all<A>(
        &self,
        path: &str,
        field: &str,
        acc: A,
        step: impl FnMut(A, Value) -> Result<A, ApiError>,
    ) -> Result<A, ApiError> {
        let query = |page: usize| vec![("page", page.to_string()), ("limit", LIMIT.to_string())];
        let (mut page, mut seen) = (1, 0u64);
        pages::fold(
            &self.t,
            path,
            query(page),
            |url, body| {
                // One decode: the envelope's `data` is taken out, its pagination stays.
                let mut full: Value = decode(&Method::GET, url, body)?;
                let data = Self::data_of(&Method::GET, url, &mut full)?;
                let items = match &data {
                    Value::Array(a) => a.clone(),
                    Value::Object(o) => o
                        .get("items")
                        .or_else(|| o.get(field))
                        .and_then(Value::as_array)
                        .cloned()
                        .ok_or_else(|| ApiError::Malformed {
                            req: req(&Method::GET, url),
                            detail: format!(
                                "`data` holds no list (looked for an array, `items`, `{field}`)"
                            ),
                        })?,
                    _ => {
                        return Err(ApiError::Malformed {
                            req: req(&Method::GET, url),
                            detail: "`data` is neither a list nor an object".into(),
                        })
                    }
                };
                let n = items.len();
                seen += n as u64;
                let pag = full
                    .get("pagination")
                    .or_else(|| full.get("meta"))
                    .or_else(|| data.get("pagination"));
                let more = match pag {
                    Some(p) => match (
                        p.get("has_more").and_then(Value::as_bool),
                        p.get("total").and_then(Value::as_u64),
                    ) {
                        (Some(h), _) => h,
                        (None, Some(total)) => seen < total,
                        (None, None) => n >= LIMIT,
                    },
                    None => n >= LIMIT,
                };
                page += 1;
                let next = (more && n > 0).then(|| query(page));
                Ok(Page { items, next })
            },
            acc,
            step,
        )
        .await
    }

    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, ApiError> {
        let url = self.t.url("/databases");
        self.list_all("/databases", "databases")
            .await?
            .into_iter()
            .map(|v| to_cluster(v, &url))
            .collect()
    }
}

fn malformed(url: &reqwest::Url, detail: String) -> ApiError {
    ApiError::Malformed {
        req: req(&Method::GET, url),
        detail,
    }
}

fn to_cluster(v: Value, url: &reqwest::Url) -> Result<Cluster, ApiError> {
    let id = first_str(&v, &["id"])
        .ok_or_else(|| malformed(url, "a database without `id`".into()))?
        .to_string();
    Ok(Cluster {
        name: first_str(&v, &["name"]).unwrap_or_default().to_string(),
        provider_id: Some("launcher".into()),
        region_id: first_str(&v, &["region", "location"]).map(str::to_string),
        major_version: v.get("version").and_then(|x| {
            x.as_u64()
                .map(|n| n as u32)
                .or_else(|| x.as_str().and_then(|s| s.split('.').next()?.parse().ok()))
        }),
        team_id: None,
        host: first_str(&v, &["host", "hostname", "endpoint"]).map(str::to_string),
        state: first_str(&v, STATE).map(str::to_string),
        extra: Map::new(),
        raw: Some(v),
        id,
    })
}

fn to_backup(v: Value, url: &reqwest::Url) -> Result<Backup, ApiError> {
    let bad = |d: String| malformed(url, d);
    let id = first_str(&v, &["id", "name"])
        .ok_or_else(|| bad("a backup without `id`".into()))?
        .to_string();
    let started = first_time(&v, CREATED)
        .map_err(|e| bad(format!("backup {id}: {e}")))?
        .ok_or_else(|| {
            bad(format!(
                "backup {id}: no start time (looked for {})",
                CREATED.join(", ")
            ))
        })?;
    let state = first_str(&v, STATE).map(str::to_ascii_lowercase);
    let finished = first_time(&v, FINISHED).map_err(|e| bad(format!("backup {id}: {e}")))?;
    // A backup whose status says it is not done is not finished, whatever its times say.
    let done = state.as_deref().is_none_or(|s| {
        matches!(
            s,
            "completed" | "complete" | "succeeded" | "success" | "done" | "available"
        )
    });
    Ok(Backup {
        name: id,
        started_at: started,
        finished_at: finished.filter(|_| done),
        lsn_start: None,
        lsn_stop: None,
        size_bytes: ["size_bytes", "size"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_u64)),
        kind: first_str(&v, &["type", "kind"]).map(str::to_string),
        extra: Map::new(),
        own: None,
        raw: Some(v),
    })
}

impl super::Api for LauncherClient {
    fn kind(&self) -> super::ProviderKind {
        KIND
    }
    async fn list_all_clusters(&self) -> Result<Vec<(Cluster, Option<super::Team>)>, ApiError> {
        Ok(self
            .list_clusters()
            .await?
            .into_iter()
            .map(|c| (c, None))
            .collect())
    }
    async fn get_cluster(&self, id: &str) -> Result<Cluster, ApiError> {
        let path = format!("/databases/{id}");
        let v = self.get(&path).await?;
        to_cluster(v, &self.t.url(&path))
    }
    async fn list_backups(&self, id: &str) -> Result<Vec<Backup>, ApiError> {
        let path = format!("/databases/{id}/backups");
        let url = self.t.url(&path);
        self.list_all(&path, "backups")
            .await?
            .into_iter()
            .map(|v| to_backup(v, &url))
            .collect()
    }
    /// `GET /databases/{id}/recovery-window` (its shape is undocumented: the start and end are
    /// looked for under several names, in `data` or in `data.window`).
    async fn window(&self, id: &str) -> Result<Window, ApiError> {
        let path = format!("/databases/{id}/recovery-window");
        let url = self.t.url(&path);
        let d = self.get(&path).await?;
        let d = d.get("window").cloned().unwrap_or(d);
        let bad = |e: String| ApiError::Malformed {
            req: req(&Method::GET, &url),
            detail: e,
        };
        let start = first_time(&d, START).map_err(bad)?;
        let end = first_time(&d, END).map_err(bad)?;
        if start.is_none() && d.as_object().is_some_and(|o| !o.is_empty()) {
            return Err(bad(format!(
                "no start of the recovery window among the fields {} (looked for {})",
                d.as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
                START.join(", ")
            )));
        }
        Ok(Window {
            start,
            end,
            from: format!("GET {path}"),
            backup_id: None,
            spans: vec![],
        })
    }
    /// The newest finish is kept as the pages come, never the list (#29 finding 4).
    async fn watch(&self, id: &str) -> Result<BackupWatch, ApiError> {
        let path = format!("/databases/{id}/backups");
        let url = self.t.url(&path);
        let newest = self.fold_all(
            &path,
            "backups",
            None,
            |m: Option<time::OffsetDateTime>, v| Ok(m.max(to_backup(v, &url)?.finished_at)),
        );
        let (last_backup, window) = tokio::try_join!(newest, self.window(id))?;
        Ok(BackupWatch::newest(last_backup, window.start))
    }
    /// `pitr-clone {target_time, new_name}` or `pitr {target_time}`; no idempotency key is
    /// documented, so neither is repeated blindly. `latest` restores from the newest finished
    /// backup: in place `POST /databases/{id}/restore {backup_id}` ("Restore from backup",
    /// seed 003; the body's field is not documented: `backup_id` is an inference), into a new
    /// database `pitr-clone` to the time that backup finished (the one documented way to
    /// make a database from a backup).
    async fn restore_call(
        &self,
        id: &str,
        target: crate::when::Stop,
        dest: &Dest,
        _window: &Window,
    ) -> Result<Option<Call>, CallError> {
        let target = match target {
            crate::when::Stop::Time(t) => t,
            crate::when::Stop::Latest => {
                let newest = self
                    .list_backups(id)
                    .await?
                    .into_iter()
                    .filter_map(|b| b.finished_at.map(|f| (f, b.name)))
                    .max();
                let Some((finished, backup)) = newest else {
                    return Err(CallError::Refused(format!(
                        "database {id} has no finished backup to restore from: take one with `bridgerest backup --cluster {id} --wait`, or give --target-time TIME"
                    )));
                };
                match dest {
                    Dest::InPlace => {
                        return Ok(Some(self.t.post(
                            format!("/databases/{id}/restore"),
                            json!({ "backup_id": backup }),
                            Retry::Once,
                            Some(id.to_string()),
                        )))
                    }
                    Dest::New { .. } => finished,
                }
            }
        };
        let t = crate::when::rfc3339(target);
        let (path, body, cluster) = match dest {
            Dest::InPlace => (
                format!("/databases/{id}/pitr"),
                json!({"target_time": t}),
                Some(id.to_string()),
            ),
            Dest::New { name, .. } => (
                format!("/databases/{id}/pitr-clone"),
                json!({"target_time": t, "new_name": name}),
                None,
            ),
        };
        Ok(Some(self.t.post(path, body, Retry::Once, cluster)))
    }
    /// `DELETE /databases/{id}`: an **inference** (seed 003 documents DELETE for backup
    /// destinations and schedules, not for databases; this is the REST form beside the
    /// documented `GET /databases/:id`). Sent once: no idempotency key is documented.
    async fn delete_cluster(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/databases/{id}");
        let (url, body) = self.t.send(Method::DELETE, &path, &[], Retry::Once).await?;
        if !body.trim().is_empty() {
            Self::data(&Method::DELETE, &url, &body)?;
        }
        Ok(())
    }
    /// `GET /databases/{id}`: its `status` (or `state`); deleting/deleted/destroying/
    /// terminating is on its way out; 404 gone.
    async fn presence(&self, id: &str) -> Result<Presence, ApiError> {
        match self.get(&format!("/databases/{id}")).await {
            Ok(v) => {
                let state = first_str(&v, STATE).map(|s| crate::text::excerpt(s, 40));
                Ok(Presence::There {
                    deleting: state.as_deref().is_some_and(|s| {
                        matches!(
                            s.to_ascii_lowercase().as_str(),
                            "deleting" | "deleted" | "destroying" | "terminating"
                        )
                    }),
                    state,
                })
            }
            Err(ApiError::NotFound { .. }) => Ok(Presence::Gone),
            Err(e) => Err(e),
        }
    }
    /// `POST /databases/{id}/backups` ("Create manual backup", seed 003). Its body and answer
    /// are not documented: `{}` is sent, and the backup's id is read from `data.id` (or
    /// `data.backup_id`, `data.backup.id`) where the answer names one. Sent once.
    async fn start_backup(&self, id: &str) -> Result<BackupRequested, ApiError> {
        let path = format!("/databases/{id}/backups");
        let call = self
            .t
            .post(path, json!({}), Retry::Once, Some(id.to_string()));
        let (url, body) = self.t.send_call(&call).await?;
        if body.trim().is_empty() {
            return Ok(BackupRequested::default());
        }
        let d = Self::data(&call.method, &url, &body)?;
        Ok(BackupRequested {
            message: first_str(&d, &["message"]).map(str::to_string),
            backup: first_str(&d, &["id", "backup_id"])
                .or_else(|| d.get("backup").and_then(|b| first_str(b, &["id"])))
                .map(str::to_string),
            may_ignore: None,
        })
    }
    /// `POST /databases/{id}/switch` ("Switch to restored database", seed 003): after a `pitr`
    /// that restored into a side database, puts it in the database's place. Its body is not
    /// documented: `{}` is sent. Sent once (no idempotency key is documented).
    fn switch_call(&self, id: &str) -> Option<Call> {
        Some(self.t.post(
            format!("/databases/{id}/switch"),
            json!({}),
            Retry::Once,
            Some(id.to_string()),
        ))
    }
    /// Sends the restore request; the new database's id if the answer names one (`data.id`,
    /// `data.database_id`, `data.database.id`; undocumented).
    async fn send_restore(&self, call: &Call) -> Result<Option<String>, ApiError> {
        let (url, body) = self.t.send_call(call).await?;
        if body.trim().is_empty() {
            return Ok(None);
        }
        let d = Self::data(&call.method, &url, &body)?;
        Ok(first_str(&d, &["id", "database_id", "new_database_id"])
            .or_else(|| d.get("database").and_then(|db| first_str(db, &["id"])))
            .map(str::to_string))
    }
    /// The database's `status` (or `state`). Launcher documents no states: the words below are
    /// the plausible ones, each read for what it says. running/ready/available/active/healthy
    /// → ready; failed/error/degraded/crashed → failed; deleting/deleted/destroying/terminating
    /// → failed (going away); creating/pending/provisioning/restoring/recovering/cloning/
    /// starting/switching/updating → working; anything else → unknown.
    /// What the database's answer holds: Launcher documents no connection fields, so `host`
    /// (or `hostname`, `endpoint`), `port`, `username` (or `user`), `database` (or
    /// `db_name`) and `password` are looked for, and the output says which were there.
    async fn way_in(&self, id: &str, ask: super::WayInAsk<'_>) -> Result<super::WayIn, ApiError> {
        let v = self.get(&format!("/databases/{id}")).await?;
        let password = first_str(&v, &["password"]).map(|p| {
            crate::redact::register(p);
            secrecy::SecretString::from(p.to_string())
        });
        let port = v.get("port").and_then(|p| {
            p.as_u64()
                .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| u16::try_from(n).ok())
        });
        let way = super::WayIn {
            host: first_str(&v, &["host", "hostname", "endpoint"]).map(str::to_string),
            port,
            user: first_str(&v, &["username", "user"]).map(str::to_string),
            database: first_str(&v, &["database", "db_name"]).map(str::to_string),
            password,
            notes: vec![],
        };
        let mut missing: Vec<&str> = [
            ("host", way.host.is_none()),
            ("port", way.port.is_none()),
            ("user", way.user.is_none()),
            ("password", way.password.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(k, _)| *k)
        .collect();
        let mut way = way;
        // The role the user named: a clone keeps its source's roles.
        if let (None, None, Some(u)) = (&way.user, &way.password, ask.db_user) {
            way.user = Some(u.username.clone());
            way.password = Some(u.password.clone());
            way.notes.push(
                "the user is [launcher] db_username, a role the source has and its clone keeps"
                    .into(),
            );
            missing.retain(|k| !matches!(*k, "user" | "password"));
        }
        way.notes.push(match missing.is_empty() {
            true => "Launcher documents no connection fields: these are what the database's answer held".into(),
            false => format!(
                "Launcher documents no connection fields, and the database's answer held no {}: see the Launcher console",
                missing.join(", ")
            ),
        });
        Ok(way)
    }
    async fn phase(&self, id: &str) -> Result<Phase, ApiError> {
        let v = self.get(&format!("/databases/{id}")).await?;
        let state = crate::text::excerpt(first_str(&v, STATE).unwrap_or("(none)"), 40);
        Ok(match state.to_ascii_lowercase().as_str() {
            "running" | "ready" | "available" | "active" | "healthy" | "online" => Phase::Ready,
            "failed" | "error" | "degraded" | "crashed" => Phase::Failed(format!(
                "status {state}{}",
                first_str(&v, &["status_message", "message", "error"])
                    .map(|m| format!(": {}", crate::text::excerpt(m, 200)))
                    .unwrap_or_default()
            )),
            "deleting" | "deleted" | "destroying" | "terminating" => {
                Phase::Failed(format!("status {state}: the database is going away"))
            }
            "creating" | "pending" | "provisioning" | "restoring" | "recovering" | "cloning"
            | "starting" | "switching" | "updating" => Phase::Working(state),
            _ => Phase::Unknown(state),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> reqwest::Url {
        reqwest::Url::parse("https://plane.lnchr.cloud/t/api/v1/databases/x/backups").unwrap()
    }

    #[test]
    fn backups_in_any_plausible_spelling() {
        let done = to_backup(
            json!({"id": "b1", "created_at": "2026-11-22T00:00:00Z", "finished_at": "2026-11-22T00:04:00Z", "status": "Completed", "size": 7}),
            &url(),
        )
        .unwrap();
        assert!(done.finished_at.is_some());
        assert_eq!(done.size_bytes, Some(7));
        // A failed or running backup is not finished, whatever its times say.
        let failed = to_backup(
            json!({"id": "b2", "started_at": "2026-11-22T00:00:00Z", "completed_at": "2026-11-22T00:04:00Z", "status": "failed"}),
            &url(),
        )
        .unwrap();
        assert_eq!(failed.finished_at, None);
        let e = to_backup(json!({"id": "b3"}), &url())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no start time (looked for started_at, created_at, createdAt)"),
            "{e}"
        );
    }

    #[test]
    fn success_false_is_an_error_with_its_code_and_message() {
        let e = LauncherClient::data(
            &Method::GET,
            &url(),
            r#"{"success": false, "error": {"code": "CONFLICT", "message": "busy"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("success: false (CONFLICT: busy)"), "{e}");
        let e = LauncherClient::data(&Method::GET, &url(), r#"{"items": []}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `data`"), "{e}");
    }
}
