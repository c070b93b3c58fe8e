# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_bridgerest_global_optspecs
    string join \n c/config= v/verbose h/help V/version
end

function __fish_bridgerest_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_bridgerest_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_bridgerest_using_subcommand
    set -l cmd (__fish_bridgerest_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c bridgerest -n "__fish_bridgerest_needs_command" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_needs_command" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "refresh" -d 'Refresh every configured cluster\'s credentials once, then exit'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "render" -d 'Print what `refresh` would write, without writing it'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "clusters" -d 'List the clusters the credentials can see (Crunchy Bridge: in every team; IONOS and Launcher too where the config has their section)'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "backups" -d 'List a cluster\'s backups (every page; IONOS: its backup chains)'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "daemon" -d 'Keep refreshing, as a service: on the cron schedule and before credentials expire'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "status" -d 'Show the daemon\'s status file; exit 1 if any credentials expired or will before the next refresh'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "restore" -d 'Restore a cluster to a point in time, here or at the provider (also `bridgerest --restore`)'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "backup" -d 'Ask a cluster\'s provider for a backup now, before a planned restore'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "destroy" -d 'Delete a cluster at its provider, and wait until it is gone'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "drill" -d 'Prove a cluster\'s backups restore: restore into a scratch directory, recover, check'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "drills" -d 'List the kept drill reports: the restore-test record, per cluster'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "credential-process" -d 'Print a cluster\'s S3 credentials as AWS credential-process JSON'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "check" -d 'Check the configuration, the API key, the output directory, pgBackRest and each stanza\'s repository'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "version" -d 'Print bridgerest\'s version and the commit it was built from (as --version)'
complete -c bridgerest -n "__fish_bridgerest_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand refresh" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand refresh" -l json -d 'Print the result as one JSON object (a "clusters" list: cluster, stanza, type, ok, error, failure, previous_kept, expires_at) instead of a table'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand refresh" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand refresh" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand refresh" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand render" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand render" -l show-secrets -d 'Print the credentials instead of [redacted]'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand render" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand render" -s h -l help -d 'Print help'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand render" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand clusters" -l provider -d 'List this provider\'s clusters only [default: Crunchy Bridge, and IONOS and Launcher where the config has their section]' -r -f -a "bridge\t'Crunchy Bridge: repository credentials (local restores) and forks'
ionos\t'IONOS Cloud DBaaS PostgreSQL: server-side restores only'
launcher\t'Launcher: server-side restores only'
pgbackrest\t'your own pgBackRest repository (a stanza in pgBackRest\'s config): local restores and drills, no API'"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand clusters" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand clusters" -l json -d 'Print the API\'s JSON objects (every page) instead of a table; with several providers, an object of lists keyed by provider'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand clusters" -l created -d 'List only the clusters bridgerest created (`restore --into`), each looked at at its provider now: one that is gone is said so and dropped from the record'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand clusters" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand clusters" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand clusters" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backups" -l provider -d 'The cluster\'s provider [default: its [[cluster]] entry, else its id\'s form]' -r -f -a "bridge\t'Crunchy Bridge: repository credentials (local restores) and forks'
ionos\t'IONOS Cloud DBaaS PostgreSQL: server-side restores only'
launcher\t'Launcher: server-side restores only'
pgbackrest\t'your own pgBackRest repository (a stanza in pgBackRest\'s config): local restores and drills, no API'"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backups" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backups" -l json -d 'Print the API\'s JSON objects (every page) instead of a table'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backups" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backups" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backups" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand daemon" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand daemon" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand daemon" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand daemon" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand status" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand status" -l json -d 'Print the status file\'s JSON instead of a table'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand status" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand status" -s h -l help -d 'Print help'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand status" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l cluster -d 'The cluster\'s ID (see `bridgerest clusters`)' -r -f -a "(bridgerest __complete-ids 2>/dev/null)"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l provider -d 'The cluster\'s provider [default: its [[cluster]] entry, else its id\'s form]' -r -f -a "bridge\t'Crunchy Bridge: repository credentials (local restores) and forks'
ionos\t'IONOS Cloud DBaaS PostgreSQL: server-side restores only'
launcher\t'Launcher: server-side restores only'
pgbackrest\t'your own pgBackRest repository (a stanza in pgBackRest\'s config): local restores and drills, no API'"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l target-time -d 'Recover to this time: RFC 3339 (2026-11-21T09:14:00Z) or "2026-11-21 09:14:00+00" (UTC when no zone is given)' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l target -d '`latest` (here: the end of the archived WAL; at the provider: a Crunchy Bridge fork at the current time, IONOS\'s newest backup chain applied whole, Launcher\'s newest backup), `random` (a time drawn from the recovery window, as a drill does; a restore here only) or a time, as for --target-time' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l target-action -d 'What PostgreSQL does at the target time' -r -f -a "promote\t'End recovery and accept writes'
pause\t'Stay in recovery, read-only, so the state can be inspected first'
shutdown\t'Stop PostgreSQL'"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l pg1-path -d 'The data directory to restore into [default: the cluster\'s pg1_path in the config]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l set -d 'Restore this backup (its pgBackRest label, as `pgbackrest info` or `bridgerest backups` shows it) instead of the newest that finished before the target' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l process-max -d 'pgBackRest\'s --process-max [default: the number of cores]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l user -d 'Run pgBackRest and PostgreSQL as this user [default as root: pgbackrest.owner, else postgres; otherwise the current user]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l attempts -d 'Runs of pgbackrest restore in all, when the store refuses the credentials' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l pg-option -d 'With --start: a setting for the restored server (e.g. port=5433); repeatable' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l pg-bin -d 'Directory of PostgreSQL\'s programs [default: /usr/lib/postgresql/<PG_VERSION>/bin]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l into -d 'Restore at the provider into a new cluster of this name (Bridge: a fork)' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l confirm -d 'With --in-place: the cluster\'s ID or its name again, exactly, to confirm that it is overwritten' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l plan -d 'With --into: the new cluster\'s plan [default: the source\'s] (Bridge)' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l region -d 'With --into: the new cluster\'s region [default: the source\'s] (Bridge, IONOS)' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l datacenter -d 'With --into (IONOS): the datacenter the new cluster\'s LAN is in [default: ionos.datacenter_id]. IONOS needs --datacenter, --lan and --cidr for a new cluster' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l lan -d 'With --into (IONOS): the LAN the new cluster is attached to [default: ionos.lan_id]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l cidr -d 'With --into (IONOS): the new cluster\'s own address and subnet on that LAN, e.g. 192.168.1.20/24 [default: ionos.cidr]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l storage -d 'With --into: the new cluster\'s storage in GB [default: the source\'s] (Bridge, IONOS)' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l wait-timeout -d 'At the provider: stop waiting after this long (e.g. 90m) and exit 1, saying the provider may still be working [default: api.wait_timeout, 6h]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l role -d 'At the provider (Bridge): the role whose way in is printed once the cluster is ready: application, postgres, or u_<account id>. [default: application]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l pgpass -d 'At the provider: the pgpass file the way in\'s password is written to (mode 0600, replaced whole) [default: NAME.pgpass beside the config file, NAME being --into\'s, or the cluster\'s id]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l dry-run -d 'Print the plan and the pgbackrest command, change nothing'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l delta -d 'Restore over a non-empty directory, keeping files that match the backup'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l force -d 'Restore over a non-empty directory, overwriting it'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l start -d 'Start PostgreSQL afterwards (with archive_mode=off) and wait until it has recovered, keeping the credentials fresh meanwhile'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l break-lock -d 'Restore although a process that is not bridgerest holds the cluster\'s lock (restore-<id>.lock beside the status file), which the error names: the lock is replaced under it. Never breaks the lock of a running bridgerest restore or drill'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l in-place -d 'Restore at the provider over the cluster itself (IONOS, Launcher); needs --confirm'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l switch -d 'With --in-place (Launcher): when the restore went into a side database, switch the cluster to it once it is ready and wait until the cluster runs again. Without --target-time: only switch to the side database an earlier restore made'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l no-wait -d 'At the provider: return once the request is accepted instead of waiting for the cluster to be ready'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l show-secrets -d 'At the provider: print the password of the way in. Without it, the password is written as a pgpass line to a file only this user can read (--pgpass), whose name is printed'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -l json -d 'With --dry-run (a restore here): print the plan as one JSON object'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand restore" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -l cluster -d 'The cluster\'s ID (see `bridgerest clusters`)' -r -f -a "(bridgerest __complete-ids 2>/dev/null)"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -l provider -d 'The cluster\'s provider [default: its [[cluster]] entry, else its id\'s form]' -r -f -a "bridge\t'Crunchy Bridge: repository credentials (local restores) and forks'
ionos\t'IONOS Cloud DBaaS PostgreSQL: server-side restores only'
launcher\t'Launcher: server-side restores only'
pgbackrest\t'your own pgBackRest repository (a stanza in pgBackRest\'s config): local restores and drills, no API'"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -l wait-timeout -d 'With --wait: stop waiting after this long (e.g. 90m) and exit 1 [default: api.wait_timeout, 6h]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -l wait -d 'Wait until a backup that was not finished before the request is listed finished (the provider\'s own list: what it shows, never a guess)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backup" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -l cluster -d 'The cluster\'s ID (see `bridgerest clusters --created`)' -r -f -a "(bridgerest __complete-ids 2>/dev/null)"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -l provider -d 'The cluster\'s provider [default: its [[cluster]] entry, else its id\'s form]' -r -f -a "bridge\t'Crunchy Bridge: repository credentials (local restores) and forks'
ionos\t'IONOS Cloud DBaaS PostgreSQL: server-side restores only'
launcher\t'Launcher: server-side restores only'
pgbackrest\t'your own pgBackRest repository (a stanza in pgBackRest\'s config): local restores and drills, no API'"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -l confirm -d 'The cluster\'s ID or its name again, exactly, to confirm that it is deleted' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -l wait-timeout -d 'Stop waiting after this long (e.g. 30m) and exit 1, saying the provider may still be deleting [default: api.wait_timeout, 6h]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -l force -d 'Delete a cluster bridgerest did not create (one not in its record)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -l no-wait -d 'Return once the provider accepted the deletion instead of waiting until it is gone'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand destroy" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l cluster -d 'The cluster\'s ID (a [[cluster]] of the config). A cluster whose provider restores only there (IONOS, Launcher) is drilled at the provider: a copy made there, checked over TLS, and deleted' -r -f -a "(bridgerest __complete-ids 2>/dev/null)"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l shard -d 'With --all: this worker\'s shard I/N (I from 0 to N-1) [default: the engine\'s: SLURM_ARRAY_TASK_ID (a contiguous job array), JOB_COMPLETION_INDEX (Kubernetes Indexed Job), NOMAD_ALLOC_INDEX; else every cluster]. Clusters go to shards by rendezvous hashing of their ids: stable for a given N, and only about 1/N move when N changes' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l shard-count -d 'With --all: how many workers there are, where the engine names only this one\'s index (Kubernetes, Nomad) [default: $BRIDGEREST_SHARD_COUNT]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l target -d '`latest` (the end of the archived WAL), `random` (a time drawn from the recovery window) or a time, as for restore --target-time [default: drill.target, else random]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l user -d 'Run pgBackRest and PostgreSQL as this user [default as root: pgbackrest.owner, else postgres; otherwise the current user]' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l pg-bin -d 'Directory of PostgreSQL\'s programs [default: /usr/lib/postgresql/<PG_VERSION>/bin]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l all -d 'Drill every configured cluster, one after another (those restored only at their provider with drill.at_provider), or this worker\'s share of them (--shard, or the engine\'s index); one that fails never stops the others; exit 1 if any failed'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l due -d 'With --all: only the clusters whose last successful drill (in drill.reports) is older than drill.max_age, or that were never drilled'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l list -d 'With --all: print this worker\'s share and drill nothing'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l at-provider -d 'Drill a Crunchy Bridge cluster at the provider (a fork, checked over TLS, then deleted) instead of restoring it here'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l keep -d 'Leave the copy and its PostgreSQL running (the report says how to reach and stop it; the next drill removes it)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -l json -d 'Print the report as one JSON object instead of a table'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drill" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l cluster -d 'Only this cluster\'s drills' -r -f -a "(bridgerest __complete-ids 2>/dev/null)"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l since -d 'Only drills started at or after this date (2026-10-01, midnight UTC) or time (as --target-time takes it)' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l until -d 'Only drills started before this date (2026-12-31: midnight UTC, that day excluded) or time (as --target-time takes it); with --since, the period --html shows' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l html -d 'Write one self-contained HTML page for an auditor to FILE: the period, every configured cluster (one never drilled flagged), where each copy was restored, what each check proves, per cluster its drills, verdicts, failures and restore times against its objective (charts), the signatures checked and the key\'s fingerprint, and what that evidences for ISO 27001 A.8.13, SOC 2 A1.2 and DORA Art. 12. It opens offline and prints on A4 (a browser\'s print to PDF)' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l junit -d 'Write the drills as JUnit XML to FILE, for CI dashboards and ticketing systems: a testsuite per cluster, a testcase per check of each drill (named by the check and the drill\'s start), a failed check as a failure with its detail (a timed-out or preempted drill as an error)' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l from -d 'Read the reports from a bucket instead of drill.reports: a fleet\'s record, every worker\'s drills (s3://BUCKET/PREFIX, az://CONTAINER/PREFIX, gs://BUCKET/PREFIX; alone: drill.reports_url). The store is reached as drill.reports_options, drill.reports_secrets_file, drill.reports_ca_file and the environment say' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l public-key -d 'Print the public key the reports are signed with (give it to the auditor); with --verify, FILE is the public key to check against (default: this host\'s)' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l note -d 'Add a follow-up to a drill\'s report (what was done about a failure): REPORT is the report file\'s name or path in drill.reports, TEXT the follow-up. Signed with the reports\' key and bound to the report as it is; --verify checks it, --html shows it under the drill' -r
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l json -d 'The reports as a JSON array'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l csv -d 'One CSV row per drill, with a header: RFC 3339 times, seconds and bytes as plain numbers, the first failed check whole; cells a spreadsheet would take for a formula start with a quote'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -l verify -d 'Check every report in drill.reports: its signature, its name, and each cluster\'s chain (none missing, replayed, replaced or re-ordered; the newest against the chain\'s head); each report that fails is named; exit 1 if any does. With --from: every object in the bucket, by the same checks (no chain head there: a deleted newest report is not seen)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand drills" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand credential-process" -l cluster -d 'The cluster\'s ID (an S3 cluster of the config)' -r -f -a "(bridgerest __complete-ids 2>/dev/null)"
complete -c bridgerest -n "__fish_bridgerest_using_subcommand credential-process" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand credential-process" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand credential-process" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand credential-process" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand check" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand check" -l no-repository -d 'Do not open the repositories (a host that cannot reach the store yet, or the simulator, whose stores are not real)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand check" -l json -d 'Print the result as one JSON object ("ok", and "checks": each with "ok" and "message") instead of a line per check'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand check" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand check" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand completions" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand completions" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand completions" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand version" -s c -l config -d 'Configuration file [default: /etc/bridgerest/bridgerest.toml]' -r -F
complete -c bridgerest -n "__fish_bridgerest_using_subcommand version" -s v -l verbose -d 'More of bridgerest\'s log on stderr: -v info, -vv debug (restore logs info without -v; daemon its start, reload, stop and each cluster\'s change of state); other libraries\' only warnings. BRIDGEREST_LOG=<filter> overrides'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand version" -s h -l help -d 'Print help'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand version" -s V -l version -d 'Print version'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "refresh" -d 'Refresh every configured cluster\'s credentials once, then exit'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "render" -d 'Print what `refresh` would write, without writing it'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "clusters" -d 'List the clusters the credentials can see (Crunchy Bridge: in every team; IONOS and Launcher too where the config has their section)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "backups" -d 'List a cluster\'s backups (every page; IONOS: its backup chains)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "daemon" -d 'Keep refreshing, as a service: on the cron schedule and before credentials expire'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "status" -d 'Show the daemon\'s status file; exit 1 if any credentials expired or will before the next refresh'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "restore" -d 'Restore a cluster to a point in time, here or at the provider (also `bridgerest --restore`)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "backup" -d 'Ask a cluster\'s provider for a backup now, before a planned restore'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "destroy" -d 'Delete a cluster at its provider, and wait until it is gone'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "drill" -d 'Prove a cluster\'s backups restore: restore into a scratch directory, recover, check'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "drills" -d 'List the kept drill reports: the restore-test record, per cluster'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "credential-process" -d 'Print a cluster\'s S3 credentials as AWS credential-process JSON'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "check" -d 'Check the configuration, the API key, the output directory, pgBackRest and each stanza\'s repository'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "completions" -d 'Print a shell completion script'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "version" -d 'Print bridgerest\'s version and the commit it was built from (as --version)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand help; and not __fish_seen_subcommand_from refresh render clusters backups daemon status restore backup destroy drill drills credential-process check completions version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bridgerest -n "__fish_bridgerest_using_subcommand backups" -f -a "(bridgerest __complete-ids 2>/dev/null)"
