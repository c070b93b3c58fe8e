//! Why a restore did not happen or did not finish. The variant decides the exit code
//! ([`Error::exit`]); the message names what is wrong and what to do.

use crate::exit::Exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be carried out as given; nothing was attempted (exit 2).
    #[error("{0}")]
    Refused(String),
    /// The config cannot be used (exit 2).
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    /// Ctrl-C or SIGTERM while following the provider: what was sent goes on (exit 130).
    #[error("interrupted while waiting for cluster {id}")]
    Interrupted { id: String },
    /// Ctrl-C or SIGTERM during a restore here (exit 130).
    #[error("interrupted: the restore of cluster {id} stopped with its pgbackrest; what was restored stays in the data directory (run again with --delta to go on), and a PostgreSQL it started, if any, runs on")]
    Stopped { id: String },
    /// The restore was attempted and failed, or its outcome was not seen (exit 1).
    #[error("{0}")]
    Failed(String),
    /// pgBackRest could not reach the repository: its kind and pgBackRest's own line
    /// (exit 1). Nothing about the backup follows from it (pgBackRest's error 75 after it
    /// means only that nothing could be read).
    #[error("the repository could not be reached ({kind}): {line}; check the store's endpoint, port and TLS settings in the stanza (`bridgerest check` probes it)")]
    Unreachable { kind: &'static str, line: String },
    /// The data directory cannot take the restore (exit 1: it is a fact of this host, not of
    /// the command line).
    #[error(transparent)]
    DataDir(#[from] super::DirError),
    /// The user to run pgBackRest and PostgreSQL as cannot be used (exit 1; a `--user` that
    /// names no user is [`Error::Refused`]).
    #[error(transparent)]
    User(#[from] crate::runas::Error),
    /// A file or directory of this host cannot be used, or the system refused an operation on
    /// it (exit 1).
    #[error(transparent)]
    Fs(#[from] crate::fsutil::Error),
    /// pgBackRest or one of PostgreSQL's programs did not answer (exit 1).
    #[error(transparent)]
    Child(#[from] crate::pgbackrest::Error),
    /// The stanza's credentials could not be refreshed, or its file read (exit 1).
    #[error(transparent)]
    Refresh(#[from] crate::refresh::Error),
    /// The restored PostgreSQL did not start, or did not finish its recovery (exit 1).
    #[error(transparent)]
    Recovery(#[from] crate::recovery::Error),
    /// This host failed a system call (a signal handler, a terminal).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// No client for the provider (exit 2 for what the config or the command line lacks).
    #[error(transparent)]
    Client(#[from] crate::clients::Error),
    /// The provider refused to build the request (exit 2), or its API failed (exit 1).
    #[error(transparent)]
    Call(#[from] crate::provider::CallError),
    /// The provider's API failed (exit 1).
    #[error(transparent)]
    Api(#[from] crate::provider::ApiError),
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Refused(_) | Error::Config(_) => Exit::Usage,
            Error::Interrupted { .. } | Error::Stopped { .. } => Exit::Interrupted,
            Error::Call(crate::provider::CallError::Refused(_)) => Exit::Usage,
            Error::Failed(_)
            | Error::Unreachable { .. }
            | Error::Api(_)
            | Error::Call(_)
            | Error::DataDir(_)
            | Error::User(_)
            | Error::Fs(_)
            | Error::Child(_)
            | Error::Refresh(_)
            | Error::Recovery(_)
            | Error::Io(_) => Exit::Failure,
            Error::Client(e) => e.exit(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `return Err(Error::Refused(format!(...)))`: refused before anything was attempted.
macro_rules! refuse {
    ($($t:tt)*) => { return Err($crate::restore::Error::Refused(format!($($t)*))) };
}

/// `return Err(Error::Failed(format!(...)))`.
macro_rules! fail {
    ($($t:tt)*) => { return Err($crate::restore::Error::Failed(format!($($t)*))) };
}

pub(crate) use {fail, refuse};
