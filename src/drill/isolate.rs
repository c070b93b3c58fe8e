//! What keeps a drill's copy to itself: the settings it starts with (no TCP, no logical
//! replication workers, only the preloaded libraries that start no background work), and the
//! role without superuser that `drill.queries` run as. The copy's data (its configuration
//! files and its roles included) is production's: nothing in it decides what the copy does
//! beyond recovering and answering the queries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::restore::RunAs;

/// Preloaded libraries a copy keeps when its configuration names them: none starts a
/// background worker or opens a connection (statistics, plans, audit logging). Anything else
/// (pg_cron, pg_partman's worker, timescaledb's job scheduler, pg_prewarm's autoprewarm, a
/// foreign-data or replication extension) is left out unless `drill.preload` names it.
pub const SAFE_PRELOAD: &[&str] = &[
    "pg_stat_statements",
    "auto_explain",
    "pgaudit",
    "pg_hint_plan",
    "plpgsql",
    "passwordcheck",
    "auth_delay",
];

/// The role `drill.queries` run as in the copy: no superuser, reads every table.
pub const QUERY_ROLE: &str = "bridgerest_drill";

/// The library an entry of `shared_preload_libraries` loads: its file name without a
/// directory (`$libdir/pg_cron`) or `.so`.
fn library_of(entry: &str) -> String {
    let e = entry.trim().trim_matches('"').trim();
    let base = e.rsplit('/').next().unwrap_or(e);
    base.strip_suffix(".so").unwrap_or(base).to_string()
}

/// What the copy keeps of `shared_preload_libraries = value` (its configuration's, as
/// `postgres -C` shows it): the entries [`SAFE_PRELOAD`] or `extra` name, as bare names
/// (nothing of the value itself reaches the server's command line), and what it leaves out,
/// shown escaped.
pub fn filter_preload(value: &str, extra: &[String]) -> (Vec<String>, Vec<String>) {
    let mut kept = Vec::new();
    let mut left = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let lib = library_of(entry);
        let safe = SAFE_PRELOAD
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .find(|s| *s == lib);
        match safe {
            Some(s) if !kept.iter().any(|k| k == s) => kept.push(s.to_string()),
            Some(_) => {}
            None => left.push(crate::text::excerpt(entry, 64)),
        }
    }
    (kept, left)
}

/// The settings the copy starts with (after `archive_mode=off`), and a line for the report
/// that says what was left out of `shared_preload_libraries`.
pub struct Start {
    pub options: Vec<String>,
    pub said: String,
}

/// Reads the copy's own `shared_preload_libraries` (`postgres -C` as `user`, which reads its
/// configuration files without starting a server) and returns the settings it starts with.
/// When the setting cannot be read, none is preloaded, and the line says so.
pub async fn start_options(
    data: &Path,
    user: &RunAs,
    bin: Option<&Path>,
    sock: &Path,
    port: u16,
    extra: &[String],
) -> Start {
    let postgres = bin.map_or_else(|| PathBuf::from("postgres"), |b| b.join("postgres"));
    let argv = vec![
        postgres.to_string_lossy().into_owned(),
        "-D".into(),
        data.to_string_lossy().into_owned(),
        "-C".into(),
        "shared_preload_libraries".into(),
    ];
    let read =
        crate::pgbackrest::child::output_within(&argv, user, &[], Some(Duration::from_secs(60)))
            .await;
    let (kept, said) = match read {
        Ok(o) if o.status.success() => {
            let value = String::from_utf8_lossy(&o.stdout);
            let (kept, left) = filter_preload(value.trim(), extra);
            let mut said = match kept.is_empty() {
                true => "nothing preloaded".to_string(),
                false => format!("preloaded: {}", kept.join(", ")),
            };
            if !left.is_empty() {
                said.push_str(&format!(
                    "; left out of shared_preload_libraries: {} (background work; drill.preload keeps one)",
                    left.join(", ")
                ));
            }
            (kept, said)
        }
        Ok(o) => (
            vec![],
            format!(
                "nothing preloaded: postgres -C shared_preload_libraries failed ({}): {}",
                o.status,
                crate::text::excerpt(String::from_utf8_lossy(&o.stderr).trim(), 200)
            ),
        ),
        Err(e) => (
            vec![],
            format!(
                "nothing preloaded: cannot read shared_preload_libraries ({})",
                crate::text::excerpt(&format!("{e:#}"), 200)
            ),
        ),
    };
    let options = vec![
        "listen_addresses=".to_string(),
        format!("port={port}"),
        format!("unix_socket_directories={}", sock.display()),
        format!("hba_file={}", sock.join("pg_hba.conf").display()),
        "ssl=off".to_string(),
        "hot_standby=on".to_string(),
        // The daemon's unit denies memory both writable and executable, which JIT needs.
        "jit=off".to_string(),
        // A subscription restored with the copy must not connect to its publisher once the
        // copy is promoted (no apply worker starts).
        "max_logical_replication_workers=0".to_string(),
        format!("shared_preload_libraries={}", kept.join(",")),
    ];
    Start {
        options,
        said: format!("no TCP, no logical replication workers; {said}"),
    }
}

/// The SQL (run as the copy's superuser) that makes [`QUERY_ROLE`]: it logs in, is no
/// superuser and may not create anything, reads every table, setting and statistic
/// (`pg_read_all_data`, PostgreSQL 14 and later; `pg_read_all_settings`, `pg_read_all_stats`),
/// and resolves names in `pg_catalog` only. A role of that name already in
/// the copy (in production's data) is an error, never adopted.
pub fn query_role_sql() -> String {
    format!(
        "CREATE ROLE {QUERY_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS IN ROLE pg_read_all_data, pg_read_all_settings, pg_read_all_stats; \
         ALTER ROLE {QUERY_ROLE} SET search_path = pg_catalog; \
         ALTER ROLE {QUERY_ROLE} SET default_transaction_read_only = on"
    )
}

/// `PGOPTIONS` for the queries' sessions: the same, even where a database's own settings say
/// otherwise.
pub const QUERY_PGOPTIONS: &str = "-c search_path=pg_catalog -c default_transaction_read_only=on";
