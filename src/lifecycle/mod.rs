//! The clusters bridgerest made at a provider, and what else it asks of a provider beside a
//! restore: the record of what `restore --into` created ([`created`]), deleting a cluster and
//! waiting until it is gone ([`destroy`]), and a backup taken on request before a planned
//! restore ([`backup`]). Capabilities decide who can do what; nothing here names a provider.

pub mod backup;
pub mod created;
pub mod destroy;

use std::time::Duration;

use crate::exit::Exit;
use crate::provider::ApiError;

/// Why a destroy or an on-demand backup did not happen or did not finish. The variant decides
/// the exit code ([`Error::exit`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be carried out as given; nothing was sent (exit 2).
    #[error("{0}")]
    Refused(String),
    /// It was attempted and failed, or its outcome was not seen (exit 1).
    #[error("{0}")]
    Failed(String),
    /// The provider's API failed (exit 1).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No client for the provider (its exit code).
    #[error(transparent)]
    Client(#[from] crate::clients::Error),
    /// The record of created clusters cannot be used (exit 1).
    #[error(transparent)]
    Record(#[from] created::Error),
    /// Ctrl-C or SIGTERM while waiting: what was asked goes on at the provider (exit 130).
    #[error("{0}")]
    Interrupted(String),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Refused(_) => Exit::Usage,
            Error::Client(e) => e.exit(),
            Error::Interrupted(_) => Exit::Interrupted,
            Error::Failed(_) | Error::Api(_) | Error::Record(_) => Exit::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The first wait between two looks at the provider; it grows to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(15);
/// Looks in a row that fail with a transient error before a wait gives up.
const POLL_ERRORS: u32 = 5;

/// The next wait between looks, from `d`.
fn next_poll(d: Duration) -> Duration {
    (d * 3 / 2).min(POLL_MAX)
}

/// A recorded cluster as its provider shows it now.
#[derive(Debug, Clone)]
pub struct Seen {
    pub created: created::Created,
    /// Its state, or why it cannot be told (shown in its place).
    pub state: String,
}

/// Every cluster in the record that is still there, each looked at at its provider; those the
/// provider no longer knows (404) are said through `out` and dropped from the record. One the
/// provider hides (Crunchy Bridge's 403: gone, or out of the key's reach) is kept and said so.
pub async fn created_still_there(
    cfg: &crate::config::Config,
    out: &crate::narrate::Narrate,
) -> Result<Vec<Seen>> {
    use crate::provider::Presence;
    let list = created::load(cfg)?;
    let mut clients: std::collections::HashMap<
        crate::provider::ProviderKind,
        crate::provider::Client,
    > = Default::default();
    let (mut seen, mut gone) = (Vec::new(), Vec::new());
    for c in list {
        let client = match clients.get(&c.provider) {
            Some(cl) => cl.clone(),
            None => {
                let cl = crate::clients::client_for(cfg, c.provider)?;
                clients.insert(c.provider, cl.clone());
                cl
            }
        };
        let state = match client.presence(&c.id).await {
            Ok(Presence::Gone) => {
                out.note(&format!(
                    "{} cluster {} \"{}\" is gone (404): dropped from the record",
                    c.provider.title(),
                    c.id,
                    crate::text::excerpt(&c.name, 80)
                ));
                gone.push(c);
                continue;
            }
            Ok(Presence::Hidden) => {
                "not visible (403: gone, or out of this key's reach)".to_string()
            }
            Ok(Presence::There { state, deleting }) => {
                let s = state.unwrap_or_else(|| "-".into());
                match deleting {
                    true => format!("{s} (being deleted)"),
                    false => s,
                }
            }
            Err(e) => format!(
                "(cannot tell: {})",
                crate::text::excerpt(&e.to_string(), 200)
            ),
        };
        seen.push(Seen { created: c, state });
    }
    for p in crate::provider::ProviderKind::ALL {
        let ids: Vec<String> = gone
            .iter()
            .filter(|c| c.provider == *p)
            .map(|c| c.id.clone())
            .collect();
        created::drop_ids(cfg, *p, &ids).await?;
    }
    Ok(seen)
}
