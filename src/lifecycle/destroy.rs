//! Deleting a cluster at its provider (`bridgerest destroy`): only one bridgerest created,
//! unless forced; only with `--confirm` repeating its id or name as the provider names it;
//! then waiting, bounded, until the provider no longer knows it.

use std::time::{Duration, Instant};

use super::{created, next_poll, Error, Result, POLL_ERRORS, POLL_FIRST};
use crate::config::Config;
use crate::narrate::Narrate;
use crate::provider::{ApiError, Client, Cluster, Presence, ProviderKind};
use crate::shutdown::Shutdown;
use crate::text::excerpt;

/// What `destroy` is asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub cluster: String,
    pub provider: Option<ProviderKind>,
    /// The cluster's id or its name again, exactly.
    pub confirm: String,
    /// Delete a cluster bridgerest did not create.
    pub force: bool,
    /// Return once the provider accepted the deletion.
    pub no_wait: bool,
    /// How long to wait until it is gone (default: `api.wait_timeout`).
    pub wait_timeout: Option<Duration>,
}

/// How a destroy ended.
#[derive(Debug)]
pub enum Outcome {
    /// `--no-wait`: the provider accepted the deletion.
    Accepted { title: &'static str, id: String },
    /// The provider no longer knows the cluster (`how`: what it answered), after `elapsed`.
    Gone {
        title: &'static str,
        id: String,
        name: String,
        how: String,
        elapsed: Duration,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Accepted { title, id } => writeln!(
                f,
                "accepted: {title} is deleting cluster {id}; `bridgerest clusters --created` shows when it is gone"
            ),
            Outcome::Gone {
                title,
                id,
                name,
                how,
                elapsed,
            } => writeln!(
                f,
                "deleted: {title} cluster {id} \"{}\" is gone ({how}), after {}",
                excerpt(name, 80),
                crate::text::duration(*elapsed)
            ),
        }
    }
}

