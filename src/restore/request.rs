//! A restore as asked for, whoever asks (`bridgerest restore`, a drill): the domain's own
//! input. clap flattens these structs into the command (their doc comments are its --help), so
//! the flags and the request are one definition, not two kept alike; the target arrives parsed
//! once, as one [`Target`] whichever flag gave it.

// The doc comments are --help text first: `[[cluster]]` and `<id>` are meant literally.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgGroup, ArgMatches, Args, FromArgMatches};

use crate::provider::ProviderKind;
use crate::when::{Target, TargetAction};

/// One restore: here (`here`), or at the provider (`at`: `--into`, `--in-place`).
#[derive(Debug, Clone, Args)]
pub struct Request {
    /// The cluster's ID (see `bridgerest clusters`).
    #[arg(long, value_name = "ID")]
    pub cluster: String,
    /// The cluster's provider [default: its [[cluster]] entry, else its id's form].
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<ProviderKind>,
    #[command(flatten)]
    pub when: When,
    /// Print the plan and the pgbackrest command, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub here: Here,
    #[command(flatten)]
    pub at: AtProvider,
}

impl Request {
    /// A restore of `cluster` here, to `target`, everything else as the flags default it.
    pub fn here(cluster: &str, target: Target, here: Here) -> Request {
        Request {
            cluster: cluster.to_string(),
            provider: None,
            when: When {
                target: Some(target),
                action: TargetAction::Promote,
            },
            dry_run: false,
            here,
            at: AtProvider::default(),
        }
    }

    /// At the provider (`--into` or `--in-place`), not here.
    pub fn at_provider(&self) -> bool {
        self.at.into.is_some() || self.at.in_place
    }
}

/// Where recovery ends and what PostgreSQL does there: `--target-time TIME` or `--target
/// latest|random|TIME`, read into one [`Target`], and `--target-action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct When {
    /// `None` only for `--in-place --switch` alone (clap requires one of the flags otherwise).
    pub target: Option<Target>,
    pub action: TargetAction,
}

const TARGET_TIME: &str = "target_time";
const TARGET: &str = "target";
const TARGET_ACTION: &str = "target_action";

impl FromArgMatches for When {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut w = When::default();
        w.update_from_arg_matches(m)?;
        Ok(w)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        // The group makes the two flags exclusive: at most one of these is there.
        if let Some(t) = m.get_one::<time::OffsetDateTime>(TARGET_TIME) {
            self.target = Some(Target::Time(*t));
        } else if let Some(t) = m.get_one::<Target>(TARGET) {
            self.target = Some(*t);
        }
        if let Some(a) = m.get_one::<TargetAction>(TARGET_ACTION) {
            self.action = *a;
        }
        Ok(())
    }
}

