//! Why a file or directory was not read, written or used.

/// Why a file or directory was not read, written or used. Each message is whole (the system's
/// reason included, no `source()` chain), so `{e}` shows it all; it names the path and, where
/// bridgerest refused it, what to do.
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
    /// A user or group the config names does not exist on this host.
    #[error("{0}")]
    NoSuchOwner(String),
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