pub async fn run(
    cfg: &Config,
    req: &Request,
    out: &Narrate,
    shutdown: &Shutdown,
) -> Result<Outcome> {
    let id = req.cluster.as_str();
    // A cluster bridgerest created is of the provider its record says (a UUID alone could be
    // IONOS's or Launcher's).
    let flag = req.provider.or_else(|| {
        let mut of = created::load(cfg)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.id == id)
            .map(|c| c.provider);
        of.next().filter(|_| cfg.provider_of(id).is_none())
    });
    let provider = crate::clients::provider_for(cfg, id, flag)?;
    let title = provider.title();
    if !provider.capabilities().destroy {
        return Err(Error::Refused(format!(
            "{title} has no cluster bridgerest can delete: `destroy` deletes clusters at {}",
            crate::provider::registry::titles_that(|c| c.destroy, "or")
        )));
    }
    let client = crate::clients::client_for(cfg, provider)?;
    let recorded = match created::find(cfg, provider, id) {
        Ok(r) => r,
        // Forced, the record is not needed: it is said why it was not read.
        Err(e) if req.force => {
            out.note(&format!("warning: {e}"));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let c = match client.get_cluster(id).await {
        Ok(c) => c,
        Err(e @ ApiError::NotFound { .. }) if recorded.is_some() => {
            created::drop_ids(cfg, provider, &[id.to_string()]).await?;
            return Err(Error::Failed(format!(
                "{title} cluster {id} is gone already ({e}): nothing to delete; it is dropped from bridgerest's record of the clusters it created"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let name = excerpt(&c.name, 80);
    if recorded.is_none() && !req.force {
        return Err(Error::Refused(format!(
            "{title} cluster {id} \"{name}\" was not created by bridgerest (its record of the clusters `restore --into` made, {}, does not list it): destroy deletes only those; add --force to delete it anyway",
            created::path(cfg).display()
        )));
    }
    confirm(&req.confirm, &c)?;
    out.say(&format!(
        "Delete {title} cluster {id} \"{name}\" (state {}): {}",
        c.state
            .as_deref()
            .map_or_else(|| "not reported".into(), |s| excerpt(s, 40)),
        match &recorded {
            Some(r) => format!(
                "bridgerest created it from cluster {} at {}",
                excerpt(&r.source, 80),
                crate::when::show_time(r.created_at)
            ),
            None => "not created by bridgerest (--force)".into(),
        }
    ));
    let started = Instant::now();
    send(&client, id, out).await?;
    if req.no_wait {
        return Ok(Outcome::Accepted {
            title,
            id: id.to_string(),
        });
    }
    let limit = req.wait_timeout.unwrap_or(cfg.api.wait_timeout);
    let how = tokio::select! {
        r = tokio::time::timeout(limit, gone(&client, id, out)) => match r {
            Ok(r) => r?,
            Err(_) => return Err(Error::Failed(format!(
                "bridgerest stopped waiting after {} (--wait-timeout, api.wait_timeout): {title} may still be deleting cluster {id}; `bridgerest clusters --created` shows when it is gone",
                humantime::format_duration(limit)
            ))),
        },
        () = shutdown.wait() => {
            out.end_status();
            return Err(Error::Interrupted(format!(
                "interrupted while waiting for cluster {id} to go: {title} goes on deleting it, bridgerest only stopped watching; `bridgerest clusters --created` shows when it is gone"
            )));
        }
    };
    if recorded.is_some() {
        created::drop_ids(cfg, provider, &[id.to_string()]).await?;
    }
    Ok(Outcome::Gone {
        title,
        id: id.to_string(),
        name: c.name,
        how,
        elapsed: started.elapsed(),
    })
}

/// `--confirm` must repeat the cluster's id or its name (as the provider names it), exactly.
fn confirm(given: &str, c: &Cluster) -> Result<()> {
    if given == c.id || (!c.name.trim().is_empty() && given == c.name) {
        return Ok(());
    }
    let name = excerpt(&c.name, 80);
    let either = match c.name.trim().is_empty() {
        true => format!("its id (--confirm {})", c.id),
        false => format!(
            "its id or its name (--confirm {} or --confirm \"{name}\")",
            c.id
        ),
    };
    Err(Error::Refused(format!(
        "--confirm {} is not the cluster being deleted ({} \"{name}\"): repeat {either} to delete it",
        excerpt(given, 80),
        c.id
    )))
}

/// Sends the delete. A deletion that got no clear answer (a timeout, a 5xx) is looked at
/// before anything else: deleting or gone, it was accepted.
async fn send(client: &Client, id: &str, out: &Narrate) -> Result<()> {
    let title = client.kind().title();
    match client.delete_cluster(id).await {
        Ok(()) => Ok(()),
        Err(e) if e.maybe_acted() => {
            out.note(&format!(
                "the delete got no clear answer ({e}); {title} may have acted on it, so bridgerest looks"
            ));
            match client.presence(id).await? {
                Presence::There {
                    deleting: false,
                    state,
                } => Err(Error::Failed(format!(
                    "{title} did not accept the deletion of cluster {id} (it is {}, not being deleted): try again later: {e}",
                    state.as_deref().unwrap_or("in a state not reported")
                ))),
                _ => {
                    out.note(&format!(
                        "cluster {id} is being deleted or gone: the request was accepted"
                    ));
                    Ok(())
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Follows cluster `id` until its provider no longer knows it; what it answered then.
async fn gone(client: &Client, id: &str, out: &Narrate) -> Result<String> {
    let title = client.kind().title();
    let started = Instant::now();
    let (mut delay, mut last, mut errors) = (POLL_FIRST, String::new(), 0u32);
    loop {
        let state = match client.presence(id).await {
            Ok(Presence::Gone) => break Ok("the API no longer knows it: 404".into()),
            Ok(Presence::Hidden) => {
                break Ok(format!(
                    "the API no longer shows it: 403, which {title} answers for a cluster that does not exist"
                ))
            }
            Ok(Presence::There { state, deleting }) => {
                errors = 0;
                let s = state.unwrap_or_else(|| "(no state reported)".into());
                match deleting {
                    true => s,
                    false => format!("{s}; waiting for the deletion to show"),
                }
            }
            Err(e) if errors + 1 < POLL_ERRORS && e.is_transient() => {
                errors += 1;
                format!("(cannot read its state: {e})")
            }
            Err(e) => return Err(e.into()),
        };
        if state != last {
            out.note(&format!(
                "cluster {id}: {state} ({})",
                crate::text::duration(started.elapsed())
            ));
        }
        last = state;
        tokio::time::sleep(delay).await;
        delay = next_poll(delay);
    }
}
