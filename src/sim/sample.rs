//! The sample state (the quick start's and the tests' clusters: Bridge's S3, Azure, GCS, and
//! any number of extra S3 ones for benchmarks; an IONOS cluster and a Launcher database) and the random credentials handed out without an issuer.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{
    account, backup_label, default_backup_ms, default_team, rand_str, Issued, SimCluster, SimState,
    StoreTemplate, B64, UPPER_DIGITS,
};

/// Random credentials of the right shape (they work nowhere).
pub(super) fn random_credentials(c: &SimCluster) -> Issued {
    let mut secrets = Vec::new();
    let store = match &c.store {
        StoreTemplate::S3 {
            bucket,
            region,
            kms_key_id,
        } => {
            let key = format!("ASIA{}", rand_str(16, UPPER_DIGITS));
            let secret = rand_str(40, B64);
            let token = format!("IQoJb3JpZ2luX2VjE{}", rand_str(120, B64));
            secrets.extend([key.clone(), secret.clone(), token.clone()]);
            json!({"s3_bucket": bucket, "s3_key": key, "s3_key_secret": secret, "s3_kms_key_id": kms_key_id, "s3_region": region, "s3_token": token})
        }
        StoreTemplate::Azure {
            account,
            container,
            key_type,
            key,
        } => {
            let k = match (key, key_type.as_str()) {
                (Some(k), _) => k.clone(),
                (None, "shared") => format!("{}==", rand_str(86, B64)),
                (None, _) => {
                    let se = (OffsetDateTime::now_utc() + time::Duration::hours(4))
                        .replace_nanosecond(0)
                        .ok()
                        .and_then(|t| t.format(&Rfc3339).ok())
                        .unwrap_or_default();
                    format!(
                        "se={}&sp=rl&sv=2021-08-06&sr=c&sig={}%3D",
                        se.replace(':', "%3A"),
                        rand_str(
                            43,
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        )
                    )
                }
            };
            if let Some(sig) = k.split('&').find_map(|p| p.strip_prefix("sig=")) {
                secrets.push(sig.to_string());
            }
            secrets.push(k.clone());
            json!({"azure_account": account, "azure_container": container, "azure_key": k, "azure_key_type": key_type})
        }
        StoreTemplate::Gcs { bucket, credential } => match credential.as_str() {
            "key" => {
                let pk = rand_str(64, B64);
                secrets.push(pk.clone());
                json!({"gcs_bucket": bucket, "gcs_key": {"type": "service_account", "client_email": "restore@sim.iam.gserviceaccount.com", "private_key": format!("-----BEGIN PRIVATE KEY-----\n{pk}\n-----END PRIVATE KEY-----\n")}})
            }
            "none" => json!({"gcs_bucket": bucket}),
            _ => {
                let tok = format!("ya29.{}", rand_str(60, B64));
                secrets.push(tok.clone());
                json!({"gcs_bucket": bucket, "gcs_token": tok})
            }
        },
    };
    Issued { store, secrets }
}

