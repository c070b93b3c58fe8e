//! Signed, chained drill reports: evidence an auditor can check. Each report is sealed before
//! it is published anywhere (the report file, the bucket): its place in its cluster's chain
//! (`seq`, from 1), the SHA-256 of the cluster's previous report as sealed (`prev`), the
//! signing key's fingerprint and an Ed25519 signature of the whole report (ring: the crypto
//! already in the binary). The signed bytes are the report's canonical JSON (keys sorted,
//! compact) with an empty signature, so a file pretty-printed by any version verifies.
//!
//! The key: the systemd credential `drill-signing-key`, or `drill.signing_key` (default
//! `drill-signing.key` in the state directory, beside the status file: under systemd the
//! config's directory is read-only to the daemon), made on first use (0600, by whoever drills:
//! root, or the image's postgres), its public half written beside it (`.pub`, 0644) and
//! printed by `drills --public-key`. The chain's
//! head (the last seq and hash per cluster) is kept in the state directory, root's, not in the
//! reports directory, which the drilling user can write: deleting the newest reports, or one
//! in the middle, leaves a gap that `drills --verify` names.

use std::path::{Path, PathBuf};

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde_json::Value;

pub use super::report::Seal;
use super::report::{report_name, Note, Report, MAX_FILES, MAX_REPORT};
use crate::config::Config;
use crate::fsutil::{Dir, Owner};

/// The key that seals reports.
pub struct Signer {
    pair: Ed25519KeyPair,
    pub fingerprint: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (s.len() % 2 == 0 && s.is_ascii())
        .then(|| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
                .collect()
        })
        .flatten()
}

/// A public key's fingerprint: the first 16 bytes of its SHA-256, hex.
pub fn fingerprint(public: &[u8]) -> String {
    hex(&ring::digest::digest(&ring::digest::SHA256, public).as_ref()[..16])
}

/// The canonical bytes of a report's JSON (keys sorted, compact).
fn canonical(v: &Value) -> Vec<u8> {
    // serde_json's map keeps keys sorted unless `preserve_order` is on, which nothing here
    // turns on; sort explicitly anyway, so that a feature elsewhere cannot change the bytes.
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(v)).unwrap_or_default()
}

/// The SHA-256 (hex) of a sealed report, as the next one's `prev` names it.
pub fn hash(v: &Value) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, &canonical(v)).as_ref())
}

/// Whether `signature` (hex) is the Ed25519 signature of `bytes` by the key `public`.
fn signed(public: &[u8], signature: &str, bytes: &[u8]) -> bool {
    unhex(signature).is_some_and(|sig| {
        UnparsedPublicKey::new(&ED25519, public)
            .verify(bytes, &sig)
            .is_ok()
    })
}

/// The bytes a seal signs: the report with an empty signature.
fn signed_bytes(v: &Value) -> Vec<u8> {
    let mut v = v.clone();
    if let Some(s) = v.get_mut("seal").and_then(|s| s.get_mut("signature")) {
        *s = Value::String(String::new());
    }
    canonical(&v)
}

/// Where the key and its public half are: the directory and the two names.
pub fn key_files(cfg: &Config) -> (PathBuf, String, String) {
    // The state directory, not the config's: under systemd (ProtectSystem=strict) /etc is
    // read-only to the daemon, and /var/lib/bridgerest is root's (0750).
    let key = cfg.drill.signing_key.clone().unwrap_or_else(|| {
        cfg.daemon
            .status_file
            .parent()
            .unwrap_or(Path::new("/var/lib/bridgerest"))
            .join("drill-signing.key")
    });
    let dir = key.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = key
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "drill-signing.key".into());
    let public = format!("{}.pub", name.trim_end_matches(".key"));
    (dir, name, public)
}

fn pair_of(pkcs8_hex: &str, from: &str) -> Result<Ed25519KeyPair, String> {
    let der = unhex(pkcs8_hex.trim())
        .ok_or_else(|| format!("{from} is not a bridgerest signing key (hex PKCS#8)"))?;
    Ed25519KeyPair::from_pkcs8(&der)
        .map_err(|_| format!("{from} is not an Ed25519 key in PKCS#8 form"))
}

