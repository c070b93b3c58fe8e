//! The command line. Doc comments here are the `--help` text, written for a terminal: their
//! `[[cluster]]` and `<stanza>` are what a user reads, not rustdoc links or HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The files bridgerest uses, for `--help` and the man page.
pub const FILES: &[(&str, &str)] = &[
    (
        "/etc/bridgerest/bridgerest.toml",
        "the configuration (--config, $BRIDGEREST_CONFIG)",
    ),
    (
        "/etc/pgbackrest/conf.d/bridgerest.conf",
        "the stanzas written (pgbackrest.config)",
    ),
    (
        "/var/lib/bridgerest/status.json",
        "the daemon's status (daemon.status_file)",
    ),
];

/// The environment variables bridgerest reads.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("BRIDGEREST_CONFIG", "the configuration file, if --config is not given"),
    (
        "BRIDGEREST_API_KEY",
        "the Crunchy Bridge API key (else api.key_file, or the systemd credential api-key from LoadCredential=)",
    ),
    (
        "BRIDGEREST_IONOS_PASSWORD",
        "the IONOS password (else ionos.password_file, or the credential ionos-password)",
    ),
    (
        "BRIDGEREST_IONOS_TOKEN",
        "the IONOS token, with ionos.token_file set (else that file, or the credential ionos-token)",
    ),
    (
        "BRIDGEREST_IONOS_DB_PASSWORD",
        "the database password of a cluster IONOS makes for restore --into (else ionos.db_password_file, or the credential ionos-db-password)",
    ),
    (
        "BRIDGEREST_LAUNCHER_KEY",
        "the Launcher service key (else launcher.key_file, or the credential launcher-key)",
    ),
    ("BRIDGEREST_LOG", "the log filter, e.g. info or bridgerest=debug"),
];

/// The exit codes (see [`crate::exit::Exit`]).
pub const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    ("1", "failed: the API, a file, or pgBackRest"),
    (
        "2",
        "bad invocation or configuration; nothing was attempted",
    ),
    (
        "3",
        "some clusters were refreshed, others failed (their previous stanzas kept)",
    ),
    (
        "130",
        "interrupted while waiting for a restore at the provider (which goes on), or during a drill (its copy is removed)",
    ),
];