/// A ready-made state: one cluster per store type with a week of daily backups, for the quick
/// start, in three of the states Bridge reports (`ready`, `restarting`, `suspended`; a fork
/// passes through more). `n_extra` adds that many more S3 clusters (benchmarks).
pub fn sample_state(api_key: &str, n_extra: usize) -> SimState {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let backups = |seed: u64| -> Vec<Value> {
        (0..7)
            .map(|d| {
                let start = now - time::Duration::days(7 - d) + time::Duration::minutes((seed % 50) as i64);
                let stop = start + time::Duration::minutes(3);
                let name = backup_label(start);
                json!({"name": name, "started_at": start.format(&Rfc3339).unwrap_or_default(), "finished_at": stop.format(&Rfc3339).unwrap_or_default(),
                       "lsn_start": format!("{d}/9E000028"), "lsn_stop": format!("{d}/A0051F10"), "size_bytes": 1_852_406_161u64 + d as u64 * 1_000_000,
                       // Documented as possibly empty: the oldest backup's is.
                       "type": if d == 0 { "" } else { "full" }})
            })
            .collect()
    };
    let mut clusters = vec![
        SimCluster {
            id: "rvf73a77ozfsvcttryebfrnlem".into(),
            name: "production".into(),
            team_id: default_team(),
            provider_id: "aws".into(),
            region_id: "us-west-1".into(),
            major_version: 15,
            stanza: Some("2qc6yv2ztfcw7a7yoripu4zlsm".into()),
            repo_path: "/pgbackrest/production".into(),
            backups: backups(1),
            store: StoreTemplate::S3 {
                bucket: "bridge-backups-usw1".into(),
                region: "us-west-1".into(),
                kms_key_id: None,
            },
            token_override: None,
            token_lifetime_secs: 3600,
            state: None,
        },
        SimCluster {
            id: "drsve2t4f5e5znkmef6hmchy2e".into(),
            name: "analytics".into(),
            team_id: default_team(),
            provider_id: "azure".into(),
            region_id: "eastus".into(),
            major_version: 15,
            stanza: Some("k3pdw5mhbjfdtm4lc6bnmutoai".into()),
            repo_path: "/pgbackrest/analytics".into(),
            backups: backups(2),
            store: StoreTemplate::Azure {
                account: "bridgebackups".into(),
                container: "analytics".into(),
                key_type: "sas".into(),
                key: None,
            },
            token_override: None,
            token_lifetime_secs: 3600,
            state: Some("restarting".into()),
        },
        SimCluster {
            id: "p56biajnfvgjhftvqs7lqymspe".into(),
            name: "staging".into(),
            team_id: default_team(),
            provider_id: "gcp".into(),
            region_id: "us-central1".into(),
            major_version: 15,
            stanza: Some("n2dwhq6ze5bxxoqyyf3bnzcbwu".into()),
            repo_path: "/pgbackrest/staging".into(),
            backups: backups(3),
            store: StoreTemplate::Gcs {
                bucket: "bridge-backups-usc1".into(),
                credential: "token".into(),
            },
            token_override: None,
            token_lifetime_secs: 3600,
            state: Some("suspended".into()),
        },
    ];
    for i in 0..n_extra {
        let id = format!("{:0>25}a", format!("bench{i}"));
        clusters.push(SimCluster {
            id: id.clone(),
            name: format!("bench-{i}"),
            team_id: default_team(),
            provider_id: "aws".into(),
            region_id: "us-east-1".into(),
            major_version: 15,
            stanza: None,
            repo_path: format!("/pgbackrest/bench-{i}"),
            backups: Vec::new(),
            store: StoreTemplate::S3 {
                bucket: "bench".into(),
                region: "us-east-1".into(),
                kms_key_id: None,
            },
            token_override: None,
            token_lifetime_secs: 3600,
            state: None,
        });
    }
    SimState {
        api_keys: vec![api_key.to_string()],
        clusters,
        faults: Vec::new(),
        teams: account::default_teams(),
        backup_duration_ms: default_backup_ms(),
        backup_cooldown_ms: super::default_backup_cooldown_ms(),
        delete_ms: super::default_delete_ms(),
        latency_ms: 0,
        restore_ms: super::default_restore_ms(),
        fork_states: None,
        restore_start_ms: 0,
        ionos: Some(super::ionos::sample()),
        launcher: Some(super::launcher::sample()),
    }
}

/// The organisation team of [`sample_state_with_teams`], and its cluster the key cannot see.
pub const ORG_TEAM: &str = "tuhdn4u2nfdyhjuqsbntltxw6a";
pub const HIDDEN_CLUSTER: &str = "hhhhhhhhhhhhhhhhhhhhhhhhhe";

