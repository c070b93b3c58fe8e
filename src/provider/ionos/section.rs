//! `[ionos]`: the keys of IONOS's config section, and their checks.

use std::path::PathBuf;

use reqwest::Url;
use serde::Deserialize;

use crate::provider::section::{invalid, parse_url, Credentials, SecretSpec};

/// Where the IONOS password may be given instead of `password_file`.
pub const PASSWORD_ENV: &str = "BRIDGEREST_IONOS_PASSWORD";

/// The IONOS DBaaS PostgreSQL API's address.
pub const DEFAULT_URL: &str = "https://api.ionos.com/databases/postgresql";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawIonos {
    pub url: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
    pub db_username: Option<String>,
    pub db_password_file: Option<PathBuf>,
    pub datacenter_id: Option<String>,
    pub lan_id: Option<String>,
    pub cidr: Option<String>,
}

/// `[ionos]`: the IONOS Cloud DBaaS PostgreSQL API.
#[derive(Debug, Clone)]
pub struct IonosConfig {
    pub url: Url,
    /// Basic auth user name (with the password from $BRIDGEREST_IONOS_PASSWORD, the
    /// credential ionos-password, or password_file).
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A Bearer token file instead of Basic auth.
    pub token_file: Option<PathBuf>,
    /// The database user a cluster made by `restore --into` gets (IONOS requires one), and
    /// its password's file ($BRIDGEREST_IONOS_DB_PASSWORD, credential ionos-db-password).
    pub db_username: Option<String>,
    pub db_password_file: Option<PathBuf>,
    /// The default connection of a cluster made by `restore --into` (`--datacenter`, `--lan`,
    /// `--cidr` override each): a datacenter, a LAN in it, and a free address there.
    pub datacenter_id: Option<String>,
    pub lan_id: Option<String>,
    pub cidr: Option<String>,
    /// Whether the config has an `[ionos]` section.
    pub section: bool,
}

/// `[ionos]` as the config registry reads it.
pub const SECTION: crate::provider::spec::SectionSpec = crate::provider::spec::SectionSpec {
    name: "ionos",
    parse,
};

/// Reads `[ionos]` out of the config text, checked; `None` when there is none.
fn parse(
    text: &str,
) -> Result<Option<crate::provider::spec::Section>, crate::provider::spec::SectionError> {
    #[derive(Deserialize)]
    struct Doc {
        ionos: Option<RawIonos>,
    }
    let doc: Doc = toml::from_str(text)?;
    let Some(raw) = doc.ionos else {
        return Ok(None);
    };
    let mut cfg = resolve(raw).map_err(crate::provider::spec::SectionError::Invalid)?;
    cfg.section = true;
    Ok(Some(std::sync::Arc::new(cfg)))
}

/// Checks `[ionos]` (what is missing or contradictory is named).
pub fn resolve(raw: RawIonos) -> Result<IonosConfig, String> {
    let url = parse_url(
        "ionos.url",
        raw.url.as_deref().unwrap_or(DEFAULT_URL),
        "ionos.password_file or ionos.token_file",
    )?;
    if raw.token_file.is_some() && (raw.username.is_some() || raw.password_file.is_some()) {
        invalid!("[ionos] sets token_file and also username/password_file: use either a token (Bearer) or a user name and password (Basic), not both");
    }
    if raw.password_file.is_some() && raw.username.is_none() {
        invalid!("[ionos] sets password_file but no username: add username = \"the IONOS login (e-mail)\"");
    }
    if raw
        .username
        .as_deref()
        .is_some_and(|u| u.is_empty() || u.contains([':', '\n', '\r']))
    {
        invalid!("ionos.username must be a non-empty login without ':' or line breaks");
    }
    if let Some(c) = &raw.cidr {
        super::check_cidr(c).map_err(|e| format!("ionos.cidr = {e}"))?;
    }
    for (key, v) in [
        ("ionos.datacenter_id", &raw.datacenter_id),
        ("ionos.lan_id", &raw.lan_id),
    ] {
        if v.as_deref()
            .is_some_and(|v| v.trim().is_empty() || v.chars().any(char::is_control))
        {
            invalid!("{key} is empty: give the id IONOS shows for it (the Cloud API's datacenter or LAN id)");
        }
    }
    Ok(IonosConfig {
        url,
        username: raw.username,
        password_file: raw.password_file,
        token_file: raw.token_file,
        db_username: raw.db_username,
        db_password_file: raw.db_password_file,
        datacenter_id: raw.datacenter_id,
        lan_id: raw.lan_id,
        cidr: raw.cidr,
        section: false,
    })
}

impl IonosConfig {
    /// What the client signs with: `token_file` (Bearer), else `username` and its password
    /// (Basic); `None` when the section gives neither.
    pub fn credentials(&self) -> Option<Credentials<'_>> {
        match (&self.token_file, &self.username) {
            (Some(f), _) => Some(Credentials::Bearer(SecretSpec {
                what: "the IONOS token",
                env: "BRIDGEREST_IONOS_TOKEN",
                credential: "ionos-token",
                file: Some(f),
                file_key: "ionos.token_file",
                get_one: "a token from the IONOS DCD (Token Manager) or `ionosctl token generate`",
            })),
            (None, Some(user)) => Some(Credentials::Basic {
                user: user.clone(),
                password: SecretSpec {
                    what: "the IONOS password",
                    env: PASSWORD_ENV,
                    credential: "ionos-password",
                    file: self.password_file.as_deref(),
                    file_key: "ionos.password_file",
                    get_one: "the password of the IONOS user in [ionos] username",
                },
            }),
            (None, None) => None,
        }
    }

    /// Where the password of the database user a restored cluster gets is looked for.
    pub fn db_password(&self) -> SecretSpec<'_> {
        SecretSpec {
            what: "the new IONOS cluster's database password",
            env: "BRIDGEREST_IONOS_DB_PASSWORD",
            credential: "ionos-db-password",
            file: self.db_password_file.as_deref(),
            file_key: "ionos.db_password_file",
            get_one: "the password the restored cluster's database user (ionos.db_username) gets",
        }
    }
}
