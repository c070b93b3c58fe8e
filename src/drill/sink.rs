//! Where a finished drill's [`Report`] goes: a list of [`ReportSink`]s, each handed the report
//! itself (never a file to read back). The report file is one ([`ReportFile`]); the status
//! file and the Prometheus text are another (the daemon's loop, or a one-shot write of the
//! file: `crate::schedule`'s); a push gateway or a bucket would be one more impl.

use std::path::PathBuf;

use super::report::{write, Report};
use crate::config::Config;
use crate::provider::BoxFut;

/// Why a sink did not take a report: its own error, whole (it is logged, and the drill's
/// verdict stands).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// One place a finished drill's report is published to.
pub trait ReportSink: Send + Sync {
    /// What it is, for the log ("the report file", "the status file").
    fn name(&self) -> &'static str;

    /// Publishes `rep`; says where it can be read whole, where this sink keeps it so (the
    /// report file's path; a URL).
    fn publish<'a>(&'a self, rep: &'a Report) -> BoxFut<'a, Result<Option<String>, SinkError>>;
}

/// The sinks a drill is published to, in order.
pub type Sinks = Vec<Box<dyn ReportSink>>;

/// Publishes `rep` to every sink, in order; one that fails is logged and the others still get
/// it (the drill's verdict stands). Returns where the report can be read whole.
pub async fn publish(sinks: &[Box<dyn ReportSink>], rep: &Report) -> Vec<String> {
    let mut at = Vec::new();
    for sink in sinks {
        match sink.publish(rep).await {
            Ok(Some(w)) => at.push(w),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(cluster = %rep.cluster, "cannot publish the drill to {}: {e}", sink.name())
            }
        }
    }
    at
}

/// The local JSON report file, the record of the drill: `drill.reports`, the last
/// `drill.keep_reports` kept per cluster ([`write()`]).
pub struct ReportFile {
    dir: PathBuf,
    keep: usize,
}

impl ReportFile {
    pub fn new(cfg: &Config) -> ReportFile {
        ReportFile {
            dir: cfg.drill.reports.clone(),
            keep: cfg.drill.keep_reports,
        }
    }
}

impl ReportSink for ReportFile {
    fn name(&self) -> &'static str {
        "its report file"
    }

    fn publish<'a>(&'a self, rep: &'a Report) -> BoxFut<'a, Result<Option<String>, SinkError>> {
        Box::pin(async move {
            let path = write(&self.dir, rep, self.keep)?;
            Ok(Some(path.display().to_string()))
        })
    }
}