/// The sample state with teams: the GCS cluster moved into an organisation team ("Acme Ops",
/// [`ORG_TEAM`]), and [`HIDDEN_CLUSTER`] in a team the key cannot see (it answers 403).
pub fn sample_state_with_teams(api_key: &str) -> SimState {
    let mut st = sample_state(api_key, 0);
    st.teams.push(account::SimTeam {
        id: ORG_TEAM.into(),
        name: "Acme Ops".into(),
        role: Some("member".into()),
        is_personal: false,
    });
    st.clusters[2].team_id = ORG_TEAM.into();
    let mut hidden = st.clusters[0].clone();
    hidden.id = HIDDEN_CLUSTER.into();
    hidden.name = "someone else's".into();
    hidden.team_id = "ooooooooooooooooooooooooom".into();
    st.clusters.push(hidden);
    st
}

/// The API key the quick start's simulator accepts (`bridgerest-sim demo`, and `serve` without
/// `--state` or `--api-key`). Made up: it opens nothing but the simulator.
pub const QUICK_START_KEY: &str = "cbkey_simulator_demo_key";

/// The Bridge cluster whose token carries no credential in [`quick_start_state`] (GCS, as
/// Bridge documents it): a config names the service-account key for it.
pub const QUICK_START_GCS_CLUSTER: &str = "p56biajnfvgjhftvqs7lqymspe";

/// The one state `bridgerest-sim demo` and `bridgerest-sim serve` (without `--state`) serve, so
/// a config the demo prints works against `serve`: [`sample_state`] with the GCS cluster's
/// token as Bridge documents it (a bucket, no credential: the config's
/// `repo1-gcs-key-type = "service"` and `repo1-gcs-key` do not clash with it), and restores at
/// the provider that take two seconds.
pub fn quick_start_state(api_key: &str, n_extra: usize) -> SimState {
    let mut st = sample_state(api_key, n_extra);
    for c in st
        .clusters
        .iter_mut()
        .filter(|c| c.id == QUICK_START_GCS_CLUSTER)
    {
        if let StoreTemplate::Gcs { credential, .. } = &mut c.store {
            *credential = "none".into();
        }
    }
    st.restore_ms = 2000;
    st
}

/// What a state accepts and holds, as `bridgerest-sim serve` prints it after its address: each
/// API's address, the credentials it accepts and its clusters (id, name; the first ten of a
/// long list). The simulator's credentials are made up: they open nothing but the simulator.
pub fn describe_credentials(st: &SimState, url: &str) -> String {
    fn list<'a>(items: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> String {
        let n = items.len();
        let mut t: Vec<String> = items
            .take(10)
            .map(|(id, name)| format!("{id} ({name})"))
            .collect();
        if n > 10 {
            t.push(format!("and {} more", n - 10));
        }
        t.join(", ")
    }
    let mut t = format!(
        "  Crunchy Bridge  {url}\n    API key (Bearer): {}\n    clusters: {}\n",
        st.api_keys.join(" "),
        list(st.clusters.iter().map(|c| (c.id.as_str(), c.name.as_str())))
    );
    if let Some(i) = &st.ionos {
        t.push_str(&format!(
            "  IONOS DBaaS     {url}/ionos\n    username: {}  password: {}{}\n    clusters: {}\n",
            i.username,
            i.password,
            if i.tokens.is_empty() {
                String::new()
            } else {
                format!("  (or Bearer: {})", i.tokens.join(" "))
            },
            list(i.clusters.iter().map(|c| (c.id.as_str(), c.name.as_str())))
        ));
    }
    if let Some(l) = &st.launcher {
        t.push_str(&format!(
            "  Launcher        {url}/launcher/{}\n    key (x-lnchr-key): {}\n    databases: {}\n",
            l.tenant,
            l.keys.join(" "),
            list(l.databases.iter().map(|d| (d.id.as_str(), d.name.as_str())))
        ));
    }
    t.push_str("  (made-up credentials: they open nothing but this simulator)\n");
    t
}
