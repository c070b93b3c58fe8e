//! The IONOS Cloud DBaaS PostgreSQL API client (seed 002, provider-apis.md): clusters, their
//! backup chains (offset/limit pages), and server-side point-in-time restores (a new cluster
//! `fromBackup`, or `POST /clusters/{id}/restore` in place), followed by `metadata.state`.
//! IONOS hands out no repository credentials: no local restore.

pub mod section;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use super::http::{decode, req, ApiError, Auth, BuildError, Hints, Retry, Transport};
use super::pages::{self, Page};
use super::server::{first_str, first_time, BackupWatch, Call, Dest, Phase, Span, Window};
use super::ApiSettings;
use super::{Backup, CallError, Cluster, Presence};
use crate::when::{rfc3339, Stop};

mod limits;
pub mod model;
use limits::check_create;
pub use limits::{check_cidr, RESERVED_USERS};
pub use model::ENUMS;

/// What IONOS's access errors tell the user.
pub static HINTS: Hints = Hints {
    refused: "IONOS refused the credentials",
    refused_fix: "check [ionos] username and password_file ($BRIDGEREST_IONOS_PASSWORD, or the systemd credential ionos-password), or token_file",
    no_access: "IONOS denied access to it",
    no_access_fix: "check that the user has the DBaaS privilege in the cluster's contract, and the cluster id (`bridgerest clusters --provider ionos`)",
    lookup: "check the cluster id with `bridgerest clusters --provider ionos`",
    url_key: "ionos.url",
};

/// Items per page (IONOS allows up to 1000; the default is 100).
const LIMIT: usize = 100;
/// The source's properties a new cluster copies: those of the create model
/// (`CreateClusterProperties`) that describe its size and settings, and `connectionPooler`
/// (in the Go SDK's create model from 1.1.3 on; copied with [`model::POOLER_FIELDS`] only).
/// The name, connection, credentials and `fromBackup` are the restore's own; nothing else is
/// sent.
const CREATE_COPIED: &[&str] = &[
    "postgresVersion",
    "instances",
    "cores",
    "ram",
    "storageSize",
    "storageType",
    "location",
    "backupLocation",
    "maintenanceWindow",
    "synchronizationMode",
];

