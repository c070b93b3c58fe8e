//! Everything bridgerest knows of pgBackRest in one place: finding it and its version, its
//! main config and the other config files it joins with ours (a key set twice in one section
//! is its error 31), `pgbackrest info`, and its child processes ([`child`]).

pub mod child;
mod error;
pub mod probe;
pub mod verify;
pub use child::Prefetch;
pub use error::{Error, Result};

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ini::{Ini, ParseOption};

use crate::render::Stanza;

/// pgBackRest's default main config, and the one it falls back to when that does not exist
/// (Debian's package ships the older one, and no `/etc/pgbackrest/` directory).
pub const DEFAULT_MAIN_CONFIG: &str = "etc/pgbackrest/pgbackrest.conf";
pub const ORIGINAL_MAIN_CONFIG: &str = "etc/pgbackrest.conf";
pub const DEFAULT_INCLUDE_PATH: &str = "/etc/pgbackrest/conf.d";

/// The main config file a `pgbackrest` run without `--config` reads (under `root`, `/` on a
/// host): `/etc/pgbackrest/pgbackrest.conf`, or, if that does not exist but the older
/// `/etc/pgbackrest.conf` does, that one, as pgBackRest itself decides.
pub fn default_main_config(root: &Path) -> PathBuf {
    let new = root.join(DEFAULT_MAIN_CONFIG);
    let old = root.join(ORIGINAL_MAIN_CONFIG);
    if !new.exists() && old.exists() {
        old
    } else {
        new
    }
}

/// One backup as pgBackRest's own repository lists it (`pgbackrest info --output=json`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoBackup {
    pub label: String,
    /// `timestamp.stop`, epoch seconds.
    pub stop: i64,
    /// `timestamp.start`, epoch seconds.
    pub start: i64,
    /// `info.size`: the database's size, what a restore writes.
    pub size: Option<u64>,
    /// `info.repository.size`: the backup set's bytes in the repository (the files it
    /// references in earlier backups included), what a restore from nothing fetches.
    pub repo_size: Option<u64>,
    /// `archive.start` / `archive.stop`: the WAL the backup needs to be consistent.
    pub archive_start: Option<String>,
    pub archive_stop: Option<String>,
}

/// What `pgbackrest info` says of a stanza's repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// Oldest first.
    pub backups: Vec<RepoBackup>,
    /// The newest archived WAL segment (`archive[].max`), if any.
    pub archive_max: Option<String>,
    /// The archive id it is in (`archive[].id`, e.g. `15-1`).
    pub archive_id: Option<String>,
}

