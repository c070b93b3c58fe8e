//! Exit codes, so scripts can tell a bad invocation from a failed run.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Success = 0,
    /// The command failed (API, file system, pgBackRest).
    Failure = 1,
    /// The invocation or the configuration is wrong; nothing was attempted.
    Usage = 2,
    /// Some clusters were refreshed, others failed (their previous stanzas were kept).
    Partial = 3,
    /// Interrupted (Ctrl-C) while waiting; what was started goes on.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}