/// The signing key: the credential, or the key file, made (with its public half) on first use.
pub fn signer(cfg: &Config) -> Result<Signer, String> {
    let pair = match std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|d| PathBuf::from(d).join("drill-signing-key"))
        .filter(|p| p.exists())
    {
        Some(p) => {
            let text = crate::fsutil::read_regular(&p, 4096)
                .map_err(|e| format!("{e:#}"))?
                .unwrap_or_default();
            pair_of(&text, &format!("the credential {}", p.display()))?
        }
        None => key_file(cfg)?,
    };
    let fingerprint = fingerprint(pair.public_key().as_ref());
    Ok(Signer { pair, fingerprint })
}

/// The key file, read through its directory (no link followed), or made: written under a
/// temporary name and linked into place, so that of two first drills one key wins and both
/// sign with it.
fn key_file(cfg: &Config) -> Result<Ed25519KeyPair, String> {
    let (dir, name, public) = key_files(cfg);
    let held = Dir::open(&dir, nix::unistd::Uid::effective(), None)
        .map_err(|e| format!("the signing key's directory: {e:#}"))?;
    let at = dir.join(&name);
    if let Some((bytes, st)) = held.read_file(&name, 4096).map_err(|e| format!("{e:#}"))? {
        if st.st_mode & 0o077 != 0 {
            return Err(format!(
                "the drill signing key {} can be read by other users (mode {:04o}): chmod 0600 it (anyone who reads it can sign a forged report)",
                at.display(),
                st.st_mode & 0o7777
            ));
        }
        return pair_of(&String::from_utf8_lossy(&bytes), &at.display().to_string());
    }
    let rng = ring::rand::SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "no random bytes for a key")?;
    let tmp = format!(".{name}.{:08x}.new", fastrand::u32(..));
    held.write_file(
        &tmp,
        format!("{}\n", hex(doc.as_ref())).as_bytes(),
        0o600,
        Owner::default(),
    )
    .map_err(|e| format!("{e:#}"))?;
    let linked = nix::unistd::linkat(
        held.fd(),
        tmp.as_str(),
        held.fd(),
        name.as_str(),
        nix::fcntl::AtFlags::empty(),
    );
    let _ = held.remove(&tmp);
    match linked {
        Ok(()) => tracing::info!("made the drill signing key {}", at.display()),
        Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(format!("creating {}: {e}", at.display())),
    }
    let (bytes, _) = held
        .read_file(&name, 4096)
        .map_err(|e| format!("{e:#}"))?
        .ok_or_else(|| format!("{} vanished as it was made", at.display()))?;
    let pair = pair_of(&String::from_utf8_lossy(&bytes), &at.display().to_string())?;
    let line = format!(
        "ed25519 {} {}\n",
        hex(pair.public_key().as_ref()),
        fingerprint(pair.public_key().as_ref())
    );
    held.write_file(&public, line.as_bytes(), 0o644, Owner::default())
        .map_err(|e| format!("{e:#}"))?;
    Ok(pair)
}

/// A public key read from a `.pub` file (`ed25519 <hex> [fingerprint]`).
pub fn read_public(path: &Path) -> Result<Vec<u8>, String> {
    let text = crate::fsutil::read_regular(path, 4096)
        .map_err(|e| format!("{e:#}"))?
        .ok_or_else(|| format!("{} does not exist", path.display()))?;
    let mut words = text.split_whitespace();
    match (words.next(), words.next().and_then(unhex)) {
        (Some("ed25519"), Some(k)) if k.len() == 32 => Ok(k),
        _ => Err(format!(
            "{} is not a bridgerest public key (\"ed25519 <hex>\")",
            path.display()
        )),
    }
}

/// The configured key's public half: its `.pub` file, or, where only the key is there, from it.
pub fn public_key(cfg: &Config) -> Result<Vec<u8>, String> {
    let (dir, _, public) = key_files(cfg);
    match read_public(&dir.join(&public)) {
        Ok(k) => Ok(k),
        Err(first) => signer(cfg)
            .map(|s| s.pair.public_key().as_ref().to_vec())
            .map_err(|e| format!("{first}; {e}")),
    }
}

