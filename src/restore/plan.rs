//! The plan of a restore here: what it will do, each fact by name, printed before it starts (and
//! kept in a drill's report).

/// What a restore here will do, each fact by name; printed one `name: value` line each.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub cluster: String,
    pub stanza: String,
    /// The source cluster: its name, version and state.
    pub source: String,
    /// What may not work (the PostgreSQL version here).
    pub warning: Option<String>,
    pub target: String,
    pub backup: String,
    /// How the backup was chosen, where that needs saying.
    pub note: Option<String>,
    pub window: String,
    pub data_dir: String,
    pub wal: String,
    /// The `pgbackrest restore` command line (secrets in files, not in it).
    pub command: String,
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |f: &mut std::fmt::Formatter<'_>, name: &str, v: &str| {
            writeln!(f, "{:<11}{v}", format!("{name}:"))
        };
        line(
            f,
            "cluster",
            &format!("{} (stanza {})", self.cluster, self.stanza),
        )?;
        line(f, "source", &self.source)?;
        if let Some(w) = &self.warning {
            line(f, "warning", w)?;
        }
        line(f, "target", &self.target)?;
        line(f, "backup", &self.backup)?;
        if let Some(n) = &self.note {
            line(f, "note", n)?;
        }
        line(f, "window", &self.window)?;
        line(f, "data dir", &self.data_dir)?;
        line(f, "wal", &self.wal)?;
        line(f, "command", &self.command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_prints_one_aligned_line_per_fact_and_skips_what_it_lacks() {
        let mut p = Plan {
            cluster: "c1".into(),
            stanza: "s1".into(),
            source: "prod, PostgreSQL 15, state ready".into(),
            warning: None,
            target: "2026-12-02T09:14:00Z, then promote".into(),
            backup: "b1 (full)".into(),
            note: None,
            window: "a .. b".into(),
            data_dir: "/x (empty), as postgres".into(),
            wal: "archive-get".into(),
            command: "pgbackrest restore".into(),
        };
        let text = p.to_string();
        assert!(text.starts_with("cluster:   c1 (stanza s1)\n"), "{text}");
        assert!(
            text.contains("\ndata dir:  /x (empty), as postgres\n"),
            "{text}"
        );
        assert!(text.ends_with("command:   pgbackrest restore\n"), "{text}");
        assert!(
            !text.contains("warning:") && !text.contains("note:"),
            "{text}"
        );
        p.warning = Some("PostgreSQL 16 here".into());
        assert!(p
            .to_string()
            .contains("\nwarning:   PostgreSQL 16 here\ntarget:"));
    }
}
