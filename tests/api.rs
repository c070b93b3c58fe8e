//! The API client against the simulator, method by method, and the simulator's state format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use bridgerest::config;
use bridgerest::provider::bridge::{ApiError, BridgeClient};
use bridgerest::sim::{sample_state, SimHandle, SimState};
use secrecy::SecretString;

const KEY: &str = "cbkey_api_test";

fn client(sim: &SimHandle, key: &str) -> BridgeClient {
    let cfg = config::parse(
        &format!("[api]\nurl = \"{}\"\nretry_base = \"10ms\"\n", sim.url()),
        Path::new("t.toml"),
    )
    .unwrap();
    BridgeClient::new(&cfg.api, SecretString::from(key.to_string())).unwrap()
}

#[tokio::test]
async fn cluster_status_and_start_backup() {
    let sim = SimHandle::start(sample_state(KEY, 0)).unwrap();
    let c = client(&sim, KEY);
    let cluster = c.get_cluster("rvf73a77ozfsvcttryebfrnlem").await.unwrap();
    assert_eq!(cluster.name, "production");
    assert_eq!(cluster.extra["plan_id"], "standard-4");

    let before = c.list_backups("rvf73a77ozfsvcttryebfrnlem").await.unwrap();
    let status = c
        .cluster_status("rvf73a77ozfsvcttryebfrnlem")
        .await
        .unwrap();
    assert_eq!(status.state, "ready");
    let oldest = before.iter().map(|b| b.started_at).min().unwrap();
    assert_eq!(status.oldest_backup_at, Some(oldest));

    assert_eq!(
        c.start_backup("rvf73a77ozfsvcttryebfrnlem").await.unwrap(),
        "Backup started."
    );
    let after = c.list_backups("rvf73a77ozfsvcttryebfrnlem").await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        sim.sim.stats().idempotency_keys.len() == 1,
        "PUT carries an Idempotency-Key"
    );

    match c.cluster_status("aaaaaaaaaaaaaaaaaaaaaaaaaa").await {
        Err(ApiError::NotFound {
            message,
            request_id,
            ..
        }) => {
            assert_eq!(message, "Cluster not found.");
            assert!(request_id.is_some_and(|r| config::is_eid(&r)));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_key_is_unauthorized_and_not_transient() {
    let sim = SimHandle::start(sample_state(KEY, 0)).unwrap();
    let err = client(&sim, "cbkey_nope")
        .list_clusters()
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(sim.sim.stats().requests, 1, "401 is not retried");
    assert!(
        !format!("{err} {err:?}").contains("cbkey_nope"),
        "the key must not appear in errors"
    );
}

#[tokio::test]
async fn clusters_follow_next_cursor() {
    let sim = SimHandle::start(sample_state(KEY, 230)).unwrap();
    let list = client(&sim, KEY).list_clusters().await.unwrap();
    assert_eq!(list.len(), 233);
    let mut ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 233, "no page repeated");
    assert_eq!(sim.sim.stats().by_path["GET /clusters"], 3);
}

#[test]
fn simulator_state_file_round_trips() {
    let state = sample_state(KEY, 1);
    let text = serde_json::to_string_pretty(&state).unwrap();
    let back: SimState = serde_json::from_str(&text).unwrap();
    assert_eq!(back.clusters.len(), 4);
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);
    let bad = text.replace("\"api_keys\"", "\"api_keyz\"");
    assert!(serde_json::from_str::<SimState>(&bad)
        .unwrap_err()
        .to_string()
        .contains("api_keyz"));
}