/// The chain's head per cluster, in the state directory (root's): `<seq> <hash>`.
fn head_dir(cfg: &Config) -> PathBuf {
    cfg.daemon
        .status_file
        .parent()
        .unwrap_or(Path::new("/var/lib/bridgerest"))
        .join("drill-chain")
}

fn read_head(cfg: &Config, cluster: &str) -> Option<(u64, String)> {
    let held = Dir::open(&head_dir(cfg), nix::unistd::Uid::effective(), None).ok()?;
    let (bytes, _) = held.read_file(cluster, 256).ok()??;
    let text = String::from_utf8(bytes).ok()?;
    let mut w = text.split_whitespace();
    Some((w.next()?.parse().ok()?, w.next()?.to_string()))
}

fn write_head(cfg: &Config, cluster: &str, seq: u64, hash: &str) -> Result<(), String> {
    let held = Dir::open(
        &head_dir(cfg),
        nix::unistd::Uid::effective(),
        Some(Owner::default()),
    )
    .map_err(|e| format!("{e:#}"))?;
    held.write_file(
        cluster,
        format!("{seq} {hash}\n").as_bytes(),
        0o644,
        Owner::default(),
    )
    .map_err(|e| format!("{e:#}"))
}

/// Seals `rep` as the next of its cluster's chain and moves the head. The previous report is
/// the head's (the state directory's), or, before there is one, the newest sealed report in
/// the reports directory. A report that cannot be sealed is published unsealed, said: it then
/// fails `drills --verify`, by name.
pub async fn seal(cfg: &Config, rep: &mut Report) {
    let signer = match signer(cfg) {
        Ok(s) => s,
        Err(e) => {
            return tracing::warn!(cluster = %rep.cluster, "the drill report is not signed: {e}")
        }
    };
    let fleet = fleet_head(cfg, &signer, &rep.cluster).await;
    if let Err(e) = try_seal(cfg, &signer, rep, fleet) {
        tracing::warn!(cluster = %rep.cluster, "the drill report is not signed: {e}");
    }
}

/// With `drill.reports_url`: the newest report of `cluster` in the bucket that this key
/// signed, as (seq, hash), so that a fleet's workers sharing the key (the credential
/// `drill-signing-key`) continue one chain per cluster whichever drills it; a report there
/// this key did not sign is not chained from. None without a bucket, or where it cannot be
/// read (said; the chain then continues from this host's head).
async fn fleet_head(cfg: &Config, signer: &Signer, cluster: &str) -> Option<(u64, String)> {
    let url = &cfg.drill.bucket.as_ref()?.url;
    let bucket = match super::bucket::Bucket::open(cfg, url) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(cluster, "the fleet's chain head is not read: {e}");
            return None;
        }
    };
    let public = signer.pair.public_key().as_ref().to_vec();
    match bucket.newest(cluster).await {
        Ok(values) => values
            .iter()
            .filter_map(|v| link_of(v, &public, &signer.fingerprint, cluster))
            .max_by_key(|(seq, _)| *seq),
        Err(e) => {
            tracing::warn!(cluster, "the fleet's chain head is not read: {e}");
            None
        }
    }
}

/// A report's place in `cluster`'s chain as (seq, hash), if `public` signed it as a report of
/// that cluster.
fn link_of(v: &Value, public: &[u8], fp: &str, cluster: &str) -> Option<(u64, String)> {
    let seal = serde_json::from_value::<Seal>(v["seal"].clone()).ok()?;
    (seal.key == fp && v["cluster"] == cluster && signed(public, &seal.signature, &signed_bytes(v)))
        .then(|| (seal.seq, hash(v)))
}

