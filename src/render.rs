//! Pure rendering: backup tokens → pgBackRest stanzas → the text of the file bridgerest writes.
//! No I/O here. Every line bridgerest adds to a file starts `# bridgerest:` or is an option of
//! a stanza it owns, so a file it shares with the user can be merged again without loss.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use ini::{Ini, ParseOption};
use secrecy::{ExposeSecret, SecretString};

use crate::config::ClusterConfig;
use crate::provider::{BackupToken, GcsCredential, GcsStore, Store};

/// First line of a file bridgerest owns whole.
pub const OWNED_HEADER: &str =
    "# bridgerest: generated file, do not edit: it is rewritten on every refresh.";
/// First line bridgerest puts in a file it shares with the user (the main pgbackrest.conf).
pub const MERGED_HEADER: &str =
    "# bridgerest: keeps the repository options of the stanzas marked below up to date; the rest of this file is yours.";
const MARK: &str = "# bridgerest:";
pub const REDACTED: &str = "[redacted]";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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

/// One rendered stanza. Values include secrets: Debug shows only names and keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Stanza {
    pub name: String,
    pub cluster_id: String,
    /// Said after the cluster id in the `# bridgerest: cluster` line.
    pub note: String,
    pub entries: Vec<(String, String)>,
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
            .filter(|(k, _)| is_secret_key(k))
            .flat_map(|(_, v)| {
                let bare = v.strip_prefix("Bearer ").map(str::to_string);
                std::iter::once(v.clone()).chain(bare)
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
    let mut e: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: &str| e.push((k.to_string(), v.to_string()));
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
        let v = if redact && is_secret_key(k) {
            REDACTED
        } else {
            v
        };
        out.push_str(&format!("{k}={v}\n"));
    }
}

/// How bridgerest treats an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The file is bridgerest's (a conf.d file): rewritten whole.
    Owned,
    /// The file is shared with the user: only bridgerest's stanzas' repository options change.
    Merged,
}

/// Decides the mode: a file bridgerest generated is owned; any other existing file, and a new
/// file named `pgbackrest.conf`, is merged so nothing the user wrote is lost.
pub fn mode_for(path: &Path, existing: Option<&str>) -> Mode {
    match existing {
        Some(text) if text.lines().next() == Some(OWNED_HEADER) => Mode::Owned,
        Some(text)
            if text.trim().is_empty() && path.file_name() != Some("pgbackrest.conf".as_ref()) =>
        {
            Mode::Owned
        }
        Some(_) => Mode::Merged,
        None if path.file_name() == Some("pgbackrest.conf".as_ref()) => Mode::Merged,
        None => Mode::Owned,
    }
}

fn parse_ini(text: &str) -> Result<Ini, RenderError> {
    let opt = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ParseOption::default()
    };
    Ini::load_from_str_opt(text, opt).map_err(|e| RenderError::BadExisting(e.to_string()))
}

/// One section of a file as pgBackRest reads it, with the cluster bridgerest marked it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The cluster id of the `# bridgerest: cluster ID` line right before the header, if any.
    pub marked_for: Option<String>,
    /// `key=value` lines, split at the first '=': the key trimmed, the value exactly as written
    /// (rust-ini would join a line ending in '\\' to the next and trim the value).
    pub entries: Vec<(String, String)>,
}

/// Every section of `text`, in order (a file rust-ini cannot read is refused first).
pub fn sections(text: &str) -> Result<Vec<Section>, RenderError> {
    parse_ini(text)?;
    let mut out: Vec<Section> = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(&format!("{MARK} cluster ")) {
            pending = rest.split_whitespace().next().map(str::to_string);
            continue;
        }
        let trimmed = line.trim();
        if let Some(sec) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(Section {
                name: sec.to_string(),
                marked_for: pending.take(),
                entries: vec![],
            });
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let (Some(sec), Some((k, v))) = (out.last_mut(), line.split_once('=')) {
            sec.entries.push((k.trim().to_string(), v.to_string()));
        }
    }
    Ok(out)
}