/// Examples for the man pages: per command ("" for bridgerest(1)), what it does and the
/// command line.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "",
        &[
            ("Check a new host's configuration, then write every cluster's stanza once:", "bridgerest check && bridgerest refresh"),
            ("Keep the credentials fresh as a service:", "systemctl enable --now bridgerest"),
            ("Restore a cluster here to a point in time:", "bridgerest restore --cluster rvf73a77ozfsvcttryebfrnlem --target-time 2026-11-21T09:14:00Z"),
        ],
    ),
    (
        "refresh",
        &[
            ("Write every Crunchy Bridge cluster's stanza once (a timer's or cron's job):", "bridgerest refresh"),
            ("The result for a script:", "bridgerest refresh --json | jq -r '.clusters[] | select(.ok | not) | .cluster'"),
        ],
    ),
    (
        "render",
        &[("Show what refresh would write, secrets redacted:", "bridgerest render")],
    ),
    (
        "clusters",
        &[
            ("The clusters the API key can see, with their ids:", "bridgerest clusters"),
            ("IONOS only, as JSON:", "bridgerest clusters --provider ionos --json"),
        ],
    ),
    (
        "backups",
        &[("A cluster's backups:", "bridgerest backups rvf73a77ozfsvcttryebfrnlem")],
    ),
    (
        "backup",
        &[
            ("A fresh backup before a planned restore, waiting until it is listed finished:", "bridgerest backup --cluster rvf73a77ozfsvcttryebfrnlem --wait"),
        ],
    ),
    (
        "destroy",
        &[
            ("The clusters bridgerest created, as their providers show them now:", "bridgerest clusters --created"),
            ("Delete one of them when it is no longer needed:", "bridgerest destroy --cluster 5qq6cmz7rbbc7dxxqjg2fhqzxq --confirm orders-before-incident"),
        ],
    ),
    (
        "daemon",
        &[
            ("Run by systemd (bridgerest.service); by hand, in the foreground:", "runuser -u postgres -- bridgerest daemon"),
            ("Re-read the configuration:", "systemctl reload bridgerest"),
        ],
    ),
    (
        "status",
        &[
            ("Is every cluster's stanza fresh (exit 1 if not)?", "bridgerest status"),
            ("For a monitoring script:", "bridgerest status --json"),
        ],
    ),
    (
        "restore",
        &[
            ("See the plan first, changing nothing:", "bridgerest restore --cluster rvf73a77ozfsvcttryebfrnlem --target-time '2026-11-21 09:14:00' --dry-run"),
            ("The plan as JSON:", "bridgerest restore --cluster rvf73a77ozfsvcttryebfrnlem --target latest --dry-run --json"),
            ("Restore here, start PostgreSQL and follow its recovery:", "bridgerest restore --cluster rvf73a77ozfsvcttryebfrnlem --target latest --start --pg-option port=5433"),
            ("At the provider, into a new cluster:", "bridgerest restore --cluster rvf73a77ozfsvcttryebfrnlem --target-time 2026-11-21T09:14:00Z --into orders-before-incident"),
        ],
    ),
    (
        "drill",
        &[
            ("Prove the backups restore, to a random time in the window:", "bridgerest drill --cluster rvf73a77ozfsvcttryebfrnlem"),
            ("To the end of the archived WAL, keeping the copy running to look at:", "bridgerest drill --cluster rvf73a77ozfsvcttryebfrnlem --target latest --keep"),
        ],
    ),
    (
        "drills",
        &[
            ("The restore-test record since October:", "bridgerest drills --since 2026-10-01"),
            ("For a spreadsheet:", "bridgerest drills --csv > drills.csv"),
            ("For an auditor:", "bridgerest drills --html drills.html"),
        ],
    ),
    (
        "credential-process",
        &[("What pgBackRest 2.59+ runs itself (s3_key_type = \"process\"); by hand, to see that it works:", "bridgerest credential-process --cluster rvf73a77ozfsvcttryebfrnlem > /dev/null && echo ok")],
    ),
    (
        "check",
        &[
            ("Everything, including each stanza's repository:", "bridgerest check"),
            ("Without opening the repositories, as JSON:", "bridgerest check --no-repository --json"),
        ],
    ),
    (
        "completions",
        &[("bash, for this user:", "bridgerest completions bash > ~/.local/share/bash-completion/completions/bridgerest")],
    ),
    (
        "version",
        &[("Which build is installed:", "bridgerest version")],
    ),
];

