//! Files bridgerest shares or rewrites: whether a file is bridgerest's or the user's, its
//! sections as pgBackRest reads them (and which bridgerest marked as its own), the stanzas it
//! wrote before, and merging fresh stanzas into a file the user shares without losing a line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use ini::{Ini, ParseOption};

use super::{push_stanza, redact_options, RenderError, Stanza, MARK, MERGED_HEADER, OWNED_HEADER};

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
    Ok(marked_stanzas(&sections(text)?))
}

/// The sections bridgerest marked as its own, as stanzas by cluster id.
pub fn marked_stanzas(sections: &[Section]) -> HashMap<String, Stanza> {
    sections
        .iter()
        .cloned()
        .filter_map(|sec| {
            let id = sec.marked_for?;
            Some((
                id.clone(),
                Stanza {
                    name: sec.name,
                    cluster_id: id,
                    note: "kept from the last good refresh".into(),
                    entries: sec
                        .entries
                        .into_iter()
                        .map(|(k, v)| {
                            let v = super::Value::of(&k, &v);
                            (k, v)
                        })
                        .collect(),
                    files: vec![],
                    expires_at: None,
                    kind: None,
                },
            ))
        })
        .collect()
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