fn try_seal(
    cfg: &Config,
    signer: &Signer,
    rep: &mut Report,
    fleet: Option<(u64, String)>,
) -> Result<(), String> {
    let here = read_head(cfg, &rep.cluster).or_else(|| {
        let newest = sealed_in(&cfg.drill.reports)
            .into_iter()
            .filter(|(_, v)| v["cluster"] == rep.cluster.as_str())
            .filter_map(|(_, v)| Some((v["seal"]["seq"].as_u64()?, hash(&v))))
            .max_by_key(|(seq, _)| *seq);
        newest
    });
    // The later of this host's head and the fleet's.
    let prev = match (here, fleet) {
        (Some(h), Some(f)) => Some(if f.0 > h.0 { f } else { h }),
        (h, f) => h.or(f),
    };
    let sealed = sign(signer, rep, prev)?;
    let seq = rep.seal.as_ref().map_or(1, |s| s.seq);
    if let Err(e) = write_head(cfg, &rep.cluster, seq, &hash(&sealed)) {
        tracing::warn!(cluster = %rep.cluster, "the drill chain's head is not kept ({e}): deleting this cluster's newest reports would go unseen by drills --verify");
    }
    Ok(())
}

/// Seals `rep` with `signer` as the report after `prev` (its seq and hash; none: the first of
/// its chain); the report as sealed.
fn sign(signer: &Signer, rep: &mut Report, prev: Option<(u64, String)>) -> Result<Value, String> {
    rep.seal = Some(Seal {
        seq: prev.as_ref().map_or(1, |(s, _)| s + 1),
        prev: prev.map(|(_, h)| h),
        key: signer.fingerprint.clone(),
        signature: String::new(),
    });
    let v = serde_json::to_value(&*rep).map_err(|e| e.to_string())?;
    let sig = signer.pair.sign(&signed_bytes(&v));
    if let Some(s) = rep.seal.as_mut() {
        s.signature = hex(sig.as_ref());
    }
    serde_json::to_value(&*rep).map_err(|e| e.to_string())
}

/// Every `.json` file in `dir` (bounded), parsed as JSON where it can be: name and value.
fn files_in(dir: &Path) -> Vec<(String, Result<Value, String>)> {
    named_in(dir, ".json")
}

/// Every file in `dir` whose name ends with `ext` (bounded), parsed as JSON where it can be.
fn named_in(dir: &Path, ext: &str) -> Vec<(String, Result<Value, String>)> {
    let Ok((held, _)) = super::report::open_reports(dir) else {
        return vec![];
    };
    let mut names: Vec<String> = held
        .names()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.ends_with(ext))
        .take(MAX_FILES)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = match held.read_file(&n, MAX_REPORT) {
                Ok(Some((bytes, _))) => serde_json::from_slice(&bytes).map_err(|e| e.to_string()),
                Ok(None) => Err("gone while read".into()),
                Err(e) => Err(format!("{e:#}")),
            };
            (n, v)
        })
        .collect()
}

fn sealed_in(dir: &Path) -> Vec<(String, Value)> {
    files_in(dir)
        .into_iter()
        .filter_map(|(n, v)| v.ok().filter(|v| v.get("seal").is_some()).map(|v| (n, v)))
        .collect()
}

/// What `drills --verify` found.
#[derive(Debug, Default)]
pub struct Verdict {
    pub verified: usize,
    pub clusters: usize,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    /// The follow-ups (`drills --note`) whose signature and report check out.
    pub followups: Vec<Note>,
}

/// The bytes a note's signature signs: the note with an empty signature.
fn note_bytes(v: &Value) -> Vec<u8> {
    let mut v = v.clone();
    if let Some(s) = v.get_mut("signature") {
        *s = Value::String(String::new());
    }
    canonical(&v)
}

