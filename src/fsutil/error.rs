//! Why a file or directory was not read, written or used.

/// Why a file or directory was not read, written or used. Each message is whole (the system's
/// reason included, no `source()` chain), so `{e}` shows it all; it names the path and, where
/// bridgerest refused it, what to do there. What the path is for (a config key, a command) is
/// the caller's to say: nothing here knows it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The system refused an operation: `what` names it and its path ("reading /x").
    #[error("{what}: {err}")]
    Io { what: String, err: std::io::Error },
    /// The path is not one bridgerest may trust or use as it is (a link, a FIFO, another
    /// user's file, a directory every user can write, too large, missing): nothing was done
    /// with it.
    #[error("{0}")]
    Refused(String),
    /// A user or group (`kind`) named does not exist on this host; the caller says where the
    /// name came from.
    #[error("no {kind} named \"{name}\" on this host")]
    NoSuchOwner { kind: &'static str, name: String },
    /// A directory to write in does not exist (`exists: false`) or is not a directory; the
    /// caller says which setting chose it and how to make it.
    #[error("{}", match .exists {
        false => format!("directory {} does not exist", .dir.display()),
        true => format!("{} is not a directory", .dir.display()),
    })]
    NoDir {
        dir: std::path::PathBuf,
        exists: bool,
    },
    /// A file or directory (`dir`) is owned by another user than root, this process's and the
    /// configured owner: nothing is trusted or written there.
    #[error("{}", match .dir {
        false => format!("{} is owned by {}, not by root or the configured owner: bridgerest will not trust or replace another user's file; remove it or chown it", .path.display(), .owner),
        true => format!("directory {} is owned by {}, who could replace what bridgerest writes there: give it to root or the configured owner (chown), or write elsewhere", .path.display(), .owner),
    })]
    Untrusted {
        path: std::path::PathBuf,
        owner: String,
        dir: bool,
    },
    /// The lock was held by another process for all of the wait; the caller says what the lock
    /// guards and what sets the wait.
    #[error("waited {} for the lock on {}, held by {holder}: it is stuck or slow; try again, or stop it", humantime::format_duration(std::time::Duration::from_secs(.waited.as_secs())), .lock.display())]
    LockTimeout {
        waited: std::time::Duration,
        lock: std::path::PathBuf,
        holder: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `.doing(|| format!("reading {}", path.display()))`: a system error, with what was being done.
pub trait Doing<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<std::io::Error>> Doing<T> for std::result::Result<T, E> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Io {
            what: what(),
            err: e.into(),
        })
    }
}

/// `return Err(Error::Refused(format!(...)))`.
macro_rules! refuse {
    ($($t:tt)*) => { return Err($crate::fsutil::Error::Refused(format!($($t)*))) };
}

pub(crate) use refuse;
