//! Times as bridgerest reads and shows them, and the target a restore recovers to: parsing
//! a target (`latest`, RFC 3339, pgBackRest's own form), pgBackRest's `--target` form, the one
//! RFC 3339 form shown to people and sent to APIs; the years a time from outside may have
//! ([`YEARS`], checked where it enters: [`in_range`], the serde helpers) and sums that cannot
//! overflow ([`later`]). Ground floor: it uses nothing of the crate.

use std::ops::RangeInclusive;

use serde::{de::Error as _, Deserializer};
use time::format_description::well_known::Rfc3339;
use time::macros::{datetime, format_description};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The years (in UTC) a time from outside may have: an API's, a file's, a flag's. Anything
/// else is a broken value, refused where it enters, naming the field. From 1970: every time
/// bridgerest handles is a backup's or a recovery's, and pgBackRest and PostgreSQL give theirs
/// as seconds since the epoch, which bridgerest compares them by. To 9000: the `time` crate
/// ends at 9999, and a time near it overflows when it is moved to UTC (a time of
/// 9999-12-31 at -01:00 is in year 10000 there) or has a duration added; a thousand years'
/// room keeps every conversion and sum bridgerest makes inside.
pub const YEARS: RangeInclusive<i32> = 1970..=9000;

/// The last instant of [`YEARS`].
const LAST: OffsetDateTime = datetime!(9000-12-31 23:59:59 UTC);

/// A time from outside whose year is not in [`YEARS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {value} is out of range: bridgerest accepts times from the years {} to {} (UTC)", YEARS.start(), YEARS.end())]
pub struct OutOfRange {
    /// The field (or flag) it came in.
    pub field: String,
    /// The time as it came (its own offset).
    pub value: String,
}

/// `t`, if its year in UTC (and in its own offset) is in [`YEARS`]; else an error naming
/// `field` and the value.
pub fn in_range(field: &str, t: OffsetDateTime) -> Result<OffsetDateTime, OutOfRange> {
    let utc = t.checked_to_offset(UtcOffset::UTC);
    match utc {
        Some(u) if YEARS.contains(&u.year()) && YEARS.contains(&t.year()) => Ok(t),
        _ => Err(OutOfRange {
            field: field.to_string(),
            value: t.format(&Rfc3339).unwrap_or_else(|_| t.to_string()),
        }),
    }
}

/// `t + d`, or the end of [`YEARS`] where the sum would pass it (a configured duration may be
/// of any length).
pub fn later(t: OffsetDateTime, d: std::time::Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .filter(|s| *s <= LAST)
        .unwrap_or(LAST.max(t))
}

/// serde `deserialize_with` for an RFC 3339 time from outside: [`in_range`], naming `field`.
/// (A wrapper per field gives the name: `deserialize_with` passes none.)
pub fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
    field: &str,
) -> Result<OffsetDateTime, D::Error> {
    let t = time::serde::rfc3339::deserialize(d)?;
    in_range(field, t).map_err(D::Error::custom)
}

/// [`deserialize`] for a time that may be `null` or absent.
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    d: D,
    field: &str,
) -> Result<Option<OffsetDateTime>, D::Error> {
    time::serde::rfc3339::option::deserialize(d)?
        .map(|t| in_range(field, t))
        .transpose()
        .map_err(D::Error::custom)
}

/// serde `with` for RFC 3339 times in bridgerest's own files (the status file, drill reports):
/// as `time::serde::rfc3339`, and a time out of [`YEARS`] refused (serde_json says where).
pub mod file_time {
    use serde::{Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::serialize(t, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        super::deserialize(d, "time")
    }

    /// The same for an optional time.
    pub mod option {
        use serde::{Deserializer, Serializer};
        use time::OffsetDateTime;

        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            time::serde::rfc3339::option::serialize(t, s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            super::super::deserialize_option(d, "time")
        }
    }
}

/// Where recovery stops, once the [`Target`] asked for is resolved: what pgBackRest
/// (`--type`, `--target`) and the providers' restore requests are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A point in time (`--type=time`).
    Time(OffsetDateTime),
    /// The end of the archived WAL (`--type=default`).
    Latest,
}

/// What PostgreSQL does when it reaches the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TargetAction {
    /// End recovery and accept writes.
    #[default]
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

/// Parses a target where it enters (a flag, the config; the one parser of both): `latest`,
/// `random`, RFC 3339 (`2026-11-21T09:14:00Z`), or pgBackRest's
/// `YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]` (UTC when no zone is given).
pub fn parse_target(text: &str) -> Result<Target, String> {
    let word = text.trim();
    if word.eq_ignore_ascii_case("latest") {
        return Ok(Target::Latest);
    }
    if word.eq_ignore_ascii_case("random") {
        return Ok(Target::Random);
    }
    parse_time(text)
        .map(Target::Time)
        .map_err(|e| format!("{e}; or latest, or random"))
}

/// Parses a duration as the flags take it (`90m`, `6h`); zero is refused.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e} (e.g. 90m, 6h)")),
    }
}

