//! Pure rendering: backup tokens → pgBackRest stanzas → the text of the file bridgerest writes.
//! No I/O here. Every line bridgerest adds to a file starts `# bridgerest:` or is an option of
//! a stanza it owns, so a file it shares with the user can be merged again without loss.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::provider::{BackupToken, GcsCredential, GcsStore, Store};

/// First line of a file bridgerest owns whole.
pub const OWNED_HEADER: &str =
    "# bridgerest: generated file, do not edit: it is rewritten on every refresh.";
/// First line bridgerest puts in a file it shares with the user (the main pgbackrest.conf).
pub const MERGED_HEADER: &str =
    "# bridgerest: keeps the repository options of the stanzas marked below up to date; the rest of this file is yours.";
const MARK: &str = "# bridgerest:";
pub const REDACTED: &str = crate::redact::REDACTED;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("option \"{key}\" in [cluster.options] clashes with {key} that bridgerest renders from the backup token; remove it from the config")]
    OptionClash { key: String },
    #[error("stanza \"{stanza}\" is also used by cluster {other}; set a distinct `stanza` for one of them in the config")]
    StanzaClash { stanza: String, other: String },
    #[error("the backup token carries no GCS credential (Bridge documents none for GCP clusters): give this cluster a service-account key in its [cluster.options]: \"repo1-gcs-key-type\" = \"service\" and \"repo1-gcs-key\" = \"/etc/bridgerest/gcs-key.json\" (a key file pgBackRest's user can read)")]
    NoGcsCredential,
    #[error("the existing file is not valid INI ({0}); fix or remove it first")]
    BadExisting(String),
    #[error("stanza \"{stanza}\" is a section bridgerest did not write in {file}: bridgerest changes only sections it marked as its own; set `stanza = \"...\"` (another name) in this cluster's [[cluster]] entry, or remove that section")]
    UserSection { stanza: String, file: String },
    #[error("stanza \"{stanza}\" is bridgerest's section for cluster {other} in {file}, which this config does not manage: set `stanza = \"...\"` (another name) in this cluster's [[cluster]] entry")]
    OtherCluster {
        stanza: String,
        other: String,
        file: String,
    },
}

/// One option's value in a stanza: a secret (a key, a token, a SAS) is typed as one where it
/// enters (rendered from a token, or read back under a secret option's name), so it is
/// redacted by its type: its `Debug` shows no text, and [`Stanza::secret_values`] and the
/// redacted file are made from it. Two values are equal when their text is (what pgBackRest
/// reads does not depend on where it came from).
#[derive(Clone)]
pub enum Value {
    Plain(String),
    Secret(SecretString),
}

impl Value {
    /// `text` as the value of `key`: a secret if `key` is a secret option ([`is_secret_key`]).
    pub fn of(key: &str, text: &str) -> Value {
        match is_secret_key(key) {
            true => Value::Secret(text.to_string().into()),
            false => Value::Plain(text.to_string()),
        }
    }

    /// The text as written to the file (a secret's too: callers that show it redact first).
    pub fn text(&self) -> &str {
        match self {
            Value::Plain(t) => t,
            Value::Secret(s) => s.expose_secret(),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Value::Secret(_))
    }
}

/// For tests' expected values (compared by text): production code says which kind it makes.
#[cfg(test)]
impl From<&str> for Value {
    fn from(t: &str) -> Value {
        Value::Plain(t.to_string())
    }
}

impl PartialEq for Value {
    fn eq(&self, o: &Value) -> bool {
        self.text() == o.text()
    }
}
impl Eq for Value {}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Plain(t) => t.fmt(f),
            Value::Secret(_) => f.write_str(REDACTED),
        }
    }
}

/// One rendered stanza. Values include secrets: Debug shows only names and keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Stanza {
    pub name: String,
    pub cluster_id: String,
    /// Said after the cluster id in the `# bridgerest: cluster` line.
    pub note: String,
    pub entries: Vec<(String, Value)>,
    /// Files the stanza refers to that must exist before it is written (a GCS service key).
    pub files: Vec<SideFile>,
    /// When its credentials stop working, if the token says (see [`BackupToken::expires_at`]).
    pub expires_at: Option<time::OffsetDateTime>,
    /// The store type (`s3`, `azure`, `gcs`) of a stanza rendered from a token; `None` for one
    /// read back from a file.
    pub kind: Option<&'static str>,
}

impl Stanza {
    /// The values of its secret options (and a `Bearer` token's bare form), for redaction.
    pub fn secret_values(&self) -> impl Iterator<Item = String> + '_ {
        self.entries
            .iter()
            .filter(|(_, v)| v.is_secret())
            .flat_map(|(_, v)| {
                let v = v.text();
                let bare = v.strip_prefix("Bearer ").map(str::to_string);
                std::iter::once(v.to_string()).chain(bare)
            })
    }
}

