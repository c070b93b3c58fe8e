//! The Crunchy Bridge API client: the endpoints bridgerest uses (clusters of every team, a
//! cluster and its status, backups, backup tokens), cursor pagination, and the EID rule; the
//! HTTP transport is [`super::http`], the backup token's wire format `wire`.

mod wire;

use reqwest::Method;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use super::http::ApiError;
use super::http::{decode, req, serde_detail, Auth, BuildError, Hints, Retry, Transport};
use super::pages::{self, Page};
use super::server::{BackupWatch, Call, Dest, Phase, Window};
use super::{
    Backup, BackupRequested, BackupToken, CallError, Cluster, ClusterStatus, Presence, Team,
};
use crate::provider::ApiSettings;
use wire::RawToken;
pub use wire::TokenError;

/// What Bridge's access errors tell the user.
pub static HINTS: Hints = Hints {
    refused: "the API key was refused",
    refused_fix: "check the key (api.key_file, $BRIDGEREST_API_KEY or the systemd credential) and that it is still active in the Crunchy Bridge dashboard",
    no_access: "no such cluster, or this API key has no access to it",
    no_access_fix: "check the cluster id with `bridgerest clusters` (it lists every team the key can see), and that the key's user is in the cluster's team",
    lookup: "check the cluster id with `bridgerest clusters` (it lists every team the key can see)",
    url_key: "api.url",
};

pub use crate::ids::is_eid;

impl BridgeClient {
    /// `POST /clusters/{id}/backup-tokens`, decoded and checked.
    async fn backup_token(&self, id: &str) -> Result<BackupToken, ApiError> {
        let path = format!("/clusters/{id}/backup-tokens");
        let (url, body) = self.t.send(Method::POST, &path, &[], Retry::Keyed).await?;
        let raw: RawToken = decode(&Method::POST, &url, &body)?;
        raw.into_token(id).map_err(|e| ApiError::Unusable {
            what: format!("backup token for cluster {id}"),
            why: Box::new(e),
        })
    }
}

/// A backup token's JSON (as `POST /clusters/{id}/backup-tokens` answers it for cluster `id`),
/// decoded and checked as the client does; the simulator renders a fork's repository with it.
pub fn decode_token(json: &serde_json::Value, id: &str) -> Result<BackupToken, TokenError> {
    let raw = RawToken::deserialize(json).map_err(|e| TokenError::Field {
        field: "(body)",
        detail: serde_detail(&e),
    })?;
    raw.into_token(id)
}

/// Crunchy Bridge, as the registry lists it.
pub static SPEC: super::Spec = super::Spec {
    name: "bridge",
    title: "Crunchy Bridge",
    help: "Crunchy Bridge: repository credentials (local restores) and forks",
    is_id: is_eid,
    listed_only: false,
    roles: Some((is_role_name, "application, postgres, or u_<account id> (your own user's role)")),
    id_form: "a Crunchy Bridge cluster ID (26 lowercase letters and digits, like rvf73a77ozfsvcttryebfrnlem)",
    capabilities: super::Capabilities {
        local_restore: true,
        repo_credentials: true,
        in_place: false,
        into_new: true,
        plan: true,
        region: true,
        storage: true,
        db_user: false,
        connection: false,
        switch: false,
        latest: true,
        destroy: true,
        backup_now: true,
    },
    section: None,
    required_section: None,
    no_backups: "they are taken daily; `bridgerest backup` or the dashboard can start one",
    latest: "now (latest: a fork at the current time, no target_time is sent)",
    no_backup_now: "",
    backups_table: super::spec::backups_table,
    clusters_table,
    connect,
    new_cluster: super::spec::nothing_more,
};
pub const KIND: super::ProviderKind = super::ProviderKind(&SPEC);

/// The client, with the API key (`[api] key_file`, $BRIDGEREST_API_KEY or the systemd
/// credential api-key).
fn connect(s: &dyn super::spec::Settings) -> Result<super::Client, super::spec::ConnectError> {
    let key = s.secret(&api_key_spec(s.api()))?;
    BridgeClient::client(s.api(), key).map_err(Into::into)
}

/// Where the API key is looked for.
pub fn api_key_spec(api: &ApiSettings) -> super::section::SecretSpec<'_> {
    super::section::SecretSpec {
        what: "the API key",
        env: API_KEY_ENV,
        credential: "api-key",
        file: api.key_file.as_deref(),
        file_key: "api.key_file",
        get_one: "the key from the Crunchy Bridge dashboard (Settings → API keys)",
    }
}

