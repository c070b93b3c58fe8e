//! The drill sink for fleets: each drill's figures pushed to a Prometheus Pushgateway
//! (`drill.push_url`), in the group `job="bridgerest_drill", cluster="<id>"`, so that the workers
//! of a fleet never replace each other's series (a PUT replaces its own group only). The series
//! are the Prometheus file's `bridgerest_drill_*` ones, from the cluster's reports on this host
//! (its last success carried over a failure), so the shipped alert rules read them unchanged.
//! A group stays until it is deleted: alert on its age (`push_time_seconds`).

use secrecy::ExposeSecret;

use super::{ClusterStatus, DrillPolicy, Status, WrittenBy};
use crate::config::Config;
use crate::drill::sink::{ReportSink, SinkError};
use crate::drill::Report;
use crate::provider::BoxFut;

/// Pushes to `cfg.drill.push` (a sink only where it is set).
pub struct Pushgateway(Config);

impl Pushgateway {
    pub fn new(cfg: &Config) -> Option<Pushgateway> {
        cfg.drill.push.as_ref().map(|_| Pushgateway(cfg.clone()))
    }
}

/// The Prometheus text of cluster `id`'s drills: the `bridgerest_drill_*` families of
/// [`Status::prometheus`] for it alone.
pub fn drill_text(cfg: &Config, id: &str) -> String {
    let st = Status {
        updated_at: time::OffsetDateTime::now_utc(),
        pid: std::process::id(),
        clusters: vec![ClusterStatus {
            id: id.to_string(),
            provider: cfg
                .provider_of(id)
                .filter(|p| *p != crate::provider::ProviderKind::DEFAULT),
            drill: crate::drill::report::summary(&cfg.drill.reports, id),
            ..Default::default()
        }],
        drill_policy: DrillPolicy::of(cfg),
        written_by: WrittenBy::Drill,
    };
    let text = st.prometheus();
    // Whole families: a HELP line starts each.
    let mut out = String::new();
    let mut keep = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            keep = rest.starts_with("bridgerest_drill_");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

impl ReportSink for Pushgateway {
    fn name(&self) -> &'static str {
        "the Pushgateway"
    }

    fn publish<'a>(&'a self, rep: &'a Report) -> BoxFut<'a, Result<Option<String>, SinkError>> {
        Box::pin(async move {
            let Some(push) = &self.0.drill.push else {
                return Ok(None);
            };
            let mut url = push.url.clone();
            url.path_segments_mut()
                .map_err(|()| "drill.push_url cannot take a path")?
                .pop_if_empty()
                .extend([
                    "metrics",
                    "job",
                    "bridgerest_drill",
                    "cluster",
                    &rep.cluster,
                ]);
            crate::init_tls();
            let http = reqwest::Client::builder()
                .user_agent(concat!("bridgerest/", env!("CARGO_PKG_VERSION")))
                .timeout(self.0.api.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let mut req = http
                .put(url.clone())
                .header("content-type", "text/plain; version=0.0.4")
                .body(drill_text(&self.0, &rep.cluster));
            if let Some(user) = &push.user {
                let (password, _) = crate::config::load_secret(&push.password())?;
                crate::redact::register(password.expose_secret());
                req = req.basic_auth(user, Some(password.expose_secret()));
            }
            let answer = req.send().await.map_err(|e| {
                format!(
                    "PUT {url}: {}",
                    crate::redact::apply(&e.without_url().to_string())
                )
            })?;
            let status = answer.status();
            if !status.is_success() {
                let body = answer.text().await.unwrap_or_default();
                return Err(format!(
                    "PUT {url}: {status}: {}",
                    crate::text::excerpt(&crate::redact::apply(body.trim()), 200)
                )
                .into());
            }
            Ok(Some(url.to_string()))
        })
    }
}