#[derive(Clone)]
pub struct SideFile {
    pub path: PathBuf,
    pub contents: SecretString,
}

impl PartialEq for SideFile {
    fn eq(&self, o: &Self) -> bool {
        self.path == o.path && self.contents.expose_secret() == o.contents.expose_secret()
    }
}
impl Eq for SideFile {}

impl std::fmt::Debug for SideFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Stanza {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Stanza")
            .field("name", &self.name)
            .field("cluster_id", &self.cluster_id)
            .field("keys", &keys)
            .finish()
    }
}

/// Option names whose values are secrets: every option pgBackRest marks secure (it refuses them
/// on the command line), for any repository index, plus the internal `cipher-pass`.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.trim();
    let option = key
        .strip_prefix("repo")
        .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
        .and_then(|r| r.strip_prefix('-'))
        .unwrap_or(key);
    matches!(
        option,
        "s3-key"
            | "s3-key-secret"
            | "s3-token"
            | "s3-sse-customer-key"
            | "azure-account"
            | "azure-key"
            | "gcs-key"
            | "cipher-pass"
            | "sftp-private-key-passphrase"
            | "host-key"
    )
}

/// `text` with the value of every secret option (by name, whatever section or file it is in)
/// replaced by [`REDACTED`].
pub fn redact_options(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.split_once('=') {
            Some((k, _)) if !line.trim_start().starts_with('#') && is_secret_key(k) => {
                out.push_str(k);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Where a cluster's GCS service-account key is written: beside the config, 0600, own file.
pub fn gcs_key_path(out_dir: &Path, stanza: &str) -> PathBuf {
    out_dir.join(format!("{stanza}.gcs-key.json"))
}

/// The keys a token-derived stanza owns (the user may not set them in [cluster.options]). A GCS
/// token without a credential leaves the key and its type to the user.
fn token_keys(store: &Store) -> &'static [&'static str] {
    if let Store::Gcs(GcsStore {
        credential: None, ..
    }) = store
    {
        return &["repo1-type", "repo1-path", "repo1-gcs-bucket"];
    }
    match store {
        Store::S3(_) => &[
            "repo1-type",
            "repo1-path",
            "repo1-s3-bucket",
            "repo1-s3-region",
            "repo1-s3-key",
            "repo1-s3-key-secret",
            "repo1-s3-token",
            "repo1-s3-kms-key-id",
            "repo1-s3-key-type",
            "repo1-s3-process-cmd",
        ],
        Store::Azure(_) => &[
            "repo1-type",
            "repo1-path",
            "repo1-azure-account",
            "repo1-azure-container",
            "repo1-azure-key",
            "repo1-azure-key-type",
        ],
        Store::Gcs(_) => &[
            "repo1-type",
            "repo1-path",
            "repo1-gcs-bucket",
            "repo1-gcs-key",
            "repo1-gcs-key-type",
        ],
    }
}

#[derive(Debug, Clone)]
/// A `[[cluster]]` of Crunchy Bridge: its id, data directory, stanza name and options.
pub struct ClusterConfig {
    pub id: String,
    pub pg1_path: std::path::PathBuf,
    /// Section name to use instead of the token's `stanza`.
    pub stanza: Option<String>,
    /// Extra pgBackRest options, verbatim; a list value renders one line per item.
    pub options: std::collections::BTreeMap<String, Vec<String>>,
}

/// Renders one cluster's stanza from its token: token-derived options, defaults the user may
/// override (the S3 endpoint), then the cluster's own options. With `s3_process_cmd`, an S3
/// stanza names that command (pgBackRest 2.59+ runs it for credentials) instead of holding keys.
pub fn stanza(
    cluster: &ClusterConfig,
    token: &BackupToken,
    out_dir: &Path,
    s3_process_cmd: Option<&[String]>,
) -> Result<Stanza, RenderError> {
    let name = cluster
        .stanza
        .clone()
        .unwrap_or_else(|| token.stanza.clone());
    for key in token_keys(&token.store) {
        if cluster.options.contains_key(*key) {
            return Err(RenderError::OptionClash {
                key: (*key).to_string(),
            });
        }
    }
    let mut e: Vec<(String, Value)> = Vec::new();
    let mut put = |k: &str, v: &str| e.push((k.to_string(), Value::of(k, v)));
    put("pg1-path", &cluster.pg1_path.to_string_lossy());
    put("repo1-type", token.store.kind());
    put("repo1-path", &token.repo_path);
    let mut files = Vec::new();
    match &token.store {
        Store::S3(s) => {
            put("repo1-s3-bucket", &s.bucket);
            put("repo1-s3-region", &s.region);
            if !cluster.options.contains_key("repo1-s3-endpoint") {
                put(
                    "repo1-s3-endpoint",
                    &format!("s3.{}.amazonaws.com", s.region),
                );
            }
            match s3_process_cmd {
                Some(argv) => {
                    put("repo1-s3-key-type", "process");
                    for arg in argv {
                        put("repo1-s3-process-cmd", arg);
                    }
                }
                None => {
                    put("repo1-s3-key", s.key.expose_secret());
                    put("repo1-s3-key-secret", s.key_secret.expose_secret());
                    put("repo1-s3-token", s.token.expose_secret());
                }
            }
            if let Some(kms) = &s.kms_key_id {
                put("repo1-s3-kms-key-id", kms);
            }
        }
        Store::Azure(a) => {
            put("repo1-azure-account", a.account.expose_secret());
            put("repo1-azure-container", &a.container);
            put("repo1-azure-key-type", a.key_type.as_str());
            put("repo1-azure-key", a.key.expose_secret());
        }
        Store::Gcs(g) => {
            put("repo1-gcs-bucket", &g.bucket);
            match &g.credential {
                None => {
                    let key_type = cluster
                        .options
                        .get("repo1-gcs-key-type")
                        .and_then(|v| v.first())
                        .map(String::as_str);
                    let has_key = cluster.options.contains_key("repo1-gcs-key");
                    match key_type {
                        Some("auto") => {}
                        Some(_) if has_key => {}
                        _ => return Err(RenderError::NoGcsCredential),
                    }
                }
                Some(GcsCredential::Token(t)) => {
                    put("repo1-gcs-key-type", "token");
                    let t = t.expose_secret();
                    if t.starts_with("Bearer ") {
                        put("repo1-gcs-key", t);
                    } else {
                        put("repo1-gcs-key", &format!("Bearer {t}"));
                    }
                }
                Some(GcsCredential::ServiceKey(k)) => {
                    let path = gcs_key_path(out_dir, &name);
                    put("repo1-gcs-key-type", "service");
                    put("repo1-gcs-key", &path.to_string_lossy());
                    files.push(SideFile {
                        path,
                        contents: k.clone(),
                    });
                }
            }
        }
    }
    for (k, values) in &cluster.options {
        for v in values {
            put(k, v);
        }
    }
    Ok(Stanza {
        name,
        cluster_id: cluster.id.clone(),
        note: format!("{} repository, token {}", token.store.kind(), token.id),
        entries: e,
        files,
        expires_at: token.expires_at,
        kind: Some(token.store.kind()),
    })
}

/// Renders the stanza of a repository the user configured in `[cluster.options]`: `pg1-path`,
/// then the options as written (no token, nothing that expires). Its store type is the
/// `repo1-type` the options give (pgBackRest's default, `posix`, when they give none).
pub fn options_stanza(cluster: &ClusterConfig) -> Stanza {
    let mut entries = vec![(
        "pg1-path".to_string(),
        Value::Plain(cluster.pg1_path.to_string_lossy().into_owned()),
    )];
    for (k, values) in &cluster.options {
        entries.extend(values.iter().map(|v| (k.clone(), Value::of(k, v))));
    }
    let kind = match cluster
        .options
        .get("repo1-type")
        .and_then(|v| v.first())
        .map(String::as_str)
    {
        Some("s3") => "s3",
        Some("azure") => "azure",
        Some("gcs") => "gcs",
        Some("sftp") => "sftp",
        Some("cifs") => "cifs",
        _ => "posix",
    };
    Stanza {
        name: cluster.stanza.clone().unwrap_or_else(|| cluster.id.clone()),
        cluster_id: cluster.id.clone(),
        note: format!("{kind} repository, options from the config"),
        entries,
        files: vec![],
        expires_at: None,
        kind: Some(kind),
    }
}

/// The text of a file bridgerest owns whole.
pub fn owned_file(stanzas: &[Stanza], source: &Path, redact: bool) -> String {
    let mut out = String::new();
    out.push_str(OWNED_HEADER);
    out.push('\n');
    out.push_str(&format!("{MARK} change {} instead.\n", source.display()));
    for s in stanzas {
        out.push('\n');
        push_stanza(&mut out, s, redact);
    }
    if redact {
        out = redact_options(&out);
    }
    out
}

fn push_stanza(out: &mut String, s: &Stanza, redact: bool) {
    out.push_str(&format!(
        "{MARK} cluster {} ({})\n[{}]\n",
        s.cluster_id, s.note, s.name
    ));
    for (k, v) in &s.entries {
        let v = match redact && v.is_secret() {
            true => REDACTED,
            false => v.text(),
        };
        out.push_str(&format!("{k}={v}\n"));
    }
}

mod merge;
pub use merge::*;

#[cfg(test)]
mod tests;
