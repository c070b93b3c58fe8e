//! The configuration file as serde reads it: every table and key, unknown ones refused by name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// bridgerest's own tables; a provider's table (`[ionos]`) is its folder's to read
/// (`Spec::section`), and any other is refused by name (`config::parse`: serde cannot deny
/// unknown fields beside a flattened map).
#[derive(Debug, Deserialize, Default)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) api: RawApi,
    #[serde(default)]
    pub(super) pgbackrest: RawPgbackrest,
    #[serde(default)]
    pub(super) daemon: RawDaemon,
    pub(super) drill: Option<RawDrill>,
    #[serde(default, rename = "cluster")]
    pub(super) clusters: Vec<RawCluster>,
    /// Every other top-level key: a provider's table, or a mistake.
    #[serde(flatten)]
    pub(super) other: BTreeMap<String, serde::de::IgnoredAny>,
}

/// bridgerest's own top-level tables, as an unknown key's message lists them.
pub(super) const OWN_TABLES: [&str; 5] = ["api", "pgbackrest", "daemon", "drill", "cluster"];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    pub(super) schedule: Option<String>,
    pub(super) refresh_at: Option<f64>,
    pub(super) retry_max: Option<String>,
    pub(super) status_file: Option<PathBuf>,
    pub(super) prometheus_textfile: Option<PathBuf>,
    pub(super) max_backup_age: Option<String>,
}

/// `drill.amcheck`: true or false, or a depth by name.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawAmcheck {
    On(bool),
    Depth(String),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDrill {
    pub(super) schedule: Option<String>,
    pub(super) scratch: Option<PathBuf>,
    pub(super) amcheck: Option<RawAmcheck>,
    pub(super) verify: Option<bool>,
    pub(super) verify_every: Option<u32>,
    pub(super) queries: Option<Vec<String>>,
    pub(super) database: Option<String>,
    pub(super) target: Option<String>,
    pub(super) reports: Option<PathBuf>,
    pub(super) keep_reports: Option<usize>,
    pub(super) max_age: Option<String>,
    pub(super) preload: Option<Vec<String>>,
    pub(super) timeout: Option<String>,
    pub(super) provider_copies: Option<usize>,
    pub(super) at_provider: Option<bool>,
    pub(super) copy_plan: Option<String>,
    pub(super) copy_storage: Option<u32>,
    pub(super) push_url: Option<String>,
    pub(super) push_user: Option<String>,
    pub(super) push_password_file: Option<PathBuf>,
    pub(super) reports_url: Option<String>,
    pub(super) reports_options: Option<BTreeMap<String, String>>,
    pub(super) reports_secrets_file: Option<PathBuf>,
    pub(super) reports_ca_file: Option<PathBuf>,
    pub(super) signing_key: Option<PathBuf>,
    pub(super) rto: Option<String>,
    pub(super) command: Option<RawCommand>,
    pub(super) command_timeout: Option<String>,
}

/// `drill.command`: an argv array; a string is read to be refused with the argv form named.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawCommand {
    Argv(Vec<String>),
    Line(String),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    pub(super) url: Option<String>,
    pub(super) key_file: Option<PathBuf>,
    pub(super) concurrency: Option<usize>,
    pub(super) timeout: Option<String>,
    pub(super) retries: Option<u32>,
    pub(super) retry_base: Option<String>,
    pub(super) token_lifetime: Option<String>,
    pub(super) wait_timeout: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPgbackrest {
    pub(super) config: Option<PathBuf>,
    pub(super) owner: Option<String>,
    pub(super) group: Option<String>,
    pub(super) mode: Option<RawMode>,
    pub(super) bin: Option<PathBuf>,
    pub(super) main_config: Option<PathBuf>,
    pub(super) include_path: Option<PathBuf>,
    pub(super) s3_key_type: Option<String>,
    pub(super) lock_timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawMode {
    Int(u32),
    Str(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) provider: Option<String>,
    pub(super) id: String,
    pub(super) pg1_path: Option<PathBuf>,
    pub(super) stanza: Option<String>,
    pub(super) rto: Option<String>,
    pub(super) command: Option<RawCommand>,
    #[serde(default)]
    pub(super) options: BTreeMap<String, toml::Value>,
}
