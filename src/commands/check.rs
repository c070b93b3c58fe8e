//! `bridgerest check`: one line per check (config, key, output directory, pgBackRest and its
//! config files, each provider's API and credentials, each Bridge cluster's token, options set
//! twice); exit 1 if any failed.

use std::path::Path;

use anyhow::Result;

use crate::config::{self, Config};
use crate::exit::Exit;
use crate::fsutil;
use crate::provider::ProviderKind;
use crate::{pgbackrest, refresh};

/// The checks as they are made: printed one a line, or kept for `--json`.
struct Report {
    failed: usize,
    /// `Some` with --json: each check's result and message, printed at the end.
    json: Option<Vec<(bool, String)>>,
}

impl Report {
    fn ok(&mut self, what: impl AsRef<str>) {
        match &mut self.json {
            Some(checks) => checks.push((true, what.as_ref().to_string())),
            None => println!("ok    {}", what.as_ref()),
        }
    }
    fn fail(&mut self, what: impl AsRef<str>) {
        self.failed += 1;
        match &mut self.json {
            Some(checks) => checks.push((false, what.as_ref().to_string())),
            None => println!("FAIL  {}", what.as_ref()),
        }
    }
    /// With --json: `{"ok": ..., "checks": [{"ok": ..., "message": ...}]}` on stdout.
    fn finish(&self) -> Result<()> {
        if let Some(checks) = &self.json {
            let checks: Vec<serde_json::Value> = checks
                .iter()
                .map(|(ok, m)| serde_json::json!({ "ok": ok, "message": m }))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "ok": self.failed == 0,
                    "checks": checks,
                }))?
            );
        }
        Ok(())
    }
    fn result<T, E: Into<anyhow::Error>>(
        &mut self,
        r: Result<T, E>,
        ok: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                self.ok(ok(&v));
                Some(v)
            }
            Err(e) => {
                self.fail(format!("{:#}", e.into()));
                None
            }
        }
    }
}

/// How long `check` waits for one API request (and twice that for the cluster list).
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run(path: &Path, repositories: bool, json: bool) -> Result<Exit> {
    let mut r = Report {
        failed: 0,
        json: json.then(Vec::new),
    };
    let exit = checks(&mut r, path, repositories).await;
    r.finish()?;
    exit
}