/// A follow-up to the report named `report` in the reports directory, signed: the note and
/// the file name it is to be written as. Refused where that report is not there.
pub fn note(cfg: &Config, report: &str, text: &str, by: &str) -> Result<(Note, String), String> {
    let sealed = files_in(&cfg.drill.reports)
        .into_iter()
        .find(|(n, _)| n == report)
        .ok_or_else(|| {
            format!(
                "no drill report named {} in {}: give a report file's name (or path) as `bridgerest drills --json` lists them",
                crate::text::excerpt(report, 120),
                cfg.drill.reports.display()
            )
        })?
        .1
        .map_err(|e| format!("{report} is not a report ({e})"))?;
    let signer = signer(cfg)?;
    let mut note = Note {
        report: report.to_string(),
        report_hash: hash(&sealed),
        text: text.to_string(),
        by: by.to_string(),
        at: time::OffsetDateTime::now_utc(),
        key: signer.fingerprint.clone(),
        signature: String::new(),
    };
    let v = serde_json::to_value(&note).map_err(|e| e.to_string())?;
    note.signature = hex(signer.pair.sign(&note_bytes(&v)).as_ref());
    let name = super::report::note_name(report, note.at);
    Ok((note, name))
}

/// Checks each note file (name, JSON) against `public` and the reports' hashes by name: the
/// notes that check out, and each problem named.
pub fn check_notes(
    files: Vec<(String, Result<Value, String>)>,
    public: &[u8],
    reports: &std::collections::HashMap<String, String>,
) -> (Vec<Note>, Vec<String>) {
    let fp = fingerprint(public);
    let (mut ok, mut problems) = (Vec::new(), Vec::new());
    for (name, v) in files {
        let checked = v.and_then(|v| {
            let note = serde_json::from_value::<Note>(v.clone())
                .map_err(|e| format!("not a note ({e}): edited"))?;
            if note.key != fp {
                return Err(format!(
                    "signed by another key ({}), not {fp}",
                    crate::text::excerpt(&note.key, 40)
                ));
            }
            if !signed(public, &note.signature, &note_bytes(&v)) {
                return Err("the signature does not match: edited or forged".into());
            }
            if !name.starts_with(&format!("{}.", note.report.trim_end_matches(".json"))) {
                return Err(format!(
                    "signed as a note of {}: renamed or replayed",
                    crate::text::excerpt(&note.report, 120)
                ));
            }
            match reports.get(&note.report) {
                None => Err(format!(
                    "the report it follows up, {}, is not there: deleted",
                    note.report
                )),
                Some(h) if *h != note.report_hash => Err(format!(
                    "the report it follows up, {}, is not the one it was written for: replaced",
                    note.report
                )),
                Some(_) => Ok(note),
            }
        });
        match checked {
            Ok(n) => ok.push(n),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    (ok, problems)
}

/// Checks every report in the reports directory against `public`: each signature, each
/// name, each cluster's chain (no seq twice, none missing, each `prev` its predecessor's hash,
/// times in the chain's order) and its newest against the head kept in the state directory.
pub fn verify(cfg: &Config, public: &[u8]) -> Verdict {
    let files = files_in(&cfg.drill.reports);
    let hashes = files
        .iter()
        .filter_map(|(n, v)| Some((n.clone(), hash(v.as_ref().ok()?))))
        .collect();
    let mut v = check(
        files,
        public,
        |cluster| read_head(cfg, cluster),
        cfg.drill.keep_reports,
    );
    let (followups, problems) = check_notes(named_in(&cfg.drill.reports, ".note"), public, &hashes);
    v.followups = followups;
    v.problems.extend(problems);
    v
}

/// The checks of [`verify`] over any set of reports, wherever they were read (the reports
/// directory, a bucket): each `(name, parsed JSON or why not)`, the name a file's
/// (`<start>.json`) or an object's below the prefix (`<cluster>/<start>.json`: the folder must
/// be the report's cluster); `head` gives a cluster's chain head (seq, hash) where one is kept;
/// `keep` is drill.keep_reports, for the note on a chain kept from past #1.
pub fn check(
    files: Vec<(String, Result<Value, String>)>,
    public: &[u8],
    head: impl Fn(&str) -> Option<(u64, String)>,
    keep: usize,
) -> Verdict {
    let fp = fingerprint(public);
    let mut out = Verdict::default();
    let mut chains: std::collections::BTreeMap<String, Vec<(u64, String, Value)>> =
        Default::default();
    for (name, v) in files {
        let v = match v {
            Ok(v) => v,
            Err(e) => {
                out.problems
                    .push(format!("{name}: not a report ({e}): edited"));
                continue;
            }
        };
        let Ok(seal) = serde_json::from_value::<Seal>(v["seal"].clone()) else {
            out.problems.push(format!(
                "{name}: unsigned: forged, or written before reports were signed"
            ));
            continue;
        };
        if seal.key != fp {
            out.problems.push(format!(
                "{name}: signed by another key ({}), not {fp}",
                crate::text::excerpt(&seal.key, 40)
            ));
            continue;
        }
        let sig_ok = signed(public, &seal.signature, &signed_bytes(&v));
        if !sig_ok {
            out.problems.push(format!(
                "{name}: the signature does not match: edited or forged"
            ));
            continue;
        }
        let Ok(rep) = serde_json::from_value::<Report>(v.clone()) else {
            out.problems.push(format!(
                "{name}: signed, but not a report this bridgerest reads"
            ));
            continue;
        };
        let (folder, file) = match name.rsplit_once('/') {
            Some((folder, file)) => (Some(folder), file),
            None => (None, name.as_str()),
        };
        if folder.is_some_and(|f| f != rep.cluster) {
            out.problems.push(format!(
                "{name}: signed as a report of cluster {}: moved or replayed",
                crate::text::excerpt(&rep.cluster, 60)
            ));
            continue;
        }
        if report_name(&rep) != file {
            out.problems.push(format!(
                "{name}: signed as {}: renamed or replayed",
                report_name(&rep)
            ));
            continue;
        }
        out.verified += 1;
        chains
            .entry(rep.cluster.clone())
            .or_default()
            .push((seal.seq, name, v));
    }
    out.clusters = chains.len();
    for (cluster, mut chain) in chains {
        chain.sort_by_key(|(seq, name, _)| (*seq, name.clone()));
        if let Some((first, name, v)) = chain.first() {
            if *first > 1 {
                out.notes.push(format!(
                    "cluster {cluster}: kept from #{first} ({name}; older ones removed, as drill.keep_reports keeps {keep})"
                ));
                let _ = v;
            }
        }
        for pair in chain.windows(2) {
            let ((a, an, av), (b, bn, bv)) = (&pair[0], &pair[1]);
            if a == b {
                out.problems.push(format!(
                    "cluster {cluster}: #{a} twice ({an}, {bn}): replayed"
                ));
            } else if b > &(a + 1) {
                out.problems.push(format!(
                    "cluster {cluster}: {} missing between {an} and {bn}: deleted",
                    if b - a == 2 {
                        format!("#{}", a + 1)
                    } else {
                        format!("#{}..#{}", a + 1, b - 1)
                    }
                ));
            } else if bv["seal"]["prev"].as_str() != Some(hash(av).as_str()) {
                out.problems.push(format!(
                    "cluster {cluster}: {bn} (#{b}) does not follow {an} (#{a}): replaced or re-ordered"
                ));
            } else if bv["started_at"].as_str() < av["started_at"].as_str() {
                out.problems.push(format!(
                    "cluster {cluster}: {bn} (#{b}) started before {an} (#{a}): re-ordered"
                ));
            }
        }
        if let (Some((seq, name, v)), Some((head, head_hash))) = (chain.last(), head(&cluster)) {
            if *seq < head {
                out.problems.push(format!(
                    "cluster {cluster}: the newest {} after {name} (#{seq}) deleted (the chain's head is #{head})",
                    if head - seq == 1 { "report".to_string() } else { format!("{} reports", head - seq) }
                ));
            } else if *seq == head && hash(v) != head_hash {
                out.problems.push(format!(
                    "cluster {cluster}: {name} (#{seq}) is not the report the chain's head names: replaced"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_signer() -> (Signer, Vec<u8>) {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        let fingerprint = fingerprint(&public);
        (Signer { pair, fingerprint }, public)
    }

    /// `n` chained reports of `cluster`, a week apart, as a bucket names them
    /// (`<cluster>/<start>.json`), with their sealed JSON.
    fn chain(signer: &Signer, cluster: &str, n: u32) -> Vec<(String, Value)> {
        let start = time::macros::datetime!(2026-10-04 03:30:00 UTC);
        let mut prev = None;
        (0..n)
            .map(|i| {
                let mut r = Report::new(
                    cluster,
                    "main",
                    crate::drill::Target::Latest,
                    start + time::Duration::days(7) * i,
                    Path::new("/x"),
                );
                r.check(super::super::report::CheckName::Restore, true, "ok".into());
                r.finish();
                let v = sign(signer, &mut r, prev.clone()).unwrap();
                prev = Some((u64::from(i) + 1, hash(&v)));
                (format!("{cluster}/{}", report_name(&r)), v)
            })
            .collect()
    }

    fn run(files: &[(String, Value)], public: &[u8]) -> Verdict {
        let files = files
            .iter()
            .map(|(n, v)| (n.clone(), Ok(v.clone())))
            .collect();
        check(files, public, |_| None, 100)
    }

    /// The shared chain check over (name, report) pairs, as a bucket's objects give them:
    /// honest chains pass; an edit, a deletion in the middle, an unsigned forgery, a replay
    /// under another name or another cluster's folder, another key: each named.
    #[test]
    fn the_chain_check_names_each_tampered_object() {
        let (signer, public) = test_signer();
        let mut files = chain(&signer, "alpha", 4);
        files.extend(chain(&signer, "beta", 2));
        let v = run(&files, &public);
        assert_eq!(
            (v.verified, v.clusters, v.problems.len()),
            (6, 2, 0),
            "{v:?}"
        );

        let mut edited = files.clone();
        edited[1].1["restore_seconds"] = serde_json::json!(1.0);
        let v = run(&edited, &public);
        assert_eq!(v.problems.len(), 2, "{v:?}");
        assert!(
            v.problems[0].starts_with(&format!("{}: the signature does not match", files[1].0)),
            "{v:?}"
        );

        let mut gap = files.clone();
        gap.remove(2);
        let v = run(&gap, &public);
        assert_eq!(
            v.problems,
            vec![format!(
                "cluster alpha: #3 missing between {} and {}: deleted",
                files[1].0, files[3].0
            )]
        );

        let mut forged = files.clone();
        let mut fake = files[0].1.clone();
        fake.as_object_mut().unwrap().remove("seal");
        forged.push(("alpha/2027-01-01T00:00:00Z.json".into(), fake));
        let v = run(&forged, &public);
        assert_eq!(v.problems, vec!["alpha/2027-01-01T00:00:00Z.json: unsigned: forged, or written before reports were signed".to_string()]);

        let mut replayed = files.clone();
        replayed.push(("alpha/2027-01-01T00:00:00Z.json".into(), files[0].1.clone()));
        replayed.push(("beta/2027-01-01T00:00:00Z.json".into(), files[0].1.clone()));
        let v = run(&replayed, &public);
        assert!(
            v.problems.iter().any(
                |p| p.starts_with("alpha/2027-01-01T00:00:00Z.json: signed as ")
                    && p.ends_with("renamed or replayed")
            ),
            "{v:?}"
        );
        assert!(v.problems.iter().any(|p| p == "beta/2027-01-01T00:00:00Z.json: signed as a report of cluster alpha: moved or replayed"), "{v:?}");

        let (_, other) = test_signer();
        let v = run(&files, &other);
        assert_eq!((v.verified, v.problems.len()), (0, 6), "{v:?}");
        assert!(v.problems[0].contains("signed by another key"), "{v:?}");
    }

    /// A report's times are floats: what is signed must be what a reader re-parses from the
    /// pretty file, bit for bit (serde_json's float_roundtrip), for any float.
    #[test]
    fn the_signed_bytes_survive_the_file_for_any_float() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let f = rng.f64() * 10f64.powi(rng.i32(-3..7));
            let v = serde_json::json!({"total_seconds": f, "seal": {"signature": "ab"}});
            let file = serde_json::to_vec_pretty(&v).unwrap();
            let back: Value = serde_json::from_slice(&file).unwrap();
            assert_eq!(signed_bytes(&back), signed_bytes(&v), "{f:e}");
            assert_eq!(hash(&back), hash(&v));
        }
    }
}
