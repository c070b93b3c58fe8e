//! Text as bridgerest shows it: excerpts of foreign text (redacted, escaped, cut), sizes, and
//! tables. Ground floor: it uses nothing of the crate but the redactor.

/// At most `max` characters of text from an API, control characters (terminal escapes, line
/// breaks) shown escaped, "…" where it was cut: how any API-supplied text is shown.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = crate::redact::apply(text);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn human_size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Left-aligned columns, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let n = cells.len();
        let mut s = String::new();
        for (i, (c, w)) in cells.into_iter().zip(&widths).enumerate() {
            s.push_str(c);
            if i + 1 < n {
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// A length of time as people read it in a sentence: `350 ms`, `4.2 s`, `3 min 12 s`,
/// `1 h 5 min`. (A configured value is shown in the config's own syntax, with humantime.)
pub fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 if d.as_millis() < 1000 => format!("{} ms", d.as_millis()),
        0..=59 => format!("{:.1} s", d.as_secs_f64()),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// [`duration`] of `s` seconds (negative and non-finite ones as zero).
pub fn duration_secs(s: f64) -> String {
    duration(std::time::Duration::try_from_secs_f64(s).unwrap_or_default())
}

/// A phase's length in a table column (`4.2 s`), `-` where it is not known.
pub fn seconds(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), |s| format!("{s:.1} s"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_duration_reads_in_the_unit_that_fits() {
        assert_eq!(duration(Duration::from_millis(350)), "350 ms");
        assert_eq!(duration(Duration::from_millis(4200)), "4.2 s");
        assert_eq!(duration(Duration::from_secs(192)), "3 min 12 s");
        assert_eq!(duration(Duration::from_secs(3900)), "1 h 5 min");
        assert_eq!(duration_secs(-1.0), "0 ms");
        assert_eq!(duration_secs(f64::NAN), "0 ms");
        assert_eq!(seconds(None), "-");
        assert_eq!(seconds(Some(4.25)), "4.2 s");
    }
}
