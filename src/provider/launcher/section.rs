//! `[launcher]`: the keys of Launcher's config section, and their checks.

use std::path::PathBuf;

use reqwest::Url;
use serde::Deserialize;

use crate::provider::section::{invalid, parse_url, Credentials, SecretSpec};

/// Where the service key may be given instead of `key_file`.
pub const KEY_ENV: &str = "BRIDGEREST_LAUNCHER_KEY";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLauncher {
    pub url: Option<String>,
    pub key_file: Option<PathBuf>,
    pub db_username: Option<String>,
    pub db_password_file: Option<PathBuf>,
}

/// `[launcher]`: the Launcher platform API.
#[derive(Debug, Clone)]
pub struct LauncherConfig {
    /// The tenant's base URL (`https://plane.lnchr.cloud/<tenant>`); the API is under /api/v1.
    pub url: Url,
    /// The service key, sent as `x-lnchr-key` (or $BRIDGEREST_LAUNCHER_KEY, or the credential
    /// launcher-key).
    pub key_file: Option<PathBuf>,
    /// A role your databases have, which their clones keep: what a restored copy is connected
    /// to as (its way in, a drill at the provider). Launcher documents no connection fields
    /// and hands out no credentials, so bridgerest cannot learn one.
    pub db_username: Option<String>,
    /// Its password (or $BRIDGEREST_LAUNCHER_DB_PASSWORD, or the credential
    /// launcher-db-password).
    pub db_password_file: Option<PathBuf>,
}

/// `[launcher]` as the config registry reads it.
pub const SECTION: crate::provider::spec::SectionSpec = crate::provider::spec::SectionSpec {
    name: "launcher",
    parse,
};

/// Reads `[launcher]` out of the config text, checked; `None` when there is none.
fn parse(
    text: &str,
) -> Result<Option<crate::provider::spec::Section>, crate::provider::spec::SectionError> {
    #[derive(Deserialize)]
    struct Doc {
        launcher: Option<RawLauncher>,
    }
    let doc: Doc = toml::from_str(text)?;
    doc.launcher
        .map(|raw| resolve(raw).map(|c| std::sync::Arc::new(c) as crate::provider::spec::Section))
        .transpose()
        .map_err(crate::provider::spec::SectionError::Invalid)
}

/// Checks `[launcher]` (it has no default URL: each tenant has its own).
pub fn resolve(raw: RawLauncher) -> Result<LauncherConfig, String> {
    let Some(text) = raw.url else {
        invalid!("[launcher] has no url: set url = \"https://plane.lnchr.cloud/TENANT\" (your tenant's address; there is no default)");
    };
    Ok(LauncherConfig {
        url: parse_url("launcher.url", &text, "launcher.key_file")?,
        key_file: raw.key_file,
        db_username: raw.db_username,
        db_password_file: raw.db_password_file,
    })
}

impl LauncherConfig {
    /// Where the password of `db_username` is looked for.
    pub fn db_password(&self) -> SecretSpec<'_> {
        SecretSpec {
            what: "the password of [launcher] db_username",
            env: "BRIDGEREST_LAUNCHER_DB_PASSWORD",
            credential: "launcher-db-password",
            file: self.db_password_file.as_deref(),
            file_key: "launcher.db_password_file",
            get_one: "the password of the role in [launcher] db_username, which your databases (and so their clones) have",
        }
    }

    /// What the client signs with: the service key, sent as `x-lnchr-key`.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials::Header(
            "x-lnchr-key",
            SecretSpec {
                what: "the Launcher service key",
                env: KEY_ENV,
                credential: "launcher-key",
                file: self.key_file.as_deref(),
                file_key: "launcher.key_file",
                get_one: "a service key from Launcher (Settings → API keys)",
            },
        )
    }
}
