//! Drill reports in a bucket (`drill.reports_url`): every worker of a fleet writes each report
//! to `<prefix>/<cluster>/<cluster>-<started>.json` (the local file's name), so workers never
//! overwrite each other, and `drills --from URL` and `drill --all --due` read the whole fleet's
//! record back. The store is reached through [`crate::objstore`].
//!
//! What is read back is untrusted (anyone with write access to the bucket wrote it): the
//! listing and the bytes read are bounded as for the local directory, a report counts only
//! under its own cluster's and start time's name, and none dated in the future counts.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use time::OffsetDateTime;

use super::report::{report_name, times_refused, Report, MAX_BYTES, MAX_FILES, MAX_REPORT};
use super::sink::{ReportSink, SinkError};
use crate::config::Config;
use crate::objstore::{self, Key};
use crate::provider::BoxFut;

/// How many reports are fetched at a time.
const FETCHES: usize = 8;
/// How many of a cluster's newest reports `latest_ok` reads, at most, for one that passed.
const LOOK_BACK: usize = 64;

/// A bucket of drill reports.
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: Key,
    url: url::Url,
}

impl Bucket {
    /// The bucket `url` (`drill.reports_url`, or `drills --from`), reached as the config's
    /// `drill.reports_*` keys and the environment say ([`crate::objstore`]).
    pub fn open(cfg: &Config, url: &url::Url) -> Result<Bucket, String> {
        let reach = &cfg.drill.bucket_reach;
        reach.check(url, "the bucket").map_err(|e| e.to_string())?;
        let (kind, _) = objstore::Kind::of(url)?;
        let secrets = match crate::config::load_secret_options(reach.secrets_file.as_deref())
            .map_err(|e| e.to_string())?
        {
            Some((secrets, from)) => {
                for (k, _) in &secrets {
                    objstore::option(kind, k).map_err(|e| format!("{from}: {e}"))?;
                }
                secrets
            }
            None => vec![],
        };
        let ca = match &reach.ca_file {
            Some(p) => Some(std::fs::read(p).map_err(|e| {
                format!(
                    "cannot read drill.reports_ca_file {}: {e}; give the PEM file of the CA that signed the store's certificate",
                    p.display()
                )
            })?),
            None => None,
        };
        let (store, prefix) = objstore::open(&objstore::Reach {
            url,
            options: &reach.options,
            secrets: &secrets,
            ca_pem: ca.as_deref(),
            timeout: cfg.api.timeout,
        })
        .map_err(|e| format!("{}: {e}", shown(url)))?;
        Ok(Bucket {
            store,
            prefix,
            url: url.clone(),
        })
    }

    fn folder(&self, cluster: &str) -> Key {
        self.prefix.clone().join(cluster)
    }

    /// Writes `rep` under its cluster's folder; says where (a URL).
    pub async fn put(&self, rep: &Report) -> Result<String, String> {
        let name = report_name(rep);
        let key = self.folder(&rep.cluster).join(name.as_str());
        let json = serde_json::to_vec_pretty(rep).map_err(|e| e.to_string())?;
        self.store
            .put(&key, PutPayload::from(json))
            .await
            .map_err(|e| {
                format!(
                    "writing {key} to {}: {}",
                    shown(&self.url),
                    objstore::redacted(e)
                )
            })?;
        Ok(format!(
            "{}/{}",
            shown(&self.url).trim_end_matches('/'),
            object_tail(&self.prefix, &key)
        ))
    }

