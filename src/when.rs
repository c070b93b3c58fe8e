//! Times as bridgerest reads and shows them, and the target a restore recovers to: parsing
//! a target (`latest`, RFC 3339, pgBackRest's own form), pgBackRest's `--target` form, the one
//! RFC 3339 form shown to people and sent to APIs. Ground floor: it uses nothing of the crate.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Where recovery stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A point in time (`--type=time`).
    Time(OffsetDateTime),
    /// The end of the archived WAL (`--type=default`).
    Latest,
}

/// What PostgreSQL does when it reaches the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetAction {
    /// End recovery and accept writes.
    Promote,
    /// Stay in recovery, read-only, so the state can be inspected first.
    Pause,
    /// Stop PostgreSQL.
    Shutdown,
}

impl TargetAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetAction::Promote => "promote",
            TargetAction::Pause => "pause",
            TargetAction::Shutdown => "shutdown",
        }
    }
}

/// Parses a target: `latest`, RFC 3339 (`2026-11-21T09:14:00Z`), or pgBackRest's
/// `YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]` (UTC when no zone is given).
pub fn parse_target(text: &str) -> Result<Target, String> {
    if text.trim().eq_ignore_ascii_case("latest") {
        return Ok(Target::Latest);
    }
    parse_time(text).map(Target::Time)
}

/// Parses a target time (see [`parse_target`]).
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    let t = text.trim();
    let bad = || {
        format!("\"{text}\" is not a time: use RFC 3339 (2026-11-21T09:14:00Z) or \"2026-11-21 09:14:00+00\"")
    };
    if let Ok(v) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(v);
    }
    if t.len() < 19 || !t.is_char_boundary(19) {
        return Err(bad());
    }
    let (head, mut rest) = t.split_at(19);
    let head = head.replacen('T', " ", 1);
    let dt = PrimitiveDateTime::parse(
        &head,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .map_err(|_| bad())?;
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || digits.len() > 9 {
            return Err(bad());
        }
        nanos = format!("{digits:0<9}").parse().map_err(|_| bad())?;
        rest = &frac[digits.len()..];
    }
    let offset = parse_offset(rest.trim()).ok_or_else(bad)?;
    dt.replace_nanosecond(nanos)
        .map(|d| d.assume_offset(offset))
        .map_err(|_| bad())
}

/// `""`/`Z` (UTC), `+HH`, `+HHMM`, `+HH:MM` and the same with `-`.
fn parse_offset(s: &str) -> Option<UtcOffset> {
    if s.is_empty() || s == "Z" || s == "z" {
        return Some(UtcOffset::UTC);
    }
    let sign: i8 = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let h: i8 = digits[..2].parse().ok()?;
    let m: i8 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// The target as pgBackRest's `--target` wants it, in UTC: `2026-11-21 09:14:00.5+00`.
pub fn pgbackrest_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let base = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.microsecond() {
        0 => format!("{base}+00"),
        us => format!("{base}.{us:06}+00"),
    }
}

/// A time for people: RFC 3339 in UTC, whole seconds.
pub fn show_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// RFC 3339 as an API takes it (the time's own precision and offset).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The time a drill recovers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillTarget {
    /// The end of the archived WAL.
    Latest,
    /// A time drawn uniformly from the recovery window, so that over many drills every part
    /// of the WAL chain is replayed.
    Random,
    Time(OffsetDateTime),
}

impl std::fmt::Display for DrillTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DrillTarget::Latest => write!(f, "latest"),
            DrillTarget::Random => write!(f, "random"),
            DrillTarget::Time(t) => write!(f, "{}", pgbackrest_time(*t)),
        }
    }
}

/// `latest`, `random`, or a time as `restore --target-time` takes it.
pub fn parse_drill_target(text: &str) -> Result<DrillTarget, String> {
    match text {
        "latest" => Ok(DrillTarget::Latest),
        "random" => Ok(DrillTarget::Random),
        t => parse_time(t)
            .map(DrillTarget::Time)
            .map_err(|e| format!("{e}; or latest, or random")),
    }
}