impl Args for When {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.group(ArgGroup::new("when").args([TARGET_TIME, TARGET]))
            .arg(
                Arg::new(TARGET_TIME)
                    .long("target-time")
                    .value_name("TIME")
                    .value_parser(crate::when::parse_time)
                    .required_unless_present_any([TARGET, "switch"])
                    .help("Recover to this time: RFC 3339 (2026-11-21T09:14:00Z) or \"2026-11-21 09:14:00+00\" (UTC when no zone is given)"),
            )
            .arg(
                Arg::new(TARGET)
                    .long("target")
                    .value_name("latest|random|TIME")
                    .value_parser(crate::when::parse_target)
                    .help("`latest` (here: the end of the archived WAL; at the provider: a Crunchy Bridge fork at the current time, IONOS's newest backup chain applied whole, Launcher's newest backup), `random` (a time drawn from the recovery window, as a drill does; a restore here only) or a time, as for --target-time"),
            )
            .arg(
                Arg::new(TARGET_ACTION)
                    .long("target-action")
                    .value_name("TARGET_ACTION")
                    .value_parser(clap::value_parser!(TargetAction))
                    .default_value("promote")
                    .help("What PostgreSQL does at the target time"),
            )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The options of a restore here, which a restore at the provider does not take.
pub const LOCAL_ONLY: [&str; 10] = [
    "break_lock",
    "pg1_path",
    "delta",
    "force",
    "set",
    "process_max",
    "user",
    "start",
    "pg_options",
    "pg_bin",
];

/// A restore here: the data directory, how pgBackRest runs, and what follows it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "A restore here")]
pub struct Here {
    /// The data directory to restore into [default: the cluster's pg1_path in the config].
    #[arg(long, value_name = "DIR")]
    pub pg1_path: Option<PathBuf>,
    /// Restore over a non-empty directory, keeping files that match the backup.
    #[arg(long)]
    pub delta: bool,
    /// Restore over a non-empty directory, overwriting it.
    #[arg(long)]
    pub force: bool,
    /// Restore this backup (its pgBackRest label, as `pgbackrest info` or `bridgerest backups`
    /// shows it) instead of the newest that finished before the target.
    #[arg(long, value_name = "LABEL")]
    pub set: Option<String>,
    /// pgBackRest's --process-max [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub process_max: Option<u32>,
    /// Run pgBackRest and PostgreSQL as this user [default as root: pgbackrest.owner, else
    /// postgres; otherwise the current user].
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Runs of pgbackrest restore in all, when the store refuses the credentials.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
    /// Start PostgreSQL afterwards (with archive_mode=off) and wait until it has recovered,
    /// keeping the credentials fresh meanwhile.
    #[arg(long)]
    pub start: bool,
    /// With --start: a setting for the restored server (e.g. port=5433); repeatable.
    #[arg(long = "pg-option", value_name = "NAME=VALUE", requires = "start")]
    pub pg_options: Vec<String>,
    /// Directory of PostgreSQL's programs [default: /usr/lib/postgresql/<PG_VERSION>/bin].
    #[arg(long, value_name = "DIR")]
    pub pg_bin: Option<PathBuf>,
    /// Restore although a process that is not bridgerest holds the cluster's lock
    /// (restore-<id>.lock beside the status file), which the error names: the lock is replaced
    /// under it. Never breaks the lock of a running bridgerest restore or drill.
    #[arg(long)]
    pub break_lock: bool,
}

impl Default for Here {
    /// As the flags default it.
    fn default() -> Self {
        Here {
            pg1_path: None,
            delta: false,
            force: false,
            set: None,
            process_max: None,
            user: None,
            attempts: 3,
            start: false,
            pg_options: Vec::new(),
            pg_bin: None,
            break_lock: false,
        }
    }
}

/// A restore at the provider: into a new cluster, or over the cluster itself.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "A restore at the provider")]
pub struct AtProvider {
    /// Restore at the provider into a new cluster of this name (Bridge: a fork).
    #[arg(long, value_name = "NAME", conflicts_with_all = LOCAL_ONLY)]
    pub into: Option<String>,
    /// Restore at the provider over the cluster itself (IONOS, Launcher); needs --confirm.
    #[arg(long, conflicts_with_all = LOCAL_ONLY, conflicts_with = "into")]
    pub in_place: bool,
    /// With --in-place (Launcher): when the restore went into a side database, switch the
    /// cluster to it once it is ready and wait until the cluster runs again. Without
    /// --target-time: only switch to the side database an earlier restore made.
    #[arg(long, requires = "in_place")]
    pub switch: bool,
    /// With --in-place: the cluster's ID or its name again, exactly, to confirm that it is
    /// overwritten.
    #[arg(long, value_name = "ID|NAME", requires = "in_place")]
    pub confirm: Option<String>,
    /// With --into: the new cluster's plan [default: the source's] (Bridge).
    #[arg(long, value_name = "PLAN", requires = "into")]
    pub plan: Option<String>,
    /// With --into: the new cluster's region [default: the source's] (Bridge, IONOS).
    #[arg(long, value_name = "REGION", requires = "into")]
    pub region: Option<String>,
    /// With --into (IONOS): the datacenter the new cluster's LAN is in [default:
    /// ionos.datacenter_id]. IONOS needs --datacenter, --lan and --cidr for a new cluster.
    #[arg(long, value_name = "ID", requires = "into")]
    pub datacenter: Option<String>,
    /// With --into (IONOS): the LAN the new cluster is attached to [default: ionos.lan_id].
    #[arg(long, value_name = "ID", requires = "into")]
    pub lan: Option<String>,
    /// With --into (IONOS): the new cluster's own address and subnet on that LAN, e.g.
    /// 192.168.1.20/24 [default: ionos.cidr].
    #[arg(long, value_name = "ADDR/PREFIX", requires = "into")]
    pub cidr: Option<String>,
    /// With --into: the new cluster's storage in GB [default: the source's] (Bridge, IONOS).
    #[arg(long, value_name = "GB", requires = "into", value_parser = clap::value_parser!(u32).range(1..))]
    pub storage: Option<u32>,
    /// At the provider: return once the request is accepted instead of waiting for the
    /// cluster to be ready.
    #[arg(long, conflicts_with = "wait_timeout")]
    pub no_wait: bool,
    /// At the provider: stop waiting after this long (e.g. 90m) and exit 1, saying the
    /// provider may still be working [default: api.wait_timeout, 6h].
    #[arg(long, value_name = "DURATION", value_parser = crate::when::parse_duration)]
    pub wait_timeout: Option<Duration>,
    /// At the provider (Bridge): the role whose way in is printed once the cluster is ready:
    /// application, postgres, or u_<account id>.
    /// [default: application]
    #[arg(long, value_name = "ROLE", conflicts_with = "no_wait")]
    pub role: Option<String>,
    /// At the provider: print the password of the way in. Without it, the password is written
    /// as a pgpass line to a file only this user can read (--pgpass), whose name is printed.
    #[arg(long, conflicts_with_all = ["no_wait", "pgpass"])]
    pub show_secrets: bool,
    /// At the provider: the pgpass file the way in's password is written to (mode 0600,
    /// replaced whole) [default: NAME.pgpass beside the config file, NAME being --into's, or
    /// the cluster's id].
    #[arg(long, value_name = "FILE", conflicts_with = "no_wait")]
    pub pgpass: Option<std::path::PathBuf>,
    /// A drill's copy: as small as the provider accepts (not a flag).
    #[arg(skip)]
    pub smallest: bool,
}
