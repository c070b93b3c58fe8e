//! `provider = "pgbackrest"`: a cluster whose pgBackRest repository the user already
//! configured (a stanza in pgBackRest's own config). There is no API: the repository is the
//! catalog (`pgbackrest info`, run by the config layer as the run-as user through
//! [`Repository`]), nothing is refreshed, and the cluster is restored and drilled here like a
//! Crunchy Bridge one. Every self-managed pgBackRest user can prove their backups with it.

use std::sync::Arc;

use super::server::{BackupWatch, Call, Dest, Phase, Window};
use super::spec::{ConnectError, RepoSet, Repository, Settings};
use super::{Api, ApiError, Backup, CallError, Cluster, ProviderKind, Team};

/// A self-managed pgBackRest repository, as the registry lists it.
pub static SPEC: super::Spec = super::Spec {
    name: "pgbackrest",
    title: "pgBackRest repository",
    help: "your own pgBackRest repository (a stanza in pgBackRest's config): local restores and drills, no API",
    is_id: crate::ids::is_stanza_name,
    listed_only: true,
    roles: None,
    id_form: "a name for a self-managed pgBackRest repository (letters, digits, '-', '_', '.', like main)",
    capabilities: super::Capabilities {
        local_restore: true,
        repo_credentials: false,
        in_place: false,
        into_new: false,
        plan: false,
        region: false,
        storage: false,
        db_user: false,
        connection: false,
        switch: false,
        latest: false,
        destroy: false,
        backup_now: false,
    },
    section: None,
    required_section: None,
    no_backups: "`pgbackrest backup` makes them, as your own schedule runs it",
    latest: "",
    no_backup_now: "a self-managed repository is backed up by pgBackRest itself, not through an API: run `pgbackrest --stanza=STANZA backup` as the repository's owner (your own schedule runs it too)",
    backups_table: super::spec::backups_table,
    clusters_table: super::spec::clusters_table,
    connect,
    new_cluster: super::spec::nothing_more,
};
pub const KIND: ProviderKind = ProviderKind(&SPEC);

fn connect(s: &dyn Settings) -> Result<super::Client, ConnectError> {
    Ok(Arc::new(RepoClient {
        repo: s.repository(),
    }))
}

/// The "client" of self-managed repositories: it reads them, and knows the configured ones.
pub struct RepoClient {
    repo: Arc<dyn Repository>,
}

impl std::fmt::Debug for RepoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RepoClient")
    }
}

impl RepoClient {
    /// The stanza of configured cluster `id`.
    fn stanza(&self, id: &str) -> Result<String, ApiError> {
        self.repo
            .clusters(KIND)
            .into_iter()
            .find(|(c, _)| c == id)
            .map(|(_, s)| s)
            .ok_or_else(|| ApiError::Malformed {
                req: format!("cluster {id}"),
                detail: "no [[cluster]] with provider = \"pgbackrest\" has this id".into(),
            })
    }

    /// The repository's backup sets of cluster `id`, oldest first.
    async fn sets(&self, id: &str) -> Result<Vec<RepoSet>, ApiError> {
        let stanza = self.stanza(id)?;
        self.repo
            .sets(&stanza)
            .await
            .map_err(|detail| ApiError::Malformed {
                req: format!("pgbackrest info of stanza {stanza}"),
                detail,
            })
    }
}

/// A set as the shared model has it: its label is its name, its type from the label's last
/// letter (pgBackRest's F, D, I).
fn to_backup(s: &RepoSet) -> Backup {
    let kind = match s.label.as_bytes().last() {
        Some(b'F') => "full",
        Some(b'D') => "diff",
        Some(b'I') => "incr",
        _ => "",
    };
    Backup {
        name: s.label.clone(),
        started_at: s.start,
        finished_at: Some(s.stop),
        lsn_start: None,
        lsn_stop: None,
        size_bytes: s.size,
        kind: Some(kind.to_string()).filter(|k| !k.is_empty()),
        extra: Default::default(),
        own: None,
        raw: None,
    }
}

fn no_server_side(id: &str) -> ApiError {
    ApiError::Malformed {
        req: format!("cluster {id}"),
        detail:
            "a self-managed pgBackRest repository has no provider to restore at: restore it here"
                .into(),
    }
}

impl Api for RepoClient {
    fn kind(&self) -> ProviderKind {
        KIND
    }
    /// The configured clusters: each named by its stanza.
    async fn list_all_clusters(&self) -> Result<Vec<(Cluster, Option<Team>)>, ApiError> {
        let mut out = Vec::new();
        for (id, stanza) in self.repo.clusters(KIND) {
            out.push((self.cluster(&id, &stanza), None));
        }
        Ok(out)
    }
    async fn get_cluster(&self, id: &str) -> Result<Cluster, ApiError> {
        let stanza = self.stanza(id)?;
        Ok(self.cluster(id, &stanza))
    }
    async fn list_backups(&self, id: &str) -> Result<Vec<Backup>, ApiError> {
        Ok(self.sets(id).await?.iter().map(to_backup).collect())
    }
    /// From a second after the oldest set's stop (pgBackRest's own window) to now.
    async fn window(&self, id: &str) -> Result<Window, ApiError> {
        let sets = self.sets(id).await?;
        Ok(Window {
            start: sets.iter().map(|s| s.stop).min(),
            end: None,
            from: "the oldest backup set in the repository".into(),
            backup_id: None,
            spans: vec![],
        })
    }
    async fn watch(&self, id: &str) -> Result<BackupWatch, ApiError> {
        let sets = self.sets(id).await?;
        Ok(BackupWatch::newest(
            sets.iter().map(|s| s.stop).max(),
            sets.iter().map(|s| s.stop).min(),
        ))
    }
    async fn restore_call(
        &self,
        id: &str,
        _target: crate::when::Stop,
        _dest: &Dest,
        _window: &Window,
    ) -> Result<Option<Call>, CallError> {
        Err(CallError::Refused(no_server_side(id).to_string()))
    }
    async fn send_restore(&self, call: &Call) -> Result<Option<String>, ApiError> {
        Err(no_server_side(&call.path))
    }
    async fn phase(&self, id: &str) -> Result<Phase, ApiError> {
        Err(no_server_side(id))
    }
}

impl RepoClient {
    fn cluster(&self, id: &str, stanza: &str) -> Cluster {
        Cluster {
            id: id.to_string(),
            name: stanza.to_string(),
            provider_id: None,
            region_id: None,
            major_version: None,
            team_id: None,
            host: None,
            state: Some("self-managed".into()),
            extra: Default::default(),
            raw: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn a_set_maps_to_the_shared_model_with_its_type() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let b = to_backup(&RepoSet {
            label: "20261121-010000F_20261122-010000I".into(),
            start: t,
            stop: t + time::Duration::minutes(3),
            size: Some(42),
        });
        assert_eq!(b.kind.as_deref(), Some("incr"));
        assert_eq!(b.finished_at, Some(t + time::Duration::minutes(3)));
        assert_eq!(b.size_bytes, Some(42));
        assert!((SPEC.is_id)("main") && !(SPEC.is_id)("../etc"));
    }
}
