//! Secrets (the API key, the IONOS password or token, the Launcher key): where each is looked
//! for (the environment, a systemd credential, a file), and whether its file is private.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{ApiConfig, Error, Invalid, SecretSpec};

/// `return Err(Error::Secret(Invalid(format!(...))))`.
macro_rules! refuse {
    ($($t:tt)*) => { return Err(Error::Secret(Invalid(format!($($t)*)))) };
}

/// Where a secret was found, for messages (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env(&'static str),
    Credential(PathBuf),
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env(name) => write!(f, "${name}"),
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
            "the secret file {} is readable by every user (mode {:04o}): chmod 0600 {}",
            path.display(),
            mode & 0o7777,
            path.display()
        )
    })
}

/// Finds the API key: `$BRIDGEREST_API_KEY`, then `$CREDENTIALS_DIRECTORY/api-key`
/// (systemd `LoadCredential=`), then `api.key_file`.
pub fn load_api_key(api: &ApiConfig) -> Result<(SecretString, KeySource), Error> {
    load_secret(&crate::provider::bridge::api_key_spec(api))
}

/// Finds one secret as `spec` says. It must be one word (no whitespace inside).
pub fn load_secret(spec: &SecretSpec) -> Result<(SecretString, KeySource), Error> {
    let SecretSpec {
        what,
        env,
        credential,
        file_key,
        get_one,
        ..
    } = spec;
    if let Some(v) = std::env::var_os(env) {
        let v = v.to_string_lossy().trim().to_string();
        if v.is_empty() {
            refuse!("${env} is set but empty: put {what} in it, or unset it to use {file_key}");
        }
        crate::redact::register(&v);
        return Ok((SecretString::from(v), KeySource::Env(env)));
    }
    let cred = std::env::var_os("CREDENTIALS_DIRECTORY").map(|d| PathBuf::from(d).join(credential));
    let (path, source) = match (cred, spec.file) {
        (Some(c), _) if c.exists() => (c.clone(), KeySource::Credential(c)),
        (_, Some(f)) => (f.to_path_buf(), KeySource::File(f.to_path_buf())),
        (_, None) => refuse!(
            "no {}: set {file_key} in the config, or ${env}, or LoadCredential={credential}:... in the systemd unit",
            what.trim_start_matches("the ")
        ),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::SecretUnreadable {
        what,
        from: source.clone(),
        get_one,
        err: e,
    })?;
    if let Some(problem) = key_file_exposed(&path) {
        tracing::warn!("{problem}");
    }
    let key = text.trim();
    if key.is_empty() {
        refuse!("{what} in {source} is empty: write {get_one} into it");
    }
    if key.contains(char::is_whitespace) {
        refuse!("{what} in {source} contains whitespace: it must hold only the secret");
    }
    crate::redact::register(key);
    Ok((SecretString::from(key.to_string()), source))
}

/// Secret options by name, and where they were read.
pub type SecretOptions = (Vec<(String, SecretString)>, KeySource);

/// The secret options of a bucket (`drill.reports_secrets_file`, or the systemd credential
/// `reports-store`): a file of `key = "value"` lines, each value registered with the redactor
/// before anything can print it. `None`: neither is there (the environment may still have
/// what the store needs).
pub fn load_secret_options(file: Option<&Path>) -> Result<Option<SecretOptions>, Error> {
    let cred =
        std::env::var_os("CREDENTIALS_DIRECTORY").map(|d| PathBuf::from(d).join("reports-store"));
    let (path, source) = match (cred, file) {
        (Some(c), _) if c.exists() => (c.clone(), KeySource::Credential(c)),
        (_, Some(f)) => (f.to_path_buf(), KeySource::File(f.to_path_buf())),
        (_, None) => return Ok(None),
    };
    let what = "the bucket's secret options";
    let text = std::fs::read_to_string(&path).map_err(|e| Error::SecretUnreadable {
        what,
        from: source.clone(),
        get_one:
            "`key = \"value\"` lines of the store's secret options (e.g. aws_secret_access_key)",
        err: e,
    })?;
    if let Some(problem) = key_file_exposed(&path) {
        tracing::warn!("{problem}");
    }
    // The TOML parser's message may quote the line it stopped at, which may hold a secret:
    // only where it stopped is said.
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| format!(" (at byte {})", s.start))
            .unwrap_or_default();
        Error::Secret(Invalid(format!(
            "{what} in {source} are not `key = \"value\"` lines{at}: write one option per line, e.g. aws_secret_access_key = \"...\""
        )))
    })?;
    let mut out = Vec::new();
    for (k, v) in table {
        let Some(v) = v.as_str() else {
            refuse!("{what} in {source}: {k} is not a string: quote its value");
        };
        if v.trim().is_empty() {
            refuse!("{what} in {source}: {k} is empty");
        }
        crate::redact::register(v);
        out.push((k, SecretString::from(v.to_string())));
    }
    Ok(Some((out, source)))
}