/// Parses a target time (see [`parse_target`]); a time out of [`YEARS`] is refused.
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    let t = parse_any_time(text)?;
    in_range(text, t).map_err(|_| {
        format!(
            "\"{text}\" is out of range: use a time from the years {} to {} (UTC)",
            YEARS.start(),
            YEARS.end()
        )
    })
}

fn parse_any_time(text: &str) -> Result<OffsetDateTime, String> {
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
    // A time out of `YEARS` is refused where it enters; one that is not (it could only come
    // from code) is given in its own offset rather than panic.
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    let (h, m, _) = t.offset().as_hms();
    let zone = match m {
        0 => format!("{h:+03}"),
        m => format!("{h:+03}{:02}", m.unsigned_abs()),
    };
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
        0 => format!("{base}{zone}"),
        us => format!("{base}.{us:06}{zone}"),
    }
}

/// A time for people: RFC 3339 in UTC, whole seconds.
pub fn show_time(t: OffsetDateTime) -> String {
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// RFC 3339 as an API takes it (the time's own precision and offset).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The target a restore or a drill is asked for, parsed once where it enters
/// ([`parse_target`]) and carried typed to where it is resolved into a [`Stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The end of the archived WAL (at IONOS: the newest backup chain applied whole).
    Latest,
    /// A time drawn uniformly from the recovery window once the repository has said where
    /// the archived WAL ends, so that over many drills every part of the WAL chain is
    /// replayed. Only where the repository can be read (a restore here, a drill).
    Random,
    /// A point in time.
    Time(OffsetDateTime),
}

impl Target {
    /// Where recovery stops, when that is known without the repository (all but `Random`).
    pub fn stop(self) -> Option<Stop> {
        match self {
            Target::Latest => Some(Stop::Latest),
            Target::Time(t) => Some(Stop::Time(t)),
            Target::Random => None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Latest => write!(f, "latest"),
            Target::Random => write!(f, "random"),
            Target::Time(t) => write!(f, "{}", pgbackrest_time(*t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In UTC, year 10000: past the end of the `time` crate.
    const FAR: &str = "9999-12-31T23:30:00-01:00";

    fn far() -> OffsetDateTime {
        OffsetDateTime::parse(FAR, &Rfc3339).unwrap()
    }

    #[test]
    fn times_from_outside_are_checked_for_their_year_in_utc() {
        let ok = datetime!(2026-11-21 09:14 UTC);
        assert_eq!(in_range("finished_at", ok), Ok(ok));
        let e = in_range("finished_at", far()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("`finished_at` {FAR} is out of range: bridgerest accepts times from the years 1970 to 9000 (UTC)")
        );
        // The bounds, in UTC: 9000-12-31 at -01:00 is 9001 in UTC.
        let edge = |s: &str| in_range("t", OffsetDateTime::parse(s, &Rfc3339).unwrap());
        assert!(edge("1970-01-01T00:00:00Z").is_ok());
        assert!(edge("9000-12-31T23:59:59Z").is_ok());
        assert!(edge("1969-12-31T23:59:59Z").is_err());
        assert!(edge("1970-01-01T00:30:00+01:00").is_err());
        assert!(edge("9000-12-31T23:30:00-01:00").is_err());
        assert!(edge("0001-01-01T00:00:00Z").is_err());
        // As they enter through serde (an API's field) and as flags.
        #[derive(serde::Deserialize, Debug)]
        struct B {
            #[serde(default, deserialize_with = "opt")]
            #[allow(dead_code)]
            finished_at: Option<OffsetDateTime>,
        }
        fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
            deserialize_option(d, "finished_at")
        }
        let e = serde_json::from_str::<B>(&format!(r#"{{"finished_at": "{FAR}"}}"#)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("`finished_at` {FAR} is out of range")),
            "{e}"
        );
        assert!(serde_json::from_str::<B>(r#"{"finished_at": null}"#).is_ok());
        assert!(parse_time(FAR).unwrap_err().contains("is out of range"));
        assert!(parse_time("9999-12-31 23:30:00-01").is_err());
        assert_eq!(parse_time("2026-11-21 09:14:00+00"), Ok(ok));
    }

    #[test]
    fn sums_and_shown_times_never_panic() {
        let t = datetime!(2026-11-21 09:14 UTC);
        assert_eq!(
            later(t, std::time::Duration::from_secs(60)),
            datetime!(2026-11-21 09:15 UTC)
        );
        assert_eq!(later(t, std::time::Duration::MAX), LAST);
        assert_eq!(
            later(t, std::time::Duration::from_secs(8000 * 366 * 86400)),
            LAST
        );
        // A time no check let in is shown in its own offset.
        assert_eq!(show_time(far()), FAR);
        assert_eq!(pgbackrest_time(far()), "9999-12-31 23:30:00-01");
        assert_eq!(pgbackrest_time(t), "2026-11-21 09:14:00+00");
    }
}
