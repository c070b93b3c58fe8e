//! `bridgerest credential-process`: a cluster's S3 credentials as AWS credential-process JSON,
//! for pgBackRest 2.59+ (`repo1-s3-key-type=process`). A token is reused from a 0600 cache file
//! beside the pgBackRest config while more than [`REUSE_MARGIN`] of its lifetime remains
//! (pgBackRest itself asks again when five minutes or less remain).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::usage;
use crate::cli::CredentialArgs;
use crate::config::{self, Config};
use crate::exit::Exit;
use crate::fsutil;
use crate::provider::Store;

/// A cached token is reused only while more than this remains before its expiry.
pub const REUSE_MARGIN: Duration = Duration::from_secs(600);

/// The AWS credential-process document. Holds secrets: no Debug.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessCredentials {
    version: u8,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

fn cache_path(cfg: &Config, id: &str) -> PathBuf {
    cfg.pgbackrest
        .dir()
        .join(format!("bridgerest-{id}.s3-credentials.json"))
}

fn cached(cfg: &Config, id: &str, now: OffsetDateTime) -> Option<String> {
    let text = crate::fsutil::read_regular(&cache_path(cfg, id), 64 << 10).ok()??;
    let doc: ProcessCredentials = serde_json::from_str(&text).ok()?;
    let expires = OffsetDateTime::parse(&doc.expiration, &Rfc3339).ok()?;
    (expires - now > REUSE_MARGIN).then_some(text)
}

pub async fn run(cfg: &Config, args: CredentialArgs) -> Result<Exit> {
    let id = &args.cluster;
    if !config::is_eid(id) {
        return Err(usage(anyhow!(
            "--cluster {id:?} is not a Crunchy Bridge cluster id (26 lowercase letters and digits)"
        )));
    }
    let now = OffsetDateTime::now_utc();
    if let Some(text) = cached(cfg, id, now) {
        tracing::debug!(cluster = %id, "credentials from the cache");
        println!("{}", text.trim_end());
        return Ok(Exit::Success);
    }
    let client = super::client(cfg)?;
    let token = client.create_backup_token(id).await?;
    let Store::S3(s3) = &token.store else {
        bail!(
            "cluster {id}'s repository is {}, not s3: credential-process serves S3 credentials only; use pgbackrest.s3_key_type = \"shared\" for it",
            token.store.kind()
        );
    };
    let expires = crate::when::later(now, cfg.api.token_lifetime);
    let doc = ProcessCredentials {
        version: 1,
        access_key_id: s3.key.expose_secret().to_string(),
        secret_access_key: s3.key_secret.expose_secret().to_string(),
        session_token: s3.token.expose_secret().to_string(),
        expiration: crate::when::show_time(expires),
    };
    let text = serde_json::to_string(&doc).context("encoding the credentials")?;
    // The cache is an optimisation: a failure to write it is not the caller's problem.
    let owner = crate::refresh::owner(cfg).unwrap_or_default().applicable();
    if let Err(e) = fsutil::write_atomic(
        &cache_path(cfg, id),
        text.as_bytes(),
        cfg.pgbackrest.mode,
        owner,
    ) {
        tracing::debug!(error = %format!("{e:#}"), "credential cache not written");
    }
    println!("{text}");
    Ok(Exit::Success)
}
