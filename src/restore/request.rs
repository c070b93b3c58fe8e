//! A restore as asked for, whoever asks (the `restore` command, a drill): the domain's own
//! input, so that nothing below the commands knows the command line.

use std::path::PathBuf;

/// One restore: here (`pg1_path`), or at the provider (`into`, `in_place`). The fields are
/// those of `bridgerest restore`'s flags, which document each.
#[derive(Debug, Clone)]
pub struct Request {
    /// The cluster's ID (see `bridgerest clusters`).
    pub cluster: String,
    /// The cluster's provider (default: its `[[cluster]]` entry, else its id's form).
    pub provider: Option<crate::provider::ProviderKind>,
    /// Restore at the provider into a new cluster of this name (Bridge: a fork).
    pub into: Option<String>,
    /// Restore at the provider over the cluster itself (IONOS, Launcher); needs --confirm.
    pub in_place: bool,
    /// With --in-place (Launcher): when the restore went into a side database, switch the
    /// cluster to it once it is ready and wait until the cluster runs again. Without
    /// --target-time: only switch to the side database an earlier restore made.
    pub switch: bool,
    /// With --in-place: the cluster's ID or its name again, exactly, to confirm that it is
    /// overwritten.
    pub confirm: Option<String>,
    /// With --into: the new cluster's plan [default: the source's] (Bridge).
    pub plan: Option<String>,
    /// With --into: the new cluster's region [default: the source's] (Bridge, IONOS).
    pub region: Option<String>,
    /// With --into (IONOS): the datacenter the new cluster's LAN is in [default:
    /// ionos.datacenter_id]. IONOS needs --datacenter, --lan and --cidr for a new cluster.
    pub datacenter: Option<String>,
    /// With --into (IONOS): the LAN the new cluster is attached to [default: ionos.lan_id].
    pub lan: Option<String>,
    /// With --into (IONOS): the new cluster's own address and subnet on that LAN, e.g.
    /// 192.168.1.20/24 [default: ionos.cidr].
    pub cidr: Option<String>,
    /// With --into: the new cluster's storage in GB [default: the source's] (Bridge, IONOS).
    pub storage: Option<u32>,
    /// At the provider: return once the request is accepted instead of waiting for the
    /// cluster to be ready.
    pub no_wait: bool,
    /// At the provider: stop waiting after this long (e.g. 90m) and exit 1, saying the
    /// provider may still be working [default: api.wait_timeout, 6h].
    pub wait_timeout: Option<std::time::Duration>,
    /// Recover to this time: RFC 3339 (2026-11-21T09:14:00Z) or "2026-11-21 09:14:00+00"
    /// (UTC when no zone is given).
    pub target_time: Option<time::OffsetDateTime>,
    /// `latest` (the end of the archived WAL; at IONOS, the newest backup chain applied whole)
    /// or a time, as for --target-time.
    pub target: Option<crate::when::Target>,
    /// What PostgreSQL does at the target time.
    pub target_action: crate::when::TargetAction,
    /// The data directory to restore into [default: the cluster's pg1_path in the config].
    pub pg1_path: Option<PathBuf>,
    /// Restore over a non-empty directory, keeping files that match the backup.
    pub delta: bool,
    /// Restore over a non-empty directory, overwriting it.
    pub force: bool,
    /// Print the plan and the pgbackrest command, change nothing.
    pub dry_run: bool,
    /// With `dry_run`: the plan as one JSON object.
    pub json: bool,
    /// Restore this backup (its pgBackRest label, as `pgbackrest info` or `bridgerest backups`
    /// shows it) instead of the newest that finished before the target.
    pub set: Option<String>,
    /// pgBackRest's --process-max [default: the number of cores].
    pub process_max: Option<u32>,
    /// Run pgBackRest and PostgreSQL as this user [default as root: pgbackrest.owner, else
    /// postgres; otherwise the current user].
    pub user: Option<String>,
    /// Runs of pgbackrest restore in all, when the store refuses the credentials.
    pub attempts: u32,
    /// Start PostgreSQL afterwards (with archive_mode=off) and wait until it has recovered,
    /// keeping the credentials fresh meanwhile.
    pub start: bool,
    /// With --start: a setting for the restored server (e.g. port=5433); repeatable.
    pub pg_options: Vec<String>,
    /// Directory of PostgreSQL's programs [default: /usr/lib/postgresql/<PG_VERSION>/bin].
    pub pg_bin: Option<PathBuf>,
    /// Take the cluster's lock from a holder that is not bridgerest (`--break-lock`).
    pub break_lock: bool,
}
