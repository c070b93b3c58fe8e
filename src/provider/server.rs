//! Server-side point-in-time restores, for every provider: the recovery window a target is
//! checked against, the one request that asks the provider to restore (a Bridge fork, an IONOS
//! cluster made `fromBackup` or an in-place restore, a Launcher `pitr-clone` or `pitr`), and
//! the phases of the cluster being made, which bridgerest follows until it is ready.

use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;

use super::http::Retry;
use crate::when::Stop;

/// Where a server-side restore goes.
#[derive(Debug, Clone)]
pub enum Dest {
    /// A new cluster named `name`; the other settings are copied from the source unless given.
    New {
        name: String,
        plan: Option<String>,
        region: Option<String>,
        storage: Option<u32>,
        /// The new cluster's database user, where the provider wants one (IONOS requires
        /// `credentials` in a create request).
        db_user: Option<DbUser>,
        /// The new cluster's network (IONOS: one connection, required): `--datacenter`,
        /// `--lan`, `--cidr`, each else from `[ionos]`.
        connection: Option<Connection>,
        /// Whether all three came from the flags (not `[ionos]`'s defaults, which are for the
        /// source's location).
        connection_given: bool,
        /// As small as the provider accepts where its request sizes the cluster beyond
        /// `plan` and `storage` (a drill's copy: IONOS one instance, one core, 2048 MB).
        smallest: bool,
    },
    /// Over the source cluster itself (IONOS, Launcher; Bridge has no such request).
    InPlace,
}

/// Where a new IONOS cluster is attached: a LAN of a datacenter, and its own address there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub datacenter_id: String,
    pub lan_id: String,
    /// `ADDR/PREFIX`: the cluster's IP and its subnet.
    pub cidr: String,
}

/// A database user name and password for a new cluster (a secret: never shown).
#[derive(Debug, Clone)]
pub struct DbUser {
    pub username: String,
    pub password: secrecy::SecretString,
}

/// The times a provider can restore a cluster to: `start` ..= `end` (`None`: now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    /// Where the window comes from, for messages ("oldest_backup_at", "backup chain ...").
    pub from: String,
    /// The backup (IONOS: the backup chain) the restore is made from, where the request names
    /// one.
    pub backup_id: Option<String>,
    /// IONOS: every AVAILABLE backup chain, oldest first, each covering its own part of the
    /// window (empty for the others).
    pub spans: Vec<Span>,
}

/// The part of the window one backup chain covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub backup_id: String,
    pub start: OffsetDateTime,
    /// Where the next chain begins; `None`: now (the active chain), or not reported.
    pub end: Option<OffsetDateTime>,
    pub active: bool,
    /// The chain's PostgreSQL major version, where it is reported.
    pub version: Option<String>,
}

impl Window {
    /// The chain that covers `t`: the newest that starts at or before it and ends after it.
    pub fn span_for(&self, t: OffsetDateTime) -> Option<&Span> {
        self.spans
            .iter()
            .rev()
            .find(|s| s.start <= t && s.end.is_none_or(|e| t < e))
    }

    /// The chain a restore to the end (`--target latest`) applies whole: the active one, else
    /// the newest.
    pub fn latest_span(&self) -> Option<&Span> {
        self.spans
            .iter()
            .rev()
            .find(|s| s.active)
            .or_else(|| self.spans.last())
    }

    /// The chain a restore to `target` is made from, where the provider names one.
    pub fn span_of(&self, target: Stop) -> Option<&Span> {
        match target {
            Stop::Time(t) => self.span_for(t),
            Stop::Latest => self.latest_span(),
        }
    }
}

impl Window {
    /// Why a restore to `target` cannot be made: a time outside the window ([`Window::refuses`]),
    /// or the end (`latest`) of a window that has no start yet.
    pub fn refuses_target(&self, target: Stop, now: OffsetDateTime) -> Option<String> {
        match target {
            Stop::Time(t) => self.refuses(t, now),
            Stop::Latest => self.start.is_none().then(|| self.no_start()),
        }
    }

    fn no_start(&self) -> String {
        format!(
            "there is no recovery window yet ({}: no backup has finished); the provider can restore once the first backup is done",
            self.from
        )
    }

    /// Why `t` is outside the window, if it is.
    pub fn refuses(&self, t: OffsetDateTime, now: OffsetDateTime) -> Option<String> {
        let show = crate::when::show_time;
        let end = self.end.unwrap_or(now).min(now);
        let shown = format!(
            "{} .. {}",
            self.start.map_or_else(|| "(none)".into(), show),
            match self.end {
                Some(e) => show(e),
                None => format!("now ({})", show(now)),
            }
        );
        match self.start {
            None => Some(self.no_start()),
            Some(s) if t < s => Some(format!(
                "--target-time {} is before the recovery window {shown} (from {}): choose a later time",
                show(t),
                self.from
            )),
            Some(_) if t > end => Some(format!(
                "--target-time {} is after the recovery window {shown} (from {}): choose an earlier time",
                show(t),
                self.from
            )),
            Some(_) => None,
        }
    }
}