async fn checks(r: &mut Report, path: &Path, repositories: bool) -> Result<Exit> {
    let Some(cfg) = r.result(
        config::load(path).map_err(anyhow::Error::from),
        |c: &Config| {
            format!(
                "config {} is valid ({} clusters)",
                path.display(),
                c.clusters.len() + c.remote.len()
            )
        },
    ) else {
        return Ok(Exit::Failure);
    };
    let out = &cfg.pgbackrest.config;
    let owner = r.result(refresh::owner(&cfg), |_| {
        format!(
            "{} will be owned by {}:{} with mode {:04o}",
            out.display(),
            cfg.pgbackrest.owner.as_deref().unwrap_or("(this user)"),
            cfg.pgbackrest.group.as_deref().unwrap_or("(this group)"),
            cfg.pgbackrest.mode
        )
    });
    let dir = cfg.pgbackrest.dir();
    r.result(refresh::check_dir(&cfg, owner.unwrap_or_default()), |_| {
        format!(
            "output directory {} is writable, and only by root or the file's owner",
            dir.display()
        )
    });
    match fsutil::writable_ancestor(&dir) {
        Some(problem) => r.fail(format!("{problem} (pgbackrest.config)")),
        None => r.ok(format!(
            "no directory above {} can be changed by another user than root",
            dir.display()
        )),
    }
    r.result(refresh::read_existing(&cfg), |existing| match existing {
        Some(_) => format!("{} is a regular file bridgerest may replace", out.display()),
        None => format!("{} does not exist yet", out.display()),
    });
    if let Some(problem) = cfg
        .api
        .key_file
        .as_deref()
        .and_then(config::key_file_exposed)
    {
        r.fail(problem);
    }
    let p = &cfg.pgbackrest;
    let main = p.main_config.display();
    match (p.main_config.exists(), p.main_config_set) {
        (true, set) => r.ok(format!(
            "pgBackRest's main config is {main} ({})",
            if set { "pgbackrest.main_config" } else { "found where pgBackRest looks" }
        )),
        (false, true) => r.fail(format!(
            "pgbackrest.main_config = {main} does not exist: every pgbackrest command given --config={main} stops with error 55; create it, or remove main_config from the config to use pgBackRest's default"
        )),
        (false, false) => r.ok(format!(
            "no main pgBackRest config ({main} or /etc/pgbackrest.conf); pgBackRest runs without one"
        )),
    }
    match p.unread_by_pgbackrest() {
        None => r.ok(format!(
            "pgBackRest reads {} (main config {main}, include path {})",
            out.display(),
            p.include_path.display()
        )),
        Some(why) => r.fail(why),
    }
    r.result(pgbackrest::version(&cfg.pgbackrest.bin), |v| {
        format!("pgBackRest {v} found ({})", cfg.pgbackrest.bin.display())
    });

    // A report, not a service: one attempt per request, a short timeout, one line per check.
    let mut api = cfg.api.clone();
    api.retries = 0;
    api.timeout = api.timeout.min(CHECK_TIMEOUT);
    let quick = Config {
        api: api.clone(),
        ..cfg.clone()
    };
    // Each provider without repository credentials whose section is there or that a cluster
    // uses (Crunchy Bridge's key is checked below).
    for &p in ProviderKind::ALL {
        let used = cfg.remote.iter().any(|c| c.provider == p);
        if !p.has_repo_credentials() && (cfg.has_section(p) || used) {
            check_provider(r, &quick, p).await;
        }
    }
    // Each cluster of a repository the user configured: its repository lists its sets
    // (pgbackrest info as the run-as user).
    if repositories {
        for repo in &cfg.repos {
            let id = &repo.cluster.id;
            let listed = match crate::clients::client_for(&quick, repo.provider) {
                Ok(c) => tokio::time::timeout(CHECK_TIMEOUT * 2, c.list_backups(id))
                    .await
                    .map_err(|_| format!("no answer within {}s", (CHECK_TIMEOUT * 2).as_secs()))
                    .and_then(|r| r.map_err(|e| e.to_string())),
                Err(e) => Err(e.to_string()),
            };
            match listed {
                Ok(sets) => r.ok(format!(
                    "cluster {id}: its pgBackRest repository lists {} backup set{}",
                    sets.len(),
                    if sets.len() == 1 { "" } else { "s" }
                )),
                Err(e) => r.fail(format!("cluster {id}: {e}")),
            }
        }
    }
    if cfg.clusters.is_empty()
        && (!cfg.remote.is_empty() || !cfg.repos.is_empty())
        && config::load_api_key(&cfg.api).is_err()
    {
        r.ok("no Crunchy Bridge cluster and no Bridge API key: Crunchy Bridge not checked");
        return Ok(if r.failed == 0 {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    let client = r.result(
        config::load_api_key(&cfg.api)
            .map_err(anyhow::Error::from)
            .and_then(|(key, source)| {
                Ok((
                    crate::provider::bridge::BridgeClient::client(&api, key)?,
                    source,
                ))
            }),
        |(_, source)| format!("API key found in {source}"),
    );
    let Some((client, _)) = client else {
        return Ok(Exit::Failure);
    };
    let listed = tokio::time::timeout(CHECK_TIMEOUT * 2, client.list_all_clusters()).await;
    let Ok(listed) = listed else {
        r.fail(format!(
            "API {} did not answer within {} s: check api.url and the network (no cluster was checked)",
            cfg.api.url,
            (CHECK_TIMEOUT * 2).as_secs()
        ));
        return Ok(Exit::Failure);
    };
    if let Err(e) = &listed {
        if e.is_transient() {
            r.fail(e.to_string());
            return Ok(Exit::Failure);
        }
    }
    match listed {
        Ok(list) => {
            r.ok(format!(
                "API {} accepted the key ({} clusters visible in its teams)",
                cfg.api.url,
                list.len()
            ));
            for c in &cfg.clusters {
                if !list.iter().any(|(l, _)| l.id == c.id) {
                    r.fail(format!("cluster {} is in none of the teams this API key can see: check the id with `bridgerest clusters`, and that the key's user is in the cluster's team", c.id));
                }
            }
        }
        Err(e) => r.fail(e.to_string()),
    }

    let scope = refresh::Scope::all(&cfg).unwrap_or_else(|e| {
        r.fail(format!("{e:#}"));
        refresh::Scope::default()
    });
    let fetched = refresh::fetch(&cfg, Some(&client), &scope).await;
    let stanzas: Vec<_> = cfg
        .written()
        .into_iter()
        .zip(fetched)
        .filter_map(|((c, from), res)| match res? {
            Ok(s) => {
                r.ok(match from {
                    config::StanzaFrom::Token => format!(
                        "cluster {}: backup token for stanza [{}] renders",
                        c.id, s.name
                    ),
                    config::StanzaFrom::Options => format!(
                        "cluster {}: stanza [{}] renders from its [cluster.options]",
                        c.id, s.name
                    ),
                });
                Some(s)
            }
            Err(e) => {
                r.fail(format!("cluster {}: {e}", c.id));
                None
            }
        })
        .collect();
    // (A repository from [cluster.options] was opened above, with its backups listed.)
    let tokens =
        |s: &&crate::render::Stanza| !cfg.repos.iter().any(|r| r.cluster.id == s.cluster_id);
    for s in stanzas.iter().filter(tokens).filter(|_| repositories) {
        probe(r, &cfg, s).await;
    }
    let others = pgbackrest::OtherConfigs::read(
        &cfg.pgbackrest.main_config,
        &cfg.pgbackrest.include_path,
        out,
    );
    let clashes = others.clashes(&stanzas);
    if clashes.is_empty() {
        r.ok(format!(
            "no other pgBackRest config file sets an option bridgerest writes ({} read)",
            others.len()
        ));
    }
    for c in clashes {
        r.fail(c.text);
    }
    if cfg.drill.section {
        check_drill(r, &cfg);
    }
    Ok(if r.failed == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// Opens the stanza's repository as pgBackRest will (`pgbackrest info` as the run-as user,
/// with fresh credentials, within seconds) and names the store and pgBackRest's error.
async fn probe(r: &mut Report, cfg: &Config, s: &crate::render::Stanza) {
    use crate::pgbackrest::probe::{endpoint, repository, Files};
    let at = endpoint(s);
    let missing: Vec<_> = s.files.iter().filter(|f| !f.path.exists()).collect();
    if let Some(f) = missing.first() {
        r.ok(format!(
            "cluster {}: repository ({at}) not opened: {} is written by the first refresh",
            s.cluster_id,
            f.path.display()
        ));
        return;
    }
    let user = match crate::restore::run_as(cfg, None) {
        Ok(u) => u,
        Err(e) => {
            return r.fail(format!(
                "cluster {}: repository not opened: {e}",
                s.cluster_id
            ))
        }
    };
    let p = &cfg.pgbackrest;
    let files = match p.config == p.main_config {
        true => Files::Main,
        false => Files::Include {
            main: p.main_config.exists().then_some(p.main_config.as_path()),
        },
    };
    let text = crate::render::owned_file(std::slice::from_ref(s), &cfg.pgbackrest.config, false);
    match repository(&p.bin, files, s, &text, &user).await {
        Ok(info) => r.ok(format!(
            "cluster {}: repository ({at}) opened as {}: {}",
            s.cluster_id,
            user.name,
            match (info.backups.len(), &info.archive_max) {
                (0, _) => "no backup yet".to_string(),
                (n, Some(wal)) => format!("{n} backups, WAL archived to {wal}"),
                (n, None) => format!("{n} backups, no archived WAL"),
            }
        )),
        Err(e) => {
            let why = e.to_string();
            let kind = crate::pgbackrest::child::unreachable(&why).or_else(|| {
                crate::pgbackrest::child::refusal(&why).map(|_| "the store refused the credentials")
            });
            r.fail(format!(
                "cluster {}: repository ({at}) cannot be opened as {}{}: {why}",
                s.cluster_id,
                user.name,
                kind.map(|k| format!(" ({k})")).unwrap_or_default()
            ))
        }
    }
}

/// The credentials of IONOS or Launcher, their API, and that it lists the configured clusters.
async fn check_provider(r: &mut Report, cfg: &Config, p: ProviderKind) {
    let title = p.title();
    let Some(client) = r.result(
        super::client_for(cfg, p).map_err(anyhow::Error::from),
        |_| format!("{title} credentials found"),
    ) else {
        return;
    };
    match tokio::time::timeout(CHECK_TIMEOUT * 2, client.list_all_clusters()).await {
        Err(_) => r.fail(format!(
            "the {title} API did not answer within {} s: check its url and the network",
            (CHECK_TIMEOUT * 2).as_secs()
        )),
        Ok(Err(e)) => r.fail(e.to_string()),
        Ok(Ok(list)) => {
            r.ok(format!(
                "the {title} API accepted the credentials ({} clusters visible)",
                list.len()
            ));
            for c in cfg.remote.iter().filter(|c| c.provider == p) {
                if !list.iter().any(|(l, _)| l.id == c.id) {
                    r.fail(format!(
                        "cluster {} is not among the clusters the {title} credentials can see: check the id with `bridgerest clusters --provider {p}`",
                        c.id
                    ));
                }
            }
        }
    }
}

/// What drills need on this host: PostgreSQL's programs (pg_amcheck when drill.amcheck), and a
/// place for the copy and the reports.
fn check_drill(r: &mut Report, cfg: &Config) {
    let bin = std::path::PathBuf::from("/usr/lib/postgresql/15/bin");
    let mut needed = vec!["postgres", "psql"];
    if cfg.drill.amcheck.on() {
        needed.push("pg_amcheck");
    }
    let found: Vec<String> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| needed.iter().all(|n| d.join(n).exists()))
        .map(|d| d.display().to_string())
        .collect();
    match found.is_empty() {
        true => r.fail(format!(
            "drills need PostgreSQL's programs ({}) of the clusters' major version, e.g. {}: apt-get install postgresql-15",
            needed.join(", "),
            bin.display()
        )),
        false => r.ok(format!("drills can start PostgreSQL ({})", found.join(", "))),
    }
    let scratch = cfg
        .drill
        .scratch
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(config::DEFAULT_DRILL_ROOT).join("STANZA"));
    for (what, dir) in [
        (
            "drill scratch directory",
            fsutil::parent(&scratch).to_path_buf(),
        ),
        ("drill reports", cfg.drill.reports.clone()),
    ] {
        // The nearest existing ancestor must be a directory this user can write.
        let existing = dir.ancestors().find(|a| a.exists()).map(Path::to_path_buf);
        match existing {
            Some(a) if nix::unistd::access(&a, nix::unistd::AccessFlags::W_OK).is_ok() => {
                r.ok(format!(
                    "{what}: {} is writable{}",
                    a.display(),
                    if a == dir {
                        String::new()
                    } else {
                        format!(" ({} is made there)", dir.display())
                    }
                ))
            }
            Some(a) => r.fail(format!(
                "{what}: {} is not writable by this user: create {} for the user drills run as",
                a.display(),
                dir.display()
            )),
            None => r.fail(format!("{what}: no part of {} exists", dir.display())),
        }
    }
    if let Some(free) = crate::drill::free_bytes(fsutil::parent(&scratch))
        .ok()
        .or_else(|| {
            scratch
                .ancestors()
                .find(|a| a.exists())
                .and_then(|a| crate::drill::free_bytes(a).ok())
        })
    {
        r.ok(format!(
            "drill scratch space: {} free (each drill checks it against the backup's size)",
            crate::text::human_size(free)
        ));
    }
}
