//! The end of the archived WAL: the commit time of the last transaction a point-in-time
//! recovery can reach. PostgreSQL says a later target cannot be reached only after replaying
//! everything ("recovery ended before configured recovery target was reached"); this finds it
//! first: the newest archived segment (`pgbackrest info`), fetched from the repository alone
//! (`repo-ls`, `repo-get`) into a temporary directory, read with `pg_waldump` (which ships with
//! PostgreSQL), going back a few segments when the newest holds no commit (a segment switch, a
//! checkpoint).

use std::path::Path;

use time::OffsetDateTime;

use crate::pgbackrest::child::output_as;
use crate::pgbackrest::child::Invocation;
use crate::runas::RunAs;

/// How many segments back from the newest are read at most.
const SEGMENTS_BACK: usize = 8;
/// Segments per log file with the default 16 MiB segment size.
const SEGMENTS_PER_ID: u32 = 0x100;

/// A segment name (`TTTTTTTTXXXXXXXXYYYYYYYY`) as its timeline, log file and segment.
fn parse_segment(name: &str) -> Option<(&str, u32, u32)> {
    if name.len() != 24 || !name.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let log = u32::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u32::from_str_radix(&name[16..], 16).ok()?;
    Some((&name[..8], log, seg))
}

fn segment_name(timeline: &str, log: u32, seg: u32) -> String {
    format!("{timeline}{log:08X}{seg:08X}")
}

/// The segment before `name` (16 MiB segments), on the same timeline; `None` before the first.
pub fn previous_segment(name: &str) -> Option<String> {
    let (tli, log, seg) = parse_segment(name)?;
    let (log, seg) = match seg {
        0 => (log.checked_sub(1)?, SEGMENTS_PER_ID - 1),
        s => (log, s - 1),
    };
    Some(segment_name(tli, log, seg))
}

/// The segment after `name` (16 MiB segments: 256 per log file), on the same timeline.
pub fn next_segment(name: &str) -> Option<String> {
    let (tli, log, seg) = parse_segment(name)?;
    let (log, seg) = match seg {
        s if s == SEGMENTS_PER_ID - 1 => (log.checked_add(1)?, 0),
        s => (log, s + 1),
    };
    Some(segment_name(tli, log, seg))
}

/// A WAL location as PostgreSQL writes it (`0/4003EE8`: two hexadecimal halves), parsed once
/// where it enters (the server's answer, its log) and shown the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(pub u64);