/// The one request that starts a server-side restore, as it will be sent. Its body may hold
/// a secret (a new cluster's database password): `shown` is the body with it redacted, and
/// Debug prints only that.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    /// The path under the provider's base URL (what is sent).
    pub path: String,
    /// The full URL (what is shown).
    pub url: String,
    /// What is sent.
    pub body: Value,
    /// What is shown: `body` with secrets as `[redacted]`.
    pub shown: Value,
    /// Whether it may be repeated blindly (Bridge: it carries an `Idempotency-Key`).
    pub retry: Retry,
    /// The cluster it works on when that is known before it is sent (in place: the source).
    pub cluster: Option<String>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body", &self.shown)
            .finish_non_exhaustive()
    }
}

/// How far a cluster being restored has come, by the states the provider documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// A documented state of progress, in the provider's words (e.g. `creating`, `BUSY`).
    Working(String),
    /// Ready to use.
    Ready,
    /// Failed, or going away (`destroying`): the provider's state, and what it says.
    Failed(String),
    /// A state the provider does not document (or documents as unknown): not progress.
    /// Waited through for a few minutes, then an error naming it.
    Unknown(String),
}

/// A restored cluster, as the end of a restore reports it.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    pub id: String,
    pub name: String,
    pub host: Option<String>,
}

/// How to connect to a cluster a restore made (or overwrote): what its provider's answers hold.
/// The password is a secret: [`WayIn::conninfo`] never holds it, [`WayIn::pgpass_line`] does.
#[derive(Debug, Clone, Default)]
pub struct WayIn {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub password: Option<secrecy::SecretString>,
    /// Where the parts came from, and what the provider does not document.
    pub notes: Vec<String>,
}

/// What a way in is asked for with: the role to connect as where the provider has roles
/// (Crunchy Bridge), the database user bridgerest created the cluster with (IONOS).
#[derive(Debug, Clone, Copy)]
pub struct WayInAsk<'a> {
    pub role: &'a str,
    pub db_user: Option<&'a DbUser>,
}

impl WayIn {
    /// A libpq connection string without the password (TLS required: every provider's
    /// PostgreSQL takes TLS).
    pub fn conninfo(&self) -> String {
        let q = |v: &str| {
            let safe = !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
            match safe {
                true => v.to_string(),
                false => format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'")),
            }
        };
        let mut parts = Vec::new();
        if let Some(h) = &self.host {
            parts.push(format!("host={}", q(h)));
        }
        if let Some(p) = self.port {
            parts.push(format!("port={p}"));
        }
        if let Some(d) = &self.database {
            parts.push(format!("dbname={}", q(d)));
        }
        if let Some(u) = &self.user {
            parts.push(format!("user={}", q(u)));
        }
        parts.push("sslmode=require".into());
        parts.join(" ")
    }

    /// The line of a pgpass file for it (`host:port:database:user:password`, `:` and `\`
    /// escaped), when its host, user and password are known.
    pub fn pgpass_line(&self) -> Option<String> {
        use secrecy::ExposeSecret;
        let esc = |v: &str| v.replace('\\', "\\\\").replace(':', "\\:");
        let (host, user, pw) = (
            self.host.as_ref()?,
            self.user.as_ref()?,
            self.password.as_ref()?,
        );
        Some(format!(
            "{}:{}:{}:{}:{}\n",
            esc(host),
            self.port.map_or_else(|| "*".into(), |p| p.to_string()),
            self.database.as_deref().map_or_else(|| "*".into(), esc),
            esc(user),
            esc(pw.expose_secret())
        ))
    }
}

/// What the daemon shows about a cluster's backups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupWatch {
    /// When the newest backup finished (where the provider reports it).
    pub last_backup: Option<OffsetDateTime>,
    /// The start of the recovery window.
    pub window_start: Option<OffsetDateTime>,
    /// Why backups are in trouble regardless of their age (IONOS: no active backup chain).
    pub problem: Option<String>,
    /// The cluster's name at the provider (filled in by `Client::watch`).
    pub name: Option<String>,
}

/// A JSON string field, looked for under each of `names` in turn (for APIs whose field names
/// are not documented, or differ between versions).
pub(crate) fn first_str<'a>(v: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| v.get(*n).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
}

