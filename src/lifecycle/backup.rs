//! A backup on request, before a planned restore (`bridgerest backup`): asks the provider,
//! says what it answered and what its backup list shows since, and with `--wait` follows the
//! list until a backup that was not finished before the request is (bounded). It reports only
//! what it saw: a provider that may ignore the request (Crunchy Bridge) is never taken to have
//! started a backup until one shows.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{next_poll, Error, Result, POLL_ERRORS, POLL_FIRST};
use crate::config::Config;
use crate::narrate::Narrate;
use crate::provider::{Backup, Client, ProviderKind};
use crate::shutdown::Shutdown;
use crate::text::excerpt;
use crate::when::show_time;

/// What `backup` is asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub cluster: String,
    pub provider: Option<ProviderKind>,
    /// Wait until a backup newer than the request is listed finished.
    pub wait: bool,
    /// How long to wait (default: `api.wait_timeout`).
    pub wait_timeout: Option<Duration>,
}

/// How a backup request ended.
#[derive(Debug)]
pub enum Outcome {
    /// Without `--wait`: asked; what was seen has been said.
    Requested,
    /// A backup that was not finished before the request is listed finished.
    Finished {
        name: String,
        started: OffsetDateTime,
        finished: OffsetDateTime,
        /// It was running already when the backup was requested.
        was_running: bool,
        elapsed: Duration,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Requested => Ok(()),
            Outcome::Finished {
                name,
                started,
                finished,
                was_running,
                elapsed,
            } => {
                write!(
                    f,
                    "done: backup {} finished at {} (started {}), after {}",
                    excerpt(name, 80),
                    show_time(*finished),
                    show_time(*started),
                    crate::text::duration(*elapsed)
                )?;
                if *was_running {
                    write!(
                        f,
                        "; it was already running when the backup was requested (the provider started no other)"
                    )?;
                }
                writeln!(f)
            }
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
    let provider = crate::clients::provider_for(cfg, id, req.provider)?;
    let title = provider.title();
    if !provider.capabilities().backup_now {
        return Err(Error::Refused(format!(
            "{title}: {} (`bridgerest backup` asks {} for one)",
            provider.spec().no_backup_now,
            crate::provider::registry::titles_that(|c| c.backup_now, "and")
        )));
    }
    let client = crate::clients::client_for(cfg, provider)?;
    let before = client.list_backups(id).await?;
    let finished_before: HashSet<String> = before
        .iter()
        .filter(|b| b.finished_at.is_some())
        .map(|b| b.name.clone())
        .collect();
    let running_before: Vec<&Backup> = before.iter().filter(|b| b.finished_at.is_none()).collect();
    let asked = OffsetDateTime::now_utc();
    let started = Instant::now();
    let answer = client.start_backup(id).await?;
    out.say(&format!(
        "requested: a backup of {title} cluster {id} at {}{}",
        show_time(asked),
        answer
            .message
            .as_deref()
            .map(|m| format!("; {title} answered \"{}\"", excerpt(m, 200)))
            .unwrap_or_default()
    ));
    let after = client.list_backups(id).await?;
    let known: HashSet<&str> = before.iter().map(|b| b.name.as_str()).collect();
    let new: Vec<&Backup> = after
        .iter()
        .filter(|b| !known.contains(b.name.as_str()))
        .collect();
    let wait_hint = match req.wait {
        true => "; waiting for a backup newer than the request".to_string(),
        false => format!(
            "; `bridgerest backup --cluster {id} --wait` waits for a backup newer than the request"
        ),
    };
    if let Some(b) = &answer.backup {
        out.say(&format!(
            "started: backup {} ({title} named it in its answer)",
            excerpt(b, 80)
        ));
    } else if !new.is_empty() {
        let names: Vec<String> = new
            .iter()
            .map(|b| {
                format!(
                    "{} ({})",
                    excerpt(&b.name, 80),
                    match b.finished_at {
                        Some(f) => format!("finished at {}", show_time(f)),
                        None => format!("running since {}", show_time(b.started_at)),
                    }
                )
            })
            .collect();
        out.say(&format!(
            "started: backup {} is listed since the request",
            names.join(", ")
        ));
    } else {
        let running = running_before.first().map(|r| {
            format!(
                "backup {} was already running (started {})",
                excerpt(&r.name, 80),
                show_time(r.started_at)
            )
        });
        let line = match (running, answer.may_ignore) {
            (Some(r), Some(ignores)) => format!(
                "no new backup is listed: {r}, and {ignores}: as far as the list shows, this request was a no-op{wait_hint}"
            ),
            (None, Some(ignores)) => format!(
                "no new backup is listed yet: {ignores}, so this request may have been a no-op (a backup was requested recently), or its backup shows later{wait_hint}"
            ),
            (Some(r), None) => format!("no new backup is listed yet; {r}{wait_hint}"),
            (None, None) => format!("no new backup is listed yet{wait_hint}"),
        };
        out.say(&line);
    }
    if !req.wait {
        return Ok(Outcome::Requested);
    }
    let limit = req.wait_timeout.unwrap_or(cfg.api.wait_timeout);
    let running_names: HashSet<String> = running_before.iter().map(|b| b.name.clone()).collect();
    let want = Want {
        named: answer.backup.clone(),
        finished_before,
    };
    let found = tokio::select! {
        r = tokio::time::timeout(limit, newer(&client, id, &want, out)) => match r {
            Ok(r) => r?,
            Err(_) => return Err(Error::Failed(format!(
                "no backup newer than the request is listed finished after {} (--wait-timeout, api.wait_timeout): {title} may not have started one{}; look with `bridgerest backups {id}`",
                humantime::format_duration(limit),
                answer.may_ignore.map(|i| format!(" ({i})")).unwrap_or_default()
            ))),
        },
        () = shutdown.wait() => {
            out.end_status();
            return Err(Error::Interrupted(format!(
                "interrupted while waiting for a backup of cluster {id}: {title} goes on with what it started; `bridgerest backups {id}` lists it"
            )));
        }
    };
    Ok(Outcome::Finished {
        was_running: running_names.contains(&found.name),
        name: found.name,
        started: found.started_at,
        finished: found.finished_at.unwrap_or(found.started_at),
        elapsed: started.elapsed(),
    })
}

/// The backup `--wait` waits for: the one the answer named, else any that was not finished
/// before the request.
struct Want {
    named: Option<String>,
    finished_before: HashSet<String>,
}

impl Want {
    fn is(&self, b: &Backup) -> bool {
        match &self.named {
            Some(n) => b.name == *n,
            None => !self.finished_before.contains(&b.name),
        }
    }
}

/// Follows the backup list until a backup `want` names is finished; one the provider reports
/// failed is an error naming it.
async fn newer(client: &Client, id: &str, want: &Want, out: &Narrate) -> Result<Backup> {
    let title = client.kind().title();
    let started = Instant::now();
    let (mut delay, mut last, mut errors) = (POLL_FIRST, String::new(), 0u32);
    loop {
        let seen = match client.list_backups(id).await {
            Ok(list) => {
                errors = 0;
                let mine: Vec<Backup> = list.into_iter().filter(|b| want.is(b)).collect();
                if let Some(done) = mine
                    .iter()
                    .filter(|b| b.finished_at.is_some())
                    .max_by_key(|b| b.finished_at)
                {
                    return Ok(done.clone());
                }
                if let Some(failed) = mine.iter().find_map(failed) {
                    return Err(Error::Failed(format!(
                        "the backup of cluster {id} failed at {title}: {failed}"
                    )));
                }
                match mine.first() {
                    Some(b) => format!(
                        "backup {} running since {}",
                        excerpt(&b.name, 80),
                        show_time(b.started_at)
                    ),
                    None => "no backup newer than the request listed yet".into(),
                }
            }
            Err(e) if errors + 1 < POLL_ERRORS && e.is_transient() => {
                errors += 1;
                format!("(cannot read the backup list: {e})")
            }
            Err(e) => return Err(e.into()),
        };
        if seen != last {
            out.note(&format!(
                "cluster {id}: {seen} ({})",
                crate::text::duration(started.elapsed())
            ));
        }
        last = seen;
        tokio::time::sleep(delay).await;
        delay = next_poll(delay);
    }
}

/// What a backup's own object says of its failure (`status`/`state` failed or error), if it
/// failed.
fn failed(b: &Backup) -> Option<String> {
    let raw = b.raw.as_ref()?;
    let state = ["status", "state"]
        .iter()
        .find_map(|k| raw.get(*k).and_then(|v| v.as_str()))?;
    matches!(
        state.to_ascii_lowercase().as_str(),
        "failed" | "error" | "errored"
    )
    .then(|| format!("backup {} is {}", excerpt(&b.name, 80), excerpt(state, 40)))
}