impl std::str::FromStr for Lsn {
    type Err = String;
    fn from_str(s: &str) -> Result<Lsn, String> {
        let bad = || {
            format!(
                "{:?} is not a WAL location (like 0/4003EE8)",
                crate::text::excerpt(s, 40)
            )
        };
        let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
        let hi = u32::from_str_radix(hi, 16).map_err(|_| bad())?;
        let lo = u32::from_str_radix(lo, 16).map_err(|_| bad())?;
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl Lsn {
    /// The name of the 16 MiB WAL segment on `timeline` (8 hex digits) that holds the byte
    /// just before this position: replay positions are record ends, so a position on a
    /// segment boundary means the segment before it was replayed to its end.
    pub fn segment_before(self, timeline: &str) -> String {
        let pos = self.0.saturating_sub(1);
        segment_name(
            &timeline.to_ascii_uppercase(),
            (pos >> 32) as u32,
            ((pos & 0xFFFF_FFFF) >> 24) as u32,
        )
    }
}

/// [`Lsn::segment_before`] of a location given as text; `None` if it is not one.
pub fn segment_before(timeline: &str, lsn: &str) -> Option<String> {
    Some(lsn.parse::<Lsn>().ok()?.segment_before(timeline))
}

/// The commit time of the last `COMMIT` record in `pg_waldump` output (which prints them as
/// `desc: COMMIT 2026-11-23 07:01:11.239879 UTC; ...`).
pub fn last_commit(waldump: &str) -> Option<OffsetDateTime> {
    waldump
        .lines()
        .filter_map(|l| {
            let rest = l.split("desc: COMMIT ").nth(1)?;
            let mut f = rest.split([' ', ';']);
            let (date, time, zone) = (f.next()?, f.next()?, f.next()?);
            if !matches!(zone, "UTC" | "GMT" | "+00") {
                return None;
            }
            crate::when::parse_time(&format!("{date} {time}+00")).ok()
        })
        .max()
}

/// Why the archived WAL's last commit could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} not found: install PostgreSQL's server package for the cluster's version, or pass --pg-bin", .0.display())]
    NoWaldump(std::path::PathBuf),
    /// The temporary directory for a segment.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::Error),
    /// `pgbackrest archive-get` or `pg_waldump`.
    #[error(transparent)]
    Child(#[from] crate::pgbackrest::Error),
}

/// Reads the archived WAL back from `newest` (at most `SEGMENTS_BACK` segments) of the
/// repository's archive `archive_id` and returns the last commit time found and the segment it
/// is in; `None` if none of them holds a commit. `pg_waldump` comes from `pg_bin`.
///
/// The segments are read from the repository alone (`repo-ls`, `repo-get`), never with
/// `archive-get`: that reads `pg_control` from the stanza's `pg1-path` to choose the archive,
/// and on a restore host that never held the cluster there is none (pgBackRest's error 55).
/// `repo-get` decrypts but does not decompress: the file's extension names the compression,
/// undone by its own program as `user`. The segment is written for `pg_waldump` (run as `user`)
/// into a temporary directory bridgerest owns (as root: group `user`, 0750), so no other user
/// can put anything in its place.
pub async fn last_archived_commit(
    inv: &Invocation,
    user: &RunAs,
    pg_bin: &Path,
    archive_id: &str,
    newest: &str,
) -> Result<Option<(OffsetDateTime, String)>, Error> {
    let waldump = pg_bin.join("pg_waldump");
    if !waldump.exists() {
        return Err(Error::NoWaldump(waldump));
    }
    let group = user.other_group();
    let dir = crate::fsutil::shared_tempdir("bridgerest-wal.", group)?;
    let mut listed: Option<(String, Vec<String>)> = None;
    let mut segment = newest.to_string();
    for _ in 0..SEGMENTS_BACK {
        let Some(bytes) = fetch_segment(inv, user, archive_id, &segment, &mut listed).await? else {
            break;
        };
        let file = crate::fsutil::create_shared(&dir, &segment, &bytes, group)?;
        // pg_waldump stops with an error at the zero-filled end of a switched segment: its
        // exit status says nothing; the records it printed do.
        // Only the Transaction resource manager's records (commits are among them): the
        // output stays small whatever the segment holds.
        let argv = [
            waldump.to_string_lossy().into_owned(),
            "--rmgr=Transaction".into(),
            file.to_string_lossy().into_owned(),
        ];
        let dump = output_as(&argv, user, &[("TZ", "UTC")]).await?;
        let _ = std::fs::remove_file(&file);
        // Not one record and a failure: it could not read the file at all.
        let dump = match dump.stdout.is_empty() {
            true => checked(dump, || format!("pg_waldump {segment}"))?,
            false => dump,
        };
        if let Some(t) = last_commit(&String::from_utf8_lossy(&dump.stdout)) {
            return Ok(Some((t, segment)));
        }
        match previous_segment(&segment) {
            Some(p) => segment = p,
            None => break,
        }
    }
    Ok(None)
}

/// The bytes of `segment` from the repository: its file found by listing its directory
/// (`listed` keeps the last listing: going back, one directory holds 256 segments), fetched
/// with `repo-get` and decompressed. `None` when the repository does not hold it.
async fn fetch_segment(
    inv: &Invocation,
    user: &RunAs,
    archive_id: &str,
    segment: &str,
    listed: &mut Option<(String, Vec<String>)>,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(prefix) = segment.get(..16) else {
        return Ok(None);
    };
    let dir = format!("archive/{}/{archive_id}/{prefix}", inv.stanza);
    if listed.as_ref().is_none_or(|(d, _)| *d != dir) {
        let argv = inv.command_argv(&["--output=json", "repo-ls", &dir]);
        let out = checked(output_as(&argv, user, &[]).await?, || {
            format!("pgbackrest repo-ls {dir}")
        })?;
        let names = file_names(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| {
            crate::pgbackrest::Error::Output(format!(
                "pgbackrest repo-ls {dir} printed no JSON listing"
            ))
        })?;
        *listed = Some((dir.clone(), names));
    }
    let names = listed
        .as_ref()
        .map(|(_, n)| n.as_slice())
        .unwrap_or_default();
    let Some((name, compression)) = segment_file(names, segment) else {
        return Ok(None);
    };
    let path = format!("{dir}/{name}");
    let argv = inv.command_argv(&["repo-get", &path]);
    let out = checked(output_as(&argv, user, &[]).await?, || {
        format!("pgbackrest repo-get {path}")
    })?;
    let Some((program, hint)) = compression.program() else {
        return Ok(Some(out.stdout));
    };
    let argv = [program.to_string(), "-dc".to_string()];
    let plain = crate::pgbackrest::child::output_fed(&argv, user, out.stdout, hint).await?;
    Ok(Some(
        checked(plain, || format!("{program} -dc of {name}"))?.stdout,
    ))
}

/// `out` if its program succeeded, else what failed (its status and the end of its stderr).
fn checked(
    out: std::process::Output,
    what: impl FnOnce() -> String,
) -> Result<std::process::Output, crate::pgbackrest::Error> {
    if out.status.success() {
        return Ok(out);
    }
    Err(crate::pgbackrest::Error::Failed {
        what: what(),
        status: out.status,
        stderr: crate::text::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 300),
    })
}

/// How pgBackRest compressed an archived file, from its extension (`compress-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gz,
    Bz2,
    Lz4,
    Zst,
}

