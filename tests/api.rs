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

/// The README's fault example, sent as JSON over HTTP, takes effect.
#[tokio::test]
async fn faults_are_set_over_http_as_the_readme_shows() {
    let sim = SimHandle::start(sample_state(KEY, 0)).unwrap();
    let http = reqwest::Client::new();
    let put = |body: &'static str| {
        http.put(format!("{}/_sim/faults", sim.url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let ok = put(r#"[{"kind":"rate_limit","retry_after":2,"times":3,"path":"backup-tokens"}]"#)
        .await
        .unwrap();
    assert!(ok.status().is_success(), "{:?}", ok.text().await);
    let resp = http
        .post(format!(
            "{}/clusters/rvf73a77ozfsvcttryebfrnlem/backup-tokens",
            sim.url()
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "2");
    // A typo is refused by name, not taken for another fault.
    let bad = put(r#"[{"kind":"slow","delay":5}]"#).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("delay"));
}

/// Faults in a `--state` file are read by `bridgerest-sim serve`.
#[test]
fn faults_in_a_state_file_are_served() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut state = serde_json::to_value(sample_state(KEY, 0)).unwrap();
    state["faults"] = serde_json::json!([{"kind": "server_error", "status": 503, "path": "/clusters"}]);
    let file = dir.path().join("state.json");
    std::fs::write(&file, state.to_string()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest-sim"))
        .args(["serve", "--state"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().strip_prefix("listening on ").unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/clusters"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .status()
    });
    let _ = child.kill();
    assert_eq!(status, 503);
    // And an unknown field in one is an error naming it.
    state["faults"] = serde_json::json!([{"kind": "slow", "delay": 5}]);
    let err = serde_json::from_value::<SimState>(state).unwrap_err().to_string();
    assert!(err.contains("delay"), "{err}");
}