/// The stanzas bridgerest wrote into an existing file, by cluster id, values exactly as written.
pub fn previous_stanzas(text: &str) -> Result<HashMap<String, Stanza>, RenderError> {
    Ok(sections(text)?
        .into_iter()
        .filter_map(|sec| {
            let id = sec.marked_for?;
            Some((
                id.clone(),
                Stanza {
                    name: sec.name,
                    cluster_id: id,
                    note: "kept from the last good refresh".into(),
                    entries: sec.entries,
                    files: vec![],
                    expires_at: None,
                    kind: None,
                },
            ))
        })
        .collect())
}

/// Why `stanza` (fresh for `cluster`) may not be written into the existing file: a section of
/// that name that bridgerest did not mark, or marked for another cluster.
pub fn section_clash(
    existing: &[Section],
    stanza: &str,
    cluster: &str,
    file: &Path,
) -> Option<RenderError> {
    let sec = existing.iter().find(|s| s.name == stanza)?;
    match &sec.marked_for {
        None => Some(RenderError::UserSection {
            stanza: stanza.to_string(),
            file: file.display().to_string(),
        }),
        Some(other) if other != cluster => Some(RenderError::OtherCluster {
            stanza: stanza.to_string(),
            other: other.clone(),
            file: file.display().to_string(),
        }),
        Some(_) => None,
    }
}

/// Options bridgerest owns in a stanza it maintains in a shared file: everything it renders now,
/// plus every repository-1 location or credential option (so a store change leaves nothing stale).
fn owned_in_merge(key: &str, rendered: &HashSet<&str>) -> bool {
    rendered.contains(key)
        || key == "pg1-path"
        || key == "repo1-type"
        || key == "repo1-path"
        || ["repo1-s3-", "repo1-azure-", "repo1-gcs-"]
            .iter()
            .any(|p| key.starts_with(p))
}