impl Compression {
    fn from_ext(ext: Option<&str>) -> Option<Compression> {
        Some(match ext {
            None => Compression::None,
            Some("gz") => Compression::Gz,
            Some("bz2") => Compression::Bz2,
            Some("lz4") => Compression::Lz4,
            Some("zst") => Compression::Zst,
            Some(_) => return None,
        })
    }

    /// The program that undoes it (each takes `-dc`: stdin to stdout), and what to install
    /// when it is missing.
    fn program(self) -> Option<(&'static str, &'static str)> {
        match self {
            Compression::None => None,
            Compression::Gz => Some(("gzip", ": install gzip")),
            Compression::Bz2 => Some(("bzip2", ": install bzip2 (apt-get install bzip2)")),
            Compression::Lz4 => Some(("lz4", ": install lz4 (apt-get install lz4)")),
            Compression::Zst => Some(("zstd", ": install zstd (apt-get install zstd)")),
        }
    }
}

/// The names of the files in `repo-ls --output=json` output.
fn file_names(json: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(
        v.as_object()?
            .iter()
            .filter(|(_, f)| f["type"] == "file")
            .map(|(name, _)| name.clone())
            .collect(),
    )
}

/// The repository's file of `segment` among `names`, and its compression: pgBackRest stores
/// a segment as `<segment>-<sha1 of its content>[.<compress-type>]`. Partial segments and
/// anything else are not it.
pub fn segment_file<'a>(names: &'a [String], segment: &str) -> Option<(&'a str, Compression)> {
    names.iter().find_map(|name| {
        let rest = name.strip_prefix(segment)?.strip_prefix('-')?;
        let (sum, ext) = match rest.split_once('.') {
            Some((sum, ext)) => (sum, Some(ext)),
            None => (rest, None),
        };
        let is_sha1 = sum.len() == 40 && sum.bytes().all(|c| c.is_ascii_hexdigit());
        is_sha1
            .then(|| Compression::from_ext(ext))
            .flatten()
            .map(|c| (name.as_str(), c))
    })
}

/// What `archive-get` said it could not find, from PostgreSQL's log of the copy: the WAL
/// segment missing from the repository.
pub fn missing_wal(text: &str) -> Option<String> {
    let line = text.lines().find(|l| {
        l.contains("unable to find") || (l.contains("ERROR: [") && l.contains("archive"))
    })?;
    let at = line
        .find("ERROR:")
        .or_else(|| line.find("unable"))
        .unwrap_or(0);
    Some(format!(
        "WAL missing or unreadable in the repository: {}",
        crate::text::excerpt(line[at..].trim(), 300)
    ))
}

/// The WAL segments in `repo-ls --recurse --output=json` output: (name, bytes), sorted.
pub fn wal_files(json: &str) -> Option<Vec<(String, u64)>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut out: Vec<(String, u64)> = v
        .as_object()?
        .iter()
        .filter(|(_, f)| f["type"] == "file")
        .filter_map(|(name, f)| {
            let seg = name.rsplit('/').next()?.get(..24)?;
            seg.bytes()
                .all(|c| c.is_ascii_hexdigit())
                .then(|| (seg.to_ascii_uppercase(), f["size"].as_u64().unwrap_or(0)))
        })
        .collect();
    out.sort();
    Some(out)
}

