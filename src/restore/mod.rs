//! Point-in-time restore, in its parts: [`target`] (the target and the backup it needs, pure),
//! [`datadir`] (who runs it, and the data directory checks), `checks` (the source's PostgreSQL
//! version, the archived WAL's end), [`plan`] (what it will do), and the workflow that puts
//! them together with the `pgbackrest` children of [`crate::pgbackrest::child`] ([`run`], in
//! [`workflow`]); [`server`] is the restore at the provider.

mod checks;
pub mod datadir;
mod error;
mod lock;
pub mod plan;
pub mod prefetch;
mod request;
pub mod server;
pub mod target;
pub mod workflow;

pub use datadir::*;
pub use error::{Error, Result};
pub use lock::{preempted, restore_lock, ClusterLock};
pub use plan::Plan;
pub use request::{AtProvider, Here, Request, When};
pub use target::*;
pub use workflow::{run, Outcome};