/// Merges bridgerest's stanzas into a file the user shares: every line outside them is kept as
/// it was, comments included; in its stanzas, lines bridgerest owns are replaced. Stanzas of
/// clusters that failed (`kept`) are left exactly as they are, and so are the marks of sections
/// another bridgerest config keeps here. A section bridgerest marked for a cluster that now has
/// a stanza of another name (a rename) loses the options bridgerest owns, and goes if nothing
/// the user wrote is left in it. With `redact`, every secret option's value is hidden.
pub fn merged_file(
    existing: &str,
    fresh: &[Stanza],
    kept: &[(String, String)],
    redact: bool,
) -> Result<String, RenderError> {
    parse_ini(existing)?; // refuse to rewrite a file pgBackRest could not read either
    let by_name: BTreeMap<&str, &Stanza> = fresh.iter().map(|s| (s.name.as_str(), s)).collect();
    let renamed: HashSet<&str> = fresh.iter().map(|s| s.cluster_id.as_str()).collect();
    let kept_by_name: HashMap<&str, &str> = kept
        .iter()
        .map(|(id, name)| (name.as_str(), id.as_str()))
        .collect();
    enum Current<'a> {
        Other,
        Replaced(HashSet<&'a str>),
        /// A renamed stanza's old section: its header and the user's lines in it.
        Retired(String, Vec<String>),
    }
    fn flush(out: &mut String, current: &mut Current) {
        if let Current::Retired(header, lines) = std::mem::replace(current, Current::Other) {
            if lines
                .iter()
                .any(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
            {
                out.push_str(&header);
                out.push('\n');
                for l in lines {
                    out.push_str(&l);
                    out.push('\n');
                }
            }
        }
    }
    let no_keys = HashSet::new();
    let mut out = String::new();
    out.push_str(MERGED_HEADER);
    out.push('\n');
    let mut seen: HashSet<&str> = HashSet::new();
    let mut current = Current::Other;
    let mut mark: Option<&str> = None; // a `# bridgerest: cluster` line waiting for its header
    for line in existing.lines() {
        if line.starts_with(MARK) {
            mark = line.strip_prefix(&format!("{MARK} cluster ")).map(|_| line);
            continue;
        }
        let trimmed = line.trim();
        if let Some(sec) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            flush(&mut out, &mut current);
            let marked_for = mark.take().and_then(|m| {
                let id = m.strip_prefix(&format!("{MARK} cluster "))?;
                Some((id.split_whitespace().next()?, m))
            });
            if let Some(s) = by_name.get(sec) {
                seen.insert(s.name.as_str());
                push_stanza(&mut out, s, false);
                current = Current::Replaced(s.entries.iter().map(|(k, _)| k.as_str()).collect());
                continue;
            }
            if let Some(id) = kept_by_name.get(sec) {
                out.push_str(&format!(
                    "{MARK} cluster {id} (kept from the last good refresh)\n"
                ));
            } else if let Some((id, mark_line)) = marked_for {
                if renamed.contains(id) {
                    current = Current::Retired(line.to_string(), vec![]);
                    continue;
                }
                out.push_str(mark_line);
                out.push('\n');
            }
        } else {
            let key = trimmed.split('=').next().unwrap_or("").trim();
            let owned = |rendered: &HashSet<&str>| {
                !trimmed.starts_with('#') && !key.is_empty() && owned_in_merge(key, rendered)
            };
            match &mut current {
                Current::Replaced(rendered) if owned(rendered) => continue,
                Current::Retired(_, lines) => {
                    if !owned(&no_keys) {
                        lines.push(line.to_string());
                    }
                    continue;
                }
                _ => {}
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    flush(&mut out, &mut current);
    for s in fresh.iter().filter(|s| !seen.contains(s.name.as_str())) {
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        push_stanza(&mut out, s, false);
    }
    Ok(if redact { redact_options(&out) } else { out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{AzureKeyType, AzureStore, GcsStore, S3Store};

    fn cluster(opts: &[(&str, &str)]) -> ClusterConfig {
        ClusterConfig {
            id: "rvf73a77ozfsvcttryebfrnlem".into(),
            pg1_path: "/var/lib/postgresql/15/main".into(),
            stanza: None,
            options: opts
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
        }
    }

    fn token(store: Store) -> BackupToken {
        BackupToken {
            id: "agaqf6fanse45vspjcctakuyky".into(),
            cluster_id: "rvf73a77ozfsvcttryebfrnlem".into(),
            team_id: "eaevtjiudzeq7bsqbbpiscund4".into(),
            repo_path: "/the-path".into(),
            stanza: "2qc6yv2ztfcw7a7yoripu4zlsm".into(),
            store,
            expires_at: None,
        }
    }

    fn s3(kms: Option<&str>) -> Store {
        Store::S3(S3Store {
            bucket: "the-bucket".into(),
            region: "us-west-1".into(),
            key: "AKIAEXAMPLEKEY".to_string().into(),
            key_secret: "s3-secret-value".to_string().into(),
            token: "s3-session-token".to_string().into(),
            kms_key_id: kms.map(str::to_string),
        })
    }

    fn azure(kind: AzureKeyType) -> Store {
        Store::Azure(AzureStore {
            account: "acct".to_string().into(),
            container: "the-container".into(),
            key: "se=2026-11-23T00%3A00%3A00Z&sp=rl&sig=abc%3D"
                .to_string()
                .into(),
            key_type: kind,
        })
    }

    fn out() -> &'static Path {
        Path::new("/etc/pgbackrest/conf.d")
    }

    #[test]
    fn s3_stanza() {
        let s = stanza(
            &cluster(&[]),
            &token(s3(Some("arn:aws:kms:key/1"))),
            out(),
            None,
        )
        .unwrap();
        insta::assert_snapshot!(owned_file(
            std::slice::from_ref(&s),
            Path::new("/etc/bridgerest/bridgerest.toml"),
            true
        ));
        let plain = owned_file(&[s], Path::new("/etc/bridgerest/bridgerest.toml"), false);
        for line in [
            "repo1-s3-key=AKIAEXAMPLEKEY\n",
            "repo1-s3-key-secret=s3-secret-value\n",
            "repo1-s3-token=s3-session-token\n",
        ] {
            assert!(plain.contains(line), "{line} missing");
        }
    }

    #[test]
    fn s3_process_keys_name_the_command_not_the_keys() {
        let argv: Vec<String> = [
            "/usr/bin/bridgerest",
            "--config=/etc/b.toml",
            "credential-process",
            "--cluster=2qc6yv2ztfcw7a7yoripu4zlsm",
        ]
        .map(String::from)
        .to_vec();
        let s = stanza(&cluster(&[]), &token(s3(None)), out(), Some(&argv)).unwrap();
        let plain = owned_file(
            std::slice::from_ref(&s),
            Path::new("/etc/bridgerest/bridgerest.toml"),
            false,
        );
        assert!(plain.contains("repo1-s3-key-type=process\nrepo1-s3-process-cmd=/usr/bin/bridgerest\nrepo1-s3-process-cmd=--config=/etc/b.toml\nrepo1-s3-process-cmd=credential-process\nrepo1-s3-process-cmd=--cluster=2qc6yv2ztfcw7a7yoripu4zlsm\n"), "{plain}");
        for secret in ["AKIAEXAMPLEKEY", "s3-secret-value", "s3-session-token"] {
            assert!(!plain.contains(secret), "{secret} rendered");
        }
        // Read back (the list option repeats) for the keep-last-good path.
        let back = previous_stanzas(&plain).unwrap();
        assert_eq!(back["rvf73a77ozfsvcttryebfrnlem"].entries, s.entries);
    }

    #[test]
    fn s3_endpoint_override_and_options() {
        let c = cluster(&[
            ("repo1-s3-endpoint", "127.0.0.1"),
            ("repo1-s3-uri-style", "path"),
            ("process-max", "4"),
        ]);
        let s = stanza(&c, &token(s3(None)), out(), None).unwrap();
        insta::assert_snapshot!(owned_file(
            &[s],
            Path::new("/etc/bridgerest/bridgerest.toml"),
            true
        ));
    }

    #[test]
    fn azure_sas_and_shared() {
        let sas = stanza(&cluster(&[]), &token(azure(AzureKeyType::Sas)), out(), None).unwrap();
        insta::assert_snapshot!(owned_file(
            std::slice::from_ref(&sas),
            Path::new("/etc/bridgerest/bridgerest.toml"),
            true
        ));
        assert!(sas.entries.contains(&(
            "repo1-azure-key".into(),
            "se=2026-11-23T00%3A00%3A00Z&sp=rl&sig=abc%3D".into()
        )));
        let shared = stanza(
            &cluster(&[]),
            &token(azure(AzureKeyType::Shared)),
            out(),
            None,
        )
        .unwrap();
        assert!(shared
            .entries
            .contains(&("repo1-azure-key-type".into(), "shared".into())));
    }

    #[test]
    fn gcs_token_and_service_key() {
        let tok = Store::Gcs(GcsStore {
            bucket: "b".into(),
            credential: Some(GcsCredential::Token("ya29.tok".to_string().into())),
        });
        let s = stanza(&cluster(&[]), &token(tok), out(), None).unwrap();
        insta::assert_snapshot!(owned_file(
            std::slice::from_ref(&s),
            Path::new("/etc/bridgerest/bridgerest.toml"),
            true
        ));
        assert!(s
            .entries
            .contains(&("repo1-gcs-key".into(), "Bearer ya29.tok".into())));
        let key = Store::Gcs(GcsStore {
            bucket: "b".into(),
            credential: Some(GcsCredential::ServiceKey("{\"k\":1}".to_string().into())),
        });
        let s = stanza(&cluster(&[]), &token(key), out(), None).unwrap();
        let path = "/etc/pgbackrest/conf.d/2qc6yv2ztfcw7a7yoripu4zlsm.gcs-key.json";
        assert!(s.entries.contains(&("repo1-gcs-key".into(), path.into())));
        assert!(s
            .entries
            .contains(&("repo1-gcs-key-type".into(), "service".into())));
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.files[0].path, Path::new(path));
    }

    #[test]
    fn gcs_without_a_credential_uses_the_users_key() {
        let bare = Store::Gcs(GcsStore {
            bucket: "b".into(),
            credential: None,
        });
        let err = stanza(&cluster(&[]), &token(bare.clone()), out(), None).unwrap_err();
        assert_eq!(err, RenderError::NoGcsCredential);
        assert!(err
            .to_string()
            .contains("\"repo1-gcs-key-type\" = \"service\""));
        let c = cluster(&[
            ("repo1-gcs-key-type", "service"),
            ("repo1-gcs-key", "/etc/bridgerest/gcs-key.json"),
        ]);
        let s = stanza(&c, &token(bare), out(), None).unwrap();
        let text = owned_file(&[s], Path::new("/b.toml"), false);
        assert!(text.contains("repo1-gcs-bucket=b\n"), "{text}");
        assert!(text.contains("repo1-gcs-key-type=service\n"), "{text}");
        assert!(
            text.contains("repo1-gcs-key=/etc/bridgerest/gcs-key.json\n"),
            "{text}"
        );
        assert_eq!(text.matches("repo1-gcs-key=").count(), 1);
    }

    #[test]
    fn clashing_option_is_an_error_naming_it() {
        let err = stanza(
            &cluster(&[("repo1-s3-bucket", "other")]),
            &token(s3(None)),
            out(),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err,
            RenderError::OptionClash {
                key: "repo1-s3-bucket".into()
            }
        );
        assert!(err.to_string().contains("repo1-s3-bucket"));
    }

    #[test]
    fn redaction_hides_every_secret() {
        let s3s = stanza(
            &cluster(&[("repo1-cipher-pass", "cipher-secret")]),
            &token(s3(None)),
            out(),
            None,
        )
        .unwrap();
        let az = Stanza {
            name: "az".into(),
            ..stanza(&cluster(&[]), &token(azure(AzureKeyType::Sas)), out(), None).unwrap()
        };
        let text = owned_file(
            &[s3s, az],
            Path::new("/etc/bridgerest/bridgerest.toml"),
            true,
        );
        for secret in [
            "AKIAEXAMPLEKEY",
            "s3-secret-value",
            "s3-session-token",
            "cipher-secret",
            "sig=abc",
            "acct",
        ] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        assert_eq!(text.matches(REDACTED).count(), 6);
    }

    #[test]
    fn owned_file_round_trips_through_previous_stanzas() {
        let s = stanza(
            &cluster(&[("recovery-option", "a=b")]),
            &token(s3(None)),
            out(),
            None,
        )
        .unwrap();
        let text = owned_file(
            std::slice::from_ref(&s),
            Path::new("/etc/bridgerest/bridgerest.toml"),
            false,
        );
        let prev = previous_stanzas(&text).unwrap();
        let back = &prev["rvf73a77ozfsvcttryebfrnlem"];
        assert_eq!(back.name, s.name);
        assert_eq!(back.entries, s.entries);
    }

    #[test]
    fn modes() {
        let conf_d = Path::new("/etc/pgbackrest/conf.d/bridgerest.conf");
        let main = Path::new("/etc/pgbackrest/pgbackrest.conf");
        assert_eq!(mode_for(conf_d, None), Mode::Owned);
        assert_eq!(mode_for(main, None), Mode::Merged);
        assert_eq!(
            mode_for(main, Some(&format!("{OWNED_HEADER}\n"))),
            Mode::Owned
        );
        assert_eq!(
            mode_for(conf_d, Some("[global]\nlog-level-console=info\n")),
            Mode::Merged
        );
    }

    #[test]
    fn merge_keeps_everything_the_user_wrote() {
        let existing = "# my settings\n[global]\nlog-level-console=info\nprocess-max=2\n\n[2qc6yv2ztfcw7a7yoripu4zlsm]\n# archive settings\narchive-async=y\nrepo1-s3-key=OLDKEY\nrepo1-azure-key=stale\npg1-path=/old\n\n[other]\npg1-path=/x\n";
        let s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
        let merged = merged_file(existing, std::slice::from_ref(&s), &[], false).unwrap();
        insta::assert_snapshot!(merged_file(existing, std::slice::from_ref(&s), &[], true).unwrap());
        assert!(
            !merged.contains("OLDKEY") && !merged.contains("stale") && !merged.contains("/old"),
            "{merged}"
        );
        assert!(merged.contains("repo1-s3-key=AKIAEXAMPLEKEY\n"));
        // merging again is stable
        assert_eq!(merged_file(&merged, &[s], &[], false).unwrap(), merged);
    }

    #[test]
    fn merge_appends_new_stanzas_and_marks_kept_ones() {
        let existing = "[global]\nprocess-max=2\n\n[kept]\npg1-path=/k\nrepo1-s3-key=K\n";
        let s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
        let merged = merged_file(
            existing,
            &[s],
            &[("drsve2t4f5e5znkmef6hmchy2e".into(), "kept".into())],
            true,
        )
        .unwrap();
        // Redacted by option name: a kept stanza's secrets are not in the fresh stanzas' values.
        assert!(merged.contains("# bridgerest: cluster drsve2t4f5e5znkmef6hmchy2e (kept from the last good refresh)\n[kept]\npg1-path=/k\nrepo1-s3-key=[redacted]\n"), "{merged}");
        assert!(merged.ends_with("repo1-s3-token=[redacted]\n"), "{merged}");
        assert!(
            merged.contains("\n\n# bridgerest: cluster rvf73a77ozfsvcttryebfrnlem"),
            "{merged}"
        );
    }

    #[test]
    fn redaction_is_by_option_name_everywhere_in_the_file() {
        let existing = "[global]\nrepo2-type=s3\nrepo2-s3-key-secret=USERSECRET\nrepo2-cipher-pass=CIPHER\n# repo1-s3-key=comment stays\n\n[mine]\nrepo3-azure-key=AZ\nrepo1-s3-sse-customer-key=SSE\npg1-path=/p\n";
        let s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
        let red = merged_file(existing, &[s], &[], true).unwrap();
        for secret in ["USERSECRET", "CIPHER", "AZ\n", "SSE", "AKIAEXAMPLEKEY"] {
            assert!(!red.contains(secret), "{secret} shown:\n{red}");
        }
        assert!(red.contains("repo2-type=s3\n") && red.contains("pg1-path=/p\n"));
        assert!(red.contains("# repo1-s3-key=comment stays\n"), "{red}");
    }

    #[test]
    fn kept_values_round_trip_exactly() {
        // rust-ini would join a line ending in '\\' to the next and trim the value.
        let mut s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
        for (k, v) in s.entries.iter_mut() {
            if k == "repo1-s3-token" {
                *v = "tok\\".into();
            }
            if k == "repo1-s3-key" {
                *v = "  padded key  ".into();
            }
        }
        let text = owned_file(std::slice::from_ref(&s), Path::new("/b.toml"), false);
        let back = &previous_stanzas(&text).unwrap()["rvf73a77ozfsvcttryebfrnlem"];
        assert_eq!(back.entries, s.entries);
        let again = owned_file(std::slice::from_ref(back), Path::new("/b.toml"), false);
        let back2 = &previous_stanzas(&again).unwrap()["rvf73a77ozfsvcttryebfrnlem"];
        assert_eq!(back2.entries, s.entries);
    }

    #[test]
    fn a_renamed_stanza_leaves_no_old_section_and_other_marks_stay() {
        let old = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
        let base = "[global]\nprocess-max=2\n\n# bridgerest: cluster drsve2t4f5e5znkmef6hmchy2e (another config)\n[theirs]\nrepo1-type=azure\n";
        let first = merged_file(base, std::slice::from_ref(&old), &[], false).unwrap();
        let renamed = Stanza {
            name: "s2".into(),
            ..old.clone()
        };
        let text = merged_file(&first, &[renamed], &[], false).unwrap();
        let secs = sections(&text).unwrap();
        let names: Vec<&str> = secs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["global", "theirs", "s2"], "{text}");
        assert_eq!(
            secs[1].marked_for.as_deref(),
            Some("drsve2t4f5e5znkmef6hmchy2e"),
            "another config's mark is kept:\n{text}"
        );
        assert!(!text.contains("AKIAEXAMPLEKEY\n[") && text.matches("repo1-s3-key=").count() == 1);
        // A user's own line in the old section keeps the section, without bridgerest's options.
        let with_user = first.replace(
            "[2qc6yv2ztfcw7a7yoripu4zlsm]\n",
            "[2qc6yv2ztfcw7a7yoripu4zlsm]\narchive-async=y\n",
        );
        let renamed = Stanza {
            name: "s2".into(),
            ..old
        };
        let text = merged_file(&with_user, &[renamed], &[], false).unwrap();
        let secs = sections(&text).unwrap();
        let old_sec = secs
            .iter()
            .find(|s| s.name == "2qc6yv2ztfcw7a7yoripu4zlsm")
            .unwrap();
        assert_eq!(
            old_sec.entries,
            [("archive-async".to_string(), "y".to_string())]
        );
        assert_eq!(old_sec.marked_for, None);
    }

    #[test]
    fn clashes_with_unmarked_or_foreign_sections() {
        let text = "[prod]\nrepo1-type=posix\n\n# bridgerest: cluster drsve2t4f5e5znkmef6hmchy2e (x)\n[az]\nrepo1-type=azure\n";
        let secs = sections(text).unwrap();
        let f = Path::new("/etc/pgbackrest/pgbackrest.conf");
        let me = "rvf73a77ozfsvcttryebfrnlem";
        assert!(matches!(
            section_clash(&secs, "prod", me, f),
            Some(RenderError::UserSection { .. })
        ));
        assert!(matches!(
            section_clash(&secs, "az", me, f),
            Some(RenderError::OtherCluster { .. })
        ));
        assert_eq!(
            section_clash(&secs, "az", "drsve2t4f5e5znkmef6hmchy2e", f),
            None
        );
        assert_eq!(section_clash(&secs, "new", me, f), None);
    }

    #[test]
    fn merge_refuses_unparsable_file() {
        assert!(matches!(
            merged_file("[broken\nx", &[], &[], false),
            Err(RenderError::BadExisting(_))
        ));
    }

    #[test]
    fn secret_key_names() {
        for k in [
            "repo1-s3-key",
            "repo2-s3-key-secret",
            "repo1-s3-token",
            "repo1-azure-key",
            "repo1-gcs-key",
            "repo12-cipher-pass",
            "repo2-azure-account",
            "repo1-s3-sse-customer-key",
            "repo3-sftp-private-key-passphrase",
            "cipher-pass",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "repo1-s3-key-type",
            "repo1-azure-key-type",
            "repo1-s3-bucket",
            "pg1-path",
            "repo1-gcs-key-type",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
