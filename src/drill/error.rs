//! Why a drill did not start, or its copy could not be made, held or removed. The variant
//! decides the exit code ([`Error::exit`]); each message is whole.

use std::path::PathBuf;

use crate::exit::Exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused or failed as a restore would be (the cluster, its stanza, the user, the restore
    /// lock, the plan): a drill is a restore, and exits like one.
    #[error(transparent)]
    Restore(#[from] crate::restore::Error),
    /// No client for the stanza's token call.
    #[error(transparent)]
    Client(#[from] crate::clients::Error),
    /// The token call that names the stanza failed.
    #[error(transparent)]
    Api(#[from] crate::provider::ApiError),
    /// Another drill holds the scratch directory: this one does not start (exit 1).
    #[error("another drill ({holder}) uses {}: this one does not start; give each cluster its own drill.scratch, or try again later", .scratch.display())]
    Busy {
        holder: crate::fsutil::Holder,
        scratch: PathBuf,
    },
    /// The copy is not one a drill may empty, stop or use (the message names it and what to
    /// do), or it went away (exit 1).
    #[error("{0}")]
    Copy(String),
    /// The reports directory cannot be used.
    #[error("the drill reports directory {}: {err}", .dir.display())]
    Reports {
        dir: PathBuf,
        err: crate::fsutil::Error,
    },
    /// Ctrl-C, SIGTERM or the daemon's stop ended the drill; what its cleanup did (exit 130).
    #[error("interrupted; {0}")]
    Interrupted(String),
    /// A bug: what bridgerest writes could not be encoded.
    #[error("internal error: {0}")]
    Internal(String),
    /// A file or directory of the copy, the reports or the marker.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::Error),
    /// The restored copy's PostgreSQL did not start.
    #[error(transparent)]
    Recovery(#[from] crate::recovery::Error),
}

impl Error {
    /// The exit code this error ends `bridgerest drill` with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Restore(e) => e.exit(),
            Error::Interrupted(_) => Exit::Interrupted,
            Error::Client(e) => e.exit(),
            Error::Api(_)
            | Error::Busy { .. }
            | Error::Copy(_)
            | Error::Reports { .. }
            | Error::Internal(_)
            | Error::Fs(_)
            | Error::Recovery(_) => Exit::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `return Err(Error::Copy(format!(...)))`.
macro_rules! refuse {
    ($($t:tt)*) => { return Err($crate::drill::Error::Copy(format!($($t)*))) };
}

pub(crate) use refuse;