/// A JSON time field (RFC 3339), looked for under each of `names`; a value that is not a time,
/// or one out of [`crate::when::YEARS`], is an error naming the field.
pub(crate) fn first_time(v: &Value, names: &[&str]) -> Result<Option<OffsetDateTime>, String> {
    for n in names {
        match v.get(*n) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => {
                let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| format!("field `{n}` is not an RFC 3339 time"))?;
                return crate::when::in_range(n, t)
                    .map(Some)
                    .map_err(|e| format!("field {e}"));
            }
            Some(_) => return Err(format!("field `{n}` is not a string")),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_way_in_quotes_what_libpq_and_pgpass_would_misread_and_keeps_its_password_out_of_conninfo()
    {
        let way = WayIn {
            host: Some("db.example.com".into()),
            port: Some(5432),
            user: Some("o'brien app".into()),
            database: Some("sales:eu".into()),
            password: Some(secrecy::SecretString::from("p:w\\d".to_string())),
            notes: vec![],
        };
        assert_eq!(
            way.conninfo(),
            "host=db.example.com port=5432 dbname='sales:eu' user='o\\'brien app' sslmode=require"
        );
        assert!(!way.conninfo().contains("p:w"));
        assert_eq!(
            way.pgpass_line().unwrap(),
            "db.example.com:5432:sales\\:eu:o'brien app:p\\:w\\\\d\n"
        );
        // No port or database: any (`*`); no password: no line.
        let bare = WayIn {
            port: None,
            database: None,
            ..way.clone()
        };
        assert!(bare
            .pgpass_line()
            .unwrap()
            .starts_with("db.example.com:*:*:"));
        let none = WayIn {
            password: None,
            ..way
        };
        assert_eq!(none.pgpass_line(), None);
        assert_eq!(WayIn::default().conninfo(), "sslmode=require");
    }

    #[test]
    fn the_window_refuses_before_after_and_without_a_start() {
        let now = datetime!(2026-11-23 12:00 UTC);
        let w = Window {
            start: Some(datetime!(2026-11-16 00:00 UTC)),
            end: None,
            from: "oldest_backup_at".into(),
            backup_id: None,
            spans: vec![],
        };
        assert_eq!(w.refuses(datetime!(2026-11-20 00:00 UTC), now), None);
        let before = w.refuses(datetime!(2026-11-01 00:00 UTC), now).unwrap();
        assert!(
            before.contains(
                "is before the recovery window 2026-11-16T00:00:00Z .. now (2026-11-23T12:00:00Z)"
            ),
            "{before}"
        );
        let after = w.refuses(datetime!(2026-11-24 00:00 UTC), now).unwrap();
        assert!(after.contains("is after the recovery window"), "{after}");
        // A stated end bounds it too.
        let ended = Window {
            end: Some(datetime!(2026-11-20 00:00 UTC)),
            ..w.clone()
        };
        assert!(ended
            .refuses(datetime!(2026-11-21 00:00 UTC), now)
            .is_some());
        let none = Window { start: None, ..w };
        assert!(none
            .refuses(now, now)
            .unwrap()
            .contains("no recovery window yet"));
    }

    #[test]
    fn latest_applies_the_active_chain_else_the_newest() {
        let span = |id: &str, start, active| Span {
            backup_id: id.into(),
            start,
            end: None,
            active,
            version: Some("15".into()),
        };
        let mut w = Window {
            start: Some(datetime!(2026-10-01 00:00 UTC)),
            end: None,
            from: "2 AVAILABLE backup chains".into(),
            backup_id: None,
            spans: vec![
                span("old", datetime!(2026-10-01 00:00 UTC), false),
                span("active", datetime!(2026-11-01 00:00 UTC), true),
            ],
        };
        let now = datetime!(2026-11-23 12:00 UTC);
        assert_eq!(w.span_of(Stop::Latest).unwrap().backup_id, "active");
        assert_eq!(w.refuses_target(Stop::Latest, now), None);
        w.spans[1].active = false;
        assert_eq!(w.span_of(Stop::Latest).unwrap().backup_id, "active");
        w.spans.swap(0, 1);
        w.spans[1].active = true;
        assert_eq!(w.span_of(Stop::Latest).unwrap().backup_id, "old");
        let t = datetime!(2026-11-02 00:00 UTC);
        assert_eq!(w.refuses_target(Stop::Time(t), now), w.refuses(t, now));
        let none = Window {
            start: None,
            spans: vec![],
            ..w
        };
        assert!(none.span_of(Stop::Latest).is_none());
        assert!(none
            .refuses_target(Stop::Latest, now)
            .unwrap()
            .contains("no recovery window yet"));
    }

    #[test]
    fn fields_are_found_under_any_of_their_names() {
        let v = serde_json::json!({"earliest_time": "2026-11-16T00:00:00Z", "latest": 5});
        assert_eq!(
            first_time(&v, &["earliest", "earliest_time"]).unwrap(),
            Some(datetime!(2026-11-16 00:00 UTC))
        );
        assert_eq!(first_time(&v, &["nothing"]).unwrap(), None);
        assert_eq!(
            first_time(&v, &["latest"]).unwrap_err(),
            "field `latest` is not a string"
        );
        assert_eq!(
            first_str(&serde_json::json!({"state": "BUSY"}), &["status", "state"]),
            Some("BUSY")
        );
    }
}