/// The three tables as the end of `--help`.
fn after_help() -> String {
    let mut out = String::new();
    for (title, rows) in [
        ("Files", FILES),
        ("Environment", ENVIRONMENT),
        ("Exit status", EXIT_STATUS),
    ] {
        let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        out.push_str(&format!("{title}:\n"));
        for (k, v) in rows {
            out.push_str(&format!("  {k:w$}  {v}\n"));
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// Keeps pgBackRest supplied with fresh Crunchy Bridge backup credentials.
///
/// bridgerest asks the Crunchy Bridge API for short-lived backup tokens and writes them as
/// pgBackRest stanzas (s3, azure, gcs), atomically, so every pgbackrest run on this host finds
/// valid credentials.
#[derive(Debug, Parser)]
#[command(
    name = "bridgerest",
    version = env!("BRIDGEREST_VERSION"),
    propagate_version = true,
    max_term_width = 100,
    after_long_help = after_help()
)]
pub struct Cli {
    /// Configuration file [default: /etc/bridgerest/bridgerest.toml].
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "BRIDGEREST_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,

    /// More of bridgerest's log on stderr: -v info, -vv debug (restore logs info without
    /// -v; daemon its start, reload, stop and each cluster's change of state); other libraries'
    /// only warnings. BRIDGEREST_LOG=<filter> overrides.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per run: the size of the restore's options does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Refresh every configured cluster's credentials once, then exit.
    ///
    /// Prints one line per cluster (stanza, store type, ok or the error). Clusters that fail
    /// keep their previous stanza. Exit code 0 only if every cluster was refreshed; 3 if some
    /// were and others failed.
    Refresh(RefreshArgs),
    /// Print what `refresh` would write, without writing it.
    Render(RenderArgs),
    /// List the clusters the credentials can see (Crunchy Bridge: in every team; IONOS and
    /// Launcher too where the config has their section).
    Clusters(ListArgs),
    /// List a cluster's backups (every page; IONOS: its backup chains).
    Backups(BackupsArgs),
    /// Keep refreshing, as a service: on the cron schedule and before credentials expire.
    ///
    /// Refreshes every cluster on `daemon.schedule` and each one at `daemon.refresh_at` of its
    /// credentials' lifetime; retries failures with backoff (the last good stanza stays).
    /// SIGHUP re-reads the config and the API key (a bad one is refused, the old one keeps
    /// running); SIGTERM/SIGINT stop after the write in progress. Tells systemd READY=1 after
    /// the first refresh (Type=notify) and writes `daemon.status_file`.
    Daemon,
    /// Show the daemon's status file; exit 1 if any credentials expired or will before the
    /// next refresh.
    Status(StatusArgs),
    /// Restore a cluster to a point in time, here or at the provider (also `bridgerest --restore`).
    ///
    /// Here (Crunchy Bridge): checks the target against the cluster's backups, picks the newest
    /// backup that finished before it, refreshes the stanza's credentials, confirms that backup
    /// in the repository (`pgbackrest info`; otherwise says so and lets pgBackRest choose) and
    /// the target against the last transaction in the archived WAL, and runs `pgbackrest
    /// restore` with that backup (`--set`). If the store refuses the credentials part way (they
    /// expired), fetches new ones and runs it again with --delta, keeping the files already
    /// restored. With --start, starts PostgreSQL and follows its recovery to the target.
    ///
    /// At the provider (--into NAME, or --in-place --confirm ID|NAME): checks the target against the
    /// provider's recovery window, sends one request (a Bridge fork, an IONOS cluster from the
    /// backup chain, a Launcher pitr-clone; in place: IONOS restore, Launcher pitr), and waits
    /// until the cluster is ready, printing its id, name and host.
    #[command(long_flag = "restore")]
    Restore(RestoreArgs),
    /// Ask a cluster's provider for a backup now, before a planned restore.
    ///
    /// Crunchy Bridge: PUT /clusters/ID/actions/start-backup, which Bridge ignores while a
    /// backup runs or when one was requested recently (its answer does not say: bridgerest
    /// says what the backup list shows); Launcher: POST /databases/ID/backups. IONOS takes no
    /// backup on request (it backs up continuously), and a self-managed repository is backed up
    /// with `pgbackrest backup`: both are refused, saying so. With --wait, waits until a backup
    /// that was not finished before the request is listed finished, and names it.
    Backup(BackupNowArgs),
    /// Delete a cluster at its provider, and wait until it is gone.
    ///
    /// Only a cluster bridgerest created (each `restore --into` records its new cluster in
    /// created.json beside the status file), unless --force; --confirm must repeat its id or
    /// its name as the provider names it, or nothing is sent. Crunchy Bridge and IONOS: DELETE
    /// /clusters/ID; Launcher: DELETE /databases/ID (inferred: its documentation shows no
    /// delete of a database). Waits through the provider's state of deletion until its API no
    /// longer knows the cluster, then drops it from the record.
    Destroy(DestroyArgs),
    /// Prove a cluster's backups restore: restore into a scratch directory, recover, check.
    ///
    /// Restores the backup the target needs from nothing into drill.scratch (default
    /// /var/lib/bridgerest/drill/<stanza>; emptied first only if a drill made it, its free
    /// space checked against the backup, the WAL and the spool), starts PostgreSQL there on a
    /// private socket (archive_mode=off, no background work from extensions), waits until
    /// recovery ends, then checks that it recovered to the target, and runs pg_amcheck
    /// (drill.amcheck), pgbackrest verify (drill.verify), drill.queries (as a role without
    /// superuser) and drill.command (your own program, as the run-as user, with the copy's
    /// socket in PGHOST, within drill.command_timeout), then stops the copy and runs
    /// pg_checksums --check if its data checksums are on. Prints the report (or JSON), writes it to drill.reports and the status and
    /// Prometheus files, and removes the copy unless --keep. Exit code 0 only if every check
    /// passed, within drill.timeout. Holds the same lock as a restore of the cluster, and gives
    /// way to a restore of it; the daemon runs drills on drill.schedule.
    Drill(DrillArgs),
    /// List the kept drill reports: the restore-test record, per cluster.
    ///
    /// One line per drill (cluster, when, target, verdict, time per phase, recovery lag, bytes
    /// fetched), oldest first, from drill.reports; --json or --csv for tools. Exit code 0
    /// unless the reports cannot be read; a failed drill is shown, not an error.
    Drills(DrillsArgs),
    /// Print a cluster's S3 credentials as AWS credential-process JSON.
    ///
    /// pgBackRest 2.59+ runs this itself when pgbackrest.s3_key_type is "process" (or "auto");
    /// the output holds secrets and is meant for it, not for a terminal. Reuses the last
    /// token while more than 10 minutes of api.token_lifetime remain.
    CredentialProcess(CredentialArgs),
    /// Check the configuration, the API key, the output directory, pgBackRest and each stanza's
    /// repository.
    ///
    /// Each problem is printed on its own line with what to do. Exit code 0 only if all pass.
    /// Each Crunchy Bridge stanza's repository is opened with fresh credentials (`pgbackrest
    /// info` as the run-as user, within 30 s): a store that cannot be reached, refuses the
    /// credentials or has no such bucket is named with pgBackRest's own error.
    Check(CheckArgs),
    /// Print a shell completion script.
    ///
    /// bash: `bridgerest completions bash > /etc/bash_completion.d/bridgerest`;
    /// zsh: `> "${fpath[1]}/_bridgerest"`; fish: `> ~/.config/fish/completions/bridgerest.fish`.
    /// The Debian package installs them.
    Completions(CompletionsArgs),
    /// Print bridgerest's version and the commit it was built from (as --version).
    Version,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Print the result as one JSON object (a "clusters" list: cluster, stanza, type, ok,
    /// error, failure, previous_kept, expires_at) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The completion script for `shell`, generated from these definitions; a cluster id
/// (`--cluster`, `backups CLUSTER`) completes to the configured ones (`bridgerest
/// __complete-ids`, quiet when the config cannot be read).
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "bridgerest", &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    cluster_ids_completed(shell, &script).into_bytes()
}

/// The hidden command the completion scripts run (not a subcommand: it is in no script,
/// page or --help): the configured cluster ids, one a line; nothing when the config cannot
/// be read. `bridgerest __complete-ids [--config PATH]`.
pub const COMPLETE_IDS: &str = "__complete-ids";

/// The ids [`COMPLETE_IDS`] prints: those of the config at `path` ($BRIDGEREST_CONFIG, else
/// the default, when `None`), or none.
pub fn complete_ids(path: Option<PathBuf>) -> Vec<String> {
    let path = path
        .or_else(|| std::env::var_os("BRIDGEREST_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_CONFIG_PATH));
    match crate::config::load(&path) {
        Ok(cfg) => cfg.all_clusters().into_iter().map(|(_, id)| id).collect(),
        Err(_) => vec![],
    }
}

/// The shell command that lists the configured cluster ids.
const IDS: &str = "bridgerest __complete-ids 2>/dev/null";

/// `script` (clap_complete's) with cluster ids completed from [`IDS`] instead of file names.
fn cluster_ids_completed(shell: clap_complete::Shell, script: &str) -> String {
    use clap_complete::Shell;
    match shell {
        Shell::Bash => {
            let mut out = String::new();
            let mut lines = script.lines().peekable();
            while let Some(line) = lines.next() {
                out.push_str(line);
                out.push('\n');
                if line.trim() == "--cluster)" {
                    if let Some(next) = lines.peek() {
                        if next.trim() == "COMPREPLY=($(compgen -f \"${cur}\"))" {
                            let indent = &next[..next.len() - next.trim_start().len()];
                            out.push_str(&format!(
                                "{indent}COMPREPLY=($(compgen -W \"$({IDS})\" -- \"${{cur}}\"))\n"
                            ));
                            lines.next();
                        }
                    }
                }
            }
            // `backups CLUSTER`: its positional, where no option is being completed.
            out.replace(
                "        bridgerest__subcmd__backups)\n            opts=\"",
                &format!("        bridgerest__subcmd__backups)\n            opts=\"$([[ ${{COMP_CWORD}} -eq 2 && ${{cur}} != -* ]] && {IDS}) "),
            )
        }
        Shell::Zsh => script
            .lines()
            .map(|l| match l.starts_with("'--cluster=[")
                || l.starts_with("'(--all)--cluster=[")
                || l.starts_with("':cluster -- ")
            {
                true => format!(
                    "{}\n",
                    l.replace(
                        ":_default' \\",
                        &format!(":{{compadd -- ${{(f)\"$({IDS})\"}}}}' \\"),
                    )
                ),
                false => format!("{l}\n"),
            })
            .collect::<String>(),
        Shell::Fish => script
            .lines()
            .map(|l| {
                if l.contains(" -l cluster ") && l.ends_with(" -r") {
                    format!("{l} -f -a \"({IDS})\"\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect::<String>()
            + &format!(
                "complete -c bridgerest -n \"__fish_bridgerest_using_subcommand backups\" -f -a \"({IDS})\"\n"
            ),
        _ => script.to_string(),
    }
}

/// `bridgerest restore`: the domain's request ([`crate::restore::Request`]) flattened, and how
/// the command shows what it did.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub request: crate::restore::Request,
    /// With --dry-run (a restore here): print the plan as one JSON object.
    #[arg(long, requires = "dry_run", conflicts_with_all = ["into", "in_place"], help_heading = "A restore here")]
    pub json: bool,
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    crate::restore::parse_time(s)
}

#[derive(Debug, Args)]
pub struct DrillsArgs {
    /// Only this cluster's drills.
    #[arg(long, value_name = "ID")]
    pub cluster: Option<String>,
    /// Only drills started at or after this date (2026-10-01, midnight UTC) or time (as
    /// --target-time takes it).
    #[arg(long, value_name = "DATE|TIME", value_parser = parse_since)]
    pub since: Option<time::OffsetDateTime>,
    /// Only drills started before this date (2026-12-31: midnight UTC, that day excluded) or
    /// time (as --target-time takes it); with --since, the period --html shows.
    #[arg(long, value_name = "DATE|TIME", value_parser = parse_since)]
    pub until: Option<time::OffsetDateTime>,
    /// The reports as a JSON array.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// One CSV row per drill, with a header: RFC 3339 times, seconds and bytes as plain
    /// numbers, the first failed check whole; cells a spreadsheet would take for a formula
    /// start with a quote.
    #[arg(long, conflicts_with = "html")]
    pub csv: bool,
    /// Write one self-contained HTML page for an auditor to FILE: the period, every configured
    /// cluster (one never drilled flagged), where each copy was restored, what each check
    /// proves, per cluster its drills, verdicts, failures and restore times against its
    /// objective (charts), the signatures checked and the key's fingerprint, and what that
    /// evidences for ISO 27001 A.8.13, SOC 2 A1.2 and DORA Art. 12. It opens offline and
    /// prints on A4 (a browser's print to PDF).
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub html: Option<std::path::PathBuf>,
    /// Write the drills as JUnit XML to FILE, for CI dashboards and ticketing systems: a
    /// testsuite per cluster, a testcase per check of each drill (named by the check and the
    /// drill's start), a failed check as a failure with its detail (a timed-out or preempted
    /// drill as an error).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "csv", "html"])]
    pub junit: Option<std::path::PathBuf>,
    /// Read the reports from a bucket instead of drill.reports: a fleet's record, every
    /// worker's drills (s3://BUCKET/PREFIX, az://CONTAINER/PREFIX, gs://BUCKET/PREFIX; alone:
    /// drill.reports_url). The store is reached as drill.reports_options,
    /// drill.reports_secrets_file, drill.reports_ca_file and the environment say.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub from: Option<String>,
    /// Check every report in drill.reports: its signature, its name, and each cluster's chain
    /// (none missing, replayed, replaced or re-ordered; the newest against the chain's head);
    /// each report that fails is named; exit 1 if any does. With --from: every object in the
    /// bucket, by the same checks (no chain head there: a deleted newest report is not seen).
    #[arg(long, conflicts_with_all = ["json", "csv", "html", "junit"])]
    pub verify: bool,
    /// Print the public key the reports are signed with (give it to the auditor); with
    /// --verify, FILE is the public key to check against (default: this host's).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["json", "csv", "html", "junit"])]
    pub public_key: Option<String>,
    /// Add a follow-up to a drill's report (what was done about a failure): REPORT is the
    /// report file's name or path in drill.reports, TEXT the follow-up. Signed with the
    /// reports' key and bound to the report as it is; --verify checks it, --html shows it
    /// under the drill.
    #[arg(long, num_args = 2, value_names = ["REPORT", "TEXT"], conflicts_with_all = ["json", "csv", "html", "junit", "verify", "public_key", "from", "cluster", "since", "until"])]
    pub note: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The cluster's ID (a [[cluster]] of the config). A cluster whose provider restores only
    /// there (IONOS, Launcher) is drilled at the provider: a copy made there, checked over TLS,
    /// and deleted.
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub cluster: Option<String>,
    /// Drill every configured cluster, one after another (those restored only at their
    /// provider with drill.at_provider), or this worker's share of them (--shard, or the
    /// engine's index); one that fails never stops the others; exit 1 if any failed.
    #[arg(long, conflicts_with = "keep")]
    pub all: bool,
    /// With --all: this worker's shard I/N (I from 0 to N-1) [default: the engine's:
    /// SLURM_ARRAY_TASK_ID (a contiguous job array), JOB_COMPLETION_INDEX (Kubernetes Indexed
    /// Job), NOMAD_ALLOC_INDEX; else every cluster]. Clusters go to shards by rendezvous
    /// hashing of their ids: stable for a given N, and only about 1/N move when N changes.
    #[arg(long, value_name = "I/N", requires = "all", value_parser = crate::drill::shard::parse)]
    pub shard: Option<crate::drill::shard::Shard>,
    /// With --all: how many workers there are, where the engine names only this one's index
    /// (Kubernetes, Nomad) [default: $BRIDGEREST_SHARD_COUNT].
    #[arg(long, value_name = "N", requires = "all", value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
    /// With --all: only the clusters whose last successful drill (in drill.reports) is older
    /// than drill.max_age, or that were never drilled.
    #[arg(long, requires = "all")]
    pub due: bool,
    /// With --all: print this worker's share and drill nothing.
    #[arg(long, requires = "all")]
    pub list: bool,
    /// Drill a Crunchy Bridge cluster at the provider (a fork, checked over TLS, then deleted)
    /// instead of restoring it here.
    #[arg(long, conflicts_with = "keep")]
    pub at_provider: bool,
    /// `latest` (the end of the archived WAL), `random` (a time drawn from the recovery
    /// window) or a time, as for restore --target-time [default: drill.target, else random].
    #[arg(long, value_name = "latest|random|TIME", value_parser = crate::drill::parse_target)]
    pub target: Option<crate::drill::Target>,
    /// Leave the copy and its PostgreSQL running (the report says how to reach and stop it;
    /// the next drill removes it).
    #[arg(long)]
    pub keep: bool,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run pgBackRest and PostgreSQL as this user [default as root: pgbackrest.owner, else
    /// postgres; otherwise the current user].
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Directory of PostgreSQL's programs [default: /usr/lib/postgresql/<PG_VERSION>/bin].
    #[arg(long, value_name = "DIR")]
    pub pg_bin: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Do not open the repositories (a host that cannot reach the store yet, or the
    /// simulator, whose stores are not real).
    #[arg(long)]
    pub no_repository: bool,
    /// Print the result as one JSON object ("ok", and "checks": each with "ok" and
    /// "message") instead of a line per check.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// The cluster's ID (an S3 cluster of the config).
    #[arg(long, value_name = "ID")]
    pub cluster: String,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Print the credentials instead of [redacted].
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the API's JSON objects (every page) instead of a table; with several providers,
    /// an object of lists keyed by provider.
    #[arg(long)]
    pub json: bool,
    /// List this provider's clusters only [default: Crunchy Bridge, and IONOS and Launcher
    /// where the config has their section].
    #[arg(long, value_enum, value_name = "PROVIDER", conflicts_with = "created")]
    pub provider: Option<crate::provider::ProviderKind>,
    /// List only the clusters bridgerest created (`restore --into`), each looked at at its
    /// provider now: one that is gone is said so and dropped from the record.
    #[arg(long)]
    pub created: bool,
}

#[derive(Debug, Args)]
pub struct BackupNowArgs {
    /// The cluster's ID (see `bridgerest clusters`).
    #[arg(long, value_name = "ID")]
    pub cluster: String,
    /// The cluster's provider [default: its [[cluster]] entry, else its id's form].
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<crate::provider::ProviderKind>,
    /// Wait until a backup that was not finished before the request is listed finished (the
    /// provider's own list: what it shows, never a guess).
    #[arg(long)]
    pub wait: bool,
    /// With --wait: stop waiting after this long (e.g. 90m) and exit 1 [default:
    /// api.wait_timeout, 6h].
    #[arg(long, value_name = "DURATION", requires = "wait", value_parser = crate::when::parse_duration)]
    pub wait_timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The cluster's ID (see `bridgerest clusters --created`).
    #[arg(long, value_name = "ID")]
    pub cluster: String,
    /// The cluster's provider [default: its [[cluster]] entry, else its id's form].
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<crate::provider::ProviderKind>,
    /// The cluster's ID or its name again, exactly, to confirm that it is deleted.
    #[arg(long, value_name = "ID|NAME")]
    pub confirm: String,
    /// Delete a cluster bridgerest did not create (one not in its record).
    #[arg(long)]
    pub force: bool,
    /// Return once the provider accepted the deletion instead of waiting until it is gone.
    #[arg(long, conflicts_with = "wait_timeout")]
    pub no_wait: bool,
    /// Stop waiting after this long (e.g. 30m) and exit 1, saying the provider may still be
    /// deleting [default: api.wait_timeout, 6h].
    #[arg(long, value_name = "DURATION", value_parser = crate::when::parse_duration)]
    pub wait_timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status file's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupsArgs {
    /// The cluster's ID (see `bridgerest clusters`).
    pub cluster: String,
    /// The cluster's provider [default: its [[cluster]] entry, else its id's form].
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<crate::provider::ProviderKind>,
    /// Print the API's JSON objects (every page) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A duration as humantime reads it (`90m`, `6h`, `1h 30m`), longer than zero.
/// A date (`2026-10-01`: midnight UTC) or a time as `--target-time` takes it.
fn parse_since(text: &str) -> Result<time::OffsetDateTime, String> {
    let date = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(text.trim(), &date) {
        Ok(d) => Ok(d.midnight().assume_utc()),
        Err(_) => parse_time(text),
    }
}
