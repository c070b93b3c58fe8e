//! The end of the archived WAL: the commit time of the last transaction a point-in-time
//! recovery can reach. PostgreSQL says a later target cannot be reached only after replaying
//! everything ("recovery ended before configured recovery target was reached"); this finds it
//! first: the newest archived segment (`pgbackrest info`), fetched with `archive-get` into a
//! temporary directory, read with `pg_waldump` (which ships with PostgreSQL), going back a few
//! segments when the newest holds no commit (a segment switch, a checkpoint).

use std::path::Path;

use crate::fsutil::Doing;
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

/// Reads the archived WAL back from `newest` (at most `SEGMENTS_BACK` segments) and returns
/// the last commit time found and the segment it is in; `None` if none of them holds a commit.
/// `pg_waldump` comes from `pg_bin`.
pub async fn last_archived_commit(
    inv: &Invocation,
    user: &RunAs,
    pg_bin: &Path,
    newest: &str,
) -> Result<Option<(OffsetDateTime, String)>, Error> {
    let waldump = pg_bin.join("pg_waldump");
    if !waldump.exists() {
        return Err(Error::NoWaldump(waldump));
    }
    let dir = tempfile::Builder::new()
        .prefix("bridgerest-wal.")
        .tempdir()
        .doing(|| "creating a temporary directory for a WAL segment".into())?;
    if nix::unistd::Uid::effective() != user.uid {
        nix::unistd::chown(dir.path(), Some(user.uid), Some(user.gid))
            .doing(|| format!("giving {} to {}", dir.path().display(), user.name))?;
    }
    let mut segment = newest.to_string();
    for _ in 0..SEGMENTS_BACK {
        let file = dir.path().join(&segment);
        let out = output_as(&inv.archive_get_argv(&segment, &file), user, &[]).await?;
        if !out.status.success() {
            return Err(crate::pgbackrest::Error::Failed {
                what: format!("pgbackrest archive-get {segment}"),
                status: out.status,
                stderr: crate::text::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 300),
            }
            .into());
        }
        // pg_waldump stops with an error at the zero-filled end of a switched segment: its
        // exit status says nothing; the records it printed do.
        let argv = [
            waldump.to_string_lossy().into_owned(),
            file.to_string_lossy().into_owned(),
        ];
        let dump = output_as(&argv, user, &[("TZ", "UTC")]).await?;
        let _ = std::fs::remove_file(&file);
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