/// The environment variable that holds the API key, before `api.key_file`.
pub const API_KEY_ENV: &str = "BRIDGEREST_API_KEY";

/// `clusters`' table: Bridge has teams and the cloud provider of each cluster.
fn clusters_table(clusters: &super::Listed) -> super::spec::Table {
    use crate::text::excerpt;
    let rows = clusters
        .iter()
        .map(|(c, team)| {
            vec![
                excerpt(&c.id, 40),
                excerpt(&c.name, 80),
                team.as_ref().map(|t| t.shown()).unwrap_or_default(),
                excerpt(c.provider_id.as_deref().unwrap_or_default(), 40),
                excerpt(c.region_id.as_deref().unwrap_or_default(), 40),
                c.major_version.map(|v| v.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    (
        &["ID", "NAME", "TEAM", "PROVIDER", "REGION", "POSTGRES"],
        rows,
    )
}

/// The Crunchy Bridge API client. Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct BridgeClient {
    t: Transport,
}

impl BridgeClient {
    /// A Crunchy Bridge client for `api` with `key`, as any provider is held.
    pub fn client(api: &ApiSettings, key: SecretString) -> Result<super::Client, BuildError> {
        Ok(std::sync::Arc::new(Self::new(api, key)?))
    }

    pub fn new(api: &ApiSettings, key: SecretString) -> Result<Self, BuildError> {
        Ok(Self {
            t: Transport::new(api, api.url.clone(), Auth::Bearer(key), &HINTS)?,
        })
    }

    /// `GET /clusters`, every page: the caller's personal team only (seed 004).
    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, ApiError> {
        self.list_all("/clusters", "clusters", &[]).await
    }

    /// `GET /teams`, every page.
    pub async fn list_teams(&self) -> Result<Vec<Team>, ApiError> {
        self.list_all("/teams", "teams", &[]).await
    }

    /// `GET /clusters/{id}/status`.
    pub async fn cluster_status(&self, id: &str) -> Result<ClusterStatus, ApiError> {
        let (url, body) = self
            .t
            .send(
                Method::GET,
                &format!("/clusters/{id}/status"),
                &[],
                Retry::Read,
            )
            .await?;
        decode(&Method::GET, &url, &body)
    }

    /// `PUT /clusters/{id}/actions/start-backup`; returns the API's message.
    pub async fn start_backup(&self, id: &str) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Msg {
            #[serde(default)]
            message: String,
        }
        let path = format!("/clusters/{id}/actions/start-backup");
        let (url, body) = self.t.send(Method::PUT, &path, &[], Retry::Keyed).await?;
        Ok(decode::<Msg>(&Method::PUT, &url, &body)?.message)
    }

    /// Every page of a list: follows `next_cursor` until `has_more` is false, or, where a list
    /// leaves `has_more` out (the backups list's documented example shows only `backups`),
    /// until there is no `next_cursor`. A cursor seen before, or more than
    /// [`pages::MAX_PAGES`], is an error.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        field: &str,
        extra: &[(&'static str, String)],
    ) -> Result<Vec<T>, ApiError> {
        self.fold_all(path, field, extra, Vec::new(), |mut v, item| {
            v.push(item);
            Ok(v)
        })
        .await
    }

    /// [`Self::list_all`] folded into `acc` item by item ([`pages::fold`]).
    async fn fold_all<T: DeserializeOwned, A>(
        &self,
        path: &str,
        field: &str,
        extra: &[(&'static str, String)],
        acc: A,
        step: impl FnMut(A, T) -> Result<A, ApiError>,
    ) -> Result<A, ApiError> {
        let mut seen = std::collections::HashSet::new();
        let query = |cursor: Option<String>| {
            let mut q = vec![("limit", "100".to_string())];
            q.extend(extra.iter().cloned());
            q.extend(cursor.map(|c| ("cursor", c)));
            q
        };
        pages::fold(&self.t, path, query(None), |url, body| {
            let mut page: serde_json::Map<String, serde_json::Value> =
                decode(&Method::GET, url, body)?;
            let list = page.remove(field).ok_or_else(|| ApiError::Malformed {
                req: req(&Method::GET, url),
                detail: format!("missing field `{field}`"),
            })?;
            let items: Vec<T> = serde_json::from_value(list).map_err(|e| ApiError::Malformed {
                req: req(&Method::GET, url),
                detail: format!("field `{field}`: {}", serde_detail(&e)),
            })?;
            let next = page
                .get("next_cursor")
                .and_then(|v| v.as_str())
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            let has_more = page
                .get("has_more")
                .and_then(|v| v.as_bool())
                .unwrap_or(next.is_some());
            let next = match (has_more, next) {
                (true, Some(n)) if seen.insert(n.clone()) => Some(query(Some(n))),
                (true, _) => {
                    return Err(ApiError::Malformed {
                        req: req(&Method::GET, url),
                        detail: "has_more is true but next_cursor is missing or one seen before (a pagination loop)".into(),
                    })
                }
                (false, _) => None,
            };
            Ok(Page { items, next })
        }, acc, step)
        .await
    }
}
impl super::Api for BridgeClient {
    async fn create_backup_token(&self, id: &str) -> Result<BackupToken, ApiError> {
        self.backup_token(id).await
    }
    async fn cluster_status(&self, id: &str) -> Result<ClusterStatus, ApiError> {
        BridgeClient::cluster_status(self, id).await
    }
    fn kind(&self) -> super::ProviderKind {
        KIND
    }
    /// Every cluster the key can see: `GET /teams`, then `GET /clusters?team_id=` for each team
    /// (every page), each with its team. A cluster listed by two teams is shown once.
    async fn list_all_clusters(&self) -> Result<Vec<(Cluster, Option<Team>)>, ApiError> {
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
    async fn get_cluster(&self, id: &str) -> Result<Cluster, ApiError> {
        let (url, body) = self
            .t
            .send(Method::GET, &format!("/clusters/{id}"), &[], Retry::Read)
            .await?;
        decode(&Method::GET, &url, &body)
    }
    /// `GET /clusters/{id}/backups`, every page.
    async fn list_backups(&self, id: &str) -> Result<Vec<Backup>, ApiError> {
        self.list_all(&format!("/clusters/{id}/backups"), "backups", &[])
            .await
    }
    /// The window a fork or a local restore can reach: `oldest_backup_at` .. now (seed 004).
    async fn window(&self, id: &str) -> Result<Window, ApiError> {
        let st = self.cluster_status(id).await?;
        Ok(Window {
            start: st.oldest_backup_at,
            end: None,
            from: "the cluster's oldest_backup_at".into(),
            backup_id: None,
            spans: vec![],
        })
    }
    /// The newest finish is kept as the pages come, never the list (#29 finding 4).
    async fn watch(&self, id: &str) -> Result<BackupWatch, ApiError> {
        let path = format!("/clusters/{id}/backups");
        let newest = self.fold_all(
            &path,
            "backups",
            &[],
            None,
            |m: Option<time::OffsetDateTime>, b: Backup| Ok(m.max(b.finished_at)),
        );
        let (st, last_backup) = tokio::try_join!(self.cluster_status(id), newest)?;
        Ok(BackupWatch::newest(last_backup, st.oldest_backup_at))
    }
    /// `POST /clusters/{id}/forks`: name, and plan, provider, region, storage and HA copied
    /// from the source unless given (the network is left out: a fork gets a network of its
    /// own), and `target_time` (none for `latest`: a fork at the current time). Bridge has no
    /// in-place restore: `None`.
    async fn restore_call(
        &self,
        id: &str,
        target: crate::when::Stop,
        dest: &Dest,
        _window: &Window,
    ) -> Result<Option<Call>, CallError> {
        let Dest::New {
            name,
            plan,
            region,
            storage,
            ..
        } = dest
        else {
            return Ok(None);
        };
        let src = self.get_cluster(id).await?;
        let field = |k: &str| src.extra.get(k).cloned().unwrap_or(serde_json::Value::Null);
        let mut body = serde_json::Map::new();
        body.insert("name".into(), name.clone().into());
        body.insert(
            "plan_id".into(),
            plan.clone().map_or_else(|| field("plan_id"), Into::into),
        );
        body.insert("provider_id".into(), src.provider_id.clone().into());
        body.insert(
            "region_id".into(),
            region
                .clone()
                .map_or_else(|| src.region_id.clone().into(), Into::into),
        );
        body.insert(
            "storage".into(),
            storage.map_or_else(|| field("storage"), Into::into),
        );
        body.insert("is_ha".into(), field("is_ha"));
        // `latest`: no target_time, "leave empty to fork at the current time" (seed 004).
        if let crate::when::Stop::Time(t) = target {
            body.insert("target_time".into(), crate::when::rfc3339(t).into());
        }
        body.retain(|_, v| !v.is_null());
        Ok(Some(self.t.post(
            format!("/clusters/{id}/forks"),
            body.into(),
            Retry::Keyed,
            None,
        )))
    }
    /// Sends the fork request (with an `Idempotency-Key`); the new cluster's id.
    async fn send_restore(&self, call: &Call) -> Result<Option<String>, ApiError> {
        let (url, body) = self.t.send_call(call).await?;
        let c: Cluster = decode(&call.method, &url, &body)?;
        Ok(Some(c.id))
    }
    /// `DELETE /clusters/{id}` (seed 004: 200 with the cluster); the cluster then passes
    /// through `destroying`. Sent with an `Idempotency-Key`, as every write here.
    async fn delete_cluster(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/clusters/{id}");
        self.t
            .send(Method::DELETE, &path, &[], Retry::Keyed)
            .await?;
        Ok(())
    }
    /// `GET /clusters/{id}/status`: its `state` (`destroying` on its way out); 404 gone, 403
    /// hidden (Bridge answers 403 for a cluster that does not exist as for one out of the
    /// key's reach: provider-apis.md).
    async fn presence(&self, id: &str) -> Result<Presence, ApiError> {
        match BridgeClient::cluster_status(self, id).await {
            Ok(st) => Ok(Presence::There {
                deleting: st.state.eq_ignore_ascii_case("destroying"),
                state: Some(crate::text::excerpt(&st.state, 40)),
            }),
            Err(ApiError::NotFound { .. }) => Ok(Presence::Gone),
            Err(ApiError::NoAccess { .. }) => Ok(Presence::Hidden),
            Err(e) => Err(e),
        }
    }
    /// `PUT /clusters/{id}/actions/start-backup`: "a simple message response"; the request
    /// "might be a no-op in case a backup is already in progress, or a backup was requested
    /// recently" (seed 004), and the answer does not say which.
    async fn start_backup(&self, id: &str) -> Result<BackupRequested, ApiError> {
        let message = BridgeClient::start_backup(self, id).await?;
        Ok(BackupRequested {
            message: Some(message).filter(|m| !m.trim().is_empty()),
            backup: None,
            may_ignore: Some(
                "Crunchy Bridge ignores a backup request while a backup is in progress or when one was requested recently, and its answer does not say whether it did",
            ),
        })
    }
    /// The fork's `state` (`GET /clusters/{id}/status`), read by [`phase_of`].
    async fn phase(&self, id: &str) -> Result<Phase, ApiError> {
        let st = self.cluster_status(id).await?;
        Ok(phase_of(&st.state))
    }
    /// `GET /clusters/{id}/roles/{role}`, as Crunchy's `cb uri` reads it (`cb`'s
    /// `CB::Model::Role`: `name`, `password`, `uri`, `account_id`, `account_email`): the
    /// role's URI holds the host, port, user and database, and its password. `role` is one of
    /// `cb`'s `VALID_CLUSTER_ROLES` that exist without being made (`application`, `postgres`)
    /// or a user's role `u_<account id>`; `cb`'s `user` creates that role first (a POST), which
    /// bridgerest does not do.
    async fn way_in(&self, id: &str, ask: super::WayInAsk<'_>) -> Result<super::WayIn, ApiError> {
        let req = format!("GET /clusters/{id}/roles/{}", ask.role);
        if !is_role_name(ask.role) {
            return Err(ApiError::Malformed {
                req,
                detail: "not a Crunchy Bridge role name (application, postgres, or u_<account id>)"
                    .into(),
            });
        }
        let (_, body) = self
            .t
            .send(
                Method::GET,
                &format!("/clusters/{id}/roles/{}", ask.role),
                &[],
                Retry::Read,
            )
            .await?;
        role_way_in(&body).map_err(|detail| ApiError::Malformed { req, detail })
    }
}

/// Whether `role` names a role `GET /clusters/{id}/roles/{role}` may answer for (`cb`'s
/// `CB::Role#valid?`, without `user`, which `cb` creates first).
pub fn is_role_name(role: &str) -> bool {
    matches!(role, "application" | "postgres") || role.strip_prefix("u_").is_some_and(is_eid)
}

/// The way in a role's answer gives: its URI's parts, its password (registered as a secret
/// at once). The body is never repeated in an error (it holds the password).
fn role_way_in(body: &str) -> Result<super::WayIn, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|_| "the role answer is not JSON".to_string())?;
    let password = v
        .get("password")
        .and_then(|p| p.as_str())
        .filter(|p| !p.is_empty());
    if let Some(p) = password {
        crate::redact::register(p);
    }
    let Some(uri) = v
        .get("uri")
        .and_then(|u| u.as_str())
        .filter(|u| !u.is_empty())
    else {
        return Err("the role answer has no uri (cb reads the way in from it)".into());
    };
    crate::redact::register(uri);
    let uri = reqwest::Url::parse(uri).map_err(|_| "the role's uri is not a URL".to_string())?;
    if !matches!(uri.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "the role's uri has scheme {:?}, not postgres://",
            crate::text::excerpt(uri.scheme(), 20)
        ));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = Some(decode(uri.username()))
        .filter(|u| !u.is_empty())
        .or_else(|| v.get("name").and_then(|n| n.as_str()).map(str::to_string));
    let password = password
        .map(str::to_string)
        .or_else(|| uri.password().map(decode))
        .inspect(|p| crate::redact::register(p))
        .map(secrecy::SecretString::from);
    Ok(super::WayIn {
        host: uri.host_str().map(str::to_string),
        port: uri.port(),
        user,
        database: Some(uri.path().trim_start_matches('/'))
            .filter(|d| !d.is_empty())
            .map(decode),
        password,
        notes: vec![],
    })
}

/// What a cluster's `state` says of a fork's way to `ready`. The state is the top-level
/// `state` of `GET /clusters/{id}/status`, where Crunchy's own client reads it too (`cb` 3.6.4,
/// `ClusterStatus`; not the `state` of an `ongoing_upgrade` operation). The API's page names
/// four states (seed 004); `cb`'s `src/models/cluster_status.cr` lists twelve, "an exhaustive
/// list of possible cluster states" (its commit 05c79e7), and a fork passes through several:
///
/// - `ready`: done.
/// - `creating`, `restoring`, `replaying`, `finalizing`, `starting`, `resuming`: progress.
/// - `restarting`: transient, on the way back to `ready`: waited through like progress
///   (`--wait-timeout` bounds it, as it bounds every wait).
/// - `destroying`, `suspended`, `suspending`: the fork will not become ready by itself: an
///   error naming the state, at once.
/// - `unknown`, and any state not in the list: [`Phase::Unknown`], waited through for a few
///   minutes, then an error naming it. `unknown` is a value Bridge sends (`cb` reads it as one
///   of its states; a value `cb` cannot read fails its parse, it is no fallback): Bridge cannot
///   tell the cluster's state, which is not progress.
///
/// Matched without regard to case, as `cb` matches them (Crystal's `Enum.parse?`).
pub fn phase_of(state: &str) -> Phase {
    let shown = crate::text::excerpt(state, 40);
    match state.to_ascii_lowercase().as_str() {
        "ready" => Phase::Ready,
        "creating" | "restoring" | "replaying" | "finalizing" | "starting" | "resuming"
        | "restarting" => Phase::Working(shown),
        "destroying" => Phase::Failed(format!("state {shown}: the cluster is being deleted")),
        "suspended" => Phase::Failed(format!(
            "state {shown}: the cluster is suspended (its disk is kept, no server runs); resume it in the Crunchy Bridge dashboard to use it, or delete it"
        )),
        "suspending" => Phase::Failed(format!(
            "state {shown}: the cluster is being suspended; resume it in the Crunchy Bridge dashboard once it is suspended to use it, or delete it"
        )),
        _ => Phase::Unknown(shown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roles_answer_gives_its_uris_parts_and_never_repeats_its_body() {
        use secrecy::ExposeSecret;
        let id = "rvf73a77ozfsvcttryebfrnlem";
        let body = format!(
            r#"{{"account_id":null,"account_email":null,"name":"application","password":"s3cr%t","uri":"postgres://application:s3cr%25t@p.{id}.db.postgresbridge.com:5432/postgres"}}"#
        );
        let way = role_way_in(&body).unwrap();
        assert_eq!(
            way.host.as_deref(),
            Some(format!("p.{id}.db.postgresbridge.com").as_str())
        );
        assert_eq!(way.port, Some(5432));
        assert_eq!(way.user.as_deref(), Some("application"));
        assert_eq!(way.database.as_deref(), Some("postgres"));
        assert_eq!(way.password.unwrap().expose_secret(), "s3cr%t");
        // Only the uri's password: percent-decoded.
        let only_uri = r#"{"name":"postgres","uri":"postgresql://postgres:a%3Ab@h:6432/db"}"#;
        let way = role_way_in(only_uri).unwrap();
        assert_eq!(way.password.unwrap().expose_secret(), "a:b");
        assert_eq!(
            (way.port, way.database.as_deref()),
            (Some(6432), Some("db"))
        );
        // Not JSON, no uri, not postgres://: said, without the body.
        for (bad, says) in [
            ("secretpw", "not JSON"),
            (r#"{"password":"secretpw"}"#, "no uri"),
            (r#"{"uri":"https://u:secretpw@h/"}"#, "not postgres://"),
        ] {
            let e = role_way_in(bad).unwrap_err();
            assert!(e.contains(says) && !e.contains("secretpw"), "{e}");
        }
        assert!(is_role_name("application") && is_role_name("postgres"));
        assert!(is_role_name("u_vwdd3yfeyvcnlhvthp4t6fikui"));
        assert!(!is_role_name("user") && !is_role_name("u_x") && !is_role_name("../x"));
    }

    #[test]
    fn every_state_cb_knows_has_its_phase() {
        // `cb` 3.6.4, src/models/cluster_status.cr, in its order.
        let phases: Vec<(&str, Phase)> = [
            "creating",
            "destroying",
            "finalizing",
            "ready",
            "replaying",
            "restarting",
            "restoring",
            "resuming",
            "starting",
            "suspended",
            "suspending",
            "unknown",
        ]
        .into_iter()
        .map(|s| (s, phase_of(s)))
        .collect();
        for (s, p) in &phases {
            let want = match *s {
                "ready" => "ready",
                "destroying" | "suspended" | "suspending" => "failed",
                "unknown" => "unknown",
                _ => "working",
            };
            let got = match p {
                Phase::Ready => "ready",
                Phase::Working(w) => {
                    assert_eq!(w, s);
                    "working"
                }
                Phase::Failed(m) => {
                    assert!(m.starts_with(&format!("state {s}: ")), "{m}");
                    "failed"
                }
                Phase::Unknown(u) => {
                    assert_eq!(u, s);
                    "unknown"
                }
            };
            assert_eq!(got, want, "{s}");
        }
        // As cb reads them: any case; what it does not list is not progress, and is shown
        // bounded.
        assert_eq!(phase_of("Ready"), Phase::Ready);
        assert_eq!(phase_of("RESTORING"), Phase::Working("RESTORING".into()));
        assert_eq!(phase_of("migrating"), Phase::Unknown("migrating".into()));
        assert!(matches!(phase_of(&"x".repeat(500)), Phase::Unknown(u) if u.chars().count() <= 41));
        assert_eq!(phase_of(""), Phase::Unknown(String::new()));
    }

    #[test]
    fn times_out_of_range_are_refused_where_they_enter_naming_the_field() {
        let far = "9999-12-31T23:30:00-01:00";
        let backup = |started: &str, finished: &str| {
            format!(
                r#"{{"name":"2026/20261121-000000F","started_at":"{started}","finished_at":{finished},"type":"full"}}"#
            )
        };
        let ok = "2026-11-21T00:00:00Z";
        assert!(serde_json::from_str::<Backup>(&backup(ok, "null")).is_ok());
        for (json, field) in [
            (backup(ok, &format!("\"{far}\"")), "finished_at"),
            (backup(far, "null"), "started_at"),
            (
                format!(r#"{{"state":"ready","oldest_backup_at":"{far}"}}"#),
                "oldest_backup_at",
            ),
        ] {
            let e = match field {
                "oldest_backup_at" => serde_json::from_str::<ClusterStatus>(&json).unwrap_err(),
                _ => serde_json::from_str::<Backup>(&json).unwrap_err(),
            };
            assert!(
                e.to_string()
                    .starts_with(&format!("`{field}` {far} is out of range")),
                "{e}"
            );
        }
    }
}