/// Why recovery on timeline `tli` stopped after the segment of `lsn`, from the repository's
/// `listing` of archived segments: the next segment is missing (with later ones there: a
/// broken chain), or it is there and could not be used.
pub fn gap_after(tli: &str, listing: &[(String, u64)], lsn: Lsn) -> Option<String> {
    let at = lsn.segment_before(tli);
    let next = next_segment(&at)?;
    let later = listing.iter().filter(|(s, _)| *s > next).count();
    if listing.iter().any(|(s, _)| *s == next) {
        Some(format!("WAL segment {next} is in the repository, but recovery stopped before it (replay ended in {at} at {lsn}): it may be corrupt (drill.verify checks every file)"))
    } else if later > 0 {
        Some(format!("WAL segment {next} is missing from the repository ({later} later segments are there: the WAL chain is broken after {at}, so recovery cannot pass {lsn})"))
    } else {
        None
    }
}

/// The LSN PostgreSQL's log says replay ended at ("redo done at 0/5000060").
pub fn redo_done_at(text: &str) -> Option<Lsn> {
    let line = text.lines().rev().find(|l| l.contains("redo done at "))?;
    let rest = line.split("redo done at ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_segments_file_is_found_by_its_name_checksum_and_compression() {
        use super::{segment_file, Compression};
        let seg = "000000010000000000000005";
        let sum = "0123456789abcdef0123456789abcdef01234567";
        let names: Vec<String> = [
            format!("{seg}.partial"),
            format!("000000010000000000000004-{sum}.gz"),
            format!("{seg}-{sum}.zst"),
        ]
        .into();
        assert_eq!(
            segment_file(&names, seg),
            Some((names[2].as_str(), Compression::Zst))
        );
        let plain = vec![format!("{seg}-{sum}")];
        assert_eq!(
            segment_file(&plain, seg),
            Some((plain[0].as_str(), Compression::None))
        );
        for odd in [
            format!("{seg}-{sum}.xz"),
            format!("{seg}-abc.gz"),
            format!("{seg}0-{sum}.gz"),
        ] {
            assert_eq!(segment_file(std::slice::from_ref(&odd), seg), None, "{odd}");
        }
    }

    use super::*;

    #[test]
    fn segments_count_back_across_log_files() {
        assert_eq!(
            previous_segment("000000010000000000000005").as_deref(),
            Some("000000010000000000000004")
        );
        assert_eq!(
            previous_segment("0000000200000003000000A0").as_deref(),
            Some("00000002000000030000009F")
        );
        assert_eq!(
            previous_segment("000000010000000100000000").as_deref(),
            Some("0000000100000000000000FF")
        );
        assert_eq!(previous_segment("000000010000000000000000"), None);
        assert_eq!(previous_segment("00000001.history"), None);
    }

    #[test]
    fn the_last_commit_is_read_from_pg_waldump() {
        let dump = "rmgr: Transaction len (rec/tot):     66/    66, tx:        723, lsn: 0/015006D0, prev 0/01500630, desc: COMMIT 2026-11-23 07:01:10.899513 UTC; inval msgs: snapshot 2396
rmgr: Heap        len (rec/tot):     59/    59, tx:        724, lsn: 0/01500718, prev 0/015006D0, desc: INSERT off 1 flags 0x08
rmgr: Transaction len (rec/tot):     34/    34, tx:        724, lsn: 0/01516598, prev 0/01500718, desc: COMMIT 2026-11-23 07:01:11.239879 UTC
rmgr: Transaction len (rec/tot):     34/    34, tx:        725, lsn: 0/015165D8, prev 0/01516598, desc: ABORT 2026-11-23 07:01:12.000000 UTC
rmgr: XLOG        len (rec/tot):     24/    24, tx:          0, lsn: 0/01516600, prev 0/015165D8, desc: SWITCH";
        let t = last_commit(dump).unwrap();
        assert_eq!(t, time::macros::datetime!(2026-11-23 07:01:11.239879 UTC));
        assert_eq!(last_commit("rmgr: XLOG desc: SWITCH"), None);
    }

    #[test]
    fn a_gap_in_the_archived_chain_is_named() {
        let seg = |s: &str| (s.to_string(), 16u64 << 20);
        let lsn: Lsn = "0/3000060".parse().unwrap();
        let broken = [
            seg("000000010000000000000002"),
            seg("000000010000000000000003"),
            seg("000000010000000000000005"),
        ];
        let why = gap_after("00000001", &broken, lsn).unwrap();
        assert!(
            why.contains("000000010000000000000004 is missing") && why.contains("1 later"),
            "{why}"
        );
        let there = [
            seg("000000010000000000000003"),
            seg("000000010000000000000004"),
        ];
        let why = gap_after("00000001", &there, lsn).unwrap();
        assert!(why.contains("is in the repository"), "{why}");
        assert_eq!(gap_after("00000001", &there[..1], lsn), None);
    }
}