/// A WAL segment name from pgBackRest's JSON (24 hex digits), if that is what it is.
fn segment_name(v: &serde_json::Value) -> Option<String> {
    v.as_str()
        .filter(|m| m.len() == 24 && m.bytes().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// The backups of `stanza` in `pgbackrest info --output=json` output, oldest first, and its
/// newest archived WAL segment. The stanza's `status.code` must be 0 (pgBackRest exits 0 even
/// when the store refused it): otherwise its `status.message` is the error.
pub fn parse_info(json: &str, stanza: &str) -> Result<RepoInfo> {
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::Output(format!("pgbackrest info printed no JSON: {e}")))?;
    let st = v
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == stanza))
        .ok_or_else(|| Error::Output(format!("pgbackrest info lists no stanza {stanza}")))?;
    let code = st["status"]["code"].as_i64().unwrap_or(-1);
    if code != 0 {
        // With code 99 the status says only "other"; what the store said is in each repo's.
        let repos: Vec<&str> = st["repo"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["status"]["code"].as_i64().is_some_and(|c| c != 0))
            .filter_map(|r| r["status"]["message"].as_str())
            .collect();
        let mut message = st["status"]["message"].as_str().unwrap_or("").to_string();
        for r in repos {
            message.push_str(": ");
            message.push_str(r);
        }
        return Err(Error::Output(format!(
            "pgbackrest info for stanza {stanza}: status {code}: {}",
            crate::redact::apply(&crate::text::excerpt(message.trim(), 400))
        )));
    }
    let mut out: Vec<RepoBackup> = st["backup"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|b| {
                    Some(RepoBackup {
                        label: b["label"].as_str()?.to_string(),
                        stop: b["timestamp"]["stop"].as_i64()?,
                        start: b["timestamp"]["start"].as_i64().unwrap_or_default(),
                        size: b["info"]["size"].as_u64(),
                        repo_size: b["info"]["repository"]["size"].as_u64(),
                        archive_start: segment_name(&b["archive"]["start"]),
                        archive_stop: segment_name(&b["archive"]["stop"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|b| b.stop);
    let newest = st["archive"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((segment_name(&a["max"])?, a["id"].as_str())))
        .max();
    Ok(RepoInfo {
        backups: out,
        archive_id: newest
            .as_ref()
            .and_then(|(_, id)| id.filter(|i| is_archive_id(i)).map(str::to_string)),
        archive_max: newest.map(|(m, _)| m),
    })
}

/// An archive id as pgBackRest names them (`<major>-<n>`): safe in a repository path.
pub fn is_archive_id(s: &str) -> bool {
    let mut parts = s.split('-');
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None)
        if !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()))
}

/// Runs `pgbackrest version` and returns e.g. "2.45".
pub fn version(bin: &Path) -> Result<String> {
    let out = std::process::Command::new(bin)
        .env_clear()
        .envs(crate::runas::child_env(None))
        .arg("version")
        .output()
        .map_err(|err| Error::Spawn {
            program: bin.display().to_string(),
            hint: error::INSTALL,
            err,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().strip_prefix("pgBackRest ") {
        Some(v) if out.status.success() => Ok(v.to_string()),
        _ => Err(Error::Output(format!(
            "{} version printed {:?}: is it pgBackRest?",
            bin.display(),
            text.trim()
        ))),
    }
}

/// Whether a version string like "2.45" or "2.59.1dev" is at least `(major, minor)`.
pub fn version_at_least(version: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

/// The files pgBackRest reads besides ours: the main config and `include_path/*.conf`.
pub fn other_config_files(main: &Path, include: &Path, own: &Path) -> Vec<PathBuf> {
    let own = std::fs::canonicalize(own).unwrap_or_else(|_| own.to_path_buf());
    let mut files = Vec::new();
    if main.is_file() {
        files.push(main.to_path_buf());
    }
    if let Ok(rd) = std::fs::read_dir(include) {
        let mut inc: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
            .collect();
        inc.sort();
        files.extend(inc);
    }
    files.retain(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()) != own);
    files
}

/// A problem with another pgBackRest config file: an option it sets in a section bridgerest
/// writes (`stanza` names the section), or a file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub stanza: Option<String>,
    pub text: String,
}

/// The other pgBackRest config files ([`other_config_files`]), each read and parsed once:
/// then every stanza is checked against them ([`OtherConfigs::clashes`]) without reading a
/// file again per stanza.
#[derive(Debug)]
pub struct OtherConfigs {
    /// Each file with its INI, or the problem that it cannot be read or parsed.
    files: Vec<(PathBuf, Result<Option<Ini>, String>)>,
    /// The file bridgerest writes, as messages name it.
    own: PathBuf,
}

impl OtherConfigs {
    /// Reads the main config and `include/*.conf`, except `own` (bridgerest's file).
    pub fn read(main: &Path, include: &Path, own: &Path) -> OtherConfigs {
        let files = other_config_files(main, include, own)
            .into_iter()
            .map(|file| {
                let ini = parse_other(&file);
                (file, ini)
            })
            .collect();
        OtherConfigs {
            files,
            own: own.to_path_buf(),
        }
    }

    /// How many files were read.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// One problem per option that another file sets in a section bridgerest writes, and one
    /// per file that cannot be read or is not INI.
    pub fn clashes(&self, stanzas: &[Stanza]) -> Vec<Clash> {
        let mut problems = Vec::new();
        for (file, ini) in &self.files {
            let ini = match ini {
                Ok(Some(ini)) => ini,
                Ok(None) => continue,
                Err(text) => {
                    problems.push(Clash {
                        stanza: None,
                        text: text.clone(),
                    });
                    continue;
                }
            };
            for s in stanzas {
                let Some(section) = ini.section(Some(s.name.as_str())) else {
                    continue;
                };
                let ours: HashSet<&str> = s.entries.iter().map(|(k, _)| k.as_str()).collect();
                let mut seen = HashSet::new();
                for (k, _) in section.iter() {
                    if ours.contains(k) && seen.insert(k) {
                        problems.push(Clash {
                            stanza: Some(s.name.clone()),
                            text: format!(
                                "{} sets {k} in [{}], which bridgerest writes to {}: pgBackRest refuses an option set twice (error 31); remove it from {}",
                                file.display(),
                                s.name,
                                self.own.display(),
                                file.display()
                            ),
                        });
                    }
                }
            }
        }
        problems
    }
}

/// One other config file as INI (`None`: it is gone), or why it cannot be used.
fn parse_other(file: &Path) -> Result<Option<Ini>, String> {
    let text = match crate::fsutil::read_regular(file, crate::fsutil::MAX_READ) {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e:#}", file.display())),
    };
    let opt = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ParseOption::default()
    };
    Ini::load_from_str_opt(&text, opt).map(Some).map_err(|e| {
        format!(
            "{} is not valid INI ({e}): pgBackRest will refuse it too; fix it",
            file.display()
        )
    })
}

/// The options that decide how `archive-get` fetches WAL during a recovery
/// (`restore_command` stands for a `recovery-option` that sets it).
pub const WAL_GET_OPTIONS: [&str; 4] = [
    "archive-async",
    "spool-path",
    "archive-get-queue-max",
    "restore_command",
];

/// Which of [`WAL_GET_OPTIONS`] `files` set for `stanza` (in `[global]`, `[global:archive-get]`,
/// `[global:restore]`, `[STANZA]`, `[STANZA:archive-get]` or `[STANZA:restore]`), each with
/// where: the user's own WAL settings, which win over bridgerest's.
pub fn wal_get_settings(files: &[PathBuf], stanza: &str) -> BTreeMap<&'static str, String> {
    let opt = || ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ParseOption::default()
    };
    let sections = [
        "global".to_string(),
        "global:archive-get".to_string(),
        "global:restore".to_string(),
        stanza.to_string(),
        format!("{stanza}:archive-get"),
        format!("{stanza}:restore"),
    ];
    let mut found = BTreeMap::new();
    for file in files {
        let Some(ini) = crate::fsutil::read_regular(file, crate::fsutil::MAX_READ)
            .ok()
            .flatten()
            .and_then(|t| Ini::load_from_str_opt(&t, opt()).ok())
        else {
            continue;
        };
        for name in &sections {
            let Some(section) = ini.section(Some(name.as_str())) else {
                continue;
            };
            for (k, v) in section.iter() {
                let key = match (k, v.trim_start().starts_with("restore_command=")) {
                    ("recovery-option", true) => "restore_command",
                    _ => match WAL_GET_OPTIONS.iter().find(|o| **o == k) {
                        Some(o) => *o,
                        None => continue,
                    },
                };
                found
                    .entry(key)
                    .or_insert_with(|| format!("{k} in [{name}] of {}", file.display()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_wal_settings_are_found_where_pgbackrest_reads_them() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pgbackrest.conf");
        let found = |text: &str| {
            std::fs::write(&f, text).unwrap();
            wal_get_settings(std::slice::from_ref(&f), "main")
        };
        assert!(found("[global]\nlog-level-file=info\n[other]\narchive-async=y\n").is_empty());
        let s = found("[main:archive-get]\narchive-get-queue-max=1GiB\n[global]\nspool-path=/s\n");
        assert_eq!(
            s.keys().copied().collect::<Vec<_>>(),
            ["archive-get-queue-max", "spool-path"]
        );
        assert!(s["spool-path"].starts_with("spool-path in [global] of "));
        let s = found("[global]\nrecovery-option=restore_command=/bin/true\n");
        assert!(s.contains_key("restore_command"));
    }

    #[test]
    fn the_main_config_is_found_where_pgbackrest_looks() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        assert_eq!(
            default_main_config(r),
            r.join("etc/pgbackrest/pgbackrest.conf")
        );
        std::fs::create_dir_all(r.join("etc/pgbackrest")).unwrap();
        std::fs::write(r.join("etc/pgbackrest.conf"), "[global]\n").unwrap(); // stock Debian 12
        assert_eq!(default_main_config(r), r.join("etc/pgbackrest.conf"));
        std::fs::write(r.join("etc/pgbackrest/pgbackrest.conf"), "").unwrap(); // pgBackRest's own
        assert_eq!(
            default_main_config(r),
            r.join("etc/pgbackrest/pgbackrest.conf")
        );
    }

    #[test]
    fn info_json_is_read_and_a_refused_store_is_an_error() {
        let ok = r#"[{"name":"main","status":{"code":0,"message":"ok"},"backup":[
            {"label":"20261121-010000F_20261122-010000I","timestamp":{"start":1763773200,"stop":1763773260}},
            {"label":"20261121-010000F","timestamp":{"start":1763686800,"stop":1763686900}}]}]"#;
        let b = parse_info(ok, "main").unwrap().backups;
        assert_eq!(
            b.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(),
            ["20261121-010000F", "20261121-010000F_20261122-010000I"]
        );
        let refused = r#"[{"name":"main","status":{"code":99,"message":"other: HTTP request failed with 403 (Forbidden)"},"backup":[]}]"#;
        let e = parse_info(refused, "main").unwrap_err().to_string();
        assert!(e.contains("status 99") && e.contains("403"), "{e}");
        assert!(parse_info(ok, "other").is_err());
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_at_least("2.59", (2, 59)));
        assert!(version_at_least("2.60.1", (2, 59)));
        assert!(version_at_least("3.0", (2, 59)));
        assert!(version_at_least("2.59dev", (2, 59)));
        assert!(!version_at_least("2.45", (2, 59)));
        assert!(!version_at_least("2.5", (2, 59)));
        assert!(!version_at_least("garbage", (2, 59)));
    }
}