    /// The names of the reports under `under` (bounded), each with its cluster folder, size and
    /// name; what is not a report's place is skipped.
    async fn listing(&self, under: &Key) -> Result<Vec<(String, String, u64, Key)>, String> {
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(under))
            .take(MAX_FILES)
            .try_collect()
            .await
            .map_err(|e| format!("listing {}: {}", shown(&self.url), objstore::redacted(e)))?;
        let depth = self.prefix.parts().count();
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let parts: Vec<String> =
                    m.location.parts().map(|p| p.as_ref().to_string()).collect();
                match &parts[depth.min(parts.len())..] {
                    [cluster, name] if name.ends_with(".json") => {
                        Some((cluster.clone(), name.clone(), m.size, m.location))
                    }
                    _ => None,
                }
            })
            .collect())
    }

    /// Fetches and checks the listed reports; those that do not count are logged and left out.
    async fn fetch(&self, listed: Vec<(String, String, u64, Key)>) -> Vec<Report> {
        let now = OffsetDateTime::now_utc();
        let mut budget = MAX_BYTES;
        let mut wanted = Vec::new();
        for (cluster, name, size, key) in listed {
            if size > MAX_REPORT {
                tracing::warn!("{key} is not counted as a drill report: larger than 1 MiB");
                continue;
            }
            if size > budget {
                tracing::warn!(
                    "{} holds over {} of reports: the rest are not read",
                    shown(&self.url),
                    crate::text::human_size(MAX_BYTES)
                );
                break;
            }
            budget -= size;
            wanted.push((cluster, name, key));
        }
        let store = &self.store;
        futures_util::stream::iter(wanted)
            .map(|(cluster, name, key)| async move {
                let skip = |why: &str| {
                    tracing::warn!("{key} is not counted as a drill report: {why}");
                    None
                };
                let bytes = match get(store, &key).await {
                    Ok(b) => b,
                    Err(e) => return skip(&e),
                };
                if bytes.len() as u64 > MAX_REPORT {
                    return skip("larger than 1 MiB");
                }
                let r: Report = match serde_json::from_slice(&bytes) {
                    Ok(r) => r,
                    Err(e) => return skip(&e.to_string()),
                };
                if r.cluster != cluster || report_name(&r) != name {
                    return skip("its name is not its own cluster's and start time's");
                }
                if let Some(why) = times_refused(&r, now) {
                    return skip(why);
                }
                Some(r)
            })
            .buffer_unordered(FETCHES)
            .filter_map(|r| async move { r })
            .collect()
            .await
    }

    /// Every report that counts (of `cluster`, or of every cluster), oldest first.
    pub async fn history(
        &self,
        cluster: Option<&str>,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<Report>, String> {
        let under = match cluster {
            Some(c) => self.folder(c),
            None => self.prefix.clone(),
        };
        let listed = self.listing(&under).await?;
        let mut out: Vec<Report> = self
            .fetch(listed)
            .await
            .into_iter()
            .filter(|r| since.is_none_or(|s| r.started_at >= s))
            .collect();
        out.sort_by(|a, b| (a.started_at, &a.cluster).cmp(&(b.started_at, &b.cluster)));
        Ok(out)
    }

    /// Every object that stands where a report would (of `cluster`, or of every cluster), as
    /// `<cluster>/<name>` and its JSON or why it is none, for `drills --verify --from`
    /// ([`super::seal::check`]): nothing left out, so that a forgery is named, not skipped;
    /// bounded as [`Bucket::history`] is (1 MiB an object, [`MAX_BYTES`] in all).
    pub async fn objects(
        &self,
        cluster: Option<&str>,
    ) -> Result<Vec<(String, Result<serde_json::Value, String>)>, String> {
        let under = match cluster {
            Some(c) => self.folder(c),
            None => self.prefix.clone(),
        };
        let mut budget = MAX_BYTES;
        let mut out = Vec::new();
        for (cluster, name, size, key) in self.listing(&under).await? {
            let place = format!("{cluster}/{name}");
            if size > MAX_REPORT {
                out.push((place, Err("larger than 1 MiB".into())));
                continue;
            }
            if size > budget {
                return Err(format!(
                    "{} holds over {} of reports: not all could be verified",
                    shown(&self.url),
                    crate::text::human_size(MAX_BYTES)
                ));
            }
            budget -= size;
            let v = match get(&self.store, &key).await {
                Ok(b) if b.len() as u64 > MAX_REPORT => Err("larger than 1 MiB".into()),
                Ok(b) => serde_json::from_slice(&b).map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot be read: {e}")),
            };
            out.push((place, v));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The newest objects in `cluster`'s folder (by name: by start time), at most
    /// `FETCHES` (8), as JSON; what is no JSON or over 1 MiB is left out.
    pub async fn newest(&self, cluster: &str) -> Result<Vec<serde_json::Value>, String> {
        let mut listed = self.listing(&self.folder(cluster)).await?;
        listed.sort_by(|a, b| b.1.cmp(&a.1));
        let mut out = Vec::new();
        for (_, _, size, key) in listed.into_iter().take(FETCHES) {
            if size > MAX_REPORT {
                continue;
            }
            let got = get(&self.store, &key)
                .await
                .map_err(|e| format!("reading {key}: {e}"))?;
            if let Ok(v) = serde_json::from_slice(&got) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// When `cluster`'s newest passed drill in the bucket ended: its newest reports are read
    /// (names sort by start time) until one passed, at most 64.
    pub async fn last_success(&self, cluster: &str) -> Result<Option<OffsetDateTime>, String> {
        let mut listed = self.listing(&self.folder(cluster)).await?;
        listed.sort_by(|a, b| b.1.cmp(&a.1));
        for chunk in listed.chunks(FETCHES).take(LOOK_BACK / FETCHES) {
            let got = self.fetch(chunk.to_vec()).await;
            if let Some(t) = got
                .iter()
                .filter(|r| r.ok)
                .map(|r| r.finished_at.unwrap_or(r.started_at))
                .max()
            {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }
}

/// An object's bytes; why not, with nothing secret in it.
async fn get(
    store: &Arc<dyn ObjectStore>,
    key: &Key,
) -> Result<impl std::ops::Deref<Target = [u8]>, String> {
    match store.get(key).await {
        Ok(got) => got.bytes().await.map_err(objstore::redacted),
        Err(e) => Err(objstore::redacted(e)),
    }
}

/// The URL as said in messages: the bucket and prefix, nothing else (it holds no secret).
fn shown(url: &url::Url) -> String {
    url.as_str().to_string()
}

/// `key` below `prefix`, as a relative path.
fn object_tail(prefix: &Key, key: &Key) -> String {
    key.prefix_match(prefix)
        .map(|parts| {
            parts
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_else(|| key.to_string())
}

/// The drill sink for fleets: each report also written to `drill.reports_url`.
pub struct BucketSink(Config);

impl BucketSink {
    pub fn new(cfg: &Config) -> Option<BucketSink> {
        cfg.drill.bucket.as_ref().map(|_| BucketSink(cfg.clone()))
    }
}

impl ReportSink for BucketSink {
    fn name(&self) -> &'static str {
        "the reports bucket (drill.reports_url)"
    }

    fn publish<'a>(&'a self, rep: &'a Report) -> BoxFut<'a, Result<Option<String>, SinkError>> {
        Box::pin(async move {
            let Some(b) = &self.0.drill.bucket else {
                return Ok(None);
            };
            let bucket = Bucket::open(&self.0, &b.url)?;
            Ok(Some(bucket.put(rep).await?))
        })
    }
}