/// The chains' spans, for a message.
fn spans_shown(spans: &[Span]) -> String {
    if spans.is_empty() {
        return "(no AVAILABLE chain)".into();
    }
    spans
        .iter()
        .map(|s| {
            format!(
                "{} .. {}",
                rfc3339(s.start),
                s.end.map_or_else(
                    || if s.active {
                        "now".to_string()
                    } else {
                        "its end".to_string()
                    },
                    rfc3339
                )
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// IONOS DBaaS, as the registry lists it.
pub static SPEC: super::Spec = super::Spec {
    name: "ionos",
    title: "IONOS DBaaS",
    help: "IONOS Cloud DBaaS PostgreSQL: server-side restores only",
    is_id: crate::ids::is_uuid,
    listed_only: false,
    roles: None,
    id_form: "an IONOS DBaaS cluster ID (a UUID, like 498ae72f-411f-11eb-9d07-046c59cc737e)",
    capabilities: super::Capabilities {
        local_restore: false,
        repo_credentials: false,
        in_place: true,
        into_new: true,
        plan: false,
        region: true,
        storage: true,
        db_user: true,
        connection: true,
        switch: false,
        latest: true,
        destroy: true,
        backup_now: false,
    },
    section: Some(section::SECTION),
    required_section: None,
    no_backups: "IONOS starts a backup chain when the cluster is created",
    latest: "the end of its newest backup chain (latest)",
    no_backup_now: "IONOS DBaaS takes no backup on request: its API has no such endpoint (only GET on backups); it backs a cluster up continuously into its backup chain (base backups and WAL), so a restore at it reaches up to now: `bridgerest restore --cluster ID --target latest --into NAME` applies the active chain whole",
    backups_table,
    clusters_table: super::spec::clusters_table,
    connect,
    new_cluster,
};
pub const KIND: super::ProviderKind = super::ProviderKind(&SPEC);

/// The client, with `[ionos]`'s credentials (Basic auth or a token).
fn connect(s: &dyn super::spec::Settings) -> Result<super::Client, super::spec::ConnectError> {
    let refused = || {
        super::spec::ConnectError::Refused(format!(
            "no IONOS credentials: add [ionos] with username (and password_file, ${} or the systemd credential ionos-password), or token_file, to {}",
            section::PASSWORD_ENV,
            s.path().display()
        ))
    };
    let cfg = s
        .section("ionos")
        .and_then(|a| a.downcast_ref::<section::IonosConfig>())
        .ok_or_else(refused)?;
    let creds = cfg.credentials().ok_or_else(refused)?;
    let auth = creds.read(|spec| s.secret(spec))?;
    Ok(std::sync::Arc::new(IonosClient::new(
        s.api(),
        cfg.url.clone(),
        auth,
    )?))
}

/// A new IONOS cluster's connection and database user (`restore --into`): each of
/// `--datacenter`, `--lan`, `--cidr`, else `[ionos]`'s `datacenter_id`, `lan_id`, `cidr` (no
/// connection unless all three are there); the database user its create request requires
/// (IONOS returns none of the source's): `[ionos] db_username` and the password from
/// $BRIDGEREST_IONOS_DB_PASSWORD, the credential ionos-db-password, or `db_password_file`.
fn new_cluster(
    s: &dyn super::spec::Settings,
    flags: &super::spec::NewFlags<'_>,
) -> Result<super::spec::NewCluster, super::spec::ConnectError> {
    use super::spec::ConnectError::Refused;
    let cfg = s
        .section("ionos")
        .and_then(|a| a.downcast_ref::<section::IonosConfig>());
    let pick = |flag: Option<&str>, dflt: fn(&section::IonosConfig) -> &Option<String>| {
        flag.map(str::to_string)
            .or_else(|| cfg.and_then(|c| dflt(c).clone()))
    };
    let (d, l, c) = (
        pick(flags.datacenter, |c| &c.datacenter_id),
        pick(flags.lan, |c| &c.lan_id),
        pick(flags.cidr, |c| &c.cidr),
    );
    if let Some(c) = &c {
        check_cidr(c).map_err(|e| Refused(format!("--cidr {e}")))?;
    }
    let connection = match (d, l, c) {
        (Some(datacenter_id), Some(lan_id), Some(cidr)) => Some(super::server::Connection {
            datacenter_id,
            lan_id,
            cidr,
        }),
        _ => None,
    };
    let Some((username, spec)) = cfg.and_then(|c| Some((c.db_username.clone()?, c.db_password())))
    else {
        return Err(Refused(format!(
            "IONOS requires a database user for the new cluster, and returns none of the source's: set [ionos] db_username (and db_password_file, $BRIDGEREST_IONOS_DB_PASSWORD or the systemd credential ionos-db-password) in {}",
            s.path().display()
        )));
    };
    let password = s.secret(&spec)?;
    Ok(super::spec::NewCluster {
        connection,
        db_user: Some(super::DbUser { username, password }),
    })
}

/// An IONOS backup chain: base backups and WAL of one cluster and PostgreSQL version. It
/// travels in the common [`Backup`]'s `own` slot; only this folder reads it ([`chain_of`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// The cluster still writes to it.
    pub active: bool,
    /// `earliestRecoveryTargetTime`: the start of its window.
    pub earliest: Option<time::OffsetDateTime>,
    /// `metadata.state`: AVAILABLE, BUSY, DESTROYING, DEGRADED, FAILED, UNKNOWN.
    pub state: String,
    /// `properties.size`, in MB as IONOS reports it.
    pub size_mb: Option<u64>,
    pub version: Option<String>,
    pub location: Option<String>,
}

/// The chain a backup of this folder's is.
pub fn chain_of(b: &Backup) -> Option<&Chain> {
    b.own.as_ref().and_then(|o| o.downcast_ref::<Chain>())
}

/// `backups`' table: IONOS lists backup chains.
fn backups_table(backups: &[Backup]) -> super::spec::Table {
    use crate::text::excerpt;
    let fmt = crate::when::show_time;
    let rows = backups
        .iter()
        .filter_map(|b| chain_of(b).map(|c| (b, c)))
        .map(|(b, c)| {
            vec![
                excerpt(&b.name, 80),
                if c.active { "yes" } else { "no" }.into(),
                excerpt(&c.state, 20),
                c.earliest.map_or_else(|| "-".to_string(), fmt),
                fmt(b.started_at),
                c.size_mb.map_or_else(|| "-".into(), |m| format!("{m} MB")),
                excerpt(c.version.as_deref().unwrap_or("-"), 10),
                excerpt(c.location.as_deref().unwrap_or("-"), 30),
            ]
        })
        .collect();
    (
        &[
            "CHAIN",
            "ACTIVE",
            "STATE",
            "RECOVERABLE FROM",
            "CREATED",
            "SIZE",
            "POSTGRES",
            "LOCATION",
        ],
        rows,
    )
}

#[derive(Clone, Debug)]
pub struct IonosClient {
    t: Transport,
}

impl IonosClient {
    pub fn new(api: &ApiSettings, url: reqwest::Url, auth: Auth) -> Result<Self, BuildError> {
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

    /// Every item of an offset/limit list, following [`more_pages`] by advancing the offset.
    async fn list_all(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        self.fold_all(path, Vec::new(), |mut v, item| {
            v.push(item);
            Ok(v)
        })
        .await
    }

    /// [`Self::list_all`] folded into `acc` item by item ([`pages::fold`]).
    async fn fold_all<A>(
        &self,
        path: &str,
        acc: A,
        step: impl FnMut(A, Value) -> Result<A, ApiError>,
    ) -> Result<A, ApiError> {
        let query =
            |offset: usize| vec![("offset", offset.to_string()), ("limit", LIMIT.to_string())];
        let mut offset = 0;
        pages::fold(
            &self.t,
            path,
            query(offset),
            |url, body| {
                let v: Value = decode(&Method::GET, url, body)?;
                let items = v
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| ApiError::Malformed {
                        req: req(&Method::GET, url),
                        detail: "missing list field `items`".into(),
                    })?;
                let n = items.len();
                let more = more_pages(&v, n);
                offset += LIMIT;
                let next = (more && n > 0).then(|| query(offset));
                Ok(Page { items, next })
            },
            acc,
            step,
        )
        .await
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
}

/// Whether more pages follow an offset/limit page of `n` items: its links' `next`. The model
/// documents `links` for the cluster list (`ClusterList`) and the backup lists
/// (`ClusterBackupList`); `_links` is `Pagination`'s spelling (the database and user lists),
/// read too. A page with neither is followed when it is full.
fn more_pages(page: &Value, n: usize) -> bool {
    match page.get("links").or_else(|| page.get("_links")) {
        Some(l) => l.get("next").is_some_and(|n| !n.is_null()),
        None => n >= LIMIT,
    }
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
fn to_backup(v: Value, url: &reqwest::Url) -> Result<Option<Backup>, ApiError> {
    let bad = |d: String| malformed(url, d);
    let id = first_str(&v, &["id"])
        .ok_or_else(|| bad("a backup without `id`".into()))?
        .to_string();
    let meta = v.get("metadata").cloned().unwrap_or(Value::Null);
    let p = v.get("properties").cloned().unwrap_or(Value::Null);
    let created = first_time(&meta, &["createdDate"]).map_err(|e| {
        bad(format!(
            "backup {id}: metadata.{}",
            e.trim_start_matches("field ")
        ))
    })?;
    let earliest = first_time(&p, &["earliestRecoveryTargetTime"]).map_err(|e| {
        bad(format!(
            "backup {id}: properties.{}",
            e.trim_start_matches("field ")
        ))
    })?;
    // `metadata.createdDate` is optional in the model: the chain's earliest recovery time
    // stands in for it; a chain with neither has no time to list it by, and is left out.
    let Some(created) = created.or(earliest) else {
        tracing::warn!(backup = %crate::text::excerpt(&id, 80), "an IONOS backup chain with neither metadata.createdDate nor properties.earliestRecoveryTargetTime is left out");
        return Ok(None);
    };
    Ok(Some(Backup {
        name: id,
        started_at: created,
        finished_at: None,
        lsn_start: None,
        lsn_stop: None,
        size_bytes: None,
        kind: None,
        extra: Map::new(),
        own: Some(std::sync::Arc::new(Chain {
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
        })),
        raw: Some(v),
    }))
}

impl super::Api for IonosClient {
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
        let v = self.cluster_json(id).await?;
        to_cluster(v, &self.t.url(&format!("/clusters/{id}")))
    }
    /// The cluster's backup chains, every page, mapped to [`Backup`] with a [`Chain`].
    async fn list_backups(&self, id: &str) -> Result<Vec<Backup>, ApiError> {
        let path = format!("/clusters/{id}/backups");
        let url = self.t.url(&path);
        Ok(self
            .list_all(&path)
            .await?
            .into_iter()
            .map(|v| to_backup(v, &url))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect())
    }
    /// The window of `id`: every AVAILABLE backup chain, each from its
    /// `earliestRecoveryTargetTime` to where the next one begins (the active chain: to now).
    /// IONOS reports no end for an inactive chain; the next chain's start is taken for it, and
    /// an inactive chain with none after it has an end that is not known (the provider refuses
    /// a time past it). The chain covering a target is chosen when the request is made.
    async fn window(&self, id: &str) -> Result<Window, ApiError> {
        let mut chains: Vec<(String, Chain)> = self
            .list_backups(id)
            .await?
            .iter()
            .filter_map(|b| chain_of(b).map(|c| (b.name.clone(), c.clone())))
            .filter(|(_, c)| c.state == "AVAILABLE" && c.earliest.is_some())
            .collect();
        chains.sort_by_key(|(_, c)| c.earliest);
        let mut spans: Vec<Span> = Vec::new();
        for (i, (name, c)) in chains.iter().enumerate() {
            let Some(start) = c.earliest else { continue };
            spans.push(Span {
                backup_id: name.clone(),
                start,
                end: match c.active {
                    true => None,
                    false => chains.get(i + 1).and_then(|(_, n)| n.earliest),
                },
                active: c.active,
                version: c.version.clone(),
            });
        }
        Ok(match spans.first() {
            None => Window {
                start: None,
                end: None,
                from: format!("no AVAILABLE backup chain of cluster {id}"),
                backup_id: None,
                spans,
            },
            Some(first) => {
                let last = spans.last().unwrap_or(first);
                Window {
                    start: Some(first.start),
                    end: last.end,
                    from: match spans.len() {
                        1 => format!(
                            "{} backup chain {} (earliestRecoveryTargetTime)",
                            if last.active { "active" } else { "inactive" },
                            crate::text::excerpt(&last.backup_id, 80)
                        ),
                        n => format!(
                            "{n} AVAILABLE backup chains (earliestRecoveryTargetTime; each ends where the next begins)"
                        ),
                    },
                    backup_id: None,
                    spans,
                }
            }
        })
    }
    async fn watch(&self, id: &str) -> Result<BackupWatch, ApiError> {
        // The active chain is kept as the pages come, never the list (#29 finding 4).
        let path = format!("/clusters/{id}/backups");
        let url = self.t.url(&path);
        let active = self
            .fold_all(&path, None, |found, v| {
                // Every item is read (a malformed one fails the watch, as it fails a list).
                let chain = to_backup(v, &url)?
                    .as_ref()
                    .and_then(chain_of)
                    .filter(|c| c.active && c.state == "AVAILABLE")
                    .cloned();
                Ok(found.or(chain))
            })
            .await?;
        let active = active.as_ref();
        Ok(BackupWatch {
            // IONOS lists backup chains, not the base backups in them: no finish time.
            last_backup: None,
            window_start: active.and_then(|c| c.earliest),
            problem: active
                .is_none()
                .then(|| "no active AVAILABLE backup chain".to_string()),
            name: None,
        })
    }
    /// The restore request: `POST /clusters/{id}/restore` in place, or a new cluster
    /// `fromBackup` (`POST /clusters`). Either names the chain that covers `target` and the
    /// time as `recoveryTargetTime`; for `latest`, the active chain (else the newest) and no
    /// time, which the model makes optional: "if empty, the backup will be applied
    /// completely", to the chain's end. A new
    /// cluster gets the source's size, version (the chain's), location and settings, the name,
    /// the connection and the database user given, and nothing else (the create model's
    /// fields only); it is checked against the API's limits before it is sent, and refused
    /// naming the allowed range. Neither request carries an idempotency key (none is
    /// documented).
    async fn restore_call(
        &self,
        id: &str,
        target: Stop,
        dest: &Dest,
        window: &Window,
    ) -> Result<Option<Call>, CallError> {
        let Some(span) = window.span_of(target) else {
            return Err(CallError::Refused(match target {
                Stop::Time(t) => format!(
                    "no AVAILABLE backup chain of cluster {id} covers {}: choose a time in {}",
                    rfc3339(t),
                    spans_shown(&window.spans)
                ),
                Stop::Latest => {
                    format!("cluster {id} has no AVAILABLE backup chain to apply")
                }
            }));
        };
        let mut from = json!({"backupId": span.backup_id});
        if let Stop::Time(t) = target {
            from["recoveryTargetTime"] = json!(rfc3339(t));
        }
        let src = self.cluster_json(id).await?;
        let p = src.get("properties").cloned().unwrap_or(Value::Null);
        let version = p
            .get("postgresVersion")
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        match dest {
            Dest::InPlace => {
                if let (Some(chain), Some(now)) = (&span.version, &version) {
                    if chain != now {
                        return Err(CallError::Refused(format!(
                            "{} backup chain {} of PostgreSQL {chain}, but cluster {id} runs PostgreSQL {now}: restore it into a new cluster with --into NAME",
                            match target {
                                Stop::Time(t) => format!("{} is covered by", rfc3339(t)),
                                Stop::Latest => "the newest AVAILABLE chain is".into(),
                            },
                            crate::text::excerpt(&span.backup_id, 80)
                        )));
                    }
                }
                Ok(Some(self.t.post(
                    format!("/clusters/{id}/restore"),
                    from,
                    Retry::Once,
                    Some(id.to_string()),
                )))
            }
            Dest::New {
                name,
                region,
                storage,
                db_user,
                connection,
                connection_given,
                smallest,
                ..
            } => {
                let source_conn = p
                    .pointer("/connections/0")
                    .map(|c| {
                        format!(
                            "datacenter {}, LAN {}, {}",
                            crate::text::excerpt(
                                first_str(c, &["datacenterId"]).unwrap_or("?"),
                                60
                            ),
                            crate::text::excerpt(first_str(c, &["lanId"]).unwrap_or("?"), 20),
                            crate::text::excerpt(first_str(c, &["cidr"]).unwrap_or("?"), 40)
                        )
                    })
                    .unwrap_or_else(|| "none reported".into());
                let location = first_str(&p, &["location"]).unwrap_or("");
                let Some(conn) = connection else {
                    return Err(CallError::Refused(format!(
                        "a new IONOS cluster needs its own connection: give --datacenter ID --lan ID --cidr ADDR/PREFIX (or [ionos] datacenter_id, lan_id, cidr): a free address on a LAN of a datacenter in {}; the source's is {source_conn}, which the new cluster cannot share",
                        if location.is_empty() { "the cluster's location" } else { location }
                    )));
                };
                if let Some(r) = region.as_deref().filter(|r| *r != location) {
                    if !connection_given {
                        return Err(CallError::Refused(format!(
                            "--region {} moves the new cluster out of {location}: give --datacenter, --lan and --cidr of a datacenter in {} ([ionos]'s defaults are for the source's location; the source's connection is {source_conn})",
                            crate::text::excerpt(r, 40),
                            crate::text::excerpt(r, 40)
                        )));
                    }
                }
                // IONOS requires the new cluster's database user (`credentials`), and returns
                // none of the source's: it comes from [ionos] db_username / db_password_file.
                let Some(user) = db_user else {
                    return Err(CallError::Refused(
                        "IONOS requires credentials for a new cluster and none were given".into(),
                    ));
                };
                let mut props = Map::new();
                for k in CREATE_COPIED {
                    if let Some(v) = p.get(*k) {
                        props.insert((*k).into(), v.clone());
                    }
                }
                if let Some(pooler) = p.get("connectionPooler").and_then(Value::as_object) {
                    let kept: Map<String, Value> = pooler
                        .iter()
                        .filter(|(k, _)| model::POOLER_FIELDS.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if !kept.is_empty() {
                        props.insert("connectionPooler".into(), Value::Object(kept));
                    }
                }
                // The restored cluster runs the chain's major version.
                if let Some(v) = &span.version {
                    props.insert("postgresVersion".into(), json!(v));
                }
                if *smallest {
                    // The least the model's limits allow ([`limits::check_create`]); one
                    // instance replicates to none, so asynchronously; no pooler.
                    for (k, v) in [
                        ("instances", json!(1)),
                        ("cores", json!(1)),
                        ("ram", json!(2048)),
                        ("synchronizationMode", json!("ASYNCHRONOUS")),
                    ] {
                        props.insert(k.into(), v);
                    }
                    props.remove("connectionPooler");
                }
                props.insert("displayName".into(), json!(name));
                if let Some(r) = region {
                    props.insert("location".into(), json!(r));
                }
                if let Some(s) = storage {
                    // IONOS sizes storage in MB; --storage is in GB, as for Bridge.
                    props.insert("storageSize".into(), json!(u64::from(*s) * 1024));
                }
                props.insert(
                    "connections".into(),
                    json!([{"datacenterId": conn.datacenter_id, "lanId": conn.lan_id, "cidr": conn.cidr}]),
                );
                props.insert("fromBackup".into(), from);
                check_create(&props, &user.username, user.password.expose_secret().len())
                    .map_err(|e| CallError::Refused(e.to_string()))?;
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
                Ok(Some(call))
            }
        }
    }
    /// Sends the restore request; returns the new cluster's id when the answer names one (the
    /// in-place restore answers with an empty body).
    async fn send_restore(&self, call: &Call) -> Result<Option<String>, ApiError> {
        let (_, body) = self.t.send_call(call).await?;
        Ok(serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string)))
    }
    /// `DELETE /clusters/{id}` (the SDK's `ClustersDelete`, answered with the cluster); it is
    /// DESTROYING, then unknown (404). Sent once: no idempotency key is documented.
    async fn delete_cluster(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/clusters/{id}");
        self.t.send(Method::DELETE, &path, &[], Retry::Once).await?;
        Ok(())
    }
    /// `GET /clusters/{id}`: `metadata.state` (DESTROYING on its way out); 404 gone.
    async fn presence(&self, id: &str) -> Result<Presence, ApiError> {
        match self.cluster_json(id).await {
            Ok(v) => {
                let state = v.pointer("/metadata/state").and_then(Value::as_str);
                Ok(Presence::There {
                    deleting: state == Some("DESTROYING"),
                    state: state.map(|s| crate::text::excerpt(s, 40)),
                })
            }
            Err(ApiError::NotFound { .. }) => Ok(Presence::Gone),
            Err(e) => Err(e),
        }
    }
    /// `metadata.state`, as `phase_of` reads it.
    async fn phase(&self, id: &str) -> Result<Phase, ApiError> {
        let v = self.cluster_json(id).await?;
        Ok(phase_of(
            v.pointer("/metadata/state")
                .and_then(Value::as_str)
                .unwrap_or("(none)"),
        ))
    }
    /// The cluster's `properties.dnsName`, port 5432 (the cluster answer names no port: the
    /// model has none; PostgreSQL's own, where DBaaS listens), database `postgres`, and the
    /// database user bridgerest created the cluster with (`[ionos] db_username` and its
    /// password: IONOS returns no credentials); for a cluster restored in place, its users
    /// are the ones it had, which bridgerest does not know.
    async fn way_in(&self, id: &str, ask: super::WayInAsk<'_>) -> Result<super::WayIn, ApiError> {
        let c = self.get_cluster(id).await?;
        let mut notes = vec!["port 5432: the IONOS cluster answer names no port".to_string()];
        match ask.db_user {
            Some(_) => notes.push("the user is the database user bridgerest created the cluster with ([ionos] db_username)".into()),
            None => notes.push("a cluster restored in place keeps its database users: connect as one of yours".into()),
        }
        Ok(super::WayIn {
            host: c.host,
            port: Some(5432),
            user: ask.db_user.map(|u| u.username.clone()),
            database: Some("postgres".into()),
            password: ask.db_user.map(|u| u.password.clone()),
            notes,
        })
    }
}

/// A cluster's `metadata.state` (the model's `State`, [`model::STATES`]) as a phase: BUSY →
/// working, AVAILABLE → ready, FAILED or DEGRADED → failed, DESTROYING → failed (going away);
/// UNKNOWN, a missing state or one outside the model → unknown. The model has no message
/// beside the state: none is shown.
fn phase_of(state: &str) -> Phase {
    let state = crate::text::excerpt(state, 40);
    match state.as_str() {
        "AVAILABLE" => Phase::Ready,
        "BUSY" => Phase::Working(state),
        "FAILED" | "DEGRADED" => Phase::Failed(format!("metadata.state {state}")),
        "DESTROYING" => {
            Phase::Failed("metadata.state DESTROYING: the cluster is being deleted".into())
        }
        _ => Phase::Unknown(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_or_redirecting_ionos_names_its_own_url_key() {
        let e = ApiError::Transport {
            req: "GET https://ionos.invalid/clusters".into(),
            attempts: 3,
            detail: "connection refused".into(),
            hints: &HINTS,
        };
        assert!(
            e.to_string().ends_with("check ionos.url and the network"),
            "{e}"
        );
        let e = ApiError::Redirect {
            req: "GET https://ionos.invalid/clusters".into(),
            status: reqwest::StatusCode::FOUND,
            location: "https://elsewhere.invalid/".into(),
            hints: &HINTS,
        };
        assert!(!e.to_string().contains("api.url"), "{e}");
        assert!(e.to_string().ends_with("check ionos.url"), "{e}");
    }

    #[test]
    fn every_state_of_the_model_has_its_phase() {
        for s in model::STATES {
            let p = phase_of(s);
            let want = match *s {
                "AVAILABLE" => matches!(p, Phase::Ready),
                "BUSY" => matches!(p, Phase::Working(_)),
                "FAILED" | "DEGRADED" | "DESTROYING" => matches!(p, Phase::Failed(_)),
                "UNKNOWN" => matches!(p, Phase::Unknown(_)),
                other => panic!("a state this test does not know: {other}"),
            };
            assert!(want, "{s}: {p:?}");
        }
        assert_eq!(phase_of("RESTORING"), Phase::Unknown("RESTORING".into()));
    }

    #[test]
    fn pages_follow_links_or_underscore_links_else_a_full_page() {
        let next = json!({"next": "/clusters?offset=100&limit=100"});
        assert!(more_pages(&json!({"links": next}), 100));
        assert!(more_pages(&json!({"_links": next}), 100));
        assert!(!more_pages(&json!({"links": {"self": "/clusters"}}), 100));
        assert!(!more_pages(&json!({"links": {"next": null}}), 100));
        assert!(more_pages(&json!({"items": []}), LIMIT));
        assert!(!more_pages(&json!({"items": []}), LIMIT - 1));
    }

    #[test]
    fn the_create_request_takes_the_models_wire_values() {
        let props = |k: &str, v: Value| {
            let mut p = json!({"instances": 1, "cores": 2, "ram": 4096, "storageSize": 20480,
                               "displayName": "c", "storageType": "SSD Premium",
                               "synchronizationMode": "ASYNCHRONOUS",
                               "maintenanceWindow": {"time": "16:30:59", "dayOfTheWeek": "Sunday"},
                               "connectionPooler": {"enabled": true, "poolMode": "transaction"}});
            p[k] = v;
            check_create(p.as_object().unwrap(), "restore_admin", 20)
        };
        for t in model::STORAGE_TYPES {
            assert_eq!(props("storageType", json!(t)), Ok(()), "{t}");
        }
        let e = props("storageType", json!("SSD_PREMIUM")).unwrap_err();
        assert_eq!(
            e,
            r#"storageType "SSD_PREMIUM" (the source's): the API model knows "HDD", "SSD", "SSD Standard" and "SSD Premium""#
        );
        let e = props(
            "maintenanceWindow",
            json!({"time": "16:30:59", "dayOfTheWeek": "SUNDAY"}),
        )
        .unwrap_err();
        assert!(
            e.starts_with("maintenanceWindow.dayOfTheWeek \"SUNDAY\""),
            "{e}"
        );
        let e = props(
            "connectionPooler",
            json!({"enabled": true, "poolMode": "TRANSACTION"}),
        )
        .unwrap_err();
        assert!(
            e.contains(r#"the API model knows "transaction" and "session""#),
            "{e}"
        );
        assert!(props("connectionPooler", json!({"enabled": "yes"})).is_err());
        assert_eq!(props("connectionPooler", json!({"enabled": false})), Ok(()));
    }

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
        .unwrap()
        .unwrap();
        let c = chain_of(&b).unwrap();
        assert!(c.active);
        assert_eq!(c.size_mb, Some(2048));
        assert_eq!(c.version.as_deref(), Some("15"));
        assert_eq!(b.finished_at, None);
        // createdDate is optional: the earliest recovery time stands in; with neither the
        // chain is left out, and the list goes on.
        let b = to_backup(
            json!({"id": "c-2", "metadata": {"state": "AVAILABLE"}, "properties": {"earliestRecoveryTargetTime": "2026-11-16T00:05:00Z"}}),
            &url,
        )
        .unwrap()
        .unwrap();
        assert_eq!(b.started_at, time::macros::datetime!(2026-11-16 00:05 UTC));
        assert!(to_backup(json!({"id": "c-2", "metadata": {}}), &url)
            .unwrap()
            .is_none());
        let e = to_backup(json!({"id": "c-3", "metadata": {"createdDate": 5}}), &url)
            .unwrap_err()
            .to_string();
        assert!(e.contains("metadata.`createdDate` is not a string"), "{e}");
    }
}
