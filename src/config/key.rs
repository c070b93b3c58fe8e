//! The API key: where it is looked for (the environment, a systemd credential, the key file),
//! and whether its file is private.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use secrecy::SecretString;

use super::{ApiConfig, API_KEY_ENV};

/// Where the API key was found, for messages (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    Credential(PathBuf),
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => write!(f, "${API_KEY_ENV}"),
            KeySource::Credential(p) => write!(f, "systemd credential {}", p.display()),
            KeySource::File(p) => write!(f, "key file {}", p.display()),
        }
    }
}

/// Why the key file at `path` is not private, if it is readable by every user.
pub fn key_file_exposed(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mode = std::fs::metadata(path).ok()?.mode();
    (mode & 0o004 != 0).then(|| {
        format!(
            "the API key file {} is readable by every user (mode {:04o}): chmod 0600 {}",
            path.display(),
            mode & 0o7777,
            path.display()
        )
    })
}

/// Finds the API key: `$BRIDGEREST_API_KEY`, then `$CREDENTIALS_DIRECTORY/api-key`
/// (systemd `LoadCredential=`), then `api.key_file`.
pub fn load_api_key(api: &ApiConfig) -> Result<(SecretString, KeySource)> {
    if let Some(v) = std::env::var_os(API_KEY_ENV) {
        let v = v.to_string_lossy().trim().to_string();
        if v.is_empty() {
            bail!("${API_KEY_ENV} is set but empty: put the Crunchy Bridge API key in it, or unset it to use api.key_file");
        }
        return Ok((SecretString::from(v), KeySource::Env));
    }
    let cred = std::env::var_os("CREDENTIALS_DIRECTORY").map(|d| PathBuf::from(d).join("api-key"));
    let (path, source) = match (cred, &api.key_file) {
        (Some(c), _) if c.exists() => (c.clone(), KeySource::Credential(c)),
        (_, Some(f)) => (f.clone(), KeySource::File(f.clone())),
        (_, None) => bail!(
            "no API key: set api.key_file in the config, or ${API_KEY_ENV}, or LoadCredential=api-key:... in the systemd unit"
        ),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the API key from {source}: create it with the key from the Crunchy Bridge dashboard (Settings → API keys), mode 0600"))?;
    if let Some(problem) = key_file_exposed(&path) {
        tracing::warn!("{problem}");
    }
    let key = text.trim();
    if key.is_empty() {
        bail!("the API key in {source} is empty: write the Crunchy Bridge API key into it");
    }
    if key.contains(char::is_whitespace) {
        bail!("the API key in {source} contains whitespace: it must hold only the key");
    }
    Ok((SecretString::from(key.to_string()), source))
}
