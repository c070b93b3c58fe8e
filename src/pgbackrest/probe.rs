//! Opening a stanza's repository before anything depends on it (`bridgerest check`): the
//! stanza as `refresh` would write it, read by `pgbackrest info` as the run-as user within
//! seconds, so that a store that cannot be reached, refuses the credentials or has no such
//! bucket is named with pgBackRest's own error before a restore or drill meets it.

use std::path::Path;

use super::child::{output_within, PROBE_IO_TIMEOUT, PROBE_LIMIT};
use super::{Error, RepoInfo, Result};
use crate::render::Stanza;
use crate::runas::RunAs;

/// Where pgBackRest reads the stanza from for the probe.
pub enum Files<'a> {
    /// bridgerest's file is one of the include path's: the probe reads `main` (when it
    /// exists) and the stanza in an include path of its own. Other files of the real include
    /// path are not read.
    Include { main: Option<&'a Path> },
    /// bridgerest's file is the main config: the probe reads the stanza as its main config.
    Main,
}

/// `pgbackrest info` of `stanza`, written as `text` (what refresh would write; it holds
/// secrets) into a temporary directory only bridgerest and `user`'s group can read.
pub async fn repository(
    bin: &Path,
    files: Files<'_>,
    stanza: &Stanza,
    text: &str,
    user: &RunAs,
) -> Result<RepoInfo> {
    let fs = |e: crate::fsutil::Error| Error::Output(e.to_string());
    let group = user.other_group();
    let dir = crate::fsutil::shared_tempdir("bridgerest-probe.", group).map_err(fs)?;
    let mut argv = vec![bin.to_string_lossy().into_owned()];
    match files {
        Files::Include { main } => {
            crate::fsutil::create_shared(&dir, "bridgerest.conf", text.as_bytes(), group)
                .map_err(fs)?;
            if let Some(m) = main {
                argv.push(format!("--config={}", m.display()));
            }
            argv.push(format!("--config-include-path={}", dir.path().display()));
        }
        Files::Main => {
            let conf =
                crate::fsutil::create_shared(&dir, "pgbackrest.conf", text.as_bytes(), group)
                    .map_err(fs)?;
            let none = dir.path().join("include");
            std::fs::create_dir(&none)
                .map_err(|e| Error::Output(format!("creating {}: {e}", none.display())))?;
            argv.push(format!("--config={}", conf.display()));
            argv.push(format!("--config-include-path={}", none.display()));
        }
    }
    argv.extend([
        format!("--stanza={}", stanza.name),
        PROBE_IO_TIMEOUT.to_string(),
        "--log-level-file=off".to_string(),
        "--output=json".to_string(),
        "info".to_string(),
    ]);
    let out = output_within(&argv, user, &[], Some(PROBE_LIMIT)).await?;
    if !out.status.success() {
        return Err(Error::Failed {
            what: "pgbackrest info".into(),
            status: out.status,
            stderr: crate::redact::apply(&crate::text::excerpt(
                String::from_utf8_lossy(&out.stderr).trim(),
                300,
            )),
        });
    }
    let json = String::from_utf8_lossy(&out.stdout);
    // Status 2, "no valid backups": the repository opened and holds the stanza, no backup yet.
    let empty = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| {
            let st = v
                .as_array()?
                .iter()
                .find(|s| s["name"] == stanza.name.as_str())?;
            Some(st["status"]["code"] == 2)
        })
        .unwrap_or(false);
    match empty {
        true => Ok(RepoInfo {
            backups: Vec::new(),
            archive_max: None,
            archive_id: None,
        }),
        false => super::parse_info(&json, &stanza.name),
    }
}

/// The store a stanza names, as a user finds it in the stanza (no secret: an Azure account
/// is one to pgBackRest, so it is left out).
pub fn endpoint(stanza: &Stanza) -> String {
    let get = |k: &str| {
        stanza
            .entries
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.text().to_string())
    };
    let port = get("repo1-storage-port").unwrap_or_else(|| "443".into());
    match get("repo1-type").as_deref() {
        Some("s3") => format!(
            "s3 bucket {} at {}:{port}",
            get("repo1-s3-bucket").unwrap_or_default(),
            get("repo1-storage-host")
                .or_else(|| get("repo1-s3-endpoint"))
                .unwrap_or_default()
        ),
        Some("azure") => format!(
            "azure container {} at {}:{port}",
            get("repo1-azure-container").unwrap_or_default(),
            get("repo1-storage-host")
                .or_else(|| get("repo1-azure-endpoint"))
                .unwrap_or_else(|| "blob.core.windows.net".into())
        ),
        Some("gcs") => format!(
            "gcs bucket {} at {}",
            get("repo1-gcs-bucket").unwrap_or_default(),
            get("repo1-gcs-endpoint").unwrap_or_else(|| "storage.googleapis.com".into())
        ),
        other => format!("a {} repository", other.unwrap_or("posix")),
    }
}
