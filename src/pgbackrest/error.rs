//! Why a child process (pgBackRest, or one of PostgreSQL's programs) did not give an answer.

use std::process::ExitStatus;
use std::time::Duration;

/// Why a child process did not give an answer: what ran, and what it said. Each message is
/// whole (the system's reason included, no `source()` chain), so `{e}` shows it all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A caller built an empty command line (a bug).
    #[error("internal error: an empty command line")]
    Empty,
    /// The program could not be started; `hint` says what to install or set.
    #[error("cannot run {program}{hint}: {err}")]
    Spawn {
        program: String,
        hint: &'static str,
        err: std::io::Error,
    },
    /// It ran longer than it may and was killed.
    #[error("{program} took over {}", humantime::format_duration(*.limit))]
    Timeout { program: String, limit: Duration },
    /// Waiting for it failed.
    #[error("waiting for {program}: {err}")]
    Wait {
        program: String,
        err: std::io::Error,
    },
    /// It ran and failed: its exit status and the end of its stderr.
    #[error("{what} failed ({status}): {stderr}")]
    Failed {
        what: String,
        status: ExitStatus,
        stderr: String,
    },
    /// It printed more than bridgerest reads of it, and was stopped.
    #[error("{program} printed more than {} on {stream}: stopped (bridgerest reads no more of a program's output)", crate::text::human_size(*.max))]
    TooMuch {
        program: String,
        stream: &'static str,
        max: u64,
    },
    /// What it printed is not what pgBackRest prints, or says the stanza cannot be used.
    #[error("{0}")]
    Output(String),
}

/// What [`Error::Spawn`] says when `pgbackrest` itself cannot be started.
pub const INSTALL: &str = ": install pgBackRest (apt-get install pgbackrest) or set pgbackrest.bin";

pub type Result<T, E = Error> = std::result::Result<T, E>;
